//! The study's objectives, defined once: each one's ledger column, direction, unit,
//! hypervolume reference and how the surrogates see it. The Pareto set, the
//! hypervolume, `status`, the report and the optimiser's inputs all read this list;
//! a new objective (say TOPS/W) is one more entry here plus the code that computes it.

use super::EvaluationRow;
use optimizer::problem::ObjectiveKind;

use stages::ppa::PpaReport;

/// Whether an objective is better large or small.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Larger is better.
    Maximise,
    /// Smaller is better.
    Minimise,
}

impl Direction {
    /// `v` in minimised form: negated if larger is better. Its own inverse, so it also
    /// maps a minimised value back.
    pub fn minimised(self, v: f64) -> f64 {
        match self {
            Direction::Maximise => -v,
            Direction::Minimise => v,
        }
    }
}

/// One objective of the study.
#[derive(Debug, Clone, Copy)]
pub struct Objective {
    /// Its name in `status --json`'s reference point.
    pub name: &'static str,
    /// Its column in the ledger.
    pub column: &'static str,
    /// What it is, for a person.
    pub title: &'static str,
    /// The unit of the stored value (empty for a fraction).
    pub unit: &'static str,
    /// The unit the report shows it in.
    pub display_unit: &'static str,
    /// Stored value times this is the display unit's value.
    pub display_scale: f64,
    /// Digits after the point when shown in the display unit.
    pub decimals: usize,
    /// Better large or small.
    pub direction: Direction,
    /// Whether it changes with the fidelity (ReSNA epochs); the others are the design's.
    pub fidelity_dependent: bool,
    /// Whether the surrogates model (and the report's parallel coordinates show) its
    /// logarithm, for a value that spans orders of magnitude.
    pub log_scale: bool,
    /// Its hypervolume reference in minimised form, where the objective has a natural
    /// worst value; `None`: 1.1x the worst value seen at full fidelity.
    pub reference: Option<f64>,
    /// Its value in a ledger row, if recorded.
    pub value: fn(&EvaluationRow) -> Option<f64>,
    /// Its value in the design's PPA report, for an objective the design alone
    /// determines: the optimiser then computes it (microseconds) instead of modelling it.
    pub from_ppa: Option<fn(&PpaReport) -> f64>,
}

impl Objective {
    /// The row's value in minimised form (negated if maximised).
    pub fn minimised(&self, r: &EvaluationRow) -> Option<f64> {
        (self.value)(r).map(|v| self.direction.minimised(v))
    }

    /// The row's value for the surrogates, in maximised form (of the logarithm where
    /// `log_scale`); NaN if missing.
    pub fn surrogate(&self, r: &EvaluationRow) -> f64 {
        self.for_surrogate((self.value)(r).unwrap_or(f64::NAN))
    }

    /// The value the design's PPA report gives it, in the surrogates' form, for an
    /// objective the design alone determines.
    pub fn known_surrogate(&self, ppa: &PpaReport) -> Option<f64> {
        self.from_ppa.map(|f| self.for_surrogate(f(ppa)))
    }

    /// A stored value in maximised form, of its logarithm where `log_scale`.
    fn for_surrogate(&self, v: f64) -> f64 {
        let v = if self.log_scale { v.ln() } else { v };
        -self.direction.minimised(v)
    }

    /// The report's axis label, in the display unit.
    pub fn label(&self) -> String {
        format!("{} ({})", self.title, self.display_unit)
    }

    /// The report's parallel-coordinates axis label: of the stored value's base-10
    /// logarithm where `log_scale`, else of the display value.
    pub fn axis_label(&self) -> String {
        if self.log_scale {
            format!("log10 {} ({})", self.title, self.unit)
        } else {
            self.label()
        }
    }

    /// The row's value on its parallel-coordinates axis; NaN if missing.
    pub fn axis_value(&self, r: &EvaluationRow) -> f64 {
        if self.log_scale {
            (self.value)(r).unwrap_or(f64::NAN).log10()
        } else {
            self.display(r)
        }
    }

    /// The row's value in the display unit; NaN if missing.
    pub fn display(&self, r: &EvaluationRow) -> f64 {
        (self.value)(r).unwrap_or(f64::NAN) * self.display_scale
    }

    /// The row's value in the display unit, as text with [`Objective::decimals`].
    pub fn display_text(&self, r: &EvaluationRow) -> String {
        format!("{:.*}", self.decimals, self.display(r))
    }
}

/// The study's objectives: noisy accuracy, and the design's area, latency and energy.
pub const OBJECTIVES: &[Objective] = &[
    Objective {
        name: "accuracy",
        column: "accuracy_mean",
        title: "accuracy",
        unit: "",
        display_unit: "%",
        decimals: 2,
        display_scale: 100.0,
        direction: Direction::Maximise,
        fidelity_dependent: true,
        log_scale: false,
        reference: Some(0.0),
        value: |r| r.accuracy_mean,
        from_ppa: None,
    },
    Objective {
        name: "area_um2",
        column: "area_um2",
        title: "area",
        unit: "um^2",
        display_unit: "mm^2",
        decimals: 4,
        display_scale: 1e-6,
        direction: Direction::Minimise,
        fidelity_dependent: false,
        log_scale: true,
        reference: None,
        value: |r| r.area_um2,
        from_ppa: Some(|p| p.area_um2),
    },
    Objective {
        name: "latency_ns",
        column: "latency_ns",
        title: "latency",
        unit: "ns",
        display_unit: "us",
        decimals: 3,
        display_scale: 1e-3,
        direction: Direction::Minimise,
        fidelity_dependent: false,
        log_scale: true,
        reference: None,
        value: |r| r.latency_ns,
        from_ppa: Some(|p| p.latency_ns),
    },
    Objective {
        name: "energy_pj",
        column: "energy_pj",
        title: "energy",
        unit: "pJ",
        display_unit: "uJ",
        decimals: 4,
        display_scale: 1e-6,
        direction: Direction::Minimise,
        fidelity_dependent: false,
        log_scale: true,
        reference: None,
        value: |r| r.energy_pj,
        from_ppa: Some(|p| p.energy_pj),
    },
];

/// How the optimiser knows each of `objectives`, in order: computed from the PPA model
/// where the design determines it, else measured and modelled (over the fidelity too
/// where it depends on it).
pub fn objective_kinds(objectives: &[Objective]) -> Vec<ObjectiveKind> {
    objectives
        .iter()
        .map(|o| match o.from_ppa {
            Some(_) => ObjectiveKind::Known,
            None => ObjectiveKind::Modelled {
                fidelity_dependent: o.fidelity_dependent,
            },
        })
        .collect()
}
