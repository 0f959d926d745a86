//! Benchmark problems with published reference points and maximum hypervolumes, defined
//! as BoTorch defines them (`botorch.test_functions`, read at commit `e390e135`):
//! DTLZ2 (Deb, Thiele, Laumanns, Zitzler 2002) with 6 variables and 2 or 4 objectives,
//! the 4-objective CarSideImpact and 3-objective VehicleSafety engineering problems
//! (Tanabe and Ishibuchi 2020), all at a single fidelity; and the multi-fidelity
//! MOMF-BraninCurrin and MOMF-Park of Irshad, Karsch and Döpp (2021), whose fidelity `s`
//! is this crate's `z` and whose cost is MOMF's `exp(4.8 s)`, normalised to 1 at `s = 1`.
//!
//! In this crate's conventions ([`MultiFidelityProblem`]): the inputs are in `[0, 1]^d`
//! and mapped linearly onto the problem's bounds, the objectives are maximised (BoTorch's
//! minimised values negated), and the reference point is BoTorch's, in minimisation form.
//! `bench/optimizer_baselines.py` checks every definition against BoTorch's own classes
//! at probe points.

use crate::problem::MultiFidelityProblem;
use std::f64::consts::PI;

/// Maps `x` in `[0, 1]^d` onto the box `bounds`.
fn scaled(x: &[f64], bounds: &[(f64, f64)]) -> Vec<f64> {
    assert_eq!(
        x.len(),
        bounds.len(),
        "input must have {} coordinates",
        bounds.len()
    );
    x.iter()
        .zip(bounds)
        .map(|(v, (lo, hi))| {
            assert!(
                (0.0..=1.0).contains(v),
                "input must lie in [0, 1], got {x:?}"
            );
            lo + v * (hi - lo)
        })
        .collect()
}

fn check_fidelity(z: f64) {
    assert!(z > 0.0 && z <= 1.0, "fidelity z must be in (0, 1], got {z}");
}

/// BoTorch's minimised objectives at the scaled design and the fidelity `s`.
type Objectives = Box<dyn Fn(&[f64], f64) -> Vec<f64> + Sync>;

/// A published problem: its name, its bounds (the fidelity not among them), BoTorch's
/// objectives on the scaled inputs (minimised, as BoTorch defines them), its reference
/// point (minimisation form) and maximum hypervolume, and, for a multi-fidelity problem,
/// MOMF's cost.
pub struct Published {
    name: String,
    bounds: Vec<(f64, f64)>,
    objectives: Objectives,
    reference: Vec<f64>,
    max_hypervolume: f64,
    multi_fidelity: bool,
}

impl MultiFidelityProblem for Published {
    fn name(&self) -> &str {
        &self.name
    }

    fn dim(&self) -> usize {
        self.bounds.len()
    }

    fn num_objectives(&self) -> usize {
        self.reference.len()
    }

    fn evaluate(&self, x: &[f64], z: f64) -> Vec<f64> {
        check_fidelity(z);
        assert!(
            self.multi_fidelity || z == 1.0,
            "{} has one fidelity",
            self.name
        );
        let f = (self.objectives)(&scaled(x, &self.bounds), z);
        f.into_iter().map(|v| -v).collect()
    }

    fn multi_fidelity(&self) -> bool {
        self.multi_fidelity
    }

    /// 1 at a single fidelity; MOMF's `exp(4.8 s)` normalised to 1 at `s = 1`.
    fn cost(&self, z: f64) -> f64 {
        check_fidelity(z);
        if self.multi_fidelity {
            (4.8 * (z - 1.0)).exp()
        } else {
            1.0
        }
    }

    fn reference_point(&self) -> Option<Vec<f64>> {
        Some(self.reference.clone())
    }

    fn max_hypervolume(&self) -> Option<f64> {
        Some(self.max_hypervolume)
    }
}

/// DTLZ2 on `[0, 1]^dim` with `m` objectives (`dim > m`, `m` in 2..=4): `f_i = (1 + g)
/// prod_{j < m-1-i} cos(x_j pi/2) [sin(x_{m-1-i} pi/2) for i > 0]`, `g = sum_{j >= m-1}
/// (x_j - 0.5)^2`; reference point `1.1` in every objective, maximum hypervolume `1.1^m`
/// less the positive orthant's share of the unit ball, `pi^(m/2) / Gamma(m/2 + 1) / 2^m`.
///
/// # Panics
/// If the sizes are out of that range.
pub fn dtlz2(dim: usize, m: usize) -> Published {
    assert!(
        (2..=4).contains(&m) && dim > m,
        "DTLZ2 needs dim > m, m in 2..=4"
    );
    let ball = [PI, 4.0 * PI / 3.0, PI * PI / 2.0][m - 2];
    let half_pi = PI / 2.0;
    Published {
        name: format!("dtlz2_d{dim}_m{m}"),
        bounds: vec![(0.0, 1.0); dim],
        objectives: Box::new(move |x, _| {
            let g: f64 = x[m - 1..].iter().map(|v| (v - 0.5) * (v - 0.5)).sum();
            (0..m)
                .map(|i| {
                    let idx = m - 1 - i;
                    let product: f64 = x[..idx].iter().map(|v| (v * half_pi).cos()).product();
                    let f = (1.0 + g) * product;
                    if i > 0 {
                        f * (x[idx] * half_pi).sin()
                    } else {
                        f
                    }
                })
                .collect()
        }),
        reference: vec![1.1; m],
        max_hypervolume: 1.1f64.powi(m as i32) - ball / 2f64.powi(m as i32),
        multi_fidelity: false,
    }
}

/// The car side-impact problem (Tanabe and Ishibuchi 2020, RE4-7-1): 7 variables, 4
/// objectives (weight, pubic force, mean velocity, summed constraint violation).
pub fn car_side_impact() -> Published {
    Published {
        name: "car_side_impact".into(),
        bounds: vec![
            (0.5, 1.5),
            (0.45, 1.35),
            (0.5, 1.5),
            (0.5, 1.5),
            (0.875, 2.625),
            (0.4, 1.2),
            (0.4, 1.2),
        ],
        objectives: Box::new(|v, _| {
            let (x1, x2, x3, x4, x5, x6, x7) = (v[0], v[1], v[2], v[3], v[4], v[5], v[6]);
            let f1 = 1.98
                + 4.9 * x1
                + 6.67 * x2
                + 6.98 * x3
                + 4.01 * x4
                + 1.78 * x5
                + 1e-5 * x6
                + 2.73 * x7;
            let f2 = 4.72 - 0.5 * x4 - 0.19 * x2 * x3;
            let v_mbp = 10.58 - 0.674 * x1 * x2 - 0.67275 * x2;
            let v_fd = 16.45 - 0.489 * x3 * x7 - 0.843 * x5 * x6;
            let f3 = 0.5 * (v_mbp + v_fd);
            let g = [
                1.0 - 1.16 + 0.3717 * x2 * x4 + 0.0092928 * x3,
                0.32 - 0.261 + 0.0159 * x1 * x2 + 0.06486 * x1 + 0.019 * x2 * x7
                    - 0.0144 * x3 * x5
                    - 0.0154464 * x6,
                0.32 - 0.214 - 0.00817 * x5 + 0.045195 * x1 + 0.0135168 * x1 - 0.03099 * x2 * x6
                    + 0.018 * x2 * x7
                    - 0.007176 * x3
                    - 0.023232 * x3
                    + 0.00364 * x5 * x6
                    + 0.018 * (x2 * x2),
                0.32 - 0.74 + 0.61 * x2 + 0.031296 * x3 + 0.031872 * x7 - 0.227 * (x2 * x2),
                32.0 - 28.98 - 3.818 * x3 + 4.2 * x1 * x2 - 1.27296 * x6 + 2.68065 * x7,
                32.0 - 33.86 - 2.95 * x3 + 5.057 * x1 * x2 + 3.795 * x2 + 3.4431 * x7 - 1.45728,
                32.0 - 46.36 + 9.9 * x2 + 4.4505 * x1,
                4.0 - f2,
                9.9 - v_mbp,
                15.7 - v_fd,
            ];
            let f4: f64 = g.iter().map(|&gi| if gi < 0.0 { -gi } else { 0.0 }).sum();
            vec![f1, f2, f3, f4]
        }),
        reference: vec![45.4872, 4.5114, 13.3394, 10.3942],
        max_hypervolume: 484.72654347642793,
        multi_fidelity: false,
    }
}

/// The vehicle crash-worthiness problem (Tanabe and Ishibuchi 2020, RE3-5-4): 5
/// variables in `[1, 3]`, 3 objectives (mass, acceleration, toe-board intrusion).
pub fn vehicle_safety() -> Published {
    Published {
        name: "vehicle_safety".into(),
        bounds: vec![(1.0, 3.0); 5],
        objectives: Box::new(|v, _| {
            let (x1, x2, x3, x4, x5) = (v[0], v[1], v[2], v[3], v[4]);
            let f1 = 1640.2823
                + 2.3573285 * x1
                + 2.3220035 * x2
                + 4.5688768 * x3
                + 7.7213633 * x4
                + 4.4559504 * x5;
            let f2 = 6.5856 + 1.15 * x1 - 1.0427 * x2 + 0.9738 * x3 + 0.8364 * x4
                - 0.3695 * x1 * x4
                + 0.0861 * x1 * x5
                + 0.3628 * x2 * x4
                - 0.1106 * (x1 * x1)
                - 0.3437 * (x3 * x3)
                + 0.1764 * (x4 * x4);
            let f3 = -0.0551 + 0.0181 * x1 + 0.1024 * x2 + 0.0421 * x3 - 0.0073 * x1 * x2
                + 0.024 * x2 * x3
                - 0.0118 * x2 * x4
                - 0.0204 * x3 * x4
                - 0.008 * x3 * x5
                - 0.0241 * (x2 * x2)
                + 0.0109 * (x4 * x4);
            vec![f1, f2, f3]
        }),
        reference: vec![1864.72022, 11.81993945, 0.2903999384],
        max_hypervolume: 246.81607081187002,
        multi_fidelity: false,
    }
}

/// MOMF-BraninCurrin (Irshad et al. 2021; BoTorch's `MOMFBraninCurrin`): the rescaled
/// Branin and Currin functions on `[0, 1]^2` whose constants move with the fidelity `s`,
/// both normalised and maximised; reference point `[0, 0]`.
pub fn momf_branin_currin() -> Published {
    Published {
        name: "momf_branin_currin".into(),
        bounds: vec![(0.0, 1.0); 2],
        objectives: Box::new(|v, s| {
            let (x1, x2) = (v[0], v[1]);
            let (x11, x22) = (15.0 * x1 - 5.0, 15.0 * x2);
            let b = 5.1 / (4.0 * PI * PI) - 0.01 * (1.0 - s);
            let c = 5.0 / PI - 0.1 * (1.0 - s);
            let t = 1.0 / (8.0 * PI) + 0.05 * (1.0 - s);
            let q = x22 - b * (x11 * x11) + c * x11 - 6.0;
            let branin = q * q + 10.0 * (1.0 - t) * x11.cos() + 10.0;
            let numerator = 2300.0 * (x1 * x1 * x1) + 1900.0 * (x1 * x1) + 2092.0 * x1 + 60.0;
            let denominator = 100.0 * (x1 * x1 * x1) + 500.0 * (x1 * x1) + 4.0 * x1 + 20.0;
            let currin =
                (1.0 - 0.1 * (1.0 - s) * (-1.0 / (2.0 * x2)).exp()) * numerator / denominator;
            vec![-((21.0 - branin) / 22.0), -((-currin + 14.0) / 15.0)]
        }),
        reference: vec![0.0, 0.0],
        max_hypervolume: 0.5235514158034145,
        multi_fidelity: true,
    }
}

/// MOMF-Park (Irshad et al. 2021; BoTorch's `MOMFPark`): the two Park functions on
/// `[0, 1]^4` after MOMF's input transform, their constants moving with the fidelity
/// `s`, maximised; reference point `[0, 0]`.
pub fn momf_park() -> Published {
    Published {
        name: "momf_park".into(),
        bounds: vec![(0.0, 1.0); 4],
        objectives: Box::new(|v, s| {
            let x1 = 1.0 - 2.0 * ((v[0] - 0.6) * (v[0] - 0.6));
            let x2 = v[1];
            let x3 = 1.0 - 3.0 * ((v[2] - 0.5) * (v[2] - 0.5));
            let x4 = 1.0 - (v[3] - 0.8) * (v[3] - 0.8);
            let t1 = (x1 + 1e-3 * (1.0 - s)) / 2.0
                * (1.0 + (x2 + x3 * x3) * x4 / (x1 * x1 + 1e-4)).sqrt();
            let t2 = (x1 + 3.0 * x4) * (1.0 + x3.sin()).exp();
            let a = 0.9 + 0.1 * s;
            let b = 0.1 * (1.0 - s);
            let park1 = a * (t1 + t2 - b) / 22.0 - 0.8;
            let park2 =
                a * (5.0 - 2.0 / 3.0 * (x1 + x2).exp() + x4 * x3.sin() * a - x3 + b) / 4.0 - 0.7;
            vec![-park1, -park2]
        }),
        reference: vec![0.0, 0.0],
        max_hypervolume: 0.08551927363087991,
        multi_fidelity: true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(got: &[f64], want: &[f64]) {
        for (g, w) in got.iter().zip(want) {
            assert!(
                (g - w).abs() <= 1e-12 * w.abs().max(1.0),
                "{got:?} vs {want:?}"
            );
        }
    }

    /// BoTorch's values (`evaluate_true`, botorch 0.18.1, negated to maximised) at points
    /// given on the problems' own bounds, mapped back to `[0, 1]`.
    #[test]
    fn values_match_botorch() {
        let unit = |v: &[f64], b: &[(f64, f64)]| -> Vec<f64> {
            v.iter()
                .zip(b)
                .map(|(v, (lo, hi))| (v - lo) / (hi - lo))
                .collect()
        };
        let neg = |v: &[f64]| -> Vec<f64> { v.iter().map(|y| -y).collect() };
        let x = [0.21, 0.347, 0.484, 0.621, 0.758, 0.895];
        close(
            &dtlz2(6, 2).evaluate(&x, 1.0),
            &neg(&[1.1929142985188579, 0.4084258530189556]),
        );
        close(
            &dtlz2(6, 4).evaluate(&x, 1.0),
            &neg(&[
                0.725310958240194,
                0.6897393744355506,
                0.6068878200524926,
                0.4007603473172964,
            ]),
        );
        let car = [
            0.71,
            0.7623,
            0.984,
            1.121,
            2.2015000000000002,
            1.116,
            0.42560000000000003,
        ];
        let p = car_side_impact();
        close(
            &p.evaluate(&unit(&car, &p.bounds), 1.0),
            &neg(&[
                26.98764016,
                4.016980392,
                11.938219172699998,
                3.712902397629999,
            ]),
        );
        let vehicle = [1.42, 1.694, 1.968, 2.242, 2.516];
        close(
            &vehicle_safety().evaluate(&unit(&vehicle, &[(1.0, 3.0); 5]), 1.0),
            &neg(&[1685.0771976664, 10.0855788472, 0.10056501119999994]),
        );
        close(
            &momf_branin_currin().evaluate(&[0.77, 0.15300000000000002], 0.536),
            &neg(&[-0.036876219157774545, -0.2322101259898319]),
        );
        close(
            &momf_park().evaluate(&[0.5; 4], 1.0),
            &neg(&[-0.29804474932655234, 0.24072296444266295]),
        );
        close(
            &momf_park().evaluate(
                &[0.77, 0.15300000000000002, 0.536, 0.919],
                0.30200000000000005,
            ),
            &neg(&[-0.264650738232304, 0.037181174993384025]),
        );
    }

    #[test]
    fn dtlz2_front_is_the_unit_sphere_and_its_maximum_hypervolume_is_botorch_s() {
        let p = dtlz2(6, 4);
        let f = p.evaluate(&[0.3, 0.8, 0.1, 0.5, 0.5, 0.5], 1.0);
        let norm: f64 = f.iter().map(|v| v * v).sum();
        assert!((norm - 1.0).abs() < 1e-12);
        assert!((p.max_hypervolume().unwrap() - 1.155674862465958).abs() < 1e-12);
        let two = dtlz2(6, 2).max_hypervolume().unwrap();
        assert!((two - 0.4246018366025519).abs() < 1e-12);
    }

    #[test]
    fn momf_cost_is_exponential_in_the_fidelity() {
        assert_eq!(momf_park().cost(1.0), 1.0);
        assert!((momf_branin_currin().cost(0.5) - (-2.4f64).exp()).abs() < 1e-15);
        assert!(!vehicle_safety().multi_fidelity() && momf_park().multi_fidelity());
        assert_eq!(vehicle_safety().cost(1.0), 1.0);
    }
}
