//! A table stored as a directory of Parquet part files: one part per key, each written
//! atomically with the row type's one explicit schema, so that one scan of
//! `<dir>/*.parquet` (Polars', in Rust or Python) reads the table whole. Rewriting a key
//! (a re-run of an in-flight task) replaces its part instead of adding rows.
//!
//! The rows are the caller's: a type implementing [`Row`] says its schema and how it
//! converts to a record batch; this module knows nothing of what they hold.

use std::fs;
use std::marker::PhantomData;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result};
use arrow::array::RecordBatch;
use arrow::datatypes::Schema;

use crate::atomic::TEMP_PREFIX;
use crate::table::write_parquet_atomic;

/// A row type of a part-file table.
pub trait Row: Sized {
    /// The table's explicit Arrow schema.
    fn schema() -> Arc<Schema>;
    /// One record batch of `rows`, with [`Row::schema`].
    fn to_batch(rows: &[Self]) -> Result<RecordBatch>;
}

/// A table of `R` rows in a directory of part files.
#[derive(Debug, Clone)]
pub struct PartTable<R> {
    dir: PathBuf,
    row: PhantomData<fn() -> R>,
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
    use crate::table::tests::read_parquet;
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
    }

    fn pair(name: &str, value: Option<f64>) -> Pair {
        Pair {
            name: name.into(),
            value,
        }
    }

    #[test]
    fn parts_are_written_with_the_schema_and_a_rewrite_replaces_its_part() {
        let dir = tempfile::tempdir().unwrap();
        let table = PartTable::<Pair>::new(dir.path().join("t"));
        table.write("aa", &[pair("a", Some(1.5))]).unwrap();
        let two = [pair("b", None), pair("c", Some(-2.0))];
        table.write("bb", &two).unwrap();
        table.write("aa", &[pair("a2", Some(3.0))]).unwrap();
        let parts = part_files(table.dir()).unwrap();
        assert_eq!(parts, vec![table.part_path("aa"), table.part_path("bb")]);
        let aa = read_parquet(&table.part_path("aa")).unwrap();
        assert_eq!(aa, vec![Pair::to_batch(&[pair("a2", Some(3.0))]).unwrap()]);
        let bb = read_parquet(&table.part_path("bb")).unwrap();
        assert_eq!(bb[0].schema(), Pair::schema());
        assert_eq!(bb, vec![Pair::to_batch(&two).unwrap()]);
    }

    #[test]
    fn part_files_skip_temp_debris_and_a_missing_directory_is_empty() {
        let dir = tempfile::tempdir().unwrap();
        let table = PartTable::<Pair>::new(dir.path());
        table.write("aa", &[pair("a", Some(1.0))]).unwrap();
        fs::write(dir.path().join(".tmp-1-0-x.parquet"), b"junk").unwrap();
        fs::write(dir.path().join("notes.txt"), b"text").unwrap();
        assert_eq!(part_files(dir.path()).unwrap(), vec![table.part_path("aa")]);
        assert!(part_files(&dir.path().join("none")).unwrap().is_empty());
    }
}
