//! Upstream providers (one record), federation attempts and account links.
use async_trait::async_trait;

use super::*;
use crate::store::schema::{Providers, UserItems};

impl EmbeddedStore {
    /// Rewrites the providers' record with `change` applied, in one transaction; what
    /// `change` returns.
    fn change_providers<T>(&self, change: impl FnOnce(&mut Providers) -> T) -> StoreResult<T> {
        self.write(|txn| {
            let mut all: Providers = txn_get(txn, schema::PROVIDERS)?.unwrap_or_default();
            let out = change(&mut all);
            txn_put(txn, schema::PROVIDERS, &encode(&all)?)?;
            Ok(out)
        })
    }
}

#[async_trait]
impl ProviderStore for EmbeddedStore {
    async fn provider(&self, id: &str) -> StoreResult<Option<UpstreamProvider>> {
        let all: Option<Providers> = self.get(schema::PROVIDERS)?;
        Ok(all.and_then(|mut a| a.providers.remove(id)))
    }

    async fn list_providers(&self) -> StoreResult<Vec<UpstreamProvider>> {
        let all: Option<Providers> = self.get(schema::PROVIDERS)?;
        Ok(all
            .map(|a| a.providers.into_values().collect())
            .unwrap_or_default())
    }

    async fn put_provider(&self, p: &UpstreamProvider) -> StoreResult<()> {
        self.change_providers(|all| {
            all.providers.insert(p.id.clone(), p.clone());
        })
    }

    async fn delete_provider(&self, id: &str) -> StoreResult<bool> {
        self.change_providers(|all| all.providers.remove(id).is_some())
    }
}

/// Whether `key` holds a record in the transaction.
fn exists(txn: &WriteTransaction, key: &str) -> StoreResult<bool> {
    let t = txn.open_table(ITEMS).map_err(unavailable)?;
    Ok(t.get(key).map_err(unavailable)?.is_some())
}

#[async_trait]
impl FederationStore for EmbeddedStore {
    async fn put_attempt(&self, attempt: &FederationAttempt) -> StoreResult<()> {
        let record = encode(attempt)?;
        self.write(|txn| txn_put_new(txn, &schema::attempt(&attempt.state_hash), &record))
    }

    async fn take_attempt(
        &self,
        state_hash: &str,
        now: i64,
    ) -> StoreResult<Option<FederationAttempt>> {
        let key = schema::attempt(state_hash);
        // Only a live attempt is taken; an expired one stays, as on DynamoDB (until TTL).
        self.write(|txn| {
            let found = schema::live(txn_get::<FederationAttempt>(txn, &key)?, now);
            if found.is_some() {
                txn_delete(txn, &key)?;
            }
            Ok(found)
        })
    }

    async fn link(&self, issuer: &str, upstream_sub: &str) -> StoreResult<Option<AccountLink>> {
        self.get(&schema::link(issuer, upstream_sub))
    }

    async fn create_linked_user(
        &self,
        user: &User,
        link: &AccountLink,
    ) -> StoreResult<CreateLinked> {
        let items = UserItems::of(user);
        let link_key = schema::link(&link.issuer, &link.upstream_sub);
        let (record, sub, link_record) = (encode(user)?, encode(&user.sub)?, encode(link)?);
        self.write(|txn| {
            // Everything is checked before anything is written: a refusal writes nothing.
            let taken = [
                (Some(&link_key), CreateLinked::LinkTaken),
                (Some(&items.user), CreateLinked::UserTaken(UserClaim::Sub)),
                (
                    Some(&items.username),
                    CreateLinked::UserTaken(UserClaim::Username),
                ),
                (
                    items.email.as_ref(),
                    CreateLinked::UserTaken(UserClaim::Email),
                ),
            ];
            for (key, outcome) in taken {
                if let Some(key) = key
                    && exists(txn, key)?
                {
                    return Ok(outcome);
                }
            }
            txn_put(txn, &items.user, &record)?;
            txn_put(txn, &items.username, &record)?;
            if let Some(email) = &items.email {
                txn_put(txn, email, &sub)?;
            }
            txn_put(txn, &link_key, &link_record)?;
            Ok(CreateLinked::Created)
        })
    }

    async fn put_link(&self, link: &AccountLink) -> StoreResult<bool> {
        let key = schema::link(&link.issuer, &link.upstream_sub);
        let record = encode(link)?;
        self.write(|txn| {
            if exists(txn, &key)? {
                return Ok(false);
            }
            txn_put(txn, &key, &record)?;
            Ok(true)
        })
    }
}
