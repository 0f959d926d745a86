//! The typed outputs of the graph's nodes, the files that hold them in a node's stored
//! object, and the one reader of each: a renamed field is a compile error or a clear
//! "cannot read" error naming the node's file, never a silent `None`.

use std::sync::Arc;

use anyhow::{Context, Result};
use cache::Object;
use candle_core::Device;
use serde::{Deserialize, Serialize};
use stages::crossbar;
use stages::crossbar_sim::Chip;
use stages::dataset;
use stages::ppa::PpaReport;
use stages::training::train::TrainState;

use crate::config::StudyConfig;

/// The data set's tensors in a dataset node.
pub(super) const DATASET_TENSORS: &str = "dataset.safetensors";
/// The data set's shape in a dataset node.
pub(super) const DATASET_META: &str = "meta.json";
/// The checkpoint file of a baseline or training node.
pub(super) const CHECKPOINT: &str = "checkpoint.safetensors";
/// The characterisation file of a crossbar node.
pub(super) const CHARACTERISATION: &str = "characterisation.json";
/// The PPA node's report file.
pub(super) const PPA_REPORT: &str = "report.json";
/// The PPA node's per-layer table.
pub(super) const PPA_LAYERS: &str = "layers.parquet";
/// The summary file of a training or noisy-inference node.
pub(super) const SUMMARY: &str = "summary.json";
/// The hyperparameter file of a GP fit node.
pub(super) const KERNELS: &str = "kernels.json";

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
        let d = dataset::from_safetensors(&self.object.read(DATASET_TENSORS)?)?;
        Ok(self.data.get_or_init(|| d))
    }
}

/// What a training (or baseline) node stores beside its checkpoint.
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

/// Reads the JSON file `name` of a node's object as `T`.
pub(super) fn read_json<T: serde::de::DeserializeOwned>(object: &Object, name: &str) -> Result<T> {
    serde_json::from_slice(&object.read(name)?).with_context(|| {
        format!(
            "{} node {}: cannot read {name}",
            object.manifest().stage,
            object.key().short()
        )
    })
}

/// The training summary of a baseline or training node.
pub fn read_train_summary(object: &Object) -> Result<TrainSummary> {
    read_json(object, SUMMARY)
}

/// The summary of a noisy-inference node.
pub(super) fn read_eval_summary(object: &Object) -> Result<EvalSummary> {
    read_json(object, SUMMARY)
}

/// The PPA report of a PPA node.
pub(super) fn read_ppa(object: &Object) -> Result<PpaReport> {
    read_json(object, PPA_REPORT)
}

/// The chip of a crossbar node.
pub(super) fn read_chip(object: &Object) -> Result<Arc<Chip>> {
    let c: crossbar::Characterisation = read_json(object, CHARACTERISATION)?;
    Ok(Arc::new(Chip::new(c)))
}

/// The network of a baseline or training node; `fresh_optimiser` starts its optimiser
/// state anew (a baseline read for fine-tuning or inference).
pub(super) fn read_network(
    cfg: &StudyConfig,
    object: &Object,
    data: &dataset::PreparedDataset,
    fresh_optimiser: bool,
) -> Result<TrainState> {
    TrainState::from_bytes(
        &object.read(CHECKPOINT)?,
        cfg.model.name,
        data,
        &cfg.training,
        fresh_optimiser,
        &device(),
    )
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
