//! Authentication Context Class References (OIDC Core §2 `acr`): how the person proved who
//! they are. Today there is one way, a password; a client asking for another class as an
//! essential claim gets `unmet_authentication_requirements` (Core §5.5.1.1), never an ID
//! token that pretends.

/// A password, checked against its argon2id hash.
pub const PASSWORD: &str = "urn:oidc-serverless:acr:password";

/// `acr_values_supported` in discovery.
pub const SUPPORTED: &[&str] = &[PASSWORD];

/// The class of every sign-in this provider performs.
pub fn of_sign_in() -> &'static str {
    PASSWORD
}
