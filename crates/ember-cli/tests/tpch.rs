//! TPC-H at SF 0.01 through the real `ember` binary: generate, run, check the answers.

use std::process::Command;

/// The queries issue 2 asks to be right; the rest are checked as the engine grows.
const CHECKED_QUERIES: &str = "1,3,5,6,7,10,12,13,14";

fn ember() -> Command {
    Command::new(env!("CARGO_BIN_EXE_ember"))
}

fn generate(format: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    let status = ember()
        .args(["tpch", "gen", "--sf", "0.01", "--format", format, "--out"])
        .arg(dir.path())
        .status()
        .expect("ember runs");
    assert!(status.success(), "ember tpch gen failed");
    dir
}

fn run_checked(data: &std::path::Path, format: &str, master: &str) -> String {
    let output = ember()
        .args([
            "tpch",
            "run",
            "--sf",
            "0.01",
            "--format",
            format,
            "--queries",
            CHECKED_QUERIES,
            "--check",
            "--master",
            master,
            "--data",
        ])
        .arg(data)
        .output()
        .expect("ember runs");
    let stdout = String::from_utf8_lossy(&output.stdout).to_string();
    assert!(
        output.status.success(),
        "TPC-H check failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

#[test]
fn tpch_sf001_parquet_matches_reference_answers() {
    let data = generate("parquet");
    let stdout = run_checked(data.path(), "parquet", "local[2]");
    for q in CHECKED_QUERIES.split(',') {
        let line = format!("Q{:02}", q.parse::<usize>().unwrap());
        assert!(
            stdout
                .lines()
                .any(|l| l.starts_with(&line) && l.trim_end().ends_with("OK")),
            "{line} not checked OK:\n{stdout}"
        );
    }
}

#[test]
fn tpch_sf001_csv_matches_reference_answers() {
    let data = generate("csv");
    let stdout = run_checked(data.path(), "csv", "local[1]");
    assert_eq!(
        stdout
            .lines()
            .filter(|l| l.trim_end().ends_with("OK"))
            .count(),
        CHECKED_QUERIES.split(',').count(),
        "{stdout}"
    );
}

#[test]
fn a_wrong_answer_is_reported_and_fails() {
    // Q1 at SF 0.01 checked against the SF 0.1 answers must fail with a non-zero exit.
    let data = generate("parquet");
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
