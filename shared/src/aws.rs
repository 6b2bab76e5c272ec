//! AWS SDK configuration shared by the production backends and the provisioning code.
use aws_config::{BehaviorVersion, SdkConfig};
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};

/// The SDK configuration from the standard environment chain (region, credentials,
/// `AWS_ENDPOINT_URL` for an emulator such as moto). Build it once per container and derive
/// every service client from it.
pub async fn aws_config() -> SdkConfig {
    aws_config::load_defaults(BehaviorVersion::latest()).await
}

pub fn dynamodb_client(sdk: &SdkConfig) -> aws_sdk_dynamodb::Client {
    aws_sdk_dynamodb::Client::new(sdk)
}

#[cfg(feature = "kms")]
pub fn kms_client(sdk: &SdkConfig) -> aws_sdk_kms::Client {
    aws_sdk_kms::Client::new(sdk)
}

/// KMS error codes that mean "this key (or our permission on it) is wrong": retrying will
/// not help. The signer and the sealer of upstream secrets both classify by them.
#[cfg(feature = "kms")]
pub(crate) const KMS_MISCONFIGURED: &[&str] = &[
    "NotFoundException",
    "DisabledException",
    "InvalidKeyUsageException",
    "KMSInvalidStateException",
    "AccessDeniedException",
    "InvalidArnException",
    "UnsupportedOperationException",
    "ValidationException",
    "InvalidGrantTokenException",
];

/// KMS error codes of a Decrypt whose ciphertext, encryption context or key named with it is
/// wrong: retrying will not help either.
#[cfg(feature = "kms")]
pub(crate) const KMS_WRONG_CIPHERTEXT: &[&str] =
    &["InvalidCiphertextException", "IncorrectKeyException"];

/// A short description of an SDK failure, DynamoDB's or KMS's: the error code or the failure
/// class, never a message from the service or anything from the request (items carry
/// secrets' hashes, password hashes and personal data).
pub(crate) fn failure<E: ProvideErrorMetadata, R>(e: &SdkError<E, R>) -> String {
    match e {
        SdkError::ServiceError(ctx) => ctx.err().code().unwrap_or("unknown service error").into(),
        SdkError::TimeoutError(_) => "timeout".into(),
        SdkError::DispatchFailure(d) if d.is_timeout() => "connect timeout".into(),
        SdkError::DispatchFailure(d) if d.is_io() => "network error".into(),
        SdkError::DispatchFailure(_) => "dispatch failure".into(),
        SdkError::ResponseError(_) => "unreadable response".into(),
        SdkError::ConstructionFailure(_) => "request construction failed".into(),
        _ => "unknown failure".into(),
    }
}
