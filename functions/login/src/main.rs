//! The `login` Lambda function: built once per container, then every request goes to the
//! shared handler (see `shared::lambda::serve`). Its role: it only verifies tokens, with
//! the key set the token function published, and opens people's sealed TOTP secrets with
//! KMS at sign-in.
use shared::{assembly::SignsIn, endpoints::handlers};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::lambda::serve("login", SignsIn, handlers::login).await
}
