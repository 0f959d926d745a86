//! `pipeline strategies`: the paper's robustness table. At each given design corner,
//! every training strategy (noise-unaware, naive Gaussian, programming-only, ReSNA, and
//! ReSNA with the majority vote of the last FC layer) is trained at full fidelity and
//! evaluated under the design's noise, through the study's cached stage graph: re-running
//! it costs nothing, and a study on the same store shares its nodes.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use clap::Args;
use indicatif::ProgressBar;
use serde::Serialize;
use stages::design::Design;
use stages::training::params::NoiseStrategy;

use crate::config::{StudyConfig, ValidConfig};
use crate::dag::{read_train_summary, DatasetMeta, Graph, TrainSummary};
use crate::runner::Runner;
use crate::setup::study_setup;
use crate::setup::StudyArgs;

/// The corners and where to write the table.
#[derive(Args, Debug)]
pub struct StrategiesArgs {
    #[command(flatten)]
    study: StudyArgs,
    /// A design corner `CELL_BITS,FREQ_HZ,TEMP_K,XBAR_SIZE` (repeatable). Default: the
    /// paper's two, `8,5e8,350,128` and `8,1e9,400,128`.
    #[arg(long, value_name = "CORNER")]
    corner: Vec<String>,
    /// Write the table to OUT.md and its figures to OUT.json.
    #[arg(long, value_name = "OUT")]
    out: Option<PathBuf>,
}

/// One strategy at one corner.
#[derive(Debug, Clone, Serialize)]
struct Cell {
    strategy: String,
    majority_vote: bool,
    accuracy_mean: f64,
    accuracy_std: f64,
    accuracy_clean: f64,
    draws: Vec<f64>,
    train_seconds: f64,
}

/// The figures of one corner.
#[derive(Debug, Clone, Serialize)]
struct Corner {
    design: Design,
    cells: Vec<Cell>,
}

/// The rows of the table, in order: strategy and whether the vote is on.
const ROWS: [(NoiseStrategy, bool); 5] = [
    (NoiseStrategy::NoiseUnaware, false),
    (NoiseStrategy::Gaussian, false),
    (NoiseStrategy::ProgrammingOnly, false),
    (NoiseStrategy::Resna, false),
    (NoiseStrategy::Resna, true),
];

/// Parses `CELL_BITS,FREQ_HZ,TEMP_K,XBAR_SIZE` onto the config's fixed design values.
fn parse_corner(text: &str, cfg: &StudyConfig) -> Result<Design> {
    let parts: Vec<&str> = text.split(',').map(str::trim).collect();
    let [bits, freq, temp, xbar] = parts[..] else {
        bail!("--corner {text}: expected CELL_BITS,FREQ_HZ,TEMP_K,XBAR_SIZE");
    };
    let bad = |what: &str| format!("--corner {text}: {what} is not a number");
    let design = Design {
        cell_bits: bits.parse().with_context(|| bad("CELL_BITS"))?,
        freq_hz: freq.parse().with_context(|| bad("FREQ_HZ"))?,
        temp_k: temp.parse().with_context(|| bad("TEMP_K"))?,
        xbar_size: xbar.parse().with_context(|| bad("XBAR_SIZE"))?,
        ..cfg.design_space.first()
    };
    stages::crossbar::validate_design(&design, &cfg.noise)
        .with_context(|| format!("--corner {text}"))?;
    Ok(design)
}

/// Trains and evaluates every strategy at every corner and prints the table.
pub fn strategies(a: &StrategiesArgs) -> Result<()> {
    let (cfg, paths) = study_setup(&a.study)?;
    let corners = if a.corner.is_empty() {
        vec!["8,5e8,350,128".to_string(), "8,1e9,400,128".to_string()]
    } else {
        a.corner.clone()
    };
    let designs = corners
        .iter()
        .map(|c| parse_corner(c, &cfg))
        .collect::<Result<Vec<_>>>()?;
    let store = cache::Store::open(&paths.cache)?;
    let bar = ProgressBar::new(0);
    let epochs = cfg.fidelity.full().epochs;
    let mut cells: Vec<Vec<Cell>> = vec![Vec::new(); designs.len()];
    let configs: Vec<ValidConfig> = ROWS
        .iter()
        .map(|&(strategy, vote)| {
            let mut c = cfg.clone().into_inner();
            c.training.strategy = strategy;
            c.training.majority_vote = vote;
            c.check()
        })
        .collect::<Result<_>>()?;
    // One graph, re-configured per training strategy: the data set is loaded once and
    // the nodes the strategies share (the baseline, crossbar and PPA) are cache hits.
    let mut graph = Graph::open(&configs[0], Runner::new(store, BTreeSet::new()))?;
    for c in &configs {
        graph = graph.with_config(c)?;
        let (strategy, vote) = (c.training.strategy, c.training.majority_vote);
        for (design, cells) in designs.iter().zip(&mut cells) {
            let fidelity = c
                .fidelity
                .at(if strategy.fine_tunes() { epochs } else { 0 });
            let planned = graph.plan(design, fidelity)?;
            let e = graph.evaluate(&planned, &bar)?;
            cells.push(Cell {
                strategy: strategy.as_str().to_string(),
                majority_vote: vote,
                accuracy_mean: e.eval.accuracy_mean,
                accuracy_std: e.eval.accuracy_std,
                accuracy_clean: e.eval.accuracy_clean,
                draws: e.eval.draws,
                train_seconds: if e.fine_tuned { e.train.cost_s } else { 0.0 },
            });
        }
    }
    bar.finish_and_clear();
    let base = read_train_summary(&graph.baseline(&bar)?)?;
    let meta = graph.meta().clone();
    let table: Vec<Corner> = designs
        .iter()
        .zip(cells)
        .map(|(design, cells)| Corner {
            design: *design,
            cells,
        })
        .collect();
    let md = markdown(&cfg, &table, &meta, &base, epochs);
    print!("{md}");
    if let Some(out) = &a.out {
        let md_path = out.with_extension("md");
        let json_path = out.with_extension("json");
        cache::atomic::write_atomic(&md_path, md.as_bytes())?;
        cache::atomic::write_atomic(&json_path, &serde_json::to_vec_pretty(&table)?)?;
        println!(
            "\nwritten: {} and {}",
            md_path.display(),
            json_path.display()
        );
    }
    Ok(())
}

/// The table in Markdown, with the settings it ran at.
fn markdown(
    cfg: &StudyConfig,
    table: &[Corner],
    meta: &DatasetMeta,
    base: &TrainSummary,
    epochs: usize,
) -> String {
    let t = &cfg.training;
    let mut md = String::new();
    let _ = writeln!(
        md,
        "# Noise-aware training against its baselines\n\n`{}` on {} training and {} test \
         images ({}); baseline {} epochs (last training accuracy {:.1} %), fine-tuning {} \
         epochs (lr {} x {}^e, layer-wise noise scale conv {} / FC {}); accuracy under \
         noise = mean +- std over {} noise draws; noise model `{}`, {}-bit ADC.\n",
        cfg.model.name,
        meta.train_images,
        meta.test_images,
        cfg.dataset.format.as_str(),
        t.baseline_epochs,
        100.0 * base.epochs.last().map(|e| e.accuracy).unwrap_or(f64::NAN),
        epochs,
        t.finetune_lr,
        t.finetune_lr_decay,
        t.conv_noise_scale,
        t.fc_noise_scale,
        t.eval_draws,
        cfg.noise.model.as_str(),
        cfg.design_space.first().adc_bits,
    );
    let mut header = "| strategy |".to_string();
    let mut rule = "|---|".to_string();
    for c in table {
        let d = &c.design;
        let _ = write!(
            header,
            " {}-bit, {:.0} MHz, {:.0} K, {}x{} (%) | gain (points) |",
            d.cell_bits,
            d.freq_hz / 1e6,
            d.temp_k,
            d.xbar_size,
            d.xbar_size
        );
        rule.push_str("---|---|");
    }
    let _ = writeln!(md, "{header}\n{rule}");
    let _ = write!(md, "| clean (quantised baseline, no stochastic noise) |");
    for c in table {
        let _ = write!(md, " {:.2} | |", 100.0 * c.cells[0].accuracy_clean);
    }
    let _ = writeln!(md);
    for (row, (strategy, vote)) in ROWS.iter().enumerate() {
        let name = if *vote {
            format!("{} + FC vote", strategy.as_str())
        } else {
            strategy.as_str().to_string()
        };
        let _ = write!(md, "| {name} |");
        for c in table {
            let cell = &c.cells[row];
            let gain = 100.0 * (cell.accuracy_mean - c.cells[0].accuracy_mean);
            let gain = if row == 0 {
                String::new()
            } else {
                format!("{gain:+.2}")
            };
            let _ = write!(
                md,
                " {:.2} +- {:.2} | {gain} |",
                100.0 * cell.accuracy_mean,
                100.0 * cell.accuracy_std
            );
        }
        let _ = writeln!(md);
    }
    md
}
