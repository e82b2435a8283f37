"""The evaluation job's service role and exactly what it may touch."""

from __future__ import annotations

from aws_cdk import Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

from .models import ModelAccess

BEDROCK = "bedrock.amazonaws.com"
# Read on datasets and results; write only under the job's own output prefix.
DATASET_OBJECT_ACTIONS = ["s3:GetObject"]
OUTPUT_BUCKET_ACTIONS = ["s3:ListBucket", "s3:GetBucketLocation", "s3:ListBucketMultipartUploads"]
OUTPUT_OBJECT_ACTIONS = ["s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload"]
# Evaluations call models directly and, for larger datasets, through batch inference.
MODEL_ACTIONS = [
    "bedrock:InvokeModel",
    "bedrock:InvokeModelWithResponseStream",
    "bedrock:CreateModelInvocationJob",
    "bedrock:StopModelInvocationJob",
]


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


def grant_dataset_read(role: iam.IRole, *, bucket_arn: str, object_arn: str) -> None:
    role.add_to_principal_policy(iam.PolicyStatement(actions=DATASET_OBJECT_ACTIONS, resources=[object_arn]))
    # The documented dataset policy includes ListBucket; key names are all it reveals.
    role.add_to_principal_policy(iam.PolicyStatement(actions=["s3:ListBucket"], resources=[bucket_arn]))


def grant_output_write(role: iam.IRole, *, bucket_arn: str, objects_arn: str) -> None:
    role.add_to_principal_policy(iam.PolicyStatement(actions=OUTPUT_BUCKET_ACTIONS, resources=[bucket_arn]))
    role.add_to_principal_policy(iam.PolicyStatement(actions=OUTPUT_OBJECT_ACTIONS, resources=[objects_arn]))


def grant_model_use(role: iam.IRole, access: ModelAccess) -> None:
    if access.models:
        role.add_to_principal_policy(iam.PolicyStatement(actions=MODEL_ACTIONS, resources=access.models))
    if access.inference_profiles:
        role.add_to_principal_policy(
            iam.PolicyStatement(actions=["bedrock:GetInferenceProfile"], resources=access.inference_profiles)
        )
    if access.sagemaker_endpoints:
        role.add_to_principal_policy(
            iam.PolicyStatement(actions=["sagemaker:InvokeEndpoint"], resources=access.sagemaker_endpoints)
        )


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
            actions=["kms:GenerateDataKey", "kms:Decrypt"],
            resources=["*"],
            conditions={**source, "ArnLike": {"aws:SourceArn": jobs, "kms:EncryptionContext:evaluationJobArn": jobs}},
        )
    )
    key.add_to_resource_policy(
        iam.PolicyStatement(
            sid="BedrockEvaluationJobsDescribeKey",
            principals=[iam.ServicePrincipal(BEDROCK)],
            actions=["kms:DescribeKey"],
            resources=["*"],
            conditions=source,
        )
    )
    if service_role is not None:
        service_role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["kms:Decrypt", "kms:GenerateDataKey"],
                resources=[key.key_arn],
                conditions={"StringEquals": {"kms:ViaService": f"s3.{stack.region}.{stack.url_suffix}"}},
            )
        )
        service_role.add_to_principal_policy(iam.PolicyStatement(actions=["kms:DescribeKey"], resources=[key.key_arn]))
    caller.add_to_principal_policy(
        iam.PolicyStatement(actions=["kms:Decrypt", "kms:GenerateDataKey", "kms:DescribeKey"], resources=[key.key_arn])
    )


def grant_human_workflow(role: iam.IRole, stack: Stack, flow_definition_arn: str) -> None:
    """A human job starts and manages SageMaker human loops through its flow definition."""
    role.add_to_principal_policy(
        iam.PolicyStatement(actions=["sagemaker:DescribeFlowDefinition", "sagemaker:StartHumanLoop"], resources=[flow_definition_arn])
    )
    # Human loops are named by the service when the job runs: only a wildcard can name them.
    role.add_to_principal_policy(
        iam.PolicyStatement(
            actions=["sagemaker:DescribeHumanLoop", "sagemaker:StopHumanLoop", "sagemaker:DeleteHumanLoop"],
            resources=[stack.format_arn(service="sagemaker", resource="human-loop", resource_name="*")],
        )
    )
