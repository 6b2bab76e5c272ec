//! The whole provider in one process: every endpoint handler mounted behind the same paths
//! as the deployed HTTP API (`shared::endpoints::routes`), plus a demo relying party at
//! `/demo/callback` so a newcomer sees what an app receives.
mod demo;
mod serve;

pub use serve::Timeouts;

use std::{net::SocketAddr, sync::Arc};

pub use shared::assembly::Backend;
use shared::{
    App, Config,
    app::SigningApp,
    assembly,
    clock::Clock,
    federation::broker::Federating,
    seed::{self, Seed},
    signer::{
        Alg, Signer, Verifier, VerifyOnly,
        published::{Publishing, StoreKeys},
    },
    store::Store,
};
use tokio::{net::TcpListener, task::JoinHandle};

pub use demo::{
    DEMO_CLIENT_ID, DEMO_PASSWORD, DEMO_USERNAME, authorization_url as demo_authorization_url,
    redirect_uri as demo_redirect_uri,
};

#[derive(Debug, Clone)]
pub struct Options {
    /// 0 picks a free port.
    pub port: u16,
    /// Defaults to `http://127.0.0.1:<port>`.
    pub issuer: Option<String>,
    pub backend: Backend,
    pub seed: Option<Seed>,
    /// Create the demo client and user.
    pub demo: bool,
    /// Extra configuration (TTLs, branding) from environment-style variables.
    pub config_vars: Vec<(String, String)>,
    /// Distribute the keys as the Lambda functions do: only the token and JWKS endpoints
    /// hold the signer, which publishes the key set to the store; every other endpoint
    /// verifies with the published set (`shared::signer::published`).
    pub lambda_keys: bool,
    /// How long clients may take to send headers and bodies.
    pub timeouts: Timeouts,
}

pub struct Running {
    pub addr: SocketAddr,
    /// The side that holds the signer: the token and JWKS endpoints (and the demo).
    pub app: Arc<SigningApp>,
    /// The side every other endpoint runs on: with `lambda_keys`, verifying with the key set
    /// published to the store; else with the signer's own public keys.
    pub verifying: Arc<App>,
    /// The side of the federation endpoints (sign-in at upstream providers).
    pub federating: Arc<serve::Federating>,
    task: JoinHandle<()>,
}

impl Running {
    pub fn issuer(&self) -> &str {
        &self.app.config.issuer
    }

    /// Serves until the process ends.
    pub async fn wait(self) {
        let _ = (&mut { self }.task).await;
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Creates the DynamoDB table, every `alias/...` signing key and every `envelope:<id>` key
/// (wrapped under `alias/oidc-envelope-wrapping`, created too) that does not exist yet, with
/// the same provisioning code the tests use.
pub async fn provision(table: &str, signing_keys: &[String], alg: Alg) -> Result<(), String> {
    use shared::signer::{KeyEntry, envelope};
    use shared::store::KeyStore;
    let sdk = shared::aws::aws_config().await;
    let dynamo = shared::aws::dynamodb_client(&sdk);
    shared::store::dynamo::provision::create_table(&dynamo, table)
        .await
        .map_err(|e| format!("table {table}: {e}"))?;
    let kms = shared::aws::kms_client(&sdk);
    let store = shared::store::dynamo::DynamoStore::new(dynamo, table);
    for entry in signing_keys {
        match KeyEntry::parse(entry).map_err(|e| e.to_string())? {
            KeyEntry::Kms(alias) if alias.starts_with("alias/") => {
                shared::signer::kms::create_signing_key(&kms, &alias, alg)
                    .await
                    .map_err(|e| format!("key {alias}: {e}"))?;
            }
            KeyEntry::Kms(_) => {}
            KeyEntry::Envelope(id) => {
                let exists = store
                    .wrapped_key(&id)
                    .await
                    .map_err(|e| format!("key {entry}: {e}"))?
                    .is_some();
                if !exists {
                    let wrapping =
                        envelope::create_wrapping_key(&kms, envelope::DEFAULT_WRAPPING_ALIAS)
                            .await
                            .map_err(|e| format!("wrapping key: {e}"))?;
                    envelope::create_wrapped_key(&kms, &store, &wrapping, alg, &id)
                        .await
                        .map_err(|e| format!("key {entry}: {e}"))?;
                }
            }
        }
    }
    Ok(())
}

/// Binds, seeds and starts serving; returns once the provider accepts connections.
pub async fn start(opts: Options, clock: Arc<dyn Clock>) -> Result<Running, String> {
    start_wrapped(opts, clock, |s| s, |k| k).await
}

/// [`start`], with the backends passed through wrappers first (fault injection in tests).
pub async fn start_wrapped(
    opts: Options,
    clock: Arc<dyn Clock>,
    wrap_store: impl FnOnce(Arc<dyn Store>) -> Arc<dyn Store>,
    wrap_signer: impl FnOnce(Arc<dyn Signer>) -> Arc<dyn Signer>,
) -> Result<Running, String> {
    let listener = TcpListener::bind(("127.0.0.1", opts.port))
        .await
        .map_err(|e| format!("cannot listen on 127.0.0.1:{}: {e}", opts.port))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    // The issuer (`--issuer`, or an ISSUER among the variables) may name the port as
    // `{port}` (it is known only now): `http://localhost:{port}` serves passkeys, which
    // browsers refuse on an IP address.
    let configured = opts
        .config_vars
        .iter()
        .find(|(k, _)| k == "ISSUER")
        .map(|(_, v)| v);
    let issuer = opts
        .issuer
        .as_ref()
        .or(configured)
        .map(|i| i.replace("{port}", &addr.port().to_string()))
        .unwrap_or_else(|| format!("http://127.0.0.1:{}", addr.port()));
    let mut vars: std::collections::HashMap<String, String> =
        opts.config_vars.iter().cloned().collect();
    vars.insert("ISSUER".into(), issuer);
    // The seed file's registration policy, where the environment does not set it.
    let policy = opts.seed.as_ref().and_then(|s| s.registration.as_ref());
    for (k, v) in policy.map(|r| r.config_vars()).unwrap_or_default() {
        vars.entry(k).or_insert(v);
    }
    let config = Config::from_vars(&vars).map_err(|e| e.to_string())?;
    let store = assembly::store(&opts.backend).await;
    let store = wrap_store(store.map_err(|e| e.to_string())?);
    let signer = wrap_signer(assembly::signer(&opts.backend, store.clone()).await?);
    // Fail at start-up, not at the first request, when the keys are unusable.
    signer.public_keys().await.map_err(|e| e.to_string())?;
    let (signer, verifier): (Arc<dyn Signer>, Arc<dyn Verifier>) = if opts.lambda_keys {
        let publishing = Arc::new(Publishing::new(signer, store.clone(), clock.clone()));
        publishing.publish().await.map_err(|e| e.to_string())?;
        (publishing, Arc::new(StoreKeys::new(store.clone())))
    } else {
        (signer.clone(), Arc::new(VerifyOnly(signer)))
    };
    let app: Arc<SigningApp> = Arc::new(App::new(config, store, signer, clock));
    // One sealer for the seed, the federation endpoints and TOTP secrets at sign-in: without
    // a data directory its key lives in this process only.
    let sealer = assembly::sealer(&opts.backend, &vars).await?;
    let verifying = Arc::new(app.with_keys(verifier.clone()).with_sealer(sealer.clone()));
    let client_key = assembly::client_key(&opts.backend, &vars).await?;
    let federating = Arc::new(app.with_keys(Arc::new(
        Federating::new(verifier, sealer.clone(), client_key).map_err(|e| e.to_string())?,
    )));
    if let Some(s) = &opts.seed {
        seed::apply(app.store.as_ref(), s, app.clock.now_ms())
            .await
            .map_err(|e| e.to_string())?;
        if !s.providers.is_empty() {
            // Client secrets come from the environment (config_vars), named by the seed.
            let env = |name: &str| vars.get(name).cloned();
            seed::apply_providers(app.store.as_ref(), sealer.as_ref(), &s.providers, &env)
                .await
                .map_err(|e| e.to_string())?;
        }
    }
    if opts.demo {
        demo::ensure(&app).await?;
    }
    let task = tokio::spawn(serve::serve(
        listener,
        app.clone(),
        verifying.clone(),
        federating.clone(),
        opts.timeouts,
    ));
    Ok(Running {
        addr,
        app,
        verifying,
        federating,
        task,
    })
}
