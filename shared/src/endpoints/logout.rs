//! RP-Initiated Logout 1.0 at `/logout` (the `end_session_endpoint`). A request is acted on
//! without asking only when its `id_token_hint` is an ID token of the browser's current
//! session (its `sid` and `sub`, §2 and §4); otherwise the person confirms on a page that
//! names the application and shows where they will be sent. Ending the session deletes it
//! and clears the cookie; the browser then returns to a registered
//! `post_logout_redirect_uri` (with `state`), or sees the signed-out page. With nobody
//! signed in, a trusted client's URI is followed at once; an untrusted client's is offered
//! as a link, so the provider never bounces a visitor onward unasked (RFC 9700 §4.11.2).
use crate::store::{ClientStore, SessionStore};
use lambda_http::{Body, Request, Response, http::Method};

use super::{
    authorize::{SESSION_COOKIE, browser_session},
    id_token_hint,
};
use crate::{
    App, OAuthError,
    crypto::{b64url, constant_time_eq, sha256},
    http::{self, Params},
    pages,
    pages::PageOrError,
    protocol::{authorize_request::MAX_PARAM, redirect_uri},
    store::Client,
};

pub async fn handle<S: ClientStore + SessionStore + ?Sized>(
    app: &App<S>,
    req: &Request,
    now: i64,
) -> Response<Body> {
    logout(app, req, now)
        .await
        .or_error_page(&app.config.branding)
}

/// Where to go afterwards, verified against the client's registration.
struct Return {
    uri: String,
    state: Option<String>,
}

impl Return {
    fn url(&self) -> String {
        match &self.state {
            Some(s) => http::url_with_query(&self.uri, &[("state", s)]),
            None => self.uri.clone(),
        }
    }
}

/// The anti-CSRF token of the confirmation form: derived from the session cookie, which a
/// cross-site attacker can neither read nor set.
fn csrf_for(session_cookie: &str) -> String {
    b64url(&sha256(format!("logout:{session_cookie}").as_bytes()))
}

async fn logout<S: ClientStore + SessionStore + ?Sized>(
    app: &App<S>,
    req: &Request,
    now: i64,
) -> Result<Response<Body>, OAuthError> {
    let params = if req.method() == Method::POST {
        http::form(req)
            .ok_or_else(|| OAuthError::invalid_request("the logout form was not sent as a form"))?
    } else {
        http::query(req)
    };
    // Refused before anything is echoed (a redirect, the confirmation form).
    if params.get("state").is_some_and(|s| s.len() > MAX_PARAM) {
        return Err(OAuthError::invalid_request("state is too long"));
    }
    let hint = match params.get("id_token_hint") {
        Some(h) => Some(id_token_hint::verify(app, h).await?),
        None => None,
    };
    let client = client_of(app, &params, hint.as_ref().map(|h| h.client_id.as_str())).await?;
    let back = return_to(&params, client.as_ref())?;

    let secure = app.config.secure_cookies();
    let cookie_name = http::cookie_name(SESSION_COOKIE, secure);
    let cookie = http::cookie(req, &cookie_name);
    let session = browser_session(app, req, now).await?;
    let Some(session) = session else {
        return Ok(match (back, &client) {
            (Some(r), Some(c)) if !c.is_trusted() => pages::signed_out_page(
                &app.config.branding,
                Some(pages::Continue {
                    client_name: &c.client_name,
                    shown: &r.uri,
                    url: r.url(),
                }),
            ),
            (back, _) => finish(app, back, None),
        });
    };
    let cookie = cookie.unwrap_or_default();
    let confirmed = req.method() == Method::POST
        && params
            .get("csrf")
            .is_some_and(|c| constant_time_eq(c.as_bytes(), csrf_for(&cookie).as_bytes()));
    // An ID token of this very session: the client holds the current sign-in (§2). A hint
    // from an earlier session, or of someone else, proves nothing about this one.
    let attributable = hint.as_ref().is_some_and(|h| {
        !session.sid.is_empty()
            && h.sid.as_deref() == Some(session.sid.as_str())
            && h.sub == session.sub
    });
    if !confirmed && !attributable {
        let client_name = client.as_ref().map(|c| c.client_name.as_str());
        return Ok(pages::logout_confirm_page(
            &app.config.branding,
            &confirm_view(app, &params, &csrf_for(&cookie), client_name),
        ));
    }
    app.store.delete_session(&session.id_hash).await?;
    tracing::info!(sub = %session.sub, "signed out");
    Ok(finish(
        app,
        back,
        Some(http::set_cookie(&cookie_name, "", 0, secure)),
    ))
}

/// The client named by `client_id` or the hint's audience (which must then agree), if any.
async fn client_of<S: ClientStore + ?Sized>(
    app: &App<S>,
    params: &Params,
    hinted: Option<&str>,
) -> Result<Option<Client>, OAuthError> {
    let client_id = match (params.get("client_id"), hinted) {
        (Some(a), Some(b)) if a != b => {
            return Err(OAuthError::invalid_request(
                "client_id does not match the id_token_hint",
            ));
        }
        (Some(a), _) => a,
        (None, Some(b)) => b,
        (None, None) => return Ok(None),
    };
    let client = app
        .client(client_id)
        .await?
        .ok_or_else(|| OAuthError::invalid_request("unknown client_id"))?;
    Ok(Some(client))
}

/// The post_logout_redirect_uri to return to, if one was asked for: only one the client
/// registered (RP-Initiated Logout §3).
fn return_to(params: &Params, client: Option<&Client>) -> Result<Option<Return>, OAuthError> {
    let Some(uri) = params.get("post_logout_redirect_uri") else {
        return Ok(None);
    };
    let registered = client.is_some_and(|c| {
        redirect_uri::is_registered(uri, &c.post_logout_redirect_uris)
            && redirect_uri::is_safe_target(uri)
    });
    if !registered {
        return Err(OAuthError::invalid_request(
            "post_logout_redirect_uri is not registered for this client",
        ));
    }
    Ok(Some(Return {
        uri: uri.to_string(),
        state: params.get("state").map(str::to_string),
    }))
}

fn confirm_view<'a, S: ?Sized>(
    app: &App<S>,
    p: &'a Params,
    csrf: &str,
    client_name: Option<&'a str>,
) -> pages::LogoutView<'a> {
    pages::LogoutView {
        action: app.config.endpoint_url(super::Endpoint::Logout),
        csrf: csrf.to_string(),
        client_id: p.get("client_id"),
        post_logout_redirect_uri: p.get("post_logout_redirect_uri"),
        state: p.get("state"),
        id_token_hint: p.get("id_token_hint"),
        client_name,
    }
}

fn finish<S: ?Sized>(
    app: &App<S>,
    back: Option<Return>,
    clear_cookie: Option<String>,
) -> Response<Body> {
    let mut resp = match back {
        Some(r) => http::redirect(&r.url()),
        None => pages::signed_out_page(&app.config.branding, None),
    };
    if let Some(c) = clear_cookie {
        http::append_header(&mut resp, "set-cookie", &c);
    }
    resp
}
