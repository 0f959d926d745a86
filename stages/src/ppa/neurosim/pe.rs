//! A processing element (PE): a square grid of subarrays with an adder tree over the
//! subarrays of a column, input and output registers, and the buses between the
//! subarrays, after DNN+NeuroSim V1.3's `ProcessingUnit.cpp`.

use super::circuits::logic::{AdderTree, Dff};
use super::circuits::wires::Bus;
use super::circuits::Calibration;
use super::gates::Fit;
use super::subarray::{AreaParts, Block, Latency, Parts, SubArray};
use super::technology::Technology;
use super::{Context, Memo};

/// A PE of `grid` x `grid` subarrays.
#[derive(Debug, Clone)]
pub struct Pe {
    /// Subarrays along a side.
    pub grid: usize,
    adder_tree: AdderTree,
    buffer_in: Dff,
    buffer_in_count: usize,
    buffer_out: Dff,
    buffer_out_count: usize,
    bus_in: Bus,
    bus_out: Bus,
    /// Area that counts, m^2.
    pub area: f64,
    /// Its parts.
    pub parts: AreaParts,
    /// Laid-out side (NeuroSim squares it), m.
    pub side: f64,
}

/// A PE's result for one block of a layer.
#[derive(Debug, Clone, Copy, Default)]
pub struct PeRun {
    /// Latency, cycles.
    pub latency: Latency,
    /// Energy by category, J.
    pub energy: Parts,
    /// Leakage power, W.
    pub leakage: f64,
}

impl Pe {
    /// A PE of side `size` (cells) built from `sub`.
    pub fn new(ctx: &Context, sub: &SubArray, size: usize) -> Self {
        let t = &ctx.tech;
        let s = ctx.org.size;
        let grid = size.div_ceil(s);
        let tree_bits = ctx.adc_bits() + ctx.org.input_bits + ctx.org.slices + 1;
        let outputs = (grid * s).div_ceil(ctx.org.cols_per_adc);
        let adder_tree = AdderTree::new(t, grid, tree_bits, outputs, Fit::Width(sub.width));
        let buffer_in_count = ctx.org.input_bits * s;
        let buffer_out_count = (s / ctx.org.cols_per_adc)
            * (ctx.adc_bits() + ctx.org.input_bits + ctx.org.slices + adder_tree.stages);
        let buffer_in = Dff::new(t, buffer_in_count, Fit::Height(grid as f64 * sub.height));
        let buffer_out = Dff::new(t, buffer_out_count, Fit::Width(grid as f64 * sub.width));
        let n = (grid * grid) as f64;
        let area = sub.used_area * n
            + adder_tree.shape.area()
            + buffer_in.shape.area()
            + buffer_out.shape.area();
        let mut parts = AreaParts::default();
        parts.add_scaled(&sub.parts, n);
        parts.accumulation += adder_tree.shape.area();
        parts.buffer += buffer_in.shape.area() + buffer_out.shape.area();
        Pe {
            grid,
            bus_in: Bus::new(t, grid, sub.width, ctx.wire_res, 0.0),
            bus_out: Bus::new(t, grid, sub.height, ctx.wire_res, 0.0),
            adder_tree,
            buffer_in,
            buffer_in_count,
            buffer_out,
            buffer_out_count,
            area,
            parts,
            side: area.sqrt(),
        }
    }

    /// Runs `vectors` input bit vectors through `block`, duplicated `dup` times in the
    /// PE.
    pub fn run(
        &self,
        ctx: &Context,
        sub: &SubArray,
        block: Block,
        dup: (usize, usize),
        vectors: usize,
    ) -> PeRun {
        let t = &ctx.tech;
        let s = ctx.org.size;
        let (rows, cols) = (block.rows, block.cols);
        let positions = (vectors / ctx.org.input_bits) as f64;
        let per_vector = sub.cycles_per_vector();
        let sub_latency = Latency::of(per_vector.scaled(vectors as f64));
        let tree_reads =
            ((vectors / ctx.org.input_bits) * (ctx.org.cols_per_adc / ctx.org.slices)) as f64;
        let tree_inputs = rows.div_ceil(s);
        // Blocks of the same shape and slice phase cost the same: compute each once.
        let mut memo = Memo::new();
        let mut energy_of = |b: Block| {
            memo.get(b.key(ctx.org.slices), || {
                sub.block_energy(t, &b, positions, &ctx.inputs, &ctx.weights)
            })
        };
        let mut run = PeRun::default();
        let copies = dup.0 * dup.1;
        if copies > 1 && (dup.0 >= self.grid && dup.1 >= self.grid) {
            // The whole block fits one subarray; its copies split the vectors.
            run.energy = energy_of(block);
            run.latency = sub_latency.scaled(1.0 / copies as f64);
        } else {
            let (tree_cycles, tree_energy, _) =
                self.tree(t, tree_reads, tree_inputs, &ctx.cal, ctx.count_hz);
            let (row_blocks, col_blocks) = if copies > 1 {
                (rows.div_ceil(s), cols.div_ceil(s))
            } else {
                (self.grid, self.grid)
            };
            for i in 0..row_blocks {
                for j in 0..col_blocks {
                    if i * s >= rows || j * s >= cols {
                        continue;
                    }
                    run.energy.add(&energy_of(block.sub(i * s, j * s, s, s)));
                    if copies > 1 {
                        // Each duplicated block passes its own adder tree.
                        run.energy.accumulation += tree_energy;
                    }
                }
            }
            let mut latency = sub_latency;
            latency.then(Parts {
                accumulation: tree_cycles,
                ..Parts::default()
            });
            if copies > 1 {
                run.latency = latency.scaled(1.0 / copies as f64);
            } else {
                run.latency = latency;
                run.energy.accumulation += tree_energy;
            }
        }
        let (_, _, tree_leak) = self.tree(t, tree_reads, tree_inputs, &ctx.cal, ctx.count_hz);
        // Registers: every input bit in, every partial sum out.
        let v = vectors;
        let reads_in = (rows * v / self.buffer_in_count) as f64;
        let reads_out = ((cols / ctx.org.slices) * self.adder_tree.bits * v
            / ctx.org.input_bits
            / self.buffer_out_count) as f64;
        let buffer = self
            .buffer_in
            .energy(t, reads_in, self.buffer_in_count as f64, None)
            + self
                .buffer_out
                .energy(t, reads_out, self.buffer_out_count as f64, None);
        let bus = self.bus_in.energy(rows as f64 * v as f64, 1.0)
            + self.bus_out.energy(
                (cols / ctx.org.slices) as f64 * ctx.adc_bits() as f64 * v as f64
                    / ctx.org.input_bits as f64,
                1.0,
            );
        run.latency.then(Parts {
            buffer: reads_in + reads_out,
            ..Parts::default()
        });
        run.energy.buffer += buffer;
        run.energy.interconnect += bus;
        run.leakage = sub.leakage(t) * (self.grid * self.grid) as f64
            + tree_leak
            + self.buffer_in.leakage(t)
            + self.buffer_out.leakage(t);
        run
    }

    /// Cycles, energy and leakage of the adder tree adding `inputs` subarrays' partial
    /// sums `reads` times.
    fn tree(
        &self,
        t: &Technology,
        reads: f64,
        inputs: usize,
        cal: &Calibration,
        count_hz: f64,
    ) -> (f64, f64, f64) {
        let cycles = self.adder_tree.cycles(t, reads, inputs, count_hz);
        let (energy, leak) = self.adder_tree.energy(t, reads, inputs, cal);
        (cycles, energy, leak)
    }
}
