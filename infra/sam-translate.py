"""Prints the CloudFormation that the AWS::Serverless transform makes of a SAM template, offline.

    .venv-sam/bin/python infra/sam-translate.py template.yaml [Name=Value ...] > translated.json

The AWS::Serverless transform that CloudFormation runs on a deploy is this library
(aws-sam-translator, installed with aws-sam-cli by infra/test.sh; the hosted one may be a
newer release). tests/tests/suite/template.rs checks its output: the aliases, versions,
CodeDeploy deployment groups and the API's stage exist only after the transform.
Name=Value pairs are parameter values, as a deploy passes them (the rest take their
defaults). The managed-policy map (which the transform fetches from IAM to expand policy
names in a function's Policies) is empty: no function names a managed policy, so nothing
here calls AWS.
"""

import json
import os
import sys

from samtranslator.translator.transform import transform
from samtranslator.yaml_helper import yaml_parse


class NoManagedPolicies:
    """Stands in for samtranslator's ManagedPolicyLoader, which would call iam:ListPolicies."""

    def load(self):
        return {}


def main(args):
    if not args:
        sys.exit(__doc__)
    with open(args[0], encoding="utf-8") as f:
        template = yaml_parse(f.read())
    parameters = dict(a.split("=", 1) for a in args[1:])
    # `sam package` uploads each function's build (a local CodeUri) and puts its S3 address
    # in its place; the transform takes only an S3 address. One per function, as after a
    # package.
    for name, resource in template.get("Resources", {}).items():
        if resource.get("Type") != "AWS::Serverless::Function":
            continue
        code = resource.get("Properties", {}).get("CodeUri")
        if isinstance(code, str) and not code.startswith("s3://"):
            resource["Properties"]["CodeUri"] = f"s3://sam-translate/{name}"
    # The transform fills AWS::Region and AWS::Partition from the default session.
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    translated = transform(template, parameters, NoManagedPolicies())
    json.dump(translated, sys.stdout, indent=1, sort_keys=True, default=str)
    print()


if __name__ == "__main__":
    main(sys.argv[1:])
