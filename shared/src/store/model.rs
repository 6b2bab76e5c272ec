//! Records kept by every store backend. Field names are the storage attribute names
//! (DynamoDB items are these structs through serde_dynamo).
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// RFC 7591 §2 `token_endpoint_auth_method` values we accept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthMethod {
    ClientSecretBasic,
    ClientSecretPost,
    /// A public client: no secret, PKCE required.
    None,
    /// RFC 7523 §2.2: a JWT signed with a key from the client's registered `jwks`.
    PrivateKeyJwt,
}

impl AuthMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            AuthMethod::ClientSecretBasic => "client_secret_basic",
            AuthMethod::ClientSecretPost => "client_secret_post",
            AuthMethod::None => "none",
            AuthMethod::PrivateKeyJwt => "private_key_jwt",
        }
    }
}

#[derive(Clone, Serialize, Deserialize, PartialEq)]
pub struct Client {
    pub client_id: String,
    pub client_name: String,
    /// An https logo shown on the consent page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logo_uri: Option<String>,
    /// SHA-256 (base64url) of the secret; secrets are high-entropy values (≥ 32 characters),
    /// so a fast hash suffices and keeps the token endpoint fast.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_hash: Option<String>,
    pub auth_method: AuthMethod,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub redirect_uris: Vec<String>,
    pub allowed_scopes: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub grant_types: Vec<String>,
    /// A first-party application: signing in implies consent, no consent page is shown.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub skip_consent: bool,
    /// Where RP-initiated logout may return the browser (exact match).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub post_logout_redirect_uris: Vec<String>,
    /// Claims added to this client's tokens (namespaced names).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub custom_claims: Vec<CustomClaim>,
    /// The client's public keys (a JWK Set) for private_key_jwt.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwks: Option<Value>,
    /// SHA-256 of the RFC 7592 registration access token, for dynamically registered clients.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registration_token_hash: Option<String>,
    /// Individual claims (standard claim names or custom claim names) the administrator lets
    /// this client receive beyond what its allowed scopes carry.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allowed_claims: Vec<String>,
    /// Whether the provider may send the browser to this client's URIs before the person has
    /// signed in (RFC 9700 §4.11.2). None: trusted unless dynamically registered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trusted: Option<bool>,
    /// Epoch milliseconds: tokens issued to this client before it (a secret rotation) are
    /// dead (0: none).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub tokens_valid_after_ms: i64,
}

fn is_zero(v: &i64) -> bool {
    *v == 0
}

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

impl Client {
    pub fn is_public(&self) -> bool {
        self.auth_method == AuthMethod::None
    }
    pub fn allows_grant(&self, grant: &str) -> bool {
        self.grant_types.iter().any(|g| g == grant)
    }
    /// Registered through RFC 7591 rather than by an administrator.
    pub fn is_dynamic(&self) -> bool {
        self.registration_token_hash.is_some()
    }
    /// Administrator-created clients are trusted; dynamically registered ones only if the
    /// registration policy said so.
    pub fn is_trusted(&self) -> bool {
        self.trusted.unwrap_or(!self.is_dynamic())
    }
    /// A first-party client: signing in implies consent. Never a dynamically registered one.
    pub fn implies_consent(&self) -> bool {
        self.skip_consent && !self.is_dynamic()
    }
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("client_id", &self.client_id)
            .field("auth_method", &self.auth_method)
            .field("redirect_uris", &self.redirect_uris)
            .finish_non_exhaustive()
    }
}

#[derive(Clone, Serialize, Deserialize, PartialEq)]
pub struct User {
    /// The stable, never reassigned subject identifier.
    pub sub: String,
    pub username: String,
    /// argon2id PHC string.
    pub password_hash: String,
    /// Standard claims (OIDC Core §5.1) by name.
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub claims: Map<String, Value>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub disabled: bool,
    /// Claims added to this user's tokens, on top of the client's (same name: the user's wins).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub custom_claims: Vec<CustomClaim>,
    /// Epoch seconds: sessions signed in and tokens issued until then are dead. Set on a
    /// password change, when the user is disabled or signed out everywhere (0: nothing
    /// ended). Kept for records written before `tokens_valid_after_ms`, and for display.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub tokens_valid_after: i64,
    /// The same instant in epoch milliseconds, so that a token issued in the same second
    /// before the change is not mistaken for one issued after it.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub tokens_valid_after_ms: i64,
}

impl User {
    pub fn email(&self) -> Option<&str> {
        self.claims.get("email").and_then(Value::as_str)
    }

    /// When the user's sessions and tokens last ended, in epoch milliseconds. A record from
    /// before millisecond stamps says only the second: the whole of it counts as before.
    pub fn valid_after_ms(&self) -> i64 {
        match (self.tokens_valid_after_ms, self.tokens_valid_after) {
            (0, 0) => 0,
            (0, secs) => secs.saturating_mul(1000).saturating_add(999),
            (ms, _) => ms,
        }
    }

    /// Whether something issued at `issued_ms` (epoch milliseconds) for this user is still
    /// alive: the user is enabled and has not ended their sessions since. Strictly after:
    /// what was issued in the very millisecond of the change counts as issued before it.
    pub fn accepts(&self, issued_ms: i64) -> bool {
        !self.disabled && issued_ms > self.valid_after_ms()
    }

    /// Ends every session and token issued before `now_ms`: on every password change,
    /// disable and sign-out everywhere, whatever the path.
    pub fn end_sessions(&mut self, now_ms: i64) {
        self.tokens_valid_after_ms = now_ms;
        self.tokens_valid_after = now_ms.div_euclid(1000);
    }

    /// Sets the password's hash. A changed password ends every session and refresh token,
    /// whatever the path (seed file, admin command line, self-service).
    pub fn set_password_hash(&mut self, hash: String, now_ms: i64) {
        if hash != self.password_hash {
            self.password_hash = hash;
            self.end_sessions(now_ms);
        }
    }

    /// A new, enabled user. A `sub` chosen by an administrator may have been someone's
    /// before: whatever was issued to that someone stays dead.
    pub fn new(
        sub: Option<String>,
        username: String,
        password_hash: String,
        claims: Map<String, Value>,
        custom_claims: Vec<CustomClaim>,
        now_ms: i64,
    ) -> User {
        let chosen = sub.is_some();
        let mut user = User {
            sub: sub.unwrap_or_else(|| crate::crypto::random_token(16)),
            username,
            password_hash,
            claims,
            disabled: false,
            custom_claims,
            tokens_valid_after: 0,
            tokens_valid_after_ms: 0,
        };
        if chosen {
            user.end_sessions(now_ms);
        }
        user
    }
}

impl std::fmt::Debug for User {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("User")
            .field("sub", &self.sub)
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
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
}

impl Client {
    /// What a request keeps of its client: what the sign-in and consent pages show and
    /// decide with (name, logo, scopes and claims it may have, first party or not, registered
    /// or not), not its secret's hash, URIs, keys or own claims. Small, so a request item
    /// stays under a write unit.
    pub fn snapshot(&self) -> Client {
        Client {
            secret_hash: None,
            redirect_uris: vec![],
            post_logout_redirect_uris: vec![],
            custom_claims: vec![],
            jwks: None,
            grant_types: vec![],
            ..self.clone()
        }
    }
}

impl User {
    /// This user without their password hash: to keep beside a request or a code.
    pub fn snapshot(&self) -> User {
        User {
            password_hash: String::new(),
            ..self.clone()
        }
    }
}

impl AuthRequest {
    /// When the person signed in for this request, in epoch milliseconds (0: not yet).
    pub fn signed_in_ms(&self) -> i64 {
        if self.auth_time_ms > 0 {
            self.auth_time_ms
        } else {
            self.auth_time.unwrap_or(0).saturating_mul(1000)
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Session {
    /// SHA-256 of the cookie value.
    pub id_hash: String,
    pub sub: String,
    pub auth_time: i64,
    pub expires_at: i64,
    /// The session's public identifier (OIDC Front-/Back-Channel Logout `sid`, in ID tokens):
    /// random, never derived from the cookie.
    #[serde(default)]
    pub sid: String,
    /// `auth_time` in epoch milliseconds (0 in older records: `auth_time` then counts).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub auth_time_ms: i64,
}

impl Session {
    /// When the person signed in, in epoch milliseconds.
    pub fn signed_in_ms(&self) -> i64 {
        if self.auth_time_ms > 0 {
            self.auth_time_ms
        } else {
            self.auth_time.saturating_mul(1000)
        }
    }
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
    /// `acr` was asked for (the `claims` parameter or `acr_values`): the ID token states it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub acr: bool,
}

impl RequestedClaims {
    pub fn is_empty(&self) -> bool {
        self.userinfo.is_empty() && self.id_token.is_empty() && self.custom.is_empty() && !self.acr
    }
}

/// A person's standing consent for a client: later requests within these scopes need no
/// consent page (single sign-on across applications).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Consent {
    pub sub: String,
    pub client_id: String,
    #[serde(default)]
    pub scopes: Vec<String>,
    /// Claims agreed to individually (the `claims` parameter, custom claims released by
    /// name), beyond what the scopes carry.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub claims: Vec<String>,
    pub granted_at: i64,
}

impl Consent {
    /// Widens this consent by `agreed`'s scopes and claims: what was agreed to before stays.
    /// Both lists come back sorted, as every store reads them.
    pub fn widen(&mut self, agreed: &Consent) {
        self.scopes.extend(agreed.scopes.iter().cloned());
        self.claims.extend(agreed.claims.iter().cloned());
        self.granted_at = agreed.granted_at;
        self.normalize();
    }

    /// Scopes and claims sorted, without repeats: order means nothing in a consent.
    pub fn normalize(&mut self) {
        for list in [&mut self.scopes, &mut self.claims] {
            list.sort();
            list.dedup();
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

/// What a code turned into, kept on the code so a replay can revoke it (RFC 6749 §4.1.2):
/// the grant every token minted from it belongs to (access tokens carry it as `gid`,
/// refresh tokens store it), and how long revoking it must last.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Minted {
    pub grant_id: String,
    pub revoke_until: i64,
}

/// A refresh token, stored by its SHA-256. The tokens of one grant form a chain: every use
/// rotates the token (RFC 9700 §4.14.2), and presenting a used one revokes the grant.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RefreshToken {
    pub token_hash: String,
    pub grant_id: String,
    pub client_id: String,
    pub sub: String,
    pub scopes: Vec<String>,
    pub auth_time: i64,
    pub issued_at: i64,
    /// The grant's absolute end: rotation never extends it.
    pub expires_at: i64,
    /// Set when it was exchanged for its successor.
    pub used_at: Option<i64>,
    #[serde(default, skip_serializing_if = "RequestedClaims::is_empty")]
    pub claims: RequestedClaims,
    /// `issued_at` in epoch milliseconds (0 in older records: `issued_at` then counts).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub issued_at_ms: i64,
    /// The sign-in session the grant came from (`sid` of its ID tokens).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
}

impl RefreshToken {
    /// When it was issued, in epoch milliseconds.
    pub fn issued_ms(&self) -> i64 {
        if self.issued_at_ms > 0 {
            self.issued_at_ms
        } else {
            self.issued_at.saturating_mul(1000)
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct AuthCode {
    /// SHA-256 of the code.
    pub code_hash: String,
    pub client_id: String,
    pub redirect_uri: String,
    pub scopes: Vec<String>,
    pub nonce: Option<String>,
    pub code_challenge: Option<String>,
    pub sub: String,
    pub auth_time: i64,
    pub expires_at: i64,
    #[serde(default, skip_serializing_if = "RequestedClaims::is_empty")]
    pub claims: RequestedClaims,
    /// Set when the code is redeemed; the record is kept until it expires to detect replays.
    pub minted: Option<Minted>,
    /// The user as they were when the code was issued (never their password hash), so the
    /// token exchange needs no read of its own: a code lives for a minute at most.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<User>,
    /// The sign-in session it came from (`sid` of its ID token).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    /// `auth_time` in epoch milliseconds (0 in older records: `auth_time` then counts).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub auth_time_ms: i64,
}

impl AuthCode {
    /// When the person signed in for it, in epoch milliseconds.
    pub fn signed_in_ms(&self) -> i64 {
        if self.auth_time_ms > 0 {
            self.auth_time_ms
        } else {
            self.auth_time.saturating_mul(1000)
        }
    }
}

/// What a client presents with a code (RFC 6749 §4.1.3, RFC 7636 §4.6). The store redeems
/// the code only if all of it matches, in the same conditional write.
#[derive(Debug, Clone, Copy)]
pub struct CodeRedemption<'a> {
    pub client_id: &'a str,
    pub redirect_uri: &'a str,
    /// The S256 challenge of the presented `code_verifier`; None when none was sent.
    pub code_challenge: Option<&'a str>,
}

impl CodeRedemption<'_> {
    /// Whether `code` was issued for exactly this.
    pub fn matches(&self, code: &AuthCode) -> bool {
        code.client_id == self.client_id
            && code.redirect_uri == self.redirect_uri
            && code.code_challenge.as_deref() == self.code_challenge
    }
}

/// The public signing keys, as the function that signs (and so can reach KMS) published
/// them for the functions that only verify: those carry no KMS client at all.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct PublishedKeys {
    /// Active key first, then the next and previous keys (RFC 7517 §5 key set order).
    pub keys: Vec<PublishedKey>,
    pub published_at: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct PublishedKey {
    pub alg: crate::jose::Alg,
    /// SubjectPublicKeyInfo DER, base64url: the same bytes KMS GetPublicKey returns.
    pub spki: String,
}

/// An envelope signing key: a private key that only ever exists in plaintext inside a
/// function's memory, stored encrypted under a KMS key (GenerateDataKeyPair).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct WrappedKey {
    pub id: String,
    pub alg: crate::jose::Alg,
    /// The KMS key (ARN) that encrypts it; Decrypt needs kms:Decrypt on it.
    pub wrapping_key: String,
    /// PKCS#8 private key, encrypted by KMS, base64url.
    pub ciphertext: String,
    /// SubjectPublicKeyInfo DER, base64url.
    pub spki: String,
    pub created_at: i64,
}
