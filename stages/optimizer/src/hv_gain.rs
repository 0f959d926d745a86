//! Our hypervolume-aware acquisition ([`crate::cf_mesmo::Gain::Hypervolume`]): what one
//! evaluation is expected to add to the hypervolume of the full-fidelity front, clipped
//! at a reference point, so that it aims at the quantity the study and the benchmark
//! score.
//!
//! * **At full fidelity**, the expected hypervolume improvement (EHVI) of the candidate
//!   over the front of the designs already evaluated at full fidelity, taken at their
//!   posterior means (the plug-in form of noisy EHVI; BoTorch's qNEHVI also integrates
//!   over that front's posterior), the known objectives exact and the modelled ones
//!   independent Gaussians (one GP each): what evaluating it adds to the evaluated front.
//! * **Below full fidelity**, a one-step lookahead restricted to the candidate itself,
//!   our cheap approximation of MF-HVKG (Daulton et al., "Hypervolume knowledge gradient",
//!   ICML 2023), whose lookahead re-optimises a whole Pareto set: an observation at
//!   `(x, z)` moves the posterior mean of `f(x)` by `rho sigma eps`, `eps ~ N(0, 1)`, per
//!   modelled objective (`rho` the correlation of the observation with `f(x)`), and its
//!   value is what the moved mean then adds to the front beyond what the mean adds now,
//!   `E[HVI(mu + rho sigma eps)] - HVI(mu)`: zero where the observation tells nothing
//!   (`rho = 0`), at most the full-fidelity EHVI.
//!
//! The expectation is exact where one objective is uncertain (the crossbar study: only the
//! accuracy is learned, area, latency and energy are computed): the improvement is then a
//! piecewise-linear function of that objective whose slope steps at the front's values,
//! integrated against the Gaussian in closed form ([`FrontImprovement::expected`]). With
//! more uncertain objectives it is the average over fixed quasi-Monte Carlo normal samples
//! (digitally shifted Sobol points through Box-Muller; BoTorch's `SobolQMCNormalSampler`
//! scrambles its Sobol points and uses the inverse CDF), the same for every candidate, so
//! that the estimate is deterministic and continuous in the candidate's posterior.
//!
//! Everything here is in the **maximised** form of the objectives.

use rand::Rng;
use std::f64::consts::{PI, SQRT_2};

use crate::hypervolume::{hypervolume, pareto_front_indices};
use crate::normal::{cdf, erfcx, pdf};
use crate::pareto_gain::{dominated_cells, Cell};
use crate::sampling::Sobol;

/// `1 / sqrt(2 pi)`.
const FRAC_1_SQRT_2PI: f64 = 0.398_942_280_401_432_7;

/// Where the integrated normal CDF switches to its asymptotic series.
const ASYMPTOTIC_U: f64 = -20.0;

/// A front and a reference point, and what a point adds to the front's hypervolume.
#[derive(Debug, Clone)]
pub struct FrontImprovement {
    /// The front's non-dominated points, minimisation form (objectives negated).
    front: Vec<Vec<f64>>,
    /// The reference point, minimisation form.
    reference: Vec<f64>,
    /// Quasi-Monte Carlo standard normal samples, one row per sample, one column per
    /// objective.
    normals: Vec<Vec<f64>>,
    /// Per objective, the largest normal among the samples: no sample's point is better
    /// than the mean plus this many standard deviations.
    largest: Vec<f64>,
    /// Per objective, the smallest: none is worse than the mean plus this many.
    smallest: Vec<f64>,
    /// The part of the reference box the front dominates, as disjoint boxes (maximised
    /// form, clipped at the reference point), so that a point's improvement is its own
    /// box less its overlap with them: no hypervolume to recompute per point.
    cells: Vec<Cell>,
}

impl FrontImprovement {
    /// The improvement over `front` clipped at `reference` (maximised objectives), with
    /// `samples` quasi-Monte Carlo samples (at least one) for the expectations over two
    /// or more uncertain objectives, their Sobol points shifted with `rng`.
    ///
    /// # Panics
    /// If a point's length differs from the reference point's. The values must be finite
    /// (a non-finite one panics in [`FrontImprovement::improvement`]).
    pub fn new<R: Rng + ?Sized>(
        front: &[Vec<f64>],
        reference: &[f64],
        samples: usize,
        rng: &mut R,
    ) -> FrontImprovement {
        let m = reference.len();
        assert!(
            front.iter().all(|p| p.len() == m),
            "front points and reference point of different lengths"
        );
        let negated: Vec<Vec<f64>> = front
            .iter()
            .map(|p| p.iter().map(|v| -v).collect())
            .collect();
        let front: Vec<Vec<f64>> = pareto_front_indices(&negated)
            .into_iter()
            .map(|i| negated[i].clone())
            .collect();
        let normals = normal_samples(m, samples.max(1), rng);
        let extreme = |pick: fn(f64, f64) -> f64, start: f64| -> Vec<f64> {
            (0..m)
                .map(|j| normals.iter().map(|n| n[j]).fold(start, pick))
                .collect()
        };
        let (largest, smallest) = (
            extreme(f64::max, f64::NEG_INFINITY),
            extreme(f64::min, f64::INFINITY),
        );
        // The front's points inside the box, maximised, cut into cells at the reference.
        let inside: Vec<Vec<f64>> = front
            .iter()
            .filter(|p| p.iter().zip(reference).all(|(v, r)| *v < -r))
            .map(|p| p.iter().map(|v| -v).collect())
            .collect();
        let cells = dominated_cells(&inside)
            .into_iter()
            .map(|mut cell| {
                for (l, r) in cell.lower.iter_mut().zip(reference) {
                    *l = l.max(*r);
                }
                cell
            })
            .filter(|cell| cell.lower.iter().zip(&cell.upper).all(|(l, u)| l < u))
            .collect();
        FrontImprovement {
            front,
            reference: reference.iter().map(|v| -v).collect(),
            normals,
            largest,
            smallest,
            cells,
        }
    }

    /// The hypervolume point `y` adds to the front.
    ///
    /// # Panics
    /// If `y` is not finite.
    pub fn improvement(&self, y: &[f64]) -> f64 {
        if !self.adds(y) {
            return 0.0;
        }
        let covered: f64 = self
            .cells
            .iter()
            .map(|cell| {
                let mut volume = 1.0;
                for ((l, u), v) in cell.lower.iter().zip(&cell.upper).zip(y) {
                    let side = u.min(*v) - l;
                    if side <= 0.0 {
                        return 0.0;
                    }
                    volume *= side;
                }
                volume
            })
            .sum();
        self.beyond(y, 0.0, covered)
    }

    /// Whether `y` adds any hypervolume: it is inside the reference box and no point of
    /// the front dominates it.
    fn adds(&self, y: &[f64]) -> bool {
        assert!(y.iter().all(|v| v.is_finite()), "a non-finite point: {y:?}");
        // Minimisation form: the point is -y, the reference `r`; its box is [-y, r].
        y.iter().zip(&self.reference).all(|(v, r)| -v < *r)
            && !self
                .front
                .iter()
                .any(|f| f.iter().zip(y).all(|(a, v)| *a <= -v))
    }

    /// The hypervolume `y` adds, where the front covers `whole + covered` of its box (the
    /// cells inside the box whole, and the parts of the others).
    fn beyond(&self, y: &[f64], whole: f64, covered: f64) -> f64 {
        let own: f64 = y.iter().zip(&self.reference).map(|(v, r)| v + r).product();
        (own - whole - covered).max(0.0)
    }

    /// The expected hypervolume a point adds whose objective `j` is Gaussian with mean
    /// `mean[j]` and standard deviation `sd[j]`, independently (`sd[j] = 0`: exact).
    pub fn expected(&self, mean: &[f64], sd: &[f64]) -> f64 {
        let uncertain: Vec<usize> = (0..mean.len()).filter(|&j| sd[j] > 0.0).collect();
        match uncertain.as_slice() {
            [] => self.improvement(mean),
            [a] => self.expected_in_one(mean, *a, sd[*a]),
            _ => self.expected_sampled(mean, sd),
        }
    }

    /// The exact expectation where only objective `a` is uncertain. In minimisation form
    /// with `c` the point and `r` the reference, the improvement of `c` is
    /// `int_{c_a}^{r_a} A(t) dt`, `A(t)` the volume of the slab of the box `[c, r]` at
    /// height `t` in objective `a` that the front's points with `p_a <= t` leave
    /// uncovered; so its expectation is `int A(t) Phi((t - m) / s) dt` over `t < r_a`,
    /// with `A` a step function: `s [G(u_hi) - G(u_lo)]` per step, `G` the integrated
    /// normal CDF.
    fn expected_in_one(&self, mean: &[f64], a: usize, sd: f64) -> f64 {
        let c: Vec<f64> = mean.iter().map(|v| -v).collect();
        let r = &self.reference;
        let others: Vec<usize> = (0..c.len()).filter(|&j| j != a).collect();
        if others.iter().any(|&j| c[j] >= r[j]) {
            return 0.0;
        }
        let volume: f64 = others.iter().map(|&j| r[j] - c[j]).product();
        let sub_reference: Vec<f64> = others.iter().map(|&j| r[j]).collect();
        // The front's points that cover part of the box, by their value in `a`, clipped
        // to the box in the others.
        let mut covering: Vec<(f64, Vec<f64>)> = self
            .front
            .iter()
            .filter(|p| p[a] < r[a])
            .map(|p| (p[a], others.iter().map(|&j| p[j].max(c[j])).collect()))
            .filter(|(_, q): &(f64, Vec<f64>)| q.iter().zip(&sub_reference).all(|(v, w)| v < w))
            .collect();
        covering.sort_by(|u, v| u.0.total_cmp(&v.0));
        let step = |lo: f64, hi: f64| -> f64 {
            sd * (integrated_cdf((hi - c[a]) / sd) - integrated_cdf((lo - c[a]) / sd))
        };
        let mut expected = 0.0;
        let mut lo = f64::NEG_INFINITY;
        let mut uncovered = volume;
        let mut active: Vec<Vec<f64>> = Vec::with_capacity(covering.len());
        for (t, q) in covering {
            if t > lo {
                expected += uncovered * step(lo, t);
                lo = t;
            }
            active.push(q);
            uncovered = volume - covered(&active, &sub_reference);
        }
        expected += uncovered * step(lo, r[a]);
        expected.max(0.0)
    }

    /// The quasi-Monte Carlo average, after checking the best point any sample can reach.
    fn expected_sampled(&self, mean: &[f64], sd: &[f64]) -> f64 {
        let bound = |normal: &[f64], pick: fn(f64, f64) -> f64| -> Vec<f64> {
            (0..mean.len())
                .map(|j| mean[j] + sd[j] * pick(normal[j], 0.0))
                .collect()
        };
        let (best, worst) = (
            bound(&self.largest, f64::max),
            bound(&self.smallest, f64::min),
        );
        if !self.adds(&best) {
            return 0.0;
        }
        // Cells no sample reaches are left out; those every sample covers whole are
        // summed once.
        let mut whole = 0.0;
        let mut partial = Vec::new();
        for cell in &self.cells {
            if cell.lower.iter().zip(&best).any(|(l, b)| l >= b) {
                continue;
            }
            if cell.upper.iter().zip(&worst).all(|(u, w)| u <= w) {
                whole += cell
                    .lower
                    .iter()
                    .zip(&cell.upper)
                    .map(|(l, u)| u - l)
                    .product::<f64>();
            } else {
                partial.push(cell);
            }
        }
        // The samples' points that add anything, objective by objective, so that each cell
        // meets all of them in one branch-free loop: the part of the cell inside each point's
        // box, summed in the order `improvement` sums it.
        let m = mean.len();
        let adding: Vec<Vec<f64>> = self
            .normals
            .iter()
            .map(|n| (0..m).map(|j| mean[j] + sd[j] * n[j]).collect::<Vec<f64>>())
            .filter(|y| self.adds(y))
            .collect();
        let count = adding.len();
        let mut points = vec![0.0; m * count];
        for (s, y) in adding.iter().enumerate() {
            for (j, v) in y.iter().enumerate() {
                points[j * count + s] = *v;
            }
        }
        let mut covered = vec![0.0; count];
        let mut volume = vec![0.0; count];
        for cell in partial {
            volume.fill(1.0);
            for (j, (l, u)) in cell.lower.iter().zip(&cell.upper).enumerate() {
                let ys = &points[j * count..(j + 1) * count];
                for (v, y) in volume.iter_mut().zip(ys) {
                    *v *= (u.min(*y) - l).max(0.0);
                }
            }
            for (c, v) in covered.iter_mut().zip(&volume) {
                *c += v;
            }
        }
        // The samples that add nothing count as zeros, which leave the sum as it is.
        let total: f64 = adding
            .iter()
            .zip(&covered)
            .map(|(y, covered)| self.beyond(y, whole, *covered))
            .sum();
        total / self.normals.len() as f64
    }
}

/// The hypervolume `points` cover below `reference` (minimisation); a zero-dimensional box
/// is covered as soon as any point is there.
fn covered(points: &[Vec<f64>], reference: &[f64]) -> f64 {
    if reference.is_empty() {
        return if points.is_empty() { 0.0 } else { 1.0 };
    }
    hypervolume(points, reference).expect("finite points")
}

/// `G(u) = int_{-inf}^{u} Phi(v) dv = u Phi(u) + phi(u)`, without cancellation in the
/// left tail: there `G(u) = exp(-u^2 / 2) [1 / sqrt(2 pi) - t erfcx(t / sqrt 2) / 2]`,
/// `t = -u`, and below `u = -20` the series `phi(u) (t^-2 - 3 t^-4 + 15 t^-6 - 105 t^-8)`
/// (the next term is below `4e-8` of the sum there).
pub fn integrated_cdf(u: f64) -> f64 {
    if u == f64::NEG_INFINITY {
        return 0.0;
    }
    if u >= 0.0 {
        return u * cdf(u) + pdf(u);
    }
    let t = -u;
    if u < ASYMPTOTIC_U {
        let s = 1.0 / (t * t);
        return pdf(u) * s * (1.0 - s * (3.0 - s * (15.0 - 105.0 * s)));
    }
    (-0.5 * t * t).exp() * (FRAC_1_SQRT_2PI - 0.5 * t * erfcx(t / SQRT_2))
}

/// `n` quasi-Monte Carlo standard normal vectors of dimension `m`: scrambled Sobol points
/// through the Box-Muller transform, pairs of uniform coordinates to pairs of normals.
/// Beyond [`crate::sampling::SOBOL_MAX_DIM`] coordinates the uniform pairs are pseudo-random draws of
/// `rng`.
fn normal_samples<R: Rng + ?Sized>(m: usize, n: usize, rng: &mut R) -> Vec<Vec<f64>> {
    let pairs = m.div_ceil(2).max(1);
    let uniforms: Vec<Vec<f64>> = match Sobol::with_digital_shift(2 * pairs, rng) {
        Ok(sobol) => sobol.take(n).collect(),
        Err(_) => (0..n)
            .map(|_| (0..2 * pairs).map(|_| rng.random()).collect())
            .collect(),
    };
    uniforms
        .into_iter()
        .map(|u| {
            let mut z = Vec::with_capacity(2 * pairs);
            for pair in u.chunks(2) {
                // 1 - u is in (0, 1]: its logarithm is finite.
                let radius = (-2.0 * (1.0 - pair[0]).ln()).sqrt();
                let angle = 2.0 * PI * pair[1];
                z.push(radius * angle.cos());
                z.push(radius * angle.sin());
            }
            z.truncate(m);
            z
        })
        .collect()
}

/// BoTorch's `infer_reference_point` with its default scale: below the nadir of the
/// Pareto front of `points` (maximised) by a tenth of the front's range in each objective
/// (of the point's magnitude where the front has one point), the range at least `1e-7`.
/// `None` without points.
pub fn inferred_reference(points: &[Vec<f64>]) -> Option<Vec<f64>> {
    const MIN_RANGE: f64 = 1e-7;
    let negated: Vec<Vec<f64>> = points
        .iter()
        .map(|p| p.iter().map(|v| -v).collect())
        .collect();
    let front: Vec<&Vec<f64>> = pareto_front_indices(&negated)
        .into_iter()
        .map(|i| &points[i])
        .collect();
    let m = front.first()?.len();
    Some(
        (0..m)
            .map(|j| {
                let nadir = front.iter().map(|p| p[j]).fold(f64::INFINITY, f64::min);
                let ideal = front.iter().map(|p| p[j]).fold(f64::NEG_INFINITY, f64::max);
                let range = match front.len() {
                    1 => nadir.abs(),
                    _ => ideal - nadir,
                };
                nadir - 0.1 * range.max(MIN_RANGE)
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;
    use rand_distr::{Distribution, StandardNormal};

    fn gain(front: &[Vec<f64>], reference: &[f64], samples: usize) -> FrontImprovement {
        FrontImprovement::new(front, reference, samples, &mut ChaCha8Rng::seed_from_u64(1))
    }

    #[test]
    fn the_integrated_cdf_matches_its_definition() {
        // G(0) = phi(0); G(u) - G(-u) = u; G' = Phi (central difference).
        assert!((integrated_cdf(0.0) - FRAC_1_SQRT_2PI).abs() < 1e-15);
        for u in [0.3, 1.7, 4.0, 9.5, 12.0] {
            assert!(
                (integrated_cdf(u) - integrated_cdf(-u) - u).abs() < 1e-12,
                "{u}"
            );
        }
        for u in [-22.0, -19.99, -20.01, -12.0, -3.0, -0.5, 0.5, 2.0] {
            let h = 1e-5;
            let slope = (integrated_cdf(u + h) - integrated_cdf(u - h)) / (2.0 * h);
            assert!(
                (slope - cdf(u)).abs() <= 1e-6 * cdf(u) + 1e-12,
                "{u}: {slope} against {}",
                cdf(u)
            );
        }
        // The two left-tail forms agree where they meet.
        let t: f64 = 20.0;
        let direct = (-0.5 * t * t).exp() * (FRAC_1_SQRT_2PI - 0.5 * t * erfcx(t / SQRT_2));
        assert!((integrated_cdf(-20.0 - 1e-12) / direct - 1.0).abs() < 1e-7);
        assert_eq!(integrated_cdf(f64::NEG_INFINITY), 0.0);
    }

    #[test]
    fn one_uncertain_objective_is_integrated_exactly() {
        // Maximised: front (3, 1) and (1, 3), reference (0, 0). A point with known second
        // objective 2 and first objective N(2.5, 0.8^2).
        let front = vec![vec![3.0, 1.0], vec![1.0, 3.0]];
        let g = gain(&front, &[0.0, 0.0], 1);
        // By hand at a fixed value: y1 = 2.5 adds the box (1, 1)-(2.5, 2): 1.5.
        assert!((g.improvement(&[2.5, 2.0]) - 1.5).abs() < 1e-12);
        let exact = g.expected(&[2.5, 2.0], &[0.8, 0.0]);
        // Against plain Monte Carlo with many samples.
        let mut rng = ChaCha8Rng::seed_from_u64(9);
        let n = 200_000;
        let mc: f64 = (0..n)
            .map(|_| {
                let e: f64 = StandardNormal.sample(&mut rng);
                g.improvement(&[2.5 + 0.8 * e, 2.0])
            })
            .sum::<f64>()
            / n as f64;
        assert!((exact - mc).abs() < 5e-3, "exact {exact}, Monte Carlo {mc}");
        // Certain: the improvement itself; vanishing spread tends to it.
        assert_eq!(g.expected(&[2.5, 2.0], &[0.0, 0.0]), 1.5);
        assert!((g.expected(&[2.5, 2.0], &[1e-9, 0.0]) - 1.5).abs() < 1e-8);
        // Outside the reference box in the known objective: nothing.
        assert_eq!(g.expected(&[2.5, -1.0], &[0.8, 0.0]), 0.0);
        // Four objectives, three known, against Monte Carlo.
        let front = vec![
            vec![0.8, 1.0, 2.0, 1.5],
            vec![0.6, 2.0, 1.0, 2.5],
            vec![0.9, 0.5, 0.5, 0.5],
        ];
        let g = gain(&front, &[0.0; 4], 1);
        let (mean, sd) = ([0.7, 1.5, 1.5, 2.0], [0.15, 0.0, 0.0, 0.0]);
        let exact = g.expected(&mean, &sd);
        let mc: f64 = (0..n)
            .map(|_| {
                let e: f64 = StandardNormal.sample(&mut rng);
                g.improvement(&[0.7 + 0.15 * e, 1.5, 1.5, 2.0])
            })
            .sum::<f64>()
            / n as f64;
        assert!(
            (exact - mc).abs() < 2e-3 * mc.max(1.0),
            "exact {exact}, Monte Carlo {mc}"
        );
    }

    #[test]
    fn several_uncertain_objectives_average_quasi_monte_carlo_samples() {
        let front = vec![vec![3.0, 1.0], vec![1.0, 3.0]];
        let g = gain(&front, &[0.0, 0.0], 1024);
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let n = 200_000;
        let mc: f64 = (0..n)
            .map(|_| {
                let e: [f64; 2] = [
                    StandardNormal.sample(&mut rng),
                    StandardNormal.sample(&mut rng),
                ];
                g.improvement(&[2.0 + 0.5 * e[0], 2.0 + 0.5 * e[1]])
            })
            .sum::<f64>()
            / n as f64;
        let qmc = g.expected(&[2.0, 2.0], &[0.5, 0.5]);
        assert!((qmc - mc).abs() < 0.02 * mc, "QMC {qmc}, Monte Carlo {mc}");
        // Far below the front, no sample reaches it.
        assert_eq!(g.expected(&[0.1, 0.1], &[0.01, 0.01]), 0.0);
        // Deterministic: the same samples every time.
        assert_eq!(qmc, g.expected(&[2.0, 2.0], &[0.5, 0.5]));
    }

    #[test]
    fn the_improvement_by_cells_is_the_hypervolume_s_improvement() {
        use crate::hypervolume::hypervolume_improvement;
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        for m in 2..=4 {
            // A front on the sphere's positive orthant, a reference below part of it.
            let front: Vec<Vec<f64>> = (0..12)
                .map(|_| {
                    let v: Vec<f64> = (0..m)
                        .map(|_| StandardNormal.sample(&mut rng))
                        .map(|x: f64| x.abs())
                        .collect();
                    let norm = v.iter().map(|x| x * x).sum::<f64>().sqrt();
                    v.iter().map(|x| x / norm).collect()
                })
                .collect();
            let reference = vec![0.1; m];
            let g = gain(&front, &reference, 1);
            let minimised: Vec<Vec<f64>> = front
                .iter()
                .map(|p| p.iter().map(|v| -v).collect())
                .collect();
            let r_min: Vec<f64> = reference.iter().map(|v| -v).collect();
            for _ in 0..200 {
                let y: Vec<f64> = (0..m)
                    .map(|_| rand::Rng::random_range(&mut rng, 0.0..1.1))
                    .collect();
                let p: Vec<f64> = y.iter().map(|v| -v).collect();
                let want = hypervolume_improvement(&p, &minimised, &r_min);
                let got = g.improvement(&y);
                assert!(
                    (got - want).abs() < 1e-12,
                    "{m} objectives at {y:?}: {got} vs {want}"
                );
            }
        }
    }

    #[test]
    fn the_reference_is_inferred_as_botorch_does() {
        let points = vec![vec![1.0, 5.0], vec![3.0, 2.0], vec![0.5, 1.0]];
        let r = inferred_reference(&points).unwrap();
        // Front (1, 5), (3, 2): nadir (1, 2), range (2, 3).
        assert!(
            (r[0] - 0.8).abs() < 1e-12 && (r[1] - 1.7).abs() < 1e-12,
            "{r:?}"
        );
        assert_eq!(
            inferred_reference(&[vec![2.0, 0.0]]).unwrap(),
            vec![1.8, -1e-8]
        );
        assert!(inferred_reference(&[]).is_none());
    }
}
