//! The API Gateway forms' own token verification: what does not verify, what is missing from
//! the configuration, and two `Authorization` values. Every refusal is audited.

use guard::{Mode, Outcome, PolicySources};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

use crate::{
    api_gateway::{bearer, http_event, rest_event},
    support::*,
};

#[test]
fn tokens_that_do_not_verify_are_refused_with_the_reason() {
    let key = TestKey::new(KID);
    let impostor = TestKey::new(KID);
    let claims = |change: &dyn Fn(&mut Value)| {
        let mut claims = good_claims("agent-7", "devops");
        change(&mut claims);
        claims
    };
    let tampered = {
        let token = key.sign(KID, &good_claims("agent-7", "devops"));
        let parts: Vec<&str> = token.split('.').collect();
        let other = key.sign(KID, &good_claims("root-1", "admin"));
        let payload = other.split('.').nth(1).unwrap();
        format!("{}.{}.{}", parts[0], payload, parts[2])
    };
    let hmac = {
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some(KID.to_owned());
        jsonwebtoken::encode(
            &header,
            &good_claims("agent-7", "devops"),
            &EncodingKey::from_secret(b"guessable"),
        )
        .unwrap()
    };
    let cases: Vec<(Option<String>, &str)> = vec![
        (None, "no `Authorization` header"),
        (
            Some("Basic dXNlcjpwYXNz".to_owned()),
            "not `Bearer <token>`",
        ),
        (Some(bearer("not.a.jwt")), "not a well-formed JWT"),
        (
            Some(bearer(
                &key.sign(KID, &claims(&|c| c["exp"] = json!(now() - 3600))),
            )),
            "it has expired",
        ),
        (
            Some(bearer(&key.sign(
                KID,
                &claims(&|c| {
                    c.as_object_mut().unwrap().remove("exp");
                }),
            ))),
            "no `exp` claim",
        ),
        (
            Some(bearer(&key.sign(
                KID,
                &claims(&|c| c["iss"] = json!("https://evil.example.test")),
            ))),
            "`iss` is not the configured JWT_ISSUER",
        ),
        (
            Some(bearer(
                &key.sign(KID, &claims(&|c| c["aud"] = json!("someone-else"))),
            )),
            "`aud` is not one of JWT_AUDIENCE",
        ),
        (
            Some(bearer(&key.sign(
                KID,
                &claims(&|c| {
                    c.as_object_mut().unwrap().remove("sub");
                }),
            ))),
            "no `sub` claim",
        ),
        (
            Some(bearer(
                &impostor.sign(KID, &good_claims("agent-7", "devops")),
            )),
            "signature does not verify",
        ),
        (Some(bearer(&tampered)), "signature does not verify"),
        (
            Some(bearer(
                &key.sign("rotated-away", &good_claims("agent-7", "devops")),
            )),
            "no key `rotated-away`",
        ),
        (Some(bearer(&hmac)), "algorithm `HS256` is not allowed"),
    ];
    for (authorization, reason) in cases {
        let (authorizer, audit) = api_gateway("http-api", &key, PolicySources::embedded());
        let answer = invoke(
            &authorizer,
            http_event("POST /tools/restart", authorization.as_deref()),
        );
        assert_eq!(answer["isAuthorized"], false, "{reason}");
        let message = answer["context"]["reason"].as_str().unwrap();
        assert!(message.contains(reason), "{reason}: {message}");
        let record = only_record(&audit);
        assert_eq!(record.outcome, Outcome::Error);
        assert_eq!(record.tool, RESTART);
    }
}

#[test]
fn cognito_access_tokens_are_matched_by_client_id() {
    let key = TestKey::new(KID);
    let (guard, _) = guard(PolicySources::embedded(), Mode::Enforce);
    let authorizer = authorizer(
        guard,
        &[
            ("AUTHORIZER_FORM", "http-api"),
            ("AUTHORIZER_ROUTES", ROUTES),
            ("JWT_JWKS", &key.jwks),
            ("JWT_ISSUER", ISSUER),
            ("JWT_ALLOWED_CLIENTS", "client-a, client-b"),
        ],
    );
    let access = |client: &str| {
        json!({"sub": "agent-7", "iss": ISSUER, "client_id": client, "token_use": "access",
               "scope": "tools/invoke", "exp": now() + 600})
    };
    let ok = key.sign(KID, &access("client-b"));
    let answer = invoke(
        &authorizer,
        http_event("POST /tools/restart", Some(&bearer(&ok))),
    );
    assert_eq!(answer["isAuthorized"], true, "{answer:#}");
    let other = key.sign(KID, &access("client-z"));
    let answer = invoke(
        &authorizer,
        http_event("POST /tools/restart", Some(&bearer(&other))),
    );
    assert_eq!(answer["isAuthorized"], false);
    assert!(
        answer["context"]["reason"]
            .as_str()
            .unwrap()
            .contains("`client_id` is not one of JWT_ALLOWED_CLIENTS")
    );
}

#[test]
fn without_verification_configured_every_request_is_denied() {
    let key = TestKey::new(KID);
    let token = key.sign(KID, &good_claims("agent-7", "devops"));
    let base = [
        ("AUTHORIZER_ROUTES", ROUTES),
        ("JWT_JWKS", key.jwks.as_str()),
        ("JWT_ISSUER", ISSUER),
        ("JWT_AUDIENCE", AUDIENCE),
    ];
    for (missing, reason) in [
        ("JWT_JWKS", "JWT_JWKS (or JWT_JWKS_FILE) is not set"),
        ("JWT_ISSUER", "JWT_ISSUER is not set"),
        ("JWT_AUDIENCE", "set JWT_AUDIENCE"),
        ("AUTHORIZER_ROUTES", "AUTHORIZER_ROUTES is not set"),
    ] {
        for form in ["http-api", "rest-api"] {
            let (guard, audit) = guard(PolicySources::embedded(), Mode::LogOnly);
            let mut env: Vec<(&str, &str)> = base
                .iter()
                .copied()
                .filter(|(k, _)| *k != missing)
                .collect();
            env.push(("AUTHORIZER_FORM", form));
            let authorizer = authorizer(guard, &env);
            let event = match form {
                "http-api" => http_event("POST /tools/restart", Some(&bearer(&token))),
                _ => rest_event("POST", "/tools/restart", &bearer(&token)),
            };
            let answer = invoke(&authorizer, event);
            let allowed = match form {
                "http-api" => answer["isAuthorized"] == true,
                _ => answer["policyDocument"]["Statement"][0]["Effect"] == "Allow",
            };
            assert!(!allowed, "{form} without {missing}: {answer:#}");
            let message = answer["context"]["reason"].as_str().unwrap();
            assert!(message.contains(reason), "{form}: {reason}: {message}");
            assert_eq!(only_record(&audit).outcome, Outcome::Error);
        }
    }
}

#[test]
fn a_token_valid_only_from_next_year_is_refused() {
    let key = TestKey::new(KID);
    let next_year = now() + 365 * 24 * 3600;
    let cases: Vec<(Value, Option<&str>)> = vec![
        (json!(next_year), Some("it is not valid yet (`nbf`)")),
        // Beyond the documented leeway of 60 s.
        (json!(now() + 600), Some("it is not valid yet (`nbf`)")),
        (json!("2027-01-01"), Some("its `nbf` claim is malformed")),
        // Within the leeway, or already valid.
        (json!(now() + 30), None),
        (json!(now() - 3600), None),
    ];
    for (nbf, refusal) in cases {
        let (authorizer, audit) = api_gateway("http-api", &key, PolicySources::embedded());
        let mut claims = good_claims("agent-7", "devops");
        claims["nbf"] = nbf.clone();
        // A token valid from next year is checked for that before its lifetime (a year and
        // an hour from `iat`, over JWT_MAX_LIFETIME): the refusal names the first thing wrong.
        if refusal.is_some() {
            claims["exp"] = json!(next_year + 3600);
        }
        let token = key.sign(KID, &claims);
        let answer = invoke(
            &authorizer,
            http_event("POST /tools/restart", Some(&bearer(&token))),
        );
        match refusal {
            Some(reason) => {
                assert_eq!(answer["isAuthorized"], false, "nbf {nbf}");
                let message = answer["context"]["reason"].as_str().unwrap();
                assert!(message.contains(reason), "nbf {nbf}: {message}");
                assert_eq!(only_record(&audit).outcome, Outcome::Error);
            }
            None => assert_eq!(answer["isAuthorized"], true, "nbf {nbf}: {answer:#}"),
        }
    }
}

#[test]
fn two_authorization_values_are_refused_in_both_forms() {
    let key = TestKey::new(KID);
    let devops = key.sign(KID, &good_claims("agent-7", "devops"));
    let admin = key.sign(KID, &good_claims("root-1", "admin"));
    // An HTTP API joins a repeated header's values with commas.
    let (authorizer, audit) = api_gateway("http-api", &key, PolicySources::embedded());
    let joined = format!("Bearer {devops}, Bearer {admin}");
    let answer = invoke(
        &authorizer,
        http_event("POST /tools/restart", Some(&joined)),
    );
    assert_eq!(answer["isAuthorized"], false, "{answer:#}");
    assert_eq!(only_record(&audit).outcome, Outcome::Error);
    // A REST API keeps every value in `multiValueHeaders` and the last in `headers`.
    let (authorizer, audit) = api_gateway("rest-api", &key, PolicySources::embedded());
    let mut event = rest_event("POST", "/tools/restart", &bearer(&admin));
    event["multiValueHeaders"]["Authorization"] = json!([bearer(&devops), bearer(&admin)]);
    let answer = invoke(&authorizer, event);
    assert_eq!(
        answer["policyDocument"]["Statement"][0]["Effect"], "Deny",
        "{answer:#}"
    );
    let message = answer["context"]["reason"].as_str().unwrap();
    assert!(message.contains("occurs more than once"), "{message}");
    assert_eq!(only_record(&audit).outcome, Outcome::Error);
}
