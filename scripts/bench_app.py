#!/usr/bin/env python3
"""One benchmark synth, run in a fresh process by scripts/bench.py (and by the smoke test).

    python scripts/bench_app.py <variant> <N> <outdir>

variant:
  empty        an empty stack: the floor (interpreter, aws-cdk-lib import, jsii start-up, synth)
  ours         N EvaluationJob constructs, each with the service role it creates for itself
  ours-shared  N EvaluationJob constructs sharing one EvaluationServiceRole (role=)
  acr          N equivalent jobs written without this library: one AwsCustomResource per job
               calling bedrock:createEvaluationJob, each with its own service role, one bucket
  ours-template
               the template `ours` writes for N jobs (read from the file BENCH_TEMPLATE_SOURCE
               names), put in the stack as it is by one CfnInclude: no library code runs, no asset
               is built; what any CDK app pays, at least, to synthesize that template

Every variant automatically evaluates a model on Builtin.BoolQ; job i uses model
MODELS[i % len(MODELS)] and metric set METRIC_SETS[(i // len(MODELS)) % len(METRIC_SETS)],
so the first len(MODELS) * len(METRIC_SETS) requests all differ. The stack is env-agnostic and
synthesized with the feature flags of this project's cdk.json, as `cdk synth` would.
"""

from __future__ import annotations

import itertools
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
STACK_NAME = "EvaluationBench"
VARIANTS = ("empty", "ours", "ours-shared", "acr", "ours-template")
# ours-template: the file whose template it includes (the bench writes it from an `ours` synth).
TEMPLATE_SOURCE_ENV = "BENCH_TEMPLATE_SOURCE"

# Bedrock foundation models an automatic BoolQ evaluation could target.
MODELS = (
    "amazon.nova-lite-v1:0",
    "amazon.nova-micro-v1:0",
    "amazon.nova-pro-v1:0",
    "amazon.titan-text-express-v1",
    "amazon.titan-text-lite-v1",
    "amazon.titan-text-premier-v1:0",
    "anthropic.claude-3-haiku-20240307-v1:0",
    "anthropic.claude-3-sonnet-20240229-v1:0",
    "anthropic.claude-3-5-sonnet-20240620-v1:0",
    "anthropic.claude-instant-v1",
    "anthropic.claude-v2:1",
    "meta.llama3-8b-instruct-v1:0",
    "meta.llama3-70b-instruct-v1:0",
    "meta.llama3-1-8b-instruct-v1:0",
    "meta.llama3-1-70b-instruct-v1:0",
    "mistral.mistral-7b-instruct-v0:2",
    "mistral.mixtral-8x7b-instruct-v0:1",
    "mistral.mistral-large-2402-v1:0",
    "mistral.mistral-small-2402-v1:0",
    "cohere.command-r-v1:0",
    "cohere.command-r-plus-v1:0",
    "ai21.jamba-1-5-mini-v1:0",
    "ai21.jamba-1-5-large-v1:0",
)
AUTOMATIC_METRICS = ("Builtin.Accuracy", "Builtin.Robustness", "Builtin.Toxicity")
# Every non-empty subset of the automatic metrics, in a fixed order.
METRIC_SETS = tuple(
    list(combo) for size in (1, 2, 3) for combo in itertools.combinations(AUTOMATIC_METRICS, size)
)
DATASET = "Builtin.BoolQ"
TASK_TYPE = "QuestionAndAnswer"
RESOURCE_LIMIT_CONTEXT = "@aws-cdk/core:stackResourceLimit"
# What one job's resource in the template is, per variant (the smoke test counts these).
JOB_RESOURCE_TYPE = {"ours": "Custom::BedrockEvaluationJob", "ours-shared": "Custom::BedrockEvaluationJob", "acr": "Custom::AWS"}


def job_spec(i: int) -> tuple[str, list[str]]:
    """The model and metric set of job i."""
    return MODELS[i % len(MODELS)], METRIC_SETS[(i // len(MODELS)) % len(METRIC_SETS)]


def cdk_context() -> dict[str, Any]:
    """The feature flags `cdk synth` would pass for this project."""
    return json.loads((ROOT / "cdk.json").read_text()).get("context", {})


def add_ours(stack: Any, n: int, *, shared_role: bool) -> None:
    from bedrock_evaluation import Dataset, EvaluationJob, EvaluationServiceRole, EvaluationTask, Model, TaskType

    role = EvaluationServiceRole(stack, "SharedServiceRole") if shared_role else None
    for i in range(n):
        model, metrics = job_spec(i)
        EvaluationJob(
            stack,
            f"Job{i:03d}",
            model=Model.bedrock(model),
            tasks=[EvaluationTask(task_type=TaskType.QUESTION_AND_ANSWER, dataset=Dataset.builtin(DATASET), metrics=metrics)],
            role=role,
        )


def add_acr(stack: Any, n: int) -> None:
    """What a careful user writes without this library."""
    from aws_cdk import Duration, RemovalPolicy
    from aws_cdk import aws_iam as iam
    from aws_cdk import aws_s3 as s3
    from aws_cdk import custom_resources as cr

    bucket = s3.Bucket(
        stack,
        "Results",
        block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
        encryption=s3.BucketEncryption.S3_MANAGED,
        enforce_ssl=True,
        versioned=True,
        object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
        removal_policy=RemovalPolicy.RETAIN,
        lifecycle_rules=[s3.LifecycleRule(abort_incomplete_multipart_upload_after=Duration.days(7))],
    )
    # CreateEvaluationJob authorizes on the job and on the models; StopEvaluationJob on the job.
    jobs_arn = stack.format_arn(service="bedrock", resource="evaluation-job", resource_name="*")
    for i in range(n):
        model, metrics = job_spec(i)
        name = f"job{i:03d}"
        model_arn = stack.format_arn(service="bedrock", account="", resource="foundation-model", resource_name=model)
        role = iam.Role(stack, f"Job{i:03d}Role", assumed_by=iam.ServicePrincipal("bedrock.amazonaws.com"))
        role.add_to_policy(iam.PolicyStatement(actions=["bedrock:InvokeModel"], resources=[model_arn]))
        prefix = f"results/{name}/"
        bucket.grant_read_write(role, f"{prefix}*")
        request = {
            "jobName": f"bench-{name}",
            "roleArn": role.role_arn,
            "applicationType": "ModelEvaluation",
            "evaluationConfig": {
                "automated": {
                    "datasetMetricConfigs": [{"taskType": TASK_TYPE, "dataset": {"name": DATASET}, "metricNames": metrics}]
                }
            },
            "inferenceConfig": {"models": [{"bedrockModel": {"modelIdentifier": model}}]},
            "outputDataConfig": {"s3Uri": f"s3://{bucket.bucket_name}/{prefix}"},
        }
        job = cr.AwsCustomResource(
            stack,
            f"Job{i:03d}",
            on_create=cr.AwsSdkCall(
                service="bedrock",
                action="createEvaluationJob",
                parameters=request,
                physical_resource_id=cr.PhysicalResourceId.from_response("jobArn"),
            ),
            on_delete=cr.AwsSdkCall(
                service="bedrock",
                action="stopEvaluationJob",
                parameters={"jobIdentifier": cr.PhysicalResourceIdReference()},
            ),
            policy=cr.AwsCustomResourcePolicy.from_statements(
                [
                    iam.PolicyStatement(
                        actions=["bedrock:CreateEvaluationJob", "bedrock:StopEvaluationJob"], resources=[jobs_arn]
                    ),
                    iam.PolicyStatement(actions=["bedrock:CreateEvaluationJob"], resources=[model_arn]),
                    iam.PolicyStatement(actions=["iam:PassRole"], resources=[role.role_arn]),
                ]
            ),
        )
        # The job must not start before its role can read and write: wait for the role's policy.
        job.node.add_dependency(role)


def add_template(stack: Any, source: str) -> None:
    """A synthesized template, included as it is: one jsii round trip, and Node parses it."""
    from aws_cdk import cloudformation_include as cfn_inc

    cfn_inc.CfnInclude(stack, "Template", template_file=source)


def template_source(template: dict[str, Any]) -> dict[str, Any]:
    """What `ours-template` includes of a synthesized template: all but what the stack adds
    itself (the bootstrap version's parameter and rule)."""
    added = {"Parameters": "BootstrapVersion", "Rules": "CheckBootstrapVersion"}
    source = dict(template)
    for section, name in added.items():
        rest = {key: value for key, value in source.get(section, {}).items() if key != name}
        if rest:
            source[section] = rest
        else:
            source.pop(section, None)
    return source


PHASES_PREFIX = "PHASES "
JSII_PREFIX = "JSII "
# Set to 1 to attribute each jsii round trip to the line of this library (or of this runner)
# that caused it: slower, so bench.py does it only in an untimed diagnostic run.
TRACE_ENV = "BENCH_JSII_TRACE"


class JsiiCounter:
    """Counts the messages Python sends to the jsii runtime (Node): every construct created,
    method called or property read through the CDK is one round trip between the processes."""

    def __init__(self, *, attribute: bool) -> None:
        self.total = 0
        self.by_site: dict[str, int] = {}
        self.available = False
        try:
            from jsii._kernel.providers import process
        except ImportError:
            return
        original = getattr(getattr(process, "_NodeProcess", None), "send", None)
        if original is None:
            return
        counter = self

        def send(node_process: Any, request: Any, response_type: Any) -> Any:
            counter.total += 1
            if attribute:
                site = _call_site()
                counter.by_site[site] = counter.by_site.get(site, 0) + 1
            return original(node_process, request, response_type)

        process._NodeProcess.send = send
        self.available = True


def _call_site() -> str:
    """The innermost line of this library or of this runner on the stack."""
    import linecache

    frame = sys._getframe(2)
    while frame is not None:
        filename = frame.f_code.co_filename
        if "/bedrock_evaluation/" in filename or filename.endswith("bench_app.py"):
            line = linecache.getline(filename, frame.f_lineno).strip()
            return f"{Path(filename).name}:{frame.f_lineno} {line}"
        frame = frame.f_back
    return "(outside: aws_cdk import, synth)"


def import_library(variant: str) -> None:
    """What each variant imports beyond aws_cdk (each module's import is measured as such)."""
    if variant in ("ours", "ours-shared"):
        import bedrock_evaluation  # noqa: F401
    elif variant == "acr":
        from aws_cdk import aws_iam, aws_s3, custom_resources  # noqa: F401
    elif variant == "ours-template":
        from aws_cdk import cloudformation_include  # noqa: F401


def synth(variant: str, n: int, outdir: str, phases: dict[str, float], *, calls: dict[str, int] | None = None, counter: JsiiCounter | None = None) -> Path:
    """Synthesize one variant into outdir; returns the template's path. `phases` receives
    the seconds spent importing aws_cdk, importing the variant's library, building the
    constructs and synthesizing (Node: the template, the assets, CDK's validation); `calls`,
    the jsii round trips of each phase when a counter is given."""
    if variant not in VARIANTS:
        raise SystemExit(f"unknown variant {variant!r}; expected one of {', '.join(VARIANTS)}")
    mark = time.perf_counter()
    sent = counter.total if counter else 0

    def phase(name: str) -> None:
        nonlocal mark, sent
        now = time.perf_counter()
        phases[name] = now - mark
        mark = now
        if counter is not None and calls is not None:
            calls[name] = counter.total - sent
            sent = counter.total

    import aws_cdk as cdk

    phase("import aws_cdk")
    import_library(variant)
    phase("import library")
    context = cdk_context()
    # CDK refuses to synthesize more than 500 resources. The bench still measures such a
    # template (bench.py checks CloudFormation's limits on it), so that check is turned off.
    context[RESOURCE_LIMIT_CONTEXT] = 0
    app = cdk.App(outdir=outdir, context=context)
    stack = cdk.Stack(app, STACK_NAME)
    if variant == "empty":
        # CloudFormation (and CDK's synth-time validation) reject a template without resources:
        # the floor holds the one resource that does nothing.
        cdk.CfnWaitConditionHandle(stack, "Nothing")
    elif variant in ("ours", "ours-shared"):
        add_ours(stack, n, shared_role=variant == "ours-shared")
    elif variant == "acr":
        add_acr(stack, n)
    elif variant == "ours-template":
        add_template(stack, os.environ[TEMPLATE_SOURCE_ENV])
    phase("construct")
    try:
        assembly = app.synth()
    finally:
        phase("synth")
    return Path(assembly.get_stack_by_name(STACK_NAME).template_full_path)


# Exit status when the template was written but CDK's synth-time validation (the project's
# "@aws-cdk/core:validateAgainstDefaultRules") refused it; validation-report.json says why.
REFUSED_BY_VALIDATION = 3


def main(argv: list[str]) -> int:
    """Prints a PHASES line (JSON) and, last, the template's path."""
    if len(argv) != 4:
        print(__doc__, file=sys.stderr)
        return 2
    _, variant, n, outdir = argv
    counter = JsiiCounter(attribute=os.environ.get(TRACE_ENV) == "1")
    phases: dict[str, float] = {}
    calls: dict[str, int] = {}
    status = 0
    try:
        template = synth(variant, int(n), outdir, phases, calls=calls, counter=counter if counter.available else None)
    except RuntimeError as error:
        template = Path(outdir) / f"{STACK_NAME}.template.json"
        if "ValidationFailed" not in str(error) or not template.is_file():
            raise
        print(f"{variant} N={n}: {error}", file=sys.stderr)
        status = REFUSED_BY_VALIDATION
    print(PHASES_PREFIX + json.dumps(phases))
    if counter.available:
        print(JSII_PREFIX + json.dumps({"phases": calls, "sites": counter.by_site}))
    print(template)
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv))
