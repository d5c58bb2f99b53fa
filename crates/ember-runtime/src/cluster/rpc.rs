//! gRPC between driver and executors: one Arrow Flight service shape for both, where
//! `do_action` carries the control messages of [`super::proto`] and `do_get` streams shuffle
//! blocks. A process implements [`Endpoint`]; [`FlightEndpoint`] puts it behind tonic.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use arrow_flight::flight_service_client::FlightServiceClient;
use arrow_flight::flight_service_server::{FlightService, FlightServiceServer};
use arrow_flight::{
    Action, ActionType, Criteria, Empty, FlightData, FlightDescriptor, FlightInfo,
    HandshakeRequest, HandshakeResponse, PollInfo, PutResult, SchemaResult, Ticket,
};
use bytes::Bytes;
use ember_common::{EmberError, Result};
use futures::stream::{self, BoxStream, StreamExt};
use prost::Message;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::{Channel, Endpoint as ChannelEndpoint};

use super::auth::{ClusterAuth, Prove, Verify};

/// A client of a driver or executor; every call carries the proof of the cluster secret.
pub type RpcClient = FlightServiceClient<InterceptedService<Channel, Prove>>;
use tonic::{Request, Response, Status, Streaming};

/// Chunks of a shuffle block sent by `do_get`.
pub const BLOCK_CHUNK: usize = 1 << 20;

/// What one process answers.
pub trait Endpoint: Send + Sync + 'static {
    /// Handles the action `kind` with its protobuf `body`; returns the reply's bytes.
    fn action(
        &self,
        kind: String,
        body: Bytes,
    ) -> Pin<Box<dyn Future<Output = std::result::Result<Vec<u8>, Status>> + Send + '_>>;

    /// The byte chunks a ticket names (a shuffle block); `NotFound` when missing.
    fn get(
        &self,
        ticket: Bytes,
    ) -> std::result::Result<BoxStream<'static, std::result::Result<Bytes, Status>>, Status>;
}

/// A Flight service in front of an [`Endpoint`].
pub struct FlightEndpoint<E: Endpoint>(pub Arc<E>);

type Boxed<T> = BoxStream<'static, std::result::Result<T, Status>>;

#[tonic::async_trait]
impl<E: Endpoint> FlightService for FlightEndpoint<E> {
    type HandshakeStream = Boxed<HandshakeResponse>;
    type ListFlightsStream = Boxed<FlightInfo>;
    type DoGetStream = Boxed<FlightData>;
    type DoPutStream = Boxed<PutResult>;
    type DoExchangeStream = Boxed<FlightData>;
    type DoActionStream = Boxed<arrow_flight::Result>;
    type ListActionsStream = Boxed<ActionType>;

    async fn handshake(
        &self,
        _request: Request<Streaming<HandshakeRequest>>,
    ) -> std::result::Result<Response<Self::HandshakeStream>, Status> {
        Err(Status::unimplemented(
            "handshake: not used between driver and executors",
        ))
    }

    async fn list_flights(
        &self,
        _request: Request<Criteria>,
    ) -> std::result::Result<Response<Self::ListFlightsStream>, Status> {
        Err(Status::unimplemented("list_flights"))
    }

    async fn get_flight_info(
        &self,
        _request: Request<FlightDescriptor>,
    ) -> std::result::Result<Response<FlightInfo>, Status> {
        Err(Status::unimplemented("get_flight_info"))
    }

    async fn poll_flight_info(
        &self,
        _request: Request<FlightDescriptor>,
    ) -> std::result::Result<Response<PollInfo>, Status> {
        Err(Status::unimplemented("poll_flight_info"))
    }

    async fn get_schema(
        &self,
        _request: Request<FlightDescriptor>,
    ) -> std::result::Result<Response<SchemaResult>, Status> {
        Err(Status::unimplemented("get_schema"))
    }

    async fn do_get(
        &self,
        request: Request<Ticket>,
    ) -> std::result::Result<Response<Self::DoGetStream>, Status> {
        let chunks = self.0.get(request.into_inner().ticket)?;
        Ok(Response::new(
            chunks
                .map(|chunk| {
                    chunk.map(|data_body| FlightData {
                        data_body,
                        ..Default::default()
                    })
                })
                .boxed(),
        ))
    }

    async fn do_put(
        &self,
        _request: Request<Streaming<FlightData>>,
    ) -> std::result::Result<Response<Self::DoPutStream>, Status> {
        Err(Status::unimplemented("do_put"))
    }

    async fn do_exchange(
        &self,
        _request: Request<Streaming<FlightData>>,
    ) -> std::result::Result<Response<Self::DoExchangeStream>, Status> {
        Err(Status::unimplemented("do_exchange"))
    }

    async fn do_action(
        &self,
        request: Request<Action>,
    ) -> std::result::Result<Response<Self::DoActionStream>, Status> {
        let Action { r#type, body } = request.into_inner();
        let reply = self.0.action(r#type, body).await?;
        let result = arrow_flight::Result { body: reply.into() };
        Ok(Response::new(stream::iter([Ok(result)]).boxed()))
    }

    async fn list_actions(
        &self,
        _request: Request<Empty>,
    ) -> std::result::Result<Response<Self::ListActionsStream>, Status> {
        Err(Status::unimplemented("list_actions"))
    }
}

/// Serves `endpoint` on an already bound listener until `shutdown` resolves.
/// Calls without the proof of `auth`'s secret are refused (`UNAUTHENTICATED`).
pub async fn serve<E: Endpoint>(
    endpoint: Arc<E>,
    listener: tokio::net::TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
    auth: ClusterAuth,
) {
    let tls = auth.tls().map(|t| (t.cert.clone(), t.key.clone()));
    let service = InterceptedService::new(
        FlightServiceServer::new(FlightEndpoint(endpoint))
            .max_decoding_message_size(usize::MAX)
            .max_encoding_message_size(usize::MAX),
        Verify(auth),
    );
    let incoming = tonic::transport::server::TcpIncoming::from(listener).with_nodelay(Some(true));
    let mut builder = tonic::transport::Server::builder();
    if let Some((cert, key)) = tls {
        let config = tonic::transport::ServerTlsConfig::new()
            .identity(tonic::transport::Identity::from_pem(cert, key));
        builder = match builder.tls_config(config) {
            Ok(builder) => builder,
            Err(e) => {
                log::error!("the cluster's TLS certificate or key is not usable: {e}");
                return;
            }
        };
    }
    if let Err(e) = builder
        .add_service(service)
        .serve_with_incoming_shutdown(incoming, shutdown)
        .await
    {
        log::error!("the Flight service stopped: {e}");
    }
}

/// Binds `address` (`host:port`, port 0 for any) for [`serve`].
pub async fn bind(address: &str) -> Result<(tokio::net::TcpListener, SocketAddr)> {
    let listener = tokio::net::TcpListener::bind(address)
        .await
        .map_err(|e| EmberError::io(format!("listening on {address}"), e))?;
    let local = listener
        .local_addr()
        .map_err(|e| EmberError::io(format!("listening on {address}"), e))?;
    Ok((listener, local))
}

/// A client of the Flight service at `host:port`; connects lazily, on first use.
pub fn client(address: &str, auth: &ClusterAuth) -> Result<RpcClient> {
    let scheme = if auth.tls().is_some() {
        "https"
    } else {
        "http"
    };
    let mut endpoint = ChannelEndpoint::from_shared(format!("{scheme}://{address}"))
        .map_err(|e| EmberError::Config(format!("bad address '{address}': {e}")))?;
    if let Some(tls) = auth.tls() {
        endpoint = endpoint
            .tls_config(
                tonic::transport::ClientTlsConfig::new()
                    .ca_certificate(tonic::transport::Certificate::from_pem(&tls.trust)),
            )
            .map_err(|e| {
                EmberError::Config(format!("the cluster's TLS trust file is not usable: {e}"))
            })?;
    }
    let endpoint = endpoint
        .connect_timeout(Duration::from_secs(10))
        .tcp_nodelay(true)
        .http2_keep_alive_interval(Duration::from_secs(10))
        .keep_alive_while_idle(true);
    Ok(
        FlightServiceClient::with_interceptor(endpoint.connect_lazy(), Prove(auth.clone()))
            .max_decoding_message_size(usize::MAX)
            .max_encoding_message_size(usize::MAX),
    )
}

/// Sends one action and returns its single reply.
pub async fn call(
    client: &mut RpcClient,
    kind: &str,
    body: &impl Message,
) -> std::result::Result<Bytes, Status> {
    let action = Action {
        r#type: kind.to_string(),
        body: body.encode_to_vec().into(),
    };
    let mut replies = client.do_action(action).await?.into_inner();
    match replies.message().await? {
        Some(reply) => Ok(reply.body),
        None => Err(Status::internal(format!(
            "the action {kind} returned no reply"
        ))),
    }
}

/// Fetches every chunk a ticket names into one buffer; `Ok(None)` when it is missing.
pub async fn get_bytes(
    client: &mut RpcClient,
    ticket: Vec<u8>,
) -> std::result::Result<Option<Vec<u8>>, Status> {
    let response = client
        .do_get(Ticket {
            ticket: ticket.into(),
        })
        .await;
    let mut stream = match response {
        Ok(response) => response.into_inner(),
        Err(status) if status.code() == tonic::Code::NotFound => return Ok(None),
        Err(status) => return Err(status),
    };
    let mut bytes = Vec::new();
    while let Some(data) = stream.message().await? {
        bytes.extend_from_slice(&data.data_body);
    }
    Ok(Some(bytes))
}

/// Decodes an action's request, or says which message was malformed.
pub fn decode<M: Message + Default>(kind: &str, body: &[u8]) -> std::result::Result<M, Status> {
    M::decode(body).map_err(|e| Status::invalid_argument(format!("malformed {kind} request: {e}")))
}

/// An Ember error as a gRPC status (for the peer's log).
pub fn status(error: &EmberError) -> Status {
    Status::failed_precondition(error.to_string())
}
