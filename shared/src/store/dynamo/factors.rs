//! A person's passkeys and second factors: one item, `factors#<sub>`, written whole under a
//! condition on its `version` (see [`FactorStore::put_factors`]).
use async_trait::async_trait;

use super::*;

#[async_trait]
impl FactorStore for DynamoStore {
    async fn factors(&self, sub: &str) -> StoreResult<Option<Factors>> {
        self.get_record(schema::factors(sub), true).await
    }

    async fn put_factors(&self, f: &Factors) -> StoreResult<bool> {
        let record = item(&schema::factors(&f.sub), f, None)?;
        if f.version <= 1 {
            let condition = "attribute_not_exists(#pk)";
            return self
                .put_if(record, condition, names(&[("#pk", PK)]), None)
                .await;
        }
        let previous = i64::try_from(f.version - 1)
            .map_err(|_| StoreError::Unavailable("dynamodb: factors version overflow".into()))?;
        self.put_if(
            record,
            "#v = :previous",
            names(&[("#v", "version")]),
            Some(values(vec![(":previous", n(previous))])),
        )
        .await
    }
}
