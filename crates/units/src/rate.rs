//! Event rates: a positive number of events per second, or `max`.

use std::fmt;
use std::str::FromStr;

/// How fast events are produced: events per second (`200`, `0.5`), or `max`, as fast as the
/// consumer takes them.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Rate {
    PerSecond(f64),
    Max,
}

/// Why a rate could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid rate {0:?}: expected a positive number of events per second, or `max`")]
pub struct InvalidRate(String);

impl FromStr for Rate {
    type Err = InvalidRate;

    fn from_str(s: &str) -> Result<Rate, InvalidRate> {
        let t = s.trim();
        if t.eq_ignore_ascii_case("max") {
            return Ok(Rate::Max);
        }
        match t.parse::<f64>() {
            Ok(r) if r.is_finite() && r > 0.0 => Ok(Rate::PerSecond(r)),
            _ => Err(InvalidRate(s.to_owned())),
        }
    }
}

impl fmt::Display for Rate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Rate::PerSecond(r) => write!(f, "{r}"),
            Rate::Max => f.write_str("max"),
        }
    }
}

impl<'de> serde::Deserialize<'de> for Rate {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(crate::FromText::new())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_are_positive_numbers_or_max() {
        assert_eq!("max".parse::<Rate>(), Ok(Rate::Max));
        assert_eq!("MAX".parse::<Rate>(), Ok(Rate::Max));
        assert_eq!("250".parse::<Rate>(), Ok(Rate::PerSecond(250.0)));
        assert_eq!("0.5".parse::<Rate>(), Ok(Rate::PerSecond(0.5)));
        for bad in ["0", "-3", "fast", "inf", "NaN", ""] {
            let message = bad.parse::<Rate>().unwrap_err().to_string();
            assert!(message.contains(&format!("{bad:?}")), "{message}");
            assert!(message.contains("`max`"), "{message}");
        }
    }

    #[test]
    fn rates_display_as_they_parse() {
        for rate in [Rate::Max, Rate::PerSecond(200.0), Rate::PerSecond(0.25)] {
            assert_eq!(rate.to_string().parse::<Rate>(), Ok(rate));
        }
        assert_eq!(Rate::PerSecond(200.0).to_string(), "200");
    }

    #[derive(Debug, serde::Deserialize)]
    struct File {
        rate: Rate,
    }

    #[test]
    fn toml_takes_a_rate_as_a_number_or_max() {
        let rate = |t: &str| toml::from_str::<File>(t).map(|f| f.rate);
        assert_eq!(rate("rate = 200").unwrap(), Rate::PerSecond(200.0));
        assert_eq!(rate("rate = 2.5").unwrap(), Rate::PerSecond(2.5));
        assert_eq!(rate("rate = \"max\"").unwrap(), Rate::Max);
        assert!(
            rate("rate = 0")
                .unwrap_err()
                .to_string()
                .contains("invalid rate")
        );
    }
}
