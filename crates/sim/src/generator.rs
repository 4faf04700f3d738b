//! The generator: runs the fleet and appends each event to the replay buffer of every
//! subscription whose filter it matches, which gives it that subscription's next seq.
//!
//! Two modes. Paced (`--rate N`): a 10 ms tick produces the events due since start, whether or
//! not a client is attached, as a real DSS keeps a subscription's history. Max (`--rate max`):
//! events come from a pool generated up front (rendering an event costs more than sending it),
//! and only while some attached reader is close to the head, so the fastest client sets the
//! pace and an idle emulator uses no CPU.

use std::sync::Arc;
use std::time::Duration;

use dss_lake_fleet::{Fleet, GeneratedEvent};
use tokio::time::{Instant, MissedTickBehavior};

use crate::config::Rate;
use crate::metrics::add;
use crate::state::State;

/// How often the paced generator wakes up.
const TICK: Duration = Duration::from_millis(10);
/// Events per batch at `--rate max`: large enough that locking each buffer once per batch is
/// negligible, small enough to keep the reader's latency low.
const MAX_BATCH: usize = 1024;

pub(crate) async fn run(state: Arc<State>) {
    let fleet = Fleet::new(state.config.fleet.clone());
    match state.config.rate {
        Rate::PerSecond(rate) => paced(&state, fleet, rate).await,
        Rate::Max => {
            let size = state.config.max_pool;
            let pool = tokio::task::spawn_blocking(move || pool(fleet, size))
                .await
                .expect("generating the event pool panicked");
            max(&state, &pool).await;
        }
    }
}

fn pool(mut fleet: Fleet, size: usize) -> Vec<Arc<GeneratedEvent>> {
    (0..size).map(|_| Arc::new(fleet.next_event())).collect()
}

async fn paced(state: &State, mut fleet: Fleet, rate: f64) {
    let start = Instant::now();
    let mut produced: u64 = 0;
    let mut tick = tokio::time::interval(TICK);
    tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut batch = Vec::new();
    loop {
        tokio::select! {
            () = state.shutdown.cancelled() => return,
            _ = tick.tick() => {}
        }
        let due = (start.elapsed().as_secs_f64() * rate) as u64;
        // After a long stall (a suspended laptop), catch up by at most one second of events.
        produced = produced.max(due.saturating_sub(rate.ceil() as u64));
        batch.extend((produced..due).map(|_| Arc::new(fleet.next_event())));
        produced = due;
        distribute(state, &batch);
        batch.clear();
    }
}

async fn max(state: &State, pool: &[Arc<GeneratedEvent>]) {
    let mut next = 0;
    let mut batch = Vec::with_capacity(MAX_BATCH);
    loop {
        if !wanted(state) {
            tokio::select! {
                () = state.shutdown.cancelled() => return,
                () = state.demand.notified() => continue,
            }
        }
        if state.shutdown.is_cancelled() {
            return;
        }
        for _ in 0..MAX_BATCH {
            batch.push(pool[next].clone());
            next = (next + 1) % pool.len();
        }
        distribute(state, &batch);
        batch.clear();
        // Let the connections run between batches on a busy runtime.
        tokio::task::yield_now().await;
    }
}

/// True when an attached reader of a subscription that still receives events runs short.
fn wanted(state: &State) -> bool {
    state
        .routes()
        .iter()
        .any(|(sub, filter)| !filter.suspended && sub.ring().reader_is_hungry(state.low_water))
}

/// Appends each event to every unsuspended subscription it matches, then wakes their readers.
fn distribute(state: &State, events: &[Arc<GeneratedEvent>]) {
    if events.is_empty() {
        return;
    }
    add(&state.counters.events_generated, events.len() as u64);
    for (sub, filter) in state.routes() {
        if filter.suspended {
            continue;
        }
        let head = {
            let mut ring = sub.ring();
            let before = ring.next_seq();
            for event in events.iter().filter(|e| filter.matches(e)) {
                ring.push(event.clone());
            }
            let head = ring.next_seq();
            (head != before).then_some(head)
        };
        if let Some(head) = head {
            sub.head.send_replace(head);
        }
    }
}
