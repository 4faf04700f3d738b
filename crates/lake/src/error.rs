//! The batching stage's one error type.

use std::path::PathBuf;
use std::sync::Arc;

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
    /// A table's Delta log could not be read or committed to.
    #[error("the Delta log of table {table}: {source}")]
    Delta {
        table: dss_lake_schema::Table,
        #[source]
        source: Box<deltalake_core::DeltaTableError>,
    },
    #[error("checkpoint {path} is corrupt: {reason}")]
    Checkpoint { path: PathBuf, reason: String },
    #[error("stream {0} is already being written by another process (its lock is held)")]
    Locked(String),
    #[error("commit of stream {stream} failed: {message}")]
    CommitFailed { stream: String, message: String },
    /// The writer thread stopped on `cause`; every later push, flush or close of the stream
    /// reports it, so the producer sees why and not only that.
    #[error("the writer of stream {stream} stopped: {cause}")]
    WriterFailed {
        stream: String,
        #[source]
        cause: Arc<LakeError>,
    },
    /// The writer thread is gone without a recorded cause (it panicked).
    #[error("the writer of stream {0} has stopped")]
    WriterGone(String),
    /// The lake was written by a release before the Delta lake; the message says how to
    /// convert it.
    #[error("{0}")]
    Unconverted(String),
}

impl LakeError {
    /// Whether the same commit may succeed later without a change to the data: every
    /// file-system failure (a full disk, a permission fixed later, a flaky device) is; a failure
    /// to arrange rows is a bug and will fail again.
    pub fn is_transient(&self) -> bool {
        match self {
            LakeError::Io { .. } => true,
            LakeError::Parquet {
                source: parquet::errors::ParquetError::External(e),
                ..
            } => e.is::<std::io::Error>(),
            LakeError::WriterFailed { cause, .. } => cause.is_transient(),
            _ => false,
        }
    }

    /// The `map_err` of a Delta log operation on `table`.
    pub fn delta(
        table: dss_lake_schema::Table,
    ) -> impl Fn(deltalake_core::DeltaTableError) -> LakeError {
        move |source| LakeError::Delta {
            table,
            source: Box::new(source),
        }
    }

    /// The `map_err` of a file operation: `action` on `path` failed with the error it is given.
    pub fn io(
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
