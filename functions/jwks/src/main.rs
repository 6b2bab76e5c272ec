//! The `jwks` Lambda function: built once per container, then every request goes to the
//! shared handler (see `shared::lambda::serve`). Its role: it serves and publishes the
//! signing keys, never signs.
use shared::{assembly::PublishesKeys, endpoints::handlers};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::lambda::serve("jwks", PublishesKeys, handlers::jwks).await
}
