//! The AgentCore Gateway interceptor: one function attached as both the REQUEST and the RESPONSE
//! interceptor of an MCP gateway.
//!
//! **REQUEST** (`mcp.gatewayRequest`, no `mcp.gatewayResponse`): the body must be one JSON-RPC
//! 2.0 request of a known MCP method ([`CLIENT_METHODS`], compared byte for byte), with an `id`
//! unless it is a notification; `Mcp-Method` / `Mcp-Name` headers (MCP 2026-07-28), when
//! present, must say exactly what the body says. A `tools/call` is then decided by the guard's
//! call check — principal from the bearer token's claims, action from `params.name`,
//! `context.input` from `params.arguments` (never `params._meta`), resource the configured
//! gateway — exactly the request AgentCore Policy builds. Allowed (or a LOG_ONLY would-deny): the
//! body goes on unchanged as `transformedGatewayRequest`. Denied: a `transformedGatewayResponse`
//! carrying a JSON-RPC error (`-32002`, `Tool Execution Denied: <why>`), which the gateway
//! returns at once without calling the target. Other known methods pass unchanged. Anything
//! else — an unknown method or a near-miss of one, a batch, headers that disagree with the body,
//! two `Authorization` headers, no token — is an audited refusal, answered the same way as a
//! deny.
//!
//! **RESPONSE** (`mcp.gatewayResponse` present): a `tools/list` (or `server/discover`) result
//! loses the tools the caller could never call (Cedar partial evaluation with the arguments
//! unknown: a tool stays if some arguments could be permitted). Everything else passes
//! unchanged — including our own denials, since the gateway invokes the RESPONSE interceptor
//! even after a REQUEST short-circuit.
//!
//! The gateway has verified the JWT (inbound `CUSTOM_JWT`, or `AUTHENTICATE_ONLY`) before any
//! interceptor runs; the interceptor only decodes the claims. Behind an `AWS_IAM` gateway no
//! token is verified, so none is trusted and every `tools/call` is refused. Both interceptor
//! configurations need `passRequestHeaders: true`, or the token never reaches this function: a
//! REQUEST without headers is refused, and a `tools/list` RESPONSE without them lists no tools.

use guard::{Decision, Guard, Principal, RequestIds, ToolCall};
use serde_json::{Map, Value, json};

use crate::{
    config::{ConfigError, InboundAuth},
    headers::{self, HeaderError},
    token::{self, TokenError},
};

/// The JSON-RPC error code of a denied tool call, as AgentCore Policy answers one.
pub const DENIED_CODE: i64 = -32002;

/// The prefix of every denial message, as AgentCore Policy words it.
pub const DENIED_PREFIX: &str = "Tool Execution Denied: ";

/// The tool name recorded for a refusal that names no tool.
pub const UNKNOWN_TOOL: &str = "unknown";

/// The MCP methods a client may send through the gateway, compared byte for byte.
///
/// An allowlist, because the policies decide `tools/call` only: anything that is not exactly one
/// of these — a near-miss (`Tools/Call`, `tools/call `, `tools/call\u{200b}`, Cyrillic `о`),
/// a server-to-client method (`sampling/createMessage`, `elicitation/create`, `roots/list`), an
/// extension or a method of a later revision — might be routed, normalised or executed by a
/// target or a future gateway as something this gate never decided, so it is refused.
/// Left out on purpose: `tasks/*` (MCP 2025-11-25): `tasks/result` hands out a tool's result and
/// `tasks/cancel` acts on a call, and the gateway does not document them; add them when it does.
pub const CLIENT_METHODS: &[&str] = &[
    // Lifecycle and utilities: nothing runs, nothing is read. `server/discover` is MCP
    // 2026-07-28's stateless replacement for `initialize`; its tool list is filtered like
    // `tools/list`.
    "initialize",
    "notifications/initialized",
    "server/discover",
    "ping",
    "notifications/cancelled",
    "notifications/progress",
    "notifications/roots/list_changed",
    "logging/setLevel",
    // Tools: calls are decided here, lists filtered on the RESPONSE side.
    "tools/list",
    "tools/call",
    // Resources, prompts, completion: read-only by the protocol and, as with AgentCore Policy,
    // not governed by the tool policies.
    "resources/list",
    "resources/templates/list",
    "resources/read",
    "resources/subscribe",
    "resources/unsubscribe",
    "prompts/list",
    "prompts/get",
    "completion/complete",
];

/// Why a REQUEST is refused before any policy is asked. Every one is audited.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RequestError {
    /// Not an interceptor event at all.
    #[error("the event is not an AgentCore Gateway MCP interceptor event (no `mcp` object)")]
    NotInterceptorEvent,

    /// An interceptor input version this code does not speak.
    #[error("unsupported `interceptorInputVersion` {0} (this authorizer speaks `1.0`)")]
    UnsupportedVersion(Shown),

    /// No request body.
    #[error("the interceptor event has no `mcp.gatewayRequest.body`")]
    NoBody,

    /// A JSON-RPC batch: several calls, one decision would not fit them all.
    #[error("the request body is a JSON-RPC batch, which this authorizer does not accept")]
    Batch,

    /// Not a JSON object.
    #[error("the request body is not a JSON-RPC request object")]
    NotObject,

    /// Not JSON-RPC 2.0.
    #[error("the request body is not JSON-RPC 2.0 (`jsonrpc` must be `\"2.0\"`)")]
    NotJsonRpc2,

    /// No method.
    #[error("the JSON-RPC request has no `method` string")]
    NoMethod,

    /// A method outside [`CLIENT_METHODS`].
    #[error("{0} is not an MCP method this authorizer lets through")]
    UnknownMethod(Shown),

    /// A request without a usable `id`.
    #[error("a {0} request must carry a string or integer `id`")]
    NoId(Shown),

    /// A notification with an `id`.
    #[error("the notification {0} must not carry an `id`")]
    NotificationWithId(Shown),

    /// `params` is present but not an object.
    #[error("`params` must be a JSON object")]
    ParamsNotObject,

    /// An `Mcp-Method` or `Mcp-Name` header that is repeated or not text.
    #[error(transparent)]
    Header(#[from] HeaderError),

    /// An `Mcp-Method` / `Mcp-Name` header that says something else than the body.
    #[error("the `{header}` header {sent} does not match the body's {body}")]
    HeaderDisagrees {
        /// `Mcp-Method` or `Mcp-Name`.
        header: &'static str,
        /// The header's value.
        sent: Shown,
        /// What the body says (`(none)` when it names nothing).
        body: Shown,
    },

    /// A `tools/call` without a tool name.
    #[error("`params.name` is missing or not a string: a `tools/call` must name its tool")]
    NoToolName,
}

/// Text from a request, as a message shows it: in backticks, escaped so that invisible and
/// look-alike characters show, and cut short so a huge value cannot flood the audit log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shown(Option<String>);

impl Shown {
    const MAX_CHARS: usize = 80;

    fn of(text: Option<&str>) -> Self {
        Self(text.map(|t| {
            let mut shown: String = t.chars().take(Self::MAX_CHARS).collect();
            if t.chars().nth(Self::MAX_CHARS).is_some() {
                shown.push('…');
            }
            shown
        }))
    }
}

impl std::fmt::Display for Shown {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.0 {
            Some(text) => write!(f, "`{}`", text.escape_debug()),
            None => f.write_str("(none)"),
        }
    }
}

/// Answers one interceptor invocation. Never fails: whatever cannot be understood is denied.
///
/// `inbound` is how the gateway authenticates callers (`GATEWAY_AUTHORIZER_TYPE`): it decides
/// whether the bearer token on a request may be read as the caller.
pub fn intercept(
    guard: &Guard,
    inbound: &Result<InboundAuth, ConfigError>,
    event: &Value,
    lambda_request_id: &str,
) -> Value {
    let ids = |message: Option<&Value>| RequestIds {
        lambda: Some(lambda_request_id.to_owned()).filter(|id| !id.is_empty()),
        agentcore: None,
        mcp_message: message.and_then(message_id),
    };
    let Some(mcp) = event.get("mcp").and_then(Value::as_object) else {
        let reason = RequestError::NotInterceptorEvent;
        return deny(&Value::Null, &refuse(guard, &ids(None), None, &reason));
    };
    let request = mcp.get("gatewayRequest").and_then(Value::as_object);
    let body = request.and_then(|r| r.get("body"));
    let headers = request
        .and_then(|r| r.get("headers"))
        .and_then(Value::as_object);

    if let Some(response) = mcp.get("gatewayResponse") {
        return respond(guard, inbound, body, headers, response);
    }

    let id = body.and_then(|b| b.get("id")).unwrap_or(&Value::Null);
    let params = body.and_then(|b| b.get("params"));
    let refused =
        |reason: &RequestError| deny(answerable(id), &refuse(guard, &ids(body), params, reason));
    match event.get("interceptorInputVersion").and_then(Value::as_str) {
        Some("1.0") => {}
        other => return refused(&RequestError::UnsupportedVersion(Shown::of(other))),
    }
    let Some(body) = body else {
        return refused(&RequestError::NoBody);
    };
    let request = match McpRequest::read(body, headers) {
        Ok(request) => request,
        Err(reason) => return refused(&reason),
    };
    if request.method != "tools/call" {
        return pass_request(body);
    }

    let Some(tool) = request.name else {
        return refused(&RequestError::NoToolName);
    };
    let empty = Value::Object(Map::new());
    // `params.arguments` is the tool's input; `params._meta` (progress tokens, MCP 2026-07-28
    // negotiation) is protocol metadata and never part of `context.input`.
    let arguments = request
        .params
        .and_then(|p| p.get("arguments"))
        .unwrap_or(&empty);
    let ids = ids(Some(body));
    let principal = match caller(inbound, headers) {
        Ok(principal) => principal,
        Err(e) => {
            let call = ToolCall {
                tool,
                input: arguments,
                principal: None,
                ids: &ids,
            };
            return deny(answerable(id), &guard.refuse(&call, e.to_string()));
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
        deny(answerable(id), &decision)
    }
}

/// A JSON-RPC request body, checked for shape, method and header agreement.
#[derive(Debug)]
struct McpRequest<'a> {
    method: &'a str,
    params: Option<&'a Map<String, Value>>,
    /// What the request names: `params.name` of a tool call or prompt, `params.uri` of a
    /// resource request (what an `Mcp-Name` header must repeat).
    name: Option<&'a str>,
}

impl<'a> McpRequest<'a> {
    fn read(
        body: &'a Value,
        headers: Option<&'a Map<String, Value>>,
    ) -> Result<Self, RequestError> {
        let fields = match body {
            Value::Object(fields) => fields,
            Value::Array(_) => return Err(RequestError::Batch),
            _ => return Err(RequestError::NotObject),
        };
        if fields.get("jsonrpc").and_then(Value::as_str) != Some("2.0") {
            return Err(RequestError::NotJsonRpc2);
        }
        let method = fields
            .get("method")
            .and_then(Value::as_str)
            .ok_or(RequestError::NoMethod)?;
        if !CLIENT_METHODS.contains(&method) {
            return Err(RequestError::UnknownMethod(Shown::of(Some(method))));
        }
        // MCP: a request's id is a string or an integer, never null; a notification has none.
        let id = fields.get("id");
        if method.starts_with("notifications/") {
            if id.is_some() {
                return Err(RequestError::NotificationWithId(Shown::of(Some(method))));
            }
        } else if !id.is_some_and(|id| id.is_string() || id.is_i64() || id.is_u64()) {
            return Err(RequestError::NoId(Shown::of(Some(method))));
        }
        let params = match fields.get("params") {
            None => None,
            Some(Value::Object(params)) => Some(params),
            Some(_) => return Err(RequestError::ParamsNotObject),
        };
        let named_by = match method {
            "tools/call" | "prompts/get" => Some("name"),
            "resources/read" | "resources/subscribe" | "resources/unsubscribe" => Some("uri"),
            _ => None,
        };
        let name = named_by
            .and_then(|field| params.and_then(|p| p.get(field)))
            .and_then(Value::as_str);
        let request = Self {
            method,
            params,
            name,
        };
        if let Some(headers) = headers {
            request.agrees_with(headers)?;
        }
        Ok(request)
    }

    /// MCP 2026-07-28 repeats the method and name in `Mcp-Method` / `Mcp-Name` headers so that
    /// intermediaries can route without reading the body. Whoever routes or decides on a header
    /// must see what the target will execute: when present, each must equal the body exactly.
    fn agrees_with(&self, headers: &Map<String, Value>) -> Result<(), RequestError> {
        if let Some(sent) = headers::single(headers, "Mcp-Method")?
            && sent != self.method
        {
            return Err(RequestError::HeaderDisagrees {
                header: "Mcp-Method",
                sent: Shown::of(Some(sent)),
                body: Shown::of(Some(self.method)),
            });
        }
        if let Some(sent) = headers::single(headers, "Mcp-Name")?
            && Some(sent) != self.name
        {
            return Err(RequestError::HeaderDisagrees {
                header: "Mcp-Name",
                sent: Shown::of(Some(sent)),
                body: Shown::of(self.name),
            });
        }
        Ok(())
    }
}

/// The RESPONSE interceptor: filters `tools/list` results, passes everything else unchanged.
fn respond(
    guard: &Guard,
    inbound: &Result<InboundAuth, ConfigError>,
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
    let (Some("tools/list" | "server/discover"), Some(tools)) = (method, tools) else {
        return pass_response(response.clone());
    };
    let principal = caller(inbound, headers);
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

/// The caller, from the `Authorization` header the gateway passed on, when the gateway verified
/// it.
fn caller(
    inbound: &Result<InboundAuth, ConfigError>,
    headers: Option<&Map<String, Value>>,
) -> Result<Principal, CallerError> {
    let inbound = inbound.as_ref().map_err(Clone::clone)?;
    if !inbound.verified_jwt() {
        return Err(CallerError::Unverified(*inbound));
    }
    let headers = headers.ok_or(TokenError::NoHeaders)?;
    let token = token::bearer_in(headers)?;
    Ok(token::principal(&token::unverified_claims(token)?)?)
}

/// Why the interceptor does not know who is calling.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
enum CallerError {
    /// The gateway verified no token: none can be trusted.
    #[error(
        "the gateway authenticates callers with `{0}` (GATEWAY_AUTHORIZER_TYPE) and passes no \
         verified token, so the caller is unknown: this interceptor needs a `CUSTOM_JWT` or \
         `AUTHENTICATE_ONLY` gateway"
    )]
    Unverified(InboundAuth),

    /// No usable token.
    #[error(transparent)]
    Token(#[from] TokenError),

    /// The configuration is broken.
    #[error(transparent)]
    Config(#[from] ConfigError),
}

/// The JSON-RPC id as text, for the audit record.
fn message_id(body: &Value) -> Option<String> {
    match body.get("id")? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// The id a denial answers with: the request's, when it is one JSON-RPC allows.
fn answerable(id: &Value) -> &Value {
    match id {
        Value::String(_) | Value::Number(_) => id,
        _ => &Value::Null,
    }
}

/// An audited refusal of a request no policy was asked about, recorded with its `params`.
fn refuse(
    guard: &Guard,
    ids: &RequestIds,
    params: Option<&Value>,
    reason: &RequestError,
) -> Decision {
    let call = ToolCall {
        tool: UNKNOWN_TOOL,
        input: params.unwrap_or(&Value::Null),
        principal: None,
        ids,
    };
    guard.refuse(&call, reason.to_string())
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
pub(crate) fn deny(id: &Value, decision: &Decision) -> Value {
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
