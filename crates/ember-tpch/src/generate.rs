//! Generating TPC-H data with `tpchgen` into Parquet or CSV files, and the on-disk cache.
//!
//! Layout of a data directory:
//!
//! ```text
//! <out_dir>/
//!   region/part-00000.parquet
//!   ...
//!   lineitem/part-00000.parquet .. part-0000N.parquet   (one file per ~1M rows)
//!   _SUCCESS                                            (written last)
//! ```
//!
//! A directory without `_SUCCESS` is a half-written one (interrupted run) and is regenerated.

use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use arrow::array::ArrayRef;
use arrow::compute::cast;
use arrow::record_batch::RecordBatch;
use ember_common::{EmberError, Result};
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;

use crate::tables::{DataFormat, TpchTable};

/// Name of the marker file written once every table is complete.
pub const SUCCESS_MARKER: &str = "_SUCCESS";

/// Big tables are split into files of at least this many rows so they can be read in parallel.
const ROWS_PER_FILE: u64 = 1_000_000;
/// Rows per Parquet row group of generated files.
const ROWS_PER_ROW_GROUP: usize = 122_880;

/// Upper bound on generator threads (the generator is CPU-bound).
const MAX_THREADS: usize = 8;

/// What one table's generation produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableSummary {
    /// Table name, as in [`crate::TABLES`].
    pub name: &'static str,
    /// Rows written over all files.
    pub rows: u64,
    /// Number of files written.
    pub files: usize,
    /// Total size of the files in bytes.
    pub bytes: u64,
}

/// What [`generate`] produced.
#[derive(Debug, Clone)]
pub struct GenerateSummary {
    /// The directory holding one folder per table.
    pub out_dir: PathBuf,
    /// The scale factor generated.
    pub scale_factor: f64,
    /// The file format written.
    pub format: DataFormat,
    /// One entry per table, in the order of [`crate::TABLES`].
    pub tables: Vec<TableSummary>,
    /// Wall-clock time of the generation.
    pub elapsed: Duration,
}

impl GenerateSummary {
    /// Rows written over all tables.
    pub fn total_rows(&self) -> u64 {
        self.tables.iter().map(|table| table.rows).sum()
    }

    /// Bytes written over all tables.
    pub fn total_bytes(&self) -> u64 {
        self.tables.iter().map(|table| table.bytes).sum()
    }

    /// The summary for one table, if it was generated.
    pub fn table(&self, name: &str) -> Option<&TableSummary> {
        self.tables.iter().find(|table| table.name == name)
    }
}

/// The cache directory for a scale factor and format:
/// `$EMBER_TPCH_CACHE/sf<sf>-<format>` when that variable is set, else
/// `$HOME/.cache/ember/tpch/sf<sf>-<format>` (e.g. `sf0.01-parquet`, `sf1-csv`), else a folder
/// under the system temporary directory.
pub fn default_data_dir(sf: f64, format: DataFormat) -> PathBuf {
    let root = match std::env::var_os("EMBER_TPCH_CACHE") {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => match std::env::var_os("HOME") {
            Some(home) if !home.is_empty() => PathBuf::from(home).join(".cache/ember/tpch"),
            _ => std::env::temp_dir().join("ember-tpch"),
        },
    };
    root.join(format!("sf{sf}-{format}"))
}

/// Whether `data_dir` holds a complete generation (its `_SUCCESS` marker exists).
pub fn is_complete(data_dir: &Path) -> bool {
    data_dir.join(SUCCESS_MARKER).is_file()
}

/// The data directory for `sf` and `format` ([`default_data_dir`]), generating the data first
/// unless a complete copy is already cached there.
pub fn ensure_data(sf: f64, format: DataFormat) -> Result<PathBuf> {
    let dir = default_data_dir(sf, format);
    if is_complete(&dir) {
        log::debug!("TPC-H SF{sf} {format} data found in {}", dir.display());
        return Ok(dir);
    }
    log::info!(
        "generating TPC-H SF{sf} {format} data into {}",
        dir.display()
    );
    let summary = generate(sf, format, &dir, |_, _| {})?;
    log::info!(
        "generated {} rows ({} bytes) in {:.1?}",
        summary.total_rows(),
        summary.total_bytes(),
        summary.elapsed
    );
    Ok(dir)
}

/// One file to write: generator part `part` (1-based) of `parts` for `table`.
#[derive(Debug, Clone, Copy)]
struct Job {
    table: TpchTable,
    part: i32,
    parts: i32,
    estimated_rows: u64,
}

/// Sent from generator threads to the calling thread, which owns the progress callback.
struct RowsWritten {
    table: TpchTable,
    rows: u64,
}

/// What one finished job wrote.
struct FileWritten {
    table: TpchTable,
    rows: u64,
    bytes: u64,
}

/// Generates all eight TPC-H tables at scale factor `sf` into `out_dir/<table>/part-<n>.<ext>`
/// and writes `out_dir/_SUCCESS` last.
///
/// Tables are generated on several threads; `progress(table, rows_so_far)` is called on the
/// calling thread after every batch. Existing table folders in `out_dir` are replaced (other
/// files there are left alone).
pub fn generate(
    sf: f64,
    format: DataFormat,
    out_dir: &Path,
    mut progress: impl FnMut(&str, u64),
) -> Result<GenerateSummary> {
    if !sf.is_finite() || sf <= 0.0 {
        return Err(EmberError::Config(format!(
            "TPC-H scale factor must be a positive number (e.g. 0.01, 1, 10), got {sf}"
        )));
    }
    let started = Instant::now();
    prepare_out_dir(out_dir)?;
    let jobs = plan_jobs(sf);

    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .clamp(1, MAX_THREADS)
        .min(jobs.len());
    let next_job = AtomicUsize::new(0);
    let failed = AtomicBool::new(false);
    let (sender, receiver) = mpsc::channel::<RowsWritten>();

    let results: Vec<Result<Vec<FileWritten>>> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                let sender = sender.clone();
                let (jobs, next_job, failed) = (&jobs, &next_job, &failed);
                scope.spawn(move || -> Result<Vec<FileWritten>> {
                    let mut written = Vec::new();
                    while !failed.load(Ordering::Relaxed) {
                        let Some(job) = jobs.get(next_job.fetch_add(1, Ordering::Relaxed)) else {
                            break;
                        };
                        match write_part(job, sf, format, out_dir, &sender) {
                            Ok(file) => written.push(file),
                            Err(error) => {
                                failed.store(true, Ordering::Relaxed);
                                return Err(error);
                            }
                        }
                    }
                    Ok(written)
                })
            })
            .collect();
        // Only the workers hold senders now, so the loop ends when the last one finishes.
        drop(sender);
        let mut rows_so_far = [0u64; TpchTable::ALL.len()];
        for update in receiver {
            let index = table_index(update.table);
            rows_so_far[index] += update.rows;
            progress(update.table.name(), rows_so_far[index]);
        }
        workers
            .into_iter()
            .map(|worker| {
                worker.join().unwrap_or_else(|_| {
                    Err(EmberError::internal(
                        "a TPC-H generator thread panicked".to_string(),
                    ))
                })
            })
            .collect()
    });

    let mut tables: Vec<TableSummary> = TpchTable::ALL
        .iter()
        .map(|table| TableSummary {
            name: table.name(),
            rows: 0,
            files: 0,
            bytes: 0,
        })
        .collect();
    for result in results {
        for file in result? {
            let summary = &mut tables[table_index(file.table)];
            summary.rows += file.rows;
            summary.files += 1;
            summary.bytes += file.bytes;
        }
    }

    let marker = out_dir.join(SUCCESS_MARKER);
    let mut marker_text = format!("scale_factor={sf}\nformat={format}\n");
    for table in &tables {
        marker_text.push_str(&format!("{}={} rows\n", table.name, table.rows));
    }
    fs::write(&marker, marker_text).map_err(|e| EmberError::io(marker.display().to_string(), e))?;

    Ok(GenerateSummary {
        out_dir: out_dir.to_path_buf(),
        scale_factor: sf,
        format,
        tables,
        elapsed: started.elapsed(),
    })
}

fn table_index(table: TpchTable) -> usize {
    TpchTable::ALL
        .iter()
        .position(|candidate| *candidate == table)
        .unwrap_or(0)
}

/// Removes the marker and any previous table folders, then creates empty table folders.
fn prepare_out_dir(out_dir: &Path) -> Result<()> {
    let io_error = |path: &Path, e| EmberError::io(path.display().to_string(), e);
    let marker = out_dir.join(SUCCESS_MARKER);
    if marker.exists() {
        fs::remove_file(&marker).map_err(|e| io_error(&marker, e))?;
    }
    for table in TpchTable::ALL {
        let dir = out_dir.join(table.name());
        if dir.exists() {
            fs::remove_dir_all(&dir).map_err(|e| io_error(&dir, e))?;
        }
        fs::create_dir_all(&dir).map_err(|e| io_error(&dir, e))?;
    }
    Ok(())
}

/// One job per output file, biggest first so the threads finish together.
fn plan_jobs(sf: f64) -> Vec<Job> {
    let mut jobs = Vec::new();
    for table in TpchTable::ALL {
        let estimated_rows = table.estimated_rows(sf);
        let parts = (estimated_rows / ROWS_PER_FILE).clamp(1, i32::MAX as u64) as i32;
        for part in 1..=parts {
            jobs.push(Job {
                table,
                part,
                parts,
                estimated_rows: estimated_rows / parts as u64,
            });
        }
    }
    jobs.sort_by_key(|job| std::cmp::Reverse(job.estimated_rows));
    jobs
}

/// Generates one part of a table and writes it to its file.
fn write_part(
    job: &Job,
    sf: f64,
    format: DataFormat,
    out_dir: &Path,
    progress: &mpsc::Sender<RowsWritten>,
) -> Result<FileWritten> {
    let path = out_dir.join(job.table.name()).join(format!(
        "part-{:05}.{}",
        job.part - 1,
        format.extension()
    ));
    let where_ = || format!("{} part {} of {}", job.table.name(), job.part, job.parts);
    let schema = job.table.written_schema();
    let file = File::create(&path).map_err(|e| EmberError::io(path.display().to_string(), e))?;
    let mut sink = match format {
        DataFormat::Parquet => {
            // Row groups of 122,880 rows (DuckDB's size) let readers split files finely
            // enough to give every core work; the writer's default is a million rows.
            let properties = WriterProperties::builder()
                .set_compression(Compression::SNAPPY)
                .set_max_row_group_row_count(Some(ROWS_PER_ROW_GROUP))
                .build();
            let writer = ArrowWriter::try_new(file, schema.clone(), Some(properties))
                .map_err(|e| EmberError::DataSource(format!("{}: {e}", path.display())))?;
            Sink::Parquet(writer)
        }
        DataFormat::Csv => Sink::Csv(
            arrow::csv::WriterBuilder::new()
                .with_header(true)
                .with_delimiter(b'|')
                .with_date_format("%Y-%m-%d".to_string())
                .build(BufWriter::new(file)),
        ),
    };

    let mut rows = 0u64;
    for generated in job.table.batches(sf, job.part, job.parts) {
        let generated = generated
            .map_err(|e| EmberError::execution(format!("tpchgen failed on {}: {e}", where_())))?;
        let columns = generated
            .columns()
            .iter()
            .zip(schema.fields())
            .map(|(column, field)| cast_if_needed(column, field.data_type()))
            .collect::<Result<Vec<_>>>()?;
        let batch = RecordBatch::try_new(schema.clone(), columns)?;
        match &mut sink {
            Sink::Parquet(writer) => writer
                .write(&batch)
                .map_err(|e| EmberError::DataSource(format!("{}: {e}", path.display())))?,
            Sink::Csv(writer) => writer.write(&batch)?,
        }
        let batch_rows = batch.num_rows() as u64;
        rows += batch_rows;
        // The receiver only disappears if the caller is unwinding; nothing to report then.
        let _ = progress.send(RowsWritten {
            table: job.table,
            rows: batch_rows,
        });
    }

    match sink {
        Sink::Parquet(writer) => {
            writer
                .close()
                .map_err(|e| EmberError::DataSource(format!("{}: {e}", path.display())))?;
        }
        Sink::Csv(writer) => {
            writer
                .into_inner()
                .flush()
                .map_err(|e| EmberError::io(path.display().to_string(), e))?;
        }
    }
    let bytes = fs::metadata(&path)
        .map_err(|e| EmberError::io(path.display().to_string(), e))?
        .len();
    Ok(FileWritten {
        table: job.table,
        rows,
        bytes,
    })
}

/// Where one file's batches go.
enum Sink {
    Parquet(ArrowWriter<File>),
    Csv(arrow::csv::Writer<BufWriter<File>>),
}

fn cast_if_needed(column: &ArrayRef, to: &arrow::datatypes::DataType) -> Result<ArrayRef> {
    if column.data_type() == to {
        Ok(column.clone())
    } else {
        Ok(cast(column, to)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{Array, Date32Array, Decimal128Array, Int64Array, StringArray};
    use arrow::datatypes::DataType;
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    use std::collections::HashMap;

    /// Row counts of tpchgen 4 at SF 0.01 (checked against the generators' own row counts).
    const SF001_ROWS: [(&str, u64); 8] = [
        ("region", 5),
        ("nation", 25),
        ("supplier", 100),
        ("customer", 1500),
        ("part", 2000),
        ("partsupp", 8000),
        ("orders", 15000),
        ("lineitem", 60175),
    ];

    fn files_of(dir: &Path) -> Vec<PathBuf> {
        let mut files: Vec<PathBuf> = fs::read_dir(dir)
            .unwrap()
            .map(|entry| entry.unwrap().path())
            .collect();
        files.sort();
        files
    }

    #[test]
    fn parquet_at_sf001_has_tpch_row_counts_and_types() {
        let dir = tempfile::tempdir().unwrap();
        let mut last_progress: HashMap<String, u64> = HashMap::new();
        let summary = generate(0.01, DataFormat::Parquet, dir.path(), |table, rows| {
            let previous = last_progress.insert(table.to_string(), rows).unwrap_or(0);
            assert!(
                rows > previous,
                "progress for {table} went from {previous} to {rows}"
            );
        })
        .unwrap();

        assert!(is_complete(dir.path()));
        assert_eq!(summary.tables.len(), 8);
        for (table, expected) in SF001_ROWS {
            assert_eq!(summary.table(table).unwrap().rows, expected, "{table}");
            assert_eq!(last_progress[table], expected, "final progress of {table}");
            // Read the files back: the row count on disk is the one reported.
            let mut rows_on_disk = 0;
            for file in files_of(&dir.path().join(table)) {
                assert_eq!(file.extension().unwrap(), "parquet");
                let reader = ParquetRecordBatchReaderBuilder::try_new(File::open(&file).unwrap())
                    .unwrap()
                    .build()
                    .unwrap();
                for batch in reader {
                    let batch = batch.unwrap();
                    assert_eq!(batch.schema(), crate::table_schema(table).unwrap());
                    rows_on_disk += batch.num_rows() as u64;
                }
            }
            assert_eq!(rows_on_disk, expected, "{table} rows on disk");
        }

        // The first lineitem row holds what tpchgen's own row generator says.
        let expected = tpchgen::generators::LineItemGenerator::new(0.01, 1, 1)
            .iter()
            .next()
            .unwrap();
        let file = dir.path().join("lineitem/part-00000.parquet");
        let mut reader = ParquetRecordBatchReaderBuilder::try_new(File::open(file).unwrap())
            .unwrap()
            .build()
            .unwrap();
        let batch = reader.next().unwrap().unwrap();
        let column = |name: &str| batch.column_by_name(name).unwrap().clone();
        let price = column("l_extendedprice");
        let price = price.as_any().downcast_ref::<Decimal128Array>().unwrap();
        assert_eq!(price.data_type(), &DataType::Decimal128(15, 2));
        assert_eq!(
            price.value_as_string(0),
            expected.l_extendedprice.to_string()
        );
        let orderkey = column("l_orderkey");
        let orderkey = orderkey.as_any().downcast_ref::<Int64Array>().unwrap();
        assert_eq!(orderkey.value(0), expected.l_orderkey);
        let partkey = column("l_partkey");
        let partkey = partkey.as_any().downcast_ref::<Int64Array>().unwrap();
        assert_eq!(partkey.value(0), expected.l_partkey);
        let shipdate = column("l_shipdate");
        let shipdate = shipdate.as_any().downcast_ref::<Date32Array>().unwrap();
        assert_eq!(
            shipdate.value_as_date(0).unwrap().to_string(),
            expected.l_shipdate.to_string()
        );
        let comment = column("l_comment");
        let comment = comment.as_any().downcast_ref::<StringArray>().unwrap();
        assert_eq!(comment.value(0), expected.l_comment);
        assert!(!comment.is_null(0));
    }

    #[test]
    fn csv_at_sf001_has_header_pipes_and_row_counts() {
        let dir = tempfile::tempdir().unwrap();
        let summary = generate(0.01, DataFormat::Csv, dir.path(), |_, _| {}).unwrap();
        assert!(is_complete(dir.path()));
        for (table, expected) in SF001_ROWS {
            let files = files_of(&dir.path().join(table));
            assert_eq!(files.len(), 1, "{table}");
            let text = fs::read_to_string(&files[0]).unwrap();
            let mut lines = text.lines();
            let header = lines.next().unwrap();
            let schema = crate::table_schema(table).unwrap();
            let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
            assert_eq!(header, names.join("|"), "{table} header");
            assert_eq!(lines.count() as u64, expected, "{table} data lines");
            assert_eq!(summary.table(table).unwrap().rows, expected);
        }
        // Every line is tpchgen's own `.tbl` line for that row, without the trailing `|` and
        // with l_quantity as the DECIMAL(15,2) it is in the Arrow schema (`17` -> `17.00`).
        let lineitem = fs::read_to_string(dir.path().join("lineitem/part-00000.csv")).unwrap();
        let expected: Vec<String> = tpchgen::generators::LineItemGenerator::new(0.01, 1, 1)
            .iter()
            .map(|row| {
                let line = row.to_string();
                let mut fields: Vec<String> = line
                    .trim_end_matches('|')
                    .split('|')
                    .map(str::to_string)
                    .collect();
                fields[4].push_str(".00");
                fields.join("|")
            })
            .collect();
        let written: Vec<&str> = lineitem.lines().skip(1).collect();
        assert_eq!(written.len(), expected.len());
        for (line, (written, expected)) in written.iter().zip(&expected).enumerate() {
            assert_eq!(written, expected, "lineitem line {}", line + 2);
        }
        let nation = fs::read_to_string(dir.path().join("nation/part-00000.csv")).unwrap();
        let expected: Vec<String> = tpchgen::generators::NationGenerator::new(0.01, 1, 1)
            .iter()
            .map(|row| row.to_string().trim_end_matches('|').to_string())
            .collect();
        assert_eq!(nation.lines().skip(1).collect::<Vec<_>>(), expected);
    }

    #[test]
    fn regenerating_replaces_a_half_written_directory() {
        let dir = tempfile::tempdir().unwrap();
        // A leftover from an interrupted run: a stray file in a table folder, no marker.
        fs::create_dir_all(dir.path().join("nation")).unwrap();
        fs::write(dir.path().join("nation/part-00099.csv"), "garbage").unwrap();
        assert!(!is_complete(dir.path()));
        generate(0.001, DataFormat::Csv, dir.path(), |_, _| {}).unwrap();
        assert!(is_complete(dir.path()));
        assert_eq!(
            files_of(&dir.path().join("nation")),
            vec![dir.path().join("nation/part-00000.csv")]
        );
    }

    #[test]
    fn rejects_a_bad_scale_factor() {
        let dir = tempfile::tempdir().unwrap();
        let error = generate(0.0, DataFormat::Parquet, dir.path(), |_, _| {}).unwrap_err();
        assert!(error
            .to_string()
            .contains("scale factor must be a positive number"));
        assert!(!is_complete(dir.path()));
    }

    #[test]
    fn big_tables_are_split_into_million_row_files() {
        let jobs = plan_jobs(1.0);
        let count = |table| jobs.iter().filter(|job| job.table == table).count();
        assert_eq!(count(TpchTable::LineItem), 6);
        assert_eq!(count(TpchTable::Orders), 1);
        assert_eq!(count(TpchTable::Region), 1);
        assert_eq!(jobs[0].table, TpchTable::Orders, "biggest job first");
        assert_eq!(
            plan_jobs(10.0)
                .iter()
                .filter(|j| j.table == TpchTable::LineItem)
                .count(),
            60
        );
    }

    #[test]
    fn cache_dir_names_scale_factor_and_format() {
        let dir = default_data_dir(0.01, DataFormat::Parquet);
        assert!(dir.ends_with("sf0.01-parquet"), "{}", dir.display());
        assert!(default_data_dir(1.0, DataFormat::Csv).ends_with("sf1-csv"));
    }
}
