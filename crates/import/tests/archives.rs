//! Archives in any order (issue 13): DSS Collector files (one per event type of a stream, one
//! seq sequence interleaved across them) imported in every order, older archives after newer
//! ones, re-imports, two streams, repeated seqs, a checkpoint of the old format and a crash
//! leftover below the high-water mark. Every check reads the seqs back from the Parquet files
//! and compares them with the exact set in the archives. `formats` covers one archive at a time:
//! its format, fingerprint, byte marks and quarantine.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

use arrow_array::cast::AsArray;
use arrow_array::types::Int64Type;
use dss_lake_import::{ArchiveFormat, ImportSummary, import_files};
use dss_lake_lake::{Checkpoint, FlushPolicy, Lake};
use dss_lake_schema::{StreamName, Table, columns, layout};
use dss_lake_test_support::delta::seqs_by_stream;
use dss_lake_test_support::lake::assert_exactly_once;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

#[path = "archives/disk_full.rs"]
mod disk_full;
#[path = "archives/formats.rs"]
mod formats;

/// The corpus's events, minus every 37th seq (the events a Collector mis-parses and drops), so
/// the archives have real holes that `gaps` must show.
fn events(seed: u64, count: usize) -> BTreeMap<u64, String> {
    dss_lake_fleet::corpus(seed, count)
        .into_iter()
        .map(|frame| frame.split_once('|').unwrap().1.to_owned())
        .map(|payload| (seq_of(&payload), payload))
        .filter(|(seq, _)| seq % 37 != 0)
        .collect()
}

fn seq_of(payload: &str) -> u64 {
    let value: serde_json::Value = serde_json::from_str(payload).unwrap();
    value["seq"].as_str().unwrap().parse().unwrap()
}

/// What the Collector writes for stream `id`: `ES<id>-<event_type>.json`, objects back to back.
fn collector_files(dir: &Path, id: u32, events: &BTreeMap<u64, String>) -> Vec<PathBuf> {
    let mut by_type: BTreeMap<String, String> = BTreeMap::new();
    for payload in events.values() {
        let value: serde_json::Value = serde_json::from_str(payload).unwrap();
        let event_type = value["metadata"]["event_type"].as_str().unwrap().to_owned();
        by_type.entry(event_type).or_default().push_str(payload);
    }
    by_type
        .into_iter()
        .map(|(event_type, text)| {
            let path = dir.join(format!("ES{id}-{event_type}.json"));
            fs::write(&path, text).unwrap();
            path
        })
        .collect()
}

/// Small commits, so that every import commits several times part-way through its files.
fn lake(root: PathBuf) -> Lake {
    Lake::new(root).with_policy(FlushPolicy {
        max_rows: 150,
        ..FlushPolicy::default()
    })
}

fn import(lake: &Lake, stream: &str, paths: &[PathBuf]) -> ImportSummary {
    let stream = StreamName::parse(stream).unwrap();
    import_files(lake, &stream, paths, ArchiveFormat::Auto, &mut |_| {}).unwrap()
}

/// Every `column` value of `stream`'s committed files of `table`.
fn column_values(lake: &Path, stream: &str, table: Table, column: &str) -> Vec<i64> {
    let mut values = Vec::new();
    let Ok(partitions) = fs::read_dir(layout::table_dir(lake, table)) else {
        return values;
    };
    for partition in partitions.map(|p| p.unwrap()) {
        if !layout::is_date_partition(&partition.file_name().to_string_lossy()) {
            continue;
        }
        for file in fs::read_dir(partition.path()).unwrap() {
            let path = file.unwrap().path();
            let name = path.file_name().unwrap().to_str().unwrap().to_owned();
            assert!(!layout::is_hidden(&name), "leftover {name}");
            if layout::parse_file_name(&name).unwrap().0.as_str() != stream {
                continue;
            }
            let reader = ParquetRecordBatchReaderBuilder::try_new(fs::File::open(&path).unwrap())
                .unwrap()
                .build()
                .unwrap();
            for batch in reader {
                let batch = batch.unwrap();
                let array = batch.column_by_name(column).unwrap();
                values.extend(array.as_primitive::<Int64Type>().iter().flatten());
            }
        }
    }
    values
}

/// Every event seq of `stream` in the lake, sorted; a seq stored twice appears twice.
fn stored_seqs(lake: &Path, stream: &str) -> Vec<u64> {
    seqs_by_stream(lake).remove(stream).unwrap_or_default()
}

/// Every seq the `gaps` rows of `stream` report missing, sorted; reported twice appears twice.
fn reported_missing(lake: &Path, stream: &str) -> Vec<u64> {
    let expected = column_values(lake, stream, Table::Gaps, columns::EXPECTED_SEQ);
    let received = column_values(lake, stream, Table::Gaps, columns::RECEIVED_SEQ);
    let mut seqs: Vec<u64> = expected
        .iter()
        .zip(&received)
        .flat_map(|(&e, &r)| e as u64..r as u64)
        .collect();
    seqs.sort_unstable();
    seqs
}

/// The seqs between the lowest and the highest of `seqs` that it lacks.
fn holes(seqs: &BTreeSet<u64>) -> Vec<u64> {
    let (Some(&low), Some(&high)) = (seqs.first(), seqs.last()) else {
        return Vec::new();
    };
    (low..=high).filter(|s| !seqs.contains(s)).collect()
}

fn assert_exactly(lake: &Path, stream: &str, events: &BTreeMap<u64, String>, context: &str) {
    let expected: Vec<u64> = events.keys().copied().collect();
    assert_exactly_once(
        &format!("{context}: {stream}"),
        &stored_seqs(lake, stream),
        expected.iter().copied(),
    );
    let checkpoint = Checkpoint::load(lake, &StreamName::parse(stream).unwrap()).unwrap();
    assert_eq!(checkpoint.seq, expected.last().copied(), "{context}");
    assert_eq!(
        checkpoint.committed.len(),
        expected.len() as u64,
        "{context}"
    );
}

fn permutations(items: &[PathBuf]) -> Vec<Vec<PathBuf>> {
    if items.len() <= 1 {
        return vec![items.to_vec()];
    }
    let mut all = Vec::new();
    for i in 0..items.len() {
        let mut rest = items.to_vec();
        let first = rest.remove(i);
        for mut tail in permutations(&rest) {
            tail.insert(0, first.clone());
            all.push(tail);
        }
    }
    all
}

#[test]
fn a_collector_archive_imported_in_every_order_stores_every_event_once_and_only_real_gaps() {
    let dir = tempfile::tempdir().unwrap();
    let events = events(7, 600);
    let files = collector_files(dir.path(), 1, &events);
    assert!(files.len() >= 4, "the corpus has several event types");
    let keys: BTreeSet<u64> = events.keys().copied().collect();
    for (n, order) in permutations(&files).into_iter().enumerate() {
        let root = dir.path().join(format!("lake{n}"));
        let lake = lake(root.clone());
        let summary = import(&lake, "es1", &order);
        let context = format!("order {order:?}");
        assert_eq!(
            summary.counts.total_events(),
            events.len() as u64,
            "{context}"
        );
        assert_eq!(summary.counts.duplicates, 0, "{context}");
        assert_exactly(&root, "es1", &events, &context);
        // Only the Collector's real holes, each once, however the files interleave.
        assert_eq!(reported_missing(&root, "es1"), holes(&keys), "{context}");
        fs::remove_dir_all(&root).unwrap();
    }
}

#[test]
fn collector_files_imported_one_run_each_in_every_order_store_every_event_once() {
    let dir = tempfile::tempdir().unwrap();
    let events = events(8, 400);
    let files = collector_files(dir.path(), 1, &events);
    let keys: BTreeSet<u64> = events.keys().copied().collect();
    for (n, order) in permutations(&files).into_iter().enumerate().step_by(7) {
        let root = dir.path().join(format!("lake{n}"));
        let lake = lake(root.clone());
        let mut filled = 0;
        for file in &order {
            let summary = import(&lake, "es1", std::slice::from_ref(file));
            assert_eq!(summary.counts.duplicates, 0, "{file:?}");
            filled += summary.dedupe.gaps_filled;
        }
        let context = format!("order {order:?}");
        assert_exactly(&root, "es1", &events, &context);
        // A run sees holes that a later file fills: each seq is reported at most once, every
        // real hole is reported, and the rest are exactly what later runs counted as filled.
        let missing = reported_missing(&root, "es1");
        let distinct: BTreeSet<u64> = missing.iter().copied().collect();
        assert_eq!(missing.len(), distinct.len(), "{context}: reported twice");
        let real = holes(&keys);
        assert!(real.iter().all(|s| distinct.contains(s)), "{context}");
        let filled_in: Vec<&u64> = distinct.iter().filter(|s| keys.contains(s)).collect();
        assert_eq!(filled_in.len() as u64, filled, "{context}");
        fs::remove_dir_all(&root).unwrap();
    }
}

/// Yesterday's and today's archive of one stream, as NDJSON.
fn daily_archives(dir: &Path, events: &BTreeMap<u64, String>) -> [PathBuf; 2] {
    let split = events.keys().nth(events.len() / 2).copied().unwrap();
    let yesterday = dir.join("yesterday.ndjson");
    let today = dir.join("today.ndjson");
    let lines = |keep: &dyn Fn(u64) -> bool| -> String {
        let chosen = events.iter().filter(|(s, _)| keep(**s));
        chosen.map(|(_, p)| format!("{p}\n")).collect()
    };
    fs::write(&yesterday, lines(&|s| s < split)).unwrap();
    fs::write(&today, lines(&|s| s >= split)).unwrap();
    [yesterday, today]
}

#[test]
fn an_older_archive_imported_after_a_newer_one_is_stored_in_full_and_a_reimport_adds_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let events = events(9, 1_000);
    let [yesterday, today] = daily_archives(dir.path(), &events);
    let root = dir.path().join("lake");
    let lake = lake(root.clone());
    let first = import(&lake, "s", std::slice::from_ref(&today));
    let second = import(&lake, "s", std::slice::from_ref(&yesterday));
    assert_eq!(
        first.counts.total_events() + second.counts.total_events(),
        events.len() as u64
    );
    assert_eq!(second.counts.duplicates, 0);
    assert_exactly(&root, "s", &events, "yesterday after today");
    let keys: BTreeSet<u64> = events.keys().copied().collect();
    assert_eq!(reported_missing(&root, "s"), holes(&keys), "no bogus gaps");

    let again = import(&lake, "s", &[today.clone(), yesterday.clone()]);
    assert_eq!(again.counts.total_events(), 0);
    assert_eq!(again.files_written, 0);
    assert_eq!(
        again.bytes_already_imported,
        fs::metadata(&today).unwrap().len() + fs::metadata(&yesterday).unwrap().len()
    );

    // The same events, newest first, in a file the checkpoint has not seen (a file that starts
    // like an imported one is taken for it grown by appends, as the Collector's files grow):
    // every event is a real duplicate, and the summary names them.
    let both = dir.path().join("both.ndjson");
    let text = fs::read_to_string(&yesterday).unwrap() + &fs::read_to_string(&today).unwrap();
    let reversed: Vec<&str> = text.lines().rev().collect();
    fs::write(&both, reversed.join("\n")).unwrap();
    let copy = import(&lake, "s", &[both]);
    assert_eq!(copy.counts.total_events(), 0);
    assert_eq!(copy.counts.duplicates, events.len() as u64);
    assert_eq!(copy.dedupe.in_lake.len(), events.len() as u64);
    assert_eq!(copy.dedupe.repeated, 0);
    assert_eq!(copy.counts.gaps, 0);
    assert_exactly(&root, "s", &events, "after the copy");
    assert_eq!(reported_missing(&root, "s"), holes(&keys));
}

#[test]
fn a_second_streams_archive_under_another_name_is_stored_apart_in_full() {
    let dir = tempfile::tempdir().unwrap();
    let (one, two) = (events(10, 500), events(11, 700));
    let files_one = collector_files(dir.path(), 1, &one);
    let files_two = collector_files(dir.path(), 2, &two);
    let root = dir.path().join("lake");
    let lake = lake(root.clone());
    import(&lake, "es1", &files_one);
    let summary = import(&lake, "es2", &files_two);
    assert_eq!(summary.counts.duplicates, 0, "es1's seqs are not es2's");
    assert_eq!(summary.counts.total_events(), two.len() as u64);
    assert_exactly(&root, "es1", &one, "es1");
    assert_exactly(&root, "es2", &two, "es2");
}

#[test]
fn a_seq_twice_in_one_import_is_stored_once_and_counted_as_repeated() {
    let dir = tempfile::tempdir().unwrap();
    let events = events(12, 300);
    let files = collector_files(dir.path(), 1, &events);
    // The first file twice under another name, and one of its events twice inside it.
    let doubled = dir.path().join("doubled.json");
    let text = fs::read_to_string(&files[0]).unwrap();
    let first_event = &events[&seq_of_first(&text)];
    fs::write(&doubled, format!("{first_event}{text}x")).unwrap();
    let mut all = files.clone();
    all.push(doubled);
    let root = dir.path().join("lake");
    let summary = import(&lake(root.clone()), "es1", &all);
    let in_first = text.matches(r#"{"seq""#).count() as u64;
    assert_eq!(summary.dedupe.repeated, in_first + 1);
    assert!(summary.dedupe.in_lake.is_empty());
    assert_eq!(summary.counts.duplicates, in_first + 1);
    assert_eq!(summary.counts.quarantined, 1, "the stray byte");
    assert_exactly(&root, "es1", &events, "repeated seqs");
}

fn seq_of_first(text: &str) -> u64 {
    let end = text.find("}{").map_or(text.len(), |i| i + 1);
    let mut stream = serde_json::Deserializer::from_str(&text[..end]).into_iter();
    let value: serde_json::Value = stream.next().unwrap().unwrap();
    value["seq"].as_str().unwrap().parse().unwrap()
}

#[test]
fn a_checkpoint_of_the_old_format_is_upgraded_and_what_the_old_importer_skipped_comes_in() {
    let dir = tempfile::tempdir().unwrap();
    let events = events(13, 500);
    let files = collector_files(dir.path(), 1, &events);
    let root = dir.path().join("lake");
    let lake = lake(root.clone());
    let stream = StreamName::parse("es1").unwrap();
    // What the old importer left: the first file's events, and a checkpoint with its highest
    // seq only (every other file's seqs fell below it and were skipped).
    import(&lake, "es1", &files[..1]);
    let old = Checkpoint::load(&root, &stream).unwrap();
    let path = layout::checkpoint_path(&root, &stream);
    let old_json = format!(
        r#"{{"seq": {}, "commits": {}}}"#,
        old.seq.unwrap(),
        old.commits
    );
    fs::write(&path, old_json).unwrap();
    // A commit of the old importer that crashed before its checkpoint: above the old mark.
    let leftover_dir = layout::table_dir(&root, Table::Datapoint).join("date=2020-01-01");
    fs::create_dir_all(&leftover_dir).unwrap();
    let leftover = leftover_dir.join(layout::data_file_name(&stream, 9_999, 10_001));
    fs::write(&leftover, b"PAR1 of a commit that never landed").unwrap();

    let summary = import(&lake, "es1", &files);
    assert!(!leftover.exists(), "recovery used the old rule first");
    let in_first: BTreeSet<u64> = stored_in(&files[0]);
    assert_eq!(summary.dedupe.in_lake.len(), in_first.len() as u64);
    assert_eq!(
        summary.counts.total_events(),
        (events.len() - in_first.len()) as u64
    );
    assert_exactly(&root, "es1", &events, "after the upgrade");
    let upgraded = fs::read_to_string(&path).unwrap();
    assert!(upgraded.contains("\"committed\""), "{upgraded}");
}

fn stored_in(file: &Path) -> BTreeSet<u64> {
    let text = fs::read_to_string(file).unwrap();
    serde_json::Deserializer::from_str(&text)
        .into_iter::<serde_json::Value>()
        .map(|v| v.unwrap()["seq"].as_str().unwrap().parse().unwrap())
        .collect()
}

#[test]
fn a_leftover_commit_below_the_high_water_mark_is_rolled_back_not_kept() {
    // The old recovery kept any file whose first seq was at or below the checkpoint's; with
    // archives in any order, a crashed commit of older seqs is exactly such a file.
    let dir = tempfile::tempdir().unwrap();
    let events = events(14, 800);
    let [yesterday, today] = daily_archives(dir.path(), &events);
    let root = dir.path().join("lake");
    let lake = lake(root.clone());
    import(&lake, "s", std::slice::from_ref(&today));
    // A complete file of yesterday's seqs, written as a crashed commit would have left it.
    let scratch = dir.path().join("scratch");
    import(
        &self::lake(scratch.clone()),
        "s",
        std::slice::from_ref(&yesterday),
    );
    let table_dir = layout::table_dir(&scratch, Table::Datapoint);
    let partition = fs::read_dir(&table_dir)
        .unwrap()
        .map(|p| p.unwrap())
        .find(|p| layout::is_date_partition(&p.file_name().to_string_lossy()))
        .unwrap();
    let file = fs::read_dir(partition.path())
        .unwrap()
        .next()
        .unwrap()
        .unwrap();
    let target = layout::table_dir(&root, Table::Datapoint).join(partition.file_name());
    fs::create_dir_all(&target).unwrap();
    let orphan = target.join(file.file_name());
    fs::copy(file.path(), &orphan).unwrap();

    import(&lake, "s", std::slice::from_ref(&yesterday));
    assert_exactly(&root, "s", &events, "after the rollback");
}
