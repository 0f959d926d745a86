//! SGD with momentum and weight decay (candle-nn's SGD has no momentum), and the
//! learning-rate schedules, both indexed by the absolute epoch.

use candle_core::backprop::GradStore;
use candle_core::{Result, Tensor, Var};

/// SGD with momentum and L2 weight decay, PyTorch's convention:
/// `v = mu v + (g + wd w)`, `w = w - lr v`.
pub struct Sgd {
    vars: Vec<(String, Var)>,
    velocity: Vec<Tensor>,
    momentum: f64,
    weight_decay: f64,
}

impl Sgd {
    /// An optimiser over `vars` (name, variable) with zero velocity.
    pub fn new(vars: Vec<(String, Var)>, momentum: f64, weight_decay: f64) -> Result<Sgd> {
        let velocity = vars
            .iter()
            .map(|(_, v)| v.as_tensor().zeros_like())
            .collect::<Result<_>>()?;
        Ok(Sgd {
            vars,
            velocity,
            momentum,
            weight_decay,
        })
    }

    /// One update with learning rate `lr`; variables without a gradient are left alone.
    pub fn step(&mut self, grads: &GradStore, lr: f64) -> Result<()> {
        for ((_, var), velocity) in self.vars.iter().zip(self.velocity.iter_mut()) {
            let Some(g) = grads.get(var.as_tensor()) else {
                continue;
            };
            let w = var.as_tensor().detach();
            let g = (g + (&w * self.weight_decay)?)?;
            *velocity = ((&*velocity * self.momentum)? + g)?.detach();
            var.set(&(w - (&*velocity * lr)?)?)?;
        }
        Ok(())
    }

    /// The velocity buffers by variable name (for checkpoints).
    pub fn velocities(&self) -> impl Iterator<Item = (&str, &Tensor)> {
        self.vars
            .iter()
            .zip(&self.velocity)
            .map(|((n, _), v)| (n.as_str(), v))
    }

    /// Replaces the velocity of the variable `name`; false if there is no such variable.
    pub fn set_velocity(&mut self, name: &str, value: Tensor) -> bool {
        match self.vars.iter().position(|(n, _)| n == name) {
            Some(i) => {
                self.velocity[i] = value;
                true
            }
            None => false,
        }
    }
}

/// Cosine annealing from `peak` to 0 over `total` epochs, constant within an epoch.
pub fn cosine_lr(peak: f64, epoch: usize, total: usize) -> f64 {
    0.5 * peak * (1.0 + (std::f64::consts::PI * epoch as f64 / total.max(1) as f64).cos())
}

/// Exponential decay by the absolute epoch: `initial * decay^epoch`. It does not depend
/// on how many epochs a run will train, so a warm start continues the same schedule.
pub fn decayed_lr(initial: f64, decay: f64, epoch: usize) -> f64 {
    initial * decay.powi(epoch as i32)
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;

    #[test]
    fn momentum_and_weight_decay_follow_the_pytorch_rule() {
        let w = Var::new(&[1.0f32, -2.0], &Device::Cpu).unwrap();
        let mut sgd = Sgd::new(vec![("w".into(), w.clone())], 0.9, 0.1).unwrap();
        for _ in 0..2 {
            // loss = sum(w) so g = 1.
            let grads = w.as_tensor().sum_all().unwrap().backward().unwrap();
            sgd.step(&grads, 0.5).unwrap();
        }
        // Step 1: v = 1 + 0.1 w0; w1 = w0 - 0.5 v. Step 2: v = 0.9 v + 1 + 0.1 w1.
        let expect = |w0: f32| {
            let v1 = 1.0 + 0.1 * w0;
            let w1 = w0 - 0.5 * v1;
            let v2 = 0.9 * v1 + 1.0 + 0.1 * w1;
            w1 - 0.5 * v2
        };
        let got = w.as_tensor().to_vec1::<f32>().unwrap();
        assert!((got[0] - expect(1.0)).abs() < 1e-6);
        assert!((got[1] - expect(-2.0)).abs() < 1e-6);
    }

    #[test]
    fn schedules() {
        assert_eq!(cosine_lr(0.1, 0, 10), 0.1);
        assert!((cosine_lr(0.1, 5, 10) - 0.05).abs() < 1e-12);
        assert!((decayed_lr(0.01, 0.5, 3) - 0.00125).abs() < 1e-15);
    }
}
