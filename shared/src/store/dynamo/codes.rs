//! Authorization codes: stored once, redeemed once in one conditional write, kept past
//! their expiry to recognise a replay.
use async_trait::async_trait;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;

use super::*;
use crate::store::schema::live;

#[async_trait]
impl CodeStore for DynamoStore {
    async fn put_code(&self, code: &AuthCode) -> StoreResult<()> {
        self.put_once(expiring(&schema::code(&code.code_hash), code)?, "code")
            .await
    }

    async fn code(&self, code_hash: &str, now: i64) -> StoreResult<Option<AuthCode>> {
        Ok(live(
            self.get_record(schema::code(code_hash), true).await?,
            now,
        ))
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
            .set_key(Some(key(schema::code(code_hash))))
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
            return Err(self.failed("UpdateItem", &err));
        };
        not_consumed(c.item(), &nonce, now)
    }

    async fn restore_code(&self, code_hash: &str, grant_id: &str) -> StoreResult<()> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(schema::code(code_hash))))
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
                _ => Err(self.failed("UpdateItem", &e)),
            },
        }
    }
}

/// What a redemption whose condition failed found: `old`, the code as it was then.
fn not_consumed(old: Option<&Item>, nonce: &str, now: i64) -> StoreResult<Consume> {
    let Some(old) = old else {
        return Ok(Consume::Missing);
    };
    let mine = string_attr(old, "consume_req") == Some(nonce);
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
        None if schema::expired(old.expires_at, now) => Consume::Missing,
        None => Consume::Mismatch(Box::new(old)),
    })
}
