//! What the lake promises about its rows, each pinned by a deterministic case: duplicates are
//! dropped at the boundary, jumps become gap rows, recovery keeps exactly the committed files
//! (its own seq included, other streams' files untouched), files are sorted by the columns they
//! say and partitioned by event date, a progress-only commit keeps the resume point, and the
//! last partial chunk is committed at close.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use arrow_array::cast::AsArray;
use arrow_array::types::{Int64Type, TimestampMicrosecondType};
use arrow_array::{Array, ArrayRef};
use arrow_ord::sort::{SortColumn, lexsort_to_indices};
use arrow_schema::SortOptions;
use dss_lake_frame::{Frame, FrameDecoder};
use dss_lake_lake::{CHUNK_ROWS, Lake, Pushed, SeqRanges};
use dss_lake_schema::{StreamName, Table, layout};
use parquet::file::reader::{FileReader, SerializedFileReader};
use parquet::file::serialized_reader::ReadOptionsBuilder;

use super::{fleet_frames, push_frames, seq_counts, table_batches};

fn stream() -> StreamName {
    StreamName::parse("plant").unwrap()
}

fn once_each(seqs: impl IntoIterator<Item = u64>) -> BTreeMap<u64, usize> {
    seqs.into_iter().map(|seq| (seq, 1)).collect()
}

/// Pushes the frames with these seqs (1-based into `frames`) one at a time.
fn push_seqs(
    sink: &mut dss_lake_lake::StreamSink,
    frames: &[String],
    seqs: impl IntoIterator<Item = u64>,
) -> Vec<Pushed> {
    let mut decoder = FrameDecoder::new();
    seqs.into_iter()
        .map(
            |seq| match decoder.decode_message(&frames[seq as usize - 1]) {
                Ok(Frame::Event(event)) => sink.push_event(&event, 0).unwrap(),
                other => panic!("{other:?}"),
            },
        )
        .collect()
}

#[test]
fn a_live_replay_at_or_below_the_last_seq_is_dropped_within_a_chunk_and_across_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let frames = fleet_frames(20);
    let lake = Lake::new(dir.path());
    let mut writer = lake.open_stream(&stream()).unwrap();
    assert!(
        push_seqs(writer.sink(), &frames, 1..=10)
            .iter()
            .all(|p| *p == Pushed::Stored)
    );
    // The last seq again, and an older one: DSS replays both after a reconnect.
    let replayed = push_seqs(writer.sink(), &frames, [10, 3]);
    assert_eq!(replayed, [Pushed::Duplicate, Pushed::Duplicate]);
    assert_eq!(writer.sink().counts().duplicates, 2);
    writer.close().unwrap();

    let mut writer = lake.open_stream(&stream()).unwrap();
    assert_eq!(writer.opened_at().seq, Some(10));
    // Where a live stream resumes: the checkpoint's seq until something newer arrives.
    assert_eq!(writer.sink().last_seq(), Some(10));
    let after_restart = push_seqs(writer.sink(), &frames, [10, 11]);
    assert_eq!(writer.sink().last_seq(), Some(11));
    assert_eq!(after_restart, [Pushed::Duplicate, Pushed::Stored]);
    writer.close().unwrap();
    assert_eq!(seq_counts(dir.path()), once_each(1..=11));
}

/// The gaps table's rows as (expected_seq, received_seq).
fn gap_rows(lake: &Path) -> Vec<(i64, i64)> {
    let mut rows = Vec::new();
    for (_, batch) in table_batches(lake, Table::Gaps) {
        let column = |name| {
            batch
                .column_by_name(name)
                .unwrap()
                .as_primitive::<Int64Type>()
        };
        let (expected, received) = (column("expected_seq"), column("received_seq"));
        rows.extend((0..batch.num_rows()).map(|i| (expected.value(i), received.value(i))));
    }
    rows.sort_unstable();
    rows
}

#[test]
fn the_sink_counts_each_tables_events_and_the_lake_holds_that_many() {
    let dir = tempfile::tempdir().unwrap();
    let frames = fleet_frames(500);
    let mut writer = Lake::new(dir.path()).open_stream(&stream()).unwrap();
    push_frames(writer.sink(), &frames).unwrap();
    let counts = writer.sink().counts().clone();
    writer.close().unwrap();
    assert_eq!(counts.total_events(), 500);
    for table in Table::EVENTS {
        let stored: usize = table_batches(dir.path(), table)
            .iter()
            .map(|(_, b)| b.num_rows())
            .sum();
        assert!(stored > 0, "the fleet sends {table} events");
        assert_eq!(counts.events_in(table), stored as u64, "{table}");
    }
}

#[test]
fn a_frame_whose_length_prefix_is_wrong_is_stored_and_counted() {
    let dir = tempfile::tempdir().unwrap();
    let mut frames = fleet_frames(3);
    let (_, payload) = frames[1].split_once('|').unwrap();
    frames[1] = format!("{}|{payload}", payload.len() + 7);
    let mut writer = Lake::new(dir.path()).open_stream(&stream()).unwrap();
    push_frames(writer.sink(), &frames).unwrap();
    assert_eq!(writer.sink().counts().length_mismatches, 1);
    writer.close().unwrap();
    assert_eq!(seq_counts(dir.path()), once_each(1..=3));
}

#[test]
fn an_import_counts_each_hole_it_reports_once() {
    let dir = tempfile::tempdir().unwrap();
    let frames = fleet_frames(12);
    let kept: Vec<&str> = frames
        .iter()
        .enumerate()
        .filter(|(i, _)| ![3, 4, 7].contains(i))
        .map(|(_, f)| f.split_once('|').unwrap().1)
        .collect();
    let archive = dir.path().join("holes.ndjson");
    fs::write(&archive, kept.join("\n")).unwrap();
    let summary = dss_lake_import::import_files(
        &Lake::new(dir.path().join("lake")),
        &stream(),
        &[archive],
        dss_lake_import::ArchiveFormat::Auto,
        &mut |_| {},
    )
    .unwrap();
    assert_eq!(summary.counts.gaps, 2, "{summary:?}");
    assert_eq!(gap_rows(&dir.path().join("lake")), [(4, 6), (8, 9)]);
}

#[test]
fn a_live_jump_in_seq_is_one_gap_row_and_the_checkpoint_accounts_for_it() {
    let dir = tempfile::tempdir().unwrap();
    let frames = fleet_frames(20);
    let lake = Lake::new(dir.path());
    let mut writer = lake.open_stream(&stream()).unwrap();
    push_seqs(writer.sink(), &frames, (1..=5).chain(9..=10));
    assert_eq!(writer.sink().counts().gaps, 1);
    let checkpoint = writer.close().unwrap();
    assert_eq!(gap_rows(dir.path()), [(6, 9)]);
    // Named for the seqs it reports, which is what recovery reads off the name.
    let gaps_file = table_batches(dir.path(), Table::Gaps).remove(0).0;
    assert_eq!(
        gaps_file.file_name().unwrap(),
        &*layout::data_file_name(&stream(), 6, 9)
    );
    let mut committed = SeqRanges::from_range(1, 5);
    committed.insert_range(9, 10);
    assert_eq!(checkpoint.committed, committed);
    assert_eq!(checkpoint.accounted, SeqRanges::from_range(1, 10));

    // A jump right after a restart counts from the checkpoint.
    let mut writer = lake.open_stream(&stream()).unwrap();
    push_seqs(writer.sink(), &frames, [13]);
    writer.close().unwrap();
    assert_eq!(gap_rows(dir.path()), [(6, 9), (11, 13)]);
}

/// Copies any committed file of `table` under the name of `stream`'s commit `first..=last`,
/// as a crash between a commit's renames and its checkpoint leaves it.
fn plant_file(
    lake: &Path,
    table: Table,
    stream: &StreamName,
    first: u64,
    last: u64,
) -> std::path::PathBuf {
    let (source, _) = table_batches(lake, table).remove(0);
    let target = source.with_file_name(layout::data_file_name(stream, first, last));
    fs::copy(&source, &target).unwrap();
    target
}

#[test]
fn recovery_keeps_the_commit_that_ends_at_the_checkpoint_and_removes_the_one_after_it() {
    let dir = tempfile::tempdir().unwrap();
    let frames = fleet_frames(20);
    let lake = Lake::new(dir.path());
    let mut writer = lake.open_stream(&stream()).unwrap();
    push_seqs(writer.sink(), &frames, 1..=10);
    writer.sink().flush().unwrap();
    // A commit of the checkpoint's own seq alone: its file is named `plant-11-11`.
    let last = push_seqs(writer.sink(), &frames, [11]);
    assert_eq!(last, [Pushed::Stored]);
    let commit = writer.sink().flush().unwrap();
    assert_eq!(commit.checkpoint.seq, Some(11));
    let own = commit.files[0].path.clone();
    assert_eq!(
        own.file_name().unwrap(),
        &*layout::data_file_name(&stream(), 11, 11)
    );
    writer.close().unwrap();

    let table = commit.files[0].table;
    let next = plant_file(dir.path(), table, &stream(), 12, 12);
    let writer = lake.open_stream(&stream()).unwrap();
    assert_eq!(writer.recovery().rolled_back, vec![next.clone()]);
    assert!(writer.recovery().removed_in_flight.is_empty());
    writer.close().unwrap();
    assert!(own.exists() && !next.exists());
    assert_eq!(seq_counts(dir.path()), once_each(1..=11));

    // The same boundary read from a checkpoint of the old format (only `seq`).
    let checkpoint = layout::checkpoint_path(dir.path(), &stream());
    fs::write(&checkpoint, r#"{"seq": 11, "commits": 2}"#).unwrap();
    let next = plant_file(dir.path(), table, &stream(), 12, 12);
    let writer = lake.open_stream(&stream()).unwrap();
    assert_eq!(writer.recovery().rolled_back, vec![next.clone()]);
    writer.close().unwrap();
    assert!(own.exists() && !next.exists());
}

#[test]
fn recovery_removes_a_file_that_fills_a_reported_gap_until_its_commit_lands() {
    let dir = tempfile::tempdir().unwrap();
    let frames = fleet_frames(20);
    let lake = Lake::new(dir.path());
    let mut writer = lake.open_stream(&stream()).unwrap();
    push_seqs(writer.sink(), &frames, (1..=5).chain(9..=10));
    writer.close().unwrap();
    // An import filling 6..=8 crashed between its renames and its checkpoint: those seqs are
    // accounted for (reported missing) but not committed, so the file must go, or a re-run of
    // the import would store them twice.
    let filler = plant_file(dir.path(), Table::Datapoint, &stream(), 6, 8);
    let writer = lake.open_stream(&stream()).unwrap();
    assert_eq!(writer.recovery().rolled_back, vec![filler]);
    writer.close().unwrap();
}

#[test]
fn recovery_keeps_every_committed_quarantine_file_and_removes_the_uncommitted_one() {
    let dir = tempfile::tempdir().unwrap();
    let lake = Lake::new(dir.path());
    let mut writer = lake.open_stream(&stream()).unwrap();
    let mut decoder = FrameDecoder::new();
    // Quarantine files carry no seq: they are named for their commit's number instead.
    let mut quarantine_files = Vec::new();
    for _ in 0..3 {
        let Err(rejected) = decoder.decode_message("5|{bad}") else {
            panic!("accepted a bad frame");
        };
        writer.sink().push_rejected(&rejected, 0, None).unwrap();
        quarantine_files.extend(writer.sink().flush().unwrap().files);
    }
    let checkpoint = writer.close().unwrap();
    assert_eq!((checkpoint.commits, quarantine_files.len()), (3, 3));
    let committed = &quarantine_files[0].path;
    let next = committed.with_file_name(layout::commit_file_name(&stream(), 4));
    fs::copy(committed, &next).unwrap();

    let writer = lake.open_stream(&stream()).unwrap();
    assert_eq!(writer.recovery().rolled_back, vec![next]);
    writer.close().unwrap();
    assert!(quarantine_files.iter().all(|f| f.path.exists()));
}

#[test]
fn a_table_folder_that_cannot_be_listed_stops_the_open_instead_of_being_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let location = layout::table_dir(dir.path(), Table::Location);
    fs::write(&location, "not a folder").unwrap();
    let error = Lake::new(dir.path())
        .open_stream(&stream())
        .unwrap_err()
        .to_string();
    assert!(error.contains(location.to_str().unwrap()), "{error}");
}

#[test]
fn a_checkpoint_that_cannot_be_read_stops_the_open_instead_of_starting_over() {
    let dir = tempfile::tempdir().unwrap();
    let lake = Lake::new(dir.path());
    let mut writer = lake.open_stream(&stream()).unwrap();
    push_frames(writer.sink(), &fleet_frames(5)).unwrap();
    writer.close().unwrap();
    // Unreadable, not missing: starting from an empty checkpoint would take every seq again.
    let checkpoint = layout::checkpoint_path(dir.path(), &stream());
    fs::remove_file(&checkpoint).unwrap();
    fs::create_dir(&checkpoint).unwrap();
    let error = lake.open_stream(&stream()).unwrap_err().to_string();
    assert!(error.contains(checkpoint.to_str().unwrap()), "{error}");
}

#[test]
fn recovery_touches_no_file_of_another_stream_in_flight_or_committed() {
    let dir = tempfile::tempdir().unwrap();
    let lake = Lake::new(dir.path());
    let mut writer = lake.open_stream(&stream()).unwrap();
    push_frames(writer.sink(), &fleet_frames(30)).unwrap();
    writer.close().unwrap();
    let other = StreamName::parse("plant2").unwrap();
    let committed = plant_file(dir.path(), Table::Datapoint, &other, 1, 30);
    let in_flight = committed.with_file_name(layout::in_flight_name(&layout::data_file_name(
        &other, 31, 40,
    )));
    fs::write(&in_flight, b"PAR1 half").unwrap();

    let writer = lake.open_stream(&stream()).unwrap();
    assert_eq!(writer.recovery(), &Default::default());
    writer.close().unwrap();
    assert!(committed.exists() && in_flight.exists());
}

/// Whether the rows are in order by `columns` (ascending, nulls first): sorting them by those
/// columns changes none of those columns' values.
fn sorted_by(columns: &[ArrayRef]) -> bool {
    let options = Some(SortOptions {
        descending: false,
        nulls_first: true,
    });
    let keys: Vec<SortColumn> = columns
        .iter()
        .map(|values| SortColumn {
            values: values.clone(),
            options,
        })
        .collect();
    let order = lexsort_to_indices(&keys, None).unwrap();
    columns.iter().all(|column| {
        let resorted = arrow_select::take::take(column.as_ref(), &order, None).unwrap();
        resorted.to_data() == column.to_data()
    })
}

/// An archive newest first: arrival order then runs against every file's time order, so only
/// a sort by all the named columns puts the rows right.
fn reversed_archive(dir: &Path, frames: &[String]) -> std::path::PathBuf {
    let payloads: Vec<&str> = frames
        .iter()
        .rev()
        .map(|f| f.split_once('|').unwrap().1)
        .collect();
    let path = dir.join("reversed.ndjson");
    fs::write(&path, payloads.join("\n")).unwrap();
    path
}

#[test]
fn every_file_is_sorted_by_the_columns_it_names_and_partitioned_by_event_date() {
    let dir = tempfile::tempdir().unwrap();
    let frames = fleet_frames(3_000);
    let archive = reversed_archive(dir.path(), &frames);
    let lake = Lake::new(dir.path().join("lake"));
    dss_lake_import::import_files(
        &lake,
        &stream(),
        &[archive],
        dss_lake_import::ArchiveFormat::Auto,
        &mut |_| {},
    )
    .unwrap();

    let mut rows = 0;
    let mut dates = std::collections::BTreeSet::new();
    for table in Table::EVENTS {
        for (path, batch) in table_batches(lake.root(), table) {
            rows += batch.num_rows();
            let reader = SerializedFileReader::new(fs::File::open(&path).unwrap()).unwrap();
            let metadata = reader.metadata();
            let schema = metadata.file_metadata().schema_descr();
            let named: Vec<String> = metadata
                .row_group(0)
                .sorting_columns()
                .expect("sorting columns recorded")
                .iter()
                .map(|c| schema.column(c.column_idx as usize).name().to_owned())
                .collect();
            assert!(
                named.len() >= 2 && named.last().unwrap() == "seq",
                "{path:?}: {named:?}"
            );
            let declared = metadata
                .file_metadata()
                .key_value_metadata()
                .and_then(|kv| kv.iter().find(|kv| kv.key == "dss_lake.sort_order"))
                .and_then(|kv| kv.value.clone());
            assert_eq!(declared, Some(named.join(",")), "{path:?}");
            let columns: Vec<ArrayRef> = named
                .iter()
                .map(|name| batch.column_by_name(name).unwrap().clone())
                .collect();
            assert!(sorted_by(&columns), "{path:?} is not sorted by {named:?}");
            // Page statistics let a reader skip pages of a sorted file, not only row groups.
            let options = ReadOptionsBuilder::new().with_page_index().build();
            let indexed =
                SerializedFileReader::new_with_options(fs::File::open(&path).unwrap(), options)
                    .unwrap();
            assert!(
                indexed.metadata().column_index().is_some(),
                "{path:?}: no page index"
            );

            let folder = path
                .parent()
                .unwrap()
                .file_name()
                .unwrap()
                .to_str()
                .unwrap();
            dates.insert(folder.to_owned());
            let time = table.event_time_columns()[0];
            let times = batch
                .column_by_name(time)
                .unwrap()
                .as_primitive::<TimestampMicrosecondType>();
            for row in 0..batch.num_rows() {
                let micros = if times.is_valid(row) {
                    times.value(row)
                } else {
                    continue;
                };
                let day = micros.div_euclid(86_400_000_000) as i32;
                assert_eq!(layout::date_partition(day), folder, "{path:?} row {row}");
            }
        }
    }
    assert_eq!(rows, frames.len(), "every event read back");
    assert_eq!(dates.len(), 2, "the events cross midnight: {dates:?}");
}

#[test]
fn a_commit_of_archive_progress_alone_keeps_the_resume_point() {
    let dir = tempfile::tempdir().unwrap();
    let lake = Lake::new(dir.path());
    let mut writer = lake.open_stream(&stream()).unwrap();
    push_frames(writer.sink(), &fleet_frames(20)).unwrap();
    writer.sink().flush().unwrap();
    writer
        .sink()
        .progress("archive-fingerprint", 4_096)
        .unwrap();
    let commit = writer.sink().flush().unwrap();
    assert!(commit.files.is_empty());
    assert_eq!(commit.checkpoint.seq, Some(20));
    assert_eq!(commit.checkpoint.committed, SeqRanges::from_range(1, 20));
    assert_eq!(commit.checkpoint.sources["archive-fingerprint"], 4_096);
    writer.close().unwrap();
    let reopened = lake.open_stream(&stream()).unwrap();
    assert_eq!(reopened.opened_at(), &commit.checkpoint);
    reopened.close().unwrap();
}

#[test]
fn closing_commits_the_last_partial_chunk_of_events_and_of_quarantine() {
    let dir = tempfile::tempdir().unwrap();
    let count = CHUNK_ROWS + 7;
    let lake = Lake::new(dir.path());
    let mut writer = lake.open_stream(&stream()).unwrap();
    push_frames(writer.sink(), &fleet_frames(count)).unwrap();
    let mut decoder = FrameDecoder::new();
    let Err(rejected) = decoder.decode_message("5|{bad}") else {
        panic!("accepted a bad frame");
    };
    writer.sink().push_rejected(&rejected, 0, None).unwrap();
    let checkpoint = writer.close().unwrap();
    assert_eq!(checkpoint.seq, Some(count as u64));
    assert_eq!(seq_counts(dir.path()), once_each(1..=count as u64));
    let quarantined: usize = table_batches(dir.path(), Table::Quarantine)
        .iter()
        .map(|(_, b)| b.num_rows())
        .sum();
    assert_eq!(quarantined, 1);

    // Fewer than one chunk, with no flush at all.
    let dir = tempfile::tempdir().unwrap();
    let mut writer = Lake::new(dir.path()).open_stream(&stream()).unwrap();
    push_frames(writer.sink(), &fleet_frames(3)).unwrap();
    writer.close().unwrap();
    assert_eq!(seq_counts(dir.path()), once_each(1..=3));
}
