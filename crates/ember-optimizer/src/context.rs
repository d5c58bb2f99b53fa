//! `OptimizerContext`: what rules may know about the query besides its plan.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use datafusion_common::config::ConfigOptions;
use datafusion_common::DFSchemaRef;
use datafusion_expr::execution_props::ExecutionProps;
use datafusion_expr::simplify::SimplifyContext;
use datafusion_expr::TableSource;
use ember_common::EmberConf;

/// Estimates how many rows a table holds, from whatever the data source knows (Parquet footers,
/// CSV sizes); `None` when it does not know.
pub type TableStatistics = Arc<dyn Fn(&dyn TableSource) -> Option<u64> + Send + Sync>;

/// The configuration key holding the session time zone (`spark.sql.session.timeZone`).
pub const SESSION_TIME_ZONE_KEY: &str = "ember.sql.session.timeZone";

/// Per-query facts shared by every rule: the query's start time (so `current_date` and
/// `now()` fold to the same value everywhere in one query), the session configuration and,
/// when the session provides it, a table row-count estimator for join ordering.
#[derive(Clone)]
pub struct OptimizerContext {
    query_start: DateTime<Utc>,
    conf: EmberConf,
    config_options: Arc<ConfigOptions>,
    table_statistics: Option<TableStatistics>,
}

impl std::fmt::Debug for OptimizerContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OptimizerContext")
            .field("query_start", &self.query_start)
            .field("conf", &self.conf)
            .field("table_statistics", &self.table_statistics.is_some())
            .finish()
    }
}

impl OptimizerContext {
    /// A context for a query starting now, under the given session configuration.
    pub fn new(conf: EmberConf) -> Self {
        let mut config_options = ConfigOptions::default();
        if let Some(time_zone) = conf.get(SESSION_TIME_ZONE_KEY).filter(|tz| !tz.is_empty()) {
            config_options.execution.time_zone = Some(time_zone);
        }
        Self {
            query_start: Utc::now(),
            conf,
            config_options: Arc::new(config_options),
            table_statistics: None,
        }
    }

    /// The same context estimating table row counts with `statistics` (used to order joins
    /// and to choose hash join build sides).
    pub fn with_table_statistics(mut self, statistics: TableStatistics) -> Self {
        self.table_statistics = Some(statistics);
        self
    }

    /// The estimated row count of the table behind `source`, when the estimator knows it.
    pub fn table_rows(&self, source: &dyn TableSource) -> Option<u64> {
        self.table_statistics
            .as_ref()
            .and_then(|statistics| statistics(source))
    }

    /// The same context with a fixed query start time (tests, replays).
    pub fn with_query_start(mut self, query_start: DateTime<Utc>) -> Self {
        self.query_start = query_start;
        self
    }

    /// When the query started; time functions fold to this instant.
    pub fn query_start(&self) -> DateTime<Utc> {
        self.query_start
    }

    /// The session configuration.
    pub fn conf(&self) -> &EmberConf {
        &self.conf
    }

    /// Execution properties for evaluating expressions while optimizing.
    pub fn execution_props(&self) -> ExecutionProps {
        let mut props = ExecutionProps::new();
        props.query_execution_start_time = Some(self.query_start);
        props.config_options = Some(Arc::clone(&self.config_options));
        props
    }

    /// The context handed to `ScalarUDFImpl::simplify` (how `current_date()` folds).
    pub fn simplify_context(&self, schema: DFSchemaRef) -> SimplifyContext {
        SimplifyContext::builder()
            .with_schema(schema)
            .with_query_execution_start_time(Some(self.query_start))
            .with_config_options(Arc::clone(&self.config_options))
            .build()
    }
}

impl Default for OptimizerContext {
    fn default() -> Self {
        Self::new(EmberConf::default())
    }
}
