//! Our key for `private_key_jwt` at upstream providers (OIDC Core §9, RFC 7523 §2.2).
//!
//! It is the federation function's own key, never the token signing key: the one function
//! that talks to the internet must not be able to mint our ID tokens, and an upstream that
//! trusts this key trusts it for our client authentication only. Its public half is served at
//! `/federation/jwks`, the `jwks_uri` an administrator registers at the upstream; none of our
//! relying parties looks there. On AWS it is a KMS key of its own (`FEDERATION_CLIENT_KEY`);
//! locally a key file in the data directory, made on first use.
use std::{path::PathBuf, sync::Arc};

use async_trait::async_trait;
use serde_json::json;
use tokio::sync::OnceCell;

use super::upstream::{Metadata, UpstreamError};
use crate::{
    crypto::random_token,
    jose::{Alg, PublicKey},
    signer::{Signer, SignerError, Verifier, local::LocalSigner},
};

/// The local key's file in the data directory.
pub const KEY_FILE: &str = "federation-client-rs256.pk8";

/// How long an assertion is good for: the one token request it is made for (RFC 7523 §3
/// asks for a short expiry; our own token endpoint takes at most 300 s).
pub const ASSERTION_TTL: i64 = 60;

/// The local key: RS256, which every upstream that takes `private_key_jwt` takes (Auth0
/// takes no ES256). Generated on first use: RSA key generation is slow, and most local
/// providers never need it.
pub struct LocalClientKey {
    file: Option<PathBuf>,
    key: OnceCell<LocalSigner>,
}

impl LocalClientKey {
    /// `dir/federation-client-rs256.pk8`, or a key in memory without a data directory.
    pub fn for_data_dir(dir: Option<&std::path::Path>) -> Self {
        Self {
            file: dir.map(|d| d.join(KEY_FILE)),
            key: OnceCell::new(),
        }
    }

    async fn key(&self) -> Result<&LocalSigner, SignerError> {
        self.key
            .get_or_try_init(|| async {
                match &self.file {
                    Some(file) => LocalSigner::load_or_create_at(file, Alg::RS256),
                    None => LocalSigner::generate(Alg::RS256),
                }
            })
            .await
    }
}

#[async_trait]
impl Verifier for LocalClientKey {
    async fn public_keys(&self) -> Result<Arc<Vec<PublicKey>>, SignerError> {
        self.key().await?.public_keys().await
    }
}

#[async_trait]
impl Signer for LocalClientKey {
    async fn sign(&self, input: &[u8]) -> Result<Vec<u8>, SignerError> {
        self.key().await?.sign(input).await
    }
}

/// The client assertion for `client_id` at the upstream of `metadata` (RFC 7523 §3): `iss`
/// and `sub` our client id; `aud` the upstream's issuer identifier as one string, as
/// rfc7523bis and the OpenID Foundation's 2025 advisory on audience injection ask (a token
/// endpoint URL or a list could let the assertion be accepted by a server it was not made
/// for); a fresh `jti`; a 60-second life.
///
/// Refused before anything is signed when the upstream's metadata lists methods without
/// `private_key_jwt`, or algorithms without our key's.
pub async fn assertion(
    key: &dyn Signer,
    client_id: &str,
    metadata: &Metadata,
    now: i64,
) -> Result<String, UpstreamError> {
    let methods = &metadata.token_endpoint_auth_methods_supported;
    if !methods.is_empty() && !methods.iter().any(|m| m == "private_key_jwt") {
        return Err(UpstreamError::Unsupported(
            "its token endpoint does not take private_key_jwt",
        ));
    }
    let keys = key.public_keys().await.map_err(credentials)?;
    let alg = keys
        .first()
        .ok_or_else(|| credentials("no client key"))?
        .alg;
    let algs = &metadata.token_endpoint_auth_signing_alg_values_supported;
    if !algs.is_empty() && !algs.iter().any(|a| a == alg.as_str()) {
        return Err(UpstreamError::Unsupported(
            "it takes no client assertion signed with our client key's algorithm",
        ));
    }
    let claims = json!({
        "iss": client_id,
        "sub": client_id,
        "aud": metadata.issuer,
        "jti": random_token(16),
        "iat": now,
        "exp": now + ASSERTION_TTL,
    });
    crate::jwt::sign(key, "JWT", &claims)
        .await
        .map_err(credentials)
}

/// Our own credentials failed (a KMS error, a bad key file): the detail is logged, the
/// person reads only that it did not work.
pub fn credentials(e: impl std::fmt::Display) -> UpstreamError {
    tracing::error!(error = %e, "our credentials for an upstream provider");
    UpstreamError::Credentials
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jose::jws;

    fn metadata(methods: &[&str], algs: &[&str]) -> Metadata {
        let doc = json!({
            "issuer": "https://idp.example",
            "authorization_endpoint": "https://idp.example/auth",
            "token_endpoint": "https://idp.example/token",
            "jwks_uri": "https://idp.example/jwks",
            "token_endpoint_auth_methods_supported": methods,
            "token_endpoint_auth_signing_alg_values_supported": algs,
        });
        Metadata::from_document("https://idp.example", doc.as_object().expect("object"))
            .expect("metadata")
    }

    #[tokio::test]
    async fn an_assertion_is_for_this_client_and_this_issuer_only() {
        let key = LocalClientKey::for_data_dir(None);
        let m = metadata(&["private_key_jwt"], &["RS256"]);
        let a = assertion(&key, "our-client", &m, 1_000)
            .await
            .expect("signed");
        let keys = key.public_keys().await.expect("keys");
        let (header, claims) = jws::verify(&keys, &a).expect("verifies with /federation/jwks");
        assert_eq!(header["alg"], "RS256");
        assert_eq!(header["kid"], keys[0].kid.as_str());
        assert_eq!(claims["iss"], "our-client");
        assert_eq!(claims["sub"], "our-client");
        assert_eq!(
            claims["aud"], "https://idp.example",
            "one string: the issuer"
        );
        assert_eq!(claims["iat"], 1_000);
        assert_eq!(claims["exp"], 1_000 + ASSERTION_TTL);
        let again = assertion(&key, "our-client", &m, 1_000)
            .await
            .expect("signed");
        let (_, second) = jws::verify(&keys, &again).expect("verifies");
        assert_ne!(claims["jti"], second["jti"], "a fresh jti each time");
        // Metadata that says nothing allows it (RFC 8414 §2 defaults say nothing of it).
        assert!(assertion(&key, "c", &metadata(&[], &[]), 0).await.is_ok());
    }

    #[tokio::test]
    async fn an_upstream_that_does_not_take_it_is_refused_before_signing() {
        let key = LocalClientKey::for_data_dir(None);
        let no_method = metadata(&["client_secret_basic"], &[]);
        let e = assertion(&key, "c", &no_method, 0)
            .await
            .expect_err("method");
        assert!(e.to_string().contains("private_key_jwt"), "{e}");
        let no_alg = metadata(&["private_key_jwt"], &["ES256"]);
        let e = assertion(&key, "c", &no_alg, 0).await.expect_err("alg");
        assert!(e.to_string().contains("algorithm"), "{e}");
    }

    #[tokio::test]
    async fn the_local_key_is_kept_in_the_data_directory() {
        let dir = std::env::temp_dir().join(format!("oidc-client-key-{}", random_token(6)));
        std::fs::create_dir_all(&dir).expect("dir");
        let first = LocalClientKey::for_data_dir(Some(&dir));
        assert!(
            !dir.join(KEY_FILE).exists(),
            "nothing is made before it is used"
        );
        let kid = first.public_keys().await.expect("made")[0].kid.clone();
        assert!(dir.join(KEY_FILE).exists());
        let again = LocalClientKey::for_data_dir(Some(&dir));
        assert_eq!(again.public_keys().await.expect("read")[0].kid, kid);
        std::fs::remove_dir_all(&dir).expect("cleaned up");
    }
}
