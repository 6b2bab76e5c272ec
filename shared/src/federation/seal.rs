//! Secrets that must be read back are never stored in plaintext: sealed for one purpose and
//! one owner, by KMS on AWS ([`KmsSealer`]) or by a key in the data directory locally
//! ([`LocalSealer`]). Two kinds are sealed ([`Binding`]): an upstream provider's client
//! secret (our secret at that provider) and a person's TOTP shared secret (which, unlike a
//! password, must be read back to check a code: RFC 6238 §5.1 "keys SHOULD be ... stored
//! securely").
//!
//! A sealed secret is bound to its purpose and owner: KMS refuses to decrypt it under any
//! other encryption context (`{"purpose": "upstream-client-secret", "provider": <id>}` or
//! `{"purpose": "totp-secret", "sub": <sub>}`), and the local key's AES-GCM tag covers the
//! same facts as additional data. So a ciphertext copied to another provider or person, or
//! used for the other purpose, does not open; and with KMS only a role granted `kms:Decrypt`
//! under that purpose can open it (the federation function client secrets, the login
//! function TOTP secrets). Plaintexts travel as [`ClientSecret`] and [`TotpSecret`], so
//! they are never logged by accident.
use std::path::Path;

use async_trait::async_trait;
use aws_lc_rs::aead::{AES_256_GCM, Aad, NONCE_LEN, Nonce, RandomizedNonceKey};

use crate::{
    crypto::{b64url, b64url_decode, random_bytes},
    secret::ClientSecret,
    store::SealedSecret,
    totp::TotpSecret,
};

/// The `purpose` of an upstream client secret's encryption context (and of the template's
/// IAM condition on `kms:EncryptionContext:purpose` for the federation function).
pub const PURPOSE: &str = "upstream-client-secret";

/// The `purpose` of a TOTP secret's encryption context (the login function's condition).
pub const TOTP_PURPOSE: &str = "totp-secret";

/// The local key's file in the data directory.
pub const KEY_FILE: &str = "federation.key";

/// What a sealed secret belongs to: it opens only for the same binding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Binding<'a> {
    /// The client secret of the upstream provider with this id.
    UpstreamClientSecret(&'a str),
    /// The TOTP shared secret of the person with this `sub`.
    TotpSecret(&'a str),
}

impl<'a> Binding<'a> {
    /// Its KMS encryption context: the purpose, and whose it is.
    pub fn context(self) -> [(&'static str, &'a str); 2] {
        match self {
            Binding::UpstreamClientSecret(id) => [("purpose", PURPOSE), ("provider", id)],
            Binding::TotpSecret(sub) => [("purpose", TOTP_PURPOSE), ("sub", sub)],
        }
    }

    /// The local key's additional data: the context's two values. The purposes hold no
    /// `:` and differ, so no binding's data is another's.
    fn aad(self) -> String {
        let [(_, purpose), (_, owner)] = self.context();
        format!("{purpose}:{owner}")
    }

    /// What it is, for messages.
    fn describe(self) -> String {
        match self {
            Binding::UpstreamClientSecret(id) => format!("the client secret of {id}"),
            Binding::TotpSecret(sub) => format!("the TOTP secret of the person {sub}"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SealError {
    /// KMS could not be reached or failed: retrying may help.
    #[error("{0}")]
    Unavailable(String),
    /// The key is wrong or unusable (missing, disabled, not ours to use, a bad key file).
    #[error("{0}")]
    Misconfigured(String),
    /// This sealed secret does not open for this binding: sealed for another provider,
    /// person or purpose, under another key or backend, or tampered with.
    #[error("{0}")]
    Refused(String),
}

/// How an endpoint answers a sealer's failure: KMS out of reach is retryable (503), a key or
/// secret that does not open is the server's own error (500); the detail goes to the log only.
impl From<SealError> for crate::error::OAuthError {
    fn from(e: SealError) -> Self {
        match e {
            SealError::Unavailable(_) => {
                crate::error::OAuthError::unavailable(format!("sealer: {e}"))
            }
            SealError::Misconfigured(_) | SealError::Refused(_) => {
                crate::error::OAuthError::server_error(format!("sealer: {e}"))
            }
        }
    }
}

/// Seals and opens secrets, each for one [`Binding`]. The typed methods are the ones to
/// call; a backend implements the two over bytes.
#[async_trait]
pub trait Sealer: Send + Sync {
    async fn seal_bytes(
        &self,
        binding: Binding<'_>,
        plaintext: &[u8],
    ) -> Result<SealedSecret, SealError>;
    async fn open_bytes(
        &self,
        binding: Binding<'_>,
        sealed: &SealedSecret,
    ) -> Result<Vec<u8>, SealError>;

    /// Seals the client secret of the upstream provider `provider_id`.
    async fn seal(
        &self,
        provider_id: &str,
        plaintext: &ClientSecret,
    ) -> Result<SealedSecret, SealError> {
        let binding = Binding::UpstreamClientSecret(provider_id);
        self.seal_bytes(binding, plaintext.expose().as_bytes())
            .await
    }

    async fn open(
        &self,
        provider_id: &str,
        sealed: &SealedSecret,
    ) -> Result<ClientSecret, SealError> {
        let binding = Binding::UpstreamClientSecret(provider_id);
        let bytes = self.open_bytes(binding, sealed).await?;
        String::from_utf8(bytes)
            .map(ClientSecret::new)
            .map_err(|_| SealError::Refused(format!("{} is not UTF-8 text", binding.describe())))
    }

    /// Seals the TOTP secret of the person `sub`.
    async fn seal_totp(&self, sub: &str, secret: &TotpSecret) -> Result<SealedSecret, SealError> {
        self.seal_bytes(Binding::TotpSecret(sub), secret.expose())
            .await
    }

    async fn open_totp(&self, sub: &str, sealed: &SealedSecret) -> Result<TotpSecret, SealError> {
        let binding = Binding::TotpSecret(sub);
        let mut bytes = self.open_bytes(binding, sealed).await?;
        let secret = TotpSecret::from_bytes(&bytes)
            .map_err(|e| SealError::Refused(format!("{}: {e}", binding.describe())));
        bytes.fill(0);
        secret
    }
}

/// AES-256-GCM under a key of the data directory (`federation.key`, 32 random bytes, mode
/// 0600, made on first use), or under a random key held in memory when there is no data
/// directory. The stored ciphertext is base64url of the 12-byte nonce followed by the
/// ciphertext and its tag.
pub struct LocalSealer {
    key: RandomizedNonceKey,
}

impl LocalSealer {
    /// The data directory's sealer, or an in-memory one without a data directory.
    pub fn for_data_dir(dir: Option<&Path>) -> Result<LocalSealer, SealError> {
        match dir {
            Some(dir) => Self::load_or_create(dir),
            None => Ok(Self::ephemeral()),
        }
    }

    /// Loads `dir/federation.key`, creating it on first use.
    pub fn load_or_create(dir: &Path) -> Result<LocalSealer, SealError> {
        let path = dir.join(KEY_FILE);
        let bad = |e: std::io::Error| SealError::Misconfigured(format!("{}: {e}", path.display()));
        let bytes = match std::fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                std::fs::create_dir_all(dir).map_err(bad)?;
                let key = random_bytes::<32>();
                match crate::crypto::write_private(&path, &key) {
                    Ok(()) => key.to_vec(),
                    // Another process made it first: use theirs.
                    Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                        std::fs::read(&path).map_err(bad)?
                    }
                    Err(e) => return Err(bad(e)),
                }
            }
            Err(e) => return Err(bad(e)),
        };
        Self::from_key(&bytes).map_err(|_| {
            SealError::Misconfigured(format!(
                "{} must hold exactly 32 bytes (an AES-256 key); it holds {}",
                path.display(),
                bytes.len()
            ))
        })
    }

    /// A sealer whose key lives only as long as this process: for an in-memory store.
    pub fn ephemeral() -> LocalSealer {
        let key = random_bytes::<32>();
        // A 32-byte key is always an AES-256 key.
        match Self::from_key(&key) {
            Ok(s) => s,
            Err(_) => unreachable!("AES-256-GCM takes any 32-byte key"),
        }
    }

    fn from_key(bytes: &[u8]) -> Result<LocalSealer, ()> {
        if bytes.len() != 32 {
            return Err(());
        }
        let key = RandomizedNonceKey::new(&AES_256_GCM, bytes).map_err(|_| ())?;
        Ok(LocalSealer { key })
    }
}

#[async_trait]
impl Sealer for LocalSealer {
    async fn seal_bytes(
        &self,
        binding: Binding<'_>,
        plaintext: &[u8],
    ) -> Result<SealedSecret, SealError> {
        let mut in_out = plaintext.to_vec();
        let nonce = self
            .key
            .seal_in_place_append_tag(Aad::from(binding.aad()), &mut in_out)
            .map_err(|_| SealError::Unavailable("AES-GCM sealing failed".into()))?;
        let mut blob = nonce.as_ref().to_vec();
        blob.extend_from_slice(&in_out);
        Ok(SealedSecret {
            key: SealedSecret::LOCAL.into(),
            ciphertext: b64url(&blob),
        })
    }

    async fn open_bytes(
        &self,
        binding: Binding<'_>,
        sealed: &SealedSecret,
    ) -> Result<Vec<u8>, SealError> {
        if sealed.key != SealedSecret::LOCAL {
            return Err(SealError::Refused(format!(
                "{} is sealed under the KMS key {}: only the AWS backend opens it (seal it \
                 again here)",
                binding.describe(),
                sealed.key
            )));
        }
        let refused = || {
            SealError::Refused(format!(
                "{} does not open with this data directory's {KEY_FILE}: sealed for another \
                 provider, person or purpose, or under another key, or altered (seal it again)",
                binding.describe()
            ))
        };
        let mut blob = b64url_decode(&sealed.ciphertext).ok_or_else(refused)?;
        if blob.len() < NONCE_LEN {
            return Err(refused());
        }
        let mut body = blob.split_off(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(&blob).map_err(|_| refused())?;
        let plaintext = self
            .key
            .open_in_place(nonce, Aad::from(binding.aad()), &mut body)
            .map_err(|_| refused())?;
        let out = plaintext.to_vec();
        plaintext.fill(0);
        Ok(out)
    }
}

#[cfg(feature = "kms")]
pub use kms::KmsSealer;

#[cfg(feature = "kms")]
mod kms {
    use async_trait::async_trait;
    use aws_sdk_kms::{
        error::{ProvideErrorMetadata, SdkError},
        primitives::Blob,
    };

    use super::{Binding, SealError, Sealer};
    use crate::{
        crypto::{b64url, b64url_decode},
        store::SealedSecret,
    };

    // A ciphertext that does not open under this context or key is refused; a key that is
    // wrong or not ours to use is a misconfiguration.
    use crate::aws::{KMS_MISCONFIGURED as MISCONFIGURED, KMS_WRONG_CIPHERTEXT as REFUSED};

    fn kms_error<E: ProvideErrorMetadata, R>(op: &str, key: &str, e: &SdkError<E, R>) -> SealError {
        let what = format!("kms {op} on {key}");
        if let SdkError::ServiceError(ctx) = e
            && let Some(code) = ctx.err().code()
        {
            if REFUSED.contains(&code) {
                return SealError::Refused(format!(
                    "{what}: {code}: sealed for another provider, person or purpose, or under \
                     another key, or altered (seal it again)"
                ));
            }
            if MISCONFIGURED.contains(&code) {
                return SealError::Misconfigured(format!("{what}: {code}"));
            }
        }
        SealError::Unavailable(format!("{what}: {}", crate::aws::failure(e)))
    }

    /// Seals with KMS `Encrypt` under a symmetric key (an id, ARN or alias: the stack's
    /// `FederationSecretsKey`); opens with `Decrypt`, naming the key the secret records
    /// (its ARN, as `Encrypt` answered), so a blob of any other key is refused.
    pub struct KmsSealer {
        kms: aws_sdk_kms::Client,
        key: String,
    }

    impl KmsSealer {
        /// `key` seals; opening needs only the permission on the key each secret names.
        pub fn new(kms: aws_sdk_kms::Client, key: impl Into<String>) -> KmsSealer {
            KmsSealer {
                kms,
                key: key.into(),
            }
        }
    }

    #[async_trait]
    impl Sealer for KmsSealer {
        async fn seal_bytes(
            &self,
            binding: Binding<'_>,
            plaintext: &[u8],
        ) -> Result<SealedSecret, SealError> {
            if self.key.trim().is_empty() {
                return Err(SealError::Misconfigured(
                    "no KMS key to seal secrets with (FEDERATION_SECRETS_KEY)".into(),
                ));
            }
            let mut request = self
                .kms
                .encrypt()
                .key_id(&self.key)
                .plaintext(Blob::new(plaintext));
            for (k, v) in binding.context() {
                request = request.encryption_context(k, v);
            }
            let out = request
                .send()
                .await
                .map_err(|e| kms_error("Encrypt", &self.key, &e))?;
            let (Some(blob), Some(arn)) = (out.ciphertext_blob(), out.key_id()) else {
                return Err(SealError::Unavailable(format!(
                    "kms Encrypt on {}: no ciphertext or key id in the answer",
                    self.key
                )));
            };
            Ok(SealedSecret {
                key: arn.to_string(),
                ciphertext: b64url(blob.as_ref()),
            })
        }

        async fn open_bytes(
            &self,
            binding: Binding<'_>,
            sealed: &SealedSecret,
        ) -> Result<Vec<u8>, SealError> {
            if sealed.key == SealedSecret::LOCAL {
                return Err(SealError::Refused(format!(
                    "{} is sealed by a local data directory's key: seal it again with KMS",
                    binding.describe()
                )));
            }
            let blob = b64url_decode(&sealed.ciphertext).ok_or_else(|| {
                SealError::Refused(format!("{} is not base64url", binding.describe()))
            })?;
            let mut request = self
                .kms
                .decrypt()
                .key_id(&sealed.key)
                .ciphertext_blob(Blob::new(blob));
            for (k, v) in binding.context() {
                request = request.encryption_context(k, v);
            }
            let mut out = request
                .send()
                .await
                .map_err(|e| kms_error("Decrypt", &sealed.key, &e))?;
            out.plaintext.take().map(Blob::into_inner).ok_or_else(|| {
                SealError::Unavailable(format!(
                    "kms Decrypt on {}: no plaintext in the answer",
                    sealed.key
                ))
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "GOCSPX-upstream-client-secret";

    fn secret() -> ClientSecret {
        ClientSecret::new(SECRET)
    }

    fn opened(r: Result<ClientSecret, SealError>) -> String {
        r.expect("opens").expose().to_string()
    }

    #[tokio::test]
    async fn local_round_trip_with_a_fresh_nonce_each_time() {
        let s = LocalSealer::ephemeral();
        let a = s.seal("google", &secret()).await.expect("seal");
        let b = s.seal("google", &secret()).await.expect("seal");
        assert_eq!(a.key, SealedSecret::LOCAL);
        assert_ne!(a.ciphertext, b.ciphertext, "random nonces");
        assert!(!a.ciphertext.contains("upstream"), "not plaintext");
        assert_eq!(opened(s.open("google", &a).await), SECRET);
        assert_eq!(opened(s.open("google", &b).await), SECRET);
    }

    #[tokio::test]
    async fn another_provider_another_key_or_an_altered_blob_does_not_open() {
        let s = LocalSealer::ephemeral();
        let sealed = s.seal("google", &secret()).await.expect("seal");
        let refused = |r: Result<ClientSecret, SealError>, what: &str| {
            assert!(matches!(r, Err(SealError::Refused(_))), "{what}: {r:?}");
        };
        refused(s.open("okta", &sealed).await, "another provider");
        refused(
            LocalSealer::ephemeral().open("google", &sealed).await,
            "another key",
        );
        let mut raw = b64url_decode(&sealed.ciphertext).expect("b64");
        for i in [0, NONCE_LEN, raw.len() - 1] {
            raw[i] ^= 1;
            let altered = SealedSecret {
                ciphertext: b64url(&raw),
                ..sealed.clone()
            };
            refused(s.open("google", &altered).await, &format!("byte {i}"));
            raw[i] ^= 1;
        }
        for ciphertext in ["", "not base64!", "AAAA"] {
            let bad = SealedSecret {
                ciphertext: ciphertext.into(),
                ..sealed.clone()
            };
            refused(s.open("google", &bad).await, ciphertext);
        }
        let kms = SealedSecret {
            key: "arn:aws:kms:us-east-1:1:key/k".into(),
            ..sealed
        };
        let r = s.open("google", &kms).await;
        assert!(
            matches!(&r, Err(SealError::Refused(m)) if m.contains("AWS backend")),
            "{r:?}"
        );
    }

    #[tokio::test]
    async fn a_totp_secret_opens_for_its_person_only_and_never_as_a_client_secret() {
        let s = LocalSealer::ephemeral();
        let totp = TotpSecret::generate();
        let sealed = s.seal_totp("sub-alice", &totp).await.expect("seal");
        let opened = s.open_totp("sub-alice", &sealed).await.expect("opens");
        assert_eq!(opened.expose(), totp.expose());
        let refused = |r: Result<(), SealError>, what: &str| {
            assert!(matches!(r, Err(SealError::Refused(_))), "{what}: {r:?}");
        };
        refused(
            s.open_totp("sub-bob", &sealed).await.map(|_| ()),
            "another person",
        );
        // The same owner string under the other purpose, either way round.
        refused(
            s.open("sub-alice", &sealed).await.map(|_| ()),
            "a TOTP secret as a client secret",
        );
        let client = s.seal("google", &secret()).await.expect("seal");
        refused(
            s.open_totp("google", &client).await.map(|_| ()),
            "a client secret as a TOTP secret",
        );
        // A person whose sub looks like a provider's id, and the reverse, stay apart too.
        assert_ne!(
            Binding::TotpSecret("google").aad(),
            Binding::UpstreamClientSecret("google").aad()
        );
        assert_eq!(
            Binding::TotpSecret("sub-alice").context(),
            [("purpose", "totp-secret"), ("sub", "sub-alice")]
        );
    }

    #[tokio::test]
    async fn the_key_file_is_made_once_private_and_checked() {
        let dir = std::env::temp_dir().join(format!(
            "oidc-seal-{}",
            crate::crypto::random_token(6).replace(['-', '_'], "x")
        ));
        let first = LocalSealer::for_data_dir(Some(&dir)).expect("create");
        let sealed = first.seal("google", &secret()).await.expect("seal");
        let again = LocalSealer::load_or_create(&dir).expect("load");
        assert_eq!(
            opened(again.open("google", &sealed).await),
            SECRET,
            "the key persists"
        );
        let path = dir.join(KEY_FILE);
        assert_eq!(std::fs::read(&path).expect("key").len(), 32);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).expect("meta").permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        std::fs::write(&path, b"short").expect("overwrite");
        let err = LocalSealer::load_or_create(&dir).err().expect("refused");
        assert!(
            matches!(&err, SealError::Misconfigured(m) if m.contains("32 bytes")),
            "{err:?}"
        );
        let _ = std::fs::remove_dir_all(dir);
    }
}
