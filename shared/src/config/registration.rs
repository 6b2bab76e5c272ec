//! Who may register clients: `REGISTRATION`, `REGISTRATION_INITIAL_ACCESS_TOKEN[_SHA256]`.
//! What a registered client may be: `REGISTRATION_SCOPES`, `_GRANT_TYPES`, `_AUTH_METHODS`,
//! `_REDIRECT_URIS`, `_TRUSTED` (the rule that applies them is
//! [`crate::protocol::registration_policy`]).
use super::{ConfigError, vars::Vars};
use crate::{
    protocol::{
        redirect_uri::Kinds,
        registration_policy::{GRANTS, METHODS, RegistrationPolicy},
        scope,
    },
    store::AuthMethod,
};

/// Who may use Dynamic Client Registration (RFC 7591 §3).
#[derive(Debug, Clone, PartialEq)]
pub enum Registration {
    Disabled,
    /// Anyone may register: local development.
    Open,
    /// Requests must bear this initial access token (stored as its SHA-256).
    InitialToken(String),
}

impl Registration {
    pub(super) fn read(v: Vars) -> Result<Self, ConfigError> {
        let mode = match (
            v.get("REGISTRATION_INITIAL_ACCESS_TOKEN"),
            v.get("REGISTRATION_INITIAL_ACCESS_TOKEN_SHA256"),
            v.get("REGISTRATION"),
        ) {
            (Some(t), _, _) if t.len() >= 32 => {
                Registration::InitialToken(crate::crypto::secret_digest(t))
            }
            (Some(_), _, _) => {
                return Err(ConfigError::Invalid(
                    "REGISTRATION_INITIAL_ACCESS_TOKEN",
                    "must be at least 32 characters".into(),
                ));
            }
            // Deployments pass the token's digest, so the secret itself is in no environment.
            (None, Some(h), _) if h.len() == 43 && crate::crypto::b64url_decode(h).is_some() => {
                Registration::InitialToken(h.to_string())
            }
            (None, Some(_), _) => {
                return Err(ConfigError::Invalid(
                    "REGISTRATION_INITIAL_ACCESS_TOKEN_SHA256",
                    "expected the base64url SHA-256 of the token (43 characters)".into(),
                ));
            }
            (None, None, Some("token")) => {
                return Err(ConfigError::Missing(
                    "REGISTRATION_INITIAL_ACCESS_TOKEN_SHA256",
                    "REGISTRATION=token needs the digest of the initial access token",
                ));
            }
            (None, None, Some("open")) => Registration::Open,
            (None, None, None | Some("disabled")) => Registration::Disabled,
            (None, None, Some(v)) => {
                return Err(ConfigError::Invalid(
                    "REGISTRATION",
                    format!("expected disabled, token or open, got {v:?}"),
                ));
            }
        };
        Ok(mode)
    }
}

/// A configured list: values separated by spaces and/or commas.
fn list(v: &str) -> Vec<&str> {
    v.split([' ', ','])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect()
}

/// What a registered client may be ([`RegistrationPolicy`]): `REGISTRATION_SCOPES`,
/// `REGISTRATION_GRANT_TYPES`, `REGISTRATION_AUTH_METHODS`, `REGISTRATION_REDIRECT_URIS` and
/// `REGISTRATION_TRUSTED`; unset ones keep their defaults.
pub(super) fn policy(v: Vars) -> Result<RegistrationPolicy, ConfigError> {
    let get = |k| v.get(k);
    let mut p = RegistrationPolicy::default();
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn policy(pairs: &[(&str, &str)]) -> Result<RegistrationPolicy, ConfigError> {
        let vars: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        super::policy(Vars(&vars))
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
