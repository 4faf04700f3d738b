//! ISO-8601 UTC timestamps: a hand-written parser (the hot path parses several per event) and the
//! canonical spelling used to turn a stored timestamp back into text.
//!
//! Canonical spelling, the one DSS sends: `YYYY-MM-DDTHH:MM:SSZ`, with `.mmm` when the value has
//! milliseconds and `.uuuuuu` when it has microseconds. Any other spelling (`.000Z`, `+00:00`, a
//! lower-case `z`, nanoseconds) still parses, and the decoder keeps its original text so that
//! nothing is lost.

use dss_lake_schema::layout::{civil_from_days, days_from_civil};

const MICROS_PER_SECOND: i64 = 1_000_000;

/// A parsed timestamp: microseconds since the epoch, and whether the text was canonical.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParsedTime {
    pub micros: i64,
    pub canonical: bool,
}

/// Parses `2026-11-24T10:25:14Z`, `2026-11-24T10:25:14.123456Z`, `... +02:00` and the like.
/// Returns `None` for anything that is not a valid date and time.
pub fn parse_timestamp(text: &str) -> Option<ParsedTime> {
    let b = text.as_bytes();
    if b.len() < 20 {
        return None;
    }
    let year = digits(b, 0, 4)? as i32;
    let month = digits(b, 5, 2)?;
    let day = digits(b, 8, 2)?;
    let hour = digits(b, 11, 2)?;
    let minute = digits(b, 14, 2)?;
    let second = digits(b, 17, 2)?;
    if b[4] != b'-' || b[7] != b'-' || b[13] != b':' || b[16] != b':' {
        return None;
    }
    let separator_is_t = b[10] == b'T';
    if !(separator_is_t || b[10] == b't' || b[10] == b' ') {
        return None;
    }
    if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
        return None;
    }
    if hour > 23 || minute > 59 || second > 59 {
        return None;
    }

    let mut pos = 19;
    let mut fraction_micros = 0i64;
    let mut fraction_digits = 0usize;
    if b[pos] == b'.' {
        pos += 1;
        while pos < b.len() && b[pos].is_ascii_digit() {
            if fraction_digits < 6 {
                fraction_micros = fraction_micros * 10 + i64::from(b[pos] - b'0');
            }
            fraction_digits += 1;
            pos += 1;
        }
        if fraction_digits == 0 {
            return None;
        }
        for _ in fraction_digits..6 {
            fraction_micros *= 10;
        }
    }

    let rest = &b[pos..];
    let (offset_seconds, zulu) = match rest {
        b"Z" => (0, true),
        b"z" => (0, false),
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
            let h = two_digits(*h1, *h2)?;
            let m = two_digits(*m1, *m2)?;
            if h > 23 || m > 59 {
                return None;
            }
            let seconds = i64::from(h * 3600 + m * 60);
            (if *sign == b'+' { seconds } else { -seconds }, false)
        }
        _ => return None,
    };

    let days = days_from_civil(year, month, day);
    let seconds = days * 86_400 + i64::from(hour * 3600 + minute * 60 + second) - offset_seconds;
    let micros = seconds * MICROS_PER_SECOND + fraction_micros;
    let canonical = separator_is_t
        && zulu
        && fraction_digits == canonical_fraction_digits(micros);
    Some(ParsedTime { micros, canonical })
}

/// Writes the canonical spelling of `micros` (see the module docs).
pub fn format_timestamp(micros: i64, out: &mut String) {
    use std::fmt::Write as _;
    let seconds = micros.div_euclid(MICROS_PER_SECOND);
    let fraction = micros.rem_euclid(MICROS_PER_SECOND);
    let days = seconds.div_euclid(86_400);
    let second_of_day = seconds.rem_euclid(86_400);
    let (y, mo, d) = civil_from_days(days as i32);
    let (h, mi, s) = (
        second_of_day / 3600,
        second_of_day / 60 % 60,
        second_of_day % 60,
    );
    let _ = write!(out, "{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}");
    let _ = match canonical_fraction_digits(micros) {
        0 => Ok(()),
        3 => write!(out, ".{:03}", fraction / 1000),
        _ => write!(out, ".{fraction:06}"),
    };
    out.push('Z');
}

/// The canonical spelling of `micros` as a new string.
pub fn timestamp_string(micros: i64) -> String {
    let mut out = String::with_capacity(27);
    format_timestamp(micros, &mut out);
    out
}

fn canonical_fraction_digits(micros: i64) -> usize {
    let fraction = micros.rem_euclid(MICROS_PER_SECOND);
    if fraction == 0 {
        0
    } else if fraction % 1000 == 0 {
        3
    } else {
        6
    }
}

fn digits(b: &[u8], start: usize, len: usize) -> Option<u32> {
    b[start..start + len].iter().try_fold(0u32, |acc, &c| {
        c.is_ascii_digit().then(|| acc * 10 + u32::from(c - b'0'))
    })
}

fn two_digits(a: u8, b: u8) -> Option<u32> {
    digits(&[a, b], 0, 2)
}

fn days_in_month(year: i32, month: u32) -> u32 {
    match month {
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_spellings_parse_and_format_back() {
        for text in [
            "2026-11-24T10:25:14Z",
            "2026-11-24T10:25:14.123Z",
            "2026-11-24T10:25:14.123456Z",
            "1969-12-31T23:59:59.999Z",
            "2024-02-29T00:00:00Z",
        ] {
            let parsed = parse_timestamp(text).unwrap();
            assert!(parsed.canonical, "{text}");
            assert_eq!(timestamp_string(parsed.micros), text);
        }
    }

    #[test]
    fn other_spellings_parse_but_are_not_canonical() {
        let base = parse_timestamp("2026-11-24T10:25:14Z").unwrap().micros;
        for text in [
            "2026-11-24T10:25:14.000Z",
            "2026-11-24T12:25:14+02:00",
            "2026-11-24T10:25:14z",
            "2026-11-24 10:25:14Z",
            "2026-11-24T10:25:14.000000000Z",
        ] {
            let parsed = parse_timestamp(text).unwrap();
            assert!(!parsed.canonical, "{text}");
            assert_eq!(parsed.micros, base, "{text}");
        }
        let tenth = parse_timestamp("2026-11-24T10:25:14.5Z").unwrap();
        assert_eq!(tenth.micros, base + 500_000);
        assert!(!tenth.canonical);
    }

    #[test]
    fn invalid_dates_are_refused() {
        for text in [
            "",
            "2026-11-24",
            "2026-13-01T00:00:00Z",
            "2026-02-29T00:00:00Z",
            "2026-11-24T24:00:00Z",
            "2026-11-24T10:25:14",
            "2026-11-24T10:25:14.Z",
            "2026-11-24T10:25:14+2:00",
            "2026-11-24T10:25:14Zjunk",
            "２０26-11-24T10:25:14Z",
        ] {
            assert_eq!(parse_timestamp(text), None, "{text}");
        }
    }
}
