//! The AgentCore Gateway interceptor: one function attached as both the REQUEST and the RESPONSE
//! interceptor of an MCP gateway.
//!
//! **Which kind of event.** A RESPONSE event is one whose `mcp.gatewayResponse` is a JSON
//! object. Gateways send `"gatewayResponse": null` on REQUEST events (AWS's own example
//! interceptor and payloads captured from deployed gateways do), so null or absent means
//! REQUEST, which needs an `mcp.gatewayRequest` object. Anything else is neither, and refused.
//!
//! **REQUEST**: the body must be one JSON-RPC 2.0 request of a known MCP method
//! ([`CLIENT_METHODS`], compared byte for byte), with an `id` unless it is a notification;
//! `Mcp-Method` / `Mcp-Name` headers (MCP 2026-07-28), when present, must say exactly what the
//! body says, or the request is answered with MCP's `HeaderMismatch` (HTTP 400, `-32020`). A
//! `tools/call` is then decided by the guard's call check — principal from the bearer token
//! ([`Trust`]: claims of a token the gateway verified, or a token verified here), action from
//! `params.name`, `context.input` from `params.arguments` (never `params._meta`), resource the
//! configured gateway — exactly the request AgentCore Policy builds. Allowed (or a LOG_ONLY
//! would-deny): the body goes on as `transformedGatewayRequest`, its `params.arguments`
//! carrying a signed caller assertion when a signing key is configured ([`assertion`]:
//! the caller, bound to the gateway, tool, arguments and MCP request id; a call that cannot
//! be vouched for is refused). Arguments that already carry one (the agent's own) are
//! refused before any policy is asked. Denied: a
//! `transformedGatewayResponse` carrying a JSON-RPC error (`-32002`, `Tool Execution Denied:
//! <why>`), which the gateway returns at once without calling the target. Other known methods
//! pass unchanged. Anything else — an unknown method or a near-miss of one, a batch, two
//! `Authorization` headers, no token, an unknown `GATEWAY_AUTHORIZER_TYPE` — is an audited
//! refusal, answered the same way as a deny.
//!
//! **RESPONSE**: a tool list (`tools/list`, `server/discover`, or a response whose request is
//! missing) loses the tools the caller could never call (Cedar partial evaluation with the
//! arguments unknown: a tool stays if some arguments could be permitted), and each tool's
//! `inputSchema` loses the assertion property the tools declare for the gateway's sake, so
//! no agent is invited to fill it. Without a caller, or
//! with a list that cannot be read, no tool is shown, and the refusal is audited. JSON-RPC errors
//! pass unchanged — including our own denials, since the gateway invokes the RESPONSE
//! interceptor even after a REQUEST short-circuit — and so do the results of other methods.
//!
//! Both interceptor configurations need `passRequestHeaders: true`, or the token never reaches
//! this function: a `tools/call` without headers is refused, and a tool list lists nothing.

mod assertion;
mod request;
mod response;

use guard::{
    AuthorizerType, Decision, Guard, Principal, RequestIds, ToolCall, UNKNOWN_TOOL,
    UnknownAuthorizerType,
};
use serde_json::{Map, Value, json};

use self::request::McpRequest;
pub use self::{
    assertion::{VouchError, Vouched, Vouching, looks_like_assertion_field, supplied_assertion},
    request::{CLIENT_METHODS, RequestError},
};
pub use crate::shown::Shown;
use crate::{
    config::{ConfigError, Trust},
    jwt,
    token::{self, TokenError},
};

/// The JSON-RPC error code of a denied tool call, as AgentCore Policy answers one.
pub const DENIED_CODE: i64 = -32002;

/// The prefix of every denial message, as AgentCore Policy words it.
pub const DENIED_PREFIX: &str = "Tool Execution Denied: ";

/// MCP 2026-07-28's `HeaderMismatch` JSON-RPC error code, answered with HTTP status 400
/// (Streamable HTTP, "Server Validation"): an `Mcp-Method` / `Mcp-Name` header missing,
/// malformed, or not matching the body.
pub const HEADER_MISMATCH_CODE: i64 = -32020;

/// What the interceptor needs besides the guard: both decided once, at start.
#[derive(Debug, Clone, Copy)]
pub struct Setup<'a> {
    /// `GATEWAY_AUTHORIZER_TYPE`, as the guard's configuration read it.
    pub authorizer_type: &'a Result<AuthorizerType, UnknownAuthorizerType>,
    /// Where callers are taken from.
    pub trust: &'a Result<Trust, ConfigError>,
    /// How callers are vouched for to the tools.
    pub vouching: Vouching<'a>,
}

/// Answers one interceptor invocation. Never fails: whatever cannot be understood is denied.
pub async fn intercept(
    guard: &Guard,
    setup: Setup<'_>,
    event: &Value,
    lambda_request_id: &str,
) -> Value {
    let mcp = event.get("mcp").and_then(Value::as_object);
    let request = mcp.and_then(|m| m.get("gatewayRequest"));
    let body = request.and_then(|r| r.get("body"));
    let exchange = Exchange {
        guard,
        setup,
        ids: RequestIds {
            mcp_message: body.and_then(message_id),
            ..RequestIds::from_lambda(lambda_request_id)
        },
        body,
        headers: request
            .and_then(|r| r.get("headers"))
            .and_then(Value::as_object),
    };
    let Some(mcp) = mcp else {
        return exchange.refuse(&RequestError::NotInterceptorEvent);
    };
    // A RESPONSE is told by its `gatewayResponse` object: REQUEST events carry `null` there.
    let response = match (request, mcp.get("gatewayResponse")) {
        (_, Some(Value::Object(response))) => Some(response),
        (Some(Value::Object(_)), None | Some(Value::Null)) => None,
        _ => return exchange.refuse(&RequestError::NeitherRequestNorResponse),
    };
    match event.get("interceptorInputVersion").and_then(Value::as_str) {
        Some("1.0") => {}
        other => return exchange.refuse(&RequestError::UnsupportedVersion(Shown::of(other))),
    }
    match response {
        Some(response) => response::respond(&exchange, response),
        None => exchange.on_request().await,
    }
}

/// One invocation: the guard, the setup, and what the event says about the request.
struct Exchange<'a> {
    guard: &'a Guard,
    setup: Setup<'a>,
    ids: RequestIds,
    /// `mcp.gatewayRequest.body`.
    body: Option<&'a Value>,
    /// `mcp.gatewayRequest.headers` (with `passRequestHeaders`).
    headers: Option<&'a Map<String, Value>>,
}

impl Exchange<'_> {
    /// A REQUEST: refused, passed on, or decided by the call check.
    async fn on_request(&self) -> Value {
        let Some(body) = self.body else {
            return self.refuse(&RequestError::NoBody);
        };
        let request = match McpRequest::read(body, self.headers) {
            Ok(request) => request,
            Err(reason) => return self.refuse(&reason),
        };
        let empty = Value::Object(Map::new());
        // `params.arguments` is the tool's input; `params._meta` (progress tokens, MCP
        // 2026-07-28 negotiation) is protocol metadata and never part of `context.input`.
        let arguments = request
            .params
            .and_then(|p| p.get("arguments"))
            .unwrap_or(&empty);
        let tool = request.name.filter(|_| request.method == "tools/call");
        if let Err(unknown) = self.setup.authorizer_type {
            let call = self.call(tool.unwrap_or(UNKNOWN_TOOL), arguments, None);
            let reason = RequestError::Config(unknown.clone());
            return deny(self.id(), &self.guard.refuse(&call, reason.to_string()));
        }
        if request.method != "tools/call" {
            return pass_request(body);
        }
        let Some(tool) = tool else {
            return self.refuse(&RequestError::NoToolName);
        };
        let principal = match caller(self.setup.trust, self.headers) {
            Ok(principal) => principal,
            Err(e) => {
                let call = self.call(tool, arguments, None);
                return deny(self.id(), &self.guard.refuse(&call, e.to_string()));
            }
        };
        let call = self.call(tool, arguments, Some(&principal));
        if let Some(key) = supplied_assertion(arguments) {
            let reason = RequestError::SuppliedAssertion(Shown::text(key));
            return deny(self.id(), &self.guard.refuse(&call, reason.to_string()));
        }
        let decision = self.guard.check_call(&call);
        if !decision.proceeds() {
            return deny(self.id(), &decision);
        }
        let vouched = Vouched {
            caller: &principal,
            tool,
            arguments,
            mcp_request: self.ids.mcp_message.as_deref(),
        };
        let gateway = self.guard.gateway_arn();
        match self.setup.vouching.vouch(body, gateway, vouched).await {
            Ok(body) => pass_request(&body),
            Err(e) => deny(self.id(), &self.guard.refuse(&call, e.to_string())),
        }
    }

    fn call<'c>(
        &'c self,
        tool: &'c str,
        input: &'c Value,
        principal: Option<&'c Principal>,
    ) -> ToolCall<'c> {
        ToolCall {
            tool,
            input,
            principal,
            ids: &self.ids,
        }
    }

    /// The request's `params`, as a refusal records them.
    fn params(&self) -> &Value {
        self.body
            .and_then(|b| b.get("params"))
            .unwrap_or(&Value::Null)
    }

    /// The id a denial answers with: the request's, when it is one JSON-RPC allows.
    fn id(&self) -> &Value {
        match self.body.and_then(|b| b.get("id")) {
            Some(id @ (Value::String(_) | Value::Number(_))) => id,
            _ => &Value::Null,
        }
    }

    /// An audited refusal of a request no policy was asked about, recorded with its `params`,
    /// and its answer.
    fn refuse(&self, reason: &RequestError) -> Value {
        let call = self.call(UNKNOWN_TOOL, self.params(), None);
        let decision = self.guard.refuse(&call, reason.to_string());
        if reason.is_header_mismatch() {
            header_mismatch(self.id(), reason)
        } else {
            deny(self.id(), &decision)
        }
    }
}

/// The caller, from the `Authorization` header the gateway passed on, as `trust` allows.
fn caller(
    trust: &Result<Trust, ConfigError>,
    headers: Option<&Map<String, Value>>,
) -> Result<Principal, CallerError> {
    let token = || token::bearer_in(headers.ok_or(TokenError::NoHeaders)?);
    let claims = match trust.as_ref().map_err(Clone::clone)? {
        Trust::Nobody(authorizer_type) => return Err(CallerError::Untrusted(*authorizer_type)),
        Trust::VerifiedHere(verifier) => verifier.verify(token()?)?,
        Trust::GatewayVerified(rules) => {
            token::unverified_claims_with(token()?, rules, jwt::now())?
        }
    };
    Ok(token::principal(&claims)?)
}

/// Why the interceptor does not know who is calling.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
enum CallerError {
    /// The gateway verified no token, and this interceptor does not either: none is trusted.
    #[error(
        "the gateway authenticates callers with `{0}` (GATEWAY_AUTHORIZER_TYPE) and passes no \
         verified token, so the caller is unknown: this interceptor needs a `CUSTOM_JWT` or \
         `AUTHENTICATE_ONLY` gateway, or a `NONE` one with JWT_* verification"
    )]
    Untrusted(AuthorizerType),

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

fn output(member: &str, value: Value) -> Value {
    json!({"interceptorOutputVersion": "1.0", "mcp": {member: value}})
}

/// Lets the request go on to the target, unchanged.
fn pass_request(body: &Value) -> Value {
    output("transformedGatewayRequest", json!({"body": body}))
}

/// Answers with `response` (a gateway response, possibly filtered). A streamed event's
/// `isStreamingResponse` marker is the gateway's, not ours to return.
fn pass_response(mut response: Map<String, Value>) -> Value {
    response.remove("isStreamingResponse");
    output("transformedGatewayResponse", Value::Object(response))
}

/// Short-circuits the request with a JSON-RPC error that says why.
pub(crate) fn deny(id: &Value, decision: &Decision) -> Value {
    short_circuit(
        200,
        id,
        DENIED_CODE,
        format!("{DENIED_PREFIX}{}", decision.explain()),
    )
}

/// Short-circuits the request with MCP's `HeaderMismatch`.
fn header_mismatch(id: &Value, reason: &RequestError) -> Value {
    short_circuit(
        400,
        id,
        HEADER_MISMATCH_CODE,
        format!("Header mismatch: {reason}"),
    )
}

fn short_circuit(status: u16, id: &Value, code: i64, message: String) -> Value {
    output(
        "transformedGatewayResponse",
        json!({
            "statusCode": status,
            "body": {"jsonrpc": "2.0", "id": id, "error": {"code": code, "message": message}},
        }),
    )
}
