"""A CreateEvaluationJob request read the way the rules think of it: its kind, its tasks, its
models and metrics, each with the path a message names. Built from the request alone, so a raw
request and typed props that produce the same request are read the same way."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class JobKind(StrEnum):
    """Which rules apply; read from the request (`kind_of`)."""

    AUTOMATIC = "automatic"
    JUDGE = "LLM-as-a-judge"
    HUMAN = "human"
    RETRIEVE = "retrieve-only knowledge-base"
    RETRIEVE_AND_GENERATE = "retrieve-and-generate knowledge-base"


KNOWLEDGE_BASE_KINDS = frozenset({JobKind.RETRIEVE, JobKind.RETRIEVE_AND_GENERATE})
MODEL_KINDS = frozenset({JobKind.AUTOMATIC, JobKind.JUDGE, JobKind.HUMAN})
ALL_KINDS = frozenset(JobKind)


@dataclass(frozen=True)
class Located:
    """A part of the request and the path that names it in messages."""

    path: str
    value: Any


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


class RequestView:
    """Read-only accessors; a part that is missing or of the wrong type reads as empty (the
    shape check reports it)."""

    def __init__(self, request: Mapping[str, Any]) -> None:
        self.request = request
        evaluation = _mapping(request.get("evaluationConfig"))
        self.is_human = "human" in evaluation
        self.config_path = "evaluationConfig.human" if self.is_human else "evaluationConfig.automated"
        self.config = _mapping(evaluation.get("human" if self.is_human else "automated"))
        self.inference = _mapping(request.get("inferenceConfig"))
        self.kind = self._kind()

    def _kind(self) -> JobKind:
        if self.is_human:
            return JobKind.HUMAN
        rag = self.rag_config
        if rag is not None:
            retrieve = "retrieveConfig" in _mapping(rag.value.get("knowledgeBaseConfig")) or "retrieveSourceConfig" in _mapping(
                rag.value.get("precomputedRagSourceConfig")
            )
            return JobKind.RETRIEVE if retrieve else JobKind.RETRIEVE_AND_GENERATE
        if self.request.get("applicationType") == "RagEvaluation":
            return JobKind.RETRIEVE_AND_GENERATE  # without ragConfigs: the shape or a rule says what is missing
        return JobKind.JUDGE if "evaluatorModelConfig" in self.config else JobKind.AUTOMATIC

    # --- what is evaluated --------------------------------------------------------------------

    @property
    def rag_config(self) -> Located | None:
        configs = _list(self.inference.get("ragConfigs"))
        if configs and isinstance(configs[0], Mapping):
            return Located("inferenceConfig.ragConfigs[0]", configs[0])
        return None

    def models(self) -> Iterator[Located]:
        for index, model in enumerate(_list(self.inference.get("models"))):
            yield Located(f"inferenceConfig.models[{index}]", _mapping(model))

    @staticmethod
    def model_identifier(model: Mapping[str, Any]) -> str | None:
        live = _mapping(model.get("bedrockModel")).get("modelIdentifier")
        own = _mapping(model.get("precomputedInferenceSource")).get("inferenceSourceIdentifier")
        value = live if live is not None else own
        return value if isinstance(value, str) else None

    @staticmethod
    def is_precomputed(model: Mapping[str, Any]) -> bool:
        return "precomputedInferenceSource" in model

    def precomputed_rag_identifier(self) -> str | None:
        rag = self.rag_config
        if rag is None:
            return None
        for source in _mapping(rag.value.get("precomputedRagSourceConfig")).values():
            identifier = _mapping(source).get("ragSourceIdentifier")
            if isinstance(identifier, str):
                return identifier
        return None

    # --- how it is evaluated ------------------------------------------------------------------

    def tasks(self) -> Iterator[Located]:
        path = f"{self.config_path}.datasetMetricConfigs"
        for index, task in enumerate(_list(self.config.get("datasetMetricConfigs"))):
            yield Located(f"{path}[{index}]", _mapping(task))

    def metric_names(self) -> Iterator[Located]:
        for task in self.tasks():
            for index, name in enumerate(_list(task.value.get("metricNames"))):
                yield Located(f"{task.path}.metricNames[{index}]", name)

    def evaluators(self) -> Iterator[Located]:
        """Every judge: the built-in metrics' and the custom metrics'."""
        custom = _mapping(self.config.get("customMetricConfig"))
        for path, config in (
            (f"{self.config_path}.evaluatorModelConfig", self.config.get("evaluatorModelConfig")),
            (f"{self.config_path}.customMetricConfig.evaluatorModelConfig", custom.get("evaluatorModelConfig")),
        ):
            for index, judge in enumerate(_list(_mapping(config).get("bedrockEvaluatorModels"))):
                yield Located(f"{path}.bedrockEvaluatorModels[{index}].modelIdentifier", _mapping(judge).get("modelIdentifier"))

    @property
    def has_custom_metric_config(self) -> bool:
        return "customMetricConfig" in self.config

    def custom_metrics(self) -> Iterator[Located]:
        """Judged custom metrics (their customMetricDefinition) or, for human jobs, rated ones."""
        if self.is_human:
            path, metrics = f"{self.config_path}.customMetrics", _list(self.config.get("customMetrics"))
            for index, metric in enumerate(metrics):
                yield Located(f"{path}[{index}]", _mapping(metric))
            return
        path = f"{self.config_path}.customMetricConfig.customMetrics"
        for index, metric in enumerate(_list(_mapping(self.config.get("customMetricConfig")).get("customMetrics"))):
            yield Located(f"{path}[{index}].customMetricDefinition", _mapping(_mapping(metric).get("customMetricDefinition")))

    def custom_metric_names(self) -> set[str]:
        return {m.value["name"] for m in self.custom_metrics() if isinstance(m.value.get("name"), str)}
