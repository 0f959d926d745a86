//! The `analytic` PPA model: this project's first model of a ReRAM crossbar accelerator
//! running one DNN inference, in the spirit of DNN+NeuroSim (paper, section 5), with one
//! array and its periphery per crossbar. Kept beside the [`super::neurosim`] model for
//! comparison (`[ppa] model = "analytic"`).
//!
//! # Mapping
//! Each weight layer becomes a `rows x cols` matrix: `rows = in_ch * k * k` (or
//! `in_features`), `cols = out_ch * ceil(8 / cell_bits) * 2` (bit slicing, and a
//! differential G+/G- pair per slice). It is tiled on `xbar x xbar` arrays:
//! `row_tiles = ceil(rows / xbar)`, `col_tiles = ceil(cols / xbar)`, and each conv layer
//! is copied `conv_duplication` times. Every array ("tile") carries its own periphery:
//! `ceil(xbar / cols_per_adc)` ADCs behind a column mux, one shift-add unit per ADC plus a
//! cross-tile accumulator, one driver per row and input/partial-sum registers.
//!
//! # Latency (ns)
//! A layer runs `ceil(out_hw^2 / duplication)` matrix-vector steps (one for FC). A step
//! takes
//! ```text
//! input_cycles * (read_pulse_ns + n_conv * (adc_bits + adc_extra_cycles) / f)
//!     + ceil(log2(merge)) / f
//! ```
//! where `input_cycles` is `input_bits` (bit-serial) or 1,
//! `n_conv = ceil(min(cols, xbar) / adcs_per_tile)` conversions per ADC (at most
//! `cols_per_adc`; a SAR ADC resolves one bit per clock plus sampling), and the last term
//! is an adder tree merging the `merge = slices * 2 * row_tiles` partial sums of each
//! output, one level per clock. Layers add up, or with [`PpaParams::pipelined`] the
//! slowest layer counts plus one step of every other layer (pipeline fill).
//!
//! # Energy (pJ)
//! The array read energy follows how DNN+NeuroSim V1.3 accounts it for a 1T1R RRAM array
//! read in parallel (`SubArray.cpp`, `CalculatePower`, `conventionalParallel`), which has
//! no `V^2 G t` term over a read pulse at all:
//! - **Column current, only while the column is sensed.** A mux connects one column per
//!   ADC at a time; the unselected columns float and draw no DC current. NeuroSim charges
//!   each column's current inside its sense circuit's energy, once per input bit vector:
//!   `SarADC.cpp` and `MultilevelSenseAmp.cpp` (`GetColumnPower`) fit
//!   `P = c / R_col` with `R_col` scaled by `0.5 V / readVoltage`, i.e.
//!   `P = 2c * V_read * G_col`, and multiply it by the conversion time (SAR:
//!   `(log2(levelOutput)+1)` ns; current-mode multilevel sense amplifier: 1 ns at 22 nm).
//!   `G_col` sums, over the rows whose input bit is 1, each cell's conductance in series
//!   with its access transistor (`ProcessingUnit.cpp`, `GetColumnResistance`). Here each
//!   mapped cell contributes per read
//!   `column_sense_voltage_v * V_read * input_activity * G_cell * t_sense`, with
//!   `G_cell = 1 / (1 / G_avg + access_resistance_ratio / g_max)`,
//!   `G_avg = g_min + conductance_activity * (g_max - g_min)` and `t_sense` the
//!   conversion (`adc_bits + adc_extra_cycles` clock cycles) or
//!   [`PpaParams::sense_window_cycles`]. The read pulse ([`PpaParams::read_pulse_ns`])
//!   adds latency but no current: NeuroSim V1.3 never uses `readPulseWidth` in its
//!   inference read latency or energy.
//! - **Bit lines**: each mapped column charges its wire, `0.2 fF/um * length * V_read^2`,
//!   once per read (NeuroSim: `capBL * readVoltage^2 * numReadCells * numColMuxed`).
//! - **Word lines**: each driven row charges its wire plus the gates of the row's access
//!   transistors (NeuroSim `capRow2`), to `vdd`, once per mux phase (NeuroSim:
//!   `capRow2 * vdd^2 * numRow * activityRowRead * numColMuxed`): rows are pulsed again
//!   for every group of columns sensed. The access transistor is sized for
//!   `R_access = access_resistance_ratio / g_max` (`SubArray.cpp`, `widthAccessCMOS`).
//! - The column sensing energy (current and ADC) grows by `sense_temp_coeff_per_k` per
//!   kelvin above 300 K (NeuroSim `Column_Power *= (1+1.3e-3*(temp-300))`).
//!
//! Each mapped column is converted once per read (ADC energy `2^adc_bits` steps, plus
//! the mux). Each conversion feeds a shift-add, and each output value needs `merge - 1`
//! accumulations. Buffers move each input bit into every column tile's register and
//! write each output back. Interconnect adds a fixed fraction of the dynamic energy of
//! the periphery (data movement follows the digital traffic, not the analog cell
//! current), and leakage of the CMOS periphery (scaled with temperature) integrates over
//! the latency.
//!
//! What NeuroSim measures from data, this model takes as parameters with NeuroSim's
//! placeholder or a documented choice as default, to be replaced by measured values from
//! the training stage: the fraction of input bits that are 1
//! ([`PpaParams::input_activity`], NeuroSim `GetInputVector`) and the mean programmed
//! conductance ([`PpaParams::conductance_activity`], NeuroSim's column resistances of the
//! real weights). The column current, the larger part of the word-line energy, and hence
//! most of the array energy scale linearly with them.
//!
//! # Comparison with DNN+NeuroSim
//! The reference figure, about 45.5 mm^2 and 27 mW for VGG8 on CIFAR-10 at 22 nm with
//! 8-bit weights and inputs, 2-bit cells and a 4-bit ADC, is a DNN+NeuroSim V1.3 user's
//! run reported in that repository's issue 9 (the same thread mentions about 120 mm^2 and
//! 0.1 W for another VGG8 setting); it gives no latency or energy, and NeuroSim prints
//! no total power, so the figure is energy over latency. Test `vgg8_vs_neurosim` runs
//! that setting (128x128 arrays, 8 columns per ADC, 1 GHz, R_on = 6 kOhm, on/off ratio
//! 150, 0.5 V, 300 K) with the default parameters otherwise: 6344 arrays,
//! **15.7 mm^2, 1.09 ms, 47.8 uJ, 43.8 mW** (1.6 times 27 mW), 25.8 TOPS/W (5-bit ADC:
//! 21.2 mm^2, 1.26 ms, 60.1 uJ, 47.6 mW). Energy per image: column current 10.4 uJ,
//! word lines 11.9 uJ, ADC 10.7 uJ, shift-add 10.2 uJ, interconnect 2.1 uJ, leakage
//! 1.5 uJ, buffers 0.6 uJ, mux 0.4 uJ. The only machine-readable NeuroSim VGG8 result
//! (DNN_NeuroSim_V1.4 `Data/1.4_Release_test.csv`: 1-bit cells, pipelined) has 42 uJ
//! per image and 23.9 TOPS/W, the same order.
//!
//! Area is within a factor of 3 (2.9 below with the 4-bit ADC). NeuroSim maps signed
//! weights with an offset instead of a differential pair (half the columns), but
//! duplicates arrays for throughput and adds PE- and tile-level buffers, adder trees and
//! H-trees that this model does not have.
//!
//! The energy defaults are NeuroSim's default read path, each documented in
//! [`PpaParams`]: the current-mode multilevel sense amplifier, whose column conducts for
//! one cycle (1 ns), at its 0.130 V * V_read * G_col column power and 3.09 fJ per output
//! level; register-file buffers; and an input-bit activity of 0.1, the rate NeuroSim's
//! own traces of VGG8 on CIFAR-10 give. With a SAR ADC (the column conducting through
//! the whole conversion), SRAM buffers and NeuroSim's placeholder activity of 1/2, an
//! earlier version of this model gave about 400 mW for the same network; the test
//! checks that the SAR path costs more than 2.5 times the default. The activity is the
//! one input that should come from the network's own trace; this model does not
//! measure it.

pub mod params;

use serde::{Deserialize, Serialize};

use self::params::{AnalyticParams as PpaParams, InputMode};
use super::{check_workload, Breakdown, LayerPpa as CommonLayer, PpaError, PpaModel};
use crate::arch::{self, LayerSpec, ModelName};
use crate::design::Design;

/// Area per component, um^2.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct AreaBreakdown {
    /// ReRAM cell arrays (1T1R cells at the actual node).
    pub cell_arrays: f64,
    /// ADCs.
    pub adc: f64,
    /// Column multiplexers in front of the ADCs.
    pub mux: f64,
    /// Shift-add units and cross-tile accumulators.
    pub shift_add: f64,
    /// Row drivers (1-bit) or input DACs.
    pub input_drivers: f64,
    /// Input and partial-sum registers.
    pub buffers: f64,
    /// Buses and routers.
    pub interconnect: f64,
}

impl AreaBreakdown {
    /// Sum of all components, um^2.
    pub fn total(&self) -> f64 {
        self.cell_arrays
            + self.adc
            + self.mux
            + self.shift_add
            + self.input_drivers
            + self.buffers
            + self.interconnect
    }

    fn scaled(&self, k: f64) -> Self {
        AreaBreakdown {
            cell_arrays: self.cell_arrays * k,
            adc: self.adc * k,
            mux: self.mux * k,
            shift_add: self.shift_add * k,
            input_drivers: self.input_drivers * k,
            buffers: self.buffers * k,
            interconnect: self.interconnect * k,
        }
    }

    fn add(&mut self, o: &Self) {
        self.cell_arrays += o.cell_arrays;
        self.adc += o.adc;
        self.mux += o.mux;
        self.shift_add += o.shift_add;
        self.input_drivers += o.input_drivers;
        self.buffers += o.buffers;
        self.interconnect += o.interconnect;
    }
}

/// Energy per component for one inference, pJ.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct EnergyBreakdown {
    /// Column current while each column is sensed, and bit-line charging.
    pub cell_arrays: f64,
    /// ADC conversions.
    pub adc: f64,
    /// Column mux switching.
    pub mux: f64,
    /// Shift-add and partial-sum accumulation.
    pub shift_add: f64,
    /// Word-line charging (wire and access-transistor gates), once per mux phase.
    pub input_drivers: f64,
    /// Register/buffer traffic.
    pub buffers: f64,
    /// Buses and routers.
    pub interconnect: f64,
    /// Leakage of the CMOS periphery over the whole inference.
    pub leakage: f64,
}

impl EnergyBreakdown {
    /// Sum of all components, pJ.
    pub fn total(&self) -> f64 {
        self.dynamic() + self.leakage
    }

    /// Sum of all components but leakage, pJ.
    pub fn dynamic(&self) -> f64 {
        self.cell_arrays
            + self.adc
            + self.mux
            + self.shift_add
            + self.input_drivers
            + self.buffers
            + self.interconnect
    }

    fn add(&mut self, o: &Self) {
        self.cell_arrays += o.cell_arrays;
        self.adc += o.adc;
        self.mux += o.mux;
        self.shift_add += o.shift_add;
        self.input_drivers += o.input_drivers;
        self.buffers += o.buffers;
        self.interconnect += o.interconnect;
        self.leakage += o.leakage;
    }
}

/// The mapping and cost of one weight layer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LayerPpa {
    /// Layer name from [`arch::layers`].
    pub name: String,
    /// Weight-matrix rows (crossbar inputs).
    pub rows: usize,
    /// Weight-matrix columns after bit slicing and the differential pair.
    pub cols: usize,
    /// `ceil(rows / xbar)`.
    pub row_tiles: usize,
    /// `ceil(cols / xbar)`.
    pub col_tiles: usize,
    /// Arrays used: `row_tiles * col_tiles` (times `conv_duplication` for conv layers).
    pub tiles: usize,
    /// Area of those arrays with their periphery and interconnect share, um^2.
    pub area_um2: f64,
    /// Time to process one image, ns.
    pub latency_ns: f64,
    /// Dynamic energy for one image, interconnect included, leakage excluded, pJ.
    pub energy_pj: f64,
    /// Multiply-accumulates for one image.
    pub macs: u64,
    /// The adder-tree part of `latency_ns`, ns.
    pub accumulate_ns: f64,
    /// `energy_pj` by component, pJ.
    pub energy_parts: EnergyBreakdown,
    /// Copies of the layer (`conv_duplication` for convolutions).
    pub copies: usize,
}

/// The model's estimate for one network on one design.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PpaReport {
    /// Chip area, um^2 (sum of the layers' areas).
    pub area_um2: f64,
    /// Latency of one inference, ns.
    pub latency_ns: f64,
    /// Energy of one inference, leakage included, pJ.
    pub energy_pj: f64,
    /// Energy efficiency: `2 * MACs` operations per pJ, TOPS/W.
    pub tops_per_w: f64,
    /// Throughput per area: `2 * MACs / latency / area`, TOPS/mm^2.
    pub tops_per_mm2: f64,
    /// Crossbar arrays used.
    pub total_tiles: usize,
    /// Area per component, um^2.
    pub area_breakdown: AreaBreakdown,
    /// Energy per component, pJ.
    pub energy_breakdown: EnergyBreakdown,
    /// Per-layer mapping and costs, in forward order.
    pub layers: Vec<LayerPpa>,
}

impl PpaReport {
    /// Average power over one inference, mW (pJ / ns).
    pub fn power_mw(&self) -> f64 {
        self.energy_pj / self.latency_ns
    }

    /// The report in the models' common form, components mapped onto the common ones
    /// (the mux and the input drivers are other periphery).
    pub fn into_report(self, design: &Design) -> super::PpaReport {
        let a = &self.area_breakdown;
        let e = &self.energy_breakdown;
        let energy = |e: &EnergyBreakdown| Breakdown {
            arrays: e.cell_arrays,
            adc: e.adc,
            accumulation: e.shift_add,
            buffers: e.buffers,
            interconnect: e.interconnect,
            other: e.mux + e.input_drivers,
        };
        let latency = |l: &LayerPpa| Breakdown {
            adc: l.latency_ns - l.accumulate_ns,
            accumulation: l.accumulate_ns,
            ..Breakdown::default()
        };
        let mut total_latency = Breakdown::default();
        for l in &self.layers {
            total_latency.add(&latency(l));
        }
        super::PpaReport {
            model: PpaModel::Analytic,
            area_um2: self.area_um2,
            latency_ns: self.latency_ns,
            energy_pj: self.energy_pj,
            leakage_pj: e.leakage,
            tops_per_w: self.tops_per_w,
            tops_per_mm2: self.tops_per_mm2,
            clock_ns: 1e9 / design.freq_hz,
            max_freq_hz: None,
            tiles: self.total_tiles,
            area: Breakdown {
                arrays: a.cell_arrays,
                adc: a.adc,
                accumulation: a.shift_add,
                buffers: a.buffers,
                interconnect: a.interconnect,
                other: a.mux + a.input_drivers,
            },
            latency: total_latency,
            energy: energy(e),
            layers: self
                .layers
                .iter()
                .map(|l| CommonLayer {
                    name: l.name.clone(),
                    rows: l.rows,
                    cols: l.cols,
                    row_tiles: l.row_tiles,
                    col_tiles: l.col_tiles,
                    tiles: l.tiles,
                    copies: l.copies,
                    macs: l.macs,
                    area_um2: l.area_um2,
                    latency_ns: l.latency_ns,
                    energy_pj: l.energy_pj,
                    leakage_pj: 0.0,
                    latency: latency(l),
                    energy: energy(&l.energy_parts),
                })
                .collect(),
        }
    }
}

/// `ceil(log2(n))` for `n >= 1`.
fn ceil_log2(n: usize) -> u32 {
    if n <= 1 {
        0
    } else {
        usize::BITS - (n - 1).leading_zeros()
    }
}

/// Per-design constants shared by all layers.
struct Model<'a> {
    p: &'a PpaParams,
    xbar: usize,
    cells_per_weight: usize,
    adcs_per_tile: usize,
    input_cycles: f64,
    clk_ns: f64,
    conversion_ns: f64,
    /// One array with its periphery, interconnect excluded, um^2.
    tile_area: AreaBreakdown,
    /// Conduction energy per mapped cell per read, pJ.
    e_cell: f64,
    /// Bit-line charging per mapped column per array per read, pJ.
    e_bit_line: f64,
    /// Word-line charging per mapped row per mux phase per array per read, pJ.
    e_word_line: f64,
    /// Per ADC conversion, pJ.
    e_conversion: f64,
    /// Mux switching per conversion, pJ.
    e_mux: f64,
    /// Per shift-add or accumulation, pJ.
    e_shift_add: f64,
    /// Per buffer bit moved, pJ.
    e_buffer_bit: f64,
}

/// Cost of one layer as computed by [`Model::layer`].
struct LayerCost {
    ppa: LayerPpa,
    area: AreaBreakdown,
    energy: EnergyBreakdown,
    step_ns: f64,
}

impl<'a> Model<'a> {
    fn new(d: &Design, p: &'a PpaParams) -> Self {
        let xbar = d.xbar_size as usize;
        let xb = xbar as f64;
        let adcs_per_tile = xbar.div_ceil(p.cols_per_adc);
        let (input_cycles, dac_bits) = match p.input_mode {
            InputMode::BitSerial => (f64::from(p.input_bits), 1),
            InputMode::SinglePulse => (1.0, p.input_bits),
        };
        let clk_ns = 1e9 / d.freq_hz;
        let conversion_ns = f64::from(u32::from(d.adc_bits) + p.adc_extra_cycles) * clk_ns;
        let area_scale = p.area_scale();
        let energy_scale = p.energy_scale();
        let f_um = p.tech_node_nm * 1e-3;
        let adc_levels = f64::from(d.adc_bits).exp2();
        let muxed = p.cols_per_adc > 1;
        let tile_area = AreaBreakdown {
            cell_arrays: xb * xb * p.cell_height_f * p.cell_width_f * f_um * f_um,
            adc: adcs_per_tile as f64 * p.adc_area_per_level_um2 * adc_levels * area_scale,
            mux: if muxed {
                xb * p.mux_area_per_column_um2 * area_scale
            } else {
                0.0
            },
            shift_add: (adcs_per_tile + 1) as f64 * p.shift_add_area_um2 * area_scale,
            input_drivers: xb * p.dac_area_per_level_um2 * f64::from(dac_bits).exp2() * area_scale,
            buffers: xb
                * f64::from(p.input_bits + p.psum_bits)
                * p.buffer_area_per_bit_um2
                * area_scale,
            interconnect: 0.0,
        };
        let v = d.read_voltage;
        let sense_temp = p.sense_temp_factor(d.temp_k);
        // A conducting cell: the device at the mean programmed level in series with
        // its access transistor.
        let g_avg = d.g_min + p.conductance_activity * (d.g_max - d.g_min);
        let r_access = p.access_resistance_ratio / d.g_max;
        let g_cell = g_avg / (1.0 + g_avg * r_access);
        let sense_cycles = p
            .sense_window_cycles
            .unwrap_or(u32::from(d.adc_bits) + p.adc_extra_cycles);
        let sense_ns = f64::from(sense_cycles) * clk_ns;
        // V [V] * V [V] * G [S] * t [ns] = 1e-9 J = 1e3 pJ; fF * V^2 = fJ = 1e-3 pJ.
        let e_cell =
            p.column_sense_voltage_v * v * p.input_activity * g_cell * sense_ns * sense_temp * 1e3;
        let e_bit_line = p.wire_cap_ff_per_um * xb * p.cell_height_f * f_um * v * v * 1e-3;
        // Word line: its wire plus the gate of every cell's access transistor, sized
        // for `r_access` (ohm * um / ohm = um of width).
        let wl_wire_ff = p.wire_cap_ff_per_um * xb * p.cell_width_f * f_um;
        let gate_ff = p.gate_cap_ff_per_um * p.access_ron_width_ohm_um / r_access;
        let wl_gates_ff = xb * gate_ff * energy_scale;
        let e_word_line = p.input_activity * (wl_wire_ff + wl_gates_ff) * p.vdd_v * p.vdd_v * 1e-3;
        let fj_to_pj = energy_scale * 1e-3;
        Model {
            p,
            xbar,
            cells_per_weight: d.cells_per_weight() as usize,
            adcs_per_tile,
            input_cycles,
            clk_ns,
            conversion_ns,
            tile_area,
            e_cell,
            e_bit_line,
            e_word_line,
            e_conversion: p.adc_energy_per_level_fj * adc_levels * fj_to_pj * sense_temp,
            e_mux: if muxed {
                p.mux_energy_per_conversion_fj * fj_to_pj
            } else {
                0.0
            },
            e_shift_add: p.shift_add_energy_fj * fj_to_pj,
            e_buffer_bit: p.buffer_energy_per_bit_fj * fj_to_pj,
        }
    }

    fn layer(&self, spec: LayerSpec) -> LayerCost {
        let p = self.p;
        let rows = spec.crossbar_rows();
        let outs = spec.output_channels();
        let cols = outs * self.cells_per_weight * 2;
        let row_tiles = rows.div_ceil(self.xbar);
        let col_tiles = cols.div_ceil(self.xbar);
        let dup = if spec.is_conv() {
            p.conv_duplication
        } else {
            1
        };
        let tiles = row_tiles * col_tiles * dup;
        let positions = spec.output_positions();
        let steps = positions.div_ceil(dup);

        let conversions_per_adc = cols.min(self.xbar).div_ceil(self.adcs_per_tile);
        // Mux phases summed over the column tiles: full tiles, then the last one. The
        // word lines are driven again in every phase.
        let last_tile_cols = cols - (col_tiles - 1) * self.xbar;
        let mux_phases = (col_tiles - 1) * self.xbar.div_ceil(self.adcs_per_tile)
            + last_tile_cols.div_ceil(self.adcs_per_tile);
        let merge = self.cells_per_weight * 2 * row_tiles;
        let step_ns = self.input_cycles
            * (p.read_pulse_ns + conversions_per_adc as f64 * self.conversion_ns)
            + f64::from(ceil_log2(merge)) * self.clk_ns;
        let latency_ns = steps as f64 * step_ns;
        let accumulate_ns = steps as f64 * f64::from(ceil_log2(merge)) * self.clk_ns;

        let mut area = self.tile_area.scaled(tiles as f64);
        area.interconnect = area.total() * p.interconnect_area_overhead;

        let (rows_f, cols_f, outs_f) = (rows as f64, cols as f64, outs as f64);
        let (row_tiles_f, col_tiles_f) = (row_tiles as f64, col_tiles as f64);
        let pos = positions as f64;
        let reads = pos * self.input_cycles;
        let conversions = reads * cols_f * row_tiles_f;
        let mut energy = EnergyBreakdown {
            cell_arrays: reads
                * (rows_f * cols_f * self.e_cell + cols_f * row_tiles_f * self.e_bit_line),
            adc: conversions * self.e_conversion,
            mux: conversions * self.e_mux,
            shift_add: (conversions + pos * outs_f * (merge - 1) as f64) * self.e_shift_add,
            input_drivers: reads * rows_f * mux_phases as f64 * self.e_word_line,
            buffers: pos
                * (rows_f * col_tiles_f + outs_f)
                * f64::from(p.input_bits)
                * self.e_buffer_bit,
            interconnect: 0.0,
            leakage: 0.0,
        };
        energy.interconnect =
            (energy.dynamic() - energy.cell_arrays) * p.interconnect_energy_overhead;

        LayerCost {
            ppa: LayerPpa {
                macs: spec.macs(),
                name: spec.name,
                rows,
                cols,
                row_tiles,
                col_tiles,
                tiles,
                area_um2: area.total(),
                latency_ns,
                energy_pj: energy.dynamic(),
                accumulate_ns,
                energy_parts: energy,
                copies: dup,
            },
            area,
            energy,
            step_ns,
        }
    }
}

/// Estimates area, latency and energy of one `model` inference (square `input_hw` RGB
/// input, `num_classes` outputs) on the crossbar `design` with the constants `params`.
/// See the module documentation for the model.
pub fn estimate(
    model: ModelName,
    input_hw: usize,
    num_classes: usize,
    design: &Design,
    params: &PpaParams,
) -> Result<PpaReport, PpaError> {
    check_workload(model, input_hw, num_classes, design)?;
    params.validate()?;

    let m = Model::new(design, params);
    let specs = arch::layers(model, input_hw, num_classes);
    let mut layers = Vec::with_capacity(specs.len());
    let mut area = AreaBreakdown::default();
    let mut energy = EnergyBreakdown::default();
    let (mut sum_latency, mut sum_steps) = (0.0, 0.0);
    let (mut max_latency, mut step_of_slowest) = (0.0, 0.0);
    let (mut total_tiles, mut macs) = (0, 0);
    for spec in specs {
        let c = m.layer(spec);
        area.add(&c.area);
        energy.add(&c.energy);
        sum_latency += c.ppa.latency_ns;
        sum_steps += c.step_ns;
        if c.ppa.latency_ns > max_latency {
            max_latency = c.ppa.latency_ns;
            step_of_slowest = c.step_ns;
        }
        total_tiles += c.ppa.tiles;
        macs += c.ppa.macs;
        layers.push(c.ppa);
    }

    let latency_ns = if params.pipelined {
        max_latency + (sum_steps - step_of_slowest)
    } else {
        sum_latency
    };
    let periphery_mm2 = (area.total() - area.cell_arrays) * 1e-6;
    let leakage_mw =
        params.leakage_mw_per_mm2 * periphery_mm2 * params.leakage_temp_factor(design.temp_k);
    energy.leakage = leakage_mw * latency_ns;

    let area_um2 = area.total();
    let energy_pj = energy.total();
    let ops = 2.0 * macs as f64;
    Ok(PpaReport {
        area_um2,
        latency_ns,
        energy_pj,
        tops_per_w: ops / energy_pj,
        tops_per_mm2: ops * 1e3 / (latency_ns * area_um2),
        total_tiles,
        area_breakdown: area,
        energy_breakdown: energy,
        layers,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    /// The paper's setting (PytorX conductances, 0.2 V) at a given size and cell bits.
    fn design(xbar_size: u32, cell_bits: u8) -> Design {
        Design {
            cell_bits,
            xbar_size,
            freq_hz: 5e8,
            temp_k: 350.0,
            adc_bits: 5,
            read_voltage: 0.2,
            g_min: 3.33e-8,
            g_max: 3.33e-4,
        }
    }

    fn resnet20(d: &Design) -> PpaReport {
        estimate(ModelName::ResNet20, 32, 10, d, &PpaParams::default()).unwrap()
    }

    #[test]
    fn resnet20_tile_counts_by_hand() {
        // ResNet20 weight layers (rows = in_ch*9, outputs):
        //   G1 conv1 27 x 16 (x1), G2 stage-1 144 x 16 (x6), G3 144 x 32 (x1),
        //   G4 288 x 32 (x5), G5 288 x 64 (x1), G6 576 x 64 (x5), G7 FC 64 x 10 (x1).
        // cols = outputs * ceil(8/b) * 2.  Worked case xbar = 32, b = 2 (cols = 8 * out):
        //   G1 1*ceil(128/32)=1*4=4;  G2 ceil(144/32)=5 * 4 = 20, x6 = 120;
        //   G3 5 * ceil(256/32)=8 -> 40;  G4 ceil(288/32)=9 * 8 = 72, x5 = 360;
        //   G5 9 * ceil(512/32)=16 -> 144;  G6 ceil(576/32)=18 * 16 = 288, x5 = 1440;
        //   G7 ceil(64/32)=2 * ceil(80/32)=3 -> 6.   Total 4+120+40+360+144+1440+6 = 2114.
        // The other eight were counted the same way on paper:
        //   xbar 32:  b=4: 2+60+20+180+72+720+4 = 1058;  b=8: 1+30+10+90+36+360+2 = 529
        //   xbar 64:  b=2: 2+36+12+100+40+360+2 = 552;   b=4: 1+18+6+50+20+180+1 = 276;
        //             b=8: 1+18+3+25+10+90+1 = 148
        //   xbar 128: b=2: 1+12+4+30+12+100+1 = 160;     b=4: 1+12+2+15+6+50+1 = 87;
        //             b=8: 1+12+2+15+3+25+1 = 59
        let expected = [
            (32, 2, 2114),
            (32, 4, 1058),
            (32, 8, 529),
            (64, 2, 552),
            (64, 4, 276),
            (64, 8, 148),
            (128, 2, 160),
            (128, 4, 87),
            (128, 8, 59),
        ];
        for (xbar, bits, tiles) in expected {
            let r = resnet20(&design(xbar, bits));
            assert_eq!(r.total_tiles, tiles, "xbar {xbar}, cell_bits {bits}");
            assert_eq!(r.layers.iter().map(|l| l.tiles).sum::<usize>(), tiles);
        }
    }

    #[test]
    fn layer_mapping_details() {
        let r = resnet20(&design(64, 2));
        let first = &r.layers[0];
        assert_eq!(first.name, "conv1");
        assert_eq!(
            (first.rows, first.cols, first.row_tiles, first.col_tiles),
            (27, 128, 1, 2)
        );
        let fc = r.layers.last().unwrap();
        assert_eq!(
            (fc.rows, fc.cols, fc.row_tiles, fc.col_tiles),
            (64, 80, 1, 2)
        );
        assert_eq!(fc.macs, 640);
        assert_eq!(r.layers.len(), 20);
    }

    #[test]
    fn totals_are_sums_of_parts() {
        let r = resnet20(&design(64, 4));
        let layer_area: f64 = r.layers.iter().map(|l| l.area_um2).sum();
        assert!((layer_area - r.area_um2).abs() <= 1e-9 * r.area_um2);
        assert!((r.area_breakdown.total() - r.area_um2).abs() <= 1e-9 * r.area_um2);
        let layer_energy: f64 = r.layers.iter().map(|l| l.energy_pj).sum();
        let e = &r.energy_breakdown;
        assert!((layer_energy + e.leakage - r.energy_pj).abs() <= 1e-9 * r.energy_pj);
        assert!((e.total() - r.energy_pj).abs() <= 1e-9 * r.energy_pj);
        let layer_latency: f64 = r.layers.iter().map(|l| l.latency_ns).sum();
        assert!((layer_latency - r.latency_ns).abs() <= 1e-9 * r.latency_ns);
        let macs: u64 = r.layers.iter().map(|l| l.macs).sum();
        assert!((r.tops_per_w - 2.0 * macs as f64 / r.energy_pj).abs() < 1e-12);
        assert!(r.power_mw() > 0.0 && r.tops_per_mm2 > 0.0);
        for v in [
            e.cell_arrays,
            e.adc,
            e.mux,
            e.shift_add,
            e.input_drivers,
            e.buffers,
            e.interconnect,
            e.leakage,
        ] {
            assert!(v > 0.0 && v.is_finite());
        }
    }

    #[test]
    fn hand_computed_latency_of_one_layer() {
        // cnn_small FC layer (1024 -> 10) at xbar 128, 8-bit cells, 5-bit ADC, 1 GHz:
        // 16 ADCs; cols = 20 -> ceil(20/16) = 2 conversions per ADC of 6 cycles;
        // merge = 1 * 2 * 8 row tiles = 16 -> 4 adder levels.
        // step = 8 * (10 + 2 * 6) + 4 = 180 ns, one step.
        let d = Design {
            freq_hz: 1e9,
            ..design(128, 8)
        };
        let r = estimate(ModelName::CnnSmall, 32, 10, &d, &PpaParams::default()).unwrap();
        let fc = r.layers.last().unwrap();
        assert_eq!((fc.rows, fc.cols, fc.row_tiles), (1024, 20, 8));
        assert!((fc.latency_ns - 180.0).abs() < 1e-9, "{}", fc.latency_ns);
        // conv1 (27 -> 16): cols 32 -> 2 conversions; merge 2 -> 1 level;
        // step = 8 * (10 + 12) + 1 = 177 ns, 1024 positions.
        assert!((r.layers[0].latency_ns - 177.0 * 1024.0).abs() < 1e-6);
    }

    #[test]
    fn hand_computed_cell_energy_and_area() {
        // cnn_small FC (1024 -> 10) at 32 nm, xbar 128, 8-bit cells: 20 columns, 8 row
        // tiles, 1 column tile, 16 ADCs per tile -> ceil(20/16) = 2 mux phases.
        // 500 MHz: the column conducts for the sense amplifier's one cycle, 2 ns.
        // 350 K: sensing energy x (1 + 1.3e-3 * 50) = 1.065.
        let d = design(128, 8);
        let temp = 1.065;
        let g_avg = 3.33e-8 + 0.25 * (3.33e-4 - 3.33e-8);
        let r_access = 0.25 / 3.33e-4;
        let g_cell = 1.0 / (1.0 / g_avg + r_access);
        // 0.130 V * 0.2 V * 0.1 (activity) * G * 2 ns, per mapped cell per read.
        let per_cell_pj = 0.130 * 0.2 * 0.1 * g_cell * 2e-9 * temp * 1e12;
        // Bit line: 0.2 fF/um * 128 * 4 * 0.032 um * 0.04 V^2, per column, row tile, read.
        let per_col_pj = 0.2 * 128.0 * 4.0 * 0.032 * 0.04 * 1e-3;
        let reads = 8.0;
        let expected = reads * (1024.0 * 20.0 * per_cell_pj + 20.0 * 8.0 * per_col_pj);
        let params = PpaParams::default();
        let m = Model::new(&d, &params);
        let fc = arch::layers(ModelName::CnnSmall, 32, 10).pop().unwrap();
        let cost = m.layer(fc);
        assert!((cost.energy.cell_arrays - expected).abs() < 1e-9 * expected);
        // Word line: wire 0.2 fF/um * 128 * 12 * 0.032 um plus 128 access gates of
        // 1.691 fF/um * (530.8 ohm um / 750.75 ohm), at 0.9 V, activity 0.1, per row,
        // per mux phase (2), per read.
        let wl_ff = 0.2 * 128.0 * 12.0 * 0.032 + 128.0 * 1.691 * 530.8 / r_access;
        let per_row_phase_pj = 0.1 * wl_ff * 0.81 * 1e-3;
        let expected_wl = reads * 1024.0 * 2.0 * per_row_phase_pj;
        let wl = cost.energy.input_drivers;
        assert!(
            (wl - expected_wl).abs() < 1e-9 * expected_wl,
            "{wl} {expected_wl}"
        );
        // ADC: one 5-bit conversion per column, row tile and read: 3.09 fJ * 32.
        let expected_adc = reads * 20.0 * 8.0 * 3.09 * 32.0 * 1e-3 * temp;
        assert!((cost.energy.adc - expected_adc).abs() < 1e-9 * expected_adc);
        // One 128x128 tile's array: 16384 cells * 48 F^2 at F = 32 nm.
        let tile_cells_um2 = 16384.0 * 48.0 * 0.032 * 0.032;
        assert!((cost.area.cell_arrays - 8.0 * tile_cells_um2).abs() < 1e-6);
        // ADC: 16 per tile, 4.6875 um^2 * 2^5 each, 8 tiles.
        assert!((cost.area.adc - 8.0 * 16.0 * 4.6875 * 32.0).abs() < 1e-6);
    }

    #[test]
    fn sense_window_frequency_and_temperature() {
        let d = design(64, 2);
        // A SAR ADC's column conducts for the whole (5 + 1)-cycle conversion; the
        // default sense amplifier's for one cycle, 1/6 of the current.
        let sar_params = PpaParams {
            sense_window_cycles: None,
            ..PpaParams::default()
        };
        let sar = |d: &Design| estimate(ModelName::ResNet20, 32, 10, d, &sar_params).unwrap();
        let base = sar(&d);
        let one = resnet20(&d);
        let (b, o) = (&base.energy_breakdown, &one.energy_breakdown);
        let bit_lines = b.cell_arrays - 6.0 * (b.cell_arrays - o.cell_arrays) / 5.0;
        assert!(
            bit_lines > 0.0 && bit_lines < 0.01 * b.cell_arrays,
            "{bit_lines}"
        );
        assert_eq!(b.adc, o.adc);
        assert_eq!(base.latency_ns, one.latency_ns);
        // A slower clock stretches the window: more conduction energy, same ADC energy.
        let slow = sar(&Design {
            freq_hz: d.freq_hz / 2.0,
            ..d
        });
        assert!(slow.energy_breakdown.cell_arrays > 1.9 * b.cell_arrays);
        assert_eq!(slow.energy_breakdown.adc, b.adc);
        // Sensing energy grows 1.3e-3 per kelvin (350 K -> 400 K: 1.13 / 1.065).
        let hot = sar(&Design { temp_k: 400.0, ..d });
        let ratio = hot.energy_breakdown.adc / b.adc;
        assert!((ratio - 1.13 / 1.065).abs() < 1e-12, "{ratio}");
        // Unselected columns float: the read pulse adds latency, not array energy.
        let long_pulse = estimate(
            ModelName::ResNet20,
            32,
            10,
            &d,
            &PpaParams {
                read_pulse_ns: 20.0,
                ..sar_params.clone()
            },
        )
        .unwrap();
        assert!(long_pulse.latency_ns > base.latency_ns);
        assert_eq!(long_pulse.energy_breakdown.cell_arrays, b.cell_arrays);
    }

    #[test]
    fn access_transistor_loads_the_word_line() {
        // A lower on resistance needs a wider access transistor: more gate capacitance
        // on every word line, and a larger share of the cell in series.
        let d = design(128, 2);
        let low_ron = resnet20(&Design {
            g_max: 2.0 * d.g_max,
            ..d
        });
        let base = resnet20(&d);
        assert!(low_ron.energy_breakdown.input_drivers > 1.5 * base.energy_breakdown.input_drivers);
        let no_gates = estimate(
            ModelName::ResNet20,
            32,
            10,
            &d,
            &PpaParams {
                gate_cap_ff_per_um: 0.0,
                ..PpaParams::default()
            },
        )
        .unwrap();
        assert!(
            no_gates.energy_breakdown.input_drivers < 0.2 * base.energy_breakdown.input_drivers
        );
    }

    fn random_design(rng: &mut ChaCha8Rng) -> Design {
        Design {
            cell_bits: rng.random_range(1..=8),
            xbar_size: 1 << rng.random_range(3..=9),
            freq_hz: 10f64.powf(rng.random_range(7.0..9.0)),
            temp_k: rng.random_range(300.0..400.0),
            adc_bits: rng.random_range(2..=12),
            read_voltage: rng.random_range(0.05..0.5),
            g_min: 10f64.powf(rng.random_range(-8.0..-6.0)),
            g_max: 10f64.powf(rng.random_range(-5.0..-3.5)),
        }
    }

    fn random_params(rng: &mut ChaCha8Rng) -> PpaParams {
        PpaParams {
            tech_node_nm: rng.random_range(14.0..65.0),
            input_mode: if rng.random_bool(0.5) {
                InputMode::BitSerial
            } else {
                InputMode::SinglePulse
            },
            pipelined: rng.random_bool(0.5),
            conv_duplication: rng.random_range(1..=4),
            cols_per_adc: 1 << rng.random_range(0..=4),
            ..PpaParams::default()
        }
    }

    #[test]
    fn monotonic_properties_over_random_designs() {
        let mut rng = ChaCha8Rng::seed_from_u64(0x5eed_2021);
        for _ in 0..200 {
            let model = ModelName::ALL[rng.random_range(0..ModelName::ALL.len())];
            let d = random_design(&mut rng);
            let p = random_params(&mut rng);
            let run = |d: &Design| estimate(model, 32, 10, d, &p).unwrap();
            let base = run(&d);
            assert!(base.area_um2 > 0.0 && base.latency_ns > 0.0 && base.energy_pj > 0.0);

            if d.cell_bits < 8 {
                let more = run(&Design {
                    cell_bits: d.cell_bits + 1,
                    ..d
                });
                assert!(more.total_tiles <= base.total_tiles, "{d:?}");
                assert!(
                    more.area_breakdown.cell_arrays <= base.area_breakdown.cell_arrays,
                    "{d:?}"
                );
                assert!(
                    more.energy_breakdown.cell_arrays <= base.energy_breakdown.cell_arrays,
                    "{d:?}"
                );
            }
            if d.adc_bits < 12 {
                let more = run(&Design {
                    adc_bits: d.adc_bits + 1,
                    ..d
                });
                assert!(more.area_breakdown.adc > base.area_breakdown.adc, "{d:?}");
                assert!(
                    more.energy_breakdown.adc > base.energy_breakdown.adc,
                    "{d:?}"
                );
            }
            let faster = run(&Design {
                freq_hz: d.freq_hz * rng.random_range(1.01..4.0),
                ..d
            });
            assert!(faster.latency_ns < base.latency_ns, "{d:?}");
            if d.xbar_size < 512 {
                let bigger = run(&Design {
                    xbar_size: d.xbar_size * 2,
                    ..d
                });
                assert!(bigger.total_tiles <= base.total_tiles, "{d:?}");
            }
            let hotter = run(&Design {
                temp_k: d.temp_k + 10.0,
                ..d
            });
            assert!(hotter.energy_breakdown.leakage > base.energy_breakdown.leakage);
            assert!(hotter.energy_breakdown.adc > base.energy_breakdown.adc);
            assert!(hotter.energy_breakdown.cell_arrays > base.energy_breakdown.cell_arrays);
        }
    }

    #[test]
    fn validation_errors_name_the_parameter() {
        let ok = design(64, 4);
        let cases: Vec<(Design, &str)> = vec![
            (Design { xbar_size: 4, ..ok }, "xbar_size"),
            (
                Design {
                    xbar_size: 96,
                    ..ok
                },
                "xbar_size",
            ),
            (Design { freq_hz: 0.0, ..ok }, "freq_hz"),
            (
                Design {
                    freq_hz: f64::INFINITY,
                    ..ok
                },
                "freq_hz",
            ),
            (Design { adc_bits: 0, ..ok }, "adc_bits"),
            (Design { adc_bits: 17, ..ok }, "adc_bits"),
            (Design { cell_bits: 0, ..ok }, "cell_bits"),
            (Design { cell_bits: 9, ..ok }, "cell_bits"),
            (
                Design {
                    read_voltage: -0.1,
                    ..ok
                },
                "read_voltage",
            ),
            (Design { g_min: 0.0, ..ok }, "g_min"),
            (
                Design {
                    g_max: ok.g_min,
                    ..ok
                },
                "g_max",
            ),
            (
                Design {
                    temp_k: f64::NAN,
                    ..ok
                },
                "temp_k",
            ),
        ];
        let p = PpaParams::default();
        for (d, field) in cases {
            let err = estimate(ModelName::ResNet20, 32, 10, &d, &p).unwrap_err();
            assert!(err.to_string().contains(field), "{field}: {err}");
        }
        let err = estimate(ModelName::Vgg11, 16, 10, &ok, &p).unwrap_err();
        assert!(err.to_string().contains("input_hw"), "{err}");
        let err = estimate(ModelName::ResNet20, 32, 0, &ok, &p).unwrap_err();
        assert!(err.to_string().contains("num_classes"), "{err}");
        let bad = PpaParams {
            read_pulse_ns: 0.0,
            ..PpaParams::default()
        };
        let err = estimate(ModelName::ResNet20, 32, 10, &ok, &bad).unwrap_err();
        assert!(matches!(err, PpaError::Params(_)));
        assert!(err.to_string().contains("read_pulse_ns"), "{err}");
    }

    #[test]
    fn duplication_trades_area_for_latency() {
        let d = design(64, 4);
        let base = resnet20(&d);
        let p2 = PpaParams {
            conv_duplication: 2,
            ..PpaParams::default()
        };
        let dup = estimate(ModelName::ResNet20, 32, 10, &d, &p2).unwrap();
        let fc_tiles = base.layers.last().unwrap().tiles;
        assert_eq!(
            dup.total_tiles,
            2 * (base.total_tiles - fc_tiles) + fc_tiles
        );
        assert!(dup.area_um2 > base.area_um2);
        assert!(dup.latency_ns < base.latency_ns);
        // Same reads in total: the dynamic energy does not change.
        let (a, b) = (
            base.energy_breakdown.dynamic(),
            dup.energy_breakdown.dynamic(),
        );
        assert!((a - b).abs() <= 1e-9 * a);
    }

    #[test]
    fn pipelining_bounds_and_input_modes() {
        let d = design(128, 2);
        let seq = resnet20(&d);
        let pipe = estimate(
            ModelName::ResNet20,
            32,
            10,
            &d,
            &PpaParams {
                pipelined: true,
                ..PpaParams::default()
            },
        )
        .unwrap();
        let slowest = seq.layers.iter().map(|l| l.latency_ns).fold(0.0, f64::max);
        assert!(pipe.latency_ns < seq.latency_ns);
        assert!(pipe.latency_ns > slowest);
        assert_eq!(pipe.area_um2, seq.area_um2);

        let single = estimate(
            ModelName::ResNet20,
            32,
            10,
            &d,
            &PpaParams {
                input_mode: InputMode::SinglePulse,
                ..PpaParams::default()
            },
        )
        .unwrap();
        assert!(single.latency_ns < seq.latency_ns);
        assert!(single.area_breakdown.input_drivers > seq.area_breakdown.input_drivers);
        assert!(single.energy_breakdown.adc < seq.energy_breakdown.adc);
    }

    #[test]
    fn smaller_node_is_smaller_and_cheaper() {
        let d = design(64, 2);
        let at = |node: f64| {
            let p = PpaParams {
                tech_node_nm: node,
                ..PpaParams::default()
            };
            estimate(ModelName::ResNet20, 32, 10, &d, &p).unwrap()
        };
        let (big, small) = (at(45.0), at(22.0));
        assert!(small.area_um2 < big.area_um2);
        assert!(small.energy_breakdown.adc < big.energy_breakdown.adc);
        assert!(small.energy_breakdown.shift_add < big.energy_breakdown.shift_add);
        assert_eq!(small.total_tiles, big.total_tiles);
    }

    #[test]
    fn report_serialises_with_component_keys() {
        let r = resnet20(&design(32, 8));
        let v = serde_json::to_value(&r).unwrap();
        for key in [
            "area_um2",
            "latency_ns",
            "energy_pj",
            "tops_per_w",
            "tops_per_mm2",
            "total_tiles",
            "area_breakdown",
            "energy_breakdown",
            "layers",
        ] {
            assert!(v.get(key).is_some(), "{key}");
        }
        assert!(v["area_breakdown"]["adc"].as_f64().unwrap() > 0.0);
        assert!(v["energy_breakdown"]["leakage"].as_f64().unwrap() > 0.0);
        assert_eq!(v["layers"][0]["name"], "conv1");
        let back: PpaReport = serde_json::from_value(v).unwrap();
        assert_eq!(back, r);
    }

    /// DNN+NeuroSim V1.3's setting for VGG8 at 22 nm, as in the figure it is compared
    /// with. See the module documentation for the numbers this gives and why its power
    /// exceeds NeuroSim's.
    #[test]
    fn vgg8_vs_neurosim() {
        let g_max = 1.0 / 6e3;
        let d = Design {
            cell_bits: 2,
            xbar_size: 128,
            freq_hz: 1e9,
            temp_k: 300.0,
            adc_bits: 4,
            read_voltage: 0.5,
            g_min: g_max / 150.0,
            g_max,
        };
        let p = PpaParams {
            tech_node_nm: 22.0,
            ..PpaParams::default()
        };
        let run = |d: &Design, p: &PpaParams| {
            let r = estimate(ModelName::Vgg8, 32, 10, d, p).unwrap();
            let e = &r.energy_breakdown;
            println!(
                "VGG8 adc {} window {:?}: tiles {}, area {:.2} mm^2, latency {:.4} ms, \
                 energy {:.1} uJ, power {:.1} mW, {:.3} TOPS/W, {:.4} TOPS/mm^2, \
                 energy uJ: cells {:.1}, adc {:.1}, mux {:.2}, shift-add {:.1}, \
                 word lines {:.1}, buffers {:.1}, interconnect {:.1}, leakage {:.2}",
                d.adc_bits,
                p.sense_window_cycles,
                r.total_tiles,
                r.area_um2 * 1e-6,
                r.latency_ns * 1e-6,
                r.energy_pj * 1e-6,
                r.power_mw(),
                r.tops_per_w,
                r.tops_per_mm2,
                e.cell_arrays * 1e-6,
                e.adc * 1e-6,
                e.mux * 1e-6,
                e.shift_add * 1e-6,
                e.input_drivers * 1e-6,
                e.buffers * 1e-6,
                e.interconnect * 1e-6,
                e.leakage * 1e-6,
            );
            r
        };
        let r = run(&d, &p);
        let adc5 = run(&Design { adc_bits: 5, ..d }, &p);
        // NeuroSim's SAR ADC read circuit and SRAM buffers instead of its defaults.
        let sar = run(
            &d,
            &PpaParams {
                sense_window_cycles: None,
                column_sense_voltage_v: 0.145,
                adc_energy_per_level_fj: 6.5,
                buffer_energy_per_bit_fj: 111.0,
                ..p.clone()
            },
        );
        // NeuroSim's placeholder activity before traces are known.
        let placeholder = run(
            &d,
            &PpaParams {
                input_activity: 0.5,
                ..p.clone()
            },
        );
        assert_eq!(r.total_tiles, 6344);
        // Area within a factor of 3 of NeuroSim's ~45.5 mm^2, and power within a
        // factor of 3 of its ~27 mW, with either ADC.
        for x in [&r, &adc5] {
            let area_mm2 = x.area_um2 * 1e-6;
            assert!((45.5 / 3.0..=45.5 * 3.0).contains(&area_mm2), "{area_mm2}");
            assert!((9.0..=81.0).contains(&x.power_mw()), "{}", x.power_mw());
        }
        // The SAR conversion window and SRAM buffers cost several times more; the
        // placeholder activity of 1/2 drives more rows and charges more word lines.
        assert!(sar.power_mw() > 2.5 * r.power_mw(), "{}", sar.power_mw());
        assert!(placeholder.power_mw() > 1.5 * r.power_mw());
        assert!(
            placeholder.energy_breakdown.input_drivers > 4.9 * r.energy_breakdown.input_drivers
        );
    }

    /// The paper's ResNet20 setting at 32 nm: 2-bit cells, 128x128, 500 MHz, 350 K,
    /// PytorX conductances, 0.2 V, 5-bit ADC.
    #[test]
    fn resnet20_paper_setting() {
        let r = resnet20(&design(128, 2));
        let e = &r.energy_breakdown;
        println!(
            "ResNet20: tiles {}, area {:.3} mm^2, latency {:.4} ms, energy {:.2} uJ, \
             power {:.2} mW, {:.3} TOPS/W, energy uJ: cells {:.2}, adc {:.2}, \
             word lines {:.2}, buffers {:.2}, shift-add {:.2}",
            r.total_tiles,
            r.area_um2 * 1e-6,
            r.latency_ns * 1e-6,
            r.energy_pj * 1e-6,
            r.power_mw(),
            r.tops_per_w,
            e.cell_arrays * 1e-6,
            e.adc * 1e-6,
            e.input_drivers * 1e-6,
            e.buffers * 1e-6,
            e.shift_add * 1e-6,
        );
        assert_eq!(r.total_tiles, 160);
        assert!(r.area_um2 > 0.0 && r.power_mw() > 0.0);
    }
}
