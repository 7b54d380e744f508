//! The interceptor's reading of MCP itself: which methods pass, what ids and params a request
//! must have, and the MCP 2026-07-28 headers and `_meta`. Every refusal is audited.

#![expect(
    clippy::indexing_slicing,
    clippy::panic,
    reason = "the event builders and assertions are test helpers: one that cannot do its job \
              fails the test"
)]

use guard::Outcome;
use serde_json::{Value, json};

use crate::support::*;

/// A REQUEST event for `body` with the caller's token and `extra` headers.
fn with_headers(body: Value, extra: &[(&str, &str)]) -> Value {
    let mut event = request_event(body, Some(&agent_token("agent-7", "devops")));
    for (name, value) in extra {
        event["mcp"]["gatewayRequest"]["headers"][*name] = json!(value);
    }
    event
}

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

/// Asserts `event` is answered with MCP's `HeaderMismatch` (HTTP 400, `-32020`), the message
/// naming `reason`, and one audited refusal.
fn assert_mismatch(event: Value, reason: &str) {
    let (authorizer, audit) = interceptor();
    let answer = invoke(&authorizer, event.clone());
    let response = &answer["mcp"]["transformedGatewayResponse"];
    assert_eq!(response["statusCode"], 400, "{answer:#}");
    let (code, message) =
        denial(&answer).unwrap_or_else(|| panic!("passed, expected `{reason}`: {event:#}"));
    assert_eq!(code, -32020, "{message}");
    assert!(message.starts_with("Header mismatch: "), "{message}");
    assert!(message.contains(reason), "{reason}: {message}");
    assert_eq!(
        response["body"]["id"],
        event["mcp"]["gatewayRequest"]["body"]["id"]
    );
    let record = only_record(&audit);
    assert_eq!(record.outcome, Outcome::Error, "{reason}");
    assert!(
        record.errors.iter().any(|e| e.contains(reason)),
        "{:?}",
        record.errors
    );
}

fn staging_restart() -> Value {
    tools_call(RESTART, json!({"environment": "staging", "service": "api"}))
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
fn mcp_headers_that_match_the_body_pass_in_any_name_case() {
    let (authorizer, audit) = interceptor();
    let body = staging_restart();
    for headers in [
        [("Mcp-Method", "tools/call"), ("Mcp-Name", RESTART)],
        [("mcp-method", "tools/call"), ("MCP-NAME", RESTART)],
    ] {
        let answer = invoke(&authorizer, with_headers(body.clone(), &headers));
        assert_eq!(passed(&answer), Some(&body), "{answer:#}");
    }
    let list = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"});
    let answer = invoke(
        &authorizer,
        with_headers(list.clone(), &[("MCP-METHOD", "tools/list")]),
    );
    assert_eq!(passed(&answer), Some(&list));
    let outcomes: Vec<_> = audit.records().iter().map(|r| r.outcome).collect();
    assert_eq!(outcomes, [Outcome::Allow, Outcome::Allow]);
}

#[test]
fn an_mcp_method_header_that_disagrees_with_the_body_is_refused() {
    for (header, method) in [
        ("Mcp-Method", "tools/list"),
        ("mcp-method", "Tools/Call"),
        ("MCP-Method", "tools/call "),
        ("Mcp-Method", ""),
    ] {
        let event = with_headers(staging_restart(), &[(header, method)]);
        assert_mismatch(event, "`Mcp-Method` header");
    }
    // A harmless-looking body under a tools/call header: whoever routes on the header is misled.
    let list = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"});
    assert_mismatch(
        with_headers(list, &[("Mcp-Method", "tools/call"), ("Mcp-Name", RESTART)]),
        "`Mcp-Method` header `tools/call` does not match the body's `tools/list`",
    );
}

#[test]
fn an_mcp_name_header_that_disagrees_with_the_tool_is_refused() {
    for name in [
        TERMINATE,
        "get-metrics___get_metrics",
        "Restart-Service___restart_service",
        "",
    ] {
        let event = with_headers(
            staging_restart(),
            &[("Mcp-Method", "tools/call"), ("Mcp-Name", name)],
        );
        assert_mismatch(event, "`Mcp-Name` header");
    }
    // A name where the body names nothing.
    let list = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"});
    assert_mismatch(
        with_headers(list, &[("Mcp-Name", RESTART)]),
        "does not match the body's (none)",
    );
}

#[test]
fn repeated_mcp_headers_are_refused() {
    let mut event = with_headers(staging_restart(), &[("Mcp-Method", "tools/call")]);
    event["mcp"]["gatewayRequest"]["headers"]["mcp-method"] = json!("tools/call");
    assert_mismatch(event, "occurs more than once");
    let mut event = with_headers(staging_restart(), &[]);
    event["mcp"]["gatewayRequest"]["headers"]["Mcp-Name"] = json!([RESTART, TERMINATE]);
    assert_mismatch(event, "occurs more than once");
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

/// `=?base64?…?=` of `text`, as MCP 2026-07-28 clients send a header value that is not plain
/// ASCII.
fn encoded(text: &str) -> String {
    use base64::Engine as _;
    format!(
        "=?base64?{}?=",
        base64::engine::general_purpose::STANDARD.encode(text)
    )
}

#[test]
fn an_mcp_name_in_the_base64_form_is_decoded_before_it_is_compared() {
    let (authorizer, audit) = interceptor();
    let body = staging_restart();
    let event = with_headers(
        body.clone(),
        &[
            ("Mcp-Method", "tools/call"),
            ("Mcp-Name", &encoded(RESTART)),
        ],
    );
    let answer = invoke(&authorizer, event);
    assert_eq!(passed(&answer), Some(&body), "{answer:#}");
    assert_eq!(only_record(&audit).outcome, Outcome::Allow);
    // Names a client must encode: non-ASCII, surrounding space, the sentinel itself.
    for name in ["café ☕", " padded ", "=?base64?literal?="] {
        let (authorizer, _) = interceptor();
        let prompt = json!({"jsonrpc": "2.0", "id": 4, "method": "prompts/get",
                            "params": {"name": name}});
        let event = with_headers(prompt.clone(), &[("Mcp-Name", &encoded(name))]);
        assert_eq!(passed(&invoke(&authorizer, event)), Some(&prompt), "{name}");
    }
    let (authorizer, _) = interceptor();
    let read = json!({"jsonrpc": "2.0", "id": 5, "method": "resources/read",
                      "params": {"uri": "file:///données/état.json"}});
    let event = with_headers(
        read.clone(),
        &[("Mcp-Name", &encoded("file:///données/état.json"))],
    );
    assert_eq!(passed(&invoke(&authorizer, event)), Some(&read));
}

#[test]
fn an_encoded_mcp_name_of_another_tool_is_a_header_mismatch() {
    let event = with_headers(
        staging_restart(),
        &[
            ("Mcp-Method", "tools/call"),
            ("Mcp-Name", &encoded(TERMINATE)),
        ],
    );
    assert_mismatch(
        event,
        &format!("the `Mcp-Name` header `{TERMINATE}` does not match the body's `{RESTART}`"),
    );
    // The raw value is never compared: a sentinel that happens to spell the tool's name in
    // base64 is decoded, and a decoded value that spells the raw name is not the name.
    let event = with_headers(
        staging_restart(),
        &[("Mcp-Name", &encoded(&encoded(RESTART)))],
    );
    assert_mismatch(event, "`Mcp-Name` header");
}

#[test]
fn an_mcp_name_that_claims_the_base64_form_but_does_not_decode_is_refused() {
    for (value, reason) in [
        ("=?base64?cmVzdGFydA?=", "is not base64"),
        ("=?base64?not base64?=", "is not base64"),
        ("=?base64?cmVzdGFy_-==?=", "is not base64"),
        ("=?base64?/w==?=", "does not decode to UTF-8 text"),
        ("=?base64?wA==?=", "does not decode to UTF-8 text"),
        ("=?base64?=", "its markers overlap"),
    ] {
        let event = with_headers(
            staging_restart(),
            &[("Mcp-Method", "tools/call"), ("Mcp-Name", value)],
        );
        assert_mismatch(event, reason);
    }
}

#[test]
fn only_mcp_name_may_be_encoded_so_an_encoded_mcp_method_is_a_mismatch() {
    // MCP 2026-07-28 allows the base64 form on `Mcp-Name` and `Mcp-Param-*`: an `Mcp-Method`
    // is compared as sent, and method names are plain ASCII.
    let event = with_headers(
        staging_restart(),
        &[
            ("Mcp-Method", &encoded("tools/call")),
            ("Mcp-Name", RESTART),
        ],
    );
    assert_mismatch(event, "`Mcp-Method` header `=?base64?dG9vbHMvY2FsbA==?=`");
    // Markers in another case are no encoding either: the value is compared as sent.
    let upper = encoded(RESTART).replace("base64", "BASE64");
    let event = with_headers(staging_restart(), &[("Mcp-Name", &upper)]);
    assert_mismatch(event, "`Mcp-Name` header `=?BASE64?");
}
