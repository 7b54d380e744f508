//! The shape of a token, checked the same wherever it is read: by the interceptor behind a
//! gateway that verified it (claims read), by the interceptor verifying it itself (a `NONE`
//! gateway), and by the API Gateway authorizer. Every refusal is audited.

#![expect(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::panic,
    reason = "test helpers: one that cannot do its job fails the test"
)]

use authorizer::Authorizer;
use guard::{MemoryAudit, Mode, Outcome, PolicySources};
use serde_json::json;

use crate::support::*;

const COGNITO: &str = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_AbC123xyz";
const HOUR: u64 = 3600;

/// One way a token is read.
struct Reader {
    name: &'static str,
    authorizer: Authorizer,
    audit: MemoryAudit,
}

/// The three readers, verifying with `key` for `issuer`, plus `extra` settings.
fn readers(key: &TestKey, issuer: &str, extra: &[(&str, &str)]) -> Vec<Reader> {
    let audience = if issuer == COGNITO {
        ("JWT_ALLOWED_CLIENTS", "client-a")
    } else {
        ("JWT_AUDIENCE", AUDIENCE)
    };
    let verification = [
        ("JWT_JWKS", key.jwks.as_str()),
        ("JWT_ISSUER", issuer),
        audience,
    ];
    let with = |settings: &[(&'static str, &str)]| {
        let (guard, audit) = guard(PolicySources::embedded(), Mode::Enforce);
        let mut env: Vec<(&str, &str)> = settings.to_vec();
        env.extend_from_slice(extra);
        (authorizer(guard, &env), audit)
    };
    let mut none = verification.to_vec();
    none.push(("GATEWAY_AUTHORIZER_TYPE", "NONE"));
    let mut http = verification.to_vec();
    http.extend([
        ("AUTHORIZER_FORM", "http-api"),
        ("AUTHORIZER_ROUTES", ROUTES),
    ]);
    [
        ("interceptor behind CUSTOM_JWT", with(&[])),
        ("interceptor behind NONE", with(&none)),
        ("http-api", with(&http)),
    ]
    .into_iter()
    .map(|(name, (authorizer, audit))| Reader {
        name,
        authorizer,
        audit,
    })
    .collect()
}

impl Reader {
    /// `Ok` when a staging restart with `token` is let through, else the refusal's message.
    fn read(&self, token: &str) -> Result<(), String> {
        if self.name == "http-api" {
            let mut event = sample_event("http-api-request.json");
            event["routeKey"] = json!("POST /tools/restart");
            event["headers"]["authorization"] = json!(format!("Bearer {token}"));
            let answer = invoke(&self.authorizer, event);
            return match answer["isAuthorized"].as_bool() {
                Some(true) => Ok(()),
                _ => Err(answer["context"]["reason"].as_str().unwrap().to_owned()),
            };
        }
        let body = tools_call(RESTART, json!({"environment": "staging", "service": "api"}));
        let answer = invoke(&self.authorizer, request_event(body, Some(token)));
        denial(&answer).map_or(Ok(()), |(_, message)| Err(message))
    }
}

/// Asserts every reader refuses `token` with a message naming `reason`, audited as an error.
fn refused_everywhere(readers: &[Reader], token: &str, reason: &str) {
    for reader in readers {
        let records = reader.audit.records().len();
        let message = reader
            .read(token)
            .err()
            .unwrap_or_else(|| panic!("{}: let through, expected `{reason}`", reader.name));
        assert!(
            message.contains(reason),
            "{}: {reason}: {message}",
            reader.name
        );
        let all = reader.audit.records();
        assert_eq!(all.len(), records + 1, "{}", reader.name);
        assert_eq!(
            all.last().unwrap().outcome,
            Outcome::Error,
            "{}",
            reader.name
        );
    }
}

fn accepted_everywhere(readers: &[Reader], token: &str) {
    for reader in readers {
        assert_eq!(reader.read(token), Ok(()), "{}", reader.name);
    }
}

/// The good claims as JSON text, with `change` applied to the text.
fn claims_text(change: &dyn Fn(String) -> String) -> String {
    change(good_claims("agent-7", "devops").to_string())
}

fn header_text() -> String {
    format!(r#"{{"alg":"ES256","typ":"JWT","kid":"{KID}"}}"#)
}

#[test]
fn a_well_formed_token_is_accepted_by_every_reader() {
    let key = TestKey::new(KID);
    accepted_everywhere(
        &readers(&key, ISSUER, &[]),
        &key.sign(KID, &good_claims("agent-7", "devops")),
    );
}

#[test]
fn a_claim_named_twice_is_refused_by_every_reader() {
    let key = TestKey::new(KID);
    let readers = readers(&key, ISSUER, &[]);
    for (payload, name) in [
        (
            claims_text(&|t| t.replacen('{', r#"{"sub":"root-1","#, 1)),
            "`sub`",
        ),
        (
            claims_text(&|t| t.replacen('{', r#"{"scope":"admin","#, 1)),
            "`scope`",
        ),
        (
            claims_text(&|t| t.replacen('{', r#"{"\u0073ub":"root-1","#, 1)),
            "`sub`",
        ),
        (
            claims_text(&|t| t.replacen('{', r#"{"exp":1,"#, 1)),
            "`exp`",
        ),
    ] {
        let token = key.sign_raw(&header_text(), &payload);
        refused_everywhere(
            &readers,
            &token,
            &format!("payload names {name} more than once"),
        );
    }
}

#[test]
fn a_header_member_named_twice_is_refused_by_every_reader() {
    let key = TestKey::new(KID);
    let readers = readers(&key, ISSUER, &[]);
    let header = format!(r#"{{"alg":"ES256","kid":"{KID}","kid":"other"}}"#);
    let token = key.sign_raw(&header, &claims_text(&|t| t));
    refused_everywhere(&readers, &token, "header names `kid` more than once");
}

#[test]
fn a_crit_header_is_refused_by_every_reader() {
    let key = TestKey::new(KID);
    let readers = readers(&key, ISSUER, &[]);
    for crit in [r#"["exp"]"#, r#"["b64"]"#, "[]"] {
        let header = format!(r#"{{"alg":"ES256","kid":"{KID}","crit":{crit}}}"#);
        let token = key.sign_raw(&header, &claims_text(&|t| t));
        refused_everywhere(&readers, &token, "as critical (`crit`)");
    }
}

#[test]
fn an_issuer_that_is_not_one_string_is_refused_by_every_reader() {
    let key = TestKey::new(KID);
    let readers = readers(&key, ISSUER, &[]);
    for iss in [
        json!([ISSUER]),
        json!([ISSUER, "https://evil.example.test"]),
        json!(null),
    ] {
        let mut claims = good_claims("agent-7", "devops");
        claims["iss"] = iss;
        refused_everywhere(
            &readers,
            &key.sign(KID, &claims),
            "`iss` claim is not a string",
        );
    }
}

#[test]
fn a_negative_exp_is_reported_as_expired_by_every_reader() {
    let key = TestKey::new(KID);
    let readers = readers(&key, ISSUER, &[]);
    let mut claims = good_claims("agent-7", "devops");
    claims["exp"] = json!(-1);
    refused_everywhere(
        &readers,
        &key.sign(KID, &claims),
        "it has expired: its `exp` -1 is negative",
    );
}

#[test]
fn a_malformed_exp_is_refused_by_every_reader() {
    let key = TestKey::new(KID);
    let readers = readers(&key, ISSUER, &[]);
    for exp in [json!("tomorrow"), json!(true), json!({"at": 1})] {
        let mut claims = good_claims("agent-7", "devops");
        claims["exp"] = exp;
        refused_everywhere(
            &readers,
            &key.sign(KID, &claims),
            "its `exp` claim is malformed",
        );
    }
}

#[test]
fn a_token_issued_in_the_future_is_refused_by_every_reader() {
    let key = TestKey::new(KID);
    let readers = readers(&key, ISSUER, &[]);
    let mut claims = good_claims("agent-7", "devops");
    claims["iat"] = json!(now() + HOUR);
    claims["exp"] = json!(now() + 2 * HOUR);
    refused_everywhere(&readers, &key.sign(KID, &claims), "issued in the future");
    // Within the 60 s of clock skew.
    claims["iat"] = json!(now() + 30);
    accepted_everywhere(&readers, &key.sign(KID, &claims));
}

#[test]
fn a_lifetime_over_the_maximum_is_refused_by_every_reader() {
    let key = TestKey::new(KID);
    let lifetime = |hours: u64| {
        let mut claims = good_claims("agent-7", "devops");
        claims["iat"] = json!(now() - 60);
        claims["exp"] = json!(now() - 60 + hours * HOUR);
        key.sign(KID, &claims)
    };
    let default = readers(&key, ISSUER, &[]);
    accepted_everywhere(&default, &lifetime(23));
    refused_everywhere(
        &default,
        &lifetime(25),
        "longer than JWT_MAX_LIFETIME (1day)",
    );
    // Without `iat`, the lifetime left is what counts.
    let mut claims = good_claims("agent-7", "devops");
    claims.as_object_mut().unwrap().remove("iat");
    claims["exp"] = json!(now() + 48 * HOUR);
    refused_everywhere(&default, &key.sign(KID, &claims), "JWT_MAX_LIFETIME");

    let short = readers(&key, ISSUER, &[("JWT_MAX_LIFETIME", "1h")]);
    accepted_everywhere(&short, &lifetime(1));
    refused_everywhere(
        &short,
        &lifetime(2),
        "its lifetime of 2h is longer than JWT_MAX_LIFETIME (1h)",
    );
}

#[test]
fn a_cognito_token_that_is_not_an_access_token_is_refused_by_every_reader() {
    let key = TestKey::new(KID);
    let readers = readers(&key, COGNITO, &[]);
    let cognito = |token_use: Option<&str>| {
        let mut claims = json!({"sub": "agent-7", "iss": COGNITO, "client_id": "client-a",
                                "scope": "devops", "iat": now(), "exp": now() + 600});
        if let Some(token_use) = token_use {
            claims["token_use"] = json!(token_use);
        }
        key.sign(KID, &claims)
    };
    accepted_everywhere(&readers, &cognito(Some("access")));
    refused_everywhere(
        &readers,
        &cognito(Some("id")),
        "`token_use` is `id`: only access tokens",
    );
    refused_everywhere(&readers, &cognito(None), "`token_use` is (none)");
}

#[test]
fn jwks_keys_the_verifier_cannot_use_are_ignored_not_fatal() {
    let key = TestKey::new(KID);
    let other = TestKey::new("rotated-in");
    let jwks = json!({"keys": [
        {"kty": "EC", "crv": "P-521", "kid": "es512", "alg": "ES512", "use": "sig",
         "x": "AZGK8PBCYboxr7kC5vUk_JUJMCqqGAIzCXK_IGn6kmTsDA4izlO4_RVdW9teFV595PMGOYnwANy_HLJ3nf7ilghI",
         "y": "AMG093kck0OREwqhwr4lKzgDFjgCaL-40VMiqva-kZuuV_IfQLXfsQnhnwBwnXbkcOjg5LpdgTK8hkxT6s8RWjWn"},
        {"kty": "EC", "crv": "P-256", "kid": "for-encryption", "use": "enc",
         "x": other.jwk()["x"], "y": other.jwk()["y"]},
        {"kty": "ML-DSA", "kid": "post-quantum", "pub": "AAAA"},
        key.jwk(),
    ]})
    .to_string();
    let (guard, _) = guard(PolicySources::embedded(), Mode::Enforce);
    let http = authorizer(
        guard,
        &[
            ("AUTHORIZER_FORM", "http-api"),
            ("AUTHORIZER_ROUTES", ROUTES),
            ("JWT_JWKS", &jwks),
            ("JWT_ISSUER", ISSUER),
            ("JWT_AUDIENCE", AUDIENCE),
        ],
    );
    let reader = Reader {
        name: "http-api",
        authorizer: http,
        audit: MemoryAudit::new(),
    };
    assert_eq!(
        reader.read(&key.sign(KID, &good_claims("agent-7", "devops"))),
        Ok(())
    );
    // A token naming a skipped key is refused as naming no key of the set.
    let err = reader
        .read(&other.sign("for-encryption", &good_claims("agent-7", "devops")))
        .unwrap_err();
    assert!(err.contains("no key `for-encryption`"), "{err}");
}

#[test]
fn a_token_with_a_fake_signature_is_refused_wherever_it_is_verified() {
    let key = TestKey::new(KID);
    let readers = readers(&key, ISSUER, &[]);
    // Signed by a key that merely claims the configured key's id.
    let forged = TestKey::new(KID).sign(KID, &good_claims("root-1", "admin"));
    let [gateway_verified, none, http] = readers.as_slice() else {
        panic!("three readers");
    };
    // Behind a gateway that verified it, the token's claims are read as they are.
    assert_eq!(gateway_verified.read(&forged), Ok(()));
    for reader in [none, http] {
        let message = reader.read(&forged).unwrap_err();
        assert!(
            message.contains("signature does not verify"),
            "{}: {message}",
            reader.name
        );
    }
}
