//! Writing a table's files from a job, and committing them all or nothing.
//!
//! Tasks write into a temporary folder; the driver moves the files into the location and
//! then writes the table's next manifest (see `store::commits`), which is the commit point:
//!
//! ```text
//!  begin     a folder without a commit log gets version 0 = its visible files (maybe none)
//!  task i    ──writes──▶  <location>/_temporary/<job>/part-<i>-<job>-<attempt>.<ext>
//!  commit    move each reported file to <location>/part-<i>-<job>.<ext>     (not yet read)
//!            write _ember_commits/<v+1>.manifest = (OVERWRITE ? {} : version v) + new files
//!            ── committed ──  then, best effort: delete files no manifest names (the old
//!            version's, a failed attempt's), the temporary folder and older manifests;
//!            write _SUCCESS for Spark
//!  failure   before the manifest: readers still see version v; what the job moved is
//!            deleted once the latest manifest could be read (else the next write does it)
//! ```
//!
//! Ember readers read only the files of the latest manifest, so a reader sees the old table
//! or the new one at every point of failure, and a failed statement can simply be run again.
//! A task attempt that lost to another (a retry, a speculative copy) leaves a file nobody
//! reports, which goes with the temporary folder.

use std::collections::{BTreeMap, BTreeSet};
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
use crate::store::commits::{relative_name, Committed};
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

    /// The table's data files at the location now (its committed files).
    pub fn existing_files(&self) -> Result<usize> {
        Ok(self.store()?.list_or_empty(self.root())?.len())
    }

    /// Before the job runs: a folder without a commit log gets version 0, naming the files
    /// it holds (none for a new table). From then on a file that a failed attempt leaves in
    /// the folder is never taken for the table, and a retry finds the table as it was.
    pub fn begin(&self) -> Result<()> {
        let store = self.store()?;
        let root = self.root();
        if store.committed(root)?.is_some() {
            return Ok(());
        }
        let files = store
            .list_raw_or_empty(root)?
            .iter()
            .filter_map(|f| relative_name(root, &f.path))
            .collect();
        store.write_manifest(root, 0, &files)
    }

    fn committed_name(&self, file: &WrittenFile) -> String {
        format!(
            "part-{:05}-{}.{}",
            file.partition,
            self.job_id,
            self.extension()
        )
    }

    /// Makes the reported files the table's (with `overwrite`, the only ones): moves them into
    /// place and writes the next manifest. Returns how many files this job added. On an
    /// error nothing of the job is visible, and the job's files are removed when possible.
    pub fn commit(&self, files: &[WrittenFile], overwrite: bool) -> Result<usize> {
        let store = self.store()?;
        let root = self.root();
        let result = (|| -> Result<Committed> {
            let latest = store.committed(root)?.ok_or_else(|| {
                EmberError::internal(format!(
                    "the write to {} was not begun (no commit log)",
                    self.location
                ))
            })?;
            let mut table = if overwrite {
                BTreeSet::new()
            } else {
                latest.files
            };
            for file in files {
                let name = self.committed_name(file);
                store.rename(&file.path, &format!("{root}/{name}"))?;
                table.insert(name);
            }
            // The commit point.
            let version = latest.version + 1;
            store.write_manifest(root, version, &table)?;
            Ok(Committed {
                version,
                files: table,
            })
        })();
        let committed = match result {
            Ok(committed) => committed,
            Err(error) => {
                // A manifest whose write reported an error may still have been written.
                let names: BTreeSet<String> =
                    files.iter().map(|f| self.committed_name(f)).collect();
                let landed = store
                    .committed(root)
                    .ok()
                    .flatten()
                    .filter(|c| names.is_subset(&c.files) && (!overwrite || c.files == names));
                match landed {
                    Some(committed) => committed,
                    None => {
                        self.abort();
                        return Err(error);
                    }
                }
            }
        };
        // Committed: nothing below fails the statement.
        self.remove_uncommitted(&store, &committed.files);
        store.remove_manifests_before(root, committed.version);
        if let Err(e) = store
            .create(&format!("{root}/_SUCCESS"))
            .and_then(FileSink::finish)
        {
            log::warn!(
                "committed {} but could not write its _SUCCESS marker: {e}",
                self.location
            );
        }
        log::info!(
            "committed {} files of job {} to {}",
            files.len(),
            self.job_id,
            self.location
        );
        Ok(files.len())
    }

    /// Deletes the visible files of the location that `table` (the committed files) does not
    /// name, and this job's temporary folder; logs what it could not delete.
    fn remove_uncommitted(&self, store: &Store, table: &BTreeSet<String>) {
        let root = self.root();
        let mut failed = 0;
        match store.list_raw_or_empty(root) {
            Ok(entries) => {
                for entry in entries {
                    let committed =
                        relative_name(root, &entry.path).is_some_and(|n| table.contains(&n));
                    if !committed && store.delete(&entry.path.to_string_lossy()).is_err() {
                        failed += 1;
                    }
                }
            }
            Err(_) => failed += 1,
        }
        if store.delete_folder(&self.staging()).is_err() {
            failed += 1;
        }
        store.remove_empty_folder(&format!("{root}/{TEMPORARY_FOLDER}"));
        if failed > 0 {
            log::warn!(
                "could not remove {failed} uncommitted file(s) or folder(s) of job {} at {}; \
                 readers ignore them and the next write removes them",
                self.job_id,
                self.location
            );
        }
    }

    /// After a failed job or commit: removes what the job wrote (none of it was visible to
    /// Ember readers). Only files the latest manifest does not name are deleted, and only
    /// when that manifest could be read; a new table's empty log goes too.
    pub fn abort(&self) {
        let result = self.store().and_then(|store| {
            let root = self.root();
            match store.committed(root)? {
                Some(latest) => {
                    self.remove_uncommitted(&store, &latest.files);
                    if latest.files.is_empty() && store.list_raw_or_empty(root)?.is_empty() {
                        store.remove_log(root)?;
                    }
                }
                None => {
                    store.delete_folder(&self.staging())?;
                    store.remove_empty_folder(&format!("{root}/{TEMPORARY_FOLDER}"));
                }
            }
            store.remove_empty_folder(root);
            Ok(())
        });
        if let Err(e) = result {
            log::warn!(
                "could not remove the files of failed job {} at {}: {e}; readers ignore them \
                 and the next write removes them",
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
