//! `dss-lake import`: load archived DSS events (NDJSON or DSS Collector files) into the lake.
//!
//! Exit status: 0 when every record of the archives is now an event in the lake (stored by this
//! run or already there), [`PARTIAL`] when some records went to quarantine instead, 1 on an error
//! (what was committed before it stays, and a re-run continues from there).

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use dss_lake_import::{ArchiveFormat, ImportSummary, import_files};
use dss_lake_lake::Lake;
use dss_lake_schema::{StreamName, Table};

/// The exit status of an import that completed but quarantined records: they are kept (with
/// their raw text, in `quarantine`) yet are not events, so a script should look at them. Not 2,
/// which clap uses for a bad command line.
const PARTIAL: u8 = 3;
/// Ranges of skipped seqs the summary lists before it counts the rest.
const SHOWN_RANGES: usize = 5;

/// Flags of `dss-lake import`.
#[derive(Debug, clap::Args)]
pub(crate) struct ImportArgs {
    /// The lake's root folder (created if missing).
    #[arg(long, env = "DSS_LAKE_DIR", default_value = "lake")]
    lake: PathBuf,
    /// The stream name the events are stored under (letters, digits, `_`, `-`); importing into
    /// the stream a live ingest writes is refused while it runs.
    #[arg(long, env = "DSS_LAKE_STREAM")]
    stream: StreamName,
    /// Archive layout: `auto` (detect), `ndjson` (one event or `LEN|json` frame per line) or
    /// `concatenated` (JSON objects back to back, as the DSS Collector writes them).
    #[arg(long, env = "DSS_LAKE_IMPORT_FORMAT", default_value = "auto")]
    format: ArchiveFormat,
    /// Archive files, in any order: each event is stored once, whichever file holds it (a DSS
    /// Collector stream's `ES<id>-*.json` files are one sequence and are imported together).
    #[arg(required = true)]
    files: Vec<PathBuf>,
}

pub(crate) fn run(args: ImportArgs) -> anyhow::Result<ExitCode> {
    let mut total = 0;
    for file in &args.files {
        total += std::fs::metadata(file)
            .with_context(|| format!("reading {}", file.display()))?
            .len();
    }
    let bar = if std::io::stderr().is_terminal() {
        let bar = indicatif::ProgressBar::new(total);
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{spinner} [{elapsed_precise}] {wide_bar} {bytes}/{total_bytes} ({bytes_per_sec}, eta {eta})",
            )
            .expect("the template is valid"),
        );
        bar
    } else {
        indicatif::ProgressBar::hidden()
    };
    let lake = Lake::new(&args.lake);
    let summary = import_files(&lake, &args.stream, &args.files, args.format, &mut |n| {
        bar.inc(n)
    })
    .with_context(|| format!("importing into {}", args.lake.display()))?;
    bar.finish_and_clear();

    print_summary(&args, &summary);
    if summary.counts.quarantined > 0 {
        eprintln!(
            "dss-lake import: partial: {} records were not events and went to quarantine \
             (SELECT * FROM quarantine WHERE stream = '{}')",
            summary.counts.quarantined, args.stream
        );
        return Ok(ExitCode::from(PARTIAL));
    }
    Ok(ExitCode::SUCCESS)
}

fn print_summary(args: &ImportArgs, summary: &ImportSummary) {
    println!(
        "imported into {} (stream {})",
        args.lake.display(),
        args.stream
    );
    for table in Table::EVENTS {
        println!(
            "  {:<14} {:>12} events",
            table.dir_name(),
            summary.counts.events_in(table)
        );
    }
    println!(
        "  {:<14} {:>12} lines",
        "quarantined", summary.counts.quarantined
    );
    let report = &summary.dedupe;
    let in_lake = report.in_lake.len();
    if in_lake > 0 {
        println!(
            "  {:<14} {:>12} events skipped: already in the lake (seq {})",
            "duplicates",
            in_lake,
            report.in_lake.describe(SHOWN_RANGES)
        );
    } else {
        println!("  {:<14} {:>12} events", "duplicates", 0);
    }
    if report.repeated > 0 {
        println!(
            "  {:<14} {:>12} events skipped: their seq came earlier in these archives (stored once)",
            "repeated", report.repeated
        );
    }
    println!("  {:<14} {:>12}", "seq gaps", summary.counts.gaps);
    if report.gaps_filled > 0 {
        println!(
            "  {:<14} {:>12} events whose seq an earlier gaps row reported missing",
            "gaps filled", report.gaps_filled
        );
    }
    if summary.bytes_already_imported > 0 {
        println!(
            "  {:<14} {:>12} bytes (committed by an earlier import)",
            "skipped", summary.bytes_already_imported
        );
    }
    println!(
        "  {:<14} {:>12} ({} bytes)",
        "files written", summary.files_written, summary.bytes_written
    );
}
