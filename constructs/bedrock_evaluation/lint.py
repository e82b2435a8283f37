"""Per-resource acknowledgements of linter findings, each with the reason it is acceptable."""

from __future__ import annotations

from aws_cdk import CfnResource
from constructs import Construct

REASONS_KEY = "bedrock-evaluation:acknowledged"

ROLE_DEPENDENCY = (
    "W3005",
    "CDK makes each function and state machine depend on its role so that the role's policy "
    "exists before first use; the reference to the role alone would not wait for the policy",
)


def acknowledge(resource: CfnResource, rule: tuple[str, str]) -> None:
    rule_id, reason = rule
    config = resource.get_metadata("cfn-lint") or {"config": {"ignore_checks": []}}
    checks = config["config"]["ignore_checks"]
    if rule_id not in checks:
        checks.append(rule_id)
    resource.add_metadata("cfn-lint", config)
    reasons = resource.get_metadata(REASONS_KEY) or {}
    reasons[rule_id] = reason
    resource.add_metadata(REASONS_KEY, reasons)


def acknowledge_role_dependencies(scope: Construct) -> None:
    """W3005 on every function and state machine CDK created under scope."""
    for child in scope.node.find_all():
        if isinstance(child, CfnResource) and child.cfn_resource_type in (
            "AWS::Lambda::Function",
            "AWS::StepFunctions::StateMachine",
        ):
            acknowledge(child, ROLE_DEPENDENCY)
