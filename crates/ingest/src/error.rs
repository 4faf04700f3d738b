//! The ingest engine's one error type. No variant ever holds a whole stream key.

use std::path::PathBuf;
use std::time::Duration;

/// What can stop the daemon (connection failures are not here: they are retried, logged and
/// counted, never fatal).
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error("reading {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("config {path}: {message}")]
    Parse { path: PathBuf, message: String },
    /// A value that parsed but is not usable; `field` is its path, like `stream[1].url`.
    #[error("config {path}: `{field}` {reason}")]
    Field {
        path: PathBuf,
        field: String,
        reason: String,
    },
    #[error(
        "{path} holds stream keys but is readable by group or others (mode {mode:03o}); \
         make it private with `chmod 600 {path}`"
    )]
    Exposed { path: PathBuf, mode: u32 },
    #[error(transparent)]
    Lake(#[from] dss_lake_lake::LakeError),
    #[error("serving metrics on {addr}: {source}")]
    Metrics {
        addr: std::net::SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("streams did not finish committing within {0:?}")]
    ShutdownTimeout(Duration),
    #[error("stream {stream} stopped: {message}")]
    Stream { stream: String, message: String },
}

pub type Result<T, E = IngestError> = std::result::Result<T, E>;
