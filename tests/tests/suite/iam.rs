//! Least privilege that still works: every store call each endpoint makes, over a full tour
//! of the provider (sign-in, consent, every grant, userinfo, introspection, revocation,
//! logout, registration, federated sign-ins, the account page, sign-ins with a passkey and
//! with a password and a code), is granted to its Lambda function's role in `template.yaml`: the
//! DynamoDB actions the call's implementation uses (`shared/src/store/dynamo.rs`) on the item
//! kinds it touches (`dynamodb:LeadingKeys`). On real AWS a missing grant is an AccessDenied
//! (a 503 for the person); here it is a failing test.
use std::{collections::BTreeSet, path::PathBuf};

use e2e::{ALICE, BASIC, M2M, Provider, REDIRECT, TestBackend, browser::input_value};
use serde_json::{Value as Json, json};
use serde_yaml_ng::Value;

/// The DynamoDB actions and item kinds of each store call, as `DynamoStore` makes them
/// (transactions are authorized action by action). Kept beside the implementation's own
/// description in `template.yaml`'s comments; a call missing here fails the test.
fn grants_needed(call: &str) -> &'static [(&'static str, &'static str)] {
    match call {
        "client" => &[("GetItem", "client")],
        "put_client" => &[("PutItem", "client")],
        "delete_client" => &[("DeleteItem", "client")],
        "user" => &[("GetItem", "user")],
        "auth_request" => &[("GetItem", "authreq")],
        "put_auth_request" => &[("PutItem", "authreq")],
        "delete_auth_request" => &[("DeleteItem", "authreq")],
        "complete_auth_request" => &[
            ("DeleteItem", "authreq"),
            ("PutItem", "code"),
            ("UpdateItem", "consent"),
        ],
        "session" => &[("GetItem", "session")],
        "put_session" => &[("PutItem", "session")],
        "delete_session" => &[("DeleteItem", "session")],
        "put_code" => &[("PutItem", "code")],
        "consume_code" | "restore_code" => &[("UpdateItem", "code")],
        "consent" => &[("GetItem", "consent")],
        "revoke" => &[("PutItem", "revoked")],
        "is_revoked" => &[("GetItem", "revoked")],
        "liveness_read" => &[
            ("BatchGetItem", "client"),
            ("BatchGetItem", "user"),
            ("BatchGetItem", "revoked"),
        ],
        "put_refresh" => &[("PutItem", "refresh")],
        "refresh" => &[("GetItem", "refresh")],
        "rotate_refresh" => &[
            ("UpdateItem", "refresh"),
            ("PutItem", "refresh"),
            ("GetItem", "refresh"),
        ],
        "first_use" => &[("PutItem", "replay")],
        "signin_read" => &[
            ("BatchGetItem", "authreq"),
            ("BatchGetItem", "username"),
            ("BatchGetItem", "throttle"),
            ("BatchGetItem", "secret"),
            ("BatchGetItem", "factors"),
        ],
        "signin_write" => &[
            ("PutItem", "session"),
            ("PutItem", "authreq"),
            ("UpdateItem", "throttle"),
            ("ConditionCheckItem", "throttle"),
            ("DeleteItem", "throttle"),
            ("PutItem", "factors"),
            ("PutItem", "passkey"),
            ("ConditionCheckItem", "factors"),
            ("ConditionCheckItem", "user"),
        ],
        // Enrolling and removing TOTP (the account page's, the admin tool's).
        "put_totp" => &[
            ("PutItem", "factors"),
            ("UpdateItem", "user"),
            ("UpdateItem", "username"),
        ],
        "create_secret" => &[("PutItem", "secret"), ("GetItem", "secret")],
        // Passkeys and the account page.
        "factors" => &[("GetItem", "factors")],
        "put_factors" => &[("PutItem", "factors")],
        "passkey" => &[("GetItem", "passkey")],
        "passkeys" => &[("BatchGetItem", "passkey")],
        "add_passkey" => &[("PutItem", "passkey"), ("PutItem", "factors")],
        "remove_passkey" => &[("DeleteItem", "passkey"), ("PutItem", "factors")],
        "update_user" => &[
            ("GetItem", "user"),
            ("PutItem", "user"),
            ("PutItem", "username"),
        ],
        "published_keys" => &[("GetItem", "keys")],
        // Upstream providers (every one in providers#all) and federated sign-in: the
        // authorize function lists the providers, the federation function makes the rest.
        // (put_provider and delete_provider, UpdateItem on providers#all, are the admin
        // tool's only: no function's role may make them.)
        "provider" | "list_providers" => &[("GetItem", "providers")],
        "put_attempt" => &[("PutItem", "fedstate")],
        "take_attempt" => &[("DeleteItem", "fedstate")],
        "link" => &[("GetItem", "link")],
        "user_by_email" => &[("GetItem", "email"), ("GetItem", "user")],
        "put_link" => &[("PutItem", "link")],
        "create_linked_user" => &[
            ("PutItem", "link"),
            ("PutItem", "user"),
            ("PutItem", "username"),
            ("PutItem", "email"),
        ],
        // The signer's calls: KMS, not the table (the key policies are the template's own).
        "public_keys" | "sign" => &[],
        other => panic!("store call {other:?} has no grant listed here: add it"),
    }
}

fn template() -> Value {
    let path = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../template.yaml"));
    let text = std::fs::read_to_string(path).expect("template.yaml");
    serde_yaml_ng::from_str(&text).expect("YAML")
}

fn untag(v: &Value) -> &Value {
    match v {
        Value::Tagged(t) => &t.value,
        v => v,
    }
}

fn strings(v: &Value) -> Vec<String> {
    match untag(v) {
        Value::String(s) => vec![s.clone()],
        Value::Sequence(items) => items
            .iter()
            .filter_map(|i| untag(i).as_str().map(str::to_string))
            .collect(),
        _ => vec![],
    }
}

/// (action, item kind) pairs a role's inline policies and managed policies of the template
/// allow on the table: `dynamodb:LeadingKeys` patterns `kind#*`, and exact keys (`kind#name`).
fn granted(t: &Value, role: &str) -> BTreeSet<(String, String)> {
    let res = &t["Resources"];
    let role = &res[role];
    let mut docs: Vec<&Value> = role["Properties"]["Policies"]
        .as_sequence()
        .map(|ps| ps.iter().map(|p| &p["PolicyDocument"]).collect())
        .unwrap_or_default();
    for managed in role["Properties"]["ManagedPolicyArns"]
        .as_sequence()
        .into_iter()
        .flatten()
    {
        if let Some(name) = untag(managed).as_str() {
            docs.push(&res[name]["Properties"]["PolicyDocument"]);
        }
    }
    let mut out = BTreeSet::new();
    for doc in docs {
        for st in doc["Statement"].as_sequence().into_iter().flatten() {
            let condition = &st["Condition"];
            let mut keys = strings(&condition["ForAllValues:StringLike"]["dynamodb:LeadingKeys"]);
            keys.extend(strings(
                &condition["ForAllValues:StringEquals"]["dynamodb:LeadingKeys"],
            ));
            for action in strings(&st["Action"]) {
                let Some(action) = action.strip_prefix("dynamodb:") else {
                    continue;
                };
                for k in &keys {
                    let kind = k.split('#').next().unwrap_or_default();
                    out.insert((action.to_string(), kind.to_string()));
                }
            }
        }
    }
    out
}

/// The role of the function serving `path` (`login` → `LoginRole`).
fn role_of(path: &str) -> String {
    let route = shared::endpoints::routes()
        .iter()
        .find(|r| r.endpoint.path() == path)
        .unwrap_or_else(|| panic!("no route {path}"));
    let f = route.endpoint.function();
    format!("{}{}Role", f[..1].to_uppercase(), &f[1..])
}

struct Tour<'a> {
    p: &'a Provider,
    http: reqwest::Client,
    /// (request, function role, store call) for every call made.
    seen: Vec<(String, String, String)>,
}

impl Tour<'_> {
    async fn go(&mut self, req: reqwest::RequestBuilder) -> reqwest::Response {
        let req = req.build().expect("request");
        let path = req.url().path().to_string();
        let what = format!("{} {path}", req.method());
        self.p.faults.take_calls();
        let resp = self.http.execute(req).await.expect("request");
        let role = role_of(&path);
        for call in self.p.faults.take_calls() {
            self.seen
                .push((what.clone(), role.clone(), call.to_string()));
        }
        resp
    }

    /// GET `url` (a page with a form): its req and csrf.
    async fn form(&mut self, url: &str) -> (String, String) {
        let body = self
            .go(self.http.get(url))
            .await
            .text()
            .await
            .expect("page");
        (
            input_value(&body, "req").expect("req"),
            input_value(&body, "csrf").expect("csrf"),
        )
    }

    async fn json(&mut self, req: reqwest::RequestBuilder) -> Json {
        self.go(req).await.json().await.unwrap_or(Json::Null)
    }
}

fn location(resp: &reqwest::Response) -> String {
    resp.headers()["location"]
        .to_str()
        .expect("location")
        .to_string()
}

fn param(url: &str, name: &str) -> String {
    url::Url::parse(url)
        .expect("url")
        .query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
        .unwrap_or_else(|| panic!("no {name} in {url}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_store_call_is_granted_to_its_functions_role() {
    let p = Provider::start(TestBackend::Embedded).await;
    e2e::tls_ready();
    let http = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let mut t = Tour {
        p: &p,
        http: http.clone(),
        seen: vec![],
    };
    let scope = [("scope", "openid email offline_access")];
    // Sign-in: the form from /authorize, a wrong password, the right one, consent.
    let (req, csrf) = t.form(&p.authorize_url(BASIC.0, &scope)).await;
    let login = p.url("/login");
    let post = |u: &str, pw: &str| {
        http.post(&login).form(&[
            ("req", req.as_str()),
            ("csrf", csrf.as_str()),
            ("username", u),
            ("password", pw),
        ])
    };
    t.go(post(ALICE.0, "wrong")).await;
    let to_consent = location(&t.go(post(ALICE.0, ALICE.1)).await);
    t.form(&format!("{}?req={req}", p.url("/login"))).await;
    let (req, csrf) = t.form(&to_consent).await;
    let back = t
        .go(http.post(p.url("/consent")).form(&[
            ("req", req.as_str()),
            ("csrf", csrf.as_str()),
            ("decision", "allow"),
        ]))
        .await;
    let code = param(&location(&back), "code");
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", REDIRECT),
    ];
    let tokens = t
        .json(
            http.post(p.url("/token"))
                .basic_auth(BASIC.0, Some(BASIC.1))
                .form(&form),
        )
        .await;
    let at = tokens["access_token"].as_str().expect("at").to_string();
    let rt = tokens["refresh_token"].as_str().expect("rt").to_string();
    let id = tokens["id_token"].as_str().expect("id").to_string();
    t.go(http.get(p.url("/userinfo")).bearer_auth(&at)).await;
    // A refresh, then introspection and revocation of both kinds of token, then a replay of
    // the code by its own client (which revokes its grant).
    let tokens = t
        .json(
            http.post(p.url("/token"))
                .basic_auth(BASIC.0, Some(BASIC.1))
                .form(&[
                    ("grant_type", "refresh_token"),
                    ("refresh_token", rt.as_str()),
                ]),
        )
        .await;
    let rt = tokens["refresh_token"]
        .as_str()
        .expect("rotated")
        .to_string();
    for token in [&at, &rt] {
        t.go(http
            .post(p.url("/introspect"))
            .basic_auth(M2M.0, Some(M2M.1))
            .form(&[("token", token.as_str())]))
            .await;
        t.go(http
            .post(p.url("/revoke"))
            .basic_auth(BASIC.0, Some(BASIC.1))
            .form(&[("token", token.as_str())]))
            .await;
    }
    t.go(http
        .post(p.url("/token"))
        .basic_auth(BASIC.0, Some(BASIC.1))
        .form(&form))
        .await;
    t.go(http
        .post(p.url("/token"))
        .basic_auth(M2M.0, Some(M2M.1))
        .form(&[("grant_type", "client_credentials")]))
        .await;
    // Single sign-on: a code straight from /authorize; then a consent page from /authorize,
    // denied.
    t.go(http.get(p.authorize_url(BASIC.0, &[("prompt", "none")])))
        .await;
    let (req, csrf) = t
        .form(&p.authorize_url(BASIC.0, &[("prompt", "consent")]))
        .await;
    t.go(http.post(p.url("/consent")).form(&[
        ("req", req.as_str()),
        ("csrf", csrf.as_str()),
        ("decision", "deny"),
    ]))
    .await;
    // Logout with the ID token of this session, and the discovery documents.
    t.go(http.get(format!("{}?id_token_hint={id}", p.url("/logout"))))
        .await;
    t.go(http.get(p.url("/.well-known/openid-configuration")))
        .await;
    t.go(http.get(p.url("/jwks.json"))).await;
    // Registration and RFC 7592 management.
    let reg = t
        .json(
            http.post(p.url("/register"))
                .json(&json!({"redirect_uris": [REDIRECT]})),
        )
        .await;
    let (cid, rat) = (
        reg["client_id"].as_str().expect("client_id").to_string(),
        reg["registration_access_token"]
            .as_str()
            .expect("rat")
            .to_string(),
    );
    let manage = p.url(&format!("/register?client_id={cid}"));
    t.go(http.get(&manage).bearer_auth(&rat)).await;
    t.go(http
        .put(&manage)
        .bearer_auth(&rat)
        .json(&json!({"client_id": cid, "redirect_uris": [REDIRECT]})))
        .await;
    t.go(http.delete(&manage).bearer_auth(&rat)).await;
    // Federated sign-ins through a second instance of this provider: the first makes the
    // account and its link, the second finds the link and refreshes the account's claims.
    let up = super::federation::upstream().await;
    super::federation::connect(&up, &p, true).await;
    for _ in 0..2 {
        let b = super::federation::browser();
        t.http = b.clone();
        let scope = [("scope", "openid email profile"), ("idp", "up")];
        let start = location(&t.go(b.get(p.authorize_url(BASIC.0, &scope))).await);
        let away = location(&t.go(b.get(&start)).await);
        let callback = super::federation::at_upstream(&b, &up, &away, ALICE).await;
        let consent = location(&t.go(b.get(&callback)).await);
        assert!(consent.contains("/consent"), "signed in: {consent}");
    }

    account_and_second_factors(&mut t, &p).await;

    let tmpl = template();
    let mut missing = BTreeSet::new();
    let mut roles = BTreeSet::new();
    for (what, role, call) in &t.seen {
        roles.insert(role.clone());
        let have = granted(&tmpl, role);
        // A federated sign-in's write carries no failure counters (nothing was guessed), no
        // second factor and no passkey: only its session and request.
        let federated = role == "FederationRole" && call == "signin_write";
        for &(action, kind) in grants_needed(call).iter().filter(|(_, kind)| {
            !(federated && matches!(*kind, "throttle" | "factors" | "passkey" | "user"))
        }) {
            if !have.contains(&(action.to_string(), kind.to_string())) {
                missing.insert(format!(
                    "{role}: dynamodb:{action} on {kind}#* ({call}, in {what})"
                ));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "template.yaml lacks:\n{}",
        missing.into_iter().collect::<Vec<_>>().join("\n")
    );
    for expected in [
        "AuthorizeRole",
        "LoginRole",
        "TokenRole",
        "UserinfoRole",
        "IntrospectRole",
        "RevokeRole",
        "LogoutRole",
        "RegisterRole",
        "FederationRole",
        "AccountRole",
    ] {
        assert!(
            roles.contains(expected),
            "the tour reached {expected}: {roles:?}"
        );
    }
}

/// The account page (its own sign-in, an authenticator app turned on, its sign-in again
/// with a password and a code, a passkey added, other sessions ended, the passkey removed),
/// and a sign-in with the passkey.
async fn account_and_second_factors(t: &mut Tour<'_>, p: &Provider) {
    let fresh = || {
        reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client")
    };
    let account = p.url("/account");
    let b = fresh();
    t.http = b.clone();
    let to_login = location(&t.go(b.post(&account).form(&[("action", "sign-in")])).await);
    let (req, csrf) = t.form(&to_login).await;
    let fields = [
        ("req", req.as_str()),
        ("csrf", csrf.as_str()),
        ("username", ALICE.0),
        ("password", ALICE.1),
    ];
    t.go(b.post(p.url("/login")).form(&fields)).await;
    let page = t.go(b.get(&account)).await.text().await.expect("page");
    let csrf = input_value(&page, "csrf").expect("csrf");
    let act = |fields: Vec<(&'static str, String)>| {
        let mut form = vec![("csrf", csrf.clone())];
        form.extend(fields);
        b.post(&account).form(&form)
    };
    // An authenticator app first (a password may add the first factor).
    let scan = t.go(act(vec![("action", "totp-begin".into())]));
    let secret = input_value(&scan.await.text().await.expect("page"), "secret").expect("secret");
    let code = |at: i64| {
        use shared::totp::{ALGORITHM, DIGITS, STEP, TotpSecret, totp_at};
        let secret = TotpSecret::from_base32(&secret).expect("base32");
        totp_at(secret.expose(), at as u64, STEP, DIGITS, ALGORITHM)
    };
    let confirm = vec![
        ("action", "totp-confirm".into()),
        ("secret", secret.clone()),
        ("code", code(p.clock_now())),
    ];
    assert_eq!(t.go(act(confirm)).await.status().as_u16(), 200);

    // Changes now need two factors: the account page's sign-in again, with a password and
    // a code (of the next time step: the enrolment used this one).
    let to_login = location(&t.go(b.post(&account).form(&[("action", "sign-in")])).await);
    let (req, csrf) = t.form(&to_login).await;
    let fields = [
        ("req", req.as_str()),
        ("csrf", csrf.as_str()),
        ("username", ALICE.0),
        ("password", ALICE.1),
    ];
    // The code page is the password's answer.
    let page = t.go(b.post(p.url("/login")).form(&fields)).await;
    let page = page.text().await.expect("code page");
    p.clock.advance(30);
    let fields: Vec<(&str, String)> = ["req", "csrf", "sub", "username"]
        .into_iter()
        .map(|n| (n, input_value(&page, n).expect(n)))
        .chain([("code", code(p.clock_now()))])
        .collect();
    let done = t.go(b.post(p.url("/login/totp")).form(&fields)).await;
    assert_eq!(done.status().as_u16(), 303, "signed in with the code");
    let page = t.go(b.get(&account)).await.text().await.expect("page");
    let csrf = input_value(&page, "csrf").expect("csrf");
    let act = |fields: Vec<(&'static str, String)>| {
        let mut form = vec![("csrf", csrf.clone())];
        form.extend(fields);
        b.post(&account).form(&form)
    };

    let begun = t.go(act(vec![
        ("action", "passkey-begin".into()),
        ("name", "Key".into()),
    ]));
    let begun = begun.await.text().await.expect("page");
    let options = e2e::browser::data_options(&begun, "passkey-create");
    let mut key = super::passkey_signin::Authenticator::new();
    let credential = key.attest(&options, &p.issuer());
    let added = t.go(act(vec![
        ("action", "passkey-finish".into()),
        ("credential", credential),
    ]));
    assert_eq!(added.await.status().as_u16(), 200);
    t.go(act(vec![("action", "end-sessions".into())])).await;

    // A passkey sign-in, in a new browser.
    let other = fresh();
    t.http = other.clone();
    let page = t.go(other.get(p.authorize_url(BASIC.0, &[]))).await;
    let page = page.text().await.expect("page");
    let options = e2e::browser::data_options(&page, "passkey-form");
    let fields = [
        ("req", input_value(&page, "req").expect("req")),
        ("csrf", input_value(&page, "csrf").expect("csrf")),
        ("credential", key.assert(&options, &p.issuer(), 1)),
    ];
    let signed_in = t
        .go(other.post(p.url("/login/passkey")).form(&fields))
        .await;
    assert_eq!(signed_in.status().as_u16(), 303);

    // Back on the account page: the passkey removed.
    t.http = b.clone();
    let id = base64::Engine::encode(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD,
        &key.credential_id,
    );
    let removed = t.go(act(vec![("action", "passkey-remove".into()), ("id", id)]));
    assert_eq!(removed.await.status().as_u16(), 200);
}

/// The jwks function's calls on the published key set (`signer::published::OwnKeySet`: read
/// it, and publish when it is another configuration's) happen on Lambda only: the local
/// server serves the JWKS from its own signer, so the tour above never sees them.
#[test]
fn the_jwks_role_may_read_and_publish_the_key_set() {
    let have = granted(&template(), "JwksRole");
    for need in [("GetItem", "keys"), ("PutItem", "keys")] {
        assert!(
            have.contains(&(need.0.to_string(), need.1.to_string())),
            "JwksRole lacks dynamodb:{} on keys#published: {have:?}",
            need.0
        );
    }
}
