//! One stream connection, from the upgrade to its end: events from the replay buffer as
//! `<LEN>|<json>` text frames, heartbeats `1|Z` and their `Z` answers, replay ranges, faults.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;

use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket};
use dss_lake_fleet::GeneratedEvent;
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use tokio::time::{Instant, MissedTickBehavior};
use tracing::{debug, info, warn};

use crate::metrics::add;
use crate::state::State;
use crate::subscription::Subscription;

/// Events taken from the buffer per lock and sent per flush: enough to fill the socket's
/// write buffer in one go at `--rate max`, few enough to answer heartbeats promptly.
const BATCH: usize = 256;

/// What the client asked for in the query string.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Request {
    pub(crate) seq_start: Option<u64>,
    pub(crate) seq_end: Option<u64>,
}

/// Why a connection ended.
#[derive(Debug)]
enum End {
    ClientClosed,
    ClientGone(String),
    SendFailed(String),
    MissedHeartbeats(u32),
    SeqEndReached,
    Deleted,
    Shutdown,
    FaultClose,
}

impl End {
    /// The close frame a polite end sends; `None` where the peer is gone or rudeness is the point.
    fn close_frame(&self) -> Option<CloseFrame> {
        let (code, reason) = match self {
            End::MissedHeartbeats(n) => (1008, format!("missed {n} heartbeats")),
            End::SeqEndReached => (1000, "seq_end reached".to_owned()),
            End::Deleted => (1000, "subscription deleted".to_owned()),
            End::Shutdown => (1001, "emulator shutting down".to_owned()),
            End::ClientClosed | End::ClientGone(_) | End::SendFailed(_) | End::FaultClose => {
                return None;
            }
        };
        Some(CloseFrame {
            code,
            reason: reason.into(),
        })
    }
}

impl fmt::Display for End {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            End::ClientClosed => f.write_str("client closed"),
            End::ClientGone(e) => write!(f, "client gone: {e}"),
            End::SendFailed(e) => write!(f, "send failed: {e}"),
            End::MissedHeartbeats(n) => write!(f, "missed {n} heartbeats"),
            End::SeqEndReached => f.write_str("seq_end reached"),
            End::Deleted => f.write_str("subscription deleted"),
            End::Shutdown => f.write_str("shutdown"),
            End::FaultClose => f.write_str("fault injection: abrupt close"),
        }
    }
}

/// Counts the client in while it is attached, and out however the connection ends.
struct Attached<'a> {
    state: &'a State,
    sub: &'a Subscription,
    id: u64,
}

impl<'a> Attached<'a> {
    fn new(state: &'a State, sub: &'a Subscription, id: u64) -> Attached<'a> {
        add(&state.counters.clients, 1);
        add(&sub.counters.clients, 1);
        Attached { state, sub, id }
    }
}

impl Drop for Attached<'_> {
    fn drop(&mut self) {
        self.state.counters.clients.fetch_sub(1, Relaxed);
        self.sub.counters.clients.fetch_sub(1, Relaxed);
        self.sub.ring().remove_reader(self.id);
    }
}

/// Runs one upgraded connection to its end.
pub(crate) async fn serve(
    state: Arc<State>,
    sub: Arc<Subscription>,
    socket: WebSocket,
    request: Request,
) {
    let id = state.counters.connections.fetch_add(1, Relaxed) + 1;
    let _attached = Attached::new(&state, &sub, id);
    let mut conn = Connection::new(&state, &sub, id, request);
    let key = sub.key.suffix();
    info!(subscription = sub.id, key = %format!("…{key}"), connection = id, cursor = conn.cursor, seq_end = ?request.seq_end, "client connected");
    let end = conn.run(socket).await;
    info!(
        subscription = sub.id,
        connection = id,
        events_sent = conn.events_sent,
        heartbeats_answered = conn.answered,
        next_seq = conn.cursor,
        "client disconnected: {end}"
    );
}

struct Connection<'a> {
    state: &'a State,
    sub: &'a Subscription,
    id: u64,
    /// The seq of the next event to send.
    cursor: u64,
    seq_end: Option<u64>,
    /// Heartbeats sent since the last `Z`.
    unanswered: u32,
    events_sent: u64,
    answered: u64,
    /// Picks the frames to corrupt; seeded so a fault run can be repeated.
    rng: ChaCha8Rng,
    batch: Vec<Arc<GeneratedEvent>>,
}

impl<'a> Connection<'a> {
    /// Places the cursor: live (the next new event) without `seq_start`, else `seq_start`, or
    /// the oldest retained event when `seq_start` has already left the buffer.
    fn new(state: &'a State, sub: &'a Subscription, id: u64, request: Request) -> Connection<'a> {
        let cursor = {
            let mut ring = sub.ring();
            let cursor = match request.seq_start {
                None => ring.next_seq(),
                Some(start) if start < ring.oldest_seq() => {
                    let oldest = ring.oldest_seq();
                    info!(
                        subscription = sub.id,
                        seq_start = start,
                        oldest,
                        "seq_start is older than the replay buffer; starting at the oldest retained event"
                    );
                    oldest
                }
                Some(start) => start,
            };
            if !state.config.faults.stall {
                ring.set_reader(id, cursor);
            }
            cursor
        };
        if state.is_max_rate() {
            state.demand.notify_one();
        }
        Connection {
            state,
            sub,
            id,
            cursor,
            seq_end: request.seq_end,
            unanswered: 0,
            events_sent: 0,
            answered: 0,
            rng: ChaCha8Rng::seed_from_u64(state.config.fleet.seed ^ id.rotate_left(32)),
            batch: Vec::with_capacity(BATCH),
        }
    }

    async fn run(&mut self, socket: WebSocket) -> End {
        let (mut tx, mut rx) = socket.split();
        let end = self.exchange(&mut tx, &mut rx).await;
        if let Some(frame) = end.close_frame() {
            let _ = tx.send(Message::Close(Some(frame))).await;
        }
        end
    }

    /// The connection's state machine: one loop, every wake-up source a branch, checked in
    /// priority order (shutdown and deletion, the client's messages, heartbeats, events).
    async fn exchange(
        &mut self,
        tx: &mut SplitSink<WebSocket, Message>,
        rx: &mut SplitStream<WebSocket>,
    ) -> End {
        let config = &self.state.config;
        let mut sends = !config.faults.stall;
        let mut heartbeats = sends && !config.faults.no_heartbeats;
        let period = config.heartbeat_interval;
        let mut heartbeat = tokio::time::interval_at(Instant::now() + period, period);
        heartbeat.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let mut head = self.sub.head.subscribe();
        loop {
            if self.seq_end.is_some_and(|end| self.cursor > end) {
                return End::SeqEndReached;
            }
            if sends && self.frozen() {
                // Silent from now on, until the client gives up on us.
                add(&self.state.counters.fault_freezes, 1);
                self.sub.ring().remove_reader(self.id);
                (sends, heartbeats) = (false, false);
            }
            let available = sends && self.cursor < *head.borrow_and_update();
            tokio::select! {
                biased;
                () = self.sub.closed.cancelled() => {
                    return if self.state.shutdown.is_cancelled() { End::Shutdown } else { End::Deleted };
                }
                message = rx.next() => {
                    if let Some(end) = self.receive(message) {
                        return end;
                    }
                }
                _ = heartbeat.tick(), if heartbeats => {
                    if self.unanswered >= config.max_missed_heartbeats {
                        add(&self.state.counters.heartbeat_timeouts, 1);
                        return End::MissedHeartbeats(self.unanswered);
                    }
                    if let Err(e) = tx.send(Message::Text(Utf8Bytes::from_static("1|Z"))).await {
                        return End::SendFailed(e.to_string());
                    }
                    self.unanswered += 1;
                    add(&self.state.counters.heartbeats_sent, 1);
                    add(&self.state.counters.bytes_sent, 3);
                    add(&self.sub.counters.heartbeats_sent, 1);
                }
                changed = head.changed(), if sends && !available => {
                    if changed.is_err() {
                        return End::Deleted;
                    }
                }
                () = std::future::ready(()), if available => {
                    if let Some(end) = self.send_batch(tx).await {
                        return end;
                    }
                }
            }
        }
    }

    fn frozen(&self) -> bool {
        let every = self.state.config.faults.freeze_every;
        every > 0 && self.events_sent >= every
    }

    fn receive(&mut self, message: Option<Result<Message, axum::Error>>) -> Option<End> {
        match message {
            None => Some(End::ClientGone("connection closed".to_owned())),
            Some(Err(e)) => Some(End::ClientGone(e.to_string())),
            Some(Ok(Message::Text(text))) if text.as_str() == "Z" => {
                self.unanswered = 0;
                self.answered += 1;
                add(&self.state.counters.heartbeats_answered, 1);
                add(&self.sub.counters.heartbeats_answered, 1);
                None
            }
            Some(Ok(Message::Text(text))) => {
                add(&self.state.counters.unexpected_messages, 1);
                debug!(
                    connection = self.id,
                    len = text.len(),
                    "ignoring a client message other than Z"
                );
                None
            }
            Some(Ok(Message::Close(_))) => Some(End::ClientClosed),
            // Pings are answered by the WebSocket layer; binary messages mean nothing in DSS.
            Some(Ok(_)) => None,
        }
    }

    /// Sends the next batch from the replay buffer and flushes it.
    async fn send_batch(&mut self, tx: &mut SplitSink<WebSocket, Message>) -> Option<End> {
        let faults = &self.state.config.faults;
        let (start, skipped, hungry) = {
            let mut ring = self.sub.ring();
            let start = self.cursor.max(ring.oldest_seq());
            let mut limit = BATCH as u64;
            if let Some(end) = self.seq_end {
                limit = limit.min((end + 1).saturating_sub(start));
            }
            for every in [faults.close_every, faults.freeze_every] {
                if every > 0 {
                    limit = limit.min(every - self.events_sent);
                }
            }
            let read = ring.read(start, limit as usize, &mut self.batch);
            let next = read.seq + self.batch.len() as u64;
            if next > read.seq {
                ring.mark_sent(read.seq..=next - 1);
            }
            ring.set_reader(self.id, next);
            (
                read.seq,
                start - self.cursor,
                ring.next_seq() - next < self.state.low_water,
            )
        };
        if skipped > 0 {
            warn!(
                subscription = self.sub.id,
                connection = self.id,
                skipped,
                "client fell behind the replay buffer; skipping to the oldest retained event"
            );
            add(&self.state.counters.replay_skipped, skipped);
        }
        self.cursor = start;
        let (mut bytes, mut malformed) = (0, 0);
        let batch = std::mem::take(&mut self.batch);
        let sent = batch.len() as u64;
        for event in &batch {
            let mut text = String::with_capacity(event.payload_len(self.cursor) + 8);
            event.write_frame(self.cursor, &mut text);
            if faults.malformed_fraction > 0.0 && self.rng.random_bool(faults.malformed_fraction) {
                text = self.malform(&text);
                malformed += 1;
            }
            bytes += text.len() as u64;
            if let Err(e) = tx.feed(Message::Text(text.into())).await {
                return Some(End::SendFailed(e.to_string()));
            }
            self.cursor += 1;
        }
        self.batch = batch;
        self.batch.clear();
        if let Err(e) = tx.flush().await {
            return Some(End::SendFailed(e.to_string()));
        }
        self.events_sent += sent;
        let c = &self.state.counters;
        add(&c.events_sent, sent);
        add(&c.bytes_sent, bytes);
        add(&c.malformed_frames, malformed);
        add(&self.sub.counters.events_sent, sent);
        if hungry && self.state.is_max_rate() {
            self.state.demand.notify_one();
        }
        if faults.close_every > 0 && self.events_sent >= faults.close_every {
            add(&c.fault_closes, 1);
            return Some(End::FaultClose);
        }
        None
    }

    /// One of four ways a frame can be broken on the wire.
    fn malform(&mut self, frame: &str) -> String {
        let (len, payload) = frame.split_once('|').expect("a frame has a |");
        match self.rng.random_range(0..4u32) {
            // LEN does not match the payload.
            0 => format!("{}|{payload}", payload.len() + 7),
            // Truncated JSON, with a LEN that matches what is left.
            1 => {
                let mut cut = payload.len() / 2;
                while !payload.is_char_boundary(cut) {
                    cut -= 1;
                }
                format!("{cut}|{}", &payload[..cut])
            }
            // No `LEN|` prefix at all.
            2 => payload.to_owned(),
            // LEN is not a number.
            _ => format!("{len}x|{payload}"),
        }
    }
}
