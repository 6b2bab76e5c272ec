//! The keys of a deployment (or the emulator): its SIGNING_KEYS, KMS and envelope keys.
use std::path::Path;

use serde_json::json;

use super::{
    KeysError, envelope,
    envelope::ENVELOPE,
    kms::{self, describe},
    plan::{need_keys, plan, slot},
};
use crate::{
    Global, KeysCmd,
    output::{Output, table},
};

pub async fn run(g: &Global, cmd: KeysCmd) -> Result<Output, KeysError> {
    let sdk = shared::aws::aws_config().await;
    if sdk.region().is_none() {
        return Err(KeysError::refused(
            "--aws: no AWS region configured: set AWS_REGION (and credentials, or a profile)",
        ));
    }
    let kms = shared::aws::kms_client(&sdk);
    match cmd {
        KeysCmd::List => list(g, &kms).await,
        KeysCmd::EnvelopeCreate {
            wrapping_key,
            alg,
            id,
            create_wrapping_key,
            template,
        } => {
            let wrapping = envelope::Wrapping {
                key: &wrapping_key,
                create: create_wrapping_key,
            };
            envelope::create(g, &kms, wrapping, alg.alg(), id, &template).await
        }
        KeysCmd::CreateNext {
            alg,
            alias: Some(alias),
            template,
            ..
        } => kms::create_next(g, &kms, alias, alg.alg(), &template).await,
        KeysCmd::CreateNext {
            alg,
            alias: None,
            template,
            ..
        } => kms::create_next_slot(g, alg.alg(), &template),
        KeysCmd::Promote { template } => promote(g, &template),
        KeysCmd::Retire { template } => retire(g, &kms, &template).await,
    }
}

async fn list(g: &Global, kms: &aws_sdk_kms::Client) -> Result<Output, KeysError> {
    let ids = need_keys(g)?;
    let mut json = Vec::new();
    let mut rows = Vec::new();
    for (i, id) in ids.iter().enumerate() {
        let role = if i == 0 { "active" } else { "published" };
        if let Some(envelope_id) = id.strip_prefix(ENVELOPE) {
            let (v, row) = envelope::describe(g, envelope_id, role).await?;
            json.push(v);
            rows.push(row);
            continue;
        }
        let k = describe(kms, id).await?;
        json.push(k.json(role));
        rows.push(vec![
            k.public.kid.clone(),
            k.public.alg.as_str().to_string(),
            role.to_string(),
            k.state_name().to_string(),
            k.id.clone(),
        ]);
    }
    Ok(Output::new(
        json!({ "source": "kms", "keys": json }),
        table(&["KID", "ALG", "STATE", "KMS STATE", "KEY"], &rows),
    ))
}

fn promote(g: &Global, template: &Path) -> Result<Output, KeysError> {
    let ids = need_keys(g)?;
    if ids.len() < 2 {
        return Err(KeysError::refused(format!(
            "only {} is published: create the next key, deploy it, and wait \
             {} first",
            ids[0],
            super::JWKS_CACHE
        )));
    }
    let mut keys = ids.to_vec();
    keys.swap(0, 1);
    let overrides =
        slot(&keys[0]).map(|(_, s)| format!("ActiveSigningKey={s} PublishedSigningKeys=both"));
    Ok(plan(
        &keys,
        template,
        overrides,
        &format!(
            "Promote {}: it signs, and {} stays published so tokens it signed keep verifying.\n\
             Retire the old key (`oidc-admin --aws keys retire`) once the longest token lifetime has passed.",
            keys[0], keys[1]
        ),
        "",
    ))
}

async fn retire(
    g: &Global,
    kms: &aws_sdk_kms::Client,
    template: &Path,
) -> Result<Output, KeysError> {
    let ids = need_keys(g)?;
    if ids.len() < 2 {
        return Err(KeysError::refused(format!(
            "nothing to retire: only the signing key {} is published",
            ids[0]
        )));
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
        arns.push(match describe(kms, id).await {
            Ok(k) => k.arn,
            Err(_) => id.clone(),
        });
    }
    let intro = format!(
        "Retire {}: tokens it signed stop verifying, so the longest token lifetime must have passed.",
        ids[1..].join(", ")
    );
    let after = cleanup_steps(&g.table, &arns, &items);
    let mut out = plan(&keys, template, overrides, &intro, &after);
    out.json["retired"] = json!(arns);
    Ok(out)
}

/// What to delete by hand once the deploy is out: the KMS keys, and the envelope keys' items.
fn cleanup_steps(table: &str, arns: &[String], items: &[String]) -> String {
    let mut after = String::new();
    if arns.iter().any(|a| !a.starts_with(ENVELOPE)) {
        after.push_str("After the deploy, once you are sure, disable and delete the old key:\n");
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
    for id in items {
        // Only the wrapped blob goes; the wrapping key may wrap other keys.
        after.push_str(&format!(
            "  aws dynamodb delete-item --table-name {table} --key '{{\"pk\":{{\"S\":\"wrapped-key#{id}\"}}}}'\n"
        ));
    }
    after
}
