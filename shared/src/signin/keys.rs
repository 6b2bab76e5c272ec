//! The per-deployment secret and the keys derived from it. The secret is 32 random bytes
//! in the store (`secret#deployment`), made by the first sign-in of a deployment with a put
//! that never overwrites (the loser of a race reads the winner's), read with a sign-in's
//! other reads until a container has cached it, and kept for the container's life.
use std::sync::{Arc, OnceLock};

use aws_lc_rs::{
    aead::{AES_256_GCM, Aad, NONCE_LEN, Nonce, RandomizedNonceKey},
    hmac,
};

use crate::{
    crypto::{b64url, b64url_decode, random_token},
    store::{DeploymentSecret, SignInStore, StoreError, StoreResult},
};

/// Keys derived from the deployment secret, one per use (HMAC-SHA256 of a label), so that
/// no value computed for one use is ever valid for another.
pub struct SignInKeys {
    device: hmac::Key,
    account: hmac::Key,
    user_handle: RandomizedNonceKey,
}

/// What a sealed user handle's tag covers besides the sub: its purpose.
const USER_HANDLE_AAD: &[u8] = b"oidc-serverless passkey user handle";

impl SignInKeys {
    pub fn new(secret: &DeploymentSecret) -> Option<Self> {
        let bytes = b64url_decode(&secret.value).filter(|b| b.len() == 32)?;
        let root = hmac::Key::new(hmac::HMAC_SHA256, &bytes);
        let derive = |label: &[u8]| hmac::sign(&root, label);
        let hmac_key = |label: &[u8]| hmac::Key::new(hmac::HMAC_SHA256, derive(label).as_ref());
        let handle_key = derive(b"oidc-serverless passkey user handle v1");
        Some(Self {
            device: hmac_key(b"oidc-serverless device token v1"),
            account: hmac_key(b"oidc-serverless audit account v1"),
            user_handle: RandomizedNonceKey::new(&AES_256_GCM, handle_key.as_ref()).ok()?,
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

    /// A WebAuthn user handle for the person `sub`: their sub sealed (AES-256-GCM, a random
    /// nonce), so that a passkey sign-in can read the person in the same round trip as the
    /// passkey, while the handle shows nothing of them (WebAuthn §14.6.1: no personal data,
    /// and an administrator's sub may be an e-mail address). None when the sub is too long
    /// for the 64 bytes a handle may hold: then the handle is random, and the sign-in reads
    /// the person after the passkey.
    pub fn seal_user_handle(&self, sub: &str) -> Option<Vec<u8>> {
        let mut in_out = sub.as_bytes().to_vec();
        if NONCE_LEN + in_out.len() + AES_256_GCM.tag_len() > crate::passkey::MAX_USER_HANDLE_LEN {
            return None;
        }
        let nonce = self
            .user_handle
            .seal_in_place_append_tag(Aad::from(USER_HANDLE_AAD), &mut in_out)
            .ok()?;
        let mut handle = nonce.as_ref().to_vec();
        handle.extend(in_out);
        Some(handle)
    }

    /// The sub a user handle of [`Self::seal_user_handle`] holds; None for any other handle
    /// (a random one, another deployment's, a forged one).
    pub fn open_user_handle(&self, handle: &[u8]) -> Option<String> {
        if handle.len() < NONCE_LEN + AES_256_GCM.tag_len() {
            return None;
        }
        let (nonce, sealed) = handle.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).ok()?;
        let mut body = sealed.to_vec();
        let sub = self
            .user_handle
            .open_in_place(nonce, Aad::from(USER_HANDLE_AAD), &mut body)
            .ok()?;
        String::from_utf8(sub.to_vec()).ok()
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
    fn a_user_handle_holds_its_sub_for_this_deployment_only() {
        let a = keys(&b64url(&[1; 32]));
        let b = keys(&b64url(&[2; 32]));
        let handle = a.seal_user_handle("8jWfc17PJqucfOD6P0r3Bg").expect("fits");
        assert!(handle.len() <= 64);
        assert!(
            !handle.windows(5).any(|w| w == b"8jWfc"),
            "the sub does not show"
        );
        assert_eq!(
            a.open_user_handle(&handle).as_deref(),
            Some("8jWfc17PJqucfOD6P0r3Bg")
        );
        assert_ne!(
            a.seal_user_handle("s"),
            a.seal_user_handle("s"),
            "random nonce"
        );
        assert_eq!(b.open_user_handle(&handle), None, "another deployment's");
        let mut flipped = handle.clone();
        flipped[20] ^= 1;
        assert_eq!(a.open_user_handle(&flipped), None);
        assert_eq!(a.open_user_handle(&[7; 32]), None, "a random handle");
        assert_eq!(a.open_user_handle(&[]), None);
        assert_eq!(
            a.seal_user_handle(&"x".repeat(37)),
            None,
            "too long for 64 bytes"
        );
        assert!(a.seal_user_handle(&"x".repeat(36)).is_some());
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
