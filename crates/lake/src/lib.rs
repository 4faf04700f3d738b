//! The lake: decoded rows in, crash-safe Parquet files out, each event exactly once.
//!
//! A producer (a socket task, or the archive importer) owns a [`StreamSink`]: it appends events
//! to per-table Arrow builders and hands full chunks over a bounded crossbeam queue to the
//! stream's writer thread, which holds them until the [`FlushPolicy`] says commit. A commit writes
//! one sorted, zstd-compressed Parquet file per table and event date under
//! `<lake>/<table>/date=YYYY-MM-DD/`, hidden until fsynced and renamed, and only then advances the
//! stream's [`Checkpoint`], which names every committed seq as [`SeqRanges`]. Opening a stream
//! removes whatever an interrupted commit left, so the checkpoint is the truth: live ingest
//! resumes from its highest `seq + 1`, an import skips exactly the seqs in it, and nothing is
//! lost or doubled. After the checkpoint, the writer publishes the commit's files to each
//! table's Delta log (`<lake>/<table>/_delta_log/`), which is what Spark, Trino, DuckDB, polars
//! and `deltalake` read (see `delta`).
//!
//! It does not read sockets or archives (`dss-lake-ingest` and `dss-lake-import` are its
//! producers), parse flags or serve queries; it never links DataFusion. Its one use of tokio is
//! the small runtime each writer thread drives delta-rs with.
//! Data flow: `Event` -> [`StreamSink::push_event`] -> queue -> writer -> `commit` -> files ->
//! checkpoint -> Delta log.
//!
//! ```
//! use dss_lake_lake::Lake;
//! use dss_lake_frame::FrameDecoder;
//! use dss_lake_schema::StreamName;
//!
//! let dir = tempfile::tempdir().unwrap();
//! let stream = StreamName::parse("freezers").unwrap();
//! let mut writer = Lake::new(dir.path()).open_stream(&stream).unwrap();
//! let mut decoder = FrameDecoder::new();
//! for frame in dss_lake_fleet::corpus(1, 100) {
//!     match decoder.decode_message(&frame) {
//!         Ok(dss_lake_frame::Frame::Event(event)) => { writer.sink().push_event(&event, 0).unwrap(); }
//!         Ok(dss_lake_frame::Frame::Heartbeat) => {}
//!         Err(rejected) => writer.sink().push_rejected(&rejected, 0, None).unwrap(),
//!     }
//! }
//! let checkpoint = writer.close().unwrap();
//! assert_eq!(checkpoint.seq, Some(100));
//! ```

mod checkpoint;
mod clock;
mod commit;
mod dedupe;
mod delta;
mod error;
pub mod fs;
mod inspect;
mod lake;
mod legacy;
mod policy;
mod recover;
mod retry;
mod seq_ranges;
mod sink;
mod writer;

pub use checkpoint::{Checkpoint, StreamLock};
pub use clock::{Clock, ManualClock, SystemClock};
pub use commit::{CommittedFile, writer_properties};
pub use dedupe::DedupeReport;
pub use error::{LakeError, Result};
pub use inspect::{Converted, StreamCommit, TableInfo, convert, describe, publish_files};
pub use lake::{Lake, QUEUE_CHUNKS, StreamWriter};
pub use policy::FlushPolicy;
pub use recover::Recovery;
pub use retry::CommitRetry;
pub use seq_ranges::SeqRanges;
pub use sink::{CHUNK_ROWS, Pushed, SinkCounts, StreamSink};
pub use writer::{Commit, WriterStats};
