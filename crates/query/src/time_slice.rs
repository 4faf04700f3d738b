//! Runaway joins stay stoppable: above every operator that multiplies rows, the query's task
//! lets go of its thread at least every [`TIME_SLICE`].
//!
//! A query is a tokio task, and its timeout, its cancellation when the client goes away, and
//! every other query on the same threads all wait for that task to yield. DataFusion's
//! `EnsureCooperative` makes scans and exchanges spend tokio's budget, one unit per batch; but a
//! cross or nested-loop join turns one input batch into thousands of output batches without
//! reading anything, and a join filter that rejects them all returns nothing for minutes.
//! Measured here: a four-way self join of a 2,142-row table with a filter that is never true
//! held a query thread for 66 s past its 2 s timeout, and the next query waited behind it.
//!
//! So [`TimeSlices`], run after every other physical rule, puts a [`TimeSliceExec`] above each
//! join and unnest. Its stream answers `Pending` (and wakes its task at once) when more than
//! [`TIME_SLICE`] has passed since it last saw the task yield. The cost is one clock read per
//! batch; what is left unbounded is a single batch's work inside one operator.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use datafusion::arrow::array::RecordBatch;
use datafusion::common::Result;
use datafusion::common::config::ConfigOptions;
use datafusion::common::tree_node::{Transformed, TreeNode, TreeNodeRecursion};
use datafusion::common::{Statistics, internal_err};
use datafusion::execution::TaskContext;
use datafusion::physical_expr::PhysicalExpr;
use datafusion::physical_optimizer::PhysicalOptimizerRule;
use datafusion::physical_plan::execution_plan::CardinalityEffect;
use datafusion::physical_plan::joins::{
    CrossJoinExec, HashJoinExec, NestedLoopJoinExec, PiecewiseMergeJoinExec, SortMergeJoinExec,
    SymmetricHashJoinExec,
};
use datafusion::physical_plan::statistics::{ChildStats, StatisticsArgs};
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::unnest::UnnestExec;
use datafusion::physical_plan::{
    DisplayAs, DisplayFormatType, ExecutionPlan, PlanProperties, SendableRecordBatchStream,
};
use futures_util::{Stream, StreamExt};

/// The longest a row-multiplying operator's output runs before its task yields. Well below
/// any timeout a person would set, and long enough that the yield (a re-poll of the plan's
/// streams, a few microseconds) costs nothing measurable.
pub(crate) const TIME_SLICE: Duration = Duration::from_millis(10);

/// The physical rule that adds the time slices.
#[derive(Debug, Default)]
pub(crate) struct TimeSlices;

impl PhysicalOptimizerRule for TimeSlices {
    fn optimize(
        &self,
        plan: Arc<dyn ExecutionPlan>,
        _config: &ConfigOptions,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        plan.transform_up(|node| {
            Ok(if multiplies_rows(node.as_ref()) {
                Transformed::yes(Arc::new(TimeSliceExec::new(node)) as Arc<dyn ExecutionPlan>)
            } else {
                Transformed::no(node)
            })
        })
        .map(|t| t.data)
    }

    fn name(&self) -> &str {
        "time_slices"
    }

    fn schema_check(&self) -> bool {
        true
    }
}

/// Operators whose output can be far larger than their input, so that they can run long
/// without reading (and so yielding on) anything.
fn multiplies_rows(plan: &dyn ExecutionPlan) -> bool {
    plan.is::<NestedLoopJoinExec>()
        || plan.is::<CrossJoinExec>()
        || plan.is::<HashJoinExec>()
        || plan.is::<SortMergeJoinExec>()
        || plan.is::<SymmetricHashJoinExec>()
        || plan.is::<PiecewiseMergeJoinExec>()
        || plan.is::<UnnestExec>()
}

/// Passes its input's batches through unchanged, yielding when a time slice is used up.
#[derive(Debug)]
pub(crate) struct TimeSliceExec {
    input: Arc<dyn ExecutionPlan>,
}

impl TimeSliceExec {
    pub(crate) fn new(input: Arc<dyn ExecutionPlan>) -> Self {
        TimeSliceExec { input }
    }
}

impl DisplayAs for TimeSliceExec {
    fn fmt_as(&self, _t: DisplayFormatType, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "TimeSliceExec: every={}ms", TIME_SLICE.as_millis())
    }
}

impl ExecutionPlan for TimeSliceExec {
    fn name(&self) -> &str {
        "TimeSliceExec"
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        self.input.properties()
    }

    fn maintains_input_order(&self) -> Vec<bool> {
        vec![true]
    }

    fn benefits_from_input_partitioning(&self) -> Vec<bool> {
        vec![false]
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        vec![&self.input]
    }

    fn apply_expressions(
        &self,
        _f: &mut dyn FnMut(&Arc<dyn PhysicalExpr>) -> Result<TreeNodeRecursion>,
    ) -> Result<TreeNodeRecursion> {
        Ok(TreeNodeRecursion::Continue)
    }

    fn with_new_children(
        self: Arc<Self>,
        mut children: Vec<Arc<dyn ExecutionPlan>>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        match (children.pop(), children.is_empty()) {
            (Some(input), true) => Ok(Arc::new(TimeSliceExec::new(input))),
            _ => internal_err!("TimeSliceExec has one child"),
        }
    }

    fn execute(
        &self,
        partition: usize,
        context: Arc<TaskContext>,
    ) -> Result<SendableRecordBatchStream> {
        let input = self.input.execute(partition, context)?;
        let schema = input.schema();
        let sliced = TimeSlicedStream {
            input,
            slice_started: Instant::now(),
        };
        Ok(Box::pin(RecordBatchStreamAdapter::new(schema, sliced)))
    }

    fn child_stats_requests(&self, partition: Option<usize>) -> Vec<ChildStats> {
        vec![ChildStats::At(partition)]
    }

    fn statistics_from_inputs(
        &self,
        input_stats: &[Arc<Statistics>],
        _args: &StatisticsArgs,
    ) -> Result<Arc<Statistics>> {
        Ok(Arc::clone(&input_stats[0]))
    }

    fn supports_limit_pushdown(&self) -> bool {
        true
    }

    fn cardinality_effect(&self) -> CardinalityEffect {
        CardinalityEffect::Equal
    }
}

struct TimeSlicedStream {
    input: SendableRecordBatchStream,
    /// When the task last yielded as far as this stream knows: when the input last answered
    /// `Pending`, or this stream did.
    slice_started: Instant,
}

impl Stream for TimeSlicedStream {
    type Item = Result<RecordBatch>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let now = Instant::now();
        if now.duration_since(self.slice_started) >= TIME_SLICE {
            self.slice_started = now;
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        let polled = self.input.poll_next_unpin(cx);
        if polled.is_pending() {
            self.slice_started = Instant::now();
        }
        polled
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use datafusion::physical_plan::displayable;

    use crate::{Engine, EngineConfig};

    async fn engine(timeout: Duration) -> (tempfile::TempDir, Engine) {
        let lake = tempfile::tempdir().unwrap();
        let mut config = EngineConfig::new(lake.path());
        config.threads = 1;
        config.query_timeout = timeout;
        let engine = Engine::open(config).await.unwrap();
        (lake, engine)
    }

    #[tokio::test]
    async fn every_join_and_unnest_gets_a_time_slice_and_nothing_else_does() {
        let (_lake, engine) = engine(Duration::from_secs(30)).await;
        let sql = "SELECT count(*) FROM generate_series(1, 10) a \
                   JOIN generate_series(1, 10) b ON a.value = b.value, \
                   (SELECT unnest(range(1, 3)) AS u) c";
        let frame = engine.plan(sql).await.unwrap();
        let plan = frame.create_physical_plan().await.unwrap();
        let text = displayable(plan.as_ref()).indent(false).to_string();
        let lines: Vec<&str> = text.lines().map(str::trim).collect();
        for (i, line) in lines.iter().enumerate() {
            let multiplies = ["JoinExec", "UnnestExec"].iter().any(|n| line.contains(n));
            let sliced = i > 0 && lines[i - 1].starts_with("TimeSliceExec");
            assert_eq!(multiplies, sliced, "{line}\n{text}");
        }
        assert!(text.matches("TimeSliceExec").count() >= 3, "{text}");
        let answer = engine.collect(sql).await.unwrap();
        assert_eq!(crate::pretty(&answer).unwrap().matches("| 20 ").count(), 1);
    }
}
