"""What our constructs acknowledge, and why: the two tables `compliance` applies.

- ``WILDCARD_RESOURCES``: IAM resources no narrower ARN can name (cdk-nag AwsSolutions-IAM5),
  each for the roles and actions it may cover.
- ``RESOURCE_FINDINGS``: rules about one resource (runtime, logging, DLQ, ...), acknowledged by the
  construct that creates the resource.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from . import access
from .access import Holder

_PARTITION = r"(?:<AWS::Partition>|aws[a-z-]*)"
_REGION = r"(?:<AWS::Region>|[a-z]{2}(?:-[a-z]+)+-\d)"
_ACCOUNT = r"(?:<AWS::AccountId>|\d{12})"
_BUCKET_ARN = rf"(?:<[A-Za-z0-9]+\.Arn>|arn:{_PARTITION}:s3:::[a-z0-9][a-z0-9.-]*)"
# The objects under a prefix the construct wrote: one or more literal key segments, then "/*".
# Never a whole bucket ("/*") and never a wildcard inside the prefix (synth refuses one).
_PREFIX_OBJECTS = rf"{_BUCKET_ARN}/(?:[^*?/]+/)+\*"


@dataclass(frozen=True)
class WildcardResource:
    """A resource with a wildcard that the API leaves no narrower way to name."""

    key: str
    example: str
    """How cdk-nag shows it: `AwsSolutions-IAM5[Resource::<example>]`."""
    pattern: str
    """A regular expression the rendered resource must match in full."""
    actions: frozenset[str]
    """Every action allowed on the resource (in one policy) must be one of these."""
    holders: frozenset[Holder]
    reason: str

    def covers(self, rendered: str, actions: Iterable[str], holder: Holder) -> bool:
        return holder in self.holders and re.fullmatch(self.pattern, rendered) is not None and set(actions) <= self.actions


WILDCARD_RESOURCES: tuple[WildcardResource, ...] = (
    WildcardResource(
        key="evaluation-jobs",
        example="arn:<AWS::Partition>:bedrock:<AWS::Region>:<AWS::AccountId>:evaluation-job/*",
        pattern=rf"arn:{_PARTITION}:bedrock:{_REGION}:{_ACCOUNT}:evaluation-job/\*",
        actions=frozenset(access.JOB_MANAGE.actions + access.JOB_TAGS.actions),
        holders=frozenset({Holder.HANDLER_ROLE}),
        reason="Evaluation job ids are chosen by the service when a job is created, so no ARN of a job "
        "exists before the policy does; the wildcard is limited to evaluation jobs of this account and region.",
    ),
    WildcardResource(
        key="handler-unscoped",
        example="*",
        pattern=r"\*",
        actions=frozenset(access.JOB_LIST.actions + access.JOB_CREATE.actions),
        holders=frozenset({Holder.HANDLER_ROLE}),
        reason="bedrock:ListEvaluationJobs authorizes on no resource; public reports say CreateEvaluationJob is "
        "refused on anything narrower than `*`. A job can use only what its service role allows, and the handler "
        "may pass only the stack's service roles, only to Bedrock.",
    ),
    WildcardResource(
        key="cross-region-foundation-model",
        example="arn:<AWS::Partition>:bedrock:*::foundation-model/anthropic.claude-haiku-4-5-20251001-v1:0",
        pattern=rf"arn:{_PARTITION}:bedrock:\*::foundation-model/[^*]+",
        actions=frozenset(access.MODEL_USE.actions + access.JOB_CREATE.actions),
        holders=frozenset({Holder.SERVICE_ROLE, Holder.HANDLER_ROLE}),
        reason="A cross-region inference profile routes each call to any region of its geography, so the "
        "foundation model behind it must be allowed in every region; the model itself is named exactly.",
    ),
    WildcardResource(
        key="dataset-prefix",
        example="arn:<AWS::Partition>:s3:::my-datasets/rag/*",
        pattern=_PREFIX_OBJECTS,
        actions=frozenset(access.DATASET_READ.actions),
        holders=frozenset({Holder.SERVICE_ROLE}),
        reason="A raw request names this S3 prefix as its dataset location: the job reads the objects under "
        "it, read-only, and nothing outside it.",
    ),
    WildcardResource(
        key="human-review-output",
        example="<BedrockEvaluationBucket863B7EBF.Arn>/human-reviews/bedrock-model-evaluation-review-flow/*",
        pattern=rf"{_BUCKET_ARN}/human-reviews/[^*]*\*",
        actions=frozenset(access.HUMAN_REVIEW_OUTPUT.actions + access.FLOW_OUTPUT_OBJECTS.actions),
        holders=frozenset({Holder.SERVICE_ROLE, Holder.FLOW_DEFINITION_ROLE}),
        reason="SageMaker writes each human loop's answers under the flow definition's own output prefix, in keys "
        "it chooses (flow definition, date, human loop); both roles of the human job use them, and neither can "
        "write elsewhere in the bucket.",
    ),
    WildcardResource(
        key="job-output-prefix",
        example="<BedrockEvaluationBucket863B7EBF.Arn>/results/bedrock-model-evaluation-local-qa-judge/*",
        pattern=_PREFIX_OBJECTS,
        actions=frozenset(access.OUTPUT_OBJECTS.actions + access.DATASET_READ.actions),
        holders=frozenset({Holder.SERVICE_ROLE}),
        reason="The job writes its results under its own output prefix, in keys the service chooses "
        "(job name, job id, model, task, dataset); the role can write nowhere else in the bucket.",
    ),
    WildcardResource(
        key="service-role-unscoped",
        example="*",
        pattern=r"\*",
        actions=frozenset(
            access.HUMAN_LOOPS.actions + access.RERANK.actions + access.MARKETPLACE_RERANKER.actions + access.LIST_INFERENCE_PROFILES.actions
        ),
        holders=frozenset({Holder.SERVICE_ROLE}),
        reason="Granted only when the job needs them, on `*` where AWS documents no narrower resource: the human-loop "
        "actions (the user guide says `Resource: *`), bedrock:Rerank and ListInferenceProfiles (no resource type), "
        "and the Marketplace subscription actions of a third-party reranker. Only Bedrock evaluation jobs of this "
        "account and region can assume the role.",
    ),
    WildcardResource(
        key="human-review-job-results",
        example="<BedrockEvaluationBucket863B7EBF.Arn>/results/bedrock-model-evaluation-nova-head-to-head/*",
        pattern=_PREFIX_OBJECTS,
        actions=frozenset(access.FLOW_OUTPUT_OBJECTS.actions),
        holders=frozenset({Holder.FLOW_DEFINITION_ROLE}),
        reason="The user guide asks for the same access to the job's output location on the SageMaker role as on "
        "the Bedrock one; Bedrock writes each human loop's input there, under keys the service chooses. Only the "
        "output prefixes of the jobs that use this flow definition.",
    ),
    WildcardResource(
        key="flow-definitions",
        example="arn:<AWS::Partition>:sagemaker:<AWS::Region>:<AWS::AccountId>:flow-definition/bedrock-model-evaluation-review-flow-*",
        pattern=rf"arn:{_PARTITION}:sagemaker:{_REGION}:{_ACCOUNT}:flow-definition/[a-z0-9-]+-\*",
        actions=frozenset(access.FLOW_DEFINITION_MANAGE.actions),
        holders=frozenset({Holder.HANDLER_ROLE}),
        reason="Each version of a flow definition is named by the handler, prefix + a digest of its request, at "
        "deploy time; the wildcard covers only that prefix's names, in this account and region.",
    ),
    WildcardResource(
        key="job-results-read",
        example="<BedrockEvaluationBucket863B7EBF.Arn>/results/bedrock-rag-evaluation-retrieve-and-generate/*",
        pattern=_PREFIX_OBJECTS,
        actions=frozenset(access.RESULTS_READ.actions),
        holders=frozenset({Holder.HANDLER_ROLE}),
        reason="A job with `wait=` has its result records read by the handler, under the job's own output prefix, "
        "in keys the service chooses (job name, job id, model or inference configuration, task, dataset); read-only, "
        "and nothing outside the prefix.",
    ),
    WildcardResource(
        key="poller-jobs",
        example="arn:<AWS::Partition>:bedrock:<AWS::Region>:<AWS::AccountId>:evaluation-job/*",
        pattern=rf"arn:{_PARTITION}:bedrock:{_REGION}:{_ACCOUNT}:evaluation-job/\*",
        actions=frozenset(access.POLL_JOBS.actions),
        holders=frozenset({Holder.POLLER_ROLE}),
        reason="The poller reads the status of the stack's waited jobs, whose ids the service chooses at deploy "
        "time; read-only, limited to evaluation jobs of this account and region.",
    ),
    WildcardResource(
        key="provider-function-versions",
        example="<BedrockEvaluationJobProviderOnEvent83FFC98D.Arn>:*",
        pattern=r"<[A-Za-z0-9]+\.Arn>:\*",
        actions=frozenset({"lambda:InvokeFunction"}),
        holders=frozenset({Holder.FRAMEWORK_ROLES, Holder.WAITER_ROLE, Holder.POLLER_ROLE}),
        reason="CDK's Provider framework (and Step Functions' Lambda task, for the poller) grants invoke on its own functions and their versions "
        "(`<function ARN>:*`), the form `grantInvoke` always adds; the functions are the handler's and the "
        "framework's, in this stack.",
    ),
)


@dataclass(frozen=True)
class ResourceFinding:
    """Rules about one resource, of one or more checkers, acknowledged for one reason."""

    key: str
    rules: tuple[str, ...]
    where: str
    reason: str


ACCESS_LOG_DESTINATION = ResourceFinding(
    key="access-log-destination",
    rules=("CKV_AWS_18",),
    where="`BedrockEvaluationBucket/AccessLogs`",
    reason="It is the destination of the evaluation bucket's server access logs; logging access to the log "
    "bucket would need yet another bucket. It holds only the log records S3 delivers. (cdk-nag's S1 already "
    "accepts a log destination.)",
)
PINNED_PYTHON_RUNTIME = ResourceFinding(
    key="pinned-python-runtime",
    rules=("AwsSolutions-L1",),
    where="`OnEvent`, `IsComplete`",
    reason="The handler runs on Python 3.13 on purpose: it is tested on 3.13 and carries its own botocore "
    "service model; a runtime change is a tested upgrade of its own, not a side effect of a newer aws-cdk-lib.",
)
CDK_UPLOAD_RUNTIME = ResourceFinding(
    key="cdk-upload-runtime",
    rules=("AwsSolutions-L1",),
    where="the dataset upload function (CDK's `BucketDeployment` handler)",
    reason="CDK chooses this function's runtime together with the AWS CLI layer it ships with it; it "
    "moves with aws-cdk-lib upgrades.",
)
WAITER_WITHOUT_LOGS = ResourceFinding(
    key="waiter-without-logs",
    rules=("AwsSolutions-SF1",),
    where="`Provider/waiter-state-machine`",
    reason="The CDK Provider framework's waiter is one task that invokes the framework's `isComplete` until "
    "a stopping job can be deleted; every poll is already in `HandlerLogs`, from the framework and the handler. Logging the "
    "state machine would grant its role the CloudWatch Logs delivery actions on `*`, `logs:PutResourcePolicy` "
    "among them (checkov CKV_AWS_111): a broader privilege than the log is worth.",
)
WAITER_WITHOUT_XRAY = ResourceFinding(
    key="waiter-without-xray",
    rules=("AwsSolutions-SF2",),
    where="`Provider/waiter-state-machine`",
    reason="The CDK Provider framework exposes no tracing option for its waiter, one task polling "
    "`isComplete`; tracing would need `xray:PutTraceSegments` on `*` for a loop whose every step is in the "
    "functions' logs.",
)
POLLER_WITHOUT_LOGS = ResourceFinding(
    key="poller-without-logs",
    rules=("AwsSolutions-SF1",),
    where="`BedrockEvaluationJobPoller/StateMachine`",
    reason="The poller is one Lambda task in a loop with a Wait state; every poll, its job status and the signal it "
    "sends are already in `PollerLogs`. Logging the state machine would grant its role the CloudWatch Logs delivery "
    "actions on `*`, `logs:PutResourcePolicy` among them (checkov CKV_AWS_111): a broader privilege than the log is worth.",
)
POLLER_WITHOUT_XRAY = ResourceFinding(
    key="poller-without-xray",
    rules=("AwsSolutions-SF2",),
    where="`BedrockEvaluationJobPoller/StateMachine`",
    reason="Tracing would need `xray:PutTraceSegments` on `*` for a loop of one task whose every step is in the "
    "poll function's log.",
)
NO_DEAD_LETTER_QUEUE = ResourceFinding(
    key="no-dead-letter-queue",
    rules=("CKV_AWS_116",),
    where="every function of the provider and the dataset upload",
    reason="They answer CloudFormation (directly or through the Provider framework), also on failure; an "
    "event parked in a dead-letter queue could not be answered later, as CloudFormation's response URL expires.",
)
NO_VPC = ResourceFinding(
    key="no-vpc",
    rules=("CKV_AWS_117",),
    where="every function of the provider and the dataset upload",
    reason="They call only AWS APIs, over TLS with IAM authorization, and CloudFormation's response URL; "
    "there is nothing in a VPC for them to reach, and a VPC would need NAT or endpoints for the same calls.",
)
NO_RESERVED_CONCURRENCY = ResourceFinding(
    key="no-reserved-concurrency",
    rules=("CKV_AWS_115",),
    where="every function of the provider and the dataset upload",
    reason="They run only while CloudFormation deploys this stack. Reserved concurrency is taken from the "
    "account's pool, and fails the deploy in accounts at the minimum unreserved concurrency.",
)
ENVIRONMENT_WITHOUT_SECRETS = ResourceFinding(
    key="environment-without-secrets",
    rules=("CKV_AWS_173",),
    where="the Provider framework's functions and the dataset upload function",
    reason="Their environment holds only the ARNs of the handler functions and state machine (CDK's) or the "
    "CA bundle path, no secret; Lambda encrypts it at rest with an AWS owned key.",
)
LOGS_SERVICE_ENCRYPTED = ResourceFinding(
    key="logs-service-encrypted",
    rules=("CKV_AWS_158",),
    where="`HandlerLogs`, `UploadLogs`",
    reason="HandlerLogs hold what the handler logs to identify the work (request type, logical id, job names and "
    "ARNs), statuses and error messages, never the request, and the CDK Provider framework's own log of each "
    "event, which includes the resource properties (the request, as the template shows it); UploadLogs hold the "
    "upload's file names. No credentials or presigned URLs; CloudWatch Logs encrypts them at rest, and they "
    "expire after 3 months.",
)
ROLE_DEPENDENCY = ResourceFinding(
    key="role-dependency",
    rules=("W3005",),
    where="every function and state machine of the provider and the dataset upload",
    reason="CDK makes each function and state machine depend on its role so that the role's policy exists "
    "before first use; the reference to the role alone would not wait for the policy.",
)

UNSCOPED_WRITE = ResourceFinding(
    key="unscoped-write",
    rules=("CKV_AWS_111",),
    where="the handler role's policy and a service role's policy that holds the human-loop actions or a "
    "third-party reranker's Marketplace subscription",
    reason="Write actions on `*` only where AWS documents nothing narrower: CreateEvaluationJob (reported refused "
    "on anything narrower; a job may use only its service role, the only role the handler may pass), the "
    "human-loop actions (the user guide says `Resource: *`) and the Marketplace subscription of a third-party "
    "reranker. Each is in the wildcard table with its reason.",
)
# Actions on "*" that checkov's CKV_AWS_111 counts as writes.
WRITES_ON_STAR = frozenset(
    {
        "bedrock:CreateEvaluationJob",
        "sagemaker:StartHumanLoop",
        "sagemaker:StopHumanLoop",
        "sagemaker:DeleteHumanLoop",
        "aws-marketplace:Subscribe",
    }
)

RESOURCE_FINDINGS: tuple[ResourceFinding, ...] = tuple(
    value for value in list(globals().values()) if isinstance(value, ResourceFinding)
)
