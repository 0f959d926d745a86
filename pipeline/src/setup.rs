//! What every study command starts from: its arguments, the config and paths they
//! resolve to, the ledger's rows, and the record of a run's nodes.

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::record::EvaluationRow;
use anyhow::{anyhow, bail, Context, Result};
use clap::Args;
use stages::design::Design;

use crate::config::{Paths, StudyConfig, ValidConfig, STUDY_SNAPSHOT};
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

/// One design on the command line (`pipeline ppa`, `pipeline noise`): the searchable
/// variables, with the same defaults in every command; the device constants come from
/// the command (its config, or its own flags).
#[derive(Args, Debug, Clone)]
pub struct DesignArgs {
    /// Bits per cell (1..=8).
    #[arg(long, default_value_t = 2)]
    pub cell_bits: u8,
    /// Crossbar size (a power of two; the PPA models take 8..=4096).
    #[arg(long, default_value_t = 128)]
    pub xbar_size: u32,
    /// Operating frequency, Hz. Default: 500 MHz (`noise`; `ppa --ppa-model analytic`),
    /// the design's sensing-limited clock (`ppa`, neurosim).
    #[arg(long)]
    pub freq_hz: Option<f64>,
    /// Temperature, K.
    #[arg(long, default_value_t = 350.0)]
    pub temp_k: f64,
    /// ADC resolution, bits (2..=16). Default: the config's `design_space.adc_bits`, its
    /// first value where it is a grid (`noise`); 5 (`ppa`).
    #[arg(long)]
    pub adc_bits: Option<u8>,
}

impl DesignArgs {
    /// The design these flags give on `base` (its device constants, its ADC resolution
    /// where `--adc-bits` is absent) at `freq_hz` where `--freq-hz` is absent, checked
    /// against the physical ranges; an error names the flag.
    pub fn design(&self, base: Design, freq_hz: f64) -> Result<Design> {
        let design = Design {
            cell_bits: self.cell_bits,
            xbar_size: self.xbar_size,
            freq_hz: self.freq_hz.unwrap_or(freq_hz),
            temp_k: self.temp_k,
            adc_bits: self.adc_bits.unwrap_or(base.adc_bits),
            ..base
        };
        design
            .validate()
            .map_err(|e| anyhow!("--{}: {e}", e.key.replace('_', "-")))?;
        Ok(design)
    }
}

/// Loads the config and resolves the paths of a study command.
pub fn study_setup(args: &StudyArgs) -> Result<(ValidConfig, Paths)> {
    let cfg = match &args.config {
        Some(path) => StudyConfig::load(path)?,
        None => StudyConfig::default_config(),
    };
    let paths = Paths::resolve(args.study.clone(), args.cache.clone(), &cfg);
    Ok((cfg, paths))
}

/// The config a study was run with (its `study.json`), checked again.
pub fn study_config(study: &Path) -> Result<ValidConfig> {
    let path = study.join(STUDY_SNAPSHOT);
    let bytes = std::fs::read(&path)
        .with_context(|| format!("no study at {}: run `pipeline run` first", study.display()))?;
    let v: serde_json::Value = serde_json::from_slice(&bytes)
        .with_context(|| format!("{} is corrupted", path.display()))?;
    let config: StudyConfig = serde_json::from_value(v["config"].clone())
        .with_context(|| format!("{} holds no readable config", path.display()))?;
    config
        .check()
        .with_context(|| format!("the config in {}", path.display()))
}

/// The config and paths of a study that has run: `--config` where given, else the
/// config it recorded (its `study.json`), with the store it ran on.
pub fn ran_study_setup(args: &StudyArgs) -> Result<(ValidConfig, Paths)> {
    let (given, paths) = study_setup(args)?;
    let cfg = match args.config {
        Some(_) => given,
        None => study_config(&paths.study)?,
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
