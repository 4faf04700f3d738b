//! The small value types dss-lake's settings are written in, one parser each, shared by flags,
//! environment variables and TOML files: byte sizes ([`ByteSize`]: `64MiB`, `1GiB`, `1048576`),
//! durations ([`HumanDuration`]: `30` seconds, `0.2s`, `200ms`, `1m`) and event rates
//! ([`Rate`]: `200` events per second, or `max`).
//!
//! Each type is `FromStr` (what clap's derive uses), `Display` (what `--help` shows as the
//! default, and which parses back to the same value), and serde `Deserialize` from a string or a
//! bare number, so a TOML file can say `max_bytes = "64MiB"` as well as `max_bytes = 67108864`.
//! Errors quote the text and say what was expected; naming the setting is the caller's part
//! (a config loader knows the field, the value does not).
//!
//! It does no I/O, knows nothing of dss-lake's settings or their defaults, and depends on
//! thiserror, serde and humantime only, so that every crate, the leaf ones included, can use it.
//!
//! ```
//! use std::time::Duration;
//! use dss_lake_units::{ByteSize, HumanDuration, Rate};
//!
//! assert_eq!("64MiB".parse::<ByteSize>().unwrap().as_usize(), 64 << 20);
//! assert_eq!("200ms".parse::<HumanDuration>().unwrap().get(), Duration::from_millis(200));
//! assert_eq!("30".parse::<HumanDuration>().unwrap().get(), Duration::from_secs(30));
//! assert_eq!("max".parse::<Rate>().unwrap(), Rate::Max);
//! ```

mod duration;
mod rate;
mod size;

pub use duration::{HumanDuration, InvalidDuration};
pub use rate::{InvalidRate, Rate};
pub use size::{ByteSize, InvalidByteSize};

/// Deserializes `T` from a string, or from a bare TOML/JSON number written as its decimal text,
/// through `T`'s `FromStr`: one parser whichever way a value is written.
struct FromText<T>(std::marker::PhantomData<T>);

impl<T> FromText<T> {
    fn new() -> Self {
        FromText(std::marker::PhantomData)
    }
}

impl<T> serde::de::Visitor<'_> for FromText<T>
where
    T: std::str::FromStr,
    T::Err: std::fmt::Display,
{
    type Value = T;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a string or a number")
    }

    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<T, E> {
        v.parse().map_err(E::custom)
    }

    fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<T, E> {
        self.visit_str(&v.to_string())
    }

    fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<T, E> {
        self.visit_str(&v.to_string())
    }

    fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<T, E> {
        self.visit_str(&v.to_string())
    }
}
