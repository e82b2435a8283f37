"""Every permission the constructs grant, in one table: the code grants these action lists, and
the security reference (`SECURITY.md`) is generated from the same rows, so neither can drift.

Rows marked ``by_cdk`` are granted by CDK itself (the Provider framework, Lambda log groups):
they are listed so a reviewer sees every permission in the template, and the tests check that
the synthesized policies hold nothing that is not in this table.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

# The inline policy of a service role of ours that holds what our constructs grant it.
JOB_POLICY_NAME = "EvaluationJob"
# The same, of the handler's role and of the Provider framework's roles.
HANDLER_POLICY_NAME = "EvaluationJobHandler"
FRAMEWORK_POLICY_NAME = "ProviderFramework"


class Holder(Enum):
    """Who holds a permission: a role kind, or Bedrock itself in a key policy."""

    SERVICE_ROLE = "Job service role"
    HANDLER_ROLE = "Handler role"
    FRAMEWORK_ROLES = "Provider framework roles"
    WAITER_ROLE = "Waiter state machine role"
    UPLOAD_ROLE = "Dataset upload role"
    ACCESS_LOGS_POLICY = "Access log bucket policy"
    KEY_POLICY = "Customer managed key policy"
    FLOW_DEFINITION_ROLE = "Flow definition role"
    POLLER_ROLE = "Poller roles"


HOLDERS: dict[Holder, str] = {
    Holder.SERVICE_ROLE: (
        "`<Job>/ServiceRole` (or the `EvaluationServiceRole` / `role=` you pass): the role Bedrock runs the job as. "
        "Only `bedrock.amazonaws.com` may assume it, and only for evaluation jobs of this account "
        "(`aws:SourceAccount`) and region (`aws:SourceArn` = `...:evaluation-job/*`)."
    ),
    Holder.HANDLER_ROLE: (
        "`BedrockEvaluationJobProvider/JobHandlerRole`: the custom resource handler (`OnEvent`, `IsComplete`) "
        "that creates, stops and deletes jobs."
    ),
    Holder.FRAMEWORK_ROLES: (
        "`BedrockEvaluationJobProvider/FrameworkOnEventRole` and `FrameworkWaiterRole`: the CDK Provider "
        "framework's functions, which relay CloudFormation events to the handler."
    ),
    Holder.WAITER_ROLE: (
        "`BedrockEvaluationJobProvider/Provider/waiter-state-machine/Role`: the framework's state machine, "
        "which runs the framework's `isComplete` (and so the handler's `IsComplete`) until a stopping job can be deleted."
    ),
    Holder.UPLOAD_ROLE: (
        "`BedrockEvaluationBucket/UploadRole`: the function that copies local datasets from the CDK asset "
        "bucket into the evaluation bucket (CDK's `BucketDeployment` handler, with our role instead of CDK's)."
    ),
    Holder.ACCESS_LOGS_POLICY: (
        "The policy of `BedrockEvaluationBucket/AccessLogs`, for S3's log delivery (`logging.s3.amazonaws.com`), "
        "only for the evaluation bucket of this account (`aws:SourceArn`, `aws:SourceAccount`); no ACLs."
    ),
    Holder.KEY_POLICY: (
        "Statements added to the policy of the `encryption_key=` you pass, for `bedrock.amazonaws.com`, "
        "only for evaluation jobs of this account."
    ),
    Holder.FLOW_DEFINITION_ROLE: (
        "`<HumanFlowDefinition>/Role`: the role SageMaker runs a human review workflow as. Only "
        "`sagemaker.amazonaws.com` may assume it, and only for SageMaker resources of this account "
        "(`aws:SourceAccount`) and region (`aws:SourceArn` = `...:sagemaker:<region>:<account>:*`). The user guide asks "
        "for the same S3 access on both roles of a human job (model-eval-service-roles)."
    ),
    Holder.POLLER_ROLE: (
        "`BedrockEvaluationJobPoller/PollRole` and the state machine's `Role`: only for jobs that wait longer than "
        "35 minutes (`JobWait` with a longer timeout), the Step Functions state machine that asks for each such job's "
        "status until it ends and then signals the job's wait condition (a presigned URL, which needs no permission)."
    ),
}


@dataclass(frozen=True)
class Permission:
    holder: Holder
    actions: tuple[str, ...]
    on: str
    why: str
    by_cdk: bool = False


# --- the job's service role ---------------------------------------------------------------------

DATASET_READ = Permission(
    Holder.SERVICE_ROLE,
    ("s3:GetObject",),
    "each dataset object (a raw request's `s3://.../prefix/` dataset: the objects under that prefix)",
    "Bedrock reads the prompts",
)
DATASET_LIST = Permission(
    Holder.SERVICE_ROLE,
    ("s3:ListBucket",),
    "each dataset's bucket",
    "the documented dataset policy; it reveals key names only",
)
OUTPUT_BUCKET = Permission(
    Holder.SERVICE_ROLE,
    ("s3:ListBucket", "s3:GetBucketLocation", "s3:ListBucketMultipartUploads"),
    "the output bucket",
    "Bedrock checks the output location and resumes multipart uploads of results",
)
OUTPUT_OBJECTS = Permission(
    Holder.SERVICE_ROLE,
    ("s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload"),
    "objects under the job's own output prefix (`results/<name prefix>/*` by default)",
    "Bedrock writes the results; nothing else in the bucket is writable",
)
MODEL_USE = Permission(
    Holder.SERVICE_ROLE,
    (
        "bedrock:InvokeModel",
        "bedrock:InvokeModelWithResponseStream",
        "bedrock:CreateModelInvocationJob",
        "bedrock:StopModelInvocationJob",
    ),
    "the evaluated, generator and judge models; for a cross-region inference profile, the profile "
    "and its foundation model in every region (`bedrock:*::foundation-model/<id>`)",
    "evaluations call models directly and, for larger datasets, through batch inference",
)
INFERENCE_PROFILE = Permission(
    Holder.SERVICE_ROLE,
    ("bedrock:GetInferenceProfile",),
    "each inference profile a job uses",
    "Bedrock resolves the profile to its models",
)
SAGEMAKER_ENDPOINT = Permission(
    Holder.SERVICE_ROLE,
    ("sagemaker:InvokeEndpoint",),
    "each SageMaker endpoint a request names as a model",
    "the endpoint is the evaluated model",
)
KNOWLEDGE_BASE = Permission(
    Holder.SERVICE_ROLE,
    ("bedrock:Retrieve", "bedrock:RetrieveAndGenerate"),
    "each knowledge base a job evaluates",
    "knowledge-base evaluations query it",
)
GUARDRAIL = Permission(
    Holder.SERVICE_ROLE,
    ("bedrock:ApplyGuardrail",),
    "each guardrail a retrieve-and-generate configuration names",
    "generation runs through the guardrail",
)
HUMAN_LOOPS = Permission(
    Holder.SERVICE_ROLE,
    (
        "sagemaker:StartHumanLoop",
        "sagemaker:DescribeFlowDefinition",
        "sagemaker:DescribeHumanLoop",
        "sagemaker:StopHumanLoop",
        "sagemaker:DeleteHumanLoop",
    ),
    "`*`",
    "a human job sends its prompts to the work team through the flow definition; the user guide's policy "
    "for human jobs says these must be on `Resource: *` (only Bedrock evaluation jobs of this account assume the role)",
)
RERANK = Permission(
    Holder.SERVICE_ROLE,
    ("bedrock:Rerank",),
    "`*`",
    "a knowledge-base configuration with reranking (user guide `rerank-prereq`); Rerank authorizes on no resource, "
    "the reranking model itself is invoked under `MODEL_USE`",
)
MARKETPLACE_RERANKER = Permission(
    Holder.SERVICE_ROLE,
    ("aws-marketplace:ViewSubscriptions", "aws-marketplace:Subscribe"),
    "`*`",
    "only with a third-party (not `amazon.`) reranking model: the user guide lists these for its Marketplace subscription",
)
MODEL_METADATA = Permission(
    Holder.SERVICE_ROLE,
    ("bedrock:GetProvisionedModelThroughput", "bedrock:GetImportedModel", "bedrock:GetPromptRouter"),
    "each provisioned model, imported model and prompt router a request names, by its ARN",
    "the service-role pages list the metadata action of each model type the job uses",
)
LIST_INFERENCE_PROFILES = Permission(
    Holder.SERVICE_ROLE,
    ("bedrock:ListInferenceProfiles",),
    "`*`",
    "with an inference profile (system or application), as the service-role pages list it; list actions authorize on no resource",
)
KEY_VIA_S3 = Permission(
    Holder.SERVICE_ROLE,
    ("kms:Decrypt", "kms:GenerateDataKey"),
    "the `encryption_key=`, only through S3 (`kms:ViaService`)",
    "datasets and results encrypted with the key",
)
KEY_VIA_BEDROCK = Permission(
    Holder.SERVICE_ROLE,
    ("kms:Decrypt", "kms:GenerateDataKey"),
    "the `encryption_key=`, only through Bedrock (`kms:ViaService`), for knowledge-base jobs",
    "the evaluation calls the knowledge base through Bedrock with the job's key (user guide `rag-evaluation-security-data`)",
)
KEY_DESCRIBE = Permission(
    Holder.SERVICE_ROLE,
    ("kms:DescribeKey",),
    "the `encryption_key=`",
    "Bedrock checks the key before it starts the job",
)

# --- the handler ---------------------------------------------------------------------------------

JOB_MANAGE = Permission(
    Holder.HANDLER_ROLE,
    (
        "bedrock:GetEvaluationJob",
        "bedrock:StopEvaluationJob",
        "bedrock:BatchDeleteEvaluationJob",
        "bedrock:TagResource",
    ),
    "`evaluation-job/*` of this account and region",
    "the handler follows, stops and deletes the jobs it created, whose ids the service chooses; "
    "TagResource authorizes the jobTags sent with CreateEvaluationJob",
)
JOB_TAGS = Permission(
    Holder.HANDLER_ROLE,
    ("bedrock:ListTagsForResource", "bedrock:UntagResource"),
    "`evaluation-job/*` of this account and region",
    "the handler reads the request digest it tags each job with (GetEvaluationJob returns no tags) and "
    "removes the jobTags a deploy drops, keeping the job (TagResource, above, sets the new ones)",
)
JOB_CREATE = Permission(
    Holder.HANDLER_ROLE,
    ("bedrock:CreateEvaluationJob",),
    "`*`",
    "public reports say the call is authorized against resources the request names beyond the job, and that only "
    "`*` worked; what a job may use is bounded by its service role, the only role the handler may pass",
)
JOB_LIST = Permission(
    Holder.HANDLER_ROLE,
    ("bedrock:ListEvaluationJobs",),
    "`*`",
    "after a ConflictException the handler adopts the job of that name; list actions authorize on no resource",
)
PASS_SERVICE_ROLE = Permission(
    Holder.HANDLER_ROLE,
    ("iam:PassRole",),
    "each job's service role, only with `iam:PassedToService = bedrock.amazonaws.com`",
    "CreateEvaluationJob passes the service role to Bedrock",
)
INGESTION = Permission(
    Holder.HANDLER_ROLE,
    ("bedrock:StartIngestionJob", "bedrock:GetIngestionJob"),
    "each knowledge base of the stack whose ingestion is awaited",
    "`KnowledgeBaseIngestion` starts and follows the ingestion before the evaluation",
)
KEY_USE_HANDLER = Permission(
    Holder.HANDLER_ROLE,
    ("kms:Decrypt", "kms:GenerateDataKey", "kms:DescribeKey"),
    "the `encryption_key=`",
    "CreateEvaluationJob with customerEncryptionKeyId is checked against the caller's use of the key",
)
LOG_WRITE = ("logs:CreateLogStream", "logs:PutLogEvents")
HANDLER_LOGS = Permission(Holder.HANDLER_ROLE, LOG_WRITE, "`HandlerLogs`", "the provider's one log group (3 months)")

# --- the Provider framework ----------------------------------------------------------------------

FRAMEWORK_INVOKE = Permission(
    Holder.FRAMEWORK_ROLES,
    ("lambda:InvokeFunction", "lambda:GetFunction"),
    "`OnEvent` and `IsComplete` (any version: `<function ARN>:*`)",
    "the framework relays each event to the handler",
    by_cdk=True,
)
FRAMEWORK_START_WAITER = Permission(
    Holder.FRAMEWORK_ROLES,
    ("states:StartExecution",),
    "the waiter state machine",
    "an asynchronous delete is awaited by the state machine",
    by_cdk=True,
)
FRAMEWORK_LOGS = Permission(
    Holder.FRAMEWORK_ROLES, LOG_WRITE, "`HandlerLogs`", "the provider's one log group, which the framework shares with the handler (3 months)"
)
WAITER_INVOKE = Permission(
    Holder.WAITER_ROLE,
    ("lambda:InvokeFunction",),
    "the framework's `isComplete` and `onTimeout` functions (any version: `<function ARN>:*`)",
    "each poll is one invocation",
    by_cdk=True,
)

# --- dataset uploads -----------------------------------------------------------------------------

UPLOAD_READ_ASSET = Permission(
    Holder.UPLOAD_ROLE,
    ("s3:GetObject",),
    "each dataset's zip in the CDK asset bucket (one object each)",
    "the upload copies the dataset out of the asset CDK published",
)
UPLOAD_LIST = Permission(
    Holder.UPLOAD_ROLE,
    ("s3:ListBucket",),
    "the evaluation bucket",
    "`aws s3 sync` lists the destination before it copies",
)
UPLOAD_WRITE = Permission(
    Holder.UPLOAD_ROLE,
    ("s3:PutObject", "s3:AbortMultipartUpload"),
    "each dataset's own key, `datasets/<content digest>/<file name>`",
    "the dataset is written once; nothing is deleted or overwritten elsewhere",
)
UPLOAD_LOGS = Permission(Holder.UPLOAD_ROLE, LOG_WRITE, "`UploadLogs`", "the upload function's log group (3 months)")

# --- server access logs -------------------------------------------------------------------------

ACCESS_LOG_DELIVERY = Permission(
    Holder.ACCESS_LOGS_POLICY,
    ("s3:PutObject",),
    "`evaluation-bucket/*` in the access log bucket",
    "S3 writes the evaluation bucket's access logs",
    by_cdk=True,
)

# --- the customer managed key -------------------------------------------------------------------

KEY_POLICY_USE = Permission(
    Holder.KEY_POLICY,
    ("kms:GenerateDataKey", "kms:Decrypt"),
    "the key itself, with `aws:SourceAccount`, `aws:SourceArn` and "
    "`kms:EncryptionContext:evaluationJobArn` = this account's `evaluation-job/*`",
    "Bedrock encrypts the job's data with the key",
)
KEY_POLICY_DESCRIBE = Permission(
    Holder.KEY_POLICY,
    ("kms:DescribeKey",),
    "the key itself, with `aws:SourceAccount` and `aws:SourceArn`",
    "Bedrock checks the key",
)

# --- human review: the flow definition's role, and what the job's role and the handler need for it ---

HUMAN_REVIEW_OUTPUT = Permission(
    Holder.SERVICE_ROLE,
    ("s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload"),
    "objects under the output prefix of the job's `HumanFlowDefinition` (`human-reviews/<name prefix>/*`)",
    "the Bedrock service role must be able to use the flow definition's output location (user guide)",
)
FLOW_DATASET_READ = Permission(
    Holder.FLOW_DEFINITION_ROLE,
    ("s3:GetObject",),
    "each dataset object of the human jobs that use the flow definition",
    "SageMaker reads the prompts the workers see",
)
FLOW_DATASET_LIST = Permission(
    Holder.FLOW_DEFINITION_ROLE,
    ("s3:ListBucket",),
    "each of those datasets' buckets",
    "the documented dataset policy; it reveals key names only",
)
FLOW_OUTPUT_BUCKET = Permission(
    Holder.FLOW_DEFINITION_ROLE,
    ("s3:ListBucket", "s3:GetBucketLocation", "s3:ListBucketMultipartUploads"),
    "the flow definition's output bucket and the output buckets of the jobs that use it",
    "SageMaker checks the output locations and resumes multipart uploads",
)
FLOW_OUTPUT_OBJECTS = Permission(
    Holder.FLOW_DEFINITION_ROLE,
    ("s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload"),
    "objects under the flow definition's output prefix and under the output prefixes of the jobs that use it",
    "SageMaker writes the workers' answers and reads what Bedrock prepared for each human loop",
)
FLOW_KEY_VIA_S3 = Permission(
    Holder.FLOW_DEFINITION_ROLE,
    ("kms:Decrypt", "kms:GenerateDataKey"),
    "the flow definition's `encryption_key=`, only through S3 (`kms:ViaService`)",
    "the workers' answers are encrypted with the key",
)
FLOW_DEFINITION_MANAGE = Permission(
    Holder.HANDLER_ROLE,
    ("sagemaker:CreateFlowDefinition", "sagemaker:DescribeFlowDefinition", "sagemaker:DeleteFlowDefinition"),
    "`flow-definition/<name prefix>-*` of this account and region, for each `HumanFlowDefinition`",
    "the handler creates each version of the flow definition (prefix + digest), waits until it is active and deletes it",
)
PASS_FLOW_ROLE = Permission(
    Holder.HANDLER_ROLE,
    ("iam:PassRole",),
    "each flow definition's role, only with `iam:PassedToService = sagemaker.amazonaws.com`",
    "CreateFlowDefinition passes the role to SageMaker",
)

# --- waiting for a job and reading its scores (JobWait, QualityGate) ----------------------------------

RESULTS_LIST = Permission(
    Holder.HANDLER_ROLE,
    ("s3:ListBucket",),
    "the job's output bucket, only with `s3:prefix` under the job's own output prefix",
    "result files are found by listing the job's prefix (their names are chosen by the service); only for a job with `wait=`",
)
RESULTS_READ = Permission(
    Holder.HANDLER_ROLE,
    ("s3:GetObject",),
    "the objects under the job's own output prefix (`<prefix>*`)",
    "the handler reads the job's result records to compute its scores and check its quality gate; only for a job with `wait=`",
)
RESULTS_DECRYPT = Permission(
    Holder.HANDLER_ROLE,
    ("kms:Decrypt",),
    "the KMS key of the job's output bucket, and a raw request's `customerEncryptionKeyId` given as an ARN",
    "result files written with a customer managed key are read with it; only for a job with `wait=`",
)
STACK_STATUS = Permission(
    Holder.HANDLER_ROLE,
    ("cloudformation:DescribeStacks",),
    "the stack itself (its own stack id)",
    "a results resource asks whether its stack is rolling back: a rollback to an earlier job is never refused",
)
START_POLLER = Permission(
    Holder.HANDLER_ROLE,
    ("states:StartExecution",),
    "the stack's poller state machine",
    "a wait longer than 35 minutes starts one poller execution per job version",
)
POLL_JOBS = Permission(
    Holder.POLLER_ROLE,
    ("bedrock:GetEvaluationJob",),
    "`evaluation-job/*` of this account and region",
    "the poller follows the stack's waited jobs, whose ids the service chooses",
)
POLLER_LOGS = Permission(Holder.POLLER_ROLE, LOG_WRITE, "`PollerLogs`", "the poller function's own log group (3 months)")
POLLER_INVOKE = Permission(
    Holder.POLLER_ROLE,
    ("lambda:InvokeFunction",),
    "the `Poll` function (any version: `<function ARN>:*`)",
    "each poll is one invocation by the state machine",
    by_cdk=True,
)

PERMISSIONS: tuple[Permission, ...] = tuple(value for value in list(globals().values()) if isinstance(value, Permission))


def actions_of(holder: Holder) -> frozenset[str]:
    """Every action the table lets this holder have."""
    return frozenset(action for p in PERMISSIONS if p.holder is holder for action in p.actions)
