//! The digital twins: what each kind of device is, which properties it has and how they change.
//!
//! A twin only updates its own state and says which value it reports; the fleet decides when a
//! device speaks and renders the event.

use rand::{Rng, RngExt};

use crate::render::PropertyMeta;

/// The properties of every kind of device, with the metadata DSS sends alongside each value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Prop {
    TempC,
    Setpoint,
    TooWarm,
    Door,
    Message,
    Brightness,
    UptimeS,
    FwVersion,
}

impl Prop {
    pub(crate) const fn meta(self) -> PropertyMeta {
        let (name, display_name, base_type) = match self {
            Prop::TempC => ("temp_c", "Temperature", "decimal"),
            Prop::Setpoint => ("setpoint", "Setpoint", "integer"),
            Prop::TooWarm => ("too_warm", "Too warm", "boolean"),
            Prop::Door => ("door", "Door", "string"),
            Prop::Message => ("message", "Message", "string"),
            Prop::Brightness => ("brightness", "Brightness", "integer"),
            Prop::UptimeS => ("uptime_s", "Uptime (s)", "integer"),
            Prop::FwVersion => ("fw_version", "Firmware version", "string"),
        };
        PropertyMeta {
            name,
            display_name,
            base_type,
        }
    }

    /// A "to-device" property is set from the cloud (an app), and the device acknowledges it.
    pub(crate) const fn to_device(self) -> bool {
        matches!(self, Prop::Setpoint | Prop::Message | Prop::Brightness)
    }
}

/// A walk-in freezer's temperature rises this far above its setpoint before it raises
/// `too_warm`, in tenths of a degree.
const TOO_WARM_TENTHS: i32 = 30;

const SETPOINTS: [i32; 5] = [-25, -22, -20, -18, -15];

/// What LED boards display. Unicode, quotes, `|` and even `|Z` on purpose: DSS clients that split
/// on `|` or look for `|Z` anywhere break on exactly these.
const MESSAGES: [&str; 10] = [
    "Welcome! Fresh ice cream today",
    "Frohe Weihnachten ☃ – Glühwein 3,50 €",
    "営業中 • Open 24/7 • 年中無休",
    "SALE|Z-day: 2 for 1 | today only",
    "Temp ok 👍 | Door closed",
    "Z",
    "\"Quoted\" specials \\ back\\slash\tand tab",
    "Café ouvert — crème glacée artisanale à emporter",
    "Please keep the freezer door closed at all times. Doors left open for more than two \
     minutes raise an alarm and spoil the stock. Merci de fermer la porte ❄❄❄ Bitte Tür \
     schließen! ドアを閉めてください。 Thank you | Danke | Merci | ありがとう",
    "|Z|Z|Z",
];

/// The state of one simulated device, by kind.
#[derive(Debug, Clone)]
pub(crate) enum Twin {
    Freezer {
        temp_tenths: i32,
        setpoint: i32,
        door_open: bool,
        too_warm: bool,
    },
    LedBoard {
        message: usize,
        brightness: i64,
    },
    Gateway {
        boot_micros: i64,
        fw_patch: u32,
    },
}

/// A reported value, as JSON text, and whether it came from the cloud (and waits for an ack).
#[derive(Debug, Clone)]
pub(crate) struct Report {
    pub(crate) prop: Prop,
    pub(crate) value: String,
    pub(crate) from_cloud: bool,
}

/// An event a twin owes the fleet: a consequence of a change it just reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FollowUp {
    /// The temperature crossed the alarm threshold; report the new `too_warm`.
    TooWarm,
    /// Someone closed the door.
    DoorClosed,
}

impl Twin {
    pub(crate) fn new(kind: usize, now: i64, rng: &mut impl Rng) -> Twin {
        match kind {
            0 => {
                let setpoint = SETPOINTS[rng.random_range(0..SETPOINTS.len() as u32) as usize];
                let temp_tenths = setpoint * 10 + rng.random_range(-10..=10);
                Twin::Freezer {
                    temp_tenths,
                    setpoint,
                    door_open: false,
                    too_warm: false,
                }
            }
            1 => Twin::LedBoard {
                message: rng.random_range(0..MESSAGES.len() as u32) as usize,
                brightness: 5 * rng.random_range(4..=20),
            },
            _ => Twin::Gateway {
                boot_micros: now - rng.random_range(0..30 * 86_400i64) * 1_000_000,
                fw_patch: rng.random_range(0..9),
            },
        }
    }

    pub(crate) const fn oem_model(&self) -> &'static str {
        match self {
            Twin::Freezer { .. } => "walk-in-freezer",
            Twin::LedBoard { .. } => "led-board",
            Twin::Gateway { .. } => "edge-gateway",
        }
    }

    /// A property set from the cloud and its value (JSON), for an ack whose datapoint was sent
    /// before the simulation began: the current setpoint, message, or firmware (an update).
    pub(crate) fn settable(&self) -> (Prop, String) {
        match self {
            Twin::Freezer { setpoint, .. } => (Prop::Setpoint, setpoint.to_string()),
            Twin::LedBoard { message, .. } => (Prop::Message, json_string(MESSAGES[*message])),
            Twin::Gateway { fw_patch, .. } => (Prop::FwVersion, format!("\"3.2.{fw_patch}\"")),
        }
    }

    /// The device boots (comes back online): gateways restart their uptime.
    pub(crate) fn boot(&mut self, now: i64) {
        if let Twin::Gateway { boot_micros, .. } = self {
            *boot_micros = now;
        }
    }

    /// Advances the twin by one datapoint and reports it, with the follow-up it owes, if any.
    pub(crate) fn step(&mut self, now: i64, rng: &mut impl Rng) -> (Report, Option<FollowUp>) {
        let roll: f64 = rng.random();
        let mut follow = None;
        let (prop, value, from_cloud) = match self {
            Twin::Freezer {
                temp_tenths,
                setpoint,
                door_open,
                too_warm,
            } => {
                if roll < 0.65 {
                    // A random walk pulled toward the setpoint, pushed up while the door is open.
                    let pull = (*setpoint * 10 - *temp_tenths) / 6;
                    let door = if *door_open { 9 } else { 0 };
                    *temp_tenths += pull + door + rng.random_range(-3..=3);
                    if *door_open && rng.random_bool(0.35) {
                        follow = Some(FollowUp::DoorClosed);
                    } else if (*temp_tenths > *setpoint * 10 + TOO_WARM_TENTHS) != *too_warm {
                        follow = Some(FollowUp::TooWarm);
                    }
                    (Prop::TempC, decimal(*temp_tenths, rng), false)
                } else if roll < 0.80 {
                    *door_open = !*door_open;
                    (Prop::Door, door(*door_open), false)
                } else if roll < 0.88 {
                    *setpoint = SETPOINTS[rng.random_range(0..SETPOINTS.len() as u32) as usize];
                    (Prop::Setpoint, setpoint.to_string(), true)
                } else {
                    (Prop::TooWarm, boolean(*too_warm, rng), false)
                }
            }
            Twin::LedBoard {
                message,
                brightness,
            } => {
                if roll < 0.5 {
                    *message = rng.random_range(0..MESSAGES.len() as u32) as usize;
                    (Prop::Message, json_string(MESSAGES[*message]), true)
                } else {
                    *brightness = (*brightness + 5 * rng.random_range(-3..=3)).clamp(0, 100);
                    // Some firmware sends integers as numeric strings.
                    let value = if rng.random_bool(0.25) {
                        format!("\"{brightness}\"")
                    } else {
                        brightness.to_string()
                    };
                    (Prop::Brightness, value, rng.random_bool(0.5))
                }
            }
            Twin::Gateway {
                boot_micros,
                fw_patch,
            } => {
                if roll < 0.9 {
                    (
                        Prop::UptimeS,
                        ((now - *boot_micros) / 1_000_000).to_string(),
                        false,
                    )
                } else {
                    if rng.random_bool(0.3) {
                        *fw_patch += 1;
                    }
                    (Prop::FwVersion, format!("\"3.2.{fw_patch}\""), false)
                }
            }
        };
        (
            Report {
                prop,
                value,
                from_cloud,
            },
            follow,
        )
    }

    /// Carries out a follow-up and reports it.
    pub(crate) fn follow_up(&mut self, follow: FollowUp, rng: &mut impl Rng) -> Option<Report> {
        let Twin::Freezer {
            temp_tenths,
            setpoint,
            door_open,
            too_warm,
        } = self
        else {
            return None;
        };
        let (prop, value) = match follow {
            FollowUp::TooWarm => {
                *too_warm = *temp_tenths > *setpoint * 10 + TOO_WARM_TENTHS;
                (Prop::TooWarm, boolean(*too_warm, rng))
            }
            FollowUp::DoorClosed => {
                *door_open = false;
                (Prop::Door, door(false))
            }
        };
        Some(Report {
            prop,
            value,
            from_cloud: false,
        })
    }
}

/// Tenths of a degree as a JSON decimal, now and then sent as a numeric string.
fn decimal(tenths: i32, rng: &mut impl Rng) -> String {
    let sign = if tenths < 0 { "-" } else { "" };
    let (whole, frac) = (tenths.unsigned_abs() / 10, tenths.unsigned_abs() % 10);
    if rng.random_bool(0.03) {
        format!("\"{sign}{whole}.{frac}\"")
    } else {
        format!("{sign}{whole}.{frac}")
    }
}

/// DSS sends booleans as 0/1, and some devices as true/false.
fn boolean(value: bool, rng: &mut impl Rng) -> String {
    let word = rng.random_bool(0.15);
    match (value, word) {
        (true, false) => "1",
        (false, false) => "0",
        (true, true) => "true",
        (false, true) => "false",
    }
    .to_owned()
}

fn door(open: bool) -> String {
    if open { "\"open\"" } else { "\"closed\"" }.to_owned()
}

fn json_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    dss_lake_schema::text::write_json_string(s, &mut out);
    out
}
