"""A stateful emulator of Amazon Bedrock's evaluation-job API, for tests.

`BedrockEmulator` serves the five evaluation-job operations over real HTTP on 127.0.0.1 in the
REST-JSON protocol of the botocore service model, so that the handler's unmodified boto3 client
(real serialization, real error parsing, botocore's real retries) talks to it through
`endpoint_url`. It validates requests against the model, keeps jobs over time, and injects
faults on demand. Jobs end as their `Outcome` says; a Completed job writes its result files, scored
as a `ScorePlan` says, to a results sink (`LocalS3` in tests/local_s3.py). `fast_retries` keeps
botocore's retry decisions but not its waiting.
"""

from .faults import FaultPlan
from .results import ResultObject, ResultsSink, ScorePlan, result_objects
from .retries import fast_retries, total_attempts
from .server import NOT_ASSUMABLE, PASS_ROLE_DENIED, ROUTES, BedrockEmulator, Received
from .service import (
    ACCOUNT,
    ARN_PREFIX,
    GONE,
    OPERATIONS,
    REGION,
    EvaluationService,
    Job,
    Outcome,
    ServiceError,
    canonical,
    http_status_of,
)

__all__ = [
    "ACCOUNT",
    "ARN_PREFIX",
    "GONE",
    "NOT_ASSUMABLE",
    "OPERATIONS",
    "PASS_ROLE_DENIED",
    "REGION",
    "ROUTES",
    "BedrockEmulator",
    "EvaluationService",
    "FaultPlan",
    "Job",
    "Outcome",
    "Received",
    "ResultObject",
    "ResultsSink",
    "ScorePlan",
    "ServiceError",
    "canonical",
    "fast_retries",
    "http_status_of",
    "result_objects",
    "total_attempts",
]
