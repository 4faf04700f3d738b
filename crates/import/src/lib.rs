//! `dss-lake import`: archived events into the lake, through the same sink and writer as live
//! ingest, so an archive gets the same exactly-once guarantee.
//!
//! It owns everything about archives: their formats and how to tell them apart
//! ([`ArchiveFormat`], `archive.rs`), their fingerprints, and the DSS Collector's one-file-per-
//! event-type layout. It does not decode frames (the decoder does), write files or decide what
//! is a duplicate (the lake does, with its importer's rule), and it never touches the network.
//!
//! Two archive formats: NDJSON (one event per line; a line may also be a raw `<LEN>|<json>`
//! frame) and what Ayla's Node.js DSS Collector writes, JSON objects appended back to back with
//! no separator. Each archive is identified by a fingerprint of its first 64 KiB, and the
//! checkpoint remembers how many of its bytes are committed: importing it again skips them
//! (events would be dropped as duplicates anyway, but quarantined lines have no `seq`).
//!
//! Files and the events in them may come in any order: a seq is skipped only when it is in the
//! checkpoint's committed set or earlier in the same import (the lake's importer rule), and
//! gaps are decided once everything is read. The Collector writes one file per event type of a stream,
//! each holding every Nth seq of one sequence, so no other rule would take all of them.

use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;

use dss_lake_frame::{Frame, FrameDecoder};
use dss_lake_schema::StreamName;

use dss_lake_lake::{DedupeReport, Lake, LakeError, Result, SinkCounts, StreamSink};

mod archive;

pub use archive::{ArchiveFormat, UnknownArchiveFormat};
use archive::{Records, detect, fingerprint};

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
