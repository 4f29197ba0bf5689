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
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Document {
    bom: bool,
    lines: Vec<Line>,
    /// Section name → indices of its header lines, so a lookup reads one
    /// section instead of the whole file (a credentials file may hold
    /// thousands). Rebuilt after every edit.
    index: rustc_hash::FxHashMap<String, Vec<usize>>,
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

fn is_key_like(text: &str) -> bool {
    match text.chars().next() {
        None => false,
        Some(c) if c.is_whitespace() => false,
        Some(c) => !matches!(c, '#' | ';' | '['),
    }
}

/// Context-free classification of one line's content.
fn classify(text: &str) -> Result<Kind, &'static str> {
    let body = text.trim_start();
    if body.is_empty() {
        return Ok(Kind::Blank);
    }
    if body.starts_with('#') || body.starts_with(';') {
        return Ok(Kind::Comment);
    }
    if let Some(rest) = body.strip_prefix('[') {
        let close = rest.rfind(']').ok_or("unterminated section header")?;
        let name = rest[..close].trim();
        if name.is_empty() {
            return Err("empty section name");
        }
        return Ok(Kind::Header {
            name: name.to_string(),
        });
    }
    if body.len() != text.len() {
        return Ok(Kind::Continuation);
    }
    let sep = text.find(['=', ':']).ok_or("expected 'key = value'")?;
    let key = text[..sep].trim();
    if key.is_empty() {
        return Err("empty key");
    }
    let key_start = text.len() - text.trim_start().len();
    let after = &text[sep + 1..];
    let value = after.trim();
    let value_start = sep + 1 + (after.len() - after.trim_start().len());
    Ok(Kind::Key {
        key: (key_start as u32, (key_start + key.len()) as u32),
        value: (value_start as u32, (value_start + value.len()) as u32),
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
        let src = std::sync::Arc::new(text);
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
        }
    }

    /// The text of the document; byte-identical to the parsed input when unchanged.
    pub fn render(&self) -> String {
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
        self.lines
            .iter()
            .enumerate()
            .filter_map(|(i, l)| match &l.kind {
                Kind::Header { name } => Some((name.as_str(), i + 1)),
                _ => None,
            })
            .collect()
    }

    /// The name of the section whose header is on `line` (1-based).
    pub fn header_name_at(&self, line: usize) -> Option<&str> {
        match &self.lines.get(line.checked_sub(1)?)?.kind {
            Kind::Header { name } => Some(name),
            _ => None,
        }
    }

    pub fn has_section(&self, name: &str) -> bool {
        self.index.contains_key(name)
    }

    /// Header line of each occurrence of section `name`.
    pub fn section_lines(&self, name: &str) -> Vec<usize> {
        self.header_indices(name)
            .into_iter()
            .map(|i| i + 1)
            .collect()
    }

    /// Later-wins value of `key` (case-insensitive) across all occurrences of section `name`.
    pub fn get(&self, name: &str, key: &str) -> Option<&str> {
        let idx = self.winning(name, key)?;
        let line = &self.lines[idx];
        match &line.kind {
            Kind::Key { value, .. } => Some(&line.text[value.0 as usize..value.1 as usize]),
            _ => None,
        }
    }

    /// Later-wins (key, value, line) of every distinct key of section `name`,
    /// merged over duplicates, in first-seen order; key returned lowercased.
    pub fn section_map(&self, name: &str) -> Vec<(String, String, usize)> {
        let mut out: Vec<(String, String, usize)> = Vec::new();
        let mut pos: HashMap<String, usize> = HashMap::new();
        for (i, key, value) in self.keys_of(name) {
            let lower = key.to_ascii_lowercase();
            match pos.get(&lower) {
                Some(&p) => out[p] = (lower, value.to_string(), i + 1),
                None => {
                    pos.insert(lower.clone(), out.len());
                    out.push((lower, value.to_string(), i + 1));
                }
            }
        }
        out
    }

    /// True when a comment line sits between a header of section `name` and
    /// the next header (so removing the section would orphan it).
    pub fn section_has_comments(&self, name: &str) -> bool {
        self.header_indices(name).into_iter().any(|h| {
            self.lines[h + 1..self.section_end(h)]
                .iter()
                .any(|l| l.kind == Kind::Comment)
        })
    }

    /// Line of the winning occurrence of `key` in section `name`.
    pub fn line_of(&self, name: &str, key: &str) -> Option<usize> {
        self.winning(name, key).map(|i| i + 1)
    }

    /// Lines (1-based) of every occurrence of `key` in section `name`, in file
    /// order: more than one means an edit of that key would be refused.
    pub fn key_lines(&self, name: &str, key: &str) -> Vec<usize> {
        self.keys_of(name)
            .filter(|(_, k, _)| k.eq_ignore_ascii_case(key))
            .map(|(i, _, _)| i + 1)
            .collect()
    }

    /// Repeated sections and keys (each repeat names the previous occurrence),
    /// in line order. One pass over the lines: keys are compared within their
    /// section (and across the occurrences of a repeated section only), so a
    /// large file stays cheap on the cached path.
    pub fn warnings(&self) -> Vec<Warning> {
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
    fn keys_of<'a>(&'a self, name: &'a str) -> impl Iterator<Item = (usize, &'a str, &'a str)> {
        let headers: &[usize] = self.index.get(name).map(Vec::as_slice).unwrap_or(&[]);
        headers.iter().flat_map(move |&h| {
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
        })
    }

    fn winning(&self, name: &str, key: &str) -> Option<usize> {
        self.keys_of(name)
            .filter(|(_, k, _)| k.eq_ignore_ascii_case(key))
            .map(|(i, _, _)| i)
            .last()
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

        /// Random document text built from the line grammar.
        fn document() -> impl Strategy<Value = String> {
            let preamble = proptest::collection::vec(prop_oneof![blank(), comment()], 0..3);
            let sections = proptest::collection::vec(
                (header(), proptest::collection::vec(body_item(), 0..5)),
                0..5,
            );
            (preamble, sections)
                .prop_map(|(pre, secs)| {
                    let mut lines: Vec<String> = pre.into_iter().flatten().collect();
                    for (h, body) in secs {
                        lines.push(h);
                        lines.extend(body.into_iter().flatten());
                    }
                    lines
                })
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
        }
    }
}
