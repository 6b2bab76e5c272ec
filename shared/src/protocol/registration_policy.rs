//! What a dynamically registered client may be (RFC 7591 §2 and §5, RFC 9700 §2.3:
//! registration is subject to the server's policy). Anyone who can reach `/register` chooses
//! the metadata, so the policy, not the request, decides the scopes, grant types,
//! authentication methods, kinds of redirect URI and trust such a client gets. It is applied
//! when a client registers or updates itself (RFC 7592), and again whenever one is used, so
//! narrowing the policy narrows the clients registered before.
use crate::{
    config::error::ConfigError,
    protocol::{redirect_uri::Kinds, scope},
    store::{AuthMethod, Client},
};

#[derive(Debug, Clone, PartialEq)]
pub struct RegistrationPolicy {
    /// `REGISTRATION_SCOPES`: the scopes a registered client may be allowed.
    pub scopes: Vec<String>,
    /// `REGISTRATION_GRANT_TYPES`.
    pub grant_types: Vec<String>,
    /// `REGISTRATION_AUTH_METHODS`: `token_endpoint_auth_method` values.
    pub auth_methods: Vec<AuthMethod>,
    /// `REGISTRATION_REDIRECT_URIS`: the kinds of redirect and post-logout redirect URI.
    pub redirect_uris: Kinds,
    /// `REGISTRATION_TRUSTED`: whether the provider may send a browser to a registered
    /// client's URIs before the person has signed in (RFC 9700 §4.11.2).
    pub trusted: bool,
}

const GRANTS: [&str; 3] = ["authorization_code", "refresh_token", "client_credentials"];
const METHODS: [AuthMethod; 4] = [
    AuthMethod::ClientSecretBasic,
    AuthMethod::ClientSecretPost,
    AuthMethod::PrivateKeyJwt,
    AuthMethod::None,
];

impl Default for RegistrationPolicy {
    /// The standard OpenID Connect scopes, the code flow with refresh, any authentication
    /// method; https and loopback redirect URIs (web and desktop apps: a private-use scheme
    /// opens whichever app on the device claims it, and nothing ties that name to the
    /// registrant, RFC 8252 §8.6); untrusted.
    fn default() -> Self {
        Self {
            scopes: scope::SUPPORTED.iter().map(|s| s.to_string()).collect(),
            grant_types: vec!["authorization_code".into(), "refresh_token".into()],
            auth_methods: METHODS.to_vec(),
            redirect_uris: Kinds {
                https: true,
                loopback: true,
                private_use: false,
            },
            trusted: false,
        }
    }
}

/// A configured list: values separated by spaces and/or commas.
fn list(v: &str) -> Vec<&str> {
    v.split([' ', ','])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect()
}

impl RegistrationPolicy {
    /// Reads `REGISTRATION_SCOPES`, `REGISTRATION_GRANT_TYPES`, `REGISTRATION_AUTH_METHODS`,
    /// `REGISTRATION_REDIRECT_URIS` and `REGISTRATION_TRUSTED` through `get`; unset ones keep
    /// their defaults.
    pub fn from_vars<'a>(get: impl Fn(&str) -> Option<&'a str>) -> Result<Self, ConfigError> {
        let mut p = Self::default();
        let invalid = |name: &'static str, what: String| ConfigError::Invalid(name, what);
        if let Some(v) = get("REGISTRATION_SCOPES") {
            let s = list(v);
            if s.is_empty() || s.iter().any(|s| !scope::is_valid_token(s)) {
                return Err(invalid(
                    "REGISTRATION_SCOPES",
                    format!("expected scope names separated by spaces, got {v:?}"),
                ));
            }
            p.scopes = scope::parse(&s.join(" "));
        }
        if let Some(v) = get("REGISTRATION_GRANT_TYPES") {
            let g = list(v);
            if g.is_empty() || g.iter().any(|g| !GRANTS.contains(g)) {
                return Err(invalid(
                    "REGISTRATION_GRANT_TYPES",
                    format!("expected some of {}, got {v:?}", GRANTS.join(" ")),
                ));
            }
            p.grant_types = scope::parse(&g.join(" "));
        }
        if let Some(v) = get("REGISTRATION_AUTH_METHODS") {
            let m: Option<Vec<AuthMethod>> = list(v)
                .into_iter()
                .map(|n| METHODS.into_iter().find(|m| m.as_str() == n))
                .collect();
            p.auth_methods = m.filter(|m| !m.is_empty()).ok_or_else(|| {
                let names: Vec<&str> = METHODS.iter().map(|m| m.as_str()).collect();
                invalid(
                    "REGISTRATION_AUTH_METHODS",
                    format!("expected some of {}, got {v:?}", names.join(" ")),
                )
            })?;
        }
        if let Some(v) = get("REGISTRATION_REDIRECT_URIS") {
            p.redirect_uris = Kinds::parse(list(v))
                .filter(|k| !k.names().is_empty())
                .ok_or_else(|| {
                    invalid(
                        "REGISTRATION_REDIRECT_URIS",
                        format!("expected some of {}, got {v:?}", Kinds::NAMES.join(" ")),
                    )
                })?;
        }
        if let Some(v) = get("REGISTRATION_TRUSTED") {
            p.trusted = match v {
                "true" => true,
                "false" => false,
                _ => {
                    return Err(invalid(
                        "REGISTRATION_TRUSTED",
                        format!("expected true or false, got {v:?}"),
                    ));
                }
            };
        }
        Ok(p)
    }

    pub fn allows_method(&self, m: AuthMethod) -> bool {
        self.auth_methods.contains(&m)
    }

    /// A client as the current policy lets it act: a dynamically registered one keeps only
    /// the grant types and scopes the policy still allows, is trusted only while the policy
    /// trusts registered clients, and never skips consent. Others are the administrator's.
    pub fn bound(&self, mut c: Client) -> Client {
        if c.is_dynamic() {
            c.grant_types.retain(|g| self.grant_types.contains(g));
            c.allowed_scopes.retain(|s| self.scopes.contains(s));
            c.trusted = Some(c.is_trusted() && self.trusted);
            c.skip_consent = false;
        }
        c
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn policy(pairs: &[(&str, &str)]) -> Result<RegistrationPolicy, ConfigError> {
        let vars: HashMap<&str, &str> = pairs.iter().copied().collect();
        RegistrationPolicy::from_vars(|k| vars.get(k).copied())
    }

    #[test]
    fn defaults_are_the_safe_choice() {
        let p = policy(&[]).expect("defaults");
        assert_eq!(p, RegistrationPolicy::default());
        assert!(!p.trusted);
        assert!(!p.grant_types.iter().any(|g| g == "client_credentials"));
        assert!(
            p.scopes
                .iter()
                .all(|s| scope::USER_SCOPES.contains(&s.as_str()))
        );
        assert!(!p.redirect_uris.private_use);
    }

    #[test]
    fn configured_values() {
        let p = policy(&[
            ("REGISTRATION_SCOPES", "openid, email api:read"),
            ("REGISTRATION_GRANT_TYPES", "client_credentials"),
            ("REGISTRATION_AUTH_METHODS", "private_key_jwt"),
            ("REGISTRATION_REDIRECT_URIS", "https private-use"),
            ("REGISTRATION_TRUSTED", "true"),
        ])
        .expect("ok");
        assert_eq!(p.scopes, vec!["openid", "email", "api:read"]);
        assert_eq!(p.grant_types, vec!["client_credentials"]);
        assert_eq!(p.auth_methods, vec![AuthMethod::PrivateKeyJwt]);
        assert_eq!(p.redirect_uris.names(), vec!["https", "private-use"]);
        assert!(p.trusted);
        for bad in [
            ("REGISTRATION_GRANT_TYPES", "password"),
            ("REGISTRATION_AUTH_METHODS", "tls_client_auth"),
            ("REGISTRATION_REDIRECT_URIS", "ftp"),
            ("REGISTRATION_TRUSTED", "yes"),
            ("REGISTRATION_SCOPES", "a\"b"),
        ] {
            let e = policy(&[bad]).expect_err(bad.0);
            assert!(e.to_string().contains(bad.0), "{e}");
        }
    }
}
