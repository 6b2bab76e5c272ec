//! Cold-start baseline: what every real function does before its first request, minus the
//! provider. Loads the AWS SDK configuration from the environment and builds the DynamoDB
//! and KMS clients once per container (as `shared::lambda::serve` does), then answers every
//! request with a fixed body without calling AWS. Measured by `infra/bench/coldstart.sh`.
use aws_config::BehaviorVersion;
use lambda_http::{Body, Error, Request, Response, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    let sdk = aws_config::load_defaults(BehaviorVersion::latest()).await;
    let dynamodb = aws_sdk_dynamodb::Client::new(&sdk);
    let kms = aws_sdk_kms::Client::new(&sdk);
    lambda_http::run(service_fn(move |_req: Request| {
        // The handler holds the clients exactly as a real one does, but makes no call.
        let (dynamodb, kms) = (dynamodb.clone(), kms.clone());
        async move {
            let region = dynamodb.config().region().map(|r| r.to_string());
            let same = kms.config().region().map(|r| r.to_string()) == region;
            Response::builder()
                .status(200)
                .header("content-type", "text/plain")
                .body(Body::from(format!(
                    "clients ready (region {}, one config: {same})",
                    region.unwrap_or_default()
                )))
                .map_err(Error::from)
        }
    }))
    .await
}
