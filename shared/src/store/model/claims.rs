//! Claims beyond the standard ones: those a deployer defines, and those asked for one by one.
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Where a custom claim is released.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClaimTarget {
    IdToken,
    AccessToken,
    Userinfo,
}

fn both_tokens() -> Vec<ClaimTarget> {
    vec![ClaimTarget::IdToken, ClaimTarget::AccessToken]
}

/// A deployer-defined claim. Names are namespaced (absolute URIs, e.g.
/// `https://example.com/roles`), so they can never shadow a standard or registered claim.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct CustomClaim {
    pub name: String,
    pub value: Value,
    /// Default: the ID token and the access token.
    #[serde(default = "both_tokens")]
    pub tokens: Vec<ClaimTarget>,
    /// The scope that carries this claim (a user's custom claim is released with it);
    /// None: only to clients allowed it by name (`allowed_claims`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
}

/// Claims released individually, beyond what the scopes carry (`protocol::release`): those
/// asked for with the `claims` request parameter (OIDC Core §5.5), by where they go, and a
/// person's custom claims the client is allowed by name. Only standard claims are kept from
/// the parameter; essential and voluntary ones are both released when the user has them
/// (§5.5.1: the OP may not have every claim).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct RequestedClaims {
    #[serde(default)]
    pub userinfo: Vec<String>,
    #[serde(default)]
    pub id_token: Vec<String>,
    /// The person's custom claims released by name (set once the person is known).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub custom: Vec<String>,
    /// The `acr` values the request asked for (`acr_values`, an `acr` claim's values) that
    /// this provider knows, in the request's order: the least level they ask for binds the
    /// sign-in, and the ID token states the highest of them it meets (`protocol::acr`).
    /// Records from before levels kept an essential claim's values as `acr_essential`.
    #[serde(
        default,
        alias = "acr_essential",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub acr_values: Vec<String>,
}

impl RequestedClaims {
    pub fn is_empty(&self) -> bool {
        self.userinfo.is_empty()
            && self.id_token.is_empty()
            && self.custom.is_empty()
            && self.acr_values.is_empty()
    }
}
