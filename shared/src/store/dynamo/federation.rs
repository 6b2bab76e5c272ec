//! Federation attempts (expiring, taken once) and account links (never overwritten).
use async_trait::async_trait;
use aws_sdk_dynamodb::{operation::delete_item::DeleteItemError, types::ReturnValue};

use super::*;
use crate::store::schema::live;

#[async_trait]
impl FederationStore for DynamoStore {
    async fn put_attempt(&self, attempt: &FederationAttempt) -> StoreResult<()> {
        let pk = schema::attempt(&attempt.state_hash);
        self.put_once(expiring(&pk, attempt)?, "fedstate").await
    }

    async fn take_attempt(
        &self,
        state_hash: &str,
        now: i64,
    ) -> StoreResult<Option<FederationAttempt>> {
        let pk = schema::attempt(state_hash);
        if pk.len() > MAX_KEY_BYTES {
            return Ok(None);
        }
        // A delete of a live attempt, answering with what it deleted: of concurrent
        // callbacks only the one whose delete found it gets it. Missing and expired
        // attempts fail the condition (an expired one is left to TTL). An SDK retry of a
        // delete whose answer was lost reads as "none": the callback fails safely.
        let result = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(key(pk)))
            .condition_expression("#exp > :now")
            .expression_attribute_names("#exp", "expires_at")
            .expression_attribute_values(":now", n(now))
            .return_values(ReturnValue::AllOld)
            .send()
            .await;
        match result {
            Ok(out) => match out.attributes {
                Some(old) if !old.is_empty() => Ok(live(Some(parse(old)?), now)),
                _ => Ok(None),
            },
            Err(e) => match e.as_service_error() {
                Some(DeleteItemError::ConditionalCheckFailedException(_)) => Ok(None),
                _ => Err(self.failed("DeleteItem", &e)),
            },
        }
    }

    async fn link(&self, issuer: &str, upstream_sub: &str) -> StoreResult<Option<AccountLink>> {
        let pk = schema::link(issuer, upstream_sub);
        if pk.len() > MAX_KEY_BYTES {
            return Ok(None);
        }
        // Consistent: the loser of a race to create a link reads the winner's at once.
        self.get_record(pk, true).await
    }

    async fn create_linked_user(
        &self,
        user: &User,
        link: &AccountLink,
    ) -> StoreResult<CreateLinked> {
        let pk = schema::link(&link.issuer, &link.upstream_sub);
        // The link first: when it is taken, that is what the caller needs to know.
        let mut items = vec![put_new(&self.table, item(&pk, link, None)?)?];
        items.extend(self.create_user_items(user)?);
        const OUTCOMES: [CreateLinked; 4] = [
            CreateLinked::LinkTaken,
            CreateLinked::UserTaken(UserClaim::Sub),
            CreateLinked::UserTaken(UserClaim::Username),
            CreateLinked::UserTaken(UserClaim::Email),
        ];
        match self.transact(items).await {
            Ok(()) => Ok(CreateLinked::Created),
            Err(TxFailure::Condition(i)) => OUTCOMES.get(i).copied().ok_or_else(|| {
                StoreError::Unavailable("dynamodb: a linked user's write failed oddly".into())
            }),
            Err(TxFailure::Store(e)) => Err(e),
        }
    }

    async fn put_link(&self, link: &AccountLink) -> StoreResult<bool> {
        let pk = schema::link(&link.issuer, &link.upstream_sub);
        let condition = "attribute_not_exists(#pk)";
        self.put_if(
            item(&pk, link, None)?,
            condition,
            names(&[("#pk", PK)]),
            None,
        )
        .await
    }
}
