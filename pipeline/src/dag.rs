//! The study's stage graph, declared in one place.
//!
//! ```text
//! dataset_prep ─> baseline_train ─────────┐
//! crossbar(design) ───────────────────────┼─> resna_train(design, epochs) ─> noisy_eval ─┐
//!                                         │     (warm start: same design, fewer epochs)  │
//! ppa(model, design) ─────────────────────┴──────────────────────────────> evaluation <─┘
//!                                                                              │ ledger
//!                      report <─ cf_mesmo_step <─ gp_fit(ledger rows) <────────┘
//! ```
//!
//! Each node is a cached stage output keyed on its parameters, its inputs' keys, its
//! code version and (where it draws random numbers) the seed; [`crate::runner::Runner`]
//! reuses verified outputs and computes the rest. The nodes are all here:
//! [`dataset_node`], [`baseline_node`], [`crossbar_node`], [`train_node`] (warm-started
//! from the same design's checkpoint at a lower fidelity), [`eval_node`] and
//! [`ppa_node`]. [`crate::evaluation`] chains them into one ledger row, and
//! [`crate::study`] runs the loop that chooses what to evaluate (GP fit and CF-MESMO
//! step, or a baseline strategy).

use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, Result};
use cache::{CacheKey, KeyInput, Object};
use candle_core::Device;
use indicatif::ProgressBar;
use serde::{Deserialize, Serialize};
use stages::crossbar;
use stages::crossbar_sim::Chip;
use stages::dataset;
use stages::design::Design;
use stages::optimizer::cf_mesmo::{fit_surrogates, Observation, StepProblem};
use stages::ppa;
use stages::training::{self, train::TrainState};

use crate::config::StudyConfig;
use crate::runner::Runner;
use crate::tables;

/// The GP fit stage's name.
pub const GP_FIT_STAGE: &str = "gp_fit";
/// Bumped whenever a change changes the GP fit's output.
const GP_FIT_CODE_VERSION: u32 = 1;
/// The hyperparameter file of a GP fit node.
const THETAS: &str = "thetas.json";

/// The checkpoint file of a training node.
const CHECKPOINT: &str = "checkpoint.safetensors";
/// The characterisation file of a crossbar node.
const CHARACTERISATION: &str = "characterisation.json";
/// The PPA node's report file.
const PPA_REPORT: &str = "report.json";
/// The summary file of a training or evaluation node.
pub const SUMMARY: &str = "summary.json";

/// What a prepared data set looks like, stored beside its tensors.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct DatasetMeta {
    /// Training images.
    pub train_images: usize,
    /// Test images.
    pub test_images: usize,
    /// Image side in pixels (images are square for the CIFAR models).
    pub height: usize,
    /// Image width in pixels.
    pub width: usize,
    /// Class names in label order.
    pub classes: Vec<String>,
}

/// Stage 1: dataset prep. Its key covers the files' contents (not their paths), the
/// subset sizes, and the seed only when a subset is drawn.
pub fn dataset_node(cfg: &StudyConfig, runner: &mut Runner) -> Result<(Object, DatasetMeta)> {
    let params = cfg.dataset.params()?;
    let fingerprint = dataset::fingerprint(&params.source)?;
    let subsampled = params.train_subset.is_some() || params.test_subset.is_some();
    let key_params = serde_json::json!({
        "format": cfg.dataset.format,
        "content": fingerprint,
        "train_subset": params.train_subset,
        "test_subset": params.test_subset,
    });
    let seed = if subsampled { cfg.study.seed } else { 0 };
    let input = KeyInput::new(
        dataset::STAGE,
        dataset::CODE_VERSION,
        &key_params,
        vec![],
        seed,
    )?;
    let label = format!("{:?}", cfg.dataset.format).to_lowercase();
    let object = runner.ensure(input, label, |w| {
        let ds = dataset::prepare(&params, seed)?;
        let meta = DatasetMeta {
            train_images: ds.train.len(),
            test_images: ds.test.len(),
            height: ds.train.height,
            width: ds.train.width,
            classes: ds.classes.clone(),
        };
        w.put("dataset.safetensors", &dataset::to_safetensors(&ds)?)?;
        w.put("meta.json", &serde_json::to_vec_pretty(&meta)?)
    })?;
    let meta = serde_json::from_slice(&object.read("meta.json")?).context("dataset meta.json")?;
    Ok((object, meta))
}

/// Stage 2: crossbar characterisation, the design's simulated chip under the noise
/// model: the whole design (the crossbar size and the ADC enter the simulation) and the
/// `[noise]` section; it draws no random numbers.
pub fn crossbar_node(cfg: &StudyConfig, design: &Design, runner: &mut Runner) -> Result<Object> {
    let key_params = serde_json::json!({
        "design": design,
        "noise": cfg.noise,
    });
    let input = KeyInput::new(
        crossbar::STAGE,
        crossbar::CODE_VERSION,
        &key_params,
        vec![],
        0,
    )?;
    runner.ensure(input, design_label(design), |w| {
        let c = crossbar::characterise(design, &cfg.noise)?;
        w.put(CHARACTERISATION, &serde_json::to_vec_pretty(&c)?)
    })
}

/// PPA estimation of the study's model on a design; deterministic.
pub fn ppa_node(
    cfg: &StudyConfig,
    design: &Design,
    data: &DatasetMeta,
    runner: &mut Runner,
) -> Result<Object> {
    let key_params = serde_json::json!({
        "model": cfg.model.name,
        "input_hw": data.height,
        "num_classes": data.classes.len(),
        "design": design,
        "ppa": cfg.ppa,
    });
    let input = KeyInput::new(ppa::STAGE, ppa::CODE_VERSION, &key_params, vec![], 0)?;
    runner.ensure(input, design_label(design), |w| {
        let report = ppa::estimate(
            cfg.model.name,
            data.height,
            data.classes.len(),
            design,
            &cfg.ppa,
        )?;
        w.put(PPA_REPORT, &serde_json::to_vec_pretty(&report)?)?;
        let table = tables::ppa_layers_batch(&report)?;
        w.put(
            "layers.parquet",
            &cache::table::to_parquet_bytes(&tables::ppa_layers_schema(), &[table])?,
        )
    })
}

/// The study's data set, prepared (or read from the store) and checked against the
/// model and the training memory: every input of a study, checked before the study's
/// own stored state is touched.
pub fn open_data(cfg: &StudyConfig, runner: &mut Runner) -> Result<LoadedData> {
    let (object, meta) = dataset_node(cfg, runner)?;
    let model = cfg.model.name;
    stages::arch::check_input(model, meta.height, meta.width, meta.classes.len())
        .map_err(|e| anyhow::anyhow!("model.name = {:?} and dataset: {e}", model.as_str()))?;
    cfg.training
        .check_memory(model, meta.height, meta.classes.len())?;
    Ok(LoadedData::new(object, meta))
}

/// The prepared data set, loaded from its object once per run.
pub struct LoadedData {
    /// The dataset object.
    pub object: Object,
    /// Its shape.
    pub meta: DatasetMeta,
    data: std::cell::OnceCell<dataset::PreparedDataset>,
}

impl LoadedData {
    /// Wraps the dataset node's output.
    pub fn new(object: Object, meta: DatasetMeta) -> LoadedData {
        LoadedData {
            object,
            meta,
            data: std::cell::OnceCell::new(),
        }
    }

    /// The images, read (and verified) from the cache on first use.
    pub fn get(&self) -> Result<&dataset::PreparedDataset> {
        if let Some(d) = self.data.get() {
            return Ok(d);
        }
        let d = dataset::from_safetensors(&self.object.read("dataset.safetensors")?)?;
        Ok(self.data.get_or_init(|| d))
    }
}

/// What a training node stores beside its checkpoint.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TrainSummary {
    /// Every epoch from the first (including those of the warm-start source).
    pub epochs: Vec<EpochSummary>,
    /// Seconds this node spent training (not its warm-start source).
    pub cost_s: f64,
    /// The fidelity it warm-started from (0: the baseline).
    pub warm_start_epochs: usize,
}

/// One epoch of [`TrainSummary`].
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EpochSummary {
    /// Absolute epoch, from 1.
    pub epoch: usize,
    /// Mean training loss.
    pub loss: f64,
    /// Training accuracy.
    pub accuracy: f64,
    /// Learning rate.
    pub lr: f64,
}

fn summarise(records: &[training::train::EpochRecord]) -> Vec<EpochSummary> {
    records
        .iter()
        .map(|r| EpochSummary {
            epoch: r.epoch,
            loss: r.loss,
            accuracy: r.accuracy,
            lr: r.lr,
        })
        .collect()
}

/// A training-progress callback over an indicatif bar; it stops the work once SIGINT
/// has arrived.
fn bar_progress(bar: &ProgressBar) -> impl Fn(usize, usize) -> Result<()> + '_ {
    move |done, total| {
        bar.set_length(total as u64);
        bar.set_position(done as u64);
        crate::interrupt::check_interrupt()
    }
}

/// Stage 3a: noise-free baseline pre-training, shared by every design (and every study
/// with the same data set, model and recipe).
pub fn baseline_node(
    cfg: &StudyConfig,
    data: &LoadedData,
    runner: &mut Runner,
    bar: &ProgressBar,
) -> Result<Object> {
    let t = &cfg.training;
    let input = baseline_key(cfg, &data.object)?;
    runner.ensure(input, cfg.model.name.to_string(), |w| {
        let start = Instant::now();
        bar.set_message(format!("baseline {}", cfg.model.name));
        let (state, records) = training::train::pretrain(
            cfg.model.name,
            data.get()?,
            t,
            cfg.study.seed,
            &device(),
            &bar_progress(bar),
        )?;
        w.put(CHECKPOINT, &state.to_bytes()?)?;
        let summary = TrainSummary {
            epochs: summarise(&records),
            cost_s: start.elapsed().as_secs_f64(),
            warm_start_epochs: 0,
        };
        w.put(SUMMARY, &serde_json::to_vec_pretty(&summary)?)
    })
}

/// The key of the baseline node on the data set `data`.
pub fn baseline_key(cfg: &StudyConfig, data: &Object) -> Result<KeyInput> {
    let t = &cfg.training;
    let key_params = serde_json::json!({
        "model": cfg.model.name,
        "batch_size": t.batch_size,
        "momentum": t.momentum,
        "weight_decay": t.weight_decay,
        "augment": t.augment,
        "epochs": t.baseline_epochs,
        "lr": t.baseline_lr,
    });
    KeyInput::new(
        training::BASELINE_STAGE,
        training::CODE_VERSION,
        &key_params,
        vec![data.key()],
        cfg.study.seed,
    )
}

/// The baseline's network, read from a baseline (or training) node.
pub fn read_network(
    cfg: &StudyConfig,
    object: &Object,
    data: &dataset::PreparedDataset,
) -> Result<TrainState> {
    TrainState::from_bytes(
        &object.read(CHECKPOINT)?,
        cfg.model.name,
        data,
        &cfg.training,
        true,
        &device(),
    )
}

/// The key of the ReSNA training node of `design` at `epochs`.
fn train_key(
    cfg: &StudyConfig,
    design: &Design,
    epochs: usize,
    baseline: &Object,
    characterisation: &Object,
) -> Result<KeyInput> {
    let t = &cfg.training;
    let key_params = serde_json::json!({
        "strategy": t.strategy,
        "cell_bits": design.cell_bits,
        "epochs": epochs,
        "batch_size": t.batch_size,
        "momentum": t.momentum,
        "weight_decay": t.weight_decay,
        "augment": t.augment,
        "lr": t.finetune_lr,
        "lr_decay": t.finetune_lr_decay,
        "conv_noise_scale": t.conv_noise_scale,
        "fc_noise_scale": t.fc_noise_scale,
    });
    KeyInput::new(
        training::RESNA_STAGE,
        training::CODE_VERSION,
        &key_params,
        vec![baseline.key(), characterisation.key()],
        cfg.study.seed,
    )
}

/// Stage 3b: fine-tuning of `design` to `epochs` under the strategy's noise. It
/// warm-starts from the cached checkpoint of the same design at the largest fidelity
/// below `epochs`, else from the baseline; the schedule makes both give the same model.
/// `noise_unaware` trains nothing: its checkpoint is the baseline's.
pub fn train_node(
    cfg: &StudyConfig,
    design: &Design,
    epochs: usize,
    nodes: (&LoadedData, &Object, &Object),
    runner: &mut Runner,
    bar: &ProgressBar,
) -> Result<Object> {
    let (data, baseline, characterisation) = nodes;
    let t = &cfg.training;
    t.check_fidelity(epochs)?;
    if !t.strategy.fine_tunes() {
        return Ok(baseline.clone());
    }
    let input = train_key(cfg, design, epochs, baseline, characterisation)?;
    let warm = (1..epochs).rev().find_map(|e| {
        let key = train_key(cfg, design, e, baseline, characterisation).ok()?;
        runner.cached(&key.key()).map(|o| (e, o))
    });
    runner.ensure(input, format!("{} @{epochs}", design_label(design)), |w| {
        let start = Instant::now();
        let data = data.get()?;
        let device = device();
        let (mut state, mut records) = match &warm {
            Some((e, object)) => {
                let state = TrainState::from_bytes(
                    &object.read(CHECKPOINT)?,
                    cfg.model.name,
                    data,
                    t,
                    false,
                    &device,
                )?;
                let summary: TrainSummary = serde_json::from_slice(&object.read(SUMMARY)?)?;
                tracing::info!("warm start from {e} epochs");
                (state, summary.epochs)
            }
            None => (
                TrainState::from_bytes(
                    &baseline.read(CHECKPOINT)?,
                    cfg.model.name,
                    data,
                    t,
                    true,
                    &device,
                )?,
                Vec::new(),
            ),
        };
        let warm_start_epochs = state.epochs;
        bar.set_message(format!("train {} @{epochs}", design_label(design)));
        let chip = read_chip(characterisation)?;
        let new = training::train::finetune(
            &mut state,
            data,
            t,
            &chip,
            epochs,
            cfg.study.seed,
            &bar_progress(bar),
        )?;
        records.extend(summarise(&new));
        w.put(CHECKPOINT, &state.to_bytes()?)?;
        let summary = TrainSummary {
            epochs: records,
            cost_s: start.elapsed().as_secs_f64(),
            warm_start_epochs,
        };
        w.put(SUMMARY, &serde_json::to_vec_pretty(&summary)?)
    })
}

/// What the noisy-inference node stores.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EvalSummary {
    /// Mean accuracy over the noise draws.
    pub accuracy_mean: f64,
    /// Their standard deviation.
    pub accuracy_std: f64,
    /// Accuracy of the quantised network without noise.
    pub accuracy_clean: f64,
    /// Each draw's accuracy.
    pub draws: Vec<f64>,
    /// Seconds spent.
    pub cost_s: f64,
}

/// Stage 3c: noisy-inference accuracy of a trained checkpoint under the design's noise.
pub fn eval_node(
    cfg: &StudyConfig,
    design: &Design,
    nodes: (&LoadedData, &Object, &Object),
    runner: &mut Runner,
    bar: &ProgressBar,
) -> Result<Object> {
    let (data, checkpoint, characterisation) = nodes;
    let t = &cfg.training;
    let input = eval_input(cfg, design, &checkpoint.key(), characterisation)?;
    runner.ensure(input, design_label(design), |w| {
        let start = Instant::now();
        let data = data.get()?;
        let state = TrainState::from_bytes(
            &checkpoint.read(CHECKPOINT)?,
            cfg.model.name,
            data,
            t,
            true,
            &device(),
        )?;
        bar.set_message(format!("noisy inference {}", design_label(design)));
        let acc = training::evaluate::evaluate(
            &state.net,
            data,
            &read_chip(characterisation)?,
            (t.eval_draws, t.majority_vote),
            t.batch_size,
            cfg.study.seed,
            &bar_progress(bar),
        )?;
        let summary = EvalSummary {
            accuracy_mean: acc.mean,
            accuracy_std: acc.std,
            accuracy_clean: acc.clean,
            draws: acc.draws,
            cost_s: start.elapsed().as_secs_f64(),
        };
        w.put(SUMMARY, &serde_json::to_vec_pretty(&summary)?)
    })
}

/// The key of the checkpoint a design at `epochs` is evaluated with: its training node's,
/// or the baseline's for `noise_unaware`.
pub fn checkpoint_key(
    cfg: &StudyConfig,
    design: &Design,
    epochs: usize,
    baseline: &Object,
    characterisation: &Object,
) -> Result<CacheKey> {
    Ok(if cfg.training.strategy.fine_tunes() {
        train_key(cfg, design, epochs, baseline, characterisation)?.key()
    } else {
        baseline.key()
    })
}

/// The key input of the noisy-inference node of `checkpoint` on `design`.
pub fn eval_input(
    cfg: &StudyConfig,
    design: &Design,
    checkpoint: &CacheKey,
    characterisation: &Object,
) -> Result<KeyInput> {
    let t = &cfg.training;
    let key_params = serde_json::json!({
        "draws": t.eval_draws,
        "majority_vote": t.majority_vote,
        "batch_size": t.batch_size,
        "cell_bits": design.cell_bits,
    });
    KeyInput::new(
        training::EVAL_STAGE,
        training::CODE_VERSION,
        &key_params,
        vec![*checkpoint, characterisation.key()],
        cfg.study.seed,
    )
}

/// The GP fit stage: the surrogates' hyperparameters (one theta vector per objective),
/// fitted with `n_start` restarts on `observations`, cached under a key over those rows
/// (and the GP settings), so that the same ledger rows are never fitted twice.
pub fn gp_fit_node(
    cfg: &StudyConfig,
    observations: &[Observation],
    problem: &StepProblem,
    runner: &mut Runner,
) -> Result<Vec<Vec<f64>>> {
    let key_params = serde_json::json!({
        "gp": cfg.optimizer.cf_mesmo.gp,
        "fidelity_dependent": problem.fidelity_dependent,
        "observations": observations,
    });
    let input = KeyInput::new(GP_FIT_STAGE, GP_FIT_CODE_VERSION, &key_params, vec![], 0)?;
    let label = format!("{} rows", observations.len());
    let object = runner.ensure(input, label, |w| {
        let fitted = fit_surrogates(observations, problem, &cfg.optimizer.cf_mesmo, None)?;
        w.put(THETAS, &serde_json::to_vec(&fitted.thetas())?)
    })?;
    serde_json::from_slice(&object.read(THETAS)?).context("gp_fit thetas.json")
}

/// The PPA report stored by [`ppa_node`].
pub fn read_ppa(object: &Object) -> Result<ppa::PpaReport> {
    serde_json::from_slice(&object.read(PPA_REPORT)?).context("ppa report.json")
}

/// The chip stored by [`crossbar_node`].
pub fn read_chip(object: &Object) -> Result<Arc<Chip>> {
    let c: crossbar::Characterisation = serde_json::from_slice(&object.read(CHARACTERISATION)?)
        .context("crossbar characterisation.json")?;
    Ok(Arc::new(Chip::new(c)))
}

/// The device training runs on: CUDA with the `cuda` feature, else the CPU.
pub fn device() -> Device {
    #[cfg(feature = "cuda")]
    {
        if let Ok(d) = Device::new_cuda(0) {
            return d;
        }
        tracing::warn!("no CUDA device; training on the CPU");
    }
    Device::Cpu
}

/// A short human label of a design for logs.
pub fn design_label(d: &Design) -> String {
    format!(
        "{}b/{}x{}/{:.3e}Hz/{:.1}K",
        d.cell_bits, d.xbar_size, d.xbar_size, d.freq_hz, d.temp_k
    )
}
