//! Every read of a study's results goes through Polars: the part-file tables under a study
//! directory (`evaluations/`, `metrics/`, `runs/`) are read by one lazy scan of their part
//! files with the table's one schema (the arrow-rs schema its parts are written with), of
//! one study or of several at once; the audit records (`proposals/*.json`) are a table too.
//! `status`, `export`, the report, the study's resume, `bench replay` and `pipeline query`
//! all read through here.
//!
//! A part that cannot be read (a torn write on a file system without atomic rename, a
//! corrupted disk) is skipped with a warning that names it, as is a part of an older
//! schema whose columns cannot be cast to the current one; the rest of the table is read.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use arrow::datatypes::{DataType as ArrowType, Schema as ArrowSchema, TimeUnit as ArrowUnit};
use polars::prelude::{
    col, Column, CsvWriter, DataFrame, DataType, Expr, Field, LazyFrame, ParquetReader,
    ParquetWriter, PlRefPath, PolarsResult, ScanArgsParquet, Schema, SerReader, SerWriter,
    TimeUnit, TimeZone,
};

use crate::record::EvaluationRow;
use stages::design::{Design, DesignSpace, Variable};

/// The column [`read_studies`] and [`read_parts`] add: the index of the study or part a
/// row came from.
pub const SOURCE: &str = "source";

/// A part-file table of a study directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Table {
    /// `evaluations/`: the ledger's rows ([`crate::record::EvaluationRow`]).
    Evaluations,
    /// `metrics/`: the per-epoch and per-draw metrics, long form.
    Metrics,
    /// `runs/`: what each run computed or reused.
    Runs,
}

impl Table {
    /// Its directory under the study.
    pub fn dir(self) -> &'static str {
        match self {
            Table::Evaluations => "evaluations",
            Table::Metrics => "metrics",
            Table::Runs => "runs",
        }
    }

    /// Its one schema, in Polars' terms: the schema its parts are written with.
    pub fn schema(self) -> Schema {
        use cache::ledger::Row;
        let arrow = match self {
            Table::Evaluations => crate::record::EvaluationRow::schema(),
            Table::Metrics => crate::record::MetricRow::schema(),
            Table::Runs => crate::tables::runs_schema(),
        };
        polars_schema(&arrow)
    }
}

/// An arrow-rs schema in Polars' terms (the types the ledger uses).
fn polars_schema(schema: &ArrowSchema) -> Schema {
    schema
        .fields()
        .iter()
        .map(|f| {
            let dtype = match f.data_type() {
                ArrowType::Utf8 | ArrowType::LargeUtf8 => DataType::String,
                ArrowType::Int32 => DataType::Int32,
                ArrowType::Int64 => DataType::Int64,
                ArrowType::UInt64 => DataType::UInt64,
                ArrowType::Float64 => DataType::Float64,
                ArrowType::Boolean => DataType::Boolean,
                ArrowType::Timestamp(ArrowUnit::Millisecond, tz) => {
                    DataType::Datetime(TimeUnit::Milliseconds, tz.as_ref().map(|_| TimeZone::UTC))
                }
                other => unreachable!("the ledger's schemas use no {other:?} column"),
            };
            Field::new(f.name().as_str().into(), dtype)
        })
        .collect()
}

/// What a read found: the rows as one frame, and one message per skipped part.
#[derive(Debug)]
pub struct Read {
    /// The table's rows, with the table's schema (and [`SOURCE`] from
    /// [`read_studies`] and [`read_parts`]).
    pub frame: DataFrame,
    /// One message per unreadable part, naming the file.
    pub skipped: Vec<String>,
}

/// Reads `table` of the study in `study`.
pub fn read(table: Table, study: &Path) -> Result<Read> {
    let mut read = read_studies(table, &[study.to_path_buf()])?;
    read.frame = read.frame.drop(SOURCE)?;
    Ok(read)
}

/// Reads `table` of every study in `studies` in one scan, with a column [`SOURCE`]
/// (`UInt32`) giving each row's study by its position in `studies`.
pub fn read_studies(table: Table, studies: &[PathBuf]) -> Result<Read> {
    let mut parts: Vec<(PathBuf, u32)> = Vec::new();
    for (i, study) in studies.iter().enumerate() {
        for part in cache::ledger::part_files(&study.join(table.dir()))? {
            parts.push((part, i as u32));
        }
    }
    Ok(read_tagged(table, &parts))
}

/// Reads the part files `parts` of `table` in one scan, with a column [`SOURCE`]
/// (`UInt32`) giving each row's part by its position in `parts`.
pub fn read_parts(table: Table, parts: &[PathBuf]) -> Read {
    let tagged: Vec<(PathBuf, u32)> = parts
        .iter()
        .enumerate()
        .map(|(i, p)| (p.clone(), i as u32))
        .collect();
    read_tagged(table, &tagged)
}

/// Reads the part files `parts`, each row tagged ([`SOURCE`]) with its part's number.
fn read_tagged(table: Table, parts: &[(PathBuf, u32)]) -> Read {
    let schema = table.schema();
    let (frame, skipped) = match scan(parts, &schema) {
        Ok(frame) => (frame, Vec::new()),
        // Some part is unreadable or of another schema: read them one by one.
        Err(_) => scan_each(parts, &schema),
    };
    let frame = if frame.width() == 0 {
        let mut empty = DataFrame::empty_with_schema(&schema);
        let source = Column::new_empty(SOURCE.into(), &DataType::UInt32);
        empty
            .with_column(source)
            .expect("a new column on an empty frame");
        empty
    } else {
        frame
    };
    Read { frame, skipped }
}

/// All of `parts` in one lazy scan with `schema`, each row tagged with its study.
fn scan(parts: &[(PathBuf, u32)], schema: &Schema) -> Result<DataFrame> {
    if parts.is_empty() {
        return Ok(DataFrame::empty());
    }
    let paths = parts
        .iter()
        .map(|(p, _)| PlRefPath::try_from_path(p))
        .collect::<PolarsResult<Vec<_>>>()?;
    let args = ScanArgsParquet {
        schema: Some(std::sync::Arc::new(schema.clone())),
        glob: false,
        include_file_paths: Some("part_file".into()),
        ..Default::default()
    };
    let frame = LazyFrame::scan_parquet_files(paths.into(), args)?.collect()?;
    tag_studies(frame, parts)
}

/// Replaces the `part_file` column of a scan by [`SOURCE`], the part's tag.
fn tag_studies(frame: DataFrame, parts: &[(PathBuf, u32)]) -> Result<DataFrame> {
    let by_path: std::collections::HashMap<&Path, u32> =
        parts.iter().map(|(p, i)| (p.as_path(), *i)).collect();
    let files = frame.column("part_file")?.str()?;
    let index: Vec<u32> = files
        .iter()
        .map(|f| {
            let f = Path::new(f.unwrap_or_default());
            by_path
                .get(f)
                .copied()
                .or_else(|| parts.iter().find(|(p, _)| f.ends_with(p)).map(|(_, i)| *i))
                .with_context(|| format!("a row from an unknown part {}", f.display()))
        })
        .collect::<Result<_>>()?;
    let mut frame = frame.drop("part_file")?;
    frame.with_column(Column::new(SOURCE.into(), index))?;
    Ok(frame)
}

/// Each of `parts` read on its own and cast to `schema` (an older part's types, such as
/// an unsigned seed, are read as the current ones); those that fail are skipped with a
/// warning naming them.
fn scan_each(parts: &[(PathBuf, u32)], schema: &Schema) -> (DataFrame, Vec<String>) {
    let mut frame: Option<DataFrame> = None;
    let mut skipped = Vec::new();
    for (part, study) in parts {
        let one = || -> Result<DataFrame> {
            let path = PlRefPath::try_from_path(part)?;
            let args = ScanArgsParquet {
                glob: false,
                ..Default::default()
            };
            let columns: Vec<Expr> = schema
                .iter()
                .map(|(name, dtype)| col(name.clone()).strict_cast(dtype.clone()))
                .collect();
            let mut df = LazyFrame::scan_parquet(path, args)?
                .select(columns)
                .collect()?;
            df.with_column(Column::new(SOURCE.into(), vec![*study; df.height()]))?;
            Ok(df)
        };
        match one() {
            Ok(df) => match &mut frame {
                Some(all) => {
                    if let Err(e) = all.vstack_mut_owned(df) {
                        skipped.push(skip(part, &e.into()));
                    }
                }
                None => frame = Some(df),
            },
            Err(e) => skipped.push(skip(part, &e)),
        }
    }
    (frame.unwrap_or_else(DataFrame::empty), skipped)
}

/// The warning for a skipped part, logged and returned.
fn skip(part: &Path, e: &anyhow::Error) -> String {
    let msg = format!("skipping corrupted ledger part {}: {e:#}", part.display());
    tracing::warn!("{msg}");
    msg
}

/// One Parquet file (an exported table, say) read whole.
pub fn read_file(path: &Path) -> Result<DataFrame> {
    let args = ScanArgsParquet {
        glob: false,
        ..Default::default()
    };
    Ok(LazyFrame::scan_parquet(PlRefPath::try_from_path(path)?, args)?.collect()?)
}

/// Parquet bytes (a table compiled into the binary) read whole.
pub fn read_bytes(bytes: &[u8]) -> Result<DataFrame> {
    Ok(ParquetReader::new(std::io::Cursor::new(bytes)).finish()?)
}

/// A study's evaluations kept in step with its ledger parts: each refresh reads only the
/// parts added or rewritten since the last one (the study reads its ledger after every
/// batch), and forgets the parts that are gone.
#[derive(Debug)]
pub struct LedgerView {
    dir: PathBuf,
    /// Per part read: its stamp when read, and its rows.
    parts: std::collections::BTreeMap<PathBuf, (PartStamp, Vec<EvaluationRow>)>,
}

impl LedgerView {
    /// The view of the ledger of the study in `study`, empty until refreshed.
    pub fn new(study: &Path) -> LedgerView {
        LedgerView {
            dir: study.join(Table::Evaluations.dir()),
            parts: Default::default(),
        }
    }

    /// Reads the parts added or changed since the last refresh (an unreadable one is
    /// skipped with a warning, and tried again next time) and returns every row, in
    /// part-file order.
    pub fn refresh(&mut self) -> Result<Vec<EvaluationRow>> {
        let mut present = std::collections::BTreeMap::new();
        for part in cache::ledger::part_files(&self.dir)? {
            let meta =
                std::fs::metadata(&part).with_context(|| format!("reading {}", part.display()))?;
            present.insert(part, PartStamp::of(&meta)?);
        }
        self.parts.retain(|p, _| present.contains_key(p));
        let changed: Vec<PathBuf> = present
            .iter()
            .filter(|(p, stamp)| self.parts.get(*p).is_none_or(|(known, _)| known != *stamp))
            .map(|(p, _)| p.clone())
            .collect();
        if !changed.is_empty() {
            let read = read_parts(Table::Evaluations, &changed);
            let rows = evaluation_rows(&read.frame)?;
            let source = read.frame.column(SOURCE)?.u32()?.clone();
            let mut by_part: Vec<Vec<EvaluationRow>> = vec![Vec::new(); changed.len()];
            for (row, i) in rows.into_iter().zip(source.iter()) {
                by_part[i.unwrap_or_default() as usize].push(row);
            }
            for (part, rows) in changed.into_iter().zip(by_part) {
                if rows.is_empty() {
                    // Skipped (and warned about): read it again next time.
                    self.parts.remove(&part);
                } else {
                    let stamp = present[&part];
                    self.parts.insert(part, (stamp, rows));
                }
            }
        }
        Ok(self
            .parts
            .values()
            .flat_map(|(_, rows)| rows.iter().cloned())
            .collect())
    }
}

/// What tells one version of a part file from another: a rewrite is a new file renamed
/// into place (a new inode), and file times can be coarser than two quick writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct PartStamp {
    inode: u64,
    modified: std::time::SystemTime,
    len: u64,
}

impl PartStamp {
    fn of(meta: &std::fs::Metadata) -> Result<PartStamp> {
        use std::os::unix::fs::MetadataExt;
        Ok(PartStamp {
            inode: meta.ino(),
            modified: meta.modified()?,
            len: meta.len(),
        })
    }
}

/// The audit records of a study's strategy steps (`proposals/iter-*.json`) as a table: per
/// step its index, the proposed design (decoded with `space`: a column per searchable
/// variable, integers for the integer ones),
/// fidelity, rule, acquisition value, information gain, cost and the observations the
/// surrogates were fitted on.
pub fn proposals(study: &Path, space: &DesignSpace) -> Result<DataFrame> {
    let dir = study.join("proposals");
    let mut files: Vec<PathBuf> = match std::fs::read_dir(&dir) {
        Ok(entries) => entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                let name = p.file_name().unwrap_or_default().to_string_lossy();
                name.starts_with("iter-") && name.ends_with(".json")
            })
            .collect(),
        Err(_) => Vec::new(),
    };
    files.sort();
    let mut step = Vec::new();
    let mut designs = Vec::new();
    let (mut z, mut rule, mut acquisition, mut gain, mut cost) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let (mut used, mut skipped) = (Vec::new(), Vec::new());
    for file in &files {
        let text = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
        let record: optimizer::cf_mesmo::StepRecord = serde_json::from_slice(&text)
            .with_context(|| format!("{} is not a strategy step's record", file.display()))?;
        let name = file.file_stem().unwrap_or_default().to_string_lossy();
        let index: i64 = name
            .trim_start_matches("iter-")
            .parse()
            .with_context(|| format!("{}: not iter-<n>.json", file.display()))?;
        if record.x.len() != space.dim() {
            bail!(
                "{}: a design of {} variables",
                file.display(),
                record.x.len()
            );
        }
        designs.push(space.decode(&record.x));
        step.push(index);
        z.push(record.z);
        rule.push(
            serde_json::to_value(record.rule)?
                .as_str()
                .unwrap_or("")
                .to_string(),
        );
        acquisition.push(record.acquisition);
        gain.push(record.information_gain);
        cost.push(record.cost);
        used.push(record.observations_used as i64);
        skipped.push(record.observations_skipped as i64);
    }
    let design_columns = Variable::ALL.iter().map(|&v| {
        let values = designs.iter().map(|d| d.get(v));
        match v.is_integer() {
            true => Column::new(
                v.name().into(),
                values.map(|x| x as i32).collect::<Vec<_>>(),
            ),
            false => Column::new(v.name().into(), values.collect::<Vec<_>>()),
        }
    });
    let columns = std::iter::once(Column::new("step".into(), step))
        .chain(design_columns)
        .chain([
            Column::new("fidelity_z".into(), z),
            Column::new("rule".into(), rule),
            Column::new("acquisition".into(), acquisition),
            Column::new("information_gain".into(), gain),
            Column::new("cost".into(), cost),
            Column::new("observations_used".into(), used),
            Column::new("observations_skipped".into(), skipped),
        ]);
    Ok(DataFrame::new_infer_height(columns.collect())?)
}

/// The format of an output file, by its extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputFormat {
    /// `.parquet`.
    Parquet,
    /// `.csv`.
    Csv,
}

impl OutputFormat {
    /// The format of `out` (a `--out` flag's value), or an error naming the flag.
    pub fn of(out: &Path) -> Result<OutputFormat> {
        match out.extension().and_then(|e| e.to_str()) {
            Some("parquet") => Ok(OutputFormat::Parquet),
            Some("csv") => Ok(OutputFormat::Csv),
            _ => bail!(
                "--out {}: the file must end in .parquet or .csv",
                out.display()
            ),
        }
    }
}

/// Writes `frame` to `out` as Parquet or CSV (by its extension), atomically.
pub fn write_frame(frame: &mut DataFrame, out: &Path) -> Result<()> {
    let mut bytes = Vec::new();
    match OutputFormat::of(out)? {
        OutputFormat::Parquet => {
            ParquetWriter::new(&mut bytes).finish(frame)?;
        }
        OutputFormat::Csv => CsvWriter::new(&mut bytes).finish(frame)?,
    }
    cache::atomic::write_atomic(out, &bytes)
}

/// The rows of a frame of the ledger's schema, in the frame's order.
pub fn evaluation_rows(frame: &DataFrame) -> Result<Vec<EvaluationRow>> {
    let c = Columns(frame);
    let (keys, studies, strategies, models) = (
        c.str("eval_key")?,
        c.str("study")?,
        c.str("strategy")?,
        c.str("model")?,
    );
    let (statuses, errors, hosts, versions) = (
        c.str("status")?,
        c.str("error")?,
        c.str("host")?,
        c.str("code_version")?,
    );
    let (iterations, seeds) = (c.i64("iteration")?, c.i64("seed")?);
    let design_columns: Vec<(Variable, Vec<Option<f64>>)> = Variable::ALL
        .into_iter()
        .map(|v| {
            let values = match v.is_integer() {
                true => c
                    .i32(v.name())?
                    .into_iter()
                    .map(|x| x.map(f64::from))
                    .collect(),
                false => c.f64(v.name())?,
            };
            Ok((v, values))
        })
        .collect::<Result<_>>()?;
    let epochs = c.i32("fidelity_epochs")?;
    let (zs, costs) = (c.f64("fidelity_z")?, c.f64("cost_s")?);

    let (acc, acc_std, acc_clean) = (
        c.f64("accuracy_mean")?,
        c.f64("accuracy_std")?,
        c.f64("accuracy_clean")?,
    );
    let (area, latency, energy) = (
        c.f64("area_um2")?,
        c.f64("latency_ns")?,
        c.f64("energy_pj")?,
    );
    let (started, finished) = (
        c.timestamp_ms("started_at")?,
        c.timestamp_ms("finished_at")?,
    );
    (0..frame.height())
        .map(|i| {
            let text = |v: &[Option<&str>], name: &str| -> Result<String> {
                Ok(required(v[i], name)?.to_string())
            };
            let mut recorded = Design::blank();
            for (v, values) in &design_columns {
                recorded = recorded.with(*v, required(values[i], v.name())?);
            }
            Ok(EvaluationRow {
                eval_key: text(&keys, "eval_key")?,
                study: text(&studies, "study")?,
                iteration: required(iterations[i], "iteration")?,
                strategy: text(&strategies, "strategy")?,
                model: text(&models, "model")?,
                recorded,
                fidelity_epochs: required(epochs[i], "fidelity_epochs")?,
                fidelity_z: required(zs[i], "fidelity_z")?,
                accuracy_mean: acc[i],
                accuracy_std: acc_std[i],
                accuracy_clean: acc_clean[i],
                area_um2: area[i],
                latency_ns: latency[i],
                energy_pj: energy[i],
                cost_s: required(costs[i], "cost_s")?,
                status: text(&statuses, "status")?,
                error: errors[i].map(str::to_string),
                started_at_ms: required(started[i], "started_at")?,
                finished_at_ms: required(finished[i], "finished_at")?,
                host: text(&hosts, "host")?,
                code_version: text(&versions, "code_version")?,
                seed: u64::try_from(required(seeds[i], "seed")?)
                    .context("column seed holds a negative seed")?,
            })
        })
        .collect()
}

/// A value of a column the schema declares non-null.
fn required<T>(v: Option<T>, name: &str) -> Result<T> {
    v.with_context(|| format!("column {name} holds a null"))
}

/// A frame's columns by name, as vectors of their values, with errors naming the column.
struct Columns<'a>(&'a DataFrame);

impl<'a> Columns<'a> {
    fn column(&self, name: &str) -> Result<&'a Column> {
        self.0
            .column(name)
            .with_context(|| format!("column {name} is missing"))
    }

    fn str(&self, name: &str) -> Result<Vec<Option<&'a str>>> {
        let c = self.column(name)?.str();
        Ok(c.with_context(|| format!("column {name} is not text"))?
            .iter()
            .collect())
    }

    fn f64(&self, name: &str) -> Result<Vec<Option<f64>>> {
        let c = self.column(name)?.f64();
        Ok(c.with_context(|| format!("column {name} is not Float64"))?
            .iter()
            .collect())
    }

    fn i32(&self, name: &str) -> Result<Vec<Option<i32>>> {
        let c = self.column(name)?.i32();
        Ok(c.with_context(|| format!("column {name} is not Int32"))?
            .iter()
            .collect())
    }

    fn i64(&self, name: &str) -> Result<Vec<Option<i64>>> {
        let c = self.column(name)?.i64();
        Ok(c.with_context(|| format!("column {name} is not Int64"))?
            .iter()
            .collect())
    }

    fn timestamp_ms(&self, name: &str) -> Result<Vec<Option<i64>>> {
        let c = self.column(name)?.datetime();
        Ok(
            c.with_context(|| format!("column {name} is not a timestamp"))?
                .physical()
                .iter()
                .collect(),
        )
    }
}

/// The evaluation rows of the study in `study`, and one message per skipped part.
pub fn study_rows(study: &Path) -> Result<(Vec<EvaluationRow>, Vec<String>)> {
    let read = read(Table::Evaluations, study)?;
    Ok((evaluation_rows(&read.frame)?, read.skipped))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::tests::sample_row;
    use crate::record::{Ledger, MetricRow, STATUS_FAILED};
    use arrow::array::{RecordBatch, UInt64Array};
    use arrow::datatypes::Field as ArrowField;
    use cache::ledger::Row;
    use std::sync::Arc;

    #[test]
    fn rows_round_trip_through_the_ledger_and_a_rewrite_replaces() {
        let dir = tempfile::tempdir().unwrap();
        let ledger = Ledger::new(dir.path());
        let a = sample_row("aa");
        let mut b = sample_row("bb");
        b.status = STATUS_FAILED.into();
        b.error = Some("NaN loss at epoch 1".into());
        b.accuracy_mean = None;
        ledger.record_evaluation(&a).unwrap();
        ledger.record_evaluation(&b).unwrap();
        ledger.record_evaluation(&a).unwrap();
        let (rows, skipped) = study_rows(dir.path()).unwrap();
        assert_eq!(rows, vec![a, b]);
        assert!(skipped.is_empty());
    }

    #[test]
    fn an_empty_study_is_an_empty_table_with_the_schema() {
        let dir = tempfile::tempdir().unwrap();
        let read = read(Table::Evaluations, dir.path()).unwrap();
        assert_eq!(read.frame.height(), 0);
        assert_eq!(read.frame.schema().as_ref(), &Table::Evaluations.schema());
    }

    #[test]
    fn a_corrupted_part_is_skipped_with_a_warning_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let ledger = Ledger::new(dir.path());
        ledger.record_evaluation(&sample_row("aa")).unwrap();
        ledger.record_evaluation(&sample_row("bb")).unwrap();
        let bad = ledger.evaluations.part_path("bb");
        let bytes = std::fs::read(&bad).unwrap();
        std::fs::write(&bad, &bytes[..bytes.len() / 2]).unwrap();
        std::fs::write(dir.path().join("evaluations/.tmp-1-0-x.parquet"), b"junk").unwrap();
        let (rows, skipped) = study_rows(dir.path()).unwrap();
        assert_eq!(rows, vec![sample_row("aa")]);
        assert_eq!(skipped.len(), 1);
        assert!(skipped[0].contains("part-bb.parquet"), "{}", skipped[0]);
    }

    #[test]
    fn a_part_written_with_an_unsigned_seed_still_reads() {
        let dir = tempfile::tempdir().unwrap();
        let ledger = Ledger::new(dir.path());
        let row = sample_row("aa");
        ledger.record_evaluation(&sample_row("bb")).unwrap();
        let batch = EvaluationRow::to_batch(std::slice::from_ref(&row)).unwrap();
        let seed = batch.schema().index_of("seed").unwrap();
        let mut fields: Vec<ArrowField> = batch
            .schema()
            .fields()
            .iter()
            .map(|f| (**f).clone())
            .collect();
        fields[seed] = ArrowField::new("seed", ArrowType::UInt64, false);
        let mut columns = batch.columns().to_vec();
        columns[seed] = Arc::new(UInt64Array::from(vec![row.seed]));
        let schema = Arc::new(ArrowSchema::new(fields));
        let old = RecordBatch::try_new(schema.clone(), columns).unwrap();
        cache::table::write_parquet_atomic(&ledger.evaluations.part_path("aa"), &schema, &[old])
            .unwrap();
        let (rows, skipped) = study_rows(dir.path()).unwrap();
        assert!(skipped.is_empty(), "{skipped:?}");
        assert_eq!(rows, vec![row, sample_row("bb")]);
    }

    #[test]
    fn several_studies_are_read_in_one_scan_tagged_by_study() {
        let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        Ledger::new(a.path())
            .record_evaluation(&sample_row("aa"))
            .unwrap();
        let ledger = Ledger::new(b.path());
        ledger.record_evaluation(&sample_row("bb")).unwrap();
        ledger.record_evaluation(&sample_row("cc")).unwrap();
        let studies = [a.path().to_path_buf(), b.path().to_path_buf()];
        let read = read_studies(Table::Evaluations, &studies).unwrap();
        let index: Vec<Option<u32>> = read
            .frame
            .column(SOURCE)
            .unwrap()
            .u32()
            .unwrap()
            .iter()
            .collect();
        assert_eq!(index, vec![Some(0), Some(1), Some(1)]);
        let keys: Vec<String> = evaluation_rows(&read.frame)
            .unwrap()
            .into_iter()
            .map(|r| r.eval_key)
            .collect();
        assert_eq!(keys, ["aa", "bb", "cc"]);
    }

    #[test]
    fn a_ledger_view_reads_what_was_added_rewritten_or_removed_since() {
        let dir = tempfile::tempdir().unwrap();
        let ledger = Ledger::new(dir.path());
        let mut view = LedgerView::new(dir.path());
        assert!(view.refresh().unwrap().is_empty());
        ledger.record_evaluation(&sample_row("aa")).unwrap();
        assert_eq!(view.refresh().unwrap(), vec![sample_row("aa")]);
        let mut again = sample_row("aa");
        again.cost_s = 99.0;
        again.finished_at_ms += 1;
        ledger.record_evaluation(&sample_row("bb")).unwrap();
        ledger.record_evaluation(&again).unwrap();
        assert_eq!(view.refresh().unwrap(), vec![again, sample_row("bb")]);
        std::fs::remove_file(ledger.evaluations.part_path("aa")).unwrap();
        assert_eq!(view.refresh().unwrap(), vec![sample_row("bb")]);
    }

    #[test]
    fn metrics_read_back_with_their_schema() {
        let dir = tempfile::tempdir().unwrap();
        let rows = vec![MetricRow {
            eval_key: "aa".into(),
            epoch: 1,
            name: "train_loss".into(),
            value: 1.25,
        }];
        Ledger::new(dir.path()).record_metrics("aa", &rows).unwrap();
        let frame = read(Table::Metrics, dir.path()).unwrap().frame;
        assert_eq!(frame.schema().as_ref(), &Table::Metrics.schema());
        assert_eq!(
            frame.column("value").unwrap().f64().unwrap().get(0),
            Some(1.25)
        );
    }
}
