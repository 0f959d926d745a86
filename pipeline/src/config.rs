//! The study configuration: one TOML file (see `configs/default.toml`, which is also the
//! embedded default), parsed with `deny_unknown_fields` and checked so that every bad
//! value gets a one-line error naming its key.

use std::path::{Path, PathBuf};

use anyhow::{bail, ensure, Context, Result};
use optimizer::cf_mesmo::StepConfig;
use optimizer::strategy::StrategyKind;
use serde::{Deserialize, Serialize};
use stages::arch::ModelName;
use stages::crossbar::{self, NoiseParams};
use stages::dataset::{DataSource, DatasetParams};
use stages::design::{DesignSpace, Variable};
use stages::ppa::neurosim::{self, ClockPolicy};
use stages::ppa::{PpaModel, PpaParams};
use stages::training::params::{NoiseStrategy, TrainingParams};

/// The embedded default configuration, commented.
pub const DEFAULT_CONFIG: &str = include_str!("../../configs/default.toml");

/// One study.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StudyConfig {
    /// Name, seed, strategy.
    pub study: StudySection,
    /// The data set.
    pub dataset: DatasetSection,
    /// The DNN.
    pub model: ModelSection,
    /// The crossbar design space.
    pub design_space: DesignSpace,
    /// Noise-model device constants.
    #[serde(default)]
    pub noise: NoiseParams,
    /// Fidelity range in epochs.
    pub fidelity: FidelityRange,
    /// Constants of the PPA model (defaults documented in `stages::ppa`).
    #[serde(default)]
    pub ppa: PpaParams,
    /// Training: the noise strategy and the SGD recipe (defaults in
    /// `stages::training::params`).
    #[serde(default)]
    pub training: TrainingParams,
    /// When to stop.
    pub budget: Budget,
    /// The initial design.
    pub initial: InitialDesign,
    /// Settings of the search strategies.
    #[serde(default)]
    pub optimizer: OptimizerParams,
    /// What the report computes beyond the ledger.
    #[serde(default)]
    pub report: ReportParams,
}

/// `[report]`: the evidence the report adds to the ledger, computed by `pipeline run`
/// (under the study's lock) and read by `pipeline report` and `pipeline status`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ReportParams {
    /// The controls each Pareto design is also trained with (same recipe and epochs)
    /// and compared on, paired over the noise draws, besides the noise-unaware baseline
    /// (always: it trains nothing): `noise_free` (the same fine-tuning without noise,
    /// which separates what noise awareness brings from what the extra epochs bring),
    /// `gaussian`, `programming_only`. Each costs one more fine-tuning per Pareto
    /// design.
    pub controls: Vec<NoiseStrategy>,
}

impl Default for ReportParams {
    fn default() -> Self {
        ReportParams {
            controls: vec![NoiseStrategy::NoiseFree],
        }
    }
}

impl ReportParams {
    /// Each control fine-tunes, is named once and is not the study's own strategy.
    fn validate(&self, ours: NoiseStrategy) -> Result<()> {
        for (i, c) in self.controls.iter().enumerate() {
            ensure!(
                c.fine_tunes(),
                "report.controls: {} is always a control (it trains nothing); list only                  strategies that fine-tune",
                c.as_str()
            );
            ensure!(
                *c != ours,
                "report.controls: {} is the study's own training.strategy",
                c.as_str()
            );
            ensure!(
                !self.controls[..i].contains(c),
                "report.controls: {} is named twice",
                c.as_str()
            );
        }
        Ok(())
    }
}

/// `[optimizer]`: settings of the search strategies.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OptimizerParams {
    /// NSGA-II population size (the `nsga2` strategy).
    pub nsga2_population: usize,
    /// Most designs of the predicted Pareto set evaluated at full fidelity after the
    /// budget is spent (`cf_mesmo`, `mesmo`).
    pub final_evaluations: usize,
    /// The CF-MESMO step (`[optimizer.cf_mesmo]`): posterior samples, random Fourier
    /// features, candidate pool, GP restarts.
    pub cf_mesmo: StepConfig,
    /// The cost model the step divides the information gain by (`[optimizer.cost]`).
    pub cost: CostModel,
}

impl Default for OptimizerParams {
    fn default() -> Self {
        OptimizerParams {
            nsga2_population: 8,
            final_evaluations: 3,
            cf_mesmo: StepConfig::default(),
            cost: CostModel::default(),
        }
    }
}

/// `[optimizer.cost]`: an evaluation costs a fixed overhead (setting up, noisy inference)
/// plus the training epochs it adds: a warm start from a cached checkpoint of the same
/// design pays only the epochs beyond it. In units of epochs, normalised so that a cold
/// full-fidelity evaluation costs 1.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CostModel {
    /// The fixed overhead, in epochs of training.
    pub overhead_epochs: f64,
    /// Fit the overhead to the measured `cost_s` of the study's rows (least squares of
    /// seconds on epochs added; the configured value until the rows identify it). The
    /// decisions then depend on the machine's timings: a resumed study still replays
    /// exactly (its rows are read back), a fresh one elsewhere may decide differently.
    pub fit: bool,
}

impl Default for CostModel {
    fn default() -> Self {
        CostModel {
            overhead_epochs: 0.5,
            fit: false,
        }
    }
}

/// `[study]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StudySection {
    /// The study's name.
    pub name: String,
    /// The seed of every random choice.
    pub seed: u64,
    /// The search strategy.
    pub strategy: StrategyKind,
}

/// Data set formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DatasetFormat {
    /// The mini CIFAR-10 compiled into the binary.
    Embedded,
    /// Hugging Face-style image Parquet (`train`, `test`).
    HfParquet,
    /// The official CIFAR-10 binary batches (`dir`).
    Cifar10Binary,
    /// `train/<class>/*` and `test/<class>/*` images (`dir`).
    ImageFolder,
}

impl DatasetFormat {
    /// Its name in the config (`dataset.format`).
    pub fn as_str(self) -> &'static str {
        match self {
            DatasetFormat::Embedded => "embedded",
            DatasetFormat::HfParquet => "hf_parquet",
            DatasetFormat::Cifar10Binary => "cifar10_binary",
            DatasetFormat::ImageFolder => "image_folder",
        }
    }
}

/// `[dataset]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatasetSection {
    /// The format.
    pub format: DatasetFormat,
    /// Training file (`hf_parquet`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub train: Option<PathBuf>,
    /// Test file (`hf_parquet`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test: Option<PathBuf>,
    /// Directory (`cifar10_binary`, `image_folder`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dir: Option<PathBuf>,
    /// Keep this many training images, chosen by seed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub train_subset: Option<usize>,
    /// Keep this many test images, chosen by seed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test_subset: Option<usize>,
}

impl DatasetSection {
    /// The dataset stage's parameters; checks that the format's paths are given and exist.
    pub fn params(&self) -> Result<DatasetParams> {
        let need = |p: &Option<PathBuf>, key: &str| -> Result<PathBuf> {
            let p = p.clone().with_context(|| {
                format!(
                    "dataset.{key} is required for format {:?}",
                    self.format.as_str()
                )
            })?;
            exists(&p, &format!("dataset.{key}"))?;
            Ok(p)
        };
        let unused = |p: &Option<PathBuf>, key: &str| -> Result<()> {
            ensure!(
                p.is_none(),
                "dataset.{key} is not used by format {:?}",
                self.format.as_str()
            );
            Ok(())
        };
        let source = match self.format {
            DatasetFormat::Embedded => {
                unused(&self.train, "train")?;
                unused(&self.test, "test")?;
                unused(&self.dir, "dir")?;
                DataSource::Embedded
            }
            DatasetFormat::HfParquet => {
                unused(&self.dir, "dir")?;
                DataSource::HfParquet {
                    train: need(&self.train, "train")?,
                    test: need(&self.test, "test")?,
                }
            }
            DatasetFormat::Cifar10Binary | DatasetFormat::ImageFolder => {
                unused(&self.train, "train")?;
                unused(&self.test, "test")?;
                let dir = need(&self.dir, "dir")?;
                if self.format == DatasetFormat::Cifar10Binary {
                    DataSource::Cifar10Binary { dir }
                } else {
                    DataSource::ImageFolder { dir }
                }
            }
        };
        for (n, key) in [
            (self.train_subset, "train_subset"),
            (self.test_subset, "test_subset"),
        ] {
            ensure!(n != Some(0), "dataset.{key} must be at least 1");
        }
        Ok(DatasetParams {
            source,
            train_subset: self.train_subset,
            test_subset: self.test_subset,
        })
    }
}

/// `[model]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelSection {
    /// The network.
    pub name: ModelName,
}

/// Checks `[design_space]`: its form, then every grid value at both ends of every range,
/// as designs: their physical ranges, the PPA models' limits and what the noise model
/// needs.
fn check_design_space(space: &DesignSpace, noise: &NoiseParams) -> Result<()> {
    space
        .check_form()
        .map_err(|e| anyhow::anyhow!("design_space.{e}"))?;
    for design in space.corners() {
        crossbar::validate_design(&design, noise)
            .and_then(|()| Ok(stages::ppa::validate_design(&design)?))
            .map_err(|e| anyhow::anyhow!("design_space.{e}"))?;
    }
    Ok(())
}

/// The most fine-tuning epochs a study may ask for (a bound against a typo that would
/// allocate a schedule for billions of epochs).
const MAX_EPOCHS: u32 = 10_000;

/// `[fidelity]`: training epochs.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FidelityRange {
    /// Lowest fidelity, epochs.
    pub min_epochs: u32,
    /// Full fidelity, epochs.
    pub max_epochs: u32,
}

/// `[budget]`: exactly one of the three.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Budget {
    /// Total training epochs (deterministic; the default kind).
    pub epochs: Option<u64>,
    /// Optimiser iterations.
    pub iterations: Option<u64>,
    /// Wall-clock seconds (not replayable).
    pub seconds: Option<f64>,
}

/// `[initial]`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InitialDesign {
    /// Number of space-filling initial designs, evaluated at the lowest fidelity
    /// (`cf_mesmo`) or at full fidelity (the single-fidelity strategies).
    pub designs: usize,
    /// Further space-filling designs evaluated at full fidelity.
    #[serde(default)]
    pub full_fidelity: usize,
}

/// A config that passed every check ([`StudyConfig::check`]): what the graph, the
/// study, the commands and the worker take. It reads as the config (`Deref`); a change
/// goes back through [`ValidConfig::into_inner`] and `check`, so no unchecked value
/// reaches a stage.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(transparent)]
pub struct ValidConfig(StudyConfig);

impl std::ops::Deref for ValidConfig {
    type Target = StudyConfig;

    fn deref(&self) -> &StudyConfig {
        &self.0
    }
}

impl ValidConfig {
    /// The config, to change and check again.
    pub fn into_inner(self) -> StudyConfig {
        self.0
    }
}

impl StudyConfig {
    /// The embedded default.
    pub fn default_config() -> ValidConfig {
        StudyConfig::parse(DEFAULT_CONFIG, "the embedded default config")
            .expect("the embedded default config is valid")
    }

    /// Parses and checks TOML text; `origin` names it in errors.
    pub fn parse(text: &str, origin: &str) -> Result<ValidConfig> {
        let cfg: StudyConfig = toml::from_str(text).map_err(|e| {
            let msg = e.message().to_string();
            let location = e
                .span()
                .map(|s| {
                    let line = text[..s.start].lines().count().max(1);
                    format!(" (line {line})")
                })
                .unwrap_or_default();
            anyhow::anyhow!("{origin}{location}: {msg}")
        })?;
        cfg.check().with_context(|| origin.to_string())
    }

    /// Reads and checks a config file.
    pub fn load(path: &Path) -> Result<ValidConfig> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("config file {} cannot be read", path.display()))?;
        StudyConfig::parse(&text, &path.display().to_string())
    }

    /// Checks every value (the message names the key): the only way to a
    /// [`ValidConfig`].
    pub fn check(self) -> Result<ValidConfig> {
        self.validate()?;
        Ok(ValidConfig(self))
    }

    fn validate(&self) -> Result<()> {
        let name = &self.study.name;
        ensure!(
            !name.is_empty()
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
                && !name.starts_with('.'),
            "study.name {name:?} must be non-empty and use only letters, digits, '-', '_' and '.'"
        );
        ensure!(
            i64::try_from(self.study.seed).is_ok(),
            "study.seed must be at most {} (the ledger stores it as a signed 64-bit integer, \
             which every Parquet reader takes), got {}",
            i64::MAX,
            self.study.seed
        );
        self.noise.validate()?;
        self.training.validate()?;
        self.report.validate(self.training.strategy)?;
        self.ppa
            .validate()
            .map_err(|e| anyhow::anyhow!("[ppa] {e}"))?;
        check_design_space(&self.design_space, &self.noise)?;
        self.check_clock()?;
        let f = self.fidelity;
        ensure!(
            f.min_epochs >= 1,
            "fidelity.min_epochs must be at least 1, got {}",
            f.min_epochs
        );
        ensure!(
            f.max_epochs <= MAX_EPOCHS,
            "fidelity.max_epochs must be at most {MAX_EPOCHS}, got {}",
            f.max_epochs
        );
        ensure!(
            f.min_epochs <= f.max_epochs,
            "fidelity: min_epochs ({}) is greater than max_epochs ({})",
            f.min_epochs,
            f.max_epochs
        );
        let b = self.budget;
        let set = [
            b.epochs.is_some(),
            b.iterations.is_some(),
            b.seconds.is_some(),
        ];
        ensure!(
            set.iter().filter(|s| **s).count() == 1,
            "budget: set exactly one of epochs, iterations or seconds"
        );
        ensure!(
            b.epochs != Some(0),
            "budget.epochs must be at least 1, got 0"
        );
        ensure!(
            b.iterations != Some(0),
            "budget.iterations must be at least 1, got 0"
        );
        if let Some(s) = b.seconds {
            ensure!(
                s.is_finite() && s > 0.0,
                "budget.seconds must be positive, got {s}"
            );
        }
        ensure!(
            self.initial.designs + self.initial.full_fidelity >= 2,
            "initial: designs + full_fidelity must be at least 2 (the surrogates need two points)"
        );
        ensure!(
            (2..=10_000).contains(&self.optimizer.nsga2_population),
            "optimizer.nsga2_population must be in 2..=10000, got {}",
            self.optimizer.nsga2_population
        );
        self.optimizer
            .cf_mesmo
            .validate()
            .map_err(|e| anyhow::anyhow!("optimizer.cf_mesmo.{e}"))?;
        let overhead = self.optimizer.cost.overhead_epochs;
        ensure!(
            overhead.is_finite() && (0.0..=1000.0).contains(&overhead),
            "optimizer.cost.overhead_epochs must be in [0, 1000] epochs, got {overhead}"
        );
        self.dataset.params()?;
        Ok(())
    }

    /// The `neurosim` PPA model's limits on the design space: temperatures its tables
    /// cover and, with `[ppa.neurosim] clock = "refuse"`, clocks its sense amplifiers
    /// can keep up with (checked on every grid combination at both ends of the
    /// temperature range, so that no strategy or sweep proposes a design it refuses).
    fn check_clock(&self) -> Result<()> {
        if self.ppa.model != PpaModel::Neurosim {
            return Ok(());
        }
        let s = &self.design_space;
        let temps = s.axis(Variable::TempK);
        let (cold, hot) = (temps.min(), temps.max());
        ensure!(
            cold >= 300.0 && hot <= 400.0,
            "design_space.temp_k: [{cold}, {hot}] K is outside 300..=400 K, the technology \
             tables of the neurosim PPA model",
        );
        if self.ppa.neurosim.clock != ClockPolicy::Refuse {
            return Ok(());
        }
        let fastest = s.axis(Variable::FreqHz).max();
        for d in s.corners().filter(|d| d.freq_hz == fastest) {
            let period = neurosim::sensing_period(&d, &self.ppa.neurosim)
                .map_err(|e| anyhow::anyhow!("[ppa] {e}"))?;
            ensure!(
                d.freq_hz * period <= 1.0,
                "design_space.freq_hz: max {:.4e} Hz is above the sensing-limited clock \
                 {:.4e} Hz of the {}-bit {size}x{size} design at {} K ([ppa.neurosim] \
                 clock = \"refuse\"); lower it or set clock = \"saturate\"",
                d.freq_hz,
                1.0 / period,
                d.cell_bits,
                d.temp_k,
                size = d.xbar_size,
            );
        }
        Ok(())
    }

    /// The part of the config that defines the study's problem: a change of it makes the
    /// evaluations already in the ledger belong to a different problem. The budget, the
    /// search strategy and the study name are not part of it.
    pub fn problem_fingerprint(&self) -> serde_json::Value {
        serde_json::json!({
            "dataset": self.dataset,
            "model": self.model,
            "design_space": self.design_space,
            "noise": self.noise,
            "ppa": self.ppa,
            "training": self.training,
            "fidelity": self.fidelity,
            "seed": self.study.seed,
        })
    }
}

fn exists(path: &Path, key: &str) -> Result<()> {
    if !path.exists() {
        bail!("{key}: {} does not exist", path.display());
    }
    Ok(())
}

/// Where a run reads and writes.
#[derive(Debug, Clone)]
pub struct Paths {
    /// The study directory (ledger, lock, config snapshot).
    pub study: PathBuf,
    /// The shared content-addressed store.
    pub cache: PathBuf,
}

/// A study's snapshot, in its directory: the problem it was first run with, its config
/// and the store it ran on (written by `pipeline run`).
pub const STUDY_SNAPSHOT: &str = "study.json";

impl Paths {
    /// Resolves the paths: flags or environment first, then the store the study last
    /// ran on (its [`STUDY_SNAPSHOT`]), then the defaults (`./studies/<name>` and
    /// `$XDG_CACHE_HOME/xbar-opt` or `~/.cache/xbar-opt`).
    pub fn resolve(study: Option<PathBuf>, cache: Option<PathBuf>, config: &StudyConfig) -> Paths {
        let study = study.unwrap_or_else(|| PathBuf::from("studies").join(&config.study.name));
        let cache = cache
            .or_else(|| remembered_store(&study))
            .unwrap_or_else(default_cache_dir);
        Paths { study, cache }
    }
}

/// The store a study last ran on, as its snapshot records it.
fn remembered_store(study: &Path) -> Option<PathBuf> {
    let bytes = std::fs::read(study.join(STUDY_SNAPSHOT)).ok()?;
    let snapshot: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    snapshot["store"].as_str().map(PathBuf::from)
}

/// The default store: `$XDG_CACHE_HOME/xbar-opt`, else `$HOME/.cache/xbar-opt`, else
/// `./.xbar-cache`.
pub fn default_cache_dir() -> PathBuf {
    std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .map(|d| d.join("xbar-opt"))
        .unwrap_or_else(|| PathBuf::from(".xbar-cache"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(edit: impl Fn(&str) -> String) -> Result<ValidConfig> {
        StudyConfig::parse(&edit(DEFAULT_CONFIG), "test.toml")
    }

    /// Every shipped config has the right keys and values (the paper's points at data
    /// outside the repository, so its paths are not checked here).
    #[test]
    fn the_shipped_configs_parse() {
        for text in [
            DEFAULT_CONFIG,
            include_str!("../../configs/paper-resnet20.toml"),
        ] {
            let cfg: StudyConfig = toml::from_str(text).unwrap();
            cfg.training.validate().unwrap();
            check_design_space(&cfg.design_space, &cfg.noise).unwrap();
        }
    }

    #[test]
    fn the_embedded_default_parses() {
        let c = StudyConfig::default_config();
        assert_eq!(c.model.name, ModelName::CnnSmall);
        assert_eq!(c.study.strategy, StrategyKind::CfMesmo);
        assert_eq!(c.dataset.params().unwrap().source, DataSource::Embedded);
    }

    #[test]
    fn bad_values_are_refused_naming_the_key() {
        let cases: [(&str, &str, &str); 27] = [
            (
                "controls = [\"noise_free\"]",
                "controls = [\"noise_unaware\"]",
                "report.controls: noise_unaware is always a control",
            ),
            (
                "controls = [\"noise_free\"]",
                "controls = [\"resna\"]",
                "report.controls: resna is the study's own training.strategy",
            ),
            (
                "controls = [\"noise_free\"]",
                "controls = [\"noise_free\", \"noise_free\"]",
                "report.controls: noise_free is named twice",
            ),
            (
                "controls = [\"noise_free\"]",
                "controls = [\"silence\"]",
                "silence",
            ),
            (
                "cell_bits = [1, 2, 3, 4, 5, 6, 7, 8]",
                "cell_bits = [0, 2]",
                "cell_bits",
            ),
            (
                "cell_bits = [1, 2, 3, 4, 5, 6, 7, 8]",
                "cell_bits = [9]",
                "cell_bits",
            ),
            ("min = 1.0e7", "min = -1.0", "freq_hz"),
            (
                "temp_k = { min = 300.0, max = 400.0 }",
                "temp_k = { min = 0.0, max = 400.0 }",
                "temp_k",
            ),
            ("min_epochs = 1", "min_epochs = 9", "min_epochs"),
            ("\nepochs = 25", "\nepochs = 25\nseconds = 5.0", "budget"),
            ("adc_bits = 5", "adc_bits = 17", "adc_bits"),
            (
                "adc_bits = 5",
                "adc_bits = [5, 17]",
                "design_space.adc_bits",
            ),
            (
                "adc_bits = 5",
                "adc_bits = []",
                "design_space.adc_bits is empty",
            ),
            (
                "read_voltage = 0.2",
                "read_voltage = { min = 0.1, max = 5.0 }",
                "design_space.read_voltage must be in (0, 3.3] V",
            ),
            (
                "temp_k = { min = 300.0, max = 400.0 }",
                "temp_k = { min = 300.0, max = 1e12 }",
                "design_space.temp_k must be in (0, 600] K",
            ),
            (
                "xbar_size = [32, 64, 128]",
                "xbar_size = [32, 2147483648]",
                "design_space.xbar_size must be a power of two in 2..=4096",
            ),
            ("g_min = 3.33e-7 ", "g_min = 3.33e-8 ", "g_min"),
            ("[initial]", "[initial]\ncolour = 3", "colour"),
            (
                "exhausted_gain = 0.0",
                "exhausted_gain = nan",
                "optimizer.cf_mesmo.exhausted_gain",
            ),
            (
                "exhausted_gain = 0.0",
                "exhausted_gain = -1.0",
                "optimizer.cf_mesmo.exhausted_gain",
            ),
            ("samples = 10", "samples = 0", "optimizer.cf_mesmo.samples"),
            ("n_start = 10", "n_start = 10\nn_strat = 3", "n_strat"),
            (
                "max_epochs = 4",
                "max_epochs = 4000000000",
                "fidelity.max_epochs",
            ),
            ("\nepochs = 25", "\nepochs = 0", "budget.epochs"),
            // The neurosim PPA model: its nodes, its temperatures, and with clock =
            // "refuse" a design space below every design's sensing-limited clock.
            (
                "tech_node_nm = 32",
                "tech_node_nm = 14",
                "neurosim.tech_node_nm",
            ),
            (
                "temp_k = { min = 300.0, max = 400.0 }",
                "temp_k = { min = 300.0, max = 420.0 }",
                "design_space.temp_k",
            ),
            (
                "clock = \"saturate\"",
                "clock = \"refuse\"",
                "design_space.freq_hz: max 1.0000e9 Hz is above the sensing-limited clock",
            ),
        ];
        for (from, to, key) in cases {
            assert!(DEFAULT_CONFIG.contains(from), "{from}");
            let err = format!("{:#}", with(|t| t.replacen(from, to, 1)).unwrap_err());
            assert!(err.contains(key), "{to}: {err}");
            assert!(err.contains("test.toml"), "{err}");
        }
    }

    #[test]
    fn a_design_space_below_the_sensing_limit_passes_with_clock_refuse() {
        let cfg = with(|t| {
            t.replace("clock = \"saturate\"", "clock = \"refuse\"")
                .replace("max = 1.0e9", "max = 2.5e8")
        })
        .unwrap();
        assert_eq!(cfg.design_space.axis(Variable::FreqHz).max(), 2.5e8);
    }

    #[test]
    fn unknown_model_and_missing_data_are_refused() {
        let err = format!(
            "{:#}",
            with(|t| t.replace("\"cnn_small\"", "\"resnet21\"")).unwrap_err()
        );
        assert!(err.contains("resnet21"), "{err}");
        let err = format!(
            "{:#}",
            with(|t| t.replace(
                "format = \"embedded\"",
                "format = \"cifar10_binary\"\ndir = \"/nonexistent/cifar\""
            ))
            .unwrap_err()
        );
        assert!(
            err.contains("dataset.dir") && err.contains("/nonexistent/cifar"),
            "{err}"
        );
    }

    #[test]
    fn every_design_variable_can_be_searched_or_fixed() {
        let cfg = with(|t| {
            t.replace("adc_bits = 5\n", "adc_bits = [4, 6]\n")
                .replace(
                    "read_voltage = 0.2\n",
                    "read_voltage = { min = 0.1, max = 0.3 }\n",
                )
                .replace("cell_bits = [1, 2, 3, 4, 5, 6, 7, 8]", "cell_bits = 4")
        })
        .unwrap();
        let s = &cfg.design_space;
        let searched: Vec<&str> = s.searched().iter().map(|(v, _)| v.name()).collect();
        assert_eq!(
            searched,
            ["xbar_size", "freq_hz", "temp_k", "adc_bits", "read_voltage"]
        );
        let d = s.decode(&[0.0, 0.0, 0.0, 0.9, 1.0]);
        assert_eq!((d.cell_bits, d.adc_bits, d.read_voltage), (4, 6, 0.3));
    }

    #[test]
    fn decode_covers_the_grids_and_ranges() {
        let s = StudyConfig::default_config().into_inner().design_space;
        let lo = s.decode(&[0.0; 4]);
        let hi = s.decode(&[1.0; 4]);
        assert_eq!((lo.cell_bits, lo.xbar_size), (1, 32));
        assert_eq!((hi.cell_bits, hi.xbar_size), (8, 128));
        assert!((lo.freq_hz - 1e7).abs() < 1e-3 && (hi.freq_hz - 1e9).abs() < 1e-1);
        let mid = s.decode(&[0.5; 4]);
        assert!(
            (mid.freq_hz - 1e8).abs() < 1.0,
            "log scale: {}",
            mid.freq_hz
        );
        assert!((mid.temp_k - 350.0).abs() < 1e-9);
    }
}
