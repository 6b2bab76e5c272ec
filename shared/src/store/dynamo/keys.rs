//! The published key set and the wrapped signing keys.
use async_trait::async_trait;

use super::*;

#[async_trait]
impl KeyStore for DynamoStore {
    async fn published_keys(&self) -> StoreResult<Option<PublishedKeys>> {
        // Eventually consistent: half the read cost, and a key set is published well ahead
        // of the first token it verifies.
        self.get_record(schema::PUBLISHED_KEYS.into(), false).await
    }

    async fn published_keys_consistent(&self) -> StoreResult<Option<PublishedKeys>> {
        self.get_record(schema::PUBLISHED_KEYS.into(), true).await
    }

    async fn publish_keys(&self, keys: &PublishedKeys) -> StoreResult<()> {
        self.put(item(schema::PUBLISHED_KEYS, keys, None)?).await
    }

    async fn wrapped_key(&self, id: &str) -> StoreResult<Option<WrappedKey>> {
        self.get_record(schema::wrapped_key(id), true).await
    }

    async fn put_wrapped_key(&self, key: &WrappedKey) -> StoreResult<()> {
        self.put_once(
            item(&schema::wrapped_key(&key.id), key, None)?,
            "wrapped-key",
        )
        .await
    }
}
