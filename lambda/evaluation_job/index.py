"""Entry points the CDK Provider framework calls: `on_event` for every CloudFormation
request, `is_complete` until it answers True (a removal=delete waits for the job to stop;
a knowledge-base ingestion waits until its documents are indexed; a flow definition until it is
Active, or gone).

Each event is read once, then handed by resource type and request type to the `on_create`,
`on_update`, `on_delete` or `is_complete` of `lifecycle` (evaluation jobs), `ingestion` or
`flow_definition` (human review workflows).
The handler returns `{"PhysicalResourceId", "Data"}` or raises; the framework answers
CloudFormation either way, with the exception's message as the reason.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from functools import cache
from typing import Protocol

import flow_definition
import ingestion
import lifecycle
from bedrock import (
    EvaluationJobs,
    FlowDefinitions,
    IngestionJobs,
    default_agent_client,
    default_client,
    default_sagemaker_client,
)
from events import Completion, ResourceEvent, Response
from runtime import LOGGER_NAME, Budget, Clock

from bedrock_evaluation.contract import FLOW_DEFINITION_RESOURCE_TYPE, INGESTION_RESOURCE_TYPE

logger = logging.getLogger(LOGGER_NAME)
logger.setLevel(logging.INFO)

# Stop starting new work this long before the Lambda timeout, so an answer always goes back.
SAFETY_MARGIN_SECONDS = 95.0


class LambdaContext(Protocol):
    def get_remaining_time_in_millis(self) -> int: ...


@cache
def jobs() -> EvaluationJobs:
    """The clients are made once per Lambda container, on first use."""
    return EvaluationJobs(default_client())


@cache
def ingestions() -> IngestionJobs:
    return IngestionJobs(default_agent_client())


@cache
def flow_definitions() -> FlowDefinitions:
    return FlowDefinitions(default_sagemaker_client())


def clock() -> Clock:
    """The handler's time: real here, replaced by tests that drive time themselves."""
    return Clock()


def on_event(event: Mapping[str, object], context: LambdaContext) -> Response:
    _log_event("on_event", event)
    budget = Budget.of_seconds(context.get_remaining_time_in_millis() / 1000 - SAFETY_MARGIN_SECONDS, clock())
    request = ResourceEvent.parse(event)
    if request.resource_type == INGESTION_RESOURCE_TYPE:
        return _ingestion_event(request, budget)
    if request.resource_type == FLOW_DEFINITION_RESOURCE_TYPE:
        return _flow_definition_event(request, budget)
    return _job_event(request, budget)


def is_complete(event: Mapping[str, object], context: LambdaContext) -> Completion:
    _log_event("is_complete", event)
    request = ResourceEvent.parse(event)
    if request.resource_type == INGESTION_RESOURCE_TYPE:
        return {"IsComplete": ingestion.is_complete(request, ingestions())}
    if request.resource_type == FLOW_DEFINITION_RESOURCE_TYPE:
        return {"IsComplete": flow_definition.is_complete(request, flow_definitions())}
    return {"IsComplete": lifecycle.is_complete(request, jobs())}


def _job_event(event: ResourceEvent, budget: Budget) -> Response:
    match event.request_type:
        case "Create":
            return lifecycle.on_create(event, jobs(), budget)
        case "Update":
            return lifecycle.on_update(event, jobs(), budget)
        case "Delete":
            return lifecycle.on_delete(event, jobs())


def _ingestion_event(event: ResourceEvent, budget: Budget) -> Response:
    match event.request_type:
        case "Create":
            return ingestion.on_create(event, ingestions(), budget)
        case "Update":
            return ingestion.on_update(event, ingestions(), budget)
        case "Delete":
            return ingestion.on_delete(event)


def _flow_definition_event(event: ResourceEvent, budget: Budget) -> Response:
    match event.request_type:
        case "Create":
            return flow_definition.on_create(event, flow_definitions(), budget)
        case "Update":
            return flow_definition.on_update(event, flow_definitions(), budget)
        case "Delete":
            return flow_definition.on_delete(event, flow_definitions())


def _log_event(entry: str, event: Mapping[str, object]) -> None:
    # The response URL is a presigned secret; everything else is safe to log.
    safe = {k: v for k, v in event.items() if k != "ResponseURL"}
    logger.info(json.dumps({"entry": entry, "event": safe}, default=str))
