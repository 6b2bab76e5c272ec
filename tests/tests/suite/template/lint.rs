//! Both templates pass the offline AWS checks: cfn-lint and `sam validate --lint`.
use std::process::Command;

use super::{root, tool};

/// The templates of the repository: the provider's and the example API's.
pub(super) const TEMPLATES: [&str; 2] = ["template.yaml", "examples/protected-api/template.yaml"];

#[test]
fn templates_pass_cfn_lint() {
    let Some(cfn_lint) = tool("cfn-lint") else {
        return;
    };
    for t in TEMPLATES {
        let out = Command::new(&cfn_lint)
            .arg(t)
            .current_dir(root())
            .output()
            .expect("cfn-lint runs");
        assert!(
            out.status.success(),
            "cfn-lint {t}:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn templates_pass_sam_validate_lint() {
    let Some(sam) = tool("sam") else { return };
    for t in TEMPLATES {
        let out = Command::new(&sam)
            .args(["validate", "--lint", "-t", t])
            .current_dir(root())
            .env("SAM_CLI_TELEMETRY", "0")
            .env("AWS_DEFAULT_REGION", "us-east-1")
            .output()
            .expect("sam runs");
        assert!(
            out.status.success(),
            "sam validate --lint {t}:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
