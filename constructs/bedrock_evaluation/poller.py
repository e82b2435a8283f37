"""The poller of long waits: one Step Functions state machine per stack, made only when a job waits
longer than a custom resource may (`JobWait` over 35 minutes).

Each waited job version starts one execution (its watch resource does). The execution calls the
`Poll` function, which asks Bedrock for the job's status and, once the job has ended (or the wait's
deadline passed), signals the job's wait condition with the outcome; between polls the state
machine waits. Step Functions keeps the loop's state for the hours a job takes without a function
running, and retries a failed poll with backoff, so a passing fault is never fatal.
"""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from . import access
from .access import Holder
from .boundary import checked, checked_construct
from .compliance import (
    LOGS_SERVICE_ENCRYPTED,
    NO_DEAD_LETTER_QUEUE,
    NO_RESERVED_CONCURRENCY,
    NO_VPC,
    PINNED_PYTHON_RUNTIME,
    POLLER_WITHOUT_LOGS,
    POLLER_WITHOUT_XRAY,
    WildcardAcknowledgements,
    acknowledge_all,
    cfn_resources,
)
from .grants import evaluation_job_arns, grant
from .lint import acknowledge_role_dependencies
from .provider import IS_COMPLETE_TIMEOUT, LOG_RETENTION, handler_function

# One GetEvaluationJob (botocore retries included, 87 s at worst) after the handler's safety margin
# (95 s), and one signal (20 s): the same room IsComplete has.
POLL_TIMEOUT = IS_COMPLETE_TIMEOUT
# A poll that fails (the function timed out, or Bedrock kept refusing) is tried again, at most a
# minute apart, so that a poll past the deadline still signals well inside the wait condition's
# 5 minutes of margin; together the retries outlast a passing outage.
POLL_RETRY_INTERVAL = Duration.seconds(20)
POLL_RETRY_ATTEMPTS = 30
POLL_RETRY_MAX_DELAY = Duration.minutes(1)


class EvaluationJobPoller(Construct):
    """The stack's poller state machine and its `Poll` function."""

    CONSTRUCT_ID = "BedrockEvaluationJobPoller"

    @classmethod
    @checked
    def of(cls, scope: Construct) -> EvaluationJobPoller:
        stack = Stack.of(scope)
        existing = stack.node.try_find_child(cls.CONSTRUCT_ID)
        return existing if isinstance(existing, EvaluationJobPoller) else cls(stack, cls.CONSTRUCT_ID)

    @checked_construct
    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        acknowledgements = WildcardAcknowledgements.of(self)
        role = iam.Role(
            self,
            "PollRole",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description="Reads the status of the stack's long-waited Bedrock evaluation jobs",
        )
        acknowledgements.watch(role, Holder.POLLER_ROLE)
        grant(role, access.POLL_JOBS, [evaluation_job_arns(stack)])
        log_group = logs.LogGroup(self, "PollerLogs", retention=LOG_RETENTION, removal_policy=RemovalPolicy.DESTROY)
        grant(role, access.POLLER_LOGS, [log_group.log_group_arn])
        self.function = handler_function(
            self,
            "Poll",
            handler="index.poll",
            role=role,
            timeout=POLL_TIMEOUT,
            log_group=log_group,
            description="Bedrock evaluation jobs: signals a job's wait condition once the job has ended",
        )
        poll = tasks.LambdaInvoke(
            self,
            "PollJob",
            lambda_function=self.function,
            payload_response_only=True,
            retry_on_service_exceptions=False,
        )
        poll.add_retry(
            errors=["States.ALL"],
            interval=POLL_RETRY_INTERVAL,
            max_attempts=POLL_RETRY_ATTEMPTS,
            backoff_rate=2,
            max_delay=POLL_RETRY_MAX_DELAY,
        )
        wait = sfn.Wait(self, "WaitBetweenPolls", time=sfn.WaitTime.seconds_path("$.nextWait"))
        ended = sfn.Choice(self, "Ended").when(sfn.Condition.boolean_equals("$.done", True), sfn.Succeed(self, "Signalled"))
        ended.otherwise(wait)
        wait.next(poll)
        self.state_machine = sfn.StateMachine(
            self,
            "StateMachine",
            definition_body=sfn.DefinitionBody.from_chainable(poll.next(ended)),
            comment="Polls a Bedrock evaluation job until it ends, then signals its wait condition",
        )
        acknowledgements.watch(self.state_machine.role, Holder.POLLER_ROLE)
        machines = cfn_resources(self, "AWS::StepFunctions::StateMachine")
        acknowledge_all(machines, POLLER_WITHOUT_LOGS)
        acknowledge_all(machines, POLLER_WITHOUT_XRAY)
        functions = cfn_resources(self, "AWS::Lambda::Function")
        acknowledge_all(functions, PINNED_PYTHON_RUNTIME)
        acknowledge_all(functions, NO_DEAD_LETTER_QUEUE)
        acknowledge_all(functions, NO_VPC)
        acknowledge_all(functions, NO_RESERVED_CONCURRENCY)
        acknowledge_all(cfn_resources(self, "AWS::Logs::LogGroup"), LOGS_SERVICE_ENCRYPTED)
        acknowledge_role_dependencies(self)

    def allow_start(self, role: iam.IRole) -> None:
        """The handler starts one execution per waited job version."""
        grant(role, access.START_POLLER, [self.state_machine.state_machine_arn])
