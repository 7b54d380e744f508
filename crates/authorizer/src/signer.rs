//! Who signs the caller assertions the interceptor attaches ([`crate::interceptor`]): a KMS
//! asymmetric key in a deployment ([`KmsSigner`]), a key in memory in tests and local runs
//! ([`LocalSigner`]), and the settings that say which (`CALLER_SIGNING_KEY`,
//! `CALLER_ASSERTION_LIFETIME`).
//!
//! The agent never holds the key: only this function's role may call `kms:Sign` on it, and
//! the tools verify with its public half (`GetPublicKey`), configured with the same key id.

use std::time::Duration;

use aws_config::{BehaviorVersion, timeout::TimeoutConfig};
use aws_lc_rs::digest::{SHA256, digest};
use aws_sdk_kms::{
    Client,
    error::DisplayErrorContext,
    primitives::Blob,
    types::{MessageType, SigningAlgorithmSpec},
};
pub use caller::{LocalSigner, SignError, Signer};

/// The longest message KMS signs as it is (`MessageType::Raw`); a longer one is signed by its
/// SHA-256 digest (`MessageType::Digest`), which gives the same `ECDSA_SHA_256` signature.
pub const KMS_RAW_LIMIT: usize = 4096;

/// How long one KMS attempt may take before it is retried.
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(5);

/// How long signing may take in all, retries included: the interceptor answers the gateway
/// well within its own Lambda timeout, and a call it cannot vouch for is refused.
pub const OPERATION_TIMEOUT: Duration = Duration::from_secs(12);

/// How the interceptor signs caller assertions, as configured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssertionSettings {
    /// `CALLER_SIGNING_KEY`: the KMS key id or ARN, exactly as the tools are configured with
    /// it (it is the assertion's `kid`).
    pub key_id: String,
    /// `CALLER_ASSERTION_LIFETIME` (default [`caller::DEFAULT_LIFETIME`]).
    pub lifetime: Duration,
}

/// `CALLER_ASSERTION_LIFETIME` is not a lifetime an assertion may have (a setting problem of
/// the interceptor: `config::ConfigError::AssertionLifetime`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "CALLER_ASSERTION_LIFETIME `{}` is not a caller assertion lifetime ({reason}), so every tool \
     call is refused",
    .value.escape_debug()
)]
pub struct LifetimeError {
    /// The setting as given.
    pub value: String,
    /// What is wrong with it.
    pub reason: String,
}

impl AssertionSettings {
    /// Reads `CALLER_SIGNING_KEY` and `CALLER_ASSERTION_LIFETIME` through `lookup`. No key:
    /// no assertions (`Ok(None)`). A lifetime that is not a duration, zero, or over
    /// [`caller::MAX_LIFETIME`] is an error, whatever the key.
    pub fn read(lookup: impl Fn(&str) -> Option<String>) -> Result<Option<Self>, LifetimeError> {
        let set = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        let lifetime = match set("CALLER_ASSERTION_LIFETIME") {
            None => caller::DEFAULT_LIFETIME,
            Some(value) => parse_lifetime(&value)?,
        };
        Ok(set(caller::SIGNING_KEY_VAR).map(|key_id| Self {
            key_id: key_id.trim().to_owned(),
            lifetime,
        }))
    }
}

fn parse_lifetime(value: &str) -> Result<Duration, LifetimeError> {
    let error = |reason: String| LifetimeError {
        value: value.to_owned(),
        reason,
    };
    let lifetime = humantime::parse_duration(value.trim()).map_err(|e| error(e.to_string()))?;
    if lifetime < Duration::from_secs(1) || lifetime > caller::MAX_LIFETIME {
        return Err(error(format!(
            "a caller assertion lives 1 s to {} s",
            caller::MAX_LIFETIME.as_secs()
        )));
    }
    Ok(lifetime)
}

/// A KMS asymmetric key (`ECC_NIST_P256`, usage `SIGN_VERIFY`) signing `ES256` assertions.
#[derive(Debug, Clone)]
pub struct KmsSigner {
    client: Client,
    key_id: String,
}

impl KmsSigner {
    /// Signs with key `key_id` (id, ARN or alias, exactly as the tools name it) through
    /// `client`.
    pub fn new(client: Client, key_id: impl Into<String>) -> Self {
        Self {
            client,
            key_id: key_id.into(),
        }
    }

    /// A signer for `key_id` with a KMS client from the standard SDK configuration (region,
    /// credentials, `AWS_ENDPOINT_URL`) and this module's timeouts.
    pub async fn from_env(key_id: impl Into<String>) -> Self {
        let config = aws_config::defaults(BehaviorVersion::latest())
            .timeout_config(
                TimeoutConfig::builder()
                    .operation_attempt_timeout(ATTEMPT_TIMEOUT)
                    .operation_timeout(OPERATION_TIMEOUT)
                    .build(),
            )
            .load()
            .await;
        Self::new(Client::new(&config), key_id)
    }
}

/// What KMS is asked to sign for `message`: the message itself up to [`KMS_RAW_LIMIT`]
/// bytes, its SHA-256 digest beyond (KMS refuses longer raw messages; a principal with many
/// claims makes a long assertion).
pub fn kms_message(message: &[u8]) -> (Vec<u8>, MessageType) {
    if message.len() <= KMS_RAW_LIMIT {
        (message.to_vec(), MessageType::Raw)
    } else {
        (
            digest(&SHA256, message).as_ref().to_vec(),
            MessageType::Digest,
        )
    }
}

impl Signer for KmsSigner {
    fn key_id(&self) -> &str {
        &self.key_id
    }

    async fn sign(&self, message: &[u8]) -> Result<Vec<u8>, SignError> {
        let (message, message_type) = kms_message(message);
        let output = self
            .client
            .sign()
            .key_id(&self.key_id)
            .message(Blob::new(message))
            .message_type(message_type)
            .signing_algorithm(SigningAlgorithmSpec::EcdsaSha256)
            .send()
            .await
            .map_err(|e| {
                SignError(format!(
                    "KMS could not sign with key `{}`: {}",
                    self.key_id.escape_debug(),
                    DisplayErrorContext(e)
                ))
            })?;
        let der = output
            .signature()
            .ok_or_else(|| SignError("KMS returned no signature".to_owned()))?;
        caller::ecdsa_der_to_fixed(der.as_ref())
            .map(|fixed| fixed.to_vec())
            .ok_or_else(|| {
                SignError(format!(
                    "KMS key `{}` returned a signature that is not a P-256 ECDSA signature \
                     (is it an ECC_NIST_P256 key?)",
                    self.key_id.escape_debug()
                ))
            })
    }
}

/// The signer the interceptor uses: one of the two kinds, so the authorizer is not generic.
#[derive(Debug)]
pub enum CallerSigner {
    /// A KMS key (deployments).
    Kms(KmsSigner),
    /// A key in memory (tests, local runs).
    Local(LocalSigner),
}

impl Signer for CallerSigner {
    fn key_id(&self) -> &str {
        match self {
            Self::Kms(kms) => kms.key_id(),
            Self::Local(local) => local.key_id(),
        }
    }

    async fn sign(&self, message: &[u8]) -> Result<Vec<u8>, SignError> {
        match self {
            Self::Kms(kms) => kms.sign(message).await,
            Self::Local(local) => local.sign(message).await,
        }
    }
}

#[cfg(test)]
mod tests;
