//! The lake's tables as Delta tables, read back by delta-rs: each table's log names exactly the
//! committed files, once each, with statistics and the stream's position; a commit the log
//! missed is published when the stream reopens, writers of several streams append to one table
//! at once, and a column the contract gained is added to an older table's schema.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use dss_lake_lake::{FlushPolicy, Lake};
use dss_lake_schema::{StreamName, Table, columns, layout};
use dss_lake_test_support::delta::{
    delta_files, delta_protocol, delta_seq_counts, delta_stats, delta_txn,
};
use dss_lake_test_support::lake::table_files;

use super::{fleet_frames, push_frames, seq_counts};

/// The committed (not hidden) data files of `table` on disk, sorted.
fn committed_files(lake: &Path, table: Table) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = table_files(lake, table)
        .into_iter()
        .filter(|f| !layout::is_hidden(&f.name))
        .map(|f| std::path::absolute(f.path).unwrap())
        .collect();
    files.sort();
    files
}

fn once_each(seqs: impl IntoIterator<Item = u64>) -> BTreeMap<u64, usize> {
    seqs.into_iter().map(|seq| (seq, 1)).collect()
}

/// `frames` pushed in flushes of `per_commit`, then closed: one commit per flush.
fn write_in_commits(lake: &Lake, stream: &StreamName, frames: &[String], per_commit: usize) {
    let mut writer = lake.open_stream(stream).unwrap();
    for chunk in frames.chunks(per_commit) {
        push_frames(writer.sink(), chunk).unwrap();
        writer.sink().flush().unwrap();
    }
    writer.close().unwrap();
}

#[test]
fn each_tables_log_names_exactly_its_committed_files_with_stats_and_the_streams_position() {
    let dir = tempfile::tempdir().unwrap();
    let stream = StreamName::parse("plant").unwrap();
    let frames = fleet_frames(400);
    write_in_commits(&Lake::new(dir.path()), &stream, &frames, 100);

    assert_eq!(delta_seq_counts(dir.path()), once_each(1..=400));
    let mut tables_with_files = 0;
    for table in Table::EVENTS {
        let on_disk = committed_files(dir.path(), table);
        assert_eq!(delta_files(dir.path(), table), on_disk, "{table}");
        if on_disk.is_empty() {
            continue;
        }
        tables_with_files += 1;
        // The stream's last commit number, whichever of its commits last touched the table.
        let txn = delta_txn(dir.path(), table, stream.as_str()).unwrap();
        assert!((1..=4).contains(&txn), "{table}: txn {txn}");
        for (path, stats) in delta_stats(dir.path(), table) {
            let stats: serde_json::Value = serde_json::from_str(&stats.unwrap()).unwrap();
            let file = layout::table_dir(dir.path(), table).join(&path);
            let rows = dss_lake_test_support::lake::file_seqs(&file).len();
            assert_eq!(stats["numRecords"], rows, "{table} {path}");
            assert!(stats["minValues"]["seq"].as_u64() <= stats["maxValues"]["seq"].as_u64());
            assert_eq!(stats["nullCount"]["dsn"], 0, "{table} {path}");
        }
    }
    assert!(tables_with_files >= 3, "the fleet fills most event tables");
    // The last commit touched every table the fleet writes most (400 events in 4 commits).
    assert_eq!(
        delta_txn(dir.path(), Table::Datapoint, stream.as_str()),
        Some(4)
    );
    assert_eq!(delta_txn(dir.path(), Table::Datapoint, "another"), None);
    // Delta's base protocol, which every Delta reader opens (the README promises it).
    assert_eq!(delta_protocol(dir.path(), Table::Datapoint), Some((1, 2)));
}

#[test]
fn a_commit_the_log_missed_is_published_once_when_the_stream_reopens() {
    let dir = tempfile::tempdir().unwrap();
    let stream = StreamName::parse("plant").unwrap();
    let frames = fleet_frames(300);
    let lake = Lake::new(dir.path());
    write_in_commits(&lake, &stream, &frames[..200], 100);
    // What a crash between the checkpoint and the logs leaves: the newest entry of every
    // table's log never written.
    for table in Table::EVENTS {
        let log = layout::delta_log_dir(dir.path(), table);
        let newest = fs::read_dir(&log)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "json"))
            .max()
            .unwrap();
        if newest.file_stem().unwrap() != "00000000000000000000" {
            fs::remove_file(newest).unwrap();
        }
    }
    assert_ne!(
        delta_files(dir.path(), Table::Datapoint),
        committed_files(dir.path(), Table::Datapoint)
    );

    write_in_commits(&lake, &stream, &frames[200..], 100);
    assert_eq!(seq_counts(dir.path()), once_each(1..=300));
    assert_eq!(delta_seq_counts(dir.path()), once_each(1..=300));
    for table in Table::EVENTS {
        assert_eq!(
            delta_files(dir.path(), table),
            committed_files(dir.path(), table),
            "{table}"
        );
    }
    // Reopening with nothing missing publishes nothing twice.
    write_in_commits(&lake, &stream, &[], 1);
    assert_eq!(delta_seq_counts(dir.path()), once_each(1..=300));
}

#[test]
fn files_of_a_commit_that_never_landed_are_in_no_log() {
    let dir = tempfile::tempdir().unwrap();
    let stream = StreamName::parse("plant").unwrap();
    let lake = Lake::new(dir.path());
    write_in_commits(&lake, &stream, &fleet_frames(100), 100);
    // A file renamed into view whose checkpoint never landed, and one still in flight.
    let partition = committed_files(dir.path(), Table::Datapoint)[0]
        .parent()
        .unwrap()
        .to_owned();
    let orphan = partition.join(layout::data_file_name(&stream, 500, 600));
    fs::copy(&committed_files(dir.path(), Table::Datapoint)[0], &orphan).unwrap();
    let in_flight = partition.join(layout::in_flight_name(&layout::data_file_name(
        &stream, 601, 700,
    )));
    fs::write(&in_flight, b"PAR1 half").unwrap();

    write_in_commits(&lake, &stream, &[], 1);
    let logged = delta_files(dir.path(), Table::Datapoint);
    assert!(!logged.is_empty());
    assert!(!orphan.exists() && !in_flight.exists());
    assert!(logged.iter().all(|f| f.file_name() != orphan.file_name()));
    assert_eq!(delta_seq_counts(dir.path()), once_each(1..=100));
}

#[test]
fn several_streams_append_to_one_table_at_once_and_every_commit_lands() {
    let dir = tempfile::tempdir().unwrap();
    let lake = Lake::new(dir.path()).with_policy(FlushPolicy {
        max_rows: 25,
        ..FlushPolicy::default()
    });
    let frames = fleet_frames(200);
    let streams: Vec<StreamName> = (0..4)
        .map(|i| StreamName::parse(&format!("line{i}")).unwrap())
        .collect();
    std::thread::scope(|scope| {
        for stream in &streams {
            let (lake, frames) = (&lake, &frames);
            scope.spawn(move || write_in_commits(lake, stream, frames, 50));
        }
    });
    for table in Table::EVENTS {
        assert_eq!(
            delta_files(dir.path(), table),
            committed_files(dir.path(), table),
            "{table}"
        );
    }
    // Each stream stored seqs 1..=200 once: four of each in all.
    let counts = delta_seq_counts(dir.path());
    assert_eq!(counts, (1..=200).map(|seq| (seq, 4)).collect());
    for stream in &streams {
        assert!(delta_txn(dir.path(), Table::Datapoint, stream.as_str()).unwrap() >= 4);
    }
}

/// Makes `<lake>/datapoint` as a release whose contract had no `display_name` would have: the
/// table without that column, and one file without it holding `rows` (of stream `old`).
fn plant_table_without_display_name(lake: &Path, rows: &arrow_array::RecordBatch) -> usize {
    use deltalake_core::kernel::engine::arrow_conversion::TryIntoKernel;
    use deltalake_core::kernel::transaction::{CommitBuilder, TableReference};
    use deltalake_core::kernel::{Action, Add, StructType};
    use deltalake_core::operations::create::CreateBuilder;
    use deltalake_core::protocol::{DeltaOperation, SaveMode};

    let without = |schema: &arrow_schema::Schema| {
        let keep: Vec<usize> = (0..schema.fields().len())
            .filter(|&i| schema.field(i).name() != columns::DISPLAY_NAME)
            .collect();
        keep
    };
    let table_schema = Table::Datapoint.table_schema();
    let old_schema = table_schema.project(&without(&table_schema)).unwrap();
    let old_rows = rows.project(&without(&rows.schema())).unwrap();
    let dir = std::path::absolute(layout::table_dir(lake, Table::Datapoint)).unwrap();
    let partition = dir.join("date=2026-11-24");
    fs::create_dir_all(&partition).unwrap();
    let file = partition.join("legacy-part-0.parquet");
    let mut writer = parquet::arrow::ArrowWriter::try_new(
        fs::File::create(&file).unwrap(),
        old_rows.schema(),
        None,
    )
    .unwrap();
    writer.write(&old_rows).unwrap();
    writer.close().unwrap();
    let size = fs::metadata(&file).unwrap().len() as i64;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let kernel: StructType = (&old_schema).try_into_kernel().unwrap();
        let table = CreateBuilder::new()
            .with_location(url::Url::from_directory_path(&dir).unwrap().as_str())
            .with_columns(kernel.fields().cloned())
            .with_partition_columns([columns::DATE])
            .await
            .unwrap();
        let add = Add {
            path: "date=2026-11-24/legacy-part-0.parquet".to_owned(),
            partition_values: [(columns::DATE.to_owned(), Some("2026-11-24".to_owned()))].into(),
            size,
            modification_time: 0,
            data_change: true,
            ..Add::default()
        };
        let operation = DeltaOperation::Write {
            mode: SaveMode::Append,
            partition_by: Some(vec![columns::DATE.to_owned()]),
            predicate: None,
        };
        let snapshot = table.snapshot().unwrap().clone();
        CommitBuilder::default()
            .with_actions(vec![Action::Add(add)])
            .build(
                Some(&snapshot as &dyn TableReference),
                table.log_store(),
                operation,
            )
            .await
            .unwrap();
    });
    old_rows.num_rows()
}

#[test]
fn a_column_the_contract_added_is_a_schema_evolution_commit_and_old_files_read_it_as_null() {
    let scratch = tempfile::tempdir().unwrap();
    let old = StreamName::parse("old").unwrap();
    write_in_commits(&Lake::new(scratch.path()), &old, &fleet_frames(200), 200);
    let (_, rows) = dss_lake_test_support::lake::table_batches(scratch.path(), Table::Datapoint)
        .into_iter()
        .next()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let old_rows = plant_table_without_display_name(dir.path(), &rows);

    let stream = StreamName::parse("plant").unwrap();
    write_in_commits(&Lake::new(dir.path()), &stream, &fleet_frames(200), 200);

    // deltalake (Python) reads the table as any outside reader would.
    let table = layout::table_dir(dir.path(), Table::Datapoint);
    let script = r#"
import sys, deltalake
dt = deltalake.DeltaTable(sys.argv[1])
assert "display_name" in [f.name for f in dt.schema().fields], dt.schema()
rows = dt.to_pyarrow_table().to_pylist()
old = [r for r in rows if r["stream"] == "old"]
new = [r for r in rows if r["stream"] == "plant"]
assert all(r["display_name"] is None for r in old), old[:3]
assert any(r["display_name"] is not None for r in new), new[:3]
print(len(old), len(new), dt.version())
"#;
    let said = dss_lake_test_support::process::run_ok(
        std::process::Command::new(dss_lake_test_support::python::venv_python("main"))
            .args(["-c", script])
            .arg(&table),
    );
    let counts: Vec<u64> = said
        .split_whitespace()
        .map(|n| n.parse().unwrap())
        .collect();
    assert_eq!(counts[0], old_rows as u64, "{said}");
    assert!(counts[1] > 0, "{said}");
    // Version 0 made the table, 1 added the old file, 2 the column; the appends came after.
    assert!(counts[2] >= 3, "{said}");
}
