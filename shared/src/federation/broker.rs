//! What the federation function holds besides the store: the provider's published keys (it
//! verifies like every function, and signs nothing), the sealer that opens upstream client
//! secrets, and the outbound client with its per-container cache of upstream metadata and
//! keys.
use std::sync::Arc;

use async_trait::async_trait;

use super::{
    seal::Sealer,
    upstream::{Fetch, HttpFetch, UpstreamCache, UpstreamError},
};
use crate::{
    jose::PublicKey,
    signer::{SignerError, Verifier},
};

pub struct Federating {
    keys: Arc<dyn Verifier>,
    pub sealer: Arc<dyn Sealer>,
    pub fetch: Arc<dyn Fetch>,
    pub upstreams: UpstreamCache,
}

impl Federating {
    /// With the real HTTPS client.
    pub fn new(keys: Arc<dyn Verifier>, sealer: Arc<dyn Sealer>) -> Result<Self, UpstreamError> {
        Ok(Self::with_fetch(keys, sealer, Arc::new(HttpFetch::new()?)))
    }

    pub fn with_fetch(
        keys: Arc<dyn Verifier>,
        sealer: Arc<dyn Sealer>,
        fetch: Arc<dyn Fetch>,
    ) -> Self {
        Self {
            keys,
            sealer,
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
