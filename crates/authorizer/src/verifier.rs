//! JWT verification for the API Gateway forms, where nobody has checked the token before us.
//!
//! A token is accepted only when its signature verifies against a key of the configured JWKS
//! (chosen by the token's `kid`), with an asymmetric algorithm that key allows; its `iss` is the
//! configured issuer; it names a `sub`; it is for us — its `aud` is one of the configured
//! audiences and/or its `client_id` one of the configured clients (Cognito access tokens carry
//! `client_id`, not `aud`), every configured check passing; and it is valid now: `exp` is
//! required and must not be past, and an `nbf` (optional, as RFC 7519 has it) must not be in the
//! future, each with [`LEEWAY_SECONDS`] of clock skew. Symmetric (`oct`) keys are refused
//! outright: a shared secret in a public key set is a mistake, and accepting `HS256` with a
//! public key is the classic algorithm-confusion hole.

use std::str::FromStr;

use jsonwebtoken::{
    Algorithm, AlgorithmFamily, DecodingKey, Validation, decode, decode_header,
    errors::ErrorKind,
    jwk::{AlgorithmParameters, JwkSet, KeyAlgorithm, PublicKeyUse},
};

use crate::token::{Claims, Rejection, TokenError};

/// Clock skew allowed on `exp` and `nbf`, in seconds. One minute covers the drift of NTP-synced
/// clocks between the issuer and Lambda, and is the common default (jsonwebtoken's, Cognito's
/// guidance); a longer one would stretch every token's lifetime by as much.
pub const LEEWAY_SECONDS: u64 = 60;

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

/// Why a JSON Web Key Set cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JwksError {
    /// `JWT_JWKS_FILE` cannot be read.
    #[error("cannot read `{path}`: {reason}")]
    Unreadable {
        /// The configured path.
        path: String,
        /// The operating system's words.
        reason: String,
    },

    /// The key set is not JWKS JSON.
    #[error("not a JWK set: {0}")]
    NotAJwkSet(String),

    /// A symmetric key, which would let anyone who reads the key set sign tokens.
    #[error("{0} is a symmetric (`oct`) key; only public keys are accepted")]
    SymmetricKey(KeyName),

    /// A key the JWT library cannot use.
    #[error("{key} is not a usable public key: {reason}")]
    UnusableKey {
        /// The key.
        key: KeyName,
        /// The library's words.
        reason: String,
    },

    /// A key whose `alg` cannot sign JWTs.
    #[error("{key} names an algorithm that cannot sign JWTs here: `{algorithm}`")]
    UnsupportedAlgorithm {
        /// The key.
        key: KeyName,
        /// Its `alg`.
        algorithm: String,
    },

    /// A key whose algorithms include a symmetric one.
    #[error("{0} allows a symmetric algorithm; only public-key algorithms are accepted")]
    SymmetricAlgorithm(KeyName),

    /// No key of the set can verify signatures.
    #[error("it holds no signing keys")]
    NoSigningKeys,
}

/// A key of the set, as messages name it: by its `kid`, or as the key without one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyName(Option<String>);

impl std::fmt::Display for KeyName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.0 {
            Some(kid) => write!(f, "key `{kid}`"),
            None => f.write_str("a key without `kid`"),
        }
    }
}

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
    ) -> Result<Self, VerifierError> {
        let set: JwkSet =
            serde_json::from_str(jwks).map_err(|e| JwksError::NotAJwkSet(e.to_string()))?;
        let mut keys = Vec::with_capacity(set.keys.len());
        for jwk in &set.keys {
            let name = KeyName(jwk.common.key_id.clone());
            if jwk.common.public_key_use == Some(PublicKeyUse::Encryption) {
                continue;
            }
            if matches!(jwk.algorithm, AlgorithmParameters::OctetKey(_)) {
                return Err(JwksError::SymmetricKey(name).into());
            }
            let key = DecodingKey::from_jwk(jwk).map_err(|e| JwksError::UnusableKey {
                key: name.clone(),
                reason: e.to_string(),
            })?;
            let algorithms = match jwk.common.key_algorithm {
                Some(alg) => {
                    vec![
                        algorithm(alg).ok_or_else(|| JwksError::UnsupportedAlgorithm {
                            key: name.clone(),
                            algorithm: format!("{alg:?}"),
                        })?,
                    ]
                }
                None => key.family().algorithms().to_vec(),
            };
            if algorithms
                .iter()
                .any(|a| matches!(a.family(), AlgorithmFamily::Hmac))
            {
                return Err(JwksError::SymmetricAlgorithm(name).into());
            }
            keys.push(VerificationKey {
                kid: jwk.common.key_id.clone(),
                key,
                algorithms,
            });
        }
        if keys.is_empty() {
            return Err(JwksError::NoSigningKeys.into());
        }
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
        })
    }

    /// The token's claims, if it verifies; otherwise why not (never the token itself).
    pub fn verify(&self, token: &str) -> Result<Claims, TokenError> {
        let header = decode_header(token).map_err(|e| rejection(e.kind()))?;
        let key = match header.kid.as_deref() {
            Some(kid) => self
                .keys
                .iter()
                .find(|k| k.kid.as_deref() == Some(kid))
                .ok_or_else(|| Rejection::UnknownKey(kid.to_owned()))?,
            None => match self.keys.as_slice() {
                [only] => only,
                _ => return Err(Rejection::NoKeyId.into()),
            },
        };
        if !key.algorithms.contains(&header.alg) {
            return Err(Rejection::AlgorithmNotAllowed(format!("{:?}", header.alg)).into());
        }
        let mut validation = Validation::new(header.alg);
        validation.leeway = LEEWAY_SECONDS;
        validation.validate_exp = true;
        // jsonwebtoken leaves `nbf` unchecked unless asked: a token valid only from next year
        // must not pass today.
        validation.validate_nbf = true;
        validation.set_issuer(&[&self.issuer]);
        validation.set_required_spec_claims(&["exp", "iss", "sub"]);
        validation.validate_aud = !self.audiences.is_empty();
        if validation.validate_aud {
            validation.set_audience(&self.audiences);
            validation.required_spec_claims.insert("aud".to_owned());
        }
        let data =
            decode::<Claims>(token, &key.key, &validation).map_err(|e| rejection(e.kind()))?;
        let claims = data.claims;
        if !self.clients.is_empty() {
            let client = claims.get("client_id").and_then(|c| c.as_str());
            if !client.is_some_and(|c| self.clients.iter().any(|allowed| allowed == c)) {
                return Err(Rejection::WrongClient.into());
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

fn rejection(kind: &ErrorKind) -> Rejection {
    match kind {
        ErrorKind::InvalidToken
        | ErrorKind::Base64(_)
        | ErrorKind::Json(_)
        | ErrorKind::Utf8(_) => Rejection::Malformed,
        ErrorKind::InvalidSignature => Rejection::BadSignature,
        ErrorKind::ExpiredSignature => Rejection::Expired,
        ErrorKind::ImmatureSignature => Rejection::NotYetValid,
        ErrorKind::InvalidIssuer => Rejection::WrongIssuer,
        ErrorKind::InvalidAudience => Rejection::WrongAudience,
        ErrorKind::MissingRequiredClaim(claim) => Rejection::MissingClaim(claim.clone()),
        ErrorKind::InvalidClaimFormat(claim) => Rejection::MalformedClaim(claim.clone()),
        ErrorKind::InvalidAlgorithm | ErrorKind::InvalidAlgorithmName => {
            Rejection::AlgorithmMismatch
        }
        other => Rejection::Other(format!("{other:?}")),
    }
}
