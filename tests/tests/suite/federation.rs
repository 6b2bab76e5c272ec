//! Sign-in through an upstream OpenID provider (`endpoints::federation`): the upstream is a
//! second instance of this provider, started here on `localhost` (the provider under test is
//! on `127.0.0.1`, so the two keep their cookies apart as two sites would). The relying party
//! only speaks HTTP, through a cookie-keeping client that plays the browser.
use std::{collections::BTreeMap, sync::Arc};

use e2e::{ALICE, BASIC, Provider, REDIRECT, TestBackend, backends, browser::input_value};
use oidc_local::{Backend, Options, Running};
use serde_json::Value;
use shared::{
    clock::SystemClock,
    secret::ClientSecret,
    signer::Alg,
    store::{AuthMethod, Client, UpstreamAuth, UpstreamProvider},
};

const UP_CLIENT: (&str, &str) = ("downstream", "downstream-secret-0123456789abcdefghijklmn");

/// A second provider, the upstream, on `http://localhost:<port>` with the test seed (Alice).
pub(crate) async fn upstream() -> Running {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let opts = Options {
        port,
        issuer: Some(format!("http://localhost:{port}")),
        backend: Backend::Embedded {
            data_dir: None,
            alg: Alg::ES256,
        },
        seed: Some(e2e::seed()),
        demo: false,
        config_vars: vec![],
        lambda_keys: false,
        timeouts: Default::default(),
    };
    oidc_local::start(opts, Arc::new(SystemClock))
        .await
        .expect("the upstream starts")
}

/// The provider under test; on AWS with a KMS key to seal upstream client secrets with, as
/// the stack's `FederationSecretsKey`.
pub(crate) async fn downstream(backend: TestBackend) -> Provider {
    downstream_with(backend, false).await
}

/// As [`downstream`]; with `client_key`, on AWS, also a KMS RSA key for `private_key_jwt`
/// (the stack's `FederationClientKey`; the embedded backend always has a local one).
pub(crate) async fn downstream_with(backend: TestBackend, client_key: bool) -> Provider {
    Provider::start_with(backend, downstream_vars(backend, client_key).await).await
}

/// The downstream's variables on `backend`: its KMS keys for upstream secrets (and, with
/// `client_key`, for `private_key_jwt`) on AWS, made on the emulator.
pub(crate) async fn downstream_vars(
    backend: TestBackend,
    client_key: bool,
) -> Vec<(String, String)> {
    use aws_sdk_kms::types::{KeySpec, KeyUsageType};
    if matches!(backend, TestBackend::Embedded) {
        return vec![];
    }
    let kms = shared::aws::kms_client(&shared::aws::aws_config().await);
    let key = |spec: KeySpec, usage: KeyUsageType| {
        let kms = kms.clone();
        async move {
            let made = kms.create_key().key_spec(spec).key_usage(usage).send();
            let made = made.await.expect("a KMS key");
            made.key_metadata().expect("metadata").key_id().to_string()
        }
    };
    let sealing = key(KeySpec::SymmetricDefault, KeyUsageType::EncryptDecrypt).await;
    let mut vars = vec![("FEDERATION_SECRETS_KEY".to_string(), sealing)];
    if client_key {
        let signing = key(KeySpec::Rsa2048, KeyUsageType::SignVerify).await;
        vars.push(("FEDERATION_CLIENT_KEY".to_string(), signing));
    }
    vars
}

/// Registers `down` at `up` (a confidential client whose redirect URI is `down`'s
/// callback) and `up` at `down` as the provider `up`, its client secret sealed.
pub(crate) async fn connect(up: &Running, down: &Provider, link_verified_email: bool) {
    let callback = format!("{}/federation/callback", down.issuer());
    let client: Client = serde_json::from_value(serde_json::json!({
        "client_id": UP_CLIENT.0,
        "client_name": "Downstream",
        "secret_hash": ClientSecret::new(UP_CLIENT.1).digest(),
        "auth_method": AuthMethod::ClientSecretBasic,
        "redirect_uris": [callback],
        "allowed_scopes": ["openid", "email", "profile"],
        "grant_types": ["authorization_code"],
        "trusted": true,
    }))
    .expect("client");
    up.app
        .store
        .put_client(&client)
        .await
        .expect("client at the upstream");
    let scopes = ["openid", "email", "profile"];
    let id = ("up", "Upstream");
    add_provider(
        down,
        id,
        up.issuer(),
        UP_CLIENT,
        &scopes,
        link_verified_email,
    )
    .await;
}

/// Registers the upstream at `issuer` with `down` as the provider `(id, name)`, with our
/// client there and its secret sealed, as `oidc-admin providers create` does.
pub(crate) async fn add_provider(
    down: &Provider,
    (id, name): (&str, &str),
    issuer: &str,
    client: (&str, &str),
    scopes: &[&str],
    link_verified_email: bool,
) {
    let sealed = down
        .running
        .federating
        .keys
        .sealer
        .seal(id, &ClientSecret::new(client.1))
        .await
        .expect("sealed");
    let provider = UpstreamProvider {
        id: id.into(),
        issuer: issuer.into(),
        client_id: client.0.into(),
        client_auth: UpstreamAuth::ClientSecretBasic,
        sealed_secret: Some(sealed),
        scopes: scopes.iter().map(|s| s.to_string()).collect(),
        display_name: name.into(),
        logo_uri: None,
        claim_map: BTreeMap::new(),
        link_verified_email,
        userinfo: false,
        enabled: true,
    };
    provider.validate().expect("valid provider");
    down.running
        .app
        .store
        .put_provider(&provider)
        .await
        .expect("provider at the downstream");
}

/// Alice's account at a provider.
pub(crate) async fn alice_at(r: &Running) -> shared::store::User {
    let read = r.app.store.user_by_username(ALICE.0).await;
    read.expect("read").expect("alice")
}

pub(crate) fn browser() -> reqwest::Client {
    e2e::tls_ready();
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

pub(crate) fn location(r: &reqwest::Response) -> String {
    r.headers()["location"]
        .to_str()
        .expect("location")
        .to_string()
}

pub(crate) fn param(url: &str, name: &str) -> Option<String> {
    url::Url::parse(url)
        .expect("url")
        .query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// Signs in at the upstream's page `at` (its sign-in form) as `who` and agrees: the
/// upstream's answer, a redirect to the downstream's callback.
pub(crate) async fn at_upstream(
    b: &reqwest::Client,
    up: &Running,
    at: &str,
    who: (&str, &str),
) -> String {
    let page = b.get(at).send().await.expect("upstream authorize");
    assert_eq!(page.status(), 200, "the upstream's sign-in page");
    let html = page.text().await.expect("page");
    let (req, csrf) = (
        input_value(&html, "req").expect("req"),
        input_value(&html, "csrf").expect("csrf"),
    );
    let login = format!("{}/login", up.issuer());
    let signed = b
        .post(&login)
        .form(&[
            ("req", req.as_str()),
            ("csrf", csrf.as_str()),
            ("username", who.0),
            ("password", who.1),
        ])
        .send()
        .await
        .expect("upstream login");
    assert_eq!(signed.status(), 303, "signed in at the upstream");
    let consent = b.get(location(&signed)).send().await.expect("consent page");
    let html = consent.text().await.expect("page");
    let (req, csrf) = (
        input_value(&html, "req").expect("req"),
        input_value(&html, "csrf").expect("csrf"),
    );
    let back = b
        .post(format!("{}/consent", up.issuer()))
        .form(&[
            ("req", req.as_str()),
            ("csrf", csrf.as_str()),
            ("decision", "allow"),
        ])
        .send()
        .await
        .expect("upstream consent");
    assert_eq!(back.status(), 303);
    location(&back)
}

/// From the downstream's `/authorize?idp=up` to the upstream's sign-in page.
async fn to_upstream(b: &reqwest::Client, down: &Provider, extra: &[(&str, &str)]) -> String {
    let mut params = vec![
        ("scope", "openid email profile"),
        ("idp", "up"),
        ("nonce", "n-0S6"),
    ];
    params.extend_from_slice(extra);
    let start = b
        .get(down.authorize_url(BASIC.0, &params))
        .send()
        .await
        .expect("authorize");
    assert_eq!(start.status(), 303, "idp= goes straight to the provider");
    let start = location(&start);
    assert!(start.contains("/federation/start?"), "{start}");
    let away = b.get(&start).send().await.expect("start");
    assert_eq!(
        away.status(),
        303,
        "{}",
        away.text().await.unwrap_or_default()
    );
    location(&away)
}

/// The downstream's consent after the callback, agreed: the code for the relying party.
pub(crate) async fn finish(b: &reqwest::Client, down: &Provider, callback: &str) -> String {
    let back = b.get(callback).send().await.expect("callback");
    assert_eq!(
        back.status(),
        303,
        "{}",
        back.text().await.unwrap_or_default()
    );
    let consent = location(&back);
    assert!(consent.contains("/consent?"), "on to consent: {consent}");
    let html = b
        .get(&consent)
        .send()
        .await
        .expect("consent")
        .text()
        .await
        .expect("page");
    let (req, csrf) = (
        input_value(&html, "req").expect("req"),
        input_value(&html, "csrf").expect("csrf"),
    );
    let done = b
        .post(down.url("/consent"))
        .form(&[
            ("req", req.as_str()),
            ("csrf", csrf.as_str()),
            ("decision", "allow"),
        ])
        .send()
        .await
        .expect("consent");
    let to_rp = location(&done);
    assert!(to_rp.starts_with(REDIRECT), "{to_rp}");
    param(&to_rp, "code").expect("a code for the relying party")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_person_signs_in_through_an_upstream_provider_and_the_rp_gets_our_tokens() {
    for backend in backends() {
        let up = upstream().await;
        let down = downstream(backend).await;
        connect(&up, &down, false).await;
        let b = browser();
        let at = to_upstream(&b, &down, &[]).await;
        assert!(at.starts_with(up.issuer()), "sent to the upstream: {at}");
        for p in ["state", "nonce", "code_challenge"] {
            assert!(param(&at, p).is_some(), "{p} in {at}");
        }
        assert_eq!(param(&at, "code_challenge_method").as_deref(), Some("S256"));
        let callback = at_upstream(&b, &up, &at, ALICE).await;
        assert!(
            callback.starts_with(&down.url("/federation/callback")),
            "{callback}"
        );
        let code = finish(&b, &down, &callback).await;
        let (status, _, tokens) = down.redeem(&code).await;
        assert_eq!(status, 200, "{tokens}");
        let id =
            e2e::verify_independently(&down, tokens["id_token"].as_str().expect("id"), BASIC.0)
                .await;
        assert_eq!(id["iss"], down.issuer(), "our token, not the upstream's");
        assert_eq!(id["amr"], serde_json::json!(["fed"]), "{id}");
        assert_eq!(id["idp"], "up");
        let doc = b.get(down.url("/.well-known/openid-configuration")).send();
        let doc: Value = doc.await.expect("discovery").json().await.expect("json");
        let supported = doc["claims_supported"]
            .as_array()
            .expect("claims_supported");
        for claim in ["amr", "idp", "acr", "sid"] {
            assert!(supported.contains(&claim.into()), "discovery names {claim}");
        }
        assert_eq!(
            id["name"], "Alice Liddell",
            "mapped from the upstream: {id}"
        );
        // Her address is the local Alice's here: this provider is not trusted to link by
        // email, so the new account is another one, without the address (never a takeover).
        let local_alice = alice_at(&down.running).await;
        assert_ne!(id["sub"], local_alice.sub.as_str(), "not the local account");
        assert!(id.get("email").is_none(), "{id}");
        assert_eq!(id["nonce"], "n-0S6");
        let upstream_alice = alice_at(&up).await;
        assert_ne!(
            id["sub"],
            upstream_alice.sub.as_str(),
            "a local sub of ours"
        );

        // The second sign-in finds the same account through its link.
        let b2 = browser();
        let at = to_upstream(&b2, &down, &[]).await;
        let callback = at_upstream(&b2, &up, &at, ALICE).await;
        let code = finish(&b2, &down, &callback).await;
        let (_, _, again) = down.redeem(&code).await;
        assert_eq!(
            e2e::unverified_claims(again["id_token"].as_str().expect("id"))["sub"],
            id["sub"],
            "{backend:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_state_is_used_once_and_only_by_the_browser_that_started() {
    let up = upstream().await;
    let down = Provider::start(TestBackend::Embedded).await;
    connect(&up, &down, false).await;
    let b = browser();
    let at = to_upstream(&b, &down, &[]).await;
    let callback = at_upstream(&b, &up, &at, ALICE).await;
    // Another browser with the same answer: refused, and the state is spent.
    let other = browser().get(&callback).send().await.expect("callback");
    assert_eq!(other.status(), 403);
    assert!(
        other
            .text()
            .await
            .expect("page")
            .contains("another browser")
    );
    let replay = b.get(&callback).send().await.expect("callback");
    assert_eq!(
        replay.status(),
        400,
        "a state is taken once, whoever took it"
    );
    assert!(
        replay
            .text()
            .await
            .expect("page")
            .contains("expired or was already used")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upstream_refusal_or_a_forged_answer_signs_nobody_in() {
    let up = upstream().await;
    let down = Provider::start(TestBackend::Embedded).await;
    connect(&up, &down, false).await;
    let b = browser();
    // The person cancels at the upstream (RFC 6749 §4.1.2.1).
    let at = to_upstream(&b, &down, &[]).await;
    let state = param(&at, "state").expect("state");
    let denied = format!(
        "{}?error=access_denied&state={state}&iss={}",
        down.url("/federation/callback"),
        up.issuer()
    );
    let page = b.get(&denied).send().await.expect("callback");
    assert_eq!(page.status(), 200, "back on our sign-in page");
    let html = page.text().await.expect("page");
    assert!(
        html.contains("Signing in with Upstream did not work") && html.contains("access_denied"),
        "{html}"
    );
    assert!(page_sets_no_session(&html));
    // A made-up code: the upstream's token endpoint refuses it.
    let at = to_upstream(&b, &down, &[]).await;
    let state = param(&at, "state").expect("state");
    let forged = format!(
        "{}?code=made-up&state={state}&iss={}",
        down.url("/federation/callback"),
        up.issuer()
    );
    let page = b.get(&forged).send().await.expect("callback");
    assert_eq!(page.status(), 200);
    assert!(
        page.text()
            .await
            .expect("page")
            .contains("refused the code")
    );
    // A mix-up (RFC 9207): an answer claiming to come from another issuer.
    let at = to_upstream(&b, &down, &[]).await;
    let callback = at_upstream(&b, &up, &at, ALICE).await;
    let mixed = callback.replace(
        &format!("iss={}", urlencode(up.issuer())),
        "iss=https%3A%2F%2Fevil.example",
    );
    assert_ne!(mixed, callback, "the answer carries iss: {callback}");
    let page = b.get(&mixed).send().await.expect("callback");
    assert_eq!(page.status(), 200);
    assert!(
        page.text()
            .await
            .expect("page")
            .contains("authorization response")
    );
    // The same answer without its iss, from an upstream that says it always sends one.
    // (A new browser: this one is signed in at the upstream, which would skip its page.)
    let b = browser();
    let at = to_upstream(&b, &down, &[]).await;
    let callback = at_upstream(&b, &up, &at, ALICE).await;
    let bare = callback.replace(&format!("&iss={}", urlencode(up.issuer())), "");
    assert_ne!(bare, callback, "the answer carries iss: {callback}");
    let page = b.get(&bare).send().await.expect("callback");
    assert_eq!(page.status(), 200);
    assert!(
        page.text()
            .await
            .expect("page")
            .contains("authorization response")
    );
}

fn page_sets_no_session(html: &str) -> bool {
    !html.contains("oidc_session")
}

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sign_in_page_offers_each_provider() {
    let up = upstream().await;
    let down = Provider::start(TestBackend::Embedded).await;
    connect(&up, &down, false).await;
    let b = browser();
    let page = b
        .get(down.authorize_url(BASIC.0, &[("scope", "openid")]))
        .send()
        .await
        .expect("authorize");
    let html = page.text().await.expect("page");
    assert!(html.contains("Continue with Upstream"), "{html}");
    assert!(html.contains("/federation/start?req="), "{html}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_verified_email_links_to_the_local_account_only_when_the_provider_is_trusted_to() {
    for backend in backends() {
        let up = upstream().await;
        let down = downstream(backend).await;
        connect(&up, &down, true).await;
        let b = browser();
        let at = to_upstream(&b, &down, &[]).await;
        let callback = at_upstream(&b, &up, &at, ALICE).await;
        let code = finish(&b, &down, &callback).await;
        let (_, _, tokens) = down.redeem(&code).await;
        let id = e2e::unverified_claims(tokens["id_token"].as_str().expect("id"));
        let local_alice = alice_at(&down.running).await;
        assert_eq!(
            id["sub"],
            local_alice.sub.as_str(),
            "linked by the verified email: {backend:?}"
        );
        assert_eq!(id["email"], "alice@example.com");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_password_sign_in_off_only_the_providers_are_offered() {
    let up = upstream().await;
    let vars = vec![("PASSWORD_SIGNIN".to_string(), "false".to_string())];
    let down = Provider::start_with(TestBackend::Embedded, vars).await;
    connect(&up, &down, false).await;
    let b = browser();
    let page = b
        .get(down.authorize_url(BASIC.0, &[("scope", "openid")]))
        .send()
        .await
        .expect("authorize");
    let html = page.text().await.expect("page");
    assert!(html.contains("Continue with Upstream"), "{html}");
    assert!(
        !html.contains("type=\"password\""),
        "no password form: {html}"
    );
    let req = html
        .split("req=")
        .nth(1)
        .and_then(|r| r.split(['&', '"']).next())
        .expect("the request id in the provider link")
        .to_string();
    let refused = b
        .post(down.url("/login"))
        .form(&[
            ("req", req.as_str()),
            ("username", ALICE.0),
            ("password", ALICE.1),
        ])
        .send()
        .await
        .expect("login");
    assert_eq!(refused.status(), 400);
    assert!(refused.text().await.expect("page").contains("turned off"));
}

/// `private_key_jwt` (RFC 7523 §2.2) towards the upstream: the downstream stores no secret
/// and signs a client assertion with its own client key, which the upstream registered from
/// the downstream's `/federation/jwks`. The key is not one of the downstream's token keys, and
/// an upstream that holds another key refuses the assertion: nobody is signed in.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_downstream_can_authenticate_to_the_upstream_with_its_own_client_key() {
    for backend in backends() {
        let up = upstream().await;
        let down = downstream_with(backend, true).await;
        let b = browser();
        let get = |path: &str| {
            let r = b.get(down.url(path)).send();
            async move { r.await.expect("GET").json::<Value>().await.expect("JSON") }
        };
        let client_jwks = get("/federation/jwks").await;
        let keys = client_jwks["keys"].as_array().expect("a key set");
        assert_eq!(keys.len(), 1, "{client_jwks}");
        assert_eq!(keys[0]["kty"], "RSA", "RS256, which every upstream takes");
        assert!(keys[0].get("d").is_none(), "public only");
        let token_keys = get("/jwks.json").await;
        let kids = |set: &Value| -> Vec<String> {
            let keys = set["keys"].as_array().expect("keys");
            keys.iter().map(|k| k["kid"].to_string()).collect()
        };
        let token_kids = kids(&token_keys);
        assert!(
            kids(&client_jwks).iter().all(|k| !token_kids.contains(k)),
            "the client key signs no token of ours"
        );
        register_key_client(&up, &down, client_jwks).await;
        add_key_provider(&down, &up).await;
        let at = to_upstream(&b, &down, &[]).await;
        let callback = at_upstream(&b, &up, &at, ALICE).await;
        let code = finish(&b, &down, &callback).await;
        let (status, _, tokens) = down.redeem(&code).await;
        assert_eq!(status, 200, "{backend:?}: {tokens}");
        assert_eq!(
            e2e::unverified_claims(tokens["id_token"].as_str().expect("id"))["idp"],
            "up"
        );

        // The upstream holds another key for us: it refuses the code, nobody signs in.
        let stranger = shared::signer::local::LocalSigner::generate(Alg::RS256).expect("key");
        let other = serde_json::json!({ "keys": [stranger.public_key().jwk.clone()] });
        register_key_client(&up, &down, other).await;
        let b = browser();
        let at = to_upstream(&b, &down, &[]).await;
        let callback = at_upstream(&b, &up, &at, ALICE).await;
        let page = b.get(&callback).send().await.expect("callback");
        assert_eq!(page.status(), 200, "back on our sign-in page");
        let html = page.text().await.expect("page");
        assert!(html.contains("invalid_client"), "{backend:?}: {html}");
        assert!(page_sets_no_session(&html));
    }
}

/// `down` at `up` as a `private_key_jwt` client with the key set `jwks`.
async fn register_key_client(up: &Running, down: &Provider, jwks: Value) {
    let client: Client = serde_json::from_value(serde_json::json!({
        "client_id": UP_CLIENT.0,
        "client_name": "Downstream",
        "auth_method": AuthMethod::PrivateKeyJwt,
        "jwks": jwks,
        "redirect_uris": [format!("{}/federation/callback", down.issuer())],
        "allowed_scopes": ["openid", "email", "profile"],
        "grant_types": ["authorization_code"],
        "trusted": true,
    }))
    .expect("client");
    let put = up.app.store.put_client(&client).await;
    put.expect("client at the upstream");
}

/// `up` at `down` as the provider `up`, authenticated with `private_key_jwt`: no secret.
async fn add_key_provider(down: &Provider, up: &Running) {
    let provider = UpstreamProvider {
        id: "up".into(),
        issuer: up.issuer().into(),
        client_id: UP_CLIENT.0.into(),
        client_auth: UpstreamAuth::PrivateKeyJwt,
        sealed_secret: None,
        scopes: vec!["openid".into(), "email".into(), "profile".into()],
        display_name: "Upstream".into(),
        logo_uri: None,
        claim_map: BTreeMap::new(),
        link_verified_email: false,
        userinfo: false,
        enabled: true,
    };
    provider.validate().expect("valid without a secret");
    let put = down.running.app.store.put_provider(&provider).await;
    put.expect("provider at the downstream");
}
