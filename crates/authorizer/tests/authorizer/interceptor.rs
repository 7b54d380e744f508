//! The AgentCore Gateway interceptor: REQUEST decisions, refusals, pass-through, RESPONSE filtering.

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
    let body = tools_call(
        RESTART,
        json!({"environment": "production", "service": "api-gateway"}),
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

#[test]
fn tools_list_shows_each_caller_only_the_tools_it_could_call() {
    let (guard, audit) = guard(
        policies(&[("gateway/admin_only.cedar", ADMIN_ONLY_TERMINATE)]),
        Mode::Enforce,
    );
    let authorizer = authorizer(guard, &[]);
    let all = [
        RESTART,
        TERMINATE,
        CLEAN_LOGS,
        GET_METRICS,
        "x_amz_bedrock_agentcore_search",
    ];

    let devops = invoke(
        &authorizer,
        tools_list_response(Some(&agent_token("agent-7", "devops")), &all),
    );
    assert_eq!(listed(&devops), [RESTART, CLEAN_LOGS, GET_METRICS]);

    let admin = invoke(
        &authorizer,
        tools_list_response(Some(&agent_token("root-1", "admin")), &all),
    );
    assert_eq!(
        listed(&admin),
        [RESTART, TERMINATE, CLEAN_LOGS, GET_METRICS]
    );

    // The rest of the response is the gateway's, untouched.
    let response = &admin["mcp"]["transformedGatewayResponse"];
    assert_eq!(response["statusCode"], 200);
    assert_eq!(response["headers"]["Mcp-Session-Id"], "test-session");
    assert_eq!(response["body"]["id"], 3);
    assert_eq!(response["body"]["result"]["nextCursor"], "page-2");
    // Listing is not deciding: no audit records.
    assert!(audit.records().is_empty());
}

#[test]
fn tools_list_for_an_unknown_caller_lists_nothing() {
    let (authorizer, _) = interceptor();
    let answer = invoke(
        &authorizer,
        tools_list_response(None, &[RESTART, GET_METRICS]),
    );
    assert!(listed(&answer).is_empty());
}

#[test]
fn other_responses_pass_through_unchanged() {
    let (authorizer, audit) = interceptor();
    let token = agent_token("agent-7", "devops");
    let call = tools_call(GET_METRICS, json!({"service_name": "api"}));
    let denied = json!({"jsonrpc": "2.0", "id": 42, "error": {"code": -32002,
                        "message": "Tool Execution Denied: call check: no policy permits `x`"}});
    let result = json!({"jsonrpc": "2.0", "id": 42, "result": {"isError": false,
                        "content": [{"type": "text", "text": "{\"ok\":true}"}]}});
    let list_error = json!({"jsonrpc": "2.0", "id": 3, "error": {"code": -32603, "message": "x"}});
    for (request, response_body) in [
        (call.clone(), result),
        // The gateway calls the RESPONSE interceptor even after a REQUEST short-circuit.
        (call, denied),
        (
            json!({"jsonrpc": "2.0", "id": 3, "method": "tools/list"}),
            list_error,
        ),
    ] {
        let mut event = request_event(request, Some(&token));
        let response = json!({"statusCode": 200, "headers": {"Mcp-Session-Id": "s"},
                              "body": response_body});
        event["mcp"]["gatewayResponse"] = response.clone();
        let answer = invoke(&authorizer, event);
        assert_eq!(answer["mcp"]["transformedGatewayResponse"], response);
        assert!(answer["mcp"].get("transformedGatewayRequest").is_none());
    }
    assert!(audit.records().is_empty());
}

#[test]
fn a_streamed_event_is_answered_without_the_gateways_marker() {
    let (authorizer, _) = interceptor();
    let mut event = request_event(
        tools_call(GET_METRICS, json!({"service_name": "api"})),
        None,
    );
    let body = json!({"jsonrpc": "2.0", "id": 42, "result": {"content": []}});
    event["mcp"]["gatewayResponse"] = json!({"isStreamingResponse": true, "body": body});
    let answer = invoke(&authorizer, event);
    assert_eq!(
        answer["mcp"]["transformedGatewayResponse"],
        json!({"body": body})
    );
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
        // The interceptor always knows the caller: give the guard the same one.
        case.principal = Some(principal.clone());
        let expected = runner.run(&case);
        assert!(expected.passed(), "{expected}");

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
        assert_eq!(got, case.expected, "{}", case.name);
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
        json!({"environment": "production", "service": "api-gateway"}),
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

#[test]
fn a_server_discover_result_lists_only_the_tools_the_caller_could_call() {
    let (guard, _) = guard(
        policies(&[("gateway/admin_only.cedar", ADMIN_ONLY_TERMINATE)]),
        Mode::Enforce,
    );
    let authorizer = authorizer(guard, &[]);
    let mut event = tools_list_response(
        Some(&agent_token("agent-7", "devops")),
        &[RESTART, TERMINATE],
    );
    event["mcp"]["gatewayRequest"]["body"] =
        json!({"jsonrpc": "2.0", "id": 3, "method": "server/discover"});
    assert_eq!(listed(&invoke(&authorizer, event)), [RESTART]);
}
