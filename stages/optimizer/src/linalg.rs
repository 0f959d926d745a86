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

/// [`dot`] of `row` with each of `LANES` columns stored interleaved in `columns` (entry
/// `k * LANES + s` is column `s`'s `k`-th), every one summed in [`dot`]'s order so that it
/// equals `dot` to the bit; the row is read once for all of them, and the `4 LANES`
/// independent sums keep the floating-point units busy.
pub(crate) fn dot_interleaved<const LANES: usize>(row: &[f64], columns: &[f64]) -> [f64; LANES] {
    assert_eq!(columns.len(), row.len() * LANES, "dot_interleaved: lengths");
    let mut acc = [[0.0; LANES]; 4];
    let (rows, cols) = (row.chunks_exact(4), columns.chunks_exact(4 * LANES));
    let mut tail = [-0.0; LANES];
    for (l, col) in rows
        .remainder()
        .iter()
        .zip(cols.remainder().chunks_exact(LANES))
    {
        for s in 0..LANES {
            tail[s] += l * col[s];
        }
    }
    for (r, c) in rows.zip(cols) {
        for j in 0..4 {
            let col = &c[j * LANES..(j + 1) * LANES];
            for s in 0..LANES {
                acc[j][s] += r[j] * col[s];
            }
        }
    }
    std::array::from_fn(|s| (acc[0][s] + acc[1][s]) + (acc[2][s] + acc[3][s]) + tail[s])
}

/// The `count` rows of length `len` in `rows` (row-major), four at a time, interleaved:
/// group `g` is `LANES * len` numbers from `g * LANES * len` on, its entry `k * LANES + s`
/// being row `g LANES + s`'s `k`-th (zero past the last row), as [`dot_interleaved`] reads
/// them.
pub(crate) fn interleave<const LANES: usize>(rows: &[f64], count: usize, len: usize) -> Vec<f64> {
    let mut groups = vec![0.0; count.div_ceil(LANES) * LANES * len];
    for (r, row) in rows.chunks_exact(len.max(1)).take(count).enumerate() {
        let group = &mut groups[r / LANES * LANES * len..];
        for (k, v) in row.iter().enumerate() {
            group[k * LANES + r % LANES] = *v;
        }
    }
    groups
}

/// The lower triangle (row-major, `count x count`) of the Gram matrix of the `count` rows
/// of length `len` in `rows`: entry `(r, c)` is `dot(row r, row c)` to the bit, four
/// entries per pass over a row ([`dot_interleaved`]).
pub(crate) fn gram_lower(rows: &[f64], count: usize, len: usize) -> Vec<f64> {
    const LANES: usize = 4;
    let groups = interleave::<LANES>(rows, count, len);
    let mut gram = vec![0.0; count * count];
    for r in 0..count {
        let row = &rows[r * len..(r + 1) * len];
        for g in 0..=r / LANES {
            let group = &groups[g * LANES * len..(g + 1) * LANES * len];
            let sums = dot_interleaved::<LANES>(row, group);
            for (s, sum) in sums.iter().enumerate().take(r + 1 - g * LANES) {
                gram[r * count + g * LANES + s] = *sum;
            }
        }
    }
    gram
}

/// Cholesky factorisation `A = L L^T` of the symmetric `n x n` row-major matrix
/// whose lower triangle is stored in `a`; `L` overwrites the lower triangle (the
/// strict upper triangle is left untouched and never read). Returns `false` if `A`
/// is not numerically positive definite.
pub(crate) fn cholesky_in_place(a: &mut [f64], n: usize) -> bool {
    // The rows below the diagonal also four at a time, interleaved (entry `k * LANES + s`
    // of group `q` is `L[q LANES + s][k]`), so that column `j` of a group's rows takes one
    // pass over `L[j][..j]` ([`dot_interleaved`]: the same sums as row by row).
    const LANES: usize = 4;
    let mut groups = vec![0.0; n.div_ceil(LANES) * LANES * n];
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
        // Rows j + 1.. : one by one up to the first whole group below j, then by groups.
        let first_group = (j + 1).div_ceil(LANES);
        let single = (first_group * LANES).min(n) - (j + 1);
        for row_i in below.chunks_exact_mut(n).take(single) {
            row_i[j] = (row_i[j] - dot(&row_i[..j], lj)) / ljj;
        }
        for q in first_group..n.div_ceil(LANES) {
            let group = &groups[q * LANES * n..(q * LANES + LANES) * n];
            let sums = dot_interleaved::<LANES>(lj, &group[..j * LANES]);
            for (s, sum) in sums.iter().enumerate() {
                let i = q * LANES + s;
                if i < n {
                    let v = &mut below[(i - j - 1) * n + j];
                    *v = (*v - sum) / ljj;
                }
            }
        }
        // Column j, final now, into the groups.
        for i in j..n {
            let q = i / LANES;
            let value = if i == j {
                ljj
            } else {
                below[(i - j - 1) * n + j]
            };
            groups[q * LANES * n + j * LANES + i % LANES] = value;
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
    fn the_interleaved_dot_is_dot_to_the_bit() {
        for n in [0, 1, 3, 4, 7, 33] {
            let row: Vec<f64> = (0..n).map(|k| (k as f64 * 0.37).sin()).collect();
            let columns: Vec<Vec<f64>> = (0..4)
                .map(|s| {
                    (0..n)
                        .map(|k| ((k * 7 + s) as f64 * 0.11).cos() / 3.0)
                        .collect()
                })
                .collect();
            let interleaved: Vec<f64> = (0..n)
                .flat_map(|k| columns.iter().map(move |c| c[k]))
                .collect();
            let got = dot_interleaved::<4>(&row, &interleaved);
            for (g, c) in got.iter().zip(&columns) {
                assert_eq!(g.to_bits(), dot(&row, c).to_bits(), "n = {n}");
            }
        }
    }

    #[test]
    fn the_gram_matrix_is_dot_to_the_bit() {
        for (count, len) in [(1, 3), (5, 7), (9, 4), (6, 0)] {
            let rows: Vec<f64> = (0..count * len).map(|k| (k as f64 * 0.29).sin()).collect();
            let gram = gram_lower(&rows, count, len);
            for r in 0..count {
                for c in 0..=r {
                    let want = dot(&rows[r * len..(r + 1) * len], &rows[c * len..(c + 1) * len]);
                    assert_eq!(gram[r * count + c].to_bits(), want.to_bits());
                }
            }
        }
    }

    #[test]
    fn the_grouped_factorisation_is_the_row_by_row_one_to_the_bit() {
        for n in [1, 2, 5, 8, 13, 40] {
            // A = B B^T + n I, B pseudo-random.
            let b: Vec<f64> = (0..n * n)
                .map(|k| ((k * 37 % 101) as f64 / 50.0) - 1.0)
                .collect();
            let mut a = vec![0.0; n * n];
            for i in 0..n {
                for j in 0..n {
                    a[i * n + j] = dot(&b[i * n..(i + 1) * n], &b[j * n..(j + 1) * n])
                        + if i == j { n as f64 } else { 0.0 };
                }
            }
            let mut reference = a.clone();
            for j in 0..n {
                let (done, below) = reference.split_at_mut((j + 1) * n);
                let row_j = &mut done[j * n..];
                let ljj = (row_j[j] - dot(&row_j[..j], &row_j[..j])).sqrt();
                row_j[j] = ljj;
                for row_i in below.chunks_exact_mut(n) {
                    row_i[j] = (row_i[j] - dot(&row_i[..j], &row_j[..j])) / ljj;
                }
            }
            assert!(cholesky_in_place(&mut a, n));
            for i in 0..n {
                for j in 0..=i {
                    assert_eq!(a[i * n + j].to_bits(), reference[i * n + j].to_bits());
                }
            }
        }
    }

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
