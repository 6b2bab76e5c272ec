//! The storage schema, said once for both backends: every item kind with its key, when it
//! expires, which items a user owns, and the records that are not model structs.
//!
//! | key | holds | expires at (TTL) |
//! | --- | --- | --- |
//! | `client#<client_id>` | [`Client`](super::Client) | – |
//! | `user#<sub>` | [`User`](super::User) | – |
//! | `username#<username>` | [`UsernameRecord`]: a copy of `user#<sub>` | – |
//! | `email#<lowercased>` | the `sub` holding the address | – |
//! | `authreq#<id>` | [`AuthRequest`](super::AuthRequest) | `expires_at` |
//! | `session#<id_hash>` | [`Session`](super::Session) | `expires_at` |
//! | `code#<code_hash>` | [`AuthCode`](super::AuthCode) | `expires_at` + [`CODE_REPLAY_WINDOW`] |
//! | `revoked#<jti>` | [`Revoked`] | `expires_at` |
//! | `consent#<sub>#<client_id>` | [`Consent`](super::Consent) | – |
//! | `refresh#<token_hash>` | [`RefreshToken`](super::RefreshToken) | `expires_at` |
//! | `replay#<key>` | [`Replay`] | `until` |
//! | `throttle#<key>` | a sign-in failure `Counter` | `expires_at` |
//! | `secret#deployment` | [`DeploymentSecret`](super::DeploymentSecret) | – |
//! | `keys#published` | [`PublishedKeys`](super::PublishedKeys) | – |
//! | `wrapped-key#<id>` | [`WrappedKey`](super::WrappedKey) | – |
//! | `providers#all` | [`Providers`]: every upstream provider, by id | – |
//! | `fedstate#<state_hash>` | [`FederationAttempt`](super::FederationAttempt) | `expires_at` |
//! | `link#<issuer>#<upstream_sub>` | [`AccountLink`](super::AccountLink) (the issuer escaped: [`link`]) | – |
//! | `factors#<sub>` | [`Factors`](super::Factors): a person's TOTP, recovery codes and passkey ids | – |
//! | `passkey#<credential id>` | [`Passkey`](super::Passkey): one registered WebAuthn credential and its person | – |
//!
//! An item is live while `now < expires_at` ([`expired`]); DynamoDB's TTL deletes lazily and
//! the embedded store not at all, so every read checks expiry itself.
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{
    error::{StoreError, StoreResult},
    model::{
        AuthCode, AuthRequest, FederationAttempt, RefreshToken, Session, UpstreamProvider, User,
    },
};

/// The key prefix of clients, also what the admin listing scans for.
pub const CLIENTS: &str = "client#";
/// The key prefix of users, also what the admin listing scans for.
pub const USERS: &str = "user#";
/// The deployment secret's key.
pub const SECRET: &str = "secret#deployment";
/// The published key set's key.
pub const PUBLISHED_KEYS: &str = "keys#published";
/// The key of the one record holding every upstream provider: the sign-in page lists them
/// on every render, which must be one read (a Scan would read the whole table).
pub const PROVIDERS: &str = "providers#all";
/// How long a code's record outlives its expiry, so a replay is still recognised as one
/// (RFC 6749 §4.1.2: a code used twice revokes what it minted).
pub const CODE_REPLAY_WINDOW: i64 = 3600;

pub fn client(client_id: &str) -> String {
    format!("{CLIENTS}{client_id}")
}

pub fn user(sub: &str) -> String {
    format!("{USERS}{sub}")
}

pub fn username(username: &str) -> String {
    format!("username#{username}")
}

/// Emails are unique case-insensitively.
pub fn email(email: &str) -> String {
    format!("email#{}", email.to_lowercase())
}

/// A person's second factors and passkey ids: deleted with the person.
pub fn factors(sub: &str) -> String {
    format!("factors#{sub}")
}

/// A passkey, by its credential id (base64url): deleted with its person.
pub fn passkey(credential_id: &str) -> String {
    format!("passkey#{credential_id}")
}

pub fn auth_request(id: &str) -> String {
    format!("authreq#{id}")
}

pub fn session(id_hash: &str) -> String {
    format!("session#{id_hash}")
}

pub fn code(code_hash: &str) -> String {
    format!("code#{code_hash}")
}

pub fn revoked(jti: &str) -> String {
    format!("revoked#{jti}")
}

/// `#` cannot occur in a sub (ours are base64url), so the pair is unambiguous.
pub fn consent(sub: &str, client_id: &str) -> String {
    format!("consent#{sub}#{client_id}")
}

pub fn refresh(token_hash: &str) -> String {
    format!("refresh#{token_hash}")
}

pub fn replay(key: &str) -> String {
    format!("replay#{key}")
}

/// A sign-in failure counter (`key` is the guard's key, without the prefix).
pub fn throttle(key: &str) -> String {
    format!("throttle#{key}")
}

pub fn wrapped_key(id: &str) -> String {
    format!("wrapped-key#{id}")
}

/// A federation attempt, by the SHA-256 of the `state` sent upstream.
pub fn attempt(state_hash: &str) -> String {
    format!("fedstate#{state_hash}")
}

/// An account link. An issuer is a URL without a fragment, but its `%` and `#` are escaped
/// all the same, so the first `#` after the prefix always ends it and no two pairs share a
/// key (an upstream `sub` may hold anything).
pub fn link(issuer: &str, upstream_sub: &str) -> String {
    let issuer = issuer.replace('%', "%25").replace('#', "%23");
    format!("link#{issuer}#{upstream_sub}")
}

/// `user#abc` → `user`: the item kind, the only part of a key fit for an error message.
pub fn kind(key: &str) -> &str {
    key.split('#').next().unwrap_or("item")
}

/// Whether something that expires at `expires_at` has expired at `now`.
pub fn expired(expires_at: i64, now: i64) -> bool {
    expires_at <= now
}

/// A record that expires: read as absent from its expiry on.
pub trait Expiring {
    fn expires_at(&self) -> i64;
    /// When the backend may delete it (DynamoDB's `ttl`): its expiry, unless it must be
    /// kept longer.
    fn ttl(&self) -> i64 {
        self.expires_at()
    }
}

/// `record`, unless it has expired at `now`.
pub fn live<T: Expiring>(record: Option<T>, now: i64) -> Option<T> {
    record.filter(|r| !expired(r.expires_at(), now))
}

impl Expiring for AuthRequest {
    fn expires_at(&self) -> i64 {
        self.expires_at
    }
}

impl Expiring for Session {
    fn expires_at(&self) -> i64 {
        self.expires_at
    }
}

impl Expiring for AuthCode {
    fn expires_at(&self) -> i64 {
        self.expires_at
    }
    fn ttl(&self) -> i64 {
        self.expires_at.saturating_add(CODE_REPLAY_WINDOW)
    }
}

impl Expiring for FederationAttempt {
    fn expires_at(&self) -> i64 {
        self.expires_at
    }
}

impl Expiring for RefreshToken {
    fn expires_at(&self) -> i64 {
        self.expires_at
    }
}

/// A revoked access token or grant (`revoked#<id>`).
#[derive(Serialize, Deserialize)]
pub struct Revoked {
    pub expires_at: i64,
}

impl Expiring for Revoked {
    fn expires_at(&self) -> i64 {
        self.expires_at
    }
}

/// A remembered one-time key (`replay#<key>`).
#[derive(Serialize, Deserialize)]
pub struct Replay {
    pub until: i64,
}

impl Expiring for Replay {
    fn expires_at(&self) -> i64 {
        self.until
    }
}

/// The `providers#all` record: every upstream provider by id (ids are map keys, so an
/// upstream provider is written or removed alone, without reading the others first).
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Providers {
    #[serde(default)]
    pub providers: BTreeMap<String, UpstreamProvider>,
}

/// The attribute of [`Providers`] holding the map.
pub const PROVIDERS_ATTR: &str = "providers";

/// A `username#` record: the whole user (written since usernames are read in one hop), or
/// the `sub` alone (written before).
#[derive(Serialize, Deserialize)]
#[serde(untagged)]
pub enum UsernameRecord {
    User(Box<User>),
    Sub(String),
}

impl UsernameRecord {
    pub fn sub(&self) -> &str {
        match self {
            UsernameRecord::User(u) => &u.sub,
            UsernameRecord::Sub(sub) => sub,
        }
    }
}

/// The items a user owns, one per uniqueness rule: its record, the copy of it under its
/// username, and the claim on its email address (which holds its `sub`). Creating writes
/// them all, never over an existing one; deleting releases a claim only if it is still
/// this user's.
#[derive(Debug, Clone, PartialEq)]
pub struct UserItems {
    pub user: String,
    pub username: String,
    pub email: Option<String>,
}

impl UserItems {
    pub fn of(u: &User) -> Self {
        Self {
            user: user(&u.sub),
            username: username(&u.username),
            email: u.email().map(email),
        }
    }

    /// The claims (username, then email) in the order both backends write them.
    pub fn claims(&self) -> impl Iterator<Item = &String> {
        std::iter::once(&self.username).chain(&self.email)
    }
}

/// What replacing a user's record does to its items: both records are rewritten, and the
/// email claim moves when the address changes.
#[derive(Debug, Clone, PartialEq)]
pub struct UserChange {
    pub items: UserItems,
    /// The claim to take (never over another user's).
    pub take_email: Option<String>,
    /// The claim to release.
    pub release_email: Option<String>,
}

/// How `new` replaces `old`: a username never changes (`Conflict`).
pub fn user_change(old: &User, new: &User) -> StoreResult<UserChange> {
    if old.username != new.username {
        return Err(StoreError::Conflict("username cannot change".into()));
    }
    let (old_email, items) = (UserItems::of(old).email, UserItems::of(new));
    let moved = old_email != items.email;
    Ok(UserChange {
        take_email: items.email.clone().filter(|_| moved),
        release_email: old_email.filter(|_| moved),
        items,
    })
}
