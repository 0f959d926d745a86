//! The study's graph, in one place: [`Graph`] alone knows every node, its key and its
//! edges; the study loop, the workers, the report and the commands all go through it.
//!
//! ```text
//!  config ──> dataset_prep ──> baseline_train ─────────────┐
//!  design ──> crossbar ────────────────────────────┬───────┼──> resna_train(epochs) ──> noisy_eval ─┐
//!    │          (the design's simulated chip)      │       │     (warm start: the same design     │
//!    │                                             │       │      at fewer epochs)                │
//!    │                                             └───────┴──> noisy_eval (noise-unaware: the    │
//!    │                                                           baseline on the design's chip)   │
//!    └──────> ppa(model, input shape) ───────────────────────────────────────────> evaluation <───┘
//!                                                                                      │
//!                                                                          ledger row (record)
//!                                                                                      │
//!     next (design, fidelity) <── cf_mesmo_step <── gp_fit(the ledger's rows) <────────┘
//! ```
//!
//! Each node is a cached stage output keyed on one typed parameter struct, its inputs'
//! keys, its stage's code version and (where it draws random numbers) the seed
//! ([`nodes`]); [`crate::runner::Runner`] reuses verified outputs and computes the rest.
//! The evaluation node stores nothing: its key, over the noisy-inference and PPA keys,
//! is the ledger row's `eval_key`, known before anything is trained. The loop closes in
//! [`crate::study`], which turns ledger rows into observations for [`Graph::gp_fit`].
//! A node's outputs are read back typed ([`outputs`]).

mod keys;
mod nodes;
pub mod outputs;

use anyhow::Result;
use cache::Object;
use indicatif::ProgressBar;
use optimizer::problem::{Observation, StepProblem};
use stages::design::Design;

use optimizer::gp::Kernel;
use stages::crossbar_sim::CellNoise;
use stages::ppa::PpaReport;
use stages::training::params::NoiseStrategy;
use stages::training::train::{training_noise, TrainState};

pub use nodes::GP_FIT_STAGE;
pub use outputs::{device, read_train_summary, DatasetMeta, EvalSummary, LoadedData, TrainSummary};

use crate::config::{StudyConfig, ValidConfig};
use crate::fidelity::Fidelity;
use crate::runner::Runner;
use nodes::Upstream;

/// The stages `--recompute` accepts: every node that stores an output.
pub const STAGES: [&str; 7] = [
    stages::dataset::STAGE,
    stages::crossbar::STAGE,
    stages::ppa::STAGE,
    stages::training::BASELINE_STAGE,
    stages::training::RESNA_STAGE,
    stages::training::EVAL_STAGE,
    GP_FIT_STAGE,
];

/// The graph of one study: its config, the store's runner, the data set (prepared
/// once) and the baseline (trained once, on first use).
pub struct Graph<'a> {
    cfg: &'a ValidConfig,
    runner: Runner,
    data: LoadedData,
    baseline: Option<Object>,
}

/// An evaluation planned: the design at a fidelity, its cheap nodes (crossbar, PPA) and
/// its key, known before anything is trained.
pub struct Planned {
    /// The design.
    pub design: Design,
    /// The fidelity.
    pub fidelity: Fidelity,
    /// The ledger row's key.
    pub eval_key: String,
    /// The design's PPA.
    pub ppa: PpaReport,
    /// The design's crossbar node, which its noisy inference reads.
    chip: Object,
    /// The crossbar node its fine-tuning reads (see [`Graph::training_chip`]).
    training_chip: Object,
}

/// What one evaluation of a (design, fidelity) pair produced.
#[derive(Debug, Clone)]
pub struct Evaluation {
    /// The evaluated checkpoint's training curves and cost: the baseline's for a
    /// strategy that does not fine-tune.
    pub train: TrainSummary,
    /// Whether the checkpoint was fine-tuned for this design (else its training cost
    /// belongs to the shared baseline).
    pub fine_tuned: bool,
    /// Noisy-inference accuracy.
    pub eval: EvalSummary,
}

impl<'a> Graph<'a> {
    /// Opens the graph of `cfg`: prepares (or reads from the store) the data set and
    /// checks it against the model and the training memory, so that every input of a
    /// study is checked before its own stored state is touched.
    pub fn open(cfg: &'a ValidConfig, mut runner: Runner) -> Result<Graph<'a>> {
        let (object, meta) = nodes::dataset(cfg, &mut runner)?;
        let model = cfg.model.name;
        stages::arch::check_input(model, meta.height, meta.width, meta.classes.len())
            .map_err(|e| anyhow::anyhow!("model.name = {:?} and dataset: {e}", model.as_str()))?;
        cfg.training
            .check_memory(model, meta.height, meta.classes.len())?;
        Ok(Graph {
            cfg,
            runner,
            data: LoadedData::new(object, meta),
            baseline: None,
        })
    }

    /// The same graph under `cfg`, a config that differs only in training (another
    /// strategy, say): the prepared data set and its loaded images are kept, and the
    /// baseline where its key is unchanged, so nothing is read or verified twice. A
    /// config with another data set or seed opens a graph of its own.
    pub fn with_config<'b>(self, cfg: &'b ValidConfig) -> Result<Graph<'b>> {
        if cfg.dataset != self.cfg.dataset || cfg.study.seed != self.cfg.study.seed {
            return Graph::open(cfg, self.runner);
        }
        let meta = &self.data.meta;
        cfg.training
            .check_memory(cfg.model.name, meta.height, meta.classes.len())?;
        let same_baseline = nodes::baseline_key(cfg, &self.data.object)?.key()
            == nodes::baseline_key(self.cfg, &self.data.object)?.key();
        Ok(Graph {
            cfg,
            runner: self.runner,
            data: self.data,
            baseline: self.baseline.filter(|_| same_baseline),
        })
    }

    /// The study's config.
    pub fn cfg(&self) -> &'a ValidConfig {
        self.cfg
    }

    /// The data set's shape.
    pub fn meta(&self) -> &DatasetMeta {
        &self.data.meta
    }

    /// The prepared data set's images.
    pub fn data(&self) -> Result<&stages::dataset::PreparedDataset> {
        self.data.get()
    }

    /// The node runs so far.
    pub fn runner(&self) -> &Runner {
        &self.runner
    }

    /// The runner, to count the node runs workers report.
    pub fn runner_mut(&mut self) -> &mut Runner {
        &mut self.runner
    }

    /// The baseline node: trained (or read from the store) on first use.
    pub fn baseline(&mut self, bar: &ProgressBar) -> Result<Object> {
        if let Some(b) = &self.baseline {
            return Ok(b.clone());
        }
        let b = nodes::baseline(self.cfg, &self.data, &mut self.runner, bar)?;
        self.baseline = Some(b.clone());
        Ok(b)
    }

    /// The baseline node if the store has it, without training it.
    pub fn cached_baseline(&mut self) -> Result<Option<Object>> {
        let key = nodes::baseline_key(self.cfg, &self.data.object)?.key();
        self.runner.cached(&key)
    }

    /// The network of a baseline (or training) node, ready for inference.
    pub fn network(&self, object: &Object) -> Result<TrainState> {
        outputs::read_network(self.cfg, object, self.data.get()?, true)
    }

    /// The evaluation of `design` at `fidelity`, planned: its crossbar and PPA nodes
    /// (cheap) and its key; nothing is trained.
    pub fn plan(&mut self, design: &Design, fidelity: Fidelity) -> Result<Planned> {
        let baseline = nodes::baseline_key(self.cfg, &self.data.object)?.key();
        let chip = nodes::crossbar(self.cfg, design, &mut self.runner)?;
        let training_chip = self.training_chip(self.cfg, design, &chip)?;
        let ppa = nodes::ppa(self.cfg, design, &self.data.meta, &mut self.runner)?;
        let upstream = (baseline, training_chip.key());
        let checkpoint = nodes::checkpoint_key(self.cfg, design, fidelity.epochs, upstream)?;
        let eval = nodes::eval_input(self.cfg, design, &checkpoint, &chip)?;
        let eval_key = nodes::evaluation_key(self.cfg, fidelity.epochs, &eval, &ppa)?.hex();
        Ok(Planned {
            design: *design,
            fidelity,
            eval_key,
            ppa: outputs::read_ppa(&ppa)?,
            chip,
            training_chip,
        })
    }

    /// The key of `design`'s evaluation at `fidelity` (its ledger row's `eval_key`),
    /// known before anything is trained.
    pub fn eval_key(&mut self, design: &Design, fidelity: Fidelity) -> Result<String> {
        Ok(self.plan(design, fidelity)?.eval_key)
    }

    /// The PPA of the study's model on `design` (a cached node).
    pub fn ppa(&mut self, design: &Design) -> Result<PpaReport> {
        let object = nodes::ppa(self.cfg, design, &self.data.meta, &mut self.runner)?;
        outputs::read_ppa(&object)
    }

    /// Runs a planned evaluation: fine-tuning (warm-started) under the design's noise,
    /// then noisy inference.
    pub fn evaluate(&mut self, planned: &Planned, bar: &ProgressBar) -> Result<Evaluation> {
        let baseline = self.baseline(bar)?;
        let (design, epochs) = (&planned.design, planned.fidelity.epochs);
        let checkpoint = self.train(
            self.cfg,
            design,
            epochs,
            (&baseline, &planned.training_chip),
            bar,
        )?;
        let train = read_train_summary(&checkpoint)?;
        let sim = outputs::read_chip(&planned.chip)?;
        let up = Upstream {
            data: &self.data,
            baseline: &baseline,
            chip: &planned.chip,
            sim: &sim,
        };
        let eval = nodes::noisy_eval(self.cfg, design, (&up, &checkpoint), &mut self.runner, bar)?;
        Ok(Evaluation {
            train,
            fine_tuned: self.cfg.training.strategy.fine_tunes(),
            eval,
        })
    }

    /// A control of the study's training: `design` fine-tuned for `epochs` under another
    /// noise `strategy` with the same recipe (cached training and noisy-inference nodes,
    /// keyed as that strategy's own), evaluated under the design's noise on the same
    /// noise streams as the study's own evaluation, so the two pair draw by draw.
    pub fn control(
        &mut self,
        design: &Design,
        epochs: usize,
        strategy: NoiseStrategy,
        bar: &ProgressBar,
    ) -> Result<EvalSummary> {
        // The checked config with another strategy, which no check refuses (the fidelity
        // is checked where the node trains): nothing to check again.
        let mut cfg = StudyConfig::clone(self.cfg);
        cfg.training.strategy = strategy;
        let baseline = self.baseline(bar)?;
        let chip = nodes::crossbar(&cfg, design, &mut self.runner)?;
        let training_chip = self.training_chip(&cfg, design, &chip)?;
        let checkpoint = self.train(&cfg, design, epochs, (&baseline, &training_chip), bar)?;
        let sim = outputs::read_chip(&chip)?;
        let up = Upstream {
            data: &self.data,
            baseline: &baseline,
            chip: &chip,
            sim: &sim,
        };
        nodes::noisy_eval(&cfg, design, (&up, &checkpoint), &mut self.runner, bar)
    }

    /// The crossbar node the fine-tuning of `design` under `cfg`'s strategy reads:
    /// the design's own (`chip`), except for a strategy that trains without read noise,
    /// which trains on the design at reference operating conditions
    /// ([`Design::at_reference_conditions`]): the conditions change nothing it
    /// computes, so designs that differ only in them share one fine-tuning.
    fn training_chip(
        &mut self,
        cfg: &StudyConfig,
        design: &Design,
        chip: &Object,
    ) -> Result<Object> {
        match training_noise(cfg.training.strategy) {
            Some(CellNoise::None) => {
                nodes::crossbar(cfg, &design.at_reference_conditions(), &mut self.runner)
            }
            _ => Ok(chip.clone()),
        }
    }

    /// The fine-tuning node of `design` at `epochs` on `training_chip`, from the baseline.
    fn train(
        &mut self,
        cfg: &StudyConfig,
        design: &Design,
        epochs: usize,
        (baseline, training_chip): (&Object, &Object),
        bar: &ProgressBar,
    ) -> Result<Object> {
        let sim = outputs::read_chip(training_chip)?;
        let up = Upstream {
            data: &self.data,
            baseline,
            chip: training_chip,
            sim: &sim,
        };
        nodes::train(cfg, design, epochs, &up, &mut self.runner, bar)
    }

    /// The study's own evaluation of `design` at `fidelity`, its nodes read from the
    /// store (or computed where the runner may).
    pub fn evaluation(&mut self, design: &Design, fidelity: Fidelity) -> Result<EvalSummary> {
        let planned = self.plan(design, fidelity)?;
        Ok(self.evaluate(&planned, &ProgressBar::hidden())?.eval)
    }

    /// The GP fit node: the surrogates' hyperparameters on `observations`.
    pub fn gp_fit(
        &mut self,
        observations: &[Observation],
        problem: &StepProblem,
    ) -> Result<Vec<Kernel>> {
        nodes::gp_fit(self.cfg, observations, problem, &mut self.runner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    /// The default study on a small subset of the embedded data, in a fresh store.
    fn small_config() -> ValidConfig {
        let mut cfg = StudyConfig::default_config().into_inner();
        cfg.dataset.train_subset = Some(64);
        cfg.dataset.test_subset = Some(32);
        cfg.check().unwrap()
    }

    #[test]
    fn an_evaluation_s_key_is_known_before_anything_trains_and_covers_its_inputs() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = small_config();
        let store = cache::Store::open(dir.path()).unwrap();
        let mut graph = Graph::open(&cfg, Runner::new(store, BTreeSet::new())).unwrap();
        let design = cfg.design_space.decode(&[0.5; 4]);
        let mut fewer_bits = design;
        fewer_bits.cell_bits = design.cell_bits - 1;
        let (low, full) = (cfg.fidelity.at(1), cfg.fidelity.full());
        let key = graph.eval_key(&design, full).unwrap();
        assert_eq!(graph.eval_key(&design, full).unwrap(), key, "deterministic");
        assert_ne!(graph.eval_key(&design, low).unwrap(), key, "the fidelity");
        assert_ne!(graph.eval_key(&fewer_bits, full).unwrap(), key, "cell_bits");
        let stages: BTreeSet<&str> = graph.runner().runs.iter().map(|r| r.stage).collect();
        assert_eq!(
            stages,
            BTreeSet::from([
                stages::dataset::STAGE,
                stages::crossbar::STAGE,
                stages::ppa::STAGE
            ]),
            "planning trains nothing"
        );
        let planned = graph.plan(&design, full).unwrap();
        assert_eq!(planned.eval_key, key);
        assert_eq!(planned.ppa.area_um2, graph.ppa(&design).unwrap().area_um2);
        assert!(planned.ppa.area_um2 > 0.0);
    }

    #[test]
    fn the_noise_free_fine_tuning_is_the_same_at_any_operating_conditions_and_shared() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = small_config();
        let mut free = cfg.clone().into_inner();
        free.training.strategy = NoiseStrategy::NoiseFree;
        free.report.controls.clear();
        let free = free.check().unwrap();
        let store = cache::Store::open(dir.path()).unwrap();
        let mut graph = Graph::open(&cfg, Runner::new(store, BTreeSet::new())).unwrap();
        let bar = ProgressBar::hidden();
        let baseline = graph.baseline(&bar).unwrap();
        let design = cfg.design_space.decode(&[0.5; 4]);
        let hot = Design {
            freq_hz: 1e9,
            temp_k: 400.0,
            ..design
        };
        // Trained on the hot design's own crossbars and on the reference conditions':
        // different nodes, the same weights bit for bit.
        let own_chip = nodes::crossbar(&free, &hot, &mut graph.runner).unwrap();
        let shared_chip = graph.training_chip(&free, &hot, &own_chip).unwrap();
        assert_ne!(own_chip.key(), shared_chip.key());
        let own = graph
            .train(&free, &hot, 1, (&baseline, &own_chip), &bar)
            .unwrap();
        let shared = graph
            .train(&free, &hot, 1, (&baseline, &shared_chip), &bar)
            .unwrap();
        assert_ne!(own.key(), shared.key());
        assert_eq!(
            own.read(outputs::CHECKPOINT).unwrap(),
            shared.read(outputs::CHECKPOINT).unwrap()
        );
        // The control of another design at other conditions trains nothing new, and is
        // evaluated under its own noise.
        let trainings = |g: &Graph| {
            g.runner()
                .runs
                .iter()
                .filter(|r| r.stage == stages::training::RESNA_STAGE)
                .filter(|r| r.outcome != crate::runner::Outcome::Cached)
                .count()
        };
        let before = trainings(&graph);
        let cool = graph
            .control(&design, 1, NoiseStrategy::NoiseFree, &bar)
            .unwrap();
        let warm = graph
            .control(&hot, 1, NoiseStrategy::NoiseFree, &bar)
            .unwrap();
        assert_eq!(trainings(&graph), before);
        assert_ne!(cool.draws, warm.draws, "each under its own noise");
        // ReSNA's fine-tuning reads the noise: its node is the design's own.
        let resna_chip = graph.training_chip(&cfg, &hot, &own_chip).unwrap();
        assert_eq!(resna_chip.key(), own_chip.key());
    }

    #[test]
    fn a_batch_too_big_for_the_memory_is_refused_when_the_graph_opens() {
        let dir = tempfile::tempdir().unwrap();
        let mut cfg = small_config().into_inner();
        cfg.training.max_memory_gib = 1e-6;
        let cfg = cfg.check().unwrap();
        let store = cache::Store::open(dir.path()).unwrap();
        let err = Graph::open(&cfg, Runner::new(store, BTreeSet::new()))
            .err()
            .expect("refused");
        assert!(format!("{err:#}").contains("max_memory_gib"), "{err:#}");
    }
}
