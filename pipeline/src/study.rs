//! The study loop: dataset prep and the baseline, the initial design, then iterations of
//! the search strategy (GP fit -> CF-MESMO step, or MESMO, NSGA-II, random search), each
//! evaluating one (design, fidelity) through [`Evaluator`], until the budget is spent;
//! then the predicted Pareto set is evaluated at full fidelity.
//!
//! **Exact resume.** The sequence of decisions is a pure function of the config, the seed
//! and the results of earlier evaluations. A resumed run replays it: an evaluation whose
//! row is in the ledger is read back, not run, and each CF-MESMO step is read from its
//! audit record (`proposals/iter-<i>.json`, written before its evaluation starts), so the
//! run continues with the evaluation that was in flight, with the same design and
//! fidelity, and then makes the decisions an uninterrupted run would have made.
//!
//! **Budget.** Counted over the decision sequence, whatever was cached: `epochs` sums the
//! fidelities (a `noise_unaware` evaluation counts one epoch), `iterations` counts the
//! evaluations after the initial design, `seconds` sums the rows' measured `cost_s` (so
//! a study with a seconds budget is not exactly replayable).

use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::{Context, Result};
use cache::ledger::{EvaluationRow, Ledger};
use indicatif::ProgressBar;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use stages::design::Design;
use stages::optimizer::cf_mesmo::{
    fit_surrogates, propose_from, FittedSurrogates, Observation, StepProblem, StepRecord,
};
use stages::optimizer::nsga2::{nsga2_batch, Nsga2Config};
use stages::optimizer::sampling::latin_hypercube;

use crate::config::{DesignSpace, Strategy, StudyConfig};
use crate::dag::{self, LoadedData};
use crate::evaluation::{Evaluated, Evaluator};
use crate::front;
use crate::runner::Runner;

/// Set by SIGINT: finish the current write and stop.
pub static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// The error a study stops with when interrupted.
#[derive(Debug, thiserror::Error)]
#[error("interrupted")]
pub struct Interrupted;

/// Fails with [`Interrupted`] once SIGINT has arrived.
pub fn check_interrupt() -> Result<()> {
    if INTERRUPTED.load(Ordering::SeqCst) {
        return Err(Interrupted.into());
    }
    Ok(())
}

/// What a study run did.
#[derive(Debug, Default)]
pub struct StudyOutcome {
    /// The decision sequence's rows, in order (a repeated decision repeats its row).
    pub rows: Vec<EvaluationRow>,
    /// Rows read back from the ledger (finished by an earlier run).
    pub from_ledger: usize,
    /// Evaluations whose training and inference were all cache hits (shared).
    pub reused: usize,
    /// Evaluations computed now.
    pub computed: usize,
    /// Budget spent, in the budget's unit.
    pub spent: f64,
    /// The data set's shape.
    pub dataset: Option<dag::DatasetMeta>,
}

/// The progress bars of a run.
pub struct Bars {
    /// The whole study: evaluations against the budget.
    pub study: ProgressBar,
    /// The training or inference inside an evaluation.
    pub train: ProgressBar,
}

/// Runs (or resumes) the study in `study_dir`.
pub fn run_study(
    cfg: &StudyConfig,
    runner: &mut Runner,
    study_dir: &std::path::Path,
    bars: &Bars,
) -> Result<StudyOutcome> {
    let (object, meta) = dag::dataset_node(cfg, runner)?;
    let data = LoadedData::new(object, meta.clone());
    cfg.training
        .check_memory(cfg.model.name, data.meta.height, data.meta.classes.len())?;
    let baseline = dag::baseline_node(cfg, &data, runner, &bars.train)?;
    let evaluator = Evaluator::new(cfg, data, baseline, Ledger::new(study_dir))?;
    let mut driver = Driver {
        cfg,
        runner,
        evaluator,
        bars,
        study_dir,
        outcome: StudyOutcome {
            dataset: Some(meta),
            ..StudyOutcome::default()
        },
        observations: Vec::new(),
        initial: 0,
    };
    driver.run()?;
    Ok(driver.outcome)
}

/// The decision sequence and its bookkeeping.
struct Driver<'a, 'b> {
    cfg: &'a StudyConfig,
    runner: &'b mut Runner,
    evaluator: Evaluator<'a>,
    bars: &'b Bars,
    study_dir: &'b std::path::Path,
    outcome: StudyOutcome,
    observations: Vec<Observation>,
    initial: usize,
}

impl Driver<'_, '_> {
    fn run(&mut self) -> Result<()> {
        let cfg = self.cfg;
        let max = cfg.fidelity.max_epochs as usize;
        let min = cfg.fidelity.min_epochs as usize;
        let multi = cfg.study.strategy == Strategy::CfMesmo && cfg.training.strategy.fine_tunes();
        self.bars
            .study
            .set_length(self.budget_total().ceil() as u64);
        // The initial design.
        let mut rng = ChaCha8Rng::seed_from_u64(cfg.study.seed ^ 0x1417_1a1d_e516);
        let n_low = cfg.initial.designs;
        let n_full = cfg.initial.full_fidelity;
        let plan: Vec<(Vec<f64>, usize)> = if cfg.study.strategy == Strategy::Nsga2 {
            Vec::new()
        } else {
            let low = latin_hypercube(n_low, DesignSpace::DIM, &mut rng);
            let full = latin_hypercube(n_full, DesignSpace::DIM, &mut rng);
            let low_epochs = if multi { min } else { max };
            low.into_iter()
                .map(|u| (u, low_epochs))
                .chain(full.into_iter().map(|u| (u, max)))
                .collect()
        };
        self.initial = plan.len();
        for (u, epochs) in plan {
            if self.exhausted() {
                break;
            }
            self.evaluate(&u, epochs, "initial")?;
        }
        match cfg.study.strategy {
            Strategy::CfMesmo | Strategy::Mesmo => {
                let levels: Vec<usize> = if multi {
                    (min..=max).collect()
                } else {
                    vec![max]
                };
                while !self.exhausted() {
                    let rec = self.step(&levels)?;
                    let epochs = (rec.z * max as f64).round() as usize;
                    self.evaluate(&rec.x, epochs, cfg.study.strategy.as_str())?;
                }
                self.final_pareto()?;
            }
            Strategy::Random => {
                while !self.exhausted() {
                    let mut rng = stages_stream(cfg.study.seed, self.outcome.rows.len());
                    let u: Vec<f64> = (0..DesignSpace::DIM).map(|_| rng.random()).collect();
                    self.evaluate(&u, max, "random")?;
                }
            }
            Strategy::Nsga2 => self.nsga2(max)?,
        }
        Ok(())
    }

    /// NSGA-II at full fidelity; its generations run until the budget is spent (the
    /// points it asks for after that are not evaluated, and end the run).
    fn nsga2(&mut self, max: usize) -> Result<()> {
        let population = self.cfg.optimizer.nsga2_population;
        let config = Nsga2Config {
            population_size: population,
            generations: usize::MAX / (2 * population),
            ..Nsga2Config::default()
        };
        let mut rng = ChaCha8Rng::seed_from_u64(self.cfg.study.seed ^ 0x2545_f491);
        // Once the budget is spent (or an evaluation errs), NSGA-II is handed an
        // infinite objective, which ends its run; only an error of ours is reported.
        let mut stop: Option<Result<()>> = None;
        let evaluate = |xs: &[Vec<f64>]| -> Vec<Vec<f64>> {
            xs.iter()
                .map(|x| {
                    if stop.is_none() && self.exhausted() {
                        stop = Some(Ok(()));
                    }
                    if stop.is_some() {
                        return vec![f64::INFINITY; 4];
                    }
                    match self.evaluate(x, max, "nsga2") {
                        Ok(e) => nsga2_objectives(&e.row),
                        Err(e) => {
                            stop = Some(Err(e));
                            vec![f64::INFINITY; 4]
                        }
                    }
                })
                .collect()
        };
        let _ = nsga2_batch(DesignSpace::DIM, evaluate, &config, &mut rng);
        stop.unwrap_or(Ok(()))
    }

    /// The surrogates on the observations so far: hyperparameters from the cached GP fit
    /// node, then the GPs conditioned on them (the same path on a first run and a resumed
    /// one, so both decide the same).
    fn fit(&mut self, problem: &StepProblem) -> Result<FittedSurrogates> {
        let thetas = dag::gp_fit_node(self.cfg, &self.observations, problem, self.runner)?;
        Ok(fit_surrogates(
            &self.observations,
            problem,
            &self.cfg.optimizer.cf_mesmo,
            Some(&thetas),
        )?)
    }

    /// One CF-MESMO (or MESMO) step over the observations so far, read from its audit
    /// record when a previous run made it.
    fn step(&mut self, levels: &[usize]) -> Result<StepRecord> {
        let iteration = self.outcome.rows.len();
        let path = self
            .study_dir
            .join("proposals")
            .join(format!("iter-{iteration:05}.json"));
        if let Ok(bytes) = std::fs::read(&path) {
            if let Ok(rec) = serde_json::from_slice::<StepRecord>(&bytes) {
                if rec.observations_used + rec.observations_skipped == self.observations.len() {
                    return Ok(rec);
                }
            }
        }
        check_interrupt()?;
        let max = self.cfg.fidelity.max_epochs as f64;
        let fidelities: Vec<f64> = levels.iter().map(|&e| e as f64 / max).collect();
        let problem = step_problem(&fidelities);
        self.bars.train.set_message("fitting the surrogates");
        let step_config = &self.cfg.optimizer.cf_mesmo;
        let fitted = self.fit(&problem).context("the CF-MESMO step")?;
        let seed = self
            .cfg
            .study
            .seed
            .wrapping_mul(1_000_003)
            .wrapping_add(iteration as u64);
        let rec =
            propose_from(&fitted, &problem, step_config, seed).context("the CF-MESMO step")?;
        cache::atomic::write_atomic(&path, &serde_json::to_vec_pretty(&rec)?)?;
        Ok(rec)
    }

    /// After the budget: the designs the surrogates predict to be Pareto-optimal at full
    /// fidelity (posterior means over every design evaluated at any fidelity), evaluated
    /// at full fidelity where they have not been, at most `final_evaluations` of them.
    fn final_pareto(&mut self) -> Result<()> {
        let max = self.cfg.fidelity.max_epochs as usize;
        let limit = self.cfg.optimizer.final_evaluations;
        if limit == 0 || self.observations.len() < 2 {
            return Ok(());
        }
        let problem = step_problem(&[1.0]);
        let Ok(fitted) = self.fit(&problem) else {
            return Ok(());
        };
        let mut designs: Vec<Vec<f64>> = Vec::new();
        for o in &fitted.usable {
            if !designs.contains(&o.x) {
                designs.push(o.x.clone());
            }
        }
        let predicted: Vec<Vec<f64>> = designs
            .iter()
            .map(|x| {
                fitted
                    .gps
                    .iter()
                    .enumerate()
                    .map(|(j, gp)| {
                        let input = if j == 0 {
                            let mut v = x.clone();
                            v.push(1.0);
                            v
                        } else {
                            x.clone()
                        };
                        -gp.predict(&[input])[0].0
                    })
                    .collect()
            })
            .collect();
        let front = stages::optimizer::hypervolume::pareto_front_indices(&predicted);
        let missing: Vec<Vec<f64>> = front
            .into_iter()
            .map(|i| designs[i].clone())
            .filter(|x| {
                !self
                    .observations
                    .iter()
                    .any(|o| &o.x == x && (o.z - 1.0).abs() < 1e-9)
            })
            .take(limit)
            .collect();
        for x in missing {
            self.evaluate(&x, max, "final")?;
        }
        Ok(())
    }

    /// Evaluates the design at `u` (snapped onto the design space) at `epochs`.
    fn evaluate(&mut self, u: &[f64], epochs: usize, strategy: &str) -> Result<Evaluated> {
        check_interrupt()?;
        let space = &self.cfg.design_space;
        let design: Design = space.decode(u);
        let iteration = self.outcome.rows.len() as i64;
        self.bars
            .train
            .set_message(format!("{} @{epochs}", dag::design_label(&design)));
        let e = self.evaluator.evaluate(
            self.runner,
            &design,
            epochs,
            iteration,
            strategy,
            &self.bars.train,
        )?;
        if e.from_ledger {
            self.outcome.from_ledger += 1;
        } else if e.reused {
            self.outcome.reused += 1;
        } else {
            self.outcome.computed += 1;
        }
        self.outcome.spent += self.cost_of(&e.row);
        self.observations.push(Observation {
            x: space.encode(&design),
            z: e.row.fidelity_z,
            y: front::maximised(&e.row),
        });
        self.outcome.rows.push(e.row.clone());
        let (pareto, hv) = front::pareto(&self.outcome.rows);
        self.bars
            .study
            .set_position(self.outcome.spent.floor() as u64);
        self.bars.study.set_message(format!(
            "{} evaluations, Pareto set {}, hypervolume {hv:.4e}",
            self.outcome.rows.len(),
            pareto.len()
        ));
        Ok(e)
    }

    /// What a row costs against the budget.
    fn cost_of(&self, row: &EvaluationRow) -> f64 {
        let b = self.cfg.budget;
        if b.epochs.is_some() {
            f64::from(row.fidelity_epochs.max(1))
        } else if b.iterations.is_some() {
            1.0
        } else {
            row.cost_s
        }
    }

    fn budget_total(&self) -> f64 {
        let b = self.cfg.budget;
        b.epochs
            .map(|e| e as f64)
            .or(b.iterations.map(|i| i as f64))
            .or(b.seconds)
            .unwrap_or(0.0)
    }

    /// Whether the budget is spent (an iteration budget counts after the initial design).
    fn exhausted(&self) -> bool {
        let b = self.cfg.budget;
        match b.iterations {
            Some(n) => self.outcome.rows.len() >= self.initial + n as usize,
            None => self.outcome.spent >= self.budget_total(),
        }
    }
}

/// The optimiser's view of a study: the design in [0, 1]^4, four maximised objectives
/// of which only accuracy depends on the fidelity, and the cost of a fidelity `z` = its
/// share of the full-fidelity epochs (deterministic, so a replay decides the same).
fn step_problem(fidelities: &[f64]) -> StepProblem<'_> {
    StepProblem {
        dim: DesignSpace::DIM,
        fidelity_dependent: &[true, false, false, false],
        fidelities,
        cost: &|z| z,
    }
}

/// A row's objectives for NSGA-II, minimised and finite: a failed evaluation counts as
/// accuracy 0, and a missing PPA value as the worst possible.
fn nsga2_objectives(row: &EvaluationRow) -> Vec<f64> {
    let mut y = front::maximised(row);
    if !y[0].is_finite() {
        y[0] = 0.0;
    }
    y.iter()
        .map(|v| if v.is_finite() { -v } else { f64::MAX / 4.0 })
        .collect()
}

/// The random-search stream of decision `index`.
fn stages_stream(seed: u64, index: usize) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x7a5d_0c3e);
    rng.set_stream(index as u64);
    rng
}
