//! [`FrameDecoder`]: the hot path from one WebSocket text message to an [`Event`].
//!
//! The decoder owns every buffer it needs (the tape, a scratch string for re-serialised JSON, and
//! for frames the fast scanner leaves to simd-json the padded copy it parses in place and its
//! stage buffers) and reuses them, so a steady stream of frames allocates nothing once the
//! buffers have grown to the largest frame. Most frames take `fast` (straight into an event), the
//! rest `scan` (a tape); both read the message where it is: no copy.

use simd_json::{Buffers, INPUT_PADDING, Tape, fill_tape_padded};

use crate::event::Body;
use crate::extract::{Spans, extract_event};
use crate::fast::fast_event;
use crate::framing::{Split, split_message};
use crate::json::TapeRef;
use crate::scan::{GiveUp, ScanBuffers, scan_into};
use crate::{DecodeError, Event, Rejected};

/// A decoded message.
// Boxing the event would cost an allocation per frame on the hot path; a `Frame` lives only
// until the caller matches it, so its size does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum Frame<'a> {
    /// `1|Z`: answer with a text `Z`.
    Heartbeat,
    Event(Event<'a>),
}

/// Decodes DSS messages one at a time; reuse one per connection (or per thread).
pub struct FrameDecoder {
    input: Vec<u8>,
    buffers: Buffers,
    tape: Tape<'static>,
    scan: ScanBuffers,
    scratch: String,
    fast_frames: u64,
}

impl std::fmt::Debug for FrameDecoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // simd-json's buffers have no Debug; their sizes are what matters when debugging.
        f.debug_struct("FrameDecoder")
            .field("input_capacity", &self.input.capacity())
            .field("tape_capacity", &self.tape.0.capacity())
            .field("fast_frames", &self.fast_frames)
            .finish_non_exhaustive()
    }
}

impl Default for FrameDecoder {
    fn default() -> Self {
        Self::new()
    }
}

/// Typical DSS frames are under 1 KiB; buffers grow on demand past this.
const INITIAL_CAPACITY: usize = 4096;

impl FrameDecoder {
    pub fn new() -> Self {
        FrameDecoder {
            input: Vec::with_capacity(INITIAL_CAPACITY + INPUT_PADDING),
            buffers: Buffers::new(INITIAL_CAPACITY),
            tape: Tape::null().reset(),
            scan: ScanBuffers::default(),
            scratch: String::with_capacity(INITIAL_CAPACITY),
            fast_frames: 0,
        }
    }

    /// How many events so far took the fast path (read straight from the payload, no tape).
    ///
    /// Nearly every frame of a real stream should: a falling share means DSS changed the shape
    /// of its frames and decoding got slower, not wrong. It is also how the tests know that a
    /// frame they call canonical really exercised the fast path, since both paths must give
    /// the same event and so cannot be told apart by their output.
    pub fn fast_path_frames(&self) -> u64 {
        self.fast_frames
    }

    /// Decodes one WebSocket text message (`<LEN>|<payload>`).
    ///
    /// The event borrows from the message and from the decoder until the next call. On failure
    /// the raw message comes back with the reason, for quarantine.
    pub fn decode_message<'a, 'm: 'a>(
        &'a mut self,
        message: &'m str,
    ) -> Result<Frame<'a>, Rejected<'m>> {
        let reject = |error| Rejected {
            raw: message,
            error,
        };
        match split_message(message).map_err(reject)? {
            Split::Heartbeat => Ok(Frame::Heartbeat),
            Split::Payload {
                json,
                length_matches,
            } => match self.decode_payload(json) {
                Ok(mut event) => {
                    event.length_matches = length_matches;
                    Ok(Frame::Event(event))
                }
                Err(error) => Err(reject(error)),
            },
        }
    }

    /// Decodes one bare JSON event (no `LEN|` prefix), as found in archives and NDJSON files.
    ///
    /// The event borrows from `json` and from the decoder until the next call.
    pub fn decode_payload<'a, 'j: 'a>(
        &'a mut self,
        json: &'j str,
    ) -> Result<Event<'a>, DecodeError> {
        match fast_event(json, &mut self.scan) {
            Ok(event) => {
                self.fast_frames += 1;
                Ok(event)
            }
            Err(GiveUp) => self.decode_general(json),
        }
    }

    /// The tape and the extractor: every frame the fast path leaves, and its test's oracle.
    pub(crate) fn decode_general<'a, 'j: 'a>(
        &'a mut self,
        json: &'j str,
    ) -> Result<Event<'a>, DecodeError> {
        let FrameDecoder {
            input,
            buffers,
            tape,
            scan,
            scratch,
            fast_frames: _,
        } = self;
        scratch.clear();

        // The tape's allocation is kept across frames; only its lifetime changes. (Taking the
        // `Vec` leaves an empty one behind; `Tape::null()` would allocate a placeholder per frame.)
        let mut parsed: Tape<'a> = Tape(std::mem::take(&mut tape.0)).reset();
        // Only the scanner's strings are slices of `json`; simd-json's live in its own copy.
        let parsed_ok = match scan_into(json, &mut parsed.0, scan) {
            Ok(()) => Ok(Some(json)),
            Err(GiveUp) => parse_with_simd_json(json, input, buffers, &mut parsed).map(|()| None),
        };
        let mut spans = Spans::default();
        let mut result = parsed_ok
            .and_then(|source| extract_event(TapeRef(&parsed.0), source, scratch, &mut spans));
        *tape = parsed.reset();
        if let Ok(event) = &mut result {
            attach_json(event, spans, scratch);
        }
        result
    }

    /// Decodes an already parsed `serde_json::Value` through the same extractor and builders.
    /// This is the benchmark's baseline and the property tests' second opinion, not a fast path.
    pub fn decode_value<'a>(
        &'a mut self,
        value: &'a serde_json::Value,
    ) -> Result<Event<'a>, DecodeError> {
        self.scratch.clear();
        let mut spans = Spans::default();
        let mut result = extract_event(value, None, &mut self.scratch, &mut spans);
        if let Ok(event) = &mut result {
            attach_json(event, spans, &self.scratch);
        }
        result
    }
}

/// The general path, for what `scan` leaves alone: escapes, exponents, long numbers, deep
/// nesting and invalid JSON (whose error, offset and reason come from simd-json).
#[cold]
#[inline(never)]
fn parse_with_simd_json<'a>(
    json: &str,
    input: &'a mut Vec<u8>,
    buffers: &mut Buffers,
    tape: &mut Tape<'a>,
) -> Result<(), DecodeError> {
    input.clear();
    input.extend_from_slice(json.as_bytes());
    input.resize(json.len() + INPUT_PADDING, 0);
    fill_tape_padded(input, json.len(), buffers, tape).map_err(|e| DecodeError::from_simd(&e))
}

// In place: an `Event` is a few hundred bytes, and each move of it is a copy.
fn attach_json<'a>(event: &mut Event<'a>, spans: Spans<'a>, scratch: &'a str) {
    let text = |span: Option<std::ops::Range<usize>>| span.map(|r| &scratch[r]);
    event.extra_json = text(spans.extra_json);
    if let Body::Datapoint(d) | Body::Datapointack(d, _) = &mut event.body {
        d.value_json = spans.value_source.or_else(|| text(spans.value_json));
        d.metadata_json = text(spans.metadata_json);
    }
}
