//! The `federation` Lambda function: sign-in at upstream OpenID providers
//! (`/federation/start`, `/federation/callback`). Its role: it verifies with the published
//! key set, opens upstream client secrets with KMS, and is the one function that calls out
//! to the internet.
use shared::{assembly::Federates, endpoints::handlers};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::lambda::serve("federation", Federates, handlers::federation).await
}
