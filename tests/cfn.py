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


def policy_documents(template: dict[str, Any], role: str) -> list[tuple[str, dict[str, Any]]]:
    """(logical id of the resource that holds it, document) for every identity policy of a role:
    its inline policies, the AWS::IAM::Policy resources and managed policies of the template
    attached to it (by their Roles, or by the role's ManagedPolicyArns)."""
    resources = template["Resources"]
    found: list[tuple[str, dict[str, Any]]] = [(role, p["PolicyDocument"]) for p in resources[role]["Properties"].get("Policies", [])]
    attached = {a["Ref"] for a in resources[role]["Properties"].get("ManagedPolicyArns", []) if isinstance(a, dict) and "Ref" in a}
    for logical_id, resource in resources.items():
        if resource["Type"] not in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
            continue
        roles = {r.get("Ref") for r in resource["Properties"].get("Roles", []) if isinstance(r, dict)}
        if role in roles or logical_id in attached:
            found.append((logical_id, resource["Properties"]["PolicyDocument"]))
    return found


def role_statements(template: dict[str, Any], prefix: str) -> list[dict[str, Any]]:
    """The statements, resolved, of every role whose logical id starts with prefix, or that holds
    a policy whose logical id does (a role's DefaultPolicy)."""
    resources = template["Resources"]
    roles = [k for k, r in resources.items() if r["Type"] == "AWS::IAM::Role" and k.startswith(prefix)]
    for logical_id, resource in resources.items():
        if resource["Type"] in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy") and logical_id.startswith(prefix):
            roles += [r["Ref"] for r in resource["Properties"].get("Roles", []) if isinstance(r, dict) and r.get("Ref") not in roles]
    statements: list[dict[str, Any]] = []
    seen: set[str] = set()
    for role in roles:
        for holder, document in policy_documents(template, role):
            if (holder, role) in seen or (holder in seen):
                continue
            seen.add(holder)
            statements += resolve(document["Statement"], template)
    return statements
