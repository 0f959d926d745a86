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
use arrow::array::RecordBatch;
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
