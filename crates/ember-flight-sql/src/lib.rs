//! The Arrow Flight SQL endpoint of `ember server` (Spark's Thrift server, in Arrow's protocol):
//! any Flight SQL client — the ADBC drivers, the Flight SQL JDBC driver, `ember sql --connect` —
//! logs in, gets a session of its own over the shared driver, and runs SQL whose results stream
//! back as Arrow batches while the job runs.
//!
//! - Sessions: each successful handshake makes a session (its own `SET` values and temporary
//!   views) over one [`EmberSession`] root, so tables are shared; the bearer token names it.
//! - Statements: `GetFlightInfo` binds a query (to answer its schema) and `DoGet` runs it;
//!   anything else (DDL, `SET`, `SHOW`, `EXPLAIN`) runs at `GetFlightInfo`.
//! - Work runs on blocking threads, so a slow query never holds up another client.

mod auth;
pub mod client;
mod metadata;
mod service;

use std::net::SocketAddr;
use std::sync::Arc;

use ember_common::{EmberConf, EmberError, Result};
use ember_session::EmberSession;

pub use auth::Auth;
pub use client::FlightSqlClient;

/// How `ember server` serves Flight SQL: where, who may log in, and TLS.
#[derive(Clone)]
pub struct ServerOptions {
    /// `host:port`; port 0 picks a free one.
    pub address: String,
    pub auth: Auth,
    /// PEM certificate chain and key: serve over TLS.
    pub tls: Option<(Vec<u8>, Vec<u8>)>,
}

impl std::fmt::Debug for ServerOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerOptions")
            .field("address", &self.address)
            .field("auth", &self.auth)
            .field("tls", &self.tls.is_some())
            .finish()
    }
}

impl ServerOptions {
    /// Reads the `ember.server.*` keys (and `EMBER_SERVER_PASSWORD`) and removes the password
    /// from `conf`, so sessions never see it (`SET -v` lists every key).
    pub fn from_conf(address: String, conf: &mut EmberConf) -> Result<Self> {
        let auth = Auth::from_conf(conf)?;
        conf.unset("ember.server.password");
        let cert = conf.get("ember.server.tls.cert").unwrap_or_default();
        let key = conf.get("ember.server.tls.key").unwrap_or_default();
        let tls = match (cert.is_empty(), key.is_empty()) {
            (true, true) => None,
            (false, false) => {
                let read = |path: &str| {
                    std::fs::read(path).map_err(|e| EmberError::io(path.to_string(), e))
                };
                Some((read(&cert)?, read(&key)?))
            }
            _ => {
                return Err(EmberError::Config(
                    "TLS needs both ember.server.tls.cert and ember.server.tls.key (PEM files)"
                        .into(),
                ))
            }
        };
        Ok(ServerOptions { address, auth, tls })
    }
}

/// A Flight SQL server running on its own threads; dropping it stops it.
pub struct RunningServer {
    address: SocketAddr,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    runtime: Option<tokio::runtime::Runtime>,
}

impl RunningServer {
    /// Where it listens (the real port when 0 was asked for).
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// Blocks until the server stops (it runs until the process ends).
    pub fn wait(mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.block_on(futures::future::pending::<()>());
        }
    }
}

impl Drop for RunningServer {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_timeout(std::time::Duration::from_secs(5));
        }
    }
}

/// Starts serving Flight SQL in front of `session`'s driver.
pub fn start(session: EmberSession, options: ServerOptions) -> Result<RunningServer> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .thread_name("flight-sql")
        .thread_stack_size(ember_common::THREAD_STACK_BYTES)
        .enable_all()
        .build()
        .map_err(|e| EmberError::execution(format!("cannot start the server's runtime: {e}")))?;
    let (listener, address) =
        runtime.block_on(ember_runtime::cluster::rpc::bind(&options.address))?;
    let mut builder = tonic::transport::Server::builder();
    if let Some((cert, key)) = &options.tls {
        let identity = tonic::transport::Identity::from_pem(cert, key);
        builder = builder
            .tls_config(tonic::transport::ServerTlsConfig::new().identity(identity))
            .map_err(|e| {
                EmberError::Config(format!("the TLS certificate or key is not usable: {e}"))
            })?;
    }
    // A request larger than this is refused before it is decoded (tonic answers
    // OUT_OF_RANGE naming both sizes), so a huge statement cannot exhaust the server's memory.
    let max_request = match session.conf().get_usize("ember.server.maxRequestSize") {
        0 => 16 << 20,
        n => n,
    };
    let service = service::EmberFlightSql::new(Arc::new(session), options.auth.clone());
    let server = arrow_flight::flight_service_server::FlightServiceServer::new(service)
        .max_decoding_message_size(max_request);
    let (shutdown, stopped) = tokio::sync::oneshot::channel::<()>();
    let incoming = tonic::transport::server::TcpIncoming::from(listener).with_nodelay(Some(true));
    runtime.spawn(async move {
        let stop = async {
            let _ = stopped.await;
        };
        if let Err(e) = builder
            .add_service(server)
            .serve_with_incoming_shutdown(incoming, stop)
            .await
        {
            log::error!("the Flight SQL server stopped: {e}");
        }
    });
    log::info!(
        "Flight SQL listening on {address}{}",
        if options.tls.is_some() { " (TLS)" } else { "" }
    );
    Ok(RunningServer {
        address,
        shutdown: Some(shutdown),
        runtime: Some(runtime),
    })
}
