//! Public keys handed from the functions that reach KMS to the functions that only verify.
//!
//! On Lambda only `token` signs, so only `token` (and `jwks`, which serves the keys) carry a
//! KMS client. At start-up they publish the public key set to the store ([`Publishing`]);
//! `authorize` and `logout` (id_token_hint), `userinfo`, `revoke` and `introspect` read it
//! from there ([`StoreKeys`]). A token can only exist once `token` has started, and `token`
//! refuses to sign until its key set is published, so a verifier never meets a token whose
//! key it cannot find.
use std::{
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use async_trait::async_trait;
use tokio::sync::OnceCell;

use super::{PublicKey, Signer, SignerError, Verifier};
use crate::{
    clock::Clock,
    crypto::{b64url, b64url_decode},
    store::{KeyStore, PublishedKey, PublishedKeys},
};

/// How long a verifier trusts its copy of the key set. Rotation publishes the next key
/// ahead of its promotion by much longer than this (see infra/DEPLOY.md).
pub const KEY_SET_MAX_AGE: Duration = Duration::from_secs(300);

/// A signer that publishes its key set to the store before its first signature.
pub struct Publishing {
    inner: Arc<dyn Signer>,
    store: Arc<dyn KeyStore>,
    clock: Arc<dyn Clock>,
    published: OnceCell<()>,
}

impl Publishing {
    pub fn new(inner: Arc<dyn Signer>, store: Arc<dyn KeyStore>, clock: Arc<dyn Clock>) -> Self {
        Self {
            inner,
            store,
            clock,
            published: OnceCell::new(),
        }
    }

    /// Writes the key set once per container; a failure is not remembered, so the next
    /// call (at the latest, the next signature) retries.
    pub async fn publish(&self) -> Result<(), SignerError> {
        self.published
            .get_or_try_init(|| async {
                let keys = self.inner.public_keys().await?;
                let set = PublishedKeys {
                    keys: keys
                        .iter()
                        .map(|k| PublishedKey {
                            alg: k.alg,
                            spki: b64url(k.spki_der()),
                        })
                        .collect(),
                    published_at: self.clock.now(),
                };
                self.store
                    .publish_keys(&set)
                    .await
                    .map_err(|e| SignerError::Unavailable(format!("publishing the key set: {e}")))
            })
            .await
            .map(|_| ())
    }
}

#[async_trait]
impl Verifier for Publishing {
    async fn public_keys(&self) -> Result<Arc<Vec<PublicKey>>, SignerError> {
        self.inner.public_keys().await
    }
}

#[async_trait]
impl Signer for Publishing {
    async fn sign(&self, signing_input: &[u8]) -> Result<Vec<u8>, SignerError> {
        self.publish().await?;
        self.inner.sign(signing_input).await
    }
}

/// The published key set, read from the store and kept for [`KEY_SET_MAX_AGE`]. A
/// [`Verifier`] only: it has no way to sign.
pub struct StoreKeys {
    store: Arc<dyn KeyStore>,
    max_age: Duration,
    cached: Mutex<Option<(Arc<Vec<PublicKey>>, Instant)>>,
}

impl StoreKeys {
    pub fn new(store: Arc<dyn KeyStore>) -> Self {
        Self::with_max_age(store, KEY_SET_MAX_AGE)
    }

    pub fn with_max_age(store: Arc<dyn KeyStore>, max_age: Duration) -> Self {
        Self {
            store,
            max_age,
            cached: Mutex::new(None),
        }
    }

    fn cached(&self) -> Option<(Arc<Vec<PublicKey>>, Instant)> {
        self.cached.lock().ok().and_then(|c| c.clone())
    }
}

fn decode(set: &PublishedKeys) -> Result<Vec<PublicKey>, SignerError> {
    set.keys
        .iter()
        .map(|k| {
            let der = b64url_decode(&k.spki).ok_or_else(|| {
                SignerError::Misconfigured("published key is not base64url".into())
            })?;
            Ok(PublicKey::from_spki_der(&der, k.alg)?)
        })
        .collect()
}

#[async_trait]
impl Verifier for StoreKeys {
    async fn public_keys(&self) -> Result<Arc<Vec<PublicKey>>, SignerError> {
        let cached = self.cached();
        if let Some((keys, at)) = &cached
            && at.elapsed() < self.max_age
        {
            return Ok(keys.clone());
        }
        let fresh = match self.store.published_keys().await {
            Ok(Some(set)) => decode(&set)?,
            Ok(None) => {
                return Err(SignerError::Unavailable(
                    "no key set published yet: the token function publishes it when it starts"
                        .into(),
                ));
            }
            // A store hiccup: the last known key set is still the best answer.
            Err(e) => {
                return cached
                    .map(|(keys, _)| keys)
                    .ok_or_else(|| SignerError::Unavailable(format!("reading the key set: {e}")));
            }
        };
        if fresh.is_empty() {
            return Err(SignerError::Misconfigured(
                "the published key set is empty".into(),
            ));
        }
        let fresh = Arc::new(fresh);
        if let Ok(mut c) = self.cached.lock() {
            *c = Some((fresh.clone(), Instant::now()));
        }
        Ok(fresh)
    }
}

#[cfg(all(test, feature = "embedded"))]
#[allow(clippy::expect_used)]
mod tests {
    use super::*;
    use crate::{
        clock::SystemClock,
        signer::{Alg, KeyRing, local::LocalSigner},
        store::embedded::EmbeddedStore,
    };

    #[tokio::test]
    async fn verifiers_see_the_key_set_the_signer_published() {
        let store = Arc::new(EmbeddedStore::in_memory().expect("store"));
        let verifier = StoreKeys::with_max_age(store.clone(), Duration::ZERO);
        assert!(matches!(
            verifier.public_keys().await,
            Err(SignerError::Unavailable(_))
        ));

        let rs: Arc<dyn Signer> = Arc::new(LocalSigner::generate(Alg::RS256).expect("rs"));
        let es: Arc<dyn Signer> = Arc::new(LocalSigner::generate(Alg::ES256).expect("es"));
        let ring = Arc::new(KeyRing::new(vec![rs, es]));
        let signer = Publishing::new(ring.clone(), store.clone(), Arc::new(SystemClock));
        // Signing publishes first.
        let sig = signer.sign(b"input").await.expect("sign");

        let seen = verifier.public_keys().await.expect("published");
        let mine = ring.public_keys().await.expect("keys");
        assert_eq!(
            seen.iter().map(|k| (&k.kid, k.alg)).collect::<Vec<_>>(),
            mine.iter().map(|k| (&k.kid, k.alg)).collect::<Vec<_>>()
        );
        assert!(seen[0].verify(b"input", &sig));
        // That the verifier cannot sign is now the type's: `StoreKeys` is no `Signer`.
        assert!(!Probe::<StoreKeys>(std::marker::PhantomData).is_signer());
        assert!(Probe::<Publishing>(std::marker::PhantomData).is_signer());
    }

    /// Whether a type implements [`Signer`], asked of concrete types (an inherent method
    /// whose bound holds is chosen over the trait's fallback).
    struct Probe<T>(std::marker::PhantomData<T>);
    trait NotASigner {
        fn is_signer(&self) -> bool {
            false
        }
    }
    impl<T> NotASigner for Probe<T> {}
    impl<T: Signer> Probe<T> {
        fn is_signer(&self) -> bool {
            true
        }
    }

    #[tokio::test]
    async fn the_cached_set_is_kept_until_it_is_old() {
        let store = Arc::new(EmbeddedStore::in_memory().expect("store"));
        let first: Arc<dyn Signer> = Arc::new(LocalSigner::generate(Alg::ES256).expect("key"));
        Publishing::new(first.clone(), store.clone(), Arc::new(SystemClock))
            .publish()
            .await
            .expect("publish");
        let verifier = StoreKeys::new(store.clone());
        let before = verifier.public_keys().await.expect("keys")[0].kid.clone();

        let second: Arc<dyn Signer> = Arc::new(LocalSigner::generate(Alg::ES256).expect("key"));
        Publishing::new(second.clone(), store.clone(), Arc::new(SystemClock))
            .publish()
            .await
            .expect("publish");
        assert_eq!(verifier.public_keys().await.expect("cached")[0].kid, before);
        let expired = StoreKeys::with_max_age(store, Duration::ZERO);
        assert_eq!(
            expired.public_keys().await.expect("fresh")[0].kid,
            second.public_keys().await.expect("keys")[0].kid
        );
    }
}
