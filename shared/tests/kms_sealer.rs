//! Upstream client secrets sealed by KMS on the emulator: `KmsSealer` round trips, and
//! refuses what was sealed for another provider, with another purpose, under another key, or
//! altered.
//!
//! Skips unless AWS_ENDPOINT_URL is set (run through `infra/with-moto.sh`); fails instead of
//! skipping with OIDC_REQUIRE_AWS=1.
#![allow(clippy::expect_used)]

mod common;

use aws_sdk_kms::{
    primitives::Blob,
    types::{KeySpec, KeyUsageType},
};
use shared::{
    crypto::{b64url, b64url_decode},
    federation::seal::{self, KmsSealer, LocalSealer, SealError, Sealer},
    secret::ClientSecret,
    store::SealedSecret,
};

const SECRET: &str = "GOCSPX-upstream-client-secret";

fn secret() -> ClientSecret {
    ClientSecret::new(SECRET)
}

fn opened(r: Result<ClientSecret, SealError>) -> String {
    r.expect("opens").expose().to_string()
}

async fn kms(test: &str) -> Option<aws_sdk_kms::Client> {
    Some(aws_sdk_kms::Client::new(&common::aws(test).await?))
}

/// A symmetric ENCRYPT_DECRYPT key under a fresh alias; its ARN and alias.
async fn secrets_key(kms: &aws_sdk_kms::Client) -> (String, String) {
    let meta = kms
        .create_key()
        .key_spec(KeySpec::SymmetricDefault)
        .key_usage(KeyUsageType::EncryptDecrypt)
        .send()
        .await
        .expect("create key")
        .key_metadata
        .expect("metadata");
    let alias = format!("alias/{}", common::unique("federation-secrets"));
    kms.create_alias()
        .alias_name(&alias)
        .target_key_id(meta.key_id())
        .send()
        .await
        .expect("alias");
    (meta.arn().expect("arn").to_string(), alias)
}

fn refused(r: Result<ClientSecret, SealError>, what: &str) {
    assert!(matches!(r, Err(SealError::Refused(_))), "{what}: {r:?}");
}

#[tokio::test]
async fn kms_sealed_secrets_open_only_for_their_provider() {
    let Some(kms) = kms("kms_sealer::kms_sealed_secrets_open_only_for_their_provider").await else {
        return;
    };
    let (arn, alias) = secrets_key(&kms).await;
    let sealer = KmsSealer::new(kms.clone(), &alias);

    let sealed = sealer.seal("google", &secret()).await.expect("seal");
    assert_eq!(sealed.key, arn, "the key as KMS named it: its ARN");
    assert!(!sealed.ciphertext.contains("GOCSPX"));
    assert_eq!(opened(sealer.open("google", &sealed).await), SECRET);
    // Opening needs no configured key: the secret names its own.
    let opener = KmsSealer::new(kms.clone(), "");
    assert_eq!(opened(opener.open("google", &sealed).await), SECRET);
    assert!(matches!(
        opener.seal("google", &secret()).await,
        Err(SealError::Misconfigured(_))
    ));

    // Another provider's encryption context.
    refused(sealer.open("okta", &sealed).await, "another provider");

    // The same key, another purpose (an envelope signing key's context, or none at all).
    for context in [
        vec![("purpose", "oidc-signing-key"), ("key_id", "google")],
        vec![],
    ] {
        let mut request = kms
            .encrypt()
            .key_id(&arn)
            .plaintext(Blob::new(SECRET.as_bytes()));
        for (k, v) in &context {
            request = request.encryption_context(*k, *v);
        }
        let other = request.send().await.expect("encrypt");
        let blob = other.ciphertext_blob().expect("blob");
        let other = SealedSecret {
            key: arn.clone(),
            ciphertext: b64url(blob.as_ref()),
        };
        refused(sealer.open("google", &other).await, &format!("{context:?}"));
    }

    // Altered ciphertext.
    let mut raw = b64url_decode(&sealed.ciphertext).expect("b64");
    let last = raw.len() - 1;
    raw[last] ^= 1;
    let altered = SealedSecret {
        key: sealed.key.clone(),
        ciphertext: b64url(&raw),
    };
    let r = sealer.open("google", &altered).await;
    assert!(matches!(r, Err(SealError::Refused(_))), "altered: {r:?}");

    // Sealed locally: KMS never sees it.
    let local = LocalSealer::ephemeral()
        .seal("google", &secret())
        .await
        .expect("seal");
    refused(sealer.open("google", &local).await, "locally sealed");
    assert_eq!(seal::PURPOSE, "upstream-client-secret");
}

#[tokio::test]
async fn kms_key_failures_are_classified() {
    let Some(kms) = kms("kms_sealer::kms_key_failures_are_classified").await else {
        return;
    };
    let (_, alias) = secrets_key(&kms).await;
    let sealed = KmsSealer::new(kms.clone(), &alias)
        .seal("google", &secret())
        .await
        .expect("seal");

    // A key that does not exist: misconfigured, not worth a retry.
    let missing = KmsSealer::new(kms.clone(), "alias/no-such-federation-key");
    let r = missing.seal("google", &secret()).await;
    assert!(matches!(r, Err(SealError::Misconfigured(_))), "{r:?}");

    // Named with another key than the one that sealed it.
    let (other_arn, _) = secrets_key(&kms).await;
    let moved = SealedSecret {
        key: other_arn,
        ..sealed.clone()
    };
    // KMS answers IncorrectKeyException (Refused); the emulator (moto 5.2.5) says
    // AccessDeniedException (Misconfigured). Either way it does not open.
    let r = missing.open("google", &moved).await;
    assert!(
        matches!(r, Err(SealError::Refused(_) | SealError::Misconfigured(_))),
        "another key: {r:?}"
    );

    // KMS unreachable: retryable.
    let sdk = common::aws("unreachable").await.expect("sdk");
    let unreachable = aws_sdk_kms::Client::from_conf(
        aws_sdk_kms::config::Builder::from(&sdk)
            .endpoint_url("http://127.0.0.1:9")
            .retry_config(aws_sdk_kms::config::retry::RetryConfig::disabled())
            .build(),
    );
    let r = KmsSealer::new(unreachable, &alias)
        .open("google", &sealed)
        .await;
    assert!(matches!(r, Err(SealError::Unavailable(_))), "{r:?}");
}

#[tokio::test]
async fn kms_sealed_totp_secrets_open_only_for_their_person_and_purpose() {
    let Some(kms) =
        kms("kms_sealer::kms_sealed_totp_secrets_open_only_for_their_person_and_purpose").await
    else {
        return;
    };
    let (_, alias) = secrets_key(&kms).await;
    let sealer = KmsSealer::new(kms.clone(), &alias);
    let totp = shared::totp::TotpSecret::generate();
    let sealed = sealer.seal_totp("sub-alice", &totp).await.expect("seal");
    // Opening needs no sealing key: the secret names its own.
    let opener = KmsSealer::new(kms.clone(), "");
    let opened = opener.open_totp("sub-alice", &sealed).await.expect("opens");
    assert_eq!(opened.expose(), totp.expose());
    let r = opener.open_totp("sub-bob", &sealed).await;
    assert!(
        matches!(r, Err(SealError::Refused(_))),
        "another person: {r:?}"
    );
    // Under the other purpose, with the same owner string, either way round.
    refused(
        opener.open("sub-alice", &sealed).await,
        "as a client secret",
    );
    let client = sealer.seal("google", &secret()).await.expect("seal");
    let r = opener.open_totp("google", &client).await;
    assert!(
        matches!(r, Err(SealError::Refused(_))),
        "as a TOTP secret: {r:?}"
    );
    assert_eq!(seal::TOTP_PURPOSE, "totp-secret");
}
