//! The provider: everything that is not a Lambda entry point.
//!
//! Data flows one way: HTTP edge (lambda_http or the local server) → [`endpoints`] →
//! [`protocol`] rules → [`store`] / [`signer`] traits → DynamoDB / KMS or their embedded twins.
#![deny(clippy::unwrap_used)]

pub mod app;
#[cfg(any(feature = "embedded", feature = "aws"))]
pub mod assembly;
#[cfg(feature = "aws")]
pub mod aws;
pub mod clock;
pub mod config;
pub mod crypto;
pub mod endpoints;
pub mod error;
pub mod federation;
pub mod http;
pub mod jose;
pub mod jwt;
#[cfg(feature = "aws")]
pub mod lambda;
pub mod pages;
pub mod passkey;
pub mod password;
pub mod paths;
pub mod protocol;
pub mod second_factor;
pub mod secret;
pub mod seed;
pub mod signer;
pub mod signin;
pub mod store;
pub mod totp;

pub use app::App;
pub use config::Config;
pub use error::OAuthError;
