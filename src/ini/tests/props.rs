//! Property tests of the INI module: byte-identical round trip, edits that
//! stay inside their section, and the read path (`lazy.rs`) agreeing with
//! the full parse on every reader. Never touches the file system.

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
                "\x1f y",
                "      more = deeper",
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
    let sections = proptest::collection::vec((header, proptest::collection::vec(item, 0..5)), 0..6);
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
        "k = a\r ",
        "key: value",
        // The botocore dialect (issue 21 item 14): indented keys, Python's
        // whitespace \x1c-\x1f, [DEFAULT].
        "  region = indented",
        "\tk = v",
        "\x1ck = v",
        "k = v\x1d",
        "k\x1e= v\x1f",
        "[DEFAULT]",
        "[\x1cprod]",
        "   deeper = x",
        "KEY = v",
        "x = [not a header]",
        "region = prod",
        "a = 1 ",
        "[profile  prod]",
        "[profile\tprod]",
        "[ Prod ]",
        // The fast paths of the scan (`lazy.rs`): headers it must leave to
        // the general path, keys and values across 8-byte words and past
        // the 64-byte short-line search, odd bytes in a line.
        "[prod]x",
        "[prod]]",
        "[]]",
        "[[prod]",
        "[\u{a0}prod]",
        "[prod\u{a0}]",
        "[é]",
        "[prod] \r",
        "_k = v",
        "9=x",
        "k\t= v",
        "k = a\0b",
        "k = a\x01\x7fb",
        "key_of_exactly_16 = v",
        "a_key_longer_than_sixteen_bytes: [x] = y : z",
        "long = 0123456789012345678901234567890123456789012345678901234567890123456789",
        "k = \u{a0}é ü\u{2003}",
    ])
    .prop_map(|s| vec![s.to_string()])
}

/// Malformed lines, each an error wherever it stands.
const BAD: &[&str] = &[
    "nonsense",
    "k = a\rb",
    "[pr\rod]",
    "[unterminated",
    "[]",
    "= v",
    "[ ]",
    " : x",
    "[\u{a0}]",
    "a_key_longer_than_sixteen_bytes_without_a_separator",
    "[prod",
];

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
            doc.lines.iter().filter(|l| l.kind == LineKind::Comment).map(|l| l.text.to_string()).collect()
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
