//! `lag`/`lead`/`row_number() OVER (PARTITION BY dsn ORDER BY t, seq)`: sorted by integer keys
//! and evaluated with the arguments computed once.
//!
//! The twin views and `time_online_per_day` run such windows over every connectivity event.
//! DataFusion 55 plans a `SortExec` on `(dsn, t, seq)` and a window over it (made bulk by
//! `bulk_window.rs`). The sort compares device names byte by byte (they share their first bytes,
//! so the string views' inline prefix does not decide), and the window slices the whole batch
//! and re-evaluates the arguments once per device: 60-70 ms of CPU of both queries over the
//! benchmark lake. [`KeyedWindowExec`] replaces the pair: it gives each partition key a dense id,
//! ranks the distinct keys (a few thousand values, not every row), sorts the rows by
//! (rank, order keys) as plain integers, gathers them once, evaluates each function's arguments
//! once, and calls the function on each partition's slice. Its output is the same rows in the
//! same order the sort promised.
//!
//! It only applies where that order can be built from integers: one or two ORDER BY keys of
//! integer, date, time or timestamp type, functions that read neither a window frame nor ranks
//! (such as `lag`, `lead`, `row_number`), and a sort with no limit that keeps its input's
//! partitions. Like the sort it replaces, it holds its partition in memory, counted against
//! the query's pool.

mod functions;
mod order;
mod partitions;
mod stream;
#[cfg(test)]
mod tests;

use std::fmt;
use std::sync::Arc;

use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::common::{Result, internal_err};
use datafusion::config::ConfigOptions;
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::physical_expr::window::StandardWindowExpr;
use datafusion::physical_expr::{PhysicalExpr, PhysicalSortExpr};
use datafusion::physical_optimizer::PhysicalOptimizerRule;
use datafusion::physical_plan::execution_plan::ReplaceChildrenOptions;
use datafusion::physical_plan::metrics::{BaselineMetrics, ExecutionPlanMetricsSet, MetricsSet};
use datafusion::physical_plan::sorts::sort::SortExec;
use datafusion::physical_plan::windows::WindowAggExec;
use datafusion::physical_plan::{
    DisplayAs, DisplayFormatType, ExecutionPlan, ExecutionPlanProperties,
    InputDistributionRequirements, PlanProperties,
};

use order::{MAX_ORDER_KEYS, RowOrder, orders_as_integer};
use stream::WindowTask;

use crate::replace_nodes::replace_nodes;

/// The physical optimizer rule; see the module docs. It runs after `WindowsInBulk`, whose
/// `WindowAggExec` over a `SortExec` it replaces.
#[derive(Debug, Default)]
pub(crate) struct KeyedWindows;

impl PhysicalOptimizerRule for KeyedWindows {
    fn optimize(
        &self,
        plan: Arc<dyn ExecutionPlan>,
        _config: &ConfigOptions,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        replace_nodes(plan, |window: &WindowAggExec| {
            let keyed = KeyedWindowExec::try_from_window(window)?;
            Ok(keyed.map(|keyed| Arc::new(keyed) as Arc<dyn ExecutionPlan>))
        })
    }

    fn name(&self) -> &str {
        "dss_lake_keyed_windows"
    }

    fn schema_check(&self) -> bool {
        true
    }
}

/// A `WindowAggExec` over a `SortExec`, run as one step; see the module docs. It keeps both for
/// their expressions and the window's plan properties.
#[derive(Debug)]
pub(crate) struct KeyedWindowExec {
    window: Arc<WindowAggExec>,
    sort: Arc<SortExec>,
    /// The sort's keys: the partition keys first, then the window's ORDER BY.
    partition_keys: Vec<PhysicalSortExpr>,
    order_keys: Vec<PhysicalSortExpr>,
    metrics: ExecutionPlanMetricsSet,
}

impl KeyedWindowExec {
    /// The replacement for `window`, if the rule applies to it.
    fn try_from_window(window: &WindowAggExec) -> Result<Option<Self>> {
        let Some(sort) = window.input().downcast_ref::<SortExec>() else {
            return Ok(None);
        };
        let keeps_partitions = sort.preserve_partitioning()
            || sort.input().output_partitioning().partition_count() == 1;
        if !keeps_partitions || sort.fetch().is_some() || !supported_functions(window)? {
            return Ok(None);
        }
        let first = &window.window_expr()[0];
        let (partition_by, order_by) = (first.partition_by(), first.order_by());
        let sort_keys: Vec<PhysicalSortExpr> = sort.expr().iter().cloned().collect();
        if sort_keys.len() != partition_by.len() + order_by.len() || order_by.len() > MAX_ORDER_KEYS
        {
            return Ok(None);
        }
        let (partition_keys, order_keys) = sort_keys.split_at(partition_by.len());
        let partitions_match = partition_by
            .iter()
            .all(|p| partition_keys.iter().any(|k| k.expr.as_ref() == p.as_ref()));
        let input_schema = sort.input().schema();
        let orders_match = order_keys.iter().zip(order_by).all(|(k, o)| k == o)
            && order_keys
                .iter()
                .map(|k| k.expr.data_type(&input_schema))
                .collect::<Result<Vec<_>>>()?
                .iter()
                .all(orders_as_integer);
        if !(partitions_match && orders_match) {
            return Ok(None);
        }
        Ok(Some(Self {
            window: Arc::new(window.clone()),
            sort: Arc::new(sort.clone()),
            partition_keys: partition_keys.to_vec(),
            order_keys: order_keys.to_vec(),
            metrics: ExecutionPlanMetricsSet::new(),
        }))
    }
}

/// Every window function shares the partitioning and order and reads neither a frame nor ranks.
fn supported_functions(window: &WindowAggExec) -> Result<bool> {
    let first = &window.window_expr()[0];
    for expr in window.window_expr() {
        let Some(standard) = expr.as_any().downcast_ref::<StandardWindowExpr>() else {
            return Ok(false);
        };
        let evaluator = standard.get_standard_func_expr().create_evaluator()?;
        if evaluator.uses_window_frame()
            || evaluator.include_rank()
            || expr.partition_by() != first.partition_by()
            || expr.order_by() != first.order_by()
        {
            return Ok(false);
        }
    }
    Ok(true)
}

impl DisplayAs for KeyedWindowExec {
    fn fmt_as(&self, _t: DisplayFormatType, f: &mut fmt::Formatter) -> fmt::Result {
        let names: Vec<&str> = self.window.window_expr().iter().map(|e| e.name()).collect();
        let keys: Vec<String> = self.sort.expr().iter().map(ToString::to_string).collect();
        write!(
            f,
            "KeyedWindowExec: wdw=[{}], sort=[{}]",
            names.join(", "),
            keys.join(", ")
        )
    }
}

impl ExecutionPlan for KeyedWindowExec {
    fn name(&self) -> &str {
        "KeyedWindowExec"
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        self.window.properties()
    }

    fn input_distribution_requirements(&self) -> InputDistributionRequirements {
        self.window.input_distribution_requirements()
    }

    fn maintains_input_order(&self) -> Vec<bool> {
        vec![false]
    }

    fn benefits_from_input_partitioning(&self) -> Vec<bool> {
        self.window.benefits_from_input_partitioning()
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        vec![self.sort.input()]
    }

    fn apply_expressions(
        &self,
        f: &mut dyn FnMut(&Arc<dyn PhysicalExpr>) -> Result<TreeNodeRecursion>,
    ) -> Result<TreeNodeRecursion> {
        match self.sort.apply_expressions(f)? {
            TreeNodeRecursion::Stop => Ok(TreeNodeRecursion::Stop),
            _ => self.window.apply_expressions(f),
        }
    }

    fn replace_children(
        self: Arc<Self>,
        children: Vec<Arc<dyn ExecutionPlan>>,
        options: ReplaceChildrenOptions,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let sort = Arc::clone(&self.sort).replace_children(children, options)?;
        let window = Arc::clone(&self.window).replace_children(vec![sort], options)?;
        let keyed = match window.downcast_ref::<WindowAggExec>() {
            Some(window) => Self::try_from_window(window)?,
            None => None,
        };
        match keyed {
            Some(keyed) => Ok(Arc::new(keyed)),
            // New children the rule does not handle: DataFusion's own sort and window.
            None => Ok(window),
        }
    }

    fn with_new_children(
        self: Arc<Self>,
        children: Vec<Arc<dyn ExecutionPlan>>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        if children.len() != 1 {
            return internal_err!("KeyedWindowExec has one child");
        }
        self.replace_children(
            children,
            ReplaceChildrenOptions::new(
                datafusion::physical_plan::ChildrenPropertiesMode::Recompute,
            ),
        )
    }

    fn execute(
        &self,
        partition: usize,
        context: Arc<TaskContext>,
    ) -> Result<SendableRecordBatchStream> {
        let input = self.sort.input().execute(partition, Arc::clone(&context))?;
        let task = WindowTask {
            input,
            order: RowOrder::new(
                self.partition_keys.clone(),
                self.order_keys.clone(),
                &self.sort.input().schema(),
            )?,
            window_exprs: self.window.window_expr().to_vec(),
            schema: self.window.schema(),
            metrics: BaselineMetrics::new(&self.metrics, partition),
        };
        Ok(stream::execute(task, partition, &context))
    }

    fn metrics(&self) -> Option<MetricsSet> {
        Some(self.metrics.clone_inner())
    }
}
