//! `oidc-admin users ...`: validation and hashing exactly as seeding does (shared::seed).
use std::sync::Arc;

use serde_json::{Map, Value, json};
use shared::{
    password,
    seed::SeedUser,
    store::{CustomClaim, Store, StoreError, User},
};

mod factors;
mod import;

use crate::{
    UsersCmd,
    backend::store_error,
    input::{self, now_ms},
    output::{Output, page},
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

/// The user with this username, or else with this sub.
async fn find_any(store: &Arc<dyn Store>, user: &str) -> Result<User, String> {
    if let Some(u) = store.user_by_username(user).await.map_err(store_error)? {
        return Ok(u);
    }
    store.user(user).await.map_err(store_error)?.ok_or_else(|| {
        format!("no user with the username or sub {user:?} (see `oidc-admin users list`)")
    })
}

/// Writes an updated user and reports it with `message`.
async fn save(store: &Arc<dyn Store>, u: &User, message: String) -> Result<Output, String> {
    store.update_user(u).await.map_err(|e| write_error(e, u))?;
    Ok(Output::new(json!({ "user": view(u) }), message))
}

/// A store error about `user`, uniqueness conflicts spelled out.
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

/// A checked seed user with its password hash, as stored.
fn new_user(su: SeedUser, hash: String) -> User {
    User::new(
        su.sub,
        su.username,
        hash,
        su.claims,
        su.custom_claims,
        now_ms(),
    )
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
            let new = NewUser {
                username,
                email,
                claims,
                custom_claims,
                sub,
            };
            create(store, new, password_stdin).await
        }
        UsersCmd::Import { file, update } => import::run(store, &file, update).await,
        UsersCmd::List { after, limit } => list(store, after.as_deref(), limit).await,
        UsersCmd::Show { username } => show(store, &username).await,
        UsersCmd::SetClaims {
            username,
            claims,
            remove_claims,
            custom_claims,
            remove_custom_claims,
        } => {
            let change = ClaimChange {
                claims,
                remove_claims,
                custom_claims,
                remove_custom_claims,
            };
            set_claims(store, &username, change).await
        }
        UsersCmd::SetPassword {
            username,
            password_stdin,
        } => set_password(store, &username, password_stdin).await,
        UsersCmd::Disable { username } => disable(store, &username).await,
        UsersCmd::Enable { username } => enable(store, &username).await,
        UsersCmd::SignOut { username } => sign_out(store, &username).await,
        UsersCmd::Delete { username } => delete(store, &username).await,
        UsersCmd::Passkeys { user } => factors::list(store, &user).await,
        UsersCmd::RevokePasskey {
            user,
            credential_id,
            sign_out,
        } => factors::revoke_passkey(store, &user, &credential_id, sign_out).await,
        UsersCmd::ResetTotp { user, sign_out } => factors::reset_totp(store, &user, sign_out).await,
    }
}

/// `users create`'s flags.
struct NewUser {
    username: String,
    email: Option<String>,
    claims: Vec<String>,
    custom_claims: Vec<String>,
    sub: Option<String>,
}

/// The new user as a seed file's user, checked the same way.
fn new_seed_user(new: NewUser) -> Result<SeedUser, String> {
    let mut map = Map::new();
    for c in &new.claims {
        let (k, v) = input::claim(c)?;
        if !v.is_null() {
            map.insert(k, v);
        }
    }
    if let Some(e) = new.email {
        map.insert("email".into(), Value::String(e));
    }
    let mut custom = Vec::new();
    for c in input::custom_claims(&new.custom_claims)? {
        apply_custom(&mut custom, c);
    }
    let su = seed_user(json!({
        "username": new.username,
        "claims": map,
        "custom_claims": custom,
        "sub": new.sub,
    }))?;
    su.validate().map_err(|e| e.to_string())?;
    Ok(su)
}

async fn create(
    store: &Arc<dyn Store>,
    new: NewUser,
    password_stdin: bool,
) -> Result<Output, String> {
    let mut su = new_seed_user(new)?;
    let username = &su.username;
    // Refuse before asking for a password.
    if store
        .user_by_username(username)
        .await
        .map_err(store_error)?
        .is_some()
    {
        return Err(format!(
            "a user named {username:?} exists already (`oidc-admin users show {username}`)"
        ));
    }
    su.password = Some(input::password(password_stdin)?);
    let hash = su.password_hash(None).map_err(|e| e.to_string())?;
    let user = new_user(su, hash);
    store
        .create_user(&user)
        .await
        .map_err(|e| write_error(e, &user))?;
    Ok(Output::new(
        json!({ "user": view(&user) }),
        format!("Created user {} (sub {}).", user.username, user.sub),
    ))
}

async fn list(store: &Arc<dyn Store>, after: Option<&str>, limit: u16) -> Result<Output, String> {
    let page_ = store
        .list_users(after, usize::from(limit))
        .await
        .map_err(store_error)?;
    let rows: Vec<Vec<String>> = page_
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
    let human = page(
        "users",
        &["USERNAME", "SUB", "EMAIL", "STATUS"],
        &rows,
        "No users.\n",
        page_.next.as_deref(),
        limit,
    );
    Ok(Output::new(
        json!({
            "users": page_.items.iter().map(view).collect::<Vec<_>>(),
            "next": page_.next,
        }),
        human,
    ))
}

async fn show(store: &Arc<dyn Store>, username: &str) -> Result<Output, String> {
    let u = find(store, username).await?;
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

/// `users set-claims`'s flags.
struct ClaimChange {
    claims: Vec<String>,
    remove_claims: Vec<String>,
    custom_claims: Vec<String>,
    remove_custom_claims: Vec<String>,
}

async fn set_claims(
    store: &Arc<dyn Store>,
    username: &str,
    change: ClaimChange,
) -> Result<Output, String> {
    if change.claims.is_empty()
        && change.remove_claims.is_empty()
        && change.custom_claims.is_empty()
        && change.remove_custom_claims.is_empty()
    {
        return Err("nothing to change: give --claim, --remove-claim, --custom-claim or --remove-custom-claim".into());
    }
    let mut u = find(store, username).await?;
    for c in &change.claims {
        let (k, v) = input::claim(c)?;
        if v.is_null() {
            u.claims.remove(&k);
        } else {
            u.claims.insert(k, v);
        }
    }
    for k in &change.remove_claims {
        u.claims.remove(k);
    }
    for c in input::custom_claims(&change.custom_claims)? {
        apply_custom(&mut u.custom_claims, c);
    }
    u.custom_claims
        .retain(|c| !change.remove_custom_claims.contains(&c.name));
    check(&u.username, &u.claims, &u.custom_claims)?;
    save(store, &u, format!("Updated the claims of {}.", u.username)).await
}

async fn set_password(
    store: &Arc<dyn Store>,
    username: &str,
    password_stdin: bool,
) -> Result<Output, String> {
    let mut u = find(store, username).await?;
    let pw = input::password(password_stdin)?;
    u.set_password_hash(
        password::hash_password(&pw).map_err(|e| e.to_string())?,
        now_ms(),
    );
    let message = format!(
        "Changed the password of {}; their sessions and refresh tokens are ended.",
        u.username
    );
    save(store, &u, message).await
}

async fn disable(store: &Arc<dyn Store>, username: &str) -> Result<Output, String> {
    let mut u = find(store, username).await?;
    u.disabled = true;
    u.end_sessions(now_ms());
    let message = format!(
        "Disabled {}: they cannot sign in, and their sessions and refresh tokens are ended.",
        u.username
    );
    save(store, &u, message).await
}

async fn enable(store: &Arc<dyn Store>, username: &str) -> Result<Output, String> {
    let mut u = find(store, username).await?;
    u.disabled = false;
    let message = format!("Enabled {}: they can sign in again.", u.username);
    save(store, &u, message).await
}

async fn sign_out(store: &Arc<dyn Store>, username: &str) -> Result<Output, String> {
    let mut u = find(store, username).await?;
    u.end_sessions(now_ms());
    let message = format!(
        "Ended every session and refresh token of {} (issued access tokens run out by themselves).",
        u.username
    );
    save(store, &u, message).await
}

async fn delete(store: &Arc<dyn Store>, username: &str) -> Result<Output, String> {
    let u = find(store, username).await?;
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
