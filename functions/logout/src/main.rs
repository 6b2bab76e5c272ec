//! The `logout` Lambda function: built once per container, then every request goes to the
//! shared handler (see `shared::lambda::serve`).
#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::lambda::serve("logout", shared::endpoints::handlers::logout).await
}
