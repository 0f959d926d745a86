//! `pipeline status`, `pipeline export` and `pipeline cache verify`: read-only views.

use std::path::{Path, PathBuf};

use anyhow::{bail, Result};
use cache::Store;
use polars::prelude::{BooleanChunked, NewChunkedArray};
use serde_json::json;

use crate::config::default_cache_dir;
use crate::front::{pareto, table};
use crate::record::objectives::OBJECTIVES;
use crate::record::{by_fidelity, STATUS_OK};
use crate::results::{evaluation_rows, read as read_table, write_frame, OutputFormat, Table};
use crate::setup::{read_ledger, require_study, study_setup, StudyArgs};
use stages::design::Variable;

/// `pipeline status`.
pub fn status(args: &StudyArgs, as_json: bool) -> Result<()> {
    let (_, paths) = study_setup(args)?;
    let (rows, skipped) = read_ledger(&paths.study)?;
    let failed = rows.iter().filter(|r| r.status != STATUS_OK).count();
    let cost_s = rows.iter().fold(0.0, |acc, r| acc + r.cost_s);
    let front = pareto(&rows, OBJECTIVES);
    let pareto_rows: Vec<serde_json::Value> = front
        .indices
        .iter()
        .map(|&i| {
            let r = &rows[i];
            let mut design = json!({ "eval_key": r.eval_key });
            for v in Variable::ALL {
                design[v.name()] = match v.is_integer() {
                    true => json!(r.variable(v) as i64),
                    false => json!(r.variable(v)),
                };
            }
            for ob in OBJECTIVES {
                design[ob.column] = json!((ob.value)(r));
            }
            design
        })
        .collect();
    if as_json {
        let out = json!({
            "study": paths.study,
            "evaluations": rows.len(),
            "failed": failed,
            "cost_s": cost_s,
            "hypervolume": front.hypervolume,
            "hypervolume_share": front.share,
            "reference_point": OBJECTIVES
                .iter()
                .zip(&front.reference)
                .map(|(ob, &v)| (ob.name.to_string(), json!(ob.direction.minimised(v))))
                .collect::<serde_json::Map<_, _>>(),
            "pareto": pareto_rows,
            "by_fidelity": by_fidelity(&rows),
            "skipped_parts": skipped,
        });
        println!("{}", serde_json::to_string_pretty(&out)?);
        return Ok(());
    }
    println!("study:        {}", paths.study.display());
    println!("evaluations:  {} ({failed} failed)", rows.len());
    println!("cost spent:   {cost_s:.1} s");
    println!("by fidelity:  epochs  evaluations  strategy steps  cost (s)");
    for f in by_fidelity(&rows) {
        println!(
            "              {:>6}  {:>11}  {:>14}  {:>8.1}",
            f.epochs, f.evaluations, f.steps, f.cost_s
        );
    }
    println!(
        "full-fidelity Pareto set: {} designs, hypervolume {:.6e} ({:.1} % of the box \
         between the ideal and the reference point)",
        front.indices.len(),
        front.hypervolume,
        100.0 * front.share
    );
    print!("{}", table(&rows, &front, OBJECTIVES));
    Ok(())
}

/// What `pipeline export` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ExportTable {
    /// Every evaluation (the merged ledger).
    Evaluations,
    /// The per-epoch metrics, long form.
    Metrics,
    /// The full-fidelity Pareto set's rows.
    Pareto,
}

/// `pipeline export`: the merged ledger, the metrics or the Pareto set as one Parquet or
/// CSV file, read by one Polars scan of the study's part files.
pub fn export(args: &StudyArgs, what: ExportTable, out: &Path) -> Result<()> {
    let (_, paths) = study_setup(args)?;
    require_study(&paths.study)?;
    OutputFormat::of(out)?;
    // Unreadable parts are skipped with a warning naming each.
    let mut frame = match what {
        ExportTable::Evaluations => read_table(Table::Evaluations, &paths.study)?.frame,
        ExportTable::Metrics => read_table(Table::Metrics, &paths.study)?.frame,
        ExportTable::Pareto => {
            let frame = read_table(Table::Evaluations, &paths.study)?.frame;
            let rows = evaluation_rows(&frame)?;
            let mut keep = vec![false; rows.len()];
            for i in pareto(&rows, OBJECTIVES).indices {
                // The first row of each key (a key is evaluated once).
                let first = rows.iter().position(|r| r.eval_key == rows[i].eval_key);
                keep[first.unwrap_or(i)] = true;
            }
            frame.filter(&BooleanChunked::from_slice("pareto".into(), &keep))?
        }
    };
    write_frame(&mut frame, out)?;
    println!("wrote {} rows to {}", frame.height(), out.display());
    Ok(())
}

/// `pipeline cache verify`.
pub fn verify_cache(cache: Option<PathBuf>) -> Result<()> {
    let root = cache.unwrap_or_else(default_cache_dir);
    if !root.is_dir() {
        bail!("no store at {}", root.display());
    }
    let store = Store::open(&root)?;
    let (ok, bad) = store.verify_all()?;
    let swept = store.sweep_debris(std::time::Duration::from_secs(3600))?;
    println!(
        "{}: {ok} objects verified, {bad} corrupted (quarantined), {swept} leftovers of \
         interrupted writes older than an hour removed",
        root.display()
    );
    Ok(())
}
