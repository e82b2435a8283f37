"""Amazon Bedrock evaluation jobs as AWS CDK constructs."""

from .datasets import Dataset, DatasetFormat
from .errors import EvaluationJobConfigError
from .job import EvaluationJob, JobRemoval
from .models import Latency, Model
from .permissions import EvaluationServiceRole
from .provider import EvaluationJobProvider
from .storage import EvaluationBucket
from .tasks import EvaluationTask, Metric, TaskType

__all__ = [
    "Dataset",
    "DatasetFormat",
    "EvaluationBucket",
    "EvaluationJob",
    "EvaluationJobConfigError",
    "EvaluationJobProvider",
    "EvaluationServiceRole",
    "EvaluationTask",
    "JobRemoval",
    "Latency",
    "Metric",
    "Model",
    "TaskType",
]
