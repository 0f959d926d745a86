//! The peers' runs stored as reference data (`bench/baseline-traces.parquet`, written by
//! `bench/optimizer_baselines.py --store`: BoTorch's qLogNEHVI, MOMF and MF-HVKG, pymoo's
//! NSGA-II), read back so that every `pipeline bench optimizer` run scores its methods
//! against the same peer runs without re-running them (BoTorch takes minutes to hours a run
//! on a small machine).

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{bail, Context, Result};
use optimizer::benchmark::{Method, TracePoint};
use polars::prelude::{Column, DataFrame, DataType};

use crate::results;

/// One stored run of a peer on one problem and seed.
#[derive(Debug)]
pub(crate) struct StoredRun {
    /// The peer's name (`botorch_qlognehvi`, ...).
    pub method: String,
    /// Its trace, in the order it evaluated.
    pub trace: Vec<TracePoint>,
    /// The hypervolume of the front of its full-fidelity evaluations and its recommended
    /// set (the designs its model recommends, evaluated after the run and not charged);
    /// `None` where the file does not say (its evaluated front is the recommendation).
    pub recommended_hypervolume: Option<f64>,
}

/// Every stored run, by problem and seed.
#[derive(Debug, Default)]
pub(crate) struct StoredBaselines {
    runs: BTreeMap<(String, u64), Vec<StoredRun>>,
}

/// The columns a stored trace must have, and their types.
const COLUMNS: [(&str, DataType); 8] = [
    ("problem", DataType::String),
    ("method", DataType::String),
    ("seed", DataType::UInt64),
    ("evaluation", DataType::UInt64),
    ("fidelity_z", DataType::Float64),
    ("cost", DataType::Float64),
    ("cumulative_cost", DataType::Float64),
    ("hypervolume", DataType::Float64),
];

impl StoredBaselines {
    /// Reads the stored traces at `path`; refuses (naming `flag` and the file) a file that
    /// cannot be read, lacks a column, or names a method of ours.
    pub fn read(path: &Path, flag: &str) -> Result<Self> {
        let frame = results::read_file(path)
            .with_context(|| format!("{flag} {}: not a readable Parquet file", path.display()))?;
        Self::from_frame(&frame).with_context(|| format!("{flag} {}", path.display()))
    }

    fn from_frame(frame: &DataFrame) -> Result<Self> {
        let column = |name: &str, dtype: &DataType| -> Result<Column> {
            let c = frame
                .column(name)
                .map_err(|_| anyhow::anyhow!("no column {name:?}"))?;
            Ok(c.strict_cast(dtype)?)
        };
        let [problem, method, seed, evaluation, z, cost, cumulative, hypervolume] =
            COLUMNS.map(|(name, dtype)| column(name, &dtype));
        let (problem, method) = (problem?, method?);
        let (problem, method) = (problem.str()?, method.str()?);
        let (seed, evaluation) = (seed?, evaluation?);
        let (seed, evaluation) = (seed.u64()?, evaluation.u64()?);
        let (z, cost, cumulative, hypervolume) = (z?, cost?, cumulative?, hypervolume?);
        let (z, cost, cumulative, hypervolume) =
            (z.f64()?, cost.f64()?, cumulative.f64()?, hypervolume.f64()?);
        // A store without the column recommends the evaluated front.
        let recommended = frame
            .column("recommended_hypervolume")
            .ok()
            .map(|c| c.strict_cast(&DataType::Float64))
            .transpose()?;
        let recommended = recommended.as_ref().map(|s| s.f64()).transpose()?;
        let mut runs: BTreeMap<(String, u64, String), StoredRun> = BTreeMap::new();
        for i in 0..frame.height() {
            let (Some(p), Some(m), Some(s)) = (problem.get(i), method.get(i), seed.get(i)) else {
                bail!("row {i} has no problem, method or seed");
            };
            if Method::ALL.iter().any(|ours| ours.as_str() == m) {
                bail!("row {i} names {m:?}, a method of ours: stored traces are the peers'");
            }
            let point = TracePoint {
                evaluation: evaluation.get(i).context("an evaluation number")? as usize,
                z: z.get(i).context("a fidelity")?,
                cost: cost.get(i).context("a cost")?,
                cumulative_cost: cumulative.get(i).context("a cumulative cost")?,
                hypervolume: hypervolume.get(i).context("a hypervolume")?,
            };
            let run = runs
                .entry((p.to_string(), s, m.to_string()))
                .or_insert_with(|| StoredRun {
                    method: m.to_string(),
                    trace: Vec::new(),
                    recommended_hypervolume: None,
                });
            if let Some(r) = recommended.and_then(|r| r.get(i)) {
                run.recommended_hypervolume =
                    Some(run.recommended_hypervolume.map_or(r, |v| v.max(r)));
            }
            run.trace.push(point);
        }
        let mut stored = StoredBaselines::default();
        for ((p, s, _), mut run) in runs {
            run.trace.sort_by_key(|t| t.evaluation);
            stored.runs.entry((p, s)).or_default().push(run);
        }
        Ok(stored)
    }

    /// The stored runs of `problem` on `seed`.
    pub fn runs(&self, problem: &str, seed: u64) -> &[StoredRun] {
        self.runs
            .get(&(problem.to_string(), seed))
            .map_or(&[], Vec::as_slice)
    }

    /// The peers with a stored run of `problem` on any seed below `seeds`, by name.
    pub fn methods(&self, problem: &str, seeds: u64) -> Vec<String> {
        let mut names: Vec<String> = (0..seeds)
            .flat_map(|s| self.runs(problem, s).iter().map(|r| r.method.clone()))
            .collect();
        names.sort();
        names.dedup();
        names
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(methods: &[&str]) -> DataFrame {
        let n = methods.len();
        DataFrame::new_infer_height(vec![
            Column::new("problem".into(), vec!["p"; n]),
            Column::new("method".into(), methods.to_vec()),
            Column::new("seed".into(), vec![0i64; n]),
            Column::new(
                "evaluation".into(),
                (1..=n as i64).rev().collect::<Vec<_>>(),
            ),
            Column::new("fidelity_z".into(), vec![1.0; n]),
            Column::new("cost".into(), vec![1.0; n]),
            Column::new("cumulative_cost".into(), vec![1.0; n]),
            Column::new(
                "hypervolume".into(),
                (0..n).map(|i| i as f64).collect::<Vec<_>>(),
            ),
        ])
        .unwrap()
    }

    #[test]
    fn stored_runs_are_grouped_and_ordered() {
        let stored = StoredBaselines::from_frame(&frame(&["a", "a", "b"])).unwrap();
        let runs = stored.runs("p", 0);
        assert_eq!(runs.len(), 2);
        assert_eq!(runs[0].method, "a");
        // Sorted by evaluation: the file's rows were in reverse.
        let evaluations: Vec<usize> = runs[0].trace.iter().map(|t| t.evaluation).collect();
        assert_eq!(evaluations, [2, 3]);
        assert_eq!(runs[0].recommended_hypervolume, None);
        assert_eq!(stored.methods("p", 1), ["a", "b"]);
        assert!(stored.methods("p", 0).is_empty() && stored.runs("q", 0).is_empty());
    }

    #[test]
    fn a_stored_run_under_one_of_our_names_or_without_a_column_is_refused() {
        let err = StoredBaselines::from_frame(&frame(&["nsga2"])).unwrap_err();
        assert!(err.to_string().contains("a method of ours"), "{err}");
        let mut f = frame(&["a"]);
        f.drop_in_place("hypervolume").unwrap();
        let err = StoredBaselines::from_frame(&f).unwrap_err();
        assert!(err.to_string().contains("\"hypervolume\""), "{err}");
    }
}
