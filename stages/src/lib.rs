//! The stages of the xbar-opt pipeline as pure domain code, one module per stage.
//! The graph that wires them together lives in the `pipeline` crate (`dag/`).
//!
//! - [`dataset`]: stage 1, dataset prep.
//! - [`crossbar`]: stage 2, crossbar characterisation (the noise models).
//! - [`crossbar_sim`]: a conv or FC layer run on the simulated crossbars (tiles, DAC,
//!   ADC, per-cell noise), as a differentiable candle op.
//! - [`ppa`]: PPA estimation (area, latency, energy): the `neurosim` model (DNN+NeuroSim
//!   V1.3's accounting) and the earlier `analytic` one.
//! - [`mapping`]: 8-bit quantisation and bit slicing onto differential pairs.
//! - [`kernels`]: the candle CPU kernels: a fast conv2d (im2col + GEMM) with its
//!   gradients, its 3x3 stride-1 kernels as shifted products, batch norm fused with the
//!   residual add and ReLU.
//! - [`models`]: the networks in candle, built from [`arch`]'s layer lists.
//! - [`noise_probe`]: what a design's crossbars do to each layer (`pipeline noise`).
//! - [`training`]: stage 3, baseline pre-training, ReSNA fine-tuning and noisy inference.
//! - [`arch`]: the network architectures, as layer lists shared by the stages.
//! - [`design`]: one point of the design space.
#![deny(missing_docs)]

pub mod arch;
pub mod crossbar;
pub mod crossbar_sim;
pub mod dataset;
pub mod design;
pub mod kernels;
pub mod mapping;
pub mod models;
pub mod noise_probe;
pub mod ppa;
pub mod training;

/// An evaluation that failed because of the design itself (a training loss that diverges
/// under the design's noise): a result to record for the design, unlike an
/// infrastructure fault (I/O, a full disk, a killed process), which is retried.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct DesignFailure(pub String);
