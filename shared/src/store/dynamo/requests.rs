//! Pending authorization requests, sign-in sessions and standing consents.
use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::types::{AttributeValue, Delete, Update};

use super::*;
use crate::store::schema::live;

#[async_trait]
impl AuthRequestStore for DynamoStore {
    async fn put_auth_request(&self, req: &AuthRequest) -> StoreResult<()> {
        self.put(expiring(&schema::auth_request(&req.id), req)?)
            .await
    }

    async fn auth_request(&self, id: &str, now: i64) -> StoreResult<Option<AuthRequest>> {
        Ok(live(
            self.get_record(schema::auth_request(id), true).await?,
            now,
        ))
    }

    async fn delete_auth_request(&self, id: &str) -> StoreResult<bool> {
        // Only the delete that removed it gets `true`. (An SDK retry of a delete whose answer
        // was lost reads as "someone else": the submission then gets the "already completed"
        // page, and its code expires unused.)
        self.delete_existing(schema::auth_request(id)).await
    }

    async fn complete_auth_request(
        &self,
        id: &str,
        code: &AuthCode,
        agreed: Option<&Consent>,
    ) -> StoreResult<bool> {
        let retire = Delete::builder()
            .table_name(&self.table)
            .set_key(Some(key(schema::auth_request(id))))
            .condition_expression("attribute_exists(#pk)")
            .expression_attribute_names("#pk", PK)
            .build()
            .map_err(|_| StoreError::Unavailable("dynamodb: cannot build a delete".into()))?;
        let mut items = vec![
            TransactWriteItem::builder().delete(retire).build(),
            put_new(&self.table, expiring(&schema::code(&code.code_hash), code)?)?,
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
        self.put(expiring(&schema::session(&session.id_hash), session)?)
            .await
    }

    async fn session(&self, id_hash: &str, now: i64) -> StoreResult<Option<Session>> {
        Ok(live(
            self.get_record(schema::session(id_hash), true).await?,
            now,
        ))
    }

    async fn delete_session(&self, id_hash: &str) -> StoreResult<()> {
        self.delete(schema::session(id_hash)).await
    }
}

/// Consent items hold one attribute per scope (`scope:<s>`) and per claim (`claim:<c>`)
/// agreed to, so that widening a consent is a SET of more attributes, with no read first
/// (items written before hold `scopes` and `claims` lists, which are still read).
const CONSENT_SCOPE: &str = "scope:";
const CONSENT_CLAIM: &str = "claim:";

/// The attribute names marking `c`'s scopes and claims.
fn consent_marks(c: &Consent) -> impl Iterator<Item = String> + '_ {
    let scopes = c.scopes.iter().map(|v| format!("{CONSENT_SCOPE}{v}"));
    scopes.chain(c.claims.iter().map(|v| format!("{CONSENT_CLAIM}{v}")))
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
pub(super) fn consent_widening(table: &str, c: &Consent) -> StoreResult<Update> {
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
    for (i, mark) in consent_marks(c).enumerate() {
        sets.push(format!("#m{i} = :yes"));
        attr_names.push((format!("#m{i}"), mark));
    }
    Update::builder()
        .table_name(table)
        .set_key(Some(key(schema::consent(&c.sub, &c.client_id))))
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
        self.get(schema::consent(sub, client_id), true)
            .await?
            .map(parse_consent)
            .transpose()
    }

    async fn put_consent(&self, c: &Consent) -> StoreResult<()> {
        let mut record = HashMap::from([
            (PK.to_string(), s(schema::consent(&c.sub, &c.client_id))),
            ("sub".to_string(), s(&c.sub)),
            ("client_id".to_string(), s(&c.client_id)),
            ("granted_at".to_string(), n(c.granted_at)),
        ]);
        record.extend(consent_marks(c).map(|m| (m, AttributeValue::Bool(true))));
        self.put(record).await
    }

    async fn delete_consent(&self, sub: &str, client_id: &str) -> StoreResult<()> {
        self.delete(schema::consent(sub, client_id)).await
    }
}
