//! Stage 2, crossbar characterisation: the stochastic noise model of a design's ReRAM
//! cells (paper section 3, after PytorX), and a sampler of per-read noisy conductances.
//!
//! For `b` bits per cell there are `2^b` conductance levels `G_l = g_min + l dG` with
//! `dG = (g_max - g_min) / (2^b - 1)`. Each read of a cell at level `l` returns
//! `G_l + N(0, sigma_l^2) + B * dG_rtn(G_l)`, where
//! - `sigma_l^2 = G f (4 k_B T + 2 q V) / V^2 + (p dG)^2`: thermal and shot noise of the
//!   read current turned into conductance, plus programming variation with `p = 1/3`
//!   (a 3-sigma programming error equals one level);
//! - `B ~ Bernoulli(0.5)` is random telegraph noise (RTN), whose jump is
//!   `dG_rtn = G x / (G - x)` with `x = b_rtn G + a_rtn`, i.e. the cell's resistance drops
//!   by the fraction `dR/R = b_rtn + a_rtn R`.
//!
//! The RTN jump diverges where `G (1 - b_rtn) = a_rtn` (about 1.66e-7 S with the default
//! constants), so `g_min` must lie above that conductance; the config check says so.

/// The stage's name in cache keys and logs.
pub const STAGE: &str = "crossbar";
/// Bumped whenever a change of this module changes the stage's output.
pub const CODE_VERSION: u32 = 1;

use std::sync::Arc;

use anyhow::{bail, ensure, Context, Result};
use arrow::array::{Array, ArrayRef, Float64Array, RecordBatch, UInt32Array};
use arrow::datatypes::{DataType, Field, Schema};
use rand::Rng;
use rand_distr::{Distribution, StandardNormal};
use serde::{Deserialize, Serialize};

use crate::design::Design;

/// Boltzmann's constant, J/K (the value the paper and PytorX use).
pub const K_B: f64 = 1.38e-23;
/// Elementary charge, C (the value the paper and PytorX use).
pub const Q_E: f64 = 1.6e-19;

/// The device constants of the noise model; defaults from the paper (section 3).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NoiseParams {
    /// RTN constant `a`, siemens (paper: 1.662e-7).
    pub rtn_a: f64,
    /// RTN constant `b`, dimensionless (paper: 0.0015).
    pub rtn_b: f64,
    /// Probability that a read sees the RTN jump (paper: 0.5).
    pub rtn_probability: f64,
    /// Programming-variation sigma in units of the level spacing (paper: 1/3).
    pub programming_sigma_levels: f64,
}

impl Default for NoiseParams {
    fn default() -> Self {
        NoiseParams {
            rtn_a: 1.662e-7,
            rtn_b: 0.0015,
            rtn_probability: 0.5,
            programming_sigma_levels: 1.0 / 3.0,
        }
    }
}

impl NoiseParams {
    /// Checks the constants; the message names the offending key.
    pub fn validate(&self) -> Result<()> {
        ensure!(
            self.rtn_a.is_finite() && self.rtn_a >= 0.0,
            "noise.rtn_a must be a non-negative number of siemens, got {}",
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
        ensure!(
            self.programming_sigma_levels.is_finite() && self.programming_sigma_levels >= 0.0,
            "noise.programming_sigma_levels must be >= 0, got {}",
            self.programming_sigma_levels
        );
        Ok(())
    }

    /// The conductance at which the RTN jump diverges: `a / (1 - b)`.
    pub fn rtn_singular_conductance(&self) -> f64 {
        self.rtn_a / (1.0 - self.rtn_b)
    }
}

/// The noise of one conductance level.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LevelNoise {
    /// Level index, 0 (g_min) ..= 2^b - 1 (g_max).
    pub level: u32,
    /// Programmed conductance, S.
    pub conductance: f64,
    /// Thermal + shot noise sigma, S.
    pub sigma_thermal_shot: f64,
    /// Programming-variation sigma, S.
    pub sigma_programming: f64,
    /// Total Gaussian sigma, S.
    pub sigma_total: f64,
    /// RTN jump, S.
    pub rtn_delta: f64,
}

/// A design's characterisation: the noise of every conductance level.
#[derive(Debug, Clone, PartialEq)]
pub struct Characterisation {
    /// The level spacing dG, S.
    pub delta_g: f64,
    /// Probability of the RTN jump on a read.
    pub rtn_probability: f64,
    /// One entry per level, in level order.
    pub levels: Vec<LevelNoise>,
}

/// Checks the parts of a design the noise model needs; messages name the key.
pub fn validate_design(design: &Design, noise: &NoiseParams) -> Result<()> {
    ensure!(
        (1..=8).contains(&design.cell_bits),
        "cell_bits must be in 1..=8, got {}",
        design.cell_bits
    );
    ensure!(
        design.freq_hz.is_finite() && design.freq_hz > 0.0,
        "freq_hz must be a positive frequency, got {}",
        design.freq_hz
    );
    ensure!(
        design.temp_k.is_finite() && design.temp_k > 0.0,
        "temp_k must be a positive temperature in kelvin, got {}",
        design.temp_k
    );
    ensure!(
        design.read_voltage.is_finite() && design.read_voltage > 0.0,
        "read_voltage must be positive, got {}",
        design.read_voltage
    );
    ensure!(
        design.g_min.is_finite() && design.g_min > 0.0,
        "g_min must be a positive conductance, got {}",
        design.g_min
    );
    ensure!(
        design.g_max.is_finite() && design.g_max > design.g_min,
        "g_max ({}) must be greater than g_min ({})",
        design.g_max,
        design.g_min
    );
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

/// Characterises a design: conductance levels, Gaussian sigma and RTN jump per level.
pub fn characterise(design: &Design, noise: &NoiseParams) -> Result<Characterisation> {
    noise.validate()?;
    validate_design(design, noise)?;
    let n_levels = 1u32 << design.cell_bits;
    let delta_g = (design.g_max - design.g_min) / f64::from(n_levels - 1);
    let v = design.read_voltage;
    let per_g = design.freq_hz * (4.0 * K_B * design.temp_k + 2.0 * Q_E * v) / (v * v);
    let sigma_programming = noise.programming_sigma_levels * delta_g;
    let levels = (0..n_levels)
        .map(|level| {
            let g = design.g_min + f64::from(level) * delta_g;
            let sigma_thermal_shot = (g * per_g).sqrt();
            let x = noise.rtn_b * g + noise.rtn_a;
            LevelNoise {
                level,
                conductance: g,
                sigma_thermal_shot,
                sigma_programming,
                sigma_total: sigma_thermal_shot.hypot(sigma_programming),
                rtn_delta: g * x / (g - x),
            }
        })
        .collect();
    Ok(Characterisation {
        delta_g,
        rtn_probability: noise.rtn_probability,
        levels,
    })
}

impl Characterisation {
    /// Draws one noisy read of a cell programmed at `level`.
    pub fn sample<R: Rng + ?Sized>(&self, level: usize, rng: &mut R) -> f64 {
        self.levels[level].conductance + self.read_deviation(level, rng)
    }

    /// Draws the deviation of one read from the programmed conductance at `level`:
    /// the Gaussian part plus, with probability `rtn_probability`, the RTN jump.
    pub fn read_deviation<R: Rng + ?Sized>(&self, level: usize, rng: &mut R) -> f64 {
        let l = &self.levels[level];
        let gauss: f64 = StandardNormal.sample(rng);
        let rtn = if rng.random::<f64>() < self.rtn_probability {
            l.rtn_delta
        } else {
            0.0
        };
        l.sigma_total * gauss + rtn
    }

    /// Fills `out` with one noisy read of every cell, `levels[i]` being cell i's level.
    pub fn sample_cells<R: Rng + ?Sized>(&self, levels: &[u8], rng: &mut R, out: &mut [f64]) {
        for (o, &l) in out.iter_mut().zip(levels) {
            *o = self.sample(usize::from(l), rng);
        }
    }

    /// The same design with only its programming variation: no thermal or shot noise
    /// and no RTN (what the `programming_only` training baseline injects).
    pub fn programming_only(&self) -> Characterisation {
        Characterisation {
            delta_g: self.delta_g,
            rtn_probability: 0.0,
            levels: self
                .levels
                .iter()
                .map(|l| LevelNoise {
                    sigma_thermal_shot: 0.0,
                    sigma_total: l.sigma_programming,
                    rtn_delta: 0.0,
                    ..*l
                })
                .collect(),
        }
    }

    /// The model's mean and standard deviation of a read at `level`.
    pub fn read_moments(&self, level: usize) -> (f64, f64) {
        let l = &self.levels[level];
        let p = self.rtn_probability;
        let mean = l.conductance + p * l.rtn_delta;
        let var = l.sigma_total.powi(2) + p * (1.0 - p) * l.rtn_delta.powi(2);
        (mean, var.sqrt())
    }

    /// The characterisation as a table (one row per level).
    pub fn to_batch(&self) -> Result<RecordBatch> {
        let f = |get: fn(&LevelNoise) -> f64| -> ArrayRef {
            Arc::new(Float64Array::from_iter_values(self.levels.iter().map(get)))
        };
        let n = self.levels.len();
        Ok(RecordBatch::try_new(
            table_schema(),
            vec![
                Arc::new(UInt32Array::from_iter_values(
                    self.levels.iter().map(|l| l.level),
                )),
                f(|l| l.conductance),
                f(|l| l.sigma_thermal_shot),
                f(|l| l.sigma_programming),
                f(|l| l.sigma_total),
                f(|l| l.rtn_delta),
                Arc::new(Float64Array::from(vec![self.rtn_probability; n])),
                Arc::new(Float64Array::from(vec![self.delta_g; n])),
            ],
        )?)
    }

    /// Reads a characterisation back from its table.
    pub fn from_batches(batches: &[RecordBatch]) -> Result<Characterisation> {
        let mut levels = Vec::new();
        let (mut p, mut dg) = (None, None);
        for b in batches {
            let col = |name: &str| -> Result<&Float64Array> {
                b.column_by_name(name)
                    .and_then(|c| c.as_any().downcast_ref::<Float64Array>())
                    .with_context(|| format!("characterisation table lacks column {name}"))
            };
            let level = b
                .column_by_name("level")
                .and_then(|c| c.as_any().downcast_ref::<UInt32Array>())
                .context("characterisation table lacks column level")?;
            for i in 0..b.num_rows() {
                levels.push(LevelNoise {
                    level: level.value(i),
                    conductance: col("conductance_s")?.value(i),
                    sigma_thermal_shot: col("sigma_thermal_shot_s")?.value(i),
                    sigma_programming: col("sigma_programming_s")?.value(i),
                    sigma_total: col("sigma_total_s")?.value(i),
                    rtn_delta: col("rtn_delta_s")?.value(i),
                });
                p = Some(col("rtn_probability")?.value(i));
                dg = Some(col("delta_g_s")?.value(i));
            }
        }
        match (p, dg) {
            (Some(rtn_probability), Some(delta_g)) if levels.len() >= 2 => Ok(Characterisation {
                delta_g,
                rtn_probability,
                levels,
            }),
            _ => bail!("characterisation table has fewer than two levels"),
        }
    }
}

/// The Arrow schema of the characterisation table.
pub fn table_schema() -> Arc<Schema> {
    let f = |n: &str| Field::new(n, DataType::Float64, false);
    Arc::new(Schema::new(vec![
        Field::new("level", DataType::UInt32, false),
        f("conductance_s"),
        f("sigma_thermal_shot_s"),
        f("sigma_programming_s"),
        f("sigma_total_s"),
        f("rtn_delta_s"),
        f("rtn_probability"),
        f("delta_g_s"),
    ]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    fn design(cell_bits: u8, freq_hz: f64, temp_k: f64) -> Design {
        Design {
            cell_bits,
            xbar_size: 128,
            freq_hz,
            temp_k,
            adc_bits: 5,
            read_voltage: 0.2,
            g_min: 3.33e-7,
            g_max: 3.33e-4,
        }
    }

    fn close(a: f64, b: f64, rel: f64) -> bool {
        (a - b).abs() <= rel * b.abs()
    }

    /// Values worked by hand for 2-bit cells, 500 MHz, 350 K, V = 0.2 V,
    /// g in [3.33e-7, 3.33e-4] S:
    /// dG = (3.33e-4 - 3.33e-7) / 3 = 1.10889e-4 S.
    /// Level 3 (G = 3.33e-4): 4 k_B T = 1.932e-20, 2 q V = 6.4e-20, sum 8.332e-20;
    /// G f sum / V^2 = 3.33e-4 * 5e8 * 8.332e-20 / 0.04 = 3.46825e-13, sqrt = 5.88914e-7 S.
    /// Programming sigma = dG / 3 = 3.6963e-5 S; total = sqrt(5.889e-7^2 + 3.6963e-5^2)
    /// = 3.696769e-5 S. RTN: x = 0.0015 * 3.33e-4 + 1.662e-7 = 6.657e-7;
    /// dG_rtn = 3.33e-4 * 6.657e-7 / (3.33e-4 - 6.657e-7) = 6.670335e-7 S.
    /// Level 0 (G = 3.33e-7): x = 1.666995e-7, dG_rtn = 3.33e-7 * x / (3.33e-7 - x)
    /// = 3.337990e-7 S (the cell's conductance roughly doubles).
    #[test]
    fn noise_equations_match_hand_computed_values() {
        let c = characterise(&design(2, 5e8, 350.0), &NoiseParams::default()).unwrap();
        assert_eq!(c.levels.len(), 4);
        assert!(close(c.delta_g, 1.10889e-4, 1e-9));
        let top = c.levels[3];
        assert!(close(top.conductance, 3.33e-4, 1e-12));
        assert!(close(top.sigma_thermal_shot, 5.889138e-7, 1e-6));
        assert!(close(top.sigma_programming, 3.6963e-5, 1e-9));
        assert!(close(top.sigma_total, 3.696769e-5, 1e-6));
        assert!(close(top.rtn_delta, 6.670335e-7, 1e-6));
        assert!(close(c.levels[0].rtn_delta, 3.337990e-7, 1e-6));
        assert!(close(c.levels[0].sigma_thermal_shot, 1.862309e-8, 1e-6));
    }

    /// The paper's order of magnitude: thermal + shot sigma about 0.45 dG for 8-bit cells
    /// at 500 MHz / 350 K, and higher at 1 GHz / 400 K.
    #[test]
    fn eight_bit_cells_are_dominated_by_read_noise_as_the_paper_says() {
        let c = characterise(&design(8, 5e8, 350.0), &NoiseParams::default()).unwrap();
        let ratio = c.levels[255].sigma_thermal_shot / c.delta_g;
        assert!(close(ratio, 0.4514, 1e-3), "{ratio}");
        let hot = characterise(&design(8, 1e9, 400.0), &NoiseParams::default()).unwrap();
        assert!(hot.levels[255].sigma_thermal_shot / hot.delta_g > 0.6);
    }

    #[test]
    fn sampler_mean_and_std_match_the_model() {
        let c = characterise(&design(4, 1e9, 400.0), &NoiseParams::default()).unwrap();
        let mut rng = ChaCha8Rng::seed_from_u64(11);
        let n = 200_000;
        for level in [0usize, 7, 15] {
            let draws: Vec<f64> = (0..n).map(|_| c.sample(level, &mut rng)).collect();
            let mean = draws.iter().sum::<f64>() / n as f64;
            let var = draws.iter().map(|d| (d - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
            let (m, s) = c.read_moments(level);
            // Standard error of the mean is s / sqrt(n) ~ 0.0022 s: allow 5 of them.
            assert!(
                (mean - m).abs() < 5.0 * s / (n as f64).sqrt(),
                "level {level}"
            );
            // The std's relative standard error is about 1 / sqrt(2n) ~ 0.0016.
            assert!(
                close(var.sqrt(), s, 0.01),
                "level {level}: {} vs {s}",
                var.sqrt()
            );
        }
    }

    #[test]
    fn sample_cells_is_deterministic_under_a_seed() {
        let c = characterise(&design(3, 5e8, 300.0), &NoiseParams::default()).unwrap();
        let levels: Vec<u8> = (0..64).map(|i| (i % 8) as u8).collect();
        let draw = |seed| {
            let mut out = vec![0.0; 64];
            c.sample_cells(&levels, &mut ChaCha8Rng::seed_from_u64(seed), &mut out);
            out
        };
        assert_eq!(draw(5), draw(5));
        assert_ne!(draw(5), draw(6));
    }

    #[test]
    fn table_round_trips() {
        let c = characterise(&design(3, 5e8, 300.0), &NoiseParams::default()).unwrap();
        let back = Characterisation::from_batches(&[c.to_batch().unwrap()]).unwrap();
        assert_eq!(back, c);
    }

    #[test]
    fn bad_designs_are_refused_naming_the_key() {
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
            (design(2, 0.0, 300.0), "freq_hz"),
            (design(2, 5e8, -1.0), "temp_k"),
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
    }
}
