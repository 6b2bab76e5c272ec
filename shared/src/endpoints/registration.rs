//! Dynamic Client Registration (RFC 7591) at `POST /register`, and client configuration
//! (RFC 7592) at `GET | PUT | DELETE /register?client_id=…` with the registration access
//! token issued at registration. Registration is off unless configured: open (local
//! development) or protected by an initial access token (RFC 7591 §3).
use crate::store::ClientStore;
use lambda_http::{
    Body, Request, Response,
    http::{Method, StatusCode},
};
use serde::Deserialize;
use serde_json::{Value, json};

use super::Endpoint;
use crate::{
    App, OAuthError,
    config::Registration,
    crypto::random_token,
    error::{ErrorCode, refusal},
    http,
    protocol::{acr, redirect_uri, registration_policy::RegistrationPolicy, scope},
    secret::{ClientSecret, InitialAccessToken, Kind, RegistrationToken, Secret},
    seed::SeedClient,
    store::{AuthMethod, Client},
};

/// RFC 7591 §2 metadata we act on; anything else is ignored (§2: unknown metadata).
#[derive(Debug, Default, Deserialize)]
struct Metadata {
    client_id: Option<String>,
    client_secret: Option<ClientSecret>,
    redirect_uris: Option<Vec<String>>,
    token_endpoint_auth_method: Option<String>,
    grant_types: Option<Vec<String>>,
    response_types: Option<Vec<String>>,
    client_name: Option<String>,
    logo_uri: Option<String>,
    scope: Option<String>,
    post_logout_redirect_uris: Option<Vec<String>>,
    jwks: Option<Value>,
    jwks_uri: Option<String>,
    default_acr_values: Option<Vec<String>>,
}

fn metadata_error(msg: impl Into<String>) -> OAuthError {
    OAuthError::new(ErrorCode::InvalidClientMetadata, msg.into())
}

pub async fn handle<S: ClientStore + ?Sized>(
    app: &App<S>,
    req: &Request,
    now: i64,
) -> Response<Body> {
    let result = match *req.method() {
        Method::POST => register(app, req, now).await,
        _ => manage(app, req).await,
    };
    match result {
        Ok(resp) => resp,
        Err(e) if e.code == ErrorCode::InvalidToken => e.to_bearer_response(true),
        Err(e) => e.to_json_response(),
    }
}

/// The bearer token of the request (RFC 6750 §2.1): at registration, the initial access
/// token; at client configuration, the registration access token.
fn bearer<K: Kind>(req: &Request) -> Option<Secret<K>> {
    http::header_str(req, "authorization")
        .and_then(|v| v.split_once(' '))
        .filter(|(s, _)| s.eq_ignore_ascii_case("bearer"))
        .map(|(_, t)| Secret::new(t.trim()))
}

fn json_body(req: &Request) -> Result<Metadata, OAuthError> {
    let is_json = http::header_str(req, "content-type")
        .and_then(|v| v.split(';').next())
        .is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json"));
    if !is_json {
        return Err(metadata_error("the body must be application/json"));
    }
    serde_json::from_slice(http::body_bytes(req))
        .map_err(|_| metadata_error("the body is not valid client metadata JSON"))
}

async fn register<S: ClientStore + ?Sized>(
    app: &App<S>,
    req: &Request,
    now: i64,
) -> Result<Response<Body>, OAuthError> {
    match &app.config.registration {
        Registration::Disabled => {
            return Err(OAuthError::new(
                ErrorCode::AccessDenied,
                "dynamic registration is not enabled",
            ));
        }
        Registration::Open => {}
        Registration::InitialToken(hash) => {
            let ok = bearer(req).is_some_and(|t: InitialAccessToken| t.matches(hash));
            if !ok {
                return Err(OAuthError::invalid_token(
                    "a valid initial access token is required",
                ));
            }
        }
    }
    let meta = json_body(req)?;
    let client_id = random_token(16);
    let (mut client, secret) = build(&app.config.registration_policy, &client_id, &meta, None)?;
    let rat = RegistrationToken::generate();
    client.registration_token_hash = Some(rat.digest());
    app.store.put_client(&client).await?;
    tracing::info!(client_id = %client.client_id, "client registered");
    let mut body = describe(app, &client);
    body["client_id_issued_at"] = json!(now);
    body["registration_access_token"] = json!(rat.expose());
    if let Some(s) = secret {
        body["client_secret"] = json!(s.expose());
        body["client_secret_expires_at"] = json!(0);
    }
    let mut resp = http::json(StatusCode::CREATED, &body);
    http::no_store(&mut resp);
    Ok(resp)
}

/// The client named in the query, if the request bears its registration access token.
async fn authorized_client<S: ClientStore + ?Sized>(
    app: &App<S>,
    req: &Request,
) -> Result<Client, OAuthError> {
    let bad = || OAuthError::invalid_token("the registration access token is invalid");
    let token: RegistrationToken = bearer(req).ok_or_else(bad)?;
    let id = http::query(req)
        .get("client_id")
        .map(str::to_string)
        .ok_or_else(bad)?;
    let client = app.store.client(&id).await?.ok_or_else(bad)?;
    let ok = client
        .registration_token_hash
        .as_deref()
        .is_some_and(|h| token.matches(h));
    if !ok {
        return Err(bad());
    }
    Ok(client)
}

async fn manage<S: ClientStore + ?Sized>(
    app: &App<S>,
    req: &Request,
) -> Result<Response<Body>, OAuthError> {
    let client = authorized_client(app, req).await?;
    let mut resp = match *req.method() {
        Method::GET => http::json(StatusCode::OK, &describe(app, &client)),
        Method::DELETE => {
            app.store.delete_client(&client.client_id).await?;
            tracing::info!(client_id = %client.client_id, "client deregistered");
            let mut r = Response::new(Body::Empty);
            *r.status_mut() = StatusCode::NO_CONTENT;
            r
        }
        _ => {
            // RFC 7592 §2.2: the body replaces the metadata; it names the client and, for a
            // confidential one, may repeat its secret (which must then match).
            let meta = json_body(req)?;
            if meta.client_id.as_deref() != Some(client.client_id.as_str()) {
                return Err(OAuthError::invalid_request(
                    "client_id in the body must match the client",
                ));
            }
            if let (Some(given), Some(hash)) = (&meta.client_secret, &client.secret_hash)
                && !given.matches(hash)
            {
                return Err(OAuthError::invalid_request("client_secret does not match"));
            }
            let (mut updated, secret) = build(
                &app.config.registration_policy,
                &client.client_id,
                &meta,
                client.secret_hash.clone(),
            )?;
            updated.registration_token_hash = client.registration_token_hash.clone();
            app.store.put_client(&updated).await?;
            let mut body = describe(app, &updated);
            if let Some(s) = secret {
                body["client_secret"] = json!(s.expose());
                body["client_secret_expires_at"] = json!(0);
            }
            http::json(StatusCode::OK, &body)
        }
    };
    http::no_store(&mut resp);
    Ok(resp)
}

/// Validated metadata as a client record, within the registration policy (RFC 7591 §2, §5:
/// a refused member is `invalid_client_metadata`, or `invalid_redirect_uri`, naming it), then
/// through the same rules as seeding. A secret is generated when the method needs one and
/// `existing_secret` does not provide it. The client is never first-party and is trusted only
/// if the policy says so.
fn build(
    policy: &RegistrationPolicy,
    client_id: &str,
    m: &Metadata,
    existing_secret: Option<String>,
) -> Result<(Client, Option<ClientSecret>), OAuthError> {
    if m.jwks_uri.is_some() {
        return Err(metadata_error(
            "jwks_uri is not supported: register the keys inline with jwks",
        ));
    }
    let method = auth_method(policy, m)?;
    let grant_types = grant_types(policy, m)?;
    let wants_code = grant_types.iter().any(|g| g == "authorization_code");
    let scopes = scopes(policy, m)?;
    let (redirect_uris, post_logout) = redirect_uris(policy, m, wants_code)?;
    let min_level = min_level(m)?;
    let (secret, secret_hash) = match method {
        AuthMethod::None | AuthMethod::PrivateKeyJwt => (None, None),
        _ => match existing_secret {
            Some(h) => (None, Some(h)),
            None => {
                let s = ClientSecret::generate();
                let hash = s.digest();
                (Some(s), Some(hash))
            }
        },
    };
    let seed = SeedClient {
        client_id: client_id.to_string(),
        client_name: m.client_name.clone(),
        logo_uri: m.logo_uri.clone(),
        // Validated here and replaced by the hash below: the seed rules want a plain secret.
        client_secret: secret_hash
            .as_ref()
            .map(|_| ClientSecret::new("x".repeat(crate::seed::MIN_SECRET_LEN))),
        token_endpoint_auth_method: Some(method),
        redirect_uris,
        scopes: Some(scopes),
        grant_types: Some(grant_types),
        skip_consent: false,
        post_logout_redirect_uris: post_logout,
        trusted: Some(policy.trusted),
        jwks: m.jwks.clone(),
        min_level,
        ..SeedClient::default()
    };
    let mut client = seed
        .to_client()
        .map_err(|e| metadata_error(e.to_string()))?;
    client.secret_hash = secret_hash;
    Ok((client, secret))
}

fn refused(member: &str, value: &str) -> OAuthError {
    metadata_error(refusal(
        member,
        value,
        "is not allowed by this provider's registration policy",
    ))
}

fn auth_method(policy: &RegistrationPolicy, m: &Metadata) -> Result<AuthMethod, OAuthError> {
    let method = match m.token_endpoint_auth_method.as_deref() {
        None | Some("client_secret_basic") => AuthMethod::ClientSecretBasic,
        Some("client_secret_post") => AuthMethod::ClientSecretPost,
        Some("none") => AuthMethod::None,
        Some("private_key_jwt") => AuthMethod::PrivateKeyJwt,
        Some(other) => {
            return Err(metadata_error(refusal(
                "token_endpoint_auth_method",
                other,
                "is not supported",
            )));
        }
    };
    if !policy.allows_method(method) {
        return Err(refused("token_endpoint_auth_method", method.as_str()));
    }
    Ok(method)
}

/// The grant types (by default the code flow), and response types that agree with them.
fn grant_types(policy: &RegistrationPolicy, m: &Metadata) -> Result<Vec<String>, OAuthError> {
    let grant_types = m
        .grant_types
        .clone()
        .unwrap_or_else(|| vec!["authorization_code".into()]);
    if let Some(g) = grant_types.iter().find(|g| !policy.grant_types.contains(g)) {
        return Err(refused("grant_types", g));
    }
    let response_types = m
        .response_types
        .clone()
        .unwrap_or_else(|| vec!["code".into()]);
    if response_types.iter().any(|r| r != "code") {
        return Err(metadata_error("only the code response type is supported"));
    }
    let wants_code = grant_types.iter().any(|g| g == "authorization_code");
    if wants_code != response_types.iter().any(|r| r == "code") {
        return Err(metadata_error(
            "grant_types and response_types disagree (RFC 7591 §2.1)",
        ));
    }
    Ok(grant_types)
}

/// Without `scope`, what the policy allows (RFC 7591 §2: the server's default).
fn scopes(policy: &RegistrationPolicy, m: &Metadata) -> Result<Vec<String>, OAuthError> {
    let Some(s) = m.scope.as_deref() else {
        return Ok(policy.scopes.clone());
    };
    let asked = scope::parse(s);
    if let Some(bad) = asked.iter().find(|s| !policy.scopes.contains(s)) {
        return Err(refused("scope", bad));
    }
    Ok(asked)
}

/// The least level of sign-in the client asks for its users (OpenID Connect Dynamic Client
/// Registration §2 `default_acr_values`, as `acr_values` are read: the lowest value we know;
/// unknown ones are ignored, a list of only unknown ones is refused). It can raise the
/// deployment's level, never lower it (`protocol::acr::required`).
fn min_level(m: &Metadata) -> Result<Option<acr::Level>, OAuthError> {
    let Some(values) = &m.default_acr_values else {
        return Ok(None);
    };
    match acr::asked(values) {
        None if !values.is_empty() => Err(metadata_error(
            "default_acr_values names no value this provider supports (see acr_values_supported)",
        )),
        level => Ok(level),
    }
}

/// The redirect and post-logout redirect URIs, each checked against the policy.
fn redirect_uris(
    policy: &RegistrationPolicy,
    m: &Metadata,
    wants_code: bool,
) -> Result<(Vec<String>, Vec<String>), OAuthError> {
    let redirect_uris = m.redirect_uris.clone().unwrap_or_default();
    if wants_code && redirect_uris.is_empty() {
        return Err(OAuthError::new(
            ErrorCode::InvalidRedirectUri,
            "redirect_uris is required",
        ));
    }
    let post_logout = m.post_logout_redirect_uris.clone().unwrap_or_default();
    for (member, list) in [
        ("redirect_uris", &redirect_uris),
        ("post_logout_redirect_uris", &post_logout),
    ] {
        for u in list {
            redirect_uri::check_redirect(u, policy.redirect_uris).map_err(|p| {
                OAuthError::new(ErrorCode::InvalidRedirectUri, refusal(member, u, p))
            })?;
        }
    }
    Ok((redirect_uris, post_logout))
}

/// The client's metadata as RFC 7591 §3.2.1 returns it (never the secret's hash).
fn describe<S: ?Sized>(app: &App<S>, c: &Client) -> Value {
    let mut v = json!({
        "client_id": c.client_id,
        "client_name": c.client_name,
        "redirect_uris": c.redirect_uris,
        "post_logout_redirect_uris": c.post_logout_redirect_uris,
        "token_endpoint_auth_method": c.auth_method.as_str(),
        "grant_types": c.grant_types,
        "response_types": if c.allows_grant("authorization_code") { json!(["code"]) } else { json!([]) },
        "scope": scope::join(&c.allowed_scopes),
        "registration_client_uri": http::url_with_query(&app.config.endpoint_url(Endpoint::Registration), &[("client_id", &c.client_id)]),
    });
    if let Some(l) = &c.logo_uri {
        v["logo_uri"] = json!(l);
    }
    if let Some(j) = &c.jwks {
        v["jwks"] = j.clone();
    }
    if let Some(l) = c.min_level {
        v["default_acr_values"] = json!([l.acr()]);
    }
    v
}
