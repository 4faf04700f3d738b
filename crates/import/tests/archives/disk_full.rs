//! A lake whose disk fills up during an import: the import fails fast and says why (the OS error
//! and the file), and a re-run after freeing space stores every event exactly once.

use std::fs;
use std::path::{Path, PathBuf};

use dss_lake_frame::{Frame, FrameDecoder};
use dss_lake_import::{ArchiveFormat, import_files};
use dss_lake_lake::{Checkpoint, FlushPolicy, Lake};
use dss_lake_schema::StreamName;

use dss_lake_test_support::delta::seqs_by_stream;
use dss_lake_test_support::lake::assert_exactly_once;
use dss_lake_test_support::tmpfs::Tmpfs;

fn write_archive(dir: &Path, events: usize) -> (PathBuf, Vec<u64>) {
    let frames = dss_lake_fleet::corpus(5, events);
    let mut decoder = FrameDecoder::new();
    let seqs = frames
        .iter()
        .filter_map(|f| match decoder.decode_message(f) {
            Ok(Frame::Event(e)) => Some(e.seq),
            _ => None,
        })
        .collect();
    let path = dir.join("archive.ndjson");
    fs::write(&path, frames.join("\n") + "\n").unwrap();
    (path, seqs)
}

#[test]
fn an_import_on_a_full_disk_names_the_cause_and_the_file_and_a_rerun_stores_each_event_once() {
    let Some(disk) = Tmpfs::mount("4m") else {
        return;
    };
    let work = tempfile::tempdir().unwrap();
    let (archive, sent) = write_archive(work.path(), 20_000);
    let lake = Lake::new(disk.path().join("lake")).with_policy(FlushPolicy {
        max_rows: 2_000,
        ..FlushPolicy::default()
    });
    let stream = StreamName::parse("archive").unwrap();
    let import = || {
        import_files(
            &lake,
            &stream,
            std::slice::from_ref(&archive),
            ArchiveFormat::Auto,
            &mut |_| {},
        )
    };

    // Room for a commit or two (~200 KB each), not for the whole import (~1 MB): the disk
    // fills during the import.
    let filler = disk.fill();
    disk.leave_free(&filler, 500 << 10);
    let error = import().expect_err("the disk is full");
    let message = error.to_string();
    let committed = Checkpoint::load(lake.root(), &stream).unwrap();
    assert!(
        committed.seq.is_some(),
        "the disk filled before the first commit"
    );
    assert!(message.contains("No space left on device"), "{message}");
    assert!(
        message.contains(&disk.path().display().to_string()),
        "no path in: {message}"
    );
    assert!(!message.ends_with("has stopped"), "{message}");

    fs::remove_file(&filler).unwrap();
    import().unwrap();
    let stored = seqs_by_stream(lake.root());
    assert_eq!(stored.keys().collect::<Vec<_>>(), ["archive"]);
    assert_exactly_once("archive", &stored["archive"], sent);
}
