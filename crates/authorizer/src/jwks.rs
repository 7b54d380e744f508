//! The JSON Web Key Set tokens are verified against.
//!
//! An issuer's published set often holds keys this verifier has no use for: encryption keys
//! (`use: "enc"`), algorithms it does not implement (ES512, RSA-OAEP), key types it does not
//! know. Those keys are skipped, each with its reason, and the others used: one key it cannot
//! use must not take down verification with every other key. Two kinds of key are refused
//! outright, as a broken configuration: a symmetric (`oct`) key and a key allowing an HMAC
//! algorithm. A shared secret in a public key set is a leaked secret, and accepting `HS256` with
//! a public key is the classic algorithm-confusion hole.

use std::str::FromStr;

use jsonwebtoken::{
    Algorithm, AlgorithmFamily, DecodingKey,
    jwk::{AlgorithmParameters, EllipticCurve, Jwk, KeyAlgorithm},
};
use serde_json::Value;

use crate::shown::Shown;

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

    /// A key whose algorithm is a symmetric one.
    #[error("{0} allows a symmetric algorithm; only public-key algorithms are accepted")]
    SymmetricAlgorithm(KeyName),

    /// No key of the set can verify signatures.
    #[error("it holds no signing key this verifier can use{0}")]
    NoSigningKeys(SkippedKeys),
}

/// A key of the set, as messages name it: by its `kid`, or as the key without one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyName(pub Option<String>);

impl std::fmt::Display for KeyName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.0 {
            Some(kid) => write!(f, "key {}", Shown::text(kid)),
            None => f.write_str("a key without `kid`"),
        }
    }
}

/// A key of the set the verifier cannot use, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkippedKey {
    /// The key.
    pub key: KeyName,
    /// Why it is skipped.
    pub reason: String,
}

impl std::fmt::Display for SkippedKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} skipped: {}", self.key, self.reason)
    }
}

/// The keys skipped, as a message lists them (after a `: `, or nothing when there are none).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SkippedKeys(pub Vec<SkippedKey>);

impl std::fmt::Display for SkippedKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, skipped) in self.0.iter().enumerate() {
            f.write_str(if i == 0 { ": " } else { "; " })?;
            write!(f, "{skipped}")?;
        }
        Ok(())
    }
}

/// A key tokens may be verified with, and the algorithms it may be used with.
#[derive(Clone)]
pub struct VerificationKey {
    /// Its `kid`.
    pub kid: Option<String>,
    /// The key.
    pub key: DecodingKey,
    /// The algorithms a token verified with it may name.
    pub algorithms: Vec<Algorithm>,
}

/// The usable keys of a set and the ones skipped.
#[derive(Clone)]
pub struct KeySet {
    /// The keys tokens are verified with.
    pub keys: Vec<VerificationKey>,
    /// The keys left out, each with its reason.
    pub skipped: Vec<SkippedKey>,
}

impl KeySet {
    /// Reads a JWKS (`{"keys": [...]}`), keeping the keys this verifier can use.
    pub fn parse(jwks: &str) -> Result<Self, JwksError> {
        let set: Value =
            serde_json::from_str(jwks).map_err(|e| JwksError::NotAJwkSet(e.to_string()))?;
        let members = set.get("keys").and_then(Value::as_array).ok_or_else(|| {
            JwksError::NotAJwkSet("expected an object with a `keys` array".into())
        })?;
        let mut keys = Vec::new();
        let mut skipped = Vec::new();
        for member in members {
            let name = KeyName(member.get("kid").and_then(Value::as_str).map(str::to_owned));
            match usable(member, &name)? {
                Ok(key) => keys.push(key),
                Err(reason) => skipped.push(SkippedKey { key: name, reason }),
            }
        }
        if keys.is_empty() {
            return Err(JwksError::NoSigningKeys(SkippedKeys(skipped)));
        }
        Ok(Self { keys, skipped })
    }
}

/// One member of the set: a key to use, a reason to skip it, or an error that refuses the set.
fn usable(member: &Value, name: &KeyName) -> Result<Result<VerificationKey, String>, JwksError> {
    let text = |field: &str| member.get(field).and_then(Value::as_str);
    if text("kty") == Some("oct") {
        return Err(JwksError::SymmetricKey(name.clone()));
    }
    if text("alg").is_some_and(|alg| alg.starts_with("HS")) {
        return Err(JwksError::SymmetricAlgorithm(name.clone()));
    }
    match member.get("use") {
        None => {}
        Some(Value::String(use_)) if use_ == "sig" => {}
        Some(other) => return Ok(Err(format!("its `use` is {other}, not `\"sig\"`"))),
    }
    let jwk: Jwk = match serde_json::from_value(member.clone()) {
        Ok(jwk) => jwk,
        Err(e) => return Ok(Err(format!("not a key this verifier reads: {e}"))),
    };
    let algorithms = match algorithms(&jwk, text("alg")) {
        Ok(algorithms) => algorithms,
        Err(reason) => return Ok(Err(reason)),
    };
    if algorithms
        .iter()
        .any(|a| matches!(a.family(), AlgorithmFamily::Hmac))
    {
        return Err(JwksError::SymmetricAlgorithm(name.clone()));
    }
    Ok(match DecodingKey::from_jwk(&jwk) {
        Ok(key) => Ok(VerificationKey {
            kid: jwk.common.key_id.clone(),
            key,
            algorithms,
        }),
        Err(e) => Err(format!("not a usable public key: {e}")),
    })
}

/// The signing algorithms a key may verify: its `alg` (spelled `alg_name` in the set) when it
/// names one, else every algorithm of its type (an EC key: the one of its curve).
fn algorithms(jwk: &Jwk, alg_name: Option<&str>) -> Result<Vec<Algorithm>, String> {
    let family = match &jwk.algorithm {
        AlgorithmParameters::RSA(_) => AlgorithmFamily::Rsa,
        AlgorithmParameters::EllipticCurve(ec) => match ec.curve {
            EllipticCurve::P256 => return matching(jwk, alg_name, vec![Algorithm::ES256]),
            EllipticCurve::P384 => return matching(jwk, alg_name, vec![Algorithm::ES384]),
            ref other => return Err(format!("curve {other:?} cannot verify JWTs here")),
        },
        AlgorithmParameters::OctetKeyPair(_) => AlgorithmFamily::Ed,
        AlgorithmParameters::OctetKey(_) => AlgorithmFamily::Hmac,
        _ => return Err("its key type (`kty`) is not one this verifier knows".into()),
    };
    matching(jwk, alg_name, family.algorithms().to_vec())
}

/// `allowed`, narrowed to the key's own `alg` when it names one (which must be among them).
fn matching(
    jwk: &Jwk,
    alg_name: Option<&str>,
    allowed: Vec<Algorithm>,
) -> Result<Vec<Algorithm>, String> {
    let Some(named) = jwk.common.key_algorithm else {
        return Ok(allowed);
    };
    let name = Shown::of(alg_name);
    match algorithm(named) {
        Some(alg) if allowed.contains(&alg) => Ok(vec![alg]),
        Some(_) => Err(format!("its `alg` {name} does not fit its key type")),
        None => Err(format!("its `alg` {name} cannot verify JWTs here")),
    }
}

/// The signing algorithm a JWK's `alg` names, if it is one a JWT can be verified with here.
fn algorithm(alg: KeyAlgorithm) -> Option<Algorithm> {
    let name = serde_json::to_value(alg).ok()?;
    Algorithm::from_str(name.as_str()?).ok()
}
