//! Validating our own access tokens (RFC 9068 §4), for userinfo and introspection: signature
//! by a published key, `typ: at+jwt`, issuer, audience, expiry, and no revocation of the
//! token (`jti`) or of its grant (`gid`).
use serde_json::Value;

use crate::{App, OAuthError, jwt};

pub async fn validate(app: &App, token: &str, now: i64) -> Result<Value, OAuthError> {
    let keys = app.signer.public_keys().await?;
    let bad = |why: &str| {
        OAuthError::invalid_token("the access token is invalid or expired")
            .with_detail(why.to_string())
    };
    let (header, c) = jwt::verify(&keys, token).map_err(bad)?;
    if header["typ"]
        .as_str()
        .is_none_or(|t| !t.eq_ignore_ascii_case("at+jwt"))
    {
        return Err(bad("not an access token (typ)"));
    }
    if c["iss"].as_str() != Some(app.config.issuer.as_str()) {
        return Err(bad("wrong issuer"));
    }
    let aud = app.config.access_token_audience.as_str();
    let aud_ok = match &c["aud"] {
        Value::String(a) => a == aud,
        Value::Array(v) => v.iter().any(|a| a.as_str() == Some(aud)),
        _ => false,
    };
    if !aud_ok {
        return Err(bad("wrong audience"));
    }
    if c["exp"].as_i64().is_none_or(|exp| exp <= now) {
        return Err(bad("expired"));
    }
    let jti = c["jti"].as_str().ok_or_else(|| bad("no jti"))?;
    let (token_revoked, grant_revoked) = tokio::try_join!(app.store.is_revoked(jti, now), async {
        match c["gid"].as_str() {
            Some(gid) => app.store.is_revoked(gid, now).await,
            None => Ok(false),
        }
    })?;
    if token_revoked || grant_revoked {
        return Err(bad("revoked"));
    }
    Ok(c)
}
