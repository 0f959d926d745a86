//! `pipeline bench optimizer`: CF-MESMO, MESMO, NSGA-II and random search on the
//! synthetic multi-fidelity problems, over several seeds.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{bail, Result};
use arrow::array::{ArrayRef, Float64Array, RecordBatch, StringArray, UInt64Array};
use arrow::datatypes::{DataType, Field, Schema};
use clap::Args;
use stages::optimizer::benchmark::{self, cost_to_reach, median, BenchConfig, Method, TracePoint};

use crate::plot::{line_chart, Series};

/// The supplementary criterion: within this relative distance of NSGA-II's final
/// hypervolume. Near the optimum, hypervolumes measured against a reference point beyond
/// the worst designs differ in the fifth digit, so the strict criterion can hinge on a
/// difference of no practical weight; both are printed.
const NEAR: f64 = 1e-3;

/// `pipeline bench optimizer` options.
#[derive(Args, Debug)]
pub struct OptimizerBenchArgs {
    /// A problem (branin_currin, crossbar_like); all when absent.
    #[arg(long)]
    problem: Option<String>,
    /// Seeds per method and problem.
    #[arg(long, default_value_t = 5)]
    seeds: u64,
    /// The model-based methods' budget, as a fraction of NSGA-II's total cost; a method
    /// that has not reached NSGA-II's final hypervolume by then scores `inf`.
    #[arg(long, default_value_t = 0.2)]
    budget_fraction: f64,
    /// Where to write `optimizer-traces.parquet` and one SVG per problem.
    #[arg(long, default_value = "bench-results")]
    out: PathBuf,
}

/// Runs the benchmark and prints `cost_ratio_vs_nsga2 <problem> <method>: R` lines.
pub fn optimizer(args: &OptimizerBenchArgs) -> Result<()> {
    let names: Vec<&str> = match &args.problem {
        Some(p) if benchmark::problem(p).is_some() => vec![p.as_str()],
        Some(p) => bail!(
            "--problem {p}: unknown; the problems are {}",
            benchmark::PROBLEMS.join(", ")
        ),
        None => benchmark::PROBLEMS.to_vec(),
    };
    if args.seeds == 0 || args.budget_fraction.is_nan() || args.budget_fraction <= 0.0 {
        bail!("--seeds and --budget-fraction must be positive");
    }
    let config = BenchConfig::default();
    let nsga_cost = config.nsga2_cost();
    let mut rows: Vec<(String, Method, u64, TracePoint)> = Vec::new();
    let mut summary = Vec::new();
    for name in &names {
        let problem = benchmark::problem(name).expect("checked");
        let mut ratios: Vec<(Method, Vec<f64>)> =
            Method::ALL.iter().map(|m| (*m, Vec::new())).collect();
        let mut near_ratios = ratios.clone();
        let mut series = Vec::new();
        for seed in 0..args.seeds {
            let nsga = benchmark::run(problem.as_ref(), Method::Nsga2, &config, seed, nsga_cost)?;
            let target = nsga.last().map_or(0.0, |t| t.hypervolume);
            for (i, method) in Method::ALL.iter().enumerate() {
                let trace = match method {
                    Method::Nsga2 => nsga.clone(),
                    Method::Random => {
                        benchmark::run(problem.as_ref(), *method, &config, seed, nsga_cost)?
                    }
                    _ => benchmark::run(
                        problem.as_ref(),
                        *method,
                        &config,
                        seed,
                        args.budget_fraction * nsga_cost,
                    )?,
                };
                let ratio_at =
                    |t: f64| cost_to_reach(&trace, t).map_or(f64::INFINITY, |c| c / nsga_cost);
                let (ratio, near) = (ratio_at(target), ratio_at(target * (1.0 - NEAR)));
                eprintln!(
                    "{name} seed {seed} {method}: {} evaluations, ratio {ratio:.4} \
                     (within 0.1 %: {near:.4})",
                    trace.len()
                );
                ratios[i].1.push(ratio);
                near_ratios[i].1.push(near);
                series.push(Series {
                    label: method.to_string(),
                    colour: i,
                    points: trace
                        .iter()
                        .map(|t| (t.cumulative_cost, t.hypervolume))
                        .collect(),
                });
                rows.extend(
                    trace
                        .into_iter()
                        .map(|t| (name.to_string(), *method, seed, t)),
                );
            }
        }
        std::fs::create_dir_all(&args.out)?;
        let svg = args.out.join(format!("optimizer-{name}.svg"));
        line_chart(
            &svg,
            &format!("{name}: hypervolume of the full-fidelity front"),
            "cumulative cost (full-fidelity evaluations)",
            "hypervolume",
            &series,
        )?;
        for ((method, r), (_, near)) in ratios.into_iter().zip(near_ratios) {
            summary.push(format!(
                "cost_ratio_vs_nsga2 {name} {method}: {}",
                median(&r)
            ));
            summary.push(format!(
                "cost_ratio_vs_nsga2_within_0.1pct {name} {method}: {}",
                median(&near)
            ));
        }
    }
    let path = args.out.join("optimizer-traces.parquet");
    let (schema, batch) = traces_table(&rows)?;
    cache::table::write_parquet_atomic(&path, &schema, &[batch])?;
    println!("traces: {} (plots beside it)", path.display());
    for line in summary {
        println!("{line}");
    }
    Ok(())
}

fn traces_table(rows: &[(String, Method, u64, TracePoint)]) -> Result<(Arc<Schema>, RecordBatch)> {
    let schema = Arc::new(Schema::new(vec![
        Field::new("problem", DataType::Utf8, false),
        Field::new("method", DataType::Utf8, false),
        Field::new("seed", DataType::UInt64, false),
        Field::new("evaluation", DataType::UInt64, false),
        Field::new("fidelity_z", DataType::Float64, false),
        Field::new("cost", DataType::Float64, false),
        Field::new("cumulative_cost", DataType::Float64, false),
        Field::new("hypervolume", DataType::Float64, false),
    ]));
    let f = |get: fn(&TracePoint) -> f64| -> ArrayRef {
        Arc::new(Float64Array::from_iter_values(
            rows.iter().map(|r| get(&r.3)),
        ))
    };
    let batch = RecordBatch::try_new(
        schema.clone(),
        vec![
            Arc::new(StringArray::from_iter_values(rows.iter().map(|r| &r.0))),
            Arc::new(StringArray::from_iter_values(
                rows.iter().map(|r| r.1.as_str()),
            )),
            Arc::new(UInt64Array::from_iter_values(rows.iter().map(|r| r.2))),
            Arc::new(UInt64Array::from_iter_values(
                rows.iter().map(|r| r.3.evaluation as u64),
            )),
            f(|t| t.z),
            f(|t| t.cost),
            f(|t| t.cumulative_cost),
            f(|t| t.hypervolume),
        ],
    )?;
    Ok((schema, batch))
}
