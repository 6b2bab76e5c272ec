//! Public keys handed from the functions that reach KMS to the functions that only verify.
//!
//! On Lambda only `token` signs, so only `token` (and `jwks`, which serves the keys) carry a
//! KMS client. `token` publishes the public key set to the store ([`Publishing`]) before its
//! first signature; `authorize` and `logout` (id_token_hint), `userinfo`, `revoke` and
//! `introspect` read it from there ([`StoreKeys`]). A token can only exist once `token` has
//! started, and `token` refuses to sign until its key set is published, so a verifier never
//! meets a token whose key is not in the store. `jwks` serves the published set when its own
//! configuration published it, and otherwise fetches and publishes its own ([`OwnKeySet`]).
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
    /// Written with the set: see [`PublishedKeys::source`].
    source: String,
    published: OnceCell<()>,
}

impl Publishing {
    pub fn new(inner: Arc<dyn Signer>, store: Arc<dyn KeyStore>, clock: Arc<dyn Clock>) -> Self {
        Self {
            inner,
            store,
            clock,
            source: String::new(),
            published: OnceCell::new(),
        }
    }

    /// Names the configuration whose keys these are (`assembly::Settings::key_set_source`).
    pub fn with_source(self, source: impl Into<String>) -> Self {
        Self {
            source: source.into(),
            ..self
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
                    source: self.source.clone(),
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

/// What the jwks function serves: the key set of its own configuration, once per container
/// (a new configuration starts new containers). When the published set names this
/// configuration as its source (`token`, or an earlier `jwks` container, published it), that
/// set, with no call to KMS; otherwise the keys' own set, published first exactly as `token`
/// publishes it, so `/jwks.json` is always the deployed configuration's set and the
/// verifiers find it in the store even before `token` has started.
pub struct OwnKeySet {
    own: Arc<Publishing>,
    keys: OnceCell<Arc<Vec<PublicKey>>>,
}

impl OwnKeySet {
    pub fn new(own: Arc<Publishing>) -> Self {
        Self {
            own,
            keys: OnceCell::new(),
        }
    }

    /// The published set, if this configuration published it and it decodes.
    async fn published_by_us(&self) -> Option<Vec<PublicKey>> {
        let set = match self.own.store.published_keys().await {
            Ok(set) => set?,
            Err(e) => {
                tracing::warn!(error = %e, "reading the published key set failed; asking the keys");
                return None;
            }
        };
        if self.own.source.is_empty() || set.source != self.own.source {
            return None;
        }
        decode(&set).ok().filter(|keys| !keys.is_empty())
    }
}

#[async_trait]
impl Verifier for OwnKeySet {
    async fn public_keys(&self) -> Result<Arc<Vec<PublicKey>>, SignerError> {
        self.keys
            .get_or_try_init(|| async {
                if let Some(keys) = self.published_by_us().await {
                    return Ok(Arc::new(keys));
                }
                // As before the published set had a source: a failed write still leaves the
                // JWKS served from the keys themselves.
                if let Err(e) = self.own.publish().await {
                    tracing::warn!(error = %e, "publishing the key set failed");
                }
                self.own.inner.public_keys().await
            })
            .await
            .cloned()
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

    /// A key whose `public_keys` calls are counted: KMS GetPublicKey calls, once the key is
    /// in a [`KeyRing`] (which keeps the answer, as every signer does).
    struct Counted {
        key: LocalSigner,
        calls: std::sync::atomic::AtomicUsize,
    }

    impl Counted {
        fn new() -> Arc<Self> {
            Arc::new(Self {
                key: LocalSigner::generate(Alg::ES256).expect("key"),
                calls: Default::default(),
            })
        }
        fn calls(&self) -> usize {
            self.calls.load(std::sync::atomic::Ordering::SeqCst)
        }
    }

    #[async_trait]
    impl Verifier for Counted {
        async fn public_keys(&self) -> Result<Arc<Vec<PublicKey>>, SignerError> {
            self.calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            self.key.public_keys().await
        }
    }

    #[async_trait]
    impl Signer for Counted {
        async fn sign(&self, input: &[u8]) -> Result<Vec<u8>, SignerError> {
            self.key.sign(input).await
        }
    }

    fn kids(keys: &[PublicKey]) -> Vec<String> {
        keys.iter().map(|k| k.kid.clone()).collect()
    }

    fn publishing(key: &Arc<Counted>, store: &Arc<EmbeddedStore>, source: &str) -> Arc<Publishing> {
        let ring = Arc::new(KeyRing::new(vec![key.clone()]));
        Arc::new(Publishing::new(ring, store.clone(), Arc::new(SystemClock)).with_source(source))
    }

    #[tokio::test]
    async fn jwks_serves_its_configurations_published_set_without_asking_the_keys() {
        let store = Arc::new(EmbeddedStore::in_memory().expect("store"));
        let token = Counted::new();
        publishing(&token, &store, "alias/a")
            .publish()
            .await
            .expect("publish");
        // jwks of the same configuration: its own handle on the keys (a key of its own here,
        // so serving it would show), never asked.
        let jwks_keys = Counted::new();
        let jwks = OwnKeySet::new(publishing(&jwks_keys, &store, "alias/a"));
        let served = jwks.public_keys().await.expect("keys");
        assert_eq!(
            kids(&served),
            kids(&token.public_keys().await.expect("keys"))
        );
        jwks.public_keys().await.expect("again");
        assert_eq!(jwks_keys.calls(), 0, "no GetPublicKey");
    }

    #[tokio::test]
    async fn jwks_publishes_its_own_set_when_the_published_one_is_not_its_configurations() {
        let other = Counted::new();
        for published in [
            None,                    // nothing published yet (jwks started before token)
            Some("alias/a,alias/b"), // another configuration (the step before a rotation)
            Some(""),                // published before sets had a source, or by the local server
        ] {
            let store = Arc::new(EmbeddedStore::in_memory().expect("store"));
            if let Some(source) = published {
                publishing(&other, &store, source)
                    .publish()
                    .await
                    .expect("publish");
            }
            let mine = Counted::new();
            let jwks = OwnKeySet::new(publishing(&mine, &store, "alias/b,alias/a"));
            let served = jwks.public_keys().await.expect("keys");
            let own = kids(&mine.key.public_keys().await.expect("keys"));
            assert_eq!(kids(&served), own, "{published:?}");
            let stored = store
                .published_keys()
                .await
                .expect("read")
                .expect("published");
            assert_eq!(stored.source, "alias/b,alias/a", "{published:?}");
            assert_eq!(
                kids(&decode(&stored).expect("decode")),
                own,
                "{published:?}"
            );
            jwks.public_keys().await.expect("again");
            assert_eq!(mine.calls(), 1, "asked once per container: {published:?}");
        }
    }

    #[tokio::test]
    async fn without_a_source_jwks_never_trusts_the_published_set() {
        let store = Arc::new(EmbeddedStore::in_memory().expect("store"));
        publishing(&Counted::new(), &store, "")
            .publish()
            .await
            .expect("publish");
        let mine = Counted::new();
        let jwks = OwnKeySet::new(publishing(&mine, &store, ""));
        assert_eq!(
            kids(&jwks.public_keys().await.expect("keys")),
            kids(&mine.key.public_keys().await.expect("keys"))
        );
        assert_eq!(mine.calls(), 1);
    }
}
