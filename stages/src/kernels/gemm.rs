//! Row-major f32 matrix views and their product (the `gemm` crate).

use gemm::Parallelism;

/// A read-only view of a row-major f32 matrix, possibly transposed.
#[derive(Clone, Copy)]
pub(crate) struct Matrix<'a> {
    pub(super) data: &'a [f32],
    pub(super) rows: usize,
    pub(super) cols: usize,
    pub(super) row_stride: usize,
    col_stride: usize,
}

impl<'a> Matrix<'a> {
    /// Views `data` as a row-major `rows x cols` matrix.
    pub(crate) fn new(data: &'a [f32], rows: usize, cols: usize) -> Self {
        assert_eq!(
            data.len(),
            rows * cols,
            "matrix data does not match its shape"
        );
        Self {
            data,
            rows,
            cols,
            row_stride: cols,
            col_stride: 1,
        }
    }

    /// The transposed view of the same data.
    pub(crate) fn t(self) -> Self {
        Self {
            rows: self.cols,
            cols: self.rows,
            row_stride: self.col_stride,
            col_stride: self.row_stride,
            ..self
        }
    }

    /// Views `data` as a `rows x cols` matrix whose element `(i, j)` is
    /// `data[i·row_stride + j·col_stride]`.
    pub(crate) fn with_strides(
        data: &'a [f32],
        rows: usize,
        cols: usize,
        row_stride: usize,
        col_stride: usize,
    ) -> Self {
        assert!(
            rows == 0
                || cols == 0
                || (rows - 1) * row_stride + (cols - 1) * col_stride < data.len(),
            "strided matrix view out of bounds"
        );
        Self {
            data,
            rows,
            cols,
            row_stride,
            col_stride,
        }
    }

    /// Views the `rows x cols` block of a row-major matrix with `row_stride` elements a
    /// row that starts at `data[0]` (a block of columns of a wider matrix).
    pub(crate) fn strided(data: &'a [f32], rows: usize, cols: usize, row_stride: usize) -> Self {
        assert!(cols <= row_stride, "strided matrix rows overlap");
        Self::with_strides(data, rows, cols, row_stride, 1)
    }

    /// Rows `start..start + len` of an untransposed matrix.
    pub(crate) fn row_block(self, start: usize, len: usize) -> Self {
        assert!(
            self.col_stride == 1 && start + len <= self.rows,
            "row block out of bounds"
        );
        let end = if len == 0 {
            start * self.row_stride
        } else {
            (start + len - 1) * self.row_stride + self.cols
        };
        Self {
            data: &self.data[start * self.row_stride..end],
            rows: len,
            ..self
        }
    }
}

/// `dst = a · b`, or `dst += a · b` when `accumulate`; `dst` is row-major
/// `a.rows x b.cols`.
pub(crate) fn matmul(
    dst: &mut [f32],
    a: Matrix,
    b: Matrix,
    accumulate: bool,
    parallelism: Parallelism,
) {
    assert_eq!(a.cols, b.rows, "matmul: inner dimensions differ");
    assert_eq!(
        dst.len(),
        a.rows * b.cols,
        "matmul: destination has the wrong size"
    );
    // SAFETY: `gemm` reads `a` at `i·row_stride + j·col_stride` for `i < rows` and
    // `j < cols`, likewise `b`, and writes `dst` at `i·b.cols + j` for `i < a.rows` and
    // `j < b.cols`. `Matrix::new` checks that its slice holds exactly `rows·cols`
    // elements with row-major strides, `strided`, `with_strides` and `row_block` check
    // that the last element `(rows - 1)·row_stride + (cols - 1)·col_stride` lies in their
    // slice, and `t` only swaps shape and strides together, so every read is in bounds;
    // the assertions above keep every write in bounds and the inner dimensions
    // consistent. `dst` is an exclusive borrow, so it aliases neither input, and it is
    // fully initialised for the reads done when `accumulate` is set.
    unsafe {
        gemm::gemm(
            a.rows,
            b.cols,
            a.cols,
            dst.as_mut_ptr(),
            1,
            b.cols as isize,
            accumulate,
            a.data.as_ptr(),
            a.col_stride as isize,
            a.row_stride as isize,
            b.data.as_ptr(),
            b.col_stride as isize,
            b.row_stride as isize,
            1.0,
            1.0,
            false,
            false,
            false,
            parallelism,
        );
    }
}
