//! A lake's committed `seq`s, read straight from its Parquet files (not through the lake crate,
//! whose bugs these tests are there to catch), and the exactly-once check over them.
//!
//! Readers that return seqs fail on a hidden in-flight file: they are for a lake at rest (after
//! a shutdown, a crash or an import), where such a file is a commit that was not cleaned up.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use arrow_array::{Array, Int64Array, RecordBatch};
use dss_lake_schema::{Table, columns, layout};
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

/// A data file of `table`: its name, its path, and the stream its name says (`None` for a hidden
/// or foreign file).
#[derive(Debug, Clone)]
pub struct LakeFile {
    pub name: String,
    pub path: PathBuf,
    pub stream: Option<String>,
}

/// Every file under `table`'s date partitions, committed or hidden (not its `_delta_log/`).
pub fn table_files(lake: &Path, table: Table) -> Vec<LakeFile> {
    let mut files = Vec::new();
    let Ok(partitions) = fs::read_dir(layout::table_dir(lake, table)) else {
        return files;
    };
    for partition in partitions {
        let partition = partition.unwrap().path();
        let folder = partition.file_name().unwrap().to_string_lossy();
        if !layout::is_date_partition(&folder) {
            continue;
        }
        for file in fs::read_dir(&partition).unwrap() {
            let path = file.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            let stream = (!layout::is_hidden(&name))
                .then(|| layout::parse_file_name(&name))
                .flatten()
                .map(|(stream, _)| stream.to_string());
            files.push(LakeFile { name, path, stream });
        }
    }
    files.sort_by(|a, b| a.path.cmp(&b.path));
    files
}

/// Hidden (in-flight) files left in any table, by path; empty in a lake at rest.
pub fn leftovers(lake: &Path) -> Vec<PathBuf> {
    Table::ALL
        .iter()
        .flat_map(|&table| table_files(lake, table))
        .filter(|f| layout::is_hidden(&f.name))
        .map(|f| f.path)
        .collect()
}

/// Every committed file of `table` read whole, as (path, batches in file order), sorted by path.
/// Panics on a hidden file or one that does not read back.
pub fn table_batches(lake: &Path, table: Table) -> Vec<(PathBuf, RecordBatch)> {
    let mut out = Vec::new();
    for file in table_files(lake, table) {
        assert!(
            !layout::is_hidden(&file.name),
            "a leftover in-flight file: {}",
            file.path.display()
        );
        let open = fs::File::open(&file.path).unwrap();
        let reader = ParquetRecordBatchReaderBuilder::try_new(open)
            .and_then(|builder| builder.build())
            .unwrap_or_else(|e| panic!("{}: {e}", file.path.display()));
        for batch in reader {
            let batch = batch.unwrap_or_else(|e| panic!("{}: {e}", file.path.display()));
            out.push((file.path.clone(), batch));
        }
    }
    out
}

/// Every committed `seq` of `table`, by stream, each list sorted. Panics on a hidden file.
pub fn table_seqs(lake: &Path, table: Table) -> BTreeMap<String, Vec<u64>> {
    let mut seqs: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    for file in table_files(lake, table) {
        assert!(
            !layout::is_hidden(&file.name),
            "a leftover in-flight file: {}",
            file.path.display()
        );
        let stream = file
            .stream
            .unwrap_or_else(|| panic!("{}: not a lake file name", file.path.display()));
        seqs.entry(stream)
            .or_default()
            .extend(file_seqs(&file.path));
    }
    for list in seqs.values_mut() {
        list.sort_unstable();
    }
    seqs
}

/// Every committed `seq` of every event table, by stream, each list sorted. Panics on a hidden
/// file.
pub fn seqs_by_stream(lake: &Path) -> BTreeMap<String, Vec<u64>> {
    let mut seqs: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    for table in Table::EVENTS {
        for (stream, list) in table_seqs(lake, table) {
            seqs.entry(stream).or_default().extend(list);
        }
    }
    for list in seqs.values_mut() {
        list.sort_unstable();
    }
    seqs
}

/// How many rows of the event tables hold each `seq`, over every stream (for a lake fed by one
/// producer, where a count above one is a duplicate). Panics on a hidden file.
pub fn seq_counts(lake: &Path) -> BTreeMap<u64, usize> {
    let mut counts = BTreeMap::new();
    for seq in seqs_by_stream(lake).into_values().flatten() {
        *counts.entry(seq).or_default() += 1;
    }
    counts
}

/// The `seq` column of one Parquet file.
pub fn file_seqs(path: &Path) -> Vec<u64> {
    let file = fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let builder = ParquetRecordBatchReaderBuilder::try_new(file)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mask = ProjectionMask::columns(builder.parquet_schema(), [columns::SEQ]);
    let mut seqs = Vec::new();
    for batch in builder.with_projection(mask).build().unwrap() {
        let batch = batch.unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let column = batch
            .column(0)
            .as_any()
            .downcast_ref::<Int64Array>()
            .unwrap_or_else(|| panic!("{}: seq is not an Int64 column", path.display()));
        assert_eq!(column.null_count(), 0, "{}: a null seq", path.display());
        seqs.extend(column.values().iter().map(|&s| u64::try_from(s).unwrap()));
    }
    seqs
}

/// Asserts that `stored` (sorted) is exactly `expected` (in any order): every expected seq once,
/// nothing else. The expected set must come from outside the lake (the emulator, the archive): a lake
/// that lost its first commits still looks contiguous from its own first seq. The message
/// names the first difference rather than printing both lists.
pub fn assert_exactly_once(stream: &str, stored: &[u64], expected: impl IntoIterator<Item = u64>) {
    let mut expected: Vec<u64> = expected.into_iter().collect();
    expected.sort_unstable();
    if stored == expected.as_slice() {
        return;
    }
    let at = stored
        .iter()
        .zip(&expected)
        .position(|(s, e)| s != e)
        .unwrap_or(stored.len().min(expected.len()));
    let duplicates = stored.windows(2).filter(|w| w[0] == w[1]).count();
    panic!(
        "{stream}: the lake does not hold every expected seq exactly once: {} expected ({:?} to \
         {:?}), {} stored ({:?} to {:?}), {duplicates} duplicates; first difference at index \
         {at}: stored {:?}, expected {:?}",
        expected.len(),
        expected.first(),
        expected.last(),
        stored.len(),
        stored.first(),
        stored.last(),
        stored.get(at),
        expected.get(at),
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use dss_lake_schema::StreamName;
    use parquet::arrow::ArrowWriter;
    use std::sync::Arc;

    /// Writes a Parquet file of `seqs` where the writer would put a commit of `stream`.
    fn write(lake: &Path, table: Table, stream: &str, seqs: &[i64], hidden: bool) -> PathBuf {
        let dir = layout::table_dir(lake, table).join(layout::date_partition(0));
        fs::create_dir_all(&dir).unwrap();
        let stream = StreamName::parse(stream).unwrap();
        let name = layout::data_file_name(&stream, seqs[0] as u64, *seqs.last().unwrap() as u64);
        let path = dir.join(if hidden {
            layout::in_flight_name(&name)
        } else {
            name
        });
        let column = Arc::new(Int64Array::from(seqs.to_vec()));
        let batch = RecordBatch::try_from_iter([(columns::SEQ, column as _)]).unwrap();
        let mut writer =
            ArrowWriter::try_new(fs::File::create(&path).unwrap(), batch.schema(), None).unwrap();
        writer.write(&batch).unwrap();
        writer.close().unwrap();
        path
    }

    #[test]
    fn seqs_are_read_back_by_stream_and_table_and_counted() {
        let lake = tempfile::tempdir().unwrap();
        write(lake.path(), Table::Datapoint, "a", &[3, 4], false);
        write(lake.path(), Table::Datapoint, "a", &[1, 2], false);
        write(lake.path(), Table::Location, "a", &[5], false);
        write(lake.path(), Table::Location, "b", &[1], false);
        let by_table = table_seqs(lake.path(), Table::Datapoint);
        assert_eq!(
            by_table,
            BTreeMap::from([("a".to_owned(), vec![1, 2, 3, 4])])
        );
        let by_stream = seqs_by_stream(lake.path());
        assert_eq!(by_stream["a"], [1, 2, 3, 4, 5]);
        assert_eq!(by_stream["b"], [1]);
        assert_eq!(seq_counts(lake.path())[&1], 2);
        let datapoint = table_batches(lake.path(), Table::Datapoint);
        let rows: Vec<usize> = datapoint.iter().map(|(_, b)| b.num_rows()).collect();
        assert_eq!(rows, [2, 2]);
        assert!(leftovers(lake.path()).is_empty());
        assert_exactly_once("a", &by_stream["a"], 1..=5);
    }

    #[test]
    #[should_panic(expected = "a leftover in-flight file")]
    fn a_hidden_file_fails_the_readers() {
        let lake = tempfile::tempdir().unwrap();
        write(lake.path(), Table::Datapoint, "a", &[1], false);
        let hidden = write(lake.path(), Table::Datapoint, "a", &[2], true);
        assert_eq!(leftovers(lake.path()), [hidden]);
        seqs_by_stream(lake.path());
    }

    #[test]
    #[should_panic(expected = "1 duplicates; first difference at index 2: stored Some(2)")]
    fn a_duplicate_fails_exactly_once() {
        assert_exactly_once("a", &[1, 2, 2, 3], 1..=3);
    }

    #[test]
    #[should_panic(expected = "first difference at index 0: stored Some(2), expected Some(1)")]
    fn a_lost_first_seq_fails_exactly_once() {
        assert_exactly_once("a", &[2, 3], 1..=3);
    }
}
