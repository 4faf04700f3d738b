//! Our extensions to DataFusion: rewrites that mend the pinned DataFusion's slow paths on this
//! lake's data, and the one [`register`] that installs them in rule order.
//!
//! Each is a workaround for DataFusion 55 and says in its module doc which slow path it mends
//! and what it measured: `date_trunc` and `CAST(... AS DATE)` on UTC timestamps
//! (`date_trunc.rs`, `utc_date.rs`), `count(DISTINCT)` beside plain counts (`distinct_count.rs`),
//! `lag`/`lead` evaluated row by row (`bulk_window.rs`), windows sorted by comparing device names
//! (`keyed_window/`), `last_value(x ORDER BY t, seq)` compared through `ScalarValue`s
//! (`last_value.rs`), grouping that hashes every row's strings (`interned_groups/`). Every
//! module's tests run the same SQL with and without its rewrite and compare the answers, so a
//! DataFusion upgrade is one place: re-run this crate's tests, and delete what upstream fixed.
//!
//! It does not know the lake, its tables or any front-end; it never plans, guards or limits a
//! query (that is `dss-lake-query`'s engine) and adds no SQL function a stock DataFusion lacks.
//!
//! ```
//! use datafusion::execution::SessionStateBuilder;
//! use datafusion::prelude::SessionContext;
//!
//! let builder = SessionStateBuilder::new().with_default_features();
//! let ctx = SessionContext::new_with_state(dss_lake_datafusion_ext::register(builder).build());
//! # let _ = ctx;
//! ```

mod bulk_window;
mod date_trunc;
mod distinct_count;
mod interned_groups;
mod keyed_window;
mod last_value;
mod replace_nodes;
#[cfg(test)]
mod test_support;
mod utc_date;

use std::sync::Arc;

use datafusion::execution::SessionStateBuilder;
use datafusion::optimizer::Analyzer;

use bulk_window::WindowsInBulk;
use distinct_count::DistinctBesideCounts;
use interned_groups::InternedStringGroups;
use keyed_window::KeyedWindows;
use utc_date::UtcDateCast;

/// `builder` with every extension of this crate: call it after `with_default_features`, whose
/// `date_trunc` and `last_value` it replaces by name, and before any physical rule that must
/// run after ours (the engine's time slices wrap joins, which our rules must still see bare).
///
/// The order is the engine's, under which every with/without test and the `queries/` benchmark
/// ran: bulk windows, keyed windows, interned groups.
pub fn register(mut builder: SessionStateBuilder) -> SessionStateBuilder {
    builder
        .scalar_functions()
        .get_or_insert_with(Vec::new)
        .push(Arc::new(date_trunc::udf()));
    builder
        .aggregate_functions()
        .get_or_insert_with(Vec::new)
        .push(Arc::new(last_value::udaf()));
    builder
        .analyzer()
        .get_or_insert_with(Analyzer::new)
        .add_function_rewrite(Arc::new(UtcDateCast::default()));
    builder
        .with_optimizer_rule(Arc::new(DistinctBesideCounts))
        .with_physical_optimizer_rule(Arc::new(WindowsInBulk))
        .with_physical_optimizer_rule(Arc::new(KeyedWindows))
        .with_physical_optimizer_rule(Arc::new(InternedStringGroups))
}

#[cfg(test)]
mod tests {
    use datafusion::execution::SessionStateBuilder;
    use datafusion::execution::session_state::SessionState;

    fn registered() -> SessionState {
        super::register(SessionStateBuilder::new().with_default_features()).build()
    }

    fn stock() -> SessionState {
        SessionStateBuilder::new().with_default_features().build()
    }

    /// Every rule of this crate reaches the session, the physical ones in the documented order
    /// and after DataFusion's own, so a rule added to the crate but not to `register` fails here.
    #[test]
    fn every_rule_is_registered_in_order() {
        let state = registered();
        let physical: Vec<&str> = state
            .physical_optimizers()
            .iter()
            .map(|r| r.name())
            .collect();
        let ours: Vec<&str> = physical
            .iter()
            .copied()
            .filter(|n| n.starts_with("dss_lake_"))
            .collect();
        assert_eq!(
            ours,
            [
                "dss_lake_windows_in_bulk",
                "dss_lake_keyed_windows",
                "dss_lake_interned_string_groups"
            ]
        );
        assert_eq!(
            physical.len(),
            stock().physical_optimizers().len() + ours.len()
        );
        assert!(
            physical.ends_with(&ours),
            "ours run after DataFusion's: {physical:?}"
        );

        let logical: Vec<&str> = state.optimizers().iter().map(|r| r.name()).collect();
        assert_eq!(logical.last(), Some(&"dss_lake_distinct_beside_counts"));

        let rewrites: Vec<&str> = state
            .analyzer()
            .function_rewrites()
            .iter()
            .map(|r| r.name())
            .collect();
        assert_eq!(rewrites, ["dss_lake_utc_date_cast"]);
    }

    /// `date_trunc` (and its alias) and `last_value` resolve to this crate's functions, not
    /// DataFusion's: the replacements are by name, so a renamed one would silently leave the
    /// slow path in place.
    #[test]
    fn functions_replace_datafusions_by_name() {
        let state = registered();
        for name in ["date_trunc", "datetrunc"] {
            let udf = state.scalar_functions()[name].inner();
            assert!(
                udf.downcast_ref::<crate::date_trunc::UtcDateTrunc>()
                    .is_some(),
                "{name}"
            );
        }
        let last = state.aggregate_functions()["last_value"].inner();
        assert!(
            last.downcast_ref::<crate::last_value::LastValueByIntegerKeys>()
                .is_some()
        );
    }
}
