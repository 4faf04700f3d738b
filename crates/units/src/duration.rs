//! Durations: `30` (seconds), `0.2` or `0.2s`, `200ms`, `1m`, `1h 30m`.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

/// A duration written as a bare number of seconds (`30`, `0.2`) or with humantime's units
/// (`0.2s`, `200ms`, `1m`, `1h 30m`). Negative and non-finite values are refused; zero is
/// accepted (whether it means "never" or is an error is the setting's call).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct HumanDuration(pub Duration);

impl HumanDuration {
    pub fn get(self) -> Duration {
        self.0
    }
}

impl From<Duration> for HumanDuration {
    fn from(d: Duration) -> Self {
        HumanDuration(d)
    }
}

impl From<HumanDuration> for Duration {
    fn from(d: HumanDuration) -> Self {
        d.0
    }
}

/// Why a duration could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid duration {text:?}: {reason} (expected like 30, 0.2s, 200ms or 1m)")]
pub struct InvalidDuration {
    text: String,
    reason: String,
}

impl FromStr for HumanDuration {
    type Err = InvalidDuration;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let invalid = |reason: String| InvalidDuration {
            text: s.to_owned(),
            reason,
        };
        let t = s.trim();
        // humantime wants a unit and whole numbers before `s` ("0.2s" is refused), so a bare
        // number, or a fraction of seconds, is read here; everything else is humantime's.
        let seconds = t
            .strip_suffix('s')
            .filter(|n| !n.ends_with(char::is_alphabetic));
        if let Some(number) = seconds.or(Some(t)).filter(|n| looks_numeric(n)) {
            return match number.trim().parse::<f64>() {
                Ok(n) if n.is_finite() && n >= 0.0 => Duration::try_from_secs_f64(n)
                    .map(HumanDuration)
                    .map_err(|e| invalid(e.to_string())),
                Ok(_) => Err(invalid("it is negative or not finite".to_owned())),
                Err(e) => Err(invalid(e.to_string())),
            };
        }
        humantime::parse_duration(t)
            .map(HumanDuration)
            .map_err(|e| invalid(e.to_string()))
    }
}

/// Digits with at most a sign and a decimal point: what `f64` should read rather than humantime.
fn looks_numeric(text: &str) -> bool {
    let t = text.trim();
    !t.is_empty()
        && t.chars().any(|c| c.is_ascii_digit())
        && t.chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '.' | '-' | '+'))
}

impl fmt::Display for HumanDuration {
    /// humantime's form (`30s`, `200ms`, `1m 30s`), `0s` for zero; it parses back to itself.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_zero() {
            return f.write_str("0s");
        }
        write!(f, "{}", humantime::format_duration(self.0))
    }
}

impl<'de> serde::Deserialize<'de> for HumanDuration {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(crate::FromText::new())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<Duration, InvalidDuration> {
        s.parse::<HumanDuration>().map(HumanDuration::get)
    }

    #[test]
    fn durations_accept_bare_seconds_fractions_and_units() {
        assert_eq!(parse("30"), Ok(Duration::from_secs(30)));
        assert_eq!(parse("0.2"), Ok(Duration::from_millis(200)));
        assert_eq!(parse("0.2s"), Ok(Duration::from_millis(200)));
        assert_eq!(parse("10s"), Ok(Duration::from_secs(10)));
        assert_eq!(parse("200ms"), Ok(Duration::from_millis(200)));
        assert_eq!(parse("1m"), Ok(Duration::from_secs(60)));
        assert_eq!(parse("1h 30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse(" 5s "), Ok(Duration::from_secs(5)));
        assert_eq!(parse("0"), Ok(Duration::ZERO));
    }

    #[test]
    fn bad_durations_are_quoted_with_the_forms_expected() {
        for bad in ["", "soon", "-1", "-1s", "5 parsecs", "1e400", "NaN", "ms"] {
            let message = parse(bad).unwrap_err().to_string();
            assert!(message.contains(&format!("{bad:?}")), "{message}");
            assert!(message.contains("200ms"), "{message}");
        }
    }

    #[test]
    fn durations_display_in_a_form_that_parses_back() {
        for d in [
            Duration::ZERO,
            Duration::from_millis(200),
            Duration::from_secs(30),
            Duration::from_secs(90),
            Duration::from_micros(1_500),
        ] {
            let shown = HumanDuration(d).to_string();
            assert_eq!(parse(&shown), Ok(d), "{shown}");
        }
        assert_eq!(HumanDuration(Duration::from_secs(30)).to_string(), "30s");
    }

    #[derive(Debug, serde::Deserialize)]
    struct File {
        max_age: HumanDuration,
    }

    #[test]
    fn toml_takes_a_duration_as_text_or_as_seconds() {
        let age = |text: &str| toml::from_str::<File>(text).map(|f| f.max_age.get());
        assert_eq!(age("max_age = \"10s\"").unwrap(), Duration::from_secs(10));
        assert_eq!(age("max_age = 10").unwrap(), Duration::from_secs(10));
        assert_eq!(age("max_age = 0.5").unwrap(), Duration::from_millis(500));
        let message = age("max_age = \"soon\"").unwrap_err().to_string();
        assert!(message.contains("invalid duration \"soon\""), "{message}");
    }
}
