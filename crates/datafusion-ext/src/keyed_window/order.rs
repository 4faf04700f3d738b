//! The window's row order: partitions by the rank of their key, rows by integer order keys.

use datafusion::arrow::array::{Array, AsArray, Int64Array, RecordBatch};
use datafusion::arrow::compute::{SortOptions, cast};
use datafusion::arrow::datatypes::{DataType, Int64Type, Schema};
use datafusion::common::{DataFusionError, Result};
use datafusion::physical_expr::PhysicalSortExpr;

use super::partitions::PartitionIds;

/// Most ORDER BY keys a row's sort key holds.
pub(super) const MAX_ORDER_KEYS: usize = 2;

/// Whether an ORDER BY key of this type sorts as an `i64` (losslessly cast).
pub(super) fn orders_as_integer(data_type: &DataType) -> bool {
    matches!(
        data_type,
        DataType::Int8
            | DataType::Int16
            | DataType::Int32
            | DataType::Int64
            | DataType::UInt8
            | DataType::UInt16
            | DataType::UInt32
            | DataType::Date32
            | DataType::Date64
            | DataType::Time32(_)
            | DataType::Time64(_)
            | DataType::Timestamp(_, _)
            | DataType::Duration(_)
    )
}

/// The input rows in window order, as (batch, row) pairs, and the end of each partition.
pub(super) struct WindowOrder {
    pub rows: Vec<(usize, usize)>,
    pub partition_ends: Vec<usize>,
}

/// Builds the window's row order from input batches, one batch at a time. Rows are numbered
/// across batches in arrival order.
pub(super) struct RowOrder {
    partitions: PartitionIds,
    order_keys: Vec<PhysicalSortExpr>,
    /// Per row: its partition (in first-seen order), its order keys (see [`order_word`]) and
    /// whether each sorts after the other kind (bit `i` for key `i`).
    partition_of_row: Vec<u32>,
    order_words: [Vec<u64>; MAX_ORDER_KEYS],
    null_flags: Vec<u8>,
    /// The first row number of each batch.
    batch_starts: Vec<usize>,
}

impl RowOrder {
    /// `partition_keys` in the order they are sorted by, then `order_keys` (integer-like).
    pub(super) fn new(
        partition_keys: Vec<PhysicalSortExpr>,
        order_keys: Vec<PhysicalSortExpr>,
        input_schema: &Schema,
    ) -> Result<Self> {
        Ok(Self {
            partitions: PartitionIds::new(partition_keys, input_schema)?,
            order_keys,
            partition_of_row: Vec::new(),
            order_words: Default::default(),
            null_flags: Vec::new(),
            batch_starts: Vec::new(),
        })
    }

    /// Bytes held, for the query's memory reservation.
    pub(super) fn size(&self) -> usize {
        let per_row = size_of::<u32>() + MAX_ORDER_KEYS * size_of::<u64>() + 1;
        self.partitions.size() + self.partition_of_row.capacity() * per_row
    }

    /// Adds the rows of the next input batch.
    pub(super) fn push(&mut self, batch: &RecordBatch) -> Result<()> {
        let rows = batch.num_rows();
        let first_row = self.partition_of_row.len();
        if first_row + rows > u32::MAX as usize {
            return Err(DataFusionError::ResourcesExhausted(
                "more than 2^32 rows in one window partition".to_owned(),
            ));
        }
        self.batch_starts.push(first_row);
        self.partitions.push(batch, &mut self.partition_of_row)?;
        self.null_flags.resize(first_row + rows, 0);
        for (i, key) in self.order_keys.iter().enumerate() {
            let values = key.expr.evaluate(batch)?.into_array(rows)?;
            let values = cast(&values, &DataType::Int64)?;
            let values = values.as_primitive::<Int64Type>();
            let words = &mut self.order_words[i];
            let flags = &mut self.null_flags[first_row..];
            if values.null_count() == 0 {
                let descending = key.options.descending;
                words.extend(values.values().iter().map(|&v| order_value(v, descending)));
                if key.options.nulls_first {
                    flags.iter_mut().for_each(|f| *f |= 1 << i);
                }
            } else {
                for (row, flag) in flags.iter_mut().enumerate() {
                    let (after, word) = order_word(values, row, key.options);
                    words.push(word);
                    *flag |= u8::from(after) << i;
                }
            }
        }
        Ok(())
    }

    /// The rows in window order, and where each partition ends.
    pub(super) fn finish(mut self) -> Result<WindowOrder> {
        let rank = self.partitions.ranks()?;
        // A counting sort by partition rank, then each partition's rows by their order keys. Rows
        // mostly arrive in order (files are sorted by device, then time), so many partitions
        // are sorted already, and the others are small.
        let mut starts = vec![0; rank.len() + 1];
        for &partition in &self.partition_of_row {
            starts[rank[partition as usize] + 1] += 1;
        }
        for p in 1..starts.len() {
            starts[p] += starts[p - 1];
        }
        let mut next = starts.clone();
        let mut ordered = vec![0u32; self.partition_of_row.len()];
        for (row, &partition) in self.partition_of_row.iter().enumerate() {
            let slot = &mut next[rank[partition as usize]];
            ordered[*slot] = row as u32;
            *slot += 1;
        }
        let key = |row: &u32| {
            let row = *row as usize;
            let flags = self.null_flags[row];
            let word = |i: usize| self.order_words[i].get(row).copied().unwrap_or(0);
            (flags & 1, word(0), flags >> 1, word(1), row)
        };
        for bounds in starts.windows(2) {
            let partition = &mut ordered[bounds[0]..bounds[1]];
            if !partition.is_sorted_by_key(key) {
                partition.sort_unstable_by_key(key);
            }
        }
        let rows = ordered
            .iter()
            .map(|&row| {
                let row = row as usize;
                let batch = self.batch_starts.partition_point(|&start| start <= row) - 1;
                (batch, row - self.batch_starts[batch])
            })
            .collect();
        let partition_ends = starts[1..].iter().copied().filter(|&end| end > 0).collect();
        Ok(WindowOrder {
            rows,
            partition_ends,
        })
    }
}

/// One ORDER BY key of one row as (sorts after the other kind, value): non-null values compare
/// as the key's direction asks, nulls go first or last by the null flag.
fn order_word(values: &Int64Array, row: usize, options: SortOptions) -> (bool, u64) {
    if values.is_null(row) {
        return (!options.nulls_first, 0);
    }
    (
        options.nulls_first,
        order_value(values.value(row), options.descending),
    )
}

/// `value` as a `u64` that orders as the key's direction asks.
fn order_value(value: i64, descending: bool) -> u64 {
    // Flipping the sign bit makes i64 order u64 order; `!` reverses it.
    let ordered = (value as u64) ^ (1 << 63);
    if descending { !ordered } else { ordered }
}
