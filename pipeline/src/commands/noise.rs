//! `pipeline noise`: what one design's crossbars do to each layer of the study's
//! network, before any training is paid for: the crossbar tiles, the rows' voltages,
//! the per-level sigma and the relative output noise on a batch of real test images,
//! through the study's baseline checkpoint when one is cached (else a seeded
//! initialisation, and it says so).

use std::collections::BTreeSet;
use std::sync::Arc;

use anyhow::{ensure, Result};
use clap::Args;
use serde::Serialize;
use stages::crossbar::{characterise, NoiseModel};
use stages::crossbar_sim::Chip;
use stages::design::Design;
use stages::models::Network;
use stages::noise_probe::{probe, LayerProbe};
use stages::training::batches::{make_batch, Normalisation};

use crate::dag::{self, Graph};
use crate::runner::Runner;
use crate::setup::{study_setup, DesignArgs, StudyArgs};

/// One design, and how to measure it.
#[derive(Args, Debug)]
pub struct NoiseArgs {
    #[command(flatten)]
    study: StudyArgs,
    /// Noise model: pytorx or physical. Default: the config's `[noise] model`.
    #[arg(long)]
    model: Option<NoiseModel>,
    #[command(flatten)]
    design: DesignArgs,
    /// Test images in the batch. Default: the effective voltage's batch size
    /// (`[noise] veff_batch`), so the batch is the one PytorX's formula assumes.
    #[arg(long)]
    images: Option<usize>,
    /// Noise draws per layer.
    #[arg(long, default_value_t = 4)]
    draws: usize,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

/// The command's JSON output.
#[derive(Debug, Serialize)]
struct NoiseReport {
    noise_model: &'static str,
    network: String,
    design: Design,
    /// `"baseline <key>"` or `"seeded initialisation"`.
    weights: String,
    images: usize,
    draws: usize,
    level_step_s: f64,
    layers: Vec<LayerProbe>,
}

/// Runs the probe and prints its table.
pub fn noise(a: &NoiseArgs) -> Result<()> {
    let (cfg, paths) = study_setup(&a.study)?;
    let cfg = match a.model {
        Some(model) => {
            let mut edited = cfg.into_inner();
            edited.noise.model = model;
            edited.check()?
        }
        None => cfg,
    };
    let design = a.design.design(cfg.design_space.first(), 5e8)?;
    let chip = Arc::new(Chip::new(characterise(&design, &cfg.noise)?));
    ensure!(
        (1..=1000).contains(&a.draws),
        "--draws must be in 1..=1000, got {}",
        a.draws
    );
    let images = a.images.unwrap_or(cfg.noise.veff_batch.round() as usize);
    ensure!(
        (1..=10_000).contains(&images),
        "--images must be in 1..=10000, got {images}"
    );
    let store = cache::Store::open(&paths.cache)?;
    let mut graph = Graph::open(&cfg, Runner::new(store, BTreeSet::new()))?;
    let baseline = graph.cached_baseline()?;
    let data = graph.data()?;
    let images = images.min(data.test.len());
    let (net, weights) = match baseline {
        Some(object) => (
            graph.network(&object)?.net,
            format!("baseline {}", object.key().short()),
        ),
        None => (
            Network::new(
                cfg.model.name,
                data.test.height,
                data.classes.len(),
                cfg.study.seed,
                &dag::device(),
            )?,
            "seeded initialisation".to_string(),
        ),
    };
    let norm = Normalisation {
        mean: data.mean,
        std: data.std,
    };
    // A spread of test images: the split is sorted by class.
    let step = (data.test.len() / images).max(1);
    let indices: Vec<usize> = (0..images).map(|i| i * step).collect();
    let batch =
        make_batch::<rand_chacha::ChaCha8Rng>(&data.test, &indices, &norm, None, &dag::device())?;
    let layers = probe(&net, &batch.images, &chip, a.draws, cfg.study.seed)?;
    let report = NoiseReport {
        noise_model: cfg.noise.model.as_str(),
        network: cfg.model.name.to_string(),
        design,
        weights,
        images,
        draws: a.draws,
        level_step_s: chip.characterisation.delta_g,
        layers,
    };
    if a.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
        return Ok(());
    }
    print_table(&report);
    Ok(())
}

fn print_table(r: &NoiseReport) {
    let d = &r.design;
    println!(
        "noise model {} on {}: {}-bit pairs, {}x{} crossbars, {:.3e} Hz, {} K, {}-bit ADC",
        r.noise_model,
        r.network,
        d.cell_bits,
        d.xbar_size,
        d.xbar_size,
        d.freq_hz,
        d.temp_k,
        d.adc_bits
    );
    println!(
        "weights: {}; {} test images, {} noise draws; level step dG = {:.4e} S",
        r.weights, r.images, r.draws, r.level_step_s
    );
    if r.noise_model == "pytorx" {
        println!(
            "(the row voltage is PytorX's effective voltage ||v|| / (N S), the simulator's \
             convention, not circuit physics)"
        );
    }
    println!();
    println!(
        "{:<16} {:>5} {:>5} {:>7} {:>26} {:>21} {:>10} {:>10}",
        "layer",
        "rows",
        "outs",
        "tiles",
        "row voltage mV mean [min-max]",
        "sigma/dG g_min..g_max",
        "rel.noise",
        "quant.err"
    );
    for l in &r.layers {
        let low = l.sigma_per_level_steps.first().copied().unwrap_or(0.0);
        let high = l.sigma_per_level_steps.last().copied().unwrap_or(0.0);
        println!(
            "{:<16} {:>5} {:>5} {:>7} {:>10.4} [{:.4}-{:.4}] {:>10.3}..{:<10.3} {:>9.1}% {:>9.1}%",
            l.name,
            l.rows,
            l.outputs,
            format!("{}x{}", l.row_tiles, l.col_tiles),
            1e3 * l.voltage_mean_v,
            1e3 * l.voltage_min_v,
            1e3 * l.voltage_max_v,
            low,
            high,
            100.0 * l.relative_noise,
            100.0 * l.quantisation_error
        );
    }
}
