//! A deterministic digital twin of an Ayla device fleet that generates DSS events: the corpus
//! generator behind dss-lake's tests, benches and emulator.
//!
//! Walk-in freezers (temperature random walk, door openings, `too_warm` alarms, setpoints), LED
//! boards (long unicode messages, brightness) and gateways (uptime, firmware) produce all five
//! DSS event types: datapoints (about 70%), their acks (mostly 200, sometimes failures),
//! devices going offline and online, registrations and unregistrations, location changes.
//! The JSON follows the protocol note (`shared/dss-protocol.md`) field for field. The same seed
//! always gives the same events, byte for byte, on every platform (ChaCha8, integer time).
//!
//! It does no I/O and knows nothing of sockets, subscriptions or time passing in the real world:
//! the clock is virtual. Data flow: [`Fleet::next_event`] updates one twin and renders its event
//! into a [`GeneratedEvent`], whose payload gets its `seq` when [`GeneratedEvent::write_payload`]
//! is called, and [`frame`] wraps it as `<LEN>|<payload>` the way DSS sends it.
//!
//! ```
//! use dss_lake_fleet::{Fleet, FleetConfig, frame};
//!
//! let mut fleet = Fleet::new(FleetConfig { seed: 7, ..FleetConfig::default() });
//! let event = fleet.next_event();
//! let payload = event.payload(1);
//! assert!(payload.starts_with(r#"{"seq":"1","metadata":{"oem_id":"1a2b3c4d""#));
//! assert!(frame(&payload).starts_with(&format!("{}|{{", payload.len())));
//!
//! // Deterministic: the same seed, the same frames.
//! assert_eq!(dss_lake_fleet::corpus(7, 100), dss_lake_fleet::corpus(7, 100));
//! ```

mod fleet;
mod render;
mod twins;

pub use fleet::Fleet;
pub use render::{GeneratedEvent, parse_timestamp, write_timestamp};

/// The shape of the simulated fleet and its virtual clock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FleetConfig {
    /// Seeds every random choice; the same config always produces the same events.
    pub seed: u64,
    /// Walk-in freezers (`oem_model` `walk-in-freezer`).
    pub freezers: usize,
    /// LED message boards (`oem_model` `led-board`).
    pub led_boards: usize,
    /// Gateways (`oem_model` `edge-gateway`).
    pub gateways: usize,
    /// `metadata.oem_id` of every event.
    pub oem_id: String,
    /// The virtual clock at the start, microseconds since the epoch (UTC).
    pub start_time_micros: i64,
    /// Mean virtual microseconds between consecutive events (each gap is uniform in
    /// `1..2 * mean`).
    pub mean_interval_micros: i64,
}

impl Default for FleetConfig {
    /// Seed 1; 200 freezers, 50 LED boards, 20 gateways; OEM `1a2b3c4d`; starting
    /// 2026-11-24T00:00:00Z with an event every 10 ms on average.
    fn default() -> FleetConfig {
        FleetConfig {
            seed: 1,
            freezers: 200,
            led_boards: 50,
            gateways: 20,
            oem_id: "1a2b3c4d".to_owned(),
            start_time_micros: dss_lake_schema::text::days_from_civil(2026, 11, 24)
                * 86_400_000_000,
            mean_interval_micros: 10_000,
        }
    }
}

/// Wraps a payload as a DSS message: `<LEN>|<payload>`, LEN its UTF-8 byte length.
pub fn frame(payload: &str) -> String {
    let mut out = String::with_capacity(payload.len() + 8);
    write_frame(payload, &mut out);
    out
}

/// Appends `<LEN>|<payload>` to `out`, LEN the payload's UTF-8 byte length.
pub fn write_frame(payload: &str, out: &mut String) {
    use std::fmt::Write as _;
    write!(out, "{}|", payload.len()).expect("writing to a String cannot fail");
    out.push_str(payload);
}

/// `count` framed messages of the default fleet seeded with `seed`, with seq `1..=count`.
pub fn corpus(seed: u64, count: usize) -> Vec<String> {
    let mut fleet = Fleet::new(FleetConfig {
        seed,
        ..FleetConfig::default()
    });
    (1..=count as u64)
        .map(|seq| {
            let mut out = String::new();
            fleet.next_event().write_frame(seq, &mut out);
            out
        })
        .collect()
}

#[cfg(test)]
mod tests;
