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
//!   a line. It is warned about at line 1: Python reads it as a character of
//!   the first line and configparser refuses the whole file (botocore:
//!   "Unable to parse config file"), whatever follows it.
//! - Lines end with `\n` or `\r\n`; each line keeps its own ending, so mixed
//!   endings survive. The last line may have no ending, and keeps having none
//!   after any edit (the line that used to be last gains an ending, the new
//!   last line has none). A lone `\r` (not before `\n`) with text after it
//!   on its line is refused ("a carriage return (CR) inside the line"):
//!   Python reads the files with universal newlines, so botocore ends the
//!   line there. One followed only by whitespace is allowed (botocore sees
//!   a blank line).
//! - Whitespace is Python's (`str.isspace`): Rust's `char::is_whitespace`
//!   plus `\x1c`-`\x1f`, trimmed from keys, values and names as
//!   configparser strips them.
//! - Blank line: only whitespace. Comment line: first non-whitespace char is
//!   `#` or `;`. Comments and blank lines may appear anywhere, including
//!   before the first section; an indented comment (`  # x`) is a comment.
//! - Section header: first non-whitespace char is `[`. It must contain a `]`
//!   (else "unterminated section header"); the name is the text between the
//!   first `[` and the *last* `]`, trimmed (`[profile prod]` is
//!   `profile prod`, `[ test ]` is `test`, warned: configparser keeps the
//!   spaces); text after the last `]` is ignored. An empty name is "empty
//!   section name". The header rule is checked before the continuation
//!   rule, so an indented `  [x]` is a header (configparser: a continuation
//!   when it is indented deeper than the key before it; warned), and no edit
//!   can turn a header into a continuation. `[DEFAULT]` is a section of its
//!   own (configparser copies its keys into every section; warned).
//! - Key line: non-blank, non-comment, inside a section, and not a
//!   continuation (below); it may be indented (configparser reads
//!   `[p]\n  region = x` as a key). Key = text before the first `=` or `:`
//!   (whichever comes first),
//!   trimmed; value = the rest, trimmed. No inline comments: `a = x#y` has
//!   value `x#y`, `a = arn:aws:iam::1:mfa/x` has value
//!   `arn:aws:iam::1:mfa/x`. Errors: no separator is "expected 'key =
//!   value'", empty key is "empty key", a key line before any section is "key
//!   outside any section" (this one wins over the other two).
//! - Continuation line: non-blank, non-comment, not a header, indented
//!   deeper (in characters) than the most recent key line of the same
//!   section, as in configparser: blank and comment lines between the key
//!   and its continuation lines do not end the entry (AWS `s3 =` sub-blocks
//!   may contain them). It is not a key of the section and does not change
//!   the key's value, which is the trimmed first-line value (botocore
//!   appends it: warned when the first-line value is not empty; a line of a
//!   `k =` block without `=` is warned too, botocore refuses the file).
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
//!
//! # Where things are
//!
//! - `mod.rs` (this file): the public types, [`Document`], the full parse
//!   into lines ([`Document::parse`]) and the switch of a read document to
//!   it before an edit.
//! - `line.rs`: what one line is (`classify_raw`, `LineKind`, `Line`), shared
//!   by both forms.
//! - `lazy.rs`: the read path, [`Document::read_owned`] (what
//!   `store::load_file` uses): one checking scan (`Lazy::scan`), a header
//!   index, a section's keys parsed on first read (`Lazy::parse_keys`).
//! - `query.rs`: every reader (`get`, `section_map`, `warnings`, ...), each
//!   answering from either form (the read form's branch of each, and
//!   `keys_of`, are the rest of the read path).
//! - `edit.rs`: `set`, `remove_key`, `remove_section` (line model only).
//! - `tests.rs`, `tests/props.rs`: unit and property tests.

mod edit;
mod lazy;
mod line;
mod query;
#[cfg(test)]
mod tests;

use lazy::Lazy;
use line::{
    classify, indent_of, is_key_like, lone_cr, split_lines, Line, LineKind, Text, BOM, LONE_CR,
};

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

impl Document {
    /// Parses `text`; fails on the first malformed line.
    pub fn parse(text: &str) -> Result<Document, ParseError> {
        Document::parse_owned(text.to_string())
    }

    /// [`Document::parse`] of a string it keeps (the lines point into it: no copy).
    pub fn parse_owned(text: String) -> Result<Document, ParseError> {
        Document::parse_arc(std::sync::Arc::new(text))
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
        if let Some(line) = lone_cr(body) {
            return Err(ParseError {
                line,
                message: LONE_CR.to_string(),
            });
        }
        let mut lines = Vec::with_capacity(body.bytes().filter(|&b| b == b'\n').count() + 1);
        let mut in_section = false;
        // The indentation of the section's last key line, if any (what a
        // deeper-indented line continues).
        let mut key_indent: Option<usize> = None;
        for (idx, (content, ending)) in split_lines(body).enumerate() {
            let err = |message: &str| ParseError {
                line: idx + 1,
                message: message.to_string(),
            };
            if !in_section && is_key_like(content) {
                return Err(err("key outside any section"));
            }
            let kind = classify(content, key_indent).map_err(err)?;
            match kind {
                LineKind::Header { .. } => {
                    in_section = true;
                    key_indent = None;
                }
                LineKind::Key { key, .. } => {
                    key_indent = Some(indent_of(&content[..key.0 as usize]))
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
            if let LineKind::Header { name } = &line.kind {
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
}
