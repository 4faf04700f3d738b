//! A Delta snapshot's files as DataFusion's scan wants them: a path in the lake's store, the
//! `date` partition value, statistics from the log, and the order the writer sorted rows in.

use std::collections::HashSet;
use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, RecordBatch};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Int64Type, SchemaRef};
use datafusion::common::stats::Precision;
use datafusion::common::{ColumnStatistics, DataFusionError, ScalarValue, Statistics};
use datafusion::datasource::listing::PartitionedFile;
use datafusion::physical_expr::{LexOrdering, PhysicalSortExpr};
use datafusion::physical_plan::expressions::Column;
use deltalake_core::DeltaTableError;
use deltalake_core::table::state::DeltaTableState;
use dss_lake_schema::{Table, columns, layout};
use object_store::path::Path;

/// One version of a table: what a scan of it reads.
#[derive(Debug, Default)]
pub(crate) struct Files {
    /// The Delta version these files are; `None` for a table without a log yet.
    pub(crate) version: Option<u64>,
    pub(crate) files: Vec<PartitionedFile>,
}

/// The files of `state`, their paths relative to the lake's store (`<table>/<path in log>`).
///
/// Statistics come from each `add` action, never from a footer: `numRecords` and the null
/// counts are exact; min/max are exact for numbers and dates, and only bounds for text (a
/// writer may truncate it) and timestamps (the log keeps milliseconds, the files microseconds).
pub(crate) fn files_of(
    table: Table,
    state: &DeltaTableState,
    file_schema: &SchemaRef,
    ordering: Option<&LexOrdering>,
) -> Result<Files, DataFusionError> {
    let batches = state.add_actions_batches(true).map_err(external(table))?;
    let sorted = sorted_files(table, state);
    let mut files = Vec::new();
    for batch in &batches {
        read_batch(table, batch, file_schema, ordering, &sorted, &mut files)?;
    }
    Ok(Files {
        version: Some(state.version()),
        files,
    })
}

fn read_batch(
    table: Table,
    batch: &RecordBatch,
    file_schema: &SchemaRef,
    ordering: Option<&LexOrdering>,
    sorted: &HashSet<String>,
    out: &mut Vec<PartitionedFile>,
) -> Result<(), DataFusionError> {
    let paths = utf8(required(table, batch, "path")?)?;
    let sizes = required(table, batch, "size_bytes")?;
    let sizes = sizes.as_primitive::<Int64Type>();
    let dates = cast(
        required(table, batch, &format!("partition.{}", columns::DATE))?,
        &DataType::Date32,
    )?;
    let records = batch.column_by_name("num_records");
    let records = records.map(|r| r.as_primitive::<Int64Type>());
    let per_column: Vec<ColumnArrays> = file_schema
        .fields()
        .iter()
        .map(|field| ColumnArrays {
            exact_bounds: exact_bounds(field.data_type()),
            data_type: field.data_type().clone(),
            nulls: batch
                .column_by_name(&format!("null_count.{}", field.name()))
                .cloned(),
            min: batch
                .column_by_name(&format!("min.{}", field.name()))
                .cloned(),
            max: batch
                .column_by_name(&format!("max.{}", field.name()))
                .cloned(),
        })
        .collect();
    for row in 0..batch.num_rows() {
        let relative = paths.value(row);
        let outside = || {
            DataFusionError::External(
                format!("table {table}'s Delta log names a file outside the table: {relative}")
                    .into(),
            )
        };
        // Absolute URIs are legal in a Delta log, but this engine reads the lake alone.
        if relative.contains("://") || relative.starts_with('/') {
            return Err(outside());
        }
        let location =
            Path::parse(format!("{}/{relative}", table.dir_name())).map_err(|_| outside())?;
        let size = u64::try_from(sizes.value(row)).unwrap_or(0);
        let rows = records
            .filter(|r| r.is_valid(row))
            .and_then(|r| usize::try_from(r.value(row)).ok());
        let statistics = Statistics {
            num_rows: rows.map_or(Precision::Absent, Precision::Exact),
            total_byte_size: Precision::Inexact(size as usize),
            column_statistics: per_column
                .iter()
                .map(|c| c.statistics(row))
                .collect::<Result<_, _>>()?,
        };
        let date = ScalarValue::try_from_array(&dates, row)?;
        let mut file = PartitionedFile::new(location.to_string(), size)
            .with_partition_values(vec![date])
            .with_statistics(Arc::new(statistics))
            .with_ordering(ordering.filter(|_| sorted.contains(relative)).cloned());
        file.object_meta.location = location;
        out.push(file);
    }
    Ok(())
}

/// The paths of the files whose `add` says they are sorted in `table`'s order (see
/// `layout::SORT_ORDER_TAG`).
// `add_action` is deprecated in favour of the snapshot's Arrow columns, but delta-rs 1.1 puts
// `tags` in none of the columns it makes public.
#[allow(deprecated)]
fn sorted_files(table: Table, state: &DeltaTableState) -> HashSet<String> {
    let order = table.sort_columns().join(",");
    state
        .log_data()
        .iter()
        .map(|file| file.add_action())
        .filter(|add| {
            add.tags
                .as_ref()
                .and_then(|tags| tags.get(layout::SORT_ORDER_TAG))
                .is_some_and(|value| value.as_deref() == Some(order.as_str()))
        })
        .map(|add| add.path)
        .collect()
}

/// One file column's statistics arrays in the flattened add-action batch (absent where the
/// log has none for it, for example a list column).
struct ColumnArrays {
    data_type: DataType,
    exact_bounds: bool,
    nulls: Option<ArrayRef>,
    min: Option<ArrayRef>,
    max: Option<ArrayRef>,
}

impl ColumnArrays {
    fn statistics(&self, row: usize) -> Result<ColumnStatistics, DataFusionError> {
        let null_count = match &self.nulls {
            Some(nulls) if nulls.is_valid(row) => {
                let count = nulls.as_primitive::<Int64Type>().value(row);
                usize::try_from(count).map_or(Precision::Absent, Precision::Exact)
            }
            _ => Precision::Absent,
        };
        Ok(ColumnStatistics {
            null_count,
            min_value: self.bound(self.min.as_ref(), row)?,
            max_value: self.bound(self.max.as_ref(), row)?,
            ..ColumnStatistics::new_unknown()
        })
    }

    fn bound(
        &self,
        values: Option<&ArrayRef>,
        row: usize,
    ) -> Result<Precision<ScalarValue>, DataFusionError> {
        let Some(values) = values.filter(|v| v.is_valid(row)) else {
            return Ok(Precision::Absent);
        };
        let value = ScalarValue::try_from_array(values, row)?.cast_to(&self.data_type)?;
        Ok(if self.exact_bounds {
            Precision::Exact(value)
        } else {
            Precision::Inexact(value)
        })
    }
}

/// True when a bound in the log is the column's exact min or max (see [`files_of`]).
fn exact_bounds(data_type: &DataType) -> bool {
    matches!(
        data_type,
        DataType::Int32 | DataType::Int64 | DataType::Float64 | DataType::Date32
    )
}

/// The order every file of `table` is sorted in, as a scan of `table_schema` declares it.
pub(crate) fn file_ordering(table: Table, table_schema: &SchemaRef) -> Option<LexOrdering> {
    let sort = table.sort_columns().into_iter().filter_map(|name| {
        let index = table_schema.index_of(name).ok()?;
        Some(PhysicalSortExpr::new(
            Arc::new(Column::new(name, index)),
            datafusion::arrow::compute::SortOptions {
                descending: false,
                nulls_first: true,
            },
        ))
    });
    LexOrdering::new(sort)
}

fn required<'a>(
    table: Table,
    batch: &'a RecordBatch,
    name: &str,
) -> Result<&'a ArrayRef, DataFusionError> {
    batch.column_by_name(name).ok_or_else(|| {
        DataFusionError::External(
            format!("table {table}'s Delta snapshot has no `{name}` for its files").into(),
        )
    })
}

fn utf8(values: &ArrayRef) -> Result<datafusion::arrow::array::StringArray, DataFusionError> {
    Ok(cast(values, &DataType::Utf8)?.as_string::<i32>().clone())
}

pub(crate) fn external(table: Table) -> impl Fn(DeltaTableError) -> DataFusionError {
    move |error| DataFusionError::External(format!("table {table}'s Delta log: {error}").into())
}
