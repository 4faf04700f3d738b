//! A stream's decode-and-store thread: raw messages in from the socket task, decoded events
//! into the lake's [`StreamSink`](dss_lake_lake::StreamSink), rejects into quarantine.
//!
//! Why a dedicated OS thread and not a tokio task: `StreamSink::push_event` blocks when the
//! lake's writer falls behind (its bounded crossbeam queue is the backpressure), and decoding
//! is CPU work. On its own thread neither can starve the socket and heartbeat tasks of the
//! runtime; the blocking travels back to the socket only through the small async channel
//! below, so a slow disk slows the socket read and memory stays bounded.

use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::thread::JoinHandle;

use dss_lake_frame::{Frame, FrameDecoder};
use dss_lake_lake::{Checkpoint, Clock, LakeError, Pushed, StreamWriter};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Utf8Bytes;

use crate::metrics::StreamMetrics;

/// Messages between a stream's socket task and its sink thread: a tokio mpsc because the
/// sender awaits (the socket task must not block a runtime worker) while the receiver blocks
/// (`blocking_recv` on its own thread). 256 messages of a few KB each: enough to smooth over the
/// decoder's jitter, small next to the writer's own queue, which is the real buffer.
pub const SOCKET_QUEUE: usize = 256;

/// What the sink thread receives.
#[derive(Debug)]
pub(crate) enum ToSink {
    /// A text message (never a heartbeat: those are answered and dropped by the socket task).
    Message(Utf8Bytes),
    /// A few times a second: hand pending rows to the writer (so its age policy sees them on a
    /// quiet stream) and publish counters.
    Tick,
}

/// Starts the thread; it commits and closes the stream when every sender is gone.
pub(crate) fn spawn(
    writer: StreamWriter,
    queue: mpsc::Receiver<ToSink>,
    metrics: Arc<StreamMetrics>,
    clock: Arc<dyn Clock>,
) -> std::io::Result<JoinHandle<Result<Checkpoint, LakeError>>> {
    std::thread::Builder::new()
        .name(format!("ingest-sink-{}", metrics.stream))
        .spawn(move || run(writer, queue, metrics, &*clock))
}

fn run(
    mut writer: StreamWriter,
    mut queue: mpsc::Receiver<ToSink>,
    metrics: Arc<StreamMetrics>,
    clock: &dyn Clock,
) -> Result<Checkpoint, LakeError> {
    let mut decoder = FrameDecoder::new();
    let mut consumed = consume(&mut writer, &mut decoder, &mut queue, &metrics, clock);
    if consumed.is_err() {
        // Let the socket task see the channel closed instead of waiting on a full one.
        drop(queue);
    }
    publish(&mut writer, &metrics, 0);
    let closed = writer.close();
    metrics.alive.store(false, Relaxed);
    if let Err(e) = &mut consumed {
        tracing::error!(stream = %metrics.stream, "storing events failed: {e}");
    }
    consumed.and(closed)
}

/// The hot loop: one message at a time until the channel closes.
fn consume(
    writer: &mut StreamWriter,
    decoder: &mut FrameDecoder,
    queue: &mut mpsc::Receiver<ToSink>,
    metrics: &StreamMetrics,
    clock: &dyn Clock,
) -> Result<(), LakeError> {
    while let Some(message) = queue.blocking_recv() {
        let text = match message {
            ToSink::Message(text) => text,
            ToSink::Tick => {
                writer.sink().send_pending()?;
                publish(writer, metrics, queue.len());
                continue;
            }
        };
        // The configured clock stamps `received_at` (the lake's writer ages batches by the same
        // one), so a test with a manual clock knows both exactly.
        let now = clock.now();
        match decoder.decode_message(&text) {
            Ok(Frame::Event(event)) => {
                if writer.sink().push_event(&event, now)? == Pushed::Stored {
                    metrics.last_seq_plus_one.store(event.seq + 1, Relaxed);
                    metrics.last_event_micros.store(now, Relaxed);
                }
            }
            Ok(Frame::Heartbeat) => {}
            Err(rejected) => writer.sink().push_rejected(&rejected, now, None)?,
        }
    }
    Ok(())
}

fn publish(writer: &mut StreamWriter, metrics: &StreamMetrics, socket_queue: usize) {
    let sink = writer.sink();
    metrics.store_counts(sink.counts());
    metrics
        .writer_queue
        .store(sink.queue_depth() as u64, Relaxed);
    metrics.socket_queue.store(socket_queue as u64, Relaxed);
}
