//! Protocol rules, free of I/O: scopes and the claims table, PKCE, redirect_uri matching,
//! and the validation of authorization requests.
pub mod acr;
pub mod authorize_request;
pub mod claims;
pub mod pkce;
pub mod redirect_uri;
pub mod release;
pub mod scope;
