//! The compact form: `base64url(header).base64url(claims).base64url(signature)`.

use std::time::{Duration, SystemTime};

use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
use guard::Principal;
use serde::{Deserialize, Serialize};

use crate::{
    MAX_LIFETIME,
    claims::{Binding, Claims},
    signer::{SignError, Signer},
};

/// The token type an assertion's header names: not a bearer token, and not accepted as one.
pub(crate) const TOKEN_TYPE: &str = "agent-guard-caller+jwt";

/// The JWS header. Only these fields: a `crit` or any other is not ours.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Header {
    pub alg: String,
    pub typ: String,
    pub kid: String,
}

/// Why no assertion could be issued.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// The signer failed.
    #[error(transparent)]
    Sign(#[from] SignError),
    /// A lifetime over [`MAX_LIFETIME`], or none at all.
    #[error("a caller assertion lives 1 to {max} seconds, not {0} s", max = MAX_LIFETIME.as_secs())]
    Lifetime(u64),
    /// The claims could not be written.
    #[error("the caller assertion could not be written: {0}")]
    Json(String),
}

/// Issues an assertion that `caller` makes the call `binding`: signed by `signer`, valid from
/// `now` for `lifetime`, unique by `jti`.
pub async fn issue(
    signer: &impl Signer,
    caller: &Principal,
    binding: &Binding<'_>,
    now: SystemTime,
    lifetime: Duration,
    jti: &str,
) -> Result<String, TokenError> {
    if lifetime.is_zero() || lifetime > MAX_LIFETIME {
        return Err(TokenError::Lifetime(lifetime.as_secs()));
    }
    let header = Header {
        alg: "ES256".to_owned(),
        typ: TOKEN_TYPE.to_owned(),
        kid: signer.key_id().to_owned(),
    };
    let claims = Claims::new(caller, binding, now, lifetime, jti);
    let signing_input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(json(&header)?),
        URL_SAFE_NO_PAD.encode(json(&claims)?)
    );
    let signature = signer.sign(signing_input.as_bytes()).await?;
    Ok(format!(
        "{signing_input}.{}",
        URL_SAFE_NO_PAD.encode(signature)
    ))
}

fn json<T: Serialize>(value: &T) -> Result<Vec<u8>, TokenError> {
    serde_json::to_vec(value).map_err(|e| TokenError::Json(e.to_string()))
}
