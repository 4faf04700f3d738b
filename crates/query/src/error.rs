//! The crate's one error type, split by whose fault a failure is.

use std::time::Duration;

use datafusion::arrow::error::ArrowError;
use datafusion::error::DataFusionError;

use crate::limits::Limit;

/// Why a query produced no (or no complete) answer.
#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    /// Valid SQL that is not a read of the lake: DDL, DML, COPY, SET, a file outside the lake.
    #[error("{0}")]
    Refused(String),
    /// SQL that does not parse or plan, or fails on the data in a way the author can fix.
    #[error("{0}")]
    BadQuery(String),
    /// A statement larger or deeper than the engine's [`crate::QueryLimits`] allow; the message
    /// names the limit and the flag that raises it.
    #[error("{message}")]
    LimitExceeded { limit: Limit, message: String },
    /// The query ran longer than the configured timeout and was stopped.
    #[error("query stopped after the {} timeout", humantime::format_duration(*.0))]
    Timeout(Duration),
    /// The query needed more memory than one query may use.
    #[error("{0}")]
    ResourcesExhausted(String),
    /// Every query slot stayed busy for the whole queue timeout.
    #[error("too many queries are running; retry later")]
    Busy,
    /// The lake was written by a release before the Delta lake; the message says how to
    /// convert it. Only [`crate::Engine::open`] returns it.
    #[error("{0}")]
    Unconverted(String),
    /// The lake or the engine failed; the message is logged, not shown to clients.
    #[error("{0}")]
    Internal(String),
}

impl QueryError {
    /// True when the client caused the failure and can fix it by changing the request.
    pub fn is_client_error(&self) -> bool {
        matches!(
            self,
            QueryError::Refused(_)
                | QueryError::BadQuery(_)
                | QueryError::LimitExceeded { .. }
                | QueryError::ResourcesExhausted(_)
        )
    }

    /// A short stable name for metrics and JSON error bodies.
    pub fn kind(&self) -> &'static str {
        match self {
            QueryError::Refused(_) => "refused",
            QueryError::BadQuery(_) => "bad_query",
            QueryError::LimitExceeded { .. } => "limit_exceeded",
            QueryError::Timeout(_) => "timeout",
            QueryError::ResourcesExhausted(_) => "resources_exhausted",
            QueryError::Busy => "busy",
            QueryError::Unconverted(_) => "unconverted_lake",
            QueryError::Internal(_) => "internal",
        }
    }
}

impl From<DataFusionError> for QueryError {
    fn from(err: DataFusionError) -> Self {
        let message = err.to_string();
        match err.find_root() {
            DataFusionError::SQL(..)
            | DataFusionError::Plan(_)
            | DataFusionError::SchemaError(..)
            | DataFusionError::NotImplemented(_)
            | DataFusionError::Configuration(_)
            | DataFusionError::Execution(_) => QueryError::BadQuery(message),
            DataFusionError::ResourcesExhausted(_) => QueryError::ResourcesExhausted(message),
            DataFusionError::ArrowError(arrow, _) if arrow_is_client(arrow) => {
                QueryError::BadQuery(message)
            }
            _ => QueryError::Internal(message),
        }
    }
}

/// Arrow errors a query's author causes: a cast of bad text, a division by zero, an overflow.
fn arrow_is_client(err: &ArrowError) -> bool {
    matches!(
        err,
        ArrowError::CastError(_)
            | ArrowError::ComputeError(_)
            | ArrowError::DivideByZero
            | ArrowError::ArithmeticOverflow(_)
            | ArrowError::ParseError(_)
            | ArrowError::InvalidArgumentError(_)
    )
}

impl From<std::io::Error> for QueryError {
    fn from(err: std::io::Error) -> Self {
        QueryError::Internal(err.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn planning_errors_are_the_clients_and_io_errors_are_ours() {
        let plan = DataFusionError::Plan("table 'x' not found".into());
        assert!(QueryError::from(plan).is_client_error());
        let wrapped = DataFusionError::Context(
            "while planning".into(),
            Box::new(DataFusionError::ResourcesExhausted("too big".into())),
        );
        assert_eq!(QueryError::from(wrapped).kind(), "resources_exhausted");
        let io = DataFusionError::IoError(std::io::Error::other("disk"));
        assert_eq!(QueryError::from(io).kind(), "internal");
        let cast = DataFusionError::ArrowError(Box::new(ArrowError::DivideByZero), None);
        assert_eq!(QueryError::from(cast).kind(), "bad_query");
    }
}
