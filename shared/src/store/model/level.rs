//! A level of sign-in as records keep it (a client's least level, a request's). What each
//! level means, and how a sign-in reaches it, is `protocol::acr`'s.
use serde::{Deserialize, Serialize};

/// How strongly a person proved who they are. Each level meets every request for itself
/// or a lower one.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(rename_all = "kebab-case")]
pub enum Level {
    #[default]
    Password,
    TwoFactor,
    PhishingResistant,
}
