//! refresh_token (RFC 6749 §6, OIDC Core §12): rotation on every use (RFC 9700 §4.14.2).
//! Presenting a used token, or losing a race to rotate it, revokes the whole grant: with
//! strict rotation a concurrent second use is indistinguishable from theft.
use crate::store::{ClientStore, RefreshStore, ReplayStore, RevocationStore, UserStore};
use lambda_http::{Body, Request, Response};

use super::mint;
use crate::{
    OAuthError,
    app::SigningApp,
    crypto::{b64url, b64url_decode, random_token},
    endpoints::{client_auth, liveness},
    error::ErrorCode,
    http::Params,
    protocol::scope,
    secret::RefreshValue,
    store::{RefreshToken, Rotate},
};

fn invalid() -> OAuthError {
    OAuthError::invalid_grant("the refresh token is invalid, expired or revoked")
}

pub async fn exchange<
    S: ClientStore + RefreshStore + ReplayStore + RevocationStore + UserStore + ?Sized,
>(
    app: &SigningApp<S>,
    req: &Request,
    form: &Params,
    now: i64,
) -> Result<Response<Body>, OAuthError> {
    let value = form
        .get("refresh_token")
        .map(RefreshValue::from)
        .ok_or_else(|| OAuthError::invalid_request("refresh_token is required"))?;
    let hash = value.digest();
    // Independent reads, one round trip: the client, its token, and (where the token says
    // whose grant it is) the person and the grant's revocation.
    let hint = hints(&value);
    let (client, old, hinted) = tokio::join!(
        client_auth::authenticate(app, req, form, now),
        app.store.refresh(&hash, now),
        async {
            match hint {
                Some((sub, gid)) => {
                    tokio::try_join!(app.store.user(&sub), app.store.is_revoked(gid, now))
                        .map(|read| Some((sub, gid, read)))
                }
                None => Ok(None),
            }
        }
    );
    let client = client?;
    if !client.allows_grant("refresh_token") {
        return Err(OAuthError::new(
            ErrorCode::UnauthorizedClient,
            "this client may not use the refresh_token grant",
        ));
    }
    let client = &client;
    let old = old?.ok_or_else(invalid)?;
    if old.client_id != client.client_id {
        return Err(invalid().with_detail("refresh token of another client"));
    }
    if old.used_at.is_some() {
        mint::revoke_grant(app, &old.grant_id, old.expires_at, "refresh token reused").await?;
        return Err(invalid());
    }
    let scopes = narrowed(form, &old)?;
    // The hints only said where to look: the stored record decides whose grant it is.
    let (user, revoked) = match hinted? {
        Some((sub, gid, read)) if sub == old.sub && gid == old.grant_id => read,
        _ => tokio::try_join!(
            app.store.user(&old.sub),
            app.store.is_revoked(&old.grant_id, now)
        )?,
    };
    let issued = liveness::Issued::refresh(&old);
    let user = match (
        liveness::verdict(&issued, Some(client), user.as_ref(), revoked),
        user,
    ) {
        (Ok(()), Some(user)) => user,
        (Err(dead), _) => return Err(invalid().with_detail(dead.as_str())),
        (Ok(()), None) => return Err(invalid()),
    };
    let tokens = mint::mint(
        app,
        &mint::Request {
            client,
            user: Some(&user),
            scopes: &scopes,
            grant_id: Some(&old.grant_id),
            auth_time: old.auth_time,
            nonce: None,
            claims: &old.claims,
            sid: old.sid.as_deref(),
            idp: old.idp.as_deref(),
            amr: &old.amr,
        },
        now,
    )
    .await?;
    rotate(app, &hash, &old, tokens, now).await
}

/// Strict rotation (RFC 9700 §4.14.2): a new token replaces the presented one in one
/// conditional write; if another use rotated it first, the whole grant is revoked.
async fn rotate<S: RefreshStore + RevocationStore + ?Sized>(
    app: &SigningApp<S>,
    hash: &str,
    old: &RefreshToken,
    tokens: mint::Tokens,
    now: i64,
) -> Result<Response<Body>, OAuthError> {
    let next_value = new_value(&old.sub, &old.grant_id);
    let next = RefreshToken {
        token_hash: next_value.digest(),
        issued_at: now,
        issued_at_ms: app.clock.now_ms(),
        used_at: None,
        ..old.clone()
    };
    match app.store.rotate_refresh(hash, &next, now).await? {
        Rotate::Rotated => Ok(mint::response(app, tokens, Some(&next_value))),
        Rotate::AlreadyUsed(used) => {
            mint::revoke_grant(
                app,
                &used.grant_id,
                used.expires_at,
                "refresh token rotated concurrently",
            )
            .await?;
            Err(invalid())
        }
        Rotate::Missing => Err(invalid()),
    }
}

/// RFC 6749 §6: the scope may only narrow; without `scope`, all that was granted.
fn narrowed(form: &Params, old: &RefreshToken) -> Result<Vec<String>, OAuthError> {
    let Some(s) = form.get("scope") else {
        return Ok(old.scopes.clone());
    };
    let asked = scope::parse(s);
    if asked.iter().any(|s| !old.scopes.contains(s)) {
        return Err(OAuthError::new(
            ErrorCode::InvalidScope,
            "scope exceeds what was granted",
        ));
    }
    Ok(asked)
}

/// A new refresh token of `sub`'s grant `grant_id`: 32 random bytes, and where to find the
/// grant's person and revocation (`<random>~<base64url(sub)>~<grant id>`), so that one round
/// trip reads them with the token. The holder is the client, which knows both anyway. (`~`,
/// not `.`: a refresh token must never look like a JWS to the endpoints that take both.)
pub fn new_value(sub: &str, grant_id: &str) -> RefreshValue {
    RefreshValue::new(format!(
        "{}~{}~{grant_id}",
        random_token(32),
        b64url(sub.as_bytes())
    ))
}

/// The person and grant a refresh token says it belongs to (None for older tokens).
fn hints(value: &RefreshValue) -> Option<(String, &str)> {
    let mut parts = value.expose().split('~');
    let (Some(_), Some(sub), Some(gid), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return None;
    };
    let sub = String::from_utf8(b64url_decode(sub)?).ok()?;
    (!sub.is_empty() && !gid.is_empty()).then_some((sub, gid))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hints_round_trip_and_never_trust_garbage() {
        let v = new_value("s-1", "g-2");
        assert_eq!(hints(&v), Some(("s-1".to_string(), "g-2")));
        let hints_of = |s: &str| hints(&RefreshValue::new(s)).map(|(sub, _)| sub);
        assert_eq!(hints_of("opaque-older-token"), None);
        assert_eq!(hints_of("a~!!~g"), None);
        assert_eq!(hints_of("a~b~c~d"), None);
        assert_eq!(
            v.expose().matches('.').count(),
            0,
            "never mistaken for a JWS"
        );
    }
}
