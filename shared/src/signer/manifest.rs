//! The key manifest of a local data directory (`keys.json`): which key files the local server
//! signs with and publishes, so keys rotate locally exactly as `SIGNING_KEYS` rotates them on
//! AWS. `oidc-admin keys` manages it; without it the server uses its one
//! `signing-<alg>.pk8` file.
//!
//! ```json
//! {"keys": [
//!   {"file": "signing-rs256.pk8", "alg": "RS256", "state": "active"},
//!   {"file": "signing-es256-3kq1Xb0Z.pk8", "alg": "ES256", "state": "next"}
//! ]}
//! ```
//!
//! Exactly one key is `active` (it signs); a `next` key (at most one) is published ahead of
//! its promotion, `previous` keys stay published so tokens they signed keep verifying.
use std::{
    path::{Path, PathBuf},
    sync::Arc,
};

use serde::{Deserialize, Serialize};

use super::{Alg, KeyRing, Signer, SignerError, local::LocalSigner};

pub const MANIFEST_FILE: &str = "keys.json";

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KeyState {
    /// Signs, and is published first.
    Active,
    /// Published, signs once promoted.
    Next,
    /// Published only, until retired.
    Previous,
}

impl KeyState {
    pub fn as_str(self) -> &'static str {
        match self {
            KeyState::Active => "active",
            KeyState::Next => "next",
            KeyState::Previous => "previous",
        }
    }
}

/// One key of `keys.json`: a key file and its place in the rotation. (Not a SIGNING_KEYS
/// entry, which is `signer::KeyEntry`.)
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyFile {
    /// A PKCS#8 file in the data directory (a plain file name).
    pub file: String,
    pub alg: Alg,
    pub state: KeyState,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyManifest {
    pub keys: Vec<KeyFile>,
}

fn misconfigured(m: String) -> SignerError {
    SignerError::Misconfigured(m)
}

/// The file the server uses without a manifest (`LocalSigner::load_or_create`).
pub fn legacy_file(alg: Alg) -> String {
    format!("signing-{}.pk8", alg.as_str().to_lowercase())
}

impl KeyManifest {
    pub fn path(dir: &Path) -> PathBuf {
        dir.join(MANIFEST_FILE)
    }

    /// The manifest of `dir`, `None` if it has none.
    pub fn load(dir: &Path) -> Result<Option<Self>, SignerError> {
        let path = Self::path(dir);
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(misconfigured(format!("{}: {e}", path.display()))),
        };
        let manifest: Self = serde_json::from_str(&text)
            .map_err(|e| misconfigured(format!("{}: {e}", path.display())))?;
        manifest
            .validate()
            .map_err(|e| misconfigured(format!("{}: {e}", path.display())))?;
        Ok(Some(manifest))
    }

    /// Writes the manifest (to a temporary file, then renamed over the old one).
    pub fn save(&self, dir: &Path) -> Result<(), SignerError> {
        self.validate().map_err(misconfigured)?;
        let path = Self::path(dir);
        let tmp = dir.join(format!("{MANIFEST_FILE}.tmp"));
        let text = serde_json::to_string_pretty(self)
            .map_err(|e| misconfigured(format!("{}: {e}", path.display())))?;
        std::fs::write(&tmp, text + "\n")
            .and_then(|()| std::fs::rename(&tmp, &path))
            .map_err(|e| misconfigured(format!("{}: {e}", path.display())))
    }

    /// One active key, at most one next key, plain distinct file names.
    pub fn validate(&self) -> Result<(), String> {
        let count = |s: KeyState| self.keys.iter().filter(|k| k.state == s).count();
        if count(KeyState::Active) != 1 {
            return Err("exactly one key must be active".into());
        }
        if count(KeyState::Next) > 1 {
            return Err("at most one key can be next".into());
        }
        for (i, k) in self.keys.iter().enumerate() {
            let plain = !k.file.is_empty()
                && k.file != "."
                && k.file != ".."
                && !k.file.contains(['/', '\\']);
            if !plain {
                return Err(format!("{:?} is not a plain file name", k.file));
            }
            if self.keys[..i].iter().any(|o| o.file == k.file) {
                return Err(format!("{} is listed twice", k.file));
            }
        }
        Ok(())
    }

    /// The keys as published: active first, then next, then previous (in manifest order).
    pub fn published(&self) -> Vec<&KeyFile> {
        let mut keys: Vec<&KeyFile> = self.keys.iter().collect();
        keys.sort_by_key(|k| k.state);
        keys
    }

    /// Loads every key file, in published order.
    pub fn signers(&self, dir: &Path) -> Result<Vec<(KeyFile, LocalSigner)>, SignerError> {
        self.published()
            .into_iter()
            .map(|k| Ok((k.clone(), LocalSigner::load(&dir.join(&k.file), k.alg)?)))
            .collect()
    }

    /// A key ring over the keys: the active one signs, all are published.
    pub fn key_ring(&self, dir: &Path) -> Result<KeyRing, SignerError> {
        let signers = self
            .signers(dir)?
            .into_iter()
            .map(|(_, s)| Arc::new(s) as Arc<dyn Signer>)
            .collect();
        Ok(KeyRing::new(signers))
    }
}

/// The local server's signer for `dir`: the manifest's key ring when `keys.json` exists
/// (`alg` is then ignored), otherwise the single `signing-<alg>.pk8`, created on first use.
pub fn load_signer(dir: &Path, alg: Alg) -> Result<Arc<dyn Signer>, SignerError> {
    match KeyManifest::load(dir)? {
        Some(m) => Ok(Arc::new(m.key_ring(dir)?)),
        None => Ok(Arc::new(LocalSigner::load_or_create(dir, alg)?)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn manifest_ring_publishes_all_active_first() {
        let dir =
            std::env::temp_dir().join(format!("oidc-manifest-{}", crate::crypto::random_token(6)));
        std::fs::create_dir_all(&dir).expect("dir");
        // Without a manifest: the single legacy file.
        let legacy = load_signer(&dir, Alg::RS256).expect("legacy");
        let old_kid = legacy.public_keys().await.expect("keys")[0].kid.clone();
        assert!(dir.join(legacy_file(Alg::RS256)).exists());

        let next = LocalSigner::create(&dir.join("next.pk8"), Alg::ES256).expect("create");
        let manifest = KeyManifest {
            keys: vec![
                KeyFile {
                    file: "next.pk8".into(),
                    alg: Alg::ES256,
                    state: KeyState::Next,
                },
                KeyFile {
                    file: legacy_file(Alg::RS256),
                    alg: Alg::RS256,
                    state: KeyState::Active,
                },
            ],
        };
        manifest.save(&dir).expect("save");
        assert_eq!(KeyManifest::load(&dir).expect("load"), Some(manifest));
        let ring = load_signer(&dir, Alg::ES256).expect("ring");
        let kids: Vec<String> = ring
            .public_keys()
            .await
            .expect("keys")
            .iter()
            .map(|k| k.kid.clone())
            .collect();
        assert_eq!(kids, vec![old_kid, next.public_key().kid.clone()]);

        // Broken manifests are refused with the file named.
        for bad in [
            r#"{"keys": []}"#,
            r#"{"keys": [{"file": "../x", "alg": "RS256", "state": "active"}]}"#,
            r#"{"keys": [{"file": "a", "alg": "RS256", "state": "active"}, {"file": "a", "alg": "RS256", "state": "next"}]}"#,
        ] {
            std::fs::write(KeyManifest::path(&dir), bad).expect("write");
            let err = KeyManifest::load(&dir).expect_err(bad).to_string();
            assert!(err.contains("keys.json"), "{err}");
        }
        let _ = std::fs::remove_dir_all(dir);
    }
}
