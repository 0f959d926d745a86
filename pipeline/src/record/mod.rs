//! The study's record, defined once: the evaluation row (one per evaluated (design,
//! fidelity) pair), its explicit Parquet schema, the per-epoch metric row, the study's
//! ledger of both, the objectives ([`objectives`]) read from a row, and how a row is
//! built from what the graph computed ([`build`]).
//!
//! The ledger is two part-file tables ([`cache::ledger::PartTable`]) under the study
//! directory, each part named by its evaluation's key, so that
//! `pl.scan_parquet("<study>/evaluations/*.parquet")` reads the study:
//! - `evaluations/`: [`EvaluationRow`];
//! - `metrics/`: [`MetricRow`], the per-epoch curves in long form
//!   (`eval_key, epoch, name, value`).

pub mod build;
pub mod objectives;

use std::borrow::Borrow;
use std::path::Path;
use std::sync::Arc;

use anyhow::Result;
use arrow::array::{
    ArrayRef, Float64Array, Int32Array, Int64Array, RecordBatch, StringArray,
    TimestampMillisecondArray,
};
use arrow::datatypes::{DataType, Field, Schema, TimeUnit};
use cache::ledger::{PartTable, Row};
use stages::design::{Design, DesignSpace, Variable};

/// The status of an evaluation row.
pub const STATUS_OK: &str = "ok";
/// The status of an evaluation that failed; `error` says why.
pub const STATUS_FAILED: &str = "failed";

/// One evaluation of a (design, fidelity) pair: a row of `evaluations/`.
#[derive(Debug, Clone, PartialEq)]
pub struct EvaluationRow {
    /// The evaluation's cache key, hex.
    pub eval_key: String,
    /// The study's name.
    pub study: String,
    /// The optimiser iteration that proposed it.
    pub iteration: i64,
    /// The strategy that proposed it (`cf_mesmo`, `mesmo`, `nsga2`, `random`, `initial`).
    pub strategy: String,
    /// The DNN model.
    pub model: String,
    /// The design: a ledger column per searchable variable ([`Variable::ALL`], in its
    /// order: `cell_bits`, `xbar_size`, `freq_hz`, `temp_k`, `adc_bits`,
    /// `read_voltage`; Int32 for the integer ones, Float64 for the others). The
    /// conductance range is the study's, not a column: zero here
    /// ([`EvaluationRow::design`] puts it back).
    pub recorded: Design,
    /// Fidelity as training epochs.
    pub fidelity_epochs: i32,
    /// Fidelity normalised to (0, 1].
    pub fidelity_z: f64,
    /// Mean top-1 test accuracy under noise (fraction), over noise draws.
    pub accuracy_mean: Option<f64>,
    /// Standard deviation of that accuracy over noise draws.
    pub accuracy_std: Option<f64>,
    /// Accuracy of the quantised model without noise.
    pub accuracy_clean: Option<f64>,
    /// Chip area, um^2.
    pub area_um2: Option<f64>,
    /// Latency of one inference, ns.
    pub latency_ns: Option<f64>,
    /// Energy of one inference, pJ.
    pub energy_pj: Option<f64>,
    /// Measured compute cost of the evaluation, seconds.
    pub cost_s: f64,
    /// [`STATUS_OK`] or [`STATUS_FAILED`].
    pub status: String,
    /// The error message of a failed evaluation.
    pub error: Option<String>,
    /// Start, Unix milliseconds.
    pub started_at_ms: i64,
    /// End, Unix milliseconds.
    pub finished_at_ms: i64,
    /// Host that ran it.
    pub host: String,
    /// Version of xbar-opt that ran it.
    pub code_version: String,
    /// The study seed (at most `i64::MAX`: stored as a signed 64-bit integer).
    pub seed: u64,
}

impl EvaluationRow {
    /// The row's design, with the study's conductance range.
    pub fn design(&self, space: &DesignSpace) -> Design {
        Design {
            g_min: space.g_min,
            g_max: space.g_max,
            ..self.recorded
        }
    }

    /// The row's value of a searchable design variable.
    pub fn variable(&self, variable: Variable) -> f64 {
        self.recorded.get(variable)
    }

    /// The epochs the row counts against an epoch budget: its fidelity's, at least 1
    /// (a strategy that does not fine-tune evaluates at 0 epochs and still costs an
    /// inference).
    pub fn epochs_charged(&self) -> f64 {
        f64::from(self.fidelity_epochs.max(1))
    }

    /// A short label of the row's design: bits, crossbar, frequency, temperature.
    pub fn label(&self) -> String {
        self.recorded.label()
    }
}

/// The design variables that are axes of `rows`' problem (a replay's table, the report's
/// plots): the paper's four always, the others where the rows hold more than one value.
pub fn design_axes<R: Borrow<EvaluationRow>>(rows: &[R]) -> Vec<Variable> {
    let value = |i: usize, v: Variable| rows[i].borrow().variable(v);
    Variable::ALL
        .into_iter()
        .filter(|&v| v.is_paper_variable() || (1..rows.len()).any(|i| value(i, v) != value(0, v)))
        .collect()
}

/// The ledger's type of a design variable's column.
pub fn design_column_type(variable: Variable) -> DataType {
    match variable.is_integer() {
        true => DataType::Int32,
        false => DataType::Float64,
    }
}

impl Row for EvaluationRow {
    fn schema() -> Arc<Schema> {
        let ts = DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into()));
        let f = |n: &str, t: DataType, null: bool| Field::new(n, t, null);
        Arc::new(Schema::new(
            vec![
                f("eval_key", DataType::Utf8, false),
                f("study", DataType::Utf8, false),
                f("iteration", DataType::Int64, false),
                f("strategy", DataType::Utf8, false),
                f("model", DataType::Utf8, false),
            ]
            .into_iter()
            .chain(Variable::ALL.map(|v| f(v.name(), design_column_type(v), false)))
            .chain([
                f("fidelity_epochs", DataType::Int32, false),
                f("fidelity_z", DataType::Float64, false),
                f("accuracy_mean", DataType::Float64, true),
                f("accuracy_std", DataType::Float64, true),
                f("accuracy_clean", DataType::Float64, true),
                f("area_um2", DataType::Float64, true),
                f("latency_ns", DataType::Float64, true),
                f("energy_pj", DataType::Float64, true),
                f("cost_s", DataType::Float64, false),
                f("status", DataType::Utf8, false),
                f("error", DataType::Utf8, true),
                f("started_at", ts.clone(), false),
                f("finished_at", ts, false),
                f("host", DataType::Utf8, false),
                f("code_version", DataType::Utf8, false),
                // Int64, not UInt64: Spark and other JVM readers have no unsigned type.
                f("seed", DataType::Int64, false),
            ])
            .collect::<Vec<_>>(),
        ))
    }

    fn to_batch(rows: &[Self]) -> Result<RecordBatch> {
        type R = EvaluationRow;
        fn s<'a>(rows: &'a [R], f: impl Fn(&'a R) -> &'a str) -> ArrayRef {
            Arc::new(StringArray::from_iter_values(rows.iter().map(f)))
        }
        fn i32s(rows: &[R], f: impl Fn(&R) -> i32) -> ArrayRef {
            Arc::new(Int32Array::from_iter_values(rows.iter().map(f)))
        }
        fn f64s(rows: &[R], f: impl Fn(&R) -> f64) -> ArrayRef {
            Arc::new(Float64Array::from_iter_values(rows.iter().map(f)))
        }
        fn opt(rows: &[R], f: impl Fn(&R) -> Option<f64>) -> ArrayRef {
            Arc::new(rows.iter().map(f).collect::<Float64Array>())
        }
        fn ts(rows: &[R], f: impl Fn(&R) -> i64) -> ArrayRef {
            Arc::new(
                TimestampMillisecondArray::from_iter_values(rows.iter().map(f))
                    .with_timezone("UTC"),
            )
        }
        let design = Variable::ALL.map(|v| -> ArrayRef {
            match v.is_integer() {
                true => i32s(rows, |r| r.variable(v) as i32),
                false => f64s(rows, |r| r.variable(v)),
            }
        });
        let columns: Vec<ArrayRef> = [
            s(rows, |r| &r.eval_key),
            s(rows, |r| &r.study),
            Arc::new(Int64Array::from_iter_values(
                rows.iter().map(|r| r.iteration),
            )),
            s(rows, |r| &r.strategy),
            s(rows, |r| &r.model),
        ]
        .into_iter()
        .chain(design)
        .chain([
            i32s(rows, |r| r.fidelity_epochs),
            f64s(rows, |r| r.fidelity_z),
            opt(rows, |r| r.accuracy_mean),
            opt(rows, |r| r.accuracy_std),
            opt(rows, |r| r.accuracy_clean),
            opt(rows, |r| r.area_um2),
            opt(rows, |r| r.latency_ns),
            opt(rows, |r| r.energy_pj),
            f64s(rows, |r| r.cost_s),
            s(rows, |r| &r.status),
            Arc::new(
                rows.iter()
                    .map(|r| r.error.as_deref())
                    .collect::<StringArray>(),
            ),
            ts(rows, |r| r.started_at_ms),
            ts(rows, |r| r.finished_at_ms),
            s(rows, |r| &r.host),
            s(rows, |r| &r.code_version),
            Arc::new(Int64Array::from_iter_values(
                rows.iter()
                    .map(|r| i64::try_from(r.seed).unwrap_or(i64::MAX)),
            )),
        ])
        .collect();
        Ok(RecordBatch::try_new(Self::schema(), columns)?)
    }
}

/// The evaluations at one fidelity: how many, how many of them the search strategy
/// chose (not the initial design or the final Pareto evaluations), and their cost.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct FidelityShare {
    /// Fine-tuning epochs (0: a strategy that trains nothing).
    pub epochs: i32,
    /// Evaluations at this fidelity.
    pub evaluations: usize,
    /// Of those, the search strategy's own steps.
    pub steps: usize,
    /// Their measured cost, seconds.
    pub cost_s: f64,
}

/// The strategies that do not decide a step of the search.
const NOT_STEPS: [&str; 2] = ["initial", "final"];

/// `rows` by fidelity, lowest first: where the study spent its evaluations and cost.
pub fn by_fidelity(rows: &[EvaluationRow]) -> Vec<FidelityShare> {
    let mut out: Vec<FidelityShare> = Vec::new();
    for r in rows {
        let i = match out.iter().position(|s| s.epochs == r.fidelity_epochs) {
            Some(i) => i,
            None => {
                out.push(FidelityShare {
                    epochs: r.fidelity_epochs,
                    evaluations: 0,
                    steps: 0,
                    cost_s: 0.0,
                });
                out.len() - 1
            }
        };
        out[i].evaluations += 1;
        out[i].steps += usize::from(!NOT_STEPS.contains(&r.strategy.as_str()));
        out[i].cost_s += r.cost_s;
    }
    out.sort_by_key(|s| s.epochs);
    out
}

/// One per-epoch measurement: a row of `metrics/`.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricRow {
    /// The evaluation it belongs to.
    pub eval_key: String,
    /// Absolute epoch (1-based).
    pub epoch: i32,
    /// What was measured, e.g. `train_loss`.
    pub name: String,
    /// The value.
    pub value: f64,
}

impl Row for MetricRow {
    fn schema() -> Arc<Schema> {
        Arc::new(Schema::new(vec![
            Field::new("eval_key", DataType::Utf8, false),
            Field::new("epoch", DataType::Int32, false),
            Field::new("name", DataType::Utf8, false),
            Field::new("value", DataType::Float64, false),
        ]))
    }

    fn to_batch(rows: &[Self]) -> Result<RecordBatch> {
        let columns: Vec<ArrayRef> = vec![
            Arc::new(StringArray::from_iter_values(
                rows.iter().map(|r| &r.eval_key),
            )),
            Arc::new(Int32Array::from_iter_values(rows.iter().map(|r| r.epoch))),
            Arc::new(StringArray::from_iter_values(rows.iter().map(|r| &r.name))),
            Arc::new(Float64Array::from_iter_values(rows.iter().map(|r| r.value))),
        ];
        Ok(RecordBatch::try_new(Self::schema(), columns)?)
    }
}

/// A study's ledger: its evaluations and their per-epoch metrics.
#[derive(Debug, Clone)]
pub struct Ledger {
    /// `<study>/evaluations`: one part per evaluation.
    pub evaluations: PartTable<EvaluationRow>,
    /// `<study>/metrics`: one part per evaluation's curves.
    pub metrics: PartTable<MetricRow>,
}

impl Ledger {
    /// The ledger of the study at `study_dir`.
    pub fn new(study_dir: &Path) -> Ledger {
        Ledger {
            evaluations: PartTable::new(study_dir.join("evaluations")),
            metrics: PartTable::new(study_dir.join("metrics")),
        }
    }

    /// Writes (or atomically replaces) the row of one evaluation.
    pub fn record_evaluation(&self, row: &EvaluationRow) -> Result<()> {
        self.evaluations
            .write(&row.eval_key, std::slice::from_ref(row))
    }

    /// Writes (or atomically replaces) the per-epoch metrics of one evaluation.
    pub fn record_metrics(&self, eval_key: &str, rows: &[MetricRow]) -> Result<()> {
        self.metrics.write(eval_key, rows)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::config::StudyConfig;

    #[test]
    fn the_design_columns_are_the_design_module_s_variables() {
        let schema = EvaluationRow::schema();
        let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
        let first = names.iter().position(|&n| n == "cell_bits").unwrap();
        for (i, v) in Variable::ALL.into_iter().enumerate() {
            let field = schema.field(first + i);
            assert_eq!(field.name(), v.name());
            assert_eq!(field.data_type(), &design_column_type(v));
        }
        let row = sample_row("k");
        assert_eq!(row.variable(Variable::AdcBits), 5.0);
        assert_eq!(
            row.design(&StudyConfig::default_config().design_space)
                .g_max,
            3.33e-4
        );
    }

    /// A plausible finished evaluation row.
    pub fn sample_row(key: &str) -> EvaluationRow {
        EvaluationRow {
            eval_key: key.to_string(),
            study: "s".into(),
            iteration: 3,
            strategy: "random".into(),
            model: "cnn_small".into(),
            recorded: Design {
                cell_bits: 4,
                xbar_size: 64,
                freq_hz: 5e8,
                temp_k: 350.0,
                adc_bits: 5,
                read_voltage: 0.2,
                g_min: 0.0,
                g_max: 0.0,
            },
            fidelity_epochs: 2,
            fidelity_z: 0.5,
            accuracy_mean: Some(0.61),
            accuracy_std: Some(0.01),
            accuracy_clean: Some(0.65),
            area_um2: Some(1.5e6),
            latency_ns: None,
            energy_pj: Some(3.0e5),
            cost_s: 12.5,
            status: STATUS_OK.into(),
            error: None,
            started_at_ms: 1_700_000_000_000,
            finished_at_ms: 1_700_000_012_500,
            host: "h".into(),
            code_version: "0.1.0".into(),
            seed: i64::MAX as u64,
        }
    }

    #[test]
    fn evaluations_are_counted_by_fidelity_with_the_strategy_s_own_steps() {
        let row = |strategy: &str, epochs: i32, cost_s: f64| EvaluationRow {
            strategy: strategy.into(),
            fidelity_epochs: epochs,
            cost_s,
            ..sample_row("k")
        };
        let rows = [
            row("initial", 1, 1.0),
            row("cf_mesmo", 1, 2.0),
            row("initial", 4, 4.0),
            row("cf_mesmo", 1, 3.0),
            row("final", 4, 5.0),
        ];
        let share = |epochs, evaluations, steps, cost_s| FidelityShare {
            epochs,
            evaluations,
            steps,
            cost_s,
        };
        assert_eq!(
            by_fidelity(&rows),
            vec![share(1, 3, 2, 6.0), share(4, 2, 0, 9.0)]
        );
    }
}
