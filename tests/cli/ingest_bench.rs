//! The end-to-end ingest benchmark: `dss-lake sim --rate max` over loopback into
//! `dss-lake ingest` (both real processes), measuring the ingest process only: events per
//! second, CPU seconds per million events (utime + stime from /proc/<pid>/stat) and peak RSS
//! (VmHWM from /proc/<pid>/status). Prints a table. Ignored by default; run it with
//!
//! ```text
//! cargo test --release --test cli ingest_bench -- --ignored --nocapture
//! ```

use std::io::{Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::{BIN, Process};

/// Time to connect and reach a steady state before measuring.
const WARMUP: Duration = Duration::from_secs(2);
/// The measured window.
const WINDOW: Duration = Duration::from_secs(10);
/// Target of issue 5: events per CPU-second of the ingest process.
const TARGET_EVENTS_PER_CPU_SECOND: f64 = 200_000.0;

#[test]
#[ignore = "a benchmark: run with --ignored --nocapture, preferably --release"]
fn ingest_end_to_end_benchmark() {
    let mut sim = Process::spawn(
        Command::new(BIN)
            .args(["sim", "--listen", "127.0.0.1:0", "--rate", "max"])
            .args(["--stats-secs", "0", "--subscription", "datapoint"])
            .args(["--heartbeat-secs", "30"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null()),
    );
    let mut lines = sim.stdout_lines();
    let url = loop {
        let line = lines.next().expect("the sim banner").unwrap();
        if let Some(url) = line.trim().strip_prefix("ws://") {
            break url.to_owned();
        }
    };
    let (base, key) = url.split_once("?stream_key=").unwrap();
    let metrics_port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("ingest.toml");
    std::fs::write(
        &config,
        format!(
            "metrics_addr = \"127.0.0.1:{metrics_port}\"\n[[stream]]\nname = \"bench\"\n\
             url = \"ws://{base}\"\nkey = \"{key}\"\n"
        ),
    )
    .unwrap();
    std::fs::set_permissions(&config, std::fs::Permissions::from_mode(0o600)).unwrap();
    let mut ingest = Process::spawn(
        Command::new(BIN)
            .arg("ingest")
            .arg("--config")
            .arg(&config)
            .arg("--lake")
            .arg(dir.path().join("lake"))
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null()),
    );
    let pid = ingest.child.id();
    std::thread::sleep(WARMUP);
    let sim_cpu0 = cpu_seconds(sim.child.id());
    let (events0, cpu0, t0) = (events(metrics_port), cpu_seconds(pid), Instant::now());
    std::thread::sleep(WINDOW);
    let (events1, cpu1, elapsed) = (events(metrics_port), cpu_seconds(pid), t0.elapsed());
    let sim_cpu = cpu_seconds(sim.child.id()) - sim_cpu0;
    let peak_rss_mib = peak_rss_kib(pid) as f64 / 1024.0;
    let (stopped, _) = ingest.stop("TERM", Duration::from_secs(30));
    drop(sim);

    let events = (events1 - events0) as f64;
    let cpu = cpu1 - cpu0;
    let per_cpu_second = events / cpu;
    println!(
        "\ningest end to end: dss-lake sim --rate max -> loopback -> dss-lake ingest (1 stream)"
    );
    println!("| measure                         | value        |");
    println!("|---------------------------------|--------------|");
    println!(
        "| events in {:>4.1} s window         | {:>12.0} |",
        elapsed.as_secs_f64(),
        events
    );
    println!(
        "| events/s                        | {:>12.0} |",
        events / elapsed.as_secs_f64()
    );
    println!("| ingest CPU s                    | {:>12.2} |", cpu);
    println!(
        "| CPU s per million events        | {:>12.2} |",
        cpu / events * 1e6
    );
    println!(
        "| events per CPU-second           | {:>12.0} |",
        per_cpu_second
    );
    println!(
        "| peak RSS (VmHWM) MiB            | {:>12.1} |",
        peak_rss_mib
    );
    // The baseline, same run: the emulator only formats and sends what ingest receives,
    // decodes, sorts, compresses and commits.
    println!("| emulator CPU s (same window)    | {:>12.2} |", sim_cpu);
    println!(
        "| ingest CPU / emulator CPU       | {:>11.2}x |",
        cpu / sim_cpu
    );
    println!(
        "| exit after SIGTERM              | {:>12} |",
        stopped.to_string()
    );
    println!(
        "target: >= {TARGET_EVENTS_PER_CPU_SECOND} events per CPU-second, < 500 MiB: {}",
        if per_cpu_second >= TARGET_EVENTS_PER_CPU_SECOND && peak_rss_mib < 500.0 {
            "met"
        } else {
            "NOT met"
        }
    );
    assert!(stopped.success());
}

/// Sum of `dss_lake_ingest_events_total` from `/metrics`.
fn events(port: u16) -> u64 {
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(
        stream,
        "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut text = String::new();
    stream.read_to_string(&mut text).unwrap();
    text.lines()
        .filter(|l| l.starts_with("dss_lake_ingest_events_total{"))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
        .sum()
}

/// utime + stime of `pid`, in seconds.
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    // Fields after the `(comm)`, which may hold spaces: state is field 3, utime 14, stime 15.
    let rest = &stat[stat.rfind(')').unwrap() + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
    let getconf = Command::new("getconf").arg("CLK_TCK").output().unwrap();
    let hz: f64 = String::from_utf8_lossy(&getconf.stdout)
        .trim()
        .parse()
        .unwrap();
    ticks as f64 / hz
}

fn peak_rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap()
}
