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

/// The row of `design` at `fidelity` under `eval_key`, with its PPA and no accuracy yet,
/// started now.
pub fn planned_row(
    cfg: &StudyConfig,
    (design, fidelity): (&Design, Fidelity),
    (eval_key, ppa): (&str, &PpaReport),
    proposal: Proposal,
) -> EvaluationRow {
    // A strategy that trains nothing is evaluated as the baseline: no fidelity.
    let fine_tunes = cfg.training.strategy.fine_tunes();
    EvaluationRow {
        eval_key: eval_key.to_string(),
        study: cfg.study.name.clone(),
        iteration: proposal.iteration,
        strategy: proposal.strategy.to_string(),
        model: cfg.model.name.to_string(),
        cell_bits: i32::from(design.cell_bits),
        xbar_size: design.xbar_size as i32,
        freq_hz: design.freq_hz,
        temp_k: design.temp_k,
        adc_bits: i32::from(design.adc_bits),
        read_voltage: design.read_voltage,
        fidelity_epochs: if fine_tunes {
            fidelity.epochs as i32
        } else {
            0
        },
        fidelity_z: if fine_tunes { fidelity.z() } else { 1.0 },
        accuracy_mean: None,
        accuracy_std: None,
        accuracy_clean: None,
        area_um2: Some(ppa.area_um2),
        latency_ns: Some(ppa.latency_ns),
        energy_pj: Some(ppa.energy_pj),
        cost_s: 0.0,
        status: STATUS_OK.to_string(),
        error: None,
        started_at_ms: now_ms(),
        finished_at_ms: 0,
        host: cache::store::host_name(),
        code_version: format!("{}", stages::training::CODE_VERSION),
        seed: cfg.study.seed,
    }
}

/// Fills `row` with a finished evaluation's accuracy and cost.
pub fn complete(row: &mut EvaluationRow, e: &Evaluation) {
    row.accuracy_mean = Some(e.eval.accuracy_mean);
    row.accuracy_std = Some(e.eval.accuracy_std);
    row.accuracy_clean = Some(e.eval.accuracy_clean);
    row.cost_s = if e.fine_tuned { e.train.cost_s } else { 0.0 } + e.eval.cost_s;
    row.finished_at_ms = now_ms();
}

/// Marks `row` failed with `message`; `at_start` for a failure recorded without running
/// (its end is its start).
pub fn fail(row: &mut EvaluationRow, message: &str, at_start: bool) {
    row.status = STATUS_FAILED.to_string();
    row.error = Some(message.to_string());
    row.finished_at_ms = if at_start {
        row.started_at_ms
    } else {
        now_ms()
    };
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

fn now_ms() -> i64 {
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

    #[test]
    fn a_row_holds_its_fidelity_ppa_accuracy_and_cost() {
        let cfg = StudyConfig::default_config();
        let design = cfg.design_space.decode(&[0.5; 4]);
        let (fidelity, ppa) = (cfg.fidelity.at(2), ppa(&cfg, &design));
        let proposal = Proposal {
            iteration: 7,
            strategy: "cf_mesmo",
        };
        let mut row = planned_row(&cfg, (&design, fidelity), ("k", &ppa), proposal);
        assert_eq!((row.iteration, row.strategy.as_str()), (7, "cf_mesmo"));
        assert_eq!((row.fidelity_epochs, row.fidelity_z), (2, 0.5));
        assert_eq!(
            (row.eval_key.as_str(), row.area_um2),
            ("k", Some(ppa.area_um2))
        );
        assert_eq!(row.accuracy_mean, None);
        complete(&mut row, &evaluation(true));
        assert_eq!((row.accuracy_mean, row.cost_s), (Some(0.4), 12.0));
        let metrics = metric_rows("k", &evaluation(true), fidelity);
        assert_eq!(
            metrics.len(),
            2 * 3 + 2,
            "three curves of two epochs, two draws"
        );
        assert_eq!(
            (metrics[6].epoch, metrics[6].name.as_str()),
            (2, "noisy_accuracy_draw0")
        );
        fail(&mut row, "boom", true);
        assert_eq!(row.status, STATUS_FAILED);
        assert_eq!(row.finished_at_ms, row.started_at_ms);
    }

    #[test]
    fn a_strategy_that_trains_nothing_has_no_fidelity_and_no_training_cost() {
        let mut cfg = StudyConfig::default_config();
        cfg.training.strategy = stages::training::params::NoiseStrategy::NoiseUnaware;
        let design = cfg.design_space.decode(&[0.5; 4]);
        let proposal = Proposal {
            iteration: 0,
            strategy: "initial",
        };
        let full = cfg.fidelity.full();
        let mut row = planned_row(&cfg, (&design, full), ("k", &ppa(&cfg, &design)), proposal);
        assert_eq!((row.fidelity_epochs, row.fidelity_z), (0, 1.0));
        complete(&mut row, &evaluation(false));
        assert_eq!(
            row.cost_s, 2.0,
            "the shared baseline's training is not this row's"
        );
    }
}
