//! A register-file buffer (NeuroSim's default buffers: `globalBufferType`,
//! `tileBufferType` and `peBufferType` false): flip-flops addressed by a word-line
//! decoder, after DNN+NeuroSim V1.3 (`Buffer.cpp`).

use super::super::gates::{Fit, Shape};
use super::super::technology::Technology;
use super::logic::{ceil_log2, Dff, RowDecoder};
use super::Calibration;

/// A buffer of `bits` flip-flops read and written `line` bits at a time.
#[derive(Debug, Clone)]
pub struct Buffer {
    /// Capacity, bits.
    pub bits: f64,
    /// Line (interface) width, bits.
    pub line: f64,
    dff: Dff,
    decoder: RowDecoder,
    /// Laid-out shape.
    pub shape: Shape,
}

impl Buffer {
    /// A buffer of `bits` bits in lines of `line` bits, laid out under `fit`.
    pub fn new(t: &Technology, bits: usize, line: usize, fit: Fit) -> Self {
        let lines = bits.div_ceil(line.max(1));
        let dff = Dff::new(t, bits, Fit::Free);
        let decoder = RowDecoder::new(t, ceil_log2(lines), false, Some(dff.h_dff * lines as f64));
        let area = dff.shape.area() + decoder.shape.area();
        Buffer {
            bits: bits as f64,
            line: line as f64,
            shape: fit.shape(area, dff.shape),
            dff,
            decoder,
        }
    }

    /// Lines, as NeuroSim counts them for its per-bit energies (integer division).
    fn lines(&self) -> f64 {
        (self.bits / self.line).floor()
    }

    /// Energy of reading `bits` bits.
    pub fn read_energy(&self, t: &Technology, bits: f64, cal: &Calibration) -> f64 {
        let whole = self.decoder.read_energy(t, self.lines(), cal)
            + self.dff.energy(t, 1.0, self.bits, None);
        whole / self.bits * bits
    }

    /// Energy of writing `bits` bits.
    pub fn write_energy(&self, t: &Technology, bits: f64) -> f64 {
        self.decoder.write_energy(t, self.lines()) / self.bits * bits
    }

    /// Leakage power, W.
    pub fn leakage(&self, t: &Technology) -> f64 {
        self.dff.leakage(t) + self.decoder.leakage(t)
    }
}
