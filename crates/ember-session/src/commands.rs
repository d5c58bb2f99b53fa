//! Spark's commands: everything a statement does besides running a query (DDL, `SET`,
//! `SHOW TABLES`, `DESCRIBE`, `CACHE TABLE`, `EXPLAIN`, table writes), dispatched from
//! [`EmberSession::execute_statement`].

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use arrow::array::{BooleanArray, StringArray};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use arrow::record_batch::RecordBatch;
use datafusion_expr::LogicalPlan;
use ember_common::config::display_value;
use ember_common::{EmberConf, EmberError, Result};
use ember_datasource::{written_files, FileFormat, FileTable, WriteSpec};
use ember_physical::operators::write::WriteExec;
use ember_physical::stages::explain_stages;
use ember_physical::ExecutionPlan;
use ember_sql::catalog::CatalogEntry;
use ember_sql::parser::EmberStatement;
use ember_sql::types::{spark_type_name, sql_to_arrow};

use crate::query_execution::{output_schema, PlanRun};
use crate::{EmberSession, QueryResult};

impl EmberSession {
    pub(crate) fn execute_statement(&self, statement: &EmberStatement) -> Result<QueryResult> {
        match statement {
            EmberStatement::Query(query) => {
                let plan = self.bind(query)?;
                self.run_bound(&plan)
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
                    let timestamps = ember_sql::types::TimestampTypes::of(&self.conf.read());
                    let fields = columns
                        .iter()
                        .map(|c| {
                            Ok(Field::new(
                                c.name.value.clone(),
                                sql_to_arrow(&c.data_type, &timestamps)?,
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
            } => self.insert(&name.to_string(), *overwrite, query, None),
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
                    rows_written: None,
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
    pub(crate) fn create_table_as(
        &self,
        table_name: &str,
        if_not_exists: bool,
        or_replace: bool,
        format: &str,
        options: &BTreeMap<String, String>,
        location: Option<&str>,
        query: &ember_sql::parser::Query,
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
        let rows = self.write_plan(plan, &spec, Arc::clone(&schema), or_replace)?;
        let table = FileTable::open(&location, format, &options, Some(schema), &conf)?;
        self.uncache(table_name);
        self.catalog
            .register_table(table_name, Arc::new(table), true)?;
        Ok(QueryResult::written(rows))
    }

    /// `INSERT INTO t query` adds the query's rows to table `t` as new files; `INSERT
    /// OVERWRITE` replaces its files. Columns are matched by position and cast to the table's
    /// types, as Spark does.
    pub(crate) fn insert(
        &self,
        table_name: &str,
        overwrite: bool,
        query: &ember_sql::parser::Query,
        parameters: Option<&crate::Parameters>,
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
        let plan = self.bind_with(query, parameters)?;
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
        let rows = self.write_plan(plan, &spec, schema, overwrite)?;
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
        Ok(QueryResult::written(rows))
    }

    /// Runs a bound query as a write job: every result partition becomes one file in the
    /// job's temporary folder, and only when all tasks succeeded are the files committed as
    /// the table's next version (the only files for `overwrite`). A failed job or commit
    /// leaves the table as it was, and the statement can be run again. Returns the number of
    /// rows written.
    pub(crate) fn write_plan(
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
        spec.begin().map_err(|e| {
            EmberError::DataSource(format!(
                "Cannot start writing to {}; nothing was written: {e}",
                spec.location
            ))
        })?;
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
        let outcome = spec
            .commit(&files, overwrite)
            .map(|_| files.iter().map(|f| f.rows).sum::<u64>())
            .map_err(|e| {
                EmberError::DataSource(format!(
                    "The write to {} could not be committed, so the table is unchanged and the \
                     statement can be run again: {e}",
                    spec.location
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

    /// `CACHE [LAZY] TABLE name [OPTIONS ('storageLevel' ...)] [AS query]`: the table (or the
    /// query, then registered as a temporary view `name`) is planned once and its result
    /// partitions persisted in the block manager; queries naming it read them from there.
    /// Unless LAZY, a job computes every partition now.
    pub(crate) fn cache_table(
        &self,
        name: &str,
        lazy: bool,
        options: &std::collections::BTreeMap<String, String>,
        query: Option<&ember_sql::parser::Query>,
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

    /// Drops the cached data of `name`, if any; returns whether there was some.
    pub(crate) fn uncache(&self, name: &str) -> bool {
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
    pub(crate) fn explain_analyze(&self, statement: &EmberStatement) -> Result<QueryResult> {
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

    pub(crate) fn explain(
        &self,
        statement: &EmberStatement,
        extended: bool,
    ) -> Result<QueryResult> {
        let EmberStatement::Query(query) = statement else {
            return Err(EmberError::NotSupported(
                "EXPLAIN of statements other than queries".into(),
            ));
        };
        let plan = self.bind(query)?;
        let (optimized, applications) = self.optimize(plan.clone())?;
        let (main, subqueries) = crate::subqueries::name_scalar_subqueries(optimized.clone())?;
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
            let (subquery, _) = crate::subqueries::name_scalar_subqueries(subquery)?;
            text.push_str(&format!(
                "\n== Subquery {name} (run once by the driver before the query) ==\n"
            ));
            text.push_str(&explain_stages(&self.physical(&subquery)?));
        }
        QueryResult::strings(&["plan"], vec![vec![text]])
    }
}

/// A result's schema: the binder's (Spark's) column names, the types and nullability the
/// operators produce, so that every batch fits it.
/// The schema of a table written from `plan`: its column names and types, every column
/// nullable. Two columns of the same name (case-insensitively) are an error, as in Spark.
pub(crate) fn table_schema_of(plan: &LogicalPlan) -> Result<SchemaRef> {
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
        if holds_interval(field.data_type()) {
            return Err(EmberError::analysis(format!(
                "[UNSUPPORTED_DATA_TYPE_FOR_DATASOURCE] A table cannot hold the column `{}` of \
                 the type \"{}\": Parquet and CSV files do not store intervals, as in Spark; \
                 cast it to a string first",
                field.name(),
                ember_sql::types::spark_field_type_name(field).to_uppercase()
            )));
        }
        fields.push(Field::new(field.name(), field.data_type().clone(), true));
    }
    Ok(Arc::new(Schema::new(fields)))
}

/// Whether `data_type` is or holds an interval.
fn holds_interval(data_type: &DataType) -> bool {
    match data_type {
        DataType::Interval(_) | DataType::Duration(_) => true,
        DataType::List(f) | DataType::LargeList(f) | DataType::Map(f, _) => {
            holds_interval(f.data_type())
        }
        DataType::Struct(fields) => fields.iter().any(|f| holds_interval(f.data_type())),
        _ => false,
    }
}

/// One stage's run figures for EXPLAIN ANALYZE.
pub(crate) fn describe_stage_run(stage: &ember_core::StageSummary) -> String {
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
