//! The provider's access tokens protect an API: API Gateway's JWT authorizer (modelled here a
//! second time, from its documentation only, on the independent `jsonwebtoken` crate) and
//! `oidc-verifier` (what the example API runs) accept and refuse the same tokens, and the
//! verifier alone refuses an ID token however the audience is configured.
use std::{sync::Arc, time::Duration};

use e2e::{API_APP, BASIC, M2M, REDIRECT, each_backend};
use jsonwebtoken::{Algorithm, DecodingKey, Validation, decode, decode_header, jwk::JwkSet};
use lambda_http::{Body, Request};
use oidc_verifier::{Refusal, Rules, Verifier};
use serde_json::Value;
use shared::signer::KeyRing;

/// API Gateway's HTTP API JWT authorizer, step by step as "Authorizing API requests with a
/// JWT authorizer" documents it
/// (<https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-jwt-authorizer.html>).
/// It shares no code with `oidc-verifier`.
struct Authorizer {
    issuer: String,
    audience: Vec<String>,
    jwks: JwkSet,
    /// "Currently, only RSA-based algorithms are supported" (HTTP APIs). REST API JWT
    /// authorizers also take ES256 (`defaultAlgorithms`).
    rsa_only: bool,
}

impl Authorizer {
    fn authorize(
        &self,
        token: &str,
        route_scopes: &[&str],
        now: i64,
    ) -> Result<Value, &'static str> {
        // 2. Decode the token. 3. Check its algorithm and signature with the issuer's keys.
        let header = decode_header(token).map_err(|_| "undecodable")?;
        let rsa = matches!(
            header.alg,
            Algorithm::RS256 | Algorithm::RS384 | Algorithm::RS512
        );
        if self.rsa_only && !rsa {
            return Err("not an RSA algorithm");
        }
        // kid: a header claim that matches the key in the jwks_uri that signed the token.
        let kid = header.kid.as_deref().ok_or("no kid")?;
        let jwk = self.jwks.find(kid).ok_or("kid not in the jwks_uri")?;
        let key = DecodingKey::from_jwk(jwk).map_err(|_| "unusable key")?;
        let mut signature_only = Validation::new(header.alg);
        signature_only.validate_exp = false;
        signature_only.validate_nbf = false;
        signature_only.validate_aud = false;
        signature_only.required_spec_claims.clear();
        signature_only.leeway = 0;
        let c = decode::<Value>(token, &key, &signature_only)
            .map_err(|_| "bad signature")?
            .claims;
        // 4. The claims. iss: must match the configured issuer.
        if c["iss"].as_str() != Some(self.issuer.as_str()) {
            return Err("iss");
        }
        // aud or client_id: "validates client_id only if aud is not present".
        let named: Vec<&str> = match c.get("aud") {
            Some(Value::String(a)) => vec![a.as_str()],
            Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).collect(),
            Some(_) => vec![],
            None => c["client_id"].as_str().into_iter().collect(),
        };
        if !named.iter().any(|a| self.audience.iter().any(|x| x == a)) {
            return Err("aud");
        }
        // exp: after the current time; nbf and iat: before it.
        if c["exp"].as_i64().is_none_or(|exp| exp <= now) {
            return Err("exp");
        }
        if c["nbf"].as_i64().is_some_and(|t| t > now) {
            return Err("nbf");
        }
        if c["iat"].as_i64().is_some_and(|t| t > now) {
            return Err("iat");
        }
        // scope or scp: at least one of the route's authorizationScopes.
        let granted: Vec<&str> = ["scope", "scp"]
            .iter()
            .flat_map(|k| match &c[*k] {
                Value::String(s) => s.split(' ').collect::<Vec<_>>(),
                Value::Array(a) => a.iter().filter_map(Value::as_str).collect(),
                _ => vec![],
            })
            .collect();
        if !route_scopes.is_empty() && !route_scopes.iter().any(|s| granted.contains(s)) {
            return Err("scope");
        }
        Ok(c)
    }
}

/// One request to both: the route's audience and scopes, the token, the time.
struct Case<'a> {
    what: &'a str,
    token: &'a str,
    audience: &'a str,
    scopes: &'a [&'a str],
    now: i64,
    accepted: bool,
}

each_backend!(
    the_authorizer_and_the_verifier_agree_on_the_providers_tokens,
    |p| {
        let issuer = p.issuer();
        // A person's token (code flow, consented) and a machine client's (client_credentials).
        let code = p.code_for(BASIC.0, &[("scope", "openid email")]).await;
        let (status, _, person) = p.redeem(&code).await;
        assert_eq!(status, 200, "{person}");
        let (status, _, machine) = p
            .token(
                &[("grant_type", "client_credentials"), ("scope", "api:read")],
                Some(M2M),
            )
            .await;
        assert_eq!(status, 200, "{machine}");
        let at = person["access_token"].as_str().expect("access token");
        let id = person["id_token"].as_str().expect("ID token");
        let m2m = machine["access_token"].as_str().expect("access token");
        let exp = e2e::unverified_claims(at)["exp"].as_i64().expect("exp");
        let now = p.clock_now();
        let mut tampered = at.to_string();
        tampered.replace_range(tampered.len() - 4.., "AAAA");

        let jwks = p.jwks().await;
        let rsa = decode_header(at).expect("header").alg == Algorithm::RS256;
        let http_api = |aud: &str| Authorizer {
            issuer: issuer.clone(),
            audience: vec![aud.to_string()],
            jwks: jwks.clone(),
            rsa_only: true,
        };
        if !rsa {
            // An ES256 provider cannot sit behind an HTTP API authorizer (DEPLOY.md says so):
            // the verifier and a REST API authorizer take its tokens.
            assert_eq!(
                http_api(&issuer).authorize(at, &[], now),
                Err("not an RSA algorithm")
            );
        }
        let authorizer = |aud: &str| Authorizer {
            rsa_only: rsa,
            ..http_api(aud)
        };

        let other_api = "https://api.other.example";
        let cases = [
            Case {
                what: "a person's token, route scope it holds",
                token: at,
                audience: &issuer,
                scopes: &["email"],
                now,
                accepted: true,
            },
            Case {
                what: "a person's token, route without scopes",
                token: at,
                audience: &issuer,
                scopes: &[],
                now,
                accepted: true,
            },
            Case {
                what: "a machine token, its API scope",
                token: m2m,
                audience: &issuer,
                scopes: &["api:write", "api:read"],
                now,
                accepted: true,
            },
            Case {
                what: "a second before exp",
                token: at,
                audience: &issuer,
                scopes: &["email"],
                now: exp - 1,
                accepted: true,
            },
            Case {
                what: "wrong audience",
                token: at,
                audience: other_api,
                scopes: &["email"],
                now,
                accepted: false,
            },
            Case {
                what: "wrong audience, machine",
                token: m2m,
                audience: other_api,
                scopes: &["api:read"],
                now,
                accepted: false,
            },
            Case {
                what: "an ID token as an access token",
                token: id,
                audience: &issuer,
                scopes: &[],
                now,
                accepted: false,
            },
            Case {
                what: "an ID token, route scope",
                token: id,
                audience: &issuer,
                scopes: &["email"],
                now,
                accepted: false,
            },
            Case {
                what: "expired (at exp)",
                token: at,
                audience: &issuer,
                scopes: &["email"],
                now: exp,
                accepted: false,
            },
            Case {
                what: "expired (after exp)",
                token: m2m,
                audience: &issuer,
                scopes: &["api:read"],
                now: exp + 3600,
                accepted: false,
            },
            Case {
                what: "missing scope",
                token: m2m,
                audience: &issuer,
                scopes: &["api:write"],
                now,
                accepted: false,
            },
            Case {
                what: "missing scope, person",
                token: at,
                audience: &issuer,
                scopes: &["api:read"],
                now,
                accepted: false,
            },
            Case {
                what: "a changed signature",
                token: &tampered,
                audience: &issuer,
                scopes: &[],
                now,
                accepted: false,
            },
            Case {
                what: "not yet issued (iat)",
                token: at,
                audience: &issuer,
                scopes: &["email"],
                now: now - 3600,
                accepted: false,
            },
        ];
        for c in &cases {
            let by_authorizer = authorizer(c.audience).authorize(c.token, c.scopes, c.now);
            let verifier = Verifier::new(Rules::new(issuer.clone(), c.audience)).expect("verifier");
            let by_verifier = match verifier.verify_at(c.token, c.now).await {
                Ok(t) => t.require_any_scope(c.scopes).map(|_| t),
                Err(e) => Err(e),
            };
            assert_eq!(
                by_authorizer.is_ok(),
                c.accepted,
                "authorizer, {}: {by_authorizer:?}",
                c.what
            );
            assert_eq!(
                by_verifier.is_ok(),
                c.accepted,
                "verifier, {}: {by_verifier:?}",
                c.what
            );
        }

        // The one place they differ, by design: an audience misconfigured as the client id on a
        // route without scopes lets the authorizer take an ID token (AWS's own note: "no
        // standard mechanism to differentiate JWT access tokens from ... ID tokens"). The
        // verifier reads RFC 9068's typ; the recipe never uses a client id as audience and gives
        // every route a scope.
        assert!(authorizer(BASIC.0).authorize(id, &[], now).is_ok());
        let misconfigured = Verifier::new(Rules::new(issuer.clone(), BASIC.0)).expect("verifier");
        assert_eq!(
            misconfigured.verify_at(id, now).await.err(),
            Some(Refusal::NotAnAccessToken)
        );
    }
);

fn get(token: Option<&str>) -> Request {
    let mut b = lambda_http::http::Request::builder().uri("https://api.example/hello");
    if let Some(t) = token {
        b = b.header("authorization", format!("Bearer {t}"));
    }
    b.body(Body::Empty).expect("request")
}

async fn call(api: &protected_api::Api, token: Option<&str>) -> (u16, String, Value) {
    let resp = api.handle(&get(token)).await;
    let challenge = resp
        .headers()
        .get("www-authenticate")
        .map(|v| v.to_str().expect("ascii").to_string())
        .unwrap_or_default();
    let body = match resp.body() {
        Body::Text(t) => serde_json::from_str(t).expect("json"),
        _ => Value::Null,
    };
    (resp.status().as_u16(), challenge, body)
}

each_backend!(the_example_api_answers_by_the_token, |p| {
    let api = protected_api::Api::new(
        Verifier::new(Rules::new(p.issuer(), p.issuer())).expect("verifier"),
        vec!["api:read".into()],
    );
    let m2m = machine_token(&p).await;
    let (status, _, body) = call(&api, Some(&m2m)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        (body["sub"].as_str(), body["client_id"].as_str()),
        (Some(M2M.0), Some(M2M.0))
    );
    assert_eq!(body["scope"], "api:read");

    // A person who granted the app api:read on the consent page.
    let code = p.code_for(API_APP.0, &[("scope", "openid api:read")]).await;
    let (status, _, granted) = p
        .token(
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", REDIRECT),
            ],
            Some(API_APP),
        )
        .await;
    assert_eq!(status, 200, "{granted}");
    let (status, _, body) = call(&api, granted["access_token"].as_str()).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        (body["client_id"].as_str(), body["scope"].as_str()),
        (Some(API_APP.0), Some("openid api:read"))
    );
    let alice =
        e2e::unverified_claims(granted["id_token"].as_str().expect("ID token"))["sub"].clone();
    assert_eq!(body["sub"], alice);

    let code = p.code_for(BASIC.0, &[("scope", "openid email")]).await;
    let (_, _, person) = p.redeem(&code).await;
    let (status, challenge, body) = call(&api, person["access_token"].as_str()).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (403, Some("insufficient_scope"))
    );
    assert_eq!(
        challenge,
        r#"Bearer error="insufficient_scope", scope="api:read""#
    );
    let (status, challenge, _) = call(&api, person["id_token"].as_str()).await;
    assert_eq!(
        (status, challenge.as_str()),
        (401, r#"Bearer error="invalid_token""#)
    );
    let (status, challenge, _) = call(&api, None).await;
    assert_eq!(
        (status, challenge.as_str()),
        (401, "Bearer"),
        "RFC 6750 §3.1: no error code without a token"
    );
});

async fn machine_token(p: &e2e::Provider) -> String {
    let (_, _, t) = p
        .token(
            &[("grant_type", "client_credentials"), ("scope", "api:read")],
            Some(M2M),
        )
        .await;
    t["access_token"]
        .as_str()
        .expect("access token")
        .to_string()
}

each_backend!(the_verifier_reads_a_new_key_when_a_token_names_it, |p| {
    let rules = || Rules::new(p.issuer(), p.issuer());
    let eager = Verifier::new(rules())
        .expect("verifier")
        .min_refresh(Duration::ZERO);
    let patient = Verifier::new(rules()).expect("verifier");
    let before = machine_token(&p).await;
    eager.verify(&before).await.expect("the current key");
    patient.verify(&before).await.expect("the current key");

    // The next key signs at once (skipping the publish-first wait, to see the re-read).
    let (next, current) = super::key_rotation::next_key(&p).await;
    p.keys.set(Arc::new(KeyRing::new(vec![next, current])));
    let after = machine_token(&p).await;
    eager
        .verify(&after)
        .await
        .expect("an unknown kid reads the key set again");
    // Read less than min_refresh (30 s) ago: a stream of made-up kids cannot make the
    // verifier hammer the issuer. DEPLOY.md's rotation publishes a key long before it signs.
    assert_eq!(
        patient.verify(&after).await.err(),
        Some(Refusal::UnknownKey)
    );
    eager
        .verify(&before)
        .await
        .expect("the previous key stays published");
});
