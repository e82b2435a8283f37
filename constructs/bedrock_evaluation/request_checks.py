"""The checks behind the rules table (`rules.py`): each finder reads a request through its
`RequestView` and yields the parts that break one rule, with the paths messages name."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator

from .custom_metrics import COMPARISON_METHODS, RatingMethod
from .datasets import BUILTIN_DATASETS
from .errors import NOT_GIVEN, Summary
from .models import is_known_judge
from .references import has_iam_wildcard, policy_resources
from .request_view import JobKind, Located, RequestView
from .tasks import (
    AUTOMATIC_METRICS,
    BUILTIN_DATASETS_BY_TASK_AND_METRIC,
    JUDGE_METRICS,
    JUDGE_TASK_TYPE,
    RETRIEVE_AND_GENERATE_METRICS,
    RETRIEVE_METRICS,
)
from .tokens import is_unresolved

BUILTIN_METRICS: dict[JobKind, frozenset[str]] = {
    JobKind.AUTOMATIC: AUTOMATIC_METRICS,
    JobKind.JUDGE: JUDGE_METRICS,
    JobKind.HUMAN: frozenset(),
    JobKind.RETRIEVE: RETRIEVE_METRICS,
    JobKind.RETRIEVE_AND_GENERATE: RETRIEVE_AND_GENERATE_METRICS,
}
# Variables a judged custom metric's instructions may use, and those each kind requires.
KNOWN_VARIABLES = frozenset({"prompt", "prediction", "ground_truth", "context", "reference_contexts"})
REQUIRED_VARIABLES: dict[JobKind, str] = {
    JobKind.JUDGE: "prediction",
    JobKind.RETRIEVE: "context",
    JobKind.RETRIEVE_AND_GENERATE: "prediction",
}
_VARIABLE = re.compile(r"\{\{(\w+)\}\}")
_LABEL_LENGTH = 40
SEARCH_RESULTS = "$search_results$"
# The generators the API reference documents for EXTERNAL_SOURCES (ExternalSourcesRetrieveAndGenerateConfiguration:
# "only Claude 3 Sonnet models are supported").
EXTERNAL_SOURCES_GENERATORS = ("anthropic.claude-3-sonnet",)


def allowed_metrics(view: RequestView) -> set[str]:
    return set(BUILTIN_METRICS[view.kind]) | view.custom_metric_names()




def application_type_mismatch(view: RequestView) -> Iterator[Located]:
    application_type = view.request.get("applicationType", NOT_GIVEN)
    if (application_type == "RagEvaluation") != (view.rag_config is not None):
        yield Located("applicationType", application_type)


def second_model(view: RequestView) -> Iterator[Located]:
    for model in list(view.models())[1:]:
        yield Located(model.path, view.model_identifier(model.value))


def repeated_model(view: RequestView) -> Iterator[Located]:
    seen: set[str] = set()
    for model in view.models():
        identifier = view.model_identifier(model.value)
        if identifier is not None and not is_unresolved(identifier) and identifier in seen:
            yield Located(model.path, identifier)
        seen.add(identifier or "")


def precomputed_model(view: RequestView) -> Iterator[Located]:
    for model in view.models():
        if view.is_precomputed(model.value):
            yield Located(model.path, view.model_identifier(model.value))


def missing_judge(view: RequestView) -> Iterator[Located]:
    if "evaluatorModelConfig" not in view.config:
        yield Located(f"{view.config_path}.evaluatorModelConfig", NOT_GIVEN)


def metric_of_another_kind(view: RequestView) -> Iterator[Located]:
    allowed = allowed_metrics(view)
    for name in view.metric_names():
        if isinstance(name.value, str) and not is_unresolved(name.value) and name.value not in allowed:
            yield name


def metric_named_twice(view: RequestView) -> Iterator[Located]:
    for task in view.tasks():
        names = task.value.get("metricNames")
        if isinstance(names, list):
            twice = sorted(n for n, count in Counter(map(str, names)).items() if count > 1)
            if twice:
                yield Located(f"{task.path}.metricNames", names)


def custom_metric_config(view: RequestView) -> Iterator[Located]:
    if view.has_custom_metric_config:
        yield Located(f"{view.config_path}.customMetricConfig", sorted(view.custom_metric_names()))


def custom_metric_named_twice(view: RequestView) -> Iterator[Located]:
    seen: set[str] = set()
    for metric in view.custom_metrics():
        name = metric.value.get("name")
        if isinstance(name, str) and name in seen:
            yield Located(f"{metric.path}.name", name)
        seen.add(str(name))


def _instructions(view: RequestView) -> Iterator[tuple[Located, set[str]]]:
    for metric in view.custom_metrics():
        text = metric.value.get("instructions")
        if isinstance(text, str) and not is_unresolved(text):
            yield Located(f"{metric.path}.instructions", text), set(_VARIABLE.findall(text))


def unknown_variable(view: RequestView) -> Iterator[Located]:
    for instructions, used in _instructions(view):
        unknown = sorted(used - KNOWN_VARIABLES)
        if unknown:
            yield Located(instructions.path, "{{" + "}}, {{".join(unknown) + "}}")


def missing_variable(view: RequestView) -> Iterator[Located]:
    required = REQUIRED_VARIABLES.get(view.kind)
    for instructions, used in _instructions(view):
        if required is not None and required not in used:
            yield Located(instructions.path, _shortened(instructions.value))


def mixed_rating_scale(view: RequestView) -> Iterator[Located]:
    for metric in view.custom_metrics():
        scale = metric.value.get("ratingScale")
        if isinstance(scale, list):
            kinds = {key for rating in scale if isinstance(rating, dict) for key in rating.get("value", {})}
            if len(kinds) > 1:
                yield Located(f"{metric.path}.ratingScale", sorted(kinds))


def unused_custom_metric(view: RequestView) -> Iterator[Located]:
    used = {n.value for n in view.metric_names()}
    for metric in view.custom_metrics():
        name = metric.value.get("name")
        if isinstance(name, str) and not is_unresolved(name) and name not in used:
            yield Located(f"{metric.path}.name", name)


def _builtin_datasets(view: RequestView) -> Iterator[tuple[Located, str, str]]:
    """Each dataset without a datasetLocation, with its name and its task's taskType."""
    for task in view.tasks():
        dataset = task.value.get("dataset")
        if isinstance(dataset, dict) and "datasetLocation" not in dataset:
            yield Located(f"{task.path}.dataset.name", dataset.get("name")), str(dataset.get("name")), str(task.value.get("taskType"))


def builtin_dataset(view: RequestView) -> Iterator[Located]:
    for located, _, _ in _builtin_datasets(view):
        yield located


def unknown_builtin_dataset(view: RequestView) -> Iterator[Located]:
    for located, name, _ in _builtin_datasets(view):
        if not is_unresolved(name) and name not in BUILTIN_DATASETS:
            yield located


def builtin_dataset_of_another_task(view: RequestView) -> Iterator[Located]:
    for task in view.tasks():
        dataset = task.value.get("dataset")
        if not isinstance(dataset, dict) or "datasetLocation" in dataset:
            continue
        name, task_type = str(dataset.get("name")), str(task.value.get("taskType"))
        if name not in BUILTIN_DATASETS or is_unresolved(task_type):
            continue
        by_metric = BUILTIN_DATASETS_BY_TASK_AND_METRIC.get(task_type, {})
        for metric in task.value.get("metricNames") or []:
            if isinstance(metric, str) and metric in AUTOMATIC_METRICS and name not in by_metric.get(metric, ()):
                fits = sorted(f"{m.removeprefix('Builtin.')} on {t}" for t, metrics in BUILTIN_DATASETS_BY_TASK_AND_METRIC.items() for m, names in metrics.items() if name in names)
                yield Located(f"{task.path}.dataset.name", Summary(f"{name!r} for {metric} on {task_type} (it is a dataset for {', '.join(fits)})"))


def comparison_without_two_models(view: RequestView) -> Iterator[Located]:
    if len(list(view.models())) == 2:
        return
    for metric in view.custom_metrics():
        if metric.value.get("ratingMethod") in COMPARISON_METHODS:
            yield Located(f"{metric.path}.ratingMethod", metric.value["ratingMethod"])


def no_human_metrics(view: RequestView) -> Iterator[Located]:
    if not list(view.custom_metrics()):
        yield Located(f"{view.config_path}.customMetrics", view.config.get("customMetrics", NOT_GIVEN))


def unlisted_judge(view: RequestView) -> Iterator[Located]:
    for judge in view.evaluators():
        if isinstance(judge.value, str) and not is_known_judge(judge.value, custom_metrics="customMetricConfig" in judge.path):
            yield judge


def unknown_rating_method(view: RequestView) -> Iterator[Located]:
    for metric in view.custom_metrics():
        method = metric.value.get("ratingMethod")
        if isinstance(method, str) and not is_unresolved(method) and method not in set(RatingMethod):
            yield Located(f"{metric.path}.ratingMethod", method)


def knowledge_base_arn(view: RequestView) -> Iterator[Located]:
    rag = view.rag_config
    if rag is None:
        return
    for path, value in _leaves(rag.value, rag.path):
        if path.endswith(".knowledgeBaseId") and isinstance(value, str) and value.startswith("arn:"):
            yield Located(path, value)


def template_without_search_results(view: RequestView) -> Iterator[Located]:
    rag = view.rag_config
    if rag is None:
        return
    for path, value in _leaves(rag.value, rag.path):
        if path.endswith(".textPromptTemplate") and isinstance(value, str) and not is_unresolved(value) and SEARCH_RESULTS not in value:
            yield Located(path, _shortened(value))


def external_sources_generator(view: RequestView) -> Iterator[Located]:
    rag = view.rag_config
    if rag is None:
        return
    for path, value in _leaves(rag.value, rag.path):
        if ".externalSourcesConfiguration.modelArn" in path and isinstance(value, str) and not is_unresolved(value):
            if not any(model in value for model in EXTERNAL_SOURCES_GENERATORS):
                yield Located(path, value)


def custom_dataset_extension(view: RequestView) -> Iterator[Located]:
    for task in view.tasks():
        location = task.value.get("dataset", {}).get("datasetLocation") if isinstance(task.value.get("dataset"), dict) else None
        uri = location.get("s3Uri") if isinstance(location, dict) else None
        # A URI ending in "/" names a prefix (the objects under it), not a file.
        name = uri.rpartition("/")[2] if isinstance(uri, str) else ""
        if name and not is_unresolved(name) and not name.endswith(".jsonl"):
            yield Located(f"{task.path}.dataset.datasetLocation.s3Uri", uri)


def variables_not_last(view: RequestView) -> Iterator[Located]:
    for instructions, used in _instructions(view):
        text = str(instructions.value)
        first = text.find("{{")
        if not used or first < 0:
            continue
        # After the first variable: only variables, and short labels such as "Response:".
        trailing = [line for line in text[first:].splitlines() if not _VARIABLE.search(line) and len(line.strip()) > _LABEL_LENGTH]
        if trailing:
            yield Located(instructions.path, _shortened(text))


def no_rating_scale(view: RequestView) -> Iterator[Located]:
    if view.is_human:
        return
    for metric in view.custom_metrics():
        if "ratingScale" not in metric.value:
            yield Located(f"{metric.path}.ratingScale", NOT_GIVEN)


def judge_task_type(view: RequestView) -> Iterator[Located]:
    for task in view.tasks():
        task_type = task.value.get("taskType")
        if isinstance(task_type, str) and not is_unresolved(task_type) and task_type != JUDGE_TASK_TYPE:
            yield Located(f"{task.path}.taskType", task_type)


def iam_wildcard(view: RequestView) -> Iterator[Located]:
    for path, value in policy_resources(view.request):
        if has_iam_wildcard(value):
            yield Located(path, value)


def _leaves(value: object, path: str) -> Iterator[tuple[str, object]]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _leaves(item, f"{path}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _leaves(item, f"{path}[{index}]")
    else:
        yield path, value


def _shortened(text: str) -> str:
    return text if len(text) <= 60 else text[:57] + "..."
