"""Roles of the provider whose statements are written into the role itself.

CDK puts what is added to a role (``add_to_principal_policy``, the grants CDK makes) into a
DefaultPolicy: one more ``AWS::IAM::Policy`` resource per role. The provider's three roles take
our grants, and the framework roles also CDK's, as plain data instead, and the stack's
``LateProperties`` writes them into the role's inline policy (then managed policies of the role,
if they outgrow it): three resources fewer in every stack, which CloudFormation's 500 leave to
the jobs.
"""

from __future__ import annotations

from typing import Any

from aws_cdk import aws_iam as iam
from constructs import Construct

from .late_properties import LateProperties
from .policies import ALL_INLINE_CHARS, InlinePolicy, Statement

# The statement fields a plain Allow statement has; one with any other (a Sid, a principal, a
# NotAction) keeps CDK's DefaultPolicy.
_PLAIN = frozenset({"Action", "Effect", "Resource", "Condition"})


class InlineRole(iam.Role):
    """A role assumed by Lambda whose statements from our grants go into ``granted_policy`` (read
    by ``grants.inline_policy``), written by the stack's LateProperties.

    takes_added: whether statements added to the role (CDK's grants) join them too. A role others
    may add statements to keeps those in its DefaultPolicy instead, where the checkers see them
    apart from ours (our acknowledgements are per resource)."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        description: str,
        policy_name: str,
        remedy: str,
        users: str,
        waits_on_role: bool,
        takes_added: bool,
    ) -> None:
        super().__init__(scope, construct_id, assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"), description=description)
        self.takes_added = takes_added
        self.granted_policy = InlinePolicy(inline_chars=ALL_INLINE_CHARS)
        LateProperties.of(self).inline_policy(
            self,
            policy_name,
            self.granted_policy,
            remedy=remedy,
            users=users,
            waits_on_role=waits_on_role,
            managed_description="Statements of this role not in its inline policy",
        )

    def add_to_principal_policy(self, statement: iam.PolicyStatement) -> iam.AddToPrincipalPolicyResult:
        """CDK's grants (the Provider framework's invoke and start rights) join ours."""
        plain = plain_statement(statement.to_statement_json()) if self.takes_added else None
        if plain is None:
            return super().add_to_principal_policy(statement)
        self.granted_policy.add(plain)
        return iam.AddToPrincipalPolicyResult(statement_added=True, policy_dependable=self)


def plain_statement(written: Any) -> Statement | None:
    """An Allow statement of actions on resources, under conditions, as CDK writes it; None for any other."""
    if not isinstance(written, dict) or set(written) - _PLAIN or written.get("Effect") != "Allow":
        return None
    actions, resources = written.get("Action"), written.get("Resource")
    if actions is None or resources is None:
        return None
    return Statement(_as_tuple(actions), _as_tuple(resources), written.get("Condition"))


def _as_tuple(value: Any) -> tuple[str, ...]:
    return tuple(value) if isinstance(value, list) else (value,)
