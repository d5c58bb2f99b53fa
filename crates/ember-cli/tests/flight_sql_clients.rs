//! The Flight SQL endpoint through real clients: the Python ADBC Flight SQL driver runs
//! `tests/python` (pytest) against `ember server`. `tools/python/venv.sh` installs the client
//! packages into `target/python-venv` the first time (python3 with pip and a reachable PyPI
//! are needed; without them this test fails and says so).

use std::path::PathBuf;
use std::process::Command;

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("the repository root")
}

#[test]
fn python_adbc_client_suite() {
    let root = repo_root();
    let venv = Command::new("bash")
        .arg(root.join("tools/python/venv.sh"))
        .output()
        .expect("bash runs tools/python/venv.sh");
    assert!(
        venv.status.success(),
        "setting up the Python client environment failed (python3 with venv and pip, and PyPI, are needed):\n{}",
        String::from_utf8_lossy(&venv.stderr)
    );
    let python = String::from_utf8_lossy(&venv.stdout).trim().to_string();

    let data = tempfile::tempdir().expect("temp dir");
    let generated = Command::new(env!("CARGO_BIN_EXE_ember"))
        .args([
            "tpch", "gen", "--sf", "0.01", "--format", "parquet", "--out",
        ])
        .arg(data.path())
        .status()
        .expect("ember runs");
    assert!(generated.success(), "ember tpch gen failed");

    let output = Command::new(&python)
        .args([
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "tests/python",
        ])
        .current_dir(&root)
        .env("EMBER_BIN", env!("CARGO_BIN_EXE_ember"))
        .env("EMBER_TPCH_DATA", data.path())
        .output()
        .expect("pytest runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    println!("{stdout}");
    assert!(
        output.status.success(),
        "the Python Flight SQL client suite failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("passed"), "{stdout}");
    assert!(
        !stdout.contains("skipped"),
        "no client test may be skipped:\n{stdout}"
    );
}
