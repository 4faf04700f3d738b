//! What every long-running subcommand shares: logging to stderr and the shutdown signals.

/// Structured logs on stderr (stdout is for what a user copies: banners, summaries); `RUST_LOG`
/// overrides `default_filter`.
pub(crate) fn init_logging(default_filter: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_filter));
    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(filter)
        .try_init();
}

/// Waits for SIGINT (Ctrl-C) or SIGTERM (`docker stop`, systemd) and names it.
pub(crate) async fn shutdown_signal() -> std::io::Result<&'static str> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    Ok(tokio::select! {
        _ = term.recv() => "SIGTERM",
        _ = int.recv() => "SIGINT",
    })
}

/// After the first signal: a second one exits at once. Committed files and checkpoints are
/// atomic, so the next start recovers whatever was in flight.
pub(crate) fn exit_on_second_signal() {
    tokio::spawn(async {
        if let Ok(again) = shutdown_signal().await {
            tracing::warn!("{again} again: exiting at once");
            std::process::exit(130);
        }
    });
}
