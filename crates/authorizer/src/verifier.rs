//! JWT verification for the API Gateway forms, where nobody has checked the token before us.
//!
//! A token is accepted only when its signature verifies against a key of the configured JWKS
//! (chosen by the token's `kid`), with an asymmetric algorithm that key allows; its `iss` is the
//! configured issuer; it has not expired (`exp` is required; 60 seconds of clock skew allowed);
//! it names a `sub`; and it is for us — its `aud` is one of the configured audiences and/or its
//! `client_id` one of the configured clients (Cognito access tokens carry `client_id`, not
//! `aud`), every configured check passing. Symmetric (`oct`) keys are refused outright: a
//! shared secret in a public key set is a mistake, and accepting `HS256` with a public key is the
//! classic algorithm-confusion hole.

use std::str::FromStr;

use jsonwebtoken::{
    Algorithm, AlgorithmFamily, DecodingKey, Validation, decode, decode_header,
    errors::ErrorKind,
    jwk::{AlgorithmParameters, JwkSet, KeyAlgorithm, PublicKeyUse},
};

use crate::{
    config::ConfigError,
    token::{Claims, TokenError},
};

/// Clock skew allowed on `exp`, seconds.
const LEEWAY_SECONDS: u64 = 60;

/// Checks bearer tokens against a JWKS, an issuer and an audience. Built once per process.
#[derive(Clone)]
pub struct JwtVerifier {
    keys: Vec<VerificationKey>,
    issuer: String,
    audiences: Vec<String>,
    clients: Vec<String>,
}

#[derive(Clone)]
struct VerificationKey {
    kid: Option<String>,
    key: DecodingKey,
    algorithms: Vec<Algorithm>,
}

impl std::fmt::Debug for JwtVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwtVerifier")
            .field(
                "kids",
                &self
                    .keys
                    .iter()
                    .map(|k| k.kid.as_deref())
                    .collect::<Vec<_>>(),
            )
            .field("issuer", &self.issuer)
            .field("audiences", &self.audiences)
            .field("clients", &self.clients)
            .finish()
    }
}

impl JwtVerifier {
    /// A verifier for tokens signed by a key of `jwks` (JWKS JSON text) and issued by `issuer`
    /// for one of `audiences` (`aud`) and/or `clients` (`client_id`); at least one of those two
    /// must be given.
    pub fn new(
        jwks: &str,
        issuer: &str,
        audiences: Vec<String>,
        clients: Vec<String>,
    ) -> Result<Self, ConfigError> {
        let invalid = |message: String| ConfigError::Jwks(message);
        let set: JwkSet =
            serde_json::from_str(jwks).map_err(|e| invalid(format!("not a JWK set: {e}")))?;
        let mut keys = Vec::with_capacity(set.keys.len());
        for jwk in &set.keys {
            let name = jwk.common.key_id.as_deref().map_or_else(
                || "a key without `kid`".to_owned(),
                |k| format!("key `{k}`"),
            );
            if jwk.common.public_key_use == Some(PublicKeyUse::Encryption) {
                continue;
            }
            if matches!(jwk.algorithm, AlgorithmParameters::OctetKey(_)) {
                return Err(invalid(format!(
                    "{name} is a symmetric (`oct`) key; only public keys are accepted"
                )));
            }
            let key = DecodingKey::from_jwk(jwk)
                .map_err(|e| invalid(format!("{name} is not a usable public key: {e}")))?;
            let algorithms = match jwk.common.key_algorithm {
                Some(alg) => vec![algorithm(alg).ok_or_else(|| {
                    invalid(format!(
                        "{name} names an algorithm that cannot sign JWTs here: `{alg:?}`"
                    ))
                })?],
                None => key.family().algorithms().to_vec(),
            };
            if algorithms
                .iter()
                .any(|a| matches!(a.family(), AlgorithmFamily::Hmac))
            {
                return Err(invalid(format!(
                    "{name} allows a symmetric algorithm; only public-key algorithms are accepted"
                )));
            }
            keys.push(VerificationKey {
                kid: jwk.common.key_id.clone(),
                key,
                algorithms,
            });
        }
        if keys.is_empty() {
            return Err(invalid("it holds no signing keys".to_owned()));
        }
        if issuer.trim().is_empty() {
            return Err(ConfigError::Missing("JWT_ISSUER"));
        }
        if audiences.is_empty() && clients.is_empty() {
            return Err(ConfigError::NoAudience);
        }
        Ok(Self {
            keys,
            issuer: issuer.trim().to_owned(),
            audiences,
            clients,
        })
    }

    /// The token's claims, if it verifies; otherwise why not (never the token itself).
    pub fn verify(&self, token: &str) -> Result<Claims, TokenError> {
        let refused = |m: String| TokenError::Refused(m);
        let header = decode_header(token).map_err(|e| refused(describe(e.kind())))?;
        let key = match header.kid.as_deref() {
            Some(kid) => self
                .keys
                .iter()
                .find(|k| k.kid.as_deref() == Some(kid))
                .ok_or_else(|| refused(format!("no key `{kid}` in the configured JWKS")))?,
            None => match self.keys.as_slice() {
                [only] => only,
                _ => {
                    return Err(refused(
                        "the token names no key (`kid`) and the JWKS holds several".to_owned(),
                    ));
                }
            },
        };
        if !key.algorithms.contains(&header.alg) {
            return Err(refused(format!(
                "algorithm `{:?}` is not allowed for this key",
                header.alg
            )));
        }
        let mut validation = Validation::new(header.alg);
        validation.leeway = LEEWAY_SECONDS;
        validation.set_issuer(&[&self.issuer]);
        validation.set_required_spec_claims(&["exp", "iss", "sub"]);
        validation.validate_aud = !self.audiences.is_empty();
        if validation.validate_aud {
            validation.set_audience(&self.audiences);
            validation.required_spec_claims.insert("aud".to_owned());
        }
        let data = decode::<Claims>(token, &key.key, &validation)
            .map_err(|e| refused(describe(e.kind())))?;
        let claims = data.claims;
        if !self.clients.is_empty() {
            let client = claims.get("client_id").and_then(|c| c.as_str());
            if !client.is_some_and(|c| self.clients.iter().any(|allowed| allowed == c)) {
                return Err(refused(
                    "its `client_id` is not one of JWT_ALLOWED_CLIENTS".to_owned(),
                ));
            }
        }
        Ok(claims)
    }
}

/// The signing algorithm a JWK's `alg` names, if it is one a JWT can be signed with.
fn algorithm(alg: KeyAlgorithm) -> Option<Algorithm> {
    let name = serde_json::to_value(alg).ok()?;
    Algorithm::from_str(name.as_str()?).ok()
}

fn describe(kind: &ErrorKind) -> String {
    match kind {
        ErrorKind::InvalidToken
        | ErrorKind::Base64(_)
        | ErrorKind::Json(_)
        | ErrorKind::Utf8(_) => "it is not a well-formed JWT".to_owned(),
        ErrorKind::InvalidSignature => "its signature does not verify".to_owned(),
        ErrorKind::ExpiredSignature => "it has expired".to_owned(),
        ErrorKind::ImmatureSignature => "it is not valid yet (`nbf`)".to_owned(),
        ErrorKind::InvalidIssuer => "its `iss` is not the configured JWT_ISSUER".to_owned(),
        ErrorKind::InvalidAudience => "its `aud` is not one of JWT_AUDIENCE".to_owned(),
        ErrorKind::MissingRequiredClaim(claim) => format!("it has no `{claim}` claim"),
        ErrorKind::InvalidClaimFormat(claim) => format!("its `{claim}` claim is malformed"),
        ErrorKind::InvalidAlgorithm | ErrorKind::InvalidAlgorithmName => {
            "its algorithm does not match the key".to_owned()
        }
        other => format!("{other:?}"),
    }
}
