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
