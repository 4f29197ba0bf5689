//! Editing a [`Document`]: `set`, `remove_key`, `remove_section`.
//!
//! Owns the edit decisions of the module doc (a value rewritten in place, a
//! new key after the section's last key line, a new section appended, blank
//! lines collapsed) and the line-index helpers they use. Never edits the read
//! form: each edit first does the full parse (`materialize`) and rebuilds the
//! section index after; never writes a line that holds a control character.

use super::line::{classify, Line, LineKind, Text};
use super::{Document, EditError};

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
    let kind = classify(&text, None).expect("generated line is well-formed");
    Line {
        text: Text::Own(text),
        ending,
        kind,
    }
}

impl Document {
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
                    if last.kind != LineKind::Blank {
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
                    line.kind =
                        classify(&line.text, None).expect("rewritten key line is well-formed");
                }
                None => {
                    let pos = (h + 1..end)
                        .rev()
                        .find(|&i| {
                            matches!(
                                self.lines[i].kind,
                                LineKind::Key { .. } | LineKind::Continuation
                            )
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
                LineKind::Header { .. } | LineKind::Key { .. } | LineKind::Continuation
            );
            if (h..end).contains(&i) && structural {
                continue;
            }
            if line.kind == LineKind::Blank {
                match out.last() {
                    // Newly adjacent to another blank line: redundant.
                    Some((p, prev)) if prev.kind == LineKind::Blank && p + 1 != i => continue,
                    // Newly first line of the document.
                    None if i != 0 => continue,
                    _ => {}
                }
            }
            out.push((i, line));
        }
        while matches!(out.last(), Some((i, l)) if l.kind == LineKind::Blank && i + 1 != orig_len) {
            out.pop();
        }
        self.lines = out.into_iter().map(|(_, l)| l).collect();
        self.restore_final_newline(had_final);
        Ok(true)
    }

    // ---- private helpers ----

    pub(super) fn has_final_newline(&self) -> bool {
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

    pub(super) fn header_indices(&self, name: &str) -> Vec<usize> {
        self.index.get(name).cloned().unwrap_or_default()
    }

    /// Index one past the last line of the section whose header is at `h`.
    pub(super) fn section_end(&self, h: usize) -> usize {
        (h + 1..self.lines.len())
            .find(|&i| matches!(self.lines[i].kind, LineKind::Header { .. }))
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
                matches!(&l.kind, LineKind::Key { key: k, .. } if l.text[k.0 as usize..k.1 as usize].eq_ignore_ascii_case(key))
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
                LineKind::Key { .. } | LineKind::Header { .. } => break,
                LineKind::Continuation => out.push(i),
                _ => {}
            }
        }
        out
    }
}

fn valid_key(key: &str) -> bool {
    !key.is_empty()
        && key == key.trim_matches(super::line::py_space)
        && !key.contains(['=', ':', '\n', '\r'])
        && !key.starts_with(['[', '#', ';'])
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name == name.trim_matches(super::line::py_space)
        && !name.contains(['\n', '\r'])
}
