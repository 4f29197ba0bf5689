//! The default behaviour of the fake STS, action by action (GetSessionToken,
//! AssumeRole, GetFederationToken, GetCallerIdentity): the rules of real STS
//! that matter to mfa-exec (signing, session credentials, MFA codes,
//! `DurationSeconds` ranges, role chaining), credential generation and the
//! XML of answers and errors. Scripted replies never reach it.

use super::*;

fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

/// ISO-8601 UTC with second precision, e.g. `2026-11-28T19:55:29Z`.
pub fn iso8601(t: chrono::DateTime<chrono::Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

pub(super) fn error_xml(status: u16, code: &str, message: &str, request_id: &str) -> String {
    let kind = if status >= 500 { "Receiver" } else { "Sender" };
    format!(
        "<ErrorResponse xmlns=\"{STS_XMLNS}\">\n  <Error>\n    <Type>{kind}</Type>\n    \
         <Code>{}</Code>\n    <Message>{}</Message>\n  </Error>\n  <RequestId>{request_id}</RequestId>\n</ErrorResponse>\n",
        xml_escape(code),
        xml_escape(message),
    )
}

fn splitmix(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn gen_chars(seed: &mut u64, n: usize, alphabet: &[u8]) -> String {
    (0..n)
        .map(|_| alphabet[(splitmix(seed) % alphabet.len() as u64) as usize] as char)
        .collect()
}

const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
const B64: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

fn base36_upper(mut n: u64, width: usize) -> String {
    let digits = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
    let mut out = vec![b'0'; width];
    for slot in out.iter_mut().rev() {
        *slot = digits[(n % 36) as usize];
        n /= 36;
    }
    String::from_utf8(out).expect("ascii")
}

/// Generates a new credential set (distinct per call) and records it.
fn issue(
    st: &mut State,
    action: &str,
    port: u16,
    expiration: chrono::DateTime<chrono::Utc>,
) -> Issued {
    st.counter += 1;
    let n = st.issued.len() as u64 + 1;
    let mut seed = (u64::from(port) << 32) ^ st.counter.wrapping_mul(0x2545_F491_4F6C_DD1D);
    let access_key_id = format!("{ISSUED_KEY_PREFIX}{}", base36_upper(n, 12));
    let mut secret = gen_chars(&mut seed, 38, ALNUM);
    secret.insert(7, '/');
    secret.insert(23, '+');
    let mut token = String::from("FwoGZXIvYXdzEFAKE");
    token.push_str(&gen_chars(&mut seed, 20, B64));
    token.push('/');
    token.push_str(&gen_chars(&mut seed, 100, B64));
    token.push('+');
    token.push_str(&gen_chars(&mut seed, 158, B64));
    token.push_str("==");
    let issued = Issued {
        action: action.to_string(),
        access_key_id,
        secret_access_key: secret,
        session_token: token,
        expiration: iso8601(expiration),
        signed_with_session: false,
    };
    st.issued.push(issued.clone());
    issued
}

fn credentials_xml(c: &Issued) -> String {
    format!(
        "    <Credentials>\n      <SessionToken>{}</SessionToken>\n      \
         <SecretAccessKey>{}</SecretAccessKey>\n      <Expiration>{}</Expiration>\n      \
         <AccessKeyId>{}</AccessKeyId>\n    </Credentials>\n",
        xml_escape(&c.session_token),
        xml_escape(&c.secret_access_key),
        c.expiration,
        c.access_key_id
    )
}

/// An STS error the default behaviour produces.
struct StsError {
    status: u16,
    code: &'static str,
    message: String,
}

fn sts_error(status: u16, code: &'static str, message: impl Into<String>) -> StsError {
    StsError {
        status,
        code,
        message: message.into(),
    }
}

fn validation_error(msg: String) -> StsError {
    sts_error(400, "ValidationError", msg)
}

/// Parses and range-checks `DurationSeconds` like real STS.
fn duration_param(rec: &Recorded, default: u64, max: u64) -> Result<u64, StsError> {
    let Some(raw) = rec.param("DurationSeconds") else {
        return Ok(default);
    };
    let Ok(v) = raw.parse::<u64>() else {
        return Err(validation_error(format!(
            "Value '{raw}' at 'durationSeconds' failed to satisfy constraint: Member must be a number"
        )));
    };
    if v < 900 {
        return Err(validation_error(format!(
            "1 validation error detected: Value '{v}' at 'durationSeconds' failed to satisfy \
             constraint: Member must have value greater than or equal to 900"
        )));
    }
    if v > max {
        return Err(validation_error(format!(
            "1 validation error detected: Value '{v}' at 'durationSeconds' failed to satisfy \
             constraint: Member must have value less than or equal to {max}"
        )));
    }
    Ok(v)
}

/// The default behaviour: Ok(success XML with `@@RID@@` placeholders).
fn default_response_inner(
    st: &mut State,
    rec: &Recorded,
    now: chrono::DateTime<chrono::Utc>,
    port: u16,
) -> Result<String, StsError> {
    if rec.access_key_id.is_none() {
        return Err(sts_error(
            403,
            "MissingAuthenticationToken",
            "Request is missing Authentication Token",
        ));
    }
    // Requests signed with credentials this fake issued: the token must
    // match and the session must not have expired (by the server clock).
    let ours = rec
        .access_key_id
        .as_deref()
        .and_then(|k| st.issued.iter().find(|i| i.access_key_id == k))
        .cloned();
    if let Some(i) = &ours {
        if rec.security_token.as_deref() != Some(i.session_token.as_str()) {
            return Err(sts_error(
                403,
                "InvalidClientTokenId",
                "The security token included in the request is invalid.",
            ));
        }
        let exp = chrono::NaiveDateTime::parse_from_str(&i.expiration, "%Y-%m-%dT%H:%M:%SZ")
            .map(|t| t.and_utc());
        if exp.is_ok_and(|e| e <= now) {
            return Err(sts_error(
                403,
                "ExpiredToken",
                "The security token included in the request is expired",
            ));
        }
    }
    let code_ok = |st: &mut State, required: bool| -> bool {
        if let Some(t) = st.totp.as_mut() {
            return match rec.param("TokenCode") {
                None => !required,
                Some(given) => t.check(given, now.timestamp()),
            };
        }
        match (&st.valid_code, rec.param("TokenCode")) {
            (None, _) => true,
            (Some(_), None) => !required,
            (Some(valid), Some(given)) => valid == given,
        }
    };
    match rec.action.as_str() {
        "GetSessionToken" => {
            let mut secs = duration_param(rec, 43_200, 129_600)?;
            if rec.security_token.is_some() {
                return Err(sts_error(403, "AccessDenied", SESSION_CREDS_GST_MESSAGE));
            }
            if !code_ok(st, true) {
                return Err(sts_error(403, "AccessDenied", INVALID_MFA_MESSAGE));
            }
            if let Some(cap) = st.duration_cap {
                secs = secs.min(cap);
            }
            let exp = now + chrono::Duration::seconds(secs as i64);
            let c = issue(st, "GetSessionToken", port, exp);
            Ok(format!(
                    "<GetSessionTokenResponse xmlns=\"{STS_XMLNS}\">\n  <GetSessionTokenResult>\n{}  \
                     </GetSessionTokenResult>\n  <ResponseMetadata><RequestId>@@RID@@</RequestId></ResponseMetadata>\n\
                     </GetSessionTokenResponse>\n",
                    credentials_xml(&c)
                ))
        }
        "AssumeRole" => {
            let (Some(role_arn), Some(session)) =
                (rec.param("RoleArn"), rec.param("RoleSessionName"))
            else {
                let missing = if rec.param("RoleArn").is_none() {
                    "roleArn"
                } else {
                    "roleSessionName"
                };
                return Err(validation_error(format!(
                    "1 validation error detected: Value null at '{missing}' failed to satisfy \
                     constraint: Member must not be null"
                )));
            };
            let secs = duration_param(rec, 3_600, 43_200)?;
            let chained = ours.as_ref().is_some_and(|i| i.action == "AssumeRole");
            if chained && secs > 3600 {
                return Err(validation_error(CHAINED_DURATION_MESSAGE.to_string()));
            }
            if st.role_max.is_some_and(|max| secs > max) {
                return Err(validation_error(MAX_SESSION_DURATION_MESSAGE.to_string()));
            }
            if !code_ok(st, false) {
                return Err(sts_error(403, "AccessDenied", INVALID_MFA_MESSAGE));
            }
            let arn_parts: Vec<&str> = role_arn.split(':').collect();
            let account = arn_parts.get(4).copied().unwrap_or(FAKE_ACCOUNT);
            let role_name = arn_parts
                .get(5)
                .and_then(|r| r.rsplit('/').next())
                .unwrap_or("role");
            let secs = st.role_duration_cap.map_or(secs, |cap| secs.min(cap));
            let exp = now + chrono::Duration::seconds(secs as i64);
            let mut c = issue(st, "AssumeRole", port, exp);
            c.signed_with_session = rec.security_token.is_some();
            if let Some(last) = st.issued.last_mut() {
                last.signed_with_session = c.signed_with_session;
            }
            Ok(format!(
                    "<AssumeRoleResponse xmlns=\"{STS_XMLNS}\">\n  <AssumeRoleResult>\n{}    \
                     <AssumedRoleUser>\n      <AssumedRoleId>AROAFAKE:{sess}</AssumedRoleId>\n      \
                     <Arn>arn:aws:sts::{acct}:assumed-role/{role}/{sess}</Arn>\n    </AssumedRoleUser>\n  \
                     </AssumeRoleResult>\n  <ResponseMetadata><RequestId>@@RID@@</RequestId></ResponseMetadata>\n\
                     </AssumeRoleResponse>\n",
                    credentials_xml(&c),
                    sess = xml_escape(session),
                    acct = xml_escape(account),
                    role = xml_escape(role_name),
                ))
        }
        "GetFederationToken" => {
            if rec.security_token.is_some() {
                return Err(sts_error(
                    403,
                    "AccessDenied",
                    "Cannot call GetFederationToken with session credentials",
                ));
            }
            let Some(name) = rec.param("Name") else {
                return Err(validation_error(
                    "1 validation error detected: Value null at 'name' failed to satisfy \
                     constraint: Member must not be null"
                        .to_string(),
                ));
            };
            let name_ok = (2..=32).contains(&name.len())
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "_+=,.@-".contains(c));
            if !name_ok {
                return Err(validation_error(format!(
                    "1 validation error detected: Value '{name}' at 'name' failed to satisfy \
                     constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]*"
                )));
            }
            let secs = duration_param(rec, 43_200, 129_600)?;
            let exp = now + chrono::Duration::seconds(secs as i64);
            let c = issue(st, "GetFederationToken", port, exp);
            Ok(format!(
                "<GetFederationTokenResponse xmlns=\"{STS_XMLNS}\">\n  <GetFederationTokenResult>\n{}    \
                 <FederatedUser>\n      <Arn>arn:aws:sts::{FAKE_ACCOUNT}:federated-user/{n}</Arn>\n      \
                 <FederatedUserId>{FAKE_ACCOUNT}:{n}</FederatedUserId>\n    </FederatedUser>\n    \
                 <PackedPolicySize>6</PackedPolicySize>\n  </GetFederationTokenResult>\n  \
                 <ResponseMetadata><RequestId>@@RID@@</RequestId></ResponseMetadata>\n\
                 </GetFederationTokenResponse>\n",
                credentials_xml(&c),
                n = xml_escape(name),
            ))
        }
        "GetCallerIdentity" => {
            let key = rec.access_key_id.clone().unwrap_or_default();
            Ok(format!(
                    "<GetCallerIdentityResponse xmlns=\"{STS_XMLNS}\">\n  <GetCallerIdentityResult>\n    \
                     <Arn>arn:aws:iam::{FAKE_ACCOUNT}:user/test</Arn>\n    <UserId>{}</UserId>\n    \
                     <Account>{FAKE_ACCOUNT}</Account>\n  </GetCallerIdentityResult>\n  \
                     <ResponseMetadata><RequestId>@@RID@@</RequestId></ResponseMetadata>\n\
                     </GetCallerIdentityResponse>\n",
                    xml_escape(&key)
                ))
        }
        other => Err(sts_error(
            400,
            "InvalidAction",
            format!("Could not find operation {other} for version 2011-06-15"),
        )),
    }
}

pub(super) fn default_response(
    st: &mut State,
    rec: &Recorded,
    now: chrono::DateTime<chrono::Utc>,
    port: u16,
    rid: &str,
) -> (u16, String) {
    match default_response_inner(st, rec, now, port) {
        Ok(body) => (200, body.replace("@@RID@@", rid)),
        Err(e) => (e.status, error_xml(e.status, e.code, &e.message, rid)),
    }
}

// ---------------------------------------------------------------------------
// Self-tests: a raw std HTTP/1.1 client against the fake.
