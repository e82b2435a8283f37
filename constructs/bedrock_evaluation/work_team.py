"""The people who rate a human evaluation: a private SageMaker work team.

What must already exist in the account and region, because it exists once per account and region
and CloudFormation cannot make it from a template alone: a **private workforce** (SageMaker AI
console, Ground Truth > Labeling workforces > Private), which is backed by one Cognito user pool and
app client. A work team is one Cognito user group of that pool; its members sign in to the
workforce's labeling portal and see the evaluation tasks. `EvaluationWorkTeam` makes the team
(`AWS::SageMaker::Workteam`) from the workforce's pool, app client and a group; a team made
elsewhere is given to `HumanFlowDefinition` by its ARN.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from constructs import Construct

from . import naming
from .boundary import checked_construct
from .errors import NOT_GIVEN, EvaluationJobConfigError, Violation
from .lazy_modules import DeferredModule
from .tokens import is_unresolved

if TYPE_CHECKING:
    from aws_cdk import aws_cognito as cognito
    from aws_cdk import aws_sagemaker as sagemaker
else:
    cognito = DeferredModule("aws_cdk.aws_cognito")
    sagemaker = DeferredModule("aws_cdk.aws_sagemaker")

# AWS::SageMaker::Workteam WorkteamName (CreateWorkteam in botocore's sagemaker model): at most 63
# characters of this pattern.
WORK_TEAM_NAME = re.compile(r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}")
WORKFORCE_NEEDED = (
    "the account's private workforce (SageMaker AI > Ground Truth > Labeling workforces > Private) must already "
    "use this Cognito user pool and app client; a work team is one user group of it"
)


class EvaluationWorkTeam(Construct):
    """A private work team: the members of one Cognito user group of the private workforce.

    The private workforce itself (one per account and region, with its Cognito user pool and app
    client) must already exist: SageMaker refuses a work team whose pool and client are not the
    workforce's. Pass the workforce's pool and client (``UserPool.from_user_pool_id``,
    ``UserPoolClient.from_user_pool_client_id``) and the group whose members rate.
    """

    @checked_construct
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        user_pool: cognito.IUserPool | None = None,
        user_pool_client: cognito.IUserPoolClient | None = None,
        user_group: str | None = None,
        description: str | None = None,
        work_team_name: str | None = None,
    ) -> None:
        """
        :param user_pool: the private workforce's Cognito user pool. Required.
        :param user_pool_client: the private workforce's app client of that pool. Required.
        :param user_group: the Cognito group (of that pool) whose members are the team. Required.
        :param description: shown to the team's workers. @default - "Workers who rate Amazon Bedrock evaluations"
        :param work_team_name: @default - derived from the construct path
        """
        super().__init__(scope, construct_id)
        problems = [
            Violation(name, NOT_GIVEN, f"is required: {WORKFORCE_NEEDED}")
            for name, value in (("user_pool", user_pool), ("user_pool_client", user_pool_client), ("user_group", user_group))
            if value is None
        ]
        name = work_team_name or naming.default_name_prefix(self.node.path)
        if not is_unresolved(name) and not WORK_TEAM_NAME.fullmatch(name):
            problems.append(Violation("work_team_name", name, f"must match {WORK_TEAM_NAME.pattern}"))
        if problems:
            raise EvaluationJobConfigError(self.node.path, problems)
        assert user_pool is not None and user_pool_client is not None and user_group is not None
        self.resource = sagemaker.CfnWorkteam(
            self,
            "Resource",
            workteam_name=name,
            description=description or "Workers who rate Amazon Bedrock evaluations",
            member_definitions=[
                sagemaker.CfnWorkteam.MemberDefinitionProperty(
                    cognito_member_definition=sagemaker.CfnWorkteam.CognitoMemberDefinitionProperty(
                        cognito_user_pool=user_pool.user_pool_id,
                        cognito_client_id=user_pool_client.user_pool_client_id,
                        cognito_user_group=user_group,
                    )
                )
            ],
        )

    @property
    def work_team_arn(self) -> str:
        """The work team's ARN (a token), for the flow definition."""
        return self.resource.attr_workteam_arn
