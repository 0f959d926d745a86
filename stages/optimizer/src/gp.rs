//! Gaussian-process surrogate of one objective over inputs in `[0, 1]^d`, built on
//! `egobox-gp` (ordinary kriging: constant mean, anisotropic squared-exponential
//! correlation, one length scale per input dimension tuned by maximum likelihood).
//!
//! Outputs are standardised before fitting and predictions are returned in the
//! original units. A noise term is fitted by default: the nugget (noise variance as a
//! fraction of the process variance) of [`NUGGETS`] with the largest likelihood, each
//! with its own length scales; repeated inputs are then kept as the replicates they are.
//! Without it ([`GpConfig::fit_noise`] off) the GP interpolates, and exact duplicate input
//! rows are merged (their outputs averaged), since an interpolating GP cannot pass through
//! two values at one point. Predictions are of the noise-free function, computed by
//! [`crate::kriging`] from the fitted hyperparameters with egobox-gp's equations (egobox-gp's
//! own triangular solves made most of a step's time at 1,000 observations).
//!
//! Conventions of `egobox-gp` 0.37 that this module hides: it normalises every input
//! column to zero mean and unit (sample, `ddof = 1`) standard deviation before
//! fitting, and its squared-exponential correlation is
//! `exp(-0.5 * sum_i (theta_i * d_i)^2)` in those normalised units, i.e. its `theta`
//! is an inverse length scale, not the `exp(-sum theta_i d_i^2)` weight. The
//! hyperparameters reported here are converted to the original `[0, 1]` inputs and
//! the `exp(-sum theta_i d_i^2)` convention.

use crate::gp_map;
use crate::rff::{RffModel, RffSample};
use egobox_gp::correlation_models::SquaredExponentialCorr;
use egobox_gp::mean_models::ConstantMean;
use egobox_gp::{GaussianProcess, ThetaTuning};

use crate::kriging::{KrigingPosterior, Paired};
use linfa::prelude::{Dataset, Fit};
use ndarray::{Array1, Array2, Axis};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// The `egobox-gp` model used: ordinary kriging with a squared-exponential kernel.
type Kriging = GaussianProcess<f64, ConstantMean, SquaredExponentialCorr>;

/// A coordinate far enough outside `[0, 1]` that every correlation with the training
/// points underflows to exactly zero (length scales are at most 100, so the exponent
/// is below `-(1e6 / 100)^2 / 2 = -5e7`); the kriging prediction there is the fitted
/// constant mean.
const FAR_AWAY: f64 = 1e6;

/// Bounds on the length scales `l_i` (in units of the `[0, 1]` inputs) searched by
/// the likelihood maximisation. (`egobox-gp`'s defaults are stated on standardised
/// inputs, which would make them depend on the spread of the data in each column.)
pub const LENGTH_SCALE_BOUNDS: (f64, f64) = (0.01, 100.0);

/// Length scale from which the likelihood maximisation starts (besides its
/// multistart points), and which a flat surrogate keeps.
pub const INITIAL_LENGTH_SCALE: f64 = 1.0;

/// Posterior variances below this fraction of the process variance are treated as
/// zero by [`Surrogate::posterior_correlation`] (they are at the level of the
/// interpolation nugget and rounding, so their ratios are noise).
const NEGLIGIBLE_VARIANCE: f64 = 1e-10;

/// The nuggets (observation noise variance as a fraction of the process variance) among
/// which a noise-fitting GP takes the one of largest likelihood: from numerically
/// noise-free to noise at half the signal's standard deviation.
pub const NUGGETS: [f64; 7] = [1e-6, 1e-4, 1e-3, 1e-2, 3e-2, 0.1, 0.3];

/// `egobox-gp`'s own nugget, which only regularises the interpolation.
const INTERPOLATING_NUGGET: f64 = 100.0 * f64::EPSILON;

/// How the kernel's hyperparameters are fitted.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "snake_case")]
pub enum GpFit {
    /// Maximum a posteriori under BoTorch's priors, by L-BFGS on the analytic gradient
    /// from several starts, the noise continuous ([`crate::gp_map`]). The default.
    #[default]
    Map,
    /// Maximum likelihood by egobox-gp's COBYLA, the noise the best of [`NUGGETS`]: the
    /// earlier fit, kept for the authors' CF-MESMO (their GPs maximise the likelihood
    /// without priors) and as an ablation.
    Likelihood,
}

impl GpFit {
    /// The name used in configs.
    pub fn as_str(self) -> &'static str {
        match self {
            GpFit::Map => "map",
            GpFit::Likelihood => "likelihood",
        }
    }
}

/// Settings of a GP fit.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct GpConfig {
    /// How the hyperparameters are fitted.
    pub fit: GpFit,
    /// Number of extra starting points of the hyperparameter search besides the default
    /// start(s): draws of the priors (`map`), or a fixed-seed Latin hypercube
    /// (`likelihood`; `1` is raised to `2` there, because `egobox-gp` draws a single
    /// extra start from OS entropy, which would make fits irreproducible). Default 10.
    pub n_start: usize,
    /// Whether a noise term is fitted (default), or the GP interpolates the data.
    pub fit_noise: bool,
    /// The `map` fit tunes the hyperparameters on a seeded random subset of at most this
    /// many training points where there are more (the subset-of-data approximation), and
    /// the GP is then conditioned on all of them: a fit's cost grows with the cube of its
    /// points, and a study with many workers reaches a thousand evaluations. Default 256.
    pub fit_points: usize,
}

impl Default for GpConfig {
    fn default() -> Self {
        GpConfig {
            fit: GpFit::Map,
            n_start: 10,
            fit_noise: true,
            fit_points: 256,
        }
    }
}

/// The kernel parameters a fit tuned: what a cached fit hands back to
/// [`Surrogate::fit_with_kernel`].
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Kernel {
    /// One per input dimension, as in [`GpHyperparameters::theta`].
    pub theta: Vec<f64>,
    /// The noise variance as a fraction of the process variance; `0` for an
    /// interpolating GP (duplicates merged).
    pub nugget: f64,
}

/// Why a GP could not be fitted.
#[derive(Debug, thiserror::Error)]
pub enum GpError {
    /// Fewer than two distinct training points (after merging duplicate rows).
    #[error("a GP needs at least 2 distinct training points, got {got}")]
    TooFewPoints {
        /// Number of distinct points given.
        got: usize,
    },
    /// A training input or output is NaN or infinite.
    #[error("non-finite training {what} in row {row}")]
    NonFinite {
        /// Index of the offending training row.
        row: usize,
        /// `"input"` or `"output"`.
        what: &'static str,
    },
    /// A training input lies outside `[0, 1]`.
    #[error("training input row {row}, coordinate {col} is {value}, outside [0, 1]")]
    OutOfRange {
        /// Index of the offending training row.
        row: usize,
        /// Index of the offending coordinate.
        col: usize,
        /// The offending value.
        value: f64,
    },
    /// The inputs and outputs are inconsistent in size.
    #[error("dimension mismatch: {0}")]
    DimensionMismatch(String),
    /// `egobox-gp` failed to fit, or produced non-finite hyperparameters.
    #[error("GP fit failed: {0}")]
    Fit(String),
}

/// The fitted hyperparameters, for auditing and caching (serde).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct GpHyperparameters {
    /// Kernel parameters, one per input dimension, on the original `[0, 1]` inputs, in
    /// the convention `k(x, x') = exp(-sum_i theta_i (x_i - x'_i)^2)`. (`egobox-gp`'s
    /// own `theta_e` is an inverse length scale on standardised inputs:
    /// `theta_i = 0.5 * (theta_e_i / std_i)^2`.)
    pub theta: Vec<f64>,
    /// Length scales `l_i = 1 / sqrt(2 theta_i)`, i.e. `k = exp(-sum_i d_i^2 / (2 l_i^2))`,
    /// in units of the `[0, 1]` inputs.
    pub length_scales: Vec<f64>,
    /// Process variance `s2` (the kernel is `s2 * k`), in standardised output units.
    pub process_variance: f64,
    /// Mean of the (de-duplicated) training outputs, used to standardise them.
    pub y_mean: f64,
    /// Sample standard deviation (`ddof = 1`) of the training outputs used to
    /// standardise them; `1` when the outputs are constant.
    pub y_std: f64,
    /// Fitted (generalised least-squares) constant mean of the GP, in original units.
    pub constant_mean: f64,
    /// The observation noise variance as a fraction of the process variance (`0`: the
    /// GP interpolates).
    #[serde(default)]
    pub nugget: f64,
}

/// How a fit sets its kernel parameters (this module's `theta`, one per input dimension).
#[derive(Clone, Copy)]
enum Tuning<'a> {
    /// Tuned by maximum likelihood, from this start (else [`INITIAL_LENGTH_SCALE`]).
    Start(Option<&'a [f64]>),
    /// Known: not tuned.
    Fixed(&'a [f64]),
}

/// A GP over inputs in `[0, 1]^d` for one objective; outputs standardised internally.
#[derive(Debug, Clone)]
pub struct Surrogate {
    /// The fitted model, on standardised outputs.
    gp: Kriging,
    /// Its posterior computed here ([`crate::kriging`], far faster than egobox-gp's);
    /// `None` where this factorisation of the correlation matrix fails (egobox-gp's then
    /// predicts).
    posterior: Option<KrigingPosterior>,
    /// Input dimension.
    dim: usize,
    /// Distinct training inputs.
    x: Vec<Vec<f64>>,
    /// Standardised training outputs (averaged over duplicate inputs).
    y: Vec<f64>,
    /// Hyperparameters in this module's conventions.
    hyper: GpHyperparameters,
    /// The fit's (reduced) log likelihood, which chooses the nugget.
    likelihood: f64,
}

impl Surrogate {
    /// Fits a GP to the rows `x` (each in `[0, 1]^d`) and outputs `y`.
    ///
    /// The length scales are tuned by maximum likelihood within
    /// [`LENGTH_SCALE_BOUNDS`]; a column that is constant in the data carries no
    /// information on its length scale, which then stays near
    /// [`INITIAL_LENGTH_SCALE`]. With [`GpConfig::fit_noise`] the nugget of [`NUGGETS`]
    /// of largest likelihood is taken; without, exact duplicate rows are merged and their
    /// outputs averaged. Constant outputs give a flat surrogate: the constant as mean, zero
    /// variance, and length scales [`INITIAL_LENGTH_SCALE`] (the likelihood carries
    /// no information, so it is not optimised). Deterministic: the same data and
    /// config give the same hyperparameters.
    pub fn fit(x: &[Vec<f64>], y: &[f64], config: &GpConfig) -> Result<Surrogate, GpError> {
        if config.fit == GpFit::Map {
            return Surrogate::fit_map(x, y, config);
        }
        if !config.fit_noise {
            return Surrogate::fit_inner(x, y, config, Tuning::Start(None), 0.0);
        }
        // The first nugget with every start; the others from the best length scales so
        // far, with two extra starts.
        let mut best = Surrogate::fit_inner(x, y, config, Tuning::Start(None), NUGGETS[0])?;
        let fewer = GpConfig {
            n_start: config.n_start.min(2),
            ..config.clone()
        };
        for &nugget in &NUGGETS[1..] {
            let start = best.hyper.theta.clone();
            let fitted = Surrogate::fit_inner(x, y, &fewer, Tuning::Start(Some(&start)), nugget)?;
            if fitted.likelihood > best.likelihood {
                best = fitted;
            }
        }
        Ok(best)
    }

    /// The `map` fit: the hyperparameters of [`gp_map::fit`] on the data as the GP sees
    /// it (standardised; duplicates merged when it interpolates), then the GP with them.
    fn fit_map(x: &[Vec<f64>], y: &[f64], config: &GpConfig) -> Result<Surrogate, GpError> {
        validate(x, y)?;
        let (xs, ys) = match config.fit_noise {
            true => (x.to_vec(), y.to_vec()),
            false => merge_duplicates(x, y),
        };
        if xs.len() < 2 {
            return Err(GpError::TooFewPoints { got: xs.len() });
        }
        if is_flat(&ys) {
            // Constant outputs carry no information on the kernel: the flat surrogate.
            let nugget = if config.fit_noise { NUGGETS[0] } else { 0.0 };
            return Surrogate::fit_inner(x, y, config, Tuning::Start(None), nugget);
        }
        let (mean, sd) = output_scale(&ys);
        let standard: Vec<f64> = ys.iter().map(|v| (v - mean) / sd).collect();
        let noise = match config.fit_noise {
            true => gp_map::Noise::Fitted,
            false => gp_map::Noise::Fixed(INTERPOLATING_NUGGET),
        };
        let (mut fit_x, mut fit_y) = fitting_subset(&xs, &standard, config.fit_points);
        if is_flat(&fit_y) {
            // A subset that happens to be flat tells nothing: tune on everything.
            (fit_x, fit_y) = (xs.clone(), standard.clone());
        }
        let map = gp_map::fit(&fit_x, &fit_y, noise, config.n_start);
        // An interpolating GP is fitted with nugget 0: its duplicates merged, egobox's own
        // regularising nugget added.
        let nugget = if config.fit_noise { map.noise } else { 0.0 };
        let theta: Vec<f64> = map.length_scales.iter().map(|l| 0.5 / (l * l)).collect();
        Surrogate::fit_inner(x, y, config, Tuning::Fixed(&theta), nugget)
    }

    /// Fits with known kernel parameters (as in [`Surrogate::kernel`]) instead of tuning
    /// them: how cached hyperparameters are reused. The result equals the tuned fit that
    /// produced `kernel`.
    pub fn fit_with_kernel(
        x: &[Vec<f64>],
        y: &[f64],
        kernel: &Kernel,
    ) -> Result<Surrogate, GpError> {
        let config = GpConfig {
            fit: GpFit::Likelihood,
            n_start: 0,
            fit_noise: kernel.nugget > 0.0,
            ..GpConfig::default()
        };
        Surrogate::fit_inner(x, y, &config, Tuning::Fixed(&kernel.theta), kernel.nugget)
    }

    /// The tuned kernel parameters.
    pub fn kernel(&self) -> Kernel {
        Kernel {
            theta: self.hyper.theta.clone(),
            nugget: self.hyper.nugget,
        }
    }

    /// One fit at a fixed `nugget` (`0`: interpolating, duplicates merged).
    fn fit_inner(
        x: &[Vec<f64>],
        y: &[f64],
        config: &GpConfig,
        tuning: Tuning,
        nugget: f64,
    ) -> Result<Surrogate, GpError> {
        let dim = validate(x, y)?;
        let (known_theta, start) = match tuning {
            Tuning::Fixed(t) => (Some(t), None),
            Tuning::Start(s) => (None, s),
        };
        if let Some(t) = known_theta.or(start) {
            if t.len() != dim || t.iter().any(|v| !(v.is_finite() && *v > 0.0)) {
                return Err(GpError::DimensionMismatch(format!(
                    "known theta {t:?} does not fit {dim} positive input dimensions"
                )));
            }
        }
        if !(nugget.is_finite() && nugget >= 0.0) {
            return Err(GpError::Fit(format!("invalid nugget {nugget}")));
        }
        let (merged_x, merged_y) = merge_duplicates(x, y);
        if merged_x.len() < 2 {
            return Err(GpError::TooFewPoints {
                got: merged_x.len(),
            });
        }
        let (xs, ys) = if nugget > 0.0 {
            (
                x.iter()
                    .map(|r| r.iter().map(|v| v + 0.0).collect())
                    .collect(),
                y.to_vec(),
            )
        } else {
            (merged_x, merged_y)
        };
        let n = xs.len();

        let flat = is_flat(&ys);
        let (y_mean, y_std) = output_scale(&ys);
        let y_scaled: Vec<f64> = ys.iter().map(|v| (v - y_mean) / y_std).collect();

        let x_arr = Array2::from_shape_vec((n, dim), xs.concat())
            .map_err(|e| GpError::DimensionMismatch(e.to_string()))?;
        let y_arr = Array1::from_vec(y_scaled.clone());

        // egobox standardises each input column with its ddof = 1 standard deviation
        // (a constant column keeps scale 1) and its theta is an inverse length scale
        // in those units: theta_e = std / l.
        let x_std = x_arr
            .std_axis(Axis(0), 1.0)
            .mapv(|s| if s == 0.0 { 1.0 } else { s });
        // theta_e = std * sqrt(2 theta) = std / l.
        let to_egobox = |t: &[f64]| -> Array1<f64> {
            x_std
                .iter()
                .zip(t)
                .map(|(s, t)| s * (2.0 * t).sqrt())
                .collect()
        };
        let init = match start {
            Some(t) => to_egobox(t),
            None => x_std.mapv(|s| s / INITIAL_LENGTH_SCALE),
        };
        let tuning = if let Some(t) = known_theta {
            ThetaTuning::Fixed(to_egobox(t))
        } else if flat {
            ThetaTuning::Fixed(x_std.mapv(|s| s / INITIAL_LENGTH_SCALE))
        } else {
            let (l_min, l_max) = LENGTH_SCALE_BOUNDS;
            ThetaTuning::Full {
                init,
                bounds: x_std.mapv(|s| (s / l_max, s / l_min)),
            }
        };
        let n_start = if config.n_start == 1 {
            2
        } else {
            config.n_start
        };
        let gp = Kriging::params(ConstantMean::default(), SquaredExponentialCorr::default())
            .kpls_dim(None)
            .theta_tuning(tuning)
            .n_start(n_start)
            .nugget(if nugget > 0.0 {
                nugget
            } else {
                INTERPOLATING_NUGGET
            })
            .fit(&Dataset::new(x_arr.clone(), y_arr))
            .map_err(|e| GpError::Fit(e.to_string()))?;

        let theta: Vec<f64> = gp
            .theta()
            .iter()
            .zip(&x_std)
            .map(|(t, s)| 0.5 * (t / s).powi(2))
            .collect();
        let length_scales: Vec<f64> = theta.iter().map(|t| 1.0 / (2.0 * t).sqrt()).collect();
        let process_variance = gp.variance();
        let posterior = KrigingPosterior::new(
            &xs,
            &y_scaled,
            &theta,
            if nugget > 0.0 {
                nugget
            } else {
                INTERPOLATING_NUGGET
            },
            process_variance,
        );
        let far = Array2::from_elem((1, dim), FAR_AWAY);
        let constant_scaled = gp.predict(&far).map_err(|e| GpError::Fit(e.to_string()))?[0];
        let hyper = GpHyperparameters {
            theta,
            length_scales,
            process_variance,
            y_mean,
            y_std,
            constant_mean: y_mean + y_std * constant_scaled,
            nugget,
        };
        let finite = hyper.theta.iter().all(|t| t.is_finite() && *t > 0.0)
            && process_variance.is_finite()
            && process_variance >= 0.0
            && hyper.constant_mean.is_finite();
        if !finite {
            return Err(GpError::Fit(format!(
                "non-finite or invalid hyperparameters: {hyper:?}"
            )));
        }
        Ok(Surrogate {
            likelihood: gp.likelihood(),
            gp,
            posterior,
            dim,
            x: xs,
            y: y_scaled,
            hyper,
        })
    }

    /// Posterior mean and standard deviation, in the original units of y, per point.
    ///
    /// # Panics
    /// If a point does not have [`Surrogate::dim`] coordinates.
    pub fn predict(&self, x: &[Vec<f64>]) -> Vec<(f64, f64)> {
        self.predict_observed(x, &vec![None; x.len()])
            .into_iter()
            .map(|(mean, sd, _)| (mean, sd))
            .collect()
    }

    /// Posterior mean alone, in the original units of y, per point: [`Surrogate::predict`]'s
    /// means to the bit, without the triangular solves its standard deviations take.
    ///
    /// # Panics
    /// If a point does not have [`Surrogate::dim`] coordinates.
    pub fn predict_mean(&self, x: &[Vec<f64>]) -> Vec<f64> {
        self.check_dims(x);
        let standardised = match &self.posterior {
            Some(posterior) => posterior.means(x),
            None => self.means_by_egobox(x),
        };
        let (m, s) = (self.hyper.y_mean, self.hyper.y_std);
        standardised.into_iter().map(|v| m + s * v).collect()
    }

    /// Posterior correlation between f(a) and f(b) (from the posterior covariance),
    /// in [-1, 1]; used by the lower-fidelity information gain.
    ///
    /// Where the posterior variance at `a` or `b` is negligible (below `1e-10` of the
    /// process variance, e.g. at a training point, or everywhere for a flat
    /// surrogate), the correlation is undefined; it is then reported as `1` if
    /// `a == b` and `0` otherwise (no information to gain).
    ///
    /// # Panics
    /// If `a` or `b` does not have [`Surrogate::dim`] coordinates.
    pub fn posterior_correlation(&self, a: &[f64], b: &[f64]) -> f64 {
        self.paired(&[b.to_vec()], &[Some(a.to_vec())], 0.0)[0].2
    }

    /// The correlation between a noisy observation at `a` and the noise-free function at
    /// `b`: [`Surrogate::posterior_correlation`] with the noise variance added to the
    /// variance at `a` (at `a = b`, `sqrt(v / (v + noise))`). What an evaluation at `a`
    /// tells about `f(b)`; as `posterior_correlation` where the variances are negligible.
    pub fn observation_correlation(&self, a: &[f64], b: &[f64]) -> f64 {
        self.predict_observed(&[b.to_vec()], &[Some(a.to_vec())])[0].2
    }

    /// Per point `x[i]`: the posterior mean and standard deviation (as
    /// [`Surrogate::predict`]), and the correlation of an observation at `observed[i]`
    /// with `f(x[i])` ([`Surrogate::observation_correlation`]; `1` where `observed[i]` is
    /// `None`: the observation is of `f(x[i])` itself, without noise). Each point's
    /// triangular solve is done once, and for all points together.
    ///
    /// # Panics
    /// If a point does not have [`Surrogate::dim`] coordinates, or the slices differ in
    /// length.
    pub fn predict_observed(
        &self,
        x: &[Vec<f64>],
        observed: &[Option<Vec<f64>>],
    ) -> Vec<(f64, f64, f64)> {
        self.paired(x, observed, self.hyper.nugget * self.hyper.process_variance)
    }

    /// [`Surrogate::predict_observed`] for several sets of observed points `observed[l]`
    /// (one per fidelity level) of the same points `x`: each `x[i]` is solved once for all
    /// of them. One answer per level, as `predict_observed` gives it.
    ///
    /// # Panics
    /// If a point does not have [`Surrogate::dim`] coordinates, or an `observed[l]` and `x`
    /// differ in length.
    pub fn predict_observed_levels(
        &self,
        x: &[Vec<f64>],
        observed: &[Vec<Option<Vec<f64>>>],
    ) -> Vec<Vec<(f64, f64, f64)>> {
        let levels: Vec<&[Option<Vec<f64>>]> = observed.iter().map(Vec::as_slice).collect();
        self.paired_levels(x, &levels, self.hyper.nugget * self.hyper.process_variance)
    }

    /// [`Surrogate::predict_observed`] with `noise` (egobox's units) added to the
    /// variance at each `observed[i]`.
    fn paired(
        &self,
        x: &[Vec<f64>],
        observed: &[Option<Vec<f64>>],
        noise: f64,
    ) -> Vec<(f64, f64, f64)> {
        self.paired_levels(x, &[observed], noise)
            .pop()
            .expect("one level")
    }

    /// [`Surrogate::paired`] for several sets of observed points.
    fn paired_levels(
        &self,
        x: &[Vec<f64>],
        observed: &[&[Option<Vec<f64>>]],
        noise: f64,
    ) -> Vec<Vec<(f64, f64, f64)>> {
        assert!(
            observed.iter().all(|o| o.len() == x.len()),
            "Surrogate: unpaired points"
        );
        self.check_dims(
            x.iter()
                .chain(observed.iter().flat_map(|o| o.iter().flatten())),
        );
        let levels: Vec<Vec<Paired>> = match &self.posterior {
            Some(posterior) => posterior.paired_levels(observed, x),
            None => observed
                .iter()
                .map(|o| self.paired_by_egobox(o, x))
                .collect(),
        };
        let floor = NEGLIGIBLE_VARIANCE * self.hyper.process_variance;
        let (m, s) = (self.hyper.y_mean, self.hyper.y_std);
        levels
            .into_iter()
            .zip(observed)
            .map(|(paired, &observed)| {
                paired
                    .into_iter()
                    .zip(x.iter().zip(observed))
                    .map(|(p, (b, a))| {
                        let rho = match (a, p.with) {
                            (Some(a), Some((vaa, vab))) => {
                                let vbb = p.variance;
                                if !(vaa > floor && vbb > floor) {
                                    if a == b {
                                        1.0
                                    } else {
                                        0.0
                                    }
                                } else {
                                    (vab / ((vaa + noise) * vbb).sqrt()).clamp(-1.0, 1.0)
                                }
                            }
                            _ => 1.0,
                        };
                        (m + s * p.mean, s * p.variance.max(0.0).sqrt(), rho)
                    })
                    .collect()
            })
            .collect()
    }

    /// The standardised posterior means by egobox-gp, where this crate's factorisation
    /// failed.
    fn means_by_egobox(&self, x: &[Vec<f64>]) -> Vec<f64> {
        if x.is_empty() {
            return Vec::new();
        }
        self.gp
            .predict(&self.to_array(x))
            .expect("egobox-gp prediction does not fail on a fitted model")
            .to_vec()
    }

    /// [`KrigingPosterior::paired_levels`] (one level) by egobox-gp, where this crate's
    /// factorisation failed: one covariance matrix per block of pairs.
    fn paired_by_egobox(&self, a: &[Option<Vec<f64>>], b: &[Vec<f64>]) -> Vec<Paired> {
        const BLOCK: usize = 32;
        a.chunks(BLOCK)
            .zip(b.chunks(BLOCK))
            .flat_map(|(a, b)| {
                let m = b.len();
                let both: Vec<Vec<f64>> = b.iter().chain(a.iter().flatten()).cloned().collect();
                // The covariance matrix holds the variances: the mean alone is predicted.
                let mean = self.means_by_egobox(b);
                let cov = self
                    .gp
                    .predict_covariance(&self.to_array(&both))
                    .expect("egobox-gp covariance does not fail on a fitted model");
                let mut k = m;
                (0..m)
                    .map(|i| Paired {
                        mean: mean[i],
                        variance: cov[[i, i]],
                        with: a[i].as_ref().map(|_| {
                            k += 1;
                            (cov[[k - 1, k - 1]], cov[[i, k - 1]])
                        }),
                    })
                    .collect::<Vec<_>>()
            })
            .collect()
    }

    /// The fitted observation noise variance, in the original units of y (`0` for an
    /// interpolating GP).
    pub fn noise_variance(&self) -> f64 {
        let h = &self.hyper;
        h.nugget * h.process_variance * h.y_std * h.y_std
    }

    /// The fitted hyperparameters.
    pub fn hyperparameters(&self) -> GpHyperparameters {
        self.hyper.clone()
    }

    /// Input dimension.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// A posterior function sample by random Fourier features (see [`RffSample`]),
    /// reproducible from `rng`. It uses the fitted kernel and the (de-duplicated)
    /// training data; the constant mean is re-estimated inside each sample, so the
    /// samples also carry its uncertainty, as the kriging variance does.
    pub fn rff_sample<R: rand::Rng + ?Sized>(&self, n_features: usize, rng: &mut R) -> RffSample {
        let model = RffModel {
            theta: &self.hyper.theta,
            process_variance: self.hyper.process_variance,
            x: &self.x,
            y: &self.y,
            y_mean: self.hyper.y_mean,
            y_std: self.hyper.y_std,
            nugget: self.hyper.nugget,
        };
        RffSample::draw(&model, n_features, rng)
    }

    /// Panics where a point does not have [`Surrogate::dim`] coordinates.
    fn check_dims<'a>(&self, points: impl IntoIterator<Item = &'a Vec<f64>>) {
        for p in points {
            assert_eq!(
                p.len(),
                self.dim,
                "Surrogate: point has {} coordinates, expected {}",
                p.len(),
                self.dim
            );
        }
    }

    /// Stacks points into an `(n, dim)` array.
    fn to_array(&self, x: &[Vec<f64>]) -> Array2<f64> {
        self.check_dims(x);
        let mut arr = Array2::zeros((x.len(), self.dim));
        for (mut row, xi) in arr.rows_mut().into_iter().zip(x) {
            row.assign(&ndarray::ArrayView1::from(xi.as_slice()));
        }
        arr
    }
}

/// Whether the outputs are all one value (a flat surrogate: no information on the kernel).
fn is_flat(ys: &[f64]) -> bool {
    ys.iter().all(|v| *v == ys[0])
}

/// The mean and sample standard deviation (`ddof = 1`) the outputs are standardised
/// with: for constant outputs the value itself and 1, and 1 wherever the deviation
/// vanishes.
fn output_scale(ys: &[f64]) -> (f64, f64) {
    if is_flat(ys) {
        return (ys[0], 1.0);
    }
    let n = ys.len() as f64;
    let mean = ys.iter().sum::<f64>() / n;
    let var = ys.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0);
    (mean, if var > 0.0 { var.sqrt() } else { 1.0 })
}

/// The training points the hyperparameters are tuned on: all of them up to `limit`, else
/// `limit` of them drawn without replacement by a fixed-seed generator (so that the same
/// data always give the same fit), in their original order.
fn fitting_subset(x: &[Vec<f64>], y: &[f64], limit: usize) -> (Vec<Vec<f64>>, Vec<f64>) {
    if x.len() <= limit.max(2) {
        return (x.to_vec(), y.to_vec());
    }
    let mut rng = ChaCha8Rng::seed_from_u64(0x005e_ed0f_da7a);
    let mut chosen = rand::seq::index::sample(&mut rng, x.len(), limit.max(2)).into_vec();
    chosen.sort_unstable();
    (
        chosen.iter().map(|&i| x[i].clone()).collect(),
        chosen.iter().map(|&i| y[i]).collect(),
    )
}

/// Checks the training data and returns the input dimension.
fn validate(x: &[Vec<f64>], y: &[f64]) -> Result<usize, GpError> {
    if x.len() != y.len() {
        return Err(GpError::DimensionMismatch(format!(
            "{} input rows but {} outputs",
            x.len(),
            y.len()
        )));
    }
    if x.len() < 2 {
        return Err(GpError::TooFewPoints { got: x.len() });
    }
    let dim = x[0].len();
    if dim == 0 {
        return Err(GpError::DimensionMismatch(
            "inputs have no coordinates".to_string(),
        ));
    }
    for (row, (xi, yi)) in x.iter().zip(y).enumerate() {
        if xi.len() != dim {
            return Err(GpError::DimensionMismatch(format!(
                "input row {row} has {} coordinates, row 0 has {dim}",
                xi.len()
            )));
        }
        if xi.iter().any(|v| !v.is_finite()) {
            return Err(GpError::NonFinite { row, what: "input" });
        }
        if let Some((col, value)) = xi
            .iter()
            .enumerate()
            .find(|(_, v)| !(0.0..=1.0).contains(*v))
        {
            return Err(GpError::OutOfRange {
                row,
                col,
                value: *value,
            });
        }
        if !yi.is_finite() {
            return Err(GpError::NonFinite {
                row,
                what: "output",
            });
        }
    }
    Ok(dim)
}

/// Merges rows with identical inputs (`-0.0` equals `0.0`), averaging their outputs;
/// distinct rows keep their first-occurrence order.
fn merge_duplicates(x: &[Vec<f64>], y: &[f64]) -> (Vec<Vec<f64>>, Vec<f64>) {
    let mut index: HashMap<Vec<u64>, usize> = HashMap::new();
    let mut xs: Vec<Vec<f64>> = Vec::new();
    let mut sums: Vec<f64> = Vec::new();
    let mut counts: Vec<usize> = Vec::new();
    for (xi, yi) in x.iter().zip(y) {
        let key: Vec<u64> = xi.iter().map(|v| (v + 0.0).to_bits()).collect();
        match index.get(&key) {
            Some(&k) => {
                sums[k] += yi;
                counts[k] += 1;
            }
            None => {
                index.insert(key, xs.len());
                xs.push(xi.iter().map(|v| v + 0.0).collect());
                sums.push(*yi);
                counts.push(1);
            }
        }
    }
    let ys = sums
        .iter()
        .zip(&counts)
        .map(|(s, c)| s / *c as f64)
        .collect();
    (xs, ys)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    /// `n` uniform points in `[0, 1]^d` from a fixed seed.
    fn points(n: usize, d: usize, seed: u64) -> Vec<Vec<f64>> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        (0..n)
            .map(|_| (0..d).map(|_| rng.random::<f64>()).collect())
            .collect()
    }

    fn smooth(x: &[f64]) -> f64 {
        x.iter()
            .enumerate()
            .map(|(i, v)| (3.0 * v + i as f64).sin())
            .sum::<f64>()
            * 10.0
            + 50.0
    }

    /// An interpolating fit (no noise term), as the tests of interpolation need.
    fn fit(x: &[Vec<f64>], y: &[f64]) -> Surrogate {
        let config = GpConfig {
            fit_noise: false,
            ..GpConfig::default()
        };
        Surrogate::fit(x, y, &config).expect("fit")
    }

    /// A fit with the default noise term.
    fn fit_noisy(x: &[Vec<f64>], y: &[f64]) -> Surrogate {
        Surrogate::fit(x, y, &GpConfig::default()).expect("fit")
    }

    #[test]
    fn the_posterior_computed_here_is_egobox_s() {
        let x = points(40, 3, 11);
        let y: Vec<f64> = x.iter().map(|p| smooth(p)).collect();
        let noisy: Vec<f64> = y
            .iter()
            .enumerate()
            .map(|(i, v)| v + 0.3 * ((i * 7) % 5) as f64)
            .collect();
        let probes = points(25, 3, 12);
        let observed: Vec<Option<Vec<f64>>> = probes
            .iter()
            .enumerate()
            .map(|(i, p)| (i % 2 == 0).then(|| p.iter().map(|v| (v + 0.1) % 1.0).collect()))
            .collect();
        for gp in [fit(&x, &y), fit_noisy(&x, &noisy)] {
            assert!(gp.posterior.is_some());
            let by_egobox = Surrogate {
                posterior: None,
                ..gp.clone()
            };
            let ours = gp.predict_observed(&probes, &observed);
            let theirs = by_egobox.predict_observed(&probes, &observed);
            for (a, b) in ours.iter().zip(&theirs) {
                // To rounding, which the interpolating GP's ill-conditioned correlation
                // matrix (nugget 2e-14) amplifies to about 1e-9.
                let close = |u: f64, v: f64| (u - v).abs() <= 1e-8 * (1.0 + v.abs());
                assert!(
                    close(a.0, b.0) && close(a.1, b.1) && close(a.2, b.2),
                    "{a:?} vs {b:?}"
                );
            }
        }
    }

    #[test]
    fn the_mean_alone_is_predict_s_mean_to_the_bit() {
        let x = points(30, 3, 5);
        let y: Vec<f64> = x.iter().map(|p| smooth(p)).collect();
        let probes = points(37, 3, 6);
        let gp = fit_noisy(&x, &y);
        let by_egobox = Surrogate {
            posterior: None,
            ..gp.clone()
        };
        for model in [&gp, &by_egobox] {
            let means: Vec<f64> = model.predict(&probes).iter().map(|p| p.0).collect();
            assert_eq!(model.predict_mean(&probes), means);
            assert!(model.predict_mean(&[]).is_empty());
        }
    }

    #[test]
    fn interpolates_training_points_with_low_variance() {
        for (n, d) in [(20, 2), (30, 5)] {
            let x = points(n, d, 42 + d as u64);
            let y: Vec<f64> = x.iter().map(|p| smooth(p)).collect();
            let gp = fit(&x, &y);
            assert_eq!(gp.dim(), d);
            let h = gp.hyperparameters();
            assert_eq!(h.theta.len(), d);
            let prior_sd = h.y_std * h.process_variance.sqrt();
            let mut max_sd: f64 = 0.0;
            for ((mean, sd), yi) in gp.predict(&x).into_iter().zip(&y) {
                assert!((mean - yi).abs() < 1e-3 * h.y_std, "{mean} vs {yi}");
                assert!(sd < 1e-3 * prior_sd, "sd {sd} vs prior {prior_sd}");
                max_sd = max_sd.max(sd);
            }
            // Away from the data the uncertainty is much larger.
            let (_, sd_corner) = gp.predict(&[vec![1.0; d]])[0];
            assert!(sd_corner > 100.0 * max_sd, "{sd_corner} vs {max_sd}");
        }
    }

    /// Training data varying only along dimension 0.
    fn one_dimensional_data(n: usize, seed: u64) -> (Vec<Vec<f64>>, Vec<f64>) {
        let x = points(n, 2, seed);
        let y = x.iter().map(|p| (6.0 * p[0]).sin()).collect();
        (x, y)
    }

    #[test]
    fn length_scales_are_per_dimension() {
        let (x, y) = one_dimensional_data(25, 1);
        let h = fit(&x, &y).hyperparameters();
        assert_eq!(h.theta.len(), 2);
        assert!(h.theta[0] > 100.0 * h.theta[1], "{:?}", h.theta);
        let (l_min, l_max) = LENGTH_SCALE_BOUNDS;
        for (t, l) in h.theta.iter().zip(&h.length_scales) {
            assert!((l - 1.0 / (2.0 * t).sqrt()).abs() < 1e-12 * l);
            assert!(
                *l >= l_min * (1.0 - 1e-9) && *l <= l_max * (1.0 + 1e-9),
                "{l}"
            );
        }
    }

    #[test]
    fn constant_or_nearly_constant_input_columns_are_handled() {
        // Column 1 is constant (e.g. every run at one fidelity), column 2 barely varies.
        let mut x = points(15, 3, 14);
        for (i, p) in x.iter_mut().enumerate() {
            p[1] = 1.0;
            p[2] = 0.5 + 1e-9 * i as f64;
        }
        let y: Vec<f64> = x.iter().map(|p| (5.0 * p[0]).sin()).collect();
        let gp = fit(&x, &y);
        let h = gp.hyperparameters();
        let (l_min, l_max) = LENGTH_SCALE_BOUNDS;
        for l in &h.length_scales {
            assert!(
                *l >= l_min * (1.0 - 1e-9) && *l <= l_max * (1.0 + 1e-9),
                "{l}"
            );
        }
        // Predictions at another value of the constant column are finite and uncertain.
        let (mean, sd) = gp.predict(&[vec![0.3, 0.0, 0.5]])[0];
        assert!(
            mean.is_finite() && sd.is_finite() && sd > 0.0,
            "{mean} {sd}"
        );
        let sample = gp.rff_sample(300, &mut ChaCha8Rng::seed_from_u64(3));
        assert!(sample.eval(&[0.3, 0.0, 0.5]).is_finite());
    }

    #[test]
    fn rff_samples_have_the_gp_mean_and_variance() {
        // 12 points in 2-D; test points in gaps and at the corners, where the posterior
        // is far from degenerate and the unknown constant mean adds visibly to the
        // variance (which the samples must reproduce).
        let x = points(12, 2, 3);
        let y: Vec<f64> = x
            .iter()
            .map(|p| (6.0 * p[0]).sin() + (4.0 * p[1]).cos() + 2.0)
            .collect();
        let gp = fit(&x, &y);
        let test = vec![
            vec![0.0, 0.0],
            vec![1.0, 1.0],
            vec![0.0, 1.0],
            vec![1.0, 0.0],
            vec![0.0, 0.5],
            vec![0.5, 0.5],
        ];
        let pred = gp.predict(&test);
        let n_samples = 400;
        let mut rng = ChaCha8Rng::seed_from_u64(99);
        let values: Vec<Vec<f64>> = (0..n_samples)
            .map(|_| gp.rff_sample(1000, &mut rng).eval_batch(&test))
            .collect();
        for (k, (gp_mean, gp_sd)) in pred.iter().enumerate() {
            let mean = values.iter().map(|v| v[k]).sum::<f64>() / n_samples as f64;
            let var =
                values.iter().map(|v| (v[k] - mean).powi(2)).sum::<f64>() / (n_samples - 1) as f64;
            // Mean: 4 Monte Carlo standard errors (two-sided p ~ 6e-5 for exact samples),
            // plus 0.2 posterior sd for the bias of the M = 1000 feature kernel (up to
            // 0.13 sd at these points, measured with 4000 samples).
            let se = gp_sd / (n_samples as f64).sqrt();
            let tol = 4.0 * se + 0.2 * gp_sd;
            assert!(
                (mean - gp_mean).abs() < tol,
                "{:?}: sample mean {mean} vs GP {gp_mean} (tol {tol})",
                test[k]
            );
            // Variance: the sample variance of 400 draws has a relative standard error
            // of sqrt(2 / 399) ~ 7 %, and the M = 1000 features bias it by up to ~7 %
            // (measured with 4000 samples); +-30 % leaves over 3 standard errors.
            let ratio = var / (gp_sd * gp_sd);
            assert!(
                (0.7..1.3).contains(&ratio),
                "{:?}: variance ratio {ratio}",
                test[k]
            );
        }
    }

    #[test]
    fn rff_samples_pass_through_the_training_data() {
        let x = points(20, 3, 8);
        let y: Vec<f64> = x.iter().map(|p| smooth(p)).collect();
        let gp = fit(&x, &y);
        let mut rng = ChaCha8Rng::seed_from_u64(2);
        let sample = gp.rff_sample(500, &mut rng);
        let h = gp.hyperparameters();
        // The weight-space noise (1e-6 of the process variance) lets the sample deviate
        // by about 1e-3 prior standard deviations at the data.
        let tol = 1e-2 * h.y_std * h.process_variance.sqrt();
        for (v, yi) in sample.eval_batch(&x).iter().zip(&y) {
            assert!((v - yi).abs() < tol, "{v} vs {yi}");
        }
    }

    #[test]
    fn fits_and_samples_are_deterministic() {
        let x = points(30, 5, 4);
        let y: Vec<f64> = x.iter().map(|p| smooth(p)).collect();
        let test = points(10, 5, 5);
        for n_start in [0, 1, 10] {
            let config = GpConfig {
                n_start,
                ..GpConfig::default()
            };
            let a = Surrogate::fit(&x, &y, &config).unwrap();
            let b = Surrogate::fit(&x, &y, &config).unwrap();
            assert_eq!(
                a.hyperparameters(),
                b.hyperparameters(),
                "n_start {n_start}"
            );
            assert_eq!(a.predict(&test), b.predict(&test));
        }
        let gp = fit(&x, &y);
        let s1 = gp.rff_sample(200, &mut ChaCha8Rng::seed_from_u64(17));
        let s2 = gp.rff_sample(200, &mut ChaCha8Rng::seed_from_u64(17));
        let s3 = gp.rff_sample(200, &mut ChaCha8Rng::seed_from_u64(18));
        assert_eq!(s1.eval_batch(&test), s2.eval_batch(&test));
        assert_ne!(s1.eval_batch(&test), s3.eval_batch(&test));
    }

    #[test]
    fn posterior_correlation_decays_along_a_short_length_scale() {
        let (x, y) = one_dimensional_data(8, 6);
        let gp = fit(&x, &y);
        let a = [0.0, 0.5];
        assert!((gp.posterior_correlation(&a, &a) - 1.0).abs() < 1e-9);
        let mut previous = 1.0;
        for step in [0.02, 0.05, 0.1, 0.2] {
            let rho = gp.posterior_correlation(&a, &[step, 0.5]);
            assert!(rho < previous, "step {step}: {rho} !< {previous}");
            previous = rho;
        }
        assert!(previous < 0.5, "{previous}");
        // Moving along the irrelevant dimension keeps the correlation high.
        let along = gp.posterior_correlation(&a, &[0.0, 0.7]);
        assert!(along > 0.95, "{along}");
        // At a training point the posterior variance vanishes.
        assert_eq!(gp.posterior_correlation(&x[0], &a), 0.0);
        assert_eq!(gp.posterior_correlation(&x[0], &x[0]), 1.0);
    }

    #[test]
    fn rejects_invalid_training_data() {
        let config = GpConfig::default();
        let one = Surrogate::fit(&[vec![0.5]], &[1.0], &config);
        assert!(matches!(one, Err(GpError::TooFewPoints { got: 1 })));
        let same = Surrogate::fit(&[vec![0.5], vec![0.5]], &[1.0, 2.0], &config);
        assert!(matches!(same, Err(GpError::TooFewPoints { got: 1 })));

        let x = vec![vec![0.1, 0.2], vec![0.3, 0.4], vec![0.5, 0.6]];
        let err = Surrogate::fit(&x, &[1.0, f64::NAN, 3.0], &config).unwrap_err();
        assert!(matches!(
            err,
            GpError::NonFinite {
                row: 1,
                what: "output"
            }
        ));
        assert!(err.to_string().contains("row 1"), "{err}");

        let mut bad = x.clone();
        bad[2][0] = f64::INFINITY;
        let err = Surrogate::fit(&bad, &[1.0, 2.0, 3.0], &config).unwrap_err();
        assert!(matches!(
            err,
            GpError::NonFinite {
                row: 2,
                what: "input"
            }
        ));

        bad[2][0] = 1.5;
        let err = Surrogate::fit(&bad, &[1.0, 2.0, 3.0], &config).unwrap_err();
        assert!(matches!(err, GpError::OutOfRange { row: 2, col: 0, .. }));
        assert!(err.to_string().contains("1.5"), "{err}");
        bad[2][0] = -0.1;
        assert!(matches!(
            Surrogate::fit(&bad, &[1.0, 2.0, 3.0], &config),
            Err(GpError::OutOfRange { row: 2, col: 0, .. })
        ));

        let ragged = vec![vec![0.1, 0.2], vec![0.3], vec![0.5, 0.6]];
        let err = Surrogate::fit(&ragged, &[1.0, 2.0, 3.0], &config).unwrap_err();
        assert!(matches!(err, GpError::DimensionMismatch(_)));
        assert!(err.to_string().contains("row 1"), "{err}");
        assert!(matches!(
            Surrogate::fit(&x, &[1.0, 2.0], &config),
            Err(GpError::DimensionMismatch(_))
        ));
        assert!(matches!(
            Surrogate::fit(&[vec![], vec![]], &[1.0, 2.0], &config),
            Err(GpError::DimensionMismatch(_))
        ));
    }

    #[test]
    fn constant_outputs_give_a_flat_surrogate() {
        let x = points(10, 3, 9);
        let y = vec![2.5; 10];
        let gp = fit(&x, &y);
        let h = gp.hyperparameters();
        assert_eq!((h.y_mean, h.y_std), (2.5, 1.0));
        assert!(h
            .theta
            .iter()
            .chain(&h.length_scales)
            .all(|v| v.is_finite()));
        assert!(h.process_variance.is_finite() && (h.constant_mean - 2.5).abs() < 1e-12);
        let test = points(5, 3, 10);
        for (mean, sd) in gp.predict(&test) {
            assert!((mean - 2.5).abs() < 1e-12 && sd.is_finite() && sd < 1e-6);
        }
        assert_eq!(gp.posterior_correlation(&test[0], &test[0]), 1.0);
        assert_eq!(gp.posterior_correlation(&test[0], &test[1]), 0.0);
        let sample = gp.rff_sample(100, &mut ChaCha8Rng::seed_from_u64(1));
        for v in sample.eval_batch(&test) {
            assert!((v - 2.5).abs() < 1e-12, "{v}");
        }
    }

    #[test]
    fn a_fit_with_cached_kernel_reproduces_the_tuned_fit() {
        let x = points(25, 3, 4);
        let y: Vec<f64> = x.iter().map(|p| smooth(p)).collect();
        let tuned = fit(&x, &y);
        let theta = tuned.hyperparameters().theta;
        let reused = Surrogate::fit_with_kernel(&x, &y, &tuned.kernel()).unwrap();
        let probe = points(10, 3, 5);
        for (a, b) in tuned.predict(&probe).iter().zip(reused.predict(&probe)) {
            assert!(
                (a.0 - b.0).abs() < 1e-9 * (1.0 + a.0.abs()),
                "{a:?} vs {b:?}"
            );
            assert!((a.1 - b.1).abs() < 1e-9 * (1.0 + a.1), "{a:?} vs {b:?}");
        }
        for (a, b) in theta.iter().zip(&reused.hyperparameters().theta) {
            assert!((a - b).abs() < 1e-9 * a, "{a} vs {b}");
        }
        let wrong = Kernel {
            theta: vec![1.0],
            nugget: 0.0,
        };
        assert!(Surrogate::fit_with_kernel(&x, &y, &wrong).is_err());
    }

    /// Noisy observations of a smooth function: the fit takes a nugget near the noise's
    /// share of the variance, its mean is smoother than the data (closer to the function
    /// than the observations are) and its variance at the data stays well above zero;
    /// the same data without noise keeps the smallest nugget.
    #[test]
    fn a_noise_term_is_fitted_to_noisy_data() {
        let x = points(40, 2, 21);
        let clean: Vec<f64> = x.iter().map(|p| smooth(p)).collect();
        let mut rng = ChaCha8Rng::seed_from_u64(22);
        let noisy: Vec<f64> = clean
            .iter()
            .map(|v| v + 3.0 * (rng.random::<f64>() - 0.5) * 12f64.sqrt())
            .collect();
        let gp = fit_noisy(&x, &noisy);
        let h = gp.hyperparameters();
        let signal = clean.iter().map(|v| (v - 50.0).powi(2)).sum::<f64>() / 40.0;
        let share = 9.0 / (signal + 9.0);
        assert!(
            h.nugget > share / 10.0 && h.nugget < share * 10.0,
            "nugget {} for a noise share of {share}",
            h.nugget
        );
        let predicted = gp.predict(&x);
        let fit_error: f64 = predicted
            .iter()
            .zip(&clean)
            .map(|(p, c)| (p.0 - c).powi(2))
            .sum();
        let data_error: f64 = noisy.iter().zip(&clean).map(|(n, c)| (n - c).powi(2)).sum();
        assert!(fit_error < 0.7 * data_error, "{fit_error} vs {data_error}");
        assert!(predicted.iter().all(|p| p.1 > 0.2), "{predicted:?}");
        // Without noise: the MAP fit's noise at its floor, the likelihood fit's the
        // smallest of its grid.
        let floor = fit_noisy(&x, &clean).hyperparameters().nugget;
        assert!(floor < 1.01 * gp_map::NOISE_RANGE.0, "{floor}");
        let likelihood = GpConfig {
            fit: GpFit::Likelihood,
            ..GpConfig::default()
        };
        let h = Surrogate::fit(&x, &clean, &likelihood)
            .unwrap()
            .hyperparameters();
        assert_eq!(h.nugget, NUGGETS[0]);
        let h = Surrogate::fit(&x, &noisy, &likelihood)
            .unwrap()
            .hyperparameters();
        assert!(h.nugget > share / 10.0 && h.nugget < share * 10.0, "{h:?}");
        // Replicates are kept: two noisy values at one input average out in the mean.
        let mut xs = x.clone();
        let mut ys = noisy.clone();
        xs.push(x[0].clone());
        ys.push(2.0 * clean[0] - noisy[0]);
        assert!(fit_noisy(&xs, &ys).predict(&[x[0].clone()])[0]
            .1
            .is_finite());
    }

    #[test]
    fn without_noise_duplicate_rows_are_merged() {
        let mut x = points(15, 2, 12);
        let mut y: Vec<f64> = x.iter().map(|p| smooth(p)).collect();
        // Re-evaluations of the same design with different results, one with -0.0.
        x.push(x[3].clone());
        y.push(y[3] + 1.0);
        x[0][1] = 0.0;
        x.push(vec![x[0][0], -0.0]);
        y.push(y[0]);
        let interpolating = GpConfig {
            fit_noise: false,
            ..GpConfig::default()
        };
        let gp = Surrogate::fit(&x, &y, &interpolating).unwrap();
        assert_eq!(gp.hyperparameters().nugget, 0.0);
        let (mean, sd) = gp.predict(&[x[3].clone()])[0];
        assert!((mean - (y[3] + 0.5)).abs() < 1e-3, "{mean}");
        assert!(sd.is_finite());
        let h = gp.hyperparameters();
        assert!(h.process_variance.is_finite() && h.theta.iter().all(|t| t.is_finite()));
    }

    #[test]
    fn predict_handles_empty_input_and_config_defaults() {
        let x = points(5, 2, 13);
        let y: Vec<f64> = x.iter().map(|p| smooth(p)).collect();
        assert!(fit(&x, &y).predict(&[]).is_empty());
        assert_eq!(GpConfig::default().n_start, 10);
    }

    /// Beyond `fit_points` the hyperparameters are tuned on a fixed-seed subset, in the
    /// data's order; below it on everything.
    #[test]
    fn large_data_tunes_on_a_reproducible_subset() {
        let x: Vec<Vec<f64>> = (0..40).map(|i| vec![i as f64 / 40.0]).collect();
        let y: Vec<f64> = (0..40).map(|i| (i as f64).sin()).collect();
        assert_eq!(fitting_subset(&x, &y, 40), (x.clone(), y.clone()));
        let (sx, sy) = fitting_subset(&x, &y, 10);
        assert_eq!((sx.len(), sy.len()), (10, 10));
        assert!(
            sx.windows(2).all(|w| w[0][0] < w[1][0]),
            "in order, distinct"
        );
        for (u, v) in sx.iter().zip(&sy) {
            let i = x.iter().position(|w| w == u).unwrap();
            assert_eq!(y[i], *v);
        }
        assert_eq!(fitting_subset(&x, &y, 10), (sx, sy));
    }
}
