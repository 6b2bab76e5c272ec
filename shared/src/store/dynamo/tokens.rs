//! What tokens leave behind: refresh tokens (rotated once each), revocations, and
//! remembered one-time keys.
use async_trait::async_trait;
use aws_sdk_dynamodb::types::Update;

use super::*;
use crate::store::schema::{Replay, Revoked, live};

#[async_trait]
impl RevocationStore for DynamoStore {
    async fn revoke(&self, jti: &str, until: i64) -> StoreResult<()> {
        let record = Revoked { expires_at: until };
        self.put(expiring(&schema::revoked(jti), &record)?).await
    }

    async fn is_revoked(&self, jti: &str, now: i64) -> StoreResult<bool> {
        let record: Option<Revoked> = self.get_record(schema::revoked(jti), true).await?;
        Ok(live(record, now).is_some())
    }
}

#[async_trait]
impl LivenessStore for DynamoStore {
    async fn liveness_read(&self, q: &LivenessQuery<'_>) -> StoreResult<LivenessRead> {
        let client_pk = schema::client(q.client_id);
        let user_pk = q.sub.map(schema::user);
        let revoked_pks: Vec<String> = q.revocable.iter().map(|id| schema::revoked(id)).collect();
        let mut keys: Vec<String> = revoked_pks.clone();
        keys.push(client_pk.clone());
        keys.extend(user_pk.clone());
        keys.sort();
        keys.dedup();
        let mut found = self.batch_get(keys).await?;
        let mut revoked = false;
        for pk in &revoked_pks {
            let record: Option<Revoked> = found.remove(pk).map(parse).transpose()?;
            revoked |= live(record, q.now).is_some();
        }
        Ok(LivenessRead {
            client: found.remove(&client_pk).map(parse).transpose()?,
            user: match user_pk {
                Some(pk) => found.remove(&pk).map(parse).transpose()?,
                None => None,
            },
            revoked,
        })
    }
}

#[async_trait]
impl RefreshStore for DynamoStore {
    async fn put_refresh(&self, token: &RefreshToken) -> StoreResult<()> {
        let record = expiring(&schema::refresh(&token.token_hash), token)?;
        self.put_once(record, "refresh").await
    }

    async fn refresh(&self, token_hash: &str, now: i64) -> StoreResult<Option<RefreshToken>> {
        Ok(live(
            self.get_record(schema::refresh(token_hash), true).await?,
            now,
        ))
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
        let old_pk = schema::refresh(old_hash);
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
                expiring(&schema::refresh(&next.token_hash), next)?,
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
                Ok(if schema::expired(old.expires_at, now) {
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
        // Written unless remembered and unexpired; `true` also for an SDK retry of our own
        // successful put.
        let record = expiring(&schema::replay(key), &Replay { until })?;
        let condition = "attribute_not_exists(#pk) OR #until <= :now";
        let names = names(&[("#pk", PK), ("#until", "until")]);
        let values = values(vec![(":now", n(now))]);
        self.put_if(record, condition, names, Some(values)).await
    }
}
