//! The published key set: token publishes, jwks serves, verifiers read.
#![allow(clippy::expect_used)]

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

/// The embedded store, counting the key set's reads (eventually consistent, consistent) and
/// writes; its first `failing_writes` writes take 200 ms and fail.
struct CountingStore {
    inner: EmbeddedStore,
    reads: std::sync::atomic::AtomicUsize,
    consistent_reads: std::sync::atomic::AtomicUsize,
    writes: std::sync::atomic::AtomicUsize,
    failing_writes: usize,
}

impl CountingStore {
    fn new() -> Arc<Self> {
        Self::failing_writes(0)
    }
    fn failing_writes(n: usize) -> Arc<Self> {
        Arc::new(Self {
            inner: EmbeddedStore::in_memory().expect("store"),
            reads: Default::default(),
            consistent_reads: Default::default(),
            writes: Default::default(),
            failing_writes: n,
        })
    }
    fn inner(&self) -> &EmbeddedStore {
        &self.inner
    }
    fn reads(&self) -> (usize, usize) {
        use std::sync::atomic::Ordering::SeqCst;
        (self.reads.load(SeqCst), self.consistent_reads.load(SeqCst))
    }
}

#[async_trait]
impl KeyStore for CountingStore {
    async fn published_keys(&self) -> crate::store::StoreResult<Option<PublishedKeys>> {
        self.reads.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        self.inner().published_keys().await
    }
    async fn published_keys_consistent(&self) -> crate::store::StoreResult<Option<PublishedKeys>> {
        self.consistent_reads
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        self.inner().published_keys_consistent().await
    }
    async fn publish_keys(&self, keys: &PublishedKeys) -> crate::store::StoreResult<()> {
        let n = self
            .writes
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        if n < self.failing_writes {
            tokio::time::sleep(Duration::from_millis(200)).await;
            return Err(crate::store::StoreError::Unavailable("throttled".into()));
        }
        self.inner().publish_keys(keys).await
    }
    async fn wrapped_key(
        &self,
        id: &str,
    ) -> crate::store::StoreResult<Option<crate::store::WrappedKey>> {
        self.inner().wrapped_key(id).await
    }
    async fn put_wrapped_key(
        &self,
        key: &crate::store::WrappedKey,
    ) -> crate::store::StoreResult<()> {
        self.inner().put_wrapped_key(key).await
    }
}

fn key() -> Arc<dyn Signer> {
    Arc::new(LocalSigner::generate(Alg::ES256).expect("key"))
}

async fn token(key: &Arc<dyn Signer>) -> String {
    crate::jwt::sign(key.as_ref(), "JWT", &serde_json::json!({"sub": "s"}))
        .await
        .expect("sign")
}

async fn publish(store: &Arc<CountingStore>, keys: Vec<Arc<dyn Signer>>) {
    Publishing::new(
        Arc::new(KeyRing::new(keys)),
        store.clone(),
        Arc::new(SystemClock),
    )
    .publish()
    .await
    .expect("publish");
}

#[tokio::test]
async fn a_key_published_after_the_copy_was_read_is_found_at_once() {
    let store = CountingStore::new();
    let (a, b) = (key(), key());
    publish(&store, vec![a.clone()]).await;
    // Two verifiers that read the set before the rotation's switch: one may read again for
    // an unknown kid after 50 ms, the other not for an hour.
    let soon = StoreKeys::new(store.clone()).with_kid_reread(Duration::from_millis(50));
    let late = StoreKeys::new(store.clone()).with_kid_reread(Duration::from_secs(3600));
    soon.public_keys().await.expect("keys");
    late.public_keys().await.expect("keys");
    // The switch: a token function of the new configuration publishes, then signs with b.
    publish(&store, vec![b.clone(), a.clone()]).await;
    let by_b = token(&b).await;
    tokio::time::sleep(Duration::from_millis(60)).await;

    soon.verify(&by_b).await.expect("found after one read");
    soon.verify(&token(&a).await)
        .await
        .expect("a still verifies");
    assert_eq!(store.reads(), (2, 1), "one consistent read");
    assert!(matches!(
        late.verify(&by_b).await,
        Err(VerifyError::Token(jws::UNKNOWN_KID))
    ));
    assert_eq!(store.reads(), (2, 1), "no read within the interval");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn made_up_key_ids_cost_one_read_per_interval() {
    let store = CountingStore::new();
    let a = key();
    publish(&store, vec![a.clone()]).await;
    let interval = Duration::from_secs(1);
    let verifier = Arc::new(StoreKeys::new(store.clone()).with_kid_reread(interval));
    verifier.public_keys().await.expect("keys");
    let stray = key();
    let forged = token(&stray).await;
    // Within the interval of the first read: none.
    assert!(matches!(
        verifier.verify(&forged).await,
        Err(VerifyError::Token(jws::UNKNOWN_KID))
    ));
    assert_eq!(store.reads(), (1, 0));

    // After it, many at once: one read between them.
    tokio::time::sleep(interval + Duration::from_millis(100)).await;
    let tries: Vec<_> = (0..16)
        .map(|_| {
            let (v, t) = (verifier.clone(), forged.clone());
            tokio::spawn(async move { v.verify(&t).await })
        })
        .collect();
    for t in tries {
        assert!(matches!(
            t.await.expect("task"),
            Err(VerifyError::Token(jws::UNKNOWN_KID))
        ));
    }
    assert_eq!(store.reads(), (1, 1));

    // Other failures never read: a known key's token with a signature that is not its own.
    tokio::time::sleep(interval + Duration::from_millis(100)).await;
    let good = token(&a).await;
    let bad = format!(
        "{}{}",
        &good[..good.rfind('.').expect("jws") + 1],
        &forged[forged.rfind('.').expect("jws") + 1..]
    );
    assert!(matches!(
        verifier.verify(&bad).await,
        Err(VerifyError::Token("bad signature"))
    ));
    assert_eq!(store.reads(), (1, 1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signature_waits_for_the_publishing_started_at_init_and_retries_it() {
    let store = CountingStore::failing_writes(1);
    let key = key();
    let signer = Arc::new(Publishing::new(
        Arc::new(KeyRing::new(vec![key.clone()])),
        store.clone(),
        Arc::new(SystemClock),
    ));
    signer.start_publishing();
    // The first request arrives while that write is under way (and about to fail).
    while store.writes.load(std::sync::atomic::Ordering::SeqCst) == 0 {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let sig = signer.sign(b"input").await.expect("sign");
    let published = store.inner().published_keys().await.expect("read");
    let kids: Vec<String> = decode(&published.expect("published before the signature"))
        .expect("decode")
        .iter()
        .map(|k| k.kid.clone())
        .collect();
    assert_eq!(
        kids,
        vec![key.public_keys().await.expect("keys")[0].kid.clone()]
    );
    assert_eq!(
        store.writes.load(std::sync::atomic::Ordering::SeqCst),
        2,
        "the failed write, then the signature's own"
    );
    assert!(key.public_keys().await.expect("keys")[0].verify(b"input", &sig));
}
