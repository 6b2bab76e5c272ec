//! `template.yaml` and the code agree: the HTTP API's routes are exactly the provider's
//! route table (which the local server serves), every function is a workspace binary, and
//! the template passes the offline AWS checks.
use std::{collections::BTreeSet, path::PathBuf, process::Command};

use serde_yaml_ng::Value;

fn root() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

fn template() -> Value {
    let text = std::fs::read_to_string(root().join("template.yaml")).expect("template.yaml exists");
    serde_yaml_ng::from_str(&text).expect("template.yaml is YAML")
}

/// Strips a CloudFormation tag (`!Ref`, `!Sub`) to its value.
fn untag(v: &Value) -> &Value {
    match v {
        Value::Tagged(t) => &t.value,
        v => v,
    }
}

type RouteSet = BTreeSet<(String, String, String)>;

/// (method, path, function binary) for every HttpApi event of every function.
fn template_routes(t: &Value) -> (RouteSet, BTreeSet<String>) {
    let mut routes = BTreeSet::new();
    let mut binaries = BTreeSet::new();
    for (_, res) in t["Resources"].as_mapping().expect("Resources") {
        if res["Type"].as_str() != Some("AWS::Serverless::Function") {
            continue;
        }
        let binary = untag(&res["Metadata"]["BuildProperties"]["Binary"])
            .as_str()
            .expect("BuildProperties.Binary")
            .to_string();
        binaries.insert(binary.clone());
        let Some(events) = res["Properties"]["Events"].as_mapping() else {
            continue;
        };
        for (_, ev) in events {
            if ev["Type"].as_str() != Some("HttpApi") {
                continue;
            }
            let method = untag(&ev["Properties"]["Method"])
                .as_str()
                .expect("Method")
                .to_uppercase();
            let path = untag(&ev["Properties"]["Path"])
                .as_str()
                .expect("Path")
                .to_string();
            routes.insert((method, path, binary.clone()));
        }
    }
    (routes, binaries)
}

fn code_routes() -> RouteSet {
    shared::endpoints::routes()
        .into_iter()
        .map(|r| {
            (
                r.method.to_string(),
                r.endpoint.path().to_string(),
                r.endpoint.function().to_string(),
            )
        })
        .collect()
}

#[test]
fn template_routes_are_the_route_table() {
    let (routes, binaries) = template_routes(&template());
    let code = code_routes();
    let only_template: Vec<_> = routes.difference(&code).collect();
    let only_code: Vec<_> = code.difference(&routes).collect();
    assert!(
        only_template.is_empty() && only_code.is_empty(),
        "routes only in template.yaml: {only_template:?}; only in the code: {only_code:?}"
    );

    let workspace: BTreeSet<String> = std::fs::read_dir(root().join("functions"))
        .expect("functions/")
        .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
        .collect();
    assert_eq!(
        binaries, workspace,
        "one template function per functions/<name> crate"
    );
}

#[test]
fn route_comparison_sees_a_route_on_one_side_only() {
    // The check above must bite: add a route to a copy of the template and compare again.
    let mut t = template();
    let (_, res) = t["Resources"]
        .as_mapping_mut()
        .expect("Resources")
        .iter_mut()
        .find(|(_, r)| r["Type"].as_str() == Some("AWS::Serverless::Function"))
        .expect("a function");
    let extra: Value =
        serde_yaml_ng::from_str("Type: HttpApi\nProperties:\n  Path: /extra\n  Method: GET\n")
            .expect("yaml");
    res["Properties"]["Events"]
        .as_mapping_mut()
        .expect("Events")
        .insert("Extra".into(), extra);
    assert_ne!(template_routes(&t).0, code_routes());
}

fn tool(name: &str) -> Option<PathBuf> {
    let p = root().join(".venv-sam/bin").join(name);
    if p.exists() {
        return Some(p);
    }
    let why = format!(
        "{} is not installed (infra/test.sh installs it)",
        p.display()
    );
    assert!(
        std::env::var("OIDC_REQUIRE_AWS").as_deref() != Ok("1"),
        "{why}"
    );
    eprintln!("skipped: {why}");
    None
}

#[test]
fn template_passes_cfn_lint() {
    let Some(cfn_lint) = tool("cfn-lint") else {
        return;
    };
    let out = Command::new(cfn_lint)
        .arg("template.yaml")
        .current_dir(root())
        .output()
        .expect("cfn-lint runs");
    assert!(
        out.status.success(),
        "cfn-lint:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn template_passes_sam_validate_lint() {
    let Some(sam) = tool("sam") else { return };
    let out = Command::new(sam)
        .args(["validate", "--lint", "-t", "template.yaml"])
        .current_dir(root())
        .env("SAM_CLI_TELEMETRY", "0")
        .env("AWS_DEFAULT_REGION", "us-east-1")
        .output()
        .expect("sam runs");
    assert!(
        out.status.success(),
        "sam validate --lint:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
