"""The custom resource provider: one per stack, shared by every evaluation job in it."""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import custom_resources as cr
from constructs import Construct

from .handler_asset import handler_code
from .lint import acknowledge_role_dependencies
from .permissions import BEDROCK, evaluation_job_arns

# The handler answers before this (it keeps a safety margin); IAM retries fit inside it.
ON_EVENT_TIMEOUT = Duration.minutes(7)
IS_COMPLETE_TIMEOUT = Duration.minutes(3)
# removal=delete waits for a stopping job; the framework gives up before CloudFormation's
# own one-hour limit (ServiceTimeout), so the stack always gets an answer from us.
QUERY_INTERVAL = Duration.seconds(30)
TOTAL_TIMEOUT = Duration.minutes(55)
SERVICE_TIMEOUT = Duration.hours(1)

JOB_ACTIONS = [
    "bedrock:GetEvaluationJob",
    "bedrock:StopEvaluationJob",
    "bedrock:BatchDeleteEvaluationJob",
    "bedrock:TagResource",
]


class EvaluationJobProvider(Construct):
    """The handler functions, their role and the CDK Provider framework."""

    CONSTRUCT_ID = "BedrockEvaluationJobProvider"

    @classmethod
    def of(cls, scope: Construct) -> EvaluationJobProvider:
        stack = Stack.of(scope)
        existing = stack.node.try_find_child(cls.CONSTRUCT_ID)
        return existing if isinstance(existing, EvaluationJobProvider) else cls(stack, cls.CONSTRUCT_ID)

    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        self.role = iam.Role(
            self,
            "HandlerRole",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description="Creates, stops and deletes the stack's Bedrock evaluation jobs",
        )
        self.role.add_to_principal_policy(
            iam.PolicyStatement(actions=JOB_ACTIONS, resources=[evaluation_job_arns(stack)])
        )
        # CreateEvaluationJob is authorized on the models a job uses (added per job) and on the job.
        self.role.add_to_principal_policy(
            iam.PolicyStatement(actions=["bedrock:CreateEvaluationJob"], resources=[evaluation_job_arns(stack)])
        )
        # List actions authorize on no resource: "*" is the only form IAM accepts.
        self.role.add_to_principal_policy(iam.PolicyStatement(actions=["bedrock:ListEvaluationJobs"], resources=["*"]))
        log_group = logs.LogGroup(
            self, "HandlerLogs", retention=logs.RetentionDays.THREE_MONTHS, removal_policy=RemovalPolicy.DESTROY
        )
        log_group.grant_write(self.role)

        code = handler_code()
        common = {
            "runtime": lambda_.Runtime.PYTHON_3_13,
            "architecture": lambda_.Architecture.ARM_64,
            "code": code,
            "role": self.role,
            "memory_size": 256,
            "log_group": log_group,
        }
        self.on_event = lambda_.Function(
            self,
            "OnEvent",
            handler="index.on_event",
            timeout=ON_EVENT_TIMEOUT,
            description="Bedrock evaluation jobs: create, replace, stop, delete",
            **common,
        )
        self.is_complete = lambda_.Function(
            self,
            "IsComplete",
            handler="index.is_complete",
            timeout=IS_COMPLETE_TIMEOUT,
            description="Bedrock evaluation jobs: waits for a stopped job before deleting it",
            **common,
        )
        self.provider = cr.Provider(
            self,
            "Provider",
            on_event_handler=self.on_event,
            is_complete_handler=self.is_complete,
            query_interval=QUERY_INTERVAL,
            total_timeout=TOTAL_TIMEOUT,
            log_group=logs.LogGroup(
                self, "FrameworkLogs", retention=logs.RetentionDays.THREE_MONTHS, removal_policy=RemovalPolicy.DESTROY
            ),
        )
        acknowledge_role_dependencies(self)

    @property
    def service_token(self) -> str:
        return self.provider.service_token

    def allow_create_with(self, model_arns: list[str]) -> None:
        """CreateEvaluationJob on the models a job evaluates or judges with."""
        if model_arns:
            self.role.add_to_principal_policy(
                iam.PolicyStatement(actions=["bedrock:CreateEvaluationJob"], resources=model_arns)
            )

    def allow_pass(self, service_role: iam.IRole) -> None:
        """PassRole on one job's service role, and only to Bedrock."""
        self.role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["iam:PassRole"],
                resources=[service_role.role_arn],
                conditions={"StringEquals": {"iam:PassedToService": BEDROCK}},
            )
        )

    def allow_ingestion(self, knowledge_base_arn: str) -> None:
        """Start and follow ingestion jobs of one knowledge base."""
        self.role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["bedrock:StartIngestionJob", "bedrock:GetIngestionJob"], resources=[knowledge_base_arn]
            )
        )
