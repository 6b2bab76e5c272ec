//! Envelope keys: a KMS-wrapped private key stored in the table (`envelope:<id>` in
//! SIGNING_KEYS, see shared::signer::envelope).
use std::{path::Path, sync::Arc};

use serde_json::{Value, json};
use shared::{
    crypto::random_token,
    signer::{Alg, KeyEntry, PublicKey, envelope},
    store::{KeyStore, StoreError, WrappedKey, dynamo::DynamoStore},
};

use super::{JWKS_CACHE, KeysError, plan::has_envelope_mode};
use crate::{Global, output::Output};

pub const ENVELOPE: &str = envelope::ENTRY_PREFIX;

/// The key that wraps the new private key, and whether to create it first.
pub struct Wrapping<'a> {
    pub key: &'a str,
    pub create: bool,
}

async fn table_store(g: &Global) -> Arc<dyn KeyStore> {
    let sdk = shared::aws::aws_config().await;
    Arc::new(DynamoStore::new(
        shared::aws::dynamodb_client(&sdk),
        &g.table,
    ))
}

/// An envelope key's item (no KMS call: the public key is stored with it).
async fn wrapped(g: &Global, id: &str) -> Result<WrappedKey, KeysError> {
    table_store(g)
        .await
        .wrapped_key(id)
        .await?
        .ok_or_else(|| KeysError::NoEnvelopeKey {
            id: id.to_string(),
            table: g.table.clone(),
        })
}

/// An envelope key as `keys list` shows it: its JSON and its table row.
pub async fn describe(g: &Global, id: &str, role: &str) -> Result<(Value, Vec<String>), KeysError> {
    let item = wrapped(g, id).await?;
    let unreadable = |why: String| KeysError::EnvelopePublicKey {
        id: id.to_string(),
        why,
    };
    let der = shared::crypto::b64url_decode(&item.spki)
        .ok_or_else(|| unreadable("its public key is not base64url".into()))?;
    let public = PublicKey::from_spki_der(&der, item.alg).map_err(|e| unreadable(e.to_string()))?;
    let json = json!({
        "key": format!("{ENVELOPE}{id}"),
        "kind": "envelope",
        "kid": public.kid,
        "alg": item.alg.as_str(),
        "state": role,
        "wrapping_key": item.wrapping_key,
        "created_at": item.created_at,
    });
    let row = vec![
        public.kid.clone(),
        item.alg.as_str().to_string(),
        role.to_string(),
        "envelope".to_string(),
        format!("{ENVELOPE}{id}"),
    ];
    Ok((json, row))
}

/// `--id`, or a fresh one named for its algorithm.
fn new_id(id: Option<String>, alg: Alg) -> Result<String, KeysError> {
    let id = id.unwrap_or_else(|| {
        format!(
            "{}-{}",
            alg.as_str().to_lowercase(),
            random_token(6).replace(['-', '_'], "x")
        )
    });
    if !shared::signer::valid_envelope_id(&id) {
        return Err(KeysError::refused(format!(
            "--id {id:?}: 1 to 64 letters, digits, '.', '_' or '-'"
        )));
    }
    Ok(id)
}

pub async fn create(
    g: &Global,
    kms: &aws_sdk_kms::Client,
    wrapping: Wrapping<'_>,
    alg: Alg,
    id: Option<String>,
    template: &Path,
) -> Result<Output, KeysError> {
    let id = new_id(id, alg)?;
    let current = KeyEntry::parse_all(&g.signing_keys).ok();
    // Before anything is created: what the deployment's next step is.
    let active_envelope = match current.as_ref().and_then(|c| c.first()) {
        Some(KeyEntry::Envelope(active)) => Some((active.clone(), wrapped(g, active).await?.alg)),
        _ => None,
    };
    let wrapping_key = if wrapping.create {
        envelope::create_wrapping_key(kms, wrapping.key)
            .await
            .map_err(|source| KeysError::WrappingKey {
                key: wrapping.key.to_string(),
                source,
            })?
    } else {
        wrapping.key.to_string()
    };
    // envelope::create_wrapped_key, in its two steps: a missing table is said as the store
    // failure it is, so the person gets the same advice as for any other command.
    let item = envelope::generate_wrapped_key(kms, &wrapping_key, alg, &id).await?;
    let stored = table_store(g).await.put_wrapped_key(&item).await;
    stored.map_err(|e| match e {
        StoreError::TableMissing { .. } => KeysError::StoreWhile {
            what: envelope::storing(&id),
            source: e,
        },
        e => KeysError::Signer(envelope::storing_error(&id, e)),
    })?;
    let kid = shared::crypto::b64url_decode(&item.spki)
        .and_then(|der| PublicKey::from_spki_der(&der, alg).ok())
        .map(|k| k.kid)
        .unwrap_or_default();
    let created = Created {
        entry: format!("{ENVELOPE}{id}"),
        id,
        kid,
        alg,
        wrapping_key: item.wrapping_key,
    };
    let next = next_step(g, &created, current.is_some(), active_envelope);
    Ok(report(g, &created, next, template))
}

/// The envelope key just stored.
struct Created {
    id: String,
    entry: String,
    kid: String,
    alg: Alg,
    wrapping_key: String,
}

/// The next SIGNING_KEYS, the template parameters that say the same, and the step's text.
struct NextStep {
    signing_keys: Vec<String>,
    overrides: String,
    step: String,
}

/// Published after the active key (or alone, for a deployment without keys yet).
fn next_step(
    g: &Global,
    c: &Created,
    has_keys: bool,
    active_envelope: Option<(String, Alg)>,
) -> NextStep {
    let (id, alg) = (&c.id, c.alg.as_str());
    match (has_keys, active_envelope) {
        (false, _) => NextStep {
            signing_keys: vec![c.entry.clone()],
            overrides: format!(
                "SigningMode=envelope EnvelopeKeyId={id} EnvelopeKeyAlgorithms={alg}"
            ),
            step: "A deployment without tokens yet can sign with it at once; for one that signs \
                   with KMS now, give its --signing-keys (the stack output SigningKeys) to get the \
                   steps that keep issued tokens verifiable."
                .to_string(),
        },
        (true, Some((active, active_alg))) => {
            let mut keys = g.signing_keys.clone();
            keys.retain(|k| *k != c.entry);
            keys.insert(1, c.entry.clone());
            NextStep {
                signing_keys: keys,
                overrides: format!(
                    "EnvelopeKeyId={active},{id} EnvelopeKeyAlgorithms={},{alg}",
                    active_alg.as_str()
                ),
                step: format!(
                    "Publish it after the active key, wait {JWKS_CACHE}, \
                     then make it sign \
                     (EnvelopeKeyId={id},{active})."
                ),
            }
        }
        (true, None) => {
            let mut keys = g.signing_keys.clone();
            keys.push(c.entry.clone());
            NextStep {
                signing_keys: keys,
                overrides: format!(
                    "SigningMode=kms-publishing-envelope EnvelopeKeyId={id} EnvelopeKeyAlgorithms={alg}"
                ),
                step: format!(
                    "Publish it after the KMS keys, wait {JWKS_CACHE}, \
                     then make it sign \
                     (SigningMode=envelope PublishedSigningKeys=both)."
                ),
            }
        }
    }
}

fn report(g: &Global, c: &Created, next: NextStep, template: &Path) -> Output {
    let joined = next.signing_keys.join(",");
    let mut human = format!(
        "Created envelope key {} ({}, kid {}): its private key is stored in table {}, \
         encrypted under {}.\nIts SIGNING_KEYS entry: {}\n{}\n",
        c.id,
        c.alg.as_str(),
        c.kid,
        g.table,
        c.wrapping_key,
        c.entry,
        next.step
    );
    let overrides = has_envelope_mode(template).then_some(next.overrides);
    match &overrides {
        Some(o) => {
            human.push_str(&format!(
                "Deploy {} with:\n  sam deploy --parameter-overrides {o}\n\
                 and save the same values in samconfig.toml (parameter_overrides): a later \
                 plain `sam deploy` applies what is saved there (see infra/DEPLOY.md, \
                 \"Envelope signing mode\").\n\
                 The functions then run with SIGNING_KEYS={joined}\n",
                template.display()
            ));
        }
        None => human.push_str(&format!(
            "Set SIGNING_KEYS={joined} on every function (and the local server's \
             --signing-keys) and deploy. The token function needs kms:Decrypt on the wrapping \
             key (encryption context purpose={}), token and jwks GetItem on wrapped-key#{}.\n",
            envelope::PURPOSE,
            c.id
        )),
    }
    Output::new(
        json!({
            "created": {
                "id": c.id,
                "entry": c.entry,
                "kid": c.kid,
                "alg": c.alg.as_str(),
                "wrapping_key": c.wrapping_key,
            },
            "signing_keys": next.signing_keys,
            "sam_parameter_overrides": overrides,
        }),
        human,
    )
}
