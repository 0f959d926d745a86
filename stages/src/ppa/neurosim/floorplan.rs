//! The chip's floorplan, after DNN+NeuroSim V1.3's `ChipDesignInitialize` and
//! `ChipFloorPlan` (layer-by-layer mode):
//!
//! - **Novel mapping**: the convolutions with the network's most common kernel (3x3)
//!   and at least a subarray's worth of rows put each kernel position on its own
//!   processing element (PE), nine PEs to a tile, so that a PE holds `in_ch` rows; the
//!   other layers (the first conv, FC layers) use the conventional mapping, a tile of
//!   2x2 PEs holding `in_ch * k^2` rows.
//! - **Sizes**: the PE (novel) and tile (conventional) sides are powers of two, searched
//!   downwards from the smallest that holds the widest layer for the best memory
//!   utilisation; a PE is at least 2x2 subarrays and a conventional tile at least 4x4.
//! - **Duplication**: a conventional layer smaller than its tile is copied into the idle
//!   PEs and subarrays (and a novel layer smaller than its PE into the idle subarrays);
//!   the copies split the layer's input vectors, dividing its latency.
//!
//! NeuroSim refuses a PE smaller than 2x2 subarrays ("SubArray Size is too large": for
//! example ResNet20 on 128x128 subarrays with 4- or 8-bit cells, whose widest layer
//! needs only 64 or 128 columns). This model maps it on the minimum PE instead, 2x2
//! subarrays, with the unused columns idle: NeuroSim's own lower bound, applied rather
//! than refused.

use super::workload::NetLayer;

/// The floorplan of a network on subarrays of `size`.
#[derive(Debug, Clone, PartialEq)]
pub struct Floorplan {
    /// Per layer: novel mapping.
    pub novel: Vec<bool>,
    /// PEs per novel tile (the common kernel area, 9).
    pub pes_novel: usize,
    /// Novel PE side, cells.
    pub pe_novel: usize,
    /// Conventional tile side, cells.
    pub tile_conv: usize,
    /// Conventional PE side, cells.
    pub pe_conv: usize,
    /// Tiles of each kind on the chip.
    pub tiles_novel: usize,
    /// See `tiles_novel`.
    pub tiles_conv: usize,
    /// Per layer: tiles along the rows and along the columns of its weight matrix.
    pub layer_tiles: Vec<(usize, usize)>,
    /// Per layer: copies (speed-up) along the rows and the columns.
    pub speedup: Vec<(usize, usize)>,
    /// Per layer: fraction of its tiles' cells that hold weights (copies included).
    pub utilization: Vec<f64>,
    /// The chip's grid of tiles: rows and columns.
    pub grid: (usize, usize),
}

fn pow2_ceil(x: f64) -> f64 {
    2f64.powf(x.log2().ceil())
}

/// Tiles and utilisation of the conventional layers on tiles of `tile`.
fn design_conv(layers: &[NetLayer], novel: &[bool], slices: usize, tile: f64) -> (f64, f64) {
    let (mut tiles, mut cells) = (0.0, 0.0);
    for (l, &nm) in layers.iter().zip(novel) {
        if !nm {
            let (r, c) = (l.rows() as f64, (l.out_ch * slices) as f64);
            tiles += (r / tile).ceil() * (c / tile).ceil();
            cells += r * c;
        }
    }
    (tiles, cells / (tiles * tile * tile))
}

/// Tiles and utilisation of the novel layers on PEs of `pe`, `pes` to a tile.
fn design_novel(
    layers: &[NetLayer],
    novel: &[bool],
    slices: usize,
    pe: f64,
    pes: f64,
) -> (f64, f64) {
    let (mut tiles, mut cells) = (0.0, 0.0);
    for (l, &nm) in layers.iter().zip(novel) {
        if nm {
            let c = (l.out_ch * slices) as f64;
            tiles += (l.in_ch as f64 / pe).ceil() * (c / pe).ceil();
            cells += l.rows() as f64 * c;
        }
    }
    (tiles, cells / (tiles * pe * pe * pes))
}

/// Copies of a layer of `rows` x `cols` that fit `into` x `into` units of `unit`.
fn copies(rows: f64, cols: f64, unit: f64, into: f64) -> (usize, usize) {
    let fit = |n: f64| {
        let per = (n / unit).ceil();
        let k = ((into / unit).ceil() / per).floor();
        if k == 0.0 {
            1
        } else {
            k as usize
        }
    };
    (fit(rows), fit(cols))
}

impl Floorplan {
    /// The floorplan of `layers` with `slices` cells per weight on subarrays of `size`;
    /// `novel_mapping` false maps every layer conventionally.
    pub fn new(layers: &[NetLayer], slices: usize, size: usize, novel_mapping: bool) -> Self {
        let s = size as f64;
        // The most common kernel area among the convolutions.
        let mut pes_novel = 0;
        let mut most = 0;
        for l in layers {
            let area = l.kernel_area();
            let count = 1 + layers
                .iter()
                .filter(|o| area != 1 && o.kernel_area() == area)
                .count();
            if count > most {
                most = count;
                pes_novel = area;
            }
        }
        let novel: Vec<bool> = layers
            .iter()
            .map(|l| novel_mapping && l.kernel_area() == pes_novel && l.rows() >= size)
            .collect();
        let widest = |nm: bool| {
            layers
                .iter()
                .zip(&novel)
                .filter(|(_, &n)| n == nm)
                .map(|(l, _)| pow2_ceil((l.out_ch * slices) as f64))
                .fold(0.0, f64::max)
        };
        let (max_pe_novel, max_tile_conv) = (widest(true), widest(false));
        let pes = pes_novel as f64;

        // Novel PE: the best utilisation from the widest layer's side down to 2x2
        // subarrays (the minimum also when the widest layer is narrower).
        let mut pe_novel = max_pe_novel.max(2.0 * s);
        let mut tiles_novel = design_novel(layers, &novel, slices, pe_novel, pes).0;
        let mut best = 0.0;
        let mut size_try = pe_novel;
        while size_try > 2.0 * s {
            let (tiles, util) = design_novel(layers, &novel, slices, size_try, pes);
            if util > best {
                (best, pe_novel, tiles_novel) = (util, size_try, tiles);
            }
            size_try /= 2.0;
        }
        // Conventional tile, then its PE (which must beat the tile's utilisation).
        let mut tile_conv = max_tile_conv.max(4.0 * s);
        let mut tiles_conv = design_conv(layers, &novel, slices, tile_conv).0;
        let mut best = 0.0;
        let mut size_try = tile_conv;
        while size_try > 4.0 * s {
            let (tiles, util) = design_conv(layers, &novel, slices, size_try);
            if util > best {
                (best, tile_conv, tiles_conv) = (util, size_try, tiles);
            }
            size_try /= 2.0;
        }
        let pe_dup = |pe: f64| -> Vec<(usize, usize)> {
            layers
                .iter()
                .zip(&novel)
                .map(|(l, &nm)| {
                    let (r, c) = (l.rows() as f64, (l.out_ch * slices) as f64);
                    if !nm && (r <= tile_conv || c <= tile_conv) {
                        copies(r, c, pe, tile_conv)
                    } else {
                        (1, 1)
                    }
                })
                .collect()
        };
        let conv_cells = |dups: &[(usize, usize)]| -> f64 {
            layers
                .iter()
                .zip(&novel)
                .zip(dups)
                .filter(|((_, &nm), _)| !nm)
                .map(|((l, _), &(dr, dc))| {
                    (dr * dc) as f64 * l.rows() as f64 * (l.out_ch * slices) as f64
                })
                .sum()
        };
        let mut pe_conv = tile_conv / 2.0;
        let mut size_try = tile_conv / 2.0;
        while size_try > 2.0 * s {
            let util = conv_cells(&pe_dup(size_try)) / (tiles_conv * tile_conv * tile_conv);
            if util > best {
                (best, pe_conv) = (util, size_try);
            }
            size_try /= 2.0;
        }
        let pe_copies = pe_dup(pe_conv);

        let mut layer_tiles = Vec::with_capacity(layers.len());
        let mut speedup = Vec::with_capacity(layers.len());
        let mut utilization = Vec::with_capacity(layers.len());
        for ((l, &nm), &(pr, pc)) in layers.iter().zip(&novel).zip(&pe_copies) {
            let c = (l.out_ch * slices) as f64;
            let (rows, unit, pe) = if nm {
                (l.in_ch as f64, pe_novel, pe_novel)
            } else {
                (l.rows() as f64, tile_conv, pe_conv)
            };
            let (sr, sc) = if rows <= pe || c <= pe {
                copies(rows, c, s, pe)
            } else {
                (1, 1)
            };
            let tiles = ((rows / unit).ceil(), (c / unit).ceil());
            let held = (pr * pc * sr * sc) as f64 * rows * c;
            let capacity = tiles.0 * tiles.1 * unit * unit;
            utilization.push(held / capacity);
            layer_tiles.push((tiles.0 as usize, tiles.1 as usize));
            speedup.push((pr * sr, pc * sc));
        }
        let total = tiles_novel + tiles_conv;
        let grid_rows = total.sqrt().ceil();
        let grid_cols = (total / grid_rows).ceil();
        Floorplan {
            novel,
            pes_novel,
            pe_novel: pe_novel as usize,
            tile_conv: tile_conv as usize,
            pe_conv: pe_conv as usize,
            tiles_novel: tiles_novel as usize,
            tiles_conv: tiles_conv as usize,
            layer_tiles,
            speedup,
            utilization,
            grid: (grid_rows as usize, grid_cols as usize),
        }
    }

    /// PEs of a conventional tile along one side.
    pub fn pes_conv_side(&self) -> usize {
        self.tile_conv.div_ceil(self.pe_conv)
    }

    /// Tiles on the chip.
    pub fn total_tiles(&self) -> usize {
        self.tiles_novel + self.tiles_conv
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::arch::{layers, ModelName};

    fn net(model: ModelName) -> Vec<NetLayer> {
        layers(model, 32, 10)
            .iter()
            .map(NetLayer::from_spec)
            .collect()
    }

    /// NeuroSim V1.3's own floorplan of ResNet20 (padded inputs) at 32 nm, 2-bit cells,
    /// 128x128 subarrays: one tile per layer; speed-ups 16 (conv1), 4, 2 and 16 (FC);
    /// tiles 512, PEs 256, novel PEs 9 x 256.
    #[test]
    fn resnet20_matches_neurosim_at_128() {
        let f = Floorplan::new(&net(ModelName::ResNet20), 4, 128, true);
        assert_eq!(
            (f.tile_conv, f.pe_conv, f.pe_novel, f.pes_novel),
            (512, 256, 256, 9)
        );
        assert!(f.layer_tiles.iter().all(|&t| t == (1, 1)));
        let speedups: Vec<usize> = f.speedup.iter().map(|(r, c)| r * c).collect();
        let mut expected = vec![16];
        expected.extend([4; 12]);
        expected.extend([2; 6]);
        expected.push(16);
        assert_eq!(speedups, expected);
        let util = [0.105469, 0.0625, 0.125, 0.25, 0.5, 0.15625];
        for (i, u) in [(0, 0), (1, 1), (7, 2), (8, 3), (14, 4), (19, 5)] {
            assert!((f.utilization[i] - util[u]).abs() < 1e-6, "layer {i}");
        }
    }

    #[test]
    fn a_pe_narrower_than_two_subarrays_is_mapped_not_refused() {
        // 8-bit cells: the widest ResNet20 layer has 64 columns, half a 128 subarray.
        let f = Floorplan::new(&net(ModelName::ResNet20), 1, 128, true);
        assert_eq!(f.pe_novel, 256);
        assert!(f.total_tiles() > 0);
    }
}
