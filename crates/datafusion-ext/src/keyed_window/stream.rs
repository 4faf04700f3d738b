//! One partition's window: gather, order, evaluate each window partition, emit.

use std::sync::Arc;

use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::compute::interleave_record_batch;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::common::Result;
use datafusion::execution::memory_pool::{MemoryConsumer, MemoryReservation};
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::physical_plan::WindowExpr;
use datafusion::physical_plan::metrics::BaselineMetrics;
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use futures_util::{StreamExt, TryStreamExt, stream};

use super::functions;
use super::order::{RowOrder, WindowOrder};

/// What one partition's stream needs from the plan.
pub(super) struct WindowTask {
    pub input: SendableRecordBatchStream,
    pub order: RowOrder,
    pub window_exprs: Vec<Arc<dyn WindowExpr>>,
    pub schema: SchemaRef,
    pub metrics: BaselineMetrics,
}

pub(super) fn execute(
    task: WindowTask,
    partition: usize,
    context: &TaskContext,
) -> SendableRecordBatchStream {
    let reservation = MemoryConsumer::new(format!("KeyedWindowExec[{partition}]"))
        .register(context.memory_pool());
    let batch_size = context.session_config().batch_size();
    let schema = Arc::clone(&task.schema);
    let batches = stream::once(run(task, reservation, batch_size))
        .map_ok(|batches| stream::iter(batches.into_iter().map(Ok)))
        .try_flatten();
    Box::pin(RecordBatchStreamAdapter::new(schema, batches))
}

async fn run(
    mut task: WindowTask,
    reservation: MemoryReservation,
    batch_size: usize,
) -> Result<Vec<RecordBatch>> {
    let mut batches = Vec::new();
    let mut held = 0;
    while let Some(batch) = task.input.next().await {
        let batch = batch?;
        let _timer = task.metrics.elapsed_compute().timer();
        task.order.push(&batch)?;
        held += batch.get_array_memory_size();
        reservation.try_resize(held + task.order.size())?;
        batches.push(batch);
    }
    let _timer = task.metrics.elapsed_compute().timer();
    if batches.is_empty() {
        return Ok(Vec::new());
    }
    let WindowOrder {
        rows,
        partition_ends,
    } = task.order.finish()?;
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let inputs: Vec<&RecordBatch> = batches.iter().collect();
    let sorted = interleave_record_batch(&inputs, &rows)?;
    drop(rows);
    reservation.try_resize(held + sorted.get_array_memory_size())?;
    drop(batches);

    let mut columns = sorted.columns().to_vec();
    for expr in &task.window_exprs {
        columns.push(functions::evaluate(
            expr.as_ref(),
            &sorted,
            &partition_ends,
        )?);
    }
    let window = RecordBatch::try_new(Arc::clone(&task.schema), columns)?;
    reservation.try_resize(window.get_array_memory_size())?;
    task.metrics.record_output(window.num_rows());
    let mut out = Vec::with_capacity(window.num_rows().div_ceil(batch_size));
    let mut offset = 0;
    while offset < window.num_rows() {
        let len = batch_size.min(window.num_rows() - offset);
        out.push(window.slice(offset, len));
        offset += len;
    }
    Ok(out)
}
