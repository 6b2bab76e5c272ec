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
        let sub = encode(&user.sub)?;
        self.write(|txn| {
            let old: User = txn_get(txn, &schema::user(&user.sub))?
                .ok_or_else(|| StoreError::Conflict("user does not exist".into()))?;
            // The TOTP flag is the factors' to write (`put_totp`): kept as stored.
            let record = encode(&User {
                totp: old.totp,
                ..user.clone()
            })?;
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
            if let Some(f) = txn_get::<Factors>(txn, &schema::factors(sub))? {
                for id in &f.passkeys {
                    txn_delete(txn, &schema::passkey(id))?;
                }
                txn_delete(txn, &schema::factors(sub))?;
            }
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

/// Whether `f` may replace the stored factors: made from them (see
/// [`FactorStore::put_factors`]).
pub(super) fn factors_current(txn: &WriteTransaction, f: &Factors) -> StoreResult<bool> {
    let stored = txn_get::<Factors>(txn, &schema::factors(&f.sub))?.map_or(0, |old| old.version);
    Ok(stored + 1 == f.version)
}

#[async_trait]
impl FactorStore for EmbeddedStore {
    async fn factors(&self, sub: &str) -> StoreResult<Option<Factors>> {
        self.get(&schema::factors(sub))
    }

    async fn put_factors(&self, f: &Factors) -> StoreResult<bool> {
        let bytes = encode(f)?;
        self.write(|txn| {
            if !factors_current(txn, f)? {
                return Ok(false);
            }
            txn_put(txn, &schema::factors(&f.sub), &bytes)?;
            Ok(true)
        })
    }

    async fn put_totp(&self, f: &Factors, user: &User) -> StoreResult<bool> {
        let bytes = encode(f)?;
        self.write(|txn| {
            let stored = txn_get::<User>(txn, &schema::user(&user.sub))?;
            let (true, Some(mut stored)) = (factors_current(txn, f)?, stored) else {
                return Ok(false);
            };
            stored.totp = f.totp.is_some();
            let record = encode(&stored)?;
            txn_put(txn, &schema::user(&stored.sub), &record)?;
            // The copy under the username, unless it is an older record naming the sub only.
            let name = schema::username(&stored.username);
            if let Some(UsernameRecord::User(_)) = txn_get::<UsernameRecord>(txn, &name)? {
                txn_put(txn, &name, &record)?;
            }
            txn_put(txn, &schema::factors(&f.sub), &bytes)?;
            Ok(true)
        })
    }

    async fn passkey(&self, credential_id: &str) -> StoreResult<Option<Passkey>> {
        self.get(&schema::passkey(credential_id))
    }

    async fn passkeys(&self, credential_ids: &[String]) -> StoreResult<Vec<Passkey>> {
        let mut found = Vec::new();
        for id in credential_ids {
            found.extend(self.get::<Passkey>(&schema::passkey(id))?);
        }
        Ok(found)
    }

    async fn add_passkey(&self, f: &Factors, p: &Passkey) -> StoreResult<AddPasskey> {
        let (factors, passkey) = (encode(f)?, encode(p)?);
        self.write(|txn| {
            if txn_get::<Passkey>(txn, &schema::passkey(&p.id))?.is_some() {
                return Ok(AddPasskey::IdTaken);
            }
            if !factors_current(txn, f)? {
                return Ok(AddPasskey::Stale);
            }
            txn_put(txn, &schema::passkey(&p.id), &passkey)?;
            txn_put(txn, &schema::factors(&f.sub), &factors)?;
            Ok(AddPasskey::Added)
        })
    }

    async fn remove_passkey(&self, f: &Factors, credential_id: &str) -> StoreResult<bool> {
        let factors = encode(f)?;
        self.write(|txn| {
            if !factors_current(txn, f)? {
                return Ok(false);
            }
            txn_delete(txn, &schema::passkey(credential_id))?;
            txn_put(txn, &schema::factors(&f.sub), &factors)?;
            Ok(true)
        })
    }

    async fn use_passkey(&self, p: &Passkey, previous_count: u32) -> StoreResult<bool> {
        let bytes = encode(p)?;
        self.write(|txn| {
            let key = schema::passkey(&p.id);
            match txn_get::<Passkey>(txn, &key)? {
                Some(stored) if stored.sign_count == previous_count && stored.sub == p.sub => {
                    txn_put(txn, &key, &bytes)?;
                    Ok(true)
                }
                _ => Ok(false),
            }
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
            totp: false,
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
            factors: None,
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
