//! `CAST(t AS DATE)` of a UTC timestamp as one division per value.
//!
//! "Per day" is the most common grouping in fleet questions, and every time column of the lake
//! is `Timestamp(µs, "UTC")`. arrow's cast from a timestamp with a zone to a date converts each
//! value through chrono (~120 ns a value here, three times the cost of the zone-less cast):
//! most of the grouping step of `time_online_per_day`. In UTC a day is a fixed length, so a
//! function rewrite (which DataFusion applies while analysing the plan, keeping the column
//! names) turns those casts into [`utc_date`], a floor division. Casts from other zones, from
//! zone-less timestamps and to other types are left as they are.

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, Date32Array};
use datafusion::arrow::datatypes::{
    ArrowTimestampType, DataType, TimeUnit, TimestampMicrosecondType, TimestampMillisecondType,
    TimestampNanosecondType, TimestampSecondType,
};
use datafusion::common::tree_node::Transformed;
use datafusion::common::{DFSchema, Result, ScalarValue, exec_err};
use datafusion::config::ConfigOptions;
use datafusion::logical_expr::expr::Cast;
use datafusion::logical_expr::expr_rewriter::FunctionRewrite;
use datafusion::logical_expr::sort_properties::{ExprProperties, SortProperties};
use datafusion::logical_expr::{
    ColumnarValue, Expr, ExprSchemable, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature,
    Volatility,
};

use crate::date_trunc::is_utc;

/// The rewrite to register with the session; see the module docs.
#[derive(Debug)]
pub(crate) struct UtcDateCast {
    utc_date: Arc<ScalarUDF>,
}

impl Default for UtcDateCast {
    fn default() -> Self {
        UtcDateCast {
            utc_date: Arc::new(ScalarUDF::new_from_impl(UtcDate::default())),
        }
    }
}

impl FunctionRewrite for UtcDateCast {
    fn name(&self) -> &str {
        "dss_lake_utc_date_cast"
    }

    fn rewrite(
        &self,
        expr: Expr,
        schema: &DFSchema,
        _config: &ConfigOptions,
    ) -> Result<Transformed<Expr>> {
        let Expr::Cast(Cast { expr: input, field }) = &expr else {
            return Ok(Transformed::no(expr));
        };
        let from_utc = matches!(
            input.get_type(schema),
            Ok(DataType::Timestamp(_, Some(zone))) if is_utc(&zone)
        );
        if field.data_type() != &DataType::Date32 || !from_utc {
            return Ok(Transformed::no(expr));
        }
        Ok(Transformed::yes(self.utc_date.call(vec![*input.clone()])))
    }
}

/// `utc_date(t)`: the UTC calendar date of a timestamp whose zone is UTC.
#[derive(Debug, PartialEq, Eq, Hash)]
struct UtcDate {
    signature: Signature,
}

impl Default for UtcDate {
    fn default() -> Self {
        UtcDate {
            signature: Signature::any(1, Volatility::Immutable),
        }
    }
}

impl ScalarUDFImpl for UtcDate {
    fn name(&self) -> &str {
        "utc_date"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Date32)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let [arg] = args.args.as_slice() else {
            return exec_err!("utc_date takes one timestamp");
        };
        match arg {
            ColumnarValue::Array(array) => Ok(ColumnarValue::Array(days(array)?)),
            ColumnarValue::Scalar(scalar) => {
                let day = days(&scalar.to_array()?)?;
                Ok(ColumnarValue::Scalar(ScalarValue::try_from_array(&day, 0)?))
            }
        }
    }

    /// A later timestamp never has an earlier date, so sorted input stays sorted.
    fn output_ordering(&self, input: &[ExprProperties]) -> Result<SortProperties> {
        Ok(input
            .first()
            .map_or(SortProperties::Unordered, |i| i.sort_properties))
    }
}

/// The UTC date of each timestamp in `array`.
fn days(array: &ArrayRef) -> Result<ArrayRef> {
    match array.data_type() {
        DataType::Timestamp(TimeUnit::Second, _) => Ok(floor_days::<TimestampSecondType>(array, 1)),
        DataType::Timestamp(TimeUnit::Millisecond, _) => {
            Ok(floor_days::<TimestampMillisecondType>(array, 1_000))
        }
        DataType::Timestamp(TimeUnit::Microsecond, _) => {
            Ok(floor_days::<TimestampMicrosecondType>(array, 1_000_000))
        }
        DataType::Timestamp(TimeUnit::Nanosecond, _) => {
            Ok(floor_days::<TimestampNanosecondType>(array, 1_000_000_000))
        }
        other => exec_err!("utc_date takes a timestamp, not {other}"),
    }
}

fn floor_days<T: ArrowTimestampType>(array: &ArrayRef, per_second: i64) -> ArrayRef {
    let per_day = 86_400 * per_second;
    // Dates before 1970 round down too: -1 µs is 1969-12-31.
    let days: Date32Array = array
        .as_primitive::<T>()
        .unary(|t| t.div_euclid(per_day) as i32);
    Arc::new(days)
}

#[cfg(test)]
mod tests {
    use datafusion::arrow::array::{RecordBatch, TimestampMicrosecondArray};
    use datafusion::arrow::datatypes::{Field, Schema};
    use datafusion::execution::FunctionRegistry;
    use datafusion::prelude::SessionContext;

    use super::*;

    /// Timestamps around midnights, before 1970 and far out, in three zones, and NULLs.
    fn times() -> RecordBatch {
        let micros: Vec<Option<i64>> = [
            Some(0),
            Some(-1),
            Some(86_399_999_999),
            Some(86_400_000_000),
            Some(-86_400_000_001),
            Some(1_764_547_199_999_999),
            Some(253_402_300_799_000_000),
            None,
        ]
        .to_vec();
        let utc = TimestampMicrosecondArray::from(micros.clone()).with_timezone("UTC");
        let plus = TimestampMicrosecondArray::from(micros.clone()).with_timezone("+00:00");
        let paris = TimestampMicrosecondArray::from(micros.clone()).with_timezone("Europe/Paris");
        let naive = TimestampMicrosecondArray::from(micros);
        let field = |name: &str, a: &dyn Array| Field::new(name, a.data_type().clone(), true);
        let schema = Schema::new(vec![
            field("utc", &utc),
            field("plus", &plus),
            field("paris", &paris),
            field("naive", &naive),
        ]);
        RecordBatch::try_new(
            Arc::new(schema),
            vec![
                Arc::new(utc),
                Arc::new(plus),
                Arc::new(paris),
                Arc::new(naive),
            ],
        )
        .unwrap()
    }

    async fn answer(rewrite: bool, sql: &str) -> (String, String) {
        let ctx = SessionContext::new();
        if rewrite {
            let state = ctx.state_ref();
            let mut state = state.write();
            state
                .register_function_rewrite(Arc::new(UtcDateCast::default()))
                .unwrap();
        }
        ctx.register_batch("t", times()).unwrap();
        crate::test_support::answer_and_plan(&ctx, sql).await
    }

    #[tokio::test]
    async fn utc_casts_to_date_answer_the_same_and_keep_their_names() {
        // The first cast has no alias: DataFusion names it after its input, `t.utc`.
        let sql = "SELECT CAST(utc AS DATE), CAST(plus AS DATE) AS d, CAST(paris AS DATE) AS p, \
                   CAST(naive AS DATE) AS n, CAST(TIMESTAMP '1969-12-31T23:59:59Z' AS DATE) AS lit, \
                   CAST(utc AS VARCHAR) AS text FROM t ORDER BY plus";
        let (expected, before) = answer(false, sql).await;
        let (got, after) = answer(true, sql).await;
        assert_eq!(got, expected);
        assert!(got.contains("| t.utc "), "{got}");
        assert!(!before.contains("utc_date"), "{before}");
        // Both UTC columns are rewritten; Paris, zone-less and text casts are not.
        assert_eq!(after.matches("utc_date(").count(), 2, "{after}");
        assert!(after.contains("CAST(t.paris AS Date32)"), "{after}");
    }
}
