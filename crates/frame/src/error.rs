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

    pub(crate) fn from_simd(error: &simd_json::Error) -> Self {
        use simd_json::ErrorType as E;
        let reason = match error.error() {
            E::Eof => "unexpected end of input",
            E::TrailingData => "trailing data after the JSON value",
            E::InvalidUtf8 => "invalid UTF-8",
            E::InvalidEscape | E::InvalidUnicodeEscape | E::InvalidUnicodeCodepoint => {
                "invalid escape sequence"
            }
            E::InvalidNumber | E::InvalidExponent => "invalid number",
            E::UnterminatedString => "unterminated string",
            E::KeyMustBeAString | E::BadKeyType => "object key is not a string",
            E::ExpectedObjectColon => "expected `:`",
            E::ExpectedMapComma | E::ExpectedArrayComma => "expected `,`",
            E::ExpectedMapEnd => "expected `}`",
            E::InputTooLarge => "input too large",
            E::Syntax | E::UnexpectedCharacter | E::NoStructure => "syntax error",
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
