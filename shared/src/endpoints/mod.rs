//! One module per endpoint, and the route table every edge (Lambda, local server,
//! `template.yaml`) is checked against.
mod access_token;
pub mod account;
pub mod authorize;
pub mod authz_response;
pub mod client_auth;
pub mod discovery;
#[cfg(feature = "federation")]
pub mod federation;
pub mod forms;
pub mod handlers;
pub mod id_token_hint;
pub mod introspection;
pub mod jwks;
pub mod liveness;
pub mod login;
pub mod logout;
pub mod registration;
pub mod revocation;
pub mod session;
pub mod token;
pub mod userinfo;

use lambda_http::{Body, Request, Response, http::Method};

pub use crate::paths::Endpoint;
use crate::{App, OAuthError, app::SigningApp, error::ErrorCode, signer::Verifier, store::Store};

pub struct Route {
    pub method: Method,
    pub endpoint: Endpoint,
}

/// The provider's HTTP API: the single source of truth for routes.
pub fn routes() -> &'static [Route] {
    &ROUTES
}

const fn r(method: Method, endpoint: Endpoint) -> Route {
    Route { method, endpoint }
}

// Built once, not per request: every request looks its route up here.
static ROUTES: [Route; 27] = {
    use Endpoint::*;
    [
        r(Method::GET, Discovery),
        r(Method::GET, Jwks),
        r(Method::GET, Authorize),
        r(Method::POST, Authorize),
        r(Method::GET, Login),
        r(Method::POST, Login),
        r(Method::POST, PasskeySignIn),
        r(Method::GET, TotpSignIn),
        r(Method::POST, TotpSignIn),
        r(Method::GET, Consent),
        r(Method::POST, Consent),
        r(Method::POST, Token),
        r(Method::GET, Userinfo),
        r(Method::POST, Userinfo),
        r(Method::POST, Revocation),
        r(Method::POST, Introspection),
        r(Method::GET, Logout),
        r(Method::POST, Logout),
        r(Method::POST, Registration),
        r(Method::GET, Registration),
        r(Method::PUT, Registration),
        r(Method::DELETE, Registration),
        r(Method::GET, FederationStart),
        r(Method::GET, FederationCallback),
        r(Method::GET, FederationJwks),
        r(Method::GET, Account),
        r(Method::POST, Account),
    ]
};

/// The whole provider in one process, as the local server runs it: the routes of the
/// functions that hold the signer (token, jwks) on `signing`, every other on `verifying`,
/// as they are split between Lambda functions.
pub async fn dispatch(signing: &SigningApp, verifying: &App, req: Request) -> Response<Body> {
    if holds_keys(req.uri().path()) {
        dispatch_to(signing, None, req, handlers::signing).await
    } else {
        dispatch_to(verifying, None, req, handlers::verifying).await
    }
}

/// Whether `path` is served by a function that holds the signer (token signs, jwks serves
/// the keys it publishes).
pub fn holds_keys(path: &str) -> bool {
    routes()
        .iter()
        .any(|r| r.endpoint.path() == path && matches!(r.endpoint.function(), "token" | "jwks"))
}

/// Whether `path` is served by the federation function (sign-in at upstream providers).
pub fn federates(path: &str) -> bool {
    routes()
        .iter()
        .any(|r| r.endpoint.path() == path && r.endpoint.function() == "federation")
}

/// Routes a request to `handler`, one function's handlers. `function` restricts it to that
/// function's routes (`None`: the whole provider). Reads the clock once. A Lambda binary
/// links only the code its own routes reach (the token function carries no argon2,
/// userinfo no KMS).
pub async fn dispatch_to<K: Verifier + ?Sized>(
    app: &App<dyn Store, K>,
    function: Option<&str>,
    req: Request,
    handler: handlers::Handler<K>,
) -> Response<Body> {
    let path = req.uri().path();
    let mine = || {
        routes().iter().filter(|r| {
            r.endpoint.path() == path && function.is_none_or(|f| r.endpoint.function() == f)
        })
    };
    if mine().next().is_none() {
        return OAuthError::new(ErrorCode::NotFound, "no such endpoint").to_json_response();
    }
    let Some(route) = mine().find(|r| r.method == req.method()) else {
        let allow: Vec<&str> = mine().map(|r| r.method.as_str()).collect();
        let mut resp =
            OAuthError::new(ErrorCode::MethodNotAllowed, "method not allowed").to_json_response();
        crate::http::set_header(&mut resp, "allow", &allow.join(", "));
        return resp;
    };
    if crate::http::body_bytes(&req).len() > crate::http::MAX_BODY {
        return OAuthError::invalid_request("request body too large").to_json_response();
    }
    let now = app.clock.now();
    let mut resp = handler(app, route.endpoint, &req, now).await;
    // RFC 6797: an https provider is only ever reached over https from now on.
    if app.config.secure_cookies() {
        crate::http::set_header(
            &mut resp,
            "strict-transport-security",
            "max-age=63072000; includeSubDomains",
        );
    }
    resp
}

#[cfg(all(test, feature = "embedded"))]
#[allow(clippy::expect_used)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::{
        Config,
        clock::SystemClock,
        signer::{Alg, local::LocalSigner},
        store::embedded::EmbeddedStore,
    };

    async fn answer(issuer: &str, method: Method, path: &str) -> Response<Body> {
        let store = Arc::new(EmbeddedStore::in_memory().expect("store"));
        let signer = Arc::new(LocalSigner::generate(Alg::ES256).expect("key"));
        let app: SigningApp = App::new(
            Config::new(issuer).expect("config"),
            store,
            signer,
            Arc::new(SystemClock),
        );
        let verifying = app.with_keys::<dyn crate::signer::Verifier>(Arc::new(
            crate::signer::VerifyOnly(app.keys.clone()),
        ));
        let req = lambda_http::http::Request::builder()
            .method(method)
            .uri(path)
            .body(Body::Empty)
            .expect("request");
        dispatch(&app, &verifying, req).await
    }

    #[tokio::test]
    async fn hsts_on_https_issuers_only() {
        let https = answer("https://id.example.com", Method::GET, "/jwks.json").await;
        assert_eq!(
            https.headers()["strict-transport-security"],
            "max-age=63072000; includeSubDomains"
        );
        let http = answer("http://127.0.0.1:8080", Method::GET, "/jwks.json").await;
        assert!(http.headers().get("strict-transport-security").is_none());
    }

    #[tokio::test]
    async fn routing_errors_are_json() {
        assert_eq!(
            answer("https://id.example.com", Method::GET, "/nope")
                .await
                .status(),
            404
        );
        let wrong = answer("https://id.example.com", Method::DELETE, "/token").await;
        assert_eq!(wrong.status(), 405);
        assert_eq!(wrong.headers()["allow"], "POST");
    }
}
