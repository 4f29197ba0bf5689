//! Every reader of a [`Document`] (`get`, `section_map`, `warnings`, ...).
//!
//! Each answers from either form: the read path's header index (`lazy.rs`)
//! or the full parse's lines, and both must answer the same. Never changes
//! a document and never does a full parse, except `section_has_comments`
//! (the read form keeps no comment lines).

use std::collections::HashMap;

use super::lazy::NONE;
use super::line::{
    classify_raw, dialect, header_spaced, indent_of, trim_start, LineKind, Raw, BOM,
};
use super::{Document, Entry, Section, Warning};

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

impl Document {
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
                LineKind::Header { name } => out.push(Section {
                    name: name.clone(),
                    line: i + 1,
                    entries: Vec::new(),
                }),
                LineKind::Key { key, value } => {
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
                        LineKind::Header { name } => Some((name.as_str(), i + 1)),
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
            LineKind::Header { name } => Some(name),
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
                    if trim_start(content).len() != content.len() {
                        // Indented: a key line or a continuation, as the
                        // section's earlier lines decide (its parsed keys).
                        if l.keys(h - 1).any(|(_, k, v)| matches(k, v)) {
                            push(&mut out, l.headers[h - 1].line(), l.name(h - 1));
                        }
                    } else if let Ok(Raw::Key { key: k, value: v }) = classify_raw(content, None) {
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
                        LineKind::Header { name } => current = Some((i + 1, name)),
                        LineKind::Key { key: k, value: v } => {
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
                .any(|l| l.kind == LineKind::Comment)
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
        if self.bom {
            out.push(Warning {
                line: 1,
                message: dialect::bom(),
            });
        }
        // Keys of the current section occurrence: (key, line).
        let mut seen: Vec<(&str, usize)> = Vec::new();
        let mut current: Option<&str> = None;
        for (i, line) in self.lines.iter().enumerate() {
            match &line.kind {
                LineKind::Header { name } => {
                    seen.clear();
                    current = Some(name);
                }
                LineKind::Key { key, .. } => {
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
        // Where botocore reads the file differently (issue 21 item 14).
        // `(line index, key, first-line value empty, continuation warned)`.
        let mut last_key: Option<(usize, &str, bool, bool)> = None;
        for (i, line) in self.lines.iter().enumerate() {
            let message = match &line.kind {
                LineKind::Header { name } => {
                    if let Some((k_at, key, _, _)) = last_key {
                        let LineKind::Key { key: range, .. } = &self.lines[k_at].kind else {
                            unreachable!("last_key is a key line")
                        };
                        if indent_of(&line.text)
                            > indent_of(&self.lines[k_at].text[..range.0 as usize])
                        {
                            out.push(Warning {
                                line: i + 1,
                                message: dialect::header_continues(key, k_at + 1),
                            });
                        }
                    }
                    last_key = None;
                    if name == "DEFAULT" {
                        out.push(Warning {
                            line: i + 1,
                            message: dialect::default_section(),
                        });
                    }
                    header_spaced(&line.text).then(|| dialect::spaced_header(name))
                }
                LineKind::Key { key, value } => {
                    let k = &line.text[key.0 as usize..key.1 as usize];
                    last_key = Some((i, k, value.0 == value.1, false));
                    None
                }
                LineKind::Continuation => match &mut last_key {
                    Some((k_at, key, true, _)) => {
                        (!line.text.contains('=')).then(|| dialect::block_line(key, *k_at + 1))
                    }
                    Some((k_at, key, false, warned)) if !*warned => {
                        *warned = true;
                        Some(dialect::continuation(key, *k_at + 1))
                    }
                    _ => None,
                },
                _ => None,
            };
            if let Some(message) = message {
                out.push(Warning {
                    line: i + 1,
                    message,
                });
            }
        }
        out.sort_by(|a, b| (a.line, &a.message).cmp(&(b.line, &b.message)));
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
                .take_while(|(_, l)| !matches!(l.kind, LineKind::Header { .. }))
                .filter_map(move |(j, line)| match &line.kind {
                    LineKind::Key { key, value } => Some((
                        h + 1 + j,
                        &line.text[key.0 as usize..key.1 as usize],
                        &line.text[value.0 as usize..value.1 as usize],
                    )),
                    _ => None,
                })
        }))
    }
}
