//! Protocol rules, free of I/O: scopes and the claims table, PKCE, client URIs and
//! redirect_uri matching, the registration policy, the release rule, and the validation of authorization
//! requests.
pub mod acr;
pub mod authorize_request;
pub mod claims;
pub mod pkce;
pub mod redirect_uri;
pub mod registration_policy;
pub mod release;
pub mod scope;
