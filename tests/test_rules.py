"""The rules table: every semantic rule refuses a raw request and the typed props that build the
same request, with the same violations (field, value, rule). Sources of each rule are cited
where the rule is defined (`bedrock_evaluation/rules.py`) and in ../shared/reference.

A rule added to the table without a case here fails `test_every_rule_has_a_raw_and_a_typed_case`.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_s3 as s3
from aws_cdk.assertions import Annotations, Match

from bedrock_evaluation import (
    CustomMetric,
    Dataset,
    EvaluationJob,
    EvaluationJobConfigError,
    EvaluationTask,
    ExternalSource,
    Generation,
    HumanMetric,
    HumanWorkflow,
    Metric,
    Model,
    RagMetric,
    RagSource,
    Rating,
    RatingMethod,
    Reranking,
    TaskType,
    VectorSearch,
)
from bedrock_evaluation.builder import JobProps, build_request
from bedrock_evaluation.rules import RULES, Severity

NOVA = "amazon.nova-lite-v1:0"
MICRO = "amazon.nova-micro-v1:0"
JUDGE = "anthropic.claude-3-5-sonnet-20240620-v1:0"
GENERATOR = "anthropic.claude-3-sonnet-20240229-v1:0"
FLOW = "arn:aws:sagemaker:us-east-1:123456789012:flow-definition/eval-flow"
ROLE = "arn:aws:iam::123456789012:role/evaluation"
OUTPUT = {"s3Uri": "s3://my-results/results/"}

Props = Callable[[cdk.Stack], dict[str, Any]]


def s3_task(stack: cdk.Stack, *metrics: str, task_type: str | None = TaskType.QUESTION_AND_ANSWER, key: str = "data/qa.jsonl") -> EvaluationTask:
    bucket = s3.Bucket.from_bucket_name(stack, "Datasets", "my-datasets")
    return EvaluationTask(task_type=task_type, dataset=Dataset.from_s3(bucket, key), metrics=list(metrics))


def builtin_task(dataset: str, *metrics: str, task_type: str = TaskType.QUESTION_AND_ANSWER) -> EvaluationTask:
    return EvaluationTask(task_type=task_type, dataset=Dataset.builtin(dataset), metrics=list(metrics))


def judged(name: str = "Concise", instructions: str = "Is {{prediction}} concise?", **kwargs: Any) -> CustomMetric:
    return CustomMetric(name=name, instructions=instructions, **kwargs)


def human(stack: cdk.Stack, *, models: list[Model], metric: HumanMetric) -> dict[str, Any]:
    return {
        "models": models,
        "human_workflow": HumanWorkflow(flow_definition_arn=FLOW),
        "human_metrics": [metric],
        "tasks": [s3_task(stack, metric.name)],
    }


THUMBS = HumanMetric(name="Helpful", rating_method=RatingMethod.THUMBS_UP_DOWN)

# rule key -> typed props that break exactly that rule (the raw case is the request they build)
TYPED: dict[str, Props] = {
    "one-model": lambda s: {"models": [Model.bedrock(NOVA), Model.bedrock(MICRO)], "tasks": [builtin_task("Builtin.BoolQ", Metric.ACCURACY)]},
    "distinct-models": lambda s: human(s, models=[Model.bedrock(NOVA), Model.bedrock(NOVA)], metric=THUMBS),
    "automatic-needs-live-model": lambda s: {"model": Model.precomputed_responses("my-app"), "tasks": [s3_task(s, Metric.ACCURACY)]},
    "knowledge-base-needs-judge": lambda s: {"rag": RagSource.retrieve("KB12345678"), "tasks": [s3_task(s, RagMetric.CONTEXT_RELEVANCE, task_type=None)]},
    "metric-of-kind": lambda s: {"model": Model.bedrock(NOVA), "tasks": [builtin_task("Builtin.BoolQ", Metric.CORRECTNESS)]},
    "metric-once": lambda s: {"model": Model.bedrock(NOVA), "tasks": [builtin_task("Builtin.BoolQ", Metric.ACCURACY, Metric.ACCURACY)]},
    "custom-metrics-need-judge": lambda s: {
        "model": Model.bedrock(NOVA),
        "custom_metrics": [judged()],
        "custom_metrics_evaluator_model": Model.bedrock(JUDGE),
        "tasks": [s3_task(s, "Concise")],
    },
    "custom-metric-once": lambda s: {
        "model": Model.bedrock(NOVA),
        "evaluator_model": Model.bedrock(JUDGE),
        "custom_metrics": [judged(), judged()],
        "tasks": [s3_task(s, "Concise")],
    },
    "custom-metric-variables": lambda s: {
        "model": Model.bedrock(NOVA),
        "evaluator_model": Model.bedrock(JUDGE),
        "custom_metrics": [judged(instructions="Does {{prediction}} answer {{question}}?")],
        "tasks": [s3_task(s, "Concise")],
    },
    "custom-metric-required-variable": lambda s: {
        "model": Model.bedrock(NOVA),
        "evaluator_model": Model.bedrock(JUDGE),
        "custom_metrics": [judged(instructions="Is {{prompt}} clear?")],
        "tasks": [s3_task(s, "Concise")],
    },
    "rating-scale-one-type": lambda s: {
        "model": Model.bedrock(NOVA),
        "evaluator_model": Model.bedrock(JUDGE),
        "custom_metrics": [judged(rating_scale=[Rating.number("good", 1), Rating.text("bad", "no")])],
        "tasks": [s3_task(s, "Concise")],
    },
    "custom-metric-used": lambda s: {
        "model": Model.bedrock(NOVA),
        "evaluator_model": Model.bedrock(JUDGE),
        "custom_metrics": [judged()],
        "tasks": [s3_task(s, Metric.CORRECTNESS)],
    },
    "custom-dataset": lambda s: {"model": Model.bedrock(NOVA), "evaluator_model": Model.bedrock(JUDGE), "tasks": [builtin_task("Builtin.BoolQ", Metric.CORRECTNESS)]},
    "builtin-dataset-task": lambda s: {"model": Model.bedrock(NOVA), "tasks": [builtin_task("Builtin.BoolQ", Metric.ACCURACY, task_type=TaskType.SUMMARIZATION)]},
    "comparison-needs-two-models": lambda s: human(
        s, models=[Model.bedrock(NOVA)], metric=HumanMetric(name="Better", rating_method=RatingMethod.COMPARISON_CHOICE)
    ),
    "human-metrics": lambda s: {**human(s, models=[Model.bedrock(NOVA)], metric=THUMBS), "human_metrics": []},
    # A custom dataset is JSON Lines with the .jsonl extension (user guide, model-evaluation-prompt-datasets-custom).
    "dataset-extension": lambda s: {"model": Model.bedrock(NOVA), "tasks": [s3_task(s, Metric.ACCURACY, key="data/qa.json")]},
    # The five rating methods of HumanEvaluationCustomMetric (API reference).
    "rating-method": lambda s: human(s, models=[Model.bedrock(NOVA)], metric=HumanMetric(name="Helpful", rating_method="ThumbsUpDwn")),
    # RetrieveConfig.knowledgeBaseId takes an id (API reference: 0-10 characters, [0-9a-zA-Z]+).
    "knowledge-base-id": lambda s: {
        "rag": RagSource.retrieve("arn:aws:bedrock:us-east-1:123456789012:knowledge-base/KB12345678"),
        "evaluator_model": Model.bedrock(JUDGE),
        "tasks": [s3_task(s, RagMetric.CONTEXT_RELEVANCE, task_type=None)],
    },
    # A knowledge-base prompt template places the passages at $search_results$ (user guide, kb-test-config).
    "prompt-template-search-results": lambda s: {
        "rag": RagSource.retrieve_and_generate("KB12345678", model_arn=GENERATOR, generation=Generation(prompt_template="Answer $query$.")),
        "evaluator_model": Model.bedrock(JUDGE),
        "tasks": [s3_task(s, RagMetric.CORRECTNESS, task_type=None)],
    },
    # IAM user guide (reference_policies_elements_resource): * and ? are wildcards in a policy's Resource,
    # and the reranker's modelArn becomes one (bedrock:InvokeModel). More cases: test_security_wildcards.py.
    "no-iam-wildcard": lambda s: {
        "rag": RagSource.retrieve("KB12345678", search=VectorSearch(reranking=Reranking(model_arn="arn:aws:bedrock:us-east-1::foundation-model/*"))),
        "evaluator_model": Model.bedrock(JUDGE),
        "tasks": [s3_task(s, RagMetric.CONTEXT_RELEVANCE, task_type=None)],
    },
    # Warnings. API reference (ExternalSourcesRetrieveAndGenerateConfiguration): only Claude 3 Sonnet generators.
    "external-sources-generator": lambda s: {
        "rag": RagSource.external_sources(model_arn=NOVA, source=ExternalSource.byte_content(identifier="doc", content_type="text/plain", data="x")),
        "evaluator_model": Model.bedrock(JUDGE),
        "tasks": [s3_task(s, RagMetric.CORRECTNESS, task_type=None)],
    },
    # User guide (model-evaluation-custom-metrics-prompt-formats): role, task, criteria, rubric, then the variables.
    "custom-metric-variables-last": lambda s: {
        "model": Model.bedrock(NOVA),
        "evaluator_model": Model.bedrock(JUDGE),
        "custom_metrics": [judged(instructions="{{prediction}}\nRate the response above for how concise and direct it is.", rating_scale=[Rating.number("ok", 1)])],
        "tasks": [s3_task(s, "Concise", task_type=None)],
    },
    # Same page: without a rating scale the results cannot be averaged or charted.
    "custom-metric-rating-scale": lambda s: {
        "model": Model.bedrock(NOVA),
        "evaluator_model": Model.bedrock(JUDGE),
        "custom_metrics": [judged()],
        "tasks": [s3_task(s, "Concise", task_type=None)],
    },
    # AWS samples ("must be General for LLMaaJ"), Terraform's docs: judge jobs take taskType General.
    "judge-task-type": lambda s: {"model": Model.bedrock(NOVA), "evaluator_model": Model.bedrock(JUDGE), "tasks": [s3_task(s, Metric.CORRECTNESS)]},
    # The user guide's judge list (evaluation-judge): Nova Lite is not a judge there.
    "listed-judge": lambda s: {"model": Model.bedrock(MICRO), "evaluator_model": Model.bedrock(NOVA), "tasks": [s3_task(s, Metric.CORRECTNESS, task_type=None)]},
}


def the_request_typed_props_build(props: dict[str, Any]) -> dict[str, Any]:
    """What typed props send, written out as a raw request (datasets, role and output literal)."""
    request = copy.deepcopy(build_request(JobProps(**props), "test").request)
    (config,) = request["evaluationConfig"].values()
    for task, typed in zip(config["datasetMetricConfigs"], props["tasks"], strict=True):
        if not task["dataset"]["name"].startswith("Builtin."):
            key = typed.dataset.source.key
            task["dataset"]["datasetLocation"] = {"s3Uri": f"s3://my-datasets/{key}"}
    return {**request, "roleArn": ROLE, "outputDataConfig": OUTPUT}


# Requests typed props cannot build: the raw case alone (the typed API refuses earlier, or never writes it).
RAW_ONLY: dict[str, tuple[Callable[[], dict[str, Any]], str]] = {
    "application-type": (
        lambda: {**the_request_typed_props_build(TYPED["metric-of-kind"](cdk.Stack())), "applicationType": "RagEvaluation"},
        "the typed API derives applicationType from model= or rag=",
    ),
    "builtin-dataset-known": (
        lambda: _with_dataset_name(the_request_typed_props_build(TYPED["metric-once"](cdk.Stack())), "Builtin.SQuAD"),
        "Dataset.builtin refuses a name that is not a built-in dataset",
    ),
}


def _with_dataset_name(request: dict[str, Any], name: str) -> dict[str, Any]:
    task = request["evaluationConfig"]["automated"]["datasetMetricConfigs"][0]
    task["dataset"]["name"] = name
    task["metricNames"] = [Metric.ACCURACY]
    return request


def refusal(**kwargs: Any) -> EvaluationJobConfigError:
    stack = cdk.Stack(cdk.App(), "Eval")
    with pytest.raises(EvaluationJobConfigError) as raised:
        EvaluationJob(stack, "Job", **kwargs)
    return raised.value


def warnings_of(**kwargs: Any) -> list[str]:
    stack = cdk.Stack(cdk.App(), "Eval")
    EvaluationJob(stack, "Job", **kwargs)
    found = Annotations.from_stack(stack).find_warning("*", Match.string_like_regexp("bedrock-evaluation:request"))
    return sorted(str(w.entry.data) for w in found)


def test_every_rule_has_a_raw_and_a_typed_case():
    assert {rule.key for rule in RULES} == set(TYPED) | set(RAW_ONLY)


ERROR_RULES = [rule.key for rule in RULES if rule.severity is Severity.ERROR and rule.key in TYPED]


@pytest.mark.parametrize("key", ERROR_RULES)
def test_fails_with_the_same_violations_for_typed_props_and_their_raw_request(key):
    typed = TYPED[key]
    typed_error = refusal(**typed(cdk.Stack(cdk.App(), "Props")))
    raw_error = refusal(request=the_request_typed_props_build(typed(cdk.Stack())))
    assert key in {v.key for v in typed_error.violations}, typed_error
    assert typed_error.violations == raw_error.violations
    assert str(typed_error) == str(raw_error)
    assert str(typed_error).startswith("Eval/Job: ")


@pytest.mark.parametrize("key", sorted(RAW_ONLY))
def test_fails_for_a_raw_request_the_typed_api_cannot_build(key):
    build, _why = RAW_ONLY[key]
    error = refusal(request=build())
    assert key in {v.key for v in error.violations}, error


def test_fails_when_a_builtin_dataset_name_is_unknown_in_the_typed_api_too():
    with pytest.raises(EvaluationJobConfigError, match="Builtin.SQuAD"):
        Dataset.builtin("Builtin.SQuAD")


WARNING_RULES = [rule for rule in RULES if rule.severity is Severity.WARNING]


@pytest.mark.parametrize("rule", WARNING_RULES, ids=[rule.key for rule in WARNING_RULES])
def test_warns_the_same_for_typed_props_and_their_raw_request(rule):
    typed = TYPED[rule.key]
    typed_warnings = warnings_of(**typed(cdk.Stack(cdk.App(), "Props")))
    raw_warnings = warnings_of(request=the_request_typed_props_build(typed(cdk.Stack())))
    assert typed_warnings == raw_warnings
    assert any(rule.message.split("{")[0][:40] in w for w in typed_warnings), typed_warnings


def test_a_judge_the_user_guide_does_not_list_is_named_in_the_warning():
    warnings = warnings_of(**TYPED["listed-judge"](cdk.Stack(cdk.App(), "Props")))
    assert any("'amazon.nova-lite-v1:0': is not among the judge models the user guide lists" in w for w in warnings)


def _retrieve_request() -> dict[str, Any]:
    return the_request_typed_props_build(
        {"rag": RagSource.retrieve("KB12345678"), "evaluator_model": Model.bedrock(JUDGE), "tasks": [s3_task(cdk.Stack(), RagMetric.CONTEXT_RELEVANCE, task_type=None)]}
    )


def test_fails_when_a_pasted_retrieve_only_request_asks_for_correctness():
    request = _retrieve_request()
    request["evaluationConfig"]["automated"]["datasetMetricConfigs"][0]["metricNames"] = [RagMetric.CORRECTNESS]
    error = refusal(request=request)
    assert error.field == "evaluationConfig.automated.datasetMetricConfigs[0].metricNames[0]"
    assert error.value == "Builtin.Correctness"
    assert "retrieve-only knowledge-base" in error.rule


def test_fails_when_a_pasted_request_names_a_metric_that_does_not_exist():
    request = the_request_typed_props_build(TYPED["metric-of-kind"](cdk.Stack()))
    request["evaluationConfig"]["automated"]["datasetMetricConfigs"][0]["metricNames"] = ["Builtin.Accurasy"]
    assert refusal(request=request).value == "Builtin.Accurasy"


def test_fails_when_a_pasted_automatic_request_gives_two_models():
    request = the_request_typed_props_build(TYPED["metric-once"](cdk.Stack()))
    request["inferenceConfig"]["models"].append({"bedrockModel": {"modelIdentifier": MICRO}})
    error = refusal(request=request)
    assert (error.field, error.value, error.violations[0].key) == ("inferenceConfig.models[1]", MICRO, "one-model")


def test_fails_when_a_pasted_request_sets_both_automated_and_human():
    request = the_request_typed_props_build(TYPED["metric-once"](cdk.Stack()))
    request["evaluationConfig"]["human"] = {"datasetMetricConfigs": request["evaluationConfig"]["automated"]["datasetMetricConfigs"]}
    error = refusal(request=request)
    assert error.field == "evaluationConfig"
    assert "set exactly one of automated, human" in error.rule
