//! The circuit blocks of DNN+NeuroSim V1.3's inference path, each with its layout,
//! delay, energy and leakage.

pub mod analog;
pub mod buffer;
pub mod logic;
pub mod wires;

use serde::{Deserialize, Serialize};

/// NeuroSim's silicon-calibrated factors (`Param.cpp`, `validated = true`), which it
/// applies to its own estimates: wiring area, sensing time, switching activities.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Calibration {
    /// Level-shifter wiring area factor (`alpha`, 1.44).
    pub level_shifter_wiring: f64,
    /// Sensing-cycle latency factor (`beta`, 1.4).
    pub sensing_latency: f64,
    /// Switching activity of the shift-add and accumulator flip-flops (`gamma`, 0.5).
    pub dff_activity: f64,
    /// Switching activity of adders (`delta`, 0.15).
    pub adder_activity: f64,
    /// Switching activity of control circuits: decoders, encoders, pooling
    /// (`epsilon`, 0.05).
    pub control_activity: f64,
}

impl Default for Calibration {
    fn default() -> Self {
        Calibration {
            level_shifter_wiring: 1.44,
            sensing_latency: 1.4,
            dff_activity: 0.5,
            adder_activity: 0.15,
            control_activity: 0.05,
        }
    }
}
