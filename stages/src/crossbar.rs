//! Stage 2, crossbar characterisation: a design's simulated chip, as the noise model
//! (`[noise] model`) describes it. [`crate::crossbar_sim`] runs a layer on it.
//!
//! Both models share the mapping of [`crate::mapping`] (8-bit weights, signed digits on
//! differential pairs of `b` bits, level step `dG = (g_max - g_min) / 2^(b-1)`), the
//! crossbar tiling (each layer's unfolded weight matrix cut into `S x S` arrays,
//! `S = xbar_size`), an input DAC, and an ADC on every crossbar's partial sum of every
//! slice. Every read of a cell at conductance `G` deviates by
//! `N(0, sigma_read^2(G, V) + sigma_prog^2(G)) + B dG_rtn(G)`, where
//! - `sigma_read^2(G, V) = G f (4 k_B T + 2 q V) / V^2`: thermal and shot noise of the
//!   read current, referred to the conductance (PytorX's `grms`), `f` the operating
//!   frequency, `T` the temperature, `V` the voltage on the cell's row;
//! - `B ~ Bernoulli(p_rtn)` is random telegraph noise with the jump
//!   `dG_rtn = G x / (G - x)`, `x = b_rtn G + a_rtn` (PytorX's `G_p`; the jump diverges
//!   at `G = a_rtn / (1 - b_rtn)`, so `g_min` must lie above it).
//!
//! The models differ in `V` and in the programming term:
//! - **`pytorx`** (the default; the paper's accuracy numbers come from PytorX): `V` is
//!   PytorX's *effective voltage* of each crossbar row, computed from the layer's own
//!   inputs: `V_eff = ||v_row||_2 / (N S)`, the 2-norm of the row's input voltages over
//!   the batch and the output positions, divided by the batch size `N` and the crossbar
//!   size `S`. This is the simulator's convention, not circuit physics: it gives
//!   millivolts, so its noise is 50-300x that of a physical 0.2 V read, it grows with `S`
//!   and with `sqrt(N / L)` (`L` output positions, so it is largest on FC layers), and
//!   it depends on the batch size. `N` is therefore a parameter (`veff_batch`, default
//!   100, PytorX's test batch size); the norm over our own batch of `n` images is scaled
//!   to `N` images: `V_eff = dv sqrt(sum codes^2 / (n N)) / S`. Inputs go through
//!   PytorX's DAC: `dac_bits` (8), levels `+-(2^(dac_bits-1) - 1)` of `dv = vdd / (2^dac_bits
//!   - 1)` volts (`vdd` = 3.3 V). Programming noise is PytorX's `dG / 3` with PytorX's
//!   level step `(g_max - g_min) / 2^7`: an absolute conductance precision of a third of
//!   an 8-bit level, kept at every cell resolution (`programming_sigma_levels` scales it).
//!   Scaling it with each resolution's own, wider level instead would put a third of a
//!   2-bit level, weighted by the top slice's 2^6, on every weight: about 21 weight
//!   steps of programming error, against the paper's finding that wider levels are more
//!   robust. Where a row's `V_eff` is 0, PytorX zeroes the row's Gaussian noise (its
//!   `grms` is infinite there); so does this model.
//! - **`physical`**: `V` is the real read voltage `read_voltage` on every row (the DAC's
//!   full scale), which makes thermal and shot noise small; programming noise is the
//!   ReRAM fit of Wan et al., "A compute-in-memory chip based on resistive random-access
//!   memory", Nature 2022, as IBM aihwkit's `ReRamWan2022NoiseModel` uses it (1 s after
//!   programming): `sigma_prog(G) = g_max (0.348 + 16.030 x - 43.853 x^2 + 45.393 x^3
//!   - 16.815 x^4) / 40`, `x = G / g_max`, i.e. 0.9 % of `g_max` at `g_min`, 5.1 % at
//!   mid-range and 2.8 % at `g_max` (`programming_scale` scales it).
//!
//! The ADC is PytorX's (`adc.py`): `2^(adc_bits-1) - 1` levels each side of zero over a
//! range calibrated as the largest partial sum seen; see [`crate::crossbar_sim`].

/// The stage's name in cache keys and logs.
pub const STAGE: &str = "crossbar";
/// Bumped whenever a change of this module changes the stage's output.
pub const CODE_VERSION: u32 = 2;

use anyhow::{bail, ensure, Result};
use serde::{Deserialize, Serialize};

use crate::design::Design;
use crate::mapping::Slicing;

/// Boltzmann's constant, J/K (the value the paper and PytorX use).
pub const K_B: f64 = 1.38e-23;
/// Elementary charge, C (the value the paper and PytorX use).
pub const Q_E: f64 = 1.6e-19;

/// Wan et al. (2022)'s programming-noise polynomial, in uS for `g_max` = 40 uS, lowest
/// order first (aihwkit's `ReRamWan2022NoiseModel`, 1 s after programming).
const WAN2022_PROGRAMMING_US: [f64; 5] = [0.348, 16.030, -43.853, 45.393, -16.815];
/// The `g_max` Wan et al.'s polynomial was fitted at, uS.
const WAN2022_G_MAX_US: f64 = 40.0;

/// Which noise model simulates the crossbars.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NoiseModel {
    /// PytorX's formulas, with its effective voltage (the paper's simulator).
    Pytorx,
    /// The same crossbar at its real read voltage, with measured ReRAM programming noise.
    Physical,
}

impl NoiseModel {
    /// The name used in configs and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            NoiseModel::Pytorx => "pytorx",
            NoiseModel::Physical => "physical",
        }
    }
}

impl std::str::FromStr for NoiseModel {
    type Err = anyhow::Error;

    fn from_str(s: &str) -> Result<Self> {
        match s {
            "pytorx" => Ok(NoiseModel::Pytorx),
            "physical" => Ok(NoiseModel::Physical),
            _ => bail!("unknown noise model `{s}`; valid models: pytorx, physical"),
        }
    }
}

/// `[noise]`: the noise model and its constants; defaults from the paper and PytorX.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NoiseParams {
    /// The model.
    pub model: NoiseModel,
    /// RTN constant `a`, siemens (paper, PytorX: 1.662e-7).
    pub rtn_a: f64,
    /// RTN constant `b`, dimensionless (paper, PytorX: 0.0015).
    pub rtn_b: f64,
    /// Probability that a read sees the RTN jump (paper, PytorX: 0.5).
    pub rtn_probability: f64,
    /// `pytorx`: programming sigma in units of PytorX's level step `(g_max - g_min) / 2^7`
    /// (PytorX: 1/3).
    pub programming_sigma_levels: f64,
    /// `pytorx`: the batch size `N` of the effective voltage `||v||_2 / (N S)` (PytorX's
    /// test batch: 100).
    pub veff_batch: f64,
    /// `physical`: scale of Wan et al. (2022)'s programming noise (1 = as measured).
    pub programming_scale: f64,
    /// Input DAC resolution, bits (PytorX: 8).
    pub dac_bits: u8,
    /// `pytorx`: the DAC's supply voltage, volts (PytorX: 3.3).
    pub dac_vdd: f64,
    /// Training batches (in order, no augmentation) that calibrate the DAC and ADC ranges
    /// before an evaluation; PytorX averages the per-batch ranges of its training run.
    pub calibration_batches: usize,
    /// An ideal ADC: partial sums pass unquantised, so the slices and tiles fold into one
    /// noisy effective weight matrix (an ablation, and much faster for few-bit cells).
    pub ideal_adc: bool,
}

impl Default for NoiseParams {
    fn default() -> Self {
        NoiseParams {
            model: NoiseModel::Pytorx,
            rtn_a: 1.662e-7,
            rtn_b: 0.0015,
            rtn_probability: 0.5,
            programming_sigma_levels: 1.0 / 3.0,
            veff_batch: 100.0,
            programming_scale: 1.0,
            dac_bits: 8,
            dac_vdd: 3.3,
            calibration_batches: 4,
            ideal_adc: false,
        }
    }
}

impl NoiseParams {
    /// Checks the constants; the message names the offending key.
    pub fn validate(&self) -> Result<()> {
        ensure!(
            self.rtn_a.is_finite() && (0.0..=1.0).contains(&self.rtn_a),
            "noise.rtn_a must be a non-negative number of siemens up to 1, got {}",
            self.rtn_a
        );
        ensure!(
            self.rtn_b.is_finite() && (0.0..1.0).contains(&self.rtn_b),
            "noise.rtn_b must be in [0, 1), got {}",
            self.rtn_b
        );
        ensure!(
            (0.0..=1.0).contains(&self.rtn_probability),
            "noise.rtn_probability must be in [0, 1], got {}",
            self.rtn_probability
        );
        for (key, v) in [
            ("programming_sigma_levels", self.programming_sigma_levels),
            ("programming_scale", self.programming_scale),
        ] {
            ensure!(
                v.is_finite() && (0.0..=1e3).contains(&v),
                "noise.{key} must be in [0, 1000], got {v}"
            );
        }
        ensure!(
            self.veff_batch.is_finite() && (1.0..=1e6).contains(&self.veff_batch),
            "noise.veff_batch must be a batch size in [1, 1e6], got {}",
            self.veff_batch
        );
        ensure!(
            (2..=16).contains(&self.dac_bits),
            "noise.dac_bits must be in 2..=16, got {}",
            self.dac_bits
        );
        ensure!(
            self.dac_vdd.is_finite() && self.dac_vdd > 0.0 && self.dac_vdd <= 100.0,
            "noise.dac_vdd must be a voltage in (0, 100], got {}",
            self.dac_vdd
        );
        ensure!(
            (1..=10_000).contains(&self.calibration_batches),
            "noise.calibration_batches must be in 1..=10000, got {}",
            self.calibration_batches
        );
        Ok(())
    }

    /// The conductance at which the RTN jump diverges: `a / (1 - b)`.
    pub fn rtn_singular_conductance(&self) -> f64 {
        self.rtn_a / (1.0 - self.rtn_b)
    }
}

/// The voltage a cell's read noise is referred to.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReadVoltage {
    /// PytorX's effective voltage of each row, from the layer's inputs, for a batch of
    /// `batch` images.
    Effective {
        /// `N` in `||v||_2 / (N S)`.
        batch: f64,
    },
    /// The same voltage on every row, volts.
    Fixed {
        /// The read voltage.
        volts: f64,
    },
}

/// One conductance level of a cell.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LevelNoise {
    /// Level index, 0 (`g_min`) ..= `2^(b-1)` (`g_max`).
    pub level: u32,
    /// Programmed conductance, S.
    pub conductance: f64,
    /// Programming sigma, S.
    pub sigma_programming: f64,
    /// RTN jump, S.
    pub rtn_delta: f64,
}

/// A design's simulated chip: everything [`crate::crossbar_sim`] needs to run a layer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Characterisation {
    /// The noise model it follows.
    pub model: NoiseModel,
    /// Bits per differential pair.
    pub cell_bits: u8,
    /// Crossbar rows = columns.
    pub xbar_size: u32,
    /// ADC resolution, bits.
    pub adc_bits: u8,
    /// Whether the ADC is ideal (no quantisation of partial sums).
    pub ideal_adc: bool,
    /// Input DAC resolution, bits.
    pub dac_bits: u8,
    /// Volts per DAC level.
    pub dac_step_v: f64,
    /// Lowest conductance, S.
    pub g_min: f64,
    /// Level step `dG = (g_max - g_min) / 2^(b-1)`, S.
    pub delta_g: f64,
    /// One entry per level, in level order.
    pub levels: Vec<LevelNoise>,
    /// `f 4 k_B T`: the thermal term of the read noise.
    pub thermal: f64,
    /// `f 2 q`: the shot term of the read noise.
    pub shot: f64,
    /// The voltage read noise is referred to.
    pub voltage: ReadVoltage,
    /// Probability of the RTN jump on a read.
    pub rtn_probability: f64,
    /// Training batches that calibrate the DAC and ADC ranges before an evaluation.
    pub calibration_batches: usize,
}

/// Checks the parts of a design the noise model needs; messages name the key.
pub fn validate_design(design: &Design, noise: &NoiseParams) -> Result<()> {
    design.validate()?;
    let singular = noise.rtn_singular_conductance();
    if design.g_min <= singular {
        bail!(
            "g_min = {} S is at or below {singular:.4e} S, where the RTN model's jump \
             G x / (G - x), x = b G + a, diverges; raise g_min (e.g. 3.33e-7 S = 1/3 MOhm)",
            design.g_min
        );
    }
    Ok(())
}

/// Characterises a design under a noise model.
pub fn characterise(design: &Design, noise: &NoiseParams) -> Result<Characterisation> {
    noise.validate()?;
    validate_design(design, noise)?;
    let max_digit = Slicing::new(design.cell_bits).max_digit() as u32;
    let range = design.g_max - design.g_min;
    let delta_g = range / f64::from(max_digit);
    let pytorx_step = range / f64::from(1u32 << (Design::WEIGHT_BITS - 1));
    let levels = (0..=max_digit)
        .map(|level| {
            let g = design.g_min + f64::from(level) * delta_g;
            let x = noise.rtn_b * g + noise.rtn_a;
            let sigma_programming = match noise.model {
                NoiseModel::Pytorx => noise.programming_sigma_levels * pytorx_step,
                NoiseModel::Physical => {
                    noise.programming_scale * wan2022_programming_sigma(g, design.g_max)
                }
            };
            LevelNoise {
                level,
                conductance: g,
                sigma_programming,
                rtn_delta: g * x / (g - x),
            }
        })
        .collect();
    let dac_levels = f64::from((1u32 << noise.dac_bits) - 1);
    let (voltage, dac_step_v) = match noise.model {
        NoiseModel::Pytorx => (
            ReadVoltage::Effective {
                batch: noise.veff_batch,
            },
            noise.dac_vdd / dac_levels,
        ),
        NoiseModel::Physical => (
            ReadVoltage::Fixed {
                volts: design.read_voltage,
            },
            design.read_voltage / f64::from((1u32 << (noise.dac_bits - 1)) - 1),
        ),
    };
    Ok(Characterisation {
        model: noise.model,
        cell_bits: design.cell_bits,
        xbar_size: design.xbar_size,
        adc_bits: design.adc_bits,
        ideal_adc: noise.ideal_adc,
        dac_bits: noise.dac_bits,
        dac_step_v,
        g_min: design.g_min,
        delta_g,
        levels,
        thermal: design.freq_hz * 4.0 * K_B * design.temp_k,
        shot: design.freq_hz * 2.0 * Q_E,
        voltage,
        rtn_probability: noise.rtn_probability,
        calibration_batches: noise.calibration_batches,
    })
}

/// Wan et al. (2022)'s programming sigma at conductance `g`, scaled to `g_max` as aihwkit
/// does, S.
fn wan2022_programming_sigma(g: f64, g_max: f64) -> f64 {
    let x = g / g_max;
    let poly = WAN2022_PROGRAMMING_US
        .iter()
        .rev()
        .fold(0.0, |acc, c| acc * x + c);
    poly * g_max / WAN2022_G_MAX_US
}

impl Characterisation {
    /// The largest DAC code magnitude, `2^(dac_bits-1) - 1` (PytorX's `h_lvl`).
    pub fn dac_levels(&self) -> f32 {
        ((1u32 << (self.dac_bits - 1)) - 1) as f32
    }

    /// The largest ADC code magnitude, `2^(adc_bits-1) - 1`.
    pub fn adc_levels(&self) -> f32 {
        ((1u32 << (self.adc_bits - 1)) - 1) as f32
    }

    /// The read-noise variance of a cell at conductance `g` read at `v` volts, S^2;
    /// 0 where `v` is 0 (PytorX zeroes its infinite `grms` there).
    pub fn read_variance(&self, g: f64, v: f64) -> f64 {
        if v > 0.0 {
            g * (self.thermal + self.shot * v) / (v * v)
        } else {
            0.0
        }
    }

    /// The voltage of a row whose DAC codes have the sum of squares `sum_sq` over a
    /// batch of `images` images (and every output position).
    pub fn row_voltage(&self, sum_sq: f64, images: usize) -> f64 {
        match self.voltage {
            ReadVoltage::Fixed { volts } => volts,
            ReadVoltage::Effective { batch } => {
                self.dac_step_v * (sum_sq / (images as f64 * batch)).sqrt()
                    / f64::from(self.xbar_size)
            }
        }
    }

    /// The batch size noisy inference runs at: `N` of the effective voltage under
    /// `pytorx` (PytorX evaluates in batches of its test batch size, the `N` of its
    /// formula, and the noise an image sees depends on its batch), else `default`.
    pub fn inference_batch(&self, default: usize) -> usize {
        match self.voltage {
            ReadVoltage::Effective { batch } => (batch.round() as usize).max(1),
            ReadVoltage::Fixed { .. } => default,
        }
    }

    /// The total Gaussian sigma of a read at `level` and voltage `v`, S.
    pub fn sigma_total(&self, level: usize, v: f64) -> f64 {
        let l = &self.levels[level];
        (self.read_variance(l.conductance, v) + l.sigma_programming.powi(2)).sqrt()
    }

    /// The model's mean and standard deviation of a read's deviation at `level` and `v`.
    pub fn deviation_moments(&self, level: usize, v: f64) -> (f64, f64) {
        let l = &self.levels[level];
        let p = self.rtn_probability;
        let var = self.sigma_total(level, v).powi(2) + p * (1.0 - p) * l.rtn_delta.powi(2);
        (p * l.rtn_delta, var.sqrt())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn design(cell_bits: u8, freq_hz: f64, temp_k: f64) -> Design {
        Design {
            cell_bits,
            xbar_size: 128,
            freq_hz,
            temp_k,
            adc_bits: 8,
            read_voltage: 0.2,
            g_min: 3.33e-7,
            g_max: 3.33e-4,
        }
    }

    fn close(a: f64, b: f64, rel: f64) -> bool {
        (a - b).abs() <= rel * b.abs()
    }

    /// PytorX's constants for 8-bit pairs at 500 MHz and 350 K, worked by hand from
    /// `layer.py`:
    /// - `delta_g = (3.33e-4 - 3.33e-7) / 2^7 = 2.598961e-6` S;
    /// - at `G = g_max` and `V = 1 mV`, `grms^2 = 3.33e-4 * 5e8 * (4 * 1.38e-23 * 350 +
    ///   2 * 1.6e-19 * 1e-3) / 1e-6 + (delta_g / 3)^2 = 3.27006e-9 + 7.5051e-13`, so
    ///   `grms = 5.71910e-5` S (22.0 levels);
    /// - RTN at `g_max`: `x = 0.0015 * 3.33e-4 + 1.662e-7 = 6.657e-7`, jump
    ///   `3.33e-4 x / (3.33e-4 - x) = 6.670335e-7` S; at `g_min`, `x = 1.666995e-7`,
    ///   jump `3.337990e-7` S (the conductance roughly doubles).
    #[test]
    fn pytorx_noise_matches_hand_computed_values() {
        let c = characterise(&design(8, 5e8, 350.0), &NoiseParams::default()).unwrap();
        assert_eq!(c.levels.len(), 129);
        assert!(close(c.delta_g, 2.598961e-6, 1e-6));
        let top = c.levels[128];
        assert!(close(top.conductance, 3.33e-4, 1e-12));
        assert!(close(top.sigma_programming, 2.598961e-6 / 3.0, 1e-6));
        let read = c.read_variance(3.33e-4, 1e-3);
        assert!(close(read, 3.27006e-9, 1e-5), "{read}");
        assert!(close(c.sigma_total(128, 1e-3), 5.71910e-5, 1e-5));
        assert!(close(top.rtn_delta, 6.670335e-7, 1e-6));
        assert!(close(c.levels[0].rtn_delta, 3.337990e-7, 1e-6));
        // The DAC of PytorX: 3.3 V over 255 steps.
        assert!(close(c.dac_step_v, 3.3 / 255.0, 1e-12));
        assert_eq!(c.dac_levels(), 127.0);
        assert_eq!(c.adc_levels(), 127.0);
        assert_eq!(c.read_variance(3.33e-4, 0.0), 0.0);
    }

    /// The paper's noise margin: the level step of 2-bit pairs is 64x that of 8-bit.
    #[test]
    fn the_level_step_widens_64x_from_8_to_2_bits() {
        let p = NoiseParams::default();
        let two = characterise(&design(2, 5e8, 350.0), &p).unwrap();
        let eight = characterise(&design(8, 5e8, 350.0), &p).unwrap();
        assert!(close(two.delta_g / eight.delta_g, 64.0, 1e-12));
        assert_eq!(two.levels.len(), 3);
        assert!(close(two.levels[2].conductance, 3.33e-4, 1e-12));
        // The programming precision is absolute: the same at every resolution.
        assert_eq!(
            two.levels[1].sigma_programming,
            eight.levels[1].sigma_programming
        );
    }

    /// PytorX's effective voltage: 2-norm over the batch and positions, over `N S`.
    /// 3 images whose row codes have squares summing to 1200, scaled to N = 100:
    /// `dv sqrt(1200 / (3 * 100)) / 128 = (3.3 / 255) * 2 / 128 = 2.02206e-4` V.
    #[test]
    fn effective_voltage_by_hand() {
        let c = characterise(&design(8, 5e8, 350.0), &NoiseParams::default()).unwrap();
        assert!(close(c.row_voltage(1200.0, 3), 2.022059e-4, 1e-6));
        // With N = 3, the same as PytorX on this very batch: ||v|| / (3 S).
        let own = NoiseParams {
            veff_batch: 3.0,
            ..NoiseParams::default()
        };
        let c3 = characterise(&design(8, 5e8, 350.0), &own).unwrap();
        let norm = (1200.0f64).sqrt() * 3.3 / 255.0;
        assert!(close(
            c3.row_voltage(1200.0, 3),
            norm / (3.0 * 128.0),
            1e-12
        ));
    }

    #[test]
    fn physical_uses_the_read_voltage_and_wan2022_programming_noise() {
        let p = NoiseParams {
            model: NoiseModel::Physical,
            ..NoiseParams::default()
        };
        let c = characterise(&design(2, 5e8, 350.0), &p).unwrap();
        assert_eq!(c.row_voltage(0.0, 1), 0.2);
        // At g_max: (0.348 + 16.030 - 43.853 + 45.393 - 16.815) / 40 = 2.7575 % of g_max.
        assert!(close(
            c.levels[2].sigma_programming,
            0.027575 * 3.33e-4,
            1e-9
        ));
        // At g_min (x = 1e-3) it is 0.910 % of g_max.
        let low = c.levels[0].sigma_programming / 3.33e-4;
        assert!((0.0088..0.0092).contains(&low), "{low}");
        // Read noise at 0.2 V is far below a level.
        assert!(c.sigma_total(2, 0.2) < 0.1 * c.delta_g);
        // The DAC's full scale is the read voltage.
        assert!(close(c.dac_step_v * 127.0, 0.2, 1e-12));
    }

    #[test]
    fn read_noise_grows_with_frequency_and_temperature() {
        let p = NoiseParams::default();
        let mild = characterise(&design(8, 5e8, 350.0), &p).unwrap();
        let hot = characterise(&design(8, 1e9, 400.0), &p).unwrap();
        let ratio = hot.read_variance(1e-4, 1e-3) / mild.read_variance(1e-4, 1e-3);
        let shot = 2.0 * Q_E * 1e-3;
        let expected = 2.0 * (4.0 * K_B * 400.0 + shot) / (4.0 * K_B * 350.0 + shot);
        assert!(close(ratio, expected, 1e-9), "{ratio} vs {expected}");
    }

    #[test]
    fn table_round_trips_through_json() {
        let c = characterise(&design(3, 5e8, 300.0), &NoiseParams::default()).unwrap();
        let back: Characterisation =
            serde_json::from_slice(&serde_json::to_vec(&c).unwrap()).unwrap();
        assert_eq!(back, c);
    }

    #[test]
    fn bad_designs_and_constants_are_refused_naming_the_key() {
        let p = NoiseParams::default();
        let cases = [
            (
                Design {
                    cell_bits: 0,
                    ..design(2, 5e8, 300.0)
                },
                "cell_bits",
            ),
            (
                Design {
                    cell_bits: 9,
                    ..design(2, 5e8, 300.0)
                },
                "cell_bits",
            ),
            (
                Design {
                    adc_bits: 1,
                    ..design(2, 5e8, 300.0)
                },
                "adc_bits",
            ),
            (design(2, 0.0, 300.0), "freq_hz"),
            (design(2, 5e8, -1.0), "temp_k"),
            (design(2, 5e8, 1e12), "temp_k"),
            (
                Design {
                    g_min: 3.33e-8,
                    ..design(2, 5e8, 300.0)
                },
                "g_min",
            ),
            (
                Design {
                    g_max: 1e-7,
                    ..design(2, 5e8, 300.0)
                },
                "g_max",
            ),
        ];
        for (d, key) in cases {
            let err = characterise(&d, &p).unwrap_err().to_string();
            assert!(err.contains(key), "{err}");
        }
        for (bad, key) in [
            (
                NoiseParams {
                    veff_batch: 0.0,
                    ..p
                },
                "veff_batch",
            ),
            (NoiseParams { dac_bits: 1, ..p }, "dac_bits"),
            (
                NoiseParams {
                    programming_sigma_levels: f64::NAN,
                    ..p
                },
                "programming_sigma_levels",
            ),
            (
                NoiseParams {
                    calibration_batches: 0,
                    ..p
                },
                "calibration_batches",
            ),
        ] {
            let err = bad.validate().unwrap_err().to_string();
            assert!(err.contains(key), "{err}");
        }
    }
}
