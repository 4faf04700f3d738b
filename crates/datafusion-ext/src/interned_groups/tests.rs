use std::sync::Arc;

use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, Int64Array, RecordBatch, StringViewArray, StringViewBuilder,
};
use datafusion::arrow::datatypes::{DataType, Field, Int64Type, Schema, SchemaRef};
use datafusion::common::HashMap;
use datafusion::datasource::MemTable;
use datafusion::execution::memory_pool::GreedyMemoryPool;
use datafusion::execution::runtime_env::RuntimeEnvBuilder;
use datafusion::physical_optimizer::PhysicalOptimizerRule;
use datafusion::physical_plan::{ExecutionPlan, collect, displayable};
use datafusion::prelude::{SessionConfig, SessionContext};

use super::InternedStringGroups;
use crate::distinct_count::DistinctBesideCounts;
use crate::test_support::{answer_and_physical_plan, physical_plan, session, small_batches};

fn schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("dsn", DataType::Utf8View, true),
        Field::new("model", DataType::Utf8View, true),
        Field::new("property", DataType::Utf8View, true),
        Field::new("value", DataType::Int64, true),
    ]))
}

/// Long (out-of-line) device names, short (inline) models and properties, nulls in every key.
fn row(
    i: i64,
) -> (
    Option<String>,
    Option<&'static str>,
    Option<&'static str>,
    Option<i64>,
) {
    let dsn = (i % 17 != 5).then(|| format!("AC000W00000{:04}", (i * 7) % 61));
    let model = ["freezer-model", "oven-x", "thermostat"][(i % 3) as usize];
    let property = ["temp_c", "door_open", "a_rather_long_property_name"][((i / 3) % 3) as usize];
    let model = (i % 29 != 3).then_some(model);
    let property = (i % 31 != 7).then_some(property);
    (dsn, model, property, (i % 11 != 0).then_some(i % 97))
}

/// Rows `range`, keys built with or without deduplication: deduplicated, a repeated string
/// has one view (as Parquet dictionary pages give); otherwise each copy has its own.
fn batch(range: std::ops::Range<i64>, deduplicate: bool) -> RecordBatch {
    let builder = || {
        let b = StringViewBuilder::new();
        if deduplicate {
            b.with_deduplicate_strings()
        } else {
            b
        }
    };
    let (mut dsn, mut model, mut property) = (builder(), builder(), builder());
    let mut values = Vec::new();
    for i in range {
        let (d, m, p, v) = row(i);
        dsn.append_option(d);
        model.append_option(m);
        property.append_option(p);
        values.push(v);
    }
    let columns: Vec<ArrayRef> = vec![
        Arc::new(dsn.finish()),
        Arc::new(model.finish()),
        Arc::new(property.finish()),
        Arc::new(Int64Array::from(values)),
    ];
    RecordBatch::try_new(schema(), columns).unwrap()
}

fn batches() -> Vec<RecordBatch> {
    (0..12)
        .map(|b| batch(b * 250..(b + 1) * 250, b % 3 != 0))
        .collect()
}

fn context(
    with_rule: bool,
    configure: impl FnOnce(SessionConfig) -> SessionConfig,
) -> SessionContext {
    let rules: Vec<Arc<dyn PhysicalOptimizerRule + Send + Sync>> = if with_rule {
        vec![Arc::new(InternedStringGroups)]
    } else {
        vec![]
    };
    let ctx = session(configure(small_batches()), rules);
    // As in the engine: `count(DISTINCT dsn)` beside a count becomes two groupings.
    ctx.add_optimizer_rule(Arc::new(DistinctBesideCounts));
    let table = MemTable::try_new(schema(), vec![batches()]).unwrap();
    ctx.register_table("t", Arc::new(table)).unwrap();
    ctx
}

const QUERIES: [&str; 4] = [
    "SELECT model, count(*) AS n, sum(value) AS total, max(dsn) AS last_dsn FROM t \
     GROUP BY model ORDER BY model",
    "SELECT model, property, count(*) AS n, avg(value) AS mean, min(value) AS low, \
     count(value) FILTER (WHERE value > 40) AS high FROM t \
     GROUP BY model, property ORDER BY model, property",
    "SELECT model, property, count(*) AS n, count(DISTINCT dsn) AS devices FROM t \
     GROUP BY model, property ORDER BY model, property",
    "SELECT dsn, property, model, count(DISTINCT value) AS values, sum(value) AS total FROM t \
     GROUP BY dsn, property, model ORDER BY dsn, property, model",
];

#[tokio::test]
async fn answers_match_datafusion_on_string_keys() {
    for sql in QUERIES {
        let (expected, _) = answer_and_physical_plan(&context(false, |c| c), sql).await;
        let (got, plan) = answer_and_physical_plan(&context(true, |c| c), sql).await;
        assert_eq!(got, expected, "{sql}");
        assert!(
            plan.contains("InternedGroupsExec"),
            "the rule did not fire:\n{plan}"
        );
    }
}

#[tokio::test]
async fn keys_that_barely_repeat_pass_through_as_states() {
    let sql = QUERIES[3];
    let (expected, _) = answer_and_physical_plan(&context(false, |c| c), sql).await;
    let skipping = context(true, |mut c| {
        let execution = &mut c.options_mut().execution;
        execution.skip_partial_aggregation_probe_rows_threshold = 10;
        execution.skip_partial_aggregation_probe_ratio_threshold = 0.01;
        c
    });
    let plan = physical_plan(&skipping, sql).await;
    let got = crate::test_support::pretty(
        &collect(Arc::clone(&plan), skipping.task_ctx())
            .await
            .unwrap(),
    );
    assert_eq!(got.unwrap(), expected);
    let partial = find_interned(&plan);
    let output_rows = partial.metrics().unwrap().output_rows().unwrap();
    assert!(
        output_rows > 2_500,
        "{output_rows} rows out of 3000: not passed through"
    );
}

#[tokio::test]
async fn a_small_memory_pool_makes_it_emit_early_and_lose_nothing() {
    let sql = "SELECT dsn, model, property, count(*) AS n FROM t GROUP BY dsn, model, property";
    let ctx = context(true, |c| c);
    let plan = physical_plan(&ctx, sql).await;
    let partial = find_interned(&plan);
    let runtime = RuntimeEnvBuilder::new()
        .with_memory_pool(Arc::new(GreedyMemoryPool::new(48 * 1024)))
        .build_arc()
        .unwrap();
    let small =
        SessionContext::new_with_config_rt(SessionConfig::new().with_batch_size(100), runtime);
    let states = collect(Arc::clone(&partial), small.task_ctx())
        .await
        .unwrap();

    let mut counts: HashMap<Key, i64> = HashMap::new();
    let mut rows_out = 0;
    for batch in &states {
        rows_out += batch.num_rows();
        let key = |c: usize, r: usize| {
            let column: &StringViewArray = batch.column(c).as_string_view();
            column.is_valid(r).then(|| column.value(r).to_owned())
        };
        let n = batch.column(3).as_primitive::<Int64Type>();
        for r in 0..batch.num_rows() {
            *counts.entry((key(0, r), key(1, r), key(2, r))).or_default() += n.value(r);
        }
    }
    let mut expected: HashMap<_, i64> = HashMap::new();
    for i in 0..3000 {
        let (d, m, p, _) = row(i);
        *expected
            .entry((d, m.map(str::to_owned), p.map(str::to_owned)))
            .or_default() += 1;
    }
    assert_eq!(counts, expected);
    assert!(
        rows_out > expected.len(),
        "no early emission: {rows_out} rows for {} groups",
        expected.len()
    );
}

/// A group's (dsn, model, property).
type Key = (Option<String>, Option<String>, Option<String>);

fn find_interned(plan: &Arc<dyn ExecutionPlan>) -> Arc<dyn ExecutionPlan> {
    fn search(plan: &Arc<dyn ExecutionPlan>) -> Option<Arc<dyn ExecutionPlan>> {
        if plan.name() == "InternedGroupsExec" {
            return Some(Arc::clone(plan));
        }
        plan.children().into_iter().find_map(search)
    }
    search(plan).unwrap_or_else(|| {
        panic!(
            "no InternedGroupsExec in {}",
            displayable(plan.as_ref()).indent(false)
        )
    })
}
