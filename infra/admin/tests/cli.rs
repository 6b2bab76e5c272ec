#![allow(clippy::expect_used, clippy::unwrap_used)]
//! The `oidc-admin` binary as an administrator runs it: clients and users made with it sign
//! in on the local server (started on the same data directory) over HTTP, through a small
//! scripted browser; and the same commands against DynamoDB + KMS on the emulator.
use std::{
    io::Write,
    path::{Path, PathBuf},
    process::{Command, Stdio},
    sync::Arc,
    time::Duration,
};

use base64::Engine;
use oidc_local::{Backend, Options, Running};
use serde_json::Value;
use shared::{clock::SystemClock, crypto::random_token, signer::Alg};

const REDIRECT: &str = "https://app.example/cb";

// ---------------------------------------------------------------------------------------
// the binary

struct Out {
    code: i32,
    stdout: String,
    stderr: String,
}

/// oidc-admin with fixed backend flags.
struct Admin {
    backend: Vec<String>,
}

impl Admin {
    fn embedded(dir: &Path) -> Self {
        Self {
            backend: vec!["--data-dir".into(), dir.display().to_string()],
        }
    }

    fn aws(table: &str) -> Self {
        Self {
            backend: vec!["--aws".into(), "--table".into(), table.into()],
        }
    }

    /// Runs with `stdin` piped in (then closed).
    fn run(&self, args: &[&str], stdin: &str) -> Out {
        let mut child = Command::new(env!("CARGO_BIN_EXE_oidc-admin"))
            .args(&self.backend)
            .args(args)
            .env_remove("DATA_DIR")
            .env_remove("TABLE_NAME")
            .env_remove("SIGNING_KEYS")
            .env_remove("FEDERATION_SECRETS_KEY")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("oidc-admin starts");
        if let Some(mut input) = child.stdin.take() {
            // The command may exit without reading it.
            let _ = input.write_all(stdin.as_bytes());
        }
        let out = child.wait_with_output().expect("oidc-admin ends");
        Out {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// Human output of a command that must succeed.
    fn ok(&self, args: &[&str]) -> String {
        self.ok_with(args, "")
    }

    fn ok_with(&self, args: &[&str], stdin: &str) -> String {
        let out = self.run(args, stdin);
        assert_eq!(
            out.code, 0,
            "oidc-admin {args:?} failed:\n{}{}",
            out.stdout, out.stderr
        );
        out.stdout
    }

    /// `--json` output of a command that must succeed.
    fn json(&self, args: &[&str]) -> Value {
        self.json_with(args, "")
    }

    fn json_with(&self, args: &[&str], stdin: &str) -> Value {
        let mut all = vec!["--json"];
        all.extend_from_slice(args);
        let out = self.ok_with(&all, stdin);
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("not JSON ({e}): {out}"))
    }

    /// A command that must fail with exit code 1 and a message on stderr; the message.
    fn fails(&self, args: &[&str], stdin: &str) -> String {
        let out = self.run(args, stdin);
        assert_eq!(
            out.code, 1,
            "oidc-admin {args:?} should fail:\n{}{}",
            out.stdout, out.stderr
        );
        assert!(out.stderr.starts_with("error: "), "{}", out.stderr);
        out.stderr
    }
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "oidc-admin-{name}-{}",
        random_token(6).replace(['-', '_'], "x")
    ));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// The value after `label` on its line of human output.
fn line_after(text: &str, label: &str) -> String {
    text.lines()
        .find_map(|l| l.trim().strip_prefix(label).map(|v| v.trim().to_string()))
        .unwrap_or_else(|| panic!("no {label:?} line in:\n{text}"))
}

// ---------------------------------------------------------------------------------------
// the local server

struct Server {
    running: Running,
    issuer: String,
    /// The embedded store's data directory.
    dir: Option<PathBuf>,
}

impl Server {
    async fn start(backend: Backend) -> Server {
        let opts = Options {
            port: 0,
            issuer: None,
            backend,
            seed: None,
            demo: false,
            config_vars: vec![],
            lambda_keys: false,
            timeouts: Default::default(),
        };
        let dir = match &opts.backend {
            Backend::Embedded { data_dir, .. } => data_dir.clone(),
            Backend::Aws { .. } => None,
        };
        let running = oidc_local::start(opts, Arc::new(SystemClock))
            .await
            .expect("the local server starts");
        let issuer = running.issuer().to_string();
        Server {
            running,
            issuer,
            dir,
        }
    }

    async fn embedded(dir: &Path) -> Server {
        Self::start(Backend::Embedded {
            data_dir: Some(dir.to_path_buf()),
            alg: Alg::RS256,
        })
        .await
    }

    /// Stops serving and waits until the store is closed (its file lock released), as
    /// when a person stops `oidc-local`.
    async fn stop(self) {
        let app = Arc::downgrade(&self.running.app);
        drop(self.running);
        let Some(dir) = self.dir else {
            return;
        };
        // The last reference may go on a connection's thread, whose destructor then closes
        // the file: opening it here succeeds once that is done.
        for _ in 0..500 {
            if app.strong_count() == 0
                && shared::store::embedded::EmbeddedStore::open(&dir.join("store.redb")).is_ok()
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("the server did not let go of its store");
    }

    async fn jwks_kids(&self) -> Vec<String> {
        let jwks: Value = http()
            .get(format!("{}/jwks.json", self.issuer))
            .send()
            .await
            .expect("jwks")
            .json()
            .await
            .expect("jwks json");
        jwks["keys"]
            .as_array()
            .expect("keys")
            .iter()
            .map(|k| k["kid"].as_str().expect("kid").to_string())
            .collect()
    }

    /// POST /token with HTTP Basic client authentication.
    async fn token(&self, form: &[(&str, &str)], client: (&str, &str)) -> (u16, Value) {
        let resp = http()
            .post(format!("{}/token", self.issuer))
            .basic_auth(client.0, Some(client.1))
            .form(form)
            .send()
            .await
            .expect("token request");
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap_or(Value::Null))
    }

    async fn redeem(&self, code: &str, client: (&str, &str)) -> (u16, Value) {
        self.token(
            &[
                ("grant_type", "authorization_code"),
                ("code", code),
                ("redirect_uri", REDIRECT),
            ],
            client,
        )
        .await
    }

    async fn refresh(&self, token: &str, client: (&str, &str)) -> (u16, Value) {
        self.token(
            &[("grant_type", "refresh_token"), ("refresh_token", token)],
            client,
        )
        .await
    }

    /// Verifies a JWT against this server's JWKS with the independent `jsonwebtoken` crate
    /// (`iss` as it was when the token was issued: the port changes across restarts).
    async fn verify(&self, token: &str, iss: &str, aud: &str) -> Result<Value, String> {
        let header = jsonwebtoken::decode_header(token).map_err(|e| e.to_string())?;
        let kid = header.kid.clone().ok_or("no kid")?;
        let jwks: jsonwebtoken::jwk::JwkSet = http()
            .get(format!("{}/jwks.json", self.issuer))
            .send()
            .await
            .map_err(|e| e.to_string())?
            .json()
            .await
            .map_err(|e| e.to_string())?;
        let jwk = jwks.find(&kid).ok_or(format!("{kid} is not published"))?;
        let key = jsonwebtoken::DecodingKey::from_jwk(jwk).map_err(|e| e.to_string())?;
        let mut v = jsonwebtoken::Validation::new(header.alg);
        v.set_issuer(&[iss]);
        v.set_audience(&[aud]);
        jsonwebtoken::decode::<Value>(token, &key, &v)
            .map(|d| d.claims)
            .map_err(|e| e.to_string())
    }
}

/// No pooled connections: a stopped server must not be kept alive by an idle one.
fn http() -> reqwest::Client {
    shared::federation::upstream::install_crypto_provider();
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .pool_max_idle_per_host(0)
        .build()
        .expect("http client")
}

fn jwt_part(token: &str, i: usize) -> Value {
    let part = token.split('.').nth(i).expect("JWT part");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(part)
        .expect("base64url");
    serde_json::from_slice(&bytes).expect("JSON")
}

// ---------------------------------------------------------------------------------------
// a scripted browser

/// Where signing in ended: a code for the client, or a page of the provider.
#[derive(Debug)]
struct SignIn {
    code: Option<String>,
    /// The provider's pages the person saw ("login", "consent"), in order.
    pages: Vec<&'static str>,
    last_page: String,
}

/// Keeps its cookies (they outlive a server restart: cookies ignore the port).
struct Browser {
    http: reqwest::Client,
}

fn unescape(v: &str) -> String {
    v.replace("&#x2f;", "/")
        .replace("&#47;", "/")
        .replace("&#34;", "\"")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&#x27;", "'")
        .replace("&amp;", "&")
}

fn attr_after(html: &str, marker: &str) -> Option<String> {
    let start = html.find(marker)? + marker.len();
    let end = html[start..].find('"')?;
    Some(unescape(&html[start..start + end]))
}

impl Browser {
    fn new() -> Self {
        shared::federation::upstream::install_crypto_provider();
        let http = reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .pool_max_idle_per_host(0)
            .build()
            .expect("browser");
        Self { http }
    }

    /// GET /authorize, follow the provider's 303s, fill the sign-in form with `creds` when
    /// it is shown (once), allow on the consent page; stop at the redirect to the client.
    async fn sign_in(
        &self,
        issuer: &str,
        client_id: &str,
        scope: &str,
        creds: Option<(&str, &str)>,
    ) -> SignIn {
        let query = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs([
                ("response_type", "code"),
                ("client_id", client_id),
                ("redirect_uri", REDIRECT),
                ("scope", scope),
                ("state", "st"),
                ("nonce", "n-1"),
            ])
            .finish();
        let mut resp = self
            .http
            .get(format!("{issuer}/authorize?{query}"))
            .send()
            .await
            .expect("GET /authorize");
        let mut pages = Vec::new();
        let mut submitted = false;
        for _ in 0..10 {
            if resp.status().is_redirection() {
                let location = resp
                    .headers()
                    .get("location")
                    .and_then(|l| l.to_str().ok())
                    .expect("Location")
                    .to_string();
                if !location.starts_with(issuer) {
                    let url = url::Url::parse(&location).expect("absolute redirect");
                    let code = url
                        .query_pairs()
                        .find(|(k, _)| k == "code")
                        .map(|(_, v)| v.into_owned());
                    return SignIn {
                        code,
                        pages,
                        last_page: location,
                    };
                }
                resp = self.http.get(&location).send().await.expect("follow");
                continue;
            }
            let status = resp.status().as_u16();
            let body = resp.text().await.expect("page");
            let stop = |pages, body| SignIn {
                code: None,
                pages,
                last_page: body,
            };
            if status != 200 {
                return stop(pages, body);
            }
            let field = |name: &str| {
                attr_after(&body, &format!("name=\"{name}\" value=\"")).unwrap_or_default()
            };
            let action = body
                .find("<form")
                .and_then(|i| attr_after(&body[i..], "action=\""))
                .unwrap_or_default();
            if body.contains("name=\"password\"") {
                pages.push("login");
                let Some((user, pass)) = creds.filter(|_| !submitted) else {
                    return stop(pages, body);
                };
                submitted = true;
                let form = [
                    ("req", field("req")),
                    ("csrf", field("csrf")),
                    ("username", user.to_string()),
                    ("password", pass.to_string()),
                ];
                resp = self
                    .http
                    .post(&action)
                    .form(&form)
                    .send()
                    .await
                    .expect("login");
            } else if body.contains("name=\"decision\"") {
                pages.push("consent");
                let form = [
                    ("req", field("req")),
                    ("csrf", field("csrf")),
                    ("decision", "allow".to_string()),
                ];
                resp = self
                    .http
                    .post(&action)
                    .form(&form)
                    .send()
                    .await
                    .expect("consent");
            } else {
                return stop(pages, body);
            }
        }
        panic!("too many steps signing in");
    }
}

// ---------------------------------------------------------------------------------------
// embedded: the local server's data directory

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn newcomer_creates_a_client_and_a_user_with_the_cli_and_signs_in() {
    let dir = temp_dir("newcomer");
    let admin = Admin::embedded(&dir);

    // Human output, as a newcomer reads it: the secret is printed once.
    let created = admin.ok(&[
        "clients",
        "create",
        "--id",
        "my-app",
        "--name",
        "My App",
        "--redirect-uri",
        REDIRECT,
        "--scope",
        "openid profile email",
    ]);
    assert!(created.contains("shown only this once"), "{created}");
    let secret = line_after(&created, "client_secret:");
    assert_eq!(secret.len(), 43, "32 random bytes, base64url");
    let out = admin.run(
        &[
            "users",
            "create",
            "--username",
            "ada",
            "--email",
            "ada@example.com",
            "--claim",
            "name=Ada Lovelace",
            "--claim",
            "email_verified=true",
            "--password-stdin",
        ],
        "correct horse battery\n",
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.contains("Created user ada"), "{}", out.stdout);
    let sub = admin.json(&["users", "show", "ada"])["user"]["sub"]
        .as_str()
        .expect("sub")
        .to_string();

    // Neither the secret nor any hash is ever shown again.
    let digest = shared::crypto::secret_digest(&secret);
    for shown in [
        admin.ok(&["clients", "show", "my-app"]),
        admin.ok(&["--json", "clients", "show", "my-app"]),
        admin.ok(&["--json", "clients", "list"]),
    ] {
        assert!(
            !shown.contains(&secret) && !shown.contains(&digest) && !shown.contains("_hash"),
            "{shown}"
        );
    }
    let user = admin.ok(&["--json", "users", "show", "ada"]);
    assert!(
        !user.contains("argon2") && !user.contains("password"),
        "{user}"
    );

    let server = Server::embedded(&dir).await;
    let browser = Browser::new();
    let signed = browser
        .sign_in(
            &server.issuer,
            "my-app",
            "openid profile email",
            Some(("ada", "correct horse battery")),
        )
        .await;
    assert_eq!(signed.pages, ["login", "consent"], "{signed:?}");
    let code = signed.code.expect("a code");
    let (status, tokens) = server.redeem(&code, ("my-app", &secret)).await;
    assert_eq!(status, 200, "{tokens}");
    let id = server
        .verify(
            tokens["id_token"].as_str().expect("id_token"),
            &server.issuer,
            "my-app",
        )
        .await
        .expect("the ID token verifies");
    assert_eq!(id["sub"], sub.as_str());
    assert_eq!(id["email"], "ada@example.com");
    assert_eq!(id["email_verified"], true);
    assert_eq!(id["name"], "Ada Lovelace");
    server.stop().await;
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn import_checks_every_line_first_then_users_list_in_pages() {
    let dir = temp_dir("import");
    let admin = Admin::embedded(&dir);
    let hash = shared::password::hash_password(&"pre-hashed-password".into()).expect("hash");
    let good = [
        serde_json::json!({"username": "u1", "password": "pw-one", "claims": {"email": "u1@example.com"}}),
        serde_json::json!({"username": "u2", "password_hash": hash, "claims": {"name": "U Two"}}),
        serde_json::json!({"username": "u3", "password": "pw-three", "sub": "sub-three",
            "custom_claims": [{"name": "https://example.com/team", "value": "blue"}]}),
        serde_json::json!({"username": "u4", "password": "pw-four"}),
        serde_json::json!({"username": "u5", "password": "pw-five"}),
    ]
    .iter()
    .map(Value::to_string)
    .collect::<Vec<_>>();
    let file = dir.with_extension("jsonl");
    std::fs::create_dir_all(&dir).expect("dir");

    // A bad line anywhere: nothing is imported, the line is named.
    let mut bad = good.clone();
    bad.insert(
        1,
        r#"{"username": "x", "password": "pw", "claims": {"shoe_size": 42}}"#.into(),
    );
    std::fs::write(&file, bad.join("\n")).expect("write");
    let err = admin.fails(&["users", "import", file.to_str().expect("path")], "");
    assert!(
        err.contains("line 2") && err.contains("shoe_size") && err.contains("nothing was imported"),
        "{err}"
    );
    for (line, why) in [
        (r#"{"username": "y"}"#, "password"),
        (r#"{"username": "y", "password_hash": "plain"}"#, "argon2"),
        (
            r#"{"username": "y", "password": "p", "colour": "red"}"#,
            "colour",
        ),
        ("not json", "line 6"),
    ] {
        let mut lines = good.clone();
        lines.push(line.into());
        std::fs::write(&file, lines.join("\n")).expect("write");
        let err = admin.fails(&["users", "import", file.to_str().expect("path")], "");
        assert!(err.contains(why) && err.contains("line 6"), "{line}: {err}");
    }
    assert_eq!(
        admin.json(&["users", "list"])["users"],
        serde_json::json!([])
    );

    // Blank lines are fine; `-` reads standard input.
    let text = good.join("\n\n") + "\n";
    let imported = admin.json_with(&["users", "import", "-"], &text);
    assert_eq!(
        imported,
        serde_json::json!({"created": ["u1", "u2", "u3", "u4", "u5"], "updated": []})
    );
    let err = admin.fails(&["users", "import", "-"], &text);
    assert!(
        err.contains("exists already") && err.contains("--update"),
        "{err}"
    );
    let updated = admin.json_with(&["users", "import", "-", "--update"], &text);
    assert_eq!(updated["updated"].as_array().map(Vec::len), Some(5));

    // Pages of two, following the cursor.
    let mut names = Vec::new();
    let mut after: Option<String> = None;
    let mut sizes = Vec::new();
    loop {
        let mut args = vec!["users", "list", "--limit", "2"];
        if let Some(a) = &after {
            args.extend(["--after", a.as_str()]);
        }
        let page = admin.json(&args);
        let users = page["users"].as_array().expect("users").clone();
        sizes.push(users.len());
        names.extend(
            users
                .iter()
                .map(|u| u["username"].as_str().expect("name").to_string()),
        );
        match page["next"].as_str() {
            Some(n) => after = Some(n.to_string()),
            None => break,
        }
    }
    assert_eq!(sizes, [2, 2, 1]);
    names.sort();
    assert_eq!(names, ["u1", "u2", "u3", "u4", "u5"]);
    let human = admin.ok(&["users", "list", "--limit", "2"]);
    assert!(
        human.starts_with("USERNAME") && human.contains("More: oidc-admin users list --after "),
        "{human}"
    );

    let u3 = admin.json(&["users", "show", "u3"])["user"].clone();
    assert_eq!(u3["sub"], "sub-three");
    assert_eq!(u3["custom_claims"][0]["value"], "blue");
    assert_eq!(u3["disabled"], false);
    let shown = admin.ok(&["users", "show", "u3"]);
    assert!(
        shown.contains("sub-three") && !shown.contains("argon2"),
        "{shown}"
    );

    // Claims: JSON values, removal, validation, unique emails.
    let u1 = admin.json(&[
        "users",
        "set-claims",
        "u1",
        "--claim",
        "email_verified=true",
        "--claim",
        r#"address={"country": "UK"}"#,
        "--remove-claim",
        "email",
        "--custom-claim",
        r#"https://example.com/roles=["admin"]@id_token,userinfo"#,
    ])["user"]
        .clone();
    assert_eq!(u1["claims"]["email_verified"], true);
    assert_eq!(u1["claims"]["address"]["country"], "UK");
    assert!(u1["claims"].get("email").is_none());
    assert_eq!(
        u1["custom_claims"][0]["tokens"],
        serde_json::json!(["id_token", "userinfo"])
    );
    let err = admin.fails(
        &["users", "set-claims", "u1", "--claim", "shoe_size=42"],
        "",
    );
    assert!(err.contains("not a standard user claim"), "{err}");
    admin.ok(&[
        "users",
        "set-claims",
        "u4",
        "--claim",
        "email=shared@example.com",
    ]);
    let err = admin.fails(
        &[
            "users",
            "set-claims",
            "u5",
            "--claim",
            "email=Shared@Example.com",
        ],
        "",
    );
    assert!(err.contains("belongs to another user"), "{err}");

    // Clear errors: exit 1 for what cannot be done, 2 for usage.
    let err = admin.fails(
        &["users", "create", "--username", "u1", "--password-stdin"],
        "whatever\n",
    );
    assert!(err.contains("exists already"), "{err}");
    let err = admin.fails(
        &["users", "create", "--username", "new", "--password-stdin"],
        "",
    );
    assert!(err.contains("password is empty"), "{err}");
    let err = admin.fails(&["users", "show", "nobody"], "");
    assert!(err.contains("no user named \"nobody\""), "{err}");
    let json_err = admin.run(&["--json", "users", "show", "nobody"], "");
    assert_eq!(json_err.code, 1);
    let parsed: Value = serde_json::from_str(&json_err.stderr).expect("JSON error");
    assert!(
        parsed["error"]
            .as_str()
            .is_some_and(|e| e.contains("nobody"))
    );
    let usage = admin.run(
        &["users", "set-password", "u1", "--password", "hunter2"],
        "",
    );
    assert_eq!(
        usage.code, 2,
        "passwords are never taken from argv: {}",
        usage.stderr
    );
    let _ = std::fs::remove_dir_all(dir);
    let _ = std::fs::remove_file(file);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn set_password_disable_and_delete_end_sessions_and_refresh_tokens() {
    let dir = temp_dir("lifecycle");
    let admin = Admin::embedded(&dir);
    let created = admin.json(&[
        "clients",
        "create",
        "--id",
        "app",
        "--redirect-uri",
        REDIRECT,
        "--grant-type",
        "authorization_code",
        "--grant-type",
        "refresh_token",
        "--scope",
        "openid offline_access",
    ]);
    let secret = created["client_secret"]
        .as_str()
        .expect("secret")
        .to_string();
    let client = ("app", secret.as_str());
    // A pre-hashed password, imported.
    let hash = shared::password::hash_password(&"old-password".into()).expect("hash");
    let line = serde_json::json!({"username": "bob", "password_hash": hash}).to_string();
    admin.ok_with(&["users", "import", "-"], &line);
    let scope = "openid offline_access";

    let server = Server::embedded(&dir).await;
    let browser = Browser::new();
    let first = browser
        .sign_in(&server.issuer, "app", scope, Some(("bob", "old-password")))
        .await;
    let (status, tokens) = server
        .redeem(first.code.as_deref().expect("code"), client)
        .await;
    assert_eq!(status, 200, "{tokens}");
    let refresh = tokens["refresh_token"]
        .as_str()
        .expect("refresh")
        .to_string();
    // Single sign-on: the session answers at once.
    let sso = browser.sign_in(&server.issuer, "app", scope, None).await;
    assert!(sso.code.is_some() && sso.pages.is_empty(), "{sso:?}");
    server.stop().await;

    // set-password, the password read from stdin; sessions and refresh tokens end (to the
    // millisecond: no pause is needed for the next sign-in to count).
    let out = admin.ok_with(
        &["users", "set-password", "bob", "--password-stdin"],
        "new-password\n",
    );
    assert!(
        out.contains("sessions and refresh tokens are ended"),
        "{out}"
    );
    let server = Server::embedded(&dir).await;
    let again = browser.sign_in(&server.issuer, "app", scope, None).await;
    assert_eq!(
        (again.code.as_deref(), again.pages.as_slice()),
        (None, &["login"][..])
    );
    let (status, body) = server.refresh(&refresh, client).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    let old = Browser::new()
        .sign_in(&server.issuer, "app", scope, Some(("bob", "old-password")))
        .await;
    assert!(old.code.is_none(), "the old password no longer works");
    let new = browser
        .sign_in(&server.issuer, "app", scope, Some(("bob", "new-password")))
        .await;
    let (status, tokens) = server
        .redeem(new.code.as_deref().expect("code"), client)
        .await;
    assert_eq!(status, 200, "{tokens}");
    let refresh = tokens["refresh_token"]
        .as_str()
        .expect("refresh")
        .to_string();
    server.stop().await;

    // disable: no sign-in, the session and the refresh token end at once.
    admin.ok(&["users", "disable", "bob"]);
    assert_eq!(
        admin.json(&["users", "show", "bob"])["user"]["disabled"],
        true
    );
    let server = Server::embedded(&dir).await;
    let sso = browser.sign_in(&server.issuer, "app", scope, None).await;
    assert_eq!(sso.pages, ["login"], "{sso:?}");
    let blocked = Browser::new()
        .sign_in(&server.issuer, "app", scope, Some(("bob", "new-password")))
        .await;
    assert!(blocked.code.is_none(), "{blocked:?}");
    assert!(blocked.last_page.contains("Wrong username or password"));
    let (status, _) = server.refresh(&refresh, client).await;
    assert_eq!(status, 400);
    server.stop().await;

    // enable: signing in works again (ended sessions stay ended).
    admin.ok(&["users", "enable", "bob"]);
    let server = Server::embedded(&dir).await;
    let back = Browser::new()
        .sign_in(&server.issuer, "app", scope, Some(("bob", "new-password")))
        .await;
    assert!(back.code.is_some(), "{back:?}");
    server.stop().await;

    // delete: gone, and so is everything it held.
    let out = admin.ok(&["users", "delete", "bob"]);
    assert!(out.contains("Deleted user bob"), "{out}");
    admin.fails(&["users", "show", "bob"], "");
    admin.fails(&["users", "delete", "bob"], "");
    let server = Server::embedded(&dir).await;
    let gone = Browser::new()
        .sign_in(&server.issuer, "app", scope, Some(("bob", "new-password")))
        .await;
    assert!(gone.code.is_none(), "{gone:?}");
    server.stop().await;
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_can_be_untrusted_and_their_uris_are_validated() {
    let dir = temp_dir("untrusted");
    let admin = Admin::embedded(&dir);
    let created = admin.json(&[
        "clients",
        "create",
        "--id",
        "u-app",
        "--name",
        "Partner App",
        "--redirect-uri",
        REDIRECT,
        "--untrusted",
    ]);
    assert_eq!(created["client"]["trusted"], false, "{created}");
    assert!(
        admin
            .ok(&["clients", "show", "u-app"])
            .contains("trusted:        no")
    );
    let trusted = admin.json(&[
        "clients",
        "create",
        "--id",
        "t-app",
        "--redirect-uri",
        REDIRECT,
    ]);
    assert_eq!(
        trusted["client"]["trusted"], true,
        "administrators vouch by default"
    );
    // The least level of sign-in its users must reach (README, "Levels of sign-in").
    let strict = admin.json(&[
        "clients",
        "create",
        "--id",
        "pk-app",
        "--redirect-uri",
        REDIRECT,
        "--min-level",
        "phishing-resistant",
    ]);
    assert_eq!(
        strict["client"]["min_level"], "phishing-resistant",
        "{strict}"
    );
    assert!(
        admin
            .ok(&["clients", "show", "pk-app"])
            .contains("least sign-in:  phishing-resistant")
    );
    let usage = admin.run(
        &["clients", "create", "--id", "x", "--min-level", "mfa"],
        "",
    );
    assert_eq!(usage.code, 2, "a usage error");
    assert!(usage.stderr.contains("--min-level"), "{}", usage.stderr);
    // The one URI validator: control characters, spaces and scripts never get in.
    for (flag, uri) in [
        ("--redirect-uri", "https://app.example/c\tb"),
        ("--redirect-uri", "https://app.example/c b"),
        ("--redirect-uri", "javascript:alert(1)"),
        ("--post-logout-redirect-uri", "data:text/html,x"),
        ("--logo-uri", "http://app.example/logo.png"),
    ] {
        let err = admin.fails(
            &[
                "clients",
                "create",
                "--id",
                "bad",
                "--redirect-uri",
                REDIRECT,
                flag,
                uri,
            ],
            "",
        );
        assert!(err.contains("client bad"), "{flag} {uri:?}: {err}");
        assert!(!err.contains('\t'), "{err}");
    }
    // Untrusted: an error before sign-in is our page, not a redirect.
    let server = Server::embedded(&dir).await;
    let resp = http()
        .get(format!(
            "{}/authorize?response_type=code&client_id=u-app&redirect_uri={}",
            server.issuer,
            url::form_urlencoded::byte_serialize(REDIRECT.as_bytes()).collect::<String>()
        ))
        .send()
        .await
        .expect("authorize");
    assert_eq!(resp.status(), 400);
    assert!(resp.headers().get("location").is_none());
    assert!(resp.text().await.expect("page").contains("Partner App"));
    server.stop().await;
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_list_show_rotate_secret_and_delete() {
    let dir = temp_dir("clients");
    let admin = Admin::embedded(&dir);
    let a = admin.json(&[
        "clients",
        "create",
        "--id",
        "a-app",
        "--redirect-uri",
        REDIRECT,
    ]);
    let old_secret = a["client_secret"].as_str().expect("secret").to_string();
    let b = admin.json(&[
        "clients",
        "create",
        "--id",
        "b-app",
        "--public",
        "--redirect-uri",
        "http://localhost:3000/cb",
        "--post-logout-redirect-uri",
        "http://localhost:3000/",
    ]);
    assert_eq!(
        b["client_secret"],
        Value::Null,
        "public clients have no secret"
    );
    assert_eq!(b["client"]["auth_method"], "none");
    assert_eq!(b["client"]["has_secret"], false);
    let c = admin.json(&[
        "clients",
        "create",
        "--id",
        "c-app",
        "--redirect-uri",
        REDIRECT,
        "--auth-method",
        "client_secret_post",
        "--skip-consent",
        "--custom-claim",
        "https://example.com/tenant=acme",
    ]);
    let c_secret = c["client_secret"].as_str().expect("secret").to_string();

    // Validation is the seed's; usage errors are clap's.
    let err = admin.fails(
        &[
            "clients",
            "create",
            "--id",
            "d",
            "--redirect-uri",
            "http://example.com/cb",
        ],
        "",
    );
    assert!(err.contains("client d"), "{err}");
    let err = admin.fails(
        &[
            "clients",
            "create",
            "--id",
            "a-app",
            "--redirect-uri",
            REDIRECT,
        ],
        "",
    );
    assert!(err.contains("exists already"), "{err}");
    let usage = admin.run(
        &["clients", "create", "--id", "e", "--grant-type", "implicit"],
        "",
    );
    assert_eq!(usage.code, 2, "{}", usage.stderr);

    let first = admin.json(&["clients", "list", "--limit", "2"]);
    assert_eq!(first["clients"].as_array().map(Vec::len), Some(2));
    let next = first["next"].as_str().expect("cursor").to_string();
    let second = admin.json(&["clients", "list", "--limit", "2", "--after", &next]);
    assert_eq!(second["clients"].as_array().map(Vec::len), Some(1));
    assert_eq!(second["next"], Value::Null);
    let shown = admin.json(&["clients", "show", "b-app"])["client"].clone();
    assert_eq!(
        shown["post_logout_redirect_uris"],
        serde_json::json!(["http://localhost:3000/"])
    );

    // rotate-secret: shown once, the old secret fails at once, the new one works.
    let err = admin.fails(&["clients", "rotate-secret", "b-app"], "");
    assert!(err.contains("no secret"), "{err}");
    let rotated = admin.ok(&["clients", "rotate-secret", "a-app"]);
    let new_secret = line_after(&rotated, "client_secret:");
    assert_ne!(new_secret, old_secret);
    admin.ok_with(
        &["users", "create", "--username", "carol", "--password-stdin"],
        "carol-password\n",
    );

    let server = Server::embedded(&dir).await;
    let browser = Browser::new();
    let signed = browser
        .sign_in(
            &server.issuer,
            "a-app",
            "openid",
            Some(("carol", "carol-password")),
        )
        .await;
    let (status, body) = server
        .redeem(
            signed.code.as_deref().expect("code"),
            ("a-app", &old_secret),
        )
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("invalid_client"))
    );
    let sso = browser
        .sign_in(&server.issuer, "a-app", "openid", None)
        .await;
    let (status, body) = server
        .redeem(sso.code.as_deref().expect("code"), ("a-app", &new_secret))
        .await;
    assert_eq!(status, 200, "{body}");

    // The first-party client with client_secret_post and a custom claim.
    let direct = browser
        .sign_in(&server.issuer, "c-app", "openid", None)
        .await;
    assert!(direct.pages.is_empty(), "no consent page: {direct:?}");
    let resp = http()
        .post(format!("{}/token", server.issuer))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", direct.code.as_deref().expect("code")),
            ("redirect_uri", REDIRECT),
            ("client_id", "c-app"),
            ("client_secret", &c_secret),
        ])
        .send()
        .await
        .expect("token");
    assert_eq!(resp.status(), 200);
    let tokens: Value = resp.json().await.expect("json");
    let id = jwt_part(tokens["id_token"].as_str().expect("id_token"), 1);
    assert_eq!(id["https://example.com/tenant"], "acme");
    server.stop().await;

    let out = admin.ok(&["clients", "delete", "c-app"]);
    assert!(out.contains("Deleted client c-app"), "{out}");
    admin.fails(&["clients", "show", "c-app"], "");
    admin.fails(&["clients", "delete", "c-app"], "");
    let server = Server::embedded(&dir).await;
    let refused = browser
        .sign_in(&server.issuer, "c-app", "openid", None)
        .await;
    assert!(
        refused.code.is_none() && refused.last_page.contains("not registered"),
        "{refused:?}"
    );
    server.stop().await;
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_running_local_server_is_explained_and_keys_work_alongside() {
    let dir = temp_dir("locked");
    let admin = Admin::embedded(&dir);
    let server = Server::embedded(&dir).await;
    for args in [
        &["users", "list"][..],
        &["clients", "create", "--id", "x"][..],
    ] {
        let err = admin.fails(args, "");
        assert!(
            err.contains("store.redb is in use by another process")
                && err.contains("Stop the local server")
                && err.contains("cargo run -p oidc-local")
                && err.contains("--data-dir"),
            "{err}"
        );
    }
    let json = admin.run(&["--json", "users", "list"], "");
    assert_eq!(json.code, 1);
    let parsed: Value = serde_json::from_str(&json.stderr).expect("JSON error");
    assert!(
        parsed["error"]
            .as_str()
            .is_some_and(|e| e.contains("oidc-local"))
    );
    // Keys never open the store.
    let keys = admin.json(&["keys", "list"]);
    assert_eq!(keys["source"], "single-file");
    assert_eq!(keys["keys"][0]["kid"], server.jwks_kids().await[0].as_str());
    server.stop().await;
    assert!(admin.ok(&["users", "list"]).contains("No users"));
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn key_rotation_with_the_cli_keeps_earlier_tokens_verifiable() {
    let dir = temp_dir("keys");
    let admin = Admin::embedded(&dir);
    let secret = admin.json(&[
        "clients",
        "create",
        "--id",
        "app",
        "--redirect-uri",
        REDIRECT,
    ])["client_secret"]
        .as_str()
        .expect("secret")
        .to_string();
    let client = ("app", secret.as_str());
    admin.ok_with(
        &["users", "create", "--username", "dan", "--password-stdin"],
        "dan-password\n",
    );
    let err = admin.fails(&["keys", "promote"], "");
    assert!(err.contains("no next key"), "{err}");

    // A token signed by the server's first key.
    let server = Server::embedded(&dir).await;
    let browser = Browser::new();
    let signed = browser
        .sign_in(
            &server.issuer,
            "app",
            "openid",
            Some(("dan", "dan-password")),
        )
        .await;
    let (_, tokens) = server
        .redeem(signed.code.as_deref().expect("code"), client)
        .await;
    let (old_token, old_iss) = (
        tokens["id_token"].as_str().expect("id_token").to_string(),
        server.issuer.clone(),
    );
    let old_kid = jwt_part(&old_token, 0)["kid"]
        .as_str()
        .expect("kid")
        .to_string();
    assert_eq!(server.jwks_kids().await, vec![old_kid.clone()]);

    // create-next while the server runs; it is published from the next start.
    let next = admin.json(&["keys", "create-next", "--alg", "es256"])["created"].clone();
    assert_eq!(
        (next["state"].as_str(), next["alg"].as_str()),
        (Some("next"), Some("ES256"))
    );
    let new_kid = next["kid"].as_str().expect("kid").to_string();
    assert_eq!(server.jwks_kids().await, vec![old_kid.clone()]);
    let err = admin.fails(&["keys", "create-next"], "");
    assert!(err.contains("promote it first"), "{err}");
    server.stop().await;
    let server = Server::embedded(&dir).await;
    assert_eq!(server.jwks_kids().await, [old_kid.clone(), new_kid.clone()]);
    let sso = browser.sign_in(&server.issuer, "app", "openid", None).await;
    let (_, tokens) = server
        .redeem(sso.code.as_deref().expect("code"), client)
        .await;
    let header = jwt_part(tokens["id_token"].as_str().expect("id_token"), 0);
    assert_eq!(
        header["kid"],
        old_kid.as_str(),
        "the next key does not sign yet"
    );

    // promote: the new key signs; the old one stays published and its tokens verify.
    let promoted = admin.json(&["keys", "promote"]);
    assert_eq!(promoted["promoted"]["kid"], new_kid.as_str());
    server.stop().await;
    let server = Server::embedded(&dir).await;
    assert_eq!(server.jwks_kids().await, [new_kid.clone(), old_kid.clone()]);
    let sso = browser.sign_in(&server.issuer, "app", "openid", None).await;
    let (_, tokens) = server
        .redeem(sso.code.as_deref().expect("code"), client)
        .await;
    let new_token = tokens["id_token"].as_str().expect("id_token").to_string();
    let header = jwt_part(&new_token, 0);
    assert_eq!(
        (header["kid"].as_str(), header["alg"].as_str()),
        (Some(new_kid.as_str()), Some("ES256"))
    );
    server
        .verify(&new_token, &server.issuer, "app")
        .await
        .expect("the new key's token verifies");
    server
        .verify(&old_token, &old_iss, "app")
        .await
        .expect("the token signed before the rotation still verifies");
    let listed = admin.json(&["keys", "list"]);
    let states: Vec<(String, String)> = listed["keys"]
        .as_array()
        .expect("keys")
        .iter()
        .map(|k| {
            (
                k["kid"].as_str().unwrap().into(),
                k["state"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert_eq!(
        states,
        [
            (new_kid.clone(), "active".to_string()),
            (old_kid.clone(), "previous".to_string())
        ]
    );

    // retire: the old key leaves the JWKS at the next start.
    let retired = admin.json(&["keys", "retire"]);
    assert_eq!(retired["retired"][0]["kid"], old_kid.as_str());
    admin.fails(&["keys", "retire"], "");
    server.stop().await;
    let server = Server::embedded(&dir).await;
    assert_eq!(server.jwks_kids().await, vec![new_kid.clone()]);
    assert!(server.verify(&old_token, &old_iss, "app").await.is_err());
    server.stop().await;
    let _ = std::fs::remove_dir_all(dir);
}

// ---------------------------------------------------------------------------------------
// DynamoDB + KMS on the emulator

/// Whether the emulator is configured; with OIDC_REQUIRE_AWS=1 its absence fails the test.
fn aws_available(test: &str) -> bool {
    if !std::env::var("AWS_ENDPOINT_URL")
        .unwrap_or_default()
        .trim()
        .is_empty()
    {
        return true;
    }
    if std::env::var("OIDC_REQUIRE_AWS").as_deref() == Ok("1") {
        panic!(
            "{test}: AWS_ENDPOINT_URL is not set and OIDC_REQUIRE_AWS=1 forbids skipping \
             (run it via infra/with-moto.sh)"
        );
    }
    eprintln!("{test}: skipped: set AWS_ENDPOINT_URL (run it via infra/with-moto.sh)");
    false
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dynamodb_and_kms_users_clients_and_keys_with_the_cli() {
    if !aws_available("dynamodb_and_kms_users_clients_and_keys_with_the_cli") {
        return;
    }
    let suffix = random_token(6).replace(['-', '_'], "x");
    let table = format!("oidc-admin-{suffix}");
    let sdk = shared::aws::aws_config().await;
    shared::store::dynamo::provision::create_table(&shared::aws::dynamodb_client(&sdk), &table)
        .await
        .expect("create table");
    let admin = Admin::aws(&table);

    // keys: a KMS key made with the CLI, listed by kid.
    let alias = format!("alias/oidc-admin-{suffix}");
    let created = admin.json(&["keys", "create-next", "--alias", &alias, "--alg", "rs256"]);
    assert_eq!(
        created["changed"], false,
        "the deployment's key list is not changed"
    );
    let kid = created["created"]["kid"].as_str().expect("kid").to_string();
    let listed = admin.json(&["--signing-keys", &alias, "keys", "list"]);
    assert_eq!(listed["keys"][0]["kid"], kid.as_str());
    assert_eq!(listed["keys"][0]["alg"], "RS256");
    assert_eq!(listed["keys"][0]["state"], "active");
    assert_eq!(listed["keys"][0]["enabled"], true);
    let err = admin.fails(&["keys", "list"], "");
    assert!(err.contains("--signing-keys"), "{err}");

    // promote / retire print the deployment change (template.yaml's key slots).
    let template = concat!(env!("CARGO_MANIFEST_DIR"), "/../../template.yaml");
    let slots = "alias/stack-signing-a,alias/stack-signing-b";
    let promote = admin.run(
        &[
            "--signing-keys",
            slots,
            "keys",
            "promote",
            "--template",
            template,
        ],
        "",
    );
    assert_eq!(promote.code, 0, "{}", promote.stderr);
    assert!(
        promote.stdout.contains(
            "sam deploy --parameter-overrides ActiveSigningKey=B PublishedSigningKeys=both"
        ) && promote
            .stdout
            .contains("SIGNING_KEYS=alias/stack-signing-b,alias/stack-signing-a"),
        "{}",
        promote.stdout
    );
    let retire = admin.json(&[
        "--signing-keys",
        "alias/stack-signing-b,alias/stack-signing-a",
        "keys",
        "retire",
        "--template",
        template,
    ]);
    assert_eq!(
        retire["sam_parameter_overrides"],
        "ActiveSigningKey=B PublishedSigningKeys=active-only"
    );
    assert_eq!(
        retire["signing_keys"],
        serde_json::json!(["alias/stack-signing-b"])
    );
    let next = admin.json(&[
        "--signing-keys",
        "alias/stack-signing-a",
        "keys",
        "create-next",
        "--alg",
        "es256",
        "--template",
        template,
    ]);
    assert_eq!(
        next["sam_parameter_overrides"],
        "ActiveSigningKey=A PublishedSigningKeys=both SigningKeyBAlgorithm=ES256"
    );
    let err = admin.fails(&["--signing-keys", &alias, "keys", "promote"], "");
    assert!(err.contains("create the next key"), "{err}");
    // The wait names the longest JWKS cache there is: API Gateway's JWT authorizer's.
    assert!(
        err.contains("over 2 hours") && err.contains("API Gateway"),
        "{err}"
    );

    // clients and users in DynamoDB.
    let secret = admin.json(&[
        "clients",
        "create",
        "--id",
        "app",
        "--redirect-uri",
        REDIRECT,
        "--grant-type",
        "authorization_code",
        "--grant-type",
        "refresh_token",
        "--scope",
        "openid email offline_access",
    ])["client_secret"]
        .as_str()
        .expect("secret")
        .to_string();
    admin.json(&[
        "clients",
        "create",
        "--id",
        "spa",
        "--public",
        "--redirect-uri",
        REDIRECT,
    ]);
    admin.ok_with(
        &[
            "users",
            "create",
            "--username",
            "erin",
            "--email",
            "erin@example.com",
            "--password-stdin",
        ],
        "erin-password\n",
    );
    let lines = (1..=3)
        .map(|i| {
            serde_json::json!({"username": format!("imp{i}"), "password": format!("pw-{i}")})
                .to_string()
        })
        .collect::<Vec<_>>()
        .join("\n");
    let imported = admin.json_with(&["users", "import", "-"], &lines);
    assert_eq!(imported["created"].as_array().map(Vec::len), Some(3));
    let first = admin.json(&["users", "list", "--limit", "3"]);
    assert_eq!(first["users"].as_array().map(Vec::len), Some(3));
    let rest = admin.json(&[
        "users",
        "list",
        "--limit",
        "3",
        "--after",
        first["next"].as_str().expect("cursor"),
    ]);
    assert_eq!(rest["users"].as_array().map(Vec::len), Some(1));
    assert_eq!(rest["next"], Value::Null);
    let clients = admin.json(&["clients", "list"]);
    assert_eq!(clients["clients"].as_array().map(Vec::len), Some(2));
    admin.ok(&[
        "users",
        "set-claims",
        "erin",
        "--claim",
        "email_verified=true",
    ]);
    let rotated = admin.json(&["clients", "rotate-secret", "app"]);
    let new_secret = rotated["client_secret"]
        .as_str()
        .expect("secret")
        .to_string();
    assert_ne!(new_secret, secret);
    let client = ("app", new_secret.as_str());

    // The provider on the same table and key: the CLI works alongside it (no file lock).
    let server = Server::start(Backend::Aws {
        table: table.clone(),
        signing_keys: vec![alias.clone()],
    })
    .await;
    let scope = "openid email offline_access";
    let browser = Browser::new();
    let signed = browser
        .sign_in(
            &server.issuer,
            "app",
            scope,
            Some(("erin", "erin-password")),
        )
        .await;
    let code = signed.code.expect("code");
    let (status, _) = server.redeem(&code, ("app", &secret)).await;
    assert_eq!(status, 401, "the rotated-out secret fails");
    let (status, tokens) = server.redeem(&code, client).await;
    assert_eq!(status, 200, "{tokens}");
    let id = server
        .verify(
            tokens["id_token"].as_str().expect("id_token"),
            &server.issuer,
            "app",
        )
        .await
        .expect("verifies");
    assert_eq!(id["email"], "erin@example.com");
    assert_eq!(id["email_verified"], true);
    assert_eq!(
        jwt_part(tokens["id_token"].as_str().expect("id_token"), 0)["kid"],
        kid.as_str()
    );
    let refresh = tokens["refresh_token"]
        .as_str()
        .expect("refresh")
        .to_string();

    tokio::time::sleep(Duration::from_millis(1100)).await;
    admin.ok_with(
        &["users", "set-password", "erin", "--password-stdin"],
        "erin-new-password\n",
    );
    let (status, _) = server.refresh(&refresh, client).await;
    assert_eq!(
        status, 400,
        "the refresh token ended with the password change"
    );
    let sso = browser.sign_in(&server.issuer, "app", scope, None).await;
    assert_eq!(sso.pages, ["login"], "{sso:?}");

    admin.ok(&["users", "disable", "erin"]);
    let blocked = Browser::new()
        .sign_in(
            &server.issuer,
            "app",
            scope,
            Some(("erin", "erin-new-password")),
        )
        .await;
    assert!(blocked.code.is_none(), "{blocked:?}");
    admin.ok(&["users", "enable", "erin"]);
    let back = Browser::new()
        .sign_in(
            &server.issuer,
            "app",
            scope,
            Some(("erin", "erin-new-password")),
        )
        .await;
    assert!(back.code.is_some(), "{back:?}");

    admin.ok(&["users", "delete", "erin"]);
    admin.fails(&["users", "show", "erin"], "");
    let gone = Browser::new()
        .sign_in(
            &server.issuer,
            "app",
            scope,
            Some(("erin", "erin-new-password")),
        )
        .await;
    assert!(gone.code.is_none(), "{gone:?}");
    // The username and email are free again.
    admin.ok_with(
        &[
            "users",
            "create",
            "--username",
            "erin",
            "--email",
            "ERIN@example.com",
            "--password-stdin",
        ],
        "another-password\n",
    );
    admin.ok(&["clients", "delete", "spa"]);
    assert_eq!(
        admin.json(&["clients", "list"])["clients"]
            .as_array()
            .map(Vec::len),
        Some(1)
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn envelope_key_made_with_the_cli_signs_on_the_aws_backend() {
    if !aws_available("envelope_key_made_with_the_cli_signs_on_the_aws_backend") {
        return;
    }
    let suffix = random_token(6).replace(['-', '_'], "x");
    let table = format!("oidc-admin-env-{suffix}");
    let sdk = shared::aws::aws_config().await;
    shared::store::dynamo::provision::create_table(&shared::aws::dynamodb_client(&sdk), &table)
        .await
        .expect("create table");
    let admin = Admin::aws(&table);
    let template = concat!(env!("CARGO_MANIFEST_DIR"), "/../../template.yaml");
    let wrapping = format!("alias/oidc-admin-wrapping-{suffix}");

    // Envelope keys live in DynamoDB + KMS only.
    let dir = temp_dir("envelope");
    let err = Admin::embedded(&dir).fails(
        &[
            "keys",
            "envelope-create",
            "--wrapping-key",
            &wrapping,
            "--alg",
            "rs256",
        ],
        "",
    );
    assert!(err.contains("--aws"), "{err}");
    // The wrapping key must exist unless asked to create it.
    let err = admin.fails(
        &[
            "keys",
            "envelope-create",
            "--wrapping-key",
            &wrapping,
            "--alg",
            "ES256",
        ],
        "",
    );
    assert!(err.contains("NotFoundException"), "{err}");

    // A first key, for a deployment that has none yet.
    let created = admin.json(&[
        "keys",
        "envelope-create",
        "--wrapping-key",
        &wrapping,
        "--create-wrapping-key",
        "--alg",
        "ES256",
        "--template",
        template,
    ]);
    let id = created["created"]["id"].as_str().expect("id").to_string();
    let entry = format!("envelope:{id}");
    assert!(id.starts_with("es256-"), "{id}");
    assert_eq!(created["created"]["entry"], entry.as_str());
    assert_eq!(created["created"]["alg"], "ES256");
    assert!(
        created["created"]["wrapping_key"]
            .as_str()
            .is_some_and(|k| k.starts_with("arn:")),
        "{created}"
    );
    assert_eq!(created["signing_keys"], serde_json::json!([entry]));
    assert_eq!(
        created["sam_parameter_overrides"],
        format!("SigningMode=envelope EnvelopeKeyId={id} EnvelopeKeyAlgorithms=ES256").as_str()
    );
    let kid = created["created"]["kid"].as_str().expect("kid").to_string();
    let listed = admin.json(&["--signing-keys", &entry, "keys", "list"]);
    assert_eq!(listed["keys"][0]["kid"], kid.as_str());
    assert_eq!(listed["keys"][0]["kind"], "envelope");
    assert_eq!(listed["keys"][0]["state"], "active");

    // The next key, during envelope mode: published after the active one.
    let next = admin.run(
        &[
            "--signing-keys",
            &entry,
            "keys",
            "envelope-create",
            "--wrapping-key",
            &wrapping,
            "--alg",
            "rs256",
            "--id",
            "next-key",
            "--template",
            template,
        ],
        "",
    );
    assert_eq!(next.code, 0, "{}", next.stderr);
    assert!(
        next.stdout.contains(&format!(
            "sam deploy --parameter-overrides EnvelopeKeyId={id},next-key EnvelopeKeyAlgorithms=ES256,RS256"
        )) && next
            .stdout
            .contains(&format!("SIGNING_KEYS={entry},envelope:next-key")),
        "{}",
        next.stdout
    );
    let err = admin.fails(
        &[
            "keys",
            "envelope-create",
            "--wrapping-key",
            &wrapping,
            "--alg",
            "rs256",
            "--id",
            "next-key",
        ],
        "",
    );
    assert!(err.contains("exists already"), "{err}");
    // From KMS signing: published after the KMS keys first.
    let from_kms = admin.json(&[
        "--signing-keys",
        "alias/stack-signing-a",
        "keys",
        "envelope-create",
        "--wrapping-key",
        &wrapping,
        "--alg",
        "rs256",
        "--id",
        "from-kms",
        "--template",
        template,
    ]);
    assert_eq!(
        from_kms["sam_parameter_overrides"],
        "SigningMode=kms-publishing-envelope EnvelopeKeyId=from-kms EnvelopeKeyAlgorithms=RS256"
    );
    assert_eq!(
        from_kms["signing_keys"],
        serde_json::json!(["alias/stack-signing-a", "envelope:from-kms"])
    );
    let retire = admin.json(&[
        "--signing-keys",
        "envelope:next-key,envelope:from-kms",
        "keys",
        "retire",
    ]);
    assert_eq!(
        retire["signing_keys"],
        serde_json::json!(["envelope:next-key"])
    );

    // The provider on that table signs with the envelope key.
    admin.ok_with(
        &["users", "create", "--username", "env", "--password-stdin"],
        "env-password\n",
    );
    let secret = admin.json(&[
        "clients",
        "create",
        "--id",
        "app",
        "--redirect-uri",
        REDIRECT,
    ])["client_secret"]
        .as_str()
        .expect("secret")
        .to_string();
    let server = Server::start(Backend::Aws {
        table: table.clone(),
        signing_keys: vec![entry.clone(), "envelope:next-key".into()],
    })
    .await;
    assert_eq!(server.jwks_kids().await.len(), 2);
    assert_eq!(server.jwks_kids().await[0], kid);
    let signed = Browser::new()
        .sign_in(
            &server.issuer,
            "app",
            "openid",
            Some(("env", "env-password")),
        )
        .await;
    let (status, tokens) = server
        .redeem(&signed.code.expect("code"), ("app", &secret))
        .await;
    assert_eq!(status, 200, "{tokens}");
    let id_token = tokens["id_token"].as_str().expect("id_token");
    server
        .verify(id_token, &server.issuer, "app")
        .await
        .expect("verifies against the JWKS");
    assert_eq!(jwt_part(id_token, 0)["kid"], kid.as_str());
    assert_eq!(jwt_part(id_token, 0)["alg"], "ES256");
    server.stop().await;
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_table_is_named_with_what_to_do() {
    if !aws_available("a_missing_table_is_named_with_what_to_do") {
        return;
    }
    let suffix = random_token(6).replace(['-', '_'], "x");
    let admin = Admin::aws(&format!("oidc-admin-missing-{suffix}"));
    let advice = "ResourceNotFoundException: the table does not exist here (check --table";
    let err = admin.fails(&["users", "list"], "");
    assert!(err.contains(&format!("dynamodb Scan: {advice}")), "{err}");
    // The key is made (KMS) before the put finds no table: the advice is the same.
    let err = admin.fails(
        &[
            "keys",
            "envelope-create",
            "--id",
            "orphan",
            "--wrapping-key",
            &format!("alias/oidc-admin-missing-{suffix}"),
            "--create-wrapping-key",
            "--alg",
            "ES256",
        ],
        "",
    );
    assert!(
        err.starts_with(&format!(
            "error: storing wrapped key orphan: dynamodb PutItem: {advice}"
        )),
        "{err}"
    );
}

// ---------------------------------------------------------------------------------------
// upstream providers

const GOOGLE_SECRET: &str = "GOCSPX-upstream-client-secret-0123";

/// `providers create google` with every option, the secret on standard input.
fn create_google(admin: &Admin, extra: &[&str]) -> Value {
    let mut args = vec![
        "providers",
        "create",
        "--id",
        "google",
        "--issuer",
        "https://accounts.google.com",
        "--client-id",
        "123.apps.googleusercontent.com",
        "--client-secret-stdin",
        "--scope",
        "openid email",
        "--scope",
        "profile",
        "--name",
        "Google",
        "--logo",
        "https://www.gstatic.com/g.svg",
        "--claim",
        "nickname=given_name",
        "--link-verified-email",
    ];
    args.extend_from_slice(extra);
    admin.json_with(&args, &format!("{GOOGLE_SECRET}\n"))
}

/// The stored provider's client secret, opened with `sealer`.
async fn opened(
    store: &dyn shared::store::Store,
    sealer: &dyn shared::federation::seal::Sealer,
    id: &str,
) -> String {
    let p = store.provider(id).await.expect("read").expect("stored");
    sealer
        .open(id, p.sealed_secret.as_ref().expect("sealed"))
        .await
        .expect("opens")
        .expose()
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn providers_create_list_show_update_and_delete_on_the_data_directory() {
    use shared::{federation::seal::LocalSealer, store::embedded::EmbeddedStore};
    let dir = temp_dir("providers");
    let admin = Admin::embedded(&dir);
    assert!(admin.ok(&["providers", "list"]).contains("No providers."));

    // Refused before anything is written (or a key made): each names what is wrong.
    let base = [
        "providers",
        "create",
        "--client-id",
        "c",
        "--client-secret-stdin",
    ];
    for (extra, needle) in [
        (
            &["--id", "Bad Id", "--issuer", "https://idp.example"][..],
            "id",
        ),
        (&["--id", "a", "--issuer", "http://idp.example"], "https"),
        (
            &[
                "--id",
                "a",
                "--issuer",
                "https://idp.example",
                "--scope",
                "email",
            ],
            "openid",
        ),
        (
            &[
                "--id",
                "a",
                "--issuer",
                "https://idp.example",
                "--claim",
                "favourite=colour",
            ],
            "favourite",
        ),
        (
            &[
                "--id",
                "a",
                "--issuer",
                "https://idp.example",
                "--claim",
                "name",
            ],
            "OURS=THEIRS",
        ),
        (
            &[
                "--id",
                "a",
                "--issuer",
                "https://idp.example",
                "--logo",
                "http://cdn.example/x.png",
            ],
            "logo",
        ),
    ] {
        let mut args = base.to_vec();
        args.extend_from_slice(extra);
        let err = admin.fails(&args, "secret\n");
        assert!(err.contains(needle), "{extra:?}: {err}");
    }
    let err = admin.fails(
        &[&base[..], &["--id", "a", "--issuer", "https://idp.example"]].concat(),
        "\n",
    );
    assert!(err.contains("client secret is empty"), "{err}");
    assert!(
        !dir.join("federation.key").exists(),
        "no key made for nothing"
    );

    // Created: the secret is sealed with the data directory's key, never printed.
    let created = create_google(&admin, &[]);
    let p = &created["provider"];
    assert_eq!(p["id"], "google");
    assert_eq!(
        p["scopes"],
        serde_json::json!(["openid", "email", "profile"])
    );
    assert_eq!(p["claim_map"]["nickname"], "given_name");
    assert_eq!(p["link_verified_email"], true);
    assert_eq!(
        (p["has_secret"].clone(), p["secret_key"].clone()),
        (true.into(), "local".into())
    );
    assert!(p.get("sealed_secret").is_none());
    let key = dir.join("federation.key");
    assert_eq!(std::fs::read(&key).expect("key").len(), 32);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key).expect("meta").permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let err = admin.fails(
        &[
            "providers",
            "create",
            "--id",
            "google",
            "--issuer",
            "https://accounts.google.com",
            "--client-id",
            "x",
            "--client-secret-stdin",
        ],
        "s\n",
    );
    assert!(err.contains("exists already"), "{err}");

    // A second one, its secret from a file, disabled.
    let secret_file = dir.join("entra-secret.txt");
    std::fs::write(&secret_file, "entra-secret\nignored\n").expect("write");
    admin.ok(&[
        "providers",
        "create",
        "--id",
        "entra",
        "--issuer",
        "https://login.microsoftonline.com/{tenantid}/v2.0",
        "--client-id",
        "app-id",
        "--client-secret-file",
        secret_file.to_str().expect("path"),
        "--auth-method",
        "client_secret_post",
        "--disabled",
    ]);
    let listed = admin.json(&["providers", "list"]);
    let ids: Vec<(&str, bool)> = listed["providers"]
        .as_array()
        .expect("list")
        .iter()
        .map(|p| {
            (
                p["id"].as_str().expect("id"),
                p["enabled"].as_bool().expect("enabled"),
            )
        })
        .collect();
    assert_eq!(ids, vec![("entra", false), ("google", true)]);
    let human = admin.ok(&["providers", "list"]);
    assert!(
        human.contains("entra") && human.contains("disabled"),
        "{human}"
    );
    let shown = admin.ok(&["providers", "show", "google"]);
    assert!(shown.contains("Continue with Google"), "{shown}");
    assert!(shown.contains("nickname=given_name"), "{shown}");
    for out in [&shown, &human, &created.to_string(), &listed.to_string()] {
        assert!(
            !out.contains(GOOGLE_SECRET) && !out.contains("entra-secret"),
            "{out}"
        );
    }

    // Updates: only what is given; a new secret is sealed again.
    let err = admin.fails(&["providers", "update", "google"], "");
    assert!(err.contains("nothing to change"), "{err}");
    let err = admin.fails(
        &["providers", "update", "google", "--remove-claim", "name"],
        "",
    );
    assert!(err.contains("maps no claim"), "{err}");
    let err = admin.fails(&["providers", "update", "google", "--scope", "email"], "");
    assert!(err.contains("openid"), "{err}");
    let updated = admin.json_with(
        &[
            "providers",
            "update",
            "google",
            "--name",
            "Google Workspace",
            "--remove-claim",
            "nickname",
            "--link-verified-email=false",
            "--userinfo",
            "--remove-logo",
            "--client-secret-stdin",
        ],
        "rotated-secret\n",
    );
    let p = &updated["provider"];
    assert_eq!(p["display_name"], "Google Workspace");
    assert_eq!(p["claim_map"], Value::Null, "empty: the standard names");
    assert_eq!(p["link_verified_email"], Value::Null, "off: not stored");
    assert_eq!(p["userinfo"], true);
    assert_eq!(p["logo_uri"], Value::Null);
    assert_eq!(
        p["client_id"], "123.apps.googleusercontent.com",
        "unchanged"
    );
    let enabled = admin.json(&["providers", "update", "entra", "--disabled=false"]);
    assert_eq!(enabled["provider"]["enabled"], true);
    let moved = admin.ok(&[
        "providers",
        "update",
        "entra",
        "--issuer",
        "https://login.microsoftonline.com/9188040d-6c67-4c5b-b112-36a304b66dad/v2.0",
    ]);
    assert!(moved.contains("issuer changed"), "{moved}");

    // What is stored opens with the data directory's key (the local server's too).
    {
        let store = EmbeddedStore::open(&dir.join("store.redb")).expect("store");
        let sealer = LocalSealer::load_or_create(&dir).expect("key");
        assert_eq!(opened(&store, &sealer, "google").await, "rotated-secret");
        assert_eq!(opened(&store, &sealer, "entra").await, "entra-secret");
    }

    // A seed file's provider, applied by the local server with the same key.
    let seed = shared::seed::Seed::parse(
        "seed.toml",
        "[[providers]]\nid = \"okta\"\nissuer = \"https://dev-1.okta.com\"\n\
         client_id = \"okta-client\"\nclient_secret_env = \"OKTA_SECRET\"\n",
    )
    .expect("seed");
    let running = oidc_local::start(
        Options {
            port: 0,
            issuer: None,
            backend: Backend::Embedded {
                data_dir: Some(dir.clone()),
                alg: Alg::RS256,
            },
            seed: Some(seed),
            demo: false,
            config_vars: vec![("OKTA_SECRET".into(), "okta-secret".into())],
            lambda_keys: false,
            timeouts: Default::default(),
        },
        Arc::new(SystemClock),
    )
    .await
    .expect("starts with the seed");
    Server {
        issuer: running.issuer().to_string(),
        running,
        dir: Some(dir.clone()),
    }
    .stop()
    .await;
    let okta = admin.json(&["providers", "show", "okta"]);
    assert_eq!(okta["provider"]["display_name"], "okta");
    assert_eq!(okta["provider"]["secret_key"], "local");
    {
        let store = EmbeddedStore::open(&dir.join("store.redb")).expect("store");
        let sealer = LocalSealer::load_or_create(&dir).expect("key");
        assert_eq!(opened(&store, &sealer, "okta").await, "okta-secret");
    }

    let out = admin.ok(&["providers", "delete", "google"]);
    assert!(out.contains("Deleted provider google"), "{out}");
    admin.fails(&["providers", "show", "google"], "");
    admin.fails(&["providers", "delete", "google"], "");
    assert_eq!(
        admin.json(&["providers", "list"])["providers"]
            .as_array()
            .map(Vec::len),
        Some(2)
    );
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dynamodb_and_kms_providers_with_the_cli() {
    use shared::{
        federation::seal::KmsSealer,
        store::{ProviderStore, dynamo::DynamoStore},
    };
    if !aws_available("dynamodb_and_kms_providers_with_the_cli") {
        return;
    }
    let suffix = random_token(6).replace(['-', '_'], "x");
    let table = format!("oidc-admin-{suffix}");
    let sdk = shared::aws::aws_config().await;
    let dynamo = shared::aws::dynamodb_client(&sdk);
    shared::store::dynamo::provision::create_table(&dynamo, &table)
        .await
        .expect("create table");
    let kms = aws_sdk_kms::Client::new(&sdk);
    let key = kms
        .create_key()
        .key_spec(aws_sdk_kms::types::KeySpec::SymmetricDefault)
        .key_usage(aws_sdk_kms::types::KeyUsageType::EncryptDecrypt)
        .send()
        .await
        .expect("key")
        .key_metadata
        .expect("metadata");
    let alias = format!("alias/oidc-admin-federation-{suffix}");
    kms.create_alias()
        .alias_name(&alias)
        .target_key_id(key.key_id())
        .send()
        .await
        .expect("alias");
    let admin = Admin::aws(&table);

    // Without the KMS key nothing is sealed, and nothing is stored.
    let err = admin.run(
        &[
            "providers",
            "create",
            "--id",
            "google",
            "--issuer",
            "https://accounts.google.com",
            "--client-id",
            "c",
            "--client-secret-stdin",
        ],
        "s\n",
    );
    assert_eq!(err.code, 1);
    assert!(err.stderr.contains("--secrets-key"), "{}", err.stderr);
    assert!(admin.ok(&["providers", "list"]).contains("No providers."));

    let created = create_google(&admin, &["--secrets-key", &alias]);
    assert_eq!(
        created["provider"]["secret_key"],
        key.arn().expect("arn"),
        "sealed under the key's ARN"
    );
    let store = DynamoStore::new(dynamo, table.clone());
    let sealer = KmsSealer::new(kms.clone(), "");
    assert_eq!(opened(&store, &sealer, "google").await, GOOGLE_SECRET);

    let listed = admin.json(&["providers", "list"]);
    assert_eq!(listed["providers"][0]["id"], "google");
    let shown = admin.ok(&["providers", "show", "google"]);
    assert!(shown.contains("sealed (KMS key arn:"), "{shown}");
    assert!(!shown.contains(GOOGLE_SECRET));
    admin.json_with(
        &[
            "--secrets-key",
            &alias,
            "providers",
            "update",
            "google",
            "--client-secret-stdin",
            "--auth-method",
            "client_secret_post",
        ],
        "rotated-secret\n",
    );
    assert_eq!(opened(&store, &sealer, "google").await, "rotated-secret");
    // Changes that seal nothing need no key.
    admin.ok(&["providers", "update", "google", "--disabled"]);
    let p = store
        .provider("google")
        .await
        .expect("read")
        .expect("stored");
    assert!(!p.enabled);
    assert_eq!(p.client_auth, shared::store::UpstreamAuth::ClientSecretPost);

    admin.ok(&["providers", "delete", "google"]);
    assert_eq!(store.provider("google").await.expect("read"), None);
    admin.fails(&["providers", "delete", "google"], "");
}

#[test]
fn providers_with_private_key_jwt_keep_no_secret() {
    let dir = temp_dir("providers-pkjwt");
    let admin = Admin::embedded(&dir);
    let create = [
        "providers",
        "create",
        "--id",
        "okta",
        "--issuer",
        "https://dev-1.okta.com",
        "--client-id",
        "okta-client",
        "--auth-method",
        "private_key_jwt",
    ];
    let err = admin.fails(&[&create[..], &["--client-secret-stdin"]].concat(), "s\n");
    assert!(err.contains("sends no client secret"), "{err}");
    let out = admin.ok(&create);
    assert!(
        out.contains("/federation/jwks"),
        "says what to register: {out}"
    );
    let shown = admin.json(&["providers", "show", "okta"]);
    assert_eq!(shown["provider"]["client_auth"], "private_key_jwt");
    assert_eq!(shown["provider"]["has_secret"], false);
    assert!(
        !dir.join("federation.key").exists(),
        "nothing sealed, so no sealing key made"
    );
    // Back to a secret needs one; to private_key_jwt drops the stored one.
    let err = admin.fails(
        &[
            "providers",
            "update",
            "okta",
            "--auth-method",
            "client_secret_basic",
        ],
        "",
    );
    assert!(err.contains("needs a client secret"), "{err}");
    let with_secret = admin.json_with(
        &[
            "providers",
            "update",
            "okta",
            "--auth-method",
            "client_secret_basic",
            "--client-secret-stdin",
        ],
        "okta-secret\n",
    );
    assert_eq!(with_secret["provider"]["has_secret"], true);
    let without = admin.json(&[
        "providers",
        "update",
        "okta",
        "--auth-method",
        "private_key_jwt",
    ]);
    assert_eq!(without["provider"]["has_secret"], false);
    let _ = std::fs::remove_dir_all(dir);
}

// ---------------------------------------------------------------------------------------
// passkeys and second factors

/// The store the CLI works on, opened by the test itself to enrol what the account page
/// would (the embedded one only while no command runs: redb admits one process).
enum Direct {
    Embedded(PathBuf),
    Aws(String),
}

impl Direct {
    async fn open(&self) -> Arc<dyn shared::store::Store> {
        let backend = match self {
            Direct::Embedded(dir) => shared::assembly::Backend::Embedded {
                data_dir: Some(dir.clone()),
                alg: Alg::RS256,
            },
            Direct::Aws(table) => shared::assembly::Backend::Aws {
                table: table.clone(),
                signing_keys: vec![],
            },
        };
        shared::assembly::store(&backend).await.expect("store")
    }
}

/// A passkey of `sub` named `name`, registered as passkey sign-in's tests do; its id.
async fn enrol_passkey(
    store: &dyn shared::store::Store,
    sub: &str,
    name: &str,
    synced: bool,
) -> String {
    use shared::store::{AddPasskey, Factors, Passkey};
    let mut f = store
        .factors(sub)
        .await
        .expect("factors")
        .unwrap_or_else(|| Factors::new(sub));
    f.version += 1;
    f.user_handle = format!("handle-{sub}");
    let id = random_token(16);
    f.passkeys.push(id.clone());
    let passkey = Passkey {
        id: id.clone(),
        sub: sub.into(),
        user_handle: f.user_handle.clone(),
        public_key: "cose-key".into(),
        alg: -7,
        sign_count: if synced { 0 } else { 7 },
        name: name.into(),
        created_at: 1_767_225_600,
        last_used_at: if synced { 0 } else { 1_767_312_000 },
        backup_eligible: synced,
        backed_up: synced,
        transports: vec!["internal".into()],
    };
    assert_eq!(
        store.add_passkey(&f, &passkey).await.expect("add"),
        AddPasskey::Added
    );
    id
}

/// TOTP enrolled, with three recovery codes.
async fn enrol_totp(store: &dyn shared::store::Store, sub: &str) {
    let mut f = store
        .factors(sub)
        .await
        .expect("factors")
        .expect("enrolled");
    f.version += 1;
    f.totp = Some(shared::store::TotpFactor {
        sealed_secret: shared::store::SealedSecret {
            key: shared::store::SealedSecret::LOCAL.into(),
            ciphertext: "sealed".into(),
        },
        last_step: 0,
        enrolled_at: 1_767_225_600,
    });
    f.recovery = vec!["d1".into(), "d2".into(), "d3".into()];
    let user = store.user(sub).await.expect("read").expect("the person");
    assert!(store.put_totp(&f, &user).await.expect("put"));
}

/// `users passkeys`, `revoke-passkey` and `reset-totp` on either backend.
async fn passkeys_listed_revoked_and_reset(admin: &Admin, direct: &Direct) {
    for name in ["ada", "bob"] {
        admin.ok_with(
            &["users", "create", "--username", name, "--password-stdin"],
            "correct horse battery\n",
        );
    }
    let sub = |name: &str| {
        admin.json(&["users", "show", name])["user"]["sub"]
            .as_str()
            .expect("sub")
            .to_string()
    };
    let (ada, bob) = (sub("ada"), sub("bob"));
    let none = admin.ok(&["users", "passkeys", "ada"]);
    for part in [
        "No passkeys.",
        "TOTP: not enrolled",
        "Recovery codes left: 0",
    ] {
        assert!(none.contains(part), "{none}");
    }

    let store = direct.open().await;
    let phone = enrol_passkey(store.as_ref(), &ada, "Phone", true).await;
    let yubikey = enrol_passkey(store.as_ref(), &ada, "YubiKey", false).await;
    let bobs = enrol_passkey(store.as_ref(), &bob, "Bob's key", true).await;
    enrol_totp(store.as_ref(), &ada).await;
    drop(store);

    // Listed by username or by sub, oldest first, with what tells them apart.
    let listed = admin.json(&["users", "passkeys", &ada]);
    assert_eq!(listed["user"]["username"], "ada");
    let keys = listed["passkeys"].as_array().expect("passkeys");
    assert_eq!(keys.len(), 2, "{listed}");
    assert_eq!(
        (&keys[0]["id"], &keys[0]["kind"], &keys[0]["last_used_at"]),
        (
            &Value::from(phone.as_str()),
            &Value::from("synced"),
            &Value::Null
        )
    );
    assert_eq!(
        (&keys[1]["name"], &keys[1]["kind"], &keys[1]["sign_count"]),
        (
            &Value::from("YubiKey"),
            &Value::from("device-bound"),
            &Value::from(7)
        )
    );
    assert_eq!(listed["totp_enrolled"], true);
    assert_eq!(listed["recovery_codes_left"], 3);
    let human = admin.ok(&["users", "passkeys", "ada"]);
    for part in [
        "ID",
        "LAST USED",
        phone.as_str(),
        "2026-01-01 00:00:00 UTC",
        "never",
        "device-bound",
        "TOTP: enrolled 2026-01-01 00:00:00 UTC",
        "Recovery codes left: 3",
    ] {
        assert!(human.contains(part), "{part:?} in:\n{human}");
    }

    // Another person's passkey, or an unknown one, is not found, and stays.
    for id in [bobs.as_str(), "no-such-id"] {
        let err = admin.fails(&["users", "revoke-passkey", "ada", id], "");
        assert!(err.contains("ada has no passkey with the id"), "{err}");
    }
    let err = admin.fails(&["users", "passkeys", "nobody"], "");
    assert!(err.contains("no user with the username or sub"), "{err}");
    assert_eq!(
        admin.json(&["users", "passkeys", "bob"])["passkeys"][0]["id"],
        bobs.as_str()
    );

    // Revoked: its record and its place in the list go; sessions go on unless asked.
    let out = admin.ok(&["users", "revoke-passkey", "ada", &phone]);
    assert!(
        out.contains(&format!(
            "Revoked the passkey \"Phone\" (id {phone}) of ada"
        )) && out.contains("`oidc-admin users sign-out ada` ends them"),
        "{out}"
    );
    let err = admin.fails(&["users", "revoke-passkey", "ada", &phone], "");
    assert!(err.contains("has no passkey"), "{err}");
    let store = direct.open().await;
    assert_eq!(store.passkey(&phone).await.expect("read"), None);
    let f = store.factors(&ada).await.expect("read").expect("factors");
    assert_eq!(f.passkeys, std::slice::from_ref(&yubikey));
    drop(store);

    // reset-totp: the authenticator and the recovery codes go, the passkey stays.
    let reset = admin.json(&["users", "reset-totp", "ada"]);
    assert_eq!(
        (
            &reset["totp_removed"],
            &reset["recovery_codes_removed"],
            &reset["sessions_ended"]
        ),
        (&Value::from(true), &Value::from(3), &Value::from(false))
    );
    let after = admin.json(&["users", "passkeys", "ada"]);
    assert_eq!(after["totp_enrolled"], false);
    // The flag the password step reads goes in the same write: no code is asked for.
    let store = direct.open().await;
    let flagged = store.user(&ada).await.expect("read").expect("ada");
    assert!(!flagged.totp, "the password step no longer asks for a code");
    drop(store);
    assert_eq!(after["recovery_codes_left"], 0);
    assert_eq!(after["passkeys"][0]["id"], yubikey.as_str());
    let again = admin.ok(&["users", "reset-totp", "ada"]);
    assert!(again.contains("nothing changed"), "{again}");

    // --sign-out ends the sessions in the same command.
    assert_eq!(
        admin.json(&["users", "show", "ada"])["user"]["tokens_valid_after"],
        0
    );
    let out = admin.ok(&["users", "revoke-passkey", &ada, &yubikey, "--sign-out"]);
    assert!(out.contains("Ended every session"), "{out}");
    let shown = admin.json(&["users", "show", "ada"]);
    assert!(
        shown["user"]["tokens_valid_after"].as_i64() > Some(0),
        "{shown}"
    );
    let empty = admin.ok(&["users", "passkeys", "ada"]);
    assert!(empty.contains("No passkeys."), "{empty}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn passkeys_and_totp_listed_revoked_and_reset_on_the_data_directory() {
    let dir = temp_dir("factors");
    passkeys_listed_revoked_and_reset(&Admin::embedded(&dir), &Direct::Embedded(dir.clone())).await;
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dynamodb_passkeys_and_totp_with_the_cli() {
    if !aws_available("dynamodb_passkeys_and_totp_with_the_cli") {
        return;
    }
    let table = format!("oidc-admin-{}", random_token(6).replace(['-', '_'], "x"));
    let sdk = shared::aws::aws_config().await;
    shared::store::dynamo::provision::create_table(&shared::aws::dynamodb_client(&sdk), &table)
        .await
        .expect("create table");
    passkeys_listed_revoked_and_reset(&Admin::aws(&table), &Direct::Aws(table)).await;
}
