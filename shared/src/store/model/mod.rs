//! Records kept by every store backend. Field names are the storage attribute names
//! (DynamoDB items are these structs through serde_dynamo).
mod claims;
mod client;
mod factors;
mod federation;
mod grant;
mod keys;
mod level;
mod provider;
mod request;
mod session;
mod user;

pub use claims::{ClaimTarget, CustomClaim, RequestedClaims};
pub use client::{AuthMethod, Client};
pub use factors::{Factors, Passkey, Registration, TotpFactor};
pub use federation::{AccountLink, FederationAttempt};
pub use grant::{AuthCode, CodeRedemption, Minted, RefreshToken};
pub use keys::{PublishedKey, PublishedKeys, WrappedKey};
pub use level::Level;
pub use provider::{
    DEFAULT_UPSTREAM_SCOPES, InvalidProvider, MAX_ISSUER_LEN, SealedSecret, TENANT_TEMPLATE,
    UpstreamAuth, UpstreamProvider, is_provider_id,
};
pub use request::{
    ACCOUNT_CLIENT_ID, ACCOUNT_SHOWN_AS, AuthRequest, ProviderButton, ResponseMode, SecondFactorDue,
};
pub use session::{Consent, Session};
pub use user::User;

/// Zero means "none" in the `*_ms` and stamp fields, so it is left out of the stored record.
fn is_zero(v: &i64) -> bool {
    *v == 0
}
