//! 3x3 convolutions with stride 1 and padding 1 (all but two of ResNet20's, and
//! `cnn_small`'s) as nine shifted matrix products over the zero-padded image, without
//! the im2col matrix.
//!
//! Pad image `x` `(c, h, w)` with a zero border to `P` `(c, h + 2, w + 2)` (plus two
//! trailing zeros), and compute the output on the padded width: column `j = oy (w + 2) + ox`
//! of `Y'` `(c_out, h (w + 2))`. Kernel tap `(ki, kj)` reads the input at `P` offset
//! `ki (w + 2) + kj + j` for every `j`, so it is a matrix product with a *view* of `P`
//! (rows `c`, stride `(h + 2)(w + 2)`, columns contiguous):
//!
//! * forward: `Y' = Σ_t W_t · P[shift_t ..]`, `W_t = W[:, :, ki, kj]`;
//! * input gradient: the same with `Wᵀ` over the padded `∂y`, tap `t` reading shift `8 - t`;
//! * weight gradient: `∂W_t = Σ_i ∂y'_i · P_i[shift_t ..]ᵀ`, `∂y'` widened with zeros.
//!
//! Columns `ox ≥ w` of `Y'` read across a row's end; they are dropped when `Y'` is
//! narrowed to `(c_out, h, w)`, and zero in `∂y'`. The only copies are the padded image
//! (1.3x the image) and the narrowing, where im2col writes nine copies; the matrix
//! products pack their blocks of `P` in cache themselves.

use gemm::Parallelism;

use super::gemm::{matmul, Matrix};
use super::geometry::Geometry;

/// The sizes of a convolution the shifted products apply to.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Shifted {
    c_in: usize,
    c_out: usize,
    h: usize,
    w: usize,
}

/// One thread's buffers: the padded image (its border stays zero: only the interior is
/// ever written) and the wide result.
pub(crate) struct Scratch {
    padded: Vec<f32>,
    wide: Vec<f32>,
}

/// The fewest channels on either side for which the shifted products beat im2col (a
/// product's inner dimension is one side's channels).
const MIN_CHANNELS: usize = 8;

impl Shifted {
    /// The shifted form of a convolution, if it is 3x3 with stride 1 and padding 1 and
    /// has at least [`MIN_CHANNELS`] channels in and out.
    pub(crate) fn of(g: &Geometry) -> Option<Self> {
        let (c_in, h, w) = g.input_dims();
        let fits = g.kernel() == 3
            && g.stride == 1
            && g.padding() == 1
            && c_in.min(g.c_out) >= MIN_CHANNELS;
        fits.then_some(Self {
            c_in,
            c_out: g.c_out,
            h,
            w,
        })
    }

    fn padded_width(&self) -> usize {
        self.w + 2
    }

    fn padded_plane(&self) -> usize {
        (self.h + 2) * self.padded_width()
    }

    /// Columns of a wide result: `h (w + 2)`.
    fn wide_len(&self) -> usize {
        self.h * self.padded_width()
    }

    /// The offset of tap `t = 3 ki + kj` in a padded plane.
    fn shift(&self, t: usize) -> usize {
        (t / 3) * self.padded_width() + t % 3
    }

    /// Zeroed buffers for either side's images.
    pub(crate) fn scratch(&self) -> Scratch {
        let channels = self.c_in.max(self.c_out);
        Scratch {
            padded: vec![0.0; channels * self.padded_plane() + 2],
            wide: vec![0.0; channels * self.wide_len()],
        }
    }

    /// Writes `image` `(channels, h, w)` into the interior of `padded`.
    fn pad(&self, image: &[f32], padded: &mut [f32]) {
        let (w, pw) = (self.w, self.padded_width());
        for (plane, src) in padded
            .chunks_exact_mut(self.padded_plane())
            .zip(image.chunks_exact(self.h * w))
        {
            for (dst, row) in plane[pw + 1..].chunks_mut(pw).zip(src.chunks_exact(w)) {
                dst[..w].copy_from_slice(row);
            }
        }
    }

    /// Drops the padded-width columns of `wide`: `(channels, h (w + 2))` to
    /// `(channels, h, w)`.
    fn narrow(&self, wide: &[f32], out: &mut [f32]) {
        let w = self.w;
        for (dst, src) in out
            .chunks_exact_mut(w)
            .zip(wide.chunks_exact(self.padded_width()))
        {
            dst.copy_from_slice(&src[..w]);
        }
    }

    /// `(channels, h, w)` to `(channels, h (w + 2))` with zero padded-width columns.
    fn widen(&self, image: &[f32], wide: &mut [f32]) {
        let w = self.w;
        for (dst, src) in wide
            .chunks_exact_mut(self.padded_width())
            .zip(image.chunks_exact(w))
        {
            dst[..w].copy_from_slice(src);
            dst[w..].fill(0.0);
        }
    }

    /// `y_i = conv(x_i, weight)` for one image.
    pub(crate) fn forward(
        &self,
        x_i: &[f32],
        weight: &[f32],
        y_i: &mut [f32],
        scratch: &mut Scratch,
        parallelism: Parallelism,
    ) {
        let taps = self.c_in * 9;
        let w_t = |t: usize| Matrix::with_strides(&weight[t..], self.c_out, self.c_in, taps, 9);
        self.products(x_i, y_i, (w_t, |t| self.shift(t)), scratch, parallelism);
    }

    /// `∂x_i` of one image from its `∂y_i`.
    pub(crate) fn input_grad(
        &self,
        grad_y_i: &[f32],
        weight: &[f32],
        grad_x_i: &mut [f32],
        scratch: &mut Scratch,
        parallelism: Parallelism,
    ) {
        let taps = self.c_in * 9;
        let w_t = |t: usize| Matrix::with_strides(&weight[t..], self.c_in, self.c_out, 9, taps);
        let shift = |t: usize| self.shift(8 - t);
        self.products(grad_y_i, grad_x_i, (w_t, shift), scratch, parallelism);
    }

    /// `out = narrow(Σ_t A_t · P[shift_t ..])` over the nine taps, `P` the padded `image`
    /// and `A_t` `(out channels, image channels)`.
    fn products<'w>(
        &self,
        image: &[f32],
        out: &mut [f32],
        (tap_matrix, tap_shift): (impl Fn(usize) -> Matrix<'w>, impl Fn(usize) -> usize),
        scratch: &mut Scratch,
        parallelism: Parallelism,
    ) {
        self.pad(image, &mut scratch.padded);
        let n = self.wide_len();
        let wide = &mut scratch.wide[..out.len() / self.w * self.padded_width()];
        for t in 0..9 {
            let a = tap_matrix(t);
            let source = Matrix::strided(
                &scratch.padded[tap_shift(t)..],
                image.len() / (self.h * self.w),
                n,
                self.padded_plane(),
            );
            matmul(wide, a, source, t > 0, parallelism);
        }
        self.narrow(wide, out);
    }

    /// Elements of a tap-major weight gradient `(9, c_out, c_in)`.
    pub(crate) fn taps_len(&self) -> usize {
        9 * self.c_out * self.c_in
    }

    /// Adds one image's weight gradient to `taps`, tap-major `(9, c_out, c_in)`.
    pub(crate) fn add_weight_grad(
        &self,
        x_i: &[f32],
        grad_y_i: &[f32],
        taps: &mut [f32],
        scratch: &mut Scratch,
        parallelism: Parallelism,
    ) {
        self.pad(x_i, &mut scratch.padded);
        let n = self.wide_len();
        let wide = &mut scratch.wide[..self.c_out * n];
        self.widen(grad_y_i, wide);
        let grad = Matrix::new(wide, self.c_out, n);
        let len = self.c_out * self.c_in;
        for (t, tap) in taps.chunks_exact_mut(len).enumerate() {
            let x_t = Matrix::strided(
                &scratch.padded[self.shift(t)..],
                self.c_in,
                n,
                self.padded_plane(),
            );
            matmul(tap, grad, x_t.t(), true, parallelism);
        }
    }

    /// A tap-major weight gradient `(9, c_out, c_in)` in the weight's layout
    /// `(c_out, c_in, 3, 3)`.
    pub(crate) fn weight_layout(&self, taps: &[f32]) -> Vec<f32> {
        let len = self.c_out * self.c_in;
        let mut weight = vec![0.0; taps.len()];
        for (t, tap) in taps.chunks_exact(len).enumerate() {
            for (oc, v) in tap.iter().enumerate() {
                weight[oc * 9 + t] = *v;
            }
        }
        weight
    }
}
