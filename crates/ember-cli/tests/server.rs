//! `ember server` and `ember sql --connect`: the shell as a Flight SQL client of a server.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

const PASSWORD: &str = "open sesame";

struct Server {
    child: Child,
    address: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn ember() -> Command {
    Command::new(env!("CARGO_BIN_EXE_ember"))
}

fn server() -> Server {
    let mut child = ember()
        .args([
            "server",
            "--host",
            "127.0.0.1",
            "--port",
            "0",
            "--master",
            "local[1]",
        ])
        .env("EMBER_SERVER_PASSWORD", PASSWORD)
        .stderr(Stdio::piped())
        .spawn()
        .expect("ember server starts");
    let stderr = child.stderr.take().unwrap();
    let (sender, receiver) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = sender.send(line);
        }
    });
    while let Ok(line) = receiver.recv_timeout(Duration::from_secs(60)) {
        if let Some(rest) = line.split("listening on ").nth(1) {
            let address = rest.split_whitespace().next().unwrap().to_string();
            return Server { child, address };
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("ember server did not say where it listens within 60 s");
}

fn connect(server: &Server, password: &str, sql: &str) -> std::process::Output {
    ember()
        .args([
            "sql",
            "--connect",
            &server.address,
            "--user",
            "ember",
            "-e",
            sql,
        ])
        .env("EMBER_PASSWORD", password)
        .output()
        .expect("ember sql runs")
}

#[test]
fn the_shell_runs_statements_on_a_server() {
    let server = server();
    let out = connect(
        &server,
        PASSWORD,
        "CREATE TEMPORARY VIEW v AS SELECT * FROM VALUES (1), (2), (3) AS t(x);\nSELECT sum(x) AS total FROM v;",
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("OK ("), "{stdout}");
    assert!(
        stdout.contains("total") && stdout.contains("| 6 "),
        "{stdout}"
    );
    assert!(stdout.contains("1 row in"), "{stdout}");

    // Errors point into the statement, as in a local shell.
    let out = connect(&server, PASSWORD, "SELECT\n  nope FROM VALUES (1) AS t(x)");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("nope") && stderr.contains("line 2"),
        "{stderr}"
    );

    let out = connect(&server, "not the password", "SELECT 1");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("refused the login"), "{stderr}");
}

#[test]
fn a_server_without_a_password_does_not_start() {
    let out = ember()
        .args([
            "server",
            "--host",
            "127.0.0.1",
            "--port",
            "0",
            "--master",
            "local[1]",
        ])
        .env_remove("EMBER_SERVER_PASSWORD")
        .output()
        .expect("ember server runs");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("EMBER_SERVER_PASSWORD") && stderr.contains("ember.server.auth=none"),
        "{stderr}"
    );
}

/// Deep expressions, huge bad statements and panics each get an answer or a clear error over
/// Flight SQL, and the server keeps serving: a 3,000-term sum and AND chain run, a 100,000-term
/// sum too, a syntax error in a 20 KB statement quotes only a window of it (the message fits in
/// gRPC metadata), and a panic while planning reaches the client as an internal error naming
/// the statement, never as an empty result.
#[test]
fn deep_huge_and_panicking_statements_answer_over_flight_sql() {
    let server = server();
    let sum = format!("SELECT {} AS s", vec!["1"; 3000].join(" + "));
    let out = connect(&server, PASSWORD, &sum);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("3000"));

    let and = format!(
        "SELECT count(*) AS n FROM VALUES (1), (2) AS t(a) WHERE {}",
        vec!["a > 0"; 3000].join(" AND ")
    );
    let out = connect(&server, PASSWORD, &and);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("| 2 "));

    // Too long for one command-line argument: through a file.
    let huge = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(
        huge.path(),
        format!("SELECT {} AS s", vec!["1"; 100_000].join("+")),
    )
    .unwrap();
    let out = ember()
        .args(["sql", "--connect", &server.address, "--user", "ember", "-f"])
        .arg(huge.path())
        .env("EMBER_PASSWORD", PASSWORD)
        .output()
        .expect("ember sql runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("100000"));

    let bad = format!("SELECT {} FROM", vec!["1"; 10_000].join(" + "));
    let out = connect(&server, PASSWORD, &bad);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("Syntax error"), "{stderr}");
    assert!(!stderr.contains("RESOURCE_EXHAUSTED"), "{stderr}");
    assert!(stderr.len() < 4_000, "{} bytes: {stderr}", stderr.len());

    let out = connect(
        &server,
        PASSWORD,
        "SET ember.testing.panicAt = planning; SELECT 42 AS answer",
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success(),
        "a panic must not look like an answer"
    );
    assert!(
        stderr.contains("Internal error") && stderr.contains("SELECT 42 AS answer"),
        "{stderr}"
    );
    assert!(!String::from_utf8_lossy(&out.stdout).contains("answer"));

    let out = connect(&server, PASSWORD, "SELECT 7 AS still_serving");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Ctrl-C in `ember sql --connect` while a long query runs on the server: the shell drops
/// the call, the server cancels the query, and the next statement answers.
#[test]
fn ctrl_c_in_a_connected_shell_cancels_the_query_on_the_server() {
    use std::io::Write;
    let data = common::tpch_data("0.01");
    let server = server();
    let home = tempfile::tempdir().unwrap();
    let mut shell = ember()
        .args(["sql", "--connect", &server.address, "--user", "ember"])
        .env("EMBER_PASSWORD", PASSWORD)
        .env("HOME", home.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = shell.stdin.take().unwrap();
    writeln!(stdin, "{}", common::long_query(data.path())).unwrap();
    stdin.flush().unwrap();
    std::thread::sleep(Duration::from_secs(3));
    assert!(Command::new("kill")
        .args(["-INT", &shell.id().to_string()])
        .status()
        .unwrap()
        .success());
    writeln!(stdin, "SELECT 40 + 2 AS answer;\nexit;").unwrap();
    drop(stdin);
    let output = shell.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stdout}\n{stderr}");
    assert!(stderr.contains("cancelled"), "{stderr}");
    assert!(
        stdout.contains("| 42 "),
        "the shell went on: {stdout}\n{stderr}"
    );
}
