//! A signing key held in-process (aws-lc), generated on first use and persisted as PKCS#8,
//! for the local server and tests. Production keys live in KMS instead, or (envelope mode,
//! `envelope.rs`) are decrypted by KMS into one of these.
use std::{path::Path, sync::Arc};

use async_trait::async_trait;
use aws_lc_rs::{
    encoding::AsDer,
    rand::SystemRandom,
    rsa::KeySize,
    signature::{self, EcdsaKeyPair, KeyPair, RsaKeyPair},
};

use super::{Alg, PublicKey, Signer, SignerError, Verifier};

enum Private {
    Rsa(RsaKeyPair),
    Ec(EcdsaKeyPair),
}

pub struct LocalSigner {
    private: Private,
    public: Arc<Vec<PublicKey>>,
}

fn misconfigured(e: impl std::fmt::Display) -> SignerError {
    SignerError::Misconfigured(e.to_string())
}

impl LocalSigner {
    pub fn generate(alg: Alg) -> Result<Self, SignerError> {
        let pkcs8 = match alg {
            Alg::RS256 => RsaKeyPair::generate(KeySize::Rsa2048)
                .and_then(|k| k.as_der())
                .map(|d| d.as_ref().to_vec()),
            Alg::ES256 => EcdsaKeyPair::generate(&signature::ECDSA_P256_SHA256_FIXED_SIGNING)
                .and_then(|k| k.to_pkcs8v1())
                .map(|d| d.as_ref().to_vec()),
        }
        .map_err(misconfigured)?;
        Self::from_pkcs8(alg, &pkcs8)
    }

    pub fn from_pkcs8(alg: Alg, pkcs8: &[u8]) -> Result<Self, SignerError> {
        let (private, spki) = match alg {
            Alg::RS256 => {
                let k = RsaKeyPair::from_pkcs8(pkcs8).map_err(misconfigured)?;
                let spki = k
                    .public_key()
                    .as_der()
                    .map_err(misconfigured)?
                    .as_ref()
                    .to_vec();
                (Private::Rsa(k), spki)
            }
            Alg::ES256 => {
                let k =
                    EcdsaKeyPair::from_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8)
                        .map_err(misconfigured)?;
                let spki = k
                    .public_key()
                    .as_der()
                    .map_err(misconfigured)?
                    .as_ref()
                    .to_vec();
                (Private::Ec(k), spki)
            }
        };
        let public = PublicKey::from_spki_der(&spki, alg)?;
        Ok(Self {
            private,
            public: Arc::new(vec![public]),
        })
    }

    fn pkcs8(&self) -> Result<Vec<u8>, SignerError> {
        match &self.private {
            Private::Rsa(k) => k.as_der().map(|d| d.as_ref().to_vec()),
            Private::Ec(k) => k.to_pkcs8v1().map(|d| d.as_ref().to_vec()),
        }
        .map_err(misconfigured)
    }

    /// The public half (its `kid` is the RFC 7638 thumbprint).
    pub fn public_key(&self) -> &PublicKey {
        &self.public[0]
    }

    /// Reads a PKCS#8 key file.
    pub fn load(path: &Path, alg: Alg) -> Result<Self, SignerError> {
        let bytes =
            std::fs::read(path).map_err(|e| misconfigured(format!("{}: {e}", path.display())))?;
        Self::from_pkcs8(alg, &bytes).map_err(|e| misconfigured(format!("{}: {e}", path.display())))
    }

    /// Generates a key and writes it to `path` (mode 0600); never overwrites a file.
    pub fn create(path: &Path, alg: Alg) -> Result<Self, SignerError> {
        let signer = Self::generate(alg)?;
        crate::crypto::write_private(path, &signer.pkcs8()?)
            .map_err(|e| misconfigured(format!("{}: {e}", path.display())))?;
        Ok(signer)
    }

    /// Loads `dir/signing-<alg>.pk8`, creating it (mode 0600) on first start so tokens stay
    /// verifiable across restarts.
    pub fn load_or_create(dir: &Path, alg: Alg) -> Result<Self, SignerError> {
        let path = dir.join(format!("signing-{}.pk8", alg.as_str().to_lowercase()));
        Self::load_or_create_at(&path, alg)
    }

    /// Loads the key file `path`, creating it (mode 0600) when there is none.
    pub fn load_or_create_at(path: &Path, alg: Alg) -> Result<Self, SignerError> {
        match std::fs::read(path) {
            Ok(bytes) => Self::from_pkcs8(alg, &bytes),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Self::create(path, alg),
            Err(e) => Err(misconfigured(format!("{}: {e}", path.display()))),
        }
    }
}

#[async_trait]
impl Verifier for LocalSigner {
    async fn public_keys(&self) -> Result<Arc<Vec<PublicKey>>, SignerError> {
        Ok(self.public.clone())
    }
}

#[async_trait]
impl Signer for LocalSigner {
    async fn sign(&self, input: &[u8]) -> Result<Vec<u8>, SignerError> {
        let rng = SystemRandom::new();
        match &self.private {
            Private::Rsa(k) => {
                let mut sig = vec![0u8; k.public_modulus_len()];
                k.sign(&signature::RSA_PKCS1_SHA256, &rng, input, &mut sig)
                    .map_err(|e| SignerError::Unavailable(e.to_string()))?;
                Ok(sig)
            }
            Private::Ec(k) => k
                .sign(&rng, input)
                .map(|s| s.as_ref().to_vec())
                .map_err(|e| SignerError::Unavailable(e.to_string())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn signs_and_verifies_both_algs_and_persists() {
        let dir =
            std::env::temp_dir().join(format!("oidc-signer-{}", crate::crypto::random_token(6)));
        std::fs::create_dir_all(&dir).expect("dir");
        for alg in [Alg::RS256, Alg::ES256] {
            let s = LocalSigner::load_or_create(&dir, alg).expect("create");
            let key = s.public_keys().await.expect("keys")[0].clone();
            let sig = s.sign(b"header.payload").await.expect("sign");
            assert!(key.verify(b"header.payload", &sig));
            assert!(!key.verify(b"header.payloaX", &sig));
            let again = LocalSigner::load_or_create(&dir, alg).expect("load");
            assert_eq!(again.public_keys().await.expect("keys")[0].kid, key.kid);
        }
        let _ = std::fs::remove_dir_all(dir);
    }
}
