//! Limited-memory BFGS for a smooth function of a few bounded variables: the two-loop
//! recursion (Nocedal and Wright, *Numerical Optimization*, algorithm 7.4) for the
//! direction, variables at a bound held there while the gradient pushes outward (the
//! projected-gradient rule of L-BFGS-B's active set, without its Cauchy point), and a
//! backtracking line search on the projected path with Armijo's sufficient decrease.
//! What the GP's hyperparameter fit (`gp_map`) minimises with.

/// A function to minimise: its value and gradient at a point.
pub type Objective<'a> = dyn FnMut(&[f64]) -> (f64, Vec<f64>) + 'a;

/// Settings of a minimisation.
#[derive(Debug, Clone, Copy)]
pub struct LbfgsConfig {
    /// Most iterations.
    pub max_iterations: usize,
    /// Correction pairs kept.
    pub memory: usize,
    /// Stop when the projected gradient's largest component falls below this.
    pub gradient_tolerance: f64,
    /// Stop when an iteration decreases the value by less than this (relative).
    pub value_tolerance: f64,
}

impl Default for LbfgsConfig {
    fn default() -> Self {
        LbfgsConfig {
            max_iterations: 200,
            memory: 10,
            gradient_tolerance: 1e-6,
            value_tolerance: 1e-10,
        }
    }
}

/// The end of a minimisation.
#[derive(Debug, Clone)]
pub struct Minimum {
    /// Where it stopped.
    pub x: Vec<f64>,
    /// The value there.
    pub value: f64,
    /// Iterations taken.
    pub iterations: usize,
}

/// Minimises `f` (value and gradient) from `start` within `bounds` (one `(low, high)`
/// per variable). A value that is not finite is treated as infinitely bad, so `f` may
/// fail where it is undefined (the line search then steps back).
pub fn minimise(
    f: &mut Objective,
    start: &[f64],
    bounds: &[(f64, f64)],
    config: &LbfgsConfig,
) -> Minimum {
    let project = |x: &mut [f64]| {
        for (v, &(lo, hi)) in x.iter_mut().zip(bounds) {
            *v = v.clamp(lo, hi);
        }
    };
    let mut x = start.to_vec();
    project(&mut x);
    let (mut value, mut grad) = f(&x);
    let mut pairs: Vec<(Vec<f64>, Vec<f64>, f64)> = Vec::new();
    let mut iterations = 0;
    while iterations < config.max_iterations && value.is_finite() {
        // Variables at a bound whose gradient points outward are held there.
        let free: Vec<bool> = x
            .iter()
            .zip(&grad)
            .zip(bounds)
            .map(|((&v, &g), &(lo, hi))| !((v <= lo && g > 0.0) || (v >= hi && g < 0.0)))
            .collect();
        let masked: Vec<f64> = grad
            .iter()
            .zip(&free)
            .map(|(&g, &f)| if f { g } else { 0.0 })
            .collect();
        if masked.iter().all(|g| g.abs() < config.gradient_tolerance) {
            break;
        }
        let mut direction = two_loop(&masked, &pairs);
        for (d, &f) in direction.iter_mut().zip(&free) {
            if !f {
                *d = 0.0;
            }
        }
        let mut slope = dot(&direction, &masked);
        if slope >= 0.0 {
            // Not a descent direction (a stale curvature pair): steepest descent.
            pairs.clear();
            direction = masked.iter().map(|g| -g).collect();
            slope = dot(&direction, &masked);
        }
        // The first step of steepest descent is scaled to move by at most 1.
        let mut step = if pairs.is_empty() {
            1.0 / norm(&direction).max(1.0)
        } else {
            1.0
        };
        let accepted = loop {
            let mut trial: Vec<f64> = x
                .iter()
                .zip(&direction)
                .map(|(v, d)| v + step * d)
                .collect();
            project(&mut trial);
            let (v, g) = f(&trial);
            let moved: f64 = trial.iter().zip(&x).map(|(a, b)| (a - b) * (a - b)).sum();
            if v.is_finite() && v <= value + 1e-4 * step * slope {
                break Some((trial, v, g));
            }
            step *= 0.5;
            if step < 1e-12 || moved == 0.0 {
                break None;
            }
        };
        let Some((next, next_value, next_grad)) = accepted else {
            break;
        };
        iterations += 1;
        let s: Vec<f64> = next.iter().zip(&x).map(|(a, b)| a - b).collect();
        let y: Vec<f64> = next_grad.iter().zip(&grad).map(|(a, b)| a - b).collect();
        let sy = dot(&s, &y);
        if sy > 1e-12 {
            pairs.push((s, y, 1.0 / sy));
            if pairs.len() > config.memory {
                pairs.remove(0);
            }
        }
        let decrease = value - next_value;
        x = next;
        value = next_value;
        grad = next_grad;
        if decrease <= config.value_tolerance * value.abs().max(1.0) {
            break;
        }
    }
    Minimum {
        x,
        value,
        iterations,
    }
}

/// The quasi-Newton direction `-H g` by the two-loop recursion over the pairs
/// `(s, y, 1 / s.y)`, the initial Hessian scaled by `s.y / y.y` of the newest pair.
fn two_loop(grad: &[f64], pairs: &[(Vec<f64>, Vec<f64>, f64)]) -> Vec<f64> {
    let mut q = grad.to_vec();
    let mut alphas = Vec::with_capacity(pairs.len());
    for (s, y, rho) in pairs.iter().rev() {
        let alpha = rho * dot(s, &q);
        for (qi, yi) in q.iter_mut().zip(y) {
            *qi -= alpha * yi;
        }
        alphas.push(alpha);
    }
    if let Some((s, y, _)) = pairs.last() {
        let gamma = dot(s, y) / dot(y, y);
        q.iter_mut().for_each(|v| *v *= gamma);
    }
    for ((s, y, rho), alpha) in pairs.iter().zip(alphas.into_iter().rev()) {
        let beta = rho * dot(y, &q);
        for (qi, si) in q.iter_mut().zip(s) {
            *qi += (alpha - beta) * si;
        }
    }
    q.iter().map(|v| -v).collect()
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

fn norm(a: &[f64]) -> f64 {
    dot(a, a).sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Rosenbrock's function and its gradient.
    fn rosenbrock(x: &[f64]) -> (f64, Vec<f64>) {
        let (a, b) = (x[0], x[1]);
        let value = (1.0 - a).powi(2) + 100.0 * (b - a * a).powi(2);
        let grad = vec![
            -2.0 * (1.0 - a) - 400.0 * a * (b - a * a),
            200.0 * (b - a * a),
        ];
        (value, grad)
    }

    #[test]
    fn finds_rosenbrock_s_minimum() {
        let wide = [(-5.0, 5.0), (-5.0, 5.0)];
        let m = minimise(
            &mut rosenbrock,
            &[-1.2, 1.0],
            &wide,
            &LbfgsConfig::default(),
        );
        assert!(
            (m.x[0] - 1.0).abs() < 1e-4 && (m.x[1] - 1.0).abs() < 1e-4,
            "{m:?}"
        );
        assert!(m.value < 1e-8, "{m:?}");
    }

    #[test]
    fn stops_on_an_active_bound() {
        // The unconstrained minimum (1, 1) lies outside; on the box a <= 0.5 the minimum
        // is at a = 0.5, b = 0.25.
        let bounds = [(-2.0, 0.5), (-2.0, 2.0)];
        let m = minimise(
            &mut rosenbrock,
            &[-1.0, 1.0],
            &bounds,
            &LbfgsConfig::default(),
        );
        assert!(
            (m.x[0] - 0.5).abs() < 1e-6 && (m.x[1] - 0.25).abs() < 1e-4,
            "{m:?}"
        );
    }

    #[test]
    fn a_quadratic_is_solved_in_a_few_iterations_and_undefined_values_are_avoided() {
        // f = sum (i + 1) (x_i - 1)^2, undefined (NaN) for x_0 < -0.5.
        let mut f = |x: &[f64]| {
            let value = x
                .iter()
                .enumerate()
                .map(|(i, v)| (i as f64 + 1.0) * (v - 1.0).powi(2))
                .sum::<f64>();
            let grad = x
                .iter()
                .enumerate()
                .map(|(i, v)| 2.0 * (i as f64 + 1.0) * (v - 1.0))
                .collect();
            (if x[0] < -0.5 { f64::NAN } else { value }, grad)
        };
        let bounds = [(-10.0, 10.0); 4];
        let m = minimise(&mut f, &[0.0; 4], &bounds, &LbfgsConfig::default());
        assert!(m.x.iter().all(|v| (v - 1.0).abs() < 1e-6), "{m:?}");
        assert!(m.iterations <= 12, "{m:?}");
    }
}
