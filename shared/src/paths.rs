//! Where each endpoint lives: its path and the Lambda function that serves it. The
//! configuration turns these into public URLs (`Config::endpoint_url`); the route table
//! (`endpoints::routes`) adds the methods.

/// What a route leads to. Each belongs to one Lambda function (`function()`), which may
/// serve several paths (the login function serves the sign-in and consent pages).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    Discovery,
    Jwks,
    Authorize,
    Login,
    /// A sign-in with a passkey, posted by the sign-in page.
    PasskeySignIn,
    /// The second step of a password sign-in: a code from the person's authenticator app.
    TotpSignIn,
    Consent,
    Token,
    Userinfo,
    Revocation,
    Introspection,
    Logout,
    Registration,
    /// Sends the browser to an upstream OpenID provider (`federation`).
    FederationStart,
    /// Where the upstream provider sends the browser back.
    FederationCallback,
    /// Our client key for `private_key_jwt` at upstreams (not the provider's JWKS).
    FederationJwks,
    /// The person's own page: passkeys, second factor, sessions.
    Account,
}

impl Endpoint {
    pub fn path(self) -> &'static str {
        match self {
            Endpoint::Discovery => "/.well-known/openid-configuration",
            Endpoint::Jwks => "/jwks.json",
            Endpoint::Authorize => "/authorize",
            Endpoint::Login => "/login",
            Endpoint::PasskeySignIn => "/login/passkey",
            Endpoint::TotpSignIn => "/login/totp",
            Endpoint::Consent => "/consent",
            Endpoint::Token => "/token",
            Endpoint::Userinfo => "/userinfo",
            Endpoint::Revocation => "/revoke",
            Endpoint::Introspection => "/introspect",
            Endpoint::Logout => "/logout",
            Endpoint::Registration => "/register",
            Endpoint::FederationStart => "/federation/start",
            Endpoint::FederationCallback => "/federation/callback",
            Endpoint::FederationJwks => "/federation/jwks",
            Endpoint::Account => "/account",
        }
    }

    /// The Lambda function (workspace binary) that serves it.
    pub fn function(self) -> &'static str {
        match self {
            Endpoint::Discovery => "discovery",
            Endpoint::Jwks => "jwks",
            Endpoint::Authorize => "authorize",
            Endpoint::Login
            | Endpoint::PasskeySignIn
            | Endpoint::TotpSignIn
            | Endpoint::Consent => "login",
            Endpoint::Token => "token",
            Endpoint::Revocation => "revoke",
            Endpoint::Introspection => "introspect",
            Endpoint::Logout => "logout",
            Endpoint::Registration => "register",
            Endpoint::Userinfo => "userinfo",
            Endpoint::FederationStart | Endpoint::FederationCallback | Endpoint::FederationJwks => {
                "federation"
            }
            Endpoint::Account => "account",
        }
    }
}
