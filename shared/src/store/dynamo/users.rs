//! Users and the claims on their usernames and emails ([`UserItems`]), written together in
//! one transaction. A user item carries a hidden `rev` counter: an update or delete reads
//! it, decides from what it read, and writes only if nobody wrote in between (optimistic
//! concurrency); otherwise it reads again.
use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::types::{AttributeValue, Delete, Put};

use super::*;
use crate::store::schema::{UserItems, UsernameRecord};

/// A user item as read: the user and its `rev` (absent on items written before it was).
struct Revision {
    user: User,
    rev: Option<i64>,
}

impl Revision {
    /// The condition that the user item is still this revision, and its values.
    fn unchanged(&self) -> (&'static str, Option<HashMap<String, AttributeValue>>) {
        match self.rev {
            Some(rev) => (
                "attribute_exists(#pk) AND #rev = :rev",
                Some(values(vec![(":rev", n(rev))])),
            ),
            None => ("attribute_exists(#pk) AND attribute_not_exists(#rev)", None),
        }
    }
}

/// A user transaction: its items, and what a failed condition at each index means (None:
/// the user changed since it was read, so read again).
struct UserTx {
    items: Vec<TransactWriteItem>,
    conflicts: Vec<Option<&'static str>>,
}

fn unbuildable<E>(_: E) -> StoreError {
    StoreError::Unavailable("dynamodb: cannot build a user write".into())
}

/// Releases a username or email claim, only if it is `sub`'s (or already gone).
fn release(table: &str, claim: &str, sub: &str) -> StoreResult<TransactWriteItem> {
    let delete = Delete::builder()
        .table_name(table)
        .set_key(Some(key(claim.to_string())))
        .condition_expression("attribute_not_exists(#pk) OR #sub = :sub")
        .set_expression_attribute_names(Some(names(&[("#pk", PK), ("#sub", "sub")])))
        .expression_attribute_values(":sub", s(sub))
        .build()
        .map_err(unbuildable)?;
    Ok(TransactWriteItem::builder().delete(delete).build())
}

impl DynamoStore {
    async fn revision(&self, pk: &str) -> StoreResult<Option<Revision>> {
        let Some(item) = self.get(pk.to_string(), true).await? else {
            return Ok(None);
        };
        let rev = match item.get("rev") {
            Some(AttributeValue::N(v)) => Some(
                v.parse::<i64>()
                    .map_err(|_| StoreError::Unavailable("dynamodb: malformed user item".into()))?,
            ),
            _ => None,
        };
        let user = parse(item)?;
        Ok(Some(Revision { user, rev }))
    }

    /// Reads the user `sub` and writes `plan`'s transaction for what was read, again while
    /// the user changes in between. `false`: there is no such user.
    async fn rewrite_user(
        &self,
        sub: &str,
        plan: impl Fn(&Revision) -> StoreResult<UserTx> + Send + Sync,
    ) -> StoreResult<bool> {
        let pk = schema::user(sub);
        for attempt in 0..MAX_ATTEMPTS {
            let Some(old) = self.revision(&pk).await? else {
                return Ok(false);
            };
            let tx = plan(&old)?;
            match self.transact(tx.items).await {
                Ok(()) => return Ok(true),
                Err(TxFailure::Condition(i)) => match tx.conflicts.get(i).copied().flatten() {
                    Some(kind) => return Err(StoreError::Conflict(kind.into())),
                    None => backoff(attempt).await,
                },
                Err(TxFailure::Store(e)) => return Err(e),
            }
        }
        Err(StoreError::Unavailable(
            "dynamodb: user updated concurrently too often, gave up".into(),
        ))
    }

    /// A new user's items, in the order of [`UserItems`]: its record (at revision 0), the
    /// copy under its username and its email claim, each written only if it does not exist.
    pub(super) fn create_user_items(&self, user: &User) -> StoreResult<Vec<TransactWriteItem>> {
        let keys = UserItems::of(user);
        let mut record = item(&keys.user, user, None)?;
        record.insert("rev".into(), n(0));
        let mut items = vec![
            put_new(&self.table, record)?,
            put_new(&self.table, item(&keys.username, user, None)?)?,
        ];
        if let Some(email) = &keys.email {
            let claim = Claim {
                sub: user.sub.clone(),
            };
            items.push(put_new(&self.table, item(email, &claim, None)?)?);
        }
        Ok(items)
    }

    /// Replacing `old` by `user`: both records, guarded by the revision read, and the email
    /// claim moved when the address changes.
    fn update_tx(&self, old: &Revision, user: &User) -> StoreResult<UserTx> {
        // The TOTP flag is the factors' to write (`put_totp`): kept as stored.
        let user = &User {
            totp: old.user.totp,
            ..user.clone()
        };
        let change = schema::user_change(&old.user, user)?;
        let mut record = item(&change.items.user, user, None)?;
        record.insert("rev".into(), n(old.rev.unwrap_or(0) + 1));
        let (condition, cond_values) = old.unchanged();
        let put_user = Put::builder()
            .table_name(&self.table)
            .set_item(Some(record))
            .condition_expression(condition)
            .set_expression_attribute_names(Some(names(&[("#pk", PK), ("#rev", "rev")])))
            .set_expression_attribute_values(cond_values)
            .build()
            .map_err(unbuildable)?;
        // The copy read by username, replaced with the user in the same transaction.
        let put_username = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item(&change.items.username, user, None)?))
            .condition_expression("attribute_not_exists(#pk) OR #sub = :sub")
            .set_expression_attribute_names(Some(names(&[("#pk", PK), ("#sub", "sub")])))
            .expression_attribute_values(":sub", s(&user.sub))
            .build()
            .map_err(unbuildable)?;
        let mut tx = UserTx {
            items: vec![
                TransactWriteItem::builder().put(put_user).build(),
                TransactWriteItem::builder().put(put_username).build(),
            ],
            conflicts: vec![None, Some("username held by another user")],
        };
        if let Some(k) = &change.take_email {
            let claim = Claim {
                sub: user.sub.clone(),
            };
            tx.items.push(put_new(&self.table, item(k, &claim, None)?)?);
            tx.conflicts.push(Some("email"));
        }
        if let Some(k) = &change.release_email {
            tx.items.push(release(&self.table, k, &user.sub)?);
            tx.conflicts.push(Some("email held by another user"));
        }
        Ok(tx)
    }

    /// Deleting `old` (read under `sub`): its record, guarded by the revision read, and its
    /// claims.
    fn delete_tx(&self, old: &Revision, sub: &str, passkeys: &[String]) -> StoreResult<UserTx> {
        let (condition, cond_values) = old.unchanged();
        let delete_user = Delete::builder()
            .table_name(&self.table)
            .set_key(Some(key(schema::user(sub))))
            .condition_expression(condition)
            .set_expression_attribute_names(Some(names(&[("#pk", PK), ("#rev", "rev")])))
            .set_expression_attribute_values(cond_values)
            .build()
            .map_err(unbuildable)?;
        let mut tx = UserTx {
            items: vec![TransactWriteItem::builder().delete(delete_user).build()],
            conflicts: vec![None],
        };
        for claim in UserItems::of(&old.user).claims() {
            tx.items.push(release(&self.table, claim, sub)?);
            tx.conflicts
                .push(Some("username or email held by another user"));
        }
        // The person's second factors and passkeys go with them (no condition: there may
        // be none).
        let owned = std::iter::once(schema::factors(sub))
            .chain(passkeys.iter().map(|id| schema::passkey(id)));
        for pk in owned {
            let delete = Delete::builder()
                .table_name(&self.table)
                .set_key(Some(key(pk)))
                .build()
                .map_err(unbuildable)?;
            tx.items
                .push(TransactWriteItem::builder().delete(delete).build());
            tx.conflicts.push(None);
        }
        Ok(tx)
    }
}

#[async_trait]
impl UserStore for DynamoStore {
    async fn user(&self, sub: &str) -> StoreResult<Option<User>> {
        // Consistent: a password change or a disabled flag must take effect at once.
        self.get_record(schema::user(sub), true).await
    }

    async fn user_by_username(&self, username: &str) -> StoreResult<Option<User>> {
        let pk = schema::username(username);
        if pk.len() > MAX_KEY_BYTES {
            return Ok(None);
        }
        match self.get(pk, true).await?.map(username_record).transpose()? {
            Some(UsernameRecord::User(u)) => Ok(Some(*u)),
            Some(UsernameRecord::Sub(sub)) => self.user(&sub).await,
            None => Ok(None),
        }
    }

    async fn user_by_email(&self, email: &str) -> StoreResult<Option<User>> {
        let pk = schema::email(email);
        if pk.len() > MAX_KEY_BYTES {
            return Ok(None);
        }
        match self.get(pk, true).await?.map(parse::<Claim>).transpose()? {
            Some(claim) => self.user(&claim.sub).await,
            None => Ok(None),
        }
    }

    async fn create_user(&self, user: &User) -> StoreResult<()> {
        const KINDS: [&str; 3] = ["user", "username", "email"];
        match self.transact(self.create_user_items(user)?).await {
            Ok(()) => Ok(()),
            Err(TxFailure::Condition(i)) => Err(StoreError::Conflict(
                KINDS.get(i).copied().unwrap_or("item").into(),
            )),
            Err(TxFailure::Store(e)) => Err(e),
        }
    }

    async fn update_user(&self, user: &User) -> StoreResult<()> {
        match self
            .rewrite_user(&user.sub, |old| self.update_tx(old, user))
            .await?
        {
            true => Ok(()),
            false => Err(StoreError::Conflict("user does not exist".into())),
        }
    }

    async fn delete_user(&self, sub: &str) -> StoreResult<bool> {
        // The passkeys listed now go in the same transaction. One added after this read
        // stays behind, naming a sub that is gone: a sign-in with it finds no person (and
        // checks that the person's factors list it).
        let passkeys = self
            .factors(sub)
            .await?
            .map(|f| f.passkeys)
            .unwrap_or_default();
        self.rewrite_user(sub, |old| self.delete_tx(old, sub, &passkeys))
            .await
    }

    async fn list_users(&self, after: Option<&str>, limit: usize) -> StoreResult<Page<User>> {
        self.list(schema::USERS, after, limit).await
    }
}
