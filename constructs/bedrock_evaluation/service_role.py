"""The role Bedrock runs evaluation jobs as (what it may touch: see access.py and grants.py)."""

from __future__ import annotations

import weakref

from aws_cdk import Fn, Stack
from aws_cdk import aws_iam as iam
from constructs import Construct

from .access import JOB_POLICY_NAME
from .boundary import checked_construct
from .grants import BEDROCK, evaluation_job_arns
from .late_properties import LateProperties
from .policies import InlinePolicy, Substitutions, declare_longest, role_arn_chars
from .scopes import adopt, role_arn_of, stack_of

_PRINCIPALS: weakref.WeakKeyDictionary[Stack, iam.IPrincipal] = weakref.WeakKeyDictionary()


def _bedrock_evaluation_jobs(stack: Stack) -> iam.IPrincipal:
    """Bedrock, only for evaluation jobs of this account and region: made once per stack (a role
    renders its trust policy from the principal, which it does not change)."""
    principal = _PRINCIPALS.get(stack)
    if principal is None:
        principal = _PRINCIPALS[stack] = iam.ServicePrincipal(BEDROCK).with_conditions(
            {
                "StringEquals": {"aws:SourceAccount": stack.account},
                "ArnEquals": {"aws:SourceArn": _as_sub(stack, evaluation_job_arns(stack))},
            }
        )
    return principal


def _as_sub(stack: Stack, value: str) -> str:
    """The value as one Fn::Sub (fewer template bytes than CDK's Fn::Join, in every job's role)."""
    compact = Substitutions.of(stack).compact(value, stack=stack)
    return value if isinstance(compact, str) else Fn.sub(compact["Fn::Sub"])


class EvaluationServiceRole(iam.Role):
    """A role only Bedrock evaluation jobs of this account and region can assume.

    Each EvaluationJob creates one unless given ``role=``; pass one of these to several jobs to
    share it (each job adds its own grants), which keeps large suites within CloudFormation's
    500 resources. What our constructs grant it is written once every grant is in place: its
    inline policy while that fits, then customer managed policies of its own (``Policy2``, ...),
    each within IAM's size; statements others add go to its DefaultPolicy as usual.
    """

    for_one_job = False
    has_default_policy = False
    """Whether statements were added to the role's DefaultPolicy (add_to_principal_policy, grants)."""
    """A role shared by jobs holds the statements they all need itself; a job's own role attaches
    the stack's managed policy that holds them once (``policies.SharedStatements``)."""

    @checked_construct
    def __init__(self, scope: Construct, construct_id: str, *, description: str | None = None) -> None:
        """
        :param description: the role's description. @default - "Service role of Bedrock evaluation jobs"
        """
        stack = stack_of(scope)
        super().__init__(scope, construct_id, assumed_by=_bedrock_evaluation_jobs(stack), description=description or "Service role of Bedrock evaluation jobs")
        adopt(self, scope, construct_id)
        declare_longest(stack, role_arn_of(self), role_arn_chars())  # no path: the ARN is at most this long
        # What our grants give the role (grants.inline_policy), written by the stack's LateProperties.
        self.granted_policy = InlinePolicy()
        LateProperties.of(stack).inline_policy(self, JOB_POLICY_NAME, self.granted_policy, remedy="give some of the jobs another EvaluationServiceRole")

    def add_to_principal_policy(self, statement: iam.PolicyStatement) -> iam.AddToPrincipalPolicyResult:
        """Statements others add go to the role's DefaultPolicy, which its jobs then wait for."""
        self.has_default_policy = True
        return super().add_to_principal_policy(statement)


class JobServiceRole(EvaluationServiceRole):
    """The role a job creates for itself."""

    for_one_job = True
