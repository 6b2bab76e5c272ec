//! An authorization request in flight, and how its response travels back.
use serde::{Deserialize, Serialize};

use super::Level;
use super::{Client, RequestedClaims, User, is_zero};

fn is_default(l: &Level) -> bool {
    *l == Level::default()
}

/// An authorization request between `/authorize` and the consent decision.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct AuthRequest {
    pub id: String,
    pub client_id: String,
    pub redirect_uri: String,
    pub scopes: Vec<String>,
    pub state: Option<String>,
    pub nonce: Option<String>,
    pub code_challenge: Option<String>,
    #[serde(default)]
    pub response_mode: ResponseMode,
    pub prompt: Vec<String>,
    pub max_age: Option<i64>,
    pub login_hint: Option<String>,
    #[serde(default, skip_serializing_if = "RequestedClaims::is_empty")]
    pub claims: RequestedClaims,
    /// The browser that started the request (its binding cookie): forms posted from another
    /// browser are refused, which stops login CSRF.
    pub browser_id: String,
    /// The anti-CSRF token every form of this request carries.
    pub csrf: String,
    /// Set once the person has signed in for this request.
    pub sub: Option<String>,
    pub auth_time: Option<i64>,
    pub expires_at: i64,
    /// The only person this request may be completed for (OIDC Core §3.1.2.1
    /// `id_token_hint`, §5.5.1 a `sub` claim with a value).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub required_sub: Option<String>,
    /// The session the person signed in with (its `sid`), once signed in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    /// When the person signed in, in epoch milliseconds (0: not yet, or an older record).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub auth_time_ms: i64,
    /// The client as it was when the request began (without its secret's hash): what the
    /// sign-in and consent pages show and decide with, so they need no read of their own.
    /// Every token minted later applies the release rule to the client as it is then.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client: Option<Client>,
    /// The person who signed in, as they were then (without their password hash). Whether
    /// they still may is decided when the code is redeemed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<User>,
    /// The upstream provider the person signed in with (`federation`), None for a
    /// password: decides the ID token's `acr`, `amr` and `idp`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idp: Option<String>,
    /// How the person signed in: RFC 8176 `amr` values, as recorded at sign-in. Empty in
    /// records from before they were kept: then `idp` says (`protocol::acr::amr`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub amr: Vec<String>,
    /// The challenge of a passkey sign-in for this request, base64url (WebAuthn §13.4.3:
    /// random, used once): made with the request, replaced after every failed attempt, gone
    /// once the person is signed in.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub passkey_challenge: String,
    /// The least level of sign-in this request needs (`protocol::acr::required`: the
    /// deployment's, the client's and the request's, whichever is highest), decided once at
    /// `/authorize`: the sign-in page offers only the ways that reach it, and no code is
    /// issued below it.
    #[serde(default, skip_serializing_if = "is_default")]
    pub min_level: Level,
    /// The upstream providers the sign-in page offers ("Continue with ..."), as they were
    /// when the request began: the page needs no read of its own.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub providers: Vec<ProviderButton>,
    /// The right password of a person who has a second factor, checked for this request:
    /// the sign-in waits for their code (`endpoints::login::totp`). None once signed in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub second_factor: Option<SecondFactorDue>,
}

/// A sign-in halfway: the password checked, the person's code still due. It is part of the
/// request, so bound to it and to the browser that started it; and short-lived.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SecondFactorDue {
    /// The person whose password was right, as read then (without the password hash).
    pub user: User,
    /// Epoch seconds: after this the password is asked for again.
    pub expires_at: i64,
}

/// An upstream provider as the sign-in page shows it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ProviderButton {
    pub id: String,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logo_uri: Option<String>,
}

/// The client id of a sign-in the account page starts for itself (`endpoints::account`):
/// no client has it (registered ids never start with `#`), and a sign-in for it goes back
/// to the account page, never to consent or a redirect URI.
pub const ACCOUNT_CLIENT_ID: &str = "#account";

/// What the sign-in page calls the account page, where it names the application.
pub const ACCOUNT_SHOWN_AS: &str = "your account";

impl AuthRequest {
    /// Whether this is the account page's own sign-in rather than a client's request.
    pub fn for_account(&self) -> bool {
        self.client_id == ACCOUNT_CLIENT_ID
    }

    /// When the person signed in for this request, in epoch milliseconds (0: not yet).
    pub fn signed_in_ms(&self) -> i64 {
        if self.auth_time_ms > 0 {
            self.auth_time_ms
        } else {
            self.auth_time.unwrap_or(0).saturating_mul(1000)
        }
    }
}

/// How the authorization response travels back to the client (OAuth 2.0 Multiple Response
/// Type Encoding Practices; Form Post Response Mode).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResponseMode {
    #[default]
    Query,
    FormPost,
}

impl ResponseMode {
    pub fn parse(v: Option<&str>) -> Option<ResponseMode> {
        match v {
            None | Some("query") => Some(ResponseMode::Query),
            Some("form_post") => Some(ResponseMode::FormPost),
            Some(_) => None,
        }
    }
}
