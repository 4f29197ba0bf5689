//! Line-preserving reader/editor for the AWS `config` / `credentials` INI dialect.
//!
//! # Why hand-written
//!
//! `rust-ini` 0.21 re-serialises the whole file on write: it drops every
//! comment, turns CRLF into LF, rewrites `k = v` as `k=v` and moves keys that
//! were set to the end of their section (measured). The AWS files belong to
//! the user, and every byte outside the keys mfa-exec changes must stay. So
//! this module keeps the file as a list of physical lines and edits lines in
//! place: [`Document::render`] of an unedited document is byte-identical to
//! the text given to [`Document::parse`], and an edit touches only the lines
//! it has to.
//!
//! # Format decisions (the dialect botocore/configparser reads)
//!
//! - Input is `&str` (UTF-8). A leading UTF-8 BOM (`U+FEFF`) is kept and
//!   re-emitted; it is not part of the first line's content and does not make
//!   a line.
//! - Lines end with `\n` or `\r\n`; each line keeps its own ending, so mixed
//!   endings survive. The last line may have no ending, and keeps having none
//!   after any edit (the line that used to be last gains an ending, the new
//!   last line has none). A lone `\r` not followed by `\n` is line content.
//! - Blank line: only whitespace. Comment line: first non-whitespace char is
//!   `#` or `;`. Comments and blank lines may appear anywhere, including
//!   before the first section; an indented comment (`  # x`) is a comment.
//! - Section header: first non-whitespace char is `[`. It must contain a `]`
//!   (else "unterminated section header"); the name is the text between the
//!   first `[` and the *last* `]`, trimmed (`[profile prod]` is
//!   `profile prod`, `[ test ]` is `test`); text after the last `]` is
//!   ignored. An empty name is "empty section name". The header rule is
//!   checked before the continuation rule, so an indented `  [x]` is a header.
//! - Key line: non-blank, non-comment, not starting with whitespace, inside a
//!   section. Key = text before the first `=` or `:` (whichever comes first),
//!   trimmed; value = the rest, trimmed. No inline comments: `a = x#y` has
//!   value `x#y`, `a = arn:aws:iam::1:mfa/x` has value
//!   `arn:aws:iam::1:mfa/x`. Errors: no separator is "expected 'key =
//!   value'", empty key is "empty key", a key line before any section is "key
//!   outside any section" (this one wins over the other two).
//! - Continuation line: non-blank, non-comment, starting with whitespace
//!   (any Unicode whitespace, as `str::trim` sees it; in practice space or
//!   tab). It belongs to the most recent key line of the same section, as in
//!   configparser: blank and comment lines between the key and its
//!   continuation lines do not end the entry (AWS `s3 =` sub-blocks may
//!   contain them). It is not a key of the section and does not change the
//!   key's value, which is the trimmed first-line value. An indented
//!   non-comment line with no key before it in its section is "continuation
//!   line without a key".
//! - Keys compare ASCII case-insensitively; section names compare exactly.
//! - Duplicates are tolerated when reading: a section may appear twice and a
//!   key twice; reading takes the last occurrence (later wins), merged over
//!   all occurrences of the section, and [`Document::warnings`] reports each
//!   repeat against the previous occurrence. Writing into a duplicated
//!   section, or setting/removing a key that appears twice in the target
//!   section, is refused with an [`EditError`] naming both line numbers.
//! - Line numbers are 1-based physical lines.
//!
//! # Edit decisions
//!
//! - `set` on an existing key rewrites only the value on that line, keeping
//!   the key's spelling, indentation, separator, the spacing before and after
//!   the separator and any trailing whitespace after the old value; its
//!   continuation lines are removed (comments between them are kept). When
//!   the old value was empty, one space goes after the separator if there is
//!   whitespace before it (`k =` becomes `k = v`, `k=` becomes `k=v`). Setting
//!   an empty value leaves the line ending at the separator (`k =`).
//! - A new key is written as `key = value` (`key =` for an empty value),
//!   right after the last key/continuation line of the section, so trailing
//!   comments and blank lines before the next section stay where they are.
//! - A new section is appended at the end, after one blank separator line
//!   unless the document is empty or already ends with a blank line. Added
//!   lines use [`Document::line_ending`]. A document with no lines counts as
//!   ending with a newline, so appending to an empty document gives
//!   `"[name]\nkey = value\n"`.
//! - `remove_section` removes the header, key and continuation lines; blank
//!   and comment lines inside the section are kept (a comment is never lost).
//!   Blank lines made adjacent by the removal are collapsed into one, and
//!   blank lines that the removal left at the very start or the very end of
//!   the document are dropped. Blank lines that were already adjacent are
//!   left alone.
//! - If an edit would leave an empty last line without an ending (which
//!   would not be a line at all), that line is dropped instead.

use std::collections::HashMap;

/// A syntax error in the parsed text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct ParseError {
    pub line: usize,
    pub message: String,
}

/// An edit refused because the target is ambiguous.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EditError {
    #[error("section [{section}] appears more than once (lines {first} and {second})")]
    DuplicateSection {
        section: String,
        first: usize,
        second: usize,
    },
    #[error(
        "key '{key}' appears more than once in section [{section}] (lines {first} and {second})"
    )]
    DuplicateKey {
        section: String,
        key: String,
        first: usize,
        second: usize,
    },
    /// A value, key or section name that cannot be written as one line (a
    /// newline or another control character): a real check, not a debug one,
    /// so nothing can inject lines into a file.
    #[error(
        "cannot write {what} into [{section}]: it holds a newline or another control character"
    )]
    Unwritable { section: String, what: String },
}

/// One `key = value` line of a section occurrence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The key as written (trimmed).
    pub key: String,
    /// The trimmed first-line value.
    pub value: String,
    pub line: usize,
}

/// One occurrence of a section header and the key lines under it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section {
    pub name: String,
    /// The header line.
    pub line: usize,
    pub entries: Vec<Entry>,
}

/// Something legal but suspicious, such as a repeated section or key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    pub line: usize,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Kind {
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
enum Text {
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
struct Line {
    /// Content without the line ending (and without the BOM).
    text: Text,
    /// `""`, `"\n"` or `"\r\n"`.
    ending: &'static str,
    kind: Kind,
}

/// An AWS config/credentials file kept as its physical lines.
///
/// Two forms, one behaviour. [`Document::parse`] builds the line model every
/// edit works on. [`Document::read_owned`] (the read path: `load_file`) checks
/// every line exactly as the full parse does, but keeps only the text, the
/// section headers and the warnings; a section's keys are parsed when asked
/// for. The first edit of a read document does the full parse of its text.
/// Every reader answers the same in both forms (a property test holds them
/// to it).
#[derive(Debug, Clone)]
pub struct Document {
    bom: bool,
    lines: Vec<Line>,
    /// Section name → indices of its header lines, so a lookup reads one
    /// section instead of the whole file (a credentials file may hold
    /// thousands). Rebuilt after every edit.
    index: rustc_hash::FxHashMap<String, Vec<usize>>,
    /// The read form; `lines` and `index` are empty while this is set.
    lazy: Option<Box<Lazy>>,
}

/// Equal when both forms hold the same lines (a read document compares by
/// its full parse).
impl PartialEq for Document {
    fn eq(&self, other: &Document) -> bool {
        let (a, b) = (self.full(), other.full());
        a.bom == b.bom && a.lines == b.lines
    }
}

impl Eq for Document {}

/// No header has this index.
const NONE: usize = usize::MAX;

/// One section header of a read document; byte offsets into its text (`u32`:
/// a larger text takes the full parse), 24 bytes a header.
#[derive(Debug, Clone, Copy)]
struct Hdr {
    /// The trimmed name.
    name: (u32, u32),
    /// 1-based line of the header.
    line: u32,
    /// Start of the line after the header.
    body: u32,
    /// Start of the next header line, or the end of the text.
    end: u32,
    /// The next header of the same name, or `u32::MAX`.
    next: u32,
}

impl Hdr {
    fn line(&self) -> usize {
        self.line as usize
    }

    fn next(&self) -> usize {
        match self.next {
            u32::MAX => NONE,
            n => n as usize,
        }
    }
}

/// A key line of a read document: byte ranges of key and value, and its line.
#[derive(Debug, Clone, Copy)]
struct KeyAt {
    line: u32,
    key: (u32, u32),
    value: (u32, u32),
}

/// The key lines of one header, parsed when first read.
type KeySlot = std::cell::OnceCell<Box<[KeyAt]>>;

/// The read form of a [`Document`]: the checked text and its section headers.
#[derive(Debug, Clone)]
struct Lazy {
    src: std::sync::Arc<String>,
    headers: Vec<Hdr>,
    /// `(first, last)` header of each name, hashed by name (the names stay in
    /// `src`: no copy of them is made).
    table: hashbrown::HashTable<(u32, u32)>,
    warnings: Vec<Warning>,
    /// Key lines of the sections read so far, by header (a profile's
    /// resolution reads the same few sections many times; `list` reads
    /// thousands).
    /// One slot per header (made on the first read): no hashing, no
    /// reference count, and the lines borrowed for as long as the document.
    parsed: std::cell::OnceCell<Box<[KeySlot]>>,
}

fn name_hash(name: &str) -> u64 {
    use std::hash::BuildHasher;
    rustc_hash::FxBuildHasher.hash_one(name)
}

/// Either of two iterators (the two forms of a document).
enum Either<A, B> {
    A(A),
    B(B),
}

impl<T, A: Iterator<Item = T>, B: Iterator<Item = T>> Iterator for Either<A, B> {
    type Item = T;

    fn next(&mut self) -> Option<T> {
        match self {
            Either::A(a) => a.next(),
            Either::B(b) => b.next(),
        }
    }
}

impl Lazy {
    /// Checks every line of `src` (the same errors, at the same line, as the
    /// full parse) and indexes its section headers; collects the warnings.
    fn scan(src: std::sync::Arc<String>) -> Result<Lazy, ParseError> {
        let text: &str = &src;
        let bytes = text.as_bytes();
        let mut pos = if text.starts_with(BOM) {
            BOM.len_utf8()
        } else {
            0
        };
        // Every header line holds a `[`: sized once (no doubling, no copy).
        let mut headers: Vec<Hdr> = Vec::with_capacity(memchr::memchr_iter(b'[', bytes).count());
        let mut warnings = Vec::new();
        // Keys of the current section occurrence: (key, line).
        let mut seen: Vec<(&str, usize)> = Vec::new();
        let mut in_section = false;
        let mut have_key = false;
        let mut line = 0;
        while pos < bytes.len() {
            let (content_end, next) = match memchr::memchr(b'\n', &bytes[pos..]) {
                Some(i) => {
                    let nl = pos + i;
                    let end = if nl > pos && bytes[nl - 1] == b'\r' {
                        nl - 1
                    } else {
                        nl
                    };
                    (end, nl + 1)
                }
                None => (bytes.len(), bytes.len()),
            };
            let content = &text[pos..content_end];
            line += 1;
            let err = |message: &str| ParseError {
                line,
                message: message.to_string(),
            };
            if !in_section && is_key_like(content) {
                return Err(err("key outside any section"));
            }
            match classify_raw(content).map_err(err)? {
                Raw::Header(start, end) => {
                    if let Some(last) = headers.last_mut() {
                        last.end = pos as u32;
                    }
                    headers.push(Hdr {
                        name: ((pos + start) as u32, (pos + end) as u32),
                        line: line as u32,
                        body: next as u32,
                        end: bytes.len() as u32,
                        next: u32::MAX,
                    });
                    in_section = true;
                    have_key = false;
                    seen.clear();
                }
                Raw::Key { key, .. } => {
                    have_key = true;
                    let key = &content[key.0..key.1];
                    match seen.iter_mut().find(|(k, _)| k.eq_ignore_ascii_case(key)) {
                        Some(prev) => {
                            let h = headers.last().expect("a key line is inside a section");
                            warnings.push(Warning {
                                line,
                                message: format!(
                                    "key '{key}' repeats line {} in [{}]; later wins",
                                    prev.1,
                                    &text[h.name.0 as usize..h.name.1 as usize]
                                ),
                            });
                            prev.1 = line;
                        }
                        None => seen.push((key, line)),
                    }
                }
                Raw::Continuation if !have_key => {
                    return Err(err("continuation line without a key"));
                }
                _ => {}
            }
            pos = next;
        }
        drop(seen);
        let mut table: hashbrown::HashTable<(u32, u32)> =
            hashbrown::HashTable::with_capacity(headers.len());
        let mut repeated = Vec::new();
        let name_of = |h: &Hdr| &text[h.name.0 as usize..h.name.1 as usize];
        for i in 0..headers.len() {
            let name = name_of(&headers[i]);
            match table.entry(
                name_hash(name),
                |&(f, _)| name_of(&headers[f as usize]) == name,
                |&(f, _)| name_hash(name_of(&headers[f as usize])),
            ) {
                hashbrown::hash_table::Entry::Occupied(mut e) => {
                    let (first, last) = e.get_mut();
                    let (first, prev) = (*first as usize, *last as usize);
                    *last = i as u32;
                    if first == prev {
                        repeated.push(first);
                    }
                    headers[prev].next = i as u32;
                }
                hashbrown::hash_table::Entry::Vacant(e) => {
                    e.insert((i as u32, i as u32));
                }
            }
        }
        let mut lazy = Lazy {
            src: src.clone(),
            headers,
            table,
            warnings,
            parsed: Default::default(),
        };
        // Repeated sections, and keys repeated across their occurrences (as
        // `Document::warnings` words them).
        let mut more = Vec::new();
        for first in repeated {
            let name = lazy.name(first);
            let mut prev = first;
            let mut h = lazy.headers[first].next();
            while h != NONE {
                more.push(Warning {
                    line: lazy.headers[h].line(),
                    message: format!(
                        "section [{name}] repeats the one at line {}; later wins",
                        lazy.headers[prev].line()
                    ),
                });
                prev = h;
                h = lazy.headers[h].next();
            }
            let mut keys: Vec<(&str, usize, usize)> = Vec::new(); // key, line, header
            for h in lazy.occurrences(first) {
                for (line, key, _) in lazy.keys(h) {
                    match keys
                        .iter_mut()
                        .find(|(k, _, _)| k.eq_ignore_ascii_case(key))
                    {
                        Some(prev) => {
                            if prev.2 != h {
                                more.push(Warning {
                                    line,
                                    message: format!(
                                        "key '{key}' repeats line {} in [{name}]; later wins",
                                        prev.1
                                    ),
                                });
                            }
                            *prev = (key, line, h);
                        }
                        None => keys.push((key, line, h)),
                    }
                }
            }
        }
        lazy.warnings.extend(more);
        lazy.warnings.sort_by_key(|w| w.line);
        Ok(lazy)
    }

    fn name(&self, h: usize) -> &str {
        let (start, end) = self.headers[h].name;
        &self.src[start as usize..end as usize]
    }

    /// The first header named `name`.
    fn first(&self, name: &str) -> Option<usize> {
        self.table
            .find(name_hash(name), |&(f, _)| self.name(f as usize) == name)
            .map(|&(f, _)| f as usize)
    }

    /// Headers of the occurrences of the section whose first header is `first`.
    fn occurrences(&self, first: usize) -> impl Iterator<Item = usize> + '_ {
        std::iter::successors(Some(first), |&h| {
            Some(self.headers[h].next()).filter(|&n| n != NONE)
        })
    }

    fn occurrences_of<'a>(&'a self, name: &str) -> impl Iterator<Item = usize> + 'a {
        self.first(name)
            .into_iter()
            .flat_map(|f| self.occurrences(f))
    }

    /// `(line, key, value)` of the key lines under header `h`.
    fn keys(&self, h: usize) -> impl Iterator<Item = (usize, &str, &str)> + '_ {
        let list: &[KeyAt] = self.parsed_keys(h);
        let src: &str = &self.src;
        (0..list.len()).map(move |i| {
            let k = list[i];
            (
                k.line as usize,
                &src[k.key.0 as usize..k.key.1 as usize],
                &src[k.value.0 as usize..k.value.1 as usize],
            )
        })
    }

    /// The key lines under header `h`, parsed when first asked for.
    fn parsed_keys(&self, h: usize) -> &[KeyAt] {
        let slots = self.parsed.get_or_init(|| {
            std::iter::repeat_with(std::cell::OnceCell::new)
                .take(self.headers.len())
                .collect()
        });
        slots[h].get_or_init(|| self.parse_keys(h))
    }

    fn parse_keys(&self, h: usize) -> Box<[KeyAt]> {
        let hdr = self.headers[h];
        let base = self.src.as_ptr() as usize;
        split_lines(&self.src[hdr.body as usize..hdr.end as usize])
            .enumerate()
            .filter_map(|(j, (content, _))| match classify_raw(content) {
                Ok(Raw::Key { key, value }) => {
                    let at = (content.as_ptr() as usize - base) as u32;
                    Some(KeyAt {
                        line: hdr.line + 1 + j as u32,
                        key: (at + key.0 as u32, at + key.1 as u32),
                        value: (at + value.0 as u32, at + value.1 as u32),
                    })
                }
                _ => None,
            })
            .collect()
    }

    /// The header on `line`, if that line is one.
    fn header_at(&self, line: usize) -> Option<usize> {
        self.headers.binary_search_by_key(&line, |h| h.line()).ok()
    }

    fn body(&self) -> &str {
        self.src.strip_prefix(BOM).unwrap_or(&self.src)
    }
}

const BOM: char = '\u{feff}';

/// Splits into (content, ending) pairs; no pair for an empty remainder.
fn split_lines(s: &str) -> impl Iterator<Item = (&str, &'static str)> {
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
fn is_key_like(text: &str) -> bool {
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
enum Raw {
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
fn ascii_space(b: u8) -> bool {
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
fn trim_end(s: &str) -> &str {
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
fn classify_raw(text: &str) -> Result<Raw, &'static str> {
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
fn classify(text: &str) -> Result<Kind, &'static str> {
    Ok(match classify_raw(text)? {
        Raw::Blank => Kind::Blank,
        Raw::Comment => Kind::Comment,
        Raw::Header(start, end) => Kind::Header {
            name: text[start..end].to_string(),
        },
        Raw::Key { key, value } => Kind::Key {
            key: (key.0 as u32, key.1 as u32),
            value: (value.0 as u32, value.1 as u32),
        },
        Raw::Continuation => Kind::Continuation,
    })
}

/// Replaces the value of a key line, keeping everything else on the line.
fn rewrite_value(text: &str, value: &str) -> String {
    let sep = text
        .find(['=', ':'])
        .expect("a key line always has a separator");
    let head = &text[..=sep];
    let after = &text[sep + 1..];
    let old = after.trim();
    let mut out = String::from(head);
    if value.is_empty() {
        return out;
    }
    if old.is_empty() {
        if !after.is_empty() || text[..sep].ends_with(char::is_whitespace) {
            out.push(' ');
        }
        out.push_str(value);
    } else {
        let lead = after.len() - after.trim_start().len();
        out.push_str(&after[..lead]);
        out.push_str(value);
        out.push_str(&after[lead + old.len()..]);
    }
    out
}

fn new_key_text(key: &str, value: &str) -> String {
    if value.is_empty() {
        format!("{key} =")
    } else {
        format!("{key} = {value}")
    }
}

fn line_of_text(text: String, ending: &'static str) -> Line {
    let kind = classify(&text).expect("generated line is well-formed");
    Line {
        text: Text::Own(text),
        ending,
        kind,
    }
}

impl Document {
    /// Parses `text`; fails on the first malformed line.
    pub fn parse(text: &str) -> Result<Document, ParseError> {
        Document::parse_owned(text.to_string())
    }

    /// [`Document::parse`] of a string it keeps (the lines point into it: no copy).
    pub fn parse_owned(text: String) -> Result<Document, ParseError> {
        Document::parse_arc(std::sync::Arc::new(text))
    }

    /// The read path: checks every line of `text` as [`Document::parse_owned`]
    /// does (the same error for a malformed line), but builds only an index of
    /// the section headers; a section's keys are parsed when they are read.
    /// Cheap for a file of thousands of sections of which a run reads three.
    /// An edit does the full parse first.
    pub fn read_owned(text: String) -> Result<Document, ParseError> {
        if text.len() >= u32::MAX as usize {
            return Document::parse_owned(text);
        }
        let lazy = Lazy::scan(std::sync::Arc::new(text))?;
        Ok(Document {
            bom: lazy.src.starts_with(BOM),
            lines: Vec::new(),
            index: Default::default(),
            lazy: Some(Box::new(lazy)),
        })
    }

    /// [`Document::read_owned`] of a copy of `text`.
    #[cfg(test)]
    pub fn read(text: &str) -> Result<Document, ParseError> {
        Document::read_owned(text.to_string())
    }

    /// The line model of this document (a full parse of a read document).
    fn full(&self) -> std::borrow::Cow<'_, Document> {
        match &self.lazy {
            None => std::borrow::Cow::Borrowed(self),
            Some(l) => std::borrow::Cow::Owned(
                Document::parse_arc(l.src.clone()).expect("the read path checked every line"),
            ),
        }
    }

    /// Turns a read document into the line model, before an edit.
    fn materialize(&mut self) {
        if self.lazy.is_some() {
            *self = self.full().into_owned();
        }
    }

    fn parse_arc(src: std::sync::Arc<String>) -> Result<Document, ParseError> {
        let text: &str = &src;
        let (bom, body) = match text.strip_prefix(BOM) {
            Some(rest) => (true, rest),
            None => (false, text),
        };
        // One allocation of the right size: a large file's lines are most of
        // the memory the cached path touches.
        let mut lines = Vec::with_capacity(body.bytes().filter(|&b| b == b'\n').count() + 1);
        let mut in_section = false;
        let mut have_key = false;
        for (idx, (content, ending)) in split_lines(body).enumerate() {
            let err = |message: &str| ParseError {
                line: idx + 1,
                message: message.to_string(),
            };
            if !in_section && is_key_like(content) {
                return Err(err("key outside any section"));
            }
            let kind = classify(content).map_err(err)?;
            match kind {
                Kind::Header { .. } => {
                    in_section = true;
                    have_key = false;
                }
                Kind::Key { .. } => have_key = true,
                Kind::Continuation if !have_key => {
                    return Err(err("continuation line without a key"));
                }
                _ => {}
            }
            lines.push(Line {
                text: Text::Src {
                    src: src.clone(),
                    start: content.as_ptr() as usize - text.as_ptr() as usize,
                    end: content.as_ptr() as usize - text.as_ptr() as usize + content.len(),
                },
                ending,
                kind,
            });
        }
        let mut doc = Document {
            bom,
            lines,
            index: Default::default(),
            lazy: None,
        };
        doc.reindex();
        Ok(doc)
    }

    /// Rebuilds the section index (after parsing and after every edit).
    fn reindex(&mut self) {
        self.index.clear();
        for (i, line) in self.lines.iter().enumerate() {
            if let Kind::Header { name } = &line.kind {
                self.index.entry(name.clone()).or_default().push(i);
            }
        }
    }

    /// A document with no lines; renders to `""`.
    pub fn empty() -> Document {
        Document {
            bom: false,
            lines: Vec::new(),
            index: Default::default(),
            lazy: None,
        }
    }

    /// The text of the document; byte-identical to the parsed input when unchanged.
    pub fn render(&self) -> String {
        if let Some(l) = &self.lazy {
            return l.src.to_string();
        }
        let mut out = String::with_capacity(
            self.lines
                .iter()
                .map(|l| l.text.len() + l.ending.len())
                .sum::<usize>()
                + 3,
        );
        if self.bom {
            out.push(BOM);
        }
        for line in &self.lines {
            out.push_str(&line.text);
            out.push_str(line.ending);
        }
        out
    }

    /// Every section header in file order, duplicates included.
    pub fn sections(&self) -> Vec<Section> {
        if let Some(l) = &self.lazy {
            return (0..l.headers.len())
                .map(|h| Section {
                    name: l.name(h).to_string(),
                    line: l.headers[h].line(),
                    entries: l
                        .keys(h)
                        .map(|(line, key, value)| Entry {
                            key: key.to_string(),
                            value: value.to_string(),
                            line,
                        })
                        .collect(),
                })
                .collect();
        }
        let mut out: Vec<Section> = Vec::new();
        for (i, line) in self.lines.iter().enumerate() {
            match &line.kind {
                Kind::Header { name } => out.push(Section {
                    name: name.clone(),
                    line: i + 1,
                    entries: Vec::new(),
                }),
                Kind::Key { key, value } => {
                    if let Some(section) = out.last_mut() {
                        section.entries.push(Entry {
                            key: line.text[key.0 as usize..key.1 as usize].to_string(),
                            value: line.text[value.0 as usize..value.1 as usize].to_string(),
                            line: i + 1,
                        });
                    }
                }
                _ => {}
            }
        }
        out
    }

    /// Every section header `(name, line)` in file order, duplicates included
    /// (cheaper than [`Document::sections`]: no entries are collected).
    pub fn headers(&self) -> Vec<(&str, usize)> {
        self.header_iter().collect()
    }

    /// [`Document::headers`] without collecting them.
    pub fn header_iter(&self) -> impl Iterator<Item = (&str, usize)> + '_ {
        match &self.lazy {
            Some(l) => Either::A((0..l.headers.len()).map(|h| (l.name(h), l.headers[h].line()))),
            None => Either::B(
                self.lines
                    .iter()
                    .enumerate()
                    .filter_map(|(i, l)| match &l.kind {
                        Kind::Header { name } => Some((name.as_str(), i + 1)),
                        _ => None,
                    }),
            ),
        }
    }

    /// The name of the section whose header is on `line` (1-based).
    pub fn header_name_at(&self, line: usize) -> Option<&str> {
        if let Some(l) = &self.lazy {
            return l.header_at(line).map(|h| l.name(h));
        }
        match &self.lines.get(line.checked_sub(1)?)?.kind {
            Kind::Header { name } => Some(name),
            _ => None,
        }
    }

    pub fn has_section(&self, name: &str) -> bool {
        match &self.lazy {
            Some(l) => l.first(name).is_some(),
            None => self.index.contains_key(name),
        }
    }

    /// Header line of each occurrence of section `name`.
    pub fn section_lines(&self, name: &str) -> Vec<usize> {
        if let Some(l) = &self.lazy {
            return l
                .occurrences_of(name)
                .map(|h| l.headers[h].line())
                .collect();
        }
        self.header_indices(name)
            .into_iter()
            .map(|i| i + 1)
            .collect()
    }

    /// `(header line, name)` of each occurrence of section `name`, the name
    /// borrowed from the document.
    pub fn section_headers<'a>(
        &'a self,
        name: &str,
    ) -> impl Iterator<Item = (usize, &'a str)> + 'a {
        match &self.lazy {
            Some(l) => Either::A(
                l.occurrences_of(name)
                    .map(|h| (l.headers[h].line(), l.name(h))),
            ),
            None => Either::B(
                self.index
                    .get_key_value(name)
                    .into_iter()
                    .flat_map(|(k, v)| v.iter().map(move |&i| (i + 1, k.as_str()))),
            ),
        }
    }

    /// Later-wins value of `key` (case-insensitive) across all occurrences of section `name`.
    pub fn get(&self, name: &str, key: &str) -> Option<&str> {
        self.keys_of(name)
            .filter(|(_, k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, _, v)| v)
            .last()
    }

    /// `(line, value)` of the winning `key` of section `name`: [`Document::line_of`]
    /// and [`Document::get`] in one lookup.
    pub fn find(&self, name: &str, key: &str) -> Option<(usize, &str)> {
        self.keys_of(name)
            .filter(|(_, k, _)| k.eq_ignore_ascii_case(key))
            .map(|(i, _, v)| (i + 1, v))
            .last()
    }

    /// Every key line `(line, key, value)` of every occurrence of section
    /// `name`, in file order.
    pub fn entries(&self, name: &str) -> Vec<Entry> {
        self.keys_of(name)
            .map(|(i, key, value)| Entry {
                key: key.to_string(),
                value: value.to_string(),
                line: i + 1,
            })
            .collect()
    }

    /// Names of the section occurrences, in file order, that hold a key line
    /// `key = value` (key case-insensitive, value exact). Reads only the lines
    /// in which `value` occurs in a read document.
    pub fn sections_with_value(&self, key: &str, value: &str) -> Vec<&str> {
        let mut out: Vec<(usize, &str)> = Vec::new();
        fn push<'d>(out: &mut Vec<(usize, &'d str)>, line: usize, name: &'d str) {
            if out.last().is_none_or(|&(l, _)| l != line) {
                out.push((line, name));
            }
        }
        let matches = |k: &str, v: &str| k.eq_ignore_ascii_case(key) && v == value;
        match &self.lazy {
            // A value never spans lines; an empty one is everywhere.
            Some(_) if value.contains('\n') => {}
            Some(l) if !value.is_empty() => {
                let bytes = l.src.as_bytes();
                let mut last_start = NONE;
                for at in memchr::memmem::find_iter(bytes, value.as_bytes()) {
                    let start = memchr::memrchr(b'\n', &bytes[..at]).map_or(0, |i| i + 1);
                    if start == last_start {
                        continue;
                    }
                    last_start = start;
                    // The section this line is in (none: before the first header).
                    let h = l.headers.partition_point(|h| h.body as usize <= start);
                    if h == 0 {
                        continue;
                    }
                    let content = match memchr::memchr(b'\n', &bytes[at..]) {
                        Some(i) => {
                            let line = &l.src[start..at + i];
                            line.strip_suffix('\r').unwrap_or(line)
                        }
                        None => &l.src[start..],
                    };
                    if let Ok(Raw::Key { key: k, value: v }) = classify_raw(content) {
                        if matches(&content[k.0..k.1], &content[v.0..v.1]) {
                            push(&mut out, l.headers[h - 1].line(), l.name(h - 1));
                        }
                    }
                }
            }
            Some(l) => {
                for h in 0..l.headers.len() {
                    for (_, k, v) in l.keys(h) {
                        if matches(k, v) {
                            push(&mut out, l.headers[h].line(), l.name(h));
                        }
                    }
                }
            }
            None => {
                let mut current: Option<(usize, &str)> = None;
                for (i, line) in self.lines.iter().enumerate() {
                    match &line.kind {
                        Kind::Header { name } => current = Some((i + 1, name)),
                        Kind::Key { key: k, value: v } => {
                            let k = &line.text[k.0 as usize..k.1 as usize];
                            let v = &line.text[v.0 as usize..v.1 as usize];
                            if let Some((h, name)) = current.filter(|_| matches(k, v)) {
                                push(&mut out, h, name);
                            }
                        }
                        _ => {}
                    }
                }
            }
        }
        out.into_iter().map(|(_, n)| n).collect()
    }

    /// Later-wins (key, value, line) of every distinct key of section `name`,
    /// merged over duplicates, in first-seen order; key returned lowercased.
    pub fn section_map(&self, name: &str) -> Vec<(String, String, usize)> {
        let mut out: Vec<(String, String, usize)> = Vec::new();
        // A section has a handful of keys: a linear search, until it has many.
        let mut pos: Option<HashMap<String, usize>> = None;
        for (i, key, value) in self.keys_of(name) {
            let found = match &pos {
                Some(pos) => pos.get(&key.to_ascii_lowercase()).copied(),
                None => out.iter().position(|(k, _, _)| k.eq_ignore_ascii_case(key)),
            };
            match found {
                Some(p) => {
                    out[p].1 = value.to_string();
                    out[p].2 = i + 1;
                }
                None => {
                    out.push((key.to_ascii_lowercase(), value.to_string(), i + 1));
                    if let Some(pos) = &mut pos {
                        pos.insert(key.to_ascii_lowercase(), out.len() - 1);
                    } else if out.len() > 16 {
                        pos = Some(
                            out.iter()
                                .enumerate()
                                .map(|(p, (k, _, _))| (k.clone(), p))
                                .collect(),
                        );
                    }
                }
            }
        }
        out
    }

    /// True when a comment line sits between a header of section `name` and
    /// the next header (so removing the section would orphan it).
    pub fn section_has_comments(&self, name: &str) -> bool {
        // The read path keeps no comment lines: ask the full parse.
        let full = self.full();
        full.header_indices(name).into_iter().any(|h| {
            full.lines[h + 1..full.section_end(h)]
                .iter()
                .any(|l| l.kind == Kind::Comment)
        })
    }

    /// `(line, key, value)` of every key line of every occurrence of section
    /// `name`, in file order (1-based lines; nothing copied).
    pub fn key_lines<'a>(
        &'a self,
        name: &str,
    ) -> impl Iterator<Item = (usize, &'a str, &'a str)> + 'a {
        self.keys_of(name).map(|(i, k, v)| (i + 1, k, v))
    }

    /// Whether section `name` has a key line (in any occurrence).
    pub fn has_keys(&self, name: &str) -> bool {
        self.keys_of(name).next().is_some()
    }

    /// Line of the winning occurrence of `key` in section `name`.
    pub fn line_of(&self, name: &str, key: &str) -> Option<usize> {
        self.keys_of(name)
            .filter(|(_, k, _)| k.eq_ignore_ascii_case(key))
            .map(|(i, _, _)| i + 1)
            .last()
    }

    /// The first of `keys` (case-insensitive) that appears twice in section
    /// `name`, with the lines (1-based) of its first two occurrences: an edit
    /// of that key would be refused. One pass over the section's keys.
    pub fn repeated_key(&self, name: &str, keys: &[&str]) -> Option<(String, usize, usize)> {
        let mut seen: Vec<(usize, usize)> = Vec::new(); // (index in keys, line)
        for (i, k, _) in self.keys_of(name) {
            let Some(at) = keys.iter().position(|want| want.eq_ignore_ascii_case(k)) else {
                continue;
            };
            match seen.iter().find(|(j, _)| *j == at) {
                Some(&(_, first)) => return Some((keys[at].to_string(), first, i + 1)),
                None => seen.push((at, i + 1)),
            }
        }
        None
    }

    /// Repeated sections and keys (each repeat names the previous occurrence),
    /// in line order. One pass over the lines: keys are compared within their
    /// section (and across the occurrences of a repeated section only), so a
    /// large file stays cheap on the cached path.
    pub fn warnings(&self) -> Vec<Warning> {
        if let Some(l) = &self.lazy {
            return l.warnings.clone();
        }
        let mut out = Vec::new();
        // Keys of the current section occurrence: (key, line).
        let mut seen: Vec<(&str, usize)> = Vec::new();
        let mut current: Option<&str> = None;
        for (i, line) in self.lines.iter().enumerate() {
            match &line.kind {
                Kind::Header { name } => {
                    seen.clear();
                    current = Some(name);
                }
                Kind::Key { key, .. } => {
                    let Some(section) = current else { continue };
                    let key = &line.text[key.0 as usize..key.1 as usize];
                    match seen.iter_mut().find(|(k, _)| k.eq_ignore_ascii_case(key)) {
                        Some(prev) => {
                            out.push(Warning {
                                line: i + 1,
                                message: format!(
                                    "key '{key}' repeats line {} in [{section}]; later wins",
                                    prev.1
                                ),
                            });
                            prev.1 = i + 1;
                        }
                        None => seen.push((key, i + 1)),
                    }
                }
                _ => {}
            }
        }
        // Repeated sections, and keys repeated across their occurrences.
        for (name, headers) in &self.index {
            if headers.len() < 2 {
                continue;
            }
            for pair in headers.windows(2) {
                out.push(Warning {
                    line: pair[1] + 1,
                    message: format!(
                        "section [{name}] repeats the one at line {}; later wins",
                        pair[0] + 1
                    ),
                });
            }
            let mut keys: Vec<(&str, usize, usize)> = Vec::new(); // key, line, header
            for (i, key, _) in self.keys_of(name) {
                let header = headers.iter().rev().find(|&&h| h < i).copied().unwrap_or(0);
                match keys
                    .iter_mut()
                    .find(|(k, _, _)| k.eq_ignore_ascii_case(key))
                {
                    Some(prev) => {
                        if prev.2 != header {
                            out.push(Warning {
                                line: i + 1,
                                message: format!(
                                    "key '{key}' repeats line {} in [{name}]; later wins",
                                    prev.1
                                ),
                            });
                        }
                        *prev = (key, i + 1, header);
                    }
                    None => keys.push((key, i + 1, header)),
                }
            }
        }
        out.sort_by_key(|w| w.line);
        out
    }

    /// `"\r\n"` if most line endings are CRLF, else `"\n"`.
    pub fn line_ending(&self) -> &'static str {
        if let Some(l) = &self.lazy {
            let body = l.body().as_bytes();
            let lf_all = memchr::memchr_iter(b'\n', body).count();
            let crlf = memchr::memmem::find_iter(body, b"\r\n").count();
            return if crlf > lf_all - crlf { "\r\n" } else { "\n" };
        }
        let crlf = self.lines.iter().filter(|l| l.ending == "\r\n").count();
        let lf = self.lines.iter().filter(|l| l.ending == "\n").count();
        if crlf > lf {
            "\r\n"
        } else {
            "\n"
        }
    }

    /// Set `key = value` in section `name`. If the key exists (case-insensitive),
    /// rewrite only its value on its own line, keeping the key's spelling,
    /// indentation, separator and spacing style, removing its continuation
    /// lines if any. Otherwise insert `key = value` right after the last
    /// key/continuation line of the section (right after the header if it has
    /// no keys). If the section is absent, append it at the end of the
    /// document after a blank separator line (unless the document is empty or
    /// already ends with a blank line). New lines use [`Self::line_ending`]; a
    /// missing final newline stays missing.
    pub fn set(&mut self, name: &str, key: &str, value: &str) -> Result<(), EditError> {
        self.materialize();
        let result = self.set_inner(name, key, value);
        self.reindex();
        result
    }

    fn set_inner(&mut self, name: &str, key: &str, value: &str) -> Result<(), EditError> {
        let unwritable = |what: String| EditError::Unwritable {
            section: name.chars().filter(|c| !c.is_control()).collect(),
            what,
        };
        if value.chars().any(char::is_control) {
            return Err(unwritable(format!("the value of {key}")));
        }
        if !valid_key(key) {
            return Err(unwritable(format!("the key {key:?}")));
        }
        if !valid_name(name) {
            return Err(unwritable("the section name".into()));
        }
        let had_final = self.has_final_newline();
        let eol = self.line_ending();
        match self.unique_section(name)? {
            None => {
                if let Some(last) = self.lines.last_mut() {
                    if last.ending.is_empty() {
                        last.ending = eol;
                    }
                    if last.kind != Kind::Blank {
                        self.lines.push(line_of_text(String::new(), eol));
                    }
                }
                self.lines.push(line_of_text(format!("[{name}]"), eol));
                self.lines.push(line_of_text(new_key_text(key, value), eol));
            }
            Some((h, end)) => match self.unique_key(name, key, h, end)? {
                Some(k) => {
                    let entry = self.entry_lines(k, end);
                    for &i in entry[1..].iter().rev() {
                        self.lines.remove(i);
                    }
                    let line = &mut self.lines[k];
                    line.text = Text::Own(rewrite_value(&line.text, value));
                    line.kind = classify(&line.text).expect("rewritten key line is well-formed");
                }
                None => {
                    let pos = (h + 1..end)
                        .rev()
                        .find(|&i| {
                            matches!(self.lines[i].kind, Kind::Key { .. } | Kind::Continuation)
                        })
                        .map_or(h + 1, |i| i + 1);
                    if pos == self.lines.len() {
                        if let Some(last) = self.lines.last_mut() {
                            if last.ending.is_empty() {
                                last.ending = eol;
                            }
                        }
                    }
                    self.lines
                        .insert(pos, line_of_text(new_key_text(key, value), eol));
                }
            },
        }
        self.restore_final_newline(had_final);
        Ok(())
    }

    /// Remove the key line (and its continuation lines). `Ok(false)` if absent.
    pub fn remove_key(&mut self, name: &str, key: &str) -> Result<bool, EditError> {
        self.materialize();
        let result = self.remove_key_inner(name, key);
        self.reindex();
        result
    }

    fn remove_key_inner(&mut self, name: &str, key: &str) -> Result<bool, EditError> {
        let had_final = self.has_final_newline();
        let Some((h, end)) = self.unique_section(name)? else {
            return Ok(false);
        };
        let Some(k) = self.unique_key(name, key, h, end)? else {
            return Ok(false);
        };
        for i in self.entry_lines(k, end).into_iter().rev() {
            self.lines.remove(i);
        }
        self.restore_final_newline(had_final);
        Ok(true)
    }

    /// Remove the header, key and continuation lines of section `name`,
    /// keeping its comment lines. Blank lines the removal makes redundant are
    /// dropped. `Ok(false)` if absent.
    pub fn remove_section(&mut self, name: &str) -> Result<bool, EditError> {
        self.materialize();
        let result = self.remove_section_inner(name);
        self.reindex();
        result
    }

    fn remove_section_inner(&mut self, name: &str) -> Result<bool, EditError> {
        let had_final = self.has_final_newline();
        let Some((h, end)) = self.unique_section(name)? else {
            return Ok(false);
        };
        let orig_len = self.lines.len();
        let mut out: Vec<(usize, Line)> = Vec::with_capacity(orig_len);
        for (i, line) in std::mem::take(&mut self.lines).into_iter().enumerate() {
            let structural = matches!(
                line.kind,
                Kind::Header { .. } | Kind::Key { .. } | Kind::Continuation
            );
            if (h..end).contains(&i) && structural {
                continue;
            }
            if line.kind == Kind::Blank {
                match out.last() {
                    // Newly adjacent to another blank line: redundant.
                    Some((p, prev)) if prev.kind == Kind::Blank && p + 1 != i => continue,
                    // Newly first line of the document.
                    None if i != 0 => continue,
                    _ => {}
                }
            }
            out.push((i, line));
        }
        while matches!(out.last(), Some((i, l)) if l.kind == Kind::Blank && i + 1 != orig_len) {
            out.pop();
        }
        self.lines = out.into_iter().map(|(_, l)| l).collect();
        self.restore_final_newline(had_final);
        Ok(true)
    }

    // ---- private helpers ----

    fn has_final_newline(&self) -> bool {
        self.lines.last().is_none_or(|l| !l.ending.is_empty())
    }

    fn restore_final_newline(&mut self, had_final: bool) {
        if had_final {
            return;
        }
        while let Some(last) = self.lines.last_mut() {
            last.ending = "";
            if last.text.is_empty() && self.lines.len() > 1 {
                self.lines.pop();
            } else {
                break;
            }
        }
    }

    fn header_indices(&self, name: &str) -> Vec<usize> {
        self.index.get(name).cloned().unwrap_or_default()
    }

    /// Index one past the last line of the section whose header is at `h`.
    fn section_end(&self, h: usize) -> usize {
        (h + 1..self.lines.len())
            .find(|&i| matches!(self.lines[i].kind, Kind::Header { .. }))
            .unwrap_or(self.lines.len())
    }

    /// `(header index, end index)` of the only occurrence of `name`.
    fn unique_section(&self, name: &str) -> Result<Option<(usize, usize)>, EditError> {
        match self.header_indices(name)[..] {
            [] => Ok(None),
            [h] => Ok(Some((h, self.section_end(h)))),
            [first, second, ..] => Err(EditError::DuplicateSection {
                section: name.to_string(),
                first: first + 1,
                second: second + 1,
            }),
        }
    }

    /// Index of the only key line for `key` within `(h, end)`.
    fn unique_key(
        &self,
        name: &str,
        key: &str,
        h: usize,
        end: usize,
    ) -> Result<Option<usize>, EditError> {
        let found: Vec<usize> = (h + 1..end)
            .filter(|&i| {
                let l = &self.lines[i];
                matches!(&l.kind, Kind::Key { key: k, .. } if l.text[k.0 as usize..k.1 as usize].eq_ignore_ascii_case(key))
            })
            .collect();
        match found[..] {
            [] => Ok(None),
            [k] => Ok(Some(k)),
            [first, second, ..] => Err(EditError::DuplicateKey {
                section: name.to_string(),
                key: key.to_string(),
                first: first + 1,
                second: second + 1,
            }),
        }
    }

    /// The key line at `k` followed by the indices of its continuation lines.
    fn entry_lines(&self, k: usize, end: usize) -> Vec<usize> {
        let mut out = vec![k];
        for i in k + 1..end {
            match self.lines[i].kind {
                Kind::Key { .. } | Kind::Header { .. } => break,
                Kind::Continuation => out.push(i),
                _ => {}
            }
        }
        out
    }

    /// `(index, key, value)` of every key line in any occurrence of `name`.
    fn keys_of<'a>(&'a self, name: &str) -> impl Iterator<Item = (usize, &'a str, &'a str)> + 'a {
        if let Some(l) = &self.lazy {
            return Either::A(
                l.occurrences_of(name)
                    .flat_map(|h| l.keys(h).map(|(line, k, v)| (line - 1, k, v))),
            );
        }
        let headers: &[usize] = self.index.get(name).map(Vec::as_slice).unwrap_or(&[]);
        Either::B(headers.iter().flat_map(move |&h| {
            self.lines[h + 1..]
                .iter()
                .enumerate()
                .take_while(|(_, l)| !matches!(l.kind, Kind::Header { .. }))
                .filter_map(move |(j, line)| match &line.kind {
                    Kind::Key { key, value } => Some((
                        h + 1 + j,
                        &line.text[key.0 as usize..key.1 as usize],
                        &line.text[value.0 as usize..value.1 as usize],
                    )),
                    _ => None,
                })
        }))
    }
}

fn valid_key(key: &str) -> bool {
    !key.is_empty()
        && key == key.trim()
        && !key.contains(['=', ':', '\n', '\r'])
        && !key.starts_with(['[', '#', ';'])
}

fn valid_name(name: &str) -> bool {
    !name.is_empty() && name == name.trim() && !name.contains(['\n', '\r'])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(text: &str) -> Document {
        Document::parse(text).unwrap_or_else(|e| panic!("parse failed: {e}\n{text:?}"))
    }

    fn perr(text: &str) -> ParseError {
        Document::parse(text).expect_err("expected a parse error")
    }

    /// The document's internal model equals a fresh parse of its rendering.
    fn assert_consistent(d: &Document) {
        let again = doc(&d.render());
        assert_eq!(&again, d, "model differs from re-parse of {:?}", d.render());
    }

    fn set(text: &str, name: &str, key: &str, value: &str) -> String {
        let mut d = doc(text);
        d.set(name, key, value).unwrap();
        assert_consistent(&d);
        d.render()
    }

    fn remove_key(text: &str, name: &str, key: &str) -> String {
        let mut d = doc(text);
        assert!(d.remove_key(name, key).unwrap());
        assert_consistent(&d);
        d.render()
    }

    fn remove_section(text: &str, name: &str) -> String {
        let mut d = doc(text);
        assert!(d.remove_section(name).unwrap());
        assert_consistent(&d);
        d.render()
    }

    const FULL: &str = "\u{feff}# top comment\r\n\
        ; another comment\n\
        \n\
        [default]\r\n\
        region = us-east-1\r\n\
        output=json\r\n\
        \x20 # indented comment\n\
        s3 =\r\n\
        \x20 max_concurrent_requests = 20\r\n\
        \tsignature_version = s3v4\n\
        \n\
        [profile prod]\n\
        mfa_serial: arn:aws:iam::123:mfa/me\n\
        Region = eu-west-1\n\
        region = eu-west-2 ; not a comment\n\
        \n\
        [default]\n\
        output = text\n\
        # trailing comment";

    #[test]
    fn round_trip_is_byte_identical() {
        let d = doc(FULL);
        assert_eq!(d.render(), FULL);
        for text in [
            "",
            "\n",
            "\r\n",
            "\u{feff}",
            "\u{feff}\n",
            "[a]",
            "[a]\n",
            "[a]\r\nk=v",
            "   \n\t\n",
            "# c",
            "[a]\nk = v\r",
            "[a]\nk = v\r\r\n",
        ] {
            assert_eq!(doc(text).render(), text, "{text:?}");
        }
    }

    #[test]
    fn full_fixture_reads() {
        let d = doc(FULL);
        let sections = d.sections();
        let names: Vec<_> = sections.iter().map(|s| (s.name.as_str(), s.line)).collect();
        assert_eq!(
            names,
            [("default", 4), ("profile prod", 12), ("default", 17)]
        );
        assert_eq!(
            sections[0].entries,
            vec![
                Entry {
                    key: "region".into(),
                    value: "us-east-1".into(),
                    line: 5
                },
                Entry {
                    key: "output".into(),
                    value: "json".into(),
                    line: 6
                },
                Entry {
                    key: "s3".into(),
                    value: "".into(),
                    line: 8
                },
            ]
        );
        assert_eq!(d.get("default", "output"), Some("text"));
        assert_eq!(d.line_of("default", "output"), Some(18));
        assert_eq!(d.get("default", "s3"), Some(""));
        assert_eq!(d.get("default", "max_concurrent_requests"), None);
        assert_eq!(
            d.get("profile prod", "mfa_serial"),
            Some("arn:aws:iam::123:mfa/me")
        );
        assert_eq!(
            d.get("profile prod", "REGION"),
            Some("eu-west-2 ; not a comment")
        );
        assert_eq!(d.section_lines("default"), vec![4, 17]);
        assert!(d.has_section("profile prod"));
        assert!(!d.has_section("prod"));
        assert_eq!(d.line_ending(), "\n");
    }

    #[test]
    fn bom_is_not_part_of_first_line() {
        let d = doc("\u{feff}[a]\nk = v\n");
        assert_eq!(d.section_lines("a"), vec![1]);
        assert_eq!(d.line_of("a", "k"), Some(2));
        assert_eq!(
            set("\u{feff}[a]\nk = v\n", "a", "k", "w"),
            "\u{feff}[a]\nk = w\n"
        );
        assert_eq!(set("\u{feff}", "a", "k", "w"), "\u{feff}[a]\nk = w\n");
    }

    #[test]
    fn header_names() {
        let d = doc("[profile prod]\n[ test ]\n[x] trailing ] more\n[a]b] ; c\n  [indented]\n");
        let names: Vec<_> = d.sections().into_iter().map(|s| s.name).collect();
        assert_eq!(
            names,
            ["profile prod", "test", "x] trailing", "a]b", "indented"]
        );
    }

    #[test]
    fn key_and_value_split() {
        let d =
            doc("[s]\na = x#y\nb = arn:aws:iam::1:mfa/x\nc: d = e\ne=f:g\n f\nK\t=\tv  \nempty=\n");
        assert_eq!(d.get("s", "a"), Some("x#y"));
        assert_eq!(d.get("s", "b"), Some("arn:aws:iam::1:mfa/x"));
        assert_eq!(d.get("s", "c"), Some("d = e"));
        assert_eq!(d.get("s", "e"), Some("f:g"));
        assert_eq!(d.get("s", "k"), Some("v"));
        assert_eq!(d.get("s", "empty"), Some(""));
        assert_eq!(d.sections()[0].entries[4].key, "K");
    }

    #[test]
    fn continuation_lines_belong_to_the_entry() {
        let text = "[profile x]\ns3 =\n  max_concurrent_requests = 20\n\n  # note\n  max_queue_size = 1\nregion = r\n";
        let d = doc(text);
        assert_eq!(d.get("profile x", "s3"), Some(""));
        assert_eq!(d.get("profile x", "max_queue_size"), None);
        let keys: Vec<_> = d
            .section_map("profile x")
            .into_iter()
            .map(|(k, _, _)| k)
            .collect();
        assert_eq!(keys, ["s3", "region"]);
        // Indented comment straight after a header is a comment, not an error.
        assert_eq!(doc("[a]\n  # c\n\t; d\nk = v\n").get("a", "k"), Some("v"));
    }

    #[test]
    fn keys_case_insensitive_sections_exact() {
        let d = doc("[Prod]\nAWS_Access_Key_ID = A\n[prod]\naws_access_key_id = b\n");
        assert_eq!(d.get("Prod", "aws_access_key_id"), Some("A"));
        assert_eq!(d.get("prod", "AWS_ACCESS_KEY_ID"), Some("b"));
        assert_eq!(d.get("PROD", "aws_access_key_id"), None);
        assert!(d.warnings().is_empty());
    }

    #[test]
    fn duplicates_later_wins_with_warnings() {
        let text = "[x]\na = 1\nb = 2\n[y]\na = 9\n[x]\nA = 3\n";
        let d = doc(text);
        assert_eq!(d.get("x", "a"), Some("3"));
        assert_eq!(d.line_of("x", "a"), Some(7));
        assert_eq!(
            d.section_map("x"),
            vec![
                ("a".to_string(), "3".to_string(), 7),
                ("b".to_string(), "2".to_string(), 3)
            ]
        );
        assert_eq!(
            d.warnings(),
            vec![
                Warning {
                    line: 6,
                    message: "section [x] repeats the one at line 1; later wins".into()
                },
                Warning {
                    line: 7,
                    message: "key 'A' repeats line 2 in [x]; later wins".into()
                },
            ]
        );
        let d = doc("[x]\na=1\na=2\n");
        assert_eq!(d.get("x", "a"), Some("2"));
        assert_eq!(
            d.warnings(),
            vec![Warning {
                line: 3,
                message: "key 'a' repeats line 2 in [x]; later wins".into()
            }]
        );
        assert_eq!(d.get("absent", "a"), None);
        assert!(d.section_map("absent").is_empty());
    }

    #[test]
    fn parse_errors_with_lines() {
        let cases: &[(&str, usize, &str)] = &[
            ("[a]\n[b\n", 2, "unterminated section header"),
            ("# c\n[]\n", 2, "empty section name"),
            ("[ \t]\n", 1, "empty section name"),
            ("[a]\nk = v\nnonsense\n", 3, "expected 'key = value'"),
            ("[a]\r\n= v\r\n", 2, "empty key"),
            ("[a]\n  : v\n", 2, "continuation line without a key"),
            ("\n# c\nk = v\n[a]\n", 3, "key outside any section"),
            ("nonsense\n[a]\n", 1, "key outside any section"),
            ("  indented\n[a]\n", 1, "continuation line without a key"),
            (
                "[a]\nk = v\n[b]\n  x = 1\n",
                4,
                "continuation line without a key",
            ),
        ];
        for &(text, line, message) in cases {
            assert_eq!(
                perr(text),
                ParseError {
                    line,
                    message: message.to_string()
                },
                "{text:?}"
            );
        }
        assert_eq!(
            perr("\u{feff}[a\n").to_string(),
            "line 1: unterminated section header"
        );
    }

    #[test]
    fn set_existing_key_case_insensitive_in_place() {
        let text = "[mfa]\nAWS_ACCESS_KEY_ID = x\n# keep\naws_session_token = t\n";
        assert_eq!(
            set(text, "mfa", "aws_access_key_id", "y"),
            "[mfa]\nAWS_ACCESS_KEY_ID = y\n# keep\naws_session_token = t\n"
        );
    }

    #[test]
    fn set_keeps_line_style() {
        assert_eq!(set("[a]\nk=v\n", "a", "k", "new"), "[a]\nk=new\n");
        assert_eq!(set("[a]\nK : v\n", "a", "k", "new"), "[a]\nK : new\n");
        assert_eq!(set("[a]\nk\t=\tv  \n", "a", "k", "n"), "[a]\nk\t=\tn  \n");
        assert_eq!(set("[a]\nk =\n", "a", "k", "n"), "[a]\nk = n\n");
        assert_eq!(set("[a]\nk=\n", "a", "k", "n"), "[a]\nk=n\n");
        assert_eq!(set("[a]\nk = v\n", "a", "k", ""), "[a]\nk =\n");
        assert_eq!(
            set("[a]\r\nk = v\r\nz = 1", "a", "k", "w"),
            "[a]\r\nk = w\r\nz = 1"
        );
    }

    #[test]
    fn set_drops_continuation_lines() {
        let text = "[a]\ns3 =\n  max = 1\n# c\n  y = 2\nz = 3\n";
        assert_eq!(set(text, "a", "s3", "v"), "[a]\ns3 = v\n# c\nz = 3\n");
        assert_eq!(set("[a]\ns3 =\n  x = 1", "a", "s3", "v"), "[a]\ns3 = v");
    }

    #[test]
    fn set_inserts_after_last_key_before_trailing_comments() {
        let text = "[a]\nk = 1\n  cont\n# about b\n\n[b]\nx = 1\n";
        assert_eq!(
            set(text, "a", "new", "v"),
            "[a]\nk = 1\n  cont\nnew = v\n# about b\n\n[b]\nx = 1\n"
        );
        // No keys yet: right after the header.
        assert_eq!(
            set("[a]\n# c\n\n[b]\n", "a", "k", "v"),
            "[a]\nk = v\n# c\n\n[b]\n"
        );
        // Last section, no final newline.
        assert_eq!(set("[a]\nk = 1", "a", "n", "2"), "[a]\nk = 1\nn = 2");
        assert_eq!(set("[a]", "a", "n", "2"), "[a]\nn = 2");
        assert_eq!(set("[a]\r\nk = 1", "a", "n", "2"), "[a]\r\nk = 1\r\nn = 2");
        // Empty value.
        assert_eq!(set("[a]\n", "a", "n", ""), "[a]\nn =\n");
    }

    #[test]
    fn set_appends_missing_section() {
        assert_eq!(set("", "mfa", "k", "v"), "[mfa]\nk = v\n");
        let mut d = Document::empty();
        assert_eq!(d.render(), "");
        assert!(d.sections().is_empty());
        d.set("mfa", "k", "v").unwrap();
        assert_eq!(d.render(), "[mfa]\nk = v\n");
        assert_eq!(
            set("[a]\nx = 1\n", "b", "k", "v"),
            "[a]\nx = 1\n\n[b]\nk = v\n"
        );
        assert_eq!(set("[a]\nx = 1", "b", "k", "v"), "[a]\nx = 1\n\n[b]\nk = v");
        assert_eq!(
            set("[a]\r\nx = 1\r\n", "b", "k", "v"),
            "[a]\r\nx = 1\r\n\r\n[b]\r\nk = v\r\n"
        );
        assert_eq!(
            set("[a]\r\nx = 1", "b", "k", "v"),
            "[a]\r\nx = 1\r\n\r\n[b]\r\nk = v"
        );
        assert_eq!(
            set("[a]\nx = 1\n\n", "b", "k", "v"),
            "[a]\nx = 1\n\n[b]\nk = v\n"
        );
        assert_eq!(
            set("[a]\nx = 1\n  ", "b", "k", "v"),
            "[a]\nx = 1\n  \n[b]\nk = v"
        );
        assert_eq!(set("# only\n", "b", "k", "v"), "# only\n\n[b]\nk = v\n");
    }

    #[test]
    fn line_ending_is_dominant() {
        assert_eq!(doc("").line_ending(), "\n");
        assert_eq!(doc("[a]").line_ending(), "\n");
        assert_eq!(doc("[a]\r\nk=v\r\n\n").line_ending(), "\r\n");
        assert_eq!(doc("[a]\r\nk=v\n").line_ending(), "\n");
        assert_eq!(
            set("[a]\r\nk=v\r\n\r\n[b]\n", "b", "x", "1"),
            "[a]\r\nk=v\r\n\r\n[b]\nx = 1\r\n"
        );
    }

    #[test]
    fn remove_key_outputs() {
        let text = "[a]\nk = 1\ns3 =\n  x = 1\n# c\n  y = 2\nz = 3\n[b]\nk = 9\n";
        assert_eq!(
            remove_key(text, "a", "K"),
            "[a]\ns3 =\n  x = 1\n# c\n  y = 2\nz = 3\n[b]\nk = 9\n"
        );
        assert_eq!(
            remove_key(text, "a", "s3"),
            "[a]\nk = 1\n# c\nz = 3\n[b]\nk = 9\n"
        );
        assert_eq!(remove_key("[a]\nk = 1\nz = 2", "a", "z"), "[a]\nk = 1");
        assert_eq!(remove_key("[a]\r\nk = 1\r\n", "a", "k"), "[a]\r\n");
        assert_eq!(remove_key("[a]\nk = 1", "a", "k"), "[a]");
        assert_eq!(remove_key("[a]\n\nk = 1", "a", "k"), "[a]");
        let mut d = doc(text);
        assert!(!d.remove_key("a", "nope").unwrap());
        assert!(!d.remove_key("nope", "k").unwrap());
        assert_eq!(d.render(), text);
    }

    #[test]
    fn remove_section_outputs() {
        let text = "# top\n\n[a]\nx = 1\n\n[b]\n# about b's key\ny = 2\n  cont\n\n[c]\nz = 3\n";
        assert_eq!(
            remove_section(text, "b"),
            "# top\n\n[a]\nx = 1\n\n# about b's key\n\n[c]\nz = 3\n"
        );
        assert_eq!(
            remove_section(text, "a"),
            "# top\n\n[b]\n# about b's key\ny = 2\n  cont\n\n[c]\nz = 3\n"
        );
        assert_eq!(
            remove_section(text, "c"),
            "# top\n\n[a]\nx = 1\n\n[b]\n# about b's key\ny = 2\n  cont\n"
        );
        // Simple middle / last / first.
        let simple = "[a]\nx = 1\n\n[b]\ny = 2\n\n[c]\nz = 3\n";
        assert_eq!(remove_section(simple, "b"), "[a]\nx = 1\n\n[c]\nz = 3\n");
        assert_eq!(remove_section(simple, "c"), "[a]\nx = 1\n\n[b]\ny = 2\n");
        assert_eq!(remove_section(simple, "a"), "[b]\ny = 2\n\n[c]\nz = 3\n");
        // Blank lines that were already adjacent are left alone.
        assert_eq!(
            remove_section("[a]\nx=1\n\n\n[b]\ny=2\n[c]\n", "b"),
            "[a]\nx=1\n\n\n[c]\n"
        );
        // No final newline stays that way; CRLF kept.
        assert_eq!(
            remove_section("[a]\r\nx = 1\r\n\r\n[b]\r\ny = 2", "b"),
            "[a]\r\nx = 1"
        );
        assert_eq!(remove_section("[a]\nx = 1", "a"), "");
        assert_eq!(remove_section("[a]\nx = 1\n", "a"), "");
        assert_eq!(
            remove_section("\u{feff}[a]\n# keep\n", "a"),
            "\u{feff}# keep\n"
        );
        let mut d = doc(simple);
        assert!(!d.remove_section("zzz").unwrap());
        assert_eq!(d.render(), simple);
    }

    #[test]
    fn edit_errors_name_both_lines() {
        let text = "[x]\na = 1\n[y]\nk = 1\n# c\nK = 2\n[x]\nb = 2\n";
        let dup_section = EditError::DuplicateSection {
            section: "x".into(),
            first: 1,
            second: 7,
        };
        let dup_key = EditError::DuplicateKey {
            section: "y".into(),
            key: "k".into(),
            first: 4,
            second: 6,
        };
        let mut d = doc(text);
        assert_eq!(d.set("x", "a", "2"), Err(dup_section.clone()));
        assert_eq!(d.remove_key("x", "zz"), Err(dup_section.clone()));
        assert_eq!(d.remove_section("x"), Err(dup_section.clone()));
        assert_eq!(d.set("y", "k", "3"), Err(dup_key.clone()));
        assert_eq!(d.remove_key("y", "k"), Err(dup_key.clone()));
        assert_eq!(d.render(), text);
        assert_eq!(
            dup_section.to_string(),
            "section [x] appears more than once (lines 1 and 7)"
        );
        assert_eq!(
            dup_key.to_string(),
            "key 'k' appears more than once in section [y] (lines 4 and 6)"
        );
        // Other keys of [y] are still editable.
        d.set("y", "other", "o").unwrap();
        assert_eq!(d.get("y", "other"), Some("o"));
    }

    #[test]
    fn repeated_key_names_the_first_repeat() {
        let text = "[a]\nx = 1\nK = 1\ny = 2\nk = 2\nx = 3\n[b]\nk = 1\n";
        for d in [doc(text), Document::read(text).unwrap()] {
            assert_eq!(
                d.repeated_key("a", &["k", "x"]),
                Some(("k".to_string(), 3, 5))
            );
            assert_eq!(d.repeated_key("a", &["y"]), None);
            assert_eq!(d.repeated_key("b", &["k"]), None);
            assert_eq!(d.repeated_key("none", &["k"]), None);
        }
    }

    /// A real check in every build (not a `debug_assert!`): nothing can
    /// inject a line into a file, and the document is left as it was.
    #[test]
    fn set_refuses_control_characters_in_every_build() {
        let mut d = doc("[a]\nk = v\n");
        for bad in ["x\ny", "x\ry", "x\0y", "x\u{1b}y"] {
            assert!(
                matches!(d.set("a", "k", bad), Err(EditError::Unwritable { .. })),
                "{bad:?}"
            );
        }
        assert!(d.set("a\n[evil]", "k", "v").is_err());
        assert!(d.set("a", "k\nx", "v").is_err());
        assert_eq!(d.render(), "[a]\nk = v\n");
    }

    mod props {
        use super::*;
        use proptest::prelude::*;
        use proptest::sample::{select, Index};

        const NAMES: &[&str] = &["default", "profile prod", "prod", "Prod", "x-mfa"];
        const KEYS: &[&str] = &[
            "a",
            "A",
            "b",
            "aws_access_key_id",
            "AWS_ACCESS_KEY_ID",
            "s3",
            "region",
        ];
        const VALUES: &[&str] = &[
            "",
            "1",
            "x#y",
            "arn:aws:iam::1:mfa/x",
            "a=b",
            "v ; w",
            "us-east-1",
            "é ü",
        ];

        fn blank() -> impl Strategy<Value = Vec<String>> {
            select(vec!["", " ", "\t", "  \t"]).prop_map(|s| vec![s.to_string()])
        }

        fn comment() -> impl Strategy<Value = Vec<String>> {
            select(vec![
                "# c",
                ";c",
                "  # indented",
                "\t; x = y",
                "#",
                "# [not a header]",
            ])
            .prop_map(|s| vec![s.to_string()])
        }

        fn header() -> impl Strategy<Value = String> {
            (
                select(NAMES),
                select(vec!["[{}]", "[ {} ]", "[{}] ; trailing", "[{}]  ", " [{}]"]),
            )
                .prop_map(|(n, style)| style.replace("{}", n))
        }

        fn key_entry() -> impl Strategy<Value = Vec<String>> {
            (
                select(KEYS),
                select(vec![" = ", "=", " =", "= ", ": ", " : ", ":", "\t=\t"]),
                select(VALUES),
                proptest::collection::vec(
                    select(vec![
                        "  max_concurrent_requests = 20",
                        "\tx",
                        "    signature_version = s3v4",
                        "  # comment inside",
                        "",
                    ]),
                    0..3,
                ),
            )
                .prop_map(|(k, sep, v, conts)| {
                    let mut lines = vec![format!("{k}{sep}{v}")];
                    lines.extend(conts.into_iter().map(String::from));
                    lines
                })
        }

        fn body_item() -> impl Strategy<Value = Vec<String>> {
            prop_oneof![3 => key_entry(), 1 => blank(), 1 => comment()]
        }

        /// Lines from the grammar: a preamble, then sections.
        fn grammar_lines(
            header: impl Strategy<Value = String>,
            item: impl Strategy<Value = Vec<String>>,
        ) -> impl Strategy<Value = Vec<String>> {
            let preamble = proptest::collection::vec(prop_oneof![blank(), comment()], 0..3);
            let sections =
                proptest::collection::vec((header, proptest::collection::vec(item, 0..5)), 0..6);
            (preamble, sections).prop_map(|(pre, secs)| {
                let mut lines: Vec<String> = pre.into_iter().flatten().collect();
                for (h, body) in secs {
                    lines.push(h);
                    lines.extend(body.into_iter().flatten());
                }
                lines
            })
        }

        /// Lines joined with random LF/CRLF endings, maybe a BOM, maybe no
        /// final newline.
        fn assemble(lines: impl Strategy<Value = Vec<String>>) -> impl Strategy<Value = String> {
            lines
                .prop_flat_map(|lines| {
                    let n = lines.len();
                    (
                        Just(lines),
                        proptest::collection::vec(select(vec!["\n", "\r\n"]), n),
                        any::<bool>(),
                        any::<bool>(),
                    )
                })
                .prop_map(|(lines, endings, bom, final_newline)| {
                    let mut text = String::new();
                    if bom {
                        text.push(BOM);
                    }
                    let n = lines.len();
                    for (i, (line, eol)) in lines.iter().zip(endings).enumerate() {
                        text.push_str(line);
                        if i + 1 < n || final_newline {
                            text.push_str(eol);
                        }
                    }
                    text
                })
        }

        /// Random document text built from the line grammar.
        fn document() -> impl Strategy<Value = String> {
            assemble(grammar_lines(header(), body_item()))
        }

        /// Lines legal in some places only, or odd: Unicode whitespace
        /// (a continuation), a lone CR inside a value, names that differ
        /// by inner whitespace, a `[` inside a value.
        fn odd_item() -> impl Strategy<Value = Vec<String>> {
            select(vec![
                "\u{a0}x = 1",
                "k = a\rb",
                "key: value",
                "KEY = v",
                "x = [not a header]",
                "region = prod",
                "a = 1 ",
                "[profile  prod]",
                "[profile\tprod]",
                "[ Prod ]",
            ])
            .prop_map(|s| vec![s.to_string()])
        }

        /// Malformed lines, each an error wherever it stands.
        const BAD: &[&str] = &["nonsense", "[unterminated", "[]", "= v", "[ ]", " : x"];

        /// [`document`] with odd lines, and now and then one malformed line
        /// (anywhere, so also before the first section or after a header).
        fn messy_document() -> impl Strategy<Value = String> {
            let item = prop_oneof![4 => body_item(), 1 => odd_item()];
            let lines = (
                grammar_lines(header(), item),
                proptest::option::weighted(0.2, (select(BAD), any::<Index>())),
            )
                .prop_map(|(mut lines, bad)| {
                    if let Some((line, at)) = bad {
                        let at = at.index(lines.len() + 1);
                        lines.insert(at, line.to_string());
                    }
                    lines
                });
            assemble(lines)
        }

        fn rendered_lines(d: &Document) -> Vec<String> {
            d.lines
                .iter()
                .map(|l| format!("{}{}", l.text, l.ending))
                .collect()
        }

        /// A section name that appears exactly once, with its line range.
        fn pick_unique(d: &Document, pick: &Index) -> Option<(String, usize, usize)> {
            let sections = d.sections();
            let unique: Vec<&Section> = sections
                .iter()
                .filter(|s| sections.iter().filter(|t| t.name == s.name).count() == 1)
                .collect();
            if unique.is_empty() {
                return None;
            }
            let s = unique[pick.index(unique.len())];
            let h = s.line - 1;
            Some((s.name.clone(), h, d.section_end(h)))
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(256))]

            #[test]
            fn round_trip(text in document()) {
                let d = Document::parse(&text).unwrap();
                prop_assert_eq!(d.render(), text);
            }

            #[test]
            fn edits_stay_inside_the_section(
                text in document(),
                pick in any::<Index>(),
                key in select(KEYS),
                value in select(vec!["new", "", "arn:aws:iam::123:mfa/u", "x = y", "a:b", "#x"]),
                remove in any::<bool>(),
            ) {
                let d = Document::parse(&text).unwrap();
                let Some((name, h, end)) = pick_unique(&d, &pick) else {
                    return Ok(());
                };
                let old = rendered_lines(&d);
                let matches = d.sections()
                    .iter()
                    .filter(|s| s.name == name)
                    .flat_map(|s| s.entries.iter())
                    .filter(|e| e.key.eq_ignore_ascii_case(key))
                    .count();
                let mut e = d.clone();
                let result = if remove {
                    e.remove_key(&name, key).map(|_| ())
                } else {
                    e.set(&name, key, value)
                };
                if matches > 1 {
                    let refused = matches!(result, Err(EditError::DuplicateKey { .. }));
                    prop_assert!(refused);
                    prop_assert_eq!(&e, &d);
                    return Ok(());
                }
                prop_assert!(result.is_ok());
                let new = rendered_lines(&e);
                prop_assert_eq!(&new[..h], &old[..h]);
                let tail = old.len() - end;
                prop_assert!(new.len() >= tail);
                prop_assert_eq!(&new[new.len() - tail..], &old[end..]);
                let rendered = e.render();
                let again = Document::parse(&rendered).unwrap();
                prop_assert_eq!(&again, &e);
                let expected = if remove { None } else { Some(value) };
                prop_assert_eq!(again.get(&name, key), expected);
                prop_assert_eq!(e.has_final_newline(), d.has_final_newline());
            }

            #[test]
            fn remove_section_keeps_comments_and_other_sections(
                text in document(),
                pick in any::<Index>(),
            ) {
                let d = Document::parse(&text).unwrap();
                let Some((name, _, _)) = pick_unique(&d, &pick) else {
                    return Ok(());
                };
                let mut e = d.clone();
                prop_assert!(e.remove_section(&name).unwrap());
                let again = Document::parse(&e.render()).unwrap();
                prop_assert_eq!(&again, &e);
                prop_assert!(!e.has_section(&name));
                let comments = |doc: &Document| -> Vec<String> {
                    doc.lines.iter().filter(|l| l.kind == Kind::Comment).map(|l| l.text.to_string()).collect()
                };
                prop_assert_eq!(comments(&e), comments(&d));
                let kv = |doc: &Document, name: &str| -> Vec<(String, String)> {
                    doc.section_map(name).into_iter().map(|(k, v, _)| (k, v)).collect()
                };
                for s in d.sections() {
                    if s.name != name {
                        prop_assert_eq!(kv(&e, &s.name), kv(&d, &s.name));
                    }
                }
                prop_assert!(d.has_final_newline() || !e.has_final_newline() || e.lines.is_empty());
            }

            /// The read path (`read_owned`: header index, sections parsed on
            /// demand) answers every reader exactly as the full parse does,
            /// fails the same way on the same line, and edits the same way.
            #[test]
            fn read_path_agrees_with_full_parse(
                text in messy_document(),
                key in select(KEYS),
                value in select(VALUES),
                pick in any::<Index>(),
                remove in any::<bool>(),
            ) {
                let (full, read) = (Document::parse(&text), Document::read(&text));
                let (full, read) = match (full, read) {
                    (Err(a), Err(b)) => {
                        prop_assert_eq!(a, b);
                        return Ok(());
                    }
                    (Ok(f), Ok(r)) => (f, r),
                    (f, r) => {
                        prop_assert!(false, "full: {:?}, read: {:?}", f.err(), r.err());
                        unreachable!()
                    }
                };
                prop_assert!(read.lazy.is_some() && full.lazy.is_none());
                prop_assert_eq!(read.render(), text.clone());
                prop_assert_eq!(read.sections(), full.sections());
                prop_assert_eq!(read.headers(), full.headers());
                prop_assert_eq!(read.warnings(), full.warnings());
                prop_assert_eq!(read.line_ending(), full.line_ending());
                for line in 0..text.lines().count() + 2 {
                    prop_assert_eq!(read.header_name_at(line), full.header_name_at(line));
                }
                let mut names: Vec<String> = NAMES.iter().map(|n| n.to_string()).collect();
                names.extend(full.sections().into_iter().map(|s| s.name));
                names.push("absent".into());
                let keys: Vec<String> = KEYS
                    .iter()
                    .flat_map(|k| [k.to_string(), k.to_uppercase(), k.to_lowercase()])
                    .chain(["key".to_string(), "K".to_string(), "absent".to_string()])
                    .collect();
                for name in &names {
                    prop_assert_eq!(read.has_section(name), full.has_section(name));
                    prop_assert_eq!(read.section_lines(name), full.section_lines(name));
                    prop_assert_eq!(read.section_map(name), full.section_map(name));
                    prop_assert_eq!(read.entries(name), full.entries(name));
                    for k in &keys {
                        prop_assert_eq!(read.get(name, k), full.get(name, k));
                        prop_assert_eq!(read.line_of(name, k), full.line_of(name, k));
                    }
                }
                for k in &keys {
                    for v in VALUES.iter().chain(&["prod", "x", "1 ", "v", "a\rb", "\n"]) {
                        prop_assert_eq!(
                            read.sections_with_value(k, v),
                            full.sections_with_value(k, v),
                            "key {:?} value {:?}", k, v
                        );
                    }
                }
                prop_assert!(read == full);
                // An edit of the read form: the full parse, then the same edit.
                let name = &names[pick.index(names.len())];
                let (mut r, mut f) = (read.clone(), full.clone());
                if remove {
                    prop_assert_eq!(r.remove_key(name, key), f.remove_key(name, key));
                } else {
                    prop_assert_eq!(r.set(name, key, value), f.set(name, key, value));
                }
                prop_assert!(r.lazy.is_none());
                prop_assert_eq!(&r, &f);
                prop_assert_eq!(r.render(), f.render());
                prop_assert_eq!(read.render(), text);
            }
        }
    }
}
