"""HumanFlowDefinition: the SageMaker flow definition a human evaluation job routes its prompts
through (work team, Bedrock's evaluation task UI, its own SageMaker role, an output location), as
a CloudFormation resource, which CloudFormation itself does not have.

Facts about the service, with their sources:
- CreateFlowDefinition needs ``HumanLoopRequestSource.AwsManagedHumanLoopRequestSource =
  "AWS/Bedrock/Evaluation"`` and the task UI SageMaker owns, ``arn:<partition>:sagemaker:<region>:
  394669845002:human-task-ui/Evaluation``, of which only the region may change (Bedrock user guide,
  model-evaluation-jobs-management-create-human).
- Both the SageMaker role and the Bedrock service role need the datasets and the output locations
  (user guide, model-eval-service-roles: "attach this policy to both").
- The request shape, limits and patterns are botocore's sagemaker model (CreateFlowDefinition).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import cache
from typing import Any

from aws_cdk import Annotations, Duration, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from botocore.model import Shape
from constructs import Construct

from . import access, contract, naming, service_model
from .access import Holder
from .boundary import checked_construct
from .compliance import WildcardAcknowledgements
from .errors import NOT_GIVEN, EvaluationJobConfigError, Violation
from .grants import grant
from .provider import SAGEMAKER, EvaluationJobProvider, attribute_of
from .references import S3Location
from .storage import EvaluationBucket
from .tokens import is_unresolved
from .work_team import WORKFORCE_NEEDED, EvaluationWorkTeam

HUMAN_REVIEWS_PREFIX = "human-reviews/"
DEFAULT_TASK_TITLE = "Amazon Bedrock model evaluation"
DEFAULT_TASK_DESCRIPTION = "Rate the model responses to each prompt as the job's instructions ask."
_STAND_IN_NAME = "placeholder-name"
_WARNING_ID = "bedrock-evaluation:flow-definition"


@cache
def create_flow_definition_shape() -> Shape:
    """CreateFlowDefinition's input shape, from the installed botocore (the handler bundles the same model)."""
    return service_model.service_model("sagemaker").operation_model("CreateFlowDefinition").input_shape


class HumanFlowDefinition(Construct):
    """The human review workflow of human evaluation jobs: who rates (a private work team), in
    which UI (Bedrock's evaluation task UI), how many workers per prompt, and where their answers go.

    Pass it to ``HumanWorkflow(flow_definition=...)``; each job that uses it gives its role the
    job's datasets and output location, and the job's role this flow definition's output location.
    A change of any prop makes a new flow definition under a new name (the old one is deleted).
    """

    @checked_construct
    def __init__(  # noqa: PLR0913 (keyword-only props, as in generated CDK constructs)
        self,
        scope: Construct,
        construct_id: str,
        *,
        work_team: EvaluationWorkTeam | str | None = None,
        task_title: str | None = None,
        task_description: str | None = None,
        task_count: int = 1,
        task_availability_lifetime: Duration | None = None,
        task_time_limit: Duration | None = None,
        task_keywords: Sequence[str] | None = None,
        encryption_key: kms.IKey | None = None,
        name_prefix: str | None = None,
    ) -> None:
        """
        :param work_team: who rates: an ``EvaluationWorkTeam``, or the ARN of a private work team that
            already exists. Required; either way the account's private workforce must already exist.
        :param task_title: what workers see in their task list. @default - "Amazon Bedrock model evaluation"
        :param task_description: @default - "Rate the model responses to each prompt as the job's instructions ask."
        :param task_count: workers who rate each prompt, 1 to 3. @default - 1
        :param task_availability_lifetime: how long a prompt waits for a worker. @default - SageMaker's default
        :param task_time_limit: how long a worker has for one prompt (at least 30 s). @default - SageMaker's default
        :param task_keywords: 1 to 5 keywords for workers to find the tasks. @default - none
        :param encryption_key: a KMS key for the workers' answers (OutputConfig.KmsKeyId).
            @default - the bucket's encryption
        :param name_prefix: each version is named this prefix, "-", and a 10-character digest of its
            request. @default - derived from the construct path
        """
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        self.name_prefix = name_prefix or naming.default_name_prefix(self.node.path)
        problems = self._prop_violations(work_team, name_prefix)
        if problems:
            raise EvaluationJobConfigError(self.node.path, problems)
        assert work_team is not None

        self.role = iam.Role(
            self,
            "Role",
            # Only SageMaker, acting for a resource of this account and region (confused deputy).
            assumed_by=iam.ServicePrincipal(SAGEMAKER).with_conditions(
                {
                    "StringEquals": {"aws:SourceAccount": stack.account},
                    "ArnLike": {"aws:SourceArn": stack.format_arn(service="sagemaker", resource="*")},
                }
            ),
            description="SageMaker human review workflow of Bedrock evaluation jobs",
        )
        WildcardAcknowledgements.of(self).watch(self.role, Holder.FLOW_DEFINITION_ROLE)
        self._granted: set[str] = set()
        self.output_bucket = EvaluationBucket.of(self).bucket
        self.output_prefix = f"{HUMAN_REVIEWS_PREFIX}{self.name_prefix}/"
        self.output = S3Location(self.output_bucket.bucket_arn, self.output_bucket.arn_for_objects(f"{self.output_prefix}*"))
        self._allow(access.FLOW_OUTPUT_BUCKET, [self.output_bucket.bucket_arn])
        self._allow(access.FLOW_OUTPUT_OBJECTS, [self.output.objects_arn])
        self.encryption_key = encryption_key
        if encryption_key is not None:
            via_s3 = {"StringEquals": {"kms:ViaService": f"s3.{stack.region}.{stack.url_suffix}"}}
            grant(self.role, access.FLOW_KEY_VIA_S3, [encryption_key.key_arn], via_s3)

        self.request = self._request(
            work_team,
            task_title=task_title,
            task_description=task_description,
            task_count=task_count,
            availability=task_availability_lifetime,
            time_limit=task_time_limit,
            keywords=task_keywords,
        )
        errors, warnings = service_model.operation_violations({"FlowDefinitionName": _STAND_IN_NAME, **self.request}, create_flow_definition_shape())
        if errors:
            raise EvaluationJobConfigError(self.node.path, errors)
        for warning in warnings:
            if warning.value != contract.BEDROCK_HUMAN_LOOP_REQUEST_SOURCE:  # documented by the Bedrock user guide
                Annotations.of(self).add_warning_v2(_WARNING_ID, str(warning))

        provider = EvaluationJobProvider.of(self)
        provider.allow_flow_definitions(self.name_prefix, self.role)
        # SageMaker checks the role when the flow definition is created; the handler needs its grants.
        self.resource = provider.resource(
            self,
            contract.FLOW_DEFINITION_RESOURCE_TYPE,
            {contract.PROP_FLOW_DEFINITION: self.request, contract.PROP_FLOW_DEFINITION_NAME_PREFIX: self.name_prefix},
            after=[self.role, provider.role],
        )

    # --- attributes -------------------------------------------------------------------------

    @property
    def flow_definition_arn(self) -> str:
        """The ARN of the current version (a token): what ``humanWorkflowConfig.flowDefinitionArn`` names."""
        return attribute_of(self.resource, contract.ATTR_FLOW_DEFINITION_ARN)

    @property
    def flow_definition_name(self) -> str:
        return attribute_of(self.resource, contract.ATTR_FLOW_DEFINITION_NAME)

    @property
    def output_s3_uri(self) -> str:
        """Where the workers' answers are written: s3://<evaluation bucket>/human-reviews/<name prefix>/."""
        return f"s3://{self.output_bucket.bucket_name}/{self.output_prefix}"

    # --- what a job that uses it needs ------------------------------------------------------

    def allow_job(self, job: Construct, *, datasets: Iterable[S3Location], output: S3Location | None, service_role: iam.IRole | None) -> None:
        """A human job routes its prompts through this flow definition: this role gets the job's
        datasets and output location, the job's role (when the construct grants to it) this flow
        definition's output location, and the job starts only once this role's grants exist."""
        for location in datasets:
            self._allow(access.FLOW_DATASET_READ, [location.objects_arn])
            self._allow(access.FLOW_DATASET_LIST, [location.bucket_arn])
        if output is not None:
            self._allow(access.FLOW_OUTPUT_BUCKET, [output.bucket_arn])
            self._allow(access.FLOW_OUTPUT_OBJECTS, [output.objects_arn])
        else:
            Annotations.of(job).add_warning_v2(
                _WARNING_ID,
                "the job's output location is only known at deploy time: grant the flow definition's role "
                f"({self.role.node.path}) access to it yourself",
            )
        if service_role is not None:
            grant(service_role, access.OUTPUT_BUCKET, [self.output.bucket_arn])
            grant(service_role, access.HUMAN_REVIEW_OUTPUT, [self.output.objects_arn])
            if self.encryption_key is not None:
                stack = Stack.of(self)
                via_s3 = {"StringEquals": {"kms:ViaService": f"s3.{stack.region}.{stack.url_suffix}"}}
                grant(service_role, access.KEY_VIA_S3, [self.encryption_key.key_arn], via_s3)
        policy = self.role.node.try_find_child("DefaultPolicy")
        if policy is not None:
            job.node.add_dependency(policy)

    # --- the steps of the constructor --------------------------------------------------------

    @staticmethod
    def _prop_violations(work_team: EvaluationWorkTeam | str | None, name_prefix: str | None) -> list[Violation]:
        problems = naming.name_prefix_violations(name_prefix)
        if problems:
            problems = [Violation("name_prefix", v.value, v.rule) for v in problems]
        if work_team is None:
            problems.append(
                Violation(
                    "work_team",
                    NOT_GIVEN,
                    "is required: give an EvaluationWorkTeam, or the ARN of a private work team that already exists; "
                    + WORKFORCE_NEEDED,
                )
            )
        return problems

    def _request(  # noqa: PLR0913
        self,
        work_team: EvaluationWorkTeam | str,
        *,
        task_title: str | None,
        task_description: str | None,
        task_count: int,
        availability: Duration | None,
        time_limit: Duration | None,
        keywords: Sequence[str] | None,
    ) -> dict[str, Any]:
        stack = Stack.of(self)
        loop: dict[str, Any] = {
            "WorkteamArn": work_team.work_team_arn if isinstance(work_team, EvaluationWorkTeam) else work_team,
            # SageMaker's own task UI for Bedrock evaluations: only the region changes.
            "HumanTaskUiArn": stack.format_arn(
                service="sagemaker",
                account=contract.BEDROCK_HUMAN_TASK_UI_ACCOUNT,
                resource="human-task-ui",
                resource_name=contract.BEDROCK_HUMAN_TASK_UI_NAME,
            ),
            "TaskTitle": task_title if task_title is not None else DEFAULT_TASK_TITLE,
            "TaskDescription": task_description if task_description is not None else DEFAULT_TASK_DESCRIPTION,
            "TaskCount": task_count,
        }
        if availability is not None:
            loop["TaskAvailabilityLifetimeInSeconds"] = int(availability.to_seconds())
        if time_limit is not None:
            loop["TaskTimeLimitInSeconds"] = int(time_limit.to_seconds())
        if keywords is not None:
            loop["TaskKeywords"] = list(keywords)
        output: dict[str, Any] = {"S3OutputPath": self.output_s3_uri}
        if self.encryption_key is not None:
            output["KmsKeyId"] = self.encryption_key.key_arn
        return {
            "HumanLoopRequestSource": {"AwsManagedHumanLoopRequestSource": contract.BEDROCK_HUMAN_LOOP_REQUEST_SOURCE},
            "HumanLoopConfig": loop,
            "OutputConfig": output,
            "RoleArn": self.role.role_arn,
        }

    def _allow(self, permission: access.Permission, resources: list[str]) -> None:
        """Once per permission and resource: several jobs may share the dataset or the bucket."""
        fresh = []
        for resource in resources:
            key = f"{permission.actions}|{Stack.of(self).resolve(resource)!s}" if is_unresolved(resource) else f"{permission.actions}|{resource}"
            if key not in self._granted:
                self._granted.add(key)
                fresh.append(resource)
        if fresh:
            grant(self.role, permission, fresh)
