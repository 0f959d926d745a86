//! A fast CPU `conv2d` for candle, built on im2col / col2im and the `gemm` crate.
//!
//! candle's own conv2d backward pass computes the input gradient with a naive
//! `conv_transpose2d` and the weight gradient with a dilated conv2d, both slow on CPU.
//! [`conv2d`] computes the same function as `Tensor::conv2d` (f32, groups = 1,
//! dilation = 1, square kernel) as a custom op whose gradients are two further custom
//! ops. All three lower each image to its column matrix (im2col), so that the
//! convolution becomes one matrix product per image:
//!
//! * forward: `y_i = W · cols(x_i)`
//! * input gradient: `grad_x_i = col2im(Wᵀ · grad_y_i)`
//! * weight gradient: `grad_W = Σ_i grad_y_i · cols(x_i)ᵀ`
//!
//! where `W` is the weight seen as a `(c_out, c_in·k·k)` matrix and `cols(x_i)` is
//! `(c_in·k·k, h_out·w_out)`. Images are spread over rayon's thread pool; when the batch
//! is smaller than the pool, the images run one after the other and each product is
//! parallelised instead. 3x3 convolutions with stride 1 and padding 1 skip the column
//! matrix: [`super::conv3x3`] computes them as nine shifted products over the padded
//! image. Only the CPU backend is implemented: on other devices the ops return candle's
//! "no implementation" error.

use candle_core::{bail, CpuStorage, CustomOp2, Layout, Result, Shape, Tensor};
use gemm::Parallelism;
use rayon::prelude::*;

use super::conv3x3::Shifted;
use super::gemm::{matmul, Matrix};
use super::geometry::{Geometry, Plan};

/// conv2d of `x` `(n, c_in, h, w)` with weight `w` `(c_out, c_in, k, k)`: the same result
/// as `x.conv2d(w, padding, stride, 1, 1)`, differentiable in both `x` and `w`.
///
/// Both tensors must be f32 and on the CPU; non-contiguous inputs are copied first.
/// The gradients are computed by custom ops of their own, which are not differentiable
/// (no second derivatives).
pub fn conv2d(x: &Tensor, w: &Tensor, stride: usize, padding: usize) -> Result<Tensor> {
    x.contiguous()?
        .apply_op2(&w.contiguous()?, Conv2d { stride, padding })
}

/// The forward op: `(x, w) -> y`.
struct Conv2d {
    stride: usize,
    padding: usize,
}

impl CustomOp2 for Conv2d {
    fn name(&self) -> &'static str {
        "fastconv-conv2d"
    }

    fn cpu_fwd(
        &self,
        x: &CpuStorage,
        x_layout: &Layout,
        w: &CpuStorage,
        w_layout: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let geometry = Geometry::new(
            x_layout.shape(),
            w_layout.shape(),
            self.stride,
            self.padding,
        )?;
        let y = forward(&geometry, f32_data(x, x_layout)?, f32_data(w, w_layout)?);
        Ok((CpuStorage::F32(y), geometry.y_shape()))
    }

    fn bwd(
        &self,
        x: &Tensor,
        w: &Tensor,
        _y: &Tensor,
        grad_y: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>)> {
        let geometry = Geometry::new(x.shape(), w.shape(), self.stride, self.padding)?;
        let grad_y = grad_y.contiguous()?;
        // An argument outside the graph (such as the input images) gets no gradient.
        let grad_x = x
            .track_op()
            .then(|| grad_y.apply_op2_no_bwd(w, &InputGrad(geometry)))
            .transpose()?;
        let grad_w = w
            .track_op()
            .then(|| x.apply_op2_no_bwd(&grad_y, &WeightGrad(geometry)))
            .transpose()?;
        Ok((grad_x, grad_w))
    }
}

/// The input-gradient op: `(grad_y, w) -> grad_x`. It carries the geometry because the
/// input size cannot be recovered from `grad_y` when the stride is above one.
pub(crate) struct InputGrad(pub(crate) Geometry);

impl CustomOp2 for InputGrad {
    fn name(&self) -> &'static str {
        "fastconv-conv2d-input-grad"
    }

    fn cpu_fwd(
        &self,
        grad_y: &CpuStorage,
        grad_y_layout: &Layout,
        w: &CpuStorage,
        w_layout: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let geometry = &self.0;
        expect_shape("grad_y", grad_y_layout, &geometry.y_shape())?;
        expect_shape("w", w_layout, &geometry.w_shape())?;
        let grad_y = f32_data(grad_y, grad_y_layout)?;
        let grad_x = input_grad(geometry, grad_y, f32_data(w, w_layout)?);
        Ok((CpuStorage::F32(grad_x), geometry.x_shape()))
    }
}

/// The weight-gradient op: `(x, grad_y) -> grad_w`. It carries the geometry because the
/// kernel size cannot be recovered from `x` and `grad_y` when the stride is above one.
pub(crate) struct WeightGrad(pub(crate) Geometry);

impl CustomOp2 for WeightGrad {
    fn name(&self) -> &'static str {
        "fastconv-conv2d-weight-grad"
    }

    fn cpu_fwd(
        &self,
        x: &CpuStorage,
        x_layout: &Layout,
        grad_y: &CpuStorage,
        grad_y_layout: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let geometry = &self.0;
        expect_shape("x", x_layout, &geometry.x_shape())?;
        expect_shape("grad_y", grad_y_layout, &geometry.y_shape())?;
        let grad_y = f32_data(grad_y, grad_y_layout)?;
        let grad_w = weight_grad(geometry, f32_data(x, x_layout)?, grad_y);
        Ok((CpuStorage::F32(grad_w), geometry.w_shape()))
    }
}

/// The f32 elements of a contiguous tensor, starting at its layout's offset.
pub(crate) fn f32_data<'a>(storage: &'a CpuStorage, layout: &Layout) -> Result<&'a [f32]> {
    let CpuStorage::F32(data) = storage else {
        bail!("fastconv: only f32 tensors are supported")
    };
    let Some((start, end)) = layout.contiguous_offsets() else {
        bail!("fastconv: expected a contiguous tensor")
    };
    Ok(&data[start..end])
}

/// Fails unless `layout` has the shape `expected`.
fn expect_shape(name: &str, layout: &Layout, expected: &Shape) -> Result<()> {
    if layout.shape() != expected {
        bail!(
            "fastconv: {name} has shape {:?}, expected {expected:?}",
            layout.shape()
        )
    }
    Ok(())
}

/// `y = conv2d(x, w)` for the whole batch.
pub(crate) fn forward(g: &Geometry, x: &[f32], w: &[f32]) -> Vec<f32> {
    let mut y = vec![0.0; g.batch * g.out_image_len()];
    let plan = Plan::new(g.batch);
    let images = (&mut y[..], g.out_image_len(), x, g.image_len());
    if let Some(shifted) = Shifted::of(g) {
        plan.per_image(
            images,
            || shifted.scratch(),
            |scratch, y_i, x_i| shifted.forward(x_i, w, y_i, scratch, plan.gemm),
        );
    } else {
        let weights = Matrix::new(w, g.c_out, g.patch_len());
        plan.per_image(
            images,
            || g.column_buffer(),
            |buffer, y_i, x_i| {
                let cols = g.columns(x_i, buffer);
                matmul(y_i, weights, cols, false, plan.gemm);
            },
        );
    }
    y
}

/// `grad_x` for the whole batch: `col2im(Wᵀ · grad_y_i)` per image.
fn input_grad(g: &Geometry, grad_y: &[f32], w: &[f32]) -> Vec<f32> {
    let mut grad_x = vec![0.0; g.batch * g.image_len()];
    let plan = Plan::new(g.batch);
    let images = (&mut grad_x[..], g.image_len(), grad_y, g.out_image_len());
    if let Some(shifted) = Shifted::of(g) {
        plan.per_image(
            images,
            || shifted.scratch(),
            |scratch, grad_x_i, grad_y_i| {
                shifted.input_grad(grad_y_i, w, grad_x_i, scratch, plan.gemm)
            },
        );
    } else {
        let weights_t = Matrix::new(w, g.c_out, g.patch_len()).t();
        let columns = g.patch_len() * g.out_pixels();
        plan.per_image(
            images,
            || vec![0.0f32; if g.is_pointwise() { 0 } else { columns }],
            |buffer, grad_x_i, grad_y_i| {
                let grad_y_i = Matrix::new(grad_y_i, g.c_out, g.out_pixels());
                if g.is_pointwise() {
                    matmul(grad_x_i, weights_t, grad_y_i, false, plan.gemm);
                } else {
                    matmul(buffer, weights_t, grad_y_i, false, plan.gemm);
                    g.col2im_add(buffer, grad_x_i);
                }
            },
        );
    }
    grad_x
}

/// Images per partial sum of the weight gradient. Fixed, not derived from the thread
/// count, so that the summation order (and so every bit of the result) does not depend on
/// how rayon schedules the work.
const WEIGHT_GRAD_GROUP: usize = 8;

/// `grad_w = Σ_i grad_y_i · cols(x_i)ᵀ`: groups of [`WEIGHT_GRAD_GROUP`] images are summed
/// in parallel, then the group sums are added in order.
fn weight_grad(g: &Geometry, x: &[f32], grad_y: &[f32]) -> Vec<f32> {
    if let Some(shifted) = Shifted::of(g) {
        let taps = grouped_sum(g, (x, grad_y), shifted.taps_len(), || shifted.scratch(), {
            |scratch, taps, x_i, grad_y_i, gemm| {
                shifted.add_weight_grad(x_i, grad_y_i, taps, scratch, gemm)
            }
        });
        return shifted.weight_layout(&taps);
    }
    let len = g.c_out * g.patch_len();
    grouped_sum(g, (x, grad_y), len, || g.column_buffer(), {
        |buffer: &mut Vec<f32>, grad_w, x_i, grad_y_i, gemm| {
            let cols = g.columns(x_i, buffer);
            let grad_y_i = Matrix::new(grad_y_i, g.c_out, g.out_pixels());
            matmul(grad_w, grad_y_i, cols.t(), true, gemm);
        }
    })
}

/// `Σ_i` of what `add(scratch, sum, x_i, grad_y_i, gemm)` adds to a `len`-element sum for
/// each image: groups of [`WEIGHT_GRAD_GROUP`] images in parallel (one `init()` scratch
/// a task), then the group sums in order.
fn grouped_sum<S>(
    g: &Geometry,
    (x, grad_y): (&[f32], &[f32]),
    len: usize,
    init: impl Fn() -> S + Send + Sync,
    add: impl Fn(&mut S, &mut [f32], &[f32], &[f32], Parallelism) + Send + Sync,
) -> Vec<f32> {
    let plan = Plan::new(g.batch.div_ceil(WEIGHT_GRAD_GROUP));
    let partials: Vec<Vec<f32>> = x
        .par_chunks(g.image_len() * WEIGHT_GRAD_GROUP)
        .zip(grad_y.par_chunks(g.out_image_len() * WEIGHT_GRAD_GROUP))
        .with_min_len(plan.min_images_per_task)
        .map_init(init, |scratch, (xs, grad_ys)| {
            let mut sum = vec![0.0; len];
            for (x_i, grad_y_i) in xs
                .chunks(g.image_len())
                .zip(grad_ys.chunks(g.out_image_len()))
            {
                add(scratch, &mut sum, x_i, grad_y_i, plan.gemm);
            }
            sum
        })
        .collect();
    sum_in_order(partials, len)
}

/// The element-wise sum of `len`-element `parts`, added in their order.
fn sum_in_order(parts: Vec<Vec<f32>>, len: usize) -> Vec<f32> {
    let mut sum = vec![0.0; len];
    for part in parts {
        sum.iter_mut().zip(&part).for_each(|(s, p)| *s += p);
    }
    sum
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use candle_core::{DType, Device, Var};
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    /// A tensor of the given shape with uniform entries in [-1, 1).
    pub(crate) fn random(shape: &[usize], rng: &mut ChaCha8Rng) -> Tensor {
        let len = shape.iter().product();
        let data: Vec<f32> = (0..len).map(|_| rng.random_range(-1.0..1.0)).collect();
        Tensor::from_vec(data, shape, &Device::Cpu).unwrap()
    }

    /// Asserts that `actual` equals `expected` within 1e-4 of the largest expected entry.
    pub(crate) fn assert_close(what: &str, actual: &Tensor, expected: &Tensor) {
        assert_eq!(actual.dims(), expected.dims(), "{what}: shapes differ");
        let actual = actual.flatten_all().unwrap().to_vec1::<f32>().unwrap();
        let expected = expected.flatten_all().unwrap().to_vec1::<f32>().unwrap();
        let scale = expected.iter().fold(1e-3_f32, |m, v| m.max(v.abs()));
        let worst = actual
            .iter()
            .zip(&expected)
            .map(|(a, e)| (a - e).abs())
            .fold(0.0_f32, f32::max);
        assert!(
            worst <= 1e-4 * scale,
            "{what}: max error {worst} vs scale {scale}"
        );
    }

    /// Checks the forward pass and both gradients against candle's conv2d, on the input
    /// `make_x(x_leaf)` built from a random leaf of shape `leaf_shape`.
    fn check_with(
        leaf_shape: &[usize],
        make_x: impl Fn(&Tensor) -> Tensor,
        (c_out, k): (usize, usize),
        stride: usize,
        padding: usize,
    ) {
        let mut rng =
            ChaCha8Rng::seed_from_u64(leaf_shape.iter().sum::<usize>() as u64 + 31 * k as u64);
        let leaf = Var::from_tensor(&random(leaf_shape, &mut rng)).unwrap();
        let x = make_x(leaf.as_tensor());
        let c_in = x.dim(1).unwrap();
        let w = Var::from_tensor(&random(&[c_out, c_in, k, k], &mut rng)).unwrap();

        let expected = x.conv2d(&w, padding, stride, 1, 1).unwrap();
        let actual = conv2d(&x, &w, stride, padding).unwrap();
        assert_close("y", &actual, &expected);

        let probe = random(expected.dims(), &mut rng);
        let loss = |y: &Tensor| y.mul(&probe).unwrap().sum_all().unwrap();
        let expected_grads = loss(&expected).backward().unwrap();
        let actual_grads = loss(&actual).backward().unwrap();
        for (name, var) in [("grad_x", &leaf), ("grad_w", &w)] {
            let actual = actual_grads.get(var.as_tensor()).unwrap();
            let expected = expected_grads.get(var.as_tensor()).unwrap();
            assert_close(name, actual, expected);
        }
    }

    /// `check_with` on a contiguous input `(n, c_in, h, w)`.
    fn check(x_shape: [usize; 4], c_out: usize, k: usize, stride: usize, padding: usize) {
        check_with(&x_shape, Tensor::clone, (c_out, k), stride, padding);
    }

    #[test]
    fn matches_candle_3x3_stride_1() {
        check([2, 3, 7, 7], 5, 3, 1, 1);
        check([2, 5, 8, 6], 3, 3, 1, 0);
        check([2, 3, 5, 5], 4, 3, 1, 2);
    }

    #[test]
    fn matches_candle_3x3_shifted_products() {
        // 3x3, stride 1, padding 1, at least 8 channels each side: conv3x3's path.
        check([2, 8, 7, 7], 8, 3, 1, 1);
        check([3, 16, 6, 5], 9, 3, 1, 1);
        check([2, 9, 1, 4], 12, 3, 1, 1);
        check([9, 8, 4, 4], 8, 3, 1, 1);
    }

    #[test]
    fn matches_candle_with_padded_column_rows() {
        // 512 output pixels: the column matrix's rows are padded (`column_stride`).
        check([2, 3, 32, 16], 4, 3, 1, 1);
        check([2, 2, 34, 18], 3, 3, 1, 0);
    }

    #[test]
    fn matches_candle_3x3_stride_2() {
        check([3, 4, 9, 9], 6, 3, 2, 1);
        // Not [2, 5, 8, 7]: candle's own conv2d backward takes the output padding of both
        // axes from the height, so it cannot serve as the reference there.
        check([2, 5, 9, 7], 3, 3, 2, 0);
        check([5, 16, 15, 15], 32, 3, 2, 1);
    }

    #[test]
    fn matches_candle_1x1() {
        check([2, 4, 7, 7], 8, 1, 1, 0);
        check([3, 6, 9, 9], 4, 1, 2, 0);
        check([2, 3, 5, 4], 2, 1, 1, 1);
    }

    #[test]
    fn matches_candle_5x5() {
        check([2, 3, 11, 11], 4, 5, 2, 2);
    }

    #[test]
    fn matches_candle_batch_smaller_than_pool() {
        check([1, 3, 6, 6], 4, 3, 1, 1);
        check([1, 8, 5, 6], 8, 3, 1, 1);
        check([1, 8, 9, 9], 4, 1, 1, 0);
    }

    #[test]
    fn matches_candle_non_contiguous_input() {
        let transposed = |t: &Tensor| t.transpose(1, 2).unwrap();
        check_with(&[2, 7, 3, 7], transposed, (5, 3), 2, 1);
        let offset = |t: &Tensor| t.narrow(0, 1, 2).unwrap();
        check_with(&[3, 3, 7, 7], offset, (5, 3), 1, 1);
    }

    #[test]
    fn skips_the_gradient_of_a_constant_input() {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let x = random(&[2, 3, 6, 6], &mut rng);
        let w = Var::from_tensor(&random(&[4, 3, 3, 3], &mut rng)).unwrap();
        let grads = conv2d(&x, &w, 1, 1).unwrap().backward().unwrap();
        let expected = x.conv2d(&w, 1, 1, 1, 1).unwrap().backward().unwrap();
        assert!(grads.get(&x).is_none());
        let grad_w = grads.get(w.as_tensor()).unwrap();
        assert_close("grad_w", grad_w, expected.get(w.as_tensor()).unwrap());
    }

    #[test]
    fn tap_square_sums_are_the_column_matrix_row_sums() {
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        for (x, k, stride, padding) in [
            ([1, 3, 7, 6], 3, 1, 1),
            ([1, 2, 9, 9], 3, 2, 1),
            ([1, 4, 5, 5], 1, 1, 0),
            ([1, 2, 11, 8], 5, 2, 2),
            ([1, 2, 16, 32], 3, 1, 1),
        ] {
            let w: Shape = (2, x[1], k, k).into();
            let g = Geometry::new(&Shape::from(&x[..]), &w, stride, padding).unwrap();
            let image = random(&x, &mut rng).flatten_all().unwrap();
            let image = image.to_vec1::<f32>().unwrap();
            let mut buffer = g.column_buffer();
            let cols = g.columns(&image, &mut buffer);
            let expected: Vec<f64> = (0..cols.rows)
                .map(|r| {
                    let row = &cols.data[r * cols.row_stride..][..cols.cols];
                    row.iter().map(|v| f64::from(v * v)).sum()
                })
                .collect();
            let actual = g.tap_square_sums(&image);
            assert_eq!(actual.len(), expected.len());
            for (a, e) in actual.iter().zip(&expected) {
                assert!(
                    (a - e).abs() <= 1e-5 * e.max(1.0),
                    "{x:?} k {k}: {a} vs {e}"
                );
            }
        }
    }

    #[test]
    fn rejects_bad_inputs() {
        let x = Tensor::zeros((1, 3, 5, 5), DType::F32, &Device::Cpu).unwrap();
        let w = Tensor::zeros((4, 3, 3, 3), DType::F32, &Device::Cpu).unwrap();
        assert!(conv2d(
            &x.to_dtype(DType::F64).unwrap(),
            &w.to_dtype(DType::F64).unwrap(),
            1,
            1
        )
        .is_err());
        assert!(conv2d(&x, &w.narrow(1, 0, 2).unwrap(), 1, 1).is_err());
        assert!(conv2d(&x, &w, 0, 1).is_err());
        assert!(conv2d(&x.narrow(2, 0, 2).unwrap(), &w, 1, 0).is_err());
    }
}
