//! A real RP library (the `openidconnect` crate), configured only from discovery, signs in,
//! refreshes and logs out.
use e2e::{ALICE, BASIC, LOGGED_OUT, REDIRECT, each_backend};
use openidconnect::{
    AccessTokenHash, AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl,
    LogoutRequest, Nonce, OAuth2TokenResponse, PostLogoutRedirectUrl, ProviderMetadataWithLogout,
    RedirectUrl, Scope, TokenResponse,
    core::{CoreAuthenticationFlow, CoreClient},
};

each_backend!(rp_library_signs_in_refreshes_and_logs_out, |p| {
    let http = e2e::http_client();
    let meta = ProviderMetadataWithLogout::discover_async(
        IssuerUrl::new(p.issuer()).expect("issuer"),
        &http,
    )
    .await
    .expect("discovery");
    let end_session = meta
        .additional_metadata()
        .end_session_endpoint
        .clone()
        .expect("end_session_endpoint advertised");
    let client = CoreClient::from_provider_metadata(
        meta,
        ClientId::new(BASIC.0.into()),
        Some(ClientSecret::new(BASIC.1.into())),
    )
    .set_redirect_uri(RedirectUrl::new(REDIRECT.into()).expect("redirect"));
    let (url, csrf, nonce) = client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .add_scope(Scope::new("email".into()))
        .add_scope(Scope::new("offline_access".into()))
        .url();
    let mut b = p.browser();
    let out = b.authorize(url.as_str(), Some(ALICE), "allow").await;
    assert_eq!(out.param("state").as_deref(), Some(csrf.secret().as_str()));
    let tokens = client
        .exchange_code(AuthorizationCode::new(out.param("code").expect("code")))
        .expect("token endpoint")
        .request_async(&http)
        .await
        .expect("code exchange");
    let id_token = tokens.id_token().expect("id token");
    let verifier = client.id_token_verifier();
    let claims = id_token.claims(&verifier, &nonce).expect("valid ID token");
    let sub = claims.subject().clone();
    // OIDC Core §3.1.3.8: the ID token binds the access token it came with (at_hash), as
    // the library computes it.
    let at_hash = AccessTokenHash::from_token(
        tokens.access_token(),
        id_token.signing_alg().expect("alg"),
        id_token.signing_key(&verifier).expect("key"),
    )
    .expect("at_hash computes");
    assert_eq!(claims.access_token_hash(), Some(&at_hash));

    let refreshed = client
        .exchange_refresh_token(tokens.refresh_token().expect("a refresh token"))
        .expect("token endpoint")
        .request_async(&http)
        .await
        .expect("refresh");
    let new_id = refreshed.id_token().expect("refreshed ID token");
    let no_nonce = |n: Option<&Nonce>| {
        if n.is_none() {
            Ok(())
        } else {
            Err("unexpected nonce".to_string())
        }
    };
    let claims = new_id
        .claims(&client.id_token_verifier(), no_nonce)
        .expect("refreshed ID token verifies");
    assert_eq!(claims.subject(), &sub, "same sub after refresh");
    assert_ne!(
        refreshed.refresh_token().expect("rotated").secret(),
        tokens.refresh_token().expect("rt").secret()
    );

    let logout = LogoutRequest::from(end_session)
        .set_id_token_hint(new_id)
        .set_post_logout_redirect_uri(PostLogoutRedirectUrl::new(LOGGED_OUT.into()).expect("uri"))
        .set_state(CsrfToken::new("after-logout".into()))
        .http_get_url();
    let resp = b
        .client()
        .get(logout.as_str())
        .send()
        .await
        .expect("logout");
    assert_eq!(resp.status(), 303);
    assert_eq!(
        resp.headers()["location"],
        format!("{LOGGED_OUT}?state=after-logout")
    );
    let out = b
        .authorize(
            &p.authorize_url(BASIC.0, &[("prompt", "none")]),
            None,
            "allow",
        )
        .await;
    assert_eq!(
        out.param("error").as_deref(),
        Some("login_required"),
        "signed out"
    );
});
