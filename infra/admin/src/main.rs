//! `oidc-admin`: manage the provider's users, clients, upstream providers and signing keys,
//! on the local server's data directory (embedded store + key files) or on DynamoDB + KMS
//! (`--aws`).
//!
//! Every command prints a human summary, or one JSON value with `--json`. Errors go to
//! stderr with exit code 1 (2 for usage errors, from clap).
mod backend;
mod clients;
mod input;
mod keys;
mod output;
mod providers;
mod users;

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use output::Output;

/// Manage users, clients, upstream providers and signing keys of the OpenID Provider.
///
/// Works on the local server's data directory (--data-dir, default .data) or, with --aws,
/// on the DynamoDB table and KMS keys of a deployment (or the emulator) from the standard
/// AWS environment (AWS_REGION, credentials, AWS_ENDPOINT_URL).
#[derive(Parser)]
#[command(name = "oidc-admin", version)]
struct Cli {
    #[command(flatten)]
    global: Global,
    #[command(subcommand)]
    command: Command,
}

#[derive(Args, Clone)]
pub struct Global {
    /// The local server's data directory (store.redb and signing keys). Users and clients
    /// commands need the local server stopped; keys commands work while it runs.
    #[arg(long, global = true, env = "DATA_DIR", default_value = ".data")]
    pub data_dir: PathBuf,
    /// Use DynamoDB + KMS from the standard AWS environment instead of --data-dir.
    #[arg(long, global = true)]
    pub aws: bool,
    /// DynamoDB table (--aws).
    #[arg(
        long,
        global = true,
        env = "TABLE_NAME",
        default_value = "oidc-provider"
    )]
    pub table: String,
    /// KMS key ids or aliases (or envelope:<id> keys), comma separated, the signing one
    /// first: the deployment's SIGNING_KEYS (--aws keys commands).
    #[arg(long, global = true, env = "SIGNING_KEYS", value_delimiter = ',')]
    pub signing_keys: Vec<String>,
    /// The symmetric KMS key (id, ARN or alias) that seals upstream providers' client
    /// secrets: the stack output FederationSecretsKeyId (--aws providers commands).
    #[arg(long, global = true, env = "FEDERATION_SECRETS_KEY")]
    pub secrets_key: Option<String>,
    /// Print one JSON value instead of the human summary.
    #[arg(long, global = true)]
    pub json: bool,
}

#[derive(Subcommand)]
enum Command {
    /// People who sign in.
    #[command(subcommand)]
    Users(UsersCmd),
    /// Applications (relying parties).
    #[command(subcommand)]
    Clients(ClientsCmd),
    /// Upstream OpenID providers people sign in with ("Continue with Google").
    #[command(subcommand)]
    Providers(providers::ProvidersCmd),
    /// Token signing keys and their rotation.
    #[command(subcommand)]
    Keys(KeysCmd),
}

#[derive(Subcommand)]
pub enum UsersCmd {
    /// Create a user. The password is asked for (or read as one line from standard input).
    Create {
        #[arg(long)]
        username: String,
        /// Sets the `email` claim (unique across users, case-insensitively).
        #[arg(long)]
        email: Option<String>,
        /// A standard claim, NAME=VALUE; VALUE is JSON if it parses (true, 42, {...}),
        /// else a string. Repeatable.
        #[arg(long = "claim", value_name = "NAME=VALUE")]
        claims: Vec<String>,
        /// A custom claim, NAME=JSON[@targets][;scope=SCOPE] (targets:
        /// id_token,access_token,userinfo; default the two tokens). NAME is a URI. It reaches
        /// clients allowed it by name, or granted SCOPE. Repeatable.
        #[arg(
            long = "custom-claim",
            value_name = "NAME=JSON[@TARGETS][;scope=SCOPE]"
        )]
        custom_claims: Vec<String>,
        /// The subject identifier (default: a random one).
        #[arg(long)]
        sub: Option<String>,
        /// Read the password as one line from standard input instead of prompting.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Import users from a JSON-lines file (`-`: standard input), one user object per line
    /// as in a seed file: username, password or password_hash (argon2), claims,
    /// custom_claims, sub. Every line is checked before anything is written.
    Import {
        file: PathBuf,
        /// Update users that exist already (claims and password) instead of refusing.
        #[arg(long)]
        update: bool,
    },
    /// List users, a page at a time.
    List {
        /// Continue after this cursor (printed with the previous page).
        #[arg(long)]
        after: Option<String>,
        #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u16).range(1..=1000))]
        limit: u16,
    },
    /// Show one user (never the password hash).
    Show { username: String },
    /// Set, change or remove claims.
    SetClaims {
        username: String,
        /// NAME=VALUE (JSON if it parses, else a string; `null` removes). Repeatable.
        #[arg(long = "claim", value_name = "NAME=VALUE")]
        claims: Vec<String>,
        /// Remove a standard claim. Repeatable.
        #[arg(long = "remove-claim", value_name = "NAME")]
        remove_claims: Vec<String>,
        /// Add or replace a custom claim, NAME=JSON[@targets]. Repeatable.
        #[arg(long = "custom-claim", value_name = "NAME=JSON[@TARGETS]")]
        custom_claims: Vec<String>,
        /// Remove a custom claim by name. Repeatable.
        #[arg(long = "remove-custom-claim", value_name = "NAME")]
        remove_custom_claims: Vec<String>,
    },
    /// Set a new password (asked for, or one line from standard input) and end the user's
    /// sessions and refresh tokens.
    SetPassword {
        username: String,
        #[arg(long)]
        password_stdin: bool,
    },
    /// Stop a user from signing in, and end their sessions and refresh tokens.
    Disable { username: String },
    /// Let a disabled user sign in again.
    Enable { username: String },
    /// End every session and refresh token of a user (sign out everywhere).
    SignOut { username: String },
    /// Delete a user; their sessions and refresh tokens stop working.
    Delete { username: String },
    /// A person's passkeys (id, name, created, last used, counter, synced or device-bound),
    /// whether TOTP is enrolled, and how many recovery codes are left.
    Passkeys {
        #[arg(value_name = "USERNAME|SUB")]
        user: String,
    },
    /// Remove one of a person's passkeys (a lost or stolen authenticator): it can no longer
    /// sign in. Their sessions go on unless --sign-out.
    RevokePasskey {
        #[arg(value_name = "USERNAME|SUB")]
        user: String,
        /// Its credential id, as `users passkeys` lists it.
        credential_id: String,
        /// Also end every session and refresh token of the person, as `users sign-out`.
        #[arg(long)]
        sign_out: bool,
    },
    /// Remove a person's TOTP authenticator and unused recovery codes, for one who lost
    /// both (the administrator is their recovery path). Their sessions go on unless
    /// --sign-out.
    ResetTotp {
        #[arg(value_name = "USERNAME|SUB")]
        user: String,
        /// Also end every session and refresh token of the person, as `users sign-out`.
        #[arg(long)]
        sign_out: bool,
    },
}

#[derive(Clone, Copy, ValueEnum)]
pub enum AuthMethodArg {
    #[value(name = "client_secret_basic")]
    ClientSecretBasic,
    #[value(name = "client_secret_post")]
    ClientSecretPost,
    #[value(name = "none")]
    None,
    #[value(name = "private_key_jwt")]
    PrivateKeyJwt,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum GrantArg {
    #[value(name = "authorization_code")]
    AuthorizationCode,
    #[value(name = "refresh_token")]
    RefreshToken,
    #[value(name = "client_credentials")]
    ClientCredentials,
}

// Parsed once per process: the size of the largest command does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand)]
pub enum ClientsCmd {
    /// Register a client. A confidential client's secret is generated and shown once.
    Create(NewClient),
    /// List clients, a page at a time.
    List {
        #[arg(long)]
        after: Option<String>,
        #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u16).range(1..=1000))]
        limit: u16,
    },
    /// Show one client (never the secret or its hash).
    Show { id: String },
    /// Replace a confidential client's secret; the new one is shown once, the old one stops
    /// working at once.
    RotateSecret { id: String },
    /// Delete a client.
    Delete { id: String },
}

// `clients create`'s flags (no doc comment: the subcommand's above is its help text).
#[derive(Args)]
pub struct NewClient {
    #[arg(long)]
    pub id: String,
    /// Shown on the consent page (default: the id).
    #[arg(long)]
    pub name: Option<String>,
    /// Repeatable; exact match at /authorize.
    #[arg(long = "redirect-uri", value_name = "URI")]
    pub redirect_uris: Vec<String>,
    /// Where RP-initiated logout may return to. Repeatable.
    #[arg(long = "post-logout-redirect-uri", value_name = "URI")]
    pub post_logout_redirect_uris: Vec<String>,
    /// A public client (no secret, PKCE required): --auth-method none.
    #[arg(long)]
    pub public: bool,
    /// Token endpoint authentication (default client_secret_basic, none with --public).
    #[arg(long, value_enum)]
    pub auth_method: Option<AuthMethodArg>,
    /// Repeatable (default authorization_code).
    #[arg(long = "grant-type", value_enum)]
    pub grant_types: Vec<GrantArg>,
    /// Scopes the client may get, repeatable or space separated (default: every
    /// standard scope).
    #[arg(long = "scope", value_name = "SCOPE")]
    pub scopes: Vec<String>,
    /// NAME=JSON[@targets], added to this client's tokens. Repeatable.
    #[arg(long = "custom-claim", value_name = "NAME=JSON[@TARGETS]")]
    pub custom_claims: Vec<String>,
    /// A claim this client may receive by name, beyond what its scopes carry: a standard
    /// claim, or a person's custom claim (its URI). The person consents to it unless the
    /// client is first-party. Repeatable.
    #[arg(long = "allowed-claim", value_name = "NAME")]
    pub allowed_claims: Vec<String>,
    /// A first-party client: no consent page.
    #[arg(long)]
    pub skip_consent: bool,
    /// Errors before sign-in are shown on the provider's page instead of being sent to
    /// the client's redirect_uri, and logout never redirects unasked (default: trusted).
    #[arg(long)]
    pub untrusted: bool,
    /// An https logo for the consent page.
    #[arg(long)]
    pub logo_uri: Option<String>,
    /// A JWK Set file with the client's public keys (private_key_jwt).
    #[arg(long)]
    pub jwks: Option<PathBuf>,
    /// The least level of sign-in this client's users must reach (default: the
    /// deployment's, SIGNIN_MIN_LEVEL, which a client can raise, never lower).
    #[arg(long, value_parser = ["password", "two-factor", "phishing-resistant"])]
    pub min_level: Option<String>,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum AlgArg {
    Rs256,
    Es256,
}

impl AlgArg {
    pub fn alg(self) -> shared::signer::Alg {
        match self {
            AlgArg::Rs256 => shared::signer::Alg::RS256,
            AlgArg::Es256 => shared::signer::Alg::ES256,
        }
    }
}

/// Rotation: create-next (published, not signing) → wait for JWKS caches → promote (signs;
/// the old key stays published) → wait for the longest token lifetime → retire.
#[derive(Subcommand)]
pub enum KeysCmd {
    /// The signing keys: kid, algorithm, state.
    List,
    /// Create the next key: published in the JWKS, signing only once promoted.
    CreateNext {
        #[arg(long, value_enum, default_value = "rs256")]
        alg: AlgArg,
        /// --aws: the alias of the new KMS key (alias/...).
        #[arg(long)]
        alias: Option<String>,
        /// Embedded, before the first rotation (no keys.json yet): the --alg the local server
        /// runs with, when both signing-rs256.pk8 and signing-es256.pk8 exist.
        #[arg(long, value_enum)]
        server_alg: Option<AlgArg>,
        /// --aws: the SAM template, to print its parameter changes.
        #[arg(long, default_value = "template.yaml")]
        template: PathBuf,
    },
    /// The next key signs from now on; the active one stays published as previous.
    Promote {
        #[arg(long, default_value = "template.yaml")]
        template: PathBuf,
    },
    /// Stop publishing the previous keys (after the longest token lifetime has passed).
    Retire {
        #[arg(long, default_value = "template.yaml")]
        template: PathBuf,
    },
    /// --aws: create an envelope signing key (SIGNING_KEYS entry envelope:<id>): a key pair
    /// whose private key is stored in the table (--table), encrypted under a symmetric KMS
    /// key, and decrypted once per container by the token function, which then signs
    /// without calling KMS. See "Envelope signing mode" in infra/DEPLOY.md.
    EnvelopeCreate {
        /// The symmetric KMS key that wraps it: alias/..., key id or ARN (the stack output
        /// EnvelopeWrappingKeyAlias).
        #[arg(long)]
        wrapping_key: String,
        #[arg(long, value_enum, ignore_case = true)]
        alg: AlgArg,
        /// The key's id: 1 to 64 letters, digits, '.', '_' or '-' (default: <alg>-<random>).
        #[arg(long)]
        id: Option<String>,
        /// Create --wrapping-key (an alias/... name) as a symmetric ENCRYPT_DECRYPT key if it
        /// does not exist (outside template.yaml; a stack creates its own).
        #[arg(long)]
        create_wrapping_key: bool,
        /// The SAM template, to print its parameter changes.
        #[arg(long, default_value = "template.yaml")]
        template: PathBuf,
    },
}

#[tokio::main]
async fn main() {
    let cli = Cli::parse();
    let json = cli.global.json;
    match run(cli).await {
        Ok(out) => out.print(json),
        Err(e) => {
            if json {
                eprintln!("{}", serde_json::json!({ "error": e }));
            } else {
                eprintln!("error: {e}");
            }
            std::process::exit(1);
        }
    }
}

async fn run(cli: Cli) -> Result<Output, String> {
    let g = cli.global;
    match cli.command {
        Command::Users(cmd) => users::run(&backend::store(&g).await?, cmd).await,
        Command::Clients(cmd) => clients::run(&backend::store(&g).await?, cmd).await,
        Command::Providers(cmd) => providers::run(&g, &backend::store(&g).await?, cmd).await,
        // Keys never open the store: they work while the local server runs.
        Command::Keys(cmd) => keys::run(&g, cmd).await.map_err(|e| e.to_string()),
    }
}
