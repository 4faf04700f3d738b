//! `dss-lake import`: archived events into the lake, through the same sink and writer as live
//! ingest, so an archive gets the same exactly-once guarantee.
//!
//! Two archive formats: NDJSON (one event per line; a line may also be a raw `<LEN>|<json>`
//! frame) and what Ayla's Node.js DSS Collector writes, JSON objects appended back to back with
//! no separator. Each archive is identified by a fingerprint of its first 64 KiB, and the
//! checkpoint remembers how many of its bytes are committed: importing it again skips them
//! (events would be dropped as duplicates anyway, but quarantined lines have no `seq`).
//!
//! Files and the events in them may come in any order: a seq is skipped only when it is in the
//! checkpoint's committed set or earlier in the same import ([`crate::dedupe`]), and gaps are
//! decided once everything is read. The Collector writes one file per event type of a stream,
//! each holding every Nth seq of one sequence, so no other rule would take all of them.

use std::fs::File;
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;

use dss_lake_frame::{Frame, FrameDecoder};
use dss_lake_schema::StreamName;

use crate::dedupe::DedupeReport;
use crate::error::{LakeError, Result};
use crate::lake::Lake;
use crate::sink::{SinkCounts, StreamSink};

/// How records are laid out in an archive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArchiveFormat {
    /// Decide from the first record: a newline after it means NDJSON.
    Auto,
    Ndjson,
    /// JSON objects back to back (the DSS Collector's files).
    Concatenated,
}

/// What an import did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportSummary {
    pub counts: SinkCounts,
    /// What the duplicates were (`counts.duplicates` is their total) and which gaps were filled.
    pub dedupe: DedupeReport,
    pub files_written: u64,
    pub bytes_written: u64,
    /// Bytes skipped because an earlier import already committed them.
    pub bytes_already_imported: u64,
    pub heartbeats: u64,
}

const FINGERPRINT_BYTES: usize = 64 * 1024;
/// Records between progress marks; each mark lets a re-run skip what is committed.
const PROGRESS_EVERY: u64 = 4096;

/// Imports `paths` into `stream` of `lake`; `on_bytes` is told how many bytes were read.
pub fn import_files(
    lake: &Lake,
    stream: &StreamName,
    paths: &[PathBuf],
    format: ArchiveFormat,
    on_bytes: &mut dyn FnMut(u64),
) -> Result<ImportSummary> {
    let mut writer = lake.open_stream(stream)?;
    let mut summary = ImportSummary::default();
    let mut decoder = FrameDecoder::new();
    writer.import_sink();
    for path in paths {
        let committed = writer.opened_at().sources.clone();
        import_one(
            lake,
            writer.sink(),
            &mut decoder,
            path,
            format,
            &committed,
            &mut summary,
            on_bytes,
        )?;
    }
    writer.sink().record_import_gaps(lake.clock().now())?;
    summary.counts = writer.sink().counts().clone();
    summary.dedupe = writer.sink().dedupe_report().cloned().unwrap_or_default();
    let stats = std::sync::Arc::clone(writer.stats());
    writer.close()?;
    summary.files_written = stats.files.load(Ordering::Relaxed);
    summary.bytes_written = stats.file_bytes.load(Ordering::Relaxed);
    Ok(summary)
}

#[allow(clippy::too_many_arguments)]
fn import_one(
    lake: &Lake,
    sink: &mut StreamSink,
    decoder: &mut FrameDecoder,
    path: &Path,
    format: ArchiveFormat,
    committed: &std::collections::BTreeMap<String, u64>,
    summary: &mut ImportSummary,
    on_bytes: &mut dyn FnMut(u64),
) -> Result<()> {
    let mut file = File::open(path).map_err(LakeError::io("opening", path))?;
    let len = file
        .metadata()
        .map_err(LakeError::io("reading", path))?
        .len();
    let mut head = Vec::with_capacity(FINGERPRINT_BYTES);
    (&mut file)
        .take(FINGERPRINT_BYTES as u64)
        .read_to_end(&mut head)
        .map_err(LakeError::io("reading", path))?;
    let fingerprint = fingerprint(&head);
    let format = match format {
        ArchiveFormat::Auto => detect(&head),
        other => other,
    };
    let start = committed
        .get(&fingerprint)
        .copied()
        .filter(|&o| o <= len)
        .unwrap_or(0);
    summary.bytes_already_imported += start;
    on_bytes(start);
    file.seek(SeekFrom::Start(start))
        .map_err(LakeError::io("seeking", path))?;

    let name = path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    let mut records = Records::new(BufReader::with_capacity(1 << 20, file), format, start);
    let mut record = Vec::new();
    let mut since_progress = 0;
    let now = || lake.clock().now();
    while let Some((line, end)) = records
        .next(&mut record)
        .map_err(LakeError::io("reading", path))?
    {
        on_bytes(end - records.reported);
        records.reported = end;
        let source = format!("{name}:{line}");
        match std::str::from_utf8(&record) {
            Err(e) => sink.push_quarantine(
                &String::from_utf8_lossy(&record),
                "invalid_utf8",
                &format!("not UTF-8 at byte {}", e.valid_up_to()),
                now(),
                Some(&source),
            )?,
            Ok(text) => {
                let decoded = if text.starts_with(|c: char| c.is_ascii_digit()) {
                    decoder.decode_message(text)
                } else {
                    decoder
                        .decode_payload(text)
                        .map(Frame::Event)
                        .map_err(|error| dss_lake_frame::Rejected { raw: text, error })
                };
                match decoded {
                    Ok(Frame::Event(event)) => {
                        sink.push_event(&event, now())?;
                    }
                    Ok(Frame::Heartbeat) => summary.heartbeats += 1,
                    Err(rejected) => sink.push_rejected(&rejected, now(), Some(&source))?,
                }
            }
        }
        since_progress += 1;
        if since_progress == PROGRESS_EVERY {
            sink.progress(&fingerprint, end)?;
            since_progress = 0;
        }
    }
    sink.progress(&fingerprint, len)
}

/// FNV-1a of the archive's head, with its length; stable across runs and platforms.
fn fingerprint(head: &[u8]) -> String {
    let hash = head.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    });
    format!("{hash:016x}-{}", head.len())
}

/// NDJSON when the first object is followed by a newline (or is the whole head), else
/// concatenated. Lines of junk before it (a heartbeat, a bad line) do not count as the object.
fn detect(head: &[u8]) -> ArchiveFormat {
    let mut scanner = ObjectScanner::default();
    for (i, &b) in head.iter().enumerate() {
        if scanner.feed(b) == Step::End {
            if b == b'\n' {
                scanner = ObjectScanner::default();
                continue;
            }
            let next = head[i + 1..]
                .iter()
                .find(|b| !matches!(b, b' ' | b'\t' | b'\r'));
            return match next {
                None | Some(b'\n') => ArchiveFormat::Ndjson,
                _ => ArchiveFormat::Concatenated,
            };
        }
    }
    ArchiveFormat::Ndjson
}

/// Splits an archive into records: lines, or top-level JSON objects.
struct Records<R> {
    reader: R,
    format: ArchiveFormat,
    offset: u64,
    reported: u64,
    record_number: u64,
}

impl<R: BufRead> Records<R> {
    fn new(reader: R, format: ArchiveFormat, offset: u64) -> Self {
        Records {
            reader,
            format,
            offset,
            reported: offset,
            record_number: 0,
        }
    }

    /// The next non-empty record into `out`, with its number and the offset just past it.
    fn next(&mut self, out: &mut Vec<u8>) -> std::io::Result<Option<(u64, u64)>> {
        loop {
            out.clear();
            let read = match self.format {
                ArchiveFormat::Concatenated => self.next_object(out)?,
                _ => self.reader.read_until(b'\n', out)?,
            };
            if read == 0 {
                return Ok(None);
            }
            self.offset += read as u64;
            self.record_number += 1;
            while out.last().is_some_and(|b| b.is_ascii_whitespace()) {
                out.pop();
            }
            let leading = out.iter().take_while(|b| b.is_ascii_whitespace()).count();
            out.drain(..leading);
            if !out.is_empty() {
                return Ok(Some((self.record_number, self.offset)));
            }
        }
    }

    /// Reads one top-level object (or, between objects, one run of junk up to the next `{` or
    /// newline, which then fails to decode and is quarantined). Returns bytes consumed.
    fn next_object(&mut self, out: &mut Vec<u8>) -> std::io::Result<usize> {
        let mut scanner = ObjectScanner::default();
        let mut consumed = 0;
        loop {
            let buf = self.reader.fill_buf()?;
            if buf.is_empty() {
                return Ok(consumed);
            }
            let mut used = 0;
            let mut done = false;
            for &b in buf {
                if scanner.depth == 0 && scanner.in_junk && b == b'{' {
                    done = true; // junk ends where an object starts
                    break;
                }
                used += 1;
                out.push(b);
                if scanner.feed(b) == Step::End {
                    done = true;
                    break;
                }
            }
            self.reader.consume(used);
            consumed += used;
            if done {
                return Ok(consumed);
            }
        }
    }
}

#[derive(Debug, PartialEq, Eq)]
enum Step {
    More,
    End,
}

/// Tracks JSON nesting byte by byte, aware of strings and escapes.
#[derive(Debug, Default)]
struct ObjectScanner {
    depth: usize,
    in_string: bool,
    escaped: bool,
    in_junk: bool,
}

impl ObjectScanner {
    fn feed(&mut self, b: u8) -> Step {
        if self.in_string {
            match (self.escaped, b) {
                (true, _) => self.escaped = false,
                (false, b'\\') => self.escaped = true,
                (false, b'"') => self.in_string = false,
                _ => {}
            }
            return Step::More;
        }
        match b {
            b'"' if self.depth > 0 => self.in_string = true,
            b'{' | b'[' => self.depth += 1,
            b'}' | b']' if self.depth > 0 => {
                self.depth -= 1;
                if self.depth == 0 {
                    return Step::End;
                }
            }
            b'\n' if self.depth == 0 && self.in_junk => return Step::End,
            c if self.depth == 0 && !c.is_ascii_whitespace() => self.in_junk = true,
            _ => {}
        }
        Step::More
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(text: &str, format: ArchiveFormat) -> Vec<String> {
        let mut records = Records::new(text.as_bytes(), format, 0);
        let mut out = Vec::new();
        let mut all = Vec::new();
        while records.next(&mut out).unwrap().is_some() {
            all.push(String::from_utf8(out.clone()).unwrap());
        }
        all
    }

    #[test]
    fn concatenated_objects_split_at_their_braces_even_with_braces_in_strings() {
        let text = r#"{"a":"}{"}{"b":{"c":"\"}"}}  {"d":1}"#;
        assert_eq!(
            split(text, ArchiveFormat::Concatenated),
            [r#"{"a":"}{"}"#, r#"{"b":{"c":"\"}"}}"#, r#"{"d":1}"#]
        );
        assert_eq!(detect(text.as_bytes()), ArchiveFormat::Concatenated);
    }

    #[test]
    fn junk_between_objects_becomes_its_own_record() {
        let text = "{\"a\":1}garbage{\"b\":2}";
        assert_eq!(
            split(text, ArchiveFormat::Concatenated),
            ["{\"a\":1}", "garbage", "{\"b\":2}"]
        );
    }

    #[test]
    fn ndjson_is_detected_and_split_by_line() {
        let text = "{\"a\":1}\n\n{\"b\":\n";
        assert_eq!(detect(text.as_bytes()), ArchiveFormat::Ndjson);
        assert_eq!(split(text, ArchiveFormat::Ndjson), ["{\"a\":1}", "{\"b\":"]);
    }
}
