//! How records become DynamoDB items and back, and the small builders every write uses.
use std::collections::HashMap;

use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem};
use serde::{Deserialize, Serialize, de::DeserializeOwned};

use crate::store::{
    StoreError, StoreResult, User,
    schema::{self, Expiring},
};

pub(super) type Item = HashMap<String, AttributeValue>;

/// The hash key attribute.
pub(super) const PK: &str = "pk";
/// The attribute DynamoDB's TTL deletes by (epoch seconds).
pub(super) const TTL: &str = "ttl";
/// DynamoDB's limit on a partition key's size.
pub(super) const MAX_KEY_BYTES: usize = 2048;

/// The `sub` an `email#` item (or a `username#` item of the older format) points to.
#[derive(Serialize, Deserialize)]
pub(super) struct Claim {
    pub sub: String,
}

pub(super) fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

pub(super) fn n(v: i64) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

pub(super) fn key(pk: String) -> Item {
    HashMap::from([(PK.to_string(), s(pk))])
}

/// The item for `value` under `pk`, with `ttl` when it expires. Top-level nulls (`None`
/// fields) are left out, so `attribute_not_exists(minted)` means "not redeemed".
pub(super) fn item<T: Serialize>(pk: &str, value: &T, ttl: Option<i64>) -> StoreResult<Item> {
    let mut item: Item = serde_dynamo::to_item(value).map_err(|_| {
        StoreError::Unavailable(format!(
            "dynamodb: cannot encode a {} record",
            schema::kind(pk)
        ))
    })?;
    item.retain(|_, v| !matches!(v, AttributeValue::Null(_)));
    item.insert(PK.into(), s(pk));
    if let Some(ttl) = ttl {
        item.insert(TTL.into(), n(ttl));
    }
    Ok(item)
}

/// The item for a record that expires, with its `ttl` as the schema says.
pub(super) fn expiring<T: Serialize + Expiring>(pk: &str, value: &T) -> StoreResult<Item> {
    item(pk, value, Some(value.ttl()))
}

pub(super) fn parse<T: DeserializeOwned>(item: Item) -> StoreResult<T> {
    let kind = match item.get(PK) {
        Some(AttributeValue::S(pk)) => schema::kind(pk).to_string(),
        _ => "keyless".into(),
    };
    // serde_dynamo's messages quote the offending values: keep them out of the error.
    serde_dynamo::from_item(item)
        .map_err(|_| StoreError::Unavailable(format!("dynamodb: malformed {kind} item")))
}

/// A `username#` item as a user: the whole user (it has a password hash), or, in the older
/// format, the `sub` to read the user by.
pub(super) fn username_record(item: Item) -> StoreResult<schema::UsernameRecord> {
    if item.contains_key("password_hash") {
        Ok(schema::UsernameRecord::User(Box::new(parse::<User>(item)?)))
    } else {
        Ok(schema::UsernameRecord::Sub(parse::<Claim>(item)?.sub))
    }
}

pub(super) fn names(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

pub(super) fn values(pairs: Vec<(&str, AttributeValue)>) -> HashMap<String, AttributeValue> {
    pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
}

/// The string attribute `name` of an item, if it is one.
pub(super) fn string_attr<'a>(item: &'a Item, name: &str) -> Option<&'a str> {
    match item.get(name) {
        Some(AttributeValue::S(v)) => Some(v),
        _ => None,
    }
}

/// A transaction's put of `item`, unconditional.
pub(super) fn put(table: &str, item: Item) -> StoreResult<TransactWriteItem> {
    let put = Put::builder()
        .table_name(table)
        .set_item(Some(item))
        .build()
        .map_err(|_| StoreError::Unavailable("dynamodb: cannot build a put".into()))?;
    Ok(TransactWriteItem::builder().put(put).build())
}

/// A conditional put that must never overwrite (`attribute_not_exists(pk)`).
pub(super) fn put_new(table: &str, item: Item) -> StoreResult<TransactWriteItem> {
    let put = Put::builder()
        .table_name(table)
        .set_item(Some(item))
        .condition_expression("attribute_not_exists(#pk)")
        .expression_attribute_names("#pk", PK)
        .build()
        .map_err(|_| StoreError::Unavailable("dynamodb: cannot build a put".into()))?;
    Ok(TransactWriteItem::builder().put(put).build())
}
