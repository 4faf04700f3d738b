//! What a table's Delta log says, read by delta-rs (`deltalake-core`), not by the lake crate:
//! the files a Delta reader (Spark, DuckDB `delta_scan`, polars, `deltalake`) would read, the
//! stream positions (`txn`) it records, and the `seq`s in those files.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use deltalake_core::DeltaTable;
use dss_lake_schema::{Table, layout};
use url::Url;

use crate::lake::file_seqs;

/// Runs `work` on a table's loaded log in a thread and runtime of its own, so that callers may
/// be plain or `#[tokio::test]` tests alike; `None` when the table has no log.
fn with_table<T: Send + 'static>(
    lake: &Path,
    table: Table,
    work: impl AsyncFnOnce(&DeltaTable) -> T + Send + 'static,
) -> Option<T> {
    let dir = std::path::absolute(layout::table_dir(lake, table)).unwrap();
    if !layout::delta_log_dir(lake, table).is_dir() {
        return None;
    }
    let result = std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let url = Url::from_directory_path(&dir).unwrap();
            let table = deltalake_core::open_table(url)
                .await
                .unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
            work(&table).await
        })
    })
    .join()
    .unwrap();
    Some(result)
}

/// The data files `table`'s Delta log names, as absolute paths, sorted; empty without a log.
pub fn delta_files(lake: &Path, table: Table) -> Vec<PathBuf> {
    let mut files = with_table(lake, table, async |table: &DeltaTable| {
        table
            .get_file_uris()
            .unwrap()
            .map(|uri| match Url::parse(&uri) {
                Ok(url) => url.to_file_path().unwrap(),
                // A local table's files come back as plain paths.
                Err(_) => PathBuf::from(uri),
            })
            .collect::<Vec<_>>()
    })
    .unwrap_or_default();
    files.sort();
    files
}

/// The `txn` version `table`'s log records for `app_id` (a stream: its last commit number).
pub fn delta_txn(lake: &Path, table: Table, app_id: &str) -> Option<i64> {
    let app_id = app_id.to_owned();
    with_table(lake, table, async move |table: &DeltaTable| {
        let state = table.snapshot().unwrap();
        state
            .transaction_version(table.log_store().as_ref(), app_id)
            .await
            .unwrap()
    })
    .flatten()
}

/// The `stats` JSON of every `add` in `table`'s log, by path relative to the table folder.
pub fn delta_stats(lake: &Path, table: Table) -> BTreeMap<String, Option<String>> {
    with_table(lake, table, async |table: &DeltaTable| {
        table
            .snapshot()
            .unwrap()
            .log_data()
            .iter()
            .map(|file| (file.path().into_owned(), file.stats()))
            .collect()
    })
    .unwrap_or_default()
}

/// How many rows of the event tables hold each `seq`, counting only the files the Delta logs
/// name (for a lake fed by one producer, where a count above one is a duplicate).
pub fn delta_seq_counts(lake: &Path) -> BTreeMap<u64, usize> {
    let mut counts = BTreeMap::new();
    for table in Table::EVENTS {
        for file in delta_files(lake, table) {
            for seq in file_seqs(&file) {
                *counts.entry(seq).or_default() += 1;
            }
        }
    }
    counts
}

/// Every `seq` of every event table, by stream, each list sorted, read from the files the
/// Delta logs name: what a Delta reader counts. For a lake at rest, it also checks that the
/// logs name exactly the committed files (so a count by either agrees).
pub fn seqs_by_stream(lake: &Path) -> BTreeMap<String, Vec<u64>> {
    let mut seqs: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    for table in Table::EVENTS {
        for file in delta_files(lake, table) {
            let name = file.file_name().unwrap().to_string_lossy().into_owned();
            let (stream, _) = layout::parse_file_name(&name)
                .unwrap_or_else(|| panic!("{}: not a lake file name", file.display()));
            seqs.entry(stream.to_string())
                .or_default()
                .extend(file_seqs(&file));
        }
    }
    for list in seqs.values_mut() {
        list.sort_unstable();
    }
    assert_eq!(
        seqs,
        crate::lake::seqs_by_stream(lake),
        "the Delta logs and the committed files disagree"
    );
    seqs
}

/// The (reader, writer) protocol versions `table`'s log asks of its readers and writers.
pub fn delta_protocol(lake: &Path, table: Table) -> Option<(i32, i32)> {
    with_table(lake, table, async |table: &DeltaTable| {
        let protocol = table.snapshot().unwrap().protocol().clone();
        (protocol.min_reader_version(), protocol.min_writer_version())
    })
}
