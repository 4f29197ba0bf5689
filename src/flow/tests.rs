//! Unit tests of the flow against a scripted STS ([`MockSts`]): a refresh
//! then the cached path, and a rejected code that writes nothing. They never
//! touch the network; the integration tests (`tests/it`) cover the real client.

use super::*;
use crate::ini::Document;
use crate::profile::{AwsFile, AwsFiles, Request, Resolver};
use crate::secret::Secret;
use chrono::TimeZone;
use std::cell::RefCell;

/// (action, signing key id, serial, code, duration)
type Call = (String, String, Option<String>, Option<String>, u64);

/// A scripted STS: records calls, answers from a queue.
#[derive(Default)]
struct MockSts {
    calls: RefCell<Vec<Call>>,
    answers: RefCell<Vec<Result<Issued, StsError>>>,
}

fn issued(id: &str, exp: DateTime<Utc>) -> Issued {
    Issued {
        session: Session {
            access_key_id: id.into(),
            secret: Secret::new("new-secret"),
            token: Secret::new("new-token"),
            expires: exp,
        },
        server_date: None,
    }
}

impl Sts for MockSts {
    fn get_session_token(
        &self,
        s: &Signer,
        serial: Option<&str>,
        code: Option<&str>,
        d: u64,
    ) -> Result<Issued, StsError> {
        self.calls.borrow_mut().push((
            "GetSessionToken".into(),
            s.access_key_id.clone(),
            serial.map(str::to_string),
            code.map(str::to_string),
            d,
        ));
        self.answers.borrow_mut().remove(0)
    }

    fn assume_role(&self, s: &Signer, i: &AssumeRoleInput) -> Result<Issued, StsError> {
        self.calls.borrow_mut().push((
            "AssumeRole".into(),
            s.access_key_id.clone(),
            i.serial.clone(),
            i.code.clone(),
            i.duration,
        ));
        self.answers.borrow_mut().remove(0)
    }

    fn get_federation_token(
        &self,
        s: &Signer,
        i: &crate::sts::FederationTokenInput,
    ) -> Result<Issued, StsError> {
        self.calls.borrow_mut().push((
            "GetFederationToken".into(),
            s.access_key_id.clone(),
            None,
            None,
            i.duration,
        ));
        self.answers.borrow_mut().remove(0)
    }
}

const CONFIG: &str =
    "[profile test]\nsource_profile = base\nmfa_serial = arn:aws:iam::123456789012:mfa/t\n";
const CREDS: &str =
    "# keep\n[base]\naws_access_key_id = AKIABASEBASEBASEBASE\naws_secret_access_key = s\n";

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 28, 12, 0, 0).unwrap()
}

fn setup(creds: &str) -> (tempfile::TempDir, Store, AwsFiles) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("credentials");
    std::fs::write(&path, creds).unwrap();
    let files = AwsFiles {
        config: AwsFile {
            path: dir.path().join("config"),
            shown: "config".into(),
            doc: Document::parse(CONFIG).unwrap(),
        },
        credentials: AwsFile {
            path: path.clone(),
            shown: "credentials".into(),
            doc: Document::parse(creds).unwrap(),
        },
    };
    (dir, Store::new(path, "credentials".into()), files)
}

fn codes(flag: &str) -> CodeSource {
    CodeSource {
        profile: "test".into(),
        serial: "arn:aws:iam::123456789012:mfa/t".into(),
        flag: Some(flag.into()),
        env: None,
        process: None,
        no_input: true,
        process_timeout: Duration::from_secs(1),
        deadline: None,
        serving: "test".into(),
        prompt: crate::profile::Fact::new(
            crate::profile::PromptMode::Auto,
            crate::profile::Origin::Default,
        ),
        prompt_timeout: Duration::from_secs(1),
        desktop: Default::default(),
        cancel_code: 130,
        renewal: None,
        declined: Default::default(),
        shown: Default::default(),
    }
}

fn run(files: &AwsFiles, store: &Store, sts: &MockSts, code: &str) -> Result<Session> {
    let plan = Resolver::new(files)
        .resolve(&Request {
            profile: "test".into(),
            ..Default::default()
        })
        .unwrap();
    let c = codes(code);
    let deps = Deps {
        store,
        sts,
        codes: &c,
        now: &now,
        ui: Ui::new(0, true),
        keyring: &crate::keystore::MemKeyring::default(),
        deadline: None,
    };
    let opts = Options {
        force: false,
        lock_timeout: Duration::from_secs(5),
    };
    obtain(&plan, &files.credentials.doc, &opts, &deps)
}

#[test]
fn refresh_then_cached() {
    let (_dir, store, files) = setup(CREDS);
    let sts = MockSts::default();
    sts.answers.borrow_mut().push(Ok(issued(
        "ASIANEWNEWNEWNEWNEW0",
        now() + chrono::Duration::hours(12),
    )));
    let s = run(&files, &store, &sts, "012345").unwrap();
    assert_eq!(s.access_key_id, "ASIANEWNEWNEWNEWNEW0");
    assert_eq!(
        sts.calls.borrow()[0],
        (
            "GetSessionToken".to_string(),
            "AKIABASEBASEBASEBASE".to_string(),
            Some("arn:aws:iam::123456789012:mfa/t".to_string()),
            Some("012345".to_string()),
            43200
        )
    );
    let text = std::fs::read_to_string(&store.path).unwrap();
    assert!(text.starts_with(CREDS), "{text}");
    assert!(text.contains("\n[test]\naws_access_key_id = ASIANEWNEWNEWNEWNEW0\n"));
    // Reload: the cached path answers without STS.
    let files2 = AwsFiles {
        credentials: AwsFile {
            doc: Document::parse(&text).unwrap(),
            ..files.credentials.clone()
        },
        ..files.clone()
    };
    let s2 = run(&files2, &store, &sts, "999999").unwrap();
    assert_eq!(s2.access_key_id, "ASIANEWNEWNEWNEWNEW0");
    assert_eq!(sts.calls.borrow().len(), 1);
}

#[test]
fn rejected_flag_code_is_not_retried_and_nothing_written() {
    let (_dir, store, files) = setup(CREDS);
    let sts = MockSts::default();
    sts.answers.borrow_mut().push(Err(StsError {
        kind: Kind::InvalidCode,
        code: Some("AccessDenied".into()),
        message: "invalid MFA one time pass code".into(),
        server_date: None,
        unsent: false,
    }));
    let e = run(&files, &store, &sts, "123456").unwrap_err();
    assert_eq!(
        e.to_string(),
        "the MFA code was wrong or already used (STS: AccessDenied)"
    );
    assert_eq!(sts.calls.borrow().len(), 1);
    assert_eq!(std::fs::read_to_string(&store.path).unwrap(), CREDS);
}
