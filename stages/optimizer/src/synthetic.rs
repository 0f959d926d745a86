//! Continuous-fidelity synthetic benchmark problems for testing the
//! optimiser without running the expensive crossbar pipeline.
//!
//! Conventions shared by every problem:
//! * inputs `x` lie in `[0, 1]^d` (the problem maps them to its own domain);
//! * the fidelity `z` lies in `(0, 1]`, `z = 1` being full fidelity, so
//!   `evaluate(x, 1.0)` is the true objective vector `f(x)` and lower `z`
//!   gives a cheaper approximation `g(x, z)`;
//! * **all objectives are maximised** (minimised quantities are negated);
//! * the cost of one evaluation is `c0 + (1 - c0) z` (the study's
//!   [`CostModel`], cold-started), so a full-fidelity evaluation costs exactly
//!   1 and every evaluation at least the fixed overhead `c0`.

use crate::cost::CostModel;
use crate::problem::{MultiFidelityProblem, ObjectiveKind};
use std::f64::consts::PI;
use thiserror::Error;

/// Default fixed overhead `c0` of an evaluation, as a fraction of the cost of
/// a full-fidelity evaluation.
pub const DEFAULT_COST_OVERHEAD: f64 = 0.05;

/// Errors from constructing a problem.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum ProblemError {
    /// The fixed cost overhead is outside `[0, 1)`.
    #[error("cost overhead must be in [0, 1), got {0}")]
    InvalidCostOverhead(f64),
}

fn check_overhead(overhead: f64) -> Result<CostModel, ProblemError> {
    CostModel::from_share(overhead).ok_or(ProblemError::InvalidCostOverhead(overhead))
}

fn check_fidelity(z: f64) {
    assert!(z > 0.0 && z <= 1.0, "fidelity z must be in (0, 1], got {z}");
}

fn check_input(x: &[f64], dim: usize, z: f64) {
    assert_eq!(x.len(), dim, "input must have {dim} coordinates");
    assert!(
        x.iter().all(|v| (0.0..=1.0).contains(v)),
        "input must lie in [0, 1]^{dim}, got {x:?}"
    );
    check_fidelity(z);
}

/// The Branin-Currin pair on `[0, 1]^2`, both negated so they are maximised,
/// with fidelity-dependent biases.
///
/// * Objective 1: `-Branin(15 x1 - 5, 15 x2; z)` with the multi-fidelity
///   Branin of Kandasamy, Dasarathy, Schneider, Poczos, "Multi-fidelity
///   Bayesian optimisation with continuous approximations" (BOCA), ICML 2017:
///   `a (x2 - b(z) x1^2 + c(z) x1 - r)^2 + s (1 - t(z)) cos x1 + s` with
///   `a = 1, r = 6, s = 10`, `b(z) = 5.1/(4 pi^2) - 0.01 (1 - z)`,
///   `c(z) = 5/pi - 0.1 (1 - z)`, `t(z) = 1/(8 pi) + 0.05 (1 - z)` (BOCA uses
///   one fidelity coordinate per coefficient; here all three share `z`). At
///   `z = 1` it is the standard Branin, minimum `5/(4 pi) = 0.397887` at
///   `(-pi, 12.275)`, `(pi, 2.275)`, `(3 pi, 2.475)`.
/// * Objective 2: `-(Currin(x) + 2 (1 - z) (0.5 + x1))`, where
///   `Currin(x) = (1 - exp(-1 / (2 x2))) (2300 x1^3 + 1900 x1^2 + 2092 x1 + 60)
///   / (100 x1^3 + 500 x1^2 + 4 x1 + 20)` is the exponential function of
///   Currin, Mitchell, Morris, Ylvisaker (1991), the second objective of the
///   usual Branin-Currin pair (e.g. BoTorch's `BraninCurrin`). The additive
///   bias, proportional to `1 - z` and larger for larger `x1`, is this
///   project's choice.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BraninCurrin {
    cost: CostModel,
}

impl BraninCurrin {
    /// With the default cost overhead [`DEFAULT_COST_OVERHEAD`].
    pub fn new() -> Self {
        Self {
            cost: CostModel::from_share(DEFAULT_COST_OVERHEAD).expect("in [0, 1)"),
        }
    }

    /// With cost overhead `c0`, `cost(z) = c0 + (1 - c0) z`.
    ///
    /// # Errors
    /// `c0` outside `[0, 1)`.
    pub fn with_cost_overhead(c0: f64) -> Result<Self, ProblemError> {
        Ok(Self {
            cost: check_overhead(c0)?,
        })
    }

    /// Multi-fidelity Branin (to be minimised) at the domain point
    /// `(x1, x2) in [-5, 10] x [0, 15]`.
    fn branin(x1: f64, x2: f64, z: f64) -> f64 {
        let lag = 1.0 - z;
        let b = 5.1 / (4.0 * PI * PI) - 0.01 * lag;
        let c = 5.0 / PI - 0.1 * lag;
        let t = 1.0 / (8.0 * PI) + 0.05 * lag;
        let q = x2 - b * x1 * x1 + c * x1 - 6.0;
        q * q + 10.0 * (1.0 - t) * x1.cos() + 10.0
    }

    /// Currin's exponential function (to be minimised) on `[0, 1]^2`.
    fn currin(x1: f64, x2: f64) -> f64 {
        // exp(-1 / (2 x2)) -> 0 as x2 -> 0.
        let damping = if x2 > 0.0 {
            1.0 - (-0.5 / x2).exp()
        } else {
            1.0
        };
        let num = ((2300.0 * x1 + 1900.0) * x1 + 2092.0) * x1 + 60.0;
        let den = ((100.0 * x1 + 500.0) * x1 + 4.0) * x1 + 20.0;
        damping * num / den
    }
}

impl Default for BraninCurrin {
    fn default() -> Self {
        Self::new()
    }
}

impl MultiFidelityProblem for BraninCurrin {
    fn name(&self) -> &str {
        "branin_currin"
    }

    fn dim(&self) -> usize {
        2
    }

    fn num_objectives(&self) -> usize {
        2
    }

    fn evaluate(&self, x: &[f64], z: f64) -> Vec<f64> {
        check_input(x, 2, z);
        let branin = Self::branin(15.0 * x[0] - 5.0, 15.0 * x[1], z);
        let currin = Self::currin(x[0], x[1]) + 2.0 * (1.0 - z) * (0.5 + x[0]);
        vec![-branin, -currin]
    }

    fn cost(&self, z: f64) -> f64 {
        check_fidelity(z);
        self.cost.cost(0.0, z)
    }

    /// BoTorch's `BraninCurrin._ref_point`, `[18, 6]` (both objectives minimised).
    fn reference_point(&self) -> Option<Vec<f64>> {
        Some(vec![18.0, 6.0])
    }

    /// BoTorch's `BraninCurrin._max_hv`.
    fn max_hypervolume(&self) -> Option<f64> {
        Some(59.360_118_748_677_46)
    }
}

/// A four-input, four-objective stand-in for the crossbar design problem.
///
/// Inputs (all in `[0, 1]`): `x[0]` cell resolution (bits per cell), `x[1]`
/// crossbar size, `x[2]` operating frequency, `x[3]` temperature.
/// Objectives, all maximised:
/// 1. accuracy, `A(x) h(x, z)`: the full-fidelity accuracy
///    `A(x) = 0.1 + 0.85 exp(-n(x))` falls with the read-noise index
///    `n(x) = 1.5 x0^2 + 0.6 x1 + 0.8 x2 (0.5 + x3) + 0.4 x3`, and the
///    training-progress factor `h(x, z) = (1 - exp(-k z)) / (1 - exp(-k))`,
///    `k(x) = 2 + 3 x0`, is increasing in `z`, below 1 for `z < 1` and exactly 1
///    at `z = 1`; since `A > 0`, a lower fidelity is a lower bound, as the
///    method assumes for fewer training epochs;
/// 2. minus area, `-(cells * periphery)` with `cells = 1 / (1 + 7 x0)` (fewer
///    bits per cell need more cells) and `periphery = 1.3 - 0.6 x1` (larger
///    crossbars share peripheral circuits);
/// 3. minus latency, `-(0.5 + 0.5 cells)(1.2 - 0.4 x1) / (0.1 + 0.9 x2)`;
/// 4. minus energy, `-(cells * periphery * (0.6 + 0.4 x2) + 0.1 (1 + x3) latency)`
///    (dynamic energy plus temperature-dependent leakage over the latency).
///
/// Objectives 2 to 4 do not depend on `z`. Accuracy prefers few bits per
/// cell, small crossbars, low frequency and low temperature; area, latency
/// and energy prefer the opposite in the first three, so the objectives
/// conflict. The functional forms are this project's choice, shaped after
/// the trends reported for ReRAM crossbars, not a physical model.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CrossbarLike {
    cost: CostModel,
}

impl CrossbarLike {
    /// With the default cost overhead [`DEFAULT_COST_OVERHEAD`].
    pub fn new() -> Self {
        Self {
            cost: CostModel::from_share(DEFAULT_COST_OVERHEAD).expect("in [0, 1)"),
        }
    }

    /// With cost overhead `c0`, `cost(z) = c0 + (1 - c0) z`.
    ///
    /// # Errors
    /// `c0` outside `[0, 1)`.
    pub fn with_cost_overhead(c0: f64) -> Result<Self, ProblemError> {
        Ok(Self {
            cost: check_overhead(c0)?,
        })
    }

    /// Full-fidelity accuracy `A(x) = g_1(x, 1)`, in `(0.1, 0.95]`.
    ///
    /// # Panics
    /// If `x` does not have 4 entries in `[0, 1]`.
    pub fn accuracy(&self, x: &[f64]) -> f64 {
        check_input(x, 4, 1.0);
        let noise = 1.5 * x[0] * x[0] + 0.6 * x[1] + 0.8 * x[2] * (0.5 + x[3]) + 0.4 * x[3];
        0.1 + 0.85 * (-noise).exp()
    }

    /// Training-progress factor `h(x, z) = (1 - exp(-k z)) / (1 - exp(-k))`,
    /// `k = 2 + 3 x0`; computed with `exp_m1`, and exactly 1 at `z = 1`.
    fn progress(x: &[f64], z: f64) -> f64 {
        let k = 2.0 + 3.0 * x[0];
        (-k * z).exp_m1() / (-k).exp_m1()
    }
}

impl Default for CrossbarLike {
    fn default() -> Self {
        Self::new()
    }
}

impl MultiFidelityProblem for CrossbarLike {
    fn name(&self) -> &str {
        "crossbar_like"
    }

    fn dim(&self) -> usize {
        4
    }

    fn num_objectives(&self) -> usize {
        4
    }

    /// Accuracy is measured; the PPA-like objectives are exact functions of the design.
    fn objective_kinds(&self) -> Vec<ObjectiveKind> {
        let mut kinds = vec![ObjectiveKind::Known; 4];
        kinds[0] = ObjectiveKind::Modelled {
            fidelity_dependent: true,
        };
        kinds
    }

    fn evaluate(&self, x: &[f64], z: f64) -> Vec<f64> {
        check_input(x, 4, z);
        let accuracy = self.accuracy(x) * Self::progress(x, z);
        let cells = 1.0 / (1.0 + 7.0 * x[0]);
        let periphery = 1.3 - 0.6 * x[1];
        let area = cells * periphery;
        let latency = (0.5 + 0.5 * cells) * (1.2 - 0.4 * x[1]) / (0.1 + 0.9 * x[2]);
        let energy = area * (0.6 + 0.4 * x[2]) + 0.1 * (1.0 + x[3]) * latency;
        vec![accuracy, -area, -latency, -energy]
    }

    fn cost(&self, z: f64) -> f64 {
        check_fidelity(z);
        self.cost.cost(0.0, z)
    }
}

#[cfg(test)]
mod tests {
    use super::super::hypervolume::pareto_front_indices;
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    /// The standard Branin function, written out independently.
    fn standard_branin(x1: f64, x2: f64) -> f64 {
        let b = 5.1 / (4.0 * PI.powi(2));
        let c = 5.0 / PI;
        let t = 1.0 / (8.0 * PI);
        (x2 - b * x1.powi(2) + c * x1 - 6.0).powi(2) + 10.0 * (1.0 - t) * x1.cos() + 10.0
    }

    fn random_points(rng: &mut ChaCha8Rng, n: usize, d: usize) -> Vec<Vec<f64>> {
        (0..n)
            .map(|_| (0..d).map(|_| rng.random::<f64>()).collect())
            .collect()
    }

    #[test]
    fn branin_full_fidelity_is_the_standard_branin() {
        let p = BraninCurrin::new();
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        for x in random_points(&mut rng, 200, 2) {
            let got = p.evaluate(&x, 1.0)[0];
            let want = -standard_branin(15.0 * x[0] - 5.0, 15.0 * x[1]);
            assert!((got - want).abs() <= 1e-12 * want.abs().max(1.0));
        }
        // Hand value at x = (0.5, 0.5), i.e. (x1, x2) = (2.5, 7.5):
        // b = 5.1/(4 pi^2) = 0.1291845, c = 5/pi = 1.5915494, t = 1/(8 pi);
        // q = 7.5 - 0.1291845*6.25 + 1.5915494*2.5 - 6 = 4.6714659,
        // q^2 = 21.822593, 10 (1 - t) cos 2.5 = 9.6021126 * -0.8011436
        // = -7.6926716, total 21.822593 - 7.692672 + 10 = 24.129964
        // (mpmath: 24.12996441362226).
        assert!((p.evaluate(&[0.5, 0.5], 1.0)[0] + 24.129_964_413_622_26).abs() < 1e-12);
    }

    #[test]
    fn branin_optimum_at_its_three_minimisers() {
        // Minimum 5/(4 pi) = 0.39788735772973833 at (-pi, 12.275),
        // (pi, 2.275), (3 pi, 2.475); mapped by u1 = (x1 + 5)/15, u2 = x2/15.
        // E.g. at x1 = pi: b pi^2 = 5.1/4 = 1.275, c pi = 5, so
        // q = 2.275 - 1.275 + 5 - 6 = 0 and the value is
        // 10 (1 - t) cos(pi) + 10 = 10 t = 10/(8 pi) = 5/(4 pi).
        let p = BraninCurrin::new();
        let optimum = -5.0 / (4.0 * PI);
        assert!((optimum + 0.397_887_357_729_738_3).abs() < 1e-15);
        for (x1, x2) in [(-PI, 12.275), (PI, 2.275), (3.0 * PI, 2.475)] {
            let u = [(x1 + 5.0) / 15.0, x2 / 15.0];
            let got = p.evaluate(&u, 1.0)[0];
            assert!((got - optimum).abs() < 1e-12, "at {u:?}: {got}");
        }
        // No random point beats it.
        let mut rng = ChaCha8Rng::seed_from_u64(2);
        for x in random_points(&mut rng, 5000, 2) {
            assert!(p.evaluate(&x, 1.0)[0] <= optimum + 1e-12);
        }
    }

    #[test]
    fn branin_low_fidelity_uses_the_boca_coefficients() {
        // At z = 0.5, x = (0.5, 0.5): b = 5.1/(4 pi^2) - 0.005,
        // c = 5/pi - 0.05, t = 1/(8 pi) + 0.025; mpmath: 23.46313868091884.
        let p = BraninCurrin::new();
        let got = p.evaluate(&[0.5, 0.5], 0.5)[0];
        assert!((got + 23.463_138_680_918_84).abs() < 1e-12, "{got}");
    }

    #[test]
    fn currin_values_and_bias() {
        let p = BraninCurrin::new();
        // x = (0.5, 0.5): (1 - e^-1) * (287.5 + 475 + 1046 + 60)
        // / (12.5 + 125 + 2 + 20) = 0.6321205588 * 1868.5 / 159.5
        // = 7.405123913298809.
        let f = p.evaluate(&[0.5, 0.5], 1.0)[1];
        assert!((f + 7.405_123_913_298_809).abs() < 1e-12, "{f}");
        // x = (0.25, 0.75): mpmath 6.670310968708846.
        let f = p.evaluate(&[0.25, 0.75], 1.0)[1];
        assert!((f + 6.670_310_968_708_846).abs() < 1e-12, "{f}");
        // x2 = 0: damping factor 1, value 60 / 20 = 3 at x1 = 0.
        assert_eq!(p.evaluate(&[0.0, 0.0], 1.0)[1], -3.0);
        // Bias 2 (1 - z)(0.5 + x1): at z = 0.25, x1 = 0.5 it is 1.5.
        let low = p.evaluate(&[0.5, 0.5], 0.25)[1];
        assert!((low - (-7.405_123_913_298_809 - 1.5)).abs() < 1e-12);
    }

    #[test]
    fn crossbar_full_fidelity_and_lower_bound() {
        let p = CrossbarLike::new();
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        for x in random_points(&mut rng, 300, 4) {
            let full = p.evaluate(&x, 1.0);
            assert_eq!(full[0], p.accuracy(&x), "g(x, 1) must equal f(x)");
            assert!(full[0] > 0.1 && full[0] <= 0.95);
            let mut prev = 0.0;
            for i in 1..=20 {
                let z = f64::from(i) / 20.0;
                let g = p.evaluate(&x, z);
                assert!(g[0] > prev, "accuracy not increasing in z");
                assert!(g[0] <= full[0], "lower fidelity above full fidelity");
                assert_eq!(&g[1..], &full[1..], "cheap objectives depend on z");
                prev = g[0];
            }
        }
        // Best-case accuracy at x = 0: 0.1 + 0.85 = 0.95.
        assert_eq!(p.accuracy(&[0.0; 4]), 0.95);
    }

    #[test]
    fn crossbar_objectives_conflict() {
        // Among random designs many are Pareto-optimal, and the accuracy
        // extreme is not the area extreme.
        let p = CrossbarLike::new();
        let mut rng = ChaCha8Rng::seed_from_u64(4);
        let pts = random_points(&mut rng, 200, 4);
        let minimised: Vec<Vec<f64>> = pts
            .iter()
            .map(|x| p.evaluate(x, 1.0).iter().map(|v| -v).collect())
            .collect();
        assert!(pareto_front_indices(&minimised).len() >= 10);
        let best = |k: usize| {
            (0..pts.len())
                .min_by(|&a, &b| minimised[a][k].total_cmp(&minimised[b][k]))
                .unwrap()
        };
        assert_ne!(best(0), best(1));
        assert_ne!(best(0), best(2));
    }

    #[test]
    fn cost_model() {
        for p in [
            &BraninCurrin::new() as &dyn MultiFidelityProblem,
            &CrossbarLike::new(),
        ] {
            assert_eq!(p.cost(1.0), 1.0);
            let mut prev = DEFAULT_COST_OVERHEAD;
            for i in 1..=100 {
                let c = p.cost(f64::from(i) / 100.0);
                assert!(c > prev);
                prev = c;
            }
            assert!((p.cost(1e-12) - DEFAULT_COST_OVERHEAD).abs() < 1e-12);
            assert_eq!(
                p.evaluate(&vec![0.5; p.dim()], 0.7).len(),
                p.num_objectives()
            );
        }
        let p = CrossbarLike::with_cost_overhead(0.2).unwrap();
        assert!((p.cost(0.5) - 0.6).abs() < 1e-15);
        assert_eq!(p.cost(1.0), 1.0);
        assert_eq!(
            BraninCurrin::with_cost_overhead(1.0),
            Err(ProblemError::InvalidCostOverhead(1.0))
        );
        assert!(CrossbarLike::with_cost_overhead(-0.1).is_err());
        assert_eq!(BraninCurrin::default().name(), "branin_currin");
        assert_eq!(CrossbarLike::default().name(), "crossbar_like");
    }

    #[test]
    #[should_panic(expected = "fidelity z must be in (0, 1]")]
    fn zero_fidelity_panics() {
        CrossbarLike::new().evaluate(&[0.5; 4], 0.0);
    }

    #[test]
    #[should_panic(expected = "input must lie in [0, 1]")]
    fn out_of_box_input_panics() {
        BraninCurrin::new().evaluate(&[0.5, 1.5], 1.0);
    }

    #[test]
    #[should_panic(expected = "input must have 2 coordinates")]
    fn wrong_dimension_panics() {
        BraninCurrin::new().evaluate(&[0.5], 1.0);
    }
}
