//! The driver-side session (Spark's SparkSession): SQL text in, result batches out, through
//! the binder, the optimizer, the physical planner and the RDD scheduler.

use std::sync::Arc;

use arrow::array::{ArrayRef, StringArray};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use arrow::record_batch::RecordBatch;
use datafusion_expr::LogicalPlan;
use ember_common::{EmberConf, EmberError, Result};
use ember_core::EmberContext;
use ember_sql::parser::{EmberStatement, ParsedStatement};
pub use ember_sql::Parameters;
use ember_sql::SessionCatalog;
use parking_lot::RwLock;

pub use ember_sql::error::render_with_source;
pub use guard::STATEMENT_STACK_BYTES;

use crate::query_execution::output_schema;

/// The result of one statement: a schema and its rows.
#[derive(Debug, Clone)]
pub struct QueryResult {
    pub schema: SchemaRef,
    pub batches: Vec<RecordBatch>,
    /// Rows a write statement wrote (`INSERT`, `CREATE TABLE ... AS SELECT`); `None` for the
    /// others.
    pub rows_written: Option<u64>,
}

impl QueryResult {
    pub fn num_rows(&self) -> usize {
        self.batches.iter().map(|b| b.num_rows()).sum()
    }

    fn empty() -> Self {
        QueryResult {
            schema: Arc::new(Schema::empty()),
            batches: vec![],
            rows_written: None,
        }
    }

    fn written(rows: u64) -> Self {
        QueryResult {
            rows_written: Some(rows),
            ..Self::empty()
        }
    }

    fn strings(columns: &[&str], rows: Vec<Vec<String>>) -> Result<Self> {
        let schema = Arc::new(Schema::new(
            columns
                .iter()
                .map(|c| Field::new(*c, DataType::Utf8, false))
                .collect::<Vec<_>>(),
        ));
        let arrays: Vec<ArrayRef> = (0..columns.len())
            .map(|i| {
                Arc::new(StringArray::from(
                    rows.iter().map(|r| r[i].clone()).collect::<Vec<_>>(),
                )) as ArrayRef
            })
            .collect();
        let batch = RecordBatch::try_new(Arc::clone(&schema), arrays)?;
        Ok(QueryResult {
            schema,
            batches: vec![batch],
            rows_written: None,
        })
    }
}

/// A table or view of the catalog, as metadata calls list it.
#[derive(Debug, Clone)]
pub struct TableInfo {
    pub name: String,
    /// A temporary view of this session.
    pub temporary: bool,
    pub view: bool,
    pub schema: SchemaRef,
}

/// Cancels one running query from another thread: [`QueryControl::cancel`] stops its job (the
/// tasks on every executor) or, before the job started, keeps it from starting.
#[derive(Debug, Default)]
pub struct QueryControl {
    cancelled: std::sync::atomic::AtomicBool,
    /// The context and the jobs the query started so far (one per window of a streamed
    /// result).
    jobs: parking_lot::Mutex<Option<(Arc<EmberContext>, Vec<ember_common::JobId>)>>,
}

impl QueryControl {
    pub fn new() -> Self {
        Self::default()
    }

    /// Cancels the query: its job ends with a `Cancelled` error.
    pub fn cancel(&self) {
        self.cancelled
            .store(true, std::sync::atomic::Ordering::SeqCst);
        if let Some((context, jobs)) = self.jobs.lock().as_ref() {
            for job in jobs {
                context.cancel_job(*job);
            }
        }
    }

    pub fn is_cancelled(&self) -> bool {
        self.cancelled.load(std::sync::atomic::Ordering::SeqCst)
    }

    fn check(&self) -> Result<()> {
        if self.is_cancelled() {
            return Err(EmberError::Cancelled("the query was cancelled".into()));
        }
        Ok(())
    }

    fn started(&self, context: &Arc<EmberContext>, job: ember_common::JobId) {
        self.jobs
            .lock()
            .get_or_insert_with(|| (Arc::clone(context), Vec::new()))
            .1
            .push(job);
        // A cancel that came between the last check and now.
        if self.is_cancelled() {
            context.cancel_job(job);
        }
    }

    fn finished(&self) {
        self.jobs.lock().take();
    }
}

/// One user's session: its own configuration and temporary views over a shared context.
pub struct EmberSession {
    context: Arc<EmberContext>,
    catalog: SessionCatalog,
    conf: RwLock<EmberConf>,
}

impl EmberSession {
    /// Starts a local session: `ember.master` says how many executor cores.
    pub fn new(conf: EmberConf) -> Result<Self> {
        let mut conf = conf;
        // As in Spark, local mode does not retry failed tasks: a failure there is the query's
        // own. Executor processes can die, so cluster modes retry (ember.task.maxFailures).
        let master = ember_core::Master::parse(&conf.get("ember.master").unwrap_or_default())?;
        if !master.is_cluster() && conf.explicit().all(|(k, _)| k != "ember.task.maxFailures") {
            conf.set("ember.task.maxFailures", "1")?;
        }
        let context = ember_runtime::cluster::start_context(conf.clone())?;
        if conf.get_usize("ember.default.parallelism") == 0 {
            conf.set(
                "ember.default.parallelism",
                &context.default_parallelism().to_string(),
            )?;
        }
        Ok(EmberSession {
            context,
            catalog: SessionCatalog::new(),
            conf: RwLock::new(conf),
        })
    }

    /// A new session sharing this one's context and tables, with its own views and settings.
    pub fn new_session(&self) -> Self {
        EmberSession {
            context: Arc::clone(&self.context),
            catalog: self.catalog.new_session(),
            conf: RwLock::new(self.conf.read().clone()),
        }
    }

    /// The tables and views this session sees, sorted by name: what `SHOW TABLES` lists, with
    /// each one's columns.
    pub fn tables(&self) -> Vec<TableInfo> {
        self.catalog
            .list()
            .into_iter()
            .filter_map(|(name, temporary, view)| {
                let schema = match self.catalog.lookup(&name)? {
                    ember_sql::CatalogEntry::Table(table) => table.schema(),
                    ember_sql::CatalogEntry::View(plan) => {
                        Arc::new(plan.schema().as_arrow().clone())
                    }
                };
                Some(TableInfo {
                    name,
                    temporary,
                    view,
                    schema,
                })
            })
            .collect()
    }

    pub fn context(&self) -> &Arc<EmberContext> {
        &self.context
    }

    pub fn conf(&self) -> EmberConf {
        self.conf.read().clone()
    }

    /// Runs every statement of a script; returns the result of the last one.
    pub fn sql(&self, sql: &str) -> Result<QueryResult> {
        let statements = self.parse(sql)?;
        let mut last = QueryResult::empty();
        for statement in &statements {
            last = self.execute(statement)?;
        }
        guard::guarded(sql, || {
            drop(statements);
            Ok(())
        })?;
        Ok(last)
    }

    /// Parses a script into statements, so callers can run and time them one by one. Like
    /// every entry point of the session, it runs on a statement thread (see [`guard`]).
    pub fn parse(&self, sql: &str) -> Result<Vec<ParsedStatement>> {
        guard::guarded(sql, || ember_sql::parse_statements(sql))
    }

    pub fn execute(&self, statement: &ParsedStatement) -> Result<QueryResult> {
        guard::guarded(&statement.text, || {
            self.execute_statement(&statement.statement)
        })
    }

    /// Runs a statement whose `?` / `$n` placeholders take `parameters`' values. A query and
    /// an `INSERT` take parameters; in other statements a placeholder is an error naming it.
    pub fn execute_with(
        &self,
        statement: &ParsedStatement,
        parameters: Option<&Parameters>,
    ) -> Result<QueryResult> {
        match (&statement.statement, parameters) {
            (EmberStatement::Query(query), Some(_)) => guard::guarded(&statement.text, || {
                let plan = self.bind_with(query, parameters)?;
                self.run_bound(&plan)
            }),
            (
                EmberStatement::Insert {
                    name,
                    overwrite,
                    query,
                },
                Some(_),
            ) => guard::guarded(&statement.text, || {
                self.insert(&name.to_string(), *overwrite, query, parameters)
            }),
            _ => self.execute(statement),
        }
    }

    /// Binds a query statement without running it: its plan and the schema of its result, for
    /// callers that stream the result later with [`EmberSession::stream_plan`]. `None` for
    /// statements that are not queries.
    pub fn plan_query(
        &self,
        statement: &ParsedStatement,
        parameters: Option<&Parameters>,
    ) -> Result<Option<(LogicalPlan, SchemaRef)>> {
        let EmberStatement::Query(query) = &statement.statement else {
            return Ok(None);
        };
        guard::guarded(&statement.text, || {
            let plan = self.bind_with(query, parameters)?;
            let schema = Arc::new(plan.schema().as_arrow().clone());
            Ok(Some((plan, schema)))
        })
    }

    /// The type each of a prepared statement's parameters takes, as far as the statement
    /// says (`x = ?` takes x's type, `CAST(? AS DATE)` a date, `LIKE ?` a string, the `?` of
    /// `INSERT INTO t VALUES (?, ?)` t's column types); `DataType::Null` where nothing says.
    /// Never an error: a statement that does not bind yet types what it bound so far.
    pub fn parameter_types(
        &self,
        statement: &ParsedStatement,
        parameters: &Parameters,
    ) -> Vec<DataType> {
        let nulls = parameters.clone().bind_nulls();
        let conf = self.conf.read().clone();
        let mut binder = ember_sql::Binder::new(&self.catalog, &conf).with_parameters(Some(&nulls));
        let _ = guard::guarded(&statement.text, || {
            match &statement.statement {
                EmberStatement::Query(query) => {
                    binder.bind_query_statement(query)?;
                }
                EmberStatement::Insert { name, query, .. } => {
                    if let Some(ember_sql::catalog::CatalogEntry::Table(table)) =
                        self.catalog.lookup(&name.to_string())
                    {
                        let columns: Vec<DataType> = table
                            .schema()
                            .fields()
                            .iter()
                            .map(|f| f.data_type().clone())
                            .collect();
                        binder.note_values_parameter_types(query, &columns);
                    }
                    binder.bind_query_statement(query)?;
                }
                _ => {}
            }
            Ok(())
        });
        let found = binder.parameter_types();
        (0..parameters.count())
            .map(|i| found.get(&i).cloned().unwrap_or(DataType::Null))
            .collect()
    }

    /// The schema of the rows a statement other than a query returns (`SHOW TABLES`,
    /// `DESCRIBE`, `SET`, `EXPLAIN`), known without running it; `None` for statements that
    /// return no rows (DDL, `CACHE`, ...) and for queries (see [`EmberSession::plan_query`]).
    pub fn result_schema(&self, statement: &ParsedStatement) -> Option<SchemaRef> {
        let strings = |names: &[&str]| {
            Arc::new(Schema::new(
                names
                    .iter()
                    .map(|n| Field::new(*n, DataType::Utf8, false))
                    .collect::<Vec<_>>(),
            ))
        };
        match &statement.statement {
            EmberStatement::ShowTables => Some(Arc::new(Schema::new(vec![
                Field::new("namespace", DataType::Utf8, false),
                Field::new("tableName", DataType::Utf8, false),
                Field::new("isTemporary", DataType::Boolean, false),
            ]))),
            EmberStatement::Describe { .. } => Some(strings(&["col_name", "data_type", "comment"])),
            EmberStatement::Set { .. } => Some(strings(&["key", "value"])),
            EmberStatement::Explain { .. } => Some(strings(&["plan"])),
            _ => None,
        }
    }

    /// Runs a bound query and hands its result batches to `on_batch` as the job produces them,
    /// in partition order (partition 1's batches wait until partition 0 finished). The batches
    /// carry the query's column names. `on_batch` returning false (the reader went away) or
    /// `control.cancel()` cancels the job and its running tasks. `statement` is the SQL the
    /// plan came from, named by the error a panic becomes.
    pub fn stream_plan(
        &self,
        statement: &str,
        plan: &LogicalPlan,
        control: &QueryControl,
        on_batch: impl FnMut(RecordBatch) -> bool + Send,
    ) -> Result<()> {
        guard::guarded(statement, || self.stream_bound(plan, control, on_batch))
    }

    fn stream_bound(
        &self,
        plan: &LogicalPlan,
        control: &QueryControl,
        mut on_batch: impl FnMut(RecordBatch) -> bool,
    ) -> Result<()> {
        let (optimized, _) = self.optimize(plan.clone())?;
        control.check()?;
        let physical = self.physical_with_subqueries_run(optimized)?;
        control.check()?;
        let schema = output_schema(plan, &physical.schema())?;
        let (rdd, shuffles) = self.lower(physical)?;
        let conf = self.conf.read().clone();
        let window = match conf.get_usize("ember.sql.incrementalCollect.partitions") {
            0 => self.context.default_parallelism(),
            n => n,
        };
        let mut listener = |job| control.started(&self.context, job);
        let result =
            self.context
                .stream_partitions(rdd, &conf, window, &mut listener, |_, batches| {
                    for batch in batches {
                        let batch =
                            RecordBatch::try_new(Arc::clone(&schema), batch.columns().to_vec())?;
                        if !on_batch(batch) {
                            return Ok(false);
                        }
                    }
                    Ok(true)
                });
        control.finished();
        // Every job ended, so no task reads the shuffles any more.
        for shuffle in &shuffles {
            self.context.remove_shuffle(*shuffle);
        }
        result.map_err(EmberError::into_root)
    }

    /// The storage level of `name`'s cached data and how much of it the block manager holds;
    /// `None` when `name` is not cached.
    pub fn cache_status(
        &self,
        name: &str,
    ) -> Option<(ember_core::StorageLevel, ember_core::CacheStatus)> {
        let source = self.catalog.cached(name)?;
        let cached = source
            .as_ref()
            .downcast_ref::<ember_physical::operators::cached_scan::CachedTableSource>()?;
        let rdd_id = ember_core::Rdd::id(cached.rdd.as_ref());
        Some((cached.rdd.level(), self.context.cache_status(rdd_id)))
    }
}

mod commands;
pub mod guard;
mod query_execution;
mod subqueries;
