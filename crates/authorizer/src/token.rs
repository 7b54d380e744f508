//! The caller: the bearer token on a request, its claims, and the Cedar principal they make.
//!
//! Claims become a principal the way AgentCore Policy maps them (documented since 2026-11):
//! `AgentCore::OAuthUser::"<sub>"`, with every claim a string tag
//! (`principal.getTag("scope")`). A claim that is not a JSON string becomes its JSON text —
//! `true` → `"true"`, `1767225600` → `"1767225600"`, `["admins","ops"]` → `"[\"admins\",\"ops\"]"`
//! — and a claim whose value is `null` makes **no** tag, so `principal.hasTag("x")` is false for
//! `"x": null` here as it is in AgentCore Policy.
//!
//! Where a token's claims come from depends on who checked its signature. Behind an AgentCore
//! Gateway that verified the JWT (`CUSTOM_JWT`, `AUTHENTICATE_ONLY`), [`unverified_claims`]
//! decodes it; wherever nobody has (an API Gateway authorizer, a gateway of type `NONE`) the
//! `verifier` module verifies it. Either way the token is decoded strictly and its claims
//! checked for shape ([`crate::jwt`]): a failed check is a [`Rejection`].

use std::collections::BTreeMap;

use guard::Principal;
use serde_json::{Map, Value};

pub use crate::rejection::{Claims, NotJwt, Part, Rejection};
use crate::{
    headers::{self, HeaderError},
    jwt::{ClaimRules, Expiry, Jwt, now},
};

/// Why no caller could be taken from a request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// The interceptor input carries no headers at all.
    #[error(
        "the request reached the authorizer without its headers: turn on `passRequestHeaders` \
         in the gateway's interceptor configuration so the bearer token comes with it"
    )]
    NoHeaders,

    /// No `Authorization` header.
    #[error("the request has no `Authorization` header: the caller cannot be identified")]
    NoAuthorization,

    /// An `Authorization` header that cannot be read as one value (repeated, or not text).
    #[error(transparent)]
    Header(#[from] HeaderError),

    /// An `Authorization` header that does not hold exactly one bearer token.
    #[error("the `Authorization` header is not `Bearer <token>`")]
    NotBearer,

    /// A bearer token that is not a JWT (never echoed: it may be a secret).
    #[error("the bearer token is not a JWT: {0}")]
    NotJwt(#[from] NotJwt),

    /// A JWT without a string `sub` claim.
    #[error("the token has no `sub` claim (a string): the caller cannot be identified")]
    NoSubject,

    /// A JWT that failed a check.
    #[error("the bearer token was refused: {0}")]
    Refused(#[from] Rejection),
}

/// The token of an `Authorization: Bearer <token>` header value (the scheme is
/// case-insensitive, as RFC 7235 has it).
///
/// The token must be one token68 word: a value holding whitespace or a comma after the scheme is
/// refused, since that is how two `Authorization` headers look once joined into one value.
pub fn bearer(authorization: Option<&str>) -> Result<&str, TokenError> {
    let value = authorization
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .ok_or(TokenError::NoAuthorization)?;
    let (scheme, token) = value.split_once(' ').ok_or(TokenError::NotBearer)?;
    let token = token.trim();
    if !scheme.eq_ignore_ascii_case("bearer")
        || token.is_empty()
        || token.contains(|c: char| c.is_whitespace() || c == ',')
    {
        return Err(TokenError::NotBearer);
    }
    Ok(token)
}

/// The bearer token of a JSON object of request headers: exactly one `Authorization` header
/// (any case) holding `Bearer <token>`.
pub fn bearer_in(headers: &Map<String, Value>) -> Result<&str, TokenError> {
    bearer(headers::single(headers, "Authorization")?)
}

/// Decodes a JWT's claims **without verifying its signature**, with the default
/// [`ClaimRules`], at the current time. See [`unverified_claims_with`].
pub fn unverified_claims(token: &str) -> Result<Claims, TokenError> {
    unverified_claims_with(token, &ClaimRules::default(), now())
}

/// Decodes a JWT's claims **without verifying its signature**, for tokens someone trusted has
/// already verified: behind an AgentCore Gateway with a `CUSTOM_JWT` authorizer (or
/// `AUTHENTICATE_ONLY` inbound authentication), the gateway validates signature, issuer,
/// audience and expiry before an interceptor is invoked. Never use it on a token nobody has
/// checked.
///
/// What a verifier elsewhere cannot be relied on to have refused is still checked, at `now`
/// (seconds since the epoch): a header or claim named twice, a `crit` header, a non-string
/// `iss`, a malformed or negative `exp`, an `iat` in the future, a lifetime over `rules`'
/// maximum, a Cognito token that is not an access token. Expiry itself is the gateway's:
/// it checked it when the request arrived.
pub fn unverified_claims_with(
    token: &str,
    rules: &ClaimRules,
    now: u64,
) -> Result<Claims, TokenError> {
    let jwt = Jwt::parse(token).map_err(|rejection| match rejection {
        Rejection::Malformed(not_jwt) => TokenError::NotJwt(not_jwt),
        other => TokenError::Refused(other),
    })?;
    rules.check(&jwt, now, Expiry::CheckedByGateway)?;
    Ok(jwt.claims)
}

/// The principal AgentCore Policy builds from these claims: `AgentCore::OAuthUser::"<sub>"`,
/// every claim (`sub` included) a string tag, except claims whose value is `null`.
pub fn principal(claims: &Claims) -> Result<Principal, TokenError> {
    let id = claims
        .get("sub")
        .and_then(Value::as_str)
        .filter(|sub| !sub.is_empty())
        .ok_or(TokenError::NoSubject)?;
    let tags: BTreeMap<String, String> = claims
        .iter()
        .filter_map(|(name, value)| {
            let text = match value {
                // AgentCore makes no tag of a null claim: `hasTag` must agree with it.
                Value::Null => return None,
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            Some((name.clone(), text))
        })
        .collect();
    Ok(Principal::OAuthUser {
        id: id.to_owned(),
        tags,
    })
}

#[cfg(test)]
mod tests;
