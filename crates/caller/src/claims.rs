//! What an assertion says, and the call it is bound to.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use guard::Principal;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::{ISSUER, canonical::arguments_digest};

/// The claims of one assertion. Only the fields below: an assertion with any other is not
/// one of ours.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Claims {
    /// The format's version, `1`.
    pub v: u8,
    /// Who issued it: [`ISSUER`].
    pub iss: String,
    /// The caller, as the interceptor's guard decided it: type, id and the claims it used as
    /// tags.
    pub caller: Principal,
    /// The gateway the call came through (its ARN).
    pub gw: String,
    /// The gateway tool name, `<target>___<tool>`.
    pub tool: String,
    /// The SHA-256 of the canonical arguments ([`arguments_digest`]).
    pub args: String,
    /// The MCP request id (the JSON-RPC `id`), when the request had one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mcp: Option<String>,
    /// Issued at, seconds since the epoch.
    pub iat: u64,
    /// Expires at, seconds since the epoch.
    pub exp: u64,
    /// Unique per assertion: a tool uses each once.
    pub jti: String,
}

/// The call an assertion is for: what the interceptor saw, and what the tool must see again.
#[derive(Debug, Clone, Copy)]
pub struct Binding<'a> {
    /// The gateway's ARN.
    pub gateway: &'a str,
    /// The gateway tool name, `<target>___<tool>`.
    pub tool: &'a str,
    /// The tool's arguments (an [`crate::ASSERTION_FIELD`] among them is not digested).
    pub arguments: &'a Value,
    /// The MCP request id, when there is one.
    pub mcp_request: Option<&'a str>,
}

impl Claims {
    /// The claims for `caller` making the call `binding`, issued `now`, living `lifetime`.
    pub fn new(
        caller: &Principal,
        binding: &Binding<'_>,
        now: SystemTime,
        lifetime: Duration,
        jti: &str,
    ) -> Self {
        let iat = epoch_seconds(now);
        Self {
            v: 1,
            iss: ISSUER.to_owned(),
            caller: caller.clone(),
            gw: binding.gateway.to_owned(),
            tool: binding.tool.to_owned(),
            args: arguments_digest(binding.arguments),
            mcp: binding.mcp_request.map(ToOwned::to_owned),
            iat,
            exp: iat.saturating_add(lifetime.as_secs()),
            jti: jti.to_owned(),
        }
    }
}

/// Whole seconds since the epoch.
pub(crate) fn epoch_seconds(at: SystemTime) -> u64 {
    at.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}
