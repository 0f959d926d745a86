//! A table stored as a directory of Parquet part files: one part per key, each written
//! atomically with the row type's one explicit schema, so that
//! `pl.scan_parquet("<dir>/*.parquet")` reads the table whole. Rewriting a key (a re-run
//! of an in-flight task) replaces its part instead of adding rows. Reading skips an
//! unreadable part with a warning that names the file.
//!
//! The rows are the caller's: a type implementing [`Row`] says its schema and how it
//! converts to and from a record batch; this module knows nothing of what they hold.

use std::fs;
use std::marker::PhantomData;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result};
use arrow::array::RecordBatch;
use arrow::datatypes::Schema;

use crate::atomic::TEMP_PREFIX;
use crate::table::{read_parquet, write_parquet_atomic};

/// A row type of a part-file table.
pub trait Row: Sized {
    /// The table's explicit Arrow schema.
    fn schema() -> Arc<Schema>;
    /// One record batch of `rows`, with [`Row::schema`].
    fn to_batch(rows: &[Self]) -> Result<RecordBatch>;
    /// The rows of a batch read back.
    fn from_batch(batch: &RecordBatch) -> Result<Vec<Self>>;
}

/// A table of `R` rows in a directory of part files.
#[derive(Debug, Clone)]
pub struct PartTable<R> {
    dir: PathBuf,
    row: PhantomData<fn() -> R>,
}

/// What reading a table found: its rows, and a warning per part that was skipped.
#[derive(Debug, Default)]
pub struct ReadOutcome<T> {
    /// Rows of every readable part, in part-file name order.
    pub rows: Vec<T>,
    /// One message per unreadable part, naming the file.
    pub skipped: Vec<String>,
}

impl<R: Row> PartTable<R> {
    /// The table in `dir` (created on the first write).
    pub fn new(dir: impl Into<PathBuf>) -> PartTable<R> {
        PartTable {
            dir: dir.into(),
            row: PhantomData,
        }
    }

    /// The table's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The part file of `key`: `<dir>/part-<key>.parquet`.
    pub fn part_path(&self, key: &str) -> PathBuf {
        self.dir.join(format!("part-{key}.parquet"))
    }

    /// Writes (or atomically replaces) the part of `key`.
    pub fn write(&self, key: &str, rows: &[R]) -> Result<()> {
        write_parquet_atomic(&self.part_path(key), &R::schema(), &[R::to_batch(rows)?])
    }

    /// Every row of every readable part; unreadable parts are skipped and named in
    /// `skipped` (and logged as warnings).
    pub fn read(&self) -> Result<ReadOutcome<R>> {
        let mut out = ReadOutcome {
            rows: Vec::new(),
            skipped: Vec::new(),
        };
        for part in part_files(&self.dir)? {
            let rows = read_parquet(&part).and_then(|batches| {
                let mut rows = Vec::new();
                for b in &batches {
                    rows.extend(R::from_batch(b)?);
                }
                Ok(rows)
            });
            match rows {
                Ok(rows) => out.rows.extend(rows),
                Err(e) => {
                    let msg = format!("skipping corrupted ledger part {}: {e:#}", part.display());
                    tracing::warn!("{msg}");
                    out.skipped.push(msg);
                }
            }
        }
        Ok(out)
    }
}

/// The Parquet part files of a table directory, sorted by name, temp debris excluded.
pub fn part_files(dir: &Path) -> Result<Vec<PathBuf>> {
    if !dir.exists() {
        return Ok(Vec::new());
    }
    let mut parts = Vec::new();
    for entry in fs::read_dir(dir).with_context(|| format!("listing {}", dir.display()))? {
        let path = entry?.path();
        let name = path.file_name().unwrap_or_default().to_string_lossy();
        if !name.starts_with(TEMP_PREFIX) && name.ends_with(".parquet") {
            parts.push(path);
        }
    }
    parts.sort();
    Ok(parts)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::table::Columns;
    use arrow::array::{ArrayRef, Float64Array, StringArray};
    use arrow::datatypes::{DataType, Field};

    /// A two-column row, standing in for the caller's.
    #[derive(Debug, Clone, PartialEq)]
    struct Pair {
        name: String,
        value: Option<f64>,
    }

    impl Row for Pair {
        fn schema() -> Arc<Schema> {
            Arc::new(Schema::new(vec![
                Field::new("name", DataType::Utf8, false),
                Field::new("value", DataType::Float64, true),
            ]))
        }
        fn to_batch(rows: &[Self]) -> Result<RecordBatch> {
            let columns: Vec<ArrayRef> = vec![
                Arc::new(StringArray::from_iter_values(rows.iter().map(|r| &r.name))),
                Arc::new(rows.iter().map(|r| r.value).collect::<Float64Array>()),
            ];
            Ok(RecordBatch::try_new(Self::schema(), columns)?)
        }
        fn from_batch(batch: &RecordBatch) -> Result<Vec<Self>> {
            let c = Columns::new(batch);
            (0..batch.num_rows())
                .map(|i| {
                    Ok(Pair {
                        name: c.str("name", i)?,
                        value: c.opt_f64("value", i)?,
                    })
                })
                .collect()
        }
    }

    fn pair(name: &str, value: Option<f64>) -> Pair {
        Pair {
            name: name.into(),
            value,
        }
    }

    #[test]
    fn parts_round_trip_and_a_rewrite_replaces_its_part() {
        let dir = tempfile::tempdir().unwrap();
        let table = PartTable::<Pair>::new(dir.path().join("t"));
        table.write("aa", &[pair("a", Some(1.5))]).unwrap();
        table
            .write("bb", &[pair("b", None), pair("c", Some(-2.0))])
            .unwrap();
        table.write("aa", &[pair("a2", Some(3.0))]).unwrap();
        let read = table.read().unwrap();
        assert_eq!(
            read.rows,
            vec![
                pair("a2", Some(3.0)),
                pair("b", None),
                pair("c", Some(-2.0))
            ]
        );
        assert!(read.skipped.is_empty());
        let batches = read_parquet(&table.part_path("bb")).unwrap();
        assert_eq!(batches[0].schema(), Pair::schema());
    }

    #[test]
    fn a_corrupted_part_is_skipped_with_a_warning_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let table = PartTable::<Pair>::new(dir.path());
        table.write("aa", &[pair("a", Some(1.0))]).unwrap();
        table.write("bb", &[pair("b", Some(2.0))]).unwrap();
        let bad = table.part_path("bb");
        let bytes = fs::read(&bad).unwrap();
        fs::write(&bad, &bytes[..bytes.len() / 2]).unwrap();
        fs::write(dir.path().join(".tmp-1-0-x.parquet"), b"junk").unwrap();
        let read = table.read().unwrap();
        assert_eq!(read.rows, vec![pair("a", Some(1.0))]);
        assert_eq!(read.skipped.len(), 1);
        assert!(read.skipped[0].contains("part-bb.parquet"));
    }

    #[test]
    fn a_missing_directory_is_an_empty_table() {
        let dir = tempfile::tempdir().unwrap();
        let read = PartTable::<Pair>::new(dir.path().join("none"))
            .read()
            .unwrap();
        assert!(read.rows.is_empty() && read.skipped.is_empty());
    }
}
