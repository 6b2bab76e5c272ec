//! Plaintext secrets on their way through the provider: from the request that presents one
//! (or the moment one is made) until it is hashed or written into a response. Each kind is
//! its own type, so one cannot be passed where another is meant, and none can be logged by
//! accident: `Debug` prints `ClientSecret(<redacted>)`, `Display` prints `<redacted>`, and
//! there is no `Serialize` (a response puts [`Secret::expose`]d text into its JSON on
//! purpose). The store only ever holds their digests: SHA-256 for the high-entropy kinds
//! ([`Secret::digest`]), argon2 for passwords (`crate::password`).
use std::{fmt, marker::PhantomData};

use serde::{Deserialize, Deserializer};

use crate::crypto;

/// A plaintext secret of kind `K` (one of [`kind`]); used through the aliases below.
pub struct Secret<K: Kind>(String, PhantomData<K>);

/// What a kind of secret is called in `Debug`.
pub trait Kind {
    const NAME: &'static str;
}

/// A high-entropy kind, stored as its SHA-256 ([`crypto::secret_digest`]): a fast hash is
/// safe only for values no one can guess.
pub trait Digested: Kind {}

/// A kind the provider makes itself: 32 random bytes, base64url.
pub trait Generated: Digested {}

/// A kind a seed file may hold (and so may be deserialized).
pub trait Seeded: Kind {}

/// The kinds, as types that are never built: they only tell the [`Secret`]s apart.
pub mod kind {
    pub enum Password {}
    pub enum ClientSecret {}
    pub enum CodeValue {}
    pub enum RefreshValue {}
    pub enum RegistrationToken {}
    pub enum InitialAccessToken {}
}

/// Each kind's alias, named as its `Debug` output names it.
macro_rules! kinds {
    ($($(#[$doc:meta])* $name:ident: $($cap:ident),*;)*) => {$(
        $(#[$doc])*
        pub type $name = Secret<kind::$name>;
        impl Kind for kind::$name {
            const NAME: &'static str = stringify!($name);
        }
        $(impl $cap for kind::$name {})*
    )*};
}

kinds! {
    /// The password a person types at `POST /login`, or an administrator gives for them
    /// (seed file, `oidc-admin users`). Stored only as its argon2id hash.
    Password: Seeded;
    /// A confidential client's secret (RFC 6749 §2.3.1): presented at the token, revocation
    /// and introspection endpoints, made at registration and by `oidc-admin clients`.
    ClientSecret: Digested, Generated, Seeded;
    /// An authorization code's value (RFC 6749 §4.1.2), as sent to the client; its record is
    /// `store::AuthCode`.
    CodeValue: Digested, Generated;
    /// A refresh token's value (RFC 6749 §1.5), as sent to the client; its record is
    /// `store::RefreshToken`. Made by `endpoints::token::refresh::new_value`, which adds its hints.
    RefreshValue: Digested;
    /// The registration access token of a dynamically registered client (RFC 7592 §3),
    /// stored as the client's `registration_token_hash`.
    RegistrationToken: Digested, Generated;
    /// The initial access token that may protect registration (RFC 7591 §3): configured,
    /// never made here.
    InitialAccessToken: Digested;
}

impl<K: Kind> Secret<K> {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into(), PhantomData)
    }

    /// The plaintext: the one way to read it, for hashing it or sending it to its holder.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl<K: Digested> Secret<K> {
    /// Its storage key: [`crypto::secret_digest`].
    pub fn digest(&self) -> String {
        crypto::secret_digest(&self.0)
    }

    /// Whether this is the secret whose digest is `stored`, compared in constant time.
    pub fn matches(&self, stored: &str) -> bool {
        crypto::constant_time_eq(self.digest().as_bytes(), stored.as_bytes())
    }
}

impl<K: Generated> Secret<K> {
    /// A fresh one: 32 random bytes, base64url.
    pub fn generate() -> Self {
        Self::new(crypto::random_token(32))
    }
}

impl<K: Kind> Clone for Secret<K> {
    fn clone(&self) -> Self {
        Self::new(self.0.clone())
    }
}

impl<K: Kind> From<String> for Secret<K> {
    fn from(value: String) -> Self {
        Self::new(value)
    }
}

impl<K: Kind> From<&str> for Secret<K> {
    fn from(value: &str) -> Self {
        Self::new(value)
    }
}

impl<K: Kind> fmt::Debug for Secret<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}(<redacted>)", K::NAME)
    }
}

impl<K: Kind> fmt::Display for Secret<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// As a plain string (so a malformed file is refused with the same message as before).
impl<'de, K: Seeded> Deserialize<'de> for Secret<K> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(Self::new)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "hunter2-but-much-longer-and-secret";

    #[derive(Debug)]
    struct Holder {
        password: Password,
        client_secret: Option<ClientSecret>,
        code: CodeValue,
        refresh: RefreshValue,
        registration: RegistrationToken,
        initial: InitialAccessToken,
    }

    fn holder() -> Holder {
        Holder {
            password: Password::new(TEXT),
            client_secret: Some(ClientSecret::from(TEXT.to_string())),
            code: CodeValue::from(TEXT),
            refresh: RefreshValue::new(TEXT),
            registration: RegistrationToken::new(TEXT),
            initial: InitialAccessToken::new(TEXT),
        }
    }

    #[test]
    fn debug_and_display_redact() {
        let h = holder();
        for shown in [
            format!("{h:?}"),
            format!("{h:#?}"),
            format!("{} {}", h.password, h.code),
        ] {
            assert!(!shown.contains(TEXT), "{shown}");
            assert!(!shown.contains("hunter2"), "{shown}");
        }
        assert_eq!(format!("{:?}", h.password), "Password(<redacted>)");
        assert_eq!(
            format!("{:?}", h.client_secret),
            "Some(ClientSecret(<redacted>))"
        );
        assert_eq!(format!("{:?}", h.refresh), "RefreshValue(<redacted>)");
        assert_eq!(h.registration.to_string(), "<redacted>");
    }

    #[test]
    fn expose_returns_the_value() {
        let h = holder();
        assert_eq!(h.password.expose(), TEXT);
        assert_eq!(h.client_secret.as_ref().map(Secret::expose), Some(TEXT));
        assert_eq!(h.code.clone().expose(), TEXT);
        assert_eq!(h.initial.expose(), TEXT);
    }

    #[test]
    fn digests_match_in_the_store_format() {
        let s = ClientSecret::new(TEXT);
        assert_eq!(s.digest(), crypto::secret_digest(TEXT));
        assert!(s.matches(&crypto::secret_digest(TEXT)));
        assert!(!s.matches(&crypto::secret_digest("something else")));
        assert!(!s.matches(""));
    }

    #[test]
    fn generated_ones_are_fresh_32_byte_tokens() {
        let (a, b) = (CodeValue::generate(), CodeValue::generate());
        assert_ne!(a.expose(), b.expose());
        assert_eq!(crypto::b64url_decode(a.expose()).map(|v| v.len()), Some(32));
        assert_eq!(ClientSecret::generate().expose().len(), 43);
    }

    #[test]
    fn seeded_kinds_read_as_plain_strings() {
        let p: Password = serde_json::from_str(r#""pw""#).expect("string");
        assert_eq!(p.expose(), "pw");
        let e = serde_json::from_str::<ClientSecret>("5").expect_err("not a string");
        let plain = serde_json::from_str::<String>("5").expect_err("not a string");
        assert_eq!(e.to_string(), plain.to_string());
    }
}
