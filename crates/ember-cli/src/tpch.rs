//! `ember tpch gen` and `ember tpch run`.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use clap::{Subcommand, ValueEnum};
use ember_common::{EmberError, Result};
use ember_session::EmberSession;
use ember_tpch::DataFormat;

use crate::EngineArgs;

#[derive(Subcommand)]
pub enum TpchCommand {
    /// Generate TPC-H data in-process (tpchgen).
    Gen {
        /// Scale factor: 1 is about 1 GB of raw data.
        #[arg(long, default_value_t = 1.0)]
        sf: f64,
        #[arg(long, value_enum, default_value_t = Format::Parquet)]
        format: Format,
        /// Output folder; one sub-folder per table.
        #[arg(long)]
        out: PathBuf,
    },
    /// Run TPC-H queries, print per-query times, optionally check the answers.
    Run {
        #[arg(long, default_value_t = 1.0)]
        sf: f64,
        /// Folder (or s3://bucket/prefix) holding the generated tables; without it data is generated into a cache.
        #[arg(long)]
        data: Option<PathBuf>,
        #[arg(long, value_enum, default_value_t = Format::Parquet)]
        format: Format,
        /// Queries to run, e.g. 1,3,6 (default: all 22).
        #[arg(long, value_delimiter = ',')]
        queries: Vec<usize>,
        /// Compare each result with tpch/answers and exit non-zero on a mismatch.
        #[arg(long)]
        check: bool,
        #[command(flatten)]
        engine: EngineArgs,
    },
    /// Benchmark TPC-H queries: each one several times, with min, median and max wall time
    /// and the peak memory (RSS) of the process while it ran.
    Bench {
        #[arg(long, default_value_t = 1.0)]
        sf: f64,
        /// Folder (or s3://bucket/prefix) holding the generated tables; without it data is generated into a cache.
        #[arg(long)]
        data: Option<PathBuf>,
        #[arg(long, value_enum, default_value_t = Format::Parquet)]
        format: Format,
        /// Queries to run, e.g. 1,3,6 (default: all 22).
        #[arg(long, value_delimiter = ',')]
        queries: Vec<usize>,
        /// Runs of each query (after one warm-up run that is not counted).
        #[arg(long, default_value_t = 3)]
        iterations: usize,
        #[command(flatten)]
        engine: EngineArgs,
    },
}

#[derive(Clone, Copy, ValueEnum)]
pub enum Format {
    Parquet,
    Csv,
}

impl From<Format> for DataFormat {
    fn from(f: Format) -> Self {
        match f {
            Format::Parquet => DataFormat::Parquet,
            Format::Csv => DataFormat::Csv,
        }
    }
}

pub fn run(command: TpchCommand) -> Result<ExitCode> {
    match command {
        TpchCommand::Gen { sf, format, out } => {
            let summary = ember_tpch::generate(sf, format.into(), &out, |_, _| {})?;
            for t in &summary.tables {
                println!("{:<10} {:>12} rows", t.name, t.rows);
            }
            println!(
                "TPC-H SF{sf} written to {} in {:.1} s",
                out.display(),
                summary.elapsed.as_secs_f64()
            );
            Ok(ExitCode::SUCCESS)
        }
        TpchCommand::Run {
            sf,
            data,
            format,
            queries,
            check,
            engine,
        } => run_queries(sf, data, format.into(), queries, check, engine),
        TpchCommand::Bench {
            sf,
            data,
            format,
            queries,
            iterations,
            engine,
        } => bench(sf, data, format.into(), queries, iterations, engine),
    }
}

/// A session with the 8 TPC-H tables registered, and the queries to run.
fn prepare(
    sf: f64,
    data: Option<PathBuf>,
    format: DataFormat,
    queries: Vec<usize>,
    engine: &EngineArgs,
) -> Result<(EmberSession, Vec<usize>)> {
    let data_dir = match data {
        Some(d) => d,
        None => {
            eprintln!("(using cached TPC-H SF{sf} data; generating it first if missing)");
            ember_tpch::ensure_data(sf, format)?
        }
    };
    let session = EmberSession::new(engine.conf()?)?;
    for table in ember_tpch::TABLES {
        session.sql(&ember_tpch::table_ddl(table, &data_dir, format)?)?;
    }
    let queries = if queries.is_empty() {
        (1..=ember_tpch::QUERY_COUNT).collect()
    } else {
        queries
    };
    Ok((session, queries))
}

/// Runs every statement of one query file; returns the result of its SELECT.
fn run_query_file(
    session: &EmberSession,
    statements: &[String],
) -> Result<Option<ember_session::QueryResult>> {
    let result_index = ember_tpch::result_statement(statements);
    let mut result = None;
    for (i, statement) in statements.iter().enumerate() {
        let r = session.sql(statement).map_err(EmberError::into_root)?;
        if Some(i) == result_index {
            result = Some(r);
        }
    }
    Ok(result)
}

/// Resets the process's peak resident memory (Linux `clear_refs`); false where unsupported.
fn reset_peak_memory() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

/// The process's peak resident memory in MiB since the last reset (Linux `VmHWM`).
fn peak_memory_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

fn bench(
    sf: f64,
    data: Option<PathBuf>,
    format: DataFormat,
    queries: Vec<usize>,
    iterations: usize,
    engine: EngineArgs,
) -> Result<ExitCode> {
    let iterations = iterations.max(1);
    let (session, queries) = prepare(sf, data, format, queries, &engine)?;
    let queries_dir = ember_tpch::queries_dir();
    println!(
        "TPC-H SF{sf}, {iterations} run(s) per query after one warm-up, master {}",
        session.conf().get("ember.master").unwrap_or_default()
    );
    println!(
        "{:<5} {:>9} {:>9} {:>9} {:>8} {:>10}",
        "query", "min (s)", "median", "max", "rows", "peak MiB"
    );
    let (mut total_min, mut total_median) = (0.0, 0.0);
    for q in queries {
        let text = ember_tpch::query_text(q, &queries_dir)?;
        let statements = ember_tpch::split_statements(&text);
        let can_measure = reset_peak_memory();
        run_query_file(&session, &statements)?;
        let mut times = Vec::with_capacity(iterations);
        let mut rows = 0;
        for _ in 0..iterations {
            let started = Instant::now();
            let result = run_query_file(&session, &statements)?;
            times.push(started.elapsed().as_secs_f64());
            rows = result.map(|r| r.num_rows()).unwrap_or(0);
        }
        times.sort_by(f64::total_cmp);
        let (min, median, max) = (times[0], times[times.len() / 2], times[times.len() - 1]);
        total_min += min;
        total_median += median;
        let peak = match (can_measure, peak_memory_mib()) {
            (true, Some(mib)) => format!("{mib:.0}"),
            _ => "-".to_string(),
        };
        println!("Q{q:02}   {min:>9.3} {median:>9.3} {max:>9.3} {rows:>8} {peak:>10}");
    }
    println!("total {total_min:>9.3} {total_median:>9.3} (sum of minimums, of medians)");
    Ok(ExitCode::SUCCESS)
}

fn run_queries(
    sf: f64,
    data: Option<PathBuf>,
    format: DataFormat,
    queries: Vec<usize>,
    check: bool,
    engine: EngineArgs,
) -> Result<ExitCode> {
    let answer_set = if check {
        Some(ember_tpch::answer_set_name(sf).ok_or_else(|| {
            EmberError::Config(format!(
                "no reference answers for SF{sf}; --check works at SF 0.01, 0.1 and 1"
            ))
        })?)
    } else {
        None
    };
    let (session, queries) = prepare(sf, data, format, queries, &engine)?;
    let queries_dir = ember_tpch::queries_dir();
    let mut failures = 0;
    let mut total = 0.0;
    println!(
        "{:<5} {:>10} {:>8}  {}",
        "query",
        "time (s)",
        "rows",
        if check { "check" } else { "" }
    );
    for q in queries {
        let text = ember_tpch::query_text(q, &queries_dir)?;
        let statements = ember_tpch::split_statements(&text);
        let result_index = ember_tpch::result_statement(&statements);
        let started = Instant::now();
        let mut result = None;
        let mut error = None;
        for (i, statement) in statements.iter().enumerate() {
            match session.sql(statement) {
                Ok(r) => {
                    if Some(i) == result_index {
                        result = Some(r);
                    }
                }
                Err(e) => {
                    error = Some(e.into_root());
                    break;
                }
            }
        }
        let elapsed = started.elapsed().as_secs_f64();
        total += elapsed;
        match (error, result) {
            (Some(e), _) => {
                failures += 1;
                println!("Q{q:02}   {elapsed:>10.3} {:>8}  ERROR: {e}", "-");
            }
            (None, Some(r)) => {
                let verdict = match answer_set {
                    Some(set) => {
                        let answer = ember_tpch::load_answer(&ember_tpch::answers_dir(), set, q)?;
                        let outcome = ember_tpch::check_result(q, &text, &r.batches, &answer);
                        if outcome.passed() {
                            "OK".to_string()
                        } else {
                            failures += 1;
                            format!("MISMATCH\n{outcome}")
                        }
                    }
                    None => String::new(),
                };
                println!("Q{q:02}   {elapsed:>10.3} {:>8}  {verdict}", r.num_rows());
            }
            (None, None) => {
                failures += 1;
                println!(
                    "Q{q:02}   {elapsed:>10.3} {:>8}  ERROR: the query file has no SELECT",
                    "-"
                );
            }
        }
    }
    println!("total {total:>10.3} s");
    if failures > 0 {
        eprintln!(
            "{failures} quer{} failed",
            if failures == 1 { "y" } else { "ies" }
        );
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}
