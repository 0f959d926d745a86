//! Arrow record batches to and from Parquet, with the `parquet` crate.
//!
//! arrow-rs writes every table of the project (ledger parts, per-epoch metrics, stage
//! tables) because it gives one explicit schema per table and builds in about a minute.
//! It also reads them back for `status` and `export`: those read one study's parts and
//! need no query engine, and Rust Polars would add about 4.5 minutes to every cold debug
//! build on two cores (11 in release). Polars belongs where its lazy scans and joins
//! serve: the report's cross-study queries, and users' own analysis in Python Polars or
//! pyarrow, which read these files as they are.

use std::fs;
use std::path::Path;
use std::sync::Arc;

use anyhow::{bail, Context, Result};
use arrow::array::{
    Array, Float64Array, Int32Array, Int64Array, RecordBatch, StringArray,
    TimestampMillisecondArray, UInt64Array,
};
use arrow::datatypes::Schema;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;

use crate::atomic::write_atomic;

/// Serialises batches (all of `schema`) into Parquet bytes, snappy-compressed.
pub fn to_parquet_bytes(schema: &Arc<Schema>, batches: &[RecordBatch]) -> Result<Vec<u8>> {
    let props = WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .build();
    let mut buf = Vec::new();
    let mut writer = ArrowWriter::try_new(&mut buf, schema.clone(), Some(props))?;
    for b in batches {
        writer.write(b)?;
    }
    writer.close()?;
    Ok(buf)
}

/// Writes batches to a Parquet file atomically.
pub fn write_parquet_atomic(
    path: &Path,
    schema: &Arc<Schema>,
    batches: &[RecordBatch],
) -> Result<()> {
    write_atomic(path, &to_parquet_bytes(schema, batches)?)
}

/// Reads every batch of Parquet bytes. Fails with a clear message on anything that is not
/// a complete Parquet file (a truncated file has no footer).
pub fn read_parquet_bytes(bytes: Vec<u8>) -> Result<Vec<RecordBatch>> {
    if bytes.len() < 12 || &bytes[..4] != b"PAR1" || &bytes[bytes.len() - 4..] != b"PAR1" {
        bail!("not a complete Parquet file (magic bytes missing at the start or the footer)");
    }
    let reader = ParquetRecordBatchReaderBuilder::try_new(bytes::Bytes::from(bytes))?.build()?;
    reader
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(Into::into)
}

/// Reads every batch of a Parquet file.
pub fn read_parquet(path: &Path) -> Result<Vec<RecordBatch>> {
    let bytes = fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    read_parquet_bytes(bytes)
        .with_context(|| format!("{} is not a readable Parquet file", path.display()))
}

/// Typed access to a record batch's columns by name, with errors that name the column.
pub struct Columns<'a>(&'a RecordBatch);

impl<'a> Columns<'a> {
    /// The columns of `batch`.
    pub fn new(batch: &'a RecordBatch) -> Columns<'a> {
        Columns(batch)
    }

    /// The column `name` as the array type `T`.
    pub fn get<T: 'static>(&self, name: &str) -> Result<&'a T> {
        self.0
            .column_by_name(name)
            .with_context(|| format!("column {name} is missing"))?
            .as_any()
            .downcast_ref::<T>()
            .with_context(|| format!("column {name} has the wrong type"))
    }

    /// Row `i` of the string column `name`.
    pub fn str(&self, name: &str, i: usize) -> Result<String> {
        Ok(self.get::<StringArray>(name)?.value(i).to_string())
    }

    /// Row `i` of the nullable string column `name`.
    pub fn opt_str(&self, name: &str, i: usize) -> Result<Option<String>> {
        let a = self.get::<StringArray>(name)?;
        Ok((!a.is_null(i)).then(|| a.value(i).to_string()))
    }

    /// Row `i` of the `Float64` column `name`.
    pub fn f64(&self, name: &str, i: usize) -> Result<f64> {
        Ok(self.get::<Float64Array>(name)?.value(i))
    }

    /// Row `i` of the nullable `Float64` column `name`.
    pub fn opt_f64(&self, name: &str, i: usize) -> Result<Option<f64>> {
        let a = self.get::<Float64Array>(name)?;
        Ok((!a.is_null(i)).then(|| a.value(i)))
    }

    /// Row `i` of the `Int32` column `name`.
    pub fn i32(&self, name: &str, i: usize) -> Result<i32> {
        Ok(self.get::<Int32Array>(name)?.value(i))
    }

    /// Row `i` of the `Int64` column `name`.
    pub fn i64(&self, name: &str, i: usize) -> Result<i64> {
        Ok(self.get::<Int64Array>(name)?.value(i))
    }

    /// Row `i` of the `UInt64` column `name`.
    pub fn u64(&self, name: &str, i: usize) -> Result<u64> {
        Ok(self.get::<UInt64Array>(name)?.value(i))
    }

    /// Row `i` of the millisecond-timestamp column `name`, Unix milliseconds.
    pub fn timestamp_ms(&self, name: &str, i: usize) -> Result<i64> {
        Ok(self.get::<TimestampMillisecondArray>(name)?.value(i))
    }
}
