//! Passkeys (WebAuthn Level 3): verifying registration and assertion ceremonies.
//!
//! Pure functions, no I/O: [`creation_options`] / [`request_options`] build what the page
//! hands to `navigator.credentials`, [`RegistrationResponse::from_json`] /
//! [`AssertionResponse::from_json`] read what it posts back, and [`verify_registration`] /
//! [`verify_assertion`] apply §7.1 / §7.2. The caller owns everything stateful: the challenge
//! (stored per browser session, single use, expiring after [`TIMEOUT_MS`]), the credential
//! records, and which account a credential ID or user handle belongs to.
//!
//! Verified with aws-lc-rs and decoded with ciborium, the crate's existing dependencies
//! (webauthn-rs would bring OpenSSL). Algorithms: ES256, EdDSA (Ed25519), RS256.
mod assertion;
mod auth_data;
mod cbor;
mod client_data;
pub mod cose;
mod error;
mod options;
mod registration;
mod response;
mod rp;

pub use assertion::{Assertion, verify_assertion};
pub use auth_data::MAX_CREDENTIAL_ID_LEN;
pub use error::PasskeyError;
pub use options::{TIMEOUT_MS, creation_options, request_options};
pub use registration::{NewCredential, verify_registration};
pub use response::{AssertionResponse, MAX_USER_HANDLE_LEN, RegistrationResponse};
pub use rp::{CHALLENGE_LEN, RelyingParty, challenge};

#[cfg(test)]
mod assertion_tests;
#[cfg(test)]
mod parse_tests;
#[cfg(test)]
mod registration_tests;
#[cfg(test)]
mod testkit;
#[cfg(test)]
mod vector_tests;
#[cfg(test)]
mod vectors_data;
