//! A REQUEST's JSON-RPC body: its shape, its method and its agreement with the MCP headers.

use serde_json::{Map, Value};

use crate::{
    headers::{self, HeaderError},
    shown::Shown,
};

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

/// Why a request is refused before any policy is asked. Every one is audited.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RequestError {
    /// Not an interceptor event at all.
    #[error("the event is not an AgentCore Gateway MCP interceptor event (no `mcp` object)")]
    NotInterceptorEvent,

    /// An interceptor event that is neither a REQUEST nor a RESPONSE.
    #[error(
        "the interceptor event is neither a REQUEST (`mcp.gatewayRequest` an object, \
         `mcp.gatewayResponse` absent or null) nor a RESPONSE (`mcp.gatewayResponse` an object)"
    )]
    NeitherRequestNorResponse,

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

    /// An `Mcp-Method` or `Mcp-Name` header that is repeated, not text, or badly encoded.
    #[error(transparent)]
    Header(#[from] HeaderError),

    /// An `Mcp-Method` / `Mcp-Name` header that says something else than the body.
    #[error("the `{header}` header {sent} does not match the body's {body}")]
    HeaderDisagrees {
        /// `Mcp-Method` or `Mcp-Name`.
        header: &'static str,
        /// The header's value (decoded, for an `Mcp-Name` in the base64 form).
        sent: Shown,
        /// What the body says (`(none)` when it names nothing).
        body: Shown,
    },

    /// A `tools/call` without a tool name.
    #[error("`params.name` is missing or not a string: a `tools/call` must name its tool")]
    NoToolName,

    /// The arguments already carry a caller assertion (or a key that reads as its field):
    /// only this interceptor attaches one, so the agent is trying to say who is calling.
    #[error(
        "the arguments carry {0}, the field that tells the tool who is calling: only this \
         interceptor attaches it, so a caller assertion the agent supplies is refused"
    )]
    SuppliedAssertion(Shown),

    /// The gateway's authorizer type is unknown: nothing is let through.
    #[error(transparent)]
    Config(#[from] guard::UnknownAuthorizerType),

    /// A response that may list tools but cannot be filtered: passing it on would show tools
    /// unfiltered.
    #[error("the response to {0} may list tools but cannot be filtered for the caller: {1}")]
    Unfilterable(&'static str, &'static str),
}

impl RequestError {
    /// Whether this is MCP's `HeaderMismatch`: an `Mcp-Method` / `Mcp-Name` header that is
    /// missing, malformed or disagrees with the body.
    pub fn is_header_mismatch(&self) -> bool {
        matches!(self, Self::Header(_) | Self::HeaderDisagrees { .. })
    }
}

/// A JSON-RPC request body, checked for shape, method and header agreement.
#[derive(Debug)]
pub(super) struct McpRequest<'a> {
    pub method: &'a str,
    pub params: Option<&'a Map<String, Value>>,
    /// What the request names: `params.name` of a tool call or prompt, `params.uri` of a
    /// resource request (what an `Mcp-Name` header must repeat).
    pub name: Option<&'a str>,
}

impl<'a> McpRequest<'a> {
    pub fn read(
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
            return Err(RequestError::UnknownMethod(Shown::text(method)));
        }
        // MCP: a request's id is a string or an integer, never null; a notification has none.
        let id = fields.get("id");
        if method.starts_with("notifications/") {
            if id.is_some() {
                return Err(RequestError::NotificationWithId(Shown::text(method)));
            }
        } else if !id.is_some_and(|id| id.is_string() || id.is_i64() || id.is_u64()) {
            return Err(RequestError::NoId(Shown::text(method)));
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
    /// must see what the target will execute: when present, each must equal the body exactly —
    /// `Mcp-Name` after decoding its base64 form ([`headers::mcp_decoded`]), `Mcp-Method` as
    /// sent, the specification allowing the encoding on `Mcp-Name` and `Mcp-Param-*` only.
    fn agrees_with(&self, headers: &Map<String, Value>) -> Result<(), RequestError> {
        if let Some(sent) = headers::single(headers, "Mcp-Method")?
            && sent != self.method
        {
            return Err(RequestError::HeaderDisagrees {
                header: "Mcp-Method",
                sent: Shown::text(sent),
                body: Shown::text(self.method),
            });
        }
        if let Some(sent) = headers::single(headers, "Mcp-Name")? {
            let sent = headers::mcp_decoded("Mcp-Name", sent)?;
            if Some(sent.as_ref()) != self.name {
                return Err(RequestError::HeaderDisagrees {
                    header: "Mcp-Name",
                    sent: Shown::text(&sent),
                    body: Shown::of(self.name),
                });
            }
        }
        Ok(())
    }
}
