"""How emulated jobs end, and the result files a Completed job leaves in a local S3, read back raw by
a real boto3 client. Layouts and record shapes are those of ../shared/reference/bedrock-evaluation.md,
"Results in S3" (metric spellings: its "Metric names"); the tests check the raw objects, not a
summary of them.
"""

from __future__ import annotations

import copy
import json
import re
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import bedrock
import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from emulator import BedrockEmulator, Outcome, ScorePlan, fast_retries, result_objects
from handler_support import model_request, rag_request
from local_s3 import LocalS3, operation_of

OUT_BUCKET, OUT_PREFIX = "results-bucket", "results/job"  # handler_support's outputDataConfig.s3Uri
NOVA, CLAUDE = "amazon.nova-lite-v1:0", "anthropic.claude-3-5-haiku-20241022-v1:0"
JUDGE = "anthropic.claude-3-5-sonnet-20240620-v1:0"
NOVA_ARN = f"arn:aws:bedrock:us-east-1::foundation-model/{NOVA}"
OUTPUT_FILE = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}_output\.jsonl"
ONE_ATTEMPT = Config(retries={"mode": "standard", "max_attempts": 0})


# --- requests of each kind ----------------------------------------------------------------------------


def automatic(name: str = "eval-auto") -> dict[str, Any]:
    """Two models, scored algorithmically on two task types."""
    request = {**model_request(), "jobName": name}
    request["inferenceConfig"]["models"].append({"bedrockModel": {"modelIdentifier": CLAUDE}})
    request["evaluationConfig"]["automated"]["datasetMetricConfigs"].append(
        {"taskType": "Summarization", "dataset": {"name": "Builtin.Gigaword"}, "metricNames": ["Builtin.Accuracy", "Builtin.Toxicity"]}
    )
    return request


def judged(name: str = "eval-judge", *, custom: bool = False, byo: bool = False) -> dict[str, Any]:
    """An LLM-as-a-judge model evaluation on a custom dataset; with a custom metric; or of responses
    brought along in the dataset (bring-your-own)."""
    request = {**model_request(), "jobName": name}
    automated: dict[str, Any] = {
        "datasetMetricConfigs": [
            {
                "taskType": "General",
                "dataset": {"name": "support", "datasetLocation": {"s3Uri": "s3://prompts/support.jsonl"}},
                "metricNames": ["Builtin.Correctness", "Builtin.Refusal"],
            }
        ],
        "evaluatorModelConfig": {"bedrockEvaluatorModels": [{"modelIdentifier": JUDGE}]},
    }
    if custom:
        automated["datasetMetricConfigs"][0]["metricNames"].append("Concise")
        automated["customMetricConfig"] = {
            "customMetrics": [
                {
                    "customMetricDefinition": {
                        "name": "Concise",
                        "instructions": "Is {{prediction}} a concise answer to {{prompt}}?",
                        "ratingScale": [{"definition": "yes", "value": {"floatValue": 1.0}}, {"definition": "no", "value": {"floatValue": 0.0}}],
                    }
                }
            ],
            "evaluatorModelConfig": {"bedrockEvaluatorModels": [{"modelIdentifier": CLAUDE}]},
        }
    request["evaluationConfig"] = {"automated": automated}
    if byo:
        request["inferenceConfig"] = {"models": [{"precomputedInferenceSource": {"inferenceSourceIdentifier": "support-bot-v2"}}]}
    return request


def knowledge_base(name: str = "eval-rag", *, retrieve_only: bool = False) -> dict[str, Any]:
    """handler_support's retrieve-and-generate job (a built-in and a custom metric), typed as boto3
    takes it; or a retrieve-only job scored for context."""
    request = {**rag_request(), "jobName": name}
    automated = request["evaluationConfig"]["automated"]
    automated["customMetricConfig"]["customMetrics"][0]["customMetricDefinition"]["ratingScale"] = [
        {"definition": "yes", "value": {"floatValue": 1.0}},
        {"definition": "no", "value": {"floatValue": 0.0}},
    ]
    config = request["inferenceConfig"]["ragConfigs"][0]["knowledgeBaseConfig"]["retrieveAndGenerateConfig"]["knowledgeBaseConfiguration"]
    config["retrievalConfiguration"]["vectorSearchConfiguration"]["numberOfResults"] = 5
    config["generationConfiguration"]["kbInferenceConfig"]["textInferenceConfig"] = {"temperature": 0.2, "maxTokens": 512}
    if retrieve_only:
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
    """Human workers compare a Bedrock model with responses brought along in the dataset."""
    return {
        **model_request(),
        "jobName": name,
        "evaluationConfig": {
            "human": {
                "humanWorkflowConfig": {
                    "flowDefinitionArn": "arn:aws:sagemaker:us-east-1:123456789012:flow-definition/review",
                    "instructions": "Rate each answer.",
                },
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
                {"bedrockModel": {"modelIdentifier": NOVA}},
                {"precomputedInferenceSource": {"inferenceSourceIdentifier": "support-bot-v2"}},
            ]
        },
    }


# --- running jobs to their end ------------------------------------------------------------------------


def bedrock_client(emulator: BedrockEmulator) -> Any:
    """The handler's client configuration, pointed at the emulator."""
    return boto3.client(
        "bedrock",
        region_name="us-east-1",
        endpoint_url=emulator.url,
        config=bedrock.CLIENT_CONFIG,
        aws_access_key_id="x",
        aws_secret_access_key="x",
    )


@pytest.fixture
def bedrock_with_results(local_s3: LocalS3) -> Iterator[BedrockEmulator]:
    """An emulator whose jobs complete on their first GetEvaluationJob and write results to local_s3."""
    with BedrockEmulator(complete_after_gets=1, results=local_s3) as running:
        yield running
        assert running.crashes == [], running.crashes[0]


def run(emulator: BedrockEmulator, request: dict[str, Any], scores: ScorePlan | None = None) -> tuple[str, dict[str, Any]]:
    """Create the job over HTTP, plan its scores, and let it end: (its 12-character id, what Get said)."""
    client = bedrock_client(emulator)
    job_arn = client.create_evaluation_job(**request)["jobArn"]
    if scores is not None:
        emulator.plan(job_arn, scores=scores)
    described = client.get_evaluation_job(jobIdentifier=job_arn)
    return job_arn.rsplit("/", 1)[-1], described


def read_jsonl(s3: Any, key: str) -> list[dict[str, Any]]:
    body = s3.get_object(Bucket=OUT_BUCKET, Key=key)["Body"].read().decode()
    return [json.loads(line) for line in body.splitlines()]


def outputs(keys: list[str]) -> list[str]:
    return [k for k in keys if k.endswith("_output.jsonl")]


def folder(key: str) -> str:
    """A result file's key without its file name (a UUID nobody should rebuild)."""
    folder, name = key.rsplit("/", 1)
    assert re.fullmatch(OUTPUT_FILE, name), name
    return folder


# --- LocalS3 --------------------------------------------------------------------------------------------


def test_local_s3_is_a_real_s3_endpoint_with_buckets_made_on_demand(local_s3) -> None:
    local_s3.put_object(Bucket="made-on-demand", Key="a/b c/é.jsonl", Body=b'{"x": 1}\n')
    s3 = local_s3.client()

    listed = s3.list_objects_v2(Bucket="made-on-demand")["Contents"]
    body = s3.get_object(Bucket="made-on-demand", Key="a/b c/é.jsonl")["Body"].read()

    assert local_s3.url.startswith("http://127.0.0.1:")
    assert [item["Key"] for item in listed] == ["a/b c/é.jsonl"]
    assert body == b'{"x": 1}\n'
    assert local_s3.calls["ListObjectsV2"] == local_s3.calls["GetObject"] == 1


def test_reset_empties_local_s3_and_forgets_planned_faults(local_s3) -> None:
    local_s3.put_object(Bucket="scratch", Key="k", Body=b"")
    local_s3.throttle("GetObject")

    local_s3.reset()

    assert local_s3.received == []
    assert local_s3.faults.pending("GetObject") == 0
    assert local_s3.client().list_buckets()["Buckets"] == []


@pytest.mark.parametrize(
    ("method", "path", "query", "operation"),
    [
        ("GET", "/b", "list-type=2&prefix=x", "ListObjectsV2"),
        ("GET", "/b", "", "ListObjects"),
        ("GET", "/b/k/x.jsonl", "", "GetObject"),
        ("GET", "/b/k", "tagging", "Other"),
        ("HEAD", "/b/k", "", "HeadObject"),
        ("PUT", "/b/k", "", "PutObject"),
        ("PUT", "/b", "", "CreateBucket"),
        ("GET", "/", "", "ListBuckets"),
    ],
)
def test_requests_are_recognised_by_their_path_style_operation(method, path, query, operation) -> None:
    assert operation_of(method, path, query)[0] == operation


def test_throttling_travels_as_s3s_slow_down_error_xml_with_503(local_s3) -> None:
    local_s3.put_object(Bucket="reads", Key="k", Body=b"x")
    local_s3.throttle("GetObject")

    with pytest.raises(urllib.error.HTTPError) as raw:
        urllib.request.urlopen(f"{local_s3.url}/reads/k")
    body = raw.value.read().decode()

    assert raw.value.code == 503
    assert re.search(r"<Error><Code>SlowDown</Code><Message>Please reduce your request rate\.</Message>", body)
    assert raw.value.headers["Content-Type"] == "application/xml"
    assert local_s3.calls["GetObject"] == 0  # moto never saw it


def test_an_unmodified_client_retries_slow_down_with_botocores_throttling_backoff(local_s3) -> None:
    local_s3.put_object(Bucket="reads", Key="k", Body=b"x")
    local_s3.throttle("ListObjectsV2", times=2)
    local_s3.throttle("GetObject")
    with fast_retries(jitter=0.5) as delays:
        s3 = local_s3.client()

        listed = s3.list_objects_v2(Bucket="reads")
        read = s3.get_object(Bucket="reads", Key="k")

    assert [item["Key"] for item in listed["Contents"]] == ["k"]
    assert (listed["ResponseMetadata"]["RetryAttempts"], read["ResponseMetadata"]["RetryAttempts"]) == (2, 1)
    assert delays == [0.5, 1.0, 0.5]  # throttling: base 1 s, doubling, jitter fixed at 0.5
    assert local_s3.injected == {"throttling": 3}


def test_slow_down_past_the_clients_attempts_reaches_the_caller(local_s3) -> None:
    local_s3.put_object(Bucket="reads", Key="k", Body=b"x")
    local_s3.throttle("GetObject")
    s3 = local_s3.client(ONE_ATTEMPT)

    with pytest.raises(ClientError) as raised:
        s3.get_object(Bucket="reads", Key="k")

    error = raised.value.response
    assert (error["Error"]["Code"], error["ResponseMetadata"]["HTTPStatusCode"]) == ("SlowDown", 503)


def test_a_server_error_is_retried_with_the_shorter_backoff(local_s3) -> None:
    local_s3.put_object(Bucket="reads", Key="k", Body=b"x")
    local_s3.server_error("ListObjectsV2")
    with fast_retries(jitter=0.5) as delays:
        listed = local_s3.client().list_objects_v2(Bucket="reads")

    assert listed["ResponseMetadata"]["RetryAttempts"] == 1
    assert delays == [0.025]  # non-throttling base 50 ms


def test_a_hidden_object_is_listed_but_reading_it_finds_no_such_key(local_s3) -> None:
    local_s3.put_object(Bucket="reads", Key="gone.jsonl", Body=b"x")
    local_s3.hide("reads", "gone.jsonl", times=2)
    s3 = local_s3.client()

    listed = [item["Key"] for item in s3.list_objects_v2(Bucket="reads")["Contents"]]
    with pytest.raises(s3.exceptions.NoSuchKey) as raised:
        s3.get_object(Bucket="reads", Key="gone.jsonl")
    with pytest.raises(ClientError) as head:
        s3.head_object(Bucket="reads", Key="gone.jsonl")
    again = s3.get_object(Bucket="reads", Key="gone.jsonl")["Body"].read()

    assert listed == ["gone.jsonl"]
    assert raised.value.response["Error"]["Key"] == "gone.jsonl"
    assert raised.value.response["ResponseMetadata"]["RetryAttempts"] == 0  # not an error to retry
    assert head.value.response["Error"]["Code"] == "404"  # a HEAD answer has no body to name the code
    assert again == b"x"


# --- how jobs end ----------------------------------------------------------------------------------------


def test_a_failed_job_says_why_through_get_evaluation_job_and_writes_no_results(local_s3) -> None:
    outcome = Outcome.failed("The dataset is empty.", "No record could be evaluated.")
    with BedrockEmulator(complete_after_gets=2, outcome=outcome, results=local_s3) as emulator:
        client = bedrock_client(emulator)
        job_arn = client.create_evaluation_job(**automatic())["jobArn"]

        first = client.get_evaluation_job(jobIdentifier=job_arn)
        ended = client.get_evaluation_job(jobIdentifier=job_arn)

    assert "failureMessages" not in first and first["status"] == "InProgress"
    assert ended["status"] == "Failed"
    assert ended["failureMessages"] == ["The dataset is empty.", "No record could be evaluated."]
    assert local_s3.keys(OUT_BUCKET) == [f"{OUT_PREFIX}/eval-auto/amazon-bedrock-evaluations-permission-check"]


def test_a_job_planned_to_stop_is_stopped_as_if_from_outside(local_s3) -> None:
    with BedrockEmulator(complete_after_gets=1, outcome=Outcome.stopped(), results=local_s3) as emulator:
        client = bedrock_client(emulator)
        job_arn = client.create_evaluation_job(**automatic())["jobArn"]

        ended = client.get_evaluation_job(jobIdentifier=job_arn)

    assert ended["status"] == "Stopped" and "failureMessages" not in ended
    assert emulator.history(job_arn) == ["InProgress", "Stopping", "Stopped"]
    assert outputs(local_s3.keys(OUT_BUCKET)) == []


def test_outcomes_are_chosen_per_job_and_jobs_end_after_their_running_time() -> None:
    now = [datetime(2025, 1, 1, tzinfo=UTC)]

    def outcome(job: Any) -> Outcome:
        return Outcome.failed("The model is not available.") if job.name.startswith("broken") else Outcome.completed()

    with BedrockEmulator(run_seconds=300, now=lambda: now[0], outcome=outcome) as emulator:
        client = bedrock_client(emulator)
        fine, broken, stopped = (client.create_evaluation_job(**automatic(n))["jobArn"] for n in ("fine", "broken", "later"))
        emulator.plan(stopped, outcome=Outcome.stopped())
        before = [client.get_evaluation_job(jobIdentifier=arn)["status"] for arn in (fine, broken, stopped)]
        now[0] += timedelta(seconds=300)

        after = [client.get_evaluation_job(jobIdentifier=arn) for arn in (fine, broken, stopped)]

    assert before == ["InProgress"] * 3
    assert [d["status"] for d in after] == ["Completed", "Failed", "Stopped"]
    assert after[1]["failureMessages"] == ["The model is not available."]


def test_finish_ends_a_job_as_planned_unless_told_otherwise() -> None:
    with BedrockEmulator(outcome=Outcome.failed("Quota exhausted.")) as emulator:
        client = bedrock_client(emulator)
        planned, told = (client.create_evaluation_job(**automatic(n))["jobArn"] for n in ("planned", "told"))

        emulator.finish(planned)
        emulator.finish(told, "Completed")

    assert [emulator.status(arn) for arn in (planned, told)] == ["Failed", "Completed"]
    assert emulator.service.job(planned).failure_messages == ["Quota exhausted."]


def test_outcomes_are_completed_failed_or_stopped() -> None:
    with pytest.raises(ValueError, match="not Deleting"):
        Outcome("Deleting")
    with pytest.raises(ValueError, match="only a Failed job"):
        Outcome("Completed", ("why",))


# --- result files: when, and where ------------------------------------------------------------------


def test_results_appear_when_the_job_is_completed_and_not_before(local_s3) -> None:
    with BedrockEmulator(complete_after_gets=2, results=local_s3) as emulator:
        client = bedrock_client(emulator)
        job_arn = client.create_evaluation_job(**model_request(), jobName="eval-one")["jobArn"]
        probe_only = local_s3.keys(OUT_BUCKET)

        statuses = [client.get_evaluation_job(jobIdentifier=job_arn)["status"] for _ in range(2)]

    # reference, "Results in S3": the empty permission-check object is the service's write probe
    assert probe_only == [f"{OUT_PREFIX}/eval-one/amazon-bedrock-evaluations-permission-check"]
    assert local_s3.client().get_object(Bucket=OUT_BUCKET, Key=probe_only[0])["ContentLength"] == 0
    assert statuses == ["InProgress", "Completed"]
    assert len(outputs(local_s3.keys(OUT_BUCKET))) == 1
    assert emulator.service.job(job_arn).results == [f"s3://{OUT_BUCKET}/{k}" for k in local_s3.keys(OUT_BUCKET)]


def test_an_automatic_job_writes_a_file_per_model_and_dataset_with_bare_metric_names(bedrock_with_results, local_s3) -> None:
    # Scores per metric (either spelling), per model when the test wants them to differ.
    plan = ScorePlan(
        records=2,
        records_per_dataset={"Builtin.Gigaword": 3},
        scores={"Accuracy": [0.25, 0.5], "Builtin.Toxicity": [0.0]},
        per_source={CLAUDE: {"Builtin.Accuracy": [0.75]}},
        default=0.125,
    )
    job_id, described = run(bedrock_with_results, automatic(), plan)
    s3 = local_s3.client()

    keys = local_s3.keys(OUT_BUCKET)

    root = f"{OUT_PREFIX}/eval-auto/{job_id}"
    assert described["status"] == "Completed"
    assert len(job_id) == 12
    assert sorted(folder(k) for k in outputs(keys)) == sorted(
        f"{root}/models/{model}/taskTypes/{task}/datasets/{dataset}"
        for model in (NOVA, CLAUDE)
        for task, dataset in (("QuestionAndAnswer", "Builtin.BoolQ"), ("Summarization", "Builtin.Gigaword"))
    )
    assert f"{OUT_PREFIX}/eval-auto/amazon-bedrock-evaluations-permission-check" in keys
    by_folder = {folder(k): read_jsonl(s3, k) for k in outputs(keys)}
    boolq = by_folder[f"{root}/models/{NOVA}/taskTypes/QuestionAndAnswer/datasets/Builtin.BoolQ"]
    gigaword = by_folder[f"{root}/models/{NOVA}/taskTypes/Summarization/datasets/Builtin.Gigaword"]
    claude = by_folder[f"{root}/models/{CLAUDE}/taskTypes/QuestionAndAnswer/datasets/Builtin.BoolQ"]
    # reference, "Results in S3": automatic records name metrics without "Builtin."
    assert [r["automatedEvaluationResult"] for r in boolq] == [
        {"scores": [{"metricName": "Accuracy", "result": 0.25}]},
        {"scores": [{"metricName": "Accuracy", "result": 0.5}]},
    ]
    assert [[(s["metricName"], s["result"]) for s in r["automatedEvaluationResult"]["scores"]] for r in gigaword] == [
        [("Accuracy", 0.25), ("Toxicity", 0.0)],
        [("Accuracy", 0.5), ("Toxicity", 0.125)],
        [("Accuracy", 0.125), ("Toxicity", 0.125)],
    ]
    assert [r["automatedEvaluationResult"]["scores"][0]["result"] for r in claude] == [0.75, 0.125]
    record = boolq[1]
    assert set(record) == {"automatedEvaluationResult", "inputRecord", "modelResponses"}
    assert set(record["inputRecord"]) == {"prompt", "referenceResponse"} and "2" in record["inputRecord"]["prompt"]
    assert [m["modelIdentifier"] for m in record["modelResponses"]] == [NOVA_ARN]


def test_a_judge_job_writes_builtin_names_with_the_judges_explanations_and_null_for_n_a(bedrock_with_results, local_s3) -> None:
    plan = ScorePlan(records=2, scores={"Correctness": [1.0, 0.5], "Builtin.Refusal": [None, 0.0]})
    job_id, _ = run(bedrock_with_results, judged(), plan)
    s3 = local_s3.client()

    (key,) = outputs(local_s3.keys(OUT_BUCKET))
    records = read_jsonl(s3, key)

    assert folder(key) == f"{OUT_PREFIX}/eval-judge/{job_id}/models/{NOVA}/taskTypes/General/datasets/support"
    scores = [r["automatedEvaluationResult"]["scores"] for r in records]
    assert [[(s["metricName"], s["result"]) for s in row] for row in scores] == [
        [("Builtin.Correctness", 1.0), ("Builtin.Refusal", None)],
        [("Builtin.Correctness", 0.5), ("Builtin.Refusal", 0.0)],
    ]
    details = scores[0][1]["evaluatorDetails"]
    assert [d["modelIdentifier"] for d in details] == [JUDGE]
    assert "Record 1" in details[0]["explanation"]


def test_a_custom_metric_is_scored_by_its_name_and_its_definition_is_written(bedrock_with_results, local_s3) -> None:
    job_id, _ = run(bedrock_with_results, judged(custom=True), ScorePlan(records=1, scores={"Concise": [0.0]}))
    s3 = local_s3.client()

    keys = local_s3.keys(OUT_BUCKET)
    (record,) = read_jsonl(s3, outputs(keys)[0])

    concise = record["automatedEvaluationResult"]["scores"][2]
    assert (concise["metricName"], concise["result"]) == ("Concise", 0.0)
    assert concise["evaluatorDetails"][0]["modelIdentifier"] == CLAUDE  # the custom metrics' own evaluator
    definition_key = f"{OUT_PREFIX}/eval-judge/{job_id}/custom_metrics/Concise.json"
    assert definition_key in keys
    definition = json.loads(s3.get_object(Bucket=OUT_BUCKET, Key=definition_key)["Body"].read())
    assert definition["customMetricDefinition"]["name"] == "Concise"


def test_bring_your_own_results_are_filed_under_the_inference_source_identifier(bedrock_with_results, local_s3) -> None:
    plan = ScorePlan(records=1, per_source={"support-bot-v2": {"Correctness": [0.0]}})
    job_id, _ = run(bedrock_with_results, judged(byo=True), plan)

    (key,) = outputs(local_s3.keys(OUT_BUCKET))
    (record,) = read_jsonl(local_s3.client(), key)

    assert folder(key) == f"{OUT_PREFIX}/eval-judge/{job_id}/models/support-bot-v2/taskTypes/General/datasets/support"
    assert record["modelResponses"][0]["modelIdentifier"] == "support-bot-v2"
    assert record["automatedEvaluationResult"]["scores"][0]["result"] == 0.0


def test_a_retrieve_only_job_scores_each_turn_under_inference_configs(bedrock_with_results, local_s3) -> None:
    plan = ScorePlan(records=2, scores={"ContextRelevance": [0.5, None]})
    job_id, _ = run(bedrock_with_results, knowledge_base(retrieve_only=True), plan)

    (key,) = outputs(local_s3.keys(OUT_BUCKET))
    records = read_jsonl(local_s3.client(), key)

    # reference, "Results in S3": knowledge-base jobs, no automatedEvaluationResult, scores per turn
    assert folder(key) == f"{OUT_PREFIX}/eval-rag/{job_id}/inference_configs/0/datasets/qa"
    assert all(set(r) == {"conversationTurns"} and len(r["conversationTurns"]) == 1 for r in records)
    turn = records[1]["conversationTurns"][0]
    assert set(turn) == {"inputRecord", "output", "results"}
    assert turn["inputRecord"]["prompt"]["content"][0]["text"].startswith("Question 2.1")
    assert "text" in turn["inputRecord"]["referenceResponses"][0]["content"][0]
    assert turn["output"]["knowledgeBaseIdentifier"] == "KBID123456"
    assert turn["output"]["retrievedResults"]["retrievalResults"][0]["content"]["text"]
    assert "text" not in turn["output"]  # nothing generated
    assert [(r["metricName"], r["result"]) for r in turn["results"]] == [("Builtin.ContextRelevance", None), ("Builtin.ContextCoverage", 1.0)]
    assert turn["results"][0]["evaluatorDetails"][0]["modelIdentifier"] == CLAUDE


def test_a_retrieve_and_generate_job_scores_every_turn_of_every_conversation(bedrock_with_results, local_s3) -> None:
    plan = ScorePlan(records=2, turns=2, scores={"Builtin.Correctness": [1.0, 0.75, 0.5], "Grounded": [0.0]})
    job_id, _ = run(bedrock_with_results, knowledge_base(), plan)

    keys = local_s3.keys(OUT_BUCKET)
    records = read_jsonl(local_s3.client(), outputs(keys)[0])

    turns = [turn for r in records for turn in r["conversationTurns"]]
    assert [len(r["conversationTurns"]) for r in records] == [2, 2]
    assert [[(s["metricName"], s["result"]) for s in t["results"]] for t in turns] == [
        [("Builtin.Correctness", 1.0), ("Grounded", 0.0)],
        [("Builtin.Correctness", 0.75), ("Grounded", 1.0)],
        [("Builtin.Correctness", 0.5), ("Grounded", 1.0)],
        [("Builtin.Correctness", 1.0), ("Grounded", 1.0)],
    ]
    output = turns[0]["output"]
    assert set(output) == {"text", "modelIdentifier", "knowledgeBaseIdentifier", "retrievedPassages", "citations"}
    assert output["retrievedPassages"]["retrievalResults"][0]["location"]["type"] == "S3"
    assert output["citations"][0]["generatedResponsePart"]["textResponsePart"]["text"] == output["text"]
    assert f"{OUT_PREFIX}/eval-rag/{job_id}/custom_metrics/Grounded.json" in keys


def test_a_human_job_writes_each_workers_answers_per_model_response(bedrock_with_results, local_s3) -> None:
    plan = ScorePlan(records=2, scores={"Helpful": [1, 0], "Clarity": [4, 2]}, per_source={"support-bot-v2": {"Clarity": [5]}})
    job_id, _ = run(bedrock_with_results, human(), plan)
    s3 = local_s3.client()

    keys = local_s3.keys(OUT_BUCKET)
    (key,) = outputs(keys)
    records = read_jsonl(s3, key)

    root = f"{OUT_PREFIX}/eval-human/{job_id}/datasets/chats"
    assert folder(key) == root
    assert [k for k in keys if "/records/" in k] == [f"{root}/records/{n}/human-loop-additional-data.json" for n in (0, 1)]
    record = records[0]
    assert set(record) == {"humanEvaluationResult", "inputRecord", "modelResponses"}
    result = record["humanEvaluationResult"]
    assert result["flowDefinitionArn"] == "arn:aws:sagemaker:us-east-1:123456789012:flow-definition/review"
    assert re.fullmatch(r"[0-9a-f]{40}", result["humanLoopName"])
    assert result["modelResponseIdMap"] == {"0": NOVA_ARN, "1": "support-bot-v2"}
    assert result["inputContent"]["additionalDataS3Uri"] == f"s3://{OUT_BUCKET}/{root}/records/0/human-loop-additional-data.json"
    (answer,) = result["humanAnswers"]
    assert {"workerId", "timeSpentInSeconds", "acceptanceTime", "submissionTime"} <= set(answer)
    assert answer["answerContent"]["evaluationResults"] == {
        "thumbsUpDown": [
            {"metricName": "Helpful", "modelResponseId": "0", "result": True},
            {"metricName": "Helpful", "modelResponseId": "1", "result": True},
        ],
        "individualLikertScale": [
            {"metricName": "Clarity", "modelResponseId": "0", "result": 4},
            {"metricName": "Clarity", "modelResponseId": "1", "result": 5},
        ],
    }
    assert records[1]["humanEvaluationResult"]["humanAnswers"][0]["answerContent"]["evaluationResults"]["thumbsUpDown"][0]["result"] is False
    assert [m["modelIdentifier"] for m in record["modelResponses"]] == [NOVA_ARN, "support-bot-v2"]


def test_results_are_the_same_for_the_same_job_and_plan() -> None:
    job = {"job_arn": "arn:aws:bedrock:us-east-1:123456789012:evaluation-job/abcdef012345", "job_name": "eval-one"}
    created = datetime(2025, 1, 1, tzinfo=UTC)

    first = result_objects(**job, request=human(), plan=ScorePlan(), created=created)
    again = result_objects(**job, request=copy.deepcopy(human()), plan=ScorePlan(), created=created)

    assert first == again


def test_a_score_plan_reads_either_spelling_per_source_first_then_its_default() -> None:
    plan = ScorePlan(scores={"Accuracy": [0.5], "Builtin.Refusal": [None]}, per_source={"m": {"Builtin.Accuracy": [0.25]}}, default=0.0)

    assert plan.score("Builtin.Accuracy", 0) == plan.score("Accuracy", 0) == 0.5
    assert plan.score("Refusal", 0) is None
    assert plan.score("Accuracy", 0, ["other", "m"]) == 0.25
    assert plan.score("Accuracy", 1) == plan.score("Custom", 0) == 0.0


def test_results_are_read_back_through_throttling_and_a_vanished_file_is_no_such_key(bedrock_with_results, local_s3) -> None:
    run(bedrock_with_results, automatic())
    local_s3.throttle("ListObjectsV2", times=2)
    local_s3.throttle("GetObject", times=2)
    with fast_retries(jitter=0.5):
        s3 = local_s3.client()
        keys = outputs([item["Key"] for item in s3.list_objects_v2(Bucket=OUT_BUCKET, Prefix=OUT_PREFIX)["Contents"]])
        local_s3.hide(OUT_BUCKET, keys[-1])

        read = [read_jsonl(s3, key) for key in keys[:-1]]
        with pytest.raises(s3.exceptions.NoSuchKey):
            read_jsonl(s3, keys[-1])

    assert len(keys) == 4 and all(len(records) == 3 for records in read)
    assert local_s3.injected == {"throttling": 4, "hidden object": 1}
