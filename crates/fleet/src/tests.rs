use std::collections::{HashMap, HashSet};

use serde_json::Value;

use super::*;

const N: usize = 20_000;

/// Splits a frame at its first `|` and checks that LEN is the payload's UTF-8 byte length.
fn unframe(frame: &str) -> &str {
    let (len, payload) = frame.split_once('|').expect("a frame has a |");
    assert_eq!(len.parse::<usize>().unwrap(), payload.len(), "{frame}");
    payload
}

fn parsed(seed: u64, count: usize) -> Vec<Value> {
    corpus(seed, count)
        .iter()
        .map(|f| serde_json::from_str(unframe(f)).unwrap())
        .collect()
}

fn is_timestamp(v: &Value) -> bool {
    let Some(s) = v.as_str() else { return false };
    let b = s.as_bytes();
    let base = b.len() >= 20 && b[4] == b'-' && b[10] == b'T' && b[13] == b':' && s.ends_with('Z');
    base && (b.len() == 20 || (b.len() == 24 && b[19] == b'.'))
}

fn is_uuid(v: &Value) -> bool {
    v.as_str().is_some_and(|s| {
        s.len() == 36
            && s.chars().enumerate().all(|(i, c)| match i {
                8 | 13 | 18 | 23 => c == '-',
                _ => c.is_ascii_digit() || ('a'..='f').contains(&c),
            })
    })
}

#[test]
fn the_same_seed_gives_the_same_frames_and_another_seed_differs() {
    assert_eq!(corpus(1, 2000), corpus(1, 2000));
    assert_ne!(corpus(1, 2000), corpus(2, 2000));
    let mut a = Fleet::new(FleetConfig::default());
    let mut b = Fleet::new(FleetConfig::default());
    for _ in 0..1000 {
        assert_eq!(a.next_event().payload(9), b.next_event().payload(9));
    }
}

#[test]
fn frame_len_is_the_utf8_byte_length() {
    assert_eq!(frame("Z"), "1|Z");
    assert_eq!(frame("é"), "2|é");
    let mut out = String::from("x");
    write_frame("{}", &mut out);
    assert_eq!(out, "x2|{}");
    let mut saw_multibyte = false;
    for f in corpus(3, N) {
        let payload = unframe(&f);
        saw_multibyte |= payload.len() != payload.chars().count();
    }
    assert!(saw_multibyte, "the corpus should hold non-ASCII payloads");
}

#[test]
fn an_event_frames_itself_like_frame_of_its_payload() {
    let mut fleet = Fleet::new(FleetConfig::default());
    for seq in [0, 1, 9, 10, 99, 100, 12_345, u64::MAX] {
        let event = fleet.next_event();
        let mut out = String::from("prefix");
        event.write_frame(seq, &mut out);
        assert_eq!(out, format!("prefix{}", frame(&event.payload(seq))));
        assert_eq!(event.payload_len(seq), event.payload(seq).len());
    }
}

#[test]
fn the_type_mix_is_mostly_datapoints_with_every_type_present() {
    let events = parsed(1, N);
    let mut counts: HashMap<String, usize> = HashMap::new();
    for e in &events {
        *counts
            .entry(e["metadata"]["event_type"].as_str().unwrap().to_owned())
            .or_default() += 1;
    }
    let share = |t: &str| counts.get(t).copied().unwrap_or(0) as f64 / N as f64;
    assert!((0.62..0.80).contains(&share("datapoint")), "{counts:?}");
    for t in ["datapointack", "connectivity", "location", "registration"] {
        assert!(share(t) > 0.02, "{t}: {counts:?}");
    }
    assert_eq!(counts.len(), 5, "{counts:?}");
}

#[test]
fn payload_sizes_are_realistic() {
    let sizes: Vec<usize> = corpus(1, N).iter().map(|f| unframe(f).len()).collect();
    let mean = sizes.iter().sum::<usize>() / sizes.len();
    assert!((300..=700).contains(&mean), "mean {mean}");
    assert!(sizes.iter().all(|&s| (200..=2000).contains(&s)));
}

#[test]
fn every_payload_has_the_documented_fields() {
    for (i, e) in parsed(5, N).iter().enumerate() {
        assert_eq!(e["seq"], Value::String((i + 1).to_string()));
        let meta = &e["metadata"];
        assert_eq!(meta["oem_id"], "1a2b3c4d");
        assert!(meta["oem_model"].is_string() && meta["resource_tags"].is_array());
        let dsn = meta["dsn"].as_str().unwrap();
        assert!(dsn.len() == 15 && dsn.starts_with("AC000W"), "{dsn}");
        let event_type = meta["event_type"].as_str().unwrap();
        let table = dss_lake_schema::Table::from_event_type(event_type).unwrap();
        let body = &e[table.body_key().unwrap()];
        let has_property = meta.get("property_name").is_some();
        assert_eq!(
            has_property,
            matches!(event_type, "datapoint" | "datapointack"),
            "{e}"
        );
        match event_type {
            "connectivity" => {
                assert!(is_timestamp(&body["event_time"]) && is_uuid(&body["user_uuid"]));
                assert!(body["status"] == "Online" || body["status"] == "Offline");
            }
            "datapoint" | "datapointack" => {
                assert!(meta["display_name"].is_string() && meta["base_type"].is_string());
                assert!(is_uuid(&body["id"]) && is_uuid(&body["user_uuid"]), "{e}");
                let device_time = &body["created_at_from_device"];
                assert!(device_time.is_null() || is_timestamp(device_time), "{e}");
                assert!(is_timestamp(&body["updated_at"]) && is_timestamp(&body["created_at"]));
                assert!(body["echo"].is_boolean() && body["closed"].is_boolean());
                assert!(body.get("value").is_some() && body["metadata"].is_object());
                if event_type == "datapointack" {
                    assert!(body["ack_message"].is_i64() && body["ack_status"].is_i64());
                    assert!(is_uuid(&body["ack_id"]) && is_timestamp(&body["acked_at"]));
                }
            }
            "location" => {
                assert_eq!(body["dsn"], meta["dsn"]);
                assert!(body["ip"].is_string() && body["provider"].is_string());
                for key in ["lat", "long"] {
                    let s = body[key].as_str().unwrap();
                    assert!(s.trim().parse::<f64>().is_ok(), "{key}: {s:?}");
                }
                assert!(is_uuid(&body["user_uuid"]) && is_timestamp(&body["created_at"]));
            }
            "registration" => {
                assert_eq!(body["dsn"], meta["dsn"]);
                assert!(body["user_uuid"].is_null() || is_uuid(&body["user_uuid"]));
                let registered = body["registered"].as_bool().unwrap();
                let at = if registered {
                    "registered_at"
                } else {
                    "unregistered_at"
                };
                assert!(is_timestamp(&body[at]), "{e}");
                let kinds = ["AP-Mode", "Same-LAN", "Button-Push", "Display", "Dsn"];
                assert!(kinds.contains(&body["registration_type"].as_str().unwrap()));
            }
            other => panic!("unexpected event type {other}"),
        }
    }
}

#[test]
fn values_cover_the_awkward_cases() {
    let events = parsed(1, N);
    let dps = || {
        events
            .iter()
            .filter(|e| e["metadata"]["event_type"] == "datapoint")
            .map(|e| {
                let prop = e["metadata"]["property_name"].as_str().unwrap();
                (prop, &e["datapoint"])
            })
    };
    let any = |f: &dyn Fn(&str, &Value) -> bool| dps().any(|(p, b)| f(p, b));
    assert!(any(&|_, b| b["value"].is_null()), "a null value");
    assert!(
        any(&|_, b| b["created_at_from_device"].is_null()),
        "a null device time"
    );
    assert!(
        any(&|p, b| p == "brightness" && b["value"].is_string()),
        "numeric string"
    );
    assert!(
        any(&|p, b| p == "too_warm" && b["value"] == 1),
        "a too_warm alarm"
    );
    assert!(
        any(&|p, b| p == "too_warm" && b["value"].is_boolean()),
        "true/false boolean"
    );
    assert!(
        any(&|p, b| p == "door" && b["value"] == "open"),
        "an open door"
    );
    assert!(
        any(&|p, b| p == "temp_c" && b["value"].is_f64()),
        "a decimal temperature"
    );
    assert!(
        any(&|_, b| b["value"].as_str().is_some_and(|s| s.contains("|Z"))),
        "|Z inside"
    );
    let acks: Vec<i64> = events
        .iter()
        .filter_map(|e| e.get("datapoint")?.get("ack_status")?.as_i64())
        .collect();
    assert!(acks.iter().filter(|&&s| s == 200).count() * 10 > acks.len() * 8);
    assert!(acks.iter().any(|&s| s >= 400));
    let stamps: HashSet<usize> = events
        .iter()
        .filter_map(|e| Some(e.get("datapoint")?["updated_at"].as_str()?.len()))
        .collect();
    assert_eq!(
        stamps,
        HashSet::from([20, 24]),
        "whole seconds and millisecond fractions"
    );
    let tags = events
        .iter()
        .map(|e| e["metadata"]["resource_tags"].as_array().unwrap().len());
    assert!(tags.clone().any(|n| n == 0) && tags.clone().any(|n| n > 0));
}

#[test]
fn devices_speak_only_while_online_and_connectivity_alternates() {
    let mut online: HashMap<String, bool> = HashMap::new();
    let (mut offline_events, mut unregistrations) = (0, 0);
    for e in parsed(11, N) {
        let dsn = e["metadata"]["dsn"].as_str().unwrap().to_owned();
        match e["metadata"]["event_type"].as_str().unwrap() {
            "connectivity" => {
                let now_online = e["connection"]["status"] == "Online";
                let was = online.insert(dsn.clone(), now_online).unwrap_or(true);
                assert_ne!(was, now_online, "{dsn} reported the status it already had");
                offline_events += usize::from(!now_online);
            }
            "datapoint" => {
                assert!(
                    online.get(&dsn).copied().unwrap_or(true),
                    "{dsn} spoke while offline"
                );
            }
            "registration" => {
                unregistrations += usize::from(e["registration_event"]["registered"] == false)
            }
            _ => {}
        }
    }
    assert!(offline_events > 10 && unregistrations > 10);
}

#[test]
fn the_virtual_clock_advances_by_the_mean_interval() {
    let config = FleetConfig::default();
    let mut fleet = Fleet::new(config.clone());
    let mut last = config.start_time_micros;
    for _ in 0..10_000 {
        let event = fleet.next_event();
        assert!(event.time_micros > last);
        last = event.time_micros;
    }
    let mean = (last - config.start_time_micros) / 10_000;
    assert!((9_000..11_000).contains(&mean), "{mean}");
    assert_eq!(fleet.now_micros(), last);
}
