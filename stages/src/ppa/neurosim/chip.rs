//! The chip: tiles on a grid, a global buffer, the global H-tree, an accumulator over
//! tiles, the ReLU units and max pooling, after DNN+NeuroSim V1.3's `Chip.cpp` and
//! `main.cpp` (layer-by-layer processing, synchronous clock).

use super::circuits::buffer::Buffer;
use super::circuits::logic::{ceil_log2, AdderTree, BitShifter, MaxPooling};
use super::circuits::wires::{HTree, HTreeLayout};
use super::floorplan::Floorplan;
use super::gates::Fit;
use super::subarray::{AreaParts, Block, Latency, Parts, SubArray};
use super::tile::{Tile, TileRun};
use super::workload::NetLayer;
use super::{Context, Memo};

/// Global buffer cores hold this many bits (128 x 128, NeuroSim's
/// `globalBufferCoreSizeRow` and `...Col`), read 128 bits at a time.
const GLOBAL_CORE: (usize, usize) = (128 * 128, 128);

/// The chip built for one network.
#[derive(Debug, Clone)]
pub struct Chip {
    /// The floorplan.
    pub plan: Floorplan,
    /// The subarray every PE is built from.
    pub subarray: SubArray,
    /// The novel-mapped tile (when some layer uses it).
    pub tile_novel: Option<Tile>,
    /// The conventional tile.
    pub tile_conv: Tile,
    global_buffer: Buffer,
    buffer_cores: f64,
    bus_width: f64,
    htree: HTree,
    /// The global H-tree over the tiles, laid out over each kind of tile.
    htree_layout: (HTreeLayout, HTreeLayout),
    accumulation: AdderTree,
    /// Accumulator trees and ReLU units: the widest tile's outputs per cycle.
    lanes: f64,
    relu: BitShifter,
    pooling: MaxPooling,
    /// Chip area, m^2.
    pub area: f64,
    /// Its parts, m^2.
    pub parts: AreaParts,
}

/// One layer's result, in cycles and joules.
#[derive(Debug, Clone, Copy, Default)]
pub struct LayerRun {
    /// Latency, cycles.
    pub latency: Latency,
    /// Dynamic energy by category, J.
    pub energy: Parts,
    /// Leakage power of one of the layer's tiles, W (NeuroSim charges every other
    /// tile this while the layer runs).
    pub tile_leakage: f64,
}

impl Chip {
    /// Lays out the chip for `layers` with `plan`.
    pub fn new(ctx: &Context, layers: &[NetLayer], plan: Floorplan, subarray: SubArray) -> Self {
        let t = &ctx.tech;
        let s = ctx.org.size;
        let novel_used = ctx.params.novel_mapping;
        let cores = Tile::cores(ctx, plan.pes_conv_side(), plan.pe_conv);
        let tile_conv = Tile::new(
            ctx,
            &subarray,
            false,
            plan.pes_conv_side(),
            plan.pe_conv,
            cores,
        );
        let tile_novel = (novel_used && plan.pes_novel > 0)
            .then(|| Tile::new(ctx, &subarray, true, plan.pes_novel, plan.pe_novel, cores));
        let side_novel = (plan.pes_novel as f64).sqrt().ceil();
        let per_adc = ctx.org.cols_per_adc as f64;
        // The global bus: a tile's input and output lines per layer, halved to the cap.
        let mut bus_width: f64 = layers
            .iter()
            .zip(&plan.novel)
            .map(|(_, &nm)| {
                let w = if nm {
                    plan.pe_novel as f64 * side_novel
                } else {
                    plan.tile_conv as f64
                };
                w + w / per_adc
            })
            .sum();
        while bus_width > ctx.params.max_global_bus_width {
            bus_width /= 2.0;
        }
        let max_input = layers.iter().map(NetLayer::input_size).max().unwrap_or(0);
        let buffer_cores = ((ctx.org.input_bits * max_input) as f64 / GLOBAL_CORE.0 as f64).ceil();
        let (grid_rows, grid_cols) = plan.grid;
        let tile_h = tile_novel
            .as_ref()
            .map_or(0.0, |x| x.side)
            .max(tile_conv.side);
        let buffer_height = grid_rows as f64 * tile_h;
        let global_buffer =
            Buffer::new(t, GLOBAL_CORE.0, GLOBAL_CORE.1, Fit::Height(buffer_height));
        let buffer_area = global_buffer.shape.area() * buffer_cores;
        let buffer_width = buffer_area / buffer_height;
        let htree = HTree::new(
            t,
            grid_rows,
            grid_cols,
            ctx.params.global_bus_tolerance,
            bus_width,
            ctx.wire_res,
            ctx.wire_width_nm,
            ctx.temp_k,
        );
        let htree_area = htree.layout(tile_h, tile_h, ctx.params.tree_folding).area;
        let htree_layout = (
            htree.layout(tile_conv.side, tile_conv.side, ctx.params.tree_folding),
            tile_novel.as_ref().map_or_else(
                || htree.layout(tile_conv.side, tile_conv.side, ctx.params.tree_folding),
                |x| htree.layout(x.side, x.side, ctx.params.tree_folding),
            ),
        );
        let pooling = MaxPooling::new(t, ctx.org.input_bits, 4, plan.tile_conv, buffer_width);
        let (throughput, from_subarrays) = if novel_used {
            (
                (plan.tile_conv as f64).max(side_novel * plan.pe_novel as f64),
                (plan.pe_conv.div_ceil(s).max(plan.pe_novel.div_ceil(s)))
                    * (plan.pes_conv_side().max(side_novel as usize)),
            )
        } else {
            (
                plan.tile_conv as f64,
                plan.pe_conv.div_ceil(s) * plan.pes_conv_side(),
            )
        };
        let max_tiles_added = plan.layer_tiles.iter().map(|t| t.0).max().unwrap_or(1);
        let lanes = (throughput / per_adc).ceil() as usize;
        let acc_bits =
            ctx.adc_bits() + ctx.org.input_bits + ctx.org.slices + 1 + ceil_log2(from_subarrays);
        let accumulation = AdderTree::new(
            t,
            max_tiles_added,
            acc_bits,
            lanes,
            Fit::Width(buffer_height / 3.0),
        );
        let relu = BitShifter::new(t, lanes, ctx.org.input_bits, Fit::Width(buffer_width / 3.0));

        let mut parts = AreaParts::default();
        let mut area = 0.0;
        if let Some(tn) = &tile_novel {
            area += tn.area * plan.tiles_novel as f64;
            parts.add_scaled(&tn.parts, plan.tiles_novel as f64);
        }
        area += tile_conv.area * plan.tiles_conv as f64;
        parts.add_scaled(&tile_conv.parts, plan.tiles_conv as f64);
        let extras = buffer_area
            + htree_area
            + pooling.shape.area()
            + accumulation.shape.area()
            + relu.shape.area();
        area += extras;
        parts.interconnect += htree_area;
        parts.accumulation += accumulation.shape.area();
        parts.buffer += buffer_area;
        parts.other += pooling.shape.area() + relu.shape.area();
        Chip {
            plan,
            subarray,
            tile_novel,
            tile_conv,
            global_buffer,
            buffer_cores,
            bus_width,
            htree,
            htree_layout,
            accumulation,
            lanes: lanes as f64,
            relu,
            pooling,
            area,
            parts,
        }
    }

    /// Runs layer `index` of `layers` for one image.
    pub fn run_layer(&self, ctx: &Context, layers: &[NetLayer], index: usize) -> LayerRun {
        let t = &ctx.tech;
        let l = &layers[index];
        let plan = &self.plan;
        let novel = plan.novel[index];
        let slices = ctx.org.slices;
        let rows = l.rows();
        let cols = l.out_ch * slices;
        let positions = l.positions;
        let vectors = positions * ctx.org.input_bits;
        let speedup = plan.speedup[index];
        let mut run = LayerRun::default();
        let add = |r: &TileRun, run: &mut LayerRun| {
            run.latency = run.latency.max(&r.latency);
            run.energy.add(&r.energy);
            run.tile_leakage = r.leakage;
        };
        let (tile, row_step, col_step) = match (&self.tile_novel, novel) {
            (Some(tn), true) => (tn, plan.pe_novel * plan.pes_novel, plan.pe_novel),
            _ => (&self.tile_conv, plan.tile_conv, plan.tile_conv),
        };
        let (row_tiles, col_tiles) = plan.layer_tiles[index];
        let whole = Block {
            rows,
            cols,
            first_col: 0,
        };
        let mut memo = Memo::new();
        for i in 0..row_tiles {
            for j in 0..col_tiles {
                let part = whole.sub(i * row_step, j * col_step, row_step, col_step);
                let result = memo.get(part.key(slices), || {
                    tile.run(ctx, &self.subarray, part, speedup, vectors)
                });
                add(&result, &mut run);
            }
        }
        // Activation of every output.
        let relu_reads = ((positions * l.out_ch) as f64 / self.relu.units).ceil();
        run.latency.then(Parts {
            other: relu_reads,
            ..Parts::default()
        });
        run.energy.other += self.relu.energy(t, relu_reads);
        // Partial sums of the layer's row tiles added across tiles.
        if row_tiles > 1 {
            let reads = (cols as f64 * (positions as f64 / self.lanes)).ceil();
            run.latency.then(Parts {
                accumulation: self.accumulation.cycles(t, reads, row_tiles, ctx.count_hz),
                ..Parts::default()
            });
            run.energy.accumulation += self.accumulation.energy(t, reads, row_tiles, &ctx.cal).0;
        }
        if l.max_pool {
            let per = if novel {
                plan.pe_novel as f64 / (plan.pes_novel as f64).sqrt()
            } else {
                plan.tile_conv as f64
            };
            let cycle_reads = (positions as f64 / 4.0 / per).ceil();
            let energy_reads = ((positions / 4) as f64 / per).ceil();
            run.latency.then(Parts {
                other: self.pooling.cycles(t, cycle_reads, ctx.count_hz),
                ..Parts::default()
            });
            run.energy.other += self.pooling.energy(t, energy_reads, &ctx.cal);
        }
        // Inputs from and outputs to the global buffer over the global H-tree.
        let mut bits_out = (rows * ctx.org.input_bits * positions) as f64;
        if novel {
            bits_out /= l.kernel as f64;
        }
        let pool = if l.max_pool { 4.0 } else { 1.0 };
        let bits_in = ((cols / slices) * ctx.org.input_bits * positions) as f64 / pool;
        let transfers = ((bits_out + bits_in) / self.bus_width).ceil();
        let layout = if novel {
            &self.htree_layout.1
        } else {
            &self.htree_layout.0
        };
        let share = (plan.total_tiles() as f64 / (row_tiles * col_tiles) as f64).ceil();
        let line = self.global_buffer.line;
        let lanes = self.buffer_cores.min((self.bus_width / line).ceil());
        run.latency.then(Parts {
            interconnect: self.htree.cycles(t, layout, transfers, ctx.count_hz),
            buffer: (bits_out + bits_in) / line / lanes * share,
            ..Parts::default()
        });
        run.energy.interconnect += self.htree.energy(t, layout, self.bus_width, transfers);
        run.energy.buffer += self.global_buffer.read_energy(t, bits_out, &ctx.cal)
            + self.global_buffer.write_energy(t, bits_in);
        run
    }
}
