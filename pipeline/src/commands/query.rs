//! `pipeline query "SQL"`: Polars SQL over a study's tables, printed as a table or
//! written to a Parquet or CSV file.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use clap::Args;
use polars::prelude::IntoLazy;
use polars::sql::SQLContext;

use crate::results::{self, Table};
use crate::setup::{require_study, study_setup, LedgerArgs};

/// `pipeline query` options.
#[derive(Args, Debug)]
pub struct QueryArgs {
    /// The query, in Polars SQL, over the study's tables `evaluations` (the ledger),
    /// `metrics` (per-epoch and per-draw, long form), `proposals` (the strategy's audited
    /// steps) and `runs` (what each run computed or reused); e.g. `select cell_bits,
    /// avg(accuracy_mean) from evaluations group by cell_bits`.
    sql: String,
    #[command(flatten)]
    study: LedgerArgs,
    /// Query a Parquet file of ledger rows (such as `data/sweep-default.parquet` or a
    /// `pipeline export`) as `evaluations`, instead of a study.
    #[arg(long, value_name = "FILE.parquet", conflicts_with = "study")]
    table: Option<PathBuf>,
    /// Write the result to FILE.parquet or FILE.csv instead of printing it.
    #[arg(long, value_name = "FILE.parquet|FILE.csv")]
    out: Option<PathBuf>,
}

/// `pipeline query`.
pub fn query(args: &QueryArgs) -> Result<()> {
    if let Some(out) = &args.out {
        results::OutputFormat::of(out)?;
    }
    let mut context = SQLContext::new();
    match &args.table {
        Some(file) => {
            if !file.is_file() {
                bail!("--table {}: no such Parquet file", file.display());
            }
            let frame = results::read_file(file).with_context(|| {
                format!("--table {}: not a readable Parquet file", file.display())
            })?;
            context.register("evaluations", frame.lazy());
        }
        None => {
            let (_, paths) = study_setup(&args.study.study_args())?;
            require_study(&paths.study)?;
            for table in [Table::Evaluations, Table::Metrics, Table::Runs] {
                let read = results::read(table, &paths.study)?;
                context.register(table.dir(), read.frame.lazy());
            }
            let space = crate::setup::study_config(&paths.study)?
                .into_inner()
                .design_space;
            context.register(
                "proposals",
                results::proposals(&paths.study, &space)?.lazy(),
            );
        }
    }
    let mut frame = context
        .execute(&args.sql)
        .and_then(|plan| plan.collect())
        .map_err(|e| anyhow::anyhow!("the query: {e}"))?;
    match &args.out {
        Some(out) => {
            results::write_frame(&mut frame, out)?;
            println!("wrote {} rows to {}", frame.height(), out.display());
        }
        None => {
            // Every row, unless the user's environment asks otherwise.
            if std::env::var_os("POLARS_FMT_MAX_ROWS").is_none() {
                std::env::set_var("POLARS_FMT_MAX_ROWS", "-1");
            }
            println!("{frame}");
        }
    }
    Ok(())
}
