//! The demo relying party: a client registered on start, whose redirect_uri is a page of
//! this server that redeems the code the way an app would (token endpoint with its secret,
//! then userinfo) and shows what came back. Local development only.
use askama::Template;
use base64::Engine;
use lambda_http::{Body, Request, Response, http::StatusCode};
use serde_json::Value;
use std::sync::Arc;

use shared::{
    app::SigningApp,
    endpoints::{self, handlers},
    http,
    seed::{self, Seed, SeedClient, SeedUser},
    signer::{Verifier, VerifyOnly},
};

pub const DEMO_CLIENT_ID: &str = "demo-app";
/// Local-only and printed at start-up: the demo client lives on loopback.
const DEMO_CLIENT_SECRET: &str = "demo-app-secret-for-local-development-only";
pub const DEMO_USERNAME: &str = "demo";
pub const DEMO_PASSWORD: &str = "demo-password";
const CALLBACK: &str = "/demo/callback";

pub fn owns(path: &str) -> bool {
    path == "/" || path == CALLBACK
}

pub fn redirect_uri(app: &SigningApp) -> String {
    format!("{}{CALLBACK}", app.config.issuer)
}

/// The demo client is (re)registered at every start (its redirect_uri follows the port);
/// the demo user is created only if absent, so a changed password survives restarts.
pub async fn ensure(app: &SigningApp) -> Result<(), String> {
    let mut users = Vec::new();
    if app
        .store
        .user_by_username(DEMO_USERNAME)
        .await
        .map_err(|e| e.to_string())?
        .is_none()
    {
        let claims = serde_json::json!({
            "name": "Demo User", "given_name": "Demo", "family_name": "User",
            "preferred_username": "demo", "email": "demo@example.com", "email_verified": true,
            "phone_number": "+1 555 0100", "phone_number_verified": false,
            "address": {"street_address": "1 Example Way", "locality": "Springfield", "country": "US"},
            "locale": "en-US", "zoneinfo": "America/New_York"
        });
        users.push(SeedUser {
            username: DEMO_USERNAME.into(),
            password: Some(DEMO_PASSWORD.into()),
            password_hash: None,
            sub: None,
            claims: claims.as_object().cloned().unwrap_or_default(),
            custom_claims: vec![],
        });
    }
    let seed = Seed {
        clients: vec![SeedClient {
            client_id: DEMO_CLIENT_ID.into(),
            client_name: Some("Demo app".into()),
            logo_uri: None,
            client_secret: Some(DEMO_CLIENT_SECRET.into()),
            token_endpoint_auth_method: None,
            redirect_uris: vec![redirect_uri(app)],
            scopes: None,
            grant_types: None,
            skip_consent: false,
            post_logout_redirect_uris: vec![format!("{}/", app.config.issuer)],
            custom_claims: vec![],
            allowed_claims: vec![],
            jwks: None,
            ..SeedClient::default()
        }],
        users,
        ..Seed::default()
    };
    seed::apply(app.store.as_ref(), &seed, app.clock.now_ms())
        .await
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// A ready-to-open authorization request for the demo client.
pub fn authorization_url(app: &SigningApp) -> String {
    http::url_with_query(
        &app.config.endpoint_url(endpoints::Endpoint::Authorize),
        &[
            ("response_type", "code"),
            ("client_id", DEMO_CLIENT_ID),
            ("redirect_uri", &redirect_uri(app)),
            ("scope", "openid profile email address phone"),
            ("state", &shared::crypto::random_token(12)),
            ("nonce", &shared::crypto::random_token(12)),
        ],
    )
}

#[derive(Template)]
#[template(path = "demo.html")]
struct DemoPage {
    auth_url: String,
    error: Option<String>,
    state: Option<String>,
    id_token: Option<String>,
    access_token: Option<String>,
    userinfo: Option<String>,
    /// RP-initiated logout with the ID token as hint, back to the demo's start page.
    logout_url: Option<String>,
}

pub async fn handle(app: &SigningApp, req: Request) -> Response<Body> {
    let q = http::query(&req);
    let mut page = DemoPage {
        auth_url: authorization_url(app),
        error: None,
        state: q.get("state").map(str::to_string),
        id_token: None,
        access_token: None,
        userinfo: None,
        logout_url: None,
    };
    if req.uri().path() == CALLBACK {
        if let Some(e) = q.get("error") {
            page.error = Some(format!("{e}: {}", q.get("error_description").unwrap_or("")));
        } else if let Some(code) = q.get("code") {
            redeem(app, code, &mut page).await;
        }
    }
    let (status, body) = match page.render() {
        Ok(b) => (StatusCode::OK, b),
        Err(_) => (StatusCode::INTERNAL_SERVER_ERROR, "template error".into()),
    };
    let mut resp = http::html(status, body);
    http::no_store(&mut resp);
    resp
}

/// What an app does with a code: call the token endpoint with its credentials, then
/// userinfo with the access token (dispatched in-process, through the same handlers).
async fn redeem(app: &SigningApp, code: &str, page: &mut DemoPage) {
    let basic = base64::engine::general_purpose::STANDARD
        .encode(format!("{DEMO_CLIENT_ID}:{DEMO_CLIENT_SECRET}"));
    let form = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs([
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", &redirect_uri(app)),
        ])
        .finish();
    let token_req = lambda_http::http::Request::post("/token")
        .header("content-type", "application/x-www-form-urlencoded")
        .header("authorization", format!("Basic {basic}"))
        .body(Body::Text(form));
    let Ok(token_req) = token_req else { return };
    let tokens = body_json(endpoints::dispatch_to(app, None, token_req, handlers::signing).await);
    if let Some(e) = tokens.get("error") {
        page.error = Some(format!("token endpoint: {e}"));
        return;
    }
    page.id_token = tokens["id_token"].as_str().map(jwt_claims);
    page.logout_url = tokens["id_token"].as_str().map(|hint| {
        http::url_with_query(
            &app.config.endpoint_url(endpoints::Endpoint::Logout),
            &[
                ("id_token_hint", hint),
                (
                    "post_logout_redirect_uri",
                    &format!("{}/", app.config.issuer),
                ),
                ("state", "demo"),
            ],
        )
    });
    page.access_token = tokens["access_token"].as_str().map(jwt_claims);
    let at = tokens["access_token"].as_str().unwrap_or_default();
    if let Ok(r) = lambda_http::http::Request::get("/userinfo")
        .header("authorization", format!("Bearer {at}"))
        .body(Body::Empty)
    {
        // As a relying party would: at the userinfo endpoint, which only verifies.
        let verifying = app.with_keys::<dyn Verifier>(Arc::new(VerifyOnly(app.keys.clone())));
        let answer = endpoints::dispatch_to(&verifying, None, r, handlers::userinfo).await;
        page.userinfo = serde_json::to_string_pretty(&body_json(answer)).ok();
    }
}

fn body_json(resp: Response<Body>) -> Value {
    match resp.body() {
        Body::Text(t) => serde_json::from_str(t).unwrap_or(Value::Null),
        Body::Binary(b) => serde_json::from_slice(b).unwrap_or(Value::Null),
        _ => Value::Null,
    }
}

/// A JWT's payload, pretty-printed (display only: the demo trusts its own token endpoint).
fn jwt_claims(jwt: &str) -> String {
    jwt.split('.')
        .nth(1)
        .and_then(|p| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(p)
                .ok()
        })
        .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
        .and_then(|v| serde_json::to_string_pretty(&v).ok())
        .unwrap_or_default()
}
