//! The outbound OpenID client (feature `federation`), in the order the callback uses it:
//! see the parent module.
pub mod authorize;
pub mod cache;
pub mod error;
pub mod exchange;
pub mod fetch;
pub mod id_token;
pub mod jwks;
pub mod metadata;
mod roots;
pub mod userinfo;

#[cfg(test)]
mod http_tests;
#[cfg(test)]
mod testkit;

pub use authorize::{AuthorizationRequest, authorization_url, check_response_issuer};
pub use cache::UpstreamCache;
pub use error::{FetchError, IdTokenError, Step, UpstreamError};
pub use exchange::{ClientAuth, ClientCredentials, TokenResponse, exchange_code};
pub use fetch::{Fetch, HttpFetch, install_crypto_provider};
pub use id_token::{Expect, IdClaims, verify_id_token};
pub use jwks::Jwks;
pub use metadata::{Metadata, discover};
pub use userinfo::userinfo;
