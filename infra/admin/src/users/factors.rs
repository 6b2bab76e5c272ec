//! `oidc-admin users passkeys | revoke-passkey | reset-totp`: what a person signs in with
//! besides a password, for the administrator who helps them: see it, take away a lost
//! passkey, and reset TOTP for a person who lost both their authenticator and their
//! recovery codes (the administrator is their recovery path).
//!
//! Taking a factor away does not undo the sign-ins made with it: the person's sessions go
//! on unless `--sign-out` ends them too, as `users sign-out` does (for a stolen device,
//! which may itself hold a session). Every message says which it was.
use std::sync::Arc;

use serde_json::{Value, json};
use shared::store::{Factors, Passkey, Store, User};

use super::{find_any, sign_out};
use crate::{
    backend::store_error,
    input,
    output::{Output, table},
};

/// WebAuthn §6.1.3: BE says whether a credential may be synced, BS whether it is now.
fn kind(p: &Passkey) -> &'static str {
    match (p.backup_eligible, p.backed_up) {
        (false, _) => "device-bound",
        (true, true) => "synced",
        (true, false) => "syncable, not backed up yet",
    }
}

/// The person chose the name: no control characters reach the administrator's terminal.
fn printable(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .collect()
}

fn passkey_view(p: &Passkey) -> Value {
    json!({
        "id": p.id,
        "name": p.name,
        "created_at": p.created_at,
        "last_used_at": (p.last_used_at > 0).then_some(p.last_used_at),
        "kind": kind(p),
        "backup_eligible": p.backup_eligible,
        "backed_up": p.backed_up,
        "sign_count": p.sign_count,
        "transports": p.transports,
    })
}

fn who(u: &User) -> Value {
    json!({ "sub": u.sub, "username": u.username })
}

/// `users passkeys`: the passkeys, TOTP and recovery codes (never a secret or a digest).
pub async fn list(store: &Arc<dyn Store>, user: &str) -> Result<Output, String> {
    let u = find_any(store, user).await?;
    let f = store
        .factors(&u.sub)
        .await
        .map_err(store_error)?
        .unwrap_or_else(|| Factors::new(&u.sub));
    let passkeys = store.passkeys(&f.passkeys).await.map_err(store_error)?;
    let rows: Vec<Vec<String>> = passkeys
        .iter()
        .map(|p| {
            vec![
                p.id.clone(),
                printable(&p.name),
                input::utc(p.created_at),
                match p.last_used_at {
                    0 => "never".into(),
                    t => input::utc(t),
                },
                p.sign_count.to_string(),
                kind(p).into(),
            ]
        })
        .collect();
    let mut human = format!("{} (sub {}):\n", u.username, u.sub);
    if rows.is_empty() {
        human.push_str("No passkeys.\n");
    } else {
        let header = ["ID", "NAME", "CREATED", "LAST USED", "COUNTER", "KIND"];
        human.push_str(&table(&header, &rows));
    }
    human.push_str(&match &f.totp {
        Some(t) => format!("TOTP: enrolled {}\n", input::utc(t.enrolled_at)),
        None => "TOTP: not enrolled\n".into(),
    });
    human.push_str(&format!("Recovery codes left: {}\n", f.recovery.len()));
    Ok(Output::new(
        json!({
            "user": who(&u),
            "passkeys": passkeys.iter().map(passkey_view).collect::<Vec<_>>(),
            "totp_enrolled": f.totp.is_some(),
            "totp_enrolled_at": f.totp.as_ref().map(|t| t.enrolled_at),
            "recovery_codes_left": f.recovery.len(),
        }),
        human,
    ))
}

/// `users revoke-passkey`: its record and its place in the person's list go in one write.
pub async fn revoke_passkey(
    store: &Arc<dyn Store>,
    user: &str,
    credential_id: &str,
    end_sessions: bool,
) -> Result<Output, String> {
    let u = find_any(store, user).await?;
    let not_found = || {
        format!(
            "{} has no passkey with the id {credential_id:?} (see `oidc-admin users passkeys {}`)",
            u.username, u.username
        )
    };
    // Read first for its name, and to refuse another person's passkey by the same message.
    let p = store
        .passkey(credential_id)
        .await
        .map_err(store_error)?
        .filter(|p| p.sub == u.sub)
        .ok_or_else(not_found)?;
    update(store, &u, Some(credential_id), |f| {
        if !f.has_passkey(credential_id) {
            return Err(not_found());
        }
        f.passkeys.retain(|id| id != credential_id);
        Ok(true)
    })
    .await?;
    let done = format!(
        "Revoked the passkey {:?} (id {}) of {} (sub {}): it can no longer sign in.",
        printable(&p.name),
        p.id,
        u.username,
        u.sub
    );
    let json = json!({ "user": who(&u), "revoked": passkey_view(&p) });
    with_sessions(store, &u, json, done, end_sessions).await
}

/// `users reset-totp`: the TOTP factor and every unused recovery code go.
pub async fn reset_totp(
    store: &Arc<dyn Store>,
    user: &str,
    end_sessions: bool,
) -> Result<Output, String> {
    let u = find_any(store, user).await?;
    let mut removed = (false, 0);
    let changed = update(store, &u, None, |f| {
        removed = (f.totp.is_some(), f.recovery.len());
        f.totp = None;
        f.recovery.clear();
        Ok(removed != (false, 0))
    })
    .await?;
    let (totp, codes) = removed;
    let done = if changed {
        let what = if totp {
            "the TOTP authenticator and "
        } else {
            ""
        };
        format!(
            "Removed {what}{codes} unused recovery codes of {} (sub {}).",
            u.username, u.sub
        )
    } else {
        format!(
            "{} has no TOTP authenticator or recovery codes: nothing changed.",
            u.username
        )
    };
    let json = json!({
        "user": who(&u),
        "totp_removed": totp,
        "recovery_codes_removed": codes,
    });
    with_sessions(store, &u, json, done, end_sessions).await
}

/// Reads the person's factors, lets `change` edit them, and writes them on condition that
/// nothing else wrote in between (a sign-in spending a TOTP step, the person enrolling); if
/// something did, reads and decides once more. `removing`: the passkey whose record goes in
/// the same write; otherwise the write also sets the person's `totp` flag, which the
/// password step reads (`FactorStore::put_totp`). `false`, and nothing written, when
/// `change` finds nothing to do.
async fn update(
    store: &Arc<dyn Store>,
    user: &User,
    removing: Option<&str>,
    mut change: impl FnMut(&mut Factors) -> Result<bool, String>,
) -> Result<bool, String> {
    for _ in 0..2 {
        let mut f = store
            .factors(&user.sub)
            .await
            .map_err(store_error)?
            .unwrap_or_else(|| Factors::new(&user.sub));
        if !change(&mut f)? {
            return Ok(false);
        }
        f.version += 1;
        let written = match removing {
            Some(id) => store.remove_passkey(&f, id).await,
            None => store.put_totp(&f, user).await,
        }
        .map_err(store_error)?;
        if written {
            return Ok(true);
        }
    }
    Err(
        "the person's passkeys and second factors changed twice while this ran (are they \
         signing in or enrolling right now?): nothing was changed; run the command again"
            .into(),
    )
}

/// The change's report, with the person's sessions ended too if asked, or a word that they
/// go on.
async fn with_sessions(
    store: &Arc<dyn Store>,
    u: &User,
    mut json: Value,
    done: String,
    end_sessions: bool,
) -> Result<Output, String> {
    json["sessions_ended"] = Value::Bool(end_sessions);
    if !end_sessions {
        let human = format!(
            "{done}\nTheir sessions and refresh tokens go on: `oidc-admin users sign-out {}` \
             ends them.",
            u.username
        );
        return Ok(Output::new(json, human));
    }
    let ended = sign_out(store, &u.username)
        .await
        .map_err(|e| format!("{done} But ending their sessions failed: {e}"))?;
    Ok(Output::new(json, format!("{done}\n{}", ended.human)))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::expect_used, clippy::unwrap_used)]
    use shared::store::embedded::EmbeddedStore;

    use super::*;

    fn store() -> Arc<dyn Store> {
        Arc::new(EmbeddedStore::in_memory().expect("store"))
    }

    /// Another writer's turn between this command's read and its write, `times` times.
    fn interleave(store: &Arc<dyn Store>, times: &mut usize) {
        if *times == 0 {
            return;
        }
        *times -= 1;
        let (store, handle) = (store.clone(), tokio::runtime::Handle::current());
        tokio::task::block_in_place(|| {
            handle.block_on(async {
                let mut f = store.factors("s1").await.unwrap().expect("factors");
                f.version += 1;
                f.recovery.push("another".into());
                assert!(store.put_factors(&f).await.unwrap());
            })
        });
    }

    /// The person "s1", who has TOTP written through `put_totp`'s own path.
    fn person() -> User {
        User::new(
            Some("s1".into()),
            "u1".into(),
            String::new(),
            Default::default(),
            vec![],
            1,
        )
    }

    async fn seeded() -> Arc<dyn Store> {
        let store = store();
        store.create_user(&person()).await.unwrap();
        let f = Factors {
            version: 1,
            recovery: vec!["a".into()],
            ..Factors::new("s1")
        };
        assert!(store.put_factors(&f).await.unwrap());
        store
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_write_in_between_is_read_again_once() {
        let store = seeded().await;
        let mut others = 1;
        let mut seen = vec![];
        let changed = update(&store, &person(), None, |f| {
            seen.push(f.recovery.len());
            interleave(&store, &mut others);
            f.recovery.clear();
            Ok(true)
        })
        .await
        .unwrap();
        // The second decision saw the other write's code, and cleared it too.
        assert!(changed);
        assert_eq!(seen, [1, 2]);
        let f = store.factors("s1").await.unwrap().unwrap();
        assert_eq!((f.version, f.recovery.len()), (3, 0));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn two_writes_in_between_change_nothing() {
        let store = seeded().await;
        let mut others = 2;
        let err = update(&store, &person(), None, |f| {
            interleave(&store, &mut others);
            f.recovery.clear();
            Ok(true)
        })
        .await
        .unwrap_err();
        assert!(err.contains("run the command again"), "{err}");
        let f = store.factors("s1").await.unwrap().unwrap();
        assert_eq!((f.version, f.recovery.len()), (3, 3));
    }
}
