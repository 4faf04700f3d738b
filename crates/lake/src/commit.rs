//! The "file" step: one table's pending rows of one stream become sorted Parquet files, one per
//! event date, each written hidden, fsynced, renamed into view and its folder fsynced.

use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use arrow_array::cast::AsArray;
use arrow_array::types::{Int64Type, TimestampMicrosecondType};
use arrow_array::{Array, BooleanArray, RecordBatch};
use arrow_ord::sort::{SortColumn, lexsort_to_indices};
use arrow_schema::{DataType, SortOptions};
use dss_lake_schema::{StreamName, Table, columns, layout};
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, Encoding, ZstdLevel};
use parquet::file::metadata::{KeyValue, SortingColumn};
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use parquet::schema::types::ColumnPath;

use crate::error::{LakeError, Result};
use crate::fs::{DurableDirs, LakeFile, LakeFs, sync_dir};

const MICROS_PER_DAY: i64 = 86_400_000_000;
/// Pages of at most 4096 rows: the page index then narrows a one-device query to a few thousand
/// rows per row group instead of 20k (parquet's default), 4-5x fewer rows decoded for
/// `device_twin` over the benchmark lake; page headers and index entries stay a rounding error.
const PAGE_ROWS: usize = 4_096;
/// zstd level 3: within a few percent of level 9's size at several times its speed.
const ZSTD_LEVEL: i32 = 3;

/// A file that is now part of the lake.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommittedFile {
    pub table: Table,
    pub path: PathBuf,
    pub rows: usize,
    pub bytes: u64,
    /// The file's Delta statistics (the `stats` of its `add` action), as JSON.
    pub stats: String,
}

/// Writes `batch` (rows of `table` from `stream`) as one file per event date.
/// `commit` names quarantine files, which carry no `seq`.
pub(crate) fn write_table(
    fs: &dyn LakeFs,
    dirs: &mut DurableDirs,
    lake: &Path,
    stream: &StreamName,
    table: Table,
    batch: &RecordBatch,
    commit: u64,
) -> Result<Vec<CommittedFile>> {
    let arrow = |source| LakeError::Arrow { table, source };
    let days = event_days(table, batch);
    let mut distinct = days.clone();
    distinct.sort_unstable();
    distinct.dedup();
    let mut files = Vec::with_capacity(distinct.len());
    for day in distinct {
        let part = if days.iter().all(|&d| d == day) {
            batch.clone()
        } else {
            let mask = BooleanArray::from_iter(days.iter().map(|&d| Some(d == day)));
            arrow_select::filter::filter_record_batch(batch, &mask).map_err(arrow)?
        };
        let sorted = sort_rows(table, &part).map_err(arrow)?;
        let dir = layout::table_dir(lake, table).join(layout::date_partition(day));
        let name = file_name(stream, table, &sorted, commit);
        files.push(write_file(fs, dirs, &dir, &name, table, &sorted)?);
    }
    Ok(files)
}

fn file_name(stream: &StreamName, table: Table, batch: &RecordBatch, commit: u64) -> String {
    let seq_range = |first: &str, last: &str| {
        let min = batch
            .column_by_name(first)?
            .as_primitive_opt::<Int64Type>()?;
        let max = batch
            .column_by_name(last)?
            .as_primitive_opt::<Int64Type>()?;
        Some((arrow_arith_min(min)?, arrow_arith_max(max)?))
    };
    let range = match table {
        Table::Quarantine => None,
        Table::Gaps => seq_range(columns::EXPECTED_SEQ, columns::RECEIVED_SEQ),
        _ => seq_range(columns::SEQ, columns::SEQ),
    };
    match range {
        Some((first, last)) => layout::data_file_name(stream, first as u64, last as u64),
        None => layout::commit_file_name(stream, commit),
    }
}

fn arrow_arith_min(a: &arrow_array::Int64Array) -> Option<i64> {
    a.iter().flatten().min()
}

fn arrow_arith_max(a: &arrow_array::Int64Array) -> Option<i64> {
    a.iter().flatten().max()
}

/// The UTC day of each row's own time (`Table::event_time_columns`), else of `received_at`
/// (`detected_at` for gaps).
fn event_days(table: Table, batch: &RecordBatch) -> Vec<i32> {
    let time_columns: Vec<_> = table
        .event_time_columns()
        .iter()
        .chain([&columns::RECEIVED_AT, &columns::DETECTED_AT])
        .filter_map(|name| batch.column_by_name(name))
        .filter_map(|c| c.as_primitive_opt::<TimestampMicrosecondType>().cloned())
        .collect();
    (0..batch.num_rows())
        .map(|row| {
            let micros = time_columns
                .iter()
                .find(|c| c.is_valid(row))
                .map_or(0, |c| c.value(row));
            micros.div_euclid(MICROS_PER_DAY) as i32
        })
        .collect()
}

fn sort_rows(table: Table, batch: &RecordBatch) -> Result<RecordBatch, arrow_schema::ArrowError> {
    let options = SortOptions {
        descending: false,
        nulls_first: true,
    };
    let keys: Vec<SortColumn> = table
        .sort_columns()
        .into_iter()
        .filter_map(|name| batch.column_by_name(name))
        .map(|values| SortColumn {
            values: values.clone(),
            options: Some(options),
        })
        .collect();
    let indices = lexsort_to_indices(&keys, None)?;
    arrow_select::take::take_record_batch(batch, &indices)
}

/// The order of `table`'s files as their footers declare it: [`Table::sort_columns`],
/// ascending, NULLs first.
pub(crate) fn sorting_columns(table: Table) -> Vec<SortingColumn> {
    let schema = table.schema();
    table
        .sort_columns()
        .into_iter()
        .filter_map(|name| schema.index_of(name).ok())
        .map(|i| SortingColumn {
            column_idx: i as i32,
            descending: false,
            nulls_first: true,
        })
        .collect()
}

/// How every file of `table` is written: zstd, dictionaries for text, delta encoding for integers
/// and timestamps, page statistics, sorted by [`Table::sort_columns`].
pub fn writer_properties(table: Table) -> WriterProperties {
    let schema = table.schema();
    let sorting = sorting_columns(table);
    let mut builder = WriterProperties::builder()
        .set_compression(Compression::ZSTD(
            ZstdLevel::try_new(ZSTD_LEVEL).expect("3 is a valid zstd level"),
        ))
        .set_dictionary_enabled(true)
        .set_statistics_enabled(EnabledStatistics::Page)
        .set_data_page_row_count_limit(PAGE_ROWS)
        .set_sorting_columns(Some(sorting))
        .set_key_value_metadata(Some(vec![KeyValue::new(
            "dss_lake.sort_order".to_owned(),
            table.sort_columns().join(","),
        )]));
    // `seq` and the times are nearly unique, so a dictionary only fills up (to parquet's 1 MiB
    // limit) before falling back; yet a reader must load and decode that dictionary page for any
    // row it wants from the column chunk: with dictionaries, a one-device query over the
    // benchmark lake read 30 MB for 2k rows. Sorted by device then time, they climb in small
    // steps, which delta encoding stores in a few bits each.
    for field in schema.fields() {
        if matches!(field.data_type(), DataType::Int64 | DataType::Timestamp(..)) {
            let column = ColumnPath::from(field.name().as_str());
            builder = builder
                .set_column_dictionary_enabled(column.clone(), false)
                .set_column_encoding(column, Encoding::DELTA_BINARY_PACKED);
        }
    }
    builder.build()
}

fn write_file(
    fs: &dyn LakeFs,
    dirs: &mut DurableDirs,
    dir: &Path,
    name: &str,
    table: Table,
    batch: &RecordBatch,
) -> Result<CommittedFile> {
    dirs.create(fs, dir)?;
    let final_path = dir.join(name);
    let temp_path = dir.join(layout::in_flight_name(name));
    let file = fs
        .create_file(&temp_path)
        .map_err(LakeError::io("creating", &temp_path))?;
    let io_error = Arc::new(Mutex::new(None));
    let file = KeepIoError {
        file,
        error: Arc::clone(&io_error),
    };
    // The disk's own error when there was one: it says why, and it makes the commit retryable.
    let parquet = |source| match io_error
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .take()
    {
        Some(source) => LakeError::Io {
            action: "writing",
            path: temp_path.clone(),
            source,
        },
        None => LakeError::Parquet {
            path: temp_path.clone(),
            source,
        },
    };
    let mut writer = ArrowWriter::try_new(
        file,
        Arc::clone(&batch.schema()),
        Some(writer_properties(table)),
    )
    .map_err(parquet)?;
    writer.write(batch).map_err(parquet)?;
    let mut file = writer.into_inner().map_err(parquet)?.file;
    file.sync().map_err(LakeError::io("syncing", &temp_path))?;
    drop(file);
    let bytes = std::fs::metadata(&temp_path).map_or(0, |m| m.len());
    fs.rename(&temp_path, &final_path)
        .map_err(LakeError::io("renaming", &temp_path))?;
    sync_dir(fs, dir)?;
    Ok(CommittedFile {
        table,
        path: final_path,
        rows: batch.num_rows(),
        bytes,
        stats: crate::delta::file_stats(batch),
    })
}

/// A file that remembers the last I/O error it returned: the Parquet writer reports some of
/// them only as text ("fail to get inner writer: ..."), and whether a commit is worth retrying
/// depends on knowing it was the disk.
struct KeepIoError {
    file: Box<dyn LakeFile>,
    error: Arc<Mutex<Option<io::Error>>>,
}

impl KeepIoError {
    fn keep<T>(&self, result: io::Result<T>) -> io::Result<T> {
        if let Err(e) = &result {
            let copy = match e.raw_os_error() {
                Some(code) => io::Error::from_raw_os_error(code),
                None => io::Error::new(e.kind(), e.to_string()),
            };
            *self.error.lock().unwrap_or_else(PoisonError::into_inner) = Some(copy);
        }
        result
    }
}

impl Write for KeepIoError {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        let result = self.file.write(bytes);
        self.keep(result)
    }

    fn flush(&mut self) -> io::Result<()> {
        let result = self.file.flush();
        self.keep(result)
    }
}
