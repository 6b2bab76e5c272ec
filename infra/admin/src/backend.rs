//! The store behind the commands: the local server's redb file, or the DynamoDB table.
use std::{collections::HashMap, sync::Arc};

use shared::{
    assembly::{self, Backend},
    federation::seal::Sealer,
    signer::Alg,
    store::{Store, StoreError},
};

use crate::Global;

/// The backend the flags name.
async fn backend(g: &Global) -> Result<Backend, String> {
    Ok(if g.aws {
        let sdk = shared::aws::aws_config().await;
        if sdk.region().is_none() {
            return Err(
                "--aws: no AWS region configured: set AWS_REGION (and credentials, or a profile)"
                    .into(),
            );
        }
        Backend::Aws {
            table: g.table.clone(),
            signing_keys: vec![],
        }
    } else {
        // redb lets one process open the file: a running local server holds it, and the
        // error says what to do. (The algorithm is the signer's: the store needs none.)
        Backend::Embedded {
            data_dir: Some(g.data_dir.clone()),
            alg: Alg::RS256,
        }
    })
}

pub async fn store(g: &Global) -> Result<Arc<dyn Store>, String> {
    assembly::store(&backend(g).await?)
        .await
        .map_err(store_error)
}

/// What seals upstream client secrets: KMS under --secrets-key with --aws, else the data
/// directory's federation.key (made on first use).
pub async fn sealer(g: &Global) -> Result<Arc<dyn Sealer>, String> {
    let mut vars = HashMap::new();
    if g.aws {
        let key = g.secrets_key.as_deref().map(str::trim).unwrap_or_default();
        if key.is_empty() {
            return Err(
                "--aws: no KMS key to seal the client secret with: give --secrets-key \
                 (or FEDERATION_SECRETS_KEY), the stack output FederationSecretsKeyId"
                    .into(),
            );
        }
        vars.insert(
            assembly::FEDERATION_SECRETS_KEY.to_string(),
            key.to_string(),
        );
    }
    assembly::sealer(&backend(g).await?, &vars).await
}

/// A store failure as the person at the terminal needs it.
pub fn store_error(e: StoreError) -> String {
    match e {
        StoreError::TableMissing { detail, .. } => format!(
            "{detail}: the table does not exist here (check --table / TABLE_NAME and the region; \
             `cargo run -p oidc-local -- --backend aws --provision --setup-only` creates one)"
        ),
        StoreError::Unavailable(m) => m,
        StoreError::Conflict(m) => format!("conflict: {m}"),
    }
}
