//! `cargo run -p oidc-local`: the provider on loopback with the embedded backend.
use std::{path::PathBuf, sync::Arc};

use clap::{Parser, ValueEnum};
use oidc_local::{Backend, DEMO_PASSWORD, DEMO_USERNAME, Options};
use shared::{clock::SystemClock, seed::Seed, signer::Alg};

#[derive(Clone, Copy, ValueEnum)]
enum BackendArg {
    /// redb file + local signing key in --data-dir.
    Embedded,
    /// DynamoDB + KMS from the standard AWS environment (AWS_ENDPOINT_URL for the emulator).
    Aws,
}

#[derive(Clone, Copy, ValueEnum)]
enum AlgArg {
    Rs256,
    Es256,
}

/// Runs the whole OpenID Provider in one process on 127.0.0.1.
#[derive(Parser)]
#[command(version)]
struct Args {
    /// Port on 127.0.0.1 (0 picks a free one).
    #[arg(long, default_value_t = 8080, env = "PORT")]
    port: u16,
    /// Public issuer URL (default http://127.0.0.1:<port>); `{port}` stands for the port
    /// (`http://localhost:{port}` for passkeys, which browsers refuse on an IP address).
    #[arg(long, env = "ISSUER")]
    issuer: Option<String>,
    /// Where the embedded store and signing key live.
    #[arg(long, default_value = ".data", env = "DATA_DIR")]
    data_dir: PathBuf,
    /// JSON or TOML file of clients and users, applied idempotently at start.
    #[arg(long)]
    seed: Option<PathBuf>,
    #[arg(long, value_enum, default_value = "embedded", env = "BACKEND")]
    backend: BackendArg,
    /// Signing algorithm of the embedded key.
    #[arg(long, value_enum, default_value = "rs256")]
    alg: AlgArg,
    /// DynamoDB table (aws backend).
    #[arg(long, env = "TABLE_NAME", default_value = "oidc-provider")]
    table: String,
    /// KMS key ids or aliases, or envelope:<id> keys (KMS-wrapped, signing in-process),
    /// comma separated, the first signs (aws backend).
    #[arg(
        long,
        env = "SIGNING_KEYS",
        default_value = "alias/oidc-signing-rs256",
        value_delimiter = ','
    )]
    signing_keys: Vec<String>,
    /// Do not create the demo client and user.
    #[arg(long)]
    no_demo: bool,
    /// aws backend: create the table, the `alias/...` signing keys and the envelope:<id>
    /// keys (of --alg, wrapped under alias/oidc-envelope-wrapping) if they are missing (for
    /// the emulator or a fresh account; template.yaml and oidc-admin do this for a deployment).
    #[arg(long)]
    provision: bool,
    /// Exit after provisioning and seeding instead of serving.
    #[arg(long)]
    setup_only: bool,
}

#[tokio::main]
async fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let args = Args::parse();
    if let Err(e) = run(args).await {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

async fn run(args: Args) -> Result<(), String> {
    let seed = match &args.seed {
        Some(path) => {
            let text =
                std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
            Some(
                Seed::parse(&path.to_string_lossy(), &text)
                    .map_err(|e| format!("{}: {e}", path.display()))?,
            )
        }
        None => None,
    };
    let alg = match args.alg {
        AlgArg::Rs256 => Alg::RS256,
        AlgArg::Es256 => Alg::ES256,
    };
    let backend = match args.backend {
        BackendArg::Embedded => Backend::Embedded {
            data_dir: Some(args.data_dir.clone()),
            alg,
        },
        BackendArg::Aws => Backend::Aws {
            table: args.table.clone(),
            signing_keys: args.signing_keys.clone(),
        },
    };
    if args.provision {
        let Backend::Aws {
            table,
            signing_keys,
        } = &backend
        else {
            return Err(
                "--provision is for --backend aws (the embedded backend creates its files itself)"
                    .into(),
            );
        };
        oidc_local::provision(table, signing_keys, alg).await?;
        println!(
            "provisioned table {table} and keys {}",
            signing_keys.join(", ")
        );
    }
    let mut config_vars: Vec<(String, String)> = std::env::vars().collect();
    // Local development: registration is open unless configured otherwise.
    if !config_vars
        .iter()
        .any(|(k, _)| k == "REGISTRATION" || k == "REGISTRATION_INITIAL_ACCESS_TOKEN")
    {
        config_vars.push(("REGISTRATION".into(), "open".into()));
    }
    // On AWS, the keys are distributed as the Lambda functions distribute them, so that
    // what runs here makes the same DynamoDB and KMS calls as the deployed stack.
    let lambda_keys = matches!(backend, Backend::Aws { .. });
    let seed_has_policy = seed.as_ref().is_some_and(|s| s.registration.is_some());
    let opts = Options {
        port: args.port,
        issuer: args.issuer,
        lambda_keys,
        backend,
        seed,
        demo: !args.no_demo,
        config_vars,
        timeouts: Default::default(),
    };
    let running = oidc_local::start(opts, Arc::new(SystemClock)).await?;
    if args.setup_only {
        println!("seeded; exiting (--setup-only)");
        if seed_has_policy {
            println!(
                "note: the seed's [registration] policy configures this process only; a deployment reads REGISTRATION_* from its environment (template parameters)"
            );
        }
        return Ok(());
    }
    let app = &running.app;
    println!("OpenID Provider running");
    println!("  issuer:      {}", running.issuer());
    println!(
        "  discovery:   {}/.well-known/openid-configuration",
        running.issuer()
    );
    if !args.no_demo {
        println!("  demo user:   {DEMO_USERNAME} / {DEMO_PASSWORD}");
        println!(
            "  demo client: {} (redirects to {})",
            oidc_local::DEMO_CLIENT_ID,
            oidc_local::demo_redirect_uri(app)
        );
        println!();
        println!("Open this URL in a browser to sign in:");
        println!("  {}", oidc_local::demo_authorization_url(app));
    }
    running.wait().await;
    Ok(())
}
