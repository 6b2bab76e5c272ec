//! The store behind the commands: the local server's redb file, or the DynamoDB table.
use std::sync::Arc;

use shared::{
    assembly::{self, Backend},
    signer::Alg,
    store::{Store, StoreError},
};

use crate::Global;

pub async fn store(g: &Global) -> Result<Arc<dyn Store>, String> {
    let backend = if g.aws {
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
    };
    assembly::store(&backend).await.map_err(store_error)
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
