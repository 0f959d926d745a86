//! What a design's crossbars do to each layer of a network, before any training is paid
//! for (`pipeline noise`): per layer, the crossbar tiles, the rows' voltages, the
//! per-level read sigma and the relative output noise, measured on a batch of images.
//!
//! The network runs on the chip without stochastic noise (its quantisation only), so
//! every layer sees the input the noise-free chip gives it. On that input, each layer
//! is run once with noise and this batch's own ranges (which fixes the DAC and ADC
//! ranges, as a calibration would), then without noise and `draws` times with fresh
//! noise at those ranges:
//! - `relative_noise = rms(noisy - clean) / std(clean)`, the noise alone;
//! - `quantisation_error = rms(clean - float) / std(float)`, what the 8-bit weights,
//!   the DAC and the ADC cost against the float layer.

use std::cell::RefCell;
use std::sync::Arc;

use candle_core::{Result, Shape, Tensor};
use serde::Serialize;

use crate::arch::LayerSpec;
use crate::crossbar_sim::{run_layer, Backward, CellNoise, Chip, LayerCall, RangeMode};
use crate::kernels::geometry::Geometry;
use crate::models::{Clean, ConvBackend, LayerOps, Network};

/// One layer's figures.
#[derive(Debug, Clone, Serialize)]
pub struct LayerProbe {
    /// The layer's name.
    pub name: String,
    /// Crossbar rows of its unfolded weight matrix.
    pub rows: usize,
    /// Its outputs (columns before slicing and the differential pair).
    pub outputs: usize,
    /// Crossbars along the rows: `ceil(rows / S)`.
    pub row_tiles: usize,
    /// Crossbars along the columns: `ceil(outputs * slices * 2 / S)`.
    pub col_tiles: usize,
    /// Mean voltage of the rows with any input, volts.
    pub voltage_mean_v: f64,
    /// Lowest voltage of a row with any input, volts.
    pub voltage_min_v: f64,
    /// Highest row voltage, volts.
    pub voltage_max_v: f64,
    /// Read + programming sigma at each level (0 = `g_min`) at the median row voltage, S.
    pub sigma_per_level_s: Vec<f64>,
    /// The same sigmas in units of the level step.
    pub sigma_per_level_steps: Vec<f64>,
    /// `rms(noisy - clean) / std(clean)` of the layer's output.
    pub relative_noise: f64,
    /// `rms(clean - float) / std(float)`: the chip's quantisation against the float layer.
    pub quantisation_error: f64,
}

/// Runs `images` through `net` on `chip` and measures every weight layer.
pub fn probe(
    net: &Network,
    images: &Tensor,
    chip: &Arc<Chip>,
    draws: usize,
    seed: u64,
) -> anyhow::Result<Vec<LayerProbe>> {
    anyhow::ensure!(draws >= 1, "at least one noise draw is needed");
    let layers: Vec<LayerSpec> = net.layers().into_iter().cloned().collect();
    let ops = ProbeOps {
        chip: Arc::clone(chip),
        layers,
        draws,
        seed,
        found: RefCell::new(Vec::new()),
    };
    net.forward_t(images, false, &ops)?;
    Ok(ops.found.into_inner())
}

/// The layer ops that measure each layer and pass the noise-free chip's output on.
struct ProbeOps {
    chip: Arc<Chip>,
    layers: Vec<LayerSpec>,
    draws: usize,
    seed: u64,
    found: RefCell<Vec<LayerProbe>>,
}

impl ProbeOps {
    fn measure(
        &self,
        i: usize,
        x: &Tensor,
        w: &Tensor,
        g: Geometry,
        float: &Tensor,
    ) -> Result<Tensor> {
        let xs: Vec<f32> = x.flatten_all()?.to_vec1()?;
        let ws: Vec<f32> = w.flatten_all()?.to_vec1()?;
        let call = |noise, ranges, seed| LayerCall {
            chip: Arc::clone(&self.chip),
            noise,
            noise_scale: 1.0,
            ranges,
            seed,
        };
        let base = self.seed.wrapping_mul(1000).wrapping_add(i as u64 * 100);
        let calibration = run_layer(
            &g,
            &xs,
            &ws,
            &call(CellNoise::Full, RangeMode::Dynamic, base),
            Backward::Skip,
        );
        let frozen = RangeMode::Frozen(calibration.ranges.clone());
        let clean = run_layer(
            &g,
            &xs,
            &ws,
            &call(CellNoise::None, frozen.clone(), 0),
            Backward::Skip,
        );
        let mut noise_sq = 0.0f64;
        for d in 0..self.draws {
            let noisy = run_layer(
                &g,
                &xs,
                &ws,
                &call(CellNoise::Full, frozen.clone(), base + 1 + d as u64),
                Backward::Skip,
            );
            noise_sq += squared_distance(&noisy.y, &clean.y);
        }
        let n = clean.y.len().max(1) as f64;
        let float_y: Vec<f32> = float.flatten_all()?.to_vec1()?;
        let relative_noise = (noise_sq / (self.draws as f64 * n)).sqrt() / std(&clean.y);
        let quantisation_error = (squared_distance(&clean.y, &float_y) / n).sqrt() / std(&float_y);
        let c = &self.chip.characterisation;
        let spec = &self.layers[i];
        let s = c.xbar_size as usize;
        let active: Vec<f64> = calibration
            .row_voltage
            .iter()
            .copied()
            .filter(|&v| v > 0.0)
            .collect();
        let mut sorted = active.clone();
        sorted.sort_by(f64::total_cmp);
        let median = sorted.get(sorted.len() / 2).copied().unwrap_or(0.0);
        let sigma_per_level_s: Vec<f64> = (0..c.levels.len())
            .map(|l| c.sigma_total(l, median))
            .collect();
        self.found.borrow_mut().push(LayerProbe {
            name: spec.name.clone(),
            rows: spec.crossbar_rows(),
            outputs: spec.output_channels(),
            row_tiles: spec.crossbar_rows().div_ceil(s),
            col_tiles: (spec.output_channels() * self.chip.slicing.slices() * 2).div_ceil(s),
            voltage_mean_v: active.iter().sum::<f64>() / active.len().max(1) as f64,
            voltage_min_v: sorted.first().copied().unwrap_or(0.0),
            voltage_max_v: sorted.last().copied().unwrap_or(0.0),
            sigma_per_level_steps: sigma_per_level_s.iter().map(|s| s / c.delta_g).collect(),
            sigma_per_level_s,
            relative_noise,
            quantisation_error,
        });
        Tensor::from_vec(clean.y, float.shape(), float.device())
    }
}

impl LayerOps for ProbeOps {
    fn conv(
        &self,
        i: usize,
        x: &Tensor,
        w: &Tensor,
        stride: usize,
        padding: usize,
    ) -> Result<Tensor> {
        let float = Clean(ConvBackend::Fast).conv(i, x, w, stride, padding)?;
        let g = Geometry::new(x.shape(), w.shape(), stride, padding)?;
        self.measure(i, x, w, g, &float)
    }

    fn fc(&self, i: usize, x: &Tensor, w: &Tensor) -> Result<Tensor> {
        let float = Clean(ConvBackend::Fast).fc(i, x, w)?;
        let (n, k) = x.dims2()?;
        let out = w.dim(0)?;
        let g = Geometry::new(
            &Shape::from((n, k, 1, 1)),
            &Shape::from((out, k, 1, 1)),
            1,
            0,
        )?;
        self.measure(i, x, w, g, &float)
    }
}

/// `sum (a - b)^2`.
fn squared_distance(a: &[f32], b: &[f32]) -> f64 {
    a.iter().zip(b).map(|(x, y)| f64::from(x - y).powi(2)).sum()
}

/// The standard deviation of `v` (a tiny positive number for a constant `v`).
fn std(v: &[f32]) -> f64 {
    let n = v.len().max(1) as f64;
    let mean = v.iter().map(|&x| f64::from(x)).sum::<f64>() / n;
    let var = v
        .iter()
        .map(|&x| (f64::from(x) - mean).powi(2))
        .sum::<f64>()
        / n;
    var.sqrt().max(1e-30)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::arch::ModelName;
    use crate::crossbar::{characterise, NoiseParams};
    use crate::design::Design;
    use candle_core::Device;

    fn chip(design: Design) -> Arc<Chip> {
        Arc::new(Chip::new(
            characterise(&design, &NoiseParams::default()).unwrap(),
        ))
    }

    fn images() -> Tensor {
        Tensor::from_vec(
            (0..20 * 3 * 32 * 32)
                .map(|i| ((i * 7919 % 211) as f32 - 105.0) / 60.0)
                .collect(),
            (20, 3, 32, 32),
            &Device::Cpu,
        )
        .unwrap()
    }

    /// Every layer is measured; the FC layer, with one output position per image, sees
    /// the most noise (PytorX's `sqrt(N / L)`); smaller crossbars see less.
    #[test]
    fn every_layer_is_measured_and_the_fc_layer_is_noisiest() {
        let net = Network::new(ModelName::CnnSmall, 32, 10, 1, &Device::Cpu).unwrap();
        let design = Design {
            adc_bits: 8,
            ..Design::noisiest_corner(8, 128)
        };
        let probes = probe(&net, &images(), &chip(design), 2, 1).unwrap();
        assert_eq!(probes.len(), net.layers().len());
        let fc = probes.last().unwrap();
        for conv in &probes[..probes.len() - 1] {
            assert!(conv.relative_noise < fc.relative_noise, "{probes:#?}");
        }
        assert!(probes
            .iter()
            .all(|p| p.relative_noise > 0.0 && p.quantisation_error > 0.0));
        assert_eq!(fc.row_tiles, fc.rows.div_ceil(128));
        assert_eq!(fc.sigma_per_level_s.len(), 129);
        let small = probe(
            &net,
            &images(),
            &chip(Design {
                xbar_size: 32,
                ..design
            }),
            2,
            1,
        )
        .unwrap();
        for (a, b) in small.iter().zip(&probes) {
            assert!(
                a.relative_noise < b.relative_noise,
                "{} at 32: {} vs {}",
                a.name,
                a.relative_noise,
                b.relative_noise
            );
        }
    }
}
