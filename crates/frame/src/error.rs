//! Why a frame could not be decoded. Cheap to build: no allocation, static reasons, byte offsets.

/// Every way a DSS message can fail to decode. The decoder never panics; it returns one of these.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The `<LEN>|` prefix is missing or malformed.
    #[error("bad frame prefix: {reason}")]
    BadPrefix { reason: &'static str },
    /// The payload is not valid JSON.
    #[error("invalid JSON at byte {offset}: {reason}")]
    InvalidJson { offset: usize, reason: &'static str },
    /// The payload is JSON but not an object.
    #[error("payload is not a JSON object")]
    NotAnObject,
    /// A field the event cannot be stored without is absent.
    #[error("missing field `{field}`")]
    MissingField { field: &'static str },
    /// A documented field has a type the schema cannot hold.
    #[error("field `{field}` has the wrong type: expected {expected}")]
    WrongType {
        field: &'static str,
        expected: &'static str,
    },
    /// `metadata.event_type` is none of the five DSS event types.
    #[error("unknown event type")]
    UnknownEventType,
    /// An object key that dss-lake reserves in `extra_json` (it starts with `$`).
    #[error("object key starting with `$` is reserved")]
    ReservedKey,
}

impl DecodeError {
    /// A short stable name of the error, stored in the quarantine table's `error_kind`.
    pub const fn kind(&self) -> &'static str {
        match self {
            DecodeError::BadPrefix { .. } => "bad_prefix",
            DecodeError::InvalidJson { .. } => "invalid_json",
            DecodeError::NotAnObject => "not_an_object",
            DecodeError::MissingField { .. } => "missing_field",
            DecodeError::WrongType { .. } => "wrong_type",
            DecodeError::UnknownEventType => "unknown_event_type",
            DecodeError::ReservedKey => "reserved_key",
        }
    }

    pub(crate) fn wrong_type(field: &'static str, expected: &'static str) -> Self {
        DecodeError::WrongType { field, expected }
    }

    /// The reason for what simd-json's tape parser reports (each arm is one it was seen to
    /// give; see the test). Trailing data and unbalanced brackets come as its internal error,
    /// and end up under the catch-all.
    pub(crate) fn from_simd(error: &simd_json::Error) -> Self {
        use simd_json::ErrorType as E;
        let reason = match error.error() {
            E::Eof => "unexpected end of input",
            E::Syntax => "syntax error",
            E::InvalidUtf8 => "invalid UTF-8",
            E::InvalidEscape | E::InvalidUnicodeEscape | E::InvalidUnicodeCodepoint => {
                "invalid escape sequence"
            }
            E::InvalidNumber | E::InvalidExponent => "invalid number",
            E::ExpectedTrue | E::ExpectedFalse | E::ExpectedNull => {
                "invalid literal (true, false or null)"
            }
            E::ExpectedObjectColon => "expected `:`",
            E::ExpectedObjectKey => "expected a key",
            E::ExpectedObjectContent => "unexpected character in an object",
            E::ExpectedArrayContent => "unexpected character in an array",
            _ => "malformed JSON",
        };
        DecodeError::InvalidJson {
            offset: error.index(),
            reason,
        }
    }
}

/// A message that could not be decoded, with its raw text so the writer can quarantine it as it
/// was received.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{error}")]
pub struct Rejected<'m> {
    pub raw: &'m str,
    pub error: DecodeError,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What the quarantine table stores in `error_kind`: queries and dashboards match on these
    /// names, so each is pinned.
    #[test]
    fn every_error_kind_has_its_stable_name() {
        let names = [
            (DecodeError::BadPrefix { reason: "r" }, "bad_prefix"),
            (
                DecodeError::InvalidJson {
                    offset: 0,
                    reason: "r",
                },
                "invalid_json",
            ),
            (DecodeError::NotAnObject, "not_an_object"),
            (DecodeError::MissingField { field: "f" }, "missing_field"),
            (DecodeError::wrong_type("f", "a string"), "wrong_type"),
            (DecodeError::UnknownEventType, "unknown_event_type"),
            (DecodeError::ReservedKey, "reserved_key"),
        ];
        for (error, name) in names {
            assert_eq!(error.kind(), name, "{error}");
        }
    }

    /// Each kind of malformed JSON keeps its own reason, at the byte simd-json stopped at,
    /// parsed as the decoder's general path parses it.
    #[test]
    fn simd_json_errors_keep_their_reason() {
        for (json, reason) in [
            ("   ", "unexpected end of input"),
            (r#"{"a":"abc"#, "syntax error"),
            ("{\"a\":\"b\u{1}\"}", "syntax error"),
            (r#"{"a":"\q"}"#, "invalid escape sequence"),
            (r#"{"a":"\ud800"}"#, "invalid escape sequence"),
            (r#"{"a":01}"#, "invalid number"),
            (r#"{"a":1.5.5}"#, "invalid number"),
            (r#"{"a":tru}"#, "invalid literal (true, false or null)"),
            (r#"{"a":fals}"#, "invalid literal (true, false or null)"),
            (r#"{"a":nul}"#, "invalid literal (true, false or null)"),
            (r#"{"a" 1}"#, "expected `:`"),
            (r#"{"a":1,}"#, "expected a key"),
            (r#"{"a":1 "b":2}"#, "unexpected character in an object"),
            (r#"{1:2}"#, "unexpected character in an object"),
            ("[1 2]", "unexpected character in an array"),
            (r#"{"a":1} x"#, "malformed JSON"),
        ] {
            let mut input = json.as_bytes().to_vec();
            input.resize(json.len() + simd_json::INPUT_PADDING, 0);
            let mut buffers = simd_json::Buffers::default();
            let mut tape = simd_json::Tape::null();
            let error =
                simd_json::fill_tape_padded(&mut input, json.len(), &mut buffers, &mut tape)
                    .expect_err(json);
            assert_eq!(
                DecodeError::from_simd(&error),
                DecodeError::InvalidJson {
                    offset: error.index(),
                    reason
                },
                "{json}: {error:?}"
            );
        }
        // Not from a `&str`, which is always UTF-8; the mapping holds all the same.
        let mut not_utf8 = b"{\"a\":\"\xff\"}".to_vec();
        let error = simd_json::to_tape(&mut not_utf8).expect_err("not UTF-8");
        assert_eq!(
            DecodeError::from_simd(&error),
            DecodeError::InvalidJson {
                offset: error.index(),
                reason: "invalid UTF-8"
            }
        );
    }
}
