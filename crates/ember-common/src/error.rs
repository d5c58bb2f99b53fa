//! The one error type that crosses Ember's crate boundaries.

use std::fmt;

/// A position in SQL text, 1-based, as shown to users.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SqlPosition {
    pub line: u64,
    pub column: u64,
}

impl fmt::Display for SqlPosition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}, column {}", self.line, self.column)
    }
}

/// Every failure a user or a peer can cause, with a message that says what would work instead.
#[derive(Debug, thiserror::Error)]
pub enum EmberError {
    /// The SQL text could not be parsed.
    #[error("Syntax error at {position}: {message}")]
    Syntax {
        message: String,
        position: SqlPosition,
    },
    /// The SQL parsed but does not make sense: unknown names, wrong types, unsupported shapes.
    #[error("{}", analysis_message(.message, .position))]
    Analysis {
        message: String,
        position: Option<SqlPosition>,
    },
    /// A feature Ember does not have yet.
    #[error("Not supported yet: {0}")]
    NotSupported(String),
    /// A clause, option or construct of a statement that Ember does not have yet, with where
    /// it is in the SQL text.
    #[error("Not supported yet: {message} ({position})")]
    NotSupportedAt {
        message: String,
        position: SqlPosition,
    },
    /// A problem with a data file or path.
    #[error("{0}")]
    DataSource(String),
    /// A query failed while running (ANSI errors, task failures).
    #[error("{0}")]
    Execution(String),
    /// A bad configuration value.
    #[error("Configuration error: {0}")]
    Config(String),
    #[error("I/O error on {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("Arrow error: {0}")]
    Arrow(#[from] arrow::error::ArrowError),
    #[error("{}", datafusion_message(.0))]
    DataFusion(#[from] datafusion_common::DataFusionError),
    /// A reduce task could not read the output of a map task; the scheduler reruns that map task.
    #[error("Fetch failed for shuffle {shuffle_id}, map {map_index}, reduce {reduce_partition}: {message}")]
    FetchFailed {
        shuffle_id: u64,
        map_index: usize,
        reduce_partition: usize,
        message: String,
    },
    /// The job was cancelled by the user.
    #[error("Query cancelled: {0}")]
    Cancelled(String),
    /// A broken invariant inside Ember: a bug, never the user's fault.
    #[error("Internal error (please report): {0}")]
    Internal(String),
}

fn analysis_message(message: &str, position: &Option<SqlPosition>) -> String {
    match position {
        Some(p) => format!("{message} ({p})"),
        None => message.to_string(),
    }
}

/// DataFusion wraps errors in contexts and prefixes; users want the innermost sentence.
fn datafusion_message(error: &datafusion_common::DataFusionError) -> String {
    use datafusion_common::DataFusionError as E;
    match error.find_root() {
        E::ArrowError(e, _) => e.to_string(),
        E::Execution(m) => m.clone(),
        E::Plan(m) => m.clone(),
        E::NotImplemented(m) => format!("Not supported yet: {m}"),
        other => other.to_string(),
    }
}

impl EmberError {
    pub fn analysis(message: impl Into<String>) -> Self {
        EmberError::Analysis {
            message: message.into(),
            position: None,
        }
    }

    pub fn execution(message: impl Into<String>) -> Self {
        EmberError::Execution(message.into())
    }

    /// A feature Ember refuses, at `position` when the SQL text says where it is.
    pub fn not_supported(message: impl Into<String>, position: Option<SqlPosition>) -> Self {
        match position {
            Some(position) => EmberError::NotSupportedAt {
                message: message.into(),
                position,
            },
            None => EmberError::NotSupported(message.into()),
        }
    }

    /// Whether Ember refused a feature it does not have (with or without a position).
    pub fn is_not_supported(&self) -> bool {
        matches!(
            self,
            EmberError::NotSupported(_) | EmberError::NotSupportedAt { .. }
        )
    }

    pub fn internal(message: impl Into<String>) -> Self {
        EmberError::Internal(message.into())
    }

    pub fn io(path: impl Into<String>, source: std::io::Error) -> Self {
        EmberError::Io {
            path: path.into(),
            source,
        }
    }

    /// The innermost Ember error when this one was carried through DataFusion or Arrow.
    pub fn into_root(self) -> EmberError {
        match self {
            EmberError::DataFusion(datafusion_common::DataFusionError::External(e)) => {
                match e.downcast::<EmberError>() {
                    Ok(inner) => inner.into_root(),
                    Err(e) => {
                        EmberError::DataFusion(datafusion_common::DataFusionError::External(e))
                    }
                }
            }
            EmberError::Arrow(arrow::error::ArrowError::ExternalError(e)) => {
                match e.downcast::<EmberError>() {
                    Ok(inner) => inner.into_root(),
                    Err(e) => EmberError::Arrow(arrow::error::ArrowError::ExternalError(e)),
                }
            }
            other => other,
        }
    }
}

impl From<sqlparser::parser::ParserError> for EmberError {
    fn from(error: sqlparser::parser::ParserError) -> Self {
        EmberError::Syntax {
            message: error.to_string(),
            position: SqlPosition::default(),
        }
    }
}

impl From<EmberError> for datafusion_common::DataFusionError {
    fn from(error: EmberError) -> Self {
        match error {
            EmberError::DataFusion(e) => e,
            other => datafusion_common::DataFusionError::External(Box::new(other)),
        }
    }
}

impl From<EmberError> for arrow::error::ArrowError {
    fn from(error: EmberError) -> Self {
        arrow::error::ArrowError::ExternalError(Box::new(error))
    }
}

pub type Result<T, E = EmberError> = std::result::Result<T, E>;
