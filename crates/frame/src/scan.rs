//! The general path's scanner, and the primitives the fast path (`fast`) reads with: one pass
//! over the payload that writes the same tape simd-json would, straight from the caller's `&str`.
//!
//! simd-json needs a mutable, padded copy of every frame (it unescapes strings in place), runs a
//! structural-index pass and then a tape pass, and re-validates UTF-8 that a `&str` already
//! guarantees. DSS frames are small, compact and have no escapes, so for them one scalar pass
//! that borrows every string from the input is cheaper (perf: simd-json plus the copy were over
//! half of decoding).
//!
//! The scanner recognises a subset of JSON: a root object, strings without escapes, integers of
//! up to 17 digits, decimals without exponent whose digits fit a float exactly, and nesting up
//! to `MAX_DEPTH`. On anything else, valid or not, it gives up (`None`) and the caller runs
//! simd-json, so errors, escapes and odd numbers keep simd-json's exact behaviour. What it
//! accepts is valid JSON, and its tape equals simd-json's node for node (a test checks both
//! parsers on the same inputs).

use simd_json::{Node, StaticNode};

use crate::json::Scalar;

/// Deeper documents go to simd-json; DSS events nest three levels.
const MAX_DEPTH: usize = 32;

/// Integers with more digits may overflow; simd-json handles them.
const MAX_INT_DIGITS: usize = 17;

/// Why the scanner stopped; the caller falls back to simd-json on any of these.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct GiveUp;

type Scan<T> = Result<T, GiveUp>;

/// An open object or array: where its header sits on the tape and how many entries it has.
#[derive(Debug, Clone, Copy, Default)]
struct Open {
    header: usize,
    len: usize,
    is_object: bool,
}

/// What the scanner keeps between frames so that a frame allocates nothing: the containers open
/// at each depth (a fresh array per frame was 768 bytes of zeroing, ~4% of decoding in perf) and
/// the payload's byte marks (see [`mark`]).
#[derive(Debug, Default)]
pub(crate) struct ScanBuffers {
    open: [Open; MAX_DEPTH],
    quotes: Vec<u64>,
    unsafe_in_strings: Vec<u64>,
}

/// Fills `tape` with the nodes of `json`, or gives up (leaving `tape` in an unspecified state).
/// `stack` holds nothing between calls.
pub(crate) fn scan_into<'s>(
    json: &'s str,
    tape: &mut Vec<Node<'s>>,
    buffers: &mut ScanBuffers,
) -> Scan<()> {
    let mut s = Scanner::marked(json, &mut buffers.quotes, &mut buffers.unsafe_in_strings);
    tape.clear();
    let stack = &mut buffers.open;
    let mut depth = 0;

    s.skip_ws();
    if s.peek() != Some(b'{') {
        return Err(GiveUp);
    }
    // One loop iteration per value; a closed container's header is written once its last
    // value is in, then its parent continues.
    let mut byte = b'{';
    'value: loop {
        // Here `byte` is the first byte of a value, at `s.pos`.
        match byte {
            b'{' | b'[' => {
                if depth == MAX_DEPTH {
                    return Err(GiveUp);
                }
                let is_object = byte == b'{';
                stack[depth] = Open {
                    header: tape.len(),
                    len: 0,
                    is_object,
                };
                depth += 1;
                tape.push(Node::Static(StaticNode::Null));
                s.pos += 1;
                s.skip_ws();
                let close = if is_object { b'}' } else { b']' };
                if s.peek() == Some(close) {
                    s.pos += 1;
                    // Falls through to closing the empty container below.
                } else {
                    if is_object {
                        s.key(tape)?;
                    }
                    byte = s.peek().ok_or(GiveUp)?;
                    continue 'value;
                }
            }
            b'"' => {
                let text = s.string()?;
                tape.push(Node::String(text));
                if let Some(next) = s.after_value(&mut stack[depth - 1], tape)? {
                    byte = next;
                    continue 'value;
                }
            }
            _ => {
                tape.push(Node::Static(s.atom(byte)?));
                if let Some(next) = s.after_value(&mut stack[depth - 1], tape)? {
                    byte = next;
                    continue 'value;
                }
            }
        }
        // A container just closed (its bracket consumed): write its header, then continue in
        // the parent, or finish at the root.
        loop {
            depth -= 1;
            let open = stack[depth];
            let count = tape.len() - open.header - 1;
            tape[open.header] = if open.is_object {
                Node::Object {
                    len: open.len,
                    count,
                }
            } else {
                Node::Array {
                    len: open.len,
                    count,
                }
            };
            if depth == 0 {
                s.skip_ws();
                return if s.pos == s.bytes.len() {
                    Ok(())
                } else {
                    Err(GiveUp)
                };
            }
            if let Some(next) = s.after_value(&mut stack[depth - 1], tape)? {
                byte = next;
                continue 'value;
            }
        }
    }
}

/// A cursor over a payload whose bytes are marked (see [`mark`]); the fast paths' primitives.
pub(crate) struct Scanner<'s, 'm> {
    json: &'s str,
    bytes: &'s [u8],
    pos: usize,
    /// One bit per byte of `bytes`: `"`.
    quotes: &'m [u64],
    /// One bit per byte of `bytes`: `\\` or a control character.
    unsafe_in_strings: &'m [u64],
}

impl ScanBuffers {
    /// A scanner at the start of `json`, with its bytes marked in these buffers.
    pub(crate) fn scanner<'s>(&mut self, json: &'s str) -> Scanner<'s, '_> {
        Scanner::marked(json, &mut self.quotes, &mut self.unsafe_in_strings)
    }
}

impl<'s, 'm> Scanner<'s, 'm> {
    fn marked(
        json: &'s str,
        quotes: &'m mut Vec<u64>,
        unsafe_in_strings: &'m mut Vec<u64>,
    ) -> Self {
        mark(json.as_bytes(), quotes, unsafe_in_strings);
        Scanner {
            json,
            bytes: json.as_bytes(),
            pos: 0,
            quotes,
            unsafe_in_strings,
        }
    }
}

impl<'s> Scanner<'s, '_> {
    /// The byte offset of the cursor.
    #[inline(always)]
    pub(crate) fn pos(&self) -> usize {
        self.pos
    }

    /// `json[range]`, for text the cursor has passed.
    #[inline(always)]
    pub(crate) fn text(&self, range: std::ops::Range<usize>) -> Option<&'s str> {
        self.json.get(range)
    }

    /// Consumes `byte` (after any whitespace), or fails.
    #[inline(always)]
    pub(crate) fn expect(&mut self, byte: u8) -> Scan<()> {
        self.skip_ws();
        if self.peek() != Some(byte) {
            return Err(GiveUp);
        }
        self.pos += 1;
        self.skip_ws();
        Ok(())
    }

    /// After an object's or array's entry: `true` past a `,` (another entry follows), `false`
    /// past the closing bracket `close`.
    #[inline(always)]
    pub(crate) fn more(&mut self, close: u8) -> Scan<bool> {
        self.skip_ws();
        match self.peek() {
            Some(b',') => {
                self.pos += 1;
                self.skip_ws();
                Ok(true)
            }
            Some(b) if b == close => {
                self.pos += 1;
                Ok(false)
            }
            _ => Err(GiveUp),
        }
    }

    /// Consumes an object key and its `:`, leaving the cursor at the value.
    #[inline(always)]
    pub(crate) fn key_text(&mut self) -> Scan<&'s str> {
        if self.peek() != Some(b'"') {
            return Err(GiveUp);
        }
        let key = self.string()?;
        self.expect(b':')?;
        Ok(key)
    }

    /// A scalar value at the cursor: a string, or what [`Scanner::atom`] reads; `None` for an
    /// object or array (not consumed).
    #[inline(always)]
    pub(crate) fn scalar(&mut self) -> Scan<Option<Node<'s>>> {
        match self.peek().ok_or(GiveUp)? {
            b'"' => Ok(Some(Node::String(self.string()?))),
            b'{' | b'[' => Ok(None),
            first => Ok(Some(Node::Static(self.atom(first)?))),
        }
    }

    /// Whether the end of the input is all that is left (after whitespace).
    #[inline(always)]
    pub(crate) fn at_end(&mut self) -> bool {
        self.skip_ws();
        self.pos == self.bytes.len()
    }

    #[inline(always)]
    pub(crate) fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    #[inline(always)]
    pub(crate) fn skip_ws(&mut self) {
        while let Some(b' ' | b'\n' | b'\r' | b'\t') = self.peek() {
            self.pos += 1;
        }
    }

    /// After a value: counts it in its container and consumes the `,` or the closing bracket.
    /// Returns the first byte of the next value (after a `,`, and after the key in an object),
    /// or `None` when the container closed.
    #[inline(always)]
    fn after_value(&mut self, open: &mut Open, tape: &mut Vec<Node<'s>>) -> Scan<Option<u8>> {
        open.len += 1;
        self.skip_ws();
        let close = if open.is_object { b'}' } else { b']' };
        match self.peek() {
            Some(b',') => {
                self.pos += 1;
                self.skip_ws();
                if open.is_object {
                    self.key(tape)?;
                }
                self.peek().map(Some).ok_or(GiveUp)
            }
            Some(b) if b == close => {
                self.pos += 1;
                Ok(None)
            }
            _ => Err(GiveUp),
        }
    }

    /// An object key and its `:`, leaving `pos` at the value.
    #[inline(always)]
    fn key(&mut self, tape: &mut Vec<Node<'s>>) -> Scan<()> {
        let key = self.key_text()?;
        tape.push(Node::String(key));
        Ok(())
    }

    /// A string without escapes, `pos` at its opening quote; leaves `pos` after the closing one.
    #[inline(always)]
    pub(crate) fn string(&mut self) -> Scan<&'s str> {
        let start = self.pos + 1;
        let end = next_mark(self.quotes, start).ok_or(GiveUp)?;
        if any_mark(self.unsafe_in_strings, start, end) {
            return Err(GiveUp);
        }
        self.pos = end + 1;
        // Both ends are next to an ASCII quote, so they are char boundaries; `get` checks it
        // anyway rather than relying on that with `unsafe`.
        self.json.get(start..end).ok_or(GiveUp)
    }

    /// `true`, `false`, `null` or a number starting with `first` at `pos`.
    #[inline(always)]
    fn atom(&mut self, first: u8) -> Scan<StaticNode> {
        let rest = &self.bytes[self.pos..];
        let (node, width) = match first {
            b't' if rest.starts_with(b"true") => (StaticNode::Bool(true), 4),
            b'f' if rest.starts_with(b"false") => (StaticNode::Bool(false), 5),
            b'n' if rest.starts_with(b"null") => (StaticNode::Null, 4),
            b'-' | b'0'..=b'9' => number(rest)?,
            _ => return Err(GiveUp),
        };
        self.pos += width;
        // A letter or digit right after the atom (`truex`, `01`) is left for `after_value` to
        // refuse, as it is neither `,` nor a bracket.
        Ok(node)
    }
}

/// The source text of the scalar that follows `key` in `json`, a document `scan_into` accepted
/// (so `key` is a slice of `json`, and the scalar's text is valid JSON as it stands: strings
/// without escapes, numbers in JSON's grammar). `None` for objects and arrays, whose end is not
/// known without another walk, and for a `key` that is not a slice of `json`.
pub(crate) fn scalar_text<'s>(json: &'s str, key: &'s str, value: Scalar<'s>) -> Option<&'s str> {
    let (bytes, base) = (json.as_bytes(), json.as_ptr() as usize);
    let key_end = (key.as_ptr() as usize).checked_sub(base)? + key.len();
    if bytes.get(key_end) != Some(&b'"') {
        return None;
    }
    let mut s = Scanner {
        json,
        bytes,
        pos: key_end + 1,
        quotes: &[],
        unsafe_in_strings: &[],
    };
    s.skip_ws();
    if s.peek() != Some(b':') {
        return None;
    }
    s.pos += 1;
    s.skip_ws();
    let start = s.pos;
    let end = match value {
        // The value's opening quote sits just before its first byte.
        Scalar::Str(text) if text.as_ptr() as usize == base + start + 1 => start + text.len() + 2,
        Scalar::Null | Scalar::Bool(_) | Scalar::I64(_) | Scalar::U64(_) | Scalar::F64(_) => {
            let width = bytes
                .get(start..)?
                .iter()
                .position(|b| matches!(b, b',' | b'}' | b']' | b' ' | b'\n' | b'\r' | b'\t'))?;
            start + width
        }
        Scalar::Str(_) | Scalar::Object | Scalar::Array => return None,
    };
    json.get(start..end)
}

/// Marks every byte of `bytes` in two bitmaps, one bit per byte (bit `i % 64` of word `i / 64`):
/// quotes, and the bytes a string without escapes cannot contain (backslash, control
/// characters). Strings are most of a frame's bytes (uuids, timestamps), and looking for each
/// string's end on its own was the scanner's largest cost (perf: ~20% of decoding); marking the
/// whole payload is a few vector instructions per 64 bytes, after which a string's end is a
/// `trailing_zeros`.
fn mark(bytes: &[u8], quotes: &mut Vec<u64>, unsafe_in_strings: &mut Vec<u64>) {
    quotes.clear();
    unsafe_in_strings.clear();
    let mut blocks = bytes.chunks_exact(64);
    for block in &mut blocks {
        let (q, u) = block_marks(block.try_into().expect("64 bytes"));
        quotes.push(q);
        unsafe_in_strings.push(u);
    }
    let rest = blocks.remainder();
    if !rest.is_empty() {
        // Spaces are neither quotes nor unsafe, so the padding marks nothing.
        let mut padded = [b' '; 64];
        padded[..rest.len()].copy_from_slice(rest);
        let (q, u) = block_marks(&padded);
        quotes.push(q);
        unsafe_in_strings.push(u);
    }
}

/// The first marked position at or after `from`.
#[inline(always)]
fn next_mark(marks: &[u64], from: usize) -> Option<usize> {
    let mut word_index = from / 64;
    let mut word = *marks.get(word_index)? & (u64::MAX << (from % 64));
    while word == 0 {
        word_index += 1;
        word = *marks.get(word_index)?;
    }
    Some(word_index * 64 + word.trailing_zeros() as usize)
}

/// Whether any position in `from..to` is marked (`from <= to`, both within the marked bytes).
#[inline(always)]
fn any_mark(marks: &[u64], from: usize, to: usize) -> bool {
    let (first, last) = (from / 64, to / 64);
    let low = u64::MAX << (from % 64);
    let high = (1u64 << (to % 64)) - 1;
    let word = |i: usize| marks.get(i).copied().unwrap_or(0);
    if first == last {
        return word(first) & low & high != 0;
    }
    word(first) & low != 0 || (first + 1..last).any(|i| word(i) != 0) || word(last) & high != 0
}

/// The quote and unsafe marks of one 64-byte block.
#[inline(always)]
fn block_marks(block: &[u8; 64]) -> (u64, u64) {
    #[cfg(target_arch = "x86_64")]
    {
        let mut quotes = 0;
        let mut unsafe_bytes = 0;
        for (i, chunk) in block.chunks_exact(16).enumerate() {
            let (q, u) = sse2::marks(chunk.try_into().expect("16 bytes"));
            quotes |= u64::from(q) << (16 * i);
            unsafe_bytes |= u64::from(u) << (16 * i);
        }
        (quotes, unsafe_bytes)
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        portable_block_marks(block)
    }
}

/// [`block_marks`] a byte at a time: the definition, used where there is no SSE2, and on
/// x86_64 the oracle the SSE2 marks are tested against.
#[cfg(any(test, not(target_arch = "x86_64")))]
fn portable_block_marks(block: &[u8; 64]) -> (u64, u64) {
    let mut quotes = 0;
    let mut unsafe_bytes = 0;
    for (i, &b) in block.iter().enumerate() {
        quotes |= u64::from(b == b'"') << i;
        unsafe_bytes |= u64::from(b == b'\\' || b < 0x20) << i;
    }
    (quotes, unsafe_bytes)
}

/// Sixteen bytes at a time with SSE2, which every x86_64 target has.
#[cfg(target_arch = "x86_64")]
mod sse2 {
    use std::arch::x86_64::{
        _mm_cmpeq_epi8, _mm_loadu_si128, _mm_min_epu8, _mm_movemask_epi8, _mm_or_si128,
        _mm_set1_epi8,
    };

    /// Bit `i` set where `chunk[i]` is a quote; and where it is a backslash or a control
    /// character.
    #[inline(always)]
    pub(super) fn marks(chunk: &[u8; 16]) -> (u16, u16) {
        // SAFETY: SSE2 is part of every x86_64 target, so the intrinsics' feature is present;
        // the only memory access is an unaligned load of exactly the 16 bytes `chunk` refers to.
        unsafe {
            let word = _mm_loadu_si128(chunk.as_ptr().cast());
            let quote = _mm_cmpeq_epi8(word, _mm_set1_epi8(b'"' as i8));
            let backslash = _mm_cmpeq_epi8(word, _mm_set1_epi8(b'\\' as i8));
            // Unsigned `byte <= 0x1f`: its minimum with 0x1f is the byte itself.
            let control = _mm_cmpeq_epi8(_mm_min_epu8(word, _mm_set1_epi8(0x1f)), word);
            (
                _mm_movemask_epi8(quote) as u16,
                _mm_movemask_epi8(_mm_or_si128(backslash, control)) as u16,
            )
        }
    }
}

/// Powers of ten a decimal's digits are divided by; exact in an `f64` up to 10^22.
const POW10: [f64; 23] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
    1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
];

/// A number at the start of `rest`: the node simd-json makes of it (`U64` for non-negative
/// integers, `I64` for negative ones, `F64` for decimals) and its width in bytes.
#[inline(always)]
fn number(rest: &[u8]) -> Scan<(StaticNode, usize)> {
    let negative = rest.first() == Some(&b'-');
    let mut i = usize::from(negative);
    let int_start = i;
    let mut significand: u64 = 0;
    while let Some(&d @ b'0'..=b'9') = rest.get(i) {
        significand = significand * 10 + u64::from(d - b'0');
        i += 1;
        if i - int_start > MAX_INT_DIGITS {
            return Err(GiveUp);
        }
    }
    let int_digits = i - int_start;
    // JSON forbids an empty integer part and leading zeros.
    if int_digits == 0 || (int_digits > 1 && rest[int_start] == b'0') {
        return Err(GiveUp);
    }
    if rest.get(i) != Some(&b'.') {
        if matches!(rest.get(i), Some(b'e' | b'E')) {
            return Err(GiveUp);
        }
        let node = if negative {
            // At most 17 digits, so it fits an i64; `-0` is `I64(0)` in simd-json too.
            StaticNode::I64(-(significand as i64))
        } else {
            StaticNode::U64(significand)
        };
        return Ok((node, i));
    }
    i += 1;
    let fraction_start = i;
    while let Some(&d @ b'0'..=b'9') = rest.get(i) {
        significand = significand * 10 + u64::from(d - b'0');
        i += 1;
        if i - int_start > MAX_INT_DIGITS + 1 {
            return Err(GiveUp);
        }
    }
    let fraction_digits = i - fraction_start;
    if fraction_digits == 0 || matches!(rest.get(i), Some(b'e' | b'E')) {
        return Err(GiveUp);
    }
    // Both operands are exact (the significand is under 2^53, the power at most 10^22), so
    // the one rounding of the division is the correctly rounded value, as simd-json computes.
    if significand > (1 << 53) || fraction_digits >= POW10.len() {
        return Err(GiveUp);
    }
    let magnitude = significand as f64 / POW10[fraction_digits];
    let value = if negative { -magnitude } else { magnitude };
    Ok((StaticNode::F64(value), i))
}

/// `payload` with `edits` random one-byte edits (replace, insert or remove, with bytes from
/// `pick`); `None` when that broke its UTF-8.
#[cfg(test)]
pub(crate) fn mutated(
    payload: &str,
    pick: &[u8],
    edits: usize,
    rng: &mut impl rand::RngExt,
) -> Option<String> {
    let mut bytes = payload.as_bytes().to_vec();
    for _ in 0..edits {
        let at = rng.random_range(0..bytes.len());
        match rng.random_range(0..3) {
            0 => bytes[at] = pick[rng.random_range(0..pick.len())],
            1 => bytes.insert(at, pick[rng.random_range(0..pick.len())]),
            _ => {
                bytes.remove(at);
            }
        }
    }
    String::from_utf8(bytes).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn simd_tape(json: &str) -> Option<Vec<Node<'static>>> {
        let bytes: &'static mut [u8] = json.as_bytes().to_vec().leak();
        simd_json::to_tape(bytes).ok().map(|t| t.0)
    }

    fn scanned(json: &str) -> Option<Vec<Node<'_>>> {
        let mut tape = Vec::new();
        scan_into(json, &mut tape, &mut ScanBuffers::default())
            .ok()
            .map(|()| tape)
    }

    /// Node for node, with floats compared by bits (`-0.0`).
    fn same(a: &[Node<'_>], b: &[Node<'_>]) -> bool {
        a.len() == b.len()
            && a.iter().zip(b).all(|(x, y)| match (x, y) {
                (Node::Static(StaticNode::F64(x)), Node::Static(StaticNode::F64(y))) => {
                    x.to_bits() == y.to_bits()
                }
                _ => x == y,
            })
    }

    #[test]
    fn accepted_documents_give_simd_jsons_tape() {
        for json in [
            r#"{}"#,
            r#" { "a" : [ 1 , -2 , 0 , -0 , 3.25 , -0.0 , 0.1 , true , false , null ] } "#,
            r#"{"a":{"b":{"c":[[],{},[{}]]}},"d":"é😀|Z","e":"","f":12345678901234567}"#,
            r#"{"seq":"1","metadata":{"resource_tags":["x","y"]},"v":-12345678901234567}"#,
            "{\"a\":\n\t\r1}",
            r#"{"a":9007199254740.991,"b":-123.456,"c":0.000001,"d":[21.5,1.000000000000002]}"#,
            r#"{"a":"0123456789abcdef0123456789","b":"1234567"}"#,
            // At the limits: 17 digits (a sign does not count), a significand of 2^53.
            r#"{"a":-0.0000000000000001,"b":0.0000000000000001,"c":9007199254740.992}"#,
        ] {
            let expected = simd_tape(json).expect("valid");
            let tape = scanned(json).unwrap_or_else(|| panic!("gave up on {json}"));
            assert!(same(&tape, &expected), "{json}\n{tape:?}\n{expected:?}");
        }
    }

    #[test]
    fn gives_up_on_escapes_odd_numbers_and_invalid_json() {
        for json in [
            r#"{"a":"x\"y"}"#,
            r#"{"a":"x\ny"}"#,
            "{\"a\":\"x\u{1}y\"}",
            r#"{"a":1e5}"#,
            r#"{"a":123456789012345678}"#,
            r#"{"a":9007199254740.993}"#,
            r#"{"a":1.7976931348623157}"#,
            r#"{"a":0.1234567890123456789012}"#,
            r#"{"a":0.00000000000000001}"#,
            // 17 digits before the point already: one more after it is one too many.
            r#"{"a":12345678901234567.1234567890123}"#,
            r#"{"a":01}"#,
            r#"{"a":1.}"#,
            r#"{"a":-}"#,
            r#"{"a":.5}"#,
            r#"{"a":tru}"#,
            r#"{"a":truex}"#,
            r#"{"a":1,}"#,
            r#"{"a":[1,]}"#,
            r#"{"a" 1}"#,
            r#"{"a":1}}"#,
            r#"{"a":1} x"#,
            r#"{"a":[1}"#,
            r#"{"a":{"b":1]}"#,
            r#"{"a":1"#,
            r#"{"a":"1"#,
            r#"{1:2}"#,
            r#"[1]"#,
            r#""x""#,
            "",
        ] {
            assert!(scanned(json).is_none(), "accepted {json}");
        }
        let deep = format!("{{\"a\":{}{}}}", "[".repeat(40), "]".repeat(40));
        assert!(scanned(&deep).is_none());
    }

    /// The fleet's frames and byte-level mutations of them: whatever the scanner accepts,
    /// simd-json accepts with the same tape; and nearly all real frames are accepted.
    #[test]
    fn agrees_with_simd_json_on_frames_and_their_mutations() {
        use rand::{RngExt, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
        let corpus = dss_lake_fleet::corpus(11, 3_000);
        let (mut accepted, mut fast) = (0, 0);
        for frame in &corpus {
            let payload = frame.split_once('|').expect("framed").1;
            if let Some(tape) = scanned(payload) {
                fast += 1;
                assert!(
                    same(&tape, &simd_tape(payload).expect("valid")),
                    "{payload}"
                );
            }
            for _ in 0..30 {
                let pick = b"{}[]\":,.-+eE0123456789 \\tfnul\x01";
                let edits = rng.random_range(1..4);
                let Some(mutated) = mutated(payload, pick, edits, &mut rng) else {
                    continue;
                };
                if let Some(tape) = scanned(&mutated) {
                    accepted += 1;
                    let expected = simd_tape(&mutated)
                        .unwrap_or_else(|| panic!("accepted invalid JSON: {mutated}"));
                    assert!(same(&tape, &expected), "{mutated}");
                }
            }
        }
        // The mutations must exercise acceptance too, not only giving up.
        assert!(accepted > 10_000, "{accepted}");
        // The fleet puts escapes in about one value in a hundred; the rest must be fast.
        assert!(
            fast * 100 >= corpus.len() * 95,
            "{fast} of {}",
            corpus.len()
        );
    }

    #[test]
    fn scalar_text_is_the_values_source_text() {
        use crate::json::{JsonRef, TapeRef};
        for (json, expected) in [
            (r#"{"a":{},"value":12.50}"#, Some("12.50")),
            (r#"{"b":1,"value":-0}"#, Some("-0")),
            (r#"{"value" : "x|Z" }"#, Some(r#""x|Z""#)),
            ("{\"value\":\n\ttrue\r}", Some("true")),
            (r#"{"value":null}"#, Some("null")),
            (r#"{"value":""}"#, Some(r#""""#)),
            (r#"{"value":[1]}"#, None),
            (r#"{"value":{"a":1}}"#, None),
        ] {
            let tape = scanned(json).expect("accepted");
            let (key, value) = TapeRef(&tape).entries().last().expect("one entry");
            assert_eq!(scalar_text(json, key, value.scalar()), expected, "{json}");
        }
        // A key from another buffer (simd-json's copy) is not looked up in `json`.
        let copy = r#"{"value":1}"#.to_owned();
        let tape = scanned(&copy).expect("accepted");
        let (key, value) = TapeRef(&tape).entries().next().expect("one entry");
        assert_eq!(scalar_text(r#"{"value":1}"#, key, value.scalar()), None);
        // Nor a string value from another buffer (simd-json unescapes strings into its copy).
        let json = r#"{"value":"ab"}"#;
        let tape = scanned(json).expect("accepted");
        let (key, _) = TapeRef(&tape).entries().next().expect("one entry");
        let unescaped = "ab".to_owned();
        assert_eq!(scalar_text(json, key, Scalar::Str(&unescaped)), None);
    }

    /// The bitmap look-ups against a byte-by-byte search, across and at 64-byte word edges.
    #[test]
    fn marks_answer_like_a_byte_search() {
        let mut bytes = vec![b'a'; 200];
        for at in [0, 5, 63, 64, 65, 127, 128, 190, 199] {
            bytes[at] = b'"';
        }
        bytes[70] = b'\\';
        bytes[150] = b'\n';
        let (mut quotes, mut unsafe_bytes) = (Vec::new(), Vec::new());
        mark(&bytes, &mut quotes, &mut unsafe_bytes);
        for from in 0..=bytes.len() {
            let expected = (from..bytes.len()).find(|&i| bytes[i] == b'"');
            assert_eq!(next_mark(&quotes, from), expected, "from {from}");
            for to in from..=bytes.len() {
                let expected = bytes[from..to].iter().any(|&b| b == b'\\' || b < 0x20);
                assert_eq!(any_mark(&unsafe_bytes, from, to), expected, "{from}..{to}");
            }
        }
    }

    /// Every byte value at every position of a block, alone and among others: the SIMD marks
    /// are the byte-at-a-time ones.
    #[test]
    fn block_marks_match_the_byte_at_a_time_definition() {
        for byte in 0..=u8::MAX {
            for at in 0..64 {
                let mut block = [b'a'; 64];
                block[at] = byte;
                assert_eq!(
                    block_marks(&block),
                    portable_block_marks(&block),
                    "{byte} at {at}"
                );
                let mut mixed: [u8; 64] = std::array::from_fn(|i| (i * 37 % 256) as u8);
                mixed[at] = byte;
                assert_eq!(
                    block_marks(&mixed),
                    portable_block_marks(&mixed),
                    "{byte} at {at}"
                );
            }
        }
        let (quotes, unsafe_bytes) = portable_block_marks(&[b'"'; 64]);
        assert_eq!((quotes, unsafe_bytes), (u64::MAX, 0));
        let mut block = [b' '; 64];
        (block[0], block[63], block[9]) = (b'\\', 0x1f, b'"');
        assert_eq!(portable_block_marks(&block), (1 << 9, 1 | 1 << 63));
    }

    #[test]
    fn finds_quotes_across_word_boundaries() {
        for len in 0..40 {
            let text = "ab\u{e9}cdefgh".repeat(5);
            let body: String = text.chars().take(len).collect();
            let json = format!(r#"{{"k":"{body}","x":"{body}\n"}}"#);
            let mut tape = Vec::new();
            // The second string has an escape; the first must have been read whole before.
            let result = scan_into(&json, &mut tape, &mut ScanBuffers::default());
            assert_eq!(result, Err(GiveUp));
            assert_eq!(tape.get(2), Some(&Node::String(body.as_str())), "{len}");
        }
    }
}
