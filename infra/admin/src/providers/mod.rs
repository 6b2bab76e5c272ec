//! `oidc-admin providers ...`: upstream providers are built through
//! `shared::seed::SeedProvider` and checked by `shared::seed::check_provider`, so they are
//! validated exactly as seeded ones. Client secrets are read from standard input or a file,
//! sealed here (`shared::federation::seal`) and never printed.
mod args;

use std::sync::Arc;

pub use args::ProvidersCmd;
use args::{NewProvider, ProviderOptions, ProviderUpdate};
use serde_json::{Map, Value, json};
use shared::{
    seed::{SeedProvider, check_provider},
    store::{SealedSecret, Store, UpstreamProvider},
};

use crate::{
    Global,
    backend::{sealer, store_error},
    input,
    output::{Output, table},
};

/// Everything but the sealed secret: whether there is one, and under which key.
fn view(p: &UpstreamProvider) -> Value {
    let mut v = serde_json::to_value(p).unwrap_or_else(|_| json!({}));
    if let Some(o) = v.as_object_mut() {
        o.remove("sealed_secret");
        o.insert("has_secret".into(), json!(p.sealed_secret.is_some()));
        o.insert(
            "secret_key".into(),
            json!(p.sealed_secret.as_ref().map(|s| &s.key)),
        );
        o.insert("enabled".into(), json!(p.enabled));
    }
    v
}

fn yes_no(v: bool) -> &'static str {
    if v { "yes" } else { "no" }
}

fn describe(p: &UpstreamProvider) -> String {
    let secret = match &p.sealed_secret {
        Some(s) if s.key == SealedSecret::LOCAL => {
            "sealed (the data directory's federation.key)".into()
        }
        Some(s) => format!("sealed (KMS key {})", s.key),
        None => "none".into(),
    };
    let claims = if p.claim_map.is_empty() {
        "the standard names".to_string()
    } else {
        let pairs: Vec<String> = p
            .claim_map
            .iter()
            .map(|(o, t)| format!("{o}={t}"))
            .collect();
        pairs.join(" ")
    };
    let link = if p.link_verified_email {
        "yes, when the upstream says the email is verified"
    } else {
        "no (an email never links accounts)"
    };
    format!(
        "id:             {}\nname:           Continue with {}\nissuer:         {}\n\
         client_id:      {}\nauth_method:    {}\nclient secret:  {secret}\n\
         scopes:         {}\nlogo:           {}\nclaims:         {claims}\n\
         link by email:  {link}\nuserinfo:       {}\nenabled:        {}\n",
        p.id,
        p.display_name,
        p.issuer,
        p.client_id,
        p.client_auth.as_str(),
        p.scopes.join(" "),
        p.logo_uri.as_deref().unwrap_or("-"),
        yes_no(p.userinfo),
        yes_no(p.enabled),
    )
}

async fn find(store: &Arc<dyn Store>, id: &str) -> Result<UpstreamProvider, String> {
    store
        .provider(id)
        .await
        .map_err(store_error)?
        .ok_or_else(|| format!("no provider {id:?} (see `oidc-admin providers list`)"))
}

pub async fn run(g: &Global, store: &Arc<dyn Store>, cmd: ProvidersCmd) -> Result<Output, String> {
    match cmd {
        ProvidersCmd::Create(new) => create(g, store, new).await,
        ProvidersCmd::List => list(store).await,
        ProvidersCmd::Show { id } => {
            let p = find(store, &id).await?;
            Ok(Output::new(json!({ "provider": view(&p) }), describe(&p)))
        }
        ProvidersCmd::Update(update) => change(g, store, update).await,
        ProvidersCmd::Delete { id } => delete(store, &id).await,
    }
}

/// `--scope` arguments, each possibly space or comma separated.
fn scopes(args: &[String]) -> Vec<String> {
    args.iter()
        .flat_map(|s| s.split([' ', ',']))
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

/// `--claim OURS=THEIRS` arguments.
fn claim_pairs(args: &[String]) -> Result<Vec<(String, String)>, String> {
    args.iter()
        .map(|a| match a.split_once('=') {
            Some((ours, theirs)) if !ours.trim().is_empty() && !theirs.trim().is_empty() => {
                Ok((ours.trim().to_string(), theirs.trim().to_string()))
            }
            _ => Err(format!("--claim {a:?}: expected OURS=THEIRS")),
        })
        .collect()
}

/// The secret of `id` from the flags, sealed.
async fn seal(g: &Global, id: &str, o: &ProviderOptions) -> Result<SealedSecret, String> {
    let secret = input::client_secret(o.client_secret_stdin, o.client_secret_file.as_deref())?;
    sealer(g)
        .await?
        .seal(id, &secret)
        .await
        .map_err(|e| format!("sealing the client secret: {e}"))
}

/// A stand-in for the secret, to check everything else before the secret is read and sealed.
fn stand_in() -> SealedSecret {
    SealedSecret {
        key: "unsealed".into(),
        ciphertext: "unsealed".into(),
    }
}

/// The create flags as a seed file's provider, so that it is checked the same way.
fn seed_provider(new: &NewProvider) -> Result<SeedProvider, String> {
    let o = &new.options;
    let mut fields = Map::new();
    fields.insert("id".into(), json!(new.id));
    fields.insert("issuer".into(), json!(new.issuer));
    fields.insert("client_id".into(), json!(new.client_id));
    if let Some(m) = o.auth_method {
        fields.insert("auth_method".into(), json!(m.method()));
    }
    let scopes = scopes(&o.scopes);
    if !scopes.is_empty() {
        fields.insert("scopes".into(), json!(scopes));
    }
    if let Some(n) = &o.name {
        fields.insert("display_name".into(), json!(n));
    }
    if let Some(l) = &o.logo {
        fields.insert("logo_uri".into(), json!(l));
    }
    let claims: Map<String, Value> = claim_pairs(&o.claims)?
        .into_iter()
        .map(|(ours, theirs)| (ours, json!(theirs)))
        .collect();
    fields.insert("claim_map".into(), Value::Object(claims));
    fields.insert(
        "link_verified_email".into(),
        json!(o.link_verified_email.unwrap_or(false)),
    );
    fields.insert("userinfo".into(), json!(o.userinfo.unwrap_or(false)));
    fields.insert("enabled".into(), json!(!o.disabled.unwrap_or(false)));
    serde_json::from_value(Value::Object(fields)).map_err(|e| e.to_string())
}

async fn create(g: &Global, store: &Arc<dyn Store>, new: NewProvider) -> Result<Output, String> {
    let seed = seed_provider(&new)?;
    let method = seed.auth_method.unwrap_or_default();
    let o = &new.options;
    if !method.needs_secret() && (o.client_secret_stdin || o.client_secret_file.is_some()) {
        return Err(format!(
            "{} sends no client secret: give none",
            method.as_str()
        ));
    }
    let stand_in = method.needs_secret().then(stand_in);
    seed.to_provider(stand_in).map_err(|e| e.to_string())?;
    let id = new.id.clone();
    if store.provider(&id).await.map_err(store_error)?.is_some() {
        return Err(format!(
            "a provider {id:?} exists already: change it with `oidc-admin providers update {id}`, \
             or delete it first"
        ));
    }
    let sealed = if method.needs_secret() {
        Some(seal(g, &id, o).await?)
    } else {
        None
    };
    let p = seed.to_provider(sealed).map_err(|e| e.to_string())?;
    store.put_provider(&p).await.map_err(store_error)?;
    let jwks = if method.needs_secret() {
        ""
    } else {
        "Register <issuer>/federation/jwks as the client's jwks_uri there (private_key_jwt).\n"
    };
    Ok(Output::new(
        json!({ "provider": view(&p) }),
        format!(
            "Created provider {id}: \"Continue with {}\"{}.\n\
             Its redirect URI at the upstream must be <issuer>/federation/callback (our issuer).\n{jwks}",
            p.display_name,
            if p.enabled { "" } else { " (disabled)" }
        ),
    ))
}

async fn list(store: &Arc<dyn Store>) -> Result<Output, String> {
    let all = store.list_providers().await.map_err(store_error)?;
    let rows: Vec<Vec<String>> = all
        .iter()
        .map(|p| {
            vec![
                p.id.clone(),
                if p.enabled { "enabled" } else { "disabled" }.into(),
                p.display_name.clone(),
                p.issuer.clone(),
            ]
        })
        .collect();
    let human = if rows.is_empty() {
        "No providers.\n".to_string()
    } else {
        table(&["ID", "STATE", "NAME", "ISSUER"], &rows)
    };
    Ok(Output::new(
        json!({ "providers": all.iter().map(view).collect::<Vec<_>>() }),
        human,
    ))
}

/// Whether the update gives anything to change.
fn anything(u: &ProviderUpdate) -> bool {
    let o = &u.options;
    let ours =
        u.issuer.is_some() || u.client_id.is_some() || u.remove_logo || !u.remove_claims.is_empty();
    let shared = o.client_secret_stdin
        || o.client_secret_file.is_some()
        || o.auth_method.is_some()
        || !o.scopes.is_empty()
        || o.name.is_some()
        || o.logo.is_some()
        || !o.claims.is_empty()
        || o.link_verified_email.is_some()
        || o.userinfo.is_some()
        || o.disabled.is_some();
    ours || shared
}

/// Applies the update's flags (but the secret) to `p`.
fn apply(p: &mut UpstreamProvider, u: &ProviderUpdate) -> Result<(), String> {
    let o = &u.options;
    if let Some(i) = &u.issuer {
        p.issuer = i.clone();
    }
    if let Some(c) = &u.client_id {
        p.client_id = c.clone();
    }
    if let Some(m) = o.auth_method {
        p.client_auth = m.method();
        if !p.client_auth.needs_secret() {
            // Nothing sends it any more: keep no secret (validation refuses one).
            p.sealed_secret = None;
        }
    }
    let scopes = scopes(&o.scopes);
    if !scopes.is_empty() {
        p.scopes = scopes;
    }
    if let Some(n) = &o.name {
        p.display_name = n.clone();
    }
    if o.logo.is_some() || u.remove_logo {
        p.logo_uri = o.logo.clone();
    }
    p.claim_map.extend(claim_pairs(&o.claims)?);
    for ours in &u.remove_claims {
        if p.claim_map.remove(ours).is_none() {
            return Err(format!(
                "--remove-claim {ours}: {} maps no claim {ours:?}",
                p.id
            ));
        }
    }
    p.link_verified_email = o.link_verified_email.unwrap_or(p.link_verified_email);
    p.userinfo = o.userinfo.unwrap_or(p.userinfo);
    p.enabled = o.disabled.map_or(p.enabled, |d| !d);
    Ok(())
}

async fn change(g: &Global, store: &Arc<dyn Store>, u: ProviderUpdate) -> Result<Output, String> {
    let old = find(store, &u.id).await?;
    if !anything(&u) {
        return Err(
            "nothing to change: give what changes (see `oidc-admin providers update --help`)"
                .into(),
        );
    }
    let mut p = old.clone();
    apply(&mut p, &u)?;
    let o = &u.options;
    let new_secret = o.client_secret_stdin || o.client_secret_file.is_some();
    if new_secret {
        p.sealed_secret = Some(stand_in());
    }
    check_provider(&p).map_err(|e| e.to_string())?;
    if new_secret {
        p.sealed_secret = Some(seal(g, &p.id, o).await?);
    }
    store.put_provider(&p).await.map_err(store_error)?;
    let mut human = format!("Updated provider {}.\n", p.id);
    if old.issuer != p.issuer {
        human.push_str(&format!(
            "Its issuer changed: the accounts linked through {} are not found under {} (links \
             are by issuer and subject).\n",
            old.issuer, p.issuer
        ));
    }
    Ok(Output::new(json!({ "provider": view(&p) }), human))
}

async fn delete(store: &Arc<dyn Store>, id: &str) -> Result<Output, String> {
    let p = find(store, id).await?;
    if !store.delete_provider(id).await.map_err(store_error)? {
        return Err(format!("no provider {id:?}"));
    }
    Ok(Output::new(
        json!({ "deleted": view(&p) }),
        format!(
            "Deleted provider {id}: its button is gone from the sign-in page. The accounts it \
             linked stay, and are found again if a provider with issuer {} comes back.\n",
            p.issuer
        ),
    ))
}
