//! The read path: [`Document::read_owned`] (what `store::load_file` uses).
//!
//! Owns [`Lazy`], the read form of a document: one scan that checks every
//! line exactly as the full parse does (same error, same line) and indexes
//! only the section headers, with the warnings; a section's key lines are
//! parsed the first time they are read. Never edits (the first edit of a
//! read document does the full parse, `Document::materialize` in `mod.rs`)
//! and never answers differently from the full parse: the property test
//! `tests::props::read_path_agrees_with_full_parse` holds it to that. The
//! readers that consult it are in `query.rs`.
//!
//! The scan's fast paths (issue 17), each leaving every other line to
//! `classify_raw`: the usual key line (ASCII letter, digit or `_` first, a
//! separator before the line's end), the usual header (`[name]` ending the
//! line, no space inside), blank and comment lines. Line ends and
//! separators come from 64-byte block masks (`line::Marks`); a key is
//! compared with its section's earlier keys only when one has its length.
//! Measured (callgrind, cached `test -- /bin/true`, 10,000 profiles, 2.3 MB):
//! `read_owned` 30.8M -> 15.1M instructions; what is left is ~100
//! instructions a line plus the header table (2.5M, a hash of each of the
//! 20,000 names, which finds repeated sections anywhere).

use super::line::{
    ascii_space, classify_raw, dialect, header_spaced, indent_of, is_key_like, lone_cr,
    split_lines, trim_end, Marks, Raw, BOM, LONE_CR,
};
use super::{Document, ParseError, Warning};

/// No header has this index.
pub(super) const NONE: usize = usize::MAX;

/// One section header of a read document; byte offsets into its text (`u32`:
/// a larger text takes the full parse), 24 bytes a header.
#[derive(Debug, Clone, Copy)]
pub(super) struct Hdr {
    /// The trimmed name.
    name: (u32, u32),
    /// 1-based line of the header.
    line: u32,
    /// Start of the line after the header.
    pub(super) body: u32,
    /// Start of the next header line, or the end of the text.
    end: u32,
    /// The next header of the same name, or `u32::MAX`.
    next: u32,
}

impl Hdr {
    pub(super) fn line(&self) -> usize {
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
pub(super) struct Lazy {
    pub(super) src: std::sync::Arc<String>,
    pub(super) headers: Vec<Hdr>,
    /// `(first, last)` header of each name, hashed by name (the names stay in
    /// `src`: no copy of them is made).
    table: hashbrown::HashTable<(u32, u32)>,
    pub(super) warnings: Vec<Warning>,
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

impl Document {
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
}

/// The first bytes of the usual key line (ASCII letters, digits, `_`).
static KEY_START: [bool; 256] = {
    let mut t = [false; 256];
    let mut b = 0;
    while b < 256 {
        t[b] = (b as u8).is_ascii_alphanumeric() || b == b'_' as usize;
        b += 1;
    }
    t
};

/// The warning for a key its section already had (as `Document::warnings`
/// words it); out of the scan's loop, which rarely needs it.
#[cold]
#[inline(never)]
fn key_repeats(key: &str, before: usize, section: &str, line: usize) -> Warning {
    Warning {
        line,
        message: format!("key '{key}' repeats line {before} in [{section}]; later wins"),
    }
}

/// The end of the line starting at `start` (before its `\r\n` or `\n`).
fn marks_free_line_end(bytes: &[u8], start: usize) -> usize {
    let nl = memchr::memchr(b'\n', &bytes[start..]).map_or(bytes.len(), |j| start + j);
    if nl > start && bytes[nl - 1] == b'\r' {
        nl - 1
    } else {
        nl
    }
}

impl Lazy {
    /// Checks every line of `src` (the same errors, at the same line, as the
    /// full parse) and indexes its section headers; collects the warnings.
    fn scan(src: std::sync::Arc<String>) -> Result<Lazy, ParseError> {
        Lazy::scan_text(&src, src.clone())
    }

    fn scan_text<'a>(text: &'a str, src: std::sync::Arc<String>) -> Result<Lazy, ParseError> {
        let bytes = text.as_bytes();
        let mut pos = if text.starts_with(BOM) {
            BOM.len_utf8()
        } else {
            0
        };
        if let Some(line) = lone_cr(&text[pos..]) {
            return Err(ParseError {
                line,
                message: LONE_CR.to_string(),
            });
        }
        // No counting pass over the text for the capacity: the vector grows
        // (a header is a line of 4 or more in a usual file).
        let mut headers: Vec<Hdr> = Vec::with_capacity(bytes.len() / 128);
        let mut warnings = Vec::new();
        // Keys of the current section occurrence: (key, line).
        let mut seen: Vec<(&'a str, usize)> = Vec::new();
        let mut in_section = false;
        // The indentation of the section's last key line, if any (what a
        // deeper-indented line continues).
        let mut key_indent: Option<usize> = None;
        // The last key line: where it starts, its line, and whether a
        // continuation of it was seen (for the dialect warnings).
        let (mut key_start, mut key_line, mut key_continued) = (0usize, 0usize, false);
        let mut line = 0;
        // A key line of the current section: warns if the section already
        // had the key (as `Document::warnings` words it).
        let note_key = |seen: &mut Vec<(&'a str, usize)>,
                        warnings: &mut Vec<Warning>,
                        headers: &[Hdr],
                        key: &'a str,
                        line: usize| {
            match seen.iter_mut().find(|(k, _)| k.eq_ignore_ascii_case(key)) {
                Some(prev) => {
                    let h = headers.last().expect("a key line is inside a section");
                    let section = &text[h.name.0 as usize..h.name.1 as usize];
                    warnings.push(key_repeats(key, prev.1, section, line));
                    prev.1 = line;
                }
                None => seen.push((key, line)),
            }
        };
        let new_header =
            |headers: &mut Vec<Hdr>, pos: usize, name: (usize, usize), line: usize, body: usize| {
                if let Some(last) = headers.last_mut() {
                    last.end = pos as u32;
                }
                headers.push(Hdr {
                    name: (name.0 as u32, name.1 as u32),
                    line: line as u32,
                    body: body as u32,
                    end: bytes.len() as u32,
                    next: u32::MAX,
                });
            };
        let mut marks = Marks::new(bytes);
        while pos < bytes.len() {
            let first = bytes[pos];
            // The usual key line (`name = value`, starting with an ASCII
            // letter, digit or `_` inside a section): the key is found by
            // one scan up to its separator, the rest of the line by a
            // newline search, with no second pass over the line. Anything
            // else (and a key line without a separator) takes the general
            // path below, which classifies it as the full parse does.
            if in_section && KEY_START[first as usize] {
                if let Some(sep) = marks.key_separator(pos) {
                    line += 1;
                    key_indent = Some(0);
                    (key_start, key_line, key_continued) = (pos, line, false);
                    let key = trim_end(&text[pos..sep]);
                    // Keys of another length cannot be the same key: the
                    // usual section needs no comparison of text.
                    if seen.iter().all(|(k, _)| k.len() != key.len()) {
                        seen.push((key, line));
                    } else {
                        note_key(&mut seen, &mut warnings, &headers, key, line);
                    }
                    pos = marks.line_end(sep + 1) + 1;
                    continue;
                }
            }
            match first {
                // Blank and comment lines: nothing to check but where they end.
                b'\n' => {
                    line += 1;
                    pos += 1;
                    continue;
                }
                b'#' | b';' => {
                    line += 1;
                    pos = marks.line_end(pos) + 1;
                    continue;
                }
                // The usual header (`[name]`, ending the line, with no space
                // inside the brackets): its name is the inside. Any other
                // header line takes the general path.
                b'[' => {
                    let nl = marks.line_end(pos);
                    let end = if nl > pos && bytes[nl - 1] == b'\r' {
                        nl - 1
                    } else {
                        nl
                    };
                    let plain = |b: u8| b < 0x80 && !ascii_space(b);
                    if end >= pos + 3
                        && bytes[end - 1] == b']'
                        && plain(bytes[pos + 1])
                        && plain(bytes[end - 2])
                    {
                        line += 1;
                        let body = (nl + 1).min(bytes.len());
                        new_header(&mut headers, pos, (pos + 1, end - 1), line, body);
                        in_section = true;
                        key_indent = None;
                        seen.clear();
                        pos = nl + 1;
                        continue;
                    }
                }
                _ => {}
            }
            let (content_end, next) = match marks.line_end(pos) {
                nl if nl == bytes.len() => (bytes.len(), bytes.len()),
                nl => {
                    let end = if nl > pos && bytes[nl - 1] == b'\r' {
                        nl - 1
                    } else {
                        nl
                    };
                    (end, nl + 1)
                }
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
            match classify_raw(content, key_indent).map_err(err)? {
                Raw::Header(start, end) => {
                    if key_indent.is_some_and(|k| indent_of(content) > k) {
                        let end = marks_free_line_end(bytes, key_start);
                        let k_text = &text[key_start..end];
                        if let Ok(Raw::Key { key, .. }) = classify_raw(k_text, None) {
                            warnings.push(Warning {
                                line,
                                message: dialect::header_continues(&k_text[key.0..key.1], key_line),
                            });
                        }
                    }
                    new_header(&mut headers, pos, (pos + start, pos + end), line, next);
                    in_section = true;
                    key_indent = None;
                    seen.clear();
                    if header_spaced(content) {
                        warnings.push(Warning {
                            line,
                            message: dialect::spaced_header(&content[start..end]),
                        });
                    }
                }
                Raw::Key { key, .. } => {
                    key_indent = Some(indent_of(&content[..key.0]));
                    (key_start, key_line, key_continued) = (pos, line, false);
                    note_key(
                        &mut seen,
                        &mut warnings,
                        &headers,
                        &content[key.0..key.1],
                        line,
                    );
                }
                Raw::Continuation => {
                    // The key line it continues, read again (rare).
                    let end = marks_free_line_end(bytes, key_start);
                    let k_text = &text[key_start..end];
                    if let Ok(Raw::Key { key, value }) = classify_raw(k_text, None) {
                        let k = &k_text[key.0..key.1];
                        let message = if value.0 == value.1 {
                            (!content.contains('=')).then(|| dialect::block_line(k, key_line))
                        } else if !key_continued {
                            Some(dialect::continuation(k, key_line))
                        } else {
                            None
                        };
                        key_continued = true;
                        if let Some(message) = message {
                            warnings.push(Warning { line, message });
                        }
                    }
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
            src,
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
        if lazy.src.starts_with(BOM) {
            more.push(Warning {
                line: 1,
                message: dialect::bom(),
            });
        }
        for h in lazy.occurrences_of("DEFAULT").collect::<Vec<_>>() {
            more.push(Warning {
                line: lazy.headers[h].line(),
                message: dialect::default_section(),
            });
        }
        lazy.warnings.extend(more);
        lazy.warnings
            .sort_by(|a, b| (a.line, &a.message).cmp(&(b.line, &b.message)));
        Ok(lazy)
    }

    pub(super) fn name(&self, h: usize) -> &str {
        let (start, end) = self.headers[h].name;
        &self.src[start as usize..end as usize]
    }

    /// The first header named `name`.
    pub(super) fn first(&self, name: &str) -> Option<usize> {
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

    pub(super) fn occurrences_of<'a>(&'a self, name: &str) -> impl Iterator<Item = usize> + 'a {
        self.first(name)
            .into_iter()
            .flat_map(|f| self.occurrences(f))
    }

    /// `(line, key, value)` of the key lines under header `h`.
    pub(super) fn keys(&self, h: usize) -> impl Iterator<Item = (usize, &str, &str)> + '_ {
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
        let mut key_indent: Option<usize> = None;
        split_lines(&self.src[hdr.body as usize..hdr.end as usize])
            .enumerate()
            .filter_map(
                |(j, (content, _))| match classify_raw(content, key_indent) {
                    Ok(Raw::Key { key, value }) => {
                        key_indent = Some(indent_of(&content[..key.0]));
                        let at = (content.as_ptr() as usize - base) as u32;
                        Some(KeyAt {
                            line: hdr.line + 1 + j as u32,
                            key: (at + key.0 as u32, at + key.1 as u32),
                            value: (at + value.0 as u32, at + value.1 as u32),
                        })
                    }
                    _ => None,
                },
            )
            .collect()
    }

    /// The header on `line`, if that line is one.
    pub(super) fn header_at(&self, line: usize) -> Option<usize> {
        self.headers.binary_search_by_key(&line, |h| h.line()).ok()
    }

    pub(super) fn body(&self) -> &str {
        self.src.strip_prefix(BOM).unwrap_or(&self.src)
    }
}
