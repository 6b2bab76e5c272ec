//! What the store and the signer both speak: the JOSE algorithms this provider signs with
//! (RFC 7518), public keys as JWKs (RFC 7517) and compact JWS verification (RFC 7515).
//! Nothing here holds a private key or reaches a backend.
pub mod jwk;
pub mod jws;
pub mod verified;

use aws_lc_rs::signature;

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

/// A public key that cannot be used: not SPKI DER, the wrong type for its algorithm, too
/// short. Worded as the signer words a misconfigured key, which is what it means there.
#[derive(Debug, Clone, thiserror::Error)]
#[error("signing key misconfigured: {0}")]
pub struct KeyError(pub String);
