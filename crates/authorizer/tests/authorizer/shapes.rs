//! Which kind of interceptor event arrived, and RESPONSE events that must not pass tools
//! unfiltered. A RESPONSE is an event whose `mcp.gatewayResponse` is a JSON object; everything
//! else is a REQUEST (`null` included) or refused, and no answer is ever a null response.

#![expect(
    clippy::unwrap_used,
    reason = "test helpers: one that cannot do its job fails the test"
)]

use guard::{Mode, Outcome};
use serde_json::{Value, json};

use crate::support::*;

fn production_terminate() -> Value {
    tools_call(
        TERMINATE,
        json!({"environment": "production", "instance_id": "i-0prod"}),
    )
}

/// Asserts no answer carries a null (or otherwise non-object) transformed request or response.
fn assert_no_null_answer(answer: &Value) {
    let mcp = answer["mcp"].as_object().unwrap();
    assert!(!mcp.is_empty(), "{answer:#}");
    for (member, value) in mcp {
        assert!(value.is_object(), "{member} is {value}: {answer:#}");
    }
}

#[test]
fn a_request_with_a_null_gateway_response_is_decided_as_a_request() {
    let token = agent_token("agent-7", "devops");
    // Denied, as a production terminate is, and audited.
    let (authorizer, audit) = interceptor();
    let mut event = request_event(production_terminate(), Some(&token));
    event["mcp"]["gatewayResponse"] = Value::Null;
    let answer = invoke(&authorizer, event);
    assert_no_null_answer(&answer);
    let (code, message) = denial(&answer).unwrap_or_else(|| panic!("not denied: {answer:#}"));
    assert_eq!(code, -32002);
    assert!(message.contains("no policy permits"), "{message}");
    assert_eq!(only_record(&audit).outcome, Outcome::Deny);

    // Allowed: passed on with its body.
    let (authorizer, audit) = interceptor();
    let staging = tools_call(RESTART, json!({"environment": "staging", "service": "api"}));
    let mut event = request_event(staging.clone(), Some(&token));
    event["mcp"]["gatewayResponse"] = Value::Null;
    let answer = invoke(&authorizer, event);
    assert_eq!(passed(&answer), Some(&staging), "{answer:#}");
    assert_eq!(only_record(&audit).outcome, Outcome::Allow);

    // Without a token: refused, audited.
    let (authorizer, audit) = interceptor();
    let mut event = request_event(staging, None);
    event["mcp"]["gatewayResponse"] = Value::Null;
    let answer = invoke(&authorizer, event);
    assert!(denial(&answer).unwrap().1.contains("passRequestHeaders"));
    assert_eq!(only_record(&audit).outcome, Outcome::Error);
}

#[test]
fn an_event_that_is_neither_a_request_nor_a_response_is_refused_audited() {
    let token = agent_token("agent-7", "devops");
    let neither = |change: &dyn Fn(&mut Value)| {
        let mut event = request_event(production_terminate(), Some(&token));
        change(&mut event);
        event
    };
    for event in [
        neither(&|e| e["mcp"]["gatewayResponse"] = json!("200 OK")),
        neither(&|e| e["mcp"]["gatewayResponse"] = json!([])),
        neither(&|e| e["mcp"]["gatewayResponse"] = json!(false)),
        neither(&|e| e["mcp"]["gatewayResponse"] = json!(0)),
        neither(&|e| e["mcp"]["gatewayRequest"] = json!("tools/call")),
        neither(&|e| e["mcp"]["gatewayRequest"] = Value::Null),
        neither(&|e| {
            e["mcp"].as_object_mut().unwrap().remove("gatewayRequest");
        }),
        json!({"interceptorInputVersion": "1.0", "mcp": {}}),
        json!({"interceptorInputVersion": "1.0", "mcp": {"gatewayResponse": null}}),
    ] {
        let (authorizer, audit) = interceptor();
        let answer = invoke(&authorizer, event.clone());
        assert_no_null_answer(&answer);
        let (code, message) = denial(&answer).unwrap_or_else(|| panic!("passed: {event:#}"));
        assert_eq!(code, -32002);
        assert!(
            message.contains("neither a REQUEST") && message.contains("nor a RESPONSE"),
            "{message}"
        );
        assert_eq!(only_record(&audit).outcome, Outcome::Error);
    }
}

#[test]
fn a_response_of_an_unsupported_version_is_refused() {
    let (authorizer, audit) = interceptor();
    let mut event = tools_list_response(Some(&agent_token("agent-7", "devops")), &[RESTART]);
    event["interceptorInputVersion"] = json!("2.0");
    let answer = invoke(&authorizer, event);
    assert!(denial(&answer).unwrap().1.contains("`2.0`"), "{answer:#}");
    assert_eq!(only_record(&audit).outcome, Outcome::Error);
}

/// Under the admin-only rule, a `devops` caller may not terminate.
fn admin_only() -> (authorizer::Authorizer, guard::MemoryAudit) {
    let (guard, audit) = guard(
        policies(&[("gateway/admin_only.cedar", ADMIN_ONLY_TERMINATE)]),
        Mode::Enforce,
    );
    (authorizer(guard, &[]), audit)
}

#[test]
fn a_tool_list_without_its_request_lists_nothing_audited() {
    let token = agent_token("root-1", "admin");
    let strip = |change: &dyn Fn(&mut Value)| {
        let mut event = tools_list_response(Some(&token), &[RESTART, GET_METRICS]);
        change(&mut event);
        event
    };
    for event in [
        strip(&|e| {
            e["mcp"].as_object_mut().unwrap().remove("gatewayRequest");
        }),
        strip(&|e| e["mcp"]["gatewayRequest"] = Value::Null),
        strip(&|e| {
            let request = e["mcp"]["gatewayRequest"].as_object_mut().unwrap();
            request.remove("body");
            request.remove("headers");
        }),
    ] {
        let (authorizer, audit) = interceptor();
        let answer = invoke(&authorizer, event);
        assert_no_null_answer(&answer);
        assert!(listed(&answer).is_empty(), "{answer:#}");
        let record = only_record(&audit);
        assert_eq!(record.outcome, Outcome::Error);
        assert!(record.errors[0].contains("no tools"), "{:?}", record.errors);
    }
}

#[test]
fn a_tool_list_whose_request_has_no_method_is_still_filtered_for_the_caller() {
    let token = agent_token("agent-7", "devops");
    for body in [
        None,
        Some(json!({"jsonrpc": "2.0", "id": 3})),
        Some(json!({"jsonrpc": "2.0", "id": 3, "method": "Tools/List"})),
        Some(json!("tools/list")),
    ] {
        let (authorizer, _) = admin_only();
        let mut event = tools_list_response(Some(&token), &[RESTART, TERMINATE, GET_METRICS]);
        let request = event["mcp"]["gatewayRequest"].as_object_mut().unwrap();
        match body {
            Some(body) => request.insert("body".to_owned(), body),
            None => request.remove("body"),
        };
        let answer = invoke(&authorizer, event);
        assert_eq!(listed(&answer), [RESTART, GET_METRICS], "{answer:#}");
    }
}

#[test]
fn a_tool_list_that_cannot_be_read_is_refused_never_passed_on() {
    let token = agent_token("agent-7", "devops");
    let listing = |change: &dyn Fn(&mut Value)| {
        let mut event = tools_list_response(Some(&token), &[RESTART, TERMINATE]);
        change(&mut event);
        event
    };
    for (event, reason) in [
        (
            listing(&|e| {
                e["mcp"]["gatewayResponse"]["body"]["result"]["tools"] = json!({"0": RESTART});
            }),
            "`result.tools` is not a list",
        ),
        (
            listing(&|e| {
                e["mcp"]["gatewayResponse"]["body"] =
                    json!("event: message\ndata: {\"result\":{\"tools\":[]}}\n\n");
                e["mcp"]["gatewayResponse"]["isStreamingResponse"] = json!(true);
            }),
            "its body is not JSON-RPC",
        ),
        (
            listing(&|e| {
                e["mcp"]["gatewayResponse"]["body"] =
                    json!({"jsonrpc": "2.0", "id": 3, "result": {}});
            }),
            "no `result.tools` list",
        ),
        (
            listing(&|e| {
                e["mcp"].as_object_mut().unwrap().remove("gatewayRequest");
                e["mcp"]["gatewayResponse"]["body"] = json!("not json-rpc");
            }),
            "the response to a request the event does not show",
        ),
    ] {
        let (authorizer, audit) = interceptor();
        let answer = invoke(&authorizer, event);
        assert_no_null_answer(&answer);
        let (_, message) = denial(&answer).unwrap_or_else(|| panic!("passed: {answer:#}"));
        assert!(message.contains(reason), "{reason}: {message}");
        assert_eq!(only_record(&audit).outcome, Outcome::Error);
    }
}

#[test]
fn a_tool_list_for_a_caller_without_a_usable_token_is_audited() {
    for token in [None, Some("not-a-jwt")] {
        let (authorizer, audit) = interceptor();
        let answer = invoke(&authorizer, tools_list_response(token, &[RESTART]));
        assert!(listed(&answer).is_empty());
        assert_eq!(only_record(&audit).outcome, Outcome::Error);
    }
}
