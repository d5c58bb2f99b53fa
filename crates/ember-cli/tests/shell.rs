//! The `ember` shell as a user drives it: statements over several lines, errors that point at
//! the offending token, and a shell that keeps going after an error.

mod common;

use std::io::Write;
use std::process::{Command, Stdio};

fn ember() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_ember"));
    // Keep the test's history away from the user's.
    command.env("HOME", std::env::temp_dir());
    command
}

#[test]
fn the_shell_runs_multi_line_statements_and_survives_errors() {
    let mut child = ember()
        .args(["--master", "local[2]"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("ember starts");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(b"SELECT 1 AS one;\nSELECT nosuch\n  FROM (VALUES (1)) t(x);\nSELECT\n  40 + 2 AS answer;\nexit;\n")
        .expect("input written");
    let output = child.wait_with_output().expect("ember exits");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("| one |") && stdout.contains("1 row in"),
        "{stdout}"
    );
    assert!(
        stdout.contains("| answer |") && stdout.contains("| 42 "),
        "{stdout}"
    );
    assert!(
        stderr.contains("Column 'nosuch' cannot be resolved"),
        "{stderr}"
    );
    assert!(
        stderr.contains("line 1, column 8") && stderr.contains("       ^"),
        "{stderr}"
    );
}

#[test]
fn execute_fails_with_a_caret_under_the_syntax_error() {
    let output = ember()
        .args(["-e", "SELECT 1,\n  FROM x"])
        .output()
        .expect("ember runs");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("Syntax error at line 2"), "{stderr}");
    assert!(stderr.contains("  FROM x\n"), "{stderr}");
}

#[test]
fn file_scripts_run_every_statement() {
    let dir = tempfile::tempdir().expect("temp dir");
    let csv = dir.path().join("t.csv");
    std::fs::write(&csv, "a,b\n1,x\n2,y\n3,x\n").expect("csv written");
    let script = dir.path().join("s.sql");
    std::fs::write(
        &script,
        format!(
            "CREATE TABLE t USING csv OPTIONS (header 'true', inferSchema 'true') LOCATION '{}';\nSELECT b, sum(a) AS s FROM t GROUP BY b ORDER BY b;\n",
            csv.display()
        ),
    )
    .expect("script written");
    let output = ember().arg("-f").arg(&script).output().expect("ember runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        stdout.contains("| x | 4 |") && stdout.contains("| y | 2 |"),
        "{stdout}"
    );
}

#[test]
fn a_missing_path_is_named() {
    let output = ember()
        .args(["-e", "SELECT * FROM parquet.`/no/such/place.parquet`"])
        .output()
        .expect("ember runs");
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("/no/such/place.parquet"));
}

/// A panic inside a statement is an internal error naming the statement: `ember -e` exits
/// with an error (not an abort, not an empty result) and the interactive shell keeps going.
#[test]
fn a_panic_is_an_internal_error_and_the_shell_keeps_going() {
    let output = ember()
        .args([
            "--master",
            "local[1]",
            "-e",
            "SET ember.testing.panicAt = planning; SELECT 42 AS answer",
        ])
        .output()
        .expect("ember runs");
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("Internal error") && stderr.contains("SELECT 42 AS answer"),
        "{stderr}"
    );

    let mut child = ember()
        .args(["--master", "local[1]"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("ember starts");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(
            b"SET ember.testing.panicAt = planning;\nSELECT 1 AS one;\nRESET ember.testing.panicAt;\nSELECT 2 AS two;\n",
        )
        .unwrap();
    let output = child.wait_with_output().expect("ember exits");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("Internal error"), "{stderr}");
    assert!(
        stdout.contains("two"),
        "the shell stopped after the panic: {stdout}"
    );
}

/// Deep and long expressions plan and run without overflowing any stack: a 3,000-term sum,
/// a 100,000-term one, a 3,000-term AND chain; deeper nesting than the limits is a clear error.
#[test]
fn deep_expressions_run_or_fail_clearly() {
    // Through a file: a 100,000-term statement is too long for one command-line argument.
    let run = |sql: String| {
        let file = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(file.path(), sql).unwrap();
        ember()
            .args(["--master", "local[1]", "-f"])
            .arg(file.path())
            .output()
            .expect("ember runs")
    };
    for (sql, expected) in [
        (
            format!("SELECT {} AS s", vec!["1"; 3000].join(" + ")),
            "3000",
        ),
        (format!("SELECT {}", vec!["1"; 100_000].join("+")), "100000"),
        (
            format!(
                "SELECT count(*) AS n FROM VALUES (1), (2) AS t(a) WHERE {}",
                vec!["a > 0"; 3000].join(" AND ")
            ),
            "| 2 ",
        ),
    ] {
        let output = run(sql);
        assert!(output.status.success(), "{output:?}");
        assert!(String::from_utf8_lossy(&output.stdout).contains(expected));
    }
    for (sql, message) in [
        (
            format!("SELECT {}1{}", "(".repeat(100_000), ")".repeat(100_000)),
            "nests more than 2000 levels",
        ),
        (
            format!("SELECT {}", vec!["'a'"; 10_000].join(" = ")),
            "nests more than 4096 levels",
        ),
    ] {
        let output = run(sql);
        assert_eq!(output.status.code(), Some(1), "{output:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(message), "{stderr}");
        assert!(stderr.len() < 4_000, "{} bytes", stderr.len());
    }
}

/// Ctrl-C (SIGINT) while a long query runs cancels it, and the shell goes on with the next
/// statement instead of exiting; the history is saved after every statement.
#[test]
fn ctrl_c_cancels_the_running_statement_and_the_shell_goes_on() {
    let data = common::tpch_data("0.01");
    let home = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_ember"))
        .env("HOME", home.path())
        .args(["--master", "local[2]"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("ember starts");
    let mut stdin = child.stdin.take().unwrap();
    writeln!(stdin, "{}", common::long_query(data.path())).unwrap();
    stdin.flush().unwrap();
    std::thread::sleep(std::time::Duration::from_secs(3));
    let history = home.path().join(".ember_history");
    let saved = std::fs::read_to_string(&history).unwrap_or_default();
    assert!(
        saved.contains("l_linestatus"),
        "the history holds the running statement: {saved:?}"
    );
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    writeln!(stdin, "SELECT 40 + 2 AS answer;\nexit;").unwrap();
    drop(stdin);
    let output = child.wait_with_output().expect("ember exits");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stdout}\n{stderr}");
    assert!(stderr.contains("cancelled"), "{stderr}");
    assert!(
        stdout.contains("| 42 "),
        "the shell went on: {stdout}\n{stderr}"
    );
}
