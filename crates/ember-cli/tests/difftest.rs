//! Differential testing against DuckDB: `tools/difftest/run.py` generates random queries whose
//! meaning Spark and DuckDB share, runs each in `ember server` (over Flight SQL) and in DuckDB,
//! and fails on any difference that is not a documented one (`tools/difftest/README.md`).
//! This is the CI slice, a fixed seed and count; long runs are
//! `run.py --seed S --count 10000`. `tools/python/venv.sh` installs DuckDB and the Flight SQL
//! client into `target/python-venv` the first time.

mod common;

use std::process::Command;

#[test]
fn ember_agrees_with_duckdb_on_random_queries() {
    let root = common::repo_root();
    let python = common::python();
    let workdir = tempfile::tempdir().expect("temp dir");
    let output = Command::new(&python)
        .arg(root.join("tools/difftest/run.py"))
        .args(["--seed", "1", "--count", "300", "--keep-going"])
        .arg("--workdir")
        .arg(workdir.path())
        .arg("--ember-bin")
        .arg(env!("CARGO_BIN_EXE_ember"))
        .current_dir(&root)
        .output()
        .expect("run.py runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    println!("{stdout}");
    assert!(
        output.status.success(),
        "Ember and DuckDB disagree (reproduce with `run.py --seed 1 --only N`):\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        stdout.contains("300"),
        "run.py should report 300 queries:\n{stdout}"
    );
}
