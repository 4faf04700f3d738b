//! Skipping files at planning time by the bounds in their `add` statistics.
//!
//! DataFusion's own file pruning trusts only exact statistics, but the log's text and
//! timestamp bounds are bounds, not exact values (see `files.rs`): exact-only pruning would open
//! every file for a filter on `dsn` or `received_at`, the lake's most common filters. A bound
//! is all pruning needs, so the scan prunes here, before it plans a single file group.

use std::collections::HashSet;
use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, BooleanArray, UInt64Array};
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::catalog::Session;
use datafusion::common::pruning::PruningStatistics;
use datafusion::common::stats::Precision;
use datafusion::common::{Column, ColumnStatistics, DFSchema, Result, ScalarValue};
use datafusion::datasource::listing::PartitionedFile;
use datafusion::logical_expr::Expr;
use datafusion::logical_expr::utils::conjunction;
use datafusion::physical_optimizer::pruning::PruningPredicateBuilder;

/// Keeps the files whose bounds leave room for a row that passes every filter of `filters`
/// (all of them over `schema`, the table's columns then `date`). A filter the pruning cannot
/// reason about keeps every file: the scan checks each row anyway.
pub(crate) fn files_within_bounds(
    state: &dyn Session,
    schema: &SchemaRef,
    files: Vec<PartitionedFile>,
    filters: &[Expr],
) -> Result<Vec<PartitionedFile>> {
    let Some(filter) = conjunction(filters.iter().cloned()) else {
        return Ok(files);
    };
    let df_schema = DFSchema::try_from(schema.clone())?;
    let predicate = state.create_physical_expr(filter, &df_schema)?;
    let max_in_list = state.config().options().execution.parquet.max_in_list_size;
    let Some(pruning) = PruningPredicateBuilder::new()
        .with_file_schema(schema.clone())
        .with_max_in_list_size(max_in_list)
        .build(predicate)
    else {
        return Ok(files);
    };
    let keep = pruning.prune(&FileBounds {
        files: &files,
        schema,
    })?;
    Ok(files
        .into_iter()
        .zip(keep)
        .filter_map(|(file, keep)| keep.then_some(file))
        .collect())
}

/// The files' statistics as pruning reads them: every min and max, exact or a bound.
struct FileBounds<'a> {
    files: &'a [PartitionedFile],
    schema: &'a SchemaRef,
}

impl FileBounds<'_> {
    fn column(&self, column: &Column) -> Option<usize> {
        self.schema.index_of(column.name()).ok()
    }

    fn bounds(
        &self,
        column: &Column,
        bound: impl Fn(&ColumnStatistics) -> &Precision<ScalarValue>,
    ) -> Option<ArrayRef> {
        let index = self.column(column)?;
        let data_type = self.schema.field(index).data_type();
        let values = self.files.iter().map(|file| {
            file.statistics
                .as_ref()
                .and_then(|s| s.column_statistics.get(index))
                .and_then(|s| bound(s).get_value().cloned())
                .unwrap_or_else(|| ScalarValue::try_from(data_type).unwrap_or(ScalarValue::Null))
        });
        let values: Vec<ScalarValue> = values.collect();
        if values.iter().all(ScalarValue::is_null) {
            return None;
        }
        // A bound of another type (a log written by an older schema) prunes nothing.
        ScalarValue::iter_to_array(values).ok()
    }

    fn exact_counts(&self, count: impl Fn(&PartitionedFile) -> Option<usize>) -> ArrayRef {
        let counts: UInt64Array = self
            .files
            .iter()
            .map(|file| count(file).and_then(|n| u64::try_from(n).ok()))
            .collect();
        Arc::new(counts)
    }
}

fn exact(precision: &Precision<usize>) -> Option<usize> {
    match precision {
        Precision::Exact(n) => Some(*n),
        _ => None,
    }
}

impl PruningStatistics for FileBounds<'_> {
    fn min_values(&self, column: &Column) -> Option<ArrayRef> {
        self.bounds(column, |s| &s.min_value)
    }

    fn max_values(&self, column: &Column) -> Option<ArrayRef> {
        self.bounds(column, |s| &s.max_value)
    }

    fn num_containers(&self) -> usize {
        self.files.len()
    }

    fn null_counts(&self, column: &Column) -> Option<ArrayRef> {
        let index = self.column(column)?;
        Some(self.exact_counts(|file| {
            let statistics = file.statistics.as_ref()?;
            exact(&statistics.column_statistics.get(index)?.null_count)
        }))
    }

    fn row_counts(&self) -> Option<ArrayRef> {
        Some(self.exact_counts(|file| exact(&file.statistics.as_ref()?.num_rows)))
    }

    fn contained(&self, _: &Column, _: &HashSet<ScalarValue>) -> Option<BooleanArray> {
        None
    }
}
