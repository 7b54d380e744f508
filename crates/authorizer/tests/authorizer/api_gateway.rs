//! The API Gateway forms: verified tokens, routes, tool-level decisions, both response shapes.

#![expect(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    reason = "the event builders are test helpers: one that cannot do its job fails the test"
)]

use guard::{Mode, Outcome, PolicySources};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use lambda_host::{Context, LambdaEvent};
use serde_json::{Value, json};

use crate::support::*;

/// The sample HTTP API event on route `route` with `authorization` as its header.
fn http_event(route: &str, authorization: Option<&str>) -> Value {
    let mut event = sample_event("http-api-request.json");
    event["routeKey"] = json!(route);
    event["requestContext"]["routeKey"] = json!(route);
    match authorization {
        Some(value) => {
            event["headers"]["authorization"] = json!(value);
            event["identitySource"] = json!([value]);
        }
        None => {
            event["headers"]
                .as_object_mut()
                .unwrap()
                .remove("authorization");
            event["identitySource"] = json!([]);
        }
    }
    event
}

/// The sample REST API event for `method` on `resource` with `authorization` as its header.
fn rest_event(method: &str, resource: &str, authorization: &str) -> Value {
    let mut event = sample_event("rest-api-request.json");
    event["httpMethod"] = json!(method);
    event["resource"] = json!(resource);
    event["requestContext"]["resourcePath"] = json!(resource);
    event["methodArn"] = json!(format!(
        "arn:aws:execute-api:us-west-2:123456789012:abcdef1234/prod/{method}{resource}"
    ));
    event["headers"]["Authorization"] = json!(authorization);
    event["multiValueHeaders"]["Authorization"] = json!([authorization]);
    event
}

fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

#[test]
fn http_api_authorizes_a_verified_caller_for_the_routes_tool() {
    let key = TestKey::new(KID);
    let (authorizer, audit) = api_gateway("http-api", &key, PolicySources::embedded());
    let token = key.sign(KID, &good_claims("agent-7", "devops"));
    let answer = invoke(
        &authorizer,
        http_event("POST /tools/terminate", Some(&bearer(&token))),
    );
    assert_eq!(answer["isAuthorized"], true, "{answer:#}");
    let context = &answer["context"];
    assert_eq!(context["tool"], TERMINATE);
    assert_eq!(context["principal"], r#"AgentCore::OAuthUser::"agent-7""#);
    assert_eq!(context["decision"], "ALLOW");
    assert_eq!(context["outcome"], "allow");

    let record = only_record(&audit);
    assert_eq!(record.outcome, Outcome::Allow);
    assert_eq!(record.tool, TERMINATE);
    // The arguments are not known here: the tool's own guard decides them.
    assert_eq!(record.arguments, Value::Null);
    assert_eq!(record.request_ids.lambda.as_deref(), Some("test-request-1"));
}

#[test]
fn http_api_denies_a_caller_a_forbid_shuts_out_whatever_the_arguments() {
    let key = TestKey::new(KID);
    let sources = policies(&[("gateway/admin_only.cedar", ADMIN_ONLY_TERMINATE)]);
    let (authorizer, audit) = api_gateway("http-api", &key, sources);
    let devops = key.sign(KID, &good_claims("agent-7", "devops"));
    let admin = key.sign(KID, &good_claims("root-1", "admin"));

    let answer = invoke(
        &authorizer,
        http_event("POST /tools/terminate", Some(&bearer(&devops))),
    );
    assert_eq!(answer["isAuthorized"], false);
    assert_eq!(
        answer["context"]["reason"],
        format!("call check: `{TERMINATE}` forbidden by `forbid_terminate_unless_admin_scope`")
    );
    let answer = invoke(
        &authorizer,
        http_event("POST /tools/terminate", Some(&bearer(&admin))),
    );
    assert_eq!(answer["isAuthorized"], true);
    // The forbid does not touch the other tools.
    let answer = invoke(
        &authorizer,
        http_event("POST /tools/restart", Some(&bearer(&devops))),
    );
    assert_eq!(answer["isAuthorized"], true);
    let outcomes: Vec<_> = audit.records().iter().map(|r| r.outcome).collect();
    assert_eq!(outcomes, [Outcome::Deny, Outcome::Allow, Outcome::Allow]);
}

#[test]
fn log_only_lets_a_tool_level_deny_through_as_a_would_deny() {
    let key = TestKey::new(KID);
    let (guard, audit) = guard(
        policies(&[("gateway/admin_only.cedar", ADMIN_ONLY_TERMINATE)]),
        Mode::LogOnly,
    );
    let authorizer = authorizer(
        guard,
        &[
            ("AUTHORIZER_FORM", "http-api"),
            ("AUTHORIZER_ROUTES", ROUTES),
            ("JWT_JWKS", &key.jwks),
            ("JWT_ISSUER", ISSUER),
            ("JWT_AUDIENCE", AUDIENCE),
        ],
    );
    let devops = key.sign(KID, &good_claims("agent-7", "devops"));
    let answer = invoke(
        &authorizer,
        http_event("POST /tools/terminate", Some(&bearer(&devops))),
    );
    assert_eq!(answer["isAuthorized"], true);
    assert_eq!(answer["context"]["outcome"], "would_deny");
    assert_eq!(only_record(&audit).outcome, Outcome::WouldDeny);
}

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
fn a_route_without_a_configured_tool_is_denied() {
    let key = TestKey::new(KID);
    let (authorizer, audit) = api_gateway("http-api", &key, PolicySources::embedded());
    let token = key.sign(KID, &good_claims("agent-7", "devops"));
    let answer = invoke(
        &authorizer,
        http_event("DELETE /tools/terminate", Some(&bearer(&token))),
    );
    assert_eq!(answer["isAuthorized"], false);
    assert!(
        answer["context"]["reason"]
            .as_str()
            .unwrap()
            .contains("no tool is configured for route `DELETE /tools/terminate`")
    );
    assert_eq!(only_record(&audit).outcome, Outcome::Error);
    // An `ANY` route matches every method.
    let answer = invoke(
        &authorizer,
        http_event("GET /tools/metrics", Some(&bearer(&token))),
    );
    assert_eq!(answer["context"]["tool"], GET_METRICS);
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
fn rest_api_answers_with_an_iam_policy_for_the_method() {
    let key = TestKey::new(KID);
    let (authorizer, audit) = api_gateway("rest-api", &key, PolicySources::embedded());
    let token = key.sign(KID, &good_claims("agent-7", "devops"));
    let answer = invoke(
        &authorizer,
        rest_event("POST", "/tools/clean-logs", &bearer(&token)),
    );
    assert_eq!(answer["principalId"], "agent-7");
    assert_eq!(
        answer["policyDocument"],
        json!({"Version": "2012-10-17", "Statement": [{
            "Action": ["execute-api:Invoke"],
            "Effect": "Allow",
            "Resource": ["arn:aws:execute-api:us-west-2:123456789012:abcdef1234/prod/POST/tools/clean-logs"],
        }]})
    );
    assert_eq!(answer["context"]["tool"], CLEAN_LOGS);
    assert_eq!(answer["context"]["decision"], "ALLOW");
    assert!(answer.get("usageIdentifierKey").is_none(), "{answer:#}");
    assert_eq!(only_record(&audit).outcome, Outcome::Allow);
}

#[test]
fn rest_api_denies_with_a_deny_policy_and_says_why() {
    let key = TestKey::new(KID);
    let sources = policies(&[("gateway/admin_only.cedar", ADMIN_ONLY_TERMINATE)]);
    let (authorizer, _) = api_gateway("rest-api", &key, sources);
    let token = key.sign(KID, &good_claims("agent-7", "devops"));
    let answer = invoke(
        &authorizer,
        rest_event("POST", "/tools/terminate", &bearer(&token)),
    );
    let statement = &answer["policyDocument"]["Statement"][0];
    assert_eq!(statement["Effect"], "Deny");
    assert_eq!(
        statement["Resource"][0],
        "arn:aws:execute-api:us-west-2:123456789012:abcdef1234/prod/POST/tools/terminate"
    );
    assert_eq!(answer["principalId"], "agent-7");
    assert_eq!(answer["context"]["decision"], "DENY");
    assert!(
        answer["context"]["reason"]
            .as_str()
            .unwrap()
            .contains("forbidden by `forbid_terminate_unless_admin_scope`")
    );
}

#[test]
fn an_event_of_the_other_form_is_malformed_not_guessed() {
    let key = TestKey::new(KID);
    let token = key.sign(KID, &good_claims("agent-7", "devops"));

    let (rest, _) = api_gateway("rest-api", &key, PolicySources::embedded());
    let answer = invoke(
        &rest,
        http_event("POST /tools/restart", Some(&bearer(&token))),
    );
    assert_eq!(answer["policyDocument"]["Statement"][0]["Effect"], "Deny");

    let (http, _) = api_gateway("http-api", &key, PolicySources::embedded());
    let answer = invoke(&http, rest_event("POST", "/tools/restart", &bearer(&token)));
    assert_eq!(answer["isAuthorized"], false);
    assert!(
        answer["context"]["reason"]
            .as_str()
            .unwrap()
            .contains("not an HTTP API authorizer request")
    );

    // And the interceptor does not mistake an API Gateway event for one of its own.
    let (interceptor, _) = interceptor();
    let answer = invoke(
        &interceptor,
        http_event("POST /tools/restart", Some(&bearer(&token))),
    );
    assert!(denial(&answer).unwrap().1.contains("no `mcp` object"));
}

#[test]
fn an_unknown_form_fails_every_invocation_with_a_clear_error() {
    let (guard, audit) = guard(PolicySources::embedded(), Mode::Enforce);
    let authorizer = authorizer(guard, &[("AUTHORIZER_FORM", "lambda-url")]);
    let event = request_event(
        tools_call(GET_METRICS, json!({"service_name": "api"})),
        Some(&agent_token("agent-7", "devops")),
    );
    let error = authorizer
        .handle(LambdaEvent::new(event, Context::default()))
        .unwrap_err();
    assert_eq!(error.error_type, "InvalidConfiguration");
    assert!(
        error
            .error_message
            .contains("unknown AUTHORIZER_FORM `lambda-url`")
    );
    assert_eq!(only_record(&audit).outcome, Outcome::Error);
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
