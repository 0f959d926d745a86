//! Digital blocks: D flip-flops, ripple-carry adders, adder trees, shift-and-add units,
//! the bit shifter (ReLU), row decoders and max pooling, after DNN+NeuroSim V1.3
//! (`DFF.cpp`, `Adder.cpp`, `AdderTree.cpp`, `ShiftAdd.cpp`, `BitShifter.cpp`,
//! `RowDecoder.cpp`, `Comparator.cpp`, `MaxPooling.cpp`).
//!
//! Energies are in joules per the stated number of operations, leakage in watts,
//! latencies in clock cycles (the synchronous chip counts every block in cycles of the
//! clock it was designed for, `count_hz`).

use super::super::gates::{
    cell_height, enlarge, gate_caps, gate_leakage, gate_shape, horowitz, min_widths,
    min_widths_enlarged, on_resistance, Fit, Gate, Mos, Shape, M3_PITCH,
};
use super::super::technology::Technology;
use super::Calibration;

/// `numDff` D flip-flops (master-slave, 12 minimum inverters wide each).
#[derive(Debug, Clone)]
pub struct Dff {
    count: f64,
    /// Laid-out shape.
    pub shape: Shape,
    /// One flip-flop's height, m.
    pub h_dff: f64,
    inv: (f64, f64),
    tg_gate: (f64, f64),
    tg_drain: f64,
    leak_inv: f64,
}

impl Dff {
    /// `count` flip-flops laid out under `fit`.
    pub fn new(t: &Technology, count: usize, fit: Fit) -> Self {
        let (tg_n, tg_p) = min_widths_enlarged(t);
        let (inv_n, inv_p) = min_widths_enlarged(t);
        let (mn, mp) = min_widths(t);
        let cell = gate_shape(t, Gate::Inv, mn, mp, cell_height(t));
        let (h_dff, w_dff) = (cell.height, cell.width * 12.0);
        let n = count as f64;
        let shape = match fit {
            Fit::Height(h) => {
                let per_col = ((h / h_dff).floor()).clamp(1.0, n.max(1.0));
                Shape {
                    height: h,
                    width: w_dff * (n / per_col).ceil(),
                }
            }
            Fit::Width(w) => {
                let per_row = ((w / w_dff).floor()).clamp(1.0, n.max(1.0));
                Shape {
                    height: h_dff * (n / per_row).ceil(),
                    width: w,
                }
            }
            Fit::Free => Shape {
                height: h_dff,
                width: w_dff * n,
            },
        };
        let inv = gate_caps(t, Gate::Inv, inv_n, inv_p, h_dff);
        let (_, tg_drain) = gate_caps(t, Gate::Inv, tg_n, tg_p, h_dff);
        Dff {
            count: n,
            shape,
            h_dff,
            inv,
            tg_gate: (
                super::super::gates::gate_cap(t, tg_n),
                super::super::gates::gate_cap(t, tg_p),
            ),
            tg_drain,
            leak_inv: gate_leakage(t, Gate::Inv, inv_n, inv_p),
        }
    }

    /// Energy of `reads` clocked operations in which `active` flip-flops switch; with
    /// `activity`, times NeuroSim's calibrated switching activity of shift-add and
    /// accumulator flip-flops (`gamma`).
    pub fn energy(&self, t: &Technology, reads: f64, active: f64, activity: Option<f64>) -> f64 {
        let (cin, cout) = self.inv;
        let m = active.min(self.count);
        let per = (cin + cout) * 4.0 * self.count
            + (self.tg_gate.0 + self.tg_gate.1) * 2.0 * self.count
            + (self.tg_drain * 3.0 + cin) * m
            + (self.tg_drain + cout) * m
            + (cin + cout) * m;
        per * t.vdd * t.vdd * reads * activity.unwrap_or(1.0)
    }

    /// Leakage power, W.
    pub fn leakage(&self, t: &Technology) -> f64 {
        self.leak_inv * t.vdd * 8.0 * self.count
    }
}

/// The NAND2 cell adders are built of (nine per bit).
#[derive(Debug, Clone, Copy)]
struct NandCell {
    wn: f64,
    wp: f64,
    shape: Shape,
    cin: f64,
    cout: f64,
    leak: f64,
}

impl NandCell {
    fn new(t: &Technology) -> Self {
        let (n, p) = min_widths(t);
        let (wn, wp) = enlarge(t, 2.0 * n, p, cell_height(t));
        let shape = gate_shape(t, Gate::Nand(2), wn, wp, cell_height(t));
        let (cin, cout) = gate_caps(t, Gate::Nand(2), wn, wp, shape.height);
        NandCell {
            wn,
            wp,
            shape,
            cin,
            cout,
            leak: gate_leakage(t, Gate::Nand(2), wn, wp),
        }
    }
}

/// `count` ripple-carry adders of `bits` bits.
#[derive(Debug, Clone)]
pub struct Adder {
    bits: f64,
    count: f64,
    nand: NandCell,
    /// Laid-out shape (zero when the constraint cannot hold one adder, as NeuroSim).
    pub shape: Shape,
}

impl Adder {
    /// Adders laid out under `fit`.
    pub fn new(t: &Technology, bits: usize, count: usize, fit: Fit) -> Self {
        let nand = NandCell::new(t);
        let (b, c) = (bits as f64, count as f64);
        let (hn, wn) = (nand.shape.height, nand.shape.width);
        let shape = match fit {
            Fit::Height(h) if hn <= h => Shape {
                height: h,
                width: wn * 9.0 * b * hn * c / h,
            },
            Fit::Width(w) if wn * 9.0 <= w => Shape {
                height: wn * 9.0 * hn * b * c / w,
                width: w,
            },
            Fit::Free => Shape {
                height: hn,
                width: wn * 9.0 * b * c,
            },
            _ => Shape::default(),
        };
        Adder {
            bits: b,
            count: c,
            nand,
            shape,
        }
    }

    /// Cycles of one addition driving `cap_load`, counted at `count_hz`.
    pub fn cycles(&self, t: &Technology, cap_load: f64, count_hz: f64) -> f64 {
        let (cin, cout) = (self.nand.cin, self.nand.cout);
        let down = on_resistance(t, self.nand.wn, Mos::N) * 2.0;
        let up = on_resistance(t, self.nand.wp, Mos::P);
        let stages_in = [down * (cout + cin * 3.0), up * (cout + cin * 2.0)];
        let carry = [down * (cout + cin * 3.0), up * (cout + cin * 2.0)];
        let stages_out = [
            down * (cout + cin * 3.0),
            up * (cout + cin),
            down * (cout + cap_load),
        ];
        let mut ramp = 1e20;
        let mut delay = 0.0;
        let step = |tr: f64, ramp: &mut f64| {
            let (d, r) = horowitz(tr, *ramp);
            *ramp = r;
            d
        };
        for tr in stages_in {
            delay += step(tr, &mut ramp);
        }
        let per_bit: f64 = carry.iter().map(|&tr| step(tr, &mut ramp)).sum();
        if self.bits > 2.0 {
            delay += per_bit * (self.bits - 2.0);
        }
        for tr in stages_out {
            delay += step(tr, &mut ramp);
        }
        (delay * count_hz).ceil()
    }

    /// Energy of `reads` operations of `active` adders, with NeuroSim's calibrated
    /// adder switching activity (`delta`).
    pub fn energy(&self, t: &Technology, reads: f64, active: f64, cal: &Calibration) -> f64 {
        let (cin, cout) = (self.nand.cin, self.nand.cout);
        let b1 = self.bits - 1.0;
        let caps = cin * 6.0
            + cout * 2.0
            + cin * 7.0 * b1
            + cout * 3.0 * b1
            + (cout + cin) * 2.0
            + (cout + cin * 2.0)
            + (cout + cin * 3.0)
            + (cout + cin)
            + (cout + cin * 3.0) * b1
            + (cout + cin) * b1
            + (cout + cin) * 2.0 * b1;
        caps * t.vdd * t.vdd * active.min(self.count) * reads * cal.adder_activity
    }

    /// Leakage power, W.
    pub fn leakage(&self, t: &Technology) -> f64 {
        self.nand.leak * t.vdd * 9.0 * self.bits * self.count
    }
}

/// `trees` adder trees, each adding `inputs` numbers of `bits` bits (one more bit per
/// stage).
#[derive(Debug, Clone)]
pub struct AdderTree {
    inputs: usize,
    /// Input width, bits.
    pub bits: usize,
    trees: f64,
    /// Stages, `ceil(log2(inputs))`.
    pub stages: usize,
    /// Laid-out shape.
    pub shape: Shape,
}

/// The stages of a tree over `inputs` numbers: (adders, bits) per stage. NeuroSim halves
/// with integer division, so an odd leftover is carried without an adder.
fn tree_stages(inputs: usize, bits: usize) -> Vec<(usize, usize)> {
    let levels = ceil_log2(inputs);
    let (mut j, mut b) = (inputs, bits);
    (0..levels)
        .map(|_| {
            let stage = (j / 2, b);
            j /= 2;
            b += 1;
            stage
        })
        .collect()
}

/// `ceil(log2(n))` for `n >= 1` (0 for `n <= 1`).
pub fn ceil_log2(n: usize) -> usize {
    if n <= 1 {
        0
    } else {
        (usize::BITS - (n - 1).leading_zeros()) as usize
    }
}

impl AdderTree {
    /// Trees laid out under `fit`.
    pub fn new(t: &Technology, inputs: usize, bits: usize, trees: usize, fit: Fit) -> Self {
        let per_tree: usize = tree_stages(inputs, bits).iter().map(|(a, b)| a * b).sum();
        let adder = Adder::new(t, per_tree, trees, fit);
        let shape = match fit {
            Fit::Width(w) => Shape {
                height: adder.shape.area() / w,
                width: w,
            },
            Fit::Height(h) => Shape {
                height: h,
                width: adder.shape.area() / h,
            },
            Fit::Free => adder.shape,
        };
        AdderTree {
            inputs,
            bits,
            trees: trees as f64,
            stages: ceil_log2(inputs),
            shape,
        }
    }

    fn stages_for(&self, inputs: usize) -> Vec<(usize, usize)> {
        tree_stages(if inputs == 0 { self.inputs } else { inputs }, self.bits)
    }

    /// Cycles of `reads` additions of `inputs` numbers (0: all the tree's inputs).
    pub fn cycles(&self, t: &Technology, reads: f64, inputs: usize, count_hz: f64) -> f64 {
        let per: f64 = self
            .stages_for(inputs)
            .iter()
            .map(|&(adders, bits)| Adder::new(t, bits, adders, Fit::Free).cycles(t, 0.0, count_hz))
            .sum();
        per * reads
    }

    /// Energy of `reads` additions of `inputs` numbers in every tree, and the trees'
    /// leakage power for that configuration (W).
    pub fn energy(
        &self,
        t: &Technology,
        reads: f64,
        inputs: usize,
        cal: &Calibration,
    ) -> (f64, f64) {
        let (mut e, mut leak) = (0.0, 0.0);
        for (adders, bits) in self.stages_for(inputs) {
            let a = Adder::new(t, bits, adders, Fit::Free);
            e += a.energy(t, 1.0, adders as f64, cal);
            leak += a.leakage(t);
        }
        (e * self.trees * reads, leak * self.trees)
    }
}

/// `units` shift-and-add units accumulating `bits`-bit partial sums over `pulses`
/// shifted inputs (a `bits`-bit adder and a shift register each).
#[derive(Debug, Clone)]
pub struct ShiftAdd {
    adder: Adder,
    dff: Dff,
    dffs: f64,
    /// Laid-out shape.
    pub shape: Shape,
}

impl ShiftAdd {
    /// Units laid out across `width`.
    pub fn new(t: &Technology, units: usize, bits: usize, pulses: usize, width: f64) -> Self {
        let dffs = (bits + 1 + pulses - 1) * units;
        let adder = Adder::new(t, bits, units, Fit::Width(width));
        let dff = Dff::new(t, dffs, Fit::Width(width));
        let shape = Shape {
            height: adder.shape.height + cell_height(t) + dff.shape.height,
            width,
        };
        ShiftAdd {
            adder,
            dff,
            dffs: dffs as f64,
            shape,
        }
    }

    /// Energy of `reads` shift-and-adds of every unit.
    pub fn energy(&self, t: &Technology, reads: f64, cal: &Calibration) -> f64 {
        self.adder.energy(t, reads, self.adder.count, cal)
            + self.dff.energy(t, reads, self.dffs, Some(cal.dff_activity))
    }

    /// Leakage power, W.
    pub fn leakage(&self, t: &Technology) -> f64 {
        self.adder.leakage(t) + self.dff.leakage(t)
    }
}

/// The ReLU unit: `units` registers of `bits` bits that pass or zero their value.
#[derive(Debug, Clone)]
pub struct BitShifter {
    dff: Dff,
    dffs: f64,
    /// Units.
    pub units: f64,
    /// Laid-out shape.
    pub shape: Shape,
}

impl BitShifter {
    /// Units laid out under `fit`.
    pub fn new(t: &Technology, units: usize, bits: usize, fit: Fit) -> Self {
        let dff = Dff::new(t, bits * units, Fit::Free);
        let shape = fit.shape(dff.shape.area(), dff.shape);
        BitShifter {
            dffs: (bits * units) as f64,
            dff,
            units: units as f64,
            shape,
        }
    }

    /// Energy of `reads` passes of every unit.
    pub fn energy(&self, t: &Technology, reads: f64) -> f64 {
        self.dff.energy(t, reads, self.dffs, None)
    }
}

/// A row decoder (predecoding NAND2s, then NORs, then a driver): for the column mux
/// (`mux`: a NAND and two inverters enable each output) or a register file's word
/// lines.
#[derive(Debug, Clone)]
pub struct RowDecoder {
    addr: usize,
    mux: bool,
    inv: (f64, f64),
    nand: (f64, f64),
    nor: (f64, f64),
    driver: (f64, f64),
    n_nand: f64,
    n_nor: f64,
    /// Laid-out shape.
    pub shape: Shape,
    caps: DecoderCaps,
}

#[derive(Debug, Clone, Copy, Default)]
struct DecoderCaps {
    inv: (f64, f64),
    nand: (f64, f64),
    nor: (f64, f64),
    driver: (f64, f64),
}

impl RowDecoder {
    /// A decoder of `addr` address bits, its rows stacked in `height` if given.
    pub fn new(t: &Technology, addr: usize, mux: bool, height: Option<f64>) -> Self {
        let (mn, mp) = min_widths(t);
        let h = cell_height(t);
        let inv = enlarge(t, mn, mp, h);
        let nand = enlarge(t, 2.0 * mn, mp, h);
        let half = addr.div_ceil(2);
        let nor = enlarge(t, mn, half as f64 * mp, h);
        let driver = (2.0 * mn, 2.0 * mp);
        let n_nand = (4 * (addr / 2)) as f64;
        let n_nor = if addr > 2 {
            (1usize << addr) as f64
        } else {
            0.0
        };
        let n_metal = if addr > 2 {
            n_nand + ((addr % 2) * 2) as f64
        } else {
            0.0
        };
        let s_inv = gate_shape(t, Gate::Inv, inv.0, inv.1, h);
        let s_nand = gate_shape(t, Gate::Nand(2), nand.0, nand.1, h);
        let s_nor = gate_shape(t, Gate::Nor(half as u32), nor.0, nor.1, h);
        let s_drv = gate_shape(t, Gate::Inv, driver.0, driver.1, h);
        let metal = M3_PITCH * n_metal * t.f;
        let shape = match height {
            Some(total) => {
                let columns = |per: f64, n: f64| {
                    let per = per.min(n);
                    if per > 0.0 {
                        (n / per).ceil()
                    } else {
                        0.0
                    }
                };
                let col_nor = columns((total / s_nor.height).floor(), n_nor);
                let col_nand = columns((total / s_nand.height).floor(), n_nand);
                // NeuroSim never counts the inverter column (its guard tests the
                // column count, which is still 0).
                let mut width = s_nand.width * col_nand + metal + s_nor.width * col_nor;
                width += if mux {
                    (s_nand.width + s_inv.width * 2.0) * col_nor
                } else {
                    s_drv.width * 2.0 * col_nor
                };
                Shape {
                    height: total,
                    width,
                }
            }
            None => {
                let mut width = s_inv.width + s_nand.width + metal + s_nor.width;
                width += if mux {
                    s_nand.width + s_inv.width * 2.0
                } else {
                    s_drv.width * 2.0
                };
                Shape {
                    height: (s_nor.height * n_nor).max(s_nand.height * n_nand),
                    width,
                }
            }
        };
        let caps = DecoderCaps {
            inv: gate_caps(t, Gate::Inv, inv.0, inv.1, s_inv.height),
            nand: if n_nand > 0.0 {
                gate_caps(t, Gate::Nand(2), nand.0, nand.1, s_nand.height)
            } else {
                (0.0, 0.0)
            },
            nor: if n_nor > 0.0 {
                gate_caps(t, Gate::Nor(half as u32), nor.0, nor.1, s_nor.height)
            } else {
                (0.0, 0.0)
            },
            driver: gate_caps(t, Gate::Inv, driver.0, driver.1, s_drv.height),
        };
        RowDecoder {
            addr,
            mux,
            inv,
            nand,
            nor,
            driver,
            n_nand,
            n_nor,
            shape,
            caps,
        }
    }

    /// Delay of one decode driving `load_n` (and, for a mux, `load_p`), s.
    pub fn delay(&self, t: &Technology, load_n: f64, load_p: f64) -> f64 {
        let c = &self.caps;
        let mut ramp = 1e20;
        let mut total = 0.0;
        let mut stage = |tr: f64, total: &mut f64| {
            let (d, r) = horowitz(tr, ramp);
            ramp = r;
            *total += d;
        };
        let r_inv = on_resistance(t, self.inv.0, Mos::N);
        stage(
            r_inv
                * (c.inv.1
                    + if self.n_nand > 0.0 {
                        c.nand.0 * 2.0
                    } else {
                        load_n
                    }),
            &mut total,
        );
        if self.n_nand > 0.0 {
            let r = on_resistance(t, self.nand.0, Mos::N) * 2.0;
            let load = if self.n_nor > 0.0 {
                c.nor.0 * self.n_nor / 4.0
            } else {
                load_n
            };
            stage(r * (c.nand.1 + load), &mut total);
        }
        if self.n_nor > 0.0 {
            let r = on_resistance(t, self.nor.1, Mos::P) * 2.0;
            let load = if self.mux { c.nand.0 } else { c.inv.0 };
            stage(r * (c.nor.1 + load), &mut total);
        }
        if self.mux {
            let r = on_resistance(t, self.nand.0, Mos::N);
            stage(r * (c.nand.1 + c.inv.0), &mut total);
            let r = on_resistance(t, self.driver.1, Mos::P);
            stage(r * (c.driver.1 + c.driver.0 + load_n), &mut total);
            let r = on_resistance(t, self.driver.0, Mos::N);
            stage(r * (c.driver.1 + load_p), &mut total);
        } else {
            let r = on_resistance(t, self.driver.0, Mos::N);
            stage(r * (c.driver.1 + c.driver.0), &mut total);
            let r = on_resistance(t, self.driver.1, Mos::P);
            stage(r * (c.driver.1 + load_n), &mut total);
        }
        total
    }

    /// Energy of one decode without NeuroSim's control-circuit activity factor.
    fn decode_energy(&self, t: &Technology) -> f64 {
        let c = &self.caps;
        let pairs = (self.addr / 2) as f64 * 2.0;
        let odd = self.addr as f64 - pairs;
        let mut caps = (c.inv.0 + c.nand.0 * 2.0) * pairs
            + (c.inv.0 + c.nor.0 * self.n_nor / 2.0) * odd
            + (c.nand.1 + c.nor.0 * self.n_nor / 4.0) * self.n_nand / 4.0;
        caps += if self.mux {
            (c.nor.1 + c.nand.0) + (c.nand.1 + c.driver.0) + (c.driver.1 + c.driver.0) + c.driver.1
        } else {
            (c.nor.1 + c.inv.0) + (c.driver.0 + c.driver.1) * 2.0
        };
        caps * t.vdd * t.vdd
    }

    /// Energy of `reads` read decodes (times the control activity `epsilon`).
    pub fn read_energy(&self, t: &Technology, reads: f64, cal: &Calibration) -> f64 {
        self.decode_energy(t) * reads * cal.control_activity
    }

    /// Energy of `writes` write decodes.
    pub fn write_energy(&self, t: &Technology, writes: f64) -> f64 {
        self.decode_energy(t) * writes
    }

    /// Leakage power, W.
    pub fn leakage(&self, t: &Technology) -> f64 {
        let half = self.addr.div_ceil(2) as u32;
        let mut l = gate_leakage(t, Gate::Inv, self.inv.0, self.inv.1) * self.addr as f64
            + gate_leakage(t, Gate::Nand(2), self.nand.0, self.nand.1) * self.n_nand
            + gate_leakage(t, Gate::Nor(half), self.nor.0, self.nor.1) * self.n_nor;
        l += if self.mux {
            gate_leakage(t, Gate::Nand(2), self.nand.0, self.nand.1) * self.n_nor
                + gate_leakage(t, Gate::Inv, self.inv.0, self.inv.1) * 2.0 * self.n_nor
        } else {
            gate_leakage(t, Gate::Inv, self.driver.0, self.driver.1) * 2.0 * self.n_nor
        };
        l * t.vdd
    }
}

/// `units` 2x2 max-pooling units of `bits`-bit values (a tree of three comparators).
#[derive(Debug, Clone)]
pub struct MaxPooling {
    bits: f64,
    units: f64,
    comparators: f64,
    stages: f64,
    /// Laid-out shape.
    pub shape: Shape,
    inv_w: (f64, f64),
    nor2_w: f64,
    inv: (f64, f64),
    nand: (f64, f64),
    nor: (f64, f64),
    nor_n: (f64, f64),
    cmp: Comparator,
}

/// A 1-bit magnitude comparator stage (four inverters, four NAND2, three NAND3 per bit).
#[derive(Debug, Clone)]
struct Comparator {
    nand2_w: (f64, f64),
    nand3_w: (f64, f64),
    area: f64,
    inv: (f64, f64),
    nand2: (f64, f64),
    nand3: (f64, f64),
}

impl Comparator {
    fn new(t: &Technology) -> Self {
        let (mn, mp) = min_widths(t);
        let h = cell_height(t);
        let inv_w = enlarge(t, mn, mp, h);
        let nand2_w = enlarge(t, 2.0 * mn, mp, h);
        let nand3_w = enlarge(t, 3.0 * mn, mp, h);
        let s_inv = gate_shape(t, Gate::Inv, inv_w.0, inv_w.1, h);
        let s2 = gate_shape(t, Gate::Nand(2), nand2_w.0, nand2_w.1, h);
        let s3 = gate_shape(t, Gate::Nand(3), nand3_w.0, nand3_w.1, h);
        Comparator {
            nand2_w,
            nand3_w,
            area: s_inv.area() * 4.0 + s2.area() * 4.0 + s3.area() * 3.0,
            inv: gate_caps(t, Gate::Inv, inv_w.0, inv_w.1, s_inv.height),
            nand2: gate_caps(t, Gate::Nand(2), nand2_w.0, nand2_w.1, s2.height),
            nand3: gate_caps(t, Gate::Nand(3), nand3_w.0, nand3_w.1, s3.height),
        }
    }

    /// Delay of a 1-bit comparison into `load`.
    fn delay(&self, t: &Technology, load: f64) -> f64 {
        let down = on_resistance(t, self.nand2_w.0, Mos::N) * 2.0;
        let up = on_resistance(t, self.nand3_w.1, Mos::P);
        let (n2, n3) = (self.nand2, self.nand3);
        let mut ramp = 1e20;
        let mut step = |tr: f64| {
            let (d, r) = horowitz(tr, ramp);
            ramp = r;
            d
        };
        let mut total = step(down * (n2.1 + n3.0));
        total += step(up * (n3.1 + n2.0));
        let a = step(down * (n2.1 + n3.0));
        let b = step(up * (n3.1 + n2.0));
        total += (a + b) * (1.0 - 2.0);
        total += step(down * (n2.1 + n3.0));
        total + step(up * (n3.1 + load))
    }

    fn energy(&self, t: &Technology, cal: &Calibration) -> f64 {
        ((self.inv.0 + self.inv.1) * 4.0
            + (self.nand2.0 + self.nand2.1) * 4.0
            + (self.nand3.0 + self.nand3.1) * 3.0)
            * t.vdd
            * t.vdd
            * cal.control_activity
    }
}

impl MaxPooling {
    /// `units` pooling units of a `window`-value window, spread across `width`.
    pub fn new(t: &Technology, bits: usize, window: usize, units: usize, width: f64) -> Self {
        let (mut comparators, mut stages, mut n) = (0, 0, window);
        while n != 0 {
            comparators += n / 2;
            stages += 1;
            n /= 2;
        }
        comparators += window % 2;
        stages += window % 2;
        let (mn, mp) = min_widths(t);
        let h = cell_height(t);
        let inv_w = enlarge(t, mn, mp, h);
        let nand_w = enlarge(t, 2.0 * mn, mp, h);
        let nor_w = enlarge(t, 4.0 * mn, mp, h);
        let nor2_w = enlarge(t, (bits * 2) as f64 * mn, mp, h);
        let s_inv = gate_shape(t, Gate::Inv, inv_w.0, inv_w.1, h);
        let s_nand = gate_shape(t, Gate::Nand(2), nand_w.0, nand_w.1, h);
        let s_nor = gate_shape(t, Gate::Nor(2), nor_w.0, nor_w.1, h);
        let s_nor_n = gate_shape(t, Gate::Nor(bits as u32), nor2_w.0, nor2_w.1, h);
        let cmp = Comparator::new(t);
        let b = bits as f64;
        let unit = ((cmp.area + s_inv.area() * 5.0) * b
            + s_inv.area() * 6.0
            + (s_nand.area() + s_inv.area())
            + s_nor.area()
            + s_nor_n.area())
            * comparators as f64;
        let area = unit * units as f64;
        MaxPooling {
            bits: b,
            units: units as f64,
            comparators: comparators as f64,
            stages: stages as f64,
            shape: Shape {
                height: area / width,
                width,
            },
            inv_w,
            nor2_w: nor2_w.0,
            inv: gate_caps(t, Gate::Inv, inv_w.0, inv_w.1, s_inv.height),
            nand: gate_caps(t, Gate::Nand(2), nand_w.0, nand_w.1, s_nand.height),
            nor: gate_caps(t, Gate::Nor(2), nor_w.0, nor_w.1, s_nor.height),
            nor_n: gate_caps(
                t,
                Gate::Nor(bits as u32),
                nor2_w.0,
                nor2_w.1,
                s_nor_n.height,
            ),
            cmp,
        }
    }

    /// Cycles of `reads` poolings (every unit in parallel).
    pub fn cycles(&self, t: &Technology, reads: f64, count_hz: f64) -> f64 {
        let mut total = self.cmp.delay(t, self.inv.1 * 2.0) * self.bits / 2.0;
        let r_nor = on_resistance(t, self.nor2_w, Mos::N) * 2.0;
        total += horowitz(r_nor * (self.inv.0 * 2.0 + self.bits * self.inv.1), 1e20).0;
        let r_inv = on_resistance(t, self.inv_w.0, Mos::N) * 2.0;
        let (d, ramp) = horowitz(r_inv * (self.inv.0 + self.nor_n.1), 1e20);
        total += d;
        total += horowitz(r_inv * (self.inv.0 * 2.0), ramp).0;
        (total * count_hz).ceil() * self.stages * reads
    }

    /// Energy of `reads` poolings of every unit.
    pub fn energy(&self, t: &Technology, reads: f64, cal: &Calibration) -> f64 {
        let (inv, nand, nor, nor_n) = (self.inv, self.nand, self.nor, self.nor_n);
        let control =
            ((nand.0 + inv.1) + (nor.0 + inv.1) + (inv.0 + inv.1) * 2.0 + (nor_n.0 + inv.1))
                * t.vdd
                * t.vdd
                * cal.control_activity;
        let per = control + self.cmp.energy(t, cal) * self.bits / 2.0;
        per * self.comparators * self.units * reads
    }
}

#[cfg(test)]
mod tests {
    use super::super::super::technology::Roadmap;
    use super::*;

    #[test]
    fn tree_stages_halve_with_integer_division() {
        assert_eq!(tree_stages(4, 10), vec![(2, 10), (1, 11)]);
        // Three inputs: one adder, then a stage of none (NeuroSim's floor).
        assert_eq!(tree_stages(3, 10), vec![(1, 10), (0, 11)]);
        assert!(tree_stages(1, 10).is_empty());
        assert_eq!(ceil_log2(9), 4);
    }

    #[test]
    fn max_pooling_of_four_values_takes_three_comparators_in_three_stages() {
        let t = Technology::new(32, Roadmap::Lstp, 300.0).unwrap();
        let m = MaxPooling::new(&t, 8, 4, 1, 1e-4);
        assert_eq!((m.comparators, m.stages), (3.0, 3.0));
    }

    #[test]
    fn adder_energy_scales_with_bits_and_adders() {
        let t = Technology::new(32, Roadmap::Lstp, 300.0).unwrap();
        let cal = Calibration::default();
        let a = Adder::new(&t, 8, 4, Fit::Free);
        let e1 = a.energy(&t, 1.0, 1.0, &cal);
        assert!((a.energy(&t, 3.0, 2.0, &cal) - 6.0 * e1).abs() < 1e-24);
        assert!(a.energy(&t, 1.0, 9.0, &cal) == a.energy(&t, 1.0, 4.0, &cal));
    }
}
