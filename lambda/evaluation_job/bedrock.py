"""The one seam between the handler and Amazon Bedrock.

Tests replace the client (botocore Stubber, or an endpoint_url pointing at an emulator);
everything else in the handler talks to `EvaluationJobs`, `IngestionJobs` and `FlowDefinitions`, and tells one
failed call from another with the functions here.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Iterator, Mapping
from functools import cache
from pathlib import Path
from typing import Any

# The asset carries the Bedrock service model of the project's pinned botocore, so the handler
# does not depend on the Lambda runtime's boto3 knowing the newest request fields.
_BUNDLED_MODELS = Path(__file__).resolve().parent / "data"
if _BUNDLED_MODELS.is_dir():
    os.environ.setdefault("AWS_DATA_PATH", str(_BUNDLED_MODELS))

# AWS_DATA_PATH must be set before botocore loads a model. boto3 and botocore ship no type
# information: this module is where the handler meets them, so their types stop here.
import boto3  # noqa: E402
import botocore.exceptions  # noqa: E402
import botocore.session  # noqa: E402
from botocore.config import Config  # noqa: E402

ClientError: type[Exception] = botocore.exceptions.ClientError
"""The service answered with an error."""
CALL_ERRORS: tuple[type[Exception], ...] = (ClientError, botocore.exceptions.BotoCoreError)
"""Any failed call: the service's answers and botocore's own (connection, credentials, timeouts)."""
# A truncated body (IncompleteReadError, reading a result file) passes as a dropped connection does.
_PASSING_CALL_ERRORS = (
    botocore.exceptions.ConnectionError,
    botocore.exceptions.HTTPClientError,
    botocore.exceptions.IncompleteReadError,
)

JOB_ARN = re.compile(r"arn:aws(-[^:]+)?:bedrock:(?P<region>[a-z0-9-]{1,20}):(?P<account>[0-9]{12}):evaluation-job/[a-z0-9]{12}")

# Throttling and 5xx are retried by botocore's standard mode (exponential backoff with jitter).
CLIENT_CONFIG = Config(
    retries={"mode": "standard", "max_attempts": 3},
    connect_timeout=5,
    read_timeout=15,
    user_agent_extra="bedrock-evaluation-cdk",
)


def worst_call_seconds(config: Config) -> float:
    """The longest one call can take under `config`: every attempt waits its full connect and read
    timeouts, and botocore's standard mode waits its longest backoff before each retry
    (min(20 s, 2^(n-1) s) before retry n, botocore.retries.standard.ExponentialBackoff)."""
    settings = config.retries or {}
    # botocore's max_attempts counts retries; making a client rewrites it to total_max_attempts.
    # Without either, botocore's legacy default: 4 retries.
    attempts = int(settings.get("total_max_attempts", int(settings.get("max_attempts", 4)) + 1))
    retries = attempts - 1
    backoffs = sum(min(_MAX_BACKOFF_SECONDS, 2.0 ** (n - 1)) for n in range(1, retries + 1))
    return attempts * (float(config.connect_timeout) + float(config.read_timeout)) + backoffs


_MAX_BACKOFF_SECONDS = 20.0
WORST_CALL_SECONDS = worst_call_seconds(CLIENT_CONFIG)
"""4 attempts x (5 s + 15 s) + 1 + 2 + 4 s of backoff = 87 s: no call is started unless this much is left."""


class OutOfTime(Exception):
    """A call was not started: it might not have ended before the handler must answer."""


FAILED_OR_NOT_STARTED: tuple[type[Exception], ...] = (*CALL_ERRORS, OutOfTime)
"""A call that failed, or was not started for lack of time."""


# Messages that mean "the role or its permissions are not usable yet" (IAM is eventually
# consistent: a role created seconds ago may not be assumable, its policy not yet attached).
_NOT_READY = re.compile(
    r"\bassume\b|not authorized to perform: iam:PassRole|does not have permission|access denied|"
    r"not valid for authorization|trust",
    re.IGNORECASE,
)
_NOT_READY_CODES = {"ValidationException", "AccessDeniedException"}
_TRANSIENT_CODES = {
    "ThrottlingException",
    "TooManyRequestsException",
    "InternalServerException",
    "ServiceUnavailableException",
    "RequestTimeout",
    "SlowDown",  # S3's throttling, while result records are read
    "InternalError",
    "ServiceUnavailable",
}
_SERVER_ERROR = 500


def error_code(error: BaseException) -> str:
    """The service's error code; empty for an error the service did not answer with."""
    return str(_answer(error).get("Error", {}).get("Code", ""))


def error_message(error: BaseException) -> str:
    """The service's own words for an error it answered with, else the error's text."""
    return str(_answer(error).get("Error", {}).get("Message", "")) or str(error)


def _answer(error: BaseException) -> dict[str, Any]:
    """What the service answered, for an error it answered with; nothing for botocore's own."""
    if not isinstance(error, ClientError):
        return {}
    response: dict[str, Any] = getattr(error, "response", {})
    return response


def is_not_ready(error: BaseException) -> bool:
    """True for the errors a freshly created role or policy produces until IAM has propagated."""
    return error_code(error) in _NOT_READY_CODES and bool(_NOT_READY.search(error_message(error)))


def is_quota_exceeded(error: BaseException) -> bool:
    """True when the account runs as many evaluation jobs as its quota allows (Create's
    ServiceQuotaExceededException: "Resubmit your request later", botocore's model)."""
    return error_code(error) == "ServiceQuotaExceededException"


def is_not_found(error: BaseException) -> bool:
    return error_code(error) == "ResourceNotFoundException"


def is_transient(error: BaseException) -> bool:
    """Errors worth trying again later (botocore has already retried them a few times)."""
    if isinstance(error, ClientError):
        status = _answer(error).get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        return error_code(error) in _TRANSIENT_CODES or status >= _SERVER_ERROR
    # Connection failures and read timeouts; not lasting ones such as missing credentials.
    return isinstance(error, _PASSING_CALL_ERRORS)


class EvaluationJobs:
    """The evaluation-job operations and the job's tags, in the terms the handler thinks in.

    `allows(seconds)` says whether that much time is left: each call (each page of a list) starts
    only if a worst-case call still fits, else raises OutOfTime, so no call outlives the Lambda.
    """

    def __init__(self, client: Any, allows: Callable[[float], bool] | None = None) -> None:
        self.client = client
        self._allows = allows
        self.worst_call = worst_call_seconds(client.meta.config)
        """The longest one call of this client can take (WORST_CALL_SECONDS for the handler's own)."""

    def within(self, allows: Callable[[float], bool]) -> EvaluationJobs:
        """The same client, making only calls that end in time."""
        return EvaluationJobs(self.client, allows)

    def _starting(self) -> None:
        if self._allows is not None and not self._allows(self.worst_call):
            raise OutOfTime(f"no time left for a call that may take {self.worst_call:.0f}s")

    def create(self, request: Mapping[str, object], *, token: str) -> str:
        self._starting()
        return str(self.client.create_evaluation_job(**request, clientRequestToken=token)["jobArn"])

    def get(self, job_arn: str) -> dict[str, object] | None:
        """The job's description, or None if the service has no such job."""
        self._starting()
        try:
            return dict(self.client.get_evaluation_job(jobIdentifier=job_arn))
        except ClientError as error:
            if is_not_found(error):
                return None
            raise

    def tags(self, job_arn: str) -> dict[str, str] | None:
        """The job's tags (GetEvaluationJob does not return them), or None if the service has no such job."""
        self._starting()
        try:
            response = self.client.list_tags_for_resource(resourceARN=job_arn)
        except ClientError as error:
            if is_not_found(error):
                return None
            raise
        return {str(t["key"]): str(t["value"]) for t in response.get("tags", [])}

    def tag(self, job_arn: str, tags: Mapping[str, str]) -> None:
        self._starting()
        self.client.tag_resource(resourceARN=job_arn, tags=[{"key": k, "value": v} for k, v in tags.items()])

    def untag(self, job_arn: str, keys: list[str]) -> None:
        self._starting()
        self.client.untag_resource(resourceARN=job_arn, tagKeys=keys)

    def find_by_name(self, name: str) -> str | None:
        """The ARN of the job with exactly this name, if there is one."""
        paginator = self.client.get_paginator("list_evaluation_jobs")
        pages = iter(paginator.paginate(nameContains=name))
        while True:
            self._starting()
            page = next(pages, None)
            if page is None:
                return None
            for summary in page.get("jobSummaries", []):
                if summary.get("jobName") == name:
                    return str(summary["jobArn"])

    def stop(self, job_arn: str) -> None:
        self._starting()
        self.client.stop_evaluation_job(jobIdentifier=job_arn)

    def delete(self, job_arn: str) -> list[dict[str, str]]:
        """Delete one terminal job; the service reports per-job problems instead of raising."""
        self._starting()
        response = self.client.batch_delete_evaluation_job(jobIdentifiers=[job_arn])
        return [dict(e) for e in response.get("errors", [])]


class IngestionJobs:
    """Knowledge-base ingestion (bedrock-agent), for knowledge bases deployed with their evaluations."""

    def __init__(self, client: Any) -> None:
        self.client = client

    def start(self, knowledge_base_id: str, data_source_id: str, *, token: str) -> str:
        response = self.client.start_ingestion_job(
            knowledgeBaseId=knowledge_base_id, dataSourceId=data_source_id, clientToken=token
        )
        return str(response["ingestionJob"]["ingestionJobId"])

    def get(self, knowledge_base_id: str, data_source_id: str, ingestion_job_id: str) -> dict[str, object]:
        response = self.client.get_ingestion_job(
            knowledgeBaseId=knowledge_base_id, dataSourceId=data_source_id, ingestionJobId=ingestion_job_id
        )
        return dict(response["ingestionJob"])


class FlowDefinitions:
    """SageMaker flow definitions (the human review workflow of human evaluation jobs)."""

    def __init__(self, client: Any) -> None:
        self.client = client

    def create(self, request: Mapping[str, object], *, name: str) -> str:
        return str(self.client.create_flow_definition(**request, FlowDefinitionName=name)["FlowDefinitionArn"])

    def describe(self, name: str) -> dict[str, object] | None:
        """The flow definition's description, or None if SageMaker has no such flow definition."""
        try:
            return dict(self.client.describe_flow_definition(FlowDefinitionName=name))
        except ClientError as error:
            if error_code(error) == "ResourceNotFound":
                return None
            raise

    def delete(self, name: str) -> None:
        self.client.delete_flow_definition(FlowDefinitionName=name)


class ResultObjects:
    """The job's result files in S3, as `bedrock_evaluation.results.ResultStore` reads them: listed
    (the service chooses their names) and read line by line. Like `EvaluationJobs`, each call (each
    page) starts only if a worst-case call still ends in time."""

    def __init__(self, client: Any, allows: Callable[[float], bool] | None = None) -> None:
        self.client = client
        self._allows = allows
        self.worst_call = worst_call_seconds(client.meta.config)

    def within(self, allows: Callable[[float], bool]) -> ResultObjects:
        return ResultObjects(self.client, allows)

    def _starting(self) -> None:
        if self._allows is not None and not self._allows(self.worst_call):
            raise OutOfTime(f"no time left for a call that may take {self.worst_call:.0f}s")

    def keys(self, bucket: str, prefix: str) -> Iterator[str]:
        pages = iter(self.client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix))
        while True:
            self._starting()
            page = next(pages, None)
            if page is None:
                return
            yield from (str(item["Key"]) for item in page.get("Contents", []))

    def lines(self, bucket: str, key: str) -> Iterator[bytes]:
        """Raises ResultsError(missing=True) for a listed object that is not there when read."""
        self._starting()
        try:
            body = self.client.get_object(Bucket=bucket, Key=key)["Body"]
        except ClientError as error:
            if error_code(error) in ("NoSuchKey", "404"):
                from bedrock_evaluation.results import ResultsError  # noqa: PLC0415 (read by waited jobs only)

                raise ResultsError(f"s3://{bucket}/{key} was listed but is not there ({error_code(error)})", key=key, missing=True) from error
            raise
        yield from body.iter_lines()


class StackStatuses:
    """CloudFormation's own view of the stack: whether it is rolling back."""

    ROLLING_BACK = frozenset({"UPDATE_ROLLBACK_IN_PROGRESS", "ROLLBACK_IN_PROGRESS", "IMPORT_ROLLBACK_IN_PROGRESS"})

    def __init__(self, client: Any) -> None:
        self.client = client

    def rolling_back(self, stack_id: str) -> bool:
        stacks = self.client.describe_stacks(StackName=stack_id).get("Stacks", [])
        return bool(stacks) and stacks[0].get("StackStatus") in self.ROLLING_BACK


class PollerExecutions:
    """The poller state machine of long waits (Step Functions)."""

    def __init__(self, client: Any) -> None:
        self.client = client

    def start(self, state_machine_arn: str, *, name: str, state: Mapping[str, object]) -> bool:
        """Start one execution; False when one of this name exists (a repeated delivery started it)."""
        try:
            self.client.start_execution(stateMachineArn=state_machine_arn, name=name, input=json.dumps(dict(state)))
        except ClientError as error:
            if error_code(error) == "ExecutionAlreadyExists":
                return False
            raise
        return True


@cache
def create_input_shape() -> Any:
    """CreateEvaluationJob's input shape, from the model the clients use (the bundled one in the asset)."""
    model = botocore.session.get_session().get_service_model("bedrock")
    return model.operation_model("CreateEvaluationJob").input_shape


@cache
def flow_definition_input_shape() -> Any:
    """CreateFlowDefinition's input shape, from the model the SageMaker client uses."""
    model = botocore.session.get_session().get_service_model("sagemaker")
    return model.operation_model("CreateFlowDefinition").input_shape


def default_client() -> Any:
    return boto3.client("bedrock", config=CLIENT_CONFIG)


def default_agent_client() -> Any:
    return boto3.client("bedrock-agent", config=CLIENT_CONFIG)


def default_sagemaker_client() -> Any:
    return boto3.client("sagemaker", config=CLIENT_CONFIG)


def default_s3_client() -> Any:
    return boto3.client("s3", config=CLIENT_CONFIG)


def default_cloudformation_client() -> Any:
    return boto3.client("cloudformation", config=CLIENT_CONFIG)


def default_stepfunctions_client() -> Any:
    return boto3.client("stepfunctions", config=CLIENT_CONFIG)
