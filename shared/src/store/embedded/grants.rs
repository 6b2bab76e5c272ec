//! What an authorization leaves behind: pending requests, sessions, consents, codes,
//! refresh tokens, revocations and remembered one-time keys.
use async_trait::async_trait;

use super::*;
use crate::store::schema::{Replay, Revoked, live};

#[async_trait]
impl AuthRequestStore for EmbeddedStore {
    async fn put_auth_request(&self, req: &AuthRequest) -> StoreResult<()> {
        self.put(&schema::auth_request(&req.id), req)
    }
    async fn auth_request(&self, id: &str, now: i64) -> StoreResult<Option<AuthRequest>> {
        Ok(live(self.get(&schema::auth_request(id))?, now))
    }
    async fn delete_auth_request(&self, id: &str) -> StoreResult<bool> {
        self.remove(&schema::auth_request(id))
    }

    async fn complete_auth_request(
        &self,
        id: &str,
        code: &AuthCode,
        agreed: Option<&Consent>,
    ) -> StoreResult<bool> {
        let key = schema::auth_request(id);
        let code_bytes = encode(code)?;
        self.write(|txn| {
            if txn_get::<AuthRequest>(txn, &key)?.is_none() {
                return Ok(false);
            }
            txn_delete(txn, &key)?;
            txn_put_new(txn, &schema::code(&code.code_hash), &code_bytes)?;
            if let Some(a) = agreed {
                let ckey = schema::consent(&a.sub, &a.client_id);
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
        self.put(&schema::session(&s.id_hash), s)
    }
    async fn session(&self, id_hash: &str, now: i64) -> StoreResult<Option<Session>> {
        Ok(live(self.get(&schema::session(id_hash))?, now))
    }
    async fn delete_session(&self, id_hash: &str) -> StoreResult<()> {
        self.delete(&schema::session(id_hash))
    }
}

#[async_trait]
impl ConsentStore for EmbeddedStore {
    async fn consent(&self, sub: &str, client_id: &str) -> StoreResult<Option<Consent>> {
        Ok(self
            .get::<Consent>(&schema::consent(sub, client_id))?
            .map(|mut c| {
                c.normalize();
                c
            }))
    }
    async fn put_consent(&self, c: &Consent) -> StoreResult<()> {
        self.put(&schema::consent(&c.sub, &c.client_id), c)
    }
    async fn delete_consent(&self, sub: &str, client_id: &str) -> StoreResult<()> {
        self.delete(&schema::consent(sub, client_id))
    }
}

#[async_trait]
impl CodeStore for EmbeddedStore {
    async fn put_code(&self, code: &AuthCode) -> StoreResult<()> {
        let bytes = encode(code)?;
        self.write(|txn| txn_put_new(txn, &schema::code(&code.code_hash), &bytes))
    }

    async fn code(&self, code_hash: &str, now: i64) -> StoreResult<Option<AuthCode>> {
        Ok(live(self.get(&schema::code(code_hash))?, now))
    }

    async fn consume_code(
        &self,
        code_hash: &str,
        presented: &CodeRedemption<'_>,
        minted: &Minted,
        now: i64,
    ) -> StoreResult<Consume> {
        let key = schema::code(code_hash);
        self.write(|txn| {
            let Some(mut code) = txn_get::<AuthCode>(txn, &key)? else {
                return Ok(Consume::Missing);
            };
            // A redeemed code is a replay even after it expired.
            if code.minted.is_some() {
                return Ok(Consume::AlreadyConsumed {
                    client_id: code.client_id,
                    minted: code.minted,
                });
            }
            if schema::expired(code.expires_at, now) {
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
        let key = schema::code(code_hash);
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
impl RevocationStore for EmbeddedStore {
    async fn revoke(&self, jti: &str, until: i64) -> StoreResult<()> {
        self.put(&schema::revoked(jti), &Revoked { expires_at: until })
    }
    async fn is_revoked(&self, jti: &str, now: i64) -> StoreResult<bool> {
        Ok(live(self.get::<Revoked>(&schema::revoked(jti))?, now).is_some())
    }
}

#[async_trait]
impl LivenessStore for EmbeddedStore {
    async fn liveness_read(&self, q: &LivenessQuery<'_>) -> StoreResult<LivenessRead> {
        let user = match q.sub {
            Some(sub) => self.user(sub).await?,
            None => None,
        };
        let mut revoked = false;
        for id in q.revocable {
            revoked |= self.is_revoked(id, q.now).await?;
        }
        Ok(LivenessRead {
            client: self.client(q.client_id).await?,
            user,
            revoked,
        })
    }
}

#[async_trait]
impl RefreshStore for EmbeddedStore {
    async fn put_refresh(&self, token: &RefreshToken) -> StoreResult<()> {
        let bytes = encode(token)?;
        self.write(|txn| txn_put_new(txn, &schema::refresh(&token.token_hash), &bytes))
    }

    async fn refresh(&self, token_hash: &str, now: i64) -> StoreResult<Option<RefreshToken>> {
        Ok(live(self.get(&schema::refresh(token_hash))?, now))
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
        let old_key = schema::refresh(old_hash);
        let next_bytes = encode(next)?;
        self.write(|txn| {
            // Expired means absent, used or not (as `refresh` reads it).
            let Some(mut old) = live(txn_get::<RefreshToken>(txn, &old_key)?, now) else {
                return Ok(Rotate::Missing);
            };
            if old.used_at.is_some() {
                return Ok(Rotate::AlreadyUsed(Box::new(old)));
            }
            // An error here drops the transaction uncommitted: the old token stays unused.
            txn_put_new(txn, &schema::refresh(&next.token_hash), &next_bytes)?;
            old.used_at = Some(now);
            txn_put(txn, &old_key, &encode(&old)?)?;
            Ok(Rotate::Rotated)
        })
    }
}

#[async_trait]
impl ReplayStore for EmbeddedStore {
    async fn first_use(&self, key: &str, until: i64, now: i64) -> StoreResult<bool> {
        let key = schema::replay(key);
        let bytes = encode(&Replay { until })?;
        self.write(|txn| {
            if live(txn_get::<Replay>(txn, &key)?, now).is_some() {
                return Ok(false);
            }
            txn_put(txn, &key, &bytes)?;
            Ok(true)
        })
    }
}
