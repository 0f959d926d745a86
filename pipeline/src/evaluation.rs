//! The study's ledger side of an evaluation: which (design, fidelity) pairs the ledger
//! has, and the evaluation of one that it lacks through the [`Graph`], recorded as one
//! ledger row with its per-epoch metrics (or as a failed row with its message).

use anyhow::Result;
use indicatif::ProgressBar;
use stages::design::Design;

use crate::dag::{design_label, Graph, Planned};
use crate::fidelity::Fidelity;
use crate::interrupt::Interrupted;
use crate::record::build::{self, Ended, Proposal};
use crate::record::{EvaluationRow, Ledger};
use crate::runner::Outcome;

/// What the study loop needs of one evaluation.
#[derive(Debug, Clone)]
pub struct Evaluated {
    /// The ledger row.
    pub row: EvaluationRow,
    /// Whether the row was already in the ledger (nothing was run).
    pub from_ledger: bool,
    /// Whether its training and inference came from the cache (shared with an earlier
    /// study or run) rather than being computed now.
    pub reused: bool,
}

/// Evaluates designs for one study into its ledger.
pub struct Evaluator<'a> {
    /// The study's graph.
    pub graph: Graph<'a>,
    ledger: Ledger,
    /// Rows already in the ledger, by key.
    known: std::collections::HashMap<String, EvaluationRow>,
}

impl<'a> Evaluator<'a> {
    /// An evaluator into `ledger`, knowing none of its rows until [`Evaluator::reload`].
    pub fn new(graph: Graph<'a>, ledger: Ledger) -> Evaluator<'a> {
        Evaluator {
            graph,
            ledger,
            known: Default::default(),
        }
    }

    /// Re-reads the ledger: rows written since by workers become known.
    pub fn reload(&mut self) -> Result<()> {
        self.known = self
            .ledger
            .evaluations()?
            .rows
            .into_iter()
            .map(|r| (r.eval_key.clone(), r))
            .collect();
        Ok(())
    }

    /// The ledger row of `eval_key`, if there is one.
    pub fn known(&self, eval_key: &str) -> Option<&EvaluationRow> {
        self.known.get(eval_key)
    }

    /// The evaluation key of `design` at `fidelity`.
    pub fn eval_key(&mut self, design: &Design, fidelity: Fidelity) -> Result<String> {
        self.graph.eval_key(design, fidelity)
    }

    /// Records `design` at `fidelity` as failed with `message` (a worker that never
    /// finished), unless the ledger has its row.
    pub fn record_failure(
        &mut self,
        design: &Design,
        fidelity: Fidelity,
        proposal: Proposal,
        message: &str,
    ) -> Result<EvaluationRow> {
        let planned = self.graph.plan(design, fidelity)?;
        if let Some(row) = self.known.get(&planned.eval_key) {
            return Ok(row.clone());
        }
        let now = build::now_ms();
        let ended = Ended {
            result: Err(message.to_string()),
            started_at_ms: now,
            finished_at_ms: now,
        };
        self.record(&planned, proposal, &ended)
    }

    /// Evaluates `design` at `fidelity` (proposed as `proposal`), or returns its ledger
    /// row if it has one.
    pub fn evaluate(
        &mut self,
        design: &Design,
        fidelity: Fidelity,
        proposal: Proposal,
        bar: &ProgressBar,
    ) -> Result<Evaluated> {
        let planned = self.graph.plan(design, fidelity)?;
        if let Some(row) = self.known.get(&planned.eval_key) {
            return Ok(Evaluated {
                row: row.clone(),
                from_ledger: true,
                reused: true,
            });
        }
        let started_at_ms = build::now_ms();
        let before = self.graph.runner().runs.len();
        let outcome = self.graph.evaluate(&planned, bar);
        let reused = self.graph.runner().runs[before..]
            .iter()
            .all(|r| r.outcome == Outcome::Cached);
        let result = match &outcome {
            Ok(e) => Ok(e),
            Err(e) if e.downcast_ref::<Interrupted>().is_some() => return Err(outcome.unwrap_err()),
            Err(e) => {
                let message = format!("{e:#}");
                tracing::warn!(
                    "evaluation of {} @{} failed: {message}",
                    design_label(design),
                    fidelity.epochs
                );
                Err(message)
            }
        };
        let ended = Ended {
            result,
            started_at_ms,
            finished_at_ms: build::now_ms(),
        };
        if let Ok(e) = ended.result {
            let metrics = build::metric_rows(&planned.eval_key, e, fidelity);
            self.ledger.record_metrics(&planned.eval_key, &metrics)?;
        }
        let row = self.record(&planned, proposal, &ended)?;
        Ok(Evaluated {
            row,
            from_ledger: false,
            reused,
        })
    }

    /// Builds the row of a planned evaluation that `ended`, and writes it to the ledger.
    fn record(
        &mut self,
        planned: &Planned,
        proposal: Proposal,
        ended: &Ended,
    ) -> Result<EvaluationRow> {
        let row = build::row(
            self.graph.cfg(),
            (&planned.design, planned.fidelity),
            (&planned.eval_key, &planned.ppa),
            proposal,
            ended,
        );
        self.ledger.record_evaluation(&row)?;
        self.known.insert(row.eval_key.clone(), row.clone());
        Ok(row)
    }
}
