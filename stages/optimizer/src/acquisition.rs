//! The MESMO / CF-MESMO acquisition function: a truncated-Gaussian
//! approximation of the information gained about the Pareto front by one
//! evaluation, optionally divided by the evaluation's cost.
//!
//! All objectives are **maximised**. For one objective with posterior mean
//! `mu`, posterior standard deviation `sigma` and a sampled front maximum
//! `y*`, the standardised maximum is `gamma = (y* - mu) / sigma`, and the
//! entropy reduction obtained by truncating the Gaussian predictive
//! distribution at `y*` is
//!
//! ```text
//! term(gamma) = gamma * phi(gamma) / (2 * Phi(gamma)) - ln Phi(gamma)
//! ```
//!
//! (Belakaria, Deshwal, Doppa, "Max-value entropy search for multi-objective
//! Bayesian optimization", NeurIPS 2019; the continuous-fidelity version
//! evaluates `mu`, `sigma` at `(x, z)` and divides by the cost `C(x, z)`).
//! The term is non-negative, equals `ln 2` at `gamma = 0`, decreases strictly
//! in `gamma`, tends to `0` as `gamma -> +inf` and grows like `ln(-gamma)` as
//! `gamma -> -inf`.

use super::normal::{inverse_mills_ratio, log_cdf, log_pdf, LN_SQRT_2PI};
use thiserror::Error;

/// Smallest posterior standard deviation used in `gamma = (y* - mu) / sigma`.
///
/// A standard deviation below this (including exactly `0`, which a noise-free
/// GP gives at its training points) is replaced by `MIN_SIGMA`, so `gamma` and
/// the information gain stay finite. With the floor in place, as `sigma -> 0`:
/// * `mu < y*`: `gamma = (y* - mu) / MIN_SIGMA` is huge, the term is `0`
///   (nothing to learn);
/// * `mu = y*`: `gamma = 0`, the term is `ln 2`;
/// * `mu > y*`: the term is about `ln((mu - y*) / MIN_SIGMA) + 0.42`, large
///   but finite (about `21` for a gap of `1`). This is the regime where the
///   sampled front lies below the predicted mean, where the truncated-Gaussian
///   approximation itself is least meaningful.
///
/// The value assumes objectives on a scale of order one (standardised GP
/// outputs).
pub const MIN_SIGMA: f64 = 1e-9;

/// Below this `gamma` the term is evaluated with its asymptotic series, which
/// avoids the cancellation between `gamma^2 / 2`-sized parts of the direct
/// formula. At `gamma = -30` both forms agree to about `1e-15`.
const ASYMPTOTIC_GAMMA: f64 = -30.0;

/// Number of terms of the asymptotic series used below [`ASYMPTOTIC_GAMMA`];
/// the first omitted term is below `1e-25` there.
const ASYMPTOTIC_TERMS: u32 = 12;

/// Errors from the acquisition functions (invalid inputs).
#[derive(Debug, Clone, PartialEq, Error)]
pub enum AcquisitionError {
    /// `mu` and `sigma` have different lengths.
    #[error("mu has {mu} entries but sigma has {sigma}")]
    LengthMismatch {
        /// Length of `mu`.
        mu: usize,
        /// Length of `sigma`.
        sigma: usize,
    },
    /// `mu` and `sigma` are empty.
    #[error("no objectives: mu and sigma are empty")]
    NoObjectives,
    /// No sampled Pareto-front maxima were given.
    #[error("no y* samples were given")]
    NoSamples,
    /// A sample of front maxima has the wrong number of objectives.
    #[error("y* sample {sample} has {got} entries, expected {expected}")]
    SampleLength {
        /// Index of the offending sample.
        sample: usize,
        /// Its length.
        got: usize,
        /// The number of objectives (length of `mu`).
        expected: usize,
    },
    /// An input that must be finite is not (NaN or infinite).
    #[error("{what} must be finite, got {value}")]
    NonFinite {
        /// Which input: `"mu"`, `"sigma"`, `"y*"` or `"information gain"`.
        what: &'static str,
        /// The offending value.
        value: f64,
    },
    /// A posterior standard deviation is negative.
    #[error("sigma[{index}] must be non-negative, got {value}")]
    NegativeSigma {
        /// Objective index.
        index: usize,
        /// The offending value.
        value: f64,
    },
    /// The cost is not a positive finite number.
    #[error("cost must be positive and finite, got {0}")]
    InvalidCost(f64),
}

/// The per-objective, per-sample information-gain term
/// `gamma * phi(gamma) / (2 Phi(gamma)) - ln Phi(gamma)`.
///
/// Numerically stable over the whole real line:
/// * `gamma >= -30`: `0.5 * gamma * r - ln Phi(gamma)` with the inverse Mills
///   ratio `r = phi / Phi` and `ln Phi` from [`super::normal`], both computed
///   without forming an underflowing `Phi`;
/// * `gamma < -30`: with `t = -gamma`, `S = t R(t)` (`R` the Mills ratio) and
///   `U = t^2 (S - 1)`, the term equals `U / (2 S) + ln sqrt(2 pi) + ln t - ln S`,
///   where `S = sum_k (-1)^k (2k-1)!! t^(-2k)` and `U` are summed from the
///   asymptotic series term by term, so nothing of size `gamma^2` is ever
///   subtracted.
///
/// Returns `0` for `gamma = +inf`, `+inf` for `gamma = -inf`, NaN for NaN.
pub fn information_gain_term(gamma: f64) -> f64 {
    if gamma.is_nan() {
        return f64::NAN;
    }
    if gamma == f64::INFINITY {
        return 0.0;
    }
    if gamma < ASYMPTOTIC_GAMMA {
        return asymptotic_term(-gamma);
    }
    0.5 * gamma * inverse_mills_ratio(gamma) - log_cdf(gamma)
}

/// The term at `gamma = -t`, `t > 30`, from the asymptotic expansion of the
/// Mills ratio `R(t) = (1 / t) sum_{k >= 0} (-1)^k (2k-1)!! / t^(2k)`.
fn asymptotic_term(t: f64) -> f64 {
    let inv_t2 = 1.0 / (t * t);
    // coef = (-1)^k (2k-1)!!, pow = t^(-2(k-1)) at the start of step k.
    let mut coef = 1.0;
    let mut pow = 1.0;
    let mut s = 1.0;
    let mut u = 0.0;
    for k in 1..=ASYMPTOTIC_TERMS {
        coef *= -f64::from(2 * k - 1);
        u += coef * pow;
        pow *= inv_t2;
        s += coef * pow;
    }
    u / (2.0 * s) + LN_SQRT_2PI + t.ln() - s.ln()
}

/// The MESMO information gain of one candidate:
/// `(1/S) sum_s sum_j term((y*_sj - mu_j) / sigma_j)`.
///
/// * `mu[j]`, `sigma[j]`: posterior mean and standard deviation of objective
///   `j` (maximised) at the candidate; `sigma` is floored at [`MIN_SIGMA`].
/// * `y_star_samples[s][j]`: the maximum of objective `j` over the `s`-th
///   sampled Pareto front.
///
/// The result is finite and non-negative for valid inputs.
///
/// # Errors
/// Mismatched or empty lengths, non-finite `mu`, `sigma` or `y*`, or a
/// negative `sigma`.
pub fn mesmo_information_gain(
    mu: &[f64],
    sigma: &[f64],
    y_star_samples: &[Vec<f64>],
) -> Result<f64, AcquisitionError> {
    if mu.len() != sigma.len() {
        return Err(AcquisitionError::LengthMismatch {
            mu: mu.len(),
            sigma: sigma.len(),
        });
    }
    if mu.is_empty() {
        return Err(AcquisitionError::NoObjectives);
    }
    if y_star_samples.is_empty() {
        return Err(AcquisitionError::NoSamples);
    }
    for (index, (&m, &s)) in mu.iter().zip(sigma).enumerate() {
        check_finite("mu", m)?;
        check_finite("sigma", s)?;
        if s < 0.0 {
            return Err(AcquisitionError::NegativeSigma { index, value: s });
        }
    }
    let mut total = 0.0;
    for (sample, y_star) in y_star_samples.iter().enumerate() {
        if y_star.len() != mu.len() {
            return Err(AcquisitionError::SampleLength {
                sample,
                got: y_star.len(),
                expected: mu.len(),
            });
        }
        for ((&y, &m), &s) in y_star.iter().zip(mu).zip(sigma) {
            check_finite("y*", y)?;
            total += information_gain_term((y - m) / s.max(MIN_SIGMA));
        }
    }
    Ok(total / y_star_samples.len() as f64)
}

/// Cost-normalised acquisition value `alpha = ig / cost`.
///
/// # Errors
/// `cost` not finite and positive, or `ig` not finite.
pub fn cost_normalised(ig: f64, cost: f64) -> Result<f64, AcquisitionError> {
    check_finite("information gain", ig)?;
    if !(cost.is_finite() && cost > 0.0) {
        return Err(AcquisitionError::InvalidCost(cost));
    }
    Ok(ig / cost)
}

/// The CF-MESMO acquisition `alpha(x, z)`: [`mesmo_information_gain`] of the
/// posterior at `(x, z)` divided by the cost `C(x, z)`.
///
/// # Errors
/// As [`mesmo_information_gain`] and [`cost_normalised`].
pub fn cf_mesmo_acquisition(
    mu: &[f64],
    sigma: &[f64],
    y_star_samples: &[Vec<f64>],
    cost: f64,
) -> Result<f64, AcquisitionError> {
    cost_normalised(mesmo_information_gain(mu, sigma, y_star_samples)?, cost)
}

/// Correlations at least this close to 1 use the truncated-Gaussian closed form.
const RHO_CLOSED_FORM: f64 = 1.0 - 1e-9;
/// Intervals of the Simpson rule per integration panel.
const ESG_INTERVALS: usize = 240;
/// Half-width of the integration range, in standard deviations.
const ESG_HALF_WIDTH: f64 = 9.0;

/// Information gained about a full-fidelity maximum by observing a lower fidelity.
///
/// Observing `g = g(x, z)` at a lower fidelity teaches about the full-fidelity
/// `f = f(x)` only through their posterior correlation `rho`. Conditioning on
/// the sampled maximum (`f <= y*`, standardised `gamma = (y* - mu_f) / sigma_f`)
/// turns the standardised `u = (g - mu_g) / sigma_g` into an extended
/// skew-Gaussian with density
///
/// ```text
/// p(u) = phi(u) Phi((gamma - rho u) / sqrt(1 - rho^2)) / Phi(gamma)
/// ```
///
/// (the lower-fidelity approximation of MF-MES, Takeno et al. 2020, and of
/// iMOCA / CF-MESMO, Belakaria et al.). The gain is the entropy drop
/// `H(N(0, 1)) - H(p)`, integrated numerically over +-9 standard deviations
/// (Simpson, 240 intervals per panel, with a panel of its own around the
/// density's soft edge). It is 0 at `rho = 0` and equals
/// [`information_gain_term`]`(gamma)` at `|rho| = 1`, which is used in closed
/// form there.
pub fn lower_fidelity_information_gain(gamma: f64, rho: f64) -> f64 {
    let rho = rho.clamp(-1.0, 1.0);
    if rho.abs() >= RHO_CLOSED_FORM {
        return information_gain_term(gamma);
    }
    if rho == 0.0 || gamma == f64::INFINITY {
        return 0.0;
    }
    let log_norm = log_cdf(gamma);
    let scale = (1.0 - rho * rho).sqrt();
    let log_p = |u: f64| log_pdf(u) + log_cdf((gamma - rho * u) / scale) - log_norm;
    // The density has a soft edge of width scale / |rho| at u = gamma / rho; as rho -> 1
    // it sharpens into the truncation, so that band gets its own dense panel.
    let edge = gamma / rho;
    let width = 8.0 * scale / rho.abs();
    let mut cuts = vec![-ESG_HALF_WIDTH, ESG_HALF_WIDTH];
    for c in [edge - width, edge + width] {
        if c > -ESG_HALF_WIDTH && c < ESG_HALF_WIDTH {
            cuts.push(c);
        }
    }
    cuts.sort_by(f64::total_cmp);
    let entropy: f64 = cuts
        .windows(2)
        .map(|w| simpson(|u| -log_p(u).exp() * log_p(u), w[0], w[1], ESG_INTERVALS))
        .sum();
    // H(N(0, 1)) = ln sqrt(2 pi e); the difference is never negative in exact arithmetic.
    (LN_SQRT_2PI + 0.5 - entropy).max(0.0)
}

/// Composite Simpson rule of `f` over `[a, b]` with `n` (even) intervals.
fn simpson(f: impl Fn(f64) -> f64, a: f64, b: f64, n: usize) -> f64 {
    let h = (b - a) / n as f64;
    let inner: f64 = (1..n)
        .map(|i| f(a + i as f64 * h) * if i % 2 == 1 { 4.0 } else { 2.0 })
        .sum();
    (f(a) + f(b) + inner) * h / 3.0
}

fn check_finite(what: &'static str, value: f64) -> Result<(), AcquisitionError> {
    if value.is_finite() {
        Ok(())
    } else {
        Err(AcquisitionError::NonFinite { what, value })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::f64::consts::LN_2;

    fn assert_rel(got: f64, want: f64, tol: f64) {
        let err = if want == 0.0 {
            got.abs()
        } else {
            ((got - want) / want).abs()
        };
        assert!(err <= tol, "got {got:e}, want {want:e}, rel err {err:e}");
    }

    #[test]
    fn term_at_zero_is_ln_2() {
        // phi(0)/Phi(0) is finite and multiplied by gamma = 0, and
        // -ln Phi(0) = -ln 0.5 = ln 2 = 0.6931471805599453.
        assert_rel(information_gain_term(0.0), LN_2, 1e-15);
    }

    #[test]
    fn term_at_one_by_hand() {
        // phi(1) = exp(-1/2)/sqrt(2 pi) = 0.24197072451914337,
        // Phi(1) = 0.8413447460685429,
        // gamma phi / (2 Phi) = 0.24197072451914337 / 1.6826894921370858
        //                     = 0.14380...,
        // -ln Phi(1) = 0.17275377902344988,
        // total (mpmath, 60 digits) = 0.31655376449303907.
        let phi = 0.241_970_724_519_143_37;
        let cdf = 0.841_344_746_068_542_9;
        let by_hand = phi / (2.0 * cdf) - f64::ln(cdf);
        assert_rel(by_hand, 0.316_553_764_493_039_07, 1e-15);
        assert_rel(information_gain_term(1.0), 0.316_553_764_493_039_07, 1e-14);
    }

    #[test]
    fn term_matches_high_precision_reference() {
        // mpmath, 60 digits: g*npdf(g)/(2*ncdf(g)) - log(ncdf(g)); for g > 0
        // with log1p(-ncdf(-g)) so the tiny tails are resolved.
        let table = [
            (-1e8, 18.839_619_277_157_038),
            (-1e4, 9.629_278_925_180_854),
            (-1000.0, 7.326_695_812_179_309_5),
            (-100.0, 5.024_308_644_242_053),
            (-40.0, 4.109_065_069_608_514),
            (-30.5, 3.838_806_570_344_704),
            (-30.0, 3.822_348_944_838_041_4),
            (-29.5, 3.805_617_157_672_478),
            (-20.0, 3.419_624_685_818_758_4),
            (-10.0, 2.740_818_980_699_910_6),
            (-5.0, 2.098_738_476_174_120_6),
            (-2.0, 1.409_968_800_859_191),
            (-1.0, 1.078_454_006_928_773),
            (-0.5, 0.890_642_319_001_602_5),
            (0.5, 0.496_236_523_747_914_77),
            (2.0, 0.078_260_772_007_953_45),
            (5.0, 4.003_451_465_226_028e-6),
            (8.0, 2.083_118_039_157_476e-14),
            (10.0, 3.923_497_843_594_815e-22),
            (20.0, 5.548_484_603_345_825e-87),
        ];
        for (gamma, want) in table {
            let got = information_gain_term(gamma);
            let err = ((got - want) / want).abs();
            assert!(err < 1e-12, "term({gamma}) = {got:e}, want {want:e}");
        }
    }

    #[test]
    fn asymptotic_and_direct_forms_agree_at_the_switch() {
        for gamma in [-30.0_f64, -32.0, -35.0, -40.0] {
            let direct = 0.5 * gamma * inverse_mills_ratio(gamma) - log_cdf(gamma);
            let series = asymptotic_term(-gamma);
            assert_rel(series, direct, 1e-13);
        }
    }

    #[test]
    fn term_is_non_negative_and_strictly_decreasing() {
        let mut gammas = vec![-1e300, -1e100, -1e12, -1e6];
        let mut g = -200.0;
        while g <= 36.0 {
            gammas.push(g);
            g += 0.0625;
        }
        let mut prev = f64::INFINITY;
        for gamma in gammas {
            let v = information_gain_term(gamma);
            assert!(v.is_finite() && v >= 0.0, "term({gamma}) = {v}");
            assert!(v < prev, "not decreasing at {gamma}: {v} >= {prev}");
            prev = v;
        }
        assert_eq!(information_gain_term(f64::INFINITY), 0.0);
        assert_eq!(information_gain_term(f64::NEG_INFINITY), f64::INFINITY);
        assert!(information_gain_term(f64::NAN).is_nan());
        assert!(information_gain_term(50.0) >= 0.0);
    }

    #[test]
    fn information_gain_by_hand() {
        // mu = (0, 1), sigma = (1, 2), y* samples (0, 3) and (1, 1):
        // sample 1: gamma = (0-0)/1 = 0 -> ln 2; (3-1)/2 = 1 -> T1;
        // sample 2: gamma = (1-0)/1 = 1 -> T1; (1-1)/2 = 0 -> ln 2;
        // mean = (2 ln 2 + 2 T1) / 2 = ln 2 + T1
        //      = 0.6931471805599453 + 0.31655376449303907 = 1.0097009450529844.
        let ig =
            mesmo_information_gain(&[0.0, 1.0], &[1.0, 2.0], &[vec![0.0, 3.0], vec![1.0, 1.0]])
                .unwrap();
        assert_rel(ig, 1.009_700_945_052_984_4, 1e-14);
        // Divided by a cost of 0.25: alpha = 4.038803780211938.
        let alpha = cf_mesmo_acquisition(
            &[0.0, 1.0],
            &[1.0, 2.0],
            &[vec![0.0, 3.0], vec![1.0, 1.0]],
            0.25,
        )
        .unwrap();
        assert_rel(alpha, 4.038_803_780_211_937, 1e-14);
    }

    #[test]
    fn monotone_in_sigma() {
        // y* above mu: gamma = d / sigma falls as sigma grows, so the gain
        // rises; y* below mu: gamma rises towards 0, so the gain falls.
        let samples = [vec![1.0], vec![1.5], vec![3.0]];
        let below = [vec![-1.0], vec![-0.5]];
        let mut prev_up = -1.0;
        let mut prev_down = f64::INFINITY;
        for i in 0..200 {
            let s = 1e-3 * 1.05_f64.powi(i);
            let up = mesmo_information_gain(&[0.0], &[s], &samples).unwrap();
            let down = mesmo_information_gain(&[0.0], &[s], &below).unwrap();
            assert!(up >= prev_up, "sigma {s}: {up} < {prev_up}");
            assert!(down <= prev_down, "sigma {s}: {down} > {prev_down}");
            assert!(up >= 0.0 && down >= 0.0);
            prev_up = up;
            prev_down = down;
        }
    }

    #[test]
    fn zero_sigma_is_finite() {
        // mu below y*: no information, term 0 (gamma = 1e9).
        let ig = mesmo_information_gain(&[0.0], &[0.0], &[vec![1.0]]).unwrap();
        assert_eq!(ig, 0.0);
        // mu equal to y*: gamma = 0, ln 2.
        let ig = mesmo_information_gain(&[1.0], &[0.0], &[vec![1.0]]).unwrap();
        assert_rel(ig, LN_2, 1e-15);
        // mu above y*: gamma = -1e9, finite, equal to term(-1e9).
        let ig = mesmo_information_gain(&[1.0], &[0.0], &[vec![0.0]]).unwrap();
        assert!(ig.is_finite());
        assert_rel(ig, information_gain_term(-1.0 / MIN_SIGMA), 1e-15);
        assert!((ig - ((1.0 / MIN_SIGMA).ln() + LN_SQRT_2PI - 0.5)).abs() < 1e-12);
    }

    #[test]
    fn invalid_inputs_are_rejected() {
        use AcquisitionError as E;
        let s = [vec![1.0, 1.0]];
        assert_eq!(
            mesmo_information_gain(&[0.0], &[1.0, 1.0], &s),
            Err(E::LengthMismatch { mu: 1, sigma: 2 })
        );
        assert_eq!(mesmo_information_gain(&[], &[], &s), Err(E::NoObjectives));
        assert_eq!(
            mesmo_information_gain(&[0.0, 0.0], &[1.0, 1.0], &[]),
            Err(E::NoSamples)
        );
        assert_eq!(
            mesmo_information_gain(&[0.0, 0.0], &[1.0, 1.0], &[vec![1.0, 1.0], vec![1.0]]),
            Err(E::SampleLength {
                sample: 1,
                got: 1,
                expected: 2
            })
        );
        assert_eq!(
            mesmo_information_gain(&[0.0, 0.0], &[1.0, -1.0], &s),
            Err(E::NegativeSigma {
                index: 1,
                value: -1.0
            })
        );
        assert!(matches!(
            mesmo_information_gain(&[f64::NAN, 0.0], &[1.0, 1.0], &s),
            Err(E::NonFinite { what: "mu", .. })
        ));
        assert!(matches!(
            mesmo_information_gain(&[0.0, 0.0], &[f64::INFINITY, 1.0], &s),
            Err(E::NonFinite { what: "sigma", .. })
        ));
        assert!(matches!(
            mesmo_information_gain(&[0.0, 0.0], &[1.0, 1.0], &[vec![0.0, f64::NAN]]),
            Err(E::NonFinite { what: "y*", .. })
        ));
    }

    #[test]
    fn lower_fidelity_gain_spans_zero_to_the_truncated_gaussian() {
        for gamma in [-2.0, -0.5, 0.0, 0.7, 2.5] {
            assert_eq!(lower_fidelity_information_gain(gamma, 0.0), 0.0);
            let full = information_gain_term(gamma);
            // Just below the closed-form switch the numerical integral agrees with it
            // (the edge's width sqrt(1 - rho^2) = 1.4e-4 moves the true value by less).
            let near = lower_fidelity_information_gain(gamma, 0.999_999_99);
            assert!(
                (near - full).abs() < 1e-3 * full.max(1.0),
                "{gamma}: {near} vs {full}"
            );
            // Monotone in |rho|, and symmetric in its sign.
            let mut last = 0.0;
            for rho in [0.1, 0.3, 0.5, 0.7, 0.9, 0.99] {
                let g = lower_fidelity_information_gain(gamma, rho);
                assert!(g >= last - 1e-12, "gamma {gamma} rho {rho}: {g} < {last}");
                assert!((g - lower_fidelity_information_gain(gamma, -rho)).abs() < 1e-9);
                last = g;
            }
            assert!(last <= full + 1e-9);
        }
    }

    /// For small rho the gain is second order: I ~ rho^2 Var-drop / 2. At gamma = 0,
    /// conditioning on f <= mu_f shifts u's mean by -rho phi(0)/Phi(0) and shrinks its
    /// variance to 1 - rho^2 phi(0)^2 / Phi(0)^2 (= 1 - 2 rho^2 / pi); to first order in
    /// rho^2 the entropy drop is rho^2 / pi (the distribution stays nearly Gaussian).
    #[test]
    fn lower_fidelity_gain_small_rho_by_hand() {
        let rho = 0.05;
        let expected = rho * rho / std::f64::consts::PI;
        let got = lower_fidelity_information_gain(0.0, rho);
        assert!(
            (got - expected).abs() < 0.02 * expected,
            "{got} vs {expected}"
        );
    }

    #[test]
    fn cost_normalisation() {
        assert_eq!(cost_normalised(2.0, 0.5), Ok(4.0));
        assert_eq!(cost_normalised(0.7, 1.0), Ok(0.7));
        for bad in [0.0, -1.0, f64::NAN, f64::INFINITY] {
            assert!(matches!(
                cost_normalised(1.0, bad),
                Err(AcquisitionError::InvalidCost(_))
            ));
        }
        assert!(matches!(
            cost_normalised(f64::NAN, 1.0),
            Err(AcquisitionError::NonFinite { .. })
        ));
    }
}
