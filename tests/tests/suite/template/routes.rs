//! The HTTP API's routes are exactly the provider's route table, and every function is a
//! workspace binary.
use std::collections::BTreeSet;

use serde_yaml_ng::Value;

use super::{root, template, untag};

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
        .iter()
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
