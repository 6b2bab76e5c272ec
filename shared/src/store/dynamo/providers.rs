//! Upstream providers: all in the one `providers#all` item, a map attribute by id. Listing
//! them (every sign-in page) is one GetItem, and writing one an UpdateItem of its map entry,
//! with no read first and the others untouched. An item holds at most 400 KB: some hundreds
//! of providers.
use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::{operation::update_item::UpdateItemError, types::AttributeValue};

use super::*;
use crate::store::schema::{PROVIDERS_ATTR, Providers};

impl DynamoStore {
    async fn providers(&self) -> StoreResult<Providers> {
        // Eventually consistent, as clients: providers change rarely (an administrator's
        // change), and are read on every sign-in page.
        Ok(self
            .get_record(schema::PROVIDERS.into(), false)
            .await?
            .unwrap_or_default())
    }
}

#[async_trait]
impl ProviderStore for DynamoStore {
    async fn provider(&self, id: &str) -> StoreResult<Option<UpstreamProvider>> {
        Ok(self.providers().await?.providers.remove(id))
    }

    async fn list_providers(&self) -> StoreResult<Vec<UpstreamProvider>> {
        Ok(self.providers().await?.providers.into_values().collect())
    }

    async fn put_provider(&self, p: &UpstreamProvider) -> StoreResult<()> {
        let value = serde_dynamo::to_attribute_value(p).map_err(|_| {
            StoreError::Unavailable("dynamodb: cannot encode a provider record".into())
        })?;
        // A map's entry can only be set once the map exists: make it first if need be. Both
        // updates are idempotent.
        self.client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(schema::PROVIDERS.into())))
            .update_expression("SET #ps = if_not_exists(#ps, :empty)")
            .expression_attribute_names("#ps", PROVIDERS_ATTR)
            .expression_attribute_values(":empty", AttributeValue::M(HashMap::new()))
            .send()
            .await
            .map_err(|e| self.failed("UpdateItem", &e))?;
        self.client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(schema::PROVIDERS.into())))
            .update_expression("SET #ps.#id = :p")
            .expression_attribute_names("#ps", PROVIDERS_ATTR)
            .expression_attribute_names("#id", &p.id)
            .expression_attribute_values(":p", value)
            .send()
            .await
            .map_err(|e| self.failed("UpdateItem", &e))?;
        Ok(())
    }

    async fn delete_provider(&self, id: &str) -> StoreResult<bool> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(schema::PROVIDERS.into())))
            .update_expression("REMOVE #ps.#id")
            .condition_expression("attribute_exists(#ps.#id)")
            .expression_attribute_names("#ps", PROVIDERS_ATTR)
            .expression_attribute_names("#id", id)
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(e) => match e.as_service_error() {
                // (An SDK retry of a removal whose answer was lost reads as "none".)
                Some(UpdateItemError::ConditionalCheckFailedException(_)) => Ok(false),
                _ => Err(self.failed("UpdateItem", &e)),
            },
        }
    }
}
