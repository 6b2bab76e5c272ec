//! Upstream federation, the outbound side: this provider as an OpenID Connect relying party
//! of another ("Continue with Google"). The callback endpoint drives it in this order:
//!
//! 1. [`UpstreamCache::metadata`]: the upstream's discovery document, validated
//!    (OIDC Discovery §4.3) and kept per container;
//! 2. [`authorization_url`]: where to send the browser, with `state`, `nonce` and a PKCE S256
//!    challenge (OIDC Core §3.1.2.1, RFC 7636);
//! 3. on the way back, [`UpstreamError::authorization`] for an `error=` response
//!    (RFC 6749 §4.1.2.1) and [`check_response_issuer`] for its `iss` (RFC 9207);
//! 4. [`exchange_code`]: the code for tokens (RFC 6749 §4.1.3, §5.2);
//! 5. [`UpstreamCache::verify_id_token`]: the ID token, completely (OIDC Core §3.1.3.7);
//! 6. optionally [`userinfo`] (OIDC Core §5.3).
//!
//! HTTP goes through the [`Fetch`] trait; [`HttpFetch`] is the real client (rustls on
//! aws-lc-rs). Every failure is an [`UpstreamError`] whose Display suits an audit log and a
//! person, and never holds a secret or a token.
pub mod authorize;
pub mod cache;
pub mod error;
pub mod exchange;
pub mod fetch;
pub mod id_token;
pub mod jwks;
pub mod metadata;
pub mod userinfo;

#[cfg(test)]
mod http_tests;
#[cfg(test)]
mod testkit;

pub use authorize::{AuthorizationRequest, authorization_url, check_response_issuer};
pub use cache::UpstreamCache;
pub use error::{FetchError, IdTokenError, Step, UpstreamError};
pub use exchange::{ClientAuthMethod, ClientCredentials, TokenResponse, exchange_code};
pub use fetch::{Fetch, HttpFetch};
pub use id_token::{Expect, IdClaims, verify_id_token};
pub use jwks::Jwks;
pub use metadata::{Metadata, discover};
pub use userinfo::userinfo;
