//! One rule for "is this token alive", used wherever a token we issued comes back: the
//! refresh and code grants at `/token`, `/userinfo`, `/introspect` and `/revoke`. A token dies
//! with its client (deleted, or its credentials rotated since), with its grant or itself
//! (revoked), and with its person (deleted, disabled, or signed out everywhere since: a
//! password change ends everything issued before it, at millisecond resolution).
use crate::{
    App, OAuthError,
    store::{Client, LivenessQuery, LivenessStore, RefreshToken, User},
};

/// What a token says about where it came from.
#[derive(Debug, Clone, Copy)]
pub struct Issued<'a> {
    pub client_id: &'a str,
    /// The person it is for; None for a client acting for itself (client_credentials).
    pub sub: Option<&'a str>,
    /// When it (or the sign-in it stands on) was issued, in epoch milliseconds.
    pub issued_ms: i64,
    pub grant_id: Option<&'a str>,
    /// An access token's own id, revocable on its own (RFC 7009).
    pub jti: Option<&'a str>,
}

impl<'a> Issued<'a> {
    /// What a stored refresh token says about where it came from.
    pub fn refresh(r: &'a RefreshToken) -> Self {
        Issued {
            client_id: &r.client_id,
            sub: Some(&r.sub),
            issued_ms: r.issued_ms(),
            grant_id: Some(&r.grant_id),
            jti: None,
        }
    }
}

/// Why a token is dead: for the logs, never for the client (RFC 7662 §2.2, RFC 6750 §3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dead {
    ClientGone,
    ClientRotated,
    Revoked,
    UserGone,
    UserEnded,
}

impl Dead {
    pub fn as_str(self) -> &'static str {
        match self {
            Dead::ClientGone => "client deleted",
            Dead::ClientRotated => "client credentials rotated since",
            Dead::Revoked => "revoked",
            Dead::UserGone => "user deleted",
            Dead::UserEnded => "user disabled or signed out since",
        }
    }
}

/// The client and person a live token stands for.
#[derive(Debug, Clone)]
pub struct Alive {
    pub client: Client,
    pub user: Option<User>,
}

/// The rule itself, on what the store said.
pub fn verdict(
    t: &Issued<'_>,
    client: Option<&Client>,
    user: Option<&User>,
    revoked: bool,
) -> Result<(), Dead> {
    let client = client.ok_or(Dead::ClientGone)?;
    if t.issued_ms < client.tokens_valid_after_ms {
        return Err(Dead::ClientRotated);
    }
    if revoked {
        return Err(Dead::Revoked);
    }
    if t.sub.is_some() {
        let user = user.ok_or(Dead::UserGone)?;
        if !user.accepts(t.issued_ms) {
            return Err(Dead::UserEnded);
        }
    }
    Ok(())
}

/// Reads what the rule needs (client, person, grant and token revocations: one store round
/// trip) and applies it. `Err` only when the store failed.
pub async fn check<S: LivenessStore + ?Sized>(
    app: &App<S>,
    t: &Issued<'_>,
    now: i64,
) -> Result<Result<Alive, Dead>, OAuthError> {
    let revocable: Vec<&str> = t.grant_id.into_iter().chain(t.jti).collect();
    let read = app
        .store
        .liveness_read(&LivenessQuery {
            client_id: t.client_id,
            sub: t.sub,
            revocable: &revocable,
            now,
        })
        .await?;
    let client = read.client.map(|c| app.as_it_may_act(c));
    let verdict = verdict(t, client.as_ref(), read.user.as_ref(), read.revoked);
    Ok(match (verdict, client) {
        (Ok(()), Some(client)) => Ok(Alive {
            client,
            user: read.user,
        }),
        (Ok(()), None) => Err(Dead::ClientGone),
        (Err(dead), _) => Err(dead),
    })
}
