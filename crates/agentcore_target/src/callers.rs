//! The caller (issue 20): the assertion the interceptor attached to the call, verified against
//! the interceptor's public key, bound to this call, and used once. A tool that knows its caller
//! decides with it — caller-specific policies hold inside the tool as at the gateway.

use std::{
    borrow::Cow,
    time::{SystemTime, UNIX_EPOCH},
};

use aws_config::SdkConfig;
use budget::SingleUse;
use caller::{ASSERTION_FIELD, Binding, Verified, Verifier};
use serde_json::{Map, Value};
use tokio::sync::OnceCell;

use crate::config::{ConfigError, Env};

/// `CALLER`: `required` (a call without a valid assertion is refused) or `unknown` (decide with
/// an unknown caller when none is asserted: deployments without the interceptor).
pub const CALLER_VAR: &str = "CALLER";

/// Whether a call must come with a caller assertion.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallerMode {
    /// Every call needs a valid assertion.
    Required,
    /// A call without one is decided with an unknown caller (as before assertions existed);
    /// one that carries an assertion still has it verified.
    Unknown,
}

impl CallerMode {
    /// Reads `CALLER`, spelled exactly. Unset is `unknown` — the behaviour of a deployment
    /// without the interceptor — and the function says so at start; the template sets it.
    pub fn from_env(env: &Env<'_>) -> Result<Self, ConfigError> {
        match env.exact(CALLER_VAR).as_deref() {
            None | Some("unknown") => Ok(Self::Unknown),
            Some("required") => Ok(Self::Required),
            Some(other) => Err(ConfigError::NotOneOf {
                variable: CALLER_VAR,
                value: other.to_owned(),
                expected: "`required` or `unknown`",
            }),
        }
    }
}

/// Why a call's caller could not be established: the call is refused, audited, in every mode.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CallerRefusal {
    /// `CALLER` or `CALLER_SIGNING_KEY` is unusable.
    #[error("the caller cannot be verified, so every call is refused: {0}")]
    Setup(String),
    /// No assertion, and one is required.
    #[error(
        "the call carries no caller assertion, and this function requires one (CALLER=required): \
         it must come through the gateway's interceptor"
    )]
    Missing,
    /// The assertion field is not a string.
    #[error("the caller assertion `{ASSERTION_FIELD}` must be a string")]
    NotAString,
    /// The assertion does not verify, or is for another call.
    #[error(transparent)]
    Invalid(#[from] caller::AssertionError),
    /// The public key could not be fetched.
    #[error(
        "the interceptor's public key could not be read, so the caller cannot be verified: {0}"
    )]
    Key(String),
    /// The same call (the same MCP request of the same caller, or the same assertion) was
    /// seen before, within the assertion's lifetime.
    #[error(
        "this call was made before{}: a replayed call is refused (a new call needs a new MCP \
         request id)",
        .mcp_request.as_ref().map(|m| format!(" (MCP request id `{m}`, same caller)")).unwrap_or_default()
    )]
    Replayed {
        /// The MCP request id, escaped, when the call had one.
        mcp_request: Option<String>,
    },
    /// The memory of used assertions could not be asked.
    #[error("whether the caller assertion was used before cannot be checked: {0}")]
    Memory(String),
}

/// How a tool learns its callers: the mode, the key it trusts, and where used assertions are
/// remembered.
pub struct Callers {
    mode: Result<CallerMode, ConfigError>,
    key_id: Option<String>,
    kms: Option<aws_sdk_kms::Client>,
    verifier: OnceCell<Verifier>,
    used: Option<SingleUse>,
}

impl std::fmt::Debug for Callers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Callers")
            .field("mode", &self.mode)
            .field("key_id", &self.key_id)
            .finish_non_exhaustive()
    }
}

impl Callers {
    /// Callers as the settings say: `CALLER`, `CALLER_SIGNING_KEY`, used assertions remembered in
    /// `table` (the budget table).
    pub fn new(
        mode: Result<CallerMode, ConfigError>,
        key_id: Option<String>,
        table: Option<String>,
        sdk: &SdkConfig,
    ) -> Self {
        Self {
            mode,
            kms: key_id.as_ref().map(|_| aws_sdk_kms::Client::new(sdk)),
            key_id,
            verifier: OnceCell::new(),
            used: table.map(|t| SingleUse::new(aws_sdk_dynamodb::Client::new(sdk), t)),
        }
    }

    /// No assertions expected: every caller unknown unless one is asserted, and an asserted
    /// one refused (nothing to verify it with). For tests of other steps.
    pub fn unknown() -> Self {
        Self {
            mode: Ok(CallerMode::Unknown),
            key_id: None,
            kms: None,
            verifier: OnceCell::new(),
            used: None,
        }
    }

    /// The caller of the call whose `arguments` (the assertion among them) arrived for `binding`
    /// — `None` when none is asserted and none is required — or why the call is refused. Only
    /// verification: no AWS call once the key is held ([`Callers::prefetch`]), so a call the
    /// call check then denies has made none. That the call is new is [`Callers::first_use`]'s.
    pub async fn verify(
        &self,
        assertion: Option<&Value>,
        binding: &Binding<'_>,
    ) -> Result<Option<Verified>, CallerRefusal> {
        let mode = self
            .mode
            .as_ref()
            .map_err(|e| CallerRefusal::Setup(e.to_string()))?;
        let token = match (assertion, mode) {
            (None, CallerMode::Unknown) => return Ok(None),
            (None, CallerMode::Required) => return Err(CallerRefusal::Missing),
            (Some(Value::String(token)), _) => token,
            (Some(_), _) => return Err(CallerRefusal::NotAString),
        };
        Ok(Some(self.verifier().await?.verify(
            token,
            binding,
            SystemTime::now(),
        )?))
    }

    /// Accepts the verified call once: the same call again (the same MCP request of the same
    /// caller, or the same assertion) within the assertion's lifetime is a replay. `tool` names
    /// whose single-use memory it goes into.
    pub async fn first_use(
        &self,
        tool: &str,
        verified: &Verified,
        mcp_request: Option<&str>,
    ) -> Result<(), CallerRefusal> {
        let used = self.used.as_ref().ok_or_else(|| {
            CallerRefusal::Memory(
                "BUDGET_TABLE is not set, and used caller assertions are remembered there"
                    .to_owned(),
            )
        })?;
        let expires = verified
            .expires_at
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        match used.first_use(tool, &verified.once, expires).await {
            Ok(true) => Ok(()),
            Ok(false) => Err(CallerRefusal::Replayed {
                mcp_request: mcp_request.map(|m| m.escape_debug().to_string()),
            }),
            Err(e) => Err(CallerRefusal::Memory(e.to_string())),
        }
    }

    /// Fetches the public key now, at start, so that no invocation waits for it or makes an
    /// AWS call before its call check. A failure is kept for nothing: the first call that
    /// needs the key tries again (and is refused if it still cannot be had).
    pub async fn prefetch(&self) {
        if self.key_id.is_some()
            && let Err(e) = self.verifier().await
        {
            tracing::warn!(error = %e, "the caller key could not be read at start; the first call will try again");
        }
    }

    /// The verifier, its public key fetched from KMS the first time it is needed (not at
    /// start: a cold start pays nothing for it) and kept; a failed fetch is tried again.
    async fn verifier(&self) -> Result<&Verifier, CallerRefusal> {
        self.verifier
            .get_or_try_init(|| async {
                let (Some(kms), Some(key_id)) = (&self.kms, &self.key_id) else {
                    return Err(CallerRefusal::Setup(format!(
                        "{} is not set: no key to verify caller assertions with",
                        caller::SIGNING_KEY_VAR
                    )));
                };
                let out = kms
                    .get_public_key()
                    .key_id(key_id)
                    .send()
                    .await
                    .map_err(|e| CallerRefusal::Key(guard::with_causes(&e)))?;
                let der = out
                    .public_key()
                    .ok_or_else(|| CallerRefusal::Key("KMS returned no public key".to_owned()))?;
                Verifier::new([(key_id.as_str(), der.as_ref())])
                    .map_err(|e| CallerRefusal::Key(e.to_string()))
            })
            .await
    }
}

/// The call's arguments without the assertion, and the assertion, if the interceptor attached
/// one. Only the exact field: any other name is an argument like the rest (and the strict
/// parser refuses it).
pub fn split_assertion(payload: &Value) -> (Cow<'_, Value>, Option<Value>) {
    match payload {
        Value::Object(fields) if fields.contains_key(ASSERTION_FIELD) => {
            let mut arguments: Map<String, Value> = fields.clone();
            let assertion = arguments.remove(ASSERTION_FIELD);
            (Cow::Owned(Value::Object(arguments)), assertion)
        }
        other => (Cow::Borrowed(other), None),
    }
}
