//! The per-deployment secret and the keys derived from it. The secret is 32 random bytes
//! in the store (`secret#deployment`), made by the first sign-in of a deployment with a put
//! that never overwrites (the loser of a race reads the winner's), read with a sign-in's
//! other reads until a container has cached it, and kept for the container's life.
use std::sync::{Arc, OnceLock};

use aws_lc_rs::hmac;

use crate::{
    crypto::{b64url, b64url_decode, random_token},
    store::{DeploymentSecret, SignInStore, StoreError, StoreResult},
};

/// Keys derived from the deployment secret, one per use (HMAC-SHA256 of a label), so that
/// no value computed for one use is ever valid for another.
pub struct SignInKeys {
    device: hmac::Key,
    account: hmac::Key,
}

impl SignInKeys {
    pub fn new(secret: &DeploymentSecret) -> Option<Self> {
        let bytes = b64url_decode(&secret.value).filter(|b| b.len() == 32)?;
        let root = hmac::Key::new(hmac::HMAC_SHA256, &bytes);
        let derive =
            |label: &[u8]| hmac::Key::new(hmac::HMAC_SHA256, hmac::sign(&root, label).as_ref());
        Some(Self {
            device: derive(b"oidc-serverless device token v1"),
            account: derive(b"oidc-serverless audit account v1"),
        })
    }

    /// How the audit log names the account typed in (lowercased, whether or not it exists):
    /// a keyed digest, so neither a name nor a password typed into the username box can be
    /// recovered from the logs by hashing guesses without the deployment's secret.
    pub fn account_tag(&self, username: &str) -> String {
        let tag = hmac::sign(&self.account, username.to_lowercase().as_bytes());
        let mut s = b64url(tag.as_ref());
        s.truncate(16);
        s
    }

    pub(crate) fn sign_device(&self, data: &[u8]) -> hmac::Tag {
        hmac::sign(&self.device, data)
    }

    pub(crate) fn verify_device(&self, data: &[u8], tag: &[u8]) -> bool {
        hmac::verify(&self.device, data, tag).is_ok()
    }
}

/// The deployment's keys: cached (in the container's `App`), or from the secret the
/// sign-in read found (`read`), or from a secret made now (the deployment's first sign-in).
pub async fn load<S: SignInStore + ?Sized>(
    cache: &OnceLock<Arc<SignInKeys>>,
    store: &S,
    read: Option<DeploymentSecret>,
    now: i64,
) -> StoreResult<Arc<SignInKeys>> {
    if let Some(keys) = cache.get() {
        return Ok(keys.clone());
    }
    let secret = match read {
        Some(s) => s,
        None => {
            let fresh = DeploymentSecret {
                value: random_token(32),
                created_at: now,
            };
            store.create_secret(&fresh).await?
        }
    };
    let keys = SignInKeys::new(&secret)
        .ok_or_else(|| StoreError::Unavailable("malformed deployment secret".into()))?;
    Ok(cache.get_or_init(|| Arc::new(keys)).clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(value: &str) -> SignInKeys {
        SignInKeys::new(&DeploymentSecret {
            value: value.into(),
            created_at: 0,
        })
        .expect("keys")
    }

    #[test]
    fn account_tags_are_keyed_and_ignore_case() {
        let a = keys(&b64url(&[1; 32]));
        let b = keys(&b64url(&[2; 32]));
        assert_eq!(a.account_tag("Alice"), a.account_tag("alice"));
        assert_ne!(
            a.account_tag("alice"),
            b.account_tag("alice"),
            "per deployment"
        );
        assert_ne!(a.account_tag("alice"), a.account_tag("alicf"));
        let bare = crate::crypto::secret_digest("alice");
        assert!(!bare.starts_with(&a.account_tag("alice")[..8]));
        assert_eq!(a.account_tag(&"x".repeat(5000)).len(), 16);
    }

    #[test]
    fn a_secret_must_be_32_bytes() {
        let short = DeploymentSecret {
            value: b64url(&[1; 16]),
            created_at: 0,
        };
        assert!(SignInKeys::new(&short).is_none());
    }
}
