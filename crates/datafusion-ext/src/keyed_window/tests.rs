use std::sync::Arc;

use datafusion::arrow::array::{
    ArrayRef, Int64Array, RecordBatch, StringArray, StringViewArray, TimestampMicrosecondArray,
};
use datafusion::arrow::datatypes::{DataType, Field, Schema, TimeUnit};
use datafusion::datasource::MemTable;
use datafusion::physical_optimizer::PhysicalOptimizerRule;
use datafusion::prelude::SessionContext;

use datafusion::physical_expr::window::StandardWindowExpr;
use datafusion::physical_plan::ExecutionPlan;

use super::functions::{WholeArray, whole_array_form};
use super::{KeyedWindowExec, KeyedWindows};
use crate::bulk_window::WindowsInBulk;
use crate::test_support::{answer_and_physical_plan, physical_plan, session, small_batches};

/// Devices with interleaved events in several batches, null times and statuses now and then.
fn events(rows: std::ops::Range<i64>) -> RecordBatch {
    let dsn = |i: i64| (i % 19 != 4).then(|| format!("AC000W00000{:04}", (i * 7) % 23));
    let t = |i: i64| (i % 11 != 3).then_some((i * 37) % 101 - 50);
    let status = |i: i64| {
        (i % 13 != 0).then_some(if (i * 5) % 3 == 0 {
            "Online"
        } else {
            "Offline"
        })
    };
    let columns: Vec<ArrayRef> = vec![
        Arc::new(rows.clone().map(dsn).collect::<StringViewArray>()),
        Arc::new(rows.clone().map(dsn).collect::<StringArray>()),
        Arc::new(
            rows.clone()
                .map(|i| Some(format!("m{}", i % 3)))
                .collect::<StringArray>(),
        ),
        Arc::new(rows.clone().map(t).collect::<Int64Array>()),
        Arc::new(
            rows.clone()
                .map(|i| t(i).map(|t| t * 1_000_000))
                .collect::<TimestampMicrosecondArray>()
                .with_timezone("UTC"),
        ),
        Arc::new(
            rows.clone()
                .map(|i| Some(1_000 - i))
                .collect::<Int64Array>(),
        ),
        Arc::new(rows.map(status).collect::<StringViewArray>()),
    ];
    let schema = Schema::new(vec![
        Field::new("dsn", DataType::Utf8View, true),
        Field::new("dsn_text", DataType::Utf8, true),
        Field::new("model", DataType::Utf8, true),
        Field::new("t", DataType::Int64, true),
        Field::new(
            "ts",
            DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            true,
        ),
        Field::new("seq", DataType::Int64, false),
        Field::new("status", DataType::Utf8View, true),
    ]);
    RecordBatch::try_new(Arc::new(schema), columns).unwrap()
}

fn context(with_rules: bool) -> SessionContext {
    let rules: Vec<Arc<dyn PhysicalOptimizerRule + Send + Sync>> = if with_rules {
        vec![Arc::new(WindowsInBulk), Arc::new(KeyedWindows)]
    } else {
        vec![]
    };
    let ctx = session(small_batches(), rules);
    let batches: Vec<RecordBatch> = (0..6).map(|b| events(b * 100..(b + 1) * 100)).collect();
    let table = MemTable::try_new(batches[0].schema(), vec![batches]).unwrap();
    ctx.register_table("c", Arc::new(table)).unwrap();
    ctx
}

async fn answer(with_rules: bool, sql: &str) -> (String, String) {
    answer_and_physical_plan(&context(with_rules), sql).await
}

async fn assert_same_answer(sql: &str) {
    let (expected, _) = answer(false, sql).await;
    let (got, plan) = answer(true, sql).await;
    assert_same_lines(&got, &expected, sql);
    assert!(
        plan.contains("KeyedWindowExec"),
        "the rule did not fire:\n{plan}"
    );
}

/// Tables too long to print whole when they differ: the first differing lines.
fn assert_same_lines(got: &str, expected: &str, sql: &str) {
    let first_difference = got.lines().zip(expected.lines()).position(|(g, e)| g != e);
    if let Some(line) = first_difference {
        let around = |table: &str| {
            let lines: Vec<&str> = table.lines().skip(line.saturating_sub(2)).take(5).collect();
            lines.join("\n")
        };
        panic!(
            "{sql}\nline {line} differs; got:\n{}\nexpected:\n{}",
            around(got),
            around(expected)
        );
    }
    assert_eq!(got.lines().count(), expected.lines().count(), "{sql}");
}

#[tokio::test]
async fn lag_lead_and_row_number_answer_the_same_by_string_view_key() {
    assert_same_answer(
        "SELECT dsn, t, seq, status, lag(status) OVER w AS previous, lead(t) OVER w AS next_t, \
           lag(t, 2, -1) OVER w AS two_back, row_number() OVER w AS n, \
           lead(seq, -3) OVER w AS three_back, lag(status) IGNORE NULLS OVER w AS last_status \
         FROM c WINDOW w AS (PARTITION BY dsn ORDER BY t, seq) ORDER BY dsn, t, seq",
    )
    .await;
}

#[tokio::test]
async fn descending_keys_nulls_first_and_timestamps_order_the_same() {
    assert_same_answer(
        "SELECT dsn, ts, seq, lead(status) OVER (PARTITION BY dsn ORDER BY ts DESC NULLS FIRST, \
           seq DESC) AS next_status \
         FROM c ORDER BY dsn NULLS FIRST, ts DESC NULLS FIRST, seq DESC",
    )
    .await;
    assert_same_answer(
        "SELECT dsn, t, seq, row_number() OVER w AS n, lag(seq) OVER w AS previous_seq \
         FROM c WHERE t IS NOT NULL OR seq % 2 = 0 \
         WINDOW w AS (PARTITION BY dsn ORDER BY t NULLS FIRST, seq) ORDER BY dsn, n",
    )
    .await;
}

#[tokio::test]
async fn two_text_partition_keys_answer_the_same() {
    assert_same_answer(
        "SELECT dsn_text, model, t, seq, lag(t) OVER (PARTITION BY model, dsn_text ORDER BY t, \
           seq) AS previous FROM c ORDER BY model, dsn_text, t, seq",
    )
    .await;
}

#[tokio::test]
async fn windows_over_frames_or_text_order_keep_datafusions_plan() {
    for sql in [
        "SELECT dsn, t, seq, first_value(t) OVER (PARTITION BY dsn ORDER BY t, seq) AS first \
         FROM c ORDER BY dsn, t, seq",
        "SELECT model, dsn, seq, lag(t) OVER (PARTITION BY model ORDER BY dsn, seq) AS previous \
         FROM c ORDER BY model, dsn, seq",
    ] {
        let (expected, _) = answer(false, sql).await;
        let (got, plan) = answer(true, sql).await;
        assert_same_lines(&got, &expected, sql);
        assert!(!plan.contains("KeyedWindowExec"), "{plan}");
    }
}

#[tokio::test]
async fn plain_shifts_and_row_numbers_run_over_the_whole_array() {
    let sql = "SELECT lag(status) OVER w, lead(t, 2) OVER w, lead(t, -3) OVER w, \
                 row_number() OVER w, lag(status) IGNORE NULLS OVER w, lag(t, 1, 0) OVER w \
               FROM c WINDOW w AS (PARTITION BY dsn ORDER BY t, seq)";
    let ctx = context(true);
    let plan = physical_plan(&ctx, sql).await;
    let keyed = find_keyed(&plan);
    let forms: Vec<Option<WholeArray>> = keyed
        .window
        .window_expr()
        .iter()
        .map(|expr| {
            let standard = expr.as_any().downcast_ref::<StandardWindowExpr>().unwrap();
            whole_array_form(standard, expr.field().unwrap().data_type())
        })
        .collect();
    use WholeArray::{RowNumber, Shift};
    assert_eq!(
        forms,
        [
            Some(Shift(1)),
            Some(Shift(-2)),
            Some(Shift(3)),
            Some(RowNumber),
            None,
            None
        ]
    );
}

fn find_keyed(plan: &Arc<dyn ExecutionPlan>) -> &KeyedWindowExec {
    if let Some(keyed) = plan.downcast_ref::<KeyedWindowExec>() {
        return keyed;
    }
    let child = plan.children().into_iter().next();
    find_keyed(child.unwrap_or_else(|| panic!("no KeyedWindowExec in the plan")))
}
