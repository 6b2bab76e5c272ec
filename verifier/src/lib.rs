//! Verifies this provider's access tokens in a resource server written in Rust.
//!
//! The rules are those of API Gateway's HTTP API JWT authorizer, so a route behind the
//! authorizer and a function that verifies for itself accept the same tokens: the `kid`
//! names a key of the issuer's JWK Set, `iss` is the issuer, `aud` (or `client_id` when
//! there is no `aud`) is an accepted audience, `exp` is after now, `nbf` and `iat` are not
//! after now, and a route's scopes are checked against `scope` or `scp`
//! (<https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-jwt-authorizer.html>).
//! On top of those, by default, RFC 9068's: `typ` is `at+jwt` (§4), which the authorizer
//! cannot check, so an ID token is never taken for an access token whatever the audience
//! configuration; and only the algorithms this provider signs with (RS256, ES256) verify.
//!
//! ```no_run
//! # async fn f(bearer: &str) -> Result<(), oidc_verifier::Refusal> {
//! use oidc_verifier::{Rules, Verifier};
//! let verifier = Verifier::new(Rules::new("https://id.example.com", "https://api.example.com"))?;
//! let token = verifier.verify(bearer).await?;
//! token.require_any_scope(&["orders:read"])?;
//! println!("{} via {}", token.sub().unwrap_or("?"), token.client_id().unwrap_or("?"));
//! # Ok(()) }
//! ```
mod keys;
mod refusal;
mod rules;
#[cfg(test)]
mod rules_tests;
#[cfg(test)]
mod testkit;
mod token;

#[cfg(feature = "fetch")]
mod remote;

pub use keys::{Alg, KeySet};
pub use refusal::Refusal;
pub use rules::Rules;
pub use token::AccessToken;

#[cfg(feature = "fetch")]
pub use remote::{STALE_FOR, Verifier, bearer};

/// Seconds since the Unix epoch, as JWT times are (RFC 7519 §2 NumericDate).
pub fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}
