//! The interceptor's reading of MCP itself: which methods pass, what ids and params a request
//! must have, and the MCP 2026-07-28 headers and `_meta`. Every refusal is audited.

#![expect(
    clippy::panic,
    reason = "the event builders and assertions are test helpers: one that cannot do its job \
              fails the test"
)]

use guard::Outcome;
use serde_json::{Value, json};

use crate::support::*;

/// Asserts `event` is refused with `-32002`, the message naming `reason`, and one audited
/// refusal (`outcome: error`).
fn assert_refused(event: Value, reason: &str) {
    let (authorizer, audit) = interceptor();
    let answer = invoke(&authorizer, event.clone());
    let (code, message) =
        denial(&answer).unwrap_or_else(|| panic!("passed, expected `{reason}`: {event:#}"));
    assert_eq!(code, -32002, "{message}");
    assert!(message.contains(reason), "{reason}: {message}");
    let record = only_record(&audit);
    assert_eq!(record.outcome, Outcome::Error, "{reason}");
    assert!(
        record.errors.iter().any(|e| e.contains(reason)),
        "{:?}",
        record.errors
    );
}

#[test]
fn near_misses_of_tools_call_are_refused_not_passed_on() {
    for method in [
        "Tools/Call",
        "TOOLS/CALL",
        "tools/call ",
        " tools/call",
        "tools/call\n",
        "tools/call\u{200b}",
        "tools//call",
        "tools/call/",
        "tools\\call",
        "t\u{43e}\u{43e}ls/call", // Cyrillic о
        "tools\u{2215}call",      // division slash
        "tools\u{ff0f}call",      // fullwidth solidus
        "ｔｏｏｌｓ/ｃａｌｌ",
        "tools/calls",
        "tool/call",
    ] {
        let mut body = staging_restart();
        body["method"] = json!(method);
        assert_refused(with_headers(body, &[]), "is not an MCP method");
    }
}

#[test]
fn unknown_and_server_side_methods_are_refused() {
    for method in [
        "tools/execute",
        "tasks/result",
        "sampling/createMessage",
        "elicitation/create",
        "roots/list",
        "rpc.discover",
        "",
    ] {
        let body = json!({"jsonrpc": "2.0", "id": 9, "method": method, "params": {}});
        assert_refused(with_headers(body, &[]), "is not an MCP method");
    }
}

#[test]
fn a_refused_method_is_shown_escaped_and_cut_short() {
    let (authorizer, _) = interceptor();
    let long = format!("tools/call\u{200b}{}", "x".repeat(5000));
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": long});
    let (_, message) = denial(&invoke(&authorizer, with_headers(body, &[]))).unwrap();
    assert!(message.contains(r"`tools/call\u{200b}xxx"), "{message}");
    assert!(message.len() < 300, "{}", message.len());
}

#[test]
fn the_known_mcp_methods_still_pass() {
    for body in [
        json!({"jsonrpc": "2.0", "id": 1, "method": "server/discover"}),
        json!({"jsonrpc": "2.0", "id": 2, "method": "resources/templates/list"}),
        json!({"jsonrpc": "2.0", "id": 3, "method": "resources/read", "params": {"uri": "file:///a"}}),
        json!({"jsonrpc": "2.0", "id": "c", "method": "completion/complete", "params": {}}),
        json!({"jsonrpc": "2.0", "id": 4, "method": "logging/setLevel", "params": {"level": "info"}}),
        json!({"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": 1}}),
    ] {
        let (authorizer, audit) = interceptor();
        let answer = invoke(&authorizer, with_headers(body.clone(), &[]));
        assert_eq!(passed(&answer), Some(&body), "{answer:#}");
        assert!(audit.records().is_empty());
    }
}

#[test]
fn requests_need_an_id_and_notifications_must_not_have_one() {
    let mut no_id = staging_restart();
    no_id.as_object_mut().unwrap().remove("id");
    assert_refused(
        with_headers(no_id, &[]),
        "must carry a string or integer `id`",
    );
    for id in [
        json!(null),
        json!({"a": 1}),
        json!([1]),
        json!(true),
        json!(1.5),
    ] {
        let mut body = staging_restart();
        body["id"] = id;
        assert_refused(
            with_headers(body, &[]),
            "must carry a string or integer `id`",
        );
    }
    let list = json!({"jsonrpc": "2.0", "method": "tools/list"});
    assert_refused(with_headers(list, &[]), "`id`");
    let notification = json!({"jsonrpc": "2.0", "id": 3, "method": "notifications/initialized"});
    assert_refused(with_headers(notification, &[]), "must not carry an `id`");
}

#[test]
fn params_that_are_not_an_object_are_refused() {
    for params in [
        json!(null),
        json!([RESTART, {"environment": "staging"}]),
        json!("x"),
    ] {
        let mut body = staging_restart();
        body["params"] = params;
        assert_refused(with_headers(body, &[]), "`params` must be a JSON object");
    }
}

#[test]
fn two_authorization_headers_are_refused_whatever_their_case() {
    let admin = agent_token("root-1", "admin");
    let devops = agent_token("agent-7", "devops");
    let cases: Vec<Value> = vec![
        json!({"Authorization": format!("Bearer {devops}"), "authorization": format!("Bearer {admin}")}),
        json!({"Authorization": format!("Bearer {devops}"), "AUTHORIZATION": format!("Bearer {devops}")}),
        json!({"Authorization": [format!("Bearer {devops}"), format!("Bearer {admin}")]}),
    ];
    for headers in cases {
        let mut event = request_event(staging_restart(), Some(&devops));
        event["mcp"]["gatewayRequest"]["headers"] = headers;
        let (authorizer, audit) = interceptor();
        let answer = invoke(&authorizer, event);
        let (code, message) = denial(&answer).unwrap_or_else(|| panic!("passed: {answer:#}"));
        assert_eq!(code, -32002);
        assert!(
            message.contains("`Authorization` header occurs more than once"),
            "{message}"
        );
        let record = only_record(&audit);
        assert_eq!(
            (record.outcome, record.tool.as_str()),
            (Outcome::Error, RESTART)
        );
    }
    let mut event = request_event(staging_restart(), Some(&devops));
    event["mcp"]["gatewayRequest"]["headers"]["Authorization"] =
        json!(format!("Bearer {devops}, Bearer {admin}"));
    assert_refused(event, "not `Bearer <token>`");
}

#[test]
fn meta_in_params_is_accepted_and_never_taken_as_tool_input() {
    let (authorizer, audit) = interceptor();
    let body = json!({"jsonrpc": "2.0", "id": 5, "method": "tools/call", "params": {
        "name": RESTART,
        "arguments": {"environment": "staging", "service": "api"},
        "_meta": {"progressToken": "p-1",
                  "io.modelcontextprotocol/protocolVersion": "2026-07-28",
                  "environment": "production"}
    }});
    let event = with_headers(
        body.clone(),
        &[("Mcp-Method", "tools/call"), ("Mcp-Name", RESTART)],
    );
    let answer = invoke(&authorizer, event);
    assert_eq!(passed(&answer), Some(&body), "{answer:#}");
    let record = only_record(&audit);
    assert_eq!(record.outcome, Outcome::Allow);
    assert_eq!(
        record.arguments,
        json!({"environment": "staging", "service": "api"})
    );
}

#[test]
fn a_batch_is_refused_even_of_harmless_methods() {
    let batch = json!([
        {"jsonrpc": "2.0", "id": 1, "method": "ping"},
        {"jsonrpc": "2.0", "id": 2, "method": "tools/list"}
    ]);
    assert_refused(with_headers(batch, &[]), "JSON-RPC batch");
}
