//! Upstream federation, the outbound side: this provider as an OpenID Connect relying party
//! of another ("Continue with Google"). The callback endpoint drives it in this order:
//!
//! 1. [`upstream::UpstreamCache::metadata`]: the upstream's discovery document, validated
//!    (OIDC Discovery §4.3) and kept per container;
//! 2. [`upstream::authorization_url`]: where to send the browser, with `state`, `nonce` and a PKCE S256
//!    challenge (OIDC Core §3.1.2.1, RFC 7636);
//! 3. on the way back, [`upstream::UpstreamError::authorization`] for an `error=` response
//!    (RFC 6749 §4.1.2.1) and [`upstream::check_response_issuer`] for its `iss` (RFC 9207);
//! 4. [`upstream::exchange_code`]: the code for tokens (RFC 6749 §4.1.3, §5.2), with the
//!    opened client secret or a client assertion signed with our [`client_key`];
//! 5. [`upstream::UpstreamCache::verify_id_token`]: the ID token, completely (OIDC Core §3.1.3.7);
//! 6. optionally [`upstream::userinfo`] (OIDC Core §5.3).
//!
//! HTTP goes through the [`upstream::Fetch`] trait; [`upstream::HttpFetch`] is the real client (rustls on
//! aws-lc-rs). Every failure is an [`upstream::UpstreamError`] whose Display suits an audit log and a
//! person, and never holds a secret or a token.
//!
//! [`seal`] is built into every configuration (the admin tool and seed files seal client
//! secrets); the outbound client is the `federation` feature's.
#[cfg(feature = "federation")]
pub mod broker;
#[cfg(feature = "federation")]
pub mod client_key;
pub mod seal;
#[cfg(feature = "federation")]
pub mod upstream;
