//! A minimal HTTP/1.1 edge: turns each hyper request into the same `lambda_http::Request`
//! a Lambda function receives, and hands it to the shared dispatcher.
use std::{convert::Infallible, net::SocketAddr, sync::Arc};

use http_body_util::{BodyExt, Full, Limited};
use hyper::{body::Bytes, server::conn::http1, service::service_fn};
use hyper_util::rt::TokioIo;
use lambda_http::{
    Body, RequestExt, aws_lambda_events::apigw::ApiGatewayV2httpRequestContext,
    request::RequestContext,
};
use shared::{App, endpoints, http::MAX_BODY};
use tokio::net::TcpListener;

/// `app` serves the token and JWKS endpoints (and the demo), `verifying` all others: the
/// same `App` unless the keys are distributed as on Lambda.
pub async fn serve(listener: TcpListener, app: Arc<App>, verifying: Arc<App>) {
    loop {
        let Ok((stream, peer)) = listener.accept().await else {
            continue;
        };
        let (app, verifying) = (app.clone(), verifying.clone());
        tokio::spawn(async move {
            let svc = service_fn(move |req| {
                // Only when the keys are distributed is there a choice to make.
                let app = if Arc::ptr_eq(&app, &verifying) || holds_keys(req.uri().path()) {
                    app.clone()
                } else {
                    verifying.clone()
                };
                handle(app, peer, req)
            });
            if let Err(e) = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), svc)
                .await
            {
                tracing::debug!(error = %e, "connection closed");
            }
        });
    }
}

/// The paths whose Lambda functions carry the signer (built with shared's `kms` feature).
fn holds_keys(path: &str) -> bool {
    crate::demo::owns(path)
        || endpoints::routes()
            .iter()
            .any(|r| r.endpoint.path() == path && matches!(r.endpoint.function(), "token" | "jwks"))
}

async fn handle(
    app: Arc<App>,
    peer: SocketAddr,
    req: hyper::Request<hyper::body::Incoming>,
) -> Result<hyper::Response<Full<Bytes>>, Infallible> {
    let (parts, body) = req.into_parts();
    let bytes = match Limited::new(body, MAX_BODY).collect().await {
        Ok(c) => c.to_bytes(),
        Err(_) => {
            let mut r = hyper::Response::new(Full::new(Bytes::from_static(
                b"{\"error\":\"invalid_request\",\"error_description\":\"request body too large\"}",
            )));
            *r.status_mut() = hyper::StatusCode::PAYLOAD_TOO_LARGE;
            return Ok(r);
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
    } else {
        endpoints::dispatch(&app, None, req).await
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
