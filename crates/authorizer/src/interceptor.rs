//! The AgentCore Gateway interceptor: one function attached as both the REQUEST and the RESPONSE
//! interceptor of an MCP gateway.
//!
//! **REQUEST** (`mcp.gatewayRequest`, no `mcp.gatewayResponse`): a `tools/call` is decided by the
//! guard's call check — principal from the bearer token's claims, action from `params.name`,
//! `context.input` from `params.arguments`, resource the configured gateway — exactly the request
//! AgentCore Policy builds. Allowed (or a LOG_ONLY would-deny): the body goes on unchanged as
//! `transformedGatewayRequest`. Denied: a `transformedGatewayResponse` carrying a JSON-RPC error
//! (`-32002`, `Tool Execution Denied: <why>`), which the gateway returns at once without calling
//! the target. Every other method (`initialize`, `tools/list`, `ping`, notifications, …) passes
//! unchanged. Anything malformed — no token, a body that is not a JSON-RPC request, a call
//! without `params.name` — is an audited refusal, answered the same way as a deny.
//!
//! **RESPONSE** (`mcp.gatewayResponse` present): a `tools/list` result loses the tools the caller
//! could never call (Cedar partial evaluation with the arguments unknown: a tool stays if some
//! arguments could be permitted). Everything else passes unchanged — including our own denials,
//! since the gateway invokes the RESPONSE interceptor even after a REQUEST short-circuit.
//!
//! The gateway has verified the JWT (its `CUSTOM_JWT` authorizer) before any interceptor runs;
//! the interceptor only decodes the claims. Both interceptor configurations need
//! `passRequestHeaders: true`, or the token never reaches this function: a REQUEST without
//! headers is refused, and a `tools/list` RESPONSE without them lists no tools.

use guard::{Decision, Guard, Principal, RequestIds, ToolCall};
use serde_json::{Map, Value, json};

use crate::token::{self, TokenError};

/// The JSON-RPC error code of a denied tool call, as AgentCore Policy answers one.
pub const DENIED_CODE: i64 = -32002;

/// The prefix of every denial message, as AgentCore Policy words it.
pub const DENIED_PREFIX: &str = "Tool Execution Denied: ";

/// The tool name recorded for a refusal that names no tool.
pub const UNKNOWN_TOOL: &str = "unknown";

/// Answers one interceptor invocation. Never fails: whatever cannot be understood is denied.
pub fn intercept(guard: &Guard, event: &Value, lambda_request_id: &str) -> Value {
    let ids = |message: Option<&Value>| RequestIds {
        lambda: Some(lambda_request_id.to_owned()).filter(|id| !id.is_empty()),
        agentcore: None,
        mcp_message: message.and_then(message_id),
    };
    let Some(mcp) = event.get("mcp").and_then(Value::as_object) else {
        let reason =
            "the event is not an AgentCore Gateway MCP interceptor event (no `mcp` object)";
        return deny(&Value::Null, &refuse(guard, &ids(None), reason));
    };
    let request = mcp.get("gatewayRequest").and_then(Value::as_object);
    let body = request.and_then(|r| r.get("body"));
    let headers = request
        .and_then(|r| r.get("headers"))
        .and_then(Value::as_object);

    if let Some(response) = mcp.get("gatewayResponse") {
        return respond(guard, body, headers, response);
    }

    let id = body.and_then(|b| b.get("id")).unwrap_or(&Value::Null);
    match event.get("interceptorInputVersion").and_then(Value::as_str) {
        Some("1.0") => {}
        other => {
            let reason = format!(
                "unsupported `interceptorInputVersion` {} (this authorizer speaks `1.0`)",
                other.map_or_else(|| "(absent)".to_owned(), |v| format!("`{v}`"))
            );
            return deny(id, &refuse(guard, &ids(body), &reason));
        }
    }
    let Some(body) = body else {
        let reason = "the interceptor event has no `mcp.gatewayRequest.body`";
        return deny(id, &refuse(guard, &ids(None), reason));
    };
    let method = match json_rpc_method(body) {
        Ok(method) => method,
        Err(reason) => return deny(id, &refuse(guard, &ids(Some(body)), &reason)),
    };
    if method != "tools/call" {
        return pass_request(body);
    }

    let params = body.get("params").and_then(Value::as_object);
    let empty = Value::Object(Map::new());
    let arguments = params.and_then(|p| p.get("arguments")).unwrap_or(&empty);
    let Some(tool) = params.and_then(|p| p.get("name")).and_then(Value::as_str) else {
        let reason = "`params.name` is missing or not a string: a `tools/call` must name its tool";
        return deny(id, &refuse(guard, &ids(Some(body)), reason));
    };
    let ids = ids(Some(body));
    let principal = match caller(headers) {
        Ok(principal) => principal,
        Err(e) => {
            let call = ToolCall {
                tool,
                input: arguments,
                principal: None,
                ids: &ids,
            };
            return deny(id, &guard.refuse(&call, e.to_string()));
        }
    };
    let call = ToolCall {
        tool,
        input: arguments,
        principal: Some(&principal),
        ids: &ids,
    };
    let decision = guard.check_call(&call);
    if decision.proceeds() {
        pass_request(body)
    } else {
        deny(id, &decision)
    }
}

/// The RESPONSE interceptor: filters `tools/list` results, passes everything else unchanged.
fn respond(
    guard: &Guard,
    request_body: Option<&Value>,
    headers: Option<&Map<String, Value>>,
    response: &Value,
) -> Value {
    let method = request_body
        .and_then(|b| b.get("method"))
        .and_then(Value::as_str);
    let tools = response
        .get("body")
        .and_then(|b| b.get("result"))
        .and_then(|r| r.get("tools"))
        .and_then(Value::as_array);
    let (Some("tools/list"), Some(tools)) = (method, tools) else {
        return pass_response(response.clone());
    };
    let principal = caller(headers);
    if let Err(e) = &principal {
        tracing::warn!(error = %e, "tools/list answered with no tools: the caller is unknown");
    }
    let kept: Vec<Value> = tools
        .iter()
        .filter(|tool| {
            let name = tool.get("name").and_then(Value::as_str);
            match (&principal, name) {
                (Ok(p), Some(name)) => guard.may_call(name, Some(p)),
                _ => false,
            }
        })
        .cloned()
        .collect();
    tracing::info!(
        listed = tools.len(),
        kept = kept.len(),
        "tools/list filtered to the tools the caller may call"
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

/// The caller, from the `Authorization` header the gateway passed on.
fn caller(headers: Option<&Map<String, Value>>) -> Result<Principal, TokenError> {
    let headers = headers.ok_or(TokenError::NoHeaders)?;
    let token = token::bearer(token::header(headers, "authorization"))?;
    token::principal(&token::unverified_claims(token)?)
}

/// The method of a single JSON-RPC 2.0 request or notification, or why the body is not one.
fn json_rpc_method(body: &Value) -> Result<&str, String> {
    let Value::Object(fields) = body else {
        let what = match body {
            Value::Array(_) => "a JSON-RPC batch, which this authorizer does not accept",
            _ => "not a JSON-RPC request object",
        };
        return Err(format!("the request body is {what}"));
    };
    if fields.get("jsonrpc").and_then(Value::as_str) != Some("2.0") {
        return Err(
            "the request body is not JSON-RPC 2.0 (`jsonrpc` must be `\"2.0\"`)".to_owned(),
        );
    }
    fields
        .get("method")
        .and_then(Value::as_str)
        .ok_or_else(|| "the JSON-RPC request has no `method` string".to_owned())
}

/// The JSON-RPC id as text, for the audit record.
fn message_id(body: &Value) -> Option<String> {
    match body.get("id")? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// An audited refusal of a request that names no tool.
fn refuse(guard: &Guard, ids: &RequestIds, reason: &str) -> Decision {
    let call = ToolCall {
        tool: UNKNOWN_TOOL,
        input: &Value::Null,
        principal: None,
        ids,
    };
    guard.refuse(&call, reason)
}

fn output(member: &str, value: Value) -> Value {
    json!({"interceptorOutputVersion": "1.0", "mcp": {member: value}})
}

/// Lets the request go on to the target, unchanged.
fn pass_request(body: &Value) -> Value {
    output("transformedGatewayRequest", json!({"body": body}))
}

/// Answers with `response` (a gateway response, possibly filtered). A streamed event's
/// `isStreamingResponse` marker is the gateway's, not ours to return.
fn pass_response(mut response: Value) -> Value {
    if let Some(fields) = response.as_object_mut() {
        fields.remove("isStreamingResponse");
    }
    output("transformedGatewayResponse", response)
}

/// Short-circuits the request with a JSON-RPC error that says why.
fn deny(id: &Value, decision: &Decision) -> Value {
    output(
        "transformedGatewayResponse",
        json!({
            "statusCode": 200,
            "body": {
                "jsonrpc": "2.0",
                "id": id,
                "error": {
                    "code": DENIED_CODE,
                    "message": format!("{DENIED_PREFIX}{}", decision.explain()),
                },
            },
        }),
    )
}
