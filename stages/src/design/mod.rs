//! The crossbar design, defined once: one point of the design space (the parameters
//! every stage downstream of the config sees, serialised canonically, field order fixed,
//! into cache keys), its physical ranges and their validation, its searchable variables
//! by name ([`Variable`]), and the design space with its encoding for the optimiser
//! ([`DesignSpace`]).

mod space;
mod variable;

use serde::{Deserialize, Serialize};
use thiserror::Error;

pub use space::{Axis, Choice, DesignSpace, Range, SpaceError, Span};
pub use variable::Variable;

/// A ReRAM crossbar design: the optimiser's decision variables plus the parameters that
/// are fixed by default (ADC resolution, read voltage, conductance range).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Design {
    /// Bits stored per ReRAM cell, 1..=8.
    pub cell_bits: u8,
    /// Crossbar rows = columns (a square array), a power of two in 2..=4096.
    pub xbar_size: u32,
    /// Operating (read) frequency in Hz, in (0, 1e11].
    pub freq_hz: f64,
    /// Operating temperature in kelvin, in (0, 600].
    pub temp_k: f64,
    /// ADC resolution in bits, 2..=16.
    pub adc_bits: u8,
    /// Effective read voltage on the crossbar inputs, volts, in (0, 3.3].
    pub read_voltage: f64,
    /// Lowest programmable conductance, siemens, above 0.
    pub g_min: f64,
    /// Highest programmable conductance, siemens, above `g_min` and at most 0.01.
    pub g_max: f64,
}

/// A design value outside its physical range. `key` is the design variable's name; a
/// caller prefixes it with its own (`design_space.`, a flag's `--`).
#[derive(Debug, Clone, PartialEq, Error)]
#[error("{key} must be {range}, got {value}")]
pub struct DesignError {
    /// The variable, as spelled in configs and the ledger (`cell_bits`, ...).
    pub key: &'static str,
    /// The allowed range, in words.
    pub range: &'static str,
    /// The offending value.
    pub value: String,
}

/// The physical range of each design variable, with the reason for each bound. The one
/// place these bounds live: the config, the command-line parsers, the worker (through
/// the config), the noise model and the PPA models all check a design here; a model
/// narrower than these ranges says so in its own error.
mod range {
    /// Weights are 8-bit ([`super::Design::WEIGHT_BITS`]): a cell holding more bits than
    /// a weight has nothing to store; a cell holds at least one bit.
    pub const CELL_BITS: (u8, u8) = (1, 8);
    /// Row decoders and the weight mapping split arrays in halves, so sizes are powers of
    /// two. Above 4096 rows a row's wire resistance (about 2 Ohm per cell pitch at
    /// 22-45 nm) passes a cell's on-resistance (kOhm), so a read no longer senses the
    /// cells; 2 is the smallest array with a row and a column to share.
    pub const XBAR_SIZE: (u32, u32) = (2, 4096);
    /// A signed ADC needs a level each side of zero (2 bits); past 16 bits no ADC converts
    /// at crossbar read rates (crossbar accelerators use 4-8 bits).
    pub const ADC_BITS: (u8, u8) = (2, 16);
    /// 100 GHz is past the switching speed of the CMOS periphery at any node the PPA
    /// models know (a sensing cycle takes about a nanosecond).
    pub const FREQ_HZ_MAX: f64 = 1e11;
    /// Above 600 K the filament of an oxide ReRAM cell loses its state within seconds and
    /// CMOS junctions leak through; 0 K has no thermal noise to model.
    pub const TEMP_K_MAX: f64 = 600.0;
    /// ReRAM cells set (are programmed) at 1-3 V; a read above 3.3 V would program them,
    /// and no periphery at these nodes supplies more.
    pub const READ_VOLTAGE_MAX: f64 = 3.3;
    /// 0.01 S is a 100 Ohm cell, below the on-resistance of any ReRAM device (about
    /// 1 kOhm at the lowest).
    pub const G_MAX_MAX: f64 = 1e-2;
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

    /// Checks every variable against its physical range (see the `range` module);
    /// the error names the variable.
    pub fn validate(&self) -> Result<(), DesignError> {
        let fail = |key, range, value: String| Err(DesignError { key, range, value });
        let (lo, hi) = range::CELL_BITS;
        if !(lo..=hi).contains(&self.cell_bits) {
            return fail("cell_bits", "in 1..=8", self.cell_bits.to_string());
        }
        let (lo, hi) = range::XBAR_SIZE;
        if !((lo..=hi).contains(&self.xbar_size) && self.xbar_size.is_power_of_two()) {
            return fail(
                "xbar_size",
                "a power of two in 2..=4096",
                self.xbar_size.to_string(),
            );
        }
        let (lo, hi) = range::ADC_BITS;
        if !(lo..=hi).contains(&self.adc_bits) {
            return fail("adc_bits", "in 2..=16", self.adc_bits.to_string());
        }
        let within = |v: f64, max: f64| v.is_finite() && v > 0.0 && v <= max;
        if !within(self.freq_hz, range::FREQ_HZ_MAX) {
            return fail("freq_hz", "in (0, 1e11] Hz", self.freq_hz.to_string());
        }
        if !within(self.temp_k, range::TEMP_K_MAX) {
            return fail("temp_k", "in (0, 600] K", self.temp_k.to_string());
        }
        if !within(self.read_voltage, range::READ_VOLTAGE_MAX) {
            return fail(
                "read_voltage",
                "in (0, 3.3] V",
                self.read_voltage.to_string(),
            );
        }
        if !within(self.g_min, range::G_MAX_MAX) {
            return fail("g_min", "a positive conductance", self.g_min.to_string());
        }
        if !(within(self.g_max, range::G_MAX_MAX) && self.g_max > self.g_min) {
            return fail(
                "g_max",
                "above g_min and at most 0.01 S",
                self.g_max.to_string(),
            );
        }
        Ok(())
    }

    /// Every field zero: not a design (it fails [`Design::validate`]) but the blank a
    /// design is built on variable by variable ([`Design::with`]).
    pub fn blank() -> Design {
        Design {
            cell_bits: 0,
            xbar_size: 0,
            freq_hz: 0.0,
            temp_k: 0.0,
            adc_bits: 0,
            read_voltage: 0.0,
            g_min: 0.0,
            g_max: 0.0,
        }
    }

    /// A short label: bits, crossbar, frequency, temperature (`4b/64x64/5.000e8Hz/350.0K`).
    pub fn label(&self) -> String {
        format!(
            "{}b/{}x{}/{:.3e}Hz/{:.1}K",
            self.cell_bits, self.xbar_size, self.xbar_size, self.freq_hz, self.temp_k
        )
    }

    /// The design as a ledger row records it: the conductance range, the study's and not
    /// a column of the ledger, zeroed.
    pub fn recorded(self) -> Design {
        Design {
            g_min: 0.0,
            g_max: 0.0,
            ..self
        }
    }

    /// The design at the reference operating conditions (100 MHz, 300 K), the rest
    /// unchanged. The frequency and the temperature enter only the read noise (thermal
    /// and shot, `crossbar::characterise`), so a computation on the crossbars without
    /// read noise is the same at any conditions: the noise-free fine-tuning of every
    /// design runs at these, and designs that differ only in conditions share it.
    pub fn at_reference_conditions(self) -> Design {
        Design {
            freq_hz: 1e8,
            temp_k: 300.0,
            ..self
        }
    }

    /// Cells one weight needs: ceil(8 / cell_bits) (bit slicing).
    pub fn cells_per_weight(&self) -> u32 {
        Self::WEIGHT_BITS.div_ceil(u32::from(self.cell_bits))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absurd_values_are_refused_naming_the_variable() {
        let ok = Design::noisiest_corner(8, 128);
        assert_eq!(ok.validate(), Ok(()));
        for (bad, key) in [
            (Design { cell_bits: 9, ..ok }, "cell_bits"),
            (Design { cell_bits: 0, ..ok }, "cell_bits"),
            (
                Design {
                    xbar_size: 2147483648,
                    ..ok
                },
                "xbar_size",
            ),
            (
                Design {
                    xbar_size: 96,
                    ..ok
                },
                "xbar_size",
            ),
            (Design { adc_bits: 1, ..ok }, "adc_bits"),
            (Design { adc_bits: 17, ..ok }, "adc_bits"),
            (Design { freq_hz: 0.0, ..ok }, "freq_hz"),
            (
                Design {
                    freq_hz: 1e12,
                    ..ok
                },
                "freq_hz",
            ),
            (Design { temp_k: 1e12, ..ok }, "temp_k"),
            (
                Design {
                    temp_k: f64::NAN,
                    ..ok
                },
                "temp_k",
            ),
            (
                Design {
                    read_voltage: 5.0,
                    ..ok
                },
                "read_voltage",
            ),
            (Design { g_min: -1.0, ..ok }, "g_min"),
            (
                Design {
                    g_max: ok.g_min,
                    ..ok
                },
                "g_max",
            ),
            (Design { g_max: 1.0, ..ok }, "g_max"),
        ] {
            let err = bad.validate().unwrap_err();
            assert_eq!(err.key, key, "{err}");
            assert!(err.to_string().starts_with(key), "{err}");
        }
        // The ranges' ends are inside.
        let edges = Design {
            cell_bits: 1,
            xbar_size: 4096,
            adc_bits: 16,
            freq_hz: 1e11,
            temp_k: 600.0,
            read_voltage: 3.3,
            g_max: 1e-2,
            ..ok
        };
        assert_eq!(edges.validate(), Ok(()));
    }
}
