//! Signing key rotation on every backend: the next key is published before it signs, tokens
//! signed by the previous key keep verifying while it is published, and retiring it ends
//! them.
use std::sync::Arc;

use e2e::{BASIC, TestBackend, each_backend, verify_independently};
use shared::signer::{Alg, KeyRing, Signer, local::LocalSigner};

/// A new key on the provider's backend: a local key, or a new KMS key (the first of its
/// list) followed by the current one.
pub(crate) async fn next_key(p: &e2e::Provider) -> (Arc<dyn Signer>, Arc<dyn Signer>) {
    let current = p.keys.current();
    let next: Arc<dyn Signer> = match p.backend {
        TestBackend::Embedded => Arc::new(LocalSigner::generate(Alg::ES256).expect("key")),
        TestBackend::Aws(_) => {
            let sdk = shared::aws::aws_config().await;
            let kms = shared::aws::kms_client(&sdk);
            let alias = format!(
                "alias/oidc-next-{}",
                shared::crypto::random_token(6).replace(['-', '_'], "x")
            );
            shared::signer::kms::create_signing_key(&kms, &alias, Alg::ES256)
                .await
                .expect("next key");
            Arc::new(shared::signer::kms::KmsSigner::new(kms, vec![alias]))
        }
    };
    (next, current)
}

fn kid(token: &str) -> String {
    jsonwebtoken::decode_header(token)
        .expect("header")
        .kid
        .expect("kid")
}

each_backend!(key_rotation_keeps_earlier_tokens_verifiable, |p| {
    let code = p.code_for(BASIC.0, &[]).await;
    let (_, _, before) = p.redeem(&code).await;
    let old_kid = kid(before["id_token"].as_str().expect("id"));
    let (next, current) = next_key(&p).await;
    let next_kid = next.public_keys().await.expect("keys")[0].kid.clone();

    // 1. Publish the next key (the current one still signs).
    p.keys
        .set(Arc::new(KeyRing::new(vec![current.clone(), next.clone()])));
    let kids: Vec<String> = p
        .jwks()
        .await
        .keys
        .iter()
        .filter_map(|k| k.common.key_id.clone())
        .collect();
    assert_eq!(
        kids,
        vec![old_kid.clone(), next_kid.clone()],
        "next key published, not yet used"
    );
    // 2. Switch: the next key signs, the previous one stays published.
    p.keys
        .set(Arc::new(KeyRing::new(vec![next.clone(), current.clone()])));
    let code = p.code_for(BASIC.0, &[]).await;
    let (_, _, after) = p.redeem(&code).await;
    assert_eq!(
        kid(after["id_token"].as_str().expect("id")),
        next_kid,
        "new tokens use the new key"
    );
    assert_eq!(
        jsonwebtoken::decode_header(after["id_token"].as_str().expect("id"))
            .expect("h")
            .alg,
        jsonwebtoken::Algorithm::ES256
    );
    verify_independently(&p, after["id_token"].as_str().expect("id"), BASIC.0).await;
    verify_independently(&p, before["id_token"].as_str().expect("id"), BASIC.0).await;
    assert_eq!(
        p.userinfo_get(before["access_token"].as_str().expect("at"))
            .await
            .0,
        200,
        "earlier token still accepted"
    );
    assert_eq!(
        p.userinfo_get(after["access_token"].as_str().expect("at"))
            .await
            .0,
        200
    );
    // 3. Retire the previous key: its tokens stop verifying.
    p.keys.set(Arc::new(KeyRing::new(vec![next.clone()])));
    assert_eq!(p.jwks().await.keys.len(), 1);
    assert_eq!(
        p.userinfo_get(before["access_token"].as_str().expect("at"))
            .await
            .0,
        401
    );
    assert_eq!(
        p.userinfo_get(after["access_token"].as_str().expect("at"))
            .await
            .0,
        200
    );
});
