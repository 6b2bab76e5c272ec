//! Dynamic Client Registration (RFC 7591) and client configuration (RFC 7592).
use e2e::{ALICE, BASIC, Outcome, Provider, REDIRECT, TestBackend, each_backend};
use openidconnect::{
    AuthorizationCode, CsrfToken, IssuerUrl, Nonce, RedirectUrl,
    core::{
        CoreAuthenticationFlow, CoreClient, CoreClientRegistrationRequest, CoreProviderMetadata,
    },
    registration::EmptyAdditionalClientMetadata,
};
use serde_json::{Value, json};

async fn register_raw(p: &Provider, body: Value, token: Option<&str>) -> (u16, Value) {
    let mut req = p.http.post(p.url("/register")).json(&body);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let resp = req.send().await.expect("register");
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

each_backend!(
    a_client_registered_by_an_rp_library_completes_the_code_flow,
    |p| {
        let http = e2e::http_client();
        let meta = CoreProviderMetadata::discover_async(
            IssuerUrl::new(p.issuer()).expect("issuer"),
            &http,
        )
        .await
        .expect("discovery");
        let endpoint = meta
            .registration_endpoint()
            .expect("registration_endpoint advertised")
            .clone();
        let registered = CoreClientRegistrationRequest::new(
            vec![RedirectUrl::new(REDIRECT.into()).expect("uri")],
            EmptyAdditionalClientMetadata::default(),
        )
        .register_async(&endpoint, &http)
        .await
        .expect("registration");
        let client = CoreClient::from_provider_metadata(
            meta,
            registered.client_id().clone(),
            registered.client_secret().cloned(),
        )
        .set_redirect_uri(RedirectUrl::new(REDIRECT.into()).expect("uri"));
        let (url, _, nonce) = client
            .authorize_url(
                CoreAuthenticationFlow::AuthorizationCode,
                CsrfToken::new_random,
                Nonce::new_random,
            )
            .url();
        let out = p
            .browser()
            .authorize(url.as_str(), Some(ALICE), "allow")
            .await;
        let tokens = client
            .exchange_code(AuthorizationCode::new(out.param("code").expect("code")))
            .expect("token endpoint")
            .request_async(&http)
            .await
            .expect("token exchange with the registered secret");
        let id = openidconnect::TokenResponse::id_token(&tokens).expect("id token");
        id.claims(&client.id_token_verifier(), &nonce)
            .expect("valid ID token");
    }
);

each_backend!(registered_client_can_be_read_updated_and_deleted, |p| {
    let (status, reg) = register_raw(
        &p,
        json!({"redirect_uris": [REDIRECT], "client_name": "Mine", "software_id": "ignored"}),
        None,
    )
    .await;
    assert_eq!(status, 201, "{reg}");
    let (id, rat) = (
        reg["client_id"].as_str().expect("id").to_string(),
        reg["registration_access_token"]
            .as_str()
            .expect("rat")
            .to_string(),
    );
    let uri = reg["registration_client_uri"]
        .as_str()
        .expect("uri")
        .to_string();
    assert!(reg["client_secret"].is_string() && reg.get("software_id").is_none());
    let read = p
        .http
        .get(&uri)
        .bearer_auth(&rat)
        .send()
        .await
        .expect("read");
    assert_eq!(read.status(), 200);
    let current: Value = read.json().await.expect("json");
    assert_eq!(
        (
            current["client_name"].as_str(),
            current["client_id"].as_str()
        ),
        (Some("Mine"), Some(id.as_str()))
    );
    assert!(
        current.get("client_secret").is_none(),
        "the secret is shown once"
    );
    // Replace the metadata (RFC 7592 §2.2).
    let update = json!({"client_id": id, "client_name": "Renamed", "redirect_uris": [REDIRECT, "https://rp.example/second"]});
    let resp = p
        .http
        .put(&uri)
        .bearer_auth(&rat)
        .json(&update)
        .send()
        .await
        .expect("update");
    assert_eq!(resp.status(), 200);
    assert_eq!(
        resp.json::<Value>().await.expect("json")["redirect_uris"][1],
        "https://rp.example/second"
    );
    let out = p
        .browser()
        .authorize(
            &p.authorize_url(&id, &[("redirect_uri", "https://rp.example/second")]),
            Some(ALICE),
            "allow",
        )
        .await;
    assert!(out.param("code").is_some(), "the new redirect_uri works");
    // Someone else's token, or none: 401 with a Bearer challenge.
    let wrong = p
        .http
        .get(&uri)
        .bearer_auth("not-the-token")
        .send()
        .await
        .expect("read");
    assert_eq!(wrong.status(), 401);
    assert!(
        wrong.headers()["www-authenticate"]
            .to_str()
            .expect("ascii")
            .contains("invalid_token")
    );
    // Delete (RFC 7592 §2.3): gone for good.
    assert_eq!(
        p.http
            .delete(&uri)
            .bearer_auth(&rat)
            .send()
            .await
            .expect("delete")
            .status(),
        204
    );
    assert_eq!(
        p.http
            .get(&uri)
            .bearer_auth(&rat)
            .send()
            .await
            .expect("read")
            .status(),
        401
    );
    let out = p
        .browser()
        .authorize(&p.authorize_url(&id, &[]), Some(ALICE), "allow")
        .await;
    assert!(
        matches!(out, e2e::Outcome::Page { status: 400, .. }),
        "a deleted client is unknown"
    );
});

each_backend!(bad_metadata_gets_the_rfc_7591_error, |p| {
    let cases = [
        (
            json!({"client_name": "no redirect"}),
            "invalid_redirect_uri",
        ),
        (
            json!({"redirect_uris": ["https://rp.example/cb#frag"]}),
            "invalid_redirect_uri",
        ),
        (
            json!({"redirect_uris": ["relative/cb"]}),
            "invalid_redirect_uri",
        ),
        (
            json!({"redirect_uris": [REDIRECT], "jwks_uri": "https://rp.example/jwks"}),
            "invalid_client_metadata",
        ),
        (
            json!({"redirect_uris": [REDIRECT], "response_types": ["token"]}),
            "invalid_client_metadata",
        ),
        (
            json!({"redirect_uris": [REDIRECT], "token_endpoint_auth_method": "tls_client_auth"}),
            "invalid_client_metadata",
        ),
        (
            json!({"redirect_uris": [REDIRECT], "token_endpoint_auth_method": "private_key_jwt"}),
            "invalid_client_metadata",
        ),
        (
            json!({"redirect_uris": [REDIRECT], "grant_types": ["password"]}),
            "invalid_client_metadata",
        ),
        (
            json!({"redirect_uris": "https://rp.example/cb"}),
            "invalid_client_metadata",
        ),
    ];
    for (body, error) in cases {
        let (status, resp) = register_raw(&p, body.clone(), None).await;
        assert_eq!(
            (status, resp["error"].as_str()),
            (400, Some(error)),
            "{body}: {resp}"
        );
    }
    // A public client gets no secret. (A machine client needs no redirect_uris, where the
    // policy allows client_credentials: see `policy_is_configurable_per_deployment`.)
    let (status, public) = register_raw(
        &p,
        json!({"redirect_uris": [REDIRECT], "token_endpoint_auth_method": "none"}),
        None,
    )
    .await;
    assert_eq!(status, 201);
    assert!(public.get("client_secret").is_none());
});

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registration_needs_the_initial_access_token_when_configured() {
    let token = "initial-access-token-0123456789abcdefghijkl";
    let p = Provider::start_with(
        TestBackend::Embedded,
        vec![("REGISTRATION_INITIAL_ACCESS_TOKEN".into(), token.into())],
    )
    .await;
    let body = json!({"redirect_uris": [REDIRECT]});
    let (status, resp) = register_raw(&p, body.clone(), None).await;
    assert_eq!(
        (status, resp["error"].as_str()),
        (401, Some("invalid_token"))
    );
    assert_eq!(
        register_raw(&p, body.clone(), Some("wrong-token")).await.0,
        401
    );
    assert_eq!(register_raw(&p, body.clone(), Some(token)).await.0, 201);

    let closed = Provider::start_with(
        TestBackend::Embedded,
        vec![("REGISTRATION".into(), "disabled".into())],
    )
    .await;
    assert_eq!(register_raw(&closed, body, None).await.0, 403);
    let meta: Value = closed
        .http
        .get(closed.url("/.well-known/openid-configuration"))
        .send()
        .await
        .expect("disc")
        .json()
        .await
        .expect("json");
    assert!(
        meta.get("registration_endpoint").is_none(),
        "discovery only advertises what is enabled"
    );
}

/// The registration's error code and description, after checking it is a 400.
async fn refused(p: &Provider, body: Value) -> (String, String) {
    let (status, resp) = register_raw(p, body.clone(), None).await;
    assert_eq!(status, 400, "{body} was accepted: {resp}");
    (
        resp["error"].as_str().unwrap_or_default().to_string(),
        resp["error_description"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
    )
}

/// Registers `body`; returns the client_id and the whole answer.
async fn registered(p: &Provider, body: Value) -> (String, Value) {
    let (status, reg) = register_raw(p, body, None).await;
    assert_eq!(status, 201, "{reg}");
    let id = reg["client_id"].as_str().expect("client_id").to_string();
    (id, reg)
}

const EVIL: &str = "https://evil.example/";

// Issue 12, defect 1: a self-registered client asked for client_credentials and API scopes and
// got an access token with them. RFC 7591 §2/§5: registration is subject to policy.
each_backend!(policy_refuses_client_credentials_and_api_scopes, |p| {
    let (error, why) = refused(
        &p,
        json!({"grant_types": ["client_credentials"], "response_types": [], "scope": "admin payments:write"}),
    )
    .await;
    assert_eq!(error, "invalid_client_metadata");
    assert!(
        why.contains("grant_types") && why.contains("client_credentials"),
        "{why}"
    );
    let (error, why) = refused(
        &p,
        json!({"redirect_uris": [REDIRECT], "scope": "openid admin payments:write"}),
    )
    .await;
    assert_eq!(error, "invalid_client_metadata");
    assert!(why.contains("scope") && why.contains("admin"), "{why}");
    // Within the policy: the standard scopes, the code flow, and nothing else.
    let (id, reg) = registered(&p, json!({"redirect_uris": [REDIRECT]})).await;
    assert_eq!(
        reg["scope"], "openid profile email address phone offline_access",
        "{reg}"
    );
    let secret = reg["client_secret"].as_str().expect("secret");
    let (status, _, body) = p
        .token(
            &[("grant_type", "client_credentials"), ("scope", "admin")],
            Some((&id, secret)),
        )
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("unauthorized_client")),
        "{body}"
    );
});

// A client registered before the policy (or under a wider one) is held to the current one
// whenever it is used.
each_backend!(policy_bounds_clients_registered_before_it, |p| {
    let secret = "an-old-registration-secret-0123456789abcdef";
    let old = shared::store::Client {
        grant_types: vec!["client_credentials".into()],
        allowed_scopes: vec!["admin".into(), "payments:write".into()],
        registration_token_hash: Some(shared::crypto::secret_digest("rat-0123456789")),
        skip_consent: true,
        trusted: Some(true),
        ..shared::seed::SeedClient {
            client_id: "registered-long-ago".into(),
            client_secret: Some(secret.into()),
            grant_types: Some(vec!["client_credentials".into()]),
            ..Default::default()
        }
        .to_client()
        .expect("client")
    };
    p.running.app.store.put_client(&old).await.expect("stored");
    let (status, _, body) = p
        .token(
            &[("grant_type", "client_credentials")],
            Some(("registered-long-ago", secret)),
        )
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("unauthorized_client")),
        "{body}"
    );
});

each_backend!(registered_clients_never_skip_consent, |p| {
    // A registration that asks to be first-party is registered as a third party.
    let (id, _) = registered(
        &p,
        json!({"redirect_uris": [REDIRECT], "skip_consent": true, "client_name": "Self-Declared First Party"}),
    )
    .await;
    let mut b = p.browser();
    let out = b
        .authorize(&p.authorize_url(&id, &[]), Some(ALICE), "")
        .await;
    assert_eq!(b.pages_seen, vec!["login", "consent"], "{out:?}");
    assert!(matches!(out, Outcome::Page { status: 200, .. }));
    // Already signed in, the same holds for single sign-on and for an RFC 7592 update.
    let (_, reg) = registered(&p, json!({"redirect_uris": [REDIRECT]})).await;
    let update =
        json!({"client_id": reg["client_id"], "redirect_uris": [REDIRECT], "skip_consent": true});
    let resp = p
        .http
        .put(reg["registration_client_uri"].as_str().expect("uri"))
        .bearer_auth(reg["registration_access_token"].as_str().expect("rat"))
        .json(&update)
        .send()
        .await
        .expect("update");
    assert_eq!(resp.status(), 200);
    let second = reg["client_id"].as_str().expect("id");
    let out = b.authorize(&p.authorize_url(second, &[]), None, "").await;
    assert_eq!(b.pages_seen.last(), Some(&"consent"), "{out:?}");
});

// Issue 12, defect 5: with registration open, /authorize without `scope` from a browser with no
// session redirected the error to any registered URI. RFC 9700 §4.11.2.
each_backend!(
    untrusted_client_errors_before_sign_in_stay_on_our_page,
    |p| {
        let (id, _) = registered(
            &p,
            json!({"redirect_uris": [EVIL], "client_name": "Totally Legit App"}),
        )
        .await;
        let no_scope = p.authorize_url(&id, &[("redirect_uri", EVIL), ("scope", "")]);
        let resp = p.http.get(&no_scope).send().await.expect("authorize");
        assert_eq!(resp.status(), 400);
        assert!(resp.headers().get("location").is_none());
        let page = resp.text().await.expect("page");
        assert!(
            page.contains("Totally Legit App") && page.contains("invalid_scope"),
            "{page}"
        );
        // OIDC Core §3.1.2.6: a silent request still gets its answer.
        let silent = p.authorize_url(&id, &[("redirect_uri", EVIL), ("prompt", "none")]);
        let resp = p.http.get(&silent).send().await.expect("authorize");
        assert_eq!(resp.status(), 303);
        let to = resp.headers()["location"]
            .to_str()
            .expect("ascii")
            .to_string();
        assert!(
            to.starts_with(EVIL) && to.contains("error=login_required"),
            "{to}"
        );
        // Once the person has signed in here, errors go back to the client as usual.
        let mut b = p.browser();
        b.authorize(&p.authorize_url(BASIC.0, &[]), Some(ALICE), "allow")
            .await
            .redirect();
        let out = b.authorize(&no_scope, None, "").await;
        assert!(out.redirect().as_str().starts_with(EVIL), "{out:?}");
        assert_eq!(out.param("error").as_deref(), Some("invalid_scope"));
        // A client the administrator created is trusted: its errors are redirected at once.
        let out = p
            .browser()
            .authorize(&p.authorize_url(BASIC.0, &[("scope", "")]), None, "")
            .await;
        assert_eq!(out.param("error").as_deref(), Some("invalid_scope"));
    }
);

// Issue 12, defect 13: /register accepted NUL in redirect_uris, and /authorize then answered
// 303 with no Location header. Every URI member is validated; nothing refused is echoed.
each_backend!(control_characters_in_uris_refused, |p| {
    let uri_cases = [
        "https://rp.example/cb\u{0}x",
        "https://rp.example/c\tb",
        "https://rp.example/c\r\nSet-Cookie: x=1",
        "https://rp.example/a b",
        "https://rp.example/\u{e9}",
        "javascript:alert(document.cookie)",
        "data:text/html,<script>alert(1)</script>",
        "file:///etc/passwd",
        "vbscript:msgbox",
        "http://rp.example/cb",
        "https://rp.example@evil.example/cb",
        "com.example.app:/cb",
    ];
    for uri in uri_cases {
        for member in ["redirect_uris", "post_logout_redirect_uris"] {
            let mut body = json!({"redirect_uris": [REDIRECT]});
            body[member] = json!([uri]);
            let (error, why) = refused(&p, body).await;
            assert_eq!(error, "invalid_redirect_uri", "{uri:?}");
            assert!(why.starts_with(member), "{why}");
            assert!(
                !why.chars().any(char::is_control) && !why.contains("Set-Cookie"),
                "refused values are not echoed: {why:?}"
            );
        }
    }
    for logo in [
        "http://rp.example/logo.png",
        "javascript:alert(1)",
        "https://rp.example/\u{0}",
    ] {
        let (error, why) =
            refused(&p, json!({"redirect_uris": [REDIRECT], "logo_uri": logo})).await;
        assert_eq!(error, "invalid_client_metadata", "{logo:?}");
        assert!(why.contains("logo_uri") && !why.contains('\0'), "{why:?}");
    }
    let (error, _) = refused(
        &p,
        json!({"redirect_uris": [REDIRECT], "client_name": "Evil\u{0}\u{1b}[2J"}),
    )
    .await;
    assert_eq!(error, "invalid_client_metadata");
    // RFC 7592 updates go through the same validator.
    let (id, reg) = registered(&p, json!({"redirect_uris": [REDIRECT]})).await;
    let resp = p
        .http
        .put(reg["registration_client_uri"].as_str().expect("uri"))
        .bearer_auth(reg["registration_access_token"].as_str().expect("rat"))
        .json(&json!({"client_id": id, "redirect_uris": ["https://rp.example/cb\u{0}"]}))
        .send()
        .await
        .expect("update");
    assert_eq!(resp.status(), 400);
    // A record stored before URIs were validated is never followed.
    let mut old = p
        .running
        .app
        .store
        .client(&id)
        .await
        .expect("read")
        .expect("client");
    old.redirect_uris = vec!["https://rp.example/cb\u{0}".into()];
    p.running.app.store.put_client(&old).await.expect("stored");
    let resp = p
        .http
        .get(p.authorize_url(
            &id,
            &[
                ("redirect_uri", "https://rp.example/cb\u{0}"),
                ("scope", ""),
            ],
        ))
        .send()
        .await
        .expect("authorize");
    assert_eq!(resp.status(), 400);
    assert!(resp.headers().get("location").is_none());
});

// RFC 7591 §5: the policy is the deployment's. Everything the default refuses can be allowed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn policy_is_configurable_per_deployment() {
    let vars = [
        (
            "REGISTRATION_GRANT_TYPES",
            "authorization_code client_credentials",
        ),
        ("REGISTRATION_SCOPES", "openid email api:read"),
        ("REGISTRATION_AUTH_METHODS", "client_secret_basic"),
        ("REGISTRATION_REDIRECT_URIS", "https private-use"),
        ("REGISTRATION_TRUSTED", "true"),
    ];
    for backend in e2e::backends() {
        eprintln!("policy_is_configurable_per_deployment on {backend:?}");
        let vars = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let p = Provider::start_with(backend, vars).await;
        let (id, reg) = registered(
            &p,
            json!({"grant_types": ["client_credentials"], "response_types": [], "scope": "api:read"}),
        )
        .await;
        let secret = reg["client_secret"].as_str().expect("secret");
        let (status, _, body) = p
            .token(&[("grant_type", "client_credentials")], Some((&id, secret)))
            .await;
        assert_eq!(
            (status, body["scope"].as_str()),
            (200, Some("api:read")),
            "{body}"
        );
        let (error, why) = refused(
            &p,
            json!({"redirect_uris": [REDIRECT], "token_endpoint_auth_method": "none"}),
        )
        .await;
        assert_eq!(error, "invalid_client_metadata");
        assert!(why.contains("token_endpoint_auth_method"), "{why}");
        let (error, _) = refused(&p, json!({"redirect_uris": ["http://127.0.0.1:9/cb"]})).await;
        assert_eq!(error, "invalid_redirect_uri");
        let (error, why) = refused(
            &p,
            json!({"redirect_uris": [REDIRECT], "scope": "openid profile"}),
        )
        .await;
        assert_eq!(error, "invalid_client_metadata");
        assert!(why.contains("profile"), "{why}");
        registered(&p, json!({"redirect_uris": ["com.example.app:/cb"]})).await;
        // Trusted by policy: errors before sign-in go back to the client.
        let (id, _) = registered(&p, json!({"redirect_uris": [EVIL]})).await;
        let out = p
            .browser()
            .authorize(
                &p.authorize_url(&id, &[("redirect_uri", EVIL), ("scope", "")]),
                None,
                "",
            )
            .await;
        assert_eq!(out.param("error").as_deref(), Some("invalid_scope"));
    }
}

// The local server's seed file carries the same policy (`[registration]`); the environment
// wins where both set a value.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seed_file_carries_the_registration_policy() {
    let seed = shared::seed::Seed::parse(
        "seed.toml",
        r#"
[registration]
scopes = ["openid", "api:read"]
grant_types = ["client_credentials"]
trusted = true
"#,
    )
    .expect("seed");
    let running = oidc_local::start(
        oidc_local::Options {
            port: 0,
            issuer: None,
            backend: oidc_local::Backend::Embedded {
                data_dir: None,
                alg: shared::signer::Alg::ES256,
            },
            seed: Some(seed),
            demo: false,
            config_vars: vec![
                ("REGISTRATION".into(), "open".into()),
                ("REGISTRATION_SCOPES".into(), "openid api:write".into()),
            ],
            lambda_keys: false,
            timeouts: Default::default(),
        },
        std::sync::Arc::new(shared::clock::SystemClock),
    )
    .await
    .expect("starts");
    let policy = &running.app.config.registration_policy;
    assert_eq!(policy.grant_types, vec!["client_credentials"]);
    assert!(policy.trusted);
    assert_eq!(
        policy.scopes,
        vec!["openid", "api:write"],
        "the environment wins"
    );
    let http = e2e::http_client();
    let resp = http
        .post(format!("{}/register", running.issuer()))
        .json(&json!({"grant_types": ["client_credentials"], "response_types": [], "scope": "api:write"}))
        .send()
        .await
        .expect("register");
    assert_eq!(resp.status(), 201);
}
