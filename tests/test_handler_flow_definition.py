"""The flow definition of a human evaluation: the handler creates it under a generated name, waits
until SageMaker reports it Active (failing with SageMaker's own reason otherwise), replaces it when
its request changes, and deletes it on removal, tolerating one that is already gone.

SageMaker's shapes and error codes are botocore's (sagemaker 2017-07-24: CreateFlowDefinition,
DescribeFlowDefinition, DeleteFlowDefinition; errors ResourceInUse, ResourceLimitExceeded,
ResourceNotFound); the Stubber checks every request against them.
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

import bedrock
import boto3
import flow_definition
import index
import pytest
from botocore.stub import Stubber
from botocore.validate import ParamValidator
from events import ResourceEvent
from handler_support import STACK_ID, FakeClock, make_event
from runtime import InvalidProperties

from bedrock_evaluation.contract import (
    BEDROCK_HUMAN_LOOP_REQUEST_SOURCE,
    CREATE_FAILED_MARKER,
    FLOW_DEFINITION_RESOURCE_TYPE,
)

ACCOUNT = "123456789012"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/flow"
WORKTEAM = f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:workteam/private-crowd/reviewers"
TASK_UI = "arn:aws:sagemaker:us-east-1:394669845002:human-task-ui/Evaluation"
LOGICAL_ID = "ReviewFlow"


def flow_request(**human_loop: Any) -> dict[str, Any]:
    """A CreateFlowDefinition request as the template holds it: numbers as CloudFormation delivers them."""
    return {
        "HumanLoopRequestSource": {"AwsManagedHumanLoopRequestSource": BEDROCK_HUMAN_LOOP_REQUEST_SOURCE},
        "HumanLoopConfig": {
            "WorkteamArn": WORKTEAM,
            "HumanTaskUiArn": TASK_UI,
            "TaskTitle": "Compare two answers",
            "TaskDescription": "Rate each answer, then pick the better one.",
            "TaskCount": "2",
            "TaskAvailabilityLifetimeInSeconds": "864000",
            "TaskTimeLimitInSeconds": "3600",
            "TaskKeywords": ["evaluation"],
            **human_loop,
        },
        "OutputConfig": {"S3OutputPath": "s3://evaluation-bucket/human-reviews/eval-review-flow/"},
        "RoleArn": ROLE_ARN,
    }


def properties(request: dict[str, Any] | None = None, prefix: str = "eval-review-flow") -> dict[str, Any]:
    return {"FlowDefinition": request if request is not None else flow_request(), "NamePrefix": prefix}


def spec(props: dict[str, Any] | None = None) -> flow_definition.FlowSpec:
    return flow_definition.flow_spec(props or properties(), stack_id=STACK_ID, logical_id=LOGICAL_ID)


NAME = spec().name
ARN = f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:flow-definition/{NAME}"


def raw_event(request_type: str, **kwargs: Any) -> dict[str, Any]:
    built = make_event(request_type, logical_id=LOGICAL_ID, **kwargs)
    built["ResourceType"] = FLOW_DEFINITION_RESOURCE_TYPE
    return built


def event(request_type: str, **kwargs: Any) -> ResourceEvent:
    return ResourceEvent.parse(raw_event(request_type, **kwargs))


def described(status: str, *, name: str = NAME, reason: str | None = None) -> dict[str, Any]:
    """A DescribeFlowDefinition answer with every member the model requires."""
    answer: dict[str, Any] = {
        "FlowDefinitionArn": f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:flow-definition/{name}",
        "FlowDefinitionName": name,
        "FlowDefinitionStatus": status,
        "CreationTime": datetime(2026, 1, 1, tzinfo=UTC),
        "OutputConfig": {"S3OutputPath": "s3://evaluation-bucket/human-reviews/eval-review-flow/"},
        "RoleArn": ROLE_ARN,
    }
    if reason is not None:
        answer["FailureReason"] = reason
    return answer


@pytest.fixture
def sagemaker():
    client = boto3.client("sagemaker", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    with Stubber(client) as stubber:
        yield bedrock.FlowDefinitions(client), stubber
        stubber.assert_no_pending_responses()


def expect_create(stubber: Stubber, name: str = NAME) -> None:
    typed = spec().request
    stubber.add_response("create_flow_definition", {"FlowDefinitionArn": ARN}, {**typed, "FlowDefinitionName": name})


# --- the request ---------------------------------------------------------------------------------


def test_botocore_lets_the_bedrock_request_source_through_although_its_enum_does_not_list_it():
    # botocore 1.44.5's sagemaker model: AwsManagedHumanLoopRequestSource enum is Rekognition and
    # Textract only; the Bedrock user guide (model-evaluation-jobs-management-create-human) says
    # "you must specify AWS/Bedrock/Evaluation". botocore validates no enum, so the value is sent.
    shape = bedrock.flow_definition_input_shape()
    source = shape.members["HumanLoopRequestSource"].members["AwsManagedHumanLoopRequestSource"]
    assert BEDROCK_HUMAN_LOOP_REQUEST_SOURCE not in source.enum
    report = ParamValidator().validate({**spec().request, "FlowDefinitionName": NAME}, shape)
    assert not report.has_errors(), report.generate_report()


def test_numbers_are_restored_from_the_model_and_the_rest_is_sent_as_the_template_holds_it():
    typed = spec().request
    loop = typed["HumanLoopConfig"]
    assert (loop["TaskCount"], loop["TaskAvailabilityLifetimeInSeconds"], loop["TaskTimeLimitInSeconds"]) == (2, 864000, 3600)
    assert typed["HumanLoopRequestSource"] == {"AwsManagedHumanLoopRequestSource": "AWS/Bedrock/Evaluation"}
    assert loop["HumanTaskUiArn"] == TASK_UI


def test_the_name_is_the_prefix_and_a_digest_that_changes_with_the_request():
    changed = spec(properties(flow_request(TaskCount="3"))).name
    assert NAME.startswith("eval-review-flow-") and len(NAME) == len("eval-review-flow-") + 10
    assert changed != NAME and changed.startswith("eval-review-flow-")
    assert spec().name == NAME, "the same request is the same name"


def test_fails_for_a_request_that_names_itself_saying_the_handler_does():
    with pytest.raises(InvalidProperties, match="FlowDefinitionName must be left out"):
        spec(properties({**flow_request(), "FlowDefinitionName": "mine"}))


def test_fails_for_a_prefix_that_cannot_make_a_name():
    with pytest.raises(InvalidProperties, match="property NamePrefix is 'Review_Flow'"):
        spec(properties(prefix="Review_Flow"))


def test_fails_for_a_count_that_is_not_a_number():
    with pytest.raises(InvalidProperties, match=r"FlowDefinition.HumanLoopConfig.TaskCount is 'two', not an integer"):
        spec(properties(flow_request(TaskCount="two")))


# --- create and wait -----------------------------------------------------------------------------


def test_create_sends_the_request_under_the_generated_name_and_answers_with_the_arn(sagemaker):
    flows, stubber = sagemaker
    expect_create(stubber)
    answer = flow_definition.on_create(event("Create", properties=properties()), flows, FakeClock().budget())
    assert answer == {"PhysicalResourceId": ARN, "Data": {"FlowDefinitionArn": ARN, "FlowDefinitionName": NAME}}


def test_is_complete_waits_while_initializing_then_answers_when_active(sagemaker):
    flows, stubber = sagemaker
    stubber.add_response("describe_flow_definition", described("Initializing"), {"FlowDefinitionName": NAME})
    stubber.add_response("describe_flow_definition", described("Active"), {"FlowDefinitionName": NAME})
    created = event("Create", properties=properties(), physical_id=ARN)
    assert flow_definition.is_complete(created, flows) is False
    assert flow_definition.is_complete(created, flows) is True


def test_fails_when_the_flow_definition_fails_with_sagemakers_reason(sagemaker):
    flows, stubber = sagemaker
    stubber.add_response("describe_flow_definition", described("Failed", reason="Workteam is not in the private workforce"))
    with pytest.raises(flow_definition.FlowDefinitionError, match=f"flow definition {NAME}: it is Failed: Workteam is not in the private workforce"):
        flow_definition.is_complete(event("Create", properties=properties(), physical_id=ARN), flows)


def test_fails_when_the_flow_definition_disappeared_while_waiting(sagemaker):
    flows, stubber = sagemaker
    stubber.add_client_error("describe_flow_definition", "ResourceNotFound", "Flow definition not found", 400)
    with pytest.raises(flow_definition.FlowDefinitionError, match="no longer exists"):
        flow_definition.is_complete(event("Create", properties=properties(), physical_id=ARN), flows)


def test_create_retries_throttling_with_backoff_and_then_creates_once(sagemaker):
    # given botocore's own retries are exhausted twice (the Stubber answers each call once)
    flows, stubber = sagemaker
    for _ in range(2):
        stubber.add_client_error("create_flow_definition", "ThrottlingException", "Rate exceeded", 400)
    expect_create(stubber)
    clock = FakeClock()

    answer = flow_definition.on_create(event("Create", properties=properties()), flows, clock.budget())

    assert answer["PhysicalResourceId"] == ARN
    assert clock.sleeps == [1.5, 3.0]


def test_fails_when_throttling_outlasts_the_budget_and_no_flow_definition_was_made(sagemaker):
    flows, stubber = sagemaker
    stubber.add_client_error("create_flow_definition", "ThrottlingException", "Rate exceeded", 400)
    stubber.add_client_error("describe_flow_definition", "ResourceNotFound", "not found", 400)
    with pytest.raises(flow_definition.FlowDefinitionError, match="Rate exceeded"):
        flow_definition.on_create(event("Create", properties=properties()), flows, FakeClock().budget(seconds=1))


def test_a_create_whose_answer_was_lost_adopts_the_flow_definition_of_its_name(sagemaker):
    # given an earlier attempt made it: the name is taken
    flows, stubber = sagemaker
    stubber.add_client_error("create_flow_definition", "ResourceInUse", f"Flow definition {NAME} already exists", 400)
    stubber.add_response("describe_flow_definition", described("Initializing"), {"FlowDefinitionName": NAME})
    answer = flow_definition.on_create(event("Create", properties=properties()), flows, FakeClock().budget())
    assert answer["PhysicalResourceId"] == ARN


def test_create_waits_while_a_flow_definition_of_its_name_is_still_being_deleted(sagemaker):
    # given a rollback returns to a request whose flow definition is being deleted
    flows, stubber = sagemaker
    stubber.add_client_error("create_flow_definition", "ResourceInUse", "already exists", 400)
    stubber.add_response("describe_flow_definition", described("Deleting"))
    expect_create(stubber)
    clock = FakeClock()
    assert flow_definition.on_create(event("Create", properties=properties()), flows, clock.budget())["PhysicalResourceId"] == ARN
    assert clock.sleeps == [1.5]


def test_create_retries_while_the_new_role_is_not_yet_usable(sagemaker):
    flows, stubber = sagemaker
    stubber.add_client_error("create_flow_definition", "ValidationException", f"Could not assume role {ROLE_ARN}", 400)
    expect_create(stubber)
    clock = FakeClock()
    flow_definition.on_create(event("Create", properties=properties()), flows, clock.budget())
    assert clock.sleeps == [1.5]


def test_fails_at_once_with_sagemakers_words_for_a_lasting_error(sagemaker):
    flows, stubber = sagemaker
    stubber.add_client_error("create_flow_definition", "ResourceLimitExceeded", "You have reached the limit of flow definitions", 400)
    clock = FakeClock()
    with pytest.raises(flow_definition.FlowDefinitionError, match="limit of flow definitions"):
        flow_definition.on_create(event("Create", properties=properties()), flows, clock.budget())
    assert clock.sleeps == []


# --- update --------------------------------------------------------------------------------------


def test_update_with_an_unchanged_request_keeps_the_flow_definition_and_calls_nothing(sagemaker):
    flows, _ = sagemaker
    unchanged = event("Update", properties=properties(), old_properties=properties(), physical_id=ARN)
    assert flow_definition.on_update(unchanged, flows, FakeClock().budget())["PhysicalResourceId"] == ARN


def test_update_with_a_changed_request_creates_a_new_flow_definition_under_a_new_name(sagemaker):
    # given the team now gives each prompt to three workers
    flows, stubber = sagemaker
    new_props = properties(flow_request(TaskCount="3"))
    new = spec(new_props)
    new_arn = f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:flow-definition/{new.name}"
    stubber.add_response("create_flow_definition", {"FlowDefinitionArn": new_arn}, {**new.request, "FlowDefinitionName": new.name})

    answer = flow_definition.on_update(
        event("Update", properties=new_props, old_properties=properties(), physical_id=ARN), flows, FakeClock().budget()
    )

    # then the physical id changes: CloudFormation deletes the old flow definition afterwards
    assert answer["PhysicalResourceId"] == new_arn != ARN
    assert answer.get("Data", {})["FlowDefinitionName"] == new.name


# --- delete --------------------------------------------------------------------------------------


def test_delete_deletes_it_and_waits_until_it_is_gone(sagemaker):
    flows, stubber = sagemaker
    stubber.add_response("delete_flow_definition", {}, {"FlowDefinitionName": NAME})
    stubber.add_response("describe_flow_definition", described("Deleting"))
    stubber.add_client_error("describe_flow_definition", "ResourceNotFound", "not found", 400)
    deleted = event("Delete", properties=properties(), physical_id=ARN)
    assert flow_definition.on_delete(deleted, flows) == {"PhysicalResourceId": ARN}
    assert flow_definition.is_complete(deleted, flows) is False
    assert flow_definition.is_complete(deleted, flows) is True


def test_delete_of_a_flow_definition_already_gone_succeeds(sagemaker):
    flows, stubber = sagemaker
    stubber.add_client_error("delete_flow_definition", "ResourceNotFound", "Flow definition not found", 400)
    stubber.add_client_error("describe_flow_definition", "ResourceNotFound", "Flow definition not found", 400)
    deleted = event("Delete", properties=properties(), physical_id=ARN)
    assert flow_definition.on_delete(deleted, flows) == {"PhysicalResourceId": ARN}
    assert flow_definition.is_complete(deleted, flows) is True


def test_delete_while_human_loops_still_use_it_tries_again_until_it_can(sagemaker):
    flows, stubber = sagemaker
    stubber.add_client_error("delete_flow_definition", "ResourceInUse", "Flow definition is in use by human loops", 400)
    stubber.add_response("describe_flow_definition", described("Active"))
    stubber.add_response("delete_flow_definition", {}, {"FlowDefinitionName": NAME})
    stubber.add_client_error("describe_flow_definition", "ResourceNotFound", "not found", 400)
    deleted = event("Delete", properties=properties(), physical_id=ARN)
    flow_definition.on_delete(deleted, flows)
    assert flow_definition.is_complete(deleted, flows) is False  # deleted again
    assert flow_definition.is_complete(deleted, flows) is True


def test_delete_while_throttled_waits_for_the_next_poll(sagemaker):
    flows, stubber = sagemaker
    stubber.add_client_error("delete_flow_definition", "ThrottlingException", "Rate exceeded", 400)
    stubber.add_client_error("describe_flow_definition", "ThrottlingException", "Rate exceeded", 400)
    deleted = event("Delete", properties=properties(), physical_id=ARN)
    assert flow_definition.on_delete(deleted, flows) == {"PhysicalResourceId": ARN}
    assert flow_definition.is_complete(deleted, flows) is False


def test_fails_to_delete_with_sagemakers_words_for_a_lasting_error(sagemaker):
    flows, stubber = sagemaker
    stubber.add_client_error("delete_flow_definition", "AccessDeniedException", "not authorized to perform: sagemaker:DeleteFlowDefinition", 400)
    with pytest.raises(flow_definition.FlowDefinitionError, match="could not delete: not authorized"):
        flow_definition.on_delete(event("Delete", properties=properties(), physical_id=ARN), flows)


@pytest.mark.parametrize("physical_id", [CREATE_FAILED_MARKER, "Eval-ReviewFlow-1A2B3C4D5E6F"])
def test_delete_of_an_id_that_is_not_a_flow_definition_calls_nothing(sagemaker, physical_id):
    flows, _ = sagemaker
    deleted = event("Delete", properties=properties(), physical_id=physical_id)
    assert flow_definition.on_delete(deleted, flows) == {"PhysicalResourceId": physical_id}
    assert flow_definition.is_complete(deleted, flows) is True


# --- the entry points ----------------------------------------------------------------------------


class Context:
    def get_remaining_time_in_millis(self) -> int:
        return 300_000


def test_the_entry_points_route_flow_definition_events_to_the_flow_definition_handler(sagemaker, monkeypatch):
    flows, stubber = sagemaker
    monkeypatch.setattr(index, "flow_definitions", lambda: flows)
    expect_create(stubber)
    stubber.add_response("describe_flow_definition", described("Active"))
    created = raw_event("Create", properties=properties())
    answer = index.on_event(copy.deepcopy(created), Context())
    assert index.is_complete({**created, **answer}, Context()) == {"IsComplete": True}
