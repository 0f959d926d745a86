//! The simulated crossbars as a network's layer ops: every conv and FC layer of a
//! forward pass runs on the design's chip ([`crate::crossbar_sim`]), with a fresh noise
//! draw per layer call, and its gradient passes straight through to the noise-free
//! weights.
//!
//! The DAC and ADC ranges follow PytorX: in training each call measures its own; for an
//! evaluation they are calibrated first, as the mean over calibration batches of each
//! call's own ranges ([`CrossbarOps::start_calibration`], then [`CrossbarOps::freeze`]),
//! and frozen.

use std::cell::RefCell;
use std::sync::Arc;

use candle_core::{Result, Tensor};
use rand::Rng;
use rand_chacha::ChaCha8Rng;

use crate::arch::LayerSpec;
use crate::crossbar_sim::{
    crossbar_conv2d, crossbar_linear, CallSummary, CellNoise, Chip, LayerCall, RangeMode, Ranges,
};
use crate::models::LayerOps;

/// Where the layers' DAC and ADC ranges come from.
#[derive(Debug, Clone)]
enum RangeState {
    /// Each call's own maxima (training).
    Dynamic,
    /// Each call's own maxima, summed per layer for the calibration.
    Calibrating(Vec<Calibration>),
    /// Calibrated and fixed (evaluation).
    Frozen(Vec<Ranges>),
}

/// The running sums of one layer's calibration.
#[derive(Debug, Clone, Default)]
struct Calibration {
    dac: f64,
    adc: Vec<f64>,
    calls: usize,
}

/// A network's layers on a design's simulated crossbars.
pub struct CrossbarOps {
    chip: Arc<Chip>,
    noise: CellNoise,
    /// Per weight layer: the scale of its injected noise.
    scales: Vec<f32>,
    rng: RefCell<ChaCha8Rng>,
    ranges: RefCell<RangeState>,
    /// Whether the calls run on detached weights (inference: no gradient graph).
    detached: bool,
}

impl CrossbarOps {
    /// Ops for a network's `layers` on `chip`, injecting `noise` scaled by `conv_scale`
    /// on conv layers and `fc_scale` on FC layers, drawing the calls' seeds from `rng`.
    pub fn new(
        chip: Arc<Chip>,
        noise: CellNoise,
        layers: &[&LayerSpec],
        (conv_scale, fc_scale): (f64, f64),
        rng: ChaCha8Rng,
    ) -> CrossbarOps {
        let scales = layers
            .iter()
            .map(|l| if l.is_conv() { conv_scale } else { fc_scale } as f32)
            .collect();
        CrossbarOps {
            chip,
            noise,
            scales,
            rng: RefCell::new(rng),
            ranges: RefCell::new(RangeState::Dynamic),
            detached: false,
        }
    }

    /// The same ops for inference: the weights are detached, so no gradient graph is
    /// built.
    pub fn for_inference(self) -> CrossbarOps {
        CrossbarOps {
            detached: true,
            ..self
        }
    }

    /// `w`, detached for inference.
    fn weight(&self, w: &Tensor) -> Tensor {
        if self.detached {
            w.detach()
        } else {
            w.clone()
        }
    }

    /// The chip.
    pub fn chip(&self) -> &Arc<Chip> {
        &self.chip
    }

    /// Restarts the draws from `rng` (at each epoch or inference draw).
    pub fn reseed(&self, rng: ChaCha8Rng) {
        *self.rng.borrow_mut() = rng;
    }

    /// Starts a calibration: until [`CrossbarOps::freeze`], every call measures its own
    /// ranges and adds them to its layer's sums.
    pub fn start_calibration(&self) {
        *self.ranges.borrow_mut() =
            RangeState::Calibrating(vec![Calibration::default(); self.scales.len()]);
    }

    /// Fixes every layer's ranges at the mean of its calibration calls (PytorX:
    /// `delta_in_sum / counter` and `delta_out_sum / counter`).
    pub fn freeze(&self) -> anyhow::Result<()> {
        let state = self.ranges.borrow().clone();
        let RangeState::Calibrating(sums) = state else {
            anyhow::bail!("freeze without a calibration");
        };
        let mut frozen = Vec::with_capacity(sums.len());
        for (i, c) in sums.iter().enumerate() {
            anyhow::ensure!(c.calls > 0, "layer {i} saw no calibration batch");
            let n = c.calls as f64;
            frozen.push(Ranges {
                dac_step: (c.dac / n) as f32,
                adc_steps: c.adc.iter().map(|s| (s / n) as f32).collect(),
            });
        }
        *self.ranges.borrow_mut() = RangeState::Frozen(frozen);
        Ok(())
    }

    /// The frozen ranges, per layer, if calibrated.
    pub fn frozen_ranges(&self) -> Option<Vec<Ranges>> {
        match &*self.ranges.borrow() {
            RangeState::Frozen(r) => Some(r.clone()),
            _ => None,
        }
    }

    /// The call of layer `i`: its scale, its ranges and a fresh seed.
    fn call(&self, i: usize) -> LayerCall {
        let ranges = match &*self.ranges.borrow() {
            RangeState::Frozen(r) => RangeMode::Frozen(r[i].clone()),
            _ => RangeMode::Dynamic,
        };
        LayerCall {
            chip: Arc::clone(&self.chip),
            noise: self.noise,
            noise_scale: self.scales[i],
            ranges,
            seed: self.rng.borrow_mut().random(),
        }
    }

    /// Adds a calibrating call's ranges to its layer's sums.
    fn record(&self, i: usize, summary: &CallSummary) {
        if let RangeState::Calibrating(sums) = &mut *self.ranges.borrow_mut() {
            let c = &mut sums[i];
            c.dac += f64::from(summary.ranges.dac_step);
            if c.adc.is_empty() {
                c.adc = vec![0.0; summary.ranges.adc_steps.len()];
            }
            for (s, step) in c.adc.iter_mut().zip(&summary.ranges.adc_steps) {
                *s += f64::from(*step);
            }
            c.calls += 1;
        }
    }
}

impl LayerOps for CrossbarOps {
    fn conv(
        &self,
        i: usize,
        x: &Tensor,
        w: &Tensor,
        stride: usize,
        padding: usize,
    ) -> Result<Tensor> {
        let (y, summary) = crossbar_conv2d(x, &self.weight(w), stride, padding, self.call(i))?;
        self.record(i, &summary);
        Ok(y)
    }

    fn fc(&self, i: usize, x: &Tensor, w: &Tensor) -> Result<Tensor> {
        let (y, summary) = crossbar_linear(x, &self.weight(w), self.call(i))?;
        self.record(i, &summary);
        Ok(y)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::arch::ModelName;
    use crate::crossbar::{characterise, NoiseParams};
    use crate::design::Design;
    use crate::models::Network;
    use candle_core::{DType, Device};
    use rand::SeedableRng;

    fn chip(cell_bits: u8) -> Arc<Chip> {
        let d = Design::noisiest_corner(cell_bits, 64);
        Arc::new(Chip::new(
            characterise(&d, &NoiseParams::default()).unwrap(),
        ))
    }

    fn input() -> Tensor {
        Tensor::from_vec(
            (0..2 * 3 * 32 * 32)
                .map(|i| ((i % 97) as f32 - 48.0) / 50.0)
                .collect(),
            (2, 3, 32, 32),
            &Device::Cpu,
        )
        .unwrap()
    }

    #[test]
    fn noise_reaches_the_forward_pass_and_the_gradient_reaches_the_clean_weights() {
        let net = Network::new(ModelName::CnnSmall, 32, 10, 3, &Device::Cpu).unwrap();
        let ops = CrossbarOps::new(
            chip(8),
            CellNoise::Full,
            &net.layers(),
            (1.0, 1.0),
            ChaCha8Rng::seed_from_u64(1),
        );
        let x = input();
        let a = net.forward_t(&x, true, &ops).unwrap();
        let b = net.forward_t(&x, true, &ops).unwrap();
        let diff = (&a - &b).unwrap().abs().unwrap().sum_all().unwrap();
        assert!(
            diff.to_scalar::<f32>().unwrap() > 0.0,
            "fresh noise per pass"
        );
        let grads = a.sum_all().unwrap().backward().unwrap();
        for (name, var) in net.trainable() {
            assert!(
                grads.get(var.as_tensor()).is_some(),
                "no gradient for {name}"
            );
        }
        // The same seed repeats the pass exactly.
        ops.reseed(ChaCha8Rng::seed_from_u64(1));
        let again = net.forward_t(&x, true, &ops).unwrap();
        let same = (&a - &again).unwrap().abs().unwrap().sum_all().unwrap();
        assert_eq!(same.to_scalar::<f32>().unwrap(), 0.0);
    }

    /// Calibration averages the calls' ranges; frozen ranges are then used as they are.
    #[test]
    fn calibration_freezes_the_mean_of_the_calls_ranges() {
        let net = Network::new(ModelName::CnnSmall, 32, 10, 3, &Device::Cpu).unwrap();
        let ops = CrossbarOps::new(
            chip(4),
            CellNoise::None,
            &net.layers(),
            (1.0, 1.0),
            ChaCha8Rng::seed_from_u64(1),
        );
        assert!(ops.freeze().is_err());
        let x = input();
        let half = (&x * 0.5).unwrap();
        ops.start_calibration();
        net.forward_t(&x, false, &ops).unwrap();
        net.forward_t(&half, false, &ops).unwrap();
        ops.freeze().unwrap();
        let ranges = ops.frozen_ranges().unwrap();
        assert_eq!(ranges.len(), net.layers().len());
        // The first layer sees the images themselves: max |x| = 0.96 and 0.48.
        let expected = (0.96 + 0.48) / 2.0 / 127.0;
        assert!(
            (ranges[0].dac_step - expected).abs() < 1e-6,
            "{:?}",
            ranges[0]
        );
        // Two slices of 4-bit pairs, each with its ADC step.
        assert_eq!(ranges[0].adc_steps.len(), 2);
        let y = net.forward_t(&x, false, &ops).unwrap();
        assert_eq!(y.dims(), &[2, 10]);
        assert_eq!(y.dtype(), DType::F32);
    }
}
