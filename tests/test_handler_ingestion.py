"""Ingestion before evaluation: the handler starts a knowledge base's ingestion and the stack
waits until its documents are indexed; failures carry the ingestion's own reasons."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import bedrock
import boto3
import index
import ingestion
import pytest
from botocore.stub import ANY, Stubber
from events import ResourceEvent
from handler_support import FakeClock, make_event
from runtime import InvalidProperties, backoff

from bedrock_evaluation.contract import INGESTION_RESOURCE_TYPE

KB, DS, JOB = "KB12345678", "DS12345678", "IJ12345678"
PHYSICAL = f"{KB}/{DS}/{JOB}"


def properties(documents_hash: str = "aaaa") -> dict[str, Any]:
    return {"KnowledgeBaseId": KB, "DataSourceId": DS, "DocumentsHash": documents_hash}


def raw_event(request_type: str, **kwargs: Any) -> dict[str, Any]:
    """An ingestion resource's event as CloudFormation sends it."""
    built = make_event(request_type, **kwargs)
    built["ResourceType"] = INGESTION_RESOURCE_TYPE
    return built


def event(request_type: str, **kwargs: Any) -> ResourceEvent:
    """The same event as the entry points hand it to the ingestion handler."""
    return ResourceEvent.parse(raw_event(request_type, **kwargs))


def job(status: str, reasons: list[str] | None = None) -> dict[str, Any]:
    described: dict[str, Any] = {
        "knowledgeBaseId": KB,
        "dataSourceId": DS,
        "ingestionJobId": JOB,
        "status": status,
        "startedAt": datetime(2026, 1, 1, tzinfo=UTC),
        "updatedAt": datetime(2026, 1, 1, tzinfo=UTC),
    }
    if reasons is not None:
        described["failureReasons"] = reasons
    return {"ingestionJob": described}


@pytest.fixture
def agent():
    client = boto3.client("bedrock-agent", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    with Stubber(client) as stubber:
        yield bedrock.IngestionJobs(client), stubber
        stubber.assert_no_pending_responses()


def expect_start(stubber: Stubber) -> None:
    stubber.add_response(
        "start_ingestion_job", job("STARTING"), {"knowledgeBaseId": KB, "dataSourceId": DS, "clientToken": ANY}
    )


def test_create_starts_one_ingestion_and_names_it_in_the_physical_id(agent):
    ingestions, stubber = agent
    expect_start(stubber)
    answer = ingestion.on_create(event("Create", properties=properties()), ingestions, FakeClock().budget())
    assert answer == {"PhysicalResourceId": PHYSICAL, "Data": {"IngestionJobId": JOB}}


def test_a_repeated_delivery_sends_the_same_client_token(agent):
    ingestions, stubber = agent
    tokens = []
    for _ in range(2):
        stubber.add_response("start_ingestion_job", job("STARTING"))
    original = ingestions.client.start_ingestion_job

    def capture(**kwargs: Any) -> Any:
        tokens.append(kwargs["clientToken"])
        return original(**kwargs)

    ingestions.client.start_ingestion_job = capture  # type: ignore[method-assign]
    for _ in range(2):
        ingestion.on_create(event("Create", properties=properties()), ingestions, FakeClock().budget())
    assert tokens[0] == tokens[1] and len(tokens[0]) >= 33


def test_update_with_unchanged_documents_starts_nothing(agent):
    ingestions, _ = agent  # no queued answers: any call would fail the test
    answer = ingestion.on_update(
        event("Update", properties=properties("aaaa"), old_properties=properties("aaaa"), physical_id=PHYSICAL),
        ingestions,
        FakeClock().budget(),
    )
    assert answer == {"PhysicalResourceId": PHYSICAL}


def test_update_with_changed_documents_starts_a_new_ingestion(agent):
    ingestions, stubber = agent
    expect_start(stubber)
    answer = ingestion.on_update(
        event("Update", properties=properties("bbbb"), old_properties=properties("aaaa"), physical_id=PHYSICAL),
        ingestions,
        FakeClock().budget(),
    )
    assert answer["PhysicalResourceId"] == PHYSICAL


def test_an_ingestion_already_running_is_waited_out_then_ours_starts(agent):
    # given another ingestion of the data source runs for a while
    ingestions, stubber = agent
    for _ in range(2):
        stubber.add_client_error("start_ingestion_job", "ConflictException", "An ingestion job is already running", 409)
    expect_start(stubber)
    clock = FakeClock()

    # when
    ingestion.on_create(event("Create", properties=properties()), ingestions, clock.budget())

    # then ours starts after the handler's one backoff (doubling, jitter at its midpoint: 0.75 of the base)
    assert clock.sleeps == [backoff(0, clock.clock()), backoff(1, clock.clock())] == [1.5, 3.0]


def test_fails_when_a_conflict_outlasts_the_budget_with_the_service_message(agent):
    ingestions, stubber = agent
    for _ in range(2):
        stubber.add_client_error("start_ingestion_job", "ConflictException", "An ingestion job is already running", 409)
    clock = FakeClock()
    with pytest.raises(ingestion.IngestionError, match="already running"):
        ingestion.on_create(event("Create", properties=properties()), ingestions, clock.budget(seconds=4))
    assert clock.sleeps == [1.5], "the next wait (3 s) would pass the deadline: it gives up instead"


@pytest.mark.parametrize("status", ["STARTING", "IN_PROGRESS", "STOPPING"])
def test_is_complete_waits_while_the_ingestion_runs(agent, status):
    ingestions, stubber = agent
    stubber.add_response("get_ingestion_job", job(status), {"knowledgeBaseId": KB, "dataSourceId": DS, "ingestionJobId": JOB})
    assert ingestion.is_complete(event("Create", physical_id=PHYSICAL), ingestions) is False


def test_is_complete_when_the_documents_are_indexed(agent):
    ingestions, stubber = agent
    stubber.add_response("get_ingestion_job", job("COMPLETE"))
    assert ingestion.is_complete(event("Create", physical_id=PHYSICAL), ingestions) is True


@pytest.mark.parametrize("status", ["FAILED", "STOPPED"])
def test_a_failed_ingestion_fails_the_deploy_with_its_own_reasons(agent, status):
    ingestions, stubber = agent
    stubber.add_response("get_ingestion_job", job(status, ["Access denied to s3://docs/a.md", "Embedding model throttled"]))
    with pytest.raises(ingestion.IngestionError, match=f"ended {status}: Access denied to s3://docs/a.md; Embedding model throttled"):
        ingestion.is_complete(event("Create", physical_id=PHYSICAL), ingestions)


def test_a_passing_fault_while_waiting_is_not_yet_a_failure(agent):
    ingestions, stubber = agent
    stubber.add_client_error("get_ingestion_job", "ThrottlingException", "Rate exceeded", 429)
    assert ingestion.is_complete(event("Create", physical_id=PHYSICAL), ingestions) is False


def test_a_lasting_error_while_waiting_fails(agent):
    ingestions, stubber = agent
    stubber.add_client_error("get_ingestion_job", "AccessDeniedException", "not authorized to perform bedrock:GetIngestionJob", 403)
    with pytest.raises(ingestion.IngestionError, match="not authorized"):
        ingestion.is_complete(event("Create", physical_id=PHYSICAL), ingestions)


def test_is_complete_fails_for_a_physical_id_that_is_not_ours_saying_why(agent):
    ingestions, _ = agent
    with pytest.raises(InvalidProperties, match="is not knowledge base/data source/ingestion job"):
        ingestion.is_complete(event("Create", physical_id="Kb-Ingestion-ABC"), ingestions)


def test_create_fails_without_the_knowledge_base_and_data_source_ids_saying_which(agent):
    ingestions, _ = agent
    with pytest.raises(InvalidProperties, match="property DataSourceId must be a non-empty string"):
        ingestion.on_create(event("Create", properties={"KnowledgeBaseId": KB}), ingestions, FakeClock().budget())


class Context:
    def get_remaining_time_in_millis(self) -> int:
        return 300_000


def test_delete_of_an_ingestion_calls_nothing_and_completes_at_once(agent, monkeypatch):
    ingestions, _ = agent
    monkeypatch.setattr(index, "ingestions", lambda: ingestions)
    deleted = raw_event("Delete", properties=properties(), physical_id=PHYSICAL)
    assert index.on_event(deleted, Context()) == {"PhysicalResourceId": PHYSICAL}
    assert index.is_complete(deleted, Context()) == {"IsComplete": True}


def test_the_entry_points_route_ingestion_events_to_the_ingestion_handler(agent, monkeypatch):
    ingestions, stubber = agent
    monkeypatch.setattr(index, "ingestions", lambda: ingestions)
    expect_start(stubber)
    stubber.add_response("get_ingestion_job", job("COMPLETE"))
    answer = index.on_event(raw_event("Create", properties=properties()), Context())
    assert index.is_complete({**raw_event("Create", properties=properties()), **answer}, Context()) == {"IsComplete": True}
