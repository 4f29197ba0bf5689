//! The config index finds a profile's sections and keys on demand; these
//! properties hold it to the index it replaced, which built every profile up
//! front, over generated config files (both document forms).

use super::*;
use crate::ini::Document;
use proptest::prelude::*;
use proptest::sample::select;
use std::collections::BTreeMap;

/// The index as it was built before (every profile, up front): the reference.
fn reference(doc: &Document) -> BTreeMap<String, Vec<(usize, bool)>> {
    let mut profiles: BTreeMap<String, Vec<(usize, bool)>> = BTreeMap::new();
    let headers: Vec<(String, usize)> = doc
        .sections()
        .into_iter()
        .map(|s| (s.name, s.line))
        .collect();
    for pass_bare in [true, false] {
        for (name, line) in &headers {
            let Some((profile, bare)) = config_section_profile(name) else {
                continue;
            };
            if bare == pass_bare {
                profiles.entry(profile).or_default().push((*line, bare));
            }
        }
    }
    profiles
}

/// The reference's `get`: the last section of the profile with the key wins.
fn reference_get(
    doc: &Document,
    profiles: &BTreeMap<String, Vec<(usize, bool)>>,
    name: &str,
    key: &str,
) -> Option<(String, usize, String)> {
    profiles.get(name)?.iter().rev().find_map(|(h, _)| {
        let section = doc.header_name_at(*h)?;
        let line = doc.line_of(section, key)?;
        Some((
            section.to_string(),
            line,
            doc.get(section, key)?.to_string(),
        ))
    })
}

const HEADERS: &[&str] = &[
    "[default]",
    "[profile default]",
    "[profile  default]",
    "[a]",
    "[ a ]",
    "[profile a]",
    "[profile\ta]",
    "[profile  a]",
    "[profile]",
    "[profile profile]",
    "[profilea]",
    "[sso-session a]",
    "[b c]",
    "[profile b c]",
    "[profile b  c]",
    "[profile\u{a0}a]",
];
const LINES: &[&str] = &[
    "source_profile = a",
    "source_profile = b c",
    "Source_Profile = default",
    "SOURCE_PROFILE: a",
    "region = r",
    "REGION = s",
    "mfa_serial: m",
    "# source_profile = a",
    "",
    "role_arn = a",
];
const KEYS: &[&str] = &[
    "source_profile",
    "region",
    "mfa_serial",
    "role_arn",
    "absent",
];

fn config() -> impl Strategy<Value = String> {
    (
        proptest::collection::vec(
            (
                select(HEADERS),
                proptest::collection::vec(select(LINES), 0..4),
            ),
            0..8,
        ),
        select(vec!["\n", "\r\n"]),
    )
        .prop_map(|(sections, eol)| {
            let mut text = String::new();
            for (h, lines) in sections {
                text.push_str(h);
                text.push_str(eol);
                for l in lines {
                    text.push_str(l);
                    text.push_str(eol);
                }
            }
            text
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn config_index_agrees_with_the_full_index(text in config()) {
        for doc in [Document::parse(&text).unwrap(), Document::read(&text).unwrap()] {
            let file = AwsFile {
                path: "/h/.aws/config".into(),
                shown: "~/.aws/config".into(),
                doc,
            };
            let idx = ConfigIndex::build(&file);
            let doc = &file.doc;
            let full = reference(doc);
            let names: Vec<&str> = idx.names().collect();
            prop_assert_eq!(names, full.keys().map(String::as_str).collect::<Vec<_>>());
            let mut asked: Vec<String> = full.keys().cloned().collect();
            asked.extend(["absent", " a", "profile a", "b  c", "profile", "sso-session a"].map(String::from));
            for name in &asked {
                prop_assert_eq!(idx.contains(name), full.contains_key(name), "{:?}", name);
                let expected: Vec<(String, usize, bool)> = full
                    .get(name)
                    .map(|v| v.iter().map(|(h, b)| (doc.header_name_at(*h).unwrap().to_string(), *h, *b)).collect())
                    .unwrap_or_default();
                prop_assert_eq!(idx.sections_of(name), expected, "{:?}", name);
                for key in KEYS {
                    let got = idx.get(name, key).map(|f| match f.origin {
                        Origin::File { section, line, .. } => (section.to_string(), line, f.value),
                        o => panic!("origin {o:?}"),
                    });
                    prop_assert_eq!(got, reference_get(doc, &full, name, key), "{:?} {:?}", name, key);
                }
            }
            for value in ["a", "b c", "default", "r", "m", "absent"] {
                let got: Vec<(String, String)> = idx
                    .profiles_with("source_profile", value)
                    .into_iter()
                    .map(|(p, f)| (p, f.value))
                    .collect();
                let expected: Vec<(String, String)> = full
                    .keys()
                    .filter_map(|p| {
                        let (_, _, v) = reference_get(doc, &full, p, "source_profile")?;
                        (v == value).then(|| (p.clone(), v))
                    })
                    .collect();
                prop_assert_eq!(got, expected, "{:?}", value);
            }
            let own_default: Vec<&str> = full
                .get("default")
                .map(|v| v.iter().filter(|s| !s.1).filter_map(|s| doc.header_name_at(s.0)).collect())
                .unwrap_or_default();
            let warned = own_default.contains(&"default") && own_default.iter().any(|n| *n != "default");
            prop_assert_eq!(
                idx.warnings.iter().any(|w| w.contains("[default] and [profile default]")),
                warned
            );
        }
    }
}

/// The cheap pre-check never hides an irregular `[profile  P]` header.
#[test]
fn usual_header_never_skips_an_irregular_one() {
    use super::index::{irregular_profile_header, usual_header};
    let names = [
        "profile a",
        "profile  a",
        "profile\ta",
        "profile\u{a0}a",
        "profile \u{a0}a",
        "profile \ta",
        "profile \x0ba",
        "profile",
        "profilex",
        "profiles a",
        "default",
        "p",
        "prod",
        "profile é",
        "sso-session x",
    ];
    for n in names {
        if usual_header(n) {
            assert_eq!(irregular_profile_header(n), None, "{n:?}");
        }
    }
    assert!(!usual_header("profile  a") && !usual_header("profile\ta"));
    assert!(usual_header("profile user00001") && usual_header("testAccount"));
}

/// The two shortcuts of a profile's section lookup answer as
/// `section_profile` does.
#[test]
fn header_shortcuts_agree_with_section_profile() {
    use super::index::{bare_header_of, section_profile, spelled_header_of};
    let names = [
        "",
        "a",
        " a",
        "a ",
        "a b",
        "a\tb",
        "default",
        "profile",
        "profile a",
        "profile  a",
        "profilex",
        "\"q\"",
        "'a b'",
        "a\\b",
        "\u{a0}x",
        "x\u{a0}",
        "x\u{2003}y",
        "sso-session s",
        " ",
        "\t",
        "prod",
        "é",
    ];
    for n in names {
        let bare = section_profile(n).is_some_and(|(p, bare)| bare && p == n);
        assert_eq!(bare_header_of(n), bare, "{n:?}");
        let spelled = format!("profile {n}");
        let own = section_profile(&spelled).is_some_and(|(p, bare)| !bare && p == n);
        assert_eq!(spelled_header_of(n), own, "{n:?}");
    }
}

/// Issue 21 item 14: config headers name profiles as botocore's
/// `build_profile_map` does (`shlex.split`, exactly two words).
#[test]
fn profile_headers_as_botocore_splits_them() {
    use super::index::{section_profile, shlex_second, Shlex};
    assert_eq!(section_profile("profile src"), Some(("src", false)));
    assert_eq!(section_profile("profile \"src\""), Some(("src", false)));
    assert_eq!(section_profile("profile 'a b'"), Some(("a b", false)));
    assert_eq!(section_profile("profile  x"), Some(("x", false)));
    assert_eq!(section_profile("profile a b"), None);
    assert_eq!(section_profile("profile"), None);
    assert_eq!(section_profile("profile \"open"), None);
    assert_eq!(section_profile("profilefoo bar"), Some(("bar", false)));
    assert_eq!(section_profile("default"), Some(("default", false)));
    assert_eq!(section_profile("sso-session s"), None);
    assert_eq!(section_profile("solo"), Some(("solo", true)));
    assert_eq!(
        shlex_second("profile \"a\"b"),
        Shlex::Unreadable("ab".to_string())
    );
    let file = AwsFile {
        path: "/h/.aws/config".into(),
        shown: "~/.aws/config".into(),
        doc: Document::parse("[profile \"src\"]\nregion = eu-west-1\n[profile a b]\nregion = x\n")
            .unwrap(),
    };
    let idx = ConfigIndex::build(&file);
    assert_eq!(idx.get("src", "region").unwrap().value, "eu-west-1");
    assert!(!idx.contains("a b"));
    assert_eq!(idx.names().collect::<Vec<_>>(), ["src"]);
}
