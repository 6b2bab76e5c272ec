//! `oidc-admin keys ...`: the rotation procedure as commands.
//!
//! Embedded ([`local`]): the data directory's `keys.json` (shared::signer::manifest), read by
//! the local server at start. These commands never open the store, so they work while it
//! runs; a change takes effect at its next start.
//!
//! AWS ([`aws`]): the key list is the deployment's SIGNING_KEYS (template.yaml's
//! ActiveSigningKey / PublishedSigningKeys, SigningMode / EnvelopeKeyId), so promote and
//! retire print the exact change to deploy; list and create-next talk to KMS ([`kms`]);
//! envelope-create stores a KMS-wrapped key pair in the table ([`envelope`]).
use std::path::PathBuf;

use aws_sdk_kms::{
    error::{DisplayErrorContext, SdkError},
    operation::{describe_key::DescribeKeyError, get_public_key::GetPublicKeyError},
};
use shared::{signer::SignerError, store::StoreError};

use crate::{Global, KeysCmd, output::Output};

mod aws;
mod envelope;
mod kms;
mod local;
mod plan;

/// How long a published key must wait before it signs: longer than the longest JWKS cache of
/// any consumer. API Gateway's HTTP API JWT authorizer keeps an issuer's keys up to two hours
/// (http-api-jwt-authorizer.html); REST API JWT authorizers one hour, `oidc-verifier` ten
/// minutes, relying parties that honour `/jwks.json`'s max-age five.
const JWKS_CACHE: &str = "longer than the longest JWKS cache of any consumer: over 2 hours when an \
     API Gateway HTTP API JWT authorizer trusts this issuer (it caches keys that long), \
     otherwise over 5 minutes (the JWKS max-age)";

pub async fn run(g: &Global, cmd: KeysCmd) -> Result<Output, KeysError> {
    if g.aws {
        aws::run(g, cmd).await
    } else {
        local::run(&g.data_dir, cmd)
    }
}

/// Why a `keys` command failed; its text is what the person at the terminal reads.
#[derive(Debug, thiserror::Error)]
pub enum KeysError {
    /// The flags or the keys' state do not allow the step; the text says what to do instead.
    #[error("{0}")]
    Refused(String),
    /// A key file, the manifest or the KMS answer could not be used.
    #[error(transparent)]
    Signer(#[from] SignerError),
    /// The table behind envelope keys failed.
    #[error("{}", crate::backend::store_error(.0.clone()))]
    Store(#[from] StoreError),
    /// The table failed while doing `what`.
    #[error("{what}: {}", crate::backend::store_error(.source.clone()))]
    StoreWhile { what: String, source: StoreError },
    /// A KMS call failed: the SDK's error, with its service error kind.
    #[error("kms GetPublicKey on {key}: {}", DisplayErrorContext(source.as_ref()))]
    GetPublicKey {
        key: String,
        source: Box<SdkError<GetPublicKeyError>>,
    },
    #[error("kms DescribeKey on {key}: {}", DisplayErrorContext(source.as_ref()))]
    DescribeKey {
        key: String,
        source: Box<SdkError<DescribeKeyError>>,
    },
    /// KMS answered, but not with a usable signing key.
    #[error("kms {op} on {key}: {why}")]
    KmsAnswer {
        op: &'static str,
        key: String,
        why: String,
    },
    /// --create-wrapping-key could not create the wrapping key.
    #[error("--create-wrapping-key {key}: {source}")]
    WrappingKey { key: String, source: SignerError },
    #[error("no envelope key {id:?} in table {table} (check --table / TABLE_NAME)")]
    NoEnvelopeKey { id: String, table: String },
    /// An envelope key's stored public key is unreadable.
    #[error("envelope key {id}: {why}")]
    EnvelopePublicKey { id: String, why: String },
    #[error("{}: {source}", .path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot create {}: {source}", .path.display())]
    CreateDir {
        path: PathBuf,
        source: std::io::Error,
    },
}

impl KeysError {
    fn refused(why: impl Into<String>) -> Self {
        Self::Refused(why.into())
    }
}
