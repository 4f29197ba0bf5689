//! Unit tests of the INI module on fixed texts: parse, read, warnings,
//! edits and their errors. The property tests are in `tests/props.rs`.
//! Never touches the file system.

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

/// botocore cannot read a file that starts with a BOM: both forms warn at
/// line 1 (never a silent difference), and an edit keeps the BOM.
#[test]
fn bom_is_warned_at_line_1() {
    let bom = Warning {
        line: 1,
        message: "the file starts with a UTF-8 byte order mark (BOM): the AWS CLI refuses the whole file (\"Unable to parse config file\"); mfa-exec skips the BOM (save the file as UTF-8 without a BOM)".into(),
    };
    for text in [
        "\u{feff}",
        "\u{feff}\n",
        "\u{feff}[a]\nk = v\n",
        "\u{feff}# c\r\n[a]\r\n",
    ] {
        assert_eq!(doc(text).warnings(), vec![bom.clone()], "{text:?}");
        assert_eq!(
            Document::read(text).unwrap().warnings(),
            vec![bom.clone()],
            "{text:?}"
        );
    }
    let mut d = Document::read("\u{feff}[a]\nk = v\n[a]\n").unwrap();
    assert_eq!(d.warnings()[0], bom);
    assert_eq!(d.warnings().len(), 2);
    d.set("b", "k", "w").unwrap();
    assert!(d.render().starts_with('\u{feff}'));
    assert_eq!(d.warnings()[0], bom);
    assert!(doc("[a]\nk = \u{feff}v\n").warnings().is_empty());
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
    let d = doc("[s]\na = x#y\nb = arn:aws:iam::1:mfa/x\nc: d = e\ne=f:g\n f\nK\t=\tv  \nempty=\n");
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
        ("[a]\n  : v\n", 2, "empty key"),
        ("\n# c\nk = v\n[a]\n", 3, "key outside any section"),
        ("nonsense\n[a]\n", 1, "key outside any section"),
        ("  indented\n[a]\n", 1, "key outside any section"),
        ("[a]\n  nonsense\n", 2, "expected 'key = value'"),
        ("[a]\nk = v\rj = w\n", 2, super::line::LONE_CR),
        ("[a]\r\nk = v\r\n\rx\r\n", 3, super::line::LONE_CR),
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

mod props;

/// Issue 21 item 14: what botocore (configparser) reads, read the same, or
/// warned where mfa-exec reads it differently; both forms alike.
#[test]
fn botocore_dialect() {
    let text = "[profile src]\n  region = eu-west-1\n  output = json\n    more\n[DEFAULT]\nx = 1\n[ spaced ]\nk = v\x1c\x1f\ns3 =\n   addressing_style = path\n   nonsense\nlast = a\n      [profile deep]\n";
    for doc in [
        Document::parse(text).unwrap(),
        Document::read(text).unwrap(),
    ] {
        assert_eq!(doc.get("profile src", "region"), Some("eu-west-1"));
        assert_eq!(doc.get("profile src", "output"), Some("json"));
        assert_eq!(doc.get("spaced", "k"), Some("v"));
        assert_eq!(doc.get("spaced", "s3"), Some(""));
        assert_eq!(doc.get("spaced", "addressing_style"), None);
        assert!(doc.has_section("profile deep"));
        let w: Vec<(usize, String)> = doc
            .warnings()
            .into_iter()
            .map(|w| (w.line, w.message))
            .collect();
        assert_eq!(
            w,
            [
                (4, "continuation of 'output' (line 3): the AWS CLI appends this line to its value; mfa-exec reads only line 3".to_string()),
                (5, "section [DEFAULT]: the AWS CLI (configparser) copies its keys into every section; mfa-exec reads it as a section of its own".to_string()),
                (7, "[spaced] has whitespace inside its brackets: the AWS CLI keeps it in the name, mfa-exec reads [spaced]".to_string()),
                (11, "this line of the 's3' block (line 9) has no '=': the AWS CLI refuses the whole file".to_string()),
                (13, "indented header: the AWS CLI reads this line as a continuation of 'last' (line 12), mfa-exec as a section header".to_string()),
            ]
        );
    }
    // An edit keeps an indented key's indentation, and the rest byte for byte.
    let mut doc = Document::read(text).unwrap();
    doc.set("profile src", "region", "us-west-2").unwrap();
    assert_eq!(
        doc.render(),
        text.replace("region = eu-west-1", "region = us-west-2")
    );
}
