//! What the tests of the engine's rewrites share: a small-batch session with chosen physical
//! rules, and a query's answer next to its plan.

use std::sync::Arc;

use datafusion::execution::SessionStateBuilder;
use datafusion::physical_optimizer::PhysicalOptimizerRule;
use datafusion::physical_plan::{ExecutionPlan, displayable};
use datafusion::prelude::{SessionConfig, SessionContext};

/// Three partitions of 64-row batches: small enough that a few hundred rows cross batch and
/// partition edges.
pub(crate) fn small_batches() -> SessionConfig {
    SessionConfig::new()
        .with_target_partitions(3)
        .with_batch_size(64)
}

/// DataFusion's default session on `config`, plus `rules` after its physical optimizer rules.
pub(crate) fn session(
    config: SessionConfig,
    rules: Vec<Arc<dyn PhysicalOptimizerRule + Send + Sync>>,
) -> SessionContext {
    let builder = SessionStateBuilder::new()
        .with_config(config)
        .with_default_features();
    let builder = rules
        .into_iter()
        .fold(builder, |b, rule| b.with_physical_optimizer_rule(rule));
    SessionContext::new_with_state(builder.build())
}

pub(crate) async fn physical_plan(ctx: &SessionContext, sql: &str) -> Arc<dyn ExecutionPlan> {
    let frame = ctx.sql(sql).await.unwrap();
    frame.create_physical_plan().await.unwrap()
}

/// Runs `sql` on `ctx`: its result as a text table, and its physical plan.
pub(crate) async fn answer_and_physical_plan(ctx: &SessionContext, sql: &str) -> (String, String) {
    let frame = ctx.sql(sql).await.unwrap();
    let plan = frame.clone().create_physical_plan().await.unwrap();
    let plan_text = displayable(plan.as_ref()).indent(false).to_string();
    let table = crate::test_support::pretty(&frame.collect().await.unwrap()).unwrap();
    (table, plan_text)
}

/// Runs `sql` on `ctx`: its result as a text table, and its optimized logical plan.
pub(crate) async fn answer_and_plan(ctx: &SessionContext, sql: &str) -> (String, String) {
    let frame = ctx.sql(sql).await.unwrap();
    let plan = frame.clone().into_optimized_plan().unwrap();
    let table = crate::test_support::pretty(&frame.collect().await.unwrap()).unwrap();
    (table, plan.display_indent().to_string())
}

/// `batches` as a text table, as the with/without comparisons read them.
pub(crate) fn pretty(
    batches: &[datafusion::arrow::array::RecordBatch],
) -> datafusion::common::Result<String> {
    Ok(datafusion::arrow::util::pretty::pretty_format_batches(batches)?.to_string())
}
