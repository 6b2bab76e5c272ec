//! AWS SDK configuration shared by the production backends and the provisioning code.
use aws_config::{BehaviorVersion, SdkConfig};

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
