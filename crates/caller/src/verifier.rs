//! Verifying an assertion: its signature against a key the tool trusts, its time, and each
//! binding against the call the tool received.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED, ParsedPublicKey};
use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
use guard::Principal;
use serde::de::DeserializeOwned;

use crate::{
    ISSUER, LEEWAY, MAX_LIFETIME,
    canonical::arguments_digest,
    claims::{Binding, Claims, epoch_seconds},
    token::{Header, TOKEN_TYPE},
};

/// The longest assertion read: its claims are a principal with its tags, bounded like an
/// audit record's.
const MAX_TOKEN_BYTES: usize = 16 * 1024;

/// A public key that cannot verify assertions.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("key `{kid}` is not a P-256 public key (DER SubjectPublicKeyInfo): {reason}")]
pub struct KeyError {
    /// The key's id.
    pub kid: String,
    /// What the crypto library said.
    pub reason: String,
}

/// Why an assertion is refused. None of these lets the call go on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AssertionError {
    /// Not `header.claims.signature` of ours: wrong shape, not base64url, not our JSON.
    #[error("the caller assertion is malformed: {0}")]
    Malformed(String),
    /// Not an `ES256` assertion of our type.
    #[error("the caller assertion's header is not ours (`ES256`, type `{TOKEN_TYPE}`)")]
    Header,
    /// Signed by a key the tool does not trust.
    #[error("the caller assertion names key `{0}`, which this function does not trust")]
    UnknownKey(String),
    /// The signature does not verify.
    #[error(
        "the caller assertion's signature does not verify: it was not made by the interceptor's key"
    )]
    BadSignature,
    /// Issued by someone else, or in another version of the format.
    #[error("the caller assertion was not issued by the interceptor (`{ISSUER}`, version 1)")]
    Issuer,
    /// Expired.
    #[error("the caller assertion expired {0} s ago")]
    Expired(u64),
    /// Issued in the future.
    #[error("the caller assertion is issued {0} s in the future")]
    IssuedInFuture(u64),
    /// Lives longer than any assertion may.
    #[error("the caller assertion claims to live {0} s; at most {max} are accepted", max = MAX_LIFETIME.as_secs())]
    Lifetime(u64),
    /// Bound to another call: a claim differs from the call the tool received.
    #[error(
        "the caller assertion is for another call: its {what} is {bound}, this call's is {actual}"
    )]
    Rebound {
        /// Which binding (`gateway`, `tool`, `arguments`, `MCP request id`).
        what: &'static str,
        /// What the assertion is bound to, shown escaped.
        bound: String,
        /// What the call has, shown escaped.
        actual: String,
    },
}

/// A verified assertion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// The caller.
    pub principal: Principal,
    /// The assertion's unique id.
    pub jti: String,
    /// When it expires: how long [`Verified::once`] must be remembered.
    pub expires_at: SystemTime,
    /// What a tool accepts once: the call, not only the assertion. With an MCP request id it
    /// is the gateway, the caller and that id (a client resending the same request, or the
    /// interceptor asked to sign it again, is the same call); without one, the assertion's
    /// `jti`. A SHA-256 in hex, so no caller-chosen text reaches the key.
    pub once: String,
}

/// The public keys a tool trusts, by key id.
pub struct Verifier {
    keys: Vec<(String, ParsedPublicKey)>,
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verifier")
            .field(
                "keys",
                &self.keys.iter().map(|(k, _)| k).collect::<Vec<_>>(),
            )
            .finish()
    }
}

impl Verifier {
    /// A verifier trusting each `(key id, DER SubjectPublicKeyInfo)`.
    pub fn new<'a>(keys: impl IntoIterator<Item = (&'a str, &'a [u8])>) -> Result<Self, KeyError> {
        let keys = keys
            .into_iter()
            .map(|(kid, der)| {
                ParsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, der)
                    .map(|key| (kid.to_owned(), key))
                    .map_err(|e| KeyError {
                        kid: kid.to_owned(),
                        reason: e.to_string(),
                    })
            })
            .collect::<Result<_, _>>()?;
        Ok(Self { keys })
    }

    /// The caller `token` asserts, if it verifies and is bound to the call `binding`, at `now`.
    pub fn verify(
        &self,
        token: &str,
        binding: &Binding<'_>,
        now: SystemTime,
    ) -> Result<Verified, AssertionError> {
        if token.len() > MAX_TOKEN_BYTES {
            return Err(AssertionError::Malformed(format!(
                "{} bytes, at most {MAX_TOKEN_BYTES}",
                token.len()
            )));
        }
        let mut parts = token.split('.');
        let (Some(header), Some(claims), Some(signature), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(AssertionError::Malformed(
                "expected three `.`-separated parts".to_owned(),
            ));
        };
        let header: Header = decode(header, "header")?;
        if header.alg != "ES256" || header.typ != TOKEN_TYPE {
            return Err(AssertionError::Header);
        }
        let key = self
            .keys
            .iter()
            .find(|(kid, _)| *kid == header.kid)
            .map(|(_, key)| key)
            .ok_or_else(|| AssertionError::UnknownKey(header.kid.escape_debug().to_string()))?;
        let signature = URL_SAFE_NO_PAD
            .decode(signature)
            .map_err(|_| AssertionError::Malformed("the signature is not base64url".to_owned()))?;
        let signed = token.len() - token.rsplit('.').next().map_or(0, str::len) - 1;
        let signing_input = token.get(..signed).unwrap_or_default();
        key.verify_sig(signing_input.as_bytes(), &signature)
            .map_err(|_| AssertionError::BadSignature)?;
        let claims: Claims = decode(claims, "claims")?;
        check_time(&claims, now)?;
        check_binding(&claims, binding)?;
        let once = match &claims.mcp {
            Some(mcp) => arguments_digest(&serde_json::json!({
                "gw": claims.gw,
                "caller": claims.caller.uid_string(),
                "mcp": mcp,
            })),
            None => arguments_digest(&serde_json::json!({ "jti": claims.jti })),
        };
        Ok(Verified {
            principal: claims.caller,
            jti: claims.jti,
            expires_at: UNIX_EPOCH + Duration::from_secs(claims.exp),
            once,
        })
    }
}

fn decode<T: DeserializeOwned>(part: &str, what: &str) -> Result<T, AssertionError> {
    let bytes = URL_SAFE_NO_PAD
        .decode(part)
        .map_err(|_| AssertionError::Malformed(format!("its {what} is not base64url")))?;
    serde_json::from_slice(&bytes)
        // serde quotes what it could not read (an unknown field's name): the sender's text.
        .map_err(|e| {
            AssertionError::Malformed(format!(
                "its {what} is not ours: {}",
                e.to_string().escape_debug()
            ))
        })
}

fn check_time(claims: &Claims, now: SystemTime) -> Result<(), AssertionError> {
    if claims.v != 1 || claims.iss != ISSUER {
        return Err(AssertionError::Issuer);
    }
    let lifetime = claims.exp.saturating_sub(claims.iat);
    if claims.exp <= claims.iat || lifetime > MAX_LIFETIME.as_secs() {
        return Err(AssertionError::Lifetime(lifetime));
    }
    let now = epoch_seconds(now);
    let leeway = LEEWAY.as_secs();
    if claims.iat > now.saturating_add(leeway) {
        return Err(AssertionError::IssuedInFuture(claims.iat - now));
    }
    if now >= claims.exp.saturating_add(leeway) {
        return Err(AssertionError::Expired(now - claims.exp));
    }
    Ok(())
}

fn check_binding(claims: &Claims, binding: &Binding<'_>) -> Result<(), AssertionError> {
    let shown = |text: Option<&str>| {
        text.map_or_else(
            || "(none)".to_owned(),
            |t| format!("`{}`", t.escape_debug()),
        )
    };
    let rebound =
        |what: &'static str, bound: Option<&str>, actual: Option<&str>| AssertionError::Rebound {
            what,
            bound: shown(bound),
            actual: shown(actual),
        };
    if claims.gw != binding.gateway {
        return Err(rebound("gateway", Some(&claims.gw), Some(binding.gateway)));
    }
    if claims.tool != binding.tool {
        return Err(rebound("tool", Some(&claims.tool), Some(binding.tool)));
    }
    let digest = arguments_digest(binding.arguments);
    if claims.args != digest {
        return Err(rebound("arguments", Some(&claims.args), Some(&digest)));
    }
    if claims.mcp.as_deref() != binding.mcp_request {
        return Err(rebound(
            "MCP request id",
            claims.mcp.as_deref(),
            binding.mcp_request,
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests;
