//! What a store call can fail with.
#[derive(Debug, Clone, thiserror::Error, PartialEq)]
pub enum StoreError {
    /// The backend failed or timed out; the operation did not happen and may be retried.
    #[error("store unavailable: {0}")]
    Unavailable(String),
    /// The table does not exist (DynamoDB answers `ResourceNotFoundException`): a deployment
    /// or `--table` mistake that no retry mends. Worded as `Unavailable` is: `detail` says
    /// which call failed and how (`dynamodb GetItem: ResourceNotFoundException`).
    #[error("store unavailable: {detail}")]
    TableMissing { table: String, detail: String },
    /// A uniqueness rule was violated (username or email taken, id reused).
    #[error("conflict: {0}")]
    Conflict(String),
}

pub type StoreResult<T> = Result<T, StoreError>;
