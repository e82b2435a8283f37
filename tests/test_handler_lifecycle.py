"""lifecycle.py and index.py: what each CloudFormation request does to an evaluation job.

Every Bedrock call goes through botocore's Stubber: the request each test expects is checked
against the real service model, and a call nobody queued fails the test.
"""

from __future__ import annotations

import logging
from typing import Any

import bedrock
import index
import job_state
import lifecycle
import pytest
import runtime
from botocore.exceptions import NoCredentialsError
from botocore.stub import Stubber
from events import ResourceEvent
from handler_support import (
    GENERATED_NAME,
    JOB_ARN,
    LOGICAL_ID,
    OTHER_JOB_ARN,
    ROLE_ARN,
    STACK_ID,
    FakeClock,
    StubbedJobs,
    job_description,
    job_summary,
    make_event,
    model_request,
    new_client,
    rag_request,
    resource_event,
    spec_for,
    valid_properties,
)
from lifecycle import IAM_RETRY_WINDOW_SECONDS, JobError
from request import REQUEST_DIGEST_TAG
from runtime import BACKOFF_CAP_SECONDS, MAX_REASON_BYTES, InvalidProperties, idempotency_token

from bedrock_evaluation.contract import CREATE_FAILED_MARKER

NOT_ASSUMABLE = (
    "ValidationException",
    "Bedrock is unable to assume role arn:aws:iam::123456789012:role/eval. Check the trust policy of the role.",
    400,
)
PASS_ROLE_DENIED = (
    "AccessDeniedException",
    "User: arn:aws:sts::123456789012:assumed-role/Eval-Handler/fn is not authorized to perform: "
    "iam:PassRole on resource: arn:aws:iam::123456789012:role/eval",
    403,
)
NOT_FOUND = ("ResourceNotFoundException", "Evaluation job not found.", 404)




def create_params(properties: dict[str, Any], request_id: str = "req-1") -> dict[str, Any]:
    """What CreateEvaluationJob must receive for these properties in this CloudFormation request."""
    token = idempotency_token(stack_id=STACK_ID, logical_id=LOGICAL_ID, request_id=request_id)
    return {**spec_for(properties).create_request(), "clientRequestToken": token}


def error(stubber: Stubber, method: str, code: str, message: str, status: int) -> None:
    stubber.add_client_error(method, service_error_code=code, service_message=message, http_status_code=status)


def untagged(stubber: Stubber, job_arn: str = JOB_ARN) -> None:
    """The next ListTagsForResource finds no REQUEST_DIGEST_TAG: a job made before the handler wrote it."""
    stubber.add_response("list_tags_for_resource", {"tags": []}, {"resourceARN": job_arn})


def not_found(stubber: Stubber, times: int = job_state.NOT_FOUND_LOOKS) -> None:
    """GetEvaluationJob finds no such job, as often as the handler looks before believing it."""
    for _ in range(times):
        error(stubber, "get_evaluation_job", *NOT_FOUND)


def describe(stubber: Stubber, status: str) -> None:
    """The next GetEvaluationJob of JOB_ARN finds it in this status."""
    stubber.add_response("get_evaluation_job", job_description(status=status), {"jobIdentifier": JOB_ARN})


def changed_request() -> dict[str, Any]:
    request = model_request()
    request["evaluationConfig"]["automated"]["datasetMetricConfigs"][0]["metricNames"].append("Builtin.Robustness")
    return request


def fixed_name(request: dict[str, Any], name: str = "my-boolq-run") -> dict[str, Any]:
    return request | {"jobName": name}


# --- Create ---------------------------------------------------------------------------------------


def test_create_sends_the_typed_request_with_a_deterministic_token_and_answers_the_job(
    bedrock_api, clock
) -> None:
    # given
    properties = valid_properties()
    name = spec_for(properties).name
    bedrock_api.stubber.add_response("create_evaluation_job", {"jobArn": JOB_ARN}, create_params(properties))

    # when
    answer = lifecycle.on_create(resource_event("Create", properties=properties), bedrock_api.jobs, clock.budget())

    # then
    assert name.startswith("eval-boolq-")
    assert answer == {
        "PhysicalResourceId": JOB_ARN,
        "Data": {"JobArn": JOB_ARN, "JobName": name, "OutputS3Uri": f"s3://results-bucket/results/job/{name}/"},
    }
    assert clock.sleeps == []


def test_create_sends_the_numbers_of_a_rag_request_as_numbers(bedrock_api, clock) -> None:
    # given a RAG request whose numbers and filter document arrive as strings
    properties = valid_properties(request=rag_request())
    # what the service must see, typed by hand (Stubber compares with ==, and "5" != 5)
    expected = rag_request()
    kb = expected["inferenceConfig"]["ragConfigs"][0]["knowledgeBaseConfig"]["retrieveAndGenerateConfig"]
    search = kb["knowledgeBaseConfiguration"]["retrievalConfiguration"]["vectorSearchConfiguration"]
    search["numberOfResults"] = 5
    search["filter"]["equals"]["value"] = 2024
    generation = kb["knowledgeBaseConfiguration"]["generationConfiguration"]
    generation["kbInferenceConfig"]["textInferenceConfig"] = {"temperature": 0.2, "maxTokens": 512}
    metric = expected["evaluationConfig"]["automated"]["customMetricConfig"]["customMetrics"][0]
    for item, value in zip(metric["customMetricDefinition"]["ratingScale"], [1.0, 0.0], strict=True):
        item["value"]["floatValue"] = value
    token = idempotency_token(stack_id=STACK_ID, logical_id=LOGICAL_ID, request_id="req-1")
    expected |= {"jobName": spec_for(properties).name, "clientRequestToken": token}
    expected["jobTags"] = [{"key": REQUEST_DIGEST_TAG, "value": spec_for(properties).request_digest}]
    bedrock_api.stubber.add_response("create_evaluation_job", {"jobArn": JOB_ARN}, expected)

    # when
    answer = lifecycle.on_create(resource_event("Create", properties=properties), bedrock_api.jobs, clock.budget())

    # then
    assert answer["PhysicalResourceId"] == JOB_ARN


@pytest.mark.parametrize("refusal", [NOT_ASSUMABLE, PASS_ROLE_DENIED], ids=["role not assumable", "PassRole denied"])
def test_create_retries_while_the_new_role_is_not_usable_yet(bedrock_api, clock, refusal) -> None:
    # given IAM refuses three times, then the role has propagated
    properties = valid_properties()
    for _ in range(3):
        error(bedrock_api.stubber, "create_evaluation_job", *refusal)
    bedrock_api.stubber.add_response("create_evaluation_job", {"jobArn": JOB_ARN}, create_params(properties))

    # when
    answer = lifecycle.on_create(resource_event("Create", properties=properties), bedrock_api.jobs, clock.budget())

    # then the job is made, after a doubling backoff (jitter at its midpoint: 0.75 of the base)
    assert answer["PhysicalResourceId"] == JOB_ARN
    assert clock.sleeps == [1.5, 3.0, 6.0]


def test_create_gives_up_when_the_iam_window_has_passed(bedrock_api, clock) -> None:
    # given the role never becomes assumable
    for _ in range(14):
        error(bedrock_api.stubber, "create_evaluation_job", *NOT_ASSUMABLE)

    # when
    with pytest.raises(JobError) as raised:
        lifecycle.on_create(resource_event("Create"), bedrock_api.jobs, clock.budget())

    # then the waits grew, stayed under the cap, and together stayed inside the window
    assert clock.sleeps == sorted(clock.sleeps)
    assert clock.sleeps == [1.5, 3.0, 6.0, 12.0] + [22.5] * 9
    assert max(clock.sleeps) <= BACKOFF_CAP_SECONDS
    assert sum(clock.sleeps) <= IAM_RETRY_WINDOW_SECONDS
    # and the reason CloudFormation shows carries the service's own words
    assert "Bedrock is unable to assume role" in str(raised.value)
    assert "(still refused after 225s waiting for IAM)" in str(raised.value)


def test_create_stops_retrying_at_the_lambda_deadline_even_inside_the_iam_window(bedrock_api, clock) -> None:
    for _ in range(3):
        error(bedrock_api.stubber, "create_evaluation_job", *NOT_ASSUMABLE)

    # given 10 s beyond what one attempt and settling its outcome may take
    budget = clock.budget(seconds=bedrock.WORST_CALL_SECONDS * (1 + lifecycle.CLEANUP_CALLS) + 10.0)

    with pytest.raises(JobError, match="unable to assume role"):
        lifecycle.on_create(resource_event("Create"), bedrock_api.jobs, budget)

    assert clock.sleeps == [1.5, 3.0]  # a third wait (6 s) would end after the 10 s budget


def test_create_fails_at_once_on_a_validation_error_that_is_not_about_iam(bedrock_api, clock) -> None:
    message = "The dataset s3://results-bucket/datasets/qa.jsonl is not a valid JSON Lines file."
    error(bedrock_api.stubber, "create_evaluation_job", "ValidationException", message, 400)

    with pytest.raises(JobError) as raised:
        lifecycle.on_create(resource_event("Create"), bedrock_api.jobs, clock.budget())

    assert str(raised.value) == f"evaluation job {spec_for(valid_properties()).name}: {message}"
    assert clock.sleeps == []


def test_create_adopts_the_job_an_earlier_attempt_made_under_the_generated_name(bedrock_api, clock) -> None:
    # given a job of this exact name exists (next to one whose name merely contains it)
    name = spec_for(valid_properties()).name
    error(bedrock_api.stubber, "create_evaluation_job", "ConflictException", "Job name already exists.", 400)
    bedrock_api.stubber.add_response(
        "list_evaluation_jobs",
        {"jobSummaries": [job_summary(OTHER_JOB_ARN, f"{name}-2"), job_summary(JOB_ARN, name)]},
        {"nameContains": name},
    )
    describe(bedrock_api.stubber, "InProgress")  # it runs: it stands for this request

    answer = lifecycle.on_create(resource_event("Create"), bedrock_api.jobs, clock.budget())

    assert answer["PhysicalResourceId"] == JOB_ARN
    assert answer["Data"]["JobName"] == name


def test_create_fails_on_a_conflict_when_no_job_has_exactly_the_name(bedrock_api, clock) -> None:
    name = spec_for(valid_properties()).name
    error(bedrock_api.stubber, "create_evaluation_job", "ConflictException", "Job name already exists.", 400)
    for _ in range(job_state.NOT_FOUND_LOOKS):  # a job made seconds ago may not be listed yet: looked for again
        bedrock_api.stubber.add_response(
            "list_evaluation_jobs", {"jobSummaries": [job_summary(OTHER_JOB_ARN, f"{name}-2")]}, {"nameContains": name}
        )

    with pytest.raises(JobError, match="Job name already exists"):
        lifecycle.on_create(resource_event("Create"), bedrock_api.jobs, clock.budget())


@pytest.mark.parametrize(
    ("existing_role", "adopted"),
    [(ROLE_ARN, True), ("arn:aws:iam::123456789012:role/someone-else", False)],
    ids=["same role: adopted", "other role: refused"],
)
def test_create_adopts_a_job_of_a_fixed_name_only_if_it_runs_as_our_role(
    bedrock_api, clock, existing_role, adopted
) -> None:
    properties = valid_properties(request=fixed_name(model_request()))
    error(bedrock_api.stubber, "create_evaluation_job", "ConflictException", "Job name already exists.", 400)
    bedrock_api.stubber.add_response(
        "list_evaluation_jobs",
        {"jobSummaries": [job_summary(JOB_ARN, "my-boolq-run")]},
        {"nameContains": "my-boolq-run"},
    )
    bedrock_api.stubber.add_response(
        "get_evaluation_job",
        job_description(JOB_ARN, name="my-boolq-run", status="Completed", role_arn=existing_role),
        {"jobIdentifier": JOB_ARN},
    )
    untagged(bedrock_api.stubber)
    event = resource_event("Create", properties=properties)

    if adopted:
        assert lifecycle.on_create(event, bedrock_api.jobs, clock.budget())["PhysicalResourceId"] == JOB_ARN
    else:
        with pytest.raises(JobError, match="already exists and runs a different request, so it was not made by this resource"):
            lifecycle.on_create(event, bedrock_api.jobs, clock.budget())


def test_job_error_reasons_are_truncated_to_fit_a_cloudformation_response(bedrock_api, clock) -> None:
    error(bedrock_api.stubber, "create_evaluation_job", "ValidationException", "x" * 5000, 400)

    with pytest.raises(JobError) as raised:
        lifecycle.on_create(resource_event("Create"), bedrock_api.jobs, clock.budget())

    reason = str(raised.value)
    assert len(reason) == MAX_REASON_BYTES <= 1000
    assert reason.startswith("evaluation job eval-boolq-")
    assert reason.endswith("xxx...")


def test_a_short_job_error_reason_is_left_whole() -> None:
    assert str(JobError("eval-boolq-0123456789", "nope")) == "evaluation job eval-boolq-0123456789: nope"


# --- Update ---------------------------------------------------------------------------------------


def test_update_that_changes_only_the_removal_keeps_the_job_without_calling_bedrock(bedrock_api, clock) -> None:
    # given the same request, now to be deleted on removal
    event = resource_event(
        "Update",
        properties=valid_properties(Removal="delete"),
        old_properties=valid_properties(),
        physical_id=JOB_ARN,
        request_id="req-2",
    )

    # when (the Stubber has nothing queued: any call would fail the test)
    answer = lifecycle.on_update(event, bedrock_api.jobs, clock.budget())

    # then
    name = spec_for(valid_properties()).name
    assert answer == {
        "PhysicalResourceId": JOB_ARN,
        "Data": {"JobArn": JOB_ARN, "JobName": name, "OutputS3Uri": f"s3://results-bucket/results/job/{name}/"},
    }


def test_update_with_a_changed_request_creates_a_new_job_under_a_new_name(bedrock_api, clock) -> None:
    new, old = valid_properties(request=changed_request()), valid_properties()
    bedrock_api.stubber.add_response(
        "create_evaluation_job", {"jobArn": OTHER_JOB_ARN}, create_params(new, request_id="req-2")
    )
    event = resource_event("Update", properties=new, old_properties=old, physical_id=JOB_ARN, request_id="req-2")

    answer = lifecycle.on_update(event, bedrock_api.jobs, clock.budget())

    # a new physical id: CloudFormation then deletes the old job's resource
    assert answer["PhysicalResourceId"] == OTHER_JOB_ARN
    assert answer["Data"]["JobName"] == spec_for(new).name != spec_for(old).name


def test_update_of_a_request_with_a_fixed_job_name_fails_without_creating_a_job(bedrock_api, clock) -> None:
    # the job under the fixed name runs the old request
    bedrock_api.stubber.add_response(
        "get_evaluation_job", job_description(JOB_ARN, name="my-boolq-run"), {"jobIdentifier": JOB_ARN}
    )
    untagged(bedrock_api.stubber)
    event = resource_event(
        "Update",
        properties=valid_properties(request=fixed_name(changed_request())),
        old_properties=valid_properties(request=fixed_name(model_request())),
        physical_id=JOB_ARN,
        request_id="req-2",
    )

    with pytest.raises(JobError, match="the request changed but its jobName is fixed"):
        lifecycle.on_update(event, bedrock_api.jobs, clock.budget())


def test_rollback_to_the_old_request_adopts_the_old_job_which_still_exists(bedrock_api, clock) -> None:
    # given an update to B made a new job, and the stack now rolls back to A (whose job still exists)
    a, b = valid_properties(), valid_properties(request=changed_request())
    name_a = spec_for(a).name
    error(bedrock_api.stubber, "create_evaluation_job", "ConflictException", "Job name already exists.", 400)
    bedrock_api.stubber.add_response(
        "list_evaluation_jobs", {"jobSummaries": [job_summary(JOB_ARN, name_a)]}, {"nameContains": name_a}
    )
    describe(bedrock_api.stubber, "InProgress")  # A's job was never stopped: the rollback returns to it
    event = resource_event("Update", properties=a, old_properties=b, physical_id=OTHER_JOB_ARN, request_id="req-3")

    # when
    answer = lifecycle.on_update(event, bedrock_api.jobs, clock.budget())

    # then the resource points at A's job again
    assert answer["PhysicalResourceId"] == JOB_ARN
    assert answer["Data"]["JobName"] == name_a


def test_rollback_of_a_rejected_fixed_name_change_keeps_the_existing_job() -> None:
    client = new_client()
    stubber = Stubber(client)
    # the job under the fixed name already runs A, the request the rollback asks for
    stubber.add_response(
        "get_evaluation_job",
        job_description(JOB_ARN, name="my-boolq-run", status="Completed"),
        {"jobIdentifier": JOB_ARN},
    )
    untagged(stubber)
    event = resource_event(
        "Update",
        properties=valid_properties(request=fixed_name(model_request())),
        old_properties=valid_properties(request=fixed_name(changed_request())),
        physical_id=JOB_ARN,
        request_id="req-3",
    )

    with stubber:
        answer = lifecycle.on_update(event, bedrock.EvaluationJobs(client), FakeClock().budget())

    assert answer["PhysicalResourceId"] == JOB_ARN


# --- Delete ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "physical_id",
    [CREATE_FAILED_MARKER, "Eval-BoolQ-ABC123", ""],
    ids=["failed create marker", "id CloudFormation invented", "empty"],
)
def test_delete_of_a_resource_that_never_made_a_job_calls_nothing(bedrock_api, physical_id) -> None:
    answer = lifecycle.on_delete(resource_event("Delete", physical_id=physical_id), bedrock_api.jobs)

    assert answer == {"PhysicalResourceId": physical_id}


def test_delete_of_a_job_the_service_no_longer_has_succeeds(bedrock_api, clock) -> None:
    not_found(bedrock_api.stubber)

    assert lifecycle.on_delete(resource_event("Delete", physical_id=JOB_ARN), bedrock_api.jobs, clock.budget()) == {
        "PhysicalResourceId": JOB_ARN
    }


@pytest.mark.parametrize("removal", ["stop", "delete"])
def test_delete_stops_a_running_job(bedrock_api, removal) -> None:
    describe(bedrock_api.stubber, "InProgress")
    bedrock_api.stubber.add_response("stop_evaluation_job", {}, {"jobIdentifier": JOB_ARN})

    event = resource_event("Delete", properties=valid_properties(Removal=removal), physical_id=JOB_ARN)

    assert lifecycle.on_delete(event, bedrock_api.jobs) == {"PhysicalResourceId": JOB_ARN}


@pytest.mark.parametrize("status", ["Completed", "Failed", "Stopped", "Stopping"])
def test_delete_leaves_a_job_that_is_not_running_alone(bedrock_api, status) -> None:
    describe(bedrock_api.stubber, status)

    assert lifecycle.on_delete(resource_event("Delete", physical_id=JOB_ARN), bedrock_api.jobs) == {
        "PhysicalResourceId": JOB_ARN
    }


def test_delete_with_removal_retain_calls_nothing(bedrock_api) -> None:
    event = resource_event("Delete", properties=valid_properties(Removal="retain"), physical_id=JOB_ARN)

    assert lifecycle.on_delete(event, bedrock_api.jobs) == {"PhysicalResourceId": JOB_ARN}


def test_delete_succeeds_when_the_job_finished_between_get_and_stop(bedrock_api) -> None:
    stubber = bedrock_api.stubber
    describe(stubber, "InProgress")
    error(stubber, "stop_evaluation_job", "ValidationException", "Job is not in a stoppable state.", 400)
    describe(stubber, "Completed")

    assert lifecycle.on_delete(resource_event("Delete", physical_id=JOB_ARN), bedrock_api.jobs) == {
        "PhysicalResourceId": JOB_ARN
    }


def test_delete_fails_when_a_still_running_job_cannot_be_stopped(bedrock_api) -> None:
    stubber = bedrock_api.stubber
    describe(stubber, "InProgress")
    error(stubber, "stop_evaluation_job", "AccessDeniedException", "Not authorized to stop.", 403)
    describe(stubber, "InProgress")

    with pytest.raises(JobError, match=f"evaluation job {JOB_ARN}: could not stop: Not authorized to stop."):
        lifecycle.on_delete(resource_event("Delete", physical_id=JOB_ARN), bedrock_api.jobs)


# --- is_complete (only removal=delete waits) --------------------------------------------------------


def delete_event(removal: str = "delete") -> ResourceEvent:
    return resource_event("Delete", properties=valid_properties(Removal=removal), physical_id=JOB_ARN)


@pytest.mark.parametrize(
    "event",
    [
        resource_event("Create", physical_id=JOB_ARN),
        resource_event("Update", old_properties=valid_properties(), physical_id=JOB_ARN),
        resource_event("Delete", properties=valid_properties(Removal="retain"), physical_id=JOB_ARN),
        resource_event("Delete", properties=valid_properties(Removal="delete"), physical_id=CREATE_FAILED_MARKER),
    ],
    ids=["create", "update", "delete with removal retain", "delete of no job"],
)
def test_is_complete_at_once_without_calls_unless_a_job_must_be_stopped_or_deleted(bedrock_api, event) -> None:
    assert lifecycle.is_complete(event, bedrock_api.jobs) is True


def test_is_complete_with_removal_stop_once_the_job_no_longer_runs(bedrock_api) -> None:
    describe(bedrock_api.stubber, "Stopping")
    assert lifecycle.is_complete(resource_event("Delete", physical_id=JOB_ARN), bedrock_api.jobs) is True


def test_is_complete_with_removal_stop_stops_a_job_a_failed_stop_left_running(bedrock_api) -> None:
    describe(bedrock_api.stubber, "InProgress")
    bedrock_api.stubber.add_response("stop_evaluation_job", {}, {"jobIdentifier": JOB_ARN})
    assert lifecycle.is_complete(resource_event("Delete", physical_id=JOB_ARN), bedrock_api.jobs) is False


def test_delete_leaves_a_throttled_stop_to_is_complete(bedrock_api) -> None:
    describe(bedrock_api.stubber, "InProgress")
    error(bedrock_api.stubber, "stop_evaluation_job", "ThrottlingException", "Rate exceeded", 429)
    event = resource_event("Delete", physical_id=JOB_ARN)
    assert lifecycle.on_delete(event, bedrock_api.jobs) == {"PhysicalResourceId": JOB_ARN}


def test_is_complete_stops_a_job_still_running_and_looks_again(bedrock_api) -> None:
    describe(bedrock_api.stubber, "InProgress")
    bedrock_api.stubber.add_response("stop_evaluation_job", {}, {"jobIdentifier": JOB_ARN})

    assert lifecycle.is_complete(delete_event(), bedrock_api.jobs) is False


@pytest.mark.parametrize(("status", "complete"), [("Stopping", False), ("Deleting", True)])
def test_is_complete_waits_while_the_job_is_stopping(bedrock_api, status, complete) -> None:
    describe(bedrock_api.stubber, status)

    assert lifecycle.is_complete(delete_event(), bedrock_api.jobs) is complete


@pytest.mark.parametrize(
    ("status", "errors"),
    [
        ("Stopped", []),
        ("Completed", []),
        ("Failed", []),
        ("Stopped", [{"jobIdentifier": JOB_ARN, "code": "ResourceNotFoundException", "message": "gone"}]),
    ],
    ids=["stopped", "completed", "failed", "already gone"],
)
def test_is_complete_deletes_a_finished_job(bedrock_api, status, errors) -> None:
    stubber = bedrock_api.stubber
    describe(stubber, status)
    deleted = [] if errors else [{"jobIdentifier": JOB_ARN, "jobStatus": "Deleting"}]
    stubber.add_response(
        "batch_delete_evaluation_job", {"errors": errors, "evaluationJobs": deleted}, {"jobIdentifiers": [JOB_ARN]}
    )

    assert lifecycle.is_complete(delete_event(), bedrock_api.jobs) is True


def test_is_complete_fails_when_the_service_refuses_the_deletion(bedrock_api) -> None:
    stubber = bedrock_api.stubber
    describe(stubber, "Stopped")  # its name: GENERATED_NAME
    stubber.add_response(
        "batch_delete_evaluation_job",
        {
            "errors": [{"jobIdentifier": JOB_ARN, "code": "ValidationException", "message": "Job is in use."}],
            "evaluationJobs": [],
        },
        {"jobIdentifiers": [JOB_ARN]},
    )
    describe(stubber, "Stopped")  # looked at again: not being deleted

    with pytest.raises(JobError) as raised:
        lifecycle.is_complete(delete_event(), bedrock_api.jobs)

    assert str(raised.value) == (
        f"evaluation job {GENERATED_NAME}: BatchDeleteEvaluationJob refused: ValidationException: Job is in use."
    )


def test_is_complete_when_the_job_is_already_gone(bedrock_api, clock) -> None:
    not_found(bedrock_api.stubber)

    assert lifecycle.is_complete(delete_event(), bedrock_api.jobs, clock.budget()) is True


@pytest.mark.parametrize(
    "fault",
    [("ThrottlingException", "Rate exceeded.", 429), ("InternalServerException", "Internal error.", 500)],
    ids=["throttled", "server error"],
)
def test_is_complete_treats_a_passing_fault_as_not_yet(bedrock_api, fault) -> None:
    error(bedrock_api.stubber, "get_evaluation_job", *fault)

    assert lifecycle.is_complete(delete_event(), bedrock_api.jobs) is False


def test_is_complete_fails_on_a_lasting_error(bedrock_api) -> None:
    error(bedrock_api.stubber, "get_evaluation_job", "AccessDeniedException", "Not authorized.", 403)

    with pytest.raises(JobError, match=f"evaluation job {JOB_ARN}: could not delete: Not authorized."):
        lifecycle.is_complete(delete_event(), bedrock_api.jobs)


def test_is_complete_fails_on_a_lasting_botocore_error(bedrock_api, monkeypatch) -> None:
    def no_credentials(**params: object) -> None:
        raise NoCredentialsError()

    monkeypatch.setattr(bedrock_api.jobs.client, "get_evaluation_job", no_credentials)

    with pytest.raises(JobError, match="Unable to locate credentials"):
        lifecycle.is_complete(delete_event(), bedrock_api.jobs)


# --- index: the entry points the Provider framework calls -----------------------------------------


class FakeContext:
    def __init__(self, remaining_ms: int) -> None:
        self.remaining_ms = remaining_ms
        self.asked = 0

    def get_remaining_time_in_millis(self) -> int:
        self.asked += 1
        return self.remaining_ms


@pytest.fixture
def handler_jobs(bedrock_api, monkeypatch) -> StubbedJobs:
    monkeypatch.setattr(index, "jobs", lambda: bedrock_api.jobs)
    return bedrock_api


def test_on_event_fails_for_an_unknown_request_type(handler_jobs) -> None:
    with pytest.raises(InvalidProperties, match="unknown RequestType 'Replace'"):
        index.on_event(make_event("Replace"), FakeContext(900_000))


@pytest.mark.parametrize("key", ["StackId", "LogicalResourceId", "RequestId"])
def test_on_event_fails_for_an_event_without_what_cloudformation_always_sends(handler_jobs, key) -> None:
    event = make_event("Create")
    del event[key]

    with pytest.raises(InvalidProperties, match=f"the event has no {key}"):
        index.on_event(event, FakeContext(900_000))


def test_on_event_creates_the_job(handler_jobs) -> None:
    properties = valid_properties()
    handler_jobs.stubber.add_response("create_evaluation_job", {"jobArn": JOB_ARN}, create_params(properties))
    context = FakeContext(900_000)

    answer = index.on_event(make_event("Create", properties=properties), context)

    assert answer["PhysicalResourceId"] == JOB_ARN
    assert context.asked == 1


def test_on_event_gives_iam_no_time_the_lambda_does_not_have(handler_jobs) -> None:
    # given the safety margin, one attempt with its settling and half a second: less than the first backoff
    error(handler_jobs.stubber, "create_evaluation_job", *NOT_ASSUMABLE)
    seconds = index.SAFETY_MARGIN_SECONDS + bedrock.WORST_CALL_SECONDS * (1 + lifecycle.CLEANUP_CALLS) + 0.5

    with pytest.raises(JobError, match=r"still refused after 0s waiting for IAM"):
        index.on_event(make_event("Create"), FakeContext(int(seconds * 1000)))


def test_on_event_deletes_through_the_same_client(handler_jobs) -> None:
    describe(handler_jobs.stubber, "Completed")

    answer = index.on_event(make_event("Delete", physical_id=JOB_ARN), FakeContext(900_000))

    # and hands is_complete its names and removal, not the request
    assert answer["PhysicalResourceId"] == JOB_ARN
    assert answer["BedrockEvaluationWait"]["names"] == [GENERATED_NAME]
    assert (answer["ResourceProperties"], answer["OldResourceProperties"]) == ({"Removal": "stop"}, {})


def test_is_complete_entry_wraps_the_answer_for_the_framework(handler_jobs, monkeypatch) -> None:
    monkeypatch.setattr(index, "clock", FakeClock().clock)
    not_found(handler_jobs.stubber)

    event = make_event("Delete", properties=valid_properties(Removal="delete"), physical_id=JOB_ARN)

    assert index.is_complete(event, FakeContext(900_000)) == {"IsComplete": True}


def test_on_event_logs_the_event_but_never_the_presigned_response_url(handler_jobs, caplog) -> None:
    event = make_event("Delete", physical_id=CREATE_FAILED_MARKER, request_id="req-logged")

    with caplog.at_level(logging.INFO):
        index.on_event(event, FakeContext(900_000))

    assert "req-logged" in caplog.text
    assert "ResponseURL" not in caplog.text
    assert "X-Amz-Signature" not in caplog.text


def test_the_handler_logs_under_its_own_logger_at_info_and_leaves_the_root_logger_alone(handler_jobs, caplog) -> None:
    # given
    properties = valid_properties()
    handler_jobs.stubber.add_response("create_evaluation_job", {"jobArn": JOB_ARN}, create_params(properties))

    # when
    index.on_event(make_event("Create", properties=properties), FakeContext(900_000))

    # then index and lifecycle logged at INFO, each under the handler's logger
    info = {record.name for record in caplog.records if record.levelno == logging.INFO}
    assert info == {runtime.LOGGER_NAME, f"{runtime.LOGGER_NAME}.lifecycle"}
    assert logging.getLogger(runtime.LOGGER_NAME).level == logging.INFO
    # and the root logger (botocore's and everyone else's) keeps the level the Lambda runtime gave it
    assert logging.getLogger().level == logging.WARNING
