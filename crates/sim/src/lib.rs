//! A DSS-compatible emulator: Ayla's subscriptions REST API and WebSocket streams, fed by the
//! simulated fleet of `dss-lake-fleet`, so DSS clients can be run and tested without an Ayla
//! account.
//!
//! It serves, on one address: `GET /stream?stream_key=K[&seq_start=N][&seq_end=M]` (text
//! frames `<LEN>|<json>`, heartbeats `1|Z` answered by `Z`, a client that misses too many is
//! dropped), the subscriptions API under `/api/v1/subscriptions.json` (with
//! `Authorization: auth_token <token>`), and `/metrics` in Prometheus text. Each subscription
//! has its own seq counter and a bounded replay buffer. Faults can be injected on purpose:
//! abrupt closes, no heartbeats, stalls, malformed frames. It does not persist anything, speak
//! TLS, or model Ayla's users and access rules (every subscription sees the whole fleet,
//! filtered by `oem_model`, `dsn` and `property_name`). It parses no command line (the
//! `dss-lake sim` command turns its flags into a [`SimConfig`], whose `Default` holds every
//! default). It depends on the schema, units and fleet crates only, never on the ingest side it
//! is there to test.
//!
//! Data flow: the generator runs the fleet at `rate` and appends each event to the replay
//! buffer of every subscription it matches (which numbers it); each connection reads its
//! subscription's buffer from its cursor, renders `<LEN>|<json>` with that seq, and sends it.
//!
//! ```
//! use dss_lake_sim::{Sim, SimConfig};
//!
//! let sim = Sim::new(SimConfig::default()).unwrap();
//! let subscriptions = sim.subscriptions();
//! assert_eq!(subscriptions.len(), 5, "one per event type by default");
//! assert!(subscriptions.iter().all(|s| s.stream_key.len() == 32));
//! assert_eq!(sim.auth_token().len(), 32, "derived from the seed when not given");
//!
//! // Serving it (in a tokio runtime): `sim.serve(listener, shutdown_signal).await`.
//! let _app: axum::Router = sim.router();
//! ```

mod api;
mod config;
mod connection;
mod error;
mod generator;
mod metrics;
mod ring;
mod sent;
mod state;
mod subscription;

use std::sync::Arc;
use std::time::Duration;

use dss_lake_schema::Table;
use tokio::net::TcpListener;
use tracing::info;

pub use config::{
    Faults, Preset, Rate, SimConfig, mean_interval_micros, now_micros, parse_start_time,
};
/// The key type of the contract crate, shared with the daemon.
pub use dss_lake_schema::StreamKey;
pub use error::SimError;
pub use metrics::{Stats, SubscriptionStats};

/// Where `dss-lake sim` serves unless told otherwise: the one default of the emulator that is not
/// a [`SimConfig`] field, because the library serves on a listener its caller binds.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8090";

/// How long shutdown waits for stream connections to send their close frames.
const CLOSE_GRACE: Duration = Duration::from_secs(5);

/// A running (or ready to run) emulator. Cheap to clone: every clone is a handle on the same
/// state, so one can serve while another reads stream keys and stats or shuts it down.
#[derive(Debug, Clone)]
pub struct Sim {
    state: Arc<state::State>,
}

/// What a client needs to open a subscription's stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubscriptionInfo {
    pub id: u64,
    pub name: String,
    pub subscription_type: Table,
    pub oem_model: String,
    pub dsn: String,
    pub property_name: String,
    /// The whole key: print it for the user, never log it.
    pub stream_key: String,
}

impl Sim {
    /// Validates the configuration and creates the preset subscriptions (one per event type
    /// when none are configured). Nothing runs until [`Sim::serve`].
    pub fn new(config: SimConfig) -> Result<Sim, SimError> {
        Ok(Sim {
            state: Arc::new(state::State::new(config)?),
        })
    }

    /// The token REST calls must send as `Authorization: auth_token <token>`.
    pub fn auth_token(&self) -> &str {
        &self.state.auth_token
    }

    /// The subscriptions that exist now, by id.
    pub fn subscriptions(&self) -> Vec<SubscriptionInfo> {
        self.state
            .list()
            .iter()
            .map(|s| {
                let settings = s.settings();
                SubscriptionInfo {
                    id: s.id,
                    name: settings.name.clone(),
                    subscription_type: s.table,
                    oem_model: settings.oem_model.clone(),
                    dsn: settings.dsn.clone(),
                    property_name: settings.property_name.clone(),
                    stream_key: s.key.expose().to_owned(),
                }
            })
            .collect()
    }

    /// A snapshot of the counters (also served at `/metrics`).
    pub fn stats(&self) -> Stats {
        self.state.stats()
    }

    /// The HTTP application (REST, `/stream`, `/metrics`), for tests without a socket. Events
    /// flow only while [`Sim::serve`] runs the generator.
    pub fn router(&self) -> axum::Router {
        api::router(self.state.clone())
    }

    /// Asks a serving emulator to shut down, as the `shutdown` future of [`Sim::serve`] does.
    pub fn shutdown(&self) {
        self.state.shutdown.cancel();
    }

    /// Serves on `listener` until `shutdown` completes (or [`Sim::shutdown`] is called).
    ///
    /// Shutdown order: stop generating and tell every stream client goodbye (close frame 1001),
    /// stop accepting and finish HTTP requests, then wait up to 5 s for the stream connections.
    pub async fn serve(
        self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), SimError> {
        let state = self.state;
        info!(addr = %listener.local_addr()?, rate = %state.config.rate, "dss-lake sim serving");
        let generator = tokio::spawn(generator::run(state.clone()));
        let stats = state
            .config
            .stats_interval
            .map(|every| tokio::spawn(log_stats(state.clone(), every)));
        let token = state.shutdown.clone();
        let signal = async move {
            tokio::select! {
                () = shutdown => token.cancel(),
                () = token.cancelled() => {}
            }
        };
        let served = axum::serve(listener, api::router(state.clone()))
            .with_graceful_shutdown(signal)
            .await;
        state.shutdown.cancel();
        state.connections.close();
        if tokio::time::timeout(CLOSE_GRACE, state.connections.wait())
            .await
            .is_err()
        {
            tracing::warn!("some stream connections did not close in time");
        }
        let _ = generator.await;
        if let Some(stats) = stats {
            let _ = stats.await;
        }
        info!("dss-lake sim stopped");
        served.map_err(SimError::Io)
    }
}

/// Builds the emulator from `config` and serves it on `listener` until `shutdown` completes.
pub async fn serve(
    config: SimConfig,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), SimError> {
    Sim::new(config)?.serve(listener, shutdown).await
}

/// The HTTP application of `sim`; see [`Sim::router`].
pub fn router(sim: &Sim) -> axum::Router {
    sim.router()
}

async fn log_stats(state: Arc<state::State>, every: Duration) {
    let mut tick = tokio::time::interval(every);
    tick.tick().await;
    loop {
        tokio::select! {
            () = state.shutdown.cancelled() => return,
            _ = tick.tick() => {}
        }
        let s = state.stats();
        info!(
            clients = s.clients,
            events_generated = s.events_generated,
            events_sent = s.events_sent,
            heartbeats_sent = s.heartbeats_sent,
            heartbeats_answered = s.heartbeats_answered,
            heartbeat_timeouts = s.heartbeat_timeouts,
            "sim stats"
        );
    }
}
