//! What every study command starts from: its arguments, the config and paths they
//! resolve to, the ledger's rows, and the record of a run's nodes.

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::record::EvaluationRow;
use anyhow::{bail, Result};
use clap::Args;

use crate::config::{Paths, StudyConfig};
use crate::runner::Runner;
use crate::tables;

/// Where a study lives.
#[derive(Args, Debug, Clone)]
pub struct StudyArgs {
    /// Study config (TOML). Default: the embedded default (`pipeline init` writes it out).
    #[arg(long, env = "XBAR_CONFIG")]
    pub config: Option<PathBuf>,
    /// Study directory (ledger, lock). Default: ./studies/<study.name>.
    #[arg(long, env = "XBAR_STUDY")]
    pub study: Option<PathBuf>,
    /// Shared content-addressed store. Default: $XDG_CACHE_HOME/xbar-opt or ~/.cache/xbar-opt.
    #[arg(long, env = "XBAR_CACHE")]
    pub cache: Option<PathBuf>,
}

/// Where a study's ledger is, for the commands that read only the ledger (no store).
#[derive(Args, Debug, Clone)]
pub struct LedgerArgs {
    /// Study config (TOML), for the default study directory. Default: the embedded
    /// default.
    #[arg(long, env = "XBAR_CONFIG")]
    pub config: Option<PathBuf>,
    /// Study directory. Default: ./studies/<study.name>.
    #[arg(long, env = "XBAR_STUDY")]
    pub study: Option<PathBuf>,
}

impl LedgerArgs {
    /// As study arguments, with the default store.
    pub fn study_args(&self) -> StudyArgs {
        StudyArgs {
            config: self.config.clone(),
            study: self.study.clone(),
            cache: None,
        }
    }
}

/// Loads the config and resolves the paths of a study command.
pub fn study_setup(args: &StudyArgs) -> Result<(StudyConfig, Paths)> {
    let cfg = match &args.config {
        Some(path) => StudyConfig::load(path)?,
        None => StudyConfig::default_config(),
    };
    let paths = Paths::resolve(args.study.clone(), args.cache.clone(), &cfg);
    Ok((cfg, paths))
}

/// A study's ledger rows; corrupted parts are skipped with a warning naming the file
/// (and listed in the second value).
pub fn read_ledger(study: &Path) -> Result<(Vec<EvaluationRow>, Vec<String>)> {
    require_study(study)?;
    // Each skipped part is logged once, as a warning, by the read itself.
    crate::results::study_rows(study)
}

/// An error unless a study directory exists at `study`.
pub fn require_study(study: &Path) -> Result<()> {
    if !study.is_dir() {
        bail!(
            "no study at {}: run `pipeline run` first, or pass --study DIR",
            study.display()
        );
    }
    Ok(())
}

/// Appends this run's node records to `<study>/runs/`.
pub fn record_run(study: &Path, runner: &Runner) -> Result<()> {
    if runner.runs.is_empty() {
        return Ok(());
    }
    let now = SystemTime::now().duration_since(UNIX_EPOCH)?.as_millis();
    let run_id = format!("{now}-{}-{}", cache::host::host_name(), std::process::id());
    let path = study.join("runs").join(format!("run-{run_id}.parquet"));
    let batch = tables::runs_batch(&run_id, &runner.runs)?;
    cache::table::write_parquet_atomic(&path, &tables::runs_schema(), &[batch])
}
