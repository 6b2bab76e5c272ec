//! On AWS nothing changes in place: the published keys are the deployment's SIGNING_KEYS, so
//! each step prints the next SIGNING_KEYS and, with template.yaml, its parameter change.
use std::path::Path;

use serde_json::json;

use super::KeysError;
use crate::{Global, output::Output};

/// `alias/<stack>-signing-a` → ("<stack>", 'A'): template.yaml's key slots.
pub fn slot(alias: &str) -> Option<(String, char)> {
    let (stack, s) = alias.strip_prefix("alias/")?.rsplit_once("-signing-")?;
    match s {
        "a" => Some((stack.to_string(), 'A')),
        "b" => Some((stack.to_string(), 'B')),
        _ => None,
    }
}

pub fn other(s: char) -> char {
    if s == 'A' { 'B' } else { 'A' }
}

/// Whether `path` is this project's SAM template with the two key slots.
pub fn has_slots(path: &Path) -> bool {
    std::fs::read_to_string(path)
        .is_ok_and(|t| t.contains("ActiveSigningKey:") && t.contains("PublishedSigningKeys:"))
}

/// Whether `path` is this project's SAM template with the envelope mode parameters.
pub fn has_envelope_mode(path: &Path) -> bool {
    std::fs::read_to_string(path)
        .is_ok_and(|t| t.contains("SigningMode:") && t.contains("EnvelopeKeyId:"))
}

fn sam_steps(overrides: &str) -> String {
    format!(
        "  sam deploy --parameter-overrides {overrides}\n\
         and save the same values in samconfig.toml (parameter_overrides): a later plain \
         `sam deploy` applies what is saved there (see infra/DEPLOY.md, \"Rotating the signing key\").\n"
    )
}

pub fn need_keys(g: &Global) -> Result<&[String], KeysError> {
    if g.signing_keys.is_empty() {
        return Err(KeysError::refused(
            "give the deployment's keys with --signing-keys (or SIGNING_KEYS), the signing \
             one first: the stack output SigningKeys has them",
        ));
    }
    Ok(&g.signing_keys)
}

/// The new SIGNING_KEYS, the sam parameters (with the template's slots), and the text.
pub fn plan(
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
