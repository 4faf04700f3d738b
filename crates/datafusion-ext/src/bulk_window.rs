//! Built-in window functions (`lag`, `lead`, `row_number`, ...) over sorted input, evaluated a
//! whole partition at a time.
//!
//! DataFusion 55 plans them as a `BoundedWindowAggExec`, which streams but calls the function
//! once per row and builds the output from one `ScalarValue` per row: `lag(status) OVER
//! (PARTITION BY dsn ORDER BY t, seq)` over the benchmark lake's 214k connectivity events took
//! 85-90 ms of CPU there, most of `device_status` and `time_online_per_day`. `WindowAggExec`
//! evaluates the same expressions with the functions' vectorised `evaluate_all` (a `lead` is an
//! array shift). It gathers its input before computing, and does not count that memory against
//! the query's pool; so this rule only swaps when the input is a `SortExec` in a fully sorted
//! window, whose own (counted) buffer already holds the same rows: a query too big for the
//! memory limit fails in the sort, as before. Aggregate window functions (`sum(...) OVER`) keep
//! DataFusion's plan.

use std::sync::Arc;

use datafusion::common::Result;
use datafusion::config::ConfigOptions;
use datafusion::physical_expr::window::StandardWindowExpr;
use datafusion::physical_optimizer::PhysicalOptimizerRule;
use datafusion::physical_plan::ExecutionPlan;
use datafusion::physical_plan::InputOrderMode;
use datafusion::physical_plan::sorts::sort::SortExec;
use datafusion::physical_plan::windows::{BoundedWindowAggExec, WindowAggExec};

use crate::replace_nodes::replace_nodes;

/// The physical optimizer rule; see the module docs.
#[derive(Debug, Default)]
pub(crate) struct WindowsInBulk;

impl PhysicalOptimizerRule for WindowsInBulk {
    fn optimize(
        &self,
        plan: Arc<dyn ExecutionPlan>,
        _config: &ConfigOptions,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        replace_nodes(plan, |window: &BoundedWindowAggExec| {
            let built_in_only = window
                .window_expr()
                .iter()
                .all(|e| e.as_any().is::<StandardWindowExpr>());
            let sorted_here = window.input_order_mode == InputOrderMode::Sorted
                && window.input().is::<SortExec>();
            if !(built_in_only && sorted_here) {
                return Ok(None);
            }
            // Keep the input's partitioning as it is: hash partitioned by the window's keys when
            // the bounded plan asked for that, one partition otherwise.
            let can_repartition = !window.partition_keys().is_empty();
            let bulk = WindowAggExec::try_new(
                window.window_expr().to_vec(),
                Arc::clone(window.input()),
                can_repartition,
            )?;
            Ok(Some(Arc::new(bulk)))
        })
    }

    fn name(&self) -> &str {
        "dss_lake_windows_in_bulk"
    }

    fn schema_check(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use datafusion::arrow::array::{Int64Array, RecordBatch, StringArray};
    use datafusion::arrow::datatypes::{DataType, Field, Schema};

    use super::*;

    /// Devices with interleaved events, statuses flipping, a null status now and then.
    fn events() -> RecordBatch {
        let n = 600;
        let dsn: StringArray = (0..n).map(|i| Some(format!("d{}", (i * 7) % 23))).collect();
        let t: Int64Array = (0..n).map(|i| Some((i * 37) % 101)).collect();
        let seq: Int64Array = (0..n).map(Some).collect();
        let status: StringArray = (0..n)
            .map(|i| {
                (i % 13 != 0).then(|| {
                    if (i * 5) % 3 == 0 {
                        "Online"
                    } else {
                        "Offline"
                    }
                })
            })
            .collect();
        let schema = Schema::new(vec![
            Field::new("dsn", DataType::Utf8, false),
            Field::new("t", DataType::Int64, false),
            Field::new("seq", DataType::Int64, false),
            Field::new("status", DataType::Utf8, true),
        ]);
        RecordBatch::try_new(
            Arc::new(schema),
            vec![Arc::new(dsn), Arc::new(t), Arc::new(seq), Arc::new(status)],
        )
        .unwrap()
    }

    async fn answer(with_rule: bool, sql: &str) -> (String, String) {
        let rules: Vec<Arc<dyn PhysicalOptimizerRule + Send + Sync>> = if with_rule {
            vec![Arc::new(WindowsInBulk)]
        } else {
            vec![]
        };
        let ctx = crate::test_support::session(crate::test_support::small_batches(), rules);
        ctx.register_batch("c", events()).unwrap();
        crate::test_support::answer_and_physical_plan(&ctx, sql).await
    }

    #[tokio::test]
    async fn lag_lead_and_row_number_answer_the_same_in_bulk() {
        let sql = "SELECT dsn, t, seq, status, \
                     lag(status) OVER w AS previous, lead(t) OVER w AS next_t, \
                     row_number() OVER w AS n \
                   FROM c WINDOW w AS (PARTITION BY dsn ORDER BY t, seq) \
                   ORDER BY dsn, t, seq";
        let (expected, before) = answer(false, sql).await;
        let (got, after) = answer(true, sql).await;
        assert_eq!(got, expected);
        assert!(before.contains("BoundedWindowAggExec"), "{before}");
        assert!(
            after.contains("WindowAggExec") && !after.contains("BoundedWindowAggExec"),
            "the rule did not fire:\n{after}"
        );
    }

    #[tokio::test]
    async fn aggregate_windows_stay_bounded() {
        let sql = "SELECT dsn, t, seq, sum(t) OVER (PARTITION BY dsn ORDER BY t, seq) AS running \
                   FROM c ORDER BY dsn, t, seq";
        let (expected, _) = answer(false, sql).await;
        let (got, plan) = answer(true, sql).await;
        assert_eq!(got, expected);
        assert!(plan.contains("BoundedWindowAggExec"), "{plan}");
    }
}
