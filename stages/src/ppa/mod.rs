//! PPA estimation: the area, latency and energy of a ReRAM crossbar accelerator running
//! one inference of a DNN, with two models behind one report:
//!
//! - [`neurosim`] (the default): DNN+NeuroSim V1.3's inference accounting re-derived
//!   module for module (the paper's PPA tool): floorplan, duplication, buffers and
//!   interconnect, the sensing-limited synchronous clock, leakage with temperature.
//!   Checked against NeuroSim's own C++ runs (`bench/neurosim-reference.json`).
//! - [`analytic`]: this project's earlier model in NeuroSim's spirit, one array and its
//!   periphery per crossbar (kept for comparison).
//!
//! Both report the totals, a breakdown by component (arrays, ADCs, accumulation,
//! buffers, interconnect, other periphery) and the same per layer.

pub mod analytic;
pub mod neurosim;

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::arch::{self, ModelName};
use crate::design::{Design, DesignError};

/// The stage's name in cache keys and logs.
pub const STAGE: &str = "ppa";
/// Bumped whenever a change of this module changes the stage's output.
pub const CODE_VERSION: u32 = 2;

/// Which PPA model estimates a design.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PpaModel {
    /// DNN+NeuroSim V1.3's accounting ([`neurosim`]).
    #[default]
    Neurosim,
    /// The earlier analytic model ([`analytic`]).
    Analytic,
}

impl std::str::FromStr for PpaModel {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "neurosim" => Ok(PpaModel::Neurosim),
            "analytic" => Ok(PpaModel::Analytic),
            _ => Err(format!("unknown PPA model {s:?}: use neurosim or analytic")),
        }
    }
}

impl std::fmt::Display for PpaModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            PpaModel::Neurosim => "neurosim",
            PpaModel::Analytic => "analytic",
        })
    }
}

/// The `[ppa]` section: the model and each model's constants.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PpaParams {
    /// The model. Default `neurosim`.
    pub model: PpaModel,
    /// The `neurosim` model's constants (`[ppa.neurosim]`).
    pub neurosim: neurosim::NeurosimParams,
    /// The `analytic` model's constants (`[ppa.analytic]`).
    pub analytic: analytic::params::AnalyticParams,
}

impl PpaParams {
    /// Checks the selected model's constants; the error names the first bad field.
    pub fn validate(&self) -> Result<(), PpaError> {
        match self.model {
            PpaModel::Neurosim => self.neurosim.validate(),
            PpaModel::Analytic => Ok(self.analytic.validate()?),
        }
    }
}

/// Why [`estimate`] refused a design or parameter set. Each message names the field.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum PpaError {
    /// A design value outside its physical range.
    #[error(transparent)]
    Design(#[from] DesignError),
    /// `xbar_size` is below the smallest array the PPA models map.
    #[error("xbar_size must be at least 8 for the PPA models (their smallest array), got {0}")]
    XbarSize(u32),
    /// `freq_hz` is above what the crossbar's sense amplifiers can sense.
    #[error(
        "freq_hz {freq_hz:.4e} is above the sensing-limited clock of this design, \
         {limit_hz:.4e} Hz (its slowest column's sensing cycle) and [ppa.neurosim] clock \
         is \"refuse\"; lower freq_hz or set clock = \"saturate\""
    )]
    FreqAboveSensing {
        /// The design's frequency, Hz.
        freq_hz: f64,
        /// The sensing-limited clock, Hz.
        limit_hz: f64,
    },
    /// `temp_k` is outside the technology tables of the `neurosim` model.
    #[error("temp_k must be in 300..=400 K for the neurosim PPA model (its technology tables), got {temp_k}")]
    TempRange {
        /// The design's temperature, K.
        temp_k: f64,
    },
    /// `input_hw` is too small for the model's pooling stages.
    #[error("input_hw must be >= {min} for {model}, got {input_hw}")]
    InputHw {
        /// The model.
        model: ModelName,
        /// The offending input side.
        input_hw: usize,
        /// [`ModelName::min_input_hw`].
        min: usize,
    },
    /// `num_classes` is zero.
    #[error("num_classes must be >= 1, got 0")]
    NumClasses,
    /// A `neurosim` constant is invalid.
    #[error("invalid PPA parameter `{field}` = {value}: {reason}")]
    Param {
        /// The field, `neurosim.<name>`.
        field: String,
        /// Its value.
        value: f64,
        /// What it must satisfy.
        reason: &'static str,
    },
    /// An `analytic` constant is invalid.
    #[error(transparent)]
    Params(#[from] analytic::params::InvalidParam),
}

/// A quantity split by component: area (um^2), latency (ns) or dynamic energy (pJ).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Breakdown {
    /// The cell arrays (energy: charging their bit and word lines).
    pub arrays: f64,
    /// The ADCs: sense amplifiers and encoders (latency: the sensing cycles).
    pub adc: f64,
    /// Accumulation: shift-adds and adder trees.
    pub accumulation: f64,
    /// Buffers: registers and register files.
    pub buffers: f64,
    /// Interconnect: buses and H-trees.
    pub interconnect: f64,
    /// Other periphery: switch matrices, muxes, decoders, level shifters, activation,
    /// pooling.
    pub other: f64,
}

impl Breakdown {
    /// The sum.
    pub fn total(&self) -> f64 {
        self.arrays + self.adc + self.accumulation + self.buffers + self.interconnect + self.other
    }

    /// `self += o`.
    pub fn add(&mut self, o: &Breakdown) {
        self.arrays += o.arrays;
        self.adc += o.adc;
        self.accumulation += o.accumulation;
        self.buffers += o.buffers;
        self.interconnect += o.interconnect;
        self.other += o.other;
    }

    /// The components as (name, value) pairs, in a fixed order.
    pub fn named(&self) -> [(&'static str, f64); 6] {
        [
            ("arrays", self.arrays),
            ("adc", self.adc),
            ("accumulation", self.accumulation),
            ("buffers", self.buffers),
            ("interconnect", self.interconnect),
            ("other", self.other),
        ]
    }
}

/// One weight layer's mapping and costs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LayerPpa {
    /// Layer name from [`arch::layers`].
    pub name: String,
    /// Weight-matrix rows (crossbar inputs).
    pub rows: usize,
    /// Weight-matrix columns after bit slicing (and, in the analytic model, the
    /// differential pair).
    pub cols: usize,
    /// Tiles (analytic: crossbars) along the rows of the weight matrix.
    pub row_tiles: usize,
    /// Tiles along its columns.
    pub col_tiles: usize,
    /// Tiles (analytic: crossbars) the layer occupies.
    pub tiles: usize,
    /// Copies of the layer's weights working in parallel (NeuroSim's duplication).
    pub copies: usize,
    /// Multiply-accumulates for one image.
    pub macs: u64,
    /// Area of the layer's tiles, um^2.
    pub area_um2: f64,
    /// Time to process one image, ns.
    pub latency_ns: f64,
    /// Dynamic energy for one image, pJ.
    pub energy_pj: f64,
    /// Leakage energy of the rest of the chip while this layer runs, pJ.
    pub leakage_pj: f64,
    /// Latency by component, ns.
    pub latency: Breakdown,
    /// Dynamic energy by component, pJ.
    pub energy: Breakdown,
}

/// A model's estimate for one network on one design.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PpaReport {
    /// The model that made it.
    pub model: PpaModel,
    /// Chip area, um^2.
    pub area_um2: f64,
    /// Latency of one inference, ns.
    pub latency_ns: f64,
    /// Energy of one inference, leakage included, pJ.
    pub energy_pj: f64,
    /// Its leakage part, pJ.
    pub leakage_pj: f64,
    /// Energy efficiency: `2 * MACs` operations per pJ, TOPS/W.
    pub tops_per_w: f64,
    /// Throughput per area: `2 * MACs / latency / area`, TOPS/mm^2.
    pub tops_per_mm2: f64,
    /// The clock period latencies count in, ns.
    pub clock_ns: f64,
    /// The fastest clock the design's sense amplifiers allow (`neurosim`), Hz.
    pub max_freq_hz: Option<f64>,
    /// Tiles on the chip (analytic: crossbars).
    pub tiles: usize,
    /// Area by component, um^2.
    pub area: Breakdown,
    /// Latency by component, ns.
    pub latency: Breakdown,
    /// Dynamic energy by component, pJ.
    pub energy: Breakdown,
    /// Per-layer mapping and costs, in forward order.
    pub layers: Vec<LayerPpa>,
}

impl PpaReport {
    /// Average power over one inference, mW (pJ / ns).
    pub fn power_mw(&self) -> f64 {
        self.energy_pj / self.latency_ns
    }
}

/// Checks a design's values against their physical ranges and what the models can
/// compute.
pub fn validate_design(d: &Design) -> Result<(), PpaError> {
    d.validate()?;
    if d.xbar_size < 8 {
        return Err(PpaError::XbarSize(d.xbar_size));
    }
    Ok(())
}

/// Checks what every model's estimate needs: the design, and an input shape the network
/// can take.
pub(crate) fn check_workload(
    model: ModelName,
    input_hw: usize,
    num_classes: usize,
    design: &Design,
) -> Result<(), PpaError> {
    validate_design(design)?;
    let min = model.min_input_hw();
    if input_hw < min {
        return Err(PpaError::InputHw {
            model,
            input_hw,
            min,
        });
    }
    if num_classes == 0 {
        return Err(PpaError::NumClasses);
    }
    Ok(())
}

/// Estimates area, latency and energy of one `model` inference (square `input_hw` RGB
/// input, `num_classes` outputs) on the crossbar `design` with the model and constants
/// of `params`. Each model checks its own constants; the workload is checked once.
pub fn estimate(
    model: ModelName,
    input_hw: usize,
    num_classes: usize,
    design: &Design,
    params: &PpaParams,
) -> Result<PpaReport, PpaError> {
    match params.model {
        PpaModel::Neurosim => {
            check_workload(model, input_hw, num_classes, design)?;
            let layers = arch::layers(model, input_hw, num_classes);
            neurosim::estimate(&layers, design, &params.neurosim)
        }
        PpaModel::Analytic => {
            Ok(
                analytic::estimate(model, input_hw, num_classes, design, &params.analytic)?
                    .into_report(design),
            )
        }
    }
}
