"""Typed props to a CreateEvaluationJob request: a pure function, no construct involved.

It returns the request, the datasets the construct must bind (upload or point at, then write
their datasetLocation) and the S3 objects the request names through a bucket object. Only what
cannot be said in a request is checked here (which props go together); every rule about the
request itself is checked once, on the request, by `validation`.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from aws_cdk import aws_s3 as s3

from .custom_metrics import CustomMetric, HumanMetric, HumanWorkflow
from .datasets import Dataset
from .errors import NOT_GIVEN, EvaluationJobConfigError, Violation
from .models import Model
from .rag import RagSource
from .tasks import JUDGE_TASK_TYPE, EvaluationTask


@dataclass(frozen=True, kw_only=True)
class JobProps:
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
    def given(self) -> list[str]:
        return [name for name, value in vars(self).items() if value is not None]

    @property
    def is_human(self) -> bool:
        return self.human_workflow is not None or self.human_metrics is not None


@dataclass(frozen=True)
class DatasetToBind:
    """A custom dataset of one task: the construct gives it an S3 location."""

    task_index: int
    dataset: Dataset


@dataclass(frozen=True)
class BucketObject:
    """An S3 object the request names by a URI that holds a bucket's token."""

    uri: str
    bucket: s3.IBucket
    key: str


@dataclass(frozen=True)
class BuiltRequest:
    request: dict[str, Any]
    datasets: tuple[DatasetToBind, ...]
    objects: tuple[BucketObject, ...]


def build_request(props: JobProps, where: str) -> BuiltRequest:
    """The request for these props; raises EvaluationJobConfigError (naming where) when props
    that exclude each other are given together, or one the others need is missing."""
    problems = _combination_problems(props)
    if problems:
        raise EvaluationJobConfigError(where, problems)
    tasks = list(props.tasks or [])
    request: dict[str, Any] = {"applicationType": "RagEvaluation" if props.rag is not None else "ModelEvaluation"}
    metric_configs = [_task(task) for task in tasks]
    if props.is_human:
        assert props.human_workflow is not None  # _combination_problems
        human: dict[str, Any] = {"datasetMetricConfigs": metric_configs, "humanWorkflowConfig": props.human_workflow.render()}
        if props.human_metrics:
            human["customMetrics"] = [m.render() for m in props.human_metrics]
        request["evaluationConfig"] = {"human": human}
    else:
        request["evaluationConfig"] = {"automated": _automated(props, metric_configs)}
    if props.rag is not None:
        request["inferenceConfig"] = {"ragConfigs": [props.rag.rendered]}
    else:
        models = [props.model] if props.model is not None else list(props.models or [])
        request["inferenceConfig"] = {"models": [m.render() for m in models]}
    if props.description is not None:
        request["jobDescription"] = props.description
    if props.job_name is not None:
        request["jobName"] = props.job_name
    if props.encryption_key_arn is not None:
        request["customerEncryptionKeyId"] = props.encryption_key_arn
    if props.tags:
        request["jobTags"] = [{"key": k, "value": v} for k, v in sorted(props.tags.items())]
    datasets = tuple(DatasetToBind(i, t.dataset) for i, t in enumerate(tasks) if not t.dataset.is_builtin)
    sources = props.rag.sources if props.rag is not None else ()
    objects = tuple(
        BucketObject(s.rendered["s3Location"]["uri"], s.bucket, s.key) for s in sources if s.bucket is not None and s.key is not None
    )
    return BuiltRequest(request, datasets, objects)


def with_dataset_locations(built: BuiltRequest, locations: Mapping[int, str]) -> dict[str, Any]:
    """The request with each bound dataset's s3Uri written in (task index -> s3Uri)."""
    request = copy.deepcopy(built.request)
    if not locations:
        return request
    (config,) = request["evaluationConfig"].values()
    for index, uri in locations.items():
        config["datasetMetricConfigs"][index]["dataset"]["datasetLocation"] = {"s3Uri": uri}
    return request


def _task(task: EvaluationTask) -> dict[str, Any]:
    # Left out, only where "General" is right: judge jobs take it, knowledge-base jobs ignore it.
    task_type = str(task.task_type) if task.task_type is not None else JUDGE_TASK_TYPE
    return {"taskType": task_type, "dataset": {"name": task.dataset.name}, "metricNames": list(task.metrics)}


def _automated(props: JobProps, metric_configs: list[dict[str, Any]]) -> dict[str, Any]:
    automated: dict[str, Any] = {"datasetMetricConfigs": metric_configs}
    if props.evaluator_model is not None:
        automated["evaluatorModelConfig"] = _judge(props.evaluator_model)
    if props.custom_metrics:
        custom: dict[str, Any] = {"customMetrics": [m.render() for m in props.custom_metrics]}
        judge = props.custom_metrics_evaluator_model or props.evaluator_model
        if judge is not None:
            custom["evaluatorModelConfig"] = _judge(judge)
        automated["customMetricConfig"] = custom
    return automated


def _judge(model: Model) -> dict[str, Any]:
    return {"bedrockEvaluatorModels": [{"modelIdentifier": model.identifier}]}


def _combination_problems(props: JobProps) -> list[Violation]:
    """Props that cannot be written as a request at all; the rest is the request's rules."""
    problems = []
    evaluated = [name for name in ("model", "models", "rag") if getattr(props, name) is not None]
    if len(evaluated) != 1:
        problems.append(Violation(" and ".join(evaluated) or "model", NOT_GIVEN if not evaluated else evaluated, "give exactly one of model, models or rag"))
    if props.tasks is None:
        problems.append(Violation("tasks", NOT_GIVEN, "give 1 to 5 EvaluationTask"))
    for index, task in enumerate(props.tasks or []):
        if task.task_type is None and props.rag is None and (props.evaluator_model is None or props.is_human):
            problems.append(Violation(f"tasks[{index}].task_type", NOT_GIVEN, "automatic and human model evaluations need a task type"))
    if props.is_human:
        if props.human_workflow is None:
            problems.append(Violation("human_workflow", NOT_GIVEN, "human jobs need the flow definition that routes prompts to workers"))
        judged = {
            "evaluator_model": props.evaluator_model.identifier if props.evaluator_model else None,
            "custom_metrics": [m.name for m in props.custom_metrics] if props.custom_metrics is not None else None,
            "custom_metrics_evaluator_model": props.custom_metrics_evaluator_model.identifier if props.custom_metrics_evaluator_model else None,
        }
        for name, value in judged.items():
            if value is not None:
                problems.append(Violation(name, value, "human jobs are rated by people (human_metrics), not by a judge model"))
    if props.custom_metrics_evaluator_model is not None and not props.custom_metrics:
        problems.append(Violation("custom_metrics_evaluator_model", props.custom_metrics_evaluator_model.identifier, "is given without custom_metrics"))
    for name in ("evaluator_model", "custom_metrics_evaluator_model"):
        judge = getattr(props, name)
        if judge is not None and (judge.precomputed or judge.inference_params is not None or judge.latency is not None):
            problems.append(Violation(name, judge.identifier, "a judge is named by its identifier only (no inference_params, latency or precomputed responses)"))
    return problems
