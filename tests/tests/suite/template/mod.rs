//! `template.yaml` and the code agree: the HTTP API's routes are exactly the provider's
//! route table (which the local server serves), every function is a workspace binary, and
//! the template passes the offline AWS checks. Every function rolls out behind an alias
//! guarded by alarms that exist (in the template and in what the SAM transform makes of it),
//! a parameter change reaches the alias, and the logs and metrics it watches are the ones the
//! code writes.
//!
//! One file per concern: [`routes`], [`lint`] (both templates), [`rollout`] (aliases,
//! deployment preferences, alarms, also as the SAM transform makes them), [`revision`] (a
//! parameter change reaches the alias), [`observability`] (logs, metrics, dashboard) and
//! [`example`] (the example API's template).
mod example;
mod lint;
mod observability;
mod revision;
mod rollout;
mod routes;

use std::path::{Path, PathBuf};

use serde_yaml_ng::Value;

pub(super) fn root() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

/// The provider's template.
pub(super) fn template() -> Value {
    yaml(Path::new("template.yaml"))
}

/// Strips a CloudFormation tag (`!Ref`, `!Sub`) to its value.
pub(super) fn untag(v: &Value) -> &Value {
    match v {
        Value::Tagged(t) => &t.value,
        v => v,
    }
}

/// A template of the repository, parsed.
pub(super) fn yaml(path: &Path) -> Value {
    let text = std::fs::read_to_string(root().join(path)).expect("the template exists");
    serde_yaml_ng::from_str(&text).expect("the template is YAML")
}

pub(super) fn tool(name: &str) -> Option<PathBuf> {
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

pub(super) fn resources_of<'a>(
    t: &'a Value,
    ty: &'a str,
) -> impl Iterator<Item = (&'a str, &'a Value)> {
    t["Resources"]
        .as_mapping()
        .expect("Resources")
        .iter()
        .filter(move |(_, r)| r["Type"].as_str() == Some(ty))
        .map(|(k, r)| (k.as_str().unwrap_or_default(), r))
}

/// The `${Name}`s of an Fn::Sub string (`${Name.Attribute}` as Name).
pub(super) fn sub_names(s: &str) -> impl Iterator<Item = &str> {
    s.split("${")
        .skip(1)
        .filter_map(|rest| rest.split_once('}'))
        .map(|(name, _)| name.split('.').next().unwrap_or(name))
}
