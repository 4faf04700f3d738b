//! Window functions over the sorted rows, one partition after another.

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, RecordBatch, UInt32Array, UInt64Array};
use datafusion::arrow::compute::{concat, take};
use datafusion::arrow::datatypes::DataType;
use datafusion::common::{Result, ScalarValue, internal_datafusion_err};
use datafusion::physical_expr::expressions::Literal;
use datafusion::physical_expr::window::StandardWindowExpr;
use datafusion::physical_plan::WindowExpr;
use datafusion::physical_plan::windows::WindowUDFExpr;

/// `expr` over `sorted`, whose partitions end at `ends`.
///
/// `lag`/`lead` (offset only, respecting nulls) and `row_number` are computed for all partitions
/// at once: a gather with each partition's edges as nulls, a running count. Any other function
/// is called once per partition on that partition's slice of its arguments, which are
/// evaluated once for all partitions.
pub(super) fn evaluate(
    expr: &dyn WindowExpr,
    sorted: &RecordBatch,
    ends: &[usize],
) -> Result<ArrayRef> {
    let standard = expr
        .as_any()
        .downcast_ref::<StandardWindowExpr>()
        .ok_or_else(|| internal_datafusion_err!("KeyedWindowExec got a non-standard window"))?;
    let args = expr.evaluate_args(sorted)?;
    match whole_array_form(standard, &expr.field()?.data_type().clone()) {
        Some(WholeArray::Shift(shift)) => shifted(&args[0], shift, ends),
        Some(WholeArray::RowNumber) => Ok(row_numbers(ends)),
        None => per_partition(standard, &args, ends),
    }
}

/// A function computed over all partitions at once.
#[derive(Debug, PartialEq)]
pub(super) enum WholeArray {
    /// `lag` (positive) or `lead` (negative) by this many rows, null outside the partition.
    Shift(i64),
    RowNumber,
}

pub(super) fn whole_array_form(
    standard: &StandardWindowExpr,
    output: &DataType,
) -> Option<WholeArray> {
    let udf = standard.get_standard_func_expr();
    let udf = udf.as_any().downcast_ref::<WindowUDFExpr>()?;
    // `IGNORE NULLS` and a reversed evaluation change what a shift means, and DataFusion 55 has
    // no getter for either; its derived `Debug` ends with both fields.
    let plain = format!("{udf:?}").ends_with("is_reversed: false, ignore_nulls: false }");
    if !plain {
        return None;
    }
    let literal = |i: usize| {
        udf.args()
            .get(i)
            .map(|arg| arg.downcast_ref::<Literal>().map(|l| l.value().clone()))
    };
    match (udf.fun().name(), udf.args().len()) {
        ("row_number", 0) if *output == DataType::UInt64 => Some(WholeArray::RowNumber),
        (name @ ("lag" | "lead"), 1..=3) => {
            let offset = match literal(1) {
                None => 1,
                Some(Some(ScalarValue::Int64(Some(offset)))) => offset,
                Some(_) => return None,
            };
            // Only a missing or null default: any other needs casting to the value's type.
            if !matches!(literal(2), None | Some(Some(ScalarValue::Null))) {
                return None;
            }
            let lag = if name == "lag" {
                offset
            } else {
                offset.wrapping_neg()
            };
            Some(WholeArray::Shift(lag))
        }
        _ => None,
    }
}

/// Each row's value `lag` rows back (forward if negative) in its partition, or null.
fn shifted(values: &ArrayRef, lag: i64, ends: &[usize]) -> Result<ArrayRef> {
    let mut indices = Vec::with_capacity(values.len());
    let mut start = 0;
    for &end in ends {
        for row in start..end {
            let source = row as i128 - i128::from(lag);
            let inside = source >= start as i128 && source < end as i128;
            // Rows number fewer than 2^32 (the row order refuses more).
            indices.push(inside.then_some(source as u32));
        }
        start = end;
    }
    Ok(take(values.as_ref(), &UInt32Array::from(indices), None)?)
}

fn row_numbers(ends: &[usize]) -> ArrayRef {
    let mut start = 0;
    let numbers = ends.iter().flat_map(|&end| {
        let partition = 1..=(end - start) as u64;
        start = end;
        partition
    });
    Arc::new(UInt64Array::from_iter_values(numbers))
}

fn per_partition(
    standard: &StandardWindowExpr,
    args: &[ArrayRef],
    ends: &[usize],
) -> Result<ArrayRef> {
    let mut pieces = Vec::with_capacity(ends.len());
    let mut start = 0;
    for &end in ends {
        let len = end - start;
        let partition_args: Vec<ArrayRef> = args.iter().map(|a| a.slice(start, len)).collect();
        let mut evaluator = standard.get_standard_func_expr().create_evaluator()?;
        pieces.push(evaluator.evaluate_all(&partition_args, len)?);
        start = end;
    }
    let pieces: Vec<&dyn Array> = pieces.iter().map(AsRef::as_ref).collect();
    Ok(concat(&pieces)?)
}
