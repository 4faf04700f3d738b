//! The batching stage's one error type.

use std::path::PathBuf;

/// Everything that can go wrong between a decoded row and a committed file.
#[derive(Debug, thiserror::Error)]
pub enum LakeError {
    #[error("{action} {path}: {source}")]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("writing Parquet {path}: {source}")]
    Parquet {
        path: PathBuf,
        #[source]
        source: parquet::errors::ParquetError,
    },
    #[error("arranging rows for {table}: {source}")]
    Arrow {
        table: dss_lake_schema::Table,
        #[source]
        source: arrow_schema::ArrowError,
    },
    #[error("checkpoint {path} is corrupt: {reason}")]
    Checkpoint { path: PathBuf, reason: String },
    #[error("stream {0} is already being written by another process (its lock is held)")]
    Locked(String),
    #[error("commit of stream {stream} failed: {message}")]
    CommitFailed { stream: String, message: String },
    #[error("the writer of stream {0} has stopped")]
    WriterGone(String),
}

impl LakeError {
    pub(crate) fn io(
        action: &'static str,
        path: impl Into<PathBuf>,
    ) -> impl FnOnce(std::io::Error) -> LakeError {
        let path = path.into();
        move |source| LakeError::Io {
            action,
            path,
            source,
        }
    }
}

pub type Result<T, E = LakeError> = std::result::Result<T, E>;
