//! `pipeline run`, `pipeline init`, `pipeline slurm-script` and `pipeline report`.

use std::collections::BTreeSet;
use std::fs;
use std::path::Path;

use anyhow::{bail, Result};
use cache::Store;

use crate::batch::Batch;
use crate::config::DEFAULT_CONFIG;
use crate::dag::Graph;
use crate::runner::{NotStored, Runner};
use crate::session::{self, ExecutionArgs, SlurmArgs, POLL_S};
use crate::setup::{ran_study_setup, study_setup, StudyArgs};
use crate::study::Plan;

/// `pipeline init`: writes the commented default config.
pub fn init(path: &Path, force: bool) -> Result<()> {
    if path.exists() && !force {
        bail!(
            "{} already exists; pass --force to overwrite it",
            path.display()
        );
    }
    cache::atomic::write_atomic(path, DEFAULT_CONFIG.as_bytes())?;
    println!("wrote the default study config to {}", path.display());
    println!("edit it, then: pipeline run --config {}", path.display());
    Ok(())
}

/// `pipeline slurm-script`: the sbatch script of the study's unfinished tasks.
pub fn slurm_script(args: &StudyArgs, slurm: &SlurmArgs) -> Result<()> {
    let (_, paths) = study_setup(args)?;
    let mut tasks: Vec<String> = Vec::new();
    if let Ok(entries) = fs::read_dir(crate::worker::tasks_dir(&paths.study)) {
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with(cache::atomic::TEMP_PREFIX) {
                continue; // Debris of an interrupted write, not a task.
            }
            if let Some(id) = name.strip_suffix(".json") {
                if !id.ends_with(".done") && crate::worker::read_result(&paths.study, id).is_none()
                {
                    tasks.push(id.to_string());
                }
            }
        }
    }
    tasks.sort();
    if tasks.is_empty() {
        eprintln!(
            "no unfinished tasks under {}: the script below has an empty task list; \
             `pipeline run --executor slurm` writes the tasks of each batch",
            crate::worker::tasks_dir(&paths.study).display()
        );
    }
    let batch = Batch {
        study: std::path::absolute(&paths.study)?,
        cache: std::path::absolute(&paths.cache)?,
        name: "pending".to_string(),
        tasks,
    };
    let exe = std::env::current_exe()?;
    print!(
        "{}",
        crate::slurm::script(&slurm.options(POLL_S), &batch, &exe)?
    );
    Ok(())
}

/// `pipeline run`.
pub fn run(
    args: &StudyArgs,
    recompute: &[String],
    new_study: bool,
    execution: &ExecutionArgs,
) -> Result<()> {
    session::execute(args, recompute, new_study, execution, Plan::Search)
}

/// `pipeline report`: the report of a study (its config from `study.json`), optionally
/// compared with other studies.
pub fn report(args: &StudyArgs, compare: &[std::path::PathBuf]) -> Result<()> {
    let (cfg, paths) = ran_study_setup(args)?;
    let store = Store::open(&paths.cache)?;
    // The report reads what is stored and computes nothing.
    let mut runner = Runner::new(store, BTreeSet::new());
    runner.set_read_only();
    let mut graph = Graph::open(&cfg, runner).map_err(|e| match e.downcast_ref::<NotStored>() {
        Some(_) => anyhow::anyhow!(
            "the data set of study {} is not in the store {}: the report computes nothing; \
             pass --cache with the store the study ran on, or run `pipeline run` on this \
             store first",
            paths.study.display(),
            paths.cache.display()
        ),
        None => e,
    })?;
    let dir = crate::report::write_report(&mut graph, &paths.study, compare)?;
    println!("report: {}", dir.join("index.html").display());
    println!("        {}", dir.join("summary.md").display());
    println!("        {}", dir.join("pareto.csv").display());
    Ok(())
}
