//! The embedded backend: one redb table of JSON records under typed keys, in a local file or
//! in memory. Each trait method is one redb transaction, so conditional writes are atomic
//! exactly as DynamoDB's are.
use std::{collections::HashMap, path::Path};

use async_trait::async_trait;
use redb::{Database, ReadableTable, TableDefinition, WriteTransaction, backends::InMemoryBackend};
use serde::{Serialize, de::DeserializeOwned};

use super::*;

const PUBLISHED_KEYS: &str = "keys#published";

const ITEMS: TableDefinition<&str, &[u8]> = TableDefinition::new("items");

pub struct EmbeddedStore {
    db: Database,
}

fn unavailable(e: impl std::fmt::Display) -> StoreError {
    StoreError::Unavailable(e.to_string())
}

fn encode<T: Serialize>(v: &T) -> StoreResult<Vec<u8>> {
    serde_json::to_vec(v).map_err(unavailable)
}

fn decode<T: DeserializeOwned>(bytes: &[u8]) -> StoreResult<T> {
    serde_json::from_slice(bytes).map_err(unavailable)
}

#[derive(serde::Serialize, serde::Deserialize)]
struct Revoked {
    expires_at: i64,
}

/// A remembered one-time key (`replay#<key>`).
#[derive(serde::Serialize, serde::Deserialize)]
struct Replay {
    until: i64,
}

/// A `username#` record: the whole user (written since usernames are read in one hop), or
/// the `sub` alone (written before).
#[derive(serde::Serialize, serde::Deserialize)]
#[serde(untagged)]
enum UsernameRecord {
    User(Box<User>),
    Sub(String),
}

impl UsernameRecord {
    fn sub(&self) -> &str {
        match self {
            UsernameRecord::User(u) => &u.sub,
            UsernameRecord::Sub(sub) => sub,
        }
    }
}

fn username_key(username: &str) -> String {
    format!("username#{username}")
}

fn throttle_key(key: &str) -> String {
    format!("throttle#{key}")
}

impl EmbeddedStore {
    /// Opens (or creates) `path`. redb holds an exclusive lock: one process per file.
    pub fn open(path: &Path) -> StoreResult<Self> {
        let db = Database::create(path).map_err(|e| match e {
            redb::DatabaseError::DatabaseAlreadyOpen => StoreError::Unavailable(format!(
                "{} is in use by another process: only one process at a time can open a data \
                 directory. Stop the local server using it (the `cargo run -p oidc-local` \
                 terminal: Ctrl-C) and run this again, then start the server again; or use \
                 another --data-dir",
                path.display()
            )),
            e => unavailable(e),
        })?;
        Self::init(db)
    }

    pub fn in_memory() -> StoreResult<Self> {
        let db = Database::builder()
            .create_with_backend(InMemoryBackend::new())
            .map_err(unavailable)?;
        Self::init(db)
    }

    fn init(db: Database) -> StoreResult<Self> {
        let txn = db.begin_write().map_err(unavailable)?;
        txn.open_table(ITEMS).map_err(unavailable)?;
        txn.commit().map_err(unavailable)?;
        Ok(Self { db })
    }

    fn get<T: DeserializeOwned>(&self, key: &str) -> StoreResult<Option<T>> {
        let txn = self.db.begin_read().map_err(unavailable)?;
        let table = txn.open_table(ITEMS).map_err(unavailable)?;
        match table.get(key).map_err(unavailable)? {
            Some(v) => decode(v.value()).map(Some),
            None => Ok(None),
        }
    }

    /// Runs `f` in one write transaction, committed only if `f` succeeds.
    fn write<T>(&self, f: impl FnOnce(&WriteTransaction) -> StoreResult<T>) -> StoreResult<T> {
        let txn = self.db.begin_write().map_err(unavailable)?;
        let out = f(&txn)?;
        txn.commit().map_err(unavailable)?;
        Ok(out)
    }

    fn put<T: Serialize>(&self, key: &str, value: &T) -> StoreResult<()> {
        let bytes = encode(value)?;
        self.write(|txn| {
            let mut t = txn.open_table(ITEMS).map_err(unavailable)?;
            t.insert(key, bytes.as_slice()).map_err(unavailable)?;
            Ok(())
        })
    }

    fn delete(&self, key: &str) -> StoreResult<()> {
        self.write(|txn| {
            let mut t = txn.open_table(ITEMS).map_err(unavailable)?;
            t.remove(key).map_err(unavailable)?;
            Ok(())
        })
    }

    /// Up to `limit` records whose keys start with `prefix`, after `prefix + after`, in key
    /// order; the cursor is the last key without its prefix.
    fn list<T: DeserializeOwned>(
        &self,
        prefix: &str,
        after: Option<&str>,
        limit: usize,
    ) -> StoreResult<Page<T>> {
        use std::ops::Bound;
        let txn = self.db.begin_read().map_err(unavailable)?;
        let table = txn.open_table(ITEMS).map_err(unavailable)?;
        let start = format!("{prefix}{}", after.unwrap_or_default());
        let lower = match after {
            Some(_) => Bound::Excluded(start.as_str()),
            None => Bound::Included(start.as_str()),
        };
        let range = table
            .range::<&str>((lower, Bound::Unbounded))
            .map_err(unavailable)?;
        let mut items = Vec::new();
        let mut last = None;
        for entry in range {
            let (k, v) = entry.map_err(unavailable)?;
            let Some(id) = k.value().strip_prefix(prefix) else {
                break;
            };
            if items.len() == limit.max(1) {
                // One more exists: the page is full and not the last.
                return Ok(Page { items, next: last });
            }
            last = Some(id.to_string());
            items.push(decode(v.value())?);
        }
        Ok(Page { items, next: None })
    }
}

fn txn_get<T: DeserializeOwned>(txn: &WriteTransaction, key: &str) -> StoreResult<Option<T>> {
    let t = txn.open_table(ITEMS).map_err(unavailable)?;
    let v = t.get(key).map_err(unavailable)?;
    v.map(|v| decode(v.value())).transpose()
}

fn txn_put_new(txn: &WriteTransaction, key: &str, value: &[u8]) -> StoreResult<()> {
    let mut t = txn.open_table(ITEMS).map_err(unavailable)?;
    if t.get(key).map_err(unavailable)?.is_some() {
        return Err(StoreError::Conflict(
            key.split('#').next().unwrap_or("item").to_string(),
        ));
    }
    t.insert(key, value).map_err(unavailable)?;
    Ok(())
}

fn txn_put(txn: &WriteTransaction, key: &str, value: &[u8]) -> StoreResult<()> {
    let mut t = txn.open_table(ITEMS).map_err(unavailable)?;
    t.insert(key, value).map_err(unavailable)?;
    Ok(())
}

fn txn_delete(txn: &WriteTransaction, key: &str) -> StoreResult<()> {
    let mut t = txn.open_table(ITEMS).map_err(unavailable)?;
    t.remove(key).map_err(unavailable)?;
    Ok(())
}

/// `#` cannot occur in a sub (ours are base64url), so the pair is unambiguous.
pub(crate) fn consent_key(sub: &str, client_id: &str) -> String {
    format!("consent#{sub}#{client_id}")
}

/// Emails are unique case-insensitively.
fn email_key(email: &str) -> String {
    format!("email#{}", email.to_lowercase())
}

#[async_trait]
impl ClientStore for EmbeddedStore {
    async fn client(&self, client_id: &str) -> StoreResult<Option<Client>> {
        self.get(&format!("client#{client_id}"))
    }
    async fn put_client(&self, client: &Client) -> StoreResult<()> {
        self.put(&format!("client#{}", client.client_id), client)
    }
    async fn delete_client(&self, client_id: &str) -> StoreResult<bool> {
        let key = format!("client#{client_id}");
        self.write(|txn| {
            let mut t = txn.open_table(ITEMS).map_err(unavailable)?;
            Ok(t.remove(key.as_str()).map_err(unavailable)?.is_some())
        })
    }
    async fn list_clients(&self, after: Option<&str>, limit: usize) -> StoreResult<Page<Client>> {
        self.list("client#", after, limit)
    }
}

#[async_trait]
impl UserStore for EmbeddedStore {
    async fn user(&self, sub: &str) -> StoreResult<Option<User>> {
        self.get(&format!("user#{sub}"))
    }

    async fn user_by_username(&self, username: &str) -> StoreResult<Option<User>> {
        match self.get::<UsernameRecord>(&username_key(username))? {
            Some(UsernameRecord::User(u)) => Ok(Some(*u)),
            Some(UsernameRecord::Sub(sub)) => self.user(&sub).await,
            None => Ok(None),
        }
    }

    async fn create_user(&self, user: &User) -> StoreResult<()> {
        let record = encode(user)?;
        let sub = encode(&user.sub)?;
        self.write(|txn| {
            txn_put_new(txn, &format!("user#{}", user.sub), &record)?;
            txn_put_new(txn, &username_key(&user.username), &record)?;
            if let Some(email) = user.email() {
                txn_put_new(txn, &email_key(email), &sub)?;
            }
            Ok(())
        })
    }

    async fn update_user(&self, user: &User) -> StoreResult<()> {
        let record = encode(user)?;
        let sub = encode(&user.sub)?;
        self.write(|txn| {
            let old: User = txn_get(txn, &format!("user#{}", user.sub))?
                .ok_or_else(|| StoreError::Conflict("user does not exist".into()))?;
            if old.username != user.username {
                return Err(StoreError::Conflict("username cannot change".into()));
            }
            let (old_email, new_email) = (old.email().map(email_key), user.email().map(email_key));
            if old_email != new_email {
                if let Some(k) = &new_email {
                    txn_put_new(txn, k, &sub)?;
                }
                if let Some(k) = &old_email {
                    txn_delete(txn, k)?;
                }
            }
            txn_put(txn, &username_key(&user.username), &record)?;
            txn_put(txn, &format!("user#{}", user.sub), &record)
        })
    }

    async fn delete_user(&self, sub: &str) -> StoreResult<bool> {
        self.write(|txn| {
            let Some(old) = txn_get::<User>(txn, &format!("user#{sub}"))? else {
                return Ok(false);
            };
            // Release a claim only if it is this user's.
            let username = username_key(&old.username);
            if txn_get::<UsernameRecord>(txn, &username)?.is_some_and(|r| r.sub() == sub) {
                txn_delete(txn, &username)?;
            }
            if let Some(k) = old.email().map(email_key)
                && txn_get::<String>(txn, &k)?.as_deref() == Some(sub)
            {
                txn_delete(txn, &k)?;
            }
            txn_delete(txn, &format!("user#{sub}"))?;
            Ok(true)
        })
    }

    async fn list_users(&self, after: Option<&str>, limit: usize) -> StoreResult<Page<User>> {
        self.list("user#", after, limit)
    }
}

#[async_trait]
impl AuthRequestStore for EmbeddedStore {
    async fn put_auth_request(&self, req: &AuthRequest) -> StoreResult<()> {
        self.put(&format!("authreq#{}", req.id), req)
    }
    async fn auth_request(&self, id: &str, now: i64) -> StoreResult<Option<AuthRequest>> {
        Ok(self
            .get::<AuthRequest>(&format!("authreq#{id}"))?
            .filter(|r| r.expires_at > now))
    }
    async fn delete_auth_request(&self, id: &str) -> StoreResult<bool> {
        let key = format!("authreq#{id}");
        self.write(|txn| {
            let mut t = txn.open_table(ITEMS).map_err(unavailable)?;
            let removed = t.remove(key.as_str()).map_err(unavailable)?.is_some();
            Ok(removed)
        })
    }

    async fn complete_auth_request(
        &self,
        id: &str,
        code: &AuthCode,
        agreed: Option<&Consent>,
    ) -> StoreResult<bool> {
        let key = format!("authreq#{id}");
        let code_bytes = encode(code)?;
        self.write(|txn| {
            if txn_get::<AuthRequest>(txn, &key)?.is_none() {
                return Ok(false);
            }
            txn_delete(txn, &key)?;
            txn_put_new(txn, &format!("code#{}", code.code_hash), &code_bytes)?;
            if let Some(a) = agreed {
                let ckey = consent_key(&a.sub, &a.client_id);
                let widened = match txn_get::<Consent>(txn, &ckey)? {
                    Some(mut prior) => {
                        prior.widen(a);
                        prior
                    }
                    None => a.clone(),
                };
                txn_put(txn, &ckey, &encode(&widened)?)?;
            }
            Ok(true)
        })
    }
}

#[async_trait]
impl SessionStore for EmbeddedStore {
    async fn put_session(&self, s: &Session) -> StoreResult<()> {
        self.put(&format!("session#{}", s.id_hash), s)
    }
    async fn session(&self, id_hash: &str, now: i64) -> StoreResult<Option<Session>> {
        Ok(self
            .get::<Session>(&format!("session#{id_hash}"))?
            .filter(|s| s.expires_at > now))
    }
    async fn delete_session(&self, id_hash: &str) -> StoreResult<()> {
        self.delete(&format!("session#{id_hash}"))
    }
}

#[async_trait]
impl CodeStore for EmbeddedStore {
    async fn put_code(&self, code: &AuthCode) -> StoreResult<()> {
        let bytes = encode(code)?;
        self.write(|txn| txn_put_new(txn, &format!("code#{}", code.code_hash), &bytes))
    }

    async fn code(&self, code_hash: &str, now: i64) -> StoreResult<Option<AuthCode>> {
        Ok(self
            .get::<AuthCode>(&format!("code#{code_hash}"))?
            .filter(|c| c.expires_at > now))
    }

    async fn consume_code(
        &self,
        code_hash: &str,
        presented: &CodeRedemption<'_>,
        minted: &Minted,
        now: i64,
    ) -> StoreResult<Consume> {
        let key = format!("code#{code_hash}");
        self.write(|txn| {
            let Some(mut code) = txn_get::<AuthCode>(txn, &key)? else {
                return Ok(Consume::Missing);
            };
            if code.minted.is_some() {
                return Ok(Consume::AlreadyConsumed {
                    client_id: code.client_id,
                    minted: code.minted,
                });
            }
            if code.expires_at <= now {
                return Ok(Consume::Missing);
            }
            if !presented.matches(&code) {
                return Ok(Consume::Mismatch(Box::new(code)));
            }
            code.minted = Some(minted.clone());
            txn_put(txn, &key, &encode(&code)?)?;
            Ok(Consume::Consumed(Box::new(code)))
        })
    }

    async fn restore_code(&self, code_hash: &str, grant_id: &str) -> StoreResult<()> {
        let key = format!("code#{code_hash}");
        self.write(|txn| {
            if let Some(mut code) = txn_get::<AuthCode>(txn, &key)?
                && code.minted.as_ref().is_some_and(|m| m.grant_id == grant_id)
            {
                code.minted = None;
                txn_put(txn, &key, &encode(&code)?)?;
            }
            Ok(())
        })
    }
}

#[async_trait]
impl ConsentStore for EmbeddedStore {
    async fn consent(&self, sub: &str, client_id: &str) -> StoreResult<Option<Consent>> {
        Ok(self
            .get::<Consent>(&consent_key(sub, client_id))?
            .map(|mut c| {
                c.normalize();
                c
            }))
    }
    async fn put_consent(&self, c: &Consent) -> StoreResult<()> {
        self.put(&consent_key(&c.sub, &c.client_id), c)
    }
    async fn delete_consent(&self, sub: &str, client_id: &str) -> StoreResult<()> {
        self.delete(&consent_key(sub, client_id))
    }
}

#[async_trait]
impl RevocationStore for EmbeddedStore {
    async fn revoke(&self, jti: &str, until: i64) -> StoreResult<()> {
        self.put(&format!("revoked#{jti}"), &Revoked { expires_at: until })
    }
    async fn is_revoked(&self, jti: &str, now: i64) -> StoreResult<bool> {
        Ok(self
            .get::<Revoked>(&format!("revoked#{jti}"))?
            .is_some_and(|r| r.expires_at > now))
    }
}

#[async_trait]
impl RefreshStore for EmbeddedStore {
    async fn put_refresh(&self, token: &RefreshToken) -> StoreResult<()> {
        let bytes = encode(token)?;
        self.write(|txn| txn_put_new(txn, &format!("refresh#{}", token.token_hash), &bytes))
    }

    async fn refresh(&self, token_hash: &str, now: i64) -> StoreResult<Option<RefreshToken>> {
        Ok(self
            .get::<RefreshToken>(&format!("refresh#{token_hash}"))?
            .filter(|t| t.expires_at > now))
    }

    async fn rotate_refresh(
        &self,
        old_hash: &str,
        next: &RefreshToken,
        now: i64,
    ) -> StoreResult<Rotate> {
        if next.token_hash == old_hash {
            return Err(StoreError::Conflict("refresh".into()));
        }
        let old_key = format!("refresh#{old_hash}");
        let next_bytes = encode(next)?;
        self.write(|txn| {
            // Expired means absent, used or not (as `refresh` reads it).
            let Some(mut old) =
                txn_get::<RefreshToken>(txn, &old_key)?.filter(|t| t.expires_at > now)
            else {
                return Ok(Rotate::Missing);
            };
            if old.used_at.is_some() {
                return Ok(Rotate::AlreadyUsed(Box::new(old)));
            }
            // An error here drops the transaction uncommitted: the old token stays unused.
            txn_put_new(txn, &format!("refresh#{}", next.token_hash), &next_bytes)?;
            old.used_at = Some(now);
            txn_put(txn, &old_key, &encode(&old)?)?;
            Ok(Rotate::Rotated)
        })
    }
}

#[async_trait]
impl ReplayStore for EmbeddedStore {
    async fn first_use(&self, key: &str, until: i64, now: i64) -> StoreResult<bool> {
        let key = format!("replay#{key}");
        let bytes = encode(&Replay { until })?;
        self.write(|txn| {
            if txn_get::<Replay>(txn, &key)?.is_some_and(|r| r.until > now) {
                return Ok(false);
            }
            txn_put(txn, &key, &bytes)?;
            Ok(true)
        })
    }
}

#[async_trait]
impl KeyStore for EmbeddedStore {
    async fn published_keys(&self) -> StoreResult<Option<PublishedKeys>> {
        self.get(PUBLISHED_KEYS)
    }
    async fn publish_keys(&self, keys: &PublishedKeys) -> StoreResult<()> {
        self.put(PUBLISHED_KEYS, keys)
    }
    async fn wrapped_key(&self, id: &str) -> StoreResult<Option<WrappedKey>> {
        self.get(&format!("wrapped-key#{id}"))
    }
    async fn put_wrapped_key(&self, key: &WrappedKey) -> StoreResult<()> {
        let record = encode(key)?;
        self.write(|txn| txn_put_new(txn, &format!("wrapped-key#{}", key.id), &record))
    }
}

#[async_trait]
impl SignInStore for EmbeddedStore {
    async fn signin_read(&self, q: &SignInQuery<'_>) -> StoreResult<SignInState> {
        // One read transaction: a consistent snapshot of everything the attempt depends on.
        let txn = self.db.begin_read().map_err(unavailable)?;
        let table = txn.open_table(ITEMS).map_err(unavailable)?;
        let get = |key: &str| -> StoreResult<Option<Vec<u8>>> {
            Ok(table
                .get(key)
                .map_err(unavailable)?
                .map(|v| v.value().to_vec()))
        };
        let request = get(&format!("authreq#{}", q.request_id))?
            .map(|b| decode::<AuthRequest>(&b))
            .transpose()?
            .filter(|r| r.expires_at > q.now);
        let user = match get(&username_key(q.username))?
            .map(|b| decode::<UsernameRecord>(&b))
            .transpose()?
        {
            Some(UsernameRecord::User(u)) => Some(*u),
            Some(UsernameRecord::Sub(sub)) => get(&format!("user#{sub}"))?
                .map(|b| decode::<User>(&b))
                .transpose()?,
            None => None,
        };
        let mut counters = HashMap::new();
        for key in &q.counters {
            if let Some(b) = get(&throttle_key(key))? {
                counters.insert(key.clone(), decode::<Counter>(&b)?);
            }
        }
        let secret = if q.secret {
            get(SECRET_KEY)?.map(|b| decode(&b)).transpose()?
        } else {
            None
        };
        Ok(SignInState {
            request,
            user,
            counters,
            secret,
        })
    }

    async fn signin_write(&self, w: &SignInWrite<'_>) -> StoreResult<bool> {
        let session = w.session.map(encode).transpose()?;
        let request = w.request.map(encode).transpose()?;
        self.write(|txn| {
            // Every guard is checked before anything is written: a lost attempt writes nothing.
            let mut writes = Vec::new();
            for op in &w.counters {
                let key = throttle_key(&op.guard().key);
                let current = txn_get::<Counter>(txn, &key)?;
                let next = match op {
                    CounterWrite::Fail(guard, window) => {
                        match after_failure(guard, *window, current.as_ref(), w.now, w.now_ms) {
                            Some(next) => Some(encode(&next)?),
                            None => return Ok(false),
                        }
                    }
                    CounterWrite::Hold(guard) | CounterWrite::Reset(guard)
                        if !guard.holds(current.as_ref(), w.now) =>
                    {
                        return Ok(false);
                    }
                    CounterWrite::Hold(_) => continue,
                    CounterWrite::Reset(_) => None,
                };
                writes.push((key, next));
            }
            for (key, next) in writes {
                match next {
                    Some(bytes) => txn_put(txn, &key, &bytes)?,
                    None => txn_delete(txn, &key)?,
                }
            }
            if let (Some(bytes), Some(s)) = (&session, w.session) {
                txn_put(txn, &format!("session#{}", s.id_hash), bytes)?;
            }
            if let (Some(bytes), Some(r)) = (&request, w.request) {
                txn_put(txn, &format!("authreq#{}", r.id), bytes)?;
            }
            Ok(true)
        })
    }

    async fn create_secret(&self, secret: &DeploymentSecret) -> StoreResult<DeploymentSecret> {
        let bytes = encode(secret)?;
        self.write(|txn| match txn_get::<DeploymentSecret>(txn, SECRET_KEY)? {
            Some(existing) => Ok(existing),
            None => {
                txn_put(txn, SECRET_KEY, &bytes)?;
                Ok(secret.clone())
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
