//! `/consent`: the signed-in person agrees to (or refuses) what the client asked for, and
//! the browser goes back to the client with a code (OIDC Core §3.1.2.4) or an error.
use crate::store::{AuthRequestStore, ClientStore, SessionStore, UserStore};
use lambda_http::{Body, Request, Response, http::Method};

use super::{Endpoint, SESSION_COOKIE, already_completed, load, next_page, params_of};
use crate::{
    App, OAuthError,
    crypto::secret_digest,
    endpoints::{authz_response, forms},
    error::ErrorCode,
    http,
    pages::PageOrError,
    protocol::{acr, release},
    store::{AuthRequest, Client, RequestedClaims, User},
};

pub async fn handle_consent<
    S: AuthRequestStore + ClientStore + SessionStore + UserStore + ?Sized,
>(
    app: &App<S>,
    req: &Request,
    now: i64,
) -> Response<Body> {
    consent(app, req, now)
        .await
        .or_error_page(&app.config.branding)
}

async fn consent<S: AuthRequestStore + ClientStore + SessionStore + UserStore + ?Sized>(
    app: &App<S>,
    req: &Request,
    now: i64,
) -> Result<Response<Body>, OAuthError> {
    let params = params_of(req, "The consent form was not sent as a form.")?;
    let post = req.method() == Method::POST;
    // Consent needs the person who signed in for this request, still signed in here. The
    // request (which carries the client and the person as they were) and the session are
    // independent reads: one round trip.
    let secure = app.config.secure_cookies();
    let session_read = async {
        match http::cookie(req, &http::cookie_name(SESSION_COOKIE, secure)) {
            Some(id) => app.store.session(&secret_digest(&id), now).await,
            None => Ok(None),
        }
    };
    let (auth, session) = tokio::join!(load(app, req, &params, now, post), session_read);
    let (auth, session) = (auth?, session?);
    // The account page's own sign-in has nothing to agree to and no client to answer.
    if auth.for_account() {
        return Ok(http::redirect(&app.config.endpoint_url(Endpoint::Account)));
    }
    let Some(sub) = auth
        .sub
        .clone()
        .filter(|sub| session.is_some_and(|s| s.sub == *sub))
    else {
        return Ok(next_page(&app.config, Endpoint::Login, &auth.id));
    };
    if auth.required_sub.as_ref().is_some_and(|r| *r != sub) {
        return Err(OAuthError::new(
            ErrorCode::LoginRequired,
            "The application asked for another account than the one you signed in with.",
        ));
    }
    let (client, user) = parties(app, &auth, &sub).await?;
    if !user.accepts(auth.signed_in_ms()) {
        // Signed in before the user's sessions were ended (a password change): again.
        return Ok(next_page(&app.config, Endpoint::Login, &auth.id));
    }
    // Signed in below the request's level (a password where a second factor or a passkey is
    // needed): a page the person can get past (sign in another way, add a passkey or an
    // authenticator app on the account page) rather than an error; "Cancel" gives up, and
    // only then is the client told (`authz_response::unmet`).
    if !acr::meets(auth.min_level, &auth.amr) {
        if post {
            return retire(app, &auth, authz_response::unmet(&auth)).await;
        }
        return Ok(forms::step_up(app, &auth, &client.client_name));
    }
    // A first-party client's users are not asked (unless the client asks: prompt=consent).
    let implied = client.implies_consent() && !auth.prompt.iter().any(|p| p == "consent");
    let grant = release::grant(&client, &user, &auth.scopes, &auth.claims);
    if !post && !implied {
        return Ok(forms::consent(app, &auth, &client, &user, &grant));
    }
    if !implied && params.get("decision") != Some("allow") {
        let denied = OAuthError::new(ErrorCode::AccessDenied, "the user denied the request");
        return retire(app, &auth, denied).await;
    }
    agreed(app, &auth, &client, &user, &grant, now).await
}

/// The person said no (or gave up): the request is retired and the client told `e` (RFC
/// 6749 §4.1.2.1).
async fn retire<S: AuthRequestStore + ?Sized>(
    app: &App<S>,
    auth: &AuthRequest,
    e: OAuthError,
) -> Result<Response<Body>, OAuthError> {
    if !app.store.delete_auth_request(&auth.id).await? {
        return Err(already_completed());
    }
    let state = auth.state.as_deref();
    Ok(authz_response::error(
        app,
        &e,
        &auth.redirect_uri,
        auth.response_mode,
        state,
    ))
}

/// The person agreed (or was not asked): one atomic write retires the request (of
/// concurrent submissions, only one delivers a code), stores its code, and widens the
/// consent by what was just agreed to, so the next request from this client needs no page.
/// A failure writes nothing and the form can be sent again.
async fn agreed<S: AuthRequestStore + ?Sized>(
    app: &App<S>,
    auth: &AuthRequest,
    client: &Client,
    user: &User,
    grant: &RequestedClaims,
    now: i64,
) -> Result<Response<Body>, OAuthError> {
    let (code, record) = authz_response::new_code(app, auth, client, user, now)?;
    let agreed =
        release::consentable(&auth.scopes, grant).as_consent(&user.sub, &client.client_id, now);
    if !app
        .store
        .complete_auth_request(&auth.id, &record, Some(&agreed))
        .await?
    {
        return Err(already_completed());
    }
    Ok(authz_response::deliver_code(app, auth, &code))
}

/// The client and the person of a signed-in request: the snapshots it carries, or (for a
/// request begun before requests carried them) read now, in one round trip.
async fn parties<S: ClientStore + UserStore + ?Sized>(
    app: &App<S>,
    auth: &AuthRequest,
    sub: &str,
) -> Result<(Client, User), OAuthError> {
    if let (Some(c), Some(u)) = (&auth.client, &auth.user)
        && u.sub == sub
    {
        return Ok((c.clone(), u.clone()));
    }
    let (user, client) = tokio::join!(app.store.user(sub), app.client(&auth.client_id));
    let user = user?.filter(|u| !u.disabled).ok_or_else(|| {
        OAuthError::new(
            ErrorCode::AccessDenied,
            "This account is no longer available.",
        )
    })?;
    let client = client?.ok_or_else(|| {
        OAuthError::new(
            ErrorCode::AccessDenied,
            "This application is no longer registered.",
        )
    })?;
    Ok((client, user))
}
