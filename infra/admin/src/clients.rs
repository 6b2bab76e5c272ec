//! `oidc-admin clients ...`: clients are built through `shared::seed::SeedClient`, so they
//! are validated exactly as seeded ones. Secrets are generated here, shown once and stored
//! as SHA-256 digests.
use std::sync::Arc;

use serde_json::{Map, Value, json};
use shared::{
    crypto::{random_token, secret_digest},
    seed::SeedClient,
    store::{AuthMethod, Client, Store},
};

use crate::{
    AuthMethodArg, ClientsCmd, GrantArg,
    backend::store_error,
    input,
    output::{Output, table},
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

fn secret_note(id: &str, secret: &str) -> String {
    format!(
        "client_id:     {id}\nclient_secret: {secret}\n\
         Store the secret now: it is shown only this once (the provider keeps only its SHA-256).\n"
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
    for cc in &c.custom_claims {
        out.push_str(&format!("custom claim:   {} = {}\n", cc.name, cc.value));
    }
    out
}

pub async fn run(store: &Arc<dyn Store>, cmd: ClientsCmd) -> Result<Output, String> {
    match cmd {
        ClientsCmd::Create {
            id,
            name,
            redirect_uris,
            post_logout_redirect_uris,
            public,
            auth_method,
            grant_types,
            scopes,
            custom_claims,
            allowed_claims,
            skip_consent,
            untrusted,
            logo_uri,
            jwks,
        } => {
            let method = match (public, auth_method.map(method)) {
                (true, None | Some(AuthMethod::None)) => AuthMethod::None,
                (true, Some(m)) => {
                    return Err(format!(
                        "--public clients authenticate with none, not {}",
                        m.as_str()
                    ));
                }
                (false, Some(m)) => m,
                (false, None) => AuthMethod::ClientSecretBasic,
            };
            let secret = matches!(
                method,
                AuthMethod::ClientSecretBasic | AuthMethod::ClientSecretPost
            )
            .then(|| random_token(32));
            let jwks = match &jwks {
                Some(path) => {
                    let text = std::fs::read_to_string(path)
                        .map_err(|e| format!("{}: {e}", path.display()))?;
                    Some(
                        serde_json::from_str::<Value>(&text)
                            .map_err(|e| format!("{}: {e}", path.display()))?,
                    )
                }
                None => None,
            };
            let mut custom = Vec::new();
            for c in &custom_claims {
                custom.push(input::custom_claim(c)?);
            }
            let scopes: Vec<String> = scopes
                .iter()
                .flat_map(|s| s.split([' ', ',']))
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect();
            let mut fields = Map::new();
            fields.insert("client_id".into(), json!(id));
            fields.insert(
                "client_name".into(),
                json!(name.unwrap_or_else(|| id.clone())),
            );
            fields.insert("token_endpoint_auth_method".into(), json!(method));
            fields.insert("redirect_uris".into(), json!(redirect_uris));
            fields.insert(
                "post_logout_redirect_uris".into(),
                json!(post_logout_redirect_uris),
            );
            fields.insert("skip_consent".into(), json!(skip_consent));
            if untrusted {
                fields.insert("trusted".into(), json!(false));
            }
            fields.insert("custom_claims".into(), json!(custom));
            fields.insert("allowed_claims".into(), json!(allowed_claims));
            if let Some(s) = &secret {
                fields.insert("client_secret".into(), json!(s));
            }
            if !grant_types.is_empty() {
                let g: Vec<&str> = grant_types.into_iter().map(grant).collect();
                fields.insert("grant_types".into(), json!(g));
            }
            if !scopes.is_empty() {
                fields.insert("scopes".into(), json!(scopes));
            }
            if let Some(l) = logo_uri {
                fields.insert("logo_uri".into(), json!(l));
            }
            if let Some(j) = jwks {
                fields.insert("jwks".into(), j);
            }
            let seed: SeedClient =
                serde_json::from_value(Value::Object(fields)).map_err(|e| e.to_string())?;
            let client = seed.to_client().map_err(|e| e.to_string())?;
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
                json!({ "client": view(&client), "client_secret": secret }),
                human,
            ))
        }

        ClientsCmd::List { after, limit } => {
            let page = store
                .list_clients(after.as_deref(), usize::from(limit))
                .await
                .map_err(store_error)?;
            let rows: Vec<Vec<String>> = page
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
            let mut human = if rows.is_empty() {
                "No clients.\n".to_string()
            } else {
                table(&["CLIENT_ID", "TYPE", "AUTH", "NAME"], &rows)
            };
            if let Some(next) = &page.next {
                human.push_str(&format!(
                    "More: oidc-admin clients list --after {next} --limit {limit}\n"
                ));
            }
            Ok(Output::new(
                json!({
                    "clients": page.items.iter().map(view).collect::<Vec<_>>(),
                    "next": page.next,
                }),
                human,
            ))
        }

        ClientsCmd::Show { id } => {
            let c = find(store, &id).await?;
            Ok(Output::new(json!({ "client": view(&c) }), describe(&c)))
        }

        ClientsCmd::RotateSecret { id } => {
            let mut c = find(store, &id).await?;
            if !matches!(
                c.auth_method,
                AuthMethod::ClientSecretBasic | AuthMethod::ClientSecretPost
            ) {
                return Err(format!(
                    "{id} authenticates with {}: it has no secret to rotate",
                    c.auth_method.as_str()
                ));
            }
            let secret = random_token(32);
            c.secret_hash = Some(secret_digest(&secret));
            // Whoever held the old secret may hold tokens too: they end with it.
            c.tokens_valid_after_ms = crate::input::now_ms();
            store.put_client(&c).await.map_err(store_error)?;
            Ok(Output::new(
                json!({ "client": view(&c), "client_secret": secret }),
                format!(
                    "New secret for {id}; the old one, and every token issued to {id} before now, no longer work.\n{}",
                    secret_note(&id, &secret)
                ),
            ))
        }

        ClientsCmd::Delete { id } => {
            let c = find(store, &id).await?;
            if !store.delete_client(&id).await.map_err(store_error)? {
                return Err(format!("no client {id:?}"));
            }
            Ok(Output::new(
                json!({ "deleted": view(&c) }),
                format!(
                    "Deleted client {id}: its authorization and token requests are refused from now on."
                ),
            ))
        }
    }
}
