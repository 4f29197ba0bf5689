//! Resolution of whole profiles, from config and credentials text to a
//! [`Plan`] or the exact error.

use super::*;
use crate::ini::Document;

pub const SEED_CONFIG: &str = "# seed layout from the blog post\n[testAccount]\nmfa_arn = arn:aws:iam::123456789012:mfa/test\n\n[profile test]\nuser_arn = arn:aws:iam::123456789012:user/test\nsource_profile = testAccount\nregion = ap-northeast-2\n";
pub const SEED_CREDS: &str = "# long-term keys\n[testAccount]\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\naws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n";

fn files(config: &str, creds: &str) -> AwsFiles {
    AwsFiles {
        config: AwsFile {
            path: "/h/.aws/config".into(),
            shown: "~/.aws/config".into(),
            doc: Document::parse(config).unwrap(),
        },
        credentials: AwsFile {
            path: "/h/.aws/credentials".into(),
            shown: "~/.aws/credentials".into(),
            doc: Document::parse(creds).unwrap(),
        },
    }
}

fn req(p: &str) -> Request {
    Request {
        profile: p.into(),
        ..Default::default()
    }
}

fn resolve(config: &str, creds: &str, r: Request) -> R<Plan> {
    let f = files(config, creds);
    Resolver::new(&f).resolve(&r)
}

#[test]
fn seed_layout() {
    let p = resolve(SEED_CONFIG, SEED_CREDS, req("test")).unwrap();
    assert_eq!(p.source.profile, "testAccount");
    assert_eq!(p.source.section, "testAccount");
    assert_eq!(
        p.source.file_keys().unwrap().access_key_id,
        "AKIAIOSFODNN7EXAMPLE"
    );
    assert_eq!(p.serial(), Some("arn:aws:iam::123456789012:mfa/test"));
    assert_eq!(
        p.serial.as_ref().unwrap().origin,
        Origin::File {
            file: "~/.aws/config".into(),
            line: 3,
            section: "testAccount".into()
        }
    );
    assert_eq!(p.destination, "test");
    assert_eq!(p.region.as_ref().unwrap().value, "ap-northeast-2");
    assert_eq!(p.sts_region.value, "ap-northeast-2");
    assert_eq!(p.duration.value, 43200);
    assert_eq!(p.min_remaining.value, 900);
    assert!(!p.is_role());
    // The bare [testAccount] is not P's own section: no warning about P.
    assert!(p.warnings.is_empty(), "{:?}", p.warnings);
}

#[test]
fn seed_after_first_run_still_resolves() {
    let creds = format!("{SEED_CREDS}\n[test]\naws_access_key_id = ASIAXXXXXXXXXXXXXXXX\naws_secret_access_key = s\naws_session_token = t\nx_mfa_exec_source = testAccount\n");
    let p = resolve(SEED_CONFIG, &creds, req("test")).unwrap();
    assert_eq!(p.source.profile, "testAccount");
    assert_eq!(p.destination, "test");
}

#[test]
fn aws_mfa_long_term_layout() {
    let creds = "[prod-long-term]\naws_access_key_id = AKIAPROD00000000000\naws_secret_access_key = sec\naws_mfa_device = arn:aws:iam::123456789012:mfa/prod\n\n[prod]\naws_access_key_id = ASIAOLD\naws_secret_access_key = x\naws_session_token = y\nexpiration = 2020-01-01 00:00:00\n";
    let p = resolve("", creds, req("prod")).unwrap();
    assert_eq!(p.source.profile, "prod");
    assert_eq!(p.source.section, "prod-long-term");
    assert_eq!(p.serial(), Some("arn:aws:iam::123456789012:mfa/prod"));
    assert_eq!(p.destination, "prod");
}

#[test]
fn bare_long_term_default_goes_to_default_mfa() {
    let config = "[default]\nmfa_serial = arn:aws:iam::123456789012:mfa/me\nregion = us-west-2\n";
    let creds =
        "[default]\naws_access_key_id = AKIADEFAULT000000000\naws_secret_access_key = sec\n";
    let p = resolve(config, creds, req("default")).unwrap();
    assert_eq!(p.destination, "default-mfa");
    assert_eq!(p.source.profile, "default");
    assert_eq!(p.region.unwrap().value, "us-west-2");
}

#[test]
fn role_profile_goes_to_p_mfa() {
    let config = format!("{SEED_CONFIG}\n[profile prod]\nrole_arn = arn:aws:iam::210987654321:role/admin\nsource_profile = testAccount\nmfa_serial = arn:aws:iam::123456789012:mfa/test\nregion = eu-west-1\nduration_seconds = 3600\n");
    let p = resolve(&config, SEED_CREDS, req("prod")).unwrap();
    assert_eq!(p.destination, "prod-mfa");
    assert_eq!(p.source_destination, "testAccount-mfa");
    assert_eq!(p.roles.len(), 1);
    assert_eq!(
        p.roles[0].role_arn.value,
        "arn:aws:iam::210987654321:role/admin"
    );
    assert_eq!(p.duration.value, 3600);
    assert_eq!(p.source_duration.value, 43200);
    assert!(!p.direct_assume());
    assert_eq!(
        p.marker().role_arn.as_deref(),
        Some("arn:aws:iam::210987654321:role/admin")
    );
}

#[test]
fn role_chain() {
    let config = format!("{SEED_CONFIG}\n[profile mid]\nrole_arn = arn:aws:iam::111111111111:role/mid\nsource_profile = testAccount\n\n[profile prod]\nrole_arn = arn:aws:iam::222222222222:role/top\nsource_profile = mid\n");
    let p = resolve(&config, SEED_CREDS, req("prod")).unwrap();
    let hops: Vec<_> = p.roles.iter().map(|h| h.profile.as_str()).collect();
    assert_eq!(hops, ["mid", "prod"]);
    assert_eq!(p.source.profile, "testAccount");
    assert_eq!(p.serial(), Some("arn:aws:iam::123456789012:mfa/test"));
}

#[test]
fn long_term_destination_refused() {
    let creds = format!("{SEED_CREDS}\n[test]\naws_access_key_id = AKIASOMEONEELSE00000\naws_secret_access_key = theirs\n");
    // [test] holds long-term keys, so the session would go to [test-mfa]:
    let p = resolve(SEED_CONFIG, &creds, req("test")).unwrap();
    assert_eq!(p.destination, "test-mfa");
    assert_eq!(p.source.profile, "test");
    // ...and a [test-mfa] with someone's long-term keys is refused.
    let creds = format!("{creds}\n[test-mfa]\naws_access_key_id = AKIASOMEONEELSE00001\naws_secret_access_key = theirs\n");
    let e = resolve(SEED_CONFIG, &creds, req("test")).unwrap_err();
    assert_eq!(
        e.message,
        "refusing to write the session into [test-mfa] (~/.aws/credentials:10): it holds long-term keys"
    );
}

#[test]
fn foreign_session_may_be_overwritten() {
    let creds = format!("{SEED_CREDS}\n[test]\naws_access_key_id = ASIAFOREIGN000000000\naws_secret_access_key = x\naws_session_token = y\n");
    assert!(resolve(SEED_CONFIG, &creds, req("test")).is_ok());
    let creds = format!("{SEED_CREDS}\n[test]\nregion = x\n");
    let e = resolve(SEED_CONFIG, &creds, req("test")).unwrap_err();
    assert!(
        e.message
            .contains("it holds settings that are not a session"),
        "{}",
        e.message
    );
}

#[test]
fn cycle() {
    let config = "[profile a]\nsource_profile = b\nmfa_serial = arn:aws:iam::123456789012:mfa/a\n[profile b]\nsource_profile = c\n[profile c]\nsource_profile = a\n";
    let e = resolve(config, "", req("a")).unwrap_err();
    assert_eq!(
        e.message,
        "source_profile cycle: a -> b -> c -> a (in ~/.aws/config)"
    );
}

#[test]
fn unknown_with_suggestion() {
    let e = resolve(SEED_CONFIG, SEED_CREDS, req("tset")).unwrap_err();
    assert_eq!(
        e.message,
        "profile 'tset' not found in ~/.aws/config or ~/.aws/credentials"
    );
    assert_eq!(e.hint.as_deref(), Some("did you mean 'test'?"));
    let e = resolve(SEED_CONFIG, SEED_CREDS, req("zzzzzzzzzz")).unwrap_err();
    assert_eq!(
        e.hint.as_deref(),
        Some("run 'mfa-exec list' to see the profiles")
    );
}

#[test]
fn no_device() {
    let config = "[profile test]\nsource_profile = base\n";
    let creds = "[base]\naws_access_key_id = AKIABASE000000000000\naws_secret_access_key = s\n";
    let e = resolve(config, creds, req("test")).unwrap_err();
    assert_eq!(
        e.message,
        "profile 'test' has no MFA device: set mfa_serial in [profile test] of ~/.aws/config"
    );
}

#[test]
fn device_order() {
    let config = "[default]\nmfa_serial = arn:aws:iam::123456789012:mfa/default\n[profile test]\nsource_profile = base\n";
    let creds = "[base]\naws_access_key_id = AKIABASE000000000000\naws_secret_access_key = s\n";
    let p = resolve(config, creds, req("test")).unwrap();
    assert_eq!(p.serial(), Some("arn:aws:iam::123456789012:mfa/default"));
    let mut r = req("test");
    r.mfa_serial_env = Some("arn:aws:iam::123456789012:mfa/env".into());
    assert_eq!(
        resolve(config, creds, r.clone()).unwrap().serial(),
        Some("arn:aws:iam::123456789012:mfa/env")
    );
    r.mfa_serial_flag = Some("arn:aws:iam::123456789012:mfa/flag".into());
    let p = resolve(config, creds, r.clone()).unwrap();
    assert_eq!(p.serial(), Some("arn:aws:iam::123456789012:mfa/flag"));
    assert_eq!(p.serial.unwrap().origin, Origin::Flag("--mfa-serial"));
    r.mfa_serial_flag = Some("bad serial!".into());
    let e = resolve(config, creds, r).unwrap_err();
    assert!(
        e.message
            .starts_with("invalid MFA device 'bad serial!' (from --mfa-serial)"),
        "{}",
        e.message
    );
}

#[test]
fn no_keys_lists_places() {
    let config = "[profile test]\nmfa_serial = arn:aws:iam::123456789012:mfa/t\n";
    let e = resolve(config, "", req("test")).unwrap_err();
    assert_eq!(
        e.message,
        "no long-term keys for profile 'test': searched [test-long-term], [test] in ~/.aws/credentials, and [profile test] in ~/.aws/config"
    );
}

#[test]
fn session_only_source() {
    let config =
        "[profile test]\nsource_profile = base\nmfa_serial = arn:aws:iam::123456789012:mfa/t\n";
    let creds = "[base]\naws_access_key_id = ASIABASE000000000000\naws_secret_access_key = s\naws_session_token = t\n";
    let e = resolve(config, creds, req("test")).unwrap_err();
    assert_eq!(e.message, "[base] in ~/.aws/credentials holds only session credentials (aws_session_token); STS refuses GetSessionToken with them");
}

#[test]
fn durations_and_regions() {
    let mut r = req("test");
    r.duration_flag = Some(100);
    let e = resolve(SEED_CONFIG, SEED_CREDS, r).unwrap_err();
    assert_eq!(
        e.message,
        "GetSessionToken duration 1m40s (from --duration) is out of range: 15m to 36h"
    );
    let mut r = req("test");
    r.min_remaining_flag = Some(3600);
    r.duration_flag = Some(3600);
    let e = resolve(SEED_CONFIG, SEED_CREDS, r).unwrap_err();
    assert_eq!(
        e.message,
        "--min-remaining (1h) must be shorter than the session duration (1h, from --duration)"
    );
    let mut r = req("test");
    r.region_env = Some(("AWS_REGION", "us-west-1".into()));
    assert_eq!(
        resolve(SEED_CONFIG, SEED_CREDS, r.clone())
            .unwrap()
            .region
            .unwrap()
            .value,
        "us-west-1"
    );
    r.outer_profile = Some("other".into());
    assert_eq!(
        resolve(SEED_CONFIG, SEED_CREDS, r.clone())
            .unwrap()
            .region
            .unwrap()
            .value,
        "ap-northeast-2"
    );
    r.region_flag = Some("eu-central-1".into());
    assert_eq!(
        resolve(SEED_CONFIG, SEED_CREDS, r)
            .unwrap()
            .region
            .unwrap()
            .value,
        "eu-central-1"
    );
}

#[test]
fn duplicate_destination_refused() {
    let creds = format!("{SEED_CREDS}\n[test]\nx_mfa_exec_source = testAccount\n[test]\nx_mfa_exec_source = testAccount\n");
    let e = resolve(SEED_CONFIG, &creds, req("test")).unwrap_err();
    assert_eq!(e.message, "[test] appears twice in ~/.aws/credentials (lines 6 and 8); mfa-exec will not write into it");
}

#[test]
fn default_and_profile_default_merge() {
    let config = "[default]\nregion = a\n[profile default]\nregion = b\nmfa_serial = arn:aws:iam::123456789012:mfa/d\n";
    let creds = "[default]\naws_access_key_id = AKIADEFAULT000000000\naws_secret_access_key = s\n";
    let p = resolve(config, creds, req("default")).unwrap();
    assert_eq!(p.region.unwrap().value, "b");
    assert!(p
        .warnings
        .iter()
        .any(|w| w.contains("[default] and [profile default]")));
}

#[test]
fn bad_role_arn() {
    let config = format!("{SEED_CONFIG}\n[profile prod]\nrole_arn = arn:aws:iam::21098:role/admin\nsource_profile = testAccount\n");
    let e = resolve(&config, SEED_CREDS, req("prod")).unwrap_err();
    assert!(
        e.message
            .starts_with("invalid role_arn 'arn:aws:iam::21098:role/admin' of profile 'prod'"),
        "{}",
        e.message
    );
}

/// Issue 21 item 11: `aws_security_token` is a session token (as botocore
/// reads it), so a pair with it is never long-term keys.
#[test]
fn security_token_is_a_session() {
    let config =
        "[profile test]\nsource_profile = base\nmfa_serial = arn:aws:iam::123456789012:mfa/t\n";
    let creds = "[base]\naws_access_key_id = ASIABASE000000000000\naws_secret_access_key = s\naws_security_token = t\n";
    let e = resolve(config, creds, req("test")).unwrap_err();
    assert_eq!(e.message, "[base] in ~/.aws/credentials holds only session credentials (aws_security_token); STS refuses GetSessionToken with them");
    // In the config file too: no long-term pair there.
    let config = "[profile test]\nmfa_serial = arn:aws:iam::123456789012:mfa/t\naws_access_key_id = ASIABASE000000000000\naws_secret_access_key = s\naws_security_token = t\n";
    let e = resolve(config, "", req("test")).unwrap_err();
    assert!(
        e.message
            .starts_with("no long-term keys for profile 'test'"),
        "{}",
        e.message
    );
    // Long-term keys in [base-long-term] are still found past the session.
    let creds = format!("[base-long-term]\naws_access_key_id = AKIABASE000000000000\naws_secret_access_key = s\n{creds}");
    let config =
        "[profile test]\nsource_profile = base\nmfa_serial = arn:aws:iam::123456789012:mfa/t\n";
    let p = resolve(config, &creds, req("test")).unwrap();
    assert_eq!(p.source.section, "base-long-term");
}

/// Issue 21 item 12: settings in the credentials file's `[P]` are P's, over
/// its config sections (botocore's `full_config` merge), with their origin.
#[test]
fn credentials_settings_are_merged() {
    let config = "[profile r]\nsource_profile = base\nregion = us-east-2\n";
    let creds = "[base]\naws_access_key_id = AKIABASE000000000000\naws_secret_access_key = s\nmfa_serial = arn:aws:iam::123456789012:mfa/base\n\n[r]\nrole_arn = arn:aws:iam::123456789012:role/R\nregion = eu-west-1\n";
    let p = resolve(config, creds, req("r")).unwrap();
    assert_eq!(p.roles.len(), 1);
    assert_eq!(
        p.roles[0].role_arn.origin.to_string(),
        "~/.aws/credentials:7 [r]"
    );
    let region = p.region.unwrap();
    assert_eq!(region.value, "eu-west-1");
    assert_eq!(region.origin.to_string(), "~/.aws/credentials:8 [r]");
    let serial = p.serial.unwrap();
    assert_eq!(serial.value, "arn:aws:iam::123456789012:mfa/base");
    assert_eq!(serial.origin.to_string(), "~/.aws/credentials:4 [base]");
    // A profile only in the credentials file, with its settings there.
    // (A non-role profile's session never goes into a [P] of settings: the
    // keys are here, so it goes to [solo-mfa].)
    let creds = "[solo]\naws_access_key_id = AKIASOLO000000000000\naws_secret_access_key = s\nmfa_serial = arn:aws:iam::123456789012:mfa/solo\nregion = sa-east-1\n";
    let p = resolve("", creds, req("solo")).unwrap();
    assert_eq!(
        p.serial.unwrap().value,
        "arn:aws:iam::123456789012:mfa/solo"
    );
    assert_eq!(p.region.unwrap().value, "sa-east-1");
    assert_eq!(p.source.section, "solo");
    assert_eq!(p.destination, "solo-mfa");
}

/// Issue 21 item 13: a role profile whose source_profile is itself uses its
/// own keys (botocore), not a cycle error.
#[test]
fn role_profile_sourced_by_itself() {
    let config = "[profile r]\nrole_arn = arn:aws:iam::123456789012:role/R\nsource_profile = r\nmfa_serial = arn:aws:iam::123456789012:mfa/r\n";
    let creds = "[r]\naws_access_key_id = AKIAR000000000000000\naws_secret_access_key = s\n";
    let p = resolve(config, creds, req("r")).unwrap();
    assert_eq!(p.roles.len(), 1);
    assert_eq!(p.roles[0].profile, "r");
    assert_eq!(p.source.profile, "r");
    assert_eq!(p.source.section, "r");
    assert_eq!(p.destination, "r-mfa");
    assert_eq!(p.source_destination, "r-source-mfa");
    // A role whose source is it: its keys are used, its role not assumed
    // (botocore: static keys win in a source profile).
    let config = format!(
        "{config}[profile top]\nrole_arn = arn:aws:iam::123456789012:role/T\nsource_profile = r\n"
    );
    let p = resolve(&config, creds, req("top")).unwrap();
    assert_eq!(
        p.roles
            .iter()
            .map(|h| h.profile.as_str())
            .collect::<Vec<_>>(),
        ["top"]
    );
    assert_eq!(p.source.profile, "r");
    // Still a cycle when it goes through another profile.
    let config = "[profile a]\nrole_arn = arn:aws:iam::123456789012:role/A\nsource_profile = b\n[profile b]\nrole_arn = arn:aws:iam::123456789012:role/B\nsource_profile = a\n";
    let e = resolve(config, creds, req("a")).unwrap_err();
    assert_eq!(
        e.message,
        "source_profile cycle: a -> b -> a (in ~/.aws/config)"
    );
}

/// The credentials file's `[P]` and a bare config `[P]` are two groups: a
/// setting of either is found (the credentials one first).
#[test]
fn credentials_group_beside_a_bare_section() {
    let config =
        "[testAccount]\nmfa_arn = arn:aws:iam::123456789012:mfa/test\nregion = eu-west-3\n";
    let creds = "[testAccount]\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\naws_secret_access_key = s\nx_note = keep me\n";
    let p = resolve(config, creds, req("testAccount")).unwrap();
    assert_eq!(
        p.serial.unwrap().value,
        "arn:aws:iam::123456789012:mfa/test"
    );
    assert_eq!(
        p.region.unwrap().origin.to_string(),
        "~/.aws/config:3 [testAccount]"
    );
}
