//! Writing a table's files from a job, and committing them only when every task succeeded.
//!
//! The protocol is Hadoop's file output committer (v1), which Spark uses:
//!
//! ```text
//!  task i (attempt a)  ──writes──▶  <location>/_temporary/<job>/part-<i>-<job>-<attempt>.<ext>
//!  driver, all tasks done ──▶  (OVERWRITE: delete the visible files)
//!                         ──▶  move each reported file to <location>/part-<i>-<job>.<ext>
//!                         ──▶  write <location>/_SUCCESS, delete <location>/_temporary/<job>
//!  job failed              ──▶  delete <location>/_temporary/<job>
//! ```
//!
//! Readers skip `_`-prefixed names, so a running or failed job's files are never read; a task
//! attempt that lost to another (a retry, a speculative copy) leaves a file nobody reports,
//! which goes with the temporary folder.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use arrow::array::{ArrayRef, Int64Array, StringArray};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use arrow::record_batch::RecordBatch;
use ember_common::{EmberConf, EmberError, Result};
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;

use crate::csv::pattern::spark_to_chrono;
use crate::format::FileFormat;
use crate::options::CsvOptions;
use crate::store::{FileSink, S3Settings, Store};
use crate::writer::DEFAULT_ROW_GROUP_ROWS;

/// The folder under a table's location where running jobs write.
pub const TEMPORARY_FOLDER: &str = "_temporary";

/// What a write job needs on every executor: where, in which format, with which options.
#[derive(Debug, Clone, PartialEq)]
pub struct WriteSpec {
    /// The table's location (a folder).
    pub location: String,
    pub format: FileFormat,
    /// CSV: the options to write with (`header`, `sep`, `quote`, `escape`, `nullValue`,
    /// `dateFormat`, `timestampFormat`, `compression`).
    pub csv: CsvOptions,
    /// Unique per job; names the temporary folder and the files.
    pub job_id: String,
    /// How to reach the bucket of an `s3://` location.
    pub s3: Option<S3Settings>,
}

/// One file a task wrote, as the task reports it to the driver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WrittenFile {
    pub partition: usize,
    pub path: String,
    pub rows: u64,
}

/// A fresh id: time, process and a counter, in hex (no two jobs or attempts share one).
fn unique_id() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    let count = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!(
        "{:x}{:04x}{:04x}",
        nanos,
        std::process::id() & 0xffff,
        count & 0xffff
    )
}

impl WriteSpec {
    /// A new job writing `format` files to `location`, with S3 settings from `conf`.
    pub fn new(
        location: &str,
        format: FileFormat,
        options: &BTreeMap<String, String>,
        conf: &EmberConf,
    ) -> Result<WriteSpec> {
        let (store, _) = Store::for_location(location, conf)?;
        let csv = CsvOptions::from_options(options)?;
        Ok(WriteSpec {
            location: location.trim_end_matches('/').to_string(),
            format,
            csv,
            job_id: unique_id(),
            s3: store.settings().cloned(),
        })
    }

    fn store(&self) -> Result<Store> {
        Store::with_settings(&self.location, self.s3.as_ref())
    }

    /// The location as the store spells it (`file://` removed).
    fn root(&self) -> &str {
        self.location
            .strip_prefix("file://")
            .unwrap_or(&self.location)
    }

    fn staging(&self) -> String {
        format!("{}/{TEMPORARY_FOLDER}/{}", self.root(), self.job_id)
    }

    fn extension(&self) -> &'static str {
        match (self.format, self.csv.gzip) {
            (FileFormat::Parquet, _) => "parquet",
            (FileFormat::Csv, false) => "csv",
            (FileFormat::Csv, true) => "csv.gz",
        }
    }

    /// The schema of what a write task returns: one row per file written.
    pub fn result_schema() -> SchemaRef {
        Arc::new(Schema::new(vec![
            Field::new("partition", DataType::Int64, false),
            Field::new("path", DataType::Utf8, false),
            Field::new("rows", DataType::Int64, false),
        ]))
    }

    /// Writes one task's rows into a file of its own in the job's temporary folder. A partition
    /// without rows writes nothing, except partition 0, so that a table always has a file that
    /// holds its schema.
    pub fn write_task(
        &self,
        partition: usize,
        schema: SchemaRef,
        batches: impl Iterator<Item = Result<RecordBatch>>,
    ) -> Result<Option<WrittenFile>> {
        let mut batches = batches.peekable();
        if partition > 0 && batches.peek().is_none() {
            return Ok(None);
        }
        let store = self.store()?;
        let path = format!(
            "{}/part-{partition:05}-{}-{}.{}",
            self.staging(),
            self.job_id,
            unique_id(),
            self.extension()
        );
        let sink = store.create(&path)?;
        let rows = match self.format {
            FileFormat::Parquet => write_parquet_sink(sink, schema, batches, &path)?,
            FileFormat::Csv => self.write_csv_sink(sink, batches, &path)?,
        };
        Ok(Some(WrittenFile {
            partition,
            path,
            rows,
        }))
    }

    fn write_csv_sink(
        &self,
        sink: FileSink,
        batches: impl Iterator<Item = Result<RecordBatch>>,
        path: &str,
    ) -> Result<u64> {
        let options = &self.csv;
        let mut builder = arrow::csv::WriterBuilder::new()
            .with_header(options.header)
            .with_delimiter(options.delimiter)
            .with_null(options.null_value.clone());
        if options.quote != 0 {
            builder = builder.with_quote(options.quote);
        }
        if let Some(escape) = options.escape.filter(|&e| e != options.quote) {
            builder = builder.with_escape(escape).with_double_quote(false);
        }
        if !options.default_date_format() {
            builder = builder.with_date_format(spark_to_chrono(&options.date_format)?);
        }
        if !options.default_timestamp_format() {
            builder = builder.with_timestamp_format(spark_to_chrono(&options.timestamp_format)?);
        }
        let error = |e: arrow::error::ArrowError| {
            EmberError::DataSource(format!("Cannot write {path}: {e}"))
        };
        let mut rows = 0u64;
        if options.gzip {
            let encoder = flate2::write::GzEncoder::new(sink, flate2::Compression::default());
            let mut writer = builder.build(encoder);
            for batch in batches {
                let batch = batch?;
                rows += batch.num_rows() as u64;
                writer.write(&batch).map_err(error)?;
            }
            let sink = writer
                .into_inner()
                .finish()
                .map_err(|e| EmberError::io(path, e))?;
            sink.finish()?;
        } else {
            let mut writer = builder.build(sink);
            for batch in batches {
                let batch = batch?;
                rows += batch.num_rows() as u64;
                writer.write(&batch).map_err(error)?;
            }
            writer.into_inner().finish()?;
        }
        Ok(rows)
    }

    /// The visible data files at the location now (before the job commits).
    pub fn existing_files(&self) -> Result<usize> {
        Ok(self.store()?.list_or_empty(self.root())?.len())
    }

    /// Makes the reported files the table's: with `overwrite` the visible files go first.
    /// Returns how many files the location then holds from this job.
    pub fn commit(&self, files: &[WrittenFile], overwrite: bool) -> Result<usize> {
        let store = self.store()?;
        // The files to replace are listed first and deleted only once the new ones are in
        // place, so a failed move never loses the old data.
        let old = if overwrite {
            store.list_or_empty(self.root())?
        } else {
            Vec::new()
        };
        let mut committed = 0;
        for file in files {
            let name = format!(
                "part-{:05}-{}.{}",
                file.partition,
                self.job_id,
                self.extension()
            );
            store.rename(&file.path, &format!("{}/{name}", self.root()))?;
            committed += 1;
        }
        for file in &old {
            store.delete(&file.path.to_string_lossy())?;
        }
        store
            .create(&format!("{}/_SUCCESS", self.root()))?
            .finish()?;
        store.delete_folder(&self.staging())?;
        store.remove_empty_folder(&format!("{}/{TEMPORARY_FOLDER}", self.root()));
        log::info!(
            "committed {committed} files of job {} to {}",
            self.job_id,
            self.location
        );
        Ok(committed)
    }

    /// Removes what the job's tasks wrote (nothing of it was visible), and the location's
    /// folder if the job created it.
    pub fn abort(&self) {
        let result = self.store().and_then(|store| {
            store.delete_folder(&self.staging())?;
            store.remove_empty_folder(&format!("{}/{TEMPORARY_FOLDER}", self.root()));
            store.remove_empty_folder(self.root());
            Ok(())
        });
        if let Err(e) = result {
            log::warn!(
                "could not remove the temporary files of failed job {} at {}: {e}",
                self.job_id,
                self.location
            );
        }
    }
}

/// The rows a write task returns.
pub fn written_batch(files: &[WrittenFile]) -> Result<RecordBatch> {
    let columns: Vec<ArrayRef> = vec![
        Arc::new(Int64Array::from_iter_values(
            files.iter().map(|f| f.partition as i64),
        )),
        Arc::new(StringArray::from_iter_values(
            files.iter().map(|f| f.path.as_str()),
        )),
        Arc::new(Int64Array::from_iter_values(
            files.iter().map(|f| f.rows as i64),
        )),
    ];
    Ok(RecordBatch::try_new(WriteSpec::result_schema(), columns)?)
}

/// The files the tasks of a write job reported (the rows of [`written_batch`]).
pub fn written_files(batches: &[RecordBatch]) -> Result<Vec<WrittenFile>> {
    let mut files = Vec::new();
    for batch in batches {
        let column = |i: usize| batch.columns().get(i).cloned();
        let (Some(partitions), Some(paths), Some(rows)) = (column(0), column(1), column(2)) else {
            return Err(EmberError::internal("a write task returned no file list"));
        };
        let partitions = partitions
            .as_any()
            .downcast_ref::<Int64Array>()
            .ok_or_else(|| EmberError::internal("write task partitions are not Int64"))?;
        let paths = paths
            .as_any()
            .downcast_ref::<StringArray>()
            .ok_or_else(|| EmberError::internal("write task paths are not strings"))?;
        let rows = rows
            .as_any()
            .downcast_ref::<Int64Array>()
            .ok_or_else(|| EmberError::internal("write task row counts are not Int64"))?;
        for i in 0..batch.num_rows() {
            files.push(WrittenFile {
                partition: partitions.value(i) as usize,
                path: paths.value(i).to_string(),
                rows: rows.value(i) as u64,
            });
        }
    }
    files.sort_by_key(|f| f.partition);
    Ok(files)
}

fn write_parquet_sink(
    sink: FileSink,
    schema: SchemaRef,
    batches: impl Iterator<Item = Result<RecordBatch>>,
    path: &str,
) -> Result<u64> {
    let error = |e: parquet::errors::ParquetError| {
        EmberError::DataSource(format!("Cannot write {path}: {e}"))
    };
    let properties = WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .set_max_row_group_row_count(Some(DEFAULT_ROW_GROUP_ROWS))
        .build();
    let mut writer = ArrowWriter::try_new(sink, schema, Some(properties)).map_err(error)?;
    let mut rows = 0u64;
    for batch in batches {
        let batch = batch?;
        rows += batch.num_rows() as u64;
        writer.write(&batch).map_err(error)?;
    }
    writer.into_inner().map_err(error)?.finish()?;
    Ok(rows)
}
