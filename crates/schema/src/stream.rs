//! Stream names: the user's label for a subscription, stored in every row and used in file names.

use std::fmt;

/// A configured stream name: 1 to 64 characters of `[A-Za-z0-9_-]`, not starting with `_` or `-`.
///
/// It appears in every row and in file and checkpoint names, so it must be safe in a path and in
/// a Hive layout; it is what users see instead of the secret stream key.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StreamName(String);

/// Why a stream name was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidStreamName {
    pub name: String,
    pub reason: &'static str,
}

impl fmt::Display for InvalidStreamName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid stream name {:?}: {}", self.name, self.reason)
    }
}

impl std::error::Error for InvalidStreamName {}

impl StreamName {
    pub const MAX_LEN: usize = 64;

    pub fn parse(name: &str) -> Result<Self, InvalidStreamName> {
        let refuse = |reason| {
            Err(InvalidStreamName {
                name: name.to_owned(),
                reason,
            })
        };
        if name.is_empty() {
            return refuse("it is empty");
        }
        if name.len() > Self::MAX_LEN {
            return refuse("it is longer than 64 characters");
        }
        if name.starts_with(['_', '-']) {
            return refuse(
                "it starts with '_' or '-' (readers would take its files for temporary ones)",
            );
        }
        if !name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        {
            return refuse("only letters, digits, '_' and '-' are allowed");
        }
        Ok(StreamName(name.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for StreamName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::str::FromStr for StreamName {
    type Err = InvalidStreamName;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_plain_names_and_refuses_path_tricks() {
        assert!(StreamName::parse("freezers-eu_1").is_ok());
        for bad in ["", "_tmp", "-x", "a/b", "..", "a b", &"x".repeat(65)] {
            assert!(StreamName::parse(bad).is_err(), "{bad:?}");
        }
    }
}
