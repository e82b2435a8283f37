"""What the construct and the handler must agree on, written once.

This module is part of the package and is copied into the handler's Lambda asset as
``bedrock_evaluation/contract.py`` when the asset is built, so both sides import the same
file under the same name. It uses the standard library only.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from enum import StrEnum

RESOURCE_TYPE = "Custom::BedrockEvaluationJob"

# Resource properties (what the template holds for each job).
PROP_REQUEST = "Request"
"""The CreateEvaluationJob request, without clientRequestToken (and usually without jobName)."""
PROP_JOB_NAME_PREFIX = "JobNamePrefix"
"""Prefix of the generated job name; ignored when the request carries its own jobName."""
PROP_REMOVAL = "Removal"
"""What deleting the resource does to the job: one of `Removal`."""

# Attributes (Fn::GetAtt on the custom resource).
ATTR_JOB_ARN = "JobArn"
ATTR_JOB_NAME = "JobName"
ATTR_OUTPUT_S3_URI = "OutputS3Uri"

# A generated job name is prefix + "-" + a digest of the request (jobName allows 63 characters).
NAME_DIGEST_LENGTH = 10
JOB_NAME_MAX_LENGTH = 63
NAME_PREFIX_MAX_LENGTH = JOB_NAME_MAX_LENGTH - 1 - NAME_DIGEST_LENGTH
NAME_PREFIX_PATTERN = re.compile(r"[a-z0-9](-*[a-z0-9])*")
"""jobName's own pattern, so that prefix + "-" + digest is a valid jobName."""


def name_prefix_problem(prefix: object) -> str | None:
    """Why a job name prefix cannot be used, or None when it can."""
    if not isinstance(prefix, str) or not NAME_PREFIX_PATTERN.fullmatch(prefix) or len(prefix) > NAME_PREFIX_MAX_LENGTH:
        return f"must match {NAME_PREFIX_PATTERN.pattern} and be at most {NAME_PREFIX_MAX_LENGTH} characters"
    return None


# The handler derives clientRequestToken from the CloudFormation request, so that a repeated
# delivery of one request never creates a second job: a request must not carry its own.
CLIENT_REQUEST_TOKEN = "clientRequestToken"
CLIENT_REQUEST_TOKEN_RULE = (
    "must be left out: the handler derives it from the CloudFormation request id, so a repeated "
    "delivery never creates a second job"
)

# Document-typed request fields (filter values, additionalModelRequestFields) travel as JSON
# strings, because CloudFormation turns every scalar in resource properties into a string.
DOCUMENTS_ARE_JSON_STRINGS = True

# Knowledge-base ingestion: a second resource type served by the same provider, so that a
# knowledge base in the same stack has its documents indexed before it is evaluated.
INGESTION_RESOURCE_TYPE = "Custom::BedrockKnowledgeBaseIngestion"
PROP_KNOWLEDGE_BASE_ID = "KnowledgeBaseId"
PROP_DATA_SOURCE_ID = "DataSourceId"
PROP_DOCUMENTS_HASH = "DocumentsHash"
"""Changes when the documents change: a new value starts a new ingestion."""
ATTR_INGESTION_JOB_ID = "IngestionJobId"

# How deeply a request (and a JSON document in it) may nest. The deepest the API needs is a
# retrieval filter's andAll/orAll; no real filter nests this deep, and a deeper value would exhaust
# the stack of whatever reads it recursively (jsii at synth, the handler's parser at deploy).
MAX_REQUEST_DEPTH = 64


def nesting_depth(value: object) -> int:
    """How deeply objects and lists nest in `value` (the request as the template holds it, with its
    JSON documents as strings; or one document), counted the same way at synth and in the handler,
    without recursion: a value nested deeper than Python's stack allows must be refused, not crash."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, Mapping):
            children: list[object] = list(item.values())
        elif isinstance(item, list):
            children = list(item)
        else:
            continue
        deepest = max(deepest, depth)
        stack.extend((child, depth + 1) for child in children)
    return deepest


# CloudFormation waits at most an hour (ServiceTimeout) for a custom resource's answer. The handler
# stops waiting (a stopping job, an ingestion) this long after on_event answered, so that on_event's
# Lambda timeout, this wait and one last is_complete end well inside the hour (the provider checks).
CLOUDFORMATION_TIMEOUT_SECONDS = 3600
WAIT_LIMIT_SECONDS = 35 * 60

# The CDK Provider framework's physical id after a failed Create.
CREATE_FAILED_MARKER = "AWSCDK::CustomResourceProviderFramework::CREATE_FAILED"


class JobRemoval(StrEnum):
    """What happens to the evaluation job when its resource is deleted or replaced."""

    STOP = "stop"
    """Stop the job if it is still running; keep its record and results."""
    DELETE = "delete"
    """Stop the job, wait until it has stopped, then delete its record (results stay in S3)."""
    RETAIN = "retain"
    """Leave the job alone."""


Removal = JobRemoval
"""The handler's name for it."""

DEFAULT_REMOVAL = JobRemoval.STOP
"""A running job is stopped: nothing keeps costing money, and nothing is lost."""


def parse_removal(value: object) -> Removal:
    """The Removal a property value names; absent means DEFAULT_REMOVAL. Raises ValueError."""
    if value is None:
        return DEFAULT_REMOVAL
    if isinstance(value, str):
        try:
            return Removal(value)
        except ValueError:
            pass
    allowed = ", ".join(repr(r.value) for r in Removal)
    raise ValueError(f"{PROP_REMOVAL} is {value!r}; expected one of {allowed}")


# Human review: a SageMaker flow definition (CloudFormation has no resource type for one), a third
# resource type served by the same provider. Its properties hold the CreateFlowDefinition request
# without FlowDefinitionName, which the handler derives (prefix + digest) so that a change makes a
# new flow definition under a new name, as it does for jobs.
FLOW_DEFINITION_RESOURCE_TYPE = "Custom::SageMakerHumanFlowDefinition"
PROP_FLOW_DEFINITION = "FlowDefinition"
"""The CreateFlowDefinition request, without FlowDefinitionName."""
PROP_FLOW_DEFINITION_NAME_PREFIX = "NamePrefix"
ATTR_FLOW_DEFINITION_ARN = "FlowDefinitionArn"
ATTR_FLOW_DEFINITION_NAME = "FlowDefinitionName"

# What makes a flow definition Bedrock's (user guide, model-evaluation-jobs-management-create-human):
# the request source botocore's SageMaker enum does not list, and the task UI SageMaker owns in
# every region, of which only the region changes.
BEDROCK_HUMAN_LOOP_REQUEST_SOURCE = "AWS/Bedrock/Evaluation"
BEDROCK_HUMAN_TASK_UI_ACCOUNT = "394669845002"
BEDROCK_HUMAN_TASK_UI_NAME = "Evaluation"

# Waiting for a job and gating the deploy on its scores: a fourth resource type served by the same
# provider. It follows one job (its properties reference the job resource's attributes), and
# completes when the job has Completed, its result records are read and every gate passed; it
# fails, and so rolls the deploy back, when the job failed, was stopped, outlived its wait, or
# missed a gate.
RESULTS_RESOURCE_TYPE = "Custom::BedrockEvaluationResults"
PROP_RESULTS_JOB_ARN = "JobArn"
PROP_RESULTS_JOB_NAME = "JobName"
PROP_RESULTS_OUTPUT_S3_URI = "OutputS3Uri"
"""The job's outputDataConfig.s3Uri (results are under <it>/<jobName>/<job id>/)."""
PROP_WAIT_SECONDS = "WaitSeconds"
"""How long the resource itself waits for the job to end (at most IN_RESOURCE_WAIT_SECONDS)."""
PROP_THRESHOLDS = "Thresholds"
"""A JSON object: metric name -> the lowest mean score the deploy accepts."""
PROP_MAX_DROP = "MaxDrop"
"""How far a metric's mean may fall below the replaced job's before the deploy fails ("" for no check)."""
PROP_RESULTS_SIGNALLED = "Signalled"
"""A long wait's wait condition's Data: {UniqueId: reason} of the signals its poller sent (the job
names); absent for a short wait."""
RESULTS_PHYSICAL_ID_SUFFIX = "/results"

# The results resource waits inside CloudFormation's hour, after on_event, like any other wait.
IN_RESOURCE_WAIT_SECONDS = WAIT_LIMIT_SECONDS
# Longer waits, up to AWS::CloudFormation::WaitCondition's largest Timeout (12 hours), go through a
# wait condition that a poller signals. The poller gives up this long before the condition's own
# timeout, so that the deploy fails with the poller's reason (the job and how far it got), not
# CloudFormation's bare "timed out".
WAIT_CONDITION_MAX_SECONDS = 43_200
POLLER_MARGIN_SECONDS = 300
LONGEST_WAIT_SECONDS = WAIT_CONDITION_MAX_SECONDS - POLLER_MARGIN_SECONDS

# The resource that starts the poller of a long wait, after the job's resource and before its wait
# condition: it hands the poller the job and the wait condition handle's presigned URL.
WATCH_RESOURCE_TYPE = "Custom::BedrockEvaluationJobWatch"
PROP_WATCH_JOB_ARN = "JobArn"
PROP_WATCH_JOB_NAME = "JobName"
PROP_SIGNAL_URL = "SignalUrl"
PROP_POLLER_ARN = "PollerArn"
PROP_POLL_SECONDS = "PollSeconds"

# CloudFormation reads at most 4,096 bytes of a custom resource's response; the scores share it with
# the status, reason, ids and the job's attributes.
SCORE_ATTRIBUTES_LIMIT_BYTES = 2_800

# Metrics where a higher score means more of something bad: semantic robustness is a word error
# rate ("a low semantic robustness score indicates the model performs well", user guide
# model-evaluation-report-programmatic), toxicity and the judge's harm metrics score how much of
# their characteristic appears ("the closer to 1, the more that metric's characteristic appears",
# user guide knowledge-base-eval-llm-results). A gate bounds them from above; their regression is a rise.
LOWER_IS_BETTER = frozenset(
    {"Builtin.Robustness", "Builtin.Toxicity", "Builtin.Harmfulness", "Builtin.Stereotyping", "Builtin.Refusal"}
)
