//! KMS signing keys: what KMS says about one, and creating the next.
use std::path::Path;

use aws_sdk_kms::types::{KeySpec, KeyState};
use serde_json::{Value, json};
use shared::signer::{Alg, PublicKey};

use super::{
    JWKS_CACHE, KeysError,
    plan::{has_slots, other, plan, slot},
};
use crate::{Global, output::Output};

pub struct KmsKey {
    pub id: String,
    pub arn: String,
    pub public: PublicKey,
    pub state: Option<KeyState>,
}

impl KmsKey {
    /// KMS's key state, as the listing prints it.
    pub fn state_name(&self) -> &str {
        self.state.as_ref().map_or("unknown", KeyState::as_str)
    }

    pub fn json(&self, role: &str) -> Value {
        json!({
            "key": self.id,
            "arn": self.arn,
            "kid": self.public.kid,
            "alg": self.public.alg.as_str(),
            "state": role,
            "enabled": self.state == Some(KeyState::Enabled),
            "key_state": self.state_name(),
        })
    }
}

fn alg_of(spec: &KeySpec) -> Option<Alg> {
    match spec {
        KeySpec::Rsa2048 | KeySpec::Rsa3072 | KeySpec::Rsa4096 => Some(Alg::RS256),
        KeySpec::EccNistP256 => Some(Alg::ES256),
        _ => None,
    }
}

pub async fn describe(kms: &aws_sdk_kms::Client, id: &str) -> Result<KmsKey, KeysError> {
    let answer = |op, why: &str| KeysError::KmsAnswer {
        op,
        key: id.to_string(),
        why: why.to_string(),
    };
    let out = kms
        .get_public_key()
        .key_id(id)
        .send()
        .await
        .map_err(|source| KeysError::GetPublicKey {
            key: id.to_string(),
            source: Box::new(source),
        })?;
    // Real KMS answers KeySpec; moto only the deprecated CustomerMasterKeySpec.
    #[allow(deprecated)]
    let legacy = out
        .customer_master_key_spec()
        .map(|s| KeySpec::from(s.as_str()));
    let spec = out.key_spec().cloned().or(legacy);
    let alg = spec
        .as_ref()
        .and_then(alg_of)
        .ok_or_else(|| answer("GetPublicKey", "not an RS256 or ES256 signing key"))?;
    let der = out
        .public_key()
        .ok_or_else(|| answer("GetPublicKey", "no public key in the answer"))?;
    let public = PublicKey::from_spki_der(der.as_ref(), alg)
        .map_err(|e| answer("GetPublicKey", &e.to_string()))?;
    let meta = kms
        .describe_key()
        .key_id(id)
        .send()
        .await
        .map_err(|source| KeysError::DescribeKey {
            key: id.to_string(),
            source: Box::new(source),
        })?;
    let meta = meta
        .key_metadata()
        .ok_or_else(|| answer("DescribeKey", "no metadata in the answer"))?;
    Ok(KmsKey {
        id: id.to_string(),
        arn: meta.arn().unwrap_or(meta.key_id()).to_string(),
        public,
        state: meta.key_state().cloned(),
    })
}

/// Without --alias: template.yaml creates slot keys itself, so only the parameters change.
pub fn create_next_slot(g: &Global, alg: Alg, template: &Path) -> Result<Output, KeysError> {
    let active_slot = g.signing_keys.first().and_then(|k| slot(k));
    let Some((_, s)) = active_slot.filter(|_| has_slots(template)) else {
        return Err(KeysError::refused(
            "give --alias alias/NAME for the new KMS key (with template.yaml's \
             key slots, run this where template.yaml is, with --signing-keys from \
             the stack output SigningKeys, to get the parameter change instead)",
        ));
    };
    let next = other(s);
    let overrides = format!(
        "ActiveSigningKey={s} PublishedSigningKeys=both SigningKey{next}Algorithm={}",
        alg.as_str()
    );
    let mut keys = g.signing_keys.clone();
    keys.truncate(1);
    if let Some((stack, _)) = slot(&keys[0]) {
        keys.push(format!(
            "alias/{stack}-signing-{}",
            next.to_ascii_lowercase()
        ));
    }
    Ok(plan(
        &keys,
        template,
        Some(overrides),
        &format!(
            "The stack creates the next key (slot {next}) itself and publishes it; slot {s} still signs.\n\
             Wait {JWKS_CACHE}, then promote it (`oidc-admin --aws keys promote`)."
        ),
        "",
    ))
}

/// With --alias: a new KMS key, published after the active one.
pub async fn create_next(
    g: &Global,
    kms: &aws_sdk_kms::Client,
    alias: String,
    alg: Alg,
    template: &Path,
) -> Result<Output, KeysError> {
    let key_id = shared::signer::kms::create_signing_key(kms, &alias, alg).await?;
    let k = describe(kms, &key_id).await?;
    let mut keys = g.signing_keys.clone();
    if keys.is_empty() {
        keys.push("<the active key>".into());
    }
    keys.retain(|x| *x != alias);
    keys.insert(1, alias.clone());
    let mut out = plan(
        &keys,
        template,
        None,
        &format!(
            "Created KMS key {key_id} as {alias}: kid {}, {}.\n\
             Publish it after the active key, wait {JWKS_CACHE}, \
             then promote it (`oidc-admin --aws keys promote`).",
            k.public.kid,
            k.public.alg.as_str()
        ),
        "",
    );
    out.json["created"] = k.json("next");
    Ok(out)
}
