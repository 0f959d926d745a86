//! The cost model of an evaluation, defined once: a fixed overhead (setting up, noisy
//! inference) plus the training it adds beyond a warm start, in units of a cold
//! full-fidelity evaluation. The study (`[optimizer.cost]`) and the synthetic benchmark
//! problems price their evaluations with it; a replay's table and the published
//! problems carry their own measured or published costs.

/// An evaluation's cost: the overhead's share `c0` of a cold full-fidelity evaluation,
/// plus the rest in proportion to the fidelity it adds, so that a cold full-fidelity
/// evaluation costs exactly 1 and every evaluation at least `c0`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CostModel {
    share: f64,
}

impl CostModel {
    /// The model whose overhead is the share `c0` of a cold full-fidelity evaluation;
    /// `None` outside `[0, 1)`.
    pub fn from_share(c0: f64) -> Option<CostModel> {
        (0.0..1.0).contains(&c0).then_some(CostModel { share: c0 })
    }

    /// The model whose overhead costs as much as training `overhead` of the full
    /// fidelity (the study's overhead epochs over its full epochs), `overhead >= 0`:
    /// the share `overhead / (overhead + 1)`.
    pub fn from_overhead(overhead: f64) -> CostModel {
        CostModel {
            share: overhead / (overhead + 1.0),
        }
    }

    /// The overhead's share of a cold full-fidelity evaluation.
    pub fn share(&self) -> f64 {
        self.share
    }

    /// The cost of taking a design from fidelity `from` (0: a cold start; a cached
    /// checkpoint's fidelity: a warm start) to `z`: `c0 + (1 - c0) max(z - from, 0)`.
    pub fn cost(&self, from: f64, z: f64) -> f64 {
        self.share + (1.0 - self.share) * (z - from).max(0.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cold_full_evaluation_costs_one_and_a_warm_start_pays_what_it_adds() {
        let m = CostModel::from_share(0.2).unwrap();
        assert_eq!(m.cost(0.0, 1.0), 1.0);
        assert!((m.cost(0.0, 0.5) - 0.6).abs() < 1e-15);
        assert!(
            (m.cost(0.5, 1.0) - 0.6).abs() < 1e-15,
            "the overhead and half"
        );
        assert_eq!(m.cost(1.0, 0.5), 0.2, "nothing to add: the overhead only");
        // Half an epoch of overhead on 4 epochs: 1/8 of a full training, share 1/9.
        let study = CostModel::from_overhead(0.5 / 4.0);
        assert!((study.share() - 1.0 / 9.0).abs() < 1e-15);
        assert!((study.cost(0.25, 0.75) - (0.125 + 0.5) / 1.125).abs() < 1e-15);
        assert!(CostModel::from_share(1.0).is_none() && CostModel::from_share(-0.1).is_none());
    }
}
