"""cdk-nag (AwsSolutions, as a Validations plugin) over the example app and a matrix of
configurations: our constructs leave no finding unacknowledged, acknowledge only what the
table in compliance.py lists, and never a finding on someone else's resource.

The matrix (every job kind from the typed-API corpus, your own role or bucket, a customer
managed key, each removal mode, raw requests, a fixed environment, a knowledge base ingested
first) is synthesized once, one stack per case, and shared with test_security_iam.py and
test_security_scanners.py.
"""

from __future__ import annotations

import functools
import json
import re
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_bedrock as bedrock
from aws_cdk import aws_cognito as cognito
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_deployment as s3_deployment
from cdk_nag import AwsSolutionsChecks
from test_typed_api_corpus import VALID

from bedrock_evaluation import (
    Dataset,
    EvaluationJob,
    EvaluationJobProvider,
    EvaluationServiceRole,
    EvaluationTask,
    EvaluationWorkTeam,
    HumanFlowDefinition,
    HumanMetric,
    HumanWorkflow,
    JobRemoval,
    Metric,
    Model,
    RagMetric,
    RagSource,
    RatingMethod,
    TaskType,
    compliance,
)
from bedrock_evaluation.compliance import (
    REASONS_KEY,
    RESOURCE_FINDINGS,
    WILDCARD_RESOURCES,
)
from bedrock_evaluation.security_reference import security_reference
from bedrock_evaluation.storage import UPLOAD_EPHEMERAL_STORAGE, UPLOAD_MEMORY_MIB

ROOT = Path(__file__).resolve().parents[1]
QA = ROOT / "datasets" / "qa.jsonl"
NOVA = "amazon.nova-lite-v1:0"
PROFILE_JUDGE = "us.anthropic.claude-3-5-haiku-20241022-v1:0"
FLOW = "arn:aws:sagemaker:us-east-1:123456789012:flow-definition/eval-flow"


@dataclass(frozen=True)
class Finding:
    rule: str
    path: str


def synthesize(app: cdk.App, outdir: Path) -> list[Finding]:
    """Synthesize with the plugin registered on the app; the findings it left unacknowledged."""
    try:
        app.synth()
    except RuntimeError as error:
        report = outdir / "validation-report.json"
        if "ValidationFailed" not in str(error) or not report.is_file():
            raise
        return [
            Finding(violation["ruleName"], construct["constructPath"])
            for plugin in json.loads(report.read_text())["pluginReports"]
            for violation in plugin["violations"]
            for construct in violation["violatingConstructs"]
        ]
    return []


def nag_app(outdir: Path) -> cdk.App:
    # Templates as `cdk synth` writes them: each resource names its construct path.
    app = cdk.App(outdir=str(outdir), context={"aws:cdk:enable-path-metadata": True})
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks())
    return app


# --- the matrix -----------------------------------------------------------------------------------

Build = Callable[[cdk.Stack], list[str]]
"""Declares the case's jobs in the stack; returns the ids of the resources the test declares on the
user's behalf (their buckets, keys, knowledge bases), whose own findings are the user's business."""


def bedrock_trusted_role(stack: cdk.Stack, construct_id: str) -> iam.Role:
    """A role the user manages, with the trust policy the README documents."""
    return iam.Role(
        stack,
        construct_id,
        assumed_by=iam.ServicePrincipal("bedrock.amazonaws.com").with_conditions(
            {
                "StringEquals": {"aws:SourceAccount": stack.account},
                "ArnEquals": {"aws:SourceArn": stack.format_arn(service="bedrock", resource="evaluation-job", resource_name="*")},
            }
        ),
    )


def qa_task(*metrics: str) -> EvaluationTask:
    return EvaluationTask(task_type=TaskType.QUESTION_AND_ANSWER, dataset=Dataset.from_file(QA), metrics=list(metrics))


def boolq_task() -> EvaluationTask:
    return EvaluationTask(task_type=TaskType.QUESTION_AND_ANSWER, dataset=Dataset.builtin("Builtin.BoolQ"), metrics=[Metric.ACCURACY])


def corpus_case(name: str) -> Build:
    def build(stack: cdk.Stack) -> list[str]:
        props = VALID[name](stack)
        fixtures = [child.node.id for child in stack.node.children]
        EvaluationJob(stack, "Job", **props)
        return fixtures

    return build


def shared_evaluation_service_role(stack: cdk.Stack) -> list[str]:
    role = EvaluationServiceRole(stack, "SharedRole")
    EvaluationJob(stack, "Automatic", model=Model.bedrock(NOVA), tasks=[boolq_task()], role=role)
    EvaluationJob(
        stack, "Judge", model=Model.bedrock(NOVA), evaluator_model=Model.bedrock(PROFILE_JUDGE), tasks=[qa_task(Metric.CORRECTNESS)], role=role
    )
    return []


def plain_role_human_job(stack: cdk.Stack) -> list[str]:
    EvaluationJob(
        stack,
        "Human",
        models=[Model.bedrock(NOVA), Model.bedrock("amazon.nova-micro-v1:0")],
        human_workflow=HumanWorkflow(flow_definition_arn=FLOW, instructions="Pick the better answer."),
        human_metrics=[HumanMetric(name="Preference", rating_method=RatingMethod.COMPARISON_CHOICE)],
        tasks=[EvaluationTask(task_type=TaskType.GENERATION, dataset=Dataset.from_file(QA), metrics=["Preference"])],
        role=bedrock_trusted_role(stack, "TeamRole"),
    )
    return []


def own_output_bucket(stack: cdk.Stack) -> list[str]:
    results = s3.Bucket(stack, "Results", enforce_ssl=True, block_public_access=s3.BlockPublicAccess.BLOCK_ALL)
    EvaluationJob(
        stack,
        "Judge",
        model=Model.bedrock(NOVA),
        evaluator_model=Model.bedrock(PROFILE_JUDGE),
        tasks=[qa_task(Metric.HELPFULNESS)],
        output_bucket=results,
        output_prefix="nightly/qa",
    )
    return ["Results"]


def imported_output_bucket(stack: cdk.Stack) -> list[str]:
    shared = s3.Bucket.from_bucket_name(stack, "Shared", "shared-evaluation-results")
    EvaluationJob(stack, "Automatic", model=Model.bedrock(NOVA), tasks=[boolq_task()], output_bucket=shared)
    return []


def customer_managed_key(stack: cdk.Stack) -> list[str]:
    key = kms.Key(stack, "Key", enable_key_rotation=True)
    EvaluationJob(
        stack,
        "Judge",
        model=Model.bedrock(NOVA),
        evaluator_model=Model.bedrock(PROFILE_JUDGE),
        tasks=[qa_task(Metric.CORRECTNESS)],
        encryption_key=key,
    )
    return ["Key"]


def removal_modes(stack: cdk.Stack) -> list[str]:
    for removal in JobRemoval:
        EvaluationJob(stack, f"Removal{removal.name.title()}", model=Model.bedrock(NOVA), tasks=[boolq_task()], removal=removal)
    return []


def _raw_rag(dataset_uri: str, **extra: Any) -> dict[str, Any]:
    return {
        "applicationType": "RagEvaluation",
        "evaluationConfig": {
            "automated": {
                "datasetMetricConfigs": [
                    {
                        "taskType": "General",
                        "dataset": {"name": "kb", "datasetLocation": {"s3Uri": dataset_uri}},
                        "metricNames": ["Builtin.ContextRelevance"],
                    }
                ],
                "evaluatorModelConfig": {"bedrockEvaluatorModels": [{"modelIdentifier": "anthropic.claude-3-haiku-20240307-v1:0"}]},
            }
        },
        "inferenceConfig": {
            "ragConfigs": [
                {
                    "knowledgeBaseConfig": {
                        "retrieveConfig": {
                            "knowledgeBaseId": "KB12345678",
                            "knowledgeBaseRetrievalConfiguration": {"vectorSearchConfiguration": {"numberOfResults": 5}},
                        }
                    }
                }
            ]
        },
        **extra,
    }


def raw_request(stack: cdk.Stack) -> list[str]:
    EvaluationJob(stack, "Raw", request=_raw_rag("s3://my-datasets/kb/questions.jsonl"))
    return []


def raw_request_prefixes(stack: cdk.Stack) -> list[str]:
    EvaluationJob(
        stack, "Raw", request=_raw_rag("s3://my-datasets/kb/", outputDataConfig={"s3Uri": "s3://my-results/evaluations/"})
    )
    return []


def raw_request_role_arn(stack: cdk.Stack) -> list[str]:
    EvaluationJob(
        stack,
        "Raw",
        request=_raw_rag("s3://my-datasets/kb/questions.jsonl", roleArn="arn:aws:iam::123456789012:role/platform-evaluations"),
    )
    return []


def fixed_environment(stack: cdk.Stack) -> list[str]:
    EvaluationJob(
        stack, "Judge", model=Model.bedrock(NOVA), evaluator_model=Model.bedrock("eu.anthropic.claude-3-5-sonnet-20240620-v1:0"), tasks=[qa_task(Metric.CORRECTNESS)]
    )
    EvaluationJob(
        stack,
        "Human",
        model=Model.bedrock(NOVA),
        human_workflow=HumanWorkflow(flow_definition_arn="arn:aws:sagemaker:eu-west-1:123456789012:flow-definition/f"),
        human_metrics=[HumanMetric(name="Helpful", rating_method=RatingMethod.THUMBS_UP_DOWN)],
        tasks=[qa_task("Helpful")],
    )
    return []


def knowledge_base_ingested_first(stack: cdk.Stack) -> list[str]:
    kb = bedrock.CfnKnowledgeBase(
        stack,
        "Kb",
        name="handbook",
        role_arn="arn:aws:iam::123456789012:role/kb",
        knowledge_base_configuration=bedrock.CfnKnowledgeBase.KnowledgeBaseConfigurationProperty(type="VECTOR"),
    )
    bedrock.CfnDataSource(
        stack,
        "KbSource",
        name="documents",
        knowledge_base_id=kb.attr_knowledge_base_id,
        data_source_configuration=bedrock.CfnDataSource.DataSourceConfigurationProperty(
            type="S3", s3_configuration=bedrock.CfnDataSource.S3DataSourceConfigurationProperty(bucket_arn="arn:aws:s3:::docs")
        ),
    )
    EvaluationJob(
        stack,
        "Retrieval",
        rag=RagSource.retrieve(kb),
        evaluator_model=Model.bedrock("anthropic.claude-3-5-sonnet-20240620-v1:0"),
        tasks=[EvaluationTask(dataset=Dataset.from_file(ROOT / "datasets" / "kb-retrieve.jsonl"), metrics=[RagMetric.CONTEXT_RELEVANCE])],
    )
    return ["Kb", "KbSource"]


def human_flow_definition(stack: cdk.Stack) -> list[str]:
    """The whole human setup in one stack: a work team of the workforce's Cognito group, a flow
    definition with its own role and key, and a job that routes its prompts through it."""
    team = EvaluationWorkTeam(
        stack,
        "Reviewers",
        user_pool=cognito.UserPool.from_user_pool_id(stack, "Workforce", "us-east-1_Workforce"),
        user_pool_client=cognito.UserPoolClient.from_user_pool_client_id(stack, "WorkforceClient", "workforceclient"),
        user_group="bedrock-reviewers",
    )
    key = kms.Key(stack, "Key", enable_key_rotation=True)
    flow = HumanFlowDefinition(stack, "ReviewFlow", work_team=team, task_count=2, encryption_key=key)
    EvaluationJob(
        stack,
        "Human",
        models=[Model.bedrock(NOVA), Model.bedrock("amazon.nova-micro-v1:0")],
        human_workflow=HumanWorkflow(flow_definition=flow, instructions="Rate, then pick the better answer."),
        human_metrics=[
            HumanMetric(name="Quality", rating_method=RatingMethod.INDIVIDUAL_LIKERT_SCALE),
            HumanMetric(name="Preference", rating_method=RatingMethod.COMPARISON_CHOICE),
        ],
        tasks=[EvaluationTask(task_type=TaskType.GENERATION, dataset=Dataset.from_file(QA), metrics=["Quality", "Preference"])],
    )
    return ["Key"]


FIXED_ENV = cdk.Environment(account="123456789012", region="eu-west-1")

MATRIX: dict[str, Build] = {
    **{f"corpus-{name.replace('_', '-')}": corpus_case(name) for name in VALID},
    "shared-evaluation-service-role": shared_evaluation_service_role,
    "plain-role-human-job": plain_role_human_job,
    "own-output-bucket": own_output_bucket,
    "imported-output-bucket": imported_output_bucket,
    "customer-managed-key": customer_managed_key,
    "removal-modes": removal_modes,
    "raw-request": raw_request,
    "raw-request-prefixes": raw_request_prefixes,
    "raw-request-role-arn": raw_request_role_arn,
    "fixed-environment": fixed_environment,
    "knowledge-base-ingested-first": knowledge_base_ingested_first,
    "human-flow-definition": human_flow_definition,
}


@dataclass
class Matrix:
    templates: dict[str, dict[str, Any]]
    paths: dict[str, Path]
    findings: dict[str, list[Finding]]
    """Per case, findings left unacknowledged on resources our constructs create or grant to."""
    fixture_findings: dict[str, list[Finding]]


@functools.cache
def matrix() -> Matrix:
    outdir = Path(tempfile.mkdtemp(prefix="security-matrix-"))
    app = nag_app(outdir)
    fixtures: dict[str, list[str]] = {}
    for name, build in MATRIX.items():
        stack = cdk.Stack(app, name, env=FIXED_ENV if name == "fixed-environment" else None)
        fixtures[name] = [f"{name}/{fixture}/" for fixture in build(stack)]
    findings = synthesize(app, outdir)
    ours: dict[str, list[Finding]] = {name: [] for name in MATRIX}
    theirs: dict[str, list[Finding]] = {name: [] for name in MATRIX}
    for finding in findings:
        name = finding.path.split("/", 1)[0]
        fixture = any(finding.path.startswith(prefix) for prefix in fixtures[name])
        (theirs if fixture else ours)[name].append(finding)
    paths = {name: outdir / f"{name}.template.json" for name in MATRIX}
    templates = {name: json.loads(path.read_text()) for name, path in paths.items()}
    return Matrix(templates, paths, ours, theirs)


@functools.cache
def example() -> tuple[dict[str, dict[str, Any]], list[Finding], dict[str, Path]]:
    """The example app's stacks, built in an app that has the plugin before any stack exists."""
    import app as example_app

    outdir = Path(tempfile.mkdtemp(prefix="security-example-"))
    app = nag_app(outdir)
    example_app.ModelEvaluationStack(app, "BedrockModelEvaluation")
    example_app.RagEvaluationStack(app, "BedrockRagEvaluation")
    findings = synthesize(app, outdir)
    paths = {name: outdir / f"{name}.template.json" for name in ("BedrockModelEvaluation", "BedrockRagEvaluation")}
    return {name: json.loads(path.read_text()) for name, path in paths.items()}, findings, paths


# --- the example app ------------------------------------------------------------------------------


def test_the_model_evaluation_example_leaves_no_finding_unacknowledged():
    _, findings, _ = example()
    assert [f for f in findings if f.path.startswith("BedrockModelEvaluation/")] == []


def test_the_knowledge_base_example_leaves_no_finding_unacknowledged():
    """Its documents bucket, upload and knowledge-base role follow the library's own pattern:
    access logs, an upload role of its own with exact grants, least-privilege reads."""
    _, findings, _ = example()
    assert [f for f in findings if f.path.startswith("BedrockRagEvaluation/")] == []


# --- the matrix -----------------------------------------------------------------------------------


@pytest.mark.parametrize("case", sorted(MATRIX))
def test_configuration_leaves_no_finding_unacknowledged(case):
    assert matrix().findings[case] == []


def test_the_matrix_covers_every_kind_of_job():
    kinds = set()
    for template in matrix().templates.values():
        for resource in template["Resources"].values():
            if resource["Type"] != "Custom::BedrockEvaluationJob":
                continue
            request = json.dumps(resource["Properties"]["Request"])
            if '"human"' in request:
                kinds.add("human")
            elif "precomputedRagSourceConfig" in request:
                kinds.add("rag-precomputed")
            elif '"retrieveConfig"' in request:
                kinds.add("retrieve")
            elif "EXTERNAL_SOURCES" in request:
                kinds.add("external-sources")
            elif "retrieveAndGenerateConfig" in request:
                kinds.add("retrieve-and-generate")
            elif "customMetricConfig" in request:
                kinds.add("judge-custom-metric")
            elif "precomputedInferenceSource" in request:
                kinds.add("precomputed")
            elif "evaluatorModelConfig" in request:
                kinds.add("judge")
            else:
                kinds.add("automatic")
    assert kinds == {
        "automatic", "judge", "judge-custom-metric", "precomputed", "human", "retrieve",
        "retrieve-and-generate", "external-sources", "rag-precomputed",
    }


def test_findings_on_the_users_own_resources_stay_theirs():
    """The corpus declares a bucket without TLS enforcement and a key without rotation on the
    user's behalf: cdk-nag reports them, and nothing of ours acknowledges them."""
    fixture_rules = {(f.rule, f.path.split("/", 2)[1]) for findings in matrix().fixture_findings.values() for f in findings}
    assert ("AwsSolutions-S10", "Datasets") in fixture_rules
    assert ("AwsSolutions-KMS5", "Key") in fixture_rules


# --- what is acknowledged, and how ------------------------------------------------------------


def acknowledgements(templates: dict[str, dict[str, Any]]) -> list[tuple[str, str, str, str]]:
    """(template, logical id, rule, reason) of every acknowledgement written into the templates."""
    return [
        (name, logical_id, rule, reason)
        for name, template in templates.items()
        for logical_id, resource in template["Resources"].items()
        for rule, reason in resource.get("Metadata", {}).get(REASONS_KEY, {}).items()
    ]


def every_template() -> dict[str, dict[str, Any]]:
    return {**matrix().templates, **example()[0]}


def test_every_acknowledgement_comes_from_the_table_with_its_reason():
    reasons = {f.reason for f in RESOURCE_FINDINGS} | {w.reason for w in WILDCARD_RESOURCES}
    for name, logical_id, rule, reason in acknowledgements(every_template()):
        assert reason in reasons, f"{name}/{logical_id}: {rule} is acknowledged with a reason not in the table"
        if rule.startswith("AwsSolutions-IAM"):
            assert re.fullmatch(r"AwsSolutions-IAM5\[Resource::.+\]", rule), f"{name}/{logical_id}: {rule} is not granular"


def test_wildcards_are_acknowledged_only_on_iam_policies_and_only_as_the_table_allows():
    for name, logical_id, rule, reason in acknowledgements(every_template()):
        if not rule.startswith("AwsSolutions-IAM5"):
            continue
        # On the policy resource, or on the role whose inline policy holds the wildcard.
        assert every_template()[name]["Resources"][logical_id]["Type"] in ("AWS::IAM::Policy", "AWS::IAM::Role")
        resource = rule[len("AwsSolutions-IAM5[Resource::") : -1]
        (entry,) = [w for w in WILDCARD_RESOURCES if w.reason == reason]
        assert re.fullmatch(entry.pattern, resource), f"{name}/{logical_id}: {resource} acknowledged as {entry.key}"


def test_every_entry_of_the_table_is_needed_by_some_configuration():
    """A stale entry would acknowledge findings no configuration has: the table must shrink with them."""
    acknowledged = acknowledgements(every_template())
    for entry in WILDCARD_RESOURCES:
        assert any(reason == entry.reason for *_, reason in acknowledged), f"{entry.key} acknowledges nothing"
        assert re.fullmatch(entry.pattern, entry.example), f"{entry.key}: its example does not match its pattern"
    for finding in RESOURCE_FINDINGS:
        for rule in finding.rules:
            assert any(r == rule and reason == finding.reason for _, _, r, reason in acknowledged), f"{finding.key}: {rule}"


def test_nothing_is_acknowledged_on_a_stack_or_on_a_construct_above_a_resource():
    """Acknowledgements match by path prefix: one on a stack or a parent would cover resources
    that do not have the finding."""
    stack = cdk.Stack(cdk.App(), "Probe")
    plain_role_human_job(stack)
    customer_managed_key(stack)
    raw_request_prefixes(stack)
    cdk.assertions.Template.from_stack(stack)  # runs the aspects
    acknowledged = [
        construct
        for construct in [stack, *stack.node.find_all()]
        if any(m.type == cdk.Validations.ACKNOWLEDGED_RULES_METADATA_KEY for m in construct.node.metadata)
    ]
    assert len(acknowledged) > 10
    assert [c.node.path for c in acknowledged if not cdk.CfnResource.is_cfn_resource(c)] == []


def test_every_cdk_nag_acknowledgement_answers_a_finding_that_is_really_there(monkeypatch):
    """With our acknowledgements withheld, cdk-nag reports exactly what we would have acknowledged:
    nothing acknowledged in advance, nothing left over."""
    withheld: set[tuple[str, str]] = set()

    class Withhold:
        """Stands in for cdk.Validations in compliance.py: records, acknowledges nothing."""

        def __init__(self, scope: Any) -> None:
            self.path = scope.node.path

        @classmethod
        def of(cls, scope: Any) -> Withhold:
            return cls(scope)

        def acknowledge(self, *rules: cdk.Acknowledgment) -> None:
            withheld.update((self.path, rule.id) for rule in rules)

    monkeypatch.setattr(compliance, "Validations", Withhold)
    outdir = Path(tempfile.mkdtemp(prefix="security-withheld-"))
    app = nag_app(outdir)
    import app as example_app

    example_app.ModelEvaluationStack(app, "BedrockModelEvaluation")
    for name in ("plain-role-human-job", "customer-managed-key", "raw-request-prefixes", "knowledge-base-ingested-first"):
        MATRIX[name](cdk.Stack(app, name))
    found = {(f.path, f"AwsSolutions::{f.rule}") for f in synthesize(app, outdir)}
    found -= {f for f in found if f[0].startswith(("knowledge-base-ingested-first/Kb/", "customer-managed-key/Key/"))}
    assert len(withheld) > 30
    assert (sorted(withheld - found), sorted(found - withheld)) == ([], [])


# --- what is not acknowledged -------------------------------------------------------------------


def findings_of(build: Callable[[cdk.Stack], None]) -> list[Finding]:
    outdir = Path(tempfile.mkdtemp(prefix="security-probe-"))
    app = nag_app(outdir)
    build(cdk.Stack(app, "Probe"))
    return synthesize(app, outdir)


def test_a_wildcard_the_user_adds_to_their_own_role_is_left_for_them():
    """The user's own statement has the shape of a dataset prefix we would grant; it is still theirs."""

    def build(stack: cdk.Stack) -> None:
        role = bedrock_trusted_role(stack, "TeamRole")
        role.add_to_principal_policy(iam.PolicyStatement(actions=["s3:GetObject"], resources=["arn:aws:s3:::team-data/*"]))
        EvaluationJob(stack, "Job", model=Model.bedrock(NOVA), tasks=[boolq_task()], role=role)

    assert findings_of(build) == [
        Finding("AwsSolutions-IAM5[Resource::arn:aws:s3:::team-data/*]", "Probe/TeamRole/DefaultPolicy/Resource")
    ]


def test_an_action_beyond_the_tables_is_not_covered_by_an_acknowledged_wildcard():
    """Deleting under the output prefix is not something a job does: the whole wildcard is reported."""

    def build(stack: cdk.Stack) -> None:
        job = EvaluationJob(stack, "Job", model=Model.bedrock(NOVA), tasks=[boolq_task()])
        assert job.output_bucket is not None
        job.role.add_to_principal_policy(
            iam.PolicyStatement(actions=["s3:DeleteObject"], resources=[job.output_bucket.arn_for_objects(f"{job.output_prefix}*")])
        )

    (finding,) = findings_of(build)
    assert finding.rule.startswith("AwsSolutions-IAM5[Resource::<BedrockEvaluationBucket") and finding.rule.endswith("/results/probe-job/*]")
    assert finding.path == "Probe/Job/ServiceRole/DefaultPolicy/Resource"


def test_a_statement_added_to_the_handler_role_outside_the_table_is_reported():
    def build(stack: cdk.Stack) -> None:
        EvaluationJob(stack, "Job", model=Model.bedrock(NOVA), tasks=[boolq_task()])
        EvaluationJobProvider.of(stack).role.add_to_principal_policy(iam.PolicyStatement(actions=["s3:GetObject"], resources=["*"]))

    assert findings_of(build) == [
        Finding("AwsSolutions-IAM5[Resource::*]", "Probe/BedrockEvaluationJobProvider/JobHandlerRole/DefaultPolicy/Resource")
    ]


# --- the upload function is ours alone ----------------------------------------------------------


def test_the_apps_own_bucket_deployment_keeps_cdks_function_and_ours_keeps_its_role():
    stack = cdk.Stack(cdk.App(), "Eval")
    site = s3.Bucket(stack, "Site")
    theirs = s3_deployment.BucketDeployment(stack, "Site Content", sources=[s3_deployment.Source.data("index.html", "hi")], destination_bucket=site)
    EvaluationJob(stack, "Job", model=Model.bedrock(NOVA), tasks=[qa_task(Metric.ACCURACY)])
    template = cdk.assertions.Template.from_stack(stack).to_json()
    functions = [k for k, r in template["Resources"].items() if k.startswith("CustomCDKBucketDeployment") and r["Type"] == "AWS::Lambda::Function"]
    assert len(functions) == 2, "the app's BucketDeployment and our upload run in different functions"
    assert "UploadRole" not in theirs.handler_role.node.path


def test_a_bucket_deployment_that_would_share_our_upload_function_fails_at_synth():
    stack = cdk.Stack(cdk.App(), "Eval")
    EvaluationJob(stack, "Job", model=Model.bedrock(NOVA), tasks=[qa_task(Metric.ACCURACY)])
    s3_deployment.BucketDeployment(
        stack,
        "Site",
        sources=[s3_deployment.Source.data("index.html", "hi")],
        destination_bucket=s3.Bucket(stack, "SiteBucket"),
        memory_limit=UPLOAD_MEMORY_MIB,
        ephemeral_storage_size=UPLOAD_EPHEMERAL_STORAGE,
    )
    with pytest.raises(RuntimeError, match="Eval/Site shares its upload function with the evaluation bucket's dataset uploads"):
        cdk.assertions.Template.from_stack(stack)


# --- SECURITY.md ----------------------------------------------------------------------------------


def test_security_md_is_generated_from_the_tables():
    """Regenerate with: python -m bedrock_evaluation.security_reference > SECURITY.md"""
    assert (ROOT / "SECURITY.md").read_text() == security_reference()


def test_the_readme_links_to_security_md_and_no_longer_holds_the_tables():
    readme = (ROOT / "README.md").read_text()
    assert "](SECURITY.md)" in readme
    for table_header in ("| actions | on | why |", "| resource, as cdk-nag shows it |", "| rules | resources | reason |"):
        assert table_header not in readme
