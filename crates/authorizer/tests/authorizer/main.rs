//! The authorizer as the gateways invoke it: events in, answers out, audit records kept.

mod api_gateway;
mod api_gateway_tokens;
mod caller_assertions;
mod events;
mod interceptor;
mod mcp_headers;
mod protocol;
mod shapes;
mod support;
mod tokens;
mod tool_lists;
mod trust;
