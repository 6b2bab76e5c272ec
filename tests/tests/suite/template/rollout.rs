//! Every function rolls out behind an alias guarded by alarms that exist: in the template,
//! and in the CloudFormation the SAM transform makes of it (infra/sam-translate.py).
use std::process::Command;

use serde_json::{Value as Json, json};
use serde_yaml_ng::Value;

use super::{resources_of, root, sub_names, template, tool};

/// A property of a function as SAM sees it: its own, or else the one in `Globals.Function`.
fn function_property<'a>(t: &'a Value, function: &'a Value, key: &str) -> &'a Value {
    match &function["Properties"][key] {
        Value::Null => &t["Globals"]["Function"][key],
        own => own,
    }
}

/// The names of `Alarms` (a list of `!Ref`s, possibly in the branches of an `!If`).
fn alarm_refs<'a>(alarms: &'a Value, names: &mut Vec<&'a str>) {
    match alarms {
        Value::Tagged(t) if t.tag == "Ref" => {
            if let Some(name) = t.value.as_str().filter(|n| *n != "AWS::NoValue") {
                names.push(name);
            }
        }
        // `!If [condition, then, else]`: both branches.
        Value::Tagged(t) if t.tag == "If" => {
            for branch in t.value.as_sequence().into_iter().flatten().skip(1) {
                alarm_refs(branch, names);
            }
        }
        Value::Sequence(items) => items.iter().for_each(|a| alarm_refs(a, names)),
        _ => {}
    }
}

/// What keeps a function from a guarded rollout: no alias, no deployment preference, no
/// rollback alarm, or an alarm name that is not an alarm of the template.
pub(super) fn rollout_problems(t: &Value) -> Vec<String> {
    let mut problems = vec![];
    for (name, res) in resources_of(t, "AWS::Serverless::Function") {
        if function_property(t, res, "AutoPublishAlias")
            .as_str()
            .is_none_or(str::is_empty)
        {
            problems.push(format!("{name}: no AutoPublishAlias"));
        }
        let preference = function_property(t, res, "DeploymentPreference");
        if preference["Type"].is_null() {
            problems.push(format!("{name}: no DeploymentPreference.Type"));
        }
        let mut alarms = vec![];
        alarm_refs(&preference["Alarms"], &mut alarms);
        if alarms.is_empty() {
            problems.push(format!("{name}: no rollback alarm"));
        }
        for alarm in alarms {
            if t["Resources"][alarm]["Type"].as_str() != Some("AWS::CloudWatch::Alarm") {
                problems.push(format!(
                    "{name}: rollback alarm {alarm} is no AWS::CloudWatch::Alarm of the template"
                ));
            }
        }
    }
    problems
}

#[test]
fn every_function_rolls_out_behind_an_alias_with_rollback_alarms() {
    let problems = rollout_problems(&template());
    assert!(problems.is_empty(), "{problems:#?}");
}

#[test]
fn rollout_check_sees_a_missing_alarm() {
    let mut t = template();
    t["Resources"]
        .as_mapping_mut()
        .expect("Resources")
        .remove("ThrottlingAlarm")
        .expect("ThrottlingAlarm is a resource");
    let problems = rollout_problems(&t);
    assert!(
        problems.iter().any(|p| p.contains("ThrottlingAlarm")),
        "{problems:#?}"
    );
}

/// The CloudFormation the AWS::Serverless transform makes of template.yaml with these
/// parameter values (infra/sam-translate.py, offline).
fn translated(parameters: &[&str]) -> Option<Json> {
    let python = tool("python")?;
    let out = Command::new(python)
        .args(["infra/sam-translate.py", "template.yaml"])
        .args(parameters)
        .current_dir(root())
        .output()
        .expect("python runs");
    assert!(
        out.status.success(),
        "sam-translate:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some(serde_json::from_slice(&out.stdout).expect("the translation is JSON"))
}

fn json_ref(v: &Json) -> Option<&str> {
    v.get("Ref")?.as_str()
}

/// The alarm names of a deployment group's AlarmConfiguration (in both branches of an Fn::If).
fn configured_alarms<'a>(v: &'a Json, names: &mut Vec<&'a str>) {
    match v {
        Json::Object(o) => match o.get("Alarms").and_then(Json::as_array) {
            Some(alarms) => names.extend(alarms.iter().filter_map(|a| json_ref(&a["Name"]))),
            None => o.values().for_each(|v| configured_alarms(v, names)),
        },
        Json::Array(items) => items.iter().for_each(|v| configured_alarms(v, names)),
        _ => {}
    }
}

/// What the translated template lacks for a guarded rollout of each function: the API and
/// its permissions on the alias, the alias moved by a CodeDeploy deployment group whose
/// alarms exist, the version and the environment naming the configuration revision.
fn translated_rollout_problems(cfn: &Json) -> Vec<String> {
    let res = cfn["Resources"].as_object().expect("Resources");
    let get = |id: &str| res.get(id).unwrap_or(&Json::Null);
    let is = |id: &str, ty: &str| get(id)["Type"] == ty;
    let mut problems = vec![];
    for (function, f) in res
        .iter()
        .filter(|(_, r)| r["Type"] == "AWS::Lambda::Function")
    {
        // A new revision changes the function's configuration too: Lambda publishes no
        // version of an unchanged one, and the replaced version would fail.
        if !f["Properties"]["Environment"]["Variables"]["CONFIGURATION_REVISION"]
            .to_string()
            .contains("FunctionConfiguration.VersionNumber")
        {
            problems.push(format!("{function}: no CONFIGURATION_REVISION"));
        }
        let Some((_, alias)) = res.iter().find(|(_, r)| {
            r["Type"] == "AWS::Lambda::Alias"
                && json_ref(&r["Properties"]["FunctionName"]) == Some(function)
        }) else {
            problems.push(format!("{function}: no alias"));
            continue;
        };
        let version = alias["Properties"]["FunctionVersion"]["Fn::GetAtt"][0]
            .as_str()
            .unwrap_or_default();
        if !get(version)["Properties"]["Description"]
            .to_string()
            .contains("FunctionConfiguration.VersionNumber")
        {
            problems.push(format!(
                "{function}: version {version} does not name the configuration revision"
            ));
        }
        let group =
            json_ref(&alias["UpdatePolicy"]["CodeDeployLambdaAliasUpdate"]["DeploymentGroupName"])
                .unwrap_or_default();
        if !is(group, "AWS::CodeDeploy::DeploymentGroup") {
            problems.push(format!(
                "{function}: its alias is moved by no CodeDeploy deployment group"
            ));
            continue;
        }
        let mut alarms = vec![];
        configured_alarms(&get(group)["Properties"]["AlarmConfiguration"], &mut alarms);
        if alarms.is_empty() {
            problems.push(format!("{group}: no alarm"));
        }
        for alarm in alarms
            .into_iter()
            .filter(|a| !is(a, "AWS::CloudWatch::Alarm"))
        {
            problems.push(format!(
                "{group}: alarm {alarm} is no AWS::CloudWatch::Alarm"
            ));
        }
    }
    for (id, permission) in res
        .iter()
        .filter(|(_, r)| r["Type"] == "AWS::Lambda::Permission")
    {
        let target = json_ref(&permission["Properties"]["FunctionName"]).unwrap_or_default();
        if !is(target, "AWS::Lambda::Alias") {
            problems.push(format!("{id}: permission on {target}, not on an alias"));
        }
    }
    let paths = get("HttpApi")["Properties"]["Body"]["paths"]
        .as_object()
        .expect("the HTTP API's OpenAPI paths");
    for (path, methods) in paths {
        for (method, op) in methods.as_object().into_iter().flatten() {
            let uri = op["x-amazon-apigateway-integration"]["uri"]["Fn::Sub"]
                .as_str()
                .unwrap_or_default();
            if !sub_names(uri).any(|n| is(n, "AWS::Lambda::Alias")) {
                problems.push(format!(
                    "{method} {path}: integration {uri:?} is not an alias"
                ));
            }
        }
    }
    problems
}

#[test]
fn translated_template_routes_every_function_through_a_guarded_alias() {
    let Some(cfn) = translated(&[]) else { return };
    let problems = translated_rollout_problems(&cfn);
    assert!(problems.is_empty(), "{problems:#?}");

    let stages: Vec<_> = cfn["Resources"]
        .as_object()
        .expect("Resources")
        .values()
        .filter(|r| r["Type"] == "AWS::ApiGatewayV2::Stage")
        .collect();
    assert_eq!(stages.len(), 1, "one stage");
    let logs = &stages[0]["Properties"]["AccessLogSettings"];
    assert_eq!(
        logs["DestinationArn"],
        json!({"Fn::GetAtt": ["AccessLogGroup", "Arn"]})
    );
    assert!(logs["Format"].is_string(), "{logs}");

    // The check bites: an alarm the deployment groups name, gone.
    let mut broken = cfn.clone();
    broken["Resources"]
        .as_object_mut()
        .expect("Resources")
        .remove("ErrorLogsAlarm");
    let problems = translated_rollout_problems(&broken);
    assert!(
        problems.iter().any(|p| p.contains("ErrorLogsAlarm")),
        "{problems:#?}"
    );
}

#[test]
fn deployment_parameters_reach_the_deployment_groups() {
    let Some(cfn) = translated(&["DeploymentType=AllAtOnce"]) else {
        return;
    };
    let group = &cfn["Resources"]["TokenFunctionDeploymentGroup"]["Properties"];
    assert_eq!(
        group["DeploymentConfigName"]["Fn::Sub"][1]["ConfigName"], "AllAtOnce",
        "{group}"
    );
    // Rollback alarms switch with RollbackAlarms; the other branch configures none.
    assert_eq!(
        group["AlarmConfiguration"]["Fn::If"][0], "RollsBackOnAlarms",
        "{group}"
    );
    assert_eq!(
        group["AlarmConfiguration"]["Fn::If"][2],
        json!({}),
        "{group}"
    );
}
