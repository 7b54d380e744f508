//! What the interceptor takes the caller from, by the gateway's authorizer type
//! (`GATEWAY_AUTHORIZER_TYPE`, read by the guard's configuration): claims of a token the gateway
//! verified (`CUSTOM_JWT`, `AUTHENTICATE_ONLY`), a token verified here (`NONE`, or `JWT_*`
//! settings given), or nothing (`AWS_IAM`).

use authorizer::Authorizer;
use guard::{MemoryAudit, Mode, Outcome, PolicySources};
use serde_json::json;

use crate::support::*;

/// The interceptor with `settings`, on the shipped policies plus the admin-only rule.
fn interceptor_with(settings: &[(&str, &str)]) -> (Authorizer, MemoryAudit) {
    let (guard, audit) = guard(
        policies(&[("gateway/admin_only.cedar", ADMIN_ONLY_TERMINATE)]),
        Mode::Enforce,
    );
    (authorizer(guard, settings), audit)
}

/// `JWT_*` settings verifying tokens of `key`.
fn verification(key: &TestKey) -> Vec<(&'static str, &str)> {
    vec![
        ("JWT_JWKS", key.jwks.as_str()),
        ("JWT_ISSUER", ISSUER),
        ("JWT_AUDIENCE", AUDIENCE),
    ]
}

#[test]
fn behind_a_none_gateway_without_verification_every_tool_call_is_refused_naming_what_is_missing() {
    let (authorizer, audit) = interceptor_with(&[("GATEWAY_AUTHORIZER_TYPE", "NONE")]);
    let token = agent_token("root-1", "admin");
    let answer = invoke(&authorizer, request_event(staging_restart(), Some(&token)));
    let (code, message) = denial(&answer).unwrap_or_else(|| panic!("passed: {answer:#}"));
    assert_eq!(code, -32002);
    for named in [
        "`NONE`",
        "JWT_JWKS (or JWT_JWKS_FILE) is not set",
        "JWT_ISSUER is not set",
        "set JWT_AUDIENCE or JWT_ALLOWED_CLIENTS",
    ] {
        assert!(message.contains(named), "{named}: {message}");
    }
    let record = only_record(&audit);
    assert_eq!(
        (record.outcome, record.tool.as_str()),
        (Outcome::Error, RESTART)
    );
    // Its tool list shows nothing, audited.
    let answer = invoke(&authorizer, tools_list_response(Some(&token), &[RESTART]));
    assert!(listed(&answer).is_empty());
    assert_eq!(audit.records().len(), 2);

    // Half the settings: the missing half is named.
    let (authorizer, _) = interceptor_with(&[
        ("GATEWAY_AUTHORIZER_TYPE", "NONE"),
        ("JWT_ISSUER", ISSUER),
        ("JWT_AUDIENCE", AUDIENCE),
    ]);
    let answer = invoke(&authorizer, request_event(staging_restart(), Some(&token)));
    let (_, message) = denial(&answer).unwrap();
    assert!(
        message.contains("JWT_JWKS (or JWT_JWKS_FILE) is not set"),
        "{message}"
    );
}

#[test]
fn behind_a_none_gateway_the_interceptor_verifies_the_token_itself() {
    let key = TestKey::new(KID);
    let mut settings = verification(&key);
    settings.push(("GATEWAY_AUTHORIZER_TYPE", "NONE"));
    let (authorizer, audit) = interceptor_with(&settings);

    let signed = key.sign(KID, &good_claims("agent-7", "devops"));
    let answer = invoke(&authorizer, request_event(staging_restart(), Some(&signed)));
    assert_eq!(passed(&answer), Some(&staging_restart()), "{answer:#}");
    assert_eq!(
        audit.records()[0].principal,
        r#"AgentCore::OAuthUser::"agent-7""#
    );

    let mut expired = good_claims("root-1", "admin");
    expired["iat"] = json!(now() - 7200);
    expired["exp"] = json!(now() - 3600);
    let cases = [
        // What a gateway that verified the token would pass on: here nobody did.
        (agent_token("root-1", "admin"), "no key `test-only`"),
        (
            TestKey::new(KID).sign(KID, &good_claims("root-1", "admin")),
            "signature does not verify",
        ),
        (key.sign(KID, &expired), "it has expired"),
        (
            key.sign(KID, &{
                let mut c = good_claims("root-1", "admin");
                c["aud"] = json!("someone-else");
                c
            }),
            "`aud` is not one of JWT_AUDIENCE",
        ),
    ];
    for (token, reason) in cases {
        let answer = invoke(&authorizer, request_event(staging_restart(), Some(&token)));
        let (_, message) = denial(&answer).unwrap_or_else(|| panic!("{reason}: passed"));
        assert!(message.contains(reason), "{reason}: {message}");
        assert_eq!(audit.records().last().unwrap().outcome, Outcome::Error);
    }
}

#[test]
fn behind_a_none_gateway_tool_lists_follow_the_same_trust() {
    let key = TestKey::new(KID);
    let mut settings = verification(&key);
    settings.push(("GATEWAY_AUTHORIZER_TYPE", "NONE"));
    let (authorizer, audit) = interceptor_with(&settings);
    let all = [RESTART, TERMINATE];
    let admin = key.sign(KID, &good_claims("root-1", "admin"));
    let devops = key.sign(KID, &good_claims("agent-7", "devops"));
    assert_eq!(
        listed(&invoke(
            &authorizer,
            tools_list_response(Some(&admin), &all)
        )),
        all
    );
    assert_eq!(
        listed(&invoke(
            &authorizer,
            tools_list_response(Some(&devops), &all)
        )),
        [RESTART]
    );
    assert!(audit.records().is_empty());
    // A token the gateway would have had to verify lists nothing here.
    let forged = agent_token("root-1", "admin");
    let answer = invoke(&authorizer, tools_list_response(Some(&forged), &all));
    assert!(listed(&answer).is_empty(), "{answer:#}");
    assert_eq!(only_record(&audit).outcome, Outcome::Error);
}

#[test]
fn jwt_settings_behind_a_gateway_that_verified_the_token_mean_verify_anyway() {
    let key = TestKey::new(KID);
    for authorizer_type in ["CUSTOM_JWT", "AUTHENTICATE_ONLY"] {
        let mut settings = verification(&key);
        settings.push(("GATEWAY_AUTHORIZER_TYPE", authorizer_type));
        let (authorizer, _) = interceptor_with(&settings);
        // The sample's fake signature would pass on claims alone; configured, it is checked.
        let answer = invoke(
            &authorizer,
            request_event(staging_restart(), Some(&agent_token("agent-7", "devops"))),
        );
        let (_, message) = denial(&answer).unwrap_or_else(|| panic!("{authorizer_type}: passed"));
        assert!(message.contains("no key `test-only`"), "{message}");
        let signed = key.sign(KID, &good_claims("agent-7", "devops"));
        let answer = invoke(&authorizer, request_event(staging_restart(), Some(&signed)));
        assert_eq!(
            passed(&answer),
            Some(&staging_restart()),
            "{authorizer_type}"
        );

        // Without the settings, the gateway's verification is trusted and the claims read.
        let (authorizer, _) = interceptor_with(&[("GATEWAY_AUTHORIZER_TYPE", authorizer_type)]);
        let answer = invoke(
            &authorizer,
            request_event(staging_restart(), Some(&agent_token("agent-7", "devops"))),
        );
        assert_eq!(
            passed(&answer),
            Some(&staging_restart()),
            "{authorizer_type}"
        );
    }
}

#[test]
fn an_unknown_gateway_authorizer_type_refuses_the_api_gateway_forms_too() {
    let key = TestKey::new(KID);
    let token = key.sign(KID, &good_claims("agent-7", "devops"));
    for form in ["http-api", "rest-api"] {
        let (guard, audit) = guard(PolicySources::embedded(), Mode::LogOnly);
        let mut settings = verification(&key);
        settings.extend([
            ("AUTHORIZER_FORM", form),
            ("AUTHORIZER_ROUTES", ROUTES),
            ("GATEWAY_AUTHORIZER_TYPE", "Custom_JWT"),
        ]);
        let authorizer = authorizer(guard, &settings);
        let mut event = sample_event(&format!("{form}-request.json"));
        let header = if form == "http-api" {
            "authorization"
        } else {
            "Authorization"
        };
        event["headers"][header] = json!(format!("Bearer {token}"));
        if let Some(multi) = event.get_mut("multiValueHeaders") {
            multi["Authorization"] = json!([format!("Bearer {token}")]);
        }
        let answer = invoke(&authorizer, event);
        let reason = answer["context"]["reason"].as_str().unwrap();
        assert!(
            reason.contains("unknown GATEWAY_AUTHORIZER_TYPE `Custom_JWT`"),
            "{reason}"
        );
        assert_ne!(answer["isAuthorized"], true);
        assert_ne!(answer["policyDocument"]["Statement"][0]["Effect"], "Allow");
        assert_eq!(only_record(&audit).outcome, Outcome::Error);
    }
}

#[test]
fn an_authenticate_only_gateway_has_oauth_users_decided_by_policy() {
    let (guard, audit) = guard(PolicySources::embedded(), Mode::Enforce);
    let authorizer = authorizer(guard, &[("GATEWAY_AUTHORIZER_TYPE", "AUTHENTICATE_ONLY")]);
    let token = agent_token("agent-7", "devops");
    let staging = tools_call(
        RESTART,
        json!({"environment": "staging", "service": "api-gateway"}),
    );
    let answer = invoke(&authorizer, request_event(staging.clone(), Some(&token)));
    assert_eq!(passed(&answer), Some(&staging), "{answer:#}");
    let production = tools_call(
        RESTART,
        json!({"environment": "prod", "service": "api-gateway"}),
    );
    let answer = invoke(&authorizer, request_event(production, Some(&token)));
    assert!(denial(&answer).is_some(), "{answer:#}");

    let records = audit.records();
    let seen: Vec<_> = records
        .iter()
        .map(|r| (r.outcome, r.principal.as_str()))
        .collect();
    assert_eq!(
        seen,
        [
            (Outcome::Allow, r#"AgentCore::OAuthUser::"agent-7""#),
            (Outcome::Deny, r#"AgentCore::OAuthUser::"agent-7""#)
        ]
    );
    let listed_tools = listed(&invoke(
        &authorizer,
        tools_list_response(Some(&token), &[RESTART, GET_METRICS]),
    ));
    assert_eq!(listed_tools, [RESTART, GET_METRICS]);
}

#[test]
fn behind_an_aws_iam_gateway_no_bearer_token_is_trusted() {
    let (guard, audit) = guard(PolicySources::embedded(), Mode::Enforce);
    let authorizer = authorizer(guard, &[("GATEWAY_AUTHORIZER_TYPE", "AWS_IAM")]);
    let token = agent_token("root-1", "admin");
    let body = tools_call(
        RESTART,
        json!({"environment": "staging", "service": "api-gateway"}),
    );
    let answer = invoke(&authorizer, request_event(body, Some(&token)));
    let (code, message) = denial(&answer).unwrap_or_else(|| panic!("passed: {answer:#}"));
    assert_eq!(code, -32002);
    assert!(message.contains("`AWS_IAM`"), "{message}");
    assert_eq!(only_record(&audit).outcome, Outcome::Error);
    let answer = invoke(
        &authorizer,
        tools_list_response(Some(&token), &[RESTART, GET_METRICS]),
    );
    assert!(listed(&answer).is_empty());
}

#[test]
fn an_unknown_gateway_authorizer_type_refuses_every_request() {
    let token = agent_token("agent-7", "devops");
    for spelling in [
        "authenticate_only",
        "AUTHENTICATE_ONLY ",
        "none",
        "NONE\u{200b}",
        " ",
    ] {
        let (guard, audit) = guard(PolicySources::embedded(), Mode::LogOnly);
        let authorizer = authorizer(guard, &[("GATEWAY_AUTHORIZER_TYPE", spelling)]);
        let call = tools_call(
            RESTART,
            json!({"environment": "staging", "service": "api-gateway"}),
        );
        let list = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"});
        let ping = json!({"jsonrpc": "2.0", "id": 2, "method": "ping"});
        for body in [call, list, ping] {
            let answer = invoke(&authorizer, request_event(body, Some(&token)));
            let (_, message) = denial(&answer).unwrap_or_else(|| panic!("{spelling:?}: passed"));
            assert!(
                message.contains("unknown GATEWAY_AUTHORIZER_TYPE"),
                "{spelling:?}: {message}"
            );
        }
        // A RESPONSE lists nothing: the gateway's answer is replaced by the refusal.
        let answer = invoke(&authorizer, tools_list_response(Some(&token), &[RESTART]));
        assert!(denial(&answer).is_some(), "{spelling:?}: {answer:#}");
        let records = audit.records();
        assert_eq!(records.len(), 4, "{records:#?}");
        assert!(records.iter().all(|r| r.outcome == Outcome::Error));
        assert_eq!(records[0].tool, RESTART);
    }
}
