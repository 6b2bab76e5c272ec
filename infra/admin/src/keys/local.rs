//! The local server's keys: files in the data directory, listed in its `keys.json`.
use std::path::Path;

use serde_json::{Value, json};
use shared::{
    crypto::random_token,
    signer::{
        Alg,
        local::LocalSigner,
        manifest::{KeyFile, KeyManifest, KeyState, legacy_file},
    },
};

use super::{JWKS_CACHE, KeysError};
use crate::{
    KeysCmd,
    output::{Output, table},
};

const RESTART: &str = "The local server reads the keys when it starts: restart it \
                       (`cargo run -p oidc-local`) to apply this.";

pub fn run(dir: &Path, cmd: KeysCmd) -> Result<Output, KeysError> {
    match cmd {
        KeysCmd::List => list(dir),
        KeysCmd::CreateNext {
            alg,
            alias,
            server_alg,
            ..
        } => {
            if alias.is_some() {
                return Err(KeysError::refused(
                    "--alias is for KMS keys (--aws); local keys are files",
                ));
            }
            create_next(dir, alg.alg(), server_alg.map(|a| a.alg()))
        }
        KeysCmd::Promote { .. } => promote(dir),
        KeysCmd::EnvelopeCreate { .. } => Err(KeysError::refused(
            "envelope keys live in DynamoDB and KMS: run it with --aws (and --table); the local \
             server's keys are files (`oidc-admin keys create-next`)",
        )),
        KeysCmd::Retire { .. } => retire(dir),
    }
}

fn key_json(e: &KeyFile, kid: &str) -> Value {
    json!({ "kid": kid, "alg": e.alg.as_str(), "state": e.state.as_str(), "file": e.file })
}

/// The manifest, or what the server's single key file amounts to before the first rotation.
fn current(dir: &Path, server_alg: Option<Alg>) -> Result<KeyManifest, KeysError> {
    if let Some(m) = KeyManifest::load(dir)? {
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
            return Err(KeysError::refused(format!(
                "--server-alg: {} does not exist in {}",
                legacy_file(a),
                dir.display()
            )));
        }
        ([a], None) => *a,
        (_, None) => {
            return Err(KeysError::refused(format!(
                "both {} and {} exist in {}: say which one the local server signs with \
                 (--server-alg rs256 for its default, es256 if it runs with --alg es256)",
                legacy_file(Alg::RS256),
                legacy_file(Alg::ES256),
                dir.display()
            )));
        }
    };
    Ok(KeyManifest {
        keys: vec![KeyFile {
            file: legacy_file(active),
            alg: active,
            state: KeyState::Active,
        }],
    })
}

fn kid_of(dir: &Path, e: &KeyFile) -> Result<String, KeysError> {
    Ok(LocalSigner::load(&dir.join(&e.file), e.alg)?
        .public_key()
        .kid
        .clone())
}

/// The keys in published order with their kids, as JSON and as a table.
fn listing(dir: &Path, m: &KeyManifest) -> Result<(Vec<Value>, String), KeysError> {
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

fn list(dir: &Path) -> Result<Output, KeysError> {
    if let Some(m) = KeyManifest::load(dir)? {
        let (keys, human) = listing(dir, &m)?;
        return Ok(Output::new(
            json!({ "source": "keys.json", "keys": keys }),
            human,
        ));
    }
    list_single_files(dir)
}

/// No rotation yet: the server signs with signing-<its --alg>.pk8.
fn list_single_files(dir: &Path) -> Result<Output, KeysError> {
    let mut keys = Vec::new();
    let mut rows = Vec::new();
    for alg in [Alg::RS256, Alg::ES256] {
        let e = KeyFile {
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

fn create_next(dir: &Path, alg: Alg, server_alg: Option<Alg>) -> Result<Output, KeysError> {
    let mut m = current(dir, server_alg)?;
    if let Some(next) = m.keys.iter().find(|k| k.state == KeyState::Next) {
        return Err(KeysError::refused(format!(
            "a next key exists already ({}, {}): promote it first (`oidc-admin keys promote`)",
            kid_of(dir, next)?,
            next.file
        )));
    }
    std::fs::create_dir_all(dir).map_err(|source| KeysError::CreateDir {
        path: dir.to_path_buf(),
        source,
    })?;
    let file = format!(
        "signing-{}-{}.pk8",
        alg.as_str().to_lowercase(),
        random_token(6)
    );
    let signer = LocalSigner::create(&dir.join(&file), alg)?;
    let first = m.keys.is_empty();
    let entry = KeyFile {
        file,
        alg,
        state: if first {
            KeyState::Active
        } else {
            KeyState::Next
        },
    };
    m.keys.push(entry.clone());
    m.save(dir)?;
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
             Wait {JWKS_CACHE}, then run `oidc-admin keys promote`.\n\n{listing}",
            alg.as_str(),
            entry.file
        )
    };
    Ok(Output::new(
        json!({ "created": key_json(&entry, &kid), "keys": keys }),
        human,
    ))
}

fn promote(dir: &Path) -> Result<Output, KeysError> {
    let mut m = current(dir, None)?;
    let Some(i) = m.keys.iter().position(|k| k.state == KeyState::Next) else {
        return Err(KeysError::refused(
            "there is no next key: create one first (`oidc-admin keys create-next`)",
        ));
    };
    for k in &mut m.keys {
        if k.state == KeyState::Active {
            k.state = KeyState::Previous;
        }
    }
    m.keys[i].state = KeyState::Active;
    m.save(dir)?;
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

fn retire(dir: &Path) -> Result<Output, KeysError> {
    let mut m = current(dir, None)?;
    let retired: Vec<KeyFile> = m
        .keys
        .iter()
        .filter(|k| k.state == KeyState::Previous)
        .cloned()
        .collect();
    if retired.is_empty() {
        return Err(KeysError::refused("there is no previous key to retire"));
    }
    let mut gone = Vec::new();
    for e in &retired {
        gone.push(key_json(e, &kid_of(dir, e)?));
    }
    m.keys.retain(|k| k.state != KeyState::Previous);
    m.save(dir)?;
    // A retired key never signs or verifies again: its private key goes.
    for e in &retired {
        let path = dir.join(&e.file);
        match std::fs::remove_file(&path) {
            Err(source) if source.kind() != std::io::ErrorKind::NotFound => {
                return Err(KeysError::Io { path, source });
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
