//! Noisy-inference accuracy: top-1 test accuracy under the design's full crossbar noise,
//! as the mean and standard deviation over M independent noise draws (fresh noise in
//! every forward pass), and the clean accuracy of the 8-bit quantised network.

use anyhow::Result;
use candle_core::{Device, Tensor};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::dataset::PreparedDataset;
use crate::mapping::WeightNoise;
use crate::models::Network;
use crate::training::batches::{make_batch, sequential_order, Normalisation};
use crate::training::injection::{NoiseInjector, NoiseKind};
use crate::training::train::{count_correct, count_hits, Progress};
use crate::training::{stream, DesignNoise, Purpose};

/// The accuracy objective of one evaluation.
#[derive(Debug, Clone, PartialEq)]
pub struct Accuracy {
    /// Mean top-1 accuracy over the noise draws, in [0, 1].
    pub mean: f64,
    /// Sample standard deviation over the draws (0 for one draw).
    pub std: f64,
    /// Accuracy of the quantised network without noise.
    pub clean: f64,
    /// Each draw's accuracy.
    pub draws: Vec<f64>,
}

/// Evaluates `net` on the test split: `draws` noisy passes over it under `noise` (the
/// design's full model, unscaled), with the majority vote of three noisy copies of the
/// last FC layer if `vote`, and one clean pass of the quantised weights.
pub fn evaluate(
    net: &Network,
    data: &PreparedDataset,
    noise: DesignNoise,
    (draws, vote): (usize, bool),
    batch_size: usize,
    seed: u64,
    progress: Progress,
) -> Result<Accuracy> {
    let layers = net.layers();
    let clean_injector = NoiseInjector::new(
        NoiseKind::QuantisedOnly,
        &layers,
        1.0,
        1.0,
        ChaCha8Rng::seed_from_u64(0),
    );
    let noisy_injector = NoiseInjector::new(
        NoiseKind::Crossbar(WeightNoise::new(noise.characterisation, noise.cell_bits)),
        &layers,
        1.0,
        1.0,
        stream(seed, Purpose::EvalNoise, 0),
    );
    let total = draws + 1;
    let clean = accuracy(net, data, &clean_injector, false, batch_size)?;
    progress(1, total)?;
    let mut results = Vec::with_capacity(draws);
    for d in 0..draws {
        noisy_injector.reseed(stream(seed, Purpose::EvalNoise, d));
        results.push(accuracy(net, data, &noisy_injector, vote, batch_size)?);
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

/// One pass over the test split with the injector's weights (eval-mode batch norm),
/// voting over three reads of the last FC layer if `vote`.
fn accuracy(
    net: &Network,
    data: &PreparedDataset,
    injector: &NoiseInjector,
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
        let hook = |i: usize, w: &Tensor| injector.effective_weights(i, &w.detach());
        let features = net.features(&batch.images, false, &hook)?.detach();
        let logits = net.head(&features, &hook)?;
        if vote {
            let first = logits.argmax(1)?;
            let second = net.head(&features, &hook)?.argmax(1)?;
            let third = net.head(&features, &hook)?.argmax(1)?;
            // The majority of three: the second and third copies agree, or the first.
            let agree = second.eq(&third)?;
            let voted = agree.where_cond(&second, &first)?;
            correct += count_hits(&voted, &batch.labels)?;
        } else {
            correct += count_correct(&logits.detach(), &batch.labels)?;
        }
    }
    Ok(correct as f64 / data.test.len().max(1) as f64)
}
