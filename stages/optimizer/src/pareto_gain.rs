//! The information an evaluation gives about the Pareto front, conditioned on the sampled
//! front itself: the lower bound of max-value entropy search for several objectives
//! (BoTorch's `qLowerBoundMultiObjectiveMaxValueEntropySearch`; the bound of GIBBON, Moss
//! et al. 2021, and of JES, Tu et al. 2022; the condition of PFES, Suzuki et al. 2020).
//!
//! All objectives are maximised. A sampled Pareto front `F*` says that the objective
//! vector `f(x)` of every design lies in the region the front dominates,
//! `D = {y : y <= p for some p in F*}`. [`dominated_cells`] splits `D` into disjoint boxes
//! `(l, u]` (lower bounds may be `-inf`); the truncation of the candidate's Gaussian
//! predictive distribution to `D` is then a mixture of independent truncated normals, one
//! per box, whose covariance `Sigma_D` is closed-form ([`truncated_interval`]).
//!
//! An evaluation at fidelity `z` observes `g(x, z)`, correlated with `f(x)` by `rho_j` per
//! objective. With `f` standardised and `E[g | f]` linear, the covariance of the
//! standardised `g` given `f(x) in D` is `I - R (I - Sigma_D) R`, `R = diag(rho)`, and the
//! Gaussian of that covariance has the largest entropy, so
//!
//! ```text
//! I(g(x, z); F*) >= -1/2 ln det(I - R (I - Sigma_D) R)
//! ```
//!
//! averaged over the sampled fronts. In one objective at `rho = 1` this is GIBBON's
//! `-1/2 ln(1 - gamma lambda - lambda^2)`, `lambda = phi(gamma) / Phi(gamma)`; it is 0 at
//! `rho = 0` and where the front does not constrain the candidate, and it is the same
//! estimator at every fidelity, so gains per unit cost compare fairly across fidelities.

use super::hypervolume::dominates;
use super::normal::{cdf, erfcx, pdf, FRAC_1_SQRT_2PI};

/// A box `(lower, upper]` of the objective space; `lower` may hold `-inf`.
#[derive(Debug, Clone, PartialEq)]
pub struct Cell {
    /// Lower bounds (exclusive).
    pub lower: Vec<f64>,
    /// Upper bounds (inclusive).
    pub upper: Vec<f64>,
}

/// Disjoint boxes whose union is the region that `points` dominate (maximisation),
/// `{y : y <= p for some p}`, unbounded below.
///
/// The region is sliced along the last objective at the points' distinct values; each slab
/// is the region the points above it dominate in the other objectives, split the same way
/// (the slicing of HSO, While et al. 2006). Two objectives give a staircase of one box per
/// point of the front.
pub fn dominated_cells(points: &[Vec<f64>]) -> Vec<Cell> {
    let Some(first) = points.first() else {
        return Vec::new();
    };
    let dims = first.len();
    let mut out = Vec::new();
    slice(points.to_vec(), dims, &mut out);
    out
}

/// Appends the cells of the region `points` dominate in their first `dims` objectives.
fn slice(points: Vec<Vec<f64>>, dims: usize, out: &mut Vec<Cell>) {
    let points = maximal(points, dims);
    if points.is_empty() || dims == 0 {
        return;
    }
    let last = dims - 1;
    if last == 0 {
        let top = points
            .iter()
            .map(|p| p[0])
            .fold(f64::NEG_INFINITY, f64::max);
        out.push(Cell {
            lower: vec![f64::NEG_INFINITY],
            upper: vec![top],
        });
        return;
    }
    let mut levels: Vec<f64> = points.iter().map(|p| p[last]).collect();
    levels.sort_by(|a, b| b.total_cmp(a));
    levels.dedup();
    for (k, &level) in levels.iter().enumerate() {
        let below = levels.get(k + 1).copied().unwrap_or(f64::NEG_INFINITY);
        let above: Vec<Vec<f64>> = points
            .iter()
            .filter(|p| p[last] >= level)
            .map(|p| p[..last].to_vec())
            .collect();
        let start = out.len();
        slice(above, last, out);
        for cell in &mut out[start..] {
            cell.lower.push(below);
            cell.upper.push(level);
        }
    }
}

/// The points no other point dominates in the first `dims` objectives (maximisation),
/// duplicates dropped.
fn maximal(mut points: Vec<Vec<f64>>, dims: usize) -> Vec<Vec<f64>> {
    for p in &mut points {
        p.truncate(dims);
    }
    points.sort_by(|a, b| {
        a.iter()
            .zip(b)
            .map(|(u, v)| v.total_cmp(u))
            .find(|o| o.is_ne())
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    points.dedup();
    let negated: Vec<Vec<f64>> = points
        .iter()
        .map(|p| p.iter().map(|v| -v).collect())
        .collect();
    points
        .into_iter()
        .enumerate()
        .filter(|(i, _)| !negated.iter().any(|q| dominates(q, &negated[*i])))
        .map(|(_, p)| p)
        .collect()
}

/// At most `limit` of `points`, spread out: the best point in the first objective, then
/// repeatedly the point farthest (in coordinates scaled to the points' ranges) from those
/// chosen. All of them if there are no more than `limit`.
pub fn spread_subset(points: &[Vec<f64>], limit: usize) -> Vec<Vec<f64>> {
    if points.len() <= limit {
        return points.to_vec();
    }
    let Some(first) = points.first() else {
        return Vec::new();
    };
    let dims = first.len();
    let range: Vec<f64> = (0..dims)
        .map(|j| {
            let (lo, hi) = points
                .iter()
                .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), p| {
                    (lo.min(p[j]), hi.max(p[j]))
                });
            if hi > lo {
                hi - lo
            } else {
                1.0
            }
        })
        .collect();
    let distance = |a: &[f64], b: &[f64]| -> f64 {
        a.iter()
            .zip(b)
            .zip(&range)
            .map(|((u, v), r)| ((u - v) / r).powi(2))
            .sum()
    };
    let start = (0..points.len())
        .max_by(|&a, &b| points[a][0].total_cmp(&points[b][0]).then(b.cmp(&a)))
        .expect("non-empty");
    let mut chosen = vec![start];
    let mut nearest: Vec<f64> = points.iter().map(|p| distance(p, &points[start])).collect();
    while chosen.len() < limit {
        let next = (0..points.len())
            .max_by(|&a, &b| nearest[a].total_cmp(&nearest[b]).then(b.cmp(&a)))
            .expect("non-empty");
        chosen.push(next);
        for (d, p) in nearest.iter_mut().zip(points) {
            *d = d.min(distance(p, &points[next]));
        }
    }
    chosen.into_iter().map(|i| points[i].clone()).collect()
}

/// A standard normal truncated to `(alpha, beta]`: the log of its mass and its mean and
/// variance, accurate far in the tails (the Gaussian factors are scaled out with
/// `erfcx`, so a box ten or thirty standard deviations away keeps its moments).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Truncated {
    /// `ln (Phi(beta) - Phi(alpha))`.
    pub log_mass: f64,
    /// Its mean.
    pub mean: f64,
    /// Its variance, in `(0, 1]`.
    pub variance: f64,
}

/// The moments of a standard normal truncated to `(alpha, beta]`, `alpha < beta`;
/// `None` if the interval is empty.
pub fn truncated_interval(alpha: f64, beta: f64) -> Option<Truncated> {
    if alpha.is_nan() || beta.is_nan() || alpha >= beta {
        return None;
    }
    // Mirror the interval so that most of it lies left of 0 (alpha + beta <= 0).
    if alpha + beta > 0.0 {
        return truncated_interval(-beta, -alpha).map(|t| Truncated { mean: -t.mean, ..t });
    }
    let times = |a: f64, density: f64| if density == 0.0 { 0.0 } else { a * density };
    let (log_mass, mean, second) = if beta <= 0.0 {
        // Everything scaled by exp(-beta^2 / 2): ratio = phi(alpha) / phi(beta) <= 1.
        let ratio = (-0.5 * (alpha - beta) * (alpha + beta)).exp();
        let scaled = 0.5
            * (erfcx(-beta * std::f64::consts::FRAC_1_SQRT_2)
                - ratio * erfcx(-alpha * std::f64::consts::FRAC_1_SQRT_2));
        if scaled.is_nan() || scaled <= 0.0 {
            return None;
        }
        let z = scaled / FRAC_1_SQRT_2PI;
        let mean = (ratio - 1.0) / z;
        let second = 1.0 + (times(alpha, ratio) - beta) / z;
        (-0.5 * beta * beta + scaled.ln(), mean, second)
    } else {
        let mass = cdf(beta) - cdf(alpha);
        let (pa, pb) = (pdf(alpha), pdf(beta));
        let mean = (pa - pb) / mass;
        let second = 1.0 + (times(alpha, pa) - beta * pb) / mass;
        (mass.ln(), mean, second)
    };
    let mut variance = second - mean * mean;
    if alpha == f64::NEG_INFINITY && beta < -1e3 {
        // Past the precision of the difference: the one-sided tail's 1 / beta^2.
        variance = 1.0 / (beta * beta);
    }
    Some(Truncated {
        log_mass,
        mean,
        variance: variance.clamp(f64::MIN_POSITIVE, 1.0),
    })
}

/// The lower bound on the information an observation of `g(x, z)` gives about a sampled
/// front, `-1/2 ln det(I - R (I - Sigma_D) R)` (module docs).
///
/// `cells` are the boxes of the region the front dominates ([`dominated_cells`]);
/// `mean`, `sd` the predictive of `f(x)` per objective and `rho` the correlation of the
/// observation with it (1 at full fidelity). An objective with `sd = 0` is known: only the
/// boxes that hold its mean count, and it drops out. `0` when no box holds the known part,
/// which says the front sample missed the candidate, and so tells nothing about it.
pub fn lower_bound_gain(cells: &[Cell], mean: &[f64], sd: &[f64], rho: &[f64]) -> f64 {
    let uncertain: Vec<usize> = (0..mean.len()).filter(|&j| sd[j] > 0.0).collect();
    let u = uncertain.len();
    if u == 0 {
        return 0.0;
    }
    // Per box that holds the known objectives: its log mass and its moments per objective.
    let mut boxes: Vec<(f64, Vec<Truncated>)> = Vec::new();
    'cells: for cell in cells {
        for j in 0..mean.len() {
            if sd[j] <= 0.0 && !(cell.lower[j] < mean[j] && mean[j] <= cell.upper[j]) {
                continue 'cells;
            }
        }
        let mut parts = Vec::with_capacity(u);
        for &j in &uncertain {
            let standard = |v: f64| (v - mean[j]) / sd[j];
            match truncated_interval(standard(cell.lower[j]), standard(cell.upper[j])) {
                Some(t) => parts.push(t),
                None => continue 'cells,
            }
        }
        boxes.push((parts.iter().map(|t| t.log_mass).sum(), parts));
    }
    if boxes.is_empty() {
        return 0.0;
    }
    let top = boxes.iter().map(|b| b.0).fold(f64::NEG_INFINITY, f64::max);
    let weights: Vec<f64> = boxes.iter().map(|b| (b.0 - top).exp()).collect();
    let total: f64 = weights.iter().sum();
    // The mixture's covariance by the law of total variance: the mean of the boxes'
    // (diagonal) covariances plus the covariance of their means.
    let centre: Vec<f64> = (0..u)
        .map(|a| {
            boxes
                .iter()
                .zip(&weights)
                .map(|(b, w)| w * b.1[a].mean)
                .sum::<f64>()
                / total
        })
        .collect();
    let mut m = vec![vec![0.0; u]; u];
    for ((_, parts), w) in boxes.iter().zip(&weights) {
        let w = w / total;
        for a in 0..u {
            let da = parts[a].mean - centre[a];
            m[a][a] += w * parts[a].variance;
            for b in 0..u {
                m[a][b] += w * da * (parts[b].mean - centre[b]);
            }
        }
    }
    // M = I - R (I - Sigma_D) R.
    for (a, &ja) in uncertain.iter().enumerate() {
        for (b, &jb) in uncertain.iter().enumerate() {
            let (ra, rb) = (rho[ja].clamp(-1.0, 1.0), rho[jb].clamp(-1.0, 1.0));
            let identity = if a == b { 1.0 } else { 0.0 };
            m[a][b] = identity - ra * rb * (identity - m[a][b]);
        }
    }
    (-0.5 * log_det(m)).max(0.0)
}

/// `ln det` of a small symmetric positive semi-definite matrix by Gaussian elimination
/// with partial pivoting; a singular matrix gives the log of the smallest positive `f64`.
fn log_det(mut m: Vec<Vec<f64>>) -> f64 {
    let n = m.len();
    let mut log = 0.0;
    for c in 0..n {
        let pivot = (c..n)
            .max_by(|&a, &b| m[a][c].abs().total_cmp(&m[b][c].abs()))
            .expect("a non-empty range");
        m.swap(c, pivot);
        let p = m[c][c];
        if p.is_nan() || p.abs() <= f64::MIN_POSITIVE {
            return f64::MIN_POSITIVE.ln();
        }
        log += p.abs().ln();
        let (top, rest) = m.split_at_mut(c + 1);
        let pivot_row = &top[c];
        for row in rest {
            let factor = row[c] / p;
            for (v, &above) in row[c..].iter_mut().zip(&pivot_row[c..]) {
                *v -= factor * above;
            }
        }
    }
    log
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hypervolume::hypervolume;
    use crate::normal::inverse_mills_ratio;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;
    use rand_distr::StandardNormal;

    fn assert_rel(got: f64, want: f64, tol: f64, what: &str) {
        let err = ((got - want) / want.abs().max(1e-300)).abs();
        assert!(
            err <= tol,
            "{what}: got {got:e}, want {want:e} (rel {err:e})"
        );
    }

    /// Moments of truncated normals against mpmath at 50 digits
    /// (`mp.quad` of `t^k phi(t)` over the interval).
    #[test]
    fn truncated_moments_match_high_precision_values() {
        let cases = [
            // alpha, beta, ln mass, mean, variance
            (
                f64::NEG_INFINITY,
                0.0,
                -std::f64::consts::LN_2,
                -0.7978845608028654,
                0.3633802276324186,
            ),
            (
                -1.0,
                2.0,
                -0.2001662943244626,
                0.22963717909132897,
                0.5197625392115339,
            ),
            (
                f64::NEG_INFINITY,
                -10.0,
                -53.23128515051247,
                -10.098093233962512,
                0.009445377825656262,
            ),
            (
                f64::NEG_INFINITY,
                -30.0,
                -454.3212439563432,
                -30.033259667433676,
                0.001103771511890091,
            ),
            (
                -31.0,
                -30.0,
                -454.32124395634327,
                -30.033259667433622,
                0.0011037715118352822,
            ),
            (
                25.0,
                f64::INFINITY,
                -316.63940800802027,
                25.039873012057562,
                0.0015848414703928894,
            ),
        ];
        for (a, b, log_mass, mean, variance) in cases {
            let t = truncated_interval(a, b).unwrap();
            assert_rel(t.log_mass, log_mass, 1e-12, &format!("ln mass ({a}, {b}]"));
            assert_rel(t.mean, mean, 1e-12, &format!("mean ({a}, {b}]"));
            assert_rel(t.variance, variance, 1e-8, &format!("variance ({a}, {b}]"));
        }
        assert_eq!(truncated_interval(1.0, 1.0), None);
        assert_eq!(truncated_interval(2.0, 1.0), None);
        // Far past the difference's precision: the tail's 1 / beta^2.
        let far = truncated_interval(f64::NEG_INFINITY, -1e4).unwrap();
        assert_rel(far.variance, 9.999_999_4e-9, 1e-6, "variance at -1e4");
    }

    /// One objective at full fidelity: GIBBON's `-1/2 ln(1 - gamma lambda - lambda^2)`.
    #[test]
    fn one_objective_is_gibbon_s_bound() {
        for (y_star, mu, sigma) in [(1.0, 0.0, 1.0), (0.3, 0.5, 0.2), (5.0, -2.0, 3.0)] {
            let gamma: f64 = (y_star - mu) / sigma;
            let lambda = inverse_mills_ratio(gamma);
            let want = -0.5 * (1.0 - gamma * lambda - lambda * lambda).ln();
            let cells = dominated_cells(&[vec![y_star]]);
            let got = lower_bound_gain(&cells, &[mu], &[sigma], &[1.0]);
            assert_rel(got, want, 1e-12, "gain");
        }
        // At gamma = 0: -1/2 ln(1 - 2 / pi).
        let g = lower_bound_gain(&dominated_cells(&[vec![0.0]]), &[0.0], &[1.0], &[1.0]);
        assert_rel(
            g,
            -0.5 * (1.0 - 2.0 / std::f64::consts::PI).ln(),
            1e-14,
            "gamma 0",
        );
    }

    #[test]
    fn the_gain_falls_with_the_correlation_and_is_zero_without() {
        let cells = dominated_cells(&[vec![0.5, 1.0], vec![1.0, 0.2]]);
        let (mean, sd) = ([0.6, 0.6], [0.5, 0.5]);
        let full = lower_bound_gain(&cells, &mean, &sd, &[1.0, 1.0]);
        let half = lower_bound_gain(&cells, &mean, &sd, &[0.5, 0.5]);
        let none = lower_bound_gain(&cells, &mean, &sd, &[0.0, 0.0]);
        assert!(full > half && half > 0.0, "{full} {half}");
        assert_eq!(none, 0.0);
        // Far below the front the candidate's place is known already.
        let below = lower_bound_gain(&cells, &[-20.0, -20.0], &sd, &[1.0, 1.0]);
        assert!(below < 1e-12, "{below}");
    }

    /// A known objective selects the boxes: with the second objective known at 0.5, the
    /// first is truncated at the best value of the points that reach 0.5 in the second.
    #[test]
    fn a_known_objective_truncates_the_other_at_the_front_above_it() {
        let front = vec![vec![3.0, 0.0], vec![2.0, 1.0], vec![1.0, 2.0]];
        let cells = dominated_cells(&front);
        let got = lower_bound_gain(&cells, &[1.5, 0.5], &[1.0, 0.0], &[1.0, 1.0]);
        let want = lower_bound_gain(&dominated_cells(&[vec![2.0]]), &[1.5], &[1.0], &[1.0]);
        assert_rel(got, want, 1e-12, "known objective");
        // Beyond the front in the known objective: nothing to condition on.
        assert_eq!(
            lower_bound_gain(&cells, &[1.5, 2.5], &[1.0, 0.0], &[1.0, 1.0]),
            0.0
        );
    }

    /// The cells are disjoint and cover the dominated region: clipped to a reference point
    /// their volume is the front's hypervolume, in two to four objectives.
    #[test]
    fn cells_tile_the_dominated_region() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        for dims in 2..=4 {
            let points: Vec<Vec<f64>> = (0..12)
                .map(|_| (0..dims).map(|_| rng.random::<f64>()).collect())
                .collect();
            let cells = dominated_cells(&points);
            let volume: f64 = cells
                .iter()
                .map(|c| {
                    c.lower
                        .iter()
                        .zip(&c.upper)
                        .map(|(l, u)| (u - l.max(-1.0)).max(0.0))
                        .product::<f64>()
                })
                .sum();
            let negated: Vec<Vec<f64>> = points
                .iter()
                .map(|p| p.iter().map(|v| -v).collect())
                .collect();
            let hv = hypervolume(&negated, &vec![1.0; dims]).unwrap();
            assert_rel(volume, hv, 1e-12, &format!("{dims} objectives"));
            if dims == 2 {
                let front = crate::hypervolume::pareto_front_indices(&negated);
                assert_eq!(cells.len(), front.len());
            }
            // A point inside the region lies in exactly one cell.
            for _ in 0..200 {
                let y: Vec<f64> = (0..dims).map(|_| rng.random::<f64>()).collect();
                let inside = points.iter().any(|p| y.iter().zip(p).all(|(a, b)| a <= b));
                let holding = cells
                    .iter()
                    .filter(|c| (0..dims).all(|j| c.lower[j] < y[j] && y[j] <= c.upper[j]))
                    .count();
                assert_eq!(holding, usize::from(inside), "{y:?}");
            }
        }
    }

    /// The truncated covariance against Monte Carlo: two objectives, a staircase front.
    #[test]
    fn the_bound_matches_monte_carlo_moments() {
        let front = vec![vec![0.8, -0.5], vec![0.0, 0.3], vec![-0.6, 1.1]];
        let cells = dominated_cells(&front);
        let (mean, sd) = ([0.2, 0.1], [0.7, 0.9]);
        let mut rng = ChaCha8Rng::seed_from_u64(11);
        let mut kept: Vec<[f64; 2]> = Vec::new();
        while kept.len() < 400_000 {
            let t: [f64; 2] = [rng.sample(StandardNormal), rng.sample(StandardNormal)];
            let y = [mean[0] + sd[0] * t[0], mean[1] + sd[1] * t[1]];
            if front.iter().any(|p| y[0] <= p[0] && y[1] <= p[1]) {
                kept.push(t);
            }
        }
        let n = kept.len() as f64;
        let m: Vec<f64> = (0..2)
            .map(|a| kept.iter().map(|t| t[a]).sum::<f64>() / n)
            .collect();
        let c = |a: usize, b: usize| {
            kept.iter()
                .map(|t| (t[a] - m[a]) * (t[b] - m[b]))
                .sum::<f64>()
                / n
        };
        let rho = 0.8f64;
        let det = (1.0 - rho * rho * (1.0 - c(0, 0))) * (1.0 - rho * rho * (1.0 - c(1, 1)))
            - (rho * rho * c(0, 1)).powi(2);
        let want = -0.5 * det.ln();
        let got = lower_bound_gain(&cells, &mean, &sd, &[rho, rho]);
        assert_rel(got, want, 0.01, "Monte Carlo");
    }

    #[test]
    fn spread_subsets_keep_the_first_objective_s_best_and_spread_out() {
        let points: Vec<Vec<f64>> = (0..20)
            .map(|i| {
                let t = i as f64 / 19.0;
                vec![t, 1.0 - t * t]
            })
            .collect();
        let subset = spread_subset(&points, 3);
        assert_eq!(subset.len(), 3);
        assert_eq!(subset[0], points[19]);
        assert_eq!(subset[1], points[0], "the far end next");
        assert!(subset.iter().all(|p| points.contains(p)));
        assert_eq!(spread_subset(&points, 30), points);
    }
}
