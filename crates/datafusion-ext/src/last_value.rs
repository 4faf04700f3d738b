//! `last_value(x ORDER BY t, seq)` per group, comparing the two integer keys as integers.
//!
//! The twin views ask for the latest value of every (device, property) by event time then `seq`.
//! DataFusion 55's grouped `last_value` keeps each group's ordering as a `Vec<ScalarValue>` and
//! converts rows to `ScalarValue`s to compare them: 48 ms of CPU for four of them over the
//! benchmark lake's 40k locations, the bulk of `last_known_location`. This `last_value` keeps
//! each group's best keys as plain integers and where its value lives (which input array, which
//! row); values are gathered with `interleave` only when they are emitted, or to compact once
//! many input arrays are held. It takes over exactly one shape: ordered by two keys that are
//! 64-bit integers or timestamps, both ascending with nulls last (`ORDER BY t, seq`), without
//! `IGNORE NULLS`; every other use, and its state layout, is DataFusion's own `last_value`, so
//! the two can be mixed between partial and final steps.

use std::sync::Arc;

use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, BooleanArray, BooleanBufferBuilder, Int64Array,
};
use datafusion::arrow::compute::{cast, interleave, nullif};
use datafusion::arrow::datatypes::{DataType, FieldRef, Int64Type};
use datafusion::common::{Result, internal_err};
use datafusion::functions_aggregate::first_last::LastValue;
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::utils::AggregateOrderSensitivity;
use datafusion::logical_expr::{
    Accumulator, AggregateUDF, AggregateUDFImpl, Documentation, EmitTo, GroupsAccumulator,
    ReversedUDAF, Signature,
};

/// The `last_value` aggregate this engine registers in place of DataFusion's.
pub(crate) fn udaf() -> AggregateUDF {
    AggregateUDF::new_from_impl(LastValueByIntegerKeys {
        input_sorted: false,
        inner: Arc::new(LastValue::new()),
    })
}

#[derive(Debug)]
pub(crate) struct LastValueByIntegerKeys {
    /// Whether the planner found the input already in the aggregate's order.
    input_sorted: bool,
    /// DataFusion's `last_value` for the same input, for the shapes this one leaves alone.
    inner: Arc<dyn AggregateUDFImpl>,
}

// `inner` is determined by `input_sorted`.
impl PartialEq for LastValueByIntegerKeys {
    fn eq(&self, other: &Self) -> bool {
        self.input_sorted == other.input_sorted
    }
}

impl Eq for LastValueByIntegerKeys {}

impl std::hash::Hash for LastValueByIntegerKeys {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.input_sorted.hash(state);
    }
}

/// Input arrays held before their winning values are gathered into one.
const MAX_HELD_ARRAYS: usize = 32;

impl LastValueByIntegerKeys {
    /// Whether `args` is the shape this accumulator handles (see the module docs).
    fn handles(args: &AccumulatorArgs) -> bool {
        let integer_key = |t: &DataType| matches!(t, DataType::Int64 | DataType::Timestamp(..));
        args.order_bys.len() == 2
            && !args.ignore_nulls
            && !args.is_distinct
            && args.order_bys.iter().all(|key| {
                !key.options.descending
                    && !key.options.nulls_first
                    && key
                        .expr
                        .data_type(args.schema)
                        .is_ok_and(|t| integer_key(&t))
            })
    }
}

impl AggregateUDFImpl for LastValueByIntegerKeys {
    fn name(&self) -> &str {
        self.inner.name()
    }

    fn signature(&self) -> &Signature {
        self.inner.signature()
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        self.inner.return_type(arg_types)
    }

    fn return_field(&self, arg_fields: &[FieldRef]) -> Result<FieldRef> {
        self.inner.return_field(arg_fields)
    }

    fn accumulator(&self, args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        self.inner.accumulator(args)
    }

    fn state_fields(&self, args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        self.inner.state_fields(args)
    }

    fn groups_accumulator_supported(&self, args: AccumulatorArgs) -> bool {
        Self::handles(&args) || self.inner.groups_accumulator_supported(args)
    }

    fn create_groups_accumulator(
        &self,
        args: AccumulatorArgs,
    ) -> Result<Box<dyn GroupsAccumulator>> {
        if !Self::handles(&args) {
            return self.inner.create_groups_accumulator(args);
        }
        let key_types = args
            .order_bys
            .iter()
            .map(|key| key.expr.data_type(args.schema))
            .collect::<Result<Vec<_>>>()?;
        Ok(Box::new(LatestGroups {
            value_type: args.return_field.data_type().clone(),
            key_types: [key_types[0].clone(), key_types[1].clone()],
            best: Vec::new(),
            location: Vec::new(),
            held: Vec::new(),
        }))
    }

    /// Ours compares keys whether or not the input is sorted, and costs little when it is (the
    /// sorted-input variant of DataFusion's still compares through `ScalarValue`s).
    fn with_beneficial_ordering(
        self: Arc<Self>,
        beneficial_ordering: bool,
    ) -> Result<Option<Arc<dyn AggregateUDFImpl>>> {
        let Some(inner) = Arc::clone(&self.inner).with_beneficial_ordering(beneficial_ordering)?
        else {
            return Ok(None);
        };
        Ok(Some(Arc::new(LastValueByIntegerKeys {
            input_sorted: beneficial_ordering,
            inner,
        })))
    }

    fn order_sensitivity(&self) -> AggregateOrderSensitivity {
        self.inner.order_sensitivity()
    }

    fn reverse_expr(&self) -> ReversedUDAF {
        self.inner.reverse_expr()
    }

    fn supports_null_handling_clause(&self) -> bool {
        self.inner.supports_null_handling_clause()
    }

    fn documentation(&self) -> Option<&Documentation> {
        self.inner.documentation()
    }
}

/// Two order keys; `None` (NULL) sorts after every value.
type Keys = [Option<i64>; 2];

/// `a` sorts at or after `b` under `ASC NULLS LAST` on both keys.
#[inline]
fn at_or_after(a: &Keys, b: &Keys) -> bool {
    let rank = |k: &Option<i64>| (k.is_none(), k.unwrap_or(0));
    (rank(&a[0]), rank(&a[1])) >= (rank(&b[0]), rank(&b[1]))
}

#[derive(Debug)]
struct LatestGroups {
    value_type: DataType,
    key_types: [DataType; 2],
    /// Per group: the best keys so far, `None` until the group has a row.
    best: Vec<Option<Keys>>,
    /// Per group: (index into `held`, row) of the best row's value.
    location: Vec<(u32, u32)>,
    /// Value arrays that winning rows point into.
    held: Vec<ArrayRef>,
}

impl LatestGroups {
    /// Offers rows `0..values.len()` to their groups; `usable(row)` filters rows out.
    fn offer(
        &mut self,
        values: &ArrayRef,
        keys: [&ArrayRef; 2],
        group_indices: &[usize],
        total_num_groups: usize,
        usable: impl Fn(usize) -> bool,
    ) -> Result<()> {
        self.best.resize(total_num_groups, None);
        self.location.resize(total_num_groups, (0, 0));
        let keys = [as_i64(keys[0])?, as_i64(keys[1])?];
        let key_at = |k: &Int64Array, row: usize| k.is_valid(row).then(|| k.value(row));
        let array_index = u32::try_from(self.held.len()).expect("held arrays are few");
        let mut used = false;
        for (row, &group) in group_indices.iter().enumerate() {
            if !usable(row) {
                continue;
            }
            let candidate = [key_at(&keys[0], row), key_at(&keys[1], row)];
            let better = match &self.best[group] {
                None => true,
                Some(best) => at_or_after(&candidate, best),
            };
            if better {
                self.best[group] = Some(candidate);
                self.location[group] = (array_index, row as u32);
                used = true;
            }
        }
        if used {
            self.held.push(Arc::clone(values));
            if self.held.len() > MAX_HELD_ARRAYS {
                self.compact()?;
            }
        }
        Ok(())
    }

    /// The values of groups `0..n` (NULL for groups without rows).
    fn gather(&self, n: usize) -> Result<ArrayRef> {
        if self.held.is_empty() {
            return Ok(datafusion::arrow::array::new_null_array(
                &self.value_type,
                n,
            ));
        }
        let held: Vec<&dyn Array> = self.held.iter().map(|a| a.as_ref()).collect();
        let indices: Vec<(usize, usize)> = self.location[..n]
            .iter()
            .map(|&(a, r)| (a as usize, r as usize))
            .collect();
        let values = interleave(&held, &indices)?;
        let unset: BooleanArray = self.best[..n].iter().map(|b| Some(b.is_none())).collect();
        Ok(nullif(&values, &unset)?)
    }

    /// Replaces the held arrays with one holding every group's current value.
    fn compact(&mut self) -> Result<()> {
        let values = compact_views(self.gather(self.best.len())?);
        self.held = vec![values];
        for (group, location) in self.location.iter_mut().enumerate() {
            *location = (0, group as u32);
        }
        Ok(())
    }

    /// Removes the emitted groups; the rest keep their places in the held arrays.
    fn take(&mut self, emit_to: EmitTo) -> Result<(Vec<Option<Keys>>, ArrayRef)> {
        let n = match emit_to {
            EmitTo::All => self.best.len(),
            EmitTo::First(n) => n,
        };
        let values = self.gather(n)?;
        let best = emit_to.take_needed(&mut self.best);
        emit_to.take_needed(&mut self.location);
        if self.best.is_empty() {
            self.held.clear();
        }
        Ok((best, values))
    }

    /// One key column of the state, in the key's own type.
    fn key_column(&self, best: &[Option<Keys>], which: usize) -> Result<ArrayRef> {
        let keys: Int64Array = best.iter().map(|b| b.and_then(|k| k[which])).collect();
        Ok(cast(&keys, &self.key_types[which])?)
    }
}

impl GroupsAccumulator for LatestGroups {
    fn update_batch(
        &mut self,
        values: &[ArrayRef],
        group_indices: &[usize],
        opt_filter: Option<&BooleanArray>,
        total_num_groups: usize,
    ) -> Result<()> {
        let [value, t, seq] = values else {
            return internal_err!("last_value takes a value and two order keys");
        };
        let usable = |row: usize| opt_filter.is_none_or(|f| f.is_valid(row) && f.value(row));
        self.offer(value, [t, seq], group_indices, total_num_groups, usable)
    }

    fn merge_batch(
        &mut self,
        values: &[ArrayRef],
        group_indices: &[usize],
        total_num_groups: usize,
    ) -> Result<()> {
        let [value, t, seq, is_set] = values else {
            return internal_err!("last_value's state is a value, two order keys and is_set");
        };
        let is_set = is_set.as_boolean();
        let usable = |row: usize| is_set.is_valid(row) && is_set.value(row);
        self.offer(value, [t, seq], group_indices, total_num_groups, usable)
    }

    fn evaluate(&mut self, emit_to: EmitTo) -> Result<ArrayRef> {
        Ok(self.take(emit_to)?.1)
    }

    fn state(&mut self, emit_to: EmitTo) -> Result<Vec<ArrayRef>> {
        let (best, values) = self.take(emit_to)?;
        let mut is_set = BooleanBufferBuilder::new(best.len());
        for b in &best {
            is_set.append(b.is_some());
        }
        Ok(vec![
            values,
            self.key_column(&best, 0)?,
            self.key_column(&best, 1)?,
            Arc::new(BooleanArray::new(is_set.finish(), None)),
        ])
    }

    /// Each row as its own group's state, for when DataFusion skips the partial step.
    fn convert_to_state(
        &self,
        values: &[ArrayRef],
        opt_filter: Option<&BooleanArray>,
    ) -> Result<Vec<ArrayRef>> {
        let [value, t, seq] = values else {
            return internal_err!("last_value takes a value and two order keys");
        };
        let is_set: BooleanArray = (0..value.len())
            .map(|row| Some(opt_filter.is_none_or(|f| f.is_valid(row) && f.value(row))))
            .collect();
        let not_set = datafusion::arrow::compute::not(&is_set)?;
        Ok(vec![
            nullif(value, &not_set)?,
            cast(t, &self.key_types[0])?,
            cast(seq, &self.key_types[1])?,
            Arc::new(is_set),
        ])
    }

    fn size(&self) -> usize {
        let held: usize = self.held.iter().map(|a| a.get_array_memory_size()).sum();
        held + self.best.capacity() * size_of::<Option<Keys>>()
            + self.location.capacity() * size_of::<(u32, u32)>()
    }
}

/// An order key column as `i64`s (timestamps are `i64`s with a unit).
fn as_i64(keys: &ArrayRef) -> Result<Int64Array> {
    match keys.data_type() {
        DataType::Int64 => Ok(keys.as_primitive::<Int64Type>().clone()),
        _ => Ok(cast(keys, &DataType::Int64)?
            .as_primitive::<Int64Type>()
            .clone()),
    }
}

/// Gathered string views still point into every input array's buffers; copying the few live
/// strings lets those buffers go.
fn compact_views(values: ArrayRef) -> ArrayRef {
    match values.data_type() {
        DataType::Utf8View => Arc::new(values.as_string_view().gc()),
        DataType::BinaryView => Arc::new(values.as_binary_view().gc()),
        _ => values,
    }
}

#[cfg(test)]
mod tests {
    use datafusion::arrow::array::{
        Float64Array, RecordBatch, StringViewArray, TimestampMicrosecondArray,
    };
    use datafusion::arrow::datatypes::{Field, Schema, TimeUnit};
    use datafusion::prelude::{SessionConfig, SessionContext};

    use super::*;

    /// Readings of 37 devices in shuffled order, unique `seq`, some NULL times and values.
    fn readings() -> RecordBatch {
        let n = 2_000i64;
        let dsn: StringViewArray = (0..n)
            .map(|i| Some(format!("device-{}", (i * 17) % 37)))
            .collect();
        let t: TimestampMicrosecondArray = (0..n)
            .map(|i| (i % 29 != 0).then_some((i * 7919) % 503))
            .collect::<TimestampMicrosecondArray>()
            .with_timezone("UTC");
        let seq: Int64Array = (0..n).map(|i| Some((i * 7_777) % n)).collect();
        let value: StringViewArray = (0..n)
            .map(|i| (i % 11 != 0).then(|| format!("a long enough value to be out of line {i}")))
            .collect();
        let number: Float64Array = (0..n).map(|i| (i % 7 != 0).then_some(i as f64)).collect();
        let schema = Schema::new(vec![
            Field::new("dsn", DataType::Utf8View, false),
            Field::new(
                "t",
                DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
                true,
            ),
            Field::new("seq", DataType::Int64, false),
            Field::new("value", DataType::Utf8View, true),
            Field::new("number", DataType::Float64, true),
        ]);
        let columns: Vec<ArrayRef> = vec![
            Arc::new(dsn),
            Arc::new(t),
            Arc::new(seq),
            Arc::new(value),
            Arc::new(number),
        ];
        RecordBatch::try_new(Arc::new(schema), columns).unwrap()
    }

    async fn answer(ours: bool, sql: &str) -> String {
        // Small batches and three partitions: many updates per group, partial and final steps.
        let config = SessionConfig::new()
            .with_target_partitions(3)
            .with_batch_size(50);
        let ctx = SessionContext::new_with_config(config);
        if ours {
            ctx.register_udaf(udaf());
        }
        let batch = readings();
        let parts: Vec<RecordBatch> = (0..8).map(|i| batch.slice(i * 250, 250)).collect();
        let table = datafusion::datasource::MemTable::try_new(batch.schema(), vec![parts]).unwrap();
        ctx.register_table("r", Arc::new(table)).unwrap();
        // The same rows sorted by (dsn, t, seq) and declared so: groups are emitted as the
        // input moves past them, a few at a time.
        let order = ["dsn", "t", "seq"].map(|c| datafusion::prelude::col(c).sort(true, false));
        let sorted = ctx
            .sql("SELECT * FROM r ORDER BY dsn, t NULLS LAST, seq")
            .await
            .unwrap()
            .collect()
            .await
            .unwrap();
        let table = datafusion::datasource::MemTable::try_new(batch.schema(), vec![sorted])
            .unwrap()
            .with_sort_order(vec![order.to_vec()]);
        ctx.register_table("s", Arc::new(table)).unwrap();
        let batches = ctx.sql(sql).await.unwrap().collect().await.unwrap();
        crate::test_support::pretty(&batches).unwrap()
    }

    #[tokio::test]
    async fn answers_like_datafusions_last_value() {
        for sql in [
            "SELECT dsn, last_value(value ORDER BY t, seq) AS v, last_value(number ORDER BY t, seq) AS n, \
             last_value(t ORDER BY t, seq) AS lt, max(seq) FROM r GROUP BY dsn ORDER BY dsn",
            "SELECT dsn, last_value(value ORDER BY t, seq) FILTER (WHERE number > 900) AS v \
             FROM r GROUP BY dsn ORDER BY dsn",
            "SELECT dsn, last_value(value ORDER BY t, seq) AS v, last_value(number ORDER BY t, seq) AS n \
             FROM s GROUP BY dsn ORDER BY dsn",
            // Shapes left to DataFusion: descending, one key, no GROUP BY.
            "SELECT dsn, last_value(value ORDER BY t DESC, seq) AS v FROM r GROUP BY dsn ORDER BY dsn",
            "SELECT dsn, last_value(value ORDER BY seq) AS v FROM r GROUP BY dsn ORDER BY dsn",
            "SELECT last_value(value ORDER BY t, seq) AS v FROM r",
        ] {
            let expected = answer(false, sql).await;
            assert_eq!(answer(true, sql).await, expected, "{sql}");
            assert!(expected.lines().count() > 4, "{expected}");
        }
    }

    #[test]
    fn nulls_sort_last_on_either_key() {
        assert!(at_or_after(&[None, Some(1)], &[Some(9), Some(9)]));
        assert!(at_or_after(&[Some(1), None], &[Some(1), Some(9)]));
        assert!(!at_or_after(&[Some(1), Some(2)], &[Some(1), Some(3)]));
        assert!(at_or_after(&[Some(1), Some(3)], &[Some(1), Some(3)]));
    }
}
