"""Typed props to CreateEvaluationJob request, and the rules the service model cannot express.

Each rule raises with the field, the value and the rule; the kind of job (automatic,
LLM-as-a-judge, human, retrieve-only, retrieve-and-generate) decides which rules apply.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from aws_cdk import Token

from .custom_metrics import COMPARISON_METHODS, CustomMetric, HumanMetric, HumanWorkflow
from .datasets import Dataset, DatasetFormat, RecordRules
from .errors import EvaluationJobConfigError
from .models import Model, is_known_judge
from .rag import RagKind, RagSource
from .tasks import (
    AUTOMATIC_METRICS,
    BUILTIN_DATASETS_BY_TASK,
    JUDGE_METRICS,
    RETRIEVE_AND_GENERATE_METRICS,
    RETRIEVE_METRICS,
    EvaluationTask,
    TaskType,
)

MAX_TASKS = 5
MAX_METRICS = 25
MAX_CUSTOM_METRICS = 10
MAX_DESCRIPTION = 200
MAX_TAGS = 200
RAG_TASK_TYPE = "General"  # ignored by the service for knowledge-base jobs; what AWS's examples send


class JobKind(StrEnum):
    AUTOMATIC = "automatic"
    JUDGE = "LLM-as-a-judge"
    HUMAN = "human"
    RETRIEVE = "retrieve-only knowledge-base"
    RETRIEVE_AND_GENERATE = "retrieve-and-generate knowledge-base"


BUILTIN_METRICS = {
    JobKind.AUTOMATIC: AUTOMATIC_METRICS,
    JobKind.JUDGE: JUDGE_METRICS,
    JobKind.HUMAN: frozenset(),
    JobKind.RETRIEVE: RETRIEVE_METRICS,
    JobKind.RETRIEVE_AND_GENERATE: RETRIEVE_AND_GENERATE_METRICS,
}
# Variables a custom metric's instructions must use, by job kind.
REQUIRED_VARIABLES = {
    JobKind.JUDGE: ("{{prediction}}",),
    JobKind.RETRIEVE: ("{{context}}",),
    JobKind.RETRIEVE_AND_GENERATE: ("{{prediction}}",),
}
_VARIABLE = re.compile(r"\{\{(\w+)\}\}")
KNOWN_VARIABLES = frozenset({"prompt", "prediction", "ground_truth", "context", "reference_contexts"})


class Rejected(Exception):
    """A typed prop breaks a rule; the construct adds its path to the message."""


@dataclass(frozen=True)
class BoundDataset:
    s3_uri: str | None


@dataclass(frozen=True, kw_only=True)
class JobConfiguration:
    """Every typed prop of EvaluationJob that goes into the request."""

    model: Model | None = None
    models: Sequence[Model] | None = None
    rag: RagSource | None = None
    tasks: Sequence[EvaluationTask] | None = None
    evaluator_model: Model | None = None
    custom_metrics: Sequence[CustomMetric] | None = None
    custom_metrics_evaluator_model: Model | None = None
    human_workflow: HumanWorkflow | None = None
    human_metrics: Sequence[HumanMetric] | None = None
    description: str | None = None
    job_name: str | None = None
    encryption_key_arn: str | None = None
    tags: Mapping[str, str] | None = None

    @property
    def kind(self) -> JobKind:
        if self.human_workflow is not None or self.human_metrics is not None:
            return JobKind.HUMAN
        if self.rag is not None:
            return JobKind.RETRIEVE if self.rag.kind is RagKind.RETRIEVE else JobKind.RETRIEVE_AND_GENERATE
        return JobKind.JUDGE if self.evaluator_model is not None else JobKind.AUTOMATIC

    def request(
        self, bind: Callable[[Dataset], BoundDataset], warn: Callable[[str], None]
    ) -> dict[str, Any]:
        """The request, with each dataset bound (uploaded, granted) by `bind`."""
        kind = self.kind
        models = self._models(kind)
        custom = self._custom_metrics(kind)
        tasks = self._tasks(kind, custom, models, bind, warn)
        body: dict[str, Any] = {"applicationType": "RagEvaluation" if self.rag is not None else "ModelEvaluation"}
        if kind is JobKind.HUMAN:
            human: dict[str, Any] = {"datasetMetricConfigs": tasks}
            human["customMetrics"] = [m.render() for m in self.human_metrics or []]
            human["humanWorkflowConfig"] = self.human_workflow.render()  # type: ignore[union-attr]
            body["evaluationConfig"] = {"human": human}
        else:
            automated: dict[str, Any] = {"datasetMetricConfigs": tasks}
            if self.evaluator_model is not None:
                automated["evaluatorModelConfig"] = _evaluator(self.evaluator_model, "evaluator_model", warn)
            if custom:
                judge = self.custom_metrics_evaluator_model or self.evaluator_model
                if judge is None:
                    raise Rejected("custom_metrics need a judge: give custom_metrics_evaluator_model or evaluator_model")
                automated["customMetricConfig"] = {
                    "customMetrics": [m.render() for m in custom],
                    "evaluatorModelConfig": _evaluator(judge, "custom_metrics_evaluator_model", warn),
                }
            body["evaluationConfig"] = {"automated": automated}
        if self.rag is not None:
            body["inferenceConfig"] = {"ragConfigs": [self.rag.rendered]}
        else:
            body["inferenceConfig"] = {"models": [m.render() for m in models]}
        self._top_level(body)
        return body

    # --- parts --------------------------------------------------------------------------------

    def _models(self, kind: JobKind) -> list[Model]:
        given = [name for name, value in (("model", self.model), ("models", self.models), ("rag", self.rag)) if value is not None]
        if len(given) != 1:
            what = " and ".join(given) if given else "none of them"
            raise Rejected(f"give exactly one of model, models or rag (got {what})")
        if self.rag is not None:
            if self.evaluator_model is None:
                raise Rejected("knowledge-base evaluations need evaluator_model (the judge)")
            return []
        models = [self.model] if self.model is not None else list(self.models or [])
        limit = 2 if kind is JobKind.HUMAN else 1
        if not 1 <= len(models) <= limit:
            raise Rejected(f"models has {len(models)} items; a {kind.value} job evaluates 1{' or 2' if limit == 2 else ''}")
        identifiers = [m.identifier for m in models]
        if len(set(identifiers)) != len(identifiers):
            raise Rejected(f"models {identifiers} names the same model twice")
        if kind is JobKind.AUTOMATIC and any(m.precomputed for m in models):
            raise Rejected("automatic jobs compute their metrics on live inference; bring-your-own responses need an evaluator_model or a human workflow")
        return models

    def _custom_metrics(self, kind: JobKind) -> list[CustomMetric]:
        custom = list(self.custom_metrics or [])
        if not custom:
            if self.custom_metrics_evaluator_model is not None:
                raise Rejected("custom_metrics_evaluator_model is given without custom_metrics")
            return []
        if kind in (JobKind.AUTOMATIC, JobKind.HUMAN):
            raise Rejected(f"custom_metrics are judged by a model; {kind.value} jobs cannot have them (human jobs take human_metrics)")
        if len(custom) > MAX_CUSTOM_METRICS:
            raise Rejected(f"custom_metrics has {len(custom)} items; at most {MAX_CUSTOM_METRICS}")
        names = [m.name for m in custom]
        if len(set(names)) != len(names):
            raise Rejected(f"custom_metrics {names} names a metric twice")
        for index, metric in enumerate(custom):
            field = f"custom_metrics[{index}] ({metric.name})"
            if Token.is_unresolved(metric.instructions):
                continue
            used = set(_VARIABLE.findall(metric.instructions))
            unknown = sorted(used - KNOWN_VARIABLES)
            if unknown:
                raise Rejected(f"{field}.instructions uses {', '.join('{{' + u + '}}' for u in unknown)}; the known variables are {', '.join('{{' + k + '}}' for k in sorted(KNOWN_VARIABLES))}")
            for required in REQUIRED_VARIABLES.get(kind, ()):
                if required not in metric.instructions:
                    raise Rejected(f"{field}.instructions must contain {required} in a {kind.value} job")
            scale = metric.rating_scale
            if scale is not None:
                if not 1 <= len(scale) <= 10:
                    raise Rejected(f"{field}.rating_scale has {len(scale)} ratings; it takes 1 to 10")
                if len({next(iter(r.value)) for r in scale}) > 1:
                    raise Rejected(f"{field}.rating_scale mixes Rating.number and Rating.text")
        return custom

    def _tasks(
        self,
        kind: JobKind,
        custom: list[CustomMetric],
        models: list[Model],
        bind: Callable[[Dataset], BoundDataset],
        warn: Callable[[str], None],
    ) -> list[dict[str, Any]]:
        tasks = list(self.tasks or [])
        if not 1 <= len(tasks) <= MAX_TASKS:
            raise Rejected(f"tasks has {len(tasks)} items; a job takes 1 to {MAX_TASKS}")
        allowed = set(BUILTIN_METRICS[kind]) | {m.name for m in custom}
        if kind is JobKind.HUMAN:
            allowed = self._human_metric_names(models)
        rules = self._record_rules(kind, models)
        used: set[str] = set()
        rendered = []
        for index, task in enumerate(tasks):
            field = f"tasks[{index}]"
            metrics = list(task.metrics)
            if not 1 <= len(metrics) <= MAX_METRICS:
                raise Rejected(f"{field}.metrics has {len(metrics)} names; a task takes 1 to {MAX_METRICS}")
            if len(set(metrics)) != len(metrics):
                raise Rejected(f"{field}.metrics {metrics} names a metric twice")
            for metric in metrics:
                if metric not in allowed:
                    raise Rejected(f"{field}.metrics: {metric!r} is not a metric of {kind.value} jobs; expected one of {', '.join(sorted(allowed))}")
            used |= set(metrics)
            if task.task_type is None and self.rag is None:
                raise Rejected(f"{field}.task_type is required for model evaluation")
            task_type = str(task.task_type or RAG_TASK_TYPE)
            dataset = task.dataset
            if dataset.is_builtin:
                if kind is not JobKind.AUTOMATIC and kind is not JobKind.HUMAN:
                    raise Rejected(f"{field}.dataset: {dataset.name} is built in, and {kind.value} jobs need a custom prompt dataset (Dataset.from_file or Dataset.from_s3)")
                fitting = BUILTIN_DATASETS_BY_TASK.get(task_type)
                if fitting is None or dataset.name not in fitting:
                    fits = sorted(t for t, names in BUILTIN_DATASETS_BY_TASK.items() if dataset.name in names)
                    raise Rejected(f"{field}.dataset: {dataset.name} does not fit taskType {task_type!r}; it is a dataset for {', '.join(fits)}")
            else:
                try:
                    dataset.check_records(rules)
                except EvaluationJobConfigError as error:
                    raise Rejected(f"{field}.dataset: {error}") from None
            if task_type not in set(TaskType) and not Token.is_unresolved(task_type) and kind not in (JobKind.RETRIEVE, JobKind.RETRIEVE_AND_GENERATE):
                warn(f"{field}.task_type {task_type!r} is not in botocore's list ({', '.join(TaskType)}); the service may still accept it")
            rendered_dataset: dict[str, Any] = {"name": dataset.name}
            location = bind(dataset)
            if location.s3_uri is not None:
                rendered_dataset["datasetLocation"] = {"s3Uri": location.s3_uri}
            rendered.append({"taskType": task_type, "dataset": rendered_dataset, "metricNames": metrics})
        missing = [m.name for m in custom if m.name not in used]
        if missing:
            raise Rejected(f"custom metrics {missing} appear in no task's metrics; add each name to the metrics of the tasks it scores")
        return rendered

    def _human_metric_names(self, models: list[Model]) -> set[str]:
        if self.human_workflow is None:
            raise Rejected("human jobs need human_workflow (the SageMaker flow definition)")
        metrics = list(self.human_metrics or [])
        if not 1 <= len(metrics) <= MAX_CUSTOM_METRICS:
            raise Rejected(f"human_metrics has {len(metrics)} items; a human job takes 1 to {MAX_CUSTOM_METRICS}")
        if self.evaluator_model is not None:
            raise Rejected("human jobs are rated by people: evaluator_model does not apply")
        for metric in metrics:
            if str(metric.rating_method) in COMPARISON_METHODS and len(models) != 2:
                raise Rejected(f"human_metrics {metric.name!r}: rating method {metric.rating_method} compares two models; give 2 models")
        return {m.name for m in metrics}

    def _record_rules(self, kind: JobKind, models: list[Model]) -> RecordRules:
        if self.rag is not None:
            turns = 1 if kind is JobKind.RETRIEVE else 5
            return RecordRules(key=DatasetFormat.CONVERSATIONS, max_turns=turns, output_identifier=self.rag.precomputed_identifier)
        precomputed = frozenset(m.identifier for m in models if m.precomputed)
        if precomputed and len(precomputed) != len(models):
            raise Rejected("models mixes live models and bring-your-own responses; use one or the other")
        return RecordRules(key=DatasetFormat.PROMPTS, response_identifiers=precomputed or None)

    def _top_level(self, body: dict[str, Any]) -> None:
        if self.description is not None:
            if not Token.is_unresolved(self.description) and not 1 <= len(self.description) <= MAX_DESCRIPTION:
                raise Rejected(f"description is {len(self.description)} characters long; it must be 1 to {MAX_DESCRIPTION}")
            body["jobDescription"] = self.description
        if self.job_name is not None:
            body["jobName"] = self.job_name
        if self.encryption_key_arn is not None:
            body["customerEncryptionKeyId"] = self.encryption_key_arn
        if self.tags:
            if len(self.tags) > MAX_TAGS:
                raise Rejected(f"tags has {len(self.tags)} entries; a job takes at most {MAX_TAGS}")
            body["jobTags"] = [{"key": k, "value": v} for k, v in sorted(self.tags.items())]


def _evaluator(model: Model, field: str, warn: Callable[[str], None]) -> dict[str, Any]:
    if model.precomputed or model.inference_params is not None or model.latency is not None:
        raise Rejected(f"{field} {model.identifier!r}: a judge is named by its identifier only (no inference_params, latency or precomputed responses)")
    if not is_known_judge(model.identifier):
        warn(f"{field} {model.identifier!r} is not among the judge models the user guide lists; the service may reject it")
    return {"bedrockEvaluatorModels": [{"modelIdentifier": model.identifier}]}
