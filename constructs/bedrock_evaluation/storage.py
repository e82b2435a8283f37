"""The stack's evaluation bucket: uploaded datasets under datasets/, results under results/."""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_deployment as s3_deployment
from constructs import Construct

from .lint import acknowledge_role_dependencies
from .datasets import Dataset, DatasetLocation, _LocalFile, _S3Object, content_digest

# The console's human-review task UI reads results from this origin, with GET only.
HUMAN_REVIEW_ORIGIN = "https://mturk-console-template-preview-hooks.s3.amazonaws.com"
DATASETS_PREFIX = "datasets/"
RESULTS_PREFIX = "results/"


class EvaluationBucket(Construct):
    """One per stack, shared by every job that is not given its own bucket."""

    CONSTRUCT_ID = "BedrockEvaluationBucket"

    @classmethod
    def of(cls, scope: Construct) -> EvaluationBucket:
        stack = Stack.of(scope)
        existing = stack.node.try_find_child(cls.CONSTRUCT_ID)
        return existing if isinstance(existing, EvaluationBucket) else cls(stack, cls.CONSTRUCT_ID)

    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        self.bucket = s3.Bucket(
            self,
            "Bucket",
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            encryption=s3.BucketEncryption.S3_MANAGED,
            enforce_ssl=True,
            versioned=True,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            # Results outlive the stack: they are what the evaluations cost.
            removal_policy=RemovalPolicy.RETAIN,
            lifecycle_rules=[s3.LifecycleRule(abort_incomplete_multipart_upload_after=Duration.days(7))],
        )

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
        upload_id = f"Dataset{digest}"
        upload = self.node.try_find_child(upload_id)
        if upload is None:
            upload = s3_deployment.BucketDeployment(
                self,
                upload_id,
                sources=[s3_deployment.Source.asset(str(path.parent), exclude=["*", f"!{path.name}"])],
                destination_bucket=self.bucket,
                destination_key_prefix=prefix,
                # Earlier datasets stay: finished jobs point at them.
                prune=False,
                retain_on_delete=True,
            )
            # The upload function is a singleton at stack level.
            stack = Stack.of(self)
            for child in stack.node.children:
                if child.node.id.startswith("Custom::CDKBucketDeployment"):
                    acknowledge_role_dependencies(child)
        key = f"{prefix}{path.name}"
        return DatasetLocation(
            s3_uri=f"s3://{self.bucket.bucket_name}/{key}", bucket=self.bucket, key=key, upload=upload
        )


def dataset_location(scope: Construct, dataset: Dataset) -> DatasetLocation | None:
    """Where the job reads the dataset from; None for built-in datasets."""
    if isinstance(dataset.source, _LocalFile):
        return EvaluationBucket.of(scope).upload(dataset)
    if isinstance(dataset.source, _S3Object):
        bucket, key = dataset.source.bucket, dataset.source.key
        return DatasetLocation(s3_uri=f"s3://{bucket.bucket_name}/{key}", bucket=bucket, key=key, upload=None)
    return None
