//! One CF-MESMO step: from the observations so far, choose the next (design, fidelity).
//!
//! 1. Fit one GP per objective ([`Surrogate`]): objectives that depend on the fidelity over
//!    `(x, z)` (an anisotropic squared-exponential kernel over the joint input is the
//!    product kernel `k_x k_z`), the others over `x` alone, since any evaluation measures
//!    them exactly whatever its fidelity.
//! 2. Draw `S` posterior function samples at full fidelity with random Fourier features,
//!    solve each sampled multi-objective problem with NSGA-II, and keep per objective the
//!    best value on the sampled front, `y*_j^s` (never below the best value observed).
//! 3. Score candidates `(x, z)` with the information gain about the front per unit cost,
//!    `alpha(x, z) = (1/S) sum_s sum_j IG_j^s(x, z) / C(z)`: at full fidelity the
//!    truncated-Gaussian term of MESMO; at a lower fidelity the extended skew-Gaussian
//!    gain through the posterior correlation between `g_j(x, z)` and `f_j(x)`
//!    ([`lower_fidelity_information_gain`]), which vanishes when the lower fidelity
//!    says nothing about the full one.
//! 4. Maximise `alpha` over a Sobol pool at every fidelity level, then refine the best
//!    candidates with a seeded (1+1) evolution strategy at their fidelity.
//! 5. If no candidate gains more than [`StepConfig::exhausted_gain`] nats, the sampled
//!    maxima are learned and `alpha` is flat, so its argmax would be arbitrary. The step
//!    then refines the front ([`Rule::FrontRefinement`]): among the samples' Pareto sets
//!    and the pool, the design whose posterior mean at full fidelity adds the most
//!    hypervolume to the observed full-fidelity front, evaluated at full fidelity.
//!
//! All objectives are maximised. The step is a pure function of the observations, the
//! configuration and the seed, so a resumed study makes the same decision.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use thiserror::Error;

use super::acquisition::{information_gain_term, lower_fidelity_information_gain, MIN_SIGMA};
use super::gp::{GpConfig, GpError, GpHyperparameters, Surrogate};
use super::hypervolume::hypervolume;
use super::nsga2::{nsga2_batch, Nsga2Config};
use super::sampling::{latin_hypercube, Sobol, SOBOL_MAX_DIM};

/// One evaluated point: design `x` in `[0, 1]^d`, fidelity `z` in `(0, 1]`, objectives `y`
/// (maximised). Non-finite objectives mark a failed evaluation, which is skipped.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Observation {
    /// The design, normalised.
    pub x: Vec<f64>,
    /// The fidelity, normalised so that 1 is full fidelity.
    pub z: f64,
    /// The objective values, all maximised.
    pub y: Vec<f64>,
}

/// Settings of a step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StepConfig {
    /// Posterior samples of the Pareto front, `S`.
    pub samples: usize,
    /// Random Fourier features per posterior sample.
    pub rff_features: usize,
    /// NSGA-II population when solving a sampled problem.
    pub front_population: usize,
    /// NSGA-II generations when solving a sampled problem.
    pub front_generations: usize,
    /// Sobol candidates scored at every fidelity level.
    pub pool_size: usize,
    /// Best candidates refined locally.
    pub refine_top: usize,
    /// Steps of local refinement per candidate.
    pub refine_steps: usize,
    /// The information gain (nats) below which the sampled fronts' maxima are taken as
    /// learned: when no candidate at any fidelity would gain more, the step refines the
    /// front instead ([`Rule::FrontRefinement`]). `0` keeps to the information gain.
    pub exhausted_gain: f64,
    /// GP fitting.
    pub gp: GpConfig,
}

impl Default for StepConfig {
    fn default() -> Self {
        StepConfig {
            samples: 10,
            rff_features: 500,
            front_population: 40,
            front_generations: 40,
            pool_size: 512,
            refine_top: 3,
            refine_steps: 20,
            exhausted_gain: 0.01,
            gp: GpConfig::default(),
        }
    }
}

impl StepConfig {
    /// Checks every setting against a range a step can run in (the upper bounds keep a
    /// typo from exhausting memory or time); the message names the key under
    /// `[optimizer.cf_mesmo]`.
    pub fn validate(&self) -> Result<(), String> {
        let ranges = [
            ("samples", self.samples, 1, 1_000),
            ("rff_features", self.rff_features, 1, 100_000),
            ("front_population", self.front_population, 2, 10_000),
            ("front_generations", self.front_generations, 1, 10_000),
            ("pool_size", self.pool_size, 1, 1_000_000),
            ("refine_top", self.refine_top, 0, self.pool_size),
            ("refine_steps", self.refine_steps, 0, 10_000),
            ("gp.n_start", self.gp.n_start, 0, 1_000),
        ];
        for (key, value, lo, hi) in ranges {
            if !(lo..=hi).contains(&value) {
                return Err(format!("{key} = {value} is outside {lo}..={hi}"));
            }
        }
        let gain = self.exhausted_gain;
        if !(gain.is_finite() && gain >= 0.0) {
            return Err(format!(
                "exhausted_gain = {gain} must be a finite number of nats, at least 0"
            ));
        }
        Ok(())
    }
}

/// What the step optimises over.
pub struct StepProblem<'a> {
    /// Dimension of `x`.
    pub dim: usize,
    /// Per objective: whether it depends on the fidelity.
    pub fidelity_dependent: &'a [bool],
    /// The fidelity levels that may be proposed, in `(0, 1]` (just `[1.0]` for MESMO).
    pub fidelities: &'a [f64],
    /// The deterministic cost `C(z)`, normalised so that `C(1) = 1`.
    pub cost: &'a (dyn Fn(f64) -> f64 + Sync),
}

/// Which rule chose a step's design.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Rule {
    /// The largest information gain per unit cost, `alpha(x, z)`.
    #[default]
    InformationGain,
    /// Every candidate's information gain was below [`StepConfig::exhausted_gain`]: the
    /// design whose posterior mean at full fidelity adds the most hypervolume to the
    /// full-fidelity front observed so far, among the sampled Pareto sets and the pool.
    FrontRefinement,
    /// A random design, chosen by the caller where every redrawn step repeated an
    /// evaluation already done or pending.
    Random,
}

/// The decision and everything needed to audit or replay it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepRecord {
    /// The proposed design, normalised.
    pub x: Vec<f64>,
    /// The proposed fidelity.
    pub z: f64,
    /// The rule that chose it.
    #[serde(default)]
    pub rule: Rule,
    /// `alpha(x, z)`: information gain per unit cost.
    pub acquisition: f64,
    /// The information gain alone.
    pub information_gain: f64,
    /// `C(z)`.
    pub cost: f64,
    /// The sampled front maxima `y*[s][j]`.
    pub y_star: Vec<Vec<f64>>,
    /// The fitted GP hyperparameters, per objective.
    pub hyperparameters: Vec<GpHyperparameters>,
    /// Observations the GPs were fitted on.
    pub observations_used: usize,
    /// Observations skipped (failed: non-finite objectives, or out of range).
    pub observations_skipped: usize,
}

/// Why a step could not be taken.
#[derive(Debug, Error)]
pub enum StepError {
    /// Fewer than two usable observations: the caller should evaluate its initial design.
    #[error("{usable} usable observations ({skipped} skipped as failed); a step needs at least 2: evaluate the initial design first")]
    TooFewObservations {
        /// Usable observations.
        usable: usize,
        /// Skipped ones.
        skipped: usize,
    },
    /// The problem description is inconsistent.
    #[error("invalid step problem: {0}")]
    InvalidProblem(String),
    /// A GP could not be fitted.
    #[error("GP fit of objective {objective}: {source}")]
    Gp {
        /// The objective's index.
        objective: usize,
        /// The GP's error.
        source: GpError,
    },
}

/// The fitted surrogates and the sampled front maxima: what scores a candidate.
struct Posterior<'a> {
    problem: &'a StepProblem<'a>,
    gps: &'a [Surrogate],
    y_star: Vec<Vec<f64>>,
}

/// The GP inputs of designs `xs` at full fidelity: `(x, 1)` for an objective that
/// depends on the fidelity, `x` for one that does not.
fn at_full_fidelity(xs: &[Vec<f64>], dependent: bool) -> Vec<Vec<f64>> {
    if dependent {
        xs.iter().map(|x| with_z(x, 1.0)).collect()
    } else {
        xs.to_vec()
    }
}

fn with_z(x: &[f64], z: f64) -> Vec<f64> {
    let mut v = x.to_vec();
    v.push(z);
    v
}

impl Posterior<'_> {
    /// `alpha` and the information gain of each `x` at fidelity `z`, scored in parallel
    /// chunks (every point's score is independent of the others).
    fn score(&self, xs: &[Vec<f64>], z: f64) -> Vec<(f64, f64)> {
        const CHUNK: usize = 32;
        if xs.len() <= CHUNK {
            return self.score_chunk(xs, z);
        }
        xs.par_chunks(CHUNK)
            .flat_map_iter(|chunk| self.score_chunk(chunk, z))
            .collect()
    }

    fn score_chunk(&self, xs: &[Vec<f64>], z: f64) -> Vec<(f64, f64)> {
        let cost = (self.problem.cost)(z);
        let mut gain = vec![0.0; xs.len()];
        for (j, gp) in self.gps.iter().enumerate() {
            let dependent = self.problem.fidelity_dependent[j];
            let full = at_full_fidelity(xs, dependent);
            let floor = MIN_SIGMA * gp.hyperparameters().y_std.max(f64::MIN_POSITIVE);
            for (i, (mu, sigma)) in gp.predict(&full).into_iter().enumerate() {
                let rho = if dependent && z < 1.0 {
                    gp.posterior_correlation(&with_z(&xs[i], z), &full[i])
                } else {
                    1.0
                };
                let ig: f64 = self
                    .y_star
                    .iter()
                    .map(|ys| {
                        let gamma = (ys[j] - mu) / sigma.max(floor);
                        if rho >= 1.0 {
                            information_gain_term(gamma)
                        } else {
                            lower_fidelity_information_gain(gamma, rho)
                        }
                    })
                    .sum::<f64>()
                    / self.y_star.len() as f64;
                gain[i] += ig;
            }
        }
        gain.into_iter().map(|g| (g / cost, g)).collect()
    }
}

/// The GPs of a step, fitted on the usable observations.
pub struct FittedSurrogates {
    /// One surrogate per objective.
    pub gps: Vec<Surrogate>,
    /// The observations they were fitted on (failed ones removed).
    pub usable: Vec<Observation>,
    /// How many observations were skipped as failed.
    pub skipped: usize,
}

impl FittedSurrogates {
    /// The kernel parameters of every GP: what the GP fit stage caches, keyed on the
    /// observations, and hands back to [`fit_surrogates`] to skip the tuning.
    pub fn thetas(&self) -> Vec<Vec<f64>> {
        self.gps.iter().map(|g| g.hyperparameters().theta).collect()
    }
}

/// Takes one CF-MESMO step (MESMO when `problem.fidelities` is `[1.0]`).
pub fn propose(
    observations: &[Observation],
    problem: &StepProblem,
    config: &StepConfig,
    seed: u64,
) -> Result<StepRecord, StepError> {
    let fitted = fit_surrogates(observations, problem, config, None)?;
    propose_from(&fitted, problem, config, seed)
}

/// Fits one GP per objective on the usable observations; with `cached_thetas` (from
/// [`FittedSurrogates::thetas`] of a fit on the same observations) the kernel
/// parameters are reused instead of tuned, which gives the same GPs.
pub fn fit_surrogates(
    observations: &[Observation],
    problem: &StepProblem,
    config: &StepConfig,
    cached_thetas: Option<&[Vec<f64>]>,
) -> Result<FittedSurrogates, StepError> {
    let k = problem.fidelity_dependent.len();
    if k == 0 || problem.dim == 0 {
        return Err(StepError::InvalidProblem(
            "no objectives or no variables".into(),
        ));
    }
    if problem.fidelities.is_empty() || problem.fidelities.iter().any(|&z| !(z > 0.0 && z <= 1.0)) {
        return Err(StepError::InvalidProblem(format!(
            "fidelities must be in (0, 1], got {:?}",
            problem.fidelities
        )));
    }
    if cached_thetas.is_some_and(|t| t.len() != k) {
        return Err(StepError::InvalidProblem(format!(
            "cached thetas are not {k} objectives"
        )));
    }
    let usable: Vec<Observation> = observations
        .iter()
        .filter(|o| {
            o.y.len() == k
                && o.x.len() == problem.dim
                && o.y.iter().all(|v| v.is_finite())
                && o.x.iter().all(|v| (0.0..=1.0).contains(v))
                && o.z > 0.0
                && o.z <= 1.0
        })
        .cloned()
        .collect();
    let skipped = observations.len() - usable.len();
    if usable.len() < 2 {
        return Err(StepError::TooFewObservations {
            usable: usable.len(),
            skipped,
        });
    }
    let mut gps = Vec::with_capacity(k);
    for j in 0..k {
        let xs: Vec<Vec<f64>> = usable
            .iter()
            .map(|o| {
                if problem.fidelity_dependent[j] {
                    with_z(&o.x, o.z)
                } else {
                    o.x.clone()
                }
            })
            .collect();
        let ys: Vec<f64> = usable.iter().map(|o| o.y[j]).collect();
        let fitted = match cached_thetas {
            Some(t) => Surrogate::fit_with_theta(&xs, &ys, &t[j]),
            None => Surrogate::fit(&xs, &ys, &config.gp),
        };
        gps.push(fitted.map_err(|source| StepError::Gp {
            objective: j,
            source,
        })?);
    }
    Ok(FittedSurrogates {
        gps,
        usable,
        skipped,
    })
}

/// Takes the step from already fitted surrogates.
pub fn propose_from(
    fitted: &FittedSurrogates,
    problem: &StepProblem,
    config: &StepConfig,
    seed: u64,
) -> Result<StepRecord, StepError> {
    let usable: Vec<&Observation> = fitted.usable.iter().collect();
    let skipped = fitted.skipped;
    let gps = &fitted.gps;
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let (y_star, sampled_sets) = sample_fronts(gps, &usable, problem, config, &mut rng);
    let posterior = Posterior {
        problem,
        gps,
        y_star,
    };

    // Score a Sobol pool (or an LHS pool beyond Sobol's dimensions) at every fidelity.
    let pool: Vec<Vec<f64>> = if problem.dim <= SOBOL_MAX_DIM {
        Sobol::with_digital_shift(problem.dim, &mut rng)
            .expect("dimension checked")
            .take(config.pool_size.max(1))
            .collect()
    } else {
        latin_hypercube(config.pool_size.max(1), problem.dim, &mut rng)
    };
    let mut candidates: Vec<(f64, f64, Vec<f64>, f64)> = Vec::new();
    for &z in problem.fidelities {
        for ((alpha, gain), x) in posterior.score(&pool, z).into_iter().zip(&pool) {
            candidates.push((alpha, gain, x.clone(), z));
        }
    }
    let mut max_gain = candidates.iter().map(|c| c.1).fold(0.0, f64::max);
    candidates.sort_by(|a, b| b.0.total_cmp(&a.0));
    candidates.truncate(config.refine_top.max(1));
    let mut best: Option<(f64, f64, Vec<f64>, f64)> = None;
    for (alpha, gain, x, z) in candidates {
        let refined = refine(
            &posterior,
            (alpha, gain, x),
            z,
            config.refine_steps,
            &mut rng,
        );
        max_gain = max_gain.max(refined.1);
        if best.as_ref().is_none_or(|b| refined.0 > b.0) {
            best = Some((refined.0, refined.1, refined.2, z));
        }
    }
    let (mut acquisition, mut information_gain, mut x, mut z) =
        best.expect("at least one candidate");
    let mut rule = Rule::InformationGain;
    if max_gain < config.exhausted_gain {
        let mut front_candidates = sampled_sets;
        front_candidates.extend(pool);
        if let Some(refined) = front_refinement(gps, &usable, problem, &front_candidates) {
            (acquisition, information_gain) =
                posterior.score(std::slice::from_ref(&refined), 1.0)[0];
            (x, z, rule) = (refined, 1.0, Rule::FrontRefinement);
        }
    }
    Ok(StepRecord {
        x,
        z,
        rule,
        acquisition,
        information_gain,
        cost: (problem.cost)(z),
        y_star: posterior.y_star,
        hyperparameters: posterior
            .gps
            .iter()
            .map(Surrogate::hyperparameters)
            .collect(),
        observations_used: usable.len(),
        observations_skipped: skipped,
    })
}

/// Solves `S` posterior samples at full fidelity for their Pareto fronts. Returns
/// `y*[s][j]`, the best value of objective `j` on the front of sample `s` (never below
/// the best value observed at full fidelity), and the union of the samples' Pareto sets.
fn sample_fronts(
    gps: &[Surrogate],
    usable: &[&Observation],
    problem: &StepProblem,
    config: &StepConfig,
    rng: &mut ChaCha8Rng,
) -> (Vec<Vec<f64>>, Vec<Vec<f64>>) {
    let k = gps.len();
    let observed_best: Vec<f64> = (0..k)
        .map(|j| {
            usable
                .iter()
                .filter(|o| !problem.fidelity_dependent[j] || o.z >= 1.0)
                .map(|o| o.y[j])
                .fold(f64::NEG_INFINITY, f64::max)
        })
        .collect();
    let nsga = Nsga2Config {
        population_size: config.front_population.max(4),
        generations: config.front_generations,
        ..Nsga2Config::default()
    };
    // One seed per sample, drawn in order, so that the samples can be solved in
    // parallel and the result still depends only on the step's seed.
    let seeds: Vec<u64> = (0..config.samples.max(1)).map(|_| rng.random()).collect();
    let (dim, dependent) = (problem.dim, problem.fidelity_dependent);
    let (y_star, sets): (Vec<Vec<f64>>, Vec<Vec<Vec<f64>>>) = seeds
        .into_par_iter()
        .map(|seed| {
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            let samples: Vec<_> = gps
                .iter()
                .map(|gp| gp.rff_sample(config.rff_features.max(1), &mut rng))
                .collect();
            let evaluate = |xs: &[Vec<f64>]| -> Vec<Vec<f64>> {
                let per_objective: Vec<Vec<f64>> = samples
                    .iter()
                    .enumerate()
                    .map(|(j, s)| {
                        if dependent[j] {
                            let full: Vec<Vec<f64>> = xs.iter().map(|x| with_z(x, 1.0)).collect();
                            s.eval_batch(&full)
                        } else {
                            s.eval_batch(xs)
                        }
                    })
                    .collect();
                (0..xs.len())
                    .map(|i| per_objective.iter().map(|v| -v[i]).collect())
                    .collect()
            };
            let front =
                nsga2_batch(dim, evaluate, &nsga, &mut rng).expect("valid NSGA-II configuration");
            let y_star: Vec<f64> = (0..k)
                .map(|j| {
                    front
                        .front_f
                        .iter()
                        .map(|f| -f[j])
                        .fold(observed_best[j], f64::max)
                })
                .collect();
            (y_star, front.front_x)
        })
        .unzip();
    (y_star, sets.concat())
}

/// The candidate whose posterior mean at full fidelity adds the most hypervolume to the
/// front of the full-fidelity observations, or `None` when none adds any.
///
/// The reference point is the worst value of each objective over the usable
/// observations, pushed 10 % of its range further out. Ties go to the earlier candidate,
/// so the choice is deterministic.
fn front_refinement(
    gps: &[Surrogate],
    usable: &[&Observation],
    problem: &StepProblem,
    candidates: &[Vec<f64>],
) -> Option<Vec<f64>> {
    // Minimisation form throughout: objectives negated.
    let negated = |y: &[f64]| -> Vec<f64> { y.iter().map(|v| -v).collect() };
    let front: Vec<Vec<f64>> = usable
        .iter()
        .filter(|o| o.z >= 1.0)
        .map(|o| negated(&o.y))
        .collect();
    let reference: Vec<f64> = (0..gps.len())
        .map(|j| {
            let (lo, hi) = usable
                .iter()
                .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), o| {
                    (lo.min(-o.y[j]), hi.max(-o.y[j]))
                });
            hi + 0.1 * (hi - lo) + f64::EPSILON * hi.abs().max(1.0)
        })
        .collect();
    let means: Vec<Vec<f64>> = {
        let per_objective: Vec<Vec<f64>> = gps
            .iter()
            .enumerate()
            .map(|(j, gp)| {
                gp.predict(&at_full_fidelity(candidates, problem.fidelity_dependent[j]))
                    .into_iter()
                    .map(|(mu, _)| -mu)
                    .collect()
            })
            .collect();
        (0..candidates.len())
            .map(|i| per_objective.iter().map(|v| v[i]).collect())
            .collect()
    };
    let improvements: Vec<f64> = means
        .par_iter()
        .map(|m| hypervolume_improvement(m, &front, &reference))
        .collect();
    let (best, gain) = improvements
        .iter()
        .enumerate()
        .fold((0, 0.0), |b, (i, &g)| if g > b.1 { (i, g) } else { b });
    (gain > 0.0).then(|| candidates[best].clone())
}

/// The hypervolume (minimisation, bounded by `reference`) that `point` adds to `front`:
/// its own box less the part of it the front already dominates, which is the
/// hypervolume of the front's points clipped to the box.
fn hypervolume_improvement(point: &[f64], front: &[Vec<f64>], reference: &[f64]) -> f64 {
    if !point.iter().zip(reference).all(|(p, r)| p < r) {
        return 0.0;
    }
    if front
        .iter()
        .any(|f| f.iter().zip(point).all(|(a, b)| a <= b))
    {
        return 0.0;
    }
    let own: f64 = point.iter().zip(reference).map(|(p, r)| r - p).product();
    let clipped: Vec<Vec<f64>> = front
        .iter()
        .map(|f| f.iter().zip(point).map(|(a, b)| a.max(*b)).collect())
        .collect();
    let covered = hypervolume(&clipped, reference).expect("finite points and reference");
    (own - covered).max(0.0)
}

/// A seeded (1+1) evolution strategy on `alpha` at fixed `z`, with step-size adaptation
/// (grow 1.5x on success, shrink 0.7x on failure), inside `[0, 1]^d`.
fn refine(
    posterior: &Posterior,
    start: (f64, f64, Vec<f64>),
    z: f64,
    steps: usize,
    rng: &mut ChaCha8Rng,
) -> (f64, f64, Vec<f64>) {
    let (mut alpha, mut gain, mut x) = start;
    let mut step = 0.05;
    for _ in 0..steps {
        let trial: Vec<f64> = x
            .iter()
            .map(|&v| (v + step * rng.sample::<f64, _>(StandardNormal)).clamp(0.0, 1.0))
            .collect();
        let (a, g) = posterior.score(std::slice::from_ref(&trial), z)[0];
        if a > alpha {
            (alpha, gain, x) = (a, g, trial);
            step = (step * 1.5).min(0.5);
        } else {
            step = (step * 0.7).max(1e-4);
        }
    }
    (alpha, gain, x)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::optimizer::synthetic::{BraninCurrin, MultiFidelityProblem};

    fn small() -> StepConfig {
        StepConfig {
            samples: 3,
            rff_features: 200,
            front_population: 16,
            front_generations: 8,
            pool_size: 64,
            refine_top: 2,
            refine_steps: 5,
            ..StepConfig::default()
        }
    }

    fn observations(n: usize) -> Vec<Observation> {
        let p = BraninCurrin::new();
        let mut rng = ChaCha8Rng::seed_from_u64(9);
        latin_hypercube(n, 2, &mut rng)
            .into_iter()
            .enumerate()
            .map(|(i, x)| {
                let z = if i % 2 == 0 { 1.0 } else { 0.5 };
                let y = p.evaluate(&x, z);
                Observation { x, z, y }
            })
            .collect()
    }

    fn problem<'a>(
        cost: &'a (dyn Fn(f64) -> f64 + Sync),
        fidelities: &'a [f64],
    ) -> StepProblem<'a> {
        StepProblem {
            dim: 2,
            fidelity_dependent: &[true, true],
            fidelities,
            cost,
        }
    }

    #[test]
    fn the_step_is_deterministic_given_seed_and_observations() {
        let cost = |z: f64| 0.05 + 0.95 * z;
        let p = problem(&cost, &[0.5, 1.0]);
        let obs = observations(10);
        let a = propose(&obs, &p, &small(), 1).unwrap();
        let b = propose(&obs, &p, &small(), 1).unwrap();
        assert_eq!(a, b);
        assert!(a.x.iter().all(|v| (0.0..=1.0).contains(v)));
        assert!([0.5, 1.0].contains(&a.z));
        assert!(a.acquisition > 0.0 && a.acquisition.is_finite());
        assert!((a.acquisition - a.information_gain / a.cost).abs() < 1e-12);
        assert_eq!(a.y_star.len(), 3);
        assert_eq!(a.hyperparameters.len(), 2);
    }

    #[test]
    fn cached_kernel_parameters_give_the_same_step() {
        let cost = |z: f64| 0.05 + 0.95 * z;
        let p = problem(&cost, &[0.5, 1.0]);
        let obs = observations(10);
        let tuned = fit_surrogates(&obs, &p, &small(), None).unwrap();
        let cached = fit_surrogates(&obs, &p, &small(), Some(&tuned.thetas())).unwrap();
        let a = propose_from(&tuned, &p, &small(), 4).unwrap();
        let b = propose_from(&cached, &p, &small(), 4).unwrap();
        assert_eq!(a.z, b.z);
        for (u, v) in a.x.iter().zip(&b.x) {
            assert!((u - v).abs() < 1e-6, "{:?} vs {:?}", a.x, b.x);
        }
        assert_eq!(a, propose(&obs, &p, &small(), 4).unwrap());
    }

    #[test]
    fn failed_observations_are_skipped_and_counted() {
        let cost = |z: f64| z;
        let p = problem(&cost, &[1.0]);
        let mut obs = observations(8);
        obs[0].y[1] = f64::NAN;
        let rec = propose(&obs, &p, &small(), 2).unwrap();
        assert_eq!((rec.observations_used, rec.observations_skipped), (7, 1));
        assert_eq!(rec.z, 1.0);
    }

    #[test]
    fn too_few_observations_and_bad_problems_say_so() {
        let cost = |z: f64| z;
        let err = propose(&observations(1), &problem(&cost, &[1.0]), &small(), 0).unwrap_err();
        assert!(err.to_string().contains("initial design"), "{err}");
        let err = propose(&observations(5), &problem(&cost, &[0.0, 1.0]), &small(), 0).unwrap_err();
        assert!(err.to_string().contains("fidelities"), "{err}");
    }

    #[test]
    fn hypervolume_improvement_by_hand() {
        let front = vec![vec![1.0, 3.0], vec![3.0, 1.0]];
        let r = [4.0, 4.0];
        // The box [2, 4]^2 (4) less the part [1, 3]-[3, 1] already cover (3).
        assert!((hypervolume_improvement(&[2.0, 2.0], &front, &r) - 1.0).abs() < 1e-12);
        assert_eq!(hypervolume_improvement(&[3.0, 3.0], &front, &r), 0.0);
        assert_eq!(hypervolume_improvement(&[1.0, 3.0], &front, &r), 0.0);
        assert_eq!(hypervolume_improvement(&[0.0, 5.0], &front, &r), 0.0);
        assert!((hypervolume_improvement(&[2.0, 2.0], &[], &r) - 4.0).abs() < 1e-12);
        // Three objectives: [0, 0, 0] against the single point [1, 1, 1] in [.., 2]^3.
        let cube = hypervolume_improvement(&[0.0; 3], &[vec![1.0; 3]], &[2.0; 3]);
        assert!((cube - 7.0).abs() < 1e-12);
    }

    /// With the threshold above any gain the step refines the front: a full-fidelity
    /// design whose predicted objectives no observation dominates; at `0` it never does.
    #[test]
    fn exhausted_information_turns_the_step_to_front_refinement() {
        let cost = |z: f64| 0.05 + 0.95 * z;
        let p = problem(&cost, &[0.5, 1.0]);
        let obs = observations(12);
        let forced = StepConfig {
            exhausted_gain: f64::INFINITY,
            ..small()
        };
        let rec = propose(&obs, &p, &forced, 6).unwrap();
        assert_eq!((rec.rule, rec.z), (Rule::FrontRefinement, 1.0));
        let fitted = fit_surrogates(&obs, &p, &forced, None).unwrap();
        let mean: Vec<f64> = fitted
            .gps
            .iter()
            .map(|gp| gp.predict(&[with_z(&rec.x, 1.0)])[0].0)
            .collect();
        for o in obs.iter().filter(|o| o.z >= 1.0) {
            assert!(
                !o.y.iter().zip(&mean).all(|(a, b)| a >= b),
                "{:?} dominates the prediction {mean:?}",
                o.y
            );
        }
        assert_eq!(rec, propose(&obs, &p, &forced, 6).unwrap());
        let never = StepConfig {
            exhausted_gain: 0.0,
            ..small()
        };
        assert_eq!(
            propose(&obs, &p, &never, 6).unwrap().rule,
            Rule::InformationGain
        );
    }

    /// A variable fixed in the design space (min = max) is a constant input column.
    #[test]
    fn a_degenerate_variable_does_not_break_the_step() {
        let cost = |z: f64| z;
        let p = problem(&cost, &[1.0]);
        let mut obs = observations(8);
        for o in &mut obs {
            o.x[1] = 0.0;
        }
        let rec = propose(&obs, &p, &small(), 3).unwrap();
        assert!(rec.acquisition.is_finite());
    }
}
