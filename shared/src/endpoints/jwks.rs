//! The JSON Web Key Set (RFC 7517 §5): every published key, so tokens signed by a previous
//! or next key verify too.
use lambda_http::{Body, Response, http::StatusCode};
use serde_json::json;

use crate::{App, OAuthError, http, jose::PublicKey, signer::Verifier};

pub async fn handle<K: Verifier + ?Sized, S: ?Sized>(app: &App<S, K>) -> Response<Body> {
    match app.keys.public_keys().await {
        Ok(keys) => {
            let kids: Vec<&str> = keys.iter().map(|k| k.kid.as_str()).collect();
            let doc = app.rendered(format!("jwks {}", kids.join(",")), || document(&keys));
            key_set(doc.to_string())
        }
        Err(e) => OAuthError::from(e).to_json_response(),
    }
}

/// The JWK Set document of `keys`.
pub fn document(keys: &[PublicKey]) -> String {
    let jwks: Vec<_> = keys.iter().map(|k| k.jwk.clone()).collect();
    json!({ "keys": jwks }).to_string()
}

/// A JWK Set as served: cacheable for five minutes, readable from any origin.
pub fn key_set(doc: String) -> Response<Body> {
    let mut resp = http::response(StatusCode::OK, "application/jwk-set+json", Body::Text(doc));
    http::set_header(&mut resp, "cache-control", "public, max-age=300");
    http::set_header(&mut resp, "access-control-allow-origin", "*");
    resp
}
