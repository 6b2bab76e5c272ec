//! `/authorize` (RFC 6749 §4.1.1, OIDC Core §3.1.2): verify client and redirect_uri (an
//! error page otherwise: never redirect to an unverified URI), validate the rest (errors go
//! back to the client with `state` and `iss`; for a client the provider does not trust, only
//! once the browser has a signed-in session), then either answer at once from the
//! browser's session and standing consent (single sign-on), or remember the request and
//! show the first page the person needs: the sign-in form, or the consent page.
use lambda_http::{Body, Request, Response, http::Method};

use super::{authz_response, forms, id_token_hint};
use crate::{
    App, OAuthError,
    crypto::{random_token, secret_digest},
    error::{ErrorCode, PageOrError},
    http::{self, Params},
    protocol::{authorize_request, redirect_uri, release},
    store::{AuthRequest, ResponseMode, Session, User},
};

pub const BROWSER_COOKIE: &str = "oidc_browser";
pub const SESSION_COOKIE: &str = "oidc_session";

pub async fn handle(app: &App, req: &Request, now: i64) -> Response<Body> {
    authorize(app, req, now)
        .await
        .or_error_page(&app.config.branding)
}

/// The answer to the request, or the error to show on a page rather than send back.
async fn authorize(app: &App, req: &Request, now: i64) -> Result<Response<Body>, OAuthError> {
    let params = if req.method() == Method::POST {
        http::form(req).ok_or_else(|| {
            OAuthError::invalid_request("the authorization request must be a form post")
        })?
    } else {
        http::query(req)
    };
    let send_back = |e: &OAuthError, uri: &str| {
        let mode = ResponseMode::parse(params.get("response_mode")).unwrap_or_default();
        authz_response::error(app, e, uri, mode, params.get("state"))
    };
    match handle_params(app, req, &params, now).await {
        Ok(resp) => Ok(resp),
        Err(Failure::Page(e)) => Err(e),
        Err(Failure::Redirect(e, uri)) => Ok(send_back(&e, &uri)),
        // RFC 9700 §4.11.2: the provider authenticates the person before it sends them to a
        // redirect URI it does not trust, so it never bounces a stranger's visitors onward.
        Err(Failure::Untrusted(e, uri, client_name)) => match signed_in(app, req, now).await? {
            true => Ok(send_back(&e, &uri)),
            false => Err(OAuthError::new(
                e.code,
                format!(
                    "The application “{client_name}” sent a request that cannot be completed: {}.",
                    e.description
                ),
            )),
        },
    }
}

enum Failure {
    Page(OAuthError),
    Redirect(OAuthError, String),
    /// An error for a client that is not trusted: redirected only for a signed-in browser.
    Untrusted(OAuthError, String, String),
}

/// Whether the browser has a signed-in session whose user still accepts it.
async fn signed_in(app: &App, req: &Request, now: i64) -> Result<bool, OAuthError> {
    let Some(s) = browser_session(app, req, now).await? else {
        return Ok(false);
    };
    let user = app.store.user(&s.sub).await?;
    Ok(user.is_some_and(|u| u.accepts(s.signed_in_ms())))
}

/// The session named by the browser's cookie, if it is still valid.
pub async fn browser_session(
    app: &App,
    req: &Request,
    now: i64,
) -> Result<Option<Session>, OAuthError> {
    match http::cookie(
        req,
        &http::cookie_name(SESSION_COOKIE, app.config.secure_cookies()),
    ) {
        Some(id) => Ok(app.store.session(&secret_digest(&id), now).await?),
        None => Ok(None),
    }
}

/// The only person the request may be answered for: the `id_token_hint`'s subject and a
/// `sub` asked for with a value must agree (Core §3.1.2.1, §5.5.1).
async fn required_sub(
    app: &App,
    params: &Params,
    claimed: Option<&str>,
) -> Result<Option<String>, OAuthError> {
    let hinted = match params.get("id_token_hint") {
        Some(h) => Some(id_token_hint::verify(app, h).await?.sub),
        None => None,
    };
    match (hinted, claimed) {
        (Some(h), Some(c)) if h != c => Err(OAuthError::invalid_request(
            "id_token_hint and the claims parameter name different people",
        )),
        (h, c) => Ok(h.or_else(|| c.map(str::to_string))),
    }
}

async fn handle_params(
    app: &App,
    req: &Request,
    params: &Params,
    now: i64,
) -> Result<Response<Body>, Failure> {
    use Failure::Page;
    if let Some(dup @ ("client_id" | "redirect_uri")) = params.duplicated() {
        return Err(Page(OAuthError::invalid_request(format!(
            "the request has more than one {dup}"
        ))));
    }
    let client_id = params.get("client_id").ok_or_else(|| {
        Page(OAuthError::invalid_request(
            "the request does not say which application it is for (client_id is missing)",
        ))
    })?;
    let client = app
        .client(client_id)
        .await
        .map_err(|e| Page(e.into()))?
        .ok_or_else(|| Page(OAuthError::invalid_request("the application that sent you here is not registered with this provider (unknown client_id)")))?;
    let redirect_to = params.get("redirect_uri").ok_or_else(|| {
        Page(OAuthError::invalid_request(
            "the request has no redirect_uri",
        ))
    })?;
    if !redirect_uri::is_registered(redirect_to, &client.redirect_uris) {
        return Err(Page(OAuthError::invalid_request(
            "the application asked to send you to an address it has not registered (redirect_uri mismatch)",
        )));
    }
    // A record stored before URIs were validated is never followed.
    if !redirect_uri::is_safe_target(redirect_to) {
        return Err(Page(OAuthError::invalid_request(
            "the application's registered redirect_uri is not a valid address",
        )));
    }
    // A state too long to send back is refused here, never echoed into a Location header.
    if params
        .get("state")
        .is_some_and(|s| s.len() > authorize_request::MAX_PARAM)
    {
        return Err(Page(OAuthError::invalid_request("state is too long")));
    }
    let trusted = client.is_trusted();
    let redirect = |e: OAuthError| {
        use ErrorCode::*;
        // OIDC Core §3.1.2.6: a silent request always gets its answer back; a failure of
        // ours is a retryable page.
        match e.code {
            _ if trusted => Failure::Redirect(e, redirect_to.to_string()),
            LoginRequired | ConsentRequired | InteractionRequired => {
                Failure::Redirect(e, redirect_to.to_string())
            }
            TemporarilyUnavailable | ServerError => Failure::Page(e),
            _ => Failure::Untrusted(e, redirect_to.to_string(), client.client_name.clone()),
        }
    };
    let v = authorize_request::validate(params, &client).map_err(redirect)?;

    let required = required_sub(app, params, v.required_sub.as_deref())
        .await
        .map_err(redirect)?;
    // A session is reusable unless the client demands a fresh login (prompt=login, or a
    // max_age it has outlived) or expects another person (Core §3.1.2.1: then the person
    // signs in as that one, or prompt=none gets login_required).
    let session = browser_session(app, req, now)
        .await
        .map_err(redirect)?
        .filter(|_| !v.prompts("login"))
        .filter(|s| v.max_age.is_none_or(|m| now - s.auth_time <= m))
        .filter(|s| required.as_ref().is_none_or(|r| *r == s.sub));
    // A session ends with its user: deleted, disabled, or signed in before its sessions were
    // ended (a password change, a sign-out everywhere). The user and the standing consent
    // are independent reads: one round trip.
    let ask_consent = v.prompts("consent");
    let implied = client.implies_consent() && !ask_consent;
    let mut session_user = None;
    let (session, consented) = match session {
        Some(s) => {
            let consent = async {
                if ask_consent || implied {
                    Ok(None)
                } else {
                    app.store.consent(&s.sub, &client.client_id).await
                }
            };
            let (user, consent) = tokio::try_join!(app.store.user(&s.sub), consent)
                .map_err(|e| redirect(e.into()))?;
            if let Some(u) = user.filter(|u| u.accepts(s.signed_in_ms())) {
                let grant = release::grant(&client, &u, &v.scopes, &v.claims);
                let asked = release::consentable(&v.scopes, &grant);
                let consented =
                    implied || (!ask_consent && consent.is_some_and(|c| asked.covered_by(&c)));
                session_user = Some(u);
                (Some(s), consented)
            } else {
                (None, false)
            }
        }
        None => (None, false),
    };

    let secure = app.config.secure_cookies();
    let browser_cookie = http::cookie_name(BROWSER_COOKIE, secure);
    let existing_browser = http::cookie(req, &browser_cookie).filter(|b| b.len() == 43);
    let auth = AuthRequest {
        id: random_token(24),
        client_id: client.client_id.clone(),
        redirect_uri: redirect_to.to_string(),
        scopes: v.scopes.clone(),
        state: params.get("state").map(str::to_string),
        nonce: v.nonce.clone(),
        code_challenge: v.code_challenge.clone(),
        response_mode: v.response_mode,
        prompt: v.prompt.clone(),
        max_age: v.max_age,
        login_hint: v.login_hint.clone(),
        claims: v.claims.clone(),
        browser_id: existing_browser.clone().unwrap_or_else(|| random_token(32)),
        csrf: random_token(24),
        sub: session.as_ref().map(|s| s.sub.clone()),
        auth_time: session.as_ref().map(|s| s.auth_time),
        expires_at: now + app.config.auth_request_ttl,
        required_sub: required,
        sid: session
            .as_ref()
            .map(|s| s.sid.clone())
            .filter(|s| !s.is_empty()),
        auth_time_ms: session.as_ref().map_or(0, |s| s.signed_in_ms()),
        client: Some(client.snapshot()),
        user: session_user.as_ref().map(User::snapshot),
    };

    match (&session, &session_user, consented, v.prompts("none")) {
        // Signed in and already agreed: no page at all (OIDC Core §3.1.2.4 reuse).
        (Some(_), Some(user), true, _) => {
            return authz_response::issue_code(app, &auth, &client, user, now)
                .await
                .map_err(redirect);
        }
        (None, _, _, true) => {
            return Err(redirect(OAuthError::new(
                ErrorCode::LoginRequired,
                "the user is not signed in",
            )));
        }
        (Some(_), _, false, true) => {
            return Err(redirect(OAuthError::new(
                ErrorCode::ConsentRequired,
                "the user has not consented to this client",
            )));
        }
        _ => {}
    }
    app.store
        .put_auth_request(&auth)
        .await
        .map_err(|e| redirect(e.into()))?;

    // The first page the person needs, shown here rather than behind a redirect: a browser
    // round trip and a store read fewer. Its form posts to /login or /consent.
    let mut resp = match &session_user {
        Some(user) => {
            let grant = release::grant(&client, user, &auth.scopes, &auth.claims);
            forms::consent(app, &auth, &client, user, &grant)
        }
        None => forms::sign_in(
            app,
            &auth,
            &client.client_name,
            auth.login_hint.as_deref().unwrap_or(""),
            None,
        ),
    };
    if existing_browser.is_none() {
        let cookie = http::set_cookie(
            &browser_cookie,
            &auth.browser_id,
            app.config.session_ttl,
            secure,
        );
        http::append_header(&mut resp, "set-cookie", &cookie);
    }
    Ok(resp)
}
