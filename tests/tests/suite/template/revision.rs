//! A parameter change reaches the alias: the configuration revision lists every parameter
//! the functions' configuration depends on (template.yaml, FunctionConfiguration, says why).
use std::collections::BTreeSet;

use serde_yaml_ng::Value;

use super::{resources_of, sub_names, template, untag};

/// The parameters `v` depends on: through `!Ref`, `!GetAtt`, the `${}` of `!Sub`, the
/// conditions of `!If` and `!Condition`, and the resources it names (their condition and
/// properties: a KMS key's spec decides its id). `seen`: the names followed already, and
/// those never to follow.
fn parameters_reached(
    t: &Value,
    v: &Value,
    seen: &mut BTreeSet<String>,
    found: &mut BTreeSet<String>,
) {
    match v {
        Value::Tagged(tv) => {
            let arg = &tv.value;
            if tv.tag == "Ref" || tv.tag == "Condition" || tv.tag == "GetAtt" {
                if let Some(name) = arg.as_str().or_else(|| arg[0].as_str()) {
                    follow(t, name, seen, found);
                }
            } else if tv.tag == "If" {
                follow(t, arg[0].as_str().unwrap_or_default(), seen, found);
                for branch in arg.as_sequence().into_iter().flatten().skip(1) {
                    parameters_reached(t, branch, seen, found);
                }
            } else if tv.tag == "Sub" {
                let text = arg.as_str().or_else(|| arg[0].as_str()).unwrap_or_default();
                for name in sub_names(text).filter(|n| arg[1][*n].is_null()) {
                    follow(t, name, seen, found);
                }
                parameters_reached(t, &arg[1], seen, found);
            } else {
                parameters_reached(t, arg, seen, found);
            }
        }
        Value::Mapping(m) => m
            .values()
            .for_each(|v| parameters_reached(t, v, seen, found)),
        Value::Sequence(s) => s.iter().for_each(|v| parameters_reached(t, v, seen, found)),
        _ => {}
    }
}

/// [`parameters_reached`] through one name: a parameter, a condition or a resource.
fn follow(t: &Value, name: &str, seen: &mut BTreeSet<String>, found: &mut BTreeSet<String>) {
    let name = name.split('.').next().unwrap_or(name);
    if name.starts_with("AWS::") || !seen.insert(name.to_string()) {
        return;
    }
    if t["Parameters"][name].is_mapping() {
        found.insert(name.to_string());
    } else if !t["Conditions"][name].is_null() {
        parameters_reached(t, &t["Conditions"][name], seen, found);
    } else if t["Resources"][name].is_mapping() {
        let res = &t["Resources"][name];
        if let Some(condition) = res["Condition"].as_str() {
            follow(t, condition, seen, found);
        }
        parameters_reached(t, &res["Properties"], seen, found);
    }
}

/// The parameters the functions' published configuration (environment, memory, architecture)
/// depends on, against those FunctionConfiguration lists: (missing from it, listed needlessly).
fn configuration_revision_gaps(t: &Value) -> (BTreeSet<String>, BTreeSet<String>) {
    // Not the function's published configuration: how it is deployed, invoked, allowed, logged.
    const NOT_CONFIGURATION: [&str; 8] = [
        "AutoPublishAlias",
        "DeploymentPreference",
        "VersionDescription",
        "Events",
        "Role",
        "ReservedConcurrentExecutions",
        "LoggingConfig",
        "CodeUri",
    ];
    let mut seen = BTreeSet::from(["FunctionConfiguration".to_string()]);
    let mut reached = BTreeSet::new();
    let functions = resources_of(t, "AWS::Serverless::Function").map(|(_, r)| &r["Properties"]);
    for properties in std::iter::once(&t["Globals"]["Function"]).chain(functions) {
        for (key, v) in properties.as_mapping().expect("properties") {
            if !NOT_CONFIGURATION.contains(&key.as_str().unwrap_or_default()) {
                parameters_reached(t, v, &mut seen, &mut reached);
            }
        }
    }
    let content = untag(&t["Resources"]["FunctionConfiguration"]["Properties"]["Content"])
        .as_str()
        .expect("FunctionConfiguration's Content is a !Sub string");
    let listed: BTreeSet<String> = sub_names(content)
        .filter(|n| t["Parameters"][*n].is_mapping())
        .map(String::from)
        .collect();
    (
        reached.difference(&listed).cloned().collect(),
        listed.difference(&reached).cloned().collect(),
    )
}

#[test]
fn configuration_revision_lists_every_parameter_of_the_functions_configuration() {
    let (missing, needless) = configuration_revision_gaps(&template());
    assert!(
        missing.is_empty() && needless.is_empty(),
        "FunctionConfiguration's Content lacks {missing:?} (a change of them would not reach the `live` alias) \
         and lists {needless:?} (no function's configuration depends on them)"
    );
}

#[test]
fn configuration_revision_check_sees_a_parameter_left_out() {
    let mut t = template();
    let Value::Tagged(content) =
        &mut t["Resources"]["FunctionConfiguration"]["Properties"]["Content"]
    else {
        panic!("Content is a !Sub");
    };
    let text = content
        .value
        .as_str()
        .expect("a string")
        .replace("ActiveSigningKey=${ActiveSigningKey}\n", "");
    content.value = text.into();
    let (missing, _) = configuration_revision_gaps(&t);
    assert!(missing.contains("ActiveSigningKey"), "{missing:?}");
}
