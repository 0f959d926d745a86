//! Posterior function samples of a Gaussian process by random Fourier features.
//!
//! A squared-exponential kernel `s2 * exp(-sum_i theta_i d_i^2)` is approximated
//! (Rahimi & Recht 2007) by `M` features
//! `phi_j(x) = sqrt(2 s2 / M) cos(w_j . x + b_j)`, with `w_j ~ N(0, diag(2 theta))`
//! and `b_j ~ U(0, 2 pi)`, so that `phi(x) . phi(x') ~= s2 k(x, x')`. A function
//! `g(x) = phi(x) . w` with `w ~ N(0, I)` is then (approximately) a draw from the GP
//! prior, and conditioning the weights on the training data by Bayesian linear
//! regression gives a draw from the posterior that can be evaluated anywhere in
//! `O(M d)`, as MESMO and PES do to sample the objectives' maxima.
//!
//! The GP has an unknown constant mean (ordinary kriging). Its uncertainty is kept
//! by conditioning pathwise ("conditioning by kriging", Matheron's rule): with a
//! prior draw `w0 ~ N(0, I)` and simulated noise `e0 ~ N(0, s_n^2 I)`, the sample is
//! `f(x) = c(z) + phi(x) . (w0 + Phi^T alpha)`, where `z = y - Phi w0 - e0`,
//! `K = Phi Phi^T + s_n^2 I`, `c(z) = 1^T K^-1 z / 1^T K^-1 1` is the generalised
//! least-squares constant of `z` and `alpha = K^-1 (z - c(z) 1)`. Without the
//! constant this is an exact draw of the Bayesian linear regression posterior
//! `w ~ N(A^-1 Phi^T y / s_n^2, A^-1)`, `A = Phi^T Phi / s_n^2 + I`; with it, the
//! samples' mean and covariance are those of ordinary kriging with the feature
//! kernel, including the variance from estimating the constant. Working with the
//! `n x n` matrix `K` instead of the `M x M` matrix `A` costs `O(n^2 M + n^3)`
//! per sample instead of `O(n M^2 + M^3)`, which is much cheaper while `n < M`; past `M`
//! observations the same sample is computed in the weights' space (Woodbury's identity,
//! [`Update::by_weights`]), so a step at a thousand observations stays cheap.

use crate::linalg::{cholesky_in_place, cholesky_solve, dot, gram_lower};
use rand::Rng;
use rand_distr::StandardNormal;
use std::f64::consts::TAU;

/// Noise variance of the weight-space regression, relative to the process variance:
/// `s_n^2 = RFF_NOISE_RELATIVE * s2`.
///
/// The objectives are (near-)noise-free simulations and the GP interpolates, so the
/// noise only regularises the `n x n` solve; `1e-6` keeps the conditioned samples
/// within about `1e-3` standard deviations of the training data while keeping the
/// condition number of `K` around `n * 1e6`. Should the Cholesky factorisation of
/// `K` still fail numerically, the noise is raised tenfold until it succeeds.
pub const RFF_NOISE_RELATIVE: f64 = 1e-6;

/// What a posterior sample is conditioned on: a squared-exponential GP prior with a
/// constant mean, and training data in standardised output units.
#[derive(Debug, Clone, Copy)]
pub struct RffModel<'a> {
    /// Kernel parameters, one per input dimension, in the convention
    /// `k(x, x') = exp(-sum_i theta_i (x_i - x'_i)^2)`.
    pub theta: &'a [f64],
    /// Process variance `s2` of the standardised outputs (`0` for a flat GP).
    pub process_variance: f64,
    /// Training inputs, each of length `theta.len()`.
    pub x: &'a [Vec<f64>],
    /// Standardised training outputs, one per row of `x`.
    pub y: &'a [f64],
    /// Mean used to standardise the outputs: original `y = y_mean + y_std * standardised`.
    pub y_mean: f64,
    /// Scale used to standardise the outputs.
    pub y_std: f64,
    /// The observation noise variance as a fraction of `s2` (the GP's nugget); below
    /// [`RFF_NOISE_RELATIVE`], that is used.
    pub nugget: f64,
}

/// A function drawn from the GP posterior, approximated with random Fourier features
/// (Rahimi & Recht 2007) and Bayesian linear regression on them (as in MESMO / PES).
///
/// It evaluates `y_mean + y_std * (offset + sum_j a_j cos(w_j . x + b_j))`, in the
/// original units of the objective.
#[derive(Debug, Clone)]
pub struct RffSample {
    /// Input dimension.
    dim: usize,
    /// Frequencies, stored dimension-major: entry `i * n_features + j` is `w_j[i]`,
    /// so that the phases of all features accumulate in contiguous, vectorisable loops.
    freqs: Vec<f64>,
    /// Phases `b_j`.
    phases: Vec<f64>,
    /// Amplitudes `a_j`: the conditioned weights times `sqrt(2 s2 / M)`.
    amplitudes: Vec<f64>,
    /// Constant part in standardised units (the sample's own estimate of the GP's constant mean).
    offset: f64,
    /// Output de-standardisation: mean.
    y_mean: f64,
    /// Output de-standardisation: scale.
    y_std: f64,
}

impl RffSample {
    /// Draws a posterior sample with `n_features` random Fourier features.
    ///
    /// The random numbers are consumed in a fixed order (for each feature its
    /// frequency, dimension by dimension, then its phase; then the `M` prior
    /// weights; then the `n` noise values), so the sample is reproducible from a
    /// seeded `rng`. A GP with zero process variance (constant training outputs)
    /// has no random part: the sample is then the constant mean of the data and no
    /// random numbers are drawn. With `n_features == 0` the sample is the kriging
    /// constant of noisy data, also a constant function. Without training data it
    /// is a draw from the prior, around a zero constant.
    ///
    /// # Panics
    /// If `model.x` and `model.y` differ in length, a row of `model.x` does not have
    /// `model.theta.len()` coordinates, the process variance is negative or not
    /// finite, or the inputs or `theta` contain non-finite values.
    pub fn draw<R: Rng + ?Sized>(model: &RffModel<'_>, n_features: usize, rng: &mut R) -> Self {
        let dim = model.theta.len();
        let n = model.x.len();
        assert_eq!(n, model.y.len(), "RffModel: x and y differ in length");
        for (row, xi) in model.x.iter().enumerate() {
            assert_eq!(
                xi.len(),
                dim,
                "RffModel: training input {row} has wrong length"
            );
        }
        let s2 = model.process_variance;
        assert!(
            s2.is_finite() && s2 >= 0.0,
            "RffModel: process variance must be finite and non-negative, got {s2}"
        );
        if s2 == 0.0 {
            return RffSample {
                dim,
                freqs: Vec::new(),
                phases: Vec::new(),
                amplitudes: Vec::new(),
                offset: model.y.iter().sum::<f64>() / n.max(1) as f64,
                y_mean: model.y_mean,
                y_std: model.y_std,
            };
        }

        let m = n_features;
        let mut sample = Self::random_features(model.theta, s2, m, rng);
        sample.y_mean = model.y_mean;
        sample.y_std = model.y_std;
        let prior_weights: Vec<f64> = (0..m).map(|_| rng.sample(StandardNormal)).collect();
        let relative_noise = model.nugget.max(RFF_NOISE_RELATIVE);
        let noise_std = (relative_noise * s2).sqrt();
        let noise: Vec<f64> = (0..n)
            .map(|_| noise_std * rng.sample::<f64, _>(StandardNormal))
            .collect();

        // Feature matrix of the training inputs, n x M row-major (unit weights).
        let mut phi = vec![0.0; n * m];
        for (xi, row) in model.x.iter().zip(phi.chunks_exact_mut(m.max(1))) {
            sample.features_into(xi, row);
        }

        // z = y - Phi w0 - e0.
        let z: Vec<f64> = (0..n)
            .map(|r| {
                let row = &phi[r * m..(r + 1) * m];
                model.y[r] - dot(row, &prior_weights) - noise[r]
            })
            .collect();

        let update = Update {
            phi: &phi,
            n,
            m,
            z: &z,
            noise: relative_noise * s2,
            bound: 100.0 * n as f64 * s2,
        };
        let (weights, offset) = if n > m {
            update.by_weights(prior_weights)
        } else {
            update.by_data(prior_weights)
        };
        for (amp, w) in sample.amplitudes.iter_mut().zip(&weights) {
            *amp *= w;
        }
        sample.offset = offset;
        sample
    }

    /// Draws `m` random features of the kernel `s2 * exp(-sum theta_i d_i^2)`, with
    /// unit weights (amplitudes `sqrt(2 s2 / m)`), zero offset and identity output map.
    fn random_features<R: Rng + ?Sized>(theta: &[f64], s2: f64, m: usize, rng: &mut R) -> Self {
        let dim = theta.len();
        let freq_scales: Vec<f64> = theta.iter().map(|t| (2.0 * t).sqrt()).collect();
        let mut freqs = vec![0.0; dim * m];
        let mut phases = Vec::with_capacity(m);
        for j in 0..m {
            for (i, scale) in freq_scales.iter().enumerate() {
                let z: f64 = rng.sample(StandardNormal);
                freqs[i * m + j] = z * scale;
            }
            phases.push(rng.random::<f64>() * TAU);
        }
        RffSample {
            dim,
            freqs,
            phases,
            amplitudes: vec![(2.0 * s2 / m as f64).sqrt(); m],
            offset: 0.0,
            y_mean: 0.0,
            y_std: 1.0,
        }
    }

    /// Input dimension of the sample.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// Number of random Fourier features (`0` for a constant sample).
    pub fn n_features(&self) -> usize {
        self.phases.len()
    }

    /// Value of the sampled function at `x`, in the original units of the objective.
    ///
    /// # Panics
    /// If `x.len() != self.dim()`.
    pub fn eval(&self, x: &[f64]) -> f64 {
        let mut buf = vec![0.0; self.n_features()];
        self.eval_with(x, &mut buf)
    }

    /// Values of the sampled function at each point of `xs`, in the original units.
    ///
    /// # Panics
    /// If a point does not have `self.dim()` coordinates.
    pub fn eval_batch(&self, xs: &[Vec<f64>]) -> Vec<f64> {
        let mut buf = vec![0.0; self.n_features()];
        xs.iter().map(|x| self.eval_with(x, &mut buf)).collect()
    }

    /// Evaluates at `x` using `buf` (length `n_features`) as scratch space.
    fn eval_with(&self, x: &[f64], buf: &mut [f64]) -> f64 {
        assert_eq!(x.len(), self.dim, "RffSample: point has wrong dimension");
        self.phase_into(x, buf);
        for p in buf.iter_mut() {
            *p = fast_cos(*p);
        }
        let g = dot(buf, &self.amplitudes);
        self.y_mean + self.y_std * (self.offset + g)
    }

    /// Writes the phases `w_j . x + b_j` of all features into `out`.
    fn phase_into(&self, x: &[f64], out: &mut [f64]) {
        let m = out.len();
        out.copy_from_slice(&self.phases);
        for (i, xi) in x.iter().enumerate() {
            for (o, w) in out.iter_mut().zip(&self.freqs[i * m..(i + 1) * m]) {
                *o += w * xi;
            }
        }
    }

    /// Writes the unit-weight features `sqrt(2 s2 / M) cos(w_j . x + b_j)` into `out`
    /// (valid before the amplitudes are multiplied by the weights).
    fn features_into(&self, x: &[f64], out: &mut [f64]) {
        self.phase_into(x, out);
        for (o, a) in out.iter_mut().zip(&self.amplitudes) {
            *o = a * fast_cos(*o);
        }
    }
}

/// The Cholesky factor of the symmetric positive-definite `size x size` matrix whose lower
/// triangle is `lower`, with `jitter` added to its first `penalised` diagonal entries,
/// raised tenfold until the factorisation succeeds.
///
/// # Panics
/// Once the jitter passes `bound` (finite features give entries of at most `2 n s2`, so the
/// matrix is diagonally dominant, hence factorisable, long before `100 n s2`: only
/// non-finite inputs get there).
fn factorise_with_jitter(
    lower: &[f64],
    size: usize,
    penalised: usize,
    mut jitter: f64,
    bound: f64,
) -> Vec<f64> {
    loop {
        let mut k = lower.to_vec();
        for r in 0..penalised {
            k[r * size + r] += jitter;
        }
        if cholesky_in_place(&mut k, size) {
            return k;
        }
        assert!(
            jitter <= bound,
            "RffSample: non-finite training inputs or kernel parameters"
        );
        jitter *= 10.0;
    }
}

/// What a posterior sample is conditioned with: the `n x M` feature matrix `phi` of the
/// training inputs (row-major, unit weights), `z = y - Phi w0 - e0`, the noise variance
/// `noise` and the jitter's `bound` ([`factorise_with_jitter`]).
#[derive(Clone, Copy)]
struct Update<'a> {
    phi: &'a [f64],
    n: usize,
    m: usize,
    z: &'a [f64],
    noise: f64,
    bound: f64,
}

impl Update<'_> {
    /// Matheron's update in the data's space (the module's equations, `O(n^2 M + n^3)`): the
    /// conditioned weights `w0 + Phi^T alpha` and the constant `c(z)`.
    fn by_data(&self, prior_weights: Vec<f64>) -> (Vec<f64>, f64) {
        let (phi, n, m, z) = (self.phi, self.n, self.m, self.z);
        // K = Phi Phi^T + s_n^2 I, lower triangle.
        let gram = gram_lower(phi, n, m);
        let chol = factorise_with_jitter(&gram, n, n, self.noise, self.bound);
        let k_inv_z = cholesky_solve(&chol, n, z.to_vec());
        let k_inv_one = cholesky_solve(&chol, n, vec![1.0; n]);
        // Without data there is nothing to estimate the constant from: a prior draw.
        let offset = if n == 0 {
            0.0
        } else {
            k_inv_z.iter().sum::<f64>() / k_inv_one.iter().sum::<f64>()
        };
        // alpha = K^-1 (z - c 1) = K^-1 z - c K^-1 1.
        let alpha: Vec<f64> = k_inv_z
            .iter()
            .zip(&k_inv_one)
            .map(|(a, b)| a - offset * b)
            .collect();
        // w = w0 + Phi^T alpha.
        let mut weights = prior_weights;
        for (r, a) in alpha.iter().enumerate() {
            for (w, p) in weights.iter_mut().zip(&phi[r * m..(r + 1) * m]) {
                *w += a * p;
            }
        }
        (weights, offset)
    }

    /// The same update in the weights' space, `O(n M^2 + M^3)`, cheaper once `n > M`: by
    /// Woodbury's identity `Phi^T K^-1 = A^-1 Phi^T` with `A = Phi^T Phi + s_n^2 I`, so the
    /// weights are `w0 + v` and the constant `c` where `(v, c)` minimises
    /// `|z - Phi v - c 1|^2 + s_n^2 |v|^2` (profiling `v` out leaves `c(z)`'s generalised
    /// least squares): one `(M + 1) x (M + 1)` system, the features and the constant together,
    /// the constant unpenalised.
    fn by_weights(&self, prior_weights: Vec<f64>) -> (Vec<f64>, f64) {
        let (phi, n, m, z) = (self.phi, self.n, self.m, self.z);
        let size = m + 1;
        // The features and the constant, one row of length n each.
        let mut columns = vec![1.0; size * n];
        for (r, row) in phi.chunks_exact(m.max(1)).take(n).enumerate() {
            for (j, v) in row.iter().enumerate().take(m) {
                columns[j * n + r] = *v;
            }
        }
        let normal = gram_lower(&columns, size, n);
        let right: Vec<f64> = columns.chunks_exact(n).map(|c| dot(c, z)).collect();
        // The penalty on the features only: the constant's prior is flat.
        let chol = factorise_with_jitter(&normal, size, m, self.noise, self.bound);
        let solution = cholesky_solve(&chol, size, right);
        let mut weights = prior_weights;
        for (w, v) in weights.iter_mut().zip(&solution) {
            *w += v;
        }
        (weights, solution[m])
    }
}

/// High part of `pi`: its 25 leading significant bits, so that `k * PI_HI` is exact
/// for `|k| < 2^28`.
const PI_HI: f64 = f64::from_bits(std::f64::consts::PI.to_bits() & !0x0FFF_FFFF);
/// Middle part of `pi`: `PI - PI_HI` for the double `PI` (exact, 28 bits).
const PI_MID: f64 = std::f64::consts::PI - PI_HI;
/// Low part of `pi`: `pi - PI` for the true `pi`.
const PI_LO: f64 = 1.224_646_799_147_353_2e-16;
/// Adding and subtracting `1.5 * 2^52` rounds a double of magnitude below `2^51`
/// to the nearest integer, and leaves that integer's parity in the lowest mantissa bit.
const ROUND_MAGIC: f64 = 6_755_399_441_055_744.0;
/// Taylor coefficients of `cos(r) = sum_k C_k r^(2k)`, `C_k = (-1)^k / (2k)!`, to
/// `r^20`; on `|r| <= pi / 2` the truncation error is below `(pi/2)^22 / 22! ~ 2e-17`.
const COS_COEFFS: [f64; 11] = [
    1.0,
    -1.0 / 2.0,
    1.0 / 24.0,
    -1.0 / 720.0,
    1.0 / 40_320.0,
    -1.0 / 3_628_800.0,
    1.0 / 479_001_600.0,
    -1.0 / 87_178_291_200.0,
    1.0 / 20_922_789_888_000.0,
    -1.0 / 6_402_373_705_728_000.0,
    1.0 / 2_432_902_008_176_640_000.0,
];

/// Cosine to within `1e-15` (absolute), without branches or library calls so that loops over it
/// vectorise; about 5x faster than `f64::cos` in the feature loops.
///
/// `x = k pi + r` with `k` the nearest integer to `x / pi` and `|r| <= pi / 2`, then
/// `cos x = (-1)^k cos r`. The reduction is exact for `|k| < 2^25` (`|x| < 1e8`), far
/// beyond the phases met here (`|w_j| <~ 5 / l_min = 500` for the shortest length
/// scale the GP allows, times `x` in `[0, 1]`); it degrades gracefully up to
/// `|x| ~ 2^51 pi` and is meaningless beyond. NaN stays NaN.
#[inline(always)]
fn fast_cos(x: f64) -> f64 {
    let shifted = x * std::f64::consts::FRAC_1_PI + ROUND_MAGIC;
    let k = shifted - ROUND_MAGIC;
    let r = ((x - k * PI_HI) - k * PI_MID) - k * PI_LO;
    let r2 = r * r;
    let mut p = COS_COEFFS[10];
    for c in COS_COEFFS[..10].iter().rev() {
        p = p * r2 + c;
    }
    // Flip the sign for odd k (the parity sits in the lowest bit of `shifted`).
    f64::from_bits(p.to_bits() ^ (shifted.to_bits() << 63))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn fast_cos_matches_std_cos() {
        let mut rng = ChaCha8Rng::seed_from_u64(4);
        let mut worst: f64 = 0.0;
        for k in 0..200_000 {
            let x = match k % 4 {
                0 => rng.random_range(-4.0..4.0),
                1 => rng.random_range(-100.0..100.0),
                2 => rng.random_range(-1e7..1e7),
                // Near multiples of pi / 2, where the reduction and the sign switch.
                _ => {
                    (k / 4 % 2000) as f64 * std::f64::consts::FRAC_PI_2
                        + rng.random_range(-1e-9..1e-9)
                }
            };
            let err = (fast_cos(x) - x.cos()).abs();
            worst = worst.max(err);
            assert!(err <= 1e-15, "x = {x}: {} vs {}", fast_cos(x), x.cos());
        }
        assert!(worst > 0.0);
        assert!(fast_cos(f64::NAN).is_nan());
        assert_eq!(fast_cos(0.0), 1.0);
    }

    #[test]
    fn features_approximate_the_kernel() {
        // phi(x) . phi(x') -> s2 exp(-sum theta_i d_i^2); with M = 40000 features the
        // Monte Carlo error of each product is about s2 * sqrt(1 / M) = 0.01 s2
        // (a product of cosines has variance <= 1/2 per feature, times 2 / M).
        let theta = [3.0, 0.5];
        let s2 = 2.0;
        let m = 40_000;
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let features = RffSample::random_features(&theta, s2, m, &mut rng);
        let x0 = [0.2, 0.7];
        let mut phi0 = vec![0.0; m];
        features.features_into(&x0, &mut phi0);
        for x1 in [[0.2, 0.7], [0.5, 0.7], [0.2, 0.1], [0.6, 0.3]] {
            let mut phi1 = vec![0.0; m];
            features.features_into(&x1, &mut phi1);
            let d2: f64 = theta
                .iter()
                .zip(x0.iter().zip(&x1))
                .map(|(t, (a, b))| t * (a - b) * (a - b))
                .sum();
            let exact = s2 * (-d2).exp();
            let approx = dot(&phi0, &phi1);
            assert!(
                (approx - exact).abs() < 0.04 * s2,
                "{x1:?}: {approx} vs {exact}"
            );
        }
    }

    #[test]
    fn sample_interpolates_training_data() {
        let x = vec![vec![0.1], vec![0.4], vec![0.5], vec![0.9]];
        let y = vec![0.5, -1.0, -0.2, 1.3];
        let model = RffModel {
            theta: &[10.0],
            process_variance: 1.2,
            x: &x,
            y: &y,
            y_mean: 3.0,
            y_std: 2.0,
            nugget: 0.0,
        };
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        for _ in 0..5 {
            let s = RffSample::draw(&model, 300, &mut rng);
            for (xi, yi) in x.iter().zip(&y) {
                // The regression noise std is sqrt(1e-6 * 1.2) ~ 1e-3 standardised.
                let expected = 3.0 + 2.0 * yi;
                assert!((s.eval(xi) - expected).abs() < 0.02, "{xi:?}");
            }
        }
    }

    #[test]
    fn the_weights_space_update_is_the_data_space_update() {
        // 60 observations of a smooth function with 20 features: the weights' space is
        // the one a draw uses; both give the same weights and constant.
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let (n, m, s2) = (60, 20, 1.5);
        let features = RffSample::random_features(&[3.0, 1.0], s2, m, &mut rng);
        let mut phi = vec![0.0; n * m];
        let mut z = Vec::with_capacity(n);
        for row in phi.chunks_exact_mut(m) {
            let x = [rng.random::<f64>(), rng.random::<f64>()];
            features.features_into(&x, row);
            z.push((3.0 * x[0]).sin() + x[1] + 0.7);
        }
        let prior: Vec<f64> = (0..m).map(|_| rng.sample(StandardNormal)).collect();
        for noise in [1e-6 * s2, 1e-2 * s2] {
            let update = Update {
                phi: &phi,
                n,
                m,
                z: &z,
                noise,
                bound: 100.0 * n as f64 * s2,
            };
            let (w_data, c_data) = update.by_data(prior.clone());
            let (w_weights, c_weights) = update.by_weights(prior.clone());
            assert!((c_data - c_weights).abs() < 1e-6, "{c_data} vs {c_weights}");
            for (a, b) in w_data.iter().zip(&w_weights) {
                assert!((a - b).abs() < 1e-5 * (1.0 + a.abs()), "{a} vs {b}");
            }
        }
    }

    #[test]
    fn batch_matches_single_evaluation_and_draws_are_reproducible() {
        let x = vec![vec![0.1, 0.2], vec![0.8, 0.5], vec![0.4, 0.9]];
        let y = vec![0.3, -0.4, 0.1];
        let model = RffModel {
            theta: &[2.0, 5.0],
            process_variance: 0.8,
            x: &x,
            y: &y,
            y_mean: -1.0,
            y_std: 0.5,
            nugget: 0.0,
        };
        let a = RffSample::draw(&model, 64, &mut ChaCha8Rng::seed_from_u64(11));
        let b = RffSample::draw(&model, 64, &mut ChaCha8Rng::seed_from_u64(11));
        let pts = vec![vec![0.0, 0.0], vec![0.3, 0.7], vec![1.0, 0.25]];
        let batch = a.eval_batch(&pts);
        assert_eq!(batch, b.eval_batch(&pts));
        for (p, v) in pts.iter().zip(&batch) {
            assert_eq!(a.eval(p), *v);
        }
        assert_eq!((a.dim(), a.n_features()), (2, 64));
    }

    #[test]
    fn without_data_samples_follow_the_prior() {
        let model = RffModel {
            theta: &[4.0],
            process_variance: 0.5,
            x: &[],
            y: &[],
            y_mean: 1.0,
            y_std: 2.0,
            nugget: 0.0,
        };
        let mut rng = ChaCha8Rng::seed_from_u64(21);
        let n = 400;
        let (a, b) = ([0.3], [0.5]);
        let values: Vec<(f64, f64)> = (0..n)
            .map(|_| {
                let s = RffSample::draw(&model, 500, &mut rng);
                (s.eval(&a), s.eval(&b))
            })
            .collect();
        let mean_a = values.iter().map(|v| v.0).sum::<f64>() / n as f64;
        let mean_b = values.iter().map(|v| v.1).sum::<f64>() / n as f64;
        let var = values.iter().map(|v| (v.0 - mean_a).powi(2)).sum::<f64>() / (n - 1) as f64;
        let cov = values
            .iter()
            .map(|v| (v.0 - mean_a) * (v.1 - mean_b))
            .sum::<f64>()
            / (n - 1) as f64;
        // Prior variance y_std^2 s2 = 2; mean y_mean = 1 (standard error 0.07). The
        // sample variance has a relative standard error of 7 %.
        assert!((mean_a - 1.0).abs() < 0.3, "{mean_a}");
        assert!((var / 2.0 - 1.0).abs() < 0.3, "{var}");
        // Correlation exp(-4 * 0.2^2) = 0.85.
        let rho = cov / var;
        assert!((rho - (-0.16f64).exp()).abs() < 0.1, "{rho}");
    }

    #[test]
    #[should_panic(expected = "non-finite training inputs")]
    fn non_finite_inputs_panic_instead_of_looping() {
        let x = vec![vec![f64::NAN], vec![0.5]];
        let model = RffModel {
            theta: &[1.0],
            process_variance: 1.0,
            x: &x,
            y: &[0.0, 1.0],
            y_mean: 0.0,
            y_std: 1.0,
            nugget: 0.0,
        };
        RffSample::draw(&model, 10, &mut ChaCha8Rng::seed_from_u64(0));
    }

    #[test]
    fn zero_variance_or_no_features_give_constant_samples() {
        let x = vec![vec![0.1], vec![0.9]];
        let y = vec![0.0, 0.0];
        let flat = RffModel {
            theta: &[1.0],
            process_variance: 0.0,
            x: &x,
            y: &y,
            y_mean: 4.0,
            y_std: 1.0,
            nugget: 0.0,
        };
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let s = RffSample::draw(&flat, 100, &mut rng);
        assert_eq!(s.n_features(), 0);
        assert_eq!(s.eval(&[0.5]), 4.0);

        let no_features = RffModel {
            process_variance: 1.0,
            ..flat
        };
        let s = RffSample::draw(&no_features, 0, &mut rng);
        assert_eq!(s.n_features(), 0);
        let v = s.eval(&[0.3]);
        assert!(v.is_finite() && (v - 4.0).abs() < 0.01);
        assert_eq!(v, s.eval(&[0.7]));
    }
}
