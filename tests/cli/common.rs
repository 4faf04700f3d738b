//! Shared by the tests that run the built binary: its path, child processes that die with the
//! test, and the lake read back straight from its Parquet files (never through our own query
//! engine, so a test compares two independent readings).

use std::io::{BufRead, BufReader, Lines};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command};
use std::time::{Duration, Instant};

use arrow_array::RecordBatch;
use arrow_cast::display::{ArrayFormatter, FormatOptions};
use dss_lake_schema::{Table, layout};
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

pub(crate) const BIN: &str = env!("CARGO_BIN_EXE_dss-lake");

/// A child process killed (SIGKILL) when the test ends, however it ends.
pub(crate) struct Process {
    pub(crate) child: Child,
}

impl Process {
    pub(crate) fn spawn(command: &mut Command) -> Process {
        Process {
            child: command.spawn().expect("the dss-lake binary starts"),
        }
    }

    /// Its stdout, line by line (the command must have been spawned with a piped stdout).
    pub(crate) fn stdout_lines(&mut self) -> Lines<BufReader<ChildStdout>> {
        BufReader::new(self.child.stdout.take().expect("stdout is piped")).lines()
    }

    /// Sends `signal` (`"INT"`, `"TERM"`) with kill(1), which keeps `unsafe` out of the tests,
    /// and waits up to `limit` for the exit.
    pub(crate) fn stop(
        &mut self,
        signal: &str,
        limit: Duration,
    ) -> (std::process::ExitStatus, Duration) {
        let started = Instant::now();
        // Our own child, not yet reaped, so the pid cannot name another process.
        let sent = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(self.child.id().to_string())
            .status()
            .expect("kill(1) runs");
        assert!(sent.success(), "kill -{signal}: {sent}");
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return (status, started.elapsed());
            }
            assert!(
                started.elapsed() < limit,
                "no exit {limit:?} after {signal}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The committed (visible) Parquet files of `table`, with the stream each belongs to.
pub(crate) fn committed_files(lake: &Path, table: Table) -> Vec<(String, PathBuf)> {
    let mut files = Vec::new();
    let Ok(partitions) = std::fs::read_dir(layout::table_dir(lake, table)) else {
        return files;
    };
    for partition in partitions.flatten() {
        if !layout::is_date_partition(&partition.file_name().to_string_lossy()) {
            continue;
        }
        let Ok(entries) = std::fs::read_dir(partition.path()) else {
            continue;
        };
        for file in entries.flatten() {
            let name = file.file_name().to_string_lossy().into_owned();
            if layout::is_hidden(&name) {
                continue;
            }
            let (stream, _) = layout::parse_file_name(&name)
                .unwrap_or_else(|| panic!("{name}: not a lake file name"));
            files.push((stream.to_string(), file.path()));
        }
    }
    files
}

/// `columns` of every committed row of `table`, rendered as text, with its stream.
pub(crate) fn lake_rows(lake: &Path, table: Table, columns: &[&str]) -> Vec<(String, Vec<String>)> {
    let mut rows = Vec::new();
    for (stream, path) in committed_files(lake, table) {
        for batch in read_parquet(&path, columns) {
            let options = FormatOptions::default().with_null("");
            let formatters: Vec<_> = batch
                .columns()
                .iter()
                .map(|c| ArrayFormatter::try_new(c.as_ref(), &options).unwrap())
                .collect();
            for row in 0..batch.num_rows() {
                let values = formatters.iter().map(|f| f.value(row).to_string());
                rows.push((stream.clone(), values.collect()));
            }
        }
    }
    rows
}

fn read_parquet(path: &Path, columns: &[&str]) -> Vec<RecordBatch> {
    let file = std::fs::File::open(path).unwrap();
    let builder = ParquetRecordBatchReaderBuilder::try_new(file)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    // The projection keeps the file's column order; reorder to the order asked for.
    let mask = ProjectionMask::columns(builder.parquet_schema(), columns.iter().copied());
    builder
        .with_projection(mask)
        .build()
        .unwrap()
        .map(|batch| {
            let batch = batch.unwrap();
            let order: Vec<usize> = columns
                .iter()
                .map(|c| batch.schema().index_of(c).unwrap())
                .collect();
            batch.project(&order).unwrap()
        })
        .collect()
}
