//! What a JWT is made of and why one is refused: shared by the strict decoding and checks
//! ([`crate::jwt`]) and the caller taken from a token ([`crate::token`]), so that neither needs
//! the other's types.

use std::time::Duration;

use serde_json::{Map, Value};

use crate::shown::Shown;

/// The claims of a JWT, as a JSON object.
pub type Claims = Map<String, Value>;

/// A part of a JWT.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    /// The JOSE header.
    Header,
    /// The claims.
    Payload,
    /// The signature.
    Signature,
}

impl std::fmt::Display for Part {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Header => "header",
            Self::Payload => "payload",
            Self::Signature => "signature",
        })
    }
}

/// Why a bearer token is not a JWT.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NotJwt {
    /// Not `header.payload.signature`.
    #[error("expected three `.`-separated parts")]
    Parts,

    /// A part is not base64url.
    #[error("its {0} is not base64url: {1}")]
    Base64(Part, String),

    /// A part is not JSON.
    #[error("its {0} is not JSON: {1}")]
    Json(Part, String),

    /// A part is JSON but not an object.
    #[error("its {0} is not a JSON object")]
    NotObject(Part),

    /// A header member the verifier needs is not a string (`alg`, `kid`).
    #[error("its header's `{0}` is missing or not a string")]
    HeaderField(&'static str),
}

/// Why a JWT was refused: a failed verification, or claims of a shape no issuer should sign.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    /// Not a well-formed JWT.
    #[error("it is not a well-formed JWT: {0}")]
    Malformed(NotJwt),
    /// The header or the claims name a member twice: JSON parsers disagree on which one counts
    /// (serde keeps the last, others the first), so the token means different things to
    /// different readers.
    #[error("its {part} names {name} more than once, so which value counts is ambiguous")]
    Duplicate {
        /// The header or the payload.
        part: Part,
        /// The repeated name.
        name: Shown,
    },
    /// The header lists extensions that must be understood (RFC 7515 §4.1.11): this verifier
    /// understands none, so the token must be rejected.
    #[error(
        "its header marks {0} as critical (`crit`), an extension this verifier does not \
         understand (RFC 7515 §4.1.11)"
    )]
    CriticalExtension(Shown),
    /// The signature does not verify with the key the token names.
    #[error("its signature does not verify")]
    BadSignature,
    /// `exp` is past (beyond the clock-skew leeway).
    #[error("it has expired")]
    Expired,
    /// `exp` is negative: a time before 1970, so the token expired before it could be issued.
    #[error("it has expired: its `exp` {0} is negative, a time before 1970")]
    NegativeExpiry(i64),
    /// `nbf` is in the future (beyond the clock-skew leeway).
    #[error("it is not valid yet (`nbf`)")]
    NotYetValid,
    /// `iat` is in the future (beyond the clock-skew leeway): no issuer signs a token later than
    /// now.
    #[error("it was issued in the future (`iat` is {0} s ahead of this clock)")]
    IssuedInFuture(i64),
    /// `exp` is further from `iat` (or from now, without `iat`) than JWT_MAX_LIFETIME allows.
    #[error(
        "its lifetime of {} is longer than JWT_MAX_LIFETIME ({}) allows",
        humantime::format_duration(*.lifetime),
        humantime::format_duration(*.max)
    )]
    LifetimeTooLong {
        /// From `iat` (or now) to `exp`.
        lifetime: Duration,
        /// The configured maximum.
        max: Duration,
    },
    /// `iss` is an array or another non-string: one issuer must have signed it.
    #[error("its `iss` claim is not a string (a list of issuers is not accepted)")]
    IssuerNotString,
    /// `iss` is not the configured issuer.
    #[error("its `iss` is not the configured JWT_ISSUER")]
    WrongIssuer,
    /// A Cognito token that is not an access token (an ID token, say).
    #[error(
        "it is an Amazon Cognito token whose `token_use` is {0}: only access tokens are accepted"
    )]
    NotAccessToken(Shown),
    /// `aud` is not a configured audience.
    #[error("its `aud` is not one of JWT_AUDIENCE")]
    WrongAudience,
    /// `client_id` is not a configured client.
    #[error("its `client_id` is not one of JWT_ALLOWED_CLIENTS")]
    WrongClient,
    /// A required claim is absent.
    #[error("it has no `{0}` claim")]
    MissingClaim(&'static str),
    /// A claim has the wrong type (`exp` as text, say).
    #[error("its `{0}` claim is malformed")]
    MalformedClaim(&'static str),
    /// The header's `alg` is not one the key allows.
    #[error("algorithm {0} is not allowed for this key")]
    AlgorithmNotAllowed(Shown),
    /// The header's `kid` names no configured key.
    #[error("no key {0} in the configured JWKS")]
    UnknownKey(Shown),
    /// No `kid`, and more than one key could be meant.
    #[error("the token names no key (`kid`) and the JWKS holds several")]
    NoKeyId,
}
