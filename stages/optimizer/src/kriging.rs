//! The posterior of a fitted ordinary-kriging GP (constant mean by generalised least
//! squares, squared-exponential correlation, a nugget on the diagonal), computed from its
//! hyperparameters with vectorised triangular solves.
//!
//! `egobox-gp` 0.37 computes the same quantities through `linfa-linalg`'s triangular solve,
//! one short vector operation per matrix entry; at 1,000 observations that made nine
//! tenths of a CF-MESMO step. This module follows egobox-gp's equations (its
//! `reduced_likelihood` and `predict_valvar`), so the numbers agree to rounding: with
//! `R = C + nugget I` (`C` the correlation matrix of the training inputs), `L = chol(R)`,
//! `F = L^-1 1`, the outputs standardised to `yn`, `beta = F^T L^-1 yn / |F|^2`,
//! `gamma = L^-T (L^-1 yn - F beta)`; at a point with correlations `r` to the training
//! inputs, `rt = L^-1 r` and `u = (F^T rt - 1) / |F|`:
//! mean `beta + r^T gamma` (de-standardised), variance `s2 (1 - rt^T rt + u^2)`, and the
//! covariance of two points `s2 (c(a, b) - rt_a^T rt_b + u_a u_b)` (`s2` the process
//! variance, the `u` terms the mean's own uncertainty).

use crate::linalg::{
    backward_substitute, cholesky_in_place, dot, dot_interleaved, forward_substitute,
};

/// A fitted GP's posterior, ready to predict.
#[derive(Debug, Clone)]
pub(crate) struct KrigingPosterior {
    /// Training inputs.
    x: Vec<Vec<f64>>,
    /// Kernel parameters: `c(a, b) = exp(-sum_i theta_i (a_i - b_i)^2)`.
    theta: Vec<f64>,
    /// Row-major lower Cholesky factor of `R`.
    chol: Vec<f64>,
    /// `F = L^-1 1`.
    f: Vec<f64>,
    /// `|F|`.
    f_norm: f64,
    /// The generalised least-squares constant mean, standardised.
    beta: f64,
    /// `R^-1 (yn - beta)`.
    gamma: Vec<f64>,
    /// The process variance, in the units of the outputs.
    process_variance: f64,
    /// The outputs' mean and sample standard deviation, which standardise them.
    y_mean: f64,
    y_std: f64,
}

impl KrigingPosterior {
    /// The posterior of the GP with kernel parameters `theta`, `nugget` added to the
    /// correlation matrix's diagonal and process variance `process_variance` (the units
    /// of `y`), conditioned on the rows `x` and outputs `y`; `None` where the correlation
    /// matrix is not numerically positive definite.
    pub fn new(
        x: &[Vec<f64>],
        y: &[f64],
        theta: &[f64],
        nugget: f64,
        process_variance: f64,
    ) -> Option<KrigingPosterior> {
        let n = x.len();
        let y_mean = y.iter().sum::<f64>() / n as f64;
        let spread =
            (y.iter().map(|v| (v - y_mean).powi(2)).sum::<f64>() / (n.max(2) - 1) as f64).sqrt();
        let y_std = if spread == 0.0 { 1.0 } else { spread };
        let mut chol = vec![0.0; n * n];
        for i in 0..n {
            for j in 0..i {
                chol[i * n + j] = correlation(theta, &x[i], &x[j]);
            }
            chol[i * n + i] = 1.0 + nugget;
        }
        if !cholesky_in_place(&mut chol, n) {
            return None;
        }
        let mut f = vec![1.0; n];
        forward_substitute(&chol, n, &mut f);
        let f_norm = dot(&f, &f).sqrt();
        let mut yt: Vec<f64> = y.iter().map(|v| (v - y_mean) / y_std).collect();
        forward_substitute(&chol, n, &mut yt);
        let beta = dot(&f, &yt) / (f_norm * f_norm);
        let mut gamma: Vec<f64> = yt.iter().zip(&f).map(|(y, f)| y - f * beta).collect();
        backward_substitute(&chol, n, &mut gamma);
        Some(KrigingPosterior {
            x: x.to_vec(),
            theta: theta.to_vec(),
            chol,
            f,
            f_norm,
            beta,
            gamma,
            process_variance,
            y_mean,
            y_std,
        })
    }

    /// Each point's posterior mean (in the units of the outputs), `rt = L^-1 r` and `u`.
    /// The triangular solves take the points in blocks, four at a time interleaved
    /// ([`dot_interleaved`]: the same sums as one point alone), so that each row of `L` is
    /// read from memory once per block rather than once per point.
    fn solve(&self, points: &[Vec<f64>]) -> Vec<Solved> {
        const LANES: usize = 4;
        const GROUPS: usize = 8;
        let n = self.x.len();
        let mut out = Vec::with_capacity(points.len());
        let mut groups = vec![vec![0.0; n * LANES]; GROUPS];
        for block in points.chunks(LANES * GROUPS) {
            let correlations: Vec<Vec<f64>> = block
                .iter()
                .map(|p| {
                    self.x
                        .iter()
                        .map(|t| correlation(&self.theta, p, t))
                        .collect()
                })
                .collect();
            let used = block.len().div_ceil(LANES);
            for (g, group) in groups.iter_mut().enumerate().take(used) {
                group.fill(0.0);
                for (s, r) in correlations.iter().skip(g * LANES).take(LANES).enumerate() {
                    for (k, v) in r.iter().enumerate() {
                        group[k * LANES + s] = *v;
                    }
                }
            }
            for i in 0..n {
                let row = &self.chol[i * n..i * n + i];
                let diagonal = self.chol[i * n + i];
                for group in groups.iter_mut().take(used) {
                    let sums = dot_interleaved::<LANES>(row, &group[..i * LANES]);
                    for (s, sum) in sums.iter().enumerate() {
                        let v = &mut group[i * LANES + s];
                        *v = (*v - sum) / diagonal;
                    }
                }
            }
            for (p, r) in correlations.iter().enumerate() {
                let (group, s) = (&groups[p / LANES], p % LANES);
                let mean = self.mean_given(r);
                let rt: Vec<f64> = (0..n).map(|k| group[k * LANES + s]).collect();
                let u = (dot(&self.f, &rt) - 1.0) / self.f_norm;
                out.push(Solved { mean, rt, u });
            }
        }
        out
    }

    /// The posterior mean at each point alone: no triangular solve (what the variance
    /// needs), so a point costs one pass over the training inputs.
    pub fn means(&self, points: &[Vec<f64>]) -> Vec<f64> {
        points
            .iter()
            .map(|p| {
                let r: Vec<f64> = self
                    .x
                    .iter()
                    .map(|t| correlation(&self.theta, p, t))
                    .collect();
                self.mean_given(&r)
            })
            .collect()
    }

    /// The posterior mean at a point with correlations `r` to the training inputs.
    fn mean_given(&self, r: &[f64]) -> f64 {
        (self.beta + dot(r, &self.gamma)) * self.y_std + self.y_mean
    }

    /// The posterior variance of a solved point.
    fn variance(&self, s: &Solved) -> f64 {
        self.process_variance * (1.0 - dot(&s.rt, &s.rt) + s.u * s.u)
    }

    /// Per point `b[i]`: its posterior mean and variance, and where `a[l][i]` is given, the
    /// posterior variance at `a[l][i]` and the covariance of the two; one answer per set of
    /// partners `a[l]` (one per fidelity level). Each `b[i]` is solved once for all the
    /// levels, and a partner that is `b[i]` itself (a noisy observation of the point)
    /// takes its solve: a point's solve does not depend on the others solved with it.
    ///
    /// # Panics
    /// If an `a[l]` and `b` differ in length.
    pub fn paired_levels(&self, a: &[&[Option<Vec<f64>>]], b: &[Vec<f64>]) -> Vec<Vec<Paired>> {
        let solved_b = self.solve(b);
        a.iter()
            .map(|a| {
                assert_eq!(a.len(), b.len(), "KrigingPosterior: unpaired points");
                let elsewhere = |(a, b): (&Option<Vec<f64>>, &Vec<f64>)| {
                    a.as_ref().filter(|a| *a != b).cloned()
                };
                let given: Vec<Vec<f64>> = a.iter().zip(b).filter_map(elsewhere).collect();
                let mut solved_a = self.solve(&given).into_iter();
                a.iter()
                    .zip(b)
                    .zip(&solved_b)
                    .map(|((a, b), sb)| Paired {
                        mean: sb.mean,
                        variance: self.variance(sb),
                        with: a.as_ref().map(|a| {
                            let solved;
                            let sa = if a == b {
                                sb
                            } else {
                                solved = solved_a.next().expect("one solve per other point");
                                &solved
                            };
                            let covariance = self.process_variance
                                * (correlation(&self.theta, a, b) - dot(&sa.rt, &sb.rt)
                                    + sa.u * sb.u);
                            (self.variance(sa), covariance)
                        }),
                    })
                    .collect()
            })
            .collect()
    }
}

/// [`KrigingPosterior::paired_levels`]'s answer for one pair.
pub(crate) struct Paired {
    /// The posterior mean at the point.
    pub mean: f64,
    /// The posterior variance there (may round below 0).
    pub variance: f64,
    /// The posterior variance at the other point and the covariance, where it was given.
    pub with: Option<(f64, f64)>,
}

/// A point's posterior mean, `rt = L^-1 r` and `u`.
struct Solved {
    mean: f64,
    rt: Vec<f64>,
    u: f64,
}

/// The squared-exponential correlation `exp(-sum_i theta_i (a_i - b_i)^2)`.
fn correlation(theta: &[f64], a: &[f64], b: &[f64]) -> f64 {
    let d: f64 = theta
        .iter()
        .zip(a.iter().zip(b))
        .map(|(t, (a, b))| t * (a - b) * (a - b))
        .sum();
    (-d).exp()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_points_give_the_kriging_equations_by_hand() {
        // Inputs 0 and 1 with theta = ln 2: c = 1/2, R = [[1, 1/2], [1/2, 1]]. Outputs
        // -1, 1 standardise to -1/sqrt 2, 1/sqrt 2; by symmetry beta = 0 and the mean
        // at 1/2 is the outputs' mean, 0.
        let x = vec![vec![0.0], vec![1.0]];
        let theta = [std::f64::consts::LN_2];
        let post = KrigingPosterior::new(&x, &[-1.0, 1.0], &theta, 0.0, 2.0).unwrap();
        let at = |x: f64| {
            let p = &post.paired_levels(&[&[None]], &[vec![x]])[0][0];
            (p.mean, p.variance)
        };
        let (mean, variance) = at(0.5);
        assert!(mean.abs() < 1e-12);
        // r = (2^-1/4, 2^-1/4); r^T R^-1 r = 2 r0^2 / (1 + 1/2); 1^T R^-1 1 = 4/3,
        // 1^T R^-1 r = 4/3 r0; u^2 = (4/3 r0 - 1)^2 / (4/3).
        let r0 = 2f64.powf(-0.25);
        let want = 2.0 * (1.0 - 4.0 / 3.0 * r0 * r0 + (4.0 / 3.0 * r0 - 1.0).powi(2) * 0.75);
        assert!((variance - want).abs() < 1e-12, "{variance} vs {want}");
        // At a training point, without a nugget: the output, no variance.
        let (mean, variance) = at(1.0);
        assert!((mean - 1.0).abs() < 1e-12 && variance.abs() < 1e-12);
        // The covariance of a point with itself is its variance.
        let pair = &post.paired_levels(&[&[Some(vec![0.5]), None]], &[vec![0.5], vec![0.5]])[0];
        let (va, cov) = pair[0].with.unwrap();
        assert!((va - want).abs() < 1e-12 && (pair[0].variance - want).abs() < 1e-12);
        assert!((cov - want).abs() < 1e-12 && pair[1].with.is_none());
        assert!((pair[1].mean - pair[0].mean).abs() < 1e-15);
    }

    #[test]
    fn a_point_paired_with_itself_takes_its_own_solve() {
        let grid = |n: usize, shift: f64| -> Vec<Vec<f64>> {
            (0..n)
                .map(|i| {
                    let t = (i as f64 + shift) / n as f64;
                    vec![t, (3.0 * t + 0.2) % 1.0, (7.0 * t + 0.5) % 1.0]
                })
                .collect()
        };
        let x = grid(12, 0.0);
        let y: Vec<f64> = x.iter().map(|p| (4.0 * p[0]).sin() + p[1] * p[2]).collect();
        let post = KrigingPosterior::new(&x, &y, &[2.0, 1.0, 0.5], 1e-3, 1.7).unwrap();
        let probes = grid(9, 0.37);
        let other = |p: &Vec<f64>| vec![p[1], p[0], p[2]];
        // Partners: the point itself, another point, or none, in turn; and the same with
        // the points themselves left out.
        let mixed: Vec<Option<Vec<f64>>> = probes
            .iter()
            .enumerate()
            .map(|(i, p)| match i % 3 {
                0 => Some(p.clone()),
                1 => Some(other(p)),
                _ => None,
            })
            .collect();
        let others: Vec<Option<Vec<f64>>> = probes
            .iter()
            .enumerate()
            .map(|(i, p)| (i % 3 == 1).then(|| other(p)))
            .collect();
        let levels = post.paired_levels(&[&mixed, &others], &probes);
        for (i, (m, o)) in levels[0].iter().zip(&levels[1]).enumerate() {
            assert_eq!((m.mean, m.variance), (o.mean, o.variance));
            match i % 3 {
                0 => assert_eq!(m.with, Some((m.variance, m.variance))),
                1 => assert_eq!(m.with, o.with),
                _ => assert!(m.with.is_none() && o.with.is_none()),
            }
        }
    }

    #[test]
    fn a_duplicated_input_without_a_nugget_is_refused() {
        let x = vec![vec![0.3], vec![0.3]];
        assert!(KrigingPosterior::new(&x, &[0.0, 1.0], &[1.0], 0.0, 1.0).is_none());
    }
}
