//! A minimal HTTP/1.1 edge: turns each hyper request into the same `lambda_http::Request`
//! a Lambda function receives, and hands it to the shared dispatcher.
//!
//! It stands in for API Gateway, which drops slow clients itself: a connection that does not
//! send a request's headers (or, when idle, the next request's) within the header timeout,
//! or its body within the body timeout, is closed, so that a client holding many
//! connections open cannot use up the process's file descriptors. When `accept` fails
//! anyway (EMFILE), the loop backs off instead of spinning.
use std::{convert::Infallible, net::SocketAddr, sync::Arc, time::Duration};

use http_body_util::{BodyExt, Full, Limited};
use hyper::{body::Bytes, server::conn::http1, service::service_fn};
use hyper_util::rt::{TokioIo, TokioTimer};
use lambda_http::{
    Body, RequestExt, aws_lambda_events::apigw::ApiGatewayV2httpRequestContext,
    request::RequestContext,
};
use shared::{
    App,
    app::SigningApp,
    endpoints::{self, handlers},
    http::MAX_BODY,
    store::Store,
};

/// The side of the federation endpoints: it opens upstream client secrets and calls
/// upstream providers (`shared::federation::broker`).
pub type Federating = App<dyn Store, shared::federation::broker::Federating>;
use tokio::net::TcpListener;

/// How long a client may take to send a request's headers (and, on an idle keep-alive
/// connection, to start the next request), and its body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    pub header: Duration,
    pub body: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Self {
            header: Duration::from_secs(10),
            body: Duration::from_secs(10),
        }
    }
}

/// The pause after the `failures`-th failed `accept` in a row: 20 ms doubling to 1 s.
fn accept_backoff(failures: u32) -> Duration {
    Duration::from_millis((10u64 << failures.min(7)).min(1000))
}

/// `app` serves the token and JWKS endpoints (and the demo), `verifying` all others, as the
/// Lambda functions split them (see `endpoints::dispatch`).
pub async fn serve(
    listener: TcpListener,
    app: Arc<SigningApp>,
    verifying: Arc<App>,
    federating: Arc<Federating>,
    timeouts: Timeouts,
) {
    let mut failures = 0u32;
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(conn) => {
                failures = 0;
                conn
            }
            Err(e) => {
                // Out of file descriptors, usually: retrying at once would spin a core
                // while nothing frees one. Connections time out meanwhile (see above).
                failures = failures.saturating_add(1);
                let pause = accept_backoff(failures);
                tracing::warn!(error = %e, pause_ms = pause.as_millis() as u64, "accept failed");
                tokio::time::sleep(pause).await;
                continue;
            }
        };
        let (app, verifying, federating) = (app.clone(), verifying.clone(), federating.clone());
        tokio::spawn(async move {
            let svc = service_fn(move |req| {
                handle(
                    app.clone(),
                    verifying.clone(),
                    federating.clone(),
                    peer,
                    req,
                    timeouts.body,
                )
            });
            if let Err(e) = http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(timeouts.header)
                .serve_connection(TokioIo::new(stream), svc)
                .await
            {
                tracing::debug!(error = %e, "connection closed");
            }
        });
    }
}

fn refusal(status: hyper::StatusCode, body: &'static [u8]) -> hyper::Response<Full<Bytes>> {
    let mut r = hyper::Response::new(Full::new(Bytes::from_static(body)));
    *r.status_mut() = status;
    r.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("application/json"),
    );
    // The rest of the body is not read: the connection cannot carry another request.
    r.headers_mut().insert(
        hyper::header::CONNECTION,
        hyper::header::HeaderValue::from_static("close"),
    );
    r
}

async fn handle(
    app: Arc<SigningApp>,
    verifying: Arc<App>,
    federating: Arc<Federating>,
    peer: SocketAddr,
    req: hyper::Request<hyper::body::Incoming>,
    body_timeout: Duration,
) -> Result<hyper::Response<Full<Bytes>>, Infallible> {
    let (parts, body) = req.into_parts();
    let read = tokio::time::timeout(body_timeout, Limited::new(body, MAX_BODY).collect()).await;
    let bytes = match read {
        Ok(Ok(c)) => c.to_bytes(),
        Ok(Err(_)) => {
            return Ok(refusal(
                hyper::StatusCode::PAYLOAD_TOO_LARGE,
                b"{\"error\":\"invalid_request\",\"error_description\":\"request body too large\"}",
            ));
        }
        Err(_) => {
            return Ok(refusal(
                hyper::StatusCode::REQUEST_TIMEOUT,
                b"{\"error\":\"invalid_request\",\"error_description\":\"request body too slow\"}",
            ));
        }
    };
    let body = if bytes.is_empty() {
        Body::Empty
    } else {
        match String::from_utf8(bytes.to_vec()) {
            Ok(s) => Body::Text(s),
            Err(e) => Body::Binary(e.into_bytes()),
        }
    };
    // The client address where API Gateway puts it (`requestContext.http.sourceIp`): the TCP
    // peer, never a header the client sent (sign-in throttling counts by it).
    let mut context = ApiGatewayV2httpRequestContext::default();
    context.http.method = parts.method.clone();
    context.http.path = Some(parts.uri.path().to_string());
    context.http.source_ip = Some(peer.ip().to_canonical().to_string());
    let req = lambda_http::Request::from_parts(parts, body)
        .with_request_context(RequestContext::ApiGatewayV2(context));
    let resp = if crate::demo::owns(req.uri().path()) {
        crate::demo::handle(&app, req).await
    } else if endpoints::federates(req.uri().path()) {
        endpoints::dispatch_to(&federating, None, req, handlers::federation).await
    } else {
        endpoints::dispatch(&app, &verifying, req).await
    };
    let (parts, body) = resp.into_parts();
    let bytes = match body {
        Body::Empty => Bytes::new(),
        Body::Text(t) => Bytes::from(t),
        Body::Binary(b) => Bytes::from(b),
        _ => Bytes::new(),
    };
    Ok(hyper::Response::from_parts(parts, Full::new(bytes)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_failures_back_off_to_a_second() {
        let pauses: Vec<u64> = (1..=9)
            .map(|n| accept_backoff(n).as_millis() as u64)
            .collect();
        assert_eq!(pauses, [20, 40, 80, 160, 320, 640, 1000, 1000, 1000]);
    }
}
