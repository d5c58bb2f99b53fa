//! `OptimizerContext`: what rules may know about the query besides its plan.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use datafusion_common::config::ConfigOptions;
use datafusion_common::DFSchemaRef;
use datafusion_expr::execution_props::ExecutionProps;
use datafusion_expr::simplify::SimplifyContext;
use ember_common::EmberConf;

/// The configuration key holding the session time zone (`spark.sql.session.timeZone`).
pub const SESSION_TIME_ZONE_KEY: &str = "ember.sql.session.timeZone";

/// Per-query facts shared by every rule: the query's start time (so `current_date` and
/// `now()` fold to the same value everywhere in one query) and the session configuration.
#[derive(Debug, Clone)]
pub struct OptimizerContext {
    query_start: DateTime<Utc>,
    conf: EmberConf,
    config_options: Arc<ConfigOptions>,
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
        }
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
