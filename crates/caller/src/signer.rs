//! Who signs assertions: KMS in a deployment (the authorizer's `KmsSigner`), or a key in
//! memory for tests and local runs ([`LocalSigner`]).

use std::future::Future;

use aws_lc_rs::{
    encoding::{AsDer, PublicKeyX509Der},
    rand::SystemRandom,
    signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair},
};

/// Why an assertion could not be signed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the caller assertion could not be signed: {0}")]
pub struct SignError(pub String);

/// A P-256 ECDSA key that signs assertions; the tools verify with its public half.
pub trait Signer: Send + Sync {
    /// The key's id, as the assertion's `kid` names it (for KMS, the key ARN).
    fn key_id(&self) -> &str;

    /// The `ES256` signature of `message`: `r || s`, 64 bytes.
    fn sign(&self, message: &[u8]) -> impl Future<Output = Result<Vec<u8>, SignError>> + Send;
}

/// A key pair in memory: for tests and for running the interceptor locally.
pub struct LocalSigner {
    key_id: String,
    key: EcdsaKeyPair,
}

impl std::fmt::Debug for LocalSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalSigner")
            .field("key_id", &self.key_id)
            .finish_non_exhaustive()
    }
}

impl LocalSigner {
    /// A new random key named `key_id`.
    pub fn generate(key_id: &str) -> Result<Self, SignError> {
        let key = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING)
            .map_err(|e| SignError(e.to_string()))?;
        Ok(Self {
            key_id: key_id.to_owned(),
            key,
        })
    }

    /// The public key as DER `SubjectPublicKeyInfo` (what KMS `GetPublicKey` returns).
    pub fn public_key_der(&self) -> Vec<u8> {
        AsDer::<PublicKeyX509Der>::as_der(self.key.public_key())
            .map(|der| der.as_ref().to_vec())
            .unwrap_or_default()
    }
}

impl Signer for LocalSigner {
    fn key_id(&self) -> &str {
        &self.key_id
    }

    async fn sign(&self, message: &[u8]) -> Result<Vec<u8>, SignError> {
        self.key
            .sign(&SystemRandom::new(), message)
            .map(|s| s.as_ref().to_vec())
            .map_err(|e| SignError(e.to_string()))
    }
}
