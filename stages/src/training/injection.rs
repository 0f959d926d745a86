//! Per-pass crossbar noise: the weight hook that quantises every conv and FC weight to
//! 8 bits, maps it onto the design's cells, reads each cell once with fresh noise and
//! composes the effective weights straight-through:
//! `w_eff = w + (w_noisy - w).detach()`, so the forward pass sees the noisy crossbar and
//! the gradient reaches the noise-free weights unchanged.

use std::cell::RefCell;

use candle_core::{Result, Tensor};
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal};

use crate::arch::LayerSpec;
use crate::mapping::{quantise, WeightNoise};

/// What noise the hook injects.
#[derive(Debug, Clone)]
pub enum NoiseKind {
    /// None: the 8-bit quantised weights as programmed (clean accuracy).
    QuantisedOnly,
    /// The cell-level crossbar model (full, or programming-only).
    Crossbar(WeightNoise),
    /// Naive Gaussian weight noise whose per-layer RMS equals the crossbar model's.
    Gaussian(WeightNoise),
}

/// A weight hook for [`crate::models::Network::forward_t`] that injects noise.
pub struct NoiseInjector {
    kind: NoiseKind,
    /// Per weight layer: output channels and the noise scale.
    layers: Vec<(usize, f64)>,
    rng: RefCell<ChaCha8Rng>,
}

impl NoiseInjector {
    /// An injector for a network's `layers`, scaling conv noise by `conv_scale` and FC
    /// noise by `fc_scale`, drawing from `rng`.
    pub fn new(
        kind: NoiseKind,
        layers: &[&LayerSpec],
        conv_scale: f64,
        fc_scale: f64,
        rng: ChaCha8Rng,
    ) -> NoiseInjector {
        let layers = layers
            .iter()
            .map(|l| {
                let scale = if l.is_conv() { conv_scale } else { fc_scale };
                (l.output_channels(), scale)
            })
            .collect();
        NoiseInjector {
            kind,
            layers,
            rng: RefCell::new(rng),
        }
    }

    /// Restarts the draws from `rng` (at each epoch or inference draw).
    pub fn reseed(&self, rng: ChaCha8Rng) {
        *self.rng.borrow_mut() = rng;
    }

    /// The effective weights of layer `i` for this pass, as plain values.
    pub fn effective_weights(&self, i: usize, w: &Tensor) -> Result<Tensor> {
        let (out_channels, scale) = self.layers[i];
        let values: Vec<f32> = w.flatten_all()?.to_vec1()?;
        let rng = &mut *self.rng.borrow_mut();
        let noisy = match &self.kind {
            NoiseKind::QuantisedOnly => quantise(&values, out_channels).dequantise(),
            NoiseKind::Crossbar(noise) => noise.noisy_weights(&values, out_channels, scale, rng),
            NoiseKind::Gaussian(noise) => {
                gaussian_weights(noise, &values, out_channels, scale, rng)
            }
        };
        Tensor::from_vec(noisy, w.shape(), w.device())
    }

    /// The straight-through hook: noisy values forward, identity gradient backward.
    pub fn straight_through(&self, i: usize, w: &Tensor) -> Result<Tensor> {
        let noisy = self.effective_weights(i, w)?;
        w + (noisy - w)?.detach()
    }
}

/// The quantised weights plus i.i.d. Gaussian noise of the crossbar model's RMS
/// deviation for this layer, times `scale`.
fn gaussian_weights<R: Rng + ?Sized>(
    noise: &WeightNoise,
    values: &[f32],
    out_channels: usize,
    scale: f64,
    rng: &mut R,
) -> Vec<f32> {
    let layer = quantise(values, out_channels);
    let sigma = scale * noise.rms_deviation(&layer);
    let mut clean = layer.dequantise();
    if sigma > 0.0 {
        let normal = Normal::new(0.0, sigma).expect("a finite positive sigma");
        for w in &mut clean {
            *w += normal.sample(rng) as f32;
        }
    }
    clean
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

    fn noise(cell_bits: u8) -> WeightNoise {
        let d = Design::noisiest_corner(cell_bits, 64);
        WeightNoise::new(
            &characterise(&d, &NoiseParams::default()).unwrap(),
            cell_bits,
        )
    }

    fn grads_of(net: &Network, hook: crate::models::WeightHook) -> Vec<Vec<f32>> {
        let x = Tensor::from_vec(
            (0..2 * 3 * 32 * 32)
                .map(|i| ((i % 97) as f32 - 48.0) / 50.0)
                .collect(),
            (2, 3, 32, 32),
            &Device::Cpu,
        )
        .unwrap();
        let y = Tensor::new(&[1u32, 4], &Device::Cpu).unwrap();
        let logits = net.forward_t(&x, true, hook).unwrap();
        let loss = candle_nn::loss::cross_entropy(&logits, &y).unwrap();
        let grads = loss.backward().unwrap();
        net.trainable()
            .iter()
            .map(|(_, v)| {
                grads
                    .get(v.as_tensor())
                    .unwrap()
                    .flatten_all()
                    .unwrap()
                    .to_vec1()
                    .unwrap()
            })
            .collect()
    }

    /// With zero noise the straight-through gradient is the clean gradient of the
    /// quantised network.
    #[test]
    fn the_straight_through_gradient_equals_the_clean_gradient_at_zero_noise() {
        let net = Network::new(ModelName::CnnSmall, 32, 10, 3, &Device::Cpu).unwrap();
        let layers = net.layers();
        let quantised = NoiseInjector::new(
            NoiseKind::QuantisedOnly,
            &layers,
            1.0,
            1.0,
            ChaCha8Rng::seed_from_u64(0),
        );
        // Put the quantised values into the network, so its clean forward is the
        // quantised network.
        for (name, var) in net.trainable() {
            if let Some(l) = layers
                .iter()
                .position(|l| name == format!("{}.weight", l.name))
            {
                var.set(&quantised.effective_weights(l, var.as_tensor()).unwrap())
                    .unwrap();
            }
        }
        let zero = NoiseInjector::new(
            NoiseKind::Crossbar(noise(4)),
            &layers,
            0.0,
            0.0,
            ChaCha8Rng::seed_from_u64(0),
        );
        let clean = grads_of(&net, &|_, w| Ok(w.clone()));
        let ste = grads_of(&net, &|i, w| zero.straight_through(i, w));
        for (a, b) in clean.iter().zip(&ste) {
            for (x, y) in a.iter().zip(b) {
                assert!((x - y).abs() <= 1e-5 * x.abs().max(1e-3), "{x} vs {y}");
            }
        }
    }

    #[test]
    fn noise_reaches_the_forward_pass_and_the_gradient_reaches_the_clean_weights() {
        let net = Network::new(ModelName::CnnSmall, 32, 10, 3, &Device::Cpu).unwrap();
        let layers = net.layers();
        let inj = NoiseInjector::new(
            NoiseKind::Crossbar(noise(8)),
            &layers,
            1.0,
            1.0,
            ChaCha8Rng::seed_from_u64(1),
        );
        let w = net.weight(0);
        let a = inj.straight_through(0, w).unwrap();
        let b = inj.straight_through(0, w).unwrap();
        let diff = (&a - &b).unwrap().abs().unwrap().sum_all().unwrap();
        assert!(
            diff.to_scalar::<f32>().unwrap() > 0.0,
            "fresh noise per pass"
        );
        let g = a.sum_all().unwrap().backward().unwrap();
        let gw = g.get(w).unwrap();
        let ones = Tensor::ones(w.shape(), DType::F32, &Device::Cpu).unwrap();
        assert_eq!(
            gw.flatten_all().unwrap().to_vec1::<f32>().unwrap(),
            ones.flatten_all().unwrap().to_vec1::<f32>().unwrap()
        );
    }

    #[test]
    fn gaussian_noise_matches_the_crossbar_rms() {
        let n = noise(6);
        let values: Vec<f32> = (0..4000)
            .map(|i| ((i * 31 % 199) as f32 / 100.0) - 1.0)
            .collect();
        let clean = quantise(&values, 4).dequantise();
        let mut rng = ChaCha8Rng::seed_from_u64(2);
        let g = gaussian_weights(&n, &values, 4, 1.0, &mut rng);
        let rms = |v: &[f32]| {
            (v.iter()
                .zip(&clean)
                .map(|(a, b)| f64::from(a - b).powi(2))
                .sum::<f64>()
                / v.len() as f64)
                .sqrt()
        };
        let c = n.noisy_weights(&values, 4, 1.0, &mut rng);
        assert!(
            (rms(&g) / rms(&c) - 1.0).abs() < 0.05,
            "{} vs {}",
            rms(&g),
            rms(&c)
        );
    }
}
