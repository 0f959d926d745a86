//! The graph's nodes: each a function whose parameters are its edges (the outputs it
//! reads) and whose key is built from one typed parameter struct. Only
//! [`super::Graph`] calls them.

use optimizer::problem::{ObjectiveKind, Observation, StepProblem};
use std::sync::Arc;
use std::time::Instant;

use anyhow::Result;
use cache::{CacheKey, KeyInput, Object};
use indicatif::ProgressBar;
use optimizer::cf_mesmo::{effective_kinds, fit_surrogates};
use optimizer::gp::{GpConfig, Kernel};
use serde::Serialize;
use stages::crossbar::{self, NoiseParams};
use stages::crossbar_sim::Chip;
use stages::dataset;
use stages::design::Design;
use stages::ppa;
use stages::ppa::PpaParams;
use stages::training::{self, train::TrainState};

use super::keys;
use super::outputs::{
    read_json, read_network, read_train_summary, DatasetMeta, EpochSummary, EvalSummary,
    LoadedData, TrainSummary, CHARACTERISATION, CHECKPOINT, DATASET_META, DATASET_TENSORS, KERNELS,
    PPA_LAYERS, PPA_REPORT, SUMMARY,
};
use crate::config::{DatasetFormat, StudyConfig};
use crate::runner::Runner;
use crate::tables;

/// The GP fit stage's name.
pub const GP_FIT_STAGE: &str = "gp_fit";
/// Bumped whenever a change changes the GP fit's output.
const GP_FIT_CODE_VERSION: u32 = 3;
/// The evaluation node's name in keys (it stores nothing: its key is the ledger row's).
const EVALUATION_STAGE: &str = "evaluation";

/// The dataset node's key parameters: the files' contents (not their paths) and the
/// subset sizes.
#[derive(Serialize)]
struct DatasetKey<'a> {
    format: DatasetFormat,
    content: &'a str,
    train_subset: Option<usize>,
    test_subset: Option<usize>,
}

/// Stage 1: dataset prep. Its key covers the files' contents, the subset sizes, and the
/// seed only when a subset is drawn.
pub(super) fn dataset(cfg: &StudyConfig, runner: &mut Runner) -> Result<(Object, DatasetMeta)> {
    let params = cfg.dataset.params()?;
    let fingerprint = dataset::fingerprint(&params.source)?;
    let subsampled = params.train_subset.is_some() || params.test_subset.is_some();
    let key = DatasetKey {
        format: cfg.dataset.format,
        content: &fingerprint,
        train_subset: params.train_subset,
        test_subset: params.test_subset,
    };
    let seed = if subsampled { cfg.study.seed } else { 0 };
    let input = KeyInput::new(dataset::STAGE, dataset::CODE_VERSION, &key, vec![], seed)?;
    let label = cfg.dataset.format.as_str().to_string();
    let object = runner.ensure(input, label, |w| {
        let ds = dataset::prepare(&params, seed)?;
        let meta = DatasetMeta {
            train_images: ds.train.len(),
            test_images: ds.test.len(),
            height: ds.train.height,
            width: ds.train.width,
            classes: ds.classes.clone(),
        };
        w.put(DATASET_TENSORS, &dataset::to_safetensors(&ds)?)?;
        w.put(DATASET_META, &serde_json::to_vec_pretty(&meta)?)
    })?;
    let meta = read_json(&object, DATASET_META)?;
    Ok((object, meta))
}

/// The crossbar node's key parameters: the whole design (the crossbar size and the ADC
/// enter the simulation) and the `[noise]` section.
#[derive(Serialize)]
struct CrossbarKey<'a> {
    design: &'a Design,
    noise: &'a NoiseParams,
}

/// Stage 2: crossbar characterisation, the design's simulated chip under the noise
/// model; it draws no random numbers.
pub(super) fn crossbar(cfg: &StudyConfig, design: &Design, runner: &mut Runner) -> Result<Object> {
    let key = CrossbarKey {
        design,
        noise: &cfg.noise,
    };
    let input = KeyInput::new(crossbar::STAGE, crossbar::CODE_VERSION, &key, vec![], 0)?;
    runner.ensure(input, design.label(), |w| {
        let c = crossbar::characterise(design, &cfg.noise)?;
        w.put(CHARACTERISATION, &serde_json::to_vec_pretty(&c)?)
    })
}

/// The PPA node's key parameters: the model and its input shape, the design and the
/// `[ppa]` section.
#[derive(Serialize)]
struct PpaKey<'a> {
    model: stages::arch::ModelName,
    input_hw: usize,
    num_classes: usize,
    design: &'a Design,
    ppa: &'a PpaParams,
}

/// PPA estimation of the study's model on a design; deterministic.
pub(super) fn ppa(
    cfg: &StudyConfig,
    design: &Design,
    data: &DatasetMeta,
    runner: &mut Runner,
) -> Result<Object> {
    let key = PpaKey {
        model: cfg.model.name,
        input_hw: data.height,
        num_classes: data.classes.len(),
        design,
        ppa: &cfg.ppa,
    };
    let input = KeyInput::new(ppa::STAGE, ppa::CODE_VERSION, &key, vec![], 0)?;
    runner.ensure(input, design.label(), |w| {
        let report = ppa::estimate(key.model, key.input_hw, key.num_classes, design, key.ppa)?;
        w.put(PPA_REPORT, &serde_json::to_vec_pretty(&report)?)?;
        let table = tables::ppa_layers_batch(&report)?;
        w.put(
            PPA_LAYERS,
            &cache::table::to_parquet_bytes(&tables::ppa_layers_schema(), &[table])?,
        )
    })
}

fn summarise(records: &[training::train::EpochRecord]) -> Vec<EpochSummary> {
    records
        .iter()
        .map(|r| EpochSummary {
            epoch: r.epoch,
            loss: r.loss,
            accuracy: r.accuracy,
            lr: r.lr,
        })
        .collect()
}

/// A training-progress callback over an indicatif bar; it stops the work once SIGINT
/// has arrived.
fn bar_progress(bar: &ProgressBar) -> impl Fn(usize, usize) -> Result<()> + '_ {
    move |done, total| {
        bar.set_length(total as u64);
        bar.set_position(done as u64);
        crate::interrupt::check_interrupt()
    }
}

/// The key of the baseline node on the data set `data`.
pub(super) fn baseline_key(cfg: &StudyConfig, data: &Object) -> Result<KeyInput> {
    let model = serde_json::to_value(cfg.model.name)?;
    let key = keys::derive(&cfg.training, &keys::BASELINE_READS, &[("model", model)])?;
    KeyInput::new(
        training::BASELINE_STAGE,
        training::CODE_VERSION,
        &key,
        vec![data.key()],
        cfg.study.seed,
    )
}

/// Stage 3a: noise-free baseline pre-training, shared by every design (and every study
/// with the same data set, model and recipe).
pub(super) fn baseline(
    cfg: &StudyConfig,
    data: &LoadedData,
    runner: &mut Runner,
    bar: &ProgressBar,
) -> Result<Object> {
    let input = baseline_key(cfg, &data.object)?;
    runner.ensure(input, cfg.model.name.to_string(), |w| {
        let start = Instant::now();
        bar.set_message(format!("baseline {}", cfg.model.name));
        let (state, records) = training::train::pretrain(
            cfg.model.name,
            data.get()?,
            &cfg.training,
            cfg.study.seed,
            &super::device(),
            &bar_progress(bar),
        )?;
        w.put(CHECKPOINT, &state.to_bytes()?)?;
        let summary = TrainSummary {
            epochs: summarise(&records),
            cost_s: start.elapsed().as_secs_f64(),
            warm_start_epochs: 0,
        };
        w.put(SUMMARY, &serde_json::to_vec_pretty(&summary)?)
    })
}

/// The key of the ReSNA training node of `design` at `epochs`.
fn train_key(
    cfg: &StudyConfig,
    design: &Design,
    epochs: usize,
    (baseline, chip): (CacheKey, CacheKey),
) -> Result<KeyInput> {
    let key = keys::derive(
        &cfg.training,
        &keys::FINETUNE_READS,
        &[
            ("cell_bits", design.cell_bits.into()),
            ("epochs", epochs.into()),
        ],
    )?;
    KeyInput::new(
        training::RESNA_STAGE,
        training::CODE_VERSION,
        &key,
        vec![baseline, chip],
        cfg.study.seed,
    )
}

/// The inputs a design's training and inference read: the data set, the baseline
/// checkpoint, and the design's crossbar node with the chip it stores (read once).
pub(super) struct Upstream<'a> {
    pub data: &'a LoadedData,
    pub baseline: &'a Object,
    pub chip: &'a Object,
    pub sim: &'a Arc<Chip>,
}

/// The key of the checkpoint a design at `epochs` is evaluated with: its training node's,
/// or the baseline's for a strategy that does not fine-tune.
pub(super) fn checkpoint_key(
    cfg: &StudyConfig,
    design: &Design,
    epochs: usize,
    (baseline, chip): (CacheKey, CacheKey),
) -> Result<CacheKey> {
    Ok(if cfg.training.strategy.fine_tunes() {
        train_key(cfg, design, epochs, (baseline, chip))?.key()
    } else {
        baseline
    })
}

/// Stage 3b: fine-tuning of `design` to `epochs` under the strategy's noise. It
/// warm-starts from the cached checkpoint of the same design at the largest fidelity
/// below `epochs`, else from the baseline; the schedule makes both give the same model.
/// A strategy that does not fine-tune trains nothing: its checkpoint is the baseline's.
pub(super) fn train(
    cfg: &StudyConfig,
    design: &Design,
    epochs: usize,
    up: &Upstream,
    runner: &mut Runner,
    bar: &ProgressBar,
) -> Result<Object> {
    let t = &cfg.training;
    t.check_fidelity(epochs)?;
    if !t.strategy.fine_tunes() {
        return Ok(up.baseline.clone());
    }
    let upstream = (up.baseline.key(), up.chip.key());
    let input = train_key(cfg, design, epochs, upstream)?;
    let mut warm = None;
    for e in (1..epochs).rev() {
        if let Some(o) = runner.cached(&train_key(cfg, design, e, upstream)?.key())? {
            warm = Some((e, o));
            break;
        }
    }
    let label = format!("{} @{epochs}", design.label());
    runner.ensure(input, label.clone(), |w| {
        let start = Instant::now();
        let data = up.data.get()?;
        let (mut state, mut records): (TrainState, Vec<EpochSummary>) = match &warm {
            Some((e, object)) => {
                tracing::info!("warm start from {e} epochs");
                let state = read_network(cfg, object, data, false)?;
                (state, read_train_summary(object)?.epochs)
            }
            None => (read_network(cfg, up.baseline, data, true)?, Vec::new()),
        };
        let warm_start_epochs = state.epochs;
        bar.set_message(format!("train {label}"));
        let new = training::train::finetune(
            &mut state,
            data,
            t,
            up.sim,
            epochs,
            cfg.study.seed,
            &bar_progress(bar),
        )?;
        records.extend(summarise(&new));
        w.put(CHECKPOINT, &state.to_bytes()?)?;
        let summary = TrainSummary {
            epochs: records,
            cost_s: start.elapsed().as_secs_f64(),
            warm_start_epochs,
        };
        w.put(SUMMARY, &serde_json::to_vec_pretty(&summary)?)
    })
}

/// The key input of the noisy-inference node of `checkpoint` on `design`'s chip.
pub(super) fn eval_input(
    cfg: &StudyConfig,
    design: &Design,
    checkpoint: &CacheKey,
    chip: &Object,
) -> Result<KeyInput> {
    let key = keys::derive(
        &cfg.training,
        &keys::EVAL_READS,
        &[("cell_bits", design.cell_bits.into())],
    )?;
    KeyInput::new(
        training::EVAL_STAGE,
        training::CODE_VERSION,
        &key,
        vec![*checkpoint, chip.key()],
        cfg.study.seed,
    )
}

/// Stage 3c: noisy-inference accuracy of a trained checkpoint under the design's noise.
pub(super) fn noisy_eval(
    cfg: &StudyConfig,
    design: &Design,
    (up, checkpoint): (&Upstream, &Object),
    runner: &mut Runner,
    bar: &ProgressBar,
) -> Result<EvalSummary> {
    let t = &cfg.training;
    let input = eval_input(cfg, design, &checkpoint.key(), up.chip)?;
    let object = runner.ensure(input, design.label(), |w| {
        let start = Instant::now();
        let data = up.data.get()?;
        let state = read_network(cfg, checkpoint, data, true)?;
        bar.set_message(format!("noisy inference {}", design.label()));
        let acc = training::evaluate::evaluate(
            &state.net,
            data,
            up.sim,
            (t.eval_draws, t.majority_vote),
            t.batch_size,
            cfg.study.seed,
            &bar_progress(bar),
        )?;
        let summary = EvalSummary {
            accuracy_mean: acc.mean,
            accuracy_std: acc.std,
            accuracy_clean: acc.clean,
            draws: acc.draws,
            cost_s: start.elapsed().as_secs_f64(),
        };
        w.put(SUMMARY, &serde_json::to_vec_pretty(&summary)?)
    })?;
    super::outputs::read_eval_summary(&object)
}

/// The evaluation node's key parameters: the fidelity.
#[derive(Serialize)]
struct EvaluationKey {
    epochs: usize,
}

/// The key of a ledger row: over its noisy-inference and PPA nodes' keys and the
/// fidelity, so it is known before anything is trained.
pub(super) fn evaluation_key(
    cfg: &StudyConfig,
    epochs: usize,
    eval: &KeyInput,
    ppa: &Object,
) -> Result<CacheKey> {
    Ok(KeyInput::new(
        EVALUATION_STAGE,
        training::CODE_VERSION,
        &EvaluationKey { epochs },
        vec![eval.key(), ppa.key()],
        cfg.study.seed,
    )?
    .key())
}

/// The GP fit node's key parameters: the GP settings and the observations it fits.
#[derive(Serialize)]
struct GpFitKey<'a> {
    gp: &'a GpConfig,
    objectives: &'a [ObjectiveKind],
    observations: &'a [Observation],
}

/// The GP fit stage: the surrogates' kernel parameters (length scales and nugget, one per
/// modelled objective),
/// fitted with `n_start` restarts on `observations`, cached under a key over those rows
/// (and the GP settings), so that the same ledger rows are never fitted twice.
pub(super) fn gp_fit(
    cfg: &StudyConfig,
    observations: &[Observation],
    problem: &StepProblem,
    runner: &mut Runner,
) -> Result<Vec<Kernel>> {
    let key = GpFitKey {
        gp: &cfg.optimizer.cf_mesmo.gp,
        objectives: &effective_kinds(problem, &cfg.optimizer.cf_mesmo),
        observations,
    };
    let input = KeyInput::new(GP_FIT_STAGE, GP_FIT_CODE_VERSION, &key, vec![], 0)?;
    let label = format!("{} rows", observations.len());
    let object = runner.ensure(input, label, |w| {
        let fitted = fit_surrogates(observations, problem, &cfg.optimizer.cf_mesmo, None)?;
        w.put(KERNELS, &serde_json::to_vec(&fitted.kernels())?)
    })?;
    read_json(&object, KERNELS)
}
