//! Noisy-inference accuracy: top-1 test accuracy on the design's simulated crossbars,
//! as the mean and standard deviation over M independent noise draws (a fresh draw on
//! every forward call, shared by the batch, as PytorX), and the clean accuracy of the
//! same chip without stochastic noise (8-bit weights, DAC and ADC). Under the `pytorx`
//! model the batch is the effective voltage's `N` (`veff_batch`, PytorX's test batch of
//! 100), as in PytorX.
//!
//! Before each, the chip's DAC and ADC ranges are calibrated on `calibration_batches`
//! training batches (a seeded draw, no augmentation, batch-norm statistics frozen) and
//! fixed, as PytorX fixes the mean of the ranges it saw in
//! training: without noise for the clean accuracy, with the design's noise for the noisy
//! one, so that the ADC covers the noisy partial sums the chip actually produces.

use std::sync::Arc;

use anyhow::Result;
use candle_core::{Device, Tensor};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::crossbar_sim::{CellNoise, Chip};
use crate::dataset::{ImageSet, PreparedDataset};
use crate::models::{LayerOps, Network};
use crate::training::batches::{epoch_order, make_batch, sequential_order, Normalisation};
use crate::training::injection::CrossbarOps;
use crate::training::train::{count_correct, count_hits, Progress};
use crate::training::{stream, Purpose};

/// The accuracy objective of one evaluation.
#[derive(Debug, Clone, PartialEq)]
pub struct Accuracy {
    /// Mean top-1 accuracy over the noise draws, in [0, 1].
    pub mean: f64,
    /// Sample standard deviation over the draws (0 for one draw).
    pub std: f64,
    /// Accuracy of the same chip without stochastic noise.
    pub clean: f64,
    /// Each draw's accuracy.
    pub draws: Vec<f64>,
}

/// Evaluates `net` on the test split: one clean pass, then `draws` noisy passes under
/// the design's full noise model (unscaled), with the majority vote of three noisy
/// copies of the last FC layer if `vote`. The passes run in the chip's inference batch
/// ([`crate::crossbar::Characterisation::inference_batch`], `batch_size` for the
/// physical model).
pub fn evaluate(
    net: &Network,
    data: &PreparedDataset,
    chip: &Arc<Chip>,
    (draws, vote): (usize, bool),
    batch_size: usize,
    seed: u64,
    progress: Progress,
) -> Result<Accuracy> {
    let batch_size = chip.characterisation.inference_batch(batch_size);
    let layers = net.layers();
    let clean_ops = CrossbarOps::new(
        Arc::clone(chip),
        CellNoise::None,
        &layers,
        (1.0, 1.0),
        ChaCha8Rng::seed_from_u64(0),
    )
    .for_inference();
    calibrate(net, data, &clean_ops, batch_size, seed)?;
    let total = draws + 1;
    let clean = accuracy(net, data, &clean_ops, false, batch_size)?;
    progress(1, total)?;
    let noisy_ops = CrossbarOps::new(
        Arc::clone(chip),
        CellNoise::Full,
        &layers,
        (1.0, 1.0),
        stream(seed, Purpose::CalibrationNoise, 0),
    )
    .for_inference();
    calibrate(net, data, &noisy_ops, batch_size, seed)?;
    let mut results = Vec::with_capacity(draws);
    for d in 0..draws {
        noisy_ops.reseed(stream(seed, Purpose::EvalNoise, d));
        results.push(accuracy(net, data, &noisy_ops, vote, batch_size)?);
        progress(d + 2, total)?;
    }
    let mean = results.iter().sum::<f64>() / draws as f64;
    let std = if draws > 1 {
        (results.iter().map(|a| (a - mean).powi(2)).sum::<f64>() / (draws - 1) as f64).sqrt()
    } else {
        0.0
    };
    Ok(Accuracy {
        mean,
        std,
        clean,
        draws: results,
    })
}

/// Calibrates `ops`' ranges on the chip's calibration batches of the training split,
/// drawn under `seed`.
pub fn calibrate(
    net: &Network,
    data: &PreparedDataset,
    ops: &CrossbarOps,
    batch_size: usize,
    seed: u64,
) -> Result<()> {
    let batches = ops.chip().characterisation.calibration_batches;
    let mut rng = stream(seed, Purpose::CalibrationOrder, 0);
    ops.start_calibration();
    for indices in epoch_order(data.train.len(), batch_size, &mut rng)
        .into_iter()
        .take(batches)
    {
        let images = test_batch(&data.train, &indices, data, net)?;
        net.forward_t(&images, false, ops)?;
    }
    ops.freeze()
}

/// The normalised images of `indices` of `split`, without augmentation.
fn test_batch(
    split: &ImageSet,
    indices: &[usize],
    data: &PreparedDataset,
    net: &Network,
) -> Result<Tensor> {
    let norm = Normalisation {
        mean: data.mean,
        std: data.std,
    };
    let device: Device = net.weight(0).device().clone();
    Ok(make_batch::<ChaCha8Rng>(split, indices, &norm, None, &device)?.images)
}

/// One pass over the test split with `ops` (eval-mode batch norm), voting over three
/// reads of the last FC layer if `vote`.
fn accuracy(
    net: &Network,
    data: &PreparedDataset,
    ops: &dyn LayerOps,
    vote: bool,
    batch_size: usize,
) -> Result<f64> {
    let norm = Normalisation {
        mean: data.mean,
        std: data.std,
    };
    let device: Device = net.weight(0).device().clone();
    let mut correct = 0;
    for indices in sequential_order(data.test.len(), batch_size) {
        let batch = make_batch::<ChaCha8Rng>(&data.test, &indices, &norm, None, &device)?;
        let features = net.features(&batch.images, false, ops)?.detach();
        let logits = net.head(&features, ops)?.detach();
        if vote {
            let first = logits.argmax(1)?;
            let second = net.head(&features, ops)?.argmax(1)?;
            let third = net.head(&features, ops)?.argmax(1)?;
            // The majority of three: the second and third copies agree, or the first.
            let agree = second.eq(&third)?;
            let voted = agree.where_cond(&second, &first)?;
            correct += count_hits(&voted, &batch.labels)?;
        } else {
            correct += count_correct(&logits, &batch.labels)?;
        }
    }
    Ok(correct as f64 / data.test.len().max(1) as f64)
}
