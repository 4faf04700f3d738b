//! Counters of the emulator, their snapshot ([`Stats`]) and the Prometheus text of `/metrics`.

use std::fmt::Write as _;
use std::ops::RangeInclusive;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use dss_lake_schema::Table;

/// Emulator-wide counters. Relaxed atomics: each is an independent tally read for reporting.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) clients: AtomicU64,
    pub(crate) connections: AtomicU64,
    pub(crate) events_sent: AtomicU64,
    pub(crate) heartbeats_sent: AtomicU64,
    pub(crate) heartbeats_answered: AtomicU64,
    pub(crate) refused: AtomicU64,
    pub(crate) events_generated: AtomicU64,
    pub(crate) bytes_sent: AtomicU64,
    pub(crate) heartbeat_timeouts: AtomicU64,
    pub(crate) unexpected_messages: AtomicU64,
    pub(crate) replay_skipped: AtomicU64,
    pub(crate) fault_closes: AtomicU64,
    pub(crate) fault_freezes: AtomicU64,
    pub(crate) malformed_frames: AtomicU64,
}

/// Per-subscription counters.
#[derive(Debug, Default)]
pub(crate) struct SubCounters {
    pub(crate) clients: AtomicU64,
    pub(crate) events_sent: AtomicU64,
    pub(crate) heartbeats_sent: AtomicU64,
    pub(crate) heartbeats_answered: AtomicU64,
}

impl SubCounters {
    pub(crate) fn clients(&self) -> u64 {
        self.clients.load(Relaxed)
    }
}

pub(crate) fn add(counter: &AtomicU64, n: u64) {
    counter.fetch_add(n, Relaxed);
}

/// A snapshot of the emulator's counters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stats {
    /// WebSocket clients attached now.
    pub clients: u64,
    /// WebSocket connections accepted since start.
    pub connections_total: u64,
    /// Stream requests refused before the upgrade (missing or unknown key, bad parameters).
    pub refused_total: u64,
    /// Events the fleet produced (each may go to several subscriptions).
    pub events_generated: u64,
    /// Event frames sent, over all connections (malformed ones included).
    pub events_sent: u64,
    /// Bytes of text frames sent (events and heartbeats).
    pub bytes_sent: u64,
    /// Heartbeats (`1|Z`) sent.
    pub heartbeats_sent: u64,
    /// `Z` answers received.
    pub heartbeats_answered: u64,
    /// Clients disconnected for missing heartbeats.
    pub heartbeat_timeouts: u64,
    /// Client messages other than `Z`.
    pub unexpected_messages: u64,
    /// Events a client never got because it fell behind the replay buffer.
    pub replay_skipped: u64,
    /// Connections dropped on purpose by `--fault-close-every`.
    pub fault_closes: u64,
    pub fault_freezes: u64,
    /// Frames corrupted on purpose by `--fault-malformed`.
    pub malformed_frames: u64,
    /// One entry per subscription, by id.
    pub subscriptions: Vec<SubscriptionStats>,
}

/// The counters of one subscription.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubscriptionStats {
    pub id: u64,
    pub subscription_type: Table,
    pub clients: u64,
    pub events_sent: u64,
    pub heartbeats_sent: u64,
    pub heartbeats_answered: u64,
    /// The seq the next event will get.
    pub next_seq: u64,
    /// Events held in the replay buffer.
    pub buffered: u64,
    /// Every seq sent on the subscription, over all its connections and counting replays once
    /// (malformed frames included), as sorted, disjoint, non-adjacent ranges: what a client
    /// that resumes with `seq_start` after every drop must end up holding, up to its last seq.
    pub sent: Vec<RangeInclusive<u64>>,
}

impl Stats {
    /// The Prometheus text exposition of the snapshot.
    pub fn to_prometheus(&self) -> String {
        let mut out = String::with_capacity(4096);
        let totals: [(&str, &str, &str, u64); 14] = [
            (
                "dss_sim_clients",
                "gauge",
                "WebSocket clients attached now.",
                self.clients,
            ),
            (
                "dss_sim_connections_total",
                "counter",
                "WebSocket connections accepted.",
                self.connections_total,
            ),
            (
                "dss_sim_refused_total",
                "counter",
                "Stream requests refused before the upgrade.",
                self.refused_total,
            ),
            (
                "dss_sim_events_generated_total",
                "counter",
                "Events produced by the fleet.",
                self.events_generated,
            ),
            (
                "dss_sim_events_sent_total",
                "counter",
                "Event frames sent.",
                self.events_sent,
            ),
            (
                "dss_sim_bytes_sent_total",
                "counter",
                "Bytes of text frames sent.",
                self.bytes_sent,
            ),
            (
                "dss_sim_heartbeats_sent_total",
                "counter",
                "Heartbeats sent.",
                self.heartbeats_sent,
            ),
            (
                "dss_sim_heartbeats_answered_total",
                "counter",
                "Heartbeats answered with Z.",
                self.heartbeats_answered,
            ),
            (
                "dss_sim_heartbeat_timeouts_total",
                "counter",
                "Clients dropped for missed heartbeats.",
                self.heartbeat_timeouts,
            ),
            (
                "dss_sim_unexpected_messages_total",
                "counter",
                "Client messages other than Z.",
                self.unexpected_messages,
            ),
            (
                "dss_sim_replay_skipped_total",
                "counter",
                "Events skipped by clients behind the replay buffer.",
                self.replay_skipped,
            ),
            (
                "dss_sim_fault_closes_total",
                "counter",
                "Connections closed abruptly by fault injection.",
                self.fault_closes,
            ),
            (
                "dss_sim_fault_freezes_total",
                "counter",
                "Connections that went silent but stayed open by fault injection.",
                self.fault_freezes,
            ),
            (
                "dss_sim_malformed_frames_total",
                "counter",
                "Frames corrupted by fault injection.",
                self.malformed_frames,
            ),
        ];
        for (name, kind, help, value) in totals {
            writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}"
            )
            .unwrap();
        }
        // `None`: the subscription has no such sample (the sent seqs before anything was sent).
        type Get = fn(&SubscriptionStats) -> Option<u64>;
        let per_sub: [(&str, &str, &str, Get); 9] = [
            (
                "dss_sim_subscription_clients",
                "gauge",
                "Clients attached to the subscription.",
                |s| Some(s.clients),
            ),
            (
                "dss_sim_subscription_events_sent_total",
                "counter",
                "Event frames sent on the subscription.",
                |s| Some(s.events_sent),
            ),
            (
                "dss_sim_subscription_heartbeats_sent_total",
                "counter",
                "Heartbeats sent on the subscription.",
                |s| Some(s.heartbeats_sent),
            ),
            (
                "dss_sim_subscription_heartbeats_answered_total",
                "counter",
                "Heartbeats answered on the subscription.",
                |s| Some(s.heartbeats_answered),
            ),
            (
                "dss_sim_subscription_next_seq",
                "gauge",
                "The seq the next event will get.",
                |s| Some(s.next_seq),
            ),
            (
                "dss_sim_subscription_buffered_events",
                "gauge",
                "Events held for replay.",
                |s| Some(s.buffered),
            ),
            (
                "dss_sim_subscription_sent_first_seq",
                "gauge",
                "The lowest seq sent on the subscription, over all its connections.",
                |s| s.sent.first().map(|r| *r.start()),
            ),
            (
                "dss_sim_subscription_sent_last_seq",
                "gauge",
                "The highest seq sent on the subscription, over all its connections.",
                |s| s.sent.last().map(|r| *r.end()),
            ),
            (
                "dss_sim_subscription_sent_ranges",
                "gauge",
                "Disjoint runs of consecutive seqs sent on the subscription (1: no hole).",
                |s| Some(s.sent.len() as u64),
            ),
        ];
        for (name, kind, help, get) in per_sub {
            writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}").unwrap();
            for s in &self.subscriptions {
                let (id, t) = (s.id, s.subscription_type);
                if let Some(value) = get(s) {
                    writeln!(out, "{name}{{subscription=\"{id}\",type=\"{t}\"}} {value}").unwrap();
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prometheus_text_has_totals_and_labelled_subscriptions() {
        let stats = Stats {
            heartbeats_answered: 7,
            subscriptions: vec![SubscriptionStats {
                id: 3,
                subscription_type: Table::Datapoint,
                clients: 1,
                events_sent: 42,
                heartbeats_sent: 8,
                heartbeats_answered: 7,
                next_seq: 43,
                buffered: 42,
                sent: vec![1..=20, 23..=42],
            }],
            ..Stats::default()
        };
        let text = stats.to_prometheus();
        assert!(text.contains("# TYPE dss_sim_heartbeats_answered_total counter\n"));
        assert!(text.contains("\ndss_sim_heartbeats_answered_total 7\n"));
        assert!(text.contains(
            "\ndss_sim_subscription_events_sent_total{subscription=\"3\",type=\"datapoint\"} 42\n"
        ));
        for (name, value) in [("first_seq", 1), ("last_seq", 42), ("ranges", 2)] {
            let line = format!(
                "\ndss_sim_subscription_sent_{name}{{subscription=\"3\",type=\"datapoint\"}} {value}\n"
            );
            assert!(text.contains(&line), "{line}");
        }
        let unsent = Stats {
            subscriptions: vec![SubscriptionStats {
                sent: Vec::new(),
                ..stats.subscriptions[0].clone()
            }],
            ..Stats::default()
        }
        .to_prometheus();
        assert!(unsent.contains(
            "\ndss_sim_subscription_sent_ranges{subscription=\"3\",type=\"datapoint\"} 0\n"
        ));
        assert!(!unsent.contains("dss_sim_subscription_sent_first_seq{"));
        assert!(!unsent.contains("dss_sim_subscription_sent_last_seq{"));
    }
}
