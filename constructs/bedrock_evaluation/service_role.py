"""The role Bedrock runs evaluation jobs as (what it may touch: see access.py and grants.py)."""

from __future__ import annotations

from aws_cdk import Stack
from aws_cdk import aws_iam as iam
from constructs import Construct

from .boundary import checked_construct
from .grants import BEDROCK, evaluation_job_arns


class EvaluationServiceRole(iam.Role):
    """A role only Bedrock evaluation jobs of this account and region can assume.

    Each EvaluationJob creates one unless given ``role=``; pass one of these to several jobs to
    share it (each job adds its own grants), which keeps large suites within IAM's policy limits.
    """

    @checked_construct
    def __init__(self, scope: Construct, construct_id: str, *, description: str | None = None) -> None:
        """
        :param description: the role's description. @default - "Service role of Bedrock evaluation jobs"
        """
        stack = Stack.of(scope)
        principal = iam.ServicePrincipal(BEDROCK).with_conditions(
            {
                "StringEquals": {"aws:SourceAccount": stack.account},
                "ArnEquals": {"aws:SourceArn": evaluation_job_arns(stack)},
            }
        )
        super().__init__(
            scope,
            construct_id,
            assumed_by=principal,
            description=description or "Service role of Bedrock evaluation jobs",
        )
