//! The sign-in and consent pages and their form posts. Each step re-reads the pending
//! authorization request, checks it belongs to this browser and that the form carries its
//! CSRF token, and moves it one step on.
use lambda_http::{Body, Request, Response, http::Method};

use super::{
    Endpoint,
    authorize::{BROWSER_COOKIE, SESSION_COOKIE},
    authz_response,
};
use crate::{
    App, OAuthError,
    crypto::{constant_time_eq, random_token, secret_digest},
    error::ErrorCode,
    http::{self, Params},
    pages::{self, ConsentView, LoginView},
    password,
    store::{AuthRequest, Consent, Session},
};

const WRONG_CREDENTIALS: &str = "Wrong username or password. Check both and try again.";

fn page_error(app: &App, code: ErrorCode, msg: &'static str) -> Response<Body> {
    OAuthError::new(code, msg).to_error_page(&app.config.branding)
}

/// The request named by `req`, if it exists, has not expired and was started by this
/// browser; for posts, the form's CSRF token must match too.
async fn load(
    app: &App,
    req: &Request,
    params: &Params,
    now: i64,
    check_csrf: bool,
) -> Result<AuthRequest, Response<Body>> {
    let expired = || {
        page_error(
            app,
            ErrorCode::InvalidRequest,
            "This sign-in request has expired or was already used.",
        )
    };
    let id = params.get("req").ok_or_else(expired)?;
    let auth = app
        .store
        .auth_request(id, now)
        .await
        .map_err(|e| OAuthError::from(e).to_error_page(&app.config.branding))?
        .ok_or_else(expired)?;
    let browser = http::cookie(
        req,
        &http::cookie_name(BROWSER_COOKIE, app.config.secure_cookies()),
    );
    let forged = || {
        page_error(
            app,
            ErrorCode::AccessDenied,
            "This form was not sent from the browser that started signing in.",
        )
    };
    if !browser.is_some_and(|b| constant_time_eq(b.as_bytes(), auth.browser_id.as_bytes())) {
        return Err(forged());
    }
    if check_csrf
        && !params
            .get("csrf")
            .is_some_and(|c| constant_time_eq(c.as_bytes(), auth.csrf.as_bytes()))
    {
        return Err(forged());
    }
    Ok(auth)
}

fn params_of(req: &Request) -> Option<Params> {
    if req.method() == Method::POST {
        http::form(req)
    } else {
        Some(http::query(req))
    }
}

async fn client_name(app: &App, client_id: &str) -> String {
    match app.store.client(client_id).await {
        Ok(Some(c)) => c.client_name,
        _ => client_id.to_string(),
    }
}

pub async fn handle_login(app: &App, req: &Request, now: i64) -> Response<Body> {
    let Some(params) = params_of(req) else {
        return page_error(
            app,
            ErrorCode::InvalidRequest,
            "The sign-in form was not sent as a form.",
        );
    };
    let post = req.method() == Method::POST;
    let auth = match load(app, req, &params, now, post).await {
        Ok(a) => a,
        Err(resp) => return resp,
    };
    let action = app.config.endpoint_url(Endpoint::Login);
    let name = client_name(app, &auth.client_id).await;
    let form = |username: &str, error: Option<&str>| {
        pages::login_page(
            &app.config.branding,
            LoginView {
                client_name: &name,
                action: &action,
                req_id: &auth.id,
                csrf: &auth.csrf,
                username,
                error,
            },
        )
    };
    if !post {
        return form(auth.login_hint.as_deref().unwrap_or(""), None);
    }

    let username = params.get("username").unwrap_or("").trim();
    let pw = params.get("password").unwrap_or("");
    let user = match app.store.user_by_username(username).await {
        Ok(u) => u.filter(|_| !username.is_empty()),
        Err(e) => return OAuthError::from(e).to_error_page(&app.config.branding),
    };
    // argon2 runs whether or not the user exists: same answer, same time.
    let ok = password::verify_password(pw, user.as_ref().map(|u| u.password_hash.as_str()));
    let Some(user) = user.filter(|u| ok && !u.disabled) else {
        tracing::info!(client_id = %auth.client_id, "sign-in failed");
        return form(username, Some(WRONG_CREDENTIALS));
    };

    let session_id = random_token(32);
    let session = Session {
        id_hash: secret_digest(&session_id),
        sub: user.sub.clone(),
        auth_time: now,
        expires_at: now + app.config.session_ttl,
    };
    let signed_in = AuthRequest {
        sub: Some(user.sub.clone()),
        auth_time: Some(now),
        ..auth
    };
    let stored = async {
        app.store.put_session(&session).await?;
        app.store.put_auth_request(&signed_in).await
    };
    if let Err(e) = stored.await {
        return OAuthError::from(e).to_error_page(&app.config.branding);
    }
    tracing::info!(sub = %user.sub, client_id = %signed_in.client_id, "signed in");
    let secure = app.config.secure_cookies();
    let mut resp = http::redirect_with_query(
        &app.config.endpoint_url(Endpoint::Consent),
        &[("req", &signed_in.id)],
    );
    let cookie = http::set_cookie(
        &http::cookie_name(SESSION_COOKIE, secure),
        &session_id,
        app.config.session_ttl,
        secure,
    );
    http::append_header(&mut resp, "set-cookie", &cookie);
    resp
}

pub async fn handle_consent(app: &App, req: &Request, now: i64) -> Response<Body> {
    let Some(params) = params_of(req) else {
        return page_error(
            app,
            ErrorCode::InvalidRequest,
            "The consent form was not sent as a form.",
        );
    };
    let post = req.method() == Method::POST;
    let auth = match load(app, req, &params, now, post).await {
        Ok(a) => a,
        Err(resp) => return resp,
    };
    // Consent needs the person who signed in for this request, still signed in here.
    let secure = app.config.secure_cookies();
    let session = match http::cookie(req, &http::cookie_name(SESSION_COOKIE, secure)) {
        Some(id) => match app.store.session(&secret_digest(&id), now).await {
            Ok(s) => s,
            Err(e) => return OAuthError::from(e).to_error_page(&app.config.branding),
        },
        None => None,
    };
    let (Some(sub), Some(auth_time)) = (auth.sub.clone(), auth.auth_time) else {
        return http::redirect_with_query(
            &app.config.endpoint_url(Endpoint::Login),
            &[("req", &auth.id)],
        );
    };
    if session.is_none_or(|s| s.sub != sub) {
        return http::redirect_with_query(
            &app.config.endpoint_url(Endpoint::Login),
            &[("req", &auth.id)],
        );
    }
    let user = match app.store.user(&sub).await {
        Ok(Some(u)) if u.accepts_since(auth_time) => u,
        // Signed in before the user's sessions were ended (a password change): again.
        Ok(Some(u)) if !u.disabled => {
            return http::redirect_with_query(
                &app.config.endpoint_url(Endpoint::Login),
                &[("req", &auth.id)],
            );
        }
        Ok(_) => {
            return page_error(
                app,
                ErrorCode::AccessDenied,
                "This account is no longer available.",
            );
        }
        Err(e) => return OAuthError::from(e).to_error_page(&app.config.branding),
    };

    let client = match app.store.client(&auth.client_id).await {
        Ok(Some(c)) => c,
        Ok(None) => {
            return page_error(
                app,
                ErrorCode::AccessDenied,
                "This application is no longer registered.",
            );
        }
        Err(e) => return OAuthError::from(e).to_error_page(&app.config.branding),
    };
    // A first-party client's users are not asked (unless the client asks: prompt=consent).
    let implied = client.skip_consent && !auth.prompt.iter().any(|p| p == "consent");
    if !post && !implied {
        let action = app.config.endpoint_url(Endpoint::Consent);
        return pages::consent_page(
            &app.config.branding,
            ConsentView {
                client_name: &client.client_name,
                client_logo: client.logo_uri.as_deref(),
                username: &user.username,
                action: &action,
                req_id: &auth.id,
                csrf: &auth.csrf,
                scopes: &auth.scopes,
                claims: {
                    let mut c: Vec<String> = auth
                        .claims
                        .id_token
                        .iter()
                        .chain(&auth.claims.userinfo)
                        .cloned()
                        .collect();
                    c.sort();
                    c.dedup();
                    c
                },
            },
        );
    }

    let state = auth.state.as_deref();
    if !implied && params.get("decision") != Some("allow") {
        if let Err(e) = app.store.delete_auth_request(&auth.id).await {
            return OAuthError::from(e).to_error_page(&app.config.branding);
        }
        let denied = OAuthError::new(ErrorCode::AccessDenied, "the user denied the request");
        return authz_response::error(app, &denied, &auth.redirect_uri, auth.response_mode, state);
    }

    // Consent is remembered (widened to the union of scopes) so the next request from this
    // client needs no page. The code is stored before the request is retired: a failure in
    // between leaves an undelivered code that expires unused, and the form can be resent.
    let scopes = match app.store.consent(&sub, &auth.client_id).await {
        Ok(Some(c)) => c
            .scopes
            .into_iter()
            .chain(auth.scopes.iter().cloned())
            .fold(Vec::new(), |mut acc, s| {
                if !acc.contains(&s) {
                    acc.push(s);
                }
                acc
            }),
        Ok(None) => auth.scopes.clone(),
        Err(e) => return OAuthError::from(e).to_error_page(&app.config.branding),
    };
    let consent = Consent {
        sub: sub.clone(),
        client_id: auth.client_id.clone(),
        scopes,
        granted_at: now,
    };
    let issued = async {
        app.store.put_consent(&consent).await?;
        let resp = authz_response::issue_code(app, &auth, &sub, auth_time, now).await?;
        app.store.delete_auth_request(&auth.id).await?;
        Ok::<_, OAuthError>(resp)
    };
    match issued.await {
        Ok(resp) => resp,
        Err(e) => e.to_error_page(&app.config.branding),
    }
}
