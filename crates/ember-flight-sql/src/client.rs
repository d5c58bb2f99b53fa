//! A blocking Flight SQL client: what `ember sql --connect HOST:PORT` runs statements through.

use std::sync::Arc;

use arrow::array::RecordBatch;
use arrow::datatypes::{Schema, SchemaRef};
use arrow_flight::decode::FlightRecordBatchStream;
use arrow_flight::error::FlightError;
use arrow_flight::flight_service_client::FlightServiceClient;
use arrow_flight::sql::{CommandStatementQuery, ProstMessageExt};
use arrow_flight::{FlightDescriptor, HandshakeRequest};
use base64::prelude::{Engine, BASE64_STANDARD};
use ember_common::{EmberError, Result};
use futures::TryStreamExt;
use prost::Message;
use tonic::metadata::MetadataValue;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint};
use tonic::Status;

/// How to reach a server.
#[derive(Debug, Clone, Default)]
pub struct ConnectOptions {
    /// `HOST:PORT`.
    pub address: String,
    pub user: Option<String>,
    pub password: Option<String>,
    /// Connect over TLS; `tls_ca` is the PEM certificate of the authority that signed the
    /// server's certificate.
    pub tls: bool,
    pub tls_ca: Option<Vec<u8>>,
}

/// A connection to an Ember (or any Flight SQL) server, with its own session there.
pub struct FlightSqlClient {
    runtime: tokio::runtime::Runtime,
    client: FlightServiceClient<Channel>,
    token: Option<String>,
    address: String,
}

fn failed(address: &str, status: Status) -> EmberError {
    match status.code() {
        tonic::Code::Unauthenticated => {
            EmberError::execution(format!("{address} refused the login: {}", status.message()))
        }
        tonic::Code::Unavailable => EmberError::execution(format!(
            "cannot reach the server at {address}: {}",
            status.message()
        )),
        _ => EmberError::execution(status.message().to_string()),
    }
}

impl FlightSqlClient {
    /// Connects and logs in (a handshake, with Basic credentials when a user is given).
    pub fn connect(options: &ConnectOptions) -> Result<Self> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| EmberError::execution(format!("cannot start the client runtime: {e}")))?;
        let address = options.address.clone();
        let scheme = if options.tls { "https" } else { "http" };
        let mut endpoint = Endpoint::from_shared(format!("{scheme}://{address}"))
            .map_err(|e| EmberError::Config(format!("'{address}' is not HOST:PORT: {e}")))?;
        if options.tls {
            let mut tls = ClientTlsConfig::new();
            if let Some(ca) = &options.tls_ca {
                tls = tls.ca_certificate(Certificate::from_pem(ca));
            }
            endpoint = endpoint
                .tls_config(tls)
                .map_err(|e| EmberError::Config(format!("TLS set-up failed: {e}")))?;
        }
        let channel = runtime.block_on(endpoint.connect()).map_err(|e| {
            let mut reason = e.to_string();
            let mut source = std::error::Error::source(&e);
            while let Some(cause) = source {
                reason = format!("{reason}: {cause}");
                source = cause.source();
            }
            EmberError::execution(format!(
                "cannot connect to {address} ({reason}); is `ember server` running there?"
            ))
        })?;
        let mut client = FlightSqlClient {
            runtime,
            client: FlightServiceClient::new(channel).max_decoding_message_size(usize::MAX),
            token: None,
            address,
        };
        client.login(options.user.as_deref(), options.password.as_deref())?;
        Ok(client)
    }

    fn login(&mut self, user: Option<&str>, password: Option<&str>) -> Result<()> {
        let mut request = tonic::Request::new(futures::stream::iter(vec![HandshakeRequest {
            protocol_version: 0,
            payload: Default::default(),
        }]));
        if let Some(user) = user {
            let credentials = BASE64_STANDARD.encode(format!("{user}:{}", password.unwrap_or("")));
            let value = MetadataValue::try_from(format!("Basic {credentials}"))
                .map_err(|_| EmberError::Config("the user name cannot go in a header".into()))?;
            request.metadata_mut().insert("authorization", value);
        }
        let address = self.address.clone();
        let response = self
            .runtime
            .block_on(self.client.handshake(request))
            .map_err(|s| failed(&address, s))?;
        if let Some(value) = response.metadata().get("authorization") {
            let value = value.to_str().unwrap_or_default();
            self.token = value.strip_prefix("Bearer ").map(str::to_string);
        }
        Ok(())
    }

    fn request<T>(&self, message: T) -> Result<tonic::Request<T>> {
        let mut request = tonic::Request::new(message);
        if let Some(token) = &self.token {
            let value = MetadataValue::try_from(format!("Bearer {token}"))
                .map_err(|_| EmberError::internal("the server's token is not a header value"))?;
            request.metadata_mut().insert("authorization", value);
        }
        Ok(request)
    }

    /// Runs one statement (or a `;`-separated script) on the server; returns the result of
    /// the last statement.
    pub fn execute(&mut self, sql: &str) -> Result<(SchemaRef, Vec<RecordBatch>)> {
        self.execute_interruptible(sql, &std::sync::atomic::AtomicBool::new(false))
    }

    /// [`FlightSqlClient::execute`], abandoned as soon as `interrupted` is set: the result
    /// stream is dropped, which makes the server cancel the query's job. A statement that
    /// runs while the server plans it (DDL, writes) may still finish there.
    pub fn execute_interruptible(
        &mut self,
        sql: &str,
        interrupted: &std::sync::atomic::AtomicBool,
    ) -> Result<(SchemaRef, Vec<RecordBatch>)> {
        let watch = || async {
            while !interrupted.load(std::sync::atomic::Ordering::SeqCst) {
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
        };
        let cancelled = || {
            EmberError::Cancelled(
                "interrupted: the statement was cancelled on the server".to_string(),
            )
        };
        let command = CommandStatementQuery {
            query: sql.to_string(),
            transaction_id: None,
        };
        let descriptor = FlightDescriptor::new_cmd(command.as_any().encode_to_vec());
        let request = self.request(descriptor)?;
        let address = self.address.clone();
        let client = &mut self.client;
        let info = self
            .runtime
            .block_on(or_interrupted(client.get_flight_info(request), watch()))
            .ok_or_else(cancelled)?
            .map_err(|s| failed(&address, s))?
            .into_inner();
        let mut schema: SchemaRef = Arc::new(
            info.clone()
                .try_decode_schema()
                .unwrap_or_else(|_| Schema::empty()),
        );
        let mut batches = Vec::new();
        for endpoint in &info.endpoint {
            let Some(ticket) = endpoint.ticket.clone() else {
                continue;
            };
            let request = self.request(ticket)?;
            let client = &mut self.client;
            let fetched: Option<std::result::Result<Vec<RecordBatch>, FlightError>> =
                self.runtime.block_on(async {
                    let fetch = async {
                        let stream = client.do_get(request).await?.into_inner();
                        FlightRecordBatchStream::new_from_flight_data(
                            stream.map_err(FlightError::from),
                        )
                        .try_collect()
                        .await
                    };
                    or_interrupted(fetch, watch()).await
                });
            let fetched = fetched.ok_or_else(cancelled)?;
            let fetched = fetched.map_err(|e| match e {
                FlightError::Tonic(status) => failed(&address, *status),
                other => EmberError::execution(other.to_string()),
            })?;
            if let Some(first) = fetched.first() {
                schema = first.schema();
            }
            batches.extend(fetched);
        }
        Ok((schema, batches))
    }
}

/// `work`'s output, or `None` when `watch` ends first (`work` is dropped then).
async fn or_interrupted<T>(
    work: impl std::future::Future<Output = T>,
    watch: impl std::future::Future<Output = ()>,
) -> Option<T> {
    futures::pin_mut!(work);
    futures::pin_mut!(watch);
    match futures::future::select(work, watch).await {
        futures::future::Either::Left((output, _)) => Some(output),
        futures::future::Either::Right(_) => None,
    }
}
