//! The Lambda side: configuration from the environment, AWS clients built once per
//! container, and the request loop. Each `functions/<name>/src/main.rs` is one call to
//! [`serve`] with its own handler, so it links only what its routes reach.
//!
//! Only the functions built with the `kms` feature (`token`, which signs, and `jwks`,
//! which serves the keys) carry a KMS client; they publish the public key set to the table
//! at start-up. The others verify with the published set (`signer::published`). With an
//! envelope signing key (`SIGNING_KEYS=envelope:<id>`), `token` decrypts it at start-up and
//! signs in-process; `jwks` reads only its public key from the table.
use std::{collections::HashMap, sync::Arc};

use lambda_http::{Error, Request, RequestExt, request::RequestContext, service_fn};
use tokio::sync::OnceCell;

use crate::{
    App, Config, OAuthError,
    clock::SystemClock,
    endpoints::{self, handlers::Handler},
    signer::Signer,
    store::{Store, dynamo::DynamoStore},
};

/// The DynamoDB store and the signer of `signing_keys` (KMS keys and/or `envelope:<id>`
/// keys, see [`crate::signer::aws_signer`]), from the standard AWS environment (region,
/// credentials, `AWS_ENDPOINT_URL` for an emulator): what `oidc-local --backend aws` runs.
/// An envelope signing key is decrypted on its first signature, never for `--setup-only`
/// (seeding a deployment's table needs, and exposes, no private key).
#[cfg(feature = "kms")]
pub async fn aws_backends(
    table: &str,
    signing_keys: Vec<String>,
) -> Result<(Arc<dyn Store>, Arc<dyn Signer>), String> {
    let sdk = crate::aws::aws_config().await;
    let store = Arc::new(DynamoStore::new(
        aws_sdk_dynamodb::Client::new(&sdk),
        table.to_string(),
    ));
    let signer =
        crate::signer::aws_signer(aws_sdk_kms::Client::new(&sdk), store.clone(), &signing_keys)
            .map_err(|e| format!("SIGNING_KEYS: {e}"))?;
    Ok((store, signer.signer))
}

/// This function's signer: the keys of `SIGNING_KEYS` (KMS and/or envelope keys), publishing
/// their key set to the table, where the function carries KMS; the published key set
/// otherwise. `signs`: this is the function that signs (token), which decrypts an envelope
/// signing key here, in the init phase.
#[cfg(feature = "kms")]
async fn function_signer(
    sdk: &aws_config::SdkConfig,
    store: Arc<DynamoStore>,
    keys: Vec<String>,
    signs: bool,
) -> Result<Arc<dyn Signer>, String> {
    let keys = crate::signer::aws_signer(aws_sdk_kms::Client::new(sdk), store.clone(), &keys)
        .map_err(|e| format!("configuration: SIGNING_KEYS: {e}"))?;
    let signer =
        crate::signer::published::Publishing::new(keys.signer, store, Arc::new(SystemClock));
    // Here, in the init phase, rather than on the first request; a failure is retried
    // before the first signature.
    if let Err(e) = signer.publish().await {
        tracing::warn!(error = %e, "publishing the key set failed; retrying on first use");
    }
    if signs
        && let Some(envelope) = keys.active_envelope
        && let Err(e) = envelope.unwrap_key().await
    {
        tracing::warn!(error = %e, "decrypting the envelope signing key failed; retrying on first use");
    }
    Ok(Arc::new(signer))
}

#[cfg(not(feature = "kms"))]
async fn function_signer(
    _sdk: &aws_config::SdkConfig,
    store: Arc<DynamoStore>,
    _keys: Vec<String>,
    _signs: bool,
) -> Result<Arc<dyn Signer>, String> {
    Ok(Arc::new(crate::signer::published::StoreKeys::new(store)))
}

/// `TABLE_NAME` and `SIGNING_KEYS` (comma-separated KMS key ids or aliases and
/// `envelope:<id>` keys, the first signs; required when `needs_keys`, i.e. for a function
/// that reaches KMS) on top of
/// [`Config::from_vars`].
pub fn backend_settings(
    vars: &HashMap<String, String>,
    needs_keys: bool,
) -> Result<(String, Vec<String>), String> {
    let table = vars
        .get("TABLE_NAME")
        .filter(|t| !t.trim().is_empty())
        .ok_or("TABLE_NAME is not set: the DynamoDB table holding the provider's state")?
        .trim()
        .to_string();
    let keys: Vec<String> = vars
        .get("SIGNING_KEYS")
        .map(|k| {
            k.split(',')
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .collect()
        })
        .unwrap_or_default();
    if needs_keys && keys.is_empty() {
        return Err("SIGNING_KEYS is not set: comma-separated KMS key ids or aliases (or envelope:<id>), the active signing key first".into());
    }
    Ok((table, keys))
}

/// Runs one Lambda function: everything is built once per container, then each request
/// goes to the shared dispatcher restricted to this function's routes.
///
/// With `ISSUER` set (a custom domain), the configuration is complete at start-up. Without
/// it, the issuer is `https://<domain>` of the API Gateway endpoint that invoked the
/// function, fixed by the first request of the container: a stack deploys without knowing
/// its own URL in advance. Everything else is validated at start-up either way.
pub async fn serve(function: &'static str, handler: Handler) -> Result<(), Error> {
    tracing_init();
    let mut vars: HashMap<String, String> = std::env::vars().collect();
    let fixed_issuer = vars.get("ISSUER").is_some_and(|i| !i.trim().is_empty());
    if !fixed_issuer {
        vars.insert(
            "ISSUER".into(),
            "https://issuer-from-request.invalid".into(),
        );
    }
    let config = Config::from_vars(&vars).map_err(|e| format!("configuration: {e}"))?;
    let (table, keys) = backend_settings(&vars, cfg!(feature = "kms"))
        .map_err(|e| format!("configuration: {e}"))?;
    let sdk = crate::aws::aws_config().await;
    let dynamo = Arc::new(DynamoStore::new(aws_sdk_dynamodb::Client::new(&sdk), table));
    let signer = function_signer(&sdk, dynamo.clone(), keys, function == "token").await?;
    let store: Arc<dyn Store> = dynamo;
    let build = move |issuer: Option<String>| -> Result<App, String> {
        let mut config = config.clone();
        if let Some(i) = issuer {
            let mut with_issuer = vars.clone();
            with_issuer.insert("ISSUER".into(), i);
            config = Config::from_vars(&with_issuer).map_err(|e| e.to_string())?;
        }
        Ok(App::new(
            config,
            store.clone(),
            signer.clone(),
            Arc::new(SystemClock),
        ))
    };
    let cell: &'static OnceCell<App> = Box::leak(Box::new(OnceCell::new()));
    if fixed_issuer {
        let _ = cell.set(build(None)?);
    }
    let build: &'static _ = Box::leak(Box::new(build));
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
                match cell
                    .get_or_try_init(|| async { build(Some(format!("https://{domain}"))) })
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
/// directives would link a regex engine into every function for no use here.
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

    #[test]
    fn backend_settings_are_required_with_clear_messages() {
        let vars = |p: &[(&str, &str)]| {
            p.iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect::<HashMap<_, _>>()
        };
        assert!(
            backend_settings(&vars(&[]), true)
                .expect_err("no table")
                .contains("TABLE_NAME")
        );
        assert!(
            backend_settings(&vars(&[("TABLE_NAME", "t")]), true)
                .expect_err("no keys")
                .contains("SIGNING_KEYS")
        );
        let (t, k) = backend_settings(
            &vars(&[("TABLE_NAME", "t"), ("SIGNING_KEYS", "alias/a, alias/b")]),
            true,
        )
        .expect("ok");
        assert_eq!(
            (t.as_str(), k),
            ("t", vec!["alias/a".to_string(), "alias/b".to_string()])
        );
    }
}
