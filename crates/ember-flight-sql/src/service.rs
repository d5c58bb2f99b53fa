//! The `FlightSqlService` implementation: sessions by bearer token, statements by handle,
//! results streamed from the job to the client.

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use arrow::array::RecordBatch;
use arrow::datatypes::{Schema, SchemaRef};
use arrow_flight::decode::FlightRecordBatchStream;
use arrow_flight::encode::FlightDataEncoderBuilder;
use arrow_flight::error::FlightError;
use arrow_flight::flight_service_server::FlightService;
use arrow_flight::sql::server::{FlightSqlService, PeekableFlightDataStream};
use arrow_flight::sql::{
    ActionCancelQueryRequest, ActionCancelQueryResult, ActionClosePreparedStatementRequest,
    ActionCreatePreparedStatementRequest, ActionCreatePreparedStatementResult, Any,
    CommandGetCatalogs, CommandGetCrossReference, CommandGetDbSchemas, CommandGetExportedKeys,
    CommandGetImportedKeys, CommandGetPrimaryKeys, CommandGetSqlInfo, CommandGetTableTypes,
    CommandGetTables, CommandPreparedStatementQuery, CommandPreparedStatementUpdate,
    CommandStatementQuery, CommandStatementUpdate, DoPutPreparedStatementResult, ProstMessageExt,
    SqlInfo, TicketStatementQuery,
};
use arrow_flight::{
    Action, CancelFlightInfoRequest, CancelFlightInfoResult, CancelStatus, FlightDescriptor,
    FlightEndpoint, FlightInfo, HandshakeRequest, HandshakeResponse, IpcMessage, SchemaAsIpc,
    Ticket,
};
use datafusion_common::ScalarValue;
use ember_common::EmberError;
use ember_session::{render_with_source, EmberSession, Parameters, QueryControl, QueryResult};
use futures::{Stream, TryStreamExt};
use parking_lot::Mutex;
use prost::Message;
use tonic::{Request, Response, Status, Streaming};

use crate::auth::{bearer, new_token, Auth};
use crate::metadata;

type DoGetStream = <EmberFlightSql as FlightService>::DoGetStream;

/// Statements not fetched within this long are forgotten.
const STATEMENT_TTL: Duration = Duration::from_secs(3600);
/// A session unused this long ends (its temporary views and settings with it).
const SESSION_IDLE: Duration = Duration::from_secs(8 * 3600);
/// A prepared statement unused this long is closed (and every one of a session that ended).
pub const PREPARED_IDLE: Duration = Duration::from_secs(30 * 60);
/// At most this many sessions at once; a new login ends the one idle the longest.
const MAX_SESSIONS: usize = 10_000;

pub struct EmberFlightSql {
    inner: Arc<Inner>,
}

struct Inner {
    root: Arc<EmberSession>,
    auth: Auth,
    /// Logged-in sessions by bearer token, with when each was last used.
    sessions: Mutex<HashMap<String, (Arc<EmberSession>, Instant)>>,
    /// The session of calls without a token, when logins are off.
    anonymous: Arc<EmberSession>,
    /// Statements between `GetFlightInfo` and `DoGet`, by handle.
    statements: Mutex<HashMap<String, Statement>>,
    /// Queries that can be cancelled (pending or streaming), by handle, with their session:
    /// only that session may cancel them.
    controls: Mutex<HashMap<String, OwnedControl>>,
    prepared: Mutex<HashMap<String, Prepared>>,
}

/// A cancellable query's control and the session it belongs to.
type OwnedControl = (Arc<EmberSession>, Arc<QueryControl>);

struct Statement {
    owner: Arc<EmberSession>,
    sql: String,
    work: Work,
    control: Arc<QueryControl>,
    created: Instant,
}

enum Work {
    /// A bound query, run when fetched.
    Query(datafusion_expr::LogicalPlan, SchemaRef),
    /// A statement that already ran, and its result.
    Done(QueryResult),
}

struct Prepared {
    owner: Arc<EmberSession>,
    sql: String,
    parameters: Parameters,
    /// The last values bound with `DoPut`: one execution per row.
    values: Vec<RecordBatch>,
    /// When it was last prepared, bound or run.
    used: Instant,
}

impl EmberFlightSql {
    pub fn new(root: Arc<EmberSession>, auth: Auth) -> Self {
        let anonymous = Arc::new(root.new_session());
        EmberFlightSql {
            inner: Arc::new(Inner {
                root,
                auth,
                sessions: Mutex::new(HashMap::new()),
                anonymous,
                statements: Mutex::new(HashMap::new()),
                controls: Mutex::new(HashMap::new()),
                prepared: Mutex::new(HashMap::new()),
            }),
        }
    }

    /// The session a call belongs to, from its bearer token.
    #[allow(clippy::result_large_err)]
    fn session<T>(&self, request: &Request<T>) -> Result<Arc<EmberSession>, Status> {
        match bearer(request.metadata())? {
            Some(token) => match self.inner.sessions.lock().get_mut(&token) {
                Some((session, used)) => {
                    *used = Instant::now();
                    Ok(Arc::clone(session))
                }
                None => Err(Status::unauthenticated(
                    "unknown or expired token: log in again",
                )),
            },
            None => match self.inner.auth {
                Auth::None => Ok(Arc::clone(&self.inner.anonymous)),
                Auth::Password { .. } => Err(Status::unauthenticated(
                    "log in first: a handshake with the user name and password returns the bearer token to send",
                )),
            },
        }
    }
}

/// An Ember error as the status a client sees; SQL errors show the line and a caret.
fn status(error: EmberError, sql: &str) -> Status {
    let error = error.into_root();
    match &error {
        EmberError::Syntax { .. } | EmberError::Analysis { .. } | EmberError::Config(_) => {
            Status::invalid_argument(render_with_source(&error, sql))
        }
        EmberError::NotSupported(_) => Status::unimplemented(error.to_string()),
        EmberError::NotSupportedAt { .. } => Status::unimplemented(render_with_source(&error, sql)),
        EmberError::Cancelled(_) => Status::cancelled(error.to_string()),
        EmberError::Internal(_) => Status::internal(error.to_string()),
        _ => Status::unknown(error.to_string()),
    }
}

fn schema_bytes(schema: &Schema) -> Result<bytes::Bytes, Status> {
    let message: IpcMessage = SchemaAsIpc::new(schema, &Default::default())
        .try_into()
        .map_err(|e| Status::internal(format!("cannot encode a schema: {e}")))?;
    Ok(message.0)
}

fn random_handle() -> Result<String, Status> {
    new_token()
}

/// Runs blocking work (binding, planning, running) off the server's async threads.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, Status> + Send + 'static,
) -> Result<T, Status> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| Status::internal(format!("the statement's thread failed: {e}")))?
}

/// Arrow values of one parameter row as SQL literals.
fn row_values(batch: &RecordBatch, row: usize) -> Result<Vec<ScalarValue>, Status> {
    batch
        .columns()
        .iter()
        .map(|column| {
            let value = ScalarValue::try_from_array(column, row)
                .map_err(|e| Status::invalid_argument(format!("cannot read a parameter: {e}")))?;
            Ok(match value {
                ScalarValue::LargeUtf8(s) | ScalarValue::Utf8View(s) => ScalarValue::Utf8(s),
                other => other,
            })
        })
        .collect()
}

impl Inner {
    /// Plans (a query) or runs (anything else) one script; stores it for `DoGet`.
    fn statement(
        &self,
        session: Arc<EmberSession>,
        sql: &str,
        parameters: Option<&Parameters>,
    ) -> Result<(String, SchemaRef), Status> {
        let parsed = session.parse(sql).map_err(|e| status(e, sql))?;
        let work = match parsed.as_slice() {
            [single] => match session
                .plan_query(single, parameters)
                .map_err(|e| status(e, sql))?
            {
                // Every column is announced nullable: clients (arrow-rs among them) reject a
                // batch with a NULL in a column declared NOT NULL, and the plan's nullability
                // is an inference.
                Some((plan, schema)) => Work::Query(plan, nullable(&schema)),
                None => Work::Done(
                    session
                        .execute_with(single, parameters)
                        .map_err(|e| status(e, sql))?,
                ),
            },
            statements => {
                let mut last = None;
                for statement in statements {
                    last = Some(
                        session
                            .execute_with(statement, parameters)
                            .map_err(|e| status(e, sql))?,
                    );
                }
                Work::Done(last.unwrap_or_else(|| QueryResult {
                    schema: Arc::new(Schema::empty()),
                    batches: vec![],
                    rows_written: None,
                }))
            }
        };
        self.register(session, sql, work)
    }

    /// Keeps a planned or finished statement for `DoGet` under a fresh handle; forgets the
    /// ones never fetched within [`STATEMENT_TTL`].
    fn register(
        &self,
        session: Arc<EmberSession>,
        sql: &str,
        work: Work,
    ) -> Result<(String, SchemaRef), Status> {
        let schema = match &work {
            Work::Query(_, schema) => Arc::clone(schema),
            Work::Done(result) => Arc::clone(&result.schema),
        };
        let handle = random_handle()?;
        let control = Arc::new(QueryControl::new());
        // Only a query still to run can be cancelled; other statements already ran.
        if matches!(work, Work::Query(..)) {
            self.controls
                .lock()
                .insert(handle.clone(), (Arc::clone(&session), Arc::clone(&control)));
        }
        let mut statements = self.statements.lock();
        let expired: Vec<String> = statements
            .iter()
            .filter(|(_, s)| s.created.elapsed() > STATEMENT_TTL)
            .map(|(h, _)| h.clone())
            .collect();
        for handle in expired {
            statements.remove(&handle);
            self.controls.lock().remove(&handle);
        }
        statements.insert(
            handle.clone(),
            Statement {
                owner: session,
                sql: sql.to_string(),
                work,
                control,
                created: Instant::now(),
            },
        );
        Ok((handle, schema))
    }

    /// Runs a script to its end (DDL, `SET`, or a query whose rows nobody reads).
    fn update(
        &self,
        session: &EmberSession,
        sql: &str,
        parameters: Option<&Parameters>,
    ) -> Result<i64, Status> {
        let parsed = session.parse(sql).map_err(|e| status(e, sql))?;
        let mut count = 0i64;
        for statement in &parsed {
            let result = session
                .execute_with(statement, parameters)
                .map_err(|e| status(e, sql))?;
            // Rows written for INSERT and CTAS, -1 (unknown) for a query, 0 for the rest.
            count = match result.rows_written {
                Some(rows) => i64::try_from(rows).unwrap_or(i64::MAX),
                None if result.schema.fields().is_empty() => 0,
                None => -1,
            };
        }
        Ok(count)
    }

    /// The parameter sets of a prepared statement: none when it takes no parameters, else
    /// one per bound row.
    fn parameter_sets(
        prepared: &Prepared,
        values: &[RecordBatch],
    ) -> Result<Vec<Option<Parameters>>, Status> {
        if prepared.parameters.count() == 0 {
            return Ok(vec![None]);
        }
        let rows: usize = values.iter().map(|b| b.num_rows()).sum();
        if rows == 0 {
            return Err(Status::invalid_argument(format!(
                "the prepared statement takes {} parameter(s); bind values first",
                prepared.parameters.count()
            )));
        }
        let mut sets = Vec::with_capacity(rows);
        for batch in values {
            for row in 0..batch.num_rows() {
                let bound = prepared
                    .parameters
                    .clone()
                    .bind(row_values(batch, row)?)
                    .map_err(|e| status(e, &prepared.sql))?;
                sets.push(Some(bound));
            }
        }
        Ok(sets)
    }

    fn flight_info(
        handle: String,
        schema: &Schema,
        descriptor: FlightDescriptor,
    ) -> Result<FlightInfo, Status> {
        let ticket = TicketStatementQuery {
            statement_handle: handle.into_bytes().into(),
        };
        let endpoint =
            FlightEndpoint::new().with_ticket(Ticket::new(ticket.as_any().encode_to_vec()));
        FlightInfo::new()
            .try_with_schema(schema)
            .map_err(|e| Status::internal(format!("cannot encode the result schema: {e}")))
            .map(|info| {
                info.with_endpoint(endpoint)
                    .with_descriptor(descriptor)
                    .with_ordered(true)
            })
    }

    /// The handle in a ticket this server issued.
    fn handle_of_ticket(ticket: &[u8]) -> Option<String> {
        let any = Any::decode(ticket).ok()?;
        let ticket: TicketStatementQuery = any.unpack().ok()??;
        String::from_utf8(ticket.statement_handle.to_vec()).ok()
    }

    /// Closes the prepared statements of sessions that ended and those unused for
    /// [`PREPARED_IDLE`].
    fn sweep_prepared(&self) {
        let sessions = self.sessions.lock();
        let alive = |owner: &Arc<EmberSession>| {
            Arc::ptr_eq(owner, &self.anonymous)
                || sessions.values().any(|(s, _)| Arc::ptr_eq(s, owner))
        };
        let mut prepared = self.prepared.lock();
        let before = prepared.len();
        prepared.retain(|_, p| alive(&p.owner) && p.used.elapsed() < PREPARED_IDLE);
        if prepared.len() < before {
            log::info!(
                "Flight SQL: closed {} prepared statement(s) of ended sessions or idle for {:?}",
                before - prepared.len(),
                PREPARED_IDLE
            );
        }
    }

    /// Cancels the queries a FlightInfo stands for, when they belong to `session`; another
    /// session's query is treated as unknown (its handle says nothing about it).
    fn cancel(&self, session: &Arc<EmberSession>, info: &FlightInfo) -> CancelStatus {
        let mut found = false;
        for endpoint in &info.endpoint {
            let Some(handle) = endpoint
                .ticket
                .as_ref()
                .and_then(|t| Self::handle_of_ticket(&t.ticket))
            else {
                continue;
            };
            let controls = self.controls.lock();
            let Some((owner, control)) = controls.get(&handle) else {
                continue;
            };
            if !Arc::ptr_eq(owner, session) {
                log::warn!(
                    "Flight SQL: refused to cancel statement {} for another session",
                    &handle[..8.min(handle.len())]
                );
                continue;
            }
            {
                log::info!(
                    "Flight SQL: cancelling statement {}",
                    &handle[..8.min(handle.len())]
                );
                control.cancel();
                found = true;
            }
        }
        if found {
            CancelStatus::Cancelled
        } else {
            CancelStatus::NotCancellable
        }
    }
}

/// Cancels a streaming query when its stream is dropped before the end (the client went away
/// or cancelled), and forgets its control.
struct StreamGuard {
    inner: Arc<Inner>,
    handle: String,
    control: Arc<QueryControl>,
    finished: Arc<std::sync::atomic::AtomicBool>,
}

impl Drop for StreamGuard {
    fn drop(&mut self) {
        if !self.finished.load(std::sync::atomic::Ordering::SeqCst) {
            log::info!("Flight SQL: the client stopped reading; cancelling its query");
            self.control.cancel();
        }
        self.inner.controls.lock().remove(&self.handle);
    }
}

fn nullable(schema: &Schema) -> SchemaRef {
    Arc::new(Schema::new(
        schema
            .fields()
            .iter()
            .map(|f| f.as_ref().clone().with_nullable(true))
            .collect::<Vec<_>>(),
    ))
}

/// Makes a batch carry exactly `schema` (the one announced in the FlightInfo).
fn conform(batch: RecordBatch, schema: &SchemaRef) -> Result<RecordBatch, FlightError> {
    if batch.schema() == *schema {
        return Ok(batch);
    }
    let columns = batch
        .columns()
        .iter()
        .zip(schema.fields())
        .map(|(column, field)| {
            if column.data_type() == field.data_type() {
                Ok(Arc::clone(column))
            } else {
                arrow::compute::cast(column, field.data_type())
            }
        })
        .collect::<Result<Vec<_>, _>>()?;
    let options =
        arrow::record_batch::RecordBatchOptions::new().with_row_count(Some(batch.num_rows()));
    Ok(RecordBatch::try_new_with_options(
        Arc::clone(schema),
        columns,
        &options,
    )?)
}

fn encode(
    schema: SchemaRef,
    batches: impl Stream<Item = Result<RecordBatch, FlightError>> + Send + 'static,
) -> DoGetStream {
    Box::pin(
        FlightDataEncoderBuilder::new()
            .with_schema(schema)
            .build(batches)
            .map_err(Status::from),
    )
}

fn once(batch: RecordBatch) -> DoGetStream {
    let schema = batch.schema();
    encode(schema, futures::stream::once(async { Ok(batch) }))
}

impl EmberFlightSql {
    /// Streams a query's batches as its job produces them.
    fn stream(&self, handle: String, statement: Statement) -> DoGetStream {
        let Statement {
            owner,
            sql,
            work,
            control,
            ..
        } = statement;
        match work {
            Work::Done(result) => {
                self.inner.controls.lock().remove(&handle);
                let batches = result.batches.into_iter().map(Ok);
                encode(result.schema, futures::stream::iter(batches))
            }
            Work::Query(plan, schema) => {
                let (sender, receiver) =
                    tokio::sync::mpsc::channel::<Result<RecordBatch, FlightError>>(4);
                let finished = Arc::new(std::sync::atomic::AtomicBool::new(false));
                let guard = StreamGuard {
                    inner: Arc::clone(&self.inner),
                    handle,
                    control: Arc::clone(&control),
                    finished: Arc::clone(&finished),
                };
                let announced = Arc::clone(&schema);
                let inner = Arc::clone(&self.inner);
                let key = guard.handle.clone();
                tokio::task::spawn_blocking(move || {
                    let started = Instant::now();
                    let mut rows = 0usize;
                    let result = owner.stream_plan(&sql, &plan, &control, |batch| {
                        rows += batch.num_rows();
                        sender.blocking_send(conform(batch, &announced)).is_ok()
                    });
                    // The job is over: a cancel from now on has nothing to stop.
                    inner.controls.lock().remove(&key);
                    match result {
                        Ok(()) => {
                            finished.store(true, std::sync::atomic::Ordering::SeqCst);
                            log::info!(
                                "Flight SQL: query returned {rows} row(s) in {:.3} s",
                                started.elapsed().as_secs_f64()
                            );
                        }
                        Err(e) => {
                            finished.store(true, std::sync::atomic::Ordering::SeqCst);
                            let _ = sender
                                .blocking_send(Err(FlightError::Tonic(Box::new(status(e, &sql)))));
                        }
                    }
                });
                let batches = futures::stream::unfold(
                    (receiver, guard),
                    |(mut receiver, guard)| async move {
                        receiver.recv().await.map(|item| (item, (receiver, guard)))
                    },
                );
                encode(schema, batches)
            }
        }
    }
}

#[tonic::async_trait]
impl FlightSqlService for EmberFlightSql {
    type FlightService = EmberFlightSql;

    async fn do_handshake(
        &self,
        request: Request<Streaming<HandshakeRequest>>,
    ) -> Result<
        Response<Pin<Box<dyn Stream<Item = Result<HandshakeResponse, Status>> + Send>>>,
        Status,
    > {
        let user = self.inner.auth.login(request.metadata())?;
        let token = new_token()?;
        {
            let mut sessions = self.inner.sessions.lock();
            sessions.retain(|_, (_, used)| used.elapsed() < SESSION_IDLE);
            if sessions.len() >= MAX_SESSIONS {
                // Make room by ending the session idle the longest.
                if let Some(oldest) = sessions
                    .iter()
                    .min_by_key(|(_, (_, used))| *used)
                    .map(|(token, _)| token.clone())
                {
                    sessions.remove(&oldest);
                }
            }
            sessions.insert(
                token.clone(),
                (Arc::new(self.inner.root.new_session()), Instant::now()),
            );
        }
        self.inner.sweep_prepared();
        log::info!("Flight SQL: user '{user}' logged in; new session");
        let output = futures::stream::iter(vec![Ok(HandshakeResponse {
            protocol_version: 0,
            payload: token.clone().into(),
        })]);
        let mut response: Response<Pin<Box<dyn Stream<Item = _> + Send>>> =
            Response::new(Box::pin(output));
        let header = format!("Bearer {token}")
            .parse()
            .map_err(|_| Status::internal("the token is not a valid header"))?;
        response.metadata_mut().insert("authorization", header);
        Ok(response)
    }

    async fn get_flight_info_statement(
        &self,
        query: CommandStatementQuery,
        request: Request<FlightDescriptor>,
    ) -> Result<Response<FlightInfo>, Status> {
        let session = self.session(&request)?;
        let inner = Arc::clone(&self.inner);
        let sql = query.query;
        let (handle, schema) = blocking(move || inner.statement(session, &sql, None)).await?;
        let info = Inner::flight_info(handle, &schema, request.into_inner())?;
        Ok(Response::new(info))
    }

    async fn get_flight_info_prepared_statement(
        &self,
        query: CommandPreparedStatementQuery,
        request: Request<FlightDescriptor>,
    ) -> Result<Response<FlightInfo>, Status> {
        let session = self.session(&request)?;
        let key = String::from_utf8_lossy(&query.prepared_statement_handle).to_string();
        let (sql, sets) = {
            let mut prepared = self.inner.prepared.lock();
            let prepared = prepared
                .get_mut(&key)
                .filter(|p| Arc::ptr_eq(&p.owner, &session))
                .ok_or_else(|| Status::not_found("no such prepared statement in this session"))?;
            prepared.used = Instant::now();
            (
                prepared.sql.clone(),
                Inner::parameter_sets(prepared, &prepared.values)?,
            )
        };
        let inner = Arc::clone(&self.inner);
        let (handle, schema) = blocking(move || {
            if sets.len() == 1 {
                return inner.statement(session, &sql, sets[0].as_ref());
            }
            // Several parameter rows: the results of every execution, one after the other.
            let mut batches = Vec::new();
            let mut schema = None;
            for parameters in &sets {
                let parsed = session.parse(&sql).map_err(|e| status(e, &sql))?;
                for statement in &parsed {
                    let result = session
                        .execute_with(statement, parameters.as_ref())
                        .map_err(|e| status(e, &sql))?;
                    let target = schema.get_or_insert_with(|| Arc::clone(&result.schema));
                    for batch in result.batches {
                        batches.push(conform(batch, target).map_err(Status::from)?);
                    }
                }
            }
            let schema = schema.unwrap_or_else(|| Arc::new(Schema::empty()));
            inner.register(
                session,
                &sql,
                Work::Done(QueryResult {
                    schema,
                    batches,
                    rows_written: None,
                }),
            )
        })
        .await?;
        let info = Inner::flight_info(handle, &schema, request.into_inner())?;
        Ok(Response::new(info))
    }

    async fn get_flight_info_catalogs(
        &self,
        query: CommandGetCatalogs,
        request: Request<FlightDescriptor>,
    ) -> Result<Response<FlightInfo>, Status> {
        self.session(&request)?;
        let schema = query.into_builder().schema();
        metadata_info(query.as_any(), &schema, request.into_inner())
    }

    async fn get_flight_info_schemas(
        &self,
        query: CommandGetDbSchemas,
        request: Request<FlightDescriptor>,
    ) -> Result<Response<FlightInfo>, Status> {
        self.session(&request)?;
        let schema = query.clone().into_builder().schema();
        metadata_info(query.as_any(), &schema, request.into_inner())
    }

    async fn get_flight_info_tables(
        &self,
        query: CommandGetTables,
        request: Request<FlightDescriptor>,
    ) -> Result<Response<FlightInfo>, Status> {
        self.session(&request)?;
        let schema = query.clone().into_builder().schema();
        metadata_info(query.as_any(), &schema, request.into_inner())
    }

    async fn get_flight_info_table_types(
        &self,
        query: CommandGetTableTypes,
        request: Request<FlightDescriptor>,
    ) -> Result<Response<FlightInfo>, Status> {
        self.session(&request)?;
        let schema = query.into_builder().schema();
        metadata_info(query.as_any(), &schema, request.into_inner())
    }

    async fn get_flight_info_sql_info(
        &self,
        query: CommandGetSqlInfo,
        request: Request<FlightDescriptor>,
    ) -> Result<Response<FlightInfo>, Status> {
        self.session(&request)?;
        let schema = query.clone().into_builder(&metadata::SQL_INFO).schema();
        metadata_info(query.as_any(), &schema, request.into_inner())
    }

    async fn get_flight_info_primary_keys(
        &self,
        query: CommandGetPrimaryKeys,
        request: Request<FlightDescriptor>,
    ) -> Result<Response<FlightInfo>, Status> {
        self.session(&request)?;
        metadata_info(
            query.as_any(),
            &metadata::primary_keys_schema(),
            request.into_inner(),
        )
    }

    async fn get_flight_info_exported_keys(
        &self,
        query: CommandGetExportedKeys,
        request: Request<FlightDescriptor>,
    ) -> Result<Response<FlightInfo>, Status> {
        self.session(&request)?;
        metadata_info(
            query.as_any(),
            &metadata::foreign_keys_schema(),
            request.into_inner(),
        )
    }

    async fn get_flight_info_imported_keys(
        &self,
        query: CommandGetImportedKeys,
        request: Request<FlightDescriptor>,
    ) -> Result<Response<FlightInfo>, Status> {
        self.session(&request)?;
        metadata_info(
            query.as_any(),
            &metadata::foreign_keys_schema(),
            request.into_inner(),
        )
    }

    async fn get_flight_info_cross_reference(
        &self,
        query: CommandGetCrossReference,
        request: Request<FlightDescriptor>,
    ) -> Result<Response<FlightInfo>, Status> {
        self.session(&request)?;
        metadata_info(
            query.as_any(),
            &metadata::foreign_keys_schema(),
            request.into_inner(),
        )
    }

    async fn do_get_statement(
        &self,
        ticket: TicketStatementQuery,
        request: Request<Ticket>,
    ) -> Result<Response<DoGetStream>, Status> {
        let session = self.session(&request)?;
        let handle = String::from_utf8_lossy(&ticket.statement_handle).to_string();
        let statement = {
            let mut statements = self.inner.statements.lock();
            match statements.get(&handle) {
                Some(s) if Arc::ptr_eq(&s.owner, &session) => statements.remove(&handle),
                _ => None,
            }
        }
        .ok_or_else(|| {
            Status::not_found(
                "no such statement in this session (a result is fetched once, within an hour)",
            )
        })?;
        if statement.control.is_cancelled() {
            self.inner.controls.lock().remove(&handle);
            return Err(Status::cancelled("the query was cancelled"));
        }
        Ok(Response::new(self.stream(handle, statement)))
    }

    async fn do_get_catalogs(
        &self,
        query: CommandGetCatalogs,
        request: Request<Ticket>,
    ) -> Result<Response<DoGetStream>, Status> {
        self.session(&request)?;
        let mut builder = query.into_builder();
        builder.append(metadata::CATALOG);
        Ok(Response::new(once(builder.build().map_err(Status::from)?)))
    }

    async fn do_get_schemas(
        &self,
        query: CommandGetDbSchemas,
        request: Request<Ticket>,
    ) -> Result<Response<DoGetStream>, Status> {
        self.session(&request)?;
        let mut builder = query.into_builder();
        builder.append(metadata::CATALOG, metadata::DATABASE);
        Ok(Response::new(once(builder.build().map_err(Status::from)?)))
    }

    async fn do_get_tables(
        &self,
        query: CommandGetTables,
        request: Request<Ticket>,
    ) -> Result<Response<DoGetStream>, Status> {
        let session = self.session(&request)?;
        let mut builder = query.into_builder();
        for table in session.tables() {
            let kind = if table.view { "VIEW" } else { "TABLE" };
            builder
                .append(
                    metadata::CATALOG,
                    metadata::DATABASE,
                    &table.name,
                    kind,
                    &table.schema,
                )
                .map_err(Status::from)?;
        }
        Ok(Response::new(once(builder.build().map_err(Status::from)?)))
    }

    async fn do_get_table_types(
        &self,
        query: CommandGetTableTypes,
        request: Request<Ticket>,
    ) -> Result<Response<DoGetStream>, Status> {
        self.session(&request)?;
        let mut builder = query.into_builder();
        for kind in metadata::TABLE_TYPES {
            builder.append(kind);
        }
        Ok(Response::new(once(builder.build().map_err(Status::from)?)))
    }

    async fn do_get_sql_info(
        &self,
        query: CommandGetSqlInfo,
        request: Request<Ticket>,
    ) -> Result<Response<DoGetStream>, Status> {
        self.session(&request)?;
        let batch = query
            .into_builder(&metadata::SQL_INFO)
            .build()
            .map_err(Status::from)?;
        Ok(Response::new(once(batch)))
    }

    async fn do_get_primary_keys(
        &self,
        _query: CommandGetPrimaryKeys,
        request: Request<Ticket>,
    ) -> Result<Response<DoGetStream>, Status> {
        self.session(&request)?;
        Ok(Response::new(once(metadata::empty_batch(
            &metadata::primary_keys_schema(),
        ))))
    }

    async fn do_get_exported_keys(
        &self,
        _query: CommandGetExportedKeys,
        request: Request<Ticket>,
    ) -> Result<Response<DoGetStream>, Status> {
        self.session(&request)?;
        Ok(Response::new(once(metadata::empty_batch(
            &metadata::foreign_keys_schema(),
        ))))
    }

    async fn do_get_imported_keys(
        &self,
        _query: CommandGetImportedKeys,
        request: Request<Ticket>,
    ) -> Result<Response<DoGetStream>, Status> {
        self.session(&request)?;
        Ok(Response::new(once(metadata::empty_batch(
            &metadata::foreign_keys_schema(),
        ))))
    }

    async fn do_get_cross_reference(
        &self,
        _query: CommandGetCrossReference,
        request: Request<Ticket>,
    ) -> Result<Response<DoGetStream>, Status> {
        self.session(&request)?;
        Ok(Response::new(once(metadata::empty_batch(
            &metadata::foreign_keys_schema(),
        ))))
    }

    async fn do_put_statement_update(
        &self,
        command: CommandStatementUpdate,
        request: Request<PeekableFlightDataStream>,
    ) -> Result<i64, Status> {
        let session = self.session(&request)?;
        let inner = Arc::clone(&self.inner);
        let sql = command.query;
        blocking(move || inner.update(&session, &sql, None)).await
    }

    async fn do_put_prepared_statement_query(
        &self,
        query: CommandPreparedStatementQuery,
        request: Request<PeekableFlightDataStream>,
    ) -> Result<DoPutPreparedStatementResult, Status> {
        let session = self.session(&request)?;
        let values = read_parameters(request).await?;
        let mut prepared = self.inner.prepared.lock();
        let key = String::from_utf8_lossy(&query.prepared_statement_handle).to_string();
        let prepared = prepared
            .get_mut(&key)
            .filter(|p| Arc::ptr_eq(&p.owner, &session))
            .ok_or_else(|| Status::not_found("no such prepared statement in this session"))?;
        prepared.values = values;
        prepared.used = Instant::now();
        Ok(DoPutPreparedStatementResult {
            prepared_statement_handle: Some(query.prepared_statement_handle),
        })
    }

    async fn do_put_prepared_statement_update(
        &self,
        query: CommandPreparedStatementUpdate,
        request: Request<PeekableFlightDataStream>,
    ) -> Result<i64, Status> {
        let session = self.session(&request)?;
        let values = read_parameters(request).await?;
        let key = String::from_utf8_lossy(&query.prepared_statement_handle).to_string();
        let (sql, sets) = {
            let mut prepared = self.inner.prepared.lock();
            let prepared = prepared
                .get_mut(&key)
                .filter(|p| Arc::ptr_eq(&p.owner, &session))
                .ok_or_else(|| Status::not_found("no such prepared statement in this session"))?;
            prepared.used = Instant::now();
            let values = if values.is_empty() {
                prepared.values.clone()
            } else {
                values
            };
            (
                prepared.sql.clone(),
                Inner::parameter_sets(prepared, &values)?,
            )
        };
        let inner = Arc::clone(&self.inner);
        blocking(move || {
            // One execution per bound row: the rows they wrote together (JDBC's batch
            // update count), or -1 when one of them does not know.
            let mut count = 0i64;
            for parameters in &sets {
                let rows = inner.update(&session, &sql, parameters.as_ref())?;
                count = if rows < 0 || count < 0 {
                    -1
                } else {
                    count.saturating_add(rows)
                };
            }
            Ok(count)
        })
        .await
    }

    async fn do_action_create_prepared_statement(
        &self,
        query: ActionCreatePreparedStatementRequest,
        request: Request<Action>,
    ) -> Result<ActionCreatePreparedStatementResult, Status> {
        let session = self.session(&request)?;
        let sql = query.query;
        let owner = Arc::clone(&session);
        let (parameters, dataset_schema) = blocking(move || {
            let parsed = session.parse(&sql).map_err(|e| status(e, &sql))?;
            let [statement] = parsed.as_slice() else {
                return Err(Status::invalid_argument(format!(
                    "a prepared statement is one statement; this text has {}",
                    parsed.len()
                )));
            };
            let parameters = Parameters::of(&sql).map_err(|e| status(e, &sql))?;
            // The result schema with every parameter NULL; a statement that only binds with
            // real values (say `LIMIT ?`) reports it when executed.
            let nulls = parameters.clone().bind_nulls();
            let schema = match session.plan_query(statement, Some(&nulls)) {
                Ok(Some((_, schema))) => Some(schema),
                // SHOW, DESCRIBE, SET, EXPLAIN: rows of a known shape (JDBC takes a statement
                // without a dataset schema for an update).
                Ok(None) => session.result_schema(statement),
                Err(e) if parameters.count() == 0 => return Err(status(e, &sql)),
                Err(_) => None,
            };
            let types = session.parameter_types(statement, &parameters);
            Ok(((sql, parameters, types), schema))
        })
        .await?;
        let (sql, parameters, types) = parameters;
        // Typed where the statement says (`x = ?` takes x's type); Null where it does not.
        let parameter_schema = Schema::new(
            parameters
                .names()
                .into_iter()
                .zip(types)
                .map(|(name, data_type)| arrow::datatypes::Field::new(name, data_type, true))
                .collect::<Vec<_>>(),
        );
        let handle = random_handle()?;
        self.inner.sweep_prepared();
        self.inner.prepared.lock().insert(
            handle.clone(),
            Prepared {
                owner,
                sql,
                parameters,
                values: Vec::new(),
                used: Instant::now(),
            },
        );
        Ok(ActionCreatePreparedStatementResult {
            prepared_statement_handle: handle.into_bytes().into(),
            dataset_schema: match dataset_schema {
                Some(schema) => schema_bytes(&schema)?,
                None => bytes::Bytes::new(),
            },
            parameter_schema: schema_bytes(&parameter_schema)?,
        })
    }

    async fn do_action_close_prepared_statement(
        &self,
        query: ActionClosePreparedStatementRequest,
        request: Request<Action>,
    ) -> Result<(), Status> {
        let session = self.session(&request)?;
        let key = String::from_utf8_lossy(&query.prepared_statement_handle).to_string();
        let mut prepared = self.inner.prepared.lock();
        if prepared
            .get(&key)
            .is_some_and(|p| Arc::ptr_eq(&p.owner, &session))
        {
            prepared.remove(&key);
        }
        Ok(())
    }

    async fn do_action_cancel_query(
        &self,
        query: ActionCancelQueryRequest,
        request: Request<Action>,
    ) -> Result<ActionCancelQueryResult, Status> {
        let session = self.session(&request)?;
        let info = FlightInfo::decode(query.info)
            .map_err(|e| Status::invalid_argument(format!("malformed FlightInfo: {e}")))?;
        let result = match self.inner.cancel(&session, &info) {
            CancelStatus::Cancelled => 1,
            _ => 3,
        };
        Ok(ActionCancelQueryResult { result })
    }

    async fn do_action_fallback(
        &self,
        request: Request<Action>,
    ) -> Result<Response<<Self as FlightService>::DoActionStream>, Status> {
        if request.get_ref().r#type == "CancelFlightInfo" {
            let session = self.session(&request)?;
            let cancel =
                CancelFlightInfoRequest::decode(request.get_ref().body.clone()).map_err(|e| {
                    Status::invalid_argument(format!("malformed CancelFlightInfo: {e}"))
                })?;
            let info = cancel
                .info
                .ok_or_else(|| Status::invalid_argument("CancelFlightInfo without a FlightInfo"))?;
            let result = CancelFlightInfoResult::new(self.inner.cancel(&session, &info));
            let output = futures::stream::iter(vec![Ok(arrow_flight::Result {
                body: result.encode_to_vec().into(),
            })]);
            return Ok(Response::new(Box::pin(output)));
        }
        Err(Status::unimplemented(format!(
            "the action '{}' is not supported",
            request.get_ref().r#type
        )))
    }

    async fn register_sql_info(&self, _id: i32, _result: &SqlInfo) {}
}

/// The parameter rows a `DoPut` carries.
async fn read_parameters(
    request: Request<PeekableFlightDataStream>,
) -> Result<Vec<RecordBatch>, Status> {
    // A message with only the descriptor (no IPC header) carries no rows: arrow-rs's own
    // client sends one to execute an update without parameters.
    let stream = request
        .into_inner()
        .try_filter(|data| futures::future::ready(!data.data_header.is_empty()))
        .map_err(FlightError::from);
    let batches: Vec<RecordBatch> = FlightRecordBatchStream::new_from_flight_data(stream)
        .try_collect()
        .await
        .map_err(Status::from)?;
    Ok(batches)
}

fn metadata_info(
    command: Any,
    schema: &Schema,
    descriptor: FlightDescriptor,
) -> Result<Response<FlightInfo>, Status> {
    let endpoint = FlightEndpoint::new().with_ticket(Ticket::new(command.encode_to_vec()));
    let info = FlightInfo::new()
        .try_with_schema(schema)
        .map_err(|e| Status::internal(format!("cannot encode a schema: {e}")))?
        .with_endpoint(endpoint)
        .with_descriptor(descriptor);
    Ok(Response::new(info))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prepared_statements_end_with_their_session_and_when_idle() {
        let mut conf = ember_common::EmberConf::new();
        conf.set("ember.master", "local[1]").unwrap();
        let root = Arc::new(EmberSession::new(conf).unwrap());
        let service = EmberFlightSql::new(Arc::clone(&root), Auth::None);
        let inner = &service.inner;
        let live = Arc::new(root.new_session());
        let ended = Arc::new(root.new_session());
        inner
            .sessions
            .lock()
            .insert("token".into(), (Arc::clone(&live), Instant::now()));
        let prepared = |owner: &Arc<EmberSession>, idle: Duration| Prepared {
            owner: Arc::clone(owner),
            sql: "SELECT 1".into(),
            parameters: Parameters::of("SELECT 1").unwrap(),
            values: Vec::new(),
            used: Instant::now().checked_sub(idle).unwrap(),
        };
        {
            let mut all = inner.prepared.lock();
            all.insert("fresh".into(), prepared(&live, Duration::ZERO));
            all.insert(
                "idle".into(),
                prepared(&live, PREPARED_IDLE + Duration::from_secs(1)),
            );
            all.insert("orphan".into(), prepared(&ended, Duration::ZERO));
            all.insert(
                "anonymous".into(),
                prepared(&inner.anonymous, Duration::ZERO),
            );
        }
        inner.sweep_prepared();
        let mut left: Vec<String> = inner.prepared.lock().keys().cloned().collect();
        left.sort();
        assert_eq!(left, ["anonymous", "fresh"]);
    }
}
