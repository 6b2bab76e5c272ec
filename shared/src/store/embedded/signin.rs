//! A sign-in attempt's one read and one write (see [`crate::store::signin`]).
use std::collections::HashMap;

use async_trait::async_trait;

use super::{accounts::factors_current, *};
use crate::store::schema::UsernameRecord;

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
        let request = get(&schema::auth_request(q.request_id))?
            .map(|b| decode::<AuthRequest>(&b))
            .transpose()?;
        let request = schema::live(request, q.now);
        let user = match get(&schema::username(q.username))?
            .map(|b| decode::<UsernameRecord>(&b))
            .transpose()?
        {
            Some(UsernameRecord::User(u)) => Some(*u),
            Some(UsernameRecord::Sub(sub)) => get(&schema::user(&sub))?
                .map(|b| decode::<User>(&b))
                .transpose()?,
            None => None,
        };
        let mut counters = HashMap::new();
        for key in &q.counters {
            if let Some(b) = get(&schema::throttle(key))? {
                counters.insert(key.clone(), decode::<Counter>(&b)?);
            }
        }
        let secret = if q.secret {
            get(schema::SECRET)?.map(|b| decode(&b)).transpose()?
        } else {
            None
        };
        let factors = match q.factors {
            Some(sub) => get(&schema::factors(sub))?
                .map(|b| decode(&b))
                .transpose()?,
            None => None,
        };
        Ok(SignInState {
            request,
            user,
            counters,
            secret,
            factors,
        })
    }

    async fn signin_write(&self, w: &SignInWrite<'_>) -> StoreResult<bool> {
        let session = w.session.map(encode).transpose()?;
        let request = w.request.map(encode).transpose()?;
        let factors = w.factors.map(encode).transpose()?;
        self.write(|txn| {
            // Every guard is checked before anything is written: a lost attempt writes nothing.
            let mut writes = Vec::new();
            for op in &w.counters {
                let key = schema::throttle(&op.guard().key);
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
            if let (Some(u), Some(r)) = (&w.passkey, w.request)
                && !challenge_holds(txn, &r.id, u.challenge)?
            {
                return Ok(false);
            }
            if let Some(f) = w.factors
                && !factors_current(txn, f)?
            {
                return Ok(false);
            }
            let passkey = match &w.passkey {
                Some(u) if !passkey_use_holds(txn, u)? => return Ok(false),
                Some(u) => Some((schema::passkey(&u.passkey.id), encode(u.passkey)?)),
                None => None,
            };
            if let Some((key, bytes)) = passkey {
                txn_put(txn, &key, &bytes)?;
            }
            for (key, next) in writes {
                match next {
                    Some(bytes) => txn_put(txn, &key, &bytes)?,
                    None => txn_delete(txn, &key)?,
                }
            }
            if let (Some(bytes), Some(s)) = (&session, w.session) {
                txn_put(txn, &schema::session(&s.id_hash), bytes)?;
            }
            if let (Some(bytes), Some(r)) = (&request, w.request) {
                txn_put(txn, &schema::auth_request(&r.id), bytes)?;
            }
            if let (Some(bytes), Some(f)) = (&factors, w.factors) {
                txn_put(txn, &schema::factors(&f.sub), bytes)?;
            }
            Ok(true)
        })
    }

    async fn create_secret(&self, secret: &DeploymentSecret) -> StoreResult<DeploymentSecret> {
        let bytes = encode(secret)?;
        self.write(
            |txn| match txn_get::<DeploymentSecret>(txn, schema::SECRET)? {
                Some(existing) => Ok(existing),
                None => {
                    txn_put(txn, schema::SECRET, &bytes)?;
                    Ok(secret.clone())
                }
            },
        )
    }
}

/// The conditions of a [`PasskeyUse`], read in the write transaction.
fn passkey_use_holds(txn: &WriteTransaction, u: &PasskeyUse<'_>) -> StoreResult<bool> {
    let p = u.passkey;
    let stored = txn_get::<Passkey>(txn, &schema::passkey(&p.id))?;
    let counter_ok = stored.is_some_and(|s| s.sign_count == u.previous_count && s.sub == p.sub);
    let listed =
        txn_get::<Factors>(txn, &schema::factors(&p.sub))?.is_some_and(|f| f.has_passkey(&p.id));
    let enabled = txn_get::<User>(txn, &schema::user(&p.sub))?.is_some_and(|user| !user.disabled);
    Ok(counter_ok && listed && enabled)
}

/// Whether the request `id` still holds the challenge a passkey sign-in answered.
fn challenge_holds(txn: &WriteTransaction, id: &str, challenge: &str) -> StoreResult<bool> {
    let stored = txn_get::<AuthRequest>(txn, &schema::auth_request(id))?;
    Ok(stored.is_some_and(|r| !challenge.is_empty() && r.passkey_challenge == challenge))
}
