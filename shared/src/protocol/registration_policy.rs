//! What a dynamically registered client may be (RFC 7591 §2 and §5, RFC 9700 §2.3:
//! registration is subject to the server's policy). Anyone who can reach `/register` chooses
//! the metadata, so the policy, not the request, decides the scopes, grant types,
//! authentication methods, kinds of redirect URI and trust such a client gets. It is applied
//! when a client registers or updates itself (RFC 7592), and again whenever one is used, so
//! narrowing the policy narrows the clients registered before. (Its settings are read by
//! `config::registration`.)
use crate::{
    protocol::{redirect_uri::Kinds, scope},
    store::{AuthMethod, Client},
};

#[derive(Debug, Clone, PartialEq)]
pub struct RegistrationPolicy {
    /// `REGISTRATION_SCOPES`: the scopes a registered client may be allowed.
    pub scopes: Vec<String>,
    /// `REGISTRATION_GRANT_TYPES`.
    pub grant_types: Vec<String>,
    /// `REGISTRATION_AUTH_METHODS`: `token_endpoint_auth_method` values.
    pub auth_methods: Vec<AuthMethod>,
    /// `REGISTRATION_REDIRECT_URIS`: the kinds of redirect and post-logout redirect URI.
    pub redirect_uris: Kinds,
    /// `REGISTRATION_TRUSTED`: whether the provider may send a browser to a registered
    /// client's URIs before the person has signed in (RFC 9700 §4.11.2).
    pub trusted: bool,
}

/// The grant types a policy may allow.
pub const GRANTS: [&str; 3] = ["authorization_code", "refresh_token", "client_credentials"];
/// The client authentication methods a policy may allow.
pub const METHODS: [AuthMethod; 4] = [
    AuthMethod::ClientSecretBasic,
    AuthMethod::ClientSecretPost,
    AuthMethod::PrivateKeyJwt,
    AuthMethod::None,
];

impl Default for RegistrationPolicy {
    /// The standard OpenID Connect scopes, the code flow with refresh, any authentication
    /// method; https and loopback redirect URIs (web and desktop apps: a private-use scheme
    /// opens whichever app on the device claims it, and nothing ties that name to the
    /// registrant, RFC 8252 §8.6); untrusted.
    fn default() -> Self {
        Self {
            scopes: scope::SUPPORTED.iter().map(|s| s.to_string()).collect(),
            grant_types: vec!["authorization_code".into(), "refresh_token".into()],
            auth_methods: METHODS.to_vec(),
            redirect_uris: Kinds {
                https: true,
                loopback: true,
                private_use: false,
            },
            trusted: false,
        }
    }
}

impl RegistrationPolicy {
    pub fn allows_method(&self, m: AuthMethod) -> bool {
        self.auth_methods.contains(&m)
    }

    /// A client as the current policy lets it act: a dynamically registered one keeps only
    /// the grant types and scopes the policy still allows, is trusted only while the policy
    /// trusts registered clients, and never skips consent. Others are the administrator's.
    pub fn bound(&self, mut c: Client) -> Client {
        if c.is_dynamic() {
            c.grant_types.retain(|g| self.grant_types.contains(g));
            c.allowed_scopes.retain(|s| self.scopes.contains(s));
            c.trusted = Some(c.is_trusted() && self.trusted);
            c.skip_consent = false;
        }
        c
    }
}
