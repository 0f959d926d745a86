//! One CF-MESMO step: from the observations so far, choose the next (design, fidelity).
//!
//! 1. Fit one GP per modelled objective ([`Surrogate`]): objectives that depend on the
//!    fidelity over `(x, z)` (an anisotropic squared-exponential kernel over the joint
//!    input is the product kernel `k_x k_z`), the others over `x` alone, since any
//!    evaluation measures them exactly whatever its fidelity. A [`ObjectiveKind::Known`]
//!    objective (a cheap, exact function of the design, such as a PPA model's area) is
//!    not modelled: the step computes it ([`StepProblem::known`]).
//! 2. Draw `S` posterior function samples at full fidelity with random Fourier features,
//!    and solve each sampled multi-objective problem (sampled modelled objectives, exact
//!    known ones) with NSGA-II for its Pareto front.
//! 3. Score candidates `(x, z)` by a gain per unit cost, `alpha(x, z) = G(x, z) / C(z)`.
//!    The default gain ([`Gain::Hypervolume`], ours, [`crate::hv_gain`]) is the hypervolume
//!    the evaluation is expected to add to the evaluated full-fidelity front: the expected
//!    improvement at full fidelity, a lookahead on the candidate's posterior mean below
//!    it (with [`StepConfig::price_evaluations`], off by default, each evaluation is also
//!    charged what the run's budget left spreads over the evaluations it has left). The
//!    information gains average over the samples,
//!    `G = (1/S) sum_s IG^s(x, z)`: [`Gain::ParetoFront`] is conditioned on the sampled
//!    front itself ([`pareto_gain`]): the candidate's predictive distribution truncated to
//!    the region the front dominates, given its known objectives, through the posterior
//!    correlation between `g(x, z)` and `f(x)` at lower fidelities. [`Gain::Mesmo`] is
//!    MESMO's per-objective truncation at each objective's best sampled value `y*_j` (the
//!    extended skew-Gaussian gain of CF-MESMO at lower fidelities), kept as the ablation
//!    of the authors' method.
//! 4. Maximise `alpha` over a pool at every fidelity level that enumerates the discrete
//!    variables' values ([`candidates::pool`]), the sampled fronts' Pareto sets added;
//!    refine the best candidates over the continuous variables at their fidelity (L-BFGS
//!    for the hypervolume gain, a seeded (1+1) evolution strategy for the information
//!    gains). Every candidate is scored at the design it would run (snapped onto the
//!    grids).
//! 5. Our heuristic, off by default: if no candidate gains more than
//!    [`StepConfig::exhausted_gain`], the step refines the front
//!    ([`Rule::FrontRefinement`]): among the samples' Pareto sets and the pool, the design
//!    whose posterior mean at full fidelity adds the most hypervolume to the observed
//!    full-fidelity front, evaluated at full fidelity. It patched MESMO's gain, which is
//!    zero everywhere once the objectives' extremes are known; the front-conditioned gain
//!    does not need it.
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
use super::candidates::{self, is_continuous};
use super::gp::{GpConfig, GpError, GpHyperparameters, Kernel, Surrogate};
use super::hv_gain::{inferred_reference, FrontImprovement};
use super::hypervolume::hypervolume_improvement;
use super::lbfgs::{minimise, LbfgsConfig};
use super::nsga2::{nsga2_batch, Nsga2Config};
use super::pareto_gain::{dominated_cells, lower_bound_gain, spread_subset, Cell};
use super::rff::RffSample;
use crate::problem::{same_design, ObjectiveKind, Observation, StepProblem, SAME_DESIGN};

/// A posterior standard deviation below this fraction of the objective's output scale
/// counts as zero for the front-conditioned gain: the value is known there (a training
/// point of a noise-free GP), so observing it again tells nothing.
const KNOWN_SIGMA: f64 = 1e-6;

/// Which information gain scores a candidate.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Gain {
    /// Conditioned on each sampled Pareto front ([`pareto_gain`]): the lower bound of
    /// multi-objective max-value entropy search, the same estimator at every fidelity.
    ParetoFront,
    /// MESMO's sum over objectives of the truncation at each one's best sampled value
    /// (the extended skew-Gaussian gain at lower fidelities): the authors' CF-MESMO.
    Mesmo,
    /// Ours, not information: the hypervolume one evaluation is expected to add to the
    /// evaluated full-fidelity front ([`crate::hv_gain`]): the expected improvement at full
    /// fidelity, a lookahead on the candidate's own posterior mean below it, per unit
    /// cost (with [`StepConfig::price_evaluations`], the evaluation's price added); the
    /// best candidates are refined by L-BFGS over the continuous variables. The default.
    #[default]
    Hypervolume,
}

/// Settings of a step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StepConfig {
    /// The information gain.
    pub gain: Gain,
    /// Whether [`ObjectiveKind::Known`] objectives are computed exactly (`true`), or
    /// modelled by GPs over the design like the others, as in the authors' CF-MESMO.
    pub known_objectives: bool,
    /// Posterior samples of the Pareto front, `S`.
    pub samples: usize,
    /// Random Fourier features per posterior sample.
    pub rff_features: usize,
    /// NSGA-II population when solving a sampled problem.
    pub front_population: usize,
    /// NSGA-II generations when solving a sampled problem.
    pub front_generations: usize,
    /// Points of each sampled front that the front-conditioned gain conditions on where
    /// three or more objectives are modelled (spread out, [`spread_subset`]; BoTorch's
    /// tutorials use 10): the front's boxes grow with the cube of its points in four
    /// objectives.
    pub front_points: usize,
    /// Candidates scored at every fidelity level.
    pub pool_size: usize,
    /// Our addition: the sampled Pareto sets (the designs NSGA-II found on each posterior
    /// sample) join the space-filling pool, so that the candidates include designs near
    /// where the front may lie, which a space-filling pool misses in higher dimensions.
    /// `false` is the ablation with the pool alone.
    pub candidates_from_fronts: bool,
    /// Best candidates refined locally.
    pub refine_top: usize,
    /// Steps of local refinement per candidate.
    pub refine_steps: usize,
    /// Our heuristic: the gain (nats for the information gains, hypervolume for
    /// [`Gain::Hypervolume`]) below which the step refines the front instead
    /// ([`Rule::FrontRefinement`]). `0` (the default) keeps to the gain.
    pub exhausted_gain: f64,
    /// Quasi-Monte Carlo samples of the hypervolume gain's expectation where two or more
    /// objectives are modelled (BoTorch's qLogNEHVI draws 128).
    pub hypervolume_samples: usize,
    /// Our rule, for the hypervolume gain, off by default: each evaluation is also charged
    /// [`StepProblem::evaluation_price`], the budget left spread over the evaluations
    /// left. It did not pay on the benchmarks (MOMF-Park and MOMF-BraninCurrin end lower
    /// with it), so the default divides by the evaluation's own cost alone.
    pub price_evaluations: bool,
    /// GP fitting.
    pub gp: GpConfig,
}

impl Default for StepConfig {
    fn default() -> Self {
        StepConfig {
            gain: Gain::default(),
            known_objectives: true,
            samples: 10,
            rff_features: 500,
            front_population: 40,
            front_generations: 40,
            front_points: 10,
            pool_size: 512,
            candidates_from_fronts: true,
            refine_top: 3,
            refine_steps: 20,
            exhausted_gain: 0.0,
            hypervolume_samples: 128,
            price_evaluations: false,
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
            ("front_points", self.front_points, 1, 1_000),
            ("pool_size", self.pool_size, 1, 1_000_000),
            ("refine_top", self.refine_top, 0, self.pool_size),
            ("refine_steps", self.refine_steps, 0, 10_000),
            ("hypervolume_samples", self.hypervolume_samples, 1, 100_000),
            ("gp.n_start", self.gp.n_start, 0, 1_000),
            ("gp.fit_points", self.gp.fit_points, 2, 1_000_000),
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

/// Checks that `problem` is well formed.
fn check_problem(problem: &StepProblem) -> Result<(), StepError> {
    let invalid = |m: String| Err(StepError::InvalidProblem(m));
    if problem.objectives.is_empty() || problem.dim == 0 {
        return invalid("no objectives or no variables".into());
    }
    if problem.fidelities.is_empty() || problem.fidelities.iter().any(|&z| !(z > 0.0 && z <= 1.0)) {
        return invalid(format!(
            "fidelities must be in (0, 1], got {:?}",
            problem.fidelities
        ));
    }
    if !(problem.levels.is_empty() || problem.levels.len() == problem.dim) {
        return invalid(format!(
            "{} grid sizes for {} variables",
            problem.levels.len(),
            problem.dim
        ));
    }
    let known = problem
        .objectives
        .iter()
        .filter(|k| **k == ObjectiveKind::Known)
        .count();
    if known > 0 && problem.known.is_none() {
        return invalid(format!("{known} known objectives but no function for them"));
    }
    Ok(())
}

/// Which rule chose a step's design.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Rule {
    /// The largest gain per unit cost, `alpha(x, z)` (information, or hypervolume for
    /// [`Gain::Hypervolume`]).
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
    /// The proposed design, normalised (snapped onto the grids).
    pub x: Vec<f64>,
    /// The proposed fidelity.
    pub z: f64,
    /// The rule that chose it.
    #[serde(default)]
    pub rule: Rule,
    /// `alpha(x, z)`: the gain per unit cost.
    pub acquisition: f64,
    /// The gain alone: nats for the information gains, the hypervolume (in the
    /// objectives' units) for [`Gain::Hypervolume`].
    pub information_gain: f64,
    /// `C(z)`.
    pub cost: f64,
    /// Each sampled front's best value per objective, `y*[s][j]`.
    pub y_star: Vec<Vec<f64>>,
    /// The fitted GP hyperparameters, per modelled objective.
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

fn with_z(x: &[f64], z: f64) -> Vec<f64> {
    let mut v = x.to_vec();
    v.push(z);
    v
}

/// The GPs of a step, fitted on the usable observations.
pub struct FittedSurrogates {
    /// One surrogate per modelled objective, in the objectives' order.
    pub gps: Vec<Surrogate>,
    /// How each objective is treated: the problem's kinds, with the known objectives
    /// modelled where [`StepConfig::known_objectives`] is off.
    pub kinds: Vec<ObjectiveKind>,
    /// The observations they were fitted on (failed ones removed).
    pub usable: Vec<Observation>,
    /// How many observations were skipped as failed.
    pub skipped: usize,
}

impl FittedSurrogates {
    /// The kernel parameters of every GP: what the GP fit stage caches, keyed on the
    /// observations, and hands back to [`fit_surrogates`] to skip the tuning.
    pub fn kernels(&self) -> Vec<Kernel> {
        self.gps.iter().map(Surrogate::kernel).collect()
    }

    /// The modelled objectives' indices, in the order of [`FittedSurrogates::gps`].
    fn modelled(&self) -> Vec<usize> {
        (0..self.kinds.len())
            .filter(|&j| self.kinds[j] != ObjectiveKind::Known)
            .collect()
    }

    /// The GP input of design `x` at fidelity `z` for objective `j`.
    fn input(&self, j: usize, x: &[f64], z: f64) -> Vec<f64> {
        if self.kinds[j].fidelity_dependent() {
            with_z(x, z)
        } else {
            x.to_vec()
        }
    }

    /// The objectives expected at designs `xs` (snapped) and fidelity `z`: the posterior
    /// means of the modelled ones, the exact values of the known ones. What the kriging
    /// believer takes as observed and the final Pareto prediction ranks.
    pub fn expected(&self, problem: &StepProblem, xs: &[Vec<f64>], z: f64) -> Vec<Vec<f64>> {
        let modelled = self.modelled();
        let means: Vec<Vec<f64>> = modelled
            .iter()
            .zip(&self.gps)
            .map(|(&j, gp)| {
                let inputs: Vec<Vec<f64>> = xs.iter().map(|x| self.input(j, x, z)).collect();
                gp.predict_mean(&inputs)
            })
            .collect();
        xs.iter()
            .enumerate()
            .map(|(i, x)| {
                self.interleave(self.known_values(problem, x), means.iter().map(|m| m[i]))
            })
            .collect()
    }

    /// One objective vector from the known objectives' values and the modelled ones',
    /// each in the objectives' order.
    fn interleave(&self, known: Vec<f64>, modelled: impl Iterator<Item = f64>) -> Vec<f64> {
        let (mut known, mut modelled) = (known.into_iter(), modelled);
        self.kinds
            .iter()
            .map(|k| match k {
                ObjectiveKind::Known => known.next().expect("one per known objective"),
                ObjectiveKind::Modelled { .. } => modelled.next().expect("one per GP"),
            })
            .collect()
    }

    /// The known objectives' values at `x` (empty if none is known).
    fn known_values(&self, problem: &StepProblem, x: &[f64]) -> Vec<f64> {
        match problem.known {
            Some(f) if self.kinds.contains(&ObjectiveKind::Known) => f(x),
            _ => Vec::new(),
        }
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

/// How the step treats each objective: the problem's kinds, known objectives modelled by
/// GPs over the design where `config.known_objectives` is off.
pub fn effective_kinds(problem: &StepProblem, config: &StepConfig) -> Vec<ObjectiveKind> {
    problem
        .objectives
        .iter()
        .map(|&k| match k {
            ObjectiveKind::Known if !config.known_objectives => ObjectiveKind::Modelled {
                fidelity_dependent: false,
            },
            k => k,
        })
        .collect()
}

/// Fits one GP per modelled objective on the usable observations; with `cached`
/// kernels (from [`FittedSurrogates::kernels`] of a fit on the same observations) the
/// kernel parameters are reused instead of tuned, which gives the same GPs.
pub fn fit_surrogates(
    observations: &[Observation],
    problem: &StepProblem,
    config: &StepConfig,
    cached: Option<&[Kernel]>,
) -> Result<FittedSurrogates, StepError> {
    check_problem(problem)?;
    let kinds = effective_kinds(problem, config);
    let k = kinds.len();
    let modelled: Vec<usize> = (0..k)
        .filter(|&j| kinds[j] != ObjectiveKind::Known)
        .collect();
    if cached.is_some_and(|t| t.len() != modelled.len()) {
        return Err(StepError::InvalidProblem(format!(
            "cached kernels are not {} modelled objectives",
            modelled.len()
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
    let mut fitted = FittedSurrogates {
        gps: Vec::new(),
        kinds,
        usable,
        skipped,
    };
    // The objectives' GPs are independent fits: in parallel, in the objectives' order.
    let gps: Vec<Result<Surrogate, StepError>> = modelled
        .par_iter()
        .enumerate()
        .map(|(m, &j)| {
            let xs: Vec<Vec<f64>> = fitted
                .usable
                .iter()
                .map(|o| fitted.input(j, &o.x, o.z))
                .collect();
            let ys: Vec<f64> = fitted.usable.iter().map(|o| o.y[j]).collect();
            let gp = match cached {
                Some(t) => Surrogate::fit_with_kernel(&xs, &ys, &t[m]),
                None => Surrogate::fit(&xs, &ys, &config.gp),
            };
            gp.map_err(|source| StepError::Gp {
                objective: j,
                source,
            })
        })
        .collect();
    fitted.gps = gps.into_iter().collect::<Result<_, _>>()?;
    Ok(fitted)
}

/// One posterior sample of the problem at full fidelity and its Pareto front.
struct FrontSample {
    /// The sampled modelled objectives, in the order of the GPs.
    functions: Vec<RffSample>,
    /// The front: objective vectors (all objectives, maximised).
    front: Vec<Vec<f64>>,
    /// The front's designs.
    set: Vec<Vec<f64>>,
    /// Per objective, the front's best value (never below the best observed).
    y_star: Vec<f64>,
    /// The boxes of the region the front dominates in the modelled objectives, where
    /// they are the same for every candidate: two or more modelled objectives and no
    /// known one.
    cells: Option<Vec<Cell>>,
}

/// The fitted surrogates and the sampled fronts: what scores a candidate.
struct Posterior<'a> {
    problem: &'a StepProblem<'a>,
    config: &'a StepConfig,
    fitted: &'a FittedSurrogates,
    /// The modelled objectives' indices, in the GPs' order.
    modelled: Vec<usize>,
    /// The known objectives' indices.
    known: Vec<usize>,
    /// Each GP's output scale (the training outputs' standard deviation).
    y_std: Vec<f64>,
    /// Each GP's nugget.
    nugget: Vec<f64>,
    samples: Vec<FrontSample>,
    /// The hypervolume gain's front and reference point ([`Gain::Hypervolume`]).
    improvement: Option<FrontImprovement>,
    /// What taking one more evaluation costs beyond its own cost
    /// ([`StepProblem::evaluation_price`]; the hypervolume gain only).
    price: f64,
}

/// A candidate's predictive at full fidelity, per modelled objective.
struct Predictive {
    mean: Vec<f64>,
    sd: Vec<f64>,
    /// Correlation of the observation at the candidate's fidelity with the full one.
    rho: Vec<f64>,
}

impl Posterior<'_> {
    /// `alpha` and the information gain of each (snapped) `x` at fidelity `z`, scored in
    /// parallel chunks (every point's score is independent of the others).
    fn score(&self, xs: &[Vec<f64>], z: f64) -> Vec<(f64, f64)> {
        self.score_levels(xs, &[z]).pop().expect("one level")
    }

    /// [`Posterior::score`] at each fidelity of `zs` (one answer per level, in order), each
    /// point's full-fidelity posterior solved once for all of them.
    fn score_levels(&self, xs: &[Vec<f64>], zs: &[f64]) -> Vec<Vec<(f64, f64)>> {
        const CHUNK: usize = 32;
        if xs.len() <= CHUNK {
            return self.score_chunk(xs, zs);
        }
        let chunks: Vec<Vec<Vec<(f64, f64)>>> = xs
            .par_chunks(CHUNK)
            .map(|chunk| self.score_chunk(chunk, zs))
            .collect();
        (0..zs.len())
            .map(|l| chunks.iter().flat_map(|c| c[l].iter().copied()).collect())
            .collect()
    }

    /// Each point's predictive at full fidelity, with the correlation of an observation at
    /// each fidelity of `zs` (one answer per level).
    fn predictive(&self, xs: &[Vec<f64>], zs: &[f64]) -> Vec<Vec<Predictive>> {
        let mut out: Vec<Vec<Predictive>> = zs
            .iter()
            .map(|_| {
                xs.iter()
                    .map(|_| Predictive {
                        mean: Vec::new(),
                        sd: Vec::new(),
                        rho: Vec::new(),
                    })
                    .collect()
            })
            .collect();
        for (m, (&j, gp)) in self.modelled.iter().zip(&self.fitted.gps).enumerate() {
            let full: Vec<Vec<f64>> = xs.iter().map(|x| self.fitted.input(j, x, 1.0)).collect();
            // What an observation at (x, z), noise included, says about f(x): exactly f(x)
            // where it is f(x) itself, noise-free.
            let observed: Vec<Vec<Option<Vec<f64>>>> = zs
                .iter()
                .map(|&z| {
                    xs.iter()
                        .zip(&full)
                        .map(|(x, f)| {
                            let at = match self.fitted.kinds[j].fidelity_dependent() {
                                true => with_z(x, z),
                                false => f.clone(),
                            };
                            (at != *f || self.nugget[m] != 0.0).then_some(at)
                        })
                        .collect()
                })
                .collect();
            let levels = gp.predict_observed_levels(&full, &observed);
            for (level, predicted) in out.iter_mut().zip(levels) {
                for (p, (mu, sigma, rho)) in level.iter_mut().zip(predicted) {
                    p.mean.push(mu);
                    p.sd.push(sigma);
                    p.rho.push(rho);
                }
            }
        }
        out
    }

    fn score_chunk(&self, xs: &[Vec<f64>], zs: &[f64]) -> Vec<Vec<(f64, f64)>> {
        let s = self.samples.len() as f64;
        self.predictive(xs, zs)
            .into_iter()
            .zip(zs)
            .map(|(level, &z)| {
                level
                    .into_iter()
                    .zip(xs)
                    .map(|(p, x)| {
                        let gain = match self.config.gain {
                            Gain::Mesmo => self.mesmo_gain(&p),
                            Gain::Hypervolume => self.hypervolume_gain(&p, x, z),
                            Gain::ParetoFront => {
                                let known = self.fitted.known_values(self.problem, x);
                                self.samples
                                    .iter()
                                    .map(|sample| self.front_gain(sample, &p, x, &known))
                                    .sum::<f64>()
                                    / s
                            }
                        };
                        (
                            gain / (self.problem.cost_after(&self.fitted.usable, x, z)
                                + self.price),
                            gain,
                        )
                    })
                    .collect()
            })
            .collect()
    }

    /// The hypervolume gain ([`crate::hv_gain`]): at full fidelity the expected
    /// improvement, below it what the observation's move of the posterior mean is
    /// expected to add beyond what the mean adds now.
    fn hypervolume_gain(&self, p: &Predictive, x: &[f64], z: f64) -> f64 {
        let improvement = self
            .improvement
            .as_ref()
            .expect("built for the hypervolume gain");
        let known = self.fitted.known_values(self.problem, x);
        let mean = self
            .fitted
            .interleave(known.clone(), p.mean.iter().copied());
        let zeros = vec![0.0; known.len()];
        if z >= 1.0 {
            let sd = self.fitted.interleave(zeros, p.sd.iter().copied());
            return improvement.expected(&mean, &sd);
        }
        // A negative correlation tells as much as a positive one.
        let learned = p.sd.iter().zip(&p.rho).map(|(s, r)| s * r.abs().min(1.0));
        let sd = self.fitted.interleave(zeros, learned);
        (improvement.expected(&mean, &sd) - improvement.improvement(&mean)).max(0.0)
    }

    /// MESMO's gain: per modelled objective, the truncation at each sample's `y*_j`.
    fn mesmo_gain(&self, p: &Predictive) -> f64 {
        let mut gain = 0.0;
        for (m, &j) in self.modelled.iter().enumerate() {
            let floor = MIN_SIGMA * self.y_std[m].max(f64::MIN_POSITIVE);
            let (mu, sigma, rho) = (p.mean[m], p.sd[m].max(floor), p.rho[m]);
            gain += self
                .samples
                .iter()
                .map(|sample| {
                    let gamma = (sample.y_star[j] - mu) / sigma;
                    if rho >= 1.0 {
                        information_gain_term(gamma)
                    } else {
                        lower_fidelity_information_gain(gamma, rho)
                    }
                })
                .sum::<f64>()
                / self.samples.len() as f64;
        }
        gain
    }

    /// The gain about one sampled front. Where the front's boxes depend on the
    /// candidate, its bound is made of the front's points that are at least as good as the
    /// candidate in every known objective, and, with one modelled objective, the sample's
    /// own value at the candidate (so that the condition holds for the sampled function
    /// where NSGA-II's front misses the candidate).
    fn front_gain(&self, sample: &FrontSample, p: &Predictive, x: &[f64], known: &[f64]) -> f64 {
        let sd: Vec<f64> =
            p.sd.iter()
                .zip(&self.y_std)
                .map(|(&s, &scale)| if s > KNOWN_SIGMA * scale { s } else { 0.0 })
                .collect();
        if let Some(cells) = &sample.cells {
            return lower_bound_gain(cells, &p.mean, &sd, &p.rho);
        }
        let mut bounding: Vec<Vec<f64>> = sample
            .front
            .iter()
            .filter(|f| self.known.iter().zip(known).all(|(&j, v)| f[j] >= *v))
            .map(|f| self.modelled.iter().map(|&j| f[j]).collect())
            .collect();
        if self.modelled.len() == 1 {
            bounding.push(
                self.modelled
                    .iter()
                    .zip(&sample.functions)
                    .map(|(&j, f)| f.eval(&self.fitted.input(j, x, 1.0)))
                    .collect(),
            );
        }
        let bounding = conditioning_points(bounding, self.config.front_points);
        lower_bound_gain(&dominated_cells(&bounding), &p.mean, &sd, &p.rho)
    }
}

/// The points of a front (in the modelled objectives) that the gain conditions on: all
/// of them in one or two objectives, at most `limit` spread out in more.
fn conditioning_points(points: Vec<Vec<f64>>, limit: usize) -> Vec<Vec<f64>> {
    if points.first().is_some_and(|p| p.len() >= 3) {
        spread_subset(&points, limit)
    } else {
        points
    }
}

/// Takes the step from already fitted surrogates.
pub fn propose_from(
    fitted: &FittedSurrogates,
    problem: &StepProblem,
    config: &StepConfig,
    seed: u64,
) -> Result<StepRecord, StepError> {
    check_problem(problem)?;
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let samples = sample_fronts(fitted, problem, config, &mut rng);
    let posterior = Posterior {
        problem,
        config,
        fitted,
        modelled: fitted.modelled(),
        known: (0..fitted.kinds.len())
            .filter(|&j| fitted.kinds[j] == ObjectiveKind::Known)
            .collect(),
        y_std: fitted
            .gps
            .iter()
            .map(|gp| gp.hyperparameters().y_std)
            .collect(),
        nugget: fitted
            .gps
            .iter()
            .map(|gp| gp.hyperparameters().nugget)
            .collect(),
        samples,
        improvement: (config.gain == Gain::Hypervolume)
            .then(|| front_improvement(fitted, problem, config, seed)),
        price: match config.gain {
            Gain::Hypervolume if config.price_evaluations => {
                problem.evaluation_price(&fitted.usable, fitted.skipped)
            }
            _ => 0.0,
        },
    };

    // Score the pool at every fidelity.
    let mut pool = candidates::pool(problem.dim, problem.levels, config.pool_size, &mut rng);
    if config.candidates_from_fronts {
        for x in posterior.samples.iter().flat_map(|s| &s.set) {
            let x = problem.snap(x);
            if !pool.contains(&x) {
                pool.push(x);
            }
        }
    }
    let mut scored: Vec<(f64, f64, Vec<f64>, f64)> = Vec::new();
    let levels = posterior.score_levels(&pool, problem.fidelities);
    for (level, &z) in levels.into_iter().zip(problem.fidelities) {
        for ((alpha, gain), x) in level.into_iter().zip(&pool) {
            scored.push((alpha, gain, x.clone(), z));
        }
    }
    let mut max_gain = scored.iter().map(|c| c.1).fold(0.0, f64::max);
    scored.sort_by(|a, b| b.0.total_cmp(&a.0));
    scored.truncate(config.refine_top.max(1));
    // The gradient refinement draws no random numbers: the candidates are refined in
    // parallel, and taken in their order below, as one after another. The evolution
    // strategy draws from the step's generator, so it refines them in turn.
    let refined: Vec<(f64, f64, Vec<f64>, f64)> = match config.gain {
        Gain::Hypervolume => scored
            .into_par_iter()
            .map(|(alpha, gain, x, z)| {
                let (a, g, x) =
                    refine_by_gradient(&posterior, (alpha, gain, x), z, config.refine_steps);
                (a, g, x, z)
            })
            .collect(),
        _ => scored
            .into_iter()
            .map(|(alpha, gain, x, z)| {
                let (a, g, x) = refine(
                    &posterior,
                    (alpha, gain, x),
                    z,
                    config.refine_steps,
                    &mut rng,
                );
                (a, g, x, z)
            })
            .collect(),
    };
    let mut best: Option<(f64, f64, Vec<f64>, f64)> = None;
    for candidate in refined {
        max_gain = max_gain.max(candidate.1);
        if best.as_ref().is_none_or(|b| candidate.0 > b.0) {
            best = Some(candidate);
        }
    }
    let (mut acquisition, mut information_gain, mut x, mut z) =
        best.expect("at least one candidate");
    let mut rule = Rule::InformationGain;
    if max_gain < config.exhausted_gain {
        let mut front_candidates: Vec<Vec<f64>> = posterior
            .samples
            .iter()
            .flat_map(|s| s.set.iter().cloned())
            .collect();
        front_candidates.extend(pool);
        if let Some(refined) = front_refinement(fitted, problem, &front_candidates) {
            (acquisition, information_gain) =
                posterior.score(std::slice::from_ref(&refined), 1.0)[0];
            (x, z, rule) = (refined, 1.0, Rule::FrontRefinement);
        }
    }
    let cost = problem.cost_after(&fitted.usable, &x, z);
    Ok(StepRecord {
        x,
        z,
        rule,
        acquisition,
        information_gain,
        cost,
        y_star: posterior.samples.iter().map(|s| s.y_star.clone()).collect(),
        hyperparameters: fitted.gps.iter().map(Surrogate::hyperparameters).collect(),
        observations_used: fitted.usable.len(),
        observations_skipped: fitted.skipped,
    })
}

/// Solves `S` posterior samples at full fidelity (exact known objectives) for their
/// Pareto fronts, over the designs that can be run.
fn sample_fronts(
    fitted: &FittedSurrogates,
    problem: &StepProblem,
    config: &StepConfig,
    rng: &mut ChaCha8Rng,
) -> Vec<FrontSample> {
    let k = fitted.kinds.len();
    let observed_best: Vec<f64> = (0..k)
        .map(|j| {
            fitted
                .usable
                .iter()
                .filter(|o| !fitted.kinds[j].fidelity_dependent() || o.z >= 1.0)
                .map(|o| o.y[j])
                .fold(f64::NEG_INFINITY, f64::max)
        })
        .collect();
    let nsga = Nsga2Config {
        population_size: config.front_population.max(4),
        generations: config.front_generations,
        ..Nsga2Config::default()
    };
    let modelled = fitted.modelled();
    // One seed per sample, drawn in order, so that the samples can be solved in
    // parallel and the result still depends only on the step's seed.
    let seeds: Vec<u64> = (0..config.samples.max(1)).map(|_| rng.random()).collect();
    seeds
        .into_par_iter()
        .map(|seed| {
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            let functions: Vec<RffSample> = fitted
                .gps
                .iter()
                .map(|gp| gp.rff_sample(config.rff_features.max(1), &mut rng))
                .collect();
            let values = |x: &[f64]| -> Vec<f64> {
                let sampled = modelled
                    .iter()
                    .zip(&functions)
                    .map(|(&j, f)| f.eval(&fitted.input(j, x, 1.0)));
                fitted.interleave(fitted.known_values(problem, x), sampled)
            };
            let evaluate = |xs: &[Vec<f64>]| -> Vec<Vec<f64>> {
                xs.iter()
                    .map(|x| values(&problem.snap(x)).iter().map(|v| -v).collect())
                    .collect()
            };
            let result = nsga2_batch(problem.dim, evaluate, &nsga, &mut rng)
                .expect("valid NSGA-II configuration");
            let front: Vec<Vec<f64>> = result
                .front_f
                .iter()
                .map(|f| f.iter().map(|v| -v).collect())
                .collect();
            let y_star = (0..k)
                .map(|j| front.iter().map(|f| f[j]).fold(observed_best[j], f64::max))
                .collect();
            let same_for_all = modelled.len() >= 2 && modelled.len() == k;
            let cells = same_for_all.then(|| {
                let projected = front
                    .iter()
                    .map(|f| modelled.iter().map(|&j| f[j]).collect());
                dominated_cells(&conditioning_points(
                    projected.collect(),
                    config.front_points,
                ))
            });
            FrontSample {
                functions,
                front,
                set: result.front_x.iter().map(|x| problem.snap(x)).collect(),
                y_star,
                cells,
            }
        })
        .collect()
}

/// The candidate whose expected objectives at full fidelity add the most hypervolume to
/// the front of the full-fidelity observations, or `None` when none adds any.
///
/// The reference point is the worst value of each objective over the usable
/// observations, pushed 10 % of its range further out. Ties go to the earlier candidate,
/// so the choice is deterministic.
fn front_refinement(
    fitted: &FittedSurrogates,
    problem: &StepProblem,
    candidates: &[Vec<f64>],
) -> Option<Vec<f64>> {
    // Minimisation form throughout: objectives negated.
    let negated = |y: &[f64]| -> Vec<f64> { y.iter().map(|v| -v).collect() };
    let usable = &fitted.usable;
    let front: Vec<Vec<f64>> = usable
        .iter()
        .filter(|o| o.z >= 1.0)
        .map(|o| negated(&o.y))
        .collect();
    let reference: Vec<f64> = (0..fitted.kinds.len())
        .map(|j| {
            let (lo, hi) = usable
                .iter()
                .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), o| {
                    (lo.min(-o.y[j]), hi.max(-o.y[j]))
                });
            hi + 0.1 * (hi - lo) + f64::EPSILON * hi.abs().max(1.0)
        })
        .collect();
    let means: Vec<Vec<f64>> = fitted
        .expected(problem, candidates, 1.0)
        .iter()
        .map(|y| negated(y))
        .collect();
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

/// The hypervolume gain's front: the designs evaluated at full fidelity, at their expected
/// objectives (posterior means, exact known objectives); its reference point: the
/// problem's, else inferred from the expected objectives of every design evaluated. Its
/// quasi-Monte Carlo samples come from a stream of their own, so that the step's other
/// draws are those of the other gains.
fn front_improvement(
    fitted: &FittedSurrogates,
    problem: &StepProblem,
    config: &StepConfig,
    seed: u64,
) -> FrontImprovement {
    let mut designs: Vec<Vec<f64>> = Vec::new();
    let mut at_full: Vec<bool> = Vec::new();
    for o in &fitted.usable {
        let i = match designs.iter().position(|d| same_design(d, &o.x)) {
            Some(i) => i,
            None => {
                designs.push(o.x.clone());
                at_full.push(false);
                designs.len() - 1
            }
        };
        at_full[i] |= o.z >= 1.0 - SAME_DESIGN;
    }
    let expected = fitted.expected(problem, &designs, 1.0);
    let front: Vec<Vec<f64>> = expected
        .iter()
        .zip(&at_full)
        .filter(|(_, &full)| full)
        .map(|(y, _)| y.clone())
        .collect();
    let reference = problem
        .reference
        .map(<[f64]>::to_vec)
        .or_else(|| inferred_reference(&expected))
        .expect("a step has observations");
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x6876_5f71_6d63);
    FrontImprovement::new(&front, &reference, config.hypervolume_samples, &mut rng)
}

/// L-BFGS on `alpha` at fixed `z` over the continuous variables (the discrete ones keep
/// the candidate's values) inside `[0, 1]`, from a candidate of the pool, with
/// central-difference gradients (one-sided at a bound) of `alpha` relative to its start;
/// at most `iterations` iterations. The start stays unless the end scores higher.
fn refine_by_gradient(
    posterior: &Posterior,
    start: (f64, f64, Vec<f64>),
    z: f64,
    iterations: usize,
) -> (f64, f64, Vec<f64>) {
    const STEP: f64 = 1e-5;
    let (alpha, _, x0) = &start;
    let levels = posterior.problem.levels;
    let free: Vec<usize> = (0..x0.len())
        .filter(|&i| is_continuous(levels, i))
        .collect();
    if free.is_empty() || iterations == 0 || !(*alpha > 0.0 && alpha.is_finite()) {
        return start;
    }
    let design = |u: &[f64]| -> Vec<f64> {
        let mut x = x0.clone();
        for (k, &i) in free.iter().enumerate() {
            x[i] = u[k];
        }
        x
    };
    // The point and its 2 d neighbours scored together: one batch of GP predictions.
    let mut objective = |u: &[f64]| -> (f64, Vec<f64>) {
        let steps: Vec<(Vec<f64>, Vec<f64>)> = (0..u.len())
            .map(|k| {
                let (mut lo, mut hi) = (u.to_vec(), u.to_vec());
                lo[k] = (u[k] - STEP).max(0.0);
                hi[k] = (u[k] + STEP).min(1.0);
                (lo, hi)
            })
            .collect();
        let points: Vec<Vec<f64>> = std::iter::once(design(u))
            .chain(steps.iter().flat_map(|(lo, hi)| [design(lo), design(hi)]))
            .collect();
        let values: Vec<f64> = posterior
            .score(&points, z)
            .into_iter()
            .map(|(a, _)| a / alpha)
            .collect();
        let gradient = steps
            .iter()
            .enumerate()
            .map(|(k, (lo, hi))| -(values[2 * k + 2] - values[2 * k + 1]) / (hi[k] - lo[k]))
            .collect();
        (-values[0], gradient)
    };
    let u0: Vec<f64> = free.iter().map(|&i| x0[i]).collect();
    let config = LbfgsConfig {
        max_iterations: iterations,
        ..LbfgsConfig::default()
    };
    let end = minimise(&mut objective, &u0, &vec![(0.0, 1.0); free.len()], &config);
    let x = design(&end.x);
    let (a, g) = posterior.score(std::slice::from_ref(&x), z)[0];
    if a > *alpha {
        (a, g, x)
    } else {
        start
    }
}

/// A seeded (1+1) evolution strategy on `alpha` at fixed `z` over the continuous
/// variables (the discrete ones keep the candidate's values), with step-size adaptation
/// (grow 1.5x on success, shrink 0.7x on failure), inside `[0, 1]^d`.
fn refine(
    posterior: &Posterior,
    start: (f64, f64, Vec<f64>),
    z: f64,
    steps: usize,
    rng: &mut ChaCha8Rng,
) -> (f64, f64, Vec<f64>) {
    let (mut alpha, mut gain, mut x) = start;
    let levels = posterior.problem.levels;
    if !(0..x.len()).any(|i| is_continuous(levels, i)) {
        return (alpha, gain, x);
    }
    let mut step = 0.05;
    for _ in 0..steps {
        let trial: Vec<f64> = x
            .iter()
            .enumerate()
            .map(|(i, &v)| {
                if is_continuous(levels, i) {
                    (v + step * rng.sample::<f64, _>(StandardNormal)).clamp(0.0, 1.0)
                } else {
                    v
                }
            })
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
    use crate::problem::{Allowance, MultiFidelityProblem};
    use crate::sampling::latin_hypercube;
    use crate::synthetic::BraninCurrin;

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
        cost: &'a (dyn Fn(f64, f64) -> f64 + Sync),
        fidelities: &'a [f64],
    ) -> StepProblem<'a> {
        StepProblem {
            dim: 2,
            objectives: &[ObjectiveKind::Modelled {
                fidelity_dependent: true,
            }; 2],
            levels: &[],
            fidelities,
            cost,
            known: None,
            reference: None,
            allowance: None,
        }
    }

    #[test]
    fn the_step_is_deterministic_given_seed_and_observations() {
        let cost = |_: f64, z: f64| 0.05 + 0.95 * z;
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
        let cost = |_: f64, z: f64| 0.05 + 0.95 * z;
        let p = problem(&cost, &[0.5, 1.0]);
        let obs = observations(10);
        let tuned = fit_surrogates(&obs, &p, &small(), None).unwrap();
        let cached = fit_surrogates(&obs, &p, &small(), Some(&tuned.kernels())).unwrap();
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
        let cost = |_: f64, z: f64| z;
        let p = problem(&cost, &[1.0]);
        let mut obs = observations(8);
        obs[0].y[1] = f64::NAN;
        let rec = propose(&obs, &p, &small(), 2).unwrap();
        assert_eq!((rec.observations_used, rec.observations_skipped), (7, 1));
        assert_eq!(rec.z, 1.0);
    }

    #[test]
    fn too_few_observations_and_bad_problems_say_so() {
        let cost = |_: f64, z: f64| z;
        let err = propose(&observations(1), &problem(&cost, &[1.0]), &small(), 0).unwrap_err();
        assert!(err.to_string().contains("initial design"), "{err}");
        let err = propose(&observations(5), &problem(&cost, &[0.0, 1.0]), &small(), 0).unwrap_err();
        assert!(err.to_string().contains("fidelities"), "{err}");
    }

    /// With the threshold above any gain the step refines the front: a full-fidelity
    /// design whose predicted objectives no observation dominates; at `0` it never does.
    #[test]
    fn exhausted_information_turns_the_step_to_front_refinement() {
        let cost = |_: f64, z: f64| 0.05 + 0.95 * z;
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
        let cost = |_: f64, z: f64| z;
        let p = problem(&cost, &[1.0]);
        let mut obs = observations(8);
        for o in &mut obs {
            o.x[1] = 0.0;
        }
        let rec = propose(&obs, &p, &small(), 3).unwrap();
        assert!(rec.acquisition.is_finite());
    }

    /// One modelled objective and one known one, over a grid variable and a continuous
    /// one: one GP, the proposal on the grid, the known objective computed (or modelled
    /// when `known_objectives` is off), and the MESMO gain on the same problem.
    #[test]
    fn known_objectives_are_computed_and_grid_variables_snapped() {
        let cost = |_: f64, z: f64| 0.1 + 0.9 * z;
        let known = |x: &[f64]| vec![-(x[0] - 0.3).powi(2) - 0.1 * x[1]];
        let levels = [4, 0];
        let kinds = [
            ObjectiveKind::Modelled {
                fidelity_dependent: true,
            },
            ObjectiveKind::Known,
        ];
        let p = StepProblem {
            dim: 2,
            objectives: &kinds,
            levels: &levels,
            fidelities: &[0.5, 1.0],
            cost: &cost,
            known: Some(&known),
            reference: None,
            allowance: None,
        };
        let bc = BraninCurrin::new();
        let obs: Vec<Observation> = observations(10)
            .into_iter()
            .map(|o| {
                let x = p.snap(&o.x);
                let y = vec![bc.evaluate(&x, o.z)[0], known(&x)[0]];
                Observation { x, z: o.z, y }
            })
            .collect();
        let rec = propose(&obs, &p, &small(), 5).unwrap();
        assert_eq!(rec.hyperparameters.len(), 1);
        assert_eq!(p.snap(&rec.x), rec.x);
        assert!(rec.information_gain > 0.0 && rec.acquisition.is_finite());
        assert_eq!(rec, propose(&obs, &p, &small(), 5).unwrap());
        let fitted = fit_surrogates(&obs, &p, &small(), None).unwrap();
        let expected = fitted.expected(&p, std::slice::from_ref(&rec.x), 1.0);
        assert_eq!(expected[0][1], known(&rec.x)[0]);
        let modelled = StepConfig {
            known_objectives: false,
            ..small()
        };
        assert_eq!(
            propose(&obs, &p, &modelled, 5)
                .unwrap()
                .hyperparameters
                .len(),
            2
        );
        let mesmo = StepConfig {
            gain: Gain::Mesmo,
            ..small()
        };
        assert!(propose(&obs, &p, &mesmo, 5)
            .unwrap()
            .acquisition
            .is_finite());
        let missing = StepProblem { known: None, ..p };
        let err = propose(&obs, &missing, &small(), 5).unwrap_err();
        assert!(err.to_string().contains("known objectives"), "{err}");
    }

    /// The hypervolume gain scores in hypervolume per unit cost, deterministically, and
    /// with an allowance charges each evaluation what the budget left spreads over the
    /// evaluations left.
    #[test]
    fn the_hypervolume_gain_is_priced_by_what_the_run_has_left() {
        let cost = |_: f64, z: f64| 0.05 + 0.95 * z;
        let obs = observations(10);
        let config = StepConfig {
            gain: Gain::Hypervolume,
            price_evaluations: true,
            ..small()
        };
        let free = problem(&cost, &[0.5, 1.0]);
        let a = propose(&obs, &free, &config, 1).unwrap();
        assert_eq!(a, propose(&obs, &free, &config, 1).unwrap());
        assert!(a.information_gain > 0.0 && a.acquisition.is_finite());
        assert!((a.acquisition - a.information_gain / a.cost).abs() < 1e-12);
        let limited = StepProblem {
            allowance: Some(Allowance {
                budget: 20.0,
                evaluations: 12,
            }),
            ..problem(&cost, &[0.5, 1.0])
        };
        // Five evaluations at 0.5 (0.525 each) and five at 1: 7.625 spent, two left.
        assert!((limited.spent(&obs) - 7.625).abs() < 1e-12);
        let price = limited.evaluation_price(&obs, 0);
        assert!((price - (20.0 - 7.625) / 2.0).abs() < 1e-12);
        // A failed evaluation takes one of the two left; a repeat costs nothing.
        assert!((limited.evaluation_price(&obs, 1) - (20.0 - 7.625)).abs() < 1e-12);
        let mut repeated = obs.clone();
        repeated.push(obs[3].clone());
        assert!((limited.spent(&repeated) - 7.625).abs() < 1e-12);
        let b = propose(&obs, &limited, &config, 1).unwrap();
        assert!((b.acquisition - b.information_gain / (b.cost + price)).abs() < 1e-12);
        let unpriced = StepConfig {
            price_evaluations: false,
            ..config
        };
        assert_eq!(propose(&obs, &limited, &unpriced, 1).unwrap(), a);
    }
}
