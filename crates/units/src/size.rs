//! Byte sizes: `512MiB`, `2GB`, `64k`, `1048576`.

use std::fmt;
use std::str::FromStr;

/// A size in bytes, written `512MiB`, `2GB`, `64k` or `1048576` (binary units for `k`/`KiB`,
/// `m`/`MiB`, `g`/`GiB`; decimal for `KB`, `MB`, `GB`; case is ignored).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct ByteSize(pub u64);

impl ByteSize {
    /// The size as a `usize`, saturating on targets where it does not fit.
    pub fn as_usize(self) -> usize {
        usize::try_from(self.0).unwrap_or(usize::MAX)
    }
}

impl From<usize> for ByteSize {
    fn from(n: usize) -> Self {
        ByteSize(n as u64)
    }
}

/// Why a size could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "invalid size {0:?}: expected a number with an optional unit (B, KiB, MiB, GiB, KB, MB, GB)"
)]
pub struct InvalidByteSize(String);

impl FromStr for ByteSize {
    type Err = InvalidByteSize;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let invalid = || InvalidByteSize(s.to_owned());
        let t = s.trim();
        let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
        let (digits, unit) = t.split_at(split);
        let n: u64 = digits.parse().map_err(|_| invalid())?;
        let mult: u64 = match unit.trim().to_ascii_lowercase().as_str() {
            "" | "b" => 1,
            "k" | "kib" => 1 << 10,
            "m" | "mib" => 1 << 20,
            "g" | "gib" => 1 << 30,
            "kb" => 1_000,
            "mb" => 1_000_000,
            "gb" => 1_000_000_000,
            _ => return Err(invalid()),
        };
        n.checked_mul(mult).map(ByteSize).ok_or_else(invalid)
    }
}

impl fmt::Display for ByteSize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const UNITS: [(u64, &str); 3] = [(1 << 30, "GiB"), (1 << 20, "MiB"), (1 << 10, "KiB")];
        for (size, unit) in UNITS {
            if self.0 >= size && self.0.is_multiple_of(size) {
                return write!(f, "{}{unit}", self.0 / size);
            }
        }
        write!(f, "{}B", self.0)
    }
}

impl<'de> serde::Deserialize<'de> for ByteSize {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(crate::FromText::new())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_with_binary_and_decimal_units() {
        assert_eq!("1048576".parse(), Ok(ByteSize(1 << 20)));
        assert_eq!("512MiB".parse(), Ok(ByteSize(512 << 20)));
        assert_eq!("64MiB".parse(), Ok(ByteSize(64 << 20)));
        assert_eq!("1GiB".parse(), Ok(ByteSize(1 << 30)));
        assert_eq!("2 GiB".parse(), Ok(ByteSize(2 << 30)));
        assert_eq!("64k".parse(), Ok(ByteSize(64 << 10)));
        assert_eq!("3MB".parse(), Ok(ByteSize(3_000_000)));
        for bad in [
            "",
            "MiB",
            "12 parsecs",
            "-1",
            "1.5GiB",
            "99999999999999999999GiB",
        ] {
            assert!(bad.parse::<ByteSize>().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn a_bad_size_is_quoted_with_the_units_it_could_have_had() {
        let message = "12 parsecs".parse::<ByteSize>().unwrap_err().to_string();
        assert!(message.contains("\"12 parsecs\""), "{message}");
        assert!(message.contains("MiB"), "{message}");
        // Overflow is refused, not wrapped.
        assert!("17179869184GiB".parse::<ByteSize>().is_err());
    }

    #[test]
    fn sizes_display_in_the_largest_exact_unit_and_parse_back() {
        assert_eq!(ByteSize(1 << 30).to_string(), "1GiB");
        assert_eq!(ByteSize(3 << 20).to_string(), "3MiB");
        assert_eq!(ByteSize(1000).to_string(), "1000B");
        for n in [0, 1, 1000, 5 << 20, (1 << 30) + 1] {
            let back: ByteSize = ByteSize(n).to_string().parse().unwrap();
            assert_eq!(back, ByteSize(n));
        }
        assert_eq!(ByteSize(u64::MAX).as_usize(), usize::MAX);
    }

    #[derive(Debug, serde::Deserialize)]
    struct File {
        max_bytes: ByteSize,
    }

    #[test]
    fn toml_takes_a_size_as_text_or_as_a_bare_number() {
        let file: File = toml::from_str("max_bytes = \"64MiB\"").unwrap();
        assert_eq!(file.max_bytes, ByteSize(64 << 20));
        let file: File = toml::from_str("max_bytes = 67108864").unwrap();
        assert_eq!(file.max_bytes, ByteSize(64 << 20));
        let message = toml::from_str::<File>("max_bytes = \"lots\"")
            .unwrap_err()
            .to_string();
        assert!(message.contains("invalid size \"lots\""), "{message}");
        assert!(toml::from_str::<File>("max_bytes = -1").is_err());
        assert!(toml::from_str::<File>("max_bytes = true").is_err());
    }
}
