//! `dss-lake ingest`: hold every configured DSS stream and store each event in the lake exactly
//! once, until SIGINT or SIGTERM.

use std::path::PathBuf;

use anyhow::Context;
use dss_lake_ingest::{Config, Ingest, Overrides};
use tracing::{info, warn};

/// Flags of `dss-lake ingest`; everything else is in the config file.
#[derive(Debug, clap::Args)]
pub(crate) struct IngestArgs {
    /// The config file: TOML (lake, [[stream]] name/url/key|key_env|key_file, [flush],
    /// [connection], metrics_addr), or the DSS Collector's config.json array of
    /// {id, name, url, key}. A file holding keys must not be readable by group or others.
    #[arg(long, env = "DSS_LAKE_INGEST_CONFIG")]
    config: PathBuf,
    /// The lake's root folder; overrides `lake` of the file [default: the file's, else `lake`].
    #[arg(long, env = "DSS_LAKE_DIR")]
    lake: Option<PathBuf>,
    /// Address of `/metrics` and `/health`, or `off`; overrides `metrics_addr` of the file
    /// [default: the file's, else 127.0.0.1:9464].
    #[arg(long, env = "DSS_LAKE_METRICS_ADDR")]
    metrics_addr: Option<String>,
}

pub(crate) fn run(args: IngestArgs) -> anyhow::Result<()> {
    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .try_init();
    let overrides = Overrides {
        lake: args.lake,
        metrics_addr: args.metrics_addr,
    };
    let config = Config::load(&args.config, &overrides)?;
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
        let signal = shutdown_signal().await?;
        info!("{signal}: stopping reads and committing every stream (a second signal exits at once)");
        tokio::spawn(async {
            if let Ok(again) = shutdown_signal().await {
                // Committed files and checkpoints are atomic: the next start recovers.
                warn!("{again} again: exiting at once");
                std::process::exit(130);
            }
        });
        let summary = running.shutdown().await?;
        for stream in &summary.streams {
            let c = &stream.counts;
            println!(
                "{}: committed up to seq {}; {} events, {} duplicates dropped, {} gaps, {} quarantined",
                stream.name,
                stream.checkpoint.seq.map_or_else(|| "-".to_owned(), |s| s.to_string()),
                c.total_events(),
                c.duplicates,
                c.gaps,
                c.quarantined
            );
        }
        Ok(())
    })
}

/// Waits for SIGINT or SIGTERM and names it.
async fn shutdown_signal() -> std::io::Result<&'static str> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    Ok(tokio::select! {
        _ = term.recv() => "SIGTERM",
        _ = int.recv() => "SIGINT",
    })
}
