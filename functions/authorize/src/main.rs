//! The `authorize` Lambda function: built once per container, then every request goes to the
//! shared handler (see `shared::lambda::serve`). Its role: it only verifies tokens, with
//! the key set the token function published.
use shared::{assembly::Verifies, endpoints::handlers};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::lambda::serve("authorize", Verifies, handlers::authorize).await
}
