//! Arrow tables of stage outputs and run records (schemas are explicit, one per table).

use std::sync::Arc;

use anyhow::Result;
use arrow::array::{ArrayRef, Float64Array, RecordBatch, StringArray, UInt64Array};
use arrow::datatypes::{DataType, Field, Schema};
use stages::ppa::PpaReport;

use crate::runner::NodeRun;

/// The component columns of the per-layer table: latency (ns) and dynamic energy (pJ)
/// of each component.
fn component_columns() -> Vec<String> {
    let names = stages::ppa::Breakdown::default().named();
    let mut out = Vec::new();
    for (quantity, unit) in [("latency", "ns"), ("energy", "pj")] {
        for (name, _) in names {
            out.push(format!("{quantity}_{name}_{unit}"));
        }
    }
    out
}

/// Schema of a PPA object's `layers.parquet`.
pub fn ppa_layers_schema() -> Arc<Schema> {
    let u = |n: &str| Field::new(n, DataType::UInt64, false);
    let f = |n: &str| Field::new(n, DataType::Float64, false);
    let mut fields = vec![
        Field::new("layer", DataType::Utf8, false),
        u("rows"),
        u("cols"),
        u("row_tiles"),
        u("col_tiles"),
        u("tiles"),
        u("copies"),
        u("macs"),
        f("area_um2"),
        f("latency_ns"),
        f("energy_pj"),
        f("leakage_pj"),
    ];
    fields.extend(component_columns().iter().map(|n| f(n)));
    Arc::new(Schema::new(fields))
}

/// The per-layer PPA breakdown as a table.
pub fn ppa_layers_batch(report: &PpaReport) -> Result<RecordBatch> {
    let l = &report.layers;
    let u = |get: fn(&stages::ppa::LayerPpa) -> u64| -> ArrayRef {
        Arc::new(UInt64Array::from_iter_values(l.iter().map(get)))
    };
    let f = |get: &dyn Fn(&stages::ppa::LayerPpa) -> f64| -> ArrayRef {
        Arc::new(Float64Array::from_iter_values(l.iter().map(get)))
    };
    let mut columns = vec![
        Arc::new(StringArray::from_iter_values(l.iter().map(|x| &x.name))) as ArrayRef,
        u(|x| x.rows as u64),
        u(|x| x.cols as u64),
        u(|x| x.row_tiles as u64),
        u(|x| x.col_tiles as u64),
        u(|x| x.tiles as u64),
        u(|x| x.copies as u64),
        u(|x| x.macs),
        f(&|x| x.area_um2),
        f(&|x| x.latency_ns),
        f(&|x| x.energy_pj),
        f(&|x| x.leakage_pj),
    ];
    for quantity in 0..2 {
        for component in 0..6 {
            columns.push(f(&|x| {
                let b = if quantity == 0 { x.latency } else { x.energy };
                b.named()[component].1
            }));
        }
    }
    Ok(RecordBatch::try_new(ppa_layers_schema(), columns)?)
}

/// Schema of `<study>/runs/*.parquet`: one row per DAG node a run resolved.
pub fn runs_schema() -> Arc<Schema> {
    Arc::new(Schema::new(vec![
        Field::new("run_id", DataType::Utf8, false),
        Field::new("stage", DataType::Utf8, false),
        Field::new("label", DataType::Utf8, false),
        Field::new("key", DataType::Utf8, false),
        Field::new("outcome", DataType::Utf8, false),
        Field::new("seconds", DataType::Float64, false),
    ]))
}

/// The node records of one run as a table.
pub fn runs_batch(run_id: &str, runs: &[NodeRun]) -> Result<RecordBatch> {
    Ok(RecordBatch::try_new(
        runs_schema(),
        vec![
            Arc::new(StringArray::from_iter_values(runs.iter().map(|_| run_id))),
            Arc::new(StringArray::from_iter_values(runs.iter().map(|r| r.stage))),
            Arc::new(StringArray::from_iter_values(runs.iter().map(|r| &r.label))),
            Arc::new(StringArray::from_iter_values(runs.iter().map(|r| &r.key))),
            Arc::new(StringArray::from_iter_values(
                runs.iter().map(|r| r.outcome.as_str()),
            )),
            Arc::new(Float64Array::from_iter_values(
                runs.iter().map(|r| r.seconds),
            )),
        ],
    )?)
}
