//! The driver-side session (Spark's SparkSession): SQL text in, result batches out, through
//! the binder, the optimizer, the physical planner and the RDD scheduler.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use arrow::array::{ArrayRef, BooleanArray, StringArray};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use arrow::record_batch::RecordBatch;
use datafusion_expr::LogicalPlan;
use ember_common::config::display_value;
use ember_common::{EmberConf, EmberError, Result};
use ember_core::EmberContext;
use ember_datasource::{written_files, FileFormat, FileTable, WriteSpec};
use ember_optimizer::{default_optimizer, OptimizerContext};
use ember_physical::operators::write::WriteExec;
use ember_physical::stages::{explain_stages, lower_to_rdd};
use ember_physical::{ExecutionPlan, PhysicalPlanner};
use ember_sql::catalog::CatalogEntry;
use ember_sql::parser::{EmberStatement, ParsedStatement};
use ember_sql::types::{spark_type_name, sql_to_arrow};
pub use ember_sql::Parameters;
use ember_sql::{Binder, SessionCatalog};
use parking_lot::RwLock;

pub use ember_sql::error::render_with_source;

/// The result of one statement: a schema and its rows.
#[derive(Debug, Clone)]
pub struct QueryResult {
    pub schema: SchemaRef,
    pub batches: Vec<RecordBatch>,
}

impl QueryResult {
    pub fn num_rows(&self) -> usize {
        self.batches.iter().map(|b| b.num_rows()).sum()
    }

    fn empty() -> Self {
        QueryResult {
            schema: Arc::new(Schema::empty()),
            batches: vec![],
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
    job: parking_lot::Mutex<Option<(Arc<EmberContext>, ember_common::JobId)>>,
}

impl QueryControl {
    pub fn new() -> Self {
        Self::default()
    }

    /// Cancels the query: its job ends with a `Cancelled` error.
    pub fn cancel(&self) {
        self.cancelled
            .store(true, std::sync::atomic::Ordering::SeqCst);
        if let Some((context, job)) = self.job.lock().as_ref() {
            context.cancel_job(*job);
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
        *self.job.lock() = Some((Arc::clone(context), job));
        // A cancel that came between the last check and now.
        if self.is_cancelled() {
            context.cancel_job(job);
        }
    }

    fn finished(&self) {
        self.job.lock().take();
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
        let statements = ember_sql::parse_statements(sql)?;
        let mut last = QueryResult::empty();
        for statement in statements {
            last = self.execute(&statement)?;
        }
        Ok(last)
    }

    /// Parses a script into statements, so callers can run and time them one by one.
    pub fn parse(&self, sql: &str) -> Result<Vec<ParsedStatement>> {
        ember_sql::parse_statements(sql)
    }

    pub fn execute(&self, statement: &ParsedStatement) -> Result<QueryResult> {
        self.execute_statement(&statement.statement)
    }

    /// Runs a statement whose `?` / `$n` placeholders take `parameters`' values. Only a query
    /// takes parameters; in other statements a placeholder is an error naming it.
    pub fn execute_with(
        &self,
        statement: &ParsedStatement,
        parameters: Option<&Parameters>,
    ) -> Result<QueryResult> {
        match (&statement.statement, parameters) {
            (EmberStatement::Query(query), Some(_)) => {
                let plan = self.bind_with(query, parameters)?;
                self.run_plan(&plan)
            }
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
        let plan = self.bind_with(query, parameters)?;
        let schema = Arc::new(plan.schema().as_arrow().clone());
        Ok(Some((plan, schema)))
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
    /// `control.cancel()` cancels the job and its running tasks.
    pub fn stream_plan(
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
        let partitions: Vec<usize> = (0..rdd.num_partitions()).collect();
        let result = self
            .context
            .submit_job(rdd, partitions, &conf)
            .and_then(|handle| {
                control.started(&self.context, handle.job_id());
                let mut waiting: BTreeMap<usize, Vec<RecordBatch>> = BTreeMap::new();
                let mut next = 0;
                let mut reading = true;
                let mut failure = None;
                // The loop always drains the results and waits for the job, so the shuffles
                // are removed only once no task reads them.
                for (partition, batches) in handle.results().iter() {
                    if !reading {
                        continue;
                    }
                    waiting.insert(partition, batches);
                    while let Some(batches) = waiting.remove(&next) {
                        next += 1;
                        for batch in batches {
                            if !reading {
                                break;
                            }
                            let delivered =
                                RecordBatch::try_new(Arc::clone(&schema), batch.columns().to_vec())
                                    .map_err(EmberError::from)
                                    .map(&mut on_batch);
                            match delivered {
                                Ok(true) => {}
                                Ok(false) => {
                                    reading = false;
                                    handle.cancel();
                                }
                                Err(e) => {
                                    failure = Some(e);
                                    reading = false;
                                    handle.cancel();
                                }
                            }
                        }
                    }
                }
                let outcome = handle.wait();
                control.finished();
                match failure {
                    Some(e) => Err(e),
                    None => outcome,
                }
            });
        for shuffle in &shuffles {
            self.context.remove_shuffle(*shuffle);
        }
        result.map_err(EmberError::into_root)?;
        Ok(())
    }

    fn execute_statement(&self, statement: &EmberStatement) -> Result<QueryResult> {
        match statement {
            EmberStatement::Query(query) => {
                let plan = self.bind(query)?;
                self.run_plan(&plan)
            }
            EmberStatement::Explain {
                extended,
                analyze: false,
                statement,
            } => self.explain(statement, *extended),
            EmberStatement::Explain {
                analyze: true,
                statement,
                ..
            } => self.explain_analyze(statement),
            EmberStatement::CreateTable {
                name,
                if_not_exists,
                or_replace,
                columns,
                format,
                options,
                location,
                as_query,
            } => {
                let table_name = name.to_string();
                if let Some(query) = as_query {
                    if !columns.is_empty() {
                        return Err(EmberError::analysis(format!(
                            "CREATE TABLE {table_name} ... AS SELECT takes its columns from the \
                             query; remove the column list (name the columns in the SELECT)"
                        )));
                    }
                    return self.create_table_as(
                        &table_name,
                        *if_not_exists,
                        *or_replace,
                        format,
                        options,
                        location.as_deref(),
                        query,
                    );
                }
                if self.catalog.table_exists(&table_name) && *if_not_exists {
                    return Ok(QueryResult::empty());
                }
                let mut options: BTreeMap<String, String> = options.clone();
                let path_option = options
                    .iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case("path"))
                    .map(|(_, v)| v.clone());
                let location = location.clone().or(path_option).ok_or_else(|| {
                    EmberError::analysis(format!("CREATE TABLE {table_name} needs a location: add LOCATION '/path' or OPTIONS (path '/path')"))
                })?;
                options.retain(|k, _| !k.eq_ignore_ascii_case("path"));
                let format = FileFormat::from_name(format)?;
                let schema = if columns.is_empty() {
                    None
                } else {
                    let fields = columns
                        .iter()
                        .map(|c| {
                            Ok(Field::new(
                                c.name.value.clone(),
                                sql_to_arrow(&c.data_type)?,
                                true,
                            ))
                        })
                        .collect::<Result<Vec<_>>>()?;
                    Some(Arc::new(Schema::new(fields)))
                };
                let conf = self.conf.read().clone();
                let table = FileTable::open(&location, format, &options, schema, &conf)?;
                self.catalog
                    .register_table(&table_name, Arc::new(table), *or_replace)?;
                Ok(QueryResult::empty())
            }
            EmberStatement::Insert {
                name,
                overwrite,
                query,
            } => self.insert(&name.to_string(), *overwrite, query),
            EmberStatement::CreateView {
                name,
                columns,
                or_replace,
                if_not_exists,
                temporary,
                query,
            } => {
                let view_name = name.to_string();
                if *if_not_exists && self.catalog.lookup(&view_name).is_some() {
                    return Ok(QueryResult::empty());
                }
                let mut plan = self.bind(query)?;
                if !columns.is_empty() {
                    let fields = plan.schema().columns();
                    if fields.len() != columns.len() {
                        return Err(EmberError::analysis(format!(
                            "view {view_name} names {} columns but its query returns {}",
                            columns.len(),
                            fields.len()
                        )));
                    }
                    let renamed: Vec<datafusion_expr::Expr> = fields
                        .into_iter()
                        .zip(columns)
                        .map(|(c, n)| datafusion_expr::Expr::Column(c).alias(n.value.as_str()))
                        .collect();
                    plan = datafusion_expr::LogicalPlanBuilder::from(plan)
                        .project(renamed)?
                        .build()?;
                }
                self.catalog
                    .register_view(&view_name, plan, *temporary, *or_replace)?;
                Ok(QueryResult::empty())
            }
            EmberStatement::Cache {
                name,
                lazy,
                options,
                query,
            } => self.cache_table(&name.to_string(), *lazy, options, query.as_deref()),
            EmberStatement::Uncache { name, if_exists } => {
                let name = name.to_string();
                if !self.uncache(&name) && !*if_exists && self.catalog.lookup(&name).is_none() {
                    return Err(EmberError::analysis(format!(
                        "Table or view {name} cannot be found; use UNCACHE TABLE IF EXISTS {name} to ignore this"
                    )));
                }
                Ok(QueryResult::empty())
            }
            EmberStatement::ClearCache => {
                for (name, _) in self.catalog.cached_all() {
                    self.uncache(&name);
                }
                Ok(QueryResult::empty())
            }
            EmberStatement::Drop {
                name,
                if_exists,
                view,
            } => {
                // Spark uncaches what it drops.
                self.uncache(&name.to_string());
                let existed = self.catalog.drop(&name.to_string(), *view)?;
                if !existed && !*if_exists {
                    let kind = if *view { "View" } else { "Table" };
                    return Err(EmberError::analysis(format!(
                        "{kind} {name} does not exist; use DROP {} IF EXISTS {name} to ignore this",
                        kind.to_uppercase()
                    )));
                }
                Ok(QueryResult::empty())
            }
            EmberStatement::ShowTables => {
                let entries = self.catalog.list();
                let schema = Arc::new(Schema::new(vec![
                    Field::new("namespace", DataType::Utf8, false),
                    Field::new("tableName", DataType::Utf8, false),
                    Field::new("isTemporary", DataType::Boolean, false),
                ]));
                let batch = RecordBatch::try_new(
                    Arc::clone(&schema),
                    vec![
                        Arc::new(StringArray::from(
                            entries
                                .iter()
                                .map(|(_, t, _)| if *t { "" } else { "default" })
                                .collect::<Vec<_>>(),
                        )),
                        Arc::new(StringArray::from(
                            entries
                                .iter()
                                .map(|(n, _, _)| n.as_str())
                                .collect::<Vec<_>>(),
                        )),
                        Arc::new(BooleanArray::from(
                            entries.iter().map(|(_, t, _)| *t).collect::<Vec<_>>(),
                        )),
                    ],
                )?;
                Ok(QueryResult {
                    schema,
                    batches: vec![batch],
                })
            }
            EmberStatement::Describe { name } => {
                let sql = format!("SELECT * FROM {name}");
                let statements = ember_sql::parse_statements(&sql)?;
                let Some(EmberStatement::Query(query)) =
                    statements.into_iter().next().map(|s| s.statement)
                else {
                    return Err(EmberError::internal("DESCRIBE target did not parse"));
                };
                let plan = self.bind(&query)?;
                let rows = plan
                    .schema()
                    .fields()
                    .iter()
                    .map(|f| {
                        vec![
                            f.name().clone(),
                            spark_type_name(f.data_type()),
                            String::new(),
                        ]
                    })
                    .collect();
                QueryResult::strings(&["col_name", "data_type", "comment"], rows)
            }
            EmberStatement::Set { key, value } => match (key, value) {
                (Some(k), Some(v)) => {
                    self.conf.write().set(k, v)?;
                    let shown = display_value(k, v);
                    QueryResult::strings(&["key", "value"], vec![vec![k.clone(), shown]])
                }
                (Some(k), None) => {
                    let v = self
                        .conf
                        .read()
                        .get(k)
                        .map(|v| display_value(k, &v))
                        .unwrap_or_else(|| "<undefined>".to_string());
                    QueryResult::strings(&["key", "value"], vec![vec![k.clone(), v]])
                }
                _ => {
                    let rows = self
                        .conf
                        .read()
                        .all()
                        .into_iter()
                        .map(|(k, v)| {
                            let shown = display_value(&k, &v);
                            vec![k, shown]
                        })
                        .collect();
                    QueryResult::strings(&["key", "value"], rows)
                }
            },
            EmberStatement::Reset { key } => {
                let mut conf = self.conf.write();
                match key {
                    Some(k) => conf.unset(k),
                    None => *conf = EmberConf::new(),
                }
                Ok(QueryResult::empty())
            }
        }
    }

    /// `CREATE [OR REPLACE] TABLE t USING fmt [OPTIONS (...)] [LOCATION '...'] AS query`:
    /// the query's result written as the table's files (see [`EmberSession::write_plan`]),
    /// then the table registered over them. Without LOCATION the table goes to
    /// `ember.sql.warehouse.dir/<t>`.
    #[allow(clippy::too_many_arguments)]
    fn create_table_as(
        &self,
        table_name: &str,
        if_not_exists: bool,
        or_replace: bool,
        format: &str,
        options: &BTreeMap<String, String>,
        location: Option<&str>,
        query: &sqlparser_query::Query,
    ) -> Result<QueryResult> {
        if self.catalog.table_exists(table_name) {
            if if_not_exists {
                return Ok(QueryResult::empty());
            }
            if !or_replace {
                return Err(EmberError::analysis(format!(
                    "Table {table_name} already exists; use CREATE OR REPLACE TABLE, INSERT INTO \
                     {table_name}, or DROP TABLE {table_name} first"
                )));
            }
        }
        let mut options = options.clone();
        let path_option = options
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("path"))
            .map(|(_, v)| v.clone());
        options.retain(|k, _| !k.eq_ignore_ascii_case("path"));
        let conf = self.conf.read().clone();
        let location = match location.map(str::to_string).or(path_option) {
            Some(location) => location,
            None => {
                let warehouse = conf.get("ember.sql.warehouse.dir").unwrap_or_default();
                format!(
                    "{}/{}",
                    warehouse.trim_end_matches('/'),
                    ember_sql::catalog::normalize_name(table_name)
                )
            }
        };
        let format = FileFormat::from_name(format)?;
        let spec = WriteSpec::new(&location, format, &options, &conf)?;
        if !or_replace && spec.existing_files()? > 0 {
            return Err(EmberError::analysis(format!(
                "Cannot create table {table_name}: its location {location} already holds data \
                 files; use CREATE OR REPLACE TABLE to replace them, or another LOCATION"
            )));
        }
        let plan = self.bind(query)?;
        let schema = table_schema_of(&plan)?;
        self.write_plan(plan, &spec, Arc::clone(&schema), or_replace)?;
        let table = FileTable::open(&location, format, &options, Some(schema), &conf)?;
        self.uncache(table_name);
        self.catalog
            .register_table(table_name, Arc::new(table), true)?;
        Ok(QueryResult::empty())
    }

    /// `INSERT INTO t query` adds the query's rows to table `t` as new files; `INSERT
    /// OVERWRITE` replaces its files. Columns are matched by position and cast to the table's
    /// types, as Spark does.
    fn insert(
        &self,
        table_name: &str,
        overwrite: bool,
        query: &sqlparser_query::Query,
    ) -> Result<QueryResult> {
        let table = match self.catalog.lookup(table_name) {
            Some(CatalogEntry::Table(table)) => table,
            Some(CatalogEntry::View(_)) => {
                return Err(EmberError::analysis(format!(
                    "Cannot insert into {table_name}: it is a view; only tables over files can be \
                     written"
                )))
            }
            None => {
                return Err(EmberError::analysis(format!(
                    "Table not found: {table_name}; create it first with CREATE TABLE \
                     {table_name} USING parquet LOCATION '...' AS SELECT ..."
                )))
            }
        };
        if table.partition_columns() > 0 {
            return Err(EmberError::NotSupported(format!(
                "INSERT into the partitioned table {table_name} (writing key=value folders)"
            )));
        }
        let location = table.location().to_string();
        if location.contains(['*', '?', '[']) || std::path::Path::new(&location).is_file() {
            return Err(EmberError::analysis(format!(
                "Cannot insert into {table_name}: its location {location} is a file or a \
                 pattern, not a folder"
            )));
        }
        let target = table.schema();
        let plan = self.bind(query)?;
        let produced = plan.schema().fields().len();
        if produced != target.fields().len() {
            return Err(EmberError::analysis(format!(
                "Cannot write to {table_name}: the query produces {produced} columns but the \
                 table has {} ({})",
                target.fields().len(),
                target
                    .fields()
                    .iter()
                    .map(|f| f.name().as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
        let casts: Vec<datafusion_expr::Expr> = plan
            .schema()
            .columns()
            .into_iter()
            .zip(target.fields())
            .map(|(column, field)| {
                datafusion_expr::cast(
                    datafusion_expr::Expr::Column(column),
                    field.data_type().clone(),
                )
                .alias(field.name())
            })
            .collect();
        let plan = datafusion_expr::LogicalPlanBuilder::from(plan)
            .project(casts)?
            .build()?;
        let conf = self.conf.read().clone();
        let spec = WriteSpec::new(&location, table.format(), table.options(), &conf)?;
        let schema = table_schema_of(&plan)?;
        self.write_plan(plan, &spec, schema, overwrite)?;
        let refreshed = FileTable::open(
            &location,
            table.format(),
            table.options(),
            Some(table.schema()),
            &conf,
        )?;
        self.uncache(table_name);
        self.catalog
            .register_table(table_name, Arc::new(refreshed), true)?;
        Ok(QueryResult::empty())
    }

    /// Runs a bound query as a write job: every result partition becomes one file in the
    /// job's temporary folder, and only when all tasks succeeded are the files moved into
    /// place (after deleting the old ones for `overwrite`). A failed job leaves nothing
    /// visible. Returns the number of rows written.
    fn write_plan(
        &self,
        plan: LogicalPlan,
        spec: &WriteSpec,
        table_schema: SchemaRef,
        overwrite: bool,
    ) -> Result<u64> {
        let started = Instant::now();
        let (optimized, _) = self.optimize(plan)?;
        let physical = self.physical_with_subqueries_run(optimized)?;
        let write: Arc<dyn ExecutionPlan> =
            Arc::new(WriteExec::try_new(spec.clone(), table_schema, physical)?);
        let (rdd, shuffles) = self.lower(write)?;
        let conf = self.conf.read().clone();
        let result = self.context.collect_with_summary(rdd, &conf);
        for shuffle in &shuffles {
            self.context.remove_shuffle(*shuffle);
        }
        let files = match result
            .map_err(EmberError::into_root)
            .and_then(|(batches, _)| written_files(&batches))
        {
            Ok(files) => files,
            Err(e) => {
                spec.abort();
                return Err(e);
            }
        };
        // Once the commit starts the job's files are not removed: a commit that fails midway
        // keeps them in the temporary folder rather than lose rows.
        let outcome = spec
            .commit(&files, overwrite)
            .map(|_| files.iter().map(|f| f.rows).sum::<u64>())
            .map_err(|e| {
                EmberError::DataSource(format!(
                    "The write to {} finished but committing its files failed; files not yet \
                     moved are kept under {}/_temporary/{}: {e}",
                    spec.location, spec.location, spec.job_id
                ))
            });
        match outcome {
            Ok(rows) => {
                log::info!(
                    "wrote {rows} rows to {} in {:?}",
                    spec.location,
                    started.elapsed()
                );
                Ok(rows)
            }
            Err(e) => Err(e),
        }
    }

    fn bind(&self, query: &sqlparser_query::Query) -> Result<LogicalPlan> {
        self.bind_with(query, None)
    }

    /// Binds a query, its `?` / `$n` placeholders to `parameters`.
    fn bind_with(
        &self,
        query: &sqlparser_query::Query,
        parameters: Option<&Parameters>,
    ) -> Result<LogicalPlan> {
        let conf = self.conf.read().clone();
        let mut binder = Binder::new(&self.catalog, &conf).with_parameters(parameters);
        binder.bind_query_statement(query)
    }

    fn shuffle_partitions(&self) -> usize {
        match self.conf.read().get_usize("ember.sql.shuffle.partitions") {
            0 => 2 * self.context.default_parallelism(),
            n => n,
        }
    }

    /// The optimizer's context: configuration and row counts of the file tables.
    fn optimizer_context(&self) -> OptimizerContext {
        OptimizerContext::new(self.conf()).with_table_statistics(Arc::new(|source| {
            source
                .downcast_ref::<ember_datasource::FileTableSource>()
                .and_then(|file| file.table.estimated_rows())
        }))
    }

    fn optimize(
        &self,
        plan: LogicalPlan,
    ) -> Result<(LogicalPlan, Vec<ember_optimizer::RuleApplication>)> {
        let plan = self.without_stale_caches(plan)?;
        default_optimizer().optimize(plan, &self.optimizer_context())
    }

    /// A view bound while a table was cached reads the cached data; once that cache is gone
    /// (UNCACHE, CLEAR CACHE, re-CACHE), it reads the plan that was cached again.
    fn without_stale_caches(&self, plan: LogicalPlan) -> Result<LogicalPlan> {
        use datafusion_common::tree_node::{Transformed, TreeNode};
        use ember_physical::operators::cached_scan::CachedTableSource;
        let rewritten = plan.transform_up(|node| {
            let LogicalPlan::TableScan(scan) = &node else {
                return Ok(Transformed::no(node));
            };
            let Some(cached) = scan.source.as_ref().downcast_ref::<CachedTableSource>() else {
                return Ok(Transformed::no(node));
            };
            let current = self.catalog.cached(&cached.name);
            let live = current
                .as_ref()
                .is_some_and(|c| std::ptr::addr_eq(Arc::as_ptr(c), Arc::as_ptr(&scan.source)));
            if live {
                return Ok(Transformed::no(node));
            }
            // Columns as the scan named them, over the plan that was cached.
            let original = self
                .without_stale_caches((*cached.plan).clone())
                .map_err(|e| datafusion_common::DataFusionError::External(Box::new(e)))?;
            let all_columns = original.schema().columns();
            let columns: Vec<datafusion_common::Column> = match &scan.projection {
                Some(indices) => indices
                    .iter()
                    .filter_map(|i| all_columns.get(*i).cloned())
                    .collect(),
                None => all_columns,
            };
            let exprs: Vec<datafusion_expr::Expr> = columns
                .into_iter()
                .zip(scan.projected_schema.iter())
                .map(|(column, (qualifier, field))| {
                    datafusion_expr::Expr::Column(column)
                        .alias_qualified(qualifier.cloned(), field.name())
                })
                .collect();
            let restored = datafusion_expr::LogicalPlanBuilder::from(original)
                .project(exprs)?
                .build()?;
            Ok(Transformed::yes(restored))
        });
        Ok(rewritten.map_err(|e| EmberError::from(e).into_root())?.data)
    }

    fn physical(&self, plan: &LogicalPlan) -> Result<Arc<dyn ExecutionPlan>> {
        let planner = PhysicalPlanner::new(self.shuffle_partitions());
        let threshold = self
            .conf
            .read()
            .get_bytes_or_off("ember.sql.autoBroadcastJoinThreshold");
        let planner = match threshold {
            Some(threshold) => {
                let cx = self.optimizer_context();
                planner.with_broadcast_threshold(
                    threshold,
                    Arc::new(move |plan: &LogicalPlan| estimated_bytes(plan, &cx)),
                )
            }
            None => planner,
        };
        planner.create_physical_plan(plan)
    }

    /// Optimizes, plans and runs a bound query, collecting its result.
    pub fn run_plan(&self, plan: &LogicalPlan) -> Result<QueryResult> {
        let started = Instant::now();
        let (optimized, _) = self.optimize(plan.clone())?;
        let (physical_schema, batches) = self.run_optimized(optimized)?;
        let schema = output_schema(plan, &physical_schema)?;
        let batches = batches
            .into_iter()
            .map(|b| {
                Ok(RecordBatch::try_new(
                    Arc::clone(&schema),
                    b.columns().to_vec(),
                )?)
            })
            .collect::<Result<Vec<_>>>()?;
        log::debug!("query finished in {:?}", started.elapsed());
        Ok(QueryResult { schema, batches })
    }

    /// The RDD lineage of a physical plan. With `ember.sql.verifyTaskSerialization`, every
    /// stage fragment goes through the task wire format first and the decoded copy runs.
    fn lower(
        &self,
        physical: Arc<dyn ExecutionPlan>,
    ) -> Result<(Arc<dyn ember_core::Rdd>, Vec<ember_common::ShuffleId>)> {
        if !self
            .conf
            .read()
            .get_bool("ember.sql.verifyTaskSerialization")
        {
            return lower_to_rdd(physical, &self.context);
        }
        ember_physical::stages::lower_to_rdd_with(physical, &self.context, &|fragment| {
            let bytes = ember_runtime::codec::plan::plan_to_bytes(&fragment)?;
            ember_runtime::codec::plan::plan_from_bytes(&bytes)
        })
    }

    /// Runs an optimized plan: first its uncorrelated scalar subqueries, each as a job of its
    /// own whose value replaces it, then the plan itself. Returns the physical output schema
    /// and the batches.
    fn run_optimized(&self, plan: LogicalPlan) -> Result<(SchemaRef, Vec<RecordBatch>)> {
        let run = self.run_with_summary(plan)?;
        Ok((run.physical.schema(), run.batches))
    }

    /// The physical plan of an optimized plan, its uncorrelated scalar subqueries run first (each
    /// as a job of its own) and replaced by their values.
    fn physical_with_subqueries_run(&self, plan: LogicalPlan) -> Result<Arc<dyn ExecutionPlan>> {
        let plan = subqueries::substitute_scalar_subqueries(plan, &mut |subquery| {
            self.run_optimized(subquery.clone())
                .map(|(_, batches)| batches)
        })?;
        self.physical(&plan)
    }

    /// Runs an optimized plan (its uncorrelated scalar subqueries first, as jobs of their own)
    /// and keeps what EXPLAIN ANALYZE reports: the physical plan, its shuffles in stage order
    /// and the job's figures. The shuffles are removed once the job is over.
    fn run_with_summary(&self, plan: LogicalPlan) -> Result<PlanRun> {
        let physical = self.physical_with_subqueries_run(plan)?;
        let (rdd, shuffles) = self.lower(Arc::clone(&physical))?;
        let conf = self.conf.read().clone();
        let result = self.context.collect_with_summary(rdd, &conf);
        for shuffle in &shuffles {
            self.context.remove_shuffle(*shuffle);
        }
        let (batches, summary) = result.map_err(EmberError::into_root)?;
        Ok(PlanRun {
            physical,
            shuffles,
            batches,
            summary,
        })
    }

    /// `CACHE [LAZY] TABLE name [OPTIONS ('storageLevel' ...)] [AS query]`: the table (or the
    /// query, then registered as a temporary view `name`) is planned once and its result
    /// partitions persisted in the block manager; queries naming it read them from there.
    /// Unless LAZY, a job computes every partition now.
    fn cache_table(
        &self,
        name: &str,
        lazy: bool,
        options: &std::collections::BTreeMap<String, String>,
        query: Option<&sqlparser_query::Query>,
    ) -> Result<QueryResult> {
        let mut level = ember_core::StorageLevel::MemoryAndDisk;
        for (key, value) in options {
            if key.eq_ignore_ascii_case("storageLevel") {
                level = value.parse()?;
            } else {
                return Err(EmberError::analysis(format!(
                    "Unknown CACHE TABLE option '{key}'; the only option is 'storageLevel' (MEMORY_ONLY, MEMORY_AND_DISK or DISK_ONLY)"
                )));
            }
        }
        let plan = match query {
            Some(query) => {
                let plan = self.bind(query)?;
                self.catalog.register_view(name, plan.clone(), true, true)?;
                plan
            }
            None => {
                // Re-caching reads the table itself, not its previous cache.
                self.uncache(name);
                let statements =
                    ember_sql::parser::parse_statements(&format!("SELECT * FROM {name}"))?;
                match statements.into_iter().next().map(|s| s.statement) {
                    Some(EmberStatement::Query(query)) => self.bind(&query)?,
                    _ => {
                        return Err(EmberError::analysis(format!(
                            "CACHE TABLE needs a table or view name, got '{name}'"
                        )))
                    }
                }
            }
        };
        self.uncache(name);
        let (optimized, _) = self.optimize(plan.clone())?;
        let physical = self.physical_with_subqueries_run(optimized)?;
        let schema = output_schema(&plan, &physical.schema())?;
        let (rdd, shuffles) = self.lower(physical)?;
        let cached = Arc::new(ember_core::CachedRdd::new(
            self.context.new_rdd_id(),
            rdd,
            level,
        ));
        let source = Arc::new(ember_physical::operators::cached_scan::CachedTableSource {
            name: name.to_string(),
            rdd: Arc::clone(&cached),
            schema,
            shuffles,
            plan: Arc::new(plan),
        });
        self.catalog.cache(name, source.clone());
        if !lazy {
            let conf = self.conf.read().clone();
            // A scan of the cache fills it: a plan fragment, so executor processes can run it.
            let scan: Arc<dyn ember_physical::plan::ExecutionPlan> = Arc::new(
                ember_physical::operators::cached_scan::CachedScanExec::try_new(source, None)?,
            );
            let fill = Arc::new(ember_physical::stages::PlanRdd::new(
                self.context.new_rdd_id(),
                scan,
                vec![ember_core::Dependency::OneToOne(
                    cached as Arc<dyn ember_core::Rdd>,
                )],
            ));
            let rows = self
                .context
                .count(fill, &conf)
                .map_err(EmberError::into_root);
            if let Err(e) = rows {
                self.uncache(name);
                return Err(e);
            }
        }
        Ok(QueryResult::empty())
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

    /// Drops the cached data of `name`, if any; returns whether there was some.
    fn uncache(&self, name: &str) -> bool {
        let Some(source) = self.catalog.uncache(name) else {
            return false;
        };
        if let Some(cached) = source
            .as_ref()
            .downcast_ref::<ember_physical::operators::cached_scan::CachedTableSource>(
        ) {
            self.context
                .remove_rdd(ember_core::Rdd::id(cached.rdd.as_ref()));
            for shuffle in &cached.shuffles {
                self.context.remove_shuffle(*shuffle);
            }
        }
        true
    }

    /// `EXPLAIN ANALYZE`: runs the query (its scalar subqueries first), then shows the
    /// physical plan with each stage's tasks, time, rows and shuffle bytes.
    fn explain_analyze(&self, statement: &EmberStatement) -> Result<QueryResult> {
        let EmberStatement::Query(query) = statement else {
            return Err(EmberError::NotSupported(
                "EXPLAIN ANALYZE of statements other than queries".into(),
            ));
        };
        let started = Instant::now();
        let plan = self.bind(query)?;
        let (optimized, _) = self.optimize(plan)?;
        let PlanRun {
            physical,
            shuffles,
            batches,
            summary,
        } = self.run_with_summary(optimized)?;
        let rows: usize = batches.iter().map(|b| b.num_rows()).sum();
        // EXPLAIN numbers map stages in shuffle order, the result stage last.
        let mut annotations: Vec<String> = shuffles
            .iter()
            .map(|shuffle| {
                summary
                    .stages
                    .iter()
                    .find(|s| s.shuffle_id == Some(*shuffle))
                    .map(describe_stage_run)
                    .unwrap_or_else(|| "[not run: its output already existed]".to_string())
            })
            .collect();
        annotations.push(
            summary
                .stages
                .iter()
                .find(|s| s.shuffle_id.is_none())
                .map(describe_stage_run)
                .unwrap_or_default(),
        );
        let mut text = String::from("== Physical Plan (analyzed) ==\n");
        text.push_str(&ember_physical::stages::explain_stages_annotated(
            &physical,
            &annotations,
        ));
        text.push_str(&format!(
            "\n{rows} rows in {:.3} s; {} ran {} task attempts in {} stages, spilled {} bytes\n",
            started.elapsed().as_secs_f64(),
            summary.job_id,
            summary.task_attempts(),
            summary.stages.len(),
            summary.spill_bytes()
        ));
        QueryResult::strings(&["plan"], vec![vec![text]])
    }

    fn explain(&self, statement: &EmberStatement, extended: bool) -> Result<QueryResult> {
        let EmberStatement::Query(query) = statement else {
            return Err(EmberError::NotSupported(
                "EXPLAIN of statements other than queries".into(),
            ));
        };
        let plan = self.bind(query)?;
        let (optimized, applications) = self.optimize(plan.clone())?;
        let (main, subqueries) = subqueries::name_scalar_subqueries(optimized.clone())?;
        let physical = self.physical(&main)?;
        let mut text = String::new();
        if extended {
            text.push_str("== Analyzed Logical Plan ==\n");
            text.push_str(&format!("{}\n\n", plan.display_indent()));
            if !applications.is_empty() {
                text.push_str("== Optimizer Rules Applied ==\n");
                for a in &applications {
                    text.push_str(&format!("{} / {}\n", a.batch, a.rule));
                }
                text.push('\n');
            }
            text.push_str("== Optimized Logical Plan ==\n");
            text.push_str(&format!("{}\n\n", optimized.display_indent()));
        }
        text.push_str("== Physical Plan ==\n");
        text.push_str(&explain_stages(&physical));
        for (name, subquery) in subqueries {
            // Nested subqueries are shown under their own names inside this one.
            let (subquery, _) = subqueries::name_scalar_subqueries(subquery)?;
            text.push_str(&format!(
                "\n== Subquery {name} (run once by the driver before the query) ==\n"
            ));
            text.push_str(&explain_stages(&self.physical(&subquery)?));
        }
        QueryResult::strings(&["plan"], vec![vec![text]])
    }
}

mod subqueries;

/// A result's schema: the binder's (Spark's) column names, the types and nullability the
/// operators produce, so that every batch fits it.
/// The schema of a table written from `plan`: its column names and types, every column
/// nullable. Two columns of the same name (case-insensitively) are an error, as in Spark.
fn table_schema_of(plan: &LogicalPlan) -> Result<SchemaRef> {
    let mut seen = std::collections::BTreeSet::new();
    let mut fields = Vec::new();
    for field in plan.schema().fields() {
        if !seen.insert(field.name().to_lowercase()) {
            return Err(EmberError::analysis(format!(
                "Found duplicate column `{}` in the query of a table write; give the columns \
                 distinct names with AS",
                field.name()
            )));
        }
        fields.push(Field::new(field.name(), field.data_type().clone(), true));
    }
    Ok(Arc::new(Schema::new(fields)))
}

fn output_schema(plan: &LogicalPlan, produced: &SchemaRef) -> Result<SchemaRef> {
    if plan.schema().fields().len() != produced.fields().len() {
        return Err(EmberError::internal(format!(
            "the physical plan produces {} columns but the query has {}",
            produced.fields().len(),
            plan.schema().fields().len()
        )));
    }
    let fields: Vec<Field> = plan
        .schema()
        .fields()
        .iter()
        .zip(produced.fields())
        .map(|(logical, produced)| {
            Field::new(
                logical.name(),
                produced.data_type().clone(),
                produced.is_nullable() || logical.is_nullable(),
            )
        })
        .collect();
    Ok(Arc::new(Schema::new(fields)))
}

/// A finished run of a plan: what ran, the shuffles it used (in stage order), its result and
/// the job's figures.
struct PlanRun {
    physical: Arc<dyn ExecutionPlan>,
    shuffles: Vec<ember_common::ShuffleId>,
    batches: Vec<RecordBatch>,
    summary: ember_core::JobSummary,
}

/// One stage's run figures for EXPLAIN ANALYZE.
fn describe_stage_run(stage: &ember_core::StageSummary) -> String {
    let mut parts = vec![
        format!("tasks={}", stage.num_tasks),
        format!("time={:.3}s", stage.duration.as_secs_f64()),
        format!("rows={}", stage.rows_out),
    ];
    if stage.attempts != stage.num_tasks {
        parts.push(format!("attempts={}", stage.attempts));
    }
    if stage.shuffle_records_read > 0 || stage.shuffle_bytes_read > 0 {
        parts.push(format!(
            "shuffle read={} rows/{} bytes",
            stage.shuffle_records_read, stage.shuffle_bytes_read
        ));
    }
    if stage.shuffle_id.is_some() {
        parts.push(format!(
            "shuffle write={} rows/{} bytes",
            stage.shuffle_records_written, stage.shuffle_bytes_written
        ));
    }
    if stage.spill_bytes > 0 {
        parts.push(format!("spill={} bytes", stage.spill_bytes));
    }
    format!("[{}]", parts.join(", "))
}

/// Estimated output size of `plan` in bytes, for choosing broadcast joins: rows from
/// [`broadcast_rows`] times an estimated row width (Spark's defaults: 20 bytes per string,
/// the type's width otherwise, 8 bytes of row overhead).
fn estimated_bytes(plan: &LogicalPlan, cx: &OptimizerContext) -> Option<f64> {
    let rows = broadcast_rows(plan, cx)?;
    let width: usize = plan
        .schema()
        .fields()
        .iter()
        .map(|f| match f.data_type() {
            DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => 20,
            DataType::Binary | DataType::LargeBinary | DataType::BinaryView => 20,
            DataType::Decimal128(..) => 16,
            DataType::Boolean => 1,
            other => other.primitive_width().unwrap_or(8),
        })
        .sum();
    Some(rows * (width + 8) as f64)
}

/// A deliberately high row estimate (broadcasting too much costs memory and parallelism, too
/// little only a shuffle): filters apply their selectivity guesses, but grouping is assumed
/// to keep every row and a join to produce the product of its sides, as Spark assumes
/// without statistics. `None` when a table under `plan` has no row count.
fn broadcast_rows(plan: &LogicalPlan, cx: &OptimizerContext) -> Option<f64> {
    use datafusion_common::JoinType;
    let rows = match plan {
        LogicalPlan::TableScan(scan) => {
            let rows = cx.table_rows(scan.source.as_ref())? as f64;
            scan.fetch.map_or(rows, |fetch| rows.min(fetch as f64))
        }
        LogicalPlan::Filter(filter) => {
            broadcast_rows(&filter.input, cx)?
                * ember_optimizer::cardinality::selectivity(&filter.predicate)
        }
        LogicalPlan::Aggregate(aggregate) if aggregate.group_expr.is_empty() => 1.0,
        LogicalPlan::Limit(limit) => {
            let rows = broadcast_rows(&limit.input, cx)?;
            match limit.get_fetch_type() {
                Ok(datafusion_expr::logical_plan::FetchType::Literal(Some(fetch))) => {
                    rows.min(fetch as f64)
                }
                _ => rows,
            }
        }
        LogicalPlan::Join(join) => {
            let left = broadcast_rows(&join.left, cx)?;
            let right = broadcast_rows(&join.right, cx)?;
            match join.join_type {
                JoinType::LeftSemi | JoinType::LeftAnti | JoinType::LeftMark => left,
                JoinType::RightSemi | JoinType::RightAnti | JoinType::RightMark => right,
                _ => left * right,
            }
        }
        LogicalPlan::Union(union) => union
            .inputs
            .iter()
            .map(|input| broadcast_rows(input, cx))
            .sum::<Option<f64>>()?,
        LogicalPlan::Values(values) => values.values.len() as f64,
        LogicalPlan::EmptyRelation(_) => 1.0,
        LogicalPlan::Projection(_)
        | LogicalPlan::SubqueryAlias(_)
        | LogicalPlan::Sort(_)
        | LogicalPlan::Aggregate(_)
        | LogicalPlan::Window(_)
        | LogicalPlan::Distinct(_) => {
            let inputs = plan.inputs();
            broadcast_rows(inputs.first()?, cx)?
        }
        _ => return None,
    };
    Some(rows.max(1.0))
}

mod sqlparser_query {
    pub use ember_sql::parser::Query;
}
