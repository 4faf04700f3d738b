//! The stream key: a secret that travels only in the WebSocket URL and is redacted everywhere
//! else (logs, metrics, errors, `Debug` output).

use std::fmt;

/// A DSS stream key. `Debug` and `Display` show only its last 4 characters; the whole key is
/// reachable only through [`StreamKey::expose`], which the connector calls to build the URL.
#[derive(Clone, PartialEq, Eq)]
pub struct StreamKey(String);

impl StreamKey {
    /// Accepts 1 to 256 ASCII letters and digits (DSS keys are 32 lowercase hex), so that the key
    /// can go into a URL as is. The error never repeats the key.
    pub fn new(key: &str) -> Result<StreamKey, &'static str> {
        let key = key.trim();
        if key.is_empty() {
            return Err("the stream key is empty");
        }
        if key.len() > 256 || !key.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err("a stream key is letters and digits only (DSS keys are 32 hex characters)");
        }
        Ok(StreamKey(key.to_owned()))
    }

    /// The whole key, for the URL only.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// `…abcd`: what logs and errors show.
    pub fn redacted(&self) -> String {
        let tail = &self.0[self.0.len().saturating_sub(4)..];
        format!("…{tail}")
    }

    /// `text` with every occurrence of the key replaced by its redacted form; for error
    /// messages of libraries that may quote the URL (tungstenite's do).
    pub fn scrub(&self, text: &str) -> String {
        text.replace(&self.0, &self.redacted())
    }
}

impl fmt::Debug for StreamKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "StreamKey({})", self.redacted())
    }
}

impl fmt::Display for StreamKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "0123456789abcdef0123456789abcdef";

    #[test]
    fn debug_display_and_scrubbed_errors_show_only_the_last_four_characters() {
        let key = StreamKey::new(KEY).unwrap();
        for shown in [
            format!("{key:?}"),
            format!("{key}"),
            key.scrub(&format!(
                "HTTP error at wss://h/stream?stream_key={KEY}&seq_start=1"
            )),
        ] {
            assert!(!shown.contains(KEY), "{shown}");
            assert!(!shown.contains("0123456789ab"), "{shown}");
            assert!(shown.contains("…cdef"), "{shown}");
        }
        assert_eq!(key.expose(), KEY);
    }

    #[test]
    fn keys_that_could_break_the_url_are_refused_without_being_quoted() {
        assert!(StreamKey::new("").is_err());
        let err = StreamKey::new("abc&seq_start=1").unwrap_err();
        assert!(!err.contains("abc"));
        assert_eq!(StreamKey::new(" ab12\n").unwrap().expose(), "ab12");
    }
}
