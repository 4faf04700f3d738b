//! `dss-lake`: the command line. Each subcommand lives in its own module under `src/cmd/` and
//! only parses flags into the library crates' configs; the work happens in `crates/`.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod cmd;

/// Queries allocate and free large column buffers over and over; mimalloc reuses them where the
/// system allocator maps and unmaps (and faults in) fresh pages each time.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Turns the Ayla Datastream Service (DSS) into an analytics lake of Parquet files with SQL on top.
#[derive(Debug, Parser)]
#[command(name = "dss-lake", version, about, long_about = None)]
struct Cli {
    /// Check the command line and the config file it names, print what would run, and exit
    /// without running it (for deployment scripts and the docker-compose test).
    #[arg(long, global = true)]
    check: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run everything in one process: an emulated fleet, ingest into a local lake, and SQL over
    /// HTTP. The first thing to try; no configuration, no Ayla account.
    Demo(cmd::demo::DemoArgs),
    /// Print a sample of generated DSS frames (the deterministic corpus used by tests and benches).
    Corpus(cmd::corpus::CorpusArgs),
    /// Load archived events (NDJSON, or DSS Collector files) into the lake, exactly once.
    Import(cmd::import::ImportArgs),
    /// Run the DSS emulator: subscriptions REST API and WebSocket streams fed by a simulated fleet.
    Sim(cmd::sim::SimArgs),
    /// Serve read-only SQL over the lake on HTTP (JSON, NDJSON, CSV, Arrow IPC, Parquet).
    Serve(cmd::serve::ServeArgs),
    /// Run one read-only SQL statement over the lake and print the result as a table.
    Query(cmd::query::QueryArgs),
    /// Hold the configured DSS streams and store every event in the lake exactly once.
    Ingest(cmd::ingest::IngestArgs),
    /// Look at a lake's tables: `dss-lake lake info`.
    Lake(cmd::lake::LakeArgs),
}

fn main() -> anyhow::Result<ExitCode> {
    let cli = Cli::parse();
    if cli.check {
        return check(&cli.command).map(|()| ExitCode::SUCCESS);
    }
    let done = match cli.command {
        Command::Demo(args) => cmd::demo::run(args),
        Command::Corpus(args) => cmd::corpus::run(args),
        // The one subcommand with an outcome between success and failure: a partial import.
        Command::Import(args) => return cmd::import::run(args),
        Command::Sim(args) => cmd::sim::run(args),
        Command::Serve(args) => cmd::serve::run(args),
        Command::Query(args) => cmd::query::run(args),
        Command::Ingest(args) => cmd::ingest::run(args),
        Command::Lake(args) => cmd::lake::run(args),
    };
    done.map(|()| ExitCode::SUCCESS)
}

/// `--check`: everything a start would validate, without binding a port or touching the lake.
fn check(command: &Command) -> anyhow::Result<()> {
    match command {
        Command::Sim(args) => cmd::sim::check(args),
        Command::Ingest(args) => cmd::ingest::check(args),
        Command::Serve(args) => cmd::serve::check(args),
        other => {
            println!("ok: {other:?}");
            Ok(())
        }
    }
}
