"""Waited jobs against the Bedrock emulator and a local S3 (tests/results_scenarios.py): each
scenario on its own, then all of them under background chaos as the reliability report runs them."""

from __future__ import annotations

from typing import Any

import pytest
import results_scenarios
from emulator.results import ScorePlan
from handler_support import ROLE_ARN, model_request, rag_request
from lifecycle_scenarios import invariant_violations
from results_scenarios import RESULTS_SCENARIOS, ResultsScenario, delete_stack, deploy, job_props, judge_request, results_world


@pytest.mark.parametrize("scenario", RESULTS_SCENARIOS, ids=[s.id for s in RESULTS_SCENARIOS])
def test_results_scenario(scenario: ResultsScenario) -> None:
    with results_world(**scenario.options) as w:
        scenario.run(w)

        assert invariant_violations(w) == [], scenario.name


def test_every_results_scenario_under_chaos_answers_every_event_and_leaves_nothing_running() -> None:
    outcomes = [results_scenarios.run(s, chaos=True) for s in RESULTS_SCENARIOS]
    assert [o.failure for o in outcomes if not o.passed] == []
    assert all(o.faults_injected > 0 for o in outcomes)
    assert sum(o.duplicates + o.left_running for o in outcomes) == 0


# --- each job kind's scores, as attributes ------------------------------------------------------------------
# Record shapes and layouts: ../shared/reference/bedrock-evaluation.md, "Results in S3" (user guide
# model-evaluation-report-s3; amazon-bedrock-samples; a committed real knowledge-base output).



NOVA, MICRO = "amazon.nova-lite-v1:0", "amazon.nova-micro-v1:0"


def automatic_request() -> dict[str, Any]:
    request = model_request()
    request["evaluationConfig"]["automated"]["datasetMetricConfigs"][0]["metricNames"] = ["Builtin.Accuracy", "Builtin.Robustness"]
    return request


def custom_metric_request() -> dict[str, Any]:
    request = judge_request("Builtin.Correctness", "Concise")
    judge = request["evaluationConfig"]["automated"]["evaluatorModelConfig"]
    request["evaluationConfig"]["automated"]["customMetricConfig"] = {
        "customMetrics": [{"customMetricDefinition": {"name": "Concise", "instructions": "Is {{prediction}} concise?"}}],
        "evaluatorModelConfig": judge,
    }
    return request


def retrieve_request() -> dict[str, Any]:
    request = rag_request()
    config = request["inferenceConfig"]["ragConfigs"][0]["knowledgeBaseConfig"]
    kb = config.pop("retrieveAndGenerateConfig")["knowledgeBaseConfiguration"]
    config["retrieveConfig"] = {"knowledgeBaseId": kb["knowledgeBaseId"], "knowledgeBaseRetrievalConfiguration": {"vectorSearchConfiguration": {"numberOfResults": "5"}}}
    automated = request["evaluationConfig"]["automated"]
    automated["datasetMetricConfigs"][0]["metricNames"] = ["Builtin.ContextRelevance", "Builtin.ContextCoverage"]
    automated.pop("customMetricConfig")
    return request


def human_request() -> dict[str, Any]:
    return {
        "applicationType": "ModelEvaluation",
        "roleArn": ROLE_ARN,
        "evaluationConfig": {
            "human": {
                "humanWorkflowConfig": {"flowDefinitionArn": "arn:aws:sagemaker:us-east-1:123456789012:flow-definition/eval-review-flow-0123456789"},
                "customMetrics": [{"name": "Helpful", "description": "Does the answer help?", "ratingMethod": "ThumbsUpDown"}],
                "datasetMetricConfigs": [
                    {
                        "taskType": "Generation",
                        "dataset": {"name": "qa", "datasetLocation": {"s3Uri": "s3://results-bucket/datasets/qa.jsonl"}},
                        "metricNames": ["Helpful"],
                    }
                ],
            }
        },
        "inferenceConfig": {"models": [{"bedrockModel": {"modelIdentifier": NOVA}}, {"bedrockModel": {"modelIdentifier": MICRO}}]},
        "outputDataConfig": {"s3Uri": "s3://results-bucket/results/job/"},
    }


KINDS: dict[str, tuple[Any, ScorePlan, dict[str, str]]] = {
    # automatic: metric names are written bare ("Accuracy") and reported as requested
    "automatic": (
        automatic_request,
        ScorePlan(records=4, scores={"Accuracy": [0.25, 0.5, 0.75, 1.0], "Robustness": [0.1, 0.1, 0.2, 0.2]}),
        {"Score.Builtin.Accuracy.Mean": "0.625", "Score.Builtin.Accuracy.Min": "0.25", "Score.Builtin.Robustness.Mean": "0.15", "Score.Builtin.Accuracy.Scored": "4"},
    ),
    # a judge's N/A ("result": null) is counted as not scored and left out of the mean
    "judge": (
        judge_request,
        ScorePlan(records=3, scores={"Builtin.Correctness": [1.0, None, 0.5]}),
        {"Score.Builtin.Correctness.Mean": "0.75", "Score.Builtin.Correctness.Scored": "2", "Score.Builtin.Correctness.NotScored": "1", "Score.Builtin.Faithfulness.Mean": "1.0"},
    ),
    "custom metric": (
        custom_metric_request,
        ScorePlan(records=2, scores={"Concise": [0.0, 0.5]}),
        {"Score.Concise.Mean": "0.25", "Score.Concise.Min": "0.0", "Score.Builtin.Correctness.Mean": "1.0"},
    ),
    # knowledge-base jobs score each conversation turn
    "retrieve only": (
        retrieve_request,
        ScorePlan(records=2, scores={"Builtin.ContextRelevance": [0.5, 1.0], "Builtin.ContextCoverage": [0.0, 1.0]}),
        {"Score.Builtin.ContextRelevance.Mean": "0.75", "Score.Builtin.ContextCoverage.Mean": "0.5", "Score.Builtin.ContextCoverage.Scored": "2"},
    ),
    "retrieve and generate": (
        rag_request,
        ScorePlan(records=2, turns=2, scores={"Builtin.Correctness": [1.0, 0.5, None, 0.0], "Grounded": [1.0, 1.0, 1.0, 0.0]}),
        {"Score.Builtin.Correctness.Mean": "0.5", "Score.Builtin.Correctness.Scored": "3", "Score.Builtin.Correctness.NotScored": "1", "Score.Grounded.Mean": "0.75"},
    ),
    # human answers are per rating method; thumbs up is 1, down 0; both models' answers count
    "human": (
        human_request,
        ScorePlan(records=2, scores={"Helpful": [1, 0]}),
        {"Score.Helpful.ThumbsUpDown.Mean": "0.5", "Score.Helpful.ThumbsUpDown.Scored": "4"},
    ),
}


@pytest.mark.parametrize("kind", list(KINDS))
def test_each_kind_of_job_gets_its_scores_as_attributes(kind: str) -> None:
    request, plan, expected = KINDS[kind]
    with results_world(scores=plan) as w:
        deployed = deploy(w, job_props(request()))
        assert deployed.results is not None and deployed.results.ok, deployed.results.reason
        assert {key: deployed.results.data.get(key) for key in expected} == expected
        assert deployed.results.data["ScoresOmitted"] == ""
        assert deployed.results.body_bytes <= 4096
        delete_stack(w, deployed)
        assert invariant_violations(w) == []
