//! Dense ids for window partitions, and each partition's rank in the keys' sort order.

use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, AsArray, RecordBatch, StringViewArray};
use datafusion::arrow::compute::{SortColumn, lexsort_to_indices};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::common::{DataFusionError, Result};
use datafusion::logical_expr::EmitTo;
use datafusion::physical_expr::PhysicalSortExpr;
use datafusion::physical_plan::aggregates::group_values::{GroupValues, new_group_values};
use datafusion::physical_plan::aggregates::order::GroupOrdering;

use crate::interned_groups::KeyColumn;

/// The partition of each row, numbered in first-seen order.
pub(super) enum PartitionIds {
    /// No PARTITION BY: every row is in partition 0.
    Whole,
    /// One string key (`PARTITION BY dsn`), interned by string view.
    Strings {
        key: PhysicalSortExpr,
        values: KeyColumn,
        ids: Vec<u32>,
    },
    /// Any other keys, through DataFusion's group values.
    General {
        keys: Vec<PhysicalSortExpr>,
        values: Box<dyn GroupValues>,
        ids: Vec<usize>,
    },
}

impl PartitionIds {
    /// Ids for `keys` (in the order they sort by) of rows of `input_schema`.
    pub(super) fn new(keys: Vec<PhysicalSortExpr>, input_schema: &Schema) -> Result<Self> {
        let types = keys
            .iter()
            .map(|key| key.expr.data_type(input_schema))
            .collect::<Result<Vec<_>>>()?;
        Ok(match (keys.as_slice(), types.as_slice()) {
            ([], _) => Self::Whole,
            ([key], [DataType::Utf8View]) => Self::Strings {
                key: key.clone(),
                values: KeyColumn::default(),
                ids: Vec::new(),
            },
            _ => {
                let fields: Vec<Field> = types
                    .into_iter()
                    .enumerate()
                    .map(|(i, data_type)| Field::new(format!("key{i}"), data_type, true))
                    .collect();
                let schema: SchemaRef = Arc::new(Schema::new(fields));
                Self::General {
                    keys,
                    values: new_group_values(schema, &GroupOrdering::None)?,
                    ids: Vec::new(),
                }
            }
        })
    }

    /// Appends the partition of each row of `batch` to `out`.
    pub(super) fn push(&mut self, batch: &RecordBatch, out: &mut Vec<u32>) -> Result<()> {
        let rows = batch.num_rows();
        match self {
            Self::Whole => out.resize(out.len() + rows, 0),
            Self::Strings { key, values, ids } => {
                let array = key.expr.evaluate(batch)?.into_array(rows)?;
                let strings = array.as_string_view_opt().ok_or_else(|| {
                    DataFusionError::Internal("window partition key is not a string view".into())
                })?;
                values.intern(strings, ids)?;
                out.extend_from_slice(ids);
            }
            Self::General { keys, values, ids } => {
                let arrays = keys
                    .iter()
                    .map(|key| key.expr.evaluate(batch)?.into_array(rows))
                    .collect::<Result<Vec<ArrayRef>>>()?;
                values.intern(&arrays, ids)?;
                // Fewer partitions than rows, and rows are capped at 2^32 by the caller.
                out.extend(ids.iter().map(|&id| id as u32));
            }
        }
        Ok(())
    }

    /// Each partition's position when the keys are sorted as the window requires.
    pub(super) fn ranks(&mut self) -> Result<Vec<usize>> {
        let (distinct, keys): (Vec<ArrayRef>, &[PhysicalSortExpr]) = match self {
            Self::Whole => return Ok(vec![0]),
            Self::Strings { key, values, .. } => {
                let strings: StringViewArray = values.values_by_id().into_iter().collect();
                (vec![Arc::new(strings)], std::slice::from_ref(key))
            }
            Self::General { keys, values, .. } => {
                if values.is_empty() {
                    return Ok(vec![0]);
                }
                (values.emit(EmitTo::All)?, keys.as_slice())
            }
        };
        let columns: Vec<SortColumn> = distinct
            .into_iter()
            .zip(keys)
            .map(|(values, key)| SortColumn {
                values,
                options: Some(key.options),
            })
            .collect();
        let sorted = lexsort_to_indices(&columns, None)?;
        let mut rank = vec![0; sorted.len().max(1)];
        for (position, &partition) in sorted.values().iter().enumerate() {
            rank[partition as usize] = position;
        }
        Ok(rank)
    }

    /// Bytes held, for the query's memory reservation.
    pub(super) fn size(&self) -> usize {
        match self {
            Self::Whole => 0,
            Self::Strings { values, ids, .. } => values.size() + ids.capacity() * 4,
            Self::General { values, ids, .. } => values.size() + ids.capacity() * 8,
        }
    }
}
