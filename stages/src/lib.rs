//! The stages of the xbar-opt pipeline as pure domain code, one module per stage.
//! The DAG that wires them together lives in the `pipeline` crate (`dag.rs`).
//!
//! - [`dataset`]: stage 1, dataset prep.
//! - [`crossbar`]: stage 2, crossbar characterisation (the noise model).
//! - [`ppa`]: PPA estimation (area, latency, energy), with its constants in [`ppa_params`].
//! - [`mapping`]: 8-bit quantisation, bit slicing onto differential conductance pairs,
//!   and noisy effective weights (what ReSNA training injects).
//! - [`conv`]: a fast CPU conv2d (im2col + GEMM) with its gradients, for training.
//! - [`models`]: the networks in candle, built from [`arch`]'s layer lists.
//! - [`training`]: stage 3, baseline pre-training, ReSNA fine-tuning and noisy inference.
//! - [`arch`]: the network architectures, as layer lists shared by the stages.
//! - [`design`]: one point of the design space.
//! - [`optimizer`]: the optimiser's math (hypervolume, NSGA-II, acquisition, sampling).
#![deny(missing_docs)]

pub mod arch;
pub mod conv;
pub mod crossbar;
pub mod dataset;
pub mod design;
pub mod mapping;
pub mod models;
pub mod optimizer;
pub mod ppa;
pub mod ppa_params;
pub mod training;
