//! NSGA-II (Deb, Pratap, Agarwal, Meyarivan, "A fast and elitist
//! multiobjective genetic algorithm: NSGA-II", IEEE Trans. Evol. Comput. 6
//! (2002) 182-197) for box-constrained problems on `[0, 1]^d`, **minimising**
//! every objective.
//!
//! One generation: binary tournaments on (rank, crowding distance) pick
//! parents, simulated binary crossover (SBX, Deb and Agrawal 1995) and
//! polynomial mutation (Deb and Goyal 1996), in their bounded forms, make
//! `N` children, and the best `N` of parents plus children, by
//! non-domination rank then crowding distance, survive. All randomness comes
//! from the caller's generator, and ties are broken by index, so a run is a
//! deterministic function of the seed.

use super::hypervolume::dominates;
use rand::Rng;
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// Parent pairs closer than this in a coordinate are not crossed in it.
const SBX_MIN_GAP: f64 = 1e-14;

/// NSGA-II parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Nsga2Config {
    /// Population size `N` (at least 2). Children per generation: `N`.
    pub population_size: usize,
    /// Number of generations after the initial population.
    pub generations: usize,
    /// Probability that a parent pair undergoes SBX crossover.
    pub crossover_probability: f64,
    /// SBX distribution index `eta_c` (larger: children closer to parents).
    pub crossover_eta: f64,
    /// Per-variable mutation probability; `None` means `1 / d`.
    pub mutation_probability: Option<f64>,
    /// Polynomial-mutation distribution index `eta_m`.
    pub mutation_eta: f64,
}

impl Default for Nsga2Config {
    /// `N = 100`, 100 generations, crossover probability 0.9, `eta_c = 15`,
    /// mutation probability `1/d`, `eta_m = 20` (the usual settings).
    fn default() -> Self {
        Self {
            population_size: 100,
            generations: 100,
            crossover_probability: 0.9,
            crossover_eta: 15.0,
            mutation_probability: None,
            mutation_eta: 20.0,
        }
    }
}

/// Final state of an NSGA-II run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Nsga2Result {
    /// Final population, each in `[0, 1]^d`.
    pub population: Vec<Vec<f64>>,
    /// Objective vectors of `population`.
    pub objectives: Vec<Vec<f64>>,
    /// Members of the final population in its first non-dominated front
    /// (increasing index; exact duplicates may both appear).
    pub front: Vec<usize>,
    /// Decision vectors of the first front (`population[front[i]]`).
    pub front_x: Vec<Vec<f64>>,
    /// Objective vectors of the first front (`objectives[front[i]]`).
    pub front_f: Vec<Vec<f64>>,
    /// Total number of points evaluated.
    pub evaluations: usize,
}

/// Errors from NSGA-II.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum Nsga2Error {
    /// The decision space has dimension 0.
    #[error("the decision space must have at least one dimension")]
    ZeroDimension,
    /// The population size is below 2.
    #[error("population size must be at least 2, got {0}")]
    PopulationTooSmall(usize),
    /// A probability is outside `[0, 1]`.
    #[error("{name} must be in [0, 1], got {value}")]
    InvalidProbability {
        /// Parameter name.
        name: &'static str,
        /// Its value.
        value: f64,
    },
    /// A distribution index is negative or not finite.
    #[error("{name} must be finite and non-negative, got {value}")]
    InvalidEta {
        /// Parameter name.
        name: &'static str,
        /// Its value.
        value: f64,
    },
    /// The batch evaluator returned the wrong number of objective vectors.
    #[error("the evaluator returned {got} objective vectors for {expected} points")]
    BatchSize {
        /// Number of points in the batch.
        expected: usize,
        /// Number of objective vectors returned.
        got: usize,
    },
    /// An objective vector has no entries or a different length from the
    /// first one.
    #[error("objective vector has {got} entries, expected {expected}")]
    ObjectiveCount {
        /// Length of the first objective vector (or 1 if that was empty).
        expected: usize,
        /// Length of the offending one.
        got: usize,
    },
    /// An objective value is NaN or infinite.
    #[error("non-finite objective value {0}")]
    NonFiniteObjective(f64),
}

/// Fast non-dominated sort: the fronts `F_1, F_2, ...` of `objectives`
/// (minimisation), each a list of indices in increasing order; `F_1` is the
/// non-dominated set and `F_{k+1}` is non-dominated once `F_1..F_k` are
/// removed. Exact duplicates share a front. `O(m n^2)`.
///
/// # Panics
/// If the objective vectors differ in length.
pub fn fast_non_dominated_sort<P: AsRef<[f64]>>(objectives: &[P]) -> Vec<Vec<usize>> {
    let n = objectives.len();
    let mut dominated_by_me: Vec<Vec<usize>> = vec![Vec::new(); n];
    let mut domination_count = vec![0_usize; n];
    for p in 0..n {
        for q in (p + 1)..n {
            let (fp, fq) = (objectives[p].as_ref(), objectives[q].as_ref());
            if dominates(fp, fq) {
                dominated_by_me[p].push(q);
                domination_count[q] += 1;
            } else if dominates(fq, fp) {
                dominated_by_me[q].push(p);
                domination_count[p] += 1;
            }
        }
    }
    let mut fronts = Vec::new();
    let mut current: Vec<usize> = (0..n).filter(|&i| domination_count[i] == 0).collect();
    while !current.is_empty() {
        let mut next = Vec::new();
        for &p in &current {
            for &q in &dominated_by_me[p] {
                domination_count[q] -= 1;
                if domination_count[q] == 0 {
                    next.push(q);
                }
            }
        }
        next.sort_unstable();
        fronts.push(current);
        current = next;
    }
    fronts
}

/// Crowding distances of the members of `front` (indices into
/// `objectives`), returned in the order of `front`.
///
/// For each objective the front is sorted by that objective (ties by
/// index); the two extremes get `+inf` and each interior member adds the
/// normalised gap `(f[next] - f[prev]) / (f_max - f_min)` between its
/// neighbours. Objectives with zero range add nothing. Fronts of one or two
/// members are all `+inf`.
pub fn crowding_distance<P: AsRef<[f64]>>(objectives: &[P], front: &[usize]) -> Vec<f64> {
    let len = front.len();
    if len <= 2 {
        return vec![f64::INFINITY; len];
    }
    let mut distance = vec![0.0; len];
    let m = objectives[front[0]].as_ref().len();
    let mut order: Vec<usize> = (0..len).collect();
    for k in 0..m {
        let value = |i: usize| objectives[front[i]].as_ref()[k];
        order.sort_by(|&a, &b| value(a).total_cmp(&value(b)).then(front[a].cmp(&front[b])));
        let (lo, hi) = (value(order[0]), value(order[len - 1]));
        distance[order[0]] = f64::INFINITY;
        distance[order[len - 1]] = f64::INFINITY;
        let range = hi - lo;
        if range > 0.0 {
            for w in order.windows(3) {
                distance[w[1]] += (value(w[2]) - value(w[0])) / range;
            }
        }
    }
    distance
}

/// Runs NSGA-II on `[0, 1]^dim`, minimising `objective`, evaluating one
/// point at a time (each generation's children are evaluated as a batch by
/// mapping `objective` over them).
///
/// # Errors
/// Invalid configuration, or objective vectors that are empty, of varying
/// length or non-finite.
pub fn nsga2<F, R>(
    dim: usize,
    objective: F,
    config: &Nsga2Config,
    rng: &mut R,
) -> Result<Nsga2Result, Nsga2Error>
where
    F: Fn(&[f64]) -> Vec<f64>,
    R: Rng + ?Sized,
{
    nsga2_batch(
        dim,
        |xs: &[Vec<f64>]| xs.iter().map(|x| objective(x)).collect(),
        config,
        rng,
    )
}

/// Runs NSGA-II on `[0, 1]^dim`, minimising the objectives returned by
/// `evaluate` for a whole batch of points at once (the initial population,
/// then each generation's children): `evaluate(xs)[i]` is the objective
/// vector of `xs[i]`. Useful when evaluation is vectorised, such as a
/// random-feature posterior sample.
///
/// # Errors
/// Invalid configuration, a batch of the wrong size, or objective vectors
/// that are empty, of varying length or non-finite.
pub fn nsga2_batch<F, R>(
    dim: usize,
    mut evaluate: F,
    config: &Nsga2Config,
    rng: &mut R,
) -> Result<Nsga2Result, Nsga2Error>
where
    F: FnMut(&[Vec<f64>]) -> Vec<Vec<f64>>,
    R: Rng + ?Sized,
{
    let mut run = Nsga2Run::new(dim, config)?;
    while let Some(xs) = run.ask(rng) {
        let fs = evaluate(&xs);
        run.tell(fs)?;
    }
    Ok(run.result())
}

/// NSGA-II as an ask/tell loop: [`Nsga2Run::ask`] hands out the initial
/// population, then each generation's children, and [`Nsga2Run::tell`] takes
/// their objective vectors (minimised), in order, before the next ask.
/// [`nsga2_batch`] is this loop; a caller that evaluates expensive points
/// drives it itself.
#[derive(Debug, Clone)]
pub struct Nsga2Run {
    dim: usize,
    config: Nsga2Config,
    mutation_probability: f64,
    population: Vec<Vec<f64>>,
    objectives: Vec<Vec<f64>>,
    rank: Vec<usize>,
    crowding: Vec<f64>,
    /// The points handed out and not yet told.
    pending: Vec<Vec<f64>>,
    generations_done: usize,
    num_objectives: Option<usize>,
    evaluations: usize,
}

impl Nsga2Run {
    /// A run that has asked for nothing yet.
    ///
    /// # Errors
    /// Invalid configuration.
    pub fn new(dim: usize, config: &Nsga2Config) -> Result<Self, Nsga2Error> {
        let mutation_probability = validate(dim, config)?;
        Ok(Nsga2Run {
            dim,
            config: config.clone(),
            mutation_probability,
            population: Vec::new(),
            objectives: Vec::new(),
            rank: Vec::new(),
            crowding: Vec::new(),
            pending: Vec::new(),
            generations_done: 0,
            num_objectives: None,
            evaluations: 0,
        })
    }

    /// The next points to evaluate: the initial population, then a
    /// generation's children; `None` once the configured generations are
    /// done. Asking again before telling hands out the same points.
    pub fn ask<R: Rng + ?Sized>(&mut self, rng: &mut R) -> Option<Vec<Vec<f64>>> {
        if !self.pending.is_empty() {
            return Some(self.pending.clone());
        }
        let n = self.config.population_size;
        if self.population.is_empty() {
            self.pending = (0..n)
                .map(|_| (0..self.dim).map(|_| rng.random::<f64>()).collect())
                .collect();
            return Some(self.pending.clone());
        }
        if self.generations_done >= self.config.generations {
            return None;
        }
        let mut children = Vec::with_capacity(n);
        while children.len() < n {
            let p1 = tournament(&self.rank, &self.crowding, rng);
            let p2 = tournament(&self.rank, &self.crowding, rng);
            let (mut c1, mut c2) = (self.population[p1].clone(), self.population[p2].clone());
            if rng.random::<f64>() < self.config.crossover_probability {
                sbx_crossover(&mut c1, &mut c2, self.config.crossover_eta, rng);
            }
            for mut child in [c1, c2] {
                if children.len() < n {
                    polynomial_mutation(
                        &mut child,
                        self.mutation_probability,
                        self.config.mutation_eta,
                        rng,
                    );
                    children.push(child);
                }
            }
        }
        self.pending = children;
        Some(self.pending.clone())
    }

    /// The objective vectors of the points of the last ask, in their order:
    /// ranks the initial population, or selects the survivors of parents and
    /// children.
    ///
    /// # Errors
    /// Nothing asked, a batch of the wrong size, or objective vectors that
    /// are empty, of varying length or non-finite.
    pub fn tell(&mut self, fs: Vec<Vec<f64>>) -> Result<(), Nsga2Error> {
        check_objectives(self.pending.len(), &fs, &mut self.num_objectives)?;
        self.evaluations += fs.len();
        let points = std::mem::take(&mut self.pending);
        let initial = self.population.is_empty();
        self.population.extend(points);
        self.objectives.extend(fs);
        if initial {
            (self.rank, self.crowding) = rank_and_crowding(&self.objectives);
            return Ok(());
        }
        let n = self.config.population_size;
        let (survivors, rank, crowding) = environmental_selection(&self.objectives, n);
        self.population = survivors
            .iter()
            .map(|&i| self.population[i].clone())
            .collect();
        self.objectives = survivors
            .iter()
            .map(|&i| self.objectives[i].clone())
            .collect();
        (self.rank, self.crowding) = (rank, crowding);
        self.generations_done += 1;
        Ok(())
    }

    /// The population so far and its first front.
    pub fn result(self) -> Nsga2Result {
        let front: Vec<usize> = (0..self.population.len())
            .filter(|&i| self.rank[i] == 0)
            .collect();
        Nsga2Result {
            front_x: front.iter().map(|&i| self.population[i].clone()).collect(),
            front_f: front.iter().map(|&i| self.objectives[i].clone()).collect(),
            front,
            population: self.population,
            objectives: self.objectives,
            evaluations: self.evaluations,
        }
    }
}

/// Checks the configuration; returns the per-variable mutation probability.
fn validate(dim: usize, config: &Nsga2Config) -> Result<f64, Nsga2Error> {
    if dim == 0 {
        return Err(Nsga2Error::ZeroDimension);
    }
    if config.population_size < 2 {
        return Err(Nsga2Error::PopulationTooSmall(config.population_size));
    }
    let mutation_probability = config.mutation_probability.unwrap_or(1.0 / dim as f64);
    for (name, value) in [
        ("crossover_probability", config.crossover_probability),
        ("mutation_probability", mutation_probability),
    ] {
        if !(0.0..=1.0).contains(&value) {
            return Err(Nsga2Error::InvalidProbability { name, value });
        }
    }
    for (name, value) in [
        ("crossover_eta", config.crossover_eta),
        ("mutation_eta", config.mutation_eta),
    ] {
        if !(value.is_finite() && value >= 0.0) {
            return Err(Nsga2Error::InvalidEta { name, value });
        }
    }
    Ok(mutation_probability)
}

/// Checks a batch of objective vectors: right count, consistent non-zero
/// length (fixed by the first vector ever seen), finite values.
fn check_objectives(
    expected: usize,
    fs: &[Vec<f64>],
    num_objectives: &mut Option<usize>,
) -> Result<(), Nsga2Error> {
    if fs.len() != expected {
        return Err(Nsga2Error::BatchSize {
            expected,
            got: fs.len(),
        });
    }
    for f in fs {
        let m = *num_objectives.get_or_insert(f.len());
        if f.is_empty() || f.len() != m {
            return Err(Nsga2Error::ObjectiveCount {
                expected: m.max(1),
                got: f.len(),
            });
        }
        if let Some(&bad) = f.iter().find(|v| !v.is_finite()) {
            return Err(Nsga2Error::NonFiniteObjective(bad));
        }
    }
    Ok(())
}

/// Non-domination rank (0 = first front) and crowding distance (within the
/// member's front) of every member.
fn rank_and_crowding(objectives: &[Vec<f64>]) -> (Vec<usize>, Vec<f64>) {
    let mut rank = vec![0; objectives.len()];
    let mut crowding = vec![0.0; objectives.len()];
    for (r, front) in fast_non_dominated_sort(objectives).iter().enumerate() {
        for (&i, d) in front.iter().zip(crowding_distance(objectives, front)) {
            rank[i] = r;
            crowding[i] = d;
        }
    }
    (rank, crowding)
}

/// Chooses `n` survivors from the combined population: whole fronts in rank
/// order, then the members of the first front that does not fit with the
/// largest crowding distance (ties by index). Returns the survivors'
/// indices with their ranks and crowding distances.
fn environmental_selection(
    objectives: &[Vec<f64>],
    n: usize,
) -> (Vec<usize>, Vec<usize>, Vec<f64>) {
    let mut survivors = Vec::with_capacity(n);
    let mut rank = Vec::with_capacity(n);
    let mut crowding = Vec::with_capacity(n);
    for (r, front) in fast_non_dominated_sort(objectives).iter().enumerate() {
        let remaining = n - survivors.len();
        if remaining == 0 {
            break;
        }
        let distance = crowding_distance(objectives, front);
        let mut order: Vec<usize> = (0..front.len()).collect();
        if front.len() > remaining {
            order.sort_by(|&a, &b| distance[b].total_cmp(&distance[a]).then(a.cmp(&b)));
            order.truncate(remaining);
        }
        for k in order {
            survivors.push(front[k]);
            rank.push(r);
            crowding.push(distance[k]);
        }
    }
    (survivors, rank, crowding)
}

/// Binary tournament under the crowded-comparison operator: lower rank
/// wins, then larger crowding distance, then the first drawn.
fn tournament<R: Rng + ?Sized>(rank: &[usize], crowding: &[f64], rng: &mut R) -> usize {
    let a = rng.random_range(0..rank.len());
    let b = rng.random_range(0..rank.len());
    if rank[b] < rank[a] || (rank[b] == rank[a] && crowding[b] > crowding[a]) {
        b
    } else {
        a
    }
}

/// Bounded simulated binary crossover on `[0, 1]`: each coordinate is
/// crossed with probability 1/2; the spread factor's distribution is
/// truncated so both children stay inside the bounds, and the children are
/// swapped with probability 1/2.
fn sbx_crossover<R: Rng + ?Sized>(c1: &mut [f64], c2: &mut [f64], eta: f64, rng: &mut R) {
    let exponent = 1.0 / (eta + 1.0);
    for (a, b) in c1.iter_mut().zip(c2.iter_mut()) {
        if rng.random::<f64>() >= 0.5 || (*a - *b).abs() <= SBX_MIN_GAP {
            continue;
        }
        let (y1, y2) = if a < b { (*a, *b) } else { (*b, *a) };
        let gap = y2 - y1;
        let u: f64 = rng.random();
        // Spread factor beta_q for a child on the side of bound `room` away.
        let beta_q = |room: f64| {
            let beta = 1.0 + 2.0 * room / gap;
            let alpha = 2.0 - beta.powf(-(eta + 1.0));
            if u <= 1.0 / alpha {
                (u * alpha).powf(exponent)
            } else {
                (1.0 / (2.0 - u * alpha)).powf(exponent)
            }
        };
        let low = (0.5 * ((y1 + y2) - beta_q(y1) * gap)).clamp(0.0, 1.0);
        let high = (0.5 * ((y1 + y2) + beta_q(1.0 - y2) * gap)).clamp(0.0, 1.0);
        if rng.random::<f64>() < 0.5 {
            (*a, *b) = (high, low);
        } else {
            (*a, *b) = (low, high);
        }
    }
}

/// Bounded polynomial mutation on `[0, 1]`: each coordinate mutates with
/// probability `probability`; the perturbation's distribution is shaped so
/// the result stays inside the bounds.
fn polynomial_mutation<R: Rng + ?Sized>(x: &mut [f64], probability: f64, eta: f64, rng: &mut R) {
    let exponent = 1.0 / (eta + 1.0);
    for v in x.iter_mut() {
        if rng.random::<f64>() >= probability {
            continue;
        }
        let y = *v;
        let u: f64 = rng.random();
        let delta = if u < 0.5 {
            let t = 2.0 * u + (1.0 - 2.0 * u) * (1.0 - y).powf(eta + 1.0);
            t.powf(exponent) - 1.0
        } else {
            let t = 2.0 * (1.0 - u) + 2.0 * (u - 0.5) * y.powf(eta + 1.0);
            1.0 - t.powf(exponent)
        };
        *v = (y + delta).clamp(0.0, 1.0);
    }
}

#[cfg(test)]
mod tests {
    use super::super::hypervolume::hypervolume;
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    /// ZDT1 (Zitzler, Deb, Thiele 2000): f1 = x1,
    /// g = 1 + 9 sum_{i>=2} x_i / (n - 1), f2 = g (1 - sqrt(f1 / g)).
    /// Pareto front: g = 1, f2 = 1 - sqrt(f1), f1 in [0, 1].
    fn zdt1(x: &[f64]) -> Vec<f64> {
        let f1 = x[0];
        let g = 1.0 + 9.0 * x[1..].iter().sum::<f64>() / (x.len() - 1) as f64;
        vec![f1, g * (1.0 - (f1 / g).sqrt())]
    }

    #[test]
    fn non_dominated_sort_by_hand() {
        // Front 1: (1,4), (2,2), (4,1); front 2: (3,3) (dominated by (2,2)),
        // (2,5) (by (1,4)); front 3: (4,4) (by (3,3)); duplicates of (2,2)
        // share its front.
        let f = vec![
            vec![3.0, 3.0], // 0
            vec![1.0, 4.0], // 1
            vec![4.0, 4.0], // 2
            vec![2.0, 2.0], // 3
            vec![4.0, 1.0], // 4
            vec![2.0, 5.0], // 5
            vec![2.0, 2.0], // 6
        ];
        assert_eq!(
            fast_non_dominated_sort(&f),
            vec![vec![1, 3, 4, 6], vec![0, 5], vec![2]]
        );
        let empty: Vec<Vec<f64>> = Vec::new();
        assert!(fast_non_dominated_sort(&empty).is_empty());
    }

    #[test]
    fn crowding_distance_by_hand() {
        // Front (0,4), (1,2), (2,1), (4,0): ranges 4 and 4.
        // Sorted by f1: 0, 1, 2, 3 -> member 1 gets (2 - 0)/4 = 0.5,
        // member 2 gets (4 - 1)/4 = 0.75. Sorted by f2 (reverse order):
        // member 1 gets (4 - 1)/4 = 0.75, member 2 gets (2 - 0)/4 = 0.5.
        // Totals: inf, 1.25, 1.25, inf.
        let f = vec![
            vec![0.0, 4.0],
            vec![1.0, 2.0],
            vec![2.0, 1.0],
            vec![4.0, 0.0],
        ];
        let d = crowding_distance(&f, &[0, 1, 2, 3]);
        assert_eq!(d, vec![f64::INFINITY, 1.25, 1.25, f64::INFINITY]);
        // Order of the result follows the order of `front`.
        let d = crowding_distance(&f, &[2, 0, 3, 1]);
        assert_eq!(d, vec![1.25, f64::INFINITY, f64::INFINITY, 1.25]);
        assert_eq!(crowding_distance(&f, &[1, 2]), vec![f64::INFINITY; 2]);
        // Zero range in one objective adds nothing for it.
        let flat = vec![vec![1.0, 0.0], vec![1.0, 1.0], vec![1.0, 3.0]];
        let d = crowding_distance(&flat, &[0, 1, 2]);
        assert_eq!(d[1], 1.0);
    }

    #[test]
    fn operators_stay_in_bounds() {
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        for _ in 0..2000 {
            let mut a: Vec<f64> = (0..6).map(|_| rng.random()).collect();
            let mut b: Vec<f64> = (0..6).map(|_| rng.random()).collect();
            a[0] = 0.0;
            b[1] = 1.0;
            sbx_crossover(&mut a, &mut b, 15.0, &mut rng);
            polynomial_mutation(&mut a, 1.0, 20.0, &mut rng);
            polynomial_mutation(&mut b, 1.0, 0.0, &mut rng);
            assert!(a.iter().chain(&b).all(|v| (0.0..=1.0).contains(v)));
        }
    }

    #[test]
    fn sbx_keeps_the_mean_of_symmetric_parents() {
        // Parents 0.4 and 0.6 have equal room (0.4) to their bounds, so both
        // children use the same spread factor beta_q:
        // children = 0.5 -+ beta_q * 0.1, whose mean is exactly 0.5.
        let mut rng = ChaCha8Rng::seed_from_u64(6);
        let mut moved = 0;
        for _ in 0..500 {
            let mut a = vec![0.4];
            let mut b = vec![0.6];
            sbx_crossover(&mut a, &mut b, 15.0, &mut rng);
            assert!((0.5 * (a[0] + b[0]) - 0.5).abs() < 1e-15);
            if a[0] != 0.4 && a[0] != 0.6 {
                moved += 1;
            }
        }
        // Each coordinate is crossed with probability 1/2.
        assert!((200..300).contains(&moved), "crossed {moved} of 500");
    }

    #[test]
    fn zdt1_front_reaches_high_hypervolume() {
        // ZDT1 with 10 variables, N = 100, 100 generations (10 100
        // evaluations). Reference (1.1, 1.1). The true front's hypervolume is
        // integral_0^1 (1.1 - (1 - sqrt f1)) df1 + 0.1 * 1.1
        //   = 0.1 + 2/3 + 0.11 = 0.876667,
        // and a 100-point front can only approach it (the gaps between
        // points cost about 0.006). A random population scores 0 (its
        // g = 1 + 9 mean(x_2..) is about 5.5, so every f2 exceeds 1.1) and
        // after 10 generations 0.19 to 0.51, so > 0.85 means the population
        // reached the front and spread along it. Observed with seeds 0..10:
        // 0.8691 to 0.8703, every member on the first front. (With 30
        // variables, 100 generations give only 0.845 to 0.852; 250 give
        // about 0.869.)
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let result = nsga2(10, zdt1, &Nsga2Config::default(), &mut rng).unwrap();
        assert_eq!(result.population.len(), 100);
        assert_eq!(result.evaluations, 100 * 101);
        let hv = hypervolume(&result.front_f, &[1.1, 1.1]).unwrap();
        assert!(hv > 0.85, "hypervolume {hv}");
        assert!(hv < 0.876_667, "hypervolume {hv} above the true front's");
        assert!(result
            .population
            .iter()
            .flatten()
            .all(|v| (0.0..=1.0).contains(v)));
        // The front fields agree with the population.
        for (k, &i) in result.front.iter().enumerate() {
            assert_eq!(result.front_x[k], result.population[i]);
            assert_eq!(result.front_f[k], result.objectives[i]);
        }
    }

    #[test]
    fn same_seed_same_result() {
        let config = Nsga2Config {
            population_size: 30,
            generations: 20,
            ..Nsga2Config::default()
        };
        let run = |seed| nsga2(5, zdt1, &config, &mut ChaCha8Rng::seed_from_u64(seed)).unwrap();
        assert_eq!(run(17), run(17));
        assert_ne!(run(17).population, run(18).population);
    }

    #[test]
    fn batch_and_pointwise_evaluation_agree() {
        let config = Nsga2Config {
            population_size: 21,
            generations: 10,
            ..Nsga2Config::default()
        };
        let mut batches = Vec::new();
        let batch = nsga2_batch(
            4,
            |xs: &[Vec<f64>]| {
                batches.push(xs.len());
                xs.iter().map(|x| zdt1(x)).collect()
            },
            &config,
            &mut ChaCha8Rng::seed_from_u64(3),
        )
        .unwrap();
        let single = nsga2(4, zdt1, &config, &mut ChaCha8Rng::seed_from_u64(3)).unwrap();
        assert_eq!(batch, single);
        // The initial population and one batch of children per generation,
        // each of odd size 21.
        assert_eq!(batches, vec![21; 11]);
    }

    #[test]
    fn zero_generations_returns_the_initial_population() {
        let config = Nsga2Config {
            population_size: 8,
            generations: 0,
            ..Nsga2Config::default()
        };
        let r = nsga2(
            2,
            |x| vec![x[0], 1.0 - x[0]],
            &config,
            &mut ChaCha8Rng::seed_from_u64(0),
        )
        .unwrap();
        assert_eq!(r.evaluations, 8);
        // f2 = 1 - f1: every member is non-dominated.
        assert_eq!(r.front, (0..8).collect::<Vec<_>>());
    }

    #[test]
    fn single_objective_converges_to_the_minimum() {
        let config = Nsga2Config {
            population_size: 20,
            generations: 60,
            ..Nsga2Config::default()
        };
        let r = nsga2(
            3,
            |x| vec![x.iter().map(|v| (v - 0.3).powi(2)).sum()],
            &config,
            &mut ChaCha8Rng::seed_from_u64(2),
        )
        .unwrap();
        let best = r.front_f.iter().map(|f| f[0]).fold(f64::INFINITY, f64::min);
        assert!(best < 1e-3, "best {best}");
    }

    #[test]
    fn invalid_configurations_and_objectives() {
        let mut rng = ChaCha8Rng::seed_from_u64(0);
        let ok = Nsga2Config::default();
        let f = |x: &[f64]| vec![x[0]];
        assert_eq!(nsga2(0, f, &ok, &mut rng), Err(Nsga2Error::ZeroDimension));
        let small = Nsga2Config {
            population_size: 1,
            ..ok.clone()
        };
        assert_eq!(
            nsga2(2, f, &small, &mut rng),
            Err(Nsga2Error::PopulationTooSmall(1))
        );
        let bad_p = Nsga2Config {
            crossover_probability: 1.5,
            ..ok.clone()
        };
        assert!(matches!(
            nsga2(2, f, &bad_p, &mut rng),
            Err(Nsga2Error::InvalidProbability { .. })
        ));
        let bad_eta = Nsga2Config {
            mutation_eta: f64::NAN,
            ..ok.clone()
        };
        assert!(matches!(
            nsga2(2, f, &bad_eta, &mut rng),
            Err(Nsga2Error::InvalidEta { .. })
        ));
        assert!(matches!(
            nsga2(2, |_| vec![f64::NAN], &ok, &mut rng),
            Err(Nsga2Error::NonFiniteObjective(_))
        ));
        assert!(matches!(
            nsga2(2, |_| Vec::new(), &ok, &mut rng),
            Err(Nsga2Error::ObjectiveCount { .. })
        ));
        assert!(matches!(
            nsga2(
                2,
                |x| if x[0] < 0.5 {
                    vec![1.0]
                } else {
                    vec![1.0, 2.0]
                },
                &ok,
                &mut rng
            ),
            Err(Nsga2Error::ObjectiveCount { .. })
        ));
        assert_eq!(
            nsga2_batch(2, |_| vec![vec![1.0]], &ok, &mut rng),
            Err(Nsga2Error::BatchSize {
                expected: 100,
                got: 1
            })
        );
    }
}
