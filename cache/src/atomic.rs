//! Atomic file writes: a temp file in the destination's directory, fsync, rename, fsync
//! of the directory. A reader sees either the old file or the complete new one, never a
//! torn write, whatever moment the process is killed at.

use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::{Context, Result};

/// Prefix of every temporary file or directory this crate creates; anything named so is
/// debris of an interrupted write and is never read as data.
pub const TEMP_PREFIX: &str = ".tmp-";

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// A fresh temporary path beside `dest` (same directory, so the rename stays on one file
/// system), unique within this process and across processes, on this host and on the
/// other nodes of a cluster writing to the same shared directory.
pub fn temp_path_beside(dest: &Path) -> PathBuf {
    static HOST: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let host = HOST.get_or_init(|| {
        crate::host::host_name()
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
            .collect()
    });
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let name = dest
        .file_name()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = format!("{TEMP_PREFIX}{host}-{}-{n}-{name}", std::process::id());
    dest.with_file_name(tmp)
}

/// Writes `bytes` to `dest` atomically (temp file, fsync, rename, directory fsync).
pub fn write_atomic(dest: &Path, bytes: &[u8]) -> Result<()> {
    let dir = parent_dir(dest);
    create_dir_all_synced(dir)?;
    let tmp = temp_path_beside(dest);
    let result = (|| -> Result<()> {
        let mut f = File::create(&tmp).with_context(|| format!("creating {}", tmp.display()))?;
        f.write_all(bytes)
            .with_context(|| format!("writing {}", tmp.display()))?;
        f.sync_all()
            .with_context(|| format!("syncing {}", tmp.display()))?;
        fs::rename(&tmp, dest).with_context(|| format!("renaming into {}", dest.display()))?;
        sync_dir(dir)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// Creates `dir` and its missing ancestors, fsyncing the parent of each directory it
/// creates, so that a new directory survives a crash with what is renamed into it.
pub fn create_dir_all_synced(dir: &Path) -> Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    let mut missing = Vec::new();
    let mut d = dir;
    while !d.exists() {
        missing.push(d.to_path_buf());
        match d.parent() {
            Some(p) if !p.as_os_str().is_empty() => d = p,
            _ => break,
        }
    }
    fs::create_dir_all(dir).with_context(|| format!("creating directory {}", dir.display()))?;
    for created in missing.iter().rev() {
        sync_dir(parent_dir(created))?;
    }
    Ok(())
}

/// Fsyncs a directory so that a rename inside it survives a crash.
pub fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .with_context(|| format!("syncing directory {}", dir.display()))
}

fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_atomic_replaces_whole_file_and_leaves_no_temp() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("sub/out.bin");
        write_atomic(&dest, b"first version").unwrap();
        write_atomic(&dest, b"second").unwrap();
        assert_eq!(fs::read(&dest).unwrap(), b"second");
        let names: Vec<_> = fs::read_dir(dest.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert_eq!(names, vec!["out.bin".to_string()]);
    }

    #[test]
    fn temp_paths_are_unique_and_marked() {
        let a = temp_path_beside(Path::new("/x/y.parquet"));
        let b = temp_path_beside(Path::new("/x/y.parquet"));
        assert_ne!(a, b);
        assert!(a
            .file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with(TEMP_PREFIX));
        assert_eq!(a.parent().unwrap(), Path::new("/x"));
    }
}
