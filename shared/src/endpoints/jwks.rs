//! The JSON Web Key Set (RFC 7517 §5): every published key, so tokens signed by a previous
//! or next key verify too.
use lambda_http::{Body, Response, http::StatusCode};
use serde_json::json;

use crate::{App, OAuthError, http, signer::Verifier};

pub async fn handle<K: Verifier + ?Sized, S: ?Sized>(app: &App<S, K>) -> Response<Body> {
    match app.keys.public_keys().await {
        Ok(keys) => {
            let kids: Vec<&str> = keys.iter().map(|k| k.kid.as_str()).collect();
            let doc = app.rendered(format!("jwks {}", kids.join(",")), || {
                let jwks: Vec<_> = keys.iter().map(|k| k.jwk.clone()).collect();
                json!({ "keys": jwks }).to_string()
            });
            let mut resp = http::response(
                StatusCode::OK,
                "application/jwk-set+json",
                Body::Text(doc.to_string()),
            );
            http::set_header(&mut resp, "cache-control", "public, max-age=300");
            http::set_header(&mut resp, "access-control-allow-origin", "*");
            resp
        }
        Err(e) => OAuthError::from(e).to_json_response(),
    }
}
