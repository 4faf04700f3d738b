//! The stream key: the secret of a DSS subscription. It travels only in the WebSocket URL and
//! is redacted everywhere else (logs, metrics, errors, `Debug` output), on both sides of the
//! socket: the daemon that presents it and the emulator that checks it.

use std::fmt;

/// A DSS stream key. `Debug` and `Display` show only its last 4 characters; the whole key is
/// reachable only through [`StreamKey::expose`], for the URL (the daemon) or the subscription's
/// REST answer (the emulator).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct StreamKey(String);

impl StreamKey {
    /// Accepts 1 to 256 ASCII letters and digits, trimmed (DSS keys are 32 lowercase hex), so
    /// that the key can go into a URL as is. The error never repeats the key.
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

    /// A key of exactly the form DSS issues: 32 lowercase hex characters, nothing around them.
    pub fn parse_dss(key: &str) -> Option<StreamKey> {
        let ok = key.len() == 32
            && key
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        ok.then(|| StreamKey(key.to_owned()))
    }

    /// The DSS form of 16 random bytes (32 lowercase hex characters).
    pub fn from_bytes(bytes: [u8; 16]) -> StreamKey {
        StreamKey(bytes.iter().map(|b| format!("{b:02x}")).collect())
    }

    /// The whole key, for the URL (or the emulator's REST answer) only.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The last four characters (fewer for a shorter key): all that logs may show.
    pub fn suffix(&self) -> &str {
        let mut start = self.0.len().saturating_sub(4);
        // Keys are ASCII, but never slice inside a character if one ever is not.
        while !self.0.is_char_boundary(start) {
            start += 1;
        }
        &self.0[start..]
    }

    /// `…abcd`: what logs and errors show.
    pub fn redacted(&self) -> String {
        format!("…{}", self.suffix())
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
            format!("{:?}", Some(&key)),
            key.scrub(&format!(
                "HTTP error at wss://h/stream?stream_key={KEY}&seq_start=1"
            )),
        ] {
            assert!(!shown.contains(KEY), "{shown}");
            assert!(!shown.contains("0123456789ab"), "{shown}");
            assert!(shown.contains("…cdef"), "{shown}");
        }
        assert_eq!(format!("{key:?}"), "StreamKey(…cdef)");
        assert_eq!(key.expose(), KEY);
        assert_eq!(StreamKey::new("ab").unwrap().suffix(), "ab");
    }

    #[test]
    fn keys_that_could_break_the_url_are_refused_without_being_quoted() {
        assert!(StreamKey::new("").is_err());
        let err = StreamKey::new("abc&seq_start=1").unwrap_err();
        assert!(!err.contains("abc"));
        assert!(StreamKey::new(&"a".repeat(257)).is_err());
        assert_eq!(StreamKey::new(" ab12\n").unwrap().expose(), "ab12");
    }

    #[test]
    fn the_dss_form_is_32_lowercase_hex() {
        assert_eq!(StreamKey::parse_dss(KEY).unwrap().expose(), KEY);
        assert!(StreamKey::parse_dss("0123456789ABCDEF0123456789abcdef").is_none());
        assert!(StreamKey::parse_dss("0123").is_none());
        assert!(StreamKey::parse_dss(&format!(" {KEY}")).is_none());
        let key = StreamKey::from_bytes([0xab; 16]);
        assert_eq!(key.expose(), "ab".repeat(16));
        assert_eq!(StreamKey::parse_dss(key.expose()), Some(key));
    }
}
