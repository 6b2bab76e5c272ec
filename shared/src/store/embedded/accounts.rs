//! Clients, users (with their username and email claims) and the signing keys.
use async_trait::async_trait;

use super::*;
use crate::store::schema::{UserItems, UsernameRecord};

#[async_trait]
impl ClientStore for EmbeddedStore {
    async fn client(&self, client_id: &str) -> StoreResult<Option<Client>> {
        self.get(&schema::client(client_id))
    }
    async fn put_client(&self, client: &Client) -> StoreResult<()> {
        self.put(&schema::client(&client.client_id), client)
    }
    async fn delete_client(&self, client_id: &str) -> StoreResult<bool> {
        self.remove(&schema::client(client_id))
    }
    async fn list_clients(&self, after: Option<&str>, limit: usize) -> StoreResult<Page<Client>> {
        self.list(schema::CLIENTS, after, limit)
    }
}

#[async_trait]
impl UserStore for EmbeddedStore {
    async fn user(&self, sub: &str) -> StoreResult<Option<User>> {
        self.get(&schema::user(sub))
    }

    async fn user_by_username(&self, username: &str) -> StoreResult<Option<User>> {
        match self.get::<UsernameRecord>(&schema::username(username))? {
            Some(UsernameRecord::User(u)) => Ok(Some(*u)),
            Some(UsernameRecord::Sub(sub)) => self.user(&sub).await,
            None => Ok(None),
        }
    }

    async fn user_by_email(&self, email: &str) -> StoreResult<Option<User>> {
        match self.get::<String>(&schema::email(email))? {
            Some(sub) => self.user(&sub).await,
            None => Ok(None),
        }
    }

    async fn create_user(&self, user: &User) -> StoreResult<()> {
        let items = UserItems::of(user);
        let record = encode(user)?;
        let sub = encode(&user.sub)?;
        self.write(|txn| {
            txn_put_new(txn, &items.user, &record)?;
            txn_put_new(txn, &items.username, &record)?;
            if let Some(email) = &items.email {
                txn_put_new(txn, email, &sub)?;
            }
            Ok(())
        })
    }

    async fn update_user(&self, user: &User) -> StoreResult<()> {
        let record = encode(user)?;
        let sub = encode(&user.sub)?;
        self.write(|txn| {
            let old: User = txn_get(txn, &schema::user(&user.sub))?
                .ok_or_else(|| StoreError::Conflict("user does not exist".into()))?;
            let change = schema::user_change(&old, user)?;
            if let Some(k) = &change.take_email {
                txn_put_new(txn, k, &sub)?;
            }
            if let Some(k) = &change.release_email {
                txn_delete(txn, k)?;
            }
            txn_put(txn, &change.items.username, &record)?;
            txn_put(txn, &change.items.user, &record)
        })
    }

    async fn delete_user(&self, sub: &str) -> StoreResult<bool> {
        self.write(|txn| {
            let Some(old) = txn_get::<User>(txn, &schema::user(sub))? else {
                return Ok(false);
            };
            let items = UserItems::of(&old);
            // Release a claim only if it is this user's.
            if txn_get::<UsernameRecord>(txn, &items.username)?.is_some_and(|r| r.sub() == sub) {
                txn_delete(txn, &items.username)?;
            }
            if let Some(k) = &items.email
                && txn_get::<String>(txn, k)?.as_deref() == Some(sub)
            {
                txn_delete(txn, k)?;
            }
            txn_delete(txn, &items.user)?;
            txn_delete(txn, &schema::factors(sub))?;
            Ok(true)
        })
    }

    async fn list_users(&self, after: Option<&str>, limit: usize) -> StoreResult<Page<User>> {
        self.list(schema::USERS, after, limit)
    }
}

#[async_trait]
impl KeyStore for EmbeddedStore {
    async fn published_keys(&self) -> StoreResult<Option<PublishedKeys>> {
        self.get(schema::PUBLISHED_KEYS)
    }
    /// A redb read transaction sees every committed write.
    async fn published_keys_consistent(&self) -> StoreResult<Option<PublishedKeys>> {
        self.get(schema::PUBLISHED_KEYS)
    }
    async fn publish_keys(&self, keys: &PublishedKeys) -> StoreResult<()> {
        self.put(schema::PUBLISHED_KEYS, keys)
    }
    async fn wrapped_key(&self, id: &str) -> StoreResult<Option<WrappedKey>> {
        self.get(&schema::wrapped_key(id))
    }
    async fn put_wrapped_key(&self, key: &WrappedKey) -> StoreResult<()> {
        let record = encode(key)?;
        self.write(|txn| txn_put_new(txn, &schema::wrapped_key(&key.id), &record))
    }
}

#[async_trait]
impl FactorStore for EmbeddedStore {
    async fn factors(&self, sub: &str) -> StoreResult<Option<Factors>> {
        self.get(&schema::factors(sub))
    }

    async fn put_factors(&self, f: &Factors) -> StoreResult<bool> {
        let bytes = encode(f)?;
        self.write(|txn| {
            let key = schema::factors(&f.sub);
            let stored = txn_get::<Factors>(txn, &key)?.map_or(0, |old| old.version);
            if stored + 1 != f.version {
                return Ok(false);
            }
            txn_put(txn, &key, &bytes)?;
            Ok(true)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_username_record_of_the_old_format_still_finds_its_user() {
        let s = EmbeddedStore::in_memory().expect("store");
        let user = User {
            sub: "sub-old".into(),
            username: "olga".into(),
            password_hash: "$argon2id$x".into(),
            claims: Default::default(),
            disabled: false,
            custom_claims: vec![],
            tokens_valid_after: 0,
            tokens_valid_after_ms: 0,
        };
        s.put("user#sub-old", &user).expect("user");
        s.put("username#olga", &"sub-old".to_string())
            .expect("old claim");
        assert_eq!(
            s.user_by_username("olga").await.expect("read"),
            Some(user.clone())
        );
        let q = SignInQuery {
            request_id: "none",
            username: "olga",
            counters: vec![],
            secret: false,
            now: 0,
        };
        assert_eq!(
            s.signin_read(&q).await.expect("read").user,
            Some(user.clone())
        );
        // Any update rewrites it in the new format; deleting releases it either way.
        s.update_user(&user).await.expect("update");
        assert!(matches!(
            s.get::<UsernameRecord>("username#olga").expect("read"),
            Some(UsernameRecord::User(_))
        ));
        assert!(s.delete_user("sub-old").await.expect("delete"));
        assert_eq!(s.user_by_username("olga").await.expect("read"), None);
    }
}
