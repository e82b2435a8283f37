"""Shared helpers for the Lambda handler tests: events as CloudFormation sends them,
properties as CloudFormation delivers them (every scalar a string), a Bedrock client
answered by botocore's Stubber, and a clock that never really sleeps.
"""

from __future__ import annotations

import copy
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HANDLER_DIR = str(Path(__file__).resolve().parent.parent / "lambda" / "evaluation_job")
if HANDLER_DIR in sys.path:
    sys.path.remove(HANDLER_DIR)
sys.path.insert(0, HANDLER_DIR)

import bedrock  # noqa: E402
import boto3  # noqa: E402
import runtime  # noqa: E402
from botocore.stub import Stubber  # noqa: E402
from events import ResourceEvent  # noqa: E402
from request import JobSpec, job_spec  # noqa: E402

STACK_ID = "arn:aws:cloudformation:us-east-1:123456789012:stack/Eval/1111-2222"
LOGICAL_ID = "BoolQAccuracy"
SERVICE_TOKEN = "arn:aws:lambda:us-east-1:123456789012:function:Eval-ProviderframeworkonEvent-AbC123"
RESPONSE_URL = (
    "https://cloudformation-custom-resource-response-useast1.s3.amazonaws.com/"
    "arn%3Aaws%3Acloudformation%3Aus-east-1%3A123456789012%3Astack/Eval/1111-2222%7CBoolQAccuracy%7Creq-1"
    "?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Signature=secret"
)
ROLE_ARN = "arn:aws:iam::123456789012:role/eval"
OUTPUT_S3_URI = "s3://results-bucket/results/job/"
JOB_ARN = "arn:aws:bedrock:us-east-1:123456789012:evaluation-job/abcdef012345"
OTHER_JOB_ARN = "arn:aws:bedrock:us-east-1:123456789012:evaluation-job/zyxwvu987654"


def model_request() -> dict[str, Any]:
    """An automatic model evaluation: Nova Lite on the built-in BoolQ dataset, scored for accuracy."""
    return {
        "applicationType": "ModelEvaluation",
        "roleArn": ROLE_ARN,
        "evaluationConfig": {
            "automated": {
                "datasetMetricConfigs": [
                    {
                        "taskType": "QuestionAndAnswer",
                        "dataset": {"name": "Builtin.BoolQ"},
                        "metricNames": ["Builtin.Accuracy"],
                    }
                ]
            }
        },
        "inferenceConfig": {
            "models": [
                {
                    "bedrockModel": {
                        "modelIdentifier": "amazon.nova-lite-v1:0",
                        "inferenceParams": '{"inferenceConfig":{"maxTokens":512}}',
                    }
                }
            ]
        },
        "outputDataConfig": {"s3Uri": OUTPUT_S3_URI},
    }


def rag_request() -> dict[str, Any]:
    """A knowledge-base (retrieve and generate) evaluation with a custom metric; numbers and the
    filter document arrive as strings, as CloudFormation delivers them."""
    judge = "anthropic.claude-3-5-haiku-20241022-v1:0"
    return {
        "applicationType": "RagEvaluation",
        "roleArn": ROLE_ARN,
        "evaluationConfig": {
            "automated": {
                "datasetMetricConfigs": [
                    {
                        "taskType": "QuestionAndAnswer",
                        "dataset": {
                            "name": "qa",
                            "datasetLocation": {"s3Uri": "s3://results-bucket/datasets/qa.jsonl"},
                        },
                        "metricNames": ["Builtin.Correctness", "Grounded"],
                    }
                ],
                "evaluatorModelConfig": {"bedrockEvaluatorModels": [{"modelIdentifier": judge}]},
                "customMetricConfig": {
                    "customMetrics": [
                        {
                            "customMetricDefinition": {
                                "name": "Grounded",
                                "instructions": "Is {{prediction}} supported by {{context}}?",
                                "ratingScale": [
                                    {"definition": "yes", "value": {"floatValue": "1.0"}},
                                    {"definition": "no", "value": {"floatValue": "0"}},
                                ],
                            }
                        }
                    ],
                    "evaluatorModelConfig": {"bedrockEvaluatorModels": [{"modelIdentifier": judge}]},
                },
            }
        },
        "inferenceConfig": {
            "ragConfigs": [
                {
                    "knowledgeBaseConfig": {
                        "retrieveAndGenerateConfig": {
                            "type": "KNOWLEDGE_BASE",
                            "knowledgeBaseConfiguration": {
                                "knowledgeBaseId": "KBID123456",
                                "modelArn": "arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-lite-v1:0",
                                "retrievalConfiguration": {
                                    "vectorSearchConfiguration": {
                                        "numberOfResults": "5",
                                        "filter": {"equals": {"key": "year", "value": "2024"}},
                                    }
                                },
                                "generationConfiguration": {
                                    "kbInferenceConfig": {
                                        "textInferenceConfig": {"temperature": "0.2", "maxTokens": "512"}
                                    }
                                },
                            },
                        }
                    }
                }
            ]
        },
        "outputDataConfig": {"s3Uri": OUTPUT_S3_URI},
    }


def generated_name(properties: Mapping[str, Any], *, logical_id: str = LOGICAL_ID, stack_id: str = STACK_ID) -> str:
    """The job name the handler gives the job of these properties."""
    import request as handler_request

    return handler_request.job_spec(properties, stack_id=stack_id, logical_id=logical_id).name


def valid_properties(*, request: Mapping[str, Any] | None = None, **overrides: Any) -> dict[str, Any]:
    """Resource properties of one EvaluationJob, as the handler receives them (without ServiceToken,
    which `make_event` adds). Keyword overrides replace (or, given None, drop) top-level properties."""
    properties: dict[str, Any] = {
        "Request": copy.deepcopy(dict(request)) if request is not None else model_request(),
        "JobNamePrefix": "eval-boolq",
        "Removal": "stop",
    }
    for key, value in overrides.items():
        if value is None:
            properties.pop(key, None)
        else:
            properties[key] = value
    return properties


GENERATED_NAME = "eval-boolq-4d98c8c4b5"
"""generated_name(valid_properties()): a test checks that it is."""


def make_event(
    request_type: str,
    *,
    properties: Mapping[str, Any] | None = None,
    old_properties: Mapping[str, Any] | None = None,
    physical_id: str | None = None,
    request_id: str = "req-1",
    logical_id: str = LOGICAL_ID,
    stack_id: str = STACK_ID,
    resource_type: str = "Custom::BedrockEvaluationJob",
) -> dict[str, Any]:
    """A custom-resource event in the shape CloudFormation sends it (through the CDK Provider)."""
    resource_properties = {"ServiceToken": SERVICE_TOKEN, **copy.deepcopy(dict(properties or valid_properties()))}
    event: dict[str, Any] = {
        "RequestType": request_type,
        "ServiceToken": SERVICE_TOKEN,
        "ResponseURL": RESPONSE_URL,
        "StackId": stack_id,
        "RequestId": request_id,
        "LogicalResourceId": logical_id,
        "ResourceType": resource_type,
        "ResourceProperties": resource_properties,
    }
    if physical_id is not None:
        event["PhysicalResourceId"] = physical_id
    if old_properties is not None:
        event["OldResourceProperties"] = {"ServiceToken": SERVICE_TOKEN, **copy.deepcopy(dict(old_properties))}
    return event


def resource_event(request_type: str, **kwargs: Any) -> ResourceEvent:
    """`make_event`'s event as the entry points hand it to lifecycle and ingestion."""
    return ResourceEvent.parse(make_event(request_type, **kwargs))


@dataclass(frozen=True)
class StubbedJobs:
    jobs: bedrock.EvaluationJobs
    stubber: Stubber


def new_client() -> Any:
    return boto3.client(
        "bedrock", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x", config=bedrock.CLIENT_CONFIG
    )


@contextmanager
def stubbed_jobs() -> Iterator[StubbedJobs]:
    """EvaluationJobs over a real bedrock client whose calls the Stubber answers (and checks against
    the service model); leaving the block asserts every queued answer was used."""
    client = new_client()
    with Stubber(client) as stubber:
        yield StubbedJobs(bedrock.EvaluationJobs(client), stubber)
        stubber.assert_no_pending_responses()


@dataclass
class FakeClock:
    """Monotonic time that moves only when the handler sleeps; jitter fixed at the midpoint."""

    now: float = 1000.0
    sleeps: list[float] = field(default_factory=list)

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    def random(self) -> float:
        return 0.5

    def clock(self) -> runtime.Clock:
        return runtime.Clock(monotonic=self.monotonic, sleep=self.sleep, random=self.random)

    def budget(self, seconds: float = 840.0) -> runtime.Budget:
        return runtime.Budget.of_seconds(seconds, self.clock())


def job_description(
    job_arn: str = JOB_ARN, *, name: str | None = None, status: str = "InProgress", role_arn: str = ROLE_ARN
) -> dict[str, Any]:
    """A GetEvaluationJob answer with every member the service model requires; by default the job
    `valid_properties()` makes in stack STACK_ID as LOGICAL_ID (its name is theirs)."""
    request = model_request()
    return {
        "jobName": name or GENERATED_NAME,
        "status": status,
        "jobArn": job_arn,
        "roleArn": role_arn,
        "jobType": "Automated",
        "applicationType": "ModelEvaluation",
        "evaluationConfig": request["evaluationConfig"],
        "inferenceConfig": request["inferenceConfig"],
        "outputDataConfig": request["outputDataConfig"],
        "creationTime": datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC),
    }


def job_summary(job_arn: str, name: str, status: str = "Completed") -> dict[str, Any]:
    """One entry of ListEvaluationJobs.jobSummaries."""
    return {
        "jobArn": job_arn,
        "jobName": name,
        "status": status,
        "creationTime": datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC),
        "jobType": "Automated",
        "evaluationTaskTypes": ["QuestionAndAnswer"],
    }


# --- helpers the handler tests share --------------------------------------------------------------


def spec_for(properties: dict[str, Any]) -> JobSpec:
    """The JobSpec the handler reads from these properties, for this module's stack and resource."""
    return job_spec(properties, stack_id=STACK_ID, logical_id=LOGICAL_ID)
