//! TPC-H through the real `ember` binary: generate, run all 22 queries, check the answers.

use std::process::Command;

const ALL_QUERIES: &str = "1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22";

fn ember() -> Command {
    Command::new(env!("CARGO_BIN_EXE_ember"))
}

fn generate(sf: &str, format: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    let status = ember()
        .args(["tpch", "gen", "--sf", sf, "--format", format, "--out"])
        .arg(dir.path())
        .status()
        .expect("ember runs");
    assert!(status.success(), "ember tpch gen failed");
    dir
}

/// Runs all 22 queries with `--check` (and `extra` arguments) and asserts that each one is
/// reported OK.
fn run_checked(data: &std::path::Path, sf: &str, format: &str, master: &str, extra: &[&str]) {
    let output = ember()
        .args([
            "tpch",
            "run",
            "--sf",
            sf,
            "--format",
            format,
            "--queries",
            ALL_QUERIES,
            "--check",
            "--master",
            master,
            "--data",
        ])
        .arg(data)
        .args(extra)
        .output()
        .expect("ember runs");
    let stdout = String::from_utf8_lossy(&output.stdout).to_string();
    assert!(
        output.status.success(),
        "TPC-H SF {sf} ({format}) check failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    for q in ALL_QUERIES.split(',') {
        let line = format!("Q{:02}", q.parse::<usize>().unwrap());
        assert!(
            stdout
                .lines()
                .any(|l| l.starts_with(&line) && l.trim_end().ends_with("OK")),
            "{line} not checked OK at SF {sf} ({format}):\n{stdout}"
        );
    }
}

#[test]
fn tpch_sf001_parquet_matches_reference_answers() {
    let data = generate("0.01", "parquet");
    run_checked(data.path(), "0.01", "parquet", "local[2]", &[]);
    // Every stage fragment through the task wire format, as executor processes will get it.
    run_checked(
        data.path(),
        "0.01",
        "parquet",
        "local[2]",
        &["--conf", "spark.sql.verifyTaskSerialization=true"],
    );
    // On three executor processes that shuffle over Arrow Flight.
    run_checked(
        data.path(),
        "0.01",
        "parquet",
        "local-cluster[3,1,1g]",
        &["--conf", "ember.scheduler.minRegisteredResourcesRatio=1.0"],
    );
}

#[test]
fn tpch_sf001_csv_matches_reference_answers() {
    let data = generate("0.01", "csv");
    // Broadcast joins off: every join of the 22 queries runs as a shuffled hash join.
    run_checked(
        data.path(),
        "0.01",
        "csv",
        "local[1]",
        &["--conf", "spark.sql.autoBroadcastJoinThreshold=-1"],
    );
}

#[test]
fn tpch_sf01_parquet_matches_reference_answers() {
    let data = generate("0.1", "parquet");
    run_checked(data.path(), "0.1", "parquet", "local[2]", &[]);
}

#[test]
fn a_wrong_answer_is_reported_and_fails() {
    // Q1 at SF 0.01 checked against the SF 0.1 answers must fail with a non-zero exit.
    let data = generate("0.01", "parquet");
    let output = ember()
        .args([
            "tpch",
            "run",
            "--sf",
            "0.1",
            "--queries",
            "1",
            "--check",
            "--data",
        ])
        .arg(data.path())
        .output()
        .expect("ember runs");
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stdout).contains("MISMATCH"));
}

#[test]
fn bench_reports_times_and_peak_memory_per_query() {
    let data = generate("0.01", "parquet");
    let output = ember()
        .args([
            "tpch",
            "bench",
            "--sf",
            "0.01",
            "--queries",
            "1,6",
            "--iterations",
            "2",
            "--master",
            "local[2]",
            "--data",
        ])
        .arg(data.path())
        .output()
        .expect("ember runs");
    let stdout = String::from_utf8_lossy(&output.stdout).to_string();
    assert!(output.status.success(), "{stdout}");
    for (query, rows) in [("Q01", "4"), ("Q06", "1")] {
        let line = stdout
            .lines()
            .find(|l| l.starts_with(query))
            .unwrap_or_else(|| panic!("no {query} line:\n{stdout}"));
        let fields: Vec<&str> = line.split_whitespace().collect();
        // query, min, median, max, rows, peak MiB
        assert_eq!(fields.len(), 6, "{line}");
        let (min, median, max): (f64, f64, f64) = (
            fields[1].parse().unwrap(),
            fields[2].parse().unwrap(),
            fields[3].parse().unwrap(),
        );
        assert!(min <= median && median <= max, "{line}");
        assert_eq!(fields[4], rows, "{line}");
    }
    assert!(stdout.contains("total"), "{stdout}");
}
