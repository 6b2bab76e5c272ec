//! `/authorize` (RFC 6749 §4.1.1, OIDC Core §3.1.2): verify client and redirect_uri (an
//! error page otherwise: never redirect to an unverified URI), validate the rest (errors go
//! back to the client with `state` and `iss`; for a client the provider does not trust, only
//! once the browser has a signed-in session), then either answer at once from the
//! browser's session and standing consent (single sign-on), or remember the request and
//! show the first page the person needs: the sign-in form, or the consent page.
use crate::store::CodeStore;
use crate::store::{AuthRequestStore, ClientStore, ConsentStore, SessionStore, UserStore};
use lambda_http::{Body, Request, Response, http::Method};

use super::{Endpoint, authz_response, forms, id_token_hint};
use crate::{
    App, OAuthError,
    crypto::{random_token, secret_digest},
    error::ErrorCode,
    http::{self, Params},
    pages::PageOrError,
    protocol::{
        acr,
        authorize_request::{self, Validated},
        redirect_uri, release,
    },
    store::{
        AuthRequest, Client, ProviderButton, ProviderStore, ResponseMode, Session,
        UpstreamProvider, User,
    },
};

pub const BROWSER_COOKIE: &str = "oidc_browser";
pub const SESSION_COOKIE: &str = "oidc_session";

pub async fn handle<
    S: AuthRequestStore
        + ClientStore
        + CodeStore
        + ConsentStore
        + ProviderStore
        + SessionStore
        + UserStore
        + ?Sized,
>(
    app: &App<S>,
    req: &Request,
    now: i64,
) -> Response<Body> {
    authorize(app, req, now)
        .await
        .or_error_page(&app.config.branding)
}

/// The answer to the request, or the error to show on a page rather than send back.
async fn authorize<
    S: AuthRequestStore
        + ClientStore
        + CodeStore
        + ConsentStore
        + ProviderStore
        + SessionStore
        + UserStore
        + ?Sized,
>(
    app: &App<S>,
    req: &Request,
    now: i64,
) -> Result<Response<Body>, OAuthError> {
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
async fn signed_in<S: SessionStore + UserStore + ?Sized>(
    app: &App<S>,
    req: &Request,
    now: i64,
) -> Result<bool, OAuthError> {
    let Some(s) = browser_session(app, req, now).await? else {
        return Ok(false);
    };
    let user = app.store.user(&s.sub).await?;
    Ok(user.is_some_and(|u| u.accepts(s.signed_in_ms())))
}

/// The session named by the browser's cookie, if it is still valid.
pub async fn browser_session<S: SessionStore + ?Sized>(
    app: &App<S>,
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
async fn required_sub<S: ?Sized>(
    app: &App<S>,
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

/// Where errors go once the client and its redirect_uri are verified.
struct SendBack<'a> {
    uri: &'a str,
    client: &'a Client,
}

impl SendBack<'_> {
    /// OIDC Core §3.1.2.6: a silent request always gets its answer back; a failure of ours
    /// is a retryable page; an untrusted client's other errors wait for a signed-in browser.
    fn fail(&self, e: OAuthError) -> Failure {
        use ErrorCode::*;
        match e.code {
            _ if self.client.is_trusted() => Failure::Redirect(e, self.uri.to_string()),
            LoginRequired | ConsentRequired | InteractionRequired => {
                Failure::Redirect(e, self.uri.to_string())
            }
            TemporarilyUnavailable | ServerError => Failure::Page(e),
            _ => Failure::Untrusted(e, self.uri.to_string(), self.client.client_name.clone()),
        }
    }
}

/// The client and the redirect_uri it registered: until both are verified, every error is
/// a page (RFC 6749 §4.1.2.1: never redirect to an unverified URI).
async fn verified_client<'p, S: ClientStore + ProviderStore + ?Sized>(
    app: &App<S>,
    params: &'p Params,
) -> Result<(Client, &'p str, Vec<UpstreamProvider>), OAuthError> {
    if let Some(dup @ ("client_id" | "redirect_uri")) = params.duplicated() {
        return Err(OAuthError::invalid_request(format!(
            "the request has more than one {dup}"
        )));
    }
    let client_id = params.get("client_id").ok_or_else(|| {
        OAuthError::invalid_request(
            "the request does not say which application it is for (client_id is missing)",
        )
    })?;
    // The upstream providers the sign-in page offers, read alongside the client.
    let (client, providers) = tokio::try_join!(app.client(client_id), app.store.list_providers())?;
    let client = client
        .ok_or_else(|| OAuthError::invalid_request("the application that sent you here is not registered with this provider (unknown client_id)"))?;
    let redirect_to = params
        .get("redirect_uri")
        .ok_or_else(|| OAuthError::invalid_request("the request has no redirect_uri"))?;
    if !redirect_uri::is_registered(redirect_to, &client.redirect_uris) {
        return Err(OAuthError::invalid_request(
            "the application asked to send you to an address it has not registered (redirect_uri mismatch)",
        ));
    }
    // A record stored before URIs were validated is never followed.
    if !redirect_uri::is_safe_target(redirect_to) {
        return Err(OAuthError::invalid_request(
            "the application's registered redirect_uri is not a valid address",
        ));
    }
    // A state too long to send back is refused here, never echoed into a Location header.
    if params
        .get("state")
        .is_some_and(|s| s.len() > authorize_request::MAX_PARAM)
    {
        return Err(OAuthError::invalid_request("state is too long"));
    }
    Ok((client, redirect_to, providers))
}

/// The browser's session, if this request may reuse it, with its user; and whether that
/// user's standing consent (or the client's first-party status) covers the request.
struct Reuse {
    session: Option<Session>,
    user: Option<User>,
    consented: bool,
}

/// A session is reusable unless the client demands a fresh login (prompt=login, or a
/// max_age it has outlived), expects another person (Core §3.1.2.1: then the person signs
/// in as that one, or prompt=none gets login_required), or needs a higher level of sign-in
/// than the session's (`min_level`: the person steps up on the sign-in page; prompt=none
/// gets login_required, Core §3.1.2.6, as the level could be met with a page). A session
/// ends with its user:
/// deleted, disabled, or signed in before its sessions were ended (a password change, a
/// sign-out everywhere). The user and the standing consent are independent reads: one
/// round trip.
async fn reuse<S: ConsentStore + SessionStore + UserStore + ?Sized>(
    app: &App<S>,
    req: &Request,
    client: &Client,
    v: &Validated,
    required: Option<&String>,
    min_level: acr::Level,
    now: i64,
) -> Result<Reuse, OAuthError> {
    let none = Reuse {
        session: None,
        user: None,
        consented: false,
    };
    let session = browser_session(app, req, now)
        .await?
        .filter(|_| !v.prompts("login"))
        .filter(|s| v.max_age.is_none_or(|m| now - s.auth_time <= m))
        .filter(|s| required.is_none_or(|r| *r == s.sub))
        .filter(|s| acr::meets(min_level, &s.amr));
    let Some(s) = session else {
        return Ok(none);
    };
    let ask_consent = v.prompts("consent");
    let implied = client.implies_consent() && !ask_consent;
    let consent = async {
        if ask_consent || implied {
            Ok(None)
        } else {
            app.store.consent(&s.sub, &client.client_id).await
        }
    };
    let (user, consent) = tokio::try_join!(app.store.user(&s.sub), consent)?;
    let Some(u) = user.filter(|u| u.accepts(s.signed_in_ms())) else {
        return Ok(none);
    };
    let grant = release::grant(client, &u, &v.scopes, &v.claims);
    let asked = release::consentable(&v.scopes, &grant);
    let consented = implied || (!ask_consent && consent.is_some_and(|c| asked.covered_by(&c)));
    Ok(Reuse {
        session: Some(s),
        user: Some(u),
        consented,
    })
}

/// The browser's binding id (`BROWSER_COOKIE`), or a new one for a browser without it,
/// which the answer then sets.
pub(super) struct BrowserId {
    pub id: String,
    new: bool,
}

impl BrowserId {
    pub fn of(config: &crate::config::Config, req: &Request) -> BrowserId {
        let name = http::cookie_name(BROWSER_COOKIE, config.secure_cookies());
        match http::cookie(req, &name).filter(|b| b.len() == 43) {
            Some(id) => BrowserId { id, new: false },
            None => BrowserId {
                id: random_token(32),
                new: true,
            },
        }
    }

    /// Sets the cookie on `resp` if the id is new.
    pub fn set_on(&self, config: &crate::config::Config, resp: &mut Response<Body>) {
        if self.new {
            let secure = config.secure_cookies();
            let name = http::cookie_name(BROWSER_COOKIE, secure);
            let cookie = http::set_cookie(&name, &self.id, config.session_ttl, secure);
            http::append_header(resp, "set-cookie", &cookie);
        }
    }
}

/// The enabled upstream providers, as the sign-in page offers them: none when the request
/// needs more than the password level (an upstream's own `amr` is not taken on trust).
pub(super) fn buttons(providers: &[UpstreamProvider], auth: &AuthRequest) -> Vec<ProviderButton> {
    providers
        .iter()
        .filter(|p| p.enabled && auth.min_level.upstream_meets())
        .map(|p| ProviderButton {
            id: p.id.clone(),
            name: p.display_name.clone(),
            logo_uri: p.logo_uri.clone(),
        })
        .collect()
}

/// The request to remember while the person signs in or consents.
fn pending(
    params: &Params,
    back: &SendBack<'_>,
    v: Validated,
    required_sub: Option<String>,
    reuse: &Reuse,
    browser_id: String,
    expires_at: i64,
) -> AuthRequest {
    let session = reuse.session.as_ref();
    AuthRequest {
        id: random_token(24),
        client_id: back.client.client_id.clone(),
        redirect_uri: back.uri.to_string(),
        scopes: v.scopes,
        state: params.get("state").map(str::to_string),
        nonce: v.nonce,
        code_challenge: v.code_challenge,
        response_mode: v.response_mode,
        prompt: v.prompt,
        max_age: v.max_age,
        login_hint: v.login_hint,
        claims: v.claims,
        browser_id,
        csrf: random_token(24),
        sub: session.map(|s| s.sub.clone()),
        auth_time: session.map(|s| s.auth_time),
        expires_at,
        required_sub,
        sid: session.map(|s| s.sid.clone()).filter(|s| !s.is_empty()),
        auth_time_ms: session.map_or(0, |s| s.signed_in_ms()),
        client: Some(back.client.snapshot()),
        user: reuse.user.as_ref().map(User::snapshot),
        idp: session.and_then(|s| s.idp.clone()),
        amr: session.map(|s| s.amr.clone()).unwrap_or_default(),
        passkey_challenge: crate::crypto::b64url(&crate::passkey::challenge()),
        // Both set by the caller: the level decided with the client and the deployment's,
        // and the providers that level admits.
        min_level: acr::Level::default(),
        providers: vec![],
        second_factor: None,
    }
}

async fn handle_params<
    S: AuthRequestStore
        + ClientStore
        + CodeStore
        + ConsentStore
        + ProviderStore
        + SessionStore
        + UserStore
        + ?Sized,
>(
    app: &App<S>,
    req: &Request,
    params: &Params,
    now: i64,
) -> Result<Response<Body>, Failure> {
    let (client, redirect_to, providers) =
        verified_client(app, params).await.map_err(Failure::Page)?;
    let back = SendBack {
        uri: redirect_to,
        client: &client,
    };
    let v = authorize_request::validate(params, &client).map_err(|e| back.fail(e))?;
    let required = required_sub(app, params, v.required_sub.as_deref())
        .await
        .map_err(|e| back.fail(e))?;
    let min_level = acr::required(
        app.config.sign_in.min_level,
        client.min_level,
        &v.claims.acr_values,
    );
    let reuse = reuse(app, req, &client, &v, required.as_ref(), min_level, now)
        .await
        .map_err(|e| back.fail(e))?;
    let silent = v.prompts("none");

    let browser = BrowserId::of(&app.config, req);
    let expires_at = now + app.config.auth_request_ttl;
    let mut auth = pending(
        params,
        &back,
        v,
        required,
        &reuse,
        browser.id.clone(),
        expires_at,
    );
    auth.min_level = min_level;
    auth.providers = buttons(&providers, &auth);

    match (&reuse.session, &reuse.user, reuse.consented, silent) {
        // Signed in and already agreed: no page at all (OIDC Core §3.1.2.4 reuse).
        (Some(_), Some(user), true, _) => {
            return authz_response::issue_code(app, &auth, &client, user, now)
                .await
                .map_err(|e| back.fail(e));
        }
        (None, _, _, true) => {
            return Err(back.fail(OAuthError::new(
                ErrorCode::LoginRequired,
                "the user is not signed in, or not at the level of sign-in required",
            )));
        }
        (Some(_), _, false, true) => {
            return Err(back.fail(OAuthError::new(
                ErrorCode::ConsentRequired,
                "the user has not consented to this client",
            )));
        }
        _ => {}
    }
    app.store
        .put_auth_request(&auth)
        .await
        .map_err(|e| back.fail(e.into()))?;

    // The first page the person needs, shown here rather than behind a redirect: a browser
    // round trip and a store read fewer. Its form posts to /login or /consent.
    let hinted = params
        .get("idp")
        .filter(|id| auth.providers.iter().any(|p| p.id == *id));
    let mut resp = match (&reuse.user, hinted) {
        // Straight to one upstream provider (Cognito's identity_provider, Keycloak's
        // kc_idp_hint): an unknown or disabled one shows the sign-in page instead.
        (None, Some(idp)) => http::redirect_with_query(
            &app.config.endpoint_url(Endpoint::FederationStart),
            &[("req", &auth.id), ("idp", idp)],
        ),
        (Some(user), _) => {
            let grant = release::grant(&client, user, &auth.scopes, &auth.claims);
            forms::consent(app, &auth, &client, user, &grant)
        }
        (None, None) => forms::sign_in(
            app,
            &auth,
            &client.client_name,
            auth.login_hint.as_deref().unwrap_or(""),
            None,
        ),
    };
    browser.set_on(&app.config, &mut resp);
    Ok(resp)
}
