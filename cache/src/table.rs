//! Arrow record batches to Parquet, with the `parquet` crate.
//!
//! arrow-rs writes every table of the project (ledger parts, per-epoch metrics, stage
//! tables), with one explicit schema per table; the pipeline reads them back with Polars'
//! lazy scans, and users with Python Polars or pyarrow, as they are.

use std::path::Path;
use std::sync::Arc;

use anyhow::Result;
use arrow::array::RecordBatch;
use arrow::datatypes::Schema;
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

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

    /// Every batch of the Parquet file at `path` (the tests' reader; the pipeline reads
    /// with Polars).
    pub fn read_parquet(path: &Path) -> Result<Vec<RecordBatch>> {
        let bytes = bytes::Bytes::from(std::fs::read(path)?);
        let reader = ParquetRecordBatchReaderBuilder::try_new(bytes)?.build()?;
        Ok(reader.collect::<std::result::Result<Vec<_>, _>>()?)
    }
}
