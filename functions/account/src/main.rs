//! The `account` Lambda function: a person's own page (`/account`), built once per
//! container. Its role: it verifies no tokens and signs none; it reads and writes the
//! person's sessions, factors and passkeys, and seals a new TOTP secret with KMS.
use shared::{assembly::SignsIn, endpoints::handlers};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::lambda::serve("account", SignsIn, handlers::account).await
}
