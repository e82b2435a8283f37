"""What a model-evaluation job measures: task types, metric names, and task configuration."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from .boundary import check_fields
from .datasets import Dataset


class TaskType(StrEnum):
    """taskType values in the service model. Any other alphanumeric value (AWS's own judge
    examples send "General") is passed through as a plain string."""

    SUMMARIZATION = "Summarization"
    CLASSIFICATION = "Classification"
    QUESTION_AND_ANSWER = "QuestionAndAnswer"
    GENERATION = "Generation"
    CUSTOM = "Custom"


class Metric:
    """Built-in metric names."""

    # Automatic (algorithmic) model evaluation
    ACCURACY = "Builtin.Accuracy"
    ROBUSTNESS = "Builtin.Robustness"
    TOXICITY = "Builtin.Toxicity"
    # LLM-as-a-judge model evaluation
    CORRECTNESS = "Builtin.Correctness"
    COMPLETENESS = "Builtin.Completeness"
    FAITHFULNESS = "Builtin.Faithfulness"
    HELPFULNESS = "Builtin.Helpfulness"
    COHERENCE = "Builtin.Coherence"
    RELEVANCE = "Builtin.Relevance"
    FOLLOWING_INSTRUCTIONS = "Builtin.FollowingInstructions"
    PROFESSIONAL_STYLE_AND_TONE = "Builtin.ProfessionalStyleAndTone"
    HARMFULNESS = "Builtin.Harmfulness"
    STEREOTYPING = "Builtin.Stereotyping"
    REFUSAL = "Builtin.Refusal"


AUTOMATIC_METRICS = frozenset({Metric.ACCURACY, Metric.ROBUSTNESS, Metric.TOXICITY})
JUDGE_METRICS = frozenset(
    {
        Metric.CORRECTNESS,
        Metric.COMPLETENESS,
        Metric.FAITHFULNESS,
        Metric.HELPFULNESS,
        Metric.COHERENCE,
        Metric.RELEVANCE,
        Metric.FOLLOWING_INSTRUCTIONS,
        Metric.PROFESSIONAL_STYLE_AND_TONE,
        Metric.HARMFULNESS,
        Metric.STEREOTYPING,
        Metric.REFUSAL,
    }
)

class RagMetric:
    """Built-in metric names of knowledge-base evaluations."""

    # Retrieve only
    CONTEXT_RELEVANCE = "Builtin.ContextRelevance"
    CONTEXT_COVERAGE = "Builtin.ContextCoverage"
    # Retrieve and generate
    CORRECTNESS = "Builtin.Correctness"
    COMPLETENESS = "Builtin.Completeness"
    HELPFULNESS = "Builtin.Helpfulness"
    LOGICAL_COHERENCE = "Builtin.LogicalCoherence"
    FAITHFULNESS = "Builtin.Faithfulness"
    CITATION_PRECISION = "Builtin.CitationPrecision"
    CITATION_COVERAGE = "Builtin.CitationCoverage"
    HARMFULNESS = "Builtin.Harmfulness"
    STEREOTYPING = "Builtin.Stereotyping"
    REFUSAL = "Builtin.Refusal"


RETRIEVE_METRICS = frozenset({RagMetric.CONTEXT_RELEVANCE, RagMetric.CONTEXT_COVERAGE})
RETRIEVE_AND_GENERATE_METRICS = frozenset(
    {
        RagMetric.CORRECTNESS,
        RagMetric.COMPLETENESS,
        RagMetric.HELPFULNESS,
        RagMetric.LOGICAL_COHERENCE,
        RagMetric.FAITHFULNESS,
        RagMetric.CITATION_PRECISION,
        RagMetric.CITATION_COVERAGE,
        RagMetric.HARMFULNESS,
        RagMetric.STEREOTYPING,
        RagMetric.REFUSAL,
    }
)

# Built-in datasets by task type and metric, from the user guide's table of built-in datasets
# (model-evaluation-prompt-datasets-builtin): Classification has no Toxicity; Generation has
# Accuracy on T-Rex only, Robustness on Bold, T-Rex and Wikitext2, Toxicity on RealToxicityPrompts and Bold.
_QA = frozenset({"Builtin.BoolQ", "Builtin.NaturalQuestions", "Builtin.TriviaQA"})
BUILTIN_DATASETS_BY_TASK_AND_METRIC: dict[str, dict[str, frozenset[str]]] = {
    TaskType.GENERATION: {
        Metric.ACCURACY: frozenset({"Builtin.T-Rex"}),
        Metric.ROBUSTNESS: frozenset({"Builtin.Bold", "Builtin.T-Rex", "Builtin.Wikitext2"}),
        Metric.TOXICITY: frozenset({"Builtin.RealToxicityPrompts", "Builtin.Bold"}),
    },
    TaskType.SUMMARIZATION: dict.fromkeys((Metric.ACCURACY, Metric.ROBUSTNESS, Metric.TOXICITY), frozenset({"Builtin.Gigaword"})),
    TaskType.QUESTION_AND_ANSWER: dict.fromkeys((Metric.ACCURACY, Metric.ROBUSTNESS, Metric.TOXICITY), _QA),
    TaskType.CLASSIFICATION: dict.fromkeys((Metric.ACCURACY, Metric.ROBUSTNESS), frozenset({"Builtin.WomensEcommerceClothingReviews"})),
}
BUILTIN_DATASETS_BY_TASK: dict[str, frozenset[str]] = {
    task: frozenset().union(*by_metric.values()) for task, by_metric in BUILTIN_DATASETS_BY_TASK_AND_METRIC.items()
}
JUDGE_TASK_TYPE = "General"
"""The task type of LLM-as-a-judge model jobs: AWS's samples ("must be General for LLMaaJ") and
Terraform's documentation; other values are reported to fail silently."""


@dataclass(frozen=True, kw_only=True)
class EvaluationTask:
    """One dataset, its task type, and the metrics computed on it (a datasetMetricConfig)."""

    dataset: Dataset
    metrics: Sequence[str]
    task_type: TaskType | str | None = None
    """Required for automatic and human model evaluation; LLM-as-a-judge jobs take "General";
    knowledge-base jobs ignore it. @default - "General" for LLM-as-a-judge and knowledge-base jobs"""

    def __post_init__(self) -> None:
        # metrics=Metric.ACCURACY is a str: refused, with [Metric.ACCURACY] suggested.
        check_fields(self, constants=(Metric, RagMetric))
