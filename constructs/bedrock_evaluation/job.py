"""EvaluationJob: one Amazon Bedrock evaluation job as a CloudFormation resource."""

from __future__ import annotations

import copy
import hashlib
import re
from collections.abc import Mapping, Sequence
from typing import Any

import jsii
from aws_cdk import (
    Annotations,
    AspectPriority,
    Aspects,
    CustomResource,
    IAspect,
    ITaggable,
    Stack,
    TagManager,
    TagType,
    Token,
)
from aws_cdk import aws_bedrock as bedrock
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct, IConstruct, IValidation

from . import access, service_model
from .configuration import BoundDataset, JobConfiguration, Rejected
from .custom_metrics import CustomMetric, HumanMetric, HumanWorkflow
from .datasets import Dataset
from .errors import EvaluationJobConfigError
from . import contract
from .knowledge_bases import KnowledgeBaseIngestion, data_sources_of
from .models import Model, model_access
from .permissions import (
    create_service_role,
    grant_dataset_read,
    grant_encryption_key,
    grant_human_workflow,
    grant_model_use,
    grant_output_write,
)
from .provider import SERVICE_TIMEOUT, EvaluationJobProvider
from .rag import RagSource
from .references import literal_s3_location, references, resource_arn
from .storage import RESULTS_PREFIX, EvaluationBucket, dataset_location
from .tasks import EvaluationTask

JobRemoval = contract.Removal
"""What deleting or replacing the resource does to its job: STOP (default), DELETE or RETAIN."""

_NAME_PREFIX = re.compile(r"[a-z0-9](-*[a-z0-9])*")
_PREFIX_SEGMENT = re.compile(r"[-!_*'().a-zA-Z0-9]+")
_WARNING_ID = "bedrock-evaluation"


@jsii.implements(ITaggable)
class EvaluationJob(Construct):
    """An Amazon Bedrock evaluation job, created by a custom resource when the stack deploys.

    Give either typed props (``model``, ``tasks``, optionally ``evaluator_model``) or a raw
    ``request`` in the shape of boto3's ``create_evaluation_job(**request)``. Jobs are
    immutable: any change to the request creates a new job under a new name, and the old one
    is then removed as ``removal`` says.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        model: Model | None = None,
        models: Sequence[Model] | None = None,
        rag: RagSource | None = None,
        tasks: Sequence[EvaluationTask] | None = None,
        evaluator_model: Model | None = None,
        custom_metrics: Sequence[CustomMetric] | None = None,
        custom_metrics_evaluator_model: Model | None = None,
        human_workflow: HumanWorkflow | None = None,
        human_metrics: Sequence[HumanMetric] | None = None,
        description: str | None = None,
        job_name: str | None = None,
        encryption_key: kms.IKey | None = None,
        tags: Mapping[str, str] | None = None,
        wait_for_ingestion: bool = True,
        request: Mapping[str, Any] | None = None,
        role: iam.IRole | None = None,
        output_bucket: s3.IBucket | None = None,
        output_prefix: str | None = None,
        job_name_prefix: str | None = None,
        removal: Any = None,
    ) -> None:
        """
        Give exactly one of ``model``, ``models`` or ``rag`` (or a ``request``).

        :param model: the model evaluated: ``Model.bedrock(...)`` or ``Model.precomputed_responses(...)``.
        :param models: one or two models, for human jobs that compare them.
        :param rag: a knowledge-base evaluation: ``RagSource.retrieve(...)``,
            ``RagSource.retrieve_and_generate(...)``, ``RagSource.external_sources(...)`` or
            ``RagSource.precomputed(...)``. Needs ``evaluator_model``.
        :param tasks: 1 to 5 datasets with their task type and metrics. Required unless ``request`` is given.
        :param evaluator_model: the judge model; makes a model evaluation LLM-as-a-judge, whose
            metrics are the judge metrics. @default - an automatic job with algorithmic metrics
        :param custom_metrics: up to 10 metrics a judge scores from your instructions; each name
            must also be in some task's metrics. @default - none
        :param custom_metrics_evaluator_model: the judge of the custom metrics. @default - evaluator_model
        :param human_workflow: makes this a human evaluation, routed through this flow definition.
        :param human_metrics: what human workers rate (1 to 10); the tasks' metrics name them.
        :param description: jobDescription, at most 200 characters. @default - none
        :param job_name: a fixed job name instead of prefix + digest. A changed request then cannot
            replace the job (names are unique and jobs immutable). @default - generated
        :param encryption_key: a customer managed KMS key for the job's data (customerEncryptionKeyId);
            the role, the handler and Bedrock get the uses they need. @default - an AWS owned key
        :param tags: jobTags. @default - none
        :param wait_for_ingestion: for a knowledge base declared in the same stack, ingest each of
            its data sources (declared before this job) and start the job only once they are
            indexed (see KnowledgeBaseIngestion). @default - True
        :param request: a complete CreateEvaluationJob request instead of the typed props.
            ``roleArn``, ``outputDataConfig`` and ``jobName`` may be left out: they are then filled
            as for typed props. ``clientRequestToken`` must be left out. @default - built from typed props
        :param role: the service role the job runs as. @default - a role is created with access to
            exactly the job's models, datasets and output prefix
        :param output_bucket: where results are written. @default - the stack's evaluation bucket
            (created once per stack)
        :param output_prefix: key prefix of the results. @default - "results/<job name prefix>/"
        :param job_name_prefix: the job name is this prefix, "-", and a 10-character digest of the
            request. At most 52 characters of [a-z0-9-]. @default - derived from the construct path
        :param removal: what deleting (or replacing) the resource does to the job.
            @default - JobRemoval.STOP: a running job is stopped; its record and results stay
        """
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        configuration = JobConfiguration(
            model=model,
            models=models,
            rag=rag,
            tasks=tasks,
            evaluator_model=evaluator_model,
            custom_metrics=custom_metrics,
            custom_metrics_evaluator_model=custom_metrics_evaluator_model,
            human_workflow=human_workflow,
            human_metrics=human_metrics,
            description=description,
            job_name=job_name,
            encryption_key_arn=encryption_key.key_arn if encryption_key is not None else None,
            tags=tags,
        )
        typed = {name: value for name, value in vars(configuration).items() if value is not None}
        self._check_exclusive(request, typed, role=role, output_bucket=output_bucket, output_prefix=output_prefix)
        self.removal = self._removal(removal)
        self.job_name_prefix = self._name_prefix(job_name_prefix)
        self._uploads: list[Construct] = []
        self._typed_dataset_uris: set[str] = set()

        raw = copy.deepcopy(dict(request)) if request is not None else None
        # The role comes first: binding typed datasets grants it read access.
        self._grants_to_role = not (raw is not None and "roleArn" in raw)
        if self._grants_to_role:
            self.role: iam.IRole = role or create_service_role(self, "ServiceRole")
        else:
            # request.roleArn: a role managed elsewhere, with its own policies.
            self.role = iam.Role.from_role_arn(self, "ImportedServiceRole", raw["roleArn"], mutable=False)

        body = self._typed_request(configuration) if raw is None else raw
        for source in rag.sources if rag is not None else ():
            if source.bucket is not None and source.key is not None:
                grant_dataset_read(self.role, bucket_arn=source.bucket.bucket_arn, object_arn=source.bucket.arn_for_objects(source.key))
                self._typed_dataset_uris.add(source.rendered["s3Location"]["uri"])
        if "clientRequestToken" in body:
            raise self._error(
                "request.clientRequestToken must be left out: the handler derives it from the CloudFormation "
                "request id, so a repeated delivery never creates a second job"
            )
        body.setdefault("roleArn", self.role.role_arn)

        if "outputDataConfig" in body:
            self.output_bucket: s3.IBucket | None = None
            self.output_prefix: str | None = None
        else:
            self.output_bucket = output_bucket or EvaluationBucket.of(self).bucket
            if output_bucket is None and (human_workflow is not None or human_metrics is not None):
                EvaluationBucket.of(self).allow_human_review()
            self.output_prefix = self._checked_output_prefix(output_prefix)
            body["outputDataConfig"] = {"s3Uri": f"s3://{self.output_bucket.bucket_name}/{self.output_prefix}"}

        self._validate(body)
        self._grant(stack, body)

        provider = EvaluationJobProvider.of(self)
        provider.allow_pass(self.role)
        if encryption_key is not None:
            grant_encryption_key(encryption_key, service_role=self.role if self._grants_to_role else None, caller=provider.role)
        provider.allow_create_with(model_access(stack, references(body).models).models)
        self.request = body
        self.resource = CustomResource(
            self,
            "Resource",
            service_token=provider.service_token,
            resource_type=contract.RESOURCE_TYPE,
            service_timeout=SERVICE_TIMEOUT,
            properties={
                contract.PROP_REQUEST: service_model.encode_documents(body, stack.to_json_string),
                contract.PROP_JOB_NAME_PREFIX: self.job_name_prefix,
                contract.PROP_REMOVAL: self.removal.value,
            },
        )
        self._tag_manager = TagManager(TagType.KEY_VALUE, contract.RESOURCE_TYPE)
        Aspects.of(self).add(_RenderTags(self), priority=AspectPriority.DEFAULT)
        # Bedrock must never start a job that lacks its permissions or its data. The roleArn
        # reference already orders the role itself; its policy needs an explicit dependency.
        policy = self.role.node.try_find_child("DefaultPolicy")
        if policy is not None:
            self.resource.node.add_dependency(policy)
        for upload in self._uploads:
            self.resource.node.add_dependency(upload)
        if rag is not None and rag.knowledge_base is not None and wait_for_ingestion:
            self._after_ingestion(rag.knowledge_base)

    def _after_ingestion(self, knowledge_base: bedrock.CfnKnowledgeBase) -> None:
        """Depend on an ingestion of every data source of the knowledge base (made if missing)."""
        covered = []
        for data_source in data_sources_of(knowledge_base):
            ingestion = KnowledgeBaseIngestion.of(data_source) or KnowledgeBaseIngestion(
                data_source.node.scope, f"{data_source.node.id}Ingestion", knowledge_base=knowledge_base, data_source=data_source
            )
            self.resource.node.add_dependency(ingestion)
            covered.append(data_source)
        self.node.add_validation(_IngestedFirst(self, knowledge_base, covered))

    @property
    def tags(self) -> TagManager:
        """CDK tags (``Tags.of(scope).add(...)``) become jobTags; tags= and request jobTags win."""
        return self._tag_manager

    def _render_cdk_tags(self) -> None:
        cdk_tags = {t["Key"]: t["Value"] for t in self._tag_manager.render_tags() or []}
        if not cdk_tags:
            return
        explicit = {t["key"]: t["value"] for t in self.request.get("jobTags", [])}
        merged = {**cdk_tags, **explicit}
        rendered = [{"key": k, "value": v} for k, v in sorted(merged.items())]
        errors, _ = service_model.constraint_errors({"jobTags": rendered})
        if errors:
            raise self._error("CDK tags make jobTags invalid: " + "; ".join(errors))
        child = self.resource.node.default_child
        assert child is not None
        child.add_property_override(f"{contract.PROP_REQUEST}.jobTags", rendered)  # type: ignore[attr-defined]

    # --- attributes -------------------------------------------------------------------------

    @property
    def job_arn(self) -> str:
        """The job's ARN (a token)."""
        return self.resource.get_att_string(contract.ATTR_JOB_ARN)

    @property
    def job_name(self) -> str:
        """The job's name: the prefix and a digest of the request (a token)."""
        return self.resource.get_att_string(contract.ATTR_JOB_NAME)

    @property
    def output_s3_uri(self) -> str:
        """Where this job's results are written: s3://<bucket>/<prefix><job name>/ (a token)."""
        return self.resource.get_att_string(contract.ATTR_OUTPUT_S3_URI)

    # --- grants -----------------------------------------------------------------------------

    def grant_read_results(self, grantee: iam.IGrantable) -> iam.Grant:
        """Read access to the results under this job's output prefix."""
        if self.output_bucket is None or self.output_prefix is None:
            raise self._error("grant_read_results needs the output location the construct chose; this job's request sets outputDataConfig")
        return self.output_bucket.grant_read(grantee, f"{self.output_prefix}*")

    def grant_describe(self, grantee: iam.IGrantable) -> iam.Grant:
        """bedrock:GetEvaluationJob on this job, to follow its status."""
        return iam.Grant.add_to_principal(grantee=grantee, actions=["bedrock:GetEvaluationJob"], resource_arns=[self.job_arn])

    # --- building the request ---------------------------------------------------------------

    def _typed_request(self, configuration: JobConfiguration) -> dict[str, Any]:
        def warn(message: str) -> None:
            Annotations.of(self).add_warning_v2(f"{_WARNING_ID}:typed-props", message)

        try:
            return configuration.request(self._bind_dataset, warn)
        except Rejected as rejected:
            raise self._error(str(rejected)) from None

    def _bind_dataset(self, dataset: Dataset) -> BoundDataset:
        """Upload a local dataset, and let the role read the object."""
        location = dataset_location(self, dataset)
        if location is None:
            return BoundDataset(s3_uri=None)
        grant_dataset_read(self.role, bucket_arn=location.bucket.bucket_arn, object_arn=location.bucket.arn_for_objects(location.key))
        self._typed_dataset_uris.add(location.s3_uri)
        if location.upload is not None:
            self._uploads.append(location.upload)
        return BoundDataset(s3_uri=location.s3_uri)

    # --- checks -----------------------------------------------------------------------------

    def _check_exclusive(
        self,
        request: Mapping[str, Any] | None,
        typed: dict[str, Any],
        *,
        role: iam.IRole | None,
        output_bucket: s3.IBucket | None,
        output_prefix: str | None,
    ) -> None:
        if request is None:
            return
        if not isinstance(request, Mapping):
            raise self._error(f"request must be a mapping in the shape of create_evaluation_job(**request), got {type(request).__name__}")
        both = sorted(typed)
        if both:
            raise self._error(f"give either request= or typed props, not both: request= was given with {', '.join(both)}")
        if "roleArn" in request and role is not None:
            raise self._error("give either role= or request.roleArn, not both")
        if "outputDataConfig" in request and (output_bucket is not None or output_prefix is not None):
            raise self._error("give either output_bucket=/output_prefix= or request.outputDataConfig, not both")

    def _removal(self, given: Any) -> Any:
        if given is None:
            return JobRemoval.STOP
        try:
            return JobRemoval(given)
        except ValueError:
            allowed = ", ".join(f"JobRemoval.{r.name}" for r in JobRemoval)
            raise self._error(f"removal is {given!r}; expected one of {allowed}") from None

    def _name_prefix(self, given: str | None) -> str:
        limit = contract.NAME_PREFIX_MAX_LENGTH
        if given is None:
            return default_name_prefix(self.node.path, limit)
        if not _NAME_PREFIX.fullmatch(given) or len(given) > limit:
            raise self._error(f"job_name_prefix {given!r} must match [a-z0-9](-*[a-z0-9])* and be at most {limit} characters")
        return given

    def _checked_output_prefix(self, given: str | None) -> str:
        if given is None:
            return f"{RESULTS_PREFIX}{self.job_name_prefix}/"
        if Token.is_unresolved(given):
            return given
        segments = given.strip("/").split("/")
        if given.startswith("/") or any(not _PREFIX_SEGMENT.fullmatch(s) for s in segments):
            raise self._error(f"output_prefix {given!r} must be key segments of letters, digits and -!_*'(). separated by '/', not starting with '/'")
        return given.rstrip("/") + "/"

    def _validate(self, body: dict[str, Any]) -> None:
        with_name = {"jobName": "placeholder-name", **body}
        problems = service_model.parameter_errors(with_name)
        errors, warnings = service_model.constraint_errors(body)
        if problems:
            errors.insert(0, problems)
        if errors:
            raise self._error("the request would be rejected: " + "; ".join(errors))
        rag = body.get("applicationType") == "RagEvaluation"
        for warning in warnings:
            if rag and ".taskType " in warning:
                continue  # knowledge-base jobs ignore taskType; AWS's own examples send "General"
            Annotations.of(self).add_warning_v2(f"{_WARNING_ID}:enum", warning)

    def _grant(self, stack: Stack, body: dict[str, Any]) -> None:
        """Grant the service role exactly what the request points at."""
        if not self._grants_to_role:
            return
        role = self.role
        found = references(body)
        grant_model_use(role, model_access(stack, found.models))
        for uri in [*found.datasets, *found.sources]:
            if uri in self._typed_dataset_uris:
                continue
            location = literal_s3_location(stack, uri)
            if location is None:
                self._warn_unscoped(uri)
                continue
            grant_dataset_read(role, bucket_arn=location.bucket_arn, object_arn=location.objects_arn)
        knowledge_bases = [resource_arn(stack, "knowledge-base", kb) for kb in found.knowledge_bases]
        if knowledge_bases:
            role.add_to_principal_policy(iam.PolicyStatement(actions=list(access.KNOWLEDGE_BASE.actions), resources=knowledge_bases))
        guardrails = [resource_arn(stack, "guardrail", g) for g in found.guardrails]
        if guardrails:
            role.add_to_principal_policy(iam.PolicyStatement(actions=list(access.GUARDRAIL.actions), resources=guardrails))
        human = body.get("evaluationConfig", {}).get("human")
        if isinstance(human, Mapping) and isinstance(human.get("humanWorkflowConfig"), Mapping):
            grant_human_workflow(role, stack, human["humanWorkflowConfig"].get("flowDefinitionArn", ""))
        if self.output_bucket is not None and self.output_prefix is not None:
            grant_output_write(role, bucket_arn=self.output_bucket.bucket_arn, objects_arn=self.output_bucket.arn_for_objects(f"{self.output_prefix}*"))
        else:
            output = literal_s3_location(stack, str(body["outputDataConfig"].get("s3Uri", "")))
            if output is None:
                self._warn_unscoped(body["outputDataConfig"].get("s3Uri"))
            else:
                grant_output_write(role, bucket_arn=output.bucket_arn, objects_arn=output.objects_arn.rstrip("*").rstrip("/") + "/*")

    def _warn_unscoped(self, uri: Any) -> None:
        Annotations.of(self).add_warning_v2(
            f"{_WARNING_ID}:s3-access",
            f"no S3 access was granted for {uri!r}: it is only known at deploy time; use Dataset.from_s3(bucket, key) "
            "or output_bucket=, or grant the service role access yourself",
        )

    def _error(self, message: str) -> EvaluationJobConfigError:
        return EvaluationJobConfigError(f"{self.node.path}: {message}")


@jsii.implements(IValidation)
class _IngestedFirst:
    """A data source declared after the job would not be ingested before it: say so at synth."""

    def __init__(self, job: EvaluationJob, knowledge_base: bedrock.CfnKnowledgeBase, covered: list[bedrock.CfnDataSource]) -> None:
        self._job, self._knowledge_base, self._covered = job, knowledge_base, covered

    def validate(self) -> list[str]:
        late = [d for d in data_sources_of(self._knowledge_base) if d not in self._covered]
        return [
            f"{self._job.node.path}: data source {d.node.path} of knowledge base {self._knowledge_base.node.path} is "
            "declared after this evaluation, so it would not be ingested first; declare it before the EvaluationJob, "
            "or pass wait_for_ingestion=False"
            for d in late
        ]


@jsii.implements(IAspect)
class _RenderTags:
    """Runs after the Tags aspect, so every tag applied to the job's scope is in its request."""

    def __init__(self, job: EvaluationJob) -> None:
        self._job = job

    def visit(self, node: IConstruct) -> None:
        if node is self._job:
            self._job._render_cdk_tags()


def default_name_prefix(path: str, limit: int) -> str:
    """"Stack/EvalBoolQ" -> "stack-eval-bool-q"; a long path keeps its head and a digest of itself."""
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "-", path)
    slug = re.sub(r"[^a-z0-9]+", "-", spaced.lower()).strip("-") or "evaluation"
    if len(slug) <= limit:
        return slug
    digest = hashlib.sha256(path.encode()).hexdigest()[:6]
    return f"{slug[: limit - len(digest) - 1].rstrip('-')}-{digest}"
