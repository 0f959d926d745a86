//! Repeated wires: the buses between the subarrays of a processing element and the
//! H-trees between processing elements and between tiles, after DNN+NeuroSim V1.3
//! (`Bus.cpp`, `HTree.cpp`). Repeaters are sized for the delay-optimal spacing, then
//! shrunk while the delay stays within a tolerance of the optimum (less energy).

use super::super::gates::{
    cell_height, gate_caps, gate_leakage, gate_shape, min_widths, on_resistance, Gate, Mos,
};
use super::super::technology::Technology;

/// Wire capacitance per length, F/m (0.2 fF/um).
pub const WIRE_CAP: f64 = 0.2e-15 / 1e-6;

/// A repeater inverter of `size` times the minimum: (NMOS, PMOS) widths.
fn repeater_widths(t: &Technology, size: f64) -> (f64, f64) {
    let (n, p) = min_widths(t);
    (n * size, p * size)
}

/// Caps and drive of a repeater: (input cap, output cap, on resistance N + P).
fn repeater(t: &Technology, size: f64) -> (f64, f64, f64) {
    let (n, p) = repeater_widths(t, size);
    let shape = gate_shape(t, Gate::Inv, n, p, cell_height(t));
    let (cin, cout) = gate_caps(t, Gate::Inv, n, p, shape.height);
    (
        cin,
        cout,
        on_resistance(t, n, Mos::N) + on_resistance(t, p, Mos::P),
    )
}

/// Delay per length of a repeated wire with unit resistance `r_wire`, s/m.
fn unit_delay(r_on: f64, cin: f64, cout: f64, r_wire: f64, dist: f64) -> f64 {
    0.7 * (r_on * (cin + cout + WIRE_CAP * dist)
        + 0.5 * r_wire * dist * WIRE_CAP * dist
        + r_wire * dist * cin)
        / dist
}

/// The repeater design: size (multiple of the minimum inverter) and spacing, m.
#[derive(Debug, Clone, Copy)]
struct Repeaters {
    size: f64,
    spacing: f64,
}

/// How the repeater is shrunk while the delay stays within the tolerance: a bus steps
/// its size down by one, an H-tree halves it (both NeuroSim's choices).
#[derive(Debug, Clone, Copy, PartialEq)]
enum Shrink {
    Step,
    Halve,
}

fn design_repeaters(t: &Technology, r_wire: f64, tolerance: f64, shrink: Shrink) -> Repeaters {
    let (cin, cout, r_on) = repeater(t, 1.0);
    let mut size = (r_on * WIRE_CAP / cin / r_wire).sqrt().floor();
    let mut spacing = (2.0 * r_on * (cout + cin) / (r_wire * WIRE_CAP)).sqrt();
    let (cin, cout, r_on) = repeater(t, size);
    let best = unit_delay(r_on, cin, cout, r_wire, spacing);
    if tolerance > 0.0 {
        let mut delay = 0.0;
        while delay < best * (1.0 + tolerance) && (shrink == Shrink::Halve || size >= 1.0) {
            size = match shrink {
                Shrink::Step => size - 1.0,
                Shrink::Halve => (size / 2.0).floor(),
            };
            spacing *= 0.9;
            let (cin, cout, r_on) = repeater(t, size);
            delay = unit_delay(r_on, cin, cout, r_wire, spacing);
        }
    }
    Repeaters {
        size: size.max(1.0),
        spacing,
    }
}

/// A bus across a row (or column) of `count` subarrays of a processing element.
#[derive(Debug, Clone)]
pub struct Bus {
    length: f64,
    unit_energy: f64,
}

impl Bus {
    /// A bus spanning `count` units of `pitch` (m), on wires of resistance `r_wire`
    /// (ohm/m), with the delay `tolerance`.
    pub fn new(t: &Technology, count: usize, pitch: f64, r_wire: f64, tolerance: f64) -> Self {
        let rep = design_repeaters(t, r_wire, tolerance, Shrink::Step);
        let (cin, cout, _) = repeater(t, rep.size);
        Bus {
            length: pitch * (count as f64 - 1.0),
            unit_energy: (cin + cout + WIRE_CAP * rep.spacing) * t.vdd * t.vdd / rep.spacing * 0.25,
        }
    }

    /// Energy of moving `bits` bits `reads` times.
    pub fn energy(&self, bits: f64, reads: f64) -> f64 {
        if self.length > 0.0 {
            self.length * self.unit_energy * bits * reads
        } else {
            0.0
        }
    }
}

/// An H-tree from a root to a `rows` x `cols` grid of units, `width` bits wide.
#[derive(Debug, Clone)]
pub struct HTree {
    /// Bus width, bits.
    pub bus_width: f64,
    levels: usize,
    cols: f64,
    center: f64,
    rep: Repeaters,
    cin: f64,
    cout: f64,
    r_on: f64,
    inv_shape: (f64, f64),
    leak_inv: f64,
    wire_width_nm: f64,
    temp_k: f64,
}

/// The laid-out tree: its area and total wire length.
#[derive(Debug, Clone, Copy)]
pub struct HTreeLayout {
    /// Area, m^2.
    pub area: f64,
    /// Wire length, m.
    pub length: f64,
    unit_height: f64,
    unit_width: f64,
}

impl HTree {
    /// A tree over `rows` x `cols` units on wires of resistance `r_wire` (ohm/m) and
    /// the node's wire width `wire_width_nm` (for the wider upper levels).
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        t: &Technology,
        rows: usize,
        cols: usize,
        tolerance: f64,
        bus_width: f64,
        r_wire: f64,
        wire_width_nm: f64,
        temp_k: f64,
    ) -> Self {
        let rep = design_repeaters(t, r_wire, tolerance, Shrink::Halve);
        let (n, p) = repeater_widths(t, rep.size);
        let shape = gate_shape(t, Gate::Inv, n, p, cell_height(t));
        let (cin, cout, r_on) = repeater(t, rep.size);
        let smaller = rows.min(cols) as f64;
        let mut center = smaller.log2().floor();
        if cols as f64 - center < 1.0 {
            center -= 1.0;
        }
        HTree {
            bus_width,
            levels: super::logic::ceil_log2(rows.max(cols)),
            cols: cols as f64,
            center,
            rep,
            cin,
            cout,
            r_on,
            inv_shape: (shape.height, shape.width),
            leak_inv: gate_leakage(t, Gate::Inv, n, p),
            wire_width_nm,
            temp_k,
        }
    }

    /// The main bus from the edge to the tree's root, m.
    fn trunk(&self, unit_width: f64) -> f64 {
        (self.cols - self.center).min(self.center) * unit_width
    }

    /// The tree laid out over units of `unit_height` x `unit_width`, its wires folded
    /// `folding` times.
    pub fn layout(&self, unit_height: f64, unit_width: f64, folding: f64) -> HTreeLayout {
        let (h_inv, w_inv) = self.inv_shape;
        let span = 2f64.powi(self.levels as i32);
        let (mut v, mut h) = (unit_height * span / 2.0, unit_width * span / 2.0);
        let (mut width_v, mut width_h) = (0.0, 0.0);
        let (mut area, mut length) = (0.0, 0.0);
        for _ in 1..self.levels {
            v /= 2.0;
            width_v += self.bus_width * w_inv / folding;
            area += width_v * v / 2.0;
            h /= 2.0;
            width_h += self.bus_width * h_inv / folding;
            area += width_h * h / 2.0;
            length += v + h;
        }
        let trunk = self.trunk(unit_width);
        HTreeLayout {
            area: area + self.bus_width * h_inv / folding * trunk,
            length: length + trunk,
            unit_height,
            unit_width,
        }
    }

    /// Resistance per length of an upper-level wire of `length`: twice (or, beyond
    /// 100,000 F, four times) the node's wire width, at NeuroSim's resistivity for it.
    fn wire_resistance(&self, t: &Technology, length: f64) -> f64 {
        let factor = if length / t.f >= 100_000.0 { 4.0 } else { 2.0 };
        let width = factor * self.wire_width_nm;
        // NeuroSim's chained comparisons select 2.52e-8 ohm m below 175 nm.
        let rho = if width >= 175.0 { 2.2e-8 } else { 2.52e-8 };
        rho * (1.0 + 0.00451 * (self.temp_k - 300.0)) / (width * 1e-9 * width * 1e-9 * 1.6)
    }

    fn unit_delay(&self, t: &Technology, length: f64) -> f64 {
        unit_delay(
            self.r_on,
            self.cin,
            self.cout,
            self.wire_resistance(t, length),
            self.rep.spacing,
        )
    }

    /// Cycles of `reads` root-to-leaf transfers, counted at `count_hz`.
    pub fn cycles(&self, t: &Technology, layout: &HTreeLayout, reads: f64, count_hz: f64) -> f64 {
        let span = 2f64.powi(self.levels as i32);
        let (mut v, mut h) = (layout.unit_height * span, layout.unit_width * span);
        let mut delay = 0.0;
        let mut last = 0.0;
        for _ in 0..self.levels {
            v /= 2.0;
            last = self.unit_delay(t, v);
            delay += v * last;
            h /= 2.0;
            last = self.unit_delay(t, h);
            delay += h * last;
        }
        delay += self.trunk(layout.unit_width) * last;
        (delay * count_hz).ceil() * reads
    }

    /// Energy of moving `bits` bits root to leaf `reads` times.
    pub fn energy(&self, t: &Technology, layout: &HTreeLayout, bits: f64, reads: f64) -> f64 {
        let unit = (self.cin + self.cout + WIRE_CAP * self.rep.spacing) * t.vdd * t.vdd
            / self.rep.spacing
            * 0.25;
        let span = 2f64.powi(self.levels as i32);
        let (mut v, mut h) = (
            layout.unit_height * span / 2.0,
            layout.unit_width * span / 2.0,
        );
        let mut length = 0.0;
        for _ in 0..self.levels {
            v /= 2.0;
            h /= 2.0;
            length += v + h;
        }
        length += self.trunk(layout.unit_width);
        length * unit * bits * reads
    }

    /// Leakage power of the repeaters, W.
    pub fn leakage(&self, t: &Technology, layout: &HTreeLayout) -> f64 {
        self.leak_inv * t.vdd / self.rep.spacing * layout.length
    }
}

#[cfg(test)]
mod tests {
    use super::super::super::technology::Roadmap;
    use super::*;

    #[test]
    fn an_htree_over_one_row_of_two_units_is_its_trunk() {
        let t = Technology::new(32, Roadmap::Lstp, 300.0).unwrap();
        let tree = HTree::new(&t, 2, 2, 0.1, 64.0, 2e7, 56.0, 300.0);
        // One level: no inner stages in the layout, a trunk of one unit width.
        let l = tree.layout(1e-4, 2e-4, 16.0);
        assert!((l.length - 2e-4).abs() < 1e-18);
        assert!(l.area > 0.0);
        assert!(tree.energy(&t, &l, 64.0, 1.0) > 0.0);
    }

    #[test]
    fn a_bus_over_one_unit_costs_nothing() {
        let t = Technology::new(32, Roadmap::Lstp, 300.0).unwrap();
        assert_eq!(Bus::new(&t, 1, 1e-4, 2e7, 0.1).energy(128.0, 10.0), 0.0);
        assert!(Bus::new(&t, 3, 1e-4, 2e7, 0.1).energy(128.0, 10.0) > 0.0);
    }
}
