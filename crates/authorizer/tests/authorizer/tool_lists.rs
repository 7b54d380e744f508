//! The RESPONSE interceptor on tool lists: each caller sees only the tools it could call, and
//! other responses pass unchanged.

use guard::Mode;
use serde_json::json;

use crate::support::*;

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
