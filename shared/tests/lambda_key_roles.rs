//! The key roles of the Lambda functions (`shared::assembly`) on DynamoDB + KMS in the
//! emulator: `token` (SignsTokens) publishes its set, named by its configuration, before it
//! signs; `jwks` (PublishesKeys) serves the published set without KMS when its own
//! configuration published it, and otherwise publishes the keys' own set.
//!
//! Skips unless AWS_ENDPOINT_URL is set (run through `infra/with-moto.sh`); fails instead of
//! skipping with OIDC_REQUIRE_AWS=1.
#![allow(clippy::expect_used)]

mod common;

use std::{collections::HashMap, sync::Arc};

use shared::assembly::{PublishesKeys, Role, Settings, SignsTokens};
use shared::clock::SystemClock;
use shared::signer::{
    Alg, PublicKey, Verifier, kms::create_signing_key, local::LocalSigner, published::Publishing,
};
use shared::store::{KeyStore, dynamo::DynamoStore};

/// A fresh table, and the settings of a function over it with these `SIGNING_KEYS`.
async fn setup(test: &str, signing_keys: &str) -> Option<(Settings, Arc<DynamoStore>)> {
    let sdk = common::aws(test).await?;
    let dynamo = aws_sdk_dynamodb::Client::new(&sdk);
    let table = common::unique("roles");
    shared::store::dynamo::provision::create_table(&dynamo, &table)
        .await
        .expect("table");
    let vars = HashMap::from([
        ("TABLE_NAME".to_string(), table.clone()),
        ("SIGNING_KEYS".to_string(), signing_keys.to_string()),
    ]);
    let settings = Settings::from_vars(vars).expect("settings");
    Some((settings, Arc::new(DynamoStore::new(dynamo, table))))
}

async fn new_kms_key(name: &str) -> String {
    let sdk = shared::aws::aws_config().await;
    let alias = format!("alias/{}", common::unique(name));
    create_signing_key(&aws_sdk_kms::Client::new(&sdk), &alias, Alg::ES256)
        .await
        .expect("key");
    alias
}

fn kids(keys: &[PublicKey]) -> Vec<String> {
    keys.iter().map(|k| k.kid.clone()).collect()
}

/// Publishes `key`'s set as the configuration `source` would.
async fn publish_as(store: &Arc<DynamoStore>, key: &Arc<LocalSigner>, source: &str) {
    Publishing::new(key.clone(), store.clone(), Arc::new(SystemClock))
        .with_source(source)
        .publish()
        .await
        .expect("publish");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jwks_serves_its_configurations_published_set_without_kms() {
    // An alias that does not exist: any KMS call would fail.
    let alias = format!("alias/{}", common::unique("never-created"));
    let Some((settings, store)) =
        setup("jwks_serves_its_configurations_published_set", &alias).await
    else {
        return;
    };
    let published = Arc::new(LocalSigner::generate(Alg::ES256).expect("key"));
    publish_as(
        &store,
        &published,
        &settings.key_set_source().expect("source"),
    )
    .await;

    let jwks = PublishesKeys::keys(&settings, &shared::aws::lambda_sdk_config(), store.clone())
        .await
        .expect("init");
    let served = jwks
        .public_keys()
        .await
        .expect("served from the table, KMS untouched");
    assert_eq!(
        kids(&served),
        kids(&published.public_keys().await.expect("keys"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jwks_publishes_the_deployed_keys_over_another_configurations_set() {
    let Some(_) = common::aws("jwks_publishes_the_deployed_keys").await else {
        return;
    };
    let alias = new_kms_key("jwks-own").await;
    let (settings, store) = setup("jwks_publishes_the_deployed_keys", &alias)
        .await
        .expect("emulator");
    let jwks = PublishesKeys::keys(&settings, &shared::aws::lambda_sdk_config(), store.clone())
        .await
        .expect("init");
    assert_eq!(
        store.published_keys().await.expect("read"),
        None,
        "nothing published in the init phase"
    );
    // The set of the configuration before (an earlier SIGNING_KEYS), still in the table.
    let stale = Arc::new(LocalSigner::generate(Alg::ES256).expect("key"));
    publish_as(&store, &stale, "alias/before").await;

    let served = jwks.public_keys().await.expect("keys");
    let sdk = shared::aws::aws_config().await;
    let deployed =
        shared::signer::kms::KmsSigner::new(aws_sdk_kms::Client::new(&sdk), vec![alias.clone()]);
    let deployed = kids(&deployed.public_keys().await.expect("kms"));
    assert_eq!(
        kids(&served),
        deployed,
        "/jwks.json is the deployed keys' set"
    );
    let stored = store
        .published_keys()
        .await
        .expect("read")
        .expect("published");
    assert_eq!(stored.source, alias);
    assert_eq!(stored.keys.len(), 1);
    assert_eq!(
        kids(&served),
        kids(
            &shared::signer::published::StoreKeys::new(store.clone())
                .public_keys()
                .await
                .expect("what the verifiers read")
        )
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_publishes_its_set_named_by_its_configuration_before_it_signs() {
    let Some(_) = common::aws("token_publishes_its_set").await else {
        return;
    };
    let alias = new_kms_key("token-own").await;
    let (settings, store) = setup("token_publishes_its_set", &alias)
        .await
        .expect("emulator");
    let token = SignsTokens::keys(&settings, &shared::aws::lambda_sdk_config(), store.clone())
        .await
        .expect("init");
    token.sign(b"input").await.expect("sign");
    let stored = store
        .published_keys()
        .await
        .expect("read")
        .expect("published");
    assert_eq!(stored.source, settings.key_set_source().expect("source"));
    assert_eq!(stored.keys.len(), 1);
    // A jwks container of the same configuration now serves it as it is.
    let jwks = PublishesKeys::keys(&settings, &shared::aws::lambda_sdk_config(), store.clone())
        .await
        .expect("init");
    assert_eq!(
        kids(&jwks.public_keys().await.expect("keys")),
        kids(&token.public_keys().await.expect("keys"))
    );
}
