//! One point of the crossbar design space: the parameters every stage downstream of the
//! config sees. Serialised canonically (field order fixed) into cache keys.

use serde::{Deserialize, Serialize};

/// A ReRAM crossbar design: the optimiser's decision variables plus the parameters that
/// are fixed by default (ADC resolution, read voltage, conductance range).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Design {
    /// Bits stored per ReRAM cell, 1..=8.
    pub cell_bits: u8,
    /// Crossbar rows = columns (a square array), e.g. 32, 64, 128, 256.
    pub xbar_size: u32,
    /// Operating (read) frequency in Hz.
    pub freq_hz: f64,
    /// Operating temperature in kelvin.
    pub temp_k: f64,
    /// ADC resolution in bits, 1..=12.
    pub adc_bits: u8,
    /// Effective read voltage on the crossbar inputs, volts.
    pub read_voltage: f64,
    /// Lowest programmable conductance, siemens.
    pub g_min: f64,
    /// Highest programmable conductance, siemens.
    pub g_max: f64,
}

impl Design {
    /// Weights are quantised to this many bits before bit slicing (paper, section 2).
    pub const WEIGHT_BITS: u32 = 8;

    /// The noisiest corner of the default design space, at the default device constants:
    /// 1 GHz reads at 400 K, a 5-bit ADC, 0.2 V, conductances 3.33e-7..3.33e-4 S. The
    /// training benchmark and the noise tests run here.
    pub fn noisiest_corner(cell_bits: u8, xbar_size: u32) -> Design {
        Design {
            cell_bits,
            xbar_size,
            freq_hz: 1e9,
            temp_k: 400.0,
            adc_bits: 5,
            read_voltage: 0.2,
            g_min: 3.33e-7,
            g_max: 3.33e-4,
        }
    }

    /// Cells one weight needs: ceil(8 / cell_bits) (bit slicing).
    pub fn cells_per_weight(&self) -> u32 {
        Self::WEIGHT_BITS.div_ceil(u32::from(self.cell_bits))
    }
}
