//! The search strategies behind one ask/tell interface, [`Strategy`]: CF-MESMO and
//! MESMO ([`ModelBased`]), NSGA-II ([`Nsga2Search`]) and random search
//! ([`RandomSearch`]), with an initial design in front ([`WithInitial`],
//! [`initial_design`]). The study (`pipeline run`) and the benchmarks (`pipeline bench
//! optimizer`, `bench replay`) run the same loop ([`drive`]) over the same strategies from
//! the same initial design, so the benchmark measures the decisions the study makes.
//!
//! A driver asks for up to `q` proposals, evaluates them, and tells the strategy every
//! evaluation in the order asked before it asks again. A strategy's decisions are a
//! pure function of its seed and of what it was told, so a driver that replays the
//! same results gets the same proposals (a study's exact resume). Where a step is
//! expensive, the driver's [`StepMemory`] hands it cached kernel parameters and the
//! audit records of steps already taken.
//!
//! **Batches** (CF-MESMO, MESMO): proposal `k` of a batch is a step on the observations
//! plus the *kriging believer*'s fantasies of proposals `0..k` (the objectives expected
//! there, taken as observed, with the kernels kept), which collapses the information
//! gain at the pending points, so the next proposal goes elsewhere. A proposal that
//! would repeat an evaluation done or pending (after snapping onto the grids) is redrawn
//! with another seed, and after four tries replaced by a random design at full fidelity.

use std::collections::VecDeque;

use anyhow::{bail, Context, Result};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use super::cf_mesmo::{
    fit_surrogates, propose_from, FittedSurrogates, Rule, StepConfig, StepRecord,
};
use super::gp::{Kernel, Surrogate};
use super::hypervolume::pareto_front_indices;
use super::nsga2::{Nsga2Config, Nsga2Run};
use super::sampling::Sobol;
use crate::problem::{same_design, Observation, StepProblem, SAME_DESIGN};

/// The initial design every driver puts in front of a strategy, the study's and the
/// benchmarks' alike: `low + full` points of a digitally shifted Sobol sequence (the
/// scrambled quasi-random start BoTorch draws too) seeded by `seed`, the first `low` at
/// the lowest fidelity `z_low` (full fidelity where `z_low` is 1), the rest at full
/// fidelity. NSGA-II has none: its initial population is its own.
pub fn initial_design(
    kind: StrategyKind,
    dim: usize,
    low: usize,
    full: usize,
    z_low: f64,
    seed: u64,
) -> Result<Vec<(Vec<f64>, f64)>> {
    if kind == StrategyKind::Nsga2 {
        return Ok(Vec::new());
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x1417_1a1d_e516);
    let sobol = Sobol::with_digital_shift(dim, &mut rng)?;
    Ok(sobol
        .take(low + full)
        .enumerate()
        .map(|(i, x)| {
            let at_low = z_low < 1.0 && i < low;
            (x, if at_low { z_low } else { 1.0 })
        })
        .collect())
}

/// The search strategies, by name (`[study] strategy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StrategyKind {
    /// Continuous-fidelity MESMO.
    CfMesmo,
    /// Single-fidelity MESMO (every step at full fidelity).
    Mesmo,
    /// NSGA-II at full fidelity.
    Nsga2,
    /// Random search at full fidelity.
    Random,
}

impl StrategyKind {
    /// The name used in configs and the ledger.
    pub fn as_str(self) -> &'static str {
        match self {
            StrategyKind::CfMesmo => "cf_mesmo",
            StrategyKind::Mesmo => "mesmo",
            StrategyKind::Nsga2 => "nsga2",
            StrategyKind::Random => "random",
        }
    }

    /// Whether it chooses its designs with the surrogates (CF-MESMO, MESMO).
    pub fn model_based(self) -> bool {
        matches!(self, StrategyKind::CfMesmo | StrategyKind::Mesmo)
    }
}

/// A (design, fidelity) pair to evaluate.
#[derive(Debug, Clone, PartialEq)]
pub struct Proposal {
    /// The design in `[0, 1]^d` (snapped onto the grids by the model-based strategies).
    pub x: Vec<f64>,
    /// The fidelity in `(0, 1]`.
    pub z: f64,
    /// What chose it: `initial`, or the strategy's name.
    pub label: &'static str,
    /// The step's audit record, for a model-based proposal.
    pub step: Option<StepRecord>,
}

/// One ask/tell search strategy.
pub trait Strategy {
    /// Up to `q` proposals; none once the strategy has nothing more to ask (NSGA-II
    /// after its last generation). Every proposal of a batch must be told before the
    /// next ask.
    fn ask(&mut self, q: usize, memory: &mut dyn StepMemory) -> Result<Vec<Proposal>>;

    /// The evaluations of the proposals asked, in their order (fewer than asked only
    /// when the driver stops, its budget spent).
    fn tell(&mut self, observations: &[Observation]) -> Result<()>;

    /// After the search: up to `limit` designs predicted Pareto-optimal at full
    /// fidelity that have not been evaluated there (none for the model-free ones).
    fn recommend(&mut self, _limit: usize, _memory: &mut dyn StepMemory) -> Result<Vec<Vec<f64>>> {
        Ok(Vec::new())
    }
}

/// Where a strategy's proposals are evaluated: the study (its graph, ledger, executors
/// and budget) or a benchmark (a problem and a cost budget). Both run [`drive`], so a
/// benchmark makes the decisions a study makes.
pub trait Evaluations {
    /// How many proposals to ask for next; 0 once the budget is spent.
    fn next_batch(&mut self) -> usize;

    /// What the strategy's steps read and keep (the study's cached GP fits and audit
    /// records); called before each ask and the final recommendation, so a driver can
    /// also refresh what the steps see (the study's fitted cost overhead).
    fn memory(&mut self) -> Box<dyn StepMemory + '_>;

    /// Evaluates the proposals in order and returns their observations: all of them, or
    /// the first ones where the budget runs out on the way.
    fn evaluate(&mut self, proposals: Vec<Proposal>) -> Result<Vec<Observation>>;

    /// Evaluates the recommended designs at full fidelity, whatever the budget.
    fn evaluate_final(&mut self, designs: Vec<Vec<f64>>) -> Result<()>;

    /// Shrinks what the driver holds back from the search for the final phase to
    /// `final_evaluations` designs, once the search has spent its share and the final
    /// phase is known to need no more; true when that leaves the search room for more
    /// evaluations. A driver that holds nothing back (the study: its final phase comes
    /// after the budget) keeps the default, false.
    fn reserve_for(&mut self, _final_evaluations: usize) -> bool {
        false
    }
}

/// The decision loop of every driver: `strategy`'s proposals, asked batch by batch and
/// evaluated until the budget is spent or the strategy has nothing more to ask, then up
/// to `final_evaluations` of its predicted Pareto set evaluated at full fidelity. Where
/// the driver holds part of the budget back for that final phase and the predicted set
/// needs less of it (on a single-fidelity run every design it holds was evaluated at
/// full fidelity, so it recommends none), the rest goes back to the search
/// ([`Evaluations::reserve_for`]) and the set is predicted again when that is spent.
pub fn drive(
    strategy: &mut dyn Strategy,
    evaluations: &mut dyn Evaluations,
    final_evaluations: usize,
) -> Result<()> {
    let mut limit = final_evaluations;
    loop {
        let q = evaluations.next_batch();
        if q > 0 {
            let proposals = strategy.ask(q, &mut *evaluations.memory())?;
            if !proposals.is_empty() {
                let observations = evaluations.evaluate(proposals)?;
                strategy.tell(&observations)?;
                continue;
            }
        }
        if limit == 0 {
            return Ok(());
        }
        let recommended = strategy.recommend(limit, &mut *evaluations.memory())?;
        if q > 0 || !evaluations.reserve_for(recommended.len()) {
            return evaluations.evaluate_final(recommended);
        }
        limit = recommended.len();
    }
}

/// Where a model-based strategy finds and keeps the work of its steps: the study's
/// cached GP fit node and audit records. The defaults keep nothing.
pub trait StepMemory {
    /// Kernel parameters fitted on `observations`, if the driver has them (else the
    /// strategy tunes them itself).
    fn kernels(
        &mut self,
        _observations: &[Observation],
        _problem: &StepProblem,
    ) -> Result<Option<Vec<Kernel>>> {
        Ok(None)
    }

    /// The record of decision `index`, if it was taken before on the same observations
    /// and fantasies `believed` with the same batch size.
    fn recall(
        &mut self,
        _index: usize,
        _believed: &[Observation],
        _batch_size: usize,
    ) -> Option<StepRecord> {
        None
    }

    /// Keeps the record of decision `index`, taken on `believed` (before it is
    /// evaluated, so a resumed driver recalls it).
    fn remember(
        &mut self,
        _index: usize,
        _believed: &[Observation],
        _batch_size: usize,
        _record: &StepRecord,
    ) -> Result<()> {
        Ok(())
    }
}

/// A [`StepMemory`] that keeps nothing: every step is computed.
pub struct Forgetful;

impl StepMemory for Forgetful {}

/// Everything that builds a strategy.
pub struct StrategySpec<'a> {
    /// Which strategy.
    pub kind: StrategyKind,
    /// The problem its steps see (MESMO: fidelities `[1.0]`).
    pub problem: StepProblem<'a>,
    /// The step's settings (model-based strategies).
    pub step: StepConfig,
    /// NSGA-II's settings.
    pub nsga2: Nsga2Config,
    /// Per objective, the (maximised) value a failed evaluation counts as for NSGA-II.
    pub failure: Vec<f64>,
    /// The initial design, evaluated before the strategy's own proposals.
    pub initial: Vec<(Vec<f64>, f64)>,
    /// The seed of every random choice.
    pub seed: u64,
}

impl<'a> StrategySpec<'a> {
    /// The strategy, behind its initial design.
    pub fn build(self) -> Box<dyn Strategy + 'a> {
        let inner: Box<dyn Strategy + 'a> = match self.kind {
            StrategyKind::CfMesmo | StrategyKind::Mesmo => Box::new(ModelBased {
                problem: self.problem,
                config: self.step,
                seed: self.seed,
                label: self.kind.as_str(),
                observations: Vec::new(),
            }),
            StrategyKind::Nsga2 => Box::new(Nsga2Search {
                dim: self.problem.dim,
                run: Nsga2Run::new(self.problem.dim, &self.nsga2)
                    .map_err(|e| anyhow::anyhow!("NSGA-II: {e}")),
                rng: ChaCha8Rng::seed_from_u64(self.seed ^ 0x2545_f491),
                queue: Vec::new(),
                handed: 0,
                told: Vec::new(),
                failure: self.failure,
            }),
            StrategyKind::Random => Box::new(RandomSearch {
                dim: self.problem.dim,
                seed: self.seed,
                told: 0,
            }),
        };
        Box::new(WithInitial {
            plan: self.initial.into(),
            inner,
        })
    }
}

/// The random stream of decision `index` under `seed`.
fn decision_stream(seed: u64, index: usize) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x7a5d_0c3e);
    rng.set_stream(index as u64);
    rng
}

/// A strategy behind a fixed initial design: the design's points first, told to the
/// strategy like its own.
pub struct WithInitial<S> {
    plan: VecDeque<(Vec<f64>, f64)>,
    inner: S,
}

impl<S: Strategy> Strategy for WithInitial<S> {
    fn ask(&mut self, q: usize, memory: &mut dyn StepMemory) -> Result<Vec<Proposal>> {
        if self.plan.is_empty() {
            return self.inner.ask(q, memory);
        }
        let n = q.min(self.plan.len());
        Ok(self
            .plan
            .drain(..n)
            .map(|(x, z)| Proposal {
                x,
                z,
                label: "initial",
                step: None,
            })
            .collect())
    }

    fn tell(&mut self, observations: &[Observation]) -> Result<()> {
        self.inner.tell(observations)
    }

    fn recommend(&mut self, limit: usize, memory: &mut dyn StepMemory) -> Result<Vec<Vec<f64>>> {
        self.inner.recommend(limit, memory)
    }
}

impl Strategy for Box<dyn Strategy + '_> {
    fn ask(&mut self, q: usize, memory: &mut dyn StepMemory) -> Result<Vec<Proposal>> {
        (**self).ask(q, memory)
    }

    fn tell(&mut self, observations: &[Observation]) -> Result<()> {
        (**self).tell(observations)
    }

    fn recommend(&mut self, limit: usize, memory: &mut dyn StepMemory) -> Result<Vec<Vec<f64>>> {
        (**self).recommend(limit, memory)
    }
}

/// Uniform random designs at full fidelity, decision `i` from its own stream.
pub struct RandomSearch {
    dim: usize,
    seed: u64,
    told: usize,
}

impl Strategy for RandomSearch {
    fn ask(&mut self, q: usize, _memory: &mut dyn StepMemory) -> Result<Vec<Proposal>> {
        Ok((0..q)
            .map(|k| {
                let mut rng = decision_stream(self.seed, self.told + k);
                Proposal {
                    x: (0..self.dim).map(|_| rng.random()).collect(),
                    z: 1.0,
                    label: StrategyKind::Random.as_str(),
                    step: None,
                }
            })
            .collect())
    }

    fn tell(&mut self, observations: &[Observation]) -> Result<()> {
        self.told += observations.len();
        Ok(())
    }
}

/// NSGA-II at full fidelity, its generations handed out `q` points at a time.
pub struct Nsga2Search {
    dim: usize,
    /// The run, or why its configuration is invalid (reported at the first ask).
    run: Result<Nsga2Run>,
    rng: ChaCha8Rng,
    /// The generation being evaluated.
    queue: Vec<Vec<f64>>,
    /// How many of it were handed out.
    handed: usize,
    /// The (minimised) objectives told of it so far.
    told: Vec<Vec<f64>>,
    failure: Vec<f64>,
}

impl Strategy for Nsga2Search {
    fn ask(&mut self, q: usize, _memory: &mut dyn StepMemory) -> Result<Vec<Proposal>> {
        let run = self.run.as_mut().map_err(|e| anyhow::anyhow!("{e:#}"))?;
        if self.handed == self.queue.len() {
            if self.told.len() < self.handed {
                bail!("NSGA-II was asked again before it was told its last points");
            }
            match run.ask(&mut self.rng) {
                Some(xs) => (self.queue, self.handed) = (xs, 0),
                None => return Ok(Vec::new()),
            }
            self.told.clear();
        }
        let end = (self.handed + q).min(self.queue.len());
        let proposals = self.queue[self.handed..end]
            .iter()
            .map(|x| Proposal {
                x: x.clone(),
                z: 1.0,
                label: StrategyKind::Nsga2.as_str(),
                step: None,
            })
            .collect();
        self.handed = end;
        Ok(proposals)
    }

    fn tell(&mut self, observations: &[Observation]) -> Result<()> {
        for o in observations {
            if o.x.len() != self.dim || o.y.len() != self.failure.len() {
                bail!(
                    "NSGA-II was told a point of {} variables and {} objectives",
                    o.x.len(),
                    o.y.len()
                );
            }
            // A failed objective counts as its worst value; NSGA-II minimises.
            self.told.push(
                o.y.iter()
                    .zip(&self.failure)
                    .map(|(v, worst)| if v.is_finite() { -v } else { -worst })
                    .collect(),
            );
        }
        if self.told.len() == self.queue.len() && !self.queue.is_empty() {
            let run = self.run.as_mut().map_err(|e| anyhow::anyhow!("{e:#}"))?;
            run.tell(std::mem::take(&mut self.told))
                .map_err(|e| anyhow::anyhow!("NSGA-II: {e}"))?;
            (self.queue, self.handed) = (Vec::new(), 0);
        }
        Ok(())
    }
}

/// CF-MESMO (or MESMO, with fidelities `[1.0]`): each proposal a step
/// ([`propose_from`]), a batch by the kriging believer (module docs).
pub struct ModelBased<'a> {
    problem: StepProblem<'a>,
    config: StepConfig,
    seed: u64,
    label: &'static str,
    observations: Vec<Observation>,
}

impl ModelBased<'_> {
    /// The GPs on `believed` with the kernels of the observations: `kernels` once
    /// known, else the memory's, else tuned here.
    fn fit(
        &self,
        believed: &[Observation],
        kernels: &mut Option<Vec<Kernel>>,
        memory: &mut dyn StepMemory,
    ) -> Result<FittedSurrogates> {
        if kernels.is_none() {
            *kernels = memory.kernels(&self.observations, &self.problem)?;
        }
        let fitted = match kernels {
            Some(t) => fit_surrogates(believed, &self.problem, &self.config, Some(t)),
            None => {
                let f = fit_surrogates(&self.observations, &self.problem, &self.config, None)
                    .context("the CF-MESMO step")?;
                *kernels = Some(f.kernels());
                if believed.len() == self.observations.len() {
                    return Ok(f);
                }
                fit_surrogates(believed, &self.problem, &self.config, kernels.as_deref())
            }
        };
        fitted.context("the CF-MESMO step")
    }

    /// Decision `index`: the step, redrawn with other seeds while it repeats an
    /// evaluation done or pending in `batch`, then a random design at full fidelity.
    fn distinct_step(
        &self,
        fitted: &FittedSurrogates,
        index: usize,
        batch: &[Proposal],
    ) -> Result<StepRecord> {
        let taken = |x: &[f64], z: f64| {
            let x = self.problem.snap(x);
            let same = |u: &[f64], w: f64| (w - z).abs() < SAME_DESIGN && same_design(u, &x);
            batch.iter().any(|p| same(&p.x, p.z))
                || self.observations.iter().any(|o| same(&o.x, o.z))
        };
        const TRIES: u64 = 4;
        let mut rec = None;
        for attempt in 0..TRIES {
            let seed = self
                .seed
                .wrapping_mul(1_000_003)
                .wrapping_add(index as u64)
                .wrapping_add(attempt.wrapping_mul(0x9e37_79b9_7f4a_7c15));
            let step = propose_from(fitted, &self.problem, &self.config, seed)
                .context("the CF-MESMO step")?;
            if !taken(&step.x, step.z) {
                return Ok(step);
            }
            rec = Some(step);
        }
        let mut rec = rec.expect("at least one try");
        let mut rng = decision_stream(self.seed ^ 0xd15c, index);
        for _ in 0..64 {
            let u: Vec<f64> = (0..self.problem.dim).map(|_| rng.random()).collect();
            if !taken(&u, 1.0) {
                rec = StepRecord {
                    x: self.problem.snap(&u),
                    z: 1.0,
                    rule: Rule::Random,
                    acquisition: 0.0,
                    information_gain: 0.0,
                    cost: self
                        .problem
                        .cost_after(&self.observations, &self.problem.snap(&u), 1.0),
                    y_star: Vec::new(),
                    hyperparameters: fitted.gps.iter().map(Surrogate::hyperparameters).collect(),
                    observations_used: fitted.usable.len(),
                    observations_skipped: fitted.skipped,
                };
                break;
            }
        }
        Ok(rec)
    }
}

impl Strategy for ModelBased<'_> {
    fn ask(&mut self, q: usize, memory: &mut dyn StepMemory) -> Result<Vec<Proposal>> {
        let mut batch: Vec<Proposal> = Vec::with_capacity(q);
        let mut believed = self.observations.clone();
        let mut kernels: Option<Vec<Kernel>> = None;
        for k in 0..q {
            let index = self.observations.len() + k;
            let replayed = memory.recall(index, &believed, q);
            // A replayed sequential step needs no surrogates; a batch needs them for the
            // believer, fitted exactly as the first run fitted them.
            let fitted = match (&replayed, q > 1) {
                (Some(_), false) => None,
                _ => Some(self.fit(&believed, &mut kernels, memory)?),
            };
            let rec = match (replayed, &fitted) {
                (Some(rec), _) => rec,
                (None, Some(f)) => {
                    let rec = self.distinct_step(f, index, &batch)?;
                    memory.remember(index, &believed, q, &rec)?;
                    rec
                }
                (None, None) => unreachable!("fitted whenever there is no record"),
            };
            let x = self.problem.snap(&rec.x);
            if let (true, Some(f)) = (q > 1, &fitted) {
                let y = f
                    .expected(&self.problem, std::slice::from_ref(&x), rec.z)
                    .remove(0);
                believed.push(Observation {
                    x: x.clone(),
                    z: rec.z,
                    y,
                });
            }
            batch.push(Proposal {
                x,
                z: rec.z,
                label: self.label,
                step: Some(rec),
            });
        }
        Ok(batch)
    }

    fn tell(&mut self, observations: &[Observation]) -> Result<()> {
        self.observations.extend_from_slice(observations);
        Ok(())
    }

    /// The designs evaluated at any fidelity whose expected objectives at full fidelity
    /// (posterior means, exact known objectives) are Pareto-optimal, less those
    /// evaluated at full fidelity.
    fn recommend(&mut self, limit: usize, memory: &mut dyn StepMemory) -> Result<Vec<Vec<f64>>> {
        if limit == 0 || self.observations.len() < 2 {
            return Ok(Vec::new());
        }
        let full = StepProblem {
            fidelities: &[1.0],
            ..self.problem
        };
        let kernels = memory.kernels(&self.observations, &full)?;
        let Ok(fitted) =
            fit_surrogates(&self.observations, &full, &self.config, kernels.as_deref())
        else {
            return Ok(Vec::new());
        };
        let mut designs: Vec<Vec<f64>> = Vec::new();
        for o in &fitted.usable {
            if !designs.contains(&o.x) {
                designs.push(o.x.clone());
            }
        }
        let predicted: Vec<Vec<f64>> = fitted
            .expected(&full, &designs, 1.0)
            .into_iter()
            .map(|y| y.iter().map(|v| -v).collect())
            .collect();
        Ok(pareto_front_indices(&predicted)
            .into_iter()
            .map(|i| designs[i].clone())
            .filter(|x| {
                !self
                    .observations
                    .iter()
                    .any(|o| &o.x == x && (o.z - 1.0).abs() < SAME_DESIGN)
            })
            .take(limit)
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::nsga2::nsga2_batch;
    use crate::problem::{MultiFidelityProblem, ObjectiveKind};
    use crate::synthetic::BraninCurrin;

    fn evaluate(p: &BraninCurrin, proposals: &[Proposal]) -> Vec<Observation> {
        proposals
            .iter()
            .map(|q| Observation {
                x: q.x.clone(),
                z: q.z,
                y: p.evaluate(&q.x, q.z),
            })
            .collect()
    }

    fn step() -> StepConfig {
        StepConfig {
            samples: 3,
            rff_features: 100,
            front_population: 12,
            front_generations: 5,
            pool_size: 32,
            refine_top: 1,
            refine_steps: 2,
            ..StepConfig::default()
        }
    }

    const KINDS: [ObjectiveKind; 2] = [ObjectiveKind::Modelled {
        fidelity_dependent: true,
    }; 2];

    fn spec<'a>(
        kind: StrategyKind,
        fidelities: &'a [f64],
        cost: &'a (dyn Fn(f64, f64) -> f64 + Sync),
        initial: Vec<(Vec<f64>, f64)>,
    ) -> StrategySpec<'a> {
        StrategySpec {
            kind,
            problem: StepProblem {
                dim: 2,
                objectives: &KINDS,
                levels: &[],
                fidelities,
                cost,
                known: None,
                reference: None,
                allowance: None,
            },
            step: step(),
            nsga2: Nsga2Config {
                population_size: 6,
                generations: 3,
                ..Nsga2Config::default()
            },
            failure: vec![-1e9; 2],
            initial,
            seed: 11,
        }
    }

    /// NSGA-II asked 4 points at a time proposes what one batch run evaluates, and stops
    /// after its last generation.
    #[test]
    fn nsga2_asked_in_small_batches_is_the_batch_run() {
        let p = BraninCurrin::new();
        let cost = |_: f64, z: f64| z;
        let mut s = spec(StrategyKind::Nsga2, &[1.0], &cost, Vec::new()).build();
        let mut asked = Vec::new();
        loop {
            let proposals = s.ask(4, &mut Forgetful).unwrap();
            if proposals.is_empty() {
                break;
            }
            assert!(proposals.len() <= 4);
            s.tell(&evaluate(&p, &proposals)).unwrap();
            asked.extend(proposals.into_iter().map(|q| q.x));
        }
        let mut expected = Vec::new();
        let mut rng = ChaCha8Rng::seed_from_u64(11 ^ 0x2545_f491);
        let config = spec(StrategyKind::Nsga2, &[1.0], &cost, Vec::new()).nsga2;
        nsga2_batch(
            2,
            |xs: &[Vec<f64>]| {
                expected.extend_from_slice(xs);
                xs.iter()
                    .map(|x| p.evaluate(x, 1.0).iter().map(|v| -v).collect())
                    .collect()
            },
            &config,
            &mut rng,
        )
        .unwrap();
        assert_eq!(asked, expected);
        assert_eq!(asked.len(), 6 * 4);
    }

    #[test]
    fn the_initial_design_comes_first_and_random_search_is_uniform() {
        let p = BraninCurrin::new();
        let cost = |_: f64, z: f64| z;
        let initial = vec![(vec![0.1, 0.2], 0.5), (vec![0.3, 0.4], 1.0)];
        let mut s = spec(StrategyKind::Random, &[1.0], &cost, initial.clone()).build();
        let first = s.ask(3, &mut Forgetful).unwrap();
        assert_eq!(first.len(), 2, "the initial design is a batch of its own");
        assert!(first.iter().all(|q| q.label == "initial"));
        assert_eq!((first[0].x.clone(), first[0].z), initial[0]);
        s.tell(&evaluate(&p, &first)).unwrap();
        let next = s.ask(3, &mut Forgetful).unwrap();
        assert_eq!(next.len(), 3);
        for q in &next {
            assert_eq!((q.label, q.z), ("random", 1.0));
            assert!(q.x.iter().all(|v| (0.0..1.0).contains(v)));
        }
        assert_ne!(next[0].x, next[1].x);
    }

    /// Keeps every record, as a study's audit directory does.
    #[derive(Default)]
    struct Recording {
        records: Vec<(usize, Vec<Observation>, usize, StepRecord)>,
        recalled: usize,
    }

    impl StepMemory for Recording {
        fn recall(
            &mut self,
            index: usize,
            believed: &[Observation],
            batch_size: usize,
        ) -> Option<StepRecord> {
            let found = self
                .records
                .iter()
                .find(|r| r.0 == index && r.1 == believed && r.2 == batch_size)
                .map(|r| r.3.clone());
            self.recalled += usize::from(found.is_some());
            found
        }

        fn remember(
            &mut self,
            index: usize,
            believed: &[Observation],
            batch_size: usize,
            record: &StepRecord,
        ) -> Result<()> {
            self.records
                .push((index, believed.to_vec(), batch_size, record.clone()));
            Ok(())
        }
    }

    /// A CF-MESMO batch is three distinct proposals, each kept before it is evaluated;
    /// a strategy told the same results replays them from the records.
    #[test]
    fn a_model_based_batch_is_distinct_and_replays_from_its_records() {
        let p = BraninCurrin::new();
        let cost = |_: f64, z: f64| 0.1 + 0.9 * z;
        let fidelities = [0.5, 1.0];
        let initial: Vec<(Vec<f64>, f64)> = (0..5)
            .map(|i| (vec![0.1 + 0.2 * i as f64, 0.9 - 0.15 * i as f64], 1.0))
            .collect();
        let mut memory = Recording::default();
        let mut first = spec(StrategyKind::CfMesmo, &fidelities, &cost, initial.clone()).build();
        let design = first.ask(8, &mut memory).unwrap();
        first.tell(&evaluate(&p, &design)).unwrap();
        let batch = first.ask(3, &mut memory).unwrap();
        assert_eq!(batch.len(), 3);
        assert_eq!(memory.records.len(), 3);
        for (i, a) in batch.iter().enumerate() {
            assert!(a.step.is_some() && fidelities.contains(&a.z));
            for b in &batch[i + 1..] {
                assert!(a.x != b.x || a.z != b.z, "a repeated proposal");
            }
        }
        let mut replay = spec(StrategyKind::CfMesmo, &fidelities, &cost, initial).build();
        replay.ask(8, &mut memory).unwrap();
        replay.tell(&evaluate(&p, &design)).unwrap();
        assert_eq!(replay.ask(3, &mut memory).unwrap(), batch);
        assert_eq!(memory.recalled, 3);
        // Recommended: designs evaluated at the lower fidelity only.
        first.tell(&evaluate(&p, &batch)).unwrap();
        let recommended = first.recommend(4, &mut memory).unwrap();
        for x in &recommended {
            assert!(batch.iter().any(|b| &b.x == x && b.z < 1.0), "{x:?}");
            assert!(!batch.iter().any(|b| &b.x == x && b.z == 1.0), "{x:?}");
        }
    }
}
