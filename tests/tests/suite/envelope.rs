//! Envelope signing mode end to end: `SIGNING_KEYS=envelope:<id>` on DynamoDB + KMS (the
//! emulator), with the keys distributed as on Lambda. The token endpoint signs with the key
//! KMS decrypted for it; the JWKS and every verifying endpoint use the public key stored
//! with the wrapped key (shared/src/signer/envelope.rs).
use e2e::{BASIC, Provider, REDIRECT, aws_available, verify_independently};
use shared::{
    crypto::b64url_decode,
    signer::{Alg, PublicKey},
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn envelope_mode_signs_tokens_that_verify_against_the_jwks() {
    if !aws_available("envelope_mode_signs_tokens_that_verify_against_the_jwks") {
        return;
    }
    for alg in [Alg::RS256, Alg::ES256] {
        eprintln!("envelope key {}", alg.as_str());
        let p = Provider::start_envelope(alg).await;
        let (entry, _table) = p.aws.clone().expect("on DynamoDB + KMS");
        let id = entry.strip_prefix("envelope:").expect("an envelope key");

        // The JWKS and the published key set are the stored public key.
        let item = p
            .running
            .app
            .store
            .wrapped_key(id)
            .await
            .expect("store")
            .expect("the wrapped key");
        let kid = PublicKey::from_spki_der(&b64url_decode(&item.spki).expect("spki"), alg)
            .expect("public key")
            .kid;
        let jwks = p.jwks().await;
        assert_eq!(jwks.keys.len(), 1);
        assert_eq!(jwks.keys[0].common.key_id.as_deref(), Some(kid.as_str()));
        let published = p
            .running
            .app
            .store
            .published_keys()
            .await
            .expect("store")
            .expect("published at start-up");
        assert_eq!(published.keys.len(), 1);
        assert_eq!(
            (published.keys[0].alg, published.keys[0].spki.as_str()),
            (alg, item.spki.as_str())
        );

        // A whole sign-in: authorize and consent on the verifying side, tokens signed
        // in-process on the signing side.
        let code = p
            .code_for(BASIC.0, &[("scope", "openid profile email")])
            .await;
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
        let id_token = tokens["id_token"].as_str().expect("id token");
        let header = jsonwebtoken::decode_header(id_token).expect("header");
        assert_eq!(header.kid.as_deref(), Some(kid.as_str()));
        assert_eq!(format!("{:?}", header.alg), alg.as_str());
        let claims = verify_independently(&p, id_token, BASIC.0).await;
        assert_eq!(claims["nonce"], "n-456");
        assert_eq!(claims["email"], "alice@example.com");

        // userinfo verifies the access token with the published key set.
        let access = tokens["access_token"].as_str().expect("access token");
        let (status, _, info) = p.userinfo_get(access).await;
        assert_eq!(status, 200, "{info}");
        assert_eq!(info["sub"], claims["sub"]);
        assert_eq!(info["email"], "alice@example.com");
    }
}
