"""cfn-lint acknowledgements: written by compliance.py, with the other checkers', from one table."""

from __future__ import annotations

from constructs import Construct

from .compliance import REASONS_KEY, ROLE_DEPENDENCY, acknowledge_all, cfn_resources

__all__ = ["REASONS_KEY", "acknowledge_role_dependencies"]


def acknowledge_role_dependencies(scope: Construct) -> None:
    """W3005 on every function and state machine CDK created under scope."""
    acknowledge_all(cfn_resources(scope, "AWS::Lambda::Function", "AWS::StepFunctions::StateMachine"), ROLE_DEPENDENCY)
