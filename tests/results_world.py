"""Evaluation jobs with results, offline: the Bedrock emulator serves the jobs over HTTP and writes
each Completed job's result files, in its kind's layout, into a local S3 (moto's server). The
results command reads both through its own `Aws` seam, with boto3 clients pointed at them.

Used by tests/test_results_command.py and by `make report-screenshot` (scripts/report_screenshot.py),
whose sample report and table are the README's."""

from __future__ import annotations

import copy
import functools
import io
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from emulator import BedrockEmulator, ScorePlan
from handler_support import model_request, rag_request
from local_s3 import LocalS3

from bedrock_evaluation.results_command import Aws, main

NOVA_LITE, NOVA_MICRO = "amazon.nova-lite-v1:0", "amazon.nova-micro-v1:0"
JUDGE = "anthropic.claude-3-5-haiku-20241022-v1:0"
FLOW = "arn:aws:sagemaker:us-east-1:123456789012:flow-definition/review"


# --- requests of each kind -------------------------------------------------------------------------------


def automatic(name: str = "eval-auto") -> dict[str, Any]:
    """Nova Lite on the built-in BoolQ dataset, scored algorithmically for accuracy and toxicity."""
    request = {**model_request(), "jobName": name}
    request["evaluationConfig"]["automated"]["datasetMetricConfigs"][0]["metricNames"] = ["Builtin.Accuracy", "Builtin.Toxicity"]
    return request


def judged(name: str = "eval-judge", *, model: str = NOVA_LITE, metrics: Sequence[str] = ("Builtin.Correctness", "Builtin.Completeness")) -> dict[str, Any]:
    """An LLM-as-a-judge evaluation of one model on a custom dataset "qa"."""
    request = {**model_request(), "jobName": name}
    request["inferenceConfig"]["models"][0]["bedrockModel"]["modelIdentifier"] = model
    request["evaluationConfig"] = {
        "automated": {
            "datasetMetricConfigs": [
                {
                    "taskType": "General",
                    "dataset": {"name": "qa", "datasetLocation": {"s3Uri": "s3://prompts/qa.jsonl"}},
                    "metricNames": list(metrics),
                }
            ],
            "evaluatorModelConfig": {"bedrockEvaluatorModels": [{"modelIdentifier": JUDGE}]},
        }
    }
    return request


def custom_metric(name: str = "eval-custom") -> dict[str, Any]:
    """A judge job with a custom metric "Concise" beside a built-in one."""
    request = judged(name, metrics=("Builtin.Correctness", "Concise"))
    request["evaluationConfig"]["automated"]["customMetricConfig"] = {
        "customMetrics": [
            {
                "customMetricDefinition": {
                    "name": "Concise",
                    "instructions": "Is {{prediction}} a concise answer to {{prompt}}?",
                    "ratingScale": [{"definition": "yes", "value": {"floatValue": 1.0}}, {"definition": "no", "value": {"floatValue": 0.0}}],
                }
            }
        ],
        "evaluatorModelConfig": {"bedrockEvaluatorModels": [{"modelIdentifier": JUDGE}]},
    }
    return request


def retrieve_and_generate(name: str = "eval-rag") -> dict[str, Any]:
    """handler_support's knowledge-base job (knowledge base KB12345678, a custom metric), typed as boto3 takes it."""
    request = copy.deepcopy({**rag_request(), "jobName": name})
    automated = request["evaluationConfig"]["automated"]
    automated["customMetricConfig"]["customMetrics"][0]["customMetricDefinition"]["ratingScale"] = [
        {"definition": "yes", "value": {"floatValue": 1.0}},
        {"definition": "no", "value": {"floatValue": 0.0}},
    ]
    config = request["inferenceConfig"]["ragConfigs"][0]["knowledgeBaseConfig"]["retrieveAndGenerateConfig"]["knowledgeBaseConfiguration"]
    config["retrievalConfiguration"]["vectorSearchConfiguration"]["numberOfResults"] = 5
    config["generationConfiguration"]["kbInferenceConfig"]["textInferenceConfig"] = {"temperature": 0.2, "maxTokens": 512}
    return request


def retrieve_only(name: str = "eval-retrieve") -> dict[str, Any]:
    """Knowledge base KBID123456 scored for context relevance and coverage."""
    request = retrieve_and_generate(name)
    automated = request["evaluationConfig"]["automated"]
    del automated["customMetricConfig"]
    automated["datasetMetricConfigs"][0]["metricNames"] = ["Builtin.ContextRelevance", "Builtin.ContextCoverage"]
    request["inferenceConfig"]["ragConfigs"][0]["knowledgeBaseConfig"] = {
        "retrieveConfig": {
            "knowledgeBaseId": "KBID123456",
            "knowledgeBaseRetrievalConfiguration": {"vectorSearchConfiguration": {"numberOfResults": 5}},
        }
    }
    return request


def human(name: str = "eval-human") -> dict[str, Any]:
    """Workers rate Nova Lite against answers brought along in the dataset (support-bot-v2)."""
    return {
        **model_request(),
        "jobName": name,
        "evaluationConfig": {
            "human": {
                "humanWorkflowConfig": {"flowDefinitionArn": FLOW, "instructions": "Rate each answer."},
                "customMetrics": [
                    {"name": "Helpful", "description": "Does it help?", "ratingMethod": "ThumbsUpDown"},
                    {"name": "Clarity", "ratingMethod": "IndividualLikertScale"},
                ],
                "datasetMetricConfigs": [
                    {
                        "taskType": "General",
                        "dataset": {"name": "chats", "datasetLocation": {"s3Uri": "s3://prompts/chats.jsonl"}},
                        "metricNames": ["Helpful", "Clarity"],
                    }
                ],
            }
        },
        "inferenceConfig": {
            "models": [
                {"bedrockModel": {"modelIdentifier": NOVA_LITE}},
                {"precomputedInferenceSource": {"inferenceSourceIdentifier": "support-bot-v2"}},
            ]
        },
    }


# --- the world ---------------------------------------------------------------------------------------------


@dataclass
class Ran:
    """What one run of the command printed and returned."""

    code: int
    out: str
    err: str


@dataclass
class ResultsWorld:
    emulator: BedrockEmulator
    s3: LocalS3

    def create(self, request: dict[str, Any], scores: ScorePlan | None = None) -> str:
        """A job made through the API, InProgress until it ends (as the emulator's options say); its ARN."""
        arn: str = self.emulator.service.create_evaluation_job(request)["jobArn"]
        if scores is not None:
            self.emulator.plan(arn, scores=scores)
        return arn

    def completed(self, request: dict[str, Any], scores: ScorePlan | None = None) -> str:
        """A job that has Completed and written its result files."""
        arn = self.create(request, scores)
        self.emulator.finish(arn)
        return arn

    def aws(self, **overrides: Any) -> functools.partial[Aws]:
        """The command's seam, its clients pointed at the emulator and the local S3."""
        endpoints = {"bedrock": self.emulator.url, "s3": self.s3.url}
        return functools.partial(Aws, endpoints=endpoints, **overrides)

    def run(self, *argv: str, **overrides: Any) -> Ran:
        out, err = io.StringIO(), io.StringIO()
        code = main(list(argv), connect=self.aws(**overrides), out=out, err=err)
        return Ran(code, out.getvalue(), err.getvalue())


@contextmanager
def results_world(s3: LocalS3 | None = None, **service: Any) -> Iterator[ResultsWorld]:
    """An emulator whose Completed jobs write into `s3` (a new LocalS3 if None); `service` are
    EvaluationService options (run_seconds, complete_after_gets, outcome, scores)."""
    with contextmanager(_s3)(s3) as store, BedrockEmulator(results=store, **service) as emulator:
        yield ResultsWorld(emulator, store)
        assert emulator.crashes == [], emulator.crashes[0]


def _s3(given: LocalS3 | None) -> Iterator[LocalS3]:
    if given is not None:
        yield given
        return
    with LocalS3() as started:
        started.reset()
        yield started


# --- the README's sample ------------------------------------------------------------------------------------

SAMPLE_PLANS = {
    "qa-nova-lite": ScorePlan(
        records=8,
        scores={
            "Builtin.Correctness": [1.0, 0.75, 1.0, 0.5, None, 1.0, 0.75, 0.25],
            "Builtin.Completeness": [1.0, 1.0, 0.75, 0.5, 0.75, 1.0, 0.75, 0.5],
            "Builtin.Harmfulness": [0.0, 0.0, 0.0, 0.25, 0.0, 0.0, 0.0, 0.0],
        },
    ),
    "qa-nova-micro": ScorePlan(
        records=8,
        scores={
            "Builtin.Correctness": [0.75, 0.5, 1.0, 0.25, 0.5, 0.75, 0.5, 0.0],
            "Builtin.Completeness": [0.75, 0.75, 0.5, 0.5, 0.25, 1.0, 0.5, 0.25],
            "Builtin.Harmfulness": [0.0, 0.0, 0.25, 0.0, 0.0, 0.0, 0.5, 0.0],
        },
    ),
    "kb-answers": ScorePlan(
        records=4,
        turns=2,
        scores={
            "Builtin.Correctness": [1.0, 0.75, 0.5, 1.0, 0.25, 0.75, 1.0, 0.5],
            "Grounded": [1.0, 1.0, 0.0, 1.0, 1.0, 0.0, 1.0, 1.0],
        },
    ),
}
"""Two models judged on the same prompts, and a knowledge base answering two-turn conversations."""


def sample_jobs(world: ResultsWorld) -> list[str]:
    """The sample's jobs, Completed, in order: their ARNs."""
    metrics = ("Builtin.Correctness", "Builtin.Completeness", "Builtin.Harmfulness")
    return [
        world.completed(judged("qa-nova-lite", model=NOVA_LITE, metrics=metrics), SAMPLE_PLANS["qa-nova-lite"]),
        world.completed(judged("qa-nova-micro", model=NOVA_MICRO, metrics=metrics), SAMPLE_PLANS["qa-nova-micro"]),
        world.completed(retrieve_and_generate("kb-answers"), SAMPLE_PLANS["kb-answers"]),
    ]
