//! `pipeline status`, `pipeline export` and `pipeline cache verify`: read-only views.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use anyhow::{bail, Result};
use cache::Store;
use polars::prelude::{BooleanChunked, NewChunkedArray};
use serde_json::json;

use crate::config::{default_cache_dir, ValidConfig, STUDY_SNAPSHOT};
use crate::controls::{self, DesignControls};
use crate::dag::Graph;
use crate::front::{pareto, table};
use crate::record::objectives::OBJECTIVES;
use crate::record::EvaluationRow;
use crate::record::{by_fidelity, STATUS_OK};
use crate::results::{evaluation_rows, read as read_table, write_frame, OutputFormat, Table};
use crate::runner::{if_stored, Runner};
use crate::setup::{ran_study_setup, read_ledger, require_study, study_setup, StudyArgs};
use stages::design::Variable;

/// `pipeline status`.
pub fn status(args: &StudyArgs, as_json: bool) -> Result<()> {
    let (given, paths) = study_setup(args)?;
    // The config the study ran with, for its controls' nodes: a bare ledger has none.
    let (cfg, paths) = match paths.study.join(STUDY_SNAPSHOT).is_file() {
        true => ran_study_setup(args)?,
        false => (given, paths),
    };
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
    let front_rows: Vec<&EvaluationRow> = front.indices.iter().map(|&i| &rows[i]).collect();
    let evidence = stored_controls(&cfg, &paths.cache, &front_rows)?;
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
            "controls": evidence.as_ref().map(|e| controls_json(&front_rows, e)),
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
    match &evidence {
        Some(designs) => {
            for t in controls::tally(designs) {
                println!(
                    "against {}: {} of {} Pareto designs gain beyond two standard errors",
                    t.strategy.as_str(),
                    t.beyond,
                    t.compared
                );
            }
        }
        None => println!("controls: not in the store (`pipeline run` computes them)"),
    }
    Ok(())
}

/// The stored controls of the Pareto rows, read only from the study's store; `None`
/// where the store lacks any (a study that `pipeline run` did not finish, or a training
/// that is not compared).
fn stored_controls(
    cfg: &ValidConfig,
    cache: &Path,
    front: &[&EvaluationRow],
) -> Result<Option<Vec<DesignControls>>> {
    if !controls::apply(cfg) || front.is_empty() || !cache.is_dir() {
        return Ok(None);
    }
    let mut runner = Runner::new(Store::open(cache)?, BTreeSet::new());
    runner.set_read_only();
    let Some(mut graph) = if_stored(Graph::open(cfg, runner))? else {
        return Ok(None);
    };
    front
        .iter()
        .map(|r| controls::stored(&mut graph, r))
        .collect()
}

/// The controls as JSON: per Pareto design, the study's accuracy and each control's
/// accuracy and paired gain (fractions), then the tallies.
fn controls_json(front: &[&EvaluationRow], designs: &[DesignControls]) -> serde_json::Value {
    let per_design: Vec<serde_json::Value> = front
        .iter()
        .zip(designs)
        .map(|(r, d)| {
            let mut controls = serde_json::Map::new();
            for (strategy, c) in &d.controls {
                let value = c.as_ref().map(|c| {
                    json!({
                        "accuracy": c.eval.accuracy_mean,
                        "gain": c.gain.gain,
                        "standard_error": c.gain.standard_error,
                        "draws": c.gain.draws,
                        "beyond_two_errors": c.gain.beyond_two_errors(),
                    })
                });
                controls.insert(strategy.as_str().to_string(), json!(value));
            }
            json!({
                "eval_key": r.eval_key,
                "design": r.label(),
                "accuracy": d.ours.accuracy_mean,
                "controls": controls,
            })
        })
        .collect();
    let tallies: serde_json::Map<String, serde_json::Value> = controls::tally(designs)
        .iter()
        .map(|t| {
            let value = json!({ "gain_beyond_two_errors": t.beyond, "designs": t.compared });
            (t.strategy.as_str().to_string(), value)
        })
        .collect();
    json!({ "designs": per_design, "tally": tallies })
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
