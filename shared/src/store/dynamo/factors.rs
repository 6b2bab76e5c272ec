//! A person's second factors (`factors#<sub>`, written whole under a condition on its
//! `version`, see [`FactorStore::put_factors`]) and passkeys (`passkey#<credential id>`).
//! Adding or removing a passkey writes both items in one transaction.
use async_trait::async_trait;
use aws_sdk_dynamodb::types::{Delete, Put, Update};

use super::*;

fn unbuildable<E>(_: E) -> StoreError {
    StoreError::Unavailable("dynamodb: cannot build a factors write".into())
}

/// The condition under which `f` replaces the stored factors, with its names and values:
/// the stored version is the one `f` was made from, or there is none for version 1.
type Condition = (
    &'static str,
    HashMap<String, String>,
    Option<HashMap<String, AttributeValue>>,
);

fn made_from(f: &Factors) -> StoreResult<Condition> {
    if f.version <= 1 {
        return Ok(("attribute_not_exists(#pk)", names(&[("#pk", PK)]), None));
    }
    let previous = i64::try_from(f.version - 1)
        .map_err(|_| StoreError::Unavailable("dynamodb: factors version overflow".into()))?;
    Ok((
        "#v = :previous",
        names(&[("#v", "version")]),
        Some(values(vec![(":previous", n(previous))])),
    ))
}

impl DynamoStore {
    /// A transaction's write of `f`, under [`made_from`].
    pub(super) fn factors_put(&self, f: &Factors) -> StoreResult<TransactWriteItem> {
        let (condition, names, vals) = made_from(f)?;
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item(&schema::factors(&f.sub), f, None)?))
            .condition_expression(condition)
            .set_expression_attribute_names(Some(names))
            .set_expression_attribute_values(vals)
            .build()
            .map_err(unbuildable)?;
        Ok(TransactWriteItem::builder().put(put).build())
    }
}

#[async_trait]
impl FactorStore for DynamoStore {
    async fn factors(&self, sub: &str) -> StoreResult<Option<Factors>> {
        self.get_record(schema::factors(sub), true).await
    }

    async fn put_factors(&self, f: &Factors) -> StoreResult<bool> {
        let record = item(&schema::factors(&f.sub), f, None)?;
        let (condition, names, vals) = made_from(f)?;
        self.put_if(record, condition, names, vals).await
    }

    async fn put_totp(&self, f: &Factors, user: &User) -> StoreResult<bool> {
        let flag = AttributeValue::Bool(f.totp.is_some());
        // The user record's revision moves, so an update made from an older read of it
        // reads again (and keeps the flag, see `update_tx`).
        let record = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key(schema::user(&user.sub))))
            .update_expression("SET #t = :t, #rev = if_not_exists(#rev, :zero) + :one")
            .condition_expression("attribute_exists(#pk)")
            .set_expression_attribute_names(Some(names(&[
                ("#pk", PK),
                ("#t", "totp"),
                ("#rev", "rev"),
            ])))
            .set_expression_attribute_values(Some(values(vec![
                (":t", flag.clone()),
                (":zero", n(0)),
                (":one", n(1)),
            ])))
            .build()
            .map_err(unbuildable)?;
        let copy = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key(schema::username(&user.username))))
            .update_expression("SET #t = :t")
            .condition_expression("attribute_exists(#pk) AND #sub = :sub")
            .set_expression_attribute_names(Some(names(&[
                ("#pk", PK),
                ("#t", "totp"),
                ("#sub", "sub"),
            ])))
            .set_expression_attribute_values(Some(values(vec![
                (":t", flag),
                (":sub", s(&user.sub)),
            ])))
            .build()
            .map_err(unbuildable)?;
        let items = vec![
            self.factors_put(f)?,
            TransactWriteItem::builder().update(record).build(),
            TransactWriteItem::builder().update(copy).build(),
        ];
        match self.transact(items).await {
            Ok(()) => Ok(true),
            Err(TxFailure::Condition(_)) => Ok(false),
            Err(TxFailure::Store(e)) => Err(e),
        }
    }

    async fn passkey(&self, credential_id: &str) -> StoreResult<Option<Passkey>> {
        if schema::passkey(credential_id).len() > MAX_KEY_BYTES {
            return Ok(None);
        }
        self.get_record(schema::passkey(credential_id), true).await
    }

    async fn passkeys(&self, credential_ids: &[String]) -> StoreResult<Vec<Passkey>> {
        let keys: Vec<String> = credential_ids
            .iter()
            .map(|id| schema::passkey(id))
            .collect();
        let mut found = self.batch_get(keys.clone()).await?;
        keys.iter()
            .filter_map(|k| found.remove(k))
            .map(parse)
            .collect()
    }

    async fn add_passkey(&self, f: &Factors, p: &Passkey) -> StoreResult<AddPasskey> {
        let passkey = put_new(&self.table, item(&schema::passkey(&p.id), p, None)?)?;
        match self.transact(vec![passkey, self.factors_put(f)?]).await {
            Ok(()) => Ok(AddPasskey::Added),
            Err(TxFailure::Condition(0)) => Ok(AddPasskey::IdTaken),
            Err(TxFailure::Condition(_)) => Ok(AddPasskey::Stale),
            Err(TxFailure::Store(e)) => Err(e),
        }
    }

    async fn remove_passkey(&self, f: &Factors, credential_id: &str) -> StoreResult<bool> {
        let delete = Delete::builder()
            .table_name(&self.table)
            .set_key(Some(key(schema::passkey(credential_id))))
            .build()
            .map_err(unbuildable)?;
        let items = vec![
            TransactWriteItem::builder().delete(delete).build(),
            self.factors_put(f)?,
        ];
        match self.transact(items).await {
            Ok(()) => Ok(true),
            Err(TxFailure::Condition(_)) => Ok(false),
            Err(TxFailure::Store(e)) => Err(e),
        }
    }

    async fn use_passkey(&self, p: &Passkey, previous_count: u32) -> StoreResult<bool> {
        let record = item(&schema::passkey(&p.id), p, None)?;
        self.put_if(
            record,
            "#count = :previous AND #sub = :sub",
            names(&[("#count", "sign_count"), ("#sub", "sub")]),
            Some(values(vec![
                (":previous", n(i64::from(previous_count))),
                (":sub", s(&p.sub)),
            ])),
        )
        .await
    }
}
