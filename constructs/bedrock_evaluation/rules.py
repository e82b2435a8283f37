"""The rules of CreateEvaluationJob that botocore's shape cannot express, in one table.

Each rule names the job kinds it applies to, what must hold, and how to find the parts of a
request that break it. The kind is read from the request itself (`RequestView.kind`), so a raw
request and the typed props that build the same request meet exactly the same rules, with the
same messages. Limits the shape states (list lengths, string lengths, patterns, ranges) are not
repeated here: `service_model` reads them from the shape.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import Enum

from . import request_checks as checks
from .custom_metrics import RatingMethod
from .datasets import BUILTIN_DATASETS
from .errors import Violation
from .request_checks import KNOWN_VARIABLES, REQUIRED_VARIABLES, SEARCH_RESULTS, allowed_metrics
from .request_view import ALL_KINDS, KNOWLEDGE_BASE_KINDS, MODEL_KINDS, JobKind, Located, RequestView
from .tasks import JUDGE_TASK_TYPE


class Severity(Enum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True)
class Rule:
    key: str
    kinds: frozenset[JobKind]
    message: str
    """What must hold; may use {kind}, {allowed} (the metrics a job of this kind may name) and
    {required} (the variable its custom metrics must use)."""
    find: Callable[[RequestView], Iterable[Located]]
    """The parts of the request that break the rule."""
    severity: Severity = Severity.ERROR


def violations(view: RequestView, severity: Severity) -> list[Violation]:
    """Every break of the rules of this severity that apply to the request's kind."""
    found = []
    for rule in RULES:
        if rule.severity is not severity or view.kind not in rule.kinds:
            continue
        message = rule.message.format(
            kind=view.kind.value,
            allowed=", ".join(sorted(allowed_metrics(view))) or "none",
            required="{{" + REQUIRED_VARIABLES.get(view.kind, "") + "}}",
        )
        found += [Violation(part.path, part.value, message, rule.key) for part in rule.find(view)]
    return found


RULES: tuple[Rule, ...] = (
    Rule(
        "no-iam-wildcard",
        ALL_KINDS,
        "becomes a resource of the job's IAM policies, where * and ? are wildcards: it would grant every "
        "match (every object, model, flow definition or role), not the one it names; name it exactly",
        checks.iam_wildcard,
    ),
    Rule(
        "application-type",
        ALL_KINDS,
        "applicationType must be RagEvaluation exactly when inferenceConfig has ragConfigs (ModelEvaluation when it has models)",
        checks.application_type_mismatch,
    ),
    Rule(
        "one-model",
        frozenset({JobKind.AUTOMATIC, JobKind.JUDGE}),
        "an {kind} job evaluates one model; only human jobs compare two",
        checks.second_model,
    ),
    Rule("distinct-models", MODEL_KINDS, "names the same model as an earlier item; a job compares different models", checks.repeated_model),
    Rule(
        "automatic-needs-live-model",
        frozenset({JobKind.AUTOMATIC}),
        "automatic jobs compute their metrics on live inference; bring-your-own responses need a judge "
        "(evaluator_model) or a human workflow",
        checks.precomputed_model,
    ),
    Rule(
        "knowledge-base-needs-judge",
        KNOWLEDGE_BASE_KINDS,
        "knowledge-base evaluations are scored by a judge model: give evaluator_model",
        checks.missing_judge,
    ),
    Rule("metric-of-kind", ALL_KINDS, "is not a metric of {kind} jobs; expected one of {allowed}", checks.metric_of_another_kind),
    Rule("metric-once", ALL_KINDS, "names a metric twice", checks.metric_named_twice),
    Rule(
        "custom-metrics-need-judge",
        frozenset({JobKind.AUTOMATIC}),
        "custom metrics are scored by a judge, and automatic jobs have none; give evaluator_model to make it "
        "an LLM-as-a-judge job (human jobs take human_metrics)",
        checks.custom_metric_config,
    ),
    Rule("custom-metric-once", ALL_KINDS, "names a custom metric twice", checks.custom_metric_named_twice),
    Rule(
        "custom-metric-variables",
        ALL_KINDS - {JobKind.HUMAN},
        "uses a variable the service does not know; the known variables are "
        + ", ".join("{{{{" + v + "}}}}" for v in sorted(KNOWN_VARIABLES)),
        checks.unknown_variable,
    ),
    Rule(
        "custom-metric-required-variable",
        ALL_KINDS - {JobKind.HUMAN, JobKind.AUTOMATIC},
        "a custom metric's instructions must contain {required} in {kind} jobs",
        checks.missing_variable,
    ),
    Rule("rating-scale-one-type", ALL_KINDS, "a rating scale is all numbers (floatValue) or all text (stringValue), not both", checks.mixed_rating_scale),
    Rule(
        "custom-metric-used",
        ALL_KINDS - {JobKind.HUMAN},
        "a custom metric must also be named in the metricNames of the tasks it scores",
        checks.unused_custom_metric,
    ),
    Rule(
        "custom-dataset",
        ALL_KINDS - {JobKind.AUTOMATIC},
        "{kind} jobs need a custom prompt dataset (datasetLocation: Dataset.from_file or Dataset.from_s3); "
        "built-in datasets are for automatic jobs",
        checks.builtin_dataset,
    ),
    Rule(
        "builtin-dataset-known",
        frozenset({JobKind.AUTOMATIC}),
        "a dataset without datasetLocation must be one of the built-in datasets: " + ", ".join(sorted(BUILTIN_DATASETS)),
        checks.unknown_builtin_dataset,
    ),
    Rule(
        "builtin-dataset-task",
        frozenset({JobKind.AUTOMATIC}),
        "the user guide lists each built-in dataset for some task types and metrics only",
        checks.builtin_dataset_of_another_task,
    ),
    Rule("dataset-extension", ALL_KINDS, "a custom dataset is a JSON Lines file with the .jsonl extension", checks.custom_dataset_extension),
    Rule(
        "rating-method",
        frozenset({JobKind.HUMAN}),
        "is not a rating method; expected one of " + ", ".join(RatingMethod),
        checks.unknown_rating_method,
    ),
    Rule("knowledge-base-id", KNOWLEDGE_BASE_KINDS, "is an ARN; the field takes the knowledge base's id (10 characters)", checks.knowledge_base_arn),
    Rule(
        "prompt-template-search-results",
        frozenset({JobKind.RETRIEVE_AND_GENERATE}),
        f"a prompt template must contain {SEARCH_RESULTS}, where the retrieved passages go",
        checks.template_without_search_results,
    ),
    Rule(
        "comparison-needs-two-models",
        frozenset({JobKind.HUMAN}),
        "this rating method compares two responses: give 2 models",
        checks.comparison_without_two_models,
    ),
    Rule("human-metrics", frozenset({JobKind.HUMAN}), "human jobs need the metrics people rate (human_metrics)", checks.no_human_metrics),
    Rule(
        "external-sources-generator",
        frozenset({JobKind.RETRIEVE_AND_GENERATE}),
        "the API reference documents only Claude 3 Sonnet generators for EXTERNAL_SOURCES; the service may reject it",
        checks.external_sources_generator,
        Severity.WARNING,
    ),
    Rule(
        "custom-metric-variables-last",
        ALL_KINDS - {JobKind.HUMAN},
        "the user guide asks for the role, task, criteria and rubric first and the input variables last",
        checks.variables_not_last,
        Severity.WARNING,
    ),
    Rule(
        "custom-metric-rating-scale",
        ALL_KINDS - {JobKind.HUMAN},
        "without a rating scale the service cannot average or chart this metric's results",
        checks.no_rating_scale,
        Severity.WARNING,
    ),
    Rule(
        "judge-task-type",
        frozenset({JobKind.JUDGE}),
        f"LLM-as-a-judge model jobs take taskType {JUDGE_TASK_TYPE!r} (AWS samples); other values are reported to fail silently",
        checks.judge_task_type,
        Severity.WARNING,
    ),
    Rule(
        "listed-judge",
        ALL_KINDS,
        "is not among the judge models the user guide lists; the service may reject it",
        checks.unlisted_judge,
        Severity.WARNING,
    ),
)
