//! Creating the provider's table: used by the local server, the tests and admin setup, never
//! by a request (`template.yaml` declares the same table for a deployment).
use std::time::Duration;

use aws_sdk_dynamodb::{
    error::{ProvideErrorMetadata, SdkError},
    types::{
        AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
        TableStatus, TimeToLiveSpecification, TimeToLiveStatus,
    },
};

use super::item::{PK, TTL};
use crate::store::{StoreError, StoreResult};

/// A provisioning failure, with the service's own message (no item data is involved).
fn provisioning<E, R>(op: &str, e: SdkError<E, R>) -> StoreError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    StoreError::Unavailable(format!(
        "dynamodb {op}: {}",
        aws_sdk_dynamodb::error::DisplayErrorContext(e)
    ))
}

/// Creates the provider's table (on-demand, hash key `pk`, TTL on `ttl`) and waits until it
/// is usable. Idempotent: an existing table is fine, and TTL is only turned on if it is not.
/// This is the provisioning code used by scripts and tests; `template.yaml` declares the same.
pub async fn create_table(client: &aws_sdk_dynamodb::Client, table: &str) -> StoreResult<()> {
    create(client, table).await?;
    wait_until_active(client, table).await?;
    enable_ttl(client, table).await
}

fn unbuildable(e: impl std::fmt::Display) -> StoreError {
    StoreError::Unavailable(format!("dynamodb CreateTable: {e}"))
}

/// CreateTable, unless the table exists.
async fn create(client: &aws_sdk_dynamodb::Client, table: &str) -> StoreResult<()> {
    let created = client
        .create_table()
        .table_name(table)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name(PK)
                .attribute_type(ScalarAttributeType::S)
                .build()
                .map_err(unbuildable)?,
        )
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name(PK)
                .key_type(KeyType::Hash)
                .build()
                .map_err(unbuildable)?,
        )
        .send()
        .await;
    match created {
        Ok(_) => Ok(()),
        Err(e)
            if e.as_service_error()
                .is_some_and(|e| e.is_resource_in_use_exception()) =>
        {
            Ok(())
        }
        Err(e) => Err(provisioning("CreateTable", e)),
    }
}

/// A new table is CREATING for a few seconds on AWS; TTL can only be set once ACTIVE.
async fn wait_until_active(client: &aws_sdk_dynamodb::Client, table: &str) -> StoreResult<()> {
    for _ in 0..240 {
        let out = client
            .describe_table()
            .table_name(table)
            .send()
            .await
            .map_err(|e| provisioning("DescribeTable", e))?;
        if out.table().and_then(|t| t.table_status()) == Some(&TableStatus::Active) {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    Err(StoreError::Unavailable(format!(
        "dynamodb: table {table} did not become ACTIVE within 2 minutes"
    )))
}

/// Turns TTL on for `ttl`, unless it is on already; on for another attribute is an error.
async fn enable_ttl(client: &aws_sdk_dynamodb::Client, table: &str) -> StoreResult<()> {
    let ttl = client
        .describe_time_to_live()
        .table_name(table)
        .send()
        .await
        .map_err(|e| provisioning("DescribeTimeToLive", e))?;
    let (status, attribute) = ttl
        .time_to_live_description()
        .map(|d| (d.time_to_live_status(), d.attribute_name()))
        .unwrap_or((None, None));
    let on = matches!(
        status,
        Some(TimeToLiveStatus::Enabled | TimeToLiveStatus::Enabling)
    );
    if on && attribute == Some(TTL) {
        return Ok(());
    }
    if on {
        return Err(StoreError::Unavailable(format!(
            "dynamodb: table {table} has TTL on attribute {:?}, expected {TTL:?}",
            attribute.unwrap_or_default()
        )));
    }
    client
        .update_time_to_live()
        .table_name(table)
        .time_to_live_specification(
            TimeToLiveSpecification::builder()
                .enabled(true)
                .attribute_name(TTL)
                .build()
                .map_err(unbuildable)?,
        )
        .send()
        .await
        .map_err(|e| provisioning("UpdateTimeToLive", e))?;
    Ok(())
}
