//! A problem answered from a table: every design of a full-factorial grid measured at
//! every fidelity (what `pipeline sweep` records), so the optimisers can be raced on
//! real evaluations at no cost, each evaluation answered with its recorded objectives
//! and cost. The grid's Pareto set is the true front, so the maximum hypervolume is
//! exact. A design whose evaluation failed has NaN objectives, as the study tells its
//! strategies; it never counts toward a hypervolume.

use crate::problem::{MultiFidelityProblem, ObjectiveKind};
use thiserror::Error;

use super::hypervolume::hypervolume;

/// One design measured at one fidelity.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// The objectives, maximised; NaN where the evaluation failed.
    pub y: Vec<f64>,
    /// What the measurement cost (any unit: seconds, epochs), warm-started from the
    /// fidelity below it in the table (cold at the lowest).
    pub cost: f64,
}

/// Why a table cannot be a problem.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum TableError {
    /// The shape of the table does not match its grid and fidelities.
    #[error("{0}")]
    Shape(String),
    /// A value is missing or not finite.
    #[error("design {cell} at fidelity {z}: {what}")]
    Value {
        /// The design's cell, in the grid's row-major order.
        cell: usize,
        /// Its fidelity.
        z: f64,
        /// What is wrong.
        what: String,
    },
}

/// A tabulated multi-fidelity problem on a grid of designs.
#[derive(Debug, Clone)]
pub struct TabulatedProblem {
    name: String,
    levels: Vec<usize>,
    fidelities: Vec<f64>,
    kinds: Vec<ObjectiveKind>,
    /// Per cell (row-major over `levels`, the last variable fastest), per fidelity.
    cells: Vec<Vec<Entry>>,
    /// The fixed part of every entry's cost, which an evaluation that skips fidelities
    /// pays once (in the entries' unit).
    overhead: f64,
    /// The mean over the designs of a cold evaluation at full fidelity: one unit of the
    /// normalised cost.
    unit: f64,
    /// The mean over the designs of the chain's cost up to each fidelity (entries'
    /// unit).
    mean_chain: Vec<f64>,
}

impl TabulatedProblem {
    /// A problem over the grid of `levels` values per variable, measured at the ascending
    /// `fidelities` (the last 1), with `kinds` of objectives and, per cell in row-major
    /// order, one [`Entry`] per fidelity; `overhead` is the fixed part of every entry's
    /// cost, paid once by an evaluation however many fidelities it skips (0: a jump pays
    /// every entry it passes).
    pub fn new(
        name: &str,
        levels: Vec<usize>,
        fidelities: Vec<f64>,
        kinds: Vec<ObjectiveKind>,
        cells: Vec<Vec<Entry>>,
        overhead: f64,
    ) -> Result<TabulatedProblem, TableError> {
        let shape = |m: String| Err(TableError::Shape(m));
        let count: usize = levels.iter().product();
        if levels.is_empty() || levels.contains(&0) || cells.len() != count {
            return shape(format!(
                "{} designs for a grid of {levels:?} values",
                cells.len()
            ));
        }
        let ascending = fidelities.windows(2).all(|w| w[0] < w[1]);
        if fidelities.last() != Some(&1.0) || !ascending || fidelities[0] <= 0.0 {
            return shape(format!(
                "fidelities must ascend in (0, 1] to 1, got {fidelities:?}"
            ));
        }
        for (cell, entries) in cells.iter().enumerate() {
            if entries.len() != fidelities.len() {
                return shape(format!(
                    "design {cell} has {} fidelities, not {}",
                    entries.len(),
                    fidelities.len()
                ));
            }
            for (e, &z) in entries.iter().zip(&fidelities) {
                let bad = |what: String| Err(TableError::Value { cell, z, what });
                if e.y.len() != kinds.len() || e.y.iter().any(|v| v.is_infinite()) {
                    return bad(format!(
                        "objectives {:?} (want {}, finite or NaN)",
                        e.y,
                        kinds.len()
                    ));
                }
                if !(e.cost.is_finite() && e.cost >= 0.0) {
                    return bad(format!("cost {}", e.cost));
                }
            }
        }
        let chains: Vec<Vec<f64>> = cells
            .iter()
            .map(|entries| {
                entries
                    .iter()
                    .scan(0.0, |sum, e| {
                        *sum += e.cost;
                        Some(*sum)
                    })
                    .collect()
            })
            .collect();
        let n = cells.len() as f64;
        let mean_chain: Vec<f64> = (0..fidelities.len())
            .map(|k| chains.iter().map(|c| c[k]).sum::<f64>() / n)
            .collect();
        if !(overhead.is_finite() && overhead >= 0.0) {
            return shape(format!("overhead {overhead}"));
        }
        let rows = fidelities.len() as f64;
        let unit = mean_chain.last().expect("at least one fidelity") - overhead * (rows - 1.0);
        if unit <= 0.0 {
            return shape("a cold full-fidelity evaluation costs nothing".into());
        }
        Ok(TabulatedProblem {
            name: name.to_string(),
            levels,
            fidelities,
            kinds,
            cells,
            overhead,
            mean_chain,
            unit,
        })
    }

    /// The number of designs.
    pub fn designs(&self) -> usize {
        self.cells.len()
    }

    /// The mean cost of a cold full-fidelity evaluation, in the entries' unit: one unit of
    /// the normalised cost.
    pub fn cost_unit(&self) -> f64 {
        self.unit
    }

    /// The cell of `x` (snapped onto the grids, the last variable fastest).
    fn cell(&self, x: &[f64]) -> usize {
        x.iter().zip(&self.levels).fold(0, |cell, (&v, &n)| {
            cell * n + ((v * n as f64).floor().max(0.0) as usize).min(n - 1)
        })
    }

    /// The index of the table's fidelity nearest `z`.
    fn fidelity_index(&self, z: f64) -> usize {
        (0..self.fidelities.len())
            .min_by(|&a, &b| {
                let d = |k: usize| (self.fidelities[k] - z).abs();
                d(a).total_cmp(&d(b))
            })
            .expect("at least one fidelity")
    }

    /// The cost, in units, of going from fidelity `from` (0: cold) to `z` along the chain
    /// `chain` (cumulative per fidelity, entries' unit): the entries passed, with the
    /// overhead paid once.
    fn span(&self, chain: impl Fn(usize) -> f64, from: f64, z: f64) -> f64 {
        let to = self.fidelity_index(z);
        let (start, first) = if from <= 0.0 {
            (0.0, 0)
        } else {
            let k = self.fidelity_index(from);
            (chain(k), k + 1)
        };
        if to < first {
            return 0.0;
        }
        let skipped = (to - first) as f64;
        ((chain(to) - start - self.overhead * skipped) / self.unit).max(0.0)
    }

    /// Every design's full-fidelity objectives, minimised (those that did not fail).
    fn full_points(&self) -> Vec<Vec<f64>> {
        self.cells
            .iter()
            .map(|e| &e.last().expect("checked").y)
            .filter(|y| y.iter().all(|v| v.is_finite()))
            .map(|y| y.iter().map(|v| -v).collect())
            .collect()
    }
}

impl MultiFidelityProblem for TabulatedProblem {
    fn name(&self) -> &str {
        &self.name
    }

    fn dim(&self) -> usize {
        self.levels.len()
    }

    fn num_objectives(&self) -> usize {
        self.kinds.len()
    }

    fn evaluate(&self, x: &[f64], z: f64) -> Vec<f64> {
        self.cells[self.cell(x)][self.fidelity_index(z)].y.clone()
    }

    fn objective_kinds(&self) -> Vec<ObjectiveKind> {
        self.kinds.clone()
    }

    fn multi_fidelity(&self) -> bool {
        self.fidelities.len() > 1
    }

    fn cost(&self, z: f64) -> f64 {
        self.expected_cost(0.0, z)
    }

    fn levels(&self) -> Vec<usize> {
        self.levels.clone()
    }

    fn fidelities(&self) -> Option<Vec<f64>> {
        Some(self.fidelities.clone())
    }

    /// The mean over the designs of the cost from `from` to `z`.
    fn expected_cost(&self, from: f64, z: f64) -> f64 {
        self.span(|k| self.mean_chain[k], from, z)
    }

    /// The design's cost of the table's entries above `from` up to `z`, the overhead paid
    /// once.
    fn cost_at(&self, x: &[f64], from: f64, z: f64) -> f64 {
        let entries = &self.cells[self.cell(x)];
        let chain = |k: usize| entries[..=k].iter().map(|e| e.cost).sum::<f64>();
        self.span(chain, from, z)
    }

    /// The worst full-fidelity value of each objective over the grid, pushed 10 % of its
    /// range further out (the benchmark's rule for a problem without a published point,
    /// here over every design instead of Sobol samples).
    fn reference_point(&self) -> Option<Vec<f64>> {
        let points = self.full_points();
        let k = self.kinds.len();
        Some(
            (0..k)
                .map(|j| {
                    let lo = points.iter().map(|p| p[j]).fold(f64::INFINITY, f64::min);
                    let hi = points
                        .iter()
                        .map(|p| p[j])
                        .fold(f64::NEG_INFINITY, f64::max);
                    hi + 0.1 * (hi - lo)
                })
                .collect(),
        )
    }

    /// The exact maximum: the hypervolume of the whole grid at full fidelity.
    fn max_hypervolume(&self) -> Option<f64> {
        let reference = self.reference_point()?;
        hypervolume(&self.full_points(), &reference).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::benchmark::{self, BenchConfig, Method};

    /// A 3 x 2 grid at fidelities 1/2 and 1: objective 0 is measured (higher at full
    /// fidelity), objective 1 known; design `c` costs `1 + c` per row.
    fn table() -> TabulatedProblem {
        let cells = (0..6)
            .map(|c| {
                let f = c as f64;
                vec![
                    Entry {
                        y: vec![f / 2.0, -f * f],
                        cost: 1.0 + f,
                    },
                    Entry {
                        y: vec![f, -f * f],
                        cost: 1.0 + f,
                    },
                ]
            })
            .collect();
        let kinds = vec![
            ObjectiveKind::Modelled {
                fidelity_dependent: true,
            },
            ObjectiveKind::Known,
        ];
        TabulatedProblem::new("t", vec![3, 2], vec![0.5, 1.0], kinds, cells, 0.0).unwrap()
    }

    #[test]
    fn lookups_snap_onto_the_grid_and_the_nearest_fidelity() {
        let t = table();
        assert_eq!(t.evaluate(&[0.0, 0.0], 1.0), vec![0.0, 0.0]);
        assert_eq!(
            t.evaluate(&[0.5, 0.99], 1.0),
            vec![3.0, -9.0],
            "cell 1 * 2 + 1"
        );
        assert_eq!(
            t.evaluate(&[1.0, 1.0], 0.4),
            vec![2.5, -25.0],
            "cell 5 at z = 1/2"
        );
    }

    #[test]
    fn costs_are_the_recorded_chains_in_units_of_the_mean_full_chain() {
        let t = table();
        // Chains 2 (1 + f) for f = 0..5: mean 2 * 3.5 = 7.
        assert_eq!(t.cost_unit(), 7.0);
        assert!((t.expected_cost(0.0, 1.0) - 1.0).abs() < 1e-12);
        assert!(
            (t.expected_cost(0.5, 1.0) - 0.5).abs() < 1e-12,
            "a warm start"
        );
        assert!((t.cost_at(&[0.9, 0.9], 0.0, 1.0) - 12.0 / 7.0).abs() < 1e-12);
        assert!((t.cost_at(&[0.0, 0.0], 0.5, 1.0) - 1.0 / 7.0).abs() < 1e-12);
    }

    #[test]
    fn a_jump_over_fidelities_pays_the_overhead_once() {
        // Every entry costs 0.5 overhead + 1 epoch, at 1/3, 2/3 and 1.
        let entry = |y: f64| Entry {
            y: vec![y],
            cost: 1.5,
        };
        let cells = vec![vec![entry(0.0), entry(0.5), entry(1.0)]; 2];
        let kinds = vec![ObjectiveKind::Known];
        let third = 1.0 / 3.0;
        let t = TabulatedProblem::new(
            "t",
            vec![2],
            vec![third, 2.0 * third, 1.0],
            kinds,
            cells,
            0.5,
        )
        .unwrap();
        // A cold full evaluation: 0.5 + 3 epochs, the unit.
        assert_eq!(t.cost_unit(), 3.5);
        assert!((t.cost_at(&[0.0], 0.0, 1.0) - 1.0).abs() < 1e-12);
        assert!((t.cost_at(&[0.0], third, 1.0) - 2.5 / 3.5).abs() < 1e-12);
        assert!((t.cost_at(&[0.0], 2.0 * third, 1.0) - 1.5 / 3.5).abs() < 1e-12);
        assert!((t.expected_cost(0.0, third) - 1.5 / 3.5).abs() < 1e-12);
        assert_eq!(t.cost_at(&[0.0], 1.0, 1.0), 0.0);
    }

    #[test]
    fn the_maximum_hypervolume_is_the_whole_grid_s() {
        let t = table();
        // Minimised points (-f, f^2), f = 0..5; reference (0 + 0.5, 25 + 2.5).
        assert_eq!(t.reference_point(), Some(vec![0.5, 27.5]));
        let points: Vec<Vec<f64>> = (0..6).map(|c| vec![-(c as f64), (c * c) as f64]).collect();
        let exact = hypervolume(&points, &[0.5, 27.5]).unwrap();
        assert_eq!(t.max_hypervolume(), Some(exact));
        assert_eq!(benchmark::max_hypervolume(&t), (exact, true));
    }

    #[test]
    fn a_failed_design_counts_toward_no_hypervolume() {
        let kinds = vec![ObjectiveKind::Known, ObjectiveKind::Known];
        let entry = |y: Vec<f64>| vec![Entry { y, cost: 1.0 }];
        let cells = vec![
            entry(vec![1.0, 0.0]),
            entry(vec![f64::NAN, 5.0]),
            entry(vec![0.0, 1.0]),
        ];
        let t = TabulatedProblem::new("t", vec![3], vec![1.0], kinds, cells, 0.0).unwrap();
        // Minimised points (-1, 0) and (0, -1): the failed (NaN, -5) is left out.
        assert_eq!(t.reference_point(), Some(vec![0.1, 0.1]));
        let config = BenchConfig {
            nsga2_population: 4,
            nsga2_generations: 2,
            ..BenchConfig::default()
        };
        let trace = benchmark::run(&t, Method::Random, &config, 1, f64::INFINITY).unwrap();
        let hv = trace.last().unwrap().hypervolume;
        assert!(hv.is_finite() && hv <= t.max_hypervolume().unwrap() + 1e-12);
    }

    #[test]
    fn a_repeated_evaluation_costs_nothing_in_a_run() {
        let t = table();
        let config = BenchConfig {
            nsga2_population: 4,
            nsga2_generations: 3,
            ..BenchConfig::default()
        };
        let trace = benchmark::run(&t, Method::Nsga2, &config, 0, f64::INFINITY).unwrap();
        assert_eq!(trace.len(), 16, "NSGA-II's four generations of four");
        let spent = trace.last().unwrap().cumulative_cost;
        assert!(
            spent <= 6.0 * 12.0 / 7.0 + 1e-9,
            "at most each design once: {spent}"
        );
        let hv = trace.last().unwrap().hypervolume;
        assert!(hv > 0.0 && hv <= t.max_hypervolume().unwrap() * (1.0 + 1e-12));
    }

    #[test]
    fn a_table_of_the_wrong_shape_is_refused() {
        let kinds = vec![ObjectiveKind::Known];
        let entry = |v: f64| Entry {
            y: vec![v],
            cost: 1.0,
        };
        let too_few = TabulatedProblem::new("t", vec![2], vec![1.0], kinds.clone(), vec![], 0.0);
        assert!(matches!(too_few, Err(TableError::Shape(_))));
        let infinite = TabulatedProblem::new(
            "t",
            vec![2],
            vec![1.0],
            kinds,
            vec![vec![entry(1.0)], vec![entry(f64::INFINITY)]],
            0.0,
        );
        assert!(matches!(infinite, Err(TableError::Value { cell: 1, .. })));
    }
}
