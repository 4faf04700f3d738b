//! `dss-lake lake ...`: look after a lake. `info` prints what each table's Delta log holds;
//! `convert` publishes to the logs what a lake written before them holds.

use std::path::{Path, PathBuf};

use anyhow::Context;
use dss_lake_lake::TableInfo;

/// Flags of `dss-lake lake`.
#[derive(Debug, clap::Args)]
pub(crate) struct LakeArgs {
    #[command(subcommand)]
    command: LakeCommand,
}

#[derive(Debug, clap::Subcommand)]
enum LakeCommand {
    /// Per table: Delta version, files, rows, bytes, date partitions, and each stream's last
    /// commit (its number, seq and time). Reads only.
    Info(InfoArgs),
    /// Publish every committed file to its table's Delta log: turns a lake written by a
    /// release without Delta logs into Delta tables in place, each row once. Safe to run again;
    /// every stream must be free (stop the daemon first).
    Convert(ConvertArgs),
}

#[derive(Debug, clap::Args)]
struct ConvertArgs {
    /// The lake's root folder.
    #[arg(long, env = "DSS_LAKE_DIR", default_value = "lake")]
    lake: PathBuf,
}

#[derive(Debug, clap::Args)]
struct InfoArgs {
    /// The lake's root folder.
    #[arg(long, env = "DSS_LAKE_DIR", default_value = "lake")]
    lake: PathBuf,
    /// Print JSON (an array of tables) instead of a table.
    #[arg(long)]
    json: bool,
}

pub(crate) fn run(args: LakeArgs) -> anyhow::Result<()> {
    match args.command {
        LakeCommand::Info(args) => info(args),
        LakeCommand::Convert(args) => convert(args),
    }
}

fn convert(args: ConvertArgs) -> anyhow::Result<()> {
    existing(&args.lake)?;
    let converted = dss_lake_lake::convert(&args.lake)
        .with_context(|| format!("converting {}", args.lake.display()))?;
    for stream in &converted {
        println!(
            "stream {}: {} files published to the Delta logs",
            stream.stream, stream.published
        );
    }
    println!(
        "{}: {} streams, every committed file is in its table's Delta log",
        args.lake.display(),
        converted.len()
    );
    Ok(())
}

fn info(args: InfoArgs) -> anyhow::Result<()> {
    existing(&args.lake)?;
    let tables = dss_lake_lake::describe(&args.lake)
        .with_context(|| format!("reading the Delta logs of {}", args.lake.display()))?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&tables)?);
    } else {
        print!("{}", render(&tables));
    }
    Ok(())
}

fn existing(lake: &Path) -> anyhow::Result<()> {
    anyhow::ensure!(
        lake.is_dir(),
        "no lake at {}: the folder does not exist",
        lake.display()
    );
    Ok(())
}

fn render(tables: &[TableInfo]) -> String {
    let mut out = format!(
        "{:<14} {:>8} {:>8} {:>12} {:>14} {:>10}  dates\n",
        "table", "version", "files", "rows", "bytes", "partitions"
    );
    for t in tables {
        let version = t.version.map_or("-".to_owned(), |v| v.to_string());
        let dates = match (&t.first_date, &t.last_date) {
            (Some(first), Some(last)) if first == last => first.clone(),
            (Some(first), Some(last)) => format!("{first} .. {last}"),
            _ => String::new(),
        };
        out += &format!(
            "{:<14} {version:>8} {:>8} {:>12} {:>14} {:>10}  {dates}\n",
            t.table, t.files, t.rows, t.bytes, t.partitions
        );
        for s in &t.streams {
            let seq = s.seq.map_or("none".to_owned(), |q| q.to_string());
            let at = s.committed_at.as_deref().unwrap_or("unknown time");
            out += &format!(
                "  stream {}: commit {}, seq {seq}, at {at}\n",
                s.stream, s.commit
            );
        }
    }
    out
}
