//! Stage 3, training: noise-free baseline pre-training and ReSNA fine-tuning at a
//! fidelity, then noisy-inference accuracy (paper section 4).
//!
//! - [`params`]: the training configuration and the noise strategies (`resna` and the
//!   paper's baselines).
//! - [`batches`]: the seeded data order and CIFAR augmentation.
//! - [`sgd`]: SGD with momentum and weight decay, and the learning-rate schedules.
//! - [`injection`]: the layers on the design's simulated crossbars (noise drawn per
//!   pass, gradient straight through), with the DAC/ADC calibration.
//! - [`checkpoint`]: the training state (weights, batch-norm statistics, momentum) as
//!   safetensors.
//! - [`train`]: the training loop, pre-training and fine-tuning.
//! - [`evaluate`]: clean and noisy top-1 test accuracy.
//!
//! Every random draw comes from a ChaCha stream derived from the seed and the epoch (or
//! noise draw), never from a generator carried across epochs. So training a design to
//! `z'` epochs, storing the state and continuing to `z` gives bit-for-bit the model that
//! training straight to `z` gives: that is what makes warm starts exact.

pub mod batches;
pub mod checkpoint;
pub mod evaluate;
pub mod injection;
pub mod params;
pub mod sgd;
pub mod train;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// The baseline pre-training stage's name in cache keys and logs.
pub const BASELINE_STAGE: &str = "baseline_train";
/// The ReSNA fine-tuning stage's name.
pub const RESNA_STAGE: &str = "resna_train";
/// The noisy-inference stage's name.
pub const EVAL_STAGE: &str = "noisy_eval";
/// Bumped whenever a change of these modules changes the stages' outputs.
pub const CODE_VERSION: u32 = 3;

/// What a random stream is for; each purpose has its own streams.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Purpose {
    /// The data order and augmentation of one epoch.
    Data = 1,
    /// The training noise of one epoch.
    TrainNoise = 2,
    /// One noise draw of the noisy inference.
    EvalNoise = 3,
    /// The noise of the calibration before the noisy inference.
    CalibrationNoise = 4,
    /// The choice of the calibration batches.
    CalibrationOrder = 5,
}

/// The generator for `purpose` at `index` (an epoch or a draw) under `seed`.
pub(crate) fn stream(seed: u64, purpose: Purpose, index: usize) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(((purpose as u64) << 32) | index as u64);
    rng
}
