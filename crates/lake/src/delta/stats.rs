//! A data file's Delta statistics: the `stats` JSON of its `add` action, from which Spark, Trino,
//! DuckDB, polars and our own engine skip the file without opening it.
//!
//! Computed from the rows as they are written, not from the Parquet footer: the footer's string
//! statistics are truncated, and Delta readers take `minValues`/`maxValues` as exact bounds.

use arrow_arith::aggregate::{max, max_string, min, min_string};
use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, Int64Type, TimestampMicrosecondType};
use arrow_array::{Array, RecordBatch};
use arrow_schema::DataType;
use dss_lake_schema::text::timestamp_millis_string;
use serde_json::{Map, Value, json};

/// Text longer than this gets no bounds, only a null count: it is free text (a raw frame, a
/// JSON remainder) that nobody filters by range, and its bounds would bloat every commit.
const MAX_BOUND_BYTES: usize = 64;
const MICROS_PER_MILLI: i64 = 1_000;

/// The `stats` of a file holding `batch`: `numRecords`, and per top-level column its
/// `nullCount` and, where Delta defines them, `minValues` and `maxValues`.
///
/// Timestamps are written to the millisecond, as Delta specifies: the minimum rounded down and
/// the maximum rounded up, so that both stay true bounds. Booleans and lists get a null count
/// only; a float column with a NaN or an infinity gets no bounds (JSON has no spelling for them).
pub(crate) fn file_stats(batch: &RecordBatch) -> String {
    let mut mins = Map::new();
    let mut maxes = Map::new();
    let mut nulls = Map::new();
    for (field, column) in batch.schema().fields().iter().zip(batch.columns()) {
        if matches!(field.data_type(), DataType::List(_)) {
            continue;
        }
        nulls.insert(field.name().clone(), json!(column.null_count()));
        if let Some((low, high)) = bounds(column.as_ref()) {
            mins.insert(field.name().clone(), low);
            maxes.insert(field.name().clone(), high);
        }
    }
    json!({
        "numRecords": batch.num_rows(),
        "minValues": mins,
        "maxValues": maxes,
        "nullCount": nulls,
    })
    .to_string()
}

fn bounds(column: &dyn Array) -> Option<(Value, Value)> {
    match column.data_type() {
        DataType::Utf8 => {
            let values = column.as_string::<i32>();
            let (low, high) = (min_string(values)?, max_string(values)?);
            (low.len() <= MAX_BOUND_BYTES && high.len() <= MAX_BOUND_BYTES)
                .then(|| (json!(low), json!(high)))
        }
        DataType::Int64 => {
            let values = column.as_primitive::<Int64Type>();
            Some((json!(min(values)?), json!(max(values)?)))
        }
        DataType::Float64 => {
            let values = column.as_primitive::<Float64Type>();
            if values.iter().flatten().any(|v| !v.is_finite()) {
                return None;
            }
            Some((json!(min(values)?), json!(max(values)?)))
        }
        DataType::Timestamp(..) => {
            let values = column.as_primitive::<TimestampMicrosecondType>();
            let (low, high) = (min(values)?, max(values)?);
            let ceiling = high.div_euclid(MICROS_PER_MILLI) * MICROS_PER_MILLI
                + if high.rem_euclid(MICROS_PER_MILLI) == 0 {
                    0
                } else {
                    MICROS_PER_MILLI
                };
            Some((
                json!(timestamp_millis_string(low)),
                json!(timestamp_millis_string(ceiling)),
            ))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    use arrow_array::{
        BooleanArray, Float64Array, Int64Array, StringArray, TimestampMicrosecondArray,
    };
    use arrow_schema::{Field, Schema};

    fn stats_of(columns: Vec<(&str, Arc<dyn Array>)>) -> Value {
        let fields: Vec<Field> = columns
            .iter()
            .map(|(name, c)| Field::new(*name, c.data_type().clone(), true))
            .collect();
        let batch = RecordBatch::try_new(
            Arc::new(Schema::new(fields)),
            columns.into_iter().map(|(_, c)| c).collect(),
        )
        .unwrap();
        serde_json::from_str(&file_stats(&batch)).unwrap()
    }

    #[test]
    fn bounds_are_exact_for_text_and_numbers_and_nulls_are_counted() {
        let stats = stats_of(vec![
            (
                "dsn",
                Arc::new(StringArray::from(vec![
                    Some("AC0002"),
                    None,
                    Some("AC0001"),
                ])),
            ),
            ("seq", Arc::new(Int64Array::from(vec![7, 3, 9]))),
            (
                "value",
                Arc::new(Float64Array::from(vec![Some(-1.5), Some(2.0), None])),
            ),
            (
                "echo",
                Arc::new(BooleanArray::from(vec![Some(true), None, None])),
            ),
        ]);
        assert_eq!(stats["numRecords"], 3);
        assert_eq!(
            stats["minValues"],
            json!({"dsn": "AC0001", "seq": 3, "value": -1.5})
        );
        assert_eq!(
            stats["maxValues"],
            json!({"dsn": "AC0002", "seq": 9, "value": 2.0})
        );
        assert_eq!(
            stats["nullCount"],
            json!({"dsn": 1, "seq": 0, "value": 1, "echo": 2})
        );
    }

    #[test]
    fn timestamp_bounds_widen_to_whole_milliseconds() {
        let times =
            TimestampMicrosecondArray::from(vec![1_000_000_000_123_456, 1_000_000_000_999_001])
                .with_timezone("UTC");
        let stats = stats_of(vec![("t", Arc::new(times))]);
        assert_eq!(stats["minValues"]["t"], "2001-09-09T01:46:40.123Z");
        assert_eq!(stats["maxValues"]["t"], "2001-09-09T01:46:41.000Z");
        let exact = TimestampMicrosecondArray::from(vec![-1_000]).with_timezone("UTC");
        let stats = stats_of(vec![("t", Arc::new(exact))]);
        assert_eq!(stats["maxValues"]["t"], "1969-12-31T23:59:59.999Z");
    }

    #[test]
    fn long_text_all_null_columns_and_nan_get_no_bounds() {
        let long = "x".repeat(MAX_BOUND_BYTES + 1);
        let stats = stats_of(vec![
            ("raw", Arc::new(StringArray::from(vec!["a", long.as_str()]))),
            ("none", Arc::new(Int64Array::from(vec![None, None]))),
            ("nan", Arc::new(Float64Array::from(vec![1.0, f64::NAN]))),
        ]);
        assert_eq!(stats["minValues"], json!({}));
        assert_eq!(stats["maxValues"], json!({}));
        assert_eq!(stats["nullCount"], json!({"raw": 0, "none": 2, "nan": 0}));
    }
}
