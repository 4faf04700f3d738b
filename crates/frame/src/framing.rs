//! `<LEN>|<PAYLOAD>` framing, exactly as the protocol note says: split at the FIRST `|`; a
//! heartbeat is a payload of exactly `Z`; `LEN` may count UTF-8 bytes or UTF-16 code units.
//!
//! The reference clients' `includes('|Z')` and `split('|')` are the bugs this module exists not
//! to have: a `|` or `|Z` inside a JSON string is data.

use crate::DecodeError;

/// The frame's `LEN` is capped so that a hostile prefix cannot overflow anything.
const MAX_LEN_DIGITS: usize = 10;

/// One message split into its parts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Split<'m> {
    Heartbeat,
    Payload {
        json: &'m str,
        /// False when `LEN` matches neither the UTF-8 nor the UTF-16 length of the payload.
        length_matches: bool,
    },
}

/// Splits one WebSocket text message.
pub fn split_message(message: &str) -> Result<Split<'_>, DecodeError> {
    // The usual message, `<digits>|<payload>`, in one pass that reads the length as it looks
    // for the bar; anything else takes the careful path, which names what is wrong.
    let bytes = message.as_bytes();
    let mut declared: u64 = 0;
    let mut digits = 0;
    while let Some(&d @ b'0'..=b'9') = bytes.get(digits) {
        if digits == MAX_LEN_DIGITS {
            return split_message_slow(message);
        }
        declared = declared * 10 + u64::from(d - b'0');
        digits += 1;
    }
    if digits == 0 || bytes.get(digits) != Some(&b'|') {
        return split_message_slow(message);
    }
    let payload = &message[digits + 1..];
    if payload == "Z" {
        return Ok(Split::Heartbeat);
    }
    Ok(Split::Payload {
        json: payload,
        length_matches: length_matches(declared, payload),
    })
}

/// Whether `message` is a heartbeat, to be answered with a text `Z`: the one rule for every
/// caller, so that the socket task never answers (and swallows) a message the decoder would
/// have stored or quarantined, nor passes on one the decoder would take for a heartbeat.
pub fn is_heartbeat(message: &str) -> bool {
    // Longer than `<LEN>|Z` can be is never a heartbeat; the check spares an event's message
    // the length count `split_message` makes, which the decoder will make again.
    message.len() <= MAX_LEN_DIGITS + 2 && matches!(split_message(message), Ok(Split::Heartbeat))
}

#[cold]
fn split_message_slow(message: &str) -> Result<Split<'_>, DecodeError> {
    let Some(bar) = message.as_bytes().iter().position(|&b| b == b'|') else {
        return Err(DecodeError::BadPrefix {
            reason: "no `|` after the length",
        });
    };
    let (len_text, payload) = (&message[..bar], &message[bar + 1..]);
    if len_text.is_empty() {
        return Err(DecodeError::BadPrefix {
            reason: "empty length",
        });
    }
    if len_text.len() > MAX_LEN_DIGITS || !len_text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(DecodeError::BadPrefix {
            reason: "length is not a decimal number",
        });
    }
    if payload == "Z" {
        return Ok(Split::Heartbeat);
    }
    // Ten digits always fit in a u64.
    let declared: u64 = len_text.parse().unwrap_or(u64::MAX);
    Ok(Split::Payload {
        json: payload,
        length_matches: length_matches(declared, payload),
    })
}

fn length_matches(declared: u64, payload: &str) -> bool {
    declared == payload.len() as u64
        // Only count UTF-16 units when the cheap byte check failed.
        || declared == payload.encode_utf16().count() as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heartbeat_is_exactly_payload_z() {
        assert_eq!(split_message("1|Z"), Ok(Split::Heartbeat));
        assert!(matches!(
            split_message("3|\"Z\""),
            Ok(Split::Payload { json: "\"Z\"", .. })
        ));
        assert!(matches!(split_message("2|ZZ"), Ok(Split::Payload { .. })));
    }

    #[test]
    fn splits_at_the_first_bar_only() {
        let payload = r#"{"v":"a|Z|b"}"#;
        let message = format!("{}|{payload}", payload.len());
        assert_eq!(
            split_message(&message),
            Ok(Split::Payload {
                json: payload,
                length_matches: true
            })
        );
    }

    #[test]
    fn length_may_count_bytes_or_utf16_units() {
        let payload = r#"{"v":"é😀"}"#; // 14 bytes, 11 UTF-16 units, 10 chars
        for (len, matches) in [(14, true), (11, true), (10, false)] {
            let Split::Payload { length_matches, .. } =
                split_message(&format!("{len}|{payload}")).unwrap()
            else {
                panic!("not a payload")
            };
            assert_eq!(length_matches, matches, "LEN {len}");
        }
    }

    #[test]
    fn one_pass_split_agrees_with_the_careful_one() {
        for message in [
            "1|Z",
            "3|{}x",
            "0|",
            "12|a|b",
            "0012|{}",
            "1234567890|{}",
            "12345678901|{}",
            "|{}",
            "1x|{}",
            "1",
            "",
            "é|Z",
            "7|é😀",
        ] {
            assert_eq!(
                split_message(message),
                split_message_slow(message),
                "{message:?}"
            );
        }
    }

    #[test]
    fn malformed_prefixes_are_refused() {
        for bad in ["Z", "", "|Z", "x|{}", "-1|{}", " 1|Z", "99999999999|{}"] {
            assert!(
                matches!(split_message(bad), Err(DecodeError::BadPrefix { .. })),
                "{bad:?}"
            );
        }
    }
}
