//! Tasks and `pipeline worker`: the one code path that evaluates a (design, fidelity),
//! whichever executor runs it.
//!
//! The coordinator writes each pending evaluation as a task file,
//! `<study>/tasks/<task id>.json`, holding the full study config, the design, the
//! epochs, the decision's index and its evaluation key; the task id is made from the
//! evaluation key, so the same evaluation is always the same task. A worker evaluates
//! it through [`Evaluator`] into its own ledger part (`evaluations/part-<key>.parquet`),
//! its own metrics part and its own run record, all written atomically (temp file, then
//! rename), then writes `<task id>.done.json`. It shares no lock with other workers: it
//! only holds the task's own lock file, so that a second worker of the *same* task waits
//! and then finds it done. A task run twice therefore leaves one row.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use cache::Store;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::{Deserialize, Serialize};
use stages::design::Design;

use crate::config::StudyConfig;
use crate::dag::{self, Graph};
use crate::evaluation::Evaluator;
use crate::record::build::Proposal;
use crate::runner::{NodeRun, Outcome, Runner};

/// One pending evaluation, as the coordinator hands it to a worker.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TaskSpec {
    /// The task's id (from the evaluation key).
    pub id: String,
    /// The study's config, as the coordinator resolved it.
    pub config: StudyConfig,
    /// The design to evaluate.
    pub design: Design,
    /// The fidelity, in epochs.
    pub epochs: usize,
    /// The decision's index in the study's sequence.
    pub iteration: i64,
    /// The strategy that proposed it.
    pub strategy: String,
    /// The evaluation key the coordinator computed; the worker checks it.
    pub eval_key: String,
    /// Whether a failed row of the same key is evaluated again (`--retry-failed`).
    #[serde(default)]
    pub retry_failed: bool,
}

/// What a finished task reports back.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TaskResult {
    /// The ledger row's key.
    pub eval_key: String,
    /// Whether the training and inference came from the cache.
    pub reused: bool,
    /// The row's status (`ok` or `failed`).
    pub status: String,
    /// The DAG nodes the worker ran: (stage, whether it was a cache hit).
    pub nodes: Vec<(String, bool)>,
}

impl TaskResult {
    /// The worker's node runs of its evaluation, for the coordinator's summary.
    pub fn node_runs(&self) -> Vec<NodeRun> {
        self.nodes
            .iter()
            .filter_map(|(stage, cached)| {
                let stage = dag::STAGES.iter().find(|s| **s == stage)?;
                // The coordinator prepared these before the batch; they are cache hits.
                if [stages::dataset::STAGE, stages::training::BASELINE_STAGE].contains(stage) {
                    return None;
                }
                Some(NodeRun {
                    stage,
                    label: String::new(),
                    key: String::new(),
                    outcome: if *cached {
                        Outcome::Cached
                    } else {
                        Outcome::Computed
                    },
                    seconds: 0.0,
                })
            })
            .collect()
    }
}

/// The task id of an evaluation key.
pub fn task_id(eval_key: &str) -> String {
    format!("eval-{}", &eval_key[..eval_key.len().min(24)])
}

/// `<study>/tasks`.
pub fn tasks_dir(study: &Path) -> PathBuf {
    study.join("tasks")
}

fn task_path(study: &Path, id: &str) -> PathBuf {
    tasks_dir(study).join(format!("{id}.json"))
}

fn result_path(study: &Path, id: &str) -> PathBuf {
    tasks_dir(study).join(format!("{id}.done.json"))
}

/// Writes a task file (atomically), for a task to run: a result of an earlier run of it
/// (whose row the ledger no longer counts, as with `--retry-failed`) is removed first.
pub fn write_task(study: &Path, spec: &TaskSpec) -> Result<()> {
    let stale = result_path(study, &spec.id);
    match fs::remove_file(&stale) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e).with_context(|| format!("removing {}", stale.display())),
    }
    cache::atomic::write_atomic(
        &task_path(study, &spec.id),
        &serde_json::to_vec_pretty(spec)?,
    )
}

/// The result of a finished task, if it has one.
pub fn read_result(study: &Path, id: &str) -> Option<TaskResult> {
    let bytes = fs::read(result_path(study, id)).ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// How long a worker waits for another worker's lock on the same task. A lock that
/// outlives its holder (as a shared file system can leave one) would otherwise hold the
/// worker forever; giving up leaves no result, so the task is retried after a backoff.
const TASK_LOCK_WAIT: std::time::Duration = std::time::Duration::from_secs(600);

/// Takes the task's lock, waiting at most [`TASK_LOCK_WAIT`].
fn lock_task(lock: &fs::File, id: &str, path: &Path) -> Result<()> {
    let deadline = std::time::Instant::now() + TASK_LOCK_WAIT;
    loop {
        match lock.try_lock() {
            Ok(()) => return Ok(()),
            Err(fs::TryLockError::WouldBlock) if std::time::Instant::now() < deadline => {
                std::thread::sleep(std::time::Duration::from_millis(500));
            }
            Err(fs::TryLockError::WouldBlock) => bail!(
                "task {id}: {} has been held by another worker for {} s; giving up (the \
                 task is retried)",
                path.display(),
                TASK_LOCK_WAIT.as_secs()
            ),
            Err(fs::TryLockError::Error(e)) => {
                return Err(e).with_context(|| format!("task {id}: locking {}", path.display()))
            }
        }
    }
}

/// `pipeline worker --study DIR --cache DIR --task ID`.
pub fn run_worker(study: &Path, cache_dir: &Path, id: &str) -> Result<()> {
    let path = task_path(study, id);
    let bytes = fs::read(&path).with_context(|| {
        format!(
            "task {id}: cannot read {} (task files are written by `pipeline run`)",
            path.display()
        )
    })?;
    let spec: TaskSpec = serde_json::from_slice(&bytes)
        .with_context(|| format!("task {id}: {} is not a task file", path.display()))?;
    if spec.id != id {
        bail!("task {id}: {} holds task {}", path.display(), spec.id);
    }
    // The config travels in the task file: checked as the coordinator's was, before
    // anything stored is touched.
    let cfg = spec
        .config
        .clone()
        .check()
        .with_context(|| format!("task {id}: the config in {}", path.display()))?;
    let lock_path = tasks_dir(study).join(format!("{id}.lock"));
    let lock = fs::File::create(&lock_path)
        .with_context(|| format!("task {id}: creating {}", lock_path.display()))?;
    lock_task(&lock, id, &lock_path)?;
    if let Some(done) = read_result(study, id) {
        println!("task {id} was already done: {}", done.status);
        return Ok(());
    }
    crate::interrupt::install_interrupt_handler();
    let store = Store::open(cache_dir)?;
    let mut graph = Graph::open(&cfg, Runner::new(store, Default::default()))?;
    let bar = worker_bar();
    graph.baseline(&bar)?;
    let mut evaluator = Evaluator::new(graph, study, spec.retry_failed);
    evaluator.reload()?;
    let fidelity = cfg.fidelity.at(spec.epochs);
    // Planned once: its key is checked against the coordinator's, then it is evaluated.
    let planned = evaluator.graph.plan(&spec.design, fidelity)?;
    let key = &planned.eval_key;
    if *key != spec.eval_key {
        bail!(
            "task {id}: this worker computes evaluation key {key}, the coordinator {}: \
             the worker must run the same pipeline build and see the same data",
            spec.eval_key
        );
    }
    let proposal = Proposal {
        iteration: spec.iteration,
        strategy: &spec.strategy,
    };
    let outcome = evaluator.evaluate(&planned, proposal, &bar);
    bar.finish_and_clear();
    let runner = evaluator.graph.runner();
    crate::setup::record_run(study, runner)?;
    let e = outcome?;
    let result = TaskResult {
        eval_key: e.row.eval_key.clone(),
        reused: e.reused,
        status: e.row.status.clone(),
        nodes: runner
            .runs
            .iter()
            .map(|r| (r.stage.to_string(), r.outcome == Outcome::Cached))
            .collect(),
    };
    cache::atomic::write_atomic(
        &result_path(study, id),
        &serde_json::to_vec_pretty(&result)?,
    )?;
    println!("task {id}: {} ({})", result.status, &spec.design.label());
    Ok(())
}

/// The training progress bar: drawn on a terminal, hidden in a batch job's log.
fn worker_bar() -> ProgressBar {
    let bar = ProgressBar::new(0).with_style(
        ProgressStyle::with_template("  {bar:24} {pos}/{len} steps  {msg}")
            .expect("valid template"),
    );
    if !std::io::IsTerminal::is_terminal(&std::io::stderr()) {
        bar.set_draw_target(ProgressDrawTarget::hidden());
    }
    bar
}
