//! The caller: the bearer token on a request, its claims, and the Cedar principal they make.
//!
//! Claims become a principal the way AgentCore Policy maps them (documented since 2026-11):
//! `AgentCore::OAuthUser::"<sub>"`, with every claim a string tag
//! (`principal.getTag("scope")`). A claim that is not a JSON string becomes its JSON text —
//! `true` → `"true"`, `1767225600` → `"1767225600"`, `["admins","ops"]` → `"[\"admins\",\"ops\"]"`
//! — and a claim whose value is `null` makes **no** tag, so `principal.hasTag("x")` is false for
//! `"x": null` here as it is in AgentCore Policy.
//!
//! Where a token's claims come from depends on who checked it. Behind an AgentCore Gateway the
//! gateway has already verified the JWT before any interceptor runs, so [`unverified_claims`]
//! only decodes it; an API Gateway authorizer is the first to see the token and verifies it
//! itself (the `verifier` module), reporting a failed check as a [`Rejection`].

use std::collections::BTreeMap;

use base64::Engine as _;
use guard::Principal;
use serde_json::{Map, Value};

use crate::headers::{self, HeaderError};

/// The claims of a JWT, as a JSON object.
pub type Claims = Map<String, Value>;

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

    /// A JWT that failed verification.
    #[error("the bearer token was refused: {0}")]
    Refused(#[from] Rejection),
}

/// Why a bearer token is not a JWT.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NotJwt {
    /// Not `header.payload.signature`.
    #[error("expected three `.`-separated parts")]
    Parts,

    /// The payload is not base64url.
    #[error("its payload is not base64url: {0}")]
    Base64(String),

    /// The payload is not JSON.
    #[error("its payload is not JSON: {0}")]
    Json(String),

    /// The payload is JSON but not an object of claims.
    #[error("its payload is not a JSON object")]
    NotObject,
}

/// Why a JWT failed verification (the API Gateway forms, which verify tokens themselves).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    /// Not a well-formed JWT.
    #[error("it is not a well-formed JWT")]
    Malformed,
    /// The signature does not verify with the key the token names.
    #[error("its signature does not verify")]
    BadSignature,
    /// `exp` is past (beyond the clock-skew leeway).
    #[error("it has expired")]
    Expired,
    /// `nbf` is in the future (beyond the clock-skew leeway).
    #[error("it is not valid yet (`nbf`)")]
    NotYetValid,
    /// `iss` is not the configured issuer.
    #[error("its `iss` is not the configured JWT_ISSUER")]
    WrongIssuer,
    /// `aud` is not a configured audience.
    #[error("its `aud` is not one of JWT_AUDIENCE")]
    WrongAudience,
    /// `client_id` is not a configured client.
    #[error("its `client_id` is not one of JWT_ALLOWED_CLIENTS")]
    WrongClient,
    /// A required claim is absent.
    #[error("it has no `{0}` claim")]
    MissingClaim(String),
    /// A claim has the wrong type (`exp` as text, say).
    #[error("its `{0}` claim is malformed")]
    MalformedClaim(String),
    /// The header's `alg` does not match the key.
    #[error("its algorithm does not match the key")]
    AlgorithmMismatch,
    /// The header's `alg` is not one the key allows.
    #[error("algorithm `{0}` is not allowed for this key")]
    AlgorithmNotAllowed(String),
    /// The header's `kid` names no configured key.
    #[error("no key `{0}` in the configured JWKS")]
    UnknownKey(String),
    /// No `kid`, and more than one key could be meant.
    #[error("the token names no key (`kid`) and the JWKS holds several")]
    NoKeyId,
    /// A verification failure the JWT library reports in its own words.
    #[error("it does not verify: {0}")]
    Other(String),
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

/// Decodes a JWT's claims **without verifying it**.
///
/// Only for tokens someone trusted has already verified: behind an AgentCore Gateway with a
/// `CUSTOM_JWT` authorizer (or `AUTHENTICATE_ONLY` inbound authentication), the gateway
/// validates signature, issuer, audience and expiry before an interceptor is invoked. Never use
/// it on a token nobody has checked.
pub fn unverified_claims(token: &str) -> Result<Claims, TokenError> {
    let mut parts = token.split('.');
    let (Some(_header), Some(payload), Some(_signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(NotJwt::Parts.into());
    };
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .map_err(|e| NotJwt::Base64(e.to_string()))?;
    match serde_json::from_slice(&bytes) {
        Ok(Value::Object(claims)) => Ok(claims),
        Ok(_) => Err(NotJwt::NotObject.into()),
        Err(e) => Err(NotJwt::Json(e.to_string()).into()),
    }
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
mod tests {
    use super::*;
    use serde_json::json;

    fn jwt(claims: &Value) -> String {
        let b64 =
            |v: &Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
        format!("{}.{}.sig", b64(&json!({"alg": "RS256"})), b64(claims))
    }

    #[test]
    fn bearer_takes_the_token_and_ignores_the_scheme_case() {
        assert_eq!(bearer(Some("Bearer abc")), Ok("abc"));
        assert_eq!(bearer(Some("bearer  abc ")), Ok("abc"));
        assert_eq!(bearer(None), Err(TokenError::NoAuthorization));
        assert_eq!(bearer(Some(" ")), Err(TokenError::NoAuthorization));
        assert_eq!(bearer(Some("Basic abc")), Err(TokenError::NotBearer));
        assert_eq!(bearer(Some("Bearer")), Err(TokenError::NotBearer));
        assert_eq!(bearer(Some("Bearer ")), Err(TokenError::NotBearer));
    }

    #[test]
    fn the_bearer_token_is_found_whatever_the_header_case() {
        let headers = json!({"authorization": "Bearer x", "Accept": "application/json"});
        assert_eq!(bearer_in(headers.as_object().unwrap()), Ok("x"));
    }

    #[test]
    fn two_authorization_headers_identify_nobody() {
        for headers in [
            json!({"Authorization": "Bearer a.b.c", "authorization": "Bearer a.b.c"}),
            json!({"Authorization": "Bearer a.b.c", "AUTHORIZATION": "Bearer d.e.f"}),
            json!({"Authorization": ["Bearer a.b.c", "Bearer d.e.f"]}),
        ] {
            let err = bearer_in(headers.as_object().unwrap()).unwrap_err();
            assert!(matches!(err, TokenError::Header(_)), "{headers}: {err}");
            assert!(err.to_string().contains("more than once"), "{err}");
        }
        // Two headers joined into one value, as HTTP allows a proxy to do.
        let joined = json!({"Authorization": "Bearer a.b.c, Bearer d.e.f"});
        assert_eq!(
            bearer_in(joined.as_object().unwrap()),
            Err(TokenError::NotBearer)
        );
    }

    #[test]
    fn a_null_claim_makes_no_tag() {
        let token = jwt(&json!({"sub": "agent-7", "scope": null, "team": "ops"}));
        let claims = unverified_claims(&token).unwrap();
        let Principal::OAuthUser { tags, .. } = principal(&claims).unwrap() else {
            panic!("not an OAuth user");
        };
        assert!(!tags.contains_key("scope"), "{tags:?}");
        assert_eq!(tags.len(), 2, "{tags:?}");
    }

    #[test]
    fn claims_become_string_tags_and_sub_the_id() {
        let token = jwt(&json!({
            "sub": "agent-7", "scope": "devops", "exp": 1767225600,
            "cognito:groups": ["admins", "ops"], "email_verified": true,
            "address": {"country": "NL"}, "ratio": 0.5
        }));
        let claims = unverified_claims(&token).unwrap();
        let Principal::OAuthUser { id, tags } = principal(&claims).unwrap() else {
            panic!("not an OAuth user");
        };
        assert_eq!(id, "agent-7");
        assert_eq!(tags["scope"], "devops");
        assert_eq!(tags["sub"], "agent-7");
        assert_eq!(tags["exp"], "1767225600");
        assert_eq!(tags["cognito:groups"], r#"["admins","ops"]"#);
        assert_eq!(tags["email_verified"], "true");
        assert_eq!(tags["address"], r#"{"country":"NL"}"#);
        assert_eq!(tags["ratio"], "0.5");
    }

    #[test]
    fn tokens_that_are_not_jwts_are_refused_with_a_reason() {
        for (token, reason) in [
            ("abc", "three"),
            ("a.b.c.d", "three"),
            ("a.!!!.c", "base64url"),
            ("a.bm90IGpzb24.c", "not JSON"),
            ("a.WzFd.c", "not a JSON object"),
        ] {
            let err = unverified_claims(token).unwrap_err();
            assert!(err.to_string().contains(reason), "{token}: {err}");
        }
    }

    #[test]
    fn a_token_without_a_subject_identifies_nobody() {
        let claims = unverified_claims(&jwt(&json!({"scope": "devops"}))).unwrap();
        assert_eq!(principal(&claims), Err(TokenError::NoSubject));
        let claims = unverified_claims(&jwt(&json!({"sub": 7}))).unwrap();
        assert_eq!(principal(&claims), Err(TokenError::NoSubject));
    }
}
