//! A fidelity: the number of ReSNA fine-tuning epochs an evaluation trains, out of the
//! study's full fidelity (`fidelity.max_epochs`), and its share `z` in (0, 1], the form
//! the optimiser and the ledger's `fidelity_z` use. The one conversion between the two.

use crate::config::FidelityRange;

/// `epochs` fine-tuning epochs out of `max_epochs` (full fidelity).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fidelity {
    /// Fine-tuning epochs.
    pub epochs: usize,
    /// The study's full fidelity, in epochs (at least 1).
    pub max_epochs: usize,
}

impl Fidelity {
    /// The share of full fidelity, `epochs / max_epochs`.
    pub fn z(self) -> f64 {
        self.epochs as f64 / self.max_epochs as f64
    }
}

impl FidelityRange {
    /// The fidelity of `epochs` epochs in this study.
    pub fn at(&self, epochs: usize) -> Fidelity {
        Fidelity {
            epochs,
            max_epochs: self.max_epochs as usize,
        }
    }

    /// Full fidelity.
    pub fn full(&self) -> Fidelity {
        self.at(self.max_epochs as usize)
    }

    /// The fidelity nearest the share `z` (the optimiser's continuous fidelity).
    pub fn nearest(&self, z: f64) -> Fidelity {
        self.at((z * f64::from(self.max_epochs)).round() as usize)
    }
}

/// Whether a stored share `z` (a ledger row's `fidelity_z`) is full fidelity.
pub fn is_full_z(z: f64) -> bool {
    (z - 1.0).abs() < 1e-9
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn epochs_and_shares_convert_both_ways() {
        let range = FidelityRange {
            min_epochs: 1,
            max_epochs: 4,
        };
        assert_eq!(range.at(1).z(), 0.25);
        assert_eq!(range.nearest(0.25), range.at(1));
        assert_eq!(range.nearest(0.6), range.at(2), "the nearest epoch");
        assert!(is_full_z(range.full().z()) && !is_full_z(range.at(3).z()));
    }
}
