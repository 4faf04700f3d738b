//! Running a query on the query runtime: timeout, cancellation, and streaming encoded chunks.
//!
//! ```text
//! caller task                      query runtime task
//! stream(sql) ── spawn ──────────▶ plan ─▶ execute ─▶ batch ─▶ encode ─┐
//!    ◀──── first chunk or error ──────────────────────────────────────┘ (channel, 2 chunks)
//! ResultStream ◀─── next chunks ──────────────────────────── ... ─▶ finish (footer)
//! ```
//!
//! Every query first takes one of the engine's slots (waiting at most `queue_timeout`), whichever
//! front-end sent it. The caller waits for the first chunk before answering, so errors that
//! happen before any row exists (bad SQL, refusal, timeout or memory exhaustion during an
//! aggregation) still become clean errors of the front-end's protocol. An error after the first
//! chunk can only cut the response short.

use std::time::Instant;

use bytes::Bytes;
use datafusion::arrow::array::RecordBatch;
use futures_util::{Stream, StreamExt};
use tokio::sync::{OwnedSemaphorePermit, mpsc};

use crate::format::{Encoder, Format};
use crate::{Engine, QueryError};

/// Chunks buffered between the query task and the response: two, so encoding the next batch
/// overlaps sending the previous one, while a slow client holds back the query instead of
/// letting encoded chunks pile up in memory.
const CHANNEL_CHUNKS: usize = 2;

/// A result being produced: its first chunk, then whatever the query task sends.
#[derive(Debug)]
pub struct ResultStream {
    first: Option<Bytes>,
    rx: mpsc::Receiver<Result<Bytes, QueryError>>,
}

impl ResultStream {
    /// The chunks in order; an error item means the result was cut short.
    pub fn into_stream(self) -> impl Stream<Item = Result<Bytes, QueryError>> + Send + 'static {
        let first = futures_util::stream::iter(self.first.map(Ok));
        let mut rx = self.rx;
        first.chain(futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx)))
    }
}

impl Engine {
    /// Takes a query slot, waiting at most `queue_timeout` ([`QueryError::Busy`] past it), for
    /// a query that has not started yet.
    async fn slot(&self) -> Result<OwnedSemaphorePermit, QueryError> {
        let metrics = &self.inner.metrics;
        let waited = Instant::now();
        let _waiting = metrics.waiting();
        let acquire = self.inner.slots.clone().acquire_owned();
        match tokio::time::timeout(self.inner.config.queue_timeout, acquire).await {
            Ok(Ok(permit)) => Ok(permit),
            _ => {
                metrics.finished(QueryError::Busy.kind(), waited.elapsed());
                Err(QueryError::Busy)
            }
        }
    }

    /// Runs `sql` on the query runtime and streams its result encoded as `format`.
    ///
    /// Returns once the first chunk exists (or the query failed before producing one). The
    /// query holds its slot until its task ends. Dropping the returned stream cancels the query.
    pub async fn stream(&self, sql: String, format: Format) -> Result<ResultStream, QueryError> {
        let permit = self.slot().await?;
        let (tx, mut rx) = mpsc::channel(CHANNEL_CHUNKS);
        let engine = self.clone();
        self.inner.runtime.spawn_detached(async move {
            let _permit = permit;
            let metrics = &engine.inner.metrics;
            let _running = metrics.running();
            let started = Instant::now();
            let timeout = engine.inner.config.query_timeout;
            let outcome = tokio::select! {
                result = tokio::time::timeout(timeout, engine.pump(&sql, format, &tx)) => {
                    result.unwrap_or(Err(QueryError::Timeout(timeout)))
                }
                () = tx.closed() => {
                    metrics.finished("cancelled", started.elapsed());
                    return;
                }
            };
            let kind = outcome.as_ref().err().map_or("ok", QueryError::kind);
            metrics.finished(kind, started.elapsed());
            if let Err(err) = outcome {
                log_failure(&err, &sql);
                let _ = tx.send(Err(err)).await;
            }
        });
        match rx.recv().await {
            Some(Ok(first)) => Ok(ResultStream {
                first: Some(first),
                rx,
            }),
            Some(Err(err)) => Err(err),
            None => Err(QueryError::Internal(
                "the query task ended without a result".into(),
            )),
        }
    }

    /// Runs `sql` to completion on the query runtime, within the timeout, and returns all rows.
    /// For the command line and tests; the server streams instead.
    pub async fn collect(&self, sql: &str) -> Result<Vec<RecordBatch>, QueryError> {
        let permit = self.slot().await?;
        let engine = self.clone();
        let sql = sql.to_owned();
        let timeout = self.inner.config.query_timeout;
        let task = self.inner.runtime.spawn(async move {
            let _permit = permit;
            let started = Instant::now();
            let work = async { Ok::<_, QueryError>(engine.plan(&sql).await?.collect().await?) };
            let result = tokio::time::timeout(timeout, work)
                .await
                .unwrap_or(Err(QueryError::Timeout(timeout)));
            let kind = result.as_ref().err().map_or("ok", QueryError::kind);
            engine.inner.metrics.finished(kind, started.elapsed());
            result
        });
        task.await
            .map_err(|e| QueryError::Internal(format!("query task failed: {e}")))?
    }

    /// Plans, executes and encodes, sending one chunk per non-empty encoded batch.
    async fn pump(
        &self,
        sql: &str,
        format: Format,
        tx: &mpsc::Sender<Result<Bytes, QueryError>>,
    ) -> Result<(), QueryError> {
        let mut batches = self.plan(sql).await?.execute_stream().await?;
        let mut encoder = Encoder::new(format, &batches.schema())?;
        let metrics = &self.inner.metrics;
        while let Some(batch) = batches.next().await {
            let batch = batch?;
            let chunk = encoder.write(&batch)?;
            metrics.sent(batch.num_rows(), chunk.len());
            if !chunk.is_empty() && tx.send(Ok(chunk)).await.is_err() {
                return Ok(()); // The client went away; `closed()` reports it.
            }
        }
        let tail = encoder.finish()?;
        metrics.sent(0, tail.len());
        let _ = tx.send(Ok(tail)).await;
        Ok(())
    }
}

/// Client errors are the client's business; engine failures are logged in full.
fn log_failure(err: &QueryError, sql: &str) {
    match err {
        QueryError::Internal(message) => tracing::error!(%message, sql, "query failed"),
        QueryError::Timeout(_) | QueryError::ResourcesExhausted(_) => {
            tracing::warn!(error = %err, sql, "query stopped")
        }
        _ => tracing::debug!(error = %err, sql, "query refused or invalid"),
    }
}
