"""Amazon Bedrock evaluation jobs as AWS CDK constructs."""

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
