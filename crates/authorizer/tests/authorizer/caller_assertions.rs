//! The caller assertion: every `tools/call` the interceptor lets through carries one, signed
//! and bound to the call; one the agent supplies is refused; tool lists do not show its field.

#![expect(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    reason = "a test helper that cannot do its job fails the test"
)]

use std::time::SystemTime;

use authorizer::{Authorizer, CallerSigner, KmsSigner};
use caller::{ASSERTION_FIELD, Binding, LocalSigner, Verifier};
use guard::{EXAMPLE_GATEWAY_ARN as ARTICLE_GATEWAY_ARN, Mode, Outcome, PolicySources, Principal};
use serde_json::{Value, json};

use crate::support::*;

const KEY: &str = "local-test-key";

/// An interceptor signing with a fresh local key, and a verifier trusting that key.
fn signing(mode: Mode, env: &[(&str, &str)]) -> (Authorizer, guard::MemoryAudit, Verifier) {
    let signer = LocalSigner::generate(KEY).unwrap();
    let verifier = Verifier::new([(KEY, signer.public_key_der().as_slice())]).unwrap();
    let (guard, audit) = guard(PolicySources::embedded(), mode);
    let mut settings = vec![("CALLER_SIGNING_KEY", KEY)];
    settings.extend_from_slice(env);
    let authorizer = authorizer(guard, &settings).with_signer(CallerSigner::Local(signer));
    (authorizer, audit, verifier)
}

fn staging_terminate() -> Value {
    tools_call(
        TERMINATE,
        json!({"environment": "staging", "instance_id": "i-0abc"}),
    )
}

/// The assertion a passed-on body carries.
fn assertion(body: &Value) -> &str {
    body["params"]["arguments"][ASSERTION_FIELD]
        .as_str()
        .unwrap()
}

#[test]
fn an_allowed_call_carries_an_assertion_of_its_caller_bound_to_exactly_this_call() {
    let (authorizer, audit, verifier) = signing(Mode::Enforce, &[]);
    let body = staging_terminate();
    let token = agent_token("agent-7", "devops");
    let answer = invoke(&authorizer, request_event(body.clone(), Some(&token)));
    let passed = passed(&answer).unwrap_or_else(|| panic!("denied: {answer:#}"));

    // Only the assertion was added.
    let mut expected = body.clone();
    expected["params"]["arguments"][ASSERTION_FIELD] =
        passed["params"]["arguments"][ASSERTION_FIELD].clone();
    assert_eq!(passed, &expected);

    // It verifies against the key's public half, for the call as the tool receives it.
    let arguments = &passed["params"]["arguments"];
    let binding = Binding {
        gateway: ARTICLE_GATEWAY_ARN,
        tool: TERMINATE,
        arguments,
        mcp_request: Some("42"),
    };
    let now = SystemTime::now();
    let verified = verifier.verify(assertion(passed), &binding, now).unwrap();
    let claims = authorizer::token::unverified_claims(&token).unwrap();
    assert_eq!(
        verified.principal,
        authorizer::token::principal(&claims).unwrap()
    );
    assert!(
        matches!(&verified.principal, Principal::OAuthUser { id, tags }
        if id == "agent-7" && tags.get("scope").map(String::as_str) == Some("devops"))
    );
    let lifetime = verified.expires_at.duration_since(now).unwrap().as_secs();
    assert!((29..=30).contains(&lifetime), "{lifetime}");

    // Bound to each part of the call: any other is refused.
    let other_arguments = json!({"environment": "staging", "instance_id": "i-0def"});
    for other in [
        Binding {
            gateway: "arn:aws:bedrock-agentcore:us-east-1:123456789012:gateway/other",
            ..binding
        },
        Binding {
            tool: RESTART,
            ..binding
        },
        Binding {
            arguments: &other_arguments,
            ..binding
        },
        Binding {
            mcp_request: Some("43"),
            ..binding
        },
        Binding {
            mcp_request: None,
            ..binding
        },
    ] {
        assert!(
            verifier.verify(assertion(passed), &other, now).is_err(),
            "{other:?}"
        );
    }
    assert_eq!(only_record(&audit).outcome, Outcome::Allow);
}

#[test]
fn a_string_request_id_is_bound_as_it_is() {
    let (authorizer, _, verifier) = signing(Mode::Enforce, &[]);
    let mut body = staging_terminate();
    body["id"] = json!("req-7");
    let answer = invoke(
        &authorizer,
        request_event(body, Some(&agent_token("agent-7", "devops"))),
    );
    let passed = passed(&answer).unwrap();
    let binding = Binding {
        gateway: ARTICLE_GATEWAY_ARN,
        tool: TERMINATE,
        arguments: &passed["params"]["arguments"],
        mcp_request: Some("req-7"),
    };
    verifier
        .verify(assertion(passed), &binding, SystemTime::now())
        .unwrap();
}

#[test]
fn each_assertion_is_unique() {
    let (authorizer, _, verifier) = signing(Mode::Enforce, &[]);
    let token = agent_token("agent-7", "devops");
    let jtis: Vec<String> = (0..2)
        .map(|_| {
            let answer = invoke(
                &authorizer,
                request_event(staging_terminate(), Some(&token)),
            );
            let passed = passed(&answer).unwrap().clone();
            let binding = Binding {
                gateway: ARTICLE_GATEWAY_ARN,
                tool: TERMINATE,
                arguments: &passed["params"]["arguments"],
                mcp_request: Some("42"),
            };
            verifier
                .verify(assertion(&passed), &binding, SystemTime::now())
                .unwrap()
                .jti
        })
        .collect();
    assert_ne!(jtis[0], jtis[1]);
}

#[test]
fn a_log_only_would_deny_carries_an_assertion_too() {
    let (authorizer, audit, verifier) = signing(Mode::LogOnly, &[]);
    let body = tools_call(
        TERMINATE,
        json!({"environment": "production", "instance_id": "i-0abc"}),
    );
    let answer = invoke(
        &authorizer,
        request_event(body, Some(&agent_token("agent-7", "devops"))),
    );
    let passed = passed(&answer).unwrap_or_else(|| panic!("denied: {answer:#}"));
    let binding = Binding {
        gateway: ARTICLE_GATEWAY_ARN,
        tool: TERMINATE,
        arguments: &passed["params"]["arguments"],
        mcp_request: Some("42"),
    };
    verifier
        .verify(assertion(passed), &binding, SystemTime::now())
        .unwrap();
    assert_eq!(only_record(&audit).outcome, Outcome::WouldDeny);
}

#[test]
fn a_denied_call_gets_no_assertion() {
    let (authorizer, _, _) = signing(Mode::Enforce, &[]);
    let body = tools_call(
        TERMINATE,
        json!({"environment": "production", "instance_id": "i-0abc"}),
    );
    let answer = invoke(
        &authorizer,
        request_event(body, Some(&agent_token("agent-7", "devops"))),
    );
    assert!(passed(&answer).is_none());
    assert!(!answer.to_string().contains(ASSERTION_FIELD), "{answer:#}");
}

#[test]
fn an_assertion_the_agent_supplies_is_refused_audited_and_never_passed_on() {
    for mode in [Mode::Enforce, Mode::LogOnly] {
        let (authorizer, audit, _) = signing(mode, &[]);
        let keys = [
            ASSERTION_FIELD,
            "_GUARD_CALLER",
            "_guard_caller\u{200b}",
            "\u{ff3f}\u{ff47}\u{ff55}\u{ff41}\u{ff52}\u{ff44}\u{ff3f}\u{ff43}\u{ff41}\u{ff4c}\u{ff4c}\u{ff45}\u{ff52}",
        ];
        for key in keys {
            let mut arguments = json!({"environment": "staging", "instance_id": "i-0abc"});
            arguments[key] = json!("eyJ.forged.sig");
            let body = tools_call(TERMINATE, arguments);
            let answer = invoke(
                &authorizer,
                request_event(body, Some(&agent_token("agent-7", "devops"))),
            );
            assert!(passed(&answer).is_none(), "{mode:?} {key:?}: {answer:#}");
            let (code, message) = denial(&answer).unwrap();
            assert_eq!(code, -32002);
            assert!(
                message.contains("a caller assertion the agent supplies is refused"),
                "{message}"
            );
            assert!(
                message.contains(&format!("`{}`", key.escape_debug())),
                "{message}"
            );
        }
        let records = audit.records();
        assert_eq!(records.len(), keys.len(), "{records:#?}");
        for record in records {
            assert_eq!(record.outcome, Outcome::Error);
            assert!(record.enforced);
            assert_eq!(record.tool, TERMINATE);
            assert_eq!(record.principal, r#"AgentCore::OAuthUser::"agent-7""#);
        }
    }
}

#[test]
fn a_supplied_assertion_is_refused_even_when_no_signing_key_is_configured() {
    let (authorizer, audit) = interceptor();
    let body = tools_call(
        TERMINATE,
        json!({"environment": "staging", "instance_id": "i-0abc", ASSERTION_FIELD: "x"}),
    );
    let answer = invoke(
        &authorizer,
        request_event(body, Some(&agent_token("agent-7", "devops"))),
    );
    assert!(passed(&answer).is_none());
    assert_eq!(only_record(&audit).outcome, Outcome::Error);
}

#[test]
fn without_a_signing_key_an_allowed_call_passes_without_an_assertion() {
    let (authorizer, _) = interceptor();
    let body = staging_terminate();
    let answer = invoke(
        &authorizer,
        request_event(body.clone(), Some(&agent_token("agent-7", "devops"))),
    );
    assert_eq!(passed(&answer), Some(&body));
}

/// Refused, audited after the allow it overrides, with the reason in the denial.
fn assert_refused_unvouched(answer: &Value, audit: &guard::MemoryAudit, why: &str) {
    assert!(passed(answer).is_none(), "{answer:#}");
    let (code, message) = denial(answer).unwrap();
    assert_eq!(code, -32002);
    assert!(
        message.contains("the caller could not be vouched for to the tool"),
        "{message}"
    );
    assert!(message.contains(why), "{message}");
    let outcomes: Vec<Outcome> = audit.records().iter().map(|r| r.outcome).collect();
    assert_eq!(outcomes, [Outcome::Allow, Outcome::Error]);
}

#[test]
fn a_call_whose_assertion_cannot_be_signed_is_refused() {
    // A KMS endpoint nobody answers on: signing fails as it would with KMS down.
    let config = aws_sdk_kms::Config::builder()
        .behavior_version(aws_sdk_kms::config::BehaviorVersion::latest())
        .endpoint_url("http://127.0.0.1:1")
        .region(aws_sdk_kms::config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_kms::config::Credentials::new(
            "testing", "testing", None, None, "test",
        ))
        .retry_config(aws_sdk_kms::config::retry::RetryConfig::disabled())
        .build();
    let signer = KmsSigner::new(aws_sdk_kms::Client::from_conf(config), "alias/caller");
    let (guard, audit) = guard(PolicySources::embedded(), Mode::Enforce);
    let authorizer = authorizer(guard, &[("CALLER_SIGNING_KEY", "alias/caller")])
        .with_signer(CallerSigner::Kms(signer));
    let answer = invoke(
        &authorizer,
        request_event(staging_terminate(), Some(&agent_token("agent-7", "devops"))),
    );
    assert_refused_unvouched(
        &answer,
        &audit,
        "KMS could not sign with key `alias/caller`",
    );
}

#[test]
fn a_configured_key_without_a_signer_refuses_the_call() {
    let (guard, audit) = guard(PolicySources::embedded(), Mode::Enforce);
    let authorizer = authorizer(guard, &[("CALLER_SIGNING_KEY", KEY)]);
    let answer = invoke(
        &authorizer,
        request_event(staging_terminate(), Some(&agent_token("agent-7", "devops"))),
    );
    assert_refused_unvouched(&answer, &audit, "no signer");
}

#[test]
fn a_broken_assertion_lifetime_refuses_the_call() {
    let (authorizer, audit, _) = signing(Mode::Enforce, &[("CALLER_ASSERTION_LIFETIME", "5m")]);
    let answer = invoke(
        &authorizer,
        request_event(staging_terminate(), Some(&agent_token("agent-7", "devops"))),
    );
    assert_refused_unvouched(&answer, &audit, "CALLER_ASSERTION_LIFETIME `5m`");
}

#[test]
fn tool_lists_do_not_show_the_assertion_field() {
    let (authorizer, _, _) = signing(Mode::Enforce, &[]);
    let caller_property = json!({"type": "string", "description": "set by the interceptor"});
    let with_field = |required: Value| {
        json!({"name": RESTART, "inputSchema": {"type": "object",
            "properties": {"environment": {"type": "string"}, ASSERTION_FIELD: caller_property},
            "required": required}})
    };
    let expected = |required: Value| {
        json!({"name": RESTART, "inputSchema": {"type": "object",
            "properties": {"environment": {"type": "string"}}, "required": required}})
    };
    for method in ["tools/list", "server/discover"] {
        let mut event = tools_list_response(Some(&agent_token("agent-7", "devops")), &[]);
        event["mcp"]["gatewayRequest"]["body"]["method"] = json!(method);
        event["mcp"]["gatewayResponse"]["body"]["result"]["tools"] = json!([
            with_field(json!(["environment"])),
            with_field(json!(["environment", ASSERTION_FIELD])),
            {"name": GET_METRICS, "inputSchema": {"type": "object"}},
        ]);
        let answer = invoke(&authorizer, event);
        let tools = &answer["mcp"]["transformedGatewayResponse"]["body"]["result"]["tools"];
        assert_eq!(
            tools,
            &json!([
                expected(json!(["environment"])),
                expected(json!(["environment"])),
                {"name": GET_METRICS, "inputSchema": {"type": "object"}},
            ]),
            "{method}"
        );
    }
}
