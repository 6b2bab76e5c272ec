//! `users import`: every line is parsed and checked (and existing users looked up) before
//! anything is written, so a bad file changes nothing.
use std::{collections::HashSet, path::Path, sync::Arc};

use serde_json::json;
use shared::{
    password,
    seed::SeedUser,
    store::{Store, User},
};

use super::{new_user, write_error};
use crate::{backend::store_error, input::now_ms, output::Output};

pub async fn run(store: &Arc<dyn Store>, file: &Path, update: bool) -> Result<Output, String> {
    let name = file.display().to_string();
    let text = if name == "-" {
        std::io::read_to_string(std::io::stdin()).map_err(|e| format!("standard input: {e}"))?
    } else {
        std::fs::read_to_string(file).map_err(|e| format!("{name}: {e}"))?
    };
    let lines = parse(&name, &text)?;
    let existing = existing(store, &name, &lines, update).await?;
    let (created, updated) = write(store, &name, lines, existing).await?;
    let human = format!(
        "Imported {} users: {} created, {} updated.",
        created.len() + updated.len(),
        created.len(),
        updated.len()
    );
    Ok(Output::new(
        json!({ "created": created, "updated": updated }),
        human,
    ))
}

/// A failure at line `n` before anything was written.
fn before_any(name: &str, n: usize, m: String) -> String {
    format!("{name}: line {n}: {m}; nothing was imported")
}

/// The file's users with their line numbers, each checked as a seed file's user is, with a
/// password or an argon2 hash, and no username or sub twice.
fn parse(name: &str, text: &str) -> Result<Vec<(usize, SeedUser)>, String> {
    let mut lines: Vec<(usize, SeedUser)> = Vec::new();
    let (mut names, mut subs) = (HashSet::new(), HashSet::new());
    for (i, line) in text.lines().enumerate() {
        let n = i + 1;
        if line.trim().is_empty() {
            continue;
        }
        let at = |m: String| before_any(name, n, m);
        let su: SeedUser = serde_json::from_str(line).map_err(|e| at(e.to_string()))?;
        su.validate().map_err(|e| at(e.to_string()))?;
        match (&su.password, &su.password_hash) {
            (Some(_), None) => {}
            (None, Some(h)) if password::is_argon2_phc(h) => {}
            (None, Some(_)) => return Err(at("password_hash must be an argon2 PHC string".into())),
            _ => return Err(at("give either password or password_hash".into())),
        }
        if !names.insert(su.username.clone()) {
            return Err(at(format!("{:?} appears twice", su.username)));
        }
        if let Some(sub) = &su.sub
            && !subs.insert(sub.clone())
        {
            return Err(at(format!("the sub {sub:?} appears twice")));
        }
        lines.push((n, su));
    }
    Ok(lines)
}

/// Each line's existing user, if any: allowed only with `update`, and with the same sub.
async fn existing(
    store: &Arc<dyn Store>,
    name: &str,
    lines: &[(usize, SeedUser)],
    update: bool,
) -> Result<Vec<Option<User>>, String> {
    let mut existing = Vec::new();
    for (n, su) in lines {
        let at = |m: String| before_any(name, *n, m);
        let old = store
            .user_by_username(&su.username)
            .await
            .map_err(store_error)?;
        if let Some(old) = &old {
            if !update {
                return Err(at(format!(
                    "the user {:?} exists already (--update updates existing users)",
                    su.username
                )));
            }
            if su.sub.as_ref().is_some_and(|s| *s != old.sub) {
                return Err(at(format!(
                    "the user {:?} exists with another sub",
                    su.username
                )));
            }
        }
        existing.push(old);
    }
    Ok(existing)
}

/// Creates or updates each user; the usernames created and updated.
async fn write(
    store: &Arc<dyn Store>,
    name: &str,
    lines: Vec<(usize, SeedUser)>,
    existing: Vec<Option<User>>,
) -> Result<(Vec<String>, Vec<String>), String> {
    let (mut created, mut updated) = (Vec::new(), Vec::new());
    for ((n, su), old) in lines.into_iter().zip(existing) {
        let done = created.len() + updated.len();
        let at = |m: String| {
            format!("{name}: line {n}: {m}; the {done} users before this line were imported")
        };
        let hash = su
            .password_hash(old.as_ref())
            .map_err(|e| at(e.to_string()))?;
        match old {
            None => {
                let user = new_user(su, hash);
                store
                    .create_user(&user)
                    .await
                    .map_err(|e| at(write_error(e, &user)))?;
                created.push(user.username);
            }
            Some(old) => {
                let mut user = User {
                    claims: su.claims,
                    custom_claims: su.custom_claims,
                    ..old
                };
                user.set_password_hash(hash, now_ms());
                store
                    .update_user(&user)
                    .await
                    .map_err(|e| at(write_error(e, &user)))?;
                updated.push(user.username);
            }
        }
    }
    Ok((created, updated))
}
