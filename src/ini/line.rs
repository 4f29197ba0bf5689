//! What one physical line of the INI dialect is, and the line model.
//!
//! Owns the classification of a line's content ([`classify_raw`], shared by
//! the full parse and the read path, so the two cannot disagree about a
//! line), line splitting, the BOM, the whitespace trimming the dialect uses,
//! and the [`Line`] the full parse and every edit work on. Never looks at
//! more than one line: the rules that need the section context ("key outside
//! any section", "continuation line without a key") are the callers'.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum LineKind {
    Blank,
    Comment,
    Header {
        name: String,
    },
    /// Byte ranges of the trimmed key and value within the line's text (no
    /// copies: a large file's lines are allocated once).
    Key {
        key: (u32, u32),
        value: (u32, u32),
    },
    Continuation,
}

/// A line's content: a slice of the parsed source (shared, not copied, so a
/// file of thousands of lines costs one allocation), or text an edit wrote.
#[derive(Debug, Clone)]
pub(super) enum Text {
    Src {
        src: std::sync::Arc<String>,
        start: usize,
        end: usize,
    },
    Own(String),
}

impl std::ops::Deref for Text {
    type Target = str;

    fn deref(&self) -> &str {
        match self {
            Text::Src { src, start, end } => &src[*start..*end],
            Text::Own(s) => s,
        }
    }
}

impl PartialEq for Text {
    fn eq(&self, other: &Text) -> bool {
        **self == **other
    }
}

impl Eq for Text {}

impl std::fmt::Display for Text {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Line {
    /// Content without the line ending (and without the BOM).
    pub(super) text: Text,
    /// `""`, `"\n"` or `"\r\n"`.
    pub(super) ending: &'static str,
    pub(super) kind: LineKind,
}

pub(super) const BOM: char = '\u{feff}';

/// Where the line ends (`\n`) and the key separators (`=`, `:`) of a text
/// are, found 64 bytes at a time: a block's bytes are compared once into two
/// bit masks (a loop the compiler turns into vector compares), and each line
/// end or separator is then a `trailing_zeros` of a mask. For the scan of a
/// large file this costs far less than a search per line (a 20-byte value
/// does not pay a search's set-up). Searches go forward only: the block of
/// the last search is kept.
pub(super) struct Marks<'a> {
    bytes: &'a [u8],
    /// Start of the block whose masks are held (a multiple of 64), or
    /// `usize::MAX` before the first.
    base: usize,
    /// Bit `i`: byte `base + i` is a `\n`.
    nl: u64,
    /// Bit `i`: byte `base + i` is a `\n`, `=` or `:`.
    sep: u64,
}

impl<'a> Marks<'a> {
    pub(super) fn new(bytes: &'a [u8]) -> Marks<'a> {
        Marks {
            bytes,
            base: usize::MAX,
            nl: 0,
            sep: 0,
        }
    }

    /// The masks of the block at `base` (the last one padded with zero
    /// bytes, which match nothing).
    #[inline]
    fn load(&mut self, base: usize) {
        let (nl, sep) = match self.bytes.get(base..base + 64) {
            Some(block) => masks(block.try_into().expect("64 bytes")),
            None => {
                let mut block = [0u8; 64];
                let rest = &self.bytes[base..];
                block[..rest.len()].copy_from_slice(rest);
                masks(&block)
            }
        };
        self.base = base;
        self.nl = nl;
        self.sep = sep;
    }

    /// The first byte at or after `from` whose bit is set in the mask
    /// `which` picks, if any.
    #[inline]
    fn find(&mut self, from: usize, which: fn(&Marks) -> u64) -> Option<usize> {
        let mut base = from & !63;
        let mut mask = !0u64 << (from - base);
        while base < self.bytes.len() {
            if base != self.base {
                self.load(base);
            }
            let hits = which(self) & mask;
            if hits != 0 {
                return Some(base + hits.trailing_zeros() as usize);
            }
            base += 64;
            mask = !0;
        }
        None
    }

    /// The index of the first `\n` at or after `from`, else the text's length.
    #[inline]
    pub(super) fn line_end(&mut self, from: usize) -> usize {
        self.find(from, |m| m.nl).unwrap_or(self.bytes.len())
    }

    /// The first `=` or `:` of the line starting at `pos`, if it comes before
    /// the line's end (the separator [`classify_raw`] finds for a key line).
    #[inline]
    pub(super) fn key_separator(&mut self, pos: usize) -> Option<usize> {
        self.find(pos, |m| m.sep)
            .filter(|&at| self.bytes[at] != b'\n')
    }
}

/// `(nl, sep)` masks of a 64-byte block: bit `i` set where byte `i` is a
/// `\n`, and where it is a `\n`, `=` or `:`. SSE2 (every x86_64) compares
/// 16 bytes at a time.
#[cfg(target_arch = "x86_64")]
#[inline]
fn masks(block: &[u8; 64]) -> (u64, u64) {
    // SAFETY: SSE2 is part of the x86_64 baseline: every x86_64 CPU has it.
    unsafe { masks_sse2(block) }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "sse2")]
fn masks_sse2(block: &[u8; 64]) -> (u64, u64) {
    use std::arch::x86_64::*;
    let (nl_c, eq_c, colon_c) = (
        _mm_set1_epi8(b'\n' as i8),
        _mm_set1_epi8(b'=' as i8),
        _mm_set1_epi8(b':' as i8),
    );
    let (mut nl, mut sep) = (0u64, 0u64);
    for (k, part) in block.chunks_exact(16).enumerate() {
        let lo = u64::from_le_bytes(part[..8].try_into().expect("8 bytes"));
        let hi = u64::from_le_bytes(part[8..].try_into().expect("8 bytes"));
        let v = _mm_set_epi64x(hi as i64, lo as i64);
        let n = _mm_cmpeq_epi8(v, nl_c);
        let s = _mm_or_si128(
            n,
            _mm_or_si128(_mm_cmpeq_epi8(v, eq_c), _mm_cmpeq_epi8(v, colon_c)),
        );
        nl |= u64::from(_mm_movemask_epi8(n) as u16) << (16 * k);
        sep |= u64::from(_mm_movemask_epi8(s) as u16) << (16 * k);
    }
    (nl, sep)
}

/// [`masks`] eight bytes at a time, without vector instructions: each byte
/// of a word compared exactly, the high bits gathered by a multiply.
#[cfg(not(target_arch = "x86_64"))]
#[inline]
fn masks(block: &[u8; 64]) -> (u64, u64) {
    masks_swar(block)
}

/// The portable [`masks`] (tested against the vector one on x86_64).
#[cfg(any(test, not(target_arch = "x86_64")))]
#[inline]
fn masks_swar(block: &[u8; 64]) -> (u64, u64) {
    const LO7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    const HI: u64 = 0x8080_8080_8080_8080;
    const ONES: u64 = 0x0101_0101_0101_0101;
    // The high bit of each byte of `w` equal to `c`.
    let eq = |w: u64, c: u8| {
        let x = w ^ (ONES * c as u64);
        !(((x & LO7).wrapping_add(LO7)) | x) & HI
    };
    // The high bits of the eight bytes as the low eight bits.
    let gather = |m: u64| (m.wrapping_mul(0x0002_0408_1020_4081) >> 56) & 0xff;
    let (mut nl, mut sep) = (0u64, 0u64);
    for (k, word) in block.chunks_exact(8).enumerate() {
        let w = u64::from_le_bytes(word.try_into().expect("8 bytes"));
        let n = eq(w, b'\n');
        nl |= gather(n) << (8 * k);
        sep |= gather(n | eq(w, b'=') | eq(w, b':')) << (8 * k);
    }
    (nl, sep)
}

/// Splits into (content, ending) pairs; no pair for an empty remainder.
pub(super) fn split_lines(s: &str) -> impl Iterator<Item = (&str, &'static str)> {
    let mut rest = s;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        match rest.find('\n') {
            Some(i) => {
                let line = &rest[..i];
                rest = &rest[i + 1..];
                Some(match line.strip_suffix('\r') {
                    Some(l) => (l, "\r\n"),
                    None => (line, "\n"),
                })
            }
            None => {
                let line = rest;
                rest = "";
                Some((line, ""))
            }
        }
    })
}

/// A line configparser would read as an option line if it came before any
/// section (an indented one too): not blank, not a comment, not a header.
#[inline]
pub(super) fn is_key_like(text: &str) -> bool {
    match trim_start(text).chars().next() {
        None => false,
        Some(c) => !matches!(c, '#' | ';' | '['),
    }
}

/// Python's whitespace (`str.isspace`, what configparser strips and its
/// `\S` skips): Rust's `char::is_whitespace` plus the separators
/// `\x1c`-`\x1f`, which Rust does not count (issue 21 item 14).
#[inline]
pub(super) fn py_space(c: char) -> bool {
    c.is_whitespace() || ('\x1c'..='\x1f').contains(&c)
}

/// The indentation of a line as configparser measures it: the number of
/// characters before the first non-whitespace one.
#[inline]
pub(super) fn indent_of(text: &str) -> usize {
    let lead = &text[..text.len() - trim_start(text).len()];
    if lead.is_ascii() {
        lead.len()
    } else {
        lead.chars().count()
    }
}

/// Whether a header line has whitespace just inside its brackets
/// (`[ profile x ]`): configparser keeps it in the name, mfa-exec trims it.
pub(super) fn header_spaced(text: &str) -> bool {
    let body = trim_start(text);
    let Some(rest) = body.strip_prefix('[') else {
        return false;
    };
    let Some(close) = memchr::memrchr(b']', rest.as_bytes()) else {
        return false;
    };
    let inner = &rest[..close];
    trim_start(inner).len() != inner.len() || trim_end(inner).len() != inner.len()
}

/// The 1-based line of the first carriage return that is not part of a
/// CRLF and has text after it on its line: Python reads the files with
/// universal newlines, so botocore ends a line at a lone CR, where mfa-exec
/// (which ends lines only at LF) would read one line. Refused, never read
/// differently (issue 21 item 14). A lone CR followed only by whitespace
/// makes a blank line to botocore: harmless, allowed.
pub(super) fn lone_cr(text: &str) -> Option<usize> {
    let b = text.as_bytes();
    for at in memchr::memchr_iter(b'\r', b) {
        if b.get(at + 1) == Some(&b'\n') {
            continue;
        }
        let end = memchr::memchr(b'\n', &b[at..]).map_or(b.len(), |j| at + j);
        let after = &text[at + 1..end];
        if !trim_start(after.strip_suffix('\r').unwrap_or(after)).is_empty() {
            return Some(memchr::memchr_iter(b'\n', &b[..at]).count() + 1);
        }
    }
    None
}

/// The error for [`lone_cr`].
pub(super) const LONE_CR: &str =
    "a carriage return (CR) inside the line: the AWS CLI ends the line there, mfa-exec does not; use LF or CRLF line ends";

/// A line's kind as byte ranges of its content: no allocation. Both the full
/// parse and the indexed read path classify with this one function, so they
/// cannot disagree about a line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Raw {
    Blank,
    Comment,
    /// Range of the trimmed section name.
    Header(usize, usize),
    /// Ranges of the trimmed key and value.
    Key {
        key: (usize, usize),
        value: (usize, usize),
    },
    Continuation,
}

/// The ASCII characters Python's `str.isspace` accepts ([`py_space`]):
/// those of `char::is_whitespace` (`u8::is_ascii_whitespace` leaves out the
/// vertical tab) and `\x1c`-`\x1f`.
#[inline]
pub(super) fn ascii_space(b: u8) -> bool {
    matches!(
        b,
        b' ' | b'\t' | b'\n' | b'\x0b' | b'\x0c' | b'\r' | 0x1c..=0x1f
    )
}

/// `s.trim_start_matches(py_space)`: byte by byte over ASCII, the general
/// trim from the first non-ASCII byte, so the same result, faster.
#[inline]
pub(super) fn trim_start(s: &str) -> &str {
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() && ascii_space(b[i]) {
        i += 1;
    }
    if i < b.len() && b[i] >= 0x80 {
        return s[i..].trim_start_matches(py_space);
    }
    &s[i..]
}

/// `s.trim_end_matches(py_space)`, as [`trim_start`].
#[inline]
pub(super) fn trim_end(s: &str) -> &str {
    let b = s.as_bytes();
    let mut i = b.len();
    while i > 0 && ascii_space(b[i - 1]) {
        i -= 1;
    }
    if i > 0 && b[i - 1] >= 0x80 {
        return s[..i].trim_end_matches(py_space);
    }
    &s[..i]
}

#[inline]
fn trim(s: &str) -> &str {
    trim_end(trim_start(s))
}

/// Classification of one line's content, given the indentation of the key
/// line its section's value would continue (`None` after a header or before
/// any key): as configparser, a line indented deeper than that key line is
/// a continuation of its value (even one that looks like a key), except a
/// header, which is always a header; any other line is a header, or a key
/// line, indented or not.
#[inline]
pub(super) fn classify_raw(text: &str, cont: Option<usize>) -> Result<Raw, &'static str> {
    let body = trim_start(text);
    let Some(&first) = body.as_bytes().first() else {
        return Ok(Raw::Blank);
    };
    if first == b'#' || first == b';' {
        return Ok(Raw::Comment);
    }
    // A header before the continuation rule (configparser's order is the
    // other): a header is never a continuation, so no edit can turn one
    // into a continuation by adding or removing a key above it. The one
    // difference is warned (`dialect::header_continues`).
    if first != b'[' && body.len() != text.len() && cont.is_some_and(|k| indent_of(text) > k) {
        return Ok(Raw::Continuation);
    }
    if first == b'[' {
        let rest = &body[1..];
        let close = memchr::memrchr(b']', rest.as_bytes()).ok_or("unterminated section header")?;
        let inner = &rest[..close];
        let lead = inner.len() - trim_start(inner).len();
        let name = trim(inner);
        if name.is_empty() {
            return Err("empty section name");
        }
        let start = text.len() - rest.len() + lead;
        return Ok(Raw::Header(start, start + name.len()));
    }
    // An indented key line (configparser reads it as a key) starts after
    // its indentation.
    let start = text.len() - body.len();
    // `=` and `:` are ASCII: a byte search finds the first of either.
    let sep =
        start + memchr::memchr2(b'=', b':', body.as_bytes()).ok_or("expected 'key = value'")?;
    let key = trim_end(&text[start..sep]);
    if key.is_empty() {
        return Err("empty key");
    }
    let after = &text[sep + 1..];
    let lead = after.len() - trim_start(after).len();
    let value = trim_end(&after[lead..]);
    let value_start = sep + 1 + lead;
    Ok(Raw::Key {
        key: (start, start + key.len()),
        value: (value_start, value_start + value.len()),
    })
}

/// [`classify_raw`], with the section name copied out (the line model).
pub(super) fn classify(text: &str, cont: Option<usize>) -> Result<LineKind, &'static str> {
    Ok(match classify_raw(text, cont)? {
        Raw::Blank => LineKind::Blank,
        Raw::Comment => LineKind::Comment,
        Raw::Header(start, end) => LineKind::Header {
            name: text[start..end].to_string(),
        },
        Raw::Key { key, value } => LineKind::Key {
            key: (key.0 as u32, key.1 as u32),
            value: (value.0 as u32, value.1 as u32),
        },
        Raw::Continuation => LineKind::Continuation,
    })
}

/// The warnings of the places where botocore (configparser) reads a file
/// differently from mfa-exec (issue 21 item 14; SPEC §9.1: never a silent
/// difference). Worded once here for both forms of a document.
pub(super) mod dialect {
    /// A UTF-8 byte order mark before the first line (issue 21): Python reads
    /// it as a character of line 1, and configparser refuses the file.
    pub(in crate::ini) fn bom() -> String {
        "the file starts with a UTF-8 byte order mark (BOM): the AWS CLI refuses the whole file (\"Unable to parse config file\"); mfa-exec skips the BOM (save the file as UTF-8 without a BOM)".to_string()
    }

    /// A `[DEFAULT]` header.
    pub(in crate::ini) fn default_section() -> String {
        "section [DEFAULT]: the AWS CLI (configparser) copies its keys into every section; mfa-exec reads it as a section of its own".to_string()
    }

    /// A header with whitespace just inside its brackets.
    pub(in crate::ini) fn spaced_header(name: &str) -> String {
        format!("[{name}] has whitespace inside its brackets: the AWS CLI keeps it in the name, mfa-exec reads [{name}]")
    }

    /// The first continuation line of a key with a value on its own line.
    pub(in crate::ini) fn continuation(key: &str, key_line: usize) -> String {
        format!("continuation of '{key}' (line {key_line}): the AWS CLI appends this line to its value; mfa-exec reads only line {key_line}")
    }

    /// A header indented deeper than the key line before it.
    pub(in crate::ini) fn header_continues(key: &str, key_line: usize) -> String {
        format!("indented header: the AWS CLI reads this line as a continuation of '{key}' (line {key_line}), mfa-exec as a section header")
    }

    /// A line of a `key =` block (a nested section, as `s3 =`) without `=`.
    pub(in crate::ini) fn block_line(key: &str, key_line: usize) -> String {
        format!("this line of the '{key}' block (line {key_line}) has no '=': the AWS CLI refuses the whole file")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Bytes that matter to the masks, and some that are near them.
    fn byte() -> impl Strategy<Value = u8> {
        prop_oneof![
            4 => proptest::sample::select(vec![b'\n', b'=', b':', b'\r', b' ', b'a', 0, 0x80, 0xff, b';', b'<', b'9']),
            1 => any::<u8>(),
        ]
    }

    proptest! {
        #[test]
        fn masks_mark_exactly_the_bytes(block in proptest::collection::vec(byte(), 64)) {
            let block: [u8; 64] = block.try_into().unwrap();
            let (nl, sep) = masks(&block);
            prop_assert_eq!(masks_swar(&block), (nl, sep));
            for (i, &b) in block.iter().enumerate() {
                prop_assert_eq!(nl >> i & 1 == 1, b == b'\n');
                prop_assert_eq!(sep >> i & 1 == 1, matches!(b, b'\n' | b'=' | b':'));
            }
        }

        #[test]
        fn marks_find_what_a_byte_search_finds(
            text in proptest::collection::vec(byte(), 0..300),
            starts in proptest::collection::vec(any::<proptest::sample::Index>(), 1..8),
        ) {
            let mut starts: Vec<usize> = starts.iter().map(|i| i.index(text.len() + 1)).collect();
            starts.sort();
            let mut marks = Marks::new(&text);
            for from in starts.into_iter().filter(|&f| f < text.len()) {
                let sep = text[from..].iter().position(|&b| matches!(b, b'\n' | b'=' | b':'))
                    .map(|j| from + j)
                    .filter(|&at| text[at] != b'\n');
                prop_assert_eq!(marks.key_separator(from), sep);
                let nl = text[from..].iter().position(|&b| b == b'\n').map_or(text.len(), |j| from + j);
                prop_assert_eq!(marks.line_end(from), nl);
            }
        }
    }
}
