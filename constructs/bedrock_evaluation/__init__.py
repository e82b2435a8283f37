"""Amazon Bedrock evaluation jobs as AWS CDK constructs.

The names below are imported on first use: the results command (`bedrock-evaluation-results`,
`python -m bedrock_evaluation`) reads results with boto3 alone and never starts the CDK's Node
process, while `from bedrock_evaluation import EvaluationJob` works as ever.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .custom_metrics import CustomMetric, HumanMetric, HumanWorkflow, Rating, RatingMethod
    from .datasets import Dataset
    from .errors import EvaluationJobConfigError
    from .flow_definition import HumanFlowDefinition
    from .job import EvaluationJob, JobRemoval
    from .knowledge_bases import KnowledgeBaseIngestion, documents_hash
    from .models import Latency, Model
    from .provider import EvaluationJobProvider
    from .quality_gate import JobWait, QualityGate
    from .rag import (
        AttributeType,
        ExternalSource,
        Filter,
        Generation,
        Guardrail,
        ImplicitFilter,
        MetadataAttribute,
        RagKind,
        RagSource,
        Reranking,
        SearchType,
        VectorSearch,
    )
    from .records import DatasetFormat
    from .service_role import EvaluationServiceRole
    from .storage import EvaluationBucket
    from .tasks import EvaluationTask, Metric, RagMetric, TaskType
    from .work_team import EvaluationWorkTeam

_EXPORTS: dict[str, str] = {
    "AttributeType": "rag",
    "CustomMetric": "custom_metrics",
    "Dataset": "datasets",
    "DatasetFormat": "records",
    "EvaluationBucket": "storage",
    "EvaluationJob": "job",
    "EvaluationJobConfigError": "errors",
    "EvaluationJobProvider": "provider",
    "EvaluationServiceRole": "service_role",
    "EvaluationTask": "tasks",
    "EvaluationWorkTeam": "work_team",
    "ExternalSource": "rag",
    "Filter": "rag",
    "Generation": "rag",
    "Guardrail": "rag",
    "HumanFlowDefinition": "flow_definition",
    "HumanMetric": "custom_metrics",
    "HumanWorkflow": "custom_metrics",
    "ImplicitFilter": "rag",
    "JobRemoval": "job",
    "JobWait": "quality_gate",
    "KnowledgeBaseIngestion": "knowledge_bases",
    "Latency": "models",
    "MetadataAttribute": "rag",
    "Metric": "tasks",
    "Model": "models",
    "QualityGate": "quality_gate",
    "RagKind": "rag",
    "RagMetric": "tasks",
    "RagSource": "rag",
    "Rating": "custom_metrics",
    "RatingMethod": "custom_metrics",
    "Reranking": "rag",
    "SearchType": "rag",
    "TaskType": "tasks",
    "VectorSearch": "rag",
    "documents_hash": "knowledge_bases",
}
"""Each public name, and the module that defines it."""

__all__ = [
    "AttributeType",
    "CustomMetric",
    "Dataset",
    "DatasetFormat",
    "EvaluationBucket",
    "EvaluationJob",
    "EvaluationJobConfigError",
    "EvaluationJobProvider",
    "EvaluationServiceRole",
    "EvaluationTask",
    "EvaluationWorkTeam",
    "ExternalSource",
    "Filter",
    "Generation",
    "Guardrail",
    "HumanFlowDefinition",
    "HumanMetric",
    "HumanWorkflow",
    "ImplicitFilter",
    "JobRemoval",
    "JobWait",
    "KnowledgeBaseIngestion",
    "Latency",
    "MetadataAttribute",
    "Metric",
    "Model",
    "QualityGate",
    "RagKind",
    "RagMetric",
    "RagSource",
    "Rating",
    "RatingMethod",
    "Reranking",
    "SearchType",
    "TaskType",
    "VectorSearch",
    "documents_hash",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
