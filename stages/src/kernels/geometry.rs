//! The sizes of a convolution and the im2col/col2im layouts derived from them, and how a
//! batch is spread over rayon's pool.

use std::ops::Range;

use candle_core::{bail, Result, Shape};
use gemm::Parallelism;
use rayon::prelude::*;

use super::gemm::Matrix;

/// How a batch is spread over rayon's pool.
pub(crate) struct Plan {
    /// The fewest images one rayon task handles; the whole batch makes it sequential.
    pub(crate) min_images_per_task: usize,
    /// The parallelism of each matrix product.
    pub(crate) gemm: Parallelism,
}

impl Plan {
    /// Calls `f(scratch, out_i, in_i)` for every image: `out` and `input` are cut into
    /// images of `out_len` and `in_len` elements, spread over rayon's pool as planned,
    /// with one `init()` scratch per task.
    pub(crate) fn per_image<S>(
        &self,
        (out, out_len, input, in_len): (&mut [f32], usize, &[f32], usize),
        init: impl Fn() -> S + Send + Sync,
        f: impl Fn(&mut S, &mut [f32], &[f32]) + Send + Sync,
    ) {
        out.par_chunks_mut(out_len)
            .zip(input.par_chunks(in_len))
            .with_min_len(self.min_images_per_task)
            .for_each_init(init, |scratch, (out_i, in_i)| f(scratch, out_i, in_i));
    }

    /// One image per task with single-threaded products when the batch can keep every
    /// thread busy (many small products beat a few split ones); otherwise the images run
    /// in turn and each product uses the whole pool.
    pub(crate) fn new(batch: usize) -> Self {
        let threads = rayon::current_num_threads();
        if batch >= threads {
            Self {
                min_images_per_task: 1,
                gemm: Parallelism::None,
            }
        } else {
            Self {
                min_images_per_task: batch.max(1),
                gemm: Parallelism::Rayon(threads),
            }
        }
    }
}

/// The sizes of one convolution, shared by the forward op and both gradient ops.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Geometry {
    pub(crate) batch: usize,
    c_in: usize,
    h: usize,
    w: usize,
    pub(crate) c_out: usize,
    k: usize,
    pub(crate) stride: usize,
    padding: usize,
    h_out: usize,
    w_out: usize,
}

impl Geometry {
    /// Checks the input and weight shapes against each other and derives the output size.
    pub(crate) fn new(x: &Shape, w: &Shape, stride: usize, padding: usize) -> Result<Self> {
        let (batch, c_in, h, width) = x.dims4()?;
        let (c_out, w_c_in, k, k_w) = w.dims4()?;
        if w_c_in != c_in {
            bail!("fastconv: input has {c_in} channels but the weight expects {w_c_in}")
        }
        if k != k_w {
            bail!("fastconv: only square kernels are supported, got {k}x{k_w}")
        }
        if stride == 0 {
            bail!("fastconv: stride must be positive")
        }
        if [batch, c_in, h, width, c_out, k].contains(&0) {
            bail!("fastconv: empty tensors are not supported, x {x:?}, w {w:?}")
        }
        if h + 2 * padding < k || width + 2 * padding < k {
            bail!("fastconv: padded input {x:?} is smaller than the kernel {w:?}")
        }
        Ok(Self {
            batch,
            c_in,
            h,
            w: width,
            c_out,
            k,
            stride,
            padding,
            h_out: (h + 2 * padding - k) / stride + 1,
            w_out: (width + 2 * padding - k) / stride + 1,
        })
    }

    /// Input channels, height and width.
    pub(crate) fn input_dims(&self) -> (usize, usize, usize) {
        (self.c_in, self.h, self.w)
    }

    /// The kernel's side.
    pub(crate) fn kernel(&self) -> usize {
        self.k
    }

    /// The zero padding on each side.
    pub(crate) fn padding(&self) -> usize {
        self.padding
    }

    pub(crate) fn x_shape(&self) -> Shape {
        (self.batch, self.c_in, self.h, self.w).into()
    }

    pub(crate) fn w_shape(&self) -> Shape {
        (self.c_out, self.c_in, self.k, self.k).into()
    }

    pub(crate) fn y_shape(&self) -> Shape {
        (self.batch, self.c_out, self.h_out, self.w_out).into()
    }

    /// Elements in one input image.
    pub(crate) fn image_len(&self) -> usize {
        self.c_in * self.h * self.w
    }

    /// Elements in one output image.
    pub(crate) fn out_image_len(&self) -> usize {
        self.c_out * self.out_pixels()
    }

    /// Rows of the column matrix: one per (input channel, kernel row, kernel column).
    pub(crate) fn patch_len(&self) -> usize {
        self.c_in * self.k * self.k
    }

    /// Columns of the column matrix: one per output pixel.
    pub(crate) fn out_pixels(&self) -> usize {
        self.h_out * self.w_out
    }

    /// A 1x1 kernel with stride 1 and no padding: an image is its own column matrix.
    pub(super) fn is_pointwise(&self) -> bool {
        self.k == 1 && self.stride == 1 && self.padding == 0
    }

    /// Scratch space for one column matrix (none for pointwise convolutions): rows of
    /// [`Self::column_stride`] elements.
    pub(crate) fn column_buffer(&self) -> Vec<f32> {
        if self.is_pointwise() {
            Vec::new()
        } else {
            vec![0.0; self.patch_len() * self.column_stride()]
        }
    }

    /// The distance between the rows of a column matrix in its buffer: the output pixels,
    /// and 32 elements more where those are a multiple of 2 KiB. Rows that far apart map
    /// to the same sets of the L1 cache, and the GEMM microkernel, which reads one
    /// element of every row in turn, then evicts its own lines: at 32x32 outputs, a
    /// 16-channel layer's products run at about 53 GFLOP/s on one core with dense rows
    /// and at about 90 with padded ones. The padding is never read, so no result changes.
    fn column_stride(&self) -> usize {
        let pixels = self.out_pixels();
        if pixels.is_multiple_of(512) {
            pixels + 32
        } else {
            pixels
        }
    }

    /// The column matrix of `image`: the image itself for pointwise convolutions,
    /// otherwise its im2col lowering written to `buffer` (from [`Self::column_buffer`]).
    pub(crate) fn columns<'a>(&self, image: &'a [f32], buffer: &'a mut [f32]) -> Matrix<'a> {
        if self.is_pointwise() {
            Matrix::new(image, self.c_in, self.out_pixels())
        } else {
            self.im2col(image, buffer);
            Matrix::strided(
                buffer,
                self.patch_len(),
                self.out_pixels(),
                self.column_stride(),
            )
        }
    }

    /// Writes the column matrix of one image `(c_in, h, w)` to `cols`
    /// `(c_in·k·k, h_out·w_out)`, rows [`Self::column_stride`] apart: row `(c, ki, kj)`
    /// holds, for every output pixel, the input under kernel tap `(ki, kj)`, or zero
    /// where that falls in the padding.
    fn im2col(&self, image: &[f32], cols: &mut [f32]) {
        if self.padding > 0 {
            cols.fill(0.0);
        }
        let stride = self.stride;
        self.for_each_run(self.column_stride(), |col, x, len| {
            let dst = &mut cols[col..col + len];
            if stride == 1 {
                dst.copy_from_slice(&image[x..x + len]);
            } else {
                dst.iter_mut()
                    .zip(image[x..].iter().step_by(stride))
                    .for_each(|(d, v)| *d = *v);
            }
        });
    }

    /// The adjoint of [`Self::im2col`]: adds every entry of `cols` (dense rows of
    /// `h_out·w_out`) into the input pixel it was read from.
    pub(super) fn col2im_add(&self, cols: &[f32], image: &mut [f32]) {
        let stride = self.stride;
        self.for_each_run(self.out_pixels(), |col, x, len| {
            let src = &cols[col..col + len];
            if stride == 1 {
                image[x..x + len]
                    .iter_mut()
                    .zip(src)
                    .for_each(|(d, v)| *d += *v);
            } else {
                image[x..]
                    .iter_mut()
                    .step_by(stride)
                    .zip(src)
                    .for_each(|(d, v)| *d += *v);
            }
        });
    }

    /// Per row `(c, ki, kj)` of the column matrix of `image`, the sum of its squares: the
    /// squares of the input pixels kernel tap `(ki, kj)` reads, once per output pixel
    /// (padding adds nothing). A tap's pixels on one input row are summed once, in f32,
    /// and reused by every output row that reads them, then added in f64 in output-row
    /// order.
    pub(crate) fn tap_square_sums(&self, image: &[f32]) -> Vec<f64> {
        let (k, stride, padding) = (self.k, self.stride, self.padding);
        let mut sums = vec![0.0f64; self.patch_len()];
        // Per kernel column and input row: the tap's sum of squares along that row.
        let mut row_sums = vec![0.0f32; k * self.h];
        for (c, plane) in image.chunks_exact(self.h * self.w).enumerate() {
            for kj in 0..k {
                let cols = inside(kj, stride, padding, self.w, self.w_out);
                for (iy, row) in plane.chunks_exact(self.w).enumerate() {
                    row_sums[kj * self.h + iy] = if cols.is_empty() {
                        0.0
                    } else {
                        let first = cols.start * stride + kj - padding;
                        square_sum(&row[first..], stride, cols.len())
                    };
                }
            }
            for ki in 0..k {
                let rows = inside(ki, stride, padding, self.h, self.h_out);
                for kj in 0..k {
                    sums[(c * k + ki) * k + kj] = rows
                        .clone()
                        .map(|oy| f64::from(row_sums[kj * self.h + oy * stride + ki - padding]))
                        .sum();
                }
            }
        }
        sums
    }

    /// Calls `f(col, x, len)` for every run of output pixels inside the input: entries
    /// `col..col + len` of the column matrix (rows `row_stride` apart) read the image at
    /// `x, x + stride, …`. Entries never visited lie in the padding.
    fn for_each_run(&self, row_stride: usize, mut f: impl FnMut(usize, usize, usize)) {
        let (k, stride, padding) = (self.k, self.stride, self.padding);
        let plane = self.h * self.w;
        for c in 0..self.c_in {
            for ki in 0..k {
                let rows = inside(ki, stride, padding, self.h, self.h_out);
                for kj in 0..k {
                    let cols = inside(kj, stride, padding, self.w, self.w_out);
                    if cols.is_empty() {
                        continue;
                    }
                    let tap_row = ((c * k + ki) * k + kj) * row_stride;
                    for oy in rows.clone() {
                        let iy = oy * stride + ki - padding;
                        let col = tap_row + oy * self.w_out + cols.start;
                        let x = c * plane + iy * self.w + cols.start * stride + kj - padding;
                        f(col, x, cols.len());
                    }
                }
            }
        }
    }
}

/// `Σ v²` over `len` elements of `values` taken every `stride`, in four interleaved
/// lanes when contiguous (which the compiler vectorises).
fn square_sum(values: &[f32], stride: usize, len: usize) -> f32 {
    if stride != 1 {
        return values.iter().step_by(stride).take(len).map(|v| v * v).sum();
    }
    let values = &values[..len];
    let chunks = values.chunks_exact(4);
    let tail: f32 = chunks.remainder().iter().map(|v| v * v).sum();
    let mut lanes = [0.0f32; 4];
    for chunk in chunks {
        for (lane, v) in lanes.iter_mut().zip(chunk) {
            *lane += v * v;
        }
    }
    lanes.iter().sum::<f32>() + tail
}

/// The output positions `o < out` along one axis whose input position
/// `o·stride + tap - padding` lies inside `0..size`.
fn inside(tap: usize, stride: usize, padding: usize, size: usize, out: usize) -> Range<usize> {
    let end = if size + padding > tap {
        ((size - 1 + padding - tap) / stride + 1).min(out)
    } else {
        0
    };
    let start = padding.saturating_sub(tap).div_ceil(stride).min(end);
    start..end
}
