//! Archive formats: how records are laid out in a file, told apart from its first bytes, and
//! split into one record each without parsing them (the decoder parses).

use std::io::BufRead;
use std::str::FromStr;

/// How records are laid out in an archive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArchiveFormat {
    /// Decide from the first record: a newline after it means NDJSON.
    Auto,
    Ndjson,
    /// JSON objects back to back (the DSS Collector's files).
    Concatenated,
}

impl FromStr for ArchiveFormat {
    type Err = UnknownArchiveFormat;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "auto" => Ok(ArchiveFormat::Auto),
            "ndjson" => Ok(ArchiveFormat::Ndjson),
            "concatenated" => Ok(ArchiveFormat::Concatenated),
            other => Err(UnknownArchiveFormat(other.to_owned())),
        }
    }
}

/// A format name that is none of `auto`, `ndjson`, `concatenated`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown archive format {0:?}: use auto, ndjson or concatenated")]
pub struct UnknownArchiveFormat(String);

/// FNV-1a of the archive's head, with its length; stable across runs and platforms.
pub(crate) fn fingerprint(head: &[u8]) -> String {
    let hash = head.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    });
    format!("{hash:016x}-{}", head.len())
}

/// NDJSON when the first object is followed by a newline (or is the whole head), else
/// concatenated. Lines of junk before it (a heartbeat, a bad line) do not count as the object.
pub(crate) fn detect(head: &[u8]) -> ArchiveFormat {
    let mut scanner = ObjectScanner::default();
    for (i, &b) in head.iter().enumerate() {
        if scanner.feed(b) == Step::End {
            if b == b'\n' {
                scanner = ObjectScanner::default();
                continue;
            }
            let next = head[i + 1..]
                .iter()
                .find(|b| !matches!(b, b' ' | b'\t' | b'\r'));
            return match next {
                None | Some(b'\n') => ArchiveFormat::Ndjson,
                _ => ArchiveFormat::Concatenated,
            };
        }
    }
    ArchiveFormat::Ndjson
}

/// Splits an archive into records: lines, or top-level JSON objects.
pub(crate) struct Records<R> {
    reader: R,
    format: ArchiveFormat,
    offset: u64,
    pub(crate) reported: u64,
    record_number: u64,
}

impl<R: BufRead> Records<R> {
    pub(crate) fn new(reader: R, format: ArchiveFormat, offset: u64) -> Self {
        Records {
            reader,
            format,
            offset,
            reported: offset,
            record_number: 0,
        }
    }

    /// The next non-empty record into `out`, with its number and the offset just past it.
    pub(crate) fn next(&mut self, out: &mut Vec<u8>) -> std::io::Result<Option<(u64, u64)>> {
        loop {
            out.clear();
            let read = match self.format {
                ArchiveFormat::Concatenated => self.next_object(out)?,
                _ => self.reader.read_until(b'\n', out)?,
            };
            if read == 0 {
                return Ok(None);
            }
            self.offset += read as u64;
            self.record_number += 1;
            while out.last().is_some_and(|b| b.is_ascii_whitespace()) {
                out.pop();
            }
            let leading = out.iter().take_while(|b| b.is_ascii_whitespace()).count();
            out.drain(..leading);
            if !out.is_empty() {
                return Ok(Some((self.record_number, self.offset)));
            }
        }
    }

    /// Reads one top-level object (or, between objects, one run of junk up to the next `{` or
    /// newline, which then fails to decode and is quarantined). Returns bytes consumed.
    fn next_object(&mut self, out: &mut Vec<u8>) -> std::io::Result<usize> {
        let mut scanner = ObjectScanner::default();
        let mut consumed = 0;
        loop {
            let buf = self.reader.fill_buf()?;
            if buf.is_empty() {
                return Ok(consumed);
            }
            let mut used = 0;
            let mut done = false;
            for &b in buf {
                if scanner.depth == 0 && scanner.in_junk && b == b'{' {
                    done = true; // junk ends where an object starts
                    break;
                }
                used += 1;
                out.push(b);
                if scanner.feed(b) == Step::End {
                    done = true;
                    break;
                }
            }
            self.reader.consume(used);
            consumed += used;
            if done {
                return Ok(consumed);
            }
        }
    }
}

#[derive(Debug, PartialEq, Eq)]
enum Step {
    More,
    End,
}

/// Tracks JSON nesting byte by byte, aware of strings and escapes.
#[derive(Debug, Default)]
struct ObjectScanner {
    depth: usize,
    in_string: bool,
    escaped: bool,
    in_junk: bool,
}

impl ObjectScanner {
    fn feed(&mut self, b: u8) -> Step {
        if self.in_string {
            match (self.escaped, b) {
                (true, _) => self.escaped = false,
                (false, b'\\') => self.escaped = true,
                (false, b'"') => self.in_string = false,
                _ => {}
            }
            return Step::More;
        }
        match b {
            b'"' if self.depth > 0 => self.in_string = true,
            b'{' | b'[' => self.depth += 1,
            b'}' | b']' if self.depth > 0 => {
                self.depth -= 1;
                if self.depth == 0 {
                    return Step::End;
                }
            }
            b'\n' if self.depth == 0 && self.in_junk => return Step::End,
            c if self.depth == 0 && !c.is_ascii_whitespace() => self.in_junk = true,
            _ => {}
        }
        Step::More
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(text: &str, format: ArchiveFormat) -> Vec<String> {
        let mut records = Records::new(text.as_bytes(), format, 0);
        let mut out = Vec::new();
        let mut all = Vec::new();
        while records.next(&mut out).unwrap().is_some() {
            all.push(String::from_utf8(out.clone()).unwrap());
        }
        all
    }

    #[test]
    fn concatenated_objects_split_at_their_braces_even_with_braces_in_strings() {
        let text = r#"{"a":"}{"}{"b":{"c":"\"}"}}  {"d":1}"#;
        assert_eq!(
            split(text, ArchiveFormat::Concatenated),
            [r#"{"a":"}{"}"#, r#"{"b":{"c":"\"}"}}"#, r#"{"d":1}"#]
        );
        assert_eq!(detect(text.as_bytes()), ArchiveFormat::Concatenated);
    }

    #[test]
    fn junk_between_objects_becomes_its_own_record() {
        let text = "{\"a\":1}garbage{\"b\":2}";
        assert_eq!(
            split(text, ArchiveFormat::Concatenated),
            ["{\"a\":1}", "garbage", "{\"b\":2}"]
        );
    }

    #[test]
    fn ndjson_is_detected_and_split_by_line() {
        let text = "{\"a\":1}\n\n{\"b\":\n";
        assert_eq!(detect(text.as_bytes()), ArchiveFormat::Ndjson);
        assert_eq!(split(text, ArchiveFormat::Ndjson), ["{\"a\":1}", "{\"b\":"]);
    }
}
