//! `dss-lake sim`: run the DSS emulator until Ctrl-C, printing its stream keys and token.

use std::io::Write;

use anyhow::Context;
use dss_lake_sim::{Sim, SimArgs};

use super::process;

pub(crate) fn run(args: SimArgs) -> anyhow::Result<()> {
    process::init_logging("info");
    let listen = args.listen;
    let sim = Sim::new(args.clone().into_config()?)?;
    // Two workers: one for the generator and sockets, one for a local client or benchmark.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("dss-lake-sim")
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .with_context(|| format!("cannot listen on {listen}"))?;
        print_banner(&sim, &args, listener.local_addr()?)?;
        let shutdown = async {
            let _ = process::shutdown_signal().await;
        };
        sim.serve(listener, shutdown).await?;
        Ok(())
    })
}

/// What a user needs to connect: the addresses, the REST token and one stream key per
/// subscription (printed, never logged).
fn print_banner(sim: &Sim, args: &SimArgs, addr: std::net::SocketAddr) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "dss-lake sim: DSS emulator on {addr} (seed {}, rate {})",
        args.seed, args.rate
    )?;
    writeln!(out, "  REST:       http://{addr}/api/v1/subscriptions.json")?;
    writeln!(
        out,
        "  auth token: Authorization: auth_token {}",
        sim.auth_token()
    )?;
    writeln!(out, "  metrics:    http://{addr}/metrics")?;
    writeln!(out, "  subscriptions:")?;
    for s in sim.subscriptions() {
        writeln!(
            out,
            "    #{} {:<12} oem_model={} dsn={} property_name={}\n      ws://{addr}/stream?stream_key={}",
            s.id,
            s.subscription_type.dir_name(),
            s.oem_model,
            s.dsn,
            s.property_name,
            s.stream_key
        )?;
    }
    out.flush()
}

/// `--check`: the config validates and the emulator can be built; prints its subscriptions.
pub(crate) fn check(args: &SimArgs) -> anyhow::Result<()> {
    let sim = Sim::new(args.clone().into_config()?)?;
    println!(
        "ok: sim on {} with {} subscriptions",
        args.listen,
        sim.subscriptions().len()
    );
    for s in sim.subscriptions() {
        println!("  {} {}", s.subscription_type.dir_name(), s.stream_key);
    }
    Ok(())
}
