//! `id_token_hint` (OIDC Core §3.1.2.1, RP-Initiated Logout 1.0 §2): an ID token this
//! provider issued, verified with its published keys. Expired ones count (a hint names a
//! past sign-in); an access token (`typ: at+jwt`, RFC 9068 §2.1) is not an ID token.
use serde_json::Value;

use crate::{App, OAuthError};

/// What a verified hint says.
#[derive(Debug, Clone, PartialEq)]
pub struct Hint {
    pub sub: String,
    /// The client it was issued to (`aud`).
    pub client_id: String,
    /// The session it came from, for ID tokens that carry one.
    pub sid: Option<String>,
}

pub async fn verify<S: ?Sized>(app: &App<S>, token: &str) -> Result<Hint, OAuthError> {
    let bad =
        || OAuthError::invalid_request("id_token_hint is not an ID token issued by this provider");
    let (header, c) = app
        .keys
        .verify(token)
        .await
        .map_err(|e| OAuthError::unverified(e, |_| bad()))?;
    let typ = header["typ"].as_str().unwrap_or("JWT").to_ascii_lowercase();
    // Our access tokens say `at+jwt` and carry `client_id`; an ID token does neither.
    let access_token = typ.ends_with("at+jwt") || c.get("client_id").is_some();
    if access_token || c["iss"].as_str() != Some(app.config.issuer.as_str()) {
        return Err(bad());
    }
    let client_id = match &c["aud"] {
        Value::String(a) => a.clone(),
        Value::Array(v) if v.len() == 1 => v[0].as_str().ok_or_else(bad)?.to_string(),
        _ => return Err(bad()),
    };
    Ok(Hint {
        sub: c["sub"].as_str().ok_or_else(bad)?.to_string(),
        client_id,
        sid: c["sid"].as_str().map(str::to_string),
    })
}
