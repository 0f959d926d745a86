//! The design space (`[design_space]` of a study's config): how each searchable
//! [`Variable`] is given (one fixed value, a grid, a range), the study's device
//! constants, and the space's encoding in the optimiser's unit cube. A variable given as
//! one value is fixed and takes no dimension; a grid or a range is searched, one
//! dimension each, in [`Variable::ALL`]'s order.

use serde::{Deserialize, Serialize};
use thiserror::Error;

use super::{Design, Variable};

/// A continuous variable's range.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Range {
    /// Lower bound.
    pub min: f64,
    /// Upper bound (equal to `min` fixes the variable).
    pub max: f64,
    /// Sample on a log scale.
    #[serde(default)]
    pub log: bool,
}

impl Range {
    /// Maps `u` in [0, 1] into the range.
    pub fn decode(&self, u: f64) -> f64 {
        if self.log {
            (self.min.ln() + u * (self.max.ln() - self.min.ln())).exp()
        } else {
            self.min + u * (self.max - self.min)
        }
    }

    /// The position of `v` in the range, in [0, 1] (0.5 for a fixed variable).
    pub fn encode(&self, v: f64) -> f64 {
        if self.max <= self.min {
            return 0.5;
        }
        let u = if self.log {
            (v.ln() - self.min.ln()) / (self.max.ln() - self.min.ln())
        } else {
            (v - self.min) / (self.max - self.min)
        };
        u.clamp(0.0, 1.0)
    }
}

/// How the config gives an integer variable: one value (fixed) or a grid (searched).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Choice<T> {
    /// One value: the variable is fixed.
    Fixed(T),
    /// The values the search picks from.
    Grid(Vec<T>),
}

/// How the config gives a continuous variable: one value (fixed) or a range (searched).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Span {
    /// One value: the variable is fixed.
    Fixed(f64),
    /// The range the search covers.
    Range(Range),
}

/// One variable of a space, its values as numbers: what the encoding, the corners and
/// the sweep read.
#[derive(Debug, Clone, PartialEq)]
pub enum Axis {
    /// A fixed value (no dimension).
    Fixed(f64),
    /// A grid of values (a dimension of that many levels).
    Grid(Vec<f64>),
    /// A continuous range (a continuous dimension; one level when `min == max`).
    Range(Range),
}

impl Axis {
    /// The levels of its dimension (0 for a continuous one), `None` for a fixed value.
    pub fn levels(&self) -> Option<usize> {
        match self {
            Axis::Fixed(_) => None,
            Axis::Grid(values) => Some(values.len()),
            Axis::Range(r) => Some(usize::from(r.max <= r.min)),
        }
    }

    /// The position of `v` in [0, 1]: a grid value's cell centre (the first cell for a
    /// value off the grid), a range's position (0.5 for a fixed range).
    fn encode(&self, v: f64) -> f64 {
        match self {
            Axis::Fixed(_) => 0.5,
            Axis::Grid(values) => {
                let i = values.iter().position(|&g| g == v).unwrap_or(0);
                (i as f64 + 0.5) / values.len() as f64
            }
            Axis::Range(r) => r.encode(v),
        }
    }

    /// The value at `u` in [0, 1]: a grid indexed by `floor(u * len)`, a range mapped
    /// linearly or on a log scale.
    fn decode(&self, u: f64) -> f64 {
        match self {
            Axis::Fixed(v) => *v,
            Axis::Grid(values) => {
                values[((u * values.len() as f64) as usize).min(values.len() - 1)]
            }
            Axis::Range(r) => r.decode(u),
        }
    }

    /// Its extreme values: a grid's every value, a range's ends, the fixed value.
    pub fn ends(&self) -> Vec<f64> {
        match self {
            Axis::Fixed(v) => vec![*v],
            Axis::Grid(values) => values.clone(),
            Axis::Range(r) => vec![r.min, r.max],
        }
    }

    /// The values a sweep takes by default: a grid's, a range's minimum, middle (the
    /// geometric middle on a log scale) and maximum, or the one value of a fixed one.
    pub fn sweep_values(&self) -> Vec<f64> {
        match self {
            Axis::Range(r) if r.max > r.min => vec![r.min, r.decode(0.5), r.max],
            Axis::Range(r) => vec![r.min],
            _ => self.ends(),
        }
    }

    /// The smallest value.
    pub fn min(&self) -> f64 {
        self.ends().into_iter().fold(f64::INFINITY, f64::min)
    }

    /// The largest value.
    pub fn max(&self) -> f64 {
        self.ends().into_iter().fold(f64::NEG_INFINITY, f64::max)
    }

    /// Whether `v` is one of its values (within 1e-9 relative of a range's ends).
    pub fn contains(&self, v: f64) -> bool {
        match self {
            Axis::Range(r) => {
                let slack = 1e-9 * r.max.abs();
                v >= r.min - slack && v <= r.max + slack
            }
            _ => self.ends().contains(&v),
        }
    }

    /// Its values in words, for an error (`[1.0, 2.0]`, `[1e7, 1e9]`, `5`).
    pub fn describe(&self) -> String {
        match self {
            Axis::Fixed(v) => format!("{v} (fixed)"),
            Axis::Grid(values) => format!("{values:?}"),
            Axis::Range(r) => format!("[{}, {}]", r.min, r.max),
        }
    }
}

/// A malformed design space; `key` is the variable, which a caller prefixes with
/// `design_space.`.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum SpaceError {
    /// A grid with no value.
    #[error("{key} is empty")]
    EmptyGrid {
        /// The variable.
        key: &'static str,
    },
    /// A range whose minimum is not a positive number.
    #[error("{key}: min must be a positive number, got {min}")]
    RangeMin {
        /// The variable.
        key: &'static str,
        /// Its minimum.
        min: f64,
    },
    /// A range whose ends are crossed or not finite.
    #[error("{key}: min ({min}) is greater than max ({max})")]
    RangeOrder {
        /// The variable.
        key: &'static str,
        /// Its minimum.
        min: f64,
        /// Its maximum.
        max: f64,
    },
}

/// `[design_space]`: each searchable variable, fixed or searched, and the conductance
/// range (fixed).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DesignSpace {
    /// Bits per cell: a grid, or one value.
    pub cell_bits: Choice<u8>,
    /// Crossbar sizes: a grid, or one value.
    pub xbar_size: Choice<u32>,
    /// Frequency, Hz: a range, or one value.
    pub freq_hz: Span,
    /// Temperature, K: a range, or one value.
    pub temp_k: Span,
    /// ADC bits: one value (fixed, the default) or a grid.
    pub adc_bits: Choice<u8>,
    /// Read voltage, V: one value (fixed, the default) or a range.
    pub read_voltage: Span,
    /// Lowest conductance, S (fixed).
    pub g_min: f64,
    /// Highest conductance, S (fixed).
    pub g_max: f64,
}

fn choice<T: Copy + Into<f64>>(c: &Choice<T>) -> Axis {
    match c {
        Choice::Fixed(v) => Axis::Fixed((*v).into()),
        Choice::Grid(values) => Axis::Grid(values.iter().map(|&v| v.into()).collect()),
    }
}

fn span(s: &Span) -> Axis {
    match s {
        Span::Fixed(v) => Axis::Fixed(*v),
        Span::Range(r) => Axis::Range(*r),
    }
}

impl DesignSpace {
    /// How the space gives `variable`.
    pub fn axis(&self, variable: Variable) -> Axis {
        match variable {
            Variable::CellBits => choice(&self.cell_bits),
            Variable::XbarSize => choice(&self.xbar_size),
            Variable::FreqHz => span(&self.freq_hz),
            Variable::TempK => span(&self.temp_k),
            Variable::AdcBits => choice(&self.adc_bits),
            Variable::ReadVoltage => span(&self.read_voltage),
        }
    }

    /// The searched variables (not fixed) with their axes, in the encoding's order.
    pub fn searched(&self) -> Vec<(Variable, Axis)> {
        Variable::ALL
            .into_iter()
            .map(|v| (v, self.axis(v)))
            .filter(|(_, a)| a.levels().is_some())
            .collect()
    }

    /// The unit cube's dimension: the number of searched variables.
    pub fn dim(&self) -> usize {
        self.searched().len()
    }

    /// Per dimension, the levels of a grid (0 for a continuous range, 1 for a range
    /// with `min == max`).
    pub fn levels(&self) -> Vec<usize> {
        self.searched()
            .iter()
            .filter_map(|(_, a)| a.levels())
            .collect()
    }

    /// The design with every variable at its fixed value or the first value of its grid
    /// or range, and the device constants: the base the corners, the sweep and the
    /// command-line probes set variables on.
    pub fn first(&self) -> Design {
        self.at(std::iter::empty())
    }

    /// The point of the unit cube a design decodes from: a grid value's cell centre, a
    /// continuous value's position in its range (0.5 for a fixed range).
    pub fn encode(&self, d: &Design) -> Vec<f64> {
        self.searched()
            .iter()
            .map(|(v, axis)| axis.encode(d.get(*v)))
            .collect()
    }

    /// Maps a point of the unit cube [0, 1]^dim to a design: grids are indexed by
    /// `floor(u * len)`, continuous variables mapped linearly or on a log scale, the
    /// fixed variables as configured.
    pub fn decode(&self, u: &[f64]) -> Design {
        self.at(u.iter().copied())
    }

    /// The design at the coordinates `u` of the searched variables, in order (a
    /// searched variable past the end of `u` at its first value), one pass over the
    /// variables: the decoding sits in the optimiser's inner loop.
    fn at(&self, mut u: impl Iterator<Item = f64>) -> Design {
        let constants = Design {
            g_min: self.g_min,
            g_max: self.g_max,
            ..Design::blank()
        };
        Variable::ALL.into_iter().fold(constants, |d, v| {
            let axis = self.axis(v);
            // A fixed value takes no coordinate.
            let coordinate = axis.levels().and_then(|_| u.next());
            let value = match (&axis, coordinate) {
                (Axis::Fixed(v), _) => *v,
                (_, Some(c)) => axis.decode(c),
                (_, None) => axis.ends()[0],
            };
            d.with(v, value)
        })
    }

    /// Every combination of each variable's [`Axis::ends`] (the first variable varying
    /// slowest; the device constants as configured): the designs a check of the whole
    /// space looks at. The grids must not be empty.
    pub fn corners(&self) -> impl Iterator<Item = Design> {
        self.product(Variable::ALL.map(|v| (v, self.axis(v).ends())).to_vec())
            .into_iter()
    }

    /// The full-factorial product of `values` per variable, on the space's first design ([`DesignSpace::first`]),
    /// the first variable varying slowest.
    pub fn product(&self, values: Vec<(Variable, Vec<f64>)>) -> Vec<Design> {
        values
            .into_iter()
            .fold(vec![self.first()], |designs, (variable, values)| {
                designs
                    .iter()
                    .flat_map(|d| values.iter().map(move |&x| d.with(variable, x)))
                    .collect()
            })
    }

    /// Checks the space's form: no empty grid, ranges with positive, ordered ends. The
    /// designs' physical ranges are [`Design::validate`]'s, checked on the corners.
    pub fn check_form(&self) -> Result<(), SpaceError> {
        for v in Variable::ALL {
            let key = v.name();
            match self.axis(v) {
                Axis::Grid(values) if values.is_empty() => {
                    return Err(SpaceError::EmptyGrid { key });
                }
                Axis::Range(r) => {
                    if !(r.min.is_finite() && r.max.is_finite() && r.min > 0.0) {
                        return Err(SpaceError::RangeMin { key, min: r.min });
                    }
                    if r.min > r.max {
                        let (min, max) = (r.min, r.max);
                        return Err(SpaceError::RangeOrder { key, min, max });
                    }
                }
                _ => {}
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn space(adc_bits: Choice<u8>) -> DesignSpace {
        DesignSpace {
            cell_bits: Choice::Grid(vec![1, 2, 4]),
            xbar_size: Choice::Grid(vec![32, 64]),
            freq_hz: Span::Range(Range {
                min: 1e7,
                max: 1e9,
                log: true,
            }),
            temp_k: Span::Fixed(350.0),
            adc_bits,
            read_voltage: Span::Fixed(0.2),
            g_min: 3.33e-7,
            g_max: 3.33e-4,
        }
    }

    #[test]
    fn fixed_variables_take_no_dimension_and_grids_decode_what_they_encode() {
        let fixed = space(Choice::Fixed(5));
        assert_eq!(fixed.dim(), 3);
        assert_eq!(fixed.levels(), vec![3, 2, 0]);
        let d = fixed.decode(&[0.9, 0.1, 0.5]);
        assert_eq!(
            (d.cell_bits, d.xbar_size, d.temp_k, d.adc_bits),
            (4, 32, 350.0, 5)
        );
        assert!((d.freq_hz - 1e8).abs() < 1e-3, "the log range's middle");
        assert_eq!(fixed.decode(&fixed.encode(&d)), d);

        let searched = space(Choice::Grid(vec![4, 6, 8]));
        assert_eq!(searched.dim(), 4);
        assert_eq!(searched.levels(), vec![3, 2, 0, 3]);
        let d = searched.decode(&[0.0, 0.99, 1.0, 0.5]);
        assert_eq!((d.cell_bits, d.xbar_size, d.adc_bits), (1, 64, 6));
        assert_eq!(searched.encode(&d)[3], 0.5);
    }

    #[test]
    fn corners_and_products_nest_the_first_variable_slowest() {
        let s = space(Choice::Grid(vec![4, 8]));
        let corners: Vec<Design> = s.corners().collect();
        assert_eq!(corners.len(), 3 * 2 * 2 * 2);
        assert_eq!((corners[0].cell_bits, corners[0].adc_bits), (1, 4));
        assert_eq!(corners[1].adc_bits, 8, "the last variable varies fastest");
        assert_eq!(corners.last().unwrap().cell_bits, 4);
        assert!(corners
            .iter()
            .all(|d| d.temp_k == 350.0 && d.g_max == 3.33e-4));
    }

    #[test]
    fn the_config_forms_parse_and_malformed_spaces_name_the_variable() {
        let parsed: DesignSpace = serde_json::from_value(serde_json::json!({
            "cell_bits": [1, 2], "xbar_size": 64, "freq_hz": {"min": 1e7, "max": 1e9},
            "temp_k": 300.0, "adc_bits": [4, 5], "read_voltage": 0.2,
            "g_min": 1e-7, "g_max": 1e-4,
        }))
        .unwrap();
        assert_eq!(parsed.xbar_size, Choice::Fixed(64));
        assert_eq!(parsed.adc_bits, Choice::Grid(vec![4, 5]));
        assert_eq!(parsed.temp_k, Span::Fixed(300.0));
        assert_eq!(parsed.check_form(), Ok(()));
        let mut bad = parsed.clone();
        bad.adc_bits = Choice::Grid(vec![]);
        assert_eq!(
            bad.check_form().unwrap_err().to_string(),
            "adc_bits is empty"
        );
        bad = parsed;
        bad.freq_hz = Span::Range(Range {
            min: 1e9,
            max: 1e7,
            log: false,
        });
        assert!(bad
            .check_form()
            .unwrap_err()
            .to_string()
            .starts_with("freq_hz: min"));
    }
}
