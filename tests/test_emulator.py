"""The Bedrock emulator itself: every behaviour the lifecycle tests rely on, checked directly
through a real boto3 client, so that a lifecycle test passing means the handler works, not that
the emulator is lenient.
"""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import bedrock
import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError, ConnectionClosedError, ParamValidationError, ReadTimeoutError
from botocore.stub import Stubber
from emulator import (
    ARN_PREFIX,
    GONE,
    OPERATIONS,
    BedrockEmulator,
    fast_retries,
    http_status_of,
    total_attempts,
)
from emulator.server import route_for
from emulator.service import SERVICE_MODEL
from handler_support import ROLE_ARN, model_request

ONE_ATTEMPT = Config(retries={"mode": "standard", "max_attempts": 0})


@pytest.fixture
def emulator() -> Iterator[BedrockEmulator]:
    with BedrockEmulator() as running:
        yield running
        assert running.crashes == [], running.crashes[0]


@pytest.fixture
def botocore_delays() -> Iterator[list[float]]:
    with fast_retries(jitter=0.5) as delays:
        yield delays


def client_for(emulator: BedrockEmulator, config: Config | None = None) -> Any:
    """The handler's client configuration, pointed at the emulator."""
    return boto3.client(
        "bedrock",
        region_name="us-east-1",
        endpoint_url=emulator.url,
        config=bedrock.CLIENT_CONFIG.merge(config) if config else bedrock.CLIENT_CONFIG,
        aws_access_key_id="x",
        aws_secret_access_key="x",
    )


@pytest.fixture
def client(emulator: BedrockEmulator, botocore_delays: list[float]) -> Any:
    return client_for(emulator)


@pytest.fixture
def one_shot(emulator: BedrockEmulator) -> Any:
    """A client that never retries: each call is exactly one request."""
    return client_for(emulator, ONE_ATTEMPT)


def request(name: str = "eval-one", **changes: Any) -> dict[str, Any]:
    return {**model_request(), "jobName": name, **changes}


def create(client: Any, name: str = "eval-one", token: str | None = None, **changes: Any) -> str:
    extra = {"clientRequestToken": token} if token else {}
    return str(client.create_evaluation_job(**request(name, **changes), **extra)["jobArn"])


def error_of(raised: pytest.ExceptionInfo[ClientError]) -> tuple[str, int, str]:
    response = raised.value.response
    return response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"], response["Error"]["Message"]


# --- the protocol ----------------------------------------------------------------------------------


def test_each_operation_answers_a_real_client_with_the_status_code_of_the_model(emulator, client) -> None:
    job_arn = create(client)
    answers = {
        "CreateEvaluationJob": client.create_evaluation_job(**request("eval-two")),
        "GetEvaluationJob": client.get_evaluation_job(jobIdentifier=job_arn),
        "ListEvaluationJobs": client.list_evaluation_jobs(),
        "StopEvaluationJob": client.stop_evaluation_job(jobIdentifier=job_arn),
        "TagResource": client.tag_resource(resourceARN=job_arn, tags=[{"key": "team", "value": "search"}]),
        "UntagResource": client.untag_resource(resourceARN=job_arn, tagKeys=["team"]),
        "ListTagsForResource": client.list_tags_for_resource(resourceARN=job_arn),
        "BatchDeleteEvaluationJob": client.batch_delete_evaluation_job(jobIdentifiers=[job_arn]),
    }

    for operation, answer in answers.items():
        expected = SERVICE_MODEL.operation_model(operation).http.get("responseCode", 200)
        assert answer["ResponseMetadata"]["HTTPStatusCode"] == expected, operation
    assert set(answers) == set(OPERATIONS)
    assert emulator.service.calls == dict.fromkeys(OPERATIONS, 1) | {"CreateEvaluationJob": 2}


def test_a_job_identifier_arrives_percent_encoded_and_is_decoded() -> None:
    job_arn = f"{ARN_PREFIX}abcdef012345"
    path = "/evaluation-jobs/arn%3Aaws%3Abedrock%3Aus-east-1%3A123456789012%3Aevaluation-job%2Fabcdef012345"

    found = route_for("GET", path)

    assert found is not None
    route, labels = found
    assert (route.operation, labels) == ("GetEvaluationJob", {"jobIdentifier": job_arn})
    assert route_for("POST", path + "/stop") is None  # stop lives under /evaluation-job/ (singular)
    assert route_for("POST", path.replace("jobs", "job") + "/stop")[0].operation == "StopEvaluationJob"


def test_a_path_that_is_no_operation_is_answered_404(emulator) -> None:
    with pytest.raises(urllib.request.HTTPError) as raised:
        urllib.request.urlopen(f"{emulator.url}/evaluation-jobs/x/y/z")

    assert raised.value.code == 404


@pytest.mark.parametrize(
    "code",
    sorted({e.name for op in OPERATIONS for e in SERVICE_MODEL.operation_model(op).error_shapes}),
)
def test_errors_reach_botocore_with_the_code_message_and_status_of_the_model(emulator, one_shot, code) -> None:
    emulator.fail("GetEvaluationJob", code, f"this is a {code}")

    with pytest.raises(getattr(one_shot.exceptions, code)) as raised:
        one_shot.get_evaluation_job(jobIdentifier=f"{ARN_PREFIX}abcdef012345")

    assert error_of(raised) == (code, SERVICE_MODEL.shape_for(code).metadata["error"]["httpStatusCode"], f"this is a {code}")


def test_a_503_is_a_service_unavailable_error(emulator, one_shot) -> None:
    emulator.server_error("ListEvaluationJobs", status=503)

    with pytest.raises(ClientError) as raised:
        one_shot.list_evaluation_jobs()

    assert error_of(raised)[:2] == ("ServiceUnavailableException", 503)
    assert http_status_of("ServiceUnavailableException") == 503


# --- validation ------------------------------------------------------------------------------------


INVALID_REQUESTS = {
    "missing roleArn": {k: v for k, v in request().items() if k != "roleArn"},
    "unknown member": request(evaluationContext="RAG"),
    "list where an object belongs": request(evaluationConfig=[{"automated": {}}]),
    "number where a list belongs": request(jobTags=3),
    "both halves of a union": request(
        inferenceConfig={**model_request()["inferenceConfig"], "ragConfigs": [{"precomputedRagSourceConfig": {}}]}
    ),
    "empty jobName": request(name=""),
}


def post(emulator: BedrockEmulator, path: str, body: Any) -> tuple[int, str, dict[str, Any]]:
    """A request on the wire, without botocore: status, x-amzn-ErrorType and JSON body of the answer."""
    sent = urllib.request.Request(
        emulator.url + path, data=json.dumps(body).encode(), method="POST", headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(sent) as answer:
            return answer.status, "", json.loads(answer.read())
    except urllib.error.HTTPError as error:
        return error.code, error.headers.get("x-amzn-ErrorType", ""), json.loads(error.read())


@pytest.mark.parametrize("bad", INVALID_REQUESTS.values(), ids=INVALID_REQUESTS.keys())
def test_a_create_the_stubber_would_reject_is_rejected(emulator, bad) -> None:
    # given botocore's Stubber (the client-side validation) rejects the request
    stubbed = client_for(emulator)
    with Stubber(stubbed) as stubber:
        stubber.add_response("create_evaluation_job", {"jobArn": f"{ARN_PREFIX}abcdef012345"})
        with pytest.raises(ParamValidationError):
            stubbed.create_evaluation_job(**bad)

    # when it reaches the emulator all the same (as JSON on the wire: botocore could not even send some)
    status, error_type, answer = post(emulator, "/evaluation-jobs", bad | {"clientRequestToken": "token-1"})

    # then the emulator refuses it too, and makes nothing
    assert (status, error_type.split(":")[0]) == (400, "ValidationException")
    assert "validation error" in answer["message"]
    assert emulator.created == []


def test_a_valid_create_on_the_wire_is_accepted_with_202(emulator) -> None:
    status, _, answer = post(emulator, "/evaluation-jobs", request() | {"clientRequestToken": "token-1"})

    assert status == 202 and answer["jobArn"].startswith(ARN_PREFIX)


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({"jobName": "my_rag_eval"}, "params.jobName is 'my_rag_eval', which does not match the pattern"),
        ({"roleArn": "arn:aws:iam::123456789012:user/eval"}, "params.roleArn is"),
        ({"jobDescription": "x" * 201}, "params.jobDescription is 201 characters long; at most 200"),
    ],
    ids=["underscore in jobName", "user ARN as roleArn", "description too long"],
)
def test_a_create_is_also_checked_for_what_botocore_leaves_to_the_service(emulator, one_shot, changes, words) -> None:
    with pytest.raises(one_shot.exceptions.ValidationException) as raised:
        one_shot.create_evaluation_job(**request(**changes))

    assert words in error_of(raised)[2]
    assert emulator.created == []


def test_get_of_something_that_is_not_a_job_arn_is_a_validation_error(one_shot) -> None:
    with pytest.raises(one_shot.exceptions.ValidationException):
        one_shot.get_evaluation_job(jobIdentifier="arn:aws:bedrock:us-east-1:123456789012:model/abc")


# --- jobs and names ---------------------------------------------------------------------------------


def test_a_created_job_has_a_twelve_character_id_in_an_arn_the_handler_recognises(emulator, client) -> None:
    job_arn = create(client)

    assert re.fullmatch(r"arn:aws:bedrock:us-east-1:123456789012:evaluation-job/[a-z0-9]{12}", job_arn)
    assert bedrock.JOB_ARN.fullmatch(job_arn)
    described = client.get_evaluation_job(jobIdentifier=job_arn)
    assert described["status"] == "InProgress"
    assert {k: described[k] for k in ("jobName", "roleArn", "evaluationConfig", "inferenceConfig")} == {
        "jobName": "eval-one",
        "roleArn": ROLE_ARN,
        "evaluationConfig": model_request()["evaluationConfig"],
        "inferenceConfig": model_request()["inferenceConfig"],
    }


def test_the_same_token_with_the_same_request_gives_back_the_same_job(emulator, client) -> None:
    first = create(client, token="token-1")

    again = create(client, token="token-1")

    assert again == first
    assert len(emulator.created) == 1
    assert emulator.service.token_replays == 1


def test_the_same_token_with_another_request_is_ignored_and_answered_with_the_first_job(emulator, client) -> None:
    first = create(client, token="token-1")

    again = create(client, "eval-two", token="token-1")

    assert again == first
    assert [job.name for job in emulator.created] == ["eval-one"]


def test_a_new_token_for_a_taken_name_is_a_conflict(emulator, one_shot) -> None:
    create(one_shot, token="token-1")

    with pytest.raises(one_shot.exceptions.ConflictException) as raised:
        create(one_shot, token="token-2")

    assert error_of(raised) == ("ConflictException", 400, "An evaluation job named eval-one already exists.")
    assert len(emulator.created) == 1


def test_a_name_is_taken_while_its_job_exists_whatever_its_status(emulator, one_shot) -> None:
    job_arn = create(one_shot, token="token-1")
    emulator.stop_outside(job_arn)

    with pytest.raises(one_shot.exceptions.ConflictException) as raised:
        create(one_shot, token="token-2")

    assert "eval-one already exists" in error_of(raised)[2]


def test_a_name_is_free_again_once_its_job_is_gone(emulator, client) -> None:
    job_arn = create(client, token="token-1")
    emulator.finish(job_arn)
    client.batch_delete_evaluation_job(jobIdentifiers=[job_arn])
    emulator.settle()

    new_arn = create(client, token="token-2")

    assert new_arn != job_arn
    assert [job.arn for job in emulator.jobs()] == [new_arn]


def test_list_filters_by_name_and_status_and_pages(emulator, client) -> None:
    # given three jobs, one of them stopped, and pages of two
    emulator.service.list_page_size = 2
    arns = [create(client, name) for name in ("nightly-a", "nightly-b", "weekly-c")]
    emulator.stop_outside(arns[1])

    def names(**query: Any) -> list[str]:
        pages = client.get_paginator("list_evaluation_jobs").paginate(**query)
        return [summary["jobName"] for page in pages for summary in page["jobSummaries"]]

    assert names() == ["weekly-c", "nightly-b", "nightly-a"]  # newest first, across two pages
    assert names(nameContains="nightly") == ["nightly-b", "nightly-a"]
    assert names(statusEquals="Stopped") == ["nightly-b"]
    assert names(sortOrder="Ascending") == ["nightly-a", "nightly-b", "weekly-c"]
    assert names(creationTimeAfter=datetime(2000, 1, 1, tzinfo=UTC)) == ["weekly-c", "nightly-b", "nightly-a"]
    assert names(creationTimeBefore=datetime(2000, 1, 1, tzinfo=UTC)) == []
    assert len(client.list_evaluation_jobs()["jobSummaries"]) == 2
    assert len(client.list_evaluation_jobs(maxResults=1)["jobSummaries"]) == 1


# --- state over time --------------------------------------------------------------------------------


def test_a_job_completes_on_demand(emulator, client) -> None:
    job_arn = create(client)

    emulator.finish(job_arn)

    assert client.get_evaluation_job(jobIdentifier=job_arn)["status"] == "Completed"


def test_a_job_can_complete_after_a_number_of_gets(botocore_delays) -> None:
    with BedrockEmulator(complete_after_gets=3) as emulator:
        client = client_for(emulator)
        job_arn = create(client)

        statuses = [client.get_evaluation_job(jobIdentifier=job_arn)["status"] for _ in range(4)]

    assert statuses == ["InProgress", "InProgress", "Completed", "Completed"]


def test_a_failed_job_says_why(emulator, client) -> None:
    job_arn = create(client)

    emulator.finish(job_arn, "Failed", "The dataset is empty.")

    described = client.get_evaluation_job(jobIdentifier=job_arn)
    assert (described["status"], described["failureMessages"]) == ("Failed", ["The dataset is empty."])


def test_a_stopped_job_is_stopping_until_the_second_get_then_stopped(emulator, client) -> None:
    job_arn = create(client)

    client.stop_evaluation_job(jobIdentifier=job_arn)

    statuses = [client.get_evaluation_job(jobIdentifier=job_arn)["status"] for _ in range(3)]
    assert statuses == ["Stopping", "Stopped", "Stopped"]
    assert emulator.history(job_arn) == ["InProgress", "Stopping", "Stopped"]


@pytest.mark.parametrize("status", ["Completed", "Stopping", "Stopped"])
def test_only_a_running_job_can_be_stopped(emulator, one_shot, status) -> None:
    job_arn = create(one_shot)
    if status == "Completed":
        emulator.finish(job_arn)
    elif status == "Stopped":
        emulator.stop_outside(job_arn)
    else:
        one_shot.stop_evaluation_job(jobIdentifier=job_arn)

    with pytest.raises(one_shot.exceptions.ValidationException) as raised:
        one_shot.stop_evaluation_job(jobIdentifier=job_arn)

    assert f"is {status}; only an InProgress job can be stopped" in error_of(raised)[2]


def test_settling_finishes_stopping_and_deleting_but_not_running_jobs(emulator, client) -> None:
    running, stopping, deleting = (create(client, name) for name in ("run-a", "stop-b", "delete-c"))
    client.stop_evaluation_job(jobIdentifier=stopping)
    emulator.finish(deleting)
    client.batch_delete_evaluation_job(jobIdentifiers=[deleting])

    emulator.settle()

    assert [emulator.status(arn) for arn in (running, stopping, deleting)] == ["InProgress", "Stopped", GONE]


# --- BatchDeleteEvaluationJob -----------------------------------------------------------------------


def test_batch_delete_deletes_finished_jobs_and_reports_each_other_one_as_an_error(emulator, client) -> None:
    # given a completed, a failed, a stopped and a running job, and one that never existed
    done, failed, stopped, running = (create(client, n) for n in ("done-a", "failed-b", "stopped-c", "running-d"))
    emulator.finish(done)
    emulator.finish(failed, "Failed")
    emulator.stop_outside(stopped)
    unknown = f"{ARN_PREFIX}zzzzzzzzzzzz"

    # when
    answer = client.batch_delete_evaluation_job(jobIdentifiers=[done, failed, stopped, running, unknown])

    # then
    assert answer["evaluationJobs"] == [
        {"jobIdentifier": arn, "jobStatus": "Deleting"} for arn in (done, failed, stopped)
    ]
    assert [(e["jobIdentifier"], e["code"]) for e in answer["errors"]] == [
        (running, "ValidationException"),
        (unknown, "ResourceNotFoundException"),
    ]
    assert "is InProgress; only Completed, Failed or Stopped jobs can be deleted" in answer["errors"][0]["message"]
    assert emulator.status(running) == "InProgress"


def test_a_deleted_job_is_deleting_then_gone(emulator, client) -> None:
    job_arn = create(client)
    emulator.finish(job_arn)
    client.batch_delete_evaluation_job(jobIdentifiers=[job_arn])

    assert client.get_evaluation_job(jobIdentifier=job_arn)["status"] == "Deleting"
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        client.get_evaluation_job(jobIdentifier=job_arn)
    assert emulator.history(job_arn) == ["InProgress", "Completed", "Deleting", GONE]


def test_a_job_already_deleting_cannot_be_deleted_again(emulator, client) -> None:
    job_arn = create(client)
    emulator.finish(job_arn)
    client.batch_delete_evaluation_job(jobIdentifiers=[job_arn])

    again = client.batch_delete_evaluation_job(jobIdentifiers=[job_arn])

    assert [e["code"] for e in again["errors"]] == ["ValidationException"]
    assert again["evaluationJobs"] == []


def test_batch_delete_takes_at_most_25_jobs(emulator, one_shot) -> None:
    with pytest.raises(one_shot.exceptions.ValidationException) as raised:
        one_shot.batch_delete_evaluation_job(jobIdentifiers=[f"{ARN_PREFIX}{i:012d}" for i in range(26)])

    assert "has 26 items; at most 25" in error_of(raised)[2]


# --- faults -------------------------------------------------------------------------------------------


def test_throttling_is_retried_by_botocore_with_its_own_backoff(emulator, client, botocore_delays) -> None:
    emulator.throttle("ListEvaluationJobs", times=3)

    answer = client.list_evaluation_jobs()

    assert answer["ResponseMetadata"]["RetryAttempts"] == 3
    assert botocore_delays == [0.5, 1.0, 2.0]  # throttling base 1 s, doubling, jitter fixed at 0.5
    assert emulator.faults.injected == {"throttling": 3}


def test_server_errors_are_retried_with_the_shorter_backoff(emulator, client, botocore_delays) -> None:
    emulator.server_error("ListEvaluationJobs", status=500)
    emulator.server_error("ListEvaluationJobs", status=503)

    assert client.list_evaluation_jobs()["ResponseMetadata"]["RetryAttempts"] == 2
    assert botocore_delays == [0.025, 0.05]  # non-throttling base 50 ms


def test_an_error_botocore_does_not_retry_is_not_retried(emulator, client, botocore_delays) -> None:
    emulator.refuse_role()

    with pytest.raises(client.exceptions.ValidationException):
        create(client)

    assert botocore_delays == []
    assert [r.fault for r in emulator.received] == ["iam not ready"]


def test_throttling_past_the_handlers_attempts_reaches_the_caller(emulator, client) -> None:
    attempts = total_attempts(bedrock.CLIENT_CONFIG)
    assert attempts == 4  # botocore's max_attempts (3) counts retries
    emulator.throttle("ListEvaluationJobs", times=attempts)

    with pytest.raises(client.exceptions.ThrottlingException):
        client.list_evaluation_jobs()

    assert emulator.faults_injected == attempts
    assert emulator.calls("ListEvaluationJobs") == 0


@pytest.mark.parametrize("pass_role", [False, True], ids=["role not assumable", "PassRole denied"])
def test_iam_refusals_are_the_errors_the_handler_waits_out(emulator, one_shot, pass_role) -> None:
    emulator.refuse_role(times=2, pass_role=pass_role)

    for _ in range(2):
        with pytest.raises(ClientError) as raised:
            create(one_shot)
        assert bedrock.is_not_ready(raised.value), error_of(raised)
        assert ROLE_ARN in error_of(raised)[2]
    assert create(one_shot).startswith(ARN_PREFIX)
    assert error_of(raised)[:2] == (("AccessDeniedException", 403) if pass_role else ("ValidationException", 400))


def test_a_dropped_connection_before_processing_is_retried_and_the_service_acts_once(emulator, client) -> None:
    emulator.drop_connection("CreateEvaluationJob")

    create(client)

    assert emulator.calls("CreateEvaluationJob") == 1
    assert [r.fault for r in emulator.received] == ["dropped connection", None]


def test_a_dropped_connection_after_processing_leaves_the_job_made(emulator, one_shot) -> None:
    emulator.drop_connection("CreateEvaluationJob", after_processing=True)

    with pytest.raises(ConnectionClosedError):
        create(one_shot, token="token-1")

    assert [job.name for job in emulator.jobs()] == ["eval-one"]


def test_a_slow_answer_arrives_late_and_the_job_is_made_even_if_the_client_gave_up(emulator) -> None:
    impatient = client_for(emulator, Config(read_timeout=0.1).merge(ONE_ATTEMPT))
    emulator.delay("CreateEvaluationJob", seconds=0.5)

    with pytest.raises(ReadTimeoutError):
        create(impatient, token="token-1")

    assert [job.name for job in emulator.jobs()] == ["eval-one"]
    assert emulator.faults.injected == {"slow response": 1}


def test_a_slow_answer_can_spend_virtual_time(botocore_delays) -> None:
    waited: list[float] = []
    with BedrockEmulator(sleep=waited.append) as emulator:
        emulator.delay("ListEvaluationJobs", seconds=45.0)

        client_for(emulator).list_evaluation_jobs()

    assert waited == [45.0]


def test_faults_are_per_operation_and_in_order(emulator, one_shot) -> None:
    emulator.throttle("GetEvaluationJob")
    emulator.fail("CreateEvaluationJob", "ServiceQuotaExceededException", "Too many jobs.")

    with pytest.raises(one_shot.exceptions.ServiceQuotaExceededException):
        create(one_shot)
    job_arn = create(one_shot)
    with pytest.raises(one_shot.exceptions.ThrottlingException):
        one_shot.get_evaluation_job(jobIdentifier=job_arn)
    one_shot.get_evaluation_job(jobIdentifier=job_arn)

    assert [(r.operation, r.fault) for r in emulator.received] == [
        ("CreateEvaluationJob", "error ServiceQuotaExceededException"),
        ("CreateEvaluationJob", None),
        ("GetEvaluationJob", "throttling"),
        ("GetEvaluationJob", None),
    ]


def test_chaos_faults_every_nth_unplanned_request_with_faults_botocore_absorbs(emulator, client) -> None:
    emulator.chaos(every=3)
    job_arn = create(client)

    for _ in range(10):
        client.get_evaluation_job(jobIdentifier=job_arn)

    faults = [r.fault for r in emulator.received]
    assert faults[0] is not None  # the first unplanned request already meets one
    assert faults.count(None) == 11
    assert set(emulator.faults.injected) == {"throttling", "server error 500", "server error 503", "dropped connection"}
    assert all(a is None or b is None for a, b in zip(faults, faults[1:], strict=False))  # never two in a row
    assert emulator.calls("GetEvaluationJob") == 10


# --- fidelity modes: quotas, late reads, normalised fields ----------------------------------------------------------------------


def test_a_full_concurrent_job_quota_refuses_create_with_the_models_error_until_a_job_ends(one_shot) -> None:
    # ServiceQuotaExceededException is one of CreateEvaluationJob's errors in the botocore model
    # ("Resubmit your request later"); quotas L-557C8C47 and L-973C31D1 count concurrent jobs.
    with BedrockEmulator(max_in_progress=1) as emulator:
        client = client_for(emulator, ONE_ATTEMPT)
        first = create(client, "eval-one")

        with pytest.raises(ClientError) as raised:
            create(client, "eval-two")
        emulator.finish(first)
        create(client, "eval-two")

    assert "ServiceQuotaExceededException" in [s.name for s in SERVICE_MODEL.operation_model("CreateEvaluationJob").error_shapes]
    assert error_of(raised)[:2] == ("ServiceQuotaExceededException", http_status_of("ServiceQuotaExceededException"))
    assert emulator.service.quota_refusals == 1


def test_jobs_complete_after_their_running_time_by_the_services_clock() -> None:
    now = [datetime(2025, 1, 1, tzinfo=UTC)]
    with BedrockEmulator(max_in_progress=1, run_seconds=300, now=lambda: now[0]) as emulator:
        client = client_for(emulator, ONE_ATTEMPT)
        first = create(client, "eval-one")
        now[0] = now[0].replace(minute=5)

        create(client, "eval-two")  # the first has ended: a slot is free

    assert emulator.status(first) == "Completed"


def test_a_new_job_is_not_found_by_the_first_reads_after_its_creation() -> None:
    # Eventually consistent reads: Get, Stop and List may not see a job made moments ago.
    with BedrockEmulator(invisible_for_calls=3) as emulator:
        client = client_for(emulator, ONE_ATTEMPT)
        job_arn = create(client)

        with pytest.raises(ClientError) as get:
            client.get_evaluation_job(jobIdentifier=job_arn)
        listed = client.list_evaluation_jobs()["jobSummaries"]
        with pytest.raises(ClientError) as stop:
            client.stop_evaluation_job(jobIdentifier=job_arn)
        found = client.get_evaluation_job(jobIdentifier=job_arn)

    assert error_of(get)[0] == error_of(stop)[0] == "ResourceNotFoundException"
    assert listed == []
    assert found["jobArn"] == job_arn


def test_tags_are_listed_not_described_and_normalised_descriptions_give_model_arns() -> None:
    with BedrockEmulator(normalise=True) as emulator:
        client = client_for(emulator, ONE_ATTEMPT)
        job_arn = create(client, jobTags=[{"key": "team", "value": "search"}])
        client.tag_resource(resourceARN=job_arn, tags=[{"key": "stage", "value": "prod"}])
        client.untag_resource(resourceARN=job_arn, tagKeys=["team"])
        described = client.get_evaluation_job(jobIdentifier=job_arn)
        tags = client.list_tags_for_resource(resourceARN=job_arn)["tags"]

    assert "jobTags" not in SERVICE_MODEL.operation_model("GetEvaluationJob").output_shape.members
    assert tags == [{"key": "stage", "value": "prod"}]
    model = described["inferenceConfig"]["models"][0]["bedrockModel"]["modelIdentifier"]
    assert model == "arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-lite-v1:0"
