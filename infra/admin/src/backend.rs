//! The store behind the commands: the local server's redb file, or the DynamoDB table.
use std::sync::Arc;

use shared::store::{Store, StoreError, dynamo::DynamoStore, embedded::EmbeddedStore};

use crate::Global;

pub async fn store(g: &Global) -> Result<Arc<dyn Store>, String> {
    if g.aws {
        let sdk = shared::aws::aws_config().await;
        if sdk.region().is_none() {
            return Err(
                "--aws: no AWS region configured: set AWS_REGION (and credentials, or a profile)"
                    .into(),
            );
        }
        return Ok(Arc::new(DynamoStore::new(
            shared::aws::dynamodb_client(&sdk),
            &g.table,
        )));
    }
    let dir = &g.data_dir;
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    // redb lets one process open the file: a running local server holds it, and the error
    // says what to do.
    let store = EmbeddedStore::open(&dir.join("store.redb")).map_err(store_error)?;
    Ok(Arc::new(store))
}

/// A store failure as the person at the terminal needs it.
pub fn store_error(e: StoreError) -> String {
    match e {
        StoreError::Unavailable(m) if m.contains("ResourceNotFoundException") => format!(
            "{m}: the table does not exist here (check --table / TABLE_NAME and the region; \
             `cargo run -p oidc-local -- --backend aws --provision --setup-only` creates one)"
        ),
        StoreError::Unavailable(m) => m,
        StoreError::Conflict(m) => format!("conflict: {m}"),
    }
}
