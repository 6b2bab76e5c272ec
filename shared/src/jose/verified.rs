//! Access tokens this container has already verified, so that a client calling `/userinfo`
//! (or a resource server calling `/introspect`) again with the same token does not pay the
//! signature check and the claims' JSON parse again: an ES256 verification alone costs more
//! than the rest of a userinfo request. Envoy's `jwt_authn` filter keeps the same kind of
//! cache (`jwt_cache_config`).
//!
//! What a hit skips is only what cannot change while the token and the key set stay the
//! same: the signature and the claims it covers. Whether the token is still alive (revoked,
//! its person signed out, its client rotated) is read from the store on every request, hit
//! or miss (`endpoints::liveness`).
//!
//! - The key is the whole token, compared byte for byte: a token that differs anywhere,
//!   its signature included, misses and is verified.
//! - An entry belongs to the key set it was verified with (the same `Arc`): when a
//!   container reads a new set (rotation, a retired key), every older entry misses.
//! - An entry lives until its token's `exp` (the caller's check), and the map is bounded.
use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

use serde_json::Value;

use super::PublicKey;

/// How many tokens a container remembers. A Lambda container serves one request at a time,
/// so this is many clients' worth; at about 2 KB an entry, 2 MiB at most.
const CAPACITY: usize = 1024;

struct Entry {
    keys: Arc<Vec<PublicKey>>,
    claims: Arc<Value>,
    exp: i64,
}

#[derive(Default)]
pub struct VerifiedTokens {
    map: Mutex<HashMap<Box<str>, Entry>>,
}

impl VerifiedTokens {
    /// The claims of `token` if it was verified with this very key set and is unexpired.
    pub fn get(&self, token: &str, keys: &Arc<Vec<PublicKey>>, now: i64) -> Option<Arc<Value>> {
        let map = self.map.lock().ok()?;
        let e = map.get(token)?;
        (Arc::ptr_eq(&e.keys, keys) && e.exp > now).then(|| e.claims.clone())
    }

    /// Remembers `token`, verified with `keys`, until `exp`. When full, expired entries go
    /// first, and if none has expired, all of them (a burst of new tokens only costs the
    /// verifications the cache would have saved).
    pub fn insert(
        &self,
        token: &str,
        keys: Arc<Vec<PublicKey>>,
        claims: Arc<Value>,
        exp: i64,
        now: i64,
    ) {
        let Ok(mut map) = self.map.lock() else {
            return;
        };
        if map.len() >= CAPACITY {
            map.retain(|_, e| e.exp > now && Arc::ptr_eq(&e.keys, &keys));
            if map.len() >= CAPACITY {
                map.clear();
            }
        }
        map.insert(token.into(), Entry { keys, claims, exp });
    }
}

#[cfg(test)]
#[allow(clippy::expect_used)]
mod tests {
    use super::*;

    /// A key set as the cache sees one: only its identity (the `Arc`) matters.
    fn key_set() -> Arc<Vec<PublicKey>> {
        Arc::new(Vec::new())
    }

    #[test]
    fn a_hit_needs_the_same_token_the_same_key_set_and_no_expiry() {
        let (keys, other) = (key_set(), key_set());
        let v = VerifiedTokens::default();
        let claims = Arc::new(serde_json::json!({"sub": "a"}));
        v.insert("t.o.k", keys.clone(), claims.clone(), 100, 0);
        assert_eq!(v.get("t.o.k", &keys, 99), Some(claims));
        assert_eq!(v.get("t.o.K", &keys, 99), None, "another token");
        assert_eq!(v.get("t.o.k", &other, 99), None, "another key set");
        // Equal content, another read: still a miss (a set read again may have changed).
        let reread = Arc::new(keys.as_ref().clone());
        assert_eq!(v.get("t.o.k", &reread, 99), None);
        assert_eq!(v.get("t.o.k", &keys, 100), None, "expired");
    }

    #[test]
    fn it_stays_bounded() {
        let keys = key_set();
        let v = VerifiedTokens::default();
        let c = Arc::new(Value::Null);
        for i in 0..CAPACITY + 10 {
            v.insert(&format!("t{i}"), keys.clone(), c.clone(), 100, 0);
        }
        let len = v.map.lock().expect("lock").len();
        assert!(len <= CAPACITY, "{len}");
        assert!(
            v.get(&format!("t{}", CAPACITY + 9), &keys, 0).is_some(),
            "the newest stays"
        );
    }
}
