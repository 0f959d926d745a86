//! A batch of worker tasks: what an executor runs and waits for, and how long a retry
//! of one of its tasks waits.

use std::path::PathBuf;
use std::time::Duration;

use crate::worker;

/// One batch of tasks.
#[derive(Debug, Clone)]
pub struct Batch {
    /// The study directory (on a file system the workers share).
    pub study: PathBuf,
    /// The store (shared too).
    pub cache: PathBuf,
    /// The batch's name, `b<first decision index>`, unique within the study.
    pub name: String,
    /// The task ids, in decision order.
    pub tasks: Vec<String>,
}

impl Batch {
    /// The tasks without a result yet.
    pub fn unfinished(&self) -> Vec<usize> {
        (0..self.tasks.len())
            .filter(|&i| worker::read_result(&self.study, &self.tasks[i]).is_none())
            .collect()
    }
}

/// How long retry `attempt` (from 1) of a task waits: 1 s, doubling, at most 30 s, so
/// that a passing fault (a full disk being cleaned, a node coming back) can clear.
pub fn retry_backoff(attempt: usize) -> Duration {
    Duration::from_secs(1u64 << attempt.saturating_sub(1).min(5)).min(Duration::from_secs(30))
}
