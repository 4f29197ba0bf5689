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

#[inline]
pub(super) fn is_key_like(text: &str) -> bool {
    match text.chars().next() {
        None => false,
        Some(c) if c.is_whitespace() => false,
        Some(c) => !matches!(c, '#' | ';' | '['),
    }
}

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

/// The ASCII characters `char::is_whitespace` accepts (`u8::is_ascii_whitespace`
/// leaves out the vertical tab).
#[inline]
pub(super) fn ascii_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\x0b' | b'\x0c' | b'\r')
}

/// `s.trim_start()`: byte by byte over ASCII, `str::trim_start` from the
/// first non-ASCII byte (Unicode whitespace), so the same result, faster.
#[inline]
fn trim_start(s: &str) -> &str {
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() && ascii_space(b[i]) {
        i += 1;
    }
    if i < b.len() && b[i] >= 0x80 {
        return s[i..].trim_start();
    }
    &s[i..]
}

/// `s.trim_end()`, as [`trim_start`].
#[inline]
pub(super) fn trim_end(s: &str) -> &str {
    let b = s.as_bytes();
    let mut i = b.len();
    while i > 0 && ascii_space(b[i - 1]) {
        i -= 1;
    }
    if i > 0 && b[i - 1] >= 0x80 {
        return s[..i].trim_end();
    }
    &s[..i]
}

#[inline]
fn trim(s: &str) -> &str {
    trim_end(trim_start(s))
}

/// Context-free classification of one line's content.
#[inline]
pub(super) fn classify_raw(text: &str) -> Result<Raw, &'static str> {
    let body = trim_start(text);
    let Some(&first) = body.as_bytes().first() else {
        return Ok(Raw::Blank);
    };
    if first == b'#' || first == b';' {
        return Ok(Raw::Comment);
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
    if body.len() != text.len() {
        return Ok(Raw::Continuation);
    }
    // `=` and `:` are ASCII: a byte search finds the first of either.
    let sep = memchr::memchr2(b'=', b':', text.as_bytes()).ok_or("expected 'key = value'")?;
    // No leading whitespace here (that would be a continuation line).
    let key = trim_end(&text[..sep]);
    if key.is_empty() {
        return Err("empty key");
    }
    let after = &text[sep + 1..];
    let lead = after.len() - trim_start(after).len();
    let value = trim_end(&after[lead..]);
    let value_start = sep + 1 + lead;
    Ok(Raw::Key {
        key: (0, key.len()),
        value: (value_start, value_start + value.len()),
    })
}

/// [`classify_raw`], with the section name copied out (the line model).
pub(super) fn classify(text: &str) -> Result<LineKind, &'static str> {
    Ok(match classify_raw(text)? {
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
