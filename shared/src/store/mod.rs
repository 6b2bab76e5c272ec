//! Narrow async store traits. Every method that reads something that expires takes `now`,
//! and treats expired items as absent: DynamoDB's TTL deletes lazily, so expiry is always
//! checked on read.
#[cfg(feature = "aws")]
pub mod dynamo;
#[cfg(feature = "embedded")]
pub mod embedded;
mod error;
mod model;
pub mod schema;
pub mod signin;

use async_trait::async_trait;
pub use error::*;
pub use model::*;
pub use signin::*;

/// The outcome of redeeming a code.
#[derive(Debug, Clone, PartialEq)]
pub enum Consume {
    /// This call redeemed it; `minted` is now recorded on it. The code as redeemed.
    Consumed(Box<AuthCode>),
    /// It had been redeemed already: a replay. Carries the client it was issued to and what
    /// the first redemption minted.
    AlreadyConsumed {
        client_id: String,
        minted: Option<Minted>,
    },
    /// Live and unredeemed, but not for what was presented (another client, redirect_uri
    /// or PKCE challenge): left untouched.
    Mismatch(Box<AuthCode>),
    /// No such code, or it expired.
    Missing,
}

/// The outcome of rotating a refresh token.
#[derive(Debug, Clone, PartialEq)]
pub enum Rotate {
    /// The old token is now used and its successor stored.
    Rotated,
    /// The old token had been used already (a replay, or a lost race): its record.
    AlreadyUsed(Box<RefreshToken>),
    /// No such token, or it expired.
    Missing,
}

/// The outcome of creating a user together with its account link
/// ([`FederationStore::create_linked_user`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CreateLinked {
    /// The user and the link are written.
    Created,
    /// Nothing written: the upstream account is linked already (a concurrent first sign-in
    /// of the same person won): read the link and use it.
    LinkTaken,
    /// Nothing written: another user holds this user's sub, username or email.
    UserTaken(UserClaim),
}

/// Which of a user's uniqueness rules another user holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserClaim {
    Sub,
    Username,
    Email,
}

/// One page of an admin listing. `next` is the cursor to pass as `after` for the following
/// page (`None`: this was the last one). Order: by key in the embedded store, DynamoDB's
/// scan order (by key hash) there.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next: Option<String>,
}

#[async_trait]
pub trait ClientStore: Send + Sync {
    async fn client(&self, client_id: &str) -> StoreResult<Option<Client>>;
    /// Creates or replaces a client.
    async fn put_client(&self, client: &Client) -> StoreResult<()>;
    /// Deletes a client; `false` if there was none.
    async fn delete_client(&self, client_id: &str) -> StoreResult<bool>;
    /// Up to `limit` clients after the cursor `after` (a client_id from an earlier page).
    /// Admin only: on DynamoDB this scans the whole table.
    async fn list_clients(&self, after: Option<&str>, limit: usize) -> StoreResult<Page<Client>>;
}

#[async_trait]
pub trait UserStore: Send + Sync {
    async fn user(&self, sub: &str) -> StoreResult<Option<User>>;
    /// The user with exactly this username. The username record holds the whole user (as
    /// the `sub` record does), so this is one read.
    async fn user_by_username(&self, username: &str) -> StoreResult<Option<User>>;
    /// The user holding this email address (the claim every user's email takes, case
    /// ignored): two reads. Used to link a verified upstream email (`federation`).
    async fn user_by_email(&self, email: &str) -> StoreResult<Option<User>>;
    /// Creates a user; `Conflict` if the sub, username or email is taken (checked atomically).
    async fn create_user(&self, user: &User) -> StoreResult<()>;
    /// Replaces a user's record (same sub and username) and its copy under the username,
    /// moving the email's uniqueness claim when it changes, all atomically.
    async fn update_user(&self, user: &User) -> StoreResult<()>;
    /// Deletes a user with its username and email claims (atomically); `false` if there was
    /// none. Sessions and refresh tokens of a deleted user fail where they are used.
    async fn delete_user(&self, sub: &str) -> StoreResult<bool>;
    /// Up to `limit` users after the cursor `after` (a sub from an earlier page).
    /// Admin only: on DynamoDB this scans the whole table.
    async fn list_users(&self, after: Option<&str>, limit: usize) -> StoreResult<Page<User>>;
}

/// What [`FactorStore::add_passkey`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddPasskey {
    Added,
    /// Nothing written: the credential id is registered already (to anyone).
    IdTaken,
    /// Nothing written: the person's factors changed since they were read.
    Stale,
}

/// Passkeys and second factors: one [`Factors`] record per person, one [`Passkey`] record
/// per credential.
#[async_trait]
pub trait FactorStore: Send + Sync {
    /// Strongly consistent: a TOTP step just used must be seen by the next sign-in. `None`
    /// if the person never enrolled anything (or was deleted).
    async fn factors(&self, sub: &str) -> StoreResult<Option<Factors>>;
    /// Writes `f` if the stored record is still the one `f` was made from: version
    /// `f.version - 1`, or none at all for version 1. `false`, and nothing written, if
    /// another write came first: the caller reads again and decides again (a TOTP code is
    /// then refused as used).
    async fn put_factors(&self, f: &Factors) -> StoreResult<bool>;
    /// Writes `f` as [`FactorStore::put_factors`] does and, in the same atomic write, sets
    /// the `totp` flag of `user` (its record and the copy under its username) to whether `f`
    /// holds a TOTP factor. Every enrolment and removal of TOTP goes through here, never
    /// through `put_factors`, so the flag the password step reads with the user never
    /// disagrees with the factors. `false`, and nothing written, if `f` is stale or the user
    /// is gone.
    async fn put_totp(&self, f: &Factors, user: &User) -> StoreResult<bool>;
    /// The passkey registered under this credential id, whoever's it is (strongly
    /// consistent: its counter).
    async fn passkey(&self, credential_id: &str) -> StoreResult<Option<Passkey>>;
    /// The passkeys under these ids, in their order, missing ones left out: one round trip.
    async fn passkeys(&self, credential_ids: &[String]) -> StoreResult<Vec<Passkey>>;
    /// Registers `p` and writes `f` (made from the stored record, listing `p.id`) in one
    /// atomic write, or nothing.
    async fn add_passkey(&self, f: &Factors, p: &Passkey) -> StoreResult<AddPasskey>;
    /// Removes the passkey `credential_id` and writes `f` (made from the stored record,
    /// without it) in one atomic write; `false`, and nothing written, if `f` is stale.
    async fn remove_passkey(&self, f: &Factors, credential_id: &str) -> StoreResult<bool>;
    /// Records a sign-in with `p` (its new counter, last use and backup state) if its
    /// counter is still `previous_count` and it is still registered: of two sign-ins with
    /// one assertion, or with a cloned authenticator, one wins.
    async fn use_passkey(&self, p: &Passkey, previous_count: u32) -> StoreResult<bool>;
}

#[async_trait]
pub trait AuthRequestStore: Send + Sync {
    async fn put_auth_request(&self, req: &AuthRequest) -> StoreResult<()>;
    async fn auth_request(&self, id: &str, now: i64) -> StoreResult<Option<AuthRequest>>;
    /// Retires the request; `true` only for the one call that removed it (concurrent
    /// submissions of the same consent form get `false`).
    async fn delete_auth_request(&self, id: &str) -> StoreResult<bool>;
    /// Completes a request the person agreed to, in one atomic write: retires it (of
    /// concurrent submissions only one wins), stores its code (never overwriting one), and
    /// widens the person's standing consent by `agreed` (what was agreed to before stays).
    /// `false`, and nothing written, if the request was already retired.
    async fn complete_auth_request(
        &self,
        id: &str,
        code: &AuthCode,
        agreed: Option<&Consent>,
    ) -> StoreResult<bool>;
}

#[async_trait]
pub trait SessionStore: Send + Sync {
    async fn put_session(&self, session: &Session) -> StoreResult<()>;
    async fn session(&self, id_hash: &str, now: i64) -> StoreResult<Option<Session>>;
    async fn delete_session(&self, id_hash: &str) -> StoreResult<()>;
}

#[async_trait]
pub trait CodeStore: Send + Sync {
    /// Stores a new code; `Conflict` if the hash exists (never overwrites).
    async fn put_code(&self, code: &AuthCode) -> StoreResult<()>;
    /// The code, consumed or not, unless it expired.
    async fn code(&self, code_hash: &str, now: i64) -> StoreResult<Option<AuthCode>>;
    /// Marks the code redeemed exactly once, recording `minted`, if it is live and matches
    /// `presented`: one conditional write, which returns the code.
    async fn consume_code(
        &self,
        code_hash: &str,
        presented: &CodeRedemption<'_>,
        minted: &Minted,
        now: i64,
    ) -> StoreResult<Consume>;
    /// Undoes the redemption that recorded `grant_id` (the tokens could not be issued after
    /// all), so the client can retry; nothing if the code carries another grant.
    async fn restore_code(&self, code_hash: &str, grant_id: &str) -> StoreResult<()>;
}

#[async_trait]
pub trait ConsentStore: Send + Sync {
    async fn consent(&self, sub: &str, client_id: &str) -> StoreResult<Option<Consent>>;
    /// Creates or replaces the consent of `sub` for `client_id`.
    async fn put_consent(&self, consent: &Consent) -> StoreResult<()>;
    async fn delete_consent(&self, sub: &str, client_id: &str) -> StoreResult<()>;
}

#[async_trait]
pub trait RevocationStore: Send + Sync {
    /// Revokes an access token (by `jti`) or a whole grant (by grant id) until `until`.
    async fn revoke(&self, id: &str, until: i64) -> StoreResult<()>;
    async fn is_revoked(&self, id: &str, now: i64) -> StoreResult<bool>;
}

/// What the liveness rule (`endpoints::liveness`) asks about a token.
#[derive(Debug, Clone, Copy)]
pub struct LivenessQuery<'a> {
    pub client_id: &'a str,
    /// Its person, if it is a person's token.
    pub sub: Option<&'a str>,
    /// Ids whose revocation kills it: its grant and its own `jti`.
    pub revocable: &'a [&'a str],
    pub now: i64,
}

/// The store's answers to a [`LivenessQuery`].
#[derive(Debug, Clone, Default)]
pub struct LivenessRead {
    pub client: Option<Client>,
    pub user: Option<User>,
    /// Whether any of the query's `revocable` ids is revoked (and not expired).
    pub revoked: bool,
}

#[async_trait]
pub trait LivenessStore: ClientStore + UserStore + RevocationStore {
    /// Everything the liveness rule needs, in one round trip (DynamoDB: one strongly
    /// consistent BatchGetItem instead of one GetItem per item).
    async fn liveness_read(&self, q: &LivenessQuery<'_>) -> StoreResult<LivenessRead>;
}

#[async_trait]
pub trait RefreshStore: Send + Sync {
    /// Stores a new refresh token; `Conflict` if the hash exists (never overwrites).
    async fn put_refresh(&self, token: &RefreshToken) -> StoreResult<()>;
    /// The token, used or not, unless it expired.
    async fn refresh(&self, token_hash: &str, now: i64) -> StoreResult<Option<RefreshToken>>;
    /// Atomically marks `old_hash` used (only if it is unused and unexpired) and stores
    /// `next`; neither happens otherwise.
    async fn rotate_refresh(
        &self,
        old_hash: &str,
        next: &RefreshToken,
        now: i64,
    ) -> StoreResult<Rotate>;
}

#[async_trait]
pub trait ReplayStore: Send + Sync {
    /// Remembers `key` until `until`. `false` if it was already remembered and has not
    /// expired: a replay (assertion `jti`s, RFC 7523 §3).
    async fn first_use(&self, key: &str, until: i64, now: i64) -> StoreResult<bool>;
}

/// A sign-in attempt's reads and writes, one round trip each (see [`signin`]).
#[async_trait]
pub trait SignInStore: Send + Sync {
    /// The pending request, the user, the counters and (if asked) the deployment secret and
    /// a person's factors, in one round trip: every read is strongly consistent. A username record in the old
    /// format (its `sub` only) costs one more read, of the user.
    async fn signin_read(&self, query: &SignInQuery<'_>) -> StoreResult<SignInState>;
    /// The attempt's outcome in one atomic write: each counter's write only if its guard
    /// still holds, and the session and signed-in request of a success. `false`: a guard
    /// no longer held, and nothing was written.
    async fn signin_write(&self, write: &SignInWrite<'_>) -> StoreResult<bool>;
    /// Stores `secret` as the deployment secret unless one exists (never overwrites), and
    /// returns the one stored.
    async fn create_secret(&self, secret: &DeploymentSecret) -> StoreResult<DeploymentSecret>;
}

#[async_trait]
pub trait KeyStore: Send + Sync {
    /// The key set the signing function last published, if any.
    async fn published_keys(&self) -> StoreResult<Option<PublishedKeys>>;
    /// The same, reflecting every write that succeeded before the read (a strongly consistent
    /// read on DynamoDB): for a verifier that met a key id its copy lacks.
    async fn published_keys_consistent(&self) -> StoreResult<Option<PublishedKeys>>;
    async fn publish_keys(&self, keys: &PublishedKeys) -> StoreResult<()>;
    async fn wrapped_key(&self, id: &str) -> StoreResult<Option<WrappedKey>>;
    /// Fails with Conflict when `id` exists: a wrapped key is never overwritten.
    async fn put_wrapped_key(&self, key: &WrappedKey) -> StoreResult<()>;
}

/// Upstream OpenID providers ("Continue with ..."), configured by an administrator. They
/// are few and all kept in one record, so listing them is one read.
#[async_trait]
pub trait ProviderStore: Send + Sync {
    async fn provider(&self, id: &str) -> StoreResult<Option<UpstreamProvider>>;
    /// Every provider, enabled or not, by id.
    async fn list_providers(&self) -> StoreResult<Vec<UpstreamProvider>>;
    /// Creates or replaces the provider `p.id`, leaving the others as they are. Not
    /// validated here: see [`UpstreamProvider::validate`].
    async fn put_provider(&self, p: &UpstreamProvider) -> StoreResult<()>;
    /// Deletes a provider; `false` if there was none. Its account links stay: the people
    /// it linked keep their accounts, and find them again if it comes back.
    async fn delete_provider(&self, id: &str) -> StoreResult<bool>;
}

/// Sign-ins through an upstream provider: the attempts in flight and the account links.
#[async_trait]
pub trait FederationStore: Send + Sync {
    /// Stores a new attempt; `Conflict` if its state hash exists (never overwrites).
    async fn put_attempt(&self, attempt: &FederationAttempt) -> StoreResult<()>;
    /// Removes and returns the attempt, in one conditional write: of concurrent callbacks
    /// with the same `state`, only one gets it (a state is used once). `None` if there is
    /// none, it was taken already, or it expired.
    async fn take_attempt(
        &self,
        state_hash: &str,
        now: i64,
    ) -> StoreResult<Option<FederationAttempt>>;
    /// The link of the upstream account `(issuer, upstream_sub)`, read strongly consistently
    /// (so a lost race to create it finds the winner's).
    async fn link(&self, issuer: &str, upstream_sub: &str) -> StoreResult<Option<AccountLink>>;
    /// A first sign-in: creates `user` (its record, username and email claims, exactly as
    /// [`UserStore::create_user`]) and `link` in one atomic write, each item only if it does
    /// not exist. Anything taken: nothing is written, and the outcome says what.
    async fn create_linked_user(
        &self,
        user: &User,
        link: &AccountLink,
    ) -> StoreResult<CreateLinked>;
    /// Links an upstream account to an existing user; `false`, and nothing written, if that
    /// upstream account is linked already (a link never moves to another user).
    async fn put_link(&self, link: &AccountLink) -> StoreResult<bool>;
}

/// Everything a full provider needs; each handler uses only the narrow traits above.
pub trait Store:
    ClientStore
    + UserStore
    + AuthRequestStore
    + SessionStore
    + ConsentStore
    + CodeStore
    + RevocationStore
    + LivenessStore
    + RefreshStore
    + ReplayStore
    + SignInStore
    + KeyStore
    + ProviderStore
    + FederationStore
    + FactorStore
{
}
impl<T> Store for T where
    T: ClientStore
        + UserStore
        + AuthRequestStore
        + SessionStore
        + ConsentStore
        + CodeStore
        + RevocationStore
        + LivenessStore
        + RefreshStore
        + ReplayStore
        + SignInStore
        + KeyStore
        + ProviderStore
        + FederationStore
        + FactorStore
{
}
