//! `date_trunc` with DataFusion's arithmetic fast path for UTC timestamps.
//!
//! Every time column of the lake is `Timestamp(µs, "UTC")`. DataFusion 55 truncates to an hour
//! or a day with plain arithmetic only when a timestamp has no time zone at all; with "UTC" it
//! converts every value through chrono, which made `date_trunc('hour', created_at)` most of the
//! `hourly_average_by_model` query (~160 ns a row). In UTC an hour and a day are fixed lengths,
//! so this wrapper hands DataFusion's own `date_trunc` the same values tagged as zone-less (a
//! change of type, no copy) and tags the result "UTC" again. Any other zone, scalars and every
//! other input go to DataFusion's function unchanged.

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, make_array};
use datafusion::arrow::datatypes::{DataType, FieldRef};
use datafusion::common::Result;
use datafusion::logical_expr::sort_properties::{ExprProperties, SortProperties};
use datafusion::logical_expr::{
    ColumnarValue, Documentation, ReturnFieldArgs, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl,
    Signature,
};

/// The `date_trunc` (and `datetrunc`) the engine registers in place of DataFusion's.
pub(crate) fn udf() -> ScalarUDF {
    ScalarUDF::new_from_impl(UtcDateTrunc {
        inner: datafusion::functions::datetime::date_trunc(),
    })
}

#[derive(Debug, PartialEq, Eq, Hash)]
pub(crate) struct UtcDateTrunc {
    inner: Arc<ScalarUDF>,
}

impl ScalarUDFImpl for UtcDateTrunc {
    fn name(&self) -> &str {
        self.inner.name()
    }

    fn aliases(&self) -> &[String] {
        self.inner.aliases()
    }

    fn signature(&self) -> &Signature {
        self.inner.signature()
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        self.inner.return_type(arg_types)
    }

    fn return_field_from_args(&self, args: ReturnFieldArgs) -> Result<FieldRef> {
        self.inner.return_field_from_args(args)
    }

    fn invoke_with_args(&self, mut args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let (utc, unit, zone) = match args.args.get(1) {
            Some(ColumnarValue::Array(array)) => match array.data_type() {
                DataType::Timestamp(unit, Some(zone)) if is_utc(zone) => {
                    (Arc::clone(array), *unit, Arc::clone(zone))
                }
                _ => return self.inner.invoke_with_args(args),
            },
            _ => return self.inner.invoke_with_args(args),
        };
        // DataFusion checks the result against the planned return type: plan it zone-less too.
        let zoneless = DataType::Timestamp(unit, None);
        args.args[1] = ColumnarValue::Array(retag(&utc, None)?);
        if let Some(field) = args.arg_fields.get_mut(1) {
            *field = Arc::new(field.as_ref().clone().with_data_type(zoneless.clone()));
        }
        args.return_field = Arc::new(args.return_field.as_ref().clone().with_data_type(zoneless));
        match self.inner.invoke_with_args(args)? {
            ColumnarValue::Array(out) => Ok(ColumnarValue::Array(retag(&out, Some(zone))?)),
            scalar => Ok(scalar),
        }
    }

    fn output_ordering(&self, input: &[ExprProperties]) -> Result<SortProperties> {
        self.inner.output_ordering(input)
    }

    fn preserves_lex_ordering(&self, inputs: &[ExprProperties]) -> Result<bool> {
        self.inner.preserves_lex_ordering(inputs)
    }

    fn documentation(&self) -> Option<&Documentation> {
        self.inner.documentation()
    }
}

/// A time zone that is UTC under one of its usual spellings.
pub(crate) fn is_utc(zone: &str) -> bool {
    ["UTC", "Etc/UTC", "Z", "+00:00", "+0000", "+00"]
        .iter()
        .any(|utc| zone.eq_ignore_ascii_case(utc))
}

/// The same timestamp values under another zone tag: a new type over the same buffers.
fn retag(array: &ArrayRef, zone: Option<Arc<str>>) -> Result<ArrayRef> {
    let DataType::Timestamp(unit, _) = array.data_type() else {
        return Ok(Arc::clone(array));
    };
    let data = array
        .to_data()
        .into_builder()
        .data_type(DataType::Timestamp(*unit, zone))
        .build()?;
    Ok(make_array(data))
}

#[cfg(test)]
mod tests {
    use datafusion::arrow::array::TimestampMicrosecondArray;
    use datafusion::arrow::datatypes::Field;
    use datafusion::common::ScalarValue;
    use datafusion::common::config::ConfigOptions;

    use super::*;

    fn call(udf: &ScalarUDF, granularity: &str, array: &ArrayRef) -> ArrayRef {
        let arg_fields: Vec<FieldRef> = vec![
            Arc::new(Field::new("g", DataType::Utf8, false)),
            Arc::new(Field::new("t", array.data_type().clone(), true)),
        ];
        let args = ScalarFunctionArgs {
            args: vec![
                ColumnarValue::Scalar(ScalarValue::Utf8(Some(granularity.to_owned()))),
                ColumnarValue::Array(Arc::clone(array)),
            ],
            arg_fields: arg_fields.clone(),
            number_rows: array.len(),
            return_field: Arc::new(Field::new("out", array.data_type().clone(), true)),
            config_options: Arc::new(ConfigOptions::default()),
        };
        match udf.invoke_with_args(args).unwrap() {
            ColumnarValue::Array(out) => out,
            ColumnarValue::Scalar(s) => panic!("a scalar from an array: {s:?}"),
        }
    }

    #[test]
    fn utc_timestamps_truncate_exactly_as_datafusion_does_and_stay_utc() {
        // Around a leap day, a year end, before 1970 and with sub-second parts.
        let micros = [
            1_709_164_799_999_999,
            1_709_251_200_000_000,
            1_735_689_599_123_456,
            -86_400_000_001,
            1_795_000_000_654_321,
        ];
        let values: Vec<Option<i64>> = micros.iter().copied().map(Some).chain([None]).collect();
        let utc: ArrayRef = Arc::new(TimestampMicrosecondArray::from(values).with_timezone("UTC"));
        let ours = udf();
        let datafusions = datafusion::functions::datetime::date_trunc();
        for granularity in ["second", "minute", "hour", "day", "week", "month", "year"] {
            let expected = call(&datafusions, granularity, &utc);
            let got = call(&ours, granularity, &utc);
            assert_eq!(got.data_type(), utc.data_type(), "{granularity}");
            assert_eq!(&got, &expected, "{granularity}");
        }
    }

    #[test]
    fn other_zones_go_to_datafusion_unchanged() {
        let paris: ArrayRef = Arc::new(
            TimestampMicrosecondArray::from(vec![1_735_689_599_123_456]).with_timezone("+01:00"),
        );
        assert!(!is_utc("+01:00") && is_utc("utc"));
        let expected = call(
            &datafusion::functions::datetime::date_trunc(),
            "day",
            &paris,
        );
        assert_eq!(&call(&udf(), "day", &paris), &expected);
    }
}
