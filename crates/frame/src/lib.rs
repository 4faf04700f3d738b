//! The decoder: one DSS WebSocket text message in, a heartbeat, an [`Event`] or a typed
//! [`DecodeError`] out; and the builders that append events to Arrow columns, and the way back
//! from a stored row to the event's JSON.
//!
//! It does no I/O and knows nothing of sockets, files or tokio: bytes in, columns out, so it can
//! be benchmarked and fuzzed alone. A frame in the canonical shape DSS nearly always sends is read
//! straight into an `Event` (`fast`); any other goes the general way: one scalar pass writes the
//! payload's nodes to a reused tape in simd-json's format (simd-json itself parses the rare frames
//! that pass leaves alone: escapes, exponents, invalid JSON) and the extractor walks the tape once.
//! Every string borrows from the message; no copy of the frame, no `serde_json::Value`, no
//! `String` per field. Data flow:
//! `FrameDecoder::decode_message` -> `Event` -> `TableBuilder::append` -> `RecordBatch` (handed
//! to the batching stage) -> `restore::restore_row` when proving losslessness.
//!
//! ```
//! use dss_lake_frame::{Frame, FrameDecoder, TableBuilder};
//! use dss_lake_schema::Table;
//!
//! let payload = r#"{"seq":"7","metadata":{"oem_id":"1a2b3c4d","oem_model":"freezer",
//!   "dsn":"AC000W000123456","property_name":"note","display_name":"Note","base_type":"string",
//!   "resource_tags":[],"event_type":"datapoint"},"datapoint":{"id":"9c1e","created_at_from_device":null,
//!   "updated_at":"2026-11-24T10:25:14Z","created_at":"2026-11-24T10:25:14Z","user_uuid":"u1",
//!   "echo":false,"closed":false,"value":"door|Z open","metadata":{}}}"#;
//! let message = format!("{}|{payload}", payload.len());
//!
//! let mut decoder = FrameDecoder::new();
//! let Ok(Frame::Event(event)) = decoder.decode_message(&message) else { panic!() };
//! assert_eq!(event.seq, 7);
//!
//! let mut builder = TableBuilder::new(Table::Datapoint, 1024);
//! builder.append(&event, "freezers", 0).unwrap();
//! let batch = builder.finish();
//! let restored = dss_lake_frame::restore::restore_row(Table::Datapoint, &batch, 0).unwrap();
//! assert_eq!(restored, serde_json::from_str::<serde_json::Value>(payload).unwrap());
//! ```

#[allow(unsafe_code)] // Arrow arrays built unchecked from offsets it wrote itself; short copies
mod columns;
mod decode;
mod error;
mod event;
mod extract;
mod extras;
mod fast;
mod framing;
mod json;
pub mod restore;
mod rows;
#[allow(unsafe_code)] // the SSE2 intrinsics that mark quotes and escapes 64 bytes at a time
mod scan;
pub mod time;

pub use decode::{Frame, FrameDecoder};
pub use error::{DecodeError, Rejected};
pub use event::{Ack, Body, Connection, Datapoint, Event, Location, Micros, Registration, Tags};
pub use framing::{Split, is_heartbeat, split_message};
pub use rows::{QuarantineBuilder, TableBuilder, WrongTable};
