//! Running a study plan end to end: the execution options (executor, workers, batch
//! size, retries), the lock, the graph, the progress bars, the interrupt and the resume,
//! then the summary and the report. `pipeline run` runs the search, `pipeline sweep` a
//! grid.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context, Result};
use cache::{Store, StudyLock};
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};

use crate::config::{Paths, StudyConfig, ValidConfig, STUDY_SNAPSHOT};
use crate::dag::{Graph, STAGES};
use crate::executor::Executor;
use crate::front;
use crate::interrupt::{install_interrupt_handler, Interrupted};
use crate::record::objectives::OBJECTIVES;
use crate::record::STATUS_OK;
use crate::runner::Runner;
use crate::setup::{record_run, study_setup, StudyArgs};
use crate::slurm::SlurmOptions;
use crate::study::{self, Bars, Execution, Plan, StudyOutcome};

/// Where `pipeline run` evaluates.
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExecutorKind {
    /// Worker processes on this machine.
    Local,
    /// Job arrays on a Slurm cluster.
    Slurm,
}

/// The Slurm executor's options.
#[derive(clap::Args, Debug, Clone)]
pub struct SlurmArgs {
    /// Slurm partition.
    #[arg(long)]
    partition: Option<String>,
    /// Array tasks running at once (sbatch --array=...%K).
    #[arg(long, default_value_t = 4)]
    max_parallel: usize,
    /// An extra sbatch argument, e.g. --sbatch-arg=--time=04:00:00 (repeatable).
    #[arg(long, value_name = "ARG", allow_hyphen_values = true)]
    sbatch_arg: Vec<String>,
}

/// Seconds between two squeue polls unless `--poll-s` says otherwise.
pub(crate) const POLL_S: f64 = 2.0;

impl SlurmArgs {
    /// The executor's options, polling `squeue` every `poll_s` seconds.
    pub(crate) fn options(&self, poll_s: f64) -> SlurmOptions {
        SlurmOptions {
            partition: self.partition.clone(),
            max_parallel: self.max_parallel,
            sbatch_args: self.sbatch_arg.clone(),
            poll_s,
        }
    }
}

/// How `pipeline run` evaluates a study's designs.
#[derive(clap::Args, Debug, Clone)]
pub struct ExecutionArgs {
    /// Where the workers run.
    #[arg(long, value_enum, default_value = "local")]
    executor: ExecutorKind,
    /// Local workers at a time.
    #[arg(long, default_value_t = 1)]
    jobs: usize,
    /// Proposals per iteration, q. Default: --jobs (local) or --max-parallel (slurm).
    /// The decisions depend on it, so a study resumed with another q goes on
    /// differently (what is in the ledger is kept).
    #[arg(long)]
    batch_size: Option<usize>,
    /// Extra attempts of a task whose worker ended without a result (an infrastructure
    /// fault: the study stops, recording nothing for it, once they are spent).
    #[arg(long, default_value_t = 2)]
    retries: usize,
    /// Evaluate the designs of failed rows again (a failed row otherwise counts as done).
    #[arg(long)]
    retry_failed: bool,
    #[command(flatten)]
    slurm: SlurmArgs,
    /// Seconds between two squeue polls (the Slurm executor).
    #[arg(long, default_value_t = POLL_S)]
    poll_s: f64,
}

impl ExecutionArgs {
    fn execution(&self, cache: &Path) -> Result<Execution> {
        for (flag, value) in [
            ("--jobs", Some(self.jobs)),
            ("--max-parallel", Some(self.slurm.max_parallel)),
            ("--batch-size", self.batch_size),
        ] {
            if value == Some(0) {
                bail!("{flag} must be at least 1, got 0");
            }
        }
        if !self.poll_s.is_finite() || self.poll_s <= 0.0 {
            bail!("--poll-s must be > 0, got {}", self.poll_s);
        }
        let executor = match self.executor {
            ExecutorKind::Local => Executor::Local { jobs: self.jobs },
            ExecutorKind::Slurm => Executor::Slurm(self.slurm.options(self.poll_s)),
        };
        Ok(Execution {
            batch_size: self.batch_size.unwrap_or(executor.parallelism()),
            executor,
            retries: self.retries,
            retry_failed: self.retry_failed,
            cache: std::path::absolute(cache)?,
        })
    }
}

/// Runs (or resumes) the `plan` of the study `args` names: the search of `pipeline run`
/// or the grid of `pipeline sweep`, with the same lock, graph, executors, progress bars,
/// interrupt and resume; then prints the summary and writes the report.
pub fn execute(
    args: &StudyArgs,
    recompute: &[String],
    new_study: bool,
    execution: &ExecutionArgs,
    plan: Plan<'_>,
) -> Result<()> {
    for stage in recompute {
        if !STAGES.contains(&stage.as_str()) {
            bail!(
                "--recompute {stage}: unknown stage; the stages are {}",
                STAGES.join(", ")
            );
        }
    }
    let (cfg, paths) = study_setup(args)?;
    let execution = execution.execution(&paths.cache)?;
    let _lock = StudyLock::acquire(&paths.study)?;
    let store = Store::open(&paths.cache)?;
    let runner = Runner::new(store, recompute.iter().cloned().collect::<BTreeSet<_>>());
    // The data set and the model are checked before the study's own state (its
    // snapshot, or an archive of an older problem) changes.
    let graph = Graph::open(&cfg, runner)?;
    check_study_snapshot(&cfg, &paths, new_study)?;
    install_interrupt_handler();
    let started = Instant::now();
    let multi = MultiProgress::new();
    let unit = match plan {
        Plan::Search => "budget",
        Plan::Sweep(_) => "evaluations",
    };
    let bars = Bars {
        study: multi.add(
            ProgressBar::new(0).with_style(
                ProgressStyle::with_template(&format!(
                    "{{spinner}} [{{elapsed_precise}}] study {{bar:24}} {{pos}}/{{len}} {unit}  {{msg}}"
                ))
                .expect("valid template"),
            ),
        ),
        train: multi.add(
            ProgressBar::new(0).with_style(
                ProgressStyle::with_template("  {bar:24} {pos}/{len} steps  {msg}")
                    .expect("valid template"),
            ),
        ),
    };
    let (mut graph, outcome) = study::run_study(graph, &paths.study, &execution, &bars, plan);
    bars.train.finish_and_clear();
    bars.study.finish_and_clear();
    let record = record_run(&paths.study, graph.runner());
    let outcome = match outcome {
        Err(e) if e.downcast_ref::<Interrupted>().is_some() => {
            record?;
            eprintln!(
                "interrupted: every finished evaluation is in {}; run the same command again \
                 to resume where it stopped",
                paths.study.join("evaluations").display()
            );
            std::process::exit(130);
        }
        other => other?,
    };
    record?;
    print_summary(
        &cfg,
        &paths,
        &graph,
        &outcome,
        started.elapsed().as_secs_f64(),
    );
    crate::report::compute_inputs(&mut graph, &paths.study)?;
    let report = crate::report::write_report(&mut graph, &paths.study, &[])?;
    println!("report:    {}", report.join("index.html").display());
    Ok(())
}

/// The end-of-run summary: what ran, the Pareto designs, the cost and where things are.
fn print_summary(
    cfg: &ValidConfig,
    paths: &Paths,
    graph: &Graph,
    outcome: &StudyOutcome,
    seconds: f64,
) {
    println!("study {:?} ({seconds:.1} s)", cfg.study.name);
    for (stage, cached, computed) in graph.runner().summary() {
        println!("  {stage:<16} {cached:>4} cached  {computed:>4} computed");
    }
    let meta = graph.meta();
    println!(
        "dataset: {} train + {} test images, {}x{}, {} classes",
        meta.train_images,
        meta.test_images,
        meta.height,
        meta.width,
        meta.classes.len()
    );
    let rows = &outcome.rows;
    let failed = rows.iter().filter(|r| r.status != STATUS_OK).count();
    println!(
        "evaluations: {} in the sequence: {} computed now, {} reused from the cache, {} already \
         in the ledger; {failed} failed",
        rows.len(),
        outcome.computed,
        outcome.reused,
        outcome.from_ledger
    );
    let unit = if cfg.budget.epochs.is_some() {
        "epochs"
    } else if cfg.budget.iterations.is_some() {
        "evaluations"
    } else {
        "seconds"
    };
    let cost_s: f64 = rows.iter().map(|r| r.cost_s).sum();
    println!(
        "budget spent: {:.0} {unit}; measured compute {cost_s:.1} s",
        outcome.spent
    );
    let front = front::pareto(rows, OBJECTIVES);
    println!(
        "full-fidelity Pareto set of {} ({} designs, hypervolume {:.4e}, {:.1} % of the \
         reference box):",
        cfg.model.name,
        front.indices.len(),
        front.hypervolume,
        100.0 * front.share
    );
    print!("{}", front::table(rows, &front, OBJECTIVES));
    println!("study dir: {}", paths.study.display());
    println!("ledger:    {}", paths.study.join("evaluations").display());
    println!("cache:     {}", paths.cache.display());
}

/// The study's problem is fixed at its first run (`study.json`); a later run whose config
/// changes it is refused, or, with `--new-study`, starts afresh after archiving the old
/// study's whole state under `archive/<unix time>/`. The snapshot also records the store
/// the study runs on (absolute), so that later commands find it without `--cache`.
fn check_study_snapshot(cfg: &StudyConfig, paths: &Paths, new_study: bool) -> Result<()> {
    let study = &paths.study;
    finish_interrupted_archives(study)?;
    let path = study.join(STUDY_SNAPSHOT);
    let store = std::path::absolute(&paths.cache)
        .with_context(|| format!("--cache {}", paths.cache.display()))?;
    let snapshot = serde_json::json!({
        "problem": cfg.problem_fingerprint(),
        "config": cfg,
        "store": store,
    });
    if path.exists() {
        let old: serde_json::Value = serde_json::from_slice(&fs::read(&path)?)
            .with_context(|| format!("{} is corrupted", path.display()))?;
        if old["problem"] == snapshot["problem"] {
            if old["store"] != snapshot["store"] {
                let mut moved = old;
                moved["store"] = snapshot["store"].clone();
                cache::atomic::write_atomic(&path, &serde_json::to_vec_pretty(&moved)?)?;
            }
            return Ok(());
        }
        if !new_study {
            bail!(
                "study {} was run with a different problem (data set, model, design space, noise, \
                 PPA constants, fidelity or seed); pass --new-study to archive its ledger and start \
                 afresh, or use another --study directory",
                study.display()
            );
        }
        let archive = archive_study(study)?;
        println!("archived the previous study under {}", archive.display());
    }
    cache::atomic::write_atomic(&path, &serde_json::to_vec_pretty(&snapshot)?)
}

/// What a study directory holds besides its lock and its archive: everything
/// `--new-study` archives. `study.json` is last, so a study is archived before it
/// loses its identity.
const STUDY_STATE: [&str; 8] = [
    "evaluations",
    "metrics",
    "runs",
    "proposals",
    "tasks",
    "slurm",
    "report",
    STUDY_SNAPSHOT,
];

/// Suffix of an archive being written: it holds what has been moved so far.
const PARTIAL: &str = ".partial";

/// Moves the study's whole state into `archive/<unix time>/`: into a `.partial`
/// directory first, then renamed whole, so that a kill at any moment leaves either the
/// study as it was plus a partial archive that the next run completes
/// ([`finish_interrupted_archives`]), or the finished archive.
fn archive_study(study: &Path) -> Result<PathBuf> {
    let stamp = SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs();
    let root = study.join("archive");
    let mut name = stamp.to_string();
    while root.join(&name).exists() || root.join(format!("{name}{PARTIAL}")).exists() {
        name.push('b');
    }
    let partial = root.join(format!("{name}{PARTIAL}"));
    fs::create_dir_all(&partial)
        .with_context(|| format!("creating the archive {}", partial.display()))?;
    cache::atomic::sync_dir(&root)?;
    complete_archive(study, &partial)
}

/// Moves what is left of the study's state into the partial archive `partial`, then
/// renames it to its final name.
fn complete_archive(study: &Path, partial: &Path) -> Result<PathBuf> {
    for entry in STUDY_STATE {
        let from = study.join(entry);
        if from.exists() {
            fs::rename(&from, partial.join(entry))
                .with_context(|| format!("archiving {}", from.display()))?;
        }
    }
    cache::atomic::sync_dir(study)?;
    let name = partial.file_name().unwrap_or_default().to_string_lossy();
    let done = partial.with_file_name(name.trim_end_matches(PARTIAL));
    fs::rename(partial, &done)
        .with_context(|| format!("finishing the archive {}", done.display()))?;
    cache::atomic::sync_dir(partial.parent().unwrap_or(study))?;
    Ok(done)
}

/// Completes an archive that a killed `--new-study` run left partial.
fn finish_interrupted_archives(study: &Path) -> Result<()> {
    let Ok(entries) = fs::read_dir(study.join("archive")) else {
        return Ok(());
    };
    for entry in entries {
        let path = entry?.path();
        if path.to_string_lossy().ends_with(PARTIAL) && path.is_dir() {
            let done = complete_archive(study, &path)?;
            eprintln!("completed the interrupted archive {}", done.display());
        }
    }
    Ok(())
}
