//! Upstream providers in a seed file (`[[providers]]`). The client secret is never in the
//! file: `client_secret_env` names the environment variable holding it, and it is stored
//! sealed. Applying is idempotent: a provider whose settings and secret are unchanged is
//! not written again (its sealed secret is kept).
use std::collections::BTreeMap;

use serde::Deserialize;

use super::SeedError;
use crate::{
    federation::seal::Sealer,
    protocol::claims::is_user_claim,
    secret::ClientSecret,
    store::{DEFAULT_UPSTREAM_SCOPES, ProviderStore, SealedSecret, UpstreamAuth, UpstreamProvider},
};

fn yes() -> bool {
    true
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedProvider {
    /// `[a-z0-9-]{1,32}`: the `idp=` value.
    pub id: String,
    /// Exactly as the upstream's discovery document says.
    pub issuer: String,
    pub client_id: String,
    /// The environment variable holding the client secret.
    pub client_secret_env: Option<String>,
    /// Never accepted: named only to say where the secret goes instead.
    #[serde(default)]
    client_secret: Option<serde::de::IgnoredAny>,
    /// `client_secret_basic` (default), `client_secret_post`, or `private_key_jwt` (no
    /// secret: our client key, published at `<issuer>/federation/jwks`).
    pub auth_method: Option<UpstreamAuth>,
    /// Default: openid email profile.
    pub scopes: Option<Vec<String>>,
    /// "Continue with <display_name>" (default: the id).
    pub display_name: Option<String>,
    pub logo_uri: Option<String>,
    /// Our claim name = the upstream's claim name (default: the standard names unchanged).
    #[serde(default)]
    pub claim_map: BTreeMap<String, String>,
    /// Trusted to link to an existing account by a verified email (default false).
    #[serde(default)]
    pub link_verified_email: bool,
    /// Also read the upstream's userinfo (default false).
    #[serde(default)]
    pub userinfo: bool,
    #[serde(default = "yes")]
    pub enabled: bool,
}

/// The checks a provider passes before it is stored, from a seed file or the admin tool:
/// [`UpstreamProvider::validate`], and a claim map that only sets claims about a person.
pub fn check_provider(p: &UpstreamProvider) -> Result<(), SeedError> {
    p.validate()
        .map_err(|e| SeedError::Provider(e.id, e.problem))?;
    if let Some(bad) = p.claim_map.keys().find(|k| !is_user_claim(k)) {
        return Err(SeedError::Provider(
            p.id.clone(),
            format!("the claim map sets {bad:?}, which is not a standard claim about a person"),
        ));
    }
    Ok(())
}

impl SeedProvider {
    fn error(&self, problem: impl Into<String>) -> SeedError {
        SeedError::Provider(self.id.clone(), problem.into())
    }

    /// The client secret, from the environment variable `client_secret_env` names (`env`
    /// reads a variable). `None` for a method that sends none.
    pub fn client_secret(
        &self,
        env: &(dyn Fn(&str) -> Option<String> + Sync),
    ) -> Result<Option<ClientSecret>, SeedError> {
        if self.client_secret.is_some() {
            return Err(self.error(
                "client_secret is never written in a seed file: put it in an environment \
                 variable and name it with client_secret_env",
            ));
        }
        let method = self.auth_method.unwrap_or_default();
        match &self.client_secret_env {
            None if method.needs_secret() => Err(self.error(format!(
                "{} needs a client secret: name its environment variable with client_secret_env",
                method.as_str()
            ))),
            None => Ok(None),
            Some(name) => match env(name) {
                Some(v) if !v.trim().is_empty() => Ok(Some(ClientSecret::new(v.trim()))),
                _ => Err(self.error(format!(
                    "the environment variable {name} (client_secret_env) is not set"
                ))),
            },
        }
    }

    /// The provider this entry describes, with `sealed` as its secret, checked.
    pub fn to_provider(&self, sealed: Option<SealedSecret>) -> Result<UpstreamProvider, SeedError> {
        let p = UpstreamProvider {
            id: self.id.clone(),
            issuer: self.issuer.clone(),
            client_id: self.client_id.clone(),
            client_auth: self.auth_method.unwrap_or_default(),
            sealed_secret: sealed,
            scopes: self
                .scopes
                .clone()
                .unwrap_or_else(|| DEFAULT_UPSTREAM_SCOPES.map(String::from).to_vec()),
            display_name: self.display_name.clone().unwrap_or_else(|| self.id.clone()),
            logo_uri: self.logo_uri.clone(),
            claim_map: self.claim_map.clone(),
            link_verified_email: self.link_verified_email,
            userinfo: self.userinfo,
            enabled: self.enabled,
        };
        check_provider(&p)?;
        Ok(p)
    }
}

/// `secret` sealed for `id`: `existing`'s sealed secret when it still opens to the same
/// value (so re-applying a seed changes nothing), else sealed anew.
pub async fn seal_unless_unchanged(
    sealer: &dyn Sealer,
    id: &str,
    secret: &ClientSecret,
    existing: Option<&SealedSecret>,
) -> Result<SealedSecret, SeedError> {
    if let Some(old) = existing
        && let Ok(opened) = sealer.open(id, old).await
        && opened.expose() == secret.expose()
    {
        return Ok(old.clone());
    }
    sealer
        .seal(id, secret)
        .await
        .map_err(|e| SeedError::Provider(id.to_string(), format!("sealing the client secret: {e}")))
}

/// Creates or replaces the seed's providers (others are left alone); how many changed.
/// Every entry is checked, and its secret read, before anything is written.
pub async fn apply_providers<S: ProviderStore + ?Sized>(
    store: &S,
    sealer: &dyn Sealer,
    providers: &[SeedProvider],
    env: &(dyn Fn(&str) -> Option<String> + Sync),
) -> Result<usize, SeedError> {
    // A stand-in for the sealed secret: secrets are sealed only once every entry passed.
    let stand_in = SealedSecret {
        key: "unsealed".into(),
        ciphertext: "unsealed".into(),
    };
    let mut checked = Vec::new();
    for p in providers {
        let secret = p.client_secret(env)?;
        p.to_provider(Some(stand_in.clone()))?;
        checked.push((p, secret));
    }
    let mut changed = 0;
    for (p, secret) in checked {
        let existing = store.provider(&p.id).await?;
        let old = existing.as_ref().and_then(|e| e.sealed_secret.as_ref());
        let sealed = match &secret {
            Some(s) => Some(seal_unless_unchanged(sealer, &p.id, s, old).await?),
            None => None,
        };
        let provider = p.to_provider(sealed)?;
        if existing.as_ref() != Some(&provider) {
            store.put_provider(&provider).await?;
            changed += 1;
        }
    }
    Ok(changed)
}

#[cfg(all(test, feature = "embedded"))]
#[allow(clippy::expect_used)]
mod tests {
    use super::*;
    use crate::{federation::seal::LocalSealer, seed::Seed, store::embedded::EmbeddedStore};

    const SEED: &str = r#"
[[providers]]
id = "google"
issuer = "https://accounts.google.com"
client_id = "123.apps.googleusercontent.com"
client_secret_env = "GOOGLE_SECRET"
display_name = "Google"
logo_uri = "https://www.gstatic.com/g.svg"

[[providers]]
id = "entra"
issuer = "https://login.microsoftonline.com/{tenantid}/v2.0"
client_id = "app-id"
client_secret_env = "ENTRA_SECRET"
auth_method = "client_secret_post"
scopes = ["openid", "email"]
link_verified_email = true
userinfo = true
enabled = false
[providers.claim_map]
name = "displayName"
"#;

    fn env(name: &str) -> Option<String> {
        match name {
            "GOOGLE_SECRET" => Some("google-secret".into()),
            "ENTRA_SECRET" => Some("entra-secret".into()),
            _ => None,
        }
    }

    fn seed(text: &str) -> Seed {
        Seed::parse("seed.toml", text).expect("parses")
    }

    #[tokio::test]
    async fn providers_are_sealed_stored_and_reapplied_without_change() {
        let store = EmbeddedStore::in_memory().expect("store");
        let sealer = LocalSealer::ephemeral();
        let s = seed(SEED);
        let n = apply_providers(&store, &sealer, &s.providers, &env).await;
        assert_eq!(n.expect("apply"), 2);
        let google = store
            .provider("google")
            .await
            .expect("read")
            .expect("stored");
        assert_eq!(google.display_name, "Google");
        assert_eq!(
            google.scopes,
            DEFAULT_UPSTREAM_SCOPES.map(String::from).to_vec()
        );
        let sealed = google.sealed_secret.clone().expect("sealed");
        assert_eq!(
            sealer.open("google", &sealed).await.expect("open").expose(),
            "google-secret"
        );
        let entra = store
            .provider("entra")
            .await
            .expect("read")
            .expect("stored");
        assert_eq!(entra.client_auth, UpstreamAuth::ClientSecretPost);
        assert!(entra.link_verified_email && entra.userinfo && !entra.enabled);
        assert_eq!(entra.claim_map["name"], "displayName");
        assert_eq!(entra.display_name, "entra", "the id by default");

        // Again: nothing changes, not even the ciphertext.
        let again = apply_providers(&store, &sealer, &s.providers, &env).await;
        assert_eq!(again.expect("apply"), 0);
        assert_eq!(store.provider("google").await.expect("read"), Some(google));
        // A new secret is sealed anew.
        let rotated = |n: &str| match n {
            "GOOGLE_SECRET" => Some("rotated".to_string()),
            n => env(n),
        };
        let n = apply_providers(&store, &sealer, &s.providers, &rotated).await;
        assert_eq!(n.expect("apply"), 1);
        let stored = store
            .provider("google")
            .await
            .expect("read")
            .expect("stored");
        let sealed = stored.sealed_secret.expect("sealed");
        assert_eq!(
            sealer.open("google", &sealed).await.expect("open").expose(),
            "rotated"
        );
    }

    #[tokio::test]
    async fn a_bad_entry_writes_nothing_and_secrets_never_sit_in_the_file() {
        let store = EmbeddedStore::in_memory().expect("store");
        let sealer = LocalSealer::ephemeral();
        let cases = [
            (
                "client_secret = \"literal\"",
                "never written in a seed file",
            ),
            ("client_secret_env = \"NOT_SET\"", "NOT_SET"),
            ("scopes = [\"email\"]", "openid"),
            ("issuer = \"http://idp.example\"", "https"),
            ("claim_map = { sub = \"oid\" }", "sub"),
            ("claim_map = { favourite = \"colour\" }", "favourite"),
            ("id = \"Bad Id\"", "id"),
        ];
        for (line, needle) in cases {
            let mut fields = vec![
                ("id", "id = \"okta\""),
                ("issuer", "issuer = \"https://okta.example\""),
                ("client_id", "client_id = \"c\""),
                ("client_secret_env", "client_secret_env = \"GOOGLE_SECRET\""),
            ];
            let key = line.split(' ').next().unwrap_or_default();
            fields.retain(|(k, _)| *k != key);
            let text = format!(
                "{SEED}\n[[providers]]\n{}\n{line}\n",
                fields
                    .iter()
                    .map(|(_, f)| *f)
                    .collect::<Vec<_>>()
                    .join("\n")
            );
            let s = seed(&text);
            let err = apply_providers(&store, &sealer, &s.providers, &env)
                .await
                .expect_err(line)
                .to_string();
            assert!(err.contains(needle), "{line}: {err}");
            assert_eq!(
                store.list_providers().await.expect("list"),
                vec![],
                "{line}: nothing written"
            );
        }
        let unknown = Seed::parse(
            "s.toml",
            "[[providers]]\nid = \"x\"\nissuer = \"https://x.example\"\nclient_id = \"c\"\nsecret = \"s\"\n",
        );
        assert!(unknown.is_err(), "unknown fields are refused");
    }
}
