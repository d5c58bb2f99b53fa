//! The Flight SQL server in process, through Ember's own client: logins, sessions, TLS.

use std::path::PathBuf;

use arrow::array::{Array, Int64Array, StringArray};
use ember_common::EmberConf;
use ember_flight_sql::client::ConnectOptions;
use ember_flight_sql::{start, Auth, FlightSqlClient, RunningServer, ServerOptions};
use ember_session::EmberSession;

const PASSWORD: &str = "hunter2-but-longer";

fn server(tls: bool) -> RunningServer {
    let mut conf = EmberConf::new();
    conf.set("ember.master", "local[2]").unwrap();
    let session = EmberSession::new(conf).unwrap();
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/tls");
    let options = ServerOptions {
        address: "127.0.0.1:0".into(),
        auth: Auth::Password {
            user: "ember".into(),
            password: PASSWORD.into(),
        },
        tls: tls.then(|| {
            (
                std::fs::read(dir.join("server.pem")).unwrap(),
                std::fs::read(dir.join("server.key")).unwrap(),
            )
        }),
    };
    start(session, options).unwrap()
}

fn options(server: &RunningServer, password: &str) -> ConnectOptions {
    ConnectOptions {
        address: server.address().to_string(),
        user: Some("ember".into()),
        password: Some(password.into()),
        ..Default::default()
    }
}

fn single_i64(client: &mut FlightSqlClient, sql: &str) -> i64 {
    let (_, batches) = client.execute(sql).unwrap();
    let column = batches[0].column(0);
    column
        .as_any()
        .downcast_ref::<Int64Array>()
        .unwrap()
        .value(0)
}

#[test]
fn login_sessions_and_errors() {
    let server = server(false);
    let mut a = FlightSqlClient::connect(&options(&server, PASSWORD)).unwrap();
    let mut b = FlightSqlClient::connect(&options(&server, PASSWORD)).unwrap();
    assert_eq!(
        single_i64(&mut a, "SELECT count(*) FROM VALUES (1), (2), (3) AS t(id)"),
        3
    );

    // Temporary views and settings are per session.
    a.execute(
        "CREATE TEMPORARY VIEW mine AS SELECT id FROM VALUES (1), (2), (3), (4), (5) AS t(id)",
    )
    .unwrap();
    a.execute("SET ember.sql.shuffle.partitions = 3").unwrap();
    assert_eq!(single_i64(&mut a, "SELECT count(*) FROM mine"), 5);
    let err = b.execute("SELECT * FROM mine").unwrap_err().to_string();
    assert!(err.contains("mine"), "{err}");
    let (_, batches) = b.execute("SET ember.sql.shuffle.partitions").unwrap();
    let value = batches[0]
        .column(1)
        .as_any()
        .downcast_ref::<StringArray>()
        .unwrap()
        .value(0)
        .to_string();
    assert_ne!(value, "3");

    // SQL errors come back with the line, column and caret.
    let err = a
        .execute("SELECT\n  nope FROM mine")
        .unwrap_err()
        .to_string();
    assert!(err.contains("nope") && err.contains('^'), "{err}");

    // Wrong password: refused, no session.
    let refused = FlightSqlClient::connect(&options(&server, "wrong"))
        .err()
        .unwrap();
    assert!(
        refused.to_string().contains("refused the login"),
        "{refused}"
    );
    let anonymous = FlightSqlClient::connect(&ConnectOptions {
        address: server.address().to_string(),
        ..Default::default()
    })
    .err()
    .unwrap();
    assert!(
        anonymous.to_string().contains("refused the login"),
        "{anonymous}"
    );
}

#[test]
fn tls_with_a_certificate_from_configuration() {
    let server = server(true);
    let ca =
        std::fs::read(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/tls/ca.pem")).unwrap();
    let mut client = FlightSqlClient::connect(&ConnectOptions {
        tls: true,
        tls_ca: Some(ca),
        ..options(&server, PASSWORD)
    })
    .unwrap();
    assert_eq!(
        single_i64(&mut client, "SELECT count(*) FROM VALUES (7), (8) AS t(x)"),
        2
    );
    // Plain text to a TLS port does not get through.
    assert!(FlightSqlClient::connect(&options(&server, PASSWORD)).is_err());
    // TLS without trusting the CA does not either.
    assert!(FlightSqlClient::connect(&ConnectOptions {
        tls: true,
        ..options(&server, PASSWORD)
    })
    .is_err());
}

#[test]
fn the_password_never_reaches_sessions() {
    let mut conf = EmberConf::new();
    conf.set("ember.server.password", PASSWORD).unwrap();
    let options = ServerOptions::from_conf("127.0.0.1:0".into(), &mut conf).unwrap();
    assert!(matches!(options.auth, Auth::Password { .. }));
    assert!(!format!("{options:?}").contains(PASSWORD));
    assert_eq!(conf.get("ember.server.password").as_deref(), Some(""));
    let mut conf = EmberConf::new();
    conf.set("ember.server.tls.cert", "/x.pem").unwrap();
    conf.set("ember.server.password", PASSWORD).unwrap();
    let err = ServerOptions::from_conf("127.0.0.1:0".into(), &mut conf).unwrap_err();
    assert!(err.to_string().contains("ember.server.tls.key"), "{err}");
}

/// arrow-rs's own Flight SQL client: prepared statements with bound parameters, and an update
/// through a prepared statement (its DoPut carries only the descriptor).
#[test]
fn arrow_rs_client_prepared_statements() {
    use arrow::array::{Int64Array as I64, RecordBatch};
    use arrow::datatypes::{DataType, Field, Schema};
    use arrow_flight::sql::client::FlightSqlServiceClient;
    use futures::TryStreamExt;
    use std::sync::Arc;

    let server = server(false);
    let address = format!("http://{}", server.address());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async move {
        let channel = tonic::transport::Endpoint::from_shared(address)
            .unwrap()
            .connect()
            .await
            .unwrap();
        let mut client = FlightSqlServiceClient::new(channel);
        client.handshake("ember", PASSWORD).await.unwrap();

        let mut update = client
            .prepare(
                "CREATE TEMPORARY VIEW nums AS SELECT * FROM VALUES (1), (5), (9) AS t(n)".into(),
                None,
            )
            .await
            .unwrap();
        assert_eq!(update.execute_update().await.unwrap(), 0);

        let mut query = client
            .prepare("SELECT count(*) AS c FROM nums WHERE n > ?".into(), None)
            .await
            .unwrap();
        let parameter_types = |statement: &arrow_flight::sql::client::PreparedStatement<_>| {
            statement
                .parameter_schema()
                .unwrap()
                .fields()
                .iter()
                .map(|f| f.data_type().clone())
                .collect::<Vec<_>>()
        };
        // Typed from the statement: n is an INT (Spark's type of the literals 1, 5, 9).
        assert_eq!(parameter_types(&query), [DataType::Int32]);
        let typed = client
            .prepare(
                "SELECT n FROM nums WHERE n BETWEEN ? AND ? AND CAST(? AS DATE) > DATE '2020-01-01' \
                 AND 'x' LIKE ? AND substr('abc', 1, 1) = (?) AND ? IN (1.5, n) AND abs(?) > 0"
                    .into(),
                None,
            )
            .await
            .unwrap();
        assert_eq!(
            parameter_types(&typed),
            [
                DataType::Int32,
                DataType::Int32,
                DataType::Date32,
                DataType::Utf8,
                DataType::Utf8,
                DataType::Decimal128(2, 1),
                // A function argument says nothing about its type.
                DataType::Null,
            ]
        );
        assert_eq!(query.dataset_schema().unwrap().field(0).name(), "c");
        let schema = Arc::new(Schema::new(vec![Field::new("p", DataType::Int64, false)]));
        for (bound, expected) in [(0i64, 3i64), (4, 2), (100, 0)] {
            let parameters =
                RecordBatch::try_new(schema.clone(), vec![Arc::new(I64::from(vec![bound]))])
                    .unwrap();
            query.set_parameters(parameters).unwrap();
            let info = query.execute().await.unwrap();
            let ticket = info.endpoint[0].ticket.clone().unwrap();
            let batches: Vec<RecordBatch> = client
                .do_get(ticket)
                .await
                .unwrap()
                .try_collect()
                .await
                .unwrap();
            let count = batches[0]
                .column(0)
                .as_any()
                .downcast_ref::<I64>()
                .unwrap()
                .value(0);
            assert_eq!(count, expected, "n > {bound}");
        }
        query.close().await.unwrap();

        // A statement with rows that is not a query announces their schema when prepared.
        let show = client.prepare("SHOW TABLES".into(), None).await.unwrap();
        assert_eq!(show.dataset_schema().unwrap().fields().len(), 3);

        // $n beyond the limit is refused when prepared, before anything is sized by it.
        let err = client
            .prepare("SELECT $100000000000".into(), None)
            .await
            .err()
            .unwrap();
        assert!(err.to_string().contains("at most"), "{err}");
    });
}

/// Issue 14's limits: a request over `ember.server.maxRequestSize` is refused with both sizes;
/// a query can be cancelled only by its own session; an INSERT takes bound parameters.
#[test]
fn request_size_cancel_ownership_and_insert_parameters() {
    use arrow::array::{Int64Array as I64, RecordBatch, StringArray as Str};
    use arrow::datatypes::{DataType, Field, Schema};
    use arrow_flight::sql::client::FlightSqlServiceClient;
    use arrow_flight::{Action, CancelFlightInfoRequest, CancelFlightInfoResult, CancelStatus};
    use futures::TryStreamExt;
    use prost::Message;
    use std::sync::Arc;

    let mut conf = EmberConf::new();
    conf.set("ember.master", "local[2]").unwrap();
    conf.set("ember.server.maxRequestSize", "1m").unwrap();
    let out = tempfile::tempdir().unwrap();
    let session = EmberSession::new(conf).unwrap();
    session
        .sql(&format!(
            "CREATE TABLE people USING parquet LOCATION '{}/people' AS \
             SELECT CAST(1 AS BIGINT) AS id, 'ada' AS name",
            out.path().display()
        ))
        .unwrap();
    let options = ServerOptions {
        address: "127.0.0.1:0".into(),
        auth: Auth::Password {
            user: "ember".into(),
            password: PASSWORD.into(),
        },
        tls: None,
    };
    let server = start(session, options).unwrap();

    // Over the limit: refused, naming the sizes; the server goes on.
    let mut client = FlightSqlClient::connect(&options_of(&server)).unwrap();
    let huge = format!("SELECT '{}' AS s", "x".repeat(2 << 20));
    let error = client.execute(&huge).unwrap_err().to_string();
    assert!(
        error.contains("message length too large") || error.contains("larger than"),
        "{error}"
    );
    assert_eq!(single_i64(&mut client, "SELECT CAST(41 + 1 AS BIGINT)"), 42);

    let address = format!("http://{}", server.address());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async move {
        let connect = || async {
            let channel = tonic::transport::Endpoint::from_shared(address.clone())
                .unwrap()
                .connect()
                .await
                .unwrap();
            let mut client = FlightSqlServiceClient::new(channel);
            client.handshake("ember", PASSWORD).await.unwrap();
            client
        };
        let mut owner = connect().await;
        let mut other = connect().await;
        async fn cancel(
            client: &mut FlightSqlServiceClient<tonic::transport::Channel>,
            info: &arrow_flight::FlightInfo,
        ) -> CancelStatus {
            let action = Action {
                r#type: "CancelFlightInfo".into(),
                body: CancelFlightInfoRequest::new(info.clone())
                    .encode_to_vec()
                    .into(),
            };
            let replies: Vec<arrow_flight::Result> = client
                .do_action(action)
                .await
                .unwrap()
                .try_collect()
                .await
                .unwrap();
            CancelFlightInfoResult::decode(replies[0].body.clone())
                .unwrap()
                .status()
        }
        let info = owner
            .execute("SELECT count(*) FROM people".into(), None)
            .await
            .unwrap();
        assert_eq!(
            cancel(&mut other, &info).await,
            CancelStatus::NotCancellable,
            "another session cannot cancel the query"
        );
        assert_eq!(cancel(&mut owner, &info).await, CancelStatus::Cancelled);

        // INSERT with bound parameters, one execution per bound row.
        let mut insert = owner
            .prepare("INSERT INTO people VALUES (?, ?)".into(), None)
            .await
            .unwrap();
        let schema = Arc::new(Schema::new(vec![
            Field::new("id", DataType::Int64, false),
            Field::new("name", DataType::Utf8, false),
        ]));
        let rows = RecordBatch::try_new(
            schema,
            vec![
                Arc::new(I64::from(vec![2, 3])),
                Arc::new(Str::from(vec!["grace", "edsger"])),
            ],
        )
        .unwrap();
        let types: Vec<DataType> = insert
            .parameter_schema()
            .unwrap()
            .fields()
            .iter()
            .map(|f| f.data_type().clone())
            .collect();
        assert_eq!(
            types,
            [DataType::Int64, DataType::Utf8],
            "the table's column types"
        );
        insert.set_parameters(rows).unwrap();
        assert_eq!(insert.execute_update().await.unwrap(), 2, "rows written");
        insert.close().await.unwrap();
        let info = owner
            .execute("SELECT name FROM people ORDER BY id".into(), None)
            .await
            .unwrap();
        let ticket = info.endpoint[0].ticket.clone().unwrap();
        let batches: Vec<RecordBatch> = owner
            .do_get(ticket)
            .await
            .unwrap()
            .try_collect()
            .await
            .unwrap();
        let names: Vec<String> = batches
            .iter()
            .flat_map(|b| {
                let column = b.column(0).as_any().downcast_ref::<Str>().unwrap().clone();
                (0..column.len())
                    .map(|i| column.value(i).to_string())
                    .collect::<Vec<_>>()
            })
            .collect();
        assert_eq!(names, ["ada", "grace", "edsger"]);
    });
}

fn options_of(server: &RunningServer) -> ConnectOptions {
    options(server, PASSWORD)
}
