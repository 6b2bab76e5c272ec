//! Signing keys behind an async trait: KMS in production (the key never leaves it), or
//! opt-in envelope keys (KMS-wrapped, signing in-process), a local key for development and
//! tests. JWS assembly around it lives in `crate::jwt`.
#[cfg(feature = "kms")]
pub mod envelope;
#[cfg(feature = "kms")]
pub mod kms;
#[cfg(any(feature = "embedded", feature = "kms"))]
pub mod local;
#[cfg(feature = "embedded")]
pub mod manifest;
pub mod published;

use std::sync::Arc;

use async_trait::async_trait;
use serde_json::Value;
use tokio::sync::OnceCell;

pub use crate::jose::{Alg, PublicKey};

/// KMS refuses RAW messages over 4096 bytes; every signer enforces the limit (JWS assembly
/// checks it before signing) so a token that signs locally also signs in production.
pub const MAX_SIGNING_INPUT: usize = 4096;

#[derive(Debug, Clone, thiserror::Error)]
pub enum SignerError {
    /// KMS (or the local key) failed or throttled; retrying may succeed.
    #[error("signer unavailable: {0}")]
    Unavailable(String),
    /// A key is misconfigured (wrong type, not a signing key): not retryable.
    #[error("signing key misconfigured: {0}")]
    Misconfigured(String),
}

impl From<crate::jose::KeyError> for SignerError {
    fn from(e: crate::jose::KeyError) -> Self {
        SignerError::Misconfigured(e.0)
    }
}

/// What a function that only checks tokens holds: the provider's public key set. It cannot
/// sign, so a verifying function has no signing path to misuse (on Lambda only `token`
/// holds a [`Signer`]).
#[async_trait]
pub trait Verifier: Send + Sync {
    /// Every key published in the JWKS, the active signing key first. Cached: computed once
    /// per container (or, read from the store, for `published::KEY_SET_MAX_AGE`).
    async fn public_keys(&self) -> Result<Arc<Vec<PublicKey>>, SignerError>;

    /// Verifies one of this provider's compact JWS against the key set (see
    /// [`crate::jose::jws::verify`]) and returns its header and claims. Claim checks (iss,
    /// aud, exp, ...) are the caller's.
    async fn verify(&self, token: &str) -> Result<(Value, Value), VerifyError> {
        let keys = self.public_keys().await.map_err(VerifyError::Keys)?;
        crate::jose::jws::verify(&keys, token).map_err(VerifyError::Token)
    }
}

/// Why [`Verifier::verify`] refused a token.
#[derive(Debug, Clone, thiserror::Error)]
pub enum VerifyError {
    /// The key set is unavailable: not the token's fault.
    #[error(transparent)]
    Keys(SignerError),
    #[error("{0}")]
    Token(&'static str),
}

/// A key set that can also sign: only the function that issues tokens holds one.
#[async_trait]
pub trait Signer: Verifier {
    /// Signs with the active key (`public_keys()[0]`); the signature in JOSE form
    /// (RFC 7518 §3.3 for RSA, §3.4 r‖s for ECDSA).
    async fn sign(&self, signing_input: &[u8]) -> Result<Vec<u8>, SignerError>;
}

/// A signer's key set handed to code that must not sign: what the functions that only
/// verify hold when they run in the same process as the signer (the local server).
pub struct VerifyOnly(pub Arc<dyn Signer>);

#[async_trait]
impl Verifier for VerifyOnly {
    async fn public_keys(&self) -> Result<Arc<Vec<PublicKey>>, SignerError> {
        self.0.public_keys().await
    }
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
impl Verifier for KeyRing {
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
}

#[async_trait]
impl Signer for KeyRing {
    async fn sign(&self, input: &[u8]) -> Result<Vec<u8>, SignerError> {
        match self.signers.first() {
            Some(s) => s.sign(input).await,
            None => Err(SignerError::Misconfigured("the key ring is empty".into())),
        }
    }
}

/// The prefix of an envelope key's `SIGNING_KEYS` entry: `envelope:<id>`.
pub const ENVELOPE_ENTRY_PREFIX: &str = "envelope:";

/// Whether `id` can name an envelope key: 1 to 64 of `A-Z a-z 0-9 . _ -` (it becomes part of
/// a DynamoDB key, a KMS encryption context value and a template parameter).
pub fn valid_envelope_id(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// One `SIGNING_KEYS` entry: a KMS signing key (key id, ARN or `alias/...`), or an envelope
/// key, `envelope:<id>` (a KMS-wrapped private key in the table, see [`envelope`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyEntry {
    Kms(String),
    Envelope(String),
}

impl KeyEntry {
    pub fn parse(entry: &str) -> Result<KeyEntry, SignerError> {
        let entry = entry.trim();
        if let Some(id) = entry.strip_prefix(ENVELOPE_ENTRY_PREFIX) {
            if !valid_envelope_id(id) {
                return Err(SignerError::Misconfigured(format!(
                    "{entry:?}: an envelope key id is 1 to 64 letters, digits, '.', '_' or '-'"
                )));
            }
            return Ok(KeyEntry::Envelope(id.to_string()));
        }
        if entry.is_empty() || entry.contains(char::is_whitespace) {
            return Err(SignerError::Misconfigured(format!(
                "{entry:?} is neither a KMS key id, ARN or alias nor envelope:<id>"
            )));
        }
        Ok(KeyEntry::Kms(entry.to_string()))
    }

    /// All of `SIGNING_KEYS`, in order; at least one.
    pub fn parse_all(entries: &[String]) -> Result<Vec<KeyEntry>, SignerError> {
        if entries.is_empty() {
            return Err(SignerError::Misconfigured(
                "no signing key configured (SIGNING_KEYS)".into(),
            ));
        }
        entries.iter().map(|e| KeyEntry::parse(e)).collect()
    }
}

/// The signer `SIGNING_KEYS` describes, as the Lambda functions and `oidc-local --backend
/// aws` build it.
#[cfg(feature = "kms")]
pub struct AwsSigner {
    /// The first entry signs, every entry is published.
    pub signer: Arc<dyn Signer>,
    /// The signing key, when it is an envelope key: the signing function decrypts it at
    /// start-up ([`envelope::EnvelopeSigner::unwrap_key`]).
    pub active_envelope: Option<Arc<envelope::EnvelopeSigner>>,
}

/// Builds the signer of `SIGNING_KEYS` entries (see [`KeyEntry`]): one [`kms::KmsSigner`]
/// for all of them when every entry is a KMS key (their public keys fetched concurrently),
/// else one signer per entry in a [`KeyRing`] (an envelope key alone is used as it is).
/// Nothing is called until first use.
#[cfg(feature = "kms")]
pub fn aws_signer(
    kms: aws_sdk_kms::Client,
    store: Arc<dyn crate::store::KeyStore>,
    entries: &[String],
) -> Result<AwsSigner, SignerError> {
    let parsed = KeyEntry::parse_all(entries)?;
    if parsed.iter().all(|e| matches!(e, KeyEntry::Kms(_))) {
        let ids = parsed
            .into_iter()
            .filter_map(|e| match e {
                KeyEntry::Kms(id) => Some(id),
                KeyEntry::Envelope(_) => None,
            })
            .collect();
        return Ok(AwsSigner {
            signer: Arc::new(kms::KmsSigner::new(kms, ids)),
            active_envelope: None,
        });
    }
    let mut signers: Vec<Arc<dyn Signer>> = Vec::new();
    let mut active_envelope = None;
    for (i, entry) in parsed.into_iter().enumerate() {
        match entry {
            KeyEntry::Kms(id) => signers.push(Arc::new(kms::KmsSigner::new(kms.clone(), vec![id]))),
            KeyEntry::Envelope(id) => {
                let s = Arc::new(envelope::EnvelopeSigner::new(
                    kms.clone(),
                    store.clone(),
                    id,
                ));
                if i == 0 {
                    active_envelope = Some(s.clone());
                }
                signers.push(s);
            }
        }
    }
    let signer: Arc<dyn Signer> = match (signers.len(), &active_envelope) {
        (1, Some(only)) => only.clone(),
        _ => Arc::new(KeyRing::new(signers)),
    };
    Ok(AwsSigner {
        signer,
        active_envelope,
    })
}

#[cfg(test)]
mod entry_tests {
    use super::*;

    #[test]
    fn signing_key_entries_parse() {
        assert_eq!(
            KeyEntry::parse(" alias/oidc-signing-a ").ok(),
            Some(KeyEntry::Kms("alias/oidc-signing-a".into()))
        );
        assert_eq!(
            KeyEntry::parse("envelope:rs256-2026.a_b").ok(),
            Some(KeyEntry::Envelope("rs256-2026.a_b".into()))
        );
        for bad in ["envelope:", "envelope:a b", "envelope:a#b", "", "two words"] {
            assert!(
                matches!(KeyEntry::parse(bad), Err(SignerError::Misconfigured(_))),
                "{bad:?}"
            );
        }
        assert!(KeyEntry::parse_all(&[]).is_err());
        assert_eq!(
            KeyEntry::parse_all(&["envelope:k2".into(), "arn:aws:kms:eu-west-1:1:key/x".into()])
                .ok(),
            Some(vec![
                KeyEntry::Envelope("k2".into()),
                KeyEntry::Kms("arn:aws:kms:eu-west-1:1:key/x".into())
            ])
        );
    }
}
