"""Entry points the CDK Provider framework calls: `on_event` for every CloudFormation
request, `is_complete` until it answers True (a removal=delete waits for the job to stop;
a knowledge-base ingestion waits until its documents are indexed).

The handler returns `{"PhysicalResourceId", "Data"}` or raises; the framework answers
CloudFormation either way, with the exception's message as the reason.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any, Protocol

import ingestion
import lifecycle
from bedrock import EvaluationJobs, IngestionJobs, default_agent_client, default_client
from bedrock_evaluation.contract import INGESTION_RESOURCE_TYPE
from runtime import Budget, Clock, InvalidProperties

logger = logging.getLogger()
logger.setLevel(logging.INFO)

# Stop starting new work this long before the Lambda timeout, so an answer always goes back.
SAFETY_MARGIN_SECONDS = 95.0

_jobs: EvaluationJobs | None = None
_ingestions: IngestionJobs | None = None


class LambdaContext(Protocol):
    def get_remaining_time_in_millis(self) -> int: ...


def jobs() -> EvaluationJobs:
    """The client is made once per Lambda container, on first use."""
    global _jobs
    if _jobs is None:
        _jobs = EvaluationJobs(default_client())
    return _jobs


def ingestions() -> IngestionJobs:
    global _ingestions
    if _ingestions is None:
        _ingestions = IngestionJobs(default_agent_client())
    return _ingestions


def clock() -> Clock:
    """The handler's time: real here, replaced by tests that drive time themselves."""
    return Clock()


def on_event(event: Mapping[str, Any], context: LambdaContext) -> dict[str, Any]:
    _log_event("on_event", event)
    request_type = event.get("RequestType")
    budget = Budget.of_seconds(context.get_remaining_time_in_millis() / 1000 - SAFETY_MARGIN_SECONDS, clock())
    if event.get("ResourceType") == INGESTION_RESOURCE_TYPE:
        if request_type in ("Create", "Update"):
            return ingestion.on_create_or_update(event, ingestions(), budget)
        if request_type == "Delete":
            return {"PhysicalResourceId": event.get("PhysicalResourceId", "")}
        raise InvalidProperties(f"unknown RequestType {request_type!r}; expected Create, Update or Delete")
    if request_type == "Create":
        return lifecycle.on_create(event, jobs(), budget)
    if request_type == "Update":
        return lifecycle.on_update(event, jobs(), budget)
    if request_type == "Delete":
        return lifecycle.on_delete(event, jobs())
    raise InvalidProperties(f"unknown RequestType {request_type!r}; expected Create, Update or Delete")


def is_complete(event: Mapping[str, Any], context: LambdaContext) -> dict[str, Any]:
    _log_event("is_complete", event)
    if event.get("ResourceType") == INGESTION_RESOURCE_TYPE:
        return {"IsComplete": ingestion.is_complete(event, ingestions())}
    return {"IsComplete": lifecycle.is_complete(event, jobs())}


def _log_event(entry: str, event: Mapping[str, Any]) -> None:
    # The response URL is a presigned secret; everything else is safe to log.
    safe = {k: v for k, v in event.items() if k != "ResponseURL"}
    logger.info(json.dumps({"entry": entry, "event": safe}, default=str))
