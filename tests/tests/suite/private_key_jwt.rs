//! private_key_jwt client authentication (RFC 7523 §2.2, OIDC Core §9) at the token endpoint.
use e2e::{REDIRECT, each_backend};
use serde_json::{Value, json};
use shared::{
    seed::{Seed, SeedClient},
    signer::{Alg, Verifier, local::LocalSigner},
    store::AuthMethod,
};

const CLIENT: &str = "rp-jwt";

/// Registers a private_key_jwt client whose key is `key`; returns it.
async fn register(p: &e2e::Provider, alg: Alg) -> LocalSigner {
    let key = LocalSigner::generate(alg).expect("key");
    let jwk = key.public_keys().await.expect("jwk")[0].jwk.clone();
    let seed = Seed {
        clients: vec![SeedClient {
            client_id: CLIENT.into(),
            client_name: None,
            logo_uri: None,
            client_secret: None,
            token_endpoint_auth_method: Some(AuthMethod::PrivateKeyJwt),
            redirect_uris: vec![REDIRECT.into()],
            scopes: None,
            grant_types: Some(vec![
                "authorization_code".into(),
                "client_credentials".into(),
            ]),
            skip_consent: true,
            post_logout_redirect_uris: vec![],
            custom_claims: vec![],
            allowed_claims: vec![],
            jwks: Some(json!({ "keys": [jwk] })),
            ..SeedClient::default()
        }],
        ..Seed::default()
    };
    shared::seed::apply(p.running.app.store.as_ref(), &seed, p.clock_now() * 1000)
        .await
        .expect("register");
    key
}

async fn assertion(key: &LocalSigner, claims: Value) -> String {
    shared::jwt::sign(key, "JWT", &claims)
        .await
        .expect("sign assertion")
}

fn claims(p: &e2e::Provider, jti: &str, exp_in: i64) -> Value {
    let now = p.clock_now();
    json!({ "iss": CLIENT, "sub": CLIENT, "aud": p.issuer(), "jti": jti, "iat": now, "exp": now + exp_in })
}

async fn token_with(p: &e2e::Provider, assertion: &str) -> (u16, Value) {
    let form = [
        ("grant_type", "client_credentials"),
        (
            "client_assertion_type",
            "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        ),
        ("client_assertion", assertion),
    ];
    let (status, _, body) = p.token(&form, None).await;
    (status, body)
}

each_backend!(private_key_jwt_authenticates_once_per_assertion, |p| {
    for alg in [Alg::RS256, Alg::ES256] {
        let key = register(&p, alg).await;
        let a = assertion(&key, claims(&p, &format!("j1-{alg:?}"), 60)).await;
        let (status, body) = token_with(&p, &a).await;
        assert_eq!(status, 200, "{alg:?}: {body}");
        let (status, body) = token_with(&p, &a).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (401, Some("invalid_client")),
            "a replayed jti is refused"
        );
    }
});

each_backend!(private_key_jwt_refuses_bad_assertions, |p| {
    let key = register(&p, Alg::RS256).await;
    let other = LocalSigner::generate(Alg::RS256).expect("key");
    let mut wrong_aud = claims(&p, "a", 60);
    wrong_aud["aud"] = json!("https://elsewhere.example/token");
    let mut wrong_iss = claims(&p, "b", 60);
    wrong_iss["iss"] = json!("someone-else");
    let mut no_jti = claims(&p, "c", 60);
    no_jti.as_object_mut().expect("obj").remove("jti");
    let cases = [
        (
            "signed by an unregistered key",
            assertion(&other, claims(&p, "d", 60)).await,
        ),
        ("wrong audience", assertion(&key, wrong_aud).await),
        ("iss is not the client", assertion(&key, wrong_iss).await),
        ("no jti", assertion(&key, no_jti).await),
        ("expired", assertion(&key, claims(&p, "e", -1)).await),
        (
            "lives too long",
            assertion(&key, claims(&p, "f", 3600)).await,
        ),
        ("not a JWT", "abc".to_string()),
    ];
    for (why, a) in cases {
        let (status, body) = token_with(&p, &a).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (401, Some("invalid_client")),
            "{why}: {body}"
        );
    }
    assert_eq!(
        token_with(&p, &assertion(&key, claims(&p, "g", 60)).await)
            .await
            .0,
        200,
        "and a good one is accepted"
    );
});

// Issue 12, defect 12: an assertion whose `aud` was a list naming another server too was
// accepted. The 2025 OpenID Foundation advisory / rfc7523bis: `aud` is the issuer identifier,
// a single string.
each_backend!(audience_must_be_the_issuer_alone, |p| {
    let key = register(&p, Alg::ES256).await;
    let issuer = p.issuer();
    let cases = [
        (
            "a list with another server",
            json!(["https://other-as.example", issuer]),
        ),
        ("a list of the issuer alone", json!([issuer])),
        ("the token endpoint", json!(p.url("/token"))),
        (
            "the issuer with a trailing slash",
            json!(format!("{issuer}/")),
        ),
    ];
    for (i, (why, aud)) in cases.into_iter().enumerate() {
        let mut c = claims(&p, &format!("aud-{i}"), 60);
        c["aud"] = aud;
        let (status, body) = token_with(&p, &assertion(&key, c).await).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (401, Some("invalid_client")),
            "{why}: {body}"
        );
    }
    let (status, body) = token_with(&p, &assertion(&key, claims(&p, "aud-ok", 60)).await).await;
    assert_eq!(status, 200, "exactly the issuer: {body}");
});
