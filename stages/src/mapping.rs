//! Quantise and map: 8-bit weights bit-sliced onto ReRAM cells as differential
//! conductance pairs, and back (paper sections 2-4).
//!
//! - **Quantisation**: symmetric, per output channel: `scale_c = max |w_c| / 127`,
//!   `q = round(w / scale_c)` in `-127..=127` (8-bit signed, the zero point at 0).
//! - **Bit slicing**: the magnitude `|q|` (8 bits, top bit 0) is split into
//!   `n = ceil(8 / b)` slices of `b` bits, least significant first (the last slice keeps
//!   the remaining `8 - (n - 1) b` bits). Slice `k` weighs `2^(k b)`.
//! - **Differential pair**: slice `k` of a positive weight programs the `G+` cell at
//!   level `slice_k(|q|)` and the `G-` cell at level 0 (`g_min`); a negative weight the
//!   reverse. Level `l` is conductance `g_min + l dG`.
//! - **Reconstruction**: `w = scale_c sum_k 2^(k b) (G+_k - G-_k) / dG`; `g_min` cancels in
//!   the difference, so with exact conductances it returns the quantised weight exactly.
//!
//! [`NoisyMapper`] draws a fresh noisy read of every cell (Gaussian thermal + shot +
//! programming noise, and RTN, from the design's [`Characterisation`]) and composes it
//! into effective weights, with a layer-wise noise scale.

use rand::Rng;

use crate::crossbar::Characterisation;
use crate::design::Design;

/// Largest quantised magnitude (8-bit signed, symmetric).
pub const Q_MAX: i32 = 127;

/// A layer's weights quantised to 8 bits per output channel.
#[derive(Debug, Clone, PartialEq)]
pub struct QuantisedLayer {
    /// Quantised weights in `-127..=127`, in the layer's layout (output channel major).
    pub q: Vec<i8>,
    /// One scale per output channel.
    pub scale: Vec<f32>,
    /// Weights per output channel.
    pub per_channel: usize,
}

/// Quantises weights laid out output-channel major (`out_channels` blocks of equal size).
pub fn quantise(weights: &[f32], out_channels: usize) -> QuantisedLayer {
    assert!(
        out_channels > 0 && weights.len().is_multiple_of(out_channels),
        "{} weights do not split into {out_channels} output channels",
        weights.len()
    );
    let per_channel = weights.len() / out_channels;
    let mut q = Vec::with_capacity(weights.len());
    let mut scale = Vec::with_capacity(out_channels);
    for channel in weights.chunks_exact(per_channel) {
        let max = channel.iter().fold(0f32, |m, w| m.max(w.abs()));
        let s = if max > 0.0 { max / Q_MAX as f32 } else { 1.0 };
        scale.push(s);
        q.extend(
            channel
                .iter()
                .map(|w| (w / s).round().clamp(-Q_MAX as f32, Q_MAX as f32) as i8),
        );
    }
    QuantisedLayer {
        q,
        scale,
        per_channel,
    }
}

impl QuantisedLayer {
    /// The quantised weights as real numbers, `q * scale`.
    pub fn dequantise(&self) -> Vec<f32> {
        self.q
            .iter()
            .enumerate()
            .map(|(i, &q)| f32::from(q) * self.scale[i / self.per_channel])
            .collect()
    }
}

/// The bit-slicing geometry of a cell resolution.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Slicing {
    /// Bits per cell.
    pub cell_bits: u32,
    /// Cells per weight and polarity: `ceil(8 / cell_bits)`.
    pub slices: usize,
}

impl Slicing {
    /// The slicing for `b` bits per cell.
    pub fn new(cell_bits: u8) -> Slicing {
        let b = u32::from(cell_bits);
        assert!((1..=8).contains(&b), "cell_bits must be in 1..=8, got {b}");
        Slicing {
            cell_bits: b,
            slices: Design::WEIGHT_BITS.div_ceil(b) as usize,
        }
    }

    /// The levels of `|q|`'s slices, least significant first.
    pub fn levels(&self, magnitude: u8) -> impl Iterator<Item = u8> + '_ {
        let mask = (1u16 << self.cell_bits) - 1;
        (0..self.slices)
            .map(move |k| ((u16::from(magnitude) >> (k as u32 * self.cell_bits)) & mask) as u8)
    }

    /// The weight of slice `k`: `2^(k b)`.
    pub fn slice_weight(&self, k: usize) -> f64 {
        f64::from(1u32 << (k as u32 * self.cell_bits))
    }
}

/// The cell levels of a quantised layer: for each weight, `slices` levels of the `G+`
/// cells then `slices` of the `G-` cells.
pub fn cell_levels(layer: &QuantisedLayer, slicing: &Slicing) -> Vec<u8> {
    let mut out = Vec::with_capacity(layer.q.len() * 2 * slicing.slices);
    for &q in &layer.q {
        let m = q.unsigned_abs();
        let (pos, neg) = if q >= 0 { (m, 0) } else { (0, m) };
        out.extend(slicing.levels(pos));
        out.extend(slicing.levels(neg));
    }
    out
}

/// Reconstructs weights from cell conductances (laid out as [`cell_levels`]).
pub fn reconstruct(
    conductances: &[f64],
    layer: &QuantisedLayer,
    slicing: &Slicing,
    delta_g: f64,
) -> Vec<f32> {
    let n = slicing.slices;
    conductances
        .chunks_exact(2 * n)
        .enumerate()
        .map(|(i, cells)| {
            let diff: f64 = (0..n)
                .map(|k| slicing.slice_weight(k) * (cells[k] - cells[n + k]))
                .sum();
            (diff / delta_g) as f32 * layer.scale[i / layer.per_channel]
        })
        .collect()
}

/// A layer mapped onto a design's cells, ready to draw noisy effective weights.
#[derive(Debug, Clone)]
pub struct NoisyMapper {
    layer: QuantisedLayer,
    slicing: Slicing,
    levels: Vec<u8>,
}

impl NoisyMapper {
    /// Quantises `weights` (output-channel major) and maps them for `cell_bits` cells.
    pub fn new(weights: &[f32], out_channels: usize, cell_bits: u8) -> NoisyMapper {
        let layer = quantise(weights, out_channels);
        let slicing = Slicing::new(cell_bits);
        let levels = cell_levels(&layer, &slicing);
        NoisyMapper {
            layer,
            slicing,
            levels,
        }
    }

    /// The quantised layer.
    pub fn layer(&self) -> &QuantisedLayer {
        &self.layer
    }

    /// Effective weights of one read: every cell read once with fresh noise, the
    /// deviation from the programmed conductance multiplied by `noise_scale` (1 for the
    /// full model; the layer-wise factor during training).
    pub fn noisy_weights<R: Rng + ?Sized>(
        &self,
        noise: &Characterisation,
        noise_scale: f64,
        rng: &mut R,
    ) -> Vec<f32> {
        let n = self.slicing.slices;
        let mut out = Vec::with_capacity(self.layer.q.len());
        for (i, cells) in self.levels.chunks_exact(2 * n).enumerate() {
            let mut diff = 0.0;
            for k in 0..n {
                let mut read = |level: u8| {
                    f64::from(level) * noise.delta_g
                        + noise_scale * noise.read_deviation(usize::from(level), rng)
                };
                let (pos, neg) = (read(cells[k]), read(cells[n + k]));
                diff += self.slicing.slice_weight(k) * (pos - neg);
            }
            out.push((diff / noise.delta_g) as f32 * self.layer.scale[i / self.layer.per_channel]);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crossbar::{characterise, NoiseParams};
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    fn design(cell_bits: u8) -> Design {
        Design {
            cell_bits,
            xbar_size: 64,
            freq_hz: 1e9,
            temp_k: 400.0,
            adc_bits: 5,
            read_voltage: 0.2,
            g_min: 3.33e-7,
            g_max: 3.33e-4,
        }
    }

    #[test]
    fn quantisation_is_symmetric_per_output_channel() {
        let w = [0.5f32, -1.0, 0.25, 0.0, 2.0, -0.02];
        let q = quantise(&w, 2);
        assert_eq!(q.scale, vec![1.0 / 127.0, 2.0 / 127.0]);
        assert_eq!(q.q, vec![64, -127, 32, 0, 127, -1]);
        let zero = quantise(&[0.0, 0.0], 1);
        assert_eq!(zero.dequantise(), vec![0.0, 0.0]);
    }

    #[test]
    fn slicing_by_hand() {
        // 8-bit magnitude 0b0110_1101 = 109 in 3-bit cells: 101, 101, 01 (LSB first).
        let s = Slicing::new(3);
        assert_eq!(s.slices, 3);
        assert_eq!(s.levels(109).collect::<Vec<_>>(), vec![5, 5, 1]);
        assert_eq!(
            Slicing::new(2).levels(109).collect::<Vec<_>>(),
            vec![1, 3, 2, 1]
        );
        assert_eq!(Slicing::new(8).levels(109).collect::<Vec<_>>(), vec![109]);
        assert_eq!(Slicing::new(1).slices, 8);
        assert_eq!(Slicing::new(5).slices, 2);
    }

    /// With exact conductances every cell resolution reconstructs the quantised
    /// weights exactly.
    #[test]
    fn zero_noise_reconstruction_is_exact() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let w: Vec<f32> = (0..64 * 9).map(|_| rng.random_range(-1.0..1.0)).collect();
        for bits in 1..=8 {
            let d = design(bits);
            let c = characterise(&d, &NoiseParams::default()).unwrap();
            let layer = quantise(&w, 64);
            let slicing = Slicing::new(bits);
            let g: Vec<f64> = cell_levels(&layer, &slicing)
                .iter()
                .map(|&l| c.levels[usize::from(l)].conductance)
                .collect();
            let back = reconstruct(&g, &layer, &slicing, c.delta_g);
            for (a, b) in back.iter().zip(layer.dequantise()) {
                assert!(
                    (a - b).abs() <= 1e-6 * b.abs().max(1e-3),
                    "{bits} bits: {a} vs {b}"
                );
            }
            // The mapper with its noise switched off gives the same.
            let mapper = NoisyMapper::new(&w, 64, bits);
            let noiseless = mapper.noisy_weights(&c, 0.0, &mut rng);
            assert_eq!(noiseless.len(), w.len());
            for (a, b) in noiseless.iter().zip(layer.dequantise()) {
                assert!((a - b).abs() <= 1e-6 * b.abs().max(1e-3));
            }
        }
    }

    /// The composed weights' noise has the mean and variance the characterisation
    /// implies: per slice, the read deviations of the G+ and G- cells, weighted 2^(kb).
    #[test]
    fn composed_weight_noise_matches_the_characterisation() {
        let bits = 4;
        let c = characterise(&design(bits), &NoiseParams::default()).unwrap();
        let w = [0.7f32, -0.3];
        let mapper = NoisyMapper::new(&w, 1, bits);
        let slicing = Slicing::new(bits);
        let levels = cell_levels(mapper.layer(), &slicing);
        let scale = f64::from(mapper.layer().scale[0]);
        let n = slicing.slices;
        let mut rng = ChaCha8Rng::seed_from_u64(17);
        let draws = 40_000;
        for (i, cells) in levels.chunks_exact(2 * n).enumerate() {
            let (mut mean, mut var) = (f64::from(mapper.layer().dequantise()[i]), 0.0);
            for k in 0..n {
                let wk = slicing.slice_weight(k) * scale / c.delta_g;
                let (mp, sp) = c.read_moments(usize::from(cells[k]));
                let (mn, sn) = c.read_moments(usize::from(cells[n + k]));
                let gp = c.levels[usize::from(cells[k])].conductance;
                let gn = c.levels[usize::from(cells[n + k])].conductance;
                mean += wk * ((mp - gp) - (mn - gn));
                var += wk * wk * (sp * sp + sn * sn);
            }
            let samples: Vec<f64> = (0..draws)
                .map(|_| f64::from(mapper.noisy_weights(&c, 1.0, &mut rng)[i]))
                .collect();
            let m = samples.iter().sum::<f64>() / draws as f64;
            let v = samples.iter().map(|s| (s - m).powi(2)).sum::<f64>() / (draws - 1) as f64;
            let sd = var.sqrt();
            assert!(
                (m - mean).abs() < 5.0 * sd / (draws as f64).sqrt(),
                "weight {i}: {m} vs {mean}"
            );
            assert!(
                (v.sqrt() - sd).abs() < 0.03 * sd,
                "weight {i}: {} vs {sd}",
                v.sqrt()
            );
        }
    }

    #[test]
    fn the_noise_scale_shrinks_the_deviation() {
        let c = characterise(&design(8), &NoiseParams::default()).unwrap();
        let w: Vec<f32> = (0..200).map(|i| (i as f32 / 100.0) - 1.0).collect();
        let mapper = NoisyMapper::new(&w, 2, 8);
        let clean = mapper.layer().dequantise();
        let spread = |s: f64| {
            let mut rng = ChaCha8Rng::seed_from_u64(5);
            let noisy = mapper.noisy_weights(&c, s, &mut rng);
            noisy
                .iter()
                .zip(&clean)
                .map(|(a, b)| f64::from(a - b).powi(2))
                .sum::<f64>()
        };
        let (full, half) = (spread(1.0), spread(0.5));
        assert!(half < 0.5 * full, "{half} vs {full}");
    }
}
