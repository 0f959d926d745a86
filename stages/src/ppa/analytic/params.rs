//! Every constant of the `analytic` PPA model ([`super`]), in one documented table.
//!
//! Sources are tagged in each field's documentation:
//! - **\[NeuroSim\]**: DNN+NeuroSim V1.3 (`Inference_pytorch/NeuroSIM/`: `Param.cpp`,
//!   `SubArray.cpp`, `SarADC.cpp`, `MultilevelSenseAmp.cpp`, `ProcessingUnit.cpp`,
//!   `Technology.cpp`, `formula.cpp`, `constant.h`); the module documentation of
//!   [`super`] says how its array read energy is accounted.
//! - **\[ISAAC\]**: Shafiee et al., "ISAAC: a convolutional neural network accelerator with
//!   in-situ analog arithmetic in crossbars", ISCA 2016, Table 1 (32 nm component
//!   figures; the ADC there is the 8-bit 1.2 GS/s SAR of Kull et al., ISSCC 2013).
//! - **\[Horowitz\]**: M. Horowitz, "Computing's energy problem", ISSCC 2014 (45 nm).
//! - **\[Murmann\]**: B. Murmann, "ADC Performance Survey" (Stanford, updated yearly;
//!   Walden figure of merit, energy per conversion step).
//! - **\[scaling\]**: classic constant-field scaling rules.
//! - **\[choice\]**: not known from a source; this project's documented assumption.
//!
//! ## Technology scaling
//! Component constants documented "at the reference node" hold at
//! [`AnalyticParams::ref_node_nm`].
//! At [`AnalyticParams::tech_node_nm`] the model multiplies areas by
//! `(tech_node_nm / ref_node_nm) ^ area_scaling_exponent` (default exponent 2: area goes
//! with the square of the feature size) and switching energies by
//! `(tech_node_nm / ref_node_nm) ^ energy_scaling_exponent` (default 1: `C V^2` with the
//! capacitance shrinking linearly and the supply roughly flat below 45 nm). The cell
//! array is not scaled this way: its area is computed from the cell size in F^2 at the
//! actual node, and its read energy from the design's voltage and conductances.

use serde::{Deserialize, Serialize};
use thiserror::Error;

/// How activations drive the crossbar rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InputMode {
    /// One read cycle per input bit through 1-bit drivers, results shifted and added
    /// digitally (\[NeuroSim\] and \[ISAAC\] both do this).
    #[default]
    BitSerial,
    /// One read per input through an `input_bits`-resolution DAC per row.
    SinglePulse,
}

/// A [`AnalyticParams`] field with a value the model cannot use.
#[derive(Debug, Clone, PartialEq, Error)]
#[error("invalid PPA parameter `{field}` = {value}: {reason}")]
pub struct InvalidParam {
    /// Name of the offending field.
    pub field: &'static str,
    /// Its value (integers converted to `f64`).
    pub value: f64,
    /// What the field must satisfy.
    pub reason: &'static str,
}

/// The constants of the `analytic` PPA model. `Default` gives the documented values; a JSON config
/// may override any subset (missing fields keep their defaults, unknown ones are
/// rejected).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AnalyticParams {
    // ---- technology ----
    /// Technology node, nm. Default 32: the paper ran DNN+NeuroSim at 32 nm.
    pub tech_node_nm: f64,
    /// The reference node at which the component constants below are quoted, nm.
    /// Default 32 (ISAAC's figures are for 32 nm).
    pub ref_node_nm: f64,
    /// Exponent of the area scaling rule `(node/ref)^x`, dimensionless. Default 2
    /// \[scaling\].
    pub area_scaling_exponent: f64,
    /// Exponent of the switching-energy scaling rule `(node/ref)^x`, dimensionless.
    /// Default 1 \[scaling\].
    pub energy_scaling_exponent: f64,
    /// Logic supply that charges the word lines, V. Default 0.9 [NeuroSim
    /// `Technology.cpp`: `vdd = 0.9` at 32 nm, HP and LSTP alike (0.85 at 22 nm); the
    /// word-line energy uses `tech.vdd` in `SubArray.cpp`].
    pub vdd_v: f64,
    /// Wire capacitance per length, fF/um. Default 0.2 [NeuroSim `SubArray.cpp`].
    pub wire_cap_ff_per_um: f64,

    // ---- cell array ----
    /// 1T1R cell height, in feature sizes F (one F = `tech_node_nm`). Default 4
    /// [NeuroSim `heightInFeatureSize1T1R`].
    pub cell_height_f: f64,
    /// 1T1R cell width, F. Default 12 [NeuroSim `widthInFeatureSize1T1R`]; the cell
    /// is 48 F^2 (the access transistor sets it; a bare cross-point cell is 4 F^2).
    pub cell_width_f: f64,
    /// Analog settling phase at the start of each read cycle (rows driven, bit lines
    /// charging), ns. Counts in latency only: no column current is charged over it,
    /// because an unselected column floats and draws no DC current (see
    /// [`AnalyticParams::sense_window_cycles`]). Independent of the clock. Default 10 [NeuroSim
    /// `readPulseWidth = 10e-9`; V1.3 copies it into `cell.readPulseWidth`
    /// (`ProcessingUnit.cpp`) but its inference read latency and energy
    /// (`SubArray.cpp`, `conventionalParallel`) never use it].
    pub read_pulse_ns: f64,
    /// Activation precision, bits (bit-serial read cycles per MVM). Default 8 [NeuroSim
    /// `numBitInput`; the paper quantises to 8 bits].
    pub input_bits: u32,
    /// How inputs drive the rows. Default [`InputMode::BitSerial`] \[NeuroSim\].
    pub input_mode: InputMode,
    /// Fraction of the mapped rows driven in a read: bit-serial, the probability that an
    /// input bit is 1; single pulse, the mean normalised input amplitude. Scales the
    /// column current and the word-line charging. In [0, 1]. Default 0.1: the rate
    /// DNN+NeuroSim's own traces of a trained VGG8 on CIFAR-10 give [DNN_NeuroSim_V1.4
    /// `Param.cpp`: `inputtoggle = 0.18` for VGG8-CIFAR10, "based on real traces of the
    /// input bits"; for independent bits a toggle rate `2p(1 - p) = 0.18` means
    /// `p = 0.10`]. Post-ReLU 8-bit activations are mostly zero or small, so their high
    /// bits are rarely set (NeuroSim's sign bit is always 0 after ReLU). NeuroSim's
    /// placeholder before trace data is known is 1/2 [MLP_NeuroSim_V3.0 `NeuroSim.cpp`:
    /// `activityRowRead = (double)1/2`]; DNN+NeuroSim V1.3 measures, for every input bit
    /// vector, the fraction of rows whose bit is nonzero (`ProcessingUnit.cpp`,
    /// `GetInputVector`). This model does not trace activations; set the measured value
    /// of your network here.
    pub input_activity: f64,
    /// Mean programmed conductance over all mapped cells as a fraction of the range:
    /// `G_avg = g_min + conductance_activity * (g_max - g_min)`. In [0, 1]. Default 0.25
    /// [choice, from the mapping: of each G+/G- pair at most one cell holds a nonzero
    /// slice and the other sits at `g_min`, so uniformly used levels (mean 0.5 of the
    /// range on the programmed cell) give 0.25 over both. NeuroSim's offset mapping
    /// without a pair (`Chip.cpp`, `LoadInWeightData`) has the same current per weight
    /// at twice the level on half the columns]. The training stage will supply the
    /// measured value of the trained, quantised weights.
    pub conductance_activity: f64,
    /// Resistance of a cell's access transistor in series with the device, as a
    /// fraction of the device's on resistance `1 / g_max`, dimensionless. Default 0.25
    /// [NeuroSim `Param.cpp`: `resistanceAccess = resistanceOn*IR_DROP_TOLERANCE`,
    /// `constant.h`: `IR_DROP_TOLERANCE 0.25`; `ProcessingUnit.cpp`,
    /// `GetColumnResistance`, adds it to every conducting cell].
    pub access_resistance_ratio: f64,
    /// Width-normalised linear-region on resistance of the access NMOS at the reference
    /// node, ohm * um: the transistor is sized `width = this / R_access`. Default 530.8 =
    /// 0.2 * 1.77 * 0.9 V / 600.2 uA/um [NeuroSim `SubArray.cpp`: `widthAccessCMOS =
    /// CalculateOnResistance(F) * LINEAR_REGION_RATIO / resCellAccess`; `constant.h`:
    /// `LINEAR_REGION_RATIO 0.20`; `formula.cpp`: `R = effectiveResistanceMultiplier *
    /// vdd / (currentOnNmos * width)`; `Technology.cpp` 32 nm LSTP: 1.77, 0.9 V,
    /// 600.2 uA/um at 300 K].
    pub access_ron_width_ohm_um: f64,
    /// Gate capacitance per um of transistor width at the reference node, fF/um: loads
    /// the word line once per cell. Default 1.691 = 1.2 * 0.8375 + 0.6857 [NeuroSim
    /// `formula.cpp`: `CalculateGateCap = (capIdealGate + capOverlap + capFringe) *
    /// width`; `Technology.cpp` 32 nm LSTP: `capIdealGate = 8.375279e-10`,
    /// `capFringe = 6.856677e-10` F/m, `capOverlap = 0.2 * capIdealGate`;
    /// `SubArray.cpp` adds it `numCol` times to the 1T1R word line `capRow2`].
    pub gate_cap_ff_per_um: f64,
    /// Effective voltage at which the sensing circuit draws the column current: column
    /// power = `column_sense_voltage_v * V_read * G_col`, V. Default 0.130, NeuroSim's
    /// default read circuit, the current-mode multilevel sense amplifier
    /// [`MultilevelSenseAmp.cpp`, `GetColumnPower`, 32 nm LP current mode:
    /// `0.0649 * exp(-2.303*log10(columnRes))` = 0.0649 W*ohm / R_col after `columnRes
    /// *= 0.5/readVoltage`, i.e. 0.130 V times the column current; 0.126 V at 22 nm].
    /// For NeuroSim's SAR ADC (`SarADC.cpp`, 32 nm LSTP: `0.079449 *
    /// exp(-2.297*log10(columnRes))`) use 0.159 (0.145 at 22 nm). Does not scale with
    /// the node.
    pub column_sense_voltage_v: f64,
    /// Clock cycles per conversion during which the selected column conducts. Default
    /// `Some(1)`: at 1 GHz, NeuroSim's default current-mode multilevel sense amplifier
    /// (`Param.cpp`: `SARADC = false`, `currentMode = true`;
    /// `MultilevelSenseAmp.cpp`: the column conducts for 1 ns at 22 nm and below).
    /// `None`: the whole conversion, `adc_bits + adc_extra_cycles` cycles, as for a SAR
    /// ADC [NeuroSim `SarADC.cpp`: column power times `(log2(levelOutput)+1)*1e-9` s,
    /// the SAR latency at its 1 GHz clock].
    pub sense_window_cycles: Option<u32>,
    /// Relative increase of the column sensing energy (column current and ADC
    /// conversion) per kelvin above 300 K, 1/K: energy times `1 + coeff * (T - 300 K)`.
    /// In \[0, 1/300). Default 1.3e-3 \[NeuroSim `SarADC.cpp` and
    /// `MultilevelSenseAmp.cpp`: `Column_Power *= (1+1.3e-3*(param->temp-300))`\].
    pub sense_temp_coeff_per_k: f64,

    // ---- mapping and schedule ----
    /// Copies of each conv layer's weights: multiplies its tiles and divides its
    /// sequential output positions (ceiling). FC layers are never duplicated. Default 1
    /// [choice: no duplication].
    pub conv_duplication: usize,
    /// `false`: layers run one after the other (latency = sum). `true`: layer pipeline
    /// (latency = slowest layer + one MVM step of every other layer as fill).
    /// Default `false` [NeuroSim `pipeline = false`].
    pub pipelined: bool,

    // ---- ADC and column mux ----
    /// Columns sharing one ADC through a mux. Default 8 [NeuroSim `numColMuxed`].
    pub cols_per_adc: usize,
    /// ADC area per output level at the reference node, um^2; an ADC of `b` bits takes
    /// `2^b` times this. Default 4.6875 = 1200 um^2 / 2^8 [ISAAC: 8-bit ADC, 8 per IMA
    /// in 0.0096 mm^2].
    pub adc_area_per_level_um2: f64,
    /// ADC energy per conversion step at the reference node, fJ; one `b`-bit conversion
    /// costs `2^b` times this. Default 3.09, NeuroSim's default current-mode multilevel
    /// sense amplifier over its 1 ns window \[`MultilevelSenseAmp.cpp`, `GetColumnPower`,
    /// 32 nm LP: `3.0875*(levelOutput-1)*1e-6` W, i.e. 3.09 fJ per output level\]. A
    /// ~1 GS/s SAR ADC is about twice that: 6.5 = 2 mW / 1.2 GS/s / 2^8 \[ISAAC, 16 mW
    /// for 8 ADCs\], a Walden figure of merit of a few tens of fJ per conversion step
    /// at the effective resolution \[Murmann\].
    pub adc_energy_per_level_fj: f64,
    /// Clock cycles a SAR conversion takes beyond one per bit (sampling), cycles.
    /// Default 1: `adc_bits + 1` cycles [NeuroSim `SarADC` latency `(bits+1)` ns at 1 GHz].
    pub adc_extra_cycles: u32,
    /// Column mux area per column at the reference node, um^2 (a pass gate wide enough
    /// for the column current). Default 0.1 [choice, ~100 F^2 at 32 nm].
    pub mux_area_per_column_um2: f64,
    /// Mux switching energy per ADC conversion at the reference node, fJ.
    /// Default 2 [choice: about 2 fF of gate and decoder load at ~1 V].
    pub mux_energy_per_conversion_fj: f64,

    // ---- input drivers ----
    /// Row driver/DAC area per output level at the reference node, um^2; a row's driver
    /// takes `2^b` times this with `b` = 1 (bit-serial) or `input_bits` (single pulse).
    /// Default 0.083 = 0.166 um^2 / 2 [ISAAC: 8 x 128 1-bit DACs in 0.00017 mm^2].
    pub dac_area_per_level_um2: f64,

    // ---- digital ----
    /// Shift-and-add unit area at the reference node, um^2; one per ADC plus one
    /// cross-tile accumulator per tile. Default 60 [ISAAC: 4 S+A in 0.00024 mm^2].
    pub shift_add_area_um2: f64,
    /// Energy per shift-add or accumulation at the reference node, fJ. Default 42 =
    /// 0.05 mW / 1.2 GHz [ISAAC: 4 S+A at 0.2 mW].
    pub shift_add_energy_fj: f64,
    /// Partial-sum register width per column, bits. Default 16 [choice: ADC bits plus
    /// input bits plus a few guard bits].
    pub psum_bits: u32,
    /// Buffer (SRAM/register) area per bit at the reference node, um^2. Default 0.128
    /// [ISAAC: 2 KB input register in 0.0021 mm^2].
    pub buffer_area_per_bit_um2: f64,
    /// Buffer access energy per bit at the reference node, fJ. Default 3: NeuroSim's
    /// default buffers are register files (`Param.cpp`: `globalBufferType`,
    /// `tileBufferType` and `peBufferType` false, "register file"), whose D flip-flop
    /// switches about 15 minimum gate capacitances at `vdd`, about 1 fJ per bit, for
    /// the write, the read and the clock \[`DFF.cpp`; choice: 3 x 1 fJ\]. An 8 KB SRAM
    /// costs 111 = 10 pJ per 64-bit read at 45 nm \[Horowitz\], times 32/45.
    pub buffer_energy_per_bit_fj: f64,

    // ---- chip level ----
    /// Interconnect (bus, routers, H-tree) area as a fraction of all other area,
    /// dimensionless. Default 0.52 [ISAAC tile: bus 0.09 + router 0.151/4 mm^2 over the
    /// other 0.244 mm^2].
    pub interconnect_area_overhead: f64,
    /// Interconnect energy as a fraction of the other dynamic energy of the periphery
    /// (cell conduction excluded), dimensionless. Default 0.062 [ISAAC tile: bus 7 +
    /// router 42/4 mW over the other 330 - 17.5 - 12 x 2.4 (crossbars) = 283.7 mW].
    pub interconnect_energy_overhead: f64,
    /// Leakage power of the CMOS periphery (everything but the cell arrays) at
    /// `leakage_ref_temp_k`, mW/mm^2. Default 0.1 [choice: low-standby-power devices,
    /// NeuroSim's default roadmap, ~100 pA/um off current x ~1 um of gate width per
    /// um^2 x ~1 V].
    pub leakage_mw_per_mm2: f64,
    /// Temperature at which `leakage_mw_per_mm2` holds, K. Default 300 [NeuroSim `temp`].
    pub leakage_ref_temp_k: f64,
    /// Leakage doubles for every this many kelvin above `leakage_ref_temp_k` (and halves
    /// below), K. Default 20 [choice: a gentler slope than the "doubles every 10 C" rule
    /// of thumb, which would multiply leakage by 1024 across the 300-400 K design range;
    /// 20 K gives 32x].
    pub leakage_doubling_k: f64,
}

impl Default for AnalyticParams {
    fn default() -> Self {
        AnalyticParams {
            tech_node_nm: 32.0,
            ref_node_nm: 32.0,
            area_scaling_exponent: 2.0,
            energy_scaling_exponent: 1.0,
            vdd_v: 0.9,
            wire_cap_ff_per_um: 0.2,
            cell_height_f: 4.0,
            cell_width_f: 12.0,
            read_pulse_ns: 10.0,
            input_bits: 8,
            input_mode: InputMode::BitSerial,
            input_activity: 0.1,
            conductance_activity: 0.25,
            access_resistance_ratio: 0.25,
            access_ron_width_ohm_um: 530.8,
            gate_cap_ff_per_um: 1.691,
            column_sense_voltage_v: 0.130,
            sense_window_cycles: Some(1),
            sense_temp_coeff_per_k: 1.3e-3,
            conv_duplication: 1,
            pipelined: false,
            cols_per_adc: 8,
            adc_area_per_level_um2: 4.6875,
            adc_energy_per_level_fj: 3.09,
            adc_extra_cycles: 1,
            mux_area_per_column_um2: 0.1,
            mux_energy_per_conversion_fj: 2.0,
            dac_area_per_level_um2: 0.083,
            shift_add_area_um2: 60.0,
            shift_add_energy_fj: 42.0,
            psum_bits: 16,
            buffer_area_per_bit_um2: 0.128,
            buffer_energy_per_bit_fj: 3.0,
            interconnect_area_overhead: 0.52,
            interconnect_energy_overhead: 0.062,
            leakage_mw_per_mm2: 0.1,
            leakage_ref_temp_k: 300.0,
            leakage_doubling_k: 20.0,
        }
    }
}

const POSITIVE: &str = "must be finite and > 0";
const NON_NEGATIVE: &str = "must be finite and >= 0";
const FRACTION: &str = "must be in [0, 1]";

fn check(
    field: &'static str,
    value: f64,
    ok: bool,
    reason: &'static str,
) -> Result<(), InvalidParam> {
    if ok {
        Ok(())
    } else {
        Err(InvalidParam {
            field,
            value,
            reason,
        })
    }
}

fn positive(field: &'static str, value: f64) -> Result<(), InvalidParam> {
    check(field, value, value.is_finite() && value > 0.0, POSITIVE)
}

fn non_negative(field: &'static str, value: f64) -> Result<(), InvalidParam> {
    check(
        field,
        value,
        value.is_finite() && value >= 0.0,
        NON_NEGATIVE,
    )
}

fn fraction(field: &'static str, value: f64) -> Result<(), InvalidParam> {
    check(field, value, (0.0..=1.0).contains(&value), FRACTION)
}

impl AnalyticParams {
    /// Checks every field; the error names the first bad one.
    pub fn validate(&self) -> Result<(), InvalidParam> {
        positive("tech_node_nm", self.tech_node_nm)?;
        positive("ref_node_nm", self.ref_node_nm)?;
        non_negative("area_scaling_exponent", self.area_scaling_exponent)?;
        non_negative("energy_scaling_exponent", self.energy_scaling_exponent)?;
        positive("vdd_v", self.vdd_v)?;
        non_negative("wire_cap_ff_per_um", self.wire_cap_ff_per_um)?;
        positive("cell_height_f", self.cell_height_f)?;
        positive("cell_width_f", self.cell_width_f)?;
        positive("read_pulse_ns", self.read_pulse_ns)?;
        check(
            "input_bits",
            f64::from(self.input_bits),
            (1..=16).contains(&self.input_bits),
            "must be in 1..=16",
        )?;
        fraction("input_activity", self.input_activity)?;
        fraction("conductance_activity", self.conductance_activity)?;
        positive("access_resistance_ratio", self.access_resistance_ratio)?;
        non_negative("access_ron_width_ohm_um", self.access_ron_width_ohm_um)?;
        non_negative("gate_cap_ff_per_um", self.gate_cap_ff_per_um)?;
        non_negative("column_sense_voltage_v", self.column_sense_voltage_v)?;
        if let Some(cycles) = self.sense_window_cycles {
            check(
                "sense_window_cycles",
                f64::from(cycles),
                (1..=64).contains(&cycles),
                "must be in 1..=64 when given",
            )?;
        }
        check(
            "sense_temp_coeff_per_k",
            self.sense_temp_coeff_per_k,
            (0.0..1.0 / 300.0).contains(&self.sense_temp_coeff_per_k),
            "must be in [0, 1/300)",
        )?;
        check(
            "conv_duplication",
            self.conv_duplication as f64,
            self.conv_duplication >= 1,
            "must be >= 1",
        )?;
        check(
            "cols_per_adc",
            self.cols_per_adc as f64,
            self.cols_per_adc >= 1,
            "must be >= 1",
        )?;
        non_negative("adc_area_per_level_um2", self.adc_area_per_level_um2)?;
        non_negative("adc_energy_per_level_fj", self.adc_energy_per_level_fj)?;
        check(
            "adc_extra_cycles",
            f64::from(self.adc_extra_cycles),
            self.adc_extra_cycles <= 64,
            "must be <= 64",
        )?;
        non_negative("mux_area_per_column_um2", self.mux_area_per_column_um2)?;
        non_negative(
            "mux_energy_per_conversion_fj",
            self.mux_energy_per_conversion_fj,
        )?;
        non_negative("dac_area_per_level_um2", self.dac_area_per_level_um2)?;
        non_negative("shift_add_area_um2", self.shift_add_area_um2)?;
        non_negative("shift_add_energy_fj", self.shift_add_energy_fj)?;
        check(
            "psum_bits",
            f64::from(self.psum_bits),
            (1..=64).contains(&self.psum_bits),
            "must be in 1..=64",
        )?;
        non_negative("buffer_area_per_bit_um2", self.buffer_area_per_bit_um2)?;
        non_negative("buffer_energy_per_bit_fj", self.buffer_energy_per_bit_fj)?;
        non_negative(
            "interconnect_area_overhead",
            self.interconnect_area_overhead,
        )?;
        non_negative(
            "interconnect_energy_overhead",
            self.interconnect_energy_overhead,
        )?;
        non_negative("leakage_mw_per_mm2", self.leakage_mw_per_mm2)?;
        positive("leakage_ref_temp_k", self.leakage_ref_temp_k)?;
        positive("leakage_doubling_k", self.leakage_doubling_k)?;
        Ok(())
    }

    /// Area multiplier from the reference node to `tech_node_nm`.
    pub fn area_scale(&self) -> f64 {
        (self.tech_node_nm / self.ref_node_nm).powf(self.area_scaling_exponent)
    }

    /// Switching-energy multiplier from the reference node to `tech_node_nm`.
    pub fn energy_scale(&self) -> f64 {
        (self.tech_node_nm / self.ref_node_nm).powf(self.energy_scaling_exponent)
    }

    /// Column sensing energy multiplier at `temp_k`:
    /// `1 + sense_temp_coeff_per_k * (temp_k - 300)`; positive for every `temp_k > 0`.
    pub fn sense_temp_factor(&self, temp_k: f64) -> f64 {
        1.0 + self.sense_temp_coeff_per_k * (temp_k - 300.0)
    }

    /// Leakage multiplier at `temp_k` relative to `leakage_ref_temp_k`:
    /// `2^((temp_k - leakage_ref_temp_k) / leakage_doubling_k)`.
    pub fn leakage_temp_factor(&self, temp_k: f64) -> f64 {
        ((temp_k - self.leakage_ref_temp_k) / self.leakage_doubling_k).exp2()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_documented_values() {
        let p = AnalyticParams::default();
        p.validate().unwrap();
        assert_eq!(p.tech_node_nm, 32.0);
        assert_eq!(p.cols_per_adc, 8);
        assert_eq!(p.input_bits, 8);
        assert_eq!(p.input_mode, InputMode::BitSerial);
        assert!(!p.pipelined);
        assert_eq!(p.conv_duplication, 1);
        assert_eq!(p.cell_height_f * p.cell_width_f, 48.0);
        // ISAAC's 8-bit ADC area, 1200 um^2; NeuroSim's current-mode sense amplifier
        // energy, 3.0875 uW per level over 1 ns at 32 nm.
        assert!((p.adc_area_per_level_um2 * 256.0 - 1200.0).abs() < 1e-9);
        assert!((p.adc_energy_per_level_fj - 3.0875).abs() < 0.01);
        assert_eq!(p.area_scale(), 1.0);
        assert_eq!(p.energy_scale(), 1.0);
        // The NeuroSim-derived constants: 0.2 * 1.77 * 0.9 V / 600.2 uA/um,
        // 1.2 * 0.8375 + 0.6857 fF/um, 2 * 0.0649 V.
        assert!((p.access_ron_width_ohm_um - 0.2 * 1.77 * 0.9 / 600.2e-6).abs() < 0.1);
        assert!((p.gate_cap_ff_per_um - (1.2 * 0.8375279 + 0.6856677)).abs() < 1e-3);
        assert!((p.column_sense_voltage_v - 2.0 * 0.0649).abs() < 1e-3);
        // A 6 kOhm device: 1.5 kOhm access transistor, 0.354 um = 11.1 F wide at 32 nm,
        // 0.6 fF of gate.
        let width_um = p.access_ron_width_ohm_um / (p.access_resistance_ratio * 6e3);
        assert!((width_um / 0.032 - 11.06).abs() < 0.01, "{width_um}");
        assert!((width_um * p.gate_cap_ff_per_um - 0.598).abs() < 1e-3);
        assert_eq!(p.sense_window_cycles, Some(1));
        assert_eq!(p.input_activity, 0.1);
        assert_eq!(p.sense_temp_factor(300.0), 1.0);
        assert!((p.sense_temp_factor(400.0) - 1.13).abs() < 1e-12);
    }

    #[test]
    fn scaling_rules() {
        let p = AnalyticParams {
            tech_node_nm: 16.0,
            ..AnalyticParams::default()
        };
        assert!((p.area_scale() - 0.25).abs() < 1e-12);
        assert!((p.energy_scale() - 0.5).abs() < 1e-12);
        assert!((p.leakage_temp_factor(300.0) - 1.0).abs() < 1e-12);
        assert!((p.leakage_temp_factor(340.0) - 4.0).abs() < 1e-12);
        assert!((p.leakage_temp_factor(280.0) - 0.5).abs() < 1e-12);
    }

    #[test]
    fn validate_names_the_bad_field() {
        let cases: Vec<(&str, AnalyticParams)> = vec![
            (
                "tech_node_nm",
                AnalyticParams {
                    tech_node_nm: 0.0,
                    ..AnalyticParams::default()
                },
            ),
            (
                "read_pulse_ns",
                AnalyticParams {
                    read_pulse_ns: f64::NAN,
                    ..AnalyticParams::default()
                },
            ),
            (
                "input_bits",
                AnalyticParams {
                    input_bits: 0,
                    ..AnalyticParams::default()
                },
            ),
            (
                "input_activity",
                AnalyticParams {
                    input_activity: 1.5,
                    ..AnalyticParams::default()
                },
            ),
            (
                "conv_duplication",
                AnalyticParams {
                    conv_duplication: 0,
                    ..AnalyticParams::default()
                },
            ),
            (
                "cols_per_adc",
                AnalyticParams {
                    cols_per_adc: 0,
                    ..AnalyticParams::default()
                },
            ),
            (
                "access_resistance_ratio",
                AnalyticParams {
                    access_resistance_ratio: 0.0,
                    ..AnalyticParams::default()
                },
            ),
            (
                "gate_cap_ff_per_um",
                AnalyticParams {
                    gate_cap_ff_per_um: -1.0,
                    ..AnalyticParams::default()
                },
            ),
            (
                "sense_window_cycles",
                AnalyticParams {
                    sense_window_cycles: Some(0),
                    ..AnalyticParams::default()
                },
            ),
            (
                "sense_temp_coeff_per_k",
                AnalyticParams {
                    sense_temp_coeff_per_k: 0.01,
                    ..AnalyticParams::default()
                },
            ),
            (
                "interconnect_area_overhead",
                AnalyticParams {
                    interconnect_area_overhead: -0.1,
                    ..AnalyticParams::default()
                },
            ),
            (
                "leakage_doubling_k",
                AnalyticParams {
                    leakage_doubling_k: 0.0,
                    ..AnalyticParams::default()
                },
            ),
        ];
        for (field, p) in cases {
            let err = p.validate().unwrap_err();
            assert_eq!(err.field, field);
            assert!(err.to_string().contains(field), "{err}");
        }
    }

    #[test]
    fn serde_defaults_partial_override_and_unknown_fields() {
        let p = AnalyticParams::default();
        let json = serde_json::to_string(&p).unwrap();
        assert_eq!(serde_json::from_str::<AnalyticParams>(&json).unwrap(), p);

        let partial: AnalyticParams =
            serde_json::from_str(r#"{"tech_node_nm": 22, "input_mode": "single_pulse"}"#).unwrap();
        assert_eq!(partial.tech_node_nm, 22.0);
        assert_eq!(partial.input_mode, InputMode::SinglePulse);
        assert_eq!(partial.cols_per_adc, 8);
        assert_eq!(partial.sense_window_cycles, Some(1));

        let window: AnalyticParams = serde_json::from_str(r#"{"sense_window_cycles": 1}"#).unwrap();
        assert_eq!(window.sense_window_cycles, Some(1));
        let with_window = AnalyticParams {
            sense_window_cycles: Some(2),
            ..AnalyticParams::default()
        };
        let json = serde_json::to_string(&with_window).unwrap();
        assert_eq!(
            serde_json::from_str::<AnalyticParams>(&json).unwrap(),
            with_window
        );

        let err = serde_json::from_str::<AnalyticParams>(r#"{"tech_node": 22}"#).unwrap_err();
        assert!(err.to_string().contains("tech_node"), "{err}");
    }
}
