//! Declarative clients, users and upstream providers (a JSON or TOML file), applied
//! idempotently: clients are created or replaced, users created or updated in place (their
//! `sub` never changes), providers created or replaced ([`apply_providers`]).
mod providers;

pub use providers::{SeedProvider, apply_providers, check_provider, seal_unless_unchanged};
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::{
    error::refusal,
    password,
    protocol::claims::{is_custom_name, is_user_claim},
    protocol::{acr::Level, redirect_uri, scope},
    secret::{ClientSecret, Password},
    store::{AuthMethod, Client, CustomClaim, Store, StoreError, User},
};

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Seed {
    #[serde(default)]
    pub clients: Vec<SeedClient>,
    #[serde(default)]
    pub users: Vec<SeedUser>,
    /// Upstream OpenID providers, applied by [`apply_providers`] (they need a sealer).
    #[serde(default)]
    pub providers: Vec<SeedProvider>,
    /// The dynamic registration policy (`[registration]`), for the local server.
    #[serde(default)]
    pub registration: Option<SeedRegistration>,
}

/// The registration policy in a seed file: the `REGISTRATION_SCOPES`,
/// `REGISTRATION_GRANT_TYPES`, `REGISTRATION_AUTH_METHODS`, `REGISTRATION_REDIRECT_URIS` and
/// `REGISTRATION_TRUSTED` settings as lists and a boolean. A variable set in the environment
/// wins over the file. Validated as the environment is, by `Config`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedRegistration {
    pub scopes: Option<Vec<String>>,
    pub grant_types: Option<Vec<String>>,
    pub auth_methods: Option<Vec<String>>,
    pub redirect_uris: Option<Vec<String>>,
    pub trusted: Option<bool>,
}

impl SeedRegistration {
    /// The settings as configuration variables.
    pub fn config_vars(&self) -> Vec<(String, String)> {
        let lists = [
            ("REGISTRATION_SCOPES", &self.scopes),
            ("REGISTRATION_GRANT_TYPES", &self.grant_types),
            ("REGISTRATION_AUTH_METHODS", &self.auth_methods),
            ("REGISTRATION_REDIRECT_URIS", &self.redirect_uris),
        ];
        let mut vars: Vec<(String, String)> = lists
            .into_iter()
            .filter_map(|(k, v)| v.as_ref().map(|v| (k.to_string(), v.join(" "))))
            .collect();
        if let Some(t) = self.trusted {
            vars.push(("REGISTRATION_TRUSTED".into(), t.to_string()));
        }
        vars
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedClient {
    pub client_id: String,
    pub client_name: Option<String>,
    pub logo_uri: Option<String>,
    /// Omit for a public client (`token_endpoint_auth_method = "none"`).
    pub client_secret: Option<ClientSecret>,
    pub token_endpoint_auth_method: Option<AuthMethod>,
    #[serde(default)]
    pub redirect_uris: Vec<String>,
    /// Scopes the client may be granted (default: all supported).
    pub scopes: Option<Vec<String>>,
    /// Default: `["authorization_code"]`.
    pub grant_types: Option<Vec<String>>,
    /// First-party application: no consent page (default false).
    #[serde(default)]
    pub skip_consent: bool,
    #[serde(default)]
    pub post_logout_redirect_uris: Vec<String>,
    #[serde(default)]
    pub custom_claims: Vec<CustomClaim>,
    /// Claims the client may receive by name beyond its scopes: standard claims, or the
    /// names of people's custom claims (`protocol::release`).
    #[serde(default)]
    pub allowed_claims: Vec<String>,
    /// Public keys (a JWK Set) for `private_key_jwt`.
    pub jwks: Option<Value>,
    /// Whether the provider may send a browser to this client's URIs before the person has
    /// signed in (default true: an administrator vouches for the client).
    pub trusted: Option<bool>,
    /// The least level of sign-in its users must reach: "password", "two-factor" or
    /// "phishing-resistant" (default: the deployment's, `SIGNIN_MIN_LEVEL`).
    pub min_level: Option<Level>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedUser {
    pub username: String,
    pub password: Option<Password>,
    /// A pre-hashed argon2 PHC string, instead of `password`.
    pub password_hash: Option<String>,
    pub sub: Option<String>,
    #[serde(default)]
    pub claims: Map<String, Value>,
    #[serde(default)]
    pub custom_claims: Vec<CustomClaim>,
}

#[derive(Debug, thiserror::Error)]
pub enum SeedError {
    #[error("cannot read seed file: {0}")]
    Parse(String),
    #[error("client {0}: {1}")]
    Client(String, String),
    #[error("user {0}: {1}")]
    User(String, String),
    #[error("provider {0}: {1}")]
    Provider(String, String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Secrets shorter than this are refused: they are stored with a fast hash, which is only
/// safe for high-entropy values.
pub const MIN_SECRET_LEN: usize = 32;

impl Seed {
    /// Parses by extension: `.toml` as TOML, anything else as JSON.
    pub fn parse(name: &str, text: &str) -> Result<Self, SeedError> {
        if name.ends_with(".toml") {
            toml::from_str(text).map_err(|e| SeedError::Parse(e.to_string()))
        } else {
            serde_json::from_str(text).map_err(|e| SeedError::Parse(e.to_string()))
        }
    }
}

impl SeedClient {
    pub fn to_client(&self) -> Result<Client, SeedError> {
        let err = |m: String| SeedError::Client(self.client_id.clone(), m);
        if self.client_id.is_empty() || self.client_id.len() > 128 {
            return Err(err("client_id must be 1-128 characters".into()));
        }
        let default_method = if self.client_secret.is_some() {
            AuthMethod::ClientSecretBasic
        } else {
            AuthMethod::None
        };
        let method = self.token_endpoint_auth_method.unwrap_or(default_method);
        let secret_hash = self.secret_hash(method).map_err(err)?;
        let grant_types = self.grant_types(method).map_err(err)?;
        if let Some(name) = &self.client_name
            && (name.trim().is_empty()
                || name.chars().count() > 200
                || name.chars().any(char::is_control))
        {
            return Err(err(
                "client_name must be 1-200 characters without control characters".into(),
            ));
        }
        self.check_uris().map_err(err)?;
        let scopes = self.scopes().map_err(err)?;
        self.check_claims().map_err(err)?;
        if let Some(logo) = &self.logo_uri {
            redirect_uri::check_logo(logo).map_err(|p| err(refusal("logo_uri", logo, p)))?;
        }
        Ok(Client {
            client_id: self.client_id.clone(),
            client_name: self
                .client_name
                .clone()
                .unwrap_or_else(|| self.client_id.clone()),
            logo_uri: self.logo_uri.clone(),
            secret_hash,
            auth_method: method,
            redirect_uris: self.redirect_uris.clone(),
            allowed_scopes: scopes,
            grant_types,
            skip_consent: self.skip_consent,
            post_logout_redirect_uris: self.post_logout_redirect_uris.clone(),
            custom_claims: self.custom_claims.clone(),
            jwks: self.jwks.clone(),
            registration_token_hash: None,
            allowed_claims: self.allowed_claims.clone(),
            trusted: self.trusted,
            min_level: self.min_level,
            tokens_valid_after_ms: 0,
        })
    }

    /// The stored hash of the client's secret, for a method that uses one; a public or
    /// private_key_jwt client has none (and the latter needs keys instead).
    fn secret_hash(&self, method: AuthMethod) -> Result<Option<String>, String> {
        match (method, &self.client_secret) {
            (AuthMethod::None | AuthMethod::PrivateKeyJwt, Some(_)) => {
                Err(format!("{} clients have no client_secret", method.as_str()))
            }
            (AuthMethod::None, None) => Ok(None),
            (AuthMethod::PrivateKeyJwt, None) => {
                let keys = self
                    .jwks
                    .as_ref()
                    .and_then(|j| j["keys"].as_array())
                    .map(Vec::len)
                    .unwrap_or(0);
                if keys == 0 {
                    return Err("private_key_jwt needs jwks with at least one key".into());
                }
                Ok(None)
            }
            (_, None) => Err(format!("{} needs a client_secret", method.as_str())),
            (_, Some(s)) if s.expose().len() < MIN_SECRET_LEN => Err(format!(
                "client_secret must be at least {MIN_SECRET_LEN} characters"
            )),
            (_, Some(s)) => Ok(Some(s.digest())),
        }
    }

    /// The grant types (by default the code flow), each one this provider serves and the
    /// client can use: client_credentials needs a secret, the code flow a redirect_uri.
    fn grant_types(&self, method: AuthMethod) -> Result<Vec<String>, String> {
        let grant_types = self
            .grant_types
            .clone()
            .unwrap_or_else(|| vec!["authorization_code".into()]);
        const GRANTS: [&str; 3] = ["authorization_code", "refresh_token", "client_credentials"];
        if let Some(bad) = grant_types.iter().find(|g| !GRANTS.contains(&g.as_str())) {
            return Err(format!("unsupported grant type {bad:?}"));
        }
        if grant_types.iter().any(|g| g == "client_credentials") && method == AuthMethod::None {
            return Err("client_credentials needs a confidential client".into());
        }
        let redirects = grant_types.iter().any(|g| g == "authorization_code");
        if redirects && self.redirect_uris.is_empty() {
            return Err("at least one redirect_uri is required".into());
        }
        Ok(grant_types)
    }

    fn check_uris(&self) -> Result<(), String> {
        let uris = [
            ("redirect_uris", &self.redirect_uris),
            ("post_logout_redirect_uris", &self.post_logout_redirect_uris),
        ];
        for (member, list) in uris {
            for u in list {
                redirect_uri::check_redirect(u, redirect_uri::Kinds::ALL)
                    .map_err(|p| refusal(member, u, p))?;
            }
        }
        Ok(())
    }

    /// Standard scopes, plus any API scopes the client may request (RFC 6749 §3.3 syntax).
    fn scopes(&self) -> Result<Vec<String>, String> {
        let Some(s) = &self.scopes else {
            return Ok(scope::SUPPORTED.iter().map(|s| s.to_string()).collect());
        };
        if let Some(bad) = s.iter().find(|s| !scope::is_valid_token(s)) {
            return Err(format!("invalid scope {bad:?}"));
        }
        Ok(s.clone())
    }

    fn check_claims(&self) -> Result<(), String> {
        validate_custom(&self.custom_claims)?;
        if let Some(bad) = self
            .allowed_claims
            .iter()
            .find(|n| !(is_user_claim(n) || is_custom_name(n)))
        {
            return Err(format!(
                "allowed claim {bad:?} is neither a standard claim about a person nor a custom claim URI"
            ));
        }
        Ok(())
    }
}

/// Custom claim names are namespaced URIs; values are small (tokens are size-limited).
pub fn validate_custom(claims: &[CustomClaim]) -> Result<(), String> {
    for c in claims {
        if !is_custom_name(&c.name) {
            return Err(format!(
                "custom claim {:?} must be a namespaced URI, such as https://example.com/{}",
                c.name, c.name
            ));
        }
        if c.value.to_string().len() > 1024 {
            return Err(format!("custom claim {:?} is over 1024 bytes", c.name));
        }
        if let Some(s) = &c.scope
            && (!scope::is_valid_token(s) || s == "openid")
        {
            return Err(format!(
                "custom claim {:?}: scope {s:?} must be a scope token other than openid",
                c.name
            ));
        }
    }
    Ok(())
}

impl SeedUser {
    /// Checks the username, the `sub` if given, the standard claims and the custom claims
    /// (the password is checked by [`SeedUser::password_hash`]).
    pub fn validate(&self) -> Result<(), SeedError> {
        let err = |m: String| SeedError::User(self.username.clone(), m);
        if self.username.trim().is_empty() {
            return Err(err("username is empty".into()));
        }
        if let Some(sub) = &self.sub {
            // OIDC Core §2: at most 255 ASCII characters; `#` separates key parts in storage.
            let printable = sub.chars().all(|c| c.is_ascii_graphic() && c != '#');
            if sub.is_empty() || sub.len() > 255 || !printable {
                return Err(err(
                    "sub must be 1-255 printable ASCII characters without '#'".into(),
                ));
            }
        }
        if let Some(bad) = self.claims.keys().find(|k| {
            !scope::is_standard_claim(k)
                || ["sub", "iss", "aud", "exp", "iat", "auth_time", "nonce"].contains(&k.as_str())
        }) {
            return Err(err(format!("{bad:?} is not a standard user claim")));
        }
        validate_custom(&self.custom_claims).map_err(err)
    }

    /// The argon2 hash to store: `password_hash` as given (if it is an argon2 PHC string),
    /// or `password` hashed (keeping `existing`'s hash when the password is unchanged).
    pub fn password_hash(&self, existing: Option<&User>) -> Result<String, SeedError> {
        let err = |m: &str| SeedError::User(self.username.clone(), m.to_string());
        match (&self.password, &self.password_hash) {
            (Some(_), Some(_)) => Err(err("give password or password_hash, not both")),
            (None, Some(h)) if password::is_argon2_phc(h) => Ok(h.clone()),
            (None, Some(_)) => Err(err("password_hash must be an argon2 PHC string")),
            (Some(p), None) => match existing {
                // Keep the stored hash when the password is unchanged: restarts stay cheap.
                Some(u) if password::verify_password(p, Some(&u.password_hash)) => {
                    Ok(u.password_hash.clone())
                }
                _ => password::hash_password(p).map_err(|e| err(&e.to_string())),
            },
            (None, None) => Err(err("a password or password_hash is required")),
        }
    }
}

/// Applies the seed's clients and users; returns how many it wrote. A user whose password
/// changed has their sessions and refresh tokens ended (at `now_ms`), as any password
/// change does. (The seed's providers need a sealer for their secrets: [`apply_providers`].)
pub async fn apply(
    store: &dyn Store,
    seed: &Seed,
    now_ms: i64,
) -> Result<(usize, usize), SeedError> {
    for c in &seed.clients {
        store.put_client(&c.to_client()?).await?;
    }
    for u in &seed.users {
        u.validate()?;
        let existing = store.user_by_username(&u.username).await?;
        let password_hash = u.password_hash(existing.as_ref())?;
        match existing {
            Some(mut user) => {
                user.set_password_hash(password_hash, now_ms);
                user.claims = u.claims.clone();
                user.custom_claims = u.custom_claims.clone();
                store.update_user(&user).await?;
            }
            None => {
                let user = User::new(
                    u.sub.clone(),
                    u.username.clone(),
                    password_hash,
                    u.claims.clone(),
                    u.custom_claims.clone(),
                    now_ms,
                );
                store.create_user(&user).await?;
            }
        }
    }
    Ok((seed.clients.len(), seed.users.len()))
}
