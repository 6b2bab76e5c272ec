//! Dynamic Client Registration (RFC 7591) and client configuration (RFC 7592).
use e2e::{ALICE, Provider, REDIRECT, TestBackend, each_backend};
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
    // A public client gets no secret; a machine client no redirect_uris.
    let (status, public) = register_raw(
        &p,
        json!({"redirect_uris": [REDIRECT], "token_endpoint_auth_method": "none"}),
        None,
    )
    .await;
    assert_eq!(status, 201);
    assert!(public.get("client_secret").is_none());
    let (status, m2m) = register_raw(
        &p,
        json!({"grant_types": ["client_credentials"], "response_types": []}),
        None,
    )
    .await;
    assert_eq!(status, 201, "{m2m}");
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
