//! The analog periphery of a 1T1R subarray read in parallel: level shifters for the
//! write voltage, the word-line and source-line switch matrices, the column mux and its
//! decoder, and the current-mode multilevel sense amplifier (the ADC) with its encoder,
//! after DNN+NeuroSim V1.3 (`LevelShifter.cpp`, `NewSwitchMatrix.cpp`, `SwitchMatrix.cpp`,
//! `Mux.cpp`, `MultilevelSenseAmp.cpp`, `CurrentSenseAmp.cpp`, `MultilevelSAEncoder.cpp`).

use super::super::gates::{
    cell_height, enlarge, gate_cap, gate_caps, gate_leakage, gate_shape, horowitz, min_widths,
    min_widths_enlarged, on_resistance, pass_gate_shape, Fit, Gate, Mos, Shape, IR_DROP_TOLERANCE,
    LINEAR_REGION_RATIO,
};
use super::super::technology::{Roadmap, Technology};
use super::logic::Dff;
use super::Calibration;

/// `count` level shifters raising control signals to the write voltage (IO devices,
/// 2.5x longer and twice as wide; NeuroSim's calibrated layout, `alpha` for wiring).
/// Only their area matters for inference.
pub fn level_shifter_shape(t: &Technology, count: usize, fit: Fit, cal: &Calibration) -> Shape {
    let (wn, wp) = min_widths(t);
    let h = cell_height(t) * 2.5;
    let low = gate_shape(t, Gate::Inv, wn * 15.0 * 2.0, wp * 20.0 * 2.0, h);
    let latch = gate_shape(t, Gate::Inv, wn * 32.0 * 2.0, wp * 10.0 * 2.0, h);
    let high = gate_shape(t, Gate::Inv, wn * 64.0 * 2.0, wp * 82.0 * 2.0, h);
    let height = low.height.max(latch.height).max(high.height);
    let width = low.width + (2.0 * latch.width + high.width) * 2.5;
    let area = height * width * count as f64 * cal.level_shifter_wiring;
    fit.shape(area, Shape { height, width })
}

/// The word-line switch matrix of a 1T1R array read in parallel: per row, transmission
/// gates that pass the access voltage to the gates and the read voltage to the row, and
/// a flip-flop that holds the row's input bit.
#[derive(Debug, Clone)]
pub struct RowSwitch {
    rows: f64,
    res_tg: f64,
    cap_gate: f64,
    cap_drain: f64,
    dff: Dff,
    /// Laid-out shape.
    pub shape: Shape,
}

impl RowSwitch {
    /// `rows` switches stacked beside an array of `height`.
    pub fn new(t: &Technology, rows: usize, height: f64) -> Self {
        let (wn, wp) = min_widths_enlarged(t);
        let min_cell = cell_height(t);
        let n = rows as f64;
        let per_col = (height / min_cell).floor();
        let cols = (n / per_col).ceil();
        let per_col = (n / cols).ceil();
        let tg_height = height / per_col;
        let tg = gate_shape(t, Gate::Inv, wn, wp, tg_height);
        let dff = Dff::new(t, rows, Fit::Height(height));
        let (_, cap_drain) = gate_caps(t, Gate::Inv, wn, wp, tg.height);
        RowSwitch {
            rows: n,
            res_tg: on_resistance(t, wn, Mos::N) * LINEAR_REGION_RATIO,
            cap_gate: gate_cap(t, wn) + gate_cap(t, wp),
            cap_drain,
            shape: Shape {
                height,
                width: tg.width * 4.0 * cols + dff.shape.width,
            },
            dff,
        }
    }

    /// Delay of driving a row of capacitance `cap_row` and resistance `res_row`, s.
    pub fn delay(&self, cap_row: f64, res_row: f64) -> f64 {
        let tr = self.res_tg * (self.cap_drain * 5.0 + cap_row) + res_row * cap_row / 2.0;
        horowitz(tr, 1e20).0
    }

    /// Energy of `reads` read phases with a fraction `activity` of the rows driven.
    pub fn energy(
        &self,
        t: &Technology,
        reads: f64,
        activity: f64,
        v_access: f64,
        v_read: f64,
    ) -> f64 {
        let per_row = self.cap_drain * 2.0 * v_access * v_access
            + self.cap_drain * 5.0 * v_read * v_read
            + self.cap_gate * 3.0 * t.vdd * t.vdd;
        per_row * self.rows * activity * reads + self.dff.energy(t, reads, self.rows, None)
    }

    /// Leakage power (the flip-flops'), W.
    pub fn leakage(&self, t: &Technology) -> f64 {
        self.dff.leakage(t)
    }
}

/// The source-line switch matrix (write path): transmission gate pairs along the
/// columns, sized for the cell current, and their flip-flops. Draws no read energy.
#[derive(Debug, Clone)]
pub struct ColumnSwitch {
    dff: Dff,
    /// Laid-out shape.
    pub shape: Shape,
}

impl ColumnSwitch {
    /// `cols` switches along an array of `width`, each passing the current of a cell of
    /// average resistance `res_cell`.
    pub fn new(t: &Technology, cols: usize, res_cell: f64, width: f64) -> Self {
        let res_tg = res_cell * IR_DROP_TOLERANCE;
        let wn = on_resistance(t, t.f, Mos::N) * t.f * LINEAR_REGION_RATIO / (res_tg * 2.0);
        let wp = on_resistance(t, t.f, Mos::P) * t.f * LINEAR_REGION_RATIO / (res_tg * 2.0);
        let (wn, wp) = enlarge(t, wn, wp, cell_height(t));
        let n = cols as f64;
        let min_cell_width = 2.0 * (1.0 + 2.8) * t.f;
        let per_row = (width / (min_cell_width * 2.0)).floor();
        let rows = (n / per_row).ceil();
        let per_row = (n / rows).ceil();
        let tg_width = width / per_row / 2.0;
        let fingers = (tg_width / (0.5 * min_cell_width)).floor() - 1.0;
        let tg = pass_gate_shape(t, wn, wp, fingers);
        let dff = Dff::new(t, cols, Fit::Width(width));
        ColumnSwitch {
            shape: Shape {
                height: tg.height * rows + dff.shape.height,
                width,
            },
            dff,
        }
    }

    /// Leakage power (the flip-flops'), W.
    pub fn leakage(&self, t: &Technology) -> f64 {
        self.dff.leakage(t)
    }
}

/// The column mux: `inputs` outputs, each selecting one of `select` columns.
#[derive(Debug, Clone)]
pub struct Mux {
    inputs: f64,
    res_tg: f64,
    cap_gate_n: f64,
    cap_gate_p: f64,
    cap_drain: f64,
    /// Laid-out shape.
    pub shape: Shape,
}

impl Mux {
    /// An analog mux whose pass gates carry the current of a column of resistance
    /// `res_column`, first laid out across `width`, then stretched to `height` (the
    /// taller of it and its decoder, as NeuroSim's subarray does).
    pub fn analog(t: &Technology, inputs: usize, select: usize, res_column: f64) -> MuxWidths {
        let res_tg = res_column * IR_DROP_TOLERANCE;
        let wn = on_resistance(t, t.f, Mos::N) * t.f * LINEAR_REGION_RATIO / (res_tg * 2.0);
        let wp = on_resistance(t, t.f, Mos::P) * t.f * LINEAR_REGION_RATIO / (res_tg * 2.0);
        let (wn, wp) = enlarge(t, wn, wp, cell_height(t));
        MuxWidths {
            inputs,
            select,
            wn,
            wp,
        }
    }
}

/// A mux's transistor sizes, before layout.
#[derive(Debug, Clone, Copy)]
pub struct MuxWidths {
    inputs: usize,
    select: usize,
    wn: f64,
    wp: f64,
}

impl MuxWidths {
    /// Height of the mux laid out across `width`.
    pub fn height_across(&self, t: &Technology, width: f64) -> f64 {
        let n = (self.inputs * self.select) as f64;
        let min_cell_width = 2.0 * (1.0 + 2.8) * t.f;
        let per_row = (width / min_cell_width).floor();
        let rows = (n / per_row).ceil();
        let per_row = (n / rows).ceil();
        let fingers = (width / per_row / (0.5 * min_cell_width)).floor() - 1.0;
        pass_gate_shape(t, self.wn, self.wp, fingers).height * rows
    }

    /// The mux stretched over `height` x `width`; its gates are unfolded pass gates.
    pub fn laid_out(&self, t: &Technology, height: f64, width: f64) -> Mux {
        let tg = pass_gate_shape(t, self.wn, self.wp, 1.0);
        let (_, cap_drain) = gate_caps(t, Gate::Inv, self.wn, self.wp, tg.height);
        // NeuroSim's linear-region conductance: (1 / R_on) / 0.2 per transistor.
        let r = |w: f64, m: Mos| on_resistance(t, w, m) * LINEAR_REGION_RATIO;
        Mux {
            inputs: self.inputs as f64,
            res_tg: 1.0 / (1.0 / r(self.wn, Mos::N) + 1.0 / r(self.wp, Mos::P)),
            cap_gate_n: gate_cap(t, self.wn),
            cap_gate_p: gate_cap(t, self.wp),
            cap_drain,
            shape: Shape { height, width },
        }
    }
}

impl Mux {
    /// Delay of one selection (a 0-90 % swing through one transistor of the gate), s.
    pub fn delay(&self) -> f64 {
        let tr =
            self.res_tg * 2.0 * (self.cap_drain + 0.5 * self.cap_gate_n + 0.5 * self.cap_gate_p);
        2.3 * tr
    }

    /// Gate capacitance one decoder output drives: (NMOS, PMOS) gates of every output.
    pub fn decoder_load(&self) -> (f64, f64) {
        (self.cap_gate_n * self.inputs, self.cap_gate_p * self.inputs)
    }

    /// Energy of `reads` selections.
    pub fn energy(&self, t: &Technology, reads: f64, v_read: f64) -> f64 {
        (self.cap_gate_n * self.inputs * t.vdd * t.vdd
            + self.cap_drain * 2.0 * self.inputs * v_read * v_read)
            * reads
    }
}

/// NeuroSim's fit of a column's sensing time in the current mode (low-power devices,
/// 32 nm and above): `T_max(R) * poly(R_ref / R)`, maximised over the references.
#[derive(Debug, Clone)]
struct LatencyFit {
    log: (f64, f64),
    low: [f64; 4],
    high: [f64; 5],
    refs: Vec<f64>,
}

impl LatencyFit {
    fn new(node_nm: u32, levels: usize, r_on: f64, r_off: f64, rows: usize) -> Option<Self> {
        #[rustfmt::skip]
        let (log, low, high): ((f64, f64), [f64; 4], [f64; 5]) = match node_nm {
            130 => ((0.2679, 0.0478), [3.915, -5.3996, 2.4653, 0.3856], [0.0004, -0.0087, 0.0742, -0.2725, 1.2211]),
            90 => ((0.0586, 1.41), [3.726, -5.651, 2.8249, 0.3574], [0.0000008, -0.00007, 0.0017, -0.0188, 0.9835]),
            65 => ((0.1239, 0.6642), [1.3899, -2.6913, 2.0483, 0.3202], [0.0036, -0.0363, 0.1043, -0.0346, 1.0512]),
            45 | 32 => ((0.0714, 0.7651), [3.7949, -5.6685, 2.6492, 0.4807], [0.000001, -0.00006, 0.0001, -0.0171, 1.0057]),
            _ => return None,
        };
        // The references between R_on / rows and R_off / rows; NeuroSim skips the first.
        let (start, step) = (r_on / rows as f64, r_off / rows as f64 / levels as f64);
        let refs = (1..levels.saturating_sub(1))
            .map(|i| start + (i + 1) as f64 * step)
            .collect();
        Some(LatencyFit {
            log,
            low,
            high,
            refs,
        })
    }

    /// Sensing time of a column of resistance `r` (at 0.5 V), s.
    fn time(&self, r: f64) -> f64 {
        let t_max = (self.log.0 * (r / 1000.0).ln() + self.log.1) * 1e-9;
        let mut worst: f64 = 0.0;
        for &rref in &self.refs {
            let x = rref / r;
            let y = if x >= 20.0 || x <= 0.05 {
                1e-9
            } else if x <= 0.9 {
                let c = self.low;
                t_max * (((c[0] * x + c[1]) * x + c[2]) * x + c[3])
            } else {
                let c = self.high;
                t_max * ((((c[0] * x + c[1]) * x + c[2]) * x + c[3]) * x + c[4])
            };
            worst = worst.max(y);
        }
        worst
    }
}

/// NeuroSim's fit of a column's sensing power, `a (levels - 1) + b exp(-k log10 R)`,
/// by node, device roadmap and sensing mode: (a [W], b [W*ohm^k], k).
fn power_fit(node_nm: u32, roadmap: Roadmap, current_mode: bool) -> (f64, f64, f64) {
    use Roadmap::{Hp, Lstp};
    let (a, b, k) = match (current_mode, roadmap, node_nm) {
        (true, Hp, 130) => (19.898, 0.17452, 2.367),
        (true, Hp, 90) => (13.09, 0.14900, 2.345),
        (true, Hp, 65) => (9.9579, 0.1083, 2.321),
        (true, Hp, 45) => (7.7017, 0.0754, 2.296),
        (true, Hp, 32) => (3.9648, 0.079, 2.313),
        (true, Hp, _) => (1.8939, 0.073, 2.311),
        (true, Lstp, 130) => (18.09, 0.1380, 2.303),
        (true, Lstp, 90) => (12.612, 0.1023, 2.303),
        (true, Lstp, 65) => (8.4147, 0.0972, 2.303),
        (true, Lstp, 45) => (6.3162, 0.075, 2.303),
        (true, Lstp, 32) => (3.0875, 0.0649, 2.297),
        (true, Lstp, _) => (1.7, 0.0631, 2.303),
        (false, Hp, 130) => (27.84, 0.207452, 2.367),
        (false, Hp, 90) => (22.2, 0.164900, 2.345),
        (false, Hp, 65) => (13.058, 0.128483, 2.321),
        (false, Hp, 45) => (8.162, 0.097754, 2.296),
        (false, Hp, 32) => (4.76, 0.083709, 2.313),
        (false, Hp, _) => (2.373, 0.084273, 2.311),
        (false, Lstp, 130) => (23.4, 0.169380, 2.303),
        (false, Lstp, 90) => (14.42, 0.144323, 2.303),
        (false, Lstp, 65) => (10.18, 0.121272, 2.303),
        (false, Lstp, 45) => (7.062, 0.100225, 2.303),
        (false, Lstp, 32) => (3.692, 0.079449, 2.297),
        (false, Lstp, _) => (1.866, 0.072341, 2.303),
    };
    (a * 1e-6, b, k)
}

/// The multilevel sense amplifier (NeuroSim's default ADC): `levels - 1` current sense
/// amplifiers against reference currents per column, `units` of them (one per mux
/// output). Its column power and sensing time are NeuroSim's fits to SPICE
/// simulations at a 0.5 V read, scaled to other read voltages through the column
/// resistance.
#[derive(Debug, Clone)]
pub struct SenseAmp {
    current_mode: bool,
    /// Laid-out shape.
    pub shape: Shape,
    /// `a (levels - 1)`, W.
    static_power: f64,
    /// `b`, W * ohm^k.
    coefficient: f64,
    /// `k`.
    exponent: f64,
    /// `1 + 1.3e-3 (T - 300 K)`.
    temp_factor: f64,
    /// `0.5 V / V_read`: the column resistance the fits see.
    v_scale: f64,
    /// Low-power devices at 32 nm and above, current mode: the column time fit.
    fit: Option<LatencyFit>,
}

/// Inputs of the sense amplifier fixed by the device and the subarray.
#[derive(Debug, Clone, Copy)]
pub struct SenseSetup {
    /// Output levels (2^ADC bits).
    pub levels: usize,
    /// Sense amplifiers (mux outputs) in the subarray.
    pub units: usize,
    /// Current-mode (NeuroSim's default) or voltage-mode sensing.
    pub current_mode: bool,
    /// Device on and off resistance, ohm.
    pub r_on: f64,
    /// See `r_on`.
    pub r_off: f64,
    /// Subarray rows.
    pub rows: usize,
    /// Device roadmap.
    pub roadmap: Roadmap,
    /// Read voltage, V.
    pub v_read: f64,
    /// Temperature, K.
    pub temp_k: f64,
}

/// Shortest and longest sensing window of a column, s (NeuroSim's clamp).
pub const SENSE_WINDOW: (f64, f64) = (1e-9, 10e-9);

impl SenseAmp {
    /// The sense amplifiers laid out across `width`.
    pub fn new(t: &Technology, s: &SenseSetup, width: f64) -> Self {
        let (wn, wp) = min_widths(t);
        let h = cell_height(t);
        let n = gate_shape(t, Gate::Inv, wn, 0.0, h).area();
        let p = gate_shape(t, Gate::Inv, 0.0, wp, h).area();
        let comparators = (s.levels - 1) as f64 * s.units as f64;
        let area = if s.current_mode {
            // The current sense amplifiers, then the reference mirrors.
            (n * 48.0 + p * 40.0) * comparators + (n * 9.0 + p * 9.0) * comparators
        } else {
            (n * 52.0 + p * 60.0) * comparators
        };
        let fit = if s.current_mode && s.roadmap == Roadmap::Lstp {
            LatencyFit::new(t.node_nm, s.levels, s.r_on, s.r_off, s.rows)
        } else {
            None
        };
        let (a, b, k) = power_fit(t.node_nm, s.roadmap, s.current_mode);
        SenseAmp {
            current_mode: s.current_mode,
            shape: Shape {
                height: area / width,
                width,
            },
            static_power: a * (s.levels - 1) as f64,
            coefficient: b,
            exponent: k,
            temp_factor: 1.0 + 1.3e-3 * (s.temp_k - 300.0),
            v_scale: 0.5 / s.v_read,
            fit,
        }
    }

    /// Power drawn while sensing a column of resistance `r` (infinite: no row
    /// conducts), W.
    pub fn column_power(&self, r: f64) -> f64 {
        let r = r * self.v_scale;
        let p = if r.is_infinite() {
            1e-6
        } else {
            self.static_power + self.coefficient * (-self.exponent * r.log10()).exp()
        };
        p * self.temp_factor
    }

    /// Sensing time of a column of resistance `r` before the window's clamp, s (0 for a
    /// column without current).
    pub fn column_time(&self, r: f64) -> f64 {
        if r.is_infinite() {
            return 0.0;
        }
        match (&self.fit, self.current_mode) {
            (Some(fit), true) => fit.time(r * self.v_scale),
            _ => 1e-9,
        }
    }

    /// The sensing window of a read in which the slowest column takes `slowest`, s.
    pub fn window(&self, slowest: f64) -> f64 {
        if self.current_mode {
            slowest.clamp(SENSE_WINDOW.0, SENSE_WINDOW.1)
        } else {
            1e-9
        }
    }

    /// The slowest column time over column resistances in `[r_low, r_high]`: the
    /// sensing time a synchronous clock must allow, s. The fit peaks where a reference
    /// sits at 0.9 of the column's resistance; those points and a coarse scan cover it.
    pub fn slowest_in(&self, r_low: f64, r_high: f64) -> f64 {
        let Some(fit) = &self.fit else {
            return 1e-9;
        };
        let steps = 32;
        let ratio = (r_high / r_low).max(1.0);
        let scan = (0..=steps).map(|i| r_low * ratio.powf(i as f64 / steps as f64));
        let peaks = fit
            .refs
            .iter()
            .map(|r| r / 0.9 / self.v_scale)
            .filter(|r| (r_low..=r_high).contains(r));
        scan.chain(peaks)
            .map(|r| self.column_time(r))
            .fold(0.0, f64::max)
    }
}

/// The thermometer-to-binary encoder after each sense amplifier.
#[derive(Debug, Clone)]
pub struct Encoder {
    levels: f64,
    gates: f64,
    units: f64,
    /// Laid-out shape.
    pub shape: Shape,
    inv_w: (f64, f64),
    nand_w: (f64, f64),
    wide_inputs: u32,
    inv: (f64, f64),
    nand: (f64, f64),
    wide: (f64, f64),
}

impl Encoder {
    /// `units` encoders of `levels` levels laid out across `width`.
    pub fn new(t: &Technology, levels: usize, units: usize, width: f64) -> Self {
        let (mn, mp) = min_widths(t);
        let h = cell_height(t);
        let inv_w = enlarge(t, mn, mp, h);
        let nand_w = enlarge(t, 2.0 * mn, mp, h);
        let wide_inputs = (levels / 2) as u32;
        let s_nand = gate_shape(t, Gate::Nand(2), nand_w.0, nand_w.1, h);
        let s_inv = gate_shape(t, Gate::Inv, inv_w.0, inv_w.1, h);
        let s_wide = gate_shape(t, Gate::Nand(wide_inputs), nand_w.0, nand_w.1, h);
        let w_enc = 2.0 * s_inv.width + s_nand.width + s_wide.width;
        let h_enc = ((levels - 1) as f64 * s_inv.height).max((levels - 1) as f64 * s_nand.height);
        let n = units as f64;
        let per_row = (width / w_enc).ceil().min(n);
        let rows = (n / per_row).ceil();
        Encoder {
            levels: levels as f64,
            gates: (levels as f64).log2().ceil(),
            units: n,
            shape: Shape {
                height: h_enc * rows,
                width: width.max(w_enc),
            },
            inv_w,
            nand_w,
            wide_inputs,
            inv: gate_caps(t, Gate::Inv, inv_w.0, inv_w.1, s_inv.height),
            nand: gate_caps(t, Gate::Nand(2), nand_w.0, nand_w.1, s_nand.height),
            wide: gate_caps(
                t,
                Gate::Nand(wide_inputs),
                nand_w.0,
                nand_w.1,
                s_wide.height,
            ),
        }
    }

    /// Delay of one encoding, s (NeuroSim counts its first two stages).
    pub fn delay(&self, t: &Technology) -> f64 {
        let r_down = on_resistance(t, self.inv_w.0, Mos::N) * 2.0;
        let (d1, ramp) = horowitz(r_down * (self.inv.1 + self.nand.0 * 2.0), 1e20);
        let r_up = on_resistance(t, self.nand_w.1, Mos::P);
        let (d2, _) = horowitz(
            r_up * (self.nand.1 + self.wide.0 * f64::from(self.wide_inputs)),
            ramp,
        );
        d1 + d2
    }

    /// Energy of `reads` encodings by every encoder (control activity `epsilon`).
    pub fn energy(&self, t: &Technology, reads: f64, cal: &Calibration) -> f64 {
        let gates = self.levels + self.gates;
        ((self.inv.0 + self.inv.1) * gates
            + (self.nand.0 + self.nand.1) * gates
            + (self.wide.0 + self.wide.1) * self.gates)
            * self.units
            * t.vdd
            * t.vdd
            * reads
            * cal.control_activity
    }

    /// Leakage power, W.
    pub fn leakage(&self, t: &Technology) -> f64 {
        let gates = self.levels + self.gates;
        (gate_leakage(t, Gate::Inv, self.inv_w.0, self.inv_w.1) * gates
            + gate_leakage(t, Gate::Nand(2), self.nand_w.0, self.nand_w.1) * gates
            + gate_leakage(
                t,
                Gate::Nand(self.wide_inputs),
                self.nand_w.0,
                self.nand_w.1,
            ) * self.gates)
            * self.units
            * t.vdd
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn setup(rows: usize, levels: usize) -> SenseSetup {
        SenseSetup {
            levels,
            units: 16,
            current_mode: true,
            r_on: 6e3,
            r_off: 9e5,
            rows,
            roadmap: Roadmap::Lstp,
            v_read: 0.5,
            temp_k: 300.0,
        }
    }

    #[test]
    fn column_power_is_nearly_linear_in_conductance() {
        let t = Technology::new(22, Roadmap::Lstp, 300.0).unwrap();
        let sa = SenseAmp::new(&t, &setup(128, 32), 1e-4);
        let base = 1.7e-6 * 31.0;
        let p1 = sa.column_power(2e3) - base;
        let p2 = sa.column_power(4e3) - base;
        assert!((p1 / p2 - 2.0).abs() < 1e-3, "{p1} {p2}");
        assert!((sa.column_power(f64::INFINITY) - 1e-6).abs() < 1e-18);
    }

    #[test]
    fn the_32nm_fit_exceeds_a_nanosecond_only_for_short_columns() {
        let t = Technology::new(32, Roadmap::Lstp, 300.0).unwrap();
        let long = SenseAmp::new(&t, &setup(128, 32), 1e-4);
        assert!(long.slowest_in(10.0, 1e8) <= 1e-9 + 1e-18);
        let short = SenseAmp::new(&t, &setup(32, 32), 1e-4);
        let slowest = short.slowest_in(10.0, 1e8);
        assert!((1.04e-9..1.05e-9).contains(&slowest), "{slowest}");
        let t22 = Technology::new(22, Roadmap::Lstp, 300.0).unwrap();
        let sa22 = SenseAmp::new(&t22, &setup(32, 32), 1e-4);
        assert_eq!(sa22.column_time(3e4), 1e-9);
    }
}
