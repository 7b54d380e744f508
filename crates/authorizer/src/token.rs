//! The caller: the bearer token on a request, its claims, and the Cedar principal they make.
//!
//! Claims become a principal the way AgentCore Policy maps them: `AgentCore::OAuthUser::"<sub>"`,
//! with every claim a string tag (`principal.getTag("scope")`). A claim that is not a JSON
//! string becomes its JSON text: `true`, `1767225600`, `["admins","ops"]`.
//!
//! Where a token's claims come from depends on who checked it. Behind an AgentCore Gateway the
//! gateway has already verified the JWT before any interceptor runs, so [`unverified_claims`]
//! only decodes it; an API Gateway authorizer is the first to see the token and verifies it with
//! [`crate::verifier::JwtVerifier`].

use std::collections::BTreeMap;

use base64::Engine as _;
use guard::Principal;
use serde_json::{Map, Value};

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

    /// An `Authorization` header that does not hold a bearer token.
    #[error("the `Authorization` header is not `Bearer <token>`")]
    NotBearer,

    /// A bearer token that is not a JWT (never echoed: it may be a secret).
    #[error("the bearer token is not a JWT: {0}")]
    NotJwt(String),

    /// A JWT without a string `sub` claim.
    #[error("the token has no `sub` claim (a string): the caller cannot be identified")]
    NoSubject,

    /// A JWT that failed verification.
    #[error("the bearer token was refused: {0}")]
    Refused(String),
}

/// The token of an `Authorization: Bearer <token>` header value (the scheme is
/// case-insensitive, as RFC 7235 has it).
pub fn bearer(authorization: Option<&str>) -> Result<&str, TokenError> {
    let value = authorization
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .ok_or(TokenError::NoAuthorization)?;
    let (scheme, token) = value.split_once(' ').ok_or(TokenError::NotBearer)?;
    let token = token.trim();
    if !scheme.eq_ignore_ascii_case("bearer") || token.is_empty() {
        return Err(TokenError::NotBearer);
    }
    Ok(token)
}

/// The value of header `name` in a JSON object of headers, matched case-insensitively (HTTP
/// header names are); `None` when absent or not a string.
pub fn header<'a>(headers: &'a Map<String, Value>, name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(key, _)| key.eq_ignore_ascii_case(name))
        .and_then(|(_, value)| value.as_str())
}

/// Decodes a JWT's claims **without verifying it**.
///
/// Only for tokens someone trusted has already verified: behind an AgentCore Gateway with a
/// `CUSTOM_JWT` authorizer, the gateway validates signature, issuer, audience and expiry before
/// an interceptor is invoked. Never use it on a token nobody has checked.
pub fn unverified_claims(token: &str) -> Result<Claims, TokenError> {
    let mut parts = token.split('.');
    let (Some(_header), Some(payload), Some(_signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(TokenError::NotJwt(
            "expected three `.`-separated parts".to_owned(),
        ));
    };
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .map_err(|e| TokenError::NotJwt(format!("its payload is not base64url: {e}")))?;
    match serde_json::from_slice(&bytes) {
        Ok(Value::Object(claims)) => Ok(claims),
        Ok(_) => Err(TokenError::NotJwt(
            "its payload is not a JSON object".to_owned(),
        )),
        Err(e) => Err(TokenError::NotJwt(format!("its payload is not JSON: {e}"))),
    }
}

/// The principal AgentCore Policy builds from these claims: `AgentCore::OAuthUser::"<sub>"`,
/// every claim (`sub` included) a string tag.
pub fn principal(claims: &Claims) -> Result<Principal, TokenError> {
    let id = claims
        .get("sub")
        .and_then(Value::as_str)
        .filter(|sub| !sub.is_empty())
        .ok_or(TokenError::NoSubject)?;
    let tags: BTreeMap<String, String> = claims
        .iter()
        .map(|(name, value)| {
            let text = match value {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            (name.clone(), text)
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
    fn headers_are_found_whatever_their_case() {
        let headers = json!({"authorization": "Bearer x", "Accept": "application/json"});
        let headers = headers.as_object().unwrap();
        assert_eq!(header(headers, "Authorization"), Some("Bearer x"));
        assert_eq!(header(headers, "accept"), Some("application/json"));
        assert_eq!(header(headers, "Mcp-Session-Id"), None);
    }

    #[test]
    fn claims_become_string_tags_and_sub_the_id() {
        let token = jwt(&json!({
            "sub": "agent-7", "scope": "devops", "exp": 1767225600,
            "cognito:groups": ["admins", "ops"], "email_verified": true
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
