//! Signing keys as the store keeps them: published public keys and wrapped private ones.
use serde::{Deserialize, Serialize};

/// The public signing keys, as the function that signs (and so can reach KMS) published
/// them for the functions that only verify: those carry no KMS client at all.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct PublishedKeys {
    /// Active key first, then the next and previous keys (RFC 7517 §5 key set order).
    pub keys: Vec<PublishedKey>,
    pub published_at: i64,
    /// The configuration that published it (`assembly::Settings::key_set_source`): the jwks
    /// function serves the set as it is when it is its own configuration's, without asking
    /// KMS. Empty in sets published before the field existed, and by the local server.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub source: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct PublishedKey {
    pub alg: crate::jose::Alg,
    /// SubjectPublicKeyInfo DER, base64url: the same bytes KMS GetPublicKey returns.
    pub spki: String,
}

/// An envelope signing key: a private key that only ever exists in plaintext inside a
/// function's memory, stored encrypted under a KMS key (GenerateDataKeyPair).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct WrappedKey {
    pub id: String,
    pub alg: crate::jose::Alg,
    /// The KMS key (ARN) that encrypts it; Decrypt needs kms:Decrypt on it.
    pub wrapping_key: String,
    /// PKCS#8 private key, encrypted by KMS, base64url.
    pub ciphertext: String,
    /// SubjectPublicKeyInfo DER, base64url.
    pub spki: String,
    pub created_at: i64,
}
