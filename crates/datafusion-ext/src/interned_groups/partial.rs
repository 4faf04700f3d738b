//! One partition's partial aggregation: interned keys in, DataFusion's group accumulators
//! updated, partial states out.

use std::collections::VecDeque;
use std::mem::size_of;
use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, AsArray, RecordBatch, StringViewArray};
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::common::{DataFusionError, Result};
use datafusion::execution::memory_pool::{MemoryConsumer, MemoryReservation};
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::logical_expr::{EmitTo, GroupsAccumulator};
use datafusion::physical_expr::PhysicalExpr;
use datafusion::physical_plan::ExecutionPlan;
use datafusion::physical_plan::aggregates::{
    AggregateExec, AggregateMode, aggregate_expressions, evaluate_many,
};
use datafusion::physical_plan::metrics::BaselineMetrics;
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use futures_util::StreamExt;

use super::index::{GroupIndex, unpack};
use super::keys::KeyColumn;

/// The groups of one partition so far, and the accumulators that hold their aggregates.
struct Groups {
    key_columns: Vec<usize>,
    keys: Vec<KeyColumn>,
    index: GroupIndex,
    accumulators: Vec<Box<dyn GroupsAccumulator>>,
    arguments: Vec<Vec<Arc<dyn PhysicalExpr>>>,
    filters: Vec<Option<Arc<dyn PhysicalExpr>>>,
    row_ids: Vec<Vec<u32>>,
    group_indices: Vec<usize>,
}

impl Groups {
    fn new(aggregate: &AggregateExec, key_columns: Vec<usize>) -> Result<Self> {
        let accumulators = aggregate
            .aggr_expr()
            .iter()
            .map(|expr| expr.create_groups_accumulator())
            .collect::<Result<_>>()?;
        Ok(Self {
            keys: key_columns.iter().map(|_| KeyColumn::default()).collect(),
            row_ids: vec![Vec::new(); key_columns.len()],
            key_columns,
            index: GroupIndex::default(),
            accumulators,
            arguments: aggregate_expressions(aggregate.aggr_expr(), &AggregateMode::Partial, 0)?,
            filters: aggregate.filter_expr().to_vec(),
            group_indices: Vec::new(),
        })
    }

    fn len(&self) -> usize {
        self.index.len()
    }

    fn size(&self) -> usize {
        let keys: usize = self.keys.iter().map(KeyColumn::size).sum();
        let accumulators: usize = self.accumulators.iter().map(|a| a.size()).sum();
        keys + accumulators
            + self.index.size()
            + self.group_indices.capacity() * size_of::<usize>()
            + self
                .row_ids
                .iter()
                .map(|ids| ids.capacity() * 4)
                .sum::<usize>()
    }

    /// Assigns each row of `batch` to its group and updates every aggregate.
    fn update(&mut self, batch: &RecordBatch) -> Result<()> {
        for ((key, &column), ids) in self
            .keys
            .iter_mut()
            .zip(&self.key_columns)
            .zip(&mut self.row_ids)
        {
            key.intern(string_views(batch, column)?, ids)?;
        }
        let distinct: Vec<usize> = self.keys.iter().map(KeyColumn::len).collect();
        self.index
            .assign(&self.row_ids, &distinct, &mut self.group_indices);
        let total_groups = self.len();
        let arguments = evaluate_many(&self.arguments, batch)?;
        for ((accumulator, values), filter) in self
            .accumulators
            .iter_mut()
            .zip(&arguments)
            .zip(&self.filters)
        {
            let filter = evaluate_filter(filter.as_ref(), batch)?;
            accumulator.update_batch(values, &self.group_indices, filter.as_ref(), total_groups)?;
        }
        Ok(())
    }

    /// `batch` as partial states without grouping: for keys that barely repeat.
    fn states_of(&self, batch: &RecordBatch, schema: &SchemaRef) -> Result<RecordBatch> {
        let mut columns: Vec<ArrayRef> = self
            .key_columns
            .iter()
            .map(|&c| Arc::clone(batch.column(c)))
            .collect();
        let arguments = evaluate_many(&self.arguments, batch)?;
        for ((accumulator, values), filter) in
            self.accumulators.iter().zip(&arguments).zip(&self.filters)
        {
            let filter = evaluate_filter(filter.as_ref(), batch)?;
            columns.extend(accumulator.convert_to_state(values, filter.as_ref())?);
        }
        Ok(RecordBatch::try_new(Arc::clone(schema), columns)?)
    }

    /// Every group's keys and partial states, then forgets them all.
    fn emit(&mut self, schema: &SchemaRef) -> Result<Option<RecordBatch>> {
        if self.len() == 0 {
            return Ok(None);
        }
        let mut columns: Vec<ArrayRef> = Vec::with_capacity(schema.fields().len());
        for (i, key) in self.keys.iter().enumerate() {
            let values = key.values_by_id();
            let column: StringViewArray = self
                .index
                .packed_keys()
                .iter()
                .map(|&packed| values[unpack(packed, i) as usize])
                .collect();
            columns.push(Arc::new(column));
        }
        for accumulator in &mut self.accumulators {
            columns.extend(accumulator.state(EmitTo::All)?);
        }
        self.keys
            .iter_mut()
            .for_each(|key| *key = KeyColumn::default());
        self.index = GroupIndex::default();
        Ok(Some(RecordBatch::try_new(Arc::clone(schema), columns)?))
    }
}

fn string_views(batch: &RecordBatch, column: usize) -> Result<&StringViewArray> {
    batch.column(column).as_string_view_opt().ok_or_else(|| {
        DataFusionError::Internal(format!("group key column {column} is not a string view"))
    })
}

fn evaluate_filter(
    filter: Option<&Arc<dyn PhysicalExpr>>,
    batch: &RecordBatch,
) -> Result<Option<datafusion::arrow::array::BooleanArray>> {
    filter
        .map(|filter| {
            let values = filter.evaluate(batch)?.into_array(batch.num_rows())?;
            values.as_boolean_opt().cloned().ok_or_else(|| {
                DataFusionError::Internal("aggregate FILTER is not boolean".to_owned())
            })
        })
        .transpose()
}

/// DataFusion's rule for partial aggregates that do not reduce: once `rows_threshold` rows are
/// in and there are more than `ratio_threshold` groups per row, pass rows through as states.
struct SkipProbe {
    rows_threshold: usize,
    ratio_threshold: f64,
    input_rows: usize,
    skipping: bool,
}

impl SkipProbe {
    fn new(context: &TaskContext) -> Self {
        let options = &context.session_config().options().execution;
        Self {
            rows_threshold: options.skip_partial_aggregation_probe_rows_threshold,
            ratio_threshold: options.skip_partial_aggregation_probe_ratio_threshold,
            input_rows: 0,
            skipping: false,
        }
    }

    /// Counts `rows` more input rows; true when aggregation should stop from now on.
    fn should_skip(&mut self, rows: usize, groups: usize) -> bool {
        self.input_rows += rows;
        if !self.skipping && self.ratio_threshold < 1.0 && self.input_rows >= self.rows_threshold {
            self.skipping = groups as f64 / self.input_rows as f64 > self.ratio_threshold;
        }
        self.skipping
    }
}

/// The partition's stream state.
struct PartialAggregation {
    input: SendableRecordBatchStream,
    groups: Groups,
    schema: SchemaRef,
    batch_size: usize,
    reservation: MemoryReservation,
    probe: SkipProbe,
    ready: VecDeque<RecordBatch>,
    input_done: bool,
    metrics: BaselineMetrics,
}

impl PartialAggregation {
    async fn next_batch(&mut self) -> Option<Result<RecordBatch>> {
        loop {
            if let Some(batch) = self.ready.pop_front() {
                self.metrics.record_output(batch.num_rows());
                return Some(Ok(batch));
            }
            if self.input_done {
                return None;
            }
            let step = match self.input.next().await {
                Some(Ok(batch)) => self.consume(&batch),
                Some(Err(e)) => Err(e),
                None => {
                    self.input_done = true;
                    self.emit_all()
                }
            };
            if let Err(e) = step {
                self.input_done = true;
                self.ready.clear();
                return Some(Err(e));
            }
        }
    }

    fn consume(&mut self, batch: &RecordBatch) -> Result<()> {
        let elapsed_compute = self.metrics.elapsed_compute().clone();
        let _timer = elapsed_compute.timer();
        if self.probe.skipping {
            let states = self.groups.states_of(batch, &self.schema)?;
            self.ready.push_back(states);
            return Ok(());
        }
        self.groups.update(batch)?;
        if self.probe.should_skip(batch.num_rows(), self.groups.len()) {
            return self.emit_all();
        }
        if self.reservation.try_resize(self.groups.size()).is_err() {
            // A partial aggregate may emit any time: the final step merges repeated groups.
            self.emit_all()?;
            self.reservation.try_resize(self.groups.size())?;
        }
        Ok(())
    }

    fn emit_all(&mut self) -> Result<()> {
        if let Some(batch) = self.groups.emit(&self.schema)? {
            let mut offset = 0;
            while offset < batch.num_rows() {
                let len = self.batch_size.min(batch.num_rows() - offset);
                self.ready.push_back(batch.slice(offset, len));
                offset += len;
            }
        }
        // Emitting frees the groups; a failure to shrink is not an error.
        let _ = self.reservation.try_resize(self.groups.size());
        Ok(())
    }
}

/// The stream of partition `partition`'s partial states for `aggregate`, grouped on the string
/// view columns `key_columns`.
pub(super) fn execute(
    aggregate: &AggregateExec,
    key_columns: Vec<usize>,
    partition: usize,
    context: &Arc<TaskContext>,
    metrics: BaselineMetrics,
) -> Result<SendableRecordBatchStream> {
    let input = aggregate.input().execute(partition, Arc::clone(context))?;
    let schema = aggregate.schema();
    let reservation = MemoryConsumer::new(format!("InternedGroupsExec[{partition}]"))
        .register(context.memory_pool());
    let state = PartialAggregation {
        input,
        groups: Groups::new(aggregate, key_columns)?,
        schema: Arc::clone(&schema),
        batch_size: context.session_config().batch_size(),
        reservation,
        probe: SkipProbe::new(context),
        ready: VecDeque::new(),
        input_done: false,
        metrics,
    };
    let stream = futures_util::stream::unfold(state, |mut state| async move {
        let next = state.next_batch().await?;
        Some((next, state))
    });
    Ok(Box::pin(RecordBatchStreamAdapter::new(schema, stream)))
}
