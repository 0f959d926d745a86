//! One evaluation of a (design, fidelity) pair through the DAG: crossbar
//! characterisation, ReSNA training (warm-started), noisy inference and PPA, recorded as
//! one ledger row with its per-epoch metrics.
//!
//! The row's `eval_key` is a content key over the evaluation node's and the PPA node's
//! keys, so it is known before anything is trained: a row already in the ledger is
//! reused as it is, and a failure is recorded with `status = failed` and its message.

use std::time::{SystemTime, UNIX_EPOCH};

use crate::record::{EvaluationRow, Ledger, MetricRow, STATUS_FAILED, STATUS_OK};
use anyhow::Result;
use cache::{KeyInput, Object};
use indicatif::ProgressBar;
use stages::design::Design;
use stages::training;

use crate::config::StudyConfig;
use crate::dag::{self, EvalSummary, LoadedData, TrainSummary};
use crate::runner::Runner;

/// The ledger-row stage name in keys.
const EVALUATION_STAGE: &str = "evaluation";

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

/// Evaluates designs for one study.
pub struct Evaluator<'a> {
    /// The study config.
    pub cfg: &'a StudyConfig,
    /// The prepared data set.
    pub data: LoadedData,
    /// The baseline checkpoint.
    pub baseline: Object,
    /// The study's ledger.
    pub ledger: Ledger,
    /// Rows already in the ledger, by key.
    known: std::collections::HashMap<String, EvaluationRow>,
}

impl<'a> Evaluator<'a> {
    /// An evaluator over the ledger's current rows.
    pub fn new(
        cfg: &'a StudyConfig,
        data: LoadedData,
        baseline: Object,
        ledger: Ledger,
    ) -> Result<Evaluator<'a>> {
        let read = ledger.evaluations()?;
        for s in &read.skipped {
            tracing::warn!("{s}");
        }
        let known = read
            .rows
            .into_iter()
            .map(|r| (r.eval_key.clone(), r))
            .collect();
        Ok(Evaluator {
            cfg,
            data,
            baseline,
            ledger,
            known,
        })
    }

    /// Re-reads the ledger: rows written since by workers become known.
    pub fn reload(&mut self) -> Result<()> {
        let read = self.ledger.evaluations()?;
        for s in &read.skipped {
            tracing::warn!("{s}");
        }
        self.known = read
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

    /// The crossbar and PPA nodes of `design` (cheap) and the content key of its
    /// evaluation at `epochs`, known before anything is trained.
    fn plan(&self, runner: &mut Runner, design: &Design, epochs: usize) -> Result<Plan> {
        let cfg = self.cfg;
        let characterisation = dag::crossbar_node(cfg, design, runner)?;
        let ppa = dag::ppa_node(cfg, design, &self.data.meta, runner)?;
        let checkpoint_key =
            dag::checkpoint_key(cfg, design, epochs, &self.baseline, &characterisation)?;
        let eval_input = dag::eval_input(cfg, design, &checkpoint_key, &characterisation)?;
        let eval_key = KeyInput::new(
            EVALUATION_STAGE,
            training::CODE_VERSION,
            &serde_json::json!({ "epochs": epochs }),
            vec![eval_input.key(), ppa.key()],
            cfg.study.seed,
        )?
        .key()
        .hex();
        Ok(Plan {
            characterisation,
            ppa,
            eval_key,
        })
    }

    /// The evaluation key of `design` at `epochs`.
    pub fn eval_key(&self, runner: &mut Runner, design: &Design, epochs: usize) -> Result<String> {
        Ok(self.plan(runner, design, epochs)?.eval_key)
    }

    /// Records `design` at `epochs` as failed with `message` (a worker that never
    /// finished), unless the ledger has its row.
    pub fn record_failure(
        &mut self,
        runner: &mut Runner,
        design: &Design,
        epochs: usize,
        (iteration, strategy): (i64, &str),
        message: &str,
    ) -> Result<EvaluationRow> {
        let plan = self.plan(runner, design, epochs)?;
        if let Some(row) = self.known.get(&plan.eval_key) {
            return Ok(row.clone());
        }
        let mut row = self.row(&plan, design, epochs, iteration, strategy)?;
        row.status = STATUS_FAILED.to_string();
        row.error = Some(message.to_string());
        row.finished_at_ms = row.started_at_ms;
        self.ledger.record_evaluation(&row)?;
        self.known.insert(plan.eval_key, row.clone());
        Ok(row)
    }

    /// A row of `plan` with its PPA values and no accuracy yet.
    fn row(
        &self,
        plan: &Plan,
        design: &Design,
        epochs: usize,
        iteration: i64,
        strategy: &str,
    ) -> Result<EvaluationRow> {
        let cfg = self.cfg;
        let report = dag::read_ppa(&plan.ppa)?;
        let fine_tunes = cfg.training.strategy.fine_tunes();
        Ok(EvaluationRow {
            eval_key: plan.eval_key.clone(),
            study: cfg.study.name.clone(),
            iteration,
            strategy: strategy.to_string(),
            model: cfg.model.name.to_string(),
            cell_bits: i32::from(design.cell_bits),
            xbar_size: design.xbar_size as i32,
            freq_hz: design.freq_hz,
            temp_k: design.temp_k,
            adc_bits: i32::from(design.adc_bits),
            read_voltage: design.read_voltage,
            fidelity_epochs: if fine_tunes { epochs as i32 } else { 0 },
            fidelity_z: if fine_tunes {
                cfg.fidelity.at(epochs).z()
            } else {
                1.0
            },
            accuracy_mean: None,
            accuracy_std: None,
            accuracy_clean: None,
            area_um2: Some(report.area_um2),
            latency_ns: Some(report.latency_ns),
            energy_pj: Some(report.energy_pj),
            cost_s: 0.0,
            status: STATUS_OK.to_string(),
            error: None,
            started_at_ms: now_ms(),
            finished_at_ms: 0,
            host: cache::store::host_name(),
            code_version: format!("{}", training::CODE_VERSION),
            seed: cfg.study.seed,
        })
    }

    /// Evaluates `design` at `epochs` (proposed by `strategy` at `iteration`), or returns
    /// its ledger row if it has one.
    pub fn evaluate(
        &mut self,
        runner: &mut Runner,
        design: &Design,
        epochs: usize,
        iteration: i64,
        strategy: &str,
        bar: &ProgressBar,
    ) -> Result<Evaluated> {
        let cfg = self.cfg;
        let plan = self.plan(runner, design, epochs)?;
        let characterisation = &plan.characterisation;
        let nodes = (&self.data, &self.baseline, characterisation);
        let eval_key = plan.eval_key.clone();
        if let Some(row) = self.known.get(&eval_key) {
            return Ok(Evaluated {
                row: row.clone(),
                from_ledger: true,
                reused: true,
            });
        }
        let mut row = self.row(&plan, design, epochs, iteration, strategy)?;
        let before = runner.runs.len();
        let outcome = (|| -> Result<(TrainSummary, EvalSummary)> {
            let checkpoint = dag::train_node(cfg, design, epochs, nodes, runner, bar)?;
            let train: TrainSummary = serde_json::from_slice(&checkpoint.read(dag::SUMMARY)?)?;
            let eval = dag::eval_node(
                cfg,
                design,
                (&self.data, &checkpoint, characterisation),
                runner,
                bar,
            )?;
            let eval: EvalSummary = serde_json::from_slice(&eval.read(dag::SUMMARY)?)?;
            Ok((train, eval))
        })();
        let reused = runner.runs[before..]
            .iter()
            .all(|r| r.outcome == crate::runner::Outcome::Cached);
        let fine_tunes = cfg.training.strategy.fine_tunes();
        let mut metrics = Vec::new();
        match outcome {
            Ok((train, eval)) => {
                row.accuracy_mean = Some(eval.accuracy_mean);
                row.accuracy_std = Some(eval.accuracy_std);
                row.accuracy_clean = Some(eval.accuracy_clean);
                row.cost_s = if fine_tunes { train.cost_s } else { 0.0 } + eval.cost_s;
                for e in &train.epochs {
                    for (name, value) in [
                        ("train_loss", e.loss),
                        ("train_accuracy", e.accuracy),
                        ("lr", e.lr),
                    ] {
                        metrics.push(MetricRow {
                            eval_key: eval_key.clone(),
                            epoch: e.epoch as i32,
                            name: name.to_string(),
                            value,
                        });
                    }
                }
                for (d, acc) in eval.draws.iter().enumerate() {
                    metrics.push(MetricRow {
                        eval_key: eval_key.clone(),
                        epoch: epochs as i32,
                        name: format!("noisy_accuracy_draw{d}"),
                        value: *acc,
                    });
                }
            }
            Err(e) if e.downcast_ref::<crate::interrupt::Interrupted>().is_some() => return Err(e),
            Err(e) => {
                let message = format!("{e:#}");
                tracing::warn!(
                    "evaluation of {} @{epochs} failed: {message}",
                    dag::design_label(design)
                );
                row.status = STATUS_FAILED.to_string();
                row.error = Some(message);
            }
        }
        row.finished_at_ms = now_ms();
        if !metrics.is_empty() {
            self.ledger.record_metrics(&eval_key, &metrics)?;
        }
        self.ledger.record_evaluation(&row)?;
        self.known.insert(eval_key, row.clone());
        Ok(Evaluated {
            row,
            from_ledger: false,
            reused,
        })
    }
}

/// The nodes an evaluation's key is made of.
struct Plan {
    characterisation: Object,
    ppa: Object,
    eval_key: String,
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}
