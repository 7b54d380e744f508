//! The authorizer as the gateways invoke it: events in, answers out, audit records kept.

mod api_gateway;
mod events;
mod interceptor;
mod protocol;
mod shapes;
mod support;
mod tokens;
mod trust;
