//! The DAG runner: resolves a node's key, reuses a verified cached object or computes and
//! stores it, and records what it did and how long it took.

use std::collections::BTreeSet;
use std::time::Instant;

use anyhow::{Context, Result};
use cache::{CacheKey, KeyInput, Object, ObjectWriter, Store};

/// What the runner did for one node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// A verified object was reused.
    Cached,
    /// The object was computed (it was missing, or failed verification).
    Computed,
    /// The object existed but `--recompute` forced a new one.
    Recomputed,
}

impl Outcome {
    /// Lower-case name for logs and tables.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Cached => "cached",
            Outcome::Computed => "computed",
            Outcome::Recomputed => "recomputed",
        }
    }
}

/// One node's record.
#[derive(Debug, Clone)]
pub struct NodeRun {
    /// Stage name.
    pub stage: &'static str,
    /// Which instance (e.g. the design).
    pub label: String,
    /// Its cache key, hex.
    pub key: String,
    /// What happened.
    pub outcome: Outcome,
    /// Wall time, seconds (including verification).
    pub seconds: f64,
}

/// The error of a read-only runner asked for a node the store does not have.
#[derive(Debug, thiserror::Error)]
#[error("{stage} ({label}) is not in the store, and this command computes nothing")]
pub struct NotStored {
    /// The node's stage.
    pub stage: &'static str,
    /// Which instance.
    pub label: String,
}

/// `Some(value)`, or `None` where a read-only runner found the node missing from the
/// store ([`NotStored`]: the caller goes without it); any other error is an error.
pub fn if_stored<T>(value: Result<T>) -> Result<Option<T>> {
    match value {
        Ok(v) => Ok(Some(v)),
        Err(e) if e.downcast_ref::<NotStored>().is_some() => {
            tracing::warn!("{e:#}; going without it (`pipeline run` computes it)");
            Ok(None)
        }
        Err(e) => Err(e),
    }
}

/// Runs nodes against a store.
pub struct Runner {
    store: Store,
    /// Whether it only reads: a missing node is a [`NotStored`] error.
    read_only: bool,
    recompute: BTreeSet<String>,
    recomputed: BTreeSet<String>,
    /// Every node run so far, in order.
    pub runs: Vec<NodeRun>,
    /// Node runs that workers reported: counted in [`Runner::summary`], but recorded in
    /// `runs/` by the workers themselves.
    pub worker_runs: Vec<NodeRun>,
}

impl Runner {
    /// A runner over `store` that recomputes the stages named in `recompute`.
    pub fn new(store: Store, recompute: BTreeSet<String>) -> Runner {
        Runner {
            store,
            read_only: false,
            recompute,
            recomputed: BTreeSet::new(),
            runs: Vec::new(),
            worker_runs: Vec::new(),
        }
    }

    /// From now on computes nothing: a node that is not stored is a [`NotStored`] error.
    pub fn set_read_only(&mut self) {
        self.read_only = true;
    }

    /// Returns the object for `input`: cached if present and verified (unless its stage
    /// is forced, once per run), else computed by `compute`, which puts the files (a
    /// read-only runner fails with [`NotStored`] instead).
    pub fn ensure(
        &mut self,
        input: KeyInput,
        label: String,
        compute: impl FnOnce(&mut ObjectWriter) -> Result<()>,
    ) -> Result<Object> {
        let start = Instant::now();
        let key = input.key();
        let forced = !self.read_only
            && self.recompute.contains(input.stage)
            && self.recomputed.insert(key.hex());
        // A forced node is computed anew and replaces the stored one only once complete:
        // another study may be reading it meanwhile.
        let cached = if forced { None } else { self.store.get(&key)? };
        let (object, outcome) = match cached {
            Some(o) => (o, Outcome::Cached),
            None if self.read_only => {
                return Err(NotStored {
                    stage: input.stage,
                    label,
                }
                .into())
            }
            None => {
                tracing::info!("{} {label}: computing", input.stage);
                let mut writer = self.store.writer(&input)?;
                compute(&mut writer).with_context(|| format!("stage {} ({label})", input.stage))?;
                let o = if forced {
                    writer.commit_replacing()?
                } else {
                    writer.commit()?
                };
                (
                    o,
                    if forced {
                        Outcome::Recomputed
                    } else {
                        Outcome::Computed
                    },
                )
            }
        };
        let seconds = start.elapsed().as_secs_f64();
        tracing::info!(
            "{} {label}: {} in {seconds:.3} s",
            input.stage,
            outcome.as_str()
        );
        self.runs.push(NodeRun {
            stage: input.stage,
            label,
            key: key.hex(),
            outcome,
            seconds,
        });
        Ok(object)
    }

    /// The verified cached object of `key`, if any, without running anything.
    pub fn cached(&self, key: &CacheKey) -> Result<Option<Object>> {
        self.store.get(key)
    }

    /// Per stage: (cached, computed or recomputed) counts, in first-seen order.
    pub fn summary(&self) -> Vec<(&'static str, usize, usize)> {
        let mut out: Vec<(&'static str, usize, usize)> = Vec::new();
        for r in self.runs.iter().chain(&self.worker_runs) {
            let i = match out.iter().position(|(s, _, _)| *s == r.stage) {
                Some(i) => i,
                None => {
                    out.push((r.stage, 0, 0));
                    out.len() - 1
                }
            };
            if r.outcome == Outcome::Cached {
                out[i].1 += 1;
            } else {
                out[i].2 += 1;
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(stage: &'static str, seed: u64) -> KeyInput {
        KeyInput::new(stage, 1, &serde_json::json!({}), vec![], seed).unwrap()
    }

    #[test]
    fn second_ensure_is_cached_and_recompute_forces_once() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let mut calls = 0;
        let mut r = Runner::new(store.clone(), BTreeSet::new());
        for _ in 0..2 {
            r.ensure(input("a", 1), "x".into(), |w| {
                calls += 1;
                w.put("f", b"1")
            })
            .unwrap();
        }
        assert_eq!(calls, 1);
        assert_eq!(r.summary(), vec![("a", 1, 1)]);
        let mut r = Runner::new(store, BTreeSet::from(["a".to_string()]));
        for _ in 0..2 {
            r.ensure(input("a", 1), "x".into(), |w| {
                calls += 1;
                w.put("f", b"2")
            })
            .unwrap();
        }
        assert_eq!(calls, 2);
        assert_eq!(r.runs[0].outcome, Outcome::Recomputed);
        assert_eq!(r.runs[1].outcome, Outcome::Cached);
    }

    #[test]
    fn a_failing_stage_stores_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let mut r = Runner::new(store.clone(), BTreeSet::new());
        let err = r
            .ensure(input("b", 1), "y".into(), |w| {
                w.put("f", b"partial")?;
                anyhow::bail!("boom")
            })
            .unwrap_err();
        assert!(format!("{err:#}").contains("stage b (y): boom"));
        assert!(store.keys().unwrap().is_empty());
    }

    #[test]
    fn a_read_only_runner_reads_what_is_stored_and_computes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let mut r = Runner::new(store.clone(), BTreeSet::from(["a".to_string()]));
        r.ensure(input("a", 1), "x".into(), |w| w.put("f", b"1"))
            .unwrap();
        r.set_read_only();
        let o = r
            .ensure(input("a", 1), "x".into(), |_| panic!("computed"))
            .unwrap();
        assert_eq!(o.read("f").unwrap(), b"1", "read, not recomputed");
        let err = r
            .ensure(input("a", 2), "z".into(), |_| panic!("computed"))
            .unwrap_err();
        assert!(err.downcast_ref::<NotStored>().is_some(), "{err:#}");
        assert_eq!(store.keys().unwrap().len(), 1);
    }
}
