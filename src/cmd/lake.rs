//! `dss-lake lake ...`: look at a lake. `info` prints what each table's Delta log holds.

use std::path::PathBuf;

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
    }
}

fn info(args: InfoArgs) -> anyhow::Result<()> {
    anyhow::ensure!(
        args.lake.is_dir(),
        "no lake at {}: the folder does not exist",
        args.lake.display()
    );
    let tables = dss_lake_lake::describe(&args.lake)
        .with_context(|| format!("reading the Delta logs of {}", args.lake.display()))?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&tables)?);
    } else {
        print!("{}", render(&tables));
    }
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
