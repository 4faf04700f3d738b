//! Partial aggregates grouped on string columns, with the keys interned by string view.
//!
//! `GROUP BY oem_model, property_name` (and `dsn` under a `count(DISTINCT dsn)`) is the shape of
//! most fleet questions. DataFusion 55 hashes and compares every row's bytes for every key
//! column: 80% of the CPU of `chattiest_properties` over the benchmark lake. The Parquet reader
//! hands those columns out as views into each column chunk's dictionary page, so a row's view
//! (16 bytes) already names its string. [`InternedGroupsExec`] gives each key column's values
//! dense ids, looked up by view and only on a miss by bytes (see `keys.rs`), packs a row's ids
//! into one integer key, and feeds DataFusion's own group accumulators with the group indices.
//!
//! The rule only replaces `Partial` aggregates (the step that sees every row) on one to four
//! plain string-view columns, with no grouping sets, limit, input ordering or dynamic filter,
//! and only when every aggregate has a group accumulator; its output is the same partial state
//! DataFusion's final step merges. Like DataFusion's, it passes rows through as states when the
//! keys barely repeat, and emits early instead of exceeding the memory pool.

mod index;
mod keys;
mod partial;
#[cfg(test)]
mod tests;

pub(crate) use keys::KeyColumn;

use crate::replace_nodes::replace_nodes;

use std::fmt;
use std::sync::Arc;

use datafusion::arrow::datatypes::DataType;
use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::common::{Result, internal_err};
use datafusion::config::ConfigOptions;
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::physical_expr::OrderingRequirements;
use datafusion::physical_expr::PhysicalExpr;
use datafusion::physical_expr::expressions::Column;
use datafusion::physical_optimizer::PhysicalOptimizerRule;
use datafusion::physical_plan::aggregates::{AggregateExec, AggregateMode};
use datafusion::physical_plan::execution_plan::CardinalityEffect;
use datafusion::physical_plan::execution_plan::{ChildrenPropertiesMode, ReplaceChildrenOptions};
use datafusion::physical_plan::metrics::{BaselineMetrics, ExecutionPlanMetricsSet, MetricsSet};
use datafusion::physical_plan::{
    ChildStats, DisplayAs, DisplayFormatType, ExecutionPlan, InputDistributionRequirements,
    InputOrderMode, PlanProperties, Statistics, StatisticsArgs,
};

/// Most key columns whose ids pack into one `u128`.
const MAX_KEY_COLUMNS: usize = 4;

/// The physical optimizer rule; see the module docs.
#[derive(Debug, Default)]
pub(crate) struct InternedStringGroups;

impl PhysicalOptimizerRule for InternedStringGroups {
    fn optimize(
        &self,
        plan: Arc<dyn ExecutionPlan>,
        _config: &ConfigOptions,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        replace_nodes(plan, |aggregate: &AggregateExec| {
            Ok(string_key_columns(aggregate).map(|key_columns| {
                Arc::new(InternedGroupsExec {
                    aggregate: Arc::new(aggregate.clone()),
                    key_columns,
                    metrics: ExecutionPlanMetricsSet::new(),
                }) as Arc<dyn ExecutionPlan>
            }))
        })
    }

    fn name(&self) -> &str {
        "dss_lake_interned_string_groups"
    }

    fn schema_check(&self) -> bool {
        true
    }
}

/// The input columns `aggregate` groups on, if the rule applies to it.
fn string_key_columns(aggregate: &AggregateExec) -> Option<Vec<usize>> {
    let group_by = aggregate.group_expr();
    let plain = *aggregate.mode() == AggregateMode::Partial
        && group_by.is_single()
        && aggregate.limit_options().is_none()
        && *aggregate.input_order_mode() == InputOrderMode::Linear
        && aggregate.dynamic_expressions_produced().is_empty()
        && aggregate
            .required_input_ordering()
            .iter()
            .all(Option::is_none)
        && aggregate
            .aggr_expr()
            .iter()
            .all(|e| e.groups_accumulator_supported());
    if !plain || group_by.expr().is_empty() || group_by.expr().len() > MAX_KEY_COLUMNS {
        return None;
    }
    let input_schema = aggregate.input().schema();
    group_by
        .expr()
        .iter()
        .map(|(expr, _)| {
            let column = expr.downcast_ref::<Column>()?;
            let field = input_schema.fields().get(column.index())?;
            (field.data_type() == &DataType::Utf8View).then_some(column.index())
        })
        .collect()
}

/// A `Partial` [`AggregateExec`] run with interned string keys; see the module docs. It keeps
/// the aggregate it replaces for its expressions, schema and plan properties.
#[derive(Debug)]
pub(crate) struct InternedGroupsExec {
    aggregate: Arc<AggregateExec>,
    key_columns: Vec<usize>,
    metrics: ExecutionPlanMetricsSet,
}

impl DisplayAs for InternedGroupsExec {
    fn fmt_as(&self, _t: DisplayFormatType, f: &mut fmt::Formatter) -> fmt::Result {
        let keys: Vec<&str> = self
            .aggregate
            .group_expr()
            .expr()
            .iter()
            .map(|(_, n)| n.as_str())
            .collect();
        let aggregates: Vec<&str> = self
            .aggregate
            .aggr_expr()
            .iter()
            .map(|e| e.name())
            .collect();
        write!(
            f,
            "InternedGroupsExec: mode=Partial, gby=[{}], aggr=[{}]",
            keys.join(", "),
            aggregates.join(", ")
        )
    }
}

impl ExecutionPlan for InternedGroupsExec {
    fn name(&self) -> &str {
        "InternedGroupsExec"
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        self.aggregate.properties()
    }

    fn input_distribution_requirements(&self) -> InputDistributionRequirements {
        self.aggregate.input_distribution_requirements()
    }

    fn required_input_ordering(&self) -> Vec<Option<OrderingRequirements>> {
        self.aggregate.required_input_ordering()
    }

    fn maintains_input_order(&self) -> Vec<bool> {
        self.aggregate.maintains_input_order()
    }

    fn benefits_from_input_partitioning(&self) -> Vec<bool> {
        self.aggregate.benefits_from_input_partitioning()
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        vec![self.aggregate.input()]
    }

    fn apply_expressions(
        &self,
        f: &mut dyn FnMut(&Arc<dyn PhysicalExpr>) -> Result<TreeNodeRecursion>,
    ) -> Result<TreeNodeRecursion> {
        self.aggregate.apply_expressions(f)
    }

    fn replace_children(
        self: Arc<Self>,
        children: Vec<Arc<dyn ExecutionPlan>>,
        options: ReplaceChildrenOptions,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let replaced = Arc::clone(&self.aggregate).replace_children(children, options)?;
        let Some(aggregate) = replaced.downcast_ref::<AggregateExec>() else {
            return internal_err!("an AggregateExec with new children is not an AggregateExec");
        };
        match string_key_columns(aggregate) {
            Some(key_columns) => Ok(Arc::new(Self {
                aggregate: Arc::new(aggregate.clone()),
                key_columns,
                metrics: ExecutionPlanMetricsSet::new(),
            })),
            // New children whose keys are no longer string views: DataFusion's own plan.
            None => Ok(replaced),
        }
    }

    fn with_new_children(
        self: Arc<Self>,
        children: Vec<Arc<dyn ExecutionPlan>>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        self.replace_children(
            children,
            ReplaceChildrenOptions {
                children_properties: ChildrenPropertiesMode::Recompute,
            },
        )
    }

    fn execute(
        &self,
        partition: usize,
        context: Arc<TaskContext>,
    ) -> Result<SendableRecordBatchStream> {
        let metrics = BaselineMetrics::new(&self.metrics, partition);
        partial::execute(
            &self.aggregate,
            self.key_columns.clone(),
            partition,
            &context,
            metrics,
        )
    }

    fn metrics(&self) -> Option<MetricsSet> {
        Some(self.metrics.clone_inner())
    }

    fn child_stats_requests(&self, partition: Option<usize>) -> Vec<ChildStats> {
        self.aggregate.child_stats_requests(partition)
    }

    fn statistics_from_inputs(
        &self,
        input_stats: &[Arc<Statistics>],
        args: &StatisticsArgs,
    ) -> Result<Arc<Statistics>> {
        self.aggregate.statistics_from_inputs(input_stats, args)
    }

    fn cardinality_effect(&self) -> CardinalityEffect {
        self.aggregate.cardinality_effect()
    }
}
