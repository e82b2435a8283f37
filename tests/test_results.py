"""Reading a job's results: where they are, the scores each kind of job writes, their summary, the
gates a deploy passes or fails on them, and the attributes CloudFormation gets.

Record shapes follow the sources cited with each test: the Bedrock user guide pages
model-evaluation-report-s3 (result layouts, automatic and human records), the SageMaker developer
guide page clarify-foundation-model-evaluate-results-human (each human rating method's shape), and
a committed real knowledge-base output (nikhilpenmetsa/bedrock-rag-eval-workflow
dataset/sample_output/output.jsonl), as collected in the project's reference notes ("Results in
S3", "Metric names", "Prompt datasets").
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping

import pytest

from bedrock_evaluation.results import (
    LOWER_IS_BETTER,
    GateFailure,
    Layout,
    ResultFile,
    ResultsError,
    Score,
    Summary,
    above_limits,
    attributes,
    below_thresholds,
    canonical_metric,
    canonical_rating_method,
    job_results_location,
    read_scores,
    read_summary,
    regressions,
    result_files,
    scores_of,
    summarize,
    within_bounds,
)

OUTPUT_URI = "s3://eval-results/runs/"
JOB_NAME = "support-bot-eval-a1b2c3d4e5"
JOB_ARN = "arn:aws:bedrock:us-east-1:123456789012:evaluation-job/k3v9x2m4q7ab"
PREFIX = "runs/support-bot-eval-a1b2c3d4e5/k3v9x2m4q7ab/"

HAIKU = "anthropic.claude-3-5-haiku-20241022-v1:0"
JUDGED = "us.anthropic.claude-haiku-4-5-20251001-v1:0"
BYO = "my-support-bot-v7"


def jsonl(*lines: object) -> str:
    """JSON lines: objects are encoded, strings kept as they are (blank or broken lines)."""
    return "".join((line if isinstance(line, str) else json.dumps(line)) + "\n" for line in lines)


def file_at(relative: str) -> ResultFile:
    """The result file a key of the job's listing is, classified as a listing would be."""
    [found] = result_files([PREFIX + relative], PREFIX)
    return found


def read(relative: str, text: str, metric_names: Iterable[str] = ()) -> list[Score]:
    return list(scores_of(file_at(relative), text.splitlines(), metric_names=tuple(metric_names)))


def judged(*rows: Mapping[str, float | None]) -> str:
    """Judge records, one per row of metric -> result."""
    return jsonl(
        *(
            {
                "automatedEvaluationResult": {"scores": [{"metricName": m, "result": v} for m, v in row.items()]},
                "inputRecord": {"prompt": f"question {i}"},
                "modelResponses": [{"modelIdentifier": JUDGED, "response": f"answer {i}"}],
            }
            for i, row in enumerate(rows)
        )
    )


def summary_of(files: Mapping[str, str]) -> Summary:
    return summarize(score for relative, text in files.items() for score in read(relative, text))


def size(answer: Mapping[str, str]) -> int:
    return len(json.dumps(answer, separators=(",", ":")).encode())


class MemoryStore:
    """A ResultStore over objects held in memory, listed and read as S3 would."""

    def __init__(self, bucket: str, objects: Mapping[str, str]) -> None:
        self.bucket = bucket
        self.objects = dict(objects)

    def keys(self, bucket: str, prefix: str) -> list[str]:
        return [key for key in self.objects if bucket == self.bucket and key.startswith(prefix)]

    def lines(self, bucket: str, key: str) -> list[bytes]:
        return self.objects[key].encode().splitlines()


# --- Where the results are ----------------------------------------------------------------------


def test_results_are_under_the_output_uri_then_the_job_name_then_the_id_at_the_end_of_the_arn() -> None:
    # User guide model-evaluation-report-s3: s3://<output path>/<job name>/<job uuid>/...; the id is
    # the 12 characters at the end of the ARN (botocore EvaluationJobArn: evaluation-job/[a-z0-9]{12}).
    assert job_results_location("s3://eval-results/runs/", JOB_NAME, JOB_ARN) == ("eval-results", PREFIX)
    assert job_results_location("s3://eval-results/runs", JOB_NAME, JOB_ARN) == ("eval-results", PREFIX)
    assert job_results_location("s3://eval-results", JOB_NAME, JOB_ARN) == ("eval-results", f"{JOB_NAME}/k3v9x2m4q7ab/")
    assert job_results_location("s3://eval-results/", JOB_NAME, JOB_ARN) == ("eval-results", f"{JOB_NAME}/k3v9x2m4q7ab/")
    # botocore's pattern allows every partition: arn:aws(-[^:]+)?
    gov = "arn:aws-us-gov:bedrock:us-gov-west-1:123456789012:evaluation-job/k3v9x2m4q7ab"
    assert job_results_location(OUTPUT_URI, JOB_NAME, gov) == ("eval-results", PREFIX)


@pytest.mark.parametrize(
    ("uri", "arn", "message"),
    [
        ("https://eval-results.s3.amazonaws.com/runs/", JOB_ARN, "must be an s3:// URI"),
        ("eval-results/runs", JOB_ARN, "must be an s3:// URI"),
        (OUTPUT_URI, "arn:aws:bedrock:us-east-1:123456789012:model-invocation-job/k3v9x2m4q7ab", "not an evaluation job ARN"),
        (OUTPUT_URI, "arn:aws:bedrock:us-east-1:123456789012:evaluation-job/K3V9X2M4Q7AB", "not an evaluation job ARN"),
        (OUTPUT_URI, "k3v9x2m4q7ab", "not an evaluation job ARN"),
    ],
)
def test_fails_for_an_output_that_is_not_s3_or_an_arn_that_is_not_an_evaluation_jobs(uri: str, arn: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        job_results_location(uri, JOB_NAME, arn)


def test_result_files_are_told_apart_by_their_place_in_a_listing_and_everything_else_is_left_out() -> None:
    # Layouts (user guide model-evaluation-report-s3; a knowledge-base job's inference_configs/0 from
    # amazon-bedrock-samples 04_evaluate.ipynb): files are found by listing, never by building names.
    # The model id is what the service wrote: it may hold ":" and, as an ARN, even "/".
    profile = "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.amazon.nova-pro-v1:0"
    listing = [
        # The service's write probe, beside the job's prefix (reference "Results in S3").
        "runs/support-bot-eval-a1b2c3d4e5/amazon-bedrock-evaluations-permission-check",
        PREFIX + f"models/{BYO}/taskTypes/Custom/datasets/byo-answers/0c1d2e3f_output.jsonl",
        PREFIX + f"models/{HAIKU}/taskTypes/General/datasets/support-questions/4f1c2b9e-8d7a-4c3b-9e2f-0a1b2c3d4e5f_output.jsonl",
        # Custom-metric definitions (user guide model-evaluation-report-s3).
        PREFIX + "custom_metrics/tone-of-voice.json",
        PREFIX + f"models/{profile}/taskTypes/General/datasets/support-questions/7a8b9c0d_output.jsonl",
        PREFIX + "inference_configs/0/datasets/RagDataset/abc123_output.jsonl",
        PREFIX + "datasets/tone-review/5a6b7c8d_output.jsonl",
        # A human loop's input (user guide: additionalDataS3Uri .../datasets/<name>/records/<n>/...).
        PREFIX + "datasets/tone-review/records/0/human-loop-additional-data.json",
        # Another job writing to the same output location.
        "runs/other-job-0123456789/m4n5b6v7c8x9/datasets/tone-review/ffff_output.jsonl",
    ]

    found = result_files(listing, PREFIX)

    assert found == [
        ResultFile(
            key=PREFIX + "datasets/tone-review/5a6b7c8d_output.jsonl", layout=Layout.HUMAN, source=None, task_type=None, dataset="tone-review"
        ),
        ResultFile(
            key=PREFIX + "inference_configs/0/datasets/RagDataset/abc123_output.jsonl",
            layout=Layout.KNOWLEDGE_BASE,
            source="inference_configs/0",
            task_type=None,
            dataset="RagDataset",
        ),
        ResultFile(key=listing[2], layout=Layout.MODEL, source=HAIKU, task_type="General", dataset="support-questions"),
        ResultFile(key=listing[4], layout=Layout.MODEL, source=profile, task_type="General", dataset="support-questions"),
        ResultFile(key=listing[1], layout=Layout.MODEL, source=BYO, task_type="Custom", dataset="byo-answers"),
    ]
    assert result_files(reversed(listing), PREFIX.rstrip("/")) == found


# --- Scores of each kind of job -----------------------------------------------------------------

AUTOMATIC = f"models/{HAIKU}/taskTypes/QuestionAndAnswer/datasets/Builtin.BoolQ/9e8d7c6b_output.jsonl"


def automatic_file() -> str:
    # Automatic records name metrics bare ("Accuracy"), not as requested (reference "Results in S3",
    # user guide model-evaluation-report-s3's example).
    def record(question: str, answer: str, accuracy: float, robustness: float, toxicity: float) -> dict[str, object]:
        return {
            "automatedEvaluationResult": {
                "scores": [
                    {"metricName": "Accuracy", "result": accuracy},
                    {"metricName": "Robustness", "result": robustness},
                    {"metricName": "Toxicity", "result": toxicity},
                ]
            },
            "inputRecord": {"prompt": question, "referenceResponse": "yes"},
            "modelResponses": [{"modelIdentifier": f"arn:aws:bedrock:us-east-1::foundation-model/{HAIKU}", "response": answer}],
        }

    return jsonl(
        record("is the sky blue on a clear day?", "Yes.", 0.5, 0.1, 0.01),
        record("is water wet?", "Yes, it is.", 1.0, 0.3, 0.03),
        "",
        record("is ice cold?", "It depends.", 0.25, 0.2, 0.02),
    )


def test_an_automatic_job_reports_bare_metric_names_as_the_builtin_metrics_they_are() -> None:
    scores = read(AUTOMATIC, automatic_file())

    assert scores[0] == Score(
        metric="Builtin.Accuracy",
        value=0.5,
        source=HAIKU,
        task_type="QuestionAndAnswer",
        dataset="Builtin.BoolQ",
        record=0,
        prompt="is the sky blue on a clear day?",
        response="Yes.",
        key=PREFIX + AUTOMATIC,
    )
    # The blank third line is skipped; records keep their line numbers.
    assert [(s.record, s.value) for s in scores if s.metric == "Builtin.Accuracy"] == [(0, 0.5), (1, 1.0), (3, 0.25)]

    summary = summarize(scores)
    assert (summary.files, summary.records) == (1, 3)
    assert [(m.metric, m.scored, m.not_scored, m.minimum) for m in summary.overall] == [
        ("Builtin.Accuracy", 3, 0, 0.25),
        ("Builtin.Robustness", 3, 0, 0.1),
        ("Builtin.Toxicity", 3, 0, 0.01),
    ]
    assert [m.mean for m in summary.overall] == pytest.approx([(0.5 + 1.0 + 0.25) / 3, (0.1 + 0.3 + 0.2) / 3, (0.01 + 0.03 + 0.02) / 3])
    assert [(g.source, g.task_type, g.dataset) for g in summary.groups] == [(HAIKU, "QuestionAndAnswer", "Builtin.BoolQ")] * 3


def test_a_metric_keeps_the_name_the_job_requested_it_by() -> None:
    # Judge and custom metrics appear as requested, automatic ones bare (reference "Results in S3");
    # built-in names from the reference's "Metric names".
    assert canonical_metric("Accuracy") == "Builtin.Accuracy"
    assert canonical_metric("Accuracy", ["Builtin.Accuracy"]) == "Builtin.Accuracy"
    assert canonical_metric("Builtin.Correctness", ["Builtin.Correctness"]) == "Builtin.Correctness"
    assert canonical_metric("tone-of-voice", ["tone-of-voice"]) == "tone-of-voice"
    # A custom metric requested under a built-in's bare name stays the custom metric.
    assert canonical_metric("Accuracy", ["Accuracy"]) == "Accuracy"
    # A built-in this module does not know yet is recognised when the job requested it.
    assert canonical_metric("Concision", ["Builtin.Concision"]) == "Builtin.Concision"
    assert canonical_metric("Concision") == "Concision"


JUDGE = f"models/{JUDGED}/taskTypes/General/datasets/support-questions/1a2b3c4d_output.jsonl"


def test_a_judge_job_reports_explanations_and_counts_null_results_as_not_scored() -> None:
    # LLM-as-a-judge records: Builtin. names, evaluatorDetails with an explanation, custom metrics
    # under their name, "result": null for the judge's N/A, left out of means and counted
    # (reference "Results in S3").
    def score(metric: str, result: float | None, explanation: str) -> dict[str, object]:
        return {"metricName": metric, "result": result, "evaluatorDetails": [{"modelIdentifier": "amazon.nova-pro-v1:0", "explanation": explanation}]}

    text = jsonl(
        {
            "automatedEvaluationResult": {
                "scores": [
                    score("Builtin.Correctness", 1.0, "The answer matches the reference."),
                    score("Builtin.Helpfulness", 0.8333, "Clear and direct."),
                    score("tone-of-voice", 0.75, "Friendly, slightly formal."),
                ]
            },
            "inputRecord": {"prompt": "How do I reset my password?", "referenceResponse": "Use Settings > Security."},
            "modelResponses": [{"modelIdentifier": JUDGED, "response": "Open Settings, then Security."}],
        },
        {
            "automatedEvaluationResult": {
                "scores": [
                    score("Builtin.Correctness", 0.5, "Half of the steps are right."),
                    score("Builtin.Helpfulness", None, "The response cannot be rated."),
                    score("tone-of-voice", 0.25, "Curt."),
                ]
            },
            "inputRecord": {"prompt": "Can I change my username?"},
            "modelResponses": [{"modelIdentifier": JUDGED, "response": "No."}],
        },
        {
            "automatedEvaluationResult": {
                "scores": [
                    score("Builtin.Correctness", None, "There is no reference to compare with."),
                    score("Builtin.Helpfulness", 0.6667, "Mostly useful."),
                    score("tone-of-voice", 1.0, "Warm."),
                ]
            },
            "inputRecord": {"prompt": "Where is my invoice?"},
            "modelResponses": [{"modelIdentifier": JUDGED, "response": "Under Billing."}],
        },
    )

    scores = read(JUDGE, text, metric_names=["Builtin.Correctness", "Builtin.Helpfulness", "tone-of-voice"])

    assert scores[0].explanation == "The answer matches the reference."
    assert (scores[0].prompt, scores[0].response) == ("How do I reset my password?", "Open Settings, then Security.")
    not_applicable = scores[4]
    assert (not_applicable.metric, not_applicable.value, not_applicable.record) == ("Builtin.Helpfulness", None, 1)
    assert not_applicable.explanation == "The response cannot be rated."

    summary = summarize(scores)
    assert [(m.metric, m.scored, m.not_scored, m.minimum) for m in summary.overall] == [
        ("Builtin.Correctness", 2, 1, 0.5),
        ("Builtin.Helpfulness", 2, 1, 0.6667),
        ("tone-of-voice", 3, 0, 0.25),
    ]
    assert [m.mean for m in summary.overall] == pytest.approx([(1.0 + 0.5) / 2, (0.8333 + 0.6667) / 2, (0.75 + 0.25 + 1.0) / 3])


def test_bring_your_own_responses_are_read_inside_the_input_record_as_well_as_beside_it() -> None:
    # Bring-your-own: modelResponses has been seen at the top level and inside inputRecord; the model
    # id in the key is the inferenceSourceIdentifier (reference "Results in S3", "Prompt datasets").
    relative = f"models/{BYO}/taskTypes/General/datasets/byo-answers/0c1d2e3f_output.jsonl"
    text = jsonl(
        {
            "automatedEvaluationResult": {"scores": [{"metricName": "Builtin.Faithfulness", "result": 0.9}]},
            "inputRecord": {
                "prompt": "How do I reset my password?",
                "modelResponses": [{"response": "Reset it from Settings.", "modelIdentifier": BYO}],
            },
        },
        {
            "automatedEvaluationResult": {"scores": [{"metricName": "Builtin.Faithfulness", "result": 0.7}]},
            "inputRecord": {"prompt": "Where is my invoice?"},
            "modelResponses": [{"response": "Under Billing.", "modelIdentifier": BYO}],
        },
    )

    scores = read(relative, text)

    assert [(s.source, s.prompt, s.response, s.value) for s in scores] == [
        (BYO, "How do I reset my password?", "Reset it from Settings.", 0.9),
        (BYO, "Where is my invoice?", "Under Billing.", 0.7),
    ]


KNOWLEDGE_BASE = "inference_configs/0/datasets/RagDataset/abc123_output.jsonl"


def turn(prompt: str, results: Mapping[str, float | None], text: str | None = None) -> dict[str, object]:
    """One conversation turn of a knowledge-base result, shaped as the committed real output
    (nikhilpenmetsa/bedrock-rag-eval-workflow dataset/sample_output/output.jsonl)."""
    output: dict[str, object] = {
        "knowledgeBaseIdentifier": "3UWWAYOA4C",
        "retrievedPassages": {"retrievalResults": [{"content": {"text": "Thomas Woodrow Wilson was born in Staunton, Virginia in 1856."}}]},
    }
    if text is not None:
        output |= {"text": text, "modelIdentifier": "us.amazon.nova-pro-v1:0"}
    return {
        "inputRecord": {"prompt": {"content": [{"text": prompt}]}, "referenceResponses": [{"content": [{"text": "Staunton, Virginia"}]}]},
        "output": output,
        "results": [
            {"metricName": m, "result": v, "evaluatorDetails": [{"modelIdentifier": "us.amazon.nova-pro-v1:0", "explanation": f"{m} judged."}]}
            for m, v in results.items()
        ],
    }


def test_a_retrieve_only_job_scores_its_single_turn_and_has_no_generated_response() -> None:
    # Retrieve-only: one turn, ContextRelevance and ContextCoverage (reference "Metric names",
    # "Prompt datasets"); scores per turn under conversationTurns[i].results (reference "Results in S3").
    text = jsonl(
        {"conversationTurns": [turn("Where was Woodrow Wilson born?", {"Builtin.ContextRelevance": 0.75, "Builtin.ContextCoverage": 1.0})]},
        {"conversationTurns": [turn("Felis pardus was what?", {"Builtin.ContextRelevance": 0.25, "Builtin.ContextCoverage": None})]},
    )

    scores = read(KNOWLEDGE_BASE, text)

    assert scores[0] == Score(
        metric="Builtin.ContextRelevance",
        value=0.75,
        source="inference_configs/0",
        task_type=None,
        dataset="RagDataset",
        record=0,
        turn=0,
        prompt="Where was Woodrow Wilson born?",
        response=None,
        explanation="Builtin.ContextRelevance judged.",
        key=PREFIX + KNOWLEDGE_BASE,
    )
    summary = summarize(scores)
    assert [(m.metric, m.mean, m.scored, m.not_scored, m.minimum) for m in summary.overall] == [
        ("Builtin.ContextCoverage", 1.0, 1, 1, 1.0),
        ("Builtin.ContextRelevance", (0.75 + 0.25) / 2, 2, 0, 0.25),
    ]


def test_a_retrieve_and_generate_job_scores_every_turn_of_a_conversation() -> None:
    # Retrieve-and-generate: up to 5 turns (reference "Prompt datasets"), each with its own results,
    # prompt (inputRecord.prompt.content[0].text) and generated text (output.text).
    text = jsonl(
        {
            "conversationTurns": [
                turn("Who was Woodrow Wilson?", {"Builtin.Correctness": 1.0, "Builtin.Faithfulness": 0.5}, "The 28th US president."),
                turn("Where was he born?", {"Builtin.Correctness": 0.5, "Builtin.Faithfulness": 1.0}, "Staunton, Virginia."),
            ]
        },
        {"conversationTurns": [turn("Felis pardus was what?", {"Builtin.Correctness": 0.0, "Builtin.Faithfulness": None}, "A cat.")]},
    )

    scores = read(KNOWLEDGE_BASE, text)

    assert [(s.record, s.turn, s.metric, s.value, s.prompt, s.response) for s in scores] == [
        (0, 0, "Builtin.Correctness", 1.0, "Who was Woodrow Wilson?", "The 28th US president."),
        (0, 0, "Builtin.Faithfulness", 0.5, "Who was Woodrow Wilson?", "The 28th US president."),
        (0, 1, "Builtin.Correctness", 0.5, "Where was he born?", "Staunton, Virginia."),
        (0, 1, "Builtin.Faithfulness", 1.0, "Where was he born?", "Staunton, Virginia."),
        (1, 0, "Builtin.Correctness", 0.0, "Felis pardus was what?", "A cat."),
        (1, 0, "Builtin.Faithfulness", None, "Felis pardus was what?", "A cat."),
    ]
    summary = summarize(scores)
    assert (summary.files, summary.records) == (1, 2)
    # A minimum of 0.0 is a minimum, not "no score".
    assert [(m.metric, m.mean, m.scored, m.not_scored, m.minimum) for m in summary.overall] == [
        ("Builtin.Correctness", (1.0 + 0.5 + 0.0) / 3, 3, 0, 0.0),
        ("Builtin.Faithfulness", (0.5 + 1.0) / 2, 2, 1, 0.5),
    ]


HUMAN = "datasets/tone-review/5a6b7c8d_output.jsonl"
ID_MAP = {"0": HAIKU, "1": BYO}
RESPONSES = [{"modelIdentifier": HAIKU, "response": "Open Settings, then Security."}, {"modelIdentifier": BYO, "response": "Reset it from Settings."}]


def rating(metric: str, response_id: str, result: object) -> dict[str, object]:
    return {"metricName": metric, "modelResponseId": response_id, "result": result}


def human_record(*answers: Mapping[str, object], as_list: bool) -> dict[str, object]:
    """A human record: humanEvaluationResult is a list of one in the Bedrock user guide's example
    (model-evaluation-report-s3) and an object in the SageMaker developer guide's."""
    result = {
        "flowDefinitionArn": "arn:aws:sagemaker:us-east-1:123456789012:flow-definition/tone-review",
        "humanLoopName": "b3b1c64a2166e001e094123456789012",
        "humanAnswers": [
            {"workerId": f"worker-{i}", "timeSpentInSeconds": 22.5, "answerContent": {"evaluationResults": a}} for i, a in enumerate(answers)
        ],
        "modelResponseIdMap": ID_MAP,
    }
    return {
        "humanEvaluationResult": [result] if as_list else result,
        "inputRecord": {"prompt": "How do I reset my password?", "category": "Accounts"},
        "modelResponses": RESPONSES,
    }


def test_a_human_job_rates_two_models_by_rating_method_whichever_way_the_method_is_spelled() -> None:
    # evaluationResults.<ratingMethod>[] = {metricName, modelResponseId, result}; the keys are camelCase
    # in the user guide's example and PascalCase in its table: matched case-insensitively (reference
    # "Results in S3"). modelResponseIdMap maps "0" to a model. Thumbs up is "result": true, a Likert
    # rating a number (SageMaker developer guide); human metrics are the job's own names, kept as
    # written even when they look like a built-in's.
    text = jsonl(
        human_record(
            {
                "IndividualLikertScale": [rating("Helpfulness", "0", 4), rating("Helpfulness", "1", 2)],
                "thumbsUpDown": [rating("Politeness", "0", True), rating("Politeness", "1", False)],
            },
            {
                "individualLikertScale": [rating("Helpfulness", "0", "5"), rating("Helpfulness", "1", 3)],
                "ThumbsUpDown": [rating("Politeness", "0", True), rating("Politeness", "1", True)],
            },
            as_list=True,
        ),
        human_record(
            {
                "individualLikertScale": [rating("Helpfulness", "0", 3), rating("Helpfulness", "1", None)],
                "thumbsUpDown": [rating("Politeness", "0", False), rating("Politeness", "1", True)],
            },
            as_list=False,
        ),
    )

    scores = read(HUMAN, text, metric_names=["Helpfulness", "Politeness"])

    assert scores[0] == Score(
        metric="Helpfulness",
        value=4.0,
        source=HAIKU,
        task_type=None,
        dataset="tone-review",
        record=0,
        rating_method="IndividualLikertScale",
        prompt="How do I reset my password?",
        response="Open Settings, then Security.",
        key=PREFIX + HUMAN,
    )
    assert scores[1].response == "Reset it from Settings."
    assert {s.rating_method for s in scores} == {"IndividualLikertScale", "ThumbsUpDown"}

    summary = summarize(scores)
    assert [(m.metric, m.rating_method, m.source, m.mean, m.scored, m.not_scored, m.minimum) for m in summary.overall] == [
        ("Helpfulness", "IndividualLikertScale", None, (4 + 2 + 5 + 3 + 3) / 5, 5, 1, 2.0),
        ("Politeness", "ThumbsUpDown", None, pytest.approx(4 / 6), 6, 0, 0.0),
    ]
    assert [(g.metric, g.source, g.mean, g.scored, g.not_scored, g.minimum) for g in summary.groups] == [
        ("Helpfulness", HAIKU, (4 + 5 + 3) / 3, 3, 0, 3.0),
        ("Helpfulness", BYO, (2 + 3) / 2, 2, 1, 2.0),
        ("Politeness", HAIKU, pytest.approx(2 / 3), 3, 0, 0.0),
        ("Politeness", BYO, pytest.approx(2 / 3), 3, 0, 0.0),
    ]


def test_comparison_ratings_become_scores_of_each_model() -> None:
    # SageMaker developer guide (clarify-foundation-model-evaluate-results-human): comparisonChoice's
    # result is {"modelResponseId": <chosen>}; comparisonRank's a list of {modelResponseId, rank};
    # comparisonLikertScale has leftModelResponseId and rightModelResponseId and a number.
    # Read as: a choice is 1.0 for the chosen model and 0.0 for the other (mean = win rate), a rank
    # is each model's rank, a comparison on the Likert scale belongs to the pair "<left> vs <right>".
    text = jsonl(
        human_record(
            {
                "comparisonChoice": [{"metricName": "Preferred", "result": {"modelResponseId": "1"}}],
                "comparisonRank": [{"metricName": "Clarity", "result": [{"modelResponseId": "0", "rank": 2}, {"modelResponseId": "1", "rank": 1}]}],
                "comparisonLikertScale": [{"metricName": "Tone", "leftModelResponseId": "0", "rightModelResponseId": "1", "result": 4}],
            },
            as_list=False,
        )
    )

    scores = read(HUMAN, text)

    assert [(s.metric, s.rating_method, s.source, s.value) for s in scores] == [
        ("Preferred", "ComparisonChoice", HAIKU, 0.0),
        ("Preferred", "ComparisonChoice", BYO, 1.0),
        ("Clarity", "ComparisonRank", HAIKU, 2.0),
        ("Clarity", "ComparisonRank", BYO, 1.0),
        ("Tone", "ComparisonLikertScale", f"{HAIKU} vs {BYO}", 4.0),
    ]
    assert canonical_rating_method("comparisonRank") == canonical_rating_method("COMPARISONRANK") == "ComparisonRank"
    assert canonical_rating_method("newMethod") == "NewMethod"


# --- Records that cannot be read ----------------------------------------------------------------

GOOD = {"automatedEvaluationResult": {"scores": [{"metricName": "Builtin.Correctness", "result": 1.0}]}}


@pytest.mark.parametrize(
    ("relative", "second_line", "problem"),
    [
        (JUDGE, "{not json", "not JSON"),
        (JUDGE, "[1, 2]", "a JSON list, not an object"),
        (
            JUDGE,
            '{"automatedEvaluationResult": {"scores": [{"metricName": "Builtin.Correctness", "result": "high"}]}}',
            'result is "high", not a number',
        ),
        (JUDGE, '{"automatedEvaluationResult": {"scores": [{"metricName": "Builtin.Correctness", "result": true}]}}', "result is true, not a number"),
        (JUDGE, '{"automatedEvaluationResult": {"scores": [{"metricName": "Builtin.Correctness", "result": NaN}]}}', "result is NaN, not a number"),
        (JUDGE, '{"automatedEvaluationResult": {"scores": [{"result": 0.5}]}}', "scores[0].metricName is null, not a metric name"),
        (JUDGE, '{"automatedEvaluationResult": {"scores": {"Builtin.Correctness": 0.5}}}', "automatedEvaluationResult.scores is"),
        (KNOWLEDGE_BASE, '{"conversationTurns": [{"results": [{"metricName": "Builtin.Correctness", "result": "1,0"}]}]}', "results[0].result is"),
        (
            HUMAN,
            json.dumps(human_record({"individualLikertScale": [rating("Helpfulness", "0", "very good")]}, as_list=False)),
            'individualLikertScale[0].result is "very good", not a number',
        ),
    ],
)
def test_fails_for_a_record_that_cannot_be_read_naming_its_key_and_line(relative: str, second_line: str, problem: str) -> None:
    first_line = json.dumps(GOOD) if relative == JUDGE else "{}"
    with pytest.raises(ResultsError) as raised:
        read(relative, jsonl(first_line, second_line))
    assert str(raised.value).startswith(f"{PREFIX}{relative}, line 2: ")
    assert problem in str(raised.value)
    assert (raised.value.key, raised.value.line, raised.value.missing) == (PREFIX + relative, 2, False)


def test_fails_for_a_line_that_is_not_utf8() -> None:
    with pytest.raises(ResultsError, match=r"1a2b3c4d_output\.jsonl, line 1: "):
        list(scores_of(file_at(JUDGE), [b"\xff\xfe{}"]))


# --- Reading a whole job ------------------------------------------------------------------------


def test_a_jobs_scores_are_read_from_the_files_its_prefix_lists() -> None:
    store = MemoryStore(
        "eval-results",
        {
            PREFIX + JUDGE: judged({"Builtin.Correctness": 0.5}, {"Builtin.Correctness": 1.0}),
            PREFIX + JUDGE.replace("support-questions", "billing-questions"): judged({"Builtin.Correctness": 0.25}),
            PREFIX + "custom_metrics/tone-of-voice.json": '{"customMetricDefinition": {}}',
        },
    )

    scores = read_scores(store, OUTPUT_URI, JOB_NAME, JOB_ARN, metric_names=["Builtin.Correctness"])
    summary = read_summary(store, OUTPUT_URI, JOB_NAME, JOB_ARN)

    assert [(s.dataset, s.record, s.value) for s in scores] == [
        ("billing-questions", 0, 0.25),
        ("support-questions", 0, 0.5),
        ("support-questions", 1, 1.0),
    ]
    assert (summary.files, summary.records) == (2, 3)
    assert [(g.dataset, g.mean) for g in summary.groups] == [("billing-questions", 0.25), ("support-questions", 0.75)]


def test_fails_when_the_jobs_prefix_holds_no_result_file() -> None:
    store = MemoryStore("eval-results", {PREFIX + "custom_metrics/tone-of-voice.json": "{}"})
    with pytest.raises(ResultsError) as raised:
        read_scores(store, OUTPUT_URI, JOB_NAME, JOB_ARN)
    assert str(raised.value).startswith(f"no result files under s3://eval-results/{PREFIX} (1 object listed there)")
    assert raised.value.missing


def test_a_summary_is_the_same_whatever_the_order_of_its_scores_and_its_json_keeps_a_fixed_shape() -> None:
    scores = read(JUDGE, judged({"Builtin.Correctness": 0.5, "Builtin.Helpfulness": None}, {"Builtin.Correctness": 1.0, "Builtin.Helpfulness": None}))

    summary = summarize(scores)

    assert summarize(reversed(scores)) == summary
    assert summary.to_json() == {
        "files": 1,
        "records": 2,
        "overall": [
            {
                "metric": "Builtin.Correctness",
                "rating_method": None,
                "source": None,
                "task_type": None,
                "dataset": None,
                "mean": 0.75,
                "scored": 2,
                "not_scored": 0,
                "minimum": 0.5,
            },
            {
                "metric": "Builtin.Helpfulness",
                "rating_method": None,
                "source": None,
                "task_type": None,
                "dataset": None,
                "mean": None,
                "scored": 0,
                "not_scored": 2,
                "minimum": None,
            },
        ],
        "groups": [
            {
                "metric": "Builtin.Correctness",
                "rating_method": None,
                "source": JUDGED,
                "task_type": "General",
                "dataset": "support-questions",
                "mean": 0.75,
                "scored": 2,
                "not_scored": 0,
                "minimum": 0.5,
            },
            {
                "metric": "Builtin.Helpfulness",
                "rating_method": None,
                "source": JUDGED,
                "task_type": "General",
                "dataset": "support-questions",
                "mean": None,
                "scored": 0,
                "not_scored": 2,
                "minimum": None,
            },
        ],
    }
    assert list(summary.to_json()) == ["files", "records", "overall", "groups"]
    assert json.dumps(summary.to_json()) == json.dumps(summarize(reversed(scores)).to_json())


# --- Gates --------------------------------------------------------------------------------------

SUPPORT = JUDGE
BILLING = JUDGE.replace("support-questions", "billing-questions")
REFUNDS = JUDGE.replace("support-questions", "refund-questions")


def test_every_group_of_a_metric_must_reach_its_threshold() -> None:
    # A judge job with two datasets: each dataset's mean must reach the threshold on its own.
    summary = summary_of(
        {
            SUPPORT: judged({"Builtin.Correctness": 0.9, "Builtin.Helpfulness": 0.6}, {"Builtin.Correctness": 0.7, "Builtin.Helpfulness": None}),
            BILLING: judged({"Builtin.Correctness": 0.5, "Builtin.Helpfulness": None}, {"Builtin.Correctness": 0.6, "Builtin.Helpfulness": None}),
        }
    )

    failures = below_thresholds(summary, {"Builtin.Correctness": 0.7, "Builtin.Helpfulness": 0.5, "Builtin.Faithfulness": 0.5})

    assert [f.reason for f in failures] == [
        "Builtin.Correctness mean 0.550 is below the threshold 0.700 (2 scored, 0 not scored; dataset billing-questions)",
        "Builtin.Faithfulness: not in the results (threshold 0.500)",
        "Builtin.Helpfulness: no record was scored (2 not scored; threshold 0.500; dataset billing-questions)",
    ]
    correctness, faithfulness, _ = failures
    assert (correctness.metric, correctness.threshold, correctness.group.dataset, correctness.group.mean) == (
        "Builtin.Correctness",
        0.7,
        "billing-questions",
        pytest.approx(0.55),
    )
    assert (faithfulness.group.scored, faithfulness.group.not_scored, faithfulness.group.mean) == (0, 0, None)
    # A threshold every group reaches fails nothing; a bare name applies to the built-in metric.
    assert below_thresholds(summary, {"Builtin.Correctness": 0.55}) == []
    assert [f.metric for f in below_thresholds(summary, {"Correctness": 0.7})] == ["Builtin.Correctness"]


def test_a_mean_equal_to_the_threshold_but_for_floating_point_passes() -> None:
    summary = summary_of({SUPPORT: judged({"Builtin.Correctness": 0.7}, {"Builtin.Correctness": 0.7}, {"Builtin.Correctness": 0.7})})
    assert summary.overall[0].mean != 0.7  # 0.6999999999999998
    assert below_thresholds(summary, {"Builtin.Correctness": 0.7}) == []


def test_lower_is_better_metrics_are_bounded_from_above() -> None:
    # Toxicity and Robustness (a word error rate, or a drop under perturbed prompts) are better low
    # (user guide model-evaluation-tasks), as are the judge's Harmfulness, Stereotyping and Refusal.
    assert {"Builtin.Toxicity", "Builtin.Robustness", "Builtin.Harmfulness"} <= LOWER_IS_BETTER
    summary = summarize(read(AUTOMATIC, automatic_file()))

    assert [f.reason for f in above_limits(summary, {"Builtin.Toxicity": 0.01})] == [
        "Builtin.Toxicity mean 0.020 is above the limit 0.010 (3 scored, 0 not scored)"
    ]
    failures = within_bounds(summary, {"Builtin.Accuracy": ("at_least", 0.6), "Builtin.Toxicity": ("at_most", 0.05)})
    assert [f.reason for f in failures] == ["Builtin.Accuracy mean 0.583 is below the threshold 0.600 (3 scored, 0 not scored)"]
    with pytest.raises(ValueError, match="at_least or at_most"):
        within_bounds(summary, {"Builtin.Accuracy": ("about", 0.6)})
    with pytest.raises(ValueError, match="finite number"):
        below_thresholds(summary, {"Builtin.Accuracy": float("nan")})


def test_a_group_fails_when_it_got_worse_than_the_replaced_jobs_by_more_than_max_drop() -> None:
    old = summary_of(
        {
            SUPPORT: judged({"Builtin.Correctness": 0.9, "Builtin.Harmfulness": 0.0}, {"Builtin.Correctness": 0.7, "Builtin.Harmfulness": 0.0}),
            BILLING: judged(
                {"Builtin.Correctness": 0.8, "Builtin.Harmfulness": 0.5, "Builtin.Helpfulness": 0.6},
                {"Builtin.Correctness": 0.8, "Builtin.Harmfulness": 0.5, "Builtin.Helpfulness": 0.6},
            ),
        }
    )
    new = summary_of(
        {
            # Correctness 0.8 -> 0.7: exactly max_drop, passes. Harmfulness 0.0 -> 0.25: worse, fails.
            SUPPORT: judged({"Builtin.Correctness": 0.7, "Builtin.Harmfulness": 0.5}, {"Builtin.Correctness": 0.7, "Builtin.Harmfulness": 0.0}),
            # Correctness 0.8 -> 0.6 fails; Harmfulness 0.5 -> 0.0 is better; Helpfulness no longer scored.
            BILLING: judged(
                {"Builtin.Correctness": 0.6, "Builtin.Harmfulness": 0.0, "Builtin.Helpfulness": None},
                {"Builtin.Correctness": 0.6, "Builtin.Harmfulness": 0.0, "Builtin.Helpfulness": None},
            ),
            # A dataset the replaced job did not have is not compared.
            REFUNDS: judged({"Builtin.Correctness": 0.1}),
        }
    )

    failures = regressions(new, old, 0.1)

    assert [f.reason for f in failures] == [
        "Builtin.Correctness mean 0.600 fell 0.200 from 0.800, more than 0.100 (2 scored, 0 not scored; dataset billing-questions)",
        "Builtin.Harmfulness mean 0.250 rose 0.250 from 0.000, more than 0.100 (2 scored, 0 not scored; dataset support-questions)",
        "Builtin.Helpfulness: no record was scored (2 not scored; the replaced job's mean was 0.600; dataset billing-questions)",
    ]
    correctness, harmfulness, _ = failures
    assert correctness.threshold == pytest.approx(0.7) and correctness.previous is not None and correctness.previous.mean == pytest.approx(0.8)
    assert harmfulness.threshold == pytest.approx(0.1)
    # Which metrics are better low can be given: here none, so Harmfulness falling 0.5 is the regression.
    assert [f.group.dataset for f in regressions(new, old, 0.1, lower_is_better=()) if f.metric == "Builtin.Harmfulness"] == ["billing-questions"]
    # However large max_drop, a group that is no longer scored fails.
    assert [f.reason for f in regressions(new, old, 1.0)] == [failures[2].reason]
    with pytest.raises(ValueError, match="must not be negative"):
        regressions(new, old, -0.1)


def test_a_gate_names_the_source_when_the_job_has_several() -> None:
    # A human job compares up to two models (reference "The API": models, up to 2 for human).
    summary = summarize(
        read(HUMAN, jsonl(human_record({"individualLikertScale": [rating("Helpfulness", "0", 4), rating("Helpfulness", "1", 2)]}, as_list=False)))
    )
    [failure] = below_thresholds(summary, {"Helpfulness": 3})
    assert isinstance(failure, GateFailure)
    assert failure.reason == f"Helpfulness mean 2.000 is below the threshold 3.000 (1 scored, 0 not scored; source {BYO})"


# --- CloudFormation attributes ------------------------------------------------------------------


def test_attributes_give_each_metrics_mean_counts_and_minimum_and_the_groups_in_detail() -> None:
    summary = summarize(read(AUTOMATIC, automatic_file()))

    answer = attributes(summary, limit_bytes=4096)

    assert answer == {
        "Score.Builtin.Accuracy.Mean": "0.583333",
        "Score.Builtin.Robustness.Mean": "0.2",
        "Score.Builtin.Toxicity.Mean": "0.02",
        "Score.Builtin.Accuracy.Scored": "3",
        "Score.Builtin.Robustness.Scored": "3",
        "Score.Builtin.Toxicity.Scored": "3",
        "Score.Builtin.Accuracy.NotScored": "0",
        "Score.Builtin.Robustness.NotScored": "0",
        "Score.Builtin.Toxicity.NotScored": "0",
        "Score.Builtin.Accuracy.Min": "0.25",
        "Score.Builtin.Robustness.Min": "0.1",
        "Score.Builtin.Toxicity.Min": "0.01",
        "ScoreDetail": json.dumps(summary.to_json()["groups"], separators=(",", ":")),
        "ScoresOmitted": "",
    }
    assert list(answer)[:3] == ["Score.Builtin.Accuracy.Mean", "Score.Builtin.Robustness.Mean", "Score.Builtin.Toxicity.Mean"]


def test_attributes_that_do_not_fit_are_left_out_lowest_priority_first_and_named() -> None:
    summary = summarize(read(AUTOMATIC, automatic_file()))
    full = attributes(summary, limit_bytes=4096)
    scores_only = {k: v for k, v in full.items() if k not in ("ScoreDetail", "ScoresOmitted")}
    without_detail = scores_only | {"ScoresOmitted": "ScoreDetail"}
    without_minima = {k: v for k, v in scores_only.items() if not k.endswith(".Min")} | {"ScoresOmitted": "Min,ScoreDetail"}
    one_mean = {"Score.Builtin.Accuracy.Mean": "0.583333", "ScoresOmitted": "Mean:2 metrics,Scored,NotScored,Min,ScoreDetail"}
    nothing = {"ScoresOmitted": "Mean,Scored,NotScored,Min,ScoreDetail"}

    # Each limit exactly the size of what fits.
    for expected in (full, without_detail, without_minima, one_mean, nothing):
        assert attributes(summary, limit_bytes=size(expected)) == expected
    assert attributes(summary, limit_bytes=size(full) - 1) == without_detail
    assert attributes(summary, limit_bytes=size(nothing) - 1) == {}

    # At every limit: within it, and what is kept comes first in priority order.
    order = list(full)
    for limit in range(2, size(full) + 1):
        answer = attributes(summary, limit_bytes=limit)
        assert size(answer) <= limit
        kept = [k for k in answer if k != "ScoresOmitted"]
        assert kept == order[: len(kept)]
    with pytest.raises(ValueError, match="at least 2"):
        attributes(summary, limit_bytes=1)


def test_human_attributes_are_named_by_metric_and_rating_method_and_unscored_values_are_empty() -> None:
    text = jsonl(
        human_record(
            {
                "individualLikertScale": [rating("Helpfulness", "0", 4), rating("Helpfulness", "1", 3)],
                "thumbsUpDown": [rating("Politeness", "0", None), rating("Politeness", "1", None)],
            },
            as_list=True,
        )
    )

    answer = attributes(summarize(read(HUMAN, text)), limit_bytes=4096)

    assert {k: v for k, v in answer.items() if k.startswith("Score.")} == {
        "Score.Helpfulness.IndividualLikertScale.Mean": "3.5",
        "Score.Politeness.ThumbsUpDown.Mean": "",
        "Score.Helpfulness.IndividualLikertScale.Scored": "2",
        "Score.Politeness.ThumbsUpDown.Scored": "0",
        "Score.Helpfulness.IndividualLikertScale.NotScored": "0",
        "Score.Politeness.ThumbsUpDown.NotScored": "2",
        "Score.Helpfulness.IndividualLikertScale.Min": "3.0",
        "Score.Politeness.ThumbsUpDown.Min": "",
    }
