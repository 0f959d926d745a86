//! The study's controls: on each full-fidelity Pareto design, the study's own evaluation
//! against the noise-unaware baseline and the controls of `[report] controls` (the same
//! fine-tuning without noise, or under naive Gaussian noise), each gain paired over the
//! noise draws ([`PairedGain`]). `pipeline run` computes them under the study's lock;
//! the report and `pipeline status` read them from the store.

use anyhow::Result;
use indicatif::ProgressBar;
use stages::training::params::NoiseStrategy;

use crate::config::StudyConfig;
use crate::dag::{EvalSummary, Graph};
use crate::evidence::PairedGain;
use crate::record::EvaluationRow;
use crate::runner::if_stored;

/// One control of one design: its evaluation and the study's gain over it.
#[derive(Debug, Clone)]
pub struct Compared {
    /// The control's evaluation under the design's noise.
    pub eval: EvalSummary,
    /// The study's evaluation minus the control's, paired over the noise draws.
    pub gain: PairedGain,
}

/// A Pareto design's evaluation and its controls, in [`strategies`]' order.
#[derive(Debug, Clone)]
pub struct DesignControls {
    /// The study's own evaluation.
    pub ours: EvalSummary,
    /// Each control, `None` where it is not in the store.
    pub controls: Vec<(NoiseStrategy, Option<Compared>)>,
}

/// How many designs gain over one control beyond two standard errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tally {
    /// The control.
    pub strategy: NoiseStrategy,
    /// Designs whose gain is positive and beyond two standard errors.
    pub beyond: usize,
    /// Designs compared with it.
    pub compared: usize,
}

/// The controls of a study: the noise-unaware baseline first (the baseline checkpoint
/// under the design's noise: its noisy-inference node's key reads no training strategy,
/// so every study of the data set shares it), then `[report] controls`.
pub fn strategies(cfg: &StudyConfig) -> Vec<NoiseStrategy> {
    std::iter::once(NoiseStrategy::NoiseUnaware)
        .chain(cfg.report.controls.iter().copied())
        .collect()
}

/// Whether a study has controls at all: only a training that fine-tunes is compared.
pub fn apply(cfg: &StudyConfig) -> bool {
    cfg.training.strategy.fine_tunes()
}

/// Computes (or finds in the store) every control of the Pareto row `r`.
pub fn compute(graph: &mut Graph, r: &EvaluationRow) -> Result<()> {
    let cfg = graph.cfg();
    let design = r.design(&cfg.design_space);
    let hidden = ProgressBar::hidden();
    for strategy in strategies(cfg) {
        graph.control(&design, epochs_of(r, strategy), strategy, &hidden)?;
    }
    Ok(())
}

/// The stored controls of the Pareto row `r`; `None` where its own evaluation or the
/// noise-unaware one is not in the store (a missing configured control is `None` in
/// its place).
pub fn stored(graph: &mut Graph, r: &EvaluationRow) -> Result<Option<DesignControls>> {
    let cfg = graph.cfg();
    let design = r.design(&cfg.design_space);
    let hidden = ProgressBar::hidden();
    let Some(ours) =
        if_stored(graph.evaluation(&design, cfg.fidelity.at(r.fidelity_epochs as usize)))?
    else {
        return Ok(None);
    };
    let mut controls = Vec::new();
    for strategy in strategies(cfg) {
        let eval = if_stored(graph.control(&design, epochs_of(r, strategy), strategy, &hidden))?;
        if eval.is_none() && strategy == NoiseStrategy::NoiseUnaware {
            return Ok(None);
        }
        let compared = eval.map(|eval| Compared {
            gain: PairedGain::of(&ours.draws, &eval.draws),
            eval,
        });
        controls.push((strategy, compared));
    }
    Ok(Some(DesignControls { ours, controls }))
}

/// Per control, in order, how many of `designs` gain over it beyond two standard errors.
pub fn tally(designs: &[DesignControls]) -> Vec<Tally> {
    let Some(first) = designs.first() else {
        return Vec::new();
    };
    first
        .controls
        .iter()
        .enumerate()
        .map(|(i, &(strategy, _))| {
            let gains: Vec<PairedGain> = designs
                .iter()
                .filter_map(|d| d.controls[i].1.as_ref().map(|c| c.gain))
                .collect();
            Tally {
                strategy,
                beyond: gains
                    .iter()
                    .filter(|g| g.gain > 0.0 && g.beyond_two_errors())
                    .count(),
                compared: gains.len(),
            }
        })
        .collect()
}

/// The epochs a control of `r` trains: the row's, or none for the noise-unaware one.
fn epochs_of(r: &EvaluationRow, strategy: NoiseStrategy) -> usize {
    match strategy.fine_tunes() {
        true => r.fidelity_epochs as usize,
        false => 0,
    }
}
