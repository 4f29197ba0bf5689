//! Self-tests of the fake STS and its HTTP server: a raw std HTTP/1.1 client
//! against the fake (keep-alive, chunked bodies, recording, MFA rules,
//! scripted and socket-level faults).

use super::*;
use std::io::{self, Write};
use std::net::TcpStream;

const SELFTEST_AUTH: &str = "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20261128/ap-northeast-2/sts/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature=0123abcd";

fn xml_field<'a>(xml: &'a str, tag: &str) -> &'a str {
    let open = format!("<{tag}>");
    let close = format!("</{tag}>");
    let s = xml
        .find(&open)
        .unwrap_or_else(|| panic!("no <{tag}> in {xml}"))
        + open.len();
    let e = xml[s..].find(&close).unwrap() + s;
    &xml[s..e]
}

fn connect(sts: &FakeSts) -> TcpStream {
    let s = TcpStream::connect(sts.addr()).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s
}

const GST_BODY: &str = "Action=GetSessionToken&Version=2011-06-15&SerialNumber=arn%3Aaws%3Aiam%3A%3A123456789012%3Amfa%2Ftest&TokenCode=012345&DurationSeconds=43200";

#[test]
fn support_fake_sts_get_session_token_keep_alive_and_recording() {
    let sts = FakeSts::start();
    assert!(sts.url().starts_with("http://127.0.0.1:"));
    let mut c = connect(&sts);
    let auth = format!("Authorization: {SELFTEST_AUTH}\r\n");
    let before = chrono::Utc::now();
    let r1 = raw_post(&mut c, GST_BODY, &auth).unwrap();
    assert_eq!(r1.status, 200, "{}", r1.body);
    assert_eq!(r1.headers["content-type"], "text/xml");
    assert!(r1.headers.contains_key("x-amzn-requestid"));
    assert!(r1.body.contains(&format!(
        "<RequestId>{}</RequestId>",
        r1.headers["x-amzn-requestid"]
    )));
    let date =
        chrono::NaiveDateTime::parse_from_str(&r1.headers["date"], "%a, %d %b %Y %H:%M:%S GMT")
            .unwrap()
            .and_utc();
    assert!((date - before).num_seconds().abs() <= 5, "{date}");
    assert!(r1
        .body
        .starts_with(&format!("<GetSessionTokenResponse xmlns=\"{STS_XMLNS}\">")));
    let key1 = xml_field(&r1.body, "AccessKeyId").to_string();
    let secret = xml_field(&r1.body, "SecretAccessKey");
    let token = xml_field(&r1.body, "SessionToken");
    let exp = xml_field(&r1.body, "Expiration");
    assert!(key1.starts_with("ASIAFAKE") && key1.len() == 20, "{key1}");
    assert!(key1[8..]
        .chars()
        .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit()));
    assert_eq!(secret.len(), 40);
    assert!(secret.contains('/') && secret.contains('+'));
    assert!(
        token.len() >= 250 && token.contains('/') && token.contains('+') && token.ends_with('=')
    );
    let exp = chrono::NaiveDateTime::parse_from_str(exp, "%Y-%m-%dT%H:%M:%SZ")
        .unwrap()
        .and_utc();
    assert!(((exp - before).num_seconds() - 43_200).abs() <= 5, "{exp}");

    // Same connection, signed with session credentials this time.
    let auth2 = format!(
        "authorization: AWS4-HMAC-SHA256 Credential={key1}/20261128/us-east-1/sts/aws4_request, SignedHeaders=host, Signature=ff\r\nX-Amz-Security-Token: {token}\r\n"
    );
    let r2 = raw_post(
        &mut c,
        "Action=GetCallerIdentity&Version=2011-06-15",
        &auth2,
    )
    .unwrap();
    assert_eq!(r2.status, 200, "{}", r2.body);
    assert!(r2.body.contains("<Account>123456789012</Account>"));
    let r3 = raw_post(&mut c, GST_BODY, &auth).unwrap();
    let key3 = xml_field(&r3.body, "AccessKeyId");
    assert_ne!(key1, key3, "access key ids must be distinct per call");

    let reqs = sts.requests();
    assert_eq!(reqs.len(), 3);
    assert_eq!(sts.count(), 3);
    assert_eq!(sts.count_action("GetSessionToken"), 2);
    assert_eq!(sts.connections(), 1);
    assert!(reqs.iter().all(|r| r.connection == reqs[0].connection));
    let r = &reqs[0];
    assert_eq!(r.action, "GetSessionToken");
    assert_eq!(
        r.param("SerialNumber"),
        Some("arn:aws:iam::123456789012:mfa/test")
    );
    assert_eq!(r.param("TokenCode"), Some("012345"));
    assert_eq!(r.param("DurationSeconds"), Some("43200"));
    assert_eq!(r.access_key_id.as_deref(), Some("AKIAIOSFODNN7EXAMPLE"));
    assert_eq!(r.region.as_deref(), Some("ap-northeast-2"));
    assert_eq!(r.security_token, None);
    assert_eq!(
        r.header("Content-Type"),
        Some("application/x-www-form-urlencoded")
    );
    assert_eq!((r.method.as_str(), r.path.as_str()), ("POST", "/"));
    assert_eq!(reqs[1].access_key_id.as_deref(), Some(key1.as_str()));
    assert_eq!(reqs[1].region.as_deref(), Some("us-east-1"));
    assert_eq!(reqs[1].security_token.as_deref(), Some(token));
    let issued = sts.issued();
    assert_eq!(issued.len(), 2);
    assert_eq!(issued[0].access_key_id, key1);
    assert_eq!(issued[0].session_token, token);
}

#[test]
fn support_fake_sts_mfa_code_cap_assume_role_and_errors() {
    let sts = FakeSts::start();
    let mut c = connect(&sts);
    let auth = format!("Authorization: {SELFTEST_AUTH}\r\n");
    sts.set_valid_code(Some("123456"));
    let bad = raw_post(&mut c, GST_BODY, &auth).unwrap();
    assert_eq!(bad.status, 403);
    assert!(bad.body.contains("<Type>Sender</Type>"));
    assert!(bad.body.contains("<Code>AccessDenied</Code>"));
    assert!(bad
        .body
        .contains(&format!("<Message>{INVALID_MFA_MESSAGE}</Message>")));
    assert!(sts.issued().is_empty());

    sts.set_session_duration_cap(Some(3600));
    let t0 = chrono::Utc::now();
    let good = raw_post(&mut c, &GST_BODY.replace("012345", "123456"), &auth).unwrap();
    assert_eq!(good.status, 200, "{}", good.body);
    let exp = chrono::NaiveDateTime::parse_from_str(
        xml_field(&good.body, "Expiration"),
        "%Y-%m-%dT%H:%M:%SZ",
    )
    .unwrap()
    .and_utc();
    assert!(((exp - t0).num_seconds() - 3600).abs() <= 5);

    // AssumeRole: no TokenCode is fine; a wrong one is not.
    let ar = "Action=AssumeRole&Version=2011-06-15&RoleArn=arn%3Aaws%3Aiam%3A%3A210987654321%3Arole%2Fops%2Fadmin&RoleSessionName=mfa+exec";
    let r = raw_post(&mut c, ar, &auth).unwrap();
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.starts_with("<AssumeRoleResponse"));
    assert!(r
        .body
        .contains("<AssumedRoleId>AROAFAKE:mfa exec</AssumedRoleId>"));
    assert!(r
        .body
        .contains("<Arn>arn:aws:sts::210987654321:assumed-role/admin/mfa exec</Arn>"));
    let exp = chrono::NaiveDateTime::parse_from_str(
        xml_field(&r.body, "Expiration"),
        "%Y-%m-%dT%H:%M:%SZ",
    )
    .unwrap()
    .and_utc();
    assert!(((exp - t0).num_seconds() - 3600).abs() <= 5);
    let r = raw_post(
        &mut c,
        &format!("{ar}&SerialNumber=x&TokenCode=000000"),
        &auth,
    )
    .unwrap();
    assert_eq!(r.status, 403);

    let r = raw_post(
        &mut c,
        "Action=DecodeAuthorizationMessage&Version=2011-06-15",
        &auth,
    )
    .unwrap();
    assert_eq!(r.status, 400);
    assert!(r.body.contains("<Code>InvalidAction</Code>"));
    let r = raw_post(&mut c, "Action=GetSessionToken&DurationSeconds=60", &auth).unwrap();
    assert!(
        r.body.contains("<Code>ValidationError</Code>"),
        "{}",
        r.body
    );
    let r = raw_post(&mut c, "Action=GetCallerIdentity", "").unwrap();
    assert_eq!(r.status, 403);
    assert!(r.body.contains("MissingAuthenticationToken"));
    assert_eq!(sts.count(), 7);
}

#[test]
fn support_fake_sts_scripted_faults() {
    let sts = FakeSts::start();
    let auth = format!("Authorization: {SELFTEST_AUTH}\r\n");
    sts.push(Reply::error(500, "InternalFailure", "boom"));
    sts.push(Reply::raw(200, "<GetSessionTokenResponse><oops"));
    sts.push(Reply::CutBody);
    sts.push(Reply::Reset);
    sts.push(Reply::Stall(Duration::from_millis(400)));
    assert_eq!(sts.pending_replies(), 5);

    let mut c = connect(&sts);
    let r = raw_post(&mut c, GST_BODY, &auth).unwrap();
    assert_eq!(r.status, 500);
    assert!(r.body.contains("<Type>Receiver</Type>") && r.body.contains("<Message>boom</Message>"));
    let r = raw_post(&mut c, GST_BODY, &auth).unwrap();
    assert_eq!(
        (r.status, r.body.as_str()),
        (200, "<GetSessionTokenResponse><oops")
    );
    let err = raw_post(&mut c, GST_BODY, &auth).unwrap_err();
    assert!(
        err.to_string().contains("eof in body after 100 bytes"),
        "{err}"
    );

    let mut c = connect(&sts);
    let err = raw_post(&mut c, GST_BODY, &auth).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::ConnectionReset, "{err}");

    let mut c = connect(&sts);
    let t = Instant::now();
    let err = raw_post(&mut c, GST_BODY, &auth).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof);
    assert!(
        t.elapsed() >= Duration::from_millis(350),
        "{:?}",
        t.elapsed()
    );

    // Script consumed: back to the default behaviour.
    let mut c = connect(&sts);
    assert_eq!(raw_post(&mut c, GST_BODY, &auth).unwrap().status, 200);

    sts.fail_always(Reply::throttling());
    for _ in 0..3 {
        let r = raw_post(&mut c, GST_BODY, &auth).unwrap();
        assert_eq!(r.status, 400);
        assert!(r.body.contains("<Code>Throttling</Code>"));
    }
    sts.clear_faults();
    assert_eq!(raw_post(&mut c, GST_BODY, &auth).unwrap().status, 200);
    // Faulted requests are recorded too: 5 scripted + 1 + 3 + 1.
    assert_eq!(sts.count_action("GetSessionToken"), 10);
    assert_eq!(sts.issued().len(), 2);
}

#[test]
fn support_fake_sts_chunked_body_clock_skew_and_closed_port() {
    let sts = FakeSts::start();
    sts.set_clock_skew(chrono::Duration::hours(-2));
    let mut c = connect(&sts);
    let body = GST_BODY.as_bytes();
    let (a, b) = body.split_at(30);
    let mut req = format!(
        "POST /?Version=2011-06-15 HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\nauthorization: {SELFTEST_AUTH}\r\n\r\n"
    )
    .into_bytes();
    for part in [a, b] {
        req.extend_from_slice(format!("{:x}\r\n", part.len()).as_bytes());
        req.extend_from_slice(part);
        req.extend_from_slice(b"\r\n");
    }
    req.extend_from_slice(b"0\r\n\r\n");
    // Send in two pieces to exercise incremental parsing.
    c.write_all(&req[..50]).unwrap();
    thread::sleep(Duration::from_millis(50));
    c.write_all(&req[50..]).unwrap();
    let r = read_raw_response(&mut c).unwrap();
    assert_eq!(r.status, 200, "{}", r.body);
    let rec = sts.last_request().unwrap();
    assert_eq!(rec.param("TokenCode"), Some("012345"));
    assert_eq!(rec.param("Version"), Some("2011-06-15"));
    assert_eq!(rec.path, "/");
    let date =
        chrono::NaiveDateTime::parse_from_str(&r.headers["date"], "%a, %d %b %Y %H:%M:%S GMT")
            .unwrap()
            .and_utc();
    let skew = (date - chrono::Utc::now()).num_seconds();
    assert!((skew + 7200).abs() <= 5, "skew {skew}");

    let port = free_closed_port();
    let err = TcpStream::connect(("127.0.0.1", port)).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::ConnectionRefused);

    assert_eq!(
        form_decode("a=x+y%2Fz&b=%E2%9C%93&c"),
        BTreeMap::from([
            ("a".to_string(), "x y/z".to_string()),
            ("b".to_string(), "\u{2713}".to_string()),
            ("c".to_string(), String::new()),
        ])
    );
    assert_eq!(percent_decode("100%"), "100%");
}

#[test]
fn support_fake_sts_session_credential_rules() {
    let sts = FakeSts::start();
    let mut c = connect(&sts);
    let auth = format!("Authorization: {SELFTEST_AUTH}\r\n");
    let signed_by = |i: &Issued, token: &str| {
        format!(
            "Authorization: AWS4-HMAC-SHA256 Credential={}/20261128/us-east-1/sts/aws4_request, \
             SignedHeaders=host, Signature=ff\r\nx-amz-security-token: {token}\r\n",
            i.access_key_id
        )
    };
    assert_eq!(raw_post(&mut c, GST_BODY, &auth).unwrap().status, 200);
    let gst = sts.last_issued().unwrap();
    // GetSessionToken with session credentials is refused.
    let r = raw_post(&mut c, GST_BODY, &signed_by(&gst, &gst.session_token)).unwrap();
    assert_eq!(r.status, 403);
    assert!(r.body.contains(SESSION_CREDS_GST_MESSAGE), "{}", r.body);
    // Wrong token for an issued key.
    let r = raw_post(
        &mut c,
        "Action=GetCallerIdentity",
        &signed_by(&gst, "bogus"),
    )
    .unwrap();
    assert!(
        r.body.contains("<Code>InvalidClientTokenId</Code>"),
        "{}",
        r.body
    );
    // Role chaining: > 3600 s refused, 3600 s fine.
    let ar =
        "Action=AssumeRole&RoleArn=arn%3Aaws%3Aiam%3A%3A123456789012%3Arole%2Fa&RoleSessionName=s";
    let r = raw_post(&mut c, ar, &signed_by(&gst, &gst.session_token)).unwrap();
    assert_eq!(r.status, 200, "{}", r.body);
    let role = sts.last_issued().unwrap();
    let r = raw_post(
        &mut c,
        &format!("{ar}&DurationSeconds=7200"),
        &signed_by(&role, &role.session_token),
    )
    .unwrap();
    assert!(r.body.contains(CHAINED_DURATION_MESSAGE), "{}", r.body);
    sts.set_role_max_session_duration(Some(3600));
    let r = raw_post(&mut c, &format!("{ar}&DurationSeconds=7200"), &auth).unwrap();
    assert!(r.body.contains(MAX_SESSION_DURATION_MESSAGE), "{}", r.body);
    // Sessions expire by the server clock.
    sts.set_clock_skew(chrono::Duration::hours(13));
    let r = raw_post(
        &mut c,
        "Action=GetCallerIdentity",
        &signed_by(&gst, &gst.session_token),
    )
    .unwrap();
    assert!(r.body.contains("<Code>ExpiredToken</Code>"), "{}", r.body);
    assert_eq!(Reply::wrong_device(), Reply::error(403, "AccessDenied", "MultiFactorAuthentication failed, unable to validate MFA code.  Please verify your MFA serial number is valid and associated with this user."));
}
