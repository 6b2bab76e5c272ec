//! Who may register clients: `REGISTRATION`, `REGISTRATION_INITIAL_ACCESS_TOKEN[_SHA256]`.
//! (What a registered client may be is [`crate::protocol::registration_policy`].)
use super::{ConfigError, vars::Vars};

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
