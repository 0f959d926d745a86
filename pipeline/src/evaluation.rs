//! The study's ledger side of an evaluation: which (design, fidelity) pairs the ledger
//! has, and the evaluation of one that it lacks through the [`Graph`], recorded as one
//! ledger row with its per-epoch metrics.
//!
//! Only a failure of the design itself ([`stages::DesignFailure`]: a loss that diverges
//! under its noise) is recorded, as a `failed` row. Any other error is an
//! infrastructure fault (I/O, a full disk, a vanished object): nothing is recorded, and
//! the error goes up, so the task is retried and the study stops if it keeps failing.

use std::path::{Path, PathBuf};

use anyhow::{ensure, Context, Result};
use indicatif::ProgressBar;
use stages::design::Design;
use stages::DesignFailure;

use crate::dag::{Graph, Planned};
use crate::fidelity::Fidelity;
use crate::interrupt::Interrupted;
use crate::record::build::{self, Ended, Proposal};
use crate::record::{EvaluationRow, Ledger, STATUS_OK};
use crate::results::LedgerView;
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
    study_dir: PathBuf,
    ledger: Ledger,
    /// Whether the failed rows the ledger held when this run began count as missing, so
    /// their designs are evaluated again.
    retry_failed: bool,
    /// Those rows, by key and end time (a row written again since is kept).
    stale: Option<std::collections::HashSet<(String, i64)>>,
    /// Rows already in the ledger, by key.
    known: std::collections::HashMap<String, EvaluationRow>,
    /// The ledger as last read.
    view: LedgerView,
}

impl<'a> Evaluator<'a> {
    /// An evaluator into the ledger of the study at `study_dir`, knowing none of its
    /// rows until [`Evaluator::reload`]; with `retry_failed`, failed rows count as
    /// missing.
    pub fn new(graph: Graph<'a>, study_dir: &Path, retry_failed: bool) -> Evaluator<'a> {
        Evaluator {
            graph,
            study_dir: study_dir.to_path_buf(),
            ledger: Ledger::new(study_dir),
            retry_failed,
            stale: None,
            known: Default::default(),
            view: LedgerView::new(study_dir),
        }
    }

    /// Re-reads the ledger: rows written since by workers become known.
    pub fn reload(&mut self) -> Result<()> {
        let rows = self.view.refresh()?;
        let retry_failed = self.retry_failed;
        let stale = self.stale.get_or_insert_with(|| {
            rows.iter()
                .filter(|r| retry_failed && r.status != STATUS_OK)
                .map(|r| (r.eval_key.clone(), r.finished_at_ms))
                .collect()
        });
        self.known = rows
            .into_iter()
            .filter(|r| !stale.contains(&(r.eval_key.clone(), r.finished_at_ms)))
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

    /// Evaluates a planned design at its fidelity (proposed as `proposal`), or returns its ledger
    /// row if it has one. A design failure is recorded as a failed row; any other error
    /// is returned with nothing recorded.
    pub fn evaluate(
        &mut self,
        planned: &Planned,
        proposal: Proposal,
        bar: &ProgressBar,
    ) -> Result<Evaluated> {
        let (design, fidelity) = (&planned.design, planned.fidelity);
        if let Some(row) = self.known.get(&planned.eval_key) {
            return Ok(Evaluated {
                row: row.clone(),
                from_ledger: true,
                reused: true,
            });
        }
        let started_at_ms = build::now_ms();
        let before = self.graph.runner().runs.len();
        let outcome = self.graph.evaluate(planned, bar);
        // A failed evaluation ran (and failed) now, whatever it found cached.
        let reused = outcome.is_ok()
            && self.graph.runner().runs[before..]
                .iter()
                .all(|r| r.outcome == Outcome::Cached);
        let label = format!("{} @{}", design.label(), fidelity.epochs);
        let result = match &outcome {
            Ok(e) => Ok(e),
            Err(e) if e.chain().any(|c| c.is::<DesignFailure>()) => {
                let message = format!("{e:#}");
                tracing::warn!("evaluation of {label} failed: {message}");
                Err(message)
            }
            Err(_) => {
                let e = outcome.unwrap_err();
                if e.downcast_ref::<Interrupted>().is_some() {
                    return Err(e);
                }
                return Err(e.context(format!(
                    "an infrastructure fault evaluating {label}, not a property of the \
                     design: nothing was recorded"
                )));
            }
        };
        let ended = Ended {
            result,
            started_at_ms,
            finished_at_ms: build::now_ms(),
        };
        self.check_identity()?;
        if let Ok(e) = ended.result {
            let metrics = build::metric_rows(&planned.eval_key, e, fidelity);
            self.ledger.record_metrics(&planned.eval_key, &metrics)?;
        }
        let row = self.record(planned, proposal, &ended)?;
        Ok(Evaluated {
            row,
            from_ledger: false,
            reused,
        })
    }

    /// Refuses to write into a study whose problem is no longer the one this evaluation
    /// was planned for (a worker left over from before `--new-study`).
    fn check_identity(&self) -> Result<()> {
        let path = self.study_dir.join(crate::config::STUDY_SNAPSHOT);
        let bytes = std::fs::read(&path)
            .with_context(|| format!("reading the study's identity {}", path.display()))?;
        let stored: serde_json::Value = serde_json::from_slice(&bytes)
            .with_context(|| format!("{} is corrupted", path.display()))?;
        ensure!(
            stored["problem"] == self.graph.cfg().problem_fingerprint(),
            "the study in {} now holds another problem (--new-study since this task was \
             planned): its row is not written",
            self.study_dir.display()
        );
        Ok(())
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
