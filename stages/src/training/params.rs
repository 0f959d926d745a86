//! The training configuration (`[training]` in a study config) and the noise strategies.

use anyhow::{ensure, Result};
use serde::{Deserialize, Serialize};

use crate::arch::{self, ModelName};

/// How a design's accuracy is obtained: ReSNA, or one of the paper's baselines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NoiseStrategy {
    /// Fine-tune under the design's full noise model (the method).
    Resna,
    /// The noise-free baseline evaluated under noise; no fine-tuning (0 epochs).
    NoiseUnaware,
    /// Fine-tune under naive Gaussian weight noise of the same average magnitude.
    Gaussian,
    /// Fine-tune under the programming variation only.
    ProgrammingOnly,
    /// The same fine-tuning on the design's crossbars (their quantisation, DAC and ADC)
    /// without any noise: the control that separates what noise awareness brings from
    /// what the extra epochs bring.
    NoiseFree,
}

impl NoiseStrategy {
    /// The name used in configs and the ledger.
    pub fn as_str(self) -> &'static str {
        match self {
            NoiseStrategy::Resna => "resna",
            NoiseStrategy::NoiseUnaware => "noise_unaware",
            NoiseStrategy::Gaussian => "gaussian",
            NoiseStrategy::ProgrammingOnly => "programming_only",
            NoiseStrategy::NoiseFree => "noise_free",
        }
    }

    /// Whether the strategy fine-tunes (and so needs a fidelity of at least one epoch).
    pub fn fine_tunes(self) -> bool {
        self != NoiseStrategy::NoiseUnaware
    }
}

/// Training hyperparameters. Defaults are the usual CIFAR recipe, scaled down for
/// fine-tuning; every one is a config key under `[training]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TrainingParams {
    /// The noise strategy.
    pub strategy: NoiseStrategy,
    /// Images per SGD step (and per inference batch).
    pub batch_size: usize,
    /// SGD momentum.
    pub momentum: f64,
    /// L2 weight decay, added to the gradient.
    pub weight_decay: f64,
    /// Random crop (4-pixel zero padding) and horizontal flip of training images.
    pub augment: bool,
    /// Epochs of noise-free baseline pre-training.
    pub baseline_epochs: usize,
    /// Peak learning rate of the baseline (cosine-annealed over `baseline_epochs`).
    pub baseline_lr: f64,
    /// Learning rate of the first fine-tuning epoch.
    pub finetune_lr: f64,
    /// Per-epoch decay of the fine-tuning learning rate: epoch `e` (counted from the
    /// baseline, whatever the fidelity) uses `finetune_lr * finetune_lr_decay^e`.
    pub finetune_lr_decay: f64,
    /// Scale of the injected noise on conv layers during training.
    pub conv_noise_scale: f64,
    /// Scale of the injected noise on FC layers during training (less than conv: FC
    /// layers are not duplicated and accumulate more noise, paper section 4).
    pub fc_noise_scale: f64,
    /// Independent noise draws of the noisy inference (M).
    pub eval_draws: usize,
    /// At inference, read the last FC layer three times (three crossbar copies, each
    /// with its own noise) and take the majority vote of their top-1 classes (paper
    /// section 4); ties go to the first copy.
    pub majority_vote: bool,
    /// Refuse a batch whose estimated training memory exceeds this many GiB.
    pub max_memory_gib: f64,
}

impl Default for TrainingParams {
    fn default() -> Self {
        TrainingParams {
            strategy: NoiseStrategy::Resna,
            batch_size: 128,
            momentum: 0.9,
            weight_decay: 5e-4,
            augment: true,
            baseline_epochs: 10,
            baseline_lr: 0.05,
            finetune_lr: 0.05,
            finetune_lr_decay: 0.9,
            conv_noise_scale: 1.0,
            fc_noise_scale: 0.5,
            eval_draws: 5,
            majority_vote: false,
            max_memory_gib: 8.0,
        }
    }
}

/// Bytes of f32 training state per activation element: the layer output, batch norm,
/// activation, their gradients and the im2col buffers, with some slack.
const BYTES_PER_ACTIVATION: f64 = 4.0 * 8.0;

impl TrainingParams {
    /// Checks the values; every message names its key.
    pub fn validate(&self) -> Result<()> {
        ensure!(
            self.batch_size >= 2,
            "training.batch_size must be at least 2 (batch norm needs a batch), got {}",
            self.batch_size
        );
        for (key, v) in [
            ("momentum", self.momentum),
            ("finetune_lr_decay", self.finetune_lr_decay),
        ] {
            ensure!(
                (0.0..=1.0).contains(&v),
                "training.{key} must be in [0, 1], got {v}"
            );
        }
        for (key, v) in [
            ("weight_decay", self.weight_decay),
            ("conv_noise_scale", self.conv_noise_scale),
            ("fc_noise_scale", self.fc_noise_scale),
        ] {
            ensure!(
                v.is_finite() && v >= 0.0,
                "training.{key} must be >= 0, got {v}"
            );
        }
        for (key, v) in [
            ("baseline_lr", self.baseline_lr),
            ("finetune_lr", self.finetune_lr),
            ("max_memory_gib", self.max_memory_gib),
        ] {
            ensure!(
                v.is_finite() && v > 0.0,
                "training.{key} must be positive, got {v}"
            );
        }
        ensure!(
            self.eval_draws >= 1,
            "training.eval_draws must be at least 1, got 0"
        );
        Ok(())
    }

    /// Estimated training memory of one batch of `model`, GiB.
    pub fn estimated_memory_gib(&self, model: ModelName, input_hw: usize, classes: usize) -> f64 {
        let per_image: usize = arch::layers(model, input_hw, classes)
            .iter()
            .map(|l| l.output_channels() * l.output_positions())
            .sum::<usize>()
            + 3 * input_hw * input_hw;
        per_image as f64 * self.batch_size as f64 * BYTES_PER_ACTIVATION / (1u64 << 30) as f64
    }

    /// Refuses inputs the model cannot take ([`arch::check_input`]) and a batch size
    /// whose training memory would exceed `max_memory_gib`.
    pub fn check_memory(&self, model: ModelName, input_hw: usize, classes: usize) -> Result<()> {
        arch::check_input(model, input_hw, input_hw, classes).map_err(anyhow::Error::msg)?;
        let need = self.estimated_memory_gib(model, input_hw, classes);
        ensure!(
            need <= self.max_memory_gib,
            "training.batch_size = {} needs about {need:.1} GiB to train {model} \
             (training.max_memory_gib = {}); lower the batch size",
            self.batch_size,
            self.max_memory_gib
        );
        Ok(())
    }

    /// Checks that `epochs` is a valid fidelity for the strategy.
    pub fn check_fidelity(&self, epochs: usize) -> Result<()> {
        ensure!(
            !self.strategy.fine_tunes() || epochs >= 1,
            "a fidelity of 0 epochs is not valid for strategy `{}`: it fine-tunes for at \
             least one epoch",
            self.strategy.as_str()
        );
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_validate_and_bad_values_name_their_key() {
        TrainingParams::default().validate().unwrap();
        let bad = TrainingParams {
            batch_size: 1,
            ..TrainingParams::default()
        };
        assert!(bad
            .validate()
            .unwrap_err()
            .to_string()
            .contains("batch_size"));
        let bad = TrainingParams {
            finetune_lr: f64::NAN,
            ..TrainingParams::default()
        };
        assert!(bad
            .validate()
            .unwrap_err()
            .to_string()
            .contains("finetune_lr"));
    }

    #[test]
    fn a_huge_batch_is_refused_with_its_memory() {
        let p = TrainingParams {
            batch_size: 1 << 20,
            ..TrainingParams::default()
        };
        let err = p.check_memory(ModelName::ResNet20, 32, 10).unwrap_err();
        assert!(err.to_string().contains("GiB"), "{err}");
        TrainingParams::default()
            .check_memory(ModelName::ResNet20, 32, 10)
            .unwrap();
    }

    #[test]
    fn zero_epochs_is_only_valid_without_fine_tuning() {
        let p = TrainingParams::default();
        assert!(p.check_fidelity(0).is_err());
        p.check_fidelity(1).unwrap();
        let unaware = TrainingParams {
            strategy: NoiseStrategy::NoiseUnaware,
            ..p
        };
        unaware.check_fidelity(0).unwrap();
    }
}
