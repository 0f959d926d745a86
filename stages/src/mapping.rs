//! Quantise and map: 8-bit weights bit-sliced onto ReRAM differential pairs (paper
//! sections 2-4, PytorX's `w2g`).
//!
//! - **Quantisation** (PytorX's `crxb_Conv2d.forward`): symmetric and per layer,
//!   `delta_w = max |W| / 127`, `q = round(W / delta_w)` in `-127..=127` (halves to
//!   even, as `torch.round`).
//! - **Cell resolution** (PytorX's convention): a `b`-bit differential pair stores a
//!   *signed* digit `d` in `-2^(b-1)..=2^(b-1)`: the `G+` cell at level `max(d, 0)`, the
//!   `G-` cell at level `max(-d, 0)`, level `l` being conductance `g_min + l dG` with
//!   `dG = (g_max - g_min) / 2^(b-1)`. At `b = 8` this is PytorX exactly: one pair per
//!   weight, `d = q`, `dG = (g_max - g_min) / 2^7`. From 2-bit to 8-bit pairs the level
//!   step shrinks 64x, the paper's "noise margin".
//! - **Bit slicing** for `b < 8`: `n = ceil(8 / b)` pairs per weight (the paper's cell
//!   count, also the PPA model's), aligned to the weight's most significant end. Slice
//!   `k` (least significant first) weighs `2^max(0, 8 - (n - k) b)`: the top slice weighs
//!   `2^(8 - b)`, the one below `2^(8 - 2b)`, down to 1. The digits are taken from the top
//!   with rounding to the nearest (halves away from zero), so each digit fits
//!   `|d| <= 2^(b-1)` and `q = sum_k d_k 2^(w_k)` exactly. Aligning to the top, rather than
//!   filling slices from the least significant bit, keeps every slice in use: with
//!   7-bit magnitudes a bottom-up split leaves the top slice of 5-, 6- and 7-bit cells
//!   (nearly) always at `g_min`, yet its noise is weighted by its full `2^(k b)`.
//! - **Reconstruction**: `W = delta_w sum_k 2^(w_k) (G+_k - G-_k) / dG`; `g_min` cancels
//!   in the difference.

use crate::design::Design;

/// Largest quantised magnitude (8-bit signed, symmetric).
pub const Q_MAX: i32 = 127;

/// A layer's weights quantised to 8 bits with one scale (PytorX's `delta_w`).
#[derive(Debug, Clone, PartialEq)]
pub struct QuantisedLayer {
    /// Quantised weights in `-127..=127`, in the layer's layout.
    pub q: Vec<i8>,
    /// The step of one quantisation level, `max |W| / 127` (1 for an all-zero layer).
    pub scale: f32,
}

/// Quantises a layer's weights (PytorX's per-layer `delta_w`).
pub fn quantise(weights: &[f32]) -> QuantisedLayer {
    let max = weights.iter().fold(0f32, |m, w| m.max(w.abs()));
    let scale = if max > 0.0 { max / Q_MAX as f32 } else { 1.0 };
    let q = weights
        .iter()
        .map(|w| {
            (w / scale)
                .round_ties_even()
                .clamp(-Q_MAX as f32, Q_MAX as f32) as i8
        })
        .collect();
    QuantisedLayer { q, scale }
}

impl QuantisedLayer {
    /// The quantised weights as real numbers, `q * scale`.
    pub fn dequantise(&self) -> Vec<f32> {
        self.q.iter().map(|&q| f32::from(q) * self.scale).collect()
    }
}

/// The bit-slicing geometry of a cell resolution.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Slicing {
    /// Bits per differential pair.
    pub cell_bits: u32,
    /// Each slice's weight as a power of two, least significant slice first.
    pub shifts: Vec<u32>,
}

impl Slicing {
    /// The slicing for `b` bits per cell.
    pub fn new(cell_bits: u8) -> Slicing {
        let b = u32::from(cell_bits);
        assert!((1..=8).contains(&b), "cell_bits must be in 1..=8, got {b}");
        let n = Design::WEIGHT_BITS.div_ceil(b);
        let shifts = (0..n)
            .map(|k| Design::WEIGHT_BITS.saturating_sub((n - k) * b))
            .collect();
        Slicing {
            cell_bits: b,
            shifts,
        }
    }

    /// Pairs per weight: `ceil(8 / b)`.
    pub fn slices(&self) -> usize {
        self.shifts.len()
    }

    /// The largest digit magnitude a pair stores, `2^(b-1)`: its top level.
    pub fn max_digit(&self) -> i32 {
        1 << (self.cell_bits - 1)
    }

    /// The weight of slice `k`, `2^(w_k)`.
    pub fn slice_weight(&self, k: usize) -> f32 {
        (1u32 << self.shifts[k]) as f32
    }

    /// The signed digits of `q`, least significant slice first (`q = sum d_k 2^(w_k)`).
    pub fn digits(&self, q: i8) -> Vec<i8> {
        let mut rest = i32::from(q);
        let mut digits = vec![0i8; self.slices()];
        for k in (0..self.slices()).rev() {
            let weight = 1i32 << self.shifts[k];
            let d = (f64::from(rest) / f64::from(weight)).round() as i32;
            digits[k] = d as i8;
            rest -= d * weight;
        }
        debug_assert_eq!(rest, 0);
        digits
    }
}

/// The digits of every weight of a layer, one plane per slice: `planes[k][i]` is the
/// digit of weight `i` in slice `k`, as f32 (what the crossbar computes with).
pub fn digit_planes(layer: &QuantisedLayer, slicing: &Slicing) -> Vec<Vec<f32>> {
    let mut planes = vec![Vec::with_capacity(layer.q.len()); slicing.slices()];
    let table: Vec<Vec<i8>> = (-Q_MAX..=Q_MAX).map(|q| slicing.digits(q as i8)).collect();
    for &q in &layer.q {
        let digits = &table[(i32::from(q) + Q_MAX) as usize];
        for (plane, &d) in planes.iter_mut().zip(digits) {
            plane.push(f32::from(d));
        }
    }
    planes
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn quantisation_is_symmetric_per_layer() {
        let w = [0.5f32, -1.0, 0.25, 0.0, 2.0, -0.02];
        let q = quantise(&w);
        assert_eq!(q.scale, 2.0 / 127.0);
        assert_eq!(q.q, vec![32, -64, 16, 0, 127, -1]);
        let zero = quantise(&[0.0, 0.0]);
        assert_eq!(zero.dequantise(), vec![0.0, 0.0]);
    }

    #[test]
    fn slicing_by_hand() {
        // 2-bit pairs: weights 64, 16, 4, 1 (top first); digits in -2..=2.
        let s = Slicing::new(2);
        assert_eq!(s.shifts, vec![0, 2, 4, 6]);
        assert_eq!(s.max_digit(), 2);
        // 109 = 2*64 - 1*16 - 1*4 + 1: round(109/64) = 2, rest -19; round(-19/16) = -1,
        // rest -3; round(-3/4) = -1, rest 1.
        assert_eq!(s.digits(109), vec![1, -1, -1, 2]);
        assert_eq!(s.digits(-109), vec![-1, 1, 1, -2]);
        // 3-bit pairs: weights 32, 4, 1; 100 = 3*32 + 1*4 + 0.
        let s3 = Slicing::new(3);
        assert_eq!(s3.shifts, vec![0, 2, 5]);
        assert_eq!(s3.digits(100), vec![0, 1, 3]);
        // 8-bit pairs are PytorX's: the digit is the weight.
        assert_eq!(Slicing::new(8).digits(-109), vec![-109]);
        // 7-bit: weights 2 and 1; 127 = 64*2 - 1.
        assert_eq!(Slicing::new(7).digits(127), vec![-1, 64]);
        assert_eq!(Slicing::new(1).slices(), 8);
        assert_eq!(Slicing::new(5).slices(), 2);
        assert_eq!(Slicing::new(5).shifts, vec![0, 3]);
    }

    /// Every weight of every resolution is exactly the weighted sum of its digits, and
    /// every digit fits its pair's levels.
    #[test]
    fn digits_reconstruct_every_weight_and_fit_the_levels() {
        for bits in 1..=8u8 {
            let s = Slicing::new(bits);
            assert_eq!(
                s.slices(),
                Design::WEIGHT_BITS.div_ceil(u32::from(bits)) as usize
            );
            assert_eq!(s.shifts.last().copied(), Some(8 - u32::from(bits)));
            for q in -Q_MAX..=Q_MAX {
                let d = s.digits(q as i8);
                let back: i32 = d
                    .iter()
                    .zip(&s.shifts)
                    .map(|(&d, &w)| i32::from(d) << w)
                    .sum();
                assert_eq!(back, q, "{bits} bits");
                assert!(
                    d.iter().all(|&d| i32::from(d).abs() <= s.max_digit()),
                    "{bits} bits, q {q}: {d:?}"
                );
            }
        }
    }

    #[test]
    fn digit_planes_follow_the_digits() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let w: Vec<f32> = (0..200).map(|_| rng.random_range(-1.0..1.0)).collect();
        let layer = quantise(&w);
        for bits in [1u8, 3, 8] {
            let s = Slicing::new(bits);
            let planes = digit_planes(&layer, &s);
            assert_eq!(planes.len(), s.slices());
            for (i, &q) in layer.q.iter().enumerate() {
                let sum: f32 = (0..s.slices())
                    .map(|k| planes[k][i] * s.slice_weight(k))
                    .sum();
                assert_eq!(sum, f32::from(q));
            }
        }
    }
}
