//! The lake's tables as Delta Lake tables: each `<lake>/<table>/` has a `_delta_log/` that names
//! its committed files, so Spark, Trino, DuckDB (`delta_scan`), polars (`read_delta`) and
//! `deltalake` read exactly what was committed and never a file in flight.
//!
//! A stream's writer publishes each commit's files to the log of every table they belong to,
//! one Delta commit per table: `add` actions carrying the files' statistics (so every reader
//! skips files from the log alone) and a `txn` action whose app id is the stream and whose
//! version is the stream's commit number; the commit's metadata names the stream, that number
//! and the stream's highest committed seq (`dssLakeStream`, `dssLakeCommit`, `dssLakeSeq`).
//! Blind appends from different streams to one table never conflict, and delta-rs retries them
//! through its optimistic concurrency; log entries are created if absent, never overwritten,
//! and written durably through the lake's fault seam (`store`).
//!
//! The stream's checkpoint stays the commit point for now, and publishing follows it: a commit
//! the log missed (a crash in between, a failing store) is published with the stream's next
//! commit, or when the stream is next opened, which compares the stream's files on disk with
//! the log. Files that never reached the checkpoint are removed by recovery before that, so
//! no Delta reader ever sees them.
//!
//! Not yet done here: the log as the commit point, with the checkpoint gone.

mod stats;
mod store;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use deltalake_core::kernel::engine::arrow_conversion::TryIntoKernel;
use deltalake_core::kernel::transaction::{CommitBuilder, CommitProperties, TableReference};
use deltalake_core::kernel::{Action, Add, StructField, StructType, Transaction};
use deltalake_core::operations::create::CreateBuilder;
use deltalake_core::protocol::{DeltaOperation, SaveMode};
use deltalake_core::{DeltaTable, DeltaTableBuilder, DeltaTableError, ObjectStore};
use dss_lake_schema::text::timestamp_millis_string;
use dss_lake_schema::{StreamName, Table, columns, layout};
use futures_util::TryStreamExt;
use futures_util::future::join_all;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use serde_json::json;
use url::Url;

use crate::commit::{CommittedFile, sorting_columns};
use crate::error::{LakeError, Result};
use crate::fs::LakeFs;
use crate::inspect::{StreamCommit, TableInfo};
use store::DurableLocalStore;

pub(crate) use stats::file_stats;

/// Commit attempts before a publish gives up until the next commit: each retry reads the
/// commits that won and re-checks for conflicts, so a busy table needs a few.
const MAX_COMMIT_RETRIES: usize = 50;

/// The Delta logs of the lake's tables, as one stream's writer sees them. Not shared between
/// streams: each writer thread owns one, with its own small runtime for delta-rs's async calls.
pub(crate) struct DeltaLog {
    lake: PathBuf,
    runtime: tokio::runtime::Runtime,
    store: Arc<DurableLocalStore>,
    tables: BTreeMap<Table, DeltaTable>,
}

impl std::fmt::Debug for DeltaLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeltaLog")
            .field("lake", &self.lake)
            .field("open_tables", &self.tables.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl DeltaLog {
    /// The logs of the tables under `lake`, written through `fs`.
    pub(crate) fn new(lake: &Path, fs: Arc<dyn LakeFs>) -> Result<DeltaLog> {
        // Multi-threaded, with one worker: on a current-thread runtime delta-rs starts a thread
        // with a runtime of its own for every log operation (its kernel's background
        // executor), which made each commit of a table several milliseconds slower.
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("lake-delta-log")
            .enable_all()
            .build()
            .map_err(LakeError::io("starting the Delta log runtime of", lake))?;
        let lake = std::path::absolute(lake).map_err(LakeError::io("resolving", lake))?;
        Ok(DeltaLog {
            lake,
            runtime,
            store: Arc::new(DurableLocalStore::new(fs)),
            tables: BTreeMap::new(),
        })
    }

    /// Opens every table's log, creating the ones that do not exist yet. A writer does this
    /// before it writes its first file, so every table of a lake with data files has a log, and
    /// a table without one marks a lake from before the Delta lake (see
    /// `layout::unconverted_tables`).
    /// Tries every table, and returns the first failure.
    pub(crate) fn open_all(&mut self) -> Result<()> {
        let mut first_failure = Ok(());
        for table in Table::ALL {
            if let Err(error) = open(self, table)
                && first_failure.is_ok()
            {
                first_failure = Err(error);
            }
        }
        first_failure
    }

    /// Commits each publication to its table's log with the stream's `txn`, all tables at
    /// once (each commit mostly waits on the disk); returns, in the same order, the version
    /// that holds each one's files or why it failed.
    pub(crate) fn append_all(
        &mut self,
        publications: &[(Table, Publication<'_>)],
    ) -> Vec<Result<u64>> {
        // Opened one at a time: only the first commit to a table after start-up opens it.
        let opened: Vec<Result<()>> = publications
            .iter()
            .map(|&(table, _)| open(self, table).map(drop))
            .collect();
        let mut handles: HashMap<Table, &mut DeltaTable> = self
            .tables
            .iter_mut()
            .map(|(&table, handle)| (table, handle))
            .collect();
        let commits = publications
            .iter()
            .zip(opened)
            .map(|(&(table, publication), opened)| {
                let handle = handles.remove(&table);
                async move {
                    opened?;
                    let handle = handle.expect("opened above, once per table");
                    commit(table, handle, &publication).await
                }
            });
        let results = self.runtime.block_on(join_all(commits));
        for (&(table, _), result) in publications.iter().zip(&results) {
            if result.is_err() {
                // Start the next attempt from the log as it is then, not from this snapshot.
                self.tables.remove(&table);
            }
        }
        results
    }

    /// The paths (relative to the table folder) of every file in the table's log; empty when
    /// the table has no log yet.
    pub(crate) fn file_paths(&mut self, table: Table) -> Result<HashSet<String>> {
        if !has_log(&self.lake, table) {
            return Ok(HashSet::new());
        }
        let handle = open(self, table)?;
        let state = handle.table.snapshot().map_err(LakeError::delta(table))?;
        Ok(state
            .log_data()
            .iter()
            .map(|file| file.path().into_owned())
            .collect())
    }
}

impl DeltaLog {
    /// What `table`'s log holds, and the newest commit of each stream in its history (the
    /// scan stops once every stream of `known` has been seen).
    pub(crate) fn describe(&mut self, table: Table, known: &[StreamName]) -> Result<TableInfo> {
        let mut info = TableInfo {
            table: table.dir_name().to_owned(),
            version: None,
            files: 0,
            rows: 0,
            bytes: 0,
            partitions: 0,
            first_date: None,
            last_date: None,
            streams: Vec::new(),
        };
        if !has_log(&self.lake, table) {
            return Ok(info);
        }
        let delta = LakeError::delta(table);
        let handle = open(self, table)?;
        let state = handle.table.snapshot().map_err(&delta)?;
        info.version = Some(state.version());
        let mut dates = std::collections::BTreeSet::new();
        for file in state.log_data().iter() {
            info.files += 1;
            info.rows += file.num_records().unwrap_or(0) as u64;
            info.bytes += file.size().max(0) as u64;
            dates.extend(file.partition_values_map().remove(columns::DATE).flatten());
        }
        info.partitions = dates.len();
        info.first_date = dates.first().cloned();
        info.last_date = dates.last().cloned();
        let mut newest: BTreeMap<String, StreamCommit> = BTreeMap::new();
        handle.runtime.block_on(async {
            let mut history = handle.table.history(None);
            while let Some(commit) = history.try_next().await.map_err(&delta)? {
                let Some(stream) = commit.info.get("dssLakeStream").and_then(|s| s.as_str()) else {
                    continue;
                };
                if newest.contains_key(stream) {
                    continue;
                }
                let entry = StreamCommit {
                    stream: stream.to_owned(),
                    commit: commit
                        .info
                        .get("dssLakeCommit")
                        .and_then(|c| c.as_u64())
                        .unwrap_or(0),
                    seq: commit.info.get("dssLakeSeq").and_then(|s| s.as_u64()),
                    committed_at: commit
                        .timestamp
                        .map(|millis| timestamp_millis_string(millis.saturating_mul(1_000))),
                };
                newest.insert(entry.stream.clone(), entry);
                if !known.is_empty() && known.iter().all(|s| newest.contains_key(s.as_str())) {
                    break;
                }
            }
            Ok::<_, LakeError>(())
        })?;
        info.streams = newest.into_values().collect();
        Ok(info)
    }
}

/// Commits `publication` to `table`'s open log and moves the handle to the new version.
async fn commit(
    table: Table,
    handle: &mut DeltaTable,
    publication: &Publication<'_>,
) -> Result<u64> {
    let Publication {
        files,
        stream,
        commit,
        seq,
        now_millis,
    } = *publication;
    let delta = LakeError::delta(table);
    let mut actions: Vec<Action> = files
        .iter()
        .map(|file| Action::Add(file.add(table, now_millis)))
        .collect();
    actions.push(Action::Txn(Transaction::new_with_last_update(
        stream.as_str(),
        commit as i64,
        Some(now_millis),
    )));
    let properties = CommitProperties::default()
        .with_max_retries(MAX_COMMIT_RETRIES)
        // Log clean-up lists `_delta_log/` after every commit; the lake does its own.
        .with_cleanup_expired_logs(Some(false))
        .with_metadata([
            ("isBlindAppend".to_owned(), json!(true)),
            ("dssLakeStream".to_owned(), json!(stream.as_str())),
            ("dssLakeCommit".to_owned(), json!(commit)),
            ("dssLakeSeq".to_owned(), json!(seq)),
        ]);
    let operation = DeltaOperation::Write {
        mode: SaveMode::Append,
        partition_by: Some(vec![columns::DATE.to_owned()]),
        predicate: None,
    };
    let snapshot = handle.snapshot().map_err(&delta)?.clone();
    let committed = CommitBuilder::from(properties)
        .with_actions(actions)
        .build(
            Some(&snapshot as &dyn TableReference),
            handle.log_store(),
            operation,
        )
        .into_prepared_commit_future()
        .await
        .map_err(&delta)?
        .await
        .map_err(&delta)?;
    let version = committed.version;
    // The commit has landed; what follows (a log checkpoint every 100 versions) may fail
    // without undoing it, and the next commit tries again.
    match committed.await {
        Ok(finalized) => handle.state = Some(finalized.snapshot()),
        Err(error) => {
            tracing::warn!(%table, version, %error, "a Delta log checkpoint failed");
            handle.update_incremental(None).await.map_err(&delta)?;
        }
    }
    Ok(version)
}

/// What one Delta commit of a stream publishes to one table.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Publication<'a> {
    pub(crate) files: &'a [PublishedFile],
    pub(crate) stream: &'a StreamName,
    /// The stream's commit number (the `txn` version) and its highest committed seq then.
    pub(crate) commit: u64,
    pub(crate) seq: Option<u64>,
    pub(crate) now_millis: i64,
}

/// A committed data file as the log records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PublishedFile {
    /// Relative to the table folder: `date=2026-11-24/<name>.parquet`.
    pub(crate) path: String,
    pub(crate) date: String,
    pub(crate) bytes: u64,
    pub(crate) stats: String,
    /// Whether its rows are in the table's sort order (every file our writer makes is).
    pub(crate) sorted: bool,
}

impl PublishedFile {
    /// The log's view of `file`, or `None` for a file outside its table's date partitions.
    pub(crate) fn of(lake: &Path, file: &CommittedFile) -> Option<PublishedFile> {
        let (path, date) = PublishedFile::relative_path(lake, file.table, &file.path)?;
        Some(PublishedFile {
            path,
            date,
            bytes: file.bytes,
            stats: file.stats.clone(),
            sorted: true,
        })
    }

    /// The log's view of a committed file found on disk, its statistics read from its rows.
    pub(crate) fn read(lake: &Path, table: Table, file: &Path) -> Result<PublishedFile> {
        let parquet = |source| LakeError::Parquet {
            path: file.to_owned(),
            source,
        };
        let (path, date) =
            PublishedFile::relative_path(lake, table, file).ok_or_else(|| LakeError::Io {
                action: "publishing",
                path: file.to_owned(),
                source: std::io::Error::other("the file is not in a date partition of its table"),
            })?;
        let opened = File::open(file).map_err(LakeError::io("reading", file))?;
        let bytes = opened
            .metadata()
            .map_err(LakeError::io("reading", file))?
            .len();
        let builder = ParquetRecordBatchReaderBuilder::try_new(opened).map_err(parquet)?;
        let sorted = footer_says_sorted(table, builder.metadata());
        let reader = builder.build().map_err(parquet)?;
        let batches = reader
            .collect::<Result<Vec<_>, _>>()
            .map_err(|source| LakeError::Arrow { table, source })?;
        let batch = arrow_select::concat::concat_batches(&table.schema(), &batches)
            .map_err(|source| LakeError::Arrow { table, source })?;
        Ok(PublishedFile {
            path,
            date,
            bytes,
            stats: file_stats(&batch),
            sorted,
        })
    }

    /// A data file's path relative to its table folder, and its partition's date:
    /// `("date=2026-11-24/<name>.parquet", "2026-11-24")`.
    pub(crate) fn relative_path(
        lake: &Path,
        table: Table,
        file: &Path,
    ) -> Option<(String, String)> {
        let relative = file.strip_prefix(layout::table_dir(lake, table)).ok()?;
        let partition = relative.parent()?.to_str()?;
        let date = partition.strip_prefix(&format!("{}=", columns::DATE))?;
        Some((relative.to_str()?.to_owned(), date.to_owned()))
    }

    fn add(&self, table: Table, now_millis: i64) -> Add {
        Add {
            path: self.path.clone(),
            partition_values: HashMap::from([(columns::DATE.to_owned(), Some(self.date.clone()))]),
            size: self.bytes as i64,
            modification_time: now_millis,
            data_change: true,
            stats: Some(self.stats.clone()),
            tags: self.sorted.then(|| {
                HashMap::from([(
                    layout::SORT_ORDER_TAG.to_owned(),
                    Some(table_sort_order(table)),
                )])
            }),
            ..Add::default()
        }
    }
}

/// The value of `layout::SORT_ORDER_TAG` for `table`'s files.
fn table_sort_order(table: Table) -> String {
    table.sort_columns().join(",")
}

/// True when every row group of a file says, in its footer, that it is sorted exactly as our
/// writer sorts `table` (ascending, NULLs first).
fn footer_says_sorted(table: Table, metadata: &parquet::file::metadata::ParquetMetaData) -> bool {
    let expected = sorting_columns(table);
    metadata.num_row_groups() > 0
        && metadata.row_groups().iter().all(|group| {
            group
                .sorting_columns()
                .is_some_and(|s| s == expected.as_slice())
        })
}

/// The Delta schema of `table`: the contract's table schema, type for type.
pub(crate) fn delta_schema(table: Table) -> Result<StructType, DeltaTableError> {
    let schema = table.table_schema();
    Ok(schema.as_ref().try_into_kernel()?)
}

fn has_log(lake: &Path, table: Table) -> bool {
    layout::delta_log_dir(lake, table).is_dir()
}

/// An open table and the runtime to drive its calls with.
struct OpenTable<'a> {
    table: &'a mut DeltaTable,
    runtime: &'a tokio::runtime::Runtime,
}

/// The open table, opening (and, the first time, creating) it.
fn open(log: &mut DeltaLog, table: Table) -> Result<OpenTable<'_>> {
    let opened = match log.tables.entry(table) {
        std::collections::btree_map::Entry::Occupied(open) => open.into_mut(),
        std::collections::btree_map::Entry::Vacant(closed) => {
            let store: Arc<dyn ObjectStore> = log.store.clone();
            let opened = log
                .runtime
                .block_on(open_or_create(&log.lake, table, store))
                .map_err(LakeError::delta(table))?;
            closed.insert(opened)
        }
    };
    Ok(OpenTable {
        table: opened,
        runtime: &log.runtime,
    })
}

async fn open_or_create(
    lake: &Path,
    table: Table,
    store: Arc<dyn ObjectStore>,
) -> Result<DeltaTable, DeltaTableError> {
    let dir = layout::table_dir(lake, table);
    let url = Url::from_directory_path(&dir)
        .map_err(|()| DeltaTableError::Generic(format!("{} is not absolute", dir.display())))?;
    let log_store = DeltaTableBuilder::from_url(url.clone())?
        .with_storage_backend(store, url)
        .build_storage()?;
    let columns = delta_schema(table)?.fields().cloned().collect::<Vec<_>>();
    let created = CreateBuilder::new()
        .with_log_store(log_store.clone())
        .with_table_name(table.dir_name())
        .with_columns(columns.clone())
        .with_partition_columns([columns::DATE])
        .with_save_mode(SaveMode::Ignore)
        // One attempt: delta-rs would retry a lost race for version 0 as version 1, a second
        // creation that every append read from version 0 then conflicts with.
        .with_commit_properties(CommitProperties::default().with_max_retries(0))
        .await;
    let opened = match created {
        Ok(table) => table,
        // Another writer created it first: ours lost the race for version 0.
        Err(_) if layout::delta_log_dir(lake, table).is_dir() => {
            let mut existing = DeltaTable::new(log_store);
            existing.load().await?;
            existing
        }
        Err(error) => return Err(error),
    };
    evolve(table, opened, &columns).await
}

/// Adds to `opened`'s schema, in one schema-evolution commit, every column of the contract it
/// lacks: a table made by an older release. Files written before read those columns as null.
async fn evolve(
    table: Table,
    opened: DeltaTable,
    contract: &[StructField],
) -> Result<DeltaTable, DeltaTableError> {
    let present: HashSet<String> = opened
        .snapshot()?
        .schema()
        .fields()
        .map(|field| field.name().clone())
        .collect();
    let missing: Vec<StructField> = contract
        .iter()
        .filter(|field| !present.contains(field.name()))
        .cloned()
        .collect();
    if missing.is_empty() {
        return Ok(opened);
    }
    let names: Vec<&str> = missing.iter().map(|f| f.name().as_str()).collect();
    tracing::info!(%table, columns = ?names, "adding the contract's new columns to the Delta table");
    opened.add_columns().with_fields(missing).await
}
