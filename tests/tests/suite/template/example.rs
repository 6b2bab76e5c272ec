//! The example API's template (examples/protected-api) follows the recipe of infra/DEPLOY.md,
//! "Protect an API with the provider's tokens": a JWT authorizer on the issuer and audience
//! parameters in front of every route, a scope on every route (the authorizer cannot tell an
//! ID token from an access token), and a guarded rollout of its function.
use std::path::Path;

use serde_yaml_ng::Value;

use super::{resources_of, rollout::rollout_problems, untag, yaml};

fn example() -> Value {
    yaml(Path::new("examples/protected-api/template.yaml"))
}

/// What keeps a route of the example from the recipe.
fn recipe_problems(t: &Value) -> Vec<String> {
    let mut problems = rollout_problems(t);
    let mut jwt = vec![];
    for (api, res) in resources_of(t, "AWS::Serverless::HttpApi") {
        let authorizers = res["Properties"]["Auth"]["Authorizers"].as_mapping();
        for (name, a) in authorizers.into_iter().flatten() {
            let name = name.as_str().unwrap_or_default();
            let c = &a["JwtConfiguration"];
            if a["IdentitySource"].as_str() != Some("$request.header.Authorization")
                || untag(&c["issuer"]).as_str() != Some("Issuer")
                || c["audience"]
                    .as_sequence()
                    .map(|a| a.iter().map(|x| untag(x).as_str()).collect())
                    != Some(vec![Some("Audience")])
            {
                problems.push(format!(
                    "{api}.{name}: not a JWT authorizer of the Issuer and Audience parameters on the Authorization header"
                ));
            }
            jwt.push(name.to_string());
        }
    }
    for (function, res) in resources_of(t, "AWS::Serverless::Function") {
        let events = res["Properties"]["Events"].as_mapping();
        for (event, ev) in events
            .into_iter()
            .flatten()
            .filter(|(_, e)| e["Type"] == "HttpApi")
        {
            let auth = &ev["Properties"]["Auth"];
            let event = event.as_str().unwrap_or_default();
            if !auth["Authorizer"]
                .as_str()
                .is_some_and(|a| jwt.iter().any(|j| j == a))
            {
                problems.push(format!("{function}.{event}: no JWT authorizer"));
            }
            if auth["AuthorizationScopes"]
                .as_sequence()
                .is_none_or(Vec::is_empty)
            {
                problems.push(format!("{function}.{event}: no AuthorizationScopes"));
            }
        }
        let binary = untag(&res["Metadata"]["BuildProperties"]["Binary"]);
        if binary.as_str() != Some("protected-api") {
            problems.push(format!(
                "{function}: builds {binary:?}, not the protected-api binary"
            ));
        }
    }
    problems
}

#[test]
fn the_example_api_follows_the_recipe() {
    let problems = recipe_problems(&example());
    assert!(problems.is_empty(), "{problems:#?}");
}

#[test]
fn the_recipe_check_sees_a_route_without_scopes_or_authorizer() {
    let mut t = example();
    let auth =
        &mut t["Resources"]["HelloFunction"]["Properties"]["Events"]["Hello"]["Properties"]["Auth"];
    auth.as_mapping_mut()
        .expect("Auth")
        .remove("AuthorizationScopes");
    let problems = recipe_problems(&t);
    assert!(
        problems
            .iter()
            .any(|p| p.contains("no AuthorizationScopes")),
        "{problems:#?}"
    );
    t["Resources"]["HelloFunction"]["Properties"]["Events"]["Hello"]["Properties"]
        .as_mapping_mut()
        .expect("Properties")
        .remove("Auth");
    let problems = recipe_problems(&t);
    assert!(
        problems.iter().any(|p| p.contains("no JWT authorizer")),
        "{problems:#?}"
    );
}
