//! The one place that assembles the provider: settings read once (the environment on
//! Lambda, flags with the same names locally), then the store, the key set and, only for
//! the role that signs, the signer.
//!
//! A Lambda function declares its [`Role`] in its `main.rs`; the role is a type, so a
//! function that only verifies never instantiates the KMS code (even when a workspace build
//! turns the `kms` feature on for every crate).
use std::{collections::HashMap, sync::Arc};

#[cfg(feature = "embedded")]
use std::path::PathBuf;

use crate::{
    config::{Config, ConfigError},
    signer::Signer,
    store::{Store, StoreResult},
};
#[cfg(feature = "embedded")]
use crate::{jose::Alg, store::StoreError};

#[cfg(feature = "aws")]
use crate::signer::Verifier;

/// Where the provider keeps its state and keys.
#[derive(Debug, Clone)]
pub enum Backend {
    /// redb in `data_dir` (or in memory when `data_dir` is None) and a local signing key.
    #[cfg(feature = "embedded")]
    Embedded { data_dir: Option<PathBuf>, alg: Alg },
    /// DynamoDB table (`TABLE_NAME`) + signing keys (`SIGNING_KEYS`: KMS key ids or aliases,
    /// or `envelope:<id>` keys; the first signs), wherever the standard AWS environment
    /// points: a real account or the local emulator.
    #[cfg(feature = "aws")]
    Aws {
        table: String,
        signing_keys: Vec<String>,
    },
}

/// Everything a process reads about itself, read once.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The configuration variables (`ISSUER`, TTLs, branding, ...: see
    /// [`Config::from_vars`]). Without `ISSUER`, a Lambda function takes its issuer from its
    /// first request.
    pub vars: HashMap<String, String>,
    pub backend: Backend,
}

impl Settings {
    /// A Lambda function's settings, from its environment: `TABLE_NAME` (required) and
    /// `SIGNING_KEYS` (comma-separated, the active key first; required by the roles that
    /// reach KMS, see [`Settings::signing_keys`]) on top of the configuration variables.
    #[cfg(feature = "aws")]
    pub fn from_vars(vars: HashMap<String, String>) -> Result<Settings, String> {
        let table = vars
            .get("TABLE_NAME")
            .filter(|t| !t.trim().is_empty())
            .ok_or("TABLE_NAME is not set: the DynamoDB table holding the provider's state")?
            .trim()
            .to_string();
        let signing_keys: Vec<String> = vars
            .get("SIGNING_KEYS")
            .map(|k| {
                k.split(',')
                    .map(|s| s.trim().to_string())
                    .filter(|s| !s.is_empty())
                    .collect()
            })
            .unwrap_or_default();
        Ok(Settings {
            vars,
            backend: Backend::Aws {
                table,
                signing_keys,
            },
        })
    }

    /// The DynamoDB table, on the AWS backend.
    #[cfg(feature = "aws")]
    pub fn table(&self) -> Option<&str> {
        match &self.backend {
            Backend::Aws { table, .. } => Some(table),
            #[cfg(feature = "embedded")]
            Backend::Embedded { .. } => None,
        }
    }

    /// `ISSUER`, when it is set.
    pub fn issuer(&self) -> Option<&str> {
        self.vars
            .get("ISSUER")
            .map(|i| i.trim())
            .filter(|i| !i.is_empty())
    }

    /// The configuration, with `issuer` when `ISSUER` is not set.
    pub fn config(&self, issuer: Option<&str>) -> Result<Config, ConfigError> {
        match (self.issuer(), issuer) {
            (None, Some(i)) => Config::for_issuer(i, &self.vars),
            _ => Config::from_vars(&self.vars),
        }
    }

    /// The signing keys, for a role that reaches them.
    #[cfg(feature = "aws")]
    pub fn signing_keys(&self) -> Result<&[String], String> {
        match &self.backend {
            Backend::Aws { signing_keys, .. } if !signing_keys.is_empty() => Ok(signing_keys),
            Backend::Aws { .. } => Err("SIGNING_KEYS is not set: comma-separated KMS key ids or aliases (or envelope:<id>), the active signing key first".into()),
            #[cfg(feature = "embedded")]
            Backend::Embedded { .. } => Err("the embedded backend has no SIGNING_KEYS".into()),
        }
    }

    /// The configuration a published key set comes from ([`PublishedKeys::source`]):
    /// `SIGNING_KEYS`, and `SIGNING_KEY_IDS` when set. template.yaml sets the latter to the KMS
    /// key ids behind the aliases: a slot that comes back with fresh key material under its old
    /// alias (infra/DEPLOY.md, "Rotating the signing key") changes the ids, not the aliases.
    /// Envelope key ids are never reused.
    ///
    /// [`PublishedKeys::source`]: crate::store::PublishedKeys::source
    #[cfg(feature = "aws")]
    pub fn key_set_source(&self) -> Result<String, String> {
        let keys = self.signing_keys()?.join(",");
        Ok(match self.vars.get("SIGNING_KEY_IDS").map(|i| i.trim()) {
            Some(ids) if !ids.is_empty() => format!("{keys}|{ids}"),
            _ => keys,
        })
    }
}

/// The store of `backend`: the redb file in the data directory (or memory), or the
/// DynamoDB table.
pub async fn store(backend: &Backend) -> StoreResult<Arc<dyn Store>> {
    match backend {
        #[cfg(feature = "embedded")]
        Backend::Embedded { data_dir, .. } => Ok(embedded_store(data_dir.as_deref())?),
        #[cfg(feature = "aws")]
        Backend::Aws { table, .. } => Ok(Arc::new(dynamo_store(
            &crate::aws::aws_config().await,
            table,
        ))),
    }
}

#[cfg(feature = "embedded")]
fn embedded_store(
    dir: Option<&std::path::Path>,
) -> StoreResult<Arc<crate::store::embedded::EmbeddedStore>> {
    use crate::store::embedded::EmbeddedStore;
    let Some(dir) = dir else {
        return Ok(Arc::new(EmbeddedStore::in_memory()?));
    };
    std::fs::create_dir_all(dir)
        .map_err(|e| StoreError::Unavailable(format!("cannot create {}: {e}", dir.display())))?;
    // redb lets one process open the file: a running local server holds it.
    Ok(Arc::new(EmbeddedStore::open(&dir.join("store.redb"))?))
}

/// The DynamoDB store of `table`.
#[cfg(feature = "aws")]
pub fn dynamo_store(sdk: &aws_config::SdkConfig, table: &str) -> crate::store::dynamo::DynamoStore {
    crate::store::dynamo::DynamoStore::new(crate::aws::dynamodb_client(sdk), table.to_string())
}

/// The signer of `backend`, over `store` (where envelope keys live): `keys.json` (managed by
/// `oidc-admin keys`) or `signing-<alg>.pk8` in the data directory, a fresh key in memory,
/// or the `SIGNING_KEYS`. Nothing remote is called until first use.
pub async fn signer(
    backend: &Backend,
    #[cfg_attr(not(feature = "kms"), allow(unused_variables))] store: Arc<dyn Store>,
) -> Result<Arc<dyn Signer>, String> {
    match backend {
        #[cfg(feature = "embedded")]
        Backend::Embedded {
            data_dir: Some(dir),
            alg,
        } => crate::signer::manifest::load_signer(dir, *alg).map_err(|e| e.to_string()),
        #[cfg(feature = "embedded")]
        Backend::Embedded {
            data_dir: None,
            alg,
        } => Ok(Arc::new(
            crate::signer::local::LocalSigner::generate(*alg).map_err(|e| e.to_string())?,
        )),
        #[cfg(feature = "kms")]
        Backend::Aws { signing_keys, .. } => {
            let sdk = crate::aws::aws_config().await;
            crate::signer::aws_signer(crate::aws::kms_client(&sdk), store, signing_keys)
                .map(|s| s.signer)
                .map_err(|e| format!("SIGNING_KEYS: {e}"))
        }
        #[cfg(all(feature = "aws", not(feature = "kms")))]
        Backend::Aws { .. } => {
            Err("built without the kms feature: this process cannot sign".into())
        }
    }
}

/// The variable naming the KMS key that seals upstream client secrets (the stack's
/// `FederationSecretsKey`).
pub const FEDERATION_SECRETS_KEY: &str = "FEDERATION_SECRETS_KEY";

/// What seals and opens upstream client secrets on `backend`: the data directory's
/// `federation.key` (made on first use; a key in memory without a data directory, which
/// only this very sealer opens), or KMS, sealing under `FEDERATION_SECRETS_KEY` from `vars`
/// (opening needs only a grant on the key each secret names).
pub async fn sealer(
    backend: &Backend,
    #[cfg_attr(not(feature = "kms"), allow(unused_variables))] vars: &HashMap<String, String>,
) -> Result<Arc<dyn crate::federation::seal::Sealer>, String> {
    match backend {
        #[cfg(feature = "embedded")]
        Backend::Embedded { data_dir, .. } => Ok(Arc::new(
            crate::federation::seal::LocalSealer::for_data_dir(data_dir.as_deref())
                .map_err(|e| e.to_string())?,
        )),
        #[cfg(feature = "kms")]
        Backend::Aws { .. } => Ok(kms_sealer(&crate::aws::aws_config().await, vars)),
        #[cfg(all(feature = "aws", not(feature = "kms")))]
        Backend::Aws { .. } => Err(
            "built without the kms feature: this process cannot seal or open client secrets".into(),
        ),
    }
}

/// The KMS sealer of [`sealer`], over `sdk`.
#[cfg(feature = "kms")]
fn kms_sealer(
    sdk: &aws_config::SdkConfig,
    vars: &HashMap<String, String>,
) -> Arc<dyn crate::federation::seal::Sealer> {
    let key = vars
        .get(FEDERATION_SECRETS_KEY)
        .cloned()
        .unwrap_or_default();
    Arc::new(crate::federation::seal::KmsSealer::new(
        crate::aws::kms_client(sdk),
        key.trim(),
    ))
}

/// The variable naming the KMS key (id, ARN or alias) the federation function signs its
/// `private_key_jwt` client assertions with (the stack's `FederationClientKey`).
pub const FEDERATION_CLIENT_KEY: &str = "FEDERATION_CLIENT_KEY";

/// Our client key for `private_key_jwt` at upstreams (`federation::client_key`): the data
/// directory's key file (made on first use; in memory without a data directory), or the KMS
/// key of `FEDERATION_CLIENT_KEY`, none when it is not set. Never a token signing key.
#[cfg(feature = "federation")]
pub async fn client_key(
    backend: &Backend,
    #[cfg_attr(not(feature = "kms"), allow(unused_variables))] vars: &HashMap<String, String>,
) -> Result<Option<Arc<dyn Signer>>, String> {
    match backend {
        #[cfg(feature = "embedded")]
        Backend::Embedded { data_dir, .. } => Ok(Some(Arc::new(
            crate::federation::client_key::LocalClientKey::for_data_dir(data_dir.as_deref()),
        ))),
        #[cfg(feature = "kms")]
        Backend::Aws { .. } => match client_key_name(vars) {
            Some(key) => Ok(Some(kms_client_key(&crate::aws::aws_config().await, key))),
            None => Ok(None),
        },
        #[cfg(all(feature = "aws", not(feature = "kms")))]
        Backend::Aws { .. } => Err("built without the kms feature: no client key".into()),
    }
}

#[cfg(all(feature = "kms", feature = "federation"))]
fn client_key_name(vars: &HashMap<String, String>) -> Option<&str> {
    vars.get(FEDERATION_CLIENT_KEY)
        .map(|k| k.trim())
        .filter(|k| !k.is_empty())
}

/// The KMS client key of [`client_key`], the KMS key `key`, over `sdk`.
#[cfg(all(feature = "kms", feature = "federation"))]
fn kms_client_key(sdk: &aws_config::SdkConfig, key: &str) -> Arc<dyn Signer> {
    Arc::new(crate::signer::kms::KmsSigner::new(
        crate::aws::kms_client(sdk),
        vec![key.to_string()],
    ))
}

/// What a Lambda function does with the provider's keys, declared in its `main.rs`. The
/// role decides which keys it builds, and the type of the key set its handler receives.
#[cfg(feature = "aws")]
pub trait Role: Send + Sync + 'static {
    /// [`Verifier`] for every role but [`SignsTokens`].
    type Keys: ?Sized + Verifier + 'static;

    /// This role's keys over the DynamoDB store, built in the init phase with the
    /// container's SDK configuration.
    fn keys(
        settings: &Settings,
        sdk: &aws_config::SdkConfig,
        store: Arc<crate::store::dynamo::DynamoStore>,
    ) -> impl std::future::Future<Output = Result<Arc<Self::Keys>, String>> + Send;

    /// What opens sealed secrets on this role's requests, if it may: built in the init
    /// phase, calling nothing remote.
    fn sealer(
        _: &Settings,
        _: &aws_config::SdkConfig,
    ) -> Option<Arc<dyn crate::federation::seal::Sealer>> {
        None
    }
}

/// Verifies tokens with the key set the signing function published to the store
/// (`signer::published`): no KMS client at all.
#[cfg(feature = "aws")]
pub struct Verifies;

#[cfg(feature = "aws")]
impl Role for Verifies {
    type Keys = dyn Verifier;

    async fn keys(
        _: &Settings,
        _: &aws_config::SdkConfig,
        store: Arc<crate::store::dynamo::DynamoStore>,
    ) -> Result<Arc<dyn Verifier>, String> {
        Ok(Arc::new(crate::signer::published::StoreKeys::new(store)))
    }
}

/// Signs people in (the `login` function): verifies with the published key set like
/// [`Verifies`], and opens people's TOTP secrets with KMS (its role may decrypt only under
/// their purpose, `federation::seal::TOTP_PURPOSE`).
#[cfg(feature = "kms")]
pub struct SignsIn;

#[cfg(feature = "kms")]
impl Role for SignsIn {
    type Keys = dyn Verifier;

    async fn keys(
        settings: &Settings,
        sdk: &aws_config::SdkConfig,
        store: Arc<crate::store::dynamo::DynamoStore>,
    ) -> Result<Arc<dyn Verifier>, String> {
        Verifies::keys(settings, sdk, store).await
    }

    fn sealer(
        settings: &Settings,
        sdk: &aws_config::SdkConfig,
    ) -> Option<Arc<dyn crate::federation::seal::Sealer>> {
        Some(kms_sealer(sdk, &settings.vars))
    }
}

/// Signs people in at upstream OpenID providers (the `federation` function): verifies with
/// the published key set like [`Verifies`], opens upstream client secrets with KMS (only
/// this role's function may decrypt them, by encryption context), signs `private_key_jwt`
/// client assertions with its own KMS key (never a token signing key), and calls upstreams.
#[cfg(all(feature = "kms", feature = "federation"))]
pub struct Federates;

#[cfg(all(feature = "kms", feature = "federation"))]
impl Role for Federates {
    type Keys = crate::federation::broker::Federating;

    async fn keys(
        settings: &Settings,
        sdk: &aws_config::SdkConfig,
        store: Arc<crate::store::dynamo::DynamoStore>,
    ) -> Result<Arc<Self::Keys>, String> {
        let verifier: Arc<dyn Verifier> = Arc::new(crate::signer::published::StoreKeys::new(store));
        let sealer = kms_sealer(sdk, &settings.vars);
        let client_key = client_key_name(&settings.vars).map(|key| kms_client_key(sdk, key));
        let federating = crate::federation::broker::Federating::new(verifier, sealer, client_key)
            .map_err(|e| format!("configuration: {e}"))?;
        Ok(Arc::new(federating))
    }
}

/// Serves the keys of `SIGNING_KEYS` (the JWKS): the published set when this configuration
/// published it, else the keys' own, published first (`signer::published::OwnKeySet`);
/// never signs. Nothing remote is called in the init phase.
#[cfg(feature = "kms")]
pub struct PublishesKeys;

#[cfg(feature = "kms")]
impl Role for PublishesKeys {
    type Keys = dyn Verifier;

    async fn keys(
        settings: &Settings,
        sdk: &aws_config::SdkConfig,
        store: Arc<crate::store::dynamo::DynamoStore>,
    ) -> Result<Arc<dyn Verifier>, String> {
        let (publishing, _) = publishing(settings, sdk, store).await?;
        Ok(Arc::new(crate::signer::published::OwnKeySet::new(
            publishing,
        )))
    }
}

/// Signs tokens with the keys of `SIGNING_KEYS`, publishing their key set first: started in
/// the init phase without waiting for it, awaited (and retried if it failed) by the first
/// signature. An envelope signing key is decrypted in the init phase.
#[cfg(feature = "kms")]
pub struct SignsTokens;

#[cfg(feature = "kms")]
impl Role for SignsTokens {
    type Keys = dyn Signer;

    async fn keys(
        settings: &Settings,
        sdk: &aws_config::SdkConfig,
        store: Arc<crate::store::dynamo::DynamoStore>,
    ) -> Result<Arc<dyn Signer>, String> {
        let (publishing, envelope) = publishing(settings, sdk, store).await?;
        publishing.start_publishing();
        if let Some(envelope) = envelope
            && let Err(e) = envelope.unwrap_key().await
        {
            tracing::warn!(error = %e, "decrypting the envelope signing key failed; retrying on first use");
        }
        Ok(publishing)
    }
}

/// The signer of `SIGNING_KEYS`, which publishes its key set to the table (named by
/// [`Settings::key_set_source`]) before its first signature, and its active envelope key. No
/// remote call.
#[cfg(feature = "kms")]
async fn publishing(
    settings: &Settings,
    sdk: &aws_config::SdkConfig,
    store: Arc<crate::store::dynamo::DynamoStore>,
) -> Result<
    (
        Arc<crate::signer::published::Publishing>,
        Option<Arc<crate::signer::envelope::EnvelopeSigner>>,
    ),
    String,
> {
    let keys = settings
        .signing_keys()
        .map_err(|e| format!("configuration: {e}"))?;
    let source = settings
        .key_set_source()
        .map_err(|e| format!("configuration: {e}"))?;
    let keys = crate::signer::aws_signer(crate::aws::kms_client(sdk), store.clone(), keys)
        .map_err(|e| format!("configuration: SIGNING_KEYS: {e}"))?;
    let signer = crate::signer::published::Publishing::new(
        keys.signer,
        store,
        Arc::new(crate::clock::SystemClock),
    )
    .with_source(source);
    Ok((Arc::new(signer), keys.active_envelope))
}

#[cfg(all(test, feature = "aws"))]
mod tests {
    use super::*;

    fn vars(p: &[(&str, &str)]) -> HashMap<String, String> {
        p.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn backend_settings_are_required_with_clear_messages() {
        assert!(
            Settings::from_vars(vars(&[]))
                .expect_err("no table")
                .contains("TABLE_NAME")
        );
        let no_keys = Settings::from_vars(vars(&[("TABLE_NAME", "t")])).expect("table");
        assert!(
            no_keys
                .signing_keys()
                .expect_err("no keys")
                .contains("SIGNING_KEYS")
        );
        let s = Settings::from_vars(vars(&[
            ("TABLE_NAME", "t"),
            ("SIGNING_KEYS", "alias/a, alias/b"),
        ]))
        .expect("ok");
        assert!(matches!(&s.backend, Backend::Aws { table, .. } if table == "t"));
        assert_eq!(
            s.signing_keys().expect("keys"),
            ["alias/a".to_string(), "alias/b".to_string()]
        );
    }

    #[test]
    fn a_key_set_source_names_the_aliases_and_the_key_material_behind_them() {
        let keys = [("TABLE_NAME", "t"), ("SIGNING_KEYS", " alias/b , alias/a ")];
        let s = Settings::from_vars(vars(&keys)).expect("ok");
        assert_eq!(s.key_set_source().expect("source"), "alias/b,alias/a");
        // The same aliases over fresh key material (a slot back after a rotation) are
        // another configuration.
        let ids = |ids| {
            let mut v = keys.to_vec();
            v.push(("SIGNING_KEY_IDS", ids));
            Settings::from_vars(vars(&v))
                .expect("ok")
                .key_set_source()
                .expect("source")
        };
        assert_eq!(ids("id-1,id-2"), "alias/b,alias/a|id-1,id-2");
        assert_ne!(ids("id-1,id-2"), ids("id-3,id-2"));
        assert_eq!(ids(" "), "alias/b,alias/a");
        let none = Settings::from_vars(vars(&[("TABLE_NAME", "t")])).expect("ok");
        assert!(none.key_set_source().is_err());
    }

    #[test]
    fn the_issuer_comes_from_the_settings_or_the_first_request() {
        let s = Settings::from_vars(vars(&[("TABLE_NAME", "t")])).expect("ok");
        assert_eq!(s.issuer(), None);
        assert!(s.config(None).is_err(), "no issuer at all");
        let c = s.config(Some("https://abc.example")).expect("from request");
        assert_eq!(c.issuer, "https://abc.example");
        assert_eq!(c.access_token_audience, "https://abc.example");
        let fixed = Settings::from_vars(vars(&[
            ("TABLE_NAME", "t"),
            ("ISSUER", "https://id.example"),
        ]))
        .expect("ok");
        let c = fixed.config(Some("https://abc.example")).expect("fixed");
        assert_eq!(c.issuer, "https://id.example");
    }
}
