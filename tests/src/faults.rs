//! Fault injection around the real backends: each call first asks [`Faults`] whether it
//! should fail (as a throttled or unreachable DynamoDB/KMS would), then goes to the real
//! store or signer. Nothing here stands in for a backend's behaviour.
use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

use async_trait::async_trait;
use shared::{
    signer::{PublicKey, Signer, SignerError, Verifier},
    store::*,
};

#[derive(Default)]
pub struct Faults {
    pending: Mutex<HashMap<&'static str, u32>>,
    /// Fail the n-th call (1-based) of this operation from now on.
    nth: Mutex<Option<(&'static str, u32)>>,
    /// Every call seen, in order (for building fault matrices).
    calls: Mutex<Vec<&'static str>>,
}

impl Faults {
    /// The next `times` calls of `op` (a trait method name) fail.
    pub fn fail_next(&self, op: &'static str, times: u32) {
        if let Ok(mut p) = self.pending.lock() {
            p.insert(op, times);
        }
    }

    /// The `n`-th call of `op` from now on fails (once).
    pub fn fail_nth(&self, op: &'static str, n: u32) {
        if let Ok(mut f) = self.nth.lock() {
            *f = Some((op, n));
        }
    }

    /// The calls seen since the last take, in order.
    pub fn take_calls(&self) -> Vec<&'static str> {
        self.calls
            .lock()
            .map(|mut c| std::mem::take(&mut *c))
            .unwrap_or_default()
    }

    fn trip(&self, op: &'static str) -> bool {
        if let Ok(mut c) = self.calls.lock() {
            c.push(op);
        }
        if let Ok(mut f) = self.nth.lock()
            && let Some((o, n)) = *f
            && o == op
        {
            if n <= 1 {
                *f = None;
                return true;
            }
            *f = Some((o, n - 1));
        }
        let Ok(mut p) = self.pending.lock() else {
            return false;
        };
        match p.get_mut(op) {
            Some(n) if *n > 0 => {
                *n -= 1;
                true
            }
            _ => false,
        }
    }

    fn store(&self, op: &'static str) -> StoreResult<()> {
        if self.trip(op) {
            Err(StoreError::Unavailable(format!("injected: {op} throttled")))
        } else {
            Ok(())
        }
    }
}

pub struct FaultyStore {
    pub inner: Arc<dyn Store>,
    pub faults: Arc<Faults>,
}

pub struct FaultySigner {
    pub inner: Arc<dyn Signer>,
    pub faults: Arc<Faults>,
}

#[async_trait]
impl Verifier for FaultySigner {
    async fn public_keys(&self) -> Result<Arc<Vec<PublicKey>>, SignerError> {
        if self.faults.trip("public_keys") {
            return Err(SignerError::Unavailable(
                "injected: GetPublicKey throttled".into(),
            ));
        }
        self.inner.public_keys().await
    }
}

#[async_trait]
impl Signer for FaultySigner {
    async fn sign(&self, input: &[u8]) -> Result<Vec<u8>, SignerError> {
        if self.faults.trip("sign") {
            return Err(SignerError::Unavailable(
                "injected: Sign ThrottlingException".into(),
            ));
        }
        self.inner.sign(input).await
    }
}

#[async_trait]
impl ClientStore for FaultyStore {
    async fn client(&self, id: &str) -> StoreResult<Option<Client>> {
        self.faults.store("client")?;
        self.inner.client(id).await
    }
    async fn put_client(&self, c: &Client) -> StoreResult<()> {
        self.faults.store("put_client")?;
        self.inner.put_client(c).await
    }
    async fn delete_client(&self, id: &str) -> StoreResult<bool> {
        self.faults.store("delete_client")?;
        self.inner.delete_client(id).await
    }
    async fn list_clients(&self, after: Option<&str>, limit: usize) -> StoreResult<Page<Client>> {
        self.faults.store("list_clients")?;
        self.inner.list_clients(after, limit).await
    }
}

#[async_trait]
impl UserStore for FaultyStore {
    async fn user(&self, sub: &str) -> StoreResult<Option<User>> {
        self.faults.store("user")?;
        self.inner.user(sub).await
    }
    async fn user_by_username(&self, u: &str) -> StoreResult<Option<User>> {
        self.faults.store("user_by_username")?;
        self.inner.user_by_username(u).await
    }

    async fn user_by_email(&self, e: &str) -> StoreResult<Option<User>> {
        self.faults.store("user_by_email")?;
        self.inner.user_by_email(e).await
    }
    async fn create_user(&self, u: &User) -> StoreResult<()> {
        self.faults.store("create_user")?;
        self.inner.create_user(u).await
    }
    async fn update_user(&self, u: &User) -> StoreResult<()> {
        self.faults.store("update_user")?;
        self.inner.update_user(u).await
    }
    async fn delete_user(&self, sub: &str) -> StoreResult<bool> {
        self.faults.store("delete_user")?;
        self.inner.delete_user(sub).await
    }
    async fn list_users(&self, after: Option<&str>, limit: usize) -> StoreResult<Page<User>> {
        self.faults.store("list_users")?;
        self.inner.list_users(after, limit).await
    }
}

#[async_trait]
impl AuthRequestStore for FaultyStore {
    async fn put_auth_request(&self, r: &AuthRequest) -> StoreResult<()> {
        self.faults.store("put_auth_request")?;
        self.inner.put_auth_request(r).await
    }
    async fn auth_request(&self, id: &str, now: i64) -> StoreResult<Option<AuthRequest>> {
        self.faults.store("auth_request")?;
        self.inner.auth_request(id, now).await
    }
    async fn delete_auth_request(&self, id: &str) -> StoreResult<bool> {
        self.faults.store("delete_auth_request")?;
        self.inner.delete_auth_request(id).await
    }
    async fn complete_auth_request(
        &self,
        id: &str,
        code: &AuthCode,
        agreed: Option<&Consent>,
    ) -> StoreResult<bool> {
        self.faults.store("complete_auth_request")?;
        self.inner.complete_auth_request(id, code, agreed).await
    }
}

#[async_trait]
impl SessionStore for FaultyStore {
    async fn put_session(&self, s: &Session) -> StoreResult<()> {
        self.faults.store("put_session")?;
        self.inner.put_session(s).await
    }
    async fn session(&self, h: &str, now: i64) -> StoreResult<Option<Session>> {
        self.faults.store("session")?;
        self.inner.session(h, now).await
    }
    async fn delete_session(&self, h: &str) -> StoreResult<()> {
        self.faults.store("delete_session")?;
        self.inner.delete_session(h).await
    }
}

#[async_trait]
impl CodeStore for FaultyStore {
    async fn put_code(&self, c: &AuthCode) -> StoreResult<()> {
        self.faults.store("put_code")?;
        self.inner.put_code(c).await
    }
    async fn code(&self, h: &str, now: i64) -> StoreResult<Option<AuthCode>> {
        self.faults.store("code")?;
        self.inner.code(h, now).await
    }
    async fn consume_code(
        &self,
        h: &str,
        presented: &CodeRedemption<'_>,
        m: &Minted,
        now: i64,
    ) -> StoreResult<Consume> {
        self.faults.store("consume_code")?;
        self.inner.consume_code(h, presented, m, now).await
    }
    async fn restore_code(&self, h: &str, grant_id: &str) -> StoreResult<()> {
        self.faults.store("restore_code")?;
        self.inner.restore_code(h, grant_id).await
    }
}

#[async_trait]
impl ConsentStore for FaultyStore {
    async fn consent(&self, sub: &str, client_id: &str) -> StoreResult<Option<Consent>> {
        self.faults.store("consent")?;
        self.inner.consent(sub, client_id).await
    }
    async fn put_consent(&self, c: &Consent) -> StoreResult<()> {
        self.faults.store("put_consent")?;
        self.inner.put_consent(c).await
    }
    async fn delete_consent(&self, sub: &str, client_id: &str) -> StoreResult<()> {
        self.faults.store("delete_consent")?;
        self.inner.delete_consent(sub, client_id).await
    }
}

#[async_trait]
impl RevocationStore for FaultyStore {
    async fn revoke(&self, jti: &str, until: i64) -> StoreResult<()> {
        self.faults.store("revoke")?;
        self.inner.revoke(jti, until).await
    }
    async fn is_revoked(&self, jti: &str, now: i64) -> StoreResult<bool> {
        self.faults.store("is_revoked")?;
        self.inner.is_revoked(jti, now).await
    }
}

#[async_trait]
impl LivenessStore for FaultyStore {
    async fn liveness_read(&self, q: &LivenessQuery<'_>) -> StoreResult<LivenessRead> {
        self.faults.store("liveness_read")?;
        self.inner.liveness_read(q).await
    }
}

#[async_trait]
impl RefreshStore for FaultyStore {
    async fn put_refresh(&self, t: &RefreshToken) -> StoreResult<()> {
        self.faults.store("put_refresh")?;
        self.inner.put_refresh(t).await
    }
    async fn refresh(&self, h: &str, now: i64) -> StoreResult<Option<RefreshToken>> {
        self.faults.store("refresh")?;
        self.inner.refresh(h, now).await
    }
    async fn rotate_refresh(
        &self,
        old: &str,
        next: &RefreshToken,
        now: i64,
    ) -> StoreResult<Rotate> {
        self.faults.store("rotate_refresh")?;
        self.inner.rotate_refresh(old, next, now).await
    }
}

#[async_trait]
impl ReplayStore for FaultyStore {
    async fn first_use(&self, key: &str, until: i64, now: i64) -> StoreResult<bool> {
        self.faults.store("first_use")?;
        self.inner.first_use(key, until, now).await
    }
}

#[async_trait]
impl SignInStore for FaultyStore {
    async fn signin_read(&self, q: &SignInQuery<'_>) -> StoreResult<SignInState> {
        self.faults.store("signin_read")?;
        self.inner.signin_read(q).await
    }
    async fn signin_write(&self, w: &SignInWrite<'_>) -> StoreResult<bool> {
        self.faults.store("signin_write")?;
        self.inner.signin_write(w).await
    }
    async fn create_secret(&self, s: &DeploymentSecret) -> StoreResult<DeploymentSecret> {
        self.faults.store("create_secret")?;
        self.inner.create_secret(s).await
    }
}

#[async_trait]
impl ProviderStore for FaultyStore {
    async fn provider(&self, id: &str) -> StoreResult<Option<UpstreamProvider>> {
        self.faults.store("provider")?;
        self.inner.provider(id).await
    }
    async fn list_providers(&self) -> StoreResult<Vec<UpstreamProvider>> {
        self.faults.store("list_providers")?;
        self.inner.list_providers().await
    }
    async fn put_provider(&self, p: &UpstreamProvider) -> StoreResult<()> {
        self.faults.store("put_provider")?;
        self.inner.put_provider(p).await
    }
    async fn delete_provider(&self, id: &str) -> StoreResult<bool> {
        self.faults.store("delete_provider")?;
        self.inner.delete_provider(id).await
    }
}

#[async_trait]
impl FactorStore for FaultyStore {
    async fn factors(&self, sub: &str) -> StoreResult<Option<Factors>> {
        self.faults.store("factors")?;
        self.inner.factors(sub).await
    }
    async fn put_factors(&self, f: &Factors) -> StoreResult<bool> {
        self.faults.store("put_factors")?;
        self.inner.put_factors(f).await
    }
    async fn put_totp(&self, f: &Factors, u: &User) -> StoreResult<bool> {
        self.faults.store("put_totp")?;
        self.inner.put_totp(f, u).await
    }
    async fn passkey(&self, id: &str) -> StoreResult<Option<Passkey>> {
        self.faults.store("passkey")?;
        self.inner.passkey(id).await
    }
    async fn passkeys(&self, ids: &[String]) -> StoreResult<Vec<Passkey>> {
        self.faults.store("passkeys")?;
        self.inner.passkeys(ids).await
    }
    async fn add_passkey(&self, f: &Factors, p: &Passkey) -> StoreResult<AddPasskey> {
        self.faults.store("add_passkey")?;
        self.inner.add_passkey(f, p).await
    }
    async fn remove_passkey(&self, f: &Factors, id: &str) -> StoreResult<bool> {
        self.faults.store("remove_passkey")?;
        self.inner.remove_passkey(f, id).await
    }
    async fn use_passkey(&self, p: &Passkey, previous_count: u32) -> StoreResult<bool> {
        self.faults.store("use_passkey")?;
        self.inner.use_passkey(p, previous_count).await
    }
}

#[async_trait]
impl FederationStore for FaultyStore {
    async fn put_attempt(&self, a: &FederationAttempt) -> StoreResult<()> {
        self.faults.store("put_attempt")?;
        self.inner.put_attempt(a).await
    }
    async fn take_attempt(&self, h: &str, now: i64) -> StoreResult<Option<FederationAttempt>> {
        self.faults.store("take_attempt")?;
        self.inner.take_attempt(h, now).await
    }
    async fn link(&self, issuer: &str, sub: &str) -> StoreResult<Option<AccountLink>> {
        self.faults.store("link")?;
        self.inner.link(issuer, sub).await
    }
    async fn create_linked_user(&self, u: &User, l: &AccountLink) -> StoreResult<CreateLinked> {
        self.faults.store("create_linked_user")?;
        self.inner.create_linked_user(u, l).await
    }
    async fn put_link(&self, l: &AccountLink) -> StoreResult<bool> {
        self.faults.store("put_link")?;
        self.inner.put_link(l).await
    }
}

#[async_trait]
impl KeyStore for FaultyStore {
    async fn published_keys(&self) -> StoreResult<Option<PublishedKeys>> {
        self.faults.store("published_keys")?;
        self.inner.published_keys().await
    }
    async fn published_keys_consistent(&self) -> StoreResult<Option<PublishedKeys>> {
        // The same GetItem, and so the same grant, as published_keys.
        self.faults.store("published_keys")?;
        self.inner.published_keys_consistent().await
    }
    async fn publish_keys(&self, keys: &PublishedKeys) -> StoreResult<()> {
        self.faults.store("publish_keys")?;
        self.inner.publish_keys(keys).await
    }
    async fn wrapped_key(&self, id: &str) -> StoreResult<Option<WrappedKey>> {
        self.faults.store("wrapped_key")?;
        self.inner.wrapped_key(id).await
    }
    async fn put_wrapped_key(&self, key: &WrappedKey) -> StoreResult<()> {
        self.faults.store("put_wrapped_key")?;
        self.inner.put_wrapped_key(key).await
    }
}

/// The signer configuration, changeable while the provider runs: a redeploy with another
/// `SIGNING_KEYS` list, in one step.
pub struct SwitchSigner {
    current: Mutex<Arc<dyn Signer>>,
}

impl SwitchSigner {
    pub fn new(initial: Arc<dyn Signer>) -> Self {
        Self {
            current: Mutex::new(initial),
        }
    }

    pub fn current(&self) -> Arc<dyn Signer> {
        match self.current.lock() {
            Ok(c) => c.clone(),
            Err(p) => p.into_inner().clone(),
        }
    }

    pub fn set(&self, next: Arc<dyn Signer>) {
        match self.current.lock() {
            Ok(mut c) => *c = next,
            Err(p) => *p.into_inner() = next,
        }
    }
}

#[async_trait]
impl Verifier for SwitchSigner {
    async fn public_keys(&self) -> Result<Arc<Vec<PublicKey>>, SignerError> {
        self.current().public_keys().await
    }
}

#[async_trait]
impl Signer for SwitchSigner {
    async fn sign(&self, input: &[u8]) -> Result<Vec<u8>, SignerError> {
        self.current().sign(input).await
    }
}
