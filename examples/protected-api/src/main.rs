use lambda_http::{Error, Request, run, service_fn};
use protected_api::Api;

#[tokio::main]
async fn main() -> Result<(), Error> {
    let api = Api::from_env()?;
    let api = &api;
    run(service_fn(move |req: Request| async move {
        Ok::<_, Error>(api.handle(&req).await)
    }))
    .await
}
