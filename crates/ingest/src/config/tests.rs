use std::collections::HashMap;
use std::os::unix::fs::PermissionsExt;

use super::*;
use dss_lake_units::ByteSize;

const KEY: &str = "0123456789abcdef0123456789abcdef";

/// Writes `text` to a file with `mode` and loads it with an empty environment.
fn load(text: &str, mode: u32, overrides: &Overrides) -> Result<Config> {
    load_with_env(text, mode, overrides, &HashMap::new())
}

/// [`load`] with `key_env` looked up in `env`, never in the process environment, which other
/// test threads read while this one runs.
fn load_with_env(
    text: &str,
    mode: u32,
    overrides: &Overrides,
    env: &HashMap<&str, &str>,
) -> Result<Config> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ingest.toml");
    std::fs::write(&path, text).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
    let lookup = |name: &str| env.get(name).map(|v| (*v).to_owned());
    Config::load_with_env(&path, overrides, &lookup)
}

fn err(text: &str) -> String {
    load(text, 0o600, &Overrides::default())
        .unwrap_err()
        .to_string()
}

#[test]
fn a_minimal_file_gets_every_default() {
    let text = format!(
        "[[stream]]\nname = \"freezers\"\nurl = \"wss://h.example/stream\"\nkey = \"{KEY}\"\n"
    );
    let config = load(&text, 0o600, &Overrides::default()).unwrap();
    assert_eq!(config.lake, PathBuf::from("lake"));
    assert_eq!(
        config.metrics_addr,
        Some(DEFAULT_METRICS_ADDR.parse().unwrap())
    );
    assert_eq!(config.flush, FlushPolicy::default());
    assert_eq!(config.commit_retry, CommitRetry::default());
    assert_eq!(config.connection, ConnectionSettings::default());
    assert_eq!(config.streams[0].name.as_str(), "freezers");
    assert_eq!(config.streams[0].key.expose(), KEY);
}

#[test]
fn every_setting_and_the_overrides_reach_the_config() {
    let text = format!(
        "lake = \"/data/lake\"\nmetrics_addr = \"127.0.0.1:1\"\nshutdown_timeout = \"5s\"\n\
         [flush]\nmax_rows = 10\nmax_bytes = 1000\nmax_age = \"250ms\"\n\
         [commit_retry]\ninitial = \"5ms\"\nmax = \"2s\"\n\
         [connection]\nheartbeat_interval = \"1s\"\nwatchdog_heartbeats = 2\nbackoff_initial = \"10ms\"\n\
         backoff_max = \"1s\"\nconnect_timeout = \"2s\"\nmax_message_size = 4096\n\
         [[stream]]\nname = \"a\"\nurl = \"ws://127.0.0.1:1/stream\"\nkey = \"{KEY}\"\n"
    );
    let config = load(&text, 0o600, &Overrides::default()).unwrap();
    assert_eq!(config.lake, PathBuf::from("/data/lake"));
    assert_eq!(config.shutdown_timeout, Duration::from_secs(5));
    assert_eq!(config.flush.max_rows, 10);
    assert_eq!(config.flush.max_bytes, 1000);
    assert_eq!(config.flush.max_age, Duration::from_millis(250));
    assert_eq!(
        config.commit_retry,
        CommitRetry {
            initial: Duration::from_millis(5),
            max: Duration::from_secs(2),
        }
    );
    assert_eq!(config.connection.watchdog(), Duration::from_secs(2));
    assert_eq!(config.connection.max_message_size, 4096);

    let overrides = Overrides {
        lake: Some("/elsewhere".into()),
        metrics_addr: Some("off".into()),
        flush_max_rows: Some(20),
        flush_max_bytes: Some(ByteSize(2000)),
        flush_max_age: Some("1s".parse().unwrap()),
    };
    let config = load(&text, 0o600, &overrides).unwrap();
    assert_eq!(config.lake, PathBuf::from("/elsewhere"));
    assert_eq!(config.metrics_addr, None);
    assert_eq!(config.flush.max_rows, 20);
    assert_eq!(config.flush.max_bytes, 2000);
    assert_eq!(config.flush.max_age, Duration::from_secs(1));

    let zero_flag = Overrides {
        flush_max_age: Some("0s".parse().unwrap()),
        ..Overrides::default()
    };
    let message = load(&text, 0o600, &zero_flag).unwrap_err().to_string();
    assert!(message.contains("flush.max_age"), "{message}");
}

#[test]
fn sizes_and_durations_take_units_or_bare_numbers() {
    let text = format!(
        "shutdown_timeout = 5
[flush]
max_bytes = \"64MiB\"
max_age = \"0.5s\"
\
         [connection]
max_message_size = \"1MiB\"
heartbeat_interval = \"1m\"
backoff_max = 90
\
         [[stream]]
name = \"a\"
url = \"ws://127.0.0.1:1/stream\"
key = \"{KEY}\"
"
    );
    let config = load(&text, 0o600, &Overrides::default()).unwrap();
    assert_eq!(config.flush.max_bytes, 64 << 20);
    assert_eq!(config.flush.max_age, Duration::from_millis(500));
    assert_eq!(config.shutdown_timeout, Duration::from_secs(5));
    assert_eq!(config.connection.max_message_size, 1 << 20);
    assert_eq!(
        config.connection.heartbeat_interval,
        Duration::from_secs(60)
    );
    assert_eq!(config.connection.backoff_max, Duration::from_secs(90));
}

#[test]
fn an_unknown_field_a_bad_size_and_a_bad_duration_are_named_by_their_path() {
    let stream = format!("[[stream]]\nname = \"a\"\nurl = \"wss://h/stream\"\nkey = \"{KEY}\"\n");
    let cases = [
        (
            "[flush]\nmax_bites = 1\n",
            "`flush.max_bites`",
            "unknown field `max_bites`",
        ),
        (
            "[flush]\nmax_bytes = \"64 parsecs\"\n",
            "`flush.max_bytes`",
            "invalid size \"64 parsecs\"",
        ),
        (
            "[connection]\nbackoff_max = \"soon\"\n",
            "`connection.backoff_max`",
            "invalid duration \"soon\"",
        ),
        (
            "shutdown_timeout = \"-1s\"\n",
            "`shutdown_timeout`",
            "invalid duration",
        ),
        (
            "[flush]\nmax_bytes = 0\n",
            "`flush.max_bytes`",
            "more than zero",
        ),
    ];
    for (setting, field, reason) in cases {
        let message = err(&format!("{setting}{stream}"));
        assert!(message.contains(field), "{field} not named in: {message}");
        assert!(message.contains(reason), "{reason:?} not in: {message}");
        assert!(!message.contains(KEY), "key leaked: {message}");
    }
    // A misspelt field inside a stream names the stream too.
    let message = err(&format!("{stream}colour = 1\n"));
    assert!(
        message.contains("stream[0]") && message.contains("`colour`"),
        "{message}"
    );
    assert!(!message.contains(KEY), "key leaked: {message}");
}

#[test]
fn bad_values_are_refused_with_the_field_named_and_never_the_key() {
    let stream =
        |extra: &str| format!("[[stream]]\nname = \"a\"\nurl = \"wss://h/stream\"\n{extra}\n");
    let cases = [
        (stream(&format!("key = \"{KEY}\"\ncolour = 1")), "colour"),
        ("[[stream]]\nname = \"a\"\n".to_owned(), "url"),
        (
            stream(&format!("key = \"{KEY}\"\n[flush]\nmax_age = \"soon\"")),
            "flush.max_age",
        ),
        (
            stream(&format!(
                "key = \"{KEY}\"\n[connection]\nwatchdog_heartbeats = 0"
            )),
            "connection.watchdog_heartbeats",
        ),
        (
            stream(&format!(
                "key = \"{KEY}\"\n[commit_retry]\ninitial = \"1s\"\nmax = \"10ms\""
            )),
            "commit_retry.max",
        ),
        (
            format!("[[stream]]\nname = \"bad name\"\nurl = \"wss://h\"\nkey = \"{KEY}\""),
            "stream[0].name",
        ),
        (
            format!("[[stream]]\nname = \"a\"\nurl = \"http://h\"\nkey = \"{KEY}\""),
            "stream[0].url",
        ),
        (
            format!(
                "[[stream]]\nname = \"a\"\nurl = \"wss://h?stream_key={KEY}\"\nkey = \"{KEY}\""
            ),
            "stream[0].url",
        ),
        (stream("key_env = \"FREEZERS_KEY\""), "stream[0].key_env"),
        (stream(""), "stream[0].key"),
        (stream(&format!("key = \"{KEY}&x\"")), "stream[0].key"),
        (
            format!(
                "metrics_addr = \"nowhere\"\n{}",
                stream(&format!("key = \"{KEY}\""))
            ),
            "metrics_addr",
        ),
        ("lake = \"x\"\n".to_owned(), "stream"),
    ];
    for (text, field) in cases {
        let message = err(&text);
        assert!(message.contains(field), "{field} not named in: {message}");
        assert!(
            !message.contains("0123456789abcdef0123"),
            "key leaked: {message}"
        );
    }
    let twice = format!(
        "{}{}",
        stream(&format!("key = \"{KEY}\"")),
        stream(&format!("key = \"{KEY}\""))
    );
    assert!(err(&twice).contains("stream[1].name"));
}

#[test]
fn a_file_with_keys_readable_by_others_is_refused_with_the_chmod_fix() {
    let text = format!("[[stream]]\nname = \"a\"\nurl = \"wss://h/stream\"\nkey = \"{KEY}\"\n");
    let message = load(&text, 0o644, &Overrides::default())
        .unwrap_err()
        .to_string();
    assert!(
        message.contains("chmod 600") && message.contains("644"),
        "{message}"
    );
    assert!(load(&text, 0o640, &Overrides::default()).is_err());
    // Keys from the environment: the file holds no secret and may be world-readable.
    let text = "[[stream]]\nname = \"a\"\nurl = \"wss://h/stream\"\nkey_env = \"FREEZERS_KEY\"\n";
    let env = HashMap::from([("FREEZERS_KEY", KEY)]);
    let config = load_with_env(text, 0o644, &Overrides::default(), &env).unwrap();
    assert_eq!(config.streams[0].key.expose(), KEY);
}

#[test]
fn a_key_file_must_be_private_too() {
    let dir = tempfile::tempdir().unwrap();
    let key_file = dir.path().join("key");
    std::fs::write(&key_file, format!("{KEY}\n")).unwrap();
    std::fs::set_permissions(&key_file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let text = format!(
        "[[stream]]\nname = \"a\"\nurl = \"wss://h/stream\"\nkey_file = {:?}\n",
        key_file
    );
    assert!(err(&text).contains("chmod 600"));
    std::fs::set_permissions(&key_file, std::fs::Permissions::from_mode(0o600)).unwrap();
    let config = load(&text, 0o644, &Overrides::default()).unwrap();
    assert_eq!(config.streams[0].key.expose(), KEY);
}

#[test]
fn the_dss_collector_config_json_is_accepted() {
    let json = format!(
        r#"[{{"id": 1, "name": "Freezers EU", "url": "wss://stream-field-eu.aylanetworks.com/stream", "key": "{KEY}"}},
            {{"id": "2", "name": "", "url": "wss://stream.aylanetworks.com/stream?stream_key={KEY}", "key": "{KEY}", "extra": true}}]"#
    );
    let overrides = Overrides {
        lake: Some("/data".into()),
        ..Overrides::default()
    };
    let config = load(&json, 0o600, &overrides).unwrap();
    assert_eq!(config.lake, PathBuf::from("/data"));
    let names: Vec<&str> = config.streams.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["Freezers-EU", "stream-2"]);
    assert_eq!(
        config.streams[1].url,
        "wss://stream.aylanetworks.com/stream"
    );
    assert!(
        load(&json, 0o604, &overrides)
            .unwrap_err()
            .to_string()
            .contains("chmod 600")
    );
}
