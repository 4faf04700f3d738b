//! `dss-lake ingest` as a user runs it: the real binary against `dss-lake sim` in another
//! process, over loopback, with dropped connections, `kill -9` at random moments and SIGTERM;
//! checked by reading `seq` back from the Parquet files against the seqs the emulator's
//! `/metrics` says it sent.

use std::collections::BTreeMap;
use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::common::{BIN, Process};
use dss_lake_schema::StreamName;

/// The emulator in its own process; killed on drop.
struct SimProcess {
    _process: Process,
    /// (subscription type, ws URL with the key), from its banner.
    streams: Vec<(String, String)>,
}

impl SimProcess {
    fn start(extra: &[&str]) -> SimProcess {
        let mut process = Process::spawn(
            Command::new(BIN)
                .args([
                    "sim",
                    "--listen",
                    "127.0.0.1:0",
                    "--rate",
                    "3000",
                    "--heartbeat-secs",
                    "100ms",
                ])
                .args(["--stats-secs", "0", "--replay-buffer", "200000"])
                .args(extra)
                .stdout(Stdio::piped())
                .stderr(Stdio::null()),
        );
        let mut lines = process.stdout_lines();
        let mut streams = Vec::new();
        let mut kind = String::new();
        while streams.len() < 5 {
            let line = lines.next().expect("the banner").unwrap();
            let line = line.trim();
            if line.starts_with('#') {
                kind = line.split_whitespace().nth(1).unwrap().to_owned();
            } else if line.starts_with("ws://") {
                streams.push((kind.clone(), line.to_owned()));
            }
        }
        SimProcess {
            _process: process,
            streams,
        }
    }

    /// Its Prometheus text, from `/metrics` on the address its stream URLs name.
    fn metrics(&self) -> String {
        let (_, url) = &self.streams[0];
        let addr = url
            .strip_prefix("ws://")
            .unwrap()
            .split('/')
            .next()
            .unwrap();
        let url = format!("http://{addr}/metrics");
        ureq::get(&url)
            .call()
            .unwrap_or_else(|e| panic!("GET {url}: {e}"))
            .body_mut()
            .read_to_string()
            .unwrap()
    }
}

/// The value of the per-subscription metric `name` for the emulator's one subscription of type
/// `kind` (`name{subscription="<id>",type="<kind>"} <value>`); `None` without such a sample.
fn sim_gauge(metrics: &str, name: &str, kind: &str) -> Option<u64> {
    let (prefix, labels) = (format!("{name}{{"), format!(",type=\"{kind}\"}} "));
    let values: Vec<u64> = metrics
        .lines()
        .filter(|line| line.starts_with(&prefix))
        .filter_map(|line| line.split_once(&labels))
        .map(|(_, value)| value.parse::<u64>().unwrap())
        .collect();
    assert!(
        values.len() <= 1,
        "{name}: several {kind} subscriptions:\n{metrics}"
    );
    values.first().copied()
}

/// Writes a private config with the streams of `types`.
fn write_config(dir: &Path, sim: &SimProcess, types: &[&str]) -> std::path::PathBuf {
    let mut text = String::from(
        "metrics_addr = \"off\"\nshutdown_timeout = \"10s\"\n\
         [flush]\nmax_rows = 3000\nmax_age = \"300ms\"\n\
         [connection]\nheartbeat_interval = \"100ms\"\nwatchdog_heartbeats = 10\n\
         backoff_initial = \"10ms\"\nbackoff_max = \"200ms\"\n",
    );
    for (kind, url) in sim
        .streams
        .iter()
        .filter(|(k, _)| types.contains(&k.as_str()))
    {
        let (base, key) = url.split_once("?stream_key=").unwrap();
        text.push_str(&format!(
            "[[stream]]\nname = \"{kind}\"\nurl = \"{base}\"\nkey = \"{key}\"\n"
        ));
    }
    let path = dir.join("ingest.toml");
    std::fs::write(&path, text).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    path
}

/// `dss-lake ingest` with stdout piped and its log in `<lake>.log` (a file, so a chatty log
/// can never fill a pipe and stall it).
fn ingest(config: &Path, lake: &Path) -> Process {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(lake.with_extension("log"))
        .unwrap();
    Process::spawn(
        Command::new(BIN)
            .arg("ingest")
            .arg("--config")
            .arg(config)
            .arg("--lake")
            .arg(lake)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(log),
    )
}

/// SIGTERM; must exit 0 within 10 s. Returns stdout and how long the exit took.
fn terminate(mut ingest: Process, lake: &Path) -> (String, Duration) {
    let (status, took) = ingest.stop("TERM", Duration::from_secs(10));
    let mut stdout = String::new();
    ingest
        .child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut stdout)
        .unwrap();
    let log = std::fs::read_to_string(lake.with_extension("log")).unwrap_or_default();
    assert!(status.success(), "exit {status}: {stdout}\n{log}");
    (stdout, took)
}

/// Every stream of `types` holds exactly the seqs the emulator sent on its subscription (one
/// run, as `/metrics` reports it), from the first sent up to the stream's checkpoint, each once;
/// returns the number of events per stream. The run starts at the emulator's first seq, not the
/// lake's: a lake that lost its first commits would still look contiguous from its own first.
fn assert_exactly_once(sim: &SimProcess, lake: &Path, types: &[&str]) -> BTreeMap<String, usize> {
    let metrics = sim.metrics();
    let seqs = dss_lake_test_support::delta::seqs_by_stream(lake);
    let mut counts = BTreeMap::new();
    for kind in types {
        let sent =
            |name: &str| sim_gauge(&metrics, &format!("dss_sim_subscription_sent_{name}"), kind);
        let ranges = sent("ranges")
            .unwrap_or_else(|| panic!("{kind}: no such subscription in the emulator's /metrics"));
        assert_eq!(
            ranges, 1,
            "{kind}: the emulator sent {ranges} disjoint runs of seq, not one"
        );
        let (first_sent, last_sent) = (sent("first_seq").unwrap(), sent("last_seq").unwrap());
        let stream = StreamName::parse(kind).unwrap();
        let last = dss_lake_lake::Checkpoint::load(lake, &stream)
            .unwrap()
            .seq
            .unwrap_or_else(|| panic!("{kind}: the checkpoint is empty, nothing was committed"));
        assert!(
            last <= last_sent,
            "{kind}: checkpoint at {last}, past the last seq sent ({last_sent})"
        );
        let got = seqs
            .get(*kind)
            .unwrap_or_else(|| panic!("{kind}: no rows in the lake"));
        // Exactly the seqs from the first one sent to the checkpoint: losing the earliest
        // commits fails here as much as a duplicate does.
        dss_lake_test_support::lake::assert_exactly_once(kind, got, first_sent..=last);
        counts.insert(kind.to_string(), got.len());
    }
    counts
}

/// A pseudo-random number from the clock, for "random moments".
fn random_below(n: u64) -> u64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos() as u64;
    (nanos.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 32) % n
}

/// Runs ingest against `sim` for `secs`, then SIGTERM; every seq exactly once. Returns the
/// events per stream and the daemon's log, which must never hold a whole stream key.
fn ingest_for(sim: &SimProcess, secs: u64, types: &[&str]) -> (BTreeMap<String, usize>, String) {
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    let config = write_config(dir.path(), sim, types);
    let child = ingest(&config, &lake);
    std::thread::sleep(Duration::from_secs(secs));
    terminate(child, &lake);
    let log = std::fs::read_to_string(lake.with_extension("log")).unwrap();
    for (_, url) in &sim.streams {
        let key = url.split_once("?stream_key=").unwrap().1;
        assert!(!log.contains(key), "a whole stream key in the log:\n{log}");
    }
    (assert_exactly_once(sim, &lake, types), log)
}

#[test]
fn connections_dropped_every_2000_events_leave_every_seq_exactly_once() {
    let sim = SimProcess::start(&["--fault-close-every", "2000"]);
    let (counts, log) = ingest_for(&sim, 4, &["datapoint", "connectivity"]);
    // Past the second drop: the stream resumed at least twice.
    assert!(counts["datapoint"] > 4000, "{counts:?}");
    assert!(log.contains("reconnecting"), "{log}");
}

#[test]
fn heartbeats_stop_and_the_watchdog_reconnects_without_loss() {
    // After 1,500 events a connection goes silent but stays open (half-open); the watchdog
    // gives up after 10 heartbeat intervals (1 s) and reconnects with seq_start.
    let sim = SimProcess::start(&["--fault-freeze-every", "1500"]);
    let (counts, log) = ingest_for(&sim, 5, &["datapoint"]);
    assert!(counts["datapoint"] > 3000, "{counts:?}");
    assert!(log.matches("(watchdog)").count() >= 2, "{log}");
}

#[test]
fn kill_9_at_random_moments_and_dropped_connections_leave_every_seq_exactly_once() {
    let sim = SimProcess::start(&["--fault-close-every", "2000"]);
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    let types = ["datapoint", "connectivity"];
    let config = write_config(dir.path(), &sim, &types);
    for round in 0..4 {
        // Dropping the process kills it with SIGKILL.
        let child = ingest(&config, &lake);
        if round == 0 {
            // A run killed before its first commit leaves no checkpoint, so the next one starts
            // live at the emulator's head and what the first was sent is rightly not in the
            // lake; the exact check wants one unbroken run of sent seqs per stream.
            let deadline = std::time::Instant::now() + Duration::from_secs(30);
            while !types.iter().all(|kind| {
                let stream = StreamName::parse(kind).unwrap();
                dss_lake_lake::Checkpoint::load(&lake, &stream).is_ok_and(|c| c.seq.is_some())
            }) {
                assert!(std::time::Instant::now() < deadline, "no first commit");
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        std::thread::sleep(Duration::from_millis(400 + random_below(1200)));
        drop(child);
    }
    let child = ingest(&config, &lake);
    std::thread::sleep(Duration::from_millis(1500));
    let (stdout, _) = terminate(child, &lake);
    assert!(
        stdout.contains("datapoint: committed up to seq"),
        "{stdout}"
    );
    let counts = assert_exactly_once(&sim, &lake, &types);
    assert!(counts["datapoint"] > 5000, "{counts:?}");
}

#[test]
fn sigterm_exits_0_promptly_with_everything_received_committed() {
    let sim = SimProcess::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    let types = ["datapoint", "connectivity", "location"];
    let config = write_config(dir.path(), &sim, &types);
    let child = ingest(&config, &lake);
    std::thread::sleep(Duration::from_millis(1500));
    let (stdout, took) = terminate(child, &lake);
    assert!(took < Duration::from_secs(5), "shutdown took {took:?}");
    assert_exactly_once(&sim, &lake, &types);
    // What the daemon says it committed is what the lake holds.
    let line = stdout
        .lines()
        .find(|l| l.starts_with("datapoint:"))
        .unwrap();
    let printed: u64 = line
        .split("seq ")
        .nth(1)
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let max = *dss_lake_test_support::delta::seqs_by_stream(&lake)["datapoint"]
        .iter()
        .max()
        .unwrap();
    assert_eq!(printed, max, "{stdout}");
}

#[test]
fn a_config_with_keys_readable_by_others_is_refused_with_the_fix() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ingest.toml");
    let key = "0123456789abcdef0123456789abcdef";
    std::fs::write(
        &path,
        format!("[[stream]]\nname = \"a\"\nurl = \"ws://127.0.0.1:1/stream\"\nkey = \"{key}\"\n"),
    )
    .unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    let output = Command::new(BIN)
        .arg("ingest")
        .arg("--config")
        .arg(&path)
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("chmod 600"), "{stderr}");
    assert!(!stderr.contains(key));
}
