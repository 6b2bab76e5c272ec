//! authorization_code (RFC 6749 §4.1.3, OIDC Core §3.1.3.2) in one DynamoDB round trip: the
//! client is authenticated (a read) while the code is redeemed by a conditional write that
//! checks everything the request must match (client, redirect_uri, PKCE, expiry, unused) and
//! returns the code, which carries its user. Then the two signatures run concurrently (with
//! storing a refresh token, if any). Whatever fails after the redemption puts the code back
//! (`restore_code`), so a store or KMS failure never burns a code; a replayed code revokes
//! the grant it created (§4.1.2).
use crate::store::RevocationStore;
use crate::store::{ClientStore, CodeStore, RefreshStore, ReplayStore, UserStore};
use lambda_http::{Body, Request, Response};

use super::mint;
use crate::{
    OAuthError,
    app::SigningApp,
    crypto::random_token,
    endpoints::{client_auth, liveness},
    error::ErrorCode,
    http::Params,
    protocol::pkce,
    secret::{CodeValue, RefreshValue},
    store::{AuthCode, Client, CodeRedemption, Consume, Minted, RefreshToken, User},
};

pub async fn redeem<
    S: ClientStore + CodeStore + RefreshStore + ReplayStore + RevocationStore + UserStore + ?Sized,
>(
    app: &SigningApp<S>,
    req: &Request,
    form: &Params,
    now: i64,
) -> Result<Response<Body>, OAuthError> {
    let client_id = client_auth::presented_client_id(req, form)?;
    let code_value = form
        .get("code")
        .map(CodeValue::from)
        .ok_or_else(|| OAuthError::invalid_request("code is required"))?;
    let verifier = form.get("code_verifier");
    if verifier.is_some_and(|v| !pkce::is_valid_verifier(v)) {
        return Err(OAuthError::invalid_grant("PKCE verification failed"));
    }
    let challenge = verifier.map(pkce::challenge_of);
    let presented = CodeRedemption {
        client_id: &client_id,
        redirect_uri: form.get("redirect_uri").unwrap_or_default(),
        code_challenge: challenge.as_deref(),
    };
    let code_hash = code_value.digest();
    let cfg = &app.config;
    // Decided before the code is read: long enough for whatever the grant may mint.
    let minted = Minted {
        grant_id: random_token(16),
        revoke_until: now + cfg.refresh_token_ttl.max(cfg.access_token_ttl),
    };
    let (client, consumed) = tokio::join!(
        client_auth::authenticate(app, req, form, now),
        app.store.consume_code(&code_hash, &presented, &minted, now)
    );
    let redeemed = matches!(&consumed, Ok(Consume::Consumed(_)));
    let undo = async || {
        if redeemed && let Err(e) = app.store.restore_code(&code_hash, &minted.grant_id).await {
            tracing::error!(error = %e, "could not restore a code after a failed exchange");
        }
    };
    let client = match client {
        Ok(c) if c.allows_grant("authorization_code") => c,
        Ok(_) => {
            undo().await;
            return Err(OAuthError::new(
                ErrorCode::UnauthorizedClient,
                "this client may not use the authorization_code grant",
            ));
        }
        Err(e) => {
            undo().await;
            return Err(e);
        }
    };
    let invalid = || OAuthError::invalid_grant("the code is invalid, expired or already used");
    let code = match consumed? {
        Consume::Consumed(code) => code,
        // RFC 6749 §4.1.2: a replay by the client the code was issued to revokes what it
        // minted. Anyone else holding the code learns nothing and changes nothing: otherwise
        // any client could revoke another client's grant with a leaked, used code.
        Consume::AlreadyConsumed { client_id, minted } => {
            if let (Some(first), true) = (minted, client_id == client.client_id) {
                mint::revoke_grant(
                    app,
                    &first.grant_id,
                    first.revoke_until,
                    "authorization code replayed",
                )
                .await?;
            }
            return Err(invalid());
        }
        Consume::Mismatch(code) => return Err(mismatch(&code, &presented, verifier.is_some())),
        Consume::Missing => return Err(invalid()),
    };
    match issue(app, &client, &code, &minted, now).await {
        Ok(resp) => Ok(resp),
        Err(e) => {
            undo().await;
            Err(e)
        }
    }
}

/// OIDC Core §11: a refresh token (its value, and its record to store) when offline_access
/// was granted to a client allowed to refresh.
fn refresh_token<S: ?Sized>(
    app: &SigningApp<S>,
    client: &Client,
    code: &AuthCode,
    user: &User,
    grant_id: &str,
    now: i64,
) -> Option<(RefreshValue, RefreshToken)> {
    if !(code.scopes.iter().any(|s| s == "offline_access") && client.allows_grant("refresh_token"))
    {
        return None;
    }
    let value = super::refresh::new_value(&user.sub, grant_id);
    let now_ms = app.clock.now_ms();
    let record = RefreshToken {
        token_hash: value.digest(),
        grant_id: grant_id.to_string(),
        client_id: client.client_id.clone(),
        sub: user.sub.clone(),
        scopes: code.scopes.clone(),
        auth_time: code.auth_time,
        issued_at: now,
        expires_at: now + app.config.refresh_token_ttl,
        used_at: None,
        claims: code.claims.clone(),
        issued_at_ms: now_ms,
        sid: code.sid.clone(),
        idp: code.idp.clone(),
        amr: code.amr.clone(),
    };
    Some((value, record))
}

/// Why a live code did not match the request: said as RFC 6749 §5.2 and RFC 7636 §4.6 say.
fn mismatch(code: &AuthCode, presented: &CodeRedemption<'_>, has_verifier: bool) -> OAuthError {
    if code.client_id != presented.client_id {
        return OAuthError::invalid_grant("the code is invalid, expired or already used")
            .with_detail("code issued to another client");
    }
    if code.redirect_uri != presented.redirect_uri {
        return OAuthError::invalid_grant("redirect_uri does not match the authorization request");
    }
    // RFC 9700 §4.8.2: a verifier without a challenge is a downgrade attempt.
    if code.code_challenge.is_none() && has_verifier {
        return OAuthError::invalid_grant(
            "code_verifier sent but the request had no code_challenge",
        );
    }
    OAuthError::invalid_grant("PKCE verification failed")
}

/// Mints the tokens of a redeemed code, storing the refresh token (if any) alongside. The
/// code carries its person as they were at issuance; whether they still are (not deleted,
/// disabled or signed out everywhere since they signed in) is read while the tokens are
/// signed, and the tokens are thrown away if not.
async fn issue<S: RefreshStore + UserStore + ?Sized>(
    app: &SigningApp<S>,
    client: &Client,
    code: &AuthCode,
    minted: &Minted,
    now: i64,
) -> Result<Response<Body>, OAuthError> {
    let gone =
        || OAuthError::invalid_grant("the user is no longer available, or signed out everywhere");
    // Codes issued before codes carried their user are read the old way.
    let fetched: Option<User> = match &code.user {
        Some(_) => None,
        None => Some(app.store.user(&code.sub).await?.ok_or_else(gone)?),
    };
    let user = code
        .user
        .as_ref()
        .or(fetched.as_ref())
        .filter(|u| u.sub == code.sub)
        .ok_or_else(gone)?;
    let refresh = refresh_token(app, client, code, user, &minted.grant_id, now);
    let store_refresh = async {
        match &refresh {
            Some((_, record)) => app
                .store
                .put_refresh(record)
                .await
                .map_err(OAuthError::from),
            None => Ok(()),
        }
    };
    let current = async { app.store.user(&code.sub).await.map_err(OAuthError::from) };
    let request = mint::Request {
        client,
        user: Some(user),
        scopes: &code.scopes,
        grant_id: Some(&minted.grant_id),
        auth_time: code.auth_time,
        nonce: code.nonce.as_deref(),
        claims: &code.claims,
        sid: code.sid.as_deref(),
        idp: code.idp.as_deref(),
        amr: &code.amr,
    };
    let (tokens, (), current) =
        tokio::try_join!(mint::mint(app, &request, now), store_refresh, current)?;
    let issued = liveness::Issued {
        client_id: &client.client_id,
        sub: Some(&code.sub),
        issued_ms: code.signed_in_ms(),
        grant_id: None,
        jti: None,
    };
    if let Err(dead) = liveness::verdict(&issued, Some(client), current.as_ref(), false) {
        return Err(gone().with_detail(dead.as_str()));
    }
    tracing::info!(client_id = %client.client_id, sub = %user.sub, "tokens issued");
    Ok(mint::response(
        app,
        tokens,
        refresh.as_ref().map(|(v, _)| v),
    ))
}
