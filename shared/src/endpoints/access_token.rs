//! Our own access tokens (RFC 9068 §4), for userinfo, introspection and revocation: the
//! signature by a published key, `typ: at+jwt`, issuer, audience and expiry ([`validate`]),
//! then whether it is still alive ([`alive`]: the one rule of `liveness`).
use crate::store::{ClientStore, RevocationStore, UserStore};
use serde_json::Value;

use super::liveness::{self, Alive, Dead, Issued};
use crate::{App, OAuthError, jwt};

fn invalid(why: &str) -> OAuthError {
    OAuthError::invalid_token("the access token is invalid or expired").with_detail(why.to_string())
}

/// The claims of a well-formed, unexpired access token of ours, without any store read.
pub async fn validate<S: ?Sized>(app: &App<S>, token: &str, now: i64) -> Result<Value, OAuthError> {
    let keys = app.keys.public_keys().await?;
    let (header, c) = jwt::verify(&keys, token).map_err(invalid)?;
    if header["typ"]
        .as_str()
        .is_none_or(|t| !t.eq_ignore_ascii_case("at+jwt"))
    {
        return Err(invalid("not an access token (typ)"));
    }
    if c["iss"].as_str() != Some(app.config.issuer.as_str()) {
        return Err(invalid("wrong issuer"));
    }
    let aud = app.config.access_token_audience.as_str();
    let aud_ok = match &c["aud"] {
        Value::String(a) => a == aud,
        Value::Array(v) => v.iter().any(|a| a.as_str() == Some(aud)),
        _ => false,
    };
    if !aud_ok {
        return Err(invalid("wrong audience"));
    }
    if c["exp"].as_i64().is_none_or(|exp| exp <= now) {
        return Err(invalid("expired"));
    }
    if c["jti"].as_str().is_none() || c["client_id"].as_str().is_none() {
        return Err(invalid("no jti or client_id"));
    }
    Ok(c)
}

/// What a validated access token says about where it came from. A person's token belongs to
/// a grant (`gid`) and says when it was issued to the millisecond (`iat_ms`); a client's own
/// (client_credentials) has neither. Without `iat_ms`, `iat`'s whole second counts: issued
/// in the second a person's sessions ended counts as issued before it.
pub fn issued(c: &Value) -> Issued<'_> {
    let grant_id = c["gid"].as_str();
    let iat_ms = c["iat"].as_i64().unwrap_or(0).saturating_mul(1000);
    Issued {
        client_id: c["client_id"].as_str().unwrap_or_default(),
        sub: grant_id.and(c["sub"].as_str()),
        issued_ms: c["iat_ms"].as_i64().unwrap_or(iat_ms),
        grant_id,
        jti: c["jti"].as_str(),
    }
}

/// Whether the validated access token `c` is alive: `Err(Dead)` is an inactive token.
pub async fn alive<S: ClientStore + RevocationStore + UserStore + ?Sized>(
    app: &App<S>,
    c: &Value,
    now: i64,
) -> Result<Result<Alive, Dead>, OAuthError> {
    liveness::check(app, &issued(c), now).await
}
