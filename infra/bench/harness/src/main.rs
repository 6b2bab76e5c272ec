//! `runtime-emulator`: a local Lambda Runtime API that starts Lambda bootstraps cold and
//! measures them (`infra/bench/coldstart.sh` drives it; see `infra/bench/README.md`).
//!
//! - `invoke`: one cold start of one bootstrap with one event file; prints the measurement
//!   and the response.
//! - `bench`: N cold starts of every target, round-robin, with each function's fixture
//!   request; writes JSON.
//! - `report`: JSON → markdown section and SVG chart.
mod bench;
mod calls;
mod emulator;
mod event;
mod fixtures;
mod html;
mod report;
mod upstream;

use std::{collections::BTreeMap, path::PathBuf, process::ExitCode, time::Duration};

use clap::{Parser, Subcommand};
use serde_json::{Value, json};

#[derive(Parser)]
#[command(about = "A local Lambda Runtime API that measures cold starts")]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(clap::Args)]
struct RunEnv {
    /// Extra environment for the function (KEY=VALUE), after Lambda's own.
    #[arg(long = "env", value_name = "KEY=VALUE", value_parser = key_value)]
    env: Vec<(String, String)>,
    /// AWS_LAMBDA_FUNCTION_MEMORY_SIZE (informational; nothing is capped).
    #[arg(long, default_value_t = 256)]
    memory_mb: u32,
    /// Kill a function that has not answered after this many seconds.
    #[arg(long, default_value_t = bench::default_timeout().as_secs())]
    timeout_secs: u64,
}

#[derive(Subcommand)]
enum Cmd {
    /// One cold start of one bootstrap.
    Invoke {
        /// The bootstrap executable.
        #[arg(long)]
        bootstrap: PathBuf,
        /// AWS_LAMBDA_FUNCTION_NAME.
        #[arg(long)]
        name: String,
        /// The event: a JSON file (API Gateway v2 payload).
        #[arg(long)]
        event: PathBuf,
        /// Append the function's stdout/stderr here (default: discard).
        #[arg(long)]
        log: Option<PathBuf>,
        #[command(flatten)]
        run: RunEnv,
    },
    /// Cold starts of every target, interleaved round-robin; writes JSON.
    Bench {
        /// A target: NAME=PATH-TO-BOOTSTRAP. Function names get their fixture request;
        /// anything else (the baselines) gets `GET /`.
        #[arg(long = "target", value_name = "NAME=PATH", value_parser = key_value, required = true)]
        targets: Vec<(String, String)>,
        /// A function only used to prepare the targets' requests, not measured: NAME=PATH
        /// (authorize, login and token sign in; authorize and federation start a federated
        /// sign-in).
        #[arg(long = "helper", value_name = "NAME=PATH", value_parser = key_value)]
        helpers: Vec<(String, String)>,
        /// Recorded cold starts per target.
        #[arg(long, default_value_t = 15)]
        runs: usize,
        /// Unrecorded rounds first (page cache, emulator warm-up).
        #[arg(long, default_value_t = 1)]
        warmup: usize,
        /// The target the functions are compared with.
        #[arg(long, default_value = "baseline-sdk")]
        baseline: String,
        /// Goal: first-response median ≤ this × the baseline's.
        #[arg(long, default_value_t = 1.3)]
        goal_ratio: f64,
        /// Where the JSON goes.
        #[arg(long)]
        out: PathBuf,
        /// Write each target's event here.
        #[arg(long)]
        events_dir: Option<PathBuf>,
        /// Each target's stdout/stderr goes to <DIR>/<name>.log (last run's only: rewritten).
        #[arg(long)]
        logs_dir: Option<PathBuf>,
        /// Facts to record in the JSON (KEY=VALUE), e.g. commit=abc123.
        #[arg(long = "meta", value_name = "KEY=VALUE", value_parser = key_value)]
        meta: Vec<(String, String)>,
        /// Count each cold start's AWS calls: moto's URL, moto started with MOTO_COUNT=1
        /// (infra/moto_serial.py). Counting slows moto: use a separate pass.
        #[arg(long, value_name = "URL")]
        count_aws_calls: Option<String>,
        #[command(flatten)]
        run: RunEnv,
    },
    /// Renders `bench` JSON as a markdown section and an SVG chart.
    Report {
        #[arg(long)]
        input: PathBuf,
        #[arg(long)]
        md: PathBuf,
        #[arg(long)]
        svg: PathBuf,
        /// A `bench --count-aws-calls` JSON: adds each target's AWS calls to the table.
        #[arg(long)]
        calls: Option<PathBuf>,
        /// How the markdown links the chart.
        #[arg(long, default_value = "infra/bench/charts/coldstart.svg")]
        chart_link: String,
    },
}

fn key_value(s: &str) -> Result<(String, String), String> {
    s.split_once('=')
        .filter(|(k, _)| !k.is_empty())
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .ok_or_else(|| format!("expected KEY=VALUE, got `{s}`"))
}

fn write(path: &PathBuf, text: &str) -> Result<(), String> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    std::fs::write(path, text).map_err(|e| format!("{}: {e}", path.display()))
}

async fn run(cli: Cli) -> Result<(), String> {
    match cli.command {
        Cmd::Invoke {
            bootstrap,
            name,
            event,
            log,
            run,
        } => {
            let text =
                std::fs::read_to_string(&event).map_err(|e| format!("{}: {e}", event.display()))?;
            let event: Value =
                serde_json::from_str(&text).map_err(|e| format!("{}: {e}", event.display()))?;
            let inv = emulator::Invocation {
                bootstrap,
                function_name: name,
                event,
                memory_mb: run.memory_mb,
                env: run.env,
                log,
                timeout: Duration::from_secs(run.timeout_secs),
            };
            let r = emulator::cold_start(&inv).await?;
            let out = json!({"measurement": r, "response": r.response});
            println!(
                "{}",
                serde_json::to_string_pretty(&out).map_err(|e| e.to_string())?
            );
            match r.error {
                Some(e) => Err(e),
                None => Ok(()),
            }
        }
        Cmd::Bench {
            targets,
            helpers,
            runs,
            warmup,
            baseline,
            goal_ratio,
            out,
            events_dir,
            logs_dir,
            meta,
            count_aws_calls,
            run,
        } => {
            let mut measured: Vec<String> = targets.iter().map(|(n, _)| n.clone()).collect();
            measured.sort();
            measured.dedup();
            let mut map = BTreeMap::new();
            for (name, path) in targets.into_iter().chain(helpers) {
                let path = PathBuf::from(path);
                if !path.is_file() {
                    return Err(format!("{name}: no bootstrap at {}", path.display()));
                }
                map.entry(name).or_insert(path);
            }
            let opts = bench::BenchOptions {
                measured,
                ctx: fixtures::Ctx {
                    bootstraps: map,
                    env: run.env,
                    memory_mb: run.memory_mb,
                    log_dir: logs_dir,
                    timeout: Duration::from_secs(run.timeout_secs),
                },
                runs,
                warmup,
                baseline,
                goal_ratio,
                events_dir,
                meta,
                aws_calls: count_aws_calls,
            };
            let data = bench::run(opts).await?;
            write(
                &out,
                &serde_json::to_string_pretty(&data).map_err(|e| e.to_string())?,
            )?;
            eprintln!("wrote {}", out.display());
            Ok(())
        }
        Cmd::Report {
            input,
            md,
            svg,
            calls,
            chart_link,
        } => {
            let read = |path: &PathBuf| -> Result<Value, String> {
                let text = std::fs::read_to_string(path)
                    .map_err(|e| format!("{}: {e}", path.display()))?;
                serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
            };
            let data = read(&input)?;
            let calls = calls.as_ref().map(read).transpose()?;
            write(&md, &report::markdown(&data, calls.as_ref(), &chart_link))?;
            write(&svg, &report::svg(&data))?;
            eprintln!("wrote {} and {}", md.display(), svg.display());
            Ok(())
        }
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    match run(Cli::parse()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("runtime-emulator: {e}");
            ExitCode::FAILURE
        }
    }
}
