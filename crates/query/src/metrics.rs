//! Counters of the query service, rendered in the Prometheus text format.
//!
//! Plain atomics rather than a metrics library: a dozen numbers, updated once per query, read by
//! a scraper every few seconds. Relaxed ordering is enough because no number guards another.

use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;

/// Upper bounds (seconds) of the query duration histogram.
const BUCKETS: [f64; 10] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0, 30.0];

/// Outcomes a query is counted under, in the order of [`Metrics::outcomes`].
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

/// The service's counters.
#[derive(Debug, Default)]
pub struct Metrics {
    outcomes: [AtomicU64; OUTCOMES.len()],
    in_flight: AtomicU64,
    waiting: AtomicU64,
    rows: AtomicU64,
    bytes: AtomicU64,
    unauthorized: AtomicU64,
    duration_buckets: [AtomicU64; BUCKETS.len()],
    duration_count: AtomicU64,
    duration_sum_micros: AtomicU64,
}

impl Metrics {
    /// Counts a finished query under `outcome` (`"ok"` or a [`crate::QueryError::kind`]).
    pub fn finished(&self, outcome: &str, elapsed: Duration) {
        let index = OUTCOMES
            .iter()
            .position(|o| *o == outcome)
            .unwrap_or(UNKNOWN_OUTCOME);
        self.outcomes[index].fetch_add(1, Relaxed);
        let secs = elapsed.as_secs_f64();
        for (bound, bucket) in BUCKETS.iter().zip(&self.duration_buckets) {
            if secs <= *bound {
                bucket.fetch_add(1, Relaxed);
            }
        }
        self.duration_count.fetch_add(1, Relaxed);
        let micros = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX);
        self.duration_sum_micros.fetch_add(micros, Relaxed);
    }

    pub(crate) fn sent(&self, rows: usize, bytes: usize) {
        self.rows.fetch_add(rows as u64, Relaxed);
        self.bytes.fetch_add(bytes as u64, Relaxed);
    }

    /// Counts a request a front-end refused for a missing or wrong token.
    pub fn unauthorized(&self) {
        self.unauthorized.fetch_add(1, Relaxed);
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
        OUTCOMES
            .iter()
            .position(|o| *o == outcome)
            .map_or(0, |i| self.outcomes[i].load(Relaxed))
    }

    /// The Prometheus text exposition of every counter.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let mut family = |name: &str, kind: &str, help: &str| {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
            name.to_owned()
        };
        let queries = family(
            "dss_lake_queries_total",
            "counter",
            "Queries finished, by outcome.",
        );
        let mut lines = String::new();
        for (outcome, n) in OUTCOMES.iter().zip(&self.outcomes) {
            let _ = writeln!(
                lines,
                "{queries}{{outcome=\"{outcome}\"}} {}",
                n.load(Relaxed)
            );
        }
        out.push_str(&lines);
        let simple = [
            (
                "dss_lake_queries_in_flight",
                "gauge",
                "Queries executing now.",
                &self.in_flight,
            ),
            (
                "dss_lake_queries_waiting",
                "gauge",
                "Queries waiting for a slot.",
                &self.waiting,
            ),
            (
                "dss_lake_result_rows_total",
                "counter",
                "Rows sent to clients.",
                &self.rows,
            ),
            (
                "dss_lake_result_bytes_total",
                "counter",
                "Result bytes sent.",
                &self.bytes,
            ),
            (
                "dss_lake_unauthorized_total",
                "counter",
                "Requests refused for a missing or wrong token.",
                &self.unauthorized,
            ),
        ];
        for (name, kind, help, value) in simple {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
            let _ = writeln!(out, "{name} {}", value.load(Relaxed));
        }
        let h = "dss_lake_query_duration_seconds";
        let _ = writeln!(
            out,
            "# HELP {h} Time from slot to last byte.\n# TYPE {h} histogram"
        );
        for (bound, bucket) in BUCKETS.iter().zip(&self.duration_buckets) {
            let _ = writeln!(out, "{h}_bucket{{le=\"{bound}\"}} {}", bucket.load(Relaxed));
        }
        let count = self.duration_count.load(Relaxed);
        let sum = self.duration_sum_micros.load(Relaxed) as f64 / 1e6;
        let _ = writeln!(
            out,
            "{h}_bucket{{le=\"+Inf\"}} {count}\n{h}_sum {sum}\n{h}_count {count}"
        );
        out
    }
}

/// Increments a gauge now and decrements it when dropped, whichever way a query ends.
#[derive(Debug)]
pub(crate) struct Gauge<'a>(&'a AtomicU64);

impl<'a> Gauge<'a> {
    fn new(gauge: &'a AtomicU64) -> Self {
        gauge.fetch_add(1, Relaxed);
        Gauge(gauge)
    }
}

impl Drop for Gauge<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Relaxed);
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
