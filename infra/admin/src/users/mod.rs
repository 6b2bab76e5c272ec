//! `oidc-admin users ...`: validation and hashing exactly as seeding does (shared::seed).
use std::{collections::HashSet, sync::Arc};

use serde_json::{Map, Value, json};
use shared::{
    password,
    seed::SeedUser,
    store::{CustomClaim, Store, StoreError, User},
};

use crate::{
    UsersCmd,
    backend::store_error,
    input::{self, now_ms},
    output::{Output, table},
};

fn view(u: &User) -> Value {
    json!({
        "sub": u.sub,
        "username": u.username,
        "disabled": u.disabled,
        "claims": u.claims,
        "custom_claims": u.custom_claims,
        "tokens_valid_after": u.tokens_valid_after,
    })
}

fn status(u: &User) -> &'static str {
    if u.disabled { "disabled" } else { "active" }
}

async fn find(store: &Arc<dyn Store>, username: &str) -> Result<User, String> {
    store
        .user_by_username(username)
        .await
        .map_err(store_error)?
        .ok_or_else(|| format!("no user named {username:?} (see `oidc-admin users list`)"))
}

/// A store error about `user`, uniqueness conflicts spelled out.
/// Writes an updated user and reports it with `message`.
async fn save(store: &Arc<dyn Store>, u: &User, message: String) -> Result<Output, String> {
    store.update_user(u).await.map_err(|e| write_error(e, u))?;
    Ok(Output::new(json!({ "user": view(u) }), message))
}

fn write_error(e: StoreError, user: &User) -> String {
    match e {
        StoreError::Conflict(kind) if kind == "username" => {
            format!("the username {:?} is taken", user.username)
        }
        StoreError::Conflict(kind) if kind.starts_with("email") => format!(
            "the email {:?} belongs to another user",
            user.email().unwrap_or_default()
        ),
        StoreError::Conflict(kind) if kind == "user" => {
            format!("the sub {:?} is taken", user.sub)
        }
        e => store_error(e),
    }
}

/// Checks claims the way a seed file's user is checked.
fn check(
    username: &str,
    claims: &Map<String, Value>,
    custom: &[CustomClaim],
) -> Result<(), String> {
    seed_user(json!({
        "username": username,
        "claims": claims,
        "custom_claims": custom,
    }))?
    .validate()
    .map_err(|e| e.to_string())
}

fn seed_user(v: Value) -> Result<SeedUser, String> {
    serde_json::from_value(v).map_err(|e| e.to_string())
}

fn apply_custom(custom: &mut Vec<CustomClaim>, c: CustomClaim) {
    custom.retain(|o| o.name != c.name);
    custom.push(c);
}

pub async fn run(store: &Arc<dyn Store>, cmd: UsersCmd) -> Result<Output, String> {
    match cmd {
        UsersCmd::Create {
            username,
            email,
            claims,
            custom_claims,
            sub,
            password_stdin,
        } => {
            let mut map = Map::new();
            for c in &claims {
                let (k, v) = input::claim(c)?;
                if !v.is_null() {
                    map.insert(k, v);
                }
            }
            if let Some(e) = email {
                map.insert("email".into(), Value::String(e));
            }
            let mut custom = Vec::new();
            for c in &custom_claims {
                apply_custom(&mut custom, input::custom_claim(c)?);
            }
            let mut su = seed_user(json!({
                "username": username,
                "claims": map,
                "custom_claims": custom,
                "sub": sub,
            }))?;
            su.validate().map_err(|e| e.to_string())?;
            // Refuse before asking for a password.
            if store
                .user_by_username(&username)
                .await
                .map_err(store_error)?
                .is_some()
            {
                return Err(format!(
                    "a user named {username:?} exists already (`oidc-admin users show {username}`)"
                ));
            }
            su.password = Some(input::password(password_stdin)?);
            let user = User::new(
                su.sub.clone(),
                su.username.clone(),
                su.password_hash(None).map_err(|e| e.to_string())?,
                su.claims,
                su.custom_claims,
                now_ms(),
            );
            store
                .create_user(&user)
                .await
                .map_err(|e| write_error(e, &user))?;
            Ok(Output::new(
                json!({ "user": view(&user) }),
                format!("Created user {} (sub {}).", user.username, user.sub),
            ))
        }

        UsersCmd::Import { file, update } => import(store, &file, update).await,

        UsersCmd::List { after, limit } => {
            let page = store
                .list_users(after.as_deref(), usize::from(limit))
                .await
                .map_err(store_error)?;
            let rows: Vec<Vec<String>> = page
                .items
                .iter()
                .map(|u| {
                    vec![
                        u.username.clone(),
                        u.sub.clone(),
                        u.email().unwrap_or("-").to_string(),
                        status(u).to_string(),
                    ]
                })
                .collect();
            let mut human = if rows.is_empty() {
                "No users.\n".to_string()
            } else {
                table(&["USERNAME", "SUB", "EMAIL", "STATUS"], &rows)
            };
            if let Some(next) = &page.next {
                human.push_str(&format!(
                    "More: oidc-admin users list --after {next} --limit {limit}\n"
                ));
            }
            Ok(Output::new(
                json!({
                    "users": page.items.iter().map(view).collect::<Vec<_>>(),
                    "next": page.next,
                }),
                human,
            ))
        }

        UsersCmd::Show { username } => {
            let u = find(store, &username).await?;
            let mut human = format!(
                "username:   {}\nsub:        {}\nstatus:     {}\n",
                u.username,
                u.sub,
                status(&u)
            );
            if u.tokens_valid_after > 0 {
                human.push_str(&format!(
                    "signed out: sessions and refresh tokens from before {} are ended\n",
                    input::utc(u.tokens_valid_after)
                ));
            }
            human.push_str("claims:\n");
            for (k, v) in &u.claims {
                human.push_str(&format!("  {k}: {v}\n"));
            }
            if !u.custom_claims.is_empty() {
                human.push_str("custom claims:\n");
                for c in &u.custom_claims {
                    let targets: Vec<String> = c
                        .tokens
                        .iter()
                        .map(|t| serde_json::to_value(t).unwrap_or_default().to_string())
                        .collect();
                    human.push_str(&format!(
                        "  {}: {} (in {})\n",
                        c.name,
                        c.value,
                        targets.join(", ").replace('"', "")
                    ));
                }
            }
            Ok(Output::new(json!({ "user": view(&u) }), human))
        }

        UsersCmd::SetClaims {
            username,
            claims,
            remove_claims,
            custom_claims,
            remove_custom_claims,
        } => {
            if claims.is_empty()
                && remove_claims.is_empty()
                && custom_claims.is_empty()
                && remove_custom_claims.is_empty()
            {
                return Err("nothing to change: give --claim, --remove-claim, --custom-claim or --remove-custom-claim".into());
            }
            let mut u = find(store, &username).await?;
            for c in &claims {
                let (k, v) = input::claim(c)?;
                if v.is_null() {
                    u.claims.remove(&k);
                } else {
                    u.claims.insert(k, v);
                }
            }
            for k in &remove_claims {
                u.claims.remove(k);
            }
            for c in &custom_claims {
                apply_custom(&mut u.custom_claims, input::custom_claim(c)?);
            }
            u.custom_claims
                .retain(|c| !remove_custom_claims.contains(&c.name));
            check(&u.username, &u.claims, &u.custom_claims)?;
            save(store, &u, format!("Updated the claims of {}.", u.username)).await
        }

        UsersCmd::SetPassword {
            username,
            password_stdin,
        } => {
            let mut u = find(store, &username).await?;
            let pw = input::password(password_stdin)?;
            u.set_password_hash(
                password::hash_password(&pw).map_err(|e| e.to_string())?,
                now_ms(),
            );
            save(
                store,
                &u,
                format!(
                    "Changed the password of {}; their sessions and refresh tokens are ended.",
                    u.username
                ),
            )
            .await
        }

        UsersCmd::Disable { username } => {
            let mut u = find(store, &username).await?;
            u.disabled = true;
            u.end_sessions(now_ms());
            save(store, &u, format!(
                    "Disabled {}: they cannot sign in, and their sessions and refresh tokens are ended.",
                    u.username
                )).await
        }

        UsersCmd::Enable { username } => {
            let mut u = find(store, &username).await?;
            u.disabled = false;
            save(
                store,
                &u,
                format!("Enabled {}: they can sign in again.", u.username),
            )
            .await
        }

        UsersCmd::SignOut { username } => {
            let mut u = find(store, &username).await?;
            u.end_sessions(now_ms());
            save(store, &u, format!(
                    "Ended every session and refresh token of {} (issued access tokens run out by themselves).",
                    u.username
                )).await
        }

        UsersCmd::Delete { username } => {
            let u = find(store, &username).await?;
            if !store.delete_user(&u.sub).await.map_err(store_error)? {
                return Err(format!("no user named {username:?}"));
            }
            Ok(Output::new(
                json!({ "deleted": view(&u) }),
                format!(
                    "Deleted user {} (sub {}); their sessions and refresh tokens no longer work.",
                    u.username, u.sub
                ),
            ))
        }
    }
}

/// Every line is parsed and checked (and existing users looked up) before anything is
/// written, so a bad file changes nothing.
async fn import(
    store: &Arc<dyn Store>,
    file: &std::path::Path,
    update: bool,
) -> Result<Output, String> {
    let name = file.display().to_string();
    let text = if name == "-" {
        std::io::read_to_string(std::io::stdin()).map_err(|e| format!("standard input: {e}"))?
    } else {
        std::fs::read_to_string(file).map_err(|e| format!("{name}: {e}"))?
    };
    let mut lines: Vec<(usize, SeedUser)> = Vec::new();
    let (mut names, mut subs) = (HashSet::new(), HashSet::new());
    for (i, line) in text.lines().enumerate() {
        let n = i + 1;
        if line.trim().is_empty() {
            continue;
        }
        let at = |m: String| format!("{name}: line {n}: {m}; nothing was imported");
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
    let mut existing = Vec::new();
    for (n, su) in &lines {
        let at = |m: String| format!("{name}: line {n}: {m}; nothing was imported");
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
                let user = User::new(
                    su.sub.clone(),
                    su.username.clone(),
                    hash,
                    su.claims,
                    su.custom_claims,
                    now_ms(),
                );
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
