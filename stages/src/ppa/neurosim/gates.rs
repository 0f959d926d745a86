//! Gate-level layout, capacitance, resistance, leakage and delay of bulk CMOS: the
//! standard-cell rules DNN+NeuroSim V1.3 uses for every peripheral circuit
//! (`formula.cpp`, `constant.h`), re-derived here.
//!
//! A gate sits in a cell of fixed height (28 F by default); a transistor wider than its
//! share of the height is folded into fingers. Lengths are in metres, capacitances in
//! farads, resistances in ohms, currents in amperes.

use super::technology::Technology;

/// Minimum NMOS width, F.
pub const MIN_NMOS: f64 = 2.0;
/// Standard-cell height, F.
pub const CELL_HEIGHT: f64 = 28.0;
/// Gap between P and N diffusions, F.
const GAP_P_N: f64 = 3.5;
/// Gate poly pitch minus the poly width, F.
const GAP_GATE_POLY: f64 = 2.8;
/// Poly extension beyond diffusion plus half the field-poly gap, F (both ends: x2).
const POLY_MARGIN: f64 = 1.0 + 1.6 / 2.0;
/// Gate poly width, F.
const POLY_WIDTH: f64 = 1.0;
/// Metal-3 pitch, F.
pub const M3_PITCH: f64 = 2.8;
/// Series resistance budget of a switch as a fraction of what it drives.
pub const IR_DROP_TOLERANCE: f64 = 0.25;
/// Linear-region resistance as a fraction of the saturation on resistance.
pub const LINEAR_REGION_RATIO: f64 = 0.2;
/// Highest height/width ratio of a sense amplifier.
pub const HEIGHT_WIDTH_RATIO_LIMIT: f64 = 5.0;

/// A logic gate with its number of inputs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gate {
    /// An inverter.
    Inv,
    /// A NAND of n inputs.
    Nand(u32),
    /// A NOR of n inputs.
    Nor(u32),
}

impl Gate {
    fn inputs(self) -> f64 {
        match self {
            Gate::Inv => 1.0,
            Gate::Nand(n) | Gate::Nor(n) => f64::from(n),
        }
    }
}

/// Transistor polarity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mos {
    /// N-channel.
    N,
    /// P-channel.
    P,
}

/// Height and width of a laid-out block, m.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Shape {
    /// Height, m.
    pub height: f64,
    /// Width, m.
    pub width: f64,
}

impl Shape {
    /// `height * width`, m^2.
    pub fn area(&self) -> f64 {
        self.height * self.width
    }
}

/// A block's layout constraint: a given height or width (the other follows from its
/// area), or none (the block's natural shape).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Fit {
    /// The block spans this height, m.
    Height(f64),
    /// The block spans this width, m.
    Width(f64),
    /// No constraint.
    Free,
}

impl Fit {
    /// The shape of `area` under this constraint (`Free`: `free`).
    pub fn shape(self, area: f64, free: Shape) -> Shape {
        match self {
            Fit::Height(h) => Shape {
                height: h,
                width: area / h,
            },
            Fit::Width(w) => Shape {
                height: area / w,
                width: w,
            },
            Fit::Free => free,
        }
    }
}

/// Largest unfolded PMOS and NMOS widths in a cell of `height` for the P share `ratio`.
fn max_widths(t: &Technology, ratio: f64, height: f64) -> (f64, f64) {
    let margins = POLY_MARGIN * 2.0 * t.f;
    if ratio == 0.0 {
        (0.0, height - margins)
    } else if ratio == 1.0 {
        (height - margins, 0.0)
    } else {
        let p = ratio * (height - GAP_P_N * t.f - margins);
        (p, p / ratio * (1.0 - ratio))
    }
}

/// Fingers of a transistor of `width` under `max`: 1 if it fits.
fn folds(width: f64, max: f64) -> f64 {
    if width <= max {
        1.0
    } else {
        (width / max).ceil()
    }
}

/// Layout height and width of a gate with the given transistor widths in a cell of
/// `height`.
pub fn gate_shape(t: &Technology, gate: Gate, wn: f64, wp: f64, height: f64) -> Shape {
    let (max_p, max_n) = max_widths(t, wp / (wp + wn), height);
    let pitch = (POLY_WIDTH + GAP_GATE_POLY) * t.f;
    let unit = |w: f64, max: f64| -> (f64, f64) {
        if w <= 0.0 {
            (0.0, 1.0)
        } else if w <= max {
            (2.0 * pitch, 1.0)
        } else {
            let k = folds(w, max);
            ((k + 1.0) * pitch, k)
        }
    };
    let (unit_p, folds_p) = unit(wp, max_p);
    let (unit_n, folds_n) = unit(wn, max_n);
    let n = gate.inputs();
    let (region_p, region_n) = match gate {
        Gate::Inv => (unit_p, unit_n),
        Gate::Nand(_) | Gate::Nor(_) if folds_p == 1.0 && folds_n == 1.0 => {
            // Neighbouring transistors share their source/drain.
            let shared = (n - 1.0) * pitch;
            (unit_p * n - shared, unit_n * n - shared)
        }
        _ => (unit_p * n, unit_n * n),
    };
    Shape {
        height,
        width: region_n.max(region_p),
    }
}

/// Gate capacitance of a transistor of `width`.
pub fn gate_cap(t: &Technology, width: f64) -> f64 {
    t.cap_gate * width
}

/// Input (one input's gates) and output (drain junctions) capacitance of a gate.
pub fn gate_caps(t: &Technology, gate: Gate, wn: f64, wp: f64, height: f64) -> (f64, f64) {
    let input = gate_cap(t, wn) + gate_cap(t, wp);
    (input, drain_caps(t, gate, wn, wp, height))
}

/// The drain capacitance of a lone NMOS or PMOS of `width` in a cell of `height`.
pub fn drain_cap(t: &Technology, width: f64, mos: Mos, height: f64) -> f64 {
    match mos {
        Mos::N => drain_caps(t, Gate::Inv, width, 0.0, height),
        Mos::P => drain_caps(t, Gate::Inv, 0.0, width, height),
    }
}

/// One transistor's drain geometry: drain and source widths, drain height, fingers.
struct Drain {
    drain: f64,
    source: f64,
    height: f64,
    folds: f64,
}

fn drain_geometry(t: &Technology, w: f64, max: f64) -> Drain {
    let gap = GAP_GATE_POLY * t.f;
    if w <= 0.0 {
        Drain {
            drain: 0.0,
            source: 0.0,
            height: 0.0,
            folds: 1.0,
        }
    } else if w <= max {
        Drain {
            drain: gap,
            source: gap,
            height: w,
            folds: 1.0,
        }
    } else {
        let k = folds(w, max);
        Drain {
            drain: ((k + 1.0) / 2.0).ceil() * gap,
            source: ((k + 1.0) / 2.0).floor() * gap,
            height: max,
            folds: k,
        }
    }
}

/// `(k + 1) % 2` for a whole number of fingers `k`.
fn odd(k: f64) -> f64 {
    (k + 1.0) % 2.0
}

fn drain_caps(t: &Technology, gate: Gate, wn: f64, wp: f64, height: f64) -> f64 {
    let (max_p, max_n) = max_widths(t, wp / (wp + wn), height);
    let p = drain_geometry(t, wp, max_p);
    let n = drain_geometry(t, wn, max_n);
    let k = gate.inputs();
    let unfolded = p.folds == 1.0 && n.folds == 1.0;
    // (bottom width, sidewall length) of the P and N drains.
    let (mut dp, mut sp, mut dn, mut sn) = (0.0, 0.0, 0.0, 0.0);
    match gate {
        Gate::Inv => {
            if wp > 0.0 {
                dp = p.drain;
                sp = dp * 2.0 + p.height * (1.0 + odd(p.folds));
            }
            if wn > 0.0 {
                dn = n.drain;
                // NeuroSim counts the NMOS sidewalls with the PMOS finger count.
                sn = dn * 2.0 + n.height * (1.0 + odd(p.folds));
            }
        }
        Gate::Nor(_) if unfolded => {
            if wp > 0.0 {
                dp = p.drain * k;
                sp = dp * 2.0 + p.height;
            }
            if wn > 0.0 {
                dn = n.drain * ((k + 1.0) / 2.0).floor();
                sn = dn * 2.0 + n.height * (1.0 - (k + 1.0) % 2.0);
            }
        }
        Gate::Nor(_) => {
            if wp > 0.0 {
                dp = p.drain * k + (k - 1.0) * p.source;
                sp = dp * 2.0
                    + p.height * (1.0 + odd(p.folds)) * k
                    + p.height * (1.0 - odd(p.folds)) * (k - 1.0);
            }
            if wn > 0.0 {
                dn = n.drain * k;
                sn = dn * 2.0 + n.height * (1.0 + odd(n.folds)) * k;
            }
        }
        Gate::Nand(_) if unfolded => {
            if wp > 0.0 {
                dp = p.drain * ((k + 1.0) / 2.0).floor();
                sp = dp * 2.0 + p.height * (1.0 - (k + 1.0) % 2.0);
            }
            if wn > 0.0 {
                dn = n.drain * k;
                sn = dn * 2.0 + n.height;
            }
        }
        Gate::Nand(_) => {
            if wp > 0.0 {
                dp = p.drain * k;
                sp = dp * 2.0 + p.height * (1.0 + odd(p.folds)) * k;
            }
            if wn > 0.0 {
                dn = n.drain * k + (k - 1.0) * n.source;
                sn = dn * 2.0
                    + n.height * (1.0 + odd(n.folds)) * k
                    + n.height * (1.0 - odd(n.folds)) * (k - 1.0);
            }
        }
    }
    (dn * n.height + dp * p.height) * t.cap_junction
        + (sn + sp) * t.cap_sidewall
        + (n.folds * n.height + p.folds * p.height) * t.cap_drain_to_channel
}

/// Subthreshold leakage current of a gate at the technology's temperature, A: half the
/// off current of both networks for an inverter, the off stack of a NOR (NMOS) or
/// NAND (PMOS) times the average fraction of input states that leak.
pub fn gate_leakage(t: &Technology, gate: Gate, wn: f64, wp: f64) -> f64 {
    match gate {
        Gate::Inv => (wn * t.off_n + wp * t.off_p) / 2.0,
        Gate::Nor(k) => wn * t.off_n * f64::from(k) * if k == 2 { 0.95 } else { 0.62 },
        Gate::Nand(k) => wp * t.off_p * f64::from(k) * if k == 2 { 0.48 } else { 0.31 },
    }
}

/// Effective on resistance of a transistor of `width`, ohm.
pub fn on_resistance(t: &Technology, width: f64, mos: Mos) -> f64 {
    let current = match mos {
        Mos::N => t.on_n,
        Mos::P => t.on_p,
    };
    t.resistance_multiplier * t.vdd / (current * width)
}

/// Horowitz's delay of an RC stage with time constant `tr` driven by a ramp of slope
/// `ramp_in` (V/s, normalised), with a 0.5 switching point and CACTI's beta of 0.5.
/// Returns the delay and the output ramp.
pub fn horowitz(tr: f64, ramp_in: f64) -> (f64, f64) {
    let alpha = 1.0 / ramp_in / tr;
    let vs: f64 = 0.5;
    let delay = tr * (vs.ln() * vs.ln() + 2.0 * alpha * 0.5 * (1.0 - vs)).sqrt();
    (delay, (1.0 - vs) / delay)
}

/// Layout of a transmission gate whose width is folded `fingers` times (the cell height
/// grows with the width).
pub fn pass_gate_shape(t: &Technology, wn: f64, wp: f64, fingers: f64) -> Shape {
    Shape {
        width: (fingers + 1.0) * (POLY_WIDTH + GAP_GATE_POLY) * t.f,
        height: wp / fingers + wn / fingers + GAP_P_N * t.f + POLY_MARGIN * 2.0 * t.f,
    }
}

/// Widens minimum-size transistors to the largest unfolded width of a cell of `height`
/// (layout area is the same), as NeuroSim does for most logic.
pub fn enlarge(t: &Technology, wn: f64, wp: f64, height: f64) -> (f64, f64) {
    let ratio = wp / (wp + wn);
    let (max_p, max_n) = max_widths(t, ratio, height);
    if ratio == 0.0 && wn < max_n {
        (max_n, wp)
    } else if ratio == 1.0 && wp < max_p {
        (wn, max_p)
    } else if wp > 0.0 && wp < max_p && wn > 0.0 && wn < max_n {
        (max_n, max_p)
    } else {
        (wn, wp)
    }
}

/// Minimum-size NMOS and matching PMOS widths.
pub fn min_widths(t: &Technology) -> (f64, f64) {
    (MIN_NMOS * t.f, t.pn_ratio * MIN_NMOS * t.f)
}

/// Minimum sizes enlarged to the standard cell.
pub fn min_widths_enlarged(t: &Technology) -> (f64, f64) {
    let (n, p) = min_widths(t);
    enlarge(t, n, p, CELL_HEIGHT * t.f)
}

/// The standard cell height, m.
pub fn cell_height(t: &Technology) -> f64 {
    CELL_HEIGHT * t.f
}

#[cfg(test)]
mod tests {
    use super::super::technology::Roadmap;
    use super::*;

    fn tech() -> Technology {
        Technology::new(32, Roadmap::Lstp, 300.0).unwrap()
    }

    #[test]
    fn an_unfolded_inverter_is_two_poly_pitches_wide() {
        let t = tech();
        let (n, p) = min_widths(&t);
        let s = gate_shape(&t, Gate::Inv, n, p, cell_height(&t));
        assert!((s.width - 2.0 * 3.8 * t.f).abs() < 1e-15);
        assert!((s.height - 28.0 * t.f).abs() < 1e-15);
        // Two-input gates share one diffusion: 2 * 7.6 F - 3.8 F.
        let s = gate_shape(&t, Gate::Nand(2), 2.0 * n, p, cell_height(&t));
        assert!((s.width - 11.4 * t.f).abs() < 1e-15);
    }

    #[test]
    fn a_wide_transistor_folds() {
        let t = tech();
        let h = cell_height(&t);
        // No PMOS: the NMOS may be 28 - 3.6 = 24.4 F wide before folding.
        let s = gate_shape(&t, Gate::Inv, 50.0 * t.f, 0.0, h);
        assert!(
            (s.width - 4.0 * 3.8 * t.f).abs() < 1e-15,
            "3 fingers: 4 pitches"
        );
    }

    #[test]
    fn enlarged_minimum_inverter_fills_the_cell() {
        let t = tech();
        let (n, p) = min_widths_enlarged(&t);
        let ratio = p / (n + p);
        let avail = (28.0 - 3.5 - 3.6) * t.f;
        assert!((p - ratio * avail).abs() < 1e-15 && (n + p - avail).abs() < 1e-15);
    }

    #[test]
    fn horowitz_with_a_step_input_is_ln2_tau() {
        let (d, _) = horowitz(1e-12, 1e20);
        assert!((d - 1e-12 * std::f64::consts::LN_2).abs() < 1e-18);
    }

    #[test]
    fn on_resistance_and_leakage_follow_the_tables() {
        let t = tech();
        // 1.77 * 0.9 V / (600.2 A/m * 32 nm).
        let r = on_resistance(&t, t.f, Mos::N);
        assert!((r - 1.77 * 0.9 / (600.2 * 32e-9)).abs() / r < 1e-12);
        let l = gate_leakage(&t, Gate::Nand(2), 0.0, 1e-6);
        assert!((l - 1e-6 * 100.1e-6 * 2.0 * 0.48).abs() < 1e-20);
    }
}
