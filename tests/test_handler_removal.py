"""Removal: what deleting an EvaluationJob resource does to its job. The handler reads it with the
contract's one rule (`parse_removal`) wherever it reads it: Create, Update and Delete alike."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import lifecycle
import pytest
from handler_support import JOB_ARN, FakeClock, job_description, resource_event, stubbed_jobs, valid_properties
from runtime import InvalidProperties

from bedrock_evaluation import contract
from bedrock_evaluation.contract import CREATE_FAILED_MARKER, DEFAULT_REMOVAL, Removal, parse_removal


@dataclass
class RecordingJobs:
    """One job, running until stopped; every operation the handler calls is recorded in order."""

    status: str | None = "InProgress"
    calls: list[str] = field(default_factory=list)
    worst_call: float = 0.0

    def get(self, job_arn: str) -> dict[str, Any] | None:
        self.calls.append("get")
        return None if self.status is None else job_description(job_arn, status=self.status)

    def stop(self, job_arn: str) -> None:
        self.calls.append("stop")
        self.status = "Stopped"

    def delete(self, job_arn: str) -> list[dict[str, str]]:
        self.calls.append("delete")
        self.status = None
        return []


def calls_of_deleting(properties: dict[str, Any]) -> list[str]:
    """What deleting a running job's resource with these properties asks of Bedrock: on_delete,
    then is_complete until it answers True."""
    jobs = RecordingJobs()
    event = resource_event("Delete", properties=properties, physical_id=JOB_ARN)
    lifecycle.on_delete(event, jobs)
    for _ in range(3):
        if lifecycle.is_complete(event, jobs):
            return jobs.calls
    raise AssertionError(f"the Delete never completed: {jobs.calls}")


def test_each_removal_does_something_different_to_a_running_job() -> None:
    assert calls_of_deleting(valid_properties(Removal="stop")) == ["get", "stop", "get"]
    assert calls_of_deleting(valid_properties(Removal="delete")) == ["get", "stop", "get", "delete"]
    assert calls_of_deleting(valid_properties(Removal="retain")) == []


def test_a_delete_without_removal_does_what_the_contracts_default_removal_does() -> None:
    # given a resource whose properties leave Removal out
    without = valid_properties(Removal=None)
    assert contract.PROP_REMOVAL not in without

    # when it is deleted, then Bedrock sees exactly what the contract's default asks for
    assert calls_of_deleting(without) == calls_of_deleting(valid_properties(Removal=DEFAULT_REMOVAL.value))


def test_the_default_removal_is_stop() -> None:
    # A running job is stopped; nothing keeps costing money and nothing is lost.
    assert DEFAULT_REMOVAL is Removal.STOP
    assert calls_of_deleting(valid_properties(Removal=None)) == ["get", "stop", "get"]


def test_create_fails_for_an_unknown_removal_with_the_contracts_message() -> None:
    with pytest.raises(ValueError) as contract_refusal:
        parse_removal("destroy")

    with stubbed_jobs() as bedrock_api, pytest.raises(InvalidProperties) as raised:  # no call queued: none made
        lifecycle.on_create(
            resource_event("Create", properties=valid_properties(Removal="destroy")), bedrock_api.jobs, FakeClock().budget()
        )

    assert str(raised.value) == str(contract_refusal.value)
    assert str(raised.value) == "Removal is 'destroy'; expected one of 'stop', 'delete', 'retain'"


def test_update_fails_for_an_unknown_removal_without_calling_bedrock() -> None:
    event = resource_event(
        "Update",
        properties=valid_properties(Removal="destroy"),
        old_properties=valid_properties(),
        physical_id=JOB_ARN,
        request_id="req-2",
    )

    with stubbed_jobs() as bedrock_api, pytest.raises(InvalidProperties, match="Removal is 'destroy'"):
        lifecycle.on_update(event, bedrock_api.jobs, FakeClock().budget())


def test_a_delete_of_a_failed_create_with_an_unknown_removal_succeeds_without_calling_bedrock() -> None:
    # given the Create failed on the unknown value, so the resource has the framework's marker as its id
    event = resource_event("Delete", properties=valid_properties(Removal="destroy"), physical_id=CREATE_FAILED_MARKER)

    with stubbed_jobs() as bedrock_api:
        assert lifecycle.on_delete(event, bedrock_api.jobs) == {"PhysicalResourceId": CREATE_FAILED_MARKER}
        assert lifecycle.is_complete(event, bedrock_api.jobs) is True


def test_delete_fails_for_a_job_whose_removal_is_unknown() -> None:
    # CloudFormation cannot send this (no Create or Update accepts the value), and the handler
    # has one rule for reading Removal: it does not guess what the value meant.
    event = resource_event("Delete", properties=valid_properties(Removal="destroy"), physical_id=JOB_ARN)

    with stubbed_jobs() as bedrock_api, pytest.raises(InvalidProperties, match="Removal is 'destroy'"):
        lifecycle.on_delete(event, bedrock_api.jobs)
