//! The study loop: dataset prep and the baseline, the initial design, then iterations of
//! the search strategy (GP fit -> CF-MESMO step, or MESMO, NSGA-II, random search), until
//! the budget is spent; then the predicted Pareto set is evaluated at full fidelity.
//!
//! **Strategies.** The decisions come from the strategy's ask/tell interface
//! ([`optimizer::strategy`]), the code `pipeline bench optimizer` measures: the
//! study asks for a batch of `q` (design, fidelity) pairs, which the [`Executor`]
//! evaluates in parallel as worker tasks ([`crate::worker`]), and tells the strategy the
//! results once the whole batch is in the ledger. CF-MESMO and MESMO build a batch with
//! the kriging believer, random search draws `q` designs, NSGA-II hands out its
//! generations `q` at a time. With `q = 1` this is the sequential study, decision for
//! decision.
//!
//! **Exact resume.** The sequence of decisions is a pure function of the config, the seed
//! and the results of earlier evaluations. A resumed run replays it: an evaluation whose
//! row is in the ledger is read back, not run, and each CF-MESMO step is read from its
//! audit record (`proposals/iter-<i>.json`, written before its evaluation starts, handed
//! to the strategy by its [`StepMemory`]), so the
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
use optimizer::cf_mesmo::StepRecord;
use optimizer::cost::CostModel;
use optimizer::gp::Kernel;
use optimizer::nsga2::Nsga2Config;
use optimizer::problem::{ObjectiveKind, Observation, StepProblem};
use optimizer::strategy::{self, Evaluations, Proposal, StepMemory, StrategyKind, StrategySpec};
use stages::design::{Design, DesignSpace};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::batch::Batch;
use crate::config::{StudyConfig, ValidConfig};
use crate::dag::{self, Graph};
use crate::evaluation::{Evaluated, Evaluator};
use crate::executor::Executor;
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

/// What a study run evaluates.
#[derive(Debug, Clone, Copy)]
pub enum Plan<'p> {
    /// The search: the strategy's decisions until the budget is spent (`pipeline run`).
    Search,
    /// Every design of a grid at every fidelity, lowest first, each a warm start from the
    /// one below (`pipeline sweep`); the budget does not apply.
    Sweep(&'p [Design]),
}

/// Runs (or resumes) the study in `study_dir` on its graph, and hands the graph back
/// (with its node runs) whatever the outcome.
pub fn run_study<'a>(
    mut graph: Graph<'a>,
    study_dir: &std::path::Path,
    execution: &Execution,
    bars: &Bars,
    plan: Plan<'_>,
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
        evaluator: Evaluator::new(graph, study_dir, execution.retry_failed),
        execution,
        bars,
        study_dir,
        outcome: StudyOutcome::default(),
        initial: 0,
        sweep: matches!(plan, Plan::Sweep(_)),
    };
    let result = driver.evaluator.reload().and_then(|()| match plan {
        Plan::Search => driver.run(&problem),
        Plan::Sweep(grid) => driver.sweep(grid),
    });
    let Driver {
        evaluator, outcome, ..
    } = driver;
    (evaluator.graph, result.map(|()| outcome))
}

/// The decision sequence and its bookkeeping.
struct Driver<'a, 'b> {
    cfg: &'a ValidConfig,
    evaluator: Evaluator<'a>,
    execution: &'b Execution,
    bars: &'b Bars,
    study_dir: &'b std::path::Path,
    outcome: StudyOutcome,
    initial: usize,
    /// Whether the plan is a sweep: its progress counts evaluations, not budget.
    sweep: bool,
}

impl<'a> Driver<'a, '_> {
    /// The decision sequence ([`strategy::drive`], the benchmarks' loop too): the
    /// strategy's proposals (behind the initial design), evaluated batch by batch until
    /// the budget is spent, then its predicted Pareto set.
    fn run(&mut self, problem: &StudyProblem) -> Result<()> {
        let cfg = self.cfg;
        let range = cfg.fidelity;
        let kind = cfg.study.strategy;
        self.bars
            .study
            .set_length(self.budget_total().ceil() as u64);
        let levels = self.epoch_levels(kind == StrategyKind::CfMesmo);
        let fidelities: Vec<f64> = levels.iter().map(|&e| range.at(e).z()).collect();
        let initial = self.initial_design(fidelities[0])?;
        self.initial = initial.len();
        let population = cfg.optimizer.nsga2_population;
        let mut strategy = StrategySpec {
            kind,
            problem: problem.step(&fidelities),
            step: cfg.optimizer.cf_mesmo.clone(),
            nsga2: Nsga2Config {
                population_size: population,
                // NSGA-II runs until the budget is spent.
                generations: usize::MAX / (2 * population.max(1)),
                ..Nsga2Config::default()
            },
            failure: nsga2_failure_values(),
            initial,
            seed: cfg.study.seed,
        }
        .build();
        let limit = cfg.optimizer.final_evaluations;
        let mut evaluations = StudyEvaluations {
            driver: self,
            problem,
        };
        strategy::drive(&mut *strategy, &mut evaluations, limit)
    }

    /// The sweep: every design of `grid` at each fidelity from `fidelity.min_epochs` to
    /// `max_epochs` (full fidelity only for a training strategy that does not fine-tune),
    /// one fidelity after the other, so that each evaluation continues the checkpoint of
    /// the one below; `q` designs at a time.
    fn sweep(&mut self, grid: &[Design]) -> Result<()> {
        let levels = self.epoch_levels(true);
        self.bars
            .study
            .set_length((grid.len() * levels.len()) as u64);
        for &epochs in &levels {
            for chunk in grid.chunks(self.q()) {
                self.evaluate_batch(chunk.iter().map(|d| (*d, epochs, "sweep")).collect())?;
            }
        }
        Ok(())
    }

    /// The fidelities (epochs) evaluated, lowest first: every one from
    /// `fidelity.min_epochs` to `max_epochs` when `multi_fidelity` and the training
    /// strategy fine-tunes, else full fidelity only.
    fn epoch_levels(&self, multi_fidelity: bool) -> Vec<usize> {
        let range = self.cfg.fidelity;
        let max = range.full().epochs;
        if multi_fidelity && self.cfg.training.strategy.fine_tunes() {
            (range.min_epochs as usize..=max).collect()
        } else {
            vec![max]
        }
    }

    /// The initial design ([`strategy::initial_design`], the benchmarks' too):
    /// `initial.designs` points at the lowest fidelity `z_low`, then
    /// `initial.full_fidelity` at full fidelity (none for NSGA-II, whose initial
    /// population is its own).
    fn initial_design(&self, z_low: f64) -> Result<Vec<(Vec<f64>, f64)>> {
        let cfg = self.cfg;
        let (low, full) = (cfg.initial.designs, cfg.initial.full_fidelity);
        let dim = cfg.design_space.dim();
        strategy::initial_design(cfg.study.strategy, dim, low, full, z_low, cfg.study.seed)
    }

    /// The cost model's overhead in epochs: configured, or fitted to the rows so far.
    fn overhead_epochs(&self) -> f64 {
        let c = &self.cfg.optimizer.cost;
        let fitted = c
            .fit
            .then(|| fitted_overhead(&self.outcome.rows, &self.cfg.design_space))
            .flatten();
        fitted.unwrap_or(c.overhead_epochs)
    }

    /// The strategy's view of the study's store: the GP fit node and the audit records.
    fn memory(&mut self) -> StudyMemory<'_, 'a> {
        StudyMemory {
            graph: &mut self.evaluator.graph,
            study_dir: self.study_dir,
            bars: self.bars,
        }
    }

    /// Proposals per iteration.
    fn q(&self) -> usize {
        self.execution.batch_size.max(1)
    }

    /// Evaluates a batch of designs at their epochs: those in the ledger are read back,
    /// the others run as worker tasks through the executor. Their observations come back
    /// in the batch's order.
    fn evaluate_batch(&mut self, batch: Vec<PendingEvaluation>) -> Result<Vec<Observation>> {
        check_interrupt()?;
        let first = self.outcome.rows.len();
        let (planned, tasks) = self.plan_tasks(batch)?;
        if !tasks.is_empty() {
            let label = &planned[0].design.label();
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
            done.push(self.record(&p.design, &e));
        }
        Ok(done)
    }

    /// The batch's evaluations with their keys, and the task files written for those the
    /// ledger lacks (one task per distinct key).
    fn plan_tasks(
        &mut self,
        batch: Vec<PendingEvaluation>,
    ) -> Result<(Vec<PlannedEvaluation>, Vec<String>)> {
        let first = self.outcome.rows.len();
        let mut planned = Vec::with_capacity(batch.len());
        let mut tasks: Vec<String> = Vec::new();
        for (k, (design, epochs, strategy)) in batch.into_iter().enumerate() {
            let key = self
                .evaluator
                .eval_key(&design, self.cfg.fidelity.at(epochs))?;
            let known = self.evaluator.known(&key).is_some();
            let task = worker::task_id(&key);
            if !known && !tasks.contains(&task) {
                let spec = TaskSpec {
                    id: task.clone(),
                    config: StudyConfig::clone(self.cfg),
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

    /// Adds an evaluation to the decision sequence; its observation for the strategy.
    fn record(&mut self, design: &Design, e: &Evaluated) -> Observation {
        if e.from_ledger {
            self.outcome.from_ledger += 1;
        } else if e.reused {
            self.outcome.reused += 1;
        } else {
            self.outcome.computed += 1;
        }
        self.outcome.spent += self.cost_of(&e.row);
        self.outcome.rows.push(e.row.clone());
        let front = front::pareto(&self.outcome.rows, OBJECTIVES);
        self.bars.study.set_position(if self.sweep {
            self.outcome.rows.len() as u64
        } else {
            self.outcome.spent.floor() as u64
        });
        self.bars.study.set_message(format!(
            "{} evaluations, Pareto set {}, hypervolume {:.1} % of the reference box",
            self.outcome.rows.len(),
            front.indices.len(),
            100.0 * front.share
        ));
        Observation {
            x: self.cfg.design_space.encode(design),
            z: e.row.fidelity_z,
            y: front::maximised(&e.row, OBJECTIVES),
        }
    }

    /// What a row costs against the budget.
    fn cost_of(&self, row: &EvaluationRow) -> f64 {
        let b = self.cfg.budget;
        if b.epochs.is_some() {
            row.epochs_charged()
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
    fn exhausted_with(&self, pending: &[PendingEvaluation]) -> bool {
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

/// An evaluation to run: the design, its epochs and what chose it (the ledger's
/// `strategy`).
/// The study's side of the decision loop ([`strategy::drive`]): batches of the
/// configured size (capped by an iteration budget), the cached GP fits and audit
/// records as the steps' memory, the cost model's overhead refitted before each step,
/// and the evaluations through the graph, the ledger and the executors.
struct StudyEvaluations<'r, 'a, 'b> {
    driver: &'r mut Driver<'a, 'b>,
    problem: &'r StudyProblem,
}

impl Evaluations for StudyEvaluations<'_, '_, '_> {
    fn next_batch(&mut self) -> usize {
        let d = &self.driver;
        if d.exhausted() {
            return 0;
        }
        match d.cfg.budget.iterations {
            Some(n) => d.q().min(d.initial + n as usize - d.outcome.rows.len()),
            None => d.q(),
        }
    }

    fn memory(&mut self) -> Box<dyn StepMemory + '_> {
        let full = self.driver.cfg.fidelity.full().epochs;
        self.problem
            .set_overhead(self.driver.overhead_epochs(), full);
        Box::new(self.driver.memory())
    }

    fn evaluate(&mut self, proposals: Vec<Proposal>) -> Result<Vec<Observation>> {
        let cfg = self.driver.cfg;
        let mut batch = Vec::with_capacity(proposals.len());
        for p in proposals {
            if !batch.is_empty() && self.driver.exhausted_with(&batch) {
                break;
            }
            let design = cfg.design_space.decode(&p.x);
            batch.push((design, cfg.fidelity.nearest(p.z).epochs, p.label));
        }
        self.driver.evaluate_batch(batch)
    }

    fn evaluate_final(&mut self, designs: Vec<Vec<f64>>) -> Result<()> {
        let cfg = self.driver.cfg;
        let full = cfg.fidelity.full().epochs;
        for chunk in designs.chunks(self.driver.q()) {
            let batch = chunk
                .iter()
                .map(|x| (cfg.design_space.decode(x), full, "final"))
                .collect();
            self.driver.evaluate_batch(batch)?;
        }
        Ok(())
    }
}

type PendingEvaluation = (Design, usize, &'static str);

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

/// The optimiser's view of a study: the design in the design space's unit cube
/// ([`DesignSpace::encode`]: a grid as a grid variable, a range as a continuous one, one
/// with `min == max` as a grid of one value), the
/// maximised [`OBJECTIVES`], of which accuracy is measured and modelled over the fidelity
/// and the PPA objectives are computed from the PPA model, and the cost of a fidelity `z`,
/// the overhead plus the epochs it adds over a cold full-fidelity evaluation's
/// (`[optimizer.cost]`; configured or fitted to the rows, so a replay decides the same).
struct StudyProblem {
    kinds: Vec<ObjectiveKind>,
    levels: Vec<usize>,
    known: KnownPpa,
    /// The cost model's overhead in units of `z` (its epochs over the full fidelity's),
    /// as `f64` bits: set before each ask ([`StudyProblem::set_overhead`]).
    overhead: std::sync::Arc<AtomicU64>,
    cost: CostFn,
}

/// The cost `C(z_from, z)` of the step.
type CostFn = Box<dyn Fn(f64, f64) -> f64 + Sync>;

/// The known objectives of a design point: its PPA in the surrogates' form.
type KnownPpa = Box<dyn Fn(&[f64]) -> Vec<f64> + Sync>;

impl StudyProblem {
    /// Checks that the PPA model takes every grid design at the corners of the
    /// continuous ranges, so that the optimiser's calls of it cannot fail.
    fn new(cfg: &StudyConfig, meta: &dag::DatasetMeta) -> Result<StudyProblem> {
        let space = cfg.design_space.clone();
        let (model, ppa) = (cfg.model.name, cfg.ppa.clone());
        let (hw, classes) = (meta.height, meta.classes.len());
        let estimate = move |d: &Design| stages::ppa::estimate(model, hw, classes, d, &ppa);
        for design in space.corners() {
            estimate(&design).context("the PPA model of the design space")?;
        }
        let overhead = std::sync::Arc::new(AtomicU64::new(0f64.to_bits()));
        let shared = overhead.clone();
        Ok(StudyProblem {
            overhead,
            // The overhead plus the epochs added beyond a warm start, over a cold
            // full-fidelity evaluation's cost.
            cost: Box::new(move |from: f64, z: f64| {
                let overhead = f64::from_bits(shared.load(Ordering::Relaxed));
                CostModel::from_overhead(overhead).cost(from, z)
            }),
            kinds: objective_kinds(OBJECTIVES),
            levels: space.levels(),
            known: Box::new(move |u| {
                let report =
                    estimate(&space.decode(u)).expect("every design of the space was checked");
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
            dim: self.levels.len(),
            objectives: &self.kinds,
            levels: &self.levels,
            fidelities,
            cost: &*self.cost,
            known: Some(&*self.known),
            reference: None,
            allowance: None,
        }
    }

    /// Sets the cost model's overhead, `overhead_epochs` of `full_epochs`.
    fn set_overhead(&self, overhead_epochs: f64, full_epochs: usize) {
        let z = overhead_epochs / full_epochs.max(1) as f64;
        self.overhead.store(z.to_bits(), Ordering::Relaxed);
    }
}

/// The fixed overhead of an evaluation in epochs, fitted to the rows' measured seconds:
/// least squares of `cost_s` on the epochs each successful row trained (beyond the
/// largest fidelity at which an earlier row evaluated the same design, the warm start),
/// `overhead = intercept / slope`; `None` until three rows with two distinct epoch
/// counts give a positive slope.
fn fitted_overhead(rows: &[EvaluationRow], space: &DesignSpace) -> Option<f64> {
    let mut points: Vec<(f64, f64)> = Vec::new();
    for (i, row) in rows.iter().enumerate() {
        if row.status != crate::record::STATUS_OK || row.fidelity_epochs < 1 {
            continue;
        }
        let design = row.design(space);
        let from = rows[..i]
            .iter()
            .filter(|r| r.fidelity_epochs < row.fidelity_epochs && r.design(space) == design)
            .map(|r| r.fidelity_epochs)
            .max()
            .unwrap_or(0);
        points.push((f64::from(row.fidelity_epochs - from), row.cost_s));
    }
    let n = points.len() as f64;
    let mean_x = points.iter().map(|p| p.0).sum::<f64>() / n;
    let mean_y = points.iter().map(|p| p.1).sum::<f64>() / n;
    let sxx: f64 = points.iter().map(|p| (p.0 - mean_x).powi(2)).sum();
    let sxy: f64 = points.iter().map(|p| (p.0 - mean_x) * (p.1 - mean_y)).sum();
    if points.len() < 3 || sxx <= 0.0 || sxy <= 0.0 {
        return None;
    }
    let slope = sxy / sxx;
    let intercept = mean_y - slope * mean_x;
    Some((intercept / slope).clamp(0.0, 1000.0))
}

/// The (maximised) value each objective counts as for NSGA-II where an evaluation
/// failed: its natural worst (a failed design's accuracy is 0), else the worst possible.
fn nsga2_failure_values() -> Vec<f64> {
    OBJECTIVES
        .iter()
        .map(|ob| match ob.reference {
            Some(worst) => -worst,
            None => -(f64::MAX / 4.0),
        })
        .collect()
}

/// The strategy's view of a study's store: kernels from the cached GP fit node, and the
/// audit records `proposals/iter-<i>.json`, replayed only on the same observations,
/// fantasies and batch size.
struct StudyMemory<'g, 'a> {
    graph: &'g mut Graph<'a>,
    study_dir: &'g std::path::Path,
    bars: &'g Bars,
}

impl StudyMemory<'_, '_> {
    fn step_path(&self, index: usize) -> std::path::PathBuf {
        self.study_dir
            .join("proposals")
            .join(format!("iter-{index:05}.json"))
    }
}

impl StepMemory for StudyMemory<'_, '_> {
    fn kernels(
        &mut self,
        observations: &[Observation],
        problem: &StepProblem,
    ) -> Result<Option<Vec<Kernel>>> {
        check_interrupt()?;
        self.bars.train.set_message("fitting the surrogates");
        Ok(Some(self.graph.gp_fit(observations, problem)?))
    }

    fn recall(
        &mut self,
        index: usize,
        believed: &[Observation],
        batch_size: usize,
    ) -> Option<StepRecord> {
        let digest = observations_digest(believed, batch_size).ok()?;
        let bytes = std::fs::read(self.step_path(index)).ok()?;
        let record: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
        if record["observations_digest"].as_str() != Some(digest.as_str()) {
            return None;
        }
        serde_json::from_value(record).ok()
    }

    fn remember(
        &mut self,
        index: usize,
        believed: &[Observation],
        batch_size: usize,
        record: &StepRecord,
    ) -> Result<()> {
        let mut value = serde_json::to_value(record)?;
        value["observations_digest"] = observations_digest(believed, batch_size)?.into();
        cache::atomic::write_atomic(&self.step_path(index), &serde_json::to_vec_pretty(&value)?)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::tests::sample_row;

    /// Rows costing 2 s of overhead plus 4 s per epoch trained give an overhead of half
    /// an epoch, a warm start counting only the epochs it adds.
    #[test]
    fn the_overhead_is_fitted_to_the_epochs_each_row_trained() {
        let space = StudyConfig::default_config().into_inner().design_space;
        let row = |cell_bits: u8, epochs: i32, cost_s: f64| {
            let mut r = sample_row("k");
            r.recorded.cell_bits = cell_bits;
            EvaluationRow {
                fidelity_epochs: epochs,
                cost_s,
                ..r
            }
        };
        let rows = [
            row(2, 1, 6.0),
            row(2, 3, 10.0), // warm from 1 epoch: 2 added
            row(4, 4, 18.0),
            row(8, 2, 10.0),
        ];
        let overhead = fitted_overhead(&rows, &space).unwrap();
        assert!((overhead - 0.5).abs() < 1e-12, "{overhead}");
        assert_eq!(fitted_overhead(&rows[..2], &space), None, "too few rows");
        let same = [row(2, 1, 6.0), row(4, 1, 6.5), row(8, 1, 5.5)];
        assert_eq!(fitted_overhead(&same, &space), None, "one epoch count");
    }
}
