//! The design variables a design space can search, by name: the one list the config, the
//! optimiser's encoding, the sweep grid, the replay's table, the report's axes and the
//! command-line parsers walk, so that a new searched variable is a case here and a field
//! of [`super::Design`] and [`super::DesignSpace`].

use super::Design;

/// A design variable a design space can search. The other fields of a [`Design`] (read
/// voltage, conductance range) are device constants of a study.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Variable {
    /// Bits per ReRAM cell.
    CellBits,
    /// Crossbar rows = columns.
    XbarSize,
    /// Operating frequency, Hz.
    FreqHz,
    /// Operating temperature, K.
    TempK,
    /// ADC resolution, bits.
    AdcBits,
    /// Read voltage on the crossbar inputs, V.
    ReadVoltage,
}

impl Variable {
    /// Every searchable variable, in the order of the optimiser's encoding, the sweep's
    /// nesting (the first slowest), the report's axes and the ledger's design columns.
    pub const ALL: [Variable; 6] = [
        Variable::CellBits,
        Variable::XbarSize,
        Variable::FreqHz,
        Variable::TempK,
        Variable::AdcBits,
        Variable::ReadVoltage,
    ];

    /// The name in configs, flags and the ledger's columns.
    pub fn name(self) -> &'static str {
        match self {
            Variable::CellBits => "cell_bits",
            Variable::XbarSize => "xbar_size",
            Variable::FreqHz => "freq_hz",
            Variable::TempK => "temp_k",
            Variable::AdcBits => "adc_bits",
            Variable::ReadVoltage => "read_voltage",
        }
    }

    /// The variable of a name, if it is one.
    pub fn from_name(name: &str) -> Option<Variable> {
        Self::ALL.into_iter().find(|v| v.name() == name)
    }

    /// A label for plots and tables, with the unit; log-scaled variables are plotted as
    /// `log10` of the value ([`Variable::is_log`]).
    pub fn label(self) -> &'static str {
        match self {
            Variable::CellBits => "cell bits",
            Variable::XbarSize => "crossbar size",
            Variable::FreqHz => "freq (Hz)",
            Variable::TempK => "temp (K)",
            Variable::AdcBits => "ADC bits",
            Variable::ReadVoltage => "read voltage (V)",
        }
    }

    /// A value as tables show it: an integer as such, a frequency in scientific
    /// notation, a temperature to a tenth of a kelvin.
    pub fn format(self, value: f64) -> String {
        match self {
            _ if self.is_integer() => format!("{}", value as i64),
            Variable::FreqHz => format!("{value:.4e}"),
            Variable::TempK => format!("{value:.1}"),
            _ => format!("{value}"),
        }
    }

    /// Whether the variable spans decades, so that plots show its logarithm.
    pub fn is_log(self) -> bool {
        self == Variable::FreqHz
    }

    /// Whether the variable takes integer values only (a grid, stored as integers).
    pub fn is_integer(self) -> bool {
        matches!(
            self,
            Variable::CellBits | Variable::XbarSize | Variable::AdcBits
        )
    }

    /// One of the paper's four design variables. A sweep always varies them, so a
    /// table's problem keeps them as axes even when one takes a single value; the others
    /// are axes where they vary.
    pub fn is_paper_variable(self) -> bool {
        matches!(
            self,
            Variable::CellBits | Variable::XbarSize | Variable::FreqHz | Variable::TempK
        )
    }
}

impl Design {
    /// The value of `variable`.
    pub fn get(&self, variable: Variable) -> f64 {
        match variable {
            Variable::CellBits => f64::from(self.cell_bits),
            Variable::XbarSize => f64::from(self.xbar_size),
            Variable::FreqHz => self.freq_hz,
            Variable::TempK => self.temp_k,
            Variable::AdcBits => f64::from(self.adc_bits),
            Variable::ReadVoltage => self.read_voltage,
        }
    }

    /// This design with `variable` set to `value` (an integer variable's value is
    /// rounded; [`Design::validate`] checks the result's range).
    pub fn with(mut self, variable: Variable, value: f64) -> Design {
        // Saturating casts: an out-of-range value stays out of range for `validate`.
        match variable {
            Variable::CellBits => self.cell_bits = value.round() as u8,
            Variable::XbarSize => self.xbar_size = value.round() as u32,
            Variable::FreqHz => self.freq_hz = value,
            Variable::TempK => self.temp_k = value,
            Variable::AdcBits => self.adc_bits = value.round() as u8,
            Variable::ReadVoltage => self.read_voltage = value,
        }
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_variable_reads_back_what_is_set_and_is_found_by_its_name() {
        let d = Design::noisiest_corner(4, 64);
        for (v, value) in Variable::ALL
            .into_iter()
            .zip([2.0, 256.0, 3e8, 310.0, 7.0, 0.3])
        {
            assert_eq!(Variable::from_name(v.name()), Some(v));
            let changed = d.with(v, value);
            assert_eq!(changed.get(v), value, "{}", v.name());
            for other in Variable::ALL.into_iter().filter(|&o| o != v) {
                assert_eq!(changed.get(other), d.get(other), "{}", other.name());
            }
        }
        assert_eq!(Variable::from_name("volts"), None);
    }
}
