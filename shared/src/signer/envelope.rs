//! Envelope signing keys: a private key stored in the table, encrypted under a symmetric KMS
//! key, decrypted once per container and then used in-process.
//!
//! The opt-in alternative to [`super::kms::KmsSigner`] for high volume: KMS sees one
//! `Decrypt` per cold start instead of one `Sign` per token, so the per-request price and
//! the account's KMS rate limit no longer apply to signing. The price is that the plaintext
//! key lives in the signing function's memory for the container's lifetime (see "Envelope
//! signing mode" in infra/DEPLOY.md).
//!
//! The blob is bound to its purpose and id by the KMS encryption context
//! (`{"purpose": "oidc-signing-key", "key_id": <id>}`): KMS refuses to decrypt it under any
//! other context, so a blob copied to another id, or any other ciphertext of the same KMS
//! key, is refused; the template's IAM condition on `kms:EncryptionContext:purpose` keeps
//! the token function from decrypting anything else with that key. The public key is stored
//! next to the blob (SPKI), so publishing it (the `jwks` function) needs one GetItem and no
//! KMS at all, and the decrypted key is checked against it before its first signature.
use std::sync::Arc;

use async_trait::async_trait;
use aws_lc_rs::{
    encoding::AsDer,
    rsa::KeySize,
    signature::{self, EcdsaKeyPair, RsaKeyPair},
};
use aws_sdk_kms::primitives::Blob;
use tokio::sync::OnceCell;

use super::{Alg, PublicKey, Signer, SignerError, Verifier, kms::kms_error, local::LocalSigner};
use crate::{
    crypto::{b64url, b64url_decode},
    store::{KeyStore, StoreError, WrappedKey},
};

/// The `purpose` of every envelope key's encryption context (the template's IAM condition
/// names it too).
pub const PURPOSE: &str = "oidc-signing-key";

/// The prefix of an envelope key's entry in `SIGNING_KEYS`: `envelope:<id>`.
pub const ENTRY_PREFIX: &str = super::ENVELOPE_ENTRY_PREFIX;

/// The alias `oidc-local --provision` (and the tests) wrap local envelope keys under.
pub const DEFAULT_WRAPPING_ALIAS: &str = "alias/oidc-envelope-wrapping";

/// The encryption context of the wrapped key `id`.
fn context(id: &str) -> [(&'static str, &str); 2] {
    [("purpose", PURPOSE), ("key_id", id)]
}

fn check_id(id: &str) -> Result<(), SignerError> {
    if super::valid_envelope_id(id) {
        Ok(())
    } else {
        Err(SignerError::Misconfigured(format!(
            "{id:?} is not an envelope key id: 1 to 64 letters, digits, '.', '_' or '-'"
        )))
    }
}

/// Overwrites a buffer that held key material before it is freed. Best effort: the SDK's
/// own buffers (the HTTP response, its base64 decoding) are out of reach.
fn wipe(mut buf: Vec<u8>) {
    buf.fill(0);
    std::hint::black_box(&buf);
}

fn store_error(what: &str, e: StoreError) -> SignerError {
    match e {
        StoreError::Unavailable(m) | StoreError::TableMissing { detail: m, .. } => {
            SignerError::Unavailable(format!("{what}: {m}"))
        }
        StoreError::Conflict(m) => SignerError::Misconfigured(format!("{what}: {m}")),
    }
}

/// The signer of one envelope key (`envelope:<id>` in `SIGNING_KEYS`).
pub struct EnvelopeSigner {
    kms: aws_sdk_kms::Client,
    store: Arc<dyn KeyStore>,
    id: String,
    /// The stored item and its public key: one GetItem per container.
    wrapped: OnceCell<(WrappedKey, Arc<Vec<PublicKey>>)>,
    /// The decrypted private key: one KMS Decrypt per container, on first use.
    private: OnceCell<LocalSigner>,
}

impl EnvelopeSigner {
    /// Nothing is read until the first use; failures are not cached, the next call retries.
    pub fn new(kms: aws_sdk_kms::Client, store: Arc<dyn KeyStore>, id: impl Into<String>) -> Self {
        Self {
            kms,
            store,
            id: id.into(),
            wrapped: OnceCell::new(),
            private: OnceCell::new(),
        }
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    async fn wrapped(&self) -> Result<&(WrappedKey, Arc<Vec<PublicKey>>), SignerError> {
        self.wrapped
            .get_or_try_init(|| async {
                check_id(&self.id)?;
                let item = self
                    .store
                    .wrapped_key(&self.id)
                    .await
                    .map_err(|e| store_error(&format!("reading wrapped key {}", self.id), e))?
                    .ok_or_else(|| {
                        SignerError::Misconfigured(format!(
                            "no wrapped key {:?} in the table: create it with \
                             `oidc-admin --aws keys envelope-create --id {}`",
                            self.id, self.id
                        ))
                    })?;
                let bad =
                    |m: String| SignerError::Misconfigured(format!("wrapped key {}: {m}", self.id));
                if item.id != self.id {
                    return Err(bad(format!("the item names itself {:?}", item.id)));
                }
                let spki = b64url_decode(&item.spki)
                    .ok_or_else(|| bad("its public key is not base64url".into()))?;
                let public =
                    PublicKey::from_spki_der(&spki, item.alg).map_err(|e| bad(e.to_string()))?;
                Ok((item, Arc::new(vec![public])))
            })
            .await
    }

    /// Decrypts the private key (KMS Decrypt) if this container has not yet: the signing
    /// function calls it at start-up, so the first token does not wait for it.
    pub async fn unwrap_key(&self) -> Result<(), SignerError> {
        self.private().await.map(|_| ())
    }

    async fn private(&self) -> Result<&LocalSigner, SignerError> {
        self.private.get_or_try_init(|| self.decrypt()).await
    }

    async fn decrypt(&self) -> Result<LocalSigner, SignerError> {
        let (item, public) = self.wrapped().await?;
        let bad = |m: &str| SignerError::Misconfigured(format!("wrapped key {}: {m}", self.id));
        let blob = b64url_decode(&item.ciphertext)
            .ok_or_else(|| bad("its ciphertext is not base64url"))?;
        let mut request = self
            .kms
            .decrypt()
            // Naming the key makes KMS refuse a blob of any other key (IncorrectKeyException).
            .key_id(&item.wrapping_key)
            .ciphertext_blob(Blob::new(blob));
        for (k, v) in context(&self.id) {
            request = request.encryption_context(k, v);
        }
        let mut out = request
            .send()
            .await
            .map_err(|e| kms_error("Decrypt", &item.wrapping_key, &e))?;
        let plaintext = out.plaintext.take().map(Blob::into_inner).ok_or_else(|| {
            SignerError::Unavailable(format!(
                "kms Decrypt on {}: no plaintext in the answer",
                item.wrapping_key
            ))
        })?;
        let parsed = LocalSigner::from_pkcs8(item.alg, &plaintext);
        wipe(plaintext);
        let signer = parsed.map_err(|e| {
            bad(&format!(
                "the decrypted key is not a PKCS#8 {} key ({e})",
                item.alg.as_str()
            ))
        })?;
        // Same key material (the RFC 7638 thumbprint covers n/e or x/y): the published key
        // verifies what this key signs. Anything else is a tampered or mixed-up item.
        if signer.public_key().kid != public[0].kid {
            return Err(bad(
                "the decrypted private key does not match the stored public key: refusing to sign",
            ));
        }
        tracing::info!(key = %self.id, kid = %public[0].kid, "envelope signing key decrypted");
        Ok(signer)
    }
}

#[async_trait]
impl Verifier for EnvelopeSigner {
    async fn public_keys(&self) -> Result<Arc<Vec<PublicKey>>, SignerError> {
        Ok(self.wrapped().await?.1.clone())
    }
}

#[async_trait]
impl Signer for EnvelopeSigner {
    async fn sign(&self, signing_input: &[u8]) -> Result<Vec<u8>, SignerError> {
        self.private().await?.sign(signing_input).await
    }
}

/// Creates a symmetric `ENCRYPT_DECRYPT` KMS key under `alias` (`alias/...`) to wrap
/// envelope keys with, and returns its ARN. Idempotent: when the alias exists, its key is
/// checked (symmetric, ENCRYPT_DECRYPT, enabled) and returned. `template.yaml` declares the
/// same key for a deployment in envelope mode.
pub async fn create_wrapping_key(
    kms: &aws_sdk_kms::Client,
    alias: &str,
) -> Result<String, SignerError> {
    use aws_sdk_kms::types::{KeySpec, KeyUsageType};
    let meta = super::kms::aliased_key(
        kms,
        alias,
        &super::kms::AliasedKey {
            spec: KeySpec::SymmetricDefault,
            usage: KeyUsageType::EncryptDecrypt,
            description: "OpenID Connect envelope signing keys: wraps their private keys".into(),
            fits: &|m| {
                m.key_usage() == Some(&KeyUsageType::EncryptDecrypt)
                    && m.key_spec() == Some(&KeySpec::SymmetricDefault)
            },
            wanted: "a symmetric ENCRYPT_DECRYPT key".into(),
        },
    )
    .await?;
    Ok(meta.arn().unwrap_or(meta.key_id()).to_string())
}

/// Encrypts a PKCS#8 private key for `alg` under `wrapping_key` (key id, ARN or alias) with
/// the encryption context of `id`: the item to store. The key is parsed first (and its public
/// key derived from it), so a blob that does not parse is never stored. This is also how an
/// existing key is imported.
pub async fn wrap_private_key(
    kms: &aws_sdk_kms::Client,
    wrapping_key: &str,
    alg: Alg,
    id: &str,
    pkcs8: &[u8],
    now: i64,
) -> Result<WrappedKey, SignerError> {
    check_id(id)?;
    let public = LocalSigner::from_pkcs8(alg, pkcs8)?.public_key().clone();
    let mut request = kms
        .encrypt()
        .key_id(wrapping_key)
        .plaintext(Blob::new(pkcs8));
    for (k, v) in context(id) {
        request = request.encryption_context(k, v);
    }
    let out = request
        .send()
        .await
        .map_err(|e| kms_error("Encrypt", wrapping_key, &e))?;
    let (Some(ciphertext), Some(arn)) = (out.ciphertext_blob(), out.key_id()) else {
        return Err(SignerError::Unavailable(format!(
            "kms Encrypt on {wrapping_key}: no ciphertext or key id in the answer"
        )));
    };
    Ok(WrappedKey {
        id: id.to_string(),
        alg,
        // The ARN: Decrypt names it, and IAM grants kms:Decrypt on it.
        wrapping_key: arn.to_string(),
        ciphertext: b64url(ciphertext.as_ref()),
        spki: b64url(public.spki_der()),
        created_at: now,
    })
}

/// Provisions the envelope key `id`: a new RS256 (RSA 2048) or ES256 (P-256) key pair,
/// wrapped under `wrapping_key` and stored (never overwriting an existing id). Returns the
/// stored item. The two steps are [`generate_wrapped_key`] and a `put_wrapped_key` whose
/// failure [`storing_error`] words.
pub async fn create_wrapped_key(
    kms: &aws_sdk_kms::Client,
    store: &dyn KeyStore,
    wrapping_key: &str,
    alg: Alg,
    id: &str,
) -> Result<WrappedKey, SignerError> {
    let wrapped = generate_wrapped_key(kms, wrapping_key, alg, id).await?;
    store
        .put_wrapped_key(&wrapped)
        .await
        .map_err(|e| storing_error(id, e))?;
    Ok(wrapped)
}

/// A new key pair for the envelope key `id`, wrapped under `wrapping_key`: the item
/// [`create_wrapped_key`] stores.
///
/// The key pair is generated here (aws-lc) and encrypted with KMS `Encrypt`, and the
/// plaintext overwritten at once: KMS `GenerateDataKeyPairWithoutPlaintext` would keep it
/// out of this process entirely, but the emulator the tests run on (moto 5.2.5) implements
/// neither it nor `GenerateDataKeyPair`. The stored blob is the same either way (PKCS#8
/// under the same encryption context), so [`EnvelopeSigner`] reads both.
pub async fn generate_wrapped_key(
    kms: &aws_sdk_kms::Client,
    wrapping_key: &str,
    alg: Alg,
    id: &str,
) -> Result<WrappedKey, SignerError> {
    check_id(id)?;
    let generated = match alg {
        Alg::RS256 => RsaKeyPair::generate(KeySize::Rsa2048)
            .and_then(|k| k.as_der())
            .map(|d| d.as_ref().to_vec()),
        Alg::ES256 => EcdsaKeyPair::generate(&signature::ECDSA_P256_SHA256_FIXED_SIGNING)
            .and_then(|k| k.to_pkcs8v1())
            .map(|d| d.as_ref().to_vec()),
    }
    .map_err(|e| SignerError::Unavailable(format!("generating a key pair: {e}")))?;
    let now = crate::clock::Clock::now(&crate::clock::SystemClock);
    let wrapped = wrap_private_key(kms, wrapping_key, alg, id, &generated, now).await;
    wipe(generated);
    wrapped
}

/// How error messages name the step that stores the new wrapped key `id`.
pub fn storing(id: &str) -> String {
    format!("storing wrapped key {id}")
}

/// Why storing the new wrapped key `id` failed, as a signer error: an id in use is the
/// caller's mistake (keys are never overwritten), anything else the store's failure.
pub fn storing_error(id: &str, e: StoreError) -> SignerError {
    match e {
        StoreError::Conflict(_) => SignerError::Misconfigured(format!(
            "a wrapped key {id:?} exists already: choose another id (keys are never overwritten)"
        )),
        e => store_error(&storing(id), e),
    }
}
