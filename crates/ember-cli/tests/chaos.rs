//! The kill-point matrix: for every point at which `ember.testing.killExecutor` can end an
//! executor process, and every TPC-H query at SF 0.01, one executor of
//! `local-cluster[3,1,1g]` dies there while the query runs; the answer must still match the
//! reference, and the driver must notice the loss (so the kill really happened).
//!
//! Random kills at random moments are the other half: `tools/chaos/run.py`.

mod common;

use std::time::{Duration, Instant};

use common::EMBER;
use ember_session::EmberSession;

/// Every kill point; `register` arms at start-up, the others per query.
const TASK_POINTS: [&str; 6] = [
    "launch",
    "fetch",
    "shuffleWrite.before",
    "shuffleWrite.during",
    "shuffleWrite.after",
    "mapOutput.registered",
];

fn session(data: &std::path::Path, kill_at_start: &str) -> EmberSession {
    let mut conf = ember_common::EmberConf::new();
    for (key, value) in [
        ("ember.master", "local-cluster[3,1,1g]"),
        ("ember.executor.binary", EMBER),
        ("ember.scheduler.minRegisteredResourcesRatio", "1.0"),
        ("ember.sql.shuffle.partitions", "4"),
        ("ember.testing.killExecutor", kill_at_start),
        // Each of the 154 kills is replaced by a fresh executor.
        ("ember.executor.maxRelaunches", "1000"),
    ] {
        conf.set(key, value).unwrap();
    }
    let session = EmberSession::new(conf).unwrap();
    let format = ember_tpch::DataFormat::Parquet;
    for table in ember_tpch::TABLES {
        session
            .sql(&ember_tpch::table_ddl(table, data, format).unwrap())
            .unwrap();
    }
    session
}

/// Runs TPC-H query `q` and checks its answer; returns a description of what went wrong.
fn run_and_check(session: &EmberSession, q: usize) -> Result<(), String> {
    let text = ember_tpch::query_text(q, &ember_tpch::queries_dir()).unwrap();
    let statements = ember_tpch::split_statements(&text);
    let result_index = ember_tpch::result_statement(&statements);
    let mut result = None;
    for (i, statement) in statements.iter().enumerate() {
        let r = session.sql(statement).map_err(|e| format!("failed: {e}"))?;
        if Some(i) == result_index {
            result = Some(r);
        }
    }
    let result = result.ok_or("no result")?;
    let answer = ember_tpch::load_answer(&ember_tpch::answers_dir(), "sf0.01", q).unwrap();
    let outcome = ember_tpch::check_result(q, &text, &result.batches, &answer);
    if outcome.passed() {
        Ok(())
    } else {
        Err(format!("wrong answer:\n{outcome}"))
    }
}

/// Waits (briefly) until the driver has lost more than `before` executors.
fn lost_one(session: &EmberSession, before: usize) -> bool {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        if session.context().executors_lost() > before {
            return true;
        }
        if Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn every_kill_point_for_every_tpch_query_gives_the_right_answer() {
    let data = common::tpch_data("0.01");
    let mut failures = Vec::new();
    let mut report = Vec::new();

    // The kill that happens at registration: a fresh cluster per query, whose first
    // executor dies as soon as the driver accepted it.
    for q in 1..=22 {
        let session = session(data.path(), "register");
        let verdict = run_and_check(&session, q);
        let killed = lost_one(&session, 0);
        report.push(format!("register Q{q:02}: killed {killed}, {verdict:?}"));
        if let Err(e) = verdict {
            failures.push(format!("register Q{q:02}: {e}"));
        }
        if !killed {
            failures.push(format!("register Q{q:02}: no executor died"));
        }
    }

    // The per-task points: one cluster per point, a new kill armed before each query. The
    // n-th candidate task dies (n varies with the query); when the query has fewer
    // candidates than that, the first one dies instead.
    for (p, point) in TASK_POINTS.iter().enumerate() {
        let session = session(data.path(), "");
        for q in 1..=22 {
            let mut killed = false;
            for nth in [(q + p) % 4, 0] {
                let before = session.context().executors_lost();
                session
                    .sql(&format!(
                        "SET ember.testing.killExecutor = {point}:{nth}/q{q}n{nth}"
                    ))
                    .unwrap();
                let verdict = run_and_check(&session, q);
                killed = lost_one(&session, before);
                report.push(format!(
                    "{point}:{nth} Q{q:02}: killed {killed}, {verdict:?}"
                ));
                if let Err(e) = verdict {
                    failures.push(format!("{point}:{nth} Q{q:02}: {e}"));
                }
                if killed || nth == 0 {
                    break;
                }
            }
            if !killed {
                failures.push(format!("{point} Q{q:02}: no executor died"));
            }
        }
    }
    println!("{}", report.join("\n"));
    assert!(
        failures.is_empty(),
        "{} failure(s):\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// The randomized half: `tools/chaos/run.py` SIGKILLs a random executor at a random moment
/// of TPC-H Q9 and Q21, a few times each; every run must end with the right answer. The
/// seed is printed; set EMBER_CHAOS_SEED to repeat a run.
#[test]
fn random_kills_at_random_moments_give_right_answers() {
    let data = common::tpch_data("0.01");
    let seed: u64 = std::env::var("EMBER_CHAOS_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_micros() as u64
                % 1_000_000
        });
    let tool = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tools/chaos/run.py");
    for query in ["9", "21"] {
        let output = std::process::Command::new("python3")
            .args([tool, "--query", query, "--sf", "0.01", "--runs", "4"])
            .args(["--master", "local-cluster[3,1,1g]", "--ember-bin", EMBER])
            .args(["--seed", &seed.to_string(), "--timeout", "60", "--data"])
            .arg(data.path())
            .output()
            .expect("python3 runs tools/chaos/run.py");
        let stdout = String::from_utf8_lossy(&output.stdout);
        println!("{stdout}");
        assert!(
            output.status.success(),
            "random kills during Q{query} (seed {seed}, EMBER_CHAOS_SEED to repeat):\n{stdout}\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

/// With no executor left (none may be relaunched), queued tasks fail after
/// ember.network.timeout and the query ends with an error that says why, instead of
/// waiting forever.
#[test]
fn a_query_with_no_executor_left_fails_instead_of_waiting_forever() {
    let mut conf = ember_common::EmberConf::new();
    for (key, value) in [
        ("ember.master", "local-cluster[1,1,512]"),
        ("ember.executor.binary", EMBER),
        ("ember.executor.maxRelaunches", "0"),
        ("ember.network.timeout", "2s"),
        ("ember.scheduler.minRegisteredResourcesRatio", "1.0"),
    ] {
        conf.set(key, value).unwrap();
    }
    let session = EmberSession::new(conf).unwrap();
    // The only executor dies as its first task arrives, and none replaces it.
    session
        .sql("SET ember.testing.killExecutor = launch")
        .unwrap();
    let started = Instant::now();
    let error = session
        .sql("SELECT count(*) FROM VALUES (1), (2) AS t(x) GROUP BY x")
        .unwrap_err()
        .to_string();
    assert!(
        error.contains(
            "no executor has been registered with local-cluster[1,1,512] for more than 2s"
        ),
        "{error}"
    );
    assert!(started.elapsed() < Duration::from_secs(60), "{error}");
}

/// An executor killed while it starts, before it registers (where `tools/chaos/run.py` once
/// landed a SIGKILL), is replaced: the session starts and answers. The executor binary is a
/// script whose first run kills itself with SIGKILL; later runs are the real `ember`.
#[cfg(unix)]
#[test]
fn an_executor_killed_before_registering_is_replaced() {
    use std::os::unix::fs::PermissionsExt;

    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("killed-once");
    let script = dir.path().join("executor.sh");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\nif [ ! -e '{marker}' ]; then touch '{marker}'; kill -9 $$; fi\nexec '{EMBER}' \"$@\"\n",
            marker = marker.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    let mut conf = ember_common::EmberConf::new();
    for (key, value) in [
        ("ember.master", "local-cluster[2,1,512]"),
        ("ember.executor.binary", script.to_str().unwrap()),
        ("ember.scheduler.minRegisteredResourcesRatio", "1.0"),
    ] {
        conf.set(key, value).unwrap();
    }
    let session = EmberSession::new(conf).expect("the killed executor is replaced");
    assert!(marker.exists(), "the first executor process killed itself");
    let result = session
        .sql("SELECT count(*) FROM VALUES (1), (2), (3) AS t(x)")
        .unwrap();
    let count = result.batches[0]
        .column(0)
        .as_any()
        .downcast_ref::<arrow::array::Int64Array>()
        .unwrap()
        .value(0);
    assert_eq!(count, 3);
    assert_eq!(session.context().executors().len(), 2);
}
