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
use crate::host::host_name;
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
    pub fn commit(self) -> Result<Object> {
        self.finish(false)
    }

    /// Like [`ObjectWriter::commit`], but an object already under the key is replaced
    /// (`--recompute`), never deleted before the new one is complete.
    pub fn commit_replacing(self) -> Result<Object> {
        self.finish(true)
    }

    fn finish(mut self, replace: bool) -> Result<Object> {
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
        if replace && dest.exists() {
            // Moved aside, not deleted first: the slot is empty only between two renames,
            // and a reader of the old object fails a read (an I/O fault, retried) instead
            // of seeing a half-written one.
            let old = atomic::temp_path_beside(&dest);
            fs::rename(&dest, &old).with_context(|| format!("replacing {}", dest.display()))?;
            let moved = fs::rename(&self.tmp, &dest);
            let _ = fs::remove_dir_all(&old);
            moved.with_context(|| format!("moving object into {}", dest.display()))?;
        } else {
            if dest.exists() {
                if let Some(existing) = self.store.get(&self.key)? {
                    let _ = fs::remove_dir_all(&self.tmp);
                    return Ok(existing);
                }
            }
            if let Err(e) = fs::rename(&self.tmp, &dest) {
                // Another process (a parallel worker) committed the same key between the
                // check above and the rename: keep its object.
                if let Some(existing) = self.store.get(&self.key)? {
                    let _ = fs::remove_dir_all(&self.tmp);
                    return Ok(existing);
                }
                return Err(e).with_context(|| format!("moving object into {}", dest.display()));
            }
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

    /// The verified object under `key`; `None` if it is absent or fails verification
    /// (then it is quarantined with a warning, so that it will be recomputed). An I/O
    /// error reading it (not a missing file, a wrong size or hash) is an error, and the
    /// object stays: a read fault is not corruption.
    pub fn get(&self, key: &CacheKey) -> Result<Option<Object>> {
        let dir = self.object_dir(key);
        if !dir.exists() {
            return Ok(None);
        }
        match verify(key, &dir) {
            Ok(manifest) => Ok(Some(Object {
                key: *key,
                dir,
                manifest,
            })),
            Err(Fault::Corrupt(e)) => {
                tracing::warn!(
                    "cache object {} is corrupted ({e:#}); it will be recomputed",
                    key.short()
                );
                self.quarantine(key, &dir);
                Ok(None)
            }
            Err(Fault::Io(e)) => Err(anyhow::Error::new(e).context(format!(
                "reading cache object {} (left in place)",
                dir.display()
            ))),
        }
    }

    /// Whether a verified object exists under `key`.
    pub fn contains(&self, key: &CacheKey) -> Result<bool> {
        Ok(self.get(key)?.is_some())
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

    /// Verifies every object; returns (verified, corrupted) counts. Corrupted ones are
    /// quarantined. Temporary debris of interrupted writes is not an object and is skipped.
    pub fn verify_all(&self) -> Result<(usize, usize)> {
        let (mut ok, mut bad) = (0, 0);
        for key in self.keys()? {
            if self.get(&key)?.is_some() {
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

/// Why an object did not verify.
enum Fault {
    /// Its contents are wrong or missing: quarantine it and recompute.
    Corrupt(anyhow::Error),
    /// Reading it failed: the store or the file system has a fault, not the object.
    Io(std::io::Error),
}

/// Reads a file of an object: a missing file is corruption, any other error a fault.
fn read_part(path: &Path, what: &str) -> std::result::Result<Vec<u8>, Fault> {
    fs::read(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => Fault::Corrupt(anyhow::anyhow!("{what} is missing")),
        _ => Fault::Io(e),
    })
}

fn verify(key: &CacheKey, dir: &Path) -> std::result::Result<Manifest, Fault> {
    let corrupt = |msg: String| Fault::Corrupt(anyhow::anyhow!(msg));
    let raw = read_part(&dir.join(MANIFEST), "the manifest")?;
    let manifest: Manifest = serde_json::from_slice(&raw)
        .map_err(|e| corrupt(format!("the manifest does not parse: {e}")))?;
    if manifest.key != key.hex() {
        return Err(corrupt(format!("manifest names key {}", manifest.key)));
    }
    for f in &manifest.files {
        let bytes = read_part(&dir.join(&f.name), &format!("file {}", f.name))?;
        if bytes.len() as u64 != f.bytes {
            return Err(corrupt(format!(
                "file {} has {} bytes, the manifest says {}",
                f.name,
                bytes.len(),
                f.bytes
            )));
        }
        if blake3::hash(&bytes).to_hex().as_str() != f.blake3 {
            return Err(corrupt(format!("file {} does not match its hash", f.name)));
        }
    }
    Ok(manifest)
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
        assert!(store.get(&key).unwrap().is_none());
        put(&store, 1, b"hello");
        let obj = store.get(&key).unwrap().unwrap();
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
            assert!(store.get(&obj.key()).unwrap().is_none(), "{damage}");
            assert_eq!(
                fs::read_dir(dir.path().join("quarantine")).unwrap().count(),
                1
            );
            // The slot is free again: recomputing stores a good object.
            put(&store, 2, b"0123456789");
            assert!(store.get(&obj.key()).unwrap().is_some(), "{damage}");
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
        assert!(store.get(&input(3).key()).unwrap().is_none());
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
    fn a_replacing_commit_swaps_the_object_whole() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let old = put(&store, 6, b"old");
        let mut w = store.writer(&input(6)).unwrap();
        w.put("data.bin", b"new").unwrap();
        assert_eq!(
            old.read("data.bin").unwrap(),
            b"old",
            "there while the new one is written"
        );
        let new = w.commit_replacing().unwrap();
        assert_eq!(new.read("data.bin").unwrap(), b"new");
        assert_eq!(store.keys().unwrap(), vec![old.key()]);
        assert!(
            store.sweep_debris(std::time::Duration::ZERO).unwrap() == 0,
            "no debris"
        );
    }

    #[test]
    fn a_read_fault_is_an_error_and_leaves_the_object_in_place() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let obj = put(&store, 7, b"x");
        // A directory where a file should be: reading it fails with an I/O error.
        fs::remove_file(obj.path("data.bin")).unwrap();
        fs::create_dir(obj.path("data.bin")).unwrap();
        let err = store.get(&obj.key()).unwrap_err();
        assert!(format!("{err:#}").contains("left in place"), "{err:#}");
        assert!(obj.path("data.bin").is_dir(), "not quarantined");
        assert!(!dir.path().join("quarantine").exists());
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
