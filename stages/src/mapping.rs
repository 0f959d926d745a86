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
//! [`WeightNoise`] draws a fresh noisy read of every cell (Gaussian thermal + shot +
//! programming noise, and RTN, from the design's [`Characterisation`]) and composes it
//! into effective weights, with a layer-wise noise scale.

use rand::Rng;
use rand_distr::{Distribution, StandardNormal};

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

/// The noise of one weight magnitude's `2n` cells, folded into the weight domain (in
/// units of the quantisation step, i.e. of one `dG` in the least significant slice).
#[derive(Debug, Clone)]
struct MagnitudeNoise {
    /// Standard deviation of the summed Gaussian deviations of all the weight's cells:
    /// `sqrt(sum_k 4^(kb) (sigma(G+_k)^2 + sigma(G-_k)^2)) / dG`.
    sigma: f32,
    /// Each cell's signed RTN jump, `+-2^(kb) dG_rtn / dG` (`G+` cells first).
    jumps: Vec<f32>,
    /// The mean square deviation of one read, `E[dev^2]`.
    mean_square: f64,
}

/// A design's read noise folded from cells into weights, for fast per-pass draws.
///
/// A weight of quantised magnitude `m` sits on `2n` cells whose levels depend only on
/// `m` (and its sign swaps the `G+` and `G-` roles), so the noise of every magnitude is
/// tabulated once. One read of a weight then draws the sum of its cells' independent
/// Gaussian deviations as a single Gaussian with their summed variance (the same
/// distribution), and one RTN Bernoulli per cell. Deviations are scaled by the
/// channel's quantisation scale, so the result is exactly the cell-level model of
/// [`Characterisation`] composed through [`reconstruct`].
#[derive(Debug, Clone)]
pub struct WeightNoise {
    table: Vec<MagnitudeNoise>,
    /// `P(RTN)` as a threshold on a uniform `u32` (`2^32` means always).
    rtn_threshold: u64,
}

impl WeightNoise {
    /// Tabulates the noise of `noise`'s design (`cell_bits` cells per slice).
    pub fn new(noise: &Characterisation, cell_bits: u8) -> WeightNoise {
        let slicing = Slicing::new(cell_bits);
        let p = noise.rtn_probability;
        let n = slicing.slices;
        let table = (0..=Q_MAX as u8)
            .map(|m| {
                let pos: Vec<u8> = slicing.levels(m).collect();
                let mut variance = 0.0;
                let mut jumps = Vec::with_capacity(2 * n);
                for (sign, level) in pos
                    .iter()
                    .map(|&l| (1.0, l))
                    .chain((0..n).map(|_| (-1.0, 0)))
                {
                    let k = jumps.len() % n;
                    let weight = slicing.slice_weight(k) / noise.delta_g;
                    let l = &noise.levels[usize::from(level)];
                    variance += (weight * l.sigma_total).powi(2);
                    jumps.push((sign * weight * l.rtn_delta) as f32);
                }
                let sum: f64 = jumps.iter().map(|&a| f64::from(a)).sum();
                let sum_sq: f64 = jumps.iter().map(|&a| f64::from(a).powi(2)).sum();
                MagnitudeNoise {
                    sigma: variance.sqrt() as f32,
                    jumps,
                    mean_square: variance + p * (1.0 - p) * sum_sq + (p * sum).powi(2),
                }
            })
            .collect();
        WeightNoise {
            table,
            rtn_threshold: (p.clamp(0.0, 1.0) * 4_294_967_296.0) as u64,
        }
    }

    /// Effective weights of one read: `weights` (output-channel major) are quantised,
    /// every cell is read once with fresh noise, and the deviation from the programmed
    /// conductance is multiplied by `noise_scale` (1 for the full model; the layer-wise
    /// factor during training).
    pub fn noisy_weights<R: Rng + ?Sized>(
        &self,
        weights: &[f32],
        out_channels: usize,
        noise_scale: f64,
        rng: &mut R,
    ) -> Vec<f32> {
        let layer = quantise(weights, out_channels);
        let scale = noise_scale as f32;
        layer
            .q
            .iter()
            .enumerate()
            .map(|(i, &q)| {
                let cell = &self.table[usize::from(q.unsigned_abs())];
                let gauss: f32 = StandardNormal.sample(rng);
                let mut dev = cell.sigma * gauss;
                for &jump in &cell.jumps {
                    if u64::from(rng.next_u32()) < self.rtn_threshold {
                        dev += jump;
                    }
                }
                let sign = if q < 0 { -1.0 } else { 1.0 };
                (f32::from(q) + sign * scale * dev) * layer.scale[i / layer.per_channel]
            })
            .collect()
    }

    /// The root-mean-square deviation of one read of `layer`'s weights, averaged over
    /// the layer: the magnitude the naive Gaussian baseline matches.
    pub fn rms_deviation(&self, layer: &QuantisedLayer) -> f64 {
        if layer.q.is_empty() {
            return 0.0;
        }
        let total: f64 = layer
            .q
            .iter()
            .enumerate()
            .map(|(i, &q)| {
                let s = f64::from(layer.scale[i / layer.per_channel]);
                s * s * self.table[usize::from(q.unsigned_abs())].mean_square
            })
            .sum();
        (total / layer.q.len() as f64).sqrt()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crossbar::{characterise, NoiseParams};
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    fn design(cell_bits: u8) -> Design {
        Design::noisiest_corner(cell_bits, 64)
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
            // The noise model switched off gives the same.
            let noiseless = WeightNoise::new(&c, bits).noisy_weights(&w, 64, 0.0, &mut rng);
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
        let layer = quantise(&w, 1);
        let noise = WeightNoise::new(&c, bits);
        let slicing = Slicing::new(bits);
        let levels = cell_levels(&layer, &slicing);
        let scale = f64::from(layer.scale[0]);
        let n = slicing.slices;
        let mut rng = ChaCha8Rng::seed_from_u64(17);
        let draws = 40_000;
        for (i, cells) in levels.chunks_exact(2 * n).enumerate() {
            let (mut mean, mut var) = (f64::from(layer.dequantise()[i]), 0.0);
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
                .map(|_| f64::from(noise.noisy_weights(&w, 1, 1.0, &mut rng)[i]))
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
        let noise = WeightNoise::new(&c, 8);
        let clean = quantise(&w, 2).dequantise();
        let spread = |s: f64| {
            let mut rng = ChaCha8Rng::seed_from_u64(5);
            let noisy = noise.noisy_weights(&w, 2, s, &mut rng);
            noisy
                .iter()
                .zip(&clean)
                .map(|(a, b)| f64::from(a - b).powi(2))
                .sum::<f64>()
        };
        let (full, half) = (spread(1.0), spread(0.5));
        assert!(half < 0.5 * full, "{half} vs {full}");
    }

    /// The tabulated mean square deviation matches the draws.
    #[test]
    fn rms_deviation_matches_the_draws() {
        let c = characterise(&design(6), &NoiseParams::default()).unwrap();
        let noise = WeightNoise::new(&c, 6);
        let w: Vec<f32> = (0..300)
            .map(|i| ((i * 37 % 101) as f32 / 50.0) - 1.0)
            .collect();
        let clean = quantise(&w, 3).dequantise();
        let mut rng = ChaCha8Rng::seed_from_u64(9);
        let draws = 200;
        let mut sum_sq = 0.0;
        for _ in 0..draws {
            let noisy = noise.noisy_weights(&w, 3, 1.0, &mut rng);
            sum_sq += noisy
                .iter()
                .zip(&clean)
                .map(|(a, b)| f64::from(a - b).powi(2))
                .sum::<f64>();
        }
        let measured = (sum_sq / (draws * w.len()) as f64).sqrt();
        let expected = noise.rms_deviation(&quantise(&w, 3));
        assert!(
            (measured / expected - 1.0).abs() < 0.03,
            "{measured} vs {expected}"
        );
    }
}
