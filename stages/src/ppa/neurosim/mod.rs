//! The `neurosim` PPA model: DNN+NeuroSim V1.3's inference accounting (Peng et al.,
//! "DNN+NeuroSim: an end-to-end benchmarking framework for compute-in-memory
//! accelerators with versatile device technologies", IEDM 2019; the C++ simulator in
//! `neurosim/DNN_NeuroSim_V1.3`, `Inference_pytorch/NeuroSIM/`), re-derived module for
//! module in this project's own code, in its default configuration: 1T1R RRAM read in
//! parallel, a multilevel sense amplifier per `cols_per_adc` columns, register-file
//! buffers, the novel mapping with duplication, activation outside the tiles,
//! layer-by-layer processing on a synchronous clock set by the sensing delay, and
//! NeuroSim's silicon calibration factors.
//!
//! The hierarchy, bottom up: [`gates`] (standard cells), [`circuits`] (the blocks),
//! [`subarray`] (an array with its periphery), [`pe`] (a grid of subarrays),
//! [`tile`] (PEs with buffers and an H-tree), [`chip`] (tiles, global buffer, global
//! H-tree, accumulation, ReLU, pooling), sized by [`floorplan`].
//!
//! **Where this model differs from NeuroSim, and why:**
//! - NeuroSim walks a trace of real weights and input bits; this model takes the
//!   expectation of the same sums under a stated weight distribution and input-bit
//!   activity ([`workload`]), which is what makes it take microseconds. The per-column
//!   sense power is evaluated at the mean column conductance (NeuroSim's fit is within
//!   0.02 % of linear), and a read's sensing window (the slowest column, at least 1 ns)
//!   at the mean column too.
//! - The synchronous clock is the slowest sensing cycle of any column the array can
//!   present, scanned over the range of column resistances (NeuroSim: the slowest one
//!   its trace happens to contain).
//! - Mappings NeuroSim refuses (a PE under 2x2 subarrays) are mapped on the minimum PE
//!   ([`floorplan`]); an access transistor wider than the 12 F cell widens the cell
//!   (NeuroSim exits).
//! - Where NeuroSim reuses a value left over from an earlier call (the leakage of an
//!   adder tree that a branch did not recompute), this model recomputes it.
//! - NeuroSim's own accounting quirks are kept, each noted where it applies (the
//!   buffer-core count of the conventional tile used for both tiles, the energy of the
//!   last PE counted again for idle PEs, the encoder's first two stages only, the
//!   H-tree's wire resistivity); they are what the reference values contain.

pub mod chip;
pub mod circuits;
pub mod floorplan;
pub mod gates;
pub mod pe;
pub mod reference;
pub mod subarray;
pub mod technology;
pub mod tile;
pub mod workload;

use serde::{Deserialize, Serialize};

use self::chip::Chip;
use self::circuits::Calibration;
use self::floorplan::Floorplan;
use self::subarray::{Device, Organisation, Parts, SubArray};
use self::technology::{Roadmap, Technology};
use self::workload::{InputBits, NetLayer, WeightLevels};
use super::{Breakdown, LayerPpa, PpaError, PpaModel, PpaReport};
use crate::arch::LayerSpec;
use crate::design::Design;

/// What a design's `freq_hz` means against the sensing-limited clock (the slowest
/// column's sensing cycle). A slower clock always sets the period: latency and leakage
/// stretch with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClockPolicy {
    /// NeuroSim's synchronous rule (the default): a faster clock than the sense
    /// amplifiers allow runs at their limit, so it buys no speed; the requested clock
    /// still sets how the digital delays round to cycles (NeuroSim counts them at its
    /// `clkFreq`). The noise model still sees the requested frequency.
    #[default]
    Saturate,
    /// A faster clock than the sense amplifiers allow is not a chip that can be built:
    /// the design is refused, and a study checks that its whole design space is below
    /// the limit.
    Refuse,
}

impl std::str::FromStr for ClockPolicy {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "saturate" => Ok(ClockPolicy::Saturate),
            "refuse" => Ok(ClockPolicy::Refuse),
            _ => Err(format!(
                "unknown clock policy {s:?}: use saturate or refuse"
            )),
        }
    }
}

/// The constants of the `neurosim` model (`[ppa.neurosim]`), NeuroSim V1.3's defaults
/// unless noted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NeurosimParams {
    /// CMOS node of the periphery, nm: 22, 32, 45, 65, 90 or 130. Default 32, the
    /// paper's (NeuroSim's default is 22).
    pub tech_node_nm: u32,
    /// Device roadmap of the periphery. Default low standby power.
    pub roadmap: Roadmap,
    /// Columns sharing one sense amplifier through the mux (`numColMuxed`). Default 8.
    pub cols_per_adc: usize,
    /// Current-mode (NeuroSim's default) or voltage-mode multilevel sense amplifier.
    pub current_mode: bool,
    /// The novel mapping of the common-kernel convolutions (`novelMapping`). Default true.
    pub novel_mapping: bool,
    /// Gate voltage of the access transistors, V (`accessVoltage`). Default 1.1.
    pub access_voltage_v: f64,
    /// Write voltage, V: above 1.5 V the subarray carries level shifters
    /// (`writeVoltage`). Default 2.
    pub write_voltage_v: f64,
    /// 1T1R cell height and width, F (`heightInFeatureSize1T1R`, `width...`).
    /// Defaults 4 and 12.
    pub cell_height_f: f64,
    /// See `cell_height_f`.
    pub cell_width_f: f64,
    /// Activation precision, bits: bit vectors per input (`numBitInput`). Default 8.
    pub input_bits: usize,
    /// Mean fraction of input bits that are 1, over all bit vectors of post-ReLU
    /// inputs (whose sign bit is 0). Default 0.1: the reference traces, and the rate
    /// NeuroSim's traces of a trained VGG8 give.
    pub input_activity: f64,
    /// Standard deviation of the 8-bit weights in NeuroSim's weight range (-1, 1): sets
    /// the cells' mean conductance. Default 0.2, the reference traces.
    pub weight_std: f64,
    /// Delay slack of the global and tile H-tree repeaters (`globalBusDelayTolerance`,
    /// `localBusDelayTolerance`). Default 0.1.
    pub global_bus_tolerance: f64,
    /// See `global_bus_tolerance`.
    pub local_bus_tolerance: f64,
    /// Folding of the global H-tree's wires (`treeFoldedRatio`). Default 4.
    pub tree_folding: f64,
    /// Cap on the global bus width, bits (`maxGlobalBusWidth`). Default 2048.
    pub max_global_bus_width: f64,
    /// What a clock above the sensing limit means. Default saturate (NeuroSim's rule).
    pub clock: ClockPolicy,
    /// NeuroSim's silicon calibration (`validated = true`).
    pub calibration: Calibration,
}

impl Default for NeurosimParams {
    fn default() -> Self {
        NeurosimParams {
            tech_node_nm: 32,
            roadmap: Roadmap::Lstp,
            cols_per_adc: 8,
            current_mode: true,
            novel_mapping: true,
            access_voltage_v: 1.1,
            write_voltage_v: 2.0,
            cell_height_f: 4.0,
            cell_width_f: 12.0,
            input_bits: 8,
            input_activity: 0.1,
            weight_std: 0.2,
            global_bus_tolerance: 0.1,
            local_bus_tolerance: 0.1,
            tree_folding: 4.0,
            max_global_bus_width: 2048.0,
            clock: ClockPolicy::Saturate,
            calibration: Calibration::default(),
        }
    }
}

/// The first invalid field of `p`, as (name, value, requirement).
fn invalid_field(p: &NeurosimParams) -> Option<(&'static str, f64, &'static str)> {
    let pos = |x: f64| x.is_finite() && x > 0.0;
    let frac = |x: f64| (0.0..=1.0).contains(&x);
    let checks: [(&'static str, f64, bool, &'static str); 13] = [
        (
            "tech_node_nm",
            f64::from(p.tech_node_nm),
            technology::NODES_NM.contains(&p.tech_node_nm),
            "must be one of 22, 32, 45, 65, 90, 130",
        ),
        (
            "cols_per_adc",
            p.cols_per_adc as f64,
            p.cols_per_adc.is_power_of_two() && p.cols_per_adc <= 64,
            "must be a power of two in 1..=64",
        ),
        (
            "access_voltage_v",
            p.access_voltage_v,
            pos(p.access_voltage_v),
            "must be > 0",
        ),
        (
            "write_voltage_v",
            p.write_voltage_v,
            pos(p.write_voltage_v),
            "must be > 0",
        ),
        (
            "cell_height_f",
            p.cell_height_f,
            pos(p.cell_height_f),
            "must be > 0",
        ),
        (
            "cell_width_f",
            p.cell_width_f,
            pos(p.cell_width_f),
            "must be > 0",
        ),
        (
            "input_bits",
            p.input_bits as f64,
            (2..=16).contains(&p.input_bits),
            "must be in 2..=16",
        ),
        (
            "input_activity",
            p.input_activity,
            frac(p.input_activity),
            "must be in [0, 1]",
        ),
        (
            "weight_std",
            p.weight_std,
            p.weight_std.is_finite() && p.weight_std > 0.0 && p.weight_std <= 10.0,
            "must be in (0, 10]",
        ),
        (
            "global_bus_tolerance",
            p.global_bus_tolerance,
            (0.0..=10.0).contains(&p.global_bus_tolerance),
            "must be in [0, 10]",
        ),
        (
            "local_bus_tolerance",
            p.local_bus_tolerance,
            (0.0..=10.0).contains(&p.local_bus_tolerance),
            "must be in [0, 10]",
        ),
        (
            "tree_folding",
            p.tree_folding,
            p.tree_folding >= 1.0,
            "must be >= 1",
        ),
        (
            "max_global_bus_width",
            p.max_global_bus_width,
            p.max_global_bus_width >= 1.0,
            "must be >= 1",
        ),
    ];
    checks
        .into_iter()
        .find(|c| !c.2)
        .map(|(name, value, _, why)| (name, value, why))
}

impl NeurosimParams {
    /// Checks every field; the error names the first bad one.
    pub fn validate(&self) -> Result<(), PpaError> {
        match invalid_field(self) {
            Some((field, value, reason)) => Err(PpaError::Param {
                field: format!("neurosim.{field}"),
                value,
                reason,
            }),
            None => Ok(()),
        }
    }

    /// Wire width of the node, nm (NeuroSim's table: the minimum metal pitch's half).
    pub fn wire_width_nm(&self) -> f64 {
        match self.tech_node_nm {
            22 => 40.0,
            32 => 56.0,
            45 => 80.0,
            65 => 105.0,
            90 => 110.0,
            _ => 175.0,
        }
    }
}

/// Wire resistance per length at the node's wire width and `temp_k`, ohm/m (NeuroSim's
/// aspect ratios and resistivities, `Param.cpp`).
fn wire_resistance(width_nm: f64, temp_k: f64) -> f64 {
    let (aspect, rho) = match width_nm as u32 {
        175 => (1.6, 2.20e-8),
        110 => (1.6, 2.52e-8),
        105 => (1.7, 2.68e-8),
        80 => (1.7, 3.31e-8),
        56 => (1.8, 3.70e-8),
        _ => (1.9, 4.03e-8),
    };
    let w = width_nm * 1e-9;
    rho * (1.0 + 0.00451 * (temp_k - 300.0).abs()) / (w * w * aspect)
}

/// Everything a block's model reads: technology, organisation, device, calibration,
/// data statistics, and the clock digital delays are counted in.
#[derive(Debug, Clone)]
pub struct Context {
    /// The technology at the design's temperature.
    pub tech: Technology,
    /// The subarray organisation.
    pub org: Organisation,
    /// The model's constants.
    pub params: NeurosimParams,
    /// Calibration factors.
    pub cal: Calibration,
    /// Weight level distribution.
    pub weights: WeightLevels,
    /// Input bit statistics.
    pub inputs: InputBits,
    /// Wire resistance per length, ohm/m.
    pub wire_res: f64,
    /// Wire width, nm.
    pub wire_width_nm: f64,
    /// Temperature, K.
    pub temp_k: f64,
    /// The clock digital delays round up to, Hz.
    pub count_hz: f64,
}

impl Context {
    /// ADC resolution, bits.
    pub fn adc_bits(&self) -> usize {
        self.org.levels.trailing_zeros() as usize
    }
}

/// A memo of blocks already computed: layers repeat the same block shapes many times.
pub(crate) struct Memo<K, V>(Vec<(K, V)>);

impl<K: PartialEq, V: Copy> Memo<K, V> {
    /// An empty memo.
    pub(crate) fn new() -> Self {
        Memo(Vec::new())
    }

    /// The value of `key`, computed by `f` the first time.
    pub(crate) fn get(&mut self, key: K, f: impl FnOnce() -> V) -> V {
        if let Some((_, v)) = self.0.iter().find(|(k, _)| *k == key) {
            return *v;
        }
        let v = f();
        self.0.push((key, v));
        v
    }
}

/// The design's device and subarray organisation. NeuroSim takes the temperature in
/// whole kelvins (`int temp`); so does this model.
fn build(design: &Design, p: &NeurosimParams) -> Result<(Context, Device), PpaError> {
    let temp_k = design.temp_k.trunc();
    let tech = Technology::new(p.tech_node_nm, p.roadmap, temp_k).ok_or(PpaError::TempRange {
        temp_k: design.temp_k,
    })?;
    let wire_width_nm = p.wire_width_nm();
    let wire_res = wire_resistance(wire_width_nm, temp_k);
    let org = Organisation {
        size: design.xbar_size as usize,
        cols_per_adc: p.cols_per_adc.min(design.xbar_size as usize),
        levels: 1 << design.adc_bits,
        slices: design.cells_per_weight() as usize,
        input_bits: p.input_bits,
        current_mode: p.current_mode,
    };
    let dev = Device {
        r_on: 1.0 / design.g_max,
        r_off: 1.0 / design.g_min,
        v_read: design.read_voltage,
        v_access: p.access_voltage_v,
        v_write: p.write_voltage_v,
        cell_height_f: p.cell_height_f,
        cell_width_f: p.cell_width_f,
        wire_res,
        wire_width: wire_width_nm * 1e-9,
    };
    let ctx = Context {
        tech,
        org,
        params: p.clone(),
        cal: p.calibration,
        weights: WeightLevels::new(u32::from(design.cell_bits), p.weight_std),
        inputs: InputBits::new(p.input_bits, p.input_activity),
        wire_res,
        wire_width_nm,
        temp_k,
        count_hz: design.freq_hz,
    };
    Ok((ctx, dev))
}

/// The sensing-limited clock period of `design`, s: the slowest sensing cycle of its
/// subarray.
pub fn sensing_period(design: &Design, p: &NeurosimParams) -> Result<f64, PpaError> {
    let (ctx, dev) = build(design, p)?;
    let sub = SubArray::new(&ctx.tech, ctx.org, dev, p.roadmap, ctx.temp_k, ctx.cal);
    Ok(sub.sensing_period(&ctx.tech, sub.slowest_column()))
}

fn breakdown(parts: &Parts, scale: f64) -> Breakdown {
    Breakdown {
        arrays: parts.array * scale,
        adc: parts.adc * scale,
        accumulation: parts.accumulation * scale,
        buffers: parts.buffer * scale,
        interconnect: parts.interconnect * scale,
        other: parts.other * scale,
    }
}

/// Estimates `layers` on `design` with the `neurosim` model.
pub fn estimate(
    layers: &[LayerSpec],
    design: &Design,
    p: &NeurosimParams,
) -> Result<PpaReport, PpaError> {
    p.validate()?;
    let (ctx, dev) = build(design, p)?;
    let t = &ctx.tech;
    let sub = SubArray::new(t, ctx.org, dev, p.roadmap, ctx.temp_k, ctx.cal);
    let sensing = sub.sensing_period(t, sub.slowest_column());
    let requested = 1.0 / design.freq_hz;
    if requested < sensing && p.clock == ClockPolicy::Refuse {
        return Err(PpaError::FreqAboveSensing {
            freq_hz: design.freq_hz,
            limit_hz: 1.0 / sensing,
        });
    }
    let period = sensing.max(requested);
    let net: Vec<NetLayer> = layers.iter().map(NetLayer::from_spec).collect();
    let plan = Floorplan::new(&net, ctx.org.slices, ctx.org.size, p.novel_mapping);
    let chip = Chip::new(&ctx, &net, plan, sub);
    let total_tiles = chip.plan.total_tiles() as f64;
    let mut out_layers = Vec::with_capacity(net.len());
    let (mut latency, mut energy, mut leakage) = (Breakdown::default(), Breakdown::default(), 0.0);
    let (mut latency_s, mut macs) = (0.0, 0u64);
    for (i, l) in net.iter().enumerate() {
        let run = chip.run_layer(&ctx, &net, i);
        let (rt, ct) = chip.plan.layer_tiles[i];
        let tiles = rt * ct;
        let seconds = run.latency.total * period;
        let leak = (total_tiles - tiles as f64) * seconds * run.tile_leakage;
        let lat = breakdown(&run.latency.parts, period * 1e9);
        let en = breakdown(&run.energy, 1e12);
        let tile_area = if chip.plan.novel[i] {
            chip.tile_novel.as_ref().map_or(0.0, |x| x.area)
        } else {
            chip.tile_conv.area
        };
        out_layers.push(LayerPpa {
            name: l.name.clone(),
            rows: l.rows(),
            cols: l.out_ch * ctx.org.slices,
            row_tiles: rt,
            col_tiles: ct,
            tiles,
            copies: chip.plan.speedup[i].0 * chip.plan.speedup[i].1,
            macs: l.macs,
            area_um2: tile_area * tiles as f64 * 1e12,
            latency_ns: seconds * 1e9,
            energy_pj: run.energy.total() * 1e12,
            leakage_pj: leak * 1e12,
            latency: lat,
            energy: en,
        });
        latency.add(&lat);
        energy.add(&en);
        leakage += leak;
        latency_s += seconds;
        macs += l.macs;
    }
    let area = chip.parts;
    let area_breakdown = Breakdown {
        arrays: area.array * 1e12,
        adc: area.adc * 1e12,
        accumulation: area.accumulation * 1e12,
        buffers: area.buffer * 1e12,
        interconnect: area.interconnect * 1e12,
        other: area.other * 1e12,
    };
    let energy_pj = energy.total() + leakage * 1e12;
    let area_um2 = chip.area * 1e12;
    let ops = 2.0 * macs as f64;
    Ok(PpaReport {
        model: PpaModel::Neurosim,
        area_um2,
        latency_ns: latency_s * 1e9,
        energy_pj,
        leakage_pj: leakage * 1e12,
        tops_per_w: ops / energy_pj,
        tops_per_mm2: ops * 1e3 / (latency_s * 1e9 * area_um2),
        clock_ns: period * 1e9,
        max_freq_hz: Some(1.0 / sensing),
        tiles: chip.plan.total_tiles(),
        area: area_breakdown,
        latency,
        energy,
        layers: out_layers,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::arch::{layers, ModelName};

    fn design(cell_bits: u8, xbar_size: u32, freq_hz: f64) -> Design {
        Design {
            cell_bits,
            xbar_size,
            freq_hz,
            temp_k: 300.0,
            adc_bits: 5,
            read_voltage: 0.5,
            g_min: 1.0 / 9e5,
            g_max: 1.0 / 6e3,
        }
    }

    fn resnet20(d: &Design, p: &NeurosimParams) -> Result<PpaReport, PpaError> {
        estimate(&layers(ModelName::ResNet20, 32, 10), d, p)
    }

    #[test]
    fn a_clock_above_the_sensing_limit_saturates_or_is_refused() {
        let p = NeurosimParams::default();
        let limit = 1.0 / sensing_period(&design(2, 128, 1e9), &p).unwrap();
        assert!((3.0e8..5.0e8).contains(&limit), "{limit}");
        let fast = resnet20(&design(2, 128, 1e9), &p).unwrap();
        assert!((fast.clock_ns - 1e9 / limit).abs() < 1e-9);
        let refuse = NeurosimParams {
            clock: ClockPolicy::Refuse,
            ..p.clone()
        };
        let err = resnet20(&design(2, 128, 1e9), &refuse).unwrap_err();
        assert!(err.to_string().contains("freq_hz"), "{err}");
        assert!(resnet20(&design(2, 128, limit * 0.99), &refuse).is_ok());
        // A clock at half the limit stretches the latency and the leakage about twice
        // (digital delays round to fewer cycles of the slower clock).
        let slow = resnet20(&design(2, 128, limit / 2.0), &p).unwrap();
        let at_limit = resnet20(&design(2, 128, limit), &p).unwrap();
        let ratio = slow.latency_ns / at_limit.latency_ns;
        assert!((1.8..=2.0).contains(&ratio), "{ratio}");
        assert!(slow.leakage_pj > 1.8 * at_limit.leakage_pj);
        assert!((slow.area_um2 - at_limit.area_um2).abs() < 1e-6 * slow.area_um2);
    }

    #[test]
    fn what_neurosim_refuses_is_mapped() {
        // ResNet20 on 128x128 subarrays with 8-bit cells: NeuroSim stops ("SubArray Size
        // is too large"); here the PEs take their minimum 2x2 subarrays.
        let r = resnet20(&design(8, 128, 1e9), &NeurosimParams::default()).unwrap();
        assert!(r.area_um2 > 0.0 && r.latency_ns > 0.0 && r.energy_pj > 0.0);
        let r4 = resnet20(&design(4, 128, 1e9), &NeurosimParams::default()).unwrap();
        assert!(r4.area_um2 > r.area_um2, "4-bit cells need more columns");
    }

    #[test]
    fn temperatures_outside_the_tables_and_bad_constants_are_errors_naming_them() {
        let p = NeurosimParams::default();
        let hot = Design {
            temp_k: 450.0,
            ..design(2, 64, 1e8)
        };
        assert!(resnet20(&hot, &p)
            .unwrap_err()
            .to_string()
            .contains("temp_k"));
        let bad = NeurosimParams {
            tech_node_nm: 14,
            ..p.clone()
        };
        let err = resnet20(&design(2, 64, 1e8), &bad).unwrap_err().to_string();
        assert!(err.contains("neurosim.tech_node_nm"), "{err}");
        let bad = NeurosimParams {
            input_activity: 1.5,
            ..p
        };
        let err = resnet20(&design(2, 64, 1e8), &bad).unwrap_err().to_string();
        assert!(err.contains("neurosim.input_activity"), "{err}");
    }

    #[test]
    fn totals_are_the_sums_of_layers_and_components() {
        let r = resnet20(&design(2, 64, 1e9), &NeurosimParams::default()).unwrap();
        let layers_latency: f64 = r.layers.iter().map(|l| l.latency_ns).sum();
        assert!((layers_latency - r.latency_ns).abs() < 1e-9 * r.latency_ns);
        let dynamic: f64 = r.layers.iter().map(|l| l.energy_pj).sum();
        let leakage: f64 = r.layers.iter().map(|l| l.leakage_pj).sum();
        assert!((dynamic + leakage - r.energy_pj).abs() < 1e-9 * r.energy_pj);
        assert!((r.energy.total() - dynamic).abs() < 1e-9 * dynamic);
        for l in &r.layers {
            assert!((l.energy.total() - l.energy_pj).abs() < 1e-9 * l.energy_pj);
            assert!((l.latency.total() - l.latency_ns).abs() < 1e-6 * l.latency_ns);
        }
        assert!(
            r.area.total() <= r.area_um2,
            "the parts leave the subarrays' empty area"
        );
        assert!(r.area.total() > 0.8 * r.area_um2);
    }
}
