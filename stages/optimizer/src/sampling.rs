//! Space-filling designs in the unit cube: Latin hypercube sampling and the
//! Sobol low-discrepancy sequence.

use rand::seq::SliceRandom;
use rand::Rng;
use thiserror::Error;

/// Largest dimension supported by [`Sobol`].
pub const SOBOL_MAX_DIM: usize = 8;

/// Number of bits of each Sobol coordinate; the sequence has `2^32` points.
const SOBOL_BITS: usize = 32;

/// `2^-32`, maps a 32-bit Sobol integer to `[0, 1)`.
const SOBOL_SCALE: f64 = 1.0 / 4_294_967_296.0;

/// Sobol direction-number parameters `(s, a, m_1..m_s)` for dimensions 2 to
/// 8, from S. Joe and F. Y. Kuo, file `new-joe-kuo-6.21201` (rows `d = 2..8`),
/// accompanying "Constructing Sobol sequences with better two-dimensional
/// projections", SIAM J. Sci. Comput. 30 (2008) 2635-2654. `s` is the degree
/// of the primitive polynomial, `a` encodes its inner coefficients, `m_i` are
/// the initial direction integers. Dimension 1 is the van der Corput sequence
/// (all `m_i = 1`).
const JOE_KUO: [(u32, u32, &[u32]); SOBOL_MAX_DIM - 1] = [
    (1, 0, &[1]),
    (2, 1, &[1, 3]),
    (3, 1, &[1, 3, 1]),
    (3, 2, &[1, 1, 1]),
    (4, 1, &[1, 1, 3, 3]),
    (4, 4, &[1, 3, 5, 13]),
    (5, 2, &[1, 1, 5, 5, 17]),
];

/// Errors from the samplers.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SamplingError {
    /// The requested Sobol dimension is outside `1..=SOBOL_MAX_DIM`.
    #[error("Sobol dimension must be between 1 and {max}, got {got}")]
    SobolDimension {
        /// Requested dimension.
        got: usize,
        /// [`SOBOL_MAX_DIM`].
        max: usize,
    },
}

/// Latin hypercube sample of `n` points in `[0, 1)^dim`.
///
/// In every dimension the `n` points fall one each into the `n` strata
/// `[k/n, (k+1)/n)`, `k = 0..n`: for each dimension an independent random
/// permutation assigns strata to points and the position inside the stratum
/// is uniform. Deterministic given the state of `rng`.
pub fn latin_hypercube<R: Rng + ?Sized>(n: usize, dim: usize, rng: &mut R) -> Vec<Vec<f64>> {
    let mut points = vec![vec![0.0; dim]; n];
    let scale = n as f64;
    let mut strata: Vec<usize> = (0..n).collect();
    for j in 0..dim {
        strata.shuffle(rng);
        for (point, &k) in points.iter_mut().zip(&strata) {
            let lower = k as f64;
            let u: f64 = rng.random();
            // Rounding can push (k + u) / n up to (k + 1) / n; keep it inside.
            let upper = ((lower + 1.0) / scale).next_down();
            point[j] = ((lower + u) / scale).min(upper);
        }
    }
    points
}

/// Sobol sequence generator in `[0, 1)^dim`, `1 <= dim <= 8`, with Joe-Kuo
/// direction numbers, 32-bit precision and Gray-code ordering
/// (Antonov-Saleev), optionally with a random digital shift.
///
/// The unshifted sequence starts at the origin, then `(0.5, 0.5, ...)`,
/// `(0.75, 0.25, ...)`, `(0.25, 0.75, ...)` (the same order as Joe and Kuo's
/// reference program). For `n = 2^k` consecutive points from the start, each
/// coordinate takes exactly one value in each interval `[i/n, (i+1)/n)`. An
/// iterator over points; it ends after `2^32` points.
#[derive(Debug, Clone)]
pub struct Sobol {
    /// `directions[j][b]`: direction integer `v_{b+1}` of dimension `j`.
    directions: Vec<[u32; SOBOL_BITS]>,
    /// Current integer coordinates (before the shift).
    state: Vec<u32>,
    /// Digital shift XORed into every output point (zero if none).
    shift: Vec<u32>,
    /// Index of the next point.
    index: u64,
}

impl Sobol {
    /// The plain Sobol sequence in `dim` dimensions.
    ///
    /// # Errors
    /// `dim` outside `1..=SOBOL_MAX_DIM`.
    pub fn new(dim: usize) -> Result<Self, SamplingError> {
        if !(1..=SOBOL_MAX_DIM).contains(&dim) {
            return Err(SamplingError::SobolDimension {
                got: dim,
                max: SOBOL_MAX_DIM,
            });
        }
        let mut directions = vec![van_der_corput_directions()];
        directions.extend(
            JOE_KUO[..dim - 1]
                .iter()
                .map(|&(s, a, m)| joe_kuo_directions(s, a, m)),
        );
        Ok(Self {
            directions,
            state: vec![0; dim],
            shift: vec![0; dim],
            index: 0,
        })
    }

    /// The Sobol sequence with a uniform random digital shift (each
    /// coordinate's bits XORed with a random 32-bit word drawn from `rng`).
    ///
    /// The shift keeps the stratification (net) properties of the sequence
    /// and moves its first point away from the origin.
    ///
    /// # Errors
    /// `dim` outside `1..=SOBOL_MAX_DIM`.
    pub fn with_digital_shift<R: Rng + ?Sized>(
        dim: usize,
        rng: &mut R,
    ) -> Result<Self, SamplingError> {
        let mut sobol = Self::new(dim)?;
        for s in &mut sobol.shift {
            *s = rng.random();
        }
        Ok(sobol)
    }

    /// Dimension of the points.
    pub fn dim(&self) -> usize {
        self.state.len()
    }
}

impl Iterator for Sobol {
    type Item = Vec<f64>;

    fn next(&mut self) -> Option<Vec<f64>> {
        if self.index >> SOBOL_BITS != 0 {
            return None;
        }
        let point = self
            .state
            .iter()
            .zip(&self.shift)
            .map(|(&x, &s)| f64::from(x ^ s) * SOBOL_SCALE)
            .collect();
        // Gray-code update: flip direction number c, c = position of the
        // lowest zero bit of the current index.
        let c = self.index.trailing_ones() as usize;
        if c < SOBOL_BITS {
            for (x, v) in self.state.iter_mut().zip(&self.directions) {
                *x ^= v[c];
            }
        }
        self.index += 1;
        Some(point)
    }
}

/// Direction integers of the first dimension: `v_k = 2^(32 - k)`.
fn van_der_corput_directions() -> [u32; SOBOL_BITS] {
    std::array::from_fn(|b| 1_u32 << (SOBOL_BITS - 1 - b))
}

/// Direction integers `v_k = m_k 2^(32 - k)` from the Joe-Kuo parameters, with
/// Bratley and Fox's recurrence for `k > s`:
/// `v_k = a_1 v_{k-1} ^ ... ^ a_{s-1} v_{k-s+1} ^ v_{k-s} ^ (v_{k-s} >> s)`.
fn joe_kuo_directions(s: u32, a: u32, m: &[u32]) -> [u32; SOBOL_BITS] {
    let s = s as usize;
    let mut v = [0_u32; SOBOL_BITS];
    for (b, &mk) in m.iter().enumerate() {
        v[b] = mk << (SOBOL_BITS - 1 - b);
    }
    for k in s..SOBOL_BITS {
        let mut value = v[k - s] ^ (v[k - s] >> s);
        for i in 1..s {
            if (a >> (s - 1 - i)) & 1 == 1 {
                value ^= v[k - i];
            }
        }
        v[k] = value;
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    /// Checks that each coordinate of `points` has exactly one value in each
    /// of the `points.len()` equal strata of `[0, 1)`.
    fn assert_one_per_stratum(points: &[Vec<f64>], dim: usize) {
        let n = points.len();
        for j in 0..dim {
            let mut seen = vec![false; n];
            for p in points {
                assert!(
                    (0.0..1.0).contains(&p[j]),
                    "coordinate {} out of range",
                    p[j]
                );
                let k = (p[j] * n as f64).floor() as usize;
                assert!(!seen[k], "dimension {j}: stratum {k} hit twice");
                seen[k] = true;
            }
        }
    }

    #[test]
    fn lhs_stratification() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        for (n, d) in [(1, 3), (2, 1), (10, 4), (37, 8), (1000, 2)] {
            let pts = latin_hypercube(n, d, &mut rng);
            assert_eq!(pts.len(), n);
            assert!(pts.iter().all(|p| p.len() == d));
            assert_one_per_stratum(&pts, d);
        }
        assert!(latin_hypercube(0, 3, &mut rng).is_empty());
    }

    #[test]
    fn lhs_is_deterministic_given_the_seed() {
        let a = latin_hypercube(20, 3, &mut ChaCha8Rng::seed_from_u64(42));
        let b = latin_hypercube(20, 3, &mut ChaCha8Rng::seed_from_u64(42));
        let c = latin_hypercube(20, 3, &mut ChaCha8Rng::seed_from_u64(43));
        assert_eq!(a, b);
        assert_ne!(a, c);
    }

    #[test]
    fn sobol_first_points_2d() {
        // Gray-code Sobol in 2-D: origin, then the known sequence.
        let want = [
            [0.0, 0.0],
            [0.5, 0.5],
            [0.75, 0.25],
            [0.25, 0.75],
            [0.375, 0.375],
            [0.875, 0.875],
            [0.625, 0.125],
            [0.125, 0.625],
        ];
        let got: Vec<Vec<f64>> = Sobol::new(2).unwrap().take(want.len()).collect();
        for (g, w) in got.iter().zip(&want) {
            assert_eq!(g.as_slice(), w.as_slice());
        }
    }

    #[test]
    fn sobol_first_points_8d() {
        // With v_k = m_k / 2^k, Gray-code order gives x_0 = 0, x_1 = v_1,
        // x_2 = v_1 ^ v_2, x_3 = v_2, x_4 = v_2 ^ v_3. All m_1 = 1.
        // m_2, m_3 per dimension (Joe-Kuo table, or their recurrence
        // m_k = 2 a_1 m_{k-1} ^ ... ^ 2^s m_{k-s} ^ m_{k-s} when k > s):
        //   dim 1 (van der Corput): m_2 = 1, m_3 = 1
        //   dim 2 (s=1, a=0): m_2 = 2*1 ^ 1 = 3, m_3 = 2*3 ^ 3 = 5
        //   dim 3 (s=2, a=1, m=1,3): m_3 = 2*3 ^ 4*1 ^ 1 = 6 ^ 4 ^ 1 = 3
        //   dims 4..8 straight from the table: m_2 = 3, 1, 1, 3, 1;
        //                                      m_3 = 1, 1, 3, 5, 5.
        // x_4 = (2 m_2 ^ m_3) / 8:
        //   dim 1: 2^1 = 3, dim 2: 6^5 = 3, dim 3: 6^3 = 5, dim 4: 6^1 = 7,
        //   dim 5: 2^1 = 3, dim 6: 2^3 = 1, dim 7: 6^5 = 3, dim 8: 2^5 = 7.
        let m2 = [1.0, 3.0, 3.0, 3.0, 1.0, 1.0, 3.0, 1.0];
        let x2 = m2.map(|m: f64| if m == 1.0 { 0.75 } else { 0.25 });
        let x3 = m2.map(|m: f64| m / 4.0);
        let x4 = [3.0, 3.0, 5.0, 7.0, 3.0, 1.0, 3.0, 7.0].map(|m: f64| m / 8.0);
        let pts: Vec<Vec<f64>> = Sobol::new(8).unwrap().take(5).collect();
        assert_eq!(pts[0], vec![0.0; 8]);
        assert_eq!(pts[1], vec![0.5; 8]);
        assert_eq!(pts[2], x2.to_vec());
        assert_eq!(pts[3], x3.to_vec());
        assert_eq!(pts[4], x4.to_vec());
    }

    #[test]
    fn sobol_stratification_for_powers_of_two() {
        for dim in 1..=SOBOL_MAX_DIM {
            for k in [1, 4, 7, 10] {
                let pts: Vec<Vec<f64>> = Sobol::new(dim).unwrap().take(1 << k).collect();
                assert_one_per_stratum(&pts, dim);
            }
        }
    }

    #[test]
    fn sobol_first_two_dimensions_form_a_0_m_2_net() {
        // Dimensions 1 and 2 of Sobol form a (0, m, 2)-net in base 2: each
        // elementary box of area 2^-m, [i 2^-a, (i+1) 2^-a) x
        // [j 2^-(m-a), (j+1) 2^-(m-a)), holds exactly one of the first 2^m
        // points.
        let m = 8;
        let pts: Vec<Vec<f64>> = Sobol::new(2).unwrap().take(1 << m).collect();
        for a in 0..=m {
            let (na, nb) = (1_usize << a, 1_usize << (m - a));
            let mut count = vec![0; na * nb];
            for p in &pts {
                let i = (p[0] * na as f64) as usize;
                let j = (p[1] * nb as f64) as usize;
                count[i * nb + j] += 1;
            }
            assert!(count.iter().all(|&c| c == 1), "a = {a}");
        }
    }

    #[test]
    fn digital_shift_keeps_stratification() {
        let mut rng = ChaCha8Rng::seed_from_u64(9);
        let sobol = Sobol::with_digital_shift(5, &mut rng).unwrap();
        assert_eq!(sobol.dim(), 5);
        let pts: Vec<Vec<f64>> = sobol.take(256).collect();
        assert_one_per_stratum(&pts, 5);
        assert!(pts[0].iter().any(|&x| x != 0.0));
        let again: Vec<Vec<f64>> = Sobol::with_digital_shift(5, &mut ChaCha8Rng::seed_from_u64(9))
            .unwrap()
            .take(256)
            .collect();
        assert_eq!(pts, again);
    }

    #[test]
    fn sobol_dimension_limits() {
        assert_eq!(
            Sobol::new(0).unwrap_err(),
            SamplingError::SobolDimension { got: 0, max: 8 }
        );
        assert!(Sobol::new(9).is_err());
        assert_eq!(Sobol::new(8).unwrap().dim(), 8);
    }

    #[test]
    fn sobol_ends_after_2_pow_32_points() {
        let mut sobol = Sobol::new(1).unwrap();
        sobol.index = (1 << 32) - 1;
        assert!(sobol.next().is_some());
        assert!(sobol.next().is_none());
    }
}
