//! A batch of worker tasks: what an executor runs and waits for.

use std::path::PathBuf;

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
