//! The storage layer of xbar-opt.
//!
//! - [`key`]: cache keys, blake3 over a canonical serialisation of what a stage depends on.
//! - [`store`]: the content-addressed object store shared by all studies; atomic writes,
//!   verified reads, a corrupted object is treated as missing.
//! - [`lock`]: the study lock (an OS file lock, so a killed run never leaves it stale).
//! - [`ledger`]: tables as directories of Parquet part files, one per key, of a row type
//!   the caller defines (written here; the pipeline reads them with Polars).
//! - [`table`]: Arrow record batches to Parquet files, atomically.
//! - [`atomic`]: write-to-temp, fsync, rename.
//! - [`host`]: this machine's host name.

pub mod atomic;
pub mod host;
pub mod key;
pub mod ledger;
pub mod lock;
pub mod store;
pub mod table;

pub use key::{CacheKey, KeyInput};
pub use lock::{StudyBusy, StudyLock};
pub use store::{Object, ObjectWriter, Store};
