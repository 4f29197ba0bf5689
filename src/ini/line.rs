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

/// The first `=` or `:` of the line starting at `pos`, if it comes before the
/// line's end (the separator [`classify_raw`] finds for a key line).
#[inline]
pub(super) fn key_separator(bytes: &[u8], pos: usize) -> Option<usize> {
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    // A byte of `w` equal to the byte repeated in `b`, as its high bit: the
    // lowest one set is the first match (the borrow can only mark bytes
    // above a real match).
    let eq = |w: u64, b: u8| {
        let x = w ^ (LO * b as u64);
        x.wrapping_sub(LO) & !x & HI
    };
    let mut i = pos;
    while i + 8 <= bytes.len() {
        let w = u64::from_le_bytes(bytes[i..i + 8].try_into().expect("8 bytes"));
        let found = eq(w, b'=') | eq(w, b':') | eq(w, b'\n');
        if found != 0 {
            let at = i + (found.trailing_zeros() / 8) as usize;
            return (bytes[at] != b'\n').then_some(at);
        }
        i += 8;
    }
    while i < bytes.len() {
        match bytes[i] {
            b'=' | b':' => return Some(i),
            b'\n' => return None,
            _ => i += 1,
        }
    }
    None
}

/// The index of the first `\n` at or after `from`, else `bytes.len()`. Short
/// lines (most of an AWS file) are searched eight bytes at a time in place;
/// a long one (a session token) goes to `memchr`. Far cheaper than a
/// `memchr` call per line, whose set-up dominates on 20-byte values.
#[inline]
pub(super) fn line_end(bytes: &[u8], from: usize) -> usize {
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    const NL: u64 = LO * b'\n' as u64;
    let mut i = from;
    let short_end = bytes.len().min(from + 64);
    while i + 8 <= short_end {
        let w = u64::from_le_bytes(bytes[i..i + 8].try_into().expect("8 bytes"));
        let x = w ^ NL;
        let found = x.wrapping_sub(LO) & !x & HI;
        if found != 0 {
            return i + (found.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    match memchr::memchr(b'\n', &bytes[i..]) {
        Some(j) => i + j,
        None => bytes.len(),
    }
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
