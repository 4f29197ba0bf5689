//! The config file's profiles ([`ConfigIndex`]) and the section header
//! dialect: which profile a `[P]`, `[profile P]`, `[profile  P]` or
//! `[default]` header belongs to, and how those sections merge (see the
//! decisions in [`super`]). Reads only the parsed document it is given: no
//! I/O, no credentials file, no flags; it never decides where keys or a
//! session go.

use super::plan::{AwsFile, Fact, Origin};
use crate::ini::Document;
use std::cell::{OnceCell, RefCell};
use std::collections::BTreeSet;
use std::rc::Rc;

/// Profiles of the config file, merged per SPEC §2.
///
/// Nothing is built per profile up front: a profile's sections are found
/// through the document's section index when it is first asked for (`[P]`,
/// `[profile P]`, `[default]`), and its keys are read from those sections on
/// demand, so a config of thousands of profiles costs little on the cached
/// path. The list of every profile is built only when asked for.
#[derive(Debug, Clone)]
pub struct ConfigIndex<'a> {
    doc: &'a Document,
    /// `(P, header line)` of `[profile P]` headers not spelled with exactly
    /// one space (`[profile  P]`, `[profile\tP]`): rare, so kept aside.
    irregular: Vec<(String, usize)>,
    /// Sections and keys of the profiles asked for so far (see
    /// [`Self::profile`]).
    /// The last few only: resolution asks for a profile and its chain many
    /// times in a row, and `list` resolves thousands once each (a map of
    /// them all would cost more to grow and drop than it saves).
    memo: RefCell<Vec<(String, Rc<Profile<'a>>)>>,
    /// A buffer for `profile P`, reused by every lookup.
    spelled: RefCell<String>,
    /// Every profile name, sorted and distinct, borrowed from the
    /// document, once asked for.
    names: OnceCell<Vec<&'a str>>,
    /// The file as shown, shared by every [`Origin`] made here.
    file: Rc<str>,
    /// The credentials file and its name as shown, when its settings are
    /// merged into the profiles (as botocore does, issue 21 item 12): `[P]`
    /// of the credentials file wins a setting over the config sections.
    creds: Option<(&'a Document, Rc<str>)>,
    pub warnings: Vec<String>,
}

/// Keys of a credentials section that are not settings merged into the
/// profile: the key pair and the session mfa-exec (or another tool) writes
/// there, which resolution reads by its own rules (`source.rs`,
/// `session.rs`).
pub(super) fn credential_key(key: &str) -> bool {
    crate::session::SESSION_KEYS
        .iter()
        .any(|k| k.eq_ignore_ascii_case(key))
}

/// A profile's config sections: `(header line, bare, section name)`.
type Sections<'a> = Rc<[(usize, bool, &'a str)]>;

/// Profiles [`ConfigIndex`] keeps (a chain is rarely longer).
const MEMO: usize = 8;

/// A section name and its key lines `(line, key, value)`.
type Group<'a> = (&'a str, Vec<(usize, &'a str, &'a str)>);

/// What [`ConfigIndex`] knows of one profile, built when first asked for:
/// its sections, and the key lines of each distinct section name in the
/// order a lookup tries them (so a key is a short scan, not a walk of the
/// document per key).
#[derive(Debug)]
struct Profile<'a> {
    sections: Sections<'a>,
    /// `(section name, its key lines (line, key, value) in file order over
    /// every occurrence)`, the section that wins a key first.
    groups: Vec<Group<'a>>,
    /// The name of each group, shared by the origins made from it.
    shared: Vec<Rc<str>>,
    /// Whether `groups[0]` is the credentials file's `[P]` (its settings).
    creds_first: bool,
}

impl<'a> Profile<'a> {
    /// `(section, line, value)` of `key`: the first group holding it, its
    /// last occurrence there (later wins), as [`Document::find`] answers.
    fn find(&self, key: &str) -> Option<(&'a str, usize, &'a str)> {
        self.find_at(key)
            .map(|(g, line, v)| (self.groups[g].0, line, v))
    }

    /// [`Self::find`], with the index of the group instead of its name.
    fn find_at(&self, key: &str) -> Option<(usize, usize, &'a str)> {
        self.groups.iter().enumerate().find_map(|(g, (_, keys))| {
            keys.iter()
                .rev()
                .find(|(_, k, _)| k.eq_ignore_ascii_case(key))
                .map(|&(line, _, v)| (g, line, v))
        })
    }

    /// The shared name of config section `section` of this profile.
    fn shared(&self, section: &str) -> Rc<str> {
        let skip = self.creds_first as usize;
        match self.groups[skip..].iter().position(|(n, _)| *n == section) {
            Some(g) => self.shared[skip + g].clone(),
            None => Rc::from(section),
        }
    }
}

/// The profile a config section belongs to, and whether it is a bare `[P]`.
pub fn config_section_profile(section: &str) -> Option<(String, bool)> {
    section_profile(section).map(|(p, bare)| (p.to_string(), bare))
}

/// [`config_section_profile`], borrowed from `section`.
///
/// As botocore (`configloader.build_profile_map`): a section whose name
/// starts with `profile` is split as a shell would (`shlex.split`), and is
/// profile X when that gives exactly two words, the second X
/// (`[profile "a b"]` is `a b`, `[profile a b]` is no profile);
/// `[default]` is `default`; any other name without whitespace is a bare
/// section (mfa-exec's decision for the seed layout; warned).
pub(super) fn section_profile(section: &str) -> Option<(&str, bool)> {
    if section.starts_with("profile") {
        if let Some(rest) = section.strip_prefix("profile ") {
            if simple_word(rest) {
                return Some((rest, false));
            }
        }
        return match shlex_second(section) {
            Shlex::Profile(p) => Some((p, false)),
            Shlex::NotAProfile | Shlex::Unreadable(_) => None,
        };
    }
    if section == "default" {
        return Some(("default", false));
    }
    if section.contains(char::is_whitespace) {
        // `[sso-session x]`, `[services x]`: not profiles.
        return None;
    }
    Some((section, true))
}

/// A word `shlex.split` leaves as it is: no whitespace, quote or backslash.
fn simple_word(s: &str) -> bool {
    !s.is_empty()
        && !s
            .bytes()
            .any(|c| matches!(c, b' ' | b'\t' | b'\r' | b'\n' | b'"' | b'\'' | b'\\'))
}

/// What `shlex.split` of a section name makes of it, for a profile.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Shlex<'s> {
    /// Exactly two words; the second, as it stands in the name.
    Profile(&'s str),
    /// Not two words, or a shlex error (botocore: not a profile).
    NotAProfile,
    /// Two words, but the second is not a piece of the name (escapes,
    /// joined quotes): botocore's profile name, which mfa-exec does not read.
    Unreadable(String),
}

/// `shlex.split(section)` (POSIX mode, no comments), the second word.
pub(super) fn shlex_second(section: &str) -> Shlex<'_> {
    let mut words: Vec<String> = Vec::new();
    let mut word = String::new();
    // In a word (or a quoted empty one).
    let mut in_word = false;
    let mut chars = section.chars();
    let white = |c: char| matches!(c, ' ' | '\t' | '\r' | '\n');
    while let Some(c) = chars.next() {
        match c {
            c if white(c) => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            '\\' => {
                let Some(n) = chars.next() else {
                    return Shlex::NotAProfile;
                };
                word.push(n);
                in_word = true;
            }
            '\'' | '"' => {
                in_word = true;
                loop {
                    let Some(n) = chars.next() else {
                        return Shlex::NotAProfile;
                    };
                    if n == c {
                        break;
                    }
                    if c == '"' && n == '\\' {
                        let Some(e) = chars.next() else {
                            return Shlex::NotAProfile;
                        };
                        if e != '"' && e != '\\' {
                            word.push('\\');
                        }
                        word.push(e);
                        continue;
                    }
                    word.push(n);
                }
            }
            c => {
                word.push(c);
                in_word = true;
            }
        }
    }
    if in_word {
        words.push(word);
    }
    if words.len() != 2 {
        return Shlex::NotAProfile;
    }
    let second = words.pop().expect("two words");
    match section.find(second.as_str()) {
        Some(at) if !second.is_empty() => Shlex::Profile(&section[at..at + second.len()]),
        _ => Shlex::Unreadable(second),
    }
}

/// The profile of a `[profile P]` header whose name is not `profile P` with
/// one space and a plain word (so a lookup of `profile P` misses it): a
/// quoted name, more spaces; `None` for every other header. Cheap for the
/// usual spelling.
pub(super) fn irregular_profile_header(section: &str) -> Option<String> {
    if !section.starts_with("profile") {
        return None;
    }
    if let Some(rest) = section.strip_prefix("profile ") {
        if simple_word(rest) {
            return None;
        }
    }
    config_section_profile(section)
        .filter(|(_, bare)| !bare)
        .map(|(p, _)| p)
}

/// Whether a `[name]` header is a bare section of profile `name`:
/// `section_profile(name) == Some((name, true))`, without splitting (asked
/// for every profile `list` resolves).
pub(super) fn bare_header_of(name: &str) -> bool {
    name != "default" && !name.contains(char::is_whitespace) && !name.starts_with("profile")
}

/// Whether a `[profile name]` header belongs to profile `name`:
/// `section_profile("profile {name}") == Some((name, false))`: a plain word
/// (shlex leaves it as it is).
pub(super) fn spelled_header_of(name: &str) -> bool {
    simple_word(name)
}

/// A header [`irregular_profile_header`] surely answers `None` for (every
/// header of a config is looked at on every run): not starting with `p`,
/// or `profile` with one space and a plain word.
#[inline]
pub(super) fn usual_header(section: &str) -> bool {
    let b = section.as_bytes();
    b.first() != Some(&b'p')
        || !section.starts_with("profile")
        || section.strip_prefix("profile ").is_some_and(simple_word)
}

impl<'a> ConfigIndex<'a> {
    pub fn build(file: &'a AwsFile) -> ConfigIndex<'a> {
        let irregular = file
            .doc
            .header_iter()
            .filter(|(name, _)| !usual_header(name))
            .filter_map(|(name, line)| irregular_profile_header(name).map(|p| (p, line)))
            .collect();
        let mut idx = ConfigIndex {
            doc: &file.doc,
            irregular,
            memo: Default::default(),
            spelled: Default::default(),
            names: OnceCell::new(),
            file: Rc::from(file.shown.as_str()),
            creds: None,
            warnings: Vec::new(),
        };
        let own: Vec<&str> = idx
            .profile_sections("default")
            .iter()
            .filter(|s| !s.1)
            .filter_map(|s| file.doc.header_name_at(s.0))
            .collect();
        if own.contains(&"default") && own.iter().any(|n| *n != "default") {
            idx.warnings.push(format!(
                "{}: [default] and [profile default] are the same profile; the later one wins a key both set",
                file.shown
            ));
        }
        for w in file.doc.warnings() {
            idx.warnings
                .push(format!("{}:{}: {}", file.shown, w.line, w.message));
        }
        for (name, line) in file.doc.header_iter().filter(|(n, _)| !usual_header(n)) {
            if let Shlex::Unreadable(p) = shlex_second(name) {
                idx.warnings.push(format!(
                    "{}:{line}: the AWS CLI reads [{name}] as profile '{p}'; mfa-exec does not read profile names with escapes or joined quotes",
                    file.shown
                ));
            }
        }
        idx
    }

    /// [`Self::build`], with the settings of the credentials file's `[P]`
    /// merged into profile P over its config sections, as botocore merges
    /// them (`Session.full_config`: the credentials file's keys update the
    /// config profile's). The key pair and session keys are left out: they
    /// are read by their own rules ([`credential_key`]).
    pub fn build_merged(config: &'a AwsFile, credentials: &'a AwsFile) -> ConfigIndex<'a> {
        let mut idx = ConfigIndex::build(config);
        idx.creds = Some((&credentials.doc, Rc::from(credentials.shown.as_str())));
        // `build` read `default` already: without the credentials' settings.
        idx.memo.borrow_mut().clear();
        idx
    }

    /// The sections of profile `name` as `(header line, bare, name)`: the bare `[P]`
    /// ones first, then `[profile P]`/`[default]`, each group in file order
    /// (the order in which keys override).
    pub(super) fn profile_sections(&self, name: &str) -> Sections<'a> {
        self.profile(name).sections.clone()
    }

    /// The sections and keys of profile `name`, memoized.
    fn profile(&self, name: &str) -> Rc<Profile<'a>> {
        // The newest first: resolution asks for the same profile many times
        // in a row.
        if let Some((_, found)) = self.memo.borrow().iter().rev().find(|(n, _)| n == name) {
            return found.clone();
        }
        let doc: &'a Document = self.doc;
        let sections = self.find_sections(name);
        let mut groups: Vec<Group<'a>> = Vec::new();
        let mut creds_first = false;
        if let Some((creds, _)) = self.creds {
            let keys: Vec<(usize, &'a str, &'a str)> = creds
                .key_lines(name)
                .filter(|(_, k, _)| !credential_key(k))
                .collect();
            if !keys.is_empty() {
                // The section name is the profile's (borrowed from `name` would
                // not live long enough: take the document's).
                let section = creds
                    .section_headers(name)
                    .next()
                    .map(|(_, s)| s)
                    .expect("a section with key lines has a header");
                groups.push((section, keys));
                creds_first = true;
            }
        }
        for (_, _, section) in sections.iter().rev() {
            // (The credentials group may have the name of a bare `[P]`.)
            if groups[creds_first as usize..]
                .iter()
                .any(|(n, _)| n == section)
            {
                continue;
            }
            groups.push((section, doc.key_lines(section).collect()));
        }
        let shared = groups.iter().map(|(n, _)| Rc::from(*n)).collect();
        let found = Rc::new(Profile {
            sections,
            groups,
            shared,
            creds_first,
        });
        let mut memo = self.memo.borrow_mut();
        if memo.len() == MEMO {
            // The oldest goes; its name's buffer is reused (no allocation
            // per profile once the memo is full, as in `list`).
            let (mut key, _) = memo.remove(0);
            key.clear();
            key.push_str(name);
            memo.push((key, found.clone()));
        } else {
            memo.push((name.to_string(), found.clone()));
        }
        found
    }

    fn find_sections(&self, name: &str) -> Sections<'a> {
        let doc: &'a Document = self.doc;
        // `(header line, name as the document holds it)`.
        let mut bare: Vec<(usize, &'a str)> = Vec::new();
        if bare_header_of(name) {
            bare.extend(doc.section_headers(name));
        }
        let mut own: Vec<(usize, &'a str)> = Vec::new();
        if name == "default" {
            own.extend(doc.section_headers("default"));
        }
        let mut spelled = self.spelled.borrow_mut();
        spelled.clear();
        spelled.push_str("profile ");
        spelled.push_str(name);
        if spelled_header_of(name) {
            own.extend(doc.section_headers(&spelled));
        }
        drop(spelled);
        own.extend(
            self.irregular
                .iter()
                .filter(|(p, _)| p == name)
                .filter_map(|(_, line)| Some((*line, doc.header_name_at(*line)?))),
        );
        own.sort_unstable_by_key(|&(l, _)| l);
        bare.into_iter()
            .map(|(l, n)| (l, true, n))
            .chain(own.into_iter().map(|(l, n)| (l, false, n)))
            .collect()
    }

    /// Every profile name, in order.
    pub fn names(&self) -> impl Iterator<Item = &'a str> + '_ {
        self.names
            .get_or_init(|| {
                let doc: &'a Document = self.doc;
                let mut names: Vec<&'a str> = doc
                    .header_iter()
                    .filter_map(|(name, _)| section_profile(name).map(|(p, _)| p))
                    .collect();
                // Stable: headers are mostly in order already (a merge of runs).
                names.sort();
                names.dedup();
                names
            })
            .iter()
            .copied()
    }

    pub fn contains(&self, name: &str) -> bool {
        !self.profile_sections(name).is_empty()
    }

    /// A key of profile `name`, with its origin.
    pub fn get(&self, name: &str, key: &str) -> Option<Fact<String>> {
        let p = self.profile(name);
        let (g, line, value) = p.find_at(key)?;
        let file = match &self.creds {
            Some((_, creds)) if g == 0 && p.creds_first => creds.clone(),
            _ => self.file.clone(),
        };
        let origin = Origin::File {
            file,
            line,
            section: p.shared[g].clone(),
        };
        Some(Fact::new(value.to_string(), origin))
    }

    /// [`Self::get`], borrowed from the document: `(section, line, value)`.
    /// Nothing is copied, so a lookup that only asks whether a key is set,
    /// or reads a value it then drops, costs no allocation.
    pub fn find(&self, name: &str, key: &str) -> Option<(&'a str, usize, &'a str)> {
        self.profile(name).find(key)
    }

    /// Whether profile `name` sets `key` (what [`Self::get`] answers `Some` for).
    pub fn has(&self, name: &str, key: &str) -> bool {
        self.find(name, key).is_some()
    }

    /// The origin of line `line` of section `section` of profile `name`.
    pub(super) fn origin(&self, name: &str, section: &str, line: usize) -> Origin {
        Origin::File {
            file: self.file.clone(),
            line,
            section: self.profile(name).shared(section),
        }
    }

    /// Profiles other than none whose `key` resolves to `value`, in name
    /// order: the answer of asking [`Self::get`] for every profile, but only
    /// the sections holding such a key line are looked at.
    pub fn profiles_with(&self, key: &str, value: &str) -> Vec<(String, Fact<String>)> {
        let mut candidates: BTreeSet<String> = self
            .doc
            .sections_with_value(key, value)
            .into_iter()
            .filter_map(|s| config_section_profile(s).map(|(p, _)| p))
            .collect();
        if let Some((creds, _)) = self.creds {
            candidates.extend(
                creds
                    .sections_with_value(key, value)
                    .into_iter()
                    .map(str::to_string),
            );
        }
        candidates
            .into_iter()
            .filter_map(|p| {
                let f = self.get(&p, key).filter(|f| f.value == value)?;
                Some((p, f))
            })
            .collect()
    }

    pub(super) fn has_key_prefix(&self, name: &str, prefix: &str) -> bool {
        self.profile(name).groups.iter().any(|(_, keys)| {
            keys.iter().any(|(_, k, _)| {
                k.len() >= prefix.len()
                    && k.as_bytes()[..prefix.len()].eq_ignore_ascii_case(prefix.as_bytes())
            })
        })
    }

    /// The config sections of a profile: `(section, header line, bare)`.
    pub fn sections_of(&self, name: &str) -> Vec<(String, usize, bool)> {
        self.profile_sections(name)
            .iter()
            .map(|(h, bare, n)| (n.to_string(), *h, *bare))
            .collect()
    }
}
