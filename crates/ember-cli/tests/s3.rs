//! Ember against a real S3-protocol server: `s3s-fs` serving a temporary folder on loopback,
//! in this test process, with signature checking on. Ember talks to it with object_store's
//! S3 client exactly as it would to AWS (SigV4, ranged GETs, list-objects-v2); nothing is
//! mocked on Ember's side. The data is uploaded with object_store's PUT.

#[path = "../../ember-session/tests/write_faults/mod.rs"]
mod write_faults;

use std::path::Path;
use std::process::{Command, Output};
use std::sync::{Arc, OnceLock};

use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder as ConnBuilder;
use object_store::aws::AmazonS3Builder;
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};
use s3s::auth::SimpleAuth;
use s3s::service::S3ServiceBuilder;

const EMBER: &str = env!("CARGO_BIN_EXE_ember");
const ACCESS_KEY: &str = "AKIAEMBERTEST";
const SECRET_KEY: &str = "ember-test-secret-0123456789";
const BUCKET: &str = "tpch";
const ALL_QUERIES: &str = "1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22";

/// The S3 server of this test process.
struct S3Server {
    endpoint: String,
    /// The folder the server keeps buckets in (one subfolder per bucket), kept for its life.
    _root: tempfile::TempDir,
    runtime: tokio::runtime::Runtime,
}

fn server() -> &'static S3Server {
    static SERVER: OnceLock<S3Server> = OnceLock::new();
    SERVER.get_or_init(|| {
        let root = tempfile::tempdir().expect("temp dir");
        std::fs::create_dir(root.path().join(BUCKET)).expect("bucket folder");
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        let fs = s3s_fs::FileSystem::new(root.path()).expect("s3s-fs");
        let mut builder = S3ServiceBuilder::new(fs);
        builder.set_auth(SimpleAuth::from_single(ACCESS_KEY, SECRET_KEY));
        let service = builder.build();
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .expect("bind");
        let endpoint = format!("http://{}", listener.local_addr().expect("address"));
        runtime.spawn(async move {
            let http = ConnBuilder::new(TokioExecutor::new());
            while let Ok((socket, _)) = listener.accept().await {
                let connection = http
                    .serve_connection(TokioIo::new(socket), service.clone())
                    .into_owned();
                tokio::spawn(connection);
            }
        });
        S3Server {
            endpoint,
            _root: root,
            runtime,
        }
    })
}

/// The `--conf` arguments that point Ember at the test server.
fn s3_conf(secret: &str) -> Vec<String> {
    let server = server();
    [
        format!("ember.s3.endpoint={}", server.endpoint),
        "ember.s3.allowHttp=true".to_string(),
        format!("ember.s3.accessKeyId={ACCESS_KEY}"),
        format!("ember.s3.secretAccessKey={secret}"),
    ]
    .into_iter()
    .flat_map(|kv| ["--conf".to_string(), kv])
    .collect()
}

fn client() -> Arc<dyn ObjectStore> {
    let store = AmazonS3Builder::new()
        .with_bucket_name(BUCKET)
        .with_endpoint(&server().endpoint)
        .with_allow_http(true)
        .with_region("us-east-1")
        .with_access_key_id(ACCESS_KEY)
        .with_secret_access_key(SECRET_KEY)
        .build()
        .expect("S3 client");
    Arc::new(store)
}

/// PUTs every file under `dir` to `s3://tpch/<prefix>/<relative path>`.
fn upload(dir: &Path, prefix: &str) {
    let store = client();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(path) = pending.pop() {
        if path.is_dir() {
            for entry in std::fs::read_dir(&path).expect("read dir") {
                pending.push(entry.expect("entry").path());
            }
            continue;
        }
        let relative = path.strip_prefix(dir).expect("relative").to_string_lossy();
        let key = ObjectPath::from(format!("{prefix}/{relative}"));
        let bytes = std::fs::read(&path).expect("read file");
        let store = Arc::clone(&store);
        server()
            .runtime
            .block_on(async move { store.put(&key, PutPayload::from(bytes)).await })
            .expect("upload");
    }
}

/// TPC-H SF 0.01 in `format`, generated locally and uploaded to `s3://tpch/sf0.01/<format>`.
fn tpch_in_s3(format: &'static str) -> String {
    static PARQUET: OnceLock<String> = OnceLock::new();
    static CSV: OnceLock<String> = OnceLock::new();
    let cell = if format == "parquet" { &PARQUET } else { &CSV };
    cell.get_or_init(|| {
        let local = tempfile::tempdir().expect("temp dir");
        let status = Command::new(EMBER)
            .args(["tpch", "gen", "--sf", "0.01", "--format", format, "--out"])
            .arg(local.path())
            .status()
            .expect("ember runs");
        assert!(status.success(), "ember tpch gen failed");
        let prefix = format!("sf0.01/{format}");
        upload(local.path(), &prefix);
        format!("s3://{BUCKET}/{prefix}")
    })
    .clone()
}

fn run_tpch(data: &str, format: &str, master: &str) -> Output {
    Command::new(EMBER)
        .args([
            "tpch",
            "run",
            "--sf",
            "0.01",
            "--format",
            format,
            "--queries",
            ALL_QUERIES,
            "--check",
            "--master",
            master,
            "--data",
            data,
            "--conf",
            "ember.scheduler.minRegisteredResourcesRatio=1.0",
        ])
        .args(s3_conf(SECRET_KEY))
        .output()
        .expect("ember runs")
}

fn assert_all_queries_ok(output: &Output, what: &str) {
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "TPC-H from S3 ({what}) failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    for q in 1..=22 {
        let line = format!("Q{q:02}");
        assert!(
            stdout
                .lines()
                .any(|l| l.starts_with(&line) && l.trim_end().ends_with("OK")),
            "{line} not checked OK ({what}):\n{stdout}"
        );
    }
}

#[test]
fn tpch_parquet_from_s3_matches_the_reference_answers_in_local_and_cluster_mode() {
    let data = tpch_in_s3("parquet");
    assert_all_queries_ok(&run_tpch(&data, "parquet", "local[2]"), "parquet, local[2]");
    assert_all_queries_ok(
        &run_tpch(&data, "parquet", "local-cluster[2,1,1g]"),
        "parquet, local-cluster[2,1,1g]",
    );
}

#[test]
fn tpch_csv_from_s3_matches_the_reference_answers_in_local_and_cluster_mode() {
    let data = tpch_in_s3("csv");
    assert_all_queries_ok(&run_tpch(&data, "csv", "local[2]"), "csv, local[2]");
    assert_all_queries_ok(
        &run_tpch(&data, "csv", "local-cluster[2,1,1g]"),
        "csv, local-cluster[2,1,1g]",
    );
}

fn sql(statement: &str, conf: &[String]) -> Output {
    Command::new(EMBER)
        .args(["sql", "--master", "local[2]"])
        .args(conf)
        .args(["-e", statement])
        .output()
        .expect("ember runs")
}

#[test]
fn wrong_credentials_name_the_bucket_and_never_the_secret() {
    let data = tpch_in_s3("parquet");
    let wrong = "not-the-right-secret-42";
    let output = sql(
        &format!("SELECT count(*) FROM parquet.`{data}/nation`"),
        &s3_conf(wrong),
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "{stderr}");
    assert!(stderr.contains("bucket 'tpch'"), "{stderr}");
    assert!(stderr.contains("SignatureDoesNotMatch"), "{stderr}");
    assert!(!stderr.contains(wrong), "the secret leaked: {stderr}");
    assert!(
        !String::from_utf8_lossy(&output.stdout).contains(wrong),
        "the secret leaked"
    );

    // The right secret reads the table; SET and EXPLAIN never show it.
    let output = sql(
        &format!(
            "SELECT count(*) AS n FROM parquet.`{data}/nation`; \
             SET ember.s3.secretAccessKey; \
             EXPLAIN SELECT * FROM parquet.`{data}/nation`"
        ),
        &s3_conf(SECRET_KEY),
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("25"), "{stdout}");
    assert!(stdout.contains("*********(redacted)"), "{stdout}");
    assert!(!stdout.contains(SECRET_KEY), "the secret leaked: {stdout}");
}

#[test]
fn missing_objects_and_plain_http_without_allow_http_are_clear_errors() {
    let data = tpch_in_s3("parquet");
    let output = sql(
        &format!("SELECT * FROM parquet.`{data}/no_such_table`"),
        &s3_conf(SECRET_KEY),
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(&format!("Path does not exist: {data}/no_such_table")),
        "{stderr}"
    );
    let conf: Vec<String> = s3_conf(SECRET_KEY)
        .chunks(2)
        .filter(|pair| pair[1] != "ember.s3.allowHttp=true")
        .flatten()
        .cloned()
        .collect();
    let output = sql(&format!("SELECT * FROM parquet.`{data}/nation`"), &conf);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("ember.s3.allowHttp=true"), "{stderr}");
}

/// Every key under `s3://tpch/<prefix>/`, sorted.
fn keys_under(prefix: &str) -> Vec<String> {
    use futures::TryStreamExt;
    let store = client();
    let prefix = ObjectPath::from(prefix);
    let mut keys: Vec<String> = server()
        .runtime
        .block_on(async move {
            store
                .list(Some(&prefix))
                .map_ok(|meta| meta.location.to_string())
                .try_collect::<Vec<_>>()
                .await
        })
        .expect("list");
    keys.sort();
    keys
}

#[test]
fn tables_are_written_to_s3_and_a_failed_write_leaves_nothing() {
    let data = tpch_in_s3("parquet");
    for master in ["local[2]", "local-cluster[2,1,512]"] {
        let out = format!(
            "s3://{BUCKET}/written/{}",
            master.replace(['[', ']', ','], "_")
        );
        let script = format!(
            "CREATE TABLE nation USING parquet LOCATION '{data}/nation'; \
             CREATE TABLE n2 USING parquet LOCATION '{out}/n2' AS \
               SELECT n_regionkey, count(*) AS nations FROM nation GROUP BY n_regionkey; \
             INSERT INTO n2 SELECT 9, 1; \
             SELECT sum(nations), count(*) FROM n2; \
             CREATE TABLE n3 USING csv OPTIONS (header 'true', compression 'gzip') LOCATION '{out}/n3' AS \
               SELECT * FROM n2; \
             INSERT OVERWRITE n3 SELECT * FROM n2 WHERE n_regionkey < 2; \
             SELECT count(*) AS n3_rows FROM n3"
        );
        let output = Command::new(EMBER)
            .args(["sql", "--master", master])
            .args(s3_conf(SECRET_KEY))
            .args([
                "--conf",
                "ember.scheduler.minRegisteredResourcesRatio=1.0",
                "-e",
                &script,
            ])
            .output()
            .expect("ember runs");
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success(),
            "{master}: {stdout}{}",
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(
            stdout.contains("| 26 "),
            "{master}: 25 nations + 1: {stdout}"
        );
        let n3_rows = stdout
            .lines()
            .skip_while(|l| !l.contains("n3_rows"))
            .nth(2)
            .unwrap_or_default()
            .to_string();
        assert!(n3_rows.contains("| 2 "), "{master}: {stdout}");
        let prefix = out.trim_start_matches(&format!("s3://{BUCKET}/"));
        let keys = keys_under(&format!("{prefix}/n3"));
        assert!(
            keys.iter().any(|k| k.ends_with(".csv.gz"))
                && keys.iter().any(|k| k.ends_with("_SUCCESS")),
            "{keys:?}"
        );
        assert!(!keys.iter().any(|k| k.contains("_temporary")), "{keys:?}");
        if master == "local[2]" {
            // One sorted partition of ~20 MB: a multipart upload.
            let output = Command::new(EMBER)
                .args(["sql", "--master", master])
                .args(s3_conf(SECRET_KEY))
                .args([
                    "-e",
                    &format!(
                        "CREATE TABLE lineitem USING parquet LOCATION '{data}/lineitem'; \
                         CREATE TABLE nation USING parquet LOCATION '{data}/nation'; \
                         CREATE TABLE big USING csv LOCATION '{out}/big' AS \
                           SELECT l.*, n.n_name FROM lineitem l CROSS JOIN nation n \
                           WHERE n.n_nationkey < 3 ORDER BY l_orderkey, l_linenumber, n_name; \
                         SELECT count(*) AS big_rows FROM big"
                    ),
                ])
                .output()
                .expect("ember runs");
            let stdout = String::from_utf8_lossy(&output.stdout);
            assert!(
                stdout.contains("180525"),
                "{stdout}{}",
                String::from_utf8_lossy(&output.stderr)
            );
        }

        // A task fails: nothing at the location, and the table does not exist.
        let output = Command::new(EMBER)
            .args(["sql", "--master", master])
            .args(s3_conf(SECRET_KEY))
            .args([
                "--conf",
                "ember.scheduler.minRegisteredResourcesRatio=1.0",
                "--conf",
                "ember.task.maxFailures=1",
                "-e",
                &format!(
                    "CREATE TABLE nation USING parquet LOCATION '{data}/nation'; \
                     CREATE TABLE broken USING parquet LOCATION '{out}/broken' AS \
                       SELECT n_nationkey, 100 / (n_nationkey - 20) AS x FROM nation"
                ),
            ])
            .output()
            .expect("ember runs");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{master}: the CTAS must fail");
        assert!(stderr.contains("DIVIDE_BY_ZERO"), "{master}: {stderr}");
        assert_eq!(
            keys_under(&format!("{prefix}/broken")),
            Vec::<String>::new(),
            "{master}: a failed CTAS leaves no object"
        );
    }
}

#[test]
fn partition_filters_skip_folders_in_s3() {
    let sales = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../sql-tests/data/sales");
    upload(&sales, "sales");
    let output = sql(
        &format!(
            "CREATE TABLE sales USING csv OPTIONS (header 'true', inferSchema 'true') \
             LOCATION 's3://{BUCKET}/sales'; \
             SELECT sum(amount) AS total FROM sales WHERE year = 2024; \
             EXPLAIN SELECT sum(amount) FROM sales WHERE year = 2024"
        ),
        &s3_conf(SECRET_KEY),
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("150.0"), "{stdout}");
    assert!(stdout.contains("files read 2 of 4"), "{stdout}");
}

/// Visible objects under an S3 location (what Spark would read) and the files of its latest
/// manifest.
fn s3_files_and_manifest(location: &str) -> (usize, usize) {
    let prefix = location
        .strip_prefix(&format!("s3://{BUCKET}/"))
        .expect("a location in the test bucket");
    let keys = keys_under(prefix);
    let visible = keys
        .iter()
        .filter(|key| {
            key.strip_prefix(prefix)
                .unwrap_or(key)
                .split('/')
                .filter(|part| !part.is_empty())
                .all(|part| !part.starts_with('_') && !part.starts_with('.'))
        })
        .count();
    let listed = keys
        .iter()
        .filter(|key| key.contains("/_ember_commits/") && key.ends_with(".manifest"))
        .max()
        .map_or(0, |key| {
            let store = client();
            let path = ObjectPath::from(key.as_str());
            let bytes = server()
                .runtime
                .block_on(async move { store.get(&path).await?.bytes().await })
                .expect("read the manifest");
            String::from_utf8_lossy(&bytes).lines().count() - 1
        });
    (visible, listed)
}

/// The commit protocol over S3: a CTAS, INSERT INTO and INSERT OVERWRITE whose store fails
/// from every n-th write operation on leave the old table or the new one, never a mix, and
/// can be run again (see `write_faults`).
#[test]
fn s3_writes_are_all_or_nothing_at_every_failing_store_operation() {
    let server = server();
    let settings: Vec<(String, String)> = [
        ("ember.s3.endpoint", server.endpoint.as_str()),
        ("ember.s3.allowHttp", "true"),
        ("ember.s3.accessKeyId", ACCESS_KEY),
        ("ember.s3.secretAccessKey", SECRET_KEY),
        // Injected failures are not retried away.
        ("ember.s3.maxRetries", "0"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let report = write_faults::check_all_or_nothing(
        &settings,
        &format!("s3://{BUCKET}/commits"),
        &s3_files_and_manifest,
    );
    println!("{}", report.join("\n"));
}
