//! `pipeline strategies`: the paper's robustness table. At each given design corner,
//! every training strategy (noise-unaware, naive Gaussian, programming-only, the
//! noise-free fine-tuning control, ReSNA, and ReSNA with the majority vote of the last
//! FC layer) is trained at full fidelity and evaluated under the design's noise, through
//! the study's cached stage graph: re-running it costs nothing, and a study on the same
//! store shares its nodes. Every gain is paired over the noise draws, with its standard
//! error.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::PathBuf;

use anyhow::{anyhow, bail, Context, Result};
use clap::Args;
use indicatif::ProgressBar;
use serde::{Deserialize, Serialize};
use stages::design::Design;
use stages::training::params::NoiseStrategy;

use crate::config::{StudyConfig, ValidConfig};
use crate::dag::{read_train_summary, DatasetMeta, Graph, TrainSummary};
use crate::evidence::PairedGain;
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
    /// A row of the table (repeatable or comma-separated): noise_unaware, gaussian,
    /// programming_only, noise_free, resna, resna+vote. Default: every row. The
    /// noise-unaware baseline, the reference of every gain, is always run.
    #[arg(long, value_name = "STRATEGY")]
    strategy: Vec<String>,
    /// Write the table to OUT.md and its figures to OUT.json.
    #[arg(long, value_name = "OUT")]
    out: Option<PathBuf>,
    /// Render the table of the figures in this JSON file (an earlier `--out`) instead of
    /// running anything.
    #[arg(long, value_name = "JSON", conflicts_with_all = ["corner", "strategy"])]
    from: Option<PathBuf>,
}

/// One row of the table: a training strategy, with or without the FC vote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Row {
    strategy: NoiseStrategy,
    majority_vote: bool,
}

impl Row {
    const fn of(strategy: NoiseStrategy, majority_vote: bool) -> Row {
        Row {
            strategy,
            majority_vote,
        }
    }

    /// `resna`, or `resna+vote` with the FC vote: the name `--strategy` takes.
    fn name(self) -> String {
        match self.majority_vote {
            true => format!("{}+vote", self.strategy.as_str()),
            false => self.strategy.as_str().to_string(),
        }
    }

    /// The row a `--strategy` value names.
    fn parse(text: &str) -> Result<Row> {
        ALL_ROWS
            .into_iter()
            .find(|r| r.name() == text.trim())
            .ok_or_else(|| {
                let names: Vec<String> = ALL_ROWS.iter().map(|r| r.name()).collect();
                anyhow!("--strategy {text}: expected one of {}", names.join(", "))
            })
    }
}

/// Every row, in the table's order: the paper's baselines, the noise-free control, the
/// method and the method with the vote. The first, the noise-unaware baseline, is the
/// reference of every gain.
const ALL_ROWS: [Row; 6] = [
    Row::of(NoiseStrategy::NoiseUnaware, false),
    Row::of(NoiseStrategy::Gaussian, false),
    Row::of(NoiseStrategy::ProgrammingOnly, false),
    Row::of(NoiseStrategy::NoiseFree, false),
    Row::of(NoiseStrategy::Resna, false),
    Row::of(NoiseStrategy::Resna, true),
];

/// One strategy at one corner.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Cell {
    strategy: NoiseStrategy,
    majority_vote: bool,
    accuracy_mean: f64,
    accuracy_std: f64,
    accuracy_clean: f64,
    /// The accuracy of each noise draw; draw `d` of every row reads the same noise
    /// stream, so two rows' draws are paired.
    draws: Vec<f64>,
    train_seconds: f64,
}

impl Cell {
    /// The row the cell is in.
    fn row(&self) -> Row {
        Row::of(self.strategy, self.majority_vote)
    }
}

/// The figures of one corner.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Corner {
    design: Design,
    cells: Vec<Cell>,
}

impl Corner {
    fn cell(&self, row: Row) -> Option<&Cell> {
        self.cells.iter().find(|c| c.row() == row)
    }
}

/// What `--out` writes as JSON and `--from` reads back: the settings the table ran at
/// (its first paragraph) and every figure behind it.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Figures {
    settings: String,
    corners: Vec<Corner>,
}

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

/// The rows `--strategy` asks for (every row by default), in the table's order, the
/// noise-unaware reference always first.
fn chosen_rows(names: &[String]) -> Result<Vec<Row>> {
    if names.is_empty() {
        return Ok(ALL_ROWS.to_vec());
    }
    let asked = names
        .iter()
        .flat_map(|n| n.split(','))
        .map(Row::parse)
        .collect::<Result<Vec<_>>>()?;
    Ok(ALL_ROWS
        .into_iter()
        .filter(|r| r == &ALL_ROWS[0] || asked.contains(r))
        .collect())
}

/// Trains and evaluates every strategy at every corner and prints the table (or, with
/// `--from`, renders the table of stored figures).
pub fn strategies(a: &StrategiesArgs) -> Result<()> {
    let figures = match &a.from {
        Some(path) => {
            let text = std::fs::read(path)
                .with_context(|| format!("--from {}: cannot read it", path.display()))?;
            serde_json::from_slice(&text).with_context(|| {
                format!(
                    "--from {}: not the figures of `pipeline strategies --out`",
                    path.display()
                )
            })?
        }
        None => run(a)?,
    };
    let md = markdown(&figures);
    print!("{md}");
    if let Some(out) = &a.out {
        let md_path = out.with_extension("md");
        let json_path = out.with_extension("json");
        cache::atomic::write_atomic(&md_path, md.as_bytes())?;
        cache::atomic::write_atomic(&json_path, &serde_json::to_vec_pretty(&figures)?)?;
        println!(
            "\nwritten: {} and {}",
            md_path.display(),
            json_path.display()
        );
    }
    Ok(())
}

/// Trains and evaluates the chosen rows at every corner.
fn run(a: &StrategiesArgs) -> Result<Figures> {
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
    let rows = chosen_rows(&a.strategy)?;
    let store = cache::Store::open(&paths.cache)?;
    let bar = ProgressBar::new(0);
    let epochs = cfg.fidelity.full().epochs;
    let mut cells: Vec<Vec<Cell>> = vec![Vec::new(); designs.len()];
    let configs: Vec<ValidConfig> = rows
        .iter()
        .map(|row| {
            let mut c = cfg.clone().into_inner();
            c.training.strategy = row.strategy;
            c.training.majority_vote = row.majority_vote;
            // The table is its own comparison: no study report, so no report controls.
            c.report.controls.clear();
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
                strategy,
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
    let settings = settings(&cfg, graph.meta(), &base, epochs);
    let corners = designs
        .iter()
        .zip(cells)
        .map(|(design, cells)| Corner {
            design: *design,
            cells,
        })
        .collect();
    Ok(Figures { settings, corners })
}

/// The settings the table ran at, in words.
fn settings(cfg: &StudyConfig, meta: &DatasetMeta, base: &TrainSummary, epochs: usize) -> String {
    let t = &cfg.training;
    format!(
        "`{}` on {} training and {} test images ({}); baseline {} epochs (last training \
         accuracy {:.1} %), fine-tuning {} epochs (lr {} x {}^e, layer-wise noise scale \
         conv {} / FC {}); accuracy under noise = mean +- std over {} noise draws; noise \
         model `{}`, {}-bit ADC.",
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
    )
}

/// The column head of a corner.
fn corner_head(d: &Design) -> String {
    format!(
        "{}-bit, {:.0} MHz, {:.0} K, {}x{}",
        d.cell_bits,
        d.freq_hz / 1e6,
        d.temp_k,
        d.xbar_size,
        d.xbar_size
    )
}

/// The table in Markdown: each row's accuracy and its gain over the noise-unaware
/// baseline, paired over the noise draws, then the method against each fine-tuned
/// control (the noise-free fine-tuning first) where both ran.
fn markdown(figures: &Figures) -> String {
    let table = &figures.corners;
    let reference = ALL_ROWS[0];
    let mut md = String::new();
    let _ = writeln!(
        md,
        "# Noise-aware training against its baselines\n\n{}\n\nGain = the mean over the \
         noise draws of the paired difference from `{}` (draw d of every row \
         reads the same noise stream), +- its standard error; * marks a gain beyond two \
         standard errors.\n",
        figures.settings,
        reference.name()
    );
    let mut header = "| strategy |".to_string();
    let mut rule = "|---|".to_string();
    for c in table {
        let _ = write!(header, " {} (%) | gain (points) |", corner_head(&c.design));
        rule.push_str("---|---|");
    }
    let _ = writeln!(md, "{header}\n{rule}");
    let _ = write!(md, "| clean (quantised baseline, no stochastic noise) |");
    for c in table {
        let clean = c.cell(reference).map_or(f64::NAN, |r| r.accuracy_clean);
        let _ = write!(md, " {:.2} | |", 100.0 * clean);
    }
    let _ = writeln!(md);
    let present: Vec<Row> = ALL_ROWS
        .into_iter()
        .filter(|&r| table.iter().any(|c| c.cell(r).is_some()))
        .collect();
    for row in &present {
        let name = match row.majority_vote {
            true => format!("{} + FC vote", row.strategy.as_str()),
            false => row.strategy.as_str().to_string(),
        };
        let _ = write!(md, "| {name} |");
        for c in table {
            let Some(cell) = c.cell(*row) else {
                let _ = write!(md, " - | |");
                continue;
            };
            let gain = match (*row == reference, c.cell(reference)) {
                (false, Some(base)) => PairedGain::of(&cell.draws, &base.draws).points_text(),
                _ => String::new(),
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
    let ours = Row::of(NoiseStrategy::Resna, false);
    let controls = [
        (
            NoiseStrategy::NoiseFree,
            "the same fine-tuning without noise",
        ),
        (NoiseStrategy::Gaussian, "naive Gaussian weight noise"),
        (NoiseStrategy::ProgrammingOnly, "programming noise only"),
    ];
    let _ = writeln!(
        md,
        "\nThe method against each fine-tuned control: `{ours}` minus the row, paired over \
         the draws (points):\n\n| `{ours}` minus |{}\n|---|{}",
        table
            .iter()
            .map(|c| format!(" {} |", corner_head(&c.design)))
            .collect::<String>(),
        "---|".repeat(table.len()),
        ours = ours.name()
    );
    for (control, what) in controls {
        let row = Row::of(control, false);
        let _ = write!(md, "| {} ({what}) |", row.name());
        for c in table {
            let text = match (c.cell(ours), c.cell(row)) {
                (Some(a), Some(b)) => PairedGain::of(&a.draws, &b.draws).points_text(),
                _ => "not run".to_string(),
            };
            let _ = write!(md, " {text} |");
        }
        let _ = writeln!(md);
    }
    md
}
