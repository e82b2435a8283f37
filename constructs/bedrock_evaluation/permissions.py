"""The evaluation job's service role and exactly what it may touch (see access.py for why)."""

from __future__ import annotations

from aws_cdk import Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

from . import access
from .compliance import record_grant
from .models import ModelAccess

BEDROCK = "bedrock.amazonaws.com"
# Read on datasets and results; write only under the job's own output prefix.
DATASET_OBJECT_ACTIONS = list(access.DATASET_READ.actions)
OUTPUT_BUCKET_ACTIONS = list(access.OUTPUT_BUCKET.actions)
OUTPUT_OBJECT_ACTIONS = list(access.OUTPUT_OBJECTS.actions)
# Evaluations call models directly and, for larger datasets, through batch inference.
MODEL_ACTIONS = list(access.MODEL_USE.actions)


def evaluation_job_arns(stack: Stack) -> str:
    """Every evaluation job of this account and region: job ids are chosen by the service."""
    return stack.format_arn(service="bedrock", resource="evaluation-job", resource_name="*")


class EvaluationServiceRole(iam.Role):
    """A role only Bedrock evaluation jobs of this account and region can assume.

    Each EvaluationJob creates one unless given ``role=``; pass one of these to several jobs to
    share it (each job adds its own grants), which keeps large suites within IAM's policy limits.
    """

    def __init__(self, scope: Construct, construct_id: str, *, description: str | None = None) -> None:
        stack = Stack.of(scope)
        principal = iam.ServicePrincipal(BEDROCK).with_conditions(
            {
                "StringEquals": {"aws:SourceAccount": stack.account},
                "ArnEquals": {"aws:SourceArn": evaluation_job_arns(stack)},
            }
        )
        super().__init__(
            scope,
            construct_id,
            assumed_by=principal,
            description=description or "Service role of Bedrock evaluation jobs",
        )


def create_service_role(scope: Construct, construct_id: str) -> iam.Role:
    return EvaluationServiceRole(scope, construct_id, description="Service role of a Bedrock evaluation job")


def _grant(
    role: iam.IRole, permission: access.Permission, resources: list[str], conditions: dict[str, object] | None = None
) -> None:
    """One statement of the table, recorded so that the wildcards among its resources can be
    acknowledged even on a role that is not ours."""
    role.add_to_principal_policy(
        iam.PolicyStatement(actions=list(permission.actions), resources=resources, conditions=conditions)
    )
    record_grant(role, permission.holder, resources)


def grant_dataset_read(role: iam.IRole, *, bucket_arn: str, object_arn: str) -> None:
    _grant(role, access.DATASET_READ, [object_arn])
    # The documented dataset policy includes ListBucket; key names are all it reveals.
    _grant(role, access.DATASET_LIST, [bucket_arn])


def grant_output_write(role: iam.IRole, *, bucket_arn: str, objects_arn: str) -> None:
    _grant(role, access.OUTPUT_BUCKET, [bucket_arn])
    _grant(role, access.OUTPUT_OBJECTS, [objects_arn])


def grant_model_use(role: iam.IRole, models: ModelAccess) -> None:
    if models.models:
        _grant(role, access.MODEL_USE, models.models)
    if models.inference_profiles:
        _grant(role, access.INFERENCE_PROFILE, models.inference_profiles)
    if models.sagemaker_endpoints:
        _grant(role, access.SAGEMAKER_ENDPOINT, models.sagemaker_endpoints)


def grant_encryption_key(key: kms.IKey, *, service_role: iam.IRole | None, caller: iam.IRole) -> None:
    """The uses of a customer managed key an evaluation job needs.

    Bedrock itself (key policy, only for evaluation jobs of this account, with the job in the
    encryption context), the service role through S3 only, and the handler that creates the job.
    """
    stack = Stack.of(key)
    jobs = evaluation_job_arns(stack)
    source = {"StringEquals": {"aws:SourceAccount": stack.account}, "ArnLike": {"aws:SourceArn": jobs}}
    # In a key policy, "*" as the resource means this key.
    key.add_to_resource_policy(
        iam.PolicyStatement(
            sid="BedrockEvaluationJobsUseKey",
            principals=[iam.ServicePrincipal(BEDROCK)],
            actions=list(access.KEY_POLICY_USE.actions),
            resources=["*"],
            conditions={**source, "ArnLike": {"aws:SourceArn": jobs, "kms:EncryptionContext:evaluationJobArn": jobs}},
        )
    )
    key.add_to_resource_policy(
        iam.PolicyStatement(
            sid="BedrockEvaluationJobsDescribeKey",
            principals=[iam.ServicePrincipal(BEDROCK)],
            actions=list(access.KEY_POLICY_DESCRIBE.actions),
            resources=["*"],
            conditions=source,
        )
    )
    if service_role is not None:
        via_s3 = {"StringEquals": {"kms:ViaService": f"s3.{stack.region}.{stack.url_suffix}"}}
        _grant(service_role, access.KEY_VIA_S3, [key.key_arn], via_s3)
        _grant(service_role, access.KEY_DESCRIBE, [key.key_arn])
    _grant(caller, access.KEY_USE_HANDLER, [key.key_arn])


def grant_human_workflow(role: iam.IRole, stack: Stack, flow_definition_arn: str) -> None:
    """A human job starts and manages SageMaker human loops through its flow definition."""
    _grant(role, access.HUMAN_FLOW, [flow_definition_arn])
    # Human loops are named by the service when the job runs: only a wildcard can name them.
    _grant(role, access.HUMAN_LOOPS, [stack.format_arn(service="sagemaker", resource="human-loop", resource_name="*")])
