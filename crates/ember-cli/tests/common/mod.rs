//! What several of ember-cli's integration tests need: the repository, the project's Python
//! environment, TPC-H data from this build's `ember`.
#![allow(dead_code)] // each test file uses part of it

use std::path::PathBuf;
use std::process::{Command, Stdio};

pub const EMBER: &str = env!("CARGO_BIN_EXE_ember");

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("the repository root")
}

/// The Python of `target/python-venv`, set up by `tools/python/venv.sh` the first time
/// (python3 with venv and pip, and PyPI, are needed; the test fails saying so otherwise).
pub fn python() -> String {
    let venv = Command::new("bash")
        .arg(repo_root().join("tools/python/venv.sh"))
        .output()
        .expect("bash runs tools/python/venv.sh");
    assert!(
        venv.status.success(),
        "setting up the Python environment failed (python3 with venv and pip, and PyPI, are needed):\n{}",
        String::from_utf8_lossy(&venv.stderr)
    );
    String::from_utf8_lossy(&venv.stdout).trim().to_string()
}

/// TPC-H Parquet at scale factor `sf` in a fresh folder.
pub fn tpch_data(sf: &str) -> tempfile::TempDir {
    let data = tempfile::tempdir().expect("temp dir");
    let status = Command::new(EMBER)
        .args(["tpch", "gen", "--sf", sf, "--format", "parquet", "--out"])
        .arg(data.path())
        .stdout(Stdio::null())
        .status()
        .expect("ember runs");
    assert!(status.success(), "ember tpch gen --sf {sf} failed");
    data
}

/// A query over TPC-H SF 0.01's lineitem that runs for far longer than a test waits (about
/// 1.8 billion joined rows), with the statement that registers the table first.
pub fn long_query(data: &std::path::Path) -> String {
    format!(
        "CREATE TABLE lineitem USING parquet LOCATION '{}/lineitem';\n\
         SELECT count(*) FROM lineitem a JOIN lineitem b ON a.l_linestatus = b.l_linestatus;",
        data.display()
    )
}
