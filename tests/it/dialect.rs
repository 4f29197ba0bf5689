//! Issue 21 items 11-14: mfa-exec reads the AWS files as botocore does.
//!
//! A differential test: a seeded generator of random but plausible
//! config/credentials pairs (several profiles, both files, the corner cases
//! of the dialect mixed in), read by mfa-exec (the library: the documents,
//! [`Resolver`], its settings and key source) and by botocore from the test
//! venv (`support/botocore_view.py`: `Session.full_config['profiles']` and
//! the credentials it would sign with). Every difference is either absent or
//! one of the recorded decisions below, and then mfa-exec warns about it
//! (the warning is checked, so a silent difference fails):
//!
//! | where botocore reads … | mfa-exec | warning (file:line) |
//! |---|---|---|
//! | a file starting with a UTF-8 BOM as unreadable | skips the BOM | `the file starts with a UTF-8 byte order mark (BOM): the AWS CLI refuses the whole file …` (line 1) |
//! | a lone CR as a line end | refuses the file | the parse error `a carriage return (CR) inside the line …` |
//! | a repeated section or key as an error (strict configparser) | later wins | `… repeats line N …; later wins` |
//! | a `k =` block line without `=` as an error | reads the rest | `this line of the 'k' block … the AWS CLI refuses the whole file` |
//! | a continued value as `first\nrest` | the first line only (decided: botocore's joined value of a key mfa-exec reads is one no AWS API accepts) | `continuation of 'k' (line N) …` |
//! | `[DEFAULT]` keys in every section | a section of its own | `section [DEFAULT]: …` |
//! | `[ x ]` as the name ` x ` | `x` | `[x] has whitespace inside its brackets …` |
//! | a bare config `[P]` as no profile | P's, under `[profile P]` | `[P] is a bare section …` |
//! | `source_profile` without `role_arn` as nothing | keys and device along it | `profile 'P' has source_profile = Q … but no role_arn …` |
//! | `[P-long-term]` (the aws-mfa layout) as a profile of its own | P's long-term keys, first (SPEC §2); botocore must read the same keys there | `explain`'s `long-term keys` line names the section |
//! | `mfa_exec_keys = keyring` as a setting it ignores | the keys of that profile (along P's chain) are in the OS keyring | `explain`'s `long-term keys` line names the keyring |
//! | an IAM Identity Center profile (`sso_*`) with keys as SSO, first | its long-term keys | `profile 'P' has sso_… (…): the AWS CLI signs it in with IAM Identity Center, before any keys; …` |
//! | a source with a session and a role of its own as the source, no further | follows its `source_profile` (long-term keys, SPEC §2) | `profile 'S' holds session credentials (…): the AWS CLI signs with them as the source and reads no further; …` |
//!
//! Besides settings and the keys signed with, the test compares the device
//! (without `--mfa-serial`, mfa-exec's is P's `mfa_serial` as botocore reads
//! it) and the kind of a foreign profile (`sso_*`, `credential_process`:
//! named as such, never "no long-term keys"). A key mismatch is allowed for
//! a recorded difference only when its warning is about a section of a
//! profile along P's chain (by file and line).
//!
//! Besides, mfa-exec refuses what it cannot do for reasons of its own (a
//! session as the source of GetSessionToken, a destination holding other
//! keys): an error where botocore would sign is allowed only for those.
//!
//! Cases: 300 by default, `MFA_EXEC_DIALECT_CASES=N` for more; the seed is
//! `MFA_EXEC_DIALECT_SEED` (printed on a failure). Without the venv the test
//! is skipped, except under `CI=true`, where it fails.

use mfa_exec::ini::Document;
use mfa_exec::profile::{
    config_section_profile, AwsFile, AwsFiles, Foreign, Keys, Request, Resolver,
};
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

/// The venv's python with botocore, or `None` (a skip; a failure under CI).
fn botocore_python() -> Option<PathBuf> {
    let venv = std::env::var_os("MFA_EXEC_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/venv"));
    let python = venv.join("bin/python");
    let ok = std::process::Command::new(&python)
        .args(["-c", "import botocore.session"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI=true: no python with botocore in {} (run scripts/venv.sh)",
            venv.display()
        );
        eprintln!("SKIPPED: no venv with botocore (run scripts/venv.sh; .ci/run always does)");
        return None;
    }
    Some(python)
}

/// A small seeded generator (xorshift64*): the same seed, the same cases.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    /// True with probability `p` percent.
    fn pct(&mut self, p: u64) -> bool {
        self.next() % 100 < p
    }
    fn pick<'a>(&mut self, xs: &[&'a str]) -> &'a str {
        xs[self.below(xs.len())]
    }
}

const NAMES: &[&str] = &["a", "b", "dev", "prod", "default"];
const REGIONS: &[&str] = &["eu-west-1", "us-east-2", "ap-northeast-2", "sa-east-1"];
/// Settings compared between the two views.
const SETTINGS: &[&str] = &[
    "region",
    "mfa_serial",
    "role_arn",
    "source_profile",
    "external_id",
    "duration_seconds",
    "output",
    "mfa_exec_keys",
    "sso_start_url",
    "sso_session",
    "sso_account_id",
    "credential_process",
];

/// One key line (and sometimes continuation lines) in the style of `indent`.
fn key_line(rng: &mut Rng, out: &mut String, indent: &str, key: &str, value: &str, nl: &str) {
    let sep = rng.pick(&[" = ", "=", " =", "= ", ": ", " = "]);
    let tail = if rng.pct(5) {
        rng.pick(&["\x1c", "\x1f", " \x1d", "\t"])
    } else {
        ""
    };
    out.push_str(&format!("{indent}{key}{sep}{value}{tail}{nl}"));
    if rng.pct(4) {
        // A continued value (botocore appends it; mfa-exec warns).
        out.push_str(&format!("{indent}  more{nl}"));
    }
}

fn header(rng: &mut Rng, name: &str, config: bool) -> String {
    if !config {
        return if rng.pct(3) {
            format!("[ {name} ]")
        } else {
            format!("[{name}]")
        };
    }
    if name == "default" && rng.pct(70) {
        return "[default]".into();
    }
    match rng.below(100) {
        0..=7 => format!("[profile \"{name}\"]"),
        8..=11 => format!("[profile  {name}]"),
        12..=14 => format!("[ profile {name} ]"),
        15..=19 => format!("[{name}]"),
        _ => format!("[profile {name}]"),
    }
}

/// One section of profile `name` (its header returned, to repeat it).
fn section(rng: &mut Rng, out: &mut String, name: &str, config: bool, nl: &str) -> String {
    let head = header(rng, name, config);
    out.push_str(&head);
    out.push_str(nl);
    let indent = if rng.pct(10) { "  " } else { "" };
    let mut keys: Vec<(&str, String)> = Vec::new();
    let serial = format!("arn:aws:iam::123456789012:mfa/{name}");
    let role = format!("arn:aws:iam::123456789012:role/{name}");
    let id_kind = if rng.pct(30) { "ASIA" } else { "AKIA" };
    let key_id = format!("{id_kind}{:016}", rng.below(1 << 30));
    let with_keys = if config { rng.pct(15) } else { rng.pct(80) };
    if with_keys {
        keys.push(("aws_access_key_id", key_id));
        if rng.pct(95) {
            keys.push(("aws_secret_access_key", "c2VjcmV0+/=".into()));
        }
        match rng.below(10) {
            0 | 1 => keys.push(("aws_session_token", "dG9rZW4=".into())),
            2 | 3 => keys.push(("aws_security_token", "dG9rZW4=".into())),
            _ => {}
        }
    }
    let settings = if config { 80 } else { 25 };
    if rng.pct(settings) {
        keys.push(("region", rng.pick(REGIONS).into()));
    }
    if rng.pct(settings / 2) {
        keys.push(("mfa_serial", serial));
    }
    if rng.pct(settings / 2) {
        keys.push(("role_arn", role));
        if rng.pct(90) {
            // Itself now and then (item 13).
            let sp = if rng.pct(25) {
                name
            } else if rng.pct(8) {
                // A foreign profile as the source.
                rng.pick(&["sso", "proc"])
            } else {
                rng.pick(NAMES)
            };
            keys.push(("source_profile", sp.into()));
        }
    } else if rng.pct(10) {
        keys.push(("source_profile", rng.pick(NAMES).into()));
    }
    if rng.pct(settings / 4) {
        keys.push(("output", rng.pick(&["json", "text"]).into()));
    }
    if rng.pct(if config { 6 } else { 2 }) {
        // mfa-exec's keyring marker (the AWS CLI does not read the keyring).
        keys.push(("mfa_exec_keys", rng.pick(&["keyring", "file"]).into()));
    }
    if rng.pct(5) {
        keys.push(("s3", String::new()));
    }
    for (k, v) in keys {
        key_line(rng, out, indent, k, &v, nl);
        if k == "s3" {
            out.push_str(&format!("{indent}  addressing_style = path{nl}"));
        }
    }
    if rng.pct(15) {
        out.push_str(&format!("# a comment{nl}"));
    }
    if rng.pct(50) {
        out.push_str(nl);
    }
    head
}

/// A profile another mechanism signs in: IAM Identity Center (`sso`) or a
/// `credential_process` (`proc`, a program that does not exist, or
/// mfa-exec's own form: botocore fails to run either, offline).
fn foreign_section(rng: &mut Rng, out: &mut String, name: &str, nl: &str) {
    out.push_str(&format!("[profile {name}]{nl}"));
    if name == "sso" {
        if rng.pct(50) {
            out.push_str(&format!("sso_start_url = https://d-1234567890.awsapps.com/start{nl}sso_region = us-east-1{nl}"));
        } else {
            out.push_str(&format!("sso_session = corp{nl}"));
        }
        out.push_str(&format!(
            "sso_account_id = 123456789012{nl}sso_role_name = Admin{nl}"
        ));
    } else {
        let cp = rng.pick(&[
            "/nonexistent/aws-vault export --format=json a",
            "/nonexistent/mfa-exec credential-process a",
        ]);
        out.push_str(&format!("credential_process = {cp}{nl}"));
    }
    if rng.pct(50) {
        out.push_str(&format!("region = {}{nl}", rng.pick(REGIONS)));
    }
    if rng.pct(30) {
        out.push_str(&format!(
            "mfa_serial = arn:aws:iam::123456789012:mfa/{name}{nl}"
        ));
    }
}

fn file(rng: &mut Rng, config: bool) -> String {
    let nl = if rng.pct(15) { "\r\n" } else { "\n" };
    let mut out = String::new();
    if rng.pct(2) {
        // A UTF-8 BOM: botocore refuses the file, mfa-exec warns at line 1.
        out.push('\u{feff}');
    }
    if rng.pct(10) {
        out.push_str(&format!("# {}{nl}", if config { "config" } else { "keys" }));
    }
    let mut names: Vec<&str> = NAMES.iter().copied().filter(|_| rng.pct(60)).collect();
    // Shuffle a little.
    if names.len() > 1 && rng.pct(50) {
        let j = rng.below(names.len());
        names.swap(0, j);
    }
    let mut heads = Vec::new();
    for name in names {
        heads.push(section(rng, &mut out, name, config, nl));
        if !config && rng.pct(20) {
            // The aws-mfa layout: P's long-term keys in [P-long-term], its
            // session in [P]; the device beside the keys now and then.
            out.push_str(&format!(
                "[{name}-long-term]{nl}aws_access_key_id = AKIA{:016}{nl}aws_secret_access_key = bHQ={nl}",
                rng.below(1 << 30)
            ));
            if rng.pct(30) {
                out.push_str(&format!(
                    "aws_mfa_device = arn:aws:iam::123456789012:mfa/{name}-lt{nl}"
                ));
            }
        }
    }
    for name in ["sso", "proc"] {
        if config && rng.pct(12) {
            foreign_section(rng, &mut out, name, nl);
        } else if !config && rng.pct(4) {
            out.push_str(&format!(
                "[{name}]{nl}aws_access_key_id = AKIA{:016}{nl}aws_secret_access_key = c{nl}",
                rng.below(1 << 30)
            ));
        }
    }
    if !heads.is_empty() && rng.pct(3) {
        // A header repeated exactly (configparser: DuplicateSectionError).
        let h = heads[rng.below(heads.len())].clone();
        out.push_str(&format!("{h}{nl}output = json{nl}"));
    }
    if rng.pct(4) {
        out.push_str(&format!("[DEFAULT]{nl}region = us-west-1{nl}"));
    }
    if rng.pct(2) {
        // A lone CR inside a line (refused by mfa-exec).
        out.push_str(&format!("[x]{nl}a = 1\rb = 2{nl}"));
    }
    out
}

/// botocore's view of one case (one line of `botocore_view.py`).
#[derive(Debug, serde::Deserialize)]
struct BotoCase {
    error: Option<String>,
    profiles: Option<BTreeMap<String, BotoProfile>>,
}

#[derive(Debug, serde::Deserialize)]
struct BotoProfile {
    settings: BTreeMap<String, String>,
    credentials: BotoCreds,
}

#[derive(Debug, serde::Deserialize)]
struct BotoCreds {
    kind: String,
    access_key: Option<String>,
    token: Option<bool>,
    method: Option<String>,
    role: Option<bool>,
    error: Option<String>,
}

fn aws_file(shown: &str, text: &str) -> Result<AwsFile, String> {
    let doc = Document::read_owned(text.to_string()).map_err(|e| e.to_string())?;
    Ok(AwsFile {
        path: PathBuf::from(shown),
        shown: shown.to_string(),
        doc,
    })
}

/// Every warning mfa-exec gives about the files and profile `name` (what
/// `explain` shows, less the state of the session).
fn warnings_of(files: &AwsFiles, r: &Resolver, name: Option<&str>) -> Vec<String> {
    let mut w = r.config.warnings.clone();
    for d in files.credentials.doc.warnings() {
        w.push(format!("credentials:{}: {}", d.line, d.message));
    }
    if let Some(name) = name {
        w.extend(r.dialect_notes(name));
        let sections = r.config.sections_of(name);
        if !sections.is_empty() && sections.iter().all(|(_, _, bare)| *bare) {
            w.push(format!(
                "config:{}: [{name}] is a bare section",
                sections[0].1
            ));
        }
    }
    w
}

/// mfa-exec errors that are its own requirements, not a reading of the files
/// (README: "mfa-exec also needs long-term keys ... an error of its own").
const OWN_REFUSALS: &[&str] = &[
    "refusing to write the session into",
    "holds only session credentials",
    "mfa-exec will not write into it",
];

/// P and the profiles along its source chain, as mfa-exec or botocore reads
/// them (either side's `source_profile`).
fn chain_of(r: &Resolver, boto: &BTreeMap<String, BotoProfile>, p: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut todo = vec![p.to_string()];
    while let Some(q) = todo.pop() {
        if !out.insert(q.clone()) {
            continue;
        }
        if let Some(f) = r.config.get(&q, "source_profile") {
            todo.push(f.value);
        }
        if let Some(sp) = boto.get(&q).and_then(|b| b.settings.get("source_profile")) {
            todo.push(sp.clone());
        }
    }
    out
}

/// The profile whose section holds `line` of `doc` (a config section by the
/// profile it belongs to).
fn profile_at(doc: &Document, line: usize, config: bool) -> Option<String> {
    let (name, _) = doc.header_iter().take_while(|(_, l)| *l <= line).last()?;
    if config {
        config_section_profile(name).map(|(p, _)| p)
    } else {
        Some(name.to_string())
    }
}

/// Whether a warning of a recorded reading difference (a continued value, a
/// header with whitespace inside its brackets, a bare config section) is
/// about a section of a profile in `chain`, by its file and line.
fn recorded_along(files: &AwsFiles, warnings: &[String], chain: &BTreeSet<String>) -> bool {
    warnings.iter().any(|w| {
        if !(w.contains("continuation of '")
            || w.contains("has whitespace inside")
            || w.contains("is a bare section"))
        {
            return false;
        }
        let (doc, config, rest) = if let Some(rest) = w.strip_prefix("config:") {
            (&files.config.doc, true, rest)
        } else if let Some(rest) = w.strip_prefix("credentials:") {
            (&files.credentials.doc, false, rest)
        } else {
            return false;
        };
        let line = rest.split(':').next().and_then(|n| n.parse().ok());
        line.and_then(|l| profile_at(doc, l, config))
            .is_some_and(|q| chain.contains(&q))
    })
}

/// Compares one case; the differences that are not recorded decisions.
fn compare(config: &str, creds: &str, boto: &BotoCase) -> Vec<String> {
    let mut bad = Vec::new();
    let (c, k) = (aws_file("config", config), aws_file("credentials", creds));
    let (c, k) = match (c, k, &boto.error) {
        (Ok(c), Ok(k), None) => (c, k),
        (Ok(c), Ok(k), Some(e)) => {
            // botocore refuses the file: mfa-exec reads it, and must say why
            // the AWS CLI would not (rows "a file that starts with a UTF-8
            // BOM", "a repeated section or key", "a `k =` block line
            // without `=`").
            let files = AwsFiles {
                config: c,
                credentials: k,
            };
            let r = Resolver::new(&files);
            let w = warnings_of(&files, &r, None);
            // The warning is about the file botocore names ("Unable to parse
            // config file: <dir>/credentials"), with its line.
            let named = if e.ends_with("/credentials") {
                "credentials:"
            } else {
                "config:"
            };
            if !w.iter().any(|w| {
                w.starts_with(named)
                    && (w.contains("repeats") || w.contains("refuses the whole file"))
            }) {
                bad.push(format!(
                    "botocore refuses the files ({e}), mfa-exec reads them without a warning about {named}: {w:?}"
                ));
            }
            return bad;
        }
        (c, k, e) => {
            let ours = [c.err(), k.err()].into_iter().flatten().collect::<Vec<_>>();
            // Row "a lone CR ends a line": the one file mfa-exec refuses
            // where botocore reads it.
            if e.is_none() && !ours.iter().all(|m| m.contains("carriage return (CR)")) {
                bad.push(format!(
                    "mfa-exec refuses the files ({ours:?}), botocore reads them"
                ));
            }
            return bad;
        }
    };
    let files = AwsFiles {
        config: c,
        credentials: k,
    };
    let r = Resolver::new(&files);
    let boto_profiles = boto.profiles.as_ref().expect("profiles");
    let ours: BTreeSet<String> = r.profile_names().into_iter().map(String::from).collect();
    let theirs: BTreeSet<String> = boto_profiles.keys().cloned().collect();
    let file_warnings = warnings_of(&files, &r, None);
    // A profile only mfa-exec has: rows "a bare config [P]", "[ x ]",
    // "[DEFAULT]".
    for p in ours.difference(&theirs) {
        let w = warnings_of(&files, &r, Some(p));
        let warned = w.iter().any(|w| {
            w.contains(&format!("[{p}] is a bare section"))
                || w.contains(&format!("[{p}] has whitespace inside"))
                || w.contains(&format!("[profile {p}] has whitespace inside"))
                || (p == "DEFAULT" && w.contains("section [DEFAULT]"))
        });
        if !warned {
            bad.push(format!(
                "profile '{p}': mfa-exec has it, botocore not, no warning: {w:?}"
            ));
        }
    }
    // A profile only botocore has: rows "[ x ]" and "[profile \"a\"b]".
    for p in theirs.difference(&ours) {
        let t = p.trim();
        if !file_warnings.iter().any(|w| {
            w.contains(&format!("[{t}] has whitespace inside"))
                || w.contains(&format!("as profile '{t}'"))
        }) {
            bad.push(format!(
                "profile '{p}': botocore has it, mfa-exec not, no warning"
            ));
        }
    }
    for p in ours.intersection(&theirs) {
        let b = &boto_profiles[p];
        let w = warnings_of(&files, &r, Some(p));
        // P's source chain as either side reads it.
        let chain = chain_of(&r, boto_profiles, p);
        let continued = |k: &str| {
            w.iter()
                .any(|w| w.contains(&format!("continuation of '{k}'")))
        };
        let default_warned = w.iter().any(|w| w.contains("section [DEFAULT]"));
        // [DEFAULT]'s own value of a key (what configparser copies).
        let default_value = |k: &str| {
            files
                .config
                .doc
                .get("DEFAULT", k)
                .or_else(|| files.credentials.doc.get("DEFAULT", k))
                .map(str::to_string)
        };
        let bare_warned = w
            .iter()
            .any(|w| w.contains(&format!("[{p}] is a bare section")));
        // `[ profile p ]`: a profile to mfa-exec (warned), none to botocore.
        let spaced_warned = w.iter().any(|w| {
            w.contains(&format!("[profile {p}] has whitespace inside"))
                || w.contains(&format!("[{p}] has whitespace inside"))
        });
        for key in SETTINGS {
            let ours = r.config.get(p, key).map(|f| f.value);
            let theirs = b.settings.get(*key).cloned();
            if ours == theirs {
                continue;
            }
            let ok = match (&ours, &theirs) {
                // Rows "[ x ]" and "a bare config [P]" for a section of P
                // (either file): mfa-exec reads a section botocore names
                // otherwise or ignores, so any of P's settings may differ.
                _ if spaced_warned || bare_warned => true,
                // Row "a continued value is first\nrest".
                (Some(o), Some(t)) if t.contains('\n') => {
                    t.split('\n').next() == Some(o.as_str()) && continued(key)
                }
                // Row "[DEFAULT] keys go into every section": botocore has
                // [DEFAULT]'s value.
                (_, Some(t)) if default_warned && default_value(key).as_deref() == Some(t) => true,
                _ => false,
            };
            if !ok {
                bad.push(format!(
                    "profile '{p}' {key}: mfa-exec {ours:?}, botocore {theirs:?}; warnings {w:?}"
                ));
            }
        }
        // Rows "[ x ]" and "a bare config [P]": P's sections differ by a
        // recorded decision (warned), so its credentials do too: not compared.
        if spaced_warned || bare_warned {
            continue;
        }
        // A profile another mechanism signs in: mfa-exec names it so (as
        // botocore reads its settings), and never as "no long-term keys".
        let boto_foreign =
            if b.settings.contains_key("sso_session") || b.settings.contains_key("sso_start_url") {
                Some("sso")
            } else if b.settings.contains_key("credential_process") {
                Some("process")
            } else {
                None
            };
        let ours_foreign = r.foreign(p).map(|f| match f {
            Foreign::Sso(..) => "sso",
            Foreign::Login(_) => "login",
            Foreign::CallsMfaExec(..) | Foreign::Process(_) => "process",
        });
        if boto_foreign != ours_foreign {
            bad.push(format!(
                "profile '{p}': botocore reads it as {boto_foreign:?}, mfa-exec as {ours_foreign:?}"
            ));
        }
        // The credentials botocore would sign with, and mfa-exec's source.
        let req = Request {
            profile: p.clone(),
            mfa_serial_flag: Some("arn:aws:iam::123456789012:mfa/diff".into()),
            ..Default::default()
        };
        let plan = r.resolve(&req);
        if let (Some(kind), Err(e)) = (boto_foreign, &plan) {
            if e.message.starts_with("no long-term keys") {
                bad.push(format!(
                    "profile '{p}' ({kind}): mfa-exec says {:?}, not what signs it in",
                    e.message
                ));
            }
        }
        let ours_key = plan.as_ref().ok().and_then(|plan| match &plan.source.keys {
            Keys::File(k) => Some((plan.source.section.clone(), k.access_key_id.clone())),
            Keys::Keyring { .. } => None,
        });
        let own_refusal =
            |e: &mfa_exec::error::Fail| OWN_REFUSALS.iter().any(|o| e.message.contains(o));
        // A session as a role's source: botocore signs AssumeRole with it;
        // mfa-exec wants long-term keys there (it may need GetSessionToken;
        // README: "an error of its own").
        // Row "a source holding a session and a role": mfa-exec passes over
        // the session (warned) and may fail further along.
        let passed_session = w.iter().any(|w| {
            w.contains("holds session credentials")
                && w.contains("the AWS CLI signs with them as the source and reads no further; mfa-exec needs long-term keys and")
        });
        let session_source = |e: &mfa_exec::error::Fail| {
            b.credentials.token == Some(true)
                && (passed_session
                    || e.message.contains("session")
                    || e.message.contains("no long-term keys"))
        };
        // Row "source_profile without role_arn is ignored".
        let along_source = w.iter().any(|w| w.contains("but no role_arn"));
        // Row "an IAM Identity Center profile with keys".
        let sso_keys = w
            .iter()
            .any(|w| w.contains("signs it in with IAM Identity Center, before any keys"));
        // A recorded difference (each warned: a continued value, a spaced
        // header, a bare section) in a section of a profile along P's chain
        // may change which keys P ends at: the key comparisons allow a
        // mismatch then, and only then.
        let all: Vec<String> = file_warnings.iter().chain(&w).cloned().collect();
        let recorded = recorded_along(&files, &all, &chain);
        // The device: without --mfa-serial, mfa-exec's is P's own
        // mfa_serial when botocore reads one (botocore's AssumeRole uses
        // P's; a GetSessionToken profile's is P's first, SPEC §2).
        if let (Ok(_), Some(t)) = (&plan, b.settings.get("mfa_serial")) {
            if !t.contains('\n') {
                let dev = r.resolve(&Request {
                    profile: p.clone(),
                    ..Default::default()
                });
                let ours = dev.as_ref().map(|d| d.serial().map(String::from));
                if ours.as_ref().ok() != Some(&Some(t.clone())) {
                    bad.push(format!(
                        "profile '{p}': device {:?}, botocore's mfa_serial {t:?}",
                        ours.map_err(|e| e.message.clone())
                    ));
                }
            }
        }
        let c = &b.credentials;
        // A continued key id: botocore signs with `id\nrest` (which AWS
        // refuses), mfa-exec with the first line; warned.
        let mut c = BotoCreds {
            kind: c.kind.clone(),
            access_key: c.access_key.clone(),
            token: c.token,
            method: c.method.clone(),
            role: c.role,
            error: c.error.clone(),
        };
        if let Some(k) = c.access_key.clone().filter(|k| k.contains('\n')) {
            if continued("aws_access_key_id") {
                c.access_key = k.split('\n').next().map(String::from);
            }
        }
        let c = &c;
        let what = format!(
            "profile '{p}': botocore {c:?}, mfa-exec {:?}",
            plan.as_ref()
                .map(|plan| match &plan.source.keys {
                    Keys::File(_) => format!("{ours_key:?}"),
                    Keys::Keyring { account } => format!("keyring {account}"),
                })
                .map_err(|e| e.message.clone())
        );
        if let Ok(plan) = &plan {
            if let Keys::Keyring { account } = &plan.source.keys {
                // Row "mfa_exec_keys = keyring": the keys are in the OS
                // keyring, which the AWS CLI does not read. The marker is a
                // setting of that profile along P's chain as botocore reads
                // it, and a role is a role on both sides.
                let marked = chain.contains(account)
                    && boto_profiles
                        .get(account)
                        .and_then(|b| b.settings.get("mfa_exec_keys"))
                        .is_some_and(|v| v.eq_ignore_ascii_case("keyring"));
                let role_ok = match (c.kind.as_str(), c.role) {
                    ("keys", Some(role)) => role == plan.is_role(),
                    _ => true,
                };
                if !(marked || recorded) || !role_ok {
                    bad.push(format!("{what}: keyring keys without the marker"));
                }
                continue;
            }
        }
        // Row "[P-long-term]": mfa-exec takes P's long-term keys from there
        // first (the aws-mfa layout, SPEC §2); botocore reads the section
        // as a profile of its own, and must sign with the same keys there.
        // The section is that of P (of a profile along the chain for a role,
        // or along a source_profile without role_arn).
        let is_role = plan.as_ref().is_ok_and(|plan| plan.is_role());
        let lt_ok = ours_key
            .as_ref()
            .filter(|(s, _)| s.ends_with("-long-term"))
            .map(|(s, k)| {
                let q = s.trim_end_matches("-long-term");
                (s == p || q == p || ((is_role || along_source) && chain.contains(q)))
                    && boto_profiles.get(s).is_some_and(|b| {
                        b.credentials.kind == "keys"
                            && b.credentials.token == Some(false)
                            && b.credentials.access_key.as_deref() == Some(k.as_str())
                    })
            });
        if lt_ok == Some(false) {
            bad.push(format!(
                "{what}: mfa-exec's source section is not P's, or botocore reads other keys there"
            ));
        }
        let lt = lt_ok == Some(true);
        match (c.kind.as_str(), c.role, &plan) {
            ("error", _, Ok(_)) => {
                // botocore refuses the profile (a loop, a missing source, no
                // keys, a program or sign-in it cannot run offline):
                // mfa-exec must not sign either, unless it takes keys
                // along a source_profile without role_arn or from
                // [P-long-term], a recorded difference along the chain made
                // botocore's name or key unusable, or a partial pair beside
                // a session is skipped for long-term keys elsewhere (all
                // recorded, warned or mfa-exec's own rule).
                let partial = c
                    .error
                    .as_deref()
                    .is_some_and(|e| e.contains("PartialCredentials"));
                if !recorded && !partial && !along_source && !lt && !sso_keys {
                    bad.push(format!("{what}: botocore refuses, mfa-exec resolves"));
                }
            }
            ("error", _, Err(_)) => {}
            ("keys", Some(true), Ok(plan)) => {
                let key = c.access_key.clone().unwrap_or_default();
                let ours = ours_key.as_ref().map(|k| &k.1);
                // botocore may take a session as the role's source; mfa-exec
                // skips a session for long-term keys (SPEC §2 order), and
                // never takes the session's key id.
                let session = c.token == Some(true);
                if !plan.is_role() {
                    bad.push(format!("{what}: not a role to mfa-exec"));
                } else if session && ours == Some(&key) {
                    bad.push(format!("{what}: a session taken as long-term keys"));
                } else if !session && !recorded && !lt && ours != Some(&key) {
                    bad.push(format!("{what}: a different role source"));
                }
            }
            ("keys", Some(true), Err(e)) => {
                if !own_refusal(e) && !session_source(e) && !recorded {
                    bad.push(format!("{what}: botocore signs, mfa-exec refuses"));
                }
            }
            ("keys", Some(false), Ok(plan)) => {
                let key = c.access_key.clone().unwrap_or_default();
                let token = c.token.unwrap_or(false);
                let from = c.method.as_deref().unwrap_or("");
                let ours = ours_key.clone().unwrap_or_default();
                if plan.is_role() {
                    bad.push(format!("{what}: mfa-exec assumes a role"));
                } else if token {
                    // A session: never long-term keys to sign GetSessionToken.
                    let same_place = (from == "shared-credentials-file" && ours.0 == *p)
                        || (from == "config-file" && ours.0 == format!("profile {p}"));
                    if same_place && ours.1 == key {
                        bad.push(format!("{what}: a session taken as long-term keys"));
                    }
                } else if ours.1 != key && !along_source && !lt {
                    bad.push(format!("{what}: different keys"));
                }
            }
            ("keys", Some(false), Err(e)) => {
                if !c.token.unwrap_or(false) && !own_refusal(e) && !along_source {
                    bad.push(format!("{what}: botocore signs, mfa-exec refuses"));
                }
            }
            ("none", _, Ok(plan)) => {
                if plan.is_role() || !(along_source || lt) {
                    bad.push(format!(
                        "{what}: botocore has no credentials, mfa-exec resolves"
                    ));
                }
            }
            ("none", _, Err(_)) => {}
            other => bad.push(format!("{what}: unexpected {:?}", other.0)),
        }
    }
    bad
}

#[test]
fn botocore_reads_what_mfa_exec_reads() {
    let Some(python) = botocore_python() else {
        return;
    };
    let cases: usize = std::env::var("MFA_EXEC_DIALECT_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(300);
    let seed: u64 = std::env::var("MFA_EXEC_DIALECT_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(21);
    let dir = tempfile::tempdir().unwrap();
    let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
    let mut texts = Vec::new();
    let mut paths = Vec::new();
    for i in 0..cases {
        let case = dir.path().join(format!("c{i}"));
        std::fs::create_dir(&case).unwrap();
        let (config, creds) = (file(&mut rng, true), file(&mut rng, false));
        std::fs::write(case.join("config"), &config).unwrap();
        std::fs::write(case.join("credentials"), &creds).unwrap();
        texts.push((config, creds));
        paths.push(case);
    }
    let script =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/it/support/botocore_view.py");
    let mut views = Vec::new();
    // A few hundred directories a call (argv stays short).
    for chunk in paths.chunks(200) {
        let out = std::process::Command::new(&python)
            .arg(&script)
            .args(chunk)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "botocore_view.py failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        for line in String::from_utf8(out.stdout).unwrap().lines() {
            views.push(serde_json::from_str::<BotoCase>(line).unwrap());
        }
    }
    assert_eq!(views.len(), cases);
    let mut failures = Vec::new();
    let mut compared = 0;
    for (i, ((config, creds), boto)) in texts.iter().zip(&views).enumerate() {
        if let Some(p) = &boto.profiles {
            compared += p.len();
        }
        for d in compare(config, creds, boto) {
            failures.push(format!(
                "case {i} (seed {seed}):\n--- config\n{config}--- credentials\n{creds}--- {d}\n"
            ));
        }
    }
    if let Some(path) = std::env::var_os("MFA_EXEC_DIALECT_DUMP") {
        std::fs::write(path, failures.join("\n")).unwrap();
    }
    eprintln!(
        "dialect: {cases} cases, {compared} profiles compared, {} differences",
        failures.len()
    );
    assert!(
        failures.is_empty(),
        "{} differences not recorded as decisions:\n{}",
        failures.len(),
        failures
            .iter()
            .take(5)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
}

/// Items 11-14 through the binary: `explain` names the credentials file and
/// line of a merged setting, a self-sourced role resolves, a session made of
/// `aws_security_token` is never signed with, indented keys are read, and
/// the warnings say file and line.
#[test]
fn explain_reads_the_botocore_layout() {
    use crate::support::*;
    let env = TestEnv::new();
    env.write_config("[profile r]\n  role_arn = arn:aws:iam::123456789012:role/R\n  source_profile = r\n  mfa_serial = arn:aws:iam::123456789012:mfa/r\n[DEFAULT]\nregion = us-west-1\n");
    env.write_credentials("[r]\naws_access_key_id = AKIAR000000000000000\naws_secret_access_key = s\nregion = eu-west-1\n\n[old]\naws_access_key_id = AKIAOLD0000000000000\naws_secret_access_key = s\naws_security_token = t\n");
    let snap = env.snapshot();
    let out = env.cmd(&["explain", "r"]).output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(0), "{text}");
    let line = |fact: &str| {
        text.lines()
            .find(|l| l.starts_with(&format!("{fact} ")))
            .unwrap_or_else(|| panic!("no {fact} in\n{text}"))
            .to_string()
    };
    assert!(
        line("region").ends_with("eu-west-1  (~/.aws/credentials:4 [r])"),
        "{text}"
    );
    assert!(
        line("role").contains(
            "arn:aws:iam::123456789012:role/R via profile r  (~/.aws/config:2 [profile r])"
        ),
        "{text}"
    );
    assert!(line("long-term keys").contains("[r] (profile r)"), "{text}");
    assert!(text.contains("warning         ~/.aws/config:5: section [DEFAULT]: the AWS CLI (configparser) copies its keys into every section; mfa-exec reads it as a section of its own"), "{text}");
    // A pair with aws_security_token is a session: no long-term keys.
    env.write_config("[profile old]\nmfa_serial = arn:aws:iam::123456789012:mfa/old\n");
    let out = env.cmd(&["explain", "old", "--json"]).output().unwrap();
    assert_eq!(out.status.code(), Some(125));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        v["problem"]["message"],
        "no long-term keys for profile 'old': [old] in ~/.aws/credentials:7 holds a session (aws_security_token, no expiry, as 'aws configure mfa-login' writes), not long-term keys; STS refuses GetSessionToken with a session"
    );
    env.write_config("[profile r]\n  role_arn = arn:aws:iam::123456789012:role/R\n  source_profile = r\n  mfa_serial = arn:aws:iam::123456789012:mfa/r\n[DEFAULT]\nregion = us-west-1\n");
    env.assert_unchanged(&snap);
}

/// A UTF-8 BOM (issue 21): botocore refuses the file ("Unable to parse
/// config file"); mfa-exec reads it and warns at line 1 of each file that
/// has one (as `explain` shows it, text and JSON); nothing on disk changes.
#[test]
fn a_bom_is_warned_at_line_1() {
    use crate::support::*;
    let env = TestEnv::new();
    env.write_config(
        "\u{feff}[profile b]\nmfa_serial = arn:aws:iam::123456789012:mfa/b\nregion = eu-west-1\n",
    );
    env.write_credentials(
        "\u{feff}[b]\naws_access_key_id = AKIAB000000000000000\naws_secret_access_key = s\n",
    );
    let snap = env.snapshot();
    let out = env.cmd(&["explain", "b"]).output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(0), "{text}");
    let bom = "the file starts with a UTF-8 byte order mark (BOM): the AWS CLI refuses the whole file (\"Unable to parse config file\"); mfa-exec skips the BOM (save the file as UTF-8 without a BOM)";
    for file in ["config", "credentials"] {
        assert!(
            text.contains(&format!("warning         ~/.aws/{file}:1: {bom}\n")),
            "{text}"
        );
    }
    assert!(
        text.lines()
            .any(|l| l.starts_with("region ")
                && l.ends_with("eu-west-1  (~/.aws/config:3 [profile b])")),
        "{text}"
    );
    let out = env.cmd(&["explain", "b", "--json"]).output().unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let warns: Vec<&str> = v["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w.as_str().unwrap())
        .collect();
    assert_eq!(
        warns,
        [
            format!("~/.aws/config:1: {bom}"),
            format!("~/.aws/credentials:1: {bom}")
        ]
    );
    env.assert_unchanged(&snap);
}

/// An IAM Identity Center profile with long-term keys: botocore's SSO
/// provider comes before the credentials file (offline it fails), mfa-exec
/// takes the keys; `explain` says so, with file and line.
#[test]
fn an_sso_profile_with_keys_is_warned() {
    use crate::support::*;
    let env = TestEnv::new();
    env.write_config("[profile s]\nsso_start_url = https://d-1234567890.awsapps.com/start\nsso_region = us-east-1\nmfa_serial = arn:aws:iam::123456789012:mfa/s\n");
    env.write_credentials(
        "[s-long-term]\naws_access_key_id = AKIAS000000000000000\naws_secret_access_key = s\n",
    );
    let snap = env.snapshot();
    let out = env.cmd(&["explain", "s"]).output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("warning         profile 's' has sso_start_url (~/.aws/config:2 [profile s]): the AWS CLI signs it in with IAM Identity Center, before any keys; mfa-exec uses its long-term keys\n"), "{text}");
    // Without keys it is named as what it is.
    env.write_credentials("");
    let out = env.cmd(&["explain", "s"]).output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(125), "{text}");
    assert!(!text.contains("before any keys"), "{text}");
    assert!(
        text.contains(
            "'s' is an IAM Identity Center profile (sso_start_url, ~/.aws/config:2 [profile s])"
        ),
        "{text}"
    );
    env.write_credentials(
        "[s-long-term]\naws_access_key_id = AKIAS000000000000000\naws_secret_access_key = s\n",
    );
    env.assert_unchanged(&snap);
}

/// A run over a credentials file with a BOM: the warning on stderr (each
/// run), and the session written after the BOM and the user's lines, which
/// stay byte for byte.
#[test]
fn a_run_warns_about_a_bom_and_keeps_it() {
    use crate::support::*;
    let sts = FakeSts::start();
    let env = TestEnv::seeded();
    let creds = format!("\u{feff}{SEED_CREDENTIALS}");
    env.write_credentials(&creds);
    let out = env
        .cmd_with_sts(&["test", "-t", "123456", "--", "true"], &sts)
        .output()
        .unwrap();
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(
        err.starts_with("mfa-exec: warning: ~/.aws/credentials:1: the file starts with a UTF-8 byte order mark (BOM): the AWS CLI refuses the whole file (\"Unable to parse config file\"); mfa-exec skips the BOM (save the file as UTF-8 without a BOM)\n"),
        "{err}"
    );
    assert_eq!(sts.count(), 1);
    let after = env.read_credentials();
    assert!(after.starts_with(&creds), "{after:?}");
    assert!(after[creds.len()..].contains("[test]"), "{after:?}");
    assert_eq!(after.matches('\u{feff}').count(), 1, "{after:?}");
}
