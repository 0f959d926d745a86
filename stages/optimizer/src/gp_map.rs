//! Maximum a posteriori hyperparameters of the surrogate's GP, fitted by gradients: the
//! length scales and the noise of BoTorch's `SingleTaskGP` priors, L-BFGS on the
//! analytic gradient of the log marginal likelihood from several starts.
//!
//! The model is the one `gp` predicts with (egobox-gp's ordinary kriging): outputs
//! standardised, `y ~ N(mu 1, s2 (C + nu I))` with the squared-exponential correlation
//! `C_jk = exp(-sum_i (x_ji - x_ki)^2 / (2 l_i^2))` on the `[0, 1]` inputs, the mean `mu`
//! and the process variance `s2` profiled out (their maximum-likelihood values, in
//! closed form), the noise `nu` a fraction of `s2`. BoTorch instead fixes the signal
//! variance at 1 on standardised outputs and puts its noise prior on the noise variance;
//! with the profiled `s2` near 1 the two coincide, and here the prior is on `nu`.
//!
//! Priors (BoTorch 0.12 and later, `get_covar_module_with_dim_scaled_prior` and
//! `get_gaussian_likelihood_with_lognormal_prior`): each length scale
//! `LogNormal(sqrt(2) + ln(d) / 2, sqrt(3))`, which grows the typical length scale with
//! the dimension `d` so that a few points in many dimensions do not drive it to its
//! bound; the noise `LogNormal(-4, 1)`, at least `1e-4`. The log posterior is the
//! profiled log likelihood plus the log prior densities (in the parameters' own units,
//! as GPyTorch adds them).

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};

use crate::lbfgs::{minimise, LbfgsConfig};
use crate::linalg::{cholesky_in_place, dot, dot_interleaved, interleave};

/// Length scales searched, in units of the `[0, 1]` inputs (BoTorch's lower bound 0.025).
pub const LENGTH_SCALE_RANGE: (f64, f64) = (0.025, 100.0);

/// The noise searched, as a fraction of the process variance (BoTorch's floor 1e-4).
pub const NOISE_RANGE: (f64, f64) = (1e-4, 1.0);

/// The noise prior's `(mu, sigma)` of its logarithm.
pub const NOISE_PRIOR: (f64, f64) = (-4.0, 1.0);

/// The length-scale prior's `(mu, sigma)` of its logarithm in `dim` dimensions.
pub fn length_scale_prior(dim: usize) -> (f64, f64) {
    (
        std::f64::consts::SQRT_2 + 0.5 * (dim as f64).ln(),
        3f64.sqrt(),
    )
}

/// How the noise is set.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Noise {
    /// Fitted within [`NOISE_RANGE`], under [`NOISE_PRIOR`].
    Fitted,
    /// Known (an interpolating GP's tiny regularising nugget).
    Fixed(f64),
}

/// The fitted hyperparameters.
#[derive(Debug, Clone, PartialEq)]
pub struct MapFit {
    /// One per input dimension, in units of the `[0, 1]` inputs.
    pub length_scales: Vec<f64>,
    /// The noise as a fraction of the process variance.
    pub noise: f64,
    /// The log posterior there (profiled log likelihood plus log priors).
    pub log_posterior: f64,
}

/// The MAP hyperparameters for the rows `x` (in `[0, 1]^d`) and standardised outputs
/// `y`: L-BFGS from the priors' medians and from `extra_starts` draws of the priors (a
/// fixed seed, so the fit is deterministic); the best end.
pub fn fit(x: &[Vec<f64>], y: &[f64], noise: Noise, extra_starts: usize) -> MapFit {
    let dim = x[0].len();
    let (mu_l, sigma_l) = length_scale_prior(dim);
    let posterior = Posterior {
        x,
        y,
        noise,
        prior_l: (mu_l, sigma_l),
    };
    let mut bounds = vec![(LENGTH_SCALE_RANGE.0.ln(), LENGTH_SCALE_RANGE.1.ln()); dim];
    let fitted_noise = noise == Noise::Fitted;
    if fitted_noise {
        bounds.push((NOISE_RANGE.0.ln(), NOISE_RANGE.1.ln()));
    }
    let median = |noise_too: bool| {
        let mut p = vec![mu_l; dim];
        if noise_too {
            p.push(NOISE_PRIOR.0);
        }
        p
    };
    let mut starts = vec![median(fitted_noise)];
    // A fixed seed: the same data give the same fit.
    let mut rng = ChaCha8Rng::seed_from_u64(0x006d_6170_5f66_6974);
    for _ in 0..extra_starts {
        let mut p: Vec<f64> = (0..dim)
            .map(|_| mu_l + sigma_l * rng.sample::<f64, _>(StandardNormal))
            .collect();
        if fitted_noise {
            let z: f64 = StandardNormal.sample(&mut rng);
            p.push(NOISE_PRIOR.0 + NOISE_PRIOR.1 * z);
        }
        starts.push(p);
    }
    let config = LbfgsConfig::default();
    let mut best: Option<(Vec<f64>, f64)> = None;
    for start in starts {
        let m = minimise(&mut |p| posterior.negative(p), &start, &bounds, &config);
        if m.value.is_finite() && best.as_ref().is_none_or(|(_, v)| m.value < *v) {
            best = Some((m.x, m.value));
        }
    }
    let (p, value) = best.unwrap_or_else(|| {
        let p = median(fitted_noise);
        let v = posterior.negative(&p).0;
        (p, v)
    });
    MapFit {
        length_scales: p[..dim].iter().map(|u| u.exp()).collect(),
        noise: match noise {
            Noise::Fitted => p[dim].exp(),
            Noise::Fixed(nu) => nu,
        },
        log_posterior: -value,
    }
}

/// The log posterior of the hyperparameters on one data set.
struct Posterior<'a> {
    x: &'a [Vec<f64>],
    y: &'a [f64],
    noise: Noise,
    prior_l: (f64, f64),
}

impl Posterior<'_> {
    /// The negative log posterior and its gradient at `p` (log length scales, then the
    /// log noise where fitted); NaN where the covariance is not positive definite.
    fn negative(&self, p: &[f64]) -> (f64, Vec<f64>) {
        let (x, y) = (self.x, self.y);
        let (n, dim) = (x.len(), x[0].len());
        let inv_l2: Vec<f64> = p[..dim].iter().map(|u| (-2.0 * u).exp()).collect();
        let nu = match self.noise {
            Noise::Fitted => p[dim].exp(),
            Noise::Fixed(nu) => nu,
        };
        let mut c = vec![0.0; n * n];
        for j in 0..n {
            c[j * n + j] = 1.0;
            for k in 0..j {
                let r2: f64 = (0..dim)
                    .map(|i| (x[j][i] - x[k][i]).powi(2) * inv_l2[i])
                    .sum();
                let v = (-0.5 * r2).exp();
                c[j * n + k] = v;
                c[k * n + j] = v;
            }
        }
        let mut r = c.clone();
        for j in 0..n {
            r[j * n + j] += nu;
        }
        let nan = (f64::NAN, vec![0.0; p.len()]);
        let Some(chol) = cholesky(&r, n) else {
            return nan;
        };
        let r_inv = inverse_from_cholesky(&chol, n);
        let ones_r: f64 = r_inv.iter().sum();
        let y_r: f64 = (0..n)
            .map(|j| (0..n).map(|k| r_inv[j * n + k] * y[k]).sum::<f64>())
            .sum();
        let mean = y_r / ones_r;
        let resid: Vec<f64> = y.iter().map(|v| v - mean).collect();
        let alpha: Vec<f64> = (0..n)
            .map(|j| (0..n).map(|k| r_inv[j * n + k] * resid[k]).sum())
            .collect();
        let s2 = resid.iter().zip(&alpha).map(|(a, b)| a * b).sum::<f64>() / n as f64;
        if !(s2 > 0.0 && s2.is_finite()) {
            return nan;
        }
        let log_det: f64 = 2.0 * (0..n).map(|j| chol[j * n + j].ln()).sum::<f64>();
        let log_lik = -0.5 * n as f64 * s2.ln() - 0.5 * log_det;
        // d log_lik / d theta = 1/2 tr(W dR), W = alpha alpha^T / s2 - R^-1.
        let w = |j: usize, k: usize| alpha[j] * alpha[k] / s2 - r_inv[j * n + k];
        let (mu_l, sigma_l) = self.prior_l;
        let mut value = log_lik;
        let mut grad = vec![0.0; p.len()];
        for i in 0..dim {
            let mut g = 0.0;
            for j in 0..n {
                for k in 0..j {
                    let d2 = (x[j][i] - x[k][i]).powi(2) * inv_l2[i];
                    g += w(j, k) * c[j * n + k] * d2;
                }
            }
            let u = p[i];
            value += -u - (u - mu_l).powi(2) / (2.0 * sigma_l * sigma_l);
            // Both triangles: 2 x (1/2) x the lower one.
            grad[i] = g - 1.0 - (u - mu_l) / (sigma_l * sigma_l);
        }
        if self.noise == Noise::Fitted {
            let trace: f64 = (0..n).map(|j| w(j, j)).sum();
            let (mu_n, sigma_n) = NOISE_PRIOR;
            let v = p[dim];
            value += -v - (v - mu_n).powi(2) / (2.0 * sigma_n * sigma_n);
            grad[dim] = 0.5 * nu * trace - 1.0 - (v - mu_n) / (sigma_n * sigma_n);
        }
        (-value, grad.into_iter().map(|g| -g).collect())
    }
}

/// The lower Cholesky factor of the symmetric `n x n` matrix `a` (row-major), or `None`
/// where it is not positive definite.
fn cholesky(a: &[f64], n: usize) -> Option<Vec<f64>> {
    let mut l = a.to_vec();
    if !cholesky_in_place(&mut l, n) {
        return None;
    }
    for i in 0..n {
        l[i * n + i + 1..(i + 1) * n].fill(0.0);
    }
    Some(l)
}

/// `A^-1` from the lower Cholesky factor `l` of `A`: `L^-T L^-1`, from the columns of
/// `L^-1` (each by forward substitution from its diagonal down), stored as rows so that
/// every product is over contiguous memory.
fn inverse_from_cholesky(l: &[f64], n: usize) -> Vec<f64> {
    // Row `c` of `columns` is column `c` of L^-1 (zero above the diagonal).
    let mut columns = vec![0.0; n * n];
    for (c, column) in columns.chunks_exact_mut(n).enumerate() {
        for i in c..n {
            let start = if i == c { 1.0 } else { 0.0 };
            column[i] = (start - dot(&l[i * n + c..i * n + i], &column[c..i])) / l[i * n + i];
        }
    }
    // The same columns four at a time, interleaved, so that each entry of row `i` below
    // the diagonal is one of four sums over a single pass ([`dot_interleaved`]: the same
    // sums as column by column).
    const LANES: usize = 4;
    let groups = interleave::<LANES>(&columns, n, n);
    let mut inv = vec![0.0; n * n];
    for i in 0..n {
        let column_i = &columns[i * n + i..(i + 1) * n];
        for g in 0..=i / LANES {
            // Column j of L^-1 is zero above j <= i.
            let group = &groups[g * LANES * n..(g + 1) * LANES * n];
            let sums = dot_interleaved::<LANES>(column_i, &group[i * LANES..]);
            for (s, sum) in sums.iter().enumerate().take(i + 1 - g * LANES) {
                let j = g * LANES + s;
                inv[i * n + j] = *sum;
                inv[j * n + i] = *sum;
            }
        }
    }
    inv
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sampling::latin_hypercube;

    /// `n` points of a Latin hypercube in `[0, 1]^d` from a fixed seed.
    fn points(n: usize, d: usize, seed: u64) -> Vec<Vec<f64>> {
        latin_hypercube(n, d, &mut ChaCha8Rng::seed_from_u64(seed))
    }

    fn standardise(y: &[f64]) -> Vec<f64> {
        let n = y.len() as f64;
        let m = y.iter().sum::<f64>() / n;
        let s = (y.iter().map(|v| (v - m).powi(2)).sum::<f64>() / (n - 1.0)).sqrt();
        y.iter().map(|v| (v - m) / s).collect()
    }

    #[test]
    fn the_gradient_matches_finite_differences() {
        let x = points(12, 3, 1);
        let y = standardise(
            &x.iter()
                .map(|p| (4.0 * p[0]).sin() + p[1])
                .collect::<Vec<_>>(),
        );
        for noise in [Noise::Fitted, Noise::Fixed(1e-6)] {
            let posterior = Posterior {
                x: &x,
                y: &y,
                noise,
                prior_l: length_scale_prior(3),
            };
            let mut p = vec![-0.7, 0.2, 1.1];
            if noise == Noise::Fitted {
                p.push(-3.0);
            }
            let (_, grad) = posterior.negative(&p);
            for i in 0..p.len() {
                let h = 1e-6;
                let (mut up, mut down) = (p.clone(), p.clone());
                up[i] += h;
                down[i] -= h;
                let numeric = (posterior.negative(&up).0 - posterior.negative(&down).0) / (2.0 * h);
                assert!(
                    (numeric - grad[i]).abs() < 1e-5 * (1.0 + numeric.abs()),
                    "{noise:?} {i}: {numeric} vs {}",
                    grad[i]
                );
            }
        }
    }

    #[test]
    fn the_inverse_and_the_log_likelihood_match_a_hand_computation() {
        // Two points at distance 1 with l = 1: C = [[1, e^-1/2], [e^-1/2, 1]], nu = 0.
        let c = (-0.5f64).exp();
        let a = [1.0, c, c, 1.0];
        let l = cholesky(&a, 2).unwrap();
        let inv = inverse_from_cholesky(&l, 2);
        let det = 1.0 - c * c;
        let expected = [1.0 / det, -c / det, -c / det, 1.0 / det];
        for (v, e) in inv.iter().zip(expected) {
            assert!((v - e).abs() < 1e-12, "{inv:?}");
        }
        // y = (1, -1): mean 0 by symmetry, s2 = y^T R^-1 y / 2 = 2 (1 + c) / (2 det)
        // = 1 / (1 - c); log L = -ln(s2) - ln(det) / 2.
        let posterior = Posterior {
            x: &[vec![0.0], vec![1.0]],
            y: &[1.0, -1.0],
            noise: Noise::Fixed(0.0),
            prior_l: (0.0, 1.0),
        };
        let (value, _) = posterior.negative(&[0.0]);
        let s2 = 1.0 / (1.0 - c);
        let log_lik = -s2.ln() - 0.5 * det.ln();
        // The prior at u = 0 with (0, 1): -0 - 0 = 0.
        assert!((-value - log_lik).abs() < 1e-12, "{value} vs {log_lik}");
    }

    #[test]
    fn a_relevant_input_gets_a_shorter_length_scale_and_noise_is_found() {
        let x = points(40, 3, 2);
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        // Varies fast in x0, slowly in x1, not at all in x2; noise sd 0.2 of a unit
        // signal.
        let y: Vec<f64> = x
            .iter()
            .map(|p| (6.0 * p[0]).sin() + 0.3 * p[1] + 0.2 * rng.sample::<f64, _>(StandardNormal))
            .collect();
        let fit = fit(&x, &standardise(&y), Noise::Fitted, 4);
        let l = &fit.length_scales;
        assert!(l[0] < l[1] && l[1] < l[2], "{l:?}");
        assert!(l[0] < 0.5, "{l:?}");
        assert!(fit.noise > 1e-3 && fit.noise < 0.3, "{fit:?}");
        // Deterministic.
        assert_eq!(fit, super::fit(&x, &standardise(&y), Noise::Fitted, 4));
    }

    #[test]
    fn the_prior_keeps_few_points_in_many_dimensions_off_the_bounds() {
        // 8 points in 7 dimensions: the likelihood alone drives length scales to their
        // bounds; under the prior they stay interior.
        let x = points(8, 7, 4);
        let y = standardise(&x.iter().map(|p| p.iter().sum::<f64>()).collect::<Vec<_>>());
        let fit = fit(&x, &y, Noise::Fitted, 4);
        let (lo, hi) = LENGTH_SCALE_RANGE;
        for l in &fit.length_scales {
            assert!(*l > 1.01 * lo && *l < 0.99 * hi, "{fit:?}");
        }
    }
}
