//! `dss-lake ingest`: hold every configured DSS stream and store each event in the lake exactly
//! once, until SIGINT or SIGTERM.

use std::path::PathBuf;

use anyhow::Context;
use dss_lake_ingest::{Config, Ingest, Overrides, Summary};
use dss_lake_units::{ByteSize, HumanDuration};
use tracing::info;

use super::process;

/// Flags of `dss-lake ingest`; everything else is in the config file. Each flag overrides the
/// file's setting and has no default of its own: what applies when neither gives one is
/// `dss_lake_ingest::Config::default()`, which `--check` prints.
#[derive(Debug, clap::Args)]
pub(crate) struct IngestArgs {
    /// The config file: TOML (lake, [[stream]] name/url/key|key_env|key_file, [flush],
    /// [connection], metrics_addr), or the DSS Collector's config.json array of
    /// {id, name, url, key}. A file holding keys must not be readable by group or others.
    #[arg(long, env = "DSS_LAKE_INGEST_CONFIG")]
    config: PathBuf,
    /// The lake's root folder; overrides `lake` of the file.
    #[arg(long, env = "DSS_LAKE_DIR")]
    lake: Option<PathBuf>,
    /// Address of `/metrics` and `/health`, or `off`; overrides `metrics_addr` of the file.
    #[arg(long, env = "DSS_LAKE_METRICS_ADDR")]
    metrics_addr: Option<String>,
    /// Commit a stream's batch at this many rows; overrides `flush.max_rows` of the file.
    #[arg(long, env = "DSS_LAKE_FLUSH_MAX_ROWS")]
    flush_max_rows: Option<usize>,
    /// Commit a stream's batch at this size of pending Arrow buffers (`64MiB`, `1048576`);
    /// overrides `flush.max_bytes`.
    #[arg(long, env = "DSS_LAKE_FLUSH_MAX_BYTES")]
    flush_max_bytes: Option<ByteSize>,
    /// Commit a stream's batch once its oldest row is this old (`10s`, `500ms`, `10`);
    /// overrides `flush.max_age`.
    #[arg(long, env = "DSS_LAKE_FLUSH_MAX_AGE")]
    flush_max_age: Option<HumanDuration>,
}

impl IngestArgs {
    fn load(&self) -> anyhow::Result<Config> {
        let overrides = Overrides {
            lake: self.lake.clone(),
            metrics_addr: self.metrics_addr.clone(),
            flush_max_rows: self.flush_max_rows,
            flush_max_bytes: self.flush_max_bytes,
            flush_max_age: self.flush_max_age,
        };
        Ok(Config::load(&self.config, &overrides)?)
    }
}

/// `--check`: the config file parses and validates (keys found, permissions right); prints the
/// settings that apply (the defaults included) and the streams with their keys redacted.
pub(crate) fn check(args: &IngestArgs) -> anyhow::Result<()> {
    let config = args.load()?;
    println!(
        "ok: ingest into {} with {} streams",
        config.lake.display(),
        config.streams.len()
    );
    let metrics = config
        .metrics_addr
        .map_or_else(|| "off".to_owned(), |a| a.to_string());
    println!(
        "  flush at {} rows, {} or {}; metrics {metrics}",
        config.flush.max_rows,
        ByteSize(config.flush.max_bytes as u64),
        HumanDuration(config.flush.max_age),
    );
    for stream in &config.streams {
        println!(
            "  {} {} key {}",
            stream.name,
            stream.url,
            stream.key.redacted()
        );
    }
    Ok(())
}

pub(crate) fn run(args: IngestArgs) -> anyhow::Result<()> {
    process::init_logging("info");
    let config = args.load()?;
    // Two workers are plenty: socket tasks only move bytes; decoding and writing run on each
    // stream's own threads.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("dss-lake-ingest")
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let lake = config.lake.clone();
        let running = Ingest::start(config)
            .await
            .with_context(|| format!("starting ingest into {}", lake.display()))?;
        let signal = process::shutdown_signal().await?;
        info!(
            "{signal}: stopping reads and committing every stream (a second signal exits at once)"
        );
        process::exit_on_second_signal();
        let summary = running.shutdown().await?;
        print_summary(&summary);
        Ok(())
    })
}

/// One line per stream: what is committed and what was dropped, merged or set aside.
pub(crate) fn print_summary(summary: &Summary) {
    for stream in &summary.streams {
        let c = &stream.counts;
        println!(
            "{}: committed up to seq {}; {} events, {} duplicates dropped, {} gaps, {} quarantined",
            stream.name,
            stream
                .checkpoint
                .seq
                .map_or_else(|| "-".to_owned(), |s| s.to_string()),
            c.total_events(),
            c.duplicates,
            c.gaps,
            c.quarantined
        );
    }
}
