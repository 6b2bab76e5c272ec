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
use serde_json::Value;
use tokio::sync::OnceCell;

use super::{PublicKey, Signer, SignerError, Verifier, VerifyError};
use crate::{
    clock::Clock,
    crypto::{b64url, b64url_decode},
    jose::jws,
    store::{KeyStore, PublishedKey, PublishedKeys},
};

/// How long a verifier trusts its copy of the key set. Rotation publishes the next key
/// ahead of its promotion by much longer than this (see infra/DEPLOY.md).
pub const KEY_SET_MAX_AGE: Duration = Duration::from_secs(300);

/// A token whose `kid` the verifier's copy lacks makes it read the key set again (strongly
/// consistent), unless the copy is younger than this or it did so less than this ago: a key
/// published since the copy was read (a token function started by the rotation's switch
/// while this container kept the set before it) is found at once, and made-up key ids cost
/// at most one read per container this often.
pub const KID_REREAD_INTERVAL: Duration = Duration::from_secs(10);

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

    /// Starts [`Publishing::publish`] without waiting for it (the token function's init
    /// phase): a signature meanwhile awaits it, and publishes itself if it failed.
    pub fn start_publishing(self: &Arc<Self>) {
        let me = self.clone();
        tokio::spawn(async move {
            if let Err(e) = me.publish().await {
                tracing::warn!(error = %e, "publishing the key set failed; retrying before the first signature");
            }
        });
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

/// The published key set, read from the store and kept for [`KEY_SET_MAX_AGE`] (read again
/// sooner for an unknown `kid`, see [`KID_REREAD_INTERVAL`]). A [`Verifier`] only: it has no
/// way to sign.
pub struct StoreKeys {
    store: Arc<dyn KeyStore>,
    max_age: Duration,
    kid_reread: Duration,
    cached: Mutex<Option<(Arc<Vec<PublicKey>>, Instant)>>,
    /// When an unknown `kid` last made it read the set.
    reread_at: Mutex<Option<Instant>>,
}

impl StoreKeys {
    pub fn new(store: Arc<dyn KeyStore>) -> Self {
        Self::with_max_age(store, KEY_SET_MAX_AGE)
    }

    pub fn with_max_age(store: Arc<dyn KeyStore>, max_age: Duration) -> Self {
        Self {
            store,
            max_age,
            kid_reread: KID_REREAD_INTERVAL,
            cached: Mutex::new(None),
            reread_at: Mutex::new(None),
        }
    }

    /// With another [`KID_REREAD_INTERVAL`].
    pub fn with_kid_reread(self, interval: Duration) -> Self {
        Self {
            kid_reread: interval,
            ..self
        }
    }

    fn cached(&self) -> Option<(Arc<Vec<PublicKey>>, Instant)> {
        self.cached.lock().ok().and_then(|c| c.clone())
    }

    /// Reads the set from the store and keeps it.
    async fn read(&self, consistent: bool) -> Result<Arc<Vec<PublicKey>>, SignerError> {
        let read = if consistent {
            self.store.published_keys_consistent().await
        } else {
            self.store.published_keys().await
        };
        let fresh = match read {
            Ok(Some(set)) => decode(&set)?,
            Ok(None) => {
                return Err(SignerError::Unavailable(
                    "no key set published yet: the token function publishes it when it starts"
                        .into(),
                ));
            }
            // A store hiccup: the last known key set is still the best answer.
            Err(e) => {
                return self
                    .cached()
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

    /// Whether an unknown `kid` may make it read the set now; claims the read if so, so
    /// concurrent requests make one read between them.
    fn may_reread(&self) -> bool {
        let recent = |at: Option<Instant>| at.is_some_and(|at| at.elapsed() < self.kid_reread);
        if recent(self.cached().map(|(_, at)| at)) {
            return false;
        }
        let Ok(mut last) = self.reread_at.lock() else {
            return false;
        };
        if recent(*last) {
            return false;
        }
        *last = Some(Instant::now());
        true
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
        if let Some((keys, at)) = self.cached()
            && at.elapsed() < self.max_age
        {
            return Ok(keys);
        }
        self.read(false).await
    }

    async fn verify(&self, token: &str) -> Result<(Value, Value), VerifyError> {
        let keys = self.public_keys().await.map_err(VerifyError::Keys)?;
        match jws::verify(&keys, token) {
            Err(jws::UNKNOWN_KID) if self.may_reread() => {
                let keys = self.read(true).await.map_err(VerifyError::Keys)?;
                jws::verify(&keys, token).map_err(VerifyError::Token)
            }
            other => other.map_err(VerifyError::Token),
        }
    }
}

#[cfg(all(test, feature = "embedded"))]
#[path = "published_tests.rs"]
mod tests;
