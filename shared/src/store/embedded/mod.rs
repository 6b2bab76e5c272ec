//! The embedded backend: one redb table of JSON records under the keys of [`schema`], in a
//! local file or in memory. Each trait method is one redb transaction, so conditional writes
//! are atomic exactly as DynamoDB's are.
mod accounts;
mod federation;
mod grants;
mod signin;

use std::path::Path;

use redb::{Database, ReadableTable, TableDefinition, WriteTransaction, backends::InMemoryBackend};
use serde::{Serialize, de::DeserializeOwned};

use super::*;

const ITEMS: TableDefinition<&str, &[u8]> = TableDefinition::new("items");

pub struct EmbeddedStore {
    db: Database,
}

fn unavailable(e: impl std::fmt::Display) -> StoreError {
    StoreError::Unavailable(e.to_string())
}

fn encode<T: Serialize>(v: &T) -> StoreResult<Vec<u8>> {
    serde_json::to_vec(v).map_err(unavailable)
}

fn decode<T: DeserializeOwned>(bytes: &[u8]) -> StoreResult<T> {
    serde_json::from_slice(bytes).map_err(unavailable)
}

impl EmbeddedStore {
    /// Opens (or creates) `path`. redb holds an exclusive lock: one process per file.
    pub fn open(path: &Path) -> StoreResult<Self> {
        let db = Database::create(path).map_err(|e| match e {
            redb::DatabaseError::DatabaseAlreadyOpen => StoreError::Unavailable(format!(
                "{} is in use by another process: only one process at a time can open a data \
                 directory. Stop the local server using it (the `cargo run -p oidc-local` \
                 terminal: Ctrl-C) and run this again, then start the server again; or use \
                 another --data-dir",
                path.display()
            )),
            e => unavailable(e),
        })?;
        Self::init(db)
    }

    pub fn in_memory() -> StoreResult<Self> {
        let db = Database::builder()
            .create_with_backend(InMemoryBackend::new())
            .map_err(unavailable)?;
        Self::init(db)
    }

    fn init(db: Database) -> StoreResult<Self> {
        let txn = db.begin_write().map_err(unavailable)?;
        txn.open_table(ITEMS).map_err(unavailable)?;
        txn.commit().map_err(unavailable)?;
        Ok(Self { db })
    }

    fn get<T: DeserializeOwned>(&self, key: &str) -> StoreResult<Option<T>> {
        let txn = self.db.begin_read().map_err(unavailable)?;
        let table = txn.open_table(ITEMS).map_err(unavailable)?;
        match table.get(key).map_err(unavailable)? {
            Some(v) => decode(v.value()).map(Some),
            None => Ok(None),
        }
    }

    /// Runs `f` in one write transaction, committed only if `f` succeeds.
    fn write<T>(&self, f: impl FnOnce(&WriteTransaction) -> StoreResult<T>) -> StoreResult<T> {
        let txn = self.db.begin_write().map_err(unavailable)?;
        let out = f(&txn)?;
        txn.commit().map_err(unavailable)?;
        Ok(out)
    }

    fn put<T: Serialize>(&self, key: &str, value: &T) -> StoreResult<()> {
        let bytes = encode(value)?;
        self.write(|txn| {
            let mut t = txn.open_table(ITEMS).map_err(unavailable)?;
            t.insert(key, bytes.as_slice()).map_err(unavailable)?;
            Ok(())
        })
    }

    fn delete(&self, key: &str) -> StoreResult<()> {
        self.remove(key).map(drop)
    }

    /// Deletes the record under `key`; `true` only if there was one.
    fn remove(&self, key: &str) -> StoreResult<bool> {
        self.write(|txn| {
            let mut t = txn.open_table(ITEMS).map_err(unavailable)?;
            Ok(t.remove(key).map_err(unavailable)?.is_some())
        })
    }

    /// Up to `limit` records whose keys start with `prefix`, after `prefix + after`, in key
    /// order; the cursor is the last key without its prefix.
    fn list<T: DeserializeOwned>(
        &self,
        prefix: &str,
        after: Option<&str>,
        limit: usize,
    ) -> StoreResult<Page<T>> {
        use std::ops::Bound;
        let txn = self.db.begin_read().map_err(unavailable)?;
        let table = txn.open_table(ITEMS).map_err(unavailable)?;
        let start = format!("{prefix}{}", after.unwrap_or_default());
        let lower = match after {
            Some(_) => Bound::Excluded(start.as_str()),
            None => Bound::Included(start.as_str()),
        };
        let range = table
            .range::<&str>((lower, Bound::Unbounded))
            .map_err(unavailable)?;
        let mut items = Vec::new();
        let mut last = None;
        for entry in range {
            let (k, v) = entry.map_err(unavailable)?;
            let Some(id) = k.value().strip_prefix(prefix) else {
                break;
            };
            if items.len() == limit.max(1) {
                // One more exists: the page is full and not the last.
                return Ok(Page { items, next: last });
            }
            last = Some(id.to_string());
            items.push(decode(v.value())?);
        }
        Ok(Page { items, next: None })
    }
}

fn txn_get<T: DeserializeOwned>(txn: &WriteTransaction, key: &str) -> StoreResult<Option<T>> {
    let t = txn.open_table(ITEMS).map_err(unavailable)?;
    let v = t.get(key).map_err(unavailable)?;
    v.map(|v| decode(v.value())).transpose()
}

fn txn_put_new(txn: &WriteTransaction, key: &str, value: &[u8]) -> StoreResult<()> {
    let mut t = txn.open_table(ITEMS).map_err(unavailable)?;
    if t.get(key).map_err(unavailable)?.is_some() {
        return Err(StoreError::Conflict(schema::kind(key).to_string()));
    }
    t.insert(key, value).map_err(unavailable)?;
    Ok(())
}

fn txn_put(txn: &WriteTransaction, key: &str, value: &[u8]) -> StoreResult<()> {
    let mut t = txn.open_table(ITEMS).map_err(unavailable)?;
    t.insert(key, value).map_err(unavailable)?;
    Ok(())
}

fn txn_delete(txn: &WriteTransaction, key: &str) -> StoreResult<()> {
    let mut t = txn.open_table(ITEMS).map_err(unavailable)?;
    t.remove(key).map_err(unavailable)?;
    Ok(())
}
