//! JWT verification, wherever nobody has checked the token before us: the API Gateway forms, and
//! the interceptor behind a gateway of type `NONE` (or one configured to verify anyway).
//!
//! A token is accepted only when its signature verifies against a key of the configured JWKS
//! (chosen by the token's `kid`; see [`crate::jwks`] for the keys used), with an asymmetric
//! algorithm that key allows; its claims pass the [`ClaimRules`] every token must pass (no name
//! twice, no `crit`, one string `iss`, no `iat` in the future, a bounded lifetime, Cognito
//! access tokens only); it is valid now — `exp` is required and must not be past, and an `nbf`
//! (optional, as RFC 7519 has it) must not be in the future, each with [`LEEWAY_SECONDS`] of
//! clock skew; it names a `sub`; its `iss` is the configured issuer; and it is for us — its `aud`
//! is one of the configured audiences and/or its `client_id` one of the configured clients
//! (Cognito access tokens carry `client_id`, not `aud`), every configured check passing.

use std::str::FromStr;

use jsonwebtoken::{Algorithm, errors::ErrorKind};
use serde_json::Value;

pub use crate::jwks::{JwksError, KeyName, SkippedKey, SkippedKeys};
pub use crate::jwt::LEEWAY_SECONDS;
use crate::{
    jwks::{KeySet, VerificationKey},
    jwt::{ClaimRules, Expiry, Jwt, now},
    shown::Shown,
    token::{Claims, NotJwt, Part, Rejection, TokenError},
};

/// Why a verifier cannot be built from the configured key set, issuer and audiences.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifierError {
    /// The key set cannot be used.
    #[error("the JWKS (JWT_JWKS or JWT_JWKS_FILE) is invalid, so every request is denied: {0}")]
    Jwks(#[from] JwksError),

    /// No issuer: a token of any issuer would do.
    #[error("JWT_ISSUER is not set, so every request is denied")]
    NoIssuer,

    /// Neither an audience nor a client list: any token of the issuer would do.
    #[error(
        "set JWT_AUDIENCE (accepted `aud` values) or JWT_ALLOWED_CLIENTS (accepted `client_id` \
         values): without either, any token the issuer ever signed would be accepted, so every \
         request is denied"
    )]
    NoAudience,
}

/// Checks bearer tokens against a JWKS, an issuer and an audience. Built once per process.
#[derive(Clone)]
pub struct JwtVerifier {
    keys: KeySet,
    issuer: String,
    audiences: Vec<String>,
    clients: Vec<String>,
    rules: ClaimRules,
}

impl std::fmt::Debug for JwtVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kids: Vec<_> = self.keys.keys.iter().map(|k| k.kid.as_deref()).collect();
        f.debug_struct("JwtVerifier")
            .field("kids", &kids)
            .field("skipped", &self.keys.skipped)
            .field("issuer", &self.issuer)
            .field("audiences", &self.audiences)
            .field("clients", &self.clients)
            .field("rules", &self.rules)
            .finish()
    }
}

impl JwtVerifier {
    /// A verifier for tokens signed by a key of `jwks` (JWKS JSON text) and issued by `issuer`
    /// for one of `audiences` (`aud`) and/or `clients` (`client_id`); at least one of those two
    /// must be given. Claims are checked with the default [`ClaimRules`] until
    /// [`JwtVerifier::with_rules`] says otherwise.
    pub fn new(
        jwks: &str,
        issuer: &str,
        audiences: Vec<String>,
        clients: Vec<String>,
    ) -> Result<Self, VerifierError> {
        let keys = KeySet::parse(jwks)?;
        if issuer.trim().is_empty() {
            return Err(VerifierError::NoIssuer);
        }
        if audiences.is_empty() && clients.is_empty() {
            return Err(VerifierError::NoAudience);
        }
        Ok(Self {
            keys,
            issuer: issuer.trim().to_owned(),
            audiences,
            clients,
            rules: ClaimRules::default(),
        })
    }

    /// The same verifier, checking claims with `rules`.
    #[must_use]
    pub fn with_rules(mut self, rules: ClaimRules) -> Self {
        self.rules = rules;
        self
    }

    /// The keys of the set this verifier cannot use, each with its reason.
    pub fn skipped_keys(&self) -> &[SkippedKey] {
        &self.keys.skipped
    }

    /// The token's claims, if it verifies now; otherwise why not (never the token itself).
    pub fn verify(&self, token: &str) -> Result<Claims, TokenError> {
        self.verify_at(token, now())
    }

    /// The token's claims, if it verifies at `now` (seconds since the epoch).
    pub fn verify_at(&self, token: &str, now: u64) -> Result<Claims, TokenError> {
        let jwt = Jwt::parse(token)?;
        let (key, algorithm) = self.key_for(&jwt)?;
        // The signature first: nothing a token says is worth reading before it is known to be
        // the issuer's.
        match jsonwebtoken::crypto::verify(
            jwt.signature,
            jwt.signing_input.as_bytes(),
            &key.key,
            algorithm,
        ) {
            Ok(true) => {}
            Ok(false) => return Err(Rejection::BadSignature.into()),
            Err(e) if matches!(e.kind(), ErrorKind::Base64(_)) => {
                let reason = NotJwt::Base64(Part::Signature, e.to_string());
                return Err(Rejection::Malformed(reason).into());
            }
            Err(_) => return Err(Rejection::BadSignature.into()),
        }
        self.rules.check(&jwt, now, Expiry::Checked)?;
        let claims = jwt.claims;
        if !claims.contains_key("sub") {
            return Err(Rejection::MissingClaim("sub").into());
        }
        match claims.get("iss").and_then(Value::as_str) {
            None => return Err(Rejection::MissingClaim("iss").into()),
            Some(iss) if iss != self.issuer => return Err(Rejection::WrongIssuer.into()),
            Some(_) => {}
        }
        if !self.audiences.is_empty() {
            self.check_audience(&claims)?;
        }
        if !self.clients.is_empty() {
            let client = claims.get("client_id").and_then(Value::as_str);
            if !client.is_some_and(|c| self.clients.iter().any(|allowed| allowed == c)) {
                return Err(Rejection::WrongClient.into());
            }
        }
        Ok(claims)
    }

    /// The key the token names (`kid`) and the algorithm it names (`alg`), which that key must
    /// allow: never an algorithm the token picks for a key that was not made for it.
    fn key_for(&self, jwt: &Jwt<'_>) -> Result<(&VerificationKey, Algorithm), Rejection> {
        let alg = jwt
            .header_text("alg")?
            .ok_or(Rejection::Malformed(NotJwt::HeaderField("alg")))?;
        let key = match jwt.header_text("kid")? {
            Some(kid) => self
                .keys
                .keys
                .iter()
                .find(|k| k.kid.as_deref() == Some(kid))
                .ok_or_else(|| Rejection::UnknownKey(Shown::text(kid)))?,
            None => match self.keys.keys.as_slice() {
                [only] => only,
                _ => return Err(Rejection::NoKeyId),
            },
        };
        match Algorithm::from_str(alg) {
            Ok(algorithm) if key.algorithms.contains(&algorithm) => Ok((key, algorithm)),
            _ => Err(Rejection::AlgorithmNotAllowed(Shown::text(alg))),
        }
    }

    /// `aud` (a string, or a list of strings) names one of the configured audiences.
    fn check_audience(&self, claims: &Claims) -> Result<(), Rejection> {
        let ours = |aud: &str| self.audiences.iter().any(|a| a == aud);
        let matches = match claims.get("aud") {
            None => return Err(Rejection::MissingClaim("aud")),
            Some(Value::String(aud)) => ours(aud),
            Some(Value::Array(auds)) => {
                let mut any = false;
                for aud in auds {
                    let aud = aud.as_str().ok_or(Rejection::MalformedClaim("aud"))?;
                    any |= ours(aud);
                }
                any
            }
            Some(_) => return Err(Rejection::MalformedClaim("aud")),
        };
        if matches {
            Ok(())
        } else {
            Err(Rejection::WrongAudience)
        }
    }
}

#[cfg(test)]
mod tests;
