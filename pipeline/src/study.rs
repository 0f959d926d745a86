//! The study loop: dataset prep and the baseline, the initial design, then iterations of
//! the search strategy (GP fit -> CF-MESMO step, or MESMO, NSGA-II, random search), until
//! the budget is spent; then the predicted Pareto set is evaluated at full fidelity.
//!
//! **Batches.** Each iteration proposes a batch of `q` (design, fidelity) pairs, which the
//! [`Executor`] evaluates in parallel as worker tasks ([`crate::worker`]); the next
//! iteration starts once the whole batch is in the ledger. CF-MESMO and MESMO build a
//! batch greedily with the *kriging believer*: after each proposal the GPs are
//! conditioned, with the step's hyperparameters kept, on a fantasy observation equal to
//! their posterior mean there, which collapses the variance (and the information gain)
//! at the pending point, so the next proposal goes elsewhere. A proposal that would
//! repeat an evaluation that is done or pending in the batch (after snapping onto the
//! design grid) is redrawn with another seed, and after four tries replaced by a random
//! design. Random search draws `q` designs, NSGA-II evaluates its population `q` at a
//! time. With `q = 1` this is the sequential study, decision for decision.
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

use crate::record::EvaluationRow;
use anyhow::{Context, Result};
use indicatif::ProgressBar;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use stages::design::Design;
use stages::optimizer::cf_mesmo::{
    fit_surrogates, propose_from, FittedSurrogates, ObjectiveKind, Observation, Rule, StepProblem,
    StepRecord,
};
use stages::optimizer::gp::Kernel;
use stages::optimizer::nsga2::{nsga2_batch, Nsga2Config};
use stages::optimizer::sampling::latin_hypercube;

use crate::batch::Batch;
use crate::config::{DesignSpace, Strategy, StudyConfig};
use crate::dag::{self, Graph};
use crate::evaluation::{Evaluated, Evaluator};
use crate::executor::Executor;
use crate::fidelity::is_full_z;
use crate::front;
use crate::interrupt::check_interrupt;
use crate::record::objectives::{objective_kinds, OBJECTIVES};
use crate::worker::{self, TaskSpec};

/// How a study's evaluations are run.
#[derive(Debug, Clone)]
pub struct Execution {
    /// Where the workers run.
    pub executor: Executor,
    /// Proposals per iteration, `q`.
    pub batch_size: usize,
    /// Extra attempts of a task whose worker ended without a result.
    pub retries: usize,
    /// Whether failed rows are evaluated again (`--retry-failed`).
    pub retry_failed: bool,
    /// The store's directory, which the workers open too.
    pub cache: std::path::PathBuf,
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
}

/// The progress bars of a run.
pub struct Bars {
    /// The whole study: evaluations against the budget.
    pub study: ProgressBar,
    /// The training or inference inside an evaluation.
    pub train: ProgressBar,
}

/// Runs (or resumes) the study in `study_dir` on its graph, and hands the graph back
/// (with its node runs) whatever the outcome.
pub fn run_study<'a>(
    mut graph: Graph<'a>,
    study_dir: &std::path::Path,
    execution: &Execution,
    bars: &Bars,
) -> (Graph<'a>, Result<StudyOutcome>) {
    if let Err(e) = graph.baseline(&bars.train) {
        return (graph, Err(e));
    }
    let problem = match StudyProblem::new(graph.cfg(), graph.meta()) {
        Ok(p) => p,
        Err(e) => return (graph, Err(e)),
    };
    let mut driver = Driver {
        cfg: graph.cfg(),
        problem,
        evaluator: Evaluator::new(graph, study_dir, execution.retry_failed),
        execution,
        bars,
        study_dir,
        outcome: StudyOutcome::default(),
        observations: Vec::new(),
        initial: 0,
    };
    let result = driver.evaluator.reload().and_then(|()| driver.run());
    let Driver {
        evaluator, outcome, ..
    } = driver;
    (evaluator.graph, result.map(|()| outcome))
}

/// The decision sequence and its bookkeeping.
struct Driver<'a, 'b> {
    cfg: &'a StudyConfig,
    problem: StudyProblem,
    evaluator: Evaluator<'a>,
    execution: &'b Execution,
    bars: &'b Bars,
    study_dir: &'b std::path::Path,
    outcome: StudyOutcome,
    observations: Vec<Observation>,
    initial: usize,
}

impl Driver<'_, '_> {
    fn run(&mut self) -> Result<()> {
        let cfg = self.cfg;
        let max = cfg.fidelity.full().epochs;
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
        let mut plan = plan.into_iter().peekable();
        while plan.peek().is_some() && !self.exhausted() {
            let mut batch = Vec::new();
            while batch.len() < self.q() && !self.exhausted_with(&batch) {
                let Some((u, epochs)) = plan.next() else {
                    break;
                };
                batch.push((u, epochs, "initial"));
            }
            self.evaluate_batch(batch)?;
        }
        match cfg.study.strategy {
            Strategy::CfMesmo | Strategy::Mesmo => {
                let levels: Vec<usize> = if multi {
                    (min..=max).collect()
                } else {
                    vec![max]
                };
                while !self.exhausted() {
                    let batch = self.propose_batch(&levels)?;
                    self.evaluate_batch(batch)?;
                }
                self.final_pareto()?;
            }
            Strategy::Random => {
                while !self.exhausted() {
                    let mut batch = Vec::new();
                    while batch.len() < self.q() && !self.exhausted_with(&batch) {
                        let index = self.outcome.rows.len() + batch.len();
                        let mut rng = stages_stream(cfg.study.seed, index);
                        let u: Vec<f64> = (0..DesignSpace::DIM).map(|_| rng.random()).collect();
                        batch.push((u, max, "random"));
                    }
                    self.evaluate_batch(batch)?;
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
            let mut out = Vec::with_capacity(xs.len());
            let mut rest = xs.iter();
            loop {
                let mut batch = Vec::new();
                while stop.is_none() && batch.len() < self.q() {
                    if self.exhausted_with(&batch) {
                        if batch.is_empty() {
                            stop = Some(Ok(()));
                        }
                        break;
                    }
                    let Some(x) = rest.next() else { break };
                    batch.push((x.clone(), max, "nsga2"));
                }
                if batch.is_empty() {
                    break;
                }
                match self.evaluate_batch(batch) {
                    Ok(done) => out.extend(done.iter().map(|e| nsga2_objectives(&e.row))),
                    Err(e) => stop = Some(Err(e)),
                }
            }
            out.resize(xs.len(), vec![f64::INFINITY; OBJECTIVES.len()]);
            out
        };
        let _ = nsga2_batch(DesignSpace::DIM, evaluate, &config, &mut rng);
        stop.unwrap_or(Ok(()))
    }

    /// The surrogates on the observations so far: hyperparameters from the cached GP fit
    /// node, then the GPs conditioned on them (the same path on a first run and a resumed
    /// one, so both decide the same).
    fn fit(&mut self, fidelities: &[f64]) -> Result<FittedSurrogates> {
        let problem = self.problem.step(fidelities);
        let kernels = self.evaluator.graph.gp_fit(&self.observations, &problem)?;
        Ok(fit_surrogates(
            &self.observations,
            &problem,
            &self.cfg.optimizer.cf_mesmo,
            Some(&kernels),
        )?)
    }

    /// The next batch of `q` CF-MESMO (or MESMO) proposals, distinct from each other and
    /// from every evaluation done, by the kriging believer (module docs). The kernel
    /// parameters are the GP fit node's for the whole batch; proposal `k` is made on the
    /// observations plus the fantasies of proposals `0..k`, on a first run and a replay
    /// alike.
    fn propose_batch(&mut self, levels: &[usize]) -> Result<Vec<(Vec<f64>, usize, &'static str)>> {
        let range = self.cfg.fidelity;
        let fidelities: Vec<f64> = levels.iter().map(|&e| range.at(e).z()).collect();
        let problem = self.problem.step(&fidelities);
        let strategy = self.cfg.study.strategy.as_str();
        let q = self.q();
        let mut batch: Vec<(Vec<f64>, usize, &'static str)> = Vec::new();
        let mut believed = self.observations.clone();
        let mut kernels: Option<Vec<Kernel>> = None;
        while batch.len() < q && (batch.is_empty() || !self.exhausted_with(&batch)) {
            let k = batch.len();
            let digest = observations_digest(&believed, q)?;
            let replayed = self.read_step(k, &digest);
            // A replayed sequential step needs no surrogates; a batch needs them for the
            // believer, fitted exactly as the first run fitted them.
            let fitted = if replayed.is_none() || q > 1 {
                check_interrupt()?;
                self.bars.train.set_message("fitting the surrogates");
                let t = match &kernels {
                    Some(t) => t.clone(),
                    None => self.evaluator.graph.gp_fit(&self.observations, &problem)?,
                };
                let f = fit_surrogates(&believed, &problem, &self.cfg.optimizer.cf_mesmo, Some(&t))
                    .context("the CF-MESMO step")?;
                kernels = Some(t);
                Some(f)
            } else {
                None
            };
            let rec = match (replayed, &fitted) {
                (Some(rec), _) => rec,
                (None, Some(f)) => {
                    let rec = self.distinct_step(f, &problem, k, &batch)?;
                    let mut record = serde_json::to_value(&rec)?;
                    record["observations_digest"] = digest.into();
                    cache::atomic::write_atomic(
                        &self.step_path(k),
                        &serde_json::to_vec_pretty(&record)?,
                    )?;
                    rec
                }
                (None, None) => unreachable!("fitted whenever there is no record"),
            };
            let epochs = range.nearest(rec.z).epochs;
            let design = self.cfg.design_space.decode(&rec.x);
            let x = self.cfg.design_space.encode(&design);
            if let (true, Some(f)) = (q > 1, &fitted) {
                // The believer: the objectives expected at the pending point, as if observed.
                let y = f
                    .expected(&problem, std::slice::from_ref(&x), rec.z)
                    .remove(0);
                believed.push(Observation {
                    x: x.clone(),
                    z: rec.z,
                    y,
                });
            }
            batch.push((x, epochs, strategy));
        }
        Ok(batch)
    }

    fn step_path(&self, k: usize) -> std::path::PathBuf {
        let iteration = self.outcome.rows.len() + k;
        self.study_dir
            .join("proposals")
            .join(format!("iter-{iteration:05}.json"))
    }

    /// The audit record of proposal `k` of the current batch, if a previous run made it
    /// on the same observations, fantasies and batch size (`digest`).
    fn read_step(&self, k: usize, digest: &str) -> Option<StepRecord> {
        let bytes = std::fs::read(self.step_path(k)).ok()?;
        let record: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
        if record["observations_digest"].as_str() != Some(digest) {
            return None;
        }
        serde_json::from_value(record).ok()
    }

    /// Proposal `k` of the batch: the CF-MESMO step, redrawn with other seeds while it
    /// repeats an evaluation done or pending, then a random design.
    fn distinct_step(
        &self,
        fitted: &FittedSurrogates,
        problem: &StepProblem,
        k: usize,
        batch: &[(Vec<f64>, usize, &str)],
    ) -> Result<StepRecord> {
        let iteration = (self.outcome.rows.len() + k) as u64;
        let range = self.cfg.fidelity;
        let space = &self.cfg.design_space;
        let taken = |x: &[f64], z: f64| {
            let x = space.encode(&space.decode(x));
            let epochs = range.nearest(z).epochs;
            batch.iter().any(|(u, e, _)| u == &x && *e == epochs)
                || self
                    .observations
                    .iter()
                    .any(|o| o.x == x && range.nearest(o.z).epochs == epochs)
        };
        const TRIES: u64 = 4;
        for attempt in 0..TRIES {
            let seed = self
                .cfg
                .study
                .seed
                .wrapping_mul(1_000_003)
                .wrapping_add(iteration)
                .wrapping_add(attempt.wrapping_mul(0x9e37_79b9_7f4a_7c15));
            let rec = propose_from(fitted, problem, &self.cfg.optimizer.cf_mesmo, seed)
                .context("the CF-MESMO step")?;
            if !taken(&rec.x, rec.z) {
                return Ok(rec);
            }
        }
        // Every redraw repeated an evaluation: a random design at full fidelity.
        let mut rng = stages_stream(self.cfg.study.seed ^ 0xd15c, iteration as usize);
        let mut rec = propose_from(fitted, problem, &self.cfg.optimizer.cf_mesmo, iteration)?;
        for _ in 0..64 {
            let u: Vec<f64> = (0..DesignSpace::DIM).map(|_| rng.random()).collect();
            if !taken(&u, 1.0) {
                (rec.x, rec.z, rec.rule) = (u, 1.0, Rule::Random);
                (rec.acquisition, rec.information_gain) = (0.0, 0.0);
                rec.cost = (problem.cost)(1.0);
                break;
            }
        }
        Ok(rec)
    }

    /// After the budget: the designs the surrogates predict to be Pareto-optimal at full
    /// fidelity (posterior means over every design evaluated at any fidelity), evaluated
    /// at full fidelity where they have not been, at most `final_evaluations` of them.
    fn final_pareto(&mut self) -> Result<()> {
        let max = self.cfg.fidelity.full().epochs;
        let limit = self.cfg.optimizer.final_evaluations;
        if limit == 0 || self.observations.len() < 2 {
            return Ok(());
        }
        let Ok(fitted) = self.fit(&[1.0]) else {
            return Ok(());
        };
        let problem = self.problem.step(&[1.0]);
        let mut designs: Vec<Vec<f64>> = Vec::new();
        for o in &fitted.usable {
            if !designs.contains(&o.x) {
                designs.push(o.x.clone());
            }
        }
        let predicted: Vec<Vec<f64>> = fitted
            .expected(&problem, &designs, 1.0)
            .into_iter()
            .map(|y| y.iter().map(|v| -v).collect())
            .collect();
        let front = stages::optimizer::hypervolume::pareto_front_indices(&predicted);
        let missing: Vec<Vec<f64>> = front
            .into_iter()
            .map(|i| designs[i].clone())
            .filter(|x| {
                !self
                    .observations
                    .iter()
                    .any(|o| &o.x == x && is_full_z(o.z))
            })
            .take(limit)
            .collect();
        for chunk in missing.chunks(self.q()) {
            self.evaluate_batch(chunk.iter().map(|x| (x.clone(), max, "final")).collect())?;
        }
        Ok(())
    }

    /// Proposals per iteration.
    fn q(&self) -> usize {
        self.execution.batch_size.max(1)
    }

    /// Evaluates a batch of designs `u` (snapped onto the design space) at their epochs:
    /// those in the ledger are read back, the others run as worker tasks through the
    /// executor. The rows come back in the batch's order.
    fn evaluate_batch(
        &mut self,
        batch: Vec<(Vec<f64>, usize, &'static str)>,
    ) -> Result<Vec<Evaluated>> {
        check_interrupt()?;
        let first = self.outcome.rows.len();
        let (planned, tasks) = self.plan_tasks(batch)?;
        if !tasks.is_empty() {
            let label = dag::design_label(&planned[0].design);
            self.bars.train.set_message(if tasks.len() == 1 {
                format!("{label} @{}", planned[0].epochs)
            } else {
                format!("{} evaluations in parallel", tasks.len())
            });
            self.run_tasks(format!("b{first:05}"), tasks)?;
            self.evaluator.reload()?;
        }
        let mut done = Vec::with_capacity(planned.len());
        let mut counted = std::collections::BTreeSet::new();
        for p in planned {
            let first_of_task = counted.insert(p.task.clone());
            let e = self.collect(&p, first_of_task)?;
            self.record(&p.design, &e);
            done.push(e);
        }
        Ok(done)
    }

    /// The batch's evaluations with their keys, and the task files written for those the
    /// ledger lacks (one task per distinct key).
    fn plan_tasks(
        &mut self,
        batch: Vec<(Vec<f64>, usize, &'static str)>,
    ) -> Result<(Vec<PlannedEvaluation>, Vec<String>)> {
        let first = self.outcome.rows.len();
        let mut planned = Vec::with_capacity(batch.len());
        let mut tasks: Vec<String> = Vec::new();
        for (k, (u, epochs, strategy)) in batch.into_iter().enumerate() {
            let design: Design = self.cfg.design_space.decode(&u);
            let key = self
                .evaluator
                .eval_key(&design, self.cfg.fidelity.at(epochs))?;
            let known = self.evaluator.known(&key).is_some();
            let task = worker::task_id(&key);
            if !known && !tasks.contains(&task) {
                let spec = TaskSpec {
                    id: task.clone(),
                    config: self.cfg.clone(),
                    design,
                    epochs,
                    iteration: (first + k) as i64,
                    strategy: strategy.to_string(),
                    eval_key: key.clone(),
                    retry_failed: self.execution.retry_failed,
                };
                worker::write_task(self.study_dir, &spec)?;
                tasks.push(task.clone());
            }
            planned.push(PlannedEvaluation {
                design,
                epochs,
                key,
                task,
                known,
            });
        }
        Ok((planned, tasks))
    }

    /// Runs the worker tasks `tasks` as batch `name` through the executor. Fails, with
    /// nothing recorded for their designs, when a task still has no result after its
    /// retries: its worker could not run or kept dying (a binary or store the nodes cannot
    /// reach, a full disk, the OOM killer, a lost node), which says nothing of a design.
    fn run_tasks(&self, name: String, tasks: Vec<String>) -> Result<()> {
        let batch = Batch {
            study: std::path::absolute(self.study_dir)?,
            cache: self.execution.cache.clone(),
            name,
            tasks,
        };
        self.execution
            .executor
            .run(&batch, self.execution.retries)?;
        check_interrupt()?;
        let unfinished = batch.unfinished();
        if let Some(&first) = unfinished.first() {
            anyhow::bail!(
                "{} of the {} tasks of batch {} got no result in {} attempts each (first: task \
                 {}): an infrastructure fault, so nothing was recorded for their designs; see \
                 the workers' output above, or their logs under {} and {}, fix the cause and \
                 run again to resume",
                unfinished.len(),
                batch.tasks.len(),
                batch.name,
                self.execution.retries + 1,
                batch.tasks[first],
                self.study_dir.join("tasks").display(),
                self.study_dir.join("slurm/logs").display()
            );
        }
        Ok(())
    }

    /// The outcome of one planned evaluation: its ledger row, read back or written by its
    /// worker (whose node runs are counted once per task).
    fn collect(&mut self, p: &PlannedEvaluation, first_of_task: bool) -> Result<Evaluated> {
        let result = worker::read_result(self.study_dir, &p.task);
        let Some(row) = self.evaluator.known(&p.key).cloned() else {
            anyhow::bail!(
                "task {} has a result but its ledger row is not readable (a stale directory \
                 listing of a shared file system?); nothing was recorded over it: run again \
                 to resume",
                p.task
            );
        };
        if p.known {
            return Ok(Evaluated {
                row,
                from_ledger: true,
                reused: true,
            });
        }
        if first_of_task {
            if let Some(r) = &result {
                let runner = self.evaluator.graph.runner_mut();
                runner.worker_runs.extend(r.node_runs());
            }
        }
        Ok(Evaluated {
            row,
            from_ledger: false,
            reused: result.is_some_and(|r| r.reused),
        })
    }

    /// Adds an evaluation to the decision sequence.
    fn record(&mut self, design: &Design, e: &Evaluated) {
        if e.from_ledger {
            self.outcome.from_ledger += 1;
        } else if e.reused {
            self.outcome.reused += 1;
        } else {
            self.outcome.computed += 1;
        }
        self.outcome.spent += self.cost_of(&e.row);
        self.observations.push(Observation {
            x: self.cfg.design_space.encode(design),
            z: e.row.fidelity_z,
            y: front::maximised(&e.row, OBJECTIVES),
        });
        self.outcome.rows.push(e.row.clone());
        let (pareto, hv) = front::pareto(&self.outcome.rows, OBJECTIVES);
        self.bars
            .study
            .set_position(self.outcome.spent.floor() as u64);
        self.bars.study.set_message(format!(
            "{} evaluations, Pareto set {}, hypervolume {hv:.4e}",
            self.outcome.rows.len(),
            pareto.len()
        ));
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
        self.exhausted_with(&[])
    }

    /// Whether the budget is spent once the `pending` evaluations are done (their
    /// measured seconds are not known yet and count as nothing).
    fn exhausted_with(&self, pending: &[(Vec<f64>, usize, &str)]) -> bool {
        let b = self.cfg.budget;
        match b.iterations {
            Some(n) => self.outcome.rows.len() + pending.len() >= self.initial + n as usize,
            None => {
                let fine_tunes = self.cfg.training.strategy.fine_tunes();
                let pending_cost: f64 = if b.epochs.is_some() {
                    pending
                        .iter()
                        .map(|(_, e, _)| if fine_tunes { (*e).max(1) as f64 } else { 1.0 })
                        .sum()
                } else {
                    0.0
                };
                self.outcome.spent + pending_cost >= self.budget_total()
            }
        }
    }
}

/// One evaluation of a batch, planned: its design and fidelity, its key, its worker
/// task, and whether the ledger already has it.
struct PlannedEvaluation {
    design: Design,
    epochs: usize,
    key: String,
    task: String,
    known: bool,
}

/// A digest of the observations (fantasies included) and the batch size a step is
/// made on: its audit record is replayed only on the same.
fn observations_digest(observations: &[Observation], batch_size: usize) -> Result<String> {
    let bytes = serde_json::to_vec(&(observations, batch_size))?;
    Ok(blake3::hash(&bytes).to_hex().to_string())
}

/// The optimiser's view of a study: the design in [0, 1]^4 (the grids of `cell_bits` and
/// `xbar_size` as grid variables, a fixed continuous variable as a grid of one value), the
/// maximised [`OBJECTIVES`], of which accuracy is measured and modelled over the fidelity
/// and the PPA objectives are computed from the PPA model, and the cost of a fidelity `z`,
/// its share of the full-fidelity epochs (deterministic, so a replay decides the same).
struct StudyProblem {
    kinds: Vec<ObjectiveKind>,
    levels: [usize; DesignSpace::DIM],
    known: KnownPpa,
}

/// The known objectives of a design point: its PPA in the surrogates' form.
type KnownPpa = Box<dyn Fn(&[f64]) -> Vec<f64> + Sync>;

impl StudyProblem {
    /// Checks that the PPA model takes every grid design at the corners of the
    /// continuous ranges, so that the optimiser's calls of it cannot fail.
    fn new(cfg: &StudyConfig, meta: &dag::DatasetMeta) -> Result<StudyProblem> {
        let space = cfg.design_space.clone();
        let (model, ppa) = (cfg.model.name, cfg.ppa.clone());
        let (hw, classes) = (meta.height, meta.classes.len());
        let estimate =
            move |u: &[f64]| stages::ppa::estimate(model, hw, classes, &space.decode(u), &ppa);
        let grid = |n: usize| -> Vec<f64> { (0..n).map(|i| (i as f64 + 0.5) / n as f64).collect() };
        let space = &cfg.design_space;
        for a in grid(space.cell_bits.len()) {
            for b in grid(space.xbar_size.len()) {
                for (c, d) in [(0.0, 0.0), (0.0, 1.0), (1.0, 0.0), (1.0, 1.0)] {
                    estimate(&[a, b, c, d]).context("the PPA model of the design space")?;
                }
            }
        }
        let fixed = |r: &crate::config::Range| if r.max <= r.min { 1 } else { 0 };
        Ok(StudyProblem {
            kinds: objective_kinds(OBJECTIVES),
            levels: [
                space.cell_bits.len(),
                space.xbar_size.len(),
                fixed(&space.freq_hz),
                fixed(&space.temp_k),
            ],
            known: Box::new(move |u| {
                let report = estimate(u).expect("every design of the space was checked");
                OBJECTIVES
                    .iter()
                    .filter_map(|o| o.known_surrogate(&report))
                    .collect()
            }),
        })
    }

    /// The step's problem at the `fidelities`.
    fn step<'a>(&'a self, fidelities: &'a [f64]) -> StepProblem<'a> {
        StepProblem {
            dim: DesignSpace::DIM,
            objectives: &self.kinds,
            levels: &self.levels,
            fidelities,
            cost: &|z| z,
            known: Some(&*self.known),
        }
    }
}

/// A row's objectives for NSGA-II, minimised and finite: a failed evaluation counts as
/// accuracy 0, and a missing PPA value as the worst possible.
fn nsga2_objectives(row: &EvaluationRow) -> Vec<f64> {
    front::maximised(row, OBJECTIVES)
        .iter()
        .zip(OBJECTIVES)
        .map(|(v, ob)| match (v.is_finite(), ob.reference) {
            (true, _) => -v,
            // A missing value (a failed design's accuracy) is its natural worst.
            (false, Some(worst)) => worst,
            (false, _) => f64::MAX / 4.0,
        })
        .collect()
}

/// The random-search stream of decision `index`.
fn stages_stream(seed: u64, index: usize) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x7a5d_0c3e);
    rng.set_stream(index as u64);
    rng
}
