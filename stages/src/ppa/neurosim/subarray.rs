//! One 1T1R subarray read in parallel with its periphery, after DNN+NeuroSim V1.3's
//! `SubArray.cpp` (`conventionalParallel`, RRAM with a CMOS access transistor, the
//! multilevel sense amplifier):
//!
//! ```text
//!   level shifters | row switch matrix |  S x S cells  (rows: input bits)
//!                                      |  column switch matrix (write)
//!                     mux decoder      |  column mux (cols_per_adc : 1)
//!                                      |  sense amplifiers + encoders (the ADC)
//!                                      |  shift-add over cell slices, over input bits
//! ```
//!
//! A read senses every column once: `cols_per_adc` sensing cycles, each converting one
//! column per sense amplifier, while the active rows hold the input bit vector. The
//! energy of one bit vector depends on how many rows it drives and on the conductance of
//! every column; [`SubArray::block_energy`] takes their expectations (see
//! [`super::workload`]).

use super::circuits::analog::{
    level_shifter_shape, ColumnSwitch, Encoder, Mux, MuxWidths, RowSwitch, SenseAmp, SenseSetup,
};
use super::circuits::logic::{ceil_log2, RowDecoder, ShiftAdd};
use super::circuits::Calibration;
use super::gates::{drain_cap, gate_cap, on_resistance, Fit, Mos, IR_DROP_TOLERANCE};
use super::technology::{Roadmap, Technology};
use super::workload::{InputBits, WeightLevels};

/// The memory device and its array: what the subarray is built from.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Device {
    /// On and off resistance (1 / g_max, 1 / g_min), ohm.
    pub r_on: f64,
    /// See `r_on`.
    pub r_off: f64,
    /// Read voltage on the rows, V.
    pub v_read: f64,
    /// Gate voltage of the access transistors, V.
    pub v_access: f64,
    /// Write voltage (level shifters above 1.5 V), V.
    pub v_write: f64,
    /// Cell height and width, F.
    pub cell_height_f: f64,
    /// See `cell_height_f`.
    pub cell_width_f: f64,
    /// Wire resistance per length, ohm/m.
    pub wire_res: f64,
    /// Wire width, m (sets the wire resistance per cell).
    pub wire_width: f64,
}

impl Device {
    /// The access transistor's series resistance (a quarter of the on resistance).
    pub fn r_access(&self) -> f64 {
        self.r_on * IR_DROP_TOLERANCE
    }

    /// Average cell resistance with its access transistor, ohm.
    pub fn r_cell_avg(&self) -> f64 {
        self.r_access() + (self.r_on + self.r_off) / 2.0
    }
}

/// The subarray's organisation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Organisation {
    /// Rows = columns.
    pub size: usize,
    /// Columns sharing one sense amplifier.
    pub cols_per_adc: usize,
    /// Sense amplifier output levels (2^ADC bits).
    pub levels: usize,
    /// Cells (columns) per weight.
    pub slices: usize,
    /// Input bits (bit vectors per input).
    pub input_bits: usize,
    /// Current-mode sensing.
    pub current_mode: bool,
}

/// Area of a block by NeuroSim's categories, m^2.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct AreaParts {
    /// Cell arrays.
    pub array: f64,
    /// Sense amplifiers and encoders.
    pub adc: f64,
    /// Shift-adds and adder trees.
    pub accumulation: f64,
    /// Everything else (switches, mux, decoders, level shifters, pooling, ReLU).
    pub other: f64,
    /// Buffers.
    pub buffer: f64,
    /// Interconnect.
    pub interconnect: f64,
}

impl AreaParts {
    /// `self + other * k`.
    pub fn add_scaled(&mut self, o: &AreaParts, k: f64) {
        self.array += o.array * k;
        self.adc += o.adc * k;
        self.accumulation += o.accumulation * k;
        self.other += o.other * k;
        self.buffer += o.buffer * k;
        self.interconnect += o.interconnect * k;
    }
}

/// Energy (J) or latency (cycles) by NeuroSim's categories.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Parts {
    /// Charging the array's bit lines and word lines.
    pub array: f64,
    /// Sensing: sense amplifiers, encoders.
    pub adc: f64,
    /// Shift-adds and adder trees.
    pub accumulation: f64,
    /// Switches, mux, decoders, pooling, activation.
    pub other: f64,
    /// Buffers.
    pub buffer: f64,
    /// Interconnect.
    pub interconnect: f64,
}

impl Parts {
    /// The sum.
    pub fn total(&self) -> f64 {
        self.array + self.adc + self.accumulation + self.other + self.buffer + self.interconnect
    }

    /// Every part times `k`.
    pub fn scaled(&self, k: f64) -> Parts {
        Parts {
            array: self.array * k,
            adc: self.adc * k,
            accumulation: self.accumulation * k,
            other: self.other * k,
            buffer: self.buffer * k,
            interconnect: self.interconnect * k,
        }
    }

    /// `self += o`.
    pub fn add(&mut self, o: &Parts) {
        self.array += o.array;
        self.adc += o.adc;
        self.accumulation += o.accumulation;
        self.other += o.other;
        self.buffer += o.buffer;
        self.interconnect += o.interconnect;
    }
}

/// A latency (cycles) with its breakdown: blocks that work in parallel take the
/// longest, with its breakdown (the critical path's; NeuroSim prints the longest of each
/// category instead, which need not add up).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Latency {
    /// The critical path, cycles.
    pub total: f64,
    /// Its parts, cycles.
    pub parts: Parts,
}

impl Latency {
    /// A latency made of `parts` in sequence.
    pub fn of(parts: Parts) -> Self {
        Latency {
            total: parts.total(),
            parts,
        }
    }

    /// Appends `parts` in sequence.
    pub fn then(&mut self, parts: Parts) {
        self.total += parts.total();
        self.parts.add(&parts);
    }

    /// Blocks in parallel.
    pub fn max(&self, o: &Latency) -> Latency {
        if o.total > self.total {
            *o
        } else {
            *self
        }
    }

    /// Times `k`.
    pub fn scaled(&self, k: f64) -> Latency {
        Latency {
            total: self.total * k,
            parts: self.parts.scaled(k),
        }
    }
}

/// The part of a layer's weight matrix a subarray, PE or tile holds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Block {
    /// Rows mapped.
    pub rows: usize,
    /// Columns mapped.
    pub cols: usize,
    /// The first column's index in the layer's weight matrix (sets the slice of every
    /// column: `column % slices`).
    pub first_col: usize,
}

impl Block {
    /// The part of this block from row `r0` and column `c0`, at most `rows` x `cols`.
    pub fn sub(&self, r0: usize, c0: usize, rows: usize, cols: usize) -> Block {
        Block {
            rows: (self.rows - r0).min(rows),
            cols: (self.cols - c0).min(cols),
            first_col: self.first_col + c0,
        }
    }

    /// What the block's cost depends on: its shape and the slice phase of its first
    /// column.
    pub fn key(&self, slices: usize) -> (usize, usize, usize) {
        (self.rows, self.cols, self.first_col % slices)
    }
}

/// A subarray with its periphery.
#[derive(Debug, Clone)]
pub struct SubArray {
    org: Organisation,
    dev: Device,
    cal: Calibration,
    /// Layout height and width (for the buses), m.
    pub height: f64,
    /// See `height`.
    pub width: f64,
    /// Area that counts (NeuroSim's `usedArea`), and its parts, m^2.
    pub used_area: f64,
    /// See `used_area`.
    pub parts: AreaParts,
    cap_row: f64,
    res_row: f64,
    cap_col: f64,
    cap_bit_line: f64,
    row_switch: RowSwitch,
    col_switch: ColumnSwitch,
    mux: Option<(Mux, RowDecoder)>,
    sense: SenseAmp,
    encoder: Encoder,
    shift_weight: Option<ShiftAdd>,
    shift_input: Option<ShiftAdd>,
    /// Wire resistance a cell adds per cell along its row and column, ohm.
    wire_per_cell: (f64, f64),
}

impl SubArray {
    /// Builds and lays out the subarray. `cell_width_f` is widened to fit the access
    /// transistor when the device's on resistance needs a wider one (NeuroSim exits).
    pub fn new(
        t: &Technology,
        org: Organisation,
        dev: Device,
        roadmap: Roadmap,
        temp_k: f64,
        cal: Calibration,
    ) -> Self {
        let s = org.size;
        let n = s as f64;
        let access_width_f =
            on_resistance(t, t.f, Mos::N) * super::gates::LINEAR_REGION_RATIO / dev.r_access();
        let cell_width_f = dev.cell_width_f.max(access_width_f);
        let length_row = n * cell_width_f * t.f;
        let length_col = n * dev.cell_height_f * t.f;
        let wire_cap = super::circuits::wires::WIRE_CAP;
        let access_w = access_width_f * t.f;
        let cap_row = length_row * wire_cap + gate_cap(t, access_w) * n;
        let cap_col =
            length_col * wire_cap + drain_cap(t, access_w, Mos::N, cell_width_f * t.f) * n;
        let (h_array, w_array) = (length_col, length_row);

        let shifters = dev.v_write > 1.5;
        let ls = |count, fit| {
            if shifters {
                level_shifter_shape(t, count, fit, &cal)
            } else {
                Default::default()
            }
        };
        let (wl_ls, bl_ls, sl_ls) = (
            ls(s, Fit::Height(h_array)),
            ls(s, Fit::Height(h_array)),
            ls(s, Fit::Width(w_array)),
        );
        let row_switch = RowSwitch::new(t, s, h_array);
        let col_switch = ColumnSwitch::new(t, s, dev.r_cell_avg(), w_array);
        let units = s / org.cols_per_adc;
        let mux = (org.cols_per_adc > 1).then(|| {
            let widths: MuxWidths = Mux::analog(t, units, org.cols_per_adc, dev.r_cell_avg() / n);
            let decoder = RowDecoder::new(t, ceil_log2(org.cols_per_adc), true, None);
            let height = widths.height_across(t, w_array).max(decoder.shape.height);
            (widths.laid_out(t, height, w_array), decoder)
        });
        let sense = SenseAmp::new(
            t,
            &SenseSetup {
                levels: org.levels,
                units,
                current_mode: org.current_mode,
                r_on: dev.r_on,
                r_off: dev.r_off,
                rows: s,
                roadmap,
                v_read: dev.v_read,
                temp_k,
            },
            w_array,
        );
        let encoder = Encoder::new(t, org.levels, units, w_array);
        let adc_bits = org.levels.trailing_zeros() as usize;
        let shift_weight =
            (org.slices > 1).then(|| ShiftAdd::new(t, units, adc_bits, org.slices, w_array));
        let shift_input = (org.input_bits > 1)
            .then(|| ShiftAdd::new(t, units, adc_bits + org.slices, org.input_bits, w_array));

        let (mux_h, mux_a, dec_w, dec_a) = match &mux {
            Some((m, d)) => (
                m.shape.height,
                m.shape.area(),
                d.shape.width,
                d.shape.area(),
            ),
            None => (0.0, 0.0, 0.0, 0.0),
        };
        let sa = |x: &Option<ShiftAdd>| {
            x.as_ref()
                .map_or((0.0, 0.0), |x| (x.shape.height, x.shape.area()))
        };
        let (saw_h, saw_a) = sa(&shift_weight);
        let (sai_h, sai_a) = sa(&shift_input);
        let height = sl_ls.height
            + col_switch.shape.height
            + h_array
            + mux_h
            + sense.shape.height
            + encoder.shape.height
            + saw_h
            + sai_h;
        let width = (wl_ls.width + bl_ls.width + row_switch.shape.width).max(dec_w) + w_array;
        let parts = AreaParts {
            array: h_array * w_array,
            adc: sense.shape.area() + encoder.shape.area(),
            accumulation: saw_a + sai_a,
            other: wl_ls.area()
                + bl_ls.area()
                + sl_ls.area()
                + row_switch.shape.area()
                + col_switch.shape.area()
                + mux_a
                + dec_a,
            buffer: 0.0,
            interconnect: 0.0,
        };
        let wire_per_cell = (
            dev.wire_res * dev.wire_width * dev.cell_height_f,
            dev.wire_res * dev.wire_width * dev.cell_width_f,
        );
        SubArray {
            org,
            dev,
            cal,
            height,
            width,
            used_area: parts.array + parts.adc + parts.accumulation + parts.other,
            parts,
            cap_row,
            res_row: length_row * dev.wire_res,
            cap_col,
            cap_bit_line: length_col * wire_cap,
            row_switch,
            col_switch,
            mux,
            sense,
            encoder,
            shift_weight,
            shift_input,
            wire_per_cell,
        }
    }

    /// The sensing cycle, s: driving the rows (or selecting the mux), the column
    /// settling, the slowest column's sense amplifier and the encoder, times NeuroSim's
    /// calibration `beta`. `slowest` is the slowest column's sensing time.
    pub fn sensing_period(&self, t: &Technology, slowest: f64) -> f64 {
        let rows = self.row_switch.delay(self.cap_row, self.res_row);
        let mux = self.mux.as_ref().map_or(0.0, |(m, d)| {
            let (load_n, load_p) = m.decoder_load();
            m.delay() + d.delay(t, load_n, load_p)
        });
        let half = (self.org.size / 2) as f64;
        let column = 0.2 * self.cap_col * self.dev.r_cell_avg() / half;
        let sense = self.sense.window(slowest);
        (rows.max(mux) + column + sense + self.encoder.delay(t)) * self.cal.sensing_latency
    }

    /// The slowest sensing time of any column the array can present: from every row
    /// conducting at `g_max` to one row at `g_min`, with the series resistances.
    pub fn slowest_column(&self) -> f64 {
        let (r_row, r_col) = self.wire_per_cell;
        let n = self.org.size as f64;
        let series = self.dev.r_access();
        let fast = (self.dev.r_on + series) / n;
        let slow = self.dev.r_off + series + n * (r_row + r_col);
        self.sense.slowest_in(fast, slow)
    }

    /// Sensing cycles and shift-add cycles of one bit vector.
    pub fn cycles_per_vector(&self) -> Parts {
        let c = self.org.cols_per_adc;
        let weight = if self.shift_weight.is_some() { c } else { 0 };
        let input = if self.shift_input.is_some() {
            c / self.org.slices
        } else {
            0
        };
        Parts {
            adc: c as f64,
            accumulation: (weight + input) as f64,
            ..Parts::default()
        }
    }

    /// Mean conductance of a slice's cells in `block`, with the access transistor and
    /// the mean wire resistance in series, S.
    fn slice_conductance(&self, levels: &[f64], block: &Block) -> f64 {
        let (r_row, r_col) = self.wire_per_cell;
        let series = self.dev.r_access()
            + (block.cols as f64 + 1.0) / 2.0 * r_row
            + (block.rows as f64 + 1.0) / 2.0 * r_col;
        let top = (levels.len() - 1) as f64;
        let (g_min, g_max) = (1.0 / self.dev.r_off, 1.0 / self.dev.r_on);
        levels
            .iter()
            .enumerate()
            .map(|(d, p)| {
                let g = d as f64 / top * (g_max - g_min) + g_min;
                p / (1.0 / g + series)
            })
            .sum()
    }

    /// Columns of each slice in `block`.
    fn slice_counts(&self, block: &Block) -> Vec<usize> {
        let k = self.org.slices;
        let mut counts = vec![block.cols / k; k];
        for c in 0..block.cols % k {
            counts[(block.first_col + block.cols - block.cols % k + c) % k] += 1;
        }
        counts
    }

    /// Energy of one bit vector that drives a fraction `activity` of the rows, without
    /// the sense amplifiers, split by category.
    fn vector_energy(&self, t: &Technology, activity: f64) -> Parts {
        let reads = self.org.cols_per_adc as f64;
        let n = self.org.size as f64;
        let v = self.dev.v_read;
        let array = (self.cap_bit_line * v * v * (n / reads).ceil()
            + self.cap_row * t.vdd * t.vdd * n * activity)
            * reads;
        let rows = self
            .row_switch
            .energy(t, reads, activity, self.dev.v_access, v);
        let mux = self.mux.as_ref().map_or(0.0, |(m, d)| {
            (m.energy(t, reads, v) + d.read_energy(t, reads, &self.cal))
                / self.org.input_bits as f64
        });
        let encoder = self.encoder.energy(t, reads, &self.cal);
        let weight = self
            .shift_weight
            .as_ref()
            .map_or(0.0, |s| s.energy(t, reads, &self.cal));
        let input = self.shift_input.as_ref().map_or(0.0, |s| {
            s.energy(
                t,
                (self.org.cols_per_adc / self.org.slices) as f64,
                &self.cal,
            )
        });
        Parts {
            array,
            adc: encoder,
            accumulation: weight + input,
            other: rows + mux,
            ..Parts::default()
        }
    }

    /// Expected energy of `positions` input vectors (each `inputs.bits` bit vectors) on
    /// `block`, J.
    pub fn block_energy(
        &self,
        t: &Technology,
        block: &Block,
        positions: f64,
        inputs: &InputBits,
        weights: &WeightLevels,
    ) -> Parts {
        let n = self.org.size as f64;
        let rows = block.rows as f64;
        let p = inputs.magnitude_activity;
        let idle_power = self.sense.column_power(f64::INFINITY);
        let idle_sense = block.cols as f64 * idle_power * self.sense.window(0.0);
        // The sign bit vector drives no row.
        let mut sign = self.vector_energy(t, 0.0);
        sign.adc += idle_sense;
        // A magnitude bit vector: no row with probability `none`, else the column
        // conductances given at least one row conducts.
        let none = (1.0 - p).powf(rows);
        let mut active = self.vector_energy(t, p * rows / n);
        if none < 1.0 {
            let counts = self.slice_counts(block);
            let mut power = 0.0;
            let mut slowest: f64 = 0.0;
            for (k, &cols) in counts.iter().enumerate() {
                if cols == 0 {
                    continue;
                }
                let g = p * rows * self.slice_conductance(&weights.slices[k], block) / (1.0 - none);
                power += cols as f64 * self.sense.column_power(1.0 / g);
                slowest = slowest.max(self.sense.column_time(1.0 / g));
            }
            active.adc += (1.0 - none) * power * self.sense.window(slowest) + none * idle_sense;
        } else {
            active.adc += idle_sense;
        }
        let magnitude = (inputs.bits - 1) as f64;
        let mut total = sign.scaled(positions);
        total.add(&active.scaled(positions * magnitude));
        total
    }

    /// Leakage power of the periphery, W.
    pub fn leakage(&self, t: &Technology) -> f64 {
        let shift = |s: &Option<ShiftAdd>| s.as_ref().map_or(0.0, |s| s.leakage(t));
        self.row_switch.leakage(t)
            + self.col_switch.leakage(t)
            + self.mux.as_ref().map_or(0.0, |(_, d)| d.leakage(t))
            + self.encoder.leakage(t)
            + shift(&self.shift_weight)
            + shift(&self.shift_input)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// NeuroSim's default device at 32 nm LSTP, 128x128, 5-bit sense amplifiers.
    pub(crate) fn neurosim_32nm(size: usize, slices: usize) -> (Technology, SubArray) {
        let t = Technology::new(32, Roadmap::Lstp, 300.0).unwrap();
        let org = Organisation {
            size,
            cols_per_adc: 8,
            levels: 32,
            slices,
            input_bits: 8,
            current_mode: true,
        };
        let w = 56e-9;
        let dev = Device {
            r_on: 6e3,
            r_off: 9e5,
            v_read: 0.5,
            v_access: 1.1,
            v_write: 2.0,
            cell_height_f: 4.0,
            cell_width_f: 12.0,
            wire_res: 3.70e-8 / (w * w * 1.8),
            wire_width: w,
        };
        let sub = SubArray::new(&t, org, dev, Roadmap::Lstp, 300.0, Calibration::default());
        (t, sub)
    }

    /// NeuroSim V1.3's own values, printed from its `SubArray::CalculateLatency` for
    /// this subarray (32 nm LSTP, 128x128, R_on 6 kOhm, on/off 150, 0.5 V, 5-bit MLSA):
    /// row switch 1.30403e-10 s, mux 4.73543e-12 s, mux decoder 5.01654e-10 s, column
    /// 3.74117e-11 s, sense amplifier 1e-9 s, encoder 2.35314e-10 s, clock 2.49076e-9 s;
    /// capRow2 8.64139e-14 F, resRow 322.177 ohm, capCol 2.63404e-14 F.
    #[test]
    fn sensing_cycle_matches_neurosim_component_by_component() {
        let (t, sub) = neurosim_32nm(128, 4);
        let close = |ours: f64, theirs: f64, what: &str| {
            assert!(
                (ours / theirs - 1.0).abs() < 1e-5,
                "{what}: {ours:e} vs {theirs:e}"
            );
        };
        close(sub.cap_row, 8.64139e-14, "word-line capacitance");
        close(sub.res_row, 322.177, "word-line resistance");
        close(sub.cap_col, 2.63404e-14, "column capacitance");
        close(
            sub.row_switch.delay(sub.cap_row, sub.res_row),
            1.30403e-10,
            "row switch",
        );
        let (m, d) = sub.mux.as_ref().unwrap();
        let (load_n, load_p) = m.decoder_load();
        close(m.delay(), 4.73543e-12, "mux");
        close(d.delay(&t, load_n, load_p), 5.01654e-10, "mux decoder");
        close(sub.encoder.delay(&t), 2.35314e-10, "encoder");
        close(
            sub.sensing_period(&t, sub.slowest_column()),
            2.49076e-9,
            "clock",
        );
    }
}
