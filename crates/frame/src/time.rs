//! ISO-8601 UTC timestamps: a hand-written parser (the hot path parses several per event) and the
//! canonical spelling used to turn a stored timestamp back into text (that one is
//! `dss_lake_schema::text`'s, re-exported here).
//!
//! The parser stays here rather than in `dss_lake_schema::text`, which has the strict reading
//! every other crate uses: it accepts every spelling DSS may send, reports whether the text was
//! canonical, and is inlined into the decoder's loop with its own day count. A test below ties it
//! to the shared reading.
//!
//! Canonical spelling, the one DSS sends: `YYYY-MM-DDTHH:MM:SSZ`, with `.mmm` when the value has
//! milliseconds and `.uuuuuu` when it has microseconds. Any other spelling (`.000Z`, `+00:00`, a
//! lower-case `z`, nanoseconds) still parses, and the decoder keeps its original text so that
//! nothing is lost.

pub use dss_lake_schema::text::{format_timestamp, timestamp_string};

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
    // The fixed-width head `YYYY-MM-DDTHH:MM:SS`, checked in one straight run (several per event).
    let head: &[u8; 19] = b.get(..19)?.try_into().ok()?;
    if b.len() < 20 || !fixed_head_is_well_formed(head) {
        return None;
    }
    let n = |i: usize| u32::from(head[i] - b'0');
    let year = (n(0) * 1000 + n(1) * 100 + n(2) * 10 + n(3)) as i32;
    let month = n(5) * 10 + n(6);
    let day = n(8) * 10 + n(9);
    let hour = n(11) * 10 + n(12);
    let minute = n(14) * 10 + n(15);
    let second = n(17) * 10 + n(18);
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

    let days = days_from_civil_ce(year as u32, month, day);
    let seconds = days * 86_400 + i64::from(hour * 3600 + minute * 60 + second) - offset_seconds;
    let micros = seconds * MICROS_PER_SECOND + fraction_micros;
    // The offset is whole minutes, so `fraction_micros` is `micros`' fraction of a second.
    let canonical =
        separator_is_t && zulu && fraction_digits == fraction_digits_of(fraction_micros);
    Some(ParsedTime { micros, canonical })
}

/// Digits the canonical spelling gives a fraction of a second (`0..MICROS_PER_SECOND`).
fn fraction_digits_of(fraction: i64) -> usize {
    if fraction == 0 {
        0
    } else if fraction % 1000 == 0 {
        3
    } else {
        6
    }
}

/// Digits and separators of `YYYY-MM-DD?HH:MM:SS` in place (the `?` is checked by the caller).
///
/// Three overlapping little-endian words checked with byte-wise masks instead of a loop over 19
/// bytes (perf put the loop at ~1% of decoding; several timestamps per event).
fn fixed_head_is_well_formed(head: &[u8; 19]) -> bool {
    let word = |at: usize| {
        let mut bytes = [0u8; 8];
        bytes.copy_from_slice(&head[at..at + 8]);
        u64::from_le_bytes(bytes)
    };
    // Byte i of a mask is 0xff when byte i of the word is a digit; separators are compared
    // exactly; byte 10 (`T`, `t` or space) is left out.
    word(0) & !DIGITS_0 == u64::from_le_bytes(*b"\0\0\0\0-\0\0-")
        && all_digits(word(0), DIGITS_0)
        && word(8) & !(DIGITS_8 | 0xff << 16) == u64::from_le_bytes(*b"\0\0\0\0\0:\0\0")
        && all_digits(word(8), DIGITS_8)
        && word(11) & !DIGITS_11 == u64::from_le_bytes(*b"\0\0:\0\0:\0\0")
        && all_digits(word(11), DIGITS_11)
}

/// `YYYY-MM-`, `DD?HH:MM`, `HH:MM:SS`: the digit bytes of each word.
const DIGITS_0: u64 = 0x00ff_ff00_ffff_ffff;
const DIGITS_8: u64 = 0xffff_00ff_ff00_ffff;
const DIGITS_11: u64 = 0xffff_00ff_ff00_ffff;

/// Whether every byte selected by `mask` is an ASCII digit. Adding 6 to a `0x3_` byte carries
/// into the high nibble exactly when its low nibble is over 9; no byte carries into the next,
/// since a `str` byte is at most 0xf4.
fn all_digits(word: u64, mask: u64) -> bool {
    const HIGH: u64 = 0xf0f0_f0f0_f0f0_f0f0;
    const ZEROS: u64 = 0x3030_3030_3030_3030;
    const SIXES: u64 = 0x0606_0606_0606_0606;
    word & HIGH & mask == ZEROS & mask && (word + (SIXES & mask)) & HIGH & mask == ZEROS & mask
}

/// `dss_lake_schema::text::days_from_civil` for the years a four-digit head can spell
/// (0..=9999): with no negative years the era arithmetic needs no euclidean division, and being
/// local it inlines into the parser (perf showed the cross-crate call at ~1.5% of decoding).
#[inline(always)]
fn days_from_civil_ce(year: u32, month: u32, day: u32) -> i64 {
    // Shift by one 400-year era so that January and February of year 0 stay non-negative.
    let y = year + 400 - u32::from(month <= 2);
    let (era, yoe) = (y / 400, y % 400);
    let m = if month > 2 { month - 3 } else { month + 9 };
    let doy = (153 * m + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    (i64::from(era) - 1) * 146_097 + i64::from(doe) - 719_468
}

fn two_digits(a: u8, b: u8) -> Option<u32> {
    let (a, b) = (a.wrapping_sub(b'0'), b.wrapping_sub(b'0'));
    (a <= 9 && b <= 9).then(|| u32::from(a) * 10 + u32::from(b))
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

    /// Offsets up to the last minute of the day are times; one past it, or a letter for a
    /// digit, is not.
    #[test]
    fn offsets_are_read_to_their_limits_and_no_further() {
        let base = parse_timestamp("2026-11-24T10:25:14Z").unwrap().micros;
        let minute = 60 * MICROS_PER_SECOND;
        for (offset, minutes) in [
            ("+23:59", 23 * 60 + 59),
            ("-23:00", -23 * 60),
            ("+05:59", 5 * 60 + 59),
        ] {
            let text = format!("2026-11-24T10:25:14{offset}");
            let parsed = parse_timestamp(&text).unwrap_or_else(|| panic!("{text}"));
            assert_eq!(parsed.micros, base - minutes * minute, "{text}");
        }
        for offset in ["+24:00", "+00:60", "+00:1a", "+0a:00", "+1:00", "+00:00:00"] {
            let text = format!("2026-11-24T10:25:14{offset}");
            assert_eq!(parse_timestamp(&text), None, "{text}");
        }
    }

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
    fn word_wise_head_check_matches_the_byte_loop() {
        fn byte_loop(head: &[u8; 19]) -> bool {
            head.iter().enumerate().all(|(i, &c)| match i {
                4 | 7 => c == b'-',
                13 | 16 => c == b':',
                10 => true,
                _ => c.is_ascii_digit(),
            })
        }
        let valid = *b"2026-11-24T10:25:14";
        for i in 0..19 {
            // Every byte a `str` can hold (0xf5..=0xff never appear in UTF-8).
            for c in 0..=0xf4u8 {
                let mut head = valid;
                head[i] = c;
                assert_eq!(
                    fixed_head_is_well_formed(&head),
                    byte_loop(&head),
                    "{i} {c}"
                );
            }
        }
    }

    #[test]
    fn local_day_count_matches_the_schema_crate() {
        use dss_lake_schema::text::days_from_civil;
        for year in 0..=9999 {
            for month in 1..=12 {
                for day in [1, 15, days_in_month(year as i32, month)] {
                    assert_eq!(
                        days_from_civil_ce(year, month, day),
                        days_from_civil(year as i32, month, day),
                        "{year}-{month}-{day}"
                    );
                }
            }
        }
    }

    /// The decoder's parser and the shared strict reading agree on every text the strict one
    /// accepts, and the decoder calls canonical exactly the shared canonical spelling: a sweep of
    /// instants over years 0..=9999 in each fraction width.
    #[test]
    fn parser_agrees_with_the_shared_reading() {
        use dss_lake_schema::text;
        let first = text::days_from_civil(0, 1, 1) * 86_400 * MICROS_PER_SECOND;
        let last = text::days_from_civil(9999, 12, 31) * 86_400 * MICROS_PER_SECOND;
        // About 50,000 steps of an odd number of micros (no whole number of seconds, minutes or
        // days), so every field of the date, the time and the fraction takes many values.
        let step = 6_311_390_400_007_i64;
        let mut micros = first;
        while micros < last {
            for value in [
                micros,
                micros - micros.rem_euclid(MICROS_PER_SECOND),
                micros - micros.rem_euclid(1000),
            ] {
                let canonical = timestamp_string(value);
                let mut millis = String::new();
                text::format_timestamp_millis(value, &mut millis);
                let tenths = format!(
                    "{}.{}Z",
                    &canonical[..19],
                    value.rem_euclid(1_000_000) / 100_000
                );
                for spelling in [&canonical, &millis, &tenths] {
                    let shared = text::parse_timestamp(spelling).unwrap();
                    let parsed = parse_timestamp(spelling).unwrap();
                    assert_eq!(parsed.micros, shared, "{spelling}");
                    assert_eq!(
                        parsed.canonical,
                        *spelling == timestamp_string(shared),
                        "{spelling}"
                    );
                }
            }
            micros += step;
        }
        for refused_by_both in [
            "2026-02-29T00:00:00Z",
            "2026-11-24T10:25:60Z",
            "2026-11-24T10:25:14",
        ] {
            assert_eq!(text::parse_timestamp(refused_by_both), None);
            assert_eq!(parse_timestamp(refused_by_both), None);
        }
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
            "2026/11-24T10:25:14Z",
            "2026-11-24T10-25:14Z",
            "2026-11-24T10:25-14Z",
            "2026-1a-24T10:25:14Z",
            "2026-11-24T1::25:14Z",
            "2026-11-24T10:25:1/Z",
            "202:-11-24T10:25:14Z",
        ] {
            assert_eq!(parse_timestamp(text), None, "{text}");
        }
    }
}
