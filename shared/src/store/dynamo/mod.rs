//! The DynamoDB backend: one table, hash key `pk` holding the keys of [`schema`], records
//! stored as the model structs through serde_dynamo plus a numeric `ttl` (epoch seconds, as
//! [`schema::Expiring::ttl`] says) on everything that expires. TTL deletes lazily (and never
//! on emulators), so every read checks expiry itself, exactly as the embedded store does.
//! Beyond the records, some items carry attributes of their own: `user#` a `rev`
//! (optimistic-lock counter), `code#` `put_req` and `consume_req`, `refresh#` `put_req` and
//! `rotate_req`, `replay#`, `fedstate#` and `link#` `put_req`; an `email#` item holds `sub`,
//! a `consent#` item one attribute per scope and claim agreed to (see `requests.rs`), and
//! `providers#all` a map of every upstream provider by id (see `providers.rs`).
//!
//! Every request-path read is a GetItem, or for a sign-in one BatchGetItem of the request,
//! the username (which holds the whole user, so sign-in needs no second hop; a record of the
//! older format holds only `sub` and costs one GetItem more), the failure counters and,
//! until a container has cached it, the deployment secret. The admin listings
//! (`list_clients`, `list_users`) are the exception: a Scan filtered with
//! `begins_with(pk, …)`, which reads the whole table.
//!
//! `put_req` / `consume_req` / `rotate_req` are per-call random nonces: when the SDK retries a
//! conditional write whose first attempt succeeded but whose answer was lost, the retry's
//! condition fails, and the nonce tells "my own earlier attempt won" from "someone else's call
//! won". A used refresh token is kept until it expires, so presenting it again is recognised
//! as a replay.
//!
//! A sign-in's outcome is one TransactWriteItems: for a success the session and the request,
//! for a failure the counters; each counter's write carries its [`Guard`] as a condition
//! (an UpdateItem adding one, a ConditionCheck, or a DeleteItem), so of parallel attempts
//! only those the limits allow get written, and the others lose and are refused. The
//! transaction's ClientRequestToken makes the SDK's retries of it idempotent.
//!
//! Creating the table is [`provision`]'s, which no request uses.
mod clients;
mod codes;
mod factors;
mod federation;
mod item;
mod keys;
mod providers;
pub mod provision;
mod requests;
mod signin;
mod tokens;
mod users;

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_dynamodb::{
    error::{ProvideErrorMetadata, SdkError},
    operation::{put_item::PutItemError, transact_write_items::TransactWriteItemsError},
    types::{
        AttributeValue, KeysAndAttributes, ReturnValuesOnConditionCheckFailure, TransactWriteItem,
    },
};
use serde::de::DeserializeOwned;

use super::*;
use crate::crypto::random_token;
use item::*;

/// Attempts for writes that lose an optimistic race (transaction conflicts, concurrent
/// user updates) before giving up with `Unavailable`.
const MAX_ATTEMPTS: u32 = 6;

pub struct DynamoStore {
    client: aws_sdk_dynamodb::Client,
    table: String,
}

/// A short random pause before retrying a lost race, growing with the attempt.
async fn backoff(attempt: u32) {
    let jitter = random_token(1).bytes().map(u64::from).sum::<u64>() % 16;
    tokio::time::sleep(Duration::from_millis((10u64 << attempt.min(5)) + jitter)).await;
}

/// Why a transaction did not happen.
enum TxFailure {
    /// The condition of the item at this index failed.
    Condition(usize),
    Store(StoreError),
}

impl DynamoStore {
    pub fn new(client: aws_sdk_dynamodb::Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    /// An SDK failure as a store error. DynamoDB answers `ResourceNotFoundException` to any
    /// item call on a table that does not exist: that is [`StoreError::TableMissing`], the rest
    /// `Unavailable`. Both say only the call and [`crate::aws::failure`], never the request.
    fn failed<E: ProvideErrorMetadata, R>(&self, op: &str, e: &SdkError<E, R>) -> StoreError {
        let detail = format!("dynamodb {op}: {}", crate::aws::failure(e));
        match e.as_service_error().and_then(ProvideErrorMetadata::code) {
            Some("ResourceNotFoundException") => StoreError::TableMissing {
                table: self.table.clone(),
                detail,
            },
            _ => StoreError::Unavailable(detail),
        }
    }

    async fn get(&self, pk: String, consistent: bool) -> StoreResult<Option<Item>> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(pk)))
            .consistent_read(consistent)
            .send()
            .await
            .map_err(|e| self.failed("GetItem", &e))?;
        Ok(out.item)
    }

    async fn get_record<T: DeserializeOwned>(
        &self,
        pk: String,
        consistent: bool,
    ) -> StoreResult<Option<T>> {
        self.get(pk, consistent).await?.map(parse).transpose()
    }

    async fn put(&self, item: Item) -> StoreResult<()> {
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .send()
            .await
            .map_err(|e| self.failed("PutItem", &e))?;
        Ok(())
    }

    /// Items whose `pk` starts with `prefix`, after `prefix + after`, up to `limit`: a Scan
    /// with a filter, so it reads (and pays for) the whole table, page by page. Admin
    /// listings only; nothing on a request path scans. The cursor is the last item's key
    /// without its prefix, passed back as ExclusiveStartKey.
    async fn list<T: DeserializeOwned>(
        &self,
        prefix: &str,
        after: Option<&str>,
        limit: usize,
    ) -> StoreResult<Page<T>> {
        let limit = limit.max(1);
        let mut start = after.map(|a| key(format!("{prefix}{a}")));
        // One more than asked for: it tells whether another page exists.
        let mut found: Vec<(String, Item)> = Vec::new();
        'scan: loop {
            let out = self
                .client
                .scan()
                .table_name(&self.table)
                .filter_expression("begins_with(#pk, :prefix)")
                .expression_attribute_names("#pk", PK)
                .expression_attribute_values(":prefix", s(prefix))
                .consistent_read(true)
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|e| self.failed("Scan", &e))?;
            for item in out.items.unwrap_or_default() {
                let id = string_attr(&item, PK).and_then(|pk| pk.strip_prefix(prefix));
                if let Some(id) = id {
                    found.push((id.to_string(), item));
                }
                if found.len() > limit {
                    break 'scan;
                }
            }
            match out.last_evaluated_key {
                Some(k) if !k.is_empty() => start = Some(k),
                _ => break,
            }
        }
        let next = if found.len() > limit {
            found.truncate(limit);
            found.last().map(|(id, _)| id.clone())
        } else {
            None
        };
        let items = found
            .into_iter()
            .map(|(_, item)| parse(item))
            .collect::<StoreResult<Vec<T>>>()?;
        Ok(Page { items, next })
    }

    /// A put that never overwrites (`attribute_not_exists(pk)`): `Conflict(kind)` if the
    /// item exists.
    async fn put_once(&self, record: Item, kind: &str) -> StoreResult<()> {
        let condition = "attribute_not_exists(#pk)";
        match self
            .put_if(record, condition, names(&[("#pk", PK)]), None)
            .await?
        {
            true => Ok(()),
            false => Err(StoreError::Conflict(kind.into())),
        }
    }

    /// A conditional put: `true` if this call wrote `record`, `false` if the condition
    /// failed. A per-call nonce (`put_req`) tells an SDK retry of our own successful attempt
    /// (whose condition then fails) from someone else's write.
    async fn put_if(
        &self,
        mut record: Item,
        condition: &str,
        names: HashMap<String, String>,
        values: Option<HashMap<String, AttributeValue>>,
    ) -> StoreResult<bool> {
        let nonce = random_token(12);
        record.insert("put_req".into(), s(&nonce));
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(record))
            .condition_expression(condition)
            .set_expression_attribute_names(Some(names))
            .set_expression_attribute_values(values)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(e) => match e.as_service_error() {
                Some(PutItemError::ConditionalCheckFailedException(c)) => Ok(c
                    .item()
                    .is_some_and(|old| string_attr(old, "put_req") == Some(nonce.as_str()))),
                _ => Err(self.failed("PutItem", &e)),
            },
        }
    }

    async fn delete(&self, pk: String) -> StoreResult<()> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(key(pk)))
            .send()
            .await
            .map_err(|e| self.failed("DeleteItem", &e))?;
        Ok(())
    }

    /// Deletes the item under `pk`; `true` only for the call that removed it (ALL_OLD
    /// answers with the item only to the delete that found it).
    async fn delete_existing(&self, pk: String) -> StoreResult<bool> {
        let out = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(key(pk)))
            .return_values(aws_sdk_dynamodb::types::ReturnValue::AllOld)
            .send()
            .await
            .map_err(|e| self.failed("DeleteItem", &e))?;
        Ok(out.attributes.is_some_and(|a| !a.is_empty()))
    }

    /// Runs one TransactWriteItems, retrying the races DynamoDB reports as
    /// `TransactionConflict` (another transaction on the same items was in flight). Each
    /// attempt has its own ClientRequestToken, so the SDK's own retries of an attempt are
    /// idempotent.
    async fn transact(&self, items: Vec<TransactWriteItem>) -> Result<(), TxFailure> {
        for attempt in 0..MAX_ATTEMPTS {
            let result = self
                .client
                .transact_write_items()
                .set_transact_items(Some(items.clone()))
                .client_request_token(random_token(18))
                .send()
                .await;
            let err = match result {
                Ok(_) => return Ok(()),
                Err(e) => e,
            };
            let reasons: Vec<Option<String>> = match err.as_service_error() {
                Some(TransactWriteItemsError::TransactionCanceledException(c)) => c
                    .cancellation_reasons()
                    .iter()
                    .map(|r| r.code().map(str::to_string))
                    .collect(),
                _ => {
                    return Err(TxFailure::Store(self.failed("TransactWriteItems", &err)));
                }
            };
            if let Some(i) = reasons
                .iter()
                .position(|c| c.as_deref() == Some("ConditionalCheckFailed"))
            {
                return Err(TxFailure::Condition(i));
            }
            if !reasons
                .iter()
                .any(|c| c.as_deref() == Some("TransactionConflict"))
            {
                let codes: Vec<&str> = reasons
                    .iter()
                    .filter_map(|c| c.as_deref())
                    .filter(|c| *c != "None")
                    .collect();
                return Err(TxFailure::Store(StoreError::Unavailable(format!(
                    "dynamodb TransactWriteItems cancelled: {}",
                    codes.join(", ")
                ))));
            }
            backoff(attempt).await;
        }
        Err(TxFailure::Store(StoreError::Unavailable(
            "dynamodb TransactWriteItems: conflicting transactions, gave up".into(),
        )))
    }

    /// The items under `keys` (distinct), read strongly consistently in one BatchGetItem,
    /// by key. Keys DynamoDB could not even hold are absent. Keys it leaves unprocessed
    /// (throughput exceeded) are asked for again.
    async fn batch_get(&self, keys: Vec<String>) -> StoreResult<HashMap<String, Item>> {
        let mut pending: Vec<Item> = keys
            .into_iter()
            .filter(|k| k.len() <= MAX_KEY_BYTES)
            .map(key)
            .collect();
        let mut found = HashMap::new();
        for attempt in 0..MAX_ATTEMPTS {
            let request = KeysAndAttributes::builder()
                .set_keys(Some(std::mem::take(&mut pending)))
                .consistent_read(true)
                .build()
                .map_err(|_| StoreError::Unavailable("dynamodb: cannot build a read".into()))?;
            let out = self
                .client
                .batch_get_item()
                .request_items(&self.table, request)
                .send()
                .await
                .map_err(|e| self.failed("BatchGetItem", &e))?;
            let items = out
                .responses
                .and_then(|mut r| r.remove(&self.table))
                .unwrap_or_default();
            for item in items {
                if let Some(pk) = string_attr(&item, PK) {
                    found.insert(pk.to_string(), item);
                }
            }
            pending = out
                .unprocessed_keys
                .and_then(|mut u| u.remove(&self.table))
                .map(|k| k.keys().to_vec())
                .unwrap_or_default();
            if pending.is_empty() {
                return Ok(found);
            }
            backoff(attempt).await;
        }
        Err(StoreError::Unavailable(
            "dynamodb BatchGetItem: keys left unprocessed, gave up".into(),
        ))
    }
}
