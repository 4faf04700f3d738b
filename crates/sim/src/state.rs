//! The emulator's shared state: configuration, the subscriptions, counters and the signals
//! that tie the generator, the connections and shutdown together.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::Ordering::Relaxed;
use std::sync::{Arc, RwLock};

use dss_lake_schema::StreamKey;
use rand::{Rng, RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::SimError;
use crate::config::now_iso;
use crate::config::{Rate, SimConfig};
use crate::metrics::{Counters, Stats, SubscriptionStats};
use crate::ring::Ring;
use crate::subscription::{FieldError, Filter, Patch, Settings, Subscription};

/// Mixed into `--seed` so stream keys do not share a random sequence with the fleet.
const KEY_SALT: u64 = 0x5eed_57a7_e0f1_4b3e;

#[derive(Debug)]
pub(crate) struct State {
    pub(crate) config: SimConfig,
    pub(crate) auth_token: String,
    /// Read by every stream request and generator batch, written by REST changes: an RwLock,
    /// held only to look up or clone `Arc`s, never across an `.await`.
    registry: RwLock<Registry>,
    pub(crate) counters: Counters,
    /// At `--rate max`, connections that are running short of events wake the generator.
    /// A `Notify` because one stored permit is all the generator needs to look again.
    pub(crate) demand: Notify,
    /// Cancelled once at shutdown; every subscription's token is a child of it.
    pub(crate) shutdown: CancellationToken,
    /// The stream connections, so shutdown can wait for them to say goodbye.
    pub(crate) connections: TaskTracker,
    /// At `--rate max`, the generator runs while a reader is fewer than this many events behind.
    pub(crate) low_water: u64,
}

#[derive(Debug)]
struct Registry {
    subs: BTreeMap<u64, Arc<Subscription>>,
    by_key: HashMap<StreamKey, u64>,
    next_id: u64,
    rng: ChaCha8Rng,
}

impl State {
    pub(crate) fn new(config: SimConfig) -> Result<State, SimError> {
        config.validate()?;
        let mut rng = ChaCha8Rng::seed_from_u64(config.fleet.seed ^ KEY_SALT);
        let auth_token = match &config.auth_token {
            Some(t) => t.clone(),
            None => StreamKey::from_bytes(rng.random()).expose().to_owned(),
        };
        let low_water = (config.replay_buffer as u64 / 2).clamp(1, 16_384);
        let state = State {
            auth_token,
            registry: RwLock::new(Registry {
                subs: BTreeMap::new(),
                by_key: HashMap::new(),
                next_id: 1,
                rng,
            }),
            counters: Counters::default(),
            demand: Notify::new(),
            shutdown: CancellationToken::new(),
            connections: TaskTracker::new(),
            low_water,
            config,
        };
        for preset in state.config.effective_presets() {
            if let Some(key) = &preset.0.stream_key
                && state.by_key(key.expose()).is_some()
            {
                return Err(SimError::DuplicateStreamKey {
                    suffix: key.suffix().to_owned(),
                });
            }
            state.create(preset.0).map_err(|e| {
                SimError::invalid("subscription", format!("{} {}", e.field, e.message))
            })?;
        }
        Ok(state)
    }

    pub(crate) fn is_max_rate(&self) -> bool {
        self.config.rate == Rate::Max
    }

    /// Creates a subscription from a checked patch that names its `subscription_type`.
    pub(crate) fn create(&self, mut patch: Patch) -> Result<Arc<Subscription>, FieldError> {
        let table = patch.subscription_type.ok_or_else(|| FieldError {
            field: "subscription_type".to_owned(),
            message: "can't be blank".to_owned(),
        })?;
        let mut reg = self.registry.write().expect("registry lock poisoned");
        let key = match patch.stream_key.take() {
            Some(k) => k,
            None => loop {
                let k = StreamKey::from_bytes(reg.rng.random());
                if !reg.by_key.contains_key(&k) {
                    break k;
                }
            },
        };
        let user_uuid = uuid(&mut reg.rng);
        let id = reg.next_id;
        reg.next_id += 1;
        let settings = Settings::new(patch, &now_iso());
        let ring = Ring::new(self.config.replay_buffer, self.config.first_seq);
        let closed = self.shutdown.child_token();
        let sub = Arc::new(Subscription::new(
            id,
            key.clone(),
            table,
            user_uuid,
            settings,
            ring,
            closed,
        ));
        reg.subs.insert(id, sub.clone());
        reg.by_key.insert(key, id);
        Ok(sub)
    }

    pub(crate) fn get(&self, id: u64) -> Option<Arc<Subscription>> {
        self.registry
            .read()
            .expect("registry lock poisoned")
            .subs
            .get(&id)
            .cloned()
    }

    pub(crate) fn by_key(&self, key: &str) -> Option<Arc<Subscription>> {
        let key = StreamKey::parse_dss(key)?;
        let reg = self.registry.read().expect("registry lock poisoned");
        reg.by_key
            .get(&key)
            .and_then(|id| reg.subs.get(id))
            .cloned()
    }

    pub(crate) fn list(&self) -> Vec<Arc<Subscription>> {
        self.registry
            .read()
            .expect("registry lock poisoned")
            .subs
            .values()
            .cloned()
            .collect()
    }

    /// Removes a subscription and disconnects its clients.
    pub(crate) fn delete(&self, id: u64) -> Option<Arc<Subscription>> {
        let mut reg = self.registry.write().expect("registry lock poisoned");
        let sub = reg.subs.remove(&id)?;
        reg.by_key.remove(&sub.key);
        sub.closed.cancel();
        Some(sub)
    }

    /// Every subscription with its current filter, for one generator batch.
    pub(crate) fn routes(&self) -> Vec<(Arc<Subscription>, Filter)> {
        self.list()
            .into_iter()
            .map(|s| {
                let f = s.filter();
                (s, f)
            })
            .collect()
    }

    pub(crate) fn stats(&self) -> Stats {
        let c = &self.counters;
        let subscriptions = self
            .list()
            .iter()
            .map(|s| {
                let ring = s.ring();
                SubscriptionStats {
                    id: s.id,
                    subscription_type: s.table,
                    clients: s.counters.clients(),
                    events_sent: s.counters.events_sent.load(Relaxed),
                    heartbeats_sent: s.counters.heartbeats_sent.load(Relaxed),
                    heartbeats_answered: s.counters.heartbeats_answered.load(Relaxed),
                    next_seq: ring.next_seq(),
                    buffered: ring.len() as u64,
                    sent: ring.sent().to_vec(),
                }
            })
            .collect();
        Stats {
            clients: c.clients.load(Relaxed),
            connections_total: c.connections.load(Relaxed),
            refused_total: c.refused.load(Relaxed),
            events_generated: c.events_generated.load(Relaxed),
            events_sent: c.events_sent.load(Relaxed),
            bytes_sent: c.bytes_sent.load(Relaxed),
            heartbeats_sent: c.heartbeats_sent.load(Relaxed),
            heartbeats_answered: c.heartbeats_answered.load(Relaxed),
            heartbeat_timeouts: c.heartbeat_timeouts.load(Relaxed),
            unexpected_messages: c.unexpected_messages.load(Relaxed),
            replay_skipped: c.replay_skipped.load(Relaxed),
            fault_closes: c.fault_closes.load(Relaxed),
            fault_freezes: c.fault_freezes.load(Relaxed),
            malformed_frames: c.malformed_frames.load(Relaxed),
            subscriptions,
        }
    }
}

/// A version 4 uuid, for subscriptions' `user_uuid`.
fn uuid(rng: &mut impl Rng) -> String {
    let mut b: [u8; 16] = rng.random();
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h: String = b.iter().map(|b| format!("{b:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    )
}
