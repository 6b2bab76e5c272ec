//! AWS SDK configuration shared by the production backends and the provisioning code.
use aws_config::{BehaviorVersion, SdkConfig};
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};

/// The SDK configuration from the standard environment chain (region, credentials,
/// `AWS_ENDPOINT_URL` for an emulator such as moto). Build it once per container and derive
/// every service client from it.
pub async fn aws_config() -> SdkConfig {
    aws_config::load_defaults(BehaviorVersion::latest()).await
}

/// The SDK configuration of a Lambda function: region, credentials and endpoint from the
/// variables Lambda sets (and the emulator runs set), nothing else. aws-config's default
/// chain (profile files, web identity and assume-role through STS, ECS, IMDS) never applies
/// in a Lambda sandbox, whose credentials are always in `AWS_ACCESS_KEY_ID`,
/// `AWS_SECRET_ACCESS_KEY` and `AWS_SESSION_TOKEN`; without a call to it, LTO leaves that
/// code and the STS client out of the bootstrap. The service clients add the default HTTP
/// client, retries, timeouts and identity cache themselves. Build it once per container.
pub fn lambda_sdk_config() -> SdkConfig {
    sdk_config_from(|k| std::env::var(k).ok())
}

fn sdk_config_from(var: impl Fn(&str) -> Option<String>) -> SdkConfig {
    use aws_config::environment::EnvironmentVariableCredentialsProvider;
    use aws_sdk_dynamodb::config::{Region, SharedCredentialsProvider};
    let var = |k: &str| var(k).filter(|v| !v.trim().is_empty());
    let mut b = SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(
            var("AWS_REGION")
                .or_else(|| var("AWS_DEFAULT_REGION"))
                .map(Region::new),
        )
        .credentials_provider(SharedCredentialsProvider::new(
            EnvironmentVariableCredentialsProvider::new(),
        ));
    if let Some(url) = var("AWS_ENDPOINT_URL") {
        b = b.endpoint_url(url);
    }
    b.build()
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

#[cfg(test)]
mod tests {
    use super::*;

    fn config(vars: &[(&str, &str)]) -> SdkConfig {
        sdk_config_from(|k| {
            vars.iter()
                .find(|(name, _)| *name == k)
                .map(|(_, v)| v.to_string())
        })
    }

    #[test]
    fn lambda_config_takes_region_and_endpoint_from_the_environment() {
        let sdk = config(&[
            ("AWS_REGION", "eu-west-3"),
            ("AWS_DEFAULT_REGION", "us-east-1"),
            ("AWS_ENDPOINT_URL", "http://127.0.0.1:5000"),
        ]);
        assert_eq!(sdk.region().map(|r| r.as_ref()), Some("eu-west-3"));
        assert_eq!(sdk.endpoint_url(), Some("http://127.0.0.1:5000"));
        assert!(sdk.credentials_provider().is_some());
        assert!(sdk.behavior_version().is_some());

        let sdk = config(&[("AWS_REGION", " "), ("AWS_DEFAULT_REGION", "us-east-1")]);
        assert_eq!(sdk.region().map(|r| r.as_ref()), Some("us-east-1"));
        assert_eq!(sdk.endpoint_url(), None);

        assert_eq!(config(&[]).region(), None);
    }
}
