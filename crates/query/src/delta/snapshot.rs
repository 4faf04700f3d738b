//! Loading a table's Delta snapshot: the newest one, shared and refreshed; or a pinned one.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::DateTime;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::common::{DataFusionError, Result};
use datafusion::physical_expr::LexOrdering;
use deltalake_core::{DeltaTable, DeltaTableBuilder, DeltaTableError};
use dss_lake_schema::{Table, layout};
use tokio::sync::{Mutex, OnceCell};
use url::Url;

use super::files::{Files, external, files_of};

/// Where a table's log is.
#[derive(Debug, Clone)]
struct Location {
    table: Table,
    url: Url,
    log_dir: PathBuf,
}

impl Location {
    fn new(lake: &Path, table: Table) -> Result<Location> {
        let dir = layout::table_dir(lake, table);
        let url = Url::from_directory_path(&dir).map_err(|()| {
            DataFusionError::Configuration(format!(
                "the lake path {} is not absolute",
                dir.display()
            ))
        })?;
        Ok(Location {
            table,
            url,
            log_dir: layout::delta_log_dir(lake, table),
        })
    }

    /// The table's log, unloaded; `None` while the table has no log (nothing committed yet).
    fn open(&self) -> Result<Option<DeltaTable>> {
        if !self.log_dir.is_dir() {
            return Ok(None);
        }
        let table = DeltaTableBuilder::from_url(self.url.clone())
            .and_then(|builder| builder.build())
            .map_err(external(self.table))?;
        Ok(Some(table))
    }
}

/// The newest snapshot of one table, shared by every query. A query finds it fresh (younger
/// than `max_age`) and uses it as it is, or refreshes it first: delta-rs reads only the log
/// entries after the loaded version. Queries that arrive during a refresh wait for that one
/// refresh, a read of a few new log entries, rather than each making their own.
#[derive(Debug)]
pub(crate) struct LatestSnapshot {
    location: Location,
    max_age: Duration,
    state: Mutex<Cached>,
}

#[derive(Debug, Default)]
struct Cached {
    table: Option<DeltaTable>,
    files: Arc<Files>,
    checked_at: Option<Instant>,
}

impl LatestSnapshot {
    pub(crate) fn new(lake: &Path, table: Table, max_age: Duration) -> Result<LatestSnapshot> {
        Ok(LatestSnapshot {
            location: Location::new(lake, table)?,
            max_age,
            state: Mutex::new(Cached::default()),
        })
    }

    /// The files of the newest version, refreshed if the loaded one is older than `max_age`.
    pub(crate) async fn files(
        &self,
        file_schema: &SchemaRef,
        ordering: Option<&LexOrdering>,
    ) -> Result<Arc<Files>> {
        let mut cached = self.state.lock().await;
        if cached
            .checked_at
            .is_some_and(|at| at.elapsed() < self.max_age)
        {
            return Ok(cached.files.clone());
        }
        if cached.table.is_none() {
            cached.table = self.location.open()?;
        }
        let table = self.location.table;
        let Cached {
            table: delta,
            files,
            ..
        } = &mut *cached;
        if let Some(delta) = delta.as_mut() {
            delta
                .update_incremental(None)
                .await
                .map_err(external(table))?;
            let state = delta.snapshot().map_err(external(table))?;
            if files.version != Some(state.version()) {
                *files = Arc::new(files_of(table, state, file_schema, ordering)?);
            }
        }
        cached.checked_at = Some(Instant::now());
        Ok(cached.files.clone())
    }
}

/// What `as_of` asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Version {
    /// The table as commit `n` left it.
    Number(u64),
    /// The newest commit at or before this time, in milliseconds since the epoch.
    AtOrBefore(i64),
}

/// A table at one chosen version, loaded when the query first scans it.
#[derive(Debug)]
pub(crate) struct Pinned {
    location: Location,
    version: Version,
    files: OnceCell<Arc<Files>>,
}

impl Pinned {
    pub(crate) fn new(lake: &Path, table: Table, version: Version) -> Result<Pinned> {
        Ok(Pinned {
            location: Location::new(lake, table)?,
            version,
            files: OnceCell::new(),
        })
    }

    pub(crate) async fn files(
        &self,
        file_schema: &SchemaRef,
        ordering: Option<&LexOrdering>,
    ) -> Result<Arc<Files>> {
        self.files
            .get_or_try_init(|| async {
                let table = self.location.table;
                let Some(mut delta) = self.location.open()? else {
                    return Err(DataFusionError::Plan(format!(
                        "table {table} has no commits yet, so it has no version to read"
                    )));
                };
                let loaded = match self.version {
                    Version::Number(n) => {
                        // delta-rs reports a version past the newest as a kernel error, not as
                        // a missing version: check against the newest first.
                        delta.load().await.map_err(external(table))?;
                        let newest = delta.version().unwrap_or(0);
                        if n > newest {
                            return Err(DataFusionError::Plan(format!(
                                "table {table} has no version {n}: its newest is {newest}"
                            )));
                        }
                        delta.load_version(n).await
                    }
                    Version::AtOrBefore(millis) => match DateTime::from_timestamp_millis(millis) {
                        Some(when) => delta.load_with_datetime(when).await,
                        None => {
                            return Err(DataFusionError::Plan(format!(
                                "{millis} ms after the epoch is not a time as_of can read"
                            )));
                        }
                    },
                };
                loaded.map_err(|e| self.refusal(e))?;
                let state = delta.snapshot().map_err(external(table))?;
                // delta-rs answers a time before the oldest version it can read with that
                // version; a query asking for then must not get a later table.
                if let Version::AtOrBefore(millis) = self.version
                    && let Some(committed) = state.version_timestamp(state.version())
                    && committed > millis
                {
                    return Err(DataFusionError::Plan(format!(
                        "table {table} has no version as old as that: its oldest readable \
                         version, {}, was committed at {committed} ms after the epoch",
                        state.version()
                    )));
                }
                Ok(Arc::new(files_of(table, state, file_schema, ordering)?))
            })
            .await
            .cloned()
    }

    /// A version that does not exist is the query's mistake (400), any other failure ours.
    fn refusal(&self, error: DeltaTableError) -> DataFusionError {
        let table = self.location.table;
        match (error, self.version) {
            (DeltaTableError::InvalidVersion(_), Version::Number(n)) => {
                DataFusionError::Plan(format!("table {table} has no version {n}"))
            }
            (DeltaTableError::NotATable(_), _) => DataFusionError::Plan(format!(
                "table {table} has no commits yet, so it has no version to read"
            )),
            (error, _) => external(table)(error),
        }
    }
}
