//! The KMS signer against the emulator: keys made by `create_signing_key`, tokens signed with
//! `shared::jwt::sign`, checked by `shared::jwt::verify` and by the independent `jsonwebtoken`
//! crate from the published JWK alone, as a relying party would. The envelope signer too:
//! keys wrapped by `create_wrapped_key` into a DynamoDB table on the emulator, decrypted by
//! KMS once, and refused when the item was moved, tampered with or is missing.
//!
//! Skips unless AWS_ENDPOINT_URL is set (run through `infra/with-moto.sh`); fails instead of
//! skipping with OIDC_REQUIRE_AWS=1.
#![allow(clippy::expect_used)]

mod common;

use std::sync::{Arc, Mutex};

use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::{Value, json};
use shared::crypto::{b64url, sha256};
use shared::jwt;
use shared::signer::{
    Alg, MAX_SIGNING_INPUT, PublicKey, Signer, SignerError, Verifier, aws_signer,
    envelope::{self, EnvelopeSigner, create_wrapped_key, create_wrapping_key, wrap_private_key},
    kms::{KmsSigner, create_signing_key},
};
use shared::store::{KeyStore, WrappedKey, dynamo::DynamoStore};

async fn kms(test: &str) -> Option<aws_sdk_kms::Client> {
    Some(aws_sdk_kms::Client::new(&common::aws(test).await?))
}

fn alias(name: &str) -> String {
    format!("alias/{}", common::unique(name))
}

/// RFC 7638 thumbprint computed here from the published JWK, independently of `jwk.rs`.
fn thumbprint(jwk: &Value) -> String {
    let canonical = match jwk["kty"].as_str() {
        Some("RSA") => format!(
            r#"{{"e":"{}","kty":"RSA","n":"{}"}}"#,
            jwk["e"].as_str().expect("e"),
            jwk["n"].as_str().expect("n")
        ),
        Some("EC") => format!(
            r#"{{"crv":"{}","kty":"EC","x":"{}","y":"{}"}}"#,
            jwk["crv"].as_str().expect("crv"),
            jwk["x"].as_str().expect("x"),
            jwk["y"].as_str().expect("y")
        ),
        other => panic!("unexpected kty {other:?}"),
    };
    b64url(&sha256(canonical.as_bytes()))
}

/// What a relying party does: pick the key by `kid` from the JWKS, verify with jsonwebtoken.
fn verify_independently(jwks: &[PublicKey], token: &str, alg: Alg) -> Value {
    let header = jsonwebtoken::decode_header(token).expect("header");
    let kid = header.kid.expect("kid in header");
    let jwk = &jwks
        .iter()
        .find(|k| k.kid == kid)
        .expect("kid published")
        .jwk;
    let (key, algorithm) = match alg {
        Alg::RS256 => (
            DecodingKey::from_rsa_components(
                jwk["n"].as_str().expect("n"),
                jwk["e"].as_str().expect("e"),
            )
            .expect("rsa key"),
            Algorithm::RS256,
        ),
        Alg::ES256 => (
            DecodingKey::from_ec_components(
                jwk["x"].as_str().expect("x"),
                jwk["y"].as_str().expect("y"),
            )
            .expect("ec key"),
            Algorithm::ES256,
        ),
    };
    assert_eq!(header.alg, algorithm);
    let mut validation = Validation::new(algorithm);
    validation.set_audience(&["rp"]);
    validation.set_issuer(&["https://op.example"]);
    jsonwebtoken::decode::<Value>(token, &key, &validation)
        .expect("jsonwebtoken verifies the KMS signature")
        .claims
}

fn claims() -> Value {
    let now = common::epoch_now();
    json!({
        "iss": "https://op.example",
        "sub": "sub-1",
        "aud": "rp",
        "iat": now,
        "exp": now + 300,
        "nonce": "n-0S6_WzA2Mj",
    })
}

async fn sign_and_verify(alg: Alg) {
    let name = format!("kms_signer::sign_and_verify_{}", alg.as_str());
    let Some(client) = kms(&name).await else {
        return;
    };
    let alias = alias(&format!("sig-{}", alg.as_str().to_lowercase()));
    let key_id = create_signing_key(&client, &alias, alg)
        .await
        .expect("create key");
    assert_eq!(
        create_signing_key(&client, &alias, alg)
            .await
            .expect("idempotent"),
        key_id,
        "a second create returns the existing key"
    );
    let wrong = match alg {
        Alg::RS256 => Alg::ES256,
        Alg::ES256 => Alg::RS256,
    };
    assert!(matches!(
        create_signing_key(&client, &alias, wrong).await,
        Err(SignerError::Misconfigured(_))
    ));

    // By alias, as the functions are configured.
    let signer = KmsSigner::new(client.clone(), vec![alias.clone()]);
    let keys = signer.public_keys().await.expect("public keys");
    assert_eq!(keys.len(), 1);
    let key = &keys[0];
    assert_eq!(key.alg, alg);
    assert_eq!(
        key.kid,
        thumbprint(&key.jwk),
        "kid is the RFC 7638 thumbprint"
    );
    assert_eq!(key.jwk["kid"], key.kid.as_str());
    assert_eq!(key.jwk["alg"], alg.as_str());
    assert_eq!(key.jwk["use"], "sig");

    let c = claims();
    let token = jwt::sign(&signer, "JWT", &c).await.expect("sign");
    let (header, verified) = jwt::verify(&keys, &token).expect("shared::jwt::verify");
    assert_eq!(header["kid"], key.kid.as_str());
    assert_eq!(header["alg"], alg.as_str());
    assert_eq!(verified, c);
    assert_eq!(verify_independently(&keys, &token, alg), c);

    // The raw signature has the JOSE size (r||s for ES256, modulus length for RS256).
    let sig = signer.sign(b"header.payload").await.expect("sign raw");
    match alg {
        Alg::RS256 => assert_eq!(sig.len(), 256),
        Alg::ES256 => assert_eq!(sig.len(), 64),
    }
    assert!(key.verify(b"header.payload", &sig));
    assert!(!key.verify(b"header.payloaX", &sig));

    // By key id too: the same key, the same kid.
    let by_id = KmsSigner::new(client, vec![key_id]);
    assert_eq!(by_id.public_keys().await.expect("keys")[0].kid, key.kid);
}

#[tokio::test]
async fn sign_and_verify_rs256() {
    sign_and_verify(Alg::RS256).await;
}

#[tokio::test]
async fn sign_and_verify_es256() {
    sign_and_verify(Alg::ES256).await;
}

#[tokio::test]
async fn jwks_publishes_active_then_next_and_is_fetched_once() {
    let Some(client) = kms("kms_signer::jwks_publishes_active_then_next_and_is_fetched_once").await
    else {
        return;
    };
    let active = alias("active");
    let next = alias("next");
    create_signing_key(&client, &active, Alg::RS256)
        .await
        .expect("active");
    create_signing_key(&client, &next, Alg::ES256)
        .await
        .expect("next");
    let signer = Arc::new(KmsSigner::new(
        client.clone(),
        vec![active.clone(), next.clone()],
    ));

    // Concurrent first uses share one fetch.
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let s = signer.clone();
            tokio::spawn(async move { s.public_keys().await.expect("keys") })
        })
        .collect();
    let mut seen = Vec::new();
    for t in tasks {
        seen.push(t.await.expect("task"));
    }
    let keys = seen[0].clone();
    assert!(
        seen.iter().all(|k| Arc::ptr_eq(k, &keys)),
        "one cached key set"
    );

    let alone = |a: &str| KmsSigner::new(client.clone(), vec![a.to_string()]);
    let active_kid = alone(&active).public_keys().await.expect("active")[0]
        .kid
        .clone();
    let next_kid = alone(&next).public_keys().await.expect("next")[0]
        .kid
        .clone();
    let kids: Vec<&str> = keys.iter().map(|k| k.kid.as_str()).collect();
    assert_eq!(kids, vec![active_kid.as_str(), next_kid.as_str()]);
    assert_eq!(keys[0].alg, Alg::RS256);
    assert_eq!(keys[1].alg, Alg::ES256);

    // Signing many times does not fetch the keys again: the cached Arc stays the same one,
    // and the token always carries the active kid.
    for _ in 0..5 {
        let token = jwt::sign(signer.as_ref(), "JWT", &claims())
            .await
            .expect("sign");
        let (header, _) = jwt::verify(&keys, &token).expect("verify");
        assert_eq!(header["kid"], active_kid.as_str());
        verify_independently(&keys, &token, Alg::RS256);
        assert!(Arc::ptr_eq(
            &signer.public_keys().await.expect("keys"),
            &keys
        ));
    }
}

#[tokio::test]
async fn alias_swap_does_not_change_the_signing_key() {
    let Some(client) = kms("kms_signer::alias_swap_does_not_change_the_signing_key").await else {
        return;
    };
    let name = alias("swap");
    create_signing_key(&client, &name, Alg::RS256)
        .await
        .expect("key");
    let signer = KmsSigner::new(client.clone(), vec![name.clone()]);
    let keys = signer.public_keys().await.expect("keys");

    // Point the alias at a different key while the "container" runs.
    let other = client
        .create_key()
        .key_spec(aws_sdk_kms::types::KeySpec::Rsa2048)
        .key_usage(aws_sdk_kms::types::KeyUsageType::SignVerify)
        .send()
        .await
        .expect("other key");
    let other_id = other.key_metadata().expect("metadata").key_id().to_string();
    client
        .update_alias()
        .alias_name(&name)
        .target_key_id(&other_id)
        .send()
        .await
        .expect("update alias");

    let token = jwt::sign(&signer, "JWT", &claims()).await.expect("sign");
    jwt::verify(&keys, &token).expect("still signed by the key behind the published kid");
}

#[tokio::test]
async fn failures_are_classified_and_not_cached() {
    let Some(client) = kms("kms_signer::failures_are_classified_and_not_cached").await else {
        return;
    };
    let missing = alias("missing");
    let signer = KmsSigner::new(client.clone(), vec![missing.clone()]);
    let err = signer.public_keys().await.expect_err("no such alias");
    assert!(
        matches!(&err, SignerError::Misconfigured(m) if m.contains("NotFoundException")),
        "{err:?}"
    );
    assert!(signer.sign(b"x.y").await.is_err());
    // The failure was not cached: once the key exists, the same signer works.
    create_signing_key(&client, &missing, Alg::ES256)
        .await
        .expect("create");
    let keys = signer.public_keys().await.expect("retried");
    assert_eq!(keys[0].alg, Alg::ES256);

    // A key that is not a signing key.
    let enc = client
        .create_key()
        .key_spec(aws_sdk_kms::types::KeySpec::Rsa2048)
        .key_usage(aws_sdk_kms::types::KeyUsageType::EncryptDecrypt)
        .send()
        .await
        .expect("encryption key");
    let enc_id = enc.key_metadata().expect("metadata").key_id().to_string();
    let err = KmsSigner::new(client.clone(), vec![enc_id])
        .public_keys()
        .await
        .expect_err("not a signing key");
    assert!(matches!(err, SignerError::Misconfigured(_)), "{err:?}");

    // One bad key among several fails the whole set (a JWKS without the next key would break
    // the rotation it exists for).
    let err = KmsSigner::new(client.clone(), vec![missing.clone(), alias("absent")])
        .public_keys()
        .await
        .expect_err("all or nothing");
    assert!(matches!(err, SignerError::Misconfigured(_)), "{err:?}");

    // No key configured.
    assert!(matches!(
        KmsSigner::new(client.clone(), vec![]).public_keys().await,
        Err(SignerError::Misconfigured(_))
    ));

    // Oversized input is refused before KMS sees it (moto would accept it; KMS would not).
    let err = signer
        .sign(&vec![b'a'; MAX_SIGNING_INPUT + 1])
        .await
        .expect_err("too long");
    assert!(matches!(err, SignerError::Misconfigured(_)), "{err:?}");
    signer
        .sign(&vec![b'a'; MAX_SIGNING_INPUT])
        .await
        .expect("exactly the limit is fine");

    assert!(matches!(
        create_signing_key(&client, "not-an-alias", Alg::RS256).await,
        Err(SignerError::Misconfigured(_))
    ));
}

// ---------------------------------------------------------------------------------------
// envelope keys

/// Records the KMS operation (`X-Amz-Target`, e.g. `TrentService.Decrypt`) of every request a
/// client sends, retries included: what KMS would bill and count against its rate limit.
#[derive(Debug, Clone, Default)]
struct KmsCalls(Arc<Mutex<Vec<String>>>);

impl KmsCalls {
    fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.0.lock().expect("calls"))
    }
}

impl aws_sdk_kms::config::Intercept for KmsCalls {
    fn name(&self) -> &'static str {
        "KmsCalls"
    }

    fn read_before_transmit(
        &self,
        context: &aws_sdk_kms::config::interceptors::BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &aws_sdk_kms::config::RuntimeComponents,
        _cfg: &mut aws_sdk_kms::config::ConfigBag,
    ) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        let op = context
            .request()
            .headers()
            .get("x-amz-target")
            .and_then(|t| t.strip_prefix("TrentService."))
            .unwrap_or("?")
            .to_string();
        self.0.lock().expect("calls").push(op);
        Ok(())
    }
}

struct EnvelopeEnv {
    /// A plain client (provisioning).
    kms: aws_sdk_kms::Client,
    /// The same emulator, every request recorded in `calls`.
    counted: aws_sdk_kms::Client,
    calls: KmsCalls,
    store: Arc<DynamoStore>,
    /// The wrapping key's alias.
    wrapping: String,
}

async fn envelope_env(test: &str) -> Option<EnvelopeEnv> {
    let sdk = common::aws(test).await?;
    let kms = aws_sdk_kms::Client::new(&sdk);
    let calls = KmsCalls::default();
    let counted = aws_sdk_kms::Client::from_conf(
        aws_sdk_kms::config::Builder::from(&sdk)
            .interceptor(calls.clone())
            .build(),
    );
    let table = common::unique("envelope");
    let dynamo = aws_sdk_dynamodb::Client::new(&sdk);
    shared::store::dynamo::provision::create_table(&dynamo, &table)
        .await
        .expect("table");
    let wrapping = alias("wrapping");
    Some(EnvelopeEnv {
        kms,
        counted,
        calls,
        store: Arc::new(DynamoStore::new(dynamo, table)),
        wrapping,
    })
}

fn pkcs8(alg: Alg) -> Vec<u8> {
    use aws_lc_rs::{encoding::AsDer, signature};
    match alg {
        Alg::RS256 => aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048)
            .expect("rsa")
            .as_der()
            .expect("der")
            .as_ref()
            .to_vec(),
        Alg::ES256 => {
            signature::EcdsaKeyPair::generate(&signature::ECDSA_P256_SHA256_FIXED_SIGNING)
                .expect("ec")
                .to_pkcs8v1()
                .expect("pkcs8")
                .as_ref()
                .to_vec()
        }
    }
}

async fn envelope_sign_and_verify(alg: Alg) {
    let name = format!("kms_signer::envelope_sign_and_verify_{}", alg.as_str());
    let Some(env) = envelope_env(&name).await else {
        return;
    };
    let arn = create_wrapping_key(&env.kms, &env.wrapping)
        .await
        .expect("wrapping key");
    assert_eq!(
        create_wrapping_key(&env.kms, &env.wrapping)
            .await
            .expect("idempotent"),
        arn,
        "a second create returns the existing key"
    );
    let signing = alias("not-a-wrapping-key");
    create_signing_key(&env.kms, &signing, Alg::ES256)
        .await
        .expect("signing key");
    assert!(matches!(
        create_wrapping_key(&env.kms, &signing).await,
        Err(SignerError::Misconfigured(_))
    ));

    let id = common::unique(&alg.as_str().to_lowercase());
    let item = create_wrapped_key(&env.kms, env.store.as_ref(), &env.wrapping, alg, &id)
        .await
        .expect("wrapped key");
    assert_eq!((item.id.as_str(), item.alg), (id.as_str(), alg));
    assert_eq!(
        item.wrapping_key, arn,
        "stored with the key's ARN, not its alias"
    );
    assert_eq!(
        env.store.wrapped_key(&id).await.expect("read"),
        Some(item.clone())
    );
    let again = create_wrapped_key(&env.kms, env.store.as_ref(), &env.wrapping, alg, &id).await;
    assert!(
        matches!(&again, Err(SignerError::Misconfigured(m)) if m.contains("exists already")),
        "never overwritten: {again:?}"
    );

    let signer = Arc::new(EnvelopeSigner::new(
        env.counted.clone(),
        env.store.clone(),
        id.clone(),
    ));
    let keys = signer.public_keys().await.expect("public keys");
    assert_eq!(keys.len(), 1);
    let key = &keys[0];
    assert_eq!(key.alg, alg);
    assert_eq!(
        key.kid,
        thumbprint(&key.jwk),
        "kid is the RFC 7638 thumbprint"
    );
    assert_eq!(
        env.calls.take(),
        Vec::<String>::new(),
        "the public key comes from the table: no KMS call"
    );

    // Many signatures, the first ones concurrent: one Decrypt.
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let s = signer.clone();
            tokio::spawn(async move { s.sign(b"header.payload").await.expect("sign") })
        })
        .collect();
    for t in tasks {
        let sig = t.await.expect("task");
        assert!(key.verify(b"header.payload", &sig));
        match alg {
            Alg::RS256 => assert_eq!(sig.len(), 256),
            Alg::ES256 => assert_eq!(sig.len(), 64),
        }
    }
    for _ in 0..20 {
        let c = claims();
        let token = jwt::sign(signer.as_ref(), "JWT", &c).await.expect("sign");
        let (header, verified) = jwt::verify(&keys, &token).expect("shared::jwt::verify");
        assert_eq!(header["kid"], key.kid.as_str());
        assert_eq!(header["alg"], alg.as_str());
        assert_eq!(verified, c);
        assert_eq!(verify_independently(&keys, &token, alg), c);
    }
    assert_eq!(
        env.calls.take(),
        vec!["Decrypt".to_string()],
        "one Decrypt for 28 signatures, then none"
    );

    // Through SIGNING_KEYS, as the functions build it: alone, and signing ahead of a
    // published KMS key (a KeyRing).
    let configured = aws_signer(
        env.counted.clone(),
        env.store.clone(),
        &[format!("envelope:{id}")],
    )
    .expect("entries");
    assert!(configured.active_envelope.is_some());
    assert_eq!(
        configured.signer.public_keys().await.expect("keys")[0].kid,
        key.kid
    );
    let mixed = aws_signer(
        env.counted.clone(),
        env.store.clone(),
        &[format!("envelope:{id}"), signing.clone()],
    )
    .expect("entries");
    let published = mixed.signer.public_keys().await.expect("keys");
    assert_eq!(published.len(), 2);
    assert_eq!(published[0].kid, key.kid);
    assert_eq!(published[1].alg, Alg::ES256);
    mixed
        .active_envelope
        .as_ref()
        .expect("the envelope key signs")
        .unwrap_key()
        .await
        .expect("decrypts");
    let token = jwt::sign(mixed.signer.as_ref(), "JWT", &claims())
        .await
        .expect("sign");
    assert_eq!(
        jwt::verify(&published, &token).expect("verify").0["kid"],
        key.kid.as_str()
    );
    assert_eq!(
        env.calls.take(),
        vec!["GetPublicKey".to_string(), "Decrypt".to_string()],
        "the KMS key's public key, one Decrypt (at start-up), no Sign"
    );
}

#[tokio::test]
async fn envelope_sign_and_verify_rs256() {
    envelope_sign_and_verify(Alg::RS256).await;
}

#[tokio::test]
async fn envelope_sign_and_verify_es256() {
    envelope_sign_and_verify(Alg::ES256).await;
}

#[tokio::test]
async fn envelope_refuses_moved_tampered_and_missing_keys() {
    let Some(env) =
        envelope_env("kms_signer::envelope_refuses_moved_tampered_and_missing_keys").await
    else {
        return;
    };
    let arn = create_wrapping_key(&env.kms, &env.wrapping)
        .await
        .expect("wrapping key");
    let signer = |id: &str| EnvelopeSigner::new(env.kms.clone(), env.store.clone(), id);
    let misconfigured = |r: Result<Vec<u8>, SignerError>, what: &str, needle: &str| match r {
        Err(SignerError::Misconfigured(m)) if m.contains(needle) => {}
        other => panic!("{what}: expected Misconfigured({needle:?}), got {other:?}"),
    };

    // A missing key: Misconfigured, and not cached: once it exists, the same signer works.
    let late = signer("late");
    assert!(matches!(
        late.public_keys().await,
        Err(SignerError::Misconfigured(_))
    ));
    misconfigured(late.sign(b"x").await, "missing", "no wrapped key");
    create_wrapped_key(&env.kms, env.store.as_ref(), &arn, Alg::ES256, "late")
        .await
        .expect("create");
    let sig = late.sign(b"x").await.expect("signs once it exists");
    assert!(late.public_keys().await.expect("keys")[0].verify(b"x", &sig));

    // The blob moved to another id: KMS refuses it under that id's encryption context.
    let genuine = env
        .store
        .wrapped_key("late")
        .await
        .expect("read")
        .expect("item");
    env.store
        .put_wrapped_key(&WrappedKey {
            id: "moved".into(),
            ..genuine.clone()
        })
        .await
        .expect("put");
    misconfigured(
        signer("moved").sign(b"x").await,
        "moved blob",
        "InvalidCiphertextException",
    );

    // Encrypted under the same key for another purpose.
    let der = pkcs8(Alg::ES256);
    let other = env
        .kms
        .encrypt()
        .key_id(&arn)
        .plaintext(aws_sdk_kms::primitives::Blob::new(der.clone()))
        .encryption_context("purpose", "something-else")
        .encryption_context("key_id", "other-purpose")
        .send()
        .await
        .expect("encrypt");
    let wrapped = wrap_private_key(&env.kms, &arn, Alg::ES256, "other-purpose", &der, 0)
        .await
        .expect("wrap");
    env.store
        .put_wrapped_key(&WrappedKey {
            ciphertext: b64url(other.ciphertext_blob().expect("blob").as_ref()),
            ..wrapped
        })
        .await
        .expect("put");
    misconfigured(
        signer("other-purpose").sign(b"x").await,
        "other purpose",
        "InvalidCiphertextException",
    );

    // A tampered public key: the item's SPKI is another key's. Published as stored, but
    // the decrypted private key does not match it, so nothing is signed.
    let mut tampered = wrap_private_key(&env.kms, &arn, Alg::ES256, "tampered", &der, 0)
        .await
        .expect("wrap");
    tampered.spki = genuine.spki.clone();
    env.store.put_wrapped_key(&tampered).await.expect("put");
    let t = signer("tampered");
    assert!(t.public_keys().await.is_ok());
    misconfigured(t.sign(b"x").await, "tampered spki", "does not match");

    // Named with another wrapping key than the one that encrypted it.
    let other_wrapping = create_wrapping_key(&env.kms, &alias("other-wrapping"))
        .await
        .expect("other wrapping key");
    env.store
        .put_wrapped_key(&WrappedKey {
            id: "wrong-key".into(),
            wrapping_key: other_wrapping,
            ..wrap_private_key(&env.kms, &arn, Alg::ES256, "wrong-key", &der, 0)
                .await
                .expect("wrap")
        })
        .await
        .expect("put");
    let r = signer("wrong-key").sign(b"x").await;
    assert!(matches!(r, Err(SignerError::Misconfigured(_))), "{r:?}");

    // An algorithm the key is not for.
    env.store
        .put_wrapped_key(&WrappedKey {
            id: "wrong-alg".into(),
            alg: Alg::RS256,
            ..wrap_private_key(&env.kms, &arn, Alg::ES256, "wrong-alg", &der, 0)
                .await
                .expect("wrap")
        })
        .await
        .expect("put");
    assert!(matches!(
        signer("wrong-alg").public_keys().await,
        Err(SignerError::Misconfigured(_))
    ));

    // KMS unreachable: retryable.
    let sdk = common::aws("unreachable").await.expect("sdk");
    let unreachable = aws_sdk_kms::Client::from_conf(
        aws_sdk_kms::config::Builder::from(&sdk)
            .endpoint_url("http://127.0.0.1:9")
            .retry_config(aws_sdk_kms::config::retry::RetryConfig::disabled())
            .build(),
    );
    let r = EnvelopeSigner::new(unreachable, env.store.clone(), "late")
        .sign(b"x")
        .await;
    assert!(matches!(r, Err(SignerError::Unavailable(_))), "{r:?}");

    // Bad ids and SIGNING_KEYS entries.
    assert!(matches!(
        create_wrapped_key(&env.kms, env.store.as_ref(), &arn, Alg::RS256, "a#b").await,
        Err(SignerError::Misconfigured(_))
    ));
    assert!(aws_signer(env.kms.clone(), env.store.clone(), &["envelope:".into()]).is_err());
    assert!(aws_signer(env.kms.clone(), env.store.clone(), &[]).is_err());
    assert_eq!(envelope::PURPOSE, "oidc-signing-key");
}
