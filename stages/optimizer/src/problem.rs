//! The vocabulary every strategy and problem shares: an observation, how an objective
//! is known, the problem one step optimises over, and the multi-fidelity problem a
//! benchmark or a study poses.

use serde::{Deserialize, Serialize};

use crate::candidates::snap;

/// Coordinates closer than this are the same design (a design's encoding may round).
pub const SAME_DESIGN: f64 = 1e-9;

/// Whether two (snapped) designs are the same.
pub fn same_design(a: &[f64], b: &[f64]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(u, v)| (u - v).abs() < SAME_DESIGN)
}

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

/// How the step knows an objective.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ObjectiveKind {
    /// Measured by evaluations and modelled by a GP: over `(x, z)` where it depends on
    /// the fidelity, over `x` where every fidelity measures it exactly.
    Modelled {
        /// Whether it depends on the fidelity.
        fidelity_dependent: bool,
    },
    /// An exact, cheap function of the design ([`StepProblem::known`]).
    Known,
}

impl ObjectiveKind {
    /// Whether it depends on the fidelity.
    pub fn fidelity_dependent(self) -> bool {
        matches!(
            self,
            ObjectiveKind::Modelled {
                fidelity_dependent: true
            }
        )
    }
}

/// The exact objectives of a design: the values of the [`ObjectiveKind::Known`]
/// objectives at a (snapped) design, in their order among the objectives, maximised.
pub type KnownObjectives<'a> = &'a (dyn Fn(&[f64]) -> Vec<f64> + Sync);

/// What the step optimises over.
pub struct StepProblem<'a> {
    /// Dimension of `x`.
    pub dim: usize,
    /// How each objective is known.
    pub objectives: &'a [ObjectiveKind],
    /// Per variable: `0` if continuous, else the number of values of its grid (the cell
    /// centres of [`crate::candidates::snap`]). Empty: every variable is continuous.
    pub levels: &'a [usize],
    /// The fidelity levels that may be proposed, in `(0, 1]` (just `[1.0]` for MESMO).
    pub fidelities: &'a [f64],
    /// The deterministic cost `C(z_from, z)` of an evaluation at fidelity `z` of a design
    /// last evaluated at the lower fidelity `z_from` (0 if never: a cold start),
    /// normalised so that `C(0, 1) = 1`. A problem without warm starts ignores `z_from`;
    /// a training run that continues a cached checkpoint pays only the epochs it adds
    /// (plus its fixed overhead).
    pub cost: &'a (dyn Fn(f64, f64) -> f64 + Sync),
    /// The known objectives, required if any objective is [`ObjectiveKind::Known`].
    pub known: Option<KnownObjectives<'a>>,
    /// The hypervolume's reference point, maximised form, where the problem has one
    /// (a published problem's); without it the hypervolume gain infers one from the
    /// observations, as BoTorch does.
    pub reference: Option<&'a [f64]>,
    /// What the whole run may spend, where the driver knows it: the hypervolume gain
    /// prices the evaluations it has left.
    pub allowance: Option<Allowance>,
}

/// What a run may spend: cost and a number of evaluations, both counted from its first
/// evaluation, the initial design's included.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Allowance {
    /// The cost budget, in the problem's cost units.
    pub budget: f64,
    /// The most evaluations.
    pub evaluations: usize,
}

impl StepProblem<'_> {
    /// The design `x` runs at.
    pub fn snap(&self, x: &[f64]) -> Vec<f64> {
        snap(self.levels, x)
    }

    /// The cost of evaluating (snapped) `x` at `z` after `observations`: warm-started
    /// from the largest fidelity below `z` at which the same design was evaluated.
    pub fn cost_after(&self, observations: &[Observation], x: &[f64], z: f64) -> f64 {
        let from = observations
            .iter()
            .filter(|o| o.z < z - SAME_DESIGN && same_design(&o.x, x))
            .map(|o| o.z)
            .fold(0.0, f64::max);
        (self.cost)(from, z)
    }

    /// What `observations` cost, each priced by the cost model after the ones before it;
    /// a design evaluated again at the same fidelity costs nothing, as a ledger or a
    /// table answers it.
    pub fn spent(&self, observations: &[Observation]) -> f64 {
        (0..observations.len())
            .map(|i| {
                let (before, o) = (&observations[..i], &observations[i]);
                let repeat = before
                    .iter()
                    .any(|b| (b.z - o.z).abs() < SAME_DESIGN && same_design(&b.x, &o.x));
                match repeat {
                    true => 0.0,
                    false => self.cost_after(before, &o.x, o.z),
                }
            })
            .sum()
    }

    /// The price of taking one of the evaluations left, in cost units: what is left of the
    /// budget spread over the evaluations left after `observations` and `failed` further
    /// ones (which count against the cap; their cost is not known here), so that where the
    /// cap binds before the budget a cheap evaluation is not nearly free (our rule); `0`
    /// without an allowance.
    pub fn evaluation_price(&self, observations: &[Observation], failed: usize) -> f64 {
        let Some(a) = self.allowance else {
            return 0.0;
        };
        let used = observations.len() + failed;
        let left = a.evaluations.saturating_sub(used).max(1);
        (a.budget - self.spent(observations)).max(0.0) / left as f64
    }
}

/// A multi-objective problem with a continuous fidelity parameter.
///
/// Objectives are maximised; `x` is in `[0, 1]^dim()`, `z` in `(0, 1]`.
pub trait MultiFidelityProblem: Sync {
    /// Short identifier of the problem.
    fn name(&self) -> &str;

    /// Dimension `d` of the input `x`.
    fn dim(&self) -> usize;

    /// Number of objectives (the length of [`Self::evaluate`]'s result).
    fn num_objectives(&self) -> usize;

    /// Objective values `g(x, z)`, all to be maximised; `g(x, 1) = f(x)`.
    ///
    /// # Panics
    /// If `x` does not have `dim()` entries in `[0, 1]` or `z` is not in
    /// `(0, 1]`.
    fn evaluate(&self, x: &[f64], z: f64) -> Vec<f64>;

    /// How the optimiser knows each objective: by default every one is measured and
    /// depends on the fidelity; an objective that is an exact, cheap function of the
    /// design (like the PPA objectives of the real problem) is
    /// [`ObjectiveKind::Known`].
    fn objective_kinds(&self) -> Vec<ObjectiveKind> {
        vec![
            ObjectiveKind::Modelled {
                fidelity_dependent: true
            };
            self.num_objectives()
        ]
    }

    /// Whether lower fidelities exist: `false` for a single-fidelity problem, which
    /// every method evaluates at `z = 1` only.
    fn multi_fidelity(&self) -> bool {
        true
    }

    /// Cost of one evaluation at fidelity `z`, normalised so `cost(1) = 1`.
    ///
    /// # Panics
    /// If `z` is not in `(0, 1]`.
    fn cost(&self, z: f64) -> f64;

    /// Per variable: `0` if continuous, else the number of values of its grid (as
    /// [`StepProblem::levels`]). Empty (the default): all continuous.
    fn levels(&self) -> Vec<usize> {
        Vec::new()
    }

    /// The fidelities a multi-fidelity method may choose, lowest first, where the
    /// problem fixes them (a table has its own); `None`: the benchmark's levels.
    fn fidelities(&self) -> Option<Vec<f64>> {
        None
    }

    /// The cost the optimiser's cost model expects for fidelity `z` of a design last
    /// evaluated at the lower fidelity `from` (0: never), a warm start paying what it
    /// adds; by default there are no warm starts and it is [`Self::cost`].
    fn expected_cost(&self, from: f64, z: f64) -> f64 {
        let _ = from;
        self.cost(z)
    }

    /// What evaluating the (snapped) design `x` at `z` costs, warm-started from `from`
    /// as in [`Self::expected_cost`]: the same for every design by default, the design's
    /// own recorded cost for a table.
    fn cost_at(&self, x: &[f64], from: f64, z: f64) -> f64 {
        let _ = x;
        self.expected_cost(from, z)
    }

    /// The published hypervolume reference point, in minimisation form (objectives
    /// negated), where the problem has one.
    fn reference_point(&self) -> Option<Vec<f64>> {
        None
    }

    /// The published maximum hypervolume against [`Self::reference_point`].
    fn max_hypervolume(&self) -> Option<f64> {
        None
    }
}
