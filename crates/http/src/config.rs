//! What the HTTP front-end can be told on top of the engine's own settings.

use dss_lake_query::EngineConfig;

/// How the HTTP endpoint behaves, on top of the engine.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    pub engine: EngineConfig,
    /// When set, every request but `/health` must carry `Authorization: Bearer <token>`.
    pub token: Option<String>,
    /// Origins allowed by CORS; empty disables CORS, `*` allows any origin.
    pub cors_origins: Vec<String>,
    /// The largest request body (the SQL text, JSON-wrapped or not).
    pub max_request_bytes: usize,
}

impl ServerConfig {
    pub fn new(engine: EngineConfig) -> Self {
        ServerConfig {
            engine,
            token: None,
            cors_origins: Vec::new(),
            max_request_bytes: 1 << 20,
        }
    }
}
