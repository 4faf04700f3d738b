//! The emulator's error type.

use std::path::PathBuf;

/// Everything that can stop the emulator from starting or serving.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// A setting is out of range or contradicts another one.
    #[error("invalid setting `{setting}`: {reason}")]
    InvalidConfig { setting: String, reason: String },
    /// The `--config` file could not be read.
    #[error("cannot read config file {path}: {source}")]
    ConfigFile {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The `--config` file is not the TOML the emulator expects.
    #[error("invalid config file {path}: {reason}")]
    ConfigParse { path: PathBuf, reason: String },
    /// Two preset subscriptions ask for the same stream key.
    #[error("stream key ending in {suffix} is used by two subscriptions")]
    DuplicateStreamKey { suffix: String },
    /// The listener or a connection failed at the socket level.
    #[error("server I/O error: {0}")]
    Io(#[from] std::io::Error),
}

impl SimError {
    pub(crate) fn invalid(setting: impl Into<String>, reason: impl Into<String>) -> SimError {
        SimError::InvalidConfig {
            setting: setting.into(),
            reason: reason.into(),
        }
    }
}
