//! `oidc-admin clients ...`: clients are built through `shared::seed::SeedClient`, so they
//! are validated exactly as seeded ones. Secrets are generated here, shown once and stored
//! as SHA-256 digests.
use std::{path::Path, sync::Arc};

use serde_json::{Map, Value, json};
use shared::{
    secret::ClientSecret,
    seed::SeedClient,
    store::{AuthMethod, Client, Store},
};

use crate::{
    AuthMethodArg, ClientsCmd, GrantArg, NewClient,
    backend::store_error,
    input,
    output::{Output, page},
};

/// Everything but secrets' (and tokens') hashes.
fn view(c: &Client) -> Value {
    let mut v = serde_json::to_value(c).unwrap_or_else(|_| json!({}));
    if let Some(o) = v.as_object_mut() {
        o.retain(|k, _| !k.ends_with("_hash"));
        o.insert("has_secret".into(), json!(c.secret_hash.is_some()));
        o.insert("trusted".into(), json!(c.is_trusted()));
    }
    v
}

fn kind(c: &Client) -> &'static str {
    match c.auth_method {
        AuthMethod::None => "public",
        _ => "confidential",
    }
}

fn method(a: AuthMethodArg) -> AuthMethod {
    match a {
        AuthMethodArg::ClientSecretBasic => AuthMethod::ClientSecretBasic,
        AuthMethodArg::ClientSecretPost => AuthMethod::ClientSecretPost,
        AuthMethodArg::None => AuthMethod::None,
        AuthMethodArg::PrivateKeyJwt => AuthMethod::PrivateKeyJwt,
    }
}

fn grant(g: GrantArg) -> &'static str {
    match g {
        GrantArg::AuthorizationCode => "authorization_code",
        GrantArg::RefreshToken => "refresh_token",
        GrantArg::ClientCredentials => "client_credentials",
    }
}

async fn find(store: &Arc<dyn Store>, id: &str) -> Result<Client, String> {
    store
        .client(id)
        .await
        .map_err(store_error)?
        .ok_or_else(|| format!("no client {id:?} (see `oidc-admin clients list`)"))
}

fn secret_note(id: &str, secret: &ClientSecret) -> String {
    format!(
        "client_id:     {id}\nclient_secret: {}\n\
         Store the secret now: it is shown only this once (the provider keeps only its SHA-256).\n",
        secret.expose()
    )
}

fn describe(c: &Client) -> String {
    let mut out = format!(
        "client_id:      {}\nname:           {}\ntype:           {} ({})\n",
        c.client_id,
        c.client_name,
        kind(c),
        c.auth_method.as_str()
    );
    let list = |v: &[String]| {
        if v.is_empty() {
            "-".to_string()
        } else {
            v.join(" ")
        }
    };
    out.push_str(&format!("redirect_uris:  {}\n", list(&c.redirect_uris)));
    out.push_str(&format!(
        "logout_uris:    {}\n",
        list(&c.post_logout_redirect_uris)
    ));
    out.push_str(&format!("grant_types:    {}\n", list(&c.grant_types)));
    out.push_str(&format!("scopes:         {}\n", list(&c.allowed_scopes)));
    out.push_str(&format!(
        "consent page:   {}\n",
        if c.skip_consent {
            "no (first-party)"
        } else {
            "yes"
        }
    ));
    out.push_str(&format!(
        "trusted:        {}\n",
        if c.is_trusted() {
            "yes"
        } else {
            "no (errors and logout stay on the provider's pages until sign-in)"
        }
    ));
    if let Some(l) = c.min_level {
        out.push_str(&format!("least sign-in:  {}\n", l.name()));
    }
    for cc in &c.custom_claims {
        out.push_str(&format!("custom claim:   {} = {}\n", cc.name, cc.value));
    }
    out
}

pub async fn run(store: &Arc<dyn Store>, cmd: ClientsCmd) -> Result<Output, String> {
    match cmd {
        ClientsCmd::Create(new) => create(store, new).await,
        ClientsCmd::List { after, limit } => list(store, after.as_deref(), limit).await,
        ClientsCmd::Show { id } => {
            let c = find(store, &id).await?;
            Ok(Output::new(json!({ "client": view(&c) }), describe(&c)))
        }
        ClientsCmd::RotateSecret { id } => rotate_secret(store, &id).await,
        ClientsCmd::Delete { id } => delete(store, &id).await,
    }
}

/// --public and --auth-method as one method (client_secret_basic when neither is given).
fn auth_method(public: bool, arg: Option<AuthMethodArg>) -> Result<AuthMethod, String> {
    match (public, arg.map(method)) {
        (true, None | Some(AuthMethod::None)) => Ok(AuthMethod::None),
        (true, Some(m)) => Err(format!(
            "--public clients authenticate with none, not {}",
            m.as_str()
        )),
        (false, Some(m)) => Ok(m),
        (false, None) => Ok(AuthMethod::ClientSecretBasic),
    }
}

fn has_secret(method: &AuthMethod) -> bool {
    matches!(
        method,
        AuthMethod::ClientSecretBasic | AuthMethod::ClientSecretPost
    )
}

/// The --jwks file's JWK Set.
fn read_jwks(path: &Path) -> Result<Value, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    serde_json::from_str::<Value>(&text).map_err(|e| format!("{}: {e}", path.display()))
}

/// The flags as a seed file's client, so that it is checked the same way.
fn seed_client(
    new: NewClient,
    method: AuthMethod,
    secret: Option<&ClientSecret>,
) -> Result<SeedClient, String> {
    let jwks = new.jwks.as_deref().map(read_jwks).transpose()?;
    let custom = input::custom_claims(&new.custom_claims)?;
    let scopes: Vec<String> = new
        .scopes
        .iter()
        .flat_map(|s| s.split([' ', ',']))
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect();
    let id = new.id;
    let mut fields = Map::new();
    fields.insert("client_id".into(), json!(id));
    fields.insert(
        "client_name".into(),
        json!(new.name.unwrap_or_else(|| id.clone())),
    );
    fields.insert("token_endpoint_auth_method".into(), json!(method));
    fields.insert("redirect_uris".into(), json!(new.redirect_uris));
    fields.insert(
        "post_logout_redirect_uris".into(),
        json!(new.post_logout_redirect_uris),
    );
    fields.insert("skip_consent".into(), json!(new.skip_consent));
    if new.untrusted {
        fields.insert("trusted".into(), json!(false));
    }
    fields.insert("custom_claims".into(), json!(custom));
    fields.insert("allowed_claims".into(), json!(new.allowed_claims));
    if !new.grant_types.is_empty() {
        let g: Vec<&str> = new.grant_types.into_iter().map(grant).collect();
        fields.insert("grant_types".into(), json!(g));
    }
    if !scopes.is_empty() {
        fields.insert("scopes".into(), json!(scopes));
    }
    if let Some(l) = new.logo_uri {
        fields.insert("logo_uri".into(), json!(l));
    }
    if let Some(j) = jwks {
        fields.insert("jwks".into(), j);
    }
    if let Some(l) = new.min_level {
        fields.insert("min_level".into(), json!(l));
    }
    let mut seed: SeedClient =
        serde_json::from_value(Value::Object(fields)).map_err(|e| e.to_string())?;
    seed.client_secret = secret.cloned();
    Ok(seed)
}

async fn create(store: &Arc<dyn Store>, new: NewClient) -> Result<Output, String> {
    let method = auth_method(new.public, new.auth_method)?;
    let secret = has_secret(&method).then(ClientSecret::generate);
    let id = new.id.clone();
    let client = seed_client(new, method, secret.as_ref())?
        .to_client()
        .map_err(|e| e.to_string())?;
    if store.client(&id).await.map_err(store_error)?.is_some() {
        return Err(format!(
            "a client {id:?} exists already: delete it first (`oidc-admin clients delete {id}`) or choose another --id"
        ));
    }
    store.put_client(&client).await.map_err(store_error)?;
    let mut human = format!(
        "Created {} client {} ({}).\n",
        kind(&client),
        client.client_id,
        client.auth_method.as_str()
    );
    if let Some(s) = &secret {
        human.push_str(&secret_note(&client.client_id, s));
    }
    Ok(Output::new(
        json!({ "client": view(&client), "client_secret": secret.as_ref().map(ClientSecret::expose) }),
        human,
    ))
}

async fn list(store: &Arc<dyn Store>, after: Option<&str>, limit: u16) -> Result<Output, String> {
    let page_ = store
        .list_clients(after, usize::from(limit))
        .await
        .map_err(store_error)?;
    let rows: Vec<Vec<String>> = page_
        .items
        .iter()
        .map(|c| {
            vec![
                c.client_id.clone(),
                kind(c).to_string(),
                c.auth_method.as_str().to_string(),
                c.client_name.clone(),
            ]
        })
        .collect();
    let human = page(
        "clients",
        &["CLIENT_ID", "TYPE", "AUTH", "NAME"],
        &rows,
        "No clients.\n",
        page_.next.as_deref(),
        limit,
    );
    Ok(Output::new(
        json!({
            "clients": page_.items.iter().map(view).collect::<Vec<_>>(),
            "next": page_.next,
        }),
        human,
    ))
}

async fn rotate_secret(store: &Arc<dyn Store>, id: &str) -> Result<Output, String> {
    let mut c = find(store, id).await?;
    if !has_secret(&c.auth_method) {
        return Err(format!(
            "{id} authenticates with {}: it has no secret to rotate",
            c.auth_method.as_str()
        ));
    }
    let secret = ClientSecret::generate();
    c.secret_hash = Some(secret.digest());
    // Whoever held the old secret may hold tokens too: they end with it.
    c.tokens_valid_after_ms = crate::input::now_ms();
    store.put_client(&c).await.map_err(store_error)?;
    Ok(Output::new(
        json!({ "client": view(&c), "client_secret": secret.expose() }),
        format!(
            "New secret for {id}; the old one, and every token issued to {id} before now, no longer work.\n{}",
            secret_note(id, &secret)
        ),
    ))
}

async fn delete(store: &Arc<dyn Store>, id: &str) -> Result<Output, String> {
    let c = find(store, id).await?;
    if !store.delete_client(id).await.map_err(store_error)? {
        return Err(format!("no client {id:?}"));
    }
    Ok(Output::new(
        json!({ "deleted": view(&c) }),
        format!(
            "Deleted client {id}: its authorization and token requests are refused from now on."
        ),
    ))
}
