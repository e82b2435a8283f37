"""The typed API against the service model: valid configurations that together set every field
of CreateEvaluationJob, and invalid ones that synth refuses, each naming the field."""

from __future__ import annotations

import json
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_bedrock as bedrock
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk.assertions import Template
from botocore.validate import ParamValidator
from cfn import as_delivered, resolve, resources_of_type

from bedrock_evaluation import (
    AttributeType,
    CustomMetric,
    Dataset,
    EvaluationJob,
    EvaluationJobConfigError,
    EvaluationTask,
    ExternalSource,
    Filter,
    Generation,
    Guardrail,
    HumanMetric,
    HumanWorkflow,
    ImplicitFilter,
    MetadataAttribute,
    Metric,
    Model,
    RagKind,
    RagMetric,
    RagSource,
    Rating,
    RatingMethod,
    Reranking,
    SearchType,
    TaskType,
    VectorSearch,
)
from bedrock_evaluation.service_model import input_shape

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lambda" / "evaluation_job"))
import request as handler_request  # noqa: E402

NOVA = "amazon.nova-lite-v1:0"
MICRO = "amazon.nova-micro-v1:0"
JUDGE = "anthropic.claude-3-5-sonnet-20240620-v1:0"
PROFILE_JUDGE = "us.anthropic.claude-3-5-haiku-20241022-v1:0"
KB = "KB12345678"
RERANKER = "arn:aws:bedrock:us-west-2::foundation-model/amazon.rerank-v1:0"
FLOW = "arn:aws:sagemaker:us-east-1:123456789012:flow-definition/eval-flow"

# --- datasets, written once for the module ------------------------------------------------------

_DIR = Path(tempfile.mkdtemp(prefix="corpus-datasets-"))


def _write(name: str, records: list[dict[str, Any]]) -> Path:
    path = _DIR / name
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


def _turn(text: str) -> dict[str, Any]:
    return {"prompt": {"content": [{"text": text}]}, "referenceResponses": [{"content": [{"text": "ref"}]}]}


PROMPTS = _write("prompts.jsonl", [{"prompt": "What is 2+2?", "referenceResponse": "4", "category": "math"}] * 3)
BYO_ONE = _write("byo-one.jsonl", [{"prompt": "Hi?", "modelResponses": [{"response": "Hello", "modelIdentifier": "my-app"}]}])
BYO_TWO = _write(
    "byo-two.jsonl",
    [{"prompt": "Hi?", "modelResponses": [{"response": "A", "modelIdentifier": "app-a"}, {"response": "B", "modelIdentifier": "app-b"}]}],
)
ONE_TURN = _write("one-turn.jsonl", [{"conversationTurns": [_turn("What is in the handbook?")]}])
FIVE_TURNS = _write("five-turns.jsonl", [{"conversationTurns": [_turn(f"question {i}") for i in range(5)]}])
SIX_TURNS = _write("six-turns.jsonl", [{"conversationTurns": [_turn(f"question {i}") for i in range(6)]}])
# Bring-your-own RAG responses sit inside each turn, as in AWS's sample data
# (amazon-bedrock-samples bedrock-eval-bring-your-own-inference/sample-data/rag-eval-byoi-sample-data.jsonl).
PASSAGE = {"content": {"text": "The office opens at 9."}, "location": {"type": "S3", "s3Location": {"uri": "s3://docs/handbook.pdf"}}}
RAG_BYO = _write(
    "rag-byo.jsonl",
    [{"conversationTurns": [{**_turn("q"), "output": {"knowledgeBaseIdentifier": "my-rag", "retrievedResults": {"retrievalResults": [PASSAGE]}}}]}],
)
RAG_BYO_GENERATE = _write(
    "rag-byo-generate.jsonl",
    [
        {
            "conversationTurns": [
                {
                    **_turn("When does the office open?"),
                    "output": {
                        "text": "At 9.",
                        "modelIdentifier": "my-llm",
                        "knowledgeBaseIdentifier": "my-rag",
                        "retrievedPassages": {"retrievalResults": [PASSAGE]},
                    },
                }
            ]
        }
    ],
)
# Where records used to carry it: at the top of the record, outside the turns.
RAG_BYO_TOP_LEVEL = _write(
    "rag-byo-top-level.jsonl",
    [{"conversationTurns": [_turn("q")], "output": {"knowledgeBaseIdentifier": "my-rag", "retrievedResults": {"retrievalResults": []}}}],
)
NO_REFERENCE = _write("no-reference.jsonl", [{"prompt": "Who wrote Hamlet?"}])
EMPTY_PROMPT = _write("empty-prompt.jsonl", [{"prompt": "  ", "referenceResponse": "x"}])
JSON_EXTENSION = _write("prompts.json", [{"prompt": "What is 2+2?", "referenceResponse": "4"}])
NO_REFERENCES = _write("no-references.jsonl", [{"conversationTurns": [{"prompt": {"content": [{"text": "What is in the handbook?"}]}}]}])
BYO_APP_A = _write("byo-app-a.jsonl", [{"prompt": "Hi?", "modelResponses": [{"response": "Hello", "modelIdentifier": "app-a"}]}])
NO_PROMPT = _write("no-prompt.jsonl", [{"question": "Hi?"}])
BYO_WRONG_ID = _write("byo-wrong.jsonl", [{"prompt": "Hi?", "modelResponses": [{"response": "x", "modelIdentifier": "other"}]}])


def every_filter() -> Filter:
    return Filter.and_all(
        Filter.or_all(Filter.equals("team", "search"), Filter.not_equals("draft", True)),
        Filter.greater_than("year", 2020),
        Filter.greater_than_or_equals("rating", 3.5),
        Filter.less_than("pages", 100),
        Filter.less_than_or_equals("version", 7),
        Filter.in_("lang", ["en", "fr"]),
        Filter.not_in("status", ["archived"]),
        Filter.starts_with("path", "docs/"),
        Filter.list_contains("tags", "faq"),
        Filter.string_contains("title", "guide"),
    )


def full_search(*, include: bool) -> VectorSearch:
    fields = ["title", "year"]
    return VectorSearch(
        number_of_results=8,
        search_type=SearchType.HYBRID,
        filter=every_filter(),
        implicit_filter=ImplicitFilter(
            attributes=[MetadataAttribute(key="year", type=AttributeType.NUMBER, description="publication year")],
            model_arn=PROFILE_JUDGE,
        ),
        reranking=Reranking(
            model_arn=RERANKER,
            number_of_reranked_results=4,
            additional_model_request_fields={"top_k": 4, "truncate": True},
            fields_to_include=fields if include else None,
            fields_to_exclude=None if include else fields,
        ),
    )


def full_generation() -> Generation:
    return Generation(
        prompt_template="Answer $query$ from $search_results$ only.",
        guardrail=Guardrail(guardrail_id="gr1234abcd", version="1"),
        temperature=0.2,
        top_p=0.9,
        max_tokens=512,
        stop_sequences=["\n\nHuman:"],
        additional_model_request_fields={"top_k": 50},
    )


def qa(path: Path = PROMPTS, *metrics: str, task_type: Any = TaskType.QUESTION_AND_ANSWER) -> EvaluationTask:
    return EvaluationTask(task_type=task_type, dataset=Dataset.from_file(path), metrics=list(metrics))


def rag_task(path: Path, *metrics: str) -> EvaluationTask:
    return EvaluationTask(dataset=Dataset.from_file(path), metrics=list(metrics))


CUSTOM_JUDGED = CustomMetric(
    name="Conciseness",
    instructions="Rate how concise {{prediction}} is as an answer to {{prompt}}.",
    rating_scale=[Rating.number("verbose", 0.0), Rating.number("concise", 1.0)],
)
CUSTOM_TEXT = CustomMetric(
    name="Tone",
    instructions="Is {{prediction}} polite given {{ground_truth}}?",
    rating_scale=[Rating.text("polite", "yes"), Rating.text("rude", "no")],
)
CUSTOM_CONTEXT = CustomMetric(name="ContextFit", instructions="Does {{context}} answer {{prompt}}?")

# --- valid configurations ------------------------------------------------------------------------

Build = Callable[[cdk.Stack], dict[str, Any]]


def v_automatic_builtin(stack: cdk.Stack) -> dict[str, Any]:
    return {
        "model": Model.bedrock(NOVA, inference_params={"inferenceConfig": {"maxTokens": 64}}, latency="optimized"),
        "tasks": [EvaluationTask(task_type=TaskType.QUESTION_AND_ANSWER, dataset=Dataset.builtin("Builtin.BoolQ"), metrics=[Metric.ACCURACY, Metric.ROBUSTNESS])],
        "description": "built-in",
        "tags": {"team": "search", "suite": "nightly"},
        "job_name": "nightly-boolq-fixed",
    }


def v_automatic_several_tasks(stack: cdk.Stack) -> dict[str, Any]:
    return {
        "model": Model.bedrock(MICRO),
        "tasks": [
            EvaluationTask(task_type=TaskType.SUMMARIZATION, dataset=Dataset.builtin("Builtin.Gigaword"), metrics=[Metric.ACCURACY]),
            EvaluationTask(task_type=TaskType.CLASSIFICATION, dataset=Dataset.builtin("Builtin.WomensEcommerceClothingReviews"), metrics=[Metric.ACCURACY]),
            EvaluationTask(task_type=TaskType.GENERATION, dataset=Dataset.builtin("Builtin.RealToxicityPrompts"), metrics=[Metric.TOXICITY]),
            qa(PROMPTS, Metric.ACCURACY),
            qa(PROMPTS, Metric.ROBUSTNESS, task_type=TaskType.CUSTOM),
        ],
    }


def v_automatic_s3_dataset(stack: cdk.Stack) -> dict[str, Any]:
    bucket = s3.Bucket(stack, "Datasets")
    return {"model": Model.bedrock(NOVA), "tasks": [EvaluationTask(task_type="QuestionAndAnswer", dataset=Dataset.from_s3(bucket, "qa/prompts.jsonl"), metrics=[Metric.ACCURACY])]}


def v_judge(stack: cdk.Stack) -> dict[str, Any]:
    return {"model": Model.bedrock(NOVA), "evaluator_model": Model.bedrock(PROFILE_JUDGE), "tasks": [qa(PROMPTS, Metric.CORRECTNESS, Metric.HELPFULNESS, Metric.REFUSAL)]}


def v_judge_custom_number_scale(stack: cdk.Stack) -> dict[str, Any]:
    return {
        "model": Model.bedrock(NOVA),
        "evaluator_model": Model.bedrock(JUDGE),
        "custom_metrics": [CUSTOM_JUDGED],
        "custom_metrics_evaluator_model": Model.bedrock(PROFILE_JUDGE),
        "tasks": [qa(PROMPTS, Metric.CORRECTNESS, "Conciseness")],
    }


def v_judge_custom_text_scale(stack: cdk.Stack) -> dict[str, Any]:
    return {"model": Model.bedrock(NOVA), "evaluator_model": Model.bedrock(JUDGE), "custom_metrics": [CUSTOM_TEXT], "tasks": [qa(PROMPTS, "Tone")]}


def v_judge_general_task_type(stack: cdk.Stack) -> dict[str, Any]:
    return {"model": Model.bedrock(NOVA), "evaluator_model": Model.bedrock(JUDGE), "tasks": [qa(PROMPTS, Metric.FAITHFULNESS, task_type="General")]}


def v_judge_bring_your_own(stack: cdk.Stack) -> dict[str, Any]:
    return {"model": Model.precomputed_responses("my-app"), "evaluator_model": Model.bedrock(JUDGE), "tasks": [qa(BYO_ONE, Metric.COHERENCE)]}


def v_human_two_models(stack: cdk.Stack) -> dict[str, Any]:
    return {
        "models": [Model.bedrock(NOVA, inference_params='{"inferenceConfig":{"maxTokens":100}}'), Model.bedrock(MICRO)],
        "human_workflow": HumanWorkflow(flow_definition_arn=FLOW, instructions="Pick the better answer."),
        "human_metrics": [
            HumanMetric(name="Preference", rating_method=RatingMethod.COMPARISON_CHOICE, description="which is better"),
            HumanMetric(name="Helpful", rating_method=RatingMethod.THUMBS_UP_DOWN),
        ],
        "tasks": [qa(PROMPTS, "Preference", "Helpful")],
    }


def v_human_bring_your_own(stack: cdk.Stack) -> dict[str, Any]:
    return {
        "models": [Model.precomputed_responses("app-a"), Model.precomputed_responses("app-b")],
        "human_workflow": HumanWorkflow(flow_definition_arn=FLOW),
        "human_metrics": [HumanMetric(name="Rank", rating_method=RatingMethod.COMPARISON_RANK)],
        "tasks": [qa(BYO_TWO, "Rank", task_type=TaskType.GENERATION)],
    }


def v_human_model_and_own_responses(stack: cdk.Stack) -> dict[str, Any]:
    # A human job may compare one Bedrock model with one bring-your-own source (user guide,
    # model-evaluation-prompt-datasets-custom-byoi): one modelResponses entry a line.
    return {
        "models": [Model.bedrock(NOVA), Model.precomputed_responses("app-a")],
        "human_workflow": HumanWorkflow(flow_definition_arn=FLOW),
        "human_metrics": [HumanMetric(name="Likert", rating_method=RatingMethod.COMPARISON_LIKERT_SCALE)],
        "tasks": [qa(BYO_APP_A, "Likert")],
    }


def v_retrieve_include(stack: cdk.Stack) -> dict[str, Any]:
    return {"rag": RagSource.retrieve(KB, search=full_search(include=True)), "evaluator_model": Model.bedrock(JUDGE), "tasks": [rag_task(ONE_TURN, RagMetric.CONTEXT_RELEVANCE, RagMetric.CONTEXT_COVERAGE)]}


def v_retrieve_exclude_with_custom(stack: cdk.Stack) -> dict[str, Any]:
    return {
        "rag": RagSource.retrieve(KB, search=full_search(include=False)),
        "evaluator_model": Model.bedrock(JUDGE),
        "custom_metrics": [CUSTOM_CONTEXT],
        "tasks": [rag_task(ONE_TURN, "ContextFit")],
    }


def v_retrieve_same_stack_knowledge_base(stack: cdk.Stack) -> dict[str, Any]:
    kb = bedrock.CfnKnowledgeBase(
        stack,
        "Kb",
        name="kb",
        role_arn="arn:aws:iam::123456789012:role/kb",
        knowledge_base_configuration=bedrock.CfnKnowledgeBase.KnowledgeBaseConfigurationProperty(type="VECTOR"),
    )
    return {"rag": RagSource.retrieve(kb), "evaluator_model": Model.bedrock(JUDGE), "tasks": [rag_task(ONE_TURN, RagMetric.CONTEXT_RELEVANCE)]}


def v_retrieve_and_generate_include(stack: cdk.Stack) -> dict[str, Any]:
    return {
        "rag": RagSource.retrieve_and_generate(KB, model_arn=PROFILE_JUDGE, search=full_search(include=True), generation=full_generation(), query_decomposition=True),
        "evaluator_model": Model.bedrock(JUDGE),
        "tasks": [rag_task(FIVE_TURNS, RagMetric.CORRECTNESS, RagMetric.FAITHFULNESS, RagMetric.CITATION_PRECISION, RagMetric.CITATION_COVERAGE, RagMetric.LOGICAL_COHERENCE)],
    }


def v_retrieve_and_generate_exclude_custom(stack: cdk.Stack) -> dict[str, Any]:
    return {
        "rag": RagSource.retrieve_and_generate(KB, model_arn=NOVA, search=full_search(include=False)),
        "evaluator_model": Model.bedrock(JUDGE),
        "custom_metrics": [CUSTOM_JUDGED],
        "tasks": [rag_task(ONE_TURN, RagMetric.COMPLETENESS, "Conciseness")],
        "description": "rag with custom metric",
    }


def v_external_s3(stack: cdk.Stack) -> dict[str, Any]:
    bucket = s3.Bucket(stack, "Docs")
    return {
        "rag": RagSource.external_sources(model_arn=NOVA, source=ExternalSource.s3(bucket, "docs/handbook.pdf"), generation=full_generation()),
        "evaluator_model": Model.bedrock(JUDGE),
        "tasks": [rag_task(ONE_TURN, RagMetric.HELPFULNESS)],
    }


def v_external_bytes(stack: cdk.Stack) -> dict[str, Any]:
    return {
        "rag": RagSource.external_sources(model_arn=NOVA, source=ExternalSource.byte_content(identifier="handbook", content_type="text/plain", data="The office opens at 9.")),
        "evaluator_model": Model.bedrock(JUDGE),
        "tasks": [rag_task(ONE_TURN, RagMetric.HARMFULNESS, RagMetric.STEREOTYPING, RagMetric.REFUSAL)],
    }


def v_rag_precomputed_retrieve(stack: cdk.Stack) -> dict[str, Any]:
    return {"rag": RagSource.precomputed(RagKind.RETRIEVE, "my-rag"), "evaluator_model": Model.bedrock(JUDGE), "tasks": [rag_task(RAG_BYO, RagMetric.CONTEXT_COVERAGE)]}


def v_rag_precomputed_generate(stack: cdk.Stack) -> dict[str, Any]:
    return {"rag": RagSource.precomputed(RagKind.RETRIEVE_AND_GENERATE, "my-rag"), "evaluator_model": Model.bedrock(JUDGE), "tasks": [rag_task(RAG_BYO_GENERATE, RagMetric.CORRECTNESS)]}


def v_encrypted(stack: cdk.Stack) -> dict[str, Any]:
    return {"model": Model.bedrock(NOVA), "encryption_key": kms.Key(stack, "Key"), "tasks": [qa(PROMPTS, Metric.ACCURACY)]}


VALID: dict[str, Build] = {name[2:]: fn for name, fn in globals().items() if name.startswith("v_")}


def synthesized_request(build: Build) -> tuple[dict[str, Any], dict[str, Any]]:
    """(the template's Request with tokens given values, the request the handler would send)"""
    stack = cdk.Stack(cdk.App(), "Corpus")
    EvaluationJob(stack, "Job", **build(stack))
    template = Template.from_stack(stack).to_json()
    (job,) = resources_of_type(template, "Custom::BedrockEvaluationJob").values()
    properties = resolve(job["Properties"], template)
    spec = handler_request.job_spec(
        as_delivered(properties),
        input_shape=input_shape(),
        stack_id="arn:aws:cloudformation:us-east-1:123456789012:stack/Corpus/1",
        logical_id="Job",
    )
    return properties["Request"], spec.request


@pytest.fixture(scope="module")
def sent_requests() -> dict[str, dict[str, Any]]:
    return {name: synthesized_request(build)[1] for name, build in VALID.items()}


def test_the_valid_corpus_is_large_enough():
    assert len(VALID) >= 20


@pytest.mark.parametrize("name", sorted(VALID))
def test_valid_configuration_sends_a_request_botocore_accepts(name, sent_requests):
    report = ParamValidator().validate(sent_requests[name], input_shape())
    assert not report.has_errors(), report.generate_report()


def _shape_paths(shape: Any, path: str, seen: frozenset[str]) -> Iterator[str]:
    """Every leaf path of the input shape; a recursive member (andAll/orAll of filters) is
    itself a leaf, and what it nests is the same shape, already listed."""
    kind = shape.type_name
    if kind == "structure" and not shape.metadata.get("document"):
        if shape.name in seen:
            yield path
            return
        for key, member in shape.members.items():
            yield from _shape_paths(member, f"{path}.{key}", seen | {shape.name})
    elif kind == "list":
        yield from _shape_paths(shape.member, f"{path}[]", seen)
    elif kind == "map":
        yield from _shape_paths(shape.value, f"{path}{{}}", seen)
    else:
        yield path


def _request_paths(value: Any, shape: Any, path: str, first: dict[str, str]) -> Iterator[str]:
    """The leaf paths a request sets, in the terms of `_shape_paths`: a filter nested in
    andAll/orAll counts for the same operator at the filter's first place."""
    kind = shape.type_name
    if kind == "structure" and not shape.metadata.get("document"):
        if shape.name in first:
            yield path  # the recursive member itself
            path = first[shape.name]
        first = {**first, shape.name: path}
        for key, item in value.items():
            yield from _request_paths(item, shape.members[key], f"{path}.{key}", first)
    elif kind == "list":
        for item in value:
            yield from _request_paths(item, shape.member, f"{path}[]", first)
    elif kind == "map":
        for item in value.values():
            yield from _request_paths(item, shape.value, f"{path}{{}}", first)
    else:
        yield path


# The handler owns the idempotency token: a user-set one would defeat it.
NOT_USER_SETTABLE = {".clientRequestToken"}


def test_every_field_of_the_request_shape_can_be_set_through_typed_props(sent_requests):
    every = set(_shape_paths(input_shape(), "", frozenset())) - NOT_USER_SETTABLE
    covered: set[str] = set()
    for request in sent_requests.values():
        covered |= set(_request_paths(request, input_shape(), "", {}))
    assert sorted(every - covered) == []


def test_raw_request_path_accepts_what_the_typed_api_builds():
    """Any request botocore accepts also goes in as request=, unchanged."""
    for name in ("retrieve_and_generate_include", "human_two_models", "judge_custom_number_scale"):
        template_request, _ = synthesized_request(VALID[name])
        raw = {k: v for k, v in template_request.items() if k not in ("roleArn", "outputDataConfig")}
        raw = json.loads(json.dumps(raw))
        _decode_documents(raw)
        stack = cdk.Stack(cdk.App(), "Raw")
        EvaluationJob(stack, "Job", request=raw)  # no error


def _decode_documents(value: Any) -> None:
    """The template carries documents as JSON text; a user writes them as values."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key in ("value", "additionalModelRequestFields") and isinstance(item, str):
                value[key] = json.loads(item)
            elif key == "additionalModelRequestFields" and isinstance(item, dict):
                value[key] = {k: json.loads(v) if isinstance(v, str) else v for k, v in item.items()}
            else:
                _decode_documents(item)
    elif isinstance(value, list):
        for item in value:
            _decode_documents(item)


# --- invalid configurations ----------------------------------------------------------------------

BASE_JUDGE = {"model": Model.bedrock(NOVA), "evaluator_model": Model.bedrock(JUDGE)}


def _rag(source: RagSource, *metrics: str, path: Path = ONE_TURN, **extra: Any) -> dict[str, Any]:
    return {"rag": source, "evaluator_model": Model.bedrock(JUDGE), "tasks": [rag_task(path, *metrics)], **extra}


def _search(**kwargs: Any) -> RagSource:
    return RagSource.retrieve(KB, search=VectorSearch(**kwargs))


def _generate(**kwargs: Any) -> RagSource:
    return RagSource.retrieve_and_generate(KB, model_arn=NOVA, generation=Generation(**kwargs))


def _human(**kwargs: Any) -> dict[str, Any]:
    config: dict[str, Any] = {
        "model": Model.bedrock(NOVA),
        "human_workflow": HumanWorkflow(flow_definition_arn=FLOW),
        "human_metrics": [HumanMetric(name="Helpful", rating_method=RatingMethod.THUMBS_UP_DOWN)],
        "tasks": [qa(PROMPTS, "Helpful")],
    }
    config.update(kwargs)
    return config


def _custom(metric: CustomMetric, *metrics: str) -> dict[str, Any]:
    return {**BASE_JUDGE, "custom_metrics": [metric], "tasks": [qa(PROMPTS, *(metrics or (metric.name,)))]}


INVALID: list[tuple[str, Callable[[cdk.Stack], dict[str, Any]], str]] = [
    # which kind of job
    ("model and rag", lambda s: {**_rag(RagSource.retrieve(KB), RagMetric.CONTEXT_RELEVANCE), "model": Model.bedrock(NOVA)}, "give exactly one of model, models or rag"),
    ("model and models", lambda s: {"model": Model.bedrock(NOVA), "models": [Model.bedrock(MICRO)], "tasks": [qa(PROMPTS, Metric.ACCURACY)]}, "give exactly one of model, models or rag"),
    ("two models on an automatic job", lambda s: {"models": [Model.bedrock(NOVA), Model.bedrock(MICRO)], "tasks": [qa(PROMPTS, Metric.ACCURACY)]}, "inferenceConfig.models[1] is 'amazon.nova-micro-v1:0': an automatic job evaluates one model"),
    ("three models on a human job", lambda s: _human(model=None, models=[Model.bedrock(NOVA), Model.bedrock(MICRO), Model.bedrock(JUDGE)]), "inferenceConfig.models is 3 items: at most 2 are allowed"),
    ("same model twice", lambda s: _human(model=None, models=[Model.bedrock(NOVA), Model.bedrock(NOVA)]), "inferenceConfig.models[1] is 'amazon.nova-lite-v1:0': names the same model as an earlier item"),
    ("rag without judge", lambda s: {"rag": RagSource.retrieve(KB), "tasks": [rag_task(ONE_TURN, RagMetric.CONTEXT_RELEVANCE)]}, "evaluationConfig.automated.evaluatorModelConfig is not given: knowledge-base evaluations are scored by a judge model: give evaluator_model"),
    ("precomputed on an automatic job", lambda s: {"model": Model.precomputed_responses("my-app"), "tasks": [qa(BYO_ONE, Metric.ACCURACY)]}, "inferenceConfig.models[0] is 'my-app': automatic jobs compute their metrics on live inference"),
    # metrics by kind
    ("judge metric on automatic", lambda s: {"model": Model.bedrock(NOVA), "tasks": [qa(PROMPTS, Metric.HELPFULNESS)]}, "datasetMetricConfigs[0].metricNames[0] is 'Builtin.Helpfulness': is not a metric of automatic jobs"),
    ("automatic metric on judge", lambda s: {**BASE_JUDGE, "tasks": [qa(PROMPTS, Metric.TOXICITY)]}, "metricNames[0] is 'Builtin.Toxicity': is not a metric of LLM-as-a-judge jobs"),
    ("generation metric on retrieve-only", lambda s: _rag(RagSource.retrieve(KB), RagMetric.FAITHFULNESS), "'Builtin.Faithfulness': is not a metric of retrieve-only"),
    ("retrieve metric on retrieve-and-generate", lambda s: _rag(RagSource.retrieve_and_generate(KB, model_arn=NOVA), RagMetric.CONTEXT_COVERAGE), "'Builtin.ContextCoverage': is not a metric of retrieve-and-generate"),
    ("model metric on rag", lambda s: _rag(RagSource.retrieve_and_generate(KB, model_arn=NOVA), Metric.COHERENCE), "'Builtin.Coherence': is not a metric of retrieve-and-generate"),
    ("builtin metric on human", lambda s: _human(tasks=[qa(PROMPTS, Metric.ACCURACY)]), "evaluationConfig.human.datasetMetricConfigs[0].metricNames[0] is 'Builtin.Accuracy': is not a metric of human jobs; expected one of Helpful"),
    ("unknown metric name", lambda s: {"model": Model.bedrock(NOVA), "tasks": [qa(PROMPTS, "Builtin.Accurasy")]}, "'Builtin.Accurasy': is not a metric of automatic jobs; expected one of Builtin.Accuracy, Builtin.Robustness, Builtin.Toxicity"),
    ("no metrics", lambda s: {"model": Model.bedrock(NOVA), "tasks": [qa(PROMPTS)]}, "datasetMetricConfigs[0].metricNames is of length 0: must be at least 1 long"),
    ("26 metrics", lambda s: {**BASE_JUDGE, "tasks": [qa(PROMPTS, *[f"M{i}" for i in range(26)])]}, "datasetMetricConfigs[0].metricNames is 26 items: at most 25 are allowed"),
    ("duplicate metric", lambda s: {"model": Model.bedrock(NOVA), "tasks": [qa(PROMPTS, Metric.ACCURACY, Metric.ACCURACY)]}, "metricNames is ['Builtin.Accuracy', 'Builtin.Accuracy']: names a metric twice"),
    ("no tasks", lambda s: {"model": Model.bedrock(NOVA), "tasks": []}, "evaluationConfig.automated.datasetMetricConfigs is of length 0: must be at least 1 long"),
    ("six tasks", lambda s: {"model": Model.bedrock(NOVA), "tasks": [qa(PROMPTS, Metric.ACCURACY)] * 6}, "evaluationConfig.automated.datasetMetricConfigs is 6 items: at most 5 are allowed"),
    ("missing task type", lambda s: {"model": Model.bedrock(NOVA), "tasks": [EvaluationTask(dataset=Dataset.from_file(PROMPTS), metrics=[Metric.ACCURACY])]}, "tasks[0].task_type is not given: automatic and human model evaluations need a task type"),
    ("task type with a space", lambda s: {"model": Model.bedrock(NOVA), "tasks": [qa(PROMPTS, Metric.ACCURACY, task_type="Question Answer")]}, "taskType is 'Question Answer': does not match the pattern [A-Za-z0-9]+"),
    # datasets
    ("builtin dataset of another task", lambda s: {"model": Model.bedrock(NOVA), "tasks": [EvaluationTask(task_type=TaskType.GENERATION, dataset=Dataset.builtin("Builtin.Gigaword"), metrics=[Metric.ACCURACY])]}, "dataset.name is 'Builtin.Gigaword' for Builtin.Accuracy on Generation (it is a dataset for Accuracy on Summarization"),
    ("builtin dataset with custom task type", lambda s: {"model": Model.bedrock(NOVA), "tasks": [EvaluationTask(task_type=TaskType.CUSTOM, dataset=Dataset.builtin("Builtin.BoolQ"), metrics=[Metric.ACCURACY])]}, "dataset.name is 'Builtin.BoolQ' for Builtin.Accuracy on Custom"),
    ("builtin dataset on judge", lambda s: {**BASE_JUDGE, "tasks": [EvaluationTask(task_type=TaskType.QUESTION_AND_ANSWER, dataset=Dataset.builtin("Builtin.BoolQ"), metrics=[Metric.CORRECTNESS])]}, "dataset.name is 'Builtin.BoolQ': LLM-as-a-judge jobs need a custom prompt dataset"),
    ("builtin dataset on rag", lambda s: {"rag": RagSource.retrieve(KB), "evaluator_model": Model.bedrock(JUDGE), "tasks": [EvaluationTask(dataset=Dataset.builtin("Builtin.BoolQ"), metrics=[RagMetric.CONTEXT_RELEVANCE])]}, "dataset.name is 'Builtin.BoolQ': retrieve-only knowledge-base jobs need a custom prompt dataset"),
    ("model dataset on rag", lambda s: _rag(RagSource.retrieve(KB), RagMetric.CONTEXT_RELEVANCE, path=PROMPTS), "prompts.jsonl': line 1: the record has no 'conversationTurns' key"),
    ("rag dataset on model job", lambda s: {"model": Model.bedrock(NOVA), "tasks": [qa(ONE_TURN, Metric.ACCURACY)]}, "one-turn.jsonl': line 1: the record has no 'prompt' key"),
    ("record without prompt", lambda s: {"model": Model.bedrock(NOVA), "tasks": [qa(NO_PROMPT, Metric.ACCURACY)]}, "no-prompt.jsonl': line 1: the record has no 'prompt' key"),
    ("five turns on retrieve-only", lambda s: _rag(RagSource.retrieve(KB), RagMetric.CONTEXT_RELEVANCE, path=FIVE_TURNS), "five-turns.jsonl': line 1: 'conversationTurns' has 5 turns; this job kind takes at most 1"),
    ("six turns on retrieve-and-generate", lambda s: _rag(RagSource.retrieve_and_generate(KB, model_arn=NOVA), RagMetric.CORRECTNESS, path=SIX_TURNS), "six-turns.jsonl': line 1: 'conversationTurns' has 6 turns; this job kind takes at most 5"),
    ("byo responses missing", lambda s: {**BASE_JUDGE, "model": Model.precomputed_responses("my-app"), "tasks": [qa(PROMPTS, Metric.CORRECTNESS)]}, "prompts.jsonl': line 1: the record has no 'modelResponses' list"),
    ("byo identifier mismatch", lambda s: {**BASE_JUDGE, "model": Model.precomputed_responses("my-app"), "tasks": [qa(BYO_WRONG_ID, Metric.CORRECTNESS)]}, "byo-wrong.jsonl': line 1: modelResponses names ['other']"),
    ("byo human needs both responses", lambda s: _human(model=None, models=[Model.precomputed_responses("app-a"), Model.precomputed_responses("app-c")], tasks=[qa(BYO_TWO, "Helpful")]), "byo-two.jsonl': line 1: modelResponses names ['app-a', 'app-b']"),
    ("rag byo output id mismatch", lambda s: _rag(RagSource.precomputed(RagKind.RETRIEVE, "other-rag"), RagMetric.CONTEXT_RELEVANCE, path=RAG_BYO), "rag-byo.jsonl': line 1: conversationTurns[0].output.knowledgeBaseIdentifier is 'my-rag'"),
    ("rag byo output missing", lambda s: _rag(RagSource.precomputed(RagKind.RETRIEVE, "my-rag"), RagMetric.CONTEXT_RELEVANCE), "one-turn.jsonl': line 1: conversationTurns[0] has no 'output' object"),
    # Fidelity to the service (../shared/reference/bedrock-evaluation.md, "Prompt datasets" and "Metric names")
    # AWS sample data puts a bring-your-own RAG output inside each turn; one at the top of the record is not read.
    ("rag byo output at the top of the record", lambda s: _rag(RagSource.precomputed(RagKind.RETRIEVE, "my-rag"), RagMetric.CONTEXT_RELEVANCE, path=RAG_BYO_TOP_LEVEL), "rag-byo-top-level.jsonl': line 1: conversationTurns[0] has no 'output' object"),
    # Retrieve-and-generate bring-your-own outputs carry the generated text and retrievedPassages.
    ("rag byo generate output without text", lambda s: _rag(RagSource.precomputed(RagKind.RETRIEVE_AND_GENERATE, "my-rag"), RagMetric.CORRECTNESS, path=RAG_BYO), "rag-byo.jsonl': line 1: conversationTurns[0].output.retrievedPassages.retrievalResults must be a list"),
    # User guide (model-evaluation-prompt-datasets-builtin): human jobs take custom datasets only.
    ("human job on a built-in dataset", lambda s: _human(tasks=[EvaluationTask(task_type=TaskType.QUESTION_AND_ANSWER, dataset=Dataset.builtin("Builtin.TriviaQA"), metrics=["Helpful"])]), "dataset.name is 'Builtin.TriviaQA': human jobs need a custom prompt dataset"),
    # User guide table of built-in datasets: Classification has no Toxicity; Generation Accuracy is T-Rex only.
    ("classification toxicity", lambda s: {"model": Model.bedrock(NOVA), "tasks": [EvaluationTask(task_type=TaskType.CLASSIFICATION, dataset=Dataset.builtin("Builtin.WomensEcommerceClothingReviews"), metrics=[Metric.TOXICITY])]}, "for Builtin.Toxicity on Classification"),
    ("generation accuracy on bold", lambda s: {"model": Model.bedrock(NOVA), "tasks": [EvaluationTask(task_type=TaskType.GENERATION, dataset=Dataset.builtin("Builtin.Bold"), metrics=[Metric.ACCURACY])]}, "'Builtin.Bold' for Builtin.Accuracy on Generation"),
    # User guide (model-evaluation-prompt-datasets-custom): referenceResponse is required for automatic
    # QuestionAndAnswer, Accuracy and Robustness; a prompt is a non-empty string; the file is .jsonl.
    ("automatic accuracy without reference", lambda s: {"model": Model.bedrock(NOVA), "tasks": [qa(NO_REFERENCE, Metric.ACCURACY, task_type=TaskType.GENERATION)]}, "no-reference.jsonl': line 1: the record has no 'referenceResponse'"),
    ("empty prompt", lambda s: {"model": Model.bedrock(NOVA), "evaluator_model": Model.bedrock(JUDGE), "tasks": [qa(EMPTY_PROMPT, Metric.CORRECTNESS)]}, "empty-prompt.jsonl': line 1: 'prompt' must be a non-empty string"),
    ("dataset without jsonl extension", lambda s: {"model": Model.bedrock(NOVA), "tasks": [qa(JSON_EXTENSION, Metric.ACCURACY)]}, "datasetLocation.s3Uri is "),
    # User guide (knowledge-base-evaluation-prompt-datasets): referenceResponses is required for ContextCoverage.
    ("context coverage without references", lambda s: _rag(RagSource.retrieve(KB), RagMetric.CONTEXT_COVERAGE, path=NO_REFERENCES), "no-references.jsonl': line 1: conversationTurns[0].referenceResponses[0].content[0].text is required for ContextCoverage"),
    # API reference (HumanEvaluationCustomMetric.ratingMethod): one of the five rating methods.
    ("rating method typo", lambda s: _human(human_metrics=[HumanMetric(name="Helpful", rating_method="ThumbsUpDwn")]), "ratingMethod is 'ThumbsUpDwn': is not a rating method"),
    # API reference (RetrieveConfig.knowledgeBaseId): an id of 10 characters, not an ARN.
    ("knowledge base arn as id", lambda s: _rag(RagSource.retrieve("arn:aws:bedrock:us-east-1:123456789012:knowledge-base/KB12345678"), RagMetric.CONTEXT_RELEVANCE), "knowledgeBaseId is 'arn:aws:bedrock:us-east-1:123456789012:knowledge-base/KB12345678': is an ARN"),
    # User guide (kb-test-config / prompt templates): $search_results$ is where the retrieved passages go.
    ("prompt template without search results", lambda s: _rag(_generate(prompt_template="Answer $query$ briefly."), RagMetric.CORRECTNESS), "textPromptTemplate is 'Answer $query$ briefly.': a prompt template must contain $search_results$"),
    # custom metrics
    ("custom metric on automatic", lambda s: {"model": Model.bedrock(NOVA), "custom_metrics": [CUSTOM_JUDGED], "tasks": [qa(PROMPTS, "Conciseness")]}, "evaluationConfig.automated.customMetricConfig is ['Conciseness']: custom metrics are scored by a judge, and automatic jobs have none"),
    ("custom metric on human", lambda s: _human(custom_metrics=[CUSTOM_JUDGED]), "custom_metrics is ['Conciseness']: human jobs are rated by people (human_metrics), not by a judge model"),
    ("custom metric not in any task", lambda s: _custom(CUSTOM_JUDGED, Metric.CORRECTNESS), "customMetrics[0].customMetricDefinition.name is 'Conciseness': a custom metric must also be named in the metricNames of the tasks it scores"),
    ("custom metric without prediction", lambda s: _custom(CustomMetric(name="X", instructions="Rate {{prompt}}.")), "customMetrics[0].customMetricDefinition.instructions is 'Rate {{prompt}}.': a custom metric's instructions must contain {{prediction}} in LLM-as-a-judge jobs"),
    ("retrieve custom metric without context", lambda s: _rag(RagSource.retrieve(KB), "X", custom_metrics=[CustomMetric(name="X", instructions="Rate {{prediction}}.")]), "must contain {{context}} in retrieve-only knowledge-base jobs"),
    ("custom metric unknown variable", lambda s: _custom(CustomMetric(name="X", instructions="Rate {{prediction}} by {{answer}}.")), "instructions is '{{answer}}': uses a variable the service does not know"),
    ("custom metric instructions too long", lambda s: _custom(CustomMetric(name="X", instructions="{{prediction}}" + "x" * 5000)), "instructions is 5014 characters long: at most 5000 are allowed"),
    ("custom metric name pattern", lambda s: _custom(CustomMetric(name="My Metric", instructions="{{prediction}}")), "metricNames[0] is 'My Metric': does not match the pattern [0-9a-zA-Z-_.]+"),
    ("rating scale of 11", lambda s: _custom(CustomMetric(name="X", instructions="{{prediction}}", rating_scale=[Rating.number(str(i), i) for i in range(11)])), "ratingScale is 11 items: at most 10 are allowed"),
    ("rating scale mixed", lambda s: _custom(CustomMetric(name="X", instructions="{{prediction}}", rating_scale=[Rating.number("a", 1), Rating.text("b", "b")])), "ratingScale is ['floatValue', 'stringValue']: a rating scale is all numbers (floatValue) or all text (stringValue), not both"),
    ("rating definition too long", lambda s: _custom(CustomMetric(name="X", instructions="{{prediction}}", rating_scale=[Rating.text("d" * 101, "v")])), "ratingScale[0].definition is 101 characters long: at most 100 are allowed"),
    ("eleven custom metrics", lambda s: {**BASE_JUDGE, "custom_metrics": [CustomMetric(name=f"M{i}", instructions="{{prediction}}") for i in range(11)], "tasks": [qa(PROMPTS, *[f"M{i}" for i in range(11)])]}, "customMetricConfig.customMetrics is 11 items: at most 10 are allowed"),
    ("duplicate custom metric", lambda s: {**BASE_JUDGE, "custom_metrics": [CUSTOM_JUDGED, CUSTOM_JUDGED], "tasks": [qa(PROMPTS, "Conciseness")]}, "names a custom metric twice"),
    ("custom evaluator without metrics", lambda s: {**BASE_JUDGE, "custom_metrics_evaluator_model": Model.bedrock(JUDGE), "tasks": [qa(PROMPTS, Metric.CORRECTNESS)]}, "custom_metrics_evaluator_model is 'anthropic.claude-3-5-sonnet-20240620-v1:0': is given without custom_metrics"),
    ("judge with inference params", lambda s: {**BASE_JUDGE, "evaluator_model": Model.bedrock(JUDGE, inference_params={"temperature": 0}), "tasks": [qa(PROMPTS, Metric.CORRECTNESS)]}, "evaluator_model is 'anthropic.claude-3-5-sonnet-20240620-v1:0': a judge is named by its identifier only"),
    # human
    ("human without metrics", lambda s: _human(human_metrics=[]), "evaluationConfig.human.customMetrics is not given: human jobs need the metrics people rate (human_metrics)"),
    ("human without workflow", lambda s: _human(human_workflow=None), "human_workflow is not given: human jobs need the flow definition"),
    ("human with judge", lambda s: _human(evaluator_model=Model.bedrock(JUDGE)), "evaluator_model is 'anthropic.claude-3-5-sonnet-20240620-v1:0': human jobs are rated by people"),
    ("comparison with one model", lambda s: _human(human_metrics=[HumanMetric(name="Helpful", rating_method=RatingMethod.COMPARISON_CHOICE)]), "customMetrics[0].ratingMethod is 'ComparisonChoice': this rating method compares two responses: give 2 models"),
    ("human metric description too long", lambda s: _human(human_metrics=[HumanMetric(name="Helpful", rating_method=RatingMethod.THUMBS_UP_DOWN, description="d" * 64)]), "customMetrics[0].description is 64 characters long: at most 63 are allowed"),
    ("human instructions too long", lambda s: _human(human_workflow=HumanWorkflow(flow_definition_arn=FLOW, instructions="i" * 5001)), "humanWorkflowConfig.instructions is 5001 characters long"),
    # knowledge-base settings
    ("number of results 101", lambda s: _rag(_search(number_of_results=101), RagMetric.CONTEXT_RELEVANCE), "numberOfResults is 101: must be between 1 and 100"),
    ("number of results 0", lambda s: _rag(_search(number_of_results=0), RagMetric.CONTEXT_RELEVANCE), "numberOfResults"),
    ("unknown search type", lambda s: _rag(_search(search_type="KEYWORD"), RagMetric.CONTEXT_RELEVANCE), None),
    ("and_all of one", lambda s: _rag(_search(filter=Filter.and_all(Filter.equals("a", 1))), RagMetric.CONTEXT_RELEVANCE), "Filter.and_all: filters is (Filter(rendered={'equals': {'key': 'a', 'value': 1}}),): takes at least 2 filters, got 1"),
    ("filter key too long", lambda s: _rag(_search(filter=Filter.equals("k" * 101, 1)), RagMetric.CONTEXT_RELEVANCE), "filter.equals.key is 101 characters long"),
    ("26 metadata attributes", lambda s: _rag(_search(implicit_filter=ImplicitFilter(attributes=[MetadataAttribute(key=f"k{i}", type="STRING", description="d") for i in range(26)], model_arn=JUDGE)), RagMetric.CONTEXT_RELEVANCE), "metadataAttributes is 26 items: at most 25 are allowed"),
    ("reranking include and exclude", lambda s: _rag(_search(reranking=Reranking(model_arn=RERANKER, fields_to_include=["a"], fields_to_exclude=["b"])), RagMetric.CONTEXT_RELEVANCE), "give fields_to_include or fields_to_exclude, not both"),
    ("reranked results 101", lambda s: _rag(_search(reranking=Reranking(model_arn=RERANKER, number_of_reranked_results=101)), RagMetric.CONTEXT_RELEVANCE), "numberOfRerankedResults is 101"),
    ("temperature above 1", lambda s: _rag(_generate(temperature=1.5), RagMetric.CORRECTNESS), "temperature is 1.5: must be between 0 and 1"),
    ("top p above 1", lambda s: _rag(_generate(top_p=2), RagMetric.CORRECTNESS), "topP is 2: must be between 0 and 1"),
    ("max tokens above 65536", lambda s: _rag(_generate(max_tokens=70000), RagMetric.CORRECTNESS), "maxTokens is 70000"),
    ("five stop sequences", lambda s: _rag(_generate(stop_sequences=["a", "b", "c", "d", "e"]), RagMetric.CORRECTNESS), "stopSequences is 5 items: at most 4 are allowed"),
    ("guardrail version too long", lambda s: _rag(_generate(guardrail=Guardrail(guardrail_id="gr1", version="123456")), RagMetric.CORRECTNESS), "guardrailVersion is 6 characters long"),
    ("knowledge base id too long", lambda s: _rag(RagSource.retrieve("KB123456789XYZ"), RagMetric.CONTEXT_RELEVANCE), "knowledgeBaseId is 14 characters long"),
    ("precomputed source id too long", lambda s: {"rag": RagSource.precomputed(RagKind.RETRIEVE, "r" * 257), "evaluator_model": Model.bedrock(JUDGE), "tasks": [EvaluationTask(dataset=Dataset.from_s3(s3.Bucket(s, "D"), "rag/byo.jsonl"), metrics=[RagMetric.CONTEXT_RELEVANCE])]}, "ragSourceIdentifier is 257 characters long"),
    # top level
    ("description too long", lambda s: {"model": Model.bedrock(NOVA), "tasks": [qa(PROMPTS, Metric.ACCURACY)], "description": "d" * 201}, "jobDescription is 201 characters long: at most 200 are allowed"),
    ("job name with underscore", lambda s: {"model": Model.bedrock(NOVA), "tasks": [qa(PROMPTS, Metric.ACCURACY)], "job_name": "my_rag_eval"}, "jobName is 'my_rag_eval': does not match the pattern"),
    ("tag key too long", lambda s: {"model": Model.bedrock(NOVA), "tasks": [qa(PROMPTS, Metric.ACCURACY)], "tags": {"k" * 129: "v"}}, "jobTags[0].key is 129 characters long"),
    ("201 tags", lambda s: {"model": Model.bedrock(NOVA), "tasks": [qa(PROMPTS, Metric.ACCURACY)], "tags": {f"k{i}": "v" for i in range(201)}}, "jobTags is 201 items: at most 200 are allowed"),
    ("bad model identifier", lambda s: {"model": Model.bedrock("Nova Lite"), "tasks": [qa(PROMPTS, Metric.ACCURACY)]}, "modelIdentifier is 'Nova Lite': does not match the pattern"),
    ("inference params too long", lambda s: {"model": Model.bedrock(NOVA, inference_params={"x": "y" * 1100}), "tasks": [qa(PROMPTS, Metric.ACCURACY)]}, "inferenceParams is 1108 characters long"),
]


@pytest.mark.parametrize(("case", "build", "message"), INVALID, ids=[c[0] for c in INVALID])
def test_invalid_configuration_fails_at_synth_naming_the_field(case, build, message):
    stack = cdk.Stack(cdk.App(), "Corpus")
    if message is None:
        # An enum value botocore does not list is a warning, not an error (AWS enums are open).
        EvaluationJob(stack, "Job", **build(stack))
        warnings = list(cdk.assertions.Annotations.from_stack(stack).find_warning("*", cdk.assertions.Match.any_value()))
        assert any("KEYWORD" in json.dumps(w.entry.data) for w in warnings)
        return
    with pytest.raises(EvaluationJobConfigError, match=_escaped(message)) as raised:
        EvaluationJob(stack, "Job", **build(stack))
    # Named by the construct, or by the value type that refused to be built.
    assert str(raised.value).startswith(("Corpus/Job: ", "Filter.", "Reranking: "))


def test_the_invalid_corpus_is_large_enough():
    assert len([c for c in INVALID if c[2] is not None]) >= 60


def _escaped(message: str) -> str:
    import re

    return re.escape(message)
