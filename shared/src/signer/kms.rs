//! The production signer: asymmetric KMS keys that never leave KMS.
//!
//! The first configured key signs; the others (the next key before a rotation, the previous
//! one after it) are only published in the JWKS. Public keys are fetched once per container
//! (GetPublicKey has a very low quota) and the signature is made with the key ARN that
//! GetPublicKey reported, so moving an alias while a container runs cannot make a signature
//! disagree with the `kid` in its header.
use std::sync::Arc;

use async_trait::async_trait;
use aws_sdk_kms::{
    error::{ProvideErrorMetadata, SdkError},
    primitives::Blob,
    types::{KeyMetadata, KeySpec, KeyState, KeyUsageType, MessageType, SigningAlgorithmSpec},
};
use tokio::{sync::OnceCell, task::JoinSet};

use der::{Decode, asn1::UintRef};

use super::{Alg, MAX_SIGNING_INPUT, PublicKey, Signer, SignerError, Verifier};

pub struct KmsSigner {
    client: aws_sdk_kms::Client,
    key_ids: Vec<String>,
    keys: OnceCell<Keys>,
}

struct Keys {
    public: Arc<Vec<PublicKey>>,
    /// The active key's ARN, as GetPublicKey answered it.
    active_arn: String,
    active_alg: Alg,
}

/// Maps a KMS failure to the signer's two kinds. The message names the operation, the key
/// id (not secret) and the error code or failure class; never a payload.
pub(crate) fn kms_error<E: ProvideErrorMetadata, R>(
    op: &str,
    key_id: &str,
    e: &SdkError<E, R>,
) -> SignerError {
    if let SdkError::ServiceError(ctx) = e
        && let Some(code) = ctx.err().code()
        // Decrypt of an envelope key: a wrong blob is a misconfiguration too.
        && (crate::aws::KMS_MISCONFIGURED.contains(&code)
            || crate::aws::KMS_WRONG_CIPHERTEXT.contains(&code))
    {
        return SignerError::Misconfigured(format!("kms {op} on {key_id}: {code}"));
    }
    SignerError::Unavailable(format!("kms {op} on {key_id}: {}", crate::aws::failure(e)))
}

/// The JOSE algorithm a key spec signs with, and the KMS algorithm that must be allowed.
fn alg_for(spec: &KeySpec) -> Option<(Alg, SigningAlgorithmSpec)> {
    match spec {
        KeySpec::Rsa2048 | KeySpec::Rsa3072 | KeySpec::Rsa4096 => {
            Some((Alg::RS256, SigningAlgorithmSpec::RsassaPkcs1V15Sha256))
        }
        KeySpec::EccNistP256 => Some((Alg::ES256, SigningAlgorithmSpec::EcdsaSha256)),
        _ => None,
    }
}

fn kms_algorithm(alg: Alg) -> SigningAlgorithmSpec {
    match alg {
        Alg::RS256 => SigningAlgorithmSpec::RsassaPkcs1V15Sha256,
        Alg::ES256 => SigningAlgorithmSpec::EcdsaSha256,
    }
}

/// GetPublicKey for one key: its ARN and its JWK.
async fn fetch(
    client: aws_sdk_kms::Client,
    key_id: String,
) -> Result<(String, PublicKey), SignerError> {
    let bad = |m: String| SignerError::Misconfigured(format!("kms key {key_id}: {m}"));
    let out = client
        .get_public_key()
        .key_id(&key_id)
        .send()
        .await
        .map_err(|e| kms_error("GetPublicKey", &key_id, &e))?;
    if out.key_usage() != Some(&KeyUsageType::SignVerify) {
        return Err(bad(format!(
            "key usage is {}, not SIGN_VERIFY",
            out.key_usage().map_or("unknown", |u| u.as_str())
        )));
    }
    // Real KMS answers KeySpec; moto only the deprecated CustomerMasterKeySpec (same values).
    #[allow(deprecated)]
    let legacy_spec = out
        .customer_master_key_spec()
        .map(|s| KeySpec::from(s.as_str()));
    let spec = out.key_spec().cloned().or(legacy_spec);
    let (alg, required) = spec.as_ref().and_then(alg_for).ok_or_else(|| {
        bad(format!(
            "key spec {} cannot sign RS256 or ES256 (use RSA_2048/3072/4096 or ECC_NIST_P256)",
            spec.as_ref().map_or("unknown", |s| s.as_str())
        ))
    })?;
    if !out.signing_algorithms().contains(&required) {
        return Err(bad(format!(
            "{} is not among its signing algorithms",
            required.as_str()
        )));
    }
    let der = out.public_key().ok_or_else(|| {
        SignerError::Unavailable(format!(
            "kms GetPublicKey on {key_id}: no key in the answer"
        ))
    })?;
    let arn = out
        .key_id()
        .ok_or_else(|| {
            SignerError::Unavailable(format!(
                "kms GetPublicKey on {key_id}: no key id in the answer"
            ))
        })?
        .to_string();
    let public = PublicKey::from_spki_der(der.as_ref(), alg).map_err(|e| bad(e.0))?;
    Ok((arn, public))
}

impl KmsSigner {
    /// `key_ids`: key ids, ARNs or `alias/...` names; the first signs, the others are
    /// published in the JWKS only. Nothing is fetched until the first use.
    pub fn new(client: aws_sdk_kms::Client, key_ids: Vec<String>) -> Self {
        Self {
            client,
            key_ids,
            keys: OnceCell::new(),
        }
    }

    /// The keys, fetched on first use; a failure is not cached, so the next call retries.
    async fn keys(&self) -> Result<&Keys, SignerError> {
        self.keys.get_or_try_init(|| self.load()).await
    }

    /// GetPublicKey for every configured key, concurrently, all or nothing: a JWKS missing
    /// the next key would break verification right after a rotation.
    async fn load(&self) -> Result<Keys, SignerError> {
        if self.key_ids.is_empty() {
            return Err(SignerError::Misconfigured(
                "no KMS signing key configured".into(),
            ));
        }
        let mut tasks = JoinSet::new();
        for (i, id) in self.key_ids.iter().enumerate() {
            let (client, id) = (self.client.clone(), id.clone());
            tasks.spawn(async move { (i, fetch(client, id).await) });
        }
        let mut fetched: Vec<Option<(String, PublicKey)>> = vec![None; self.key_ids.len()];
        while let Some(joined) = tasks.join_next().await {
            let (i, result) = joined
                .map_err(|_| SignerError::Unavailable("kms GetPublicKey task failed".into()))?;
            fetched[i] = Some(result?);
        }
        let mut arns = Vec::new();
        let mut public: Vec<PublicKey> = Vec::new();
        for (arn, key) in fetched.into_iter().flatten() {
            // The same key configured twice (by id and by alias) is published once.
            if !public.iter().any(|k| k.kid == key.kid) {
                arns.push(arn);
                public.push(key);
            }
        }
        let (Some(active_arn), Some(active)) = (arns.into_iter().next(), public.first()) else {
            return Err(SignerError::Unavailable(
                "kms GetPublicKey: no key fetched".into(),
            ));
        };
        Ok(Keys {
            active_alg: active.alg,
            active_arn,
            public: Arc::new(public),
        })
    }
}

#[async_trait]
impl Verifier for KmsSigner {
    async fn public_keys(&self) -> Result<Arc<Vec<PublicKey>>, SignerError> {
        Ok(self.keys().await?.public.clone())
    }
}

#[async_trait]
impl Signer for KmsSigner {
    async fn sign(&self, signing_input: &[u8]) -> Result<Vec<u8>, SignerError> {
        // Real KMS refuses RAW messages over 4096 bytes (moto does not): fail the same here.
        if signing_input.len() > MAX_SIGNING_INPUT {
            return Err(SignerError::Misconfigured(format!(
                "signing input of {} bytes exceeds the {MAX_SIGNING_INPUT}-byte KMS limit",
                signing_input.len()
            )));
        }
        let keys = self.keys().await?;
        // RAW, not DIGEST: KMS hashes the message itself (moto mishandles DIGEST).
        let out = self
            .client
            .sign()
            .key_id(&keys.active_arn)
            .message(Blob::new(signing_input))
            .message_type(MessageType::Raw)
            .signing_algorithm(kms_algorithm(keys.active_alg))
            .send()
            .await
            .map_err(|e| kms_error("Sign", &keys.active_arn, &e))?;
        let signature = out.signature().ok_or_else(|| {
            SignerError::Unavailable(format!(
                "kms Sign on {}: no signature in the answer",
                keys.active_arn
            ))
        })?;
        match keys.active_alg {
            Alg::RS256 => Ok(signature.as_ref().to_vec()),
            Alg::ES256 => ecdsa_der_to_jose(signature.as_ref()),
        }
    }
}

/// Creates an asymmetric signing key for `alg` (RSA_2048 for RS256, ECC_NIST_P256 for
/// ES256) under `alias` (`alias/...`) and returns its key id. Idempotent: when the alias
/// exists, its key is checked (usage, spec, enabled) and returned. This is the provisioning
/// code used by scripts and tests; `template.yaml` declares the same key for AWS.
pub async fn create_signing_key(
    client: &aws_sdk_kms::Client,
    alias: &str,
    alg: Alg,
) -> Result<String, SignerError> {
    let spec = match alg {
        Alg::RS256 => KeySpec::Rsa2048,
        Alg::ES256 => KeySpec::EccNistP256,
    };
    let meta = aliased_key(
        client,
        alias,
        &AliasedKey {
            spec,
            usage: KeyUsageType::SignVerify,
            description: format!("OpenID Connect token signing key ({})", alg.as_str()),
            fits: &|m| {
                m.key_usage() == Some(&KeyUsageType::SignVerify)
                    && m.key_spec().and_then(alg_for).map(|(a, _)| a) == Some(alg)
            },
            wanted: format!("a SIGN_VERIFY key for {}", alg.as_str()),
        },
    )
    .await?;
    Ok(meta.key_id().to_string())
}

/// What [`aliased_key`] creates, and how it recognises a fitting key behind the alias.
pub(crate) struct AliasedKey<'a> {
    pub spec: KeySpec,
    pub usage: KeyUsageType,
    pub description: String,
    pub fits: &'a (dyn Fn(&KeyMetadata) -> bool + Sync),
    /// For the error when the alias names a key that does not fit ("a SIGN_VERIFY key ...").
    pub wanted: String,
}

/// The key behind `alias`, created (key, then alias) when the alias does not exist yet.
/// Idempotent, and safe against a concurrent creation of the same alias.
pub(crate) async fn aliased_key(
    client: &aws_sdk_kms::Client,
    alias: &str,
    key: &AliasedKey<'_>,
) -> Result<KeyMetadata, SignerError> {
    if !alias.starts_with("alias/") || alias.starts_with("alias/aws/") {
        return Err(SignerError::Misconfigured(format!(
            "{alias:?} is not a customer alias name (alias/...)"
        )));
    }
    if let Some(meta) = existing_key(client, alias, key).await? {
        return Ok(meta);
    }
    let created = client
        .create_key()
        .key_spec(key.spec.clone())
        .key_usage(key.usage.clone())
        .description(&key.description)
        .send()
        .await
        .map_err(|e| kms_error("CreateKey", alias, &e))?;
    let meta = created
        .key_metadata()
        .cloned()
        .ok_or_else(|| SignerError::Unavailable("kms CreateKey: no key id in the answer".into()))?;
    match client
        .create_alias()
        .alias_name(alias)
        .target_key_id(meta.key_id())
        .send()
        .await
    {
        Ok(_) => Ok(meta),
        Err(e)
            if e.as_service_error()
                .is_some_and(|e| e.is_already_exists_exception()) =>
        {
            // Someone else created the alias meanwhile: use theirs, retire ours.
            let _ = client
                .schedule_key_deletion()
                .key_id(meta.key_id())
                .pending_window_in_days(7)
                .send()
                .await;
            existing_key(client, alias, key).await?.ok_or_else(|| {
                SignerError::Unavailable(format!("kms: {alias} exists but cannot be described"))
            })
        }
        Err(e) => Err(kms_error("CreateAlias", alias, &e)),
    }
}

/// The key behind `alias` if it exists and fits; `Misconfigured` if it does not fit.
async fn existing_key(
    client: &aws_sdk_kms::Client,
    alias: &str,
    key: &AliasedKey<'_>,
) -> Result<Option<KeyMetadata>, SignerError> {
    let out = match client.describe_key().key_id(alias).send().await {
        Ok(out) => out,
        Err(e)
            if e.as_service_error()
                .is_some_and(|e| e.is_not_found_exception()) =>
        {
            return Ok(None);
        }
        Err(e) => return Err(kms_error("DescribeKey", alias, &e)),
    };
    let meta = out.key_metadata().ok_or_else(|| {
        SignerError::Unavailable("kms DescribeKey: no metadata in the answer".into())
    })?;
    if !(key.fits)(meta) {
        return Err(SignerError::Misconfigured(format!(
            "{alias} exists but is a {} {} key, not {}",
            meta.key_spec().map_or("unknown", |s| s.as_str()),
            meta.key_usage().map_or("unknown", |u| u.as_str()),
            key.wanted
        )));
    }
    if meta.key_state() != Some(&KeyState::Enabled) {
        return Err(SignerError::Misconfigured(format!(
            "{alias} exists but its key is {}",
            meta.key_state()
                .map_or("in an unknown state", |s| s.as_str())
        )));
    }
    Ok(Some(meta.clone()))
}

/// ECDSA signatures from KMS are DER `SEQUENCE { r INTEGER, s INTEGER }`; JOSE wants the
/// fixed 64-byte r‖s (RFC 7518 §3.4).
pub fn ecdsa_der_to_jose(der_sig: &[u8]) -> Result<Vec<u8>, SignerError> {
    let bad = |e: der::Error| SignerError::Unavailable(format!("malformed ECDSA signature: {e}"));
    let mut reader = der::SliceReader::new(der_sig).map_err(bad)?;
    let (r, s) = der::Reader::sequence(&mut reader, |seq| {
        let r = UintRef::decode(seq)?;
        let s = UintRef::decode(seq)?;
        Ok((r, s))
    })
    .map_err(bad)?;
    let mut out = vec![0u8; 64];
    for (i, part) in [r.as_bytes(), s.as_bytes()].into_iter().enumerate() {
        if part.len() > 32 {
            return Err(SignerError::Unavailable(
                "ECDSA component longer than 32 bytes".into(),
            ));
        }
        let end = (i + 1) * 32;
        out[end - part.len()..end].copy_from_slice(part);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn der_signature_to_jose() {
        // r has a leading 0x00 (high bit set), s is short: both land right-aligned in 32 bytes.
        let mut r = vec![0x00, 0x80];
        r.extend([1u8; 31]);
        let s = vec![0x05; 31];
        let mut body = vec![0x02, r.len() as u8];
        body.extend(&r);
        body.extend([0x02, s.len() as u8]);
        body.extend(&s);
        let mut der = vec![0x30, body.len() as u8];
        der.extend(body);
        let jose = ecdsa_der_to_jose(&der).expect("converts");
        assert_eq!(jose.len(), 64);
        assert_eq!(jose[0], 0x80);
        assert_eq!(jose[32], 0x00);
        assert_eq!(&jose[33..], &s[..]);
        assert!(ecdsa_der_to_jose(&[0x30, 0x02, 0x01]).is_err());
    }
}
