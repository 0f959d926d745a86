//! `pipeline bench replay`: the search strategies raced on the real problem for free. A
//! sweep's ledger (`pipeline sweep`: every design of a grid at every fidelity) is a
//! table; each strategy runs on the grid as a discrete design space through the same
//! ask/tell code the study runs, every evaluation answered from the table with its
//! recorded cost, so twenty seeds take seconds instead of twenty studies.

use optimizer::problem::MultiFidelityProblem;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use clap::Args;
use optimizer::benchmark::{self, BenchConfig};

use optimizer::tabulated::{Entry, TabulatedProblem};

use crate::front;
use crate::race::{check_race_args, selected_methods, write_traces, Race, RaceResults};
use crate::record::objectives::{objective_kinds, OBJECTIVES};
use crate::record::{self, EvaluationRow};
use crate::results;
use crate::setup::read_ledger;

/// The shipped table: a sweep of the embedded default problem (`data/README.md` says
/// which grid, seed and code), compiled in so that a fresh clone races on real data.
const SHIPPED_TABLE: &[u8] = include_bytes!("../../../data/sweep-default.parquet");

/// The shipped table's name in the traces and tables.
const SHIPPED_NAME: &str = "sweep-default";

/// `pipeline bench replay` options.
#[derive(Args, Debug)]
pub struct ReplayArgs {
    /// A table to race on: a sweep's study directory, or a Parquet file of its ledger
    /// (`pipeline export --out FILE.parquet`); repeat the flag for several. Default: the
    /// shipped table of the default problem (`data/sweep-default.parquet`, compiled in).
    #[arg(long, value_name = "STUDY_DIR|FILE.parquet")]
    table: Vec<PathBuf>,
    /// Seeds per method and table.
    #[arg(long, default_value_t = 20)]
    seeds: u64,
    /// The model-based methods' budget, as a fraction of what NSGA-II spends on the same
    /// seed; a method that has not reached NSGA-II's final hypervolume by then scores
    /// `inf`.
    #[arg(long, default_value_t = 0.2)]
    budget_fraction: f64,
    /// What an evaluation costs: `epochs`, the study's cost model (a fixed overhead plus
    /// the epochs it trains, so the figures do not depend on the machine that ran the
    /// sweep or on what else it ran), or `recorded`, the seconds each row's evaluation
    /// took (`cost_s`).
    #[arg(long, value_enum, default_value = "epochs")]
    cost: TableCost,
    /// With `--cost epochs`: an evaluation's fixed overhead, in epochs (the study's
    /// `[optimizer.cost] overhead_epochs`).
    #[arg(long, default_value_t = 0.5)]
    overhead_epochs: f64,
    /// The methods to race, comma-separated; default `cf_mesmo,mesmo,nsga2,random`.
    #[arg(long, default_value = "cf_mesmo,mesmo,nsga2,random")]
    methods: String,
    /// Where to write `replay-traces.parquet` and one SVG per table.
    #[arg(long, default_value = "bench-results")]
    out: PathBuf,
}

/// What an evaluation of a table costs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum TableCost {
    /// The study's cost model: a fixed overhead plus the epochs trained; a warm start
    /// pays the epochs it adds.
    Epochs,
    /// The measured seconds of each row (a warm start from the fidelity below, for a
    /// sweep's row).
    Recorded,
}

/// Races the strategies on each table and prints the benchmark's lines and table, with
/// each table's shape and the regret against its true front.
pub fn replay(args: &ReplayArgs) -> Result<()> {
    check_race_args(args.seeds, args.budget_fraction)?;
    if !(args.overhead_epochs.is_finite() && args.overhead_epochs >= 0.0) {
        bail!("--overhead-epochs must be a finite number of epochs, 0 or more");
    }
    let cost = match args.cost {
        TableCost::Epochs => Some(args.overhead_epochs),
        TableCost::Recorded => None,
    };
    let methods = selected_methods(Some(&args.methods))?;
    // Every table is read and checked before anything is written.
    let tables: Vec<(String, TabulatedProblem)> = if args.table.is_empty() {
        let rows = results::evaluation_rows(&results::read_bytes(SHIPPED_TABLE)?)?;
        vec![(
            SHIPPED_NAME.to_string(),
            table_problem(SHIPPED_NAME, &rows, cost)?,
        )]
    } else {
        args.table
            .iter()
            .map(|path| {
                let name = table_name(path);
                let rows = read_table(path)?;
                let problem = table_problem(&name, &rows, cost)
                    .with_context(|| format!("--table {}", path.display()))?;
                Ok((name, problem))
            })
            .collect::<Result<_>>()?
    };
    let config = BenchConfig::default();
    let mut results = RaceResults::default();
    for (name, problem) in &tables {
        let (max_hv, _) = benchmark::max_hypervolume(problem);
        eprintln!(
            "{name}: {} designs x {} fidelities, one cost unit = {:.2} {} (a cold \
             full-fidelity evaluation, mean over the grid); reference point {:?}, the \
             grid's hypervolume {max_hv:.6}",
            problem.designs(),
            problem.fidelities().map_or(1, |f| f.len()),
            problem.cost_unit(),
            match args.cost {
                TableCost::Epochs => "epochs",
                TableCost::Recorded => "s",
            },
            benchmark::reference_point(problem),
        );
        let race = Race {
            name,
            problem,
            max_hv,
            methods: &methods,
            config: &config,
            seeds: args.seeds,
            budget_fraction: args.budget_fraction,
            stored: None,
        };
        results.add(&race, &args.out)?;
        write_traces(&args.out.join("replay-traces.parquet"), &results.rows)?;
    }
    results.print(&args.out.join("replay-traces.parquet"));
    Ok(())
}

/// A table's name in the traces: its directory's or file's name.
fn table_name(path: &Path) -> String {
    let stem = path.file_stem().or(path.file_name());
    stem.map_or_else(|| "table".to_string(), |s| s.to_string_lossy().into_owned())
}

/// The evaluation rows of a study directory (its ledger parts) or of one Parquet file of
/// the ledger's columns, read by Polars.
fn read_table(path: &Path) -> Result<Vec<EvaluationRow>> {
    if path.is_dir() {
        let (rows, skipped) = read_ledger(path)?;
        if !skipped.is_empty() {
            bail!(
                "--table {}: {} ledger parts are unreadable ({}); a table must be whole",
                path.display(),
                skipped.len(),
                skipped.join(", ")
            );
        }
        return Ok(rows);
    }
    if !path.is_file() {
        bail!(
            "--table {}: no such study directory or Parquet file",
            path.display()
        );
    }
    let frame = results::read_file(path)
        .with_context(|| format!("--table {}: not a readable Parquet file", path.display()))?;
    results::evaluation_rows(&frame).with_context(|| {
        format!(
            "--table {}: not a ledger of evaluations (its columns are not the ledger's)",
            path.display()
        )
    })
}

/// The tabulated problem of a sweep's rows: the grid is the product of the distinct
/// values of each design variable, the fidelities the distinct epochs, and every
/// (design, fidelity) pair must have exactly one row. Each entry holds the row's
/// objectives as the study tells its strategies (maximised, PPA in logarithms; a failed
/// row's accuracy NaN) and its cost: with `overhead_epochs`, the study's cost model (the
/// overhead plus the epochs the row adds to the one below, the overhead paid once by an
/// evaluation that skips fidelities); without, its measured `cost_s` (for a sweep's row,
/// the warm start from the fidelity below).
pub fn table_problem(
    name: &str,
    rows: &[EvaluationRow],
    overhead_epochs: Option<f64>,
) -> Result<TabulatedProblem> {
    let Some(first) = rows.first() else {
        bail!("the table has no rows");
    };
    for r in rows {
        let same = r.model == first.model && r.seed == first.seed;
        if !same {
            bail!(
                "the rows are not of one problem: {} and {} differ in model or seed",
                first.label(),
                r.label()
            );
        }
    }
    let variables = record::design_axes(rows);
    let axes: Vec<Vec<f64>> = variables
        .iter()
        .map(|&v| {
            let mut values: Vec<f64> = rows.iter().map(|r| r.variable(v)).collect();
            values.sort_by(f64::total_cmp);
            values.dedup();
            values
        })
        .collect();
    let mut fidelities: BTreeMap<i32, f64> = BTreeMap::new();
    for r in rows {
        fidelities.insert(r.fidelity_epochs, r.fidelity_z);
    }
    let position =
        |values: &[f64], v: f64| values.iter().position(|&a| a == v).expect("an axis value");
    let cell_of = |r: &EvaluationRow| -> usize {
        axes.iter().zip(&variables).fold(0, |cell, (values, &v)| {
            cell * values.len() + position(values, r.variable(v))
        })
    };
    let count: usize = axes.iter().map(Vec::len).product();
    let epochs: Vec<i32> = fidelities.keys().copied().collect();
    let mut cells: Vec<Vec<Option<Entry>>> = vec![vec![None; epochs.len()]; count];
    for r in rows {
        let k = epochs.binary_search(&r.fidelity_epochs).expect("an epoch");
        let slot = &mut cells[cell_of(r)][k];
        if slot.is_some() {
            bail!(
                "two rows for {} at {} epochs (a table has one per design and fidelity)",
                r.label(),
                r.fidelity_epochs
            );
        }
        let below = if k == 0 { 0 } else { epochs[k - 1] };
        *slot = Some(Entry {
            y: front::maximised(r, OBJECTIVES),
            cost: match overhead_epochs {
                Some(overhead) => overhead + f64::from(r.fidelity_epochs - below),
                None => r.cost_s,
            },
        });
    }
    let missing = cells.iter().flatten().filter(|e| e.is_none()).count();
    if missing > 0 {
        let shape: Vec<String> = axes.iter().map(|a| a.len().to_string()).collect();
        bail!(
            "not a full grid: {missing} of {} (design, fidelity) pairs of the {} designs at {} \
             fidelities have no row (run `pipeline sweep` to completion)",
            count * epochs.len(),
            shape.join(" x "),
            epochs.len()
        );
    }
    let cells = cells
        .into_iter()
        .map(|c| c.into_iter().map(|e| e.expect("checked")).collect())
        .collect();
    let levels = axes.iter().map(Vec::len).collect();
    Ok(TabulatedProblem::new(
        name,
        levels,
        fidelities.into_values().collect(),
        objective_kinds(OBJECTIVES),
        cells,
        overhead_epochs.unwrap_or(0.0),
    )?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::tests::sample_row;

    /// A 2 x 1 x 1 x 2 sweep at 1 and 2 epochs.
    fn sweep_rows() -> Vec<EvaluationRow> {
        let mut rows = Vec::new();
        for bits in [2, 4] {
            for temp in [300.0, 400.0] {
                for epochs in [1, 2] {
                    let mut r = sample_row(&format!("k{bits}{temp}{epochs}"));
                    r.recorded.cell_bits = bits;
                    r.recorded.temp_k = temp;
                    r.fidelity_epochs = epochs;
                    r.fidelity_z = f64::from(epochs) / 2.0;
                    r.accuracy_mean = Some(0.1 * f64::from(bits) + 0.01 * f64::from(epochs));
                    r.latency_ns = Some(1e3 * f64::from(bits));
                    r.cost_s = f64::from(epochs);
                    rows.push(r);
                }
            }
        }
        rows
    }

    #[test]
    fn a_sweep_s_rows_are_a_table_in_the_study_s_objective_space() {
        let rows = sweep_rows();
        let t = table_problem("t", &rows, None).unwrap();
        assert_eq!(t.designs(), 4);
        assert_eq!(t.fidelities(), Some(vec![0.5, 1.0]));
        assert_eq!(t.levels(), vec![2, 1, 1, 2]);
        // Chains 1 + 2 seconds for every design.
        assert_eq!(t.cost_unit(), 3.0);
        // The last design (4 bits, 400 K) at half fidelity.
        let y = t.evaluate(&[0.9, 0.5, 0.5, 0.9], 0.5);
        let row = rows
            .iter()
            .find(|r| {
                r.recorded.cell_bits == 4 && r.recorded.temp_k == 400.0 && r.fidelity_epochs == 1
            })
            .unwrap();
        assert_eq!(y, front::maximised(row, OBJECTIVES));
        assert!((y[0] - 0.41).abs() < 1e-12);
        assert!(
            (y[1] + row.area_um2.unwrap().ln()).abs() < 1e-12,
            "log area, maximised"
        );
        // The study's cost model: 0.5 + 1 epoch per row, a cold full evaluation 2.5.
        let t = table_problem("t", &rows, Some(0.5)).unwrap();
        assert_eq!(t.cost_unit(), 2.5);
        assert!((t.cost_at(&[0.0; 4], 0.5, 1.0) - 1.5 / 2.5).abs() < 1e-12);
    }

    #[test]
    fn a_varying_adc_resolution_is_an_axis_of_the_table() {
        let mut rows = sweep_rows();
        rows.extend(sweep_rows().into_iter().map(|mut r| {
            r.recorded.adc_bits = 6;
            r.eval_key.push('a');
            r
        }));
        let t = table_problem("t", &rows, None).unwrap();
        assert_eq!(t.levels(), vec![2, 1, 1, 2, 2]);
        assert_eq!(t.designs(), 8);
    }

    #[test]
    fn an_incomplete_or_mixed_table_is_refused() {
        let mut rows = sweep_rows();
        rows.pop();
        let message = format!("{:#}", table_problem("t", &rows, None).unwrap_err());
        assert!(message.contains("1 of 8"), "{message}");
        let mut rows = sweep_rows();
        rows[1].seed += 1;
        let message = format!("{:#}", table_problem("t", &rows, None).unwrap_err());
        assert!(message.contains("not of one problem"), "{message}");
        let mut rows = sweep_rows();
        rows[1].fidelity_epochs = 1;
        let message = format!("{:#}", table_problem("t", &rows, None).unwrap_err());
        assert!(message.contains("two rows"), "{message}");
        assert!(table_problem("t", &[], None).is_err());
    }
}
