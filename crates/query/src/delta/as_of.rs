//! Time travel: `as_of(table, version)` reads a table as one of its Delta commits left it.
//!
//! - `SELECT * FROM as_of('datapoint', 12)`: version 12, as `lake info` and every Delta reader
//!   number them;
//! - `SELECT * FROM as_of('datapoint', TIMESTAMP '2026-12-01T10:00:00Z')`: the newest commit at
//!   or before that time (a string in RFC 3339 works too).
//!
//! A table function because DataFusion's SQL has no time-travel clause of its own (its parser
//! takes `FOR SYSTEM_TIME AS OF` only in dialects the engine does not use, and its planner
//! would ignore it); the table function is how DataFusion users already name a table with
//! arguments (`generate_series`, delta-rs's and Iceberg's own providers).

use std::path::PathBuf;
use std::sync::Arc;

use datafusion::arrow::datatypes::{DataType, TimeUnit};
use datafusion::catalog::TableFunctionImpl;
use datafusion::common::{DataFusionError, Result, ScalarValue, plan_err};
use datafusion::datasource::TableProvider;
use datafusion::logical_expr::Expr;
use datafusion::logical_expr::simplify::SimplifyContext;
use datafusion::optimizer::simplify_expressions::ExprSimplifier;

use super::LakeTable;
use super::snapshot::{Pinned, Version};

/// The `as_of` table function over the lake's tables.
#[derive(Debug)]
pub(crate) struct AsOfFunction {
    lake: PathBuf,
    tables: Vec<Arc<LakeTable>>,
}

impl AsOfFunction {
    pub(crate) const NAME: &str = "as_of";

    pub(crate) fn new(lake: PathBuf, tables: Vec<Arc<LakeTable>>) -> AsOfFunction {
        AsOfFunction { lake, tables }
    }
}

impl TableFunctionImpl for AsOfFunction {
    fn call(&self, args: &[Expr]) -> Result<Arc<dyn TableProvider>> {
        let [name, version] = args else {
            return plan_err!(
                "as_of takes a table and a version number or a time, e.g. \
                 as_of('datapoint', 12) or as_of('datapoint', TIMESTAMP '2026-12-01T10:00:00Z')"
            );
        };
        let name = match constant(name)? {
            ScalarValue::Utf8(Some(name))
            | ScalarValue::Utf8View(Some(name))
            | ScalarValue::LargeUtf8(Some(name)) => name,
            other => return plan_err!("as_of's first argument names a table, not {other}"),
        };
        let Some(latest) = self.tables.iter().find(|t| t.table().dir_name() == name) else {
            let names: Vec<&str> = self.tables.iter().map(|t| t.table().dir_name()).collect();
            return plan_err!(
                "as_of reads a lake table ({}), not {name}",
                names.join(", ")
            );
        };
        let version = version_of(constant(version)?)?;
        let pinned = Pinned::new(&self.lake, latest.table(), version)?;
        Ok(Arc::new(latest.pinned(pinned)))
    }
}

/// A version number, or a time as milliseconds since the epoch (a time without a zone is UTC).
fn version_of(value: ScalarValue) -> Result<Version> {
    if value.is_null() {
        return plan_err!("as_of needs a version or a time, not NULL");
    }
    match value.data_type() {
        DataType::Int8 | DataType::Int16 | DataType::Int32 | DataType::Int64 => {
            match value.cast_to(&DataType::Int64)? {
                ScalarValue::Int64(Some(n)) if n >= 0 => Ok(Version::Number(n.unsigned_abs())),
                other => plan_err!("a Delta version is 0 or more, not {other}"),
            }
        }
        DataType::Utf8 | DataType::Utf8View | DataType::LargeUtf8 | DataType::Timestamp(..) => {
            let millis = value
                .cast_to(&DataType::Timestamp(
                    TimeUnit::Millisecond,
                    Some("UTC".into()),
                ))
                .map_err(|e| {
                    DataFusionError::Plan(format!("as_of's version is not a time: {e}"))
                })?;
            match millis {
                ScalarValue::TimestampMillisecond(Some(ms), _) => Ok(Version::AtOrBefore(ms)),
                other => plan_err!("as_of's version is not a time: {other}"),
            }
        }
        other => plan_err!("as_of's version is a number or a time, not a {other}"),
    }
}

/// The value of an argument that reads no column (`12`, `TIMESTAMP '…'`, `now() - INTERVAL …`),
/// folded to a literal as the planner folds constants, `now()` being the time of the call.
fn constant(expr: &Expr) -> Result<ScalarValue> {
    let context = SimplifyContext::builder().with_current_time().build();
    match ExprSimplifier::new(context).simplify(expr.clone()) {
        Ok(Expr::Literal(value, _)) => Ok(value),
        Ok(other) => plan_err!("as_of's arguments are constants, not {other}"),
        Err(e) => plan_err!("as_of's arguments are constants: {e}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_versions_and_times_are_read_as_utc() {
        assert_eq!(
            version_of(ScalarValue::Int64(Some(12))).unwrap(),
            Version::Number(12)
        );
        assert_eq!(
            version_of(ScalarValue::Utf8(Some("1970-01-01T00:00:01.5Z".into()))).unwrap(),
            Version::AtOrBefore(1500)
        );
        assert_eq!(
            version_of(ScalarValue::TimestampMicrosecond(Some(2_000_999), None)).unwrap(),
            Version::AtOrBefore(2000)
        );
        for refused in [
            ScalarValue::Int64(Some(-1)),
            ScalarValue::Int64(None),
            ScalarValue::Boolean(Some(true)),
            ScalarValue::Utf8(Some("yesterday".into())),
        ] {
            assert!(version_of(refused.clone()).is_err(), "{refused:?}");
        }
    }
}
