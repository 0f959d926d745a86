//! Paired comparisons of two evaluations of one design: ReSNA against a control (the
//! noise-unaware baseline, the same fine-tuning without noise). Draw `d` of both
//! evaluations reads the same noise stream (the noisy-inference node's seed and draw
//! index), so the per-draw differences are paired and their standard error is the
//! comparison's uncertainty.

use serde::Serialize;

/// The gain of one evaluation over another, paired over their noise draws.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct PairedGain {
    /// Mean of the per-draw differences (fraction of test images).
    pub gain: f64,
    /// Standard error of that mean: the differences' sample standard deviation over
    /// the square root of their count (NaN with fewer than two draws).
    pub standard_error: f64,
    /// Draws paired.
    pub draws: usize,
}

impl PairedGain {
    /// `ours` against `control`, draw by draw (the shorter length of the two).
    pub fn of(ours: &[f64], control: &[f64]) -> PairedGain {
        let differences: Vec<f64> = ours.iter().zip(control).map(|(a, b)| a - b).collect();
        let n = differences.len();
        let gain = differences.iter().sum::<f64>() / n as f64;
        let variance =
            differences.iter().map(|d| (d - gain).powi(2)).sum::<f64>() / (n as f64 - 1.0);
        PairedGain {
            gain,
            standard_error: if n > 1 {
                (variance / n as f64).sqrt()
            } else {
                f64::NAN
            },
            draws: n,
        }
    }

    /// Whether the gain is more than two standard errors from zero (either side).
    pub fn beyond_two_errors(&self) -> bool {
        self.gain.abs() > 2.0 * self.standard_error
    }

    /// `+1.23 +- 0.45` in points, with `*` where the gain is beyond two standard errors.
    pub fn points_text(&self) -> String {
        let mark = if self.beyond_two_errors() { " *" } else { "" };
        format!(
            "{:+.2} +- {:.2}{mark}",
            100.0 * self.gain,
            100.0 * self.standard_error
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_paired_gain_and_its_standard_error_match_a_hand_computation() {
        // Differences 0.02, 0.04, 0.00, 0.06: mean 0.03, sample variance
        // (1 + 1 + 9 + 9) e-4 / 3 = 6.667e-4, standard error sqrt(6.667e-4 / 4) = 0.01291.
        let ours = [0.52, 0.54, 0.50, 0.56];
        let control = [0.50, 0.50, 0.50, 0.50];
        let g = PairedGain::of(&ours, &control);
        assert!((g.gain - 0.03).abs() < 1e-12);
        assert!((g.standard_error - 0.012_909_944_487_358_056).abs() < 1e-12);
        assert_eq!(g.draws, 4);
        assert!(g.beyond_two_errors());
        assert_eq!(g.points_text(), "+3.00 +- 1.29 *");
        // A shared draw-to-draw swing cancels: the pairing's point.
        let swing = PairedGain::of(&[0.40, 0.60, 0.50], &[0.39, 0.59, 0.49]);
        assert!((swing.gain - 0.01).abs() < 1e-12 && swing.standard_error < 1e-12);
        let noisy = PairedGain::of(&[0.40, 0.60], &[0.50, 0.49]);
        assert!(!noisy.beyond_two_errors(), "{noisy:?}");
        assert!(PairedGain::of(&[0.5], &[0.4]).standard_error.is_nan());
    }
}
