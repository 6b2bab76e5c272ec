//! The `login` Lambda function: built once per container, then every request goes to the
//! shared handler (see `shared::lambda::serve`).
#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::lambda::serve("login", shared::endpoints::handlers::login).await
}
