//! Clients: one item each, read on every request.
use async_trait::async_trait;

use super::*;

#[async_trait]
impl ClientStore for DynamoStore {
    async fn client(&self, client_id: &str) -> StoreResult<Option<Client>> {
        // Clients change rarely (provisioning), are read on every request: an eventually
        // consistent read costs half.
        self.get_record(schema::client(client_id), false).await
    }

    async fn put_client(&self, client: &Client) -> StoreResult<()> {
        self.put(item(&schema::client(&client.client_id), client, None)?)
            .await
    }

    async fn delete_client(&self, client_id: &str) -> StoreResult<bool> {
        self.delete_existing(schema::client(client_id)).await
    }

    async fn list_clients(&self, after: Option<&str>, limit: usize) -> StoreResult<Page<Client>> {
        self.list(schema::CLIENTS, after, limit).await
    }
}
