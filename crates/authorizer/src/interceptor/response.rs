//! The RESPONSE interceptor: tool lists filtered for the caller, everything else unchanged.

use caller::ASSERTION_FIELD;
use guard::UNKNOWN_TOOL;
use serde_json::{Map, Value};

use super::{CLIENT_METHODS, Exchange, RequestError, caller, pass_response};

/// Answers a RESPONSE event whose `gatewayResponse` is `response`.
pub(super) fn respond(exchange: &Exchange<'_>, response: &Map<String, Value>) -> Value {
    let body = response.get("body");
    // A JSON-RPC error passes as it is: the target's, the gateway's, or our own denial.
    if body.and_then(|b| b.get("error")).is_some() {
        return pass_response(response.clone());
    }
    if let Err(unknown) = exchange.setup.authorizer_type {
        return exchange.refuse(&RequestError::Config(unknown.clone()));
    }
    let method = exchange
        .body
        .and_then(|b| b.get("method"))
        .and_then(Value::as_str);
    let listing = match method {
        Some("tools/list") => "`tools/list`",
        Some("server/discover") => "`server/discover`",
        // Another method's result lists no tools.
        Some(other) if CLIENT_METHODS.contains(&other) => return pass_response(response.clone()),
        // The request (or its body, or its method) is missing: whatever the response is, a tool
        // list in it is filtered like any other, never passed on as it came.
        _ => "a request the event does not show",
    };
    let unfilterable = |why| exchange.refuse(&RequestError::Unfilterable(listing, why));
    match body
        .and_then(|b| b.get("result"))
        .and_then(|r| r.get("tools"))
    {
        Some(Value::Array(tools)) => filtered(exchange, response, tools),
        Some(_) => unfilterable("its `result.tools` is not a list"),
        // A streamed or otherwise unreadable body may hold a list this code cannot see.
        None if !body.is_some_and(Value::is_object) => unfilterable("its body is not JSON-RPC"),
        None if method == Some("tools/list") => unfilterable("it has no `result.tools` list"),
        None => pass_response(response.clone()),
    }
}

/// `response` with only the tools of `tools` the caller could call. Without a caller, no tool:
/// the refusal is audited.
fn filtered(exchange: &Exchange<'_>, response: &Map<String, Value>, tools: &[Value]) -> Value {
    let kept: Vec<Value> = match caller(exchange.setup.trust, exchange.headers) {
        Ok(principal) => tools
            .iter()
            .filter(|tool| {
                tool.get("name")
                    .and_then(Value::as_str)
                    .is_some_and(|name| exchange.guard.may_call(name, Some(&principal)))
            })
            .map(without_assertion_property)
            .collect(),
        Err(e) => {
            let call = exchange.call(UNKNOWN_TOOL, exchange.params(), None);
            let reason = format!("the tool list is answered with no tools: {e}");
            exchange.guard.refuse(&call, reason);
            Vec::new()
        }
    };
    tracing::info!(
        listed = tools.len(),
        kept = kept.len(),
        "tool list filtered to the tools the caller may call"
    );
    let mut filtered = response.clone();
    if let Some(list) = filtered
        .get_mut("body")
        .and_then(|b| b.get_mut("result"))
        .and_then(|r| r.get_mut("tools"))
    {
        *list = Value::Array(kept);
    }
    pass_response(filtered)
}

/// `tool` without the assertion property its `inputSchema` declares (and any `required`
/// mention of it). The tools declare it so that the gateway's schema validation and the
/// policy engine's generated schema accept the call the interceptor passes on; the agent
/// must not be invited to fill it (it would be refused).
pub(super) fn without_assertion_property(tool: &Value) -> Value {
    let mut tool = tool.clone();
    if let Some(schema) = tool.get_mut("inputSchema").and_then(Value::as_object_mut) {
        if let Some(properties) = schema.get_mut("properties").and_then(Value::as_object_mut) {
            properties.remove(ASSERTION_FIELD);
        }
        if let Some(required) = schema.get_mut("required").and_then(Value::as_array_mut) {
            required.retain(|name| name.as_str() != Some(ASSERTION_FIELD));
        }
    }
    tool
}
