//! Dense linear algebra on row-major `f64` slices: the dot product, the Cholesky
//! factorisation and triangular solves that the random-feature samples ([`crate::rff`])
//! and the kriging posterior ([`crate::kriging`]) share.

/// Dot product of two equally long slices, with four independent accumulators so
/// that the loop vectorises.
pub(crate) fn dot(a: &[f64], b: &[f64]) -> f64 {
    let mut acc = [0.0; 4];
    let (a4, b4) = (a.chunks_exact(4), b.chunks_exact(4));
    let tail: f64 = a4
        .remainder()
        .iter()
        .zip(b4.remainder())
        .map(|(x, y)| x * y)
        .sum();
    for (x, y) in a4.zip(b4) {
        for k in 0..4 {
            acc[k] += x[k] * y[k];
        }
    }
    (acc[0] + acc[1]) + (acc[2] + acc[3]) + tail
}

/// Cholesky factorisation `A = L L^T` of the symmetric `n x n` row-major matrix
/// whose lower triangle is stored in `a`; `L` overwrites the lower triangle (the
/// strict upper triangle is left untouched and never read). Returns `false` if `A`
/// is not numerically positive definite.
pub(crate) fn cholesky_in_place(a: &mut [f64], n: usize) -> bool {
    for j in 0..n {
        // `done` holds rows 0..=j, whose first j columns are final; `below` the rest.
        let (done, below) = a.split_at_mut((j + 1) * n);
        let row_j = &mut done[j * n..];
        let d = row_j[j] - dot(&row_j[..j], &row_j[..j]);
        if !(d > 0.0 && d.is_finite()) {
            return false;
        }
        let ljj = d.sqrt();
        row_j[j] = ljj;
        let lj = &row_j[..j];
        for row_i in below.chunks_exact_mut(n) {
            row_i[j] = (row_i[j] - dot(&row_i[..j], lj)) / ljj;
        }
    }
    true
}

/// Solves `L y = b` in place, given the row-major lower triangular `l` (`n x n`).
pub(crate) fn forward_substitute(l: &[f64], n: usize, b: &mut [f64]) {
    for i in 0..n {
        let row = &l[i * n..i * n + i];
        b[i] = (b[i] - dot(row, &b[..i])) / l[i * n + i];
    }
}

/// Solves `L^T x = y` in place, given the row-major lower triangular `l` (`n x n`).
pub(crate) fn backward_substitute(l: &[f64], n: usize, y: &mut [f64]) {
    for i in (0..n).rev() {
        let yi = y[i] / l[i * n + i];
        y[i] = yi;
        for k in 0..i {
            y[k] -= l[i * n + k] * yi;
        }
    }
}

/// Solves `L L^T x = b` given the row-major lower Cholesky factor `l` (`n x n`).
pub(crate) fn cholesky_solve(l: &[f64], n: usize, mut b: Vec<f64>) -> Vec<f64> {
    forward_substitute(l, n, &mut b);
    backward_substitute(l, n, &mut b);
    b
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;
    use rand_distr::StandardNormal;

    #[test]
    fn cholesky_solves_spd_system() {
        // A = B B^T + I for a fixed B; check A x = b after solving.
        let n = 6;
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let b_mat: Vec<f64> = (0..n * n).map(|_| rng.sample(StandardNormal)).collect();
        let mut a = vec![0.0; n * n];
        for r in 0..n {
            for c in 0..n {
                a[r * n + c] = dot(&b_mat[r * n..(r + 1) * n], &b_mat[c * n..(c + 1) * n])
                    + if r == c { 1.0 } else { 0.0 };
            }
        }
        let rhs: Vec<f64> = (0..n).map(|i| i as f64 - 2.5).collect();
        let mut l = a.clone();
        assert!(cholesky_in_place(&mut l, n));
        let x = cholesky_solve(&l, n, rhs.clone());
        for r in 0..n {
            let ax = dot(&a[r * n..(r + 1) * n], &x);
            assert!((ax - rhs[r]).abs() < 1e-10, "row {r}: {ax} vs {}", rhs[r]);
        }
        // The forward half alone: L y = b.
        let mut y = rhs.clone();
        forward_substitute(&l, n, &mut y);
        for r in 0..n {
            let ly = dot(&l[r * n..r * n + r + 1], &y[..=r]);
            assert!((ly - rhs[r]).abs() < 1e-10);
        }
    }

    #[test]
    fn cholesky_rejects_indefinite_matrix() {
        let mut a = vec![1.0, 0.0, 2.0, 1.0]; // lower triangle of [[1, 2], [2, 1]]
        assert!(!cholesky_in_place(&mut a, 2));
    }
}
