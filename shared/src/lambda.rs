//! The Lambda side: the request loop of one function. Each `functions/<name>/src/main.rs`
//! is one call to [`serve`] with its role and its handler, so it links only what its routes
//! and its role reach: the functions that only verify carry no KMS client
//! (`crate::assembly` builds the store and keys from the role).
use std::sync::Arc;

use lambda_http::{Error, Request, RequestExt, request::RequestContext, service_fn};
use tokio::sync::OnceCell;

use crate::{
    App, OAuthError,
    assembly::{self, Role, Settings},
    clock::SystemClock,
    config::Config,
    endpoints::{self, handlers::Handler},
    store::Store,
};

/// Runs one Lambda function: everything is built once per container, then each request
/// goes to the shared dispatcher restricted to this function's routes.
///
/// With `ISSUER` set (a custom domain), the configuration is complete at start-up. Without
/// it, the issuer is `https://<domain>` of the API Gateway endpoint that invoked the
/// function, fixed by the first request of the container: a stack deploys without knowing
/// its own URL in advance. Everything else is validated at start-up either way.
pub async fn serve<R: Role>(
    function: &'static str,
    _role: R,
    handler: Handler<R::Keys>,
) -> Result<(), Error> {
    tracing_init();
    let settings = Settings::from_vars(std::env::vars().collect())
        .map_err(|e| format!("configuration: {e}"))?;
    let invalid = |e: crate::config::ConfigError| format!("configuration: {e}");
    let fixed = if settings.issuer().is_some() {
        Some(settings.config(None).map_err(invalid)?)
    } else {
        Config::check_vars(&settings.vars).map_err(invalid)?;
        None
    };
    let table = settings
        .table()
        .ok_or("configuration: TABLE_NAME is not set")?;
    let sdk = crate::aws::lambda_sdk_config();
    let dynamo = Arc::new(assembly::dynamo_store(&sdk, table));
    let keys = R::keys(&settings, &sdk, dynamo.clone()).await?;
    let sealer = R::sealer(&settings, &sdk);
    let store: Arc<dyn Store> = dynamo;
    let build = move |config: Config| {
        let app = App::new(config, store.clone(), keys.clone(), Arc::new(SystemClock));
        match &sealer {
            Some(s) => app.with_sealer(s.clone()),
            None => app,
        }
    };
    let cell: &'static OnceCell<App<dyn Store, R::Keys>> = Box::leak(Box::new(OnceCell::new()));
    if let Some(config) = fixed {
        let _ = cell.set(build(config));
    }
    let build: &'static _ = Box::leak(Box::new(build));
    let settings: &'static Settings = Box::leak(Box::new(settings));
    lambda_http::run(service_fn(move |req: Request| async move {
        let app = match cell.get() {
            Some(app) => app,
            None => {
                let Some(domain) = request_domain(&req) else {
                    return Ok(OAuthError::server_error(
                        "no ISSUER and no domain in the request context",
                    )
                    .to_json_response());
                };
                let issuer = format!("https://{domain}");
                match cell
                    .get_or_try_init(|| async {
                        settings
                            .config(Some(&issuer))
                            .map(build)
                            .map_err(|e| e.to_string())
                    })
                    .await
                {
                    Ok(app) => app,
                    Err(e) => return Ok(OAuthError::server_error(e).to_json_response()),
                }
            }
        };
        Ok::<_, Error>(endpoints::dispatch_to(app, Some(function), req, handler).await)
    }))
    .await
}

/// The API Gateway (or function URL) domain that received the request.
fn request_domain(req: &Request) -> Option<String> {
    match req.request_context_ref()? {
        RequestContext::ApiGatewayV2(ctx) => ctx.domain_name.clone(),
        _ => None,
    }
    .filter(|d| {
        !d.is_empty()
            && d.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':'))
    })
}

/// `RUST_LOG` as one level (error, warn, info, debug, trace, off; default info): per-module
/// directives would link a regex engine into every function for no use here. A release
/// build has no events below info (`release_max_level_info` in the workspace manifest).
fn tracing_init() {
    use tracing_subscriber::filter::LevelFilter;
    let level = std::env::var("RUST_LOG")
        .ok()
        .and_then(|l| l.trim().parse::<LevelFilter>().ok())
        .unwrap_or(LevelFilter::INFO);
    let _ = tracing_subscriber::fmt()
        .json()
        .with_max_level(level)
        .with_target(false)
        .without_time()
        .try_init();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(domain: &str) -> Request {
        let json = serde_json::json!({
            "version": "2.0", "routeKey": "GET /jwks.json", "rawPath": "/jwks.json", "rawQueryString": "",
            "headers": {"host": domain},
            "requestContext": {
                "accountId": "123456789012", "apiId": "abc123", "domainName": domain, "domainPrefix": "abc123",
                "http": {"method": "GET", "path": "/jwks.json", "protocol": "HTTP/1.1", "sourceIp": "192.0.2.1", "userAgent": "t"},
                "requestId": "r", "routeKey": "GET /jwks.json", "stage": "$default", "time": "21/Nov/2026:00:00:00 +0000", "timeEpoch": 0
            },
            "isBase64Encoded": false
        });
        lambda_http::request::from_str(&json.to_string()).expect("API Gateway v2 event")
    }

    #[test]
    fn issuer_domain_comes_from_the_request_context() {
        assert_eq!(
            request_domain(&event("abc123.execute-api.eu-west-1.amazonaws.com")).as_deref(),
            Some("abc123.execute-api.eu-west-1.amazonaws.com")
        );
        assert_eq!(request_domain(&event("evil.example/path?")), None);
    }
}
