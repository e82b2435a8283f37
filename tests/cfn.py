"""Give a synthesized template's intrinsic functions the values CloudFormation would, and
deliver properties the way CloudFormation does (every scalar a string)."""

from __future__ import annotations

import re
from typing import Any

from bedrock_evaluation.template_references import named_logical_ids

ACCOUNT = "123456789012"
REGION = "us-east-1"
PSEUDO = {
    "AWS::AccountId": ACCOUNT,
    "AWS::Region": REGION,
    "AWS::Partition": "aws",
    "AWS::URLSuffix": "amazonaws.com",
    "AWS::StackName": "Eval",
}


class Names:
    """The values CloudFormation gives resources' Ref and Fn::GetAtt: short, readable ones that a
    test can write down."""

    pseudo: dict[str, str] = PSEUDO

    def ref(self, logical: str, kind: str | None) -> str:
        if kind == "AWS::S3::Bucket":
            return logical.lower()[:40]
        if kind == "AWS::IAM::Role":
            return f"role-{logical.lower()}"[:64]
        return f"ref-{logical.lower()}"

    def get_att(self, logical: str, attribute: str, kind: str | None) -> str:
        if kind == "AWS::IAM::Role" and attribute == "Arn":
            return f"arn:aws:iam::{ACCOUNT}:role/{self.ref(logical, kind)}"
        if kind == "AWS::S3::Bucket" and attribute == "Arn":
            return f"arn:aws:s3:::{self.ref(logical, kind)}"
        if kind == "AWS::Lambda::Function" and attribute == "Arn":
            return f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{logical}"
        return f"{logical}.{attribute}"

    def other(self, function: str, argument: Any) -> Any:
        """An intrinsic function this module does not evaluate: None keeps it as it is."""
        return None


class DeployedNames(Names):
    """The values a deployed stack gives them, as long as CloudFormation makes them: generated
    names are "<stack>-<logical id>-<12 random characters>", cut to each kind's limit (what IAM
    counts when it measures a policy)."""

    RANDOM_SUFFIX = "-ABCDEFGHIJKL"

    def __init__(self, stack_name: str) -> None:
        self.stack_name = stack_name
        self.pseudo = {
            **PSEUDO,
            "AWS::StackName": stack_name,
            "AWS::StackId": f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/{stack_name}/" + "0" * 36,
        }

    def generated(self, logical: str, limit: int, *, lower: bool = False) -> str:
        name = f"{self.stack_name}-{logical}"[: limit - len(self.RANDOM_SUFFIX)] + self.RANDOM_SUFFIX
        return name.lower() if lower else name

    def ref(self, logical: str, kind: str | None) -> str:
        if kind == "AWS::S3::Bucket":
            return self.generated(logical, 63, lower=True)
        if kind == "AWS::StepFunctions::StateMachine":
            return f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:{self.generated(logical, 80)}"
        if kind == "AWS::Logs::LogGroup":
            return self.generated(logical, 512)
        return self.generated(logical, 64)

    def get_att(self, logical: str, attribute: str, kind: str | None) -> str:
        name = self.ref(logical, kind)
        if attribute == "Arn":
            arns = {
                "AWS::IAM::Role": f"arn:aws:iam::{ACCOUNT}:role/{name}",
                "AWS::S3::Bucket": f"arn:aws:s3:::{name}",
                "AWS::Lambda::Function": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}",
                "AWS::Logs::LogGroup": f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{name}:*",
                "AWS::StepFunctions::StateMachine": name,
            }
            if kind in arns:
                return arns[kind]
        return f"{name}.{attribute}"

    def other(self, function: str, argument: Any) -> Any:
        return "x" * 20  # a value of a typical length


NAMES = Names()


def resolve(value: Any, template: dict[str, Any], names: Names = NAMES) -> Any:
    resources = template.get("Resources", {})
    if isinstance(value, list):
        return [resolve(v, template, names) for v in value]
    if not isinstance(value, dict):
        return value
    if len(value) == 1:
        (key, arg), = value.items()
        if key == "Ref":
            return names.pseudo.get(arg) or names.ref(arg, _kind(arg, resources))
        if key == "Fn::GetAtt":
            logical, attribute = arg if isinstance(arg, list) else arg.split(".", 1)
            return names.get_att(logical, attribute, _kind(logical, resources))
        if key == "Fn::Join":
            separator, parts = arg
            return separator.join(str(resolve(p, template, names)) for p in parts)
        if key == "Fn::Select":
            index, items = arg
            return resolve(items, template, names)[int(index)]
        if key == "Fn::Split":
            separator, text = arg
            return str(resolve(text, template, names)).split(separator)
        if key == "Fn::Sub":
            text, variables = (arg, {}) if isinstance(arg, str) else arg

            def substitute(match: re.Match[str]) -> str:
                name = match.group(1)
                if name in variables:
                    return str(resolve(variables[name], template, names))
                if name in names.pseudo:
                    return names.pseudo[name]
                if "." in name:
                    logical, attribute = name.split(".", 1)
                    return names.get_att(logical, attribute, _kind(logical, resources))
                return names.ref(name, _kind(name, resources))

            return re.sub(r"\$\{([^!}][^}]*)\}", substitute, text).replace("${!", "${")
        if key.startswith("Fn::"):
            other = names.other(key, arg)
            if other is not None:
                return other
    return {k: resolve(v, template, names) for k, v in value.items()}


def _kind(logical: str, resources: dict[str, Any]) -> str | None:
    return resources.get(logical, {}).get("Type")  # None for a parameter


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


def dependencies(template: dict[str, Any]) -> dict[str, set[str]]:
    """Each resource's resources that CloudFormation must create first: those its Ref, Fn::GetAtt
    and Fn::Sub name, and its DependsOn."""
    resources = template["Resources"]

    graph: dict[str, set[str]] = {}
    for logical_id, resource in resources.items():
        depends_on = resource.get("DependsOn", [])
        graph[logical_id] = (named_logical_ids(resource.get("Properties", {})) & set(resources)) | set([depends_on] if isinstance(depends_on, str) else depends_on)
    return graph


def dependency_cycle(template: dict[str, Any]) -> list[str]:
    """A cycle among the resources (CloudFormation refuses the template: "Circular dependency
    between resources"), as the logical ids along it; empty when there is none."""
    graph = dependencies(template)
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str]:
        state[node] = 1
        path.append(node)
        for after in sorted(graph[node]):
            if state.get(after) == 1:
                return path[path.index(after) :] + [after]
            if after not in state and (found := visit(after)):
                return found
        path.pop()
        state[node] = 2
        return []

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return []
