//! A minimal read-only view of a parsed JSON document, so the event extractor is written once and
//! runs over simd-json's tape (the hot path) or over a `serde_json::Value` (the benchmark's
//! baseline and the property tests' oracle). Both are monomorphised; no `dyn` per field.

use simd_json::{Node, StaticNode};

/// What a JSON node is, with its scalar payload.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Scalar<'s> {
    Null,
    Bool(bool),
    I64(i64),
    U64(u64),
    F64(f64),
    Str(&'s str),
    Object,
    Array,
}

/// A borrowed JSON node whose strings live for `'s`.
pub(crate) trait JsonRef<'s>: Copy {
    type Entries: Iterator<Item = (&'s str, Self)>;
    type Elements: Iterator<Item = Self>;

    fn scalar(self) -> Scalar<'s>;
    /// The entries of an object (empty for anything else).
    fn entries(self) -> Self::Entries;
    /// The elements of an array (empty for anything else).
    fn elements(self) -> Self::Elements;
}

/// A node of simd-json's tape: the slice starting at the node.
#[derive(Debug, Clone, Copy)]
pub(crate) struct TapeRef<'t, 's>(pub(crate) &'t [Node<'s>]);

/// Nodes a value occupies on the tape, itself included.
fn node_count(node: &Node<'_>) -> usize {
    match node {
        Node::Object { count, .. } | Node::Array { count, .. } => count + 1,
        _ => 1,
    }
}

impl<'t, 's> JsonRef<'s> for TapeRef<'t, 's> {
    type Entries = TapeEntries<'t, 's>;
    type Elements = TapeElements<'t, 's>;

    #[inline]
    fn scalar(self) -> Scalar<'s> {
        match self.0.first() {
            Some(Node::String(s)) => Scalar::Str(s),
            Some(Node::Object { .. }) => Scalar::Object,
            Some(Node::Array { .. }) => Scalar::Array,
            Some(Node::Static(StaticNode::Bool(b))) => Scalar::Bool(*b),
            Some(Node::Static(StaticNode::I64(n))) => Scalar::I64(*n),
            Some(Node::Static(StaticNode::U64(n))) => Scalar::U64(*n),
            Some(Node::Static(StaticNode::F64(n))) => Scalar::F64(*n),
            Some(Node::Static(StaticNode::Null)) | None => Scalar::Null,
        }
    }

    #[inline]
    fn entries(self) -> TapeEntries<'t, 's> {
        match self.0.first() {
            Some(&Node::Object { len, .. }) => TapeEntries {
                rest: &self.0[1..],
                left: len,
            },
            _ => TapeEntries { rest: &[], left: 0 },
        }
    }

    #[inline]
    fn elements(self) -> TapeElements<'t, 's> {
        match self.0.first() {
            Some(&Node::Array { len, .. }) => TapeElements {
                rest: &self.0[1..],
                left: len,
            },
            _ => TapeElements { rest: &[], left: 0 },
        }
    }
}

#[derive(Debug)]
pub(crate) struct TapeEntries<'t, 's> {
    rest: &'t [Node<'s>],
    left: usize,
}

impl<'t, 's> Iterator for TapeEntries<'t, 's> {
    type Item = (&'s str, TapeRef<'t, 's>);

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        let (Node::String(key), value) = (self.rest.first()?, self.rest.get(1..)?) else {
            return None;
        };
        let width = node_count(value.first()?);
        self.rest = &value[width.min(value.len())..];
        Some((key, TapeRef(value)))
    }
}

#[derive(Debug)]
pub(crate) struct TapeElements<'t, 's> {
    rest: &'t [Node<'s>],
    left: usize,
}

impl<'t, 's> Iterator for TapeElements<'t, 's> {
    type Item = TapeRef<'t, 's>;

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        let value = self.rest;
        let width = node_count(value.first()?);
        self.rest = &value[width.min(value.len())..];
        Some(TapeRef(value))
    }
}

impl<'s> JsonRef<'s> for &'s serde_json::Value {
    type Entries = Box<dyn Iterator<Item = (&'s str, Self)> + 's>;
    type Elements = std::slice::Iter<'s, serde_json::Value>;

    fn scalar(self) -> Scalar<'s> {
        use serde_json::Value as V;
        match self {
            V::Null => Scalar::Null,
            V::Bool(b) => Scalar::Bool(*b),
            V::Number(n) => {
                if let Some(u) = n.as_u64() {
                    Scalar::U64(u)
                } else if let Some(i) = n.as_i64() {
                    Scalar::I64(i)
                } else {
                    Scalar::F64(n.as_f64().unwrap_or(f64::NAN))
                }
            }
            V::String(s) => Scalar::Str(s),
            V::Object(_) => Scalar::Object,
            V::Array(_) => Scalar::Array,
        }
    }

    fn entries(self) -> Self::Entries {
        match self {
            serde_json::Value::Object(map) => Box::new(map.iter().map(|(k, v)| (k.as_str(), v))),
            _ => Box::new(std::iter::empty()),
        }
    }

    fn elements(self) -> Self::Elements {
        match self {
            serde_json::Value::Array(items) => items.iter(),
            _ => [].iter(),
        }
    }
}

/// Writes `value` as compact JSON text.
pub(crate) fn write_json<'s, J: JsonRef<'s>>(value: J, out: &mut String) {
    match value.scalar() {
        Scalar::Null => out.push_str("null"),
        Scalar::Bool(true) => out.push_str("true"),
        Scalar::Bool(false) => out.push_str("false"),
        Scalar::I64(n) => out.push_str(itoa::Buffer::new().format(n)),
        Scalar::U64(n) => out.push_str(itoa::Buffer::new().format(n)),
        Scalar::F64(n) => write_f64(n, out),
        Scalar::Str(s) => write_json_string(s, out),
        Scalar::Object => {
            out.push('{');
            for (i, (key, item)) in value.entries().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_json_string(key, out);
                out.push(':');
                write_json(item, out);
            }
            out.push('}');
        }
        Scalar::Array => {
            out.push('[');
            for (i, item) in value.elements().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_json(item, out);
            }
            out.push(']');
        }
    }
}

/// Shortest text that parses back to the same `f64`; JSON has no NaN or infinity, so those
/// (which no parser produces) become `null`.
pub(crate) fn write_f64(n: f64, out: &mut String) {
    if n.is_finite() {
        out.push_str(ryu::Buffer::new().format_finite(n));
    } else {
        out.push_str("null");
    }
}

/// Writes `s` as a JSON string literal, exactly as `dss_lake_schema::text::write_json_string`
/// does. A copy, because it runs for every key and string the decoder re-encodes (extras, nested
/// values) and is kept local so it inlines into that loop; a test below checks that both write
/// the same text.
pub(crate) fn write_json_string(s: &str, out: &mut String) {
    out.push('"');
    let bytes = s.as_bytes();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let escape: &str = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0x00..=0x1f => "",
            _ => continue,
        };
        out.push_str(&s[start..i]);
        if escape.is_empty() {
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

const HEX: &[u8; 16] = b"0123456789abcdef";

#[cfg(test)]
mod tests {
    use super::*;

    fn through_tape(text: &str) -> String {
        let mut bytes = text.as_bytes().to_vec();
        let tape = simd_json::to_tape(&mut bytes).unwrap();
        let mut out = String::new();
        write_json(TapeRef(&tape.0), &mut out);
        out
    }

    #[test]
    fn tape_and_serde_views_write_the_same_json() {
        let text = r#"{"a":[1,-2,3.5,true,null,{"b":"x\"y\n\u0001é"}],"c":{},"d":[],"e":18446744073709551615}"#;
        let expected: serde_json::Value = serde_json::from_str(text).unwrap();
        let from_tape = through_tape(text);
        let mut from_serde = String::new();
        write_json(&expected, &mut from_serde);
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&from_tape).unwrap(),
            expected
        );
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&from_serde).unwrap(),
            expected
        );
    }

    #[test]
    fn object_iteration_skips_nested_values() {
        let mut bytes = br#"{"a":{"x":[1,[2,3]]},"b":2,"c":[{"d":1}],"e":"z"}"#.to_vec();
        let tape = simd_json::to_tape(&mut bytes).unwrap();
        let keys: Vec<_> = TapeRef(&tape.0).entries().map(|(k, _)| k).collect();
        assert_eq!(keys, ["a", "b", "c", "e"]);
    }

    #[test]
    fn string_escaping_matches_the_shared_one() {
        let mut cases: Vec<String> = (0..0x80u8).map(|b| char::from(b).to_string()).collect();
        cases.extend(
            [
                "",
                "plain",
                "é€😀",
                "a\"b\\c\nd\u{1}é|Z\u{7f}",
                "\u{1f}x\u{1f}",
            ]
            .map(String::from),
        );
        for c in (0..0x80u8).map(char::from) {
            cases.push(format!("é{c}x{c}{c}😀"));
        }
        for case in &cases {
            let (mut ours, mut shared) = (String::new(), String::new());
            write_json_string(case, &mut ours);
            dss_lake_schema::text::write_json_string(case, &mut shared);
            assert_eq!(ours, shared, "{case:?}");
        }
    }
}
