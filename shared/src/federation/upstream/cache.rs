//! Upstream discovery documents and key sets, kept per container: a warm function verifies a
//! federated sign-in without fetching either again.
use std::{
    collections::HashMap,
    sync::{Arc, Mutex, MutexGuard},
};

use super::error::{IdTokenError, UpstreamError};
use super::fetch::Fetch;
use super::id_token::{Expect, IdClaims, verify_id_token};
use super::jwks::{Jwks, fetch_jwks};
use super::metadata::{Metadata, discover};

/// How long a document or key set is used before it is fetched again, seconds.
pub const TTL: i64 = 3600;
/// A key set is refetched for an unknown `kid` only if it is at least this old, seconds: a
/// rotated key is found within a minute, and tokens with made-up key ids cannot make us
/// hammer the upstream.
pub const KID_REFETCH_INTERVAL: i64 = 60;

/// One per container, shared by every request (hold it in an `Arc`, e.g. next to the store).
/// Failures are not kept: the next sign-in tries the upstream again.
pub struct UpstreamCache {
    ttl: i64,
    /// By configured issuer.
    metadata: Mutex<HashMap<String, (Arc<Metadata>, i64)>>,
    /// By the metadata's `jwks_uri`, with when it was fetched.
    jwks: Mutex<HashMap<String, (Arc<Jwks>, i64)>>,
}

impl Default for UpstreamCache {
    fn default() -> Self {
        Self::new()
    }
}

impl UpstreamCache {
    pub fn new() -> Self {
        Self::with_ttl(TTL)
    }

    pub fn with_ttl(ttl: i64) -> Self {
        UpstreamCache {
            ttl,
            metadata: Mutex::default(),
            jwks: Mutex::default(),
        }
    }

    /// The issuer's validated discovery document ([`discover`]), from the cache while younger
    /// than the TTL.
    pub async fn metadata(
        &self,
        fetch: &dyn Fetch,
        issuer: &str,
        now: i64,
    ) -> Result<Arc<Metadata>, UpstreamError> {
        let fresh = lock(&self.metadata)
            .get(issuer)
            .filter(|(_, at)| now - at < self.ttl)
            .map(|(m, _)| m.clone());
        if let Some(m) = fresh {
            return Ok(m);
        }
        let m = Arc::new(discover(fetch, issuer).await?);
        lock(&self.metadata).insert(issuer.to_owned(), (m.clone(), now));
        Ok(m)
    }

    /// The upstream's key set, from the cache while younger than the TTL.
    pub async fn jwks(
        &self,
        fetch: &dyn Fetch,
        metadata: &Metadata,
        now: i64,
    ) -> Result<Arc<Jwks>, UpstreamError> {
        Ok(self.jwks_at(fetch, metadata, now).await?.0)
    }

    /// The key set and when it was fetched.
    async fn jwks_at(
        &self,
        fetch: &dyn Fetch,
        metadata: &Metadata,
        now: i64,
    ) -> Result<(Arc<Jwks>, i64), UpstreamError> {
        let uri = metadata.jwks_uri.as_str();
        let fresh = lock(&self.jwks)
            .get(uri)
            .filter(|(_, at)| now - at < self.ttl)
            .cloned();
        if let Some(hit) = fresh {
            return Ok(hit);
        }
        self.refetch_jwks(fetch, metadata, now).await
    }

    async fn refetch_jwks(
        &self,
        fetch: &dyn Fetch,
        metadata: &Metadata,
        now: i64,
    ) -> Result<(Arc<Jwks>, i64), UpstreamError> {
        let keys = Arc::new(fetch_jwks(fetch, metadata).await?);
        lock(&self.jwks).insert(metadata.jwks_uri.to_string(), (keys.clone(), now));
        Ok((keys, now))
    }

    /// [`verify_id_token`] with the cached key set. A `kid` the set does not hold makes it
    /// fetch the set once more (the upstream may have rotated its keys, OIDC Core §10.1.1),
    /// unless the set was fetched less than [`KID_REFETCH_INTERVAL`] seconds ago.
    pub async fn verify_id_token(
        &self,
        fetch: &dyn Fetch,
        metadata: &Metadata,
        token: &str,
        expect: &Expect<'_>,
    ) -> Result<IdClaims, UpstreamError> {
        let (keys, fetched_at) = self.jwks_at(fetch, metadata, expect.now).await?;
        match verify_id_token(token, &keys, expect) {
            Err(IdTokenError::UnknownKey(_)) if expect.now - fetched_at >= KID_REFETCH_INTERVAL => {
                let (keys, _) = self.refetch_jwks(fetch, metadata, expect.now).await?;
                Ok(verify_id_token(token, &keys, expect)?)
            }
            other => Ok(other?),
        }
    }
}

/// A poisoned lock only means another request panicked mid-update of a plain map: the map
/// itself is still whole, so keep using it rather than fail every later sign-in.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use async_trait::async_trait;
    use serde_json::Value;
    use url::Url;

    use super::*;
    use crate::federation::upstream::error::FetchError;
    use crate::federation::upstream::fetch::{Credentials, Response};
    use crate::federation::upstream::testkit::{
        CLIENT, ISSUER, NONCE, NOW, TestKey, discovery_doc, good_claims, jwks,
    };

    /// An upstream in memory: its JWKS can change between fetches; counts the fetches.
    struct Upstream {
        jwks: Mutex<Value>,
        discovery: AtomicUsize,
        jwks_fetches: AtomicUsize,
    }

    impl Upstream {
        fn new(keys: Value) -> Self {
            Upstream {
                jwks: Mutex::new(keys),
                discovery: AtomicUsize::new(0),
                jwks_fetches: AtomicUsize::new(0),
            }
        }
    }

    #[async_trait]
    impl Fetch for Upstream {
        async fn get(&self, url: &Url, _: Credentials<'_>) -> Result<Response, FetchError> {
            let body = if url.path().ends_with("/openid-configuration") {
                self.discovery.fetch_add(1, Ordering::SeqCst);
                Value::Object(discovery_doc(ISSUER, ISSUER))
            } else {
                self.jwks_fetches.fetch_add(1, Ordering::SeqCst);
                lock(&self.jwks).clone()
            };
            Ok(Response {
                status: 200,
                body: serde_json::to_vec(&body).unwrap_or_default(),
            })
        }

        async fn post_form(
            &self,
            _: &Url,
            _: &[(&str, &str)],
            _: Credentials<'_>,
        ) -> Result<Response, FetchError> {
            Err(FetchError::Unreachable("no".into()))
        }
    }

    fn expect_at(m: &Metadata, now: i64) -> Expect<'_> {
        Expect::new(m, CLIENT, NONCE, now)
    }

    #[tokio::test]
    async fn metadata_is_kept_for_the_ttl() {
        let up = Upstream::new(jwks(&[]));
        let cache = UpstreamCache::new();
        for t in [NOW, NOW + 10, NOW + TTL - 1] {
            cache.metadata(&up, ISSUER, t).await.expect("metadata");
        }
        assert_eq!(up.discovery.load(Ordering::SeqCst), 1);
        cache.metadata(&up, ISSUER, NOW + TTL).await.expect("again");
        assert_eq!(up.discovery.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn an_unknown_kid_refetches_the_key_set_once() {
        let (old, new) = (TestKey::es256("old"), TestKey::es256("new"));
        let up = Upstream::new(jwks(&[&old]));
        let cache = UpstreamCache::new();
        let m = cache.metadata(&up, ISSUER, NOW).await.expect("metadata");
        let claims = good_claims();
        cache
            .verify_id_token(&up, &m, &old.sign(&claims), &expect_at(&m, NOW))
            .await
            .expect("old key");
        assert_eq!(up.jwks_fetches.load(Ordering::SeqCst), 1);
        // The upstream rotates; a minute later a token under the new key arrives.
        *lock(&up.jwks) = jwks(&[&new]);
        let later = NOW + KID_REFETCH_INTERVAL;
        cache
            .verify_id_token(&up, &m, &new.sign(&claims), &expect_at(&m, later))
            .await
            .expect("new key after one refetch");
        assert_eq!(up.jwks_fetches.load(Ordering::SeqCst), 2);
        // Known now: no further fetch.
        cache
            .verify_id_token(&up, &m, &new.sign(&claims), &expect_at(&m, later + 1))
            .await
            .expect("cached");
        assert_eq!(up.jwks_fetches.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn unknown_kids_within_the_minute_do_not_refetch() {
        let (known, stranger) = (TestKey::es256("known"), TestKey::es256("stranger"));
        let up = Upstream::new(jwks(&[&known]));
        let cache = UpstreamCache::new();
        let m = cache.metadata(&up, ISSUER, NOW).await.expect("metadata");
        let token = stranger.sign(&good_claims());
        for t in [NOW, NOW + 1, NOW + KID_REFETCH_INTERVAL - 1] {
            let e = cache
                .verify_id_token(&up, &m, &token, &expect_at(&m, t))
                .await
                .expect_err("unknown kid");
            assert_eq!(
                e,
                UpstreamError::IdToken(IdTokenError::UnknownKey("stranger".into()))
            );
        }
        assert_eq!(up.jwks_fetches.load(Ordering::SeqCst), 1);
        // A minute on, one refetch; the kid is still unknown, and the next try waits again.
        for t in [NOW + KID_REFETCH_INTERVAL, NOW + KID_REFETCH_INTERVAL + 5] {
            assert!(
                cache
                    .verify_id_token(&up, &m, &token, &expect_at(&m, t))
                    .await
                    .is_err()
            );
        }
        assert_eq!(up.jwks_fetches.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn other_failures_do_not_refetch() {
        let k = TestKey::es256("k");
        let up = Upstream::new(jwks(&[&k]));
        let cache = UpstreamCache::new();
        let m = cache.metadata(&up, ISSUER, NOW).await.expect("metadata");
        let mut claims = good_claims();
        claims["aud"] = "someone-else".into();
        let late = NOW + 10 * KID_REFETCH_INTERVAL;
        let e = cache
            .verify_id_token(&up, &m, &k.sign(&claims), &expect_at(&m, NOW))
            .await;
        assert!(e.is_err());
        // Still within the TTL: the set is not fetched again for a bad audience.
        let e = cache
            .verify_id_token(&up, &m, &k.sign(&claims), &expect_at(&m, late))
            .await;
        assert!(e.is_err());
        assert_eq!(up.jwks_fetches.load(Ordering::SeqCst), 1);
    }
}
