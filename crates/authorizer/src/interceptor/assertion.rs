//! The caller assertion on a `tools/call` the interceptor passes on: who the guard decided
//! the caller is, signed and bound to this call ([`caller::issue`]), carried to the tool in
//! `params.arguments` under [`ASSERTION_FIELD`] — and the refusal of one the agent supplied.

use std::time::SystemTime;

use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
use caller::{ASSERTION_FIELD, Binding};
use guard::Principal;
use serde_json::{Map, Value};
use unicode_normalization::UnicodeNormalization;

use crate::{
    config::ConfigError,
    signer::{AssertionSettings, CallerSigner},
};

/// How the interceptor vouches for callers: the settings read once, and the signer built for
/// them at start.
#[derive(Debug, Clone, Copy)]
pub struct Vouching<'a> {
    /// `CALLER_SIGNING_KEY` and `CALLER_ASSERTION_LIFETIME`.
    pub settings: &'a Result<Option<AssertionSettings>, ConfigError>,
    /// The signer, when one was built.
    pub signer: Option<&'a CallerSigner>,
}

/// Why a call the guard let through is refused all the same: the tool could not be told who
/// is calling. Every one is audited.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VouchError {
    /// The assertion settings are broken.
    #[error("the caller could not be vouched for to the tool: {0}")]
    Settings(ConfigError),
    /// A key is configured, but no signer was built for it.
    #[error(
        "the caller could not be vouched for to the tool: CALLER_SIGNING_KEY is set, but this \
         function has no signer for it"
    )]
    NoSigner,
    /// No gateway to bind the assertion to.
    #[error(
        "the caller could not be vouched for to the tool: no gateway ARN is configured \
         (GATEWAY_ARN)"
    )]
    NoGateway,
    /// Arguments that cannot carry a field.
    #[error(
        "the caller could not be vouched for to the tool: `params.arguments` is not a JSON \
         object, so no caller assertion can travel with it"
    )]
    ArgumentsNotObject,
    /// No unique assertion id.
    #[error(
        "the caller could not be vouched for to the tool: no random assertion id could be made"
    )]
    NoRandom,
    /// Issuing (signing) failed.
    #[error("the caller could not be vouched for to the tool: {0}")]
    Issue(#[from] caller::TokenError),
}

/// The call an assertion is for, as the interceptor decided it.
#[derive(Debug, Clone, Copy)]
pub struct Vouched<'a> {
    /// The principal the guard decided with.
    pub caller: &'a Principal,
    /// `params.name`.
    pub tool: &'a str,
    /// `params.arguments` (`{}` when absent).
    pub arguments: &'a Value,
    /// The JSON-RPC id as text.
    pub mcp_request: Option<&'a str>,
}

impl Vouching<'_> {
    /// Whether a signing key is configured (broken settings count as configured: they refuse).
    pub fn configured(&self) -> bool {
        !matches!(self.settings, Ok(None))
    }

    /// `body` as it goes on to the tool: with an assertion that `call.caller` makes this call
    /// through `gateway`, or unchanged when no key is configured.
    pub async fn vouch(
        &self,
        body: &Value,
        gateway: Option<&str>,
        call: Vouched<'_>,
    ) -> Result<Value, VouchError> {
        let settings = match self.settings {
            Ok(None) => return Ok(body.clone()),
            Ok(Some(settings)) => settings,
            Err(e) => return Err(VouchError::Settings(e.clone())),
        };
        let signer = self.signer.ok_or(VouchError::NoSigner)?;
        let gateway = gateway.ok_or(VouchError::NoGateway)?;
        let binding = Binding {
            gateway,
            tool: call.tool,
            arguments: call.arguments,
            mcp_request: call.mcp_request,
        };
        let jti = assertion_id()?;
        let token = caller::issue(
            signer,
            call.caller,
            &binding,
            SystemTime::now(),
            settings.lifetime,
            &jti,
        )
        .await?;
        with_assertion(body, call.arguments, token)
    }
}

/// `body` with `token` under [`ASSERTION_FIELD`] in `params.arguments` (made from `arguments`).
fn with_assertion(body: &Value, arguments: &Value, token: String) -> Result<Value, VouchError> {
    let mut carried = match arguments {
        Value::Object(fields) => fields.clone(),
        _ => return Err(VouchError::ArgumentsNotObject),
    };
    carried.insert(ASSERTION_FIELD.to_owned(), Value::String(token));
    let mut body = body.clone();
    let params = body
        .as_object_mut()
        .map(|b| {
            b.entry("params")
                .or_insert_with(|| Value::Object(Map::new()))
        })
        .and_then(Value::as_object_mut)
        .ok_or(VouchError::ArgumentsNotObject)?;
    params.insert("arguments".to_owned(), Value::Object(carried));
    Ok(body)
}

/// 128 random bits: unique per assertion, so a tool can accept each once.
fn assertion_id() -> Result<String, VouchError> {
    let mut bytes = [0_u8; 16];
    SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| VouchError::NoRandom)?;
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}

/// The key of `arguments` by which the agent tries to supply an assertion itself: exactly
/// [`ASSERTION_FIELD`], or a key that differs from it only in case, white space, invisible or
/// compatibility characters (`_GUARD_CALLER`, `_guard_caller\u{200b}`, full-width forms). A
/// tool or a later reader may normalise what this gate compares exactly, so every one of them
/// is refused.
pub fn supplied_assertion(arguments: &Value) -> Option<&str> {
    arguments
        .as_object()?
        .keys()
        .map(String::as_str)
        .find(|key| looks_like_assertion_field(key))
}

/// Whether `key` reads as [`ASSERTION_FIELD`] once case, white space, invisible and
/// compatibility characters are set aside.
pub fn looks_like_assertion_field(key: &str) -> bool {
    let folded: String = key
        .nfkc()
        .filter(|c| !c.is_whitespace() && !c.is_control() && !is_default_ignorable(*c))
        .flat_map(char::to_lowercase)
        .collect();
    folded == ASSERTION_FIELD
}

/// Unicode's `Default_Ignorable_Code_Point`: characters that render as nothing (zero-width
/// spaces and joiners, bidirectional controls, variation selectors, tag characters, fillers).
fn is_default_ignorable(c: char) -> bool {
    matches!(
        u32::from(c),
        0x00AD
            | 0x034F
            | 0x061C
            | 0x115F..=0x1160
            | 0x17B4..=0x17B5
            | 0x180B..=0x180F
            | 0x200B..=0x200F
            | 0x202A..=0x202E
            | 0x2060..=0x206F
            | 0x3164
            | 0xFE00..=0xFE0F
            | 0xFEFF
            | 0xFFA0
            | 0xFFF0..=0xFFF8
            | 0x1BCA0..=0x1BCA3
            | 0x1D173..=0x1D17A
            | 0xE0000..=0xE0FFF
    )
}

#[cfg(test)]
mod tests;
