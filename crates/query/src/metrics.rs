//! Counters of the query engine, whichever front-end sent the query, exposed in the Prometheus
//! text format through prometheus-client (the same encoder as ingest's and the emulator's).
//!
//! A dozen numbers, updated once per query, read by a scraper every few seconds: each is a
//! prometheus-client metric (an atomic inside), registered once in the engine's registry.

use std::time::Duration;

use prometheus_client::encoding::prometheus_text;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge as GaugeMetric;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

/// Upper bounds (seconds) of the query duration histogram.
const BUCKETS: [f64; 10] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0, 30.0];

/// Outcomes a query is counted under; every one is exposed from the start, at 0.
const OUTCOMES: [&str; 9] = [
    "ok",
    "bad_query",
    "refused",
    "timeout",
    "resources_exhausted",
    "busy",
    "internal",
    "cancelled",
    "limit_exceeded",
];

/// Where an outcome this list does not name is counted: a new error kind is a bug of ours.
const UNKNOWN_OUTCOME: usize = 6;

type OutcomeLabel = [(&'static str, &'static str); 1];

/// The engine's counters.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    outcomes: Family<OutcomeLabel, Counter>,
    in_flight: GaugeMetric,
    waiting: GaugeMetric,
    rows: Counter,
    bytes: Counter,
    unauthorized: Counter,
    duration: Histogram,
}

impl Default for Metrics {
    fn default() -> Self {
        let metrics = Metrics {
            registry: Registry::default(),
            outcomes: Family::default(),
            in_flight: GaugeMetric::default(),
            waiting: GaugeMetric::default(),
            rows: Counter::default(),
            bytes: Counter::default(),
            unauthorized: Counter::default(),
            duration: Histogram::new(BUCKETS),
        };
        for outcome in OUTCOMES {
            // Created up front so every outcome is exposed at 0 before it first happens.
            let _ = metrics.outcomes.get_or_create(&[("outcome", outcome)]);
        }
        let mut registry = metrics.registry;
        // Counters are registered without `_total`, which the encoder appends; help texts
        // without their full stop, which the registry appends.
        registry.register(
            "dss_lake_queries",
            "Queries finished, by outcome",
            metrics.outcomes.clone(),
        );
        registry.register(
            "dss_lake_queries_in_flight",
            "Queries executing now",
            metrics.in_flight.clone(),
        );
        registry.register(
            "dss_lake_queries_waiting",
            "Queries waiting for a slot",
            metrics.waiting.clone(),
        );
        registry.register(
            "dss_lake_result_rows",
            "Rows sent to clients",
            metrics.rows.clone(),
        );
        registry.register(
            "dss_lake_result_bytes",
            "Result bytes sent",
            metrics.bytes.clone(),
        );
        registry.register(
            "dss_lake_unauthorized",
            "Requests refused for a missing or wrong token",
            metrics.unauthorized.clone(),
        );
        registry.register(
            "dss_lake_query_duration_seconds",
            "Time from slot to last byte",
            metrics.duration.clone(),
        );
        Metrics {
            registry,
            ..metrics
        }
    }
}

impl Metrics {
    /// The content type of [`Metrics::render`]'s text.
    pub const CONTENT_TYPE: &'static str = prometheus_text::CONTENT_TYPE;

    /// Counts a finished query under `outcome` (`"ok"` or a [`crate::QueryError::kind`]).
    pub fn finished(&self, outcome: &str, elapsed: Duration) {
        let outcome = OUTCOMES
            .iter()
            .find(|o| **o == outcome)
            .unwrap_or(&OUTCOMES[UNKNOWN_OUTCOME]);
        self.outcomes.get_or_create(&[("outcome", outcome)]).inc();
        self.duration.observe(elapsed.as_secs_f64());
    }

    pub(crate) fn sent(&self, rows: usize, bytes: usize) {
        self.rows.inc_by(rows as u64);
        self.bytes.inc_by(bytes as u64);
    }

    /// Counts a request a front-end refused for a missing or wrong token.
    pub fn unauthorized(&self) {
        self.unauthorized.inc();
    }

    /// Marks a query as executing until the guard drops.
    pub(crate) fn running(&self) -> Gauge<'_> {
        Gauge::new(&self.in_flight)
    }

    /// Marks a query as waiting for a slot until the guard drops.
    pub(crate) fn waiting(&self) -> Gauge<'_> {
        Gauge::new(&self.waiting)
    }

    /// The number of queries finished with `outcome`.
    pub fn count(&self, outcome: &str) -> u64 {
        match OUTCOMES.iter().find(|o| **o == outcome) {
            Some(outcome) => self.outcomes.get_or_create(&[("outcome", outcome)]).get(),
            None => 0,
        }
    }

    /// The Prometheus text exposition (format 0.0.4) of every metric.
    pub fn render(&self) -> String {
        let mut out = String::new();
        prometheus_text::encode(&mut out, &self.registry).expect("writing to a String cannot fail");
        out
    }
}

/// Increments a gauge now and decrements it when dropped, whichever way a query ends.
#[derive(Debug)]
pub(crate) struct Gauge<'a>(&'a GaugeMetric);

impl<'a> Gauge<'a> {
    fn new(gauge: &'a GaugeMetric) -> Self {
        gauge.inc();
        Gauge(gauge)
    }
}

impl Drop for Gauge<'_> {
    fn drop(&mut self) {
        self.0.dec();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_gauges_and_a_cumulative_histogram() {
        let m = Metrics::default();
        m.finished("ok", Duration::from_millis(20));
        m.finished("timeout", Duration::from_secs(40));
        let running = m.running();
        let text = m.render();
        drop(running);
        assert!(
            text.contains("dss_lake_queries_total{outcome=\"ok\"} 1"),
            "{text}"
        );
        assert!(text.contains("dss_lake_queries_total{outcome=\"timeout\"} 1"));
        assert!(text.contains("dss_lake_queries_in_flight 1"));
        assert!(text.contains("dss_lake_query_duration_seconds_bucket{le=\"0.025\"} 1"));
        assert!(text.contains("dss_lake_query_duration_seconds_bucket{le=\"+Inf\"} 2"));
        assert!(m.render().contains("dss_lake_queries_in_flight 0"));
    }

    #[test]
    fn every_error_kind_has_its_own_outcome() {
        use crate::{Limit, QueryError};
        let errors = [
            QueryError::Refused(String::new()),
            QueryError::BadQuery(String::new()),
            QueryError::LimitExceeded {
                limit: Limit::ExprDepth,
                message: String::new(),
            },
            QueryError::Timeout(Duration::ZERO),
            QueryError::ResourcesExhausted(String::new()),
            QueryError::Busy,
            QueryError::Internal(String::new()),
        ];
        assert_eq!(OUTCOMES[UNKNOWN_OUTCOME], "internal");
        for err in errors {
            assert!(OUTCOMES.contains(&err.kind()), "{}", err.kind());
        }
    }
}
