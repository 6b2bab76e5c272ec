//! `GET /federation/jwks`: the public half of our client key (`federation::client_key`), the
//! `jwks_uri` an upstream is given for our `private_key_jwt` client authentication (RFC 7523
//! §2.2, RFC 7591 §2). An empty set without a client key. It is not the provider's JWKS: no
//! relying party verifies our tokens with it, and no token of ours is signed with it.
use lambda_http::{Body, Response};

use crate::{App, OAuthError, endpoints::jwks, federation::broker::Federating};

pub async fn handle<S: ?Sized>(app: &App<S, Federating>) -> Response<Body> {
    let Some(key) = &app.keys.client_key else {
        return jwks::key_set(jwks::document(&[]));
    };
    match key.public_keys().await {
        Ok(keys) => jwks::key_set(jwks::document(&keys)),
        Err(e) => OAuthError::from(e).to_json_response(),
    }
}
