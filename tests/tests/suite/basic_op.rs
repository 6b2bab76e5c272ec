//! The OpenID Foundation's Basic OP plan (../shared/CONFORMANCE.md), module by module, each
//! test named after the module it mirrors, run on every backend.
use e2e::{ALICE, BASIC, Outcome, POST, PUBLIC, REDIRECT, each_backend, verify_independently};
use openidconnect::{
    AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl, Nonce, OAuth2TokenResponse,
    PkceCodeChallenge, RedirectUrl, Scope, TokenResponse,
    core::{CoreAuthenticationFlow, CoreClient, CoreProviderMetadata, CoreUserInfoClaims},
};
use serde_json::Value;

/// The happy path through a real RP library: discovery, authorize, sign-in, code, token
/// (ID token verified by the library: signature via JWKS, iss, aud, exp, iat, nonce), userinfo.
async fn rp_library_flow(
    p: &e2e::Provider,
    client_id: &str,
    secret: Option<&str>,
    post_auth: bool,
    pkce: bool,
) -> (Value, Value) {
    let http = e2e::http_client();
    let meta =
        CoreProviderMetadata::discover_async(IssuerUrl::new(p.issuer()).expect("issuer"), &http)
            .await
            .expect("discovery");
    let mut client = CoreClient::from_provider_metadata(
        meta,
        ClientId::new(client_id.into()),
        secret.map(|s| ClientSecret::new(s.into())),
    )
    .set_redirect_uri(RedirectUrl::new(REDIRECT.into()).expect("redirect"));
    if post_auth {
        client = client.set_auth_type(openidconnect::AuthType::RequestBody);
    }
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let mut req = client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .add_scope(Scope::new("profile".into()))
        .add_scope(Scope::new("email".into()));
    if pkce {
        req = req.set_pkce_challenge(challenge);
    }
    let (url, csrf, nonce) = req.url();
    let out = p
        .browser()
        .authorize(url.as_str(), Some(ALICE), "allow")
        .await;
    assert_eq!(
        out.param("state").as_deref(),
        Some(csrf.secret().as_str()),
        "state is returned"
    );
    assert_eq!(
        out.param("iss"),
        Some(p.issuer()),
        "RFC 9207 iss is returned"
    );
    let code = out.param("code").expect("code");
    let mut exchange = client
        .exchange_code(AuthorizationCode::new(code))
        .expect("token endpoint known");
    if pkce {
        exchange = exchange.set_pkce_verifier(verifier);
    }
    let tokens = exchange.request_async(&http).await.expect("token exchange");
    let id_token = tokens.id_token().expect("an ID token");
    let claims = id_token
        .claims(&client.id_token_verifier(), &nonce)
        .expect("ID token verifies");
    let userinfo: CoreUserInfoClaims = client
        .user_info(tokens.access_token().clone(), None)
        .expect("userinfo endpoint known")
        .request_async(&http)
        .await
        .expect("userinfo");
    assert_eq!(
        userinfo.subject(),
        claims.subject(),
        "userinfo sub equals the ID token's"
    );
    let id_json = serde_json::to_value(claims).expect("claims json");
    (
        id_json,
        serde_json::to_value(userinfo).expect("userinfo json"),
    )
}

fn aud_contains(aud: &Value, client_id: &str) -> bool {
    aud == client_id
        || aud
            .as_array()
            .is_some_and(|a| a.iter().any(|x| x == client_id))
}

each_backend!(oidcc_server, |p| {
    let (id, userinfo) = rp_library_flow(&p, BASIC.0, Some(BASIC.1), false, false).await;
    assert_eq!(id["iss"], p.issuer());
    assert!(aud_contains(&id["aud"], BASIC.0), "aud: {}", id["aud"]);
    assert!(id["auth_time"].is_i64(), "auth_time present: {id}");
    assert_eq!(userinfo["email"], "alice@example.com");
});

each_backend!(oidcc_server_client_secret_post, |p| {
    let (id, _) = rp_library_flow(&p, POST.0, Some(POST.1), true, false).await;
    assert!(aud_contains(&id["aud"], POST.0));
});

each_backend!(oidcc_ensure_request_with_valid_pkce_succeeds, |p| {
    // A public client: no secret at all, PKCE S256 is its proof.
    let (id, _) = rp_library_flow(&p, PUBLIC, None, false, true).await;
    assert!(aud_contains(&id["aud"], PUBLIC));
});

each_backend!(oidcc_idtoken_signature, |p| {
    let code = p.code_for(BASIC.0, &[("scope", "openid email")]).await;
    let (status, headers, body) = p.redeem(&code).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(headers["cache-control"], "no-store");
    let id_token = body["id_token"].as_str().expect("id_token");
    let claims = verify_independently(&p, id_token, BASIC.0).await;
    let now = p.clock_now();
    assert_eq!(claims["iss"], p.issuer());
    assert_eq!(claims["nonce"], "n-456");
    assert!(
        claims["iat"].as_i64().expect("iat") <= now && claims["exp"].as_i64().expect("exp") > now
    );
    assert!((now - claims["auth_time"].as_i64().expect("auth_time")).abs() < 60);
    let header = jsonwebtoken::decode_header(id_token).expect("header");
    let expected = match p.backend {
        e2e::TestBackend::Aws(shared::signer::Alg::ES256) => jsonwebtoken::Algorithm::ES256,
        _ => jsonwebtoken::Algorithm::RS256,
    };
    assert_eq!(header.alg, expected);
    // The access token is an RFC 9068 JWT for the configured audience.
    let at = body["access_token"].as_str().expect("access_token");
    assert_eq!(
        jsonwebtoken::decode_header(at)
            .expect("at header")
            .typ
            .as_deref(),
        Some("at+jwt")
    );
    let at_claims = verify_independently(&p, at, &p.issuer()).await;
    assert_eq!(at_claims["client_id"], BASIC.0);
    assert_eq!(at_claims["scope"], "openid email");
    assert_eq!(at_claims["sub"], claims["sub"]);
    assert!(at_claims["jti"].is_string());
    assert!(
        at_claims.get("email").is_none(),
        "no profile data in access tokens"
    );
});

each_backend!(oidcc_idtoken_unsigned, |p| {
    // We never offer `none`: discovery says so and every ID token is signed.
    let meta: Value = p
        .http
        .get(p.url("/.well-known/openid-configuration"))
        .send()
        .await
        .expect("disc")
        .json()
        .await
        .expect("json");
    let algs = meta["id_token_signing_alg_values_supported"]
        .as_array()
        .expect("algs");
    assert!(!algs.iter().any(|a| a == "none"));
});

async fn tokens_for(p: &e2e::Provider, scope: &str) -> Value {
    let code = p.code_for(BASIC.0, &[("scope", scope)]).await;
    let (status, _, body) = p.redeem(&code).await;
    assert_eq!(status, 200, "{body}");
    body
}

async fn userinfo_claims(p: &e2e::Provider, scope: &str) -> (Value, Value) {
    let body = tokens_for(p, scope).await;
    let id = verify_independently(p, body["id_token"].as_str().expect("id"), BASIC.0).await;
    let (status, _, info) = p
        .userinfo_get(body["access_token"].as_str().expect("at"))
        .await;
    assert_eq!(status, 200, "{info}");
    assert_eq!(info["sub"], id["sub"]);
    (id, info)
}

fn keys_of(v: &Value) -> Vec<String> {
    let mut k: Vec<String> = v.as_object().expect("object").keys().cloned().collect();
    k.sort();
    k
}

/// What every ID token of a person's sign-in carries, whatever the scopes: `sid` names the
/// session (RP-Initiated Logout compares it), `at_hash` binds the access token issued with it,
/// `amr` says how the person signed in (`pwd` here; `fed` through an upstream provider), `acr`
/// the level it reached (README, "Levels of sign-in").
const ID_BASE: &[&str] = &[
    "acr",
    "amr",
    "at_hash",
    "aud",
    "auth_time",
    "exp",
    "iat",
    "iss",
    "nonce",
    "sid",
    "sub",
];

fn with_base(extra: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = ID_BASE.iter().chain(extra).map(|s| s.to_string()).collect();
    v.sort();
    v
}

fn userinfo_keys(extra: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = std::iter::once(&"sub")
        .chain(extra)
        .map(|s| s.to_string())
        .collect();
    v.sort();
    v
}

const PROFILE: &[&str] = &[
    "birthdate",
    "family_name",
    "gender",
    "given_name",
    "locale",
    "middle_name",
    "name",
    "nickname",
    "picture",
    "preferred_username",
    "profile",
    "updated_at",
    "website",
    "zoneinfo",
];

each_backend!(oidcc_scope_profile, |p| {
    let (id, info) = userinfo_claims(&p, "openid profile").await;
    assert_eq!(keys_of(&id), with_base(PROFILE));
    assert_eq!(keys_of(&info), userinfo_keys(PROFILE));
    assert_eq!(info["name"], "Alice Liddell");
});

each_backend!(oidcc_scope_email, |p| {
    let (id, info) = userinfo_claims(&p, "openid email").await;
    assert_eq!(keys_of(&id), with_base(&["email", "email_verified"]));
    assert_eq!(keys_of(&info), userinfo_keys(&["email", "email_verified"]));
    assert_eq!(info["email_verified"], true);
});

each_backend!(oidcc_scope_address, |p| {
    let (id, info) = userinfo_claims(&p, "openid address").await;
    assert_eq!(keys_of(&id), with_base(&["address"]));
    assert_eq!(info["address"]["locality"], "Oxford");
});

each_backend!(oidcc_scope_phone, |p| {
    let (id, info) = userinfo_claims(&p, "openid phone").await;
    assert_eq!(
        keys_of(&id),
        with_base(&["phone_number", "phone_number_verified"])
    );
    assert_eq!(
        keys_of(&info),
        userinfo_keys(&["phone_number", "phone_number_verified"])
    );
});

each_backend!(oidcc_scope_all, |p| {
    let (id, info) = userinfo_claims(&p, "openid profile email address phone").await;
    let all: Vec<&str> = PROFILE
        .iter()
        .copied()
        .chain([
            "email",
            "email_verified",
            "address",
            "phone_number",
            "phone_number_verified",
        ])
        .collect();
    assert_eq!(keys_of(&id), with_base(&all));
    assert_eq!(id["amr"], serde_json::json!(["pwd"]), "a password sign-in");
    assert_eq!(keys_of(&info), userinfo_keys(&all));
});

each_backend!(
    oidcc_ensure_request_without_nonce_succeeds_for_code_flow,
    |p| {
        let code = p.code_for(BASIC.0, &[("nonce", "")]).await;
        let (status, _, body) = p.redeem(&code).await;
        assert_eq!(status, 200);
        let id = verify_independently(&p, body["id_token"].as_str().expect("id"), BASIC.0).await;
        assert!(id.get("nonce").is_none());
    }
);

each_backend!(oidcc_ensure_request_with_unknown_parameter_succeeds, |p| {
    let code = p
        .code_for(BASIC.0, &[("extra_param", "foobar"), ("display", "page")])
        .await;
    assert_eq!(p.redeem(&code).await.0, 200);
});

each_backend!(oidcc_display_page, |p| {
    let code = p.code_for(BASIC.0, &[("display", "page")]).await;
    assert_eq!(p.redeem(&code).await.0, 200);
});

each_backend!(oidcc_display_popup, |p| {
    let code = p.code_for(BASIC.0, &[("display", "popup")]).await;
    assert_eq!(p.redeem(&code).await.0, 200);
});

each_backend!(oidcc_ui_locales, |p| {
    let code = p.code_for(BASIC.0, &[("ui_locales", "se")]).await;
    assert_eq!(p.redeem(&code).await.0, 200);
});

each_backend!(oidcc_claims_locales, |p| {
    let code = p.code_for(BASIC.0, &[("claims_locales", "se")]).await;
    assert_eq!(p.redeem(&code).await.0, 200);
});

each_backend!(oidcc_ensure_request_with_acr_values_succeeds, |p| {
    let code = p.code_for(BASIC.0, &[("acr_values", "1 2")]).await;
    assert_eq!(p.redeem(&code).await.0, 200);
});

each_backend!(oidcc_login_hint, |p| {
    let mut b = p.browser();
    let out = b
        .authorize(
            &p.authorize_url(BASIC.0, &[("login_hint", "alice")]),
            None,
            "allow",
        )
        .await;
    let Outcome::Page { status: 200, body } = out else {
        panic!("expected the sign-in page")
    };
    assert_eq!(
        e2e::browser::input_value(&body, "username").as_deref(),
        Some("alice"),
        "login_hint pre-fills the form"
    );
});

each_backend!(oidcc_response_type_missing, |p| {
    let out = p
        .browser()
        .authorize(
            &p.authorize_url(BASIC.0, &[("response_type", "")]),
            Some(ALICE),
            "allow",
        )
        .await;
    let u = out.redirect();
    assert!(u.as_str().starts_with(REDIRECT));
    assert_eq!(out.param("error").as_deref(), Some("invalid_request"));
    assert_eq!(out.param("state").as_deref(), Some("st-123"));
    assert_eq!(out.param("iss"), Some(p.issuer()));
});

each_backend!(oidcc_ensure_registered_redirect_uri, |p| {
    for bad in [
        "https://attacker.example/cb",
        "https://rp.example/cb/",
        "https://rp.example/cb?x=1",
    ] {
        let out = p
            .browser()
            .authorize(
                &p.authorize_url(BASIC.0, &[("redirect_uri", bad)]),
                Some(ALICE),
                "allow",
            )
            .await;
        let Outcome::Page { status, body } = out else {
            panic!("{bad}: must never redirect, got {out:?}")
        };
        assert_eq!(status, 400);
        assert!(
            body.contains("redirect_uri"),
            "the page explains the problem"
        );
    }
    // Unknown client: an error page too.
    let out = p
        .browser()
        .authorize(
            &p.authorize_url("no-such-client", &[]),
            Some(ALICE),
            "allow",
        )
        .await;
    assert!(matches!(out, Outcome::Page { status: 400, .. }), "{out:?}");
});

each_backend!(oidcc_ensure_post_request_succeeds, |p| {
    let mut b = p.browser();
    let form = [
        ("response_type", "code"),
        ("client_id", BASIC.0),
        ("redirect_uri", REDIRECT),
        ("scope", "openid email"),
        ("state", "post-state"),
        ("nonce", "post-nonce"),
    ];
    let out = b
        .authorize_post(&p.url("/authorize"), &form, Some(ALICE), "allow")
        .await;
    assert_eq!(out.param("state").as_deref(), Some("post-state"));
    let (status, _, body) = p.redeem(&out.param("code").expect("code")).await;
    assert_eq!(status, 200, "{body}");
});

each_backend!(oidcc_codereuse, |p| {
    let code = p.code_for(BASIC.0, &[]).await;
    assert_eq!(p.redeem(&code).await.0, 200);
    let (status, headers, body) = p.redeem(&code).await;
    assert_eq!(status, 400);
    assert_eq!(body["error"], "invalid_grant");
    assert_eq!(headers["cache-control"], "no-store");
});

each_backend!(oidcc_codereuse_30seconds, |p| {
    let code = p.code_for(BASIC.0, &[]).await;
    let (_, _, first) = p.redeem(&code).await;
    let at = first["access_token"].as_str().expect("at").to_string();
    assert_eq!(p.userinfo_get(&at).await.0, 200);
    p.clock.advance(30);
    assert_eq!(p.redeem(&code).await.2["error"], "invalid_grant");
    // The replay revoked what the first redemption minted.
    let (status, headers, _) = p.userinfo_get(&at).await;
    assert_eq!(status, 401);
    assert!(
        headers["www-authenticate"]
            .to_str()
            .expect("ascii")
            .contains("invalid_token")
    );
});

each_backend!(oidcc_prompt_none_not_logged_in, |p| {
    let out = p
        .browser()
        .authorize(
            &p.authorize_url(BASIC.0, &[("prompt", "none")]),
            None,
            "allow",
        )
        .await;
    assert_eq!(out.param("error").as_deref(), Some("login_required"));
    assert_eq!(out.param("state").as_deref(), Some("st-123"));
});

each_backend!(oidcc_prompt_login, |p| {
    let mut b = p.browser();
    let first = b
        .authorize(&p.authorize_url(BASIC.0, &[]), Some(ALICE), "allow")
        .await;
    let (_, _, t1) = p.redeem(&first.param("code").expect("code")).await;
    p.clock.advance(5);
    let before = b.pages_seen.len();
    let second = b
        .authorize(
            &p.authorize_url(BASIC.0, &[("prompt", "login")]),
            Some(ALICE),
            "allow",
        )
        .await;
    assert_eq!(
        b.pages_seen[before], "login",
        "prompt=login shows the form despite the session"
    );
    let (_, _, t2) = p.redeem(&second.param("code").expect("code")).await;
    let at1 =
        verify_independently(&p, t1["id_token"].as_str().expect("id"), BASIC.0).await["auth_time"]
            .as_i64();
    let at2 =
        verify_independently(&p, t2["id_token"].as_str().expect("id"), BASIC.0).await["auth_time"]
            .as_i64();
    assert!(at2 > at1, "a fresh login has a later auth_time");
});

each_backend!(oidcc_max_age_1, |p| {
    let mut b = p.browser();
    let first = b
        .authorize(&p.authorize_url(BASIC.0, &[]), Some(ALICE), "allow")
        .await;
    assert!(first.param("code").is_some());
    p.clock.advance(2);
    let before = b.pages_seen.len();
    // The first sign-in is now at least 2 s old; the new one happens from here on (however
    // long a loaded machine then takes to answer).
    let second_started = p.clock_now();
    let second = b
        .authorize(
            &p.authorize_url(BASIC.0, &[("max_age", "1")]),
            Some(ALICE),
            "allow",
        )
        .await;
    assert_eq!(
        b.pages_seen[before], "login",
        "an older session forces a new login"
    );
    let (_, _, t) = p.redeem(&second.param("code").expect("code")).await;
    let id = verify_independently(&p, t["id_token"].as_str().expect("id"), BASIC.0).await;
    let auth_time = id["auth_time"].as_i64().expect("auth_time");
    assert!(
        (second_started..=p.clock_now()).contains(&auth_time),
        "auth_time is the new sign-in's"
    );
});

each_backend!(oidcc_max_age_10000, |p| {
    let mut b = p.browser();
    b.authorize(&p.authorize_url(BASIC.0, &[]), Some(ALICE), "allow")
        .await
        .redirect();
    let before = b.pages_seen.len();
    let second = b
        .authorize(
            &p.authorize_url(BASIC.0, &[("max_age", "10000")]),
            Some(ALICE),
            "allow",
        )
        .await;
    assert!(
        !b.pages_seen[before..].contains(&"login"),
        "no re-login within max_age"
    );
    let (_, _, t) = p.redeem(&second.param("code").expect("code")).await;
    assert!(
        verify_independently(&p, t["id_token"].as_str().expect("id"), BASIC.0).await["auth_time"]
            .is_i64()
    );
});

each_backend!(
    oidcc_request_uri_unsigned_supported_correctly_or_rejected_as_unsupported,
    |p| {
        let out = p
            .browser()
            .authorize(
                &p.authorize_url(BASIC.0, &[("request_uri", "https://rp.example/req.jwt")]),
                Some(ALICE),
                "allow",
            )
            .await;
        assert_eq!(
            out.param("error").as_deref(),
            Some("request_uri_not_supported")
        );
    }
);

each_backend!(
    oidcc_unsigned_request_object_supported_correctly_or_rejected_as_unsupported,
    |p| {
        let out = p
            .browser()
            .authorize(
                &p.authorize_url(BASIC.0, &[("request", "eyJhbGciOiJub25lIn0.e30.")]),
                Some(ALICE),
                "allow",
            )
            .await;
        assert_eq!(out.param("error").as_deref(), Some("request_not_supported"));
    }
);

each_backend!(oidcc_ensure_request_object_with_redirect_uri, |p| {
    let out = p.browser().authorize(&p.authorize_url(BASIC.0, &[("request", "eyJhbGciOiJub25lIn0.eyJyZWRpcmVjdF91cmkiOiJodHRwczovL2F0dGFja2VyLmV4YW1wbGUvIn0.")]), Some(ALICE), "allow").await;
    assert!(
        out.redirect().as_str().starts_with(REDIRECT),
        "never the request object's redirect_uri"
    );
    assert_eq!(out.param("error").as_deref(), Some("request_not_supported"));
});

each_backend!(oidcc_userinfo_get, |p| {
    let body = tokens_for(&p, "openid email").await;
    let (status, headers, info) = p
        .userinfo_get(body["access_token"].as_str().expect("at"))
        .await;
    assert_eq!(status, 200);
    assert_eq!(headers["cache-control"], "no-store");
    assert_eq!(info["email"], "alice@example.com");
});

each_backend!(oidcc_userinfo_post_header, |p| {
    let body = tokens_for(&p, "openid email").await;
    let resp = p
        .http
        .post(p.url("/userinfo"))
        .bearer_auth(body["access_token"].as_str().expect("at"))
        .send()
        .await
        .expect("post");
    assert_eq!(resp.status(), 200);
    assert_eq!(
        resp.json::<Value>().await.expect("json")["email"],
        "alice@example.com"
    );
});

each_backend!(oidcc_userinfo_post_body, |p| {
    let body = tokens_for(&p, "openid email").await;
    let resp = p
        .http
        .post(p.url("/userinfo"))
        .form(&[("access_token", body["access_token"].as_str().expect("at"))])
        .send()
        .await
        .expect("post");
    assert_eq!(resp.status(), 200);
    assert_eq!(
        resp.json::<Value>().await.expect("json")["email"],
        "alice@example.com"
    );
});

each_backend!(oidcc_claims_essential, |p| {
    let claims = r#"{"userinfo":{"name":{"essential":true}},"id_token":{"email":null}}"#;
    let mut b = p.browser();
    let Outcome::Page { body, .. } = b
        .authorize(
            &p.authorize_url(BASIC.0, &[("claims", claims)]),
            Some(ALICE),
            "",
        )
        .await
    else {
        panic!("consent page")
    };
    assert!(
        body.contains("Also share: <span class=\"claims\">email address, full name</span>"),
        "the consent page names the claims:\n{body}"
    );
    let code = p.code_for(BASIC.0, &[("claims", claims)]).await;
    let (status, _, t) = p.redeem(&code).await;
    assert_eq!(status, 200, "{t}");
    let id = verify_independently(&p, t["id_token"].as_str().expect("id"), BASIC.0).await;
    assert_eq!(id["email"], "alice@example.com", "id_token member");
    assert!(
        id.get("name").is_none(),
        "userinfo member stays out of the ID token"
    );
    let (_, _, info) = p
        .userinfo_get(t["access_token"].as_str().expect("at"))
        .await;
    assert_eq!(
        info["name"], "Alice Liddell",
        "essential userinfo claim returned"
    );
    assert!(
        info.get("email").is_none(),
        "not asked for userinfo, no email scope"
    );
    // A malformed claims parameter is an error at the client.
    let out = p
        .browser()
        .authorize(
            &p.authorize_url(BASIC.0, &[("claims", "[1]")]),
            Some(ALICE),
            "allow",
        )
        .await;
    assert_eq!(out.param("error").as_deref(), Some("invalid_request"));
});

each_backend!(oidcc_alternate_happy_flow, |p| {
    // Differently parameterised: POST client, all scopes, form_post, PKCE, no nonce.
    let verifier = "a-verifier-that-is-long-enough-0123456789-abcdefgh";
    let challenge = shared::protocol::pkce::challenge_of(verifier);
    let url = p.authorize_url(
        POST.0,
        &[
            ("scope", "openid profile email address phone"),
            ("nonce", ""),
            ("response_mode", "form_post"),
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
        ],
    );
    let out = p.browser().authorize(&url, Some(ALICE), "allow").await;
    let Outcome::Page { body, .. } = out else {
        panic!("form_post page")
    };
    let code = e2e::browser::input_value(&body, "code").expect("code");
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", REDIRECT),
        ("client_id", POST.0),
        ("client_secret", POST.1),
        ("code_verifier", verifier),
    ];
    let (status, _, t) = p.token(&form, None).await;
    assert_eq!(status, 200, "{t}");
    let id = verify_independently(&p, t["id_token"].as_str().expect("id"), POST.0).await;
    assert!(id.get("nonce").is_none());
    assert_eq!(id["phone_number"], "+44 1865 000000");
});
