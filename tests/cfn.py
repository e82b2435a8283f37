"""Give a synthesized template's intrinsic functions the values CloudFormation would, and
deliver properties the way CloudFormation does (every scalar a string)."""

from __future__ import annotations

from typing import Any

ACCOUNT = "123456789012"
REGION = "us-east-1"
PSEUDO = {
    "AWS::AccountId": ACCOUNT,
    "AWS::Region": REGION,
    "AWS::Partition": "aws",
    "AWS::URLSuffix": "amazonaws.com",
    "AWS::StackName": "Eval",
}


def resolve(value: Any, template: dict[str, Any]) -> Any:
    resources = template.get("Resources", {})
    if isinstance(value, list):
        return [resolve(v, template) for v in value]
    if not isinstance(value, dict):
        return value
    if len(value) == 1:
        (key, arg), = value.items()
        if key == "Ref":
            return PSEUDO.get(arg) or _ref(arg, resources)
        if key == "Fn::GetAtt":
            logical, attribute = arg if isinstance(arg, list) else arg.split(".", 1)
            return _get_att(logical, attribute, resources)
        if key == "Fn::Join":
            separator, parts = arg
            return separator.join(str(resolve(p, template)) for p in parts)
        if key == "Fn::Select":
            index, items = arg
            return resolve(items, template)[int(index)]
        if key == "Fn::Split":
            separator, text = arg
            return str(resolve(text, template)).split(separator)
    return {k: resolve(v, template) for k, v in value.items()}


def _ref(logical: str, resources: dict[str, Any]) -> str:
    kind = resources.get(logical, {}).get("Type")  # None for a parameter
    if kind == "AWS::S3::Bucket":
        return logical.lower()[:40]
    if kind == "AWS::IAM::Role":
        return f"role-{logical.lower()}"[:64]
    return f"ref-{logical.lower()}"


def _get_att(logical: str, attribute: str, resources: dict[str, Any]) -> str:
    kind = resources[logical]["Type"]
    if kind == "AWS::IAM::Role" and attribute == "Arn":
        return f"arn:aws:iam::{ACCOUNT}:role/{_ref(logical, resources)}"
    if kind == "AWS::S3::Bucket" and attribute == "Arn":
        return f"arn:aws:s3:::{_ref(logical, resources)}"
    if kind == "AWS::Lambda::Function" and attribute == "Arn":
        return f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{logical}"
    return f"{logical}.{attribute}"


def as_delivered(value: Any) -> Any:
    """CloudFormation turns numbers and booleans in custom resource properties into strings."""
    if isinstance(value, dict):
        return {k: as_delivered(v) for k, v in value.items()}
    if isinstance(value, list):
        return [as_delivered(v) for v in value]
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return value


def resources_of_type(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {k: r for k, r in template["Resources"].items() if r["Type"] == kind}
