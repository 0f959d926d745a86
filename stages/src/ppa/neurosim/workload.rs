//! What the chip computes and on which data: the network as NeuroSim's layer table, and
//! the statistics of the weights' cell levels and of the input bits that set the
//! data-dependent energy.
//!
//! NeuroSim reads a trace of real weights and input bits and walks every input bit
//! vector of every subarray (that is what makes it take minutes). The energy it sums is
//! linear in the number of active rows and, nearly, in the column conductance, so this
//! model uses their expectations under a stated distribution instead:
//! - **weights**: 8-bit, from a normal distribution of standard deviation `weight_std`
//!   in NeuroSim's weight range (-1, 1), quantised to 1/128 and clipped, mapped
//!   without a differential pair as NeuroSim does (`128 w + 128` in 0..=255, cut into
//!   `ceil(8 / cell_bits)` digits of `cell_bits`, most significant first, each digit a
//!   conductance level between `g_min` and `g_max`);
//! - **inputs**: `input_bits`-bit activations fed one bit vector at a time; after a ReLU
//!   the sign bit is 0 and every other bit is 1 with a probability such that the mean
//!   over all bit vectors is `input_activity`.
//!
//! The defaults (0.2 and 0.1) are the synthetic traces of the reference runs
//! (`bench/neurosim_reference.py`).

use crate::arch::{LayerKind, LayerSpec};

/// One layer as NeuroSim sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct NetLayer {
    /// The layer's name.
    pub name: String,
    /// Input map side, zero padding included (NeuroSim's IFM height and width).
    pub in_hw: usize,
    /// Input channels (FC: input features).
    pub in_ch: usize,
    /// Kernel side (FC: 1).
    pub kernel: usize,
    /// Output channels (FC: output features).
    pub out_ch: usize,
    /// Stride.
    pub stride: usize,
    /// Followed by a 2x2 max pool.
    pub max_pool: bool,
    /// Output positions: input vectors per image.
    pub positions: usize,
    /// Multiply-accumulates per image.
    pub macs: u64,
}

impl NetLayer {
    /// The layer of `spec` (a padded convolution is given its padded input map).
    pub fn from_spec(spec: &LayerSpec) -> Self {
        let (in_hw, in_ch, kernel, out_ch, stride) = match spec.kind {
            LayerKind::Conv {
                in_ch,
                out_ch,
                kernel,
                stride,
                padding,
                in_hw,
                ..
            } => (in_hw + 2 * padding, in_ch, kernel, out_ch, stride),
            LayerKind::Fc {
                in_features,
                out_features,
            } => (1, in_features, 1, out_features, 1),
        };
        NetLayer {
            name: spec.name.clone(),
            in_hw,
            in_ch,
            kernel,
            out_ch,
            stride,
            max_pool: spec.max_pool,
            positions: spec.output_positions(),
            macs: spec.macs(),
        }
    }

    /// Weight-matrix rows: `in_ch * kernel^2`.
    pub fn rows(&self) -> usize {
        self.in_ch * self.kernel * self.kernel
    }

    /// Kernel positions: `kernel^2`.
    pub fn kernel_area(&self) -> usize {
        self.kernel * self.kernel
    }

    /// Input map values: `in_hw^2 * in_ch`.
    pub fn input_size(&self) -> usize {
        self.in_hw * self.in_hw * self.in_ch
    }
}

/// Probability of each digit level of each slice of an 8-bit weight, slices most
/// significant first.
#[derive(Debug, Clone, PartialEq)]
pub struct WeightLevels {
    /// `slices[k][d]`: probability that slice `k` holds digit `d`.
    pub slices: Vec<Vec<f64>>,
}

/// The standard normal CDF.
fn normal_cdf(x: f64) -> f64 {
    0.5 * erfc(-x / std::f64::consts::SQRT_2)
}

/// The complementary error function (Numerical Recipes' Chebyshev fit, relative error
/// below 1.2e-7).
fn erfc(x: f64) -> f64 {
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.5 * z);
    let poly = -z * z - 1.265_512_23
        + t * (1.000_023_68
            + t * (0.374_091_96
                + t * (0.096_784_18
                    + t * (-0.186_288_06
                        + t * (0.278_868_07
                            + t * (-1.135_203_98
                                + t * (1.488_515_87 + t * (-0.822_152_23 + t * 0.170_872_77))))))));
    let r = t * poly.exp();
    if x >= 0.0 {
        r
    } else {
        2.0 - r
    }
}

impl WeightLevels {
    /// The levels of `cell_bits`-bit cells holding 8-bit weights drawn from N(0, std)
    /// in (-1, 1).
    pub fn new(cell_bits: u32, std: f64) -> Self {
        let slices = 8u32.div_ceil(cell_bits) as usize;
        let radix = 1usize << cell_bits;
        let mut out = vec![vec![0.0; radix]; slices];
        let scale = 128.0 * std;
        let mut lo = 0.0;
        for m in -127i32..=127 {
            let hi = if m == 127 {
                1.0
            } else {
                normal_cdf((f64::from(m) + 0.5) / scale)
            };
            let p = hi - lo;
            lo = hi;
            let mut v = (m + 128) as usize;
            for k in (0..slices).rev() {
                out[k][v % radix] += p;
                v /= radix;
            }
        }
        WeightLevels { slices: out }
    }

    /// Slices per weight.
    pub fn slices(&self) -> usize {
        self.slices.len()
    }
}

/// The input bit statistics of a layer's bit vectors.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct InputBits {
    /// Bits per activation (bit vectors per input).
    pub bits: usize,
    /// Probability that a magnitude bit is 1 (the sign bit is always 0).
    pub magnitude_activity: f64,
}

impl InputBits {
    /// `bits`-bit post-ReLU inputs with a mean bit activity of `activity`.
    pub fn new(bits: usize, activity: f64) -> Self {
        let m = if bits > 1 {
            (activity * bits as f64 / (bits as f64 - 1.0)).min(1.0)
        } else {
            activity
        };
        InputBits {
            bits,
            magnitude_activity: m,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weight_levels_are_distributions_and_centred_at_128() {
        for bits in 1..=8 {
            let w = WeightLevels::new(bits, 0.2);
            for s in &w.slices {
                assert!((s.iter().sum::<f64>() - 1.0).abs() < 1e-9);
            }
        }
        // 128 + 128 w with w ~ N(0, 0.2): the top bit is 1 exactly when w >= 0 (m >= 0).
        let w = WeightLevels::new(1, 0.2);
        assert!((w.slices[0][1] - normal_cdf(0.5 / 25.6)).abs() < 1e-12);
        // 8-bit cells: one slice, mean level 128.
        let w = WeightLevels::new(8, 0.2);
        let mean: f64 = w.slices[0]
            .iter()
            .enumerate()
            .map(|(d, p)| d as f64 * p)
            .sum();
        assert!((mean - 128.0).abs() < 1e-6, "{mean}");
        // Three-bit cells take three slices; the top one holds values up to 3.
        let w = WeightLevels::new(3, 0.2);
        assert_eq!(w.slices(), 3);
        assert!(w.slices[0][4..].iter().all(|&p| p == 0.0));
    }

    #[test]
    fn erfc_matches_known_values() {
        assert!((erfc(0.0) - 1.0).abs() < 1e-7);
        assert!((erfc(1.0) - 0.157_299_207).abs() < 1e-7);
        assert!((erfc(-1.0) - 1.842_700_793).abs() < 1e-7);
    }

    #[test]
    fn the_sign_bit_is_idle() {
        let b = InputBits::new(8, 0.1);
        assert!((b.magnitude_activity - 0.8 / 7.0).abs() < 1e-15);
    }
}
