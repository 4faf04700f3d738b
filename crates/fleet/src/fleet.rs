//! The fleet: devices with owners and places, a virtual clock, and the choice of what happens
//! next (a datapoint, an ack, a device going offline, a registration, a move).

use std::collections::VecDeque;

use dss_lake_schema::Table;
use rand::{Rng, RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::FleetConfig;
use crate::render::{Body, GeneratedEvent, Head, Stamp, uuid};
use crate::twins::{FollowUp, Prop, Report, Twin};

/// Where devices stand: name, latitude, longitude.
const SITES: [(&str, f64, f64); 6] = [
    ("berlin", 52.520008, 13.404954),
    ("paris", 48.856600, 2.352200),
    ("chicago", 41.878100, -87.629800),
    ("sydney", -33.868800, 151.209300),
    ("sao-paulo", -23.550500, -46.633300),
    ("tokyo", 35.676200, 139.650300),
];

const REGISTRATION_TYPES: [&str; 5] = ["AP-Mode", "Same-LAN", "Button-Push", "Display", "Dsn"];

/// Acks not yet sent are kept up to this many; older ones are forgotten (the device never
/// answered), which also keeps memory flat however long the fleet runs.
const MAX_PENDING_ACKS: usize = 1024;

/// A datapoint's body fields, kept so that its ack can repeat them.
#[derive(Debug, Clone)]
struct Datapoint {
    device: usize,
    prop: Prop,
    id: String,
    created_at: Stamp,
    value: String,
}

#[derive(Debug)]
struct Device {
    dsn: String,
    user_uuid: String,
    /// The JSON text of the device's `resource_tags`.
    tags: String,
    lat: f64,
    long: f64,
    ip: String,
    online: bool,
    registered: bool,
    twin: Twin,
}

/// A deterministic simulation of a device fleet; each call to [`Fleet::next_event`] advances it
/// by one event.
#[derive(Debug)]
pub struct Fleet {
    config: FleetConfig,
    rng: ChaCha8Rng,
    devices: Vec<Device>,
    now: i64,
    /// Consequences of the last changes, emitted before anything new happens.
    follow_ups: VecDeque<(usize, FollowUp)>,
    /// Cloud-set datapoints waiting for the device's ack, oldest first.
    pending_acks: VecDeque<Datapoint>,
}

impl Fleet {
    /// A fleet in its initial state; the same config always produces the same events.
    pub fn new(config: FleetConfig) -> Fleet {
        let mut rng = ChaCha8Rng::seed_from_u64(config.seed);
        let now = config.start_time_micros;
        let kinds = [config.freezers, config.led_boards, config.gateways];
        let first_dsn: u64 = rng.random_range(100_000..800_000);
        let mut devices = Vec::with_capacity(kinds.iter().sum());
        for (kind, &count) in kinds.iter().enumerate() {
            for _ in 0..count {
                let dsn = format!("AC000W{:09}", first_dsn + devices.len() as u64);
                devices.push(Device::new(dsn, kind, now, &mut rng));
            }
        }
        Fleet {
            config,
            rng,
            devices,
            now,
            follow_ups: VecDeque::new(),
            pending_acks: VecDeque::new(),
        }
    }

    /// The configuration the fleet was built with.
    pub fn config(&self) -> &FleetConfig {
        &self.config
    }

    /// The virtual clock: microseconds since the epoch of the last event.
    pub fn now_micros(&self) -> i64 {
        self.now
    }

    /// Advances the simulation and its virtual clock by one event and returns it.
    ///
    /// # Panics
    /// If the fleet has no device at all.
    pub fn next_event(&mut self) -> GeneratedEvent {
        assert!(
            !self.devices.is_empty(),
            "a fleet needs at least one device"
        );
        let mean = self.config.mean_interval_micros;
        self.now += if mean > 1 {
            self.rng.random_range(1..2 * mean)
        } else {
            mean.max(0)
        };

        while let Some((device, follow)) = self.follow_ups.pop_front() {
            let d = &mut self.devices[device];
            if d.online
                && let Some(report) = d.twin.follow_up(follow, &mut self.rng)
            {
                return self.datapoint(device, report);
            }
        }
        match self.rng.random_range(0..100u32) {
            0..70 => self.device_datapoint(),
            70..80 => self.ack(),
            80..88 => self.connectivity(),
            88..94 => self.registration(),
            _ => self.location(),
        }
    }

    fn random_device(&mut self) -> usize {
        self.rng.random_range(0..self.devices.len() as u64) as usize
    }

    /// A datapoint from a device that is online and registered; if the first few picks are not,
    /// the last one comes back online instead, so the stream stays consistent.
    fn device_datapoint(&mut self) -> GeneratedEvent {
        let mut device = self.random_device();
        for _ in 0..8 {
            if self.devices[device].online && self.devices[device].registered {
                break;
            }
            device = self.random_device();
        }
        let d = &self.devices[device];
        if !d.online {
            return self.set_online(device, true);
        }
        if !d.registered {
            return self.set_registered(device, true);
        }
        let (report, follow) = self.devices[device].twin.step(self.now, &mut self.rng);
        if let Some(follow) = follow {
            self.follow_ups.push_back((device, follow));
        }
        self.datapoint(device, report)
    }

    fn stamp(&mut self, micros: i64) -> Stamp {
        Stamp {
            micros,
            millis: self.rng.random_bool(0.2),
        }
    }

    fn datapoint(&mut self, device: usize, report: Report) -> GeneratedEvent {
        let created_at = self.stamp(self.now);
        let id = uuid(&mut self.rng);
        let value = if self.rng.random_bool(0.003) {
            "null".to_owned()
        } else {
            report.value
        };
        let dp = Datapoint {
            device,
            prop: report.prop,
            id,
            created_at,
            value,
        };
        let event = self.render_datapoint(&dp, None);
        if report.from_cloud {
            if self.pending_acks.len() == MAX_PENDING_ACKS {
                self.pending_acks.pop_front();
            }
            self.pending_acks.push_back(dp);
        }
        event
    }

    /// The ack of the oldest cloud-set datapoint; 200 mostly, sometimes a failure.
    fn ack(&mut self) -> GeneratedEvent {
        let dp = match self.pending_acks.pop_front() {
            Some(dp) => dp,
            None => {
                // Nothing was set lately: acknowledge a value set before the simulation began.
                let device = self.random_device();
                let (prop, value) = self.devices[device].twin.settable();
                let created_at = Stamp {
                    micros: self.now - 2_000_000,
                    millis: false,
                };
                Datapoint {
                    device,
                    prop,
                    id: uuid(&mut self.rng),
                    created_at,
                    value,
                }
            }
        };
        let status = match self.rng.random_range(0..100u32) {
            0..92 => 200,
            92..95 => 400,
            95..97 => 404,
            97..99 => 500,
            _ => 503,
        };
        let message = if status == 200 {
            0
        } else {
            self.rng.random_range(1..256)
        };
        let acked_at = Stamp {
            micros: self.now,
            millis: true,
        };
        self.render_datapoint(&dp, Some((status, message, acked_at)))
    }

    fn render_datapoint(
        &mut self,
        dp: &Datapoint,
        ack: Option<(i64, i64, Stamp)>,
    ) -> GeneratedEvent {
        let device_time = if self.rng.random_bool(0.15) {
            None
        } else {
            let lag = self.rng.random_range(50_000..900_000);
            Some(Stamp {
                micros: dp.created_at.micros - lag,
                millis: true,
            })
        };
        // A datapoint is updated when it is created; an ack updates it later.
        let updated_at = if ack.is_some() {
            self.stamp(self.now)
        } else {
            dp.created_at
        };
        let echo = dp.prop.to_device() && ack.is_none() && self.rng.random_bool(0.1);
        let closed = self.rng.random_bool(0.02);
        let metadata = if self.rng.random_bool(0.9) {
            "{}"
        } else {
            r#"{"origin":"mobile-app"}"#
        };
        let d = &self.devices[dp.device];
        let table = if ack.is_some() {
            Table::Datapointack
        } else {
            Table::Datapoint
        };
        let head = d.head(&self.config.oem_id, table, Some(dp.prop));
        let mut body = Body::start(&head);
        body.str("id", &dp.id)
            .opt_time("created_at_from_device", device_time)
            .time("updated_at", updated_at)
            .time("created_at", dp.created_at)
            .str("user_uuid", &d.user_uuid)
            .bool("echo", echo)
            .bool("closed", closed)
            .raw("value", &dp.value)
            .raw("metadata", metadata);
        if let Some((status, message, acked_at)) = ack {
            let ack_id = uuid(&mut self.rng);
            body.int("ack_message", message)
                .int("ack_status", status)
                .str("ack_id", &ack_id)
                .time("acked_at", acked_at);
        }
        GeneratedEvent::new(&head, self.now, body.finish())
    }

    /// A device goes offline or comes back. Picks until something changes, with odds that keep
    /// about one device in ten offline: an offline pick always returns, an online one leaves
    /// one time in ten.
    fn connectivity(&mut self) -> GeneratedEvent {
        loop {
            let device = self.random_device();
            if !self.devices[device].online || self.rng.random_bool(0.1) {
                let online = !self.devices[device].online;
                return self.set_online(device, online);
            }
        }
    }

    fn set_online(&mut self, device: usize, online: bool) -> GeneratedEvent {
        let event_time = self.stamp(self.now);
        let d = &mut self.devices[device];
        d.online = online;
        if online {
            d.twin.boot(self.now);
        }
        let head = d.head(&self.config.oem_id, Table::Connectivity, None);
        let mut body = Body::start(&head);
        body.time("event_time", event_time)
            .str("user_uuid", &d.user_uuid)
            .str("status", if online { "Online" } else { "Offline" });
        GeneratedEvent::new(&head, self.now, body.finish())
    }

    /// A device is registered to a (new) user or unregistered; like connectivity, the odds keep
    /// most devices registered.
    fn registration(&mut self) -> GeneratedEvent {
        loop {
            let device = self.random_device();
            if !self.devices[device].registered || self.rng.random_bool(0.15) {
                let registered = !self.devices[device].registered;
                return self.set_registered(device, registered);
            }
        }
    }

    fn set_registered(&mut self, device: usize, registered: bool) -> GeneratedEvent {
        let at = self.stamp(self.now);
        let kind =
            REGISTRATION_TYPES[self.rng.random_range(0..REGISTRATION_TYPES.len() as u32) as usize];
        if registered {
            self.devices[device].user_uuid = uuid(&mut self.rng);
        }
        let user_known = registered || self.rng.random_bool(0.7);
        let d = &mut self.devices[device];
        d.registered = registered;
        let head = d.head(&self.config.oem_id, Table::Registration, None);
        let mut body = Body::start(&head);
        body.str("dsn", &d.dsn)
            .opt_str("user_uuid", user_known.then_some(d.user_uuid.as_str()))
            .bool("registered", registered)
            .str("registration_type", kind);
        if registered {
            body.time("registered_at", at);
        } else {
            body.time("unregistered_at", at);
        }
        GeneratedEvent::new(&head, self.now, body.finish())
    }

    /// A device's position is re-estimated: a small drift, and now and then a new address.
    fn location(&mut self) -> GeneratedEvent {
        let device = self.random_device();
        let created_at = self.stamp(self.now);
        let (dlat, dlong) = (
            self.rng.random_range(-0.01..0.01),
            self.rng.random_range(-0.01..0.01),
        );
        if self.rng.random_bool(0.2) {
            self.devices[device].ip = random_ip(&mut self.rng);
        }
        let provider = if self.rng.random_bool(0.85) {
            "ip-based"
        } else {
            "wifi"
        };
        let d = &mut self.devices[device];
        d.lat += dlat;
        d.long += dlong;
        // DSS pads coordinates to a fixed width, hence the leading spaces.
        let (lat, long) = (format!("{:>10.6}", d.lat), format!("{:>11.6}", d.long));
        let head = d.head(&self.config.oem_id, Table::Location, None);
        let mut body = Body::start(&head);
        body.str("dsn", &d.dsn)
            .str("ip", &d.ip)
            .str("lat", &lat)
            .str("long", &long)
            .str("provider", provider)
            .str("user_uuid", &d.user_uuid)
            .time("created_at", created_at);
        GeneratedEvent::new(&head, self.now, body.finish())
    }
}

impl Device {
    fn new(dsn: String, kind: usize, now: i64, rng: &mut ChaCha8Rng) -> Device {
        let (site, lat, long) = SITES[rng.random_range(0..SITES.len() as u32) as usize];
        let tags = match rng.random_range(0..10u32) {
            0..6 => "[]".to_owned(),
            6..9 => format!("[\"site:{site}\"]"),
            _ => format!(
                "[\"site:{site}\",\"zone:cold-room-{}\"]",
                rng.random_range(1..5u32)
            ),
        };
        Device {
            dsn,
            user_uuid: uuid(rng),
            tags,
            lat: lat + rng.random_range(-0.05..0.05),
            long: long + rng.random_range(-0.05..0.05),
            ip: random_ip(rng),
            online: true,
            registered: true,
            twin: Twin::new(kind, now, rng),
        }
    }

    fn head<'a>(&'a self, oem_id: &'a str, table: Table, prop: Option<Prop>) -> Head<'a> {
        Head {
            table,
            oem_id,
            oem_model: self.twin.oem_model(),
            dsn: &self.dsn,
            property: prop.map(Prop::meta),
            resource_tags: &self.tags,
        }
    }
}

fn random_ip(rng: &mut impl Rng) -> String {
    let b: [u8; 3] = [rng.random(), rng.random(), rng.random_range(1..255)];
    format!("{}.{}.{}.{}", rng.random_range(11..224u8), b[0], b[1], b[2])
}
