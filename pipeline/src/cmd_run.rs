//! `pipeline run` and `pipeline init`.

use std::collections::BTreeSet;
use std::fs;
use std::path::Path;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context, Result};
use cache::{Store, StudyLock};
use indicatif::{ProgressBar, ProgressStyle};

use crate::config::{Paths, StudyConfig, DEFAULT_CONFIG};
use crate::dag::{self, design_label};
use crate::runner::Runner;
use crate::{tables, StudyArgs};

/// The stages `--recompute` accepts.
const STAGES: [&str; 3] = [
    stages::dataset::STAGE,
    stages::crossbar::STAGE,
    stages::ppa::STAGE,
];

/// Loads the config and resolves the paths of a study command.
pub fn study_setup(args: &StudyArgs) -> Result<(StudyConfig, Paths)> {
    let cfg = match &args.config {
        Some(path) => StudyConfig::load(path)?,
        None => StudyConfig::default_config(),
    };
    let paths = Paths::resolve(args.study.clone(), args.cache.clone(), &cfg);
    Ok((cfg, paths))
}

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

/// `pipeline run`.
pub fn run(args: &StudyArgs, recompute: &[String], new_study: bool) -> Result<()> {
    for stage in recompute {
        if !STAGES.contains(&stage.as_str()) {
            bail!(
                "--recompute {stage}: unknown stage; the stages are {}",
                STAGES.join(", ")
            );
        }
    }
    let (cfg, paths) = study_setup(args)?;
    let _lock = StudyLock::acquire(&paths.study)?;
    check_study_snapshot(&cfg, &paths.study, new_study)?;
    let store = Store::open(&paths.cache)?;
    let mut runner = Runner::new(store, recompute.iter().cloned().collect::<BTreeSet<_>>());
    let started = Instant::now();
    let progress = ProgressBar::new(0).with_style(
        ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} stage outputs",
        )
        .expect("valid template"),
    );
    let outputs = dag::run_study(&cfg, &mut runner, &progress);
    progress.finish_and_clear();
    let record = record_run(&paths.study, &runner);
    let outputs = outputs?;
    record?;

    println!(
        "study {:?} ({:.1} s)",
        cfg.study.name,
        started.elapsed().as_secs_f64()
    );
    for (stage, cached, computed) in runner.summary() {
        let note = if computed == 0 {
            "  (nothing to do)"
        } else {
            ""
        };
        println!("  {stage:<14} {cached:>3} cached  {computed:>3} computed{note}");
    }
    let meta = &outputs.dataset.1;
    println!(
        "dataset: {} train + {} test images, {}x{}, {} classes",
        meta.train_images,
        meta.test_images,
        meta.height,
        meta.width,
        meta.classes.len()
    );
    println!(
        "initial designs ({}), PPA of {}:",
        outputs.designs.len(),
        cfg.model.name
    );
    println!(
        "  {:<32} {:>12} {:>12} {:>12}",
        "design", "area mm^2", "latency us", "energy uJ"
    );
    for (design, _, ppa) in &outputs.designs {
        let report: serde_json::Value = serde_json::from_slice(&ppa.read("report.json")?)?;
        let get = |k: &str| report[k].as_f64().unwrap_or(f64::NAN);
        println!(
            "  {:<32} {:>12.3} {:>12.3} {:>12.3}",
            design_label(design),
            get("area_um2") / 1e6,
            get("latency_ns") / 1e3,
            get("energy_pj") / 1e6
        );
    }
    println!("study dir: {}", paths.study.display());
    println!("ledger:    {}", paths.study.join("evaluations").display());
    println!("cache:     {}", paths.cache.display());
    Ok(())
}

/// The study's problem is fixed at its first run (`study.json`); a later run whose config
/// changes it is refused, or, with `--new-study`, starts afresh after archiving the old
/// ledger under `archive/<unix time>/`.
fn check_study_snapshot(cfg: &StudyConfig, study: &Path, new_study: bool) -> Result<()> {
    let path = study.join("study.json");
    let snapshot = serde_json::json!({
        "problem": cfg.problem_fingerprint(),
        "config": cfg,
    });
    if path.exists() {
        let old: serde_json::Value = serde_json::from_slice(&fs::read(&path)?)
            .with_context(|| format!("{} is corrupted", path.display()))?;
        if old["problem"] == snapshot["problem"] {
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
        let stamp = SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs();
        let archive = study.join("archive").join(stamp.to_string());
        fs::create_dir_all(&archive)?;
        for entry in ["study.json", "evaluations", "metrics", "runs"] {
            let from = study.join(entry);
            if from.exists() {
                fs::rename(&from, archive.join(entry))?;
            }
        }
        println!("archived the previous study under {}", archive.display());
    }
    cache::atomic::write_atomic(&path, &serde_json::to_vec_pretty(&snapshot)?)
}

/// Appends this run's node records to `<study>/runs/`.
fn record_run(study: &Path, runner: &Runner) -> Result<()> {
    if runner.runs.is_empty() {
        return Ok(());
    }
    let now = SystemTime::now().duration_since(UNIX_EPOCH)?.as_millis();
    let run_id = format!("{now}-{}", std::process::id());
    let path = study.join("runs").join(format!("run-{run_id}.parquet"));
    let batch = tables::runs_batch(&run_id, &runner.runs)?;
    cache::table::write_parquet_atomic(&path, &tables::runs_schema(), &[batch])
}
