//! `dss-lake import`: load archived DSS events (NDJSON or DSS Collector files) into the lake.

use std::io::IsTerminal;
use std::path::PathBuf;

use anyhow::Context;
use dss_lake_batch::Lake;
use dss_lake_batch::import::{ArchiveFormat, import_files};
use dss_lake_schema::{StreamName, Table};

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
    #[arg(long, env = "DSS_LAKE_IMPORT_FORMAT", default_value = "auto", value_parser = parse_format)]
    format: ArchiveFormat,
    /// Archive files, imported in the order given.
    #[arg(required = true)]
    files: Vec<PathBuf>,
}

fn parse_format(text: &str) -> Result<ArchiveFormat, String> {
    match text {
        "auto" => Ok(ArchiveFormat::Auto),
        "ndjson" => Ok(ArchiveFormat::Ndjson),
        "concatenated" => Ok(ArchiveFormat::Concatenated),
        other => Err(format!(
            "unknown format {other:?}: use auto, ndjson or concatenated"
        )),
    }
}

pub(crate) fn run(args: ImportArgs) -> anyhow::Result<()> {
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
    println!(
        "  {:<14} {:>12} events",
        "duplicates", summary.counts.duplicates
    );
    println!("  {:<14} {:>12}", "seq gaps", summary.counts.gaps);
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
    Ok(())
}
