//! Cluster mode with real executor processes (`local-cluster[E,C,M]` starts them from the
//! `ember` binary): the golden suite gives the same answers as local mode, a killed executor
//! costs only the map outputs it held, and a task that always fails ends the query with its
//! stage, task and cause.

mod common;
#[path = "../../ember-session/tests/golden/mod.rs"]
mod golden;

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const EMBER: &str = env!("CARGO_BIN_EXE_ember");

fn ember() -> Command {
    Command::new(EMBER)
}

/// TPC-H SF 0.1 Parquet, generated once for the tests of this file.
fn sf01() -> &'static std::path::Path {
    static DATA: std::sync::OnceLock<tempfile::TempDir> = std::sync::OnceLock::new();
    DATA.get_or_init(|| common::tpch_data("0.1")).path()
}

#[test]
fn golden_sql_files_in_local_cluster() {
    golden::check_golden_files(
        false,
        &[
            ("ember.master", "local-cluster[3,1,1g]"),
            ("ember.executor.binary", EMBER),
            ("ember.scheduler.minRegisteredResourcesRatio", "1.0"),
        ],
        &[],
    );
}

#[test]
fn a_task_that_always_fails_ends_the_query_after_max_failures() {
    let started = Instant::now();
    let output = ember()
        .args([
            "sql",
            "--master",
            "local-cluster[2,1,512]",
            "--conf",
            "ember.task.maxFailures=3",
            "-e",
            "SELECT id, 10 / (id - id) FROM VALUES (1), (2), (3) AS t(id)",
        ])
        .output()
        .expect("ember runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "the query should fail:\n{stderr}");
    let re = regex::Regex::new(
        r"task \d+ in stage \d+ failed 3 times; most recent failure: .*DIVIDE_BY_ZERO",
    )
    .unwrap();
    assert!(re.is_match(&stderr), "unexpected error:\n{stderr}");
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "took {:?}",
        started.elapsed()
    );
}

/// Runs TPC-H Q9 at SF 0.1 on three executor processes and SIGKILLs one as soon as the first
/// map stage has finished (so it holds map outputs a later stage needs). The answer must still
/// match the reference, and only the lost map tasks may run again.
#[test]
fn killing_an_executor_mid_query_reruns_only_its_map_tasks() {
    let mut child = ember()
        .args([
            "tpch",
            "run",
            "--sf",
            "0.1",
            "--queries",
            "9",
            "--check",
            "--master",
            "local-cluster[3,1,1g]",
            "--conf",
            "ember.scheduler.minRegisteredResourcesRatio=1.0",
            "--conf",
            "ember.sql.shuffle.partitions=6",
            "--data",
        ])
        .arg(sf01())
        .env("RUST_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let mut log = Vec::new();
    let mut pids: HashMap<String, u32> = HashMap::new();
    let mut ran_on: HashMap<String, Vec<String>> = HashMap::new();
    let mut victim: Option<(String, String)> = None;
    let registered = regex::Regex::new(r"Registered executor (\d+) at \S+ \(pid (\d+)\)").unwrap();
    let task_ran = regex::Regex::new(
        r"Task \d+ \(stage (\d+) partition \d+ attempt \d+\) finished on executor (\d+)",
    )
    .unwrap();
    let stage_done = regex::Regex::new(r"ShuffleMapStage (\d+) .* finished in ").unwrap();
    for line in BufReader::new(stderr).lines() {
        let line = line.unwrap();
        if let Some(c) = registered.captures(&line) {
            pids.insert(c[1].to_string(), c[2].parse().unwrap());
        }
        if let Some(c) = task_ran.captures(&line) {
            ran_on
                .entry(c[1].to_string())
                .or_default()
                .push(c[2].to_string());
        }
        if victim.is_none() {
            if let Some(c) = stage_done.captures(&line) {
                // An executor that holds map outputs of the stage that just finished.
                if let Some(executor) = ran_on.get(&c[1]).and_then(|e| e.first()) {
                    let status = Command::new("kill")
                        .args(["-KILL", &pids[executor].to_string()])
                        .status()
                        .unwrap();
                    assert!(status.success());
                    victim = Some((executor.clone(), c[1].to_string()));
                }
            }
        }
        log.push(line);
    }
    let output = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let log = log.join("\n");
    let (lost_id, finished_stage) =
        victim.unwrap_or_else(|| panic!("no map stage finished:\n{log}"));
    assert!(output.status.success(), "{stdout}\n{log}");
    assert!(
        stdout
            .lines()
            .any(|l| l.starts_with("Q09") && l.trim_end().ends_with("OK")),
        "Q09 not OK after losing an executor:\n{stdout}\n{log}"
    );
    assert!(
        log.contains(&format!("Lost executor {lost_id}")),
        "the driver did not notice the lost executor:\n{log}"
    );
    // The stage that had finished when its executor died runs again only for the outputs it
    // lost. (The stage that was reading them when the fetch failed reruns its unfinished
    // tasks, as in Spark.)
    let submit = regex::Regex::new(
        r"Submitting ShuffleMapStage (\d+) .*?\(attempt (\d+)\): (\d+) task\(s\)",
    )
    .unwrap();
    let submissions: Vec<(usize, usize)> = submit
        .captures_iter(&log)
        .filter(|c| c[1] == finished_stage)
        .map(|c| (c[2].parse().unwrap(), c[3].parse().unwrap()))
        .collect();
    let all = submissions
        .iter()
        .find(|(attempt, _)| *attempt == 0)
        .map(|(_, tasks)| *tasks)
        .expect("the first submission is logged");
    let reruns: Vec<usize> = submissions
        .iter()
        .filter(|(attempt, _)| *attempt > 0)
        .map(|(_, tasks)| *tasks)
        .collect();
    assert!(
        !reruns.is_empty(),
        "stage {finished_stage} lost outputs with executor {lost_id} but never ran again:\n{log}"
    );
    assert!(
        reruns.iter().all(|&tasks| tasks < all),
        "stage {finished_stage} reran {reruns:?} of its {all} tasks, not only the lost ones:\n{log}"
    );
}

/// An in-process driver of `master` whose executors are this build's `ember`, started once
/// all of them registered; `settings` on top.
fn cluster_session(master: &str, settings: &[(&str, &str)]) -> ember_session::EmberSession {
    let mut conf = ember_common::EmberConf::new();
    for (key, value) in [
        ("ember.master", master),
        ("ember.executor.binary", EMBER),
        ("ember.scheduler.minRegisteredResourcesRatio", "1.0"),
    ]
    .iter()
    .chain(settings)
    {
        conf.set(key, value).unwrap();
    }
    ember_session::EmberSession::new(conf).unwrap()
}

fn rows(session: &ember_session::EmberSession, sql: &str) -> String {
    let result = session.sql(sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
    arrow::util::pretty::pretty_format_batches(&result.batches)
        .unwrap()
        .to_string()
}

/// A cached table lives in the executors: it is read with its files gone, and the partitions
/// of a killed executor are recomputed from lineage (the files) by the next query.
#[test]
fn cached_table_is_served_by_executors_and_survives_losing_one() {
    let dir = tempfile::tempdir().unwrap();
    let table = dir.path().join("lineitem");
    std::fs::create_dir(&table).unwrap();
    for file in std::fs::read_dir(sf01().join("lineitem")).unwrap() {
        let file = file.unwrap().path();
        std::fs::copy(&file, table.join(file.file_name().unwrap())).unwrap();
    }
    let session = cluster_session(
        "local-cluster[3,1,1g]",
        &[("ember.sql.files.maxPartitionBytes", "4m")],
    );
    session
        .sql(&format!(
            "CREATE TABLE lineitem USING parquet LOCATION '{}'",
            table.display()
        ))
        .unwrap();
    let query = "SELECT l_returnflag, count(*), sum(l_quantity), max(l_comment) \
                 FROM lineitem GROUP BY l_returnflag ORDER BY 1";
    let expected = rows(&session, query);

    session.sql("CACHE TABLE lineitem").unwrap();
    let (_, status) = session.cache_status("lineitem").unwrap();
    let partitions = status.memory_partitions;
    assert!(partitions >= 3, "{status:?}");

    // Without its files, the table is still read: from the executors' block managers.
    let moved = dir.path().join("moved");
    std::fs::rename(&table, &moved).unwrap();
    assert_eq!(rows(&session, query), expected);
    std::fs::rename(&moved, &table).unwrap();

    let executors = session.context().executors();
    assert_eq!(executors.len(), 3, "{executors:?}");
    let victim = executors
        .iter()
        .find(|e| e.cached_blocks > 0)
        .cloned()
        .unwrap_or_else(|| panic!("no executor holds a cached partition: {executors:?}"));
    let status = Command::new("kill")
        .args(["-KILL", &victim.pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success());

    // The lost partitions are recomputed from the files, and cached again elsewhere.
    assert_eq!(rows(&session, query), expected);
    let executors = session.context().executors();
    assert!(
        executors.iter().all(|e| e.id != victim.id),
        "executor {} should be gone: {executors:?}",
        victim.id
    );
    let (_, status) = session.cache_status("lineitem").unwrap();
    assert_eq!(status.memory_partitions, partitions, "{status:?}");
    session.sql("UNCACHE TABLE lineitem").unwrap();
    assert!(session.cache_status("lineitem").is_none());
    let executors = session.context().executors();
    assert!(
        executors.iter().all(|e| e.cached_blocks == 0),
        "{executors:?}"
    );
}

/// `ember executor` processes started on their own join a driver listening on
/// `ember://HOST:PORT`, run its query, and stop when the driver stops.
#[test]
fn executors_started_separately_join_an_ember_driver() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let address = format!("127.0.0.1:{port}");
    let driver = ember()
        .args([
            "sql",
            "--master",
            &format!("ember://{address}"),
            "--conf",
            "ember.executor.instances=2",
            "--conf",
            "ember.scheduler.minRegisteredResourcesRatio=1.0",
            "-e",
            "SELECT k % 3 AS g, count(*) AS n FROM VALUES (1), (2), (3), (4), (5) AS t(k) \
             GROUP BY k % 3 ORDER BY g",
        ])
        .env("EMBER_AUTHENTICATE_SECRET", "the-cluster-secret")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // One executor with the wrong secret is refused; the two with the right one do the work.
    let impostor = ember()
        .args([
            "executor", "--driver", &address, "--cores", "1", "--memory", "512m",
        ])
        .env("EMBER_AUTHENTICATE_SECRET", "a-guess")
        .output()
        .unwrap();
    let impostor_log = String::from_utf8_lossy(&impostor.stderr);
    assert!(!impostor.status.success(), "{impostor_log}");
    assert!(
        impostor_log.contains("does not match") && impostor_log.contains("shared secret"),
        "{impostor_log}"
    );
    let mut executors: Vec<std::process::Child> = (0..2)
        .map(|_| {
            ember()
                .args([
                    "executor", "--driver", &address, "--cores", "1", "--memory", "512m",
                ])
                .env("EMBER_AUTHENTICATE_SECRET", "the-cluster-secret")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap()
        })
        .collect();
    let output = driver.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    for expected in ["| 0 | 1 |", "| 1 | 2 |", "| 2 | 2 |"] {
        assert!(stdout.contains(expected), "{expected} missing:\n{stdout}");
    }
    let deadline = Instant::now() + Duration::from_secs(15);
    for executor in &mut executors {
        while executor.try_wait().unwrap().is_none() {
            if Instant::now() > deadline {
                let _ = executor.kill();
                panic!("an executor outlived its driver");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// An executor whose heartbeats stop (the process is frozen with SIGSTOP) is removed after
/// ember.network.timeout, and queries go on on the others.
#[test]
fn an_executor_without_heartbeats_is_removed() {
    let session = cluster_session(
        "local-cluster[2,1,512]",
        &[
            ("ember.executor.heartbeatInterval", "500ms"),
            ("ember.network.timeout", "5s"),
        ],
    );
    let query = "SELECT count(*) FROM VALUES (1), (2), (3) AS t(k)";
    let expected = rows(&session, query);
    let frozen = session.context().executors()[0].clone();
    assert!(Command::new("kill")
        .args(["-STOP", &frozen.pid.to_string()])
        .status()
        .unwrap()
        .success());
    let deadline = Instant::now() + Duration::from_secs(20);
    while session
        .context()
        .executors()
        .iter()
        .any(|e| e.id == frozen.id)
    {
        assert!(
            Instant::now() < deadline,
            "the frozen executor was never removed"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(rows(&session, query), expected);
    // The driver kills an executor it removed; make sure of it either way.
    let _ = Command::new("kill")
        .args(["-KILL", &frozen.pid.to_string()])
        .status();
}

/// With ember.speculation, a task stuck on a frozen executor gets a copy on another one and
/// the query finishes with the same answer.
#[test]
fn a_straggler_gets_a_speculative_copy() {
    let session = cluster_session(
        "local-cluster[2,1,512]",
        &[
            ("ember.sql.files.maxPartitionBytes", "4m"),
            ("ember.speculation", "true"),
        ],
    );
    session
        .sql(&format!(
            "CREATE TABLE lineitem USING parquet LOCATION '{}'",
            sf01().join("lineitem").display()
        ))
        .unwrap();
    // One stage of several tasks (a scan and a filter), so that the other executor runs the
    // rest of the stage and then the copy of the task stuck on the frozen one.
    let plain = "SELECT l_orderkey, l_linenumber FROM lineitem \
                 WHERE l_quantity >= 50 AND l_discount = 0.1";
    let expected = rows(&session, plain);
    let frozen = session.context().executors()[0].clone();
    assert!(Command::new("kill")
        .args(["-STOP", &frozen.pid.to_string()])
        .status()
        .unwrap()
        .success());
    let started = Instant::now();
    let answer = rows(&session, plain);
    let elapsed = started.elapsed();
    let _ = Command::new("kill")
        .args(["-KILL", &frozen.pid.to_string()])
        .status();
    assert_eq!(answer, expected);
    assert!(elapsed < Duration::from_secs(30), "took {elapsed:?}");
}

/// Cluster authentication: a driver that executors join refuses to start without a secret
/// (unless told the network is trusted), and a local-cluster executor refuses shuffle fetches
/// and task launches from anyone without the secret the driver made up.
#[test]
fn cluster_calls_without_the_shared_secret_are_refused() {
    let refused = ember()
        .args(["sql", "--master", "ember://127.0.0.1:0", "-e", "SELECT 1"])
        .env_remove("EMBER_AUTHENTICATE_SECRET")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(!refused.status.success());
    assert!(
        stderr.contains("ember.authenticate.secret") && stderr.contains("ember.authenticate=false"),
        "{stderr}"
    );

    let session = cluster_session("local-cluster[1,1,512]", &[]);
    assert!(rows(&session, "SELECT 40 + 2 AS x").contains("42"));
    let executor = session.context().executors().remove(0);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async move {
        let channel =
            tonic::transport::Endpoint::from_shared(format!("http://{}", executor.address))
                .unwrap()
                .connect()
                .await
                .unwrap();
        let mut client = arrow_flight::flight_service_client::FlightServiceClient::new(channel);
        let fetch = client
            .do_get(arrow_flight::Ticket {
                ticket: vec![8, 1].into(),
            })
            .await
            .unwrap_err();
        assert_eq!(fetch.code(), tonic::Code::Unauthenticated, "{fetch}");
        assert!(fetch.message().contains("shared secret"), "{fetch}");
        let launch = client
            .do_action(arrow_flight::Action {
                r#type: "launch_task".into(),
                body: Vec::new().into(),
            })
            .await
            .unwrap_err();
        assert_eq!(launch.code(), tonic::Code::Unauthenticated, "{launch}");
    });
}

/// With ember.ssl.enabled, driver and executors (and executors among themselves, for shuffle
/// blocks) talk TLS only: a query with a shuffle gives its answer, and a plain-text call to
/// an executor gets nowhere.
#[test]
fn cluster_calls_run_over_tls_when_enabled() {
    let tls = concat!(env!("CARGO_MANIFEST_DIR"), "/../ember-flight-sql/tests/tls");
    let session = cluster_session(
        "local-cluster[2,1,512]",
        &[
            ("ember.ssl.enabled", "true"),
            ("ember.ssl.certFile", &format!("{tls}/server.pem")),
            ("ember.ssl.keyFile", &format!("{tls}/server.key")),
            ("ember.ssl.trustFile", &format!("{tls}/ca.pem")),
            ("ember.sql.shuffle.partitions", "4"),
        ],
    );
    let table = rows(
        &session,
        "SELECT k % 3 AS g, count(*) AS n FROM VALUES (1), (2), (3), (4), (5) AS t(k) \
         GROUP BY k % 3 ORDER BY g",
    );
    for expected in ["| 0 | 1 |", "| 1 | 2 |", "| 2 | 2 |"] {
        assert!(table.contains(expected), "{expected} missing:\n{table}");
    }
    let executor = session.context().executors().remove(0);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async move {
        let plain = tonic::transport::Endpoint::from_shared(format!("http://{}", executor.address))
            .unwrap()
            .connect()
            .await;
        if let Ok(channel) = plain {
            let mut client = arrow_flight::flight_service_client::FlightServiceClient::new(channel);
            let error = client
                .do_get(arrow_flight::Ticket {
                    ticket: vec![8, 1].into(),
                })
                .await
                .unwrap_err();
            assert_ne!(error.code(), tonic::Code::NotFound, "{error}");
        }
    });
}
