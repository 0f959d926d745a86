//! The training loop: noise-free baseline pre-training, and ReSNA fine-tuning of a
//! design at a fidelity, resumable from a checkpoint at a lower fidelity.

use std::time::Instant;

use std::sync::Arc;

use anyhow::{bail, Result};
use candle_core::{DType, Device, Tensor};

use crate::arch::ModelName;
use crate::crossbar_sim::{CellNoise, Chip};
use crate::dataset::PreparedDataset;
use crate::models::Network;
use crate::training::batches::{epoch_order, make_batch, Normalisation};
use crate::training::injection::CrossbarOps;
use crate::training::params::{NoiseStrategy, TrainingParams};
use crate::training::sgd::{cosine_lr, decayed_lr, Sgd};
use crate::training::{checkpoint, stream, Purpose};

/// What one epoch did.
#[derive(Debug, Clone, PartialEq)]
pub struct EpochRecord {
    /// The epoch, counted from 1 (the absolute epoch of the schedule).
    pub epoch: usize,
    /// Mean training loss.
    pub loss: f64,
    /// Training top-1 accuracy, under the injected noise.
    pub accuracy: f64,
    /// The learning rate.
    pub lr: f64,
    /// Wall time, seconds.
    pub seconds: f64,
}

/// Reports progress: (steps done, steps in all).
/// It may stop the work by returning an error (which the training returns).
pub type Progress<'a> = &'a dyn Fn(usize, usize) -> Result<()>;

/// A network with its optimiser and the epochs it has trained.
pub struct TrainState {
    /// The network.
    pub net: Network,
    /// The optimiser.
    pub sgd: Sgd,
    /// Epochs trained so far (of the current schedule).
    pub epochs: usize,
}

impl TrainState {
    /// A freshly initialised network for `data`.
    pub fn fresh(
        model: ModelName,
        data: &PreparedDataset,
        params: &TrainingParams,
        seed: u64,
        device: &Device,
    ) -> Result<TrainState> {
        let net = Network::new(model, data.train.height, data.classes.len(), seed, device)?;
        let sgd = Sgd::new(net.trainable(), params.momentum, params.weight_decay)?;
        Ok(TrainState {
            net,
            sgd,
            epochs: 0,
        })
    }

    /// The state stored in `bytes` (from [`TrainState::to_bytes`]). With `fresh_optimiser`
    /// the velocities start at zero and the epoch count at 0, as fine-tuning from the
    /// baseline does.
    pub fn from_bytes(
        bytes: &[u8],
        model: ModelName,
        data: &PreparedDataset,
        params: &TrainingParams,
        fresh_optimiser: bool,
        device: &Device,
    ) -> Result<TrainState> {
        let mut state = TrainState::fresh(model, data, params, 0, device)?;
        if fresh_optimiser {
            checkpoint::load(bytes, &state.net, None)?;
        } else {
            state.epochs = checkpoint::load(bytes, &state.net, Some(&mut state.sgd))?;
        }
        Ok(state)
    }

    /// The state as safetensors.
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        checkpoint::save(&self.net, &self.sgd, self.epochs)
    }
}

/// Noise-free baseline pre-training for `params.baseline_epochs` epochs, the learning rate
/// cosine-annealed over them.
pub fn pretrain(
    model: ModelName,
    data: &PreparedDataset,
    params: &TrainingParams,
    seed: u64,
    device: &Device,
    progress: Progress,
) -> Result<(TrainState, Vec<EpochRecord>)> {
    params.check_memory(model, data.train.height, data.classes.len())?;
    let mut state = TrainState::fresh(model, data, params, seed, device)?;
    let total = params.baseline_epochs;
    let records = run_epochs(
        &mut state,
        data,
        params,
        None,
        total,
        &|e| cosine_lr(params.baseline_lr, e, total),
        seed,
        progress,
    )?;
    Ok((state, records))
}

/// The noise a strategy trains under on the design's crossbars (none: no training).
pub fn training_noise(strategy: NoiseStrategy) -> Option<CellNoise> {
    match strategy {
        NoiseStrategy::Resna => Some(CellNoise::Full),
        NoiseStrategy::ProgrammingOnly => Some(CellNoise::ProgrammingOnly),
        NoiseStrategy::Gaussian => Some(CellNoise::Gaussian),
        NoiseStrategy::NoiseFree => Some(CellNoise::None),
        NoiseStrategy::NoiseUnaware => None,
    }
}

/// Fine-tunes `state` (fresh from the baseline, or a checkpoint of the same design at a
/// lower fidelity) on the design's simulated crossbars, under the strategy's noise,
/// until it has trained `epochs` epochs.
/// Epoch `e` uses `finetune_lr * finetune_lr_decay^e` and the random streams of `e`, so
/// the result does not depend on where a previous run stopped.
pub fn finetune(
    state: &mut TrainState,
    data: &PreparedDataset,
    params: &TrainingParams,
    chip: &Arc<Chip>,
    epochs: usize,
    seed: u64,
    progress: Progress,
) -> Result<Vec<EpochRecord>> {
    params.check_fidelity(epochs)?;
    params.check_memory(state.net.model(), data.train.height, data.classes.len())?;
    if state.epochs > epochs {
        bail!(
            "cannot fine-tune to {epochs} epochs from a checkpoint at {} epochs",
            state.epochs
        );
    }
    let Some(noise) = training_noise(params.strategy) else {
        return Ok(Vec::new());
    };
    let ops = CrossbarOps::new(
        Arc::clone(chip),
        noise,
        &state.net.layers(),
        (params.conv_noise_scale, params.fc_noise_scale),
        stream(seed, Purpose::TrainNoise, 0),
    );
    run_epochs(
        state,
        data,
        params,
        Some(&ops),
        epochs,
        &|e| decayed_lr(params.finetune_lr, params.finetune_lr_decay, e),
        seed,
        progress,
    )
}

/// Trains from `state.epochs` up to `until` epochs.
#[allow(clippy::too_many_arguments)]
fn run_epochs(
    state: &mut TrainState,
    data: &PreparedDataset,
    params: &TrainingParams,
    ops: Option<&CrossbarOps>,
    until: usize,
    lr_of_epoch: &dyn Fn(usize) -> f64,
    seed: u64,
    progress: Progress,
) -> Result<Vec<EpochRecord>> {
    let norm = Normalisation {
        mean: data.mean,
        std: data.std,
    };
    let device = state.net.weight(0).device().clone();
    let steps_per_epoch = data.train.len().div_ceil(params.batch_size);
    let total_steps = steps_per_epoch * (until - state.epochs.min(until));
    let mut done = 0;
    let mut records = Vec::new();
    while state.epochs < until {
        let epoch = state.epochs;
        let start = Instant::now();
        let lr = lr_of_epoch(epoch);
        let mut data_rng = stream(seed, Purpose::Data, epoch);
        if let Some(ops) = ops {
            ops.reseed(stream(seed, Purpose::TrainNoise, epoch));
        }
        let (mut loss_sum, mut correct, mut seen) = (0.0, 0usize, 0usize);
        for indices in epoch_order(data.train.len(), params.batch_size, &mut data_rng) {
            let augment = params.augment.then_some(&mut data_rng);
            let batch = make_batch(&data.train, &indices, &norm, augment, &device)?;
            let logits = match ops {
                Some(ops) => state.net.forward_t(&batch.images, true, ops)?,
                None => state.net.forward_clean(&batch.images, true)?,
            };
            let loss = candle_nn::loss::cross_entropy(&logits, &batch.labels)?;
            let loss_value = f64::from(loss.to_scalar::<f32>()?);
            if !loss_value.is_finite() {
                return Err(crate::DesignFailure(format!(
                    "the training loss became {loss_value} in epoch {} (learning rate {lr}); \
                     the noise or the learning rate is too large",
                    epoch + 1
                ))
                .into());
            }
            let grads = loss.backward()?;
            state.sgd.step(&grads, lr)?;
            loss_sum += loss_value * indices.len() as f64;
            correct += count_correct(&logits, &batch.labels)?;
            seen += indices.len();
            done += 1;
            progress(done, total_steps)?;
        }
        state.epochs += 1;
        records.push(EpochRecord {
            epoch: state.epochs,
            loss: loss_sum / seen.max(1) as f64,
            accuracy: correct as f64 / seen.max(1) as f64,
            lr,
            seconds: start.elapsed().as_secs_f64(),
        });
    }
    Ok(records)
}

/// Top-1 hits of `logits` against `labels`.
pub fn count_correct(logits: &Tensor, labels: &Tensor) -> Result<usize> {
    count_hits(&logits.argmax(1)?, labels)
}

/// Hits of predicted classes against `labels`.
pub fn count_hits(predicted: &Tensor, labels: &Tensor) -> Result<usize> {
    let hits = predicted
        .eq(labels)?
        .to_dtype(DType::U32)?
        .sum_all()?
        .to_scalar::<u32>()?;
    Ok(hits as usize)
}
