//! The AgentCore Gateway interceptor: REQUEST decisions, refusals, pass-through, claims as tags.

use authorizer::token;
use guard::{EXAMPLE_GATEWAY_ARN as ARTICLE_GATEWAY_ARN, Mode, Outcome, PolicySources};
use guard_cli::cases::{CaseRunner, Expected, parse_cases};
use serde_json::{Value, json};

use crate::support::*;

#[test]
fn an_allowed_call_goes_on_with_its_body_unchanged() {
    let (authorizer, audit) = interceptor();
    let body = tools_call(
        TERMINATE,
        json!({"environment": "staging", "instance_id": "i-0abc"}),
    );
    let answer = invoke(
        &authorizer,
        request_event(body.clone(), Some(&agent_token("agent-7", "devops"))),
    );
    assert_eq!(answer["interceptorOutputVersion"], "1.0");
    assert_eq!(passed(&answer), Some(&body), "{answer:#}");

    let record = only_record(&audit);
    assert_eq!(record.outcome, Outcome::Allow);
    assert_eq!(record.tool, TERMINATE);
    assert_eq!(record.principal, r#"AgentCore::OAuthUser::"agent-7""#);
    assert_eq!(record.policies, ["allow_terminate_non_production"]);
    assert_eq!(record.request_ids.lambda.as_deref(), Some("test-request-1"));
    assert_eq!(record.request_ids.mcp_message.as_deref(), Some("42"));
}

#[test]
fn a_call_no_policy_permits_is_answered_with_a_json_rpc_error() {
    let (authorizer, audit) = interceptor();
    let body = tools_call(
        TERMINATE,
        json!({"environment": "production", "instance_id": "i-0abc"}),
    );
    let answer = invoke(
        &authorizer,
        request_event(body, Some(&agent_token("agent-7", "devops"))),
    );
    let response = &answer["mcp"]["transformedGatewayResponse"];
    assert_eq!(response["statusCode"], 200);
    assert_eq!(response["body"]["jsonrpc"], "2.0");
    assert_eq!(response["body"]["id"], 42);
    assert_eq!(
        denial(&answer),
        Some((
            -32002,
            format!("Tool Execution Denied: call check: no policy permits `{TERMINATE}`")
        ))
    );
    assert!(answer["mcp"].get("transformedGatewayRequest").is_none());
    let record = only_record(&audit);
    assert_eq!((record.outcome, record.enforced), (Outcome::Deny, true));
}

#[test]
fn a_forbid_on_a_claim_denies_and_names_the_policy() {
    let (guard, audit) = guard(
        policies(&[("gateway/admin_only.cedar", ADMIN_ONLY_TERMINATE)]),
        Mode::Enforce,
    );
    let authorizer = authorizer(guard, &[]);
    let body = tools_call(
        TERMINATE,
        json!({"environment": "staging", "instance_id": "i-0abc"}),
    );

    let devops = invoke(
        &authorizer,
        request_event(body.clone(), Some(&agent_token("agent-7", "devops"))),
    );
    let (code, message) = denial(&devops).unwrap();
    assert_eq!(code, -32002);
    assert_eq!(
        message,
        format!(
            "Tool Execution Denied: call check: `{TERMINATE}` forbidden by \
             `forbid_terminate_unless_admin_scope`"
        )
    );

    let admin = invoke(
        &authorizer,
        request_event(body.clone(), Some(&agent_token("root-1", "admin"))),
    );
    assert_eq!(passed(&admin), Some(&body));
    let outcomes: Vec<_> = audit.records().iter().map(|r| r.outcome).collect();
    assert_eq!(outcomes, [Outcome::Deny, Outcome::Allow]);
}

#[test]
fn log_only_lets_a_policy_deny_through_and_records_the_would_deny() {
    let (guard, audit) = guard(PolicySources::embedded(), Mode::LogOnly);
    let authorizer = authorizer(guard, &[]);
    // An environment no policy admits (a production claim reaches the tool, to be approved).
    let body = tools_call(
        RESTART,
        json!({"environment": "prod", "service": "api-gateway"}),
    );
    let answer = invoke(
        &authorizer,
        request_event(body.clone(), Some(&agent_token("agent-7", "devops"))),
    );
    assert_eq!(passed(&answer), Some(&body));
    let record = only_record(&audit);
    assert_eq!(record.outcome, Outcome::WouldDeny);
    assert_eq!(record.decision, guard::Verdict::Deny);
    assert!(!record.enforced);
    assert_eq!(record.mode, Mode::LogOnly);
}

#[test]
fn log_only_still_refuses_a_call_without_a_caller() {
    let (guard, audit) = guard(PolicySources::embedded(), Mode::LogOnly);
    let authorizer = authorizer(guard, &[]);
    let body = tools_call(
        RESTART,
        json!({"environment": "staging", "service": "api-gateway"}),
    );
    let answer = invoke(&authorizer, request_event(body, None));
    assert!(denial(&answer).is_some(), "{answer:#}");
    assert_eq!(only_record(&audit).outcome, Outcome::Error);
}

#[test]
fn a_call_without_a_usable_token_is_refused_audited_and_explained() {
    let body = tools_call(
        RESTART,
        json!({"environment": "staging", "service": "api-gateway"}),
    );
    let no_sub = unsigned_token(&json!({"scope": "devops"}));
    let cases: Vec<(Value, &str)> = vec![
        (request_event(body.clone(), None), "passRequestHeaders"),
        (
            {
                let mut e = request_event(body.clone(), Some("x"));
                e["mcp"]["gatewayRequest"]["headers"] = json!({"Accept": "application/json"});
                e
            },
            "no `Authorization` header",
        ),
        (
            {
                let mut e = request_event(body.clone(), Some("x"));
                e["mcp"]["gatewayRequest"]["headers"] = json!({"authorization": "Basic dXNlcg=="});
                e
            },
            "not `Bearer <token>`",
        ),
        (
            request_event(body.clone(), Some("not-a-jwt")),
            "the bearer token is not a JWT",
        ),
        (request_event(body.clone(), Some(&no_sub)), "no `sub` claim"),
    ];
    for (event, reason) in cases {
        let (authorizer, audit) = interceptor();
        let answer = invoke(&authorizer, event);
        let (code, message) = denial(&answer).unwrap_or_else(|| panic!("passed: {answer:#}"));
        assert_eq!(code, -32002);
        assert!(message.starts_with("Tool Execution Denied: "), "{message}");
        assert!(message.contains(reason), "{reason}: {message}");
        let record = only_record(&audit);
        assert_eq!(record.outcome, Outcome::Error);
        assert_eq!(record.tool, RESTART);
        assert!(record.errors[0].contains(reason), "{:?}", record.errors);
    }
}

#[test]
fn malformed_requests_are_refused_never_passed_on() {
    let token = agent_token("agent-7", "devops");
    let with_body = |body: Value| request_event(body, Some(&token));
    let cases: Vec<(Value, &str)> = vec![
        (
            with_body(json!("tools/call")),
            "not a JSON-RPC request object",
        ),
        (
            with_body(json!([tools_call(
                GET_METRICS,
                json!({"service_name": "api"})
            )])),
            "JSON-RPC batch",
        ),
        (
            with_body(json!({"id": 1, "method": "tools/call", "params": {"name": GET_METRICS}})),
            "not JSON-RPC 2.0",
        ),
        (with_body(json!({"jsonrpc": "2.0", "id": 1})), "no `method`"),
        (
            with_body(json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                             "params": {"arguments": {"service_name": "api"}}})),
            "`params.name` is missing",
        ),
        (
            with_body(json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                             "params": {"name": 7}})),
            "`params.name` is missing or not a string",
        ),
        (
            with_body(tools_call(GET_METRICS, json!({"service_name": 5}))),
            "do not match its schema",
        ),
        (
            with_body(tools_call(GET_METRICS, json!("api"))),
            "must be a JSON object",
        ),
        (
            with_body(tools_call("get-metrics___delete_everything", json!({}))),
            "unknown tool `get-metrics___delete_everything`",
        ),
        (json!({"interceptorInputVersion": "1.0"}), "no `mcp` object"),
        (
            {
                let mut e = with_body(tools_call(GET_METRICS, json!({"service_name": "api"})));
                e["interceptorInputVersion"] = json!("2.0");
                e
            },
            "unsupported `interceptorInputVersion` `2.0`",
        ),
        (
            json!({"interceptorInputVersion": "1.0", "mcp": {"gatewayRequest": {"path": "/mcp"}}}),
            "no `mcp.gatewayRequest.body`",
        ),
    ];
    for (event, reason) in cases {
        let (authorizer, audit) = interceptor();
        let answer = invoke(&authorizer, event.clone());
        let (code, message) = denial(&answer).unwrap_or_else(|| panic!("passed: {event:#}"));
        assert_eq!(code, -32002);
        assert!(message.contains(reason), "{reason}: {message}");
        assert_eq!(only_record(&audit).outcome, Outcome::Error, "{reason}");
    }
}

#[test]
fn other_methods_pass_through_unchanged_and_unaudited() {
    let token = agent_token("agent-7", "devops");
    for body in [
        json!({"jsonrpc": "2.0", "id": 0, "method": "initialize",
               "params": {"protocolVersion": "2025-03-26", "capabilities": {},
                          "clientInfo": {"name": "agent", "version": "1"}}}),
        json!({"jsonrpc": "2.0", "method": "notifications/initialized"}),
        json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}),
        json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list", "params": {"cursor": "page-2"}}),
        json!({"jsonrpc": "2.0", "id": 3, "method": "ping"}),
        json!({"jsonrpc": "2.0", "id": 4, "method": "resources/list"}),
        json!({"jsonrpc": "2.0", "id": 5, "method": "prompts/get", "params": {"name": "p"}}),
    ] {
        for token in [Some(token.as_str()), None] {
            let (authorizer, audit) = interceptor();
            let answer = invoke(&authorizer, request_event(body.clone(), token));
            assert_eq!(passed(&answer), Some(&body), "{answer:#}");
            assert!(audit.records().is_empty());
        }
    }
}

/// The article's seven cases, replayed as gateway requests, decide as `guard test` decides them.
#[test]
fn the_article_cases_decide_as_the_guard_decides_them() {
    let text = std::fs::read_to_string(policies_dir().join("tests/article.json")).unwrap();
    let cases: Vec<_> = parse_cases(&text)
        .unwrap()
        .into_iter()
        .map(Result::unwrap)
        .collect();
    assert_eq!(cases.len(), 7);
    let runner = CaseRunner::new(&PolicySources::embedded(), ARTICLE_GATEWAY_ARN).unwrap();
    let (authorizer, audit) = interceptor();
    let token = agent_token("article-agent", "devops");
    let principal = token::principal(&token::unverified_claims(&token).unwrap()).unwrap();

    for mut case in cases {
        // The interceptor always knows the caller: give the guard the same one. It decides the
        // call check only: a case that states the real resource is compared on its call check
        // (the production restart reaches the tool, which asks a person or denies).
        case.principal = Some(principal.clone());
        let states_resource = case.resource.take().is_some();
        let expected = runner.run(&case);
        assert!(states_resource || expected.passed(), "{expected}");

        let answer = invoke(
            &authorizer,
            request_event(tools_call(&case.tool, case.params.clone()), Some(&token)),
        );
        let got = match denial(&answer) {
            None => Expected::Allow,
            Some((-32002, _)) => Expected::Deny,
            Some(other) => panic!("{}: unexpected error {other:?}", case.name),
        };
        assert_eq!(Some(got), expected.got, "{}: {answer:#}", case.name);
        if !states_resource {
            assert_eq!(got, case.expected, "{}", case.name);
        }
    }
    assert_eq!(audit.records().len(), 7);
}

/// A gateway policy that shuts out callers whose token carries a `suspended` claim.
const FORBID_SUSPENDED: &str = r#"
@id("forbid_suspended_callers")
forbid (principal is AgentCore::OAuthUser, action, resource == ?resource)
when { principal.hasTag("suspended") };
"#;

#[test]
fn a_null_claim_is_no_tag_as_agentcore_policy_maps_it() {
    let (guard, audit) = guard(
        policies(&[("gateway/suspended.cedar", FORBID_SUSPENDED)]),
        Mode::Enforce,
    );
    let authorizer = authorizer(guard, &[]);
    let body = tools_call(
        RESTART,
        json!({"environment": "staging", "service": "api-gateway"}),
    );
    let not_suspended = unsigned_token(&json!({"sub": "agent-7", "suspended": null}));
    let answer = invoke(
        &authorizer,
        request_event(body.clone(), Some(&not_suspended)),
    );
    assert_eq!(passed(&answer), Some(&body), "{answer:#}");

    let suspended = unsigned_token(&json!({"sub": "agent-7", "suspended": false}));
    let answer = invoke(&authorizer, request_event(body, Some(&suspended)));
    let (_, message) = denial(&answer).unwrap();
    assert!(message.contains("forbid_suspended_callers"), "{message}");
    let outcomes: Vec<_> = audit.records().iter().map(|r| r.outcome).collect();
    assert_eq!(outcomes, [Outcome::Allow, Outcome::Deny]);
}
