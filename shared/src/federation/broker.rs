//! What the federation function holds besides the store: the provider's published keys (it
//! verifies like every function, and signs no token), the sealer that opens upstream client
//! secrets, its own client key for `private_key_jwt` (`client_key`), and the outbound client
//! with its per-container cache of upstream metadata and keys.
use std::sync::Arc;

use async_trait::async_trait;

use super::{
    seal::Sealer,
    upstream::{Fetch, HttpFetch, UpstreamCache, UpstreamError},
};
use crate::{
    jose::PublicKey,
    signer::{Signer, SignerError, Verifier},
};

pub struct Federating {
    keys: Arc<dyn Verifier>,
    pub sealer: Arc<dyn Sealer>,
    /// None when none is configured (`FEDERATION_CLIENT_KEY` unset on AWS).
    pub client_key: Option<Arc<dyn Signer>>,
    pub fetch: Arc<dyn Fetch>,
    pub upstreams: UpstreamCache,
}

impl Federating {
    /// With the real HTTPS client.
    pub fn new(
        keys: Arc<dyn Verifier>,
        sealer: Arc<dyn Sealer>,
        client_key: Option<Arc<dyn Signer>>,
    ) -> Result<Self, UpstreamError> {
        let fetch = Arc::new(HttpFetch::new()?);
        Ok(Self::with_fetch(keys, sealer, client_key, fetch))
    }

    pub fn with_fetch(
        keys: Arc<dyn Verifier>,
        sealer: Arc<dyn Sealer>,
        client_key: Option<Arc<dyn Signer>>,
        fetch: Arc<dyn Fetch>,
    ) -> Self {
        Self {
            keys,
            sealer,
            client_key,
            fetch,
            upstreams: UpstreamCache::new(),
        }
    }
}

#[async_trait]
impl Verifier for Federating {
    async fn public_keys(&self) -> Result<Arc<Vec<PublicKey>>, SignerError> {
        self.keys.public_keys().await
    }
}
