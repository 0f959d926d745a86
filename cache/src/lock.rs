//! The study lock: an exclusive OS file lock on `<study>/.lock`, held while a run writes
//! to the study. The kernel drops it when the process exits, even on `kill -9`, so it
//! can never go stale.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

/// A held study lock; released on drop (or by the OS when the process dies).
#[derive(Debug)]
pub struct StudyLock {
    _file: File,
    path: PathBuf,
}

/// The error when another live process holds the study.
#[derive(Debug, thiserror::Error)]
#[error("study {study} is busy: another run holds its lock ({holder}); wait for it to finish or use another --study directory")]
pub struct StudyBusy {
    /// The study directory.
    pub study: String,
    /// What the holder wrote into the lock file (pid and host).
    pub holder: String,
}

impl StudyLock {
    /// Takes the lock without waiting; fails with [`StudyBusy`] if another process has it.
    pub fn acquire(study_dir: &Path) -> Result<StudyLock> {
        fs::create_dir_all(study_dir)
            .with_context(|| format!("creating study directory {}", study_dir.display()))?;
        let path = study_dir.join(".lock");
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .with_context(|| format!("opening {}", path.display()))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(fs::TryLockError::WouldBlock) => {
                let holder = fs::read_to_string(&path).unwrap_or_default();
                return Err(StudyBusy {
                    study: study_dir.display().to_string(),
                    holder: holder.trim().to_string(),
                }
                .into());
            }
            Err(fs::TryLockError::Error(e)) => {
                return Err(e).with_context(|| format!("locking {}", path.display()))
            }
        }
        file.set_len(0)?;
        writeln!(
            file,
            "pid {} on {}",
            std::process::id(),
            crate::host::host_name()
        )?;
        Ok(StudyLock { _file: file, path })
    }

    /// The lock file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_is_refused_until_the_first_is_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let first = StudyLock::acquire(dir.path()).unwrap();
        let err = StudyLock::acquire(dir.path()).unwrap_err();
        let busy = err.downcast_ref::<StudyBusy>().expect("StudyBusy");
        assert!(busy.holder.contains(&std::process::id().to_string()));
        assert!(err.to_string().contains("is busy"));
        drop(first);
        StudyLock::acquire(dir.path()).unwrap();
    }
}
