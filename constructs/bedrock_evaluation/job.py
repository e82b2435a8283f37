"""EvaluationJob: one Amazon Bedrock evaluation job as a CloudFormation resource."""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import jsii
from aws_cdk import Annotations, ITaggable, Stack, TagManager
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from . import contract, naming, service_model
from .boundary import checked_construct
from .builder import BuiltRequest, JobProps, build_request, with_dataset_locations
from .custom_metrics import CustomMetric, HumanMetric, HumanWorkflow
from .errors import EvaluationJobConfigError, Violation
from .event_size import job_properties_violations
from .grants import grant_encryption_key, grant_handler, grant_job, inline_policy
from .job_results import JobResults, ResultsLocation, results_violations
from .knowledge_bases import evaluate_after_ingestion
from .late_properties import LateProperties
from .models import Model
from .provider import EvaluationJobProvider, attribute_of
from .quality_gate import JobWait, QualityGate
from .rag import RagSource
from .references import S3Location
from .scopes import adopt, bucket_name_and_arn, path_of, role_arn_of, stack_of
from .service_role import JobServiceRole
from .storage import EvaluationBucket, allow_human_review, dataset_location, human_review_cors_unset
from .tags import JobTags, job_tag_manager
from .tasks import EvaluationTask
from .tokens import is_unresolved
from .uniqueness import AppJobs
from .validation import validate

JobRemoval = contract.JobRemoval

_WARNING_ID = "bedrock-evaluation"
SCORE_STATISTICS = ("Mean", "Scored", "NotScored", "Min")


@jsii.implements(ITaggable)
class EvaluationJob(Construct):
    """An Amazon Bedrock evaluation job, created by a custom resource when the stack deploys.

    Give either typed props (``model``, ``tasks``, optionally ``evaluator_model``) or a raw
    ``request`` in the shape of boto3's ``create_evaluation_job(**request)``. Both meet the same
    checks at synth. Jobs are immutable: any change to the request creates a new job under a new
    name, and the old one is then removed as ``removal`` says.
    """

    @checked_construct
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
        removal: JobRemoval | None = None,
        wait: JobWait | None = None,
        quality_gate: QualityGate | None = None,
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
        :param wait_for_ingestion: for a knowledge base declared in the same stack, start the job
            only once each of its data sources is indexed: by the KnowledgeBaseIngestion declared
            for it (anywhere in the stack), else by one made for it. @default - True
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
        :param wait: the deploy waits until the job has ended and reads its scores
            (``JobWait.until_done(timeout=Duration.hours(3))``): they become attributes
            (``score(...)``), and a Failed or Stopped job, or one still running at the timeout,
            fails the deploy. @default - the deploy ends once the job is created
        :param quality_gate: scores the job must reach (``QualityGate(at_least={...}, max_drop=0.05)``);
            a miss fails the deploy, which CloudFormation then rolls back. Needs ``wait``.
            @default - no gate
        """
        super().__init__(scope, construct_id)
        adopt(self, scope, construct_id)
        props = JobProps(
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
        self._refuse(
            self._prop_violations(
                props, request=request, role=role, output_bucket=output_bucket, output_prefix=output_prefix, job_name_prefix=job_name_prefix
            )
        )
        self.removal = removal if removal is not None else contract.DEFAULT_REMOVAL
        app_jobs = AppJobs.of(self)
        self.job_name_prefix = app_jobs.name_prefix(self, job_name_prefix)

        # typed props -> the request (pure) -> datasets bound -> role and output filled in
        if request is not None:
            self._refuse(service_model.structure_violations(request))  # before it is copied, recursively
        built = build_request(props, path_of(self)) if request is None else BuiltRequest(copy.deepcopy(dict(request)), (), ())
        self._grants_to_role = "roleArn" not in built.request
        self.role = self._service_role(built.request, role)
        body, bound, uploads, local_files = self._bind_datasets(built)
        body["roleArn"] = body.get("roleArn", role_arn_of(self.role))
        human = props.is_human or "human" in (body.get("evaluationConfig") or {})
        output = self._place_output(body, output_bucket, output_prefix, human=human)

        # -> one validation -> grants derived from the request -> the custom resource
        findings = validate(body, local_files)
        self._refuse(findings.errors)
        for warning in findings.warnings:
            Annotations.of(self).add_warning_v2(f"{_WARNING_ID}:request", str(warning))
        settings = {contract.PROP_JOB_NAME_PREFIX: self.job_name_prefix, contract.PROP_REMOVAL: self.removal.value}
        self._refuse(job_properties_violations(body, settings))
        results_at = self._results_location(body) if wait is not None else None
        self._refuse(results_violations(body, results_at, wait, quality_gate))
        self.request = body
        app_jobs.register(self, body)
        granted_before = len(inline.statements_granted) if (inline := inline_policy(self.role)) is not None else 0
        provider = EvaluationJobProvider.of(self)
        handler_policy = provider.role.granted_policy
        handler_before = len(handler_policy.statements_granted)
        self._grant(body, bound, output, encryption_key)
        # Bedrock must never start a job that lacks its permissions or its data. The roleArn
        # reference already orders the role itself; its policy and the uploads need dependencies.
        self._tag_manager: TagManager | None = None  # made when a Tags aspect first asks for it
        encoded = service_model.encode_documents(body, stack_of(self).to_json_string)
        # CDK tags are known only once every Tags aspect has run: a job a Tags aspect reaches (it asks
        # for `tags`) has its jobTags read when the template is written; the others' request is plain data.
        self._job_tags = JobTags(path_of(self), lambda: self._tag_manager, body, settings)
        self.resource = provider.resource(self, contract.RESOURCE_TYPE, {contract.PROP_REQUEST: encoded, **settings}, after=[self.role])
        # What this job granted the handler (PassRole on its role, its key): it waits for the policies that hold it.
        LateProperties.of(provider).runs_as(self.resource, provider.role, handler_policy.statements_granted[handler_before:])
        for dependency in uploads:
            self.resource.node.add_dependency(dependency)
        self.results: JobResults | None = None
        if wait is not None and results_at is not None:
            identity = {contract.PROP_REQUEST: {k: v for k, v in body.items() if k != "jobTags"}, **settings}
            identity.pop(contract.PROP_REMOVAL)
            self.results = JobResults(
                self,
                "Results",
                job=self.resource,
                request=body,
                location=results_at,
                wait=wait,
                gate=quality_gate,
                identity=identity,
                keys=self._result_keys(body, encryption_key),
            )
        if rag is not None and rag.knowledge_base is not None and wait_for_ingestion:
            evaluate_after_ingestion(self, self.resource, rag.knowledge_base)
        if human_workflow is not None and human_workflow.flow_definition is not None:
            human_workflow.flow_definition.allow_job(
                self.resource, datasets=bound.values(), output=output, service_role=self.role if self._grants_to_role else None
            )
        if inline is not None:
            # What this job granted its role: it waits for the managed policies that statements of it land in.
            LateProperties.of(self.role).runs_as(self.resource, self.role, inline.statements_granted[granted_before:])

    # --- attributes -------------------------------------------------------------------------

    @property
    def tags(self) -> TagManager:
        """CDK tags (``Tags.of(scope).add(...)``) become jobTags; tags= and request jobTags win."""
        if self._tag_manager is None:
            self._tag_manager = job_tag_manager()
            self.resource.add_property_override(f"{contract.PROP_REQUEST}.jobTags", self._job_tags)
        return self._tag_manager

    @property
    def job_arn(self) -> str:
        """The job's ARN (a token)."""
        return attribute_of(self.resource, contract.ATTR_JOB_ARN)

    @property
    def job_name(self) -> str:
        """The job's name: the prefix and a digest of the request (a token)."""
        return attribute_of(self.resource, contract.ATTR_JOB_NAME)

    @property
    def output_s3_uri(self) -> str:
        """Where this job's results are written: s3://<bucket>/<prefix><job name>/ (a token)."""
        return attribute_of(self.resource, contract.ATTR_OUTPUT_S3_URI)

    def score(self, metric: str, statistic: str = "Mean") -> str:
        """One of the job's scores, once it has Completed (a token; needs ``wait``).

        :param metric: a metric the job measures, as its request names it (``"Builtin.Correctness"``,
            or a custom metric's name).
        :param statistic: ``"Mean"`` (over the records scored), ``"Scored"`` (records with a score),
            ``"NotScored"`` (records the judge could not score) or ``"Min"``. @default - "Mean"
        """
        problems: list[Violation] = []
        if self.results is None:
            problems.append(Violation("wait", None, "scores are read only for a job with wait=JobWait.until_done(...)"))
        elif "human" in (self.request.get("evaluationConfig") or {}):
            problems.append(
                Violation("metric", metric, "a human job's scores are per rating method (Score.<metric>.<RatingMethod>.Mean): read them with the results command")
            )
        elif metric not in self.results.metrics:
            problems.append(Violation("metric", metric, f"must be a metric this job measures: {', '.join(self.results.metrics)}"))
        if statistic not in SCORE_STATISTICS:
            problems.append(Violation("statistic", statistic, f"must be one of {', '.join(SCORE_STATISTICS)}"))
        self._refuse(problems)
        assert self.results is not None
        return self.results.attribute(metric, statistic)

    # --- grants -----------------------------------------------------------------------------

    def grant_read_results(self, grantee: iam.IGrantable) -> iam.Grant:
        """Read access to the results under this job's output prefix."""
        if self.output_bucket is None or self.output_prefix is None:
            raise EvaluationJobConfigError.of(
                self.node.path,
                "request.outputDataConfig",
                self.request["outputDataConfig"],
                "grant_read_results needs the output location the construct chose; grant read on your own location instead",
            )
        return self.output_bucket.grant_read(grantee, f"{self.output_prefix}*")

    def grant_describe(self, grantee: iam.IGrantable) -> iam.Grant:
        """bedrock:GetEvaluationJob on this job, to follow its status."""
        return iam.Grant.add_to_principal(grantee=grantee, actions=["bedrock:GetEvaluationJob"], resource_arns=[self.job_arn])

    # --- the steps of the constructor --------------------------------------------------------

    @staticmethod
    def _prop_violations(
        props: JobProps,
        *,
        request: Mapping[str, Any] | None,
        role: iam.IRole | None,
        output_bucket: s3.IBucket | None,
        output_prefix: str | None,
        job_name_prefix: str | None,
    ) -> list[Violation]:
        """Props that exclude each other, and the names this construct chooses."""
        problems = naming.name_prefix_violations(job_name_prefix) + naming.output_prefix_violations(output_prefix)
        if request is None:
            return problems
        if props.given:
            problems.append(Violation("request", "given", f"give either request= or typed props, not both: request= was given with {', '.join(props.given)}"))
        if "roleArn" in request and role is not None:
            problems.append(Violation("role", role.node.path, "give either role= or request.roleArn, not both"))
        if "outputDataConfig" in request and (output_bucket is not None or output_prefix is not None):
            problems.append(Violation("output_bucket", "given", "give either output_bucket=/output_prefix= or request.outputDataConfig, not both"))
        return problems

    def _service_role(self, request: Mapping[str, Any], role: iam.IRole | None) -> iam.IRole:
        if "roleArn" in request:
            # A role managed elsewhere, with its own policies: nothing is granted to it.
            return iam.Role.from_role_arn(self, "ImportedServiceRole", str(request["roleArn"]), mutable=False)
        return role or JobServiceRole(self, "ServiceRole", description="Service role of a Bedrock evaluation job")

    def _bind_datasets(self, built: BuiltRequest) -> tuple[dict[str, Any], dict[str, S3Location], list[Construct], dict[int, Path]]:
        """Upload each local dataset (or point at its S3 object) and write its location in."""
        locations: dict[int, str] = {}
        bound: dict[str, S3Location] = {}
        uploads: list[Construct] = []
        local_files: dict[int, Path] = {}
        for item in built.datasets:
            location = dataset_location(self, item.dataset)
            if location is None:
                continue
            locations[item.task_index] = location.s3_uri
            bound[location.s3_uri] = S3Location(location.bucket.bucket_arn, location.bucket.arn_for_objects(location.key))
            if location.upload is not None:
                uploads.append(location.upload)
            if item.dataset.local_path is not None:
                local_files[item.task_index] = item.dataset.local_path
        for source in built.objects:
            bound[source.uri] = S3Location(source.bucket.bucket_arn, source.bucket.arn_for_objects(source.key))
        return with_dataset_locations(built, locations), bound, uploads, local_files

    def _place_output(
        self, body: dict[str, Any], output_bucket: s3.IBucket | None, output_prefix: str | None, *, human: bool
    ) -> S3Location | None:
        """The results location: the request's own, or a prefix of the given (or the stack's) bucket."""
        if "outputDataConfig" in body:
            self.output_bucket: s3.IBucket | None = None
            self.output_prefix: str | None = None
            if human:
                human_review_cors_unset(self, "the request names its own output location")
            return None
        self.output_bucket = output_bucket or EvaluationBucket.of(self).bucket
        if human:
            allow_human_review(self, output_bucket)
        self.output_prefix = naming.output_prefix(output_prefix, self.job_name_prefix)
        bucket_name, bucket_arn = bucket_name_and_arn(self.output_bucket)
        body["outputDataConfig"] = {"s3Uri": f"s3://{bucket_name}/{self.output_prefix}"}
        return S3Location(bucket_arn, f"{bucket_arn}/{self.output_prefix}*")

    def _grant(self, body: dict[str, Any], bound: dict[str, S3Location], output: S3Location | None, key: kms.IKey | None) -> None:
        provider = EvaluationJobProvider.of(self)
        refused: list[iam.PolicyStatement] = []
        if self._grants_to_role:
            granted = grant_job(self.role, body, bound=bound, output=output)
            refused += granted.refused
            for uri in granted.unscoped:
                Annotations.of(self).add_warning_v2(
                    f"{_WARNING_ID}:s3-access",
                    f"no S3 access was granted for {uri!r}: it is only known at deploy time; use Dataset.from_s3(bucket, key) "
                    "or output_bucket=, or grant the service role access yourself",
                )
        grant_handler(provider.role, self.role)
        if key is not None:
            refused += grant_encryption_key(
                key,
                service_role=self.role if self._grants_to_role else None,
                handler_role=provider.role,
                knowledge_base=body.get("applicationType") == "RagEvaluation",
            )
        if refused:
            # An imported role (mutable=False) or key (from_key_arn, an alias) takes no statements from CDK.
            statements = [Stack.of(self).resolve(statement.to_statement_json()) for statement in refused]
            Annotations.of(self).add_warning_v2(
                f"{_WARNING_ID}:not-granted",
                "the role or key given is imported and cannot be changed by this stack; its owner must add these "
                f"statements (a key's to its key policy) or the job will fail: {json.dumps(statements, sort_keys=True)}",
            )

    def _results_location(self, body: Mapping[str, Any]) -> ResultsLocation | None:
        """Where a waited job's results are, for the handler's read grant (None: not known at synth)."""
        if self.output_bucket is not None and self.output_prefix is not None and not is_unresolved(self.output_prefix):
            return ResultsLocation(self.output_bucket.bucket_arn, self.output_prefix)
        return ResultsLocation.of_uri(stack_of(self), (body.get("outputDataConfig") or {}).get("s3Uri"))

    def _result_keys(self, body: Mapping[str, Any], key: kms.IKey | None) -> list[str]:
        """The KMS keys result files may be encrypted with, beyond encryption_key= (which the handler
        may already use): the output bucket's, and a raw request's key given as an ARN."""
        keys = []
        bucket_key = self.output_bucket.encryption_key if self.output_bucket is not None else None
        if bucket_key is not None and bucket_key is not key:
            keys.append(bucket_key.key_arn)
        raw = body.get("customerEncryptionKeyId")
        if key is None and isinstance(raw, str) and (is_unresolved(raw) or raw.startswith("arn:")):
            keys.append(raw)
        return keys

    def _refuse(self, violations: list[Violation]) -> None:
        if violations:
            raise EvaluationJobConfigError(self.node.path, violations)
