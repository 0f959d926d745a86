//! The content-addressed object store, shared by every study that points at it.
//!
//! An object is a directory `objects/<2 hex>/<key>/` holding the stage's files and a
//! `MANIFEST.json` with, for each file, its length and blake3 hash, plus what the key was
//! made of, the host and the tool version. An object is built in a temporary directory
//! and renamed into place in one step, so it is either complete or absent. Every read
//! re-hashes the files: an object that fails is logged as a warning, moved to
//! `quarantine/` and reported as missing, so the stage recomputes it.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};

use crate::atomic::{self, TEMP_PREFIX};
use crate::key::{CacheKey, KeyInput};

const MANIFEST: &str = "MANIFEST.json";

/// The store's root directory.
#[derive(Debug, Clone)]
pub struct Store {
    root: PathBuf,
}

/// One file of an object, as recorded in the manifest.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct FileEntry {
    /// File name inside the object directory.
    pub name: String,
    /// Length in bytes.
    pub bytes: u64,
    /// blake3 of the contents, hex.
    pub blake3: String,
}

/// What an object's `MANIFEST.json` records.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Manifest {
    /// The object's key, hex.
    pub key: String,
    /// The stage that produced it.
    pub stage: String,
    /// That stage's code version.
    pub code_version: u32,
    /// The stage parameters the key covers.
    pub params: serde_json::Value,
    /// Upstream keys.
    pub upstream: Vec<String>,
    /// The seed.
    pub seed: u64,
    /// The object's files.
    pub files: Vec<FileEntry>,
    /// Host that computed it.
    pub host: String,
    /// Version of xbar-opt that computed it.
    pub tool_version: String,
    /// Unix time of creation, seconds.
    pub created_unix_s: u64,
}

/// A verified object in the store.
#[derive(Debug, Clone)]
pub struct Object {
    key: CacheKey,
    dir: PathBuf,
    manifest: Manifest,
}

impl Object {
    /// The object's key.
    pub fn key(&self) -> CacheKey {
        self.key
    }

    /// The object's manifest.
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// The path of one of the object's files (verified when the object was opened).
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// Reads one of the object's files.
    pub fn read(&self, name: &str) -> Result<Vec<u8>> {
        if !self.manifest.files.iter().any(|f| f.name == name) {
            bail!("object {} has no file {name:?}", self.key.short());
        }
        fs::read(self.path(name)).with_context(|| format!("reading {}", self.path(name).display()))
    }
}

/// Builds a new object in a temporary directory; [`ObjectWriter::commit`] moves it into place.
#[derive(Debug)]
pub struct ObjectWriter {
    store: Store,
    key: CacheKey,
    input: KeyInput,
    tmp: PathBuf,
    files: Vec<FileEntry>,
}

impl ObjectWriter {
    /// Adds a file to the object (written and fsynced now).
    pub fn put(&mut self, name: &str, bytes: &[u8]) -> Result<()> {
        if name == MANIFEST || name.contains('/') || name.starts_with('.') {
            bail!("invalid object file name {name:?}");
        }
        let path = self.tmp.join(name);
        let mut f =
            fs::File::create(&path).with_context(|| format!("creating {}", path.display()))?;
        std::io::Write::write_all(&mut f, bytes)?;
        f.sync_all()?;
        self.files.push(FileEntry {
            name: name.to_string(),
            bytes: bytes.len() as u64,
            blake3: blake3::hash(bytes).to_hex().to_string(),
        });
        Ok(())
    }

    /// Writes the manifest and renames the object into place. If another process
    /// committed the same key meanwhile, its verified object is kept and returned.
    pub fn commit(mut self) -> Result<Object> {
        let manifest = Manifest {
            key: self.key.hex(),
            stage: self.input.stage.to_string(),
            code_version: self.input.code_version,
            params: self.input.params.clone(),
            upstream: self.input.upstream.iter().map(|k| k.hex()).collect(),
            seed: self.input.seed,
            files: std::mem::take(&mut self.files),
            host: host_name(),
            tool_version: env!("CARGO_PKG_VERSION").to_string(),
            created_unix_s: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0),
        };
        let json = serde_json::to_vec_pretty(&manifest)?;
        let mpath = self.tmp.join(MANIFEST);
        let mut f = fs::File::create(&mpath)?;
        std::io::Write::write_all(&mut f, &json)?;
        f.sync_all()?;
        atomic::sync_dir(&self.tmp)?;
        let dest = self.store.object_dir(&self.key);
        if dest.exists() {
            if let Some(existing) = self.store.get(&self.key) {
                let _ = fs::remove_dir_all(&self.tmp);
                return Ok(existing);
            }
        }
        if let Err(e) = fs::rename(&self.tmp, &dest) {
            // Another process (a parallel worker) committed the same key between the
            // check above and the rename: keep its object.
            if let Some(existing) = self.store.get(&self.key) {
                let _ = fs::remove_dir_all(&self.tmp);
                return Ok(existing);
            }
            return Err(e).with_context(|| format!("moving object into {}", dest.display()));
        }
        atomic::sync_dir(dest.parent().unwrap_or(&self.store.root))?;
        Ok(Object {
            key: self.key,
            dir: dest,
            manifest,
        })
    }
}

impl Drop for ObjectWriter {
    fn drop(&mut self) {
        // After a commit the directory has been renamed away and this does nothing.
        let _ = fs::remove_dir_all(&self.tmp);
    }
}

impl Store {
    /// Opens (creating if needed) a store at `root`.
    pub fn open(root: &Path) -> Result<Store> {
        fs::create_dir_all(root.join("objects"))
            .with_context(|| format!("creating the cache store at {}", root.display()))?;
        Ok(Store {
            root: root.to_path_buf(),
        })
    }

    /// The store's root directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    fn object_dir(&self, key: &CacheKey) -> PathBuf {
        let hex = key.hex();
        self.root.join("objects").join(&hex[..2]).join(hex)
    }

    /// The verified object under `key`, or `None` if it is absent or fails verification
    /// (then it is quarantined with a warning, so that it will be recomputed).
    pub fn get(&self, key: &CacheKey) -> Option<Object> {
        let dir = self.object_dir(key);
        if !dir.exists() {
            return None;
        }
        match verify(key, &dir) {
            Ok(manifest) => Some(Object {
                key: *key,
                dir,
                manifest,
            }),
            Err(e) => {
                tracing::warn!(
                    "cache object {} is corrupted ({e:#}); it will be recomputed",
                    key.short()
                );
                self.quarantine(key, &dir);
                None
            }
        }
    }

    /// Whether a verified object exists under `key`.
    pub fn contains(&self, key: &CacheKey) -> bool {
        self.get(key).is_some()
    }

    /// Starts writing the object for `input` (its key is `input.key()`).
    pub fn writer(&self, input: &KeyInput) -> Result<ObjectWriter> {
        let key = input.key();
        let dest = self.object_dir(&key);
        let parent = dest.parent().expect("object dir has a parent");
        atomic::create_dir_all_synced(parent)?;
        let tmp = atomic::temp_path_beside(&dest);
        fs::create_dir(&tmp).with_context(|| format!("creating {}", tmp.display()))?;
        Ok(ObjectWriter {
            store: self.clone(),
            key,
            input: input.clone(),
            tmp,
            files: Vec::new(),
        })
    }

    /// Evicts one object (a forced recompute, or a user's clean-up). Absent keys are fine.
    pub fn evict(&self, key: &CacheKey) -> Result<()> {
        let dir = self.object_dir(key);
        if !dir.exists() {
            return Ok(());
        }
        // Rename first so that the slot is free at once, even if the removal is cut short.
        let doomed = atomic::temp_path_beside(&dir);
        fs::rename(&dir, &doomed).with_context(|| format!("evicting {}", dir.display()))?;
        fs::remove_dir_all(&doomed).with_context(|| format!("removing {}", doomed.display()))
    }

    /// Verifies every object; returns (verified, corrupted) counts. Corrupted ones are
    /// quarantined. Temporary debris of interrupted writes is not an object and is skipped.
    pub fn verify_all(&self) -> Result<(usize, usize)> {
        let (mut ok, mut bad) = (0, 0);
        for key in self.keys()? {
            if self.get(&key).is_some() {
                ok += 1;
            } else {
                bad += 1;
            }
        }
        Ok((ok, bad))
    }

    /// Removes the debris of interrupted writes (temporary object directories) older than
    /// `min_age`; younger ones may belong to a live writer of another study. Returns how
    /// many were removed.
    pub fn sweep_debris(&self, min_age: std::time::Duration) -> Result<usize> {
        let mut removed = 0;
        for shard in fs::read_dir(self.root.join("objects"))? {
            let shard = shard?;
            if !shard.file_type()?.is_dir() {
                continue;
            }
            for entry in fs::read_dir(shard.path())? {
                let entry = entry?;
                let is_temp = entry.file_name().to_string_lossy().starts_with(TEMP_PREFIX);
                let age = entry.metadata()?.modified()?.elapsed().unwrap_or_default();
                if is_temp && age >= min_age && fs::remove_dir_all(entry.path()).is_ok() {
                    removed += 1;
                }
            }
        }
        Ok(removed)
    }

    /// The keys of every object directory in the store (verified or not).
    pub fn keys(&self) -> Result<Vec<CacheKey>> {
        let mut keys = Vec::new();
        for shard in fs::read_dir(self.root.join("objects"))? {
            let shard = shard?;
            if !shard.file_type()?.is_dir() {
                continue;
            }
            for entry in fs::read_dir(shard.path())? {
                let name = entry?.file_name().to_string_lossy().into_owned();
                if name.starts_with(TEMP_PREFIX) {
                    continue;
                }
                if let Some(k) = CacheKey::from_hex(&name) {
                    keys.push(k);
                }
            }
        }
        keys.sort();
        Ok(keys)
    }

    /// Moves a corrupted object aside, keeping it for inspection but out of the key's slot.
    fn quarantine(&self, key: &CacheKey, dir: &Path) {
        let qdir = self.root.join("quarantine");
        let stamp = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        let dest = qdir.join(format!("{}-{stamp}", key.hex()));
        let moved = fs::create_dir_all(&qdir).and_then(|_| fs::rename(dir, &dest));
        if moved.is_err() {
            let _ = fs::remove_dir_all(dir);
        }
    }
}

fn verify(key: &CacheKey, dir: &Path) -> Result<Manifest> {
    let raw = fs::read(dir.join(MANIFEST)).context("no readable manifest")?;
    let manifest: Manifest = serde_json::from_slice(&raw).context("manifest does not parse")?;
    if manifest.key != key.hex() {
        bail!("manifest names key {}", manifest.key);
    }
    for f in &manifest.files {
        let bytes =
            fs::read(dir.join(&f.name)).with_context(|| format!("file {} is missing", f.name))?;
        if bytes.len() as u64 != f.bytes {
            bail!(
                "file {} has {} bytes, the manifest says {}",
                f.name,
                bytes.len(),
                f.bytes
            );
        }
        if blake3::hash(&bytes).to_hex().as_str() != f.blake3 {
            bail!("file {} does not match its hash", f.name);
        }
    }
    Ok(manifest)
}

/// This machine's host name (recorded with every object and ledger row).
pub fn host_name() -> String {
    fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| fs::read_to_string("/etc/hostname"))
        .map(|s| s.trim().to_string())
        .ok()
        .filter(|s| !s.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "unknown".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(seed: u64) -> KeyInput {
        KeyInput::new("test_stage", 1, &serde_json::json!({"a": 1}), vec![], seed).unwrap()
    }

    fn put(store: &Store, seed: u64, payload: &[u8]) -> Object {
        let mut w = store.writer(&input(seed)).unwrap();
        w.put("data.bin", payload).unwrap();
        w.commit().unwrap()
    }

    #[test]
    fn committed_object_reads_back_verified() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let key = input(1).key();
        assert!(store.get(&key).is_none());
        put(&store, 1, b"hello");
        let obj = store.get(&key).unwrap();
        assert_eq!(obj.read("data.bin").unwrap(), b"hello");
        assert_eq!(obj.manifest().stage, "test_stage");
        assert!(obj.read("other").is_err());
        assert_eq!(store.verify_all().unwrap(), (1, 0));
    }

    #[test]
    fn corrupted_or_truncated_object_is_missing_and_quarantined() {
        for damage in ["flip", "truncate", "manifest", "remove"] {
            let dir = tempfile::tempdir().unwrap();
            let store = Store::open(dir.path()).unwrap();
            let obj = put(&store, 2, b"0123456789");
            let path = obj.path("data.bin");
            match damage {
                "flip" => fs::write(&path, b"0123456788").unwrap(),
                "truncate" => fs::write(&path, b"01234").unwrap(),
                "manifest" => fs::write(obj.path(MANIFEST), b"{not json").unwrap(),
                _ => fs::remove_file(&path).unwrap(),
            }
            assert!(store.get(&obj.key()).is_none(), "{damage}");
            assert_eq!(
                fs::read_dir(dir.path().join("quarantine")).unwrap().count(),
                1
            );
            // The slot is free again: recomputing stores a good object.
            put(&store, 2, b"0123456789");
            assert!(store.get(&obj.key()).is_some(), "{damage}");
        }
    }

    #[test]
    fn an_uncommitted_writer_leaves_nothing_behind() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        {
            let mut w = store.writer(&input(3)).unwrap();
            w.put("data.bin", b"partial").unwrap();
        }
        assert!(store.keys().unwrap().is_empty());
        assert!(store.get(&input(3).key()).is_none());
    }

    #[test]
    fn debris_of_a_killed_writer_is_swept_by_age() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let mut w = store.writer(&input(7)).unwrap();
        w.put("data.bin", b"partial").unwrap();
        std::mem::forget(w); // as if the process were killed: Drop never runs
        put(&store, 8, b"kept");
        let hour = std::time::Duration::from_secs(3600);
        assert_eq!(store.sweep_debris(hour).unwrap(), 0);
        assert_eq!(store.sweep_debris(std::time::Duration::ZERO).unwrap(), 1);
        assert_eq!(store.verify_all().unwrap(), (1, 0));
    }

    #[test]
    fn a_second_commit_of_the_same_key_keeps_the_first() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let mut w1 = store.writer(&input(4)).unwrap();
        let mut w2 = store.writer(&input(4)).unwrap();
        w1.put("data.bin", b"x").unwrap();
        w2.put("data.bin", b"x").unwrap();
        w1.commit().unwrap();
        let o = w2.commit().unwrap();
        assert_eq!(o.read("data.bin").unwrap(), b"x");
        assert_eq!(store.keys().unwrap().len(), 1);
    }

    #[test]
    fn an_evicted_object_is_gone_and_can_be_rewritten() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let obj = put(&store, 6, b"old");
        store.evict(&obj.key()).unwrap();
        assert!(store.get(&obj.key()).is_none());
        store.evict(&obj.key()).unwrap();
        put(&store, 6, b"new");
        assert_eq!(
            store.get(&obj.key()).unwrap().read("data.bin").unwrap(),
            b"new"
        );
    }

    #[test]
    fn bad_file_names_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let mut w = store.writer(&input(5)).unwrap();
        for bad in [MANIFEST, "a/b", ".hidden"] {
            assert!(w.put(bad, b"").is_err());
        }
    }
}
