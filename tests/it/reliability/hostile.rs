//! Hostile input: INI property tests through the crate's public API
//! (`mfa_exec::ini`) on arbitrary text and edit sequences, random hostile
//! credentials files through the binary, odd profile names, a 10 MB file,
//! binary/NUL/directory/unreadable credentials, a garbage or hanging
//! `mfa_process`, non-ASCII digits. Cases `ini-*`, `profile-names`,
//! `big-file-10mb`, the bad-file cases, `mfa-process-*`, `unicode-digits`.
//!
//! The property tests here are not those of `src/ini.rs`: those build
//! documents from the dialect's grammar (fixed names, keys and values) and
//! check one edit against the internals; these feed arbitrary characters
//! (NUL, lone CR, U+2028, BOM, any `char`) and chains of 1-7 edits with
//! hostile names, keys and values, at 2,000 cases, through the public API only.

use super::*;

mod ini_props {
    use mfa_exec::ini::Document;
    use proptest::prelude::*;

    fn cases() -> u32 {
        std::env::var("PROPTEST_CASES")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(2000)
    }

    /// Text made mostly of the characters that matter to the dialect.
    fn hostile_text() -> impl Strategy<Value = String> {
        let ch = prop_oneof![
            4 => prop::sample::select(vec![
                '[', ']', '=', ':', '#', ';', ' ', '\t', '\n', '\r', '\u{feff}', '\0', 'a', 'k',
                'é', '"', '\u{2028}', '\u{85}', '\u{a0}',
            ]),
            1 => any::<char>(),
        ];
        prop::collection::vec(ch, 0..120).prop_map(|v| v.into_iter().collect())
    }

    /// Line-shaped text: more likely to parse, so edits get exercised.
    fn hostile_doc() -> impl Strategy<Value = String> {
        let line = prop_oneof![
            Just(String::new()),
            "[ \t]*".prop_map(|s| s),
            "[#;][^\r\n]{0,12}",
            "[ \t]{0,2}\\[[^\r\n\\]]{1,8}\\][^\r\n]{0,4}",
            "[a-zA-Z_é\".][^\r\n=:\\[]{0,6}[ ]?[=:][^\r\n]{0,10}",
            "[ \t]{1,3}[^\r\n#;\\[ \t][^\r\n]{0,6}",
        ];
        let ending = prop::sample::select(vec!["\n", "\r\n", "\r\n"]);
        (
            any::<bool>(),
            prop::collection::vec((line, ending), 0..14),
            any::<bool>(),
        )
            .prop_map(|(bom, lines, last_eol)| {
                let mut s = String::new();
                if bom {
                    s.push('\u{feff}');
                }
                let n = lines.len();
                for (i, (l, e)) in lines.into_iter().enumerate() {
                    s.push_str(&l);
                    if i + 1 < n || last_eol {
                        s.push_str(e);
                    }
                }
                s
            })
    }

    fn name() -> impl Strategy<Value = String> {
        prop_oneof![
            "[a-z]{1,4}",
            "[^\r\n\\s][^\r\n]{0,6}[^\r\n\\s]",
            Just("profile my.prof \"x\" é".to_string()),
            Just("a]b".to_string()),
            Just("[x".to_string()),
        ]
    }

    fn key() -> impl Strategy<Value = String> {
        prop_oneof![
            "[a-z_]{1,10}",
            "[^\r\n\\s=:\\[#;][^\r\n=:]{0,5}[^\r\n\\s=:]",
            Just("AWS_Access_Key_ID".to_string()),
        ]
    }

    fn value() -> impl Strategy<Value = String> {
        prop_oneof![
            Just(String::new()),
            "[^\r\n\\s]([^\r\n]{0,10}[^\r\n\\s])?",
            "[A-Za-z0-9/+=]{40}",
        ]
    }

    #[derive(Debug, Clone)]
    enum Op {
        Set(String, String, String),
        RemoveKey(String, String),
        RemoveSection(String),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            3 => (name(), key(), value()).prop_map(|(n, k, v)| Op::Set(n, k, v)),
            1 => (name(), key()).prop_map(|(n, k)| Op::RemoveKey(n, k)),
            1 => name().prop_map(Op::RemoveSection),
        ]
    }

    /// Picks existing section names as often as new ones.
    fn retarget(doc: &Document, op: Op, pick: usize) -> Op {
        let names: Vec<String> = doc.sections().into_iter().map(|s| s.name).collect();
        if names.is_empty() || pick.is_multiple_of(2) {
            return op;
        }
        let n = names[pick % names.len()].clone();
        match op {
            Op::Set(_, k, v) => Op::Set(n, k, v),
            Op::RemoveKey(_, k) => Op::RemoveKey(n, k),
            Op::RemoveSection(_) => Op::RemoveSection(n),
        }
    }

    fn others(doc: &Document, except: &str) -> Vec<(String, Vec<(String, String)>)> {
        let mut seen = std::collections::BTreeSet::new();
        doc.sections()
            .into_iter()
            .filter(|s| s.name != except && seen.insert(s.name.clone()))
            .map(|s| {
                let m = doc
                    .section_map(&s.name)
                    .into_iter()
                    .map(|(k, v, _)| (k, v))
                    .collect();
                (s.name, m)
            })
            .collect()
    }

    /// Runs the properties; returns (arbitrary texts, docs, edits applied).
    pub fn run() -> (u32, u32, usize) {
        let cfg = ProptestConfig {
            cases: cases(),
            failure_persistence: None,
            ..ProptestConfig::default()
        };
        let mut runner = proptest::test_runner::TestRunner::new(cfg.clone());
        runner
            .run(&hostile_text(), |text| {
                if let Ok(d) = Document::parse(&text) {
                    prop_assert_eq!(d.render(), text);
                    let _ = d.warnings();
                    for s in d.sections() {
                        let _ = d.section_map(&s.name);
                    }
                }
                Ok(())
            })
            .unwrap();
        let edits = std::sync::atomic::AtomicUsize::new(0);
        let mut runner = proptest::test_runner::TestRunner::new(cfg.clone());
        runner
            .run(
                &(
                    hostile_doc(),
                    prop::collection::vec((op(), any::<usize>()), 1..8),
                ),
                |(text, ops)| {
                    let Ok(mut d) = Document::parse(&text) else {
                        return Ok(());
                    };
                    prop_assert_eq!(d.render(), text.clone());
                    for (op, pick) in ops {
                        let op = retarget(&d, op, pick);
                        let target = match &op {
                            Op::Set(n, ..) | Op::RemoveKey(n, _) | Op::RemoveSection(n) => {
                                n.clone()
                            }
                        };
                        let before = others(&d, &target);
                        let ok = match &op {
                            Op::Set(n, k, v) => d.set(n, k, v).is_ok(),
                            Op::RemoveKey(n, k) => d.remove_key(n, k).is_ok(),
                            Op::RemoveSection(n) => d.remove_section(n).is_ok(),
                        };
                        if !ok {
                            continue;
                        }
                        edits.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let out = d.render();
                        let re = Document::parse(&out);
                        prop_assert!(
                            re.is_ok(),
                            "{:?} made unparsable text {:?} from {:?}",
                            op,
                            out,
                            text
                        );
                        let re = re.unwrap();
                        prop_assert_eq!(re.render(), out.clone());
                        match &op {
                            Op::Set(n, k, v) => prop_assert_eq!(
                                re.get(n, k),
                                Some(v.as_str()),
                                "{:?} on {:?}",
                                op,
                                text
                            ),
                            Op::RemoveKey(n, k) => prop_assert_eq!(re.get(n, k), None),
                            Op::RemoveSection(n) => prop_assert!(!re.has_section(n)),
                        }
                        prop_assert_eq!(
                            others(&re, &target),
                            before,
                            "{:?} touched another section of {:?}",
                            op,
                            text
                        );
                        d = re;
                    }
                    Ok(())
                },
            )
            .unwrap();
        (cfg.cases, cfg.cases, edits.into_inner())
    }
}

#[test]
fn ini_proptest_at_scale() {
    let start = Instant::now();
    let (texts, docs, edits) = ini_props::run();
    eprintln!(
        "reliability: ini-proptest: {texts} texts, {docs} documents, {edits} edits in {:?}",
        start.elapsed()
    );
    let observed = if texts == 2000 {
        "2,000 arbitrary texts and 2,000 documents with 1-7 edits each: no panic, every parsed text renders byte-identical, every edit re-parses, reads back and leaves the other sections' keys unchanged".to_string()
    } else {
        format!("{texts} cases (PROPTEST_CASES): all properties held")
    };
    if texts == 2000 {
        record("ini-proptest", &observed);
    } else {
        eprintln!(
            "reliability: ini-proptest: {observed} (row not checked at a non-default case count)"
        );
    }
}

#[test]
fn ini_binary_fuzz() {
    let sts = FakeSts::start();
    let env = TestEnv::seeded();
    let log = Log::default();
    let mut rng = Rng::new();
    let pieces = [
        "[testAccount]\n",
        "[test]\n",
        "[profile test]\n",
        "aws_access_key_id = AKIAX\n",
        "# comment\n",
        "; comment\n",
        "\n",
        "\r\n",
        "  continued\n",
        "key = value\n",
        "key: v\n",
        "[unterminated\n",
        "=\n",
        "\u{feff}",
        "[ test ]\n",
        "x_mfa_exec_source = testAccount\n",
        "aws_session_token = t\n",
        "[]\n",
        "k=\n",
        "[a]b]\n",
        "é = ü\n",
    ];
    let (mut parsed, mut refused, mut written) = (0, 0, 0);
    for _ in 0..40 {
        let mut text = String::from(SEED_CREDENTIALS);
        for _ in 0..rng.below(8) {
            text.push_str(pieces[rng.below(pieces.len() as u64) as usize]);
        }
        env.write_credentials(&text);
        let list = log.run(&env, None, &["list"]);
        assert!(matches!(list.code, Some(0) | Some(125)), "{list:?}");
        let out = log.run(
            &env,
            Some(&sts),
            &["test", "-f", "-t", &fresh_code(), "--", "true"],
        );
        assert!(matches!(out.code, Some(0) | Some(125)), "{out:?}");
        let now = env.read_credentials();
        match ini::Document::parse(&text) {
            Err(_) => {
                refused += 1;
                assert_eq!(out.code, Some(125));
                assert_eq!(now, text, "an unparsable file is never written");
            }
            Ok(_) => {
                parsed += 1;
                if out.code == Some(0) && now != text {
                    written += 1;
                    let d = parse(&now);
                    assert_issued_session(&d, "test", &sts);
                    assert!(
                        lines_kept(&outside(&text, "test"), &now),
                        "a line outside [test] was lost: {text:?} -> {now:?}"
                    );
                } else {
                    assert_eq!(now, text);
                }
            }
        }
    }
    log.check_secrets(&[&sts], &[]);
    eprintln!(
        "reliability: ini-binary-fuzz: {parsed} parsed ({written} written), {refused} refused"
    );
    record(
        "ini-binary-fuzz",
        "40 random files from hostile pieces, `list` and a forced refresh on each: never a panic, exit 0 or 125; unparsable files refused and untouched; a failed run leaves the file untouched; every write keeps each line outside [test], in order",
    );
}

#[test]
fn profile_names() {
    let sts = FakeSts::start();
    let env = TestEnv::seeded();
    let log = Log::default();
    let names = [
        "my.prof",
        "my prof",
        "\"quoted\"",
        "é-ü",
        "my.prof \"x\" é",
        "日本",
        "a]b",
    ];
    let mut config = String::from(SEED_CONFIG);
    for n in &names {
        config.push_str(&format!("\n[profile {n}]\nsource_profile = testAccount\n"));
    }
    env.write_config(&config);
    let mut observed = Vec::new();
    for n in &names {
        let out = log.run(&env, Some(&sts), &[n, "-t", "123456", "--", "true"]);
        let cached = log.run(&env, Some(&sts), &["--profile", n, "--", "true"]);
        let doc = parse(&env.read_credentials());
        let what = if out.code == Some(0) {
            assert_eq!(cached.code, Some(0), "{cached:?}");
            assert!(doc.has_section(n), "[{n}] written");
            format!("`{n}`: ok, written to [{n}], cached run ok")
        } else {
            format!(
                "`{n}`: exit {:?}, `{}`",
                out.code,
                norm(&out.error(), &env, Some(&sts)).replace('\n', "` / `")
            )
        };
        observed.push(what);
    }
    assert!(lines_kept(SEED_CREDENTIALS, &env.read_credentials()));
    log.check_secrets(&[&sts], &[]);
    record("profile-names", &observed.join("; "));
}

#[test]
fn big_file_10mb() {
    let sts = FakeSts::start();
    let env = TestEnv::seeded();
    let log = Log::default();
    let first = log.run(&env, Some(&sts), &["test", "-t", "123456", "--", "true"]);
    assert_eq!(first.code, Some(0));
    let mut text = env.read_credentials();
    let mut i = 0;
    while text.len() < 10 * 1024 * 1024 {
        text.push_str(&format!(
            "\n# filler section {i}\n[filler-{i}]\naws_access_key_id = AKIAFILLER{i:010}\nregion = us-east-1\n"
        ));
        i += 1;
    }
    env.write_credentials(&text);
    let cached = log.run(&env, Some(&sts), &["test", "--", "true"]);
    assert_eq!(cached.code, Some(0), "{cached:?}");
    assert_eq!(sts.count(), 1, "the cached path makes no request");
    assert!(
        cached.elapsed < Duration::from_secs(15),
        "{:?}",
        cached.elapsed
    );
    let forced = log.run(
        &env,
        Some(&sts),
        &["test", "-f", "-t", &fresh_code(), "--", "true"],
    );
    assert_eq!(forced.code, Some(0), "{forced:?}");
    assert!(
        forced.elapsed < Duration::from_secs(30),
        "{:?}",
        forced.elapsed
    );
    let now = env.read_credentials();
    assert_eq!(without(&now, "test"), without(&text, "test"));
    assert_issued_session(&parse(&now), "test", &sts);
    log.check_secrets(&[&sts], &[]);
    eprintln!(
        "reliability: big-file-10mb: {} sections, cached {:?}, forced {:?}",
        i, cached.elapsed, forced.elapsed
    );
    record(
        "big-file-10mb",
        "10 MB, ~100k sections: cached run exit 0 within 15s (bound), no request; forced refresh exit 0 within 30s (bound); everything outside [test] byte-identical",
    );
}

fn bad_file(case: &str, setup: &dyn Fn(&TestEnv)) {
    let sts = FakeSts::start();
    let env = TestEnv::seeded();
    setup(&env);
    let log = Log::default();
    let snap = env.snapshot();
    let out = log.run(
        &env,
        Some(&sts),
        &["test", "-t", "123456", "--", "touch", "ran"],
    );
    let err = norm(&out.error(), &env, Some(&sts));
    assert_eq!(out.code, Some(125), "{out:?}");
    env.assert_unchanged(&snap);
    assert!(!env.home().join("ran").exists());
    assert_eq!(sts.count(), 0);
    log.check_secrets(&[&sts], &[]);
    record(
        case,
        &format!(
            "exit 125; stderr `{}`; unchanged; command not run; no request",
            err.replace('\n', "` / `")
        ),
    );
}

#[test]
fn binary_credentials_file() {
    bad_file("binary-file", &|env| {
        let mut bytes = b"# long-term keys\n[testAccount]\n".to_vec();
        let mut x: u32 = 12345;
        for _ in 0..4096 {
            x = x.wrapping_mul(1103515245).wrapping_add(12345);
            bytes.push((x >> 16) as u8 | 0x80);
        }
        fs::write(env.credentials_path(), bytes).unwrap();
    });
}

#[test]
fn nul_bytes() {
    bad_file("nul-bytes", &|env| {
        env.write_credentials(&format!("{SEED_CREDENTIALS}[other]\nregion = us\0east-1\n"));
    });
}

#[test]
fn directory_as_file() {
    bad_file("directory-as-file", &|env| {
        fs::remove_file(env.credentials_path()).unwrap();
        fs::create_dir(env.credentials_path()).unwrap();
    });
}

#[test]
fn unreadable_file() {
    let case = "unreadable-file";
    if !is_root() {
        skip(case, "needs root to switch to the nobody user");
        return;
    }
    let sts = FakeSts::start();
    let env = TestEnv::seeded();
    for_nobody(&env);
    let bin = match nobody_bin(&env) {
        Ok(bin) => bin,
        Err(why) => {
            skip(case, &why);
            return;
        }
    };
    env.set_mode(&env.credentials_path(), 0o000);
    let log = Log::default();
    let snap = env.snapshot();
    let args = ["test", "-t", "123456", "--", "true"];
    let out = log.exec(nobody_cmd(&env, &sts, &bin, &args), &args);
    let err = norm(&out.error(), &env, Some(&sts));
    assert_eq!(out.code, Some(125), "{out:?}");
    env.assert_unchanged(&snap);
    assert_eq!(sts.count(), 0);
    let root = log.run(&env, Some(&sts), &args);
    log.check_secrets(&[&sts], &[]);
    record(
        case,
        &format!(
            "as nobody: exit 125; stderr `{}`; unchanged; no request. As root a mode-000 file is read anyway (exit {:?})",
            err.replace('\n', "` / `"),
            root.code.unwrap_or(-1)
        ),
    );
}

fn process_fault(case: &str, process: &str, bound: Duration) {
    let sts = FakeSts::start();
    let env = TestEnv::seeded();
    env.write_config(&format!("{SEED_CONFIG}{process}"));
    let log = Log::default();
    let snap = env.snapshot();
    let out = log.run(&env, Some(&sts), &["test", "--", "touch", "ran"]);
    let err = norm(&out.error(), &env, Some(&sts));
    assert_eq!(out.code, Some(125), "{out:?}");
    assert!(out.elapsed < bound, "{:?}", out.elapsed);
    env.assert_unchanged(&snap);
    assert!(!env.home().join("ran").exists());
    assert_eq!(sts.count(), 0);
    log.check_secrets(&[&sts], &[]);
    record(
        case,
        &format!(
            "exit 125 within {}s (bound); stderr `{}`; nothing sent or written; command not run",
            bound.as_secs(),
            err.replace('\n', "` / `")
        ),
    );
}

#[test]
fn mfa_process_garbage() {
    process_fault(
        "mfa-process-garbage",
        "mfa_process = echo 'garbage 12345 1234567 ١٢٣٤٥٦'; head -c 200 /dev/urandom\n",
        Duration::from_secs(20),
    );
}

#[test]
fn mfa_process_hang() {
    process_fault(
        "mfa-process-hang",
        "mfa_process = sleep 60; echo 123456\nmfa_process_timeout = 1\n",
        Duration::from_secs(10),
    );
}

#[test]
fn unicode_digits() {
    let sts = FakeSts::start();
    let env = TestEnv::seeded();
    let log = Log::default();
    let snap = env.snapshot();
    let out = log.run(
        &env,
        Some(&sts),
        &["test", "-t", "١٢٣٤٥٦", "--", "touch", "ran"],
    );
    let full = log.run(
        &env,
        Some(&sts),
        &["test", "-t", "１２３４５６", "--", "touch", "ran"],
    );
    assert_eq!(out.code, Some(125));
    assert_eq!(full.code, Some(125));
    assert_eq!(sts.count(), 0);
    env.assert_unchanged(&snap);
    assert!(!env.home().join("ran").exists());
    log.check_secrets(&[&sts], &[]);
    record(
        "unicode-digits",
        &format!(
            "exit 125; stderr `{}` (full-width digits too); no request, nothing written, command not run",
            out.error().replace('\n', "` / `")
        ),
    );
}
