//! Counters of the emulator, their snapshot ([`Stats`]) and the Prometheus text of `/metrics`
//! (prometheus-client's encoder).

use std::ops::RangeInclusive;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use dss_lake_schema::Table;
use prometheus_client::encoding::{
    DescriptorEncoder, EncodeMetric, MetricEncoder, prometheus_text,
};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::registry::Registry;

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
    /// The Prometheus text exposition (format 0.0.4) of the snapshot, encoded by
    /// prometheus-client.
    pub fn to_prometheus(&self) -> String {
        let mut registry = Registry::with_prefix("dss_sim");
        registry.register_collector(Box::new(Snapshot(self.clone())));
        let mut out = String::with_capacity(4096);
        prometheus_text::encode(&mut out, &registry).expect("writing to a String does not fail");
        out
    }
}

/// A snapshot handed to prometheus-client's encoder. A collector rather than registered
/// `Counter`s: the counters are the atomics the connections update, read once per scrape into
/// [`Stats`] (which tests and the stats log line use too).
///
/// Counter names are given without `_total`: the encoder appends it, so the exposed names
/// (`dss_sim_events_sent_total`) are unchanged.
#[derive(Debug)]
struct Snapshot(Stats);

/// `None`: the subscription has no such sample (the sent seqs before anything was sent).
type PerSubscription = fn(&SubscriptionStats) -> Option<u64>;

const PER_SUBSCRIPTION: [(&str, MetricType, &str, PerSubscription); 9] = {
    use MetricType::{Counter, Gauge};
    [
        (
            "subscription_clients",
            Gauge,
            "Clients attached to the subscription.",
            |s| Some(s.clients),
        ),
        (
            "subscription_events_sent",
            Counter,
            "Event frames sent on the subscription.",
            |s| Some(s.events_sent),
        ),
        (
            "subscription_heartbeats_sent",
            Counter,
            "Heartbeats sent on the subscription.",
            |s| Some(s.heartbeats_sent),
        ),
        (
            "subscription_heartbeats_answered",
            Counter,
            "Heartbeats answered on the subscription.",
            |s| Some(s.heartbeats_answered),
        ),
        (
            "subscription_next_seq",
            Gauge,
            "The seq the next event will get.",
            |s| Some(s.next_seq),
        ),
        (
            "subscription_buffered_events",
            Gauge,
            "Events held for replay.",
            |s| Some(s.buffered),
        ),
        (
            "subscription_sent_first_seq",
            Gauge,
            "The lowest seq sent on the subscription, over all its connections.",
            |s| s.sent.first().map(|r| *r.start()),
        ),
        (
            "subscription_sent_last_seq",
            Gauge,
            "The highest seq sent on the subscription, over all its connections.",
            |s| s.sent.last().map(|r| *r.end()),
        ),
        (
            "subscription_sent_ranges",
            Gauge,
            "Disjoint runs of consecutive seqs sent on the subscription (1: no hole).",
            |s| Some(s.sent.len() as u64),
        ),
    ]
};

/// A counter's or a gauge's sample, by the family's type.
fn encode_value(kind: MetricType, value: u64, sample: MetricEncoder<'_>) -> std::fmt::Result {
    match kind {
        MetricType::Counter => ConstCounter::new(value).encode(sample),
        _ => ConstGauge::new(i64::try_from(value).unwrap_or(i64::MAX)).encode(sample),
    }
}

impl prometheus_client::collector::Collector for Snapshot {
    fn encode(&self, mut encoder: DescriptorEncoder<'_>) -> std::fmt::Result {
        use MetricType::{Counter, Gauge};
        let s = &self.0;
        let totals: [(&str, MetricType, &str, u64); 14] = [
            (
                "clients",
                Gauge,
                "WebSocket clients attached now.",
                s.clients,
            ),
            (
                "connections",
                Counter,
                "WebSocket connections accepted.",
                s.connections_total,
            ),
            (
                "refused",
                Counter,
                "Stream requests refused before the upgrade.",
                s.refused_total,
            ),
            (
                "events_generated",
                Counter,
                "Events produced by the fleet.",
                s.events_generated,
            ),
            ("events_sent", Counter, "Event frames sent.", s.events_sent),
            (
                "bytes_sent",
                Counter,
                "Bytes of text frames sent.",
                s.bytes_sent,
            ),
            (
                "heartbeats_sent",
                Counter,
                "Heartbeats sent.",
                s.heartbeats_sent,
            ),
            (
                "heartbeats_answered",
                Counter,
                "Heartbeats answered with Z.",
                s.heartbeats_answered,
            ),
            (
                "heartbeat_timeouts",
                Counter,
                "Clients dropped for missed heartbeats.",
                s.heartbeat_timeouts,
            ),
            (
                "unexpected_messages",
                Counter,
                "Client messages other than Z.",
                s.unexpected_messages,
            ),
            (
                "replay_skipped",
                Counter,
                "Events skipped by clients behind the replay buffer.",
                s.replay_skipped,
            ),
            (
                "fault_closes",
                Counter,
                "Connections closed abruptly by fault injection.",
                s.fault_closes,
            ),
            (
                "fault_freezes",
                Counter,
                "Connections that went silent but stayed open by fault injection.",
                s.fault_freezes,
            ),
            (
                "malformed_frames",
                Counter,
                "Frames corrupted by fault injection.",
                s.malformed_frames,
            ),
        ];
        for (name, kind, help, value) in totals {
            let family = encoder.encode_descriptor(name, help, None, kind)?;
            encode_value(kind, value, family)?;
        }
        for (name, kind, help, get) in PER_SUBSCRIPTION {
            let mut family = encoder.encode_descriptor(name, help, None, kind)?;
            for sub in &s.subscriptions {
                let Some(value) = get(sub) else { continue };
                let id = sub.id.to_string();
                let labels = [
                    ("subscription", id.as_str()),
                    ("type", sub.subscription_type.dir_name()),
                ];
                encode_value(kind, value, family.encode_family(&labels)?)?;
            }
        }
        Ok(())
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
