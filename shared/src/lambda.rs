//! The Lambda side: configuration from the environment, AWS clients built once per
//! container, and the request loop. Each `functions/<name>/src/main.rs` is one call to
//! [`serve`].
use std::{collections::HashMap, sync::Arc};

use lambda_http::{Error, Request, service_fn};

use crate::{
    App, Config,
    clock::SystemClock,
    endpoints,
    signer::{Signer, kms::KmsSigner},
    store::{Store, dynamo::DynamoStore},
};

/// The DynamoDB store and KMS signer, from the standard AWS environment (region,
/// credentials, `AWS_ENDPOINT_URL` for an emulator).
pub async fn aws_backends(
    table: &str,
    signing_keys: Vec<String>,
) -> (Arc<dyn Store>, Arc<dyn Signer>) {
    let sdk = crate::aws::aws_config().await;
    let store = DynamoStore::new(aws_sdk_dynamodb::Client::new(&sdk), table.to_string());
    let signer = KmsSigner::new(aws_sdk_kms::Client::new(&sdk), signing_keys);
    (Arc::new(store), Arc::new(signer))
}

/// `TABLE_NAME` and `SIGNING_KEYS` (comma-separated KMS key ids or aliases, the first signs)
/// on top of [`Config::from_vars`].
pub fn backend_settings(vars: &HashMap<String, String>) -> Result<(String, Vec<String>), String> {
    let table = vars
        .get("TABLE_NAME")
        .filter(|t| !t.trim().is_empty())
        .ok_or("TABLE_NAME is not set: the DynamoDB table holding the provider's state")?
        .trim()
        .to_string();
    let keys: Vec<String> = vars
        .get("SIGNING_KEYS")
        .map(|k| {
            k.split(',')
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .collect()
        })
        .unwrap_or_default();
    if keys.is_empty() {
        return Err("SIGNING_KEYS is not set: comma-separated KMS key ids or aliases, the active signing key first".into());
    }
    Ok((table, keys))
}

/// Runs one Lambda function: everything is built once per container, then each request
/// goes to the shared dispatcher restricted to this function's routes.
pub async fn serve(function: &'static str) -> Result<(), Error> {
    tracing_init();
    let vars: HashMap<String, String> = std::env::vars().collect();
    let config = Config::from_vars(&vars).map_err(|e| format!("configuration: {e}"))?;
    let (table, keys) = backend_settings(&vars).map_err(|e| format!("configuration: {e}"))?;
    let (store, signer) = aws_backends(&table, keys).await;
    let app: &'static App = Box::leak(Box::new(App::new(
        config,
        store,
        signer,
        Arc::new(SystemClock),
    )));
    lambda_http::run(service_fn(move |req: Request| async move {
        Ok::<_, Error>(endpoints::dispatch(app, Some(function), req).await)
    }))
    .await
}

fn tracing_init() {
    let _ = tracing_subscriber::fmt()
        .json()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_target(false)
        .without_time()
        .try_init();
}
