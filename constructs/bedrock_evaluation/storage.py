"""The stack's evaluation bucket: uploaded datasets under datasets/, results under results/."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jsii
from aws_cdk import Annotations, Duration, RemovalPolicy, Size, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_assets as s3_assets
from aws_cdk import aws_s3_deployment as s3_deployment
from constructs import Construct, IValidation

from . import access
from .access import Holder
from .boundary import checked, checked_construct
from .compliance import (
    ACCESS_LOG_DESTINATION,
    CDK_UPLOAD_RUNTIME,
    ENVIRONMENT_WITHOUT_SECRETS,
    LOGS_SERVICE_ENCRYPTED,
    NO_DEAD_LETTER_QUEUE,
    NO_RESERVED_CONCURRENCY,
    NO_VPC,
    WildcardAcknowledgements,
    acknowledge,
    acknowledge_all,
    cfn_resources,
)
from .datasets import Dataset, DatasetLocation, _LocalFile, _S3Object, content_digest
from .grants import grant
from .lint import acknowledge_role_dependencies
from .scopes import one_per_stack

# The console's human-review task UI reads results from this origin, with GET only.
HUMAN_REVIEW_ORIGIN = "https://mturk-console-template-preview-hooks.s3.amazonaws.com"
DATASETS_PREFIX = "datasets/"
RESULTS_PREFIX = "results/"
ACCESS_LOGS_PREFIX = "evaluation-bucket/"
# CDK shares one BucketDeployment function per stack and per (memory, ephemeral storage, VPC).
# Ours runs with our own role, so it must never be shared with a BucketDeployment of the app:
# these settings give it its own function (and EvaluationBucket refuses a collision at synth).
UPLOAD_MEMORY_MIB = 512
S3_LOG_DELIVERY_BY_POLICY = "@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy"
UPLOAD_EPHEMERAL_STORAGE = Size.mebibytes(1024)


class EvaluationBucket(Construct):
    """One per stack, shared by every job that is not given its own bucket.

    Public access blocked, TLS only, versioned, retained; server access logs go to
    ``access_logs``. Local datasets are copied in by a function with its own role, which may
    read each dataset's asset and write each dataset's key, and nothing else.
    """

    CONSTRUCT_ID = "BedrockEvaluationBucket"

    @classmethod
    @checked
    def of(cls, scope: Construct) -> EvaluationBucket:
        return one_per_stack(scope, cls.CONSTRUCT_ID, cls, lambda stack: cls(stack, cls.CONSTRUCT_ID))

    @checked_construct
    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        # Log delivery through a bucket policy (logging.s3.amazonaws.com, with aws:SourceArn and
        # aws:SourceAccount), never through ACLs, whatever the app's feature flags say.
        self.node.set_context(S3_LOG_DELIVERY_BY_POLICY, True)
        self._acknowledgements = WildcardAcknowledgements.of(self)
        secure: dict[str, Any] = {
            "block_public_access": s3.BlockPublicAccess.BLOCK_ALL,
            # Server access logs can only be delivered to an SSE-S3 bucket; the same for both.
            "encryption": s3.BucketEncryption.S3_MANAGED,
            "enforce_ssl": True,
            "versioned": True,
            "object_ownership": s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            # Results outlive the stack: they are what the evaluations cost. So does who read them.
            "removal_policy": RemovalPolicy.RETAIN,
            "lifecycle_rules": [s3.LifecycleRule(abort_incomplete_multipart_upload_after=Duration.days(7))],
        }
        self.access_logs = s3.Bucket(self, "AccessLogs", **secure)
        acknowledge(self.access_logs.node.default_child, ACCESS_LOG_DESTINATION)  # type: ignore[arg-type]
        self.bucket = s3.Bucket(
            self, "Bucket", server_access_logs_bucket=self.access_logs, server_access_logs_prefix=ACCESS_LOGS_PREFIX, **secure
        )
        self._upload_role: iam.Role | None = None
        self._upload_logs: logs.LogGroup | None = None
        self.node.add_validation(_OwnUploadFunction(self))

    def allow_human_review(self) -> None:
        """The documented minimal CORS rule, added once, only when a human job writes here."""
        if not getattr(self, "_human_review", False):
            self.bucket.add_cors_rule(allowed_methods=[s3.HttpMethods.GET], allowed_origins=[HUMAN_REVIEW_ORIGIN])
            self._human_review = True

    def upload(self, dataset: Dataset) -> DatasetLocation:
        """Upload a local dataset once, under a key that changes when its content does."""
        assert isinstance(dataset.source, _LocalFile)
        path = dataset.source.path
        digest = content_digest(path)
        prefix = f"{DATASETS_PREFIX}{digest}/"
        key = f"{prefix}{path.name}"
        upload_id = f"Dataset{digest}"
        existing = self.node.try_find_child(upload_id)
        upload = existing if isinstance(existing, s3_deployment.BucketDeployment) else self._deploy(upload_id, path.parent, path.name, prefix)
        return DatasetLocation(
            s3_uri=f"s3://{self.bucket.bucket_name}/{key}", bucket=self.bucket, key=key, upload=upload
        )

    @property
    def upload_role(self) -> iam.Role | None:
        """The dataset upload function's role, once a local dataset has been uploaded."""
        return self._upload_role

    def _deploy(self, upload_id: str, directory: Path, name: str, prefix: str) -> s3_deployment.BucketDeployment:
        asset = s3_assets.Asset(self, f"{upload_id}Asset", path=str(directory), exclude=["*", f"!{name}"])
        role = self._role_for_uploads()
        self._allow(access.UPLOAD_READ_ASSET, [asset.bucket.arn_for_objects(asset.s3_object_key)])
        self._allow(access.UPLOAD_WRITE, [self.bucket.arn_for_objects(f"{prefix}{name}")])
        deployment = s3_deployment.BucketDeployment(
            self,
            upload_id,
            sources=[s3_deployment.Source.bucket(asset.bucket, asset.s3_object_key)],
            destination_bucket=self.bucket,
            destination_key_prefix=prefix,
            # Earlier datasets stay: finished jobs point at them.
            prune=False,
            retain_on_delete=True,
            # CDK would grant its own role s3:GetObject*, s3:List*, s3:DeleteObject*... on both
            # buckets; ours has exactly the statements above, and ignores CDK's grants.
            role=role.without_policy_updates(),
            log_group=self._upload_logs,
            memory_limit=UPLOAD_MEMORY_MIB,
            ephemeral_storage_size=UPLOAD_EPHEMERAL_STORAGE,
        )
        # The copy must not start before the role's policy exists.
        deployment.node.add_dependency(role)
        function = self.upload_function()
        if function is not None:
            self._acknowledge_upload_function(function)
        return deployment

    def upload_function(self) -> lambda_.Function | None:
        """The stack's upload function that runs with our role (a CDK singleton at stack level)."""
        if self._upload_role is None:
            return None
        ours = self._upload_role.without_policy_updates().node.path
        for child in Stack.of(self).node.children:
            if isinstance(child, lambda_.Function) and child.role is not None and child.role.node.path == ours:
                return child
        return None

    def _acknowledge_upload_function(self, function: lambda_.Function) -> None:
        """Once, when the first upload has created the function."""
        if getattr(self, "_upload_function_acknowledged", False):
            return
        self._upload_function_acknowledged = True
        resource = function.node.default_child
        for finding in (CDK_UPLOAD_RUNTIME, NO_DEAD_LETTER_QUEUE, NO_VPC, NO_RESERVED_CONCURRENCY, ENVIRONMENT_WITHOUT_SECRETS):
            acknowledge(resource, finding)  # type: ignore[arg-type]
        acknowledge_role_dependencies(function)

    def _role_for_uploads(self) -> iam.Role:
        if self._upload_role is None:
            self._upload_role = iam.Role(
                self,
                "UploadRole",
                assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
                description="Copies local evaluation datasets into the evaluation bucket",
            )
            self._acknowledgements.watch(self._upload_role, Holder.UPLOAD_ROLE)
            self._upload_logs = logs.LogGroup(
                self, "UploadLogs", retention=logs.RetentionDays.THREE_MONTHS, removal_policy=RemovalPolicy.DESTROY
            )
            acknowledge_all(cfn_resources(self._upload_logs, "AWS::Logs::LogGroup"), LOGS_SERVICE_ENCRYPTED)
            grant(self._upload_role, access.UPLOAD_LOGS, [self._upload_logs.log_group_arn])
            self._allow(access.UPLOAD_LIST, [self.bucket.bucket_arn])
        return self._upload_role

    def _allow(self, permission: access.Permission, resources: list[str]) -> None:
        assert self._upload_role is not None
        grant(self._upload_role, permission, resources)


@jsii.implements(IValidation)
class _OwnUploadFunction:
    """Our uploads and the app's BucketDeployments must not share a function: ours has no CDK
    grants, theirs would have our narrow role (or ours their broad one)."""

    def __init__(self, bucket: EvaluationBucket) -> None:
        self._bucket = bucket

    def validate(self) -> list[str]:
        role = self._bucket.upload_role
        if role is None:
            return []
        ours = role.without_policy_updates().node.path
        errors = []
        for construct in Stack.of(self._bucket).node.find_all():
            if not isinstance(construct, s3_deployment.BucketDeployment):
                continue
            mine = construct.node.path.startswith(self._bucket.node.path + "/")
            if mine != (construct.handler_role.node.path == ours):
                errors.append(
                    f"{construct.node.path} shares its upload function with the evaluation bucket's dataset uploads "
                    f"(memory_limit={UPLOAD_MEMORY_MIB} and ephemeral_storage_size={UPLOAD_EPHEMERAL_STORAGE.to_mebibytes()} MiB): "
                    "give this BucketDeployment another memory_limit"
                )
        return errors


def allow_human_review(scope: Construct, bucket: s3.IBucket | None) -> None:
    """The documented CORS rule on a human job's output bucket (user guide: only GET, only from the
    review console's origin): on the evaluation bucket (None), on a bucket of the app, or a warning
    for an imported bucket, whose configuration the stack does not own."""
    if bucket is None:
        EvaluationBucket.of(scope).allow_human_review()
    elif isinstance(bucket, s3.Bucket):
        if not getattr(bucket, "_bedrock_human_review", False):
            bucket.add_cors_rule(allowed_methods=[s3.HttpMethods.GET], allowed_origins=[HUMAN_REVIEW_ORIGIN])
            bucket._bedrock_human_review = True  # type: ignore[attr-defined]
    else:
        human_review_cors_unset(scope, f"the output bucket {bucket.node.path} is imported, so this stack cannot change its CORS")


def human_review_cors_unset(scope: Construct, why: str) -> None:
    Annotations.of(scope).add_warning_v2(
        "bedrock-evaluation:human-review-cors",
        f"{why}: for workers to open this human job's results in the console, add the CORS rule AllowedMethods GET, "
        f"AllowedOrigins {HUMAN_REVIEW_ORIGIN} to that bucket",
    )


def dataset_location(scope: Construct, dataset: Dataset) -> DatasetLocation | None:
    """Where the job reads the dataset from; None for built-in datasets."""
    if isinstance(dataset.source, _LocalFile):
        return EvaluationBucket.of(scope).upload(dataset)
    if isinstance(dataset.source, _S3Object):
        bucket, key = dataset.source.bucket, dataset.source.key
        return DatasetLocation(s3_uri=f"s3://{bucket.bucket_name}/{key}", bucket=bucket, key=key, upload=None)
    return None
