//! A tile: PEs with an accumulator over them, input and output buffers and an H-tree,
//! after DNN+NeuroSim V1.3's `Tile.cpp` (activation outside the tiles, NeuroSim's
//! default `chipActivation`). A novel-mapped tile has one PE per kernel position
//! (nine for 3x3 kernels); a conventional tile a square of PEs.

use super::circuits::buffer::Buffer;
use super::circuits::logic::{ceil_log2, AdderTree};
use super::circuits::wires::{HTree, HTreeLayout};
use super::gates::Fit;
use super::pe::{Pe, PeRun};
use super::subarray::{AreaParts, Block, Latency, Parts, SubArray};
use super::{Context, Memo};

/// Tile buffers are made of cores of this many bits (32 x 32, NeuroSim's
/// `tileBufferCoreSizeRow` and `...Col`).
const TILE_BUFFER_CORE: usize = 32 * 32;

/// The sizes both kinds of tiles share: NeuroSim keeps one count of buffer cores, set
/// by the conventional tile, and applies it to both.
#[derive(Debug, Clone, Copy)]
pub struct BufferCores {
    /// Input buffer cores.
    pub input: f64,
    /// Output buffer cores.
    pub output: f64,
}

/// A tile design.
#[derive(Debug, Clone)]
pub struct Tile {
    novel: bool,
    /// PEs along a side (conventional) or in all (novel).
    pub pes: usize,
    /// PE side, cells.
    pub pe_size: usize,
    /// The PE design.
    pub pe: Pe,
    accumulation: AdderTree,
    buffer_in: Buffer,
    buffer_out: Buffer,
    cores: BufferCores,
    htree: HTree,
    htree_layout: HTreeLayout,
    /// Area, m^2.
    pub area: f64,
    /// Its parts.
    pub parts: AreaParts,
    /// Laid-out side, m.
    pub side: f64,
}

/// A tile's result for its part of a layer.
#[derive(Debug, Clone, Copy, Default)]
pub struct TileRun {
    /// Latency, cycles.
    pub latency: Latency,
    /// Energy by category, J.
    pub energy: Parts,
    /// Leakage power of the tile, W.
    pub leakage: f64,
}

/// Output width of a tile's accumulator, bits.
fn accumulator_bits(ctx: &Context, pe_size: usize) -> usize {
    ctx.adc_bits()
        + ctx.org.input_bits
        + ctx.org.slices
        + 1
        + ceil_log2(pe_size.div_ceil(ctx.org.size))
}

/// The (bits, line) of a tile buffer of `bits`: itself when smaller than a core, else
/// one core.
fn buffer_size(bits: f64, line: f64) -> (usize, usize) {
    if bits < TILE_BUFFER_CORE as f64 {
        (bits as usize, line as usize)
    } else {
        (TILE_BUFFER_CORE, 32)
    }
}

impl Tile {
    /// The buffer cores of the conventional tile with `pes` PEs along a side of
    /// `pe_size` cells.
    pub fn cores(ctx: &Context, pes: usize, pe_size: usize) -> BufferCores {
        let s = ctx.org.size as f64;
        let n = pes as f64;
        let core = TILE_BUFFER_CORE as f64;
        BufferCores {
            input: (n * ctx.org.input_bits as f64 * s / core).ceil(),
            output: (accumulator_bits(ctx, pe_size) as f64 * n * s
                / ctx.org.cols_per_adc as f64
                / core)
                .ceil(),
        }
    }

    /// A tile of `pes` PEs (novel: in all; conventional: along a side) of `pe_size`.
    pub fn new(
        ctx: &Context,
        sub: &SubArray,
        novel: bool,
        pes: usize,
        pe_size: usize,
        cores: BufferCores,
    ) -> Self {
        let t = &ctx.tech;
        let s = ctx.org.size as f64;
        let n = pes as f64;
        let pe = Pe::new(ctx, sub, pe_size);
        let acc_bits = accumulator_bits(ctx, pe_size);
        let outputs = (n * s / ctx.org.cols_per_adc as f64).ceil() as usize;
        let in_area_pes = if novel { pes } else { pes * pes };
        let side_pes = (in_area_pes as f64).sqrt().ceil();
        let accumulation =
            AdderTree::new(t, pes, acc_bits, outputs, Fit::Width(side_pes * pe.side));
        let (ob, ol) = buffer_size(
            acc_bits as f64 * n * s / ctx.org.cols_per_adc as f64,
            acc_bits as f64 * n,
        );
        let buffer_out = Buffer::new(t, ob, ol, Fit::Width(side_pes * pe.side));
        let (ib, il) = buffer_size(n * ctx.org.input_bits as f64 * s, n * s);
        let buffer_in = Buffer::new(t, ib, il, Fit::Height(side_pes * pe.side));
        let htree = HTree::new(
            t,
            pes,
            pes,
            ctx.params.local_bus_tolerance,
            n * s,
            ctx.wire_res,
            ctx.wire_width_nm,
            ctx.temp_k,
        );
        let htree_layout = htree.layout(pe.side, pe.side, 16.0);
        let buffers = buffer_in.shape.area() * cores.input + buffer_out.shape.area() * cores.output;
        let k = in_area_pes as f64;
        let area = pe.area * k + accumulation.shape.area() + buffers + htree_layout.area;
        let mut parts = AreaParts::default();
        parts.add_scaled(&pe.parts, k);
        parts.accumulation += accumulation.shape.area();
        parts.buffer += buffers;
        parts.interconnect += htree_layout.area;
        Tile {
            novel,
            pes,
            pe_size,
            pe,
            accumulation,
            buffer_in,
            buffer_out,
            cores,
            htree,
            htree_layout,
            area,
            parts,
            side: area.sqrt(),
        }
    }

    /// Runs `vectors` input bit vectors through the tile's `block` of a layer, copied
    /// `speedup` times.
    pub fn run(
        &self,
        ctx: &Context,
        sub: &SubArray,
        block: Block,
        speedup: (usize, usize),
        vectors: usize,
    ) -> TileRun {
        let t = &ctx.tech;
        let pe = self.pe_size;
        let (rows, cols) = (block.rows, block.cols);
        let mut run = TileRun::default();
        let mut last = PeRun::default();
        let mut memo = Memo::new();
        let mut pe_run = |b: Block, dup: (usize, usize)| {
            memo.get((b.key(ctx.org.slices), dup), || {
                self.pe.run(ctx, sub, b, dup, vectors)
            })
        };
        let add = |run: &mut TileRun, r: &PeRun| {
            run.latency = run.latency.max(&r.latency);
            run.energy.add(&r.energy);
        };
        // NeuroSim counts the conventional accumulator's reads with a true ceiling and
        // the novel one's with integer division (they differ for 3-cell weights).
        let per_input = if self.novel {
            ctx.org.cols_per_adc / ctx.org.slices
        } else {
            ctx.org.cols_per_adc.div_ceil(ctx.org.slices)
        };
        let acc_reads = ((vectors / ctx.org.input_bits) * per_input) as f64;
        let accumulate = |run: &mut TileRun, inputs: usize| {
            run.latency.then(Parts {
                accumulation: self.accumulation.cycles(t, acc_reads, inputs, ctx.count_hz),
                ..Parts::default()
            });
            run.energy.accumulation += self.accumulation.energy(t, acc_reads, inputs, &ctx.cal).0;
        };
        let copies = (speedup.0 * speedup.1) as f64;
        let pe_count;
        if self.novel {
            // One PE per kernel position, each with its share of the rows.
            let share = Block {
                rows: rows / self.pes,
                ..block
            };
            for _ in 0..self.pes {
                last = pe_run(share, (1, 1));
                add(&mut run, &last);
            }
            run.latency = run.latency.scaled(1.0 / copies);
            accumulate(&mut run, self.pes);
            pe_count = self.pes as f64;
        } else if copies > 1.0 && speedup.0 >= self.pes && speedup.1 >= self.pes {
            // Copies fill every PE: each takes the whole part.
            let dup = (speedup.0.div_ceil(self.pes), speedup.1.div_ceil(self.pes));
            last = pe_run(block, dup);
            let side2 = (self.pes * self.pes) as f64;
            run.latency = last.latency.scaled(1.0 / side2);
            run.energy = last.energy;
            pe_count = side2;
        } else if copies > 1.0 {
            for i in 0..rows.div_ceil(pe) {
                for j in 0..cols.div_ceil(pe) {
                    last = pe_run(block.sub(i * pe, j * pe, pe, pe), (1, 1));
                    add(&mut run, &last);
                }
            }
            run.latency = run.latency.scaled(1.0 / copies);
            if rows.div_ceil(pe) > 1 {
                accumulate(&mut run, rows.div_ceil(pe));
            }
            pe_count = (self.pes * self.pes) as f64;
        } else {
            for i in 0..self.pes {
                for j in 0..self.pes {
                    if i * pe < rows && j * pe < cols {
                        last = pe_run(block.sub(i * pe, j * pe, pe, pe), (1, 1));
                    }
                    // NeuroSim adds the last PE computed again for every idle PE.
                    add(&mut run, &last);
                }
            }
            accumulate(&mut run, self.pes);
            pe_count = (self.pes * self.pes) as f64;
        }
        // Buffers and the H-tree: every input bit in, every output word out.
        let words = (cols / ctx.org.slices) * (1 + self.accumulation.bits) * vectors;
        let (bits_in, bits_out) = if self.novel {
            (
                (rows * vectors) as f64 / (self.pes as f64).sqrt(),
                (words / ctx.org.input_bits) as f64 / self.pes as f64,
            )
        } else {
            ((rows * vectors) as f64, (words / ctx.org.input_bits) as f64)
        };
        let lanes = |cores: f64, line: f64| cores.min((self.htree.bus_width / line).ceil());
        let in_lanes = lanes(self.cores.input, self.buffer_in.line);
        let out_line = if self.novel {
            self.buffer_in.line
        } else {
            self.buffer_out.line
        };
        let out_lanes = lanes(self.cores.output, out_line);
        let transfers = (bits_in + bits_out) / self.htree.bus_width;
        run.latency.then(Parts {
            buffer: 2.0 * bits_in / self.buffer_in.line / in_lanes
                + 2.0 * bits_out / self.buffer_out.line / out_lanes,
            interconnect: self
                .htree
                .cycles(t, &self.htree_layout, transfers, ctx.count_hz),
            ..Parts::default()
        });
        run.energy.buffer += self.buffer_in.read_energy(t, bits_in, &ctx.cal)
            + self.buffer_in.write_energy(t, bits_in)
            + self.buffer_out.read_energy(t, bits_out, &ctx.cal)
            + self.buffer_out.write_energy(t, bits_out);
        run.energy.interconnect +=
            self.htree
                .energy(t, &self.htree_layout, self.htree.bus_width, transfers);
        let (_, acc_leak) = self.accumulation.energy(t, acc_reads, self.pes, &ctx.cal);
        run.leakage = last.leakage * pe_count
            + acc_leak
            + self.buffer_in.leakage(t)
            + self.buffer_out.leakage(t);
        run
    }
}
