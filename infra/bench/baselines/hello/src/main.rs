//! Cold-start baseline: a `lambda_http` function that answers every request with a fixed
//! body. Built like the real functions (`cargo lambda build --release`); measured by
//! `infra/bench/coldstart.sh`.
use lambda_http::{Body, Error, Request, Response, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_http::run(service_fn(|_req: Request| async {
        Response::builder()
            .status(200)
            .header("content-type", "text/plain")
            .body(Body::from("hello"))
            .map_err(Error::from)
    }))
    .await
}
