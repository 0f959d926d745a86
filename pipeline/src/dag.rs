//! The study's stage graph, declared in one place.
//!
//! ```text
//! dataset_prep ───────────────────────────┐
//! crossbar(design) ───────────────────────┼─> resna_train(design, epochs) ─> evaluation ─┐
//! ppa(model, design) ─────────────────────┘                                              │
//!                      report <─ cf_mesmo_step <─ gp_fit(ledger rows) <──────────────────┘
//! ```
//!
//! Each node is a cached stage output keyed on its parameters, its inputs' keys, its
//! code version and (where it draws random numbers) the seed; [`crate::runner::Runner`]
//! reuses verified outputs and computes the rest in the order below. The stages built so
//! far are `dataset_prep`, `crossbar` and `ppa`, run for the study's initial design; the
//! training, surrogate and acquisition stages plug in after them.

use anyhow::{Context, Result};
use cache::{KeyInput, Object};
use indicatif::ProgressBar;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use stages::crossbar;
use stages::dataset;
use stages::design::Design;
use stages::optimizer::sampling::latin_hypercube;
use stages::ppa;

use crate::config::{DesignSpace, StudyConfig};
use crate::runner::Runner;
use crate::tables;

/// What a prepared data set looks like, stored beside its tensors.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct DatasetMeta {
    /// Training images.
    pub train_images: usize,
    /// Test images.
    pub test_images: usize,
    /// Image side in pixels (images are square for the CIFAR models).
    pub height: usize,
    /// Image width in pixels.
    pub width: usize,
    /// Class names in label order.
    pub classes: Vec<String>,
}

/// The outputs of a study run so far.
#[derive(Debug)]
pub struct StudyOutputs {
    /// The data set object and its shape.
    pub dataset: (Object, DatasetMeta),
    /// The initial designs with their crossbar characterisation and PPA objects.
    pub designs: Vec<(Design, Object, Object)>,
}

/// Runs the study's graph as far as it is built.
pub fn run_study(
    cfg: &StudyConfig,
    runner: &mut Runner,
    progress: &ProgressBar,
) -> Result<StudyOutputs> {
    let designs = initial_designs(&cfg.design_space, cfg.initial.designs, cfg.study.seed);
    progress.set_length(1 + 2 * designs.len() as u64);
    let dataset = dataset_node(cfg, runner)?;
    progress.inc(1);
    let mut outputs = Vec::new();
    for design in designs {
        let characterisation = crossbar_node(cfg, &design, runner)?;
        progress.inc(1);
        let ppa = ppa_node(cfg, &design, &dataset.1, runner)?;
        progress.inc(1);
        outputs.push((design, characterisation, ppa));
    }
    Ok(StudyOutputs {
        dataset,
        designs: outputs,
    })
}

/// The initial design: a seeded Latin hypercube over the design space, decoded onto its
/// grids and ranges, without duplicates (grids can map two points to one design).
pub fn initial_designs(space: &DesignSpace, n: usize, seed: u64) -> Vec<Design> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x1417_1a1d_e516);
    let mut designs: Vec<Design> = Vec::new();
    for u in latin_hypercube(n, DesignSpace::DIM, &mut rng) {
        let d = space.decode(&u);
        if !designs.contains(&d) {
            designs.push(d);
        }
    }
    designs
}

/// Stage 1: dataset prep. Its key covers the files' contents (not their paths), the
/// subset sizes, and the seed only when a subset is drawn.
fn dataset_node(cfg: &StudyConfig, runner: &mut Runner) -> Result<(Object, DatasetMeta)> {
    let params = cfg.dataset.params()?;
    let fingerprint = dataset::fingerprint(&params.source)?;
    let subsampled = params.train_subset.is_some() || params.test_subset.is_some();
    let key_params = serde_json::json!({
        "format": cfg.dataset.format,
        "content": fingerprint,
        "train_subset": params.train_subset,
        "test_subset": params.test_subset,
    });
    let seed = if subsampled { cfg.study.seed } else { 0 };
    let input = KeyInput::new(
        dataset::STAGE,
        dataset::CODE_VERSION,
        &key_params,
        vec![],
        seed,
    )?;
    let label = format!("{:?}", cfg.dataset.format).to_lowercase();
    let object = runner.ensure(input, label, |w| {
        let ds = dataset::prepare(&params, seed)?;
        let meta = DatasetMeta {
            train_images: ds.train.len(),
            test_images: ds.test.len(),
            height: ds.train.height,
            width: ds.train.width,
            classes: ds.classes.clone(),
        };
        w.put("dataset.safetensors", &dataset::to_safetensors(&ds)?)?;
        w.put("meta.json", &serde_json::to_vec_pretty(&meta)?)
    })?;
    let meta = serde_json::from_slice(&object.read("meta.json")?).context("dataset meta.json")?;
    Ok((object, meta))
}

/// Stage 2: crossbar characterisation. It depends only on the noise-relevant parts of
/// the design (not the crossbar size or ADC) and draws no random numbers.
fn crossbar_node(cfg: &StudyConfig, design: &Design, runner: &mut Runner) -> Result<Object> {
    let key_params = serde_json::json!({
        "cell_bits": design.cell_bits,
        "freq_hz": design.freq_hz,
        "temp_k": design.temp_k,
        "read_voltage": design.read_voltage,
        "g_min": design.g_min,
        "g_max": design.g_max,
        "noise": cfg.noise,
    });
    let input = KeyInput::new(
        crossbar::STAGE,
        crossbar::CODE_VERSION,
        &key_params,
        vec![],
        0,
    )?;
    runner.ensure(input, design_label(design), |w| {
        let c = crossbar::characterise(design, &cfg.noise)?;
        let bytes = cache::table::to_parquet_bytes(&crossbar::table_schema(), &[c.to_batch()?])?;
        w.put("characterisation.parquet", &bytes)
    })
}

/// PPA estimation of the study's model on a design; deterministic.
fn ppa_node(
    cfg: &StudyConfig,
    design: &Design,
    data: &DatasetMeta,
    runner: &mut Runner,
) -> Result<Object> {
    let key_params = serde_json::json!({
        "model": cfg.model.name,
        "input_hw": data.height,
        "num_classes": data.classes.len(),
        "design": design,
        "ppa": cfg.ppa,
    });
    let input = KeyInput::new(ppa::STAGE, ppa::CODE_VERSION, &key_params, vec![], 0)?;
    runner.ensure(input, design_label(design), |w| {
        let report = ppa::estimate(
            cfg.model.name,
            data.height,
            data.classes.len(),
            design,
            &cfg.ppa,
        )?;
        w.put("report.json", &serde_json::to_vec_pretty(&report)?)?;
        let table = tables::ppa_layers_batch(&report)?;
        w.put(
            "layers.parquet",
            &cache::table::to_parquet_bytes(&tables::ppa_layers_schema(), &[table])?,
        )
    })
}

/// A short human label of a design for logs.
pub fn design_label(d: &Design) -> String {
    format!(
        "{}b/{}x{}/{:.3e}Hz/{:.1}K",
        d.cell_bits, d.xbar_size, d.xbar_size, d.freq_hz, d.temp_k
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn initial_designs_are_seeded_distinct_and_inside_the_space() {
        let cfg = StudyConfig::default_config();
        let a = initial_designs(&cfg.design_space, 8, 1);
        assert_eq!(a, initial_designs(&cfg.design_space, 8, 1));
        assert_ne!(a, initial_designs(&cfg.design_space, 8, 2));
        assert!(!a.is_empty() && a.len() <= 8);
        for d in &a {
            assert!(cfg.design_space.cell_bits.contains(&d.cell_bits));
            assert!((1e7..=1e9).contains(&d.freq_hz));
            assert!((300.0..=400.0).contains(&d.temp_k));
        }
    }
}
