"""The custom resource provider: one per stack, shared by every evaluation job in it."""

from __future__ import annotations

import weakref
from collections.abc import Mapping, Sequence
from typing import Any

from aws_cdk import CfnResource, Duration, RemovalPolicy, Stack, Token
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import custom_resources as cr
from constructs import Construct, IConstruct

from . import access, contract
from .access import Holder
from .boundary import checked, checked_construct
from .compliance import (
    ENVIRONMENT_WITHOUT_SECRETS,
    LOGS_SERVICE_ENCRYPTED,
    NO_DEAD_LETTER_QUEUE,
    NO_RESERVED_CONCURRENCY,
    NO_VPC,
    PINNED_PYTHON_RUNTIME,
    WAITER_WITHOUT_LOGS,
    WAITER_WITHOUT_XRAY,
    WildcardAcknowledgements,
    acknowledge_all,
    cfn_resources,
)
from .grants import evaluation_job_arns, grant, inline_policy
from .handler_asset import handler_code
from .inline_roles import InlineRole
from .late_properties import LateProperties
from .lint import acknowledge_role_dependencies
from .scopes import one_per_stack

# The handler answers before this (it keeps a safety margin): IAM retries (4 minutes), and after
# a Create whose outcome was lost, the calls that settle it, each allowed its worst case (87 s).
ON_EVENT_TIMEOUT = Duration.minutes(12)
# Room for three worst-case calls (get, stop or delete, get) and the answer.
IS_COMPLETE_TIMEOUT = Duration.minutes(5)
# removal=delete waits for a stopping job. The handler itself stops waiting after
# contract.WAIT_LIMIT_SECONDS (35 min), and the framework's own limit comes later still; on_event,
# that wait and one last is_complete end by 52.5 minutes, inside CloudFormation's hour.
QUERY_INTERVAL = Duration.seconds(30)
TOTAL_TIMEOUT = Duration.minutes(40)
SERVICE_TIMEOUT = str(contract.CLOUDFORMATION_TIMEOUT_SECONDS)
LOG_RETENTION = logs.RetentionDays.THREE_MONTHS
SAGEMAKER = "sagemaker.amazonaws.com"


def handler_function(
    scope: Construct, construct_id: str, *, handler: str, role: iam.IRole, timeout: Duration, log_group: logs.ILogGroup, description: str
) -> lambda_.Function:
    """A function of the handler asset (one entry point of `index`), on the runtime it is tested on."""
    return lambda_.Function(
        scope,
        construct_id,
        runtime=lambda_.Runtime.PYTHON_3_13,
        architecture=lambda_.Architecture.ARM_64,
        code=handler_code(),
        handler=handler,
        role=role,
        memory_size=256,
        timeout=timeout,
        log_group=log_group,
        description=description,
    )


_DEFAULT_POLICIES: weakref.WeakKeyDictionary[iam.IRole, IConstruct] = weakref.WeakKeyDictionary()


class EvaluationJobProvider(Construct):
    """The handler functions, their role and the CDK Provider framework."""

    CONSTRUCT_ID = "BedrockEvaluationJobProvider"

    @classmethod
    @checked
    def of(cls, scope: Construct) -> EvaluationJobProvider:
        return one_per_stack(scope, cls.CONSTRUCT_ID, cls, lambda stack: cls(stack, cls.CONSTRUCT_ID))

    @checked_construct
    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        acknowledgements = WildcardAcknowledgements.of(self)
        # Not "HandlerRole", the id of the role that held these statements in a DefaultPolicy: on an
        # upgrade, that role would take the inline policy while its DefaultPolicy is deleted only at
        # cleanup, both together over IAM's inline size for a stack of many jobs. A new role instead
        # (the old one, its DefaultPolicy and PassRoles<n> deleted at cleanup).
        self.role = InlineRole(
            self,
            "JobHandlerRole",
            description="Creates, stops and deletes the stack's Bedrock evaluation jobs",
            policy_name=access.HANDLER_POLICY_NAME,
            remedy="put some of the jobs in another stack",
            users="resources the handler serves",
            # A served resource waits for the policies that hold the statements it needs.
            waits_on_role=True,
            takes_added=False,  # what you add to it stays apart from ours, in its DefaultPolicy
        )
        acknowledgements.watch(self.role, Holder.HANDLER_ROLE)
        grant(self.role, access.JOB_MANAGE, [evaluation_job_arns(stack)])
        grant(self.role, access.JOB_TAGS, [evaluation_job_arns(stack)])
        # List actions authorize on no resource; CreateEvaluationJob is reported refused on anything
        # narrower (access.JOB_CREATE). What a job may use is its service role's, the only role passed.
        grant(self.role, access.JOB_LIST, ["*"])
        grant(self.role, access.JOB_CREATE, ["*"])
        log_group = self._log_group("HandlerLogs")
        grant(self.role, access.HANDLER_LOGS, [log_group.log_group_arn])

        self.on_event = handler_function(
            self,
            "OnEvent",
            handler="index.on_event",
            role=self.role,
            timeout=ON_EVENT_TIMEOUT,
            log_group=log_group,
            description="Bedrock evaluation jobs: create, replace, stop, delete",
        )
        self.is_complete = handler_function(
            self,
            "IsComplete",
            handler="index.is_complete",
            role=self.role,
            timeout=IS_COMPLETE_TIMEOUT,
            log_group=log_group,
            description="Bedrock evaluation jobs: waits for a stopped job before deleting it",
        )
        handlers = cfn_resources(self, "AWS::Lambda::Function")
        acknowledge_all(handlers, PINNED_PYTHON_RUNTIME)
        handler_paths = {h.node.path for h in handlers}

        # The framework's functions run with roles of ours: CDK's own would carry the AWS managed
        # AWSLambdaBasicExecutionRole (logs:* on every log group) where writing to the provider's
        # log group is enough. Two roles, as CDK makes them: with one, the onEvent role's right to
        # start the waiter and the waiter's right to invoke isComplete would be a dependency cycle.
        # One log group, and no DefaultPolicy on the provider's roles, keep the fixed part of a
        # stack small (CloudFormation's 500 resources are for the jobs).
        framework_roles = []
        for role_id, description in (
            ("FrameworkOnEventRole", "CDK Provider framework: relays CloudFormation events to the evaluation job handler"),
            ("FrameworkWaiterRole", "CDK Provider framework: polls the evaluation job handler until a job can be deleted"),
        ):
            role = InlineRole(
                self,
                role_id,
                description=description,
                policy_name=access.FRAMEWORK_POLICY_NAME,
                remedy="report this: the framework's statements do not depend on the jobs",
                users="resources",
                waits_on_role=False,
                takes_added=True,  # the framework's invoke and start rights (the access table's by_cdk rows)
            )
            acknowledgements.watch(role, Holder.FRAMEWORK_ROLES)
            grant(role, access.FRAMEWORK_LOGS, [log_group.log_group_arn])
            framework_roles.append(role)
        self.provider = cr.Provider(
            self,
            "Provider",
            on_event_handler=self.on_event,
            is_complete_handler=self.is_complete,
            query_interval=QUERY_INTERVAL,
            total_timeout=TOTAL_TIMEOUT,
            log_group=log_group,
            framework_on_event_role=framework_roles[0],
            framework_complete_and_timeout_role=framework_roles[1],
            # Logging the waiter would give its role CloudWatch Logs delivery actions on "*",
            # logs:PutResourcePolicy among them (see compliance.WAITER_WITHOUT_LOGS).
            disable_waiter_state_machine_logging=True,
        )
        waiter = self.provider.node.find_child("waiter-state-machine")
        acknowledgements.watch(waiter.node.find_child("Role"), Holder.WAITER_ROLE)
        state_machines = cfn_resources(waiter, "AWS::StepFunctions::StateMachine")
        acknowledge_all(state_machines, WAITER_WITHOUT_LOGS)
        acknowledge_all(state_machines, WAITER_WITHOUT_XRAY)
        functions = cfn_resources(self, "AWS::Lambda::Function")
        acknowledge_all(functions, NO_DEAD_LETTER_QUEUE)
        acknowledge_all(functions, NO_VPC)
        acknowledge_all(functions, NO_RESERVED_CONCURRENCY)
        acknowledge_all([f for f in functions if f.node.path not in handler_paths], ENVIRONMENT_WITHOUT_SECRETS)
        acknowledge_all(cfn_resources(self, "AWS::Logs::LogGroup"), LOGS_SERVICE_ENCRYPTED)
        acknowledge_role_dependencies(self)

    def _log_group(self, construct_id: str) -> logs.LogGroup:
        return logs.LogGroup(self, construct_id, retention=LOG_RETENTION, removal_policy=RemovalPolicy.DESTROY)

    @property
    def service_token(self) -> str:
        if not hasattr(self, "_service_token"):
            self._service_token: str = self.provider.service_token
        return self._service_token

    def resource(
        self, scope: Construct, resource_type: str, properties: Mapping[str, Any], *, after: Sequence[iam.IRole] = ()
    ) -> CfnResource:
        """A custom resource this provider serves, as `scope`'s "Resource": created, and so first
        handled, only once the policies of the roles in `after` exist (IAM is checked on use).

        It is the CloudFormation resource itself (one jsii call; CDK's CustomResource wraps the same
        resource in a construct of its own). With no DeletionPolicy or UpdateReplacePolicy written,
        CloudFormation deletes it on removal and replacement, as the handler expects."""
        resource = CfnResource(
            scope, "Resource", type=resource_type, properties={"ServiceToken": self.service_token, "ServiceTimeout": SERVICE_TIMEOUT, **properties}
        )
        for role in after:
            if role is self.role:
                # The resource waits for the policies of the handler's role (those a job needs are given by the job).
                LateProperties.of(self).runs_as(resource, role, None)
                continue
            if inline_policy(role) is not None:
                continue  # a role of ours: LateProperties makes its jobs wait for the policies that hold their statements
            policy = _DEFAULT_POLICIES.get(role) or role.node.try_find_child("DefaultPolicy")
            if policy is not None:
                _DEFAULT_POLICIES[role] = policy  # a role's DefaultPolicy, once made, stays
                resource.node.add_dependency(policy)
        return resource

    def allow_ingestion(self, knowledge_base_arn: str) -> None:
        """Start and follow ingestion jobs of one knowledge base."""
        grant(self.role, access.INGESTION, [knowledge_base_arn])

    def allow_flow_definitions(self, name_prefix: str, role: iam.IRole) -> None:
        """Create, follow and delete the flow definitions named prefix + digest, passing their role to SageMaker."""
        arns = Stack.of(self).format_arn(service="sagemaker", resource="flow-definition", resource_name=f"{name_prefix}-*")
        grant(self.role, access.FLOW_DEFINITION_MANAGE, [arns])
        grant(self.role, access.PASS_FLOW_ROLE, [role.role_arn], {"StringEquals": {"iam:PassedToService": SAGEMAKER}})


def attribute_of(resource: CfnResource, name: str) -> str:
    """An attribute the handler answers for a custom resource (`Fn::GetAtt`), as a string token."""
    return Token.as_string(resource.get_att(name))
