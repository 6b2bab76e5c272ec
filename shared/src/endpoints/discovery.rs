//! OpenID Provider Metadata (OIDC Discovery 1.0 §3): advertises exactly what is implemented.
use lambda_http::{Body, Response, http::StatusCode};
use serde_json::json;

use super::Endpoint;
use crate::{
    App, http,
    protocol::{acr, scope},
    signer::Verifier,
};

const AUTH_METHODS: [&str; 4] = [
    "client_secret_basic",
    "client_secret_post",
    "private_key_jwt",
    "none",
];

/// Every claim an ID token or userinfo may carry: the scopes' claims, and those that say how
/// the person signed in (`acr`, `amr`, `idp` after an upstream provider, `sid` for logout).
fn claims_supported() -> Vec<&'static str> {
    let mut all = scope::all_claims();
    all.extend(["acr", "amr", "idp", "sid"]);
    all
}

pub async fn handle<K: Verifier + ?Sized, S: ?Sized>(app: &App<S, K>) -> Response<Body> {
    // Every published key's algorithm: tokens signed by a previous key remain valid.
    let algs: Vec<&str> = match &app.config.signing_algs {
        Some(declared) => declared.iter().map(|a| a.as_str()).collect(),
        None => match app.keys.public_keys().await {
            Ok(keys) => keys.iter().map(|k| k.alg.as_str()).collect(),
            Err(e) => return crate::OAuthError::from(e).to_json_response(),
        },
    };
    let algs = algs.into_iter().fold(Vec::new(), |mut v, a| {
        if !v.contains(&a) {
            v.push(a);
        }
        v
    });
    let doc = app.rendered(format!("discovery {}", algs.join(",")), || {
        document(&app.config, &algs).to_string()
    });
    let mut resp = http::response(
        StatusCode::OK,
        "application/json",
        Body::Text(doc.to_string()),
    );
    http::set_header(&mut resp, "cache-control", "public, max-age=300");
    http::set_header(&mut resp, "access-control-allow-origin", "*");
    resp
}

fn document(c: &crate::Config, algs: &[&str]) -> serde_json::Value {
    let doc = json!({
        "issuer": c.issuer,
        "authorization_endpoint": c.endpoint_url(Endpoint::Authorize),
        "token_endpoint": c.endpoint_url(Endpoint::Token),
        "userinfo_endpoint": c.endpoint_url(Endpoint::Userinfo),
        "jwks_uri": c.endpoint_url(Endpoint::Jwks),
        "revocation_endpoint": c.endpoint_url(Endpoint::Revocation),
        "introspection_endpoint": c.endpoint_url(Endpoint::Introspection),
        "end_session_endpoint": c.endpoint_url(Endpoint::Logout),
        "scopes_supported": scope::SUPPORTED,
        "response_types_supported": ["code"],
        "response_modes_supported": ["query", "form_post"],
        "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": algs,
        "token_endpoint_auth_methods_supported": AUTH_METHODS,
        "token_endpoint_auth_signing_alg_values_supported": ["RS256", "ES256"],
        "revocation_endpoint_auth_methods_supported": AUTH_METHODS,
        "introspection_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "private_key_jwt"],
        "code_challenge_methods_supported": ["S256"],
        "claims_supported": claims_supported(),
        "claims_parameter_supported": true,
        "acr_values_supported": acr::SUPPORTED,
        "request_parameter_supported": false,
        "request_uri_parameter_supported": false,
        "authorization_response_iss_parameter_supported": true,
        "prompt_values_supported": ["none", "login", "consent"],
    });
    let mut doc = doc;
    if c.registration != crate::config::Registration::Disabled {
        doc["registration_endpoint"] = json!(c.endpoint_url(Endpoint::Registration));
    }
    doc
}
