//! A ledger row and its metric rows from what the graph computed.

use std::time::{SystemTime, UNIX_EPOCH};

use stages::design::Design;
use stages::ppa::PpaReport;

use super::{EvaluationRow, MetricRow, STATUS_FAILED, STATUS_OK};
use crate::config::StudyConfig;
use crate::dag::Evaluation;
use crate::fidelity::Fidelity;

/// Where a row came from in the decision sequence: the iteration and the strategy that
/// proposed it.
#[derive(Debug, Clone, Copy)]
pub struct Proposal<'s> {
    /// The optimiser iteration.
    pub iteration: i64,
    /// The strategy (`initial`, `cf_mesmo`, ...).
    pub strategy: &'s str,
}

/// How an evaluation ended: its result (or the error message of a failure), and when
/// it started and finished (Unix milliseconds).
#[derive(Debug, Clone)]
pub struct Ended<'e> {
    /// What the graph computed, or why it failed.
    pub result: std::result::Result<&'e Evaluation, String>,
    /// Start.
    pub started_at_ms: i64,
    /// End.
    pub finished_at_ms: i64,
}

/// The ledger row of `design` at `fidelity` under `eval_key`: its design, fidelity and
/// PPA, and how it ended (accuracy and cost, or the failure).
pub fn row(
    cfg: &StudyConfig,
    (design, fidelity): (&Design, Fidelity),
    (eval_key, ppa): (&str, &PpaReport),
    proposal: Proposal,
    ended: &Ended,
) -> EvaluationRow {
    // A strategy that trains nothing is evaluated as the baseline: no fidelity.
    let fine_tunes = cfg.training.strategy.fine_tunes();
    let done = ended.result.as_ref().ok();
    EvaluationRow {
        eval_key: eval_key.to_string(),
        study: cfg.study.name.clone(),
        iteration: proposal.iteration,
        strategy: proposal.strategy.to_string(),
        model: cfg.model.name.to_string(),
        recorded: design.recorded(),
        fidelity_epochs: if fine_tunes {
            fidelity.epochs as i32
        } else {
            0
        },
        fidelity_z: if fine_tunes { fidelity.z() } else { 1.0 },
        accuracy_mean: done.map(|e| e.eval.accuracy_mean),
        accuracy_std: done.map(|e| e.eval.accuracy_std),
        accuracy_clean: done.map(|e| e.eval.accuracy_clean),
        area_um2: Some(ppa.area_um2),
        latency_ns: Some(ppa.latency_ns),
        energy_pj: Some(ppa.energy_pj),
        // The shared baseline's training is not this row's cost.
        cost_s: done.map_or(0.0, |e| {
            (if e.fine_tuned { e.train.cost_s } else { 0.0 }) + e.eval.cost_s
        }),
        status: if done.is_some() {
            STATUS_OK
        } else {
            STATUS_FAILED
        }
        .to_string(),
        error: ended.result.as_ref().err().cloned(),
        started_at_ms: ended.started_at_ms,
        finished_at_ms: ended.finished_at_ms,
        host: cache::host::host_name(),
        code_version: env!("CARGO_PKG_VERSION").to_string(),
        seed: cfg.study.seed,
    }
}

/// The per-epoch curves of an evaluation at `fidelity`: training loss, accuracy and
/// learning rate per epoch, and each noise draw's accuracy at the last epoch.
pub fn metric_rows(eval_key: &str, e: &Evaluation, fidelity: Fidelity) -> Vec<MetricRow> {
    let metric = |epoch: usize, name: String, value: f64| MetricRow {
        eval_key: eval_key.to_string(),
        epoch: epoch as i32,
        name,
        value,
    };
    let mut rows = Vec::new();
    for ep in &e.train.epochs {
        for (name, value) in [
            ("train_loss", ep.loss),
            ("train_accuracy", ep.accuracy),
            ("lr", ep.lr),
        ] {
            rows.push(metric(ep.epoch, name.to_string(), value));
        }
    }
    for (d, acc) in e.eval.draws.iter().enumerate() {
        rows.push(metric(
            fidelity.epochs,
            format!("noisy_accuracy_draw{d}"),
            *acc,
        ));
    }
    rows
}

/// Now, in Unix milliseconds.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dag::{EvalSummary, TrainSummary};

    fn ppa(cfg: &StudyConfig, design: &Design) -> PpaReport {
        stages::ppa::estimate(cfg.model.name, 32, 10, design, &cfg.ppa).unwrap()
    }

    fn evaluation(fine_tuned: bool) -> Evaluation {
        let epoch = |epoch| crate::dag::outputs::EpochSummary {
            epoch,
            loss: 1.0,
            accuracy: 0.5,
            lr: 0.01,
        };
        Evaluation {
            train: TrainSummary {
                epochs: vec![epoch(1), epoch(2)],
                cost_s: 10.0,
                warm_start_epochs: 0,
            },
            fine_tuned,
            eval: EvalSummary {
                accuracy_mean: 0.4,
                accuracy_std: 0.01,
                accuracy_clean: 0.45,
                draws: vec![0.39, 0.41],
                cost_s: 2.0,
            },
        }
    }

    fn ended(result: std::result::Result<&Evaluation, String>) -> Ended<'_> {
        Ended {
            result,
            started_at_ms: 1_000,
            finished_at_ms: 3_000,
        }
    }

    #[test]
    fn a_row_holds_its_fidelity_ppa_accuracy_and_cost() {
        let cfg = StudyConfig::default_config();
        let design = cfg.design_space.decode(&[0.5; 4]);
        let (fidelity, ppa) = (cfg.fidelity.at(2), ppa(&cfg, &design));
        let proposal = Proposal {
            iteration: 7,
            strategy: "cf_mesmo",
        };
        let e = evaluation(true);
        let r = row(
            &cfg,
            (&design, fidelity),
            ("k", &ppa),
            proposal,
            &ended(Ok(&e)),
        );
        assert_eq!((r.iteration, r.strategy.as_str()), (7, "cf_mesmo"));
        assert_eq!((r.fidelity_epochs, r.fidelity_z), (2, 0.5));
        assert_eq!((r.eval_key.as_str(), r.area_um2), ("k", Some(ppa.area_um2)));
        assert_eq!(
            (r.accuracy_mean, r.cost_s, r.status.as_str()),
            (Some(0.4), 12.0, STATUS_OK)
        );
        assert_eq!((r.started_at_ms, r.finished_at_ms), (1_000, 3_000));
        let metrics = metric_rows("k", &e, fidelity);
        assert_eq!(
            metrics.len(),
            2 * 3 + 2,
            "three curves of two epochs, two draws"
        );
        assert_eq!(
            (metrics[6].epoch, metrics[6].name.as_str()),
            (2, "noisy_accuracy_draw0")
        );
        let failed = row(
            &cfg,
            (&design, fidelity),
            ("k", &ppa),
            proposal,
            &ended(Err("boom".into())),
        );
        assert_eq!(
            (failed.status.as_str(), failed.error.as_deref()),
            (STATUS_FAILED, Some("boom"))
        );
        assert_eq!(
            (failed.accuracy_mean, failed.area_um2),
            (None, Some(ppa.area_um2))
        );
    }

    #[test]
    fn a_strategy_that_trains_nothing_has_no_fidelity_and_no_training_cost() {
        let mut cfg = StudyConfig::default_config().into_inner();
        cfg.training.strategy = stages::training::params::NoiseStrategy::NoiseUnaware;
        let design = cfg.design_space.decode(&[0.5; 4]);
        let proposal = Proposal {
            iteration: 0,
            strategy: "initial",
        };
        let (full, ppa) = (cfg.fidelity.full(), ppa(&cfg, &design));
        let e = evaluation(false);
        let r = row(&cfg, (&design, full), ("k", &ppa), proposal, &ended(Ok(&e)));
        assert_eq!((r.fidelity_epochs, r.fidelity_z), (0, 1.0));
        assert_eq!(
            r.cost_s, 2.0,
            "the shared baseline's training is not this row's"
        );
    }
}
