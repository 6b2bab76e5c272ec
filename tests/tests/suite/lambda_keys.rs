//! The key distribution of the Lambda functions: only token and jwks reach the signer (and
//! KMS); they publish the public key set to the store, and every other endpoint verifies
//! tokens with that published set (shared/src/signer/published.rs).
use e2e::{ALICE, BASIC, LOGGED_OUT, Provider, REDIRECT, backends, verify_independently};
use serde_json::Value;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verifiers_use_the_key_set_the_signer_published() {
    for backend in backends() {
        eprintln!("on {backend:?}");
        let p = Provider::start_as_lambda(backend).await;
        // Published at start-up, before any token, exactly as the JWKS shows it.
        let published = p
            .running
            .app
            .store
            .published_keys()
            .await
            .expect("store")
            .expect("published at start-up");
        let jwks = p.jwks().await;
        assert_eq!(published.keys.len(), jwks.keys.len());
        let verifier_kids: Vec<String> = p
            .running
            .verifying
            .keys
            .public_keys()
            .await
            .expect("published keys")
            .iter()
            .map(|k| k.kid.clone())
            .collect();
        for k in &jwks.keys {
            assert!(verifier_kids.contains(k.common.key_id.as_ref().expect("kid")));
        }
        // A verifying function cannot sign: what it holds is a `dyn Verifier`, which has no
        // `sign` (this line would not compile otherwise).
        let _: &shared::App<dyn shared::store::Store, dyn shared::signer::Verifier> =
            &p.running.verifying;

        // A whole sign-in: authorize and consent on the verifying side, tokens on the
        // signing side, then userinfo, introspection and logout verify them.
        let mut b = p.browser();
        let out = b
            .authorize(
                &p.authorize_url(BASIC.0, &[("scope", "openid profile email")]),
                Some(ALICE),
                "allow",
            )
            .await;
        let code = out.param("code").expect("code");
        let (status, _, tokens) = p
            .token(
                &[
                    ("grant_type", "authorization_code"),
                    ("code", &code),
                    ("redirect_uri", REDIRECT),
                ],
                Some(BASIC),
            )
            .await;
        assert_eq!(status, 200, "{tokens}");
        let (access, id) = (
            tokens["access_token"].as_str().expect("access token"),
            tokens["id_token"].as_str().expect("id token"),
        );
        verify_independently(&p, id, BASIC.0).await;

        let (status, _, info) = p.userinfo_get(access).await;
        assert_eq!(status, 200, "{info}");
        assert_eq!(info["email"], "alice@example.com");

        let resp = p
            .http
            .post(p.url("/introspect"))
            .basic_auth(BASIC.0, Some(BASIC.1))
            .form(&[("token", access)])
            .send()
            .await
            .expect("introspect");
        let body: Value = resp.json().await.expect("json");
        assert_eq!(body["active"], true, "{body}");

        let resp = b
            .client()
            .get(format!(
                "{}?{}",
                p.url("/logout"),
                url::form_urlencoded::Serializer::new(String::new())
                    .extend_pairs([
                        ("id_token_hint", id),
                        ("post_logout_redirect_uri", LOGGED_OUT),
                    ])
                    .finish()
            ))
            .send()
            .await
            .expect("logout");
        assert_eq!(
            resp.status(),
            303,
            "id_token_hint verified by the logout side"
        );
    }
}
