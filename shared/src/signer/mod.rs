//! Signing keys behind an async trait: KMS in production (the key never leaves it), a local
//! key for development and tests. JWS assembly around it lives in `crate::jwt`.
pub mod jwk;
#[cfg(feature = "kms")]
pub mod kms;
#[cfg(feature = "embedded")]
pub mod local;
#[cfg(feature = "embedded")]
pub mod manifest;
pub mod published;

use std::sync::Arc;

use async_trait::async_trait;
use aws_lc_rs::signature;
use tokio::sync::OnceCell;

pub use jwk::PublicKey;

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Alg {
    RS256,
    ES256,
}

impl Alg {
    pub fn as_str(self) -> &'static str {
        match self {
            Alg::RS256 => "RS256",
            Alg::ES256 => "ES256",
        }
    }

    pub fn parse(s: &str) -> Option<Alg> {
        match s {
            "RS256" => Some(Alg::RS256),
            "ES256" => Some(Alg::ES256),
            _ => None,
        }
    }

    /// Verification parameters for the public key bytes of [`PublicKey`].
    pub(crate) fn verification(self) -> &'static dyn signature::VerificationAlgorithm {
        match self {
            Alg::RS256 => &signature::RSA_PKCS1_2048_8192_SHA256,
            Alg::ES256 => &signature::ECDSA_P256_SHA256_FIXED,
        }
    }
}

#[derive(Debug, Clone, thiserror::Error)]
pub enum SignerError {
    /// KMS (or the local key) failed or throttled; retrying may succeed.
    #[error("signer unavailable: {0}")]
    Unavailable(String),
    /// A key is misconfigured (wrong type, not a signing key): not retryable.
    #[error("signing key misconfigured: {0}")]
    Misconfigured(String),
}

#[async_trait]
pub trait Signer: Send + Sync {
    /// Every key published in the JWKS, the active signing key first. Cached: computed once
    /// per container.
    async fn public_keys(&self) -> Result<Arc<Vec<PublicKey>>, SignerError>;

    /// Signs with the active key (`public_keys()[0]`); the signature in JOSE form
    /// (RFC 7518 §3.3 for RSA, §3.4 r‖s for ECDSA).
    async fn sign(&self, signing_input: &[u8]) -> Result<Vec<u8>, SignerError>;
}

/// Several signers as one key set, for rotation (any backend, even mixed): the first signs,
/// every key of every signer is published (RFC 7517 §5), so tokens signed by the previous
/// key keep verifying and the next key is known before it signs.
pub struct KeyRing {
    signers: Vec<Arc<dyn Signer>>,
    published: OnceCell<Arc<Vec<PublicKey>>>,
}

impl KeyRing {
    /// `signers[0]` is active. Panics never: an empty ring fails at use with Misconfigured.
    pub fn new(signers: Vec<Arc<dyn Signer>>) -> Self {
        Self {
            signers,
            published: OnceCell::new(),
        }
    }
}

#[async_trait]
impl Signer for KeyRing {
    async fn public_keys(&self) -> Result<Arc<Vec<PublicKey>>, SignerError> {
        self.published
            .get_or_try_init(|| async {
                let mut all: Vec<PublicKey> = Vec::new();
                for s in &self.signers {
                    for k in s.public_keys().await?.iter() {
                        if !all.iter().any(|a| a.kid == k.kid) {
                            all.push(k.clone());
                        }
                    }
                }
                if all.is_empty() {
                    return Err(SignerError::Misconfigured("the key ring is empty".into()));
                }
                Ok(Arc::new(all))
            })
            .await
            .cloned()
    }

    async fn sign(&self, input: &[u8]) -> Result<Vec<u8>, SignerError> {
        match self.signers.first() {
            Some(s) => s.sign(input).await,
            None => Err(SignerError::Misconfigured("the key ring is empty".into())),
        }
    }
}
