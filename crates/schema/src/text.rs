//! The spellings every side writes and reads the same way: calendar days, ISO-8601 UTC
//! timestamps and JSON string literals. The decoder, the lake's partition names, the emulator
//! and the tests all use these; the decoder keeps two inlined copies on its per-event path
//! (`dss_lake_frame`'s `time.rs` and `json.rs`), each tied to these by a test.
//!
//! Canonical timestamp spelling, the one DSS sends: `YYYY-MM-DDTHH:MM:SSZ`, with `.mmm` when the
//! value has milliseconds and `.uuuuuu` when it has microseconds.

use std::fmt::Write as _;

const MICROS_PER_SECOND: i64 = 1_000_000;

/// Days since 1970-01-01 to a proleptic Gregorian (year, month, day): Howard Hinnant's algorithm,
/// exact for every `i32` day.
pub fn civil_from_days(days: i32) -> (i32, u32, u32) {
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + (m <= 2) as i64;
    (y as i32, m, d)
}

/// The inverse of [`civil_from_days`]; `const` so that defaults can name a date.
pub const fn days_from_civil(year: i32, month: u32, day: u32) -> i64 {
    let y = year as i64 - (month <= 2) as i64;
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = month as i64;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + day as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Writes the canonical spelling of `micros` since the epoch (see the module docs).
pub fn format_timestamp(micros: i64, out: &mut String) {
    let fraction = micros.rem_euclid(MICROS_PER_SECOND);
    write_date_time(micros, out);
    let _ = if fraction == 0 {
        Ok(())
    } else if fraction % 1000 == 0 {
        write!(out, ".{:03}", fraction / 1000)
    } else {
        write!(out, ".{fraction:06}")
    };
    out.push('Z');
}

/// The canonical spelling of `micros` as a new string.
pub fn timestamp_string(micros: i64) -> String {
    let mut out = String::with_capacity(27);
    format_timestamp(micros, &mut out);
    out
}

/// Writes `micros` with exactly three fraction digits, `2026-11-24T10:25:14.000Z` included (as
/// DSS spells some fields); the microseconds are truncated, never rounded.
pub fn format_timestamp_millis(micros: i64, out: &mut String) {
    write_date_time(micros, out);
    let _ = write!(out, ".{:03}Z", micros.rem_euclid(MICROS_PER_SECOND) / 1000);
}

/// [`format_timestamp_millis`] as a new string.
pub fn timestamp_millis_string(micros: i64) -> String {
    let mut out = String::with_capacity(24);
    format_timestamp_millis(micros, &mut out);
    out
}

/// `YYYY-MM-DDTHH:MM:SS` of the second holding `micros`.
fn write_date_time(micros: i64, out: &mut String) {
    let seconds = micros.div_euclid(MICROS_PER_SECOND);
    let (days, second_of_day) = (seconds.div_euclid(86_400), seconds.rem_euclid(86_400));
    let (y, mo, d) = civil_from_days(days as i32);
    let (h, mi, s) = (
        second_of_day / 3600,
        second_of_day / 60 % 60,
        second_of_day % 60,
    );
    let _ = write!(out, "{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}");
}

/// Reads `YYYY-MM-DDTHH:MM:SS[.f]Z` (one to six fraction digits) into microseconds since the
/// epoch; `None` for anything else, including offsets other than `Z` and dates like February
/// 30th. The strict reading for settings and tests; the decoder's parser accepts more spellings
/// and agrees with this one on every text this one accepts.
pub fn parse_timestamp(text: &str) -> Option<i64> {
    let b = text.as_bytes();
    let seps = [(4, b'-'), (7, b'-'), (10, b'T'), (13, b':'), (16, b':')];
    if b.len() < 20 || b[b.len() - 1] != b'Z' || seps.iter().any(|&(i, c)| b[i] != c) {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let digits = &b[r];
        digits.iter().try_fold(0i64, |n, &c| {
            c.is_ascii_digit().then(|| n * 10 + i64::from(c - b'0'))
        })
    };
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, sec) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || sec > 59 {
        return None;
    }
    let fraction = &b[19..b.len() - 1];
    let micros = match fraction.split_first() {
        None => 0,
        Some((b'.', f)) if (1..=6).contains(&f.len()) => {
            num(20..20 + f.len())? * 10i64.pow(6 - f.len() as u32)
        }
        _ => return None,
    };
    let (y, mo, d) = (y as i32, mo as u32, d as u32);
    let days = days_from_civil(y, mo, d);
    if civil_from_days(days as i32) != (y, mo, d) {
        return None; // e.g. February 30th
    }
    Some((days * 86_400 + h * 3600 + mi * 60 + sec) * MICROS_PER_SECOND + micros)
}

/// Appends `s` as a JSON string literal: quoted, with `"`, `\` and control characters escaped
/// (`\n`, `\r`, `\t`, the others as `\u00XX`); everything else, non-ASCII included, as is.
pub fn write_json_string(s: &str, out: &mut String) {
    out.push('"');
    let mut start = 0;
    for (i, &b) in s.as_bytes().iter().enumerate() {
        let escape: &str = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0x00..=0x1f => "",
            _ => continue,
        };
        // `i` is at an ASCII byte, so both slices end on character boundaries.
        out.push_str(&s[start..i]);
        if escape.is_empty() {
            const HEX: &[u8; 16] = b"0123456789abcdef";
            out.push_str("\\u00");
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 0xf)]));
        } else {
            out.push_str(escape);
        }
        start = i + 1;
    }
    out.push_str(&s[start..]);
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates_round_trip() {
        for days in -800_000..800_000 {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), i64::from(days));
        }
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(civil_from_days(20_416), (2025, 11, 24));
        assert_eq!(civil_from_days(-1), (1969, 12, 31));
    }

    #[test]
    fn canonical_spellings_format_and_parse_back() {
        for (micros, text) in [
            (0, "1970-01-01T00:00:00Z"),
            (-1_000, "1969-12-31T23:59:59.999Z"),
            (1_795_000_000_123_000, "2026-11-18T11:06:40.123Z"),
            (1_795_000_000_123_456, "2026-11-18T11:06:40.123456Z"),
            (
                days_from_civil(2028, 2, 29) * 86_400_000_000,
                "2028-02-29T00:00:00Z",
            ),
        ] {
            assert_eq!(timestamp_string(micros), text);
            assert_eq!(parse_timestamp(text), Some(micros), "{text}");
        }
    }

    #[test]
    fn millisecond_spelling_always_has_three_digits_and_truncates() {
        let mut out = String::new();
        format_timestamp_millis(1_795_000_000_123_999, &mut out);
        out.push(' ');
        format_timestamp_millis(0, &mut out);
        assert_eq!(out, "2026-11-18T11:06:40.123Z 1970-01-01T00:00:00.000Z");
    }

    #[test]
    fn the_strict_reading_refuses_other_spellings_and_impossible_dates() {
        assert_eq!(parse_timestamp("1970-01-01T00:00:00.5Z"), Some(500_000));
        for bad in [
            "",
            "x",
            "2026-02-30T00:00:00Z",
            "2026-13-01T00:00:00Z",
            "2026-11-24T24:00:00Z",
            "2026-11-24T23:59:60Z",
            "2026-11-24 00:00:00Z",
            "2026-11-24T00:00:00",
            "2026-11-24T00:00:00.Z",
            "2026-11-24T00:00:00.1234567Z",
            "2026-11-24T00:00:00+00:00",
            "2026-11-24T00:00:00z",
            "+026-11-24T00:00:00Z",
            "2026-1a-24T00:00:00Z",
        ] {
            assert_eq!(parse_timestamp(bad), None, "{bad}");
        }
    }

    #[test]
    fn strings_are_escaped_as_json() {
        let mut out = String::new();
        write_json_string("a\"b\\c\nd\r\t\u{1}\u{1f}é|Z", &mut out);
        assert_eq!(out, r#""a\"b\\c\nd\r\t\u0001\u001fé|Z""#);
        // Unescaping gives back the original, for every ASCII character.
        let all: String = (0..0x80u8)
            .map(char::from)
            .chain(['é', '€', '😀'])
            .collect();
        let mut out = String::new();
        write_json_string(&all, &mut out);
        assert_eq!(unescape(&out), all);
    }

    /// A minimal reader of what [`write_json_string`] writes (the crate has no JSON dependency).
    fn unescape(literal: &str) -> String {
        let inner = &literal[1..literal.len() - 1];
        let mut out = String::new();
        let mut chars = inner.chars();
        while let Some(c) = chars.next() {
            if c != '\\' {
                assert!(c != '"' && u32::from(c) >= 0x20, "unescaped {c:?}");
                out.push(c);
                continue;
            }
            match chars.next().unwrap() {
                'n' => out.push('\n'),
                'r' => out.push('\r'),
                't' => out.push('\t'),
                'u' => {
                    let hex: String = chars.by_ref().take(4).collect();
                    out.push(char::from_u32(u32::from_str_radix(&hex, 16).unwrap()).unwrap());
                }
                c => out.push(c),
            }
        }
        out
    }
}
