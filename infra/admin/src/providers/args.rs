//! `oidc-admin providers ...`'s commands and flags.
use std::path::PathBuf;

use clap::{Args, Subcommand, ValueEnum};
use shared::store::UpstreamAuth;

#[derive(Clone, Copy, ValueEnum)]
pub enum UpstreamAuthArg {
    #[value(name = "client_secret_basic")]
    ClientSecretBasic,
    #[value(name = "client_secret_post")]
    ClientSecretPost,
    /// No secret: a JWT signed with our client key, which the upstream reads at
    /// <issuer>/federation/jwks.
    #[value(name = "private_key_jwt")]
    PrivateKeyJwt,
}

impl UpstreamAuthArg {
    pub fn method(self) -> UpstreamAuth {
        match self {
            UpstreamAuthArg::ClientSecretBasic => UpstreamAuth::ClientSecretBasic,
            UpstreamAuthArg::ClientSecretPost => UpstreamAuth::ClientSecretPost,
            UpstreamAuthArg::PrivateKeyJwt => UpstreamAuth::PrivateKeyJwt,
        }
    }
}

// Parsed once per process: the size of the largest command does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand)]
pub enum ProvidersCmd {
    /// Add an upstream provider. Register <issuer>/federation/callback as its redirect URI
    /// there first. The client secret is read from standard input or a file, never from the
    /// command line, and stored sealed (KMS with --aws, the data directory's key locally);
    /// with --auth-method private_key_jwt there is none: register <issuer>/federation/jwks
    /// as the client's jwks_uri there instead.
    Create(NewProvider),
    /// List the upstream providers.
    List,
    /// Show one provider (never its client secret).
    Show { id: String },
    /// Change a provider: only what is given changes.
    Update(ProviderUpdate),
    /// Delete a provider: its button leaves the sign-in page. The accounts it linked stay,
    /// and are found again if a provider with the same issuer comes back.
    Delete { id: String },
}

// `providers create`'s flags (no doc comment: the subcommand's above is its help text).
#[derive(Args)]
pub struct NewProvider {
    /// 1 to 32 of a-z, 0-9 and '-': the idp= value and the `idp` claim.
    #[arg(long)]
    pub id: String,
    /// Exactly as the upstream's discovery document says (Entra's multi-tenant issuer:
    /// https://login.microsoftonline.com/{tenantid}/v2.0).
    #[arg(long)]
    pub issuer: String,
    /// Our client id at the upstream.
    #[arg(long)]
    pub client_id: String,
    #[command(flatten)]
    pub options: ProviderOptions,
}

#[derive(Args)]
pub struct ProviderUpdate {
    pub id: String,
    #[arg(long)]
    pub issuer: Option<String>,
    #[arg(long)]
    pub client_id: Option<String>,
    #[command(flatten)]
    pub options: ProviderOptions,
    /// Remove a claim mapping (by our claim name). Repeatable.
    #[arg(long = "remove-claim", value_name = "OURS")]
    pub remove_claims: Vec<String>,
    /// Remove the logo.
    #[arg(long, conflicts_with = "logo")]
    pub remove_logo: bool,
}

/// What `create` and `update` share.
#[derive(Args)]
pub struct ProviderOptions {
    /// Read the client secret as one line from standard input (without this or
    /// --client-secret-file, create asks for it).
    #[arg(long, conflicts_with = "client_secret_file")]
    pub client_secret_stdin: bool,
    /// Read the client secret from the first line of this file.
    #[arg(long, value_name = "FILE")]
    pub client_secret_file: Option<PathBuf>,
    /// How we authenticate to the upstream's token endpoint (default client_secret_basic).
    #[arg(long, value_enum)]
    pub auth_method: Option<UpstreamAuthArg>,
    /// Scopes to ask for, repeatable or space separated (default: openid email profile;
    /// openid is required). Given on update: replaces them all.
    #[arg(long = "scope", value_name = "SCOPE")]
    pub scopes: Vec<String>,
    /// The button says "Continue with NAME" (default: the id).
    #[arg(long)]
    pub name: Option<String>,
    /// An https logo for the button.
    #[arg(long)]
    pub logo: Option<String>,
    /// OURS=THEIRS: our claim OURS comes from the upstream's claim THEIRS (default: the
    /// standard names unchanged). Repeatable.
    #[arg(long = "claim", value_name = "OURS=THEIRS")]
    pub claims: Vec<String>,
    /// Link a first sign-in to an existing account with the same email, when the upstream
    /// says the email is verified. Only for upstreams trusted to verify emails
    /// (--link-verified-email=false turns it off).
    #[arg(long, num_args = 0..=1, default_missing_value = "true", value_name = "BOOL")]
    pub link_verified_email: Option<bool>,
    /// Also read the upstream's userinfo endpoint (--userinfo=false turns it off).
    #[arg(long, num_args = 0..=1, default_missing_value = "true", value_name = "BOOL")]
    pub userinfo: Option<bool>,
    /// Hide the provider from the sign-in page and refuse idp= for it
    /// (--disabled=false enables it again).
    #[arg(long, num_args = 0..=1, default_missing_value = "true", value_name = "BOOL")]
    pub disabled: Option<bool>,
}
