//! The DynamoDB backend: one table, hash key `pk` (S) with typed prefixes, records stored as
//! the model structs through serde_dynamo plus a numeric `ttl` (epoch seconds) on everything
//! that expires. TTL deletes lazily (and never on emulators), so every read checks expiry
//! itself, exactly as the embedded store does.
//!
//! | pk                    | attributes                                   | ttl                     |
//! |-----------------------|----------------------------------------------|-------------------------|
//! | `client#<client_id>`  | [`Client`]                                   | –                       |
//! | `user#<sub>`          | [`User`] + `rev` (optimistic-lock counter)   | –                       |
//! | `username#<username>` | [`User`]: a copy of `user#<sub>`, written with it | –                  |
//! | `email#<lowercased>`  | `sub`                                        | –                       |
//! | `authreq#<id>`        | [`AuthRequest`]                              | `expires_at`            |
//! | `session#<id_hash>`   | [`Session`]                                  | `expires_at`            |
//! | `code#<code_hash>`    | [`AuthCode`] + `put_req`, `consume_req`      | `expires_at` + 3600     |
//! | `revoked#<jti>`       | `expires_at`                                 | `expires_at`            |
//! | `consent#<sub>#<client_id>` | [`Consent`]                            | –                       |
//! | `refresh#<token_hash>`| [`RefreshToken`] + `put_req`, `rotate_req`   | `expires_at`            |
//! | `replay#<key>`        | `until` + `put_req`                          | `until`                 |
//! | `throttle#<key>`      | [`Counter`]: `count`, `last`, `expires_at`   | `expires_at`            |
//! | `secret#deployment`   | [`DeploymentSecret`]                         | –                       |
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
use std::collections::HashMap;
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_dynamodb::{
    error::{ProvideErrorMetadata, SdkError},
    operation::{
        put_item::PutItemError, transact_write_items::TransactWriteItemsError,
        update_item::UpdateItemError,
    },
    types::{
        AttributeDefinition, AttributeValue, BillingMode, ConditionCheck, Delete, KeySchemaElement,
        KeyType, KeysAndAttributes, Put, ReturnValuesOnConditionCheckFailure, ScalarAttributeType,
        TableStatus, TimeToLiveSpecification, TimeToLiveStatus, TransactWriteItem, Update,
    },
};
use serde::{Deserialize, Serialize, de::DeserializeOwned};

use super::*;
use crate::crypto::random_token;

type Item = HashMap<String, AttributeValue>;

const PK: &str = "pk";
const TTL: &str = "ttl";
/// How long a code's record outlives its expiry, so a replay is still recognised as one.
pub const CODE_REPLAY_WINDOW: i64 = 3600;
/// Attempts for writes that lose an optimistic race (transaction conflicts, concurrent
/// user updates) before giving up with `Unavailable`.
const MAX_ATTEMPTS: u32 = 6;

pub struct DynamoStore {
    client: aws_sdk_dynamodb::Client,
    table: String,
}

/// The `sub` a `username#` or `email#` item points to.
#[derive(Serialize, Deserialize)]
struct Claim {
    sub: String,
}

#[derive(Serialize, Deserialize)]
struct Revoked {
    expires_at: i64,
}

/// A remembered one-time key (`replay#<key>`).
#[derive(Serialize, Deserialize)]
struct Replay {
    until: i64,
}

/// A short description of an SDK failure: the error code or the failure class, never a
/// message from the service or anything from the request (items carry secrets' hashes,
/// password hashes and personal data).
fn failure<E: ProvideErrorMetadata, R>(e: &SdkError<E, R>) -> String {
    match e {
        SdkError::ServiceError(ctx) => ctx.err().code().unwrap_or("unknown service error").into(),
        SdkError::TimeoutError(_) => "timeout".into(),
        SdkError::DispatchFailure(d) if d.is_timeout() => "connect timeout".into(),
        SdkError::DispatchFailure(d) if d.is_io() => "network error".into(),
        SdkError::DispatchFailure(_) => "dispatch failure".into(),
        SdkError::ResponseError(_) => "unreadable response".into(),
        SdkError::ConstructionFailure(_) => "request construction failed".into(),
        _ => "unknown failure".into(),
    }
}

fn unavailable<E: ProvideErrorMetadata, R>(op: &str, e: &SdkError<E, R>) -> StoreError {
    StoreError::Unavailable(format!("dynamodb {op}: {}", failure(e)))
}

fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

fn n(v: i64) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

fn key(pk: String) -> Item {
    HashMap::from([(PK.to_string(), s(pk))])
}

/// The item for `value` under `pk`, with `ttl` when it expires. Top-level nulls (`None`
/// fields) are left out, so `attribute_not_exists(minted)` means "not redeemed".
fn item<T: Serialize>(pk: &str, value: &T, ttl: Option<i64>) -> StoreResult<Item> {
    let mut item: Item = serde_dynamo::to_item(value).map_err(|_| {
        StoreError::Unavailable(format!("dynamodb: cannot encode a {} record", kind_of(pk)))
    })?;
    item.retain(|_, v| !matches!(v, AttributeValue::Null(_)));
    item.insert(PK.into(), s(pk));
    if let Some(ttl) = ttl {
        item.insert(TTL.into(), n(ttl));
    }
    Ok(item)
}

fn parse<T: DeserializeOwned>(item: Item) -> StoreResult<T> {
    let kind = match item.get(PK) {
        Some(AttributeValue::S(pk)) => kind_of(pk).to_string(),
        _ => "keyless".into(),
    };
    // serde_dynamo's messages quote the offending values: keep them out of the error.
    serde_dynamo::from_item(item)
        .map_err(|_| StoreError::Unavailable(format!("dynamodb: malformed {kind} item")))
}

/// `user#abc` → `user`: the item type, the only part of a key fit for an error message.
fn kind_of(pk: &str) -> &str {
    pk.split('#').next().unwrap_or("item")
}

/// DynamoDB's limit on a partition key's size.
const MAX_KEY_BYTES: usize = 2048;

fn username_key(username: &str) -> String {
    format!("username#{username}")
}

fn throttle_key(key: &str) -> String {
    format!("throttle#{key}")
}

/// A `username#` item as a user: the whole user (it has a password hash), or, in the older
/// format, the `sub` to read the user by.
enum UsernameItem {
    User(Box<User>),
    Sub(String),
}

fn username_item(item: Item) -> StoreResult<UsernameItem> {
    if item.contains_key("password_hash") {
        Ok(UsernameItem::User(Box::new(parse(item)?)))
    } else {
        Ok(UsernameItem::Sub(parse::<Claim>(item)?.sub))
    }
}

/// Emails are unique case-insensitively (as in the embedded store).
fn email_key(email: &str) -> String {
    format!("email#{}", email.to_lowercase())
}

fn names(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn values(pairs: Vec<(&str, AttributeValue)>) -> HashMap<String, AttributeValue> {
    pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
}

/// The string attribute `name` of an item, if it is one.
fn string_attr<'a>(item: &'a Item, name: &str) -> Option<&'a str> {
    match item.get(name) {
        Some(AttributeValue::S(v)) => Some(v),
        _ => None,
    }
}

/// A conditional put that must never overwrite (`attribute_not_exists(pk)`).
fn put_new(table: &str, item: Item) -> StoreResult<TransactWriteItem> {
    let put = Put::builder()
        .table_name(table)
        .set_item(Some(item))
        .condition_expression("attribute_not_exists(#pk)")
        .expression_attribute_names("#pk", PK)
        .build()
        .map_err(|_| StoreError::Unavailable("dynamodb: cannot build a put".into()))?;
    Ok(TransactWriteItem::builder().put(put).build())
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

    async fn get(&self, pk: String, consistent: bool) -> StoreResult<Option<Item>> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(pk)))
            .consistent_read(consistent)
            .send()
            .await
            .map_err(|e| unavailable("GetItem", &e))?;
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
            .map_err(|e| unavailable("PutItem", &e))?;
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
                .map_err(|e| unavailable("Scan", &e))?;
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
    /// item exists. A per-call nonce tells an SDK retry of our own successful attempt (whose
    /// condition then fails) from a real conflict.
    async fn put_once(&self, mut record: Item, kind: &str) -> StoreResult<()> {
        let nonce = random_token(12);
        record.insert("put_req".into(), s(&nonce));
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(record))
            .condition_expression("attribute_not_exists(#pk)")
            .expression_attribute_names("#pk", PK)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(e) => match e.as_service_error() {
                Some(PutItemError::ConditionalCheckFailedException(c)) => {
                    let mine = c
                        .item()
                        .is_some_and(|old| string_attr(old, "put_req") == Some(nonce.as_str()));
                    if mine {
                        Ok(())
                    } else {
                        Err(StoreError::Conflict(kind.into()))
                    }
                }
                _ => Err(unavailable("PutItem", &e)),
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
            .map_err(|e| unavailable("DeleteItem", &e))?;
        Ok(())
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
                    return Err(TxFailure::Store(unavailable("TransactWriteItems", &err)));
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
}

#[async_trait]
impl ClientStore for DynamoStore {
    async fn client(&self, client_id: &str) -> StoreResult<Option<Client>> {
        // Clients change rarely (provisioning), are read on every request: an eventually
        // consistent read costs half.
        self.get_record(format!("client#{client_id}"), false).await
    }

    async fn put_client(&self, client: &Client) -> StoreResult<()> {
        self.put(item(&format!("client#{}", client.client_id), client, None)?)
            .await
    }

    async fn delete_client(&self, client_id: &str) -> StoreResult<bool> {
        let out = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(key(format!("client#{client_id}"))))
            .return_values(aws_sdk_dynamodb::types::ReturnValue::AllOld)
            .send()
            .await
            .map_err(|e| unavailable("DeleteItem", &e))?;
        Ok(out.attributes.is_some_and(|a| !a.is_empty()))
    }

    async fn list_clients(&self, after: Option<&str>, limit: usize) -> StoreResult<Page<Client>> {
        self.list("client#", after, limit).await
    }
}

#[async_trait]
impl UserStore for DynamoStore {
    async fn user(&self, sub: &str) -> StoreResult<Option<User>> {
        // Consistent: a password change or a disabled flag must take effect at once.
        self.get_record(format!("user#{sub}"), true).await
    }

    async fn user_by_username(&self, username: &str) -> StoreResult<Option<User>> {
        let pk = username_key(username);
        if pk.len() > MAX_KEY_BYTES {
            return Ok(None);
        }
        match self.get(pk, true).await?.map(username_item).transpose()? {
            Some(UsernameItem::User(u)) => Ok(Some(*u)),
            Some(UsernameItem::Sub(sub)) => self.user(&sub).await,
            None => Ok(None),
        }
    }

    async fn create_user(&self, user: &User) -> StoreResult<()> {
        let claim = Claim {
            sub: user.sub.clone(),
        };
        let mut record = item(&format!("user#{}", user.sub), user, None)?;
        record.insert("rev".into(), n(0));
        let mut items = vec![
            put_new(&self.table, record)?,
            put_new(
                &self.table,
                item(&username_key(&user.username), user, None)?,
            )?,
        ];
        if let Some(email) = user.email() {
            items.push(put_new(
                &self.table,
                item(&email_key(email), &claim, None)?,
            )?);
        }
        const KINDS: [&str; 3] = ["user", "username", "email"];
        match self.transact(items).await {
            Ok(()) => Ok(()),
            Err(TxFailure::Condition(i)) => Err(StoreError::Conflict(
                KINDS.get(i).copied().unwrap_or("item").into(),
            )),
            Err(TxFailure::Store(e)) => Err(e),
        }
    }

    async fn update_user(&self, user: &User) -> StoreResult<()> {
        let pk = format!("user#{}", user.sub);
        // Optimistic concurrency on the hidden `rev` counter: read, decide the email move
        // from what was read, write only if nobody wrote in between; otherwise read again.
        for attempt in 0..MAX_ATTEMPTS {
            let Some(old_item) = self.get(pk.clone(), true).await? else {
                return Err(StoreError::Conflict("user does not exist".into()));
            };
            let old_rev = match old_item.get("rev") {
                Some(AttributeValue::N(v)) => Some(v.parse::<i64>().map_err(|_| {
                    StoreError::Unavailable("dynamodb: malformed user item".into())
                })?),
                _ => None,
            };
            let old: User = parse(old_item)?;
            if old.username != user.username {
                return Err(StoreError::Conflict("username cannot change".into()));
            }
            let mut record = item(&pk, user, None)?;
            record.insert("rev".into(), n(old_rev.unwrap_or(0) + 1));
            let (condition, cond_values) = match old_rev {
                Some(rev) => (
                    "attribute_exists(#pk) AND #rev = :rev",
                    Some(values(vec![(":rev", n(rev))])),
                ),
                None => ("attribute_exists(#pk) AND attribute_not_exists(#rev)", None),
            };
            let cond_names = names(&[("#pk", PK), ("#rev", "rev")]);
            let (old_email, new_email) = (old.email().map(email_key), user.email().map(email_key));
            let build = |_| StoreError::Unavailable("dynamodb: cannot build a put".into());
            let put_user = Put::builder()
                .table_name(&self.table)
                .set_item(Some(record))
                .condition_expression(condition)
                .set_expression_attribute_names(Some(cond_names))
                .set_expression_attribute_values(cond_values)
                .build()
                .map_err(build)?;
            // The copy read by username, replaced with the user in the same transaction.
            let put_username = Put::builder()
                .table_name(&self.table)
                .set_item(Some(item(&username_key(&user.username), user, None)?))
                .condition_expression("attribute_not_exists(#pk) OR #sub = :sub")
                .set_expression_attribute_names(Some(names(&[("#pk", PK), ("#sub", "sub")])))
                .expression_attribute_values(":sub", s(&user.sub))
                .build()
                .map_err(build)?;
            let claim = Claim {
                sub: user.sub.clone(),
            };
            let mut items = vec![
                TransactWriteItem::builder().put(put_user).build(),
                TransactWriteItem::builder().put(put_username).build(),
            ];
            // What a failed condition at each index means.
            let mut kinds = vec![None, Some("username held by another user")];
            if let Some(k) = new_email.as_ref().filter(|_| old_email != new_email) {
                items.push(put_new(&self.table, item(k, &claim, None)?)?);
                kinds.push(Some("email"));
            }
            if let Some(k) = old_email.as_ref().filter(|_| old_email != new_email) {
                // Release the old claim only if it is ours (or already gone).
                let delete = Delete::builder()
                    .table_name(&self.table)
                    .set_key(Some(key(k.clone())))
                    .condition_expression("attribute_not_exists(#pk) OR #sub = :sub")
                    .set_expression_attribute_names(Some(names(&[("#pk", PK), ("#sub", "sub")])))
                    .expression_attribute_values(":sub", s(&user.sub))
                    .build()
                    .map_err(|_| {
                        StoreError::Unavailable("dynamodb: cannot build a delete".into())
                    })?;
                items.push(TransactWriteItem::builder().delete(delete).build());
                kinds.push(Some("email held by another user"));
            }
            match self.transact(items).await {
                Ok(()) => return Ok(()),
                Err(TxFailure::Condition(i)) => match kinds.get(i).copied().flatten() {
                    Some(kind) => return Err(StoreError::Conflict(kind.into())),
                    // The user changed (or vanished) since the read: start over.
                    None => backoff(attempt).await,
                },
                Err(TxFailure::Store(e)) => return Err(e),
            }
        }
        Err(StoreError::Unavailable(
            "dynamodb: user updated concurrently too often, gave up".into(),
        ))
    }

    async fn delete_user(&self, sub: &str) -> StoreResult<bool> {
        let pk = format!("user#{sub}");
        let build = |_| StoreError::Unavailable("dynamodb: cannot build a delete".into());
        // As update_user: the user item is deleted only if unchanged since the read (its
        // `rev`), together with its username and email claims, in one transaction.
        for attempt in 0..MAX_ATTEMPTS {
            let Some(old_item) = self.get(pk.clone(), true).await? else {
                return Ok(false);
            };
            let old_rev = match old_item.get("rev") {
                Some(AttributeValue::N(v)) => Some(v.parse::<i64>().map_err(|_| {
                    StoreError::Unavailable("dynamodb: malformed user item".into())
                })?),
                _ => None,
            };
            let old: User = parse(old_item)?;
            let (condition, cond_values) = match old_rev {
                Some(rev) => (
                    "attribute_exists(#pk) AND #rev = :rev",
                    Some(values(vec![(":rev", n(rev))])),
                ),
                None => ("attribute_exists(#pk) AND attribute_not_exists(#rev)", None),
            };
            let delete_user = Delete::builder()
                .table_name(&self.table)
                .set_key(Some(key(pk.clone())))
                .condition_expression(condition)
                .set_expression_attribute_names(Some(names(&[("#pk", PK), ("#rev", "rev")])))
                .set_expression_attribute_values(cond_values)
                .build()
                .map_err(build)?;
            let mut items = vec![TransactWriteItem::builder().delete(delete_user).build()];
            let mut claims = vec![format!("username#{}", old.username)];
            claims.extend(old.email().map(email_key));
            for k in claims {
                // Release a claim only if it is this user's (or already gone).
                let delete = Delete::builder()
                    .table_name(&self.table)
                    .set_key(Some(key(k)))
                    .condition_expression("attribute_not_exists(#pk) OR #sub = :sub")
                    .set_expression_attribute_names(Some(names(&[("#pk", PK), ("#sub", "sub")])))
                    .expression_attribute_values(":sub", s(sub))
                    .build()
                    .map_err(build)?;
                items.push(TransactWriteItem::builder().delete(delete).build());
            }
            match self.transact(items).await {
                Ok(()) => return Ok(true),
                // The user changed (or vanished) since the read: start over.
                Err(TxFailure::Condition(0)) => backoff(attempt).await,
                Err(TxFailure::Condition(_)) => {
                    return Err(StoreError::Conflict(
                        "username or email held by another user".into(),
                    ));
                }
                Err(TxFailure::Store(e)) => return Err(e),
            }
        }
        Err(StoreError::Unavailable(
            "dynamodb: user updated concurrently too often, gave up".into(),
        ))
    }

    async fn list_users(&self, after: Option<&str>, limit: usize) -> StoreResult<Page<User>> {
        self.list("user#", after, limit).await
    }
}

#[async_trait]
impl AuthRequestStore for DynamoStore {
    async fn put_auth_request(&self, req: &AuthRequest) -> StoreResult<()> {
        self.put(item(
            &format!("authreq#{}", req.id),
            req,
            Some(req.expires_at),
        )?)
        .await
    }

    async fn auth_request(&self, id: &str, now: i64) -> StoreResult<Option<AuthRequest>> {
        Ok(self
            .get_record::<AuthRequest>(format!("authreq#{id}"), true)
            .await?
            .filter(|r| r.expires_at > now))
    }

    async fn delete_auth_request(&self, id: &str) -> StoreResult<bool> {
        // ALL_OLD answers with the item only to the delete that removed it. (An SDK retry of
        // a delete whose answer was lost reads as "someone else": the submission then gets
        // the "already completed" page, and its code expires unused.)
        let out = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(key(format!("authreq#{id}"))))
            .return_values(aws_sdk_dynamodb::types::ReturnValue::AllOld)
            .send()
            .await
            .map_err(|e| unavailable("DeleteItem", &e))?;
        Ok(out.attributes.is_some_and(|a| !a.is_empty()))
    }

    async fn complete_auth_request(
        &self,
        id: &str,
        code: &AuthCode,
        agreed: Option<&Consent>,
    ) -> StoreResult<bool> {
        let retire = Delete::builder()
            .table_name(&self.table)
            .set_key(Some(key(format!("authreq#{id}"))))
            .condition_expression("attribute_exists(#pk)")
            .expression_attribute_names("#pk", PK)
            .build()
            .map_err(|_| StoreError::Unavailable("dynamodb: cannot build a delete".into()))?;
        let mut items = vec![
            TransactWriteItem::builder().delete(retire).build(),
            put_new(
                &self.table,
                item(
                    &format!("code#{}", code.code_hash),
                    code,
                    Some(code.expires_at.saturating_add(CODE_REPLAY_WINDOW)),
                )?,
            )?,
        ];
        if let Some(c) = agreed {
            items.push(
                TransactWriteItem::builder()
                    .update(consent_widening(&self.table, c)?)
                    .build(),
            );
        }
        // Each attempt carries its own ClientRequestToken: an SDK retry of an attempt that
        // succeeded is answered as that success, not as "already retired".
        match self.transact(items).await {
            Ok(()) => Ok(true),
            Err(TxFailure::Condition(0)) => Ok(false),
            Err(TxFailure::Condition(_)) => Err(StoreError::Conflict("code".into())),
            Err(TxFailure::Store(e)) => Err(e),
        }
    }
}

#[async_trait]
impl SessionStore for DynamoStore {
    async fn put_session(&self, session: &Session) -> StoreResult<()> {
        self.put(item(
            &format!("session#{}", session.id_hash),
            session,
            Some(session.expires_at),
        )?)
        .await
    }

    async fn session(&self, id_hash: &str, now: i64) -> StoreResult<Option<Session>> {
        Ok(self
            .get_record::<Session>(format!("session#{id_hash}"), true)
            .await?
            .filter(|s| s.expires_at > now))
    }

    async fn delete_session(&self, id_hash: &str) -> StoreResult<()> {
        self.delete(format!("session#{id_hash}")).await
    }
}

#[async_trait]
impl CodeStore for DynamoStore {
    async fn put_code(&self, code: &AuthCode) -> StoreResult<()> {
        let ttl = code.expires_at.saturating_add(CODE_REPLAY_WINDOW);
        self.put_once(
            item(&format!("code#{}", code.code_hash), code, Some(ttl))?,
            "code",
        )
        .await
    }

    async fn code(&self, code_hash: &str, now: i64) -> StoreResult<Option<AuthCode>> {
        Ok(self
            .get_record::<AuthCode>(format!("code#{code_hash}"), true)
            .await?
            .filter(|c| c.expires_at > now))
    }

    async fn consume_code(
        &self,
        code_hash: &str,
        presented: &CodeRedemption<'_>,
        minted: &Minted,
        now: i64,
    ) -> StoreResult<Consume> {
        let nonce = random_token(12);
        let minted_value = serde_dynamo::to_attribute_value(minted)
            .map_err(|_| StoreError::Unavailable("dynamodb: cannot encode minted".into()))?;
        // Everything the request must match is in the condition, so redeeming takes this
        // one round trip; absent attributes are absent (no NULLs are stored).
        let mut condition =
            "attribute_exists(#pk) AND attribute_not_exists(#minted) AND #exp > :now \
             AND #cid = :cid AND #ru = :ru AND "
                .to_string();
        let mut vals = vec![
            (":minted", minted_value),
            (":req", s(&nonce)),
            (":now", n(now)),
            (":cid", s(presented.client_id)),
            (":ru", s(presented.redirect_uri)),
        ];
        match presented.code_challenge {
            Some(c) => {
                condition.push_str("#cc = :cc");
                vals.push((":cc", s(c)));
            }
            None => condition.push_str("attribute_not_exists(#cc)"),
        }
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(format!("code#{code_hash}"))))
            .update_expression("SET #minted = :minted, #req = :req")
            .condition_expression(condition)
            .set_expression_attribute_names(Some(names(&[
                ("#pk", PK),
                ("#minted", "minted"),
                ("#req", "consume_req"),
                ("#exp", "expires_at"),
                ("#cid", "client_id"),
                ("#ru", "redirect_uri"),
                ("#cc", "code_challenge"),
            ])))
            .set_expression_attribute_values(Some(values(vals)))
            .return_values(aws_sdk_dynamodb::types::ReturnValue::AllNew)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        let err = match result {
            Ok(out) => {
                let code: AuthCode = parse(out.attributes.unwrap_or_default())?;
                return Ok(Consume::Consumed(Box::new(code)));
            }
            Err(e) => e,
        };
        let Some(UpdateItemError::ConditionalCheckFailedException(c)) = err.as_service_error()
        else {
            return Err(unavailable("UpdateItem", &err));
        };
        let Some(old) = c.item() else {
            return Ok(Consume::Missing);
        };
        let mine = string_attr(old, "consume_req") == Some(nonce.as_str());
        let old: AuthCode = parse(old.clone())?;
        if mine {
            // An SDK retry of this very call, whose first attempt won.
            return Ok(Consume::Consumed(Box::new(old)));
        }
        // As in the embedded store: a redeemed code is a replay even after it expired.
        Ok(match old.minted {
            Some(m) => Consume::AlreadyConsumed {
                client_id: old.client_id,
                minted: Some(m),
            },
            None if old.expires_at <= now => Consume::Missing,
            None => Consume::Mismatch(Box::new(old)),
        })
    }

    async fn restore_code(&self, code_hash: &str, grant_id: &str) -> StoreResult<()> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(format!("code#{code_hash}"))))
            .update_expression("REMOVE #minted, #req")
            .condition_expression("#minted.#gid = :gid")
            .set_expression_attribute_names(Some(names(&[
                ("#minted", "minted"),
                ("#req", "consume_req"),
                ("#gid", "grant_id"),
            ])))
            .set_expression_attribute_values(Some(values(vec![(":gid", s(grant_id))])))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(e) => match e.as_service_error() {
                Some(UpdateItemError::ConditionalCheckFailedException(_)) => Ok(()),
                _ => Err(unavailable("UpdateItem", &e)),
            },
        }
    }
}

/// Consent items hold one attribute per scope (`scope:<s>`) and per claim (`claim:<c>`)
/// agreed to, so that widening a consent is a SET of more attributes, with no read first
/// (items written before hold `scopes` and `claims` lists, which are still read).
const CONSENT_SCOPE: &str = "scope:";
const CONSENT_CLAIM: &str = "claim:";

fn consent_pk(sub: &str, client_id: &str) -> String {
    format!("consent#{sub}#{client_id}")
}

fn parse_consent(item: Item) -> StoreResult<Consent> {
    let marked = |prefix: &str| -> Vec<String> {
        item.keys()
            .filter_map(|k| k.strip_prefix(prefix).map(str::to_string))
            .collect()
    };
    let (scopes, claims) = (marked(CONSENT_SCOPE), marked(CONSENT_CLAIM));
    let base: Item = item
        .iter()
        .filter(|(k, _)| !k.starts_with(CONSENT_SCOPE) && !k.starts_with(CONSENT_CLAIM))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let mut c: Consent = parse(base)?;
    c.widen(&Consent {
        scopes,
        claims,
        ..c.clone()
    });
    Ok(c)
}

/// The update that widens `c.sub`'s consent for `c.client_id` by `c`'s scopes and claims.
fn consent_widening(table: &str, c: &Consent) -> StoreResult<Update> {
    let mut sets = vec![
        "#sub = :sub".to_string(),
        "#cid = :cid".into(),
        "#at = :at".into(),
    ];
    let mut attr_names = vec![
        ("#sub".to_string(), "sub".to_string()),
        ("#cid".into(), "client_id".into()),
        ("#at".into(), "granted_at".into()),
    ];
    let marks = c
        .scopes
        .iter()
        .map(|s| format!("{CONSENT_SCOPE}{s}"))
        .chain(c.claims.iter().map(|n| format!("{CONSENT_CLAIM}{n}")));
    for (i, mark) in marks.enumerate() {
        sets.push(format!("#m{i} = :yes"));
        attr_names.push((format!("#m{i}"), mark));
    }
    Update::builder()
        .table_name(table)
        .set_key(Some(key(consent_pk(&c.sub, &c.client_id))))
        .update_expression(format!("SET {}", sets.join(", ")))
        .set_expression_attribute_names(Some(attr_names.into_iter().collect()))
        .set_expression_attribute_values(Some(values(vec![
            (":sub", s(&c.sub)),
            (":cid", s(&c.client_id)),
            (":at", n(c.granted_at)),
            (":yes", AttributeValue::Bool(true)),
        ])))
        .build()
        .map_err(|_| StoreError::Unavailable("dynamodb: cannot build an update".into()))
}

#[async_trait]
impl ConsentStore for DynamoStore {
    async fn consent(&self, sub: &str, client_id: &str) -> StoreResult<Option<Consent>> {
        self.get(consent_pk(sub, client_id), true)
            .await?
            .map(parse_consent)
            .transpose()
    }

    async fn put_consent(&self, c: &Consent) -> StoreResult<()> {
        let mut record = HashMap::from([
            (PK.to_string(), s(consent_pk(&c.sub, &c.client_id))),
            ("sub".to_string(), s(&c.sub)),
            ("client_id".to_string(), s(&c.client_id)),
            ("granted_at".to_string(), n(c.granted_at)),
        ]);
        let marks = c
            .scopes
            .iter()
            .map(|v| format!("{CONSENT_SCOPE}{v}"))
            .chain(c.claims.iter().map(|v| format!("{CONSENT_CLAIM}{v}")));
        record.extend(marks.map(|m| (m, AttributeValue::Bool(true))));
        self.put(record).await
    }

    async fn delete_consent(&self, sub: &str, client_id: &str) -> StoreResult<()> {
        self.delete(consent_pk(sub, client_id)).await
    }
}

#[async_trait]
impl RevocationStore for DynamoStore {
    async fn revoke(&self, jti: &str, until: i64) -> StoreResult<()> {
        self.put(item(
            &format!("revoked#{jti}"),
            &Revoked { expires_at: until },
            Some(until),
        )?)
        .await
    }

    async fn is_revoked(&self, jti: &str, now: i64) -> StoreResult<bool> {
        Ok(self
            .get_record::<Revoked>(format!("revoked#{jti}"), true)
            .await?
            .is_some_and(|r| r.expires_at > now))
    }
}

#[async_trait]
impl RefreshStore for DynamoStore {
    async fn put_refresh(&self, token: &RefreshToken) -> StoreResult<()> {
        let record = item(
            &format!("refresh#{}", token.token_hash),
            token,
            Some(token.expires_at),
        )?;
        self.put_once(record, "refresh").await
    }

    async fn refresh(&self, token_hash: &str, now: i64) -> StoreResult<Option<RefreshToken>> {
        Ok(self
            .get_record::<RefreshToken>(format!("refresh#{token_hash}"), true)
            .await?
            .filter(|t| t.expires_at > now))
    }

    async fn rotate_refresh(
        &self,
        old_hash: &str,
        next: &RefreshToken,
        now: i64,
    ) -> StoreResult<Rotate> {
        if next.token_hash == old_hash {
            // One transaction cannot touch an item twice; and a token cannot succeed itself.
            return Err(StoreError::Conflict("refresh".into()));
        }
        let old_pk = format!("refresh#{old_hash}");
        let nonce = random_token(12);
        let mark_used = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key(old_pk.clone())))
            .update_expression("SET #used = :now, #req = :req")
            .condition_expression(
                "attribute_exists(#pk) AND attribute_not_exists(#used) AND #exp > :now",
            )
            .set_expression_attribute_names(Some(names(&[
                ("#pk", PK),
                ("#used", "used_at"),
                ("#req", "rotate_req"),
                ("#exp", "expires_at"),
            ])))
            .set_expression_attribute_values(Some(values(vec![
                (":now", n(now)),
                (":req", s(&nonce)),
            ])))
            .build()
            .map_err(|_| StoreError::Unavailable("dynamodb: cannot build an update".into()))?;
        let items = vec![
            TransactWriteItem::builder().update(mark_used).build(),
            put_new(
                &self.table,
                item(
                    &format!("refresh#{}", next.token_hash),
                    next,
                    Some(next.expires_at),
                )?,
            )?,
        ];
        match self.transact(items).await {
            Ok(()) => Ok(Rotate::Rotated),
            Err(TxFailure::Condition(0)) => {
                // The old token was missing, expired or used: read what it is now. A used
                // token stays used, an expired one stays expired, so this read cannot
                // turn a failed condition into a success, except for our own nonce.
                let Some(old) = self.get(old_pk, true).await? else {
                    return Ok(Rotate::Missing);
                };
                if string_attr(&old, "rotate_req") == Some(nonce.as_str()) {
                    // A retry of this very call, whose earlier attempt won.
                    return Ok(Rotate::Rotated);
                }
                let old: RefreshToken = parse(old)?;
                // As `refresh` reads it: expired means absent, used or not.
                Ok(if old.expires_at <= now {
                    Rotate::Missing
                } else if old.used_at.is_some() {
                    Rotate::AlreadyUsed(Box::new(old))
                } else {
                    Rotate::Missing
                })
            }
            Err(TxFailure::Condition(_)) => Err(StoreError::Conflict("refresh".into())),
            Err(TxFailure::Store(e)) => Err(e),
        }
    }
}

#[async_trait]
impl ReplayStore for DynamoStore {
    async fn first_use(&self, key: &str, until: i64, now: i64) -> StoreResult<bool> {
        let nonce = random_token(12);
        let mut record = item(&format!("replay#{key}"), &Replay { until }, Some(until))?;
        record.insert("put_req".into(), s(&nonce));
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(record))
            .condition_expression("attribute_not_exists(#pk) OR #until <= :now")
            .set_expression_attribute_names(Some(names(&[("#pk", PK), ("#until", "until")])))
            .expression_attribute_values(":now", n(now))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(e) => match e.as_service_error() {
                Some(PutItemError::ConditionalCheckFailedException(c)) => {
                    // `true` only for an SDK retry of our own successful put.
                    Ok(c.item()
                        .is_some_and(|old| string_attr(old, "put_req") == Some(nonce.as_str())))
                }
                _ => Err(unavailable("PutItem", &e)),
            },
        }
    }
}

#[async_trait]
impl KeyStore for DynamoStore {
    async fn published_keys(&self) -> StoreResult<Option<PublishedKeys>> {
        // Eventually consistent: half the read cost, and a key set is published well ahead
        // of the first token it verifies.
        self.get_record("keys#published".into(), false).await
    }

    async fn publish_keys(&self, keys: &PublishedKeys) -> StoreResult<()> {
        self.put(item("keys#published", keys, None)?).await
    }

    async fn wrapped_key(&self, id: &str) -> StoreResult<Option<WrappedKey>> {
        self.get_record(format!("wrapped-key#{id}"), true).await
    }

    async fn put_wrapped_key(&self, key: &WrappedKey) -> StoreResult<()> {
        self.put_once(
            item(&format!("wrapped-key#{}", key.id), key, None)?,
            "wrapped-key",
        )
        .await
    }
}

impl DynamoStore {
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
                .map_err(|e| unavailable("BatchGetItem", &e))?;
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

    /// A counter's part in a sign-in's transaction: its [`Guard`] as the condition.
    fn counter_write(
        &self,
        op: &CounterWrite,
        now: i64,
        now_ms: i64,
    ) -> StoreResult<TransactWriteItem> {
        let guard = op.guard();
        let pk = throttle_key(&guard.key);
        let build = |_| StoreError::Unavailable("dynamodb: cannot build a counter write".into());
        let mut attr_names = vec![("#pk", PK), ("#exp", "expires_at")];
        let mut vals = vec![(":now", n(now))];
        // The live count is below the limit, or exactly as read (count and last failure).
        let mut admits = "#c < :below".to_string();
        let mut count_names = vec![("#c", "count")];
        vals.push((":below", n(i64::from(guard.below))));
        if let (true, Some(read)) = (guard.or_unchanged, guard.read) {
            admits.push_str(" OR (#c = :rc AND #last = :rl)");
            count_names.push(("#last", "last"));
            vals.push((":rc", n(i64::from(read.count))));
            vals.push((":rl", n(read.last)));
        }
        let read_ended = guard.read.is_some_and(|r| r.expires_at <= now);
        let holds = format!("attribute_not_exists(#pk) OR #exp <= :now OR {admits}");
        Ok(match op {
            CounterWrite::Fail(_, window) if read_ended => {
                // Start again at 1, unless another attempt has done so meanwhile.
                let len = match window {
                    Window::Fixed(len) | Window::Sliding(len) => *len,
                };
                let end = now.saturating_add(len.max(1));
                let fresh = Counter {
                    count: 1,
                    last: now_ms,
                    expires_at: end,
                };
                let put = Put::builder()
                    .table_name(&self.table)
                    .set_item(Some(item(&pk, &fresh, Some(end))?))
                    .condition_expression("attribute_not_exists(#pk) OR #exp <= :now")
                    .set_expression_attribute_names(Some(names(&attr_names)))
                    .expression_attribute_values(":now", n(now))
                    .build()
                    .map_err(build)?;
                TransactWriteItem::builder().put(put).build()
            }
            CounterWrite::Fail(_, window) => {
                let (len, end_expr) = match window {
                    Window::Fixed(len) => (*len, "if_not_exists(#exp, :end)"),
                    Window::Sliding(len) => (*len, ":end"),
                };
                vals.push((":end", n(now.saturating_add(len.max(1)))));
                vals.push((":zero", n(0)));
                vals.push((":one", n(1)));
                vals.push((":nowms", n(now_ms)));
                attr_names.extend(count_names);
                if !attr_names.iter().any(|(k, _)| *k == "#last") {
                    attr_names.push(("#last", "last"));
                }
                attr_names.push(("#ttl", TTL));
                let update = Update::builder()
                    .table_name(&self.table)
                    .set_key(Some(key(pk)))
                    .update_expression(format!(
                        "SET #c = if_not_exists(#c, :zero) + :one, #last = :nowms, \
                         #exp = {end_expr}, #ttl = {end_expr}"
                    ))
                    .condition_expression(format!(
                        "attribute_not_exists(#pk) OR (#exp > :now AND ({admits}))"
                    ))
                    .set_expression_attribute_names(Some(names(&attr_names)))
                    .set_expression_attribute_values(Some(values(vals)))
                    .build()
                    .map_err(build)?;
                TransactWriteItem::builder().update(update).build()
            }
            CounterWrite::Hold(_) => {
                attr_names.extend(count_names);
                let check = ConditionCheck::builder()
                    .table_name(&self.table)
                    .set_key(Some(key(pk)))
                    .condition_expression(holds)
                    .set_expression_attribute_names(Some(names(&attr_names)))
                    .set_expression_attribute_values(Some(values(vals)))
                    .build()
                    .map_err(build)?;
                TransactWriteItem::builder().condition_check(check).build()
            }
            CounterWrite::Reset(_) => {
                attr_names.extend(count_names);
                let delete = Delete::builder()
                    .table_name(&self.table)
                    .set_key(Some(key(pk)))
                    .condition_expression(holds)
                    .set_expression_attribute_names(Some(names(&attr_names)))
                    .set_expression_attribute_values(Some(values(vals)))
                    .build()
                    .map_err(build)?;
                TransactWriteItem::builder().delete(delete).build()
            }
        })
    }
}

#[async_trait]
impl SignInStore for DynamoStore {
    async fn signin_read(&self, q: &SignInQuery<'_>) -> StoreResult<SignInState> {
        let request_pk = format!("authreq#{}", q.request_id);
        let username_pk = username_key(q.username);
        let mut keys = vec![request_pk.clone(), username_pk.clone()];
        keys.extend(q.counters.iter().map(|k| throttle_key(k)));
        if q.secret {
            keys.push(schema::SECRET.to_string());
        }
        keys.sort();
        keys.dedup();
        let mut found = self.batch_get(keys).await?;
        let request = found
            .remove(&request_pk)
            .map(parse::<AuthRequest>)
            .transpose()?
            .filter(|r| r.expires_at > q.now);
        let user = match found.remove(&username_pk).map(username_item).transpose()? {
            Some(UsernameItem::User(u)) => Some(*u),
            // The older format: one more read.
            Some(UsernameItem::Sub(sub)) => self.user(&sub).await?,
            None => None,
        };
        let mut counters = HashMap::new();
        for k in &q.counters {
            if let Some(item) = found.remove(&throttle_key(k)) {
                counters.insert(k.clone(), parse::<Counter>(item)?);
            }
        }
        let secret = found.remove(schema::SECRET).map(parse).transpose()?;
        Ok(SignInState {
            request,
            user,
            counters,
            secret,
        })
    }

    async fn signin_write(&self, w: &SignInWrite<'_>) -> StoreResult<bool> {
        let mut items = w
            .counters
            .iter()
            .map(|op| self.counter_write(op, w.now, w.now_ms))
            .collect::<StoreResult<Vec<_>>>()?;
        let build = |_| StoreError::Unavailable("dynamodb: cannot build a put".into());
        if let Some(session) = w.session {
            let put = Put::builder()
                .table_name(&self.table)
                .set_item(Some(item(
                    &format!("session#{}", session.id_hash),
                    session,
                    Some(session.expires_at),
                )?))
                .build()
                .map_err(build)?;
            items.push(TransactWriteItem::builder().put(put).build());
        }
        if let Some(req) = w.request {
            let put = Put::builder()
                .table_name(&self.table)
                .set_item(Some(item(
                    &format!("authreq#{}", req.id),
                    req,
                    Some(req.expires_at),
                )?))
                .build()
                .map_err(build)?;
            items.push(TransactWriteItem::builder().put(put).build());
        }
        if items.is_empty() {
            return Ok(true);
        }
        match self.transact(items).await {
            Ok(()) => Ok(true),
            // Only counters carry conditions: a guard no longer held.
            Err(TxFailure::Condition(_)) => Ok(false),
            Err(TxFailure::Store(e)) => Err(e),
        }
    }

    async fn create_secret(&self, secret: &DeploymentSecret) -> StoreResult<DeploymentSecret> {
        match self
            .put_once(item(schema::SECRET, secret, None)?, "secret")
            .await
        {
            Ok(()) => Ok(secret.clone()),
            // Another container made it first: that one is the deployment's.
            Err(StoreError::Conflict(_)) => self
                .get_record(schema::SECRET.to_string(), true)
                .await?
                .ok_or_else(|| StoreError::Unavailable("dynamodb: secret vanished".into())),
            Err(e) => Err(e),
        }
    }
}

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
    let attr = |m: String| StoreError::Unavailable(format!("dynamodb CreateTable: {m}"));
    let created = client
        .create_table()
        .table_name(table)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name(PK)
                .attribute_type(ScalarAttributeType::S)
                .build()
                .map_err(|e| attr(e.to_string()))?,
        )
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name(PK)
                .key_type(KeyType::Hash)
                .build()
                .map_err(|e| attr(e.to_string()))?,
        )
        .send()
        .await;
    match created {
        Ok(_) => {}
        Err(e)
            if e.as_service_error()
                .is_some_and(|e| e.is_resource_in_use_exception()) => {}
        Err(e) => return Err(provisioning("CreateTable", e)),
    }

    // A new table is CREATING for a few seconds on AWS; TTL can only be set once ACTIVE.
    let mut active = false;
    for _ in 0..240 {
        let out = client
            .describe_table()
            .table_name(table)
            .send()
            .await
            .map_err(|e| provisioning("DescribeTable", e))?;
        if out.table().and_then(|t| t.table_status()) == Some(&TableStatus::Active) {
            active = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    if !active {
        return Err(StoreError::Unavailable(format!(
            "dynamodb: table {table} did not become ACTIVE within 2 minutes"
        )));
    }

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
                .map_err(|e| attr(e.to_string()))?,
        )
        .send()
        .await
        .map_err(|e| provisioning("UpdateTimeToLive", e))?;
    Ok(())
}
