//! The candidates a step scores: the designs that can be run (a discrete variable's grid
//! of `n` values is the `n` cell centres `(i + 0.5) / n` of its unit interval) and the
//! candidate pool, which enumerates every combination of the discrete variables' values
//! with space-filling values of the continuous ones.

use rand::Rng;

use super::sampling::{latin_hypercube, Sobol, SOBOL_MAX_DIM};

/// The point of the unit cube a design runs at: every discrete variable (`levels[i] = n
/// >= 1`) moved to the centre of its cell, continuous ones (`0`, or `levels` empty)
/// clamped into `[0, 1]`.
pub fn snap(levels: &[usize], x: &[f64]) -> Vec<f64> {
    x.iter()
        .enumerate()
        .map(|(i, &v)| match levels.get(i).copied().unwrap_or(0) {
            0 => v.clamp(0.0, 1.0),
            n => (((v * n as f64).floor().max(0.0) as usize).min(n - 1) as f64 + 0.5) / n as f64,
        })
        .collect()
}

/// Whether variable `i` is continuous.
pub fn is_continuous(levels: &[usize], i: usize) -> bool {
    levels.get(i).copied().unwrap_or(0) == 0
}

/// About `size` distinct snapped candidates in `[0, 1]^dim`. With discrete variables whose
/// combinations number at most `size`, each combination appears `ceil(size / combos)`
/// times (once if every variable is discrete), with successive points of a shifted Sobol
/// sequence over the continuous variables; otherwise the Sobol points are snapped. A Latin
/// hypercube replaces Sobol beyond its dimensions.
pub fn pool<R: Rng + ?Sized>(
    dim: usize,
    levels: &[usize],
    size: usize,
    rng: &mut R,
) -> Vec<Vec<f64>> {
    let size = size.max(1);
    let discrete: Vec<usize> = (0..dim).filter(|&i| !is_continuous(levels, i)).collect();
    let continuous: Vec<usize> = (0..dim).filter(|&i| is_continuous(levels, i)).collect();
    let combos = discrete
        .iter()
        .try_fold(1usize, |acc, &i| acc.checked_mul(levels[i]))
        .unwrap_or(usize::MAX);
    let space_filling = |n: usize, d: usize, rng: &mut R| -> Vec<Vec<f64>> {
        if d <= SOBOL_MAX_DIM {
            Sobol::with_digital_shift(d, rng)
                .expect("dimension checked")
                .take(n)
                .collect()
        } else {
            latin_hypercube(n, d, rng)
        }
    };
    let mut out: Vec<Vec<f64>> = Vec::new();
    if discrete.is_empty() || combos > size {
        for x in space_filling(size, dim, rng) {
            let x = snap(levels, &x);
            if !out.contains(&x) {
                out.push(x);
            }
        }
        return out;
    }
    let per = if continuous.is_empty() {
        1
    } else {
        size.div_ceil(combos)
    };
    let fill = if continuous.is_empty() {
        vec![Vec::new(); combos * per]
    } else {
        space_filling(combos * per, continuous.len(), rng)
    };
    for (k, values) in fill.into_iter().enumerate() {
        let mut x = vec![0.0; dim];
        let mut combo = k % combos;
        for &i in &discrete {
            let n = levels[i];
            x[i] = ((combo % n) as f64 + 0.5) / n as f64;
            combo /= n;
        }
        for (&i, v) in continuous.iter().zip(values) {
            x[i] = v;
        }
        out.push(x);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn snapping_moves_grid_variables_to_their_cell_centres() {
        let levels = [8, 3, 0];
        assert_eq!(
            snap(&levels, &[0.0, 0.99, 0.3]),
            vec![0.0625, 5.0 / 6.0, 0.3]
        );
        assert_eq!(snap(&levels, &[1.0, 0.34, 1.2]), vec![0.9375, 0.5, 1.0]);
        assert_eq!(snap(&[], &[0.2, -0.1]), vec![0.2, 0.0]);
        let x = snap(&levels, &[0.4, 0.6, 0.7]);
        assert_eq!(snap(&levels, &x), x, "snapping is idempotent");
    }

    #[test]
    fn the_pool_enumerates_every_combination_of_the_discrete_values() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let levels = [8, 3, 0, 0];
        let pool = pool(4, &levels, 512, &mut rng);
        assert_eq!(pool.len(), 24 * 22);
        for a in 0..8 {
            for b in 0..3 {
                let (u, v) = ((a as f64 + 0.5) / 8.0, (b as f64 + 0.5) / 3.0);
                let n = pool.iter().filter(|x| x[0] == u && x[1] == v).count();
                assert_eq!(n, 22, "combination {a}, {b}");
            }
        }
        assert!(pool.iter().all(|x| snap(&levels, x) == *x));
        let only_discrete = super::pool(2, &[4, 2], 100, &mut rng);
        assert_eq!(only_discrete.len(), 8);
        let continuous = super::pool(3, &[], 64, &mut rng);
        assert_eq!(continuous.len(), 64);
        // More combinations than the pool holds: snapped Sobol points, distinct.
        let wide = super::pool(2, &[100, 100], 50, &mut rng);
        assert!(wide.len() <= 50 && wide.len() > 40);
    }
}
