//! 2-D batch norm fused with the residual add and the activation that follow it, as
//! candle custom ops with their backward pass.
//!
//! candle-nn's `BatchNorm` runs a dozen tensor ops in training (a transposed copy, two
//! means, subtract, square, divide, square root, scale, shift, the copy back), each a
//! pass over the activation with an allocation, then a ReLU and, in a residual block, an
//! add and another ReLU; in the backward pass every one of those ops costs its gradient
//! pass plus candle's gradient-store add into a fresh zero tensor. [`BatchNorm2d::forward`]
//! computes
//!
//! `y = act(γ_c · (x - μ_c) / √(σ²_c + ε) + β_c [+ r])`
//!
//! on the CPU in three passes (mean, variance, output) and its gradients in two (the
//! per-channel sums, then `∂x`), in one graph node. With `μ, σ²` the batch's statistics
//! (training), `g = ∂y · [y > 0]` (ReLU) and `x̂ = (x - μ) / √(σ² + ε)`:
//!
//! * `∂β_c = Σ g`, `∂γ_c = Σ g · x̂`, `∂r = g`
//! * `∂x = γ_c / √(σ²_c + ε) · (g - ∂β_c / M - x̂ · ∂γ_c / M)`, `M = n·h·w`
//!
//! and with the running statistics (evaluation) `∂x = γ_c / √(σ²_c + ε) · g`.
//! The running statistics follow PyTorch and candle-nn: momentum 0.1, the unbiased
//! variance. Every sum has a fixed order (per image plane, then planes in order), so the
//! results do not depend on rayon's scheduling. On other devices the same function runs
//! as candle-nn's batch norm and candle's element-wise ops.

use candle_core::{
    bail, CpuStorage, CustomOp2, CustomOp3, Device, Layout, Result, Shape, Storage, Tensor, Var,
};
use candle_nn::{Init, VarBuilder};
use rayon::prelude::*;

use super::conv::f32_data;

/// What follows the normalisation (and the residual add).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Activation {
    /// Nothing.
    Identity,
    /// `max(0, ·)`.
    Relu,
}

/// `act(y + residual)` with candle's ops (any device): what follows a convolution
/// without batch norm, and the tail of the batch norm outside the CPU.
pub fn add_residual_and_activate(
    y: Tensor,
    residual: Option<&Tensor>,
    act: Activation,
) -> Result<Tensor> {
    let y = match residual {
        Some(r) => (y + r)?,
        None => y,
    };
    match act {
        Activation::Identity => Ok(y),
        Activation::Relu => y.relu(),
    }
}

/// A 2-D batch norm layer: per-channel scale `weight` and shift `bias`, and the running
/// statistics, under the names candle-nn gives them (`weight`, `bias`, `running_mean`,
/// `running_var`), so checkpoints are unchanged.
pub struct BatchNorm2d {
    weight: Tensor,
    bias: Tensor,
    running_mean: Var,
    running_var: Var,
}

/// Added to the variance before the square root (PyTorch's default).
const EPS: f64 = 1e-5;
/// The weight of a batch's statistics in the running ones (PyTorch's default).
const MOMENTUM: f64 = 0.1;

impl BatchNorm2d {
    /// A layer over `channels`, its variables taken from `vb` (unit scale, zero shift,
    /// zero running mean, unit running variance when new).
    pub fn new(channels: usize, vb: VarBuilder) -> Result<Self> {
        let running_mean = vb.get_with_hints(channels, "running_mean", Init::Const(0.0))?;
        let running_var = vb.get_with_hints(channels, "running_var", Init::Const(1.0))?;
        let weight = vb.get_with_hints(channels, "weight", Init::Const(1.0))?;
        let bias = vb.get_with_hints(channels, "bias", Init::Const(0.0))?;
        Ok(Self {
            running_mean: Var::from_tensor(&running_mean)?,
            running_var: Var::from_tensor(&running_var)?,
            weight,
            bias,
        })
    }

    /// `act(bn(x) + residual)` for `x` `(n, c, h, w)`. In training (`train`) it normalises
    /// with the batch's statistics and updates the running ones; otherwise it uses the
    /// running statistics.
    pub fn forward(
        &self,
        x: &Tensor,
        train: bool,
        residual: Option<&Tensor>,
        act: Activation,
    ) -> Result<Tensor> {
        if !x.device().is_cpu() {
            return self.forward_candle(x, train, residual, act);
        }
        let x = x.contiguous()?;
        let dims = Dims::of(x.shape())?;
        if let Some(r) = residual {
            if r.shape() != x.shape() {
                bail!(
                    "batch norm: residual {:?} does not match the input {:?}",
                    r.shape(),
                    x.shape()
                )
            }
        }
        let stats = if train {
            let (mean, var) = with_f32(&x, |data| channel_moments(data, dims))?;
            self.update_running(&mean, &var, dims.per_channel())?;
            Stats::batch(&mean, &var)
        } else {
            let mean = self.running_mean.as_tensor().to_vec1::<f32>()?;
            let var = self.running_var.as_tensor().to_vec1::<f32>()?;
            let to_f64 = |v: Vec<f32>| v.into_iter().map(f64::from).collect::<Vec<_>>();
            Stats::running(&to_f64(mean), &to_f64(var))
        };
        let op = Normalize { stats, act };
        let affine = Tensor::stack(&[&self.weight, &self.bias], 0)?;
        match residual {
            None => x.apply_op2(&affine, op),
            Some(r) => x.apply_op3(&affine, &r.contiguous()?, NormalizeResidual(op)),
        }
    }

    /// The same function with candle-nn's batch norm over the same variables (its
    /// running statistics update them in place) and candle's ops (any device).
    fn forward_candle(
        &self,
        x: &Tensor,
        train: bool,
        residual: Option<&Tensor>,
        act: Activation,
    ) -> Result<Tensor> {
        let candle = candle_nn::BatchNorm::new(
            self.weight.elem_count(),
            self.running_mean.as_tensor().clone(),
            self.running_var.as_tensor().clone(),
            self.weight.clone(),
            self.bias.clone(),
            EPS,
        )?;
        let y = candle_nn::ModuleT::forward_t(&candle, x, train)?;
        add_residual_and_activate(y, residual, act)
    }

    /// Moves the running statistics towards a batch's `mean` and biased `var` over
    /// `count` values per channel (the variance enters unbiased).
    fn update_running(&self, mean: &[f64], var: &[f64], count: usize) -> Result<()> {
        let unbias = count as f64 / (count as f64 - 1.0).max(1.0);
        let blend = |running: &Var, batch: &[f64], factor: f64| -> Result<()> {
            let old = running.as_tensor().to_vec1::<f32>()?;
            let new: Vec<f32> = old
                .iter()
                .zip(batch)
                .map(|(o, b)| (f64::from(*o) * (1.0 - MOMENTUM) + b * factor * MOMENTUM) as f32)
                .collect();
            running.set(&Tensor::from_vec(new, old.len(), &Device::Cpu)?)
        };
        blend(&self.running_mean, mean, 1.0)?;
        blend(&self.running_var, var, unbias)
    }
}

/// The sizes of an `(n, c, h, w)` activation.
#[derive(Debug, Clone, Copy)]
struct Dims {
    n: usize,
    c: usize,
    /// Pixels per image plane: `h·w`.
    plane: usize,
}

impl Dims {
    fn of(shape: &Shape) -> Result<Self> {
        let (n, c, h, w) = shape.dims4()?;
        if n * c * h * w == 0 {
            bail!("batch norm: empty input {shape:?}")
        }
        Ok(Self { n, c, plane: h * w })
    }

    /// Values per channel: `n·h·w`.
    fn per_channel(&self) -> usize {
        self.n * self.plane
    }

    /// Per channel, the sum of its planes' `per_plane` values (plane `p` is channel
    /// `p mod c`), added in plane order.
    fn channel_totals(&self, per_plane: Vec<f64>) -> Vec<f64> {
        let mut totals = vec![0.0; self.c];
        for (p, v) in per_plane.into_iter().enumerate() {
            totals[p % self.c] += v;
        }
        totals
    }
}

/// The statistics a normalisation uses, per channel.
#[derive(Debug, Clone)]
struct Stats {
    mean: Vec<f32>,
    /// `1 / √(σ² + ε)`.
    inv_std: Vec<f32>,
    /// Whether they are the batch's own (they then depend on `x`, which the backward
    /// pass accounts for).
    from_batch: bool,
}

impl Stats {
    fn new(mean: &[f64], var: &[f64], from_batch: bool) -> Self {
        Self {
            mean: mean.iter().map(|m| *m as f32).collect(),
            inv_std: var
                .iter()
                .map(|v| (1.0 / (v + EPS).sqrt()) as f32)
                .collect(),
            from_batch,
        }
    }

    fn batch(mean: &[f64], var: &[f64]) -> Self {
        Self::new(mean, var, true)
    }

    fn running(mean: &[f64], var: &[f64]) -> Self {
        Self::new(mean, var, false)
    }
}

/// The forward op `(x, affine) -> y`, `affine` being `(2, c)`: the scales, then the shifts.
struct Normalize {
    stats: Stats,
    act: Activation,
}

/// The forward op with a residual: `(x, affine, r) -> y`.
struct NormalizeResidual(Normalize);

impl Normalize {
    fn cpu_forward(
        &self,
        x: (&CpuStorage, &Layout),
        affine: (&CpuStorage, &Layout),
        residual: Option<(&CpuStorage, &Layout)>,
    ) -> Result<(CpuStorage, Shape)> {
        let dims = Dims::of(x.1.shape())?;
        let x_data = f32_data(x.0, x.1)?;
        let (scale, shift) = self.scale_shift(f32_data(affine.0, affine.1)?, dims)?;
        let residual = match residual {
            Some((r, layout)) => Some(f32_data(r, layout)?),
            None => None,
        };
        let mut y = vec![0.0f32; x_data.len()];
        let relu = self.act == Activation::Relu;
        y.par_chunks_mut(dims.plane)
            .zip(x_data.par_chunks(dims.plane))
            .enumerate()
            .for_each(|(p, (y_p, x_p))| {
                let ch = p % dims.c;
                let (a, b) = (scale[ch], shift[ch]);
                match residual {
                    Some(r) => {
                        let r_p = &r[p * dims.plane..(p + 1) * dims.plane];
                        for ((y, x), r) in y_p.iter_mut().zip(x_p).zip(r_p) {
                            let v = x * a + b + r;
                            *y = if relu { v.max(0.0) } else { v };
                        }
                    }
                    None => {
                        for (y, x) in y_p.iter_mut().zip(x_p) {
                            let v = x * a + b;
                            *y = if relu { v.max(0.0) } else { v };
                        }
                    }
                }
            });
        Ok((CpuStorage::F32(y), x.1.shape().clone()))
    }

    /// The per-channel `y = x·scale + shift` of the normalisation and the affine map.
    fn scale_shift(&self, affine: &[f32], dims: Dims) -> Result<(Vec<f32>, Vec<f32>)> {
        if affine.len() != 2 * dims.c || self.stats.mean.len() != dims.c {
            bail!(
                "batch norm: {} channels, but the parameters do not match",
                dims.c
            )
        }
        let (gamma, beta) = affine.split_at(dims.c);
        let scale: Vec<f32> = gamma
            .iter()
            .zip(&self.stats.inv_std)
            .map(|(g, s)| g * s)
            .collect();
        let shift = beta
            .iter()
            .zip(&self.stats.mean)
            .zip(&scale)
            .map(|((b, m), a)| b - m * a)
            .collect();
        Ok((scale, shift))
    }

    /// `(∂x, ∂affine, ∂r)` from the op's input `x`, output `y` and output gradient.
    fn backward(
        &self,
        x: &Tensor,
        affine: &Tensor,
        y: &Tensor,
        grad_y: &Tensor,
        want_residual: bool,
    ) -> Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        let dims = Dims::of(x.shape())?;
        let grad_y = grad_y.contiguous()?;
        let gamma = affine.get(0)?.to_vec1::<f32>()?;
        // g: the gradient before the activation (and of the residual).
        let mut g = match self.act {
            Activation::Identity => with_f32(&grad_y, |d| d.to_vec())?,
            Activation::Relu => with_f32(&grad_y, |d| {
                with_f32(y, |y| {
                    d.par_iter()
                        .zip(y.par_iter())
                        .map(|(d, y)| if *y > 0.0 { *d } else { 0.0 })
                        .collect::<Vec<f32>>()
                })
            })??,
        };
        let (sum_g, sum_g_xhat) = with_f32(x, |x| self.gradient_sums(x, &g, dims))?;
        let grad_affine = affine.track_op().then(|| {
            let mut v: Vec<f32> = sum_g_xhat.iter().map(|s| *s as f32).collect();
            v.extend(sum_g.iter().map(|s| *s as f32));
            Tensor::from_vec(v, (2, dims.c), &Device::Cpu)
        });
        let grad_residual = want_residual
            .then(|| Tensor::from_vec(g.clone(), x.shape(), &Device::Cpu))
            .transpose()?;
        let grad_x = if x.track_op() {
            let m = dims.per_channel() as f64;
            let coefficients: Vec<(f32, f32, f32)> = (0..dims.c)
                .map(|c| {
                    let k = gamma[c] * self.stats.inv_std[c];
                    if self.stats.from_batch {
                        (k, (sum_g[c] / m) as f32, (sum_g_xhat[c] / m) as f32)
                    } else {
                        (k, 0.0, 0.0)
                    }
                })
                .collect();
            with_f32(x, |x| {
                g.par_chunks_mut(dims.plane)
                    .zip(x.par_chunks(dims.plane))
                    .enumerate()
                    .for_each(|(p, (g_p, x_p))| {
                        let ch = p % dims.c;
                        let (k, a, b) = coefficients[ch];
                        let (mean, inv_std) = (self.stats.mean[ch], self.stats.inv_std[ch]);
                        for (g, x) in g_p.iter_mut().zip(x_p) {
                            let x_hat = (x - mean) * inv_std;
                            *g = k * (*g - a - x_hat * b);
                        }
                    })
            })?;
            Some(Tensor::from_vec(g, x.shape(), &Device::Cpu)?)
        } else {
            None
        };
        Ok((grad_x, grad_affine.transpose()?, grad_residual))
    }

    /// Per channel, `Σ g` and `Σ g·x̂`, summed per plane, then over the planes in order.
    fn gradient_sums(&self, x: &[f32], g: &[f32], dims: Dims) -> (Vec<f64>, Vec<f64>) {
        let per_plane: Vec<(f64, f64)> = g
            .par_chunks(dims.plane)
            .zip(x.par_chunks(dims.plane))
            .enumerate()
            .map(|(p, (g_p, x_p))| {
                let ch = p % dims.c;
                let (mean, inv_std) = (self.stats.mean[ch], self.stats.inv_std[ch]);
                let sum_g = lane_sum(g_p, g_p, |g, _| g);
                let sum_g_xhat = lane_sum(g_p, x_p, |g, x| g * (x - mean));
                (sum_g, sum_g_xhat * f64::from(inv_std))
            })
            .collect();
        let (sum_g, sum_g_xhat): (Vec<f64>, Vec<f64>) = per_plane.into_iter().unzip();
        (dims.channel_totals(sum_g), dims.channel_totals(sum_g_xhat))
    }
}

impl CustomOp2 for Normalize {
    fn name(&self) -> &'static str {
        "batch-norm-act"
    }

    fn cpu_fwd(
        &self,
        x: &CpuStorage,
        x_layout: &Layout,
        affine: &CpuStorage,
        affine_layout: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        self.cpu_forward((x, x_layout), (affine, affine_layout), None)
    }

    fn bwd(
        &self,
        x: &Tensor,
        affine: &Tensor,
        y: &Tensor,
        grad_y: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>)> {
        let (grad_x, grad_affine, _) = self.backward(x, affine, y, grad_y, false)?;
        Ok((grad_x, grad_affine))
    }
}

impl CustomOp3 for NormalizeResidual {
    fn name(&self) -> &'static str {
        "batch-norm-residual-act"
    }

    fn cpu_fwd(
        &self,
        x: &CpuStorage,
        x_layout: &Layout,
        affine: &CpuStorage,
        affine_layout: &Layout,
        r: &CpuStorage,
        r_layout: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        self.0
            .cpu_forward((x, x_layout), (affine, affine_layout), Some((r, r_layout)))
    }

    fn bwd(
        &self,
        x: &Tensor,
        affine: &Tensor,
        r: &Tensor,
        y: &Tensor,
        grad_y: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        self.0.backward(x, affine, y, grad_y, r.track_op())
    }
}

/// Per channel, the mean and the biased variance of `x` `(n, c, h, w)`: two passes
/// (the mean, then the squared deviations from it), each summed per plane and then over
/// the planes in order.
fn channel_moments(x: &[f32], dims: Dims) -> (Vec<f64>, Vec<f64>) {
    let count = dims.per_channel() as f64;
    let per_channel = |sums: Vec<f64>| -> Vec<f64> {
        let totals = dims.channel_totals(sums);
        totals.into_iter().map(|s| s / count).collect()
    };
    let sums = x
        .par_chunks(dims.plane)
        .map(|p| lane_sum(p, p, |x, _| x))
        .collect();
    let mean = per_channel(sums);
    let squares = x
        .par_chunks(dims.plane)
        .enumerate()
        .map(|(p, x_p)| {
            let m = mean[p % dims.c] as f32;
            lane_sum(x_p, x_p, |x, _| (x - m) * (x - m))
        })
        .collect();
    let var = per_channel(squares);
    (mean, var)
}

/// `Σ f(a_i, b_i)` in eight interleaved f32 lanes (which the compiler vectorises), the
/// lanes and the tail added up in f64: the same order every time.
fn lane_sum(a: &[f32], b: &[f32], f: impl Fn(f32, f32) -> f32) -> f64 {
    debug_assert_eq!(a.len(), b.len());
    let mut lanes = [0.0f32; 8];
    let (a_chunks, b_chunks) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: f64 = a_chunks
        .remainder()
        .iter()
        .zip(b_chunks.remainder())
        .map(|(a, b)| f64::from(f(*a, *b)))
        .sum();
    for (a, b) in a_chunks.zip(b_chunks) {
        for i in 0..8 {
            lanes[i] += f(a[i], b[i]);
        }
    }
    lanes.iter().map(|l| f64::from(*l)).sum::<f64>() + tail
}

/// Runs `f` on the f32 elements of a contiguous CPU tensor.
fn with_f32<R>(t: &Tensor, f: impl FnOnce(&[f32]) -> R) -> Result<R> {
    let (storage, layout) = t.storage_and_layout();
    let Storage::Cpu(cpu) = &*storage else {
        bail!("batch norm: expected a CPU tensor")
    };
    Ok(f(f32_data(cpu, layout)?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernels::conv::tests::assert_close;
    use candle_core::DType;
    use candle_nn::VarMap;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    /// Uniform entries in `[offset - 1, offset + 1)`.
    fn random(shape: &[usize], offset: f32, rng: &mut ChaCha8Rng) -> Tensor {
        (crate::kernels::conv::tests::random(shape, rng) + f64::from(offset)).unwrap()
    }

    /// A layer with scales, shifts and running statistics drawn from `seed`, and its
    /// variables.
    fn layer(channels: usize, seed: u64) -> (BatchNorm2d, VarMap) {
        let varmap = VarMap::new();
        let vb = VarBuilder::from_varmap(&varmap, DType::F32, &Device::Cpu);
        let bn = BatchNorm2d::new(channels, vb).unwrap();
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let data = varmap.data().lock().unwrap();
        let mut names: Vec<&String> = data.keys().collect();
        names.sort();
        for name in names {
            let var = &data[name];
            let offset = if name == "weight" { 1.0 } else { 0.0 };
            let fresh = random(&[channels], offset, &mut rng);
            let fresh = if name == "running_var" {
                fresh.abs().unwrap()
            } else {
                fresh
            };
            var.set(&fresh).unwrap();
        }
        drop(data);
        (bn, varmap)
    }

    /// Checks the fused op against candle-nn's batch norm and candle's ops, forward,
    /// backward and the running statistics, in training and evaluation.
    fn check(shape: [usize; 4], residual: bool, act: Activation, train: bool) {
        let c = shape[1];
        let (fused, fused_vars) = layer(c, 3);
        let (reference, reference_vars) = layer(c, 3);
        let mut rng = ChaCha8Rng::seed_from_u64(shape.iter().sum::<usize>() as u64);
        // A large offset checks the variance for cancellation.
        let x = Var::from_tensor(&random(&shape, 3.0, &mut rng)).unwrap();
        let r = Var::from_tensor(&random(&shape, 0.0, &mut rng)).unwrap();
        let r = residual.then_some(r.as_tensor());
        let actual = fused.forward(&x, train, r, act).unwrap();
        let expected = reference.forward_candle(&x, train, r, act).unwrap();
        assert_close("y", &actual, &expected);

        let probe = random(&shape, 0.0, &mut rng);
        let loss = |y: &Tensor| y.mul(&probe).unwrap().sum_all().unwrap();
        let actual_grads = loss(&actual).backward().unwrap();
        let expected_grads = loss(&expected).backward().unwrap();
        let mut wanted = vec![
            ("x", x.as_tensor().clone(), x.as_tensor().clone()),
            ("weight", fused.weight.clone(), reference.weight.clone()),
            ("bias", fused.bias.clone(), reference.bias.clone()),
        ];
        if let Some(r) = r {
            wanted.push(("residual", r.clone(), r.clone()));
        }
        for (name, a, e) in wanted {
            let a = actual_grads.get(&a).unwrap();
            let e = expected_grads.get(&e).unwrap();
            assert_close(name, a, e);
        }
        for name in ["running_mean", "running_var"] {
            let a = fused_vars.data().lock().unwrap()[name].as_tensor().clone();
            let e = reference_vars.data().lock().unwrap()[name]
                .as_tensor()
                .clone();
            assert_close(name, &a, &e);
        }
    }

    #[test]
    fn training_matches_candle_nn() {
        check([4, 3, 5, 5], false, Activation::Relu, true);
        check([2, 6, 7, 3], false, Activation::Identity, true);
        check([3, 4, 6, 6], true, Activation::Relu, true);
        check([1, 2, 33, 1], true, Activation::Identity, true);
    }

    #[test]
    fn evaluation_matches_candle_nn() {
        check([4, 3, 5, 5], false, Activation::Relu, false);
        check([3, 4, 6, 6], true, Activation::Relu, false);
        check([2, 5, 4, 4], false, Activation::Identity, false);
    }

    #[test]
    fn known_values() {
        // One channel, values 1..4: mean 2.5, biased variance 1.25.
        let (bn, vars) = layer(1, 0);
        for (name, v) in [("weight", 2.0f32), ("bias", 0.5), ("running_mean", 0.0)] {
            let t = Tensor::new(&[v], &Device::Cpu).unwrap();
            vars.data().lock().unwrap()[name].set(&t).unwrap();
        }
        let one = Tensor::new(&[1.0f32], &Device::Cpu).unwrap();
        vars.data().lock().unwrap()["running_var"]
            .set(&one)
            .unwrap();
        let x = Tensor::new(&[1.0f32, 2.0, 3.0, 4.0], &Device::Cpu)
            .unwrap()
            .reshape((1, 1, 2, 2))
            .unwrap();
        let y = bn.forward(&x, true, None, Activation::Relu).unwrap();
        let y: Vec<f32> = y.flatten_all().unwrap().to_vec1().unwrap();
        let s = (1.25f32 + 1e-5).sqrt();
        let expect = [-1.5, -0.5, 0.5, 1.5].map(|d: f32| (2.0 * d / s + 0.5).max(0.0));
        for (a, e) in y.iter().zip(expect) {
            assert!((a - e).abs() < 1e-5, "{y:?} vs {expect:?}");
        }
        // Running statistics: 0.9·0 + 0.1·2.5, and 0.9·1 + 0.1·(1.25·4/3).
        let mean = bn.running_mean.as_tensor().to_vec1::<f32>().unwrap()[0];
        let var = bn.running_var.as_tensor().to_vec1::<f32>().unwrap()[0];
        assert!((mean - 0.25).abs() < 1e-6);
        assert!((var - (0.9 + 0.1 * 1.25 * 4.0 / 3.0)).abs() < 1e-6);
    }

    #[test]
    fn rejects_a_mismatched_residual() {
        let (bn, _) = layer(2, 0);
        let x = Tensor::zeros((1, 2, 3, 3), DType::F32, &Device::Cpu).unwrap();
        let r = Tensor::zeros((1, 2, 3, 2), DType::F32, &Device::Cpu).unwrap();
        assert!(bn.forward(&x, true, Some(&r), Activation::Relu).is_err());
    }
}
