"""Fidelity to the service: the concurrent-job quota, reads right after Create, jobs
recognised by a digest tag, and tags kept out of what identifies a job.

Every Bedrock call goes through botocore's Stubber, checked against the real service model.
"""

from __future__ import annotations

from typing import Any

import bedrock
import lifecycle
import pytest
from botocore.stub import Stubber
from handler_support import (
    GENERATED_NAME,
    JOB_ARN,
    LOGICAL_ID,
    OTHER_JOB_ARN,
    STACK_ID,
    FakeClock,
    job_description,
    job_summary,
    model_request,
    resource_event,
    spec_for,
    valid_properties,
)
from lifecycle import JobError
from request import REQUEST_DIGEST_TAG, max_job_tags
from runtime import idempotency_token

QUOTA_FULL = ("ServiceQuotaExceededException", "You have reached the maximum number of concurrent jobs.", 400)
NOT_FOUND = ("ResourceNotFoundException", "Evaluation job not found.", 404)
CONFLICT = ("ConflictException", "Job name already exists.", 400)
TEAM = [{"key": "team", "value": "search"}]




def error(stubber: Stubber, method: str, code: str, message: str, status: int) -> None:
    stubber.add_client_error(method, service_error_code=code, service_message=message, http_status_code=status)


def create_params(properties: dict[str, Any], request_id: str = "req-1") -> dict[str, Any]:
    token = idempotency_token(stack_id=STACK_ID, logical_id=LOGICAL_ID, request_id=request_id)
    return {**spec_for(properties).create_request(), "clientRequestToken": token}


def tagged(stubber: Stubber, tags: dict[str, str], job_arn: str = JOB_ARN) -> None:
    stubber.add_response(
        "list_tags_for_resource", {"tags": [{"key": k, "value": v} for k, v in tags.items()]}, {"resourceARN": job_arn}
    )


# --- 16. the concurrent-job quota ----------------------------------------------------------------------


def test_create_waits_for_a_free_slot_while_the_concurrent_job_quota_is_full(bedrock_api, clock) -> None:
    # ServiceQuotaExceededException on CreateEvaluationJob: "Resubmit your request later" (botocore's
    # model); CloudFormation creates a stack's jobs at once, so a stack can exceed L-557C8C47.
    error(bedrock_api.stubber, "create_evaluation_job", *QUOTA_FULL)
    error(bedrock_api.stubber, "create_evaluation_job", *QUOTA_FULL)
    bedrock_api.stubber.add_response("create_evaluation_job", {"jobArn": JOB_ARN}, create_params(valid_properties()))

    answer = lifecycle.on_create(resource_event("Create"), bedrock_api.jobs, clock.budget())

    assert answer["PhysicalResourceId"] == JOB_ARN
    assert clock.sleeps == [1.5, 3.0]


@pytest.mark.parametrize(
    ("evaluation", "quota"),
    [("automated", "L-557C8C47"), ("human", "L-973C31D1")],
    ids=["automatic job", "human job"],
)
def test_create_fails_naming_the_quota_when_no_slot_frees_in_the_handlers_time(bedrock_api, evaluation, quota) -> None:
    # Service Quotas, Amazon Bedrock: L-557C8C47 concurrent automatic model evaluation jobs,
    # L-973C31D1 concurrent human model evaluation jobs.
    request = model_request()
    if evaluation == "human":
        automated = request["evaluationConfig"].pop("automated")
        request["evaluationConfig"]["human"] = {
            "humanWorkflowConfig": {"flowDefinitionArn": "arn:aws:sagemaker:us-east-1:123456789012:flow-definition/review"},
            "customMetrics": [{"name": "Helpful", "ratingMethod": "ThumbsUpDown"}],
            "datasetMetricConfigs": [automated["datasetMetricConfigs"][0] | {"metricNames": ["Helpful"]}],
        }
    properties = valid_properties(request=request)
    clock = FakeClock()
    # time for three attempts a backoff apart (1.5 s, 3 s), besides what settling a lost answer takes
    budget = clock.budget(seconds=bedrock.WORST_CALL_SECONDS * (1 + lifecycle.CLEANUP_CALLS) + 10.0)
    for _ in range(3):
        error(bedrock_api.stubber, "create_evaluation_job", *QUOTA_FULL)

    with pytest.raises(JobError) as raised:
        lifecycle.on_create(resource_event("Create", properties=properties), bedrock_api.jobs, budget)

    assert quota in str(raised.value) and "waiting for a free slot" in str(raised.value)
    assert "You have reached the maximum number of concurrent jobs." in str(raised.value)


# --- 17. reads right after Create ----------------------------------------------------------------------


def test_delete_right_after_create_looks_again_before_taking_the_job_for_gone(bedrock_api, clock) -> None:
    # Reads are eventually consistent: Get may answer ResourceNotFoundException for a job made
    # moments ago (Terraform's aws_bedrock_evaluation_job retries NotFound after create).
    error(bedrock_api.stubber, "get_evaluation_job", *NOT_FOUND)
    error(bedrock_api.stubber, "get_evaluation_job", *NOT_FOUND)
    bedrock_api.stubber.add_response("get_evaluation_job", job_description(), {"jobIdentifier": JOB_ARN})
    error(bedrock_api.stubber, "stop_evaluation_job", *NOT_FOUND)  # Stop lags too
    bedrock_api.stubber.add_response("stop_evaluation_job", {}, {"jobIdentifier": JOB_ARN})

    lifecycle.on_delete(resource_event("Delete", physical_id=JOB_ARN), bedrock_api.jobs, clock.budget())

    assert clock.sleeps == [1.5, 3.0, 1.5]


# --- 18. jobs recognised by a digest the handler controls ----------------------------------------------


def test_create_tags_the_job_with_the_digest_of_its_request_besides_the_users_tags(bedrock_api, clock) -> None:
    # jobTags: at most 200 (botocore's model); the handler's tag is added only when there is room.
    properties = valid_properties(request=model_request() | {"jobTags": TEAM})
    sent = spec_for(properties).create_request()

    assert sent["jobTags"] == [*TEAM, {"key": REQUEST_DIGEST_TAG, "value": spec_for(properties).request_digest}]
    full = [{"key": f"k{i}", "value": "v"} for i in range(max_job_tags())]
    assert spec_for(valid_properties(request=model_request() | {"jobTags": full})).create_request()["jobTags"] == full


def _fixed_name_conflict(stubber: Stubber, described: dict[str, Any]) -> None:
    error(stubber, "create_evaluation_job", *CONFLICT)
    stubber.add_response(
        "list_evaluation_jobs", {"jobSummaries": [job_summary(JOB_ARN, "my-boolq-run")]}, {"nameContains": "my-boolq-run"}
    )
    stubber.add_response("get_evaluation_job", described, {"jobIdentifier": JOB_ARN})


def test_create_adopts_a_fixed_name_job_by_its_digest_although_the_service_normalised_its_fields(bedrock_api, clock) -> None:
    # GetEvaluationJob may give a model id back as its ARN: field comparison would refuse the job.
    properties = valid_properties(request=model_request() | {"jobName": "my-boolq-run"})
    described = job_description(name="my-boolq-run")
    described["inferenceConfig"]["models"][0]["bedrockModel"]["modelIdentifier"] = (
        "arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-lite-v1:0"
    )
    _fixed_name_conflict(bedrock_api.stubber, described)
    tagged(bedrock_api.stubber, {REQUEST_DIGEST_TAG: spec_for(properties).request_digest})

    answer = lifecycle.on_create(resource_event("Create", properties=properties), bedrock_api.jobs, clock.budget())

    assert answer["PhysicalResourceId"] == JOB_ARN


def test_create_fails_to_adopt_a_fixed_name_job_whose_digest_is_another_requests(bedrock_api, clock) -> None:
    properties = valid_properties(request=model_request() | {"jobName": "my-boolq-run"})
    _fixed_name_conflict(bedrock_api.stubber, job_description(name="my-boolq-run"))  # same fields
    tagged(bedrock_api.stubber, {REQUEST_DIGEST_TAG: "0" * 64})

    with pytest.raises(JobError, match="runs a different request"):
        lifecycle.on_create(resource_event("Create", properties=properties), bedrock_api.jobs, clock.budget())


# --- 19. tags are not part of a job's identity ---------------------------------------------------------


def test_tags_do_not_change_the_generated_name_and_the_earlier_name_stays_recognised() -> None:
    spec = spec_for(valid_properties(request=model_request() | {"jobTags": TEAM}))

    assert spec.name == GENERATED_NAME  # the untagged request's name
    assert len(spec.names) == 2 and spec.names[1] != GENERATED_NAME  # the name tags gave it before


def test_an_update_of_only_the_tags_retags_the_job_in_place(bedrock_api, clock) -> None:
    old = valid_properties(request=model_request() | {"jobTags": [{"key": "stage", "value": "dev"}]})
    new = valid_properties(request=model_request() | {"jobTags": TEAM})
    for name in spec_for(new).earlier_names:  # no job under the name tags gave it before
        summaries = [job_summary(OTHER_JOB_ARN, f"{name}-2")]
        bedrock_api.stubber.add_response("list_evaluation_jobs", {"jobSummaries": summaries}, {"nameContains": name})
    bedrock_api.stubber.add_response("get_evaluation_job", job_description(), {"jobIdentifier": JOB_ARN})
    bedrock_api.stubber.add_response("untag_resource", {}, {"resourceARN": JOB_ARN, "tagKeys": ["stage"]})
    bedrock_api.stubber.add_response("tag_resource", {}, {"resourceARN": JOB_ARN, "tags": TEAM})
    event = resource_event("Update", properties=new, old_properties=old, physical_id=JOB_ARN, request_id="req-2")

    answer = lifecycle.on_update(event, bedrock_api.jobs, clock.budget())

    assert answer["PhysicalResourceId"] == JOB_ARN
