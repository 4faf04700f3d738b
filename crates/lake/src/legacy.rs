//! Upgrading a checkpoint of the old format, which recorded only the highest committed `seq`.
//!
//! It loads as "every seq up to the highest" (see `Checkpoint::load_stored` for why that is
//! safe), which is more than the truth when the old importer skipped seqs below its high-water
//! mark (issue 13: a DSS Collector archive lost most of its events that way). Once recovery has
//! left only committed files, the seqs in them ARE the committed set, so the stream's event
//! files are read once (the `seq` column only) and the checkpoint rewritten in the new format.
//! Those skipped events can then be imported.

use std::fs::File;
use std::path::Path;

use arrow_array::cast::AsArray;
use arrow_array::types::Int64Type;
use dss_lake_schema::{StreamName, Table, columns, layout};
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::errors::ParquetError;

use crate::checkpoint::Checkpoint;
use crate::error::{LakeError, Result};
use crate::fs::LakeFs;
use crate::recover::{list, partitions};
use crate::seq_ranges::SeqRanges;

/// Narrows an old-format checkpoint's `committed` to the seqs in the lake and stores it.
///
/// If a file cannot be read, the checkpoint keeps "every seq up to the highest": the one
/// reading that never stores an event twice, and the one the old code acted on.
pub(crate) fn upgrade(
    fs: &dyn LakeFs,
    lake: &Path,
    stream: &StreamName,
    mut checkpoint: Checkpoint,
) -> Result<Checkpoint> {
    match seqs_in_files(lake, stream) {
        Ok(found) => {
            // `accounted` stays 0..=seq: the old sink wrote every jump below `seq` to `gaps`,
            // so a hole below it has been reported (and may now be filled by an import).
            tracing::info!(
                %stream,
                seqs = found.len(),
                ranges = found.range_count(),
                "upgraded an old-format checkpoint to committed seq ranges"
            );
            checkpoint.committed = found;
        }
        Err(error) => tracing::warn!(
            %stream,
            "old-format checkpoint kept as every seq up to {:?}: {error}",
            checkpoint.seq
        ),
    }
    checkpoint.store(fs, lake, stream)?;
    Ok(checkpoint)
}

/// Every `seq` in `stream`'s committed event files.
fn seqs_in_files(lake: &Path, stream: &StreamName) -> Result<SeqRanges> {
    let mut seqs = SeqRanges::new();
    for table in Table::EVENTS {
        let table_dir = layout::table_dir(lake, table);
        for partition in partitions(&table_dir)? {
            for path in list(&partition)? {
                let ours = path
                    .file_name()
                    .and_then(|n| n.to_str())
                    .filter(|n| !layout::is_hidden(n))
                    .and_then(layout::parse_file_name)
                    .is_some_and(|(s, _)| &s == stream);
                if ours {
                    read_seqs(&path, &mut seqs)?;
                }
            }
        }
    }
    Ok(seqs)
}

fn read_seqs(path: &Path, seqs: &mut SeqRanges) -> Result<()> {
    let parquet = |source| LakeError::Parquet {
        path: path.to_owned(),
        source,
    };
    let file = File::open(path).map_err(LakeError::io("opening", path))?;
    let builder = ParquetRecordBatchReaderBuilder::try_new(file).map_err(parquet)?;
    let mask = ProjectionMask::columns(builder.parquet_schema(), [columns::SEQ]);
    for batch in builder.with_projection(mask).build().map_err(parquet)? {
        let batch = batch.map_err(|e| parquet(e.into()))?;
        let Some(column) = batch
            .column_by_name(columns::SEQ)
            .and_then(|c| c.as_primitive_opt::<Int64Type>())
        else {
            return Err(parquet(ParquetError::General("no int64 seq column".into())));
        };
        // Stored seqs are never negative (the decoder takes only those that fit an i64).
        for seq in column.iter().flatten() {
            seqs.insert(seq as u64);
        }
    }
    Ok(())
}
