//! Which local account an upstream sign-in is: the link `(upstream issuer, upstream sub)`,
//! never the email (the "nOAuth" class of bugs: an email the upstream does not vouch for,
//! or vouched for by an upstream not trusted to, never takes over an account). A first
//! sign-in creates the account (just in time) unless the provider is trusted to link by a
//! verified email; the accounts it created keep the upstream's claims fresh.
use serde_json::{Map, Value};

use crate::{
    App, OAuthError,
    error::ErrorCode,
    protocol::scope,
    store::{
        AccountLink, CreateLinked, FederationStore, StoreError, UpstreamProvider, User, UserClaim,
        UserStore,
    },
};

/// Who the upstream says signed in: its issuer (as the ID token states it), its `sub`, and
/// its claims (the ID token's, then userinfo's where the token had none).
pub struct Identity {
    pub issuer: String,
    pub sub: String,
    pub claims: Map<String, Value>,
}

/// The local user of `id`: linked already (claims refreshed if the link made the user),
/// linked now to the holder of a verified email (only for a provider trusted to), or made
/// now.
pub async fn resolve<S: FederationStore + UserStore + ?Sized, K: ?Sized>(
    app: &App<S, K>,
    provider: &UpstreamProvider,
    id: &Identity,
    now_ms: i64,
) -> Result<User, OAuthError> {
    // OIDC Core §2: a sub is at most 255 ASCII characters; a longer one could not be linked.
    if id.sub.is_empty() || id.sub.len() > 255 || !id.sub.is_ascii() {
        return Err(OAuthError::new(
            ErrorCode::AccessDenied,
            "The upstream provider's account identifier (sub) is not usable.",
        ));
    }
    let mapped = mapped_claims(provider, &id.claims);
    if let Some(link) = app.store.link(&id.issuer, &id.sub).await? {
        return linked(app, &link, mapped).await;
    }
    let link = AccountLink {
        issuer: id.issuer.clone(),
        upstream_sub: id.sub.clone(),
        sub: String::new(),
        provider_id: provider.id.clone(),
        created_at: now_ms.div_euclid(1000),
        jit: true,
    };
    if provider.link_verified_email
        && let Some(email) = verified_email(&mapped)
        && let Some(holder) = email_holder(app, email).await?
    {
        let link = AccountLink {
            sub: holder.sub.clone(),
            jit: false,
            ..link
        };
        return match app.store.put_link(&link).await? {
            true => Ok(holder),
            false => retry_linked(app, id).await,
        };
    }
    create(app, provider, id, link, mapped, now_ms).await
}

/// A first sign-in: a new user, named for the provider and the upstream `sub`, with no
/// password (no argon2 hash matches it); an email held by another account is left out
/// rather than taken.
async fn create<S: FederationStore + UserStore + ?Sized, K: ?Sized>(
    app: &App<S, K>,
    provider: &UpstreamProvider,
    id: &Identity,
    link: AccountLink,
    mut mapped: Map<String, Value>,
    now_ms: i64,
) -> Result<User, OAuthError> {
    let username = User::federated_username(&provider.id, &id.sub);
    for _ in 0..2 {
        let user = User::new(
            None,
            username.clone(),
            String::new(),
            mapped.clone(),
            vec![],
            now_ms,
        );
        let link = AccountLink {
            sub: user.sub.clone(),
            ..link.clone()
        };
        match app.store.create_linked_user(&user, &link).await? {
            CreateLinked::Created => return Ok(user),
            CreateLinked::LinkTaken => return retry_linked(app, id).await,
            CreateLinked::UserTaken(UserClaim::Email) => {
                mapped.remove("email");
                mapped.remove("email_verified");
            }
            CreateLinked::UserTaken(_) => break,
        }
    }
    Err(StoreError::Conflict("federated user".into()).into())
}

/// The user a link points at, with the claims of the upstream when the link made it.
async fn linked<S: UserStore + ?Sized, K: ?Sized>(
    app: &App<S, K>,
    link: &AccountLink,
    mapped: Map<String, Value>,
) -> Result<User, OAuthError> {
    let mut user = app.store.user(&link.sub).await?.ok_or_else(|| {
        OAuthError::new(
            ErrorCode::AccessDenied,
            "The account linked to this sign-in was deleted.",
        )
    })?;
    if !link.jit || user.claims == mapped {
        return Ok(user);
    }
    let before = std::mem::replace(&mut user.claims, mapped);
    match app.store.update_user(&user).await {
        Ok(()) => Ok(user),
        // The address is another account's here (as when the link made this one): the rest
        // is refreshed, the address left out, never taken.
        Err(StoreError::Conflict(_)) => {
            user.claims.remove("email");
            user.claims.remove("email_verified");
            if user.claims != before {
                app.store.update_user(&user).await?;
            }
            Ok(user)
        }
        Err(e) => Err(e.into()),
    }
}

/// A concurrent first sign-in of the same person won: use its link.
async fn retry_linked<S: FederationStore + UserStore + ?Sized, K: ?Sized>(
    app: &App<S, K>,
    id: &Identity,
) -> Result<User, OAuthError> {
    let link = app
        .store
        .link(&id.issuer, &id.sub)
        .await?
        .ok_or_else(|| StoreError::Conflict("account link".into()))?;
    app.store.user(&link.sub).await?.ok_or_else(|| {
        OAuthError::new(
            ErrorCode::AccessDenied,
            "The account linked to this sign-in was deleted.",
        )
    })
}

/// The existing user holding the address, if their own address is verified too: an
/// account that merely claimed it (made by another upstream that did not vouch for it,
/// say) is never linked to (account pre-hijacking).
async fn email_holder<S: UserStore + ?Sized, K: ?Sized>(
    app: &App<S, K>,
    email: &str,
) -> Result<Option<User>, OAuthError> {
    Ok(app
        .store
        .user_by_email(email)
        .await?
        .filter(|u| verified_email(&u.claims).is_some()))
}

/// The email, when the claims say it is verified (OIDC Core §5.1 `email_verified`: true, or
/// the string "true" some upstreams send).
fn verified_email(claims: &Map<String, Value>) -> Option<&str> {
    let verified = match claims.get("email_verified") {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => s == "true",
        _ => false,
    };
    claims
        .get("email")
        .and_then(Value::as_str)
        .filter(|_| verified)
}

/// The standard claims of ours (OIDC Core §5.1) the upstream gave, each read from the claim
/// the provider's map names for it (the same name by default); never `sub`.
pub fn mapped_claims(
    provider: &UpstreamProvider,
    upstream: &Map<String, Value>,
) -> Map<String, Value> {
    scope::SUPPORTED
        .iter()
        .flat_map(|s| scope::claims_of(s))
        .filter_map(|ours| {
            let theirs = provider.claim_map.get(*ours).map_or(*ours, String::as_str);
            upstream.get(theirs).map(|v| (ours.to_string(), v.clone()))
        })
        .collect()
}
