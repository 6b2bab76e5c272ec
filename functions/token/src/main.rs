//! The `token` Lambda function: built once per container, then every request goes to the
//! shared handler (see `shared::lambda::serve`). Its role: it signs tokens.
use shared::{assembly::SignsTokens, endpoints::handlers};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::lambda::serve("token", SignsTokens, handlers::token).await
}
