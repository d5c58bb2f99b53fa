//! The Flight SQL endpoint through real clients: the Python ADBC Flight SQL driver runs
//! `tests/python` (pytest) against `ember server`. `tools/python/venv.sh` installs the client
//! packages into `target/python-venv` the first time (python3 with pip and a reachable PyPI
//! are needed; without them this test fails and says so).

mod common;

use std::process::Command;

#[test]
fn python_adbc_client_suite() {
    let root = common::repo_root();
    let python = common::python();
    let data = common::tpch_data("0.01");

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
