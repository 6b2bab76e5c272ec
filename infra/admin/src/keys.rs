//! `oidc-admin keys ...`: the rotation procedure as commands.
//!
//! Embedded: the data directory's `keys.json` (shared::signer::manifest), read by the local
//! server at start. These commands never open the store, so they work while it runs; a
//! change takes effect at its next start.
//!
//! AWS: the key list is the deployment's SIGNING_KEYS (template.yaml's ActiveSigningKey /
//! PublishedSigningKeys, SigningMode / EnvelopeKeyId), so promote and retire print the exact
//! change to deploy; list and create-next talk to KMS; envelope-create stores a KMS-wrapped
//! key pair in the table.
use std::path::Path;

use serde_json::{Value, json};
use shared::{
    crypto::random_token,
    signer::{
        Alg, PublicKey,
        local::LocalSigner,
        manifest::{KeyEntry, KeyManifest, KeyState, legacy_file},
    },
};

use crate::{
    Global, KeysCmd,
    output::{Output, table},
};

/// How long relying parties may cache the JWKS (`/jwks.json` sends max-age=300).
const JWKS_CACHE: &str = "5 minutes, the JWKS max-age";

pub async fn run(g: &Global, cmd: KeysCmd) -> Result<Output, String> {
    if g.aws {
        aws::run(g, cmd).await
    } else {
        local(&g.data_dir, cmd)
    }
}

fn key_json(e: &KeyEntry, kid: &str) -> Value {
    json!({ "kid": kid, "alg": e.alg.as_str(), "state": e.state.as_str(), "file": e.file })
}

/// The manifest, or what the server's single key file amounts to before the first rotation.
fn current(dir: &Path, server_alg: Option<Alg>) -> Result<KeyManifest, String> {
    if let Some(m) = KeyManifest::load(dir).map_err(|e| e.to_string())? {
        return Ok(m);
    }
    let present: Vec<Alg> = [Alg::RS256, Alg::ES256]
        .into_iter()
        .filter(|a| dir.join(legacy_file(*a)).exists())
        .collect();
    let active = match (present.as_slice(), server_alg) {
        ([], _) => return Ok(KeyManifest::default()),
        (_, Some(a)) if present.contains(&a) => a,
        (_, Some(a)) => {
            return Err(format!(
                "--server-alg: {} does not exist in {}",
                legacy_file(a),
                dir.display()
            ));
        }
        ([a], None) => *a,
        (_, None) => {
            return Err(format!(
                "both {} and {} exist in {}: say which one the local server signs with \
                 (--server-alg rs256 for its default, es256 if it runs with --alg es256)",
                legacy_file(Alg::RS256),
                legacy_file(Alg::ES256),
                dir.display()
            ));
        }
    };
    Ok(KeyManifest {
        keys: vec![KeyEntry {
            file: legacy_file(active),
            alg: active,
            state: KeyState::Active,
        }],
    })
}

fn kid_of(dir: &Path, e: &KeyEntry) -> Result<String, String> {
    LocalSigner::load(&dir.join(&e.file), e.alg)
        .map(|s| s.public_key().kid.clone())
        .map_err(|e| e.to_string())
}

/// The keys in published order with their kids, as JSON and as a table.
fn listing(dir: &Path, m: &KeyManifest) -> Result<(Vec<Value>, String), String> {
    let mut json = Vec::new();
    let mut rows = Vec::new();
    for e in m.published() {
        let kid = kid_of(dir, e)?;
        json.push(key_json(e, &kid));
        rows.push(vec![
            kid,
            e.alg.as_str().to_string(),
            e.state.as_str().to_string(),
            e.file.clone(),
        ]);
    }
    Ok((json, table(&["KID", "ALG", "STATE", "FILE"], &rows)))
}

const RESTART: &str = "The local server reads the keys when it starts: restart it \
                       (`cargo run -p oidc-local`) to apply this.";

fn local(dir: &Path, cmd: KeysCmd) -> Result<Output, String> {
    match cmd {
        KeysCmd::List => {
            if let Some(m) = KeyManifest::load(dir).map_err(|e| e.to_string())? {
                let (keys, human) = listing(dir, &m)?;
                return Ok(Output::new(
                    json!({ "source": "keys.json", "keys": keys }),
                    human,
                ));
            }
            // No rotation yet: the server signs with signing-<its --alg>.pk8.
            let mut keys = Vec::new();
            let mut rows = Vec::new();
            for alg in [Alg::RS256, Alg::ES256] {
                let e = KeyEntry {
                    file: legacy_file(alg),
                    alg,
                    state: KeyState::Active,
                };
                if !dir.join(&e.file).exists() {
                    continue;
                }
                let kid = kid_of(dir, &e)?;
                let flag = format!("--alg {}", alg.as_str().to_lowercase());
                let mut v = key_json(&e, &kid);
                v["when"] = json!(format!("the local server runs with {flag}"));
                keys.push(v);
                rows.push(vec![
                    kid,
                    alg.as_str().into(),
                    format!("active with {flag}"),
                    e.file,
                ]);
            }
            let human = if rows.is_empty() {
                format!(
                    "No signing key in {} yet: the local server creates {} at its first start.\n",
                    dir.display(),
                    legacy_file(Alg::RS256)
                )
            } else {
                table(&["KID", "ALG", "STATE", "FILE"], &rows)
            };
            Ok(Output::new(
                json!({ "source": "single-file", "keys": keys }),
                human,
            ))
        }

        KeysCmd::CreateNext {
            alg,
            alias,
            server_alg,
            ..
        } => {
            if alias.is_some() {
                return Err("--alias is for KMS keys (--aws); local keys are files".into());
            }
            let alg = alg.alg();
            let mut m = current(dir, server_alg.map(|a| a.alg()))?;
            if let Some(next) = m.keys.iter().find(|k| k.state == KeyState::Next) {
                return Err(format!(
                    "a next key exists already ({}, {}): promote it first (`oidc-admin keys promote`)",
                    kid_of(dir, next)?,
                    next.file
                ));
            }
            std::fs::create_dir_all(dir)
                .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
            let file = format!(
                "signing-{}-{}.pk8",
                alg.as_str().to_lowercase(),
                random_token(6)
            );
            let signer = LocalSigner::create(&dir.join(&file), alg).map_err(|e| e.to_string())?;
            let first = m.keys.is_empty();
            let entry = KeyEntry {
                file,
                alg,
                state: if first {
                    KeyState::Active
                } else {
                    KeyState::Next
                },
            };
            m.keys.push(entry.clone());
            m.save(dir).map_err(|e| e.to_string())?;
            let kid = signer.public_key().kid.clone();
            let (keys, listing) = listing(dir, &m)?;
            let human = if first {
                format!(
                    "There was no signing key yet: created {kid} ({}, {}) as the active key.\n{RESTART}\n",
                    alg.as_str(),
                    entry.file
                )
            } else {
                format!(
                    "Created the next signing key {kid} ({}, {}).\n\
                     From the local server's next start it is published in the JWKS; the active key still signs.\n\
                     {RESTART}\n\
                     Once relying parties have refetched the JWKS ({JWKS_CACHE}), run `oidc-admin keys promote`.\n\n{listing}",
                    alg.as_str(),
                    entry.file
                )
            };
            Ok(Output::new(
                json!({ "created": key_json(&entry, &kid), "keys": keys }),
                human,
            ))
        }

        KeysCmd::Promote { .. } => {
            let mut m = current(dir, None)?;
            let Some(i) = m.keys.iter().position(|k| k.state == KeyState::Next) else {
                return Err(
                    "there is no next key: create one first (`oidc-admin keys create-next`)".into(),
                );
            };
            for k in &mut m.keys {
                if k.state == KeyState::Active {
                    k.state = KeyState::Previous;
                }
            }
            m.keys[i].state = KeyState::Active;
            m.save(dir).map_err(|e| e.to_string())?;
            let promoted = m.keys[i].clone();
            let kid = kid_of(dir, &promoted)?;
            let (keys, listing) = listing(dir, &m)?;
            Ok(Output::new(
                json!({ "promoted": key_json(&promoted, &kid), "keys": keys }),
                format!(
                    "{kid} signs from the local server's next start; the previous key stays published, \
                     so tokens it signed keep verifying.\n{RESTART}\n\
                     Retire the previous key (`oidc-admin keys retire`) once the longest token lifetime \
                     has passed (10 minutes by default).\n\n{listing}"
                ),
            ))
        }

        KeysCmd::EnvelopeCreate { .. } => Err(
            "envelope keys live in DynamoDB and KMS: run it with --aws (and --table); the local \
             server's keys are files (`oidc-admin keys create-next`)"
                .into(),
        ),

        KeysCmd::Retire { .. } => {
            let mut m = current(dir, None)?;
            let retired: Vec<KeyEntry> = m
                .keys
                .iter()
                .filter(|k| k.state == KeyState::Previous)
                .cloned()
                .collect();
            if retired.is_empty() {
                return Err("there is no previous key to retire".into());
            }
            let mut gone = Vec::new();
            for e in &retired {
                gone.push(key_json(e, &kid_of(dir, e)?));
            }
            m.keys.retain(|k| k.state != KeyState::Previous);
            m.save(dir).map_err(|e| e.to_string())?;
            // A retired key never signs or verifies again: its private key goes.
            for e in &retired {
                match std::fs::remove_file(dir.join(&e.file)) {
                    Err(err) if err.kind() != std::io::ErrorKind::NotFound => {
                        return Err(format!("{}: {err}", dir.join(&e.file).display()));
                    }
                    _ => {}
                }
            }
            let (keys, listing) = listing(dir, &m)?;
            let names: Vec<String> = gone
                .iter()
                .map(|k| k["kid"].as_str().unwrap_or_default().to_string())
                .collect();
            Ok(Output::new(
                json!({ "retired": gone, "keys": keys }),
                format!(
                    "Retired {} (key files deleted): tokens they signed no longer verify.\n{RESTART}\n\n{listing}",
                    names.join(", ")
                ),
            ))
        }
    }
}

mod aws {
    //! KMS and envelope keys of a deployment (or the emulator).
    use std::sync::Arc;

    use aws_sdk_kms::types::{KeySpec, KeyState as KmsKeyState};
    use shared::{
        signer::KeyEntry,
        store::{KeyStore, WrappedKey, dynamo::DynamoStore},
    };

    use super::*;

    struct KmsKey {
        id: String,
        arn: String,
        public: PublicKey,
        state: String,
    }

    fn alg_of(spec: &KeySpec) -> Option<Alg> {
        match spec {
            KeySpec::Rsa2048 | KeySpec::Rsa3072 | KeySpec::Rsa4096 => Some(Alg::RS256),
            KeySpec::EccNistP256 => Some(Alg::ES256),
            _ => None,
        }
    }

    async fn describe(kms: &aws_sdk_kms::Client, id: &str) -> Result<KmsKey, String> {
        let err = |op: &str, e: String| format!("kms {op} on {id}: {e}");
        let out = kms.get_public_key().key_id(id).send().await.map_err(|e| {
            err(
                "GetPublicKey",
                aws_sdk_kms::error::DisplayErrorContext(e).to_string(),
            )
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
            .ok_or_else(|| err("GetPublicKey", "not an RS256 or ES256 signing key".into()))?;
        let der = out
            .public_key()
            .ok_or_else(|| err("GetPublicKey", "no public key in the answer".into()))?;
        let public = PublicKey::from_spki_der(der.as_ref(), alg)
            .map_err(|e| err("GetPublicKey", e.to_string()))?;
        let meta = kms.describe_key().key_id(id).send().await.map_err(|e| {
            err(
                "DescribeKey",
                aws_sdk_kms::error::DisplayErrorContext(e).to_string(),
            )
        })?;
        let meta = meta
            .key_metadata()
            .ok_or_else(|| err("DescribeKey", "no metadata in the answer".into()))?;
        Ok(KmsKey {
            id: id.to_string(),
            arn: meta.arn().unwrap_or(meta.key_id()).to_string(),
            public,
            state: meta
                .key_state()
                .map_or("unknown", KmsKeyState::as_str)
                .to_string(),
        })
    }

    fn key_json(k: &KmsKey, role: &str) -> Value {
        json!({
            "key": k.id,
            "arn": k.arn,
            "kid": k.public.kid,
            "alg": k.public.alg.as_str(),
            "state": role,
            "enabled": k.state == "Enabled",
            "key_state": k.state,
        })
    }

    /// `alias/<stack>-signing-a` → ("<stack>", 'A'): template.yaml's key slots.
    fn slot(alias: &str) -> Option<(String, char)> {
        let (stack, s) = alias.strip_prefix("alias/")?.rsplit_once("-signing-")?;
        match s {
            "a" => Some((stack.to_string(), 'A')),
            "b" => Some((stack.to_string(), 'B')),
            _ => None,
        }
    }

    fn other(s: char) -> char {
        if s == 'A' { 'B' } else { 'A' }
    }

    /// Whether `path` is this project's SAM template with the two key slots.
    fn has_slots(path: &Path) -> bool {
        std::fs::read_to_string(path)
            .is_ok_and(|t| t.contains("ActiveSigningKey:") && t.contains("PublishedSigningKeys:"))
    }

    fn sam_steps(overrides: &str) -> String {
        format!(
            "  sam deploy --parameter-overrides {overrides}\n\
             and save the same values in samconfig.toml (parameter_overrides): a later plain \
             `sam deploy` applies what is saved there (see infra/DEPLOY.md, \"Rotating the signing key\").\n"
        )
    }

    fn need_keys(g: &Global) -> Result<&[String], String> {
        if g.signing_keys.is_empty() {
            return Err(
                "give the deployment's keys with --signing-keys (or SIGNING_KEYS), the signing \
                 one first: the stack output SigningKeys has them"
                    .into(),
            );
        }
        Ok(&g.signing_keys)
    }

    /// The new SIGNING_KEYS, the sam parameters (with the template's slots), and the text.
    fn plan(
        new_keys: &[String],
        template: &Path,
        overrides: Option<String>,
        intro: &str,
        after: &str,
    ) -> Output {
        let joined = new_keys.join(",");
        let mut human = format!(
            "Nothing was changed: on AWS the published keys are the deployment's SIGNING_KEYS.\n{intro}\n"
        );
        match (&overrides, has_slots(template)) {
            (Some(o), true) => {
                human.push_str(&format!("Deploy {} with:\n", template.display()));
                human.push_str(&sam_steps(o));
                human.push_str(&format!(
                    "The functions then run with SIGNING_KEYS={joined}\n"
                ));
            }
            _ => human.push_str(&format!(
                "Set SIGNING_KEYS={joined} on every function (and the local server's \
                 --signing-keys) and deploy.\n"
            )),
        }
        human.push_str(after);
        Output::new(
            json!({
                "changed": false,
                "signing_keys": new_keys,
                "sam_parameter_overrides": overrides,
            }),
            human,
        )
    }

    const ENVELOPE: &str = shared::signer::envelope::ENTRY_PREFIX;

    async fn table_store(g: &Global) -> Result<Arc<dyn KeyStore>, String> {
        let sdk = shared::aws::aws_config().await;
        Ok(Arc::new(DynamoStore::new(
            shared::aws::dynamodb_client(&sdk),
            &g.table,
        )))
    }

    /// An envelope key's item (no KMS call: the public key is stored with it).
    async fn wrapped(g: &Global, id: &str) -> Result<WrappedKey, String> {
        table_store(g)
            .await?
            .wrapped_key(id)
            .await
            .map_err(crate::backend::store_error)?
            .ok_or_else(|| {
                format!(
                    "no envelope key {id:?} in table {} (check --table / TABLE_NAME)",
                    g.table
                )
            })
    }

    async fn describe_envelope(
        g: &Global,
        id: &str,
        role: &str,
    ) -> Result<(Value, Vec<String>), String> {
        let item = wrapped(g, id).await?;
        let public = shared::crypto::b64url_decode(&item.spki)
            .ok_or_else(|| format!("envelope key {id}: its public key is not base64url"))
            .and_then(|der| {
                PublicKey::from_spki_der(&der, item.alg)
                    .map_err(|e| format!("envelope key {id}: {e}"))
            })?;
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

    /// Whether `path` is this project's SAM template with the envelope mode parameters.
    fn has_envelope_mode(path: &Path) -> bool {
        std::fs::read_to_string(path)
            .is_ok_and(|t| t.contains("SigningMode:") && t.contains("EnvelopeKeyId:"))
    }

    async fn envelope_create(
        g: &Global,
        kms: &aws_sdk_kms::Client,
        wrapping_key: &str,
        alg: Alg,
        id: Option<String>,
        create_wrapping_key: bool,
        template: &Path,
    ) -> Result<Output, String> {
        use shared::signer::envelope;
        let id = id.unwrap_or_else(|| {
            format!(
                "{}-{}",
                alg.as_str().to_lowercase(),
                random_token(6).replace(['-', '_'], "x")
            )
        });
        if !shared::signer::valid_envelope_id(&id) {
            return Err(format!(
                "--id {id:?}: 1 to 64 letters, digits, '.', '_' or '-'"
            ));
        }
        let current = shared::signer::KeyEntry::parse_all(&g.signing_keys).ok();
        // Before anything is created: what the deployment's next step is.
        let active_envelope = match current.as_ref().and_then(|c| c.first()) {
            Some(KeyEntry::Envelope(active)) => {
                Some((active.clone(), wrapped(g, active).await?.alg))
            }
            _ => None,
        };
        let wrapping_key = if create_wrapping_key {
            envelope::create_wrapping_key(kms, wrapping_key)
                .await
                .map_err(|e| format!("--create-wrapping-key {wrapping_key}: {e}"))?
        } else {
            wrapping_key.to_string()
        };
        let store = table_store(g).await?;
        let item = envelope::create_wrapped_key(kms, store.as_ref(), &wrapping_key, alg, &id)
            .await
            .map_err(|e| match e {
                shared::signer::SignerError::Unavailable(m)
                    if m.contains("ResourceNotFoundException") =>
                {
                    crate::backend::store_error(shared::store::StoreError::Unavailable(m))
                }
                e => e.to_string(),
            })?;
        let kid = shared::crypto::b64url_decode(&item.spki)
            .and_then(|der| PublicKey::from_spki_der(&der, alg).ok())
            .map(|k| k.kid)
            .unwrap_or_default();
        let entry = format!("{ENVELOPE}{id}");

        // The next SIGNING_KEYS: published after the active key (or alone, for a deployment
        // without keys yet), and the template parameters that say the same.
        let (signing_keys, overrides, step) = match (&current, &active_envelope) {
            (None, _) => (
                vec![entry.clone()],
                format!(
                    "SigningMode=envelope EnvelopeKeyId={id} EnvelopeKeyAlgorithms={}",
                    alg.as_str()
                ),
                "A deployment without tokens yet can sign with it at once; for one that signs \
                 with KMS now, give its --signing-keys (the stack output SigningKeys) to get the \
                 steps that keep issued tokens verifiable."
                    .to_string(),
            ),
            (Some(_), Some((active, active_alg))) => {
                let mut keys = g.signing_keys.clone();
                keys.retain(|k| *k != entry);
                keys.insert(1, entry.clone());
                (
                    keys,
                    format!(
                        "EnvelopeKeyId={active},{id} EnvelopeKeyAlgorithms={},{}",
                        active_alg.as_str(),
                        alg.as_str()
                    ),
                    format!(
                        "Publish it after the active key, wait for relying parties and the verifying \
                         functions to refetch the key set ({JWKS_CACHE}), then make it sign \
                         (EnvelopeKeyId={id},{active})."
                    ),
                )
            }
            (Some(_), None) => {
                let mut keys = g.signing_keys.clone();
                keys.push(entry.clone());
                (
                    keys,
                    format!(
                        "SigningMode=kms-publishing-envelope EnvelopeKeyId={id} EnvelopeKeyAlgorithms={}",
                        alg.as_str()
                    ),
                    format!(
                        "Publish it after the KMS keys, wait for relying parties and the verifying \
                         functions to refetch the key set ({JWKS_CACHE}), then make it sign \
                         (SigningMode=envelope PublishedSigningKeys=both)."
                    ),
                )
            }
        };
        let joined = signing_keys.join(",");
        let mut human = format!(
            "Created envelope key {id} ({}, kid {kid}): its private key is stored in table {}, \
             encrypted under {}.\nIts SIGNING_KEYS entry: {entry}\n{step}\n",
            alg.as_str(),
            g.table,
            item.wrapping_key
        );
        let overrides = has_envelope_mode(template).then_some(overrides);
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
                 key (encryption context purpose={}), token and jwks GetItem on wrapped-key#{id}.\n",
                envelope::PURPOSE
            )),
        }
        Ok(Output::new(
            json!({
                "created": {
                    "id": id,
                    "entry": entry,
                    "kid": kid,
                    "alg": alg.as_str(),
                    "wrapping_key": item.wrapping_key,
                },
                "signing_keys": signing_keys,
                "sam_parameter_overrides": overrides,
            }),
            human,
        ))
    }

    pub async fn run(g: &Global, cmd: KeysCmd) -> Result<Output, String> {
        let sdk = shared::aws::aws_config().await;
        if sdk.region().is_none() {
            return Err(
                "--aws: no AWS region configured: set AWS_REGION (and credentials, or a profile)"
                    .into(),
            );
        }
        let kms = shared::aws::kms_client(&sdk);
        match cmd {
            KeysCmd::List => {
                let ids = need_keys(g)?;
                let mut json = Vec::new();
                let mut rows = Vec::new();
                for (i, id) in ids.iter().enumerate() {
                    let role = if i == 0 { "active" } else { "published" };
                    if let Some(envelope_id) = id.strip_prefix(ENVELOPE) {
                        let (v, row) = describe_envelope(g, envelope_id, role).await?;
                        json.push(v);
                        rows.push(row);
                        continue;
                    }
                    let k = describe(&kms, id).await?;
                    json.push(key_json(&k, role));
                    rows.push(vec![
                        k.public.kid.clone(),
                        k.public.alg.as_str().to_string(),
                        role.to_string(),
                        k.state.clone(),
                        k.id.clone(),
                    ]);
                }
                Ok(Output::new(
                    json!({ "source": "kms", "keys": json }),
                    table(&["KID", "ALG", "STATE", "KMS STATE", "KEY"], &rows),
                ))
            }

            KeysCmd::EnvelopeCreate {
                wrapping_key,
                alg,
                id,
                create_wrapping_key,
                template,
            } => {
                envelope_create(
                    g,
                    &kms,
                    &wrapping_key,
                    alg.alg(),
                    id,
                    create_wrapping_key,
                    &template,
                )
                .await
            }

            KeysCmd::CreateNext {
                alg,
                alias,
                template,
                ..
            } => {
                let alg = alg.alg();
                let active_slot = g.signing_keys.first().and_then(|k| slot(k));
                let Some(alias) = alias else {
                    // template.yaml creates slot keys itself: only the parameters change.
                    let Some((_, s)) = active_slot.filter(|_| has_slots(&template)) else {
                        return Err(
                            "give --alias alias/NAME for the new KMS key (with template.yaml's \
                             key slots, run this where template.yaml is, with --signing-keys from \
                             the stack output SigningKeys, to get the parameter change instead)"
                                .into(),
                        );
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
                    return Ok(plan(
                        &keys,
                        &template,
                        Some(overrides),
                        &format!(
                            "The stack creates the next key (slot {next}) itself and publishes it; slot {s} still signs.\n\
                             Promote it (`oidc-admin --aws keys promote`) once relying parties have refetched the JWKS ({JWKS_CACHE})."
                        ),
                        "",
                    ));
                };
                let key_id = shared::signer::kms::create_signing_key(&kms, &alias, alg)
                    .await
                    .map_err(|e| e.to_string())?;
                let k = describe(&kms, &key_id).await?;
                let mut keys = g.signing_keys.clone();
                if keys.is_empty() {
                    keys.push("<the active key>".into());
                }
                keys.retain(|x| *x != alias);
                keys.insert(1, alias.clone());
                let mut out = plan(
                    &keys,
                    &template,
                    None,
                    &format!(
                        "Created KMS key {key_id} as {alias}: kid {}, {}.\n\
                         Publish it after the active key, wait for relying parties to refetch the JWKS ({JWKS_CACHE}), \
                         then promote it (`oidc-admin --aws keys promote`).",
                        k.public.kid,
                        k.public.alg.as_str()
                    ),
                    "",
                );
                out.json["created"] = key_json(&k, "next");
                Ok(out)
            }

            KeysCmd::Promote { template } => {
                let ids = need_keys(g)?;
                if ids.len() < 2 {
                    return Err(format!(
                        "only {} is published: create the next key, deploy it, and wait for \
                         relying parties to refetch the JWKS ({JWKS_CACHE}) first",
                        ids[0]
                    ));
                }
                let mut keys = ids.to_vec();
                keys.swap(0, 1);
                let overrides = slot(&keys[0])
                    .map(|(_, s)| format!("ActiveSigningKey={s} PublishedSigningKeys=both"));
                Ok(plan(
                    &keys,
                    &template,
                    overrides,
                    &format!(
                        "Promote {}: it signs, and {} stays published so tokens it signed keep verifying.\n\
                         Retire the old key (`oidc-admin --aws keys retire`) once the longest token lifetime has passed.",
                        keys[0], keys[1]
                    ),
                    "",
                ))
            }

            KeysCmd::Retire { template } => {
                let ids = need_keys(g)?;
                if ids.len() < 2 {
                    return Err(format!(
                        "nothing to retire: only the signing key {} is published",
                        ids[0]
                    ));
                }
                let keys = vec![ids[0].clone()];
                let overrides = slot(&keys[0])
                    .map(|(_, s)| format!("ActiveSigningKey={s} PublishedSigningKeys=active-only"));
                let mut arns = Vec::new();
                let mut items = Vec::new();
                for id in &ids[1..] {
                    if let Some(envelope_id) = id.strip_prefix(ENVELOPE) {
                        items.push(envelope_id.to_string());
                        arns.push(id.clone());
                        continue;
                    }
                    // The alias may leave with the deployment: name the key by its ARN.
                    arns.push(match describe(&kms, id).await {
                        Ok(k) => k.arn,
                        Err(_) => id.clone(),
                    });
                }
                let intro = format!(
                    "Retire {}: tokens it signed stop verifying, so the longest token lifetime must have passed.",
                    ids[1..].join(", ")
                );
                let mut after = String::new();
                if arns.iter().any(|a| !a.starts_with(ENVELOPE)) {
                    after.push_str(
                        "After the deploy, once you are sure, disable and delete the old key:\n",
                    );
                }
                for arn in arns.iter().filter(|a| !a.starts_with(ENVELOPE)) {
                    after.push_str(&format!(
                        "  aws kms disable-key --key-id {arn}\n  aws kms schedule-key-deletion --key-id {arn} --pending-window-in-days 30\n"
                    ));
                }
                if !items.is_empty() {
                    after.push_str(
                        "After the deploy, once you are sure, delete the old envelope key's item \
                         (the wrapping key stays: it may wrap other keys):\n",
                    );
                }
                for id in &items {
                    // Only the wrapped blob goes; the wrapping key may wrap other keys.
                    after.push_str(&format!(
                        "  aws dynamodb delete-item --table-name {} --key '{{\"pk\":{{\"S\":\"wrapped-key#{id}\"}}}}'\n",
                        g.table
                    ));
                }
                let mut out = plan(&keys, &template, overrides, &intro, &after);
                out.json["retired"] = json!(arns);
                Ok(out)
            }
        }
    }
}
