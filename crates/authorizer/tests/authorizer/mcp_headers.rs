//! MCP 2026-07-28's `Mcp-Method` / `Mcp-Name` headers: they must say what the body says —
//! `Mcp-Name` after decoding its base64 form — or the request is answered with the
//! specification's `HeaderMismatch` (HTTP 400, `-32020`). Every refusal is audited.

#![expect(
    clippy::indexing_slicing,
    clippy::panic,
    reason = "the assertions are test helpers: one that cannot do its job fails the test"
)]

use guard::Outcome;
use serde_json::{Value, json};

use crate::support::*;

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
