//! Harness for the end-to-end suite: starts the provider (the same local server a developer
//! runs) on a free loopback port, on each backend, and drives it over HTTP like a relying
//! party and a browser would.
pub mod browser;
pub mod faults;
pub mod upstream;

use std::sync::Arc;

use oidc_local::{Backend, Options, Running};
use serde_json::Value;
use shared::{clock::OffsetClock, seed::Seed, signer::Alg};

pub use browser::{Browser, Outcome};

/// Confidential client authenticating with HTTP Basic.
pub const BASIC: (&str, &str) = ("rp-basic", "rp-basic-secret-0123456789abcdefghijklmnop");
/// Confidential client authenticating with client_secret_post.
pub const POST: (&str, &str) = ("rp-post", "rp-post-secret-0123456789abcdefghijklmnopq");
/// Public client (PKCE required).
pub const PUBLIC: &str = "rp-public";
/// A first-party confidential client: no consent page.
pub const FIRST_PARTY: (&str, &str) = ("rp-first-party", "rp-first-party-secret-0123456789abcdefg");
/// A machine client (client_credentials) with API scopes and a custom claim.
pub const M2M: (&str, &str) = ("rp-m2m", "rp-m2m-secret-0123456789abcdefghijklmnopq");
/// A first-party client with custom claims.
pub const CUSTOM: (&str, &str) = ("rp-custom", "rp-custom-secret-0123456789abcdefghijklmno");
pub const BOB: (&str, &str) = ("bob", "bob-password-1");
pub const LOGGED_OUT: &str = "https://rp.example/logged-out";
pub const REDIRECT: &str = "https://rp.example/cb";
pub const ALICE: (&str, &str) = ("alice", "alice-password-1");
/// A third-party client allowed only the `openid` scope.
pub const OPENID_ONLY: (&str, &str) = ("rp-openid-only", "rp-openid-only-secret-0123456789abcdefg");
/// A third-party client of an API: a person grants it `api:read` on the consent page.
pub const API_APP: (&str, &str) = ("rp-api", "rp-api-secret-0123456789abcdefghijklmnopqr");
/// A third-party client allowed Bob's roles by name and the `team` scope that carries his
/// team: the person consents to both.
pub const ROLES: (&str, &str) = ("rp-roles", "rp-roles-secret-0123456789abcdefghijklmnop");

pub fn seed() -> Seed {
    let text = serde_json::json!({
        "clients": [
            {"client_id": BASIC.0, "client_name": "Basic RP", "client_secret": BASIC.1,
             "token_endpoint_auth_method": "client_secret_basic", "redirect_uris": [REDIRECT, "https://rp.example/other"],
             "grant_types": ["authorization_code", "refresh_token"], "post_logout_redirect_uris": [LOGGED_OUT]},
            {"client_id": M2M.0, "client_secret": M2M.1, "grant_types": ["client_credentials"],
             "scopes": ["api:read", "api:write"],
             "custom_claims": [{"name": "https://rp.example/tenant", "value": "acme", "tokens": ["access_token"]}]},
            {"client_id": CUSTOM.0, "client_secret": CUSTOM.1, "redirect_uris": [REDIRECT], "skip_consent": true,
             "allowed_claims": ["https://rp.example/roles", "https://rp.example/plan"],
             "custom_claims": [
                {"name": "https://rp.example/tenant", "value": "acme"},
                {"name": "https://rp.example/plan", "value": "gold", "tokens": ["userinfo"]}
             ]},
            {"client_id": POST.0, "client_secret": POST.1,
             "token_endpoint_auth_method": "client_secret_post", "redirect_uris": [REDIRECT]},
            {"client_id": PUBLIC, "token_endpoint_auth_method": "none", "redirect_uris": [REDIRECT],
             "scopes": ["openid", "profile", "email"]},
            {"client_id": FIRST_PARTY.0, "client_secret": FIRST_PARTY.1, "redirect_uris": [REDIRECT], "skip_consent": true},
            {"client_id": OPENID_ONLY.0, "client_name": "Openid-only RP", "client_secret": OPENID_ONLY.1,
             "redirect_uris": [REDIRECT], "scopes": ["openid"]},
            {"client_id": API_APP.0, "client_name": "API App", "client_secret": API_APP.1, "redirect_uris": [REDIRECT],
             "scopes": ["openid", "email", "api:read"]},
            {"client_id": ROLES.0, "client_name": "Roles RP", "client_secret": ROLES.1, "redirect_uris": [REDIRECT],
             "scopes": ["openid", "email", "team"], "allowed_claims": ["https://rp.example/roles"]}
        ],
        "users": [
            {"username": ALICE.0, "password": ALICE.1, "claims": {
                "name": "Alice Liddell", "given_name": "Alice", "family_name": "Liddell", "middle_name": "P",
                "nickname": "al", "preferred_username": "alice", "profile": "https://example.com/alice",
                "picture": "https://example.com/alice.png", "website": "https://alice.example",
                "gender": "female", "birthdate": "1852-05-04", "zoneinfo": "Europe/London", "locale": "en-GB",
                "updated_at": 1700000000,
                "email": "alice@example.com", "email_verified": true,
                "address": {"street_address": "1 Rabbit Hole", "locality": "Oxford", "country": "UK"},
                "phone_number": "+44 1865 000000", "phone_number_verified": true
            }},
            {"username": BOB.0, "password": BOB.1, "claims": {"email": "bob@example.com"},
             "custom_claims": [{"name": "https://rp.example/roles", "value": ["admin", "ops"], "tokens": ["id_token", "access_token", "userinfo"]},
                               {"name": "https://rp.example/plan", "value": "platinum", "tokens": ["userinfo"]},
                               {"name": "https://rp.example/team", "value": "blue", "tokens": ["id_token", "userinfo"], "scope": "team"}]}
        ]
    });
    Seed::parse("seed.json", &text.to_string()).expect("test seed parses")
}

#[derive(Debug, Clone, Copy)]
pub enum TestBackend {
    Embedded,
    Aws(Alg),
}

/// The embedded backend always; DynamoDB + KMS (RS256 and ES256 keys) when the emulator is
/// reachable (`AWS_ENDPOINT_URL`). With `OIDC_REQUIRE_AWS=1` a missing emulator fails the
/// run instead of narrowing it.
pub fn backends() -> Vec<TestBackend> {
    let mut v = vec![TestBackend::Embedded];
    if std::env::var("AWS_ENDPOINT_URL").is_ok() {
        v.push(TestBackend::Aws(Alg::RS256));
        v.push(TestBackend::Aws(Alg::ES256));
    } else if std::env::var("OIDC_REQUIRE_AWS").as_deref() == Ok("1") {
        panic!(
            "OIDC_REQUIRE_AWS=1 but AWS_ENDPOINT_URL is not set: run through infra/with-moto.sh"
        );
    } else {
        eprintln!(
            "note: AWS backends skipped (no AWS_ENDPOINT_URL); run through infra/with-moto.sh to include them"
        );
    }
    v
}

pub struct Provider {
    pub running: Running,
    pub clock: Arc<OffsetClock>,
    pub backend: TestBackend,
    pub http: reqwest::Client,
    /// Fails chosen store or signer calls on demand (none by default).
    pub faults: Arc<faults::Faults>,
    /// The signing key (KMS key alias, or `envelope:<id>`) and DynamoDB table, on the AWS
    /// backend.
    pub aws: Option<(String, String)>,
    /// The signing keys in use: replace them to rotate (as a redeploy would).
    pub keys: Arc<faults::SwitchSigner>,
}

impl Provider {
    pub async fn start(backend: TestBackend) -> Provider {
        Self::start_with(backend, vec![]).await
    }

    pub async fn start_with(backend: TestBackend, config_vars: Vec<(String, String)>) -> Provider {
        Self::start_full(backend, config_vars, false).await
    }

    /// With the keys distributed as on Lambda: only the token and JWKS endpoints hold the
    /// signer, every other endpoint verifies with the key set published to the store.
    pub async fn start_as_lambda(backend: TestBackend) -> Provider {
        Self::start_full(backend, vec![], true).await
    }

    /// On DynamoDB + KMS in envelope mode (`SIGNING_KEYS=envelope:<id>`: an `alg` key pair
    /// wrapped by a KMS key, stored in the table, decrypted once, signing in-process), with
    /// the keys distributed as on Lambda. `backend` says `Aws(alg)`; `aws` holds the
    /// `envelope:<id>` entry and the table. Needs the emulator (see [`aws_available`]).
    pub async fn start_envelope(alg: Alg) -> Provider {
        let b = envelope_backend(alg).await;
        Self::start_on(TestBackend::Aws(alg), b, vec![], true).await
    }

    async fn start_full(
        backend: TestBackend,
        config_vars: Vec<(String, String)>,
        lambda_keys: bool,
    ) -> Provider {
        let b = match backend {
            TestBackend::Embedded => Backend::Embedded {
                data_dir: None,
                alg: Alg::RS256,
            },
            TestBackend::Aws(alg) => aws_backend(alg).await,
        };
        Self::start_on(backend, b, config_vars, lambda_keys).await
    }

    async fn start_on(
        backend: TestBackend,
        b: Backend,
        mut config_vars: Vec<(String, String)>,
        lambda_keys: bool,
    ) -> Provider {
        if !config_vars
            .iter()
            .any(|(k, _)| k == "REGISTRATION" || k.starts_with("REGISTRATION_INITIAL"))
        {
            config_vars.push(("REGISTRATION".into(), "open".into()));
        }
        let clock = Arc::new(OffsetClock::default());
        let aws = match &b {
            Backend::Aws {
                table,
                signing_keys,
            } => Some((signing_keys[0].clone(), table.clone())),
            Backend::Embedded { .. } => None,
        };
        let opts = Options {
            port: 0,
            issuer: None,
            backend: b,
            seed: Some(seed()),
            demo: true,
            config_vars,
            lambda_keys,
            timeouts: Default::default(),
        };
        let faults = Arc::new(faults::Faults::default());
        let (fs, fk) = (faults.clone(), faults.clone());
        let slot: Arc<std::sync::OnceLock<Arc<faults::SwitchSigner>>> =
            Arc::new(std::sync::OnceLock::new());
        let fill = slot.clone();
        let running = oidc_local::start_wrapped(
            opts,
            clock.clone(),
            move |inner| Arc::new(faults::FaultyStore { inner, faults: fs }),
            move |inner| {
                let switch = Arc::new(faults::SwitchSigner::new(inner));
                let _ = fill.set(switch.clone());
                Arc::new(faults::FaultySigner {
                    inner: switch,
                    faults: fk,
                })
            },
        )
        .await
        .expect("provider starts");
        let keys = slot.get().expect("the signer was wrapped").clone();
        Provider {
            running,
            clock,
            backend,
            http: http_client(),
            faults,
            aws,
            keys,
        }
    }

    pub fn clock_now(&self) -> i64 {
        shared::clock::Clock::now(self.clock.as_ref())
    }

    pub fn issuer(&self) -> String {
        self.running.issuer().to_string()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.issuer())
    }

    pub fn browser(&self) -> Browser {
        Browser::new(&self.issuer())
    }

    /// An authorization URL for `client_id` with `extra` parameters (overriding defaults).
    pub fn authorize_url(&self, client_id: &str, extra: &[(&str, &str)]) -> String {
        let mut params: Vec<(String, String)> = vec![
            ("response_type".into(), "code".into()),
            ("client_id".into(), client_id.into()),
            ("redirect_uri".into(), REDIRECT.into()),
            ("scope".into(), "openid".into()),
            ("state".into(), "st-123".into()),
            ("nonce".into(), "n-456".into()),
        ];
        for (k, v) in extra {
            params.retain(|(pk, _)| pk != k);
            if !v.is_empty() {
                params.push((k.to_string(), v.to_string()));
            }
        }
        let q = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(params)
            .finish();
        format!("{}?{q}", self.url("/authorize"))
    }

    /// Signs in as Alice and consents; returns the code from the redirect.
    pub async fn code_for(&self, client_id: &str, extra: &[(&str, &str)]) -> String {
        let out = self
            .browser()
            .authorize(&self.authorize_url(client_id, extra), Some(ALICE), "allow")
            .await;
        out.param("code")
            .unwrap_or_else(|| panic!("no code in {out:?}"))
    }

    /// POST /token; returns status, headers and JSON body.
    pub async fn token(
        &self,
        form: &[(&str, &str)],
        basic: Option<(&str, &str)>,
    ) -> (u16, reqwest::header::HeaderMap, Value) {
        let mut req = self.http.post(self.url("/token")).form(form);
        if let Some((id, secret)) = basic {
            req = req.basic_auth(id, Some(secret));
        }
        let resp = req.send().await.expect("token request");
        let (status, headers) = (resp.status().as_u16(), resp.headers().clone());
        (status, headers, resp.json().await.unwrap_or(Value::Null))
    }

    /// Redeems a code for the Basic client.
    pub async fn redeem(&self, code: &str) -> (u16, reqwest::header::HeaderMap, Value) {
        self.token(
            &[
                ("grant_type", "authorization_code"),
                ("code", code),
                ("redirect_uri", REDIRECT),
            ],
            Some(BASIC),
        )
        .await
    }

    pub async fn userinfo_get(
        &self,
        access_token: &str,
    ) -> (u16, reqwest::header::HeaderMap, Value) {
        let resp = self
            .http
            .get(self.url("/userinfo"))
            .bearer_auth(access_token)
            .send()
            .await
            .expect("userinfo");
        let (status, headers) = (resp.status().as_u16(), resp.headers().clone());
        (status, headers, resp.json().await.unwrap_or(Value::Null))
    }

    pub async fn jwks(&self) -> jsonwebtoken::jwk::JwkSet {
        self.http
            .get(self.url("/jwks.json"))
            .send()
            .await
            .expect("jwks")
            .json()
            .await
            .expect("jwks json")
    }
}

/// reqwest's rustls is built without a crypto provider of its own (the provider's outbound
/// client brings aws-lc-rs, `shared::federation`): the test process installs it once.
pub fn tls_ready() {
    shared::federation::upstream::install_crypto_provider();
}

pub fn http_client() -> reqwest::Client {
    tls_ready();
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("http client")
}

async fn aws_backend(alg: Alg) -> Backend {
    let sdk = shared::aws::aws_config().await;
    let suffix = shared::crypto::random_token(6).replace(['-', '_'], "x");
    let table = format!("oidc-e2e-{suffix}");
    shared::store::dynamo::provision::create_table(&aws_sdk_dynamodb::Client::new(&sdk), &table)
        .await
        .expect("create table");
    let alias = format!("alias/oidc-e2e-{}-{suffix}", alg.as_str().to_lowercase());
    shared::signer::kms::create_signing_key(&aws_sdk_kms::Client::new(&sdk), &alias, alg)
        .await
        .expect("create key");
    Backend::Aws {
        table,
        signing_keys: vec![alias],
    }
}

/// A fresh table and an envelope signing key in it: a wrapping KMS key (made here, as
/// `oidc-admin keys envelope-create --create-wrapping-key` does) and an `alg` key pair
/// wrapped by it.
async fn envelope_backend(alg: Alg) -> Backend {
    let sdk = shared::aws::aws_config().await;
    let suffix = shared::crypto::random_token(6).replace(['-', '_'], "x");
    let table = format!("oidc-e2e-{suffix}");
    let dynamo = aws_sdk_dynamodb::Client::new(&sdk);
    shared::store::dynamo::provision::create_table(&dynamo, &table)
        .await
        .expect("create table");
    let kms = aws_sdk_kms::Client::new(&sdk);
    let wrapping = shared::signer::envelope::create_wrapping_key(
        &kms,
        &format!("alias/oidc-e2e-wrapping-{suffix}"),
    )
    .await
    .expect("wrapping key");
    let id = format!("e2e-{}-{suffix}", alg.as_str().to_lowercase());
    let store = shared::store::dynamo::DynamoStore::new(dynamo, table.clone());
    shared::signer::envelope::create_wrapped_key(&kms, &store, &wrapping, alg, &id)
        .await
        .expect("wrapped key");
    Backend::Aws {
        table,
        signing_keys: vec![format!("envelope:{id}")],
    }
}

/// Whether the emulator is configured (`AWS_ENDPOINT_URL`); with `OIDC_REQUIRE_AWS=1` its
/// absence fails the test instead of skipping it.
pub fn aws_available(test: &str) -> bool {
    if std::env::var("AWS_ENDPOINT_URL").is_ok() {
        return true;
    }
    assert!(
        std::env::var("OIDC_REQUIRE_AWS").as_deref() != Ok("1"),
        "{test}: OIDC_REQUIRE_AWS=1 but AWS_ENDPOINT_URL is not set: run through infra/with-moto.sh"
    );
    eprintln!("{test}: skipped (no AWS_ENDPOINT_URL); run through infra/with-moto.sh");
    false
}

/// The DynamoDB calls the emulator recorded for `table` after call number `after` (see
/// `infra/moto_serial.py`, `GET /__calls`), or None when it records nothing (started
/// without `MOTO_COUNT=1`; `infra/with-moto.sh` turns it on).
pub async fn emulator_calls(table: &str, after: u64) -> Option<Vec<Value>> {
    let endpoint = std::env::var("AWS_ENDPOINT_URL").ok()?;
    let url = format!("{}/__calls", endpoint.trim_end_matches('/'));
    let resp = http_client()
        .get(url)
        .query(&[("table", table), ("after", &after.to_string())])
        .send()
        .await
        .ok()?;
    if !resp.status().is_success() {
        return None;
    }
    resp.json().await.ok()
}

/// The code an authenticator app holding `secret` shows at `now` (RFC 6238, as the provider
/// checks it).
pub fn totp_code(secret: &shared::totp::TotpSecret, now: i64) -> String {
    use shared::totp::{ALGORITHM, DIGITS, STEP, totp_at};
    totp_at(secret.expose(), now as u64, STEP, DIGITS, ALGORITHM)
}

/// Whether `code` is one the provider would take for `secret` at `now` (a step either side).
pub fn is_totp_code(secret: &shared::totp::TotpSecret, now: i64, code: &str) -> bool {
    [-30, 0, 30]
        .iter()
        .any(|d| totp_code(secret, now + d) == code)
}

/// Six digits that are no code of `secret` within a step of `now`: a wrong code for sure
/// (a fixed one such as 123456 is right once in some hundred thousand random secrets).
pub fn not_a_totp_code(secret: &shared::totp::TotpSecret, now: i64) -> String {
    (0..)
        .map(|n| format!("{n:06}"))
        .find(|c| !is_totp_code(secret, now, c))
        .expect("one of four")
}

/// A JWT's claims, read without verifying it (for what a test already trusts, or checks
/// elsewhere).
pub fn unverified_claims(jwt: &str) -> Value {
    use base64::Engine;
    let part = jwt.split('.').nth(1).expect("payload");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(part)
        .expect("b64");
    serde_json::from_slice(&bytes).expect("json")
}

/// Verifies a JWT with the independent `jsonwebtoken` crate against the provider's JWKS,
/// checking signature, iss, aud and exp; returns the claims.
pub async fn verify_independently(p: &Provider, token: &str, aud: &str) -> Value {
    let header = jsonwebtoken::decode_header(token).expect("JWS header");
    let kid = header.kid.clone().expect("kid in header");
    let jwks = p.jwks().await;
    let jwk = jwks.find(&kid).expect("kid is published in the JWKS");
    let key = jsonwebtoken::DecodingKey::from_jwk(jwk).expect("JWK usable");
    let mut v = jsonwebtoken::Validation::new(header.alg);
    v.set_issuer(&[p.issuer()]);
    v.set_audience(&[aud]);
    v.set_required_spec_claims(&["iss", "aud", "exp", "sub"]);
    jsonwebtoken::decode::<Value>(token, &key, &v)
        .expect("verifies with jsonwebtoken")
        .claims
}

/// Runs a scenario once per backend (see [`backends`]), naming the backend on failure.
#[macro_export]
macro_rules! each_backend {
    ($name:ident, |$p:ident| $body:block) => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $name() {
            for backend in $crate::backends() {
                eprintln!("{} on {:?}", stringify!($name), backend);
                let $p = $crate::Provider::start(backend).await;
                $body
            }
        }
    };
}
