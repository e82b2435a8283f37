"""Ingestion before evaluation: start a knowledge base's ingestion job and wait for it.

Create and Update (the documents changed) start one ingestion; `is_complete` answers True
once it has completed and fails the deploy with the ingestion's own failure reasons.
Delete does nothing: the indexed documents belong to the knowledge base.
"""

from __future__ import annotations

from bedrock import CALL_ERRORS, ClientError, IngestionJobs, error_code, error_message
from events import Properties, ResourceEvent, Response
from runtime import (
    Budget,
    InvalidProperties,
    ResourceError,
    backoff,
    idempotency_token,
    module_logger,
    transient_or_fail,
)

from bedrock_evaluation.contract import (
    ATTR_INGESTION_JOB_ID,
    PROP_DATA_SOURCE_ID,
    PROP_DOCUMENTS_HASH,
    PROP_KNOWLEDGE_BASE_ID,
)

logger = module_logger("ingestion")

RUNNING = frozenset({"STARTING", "IN_PROGRESS", "STOPPING"})
# The physical id: knowledge base/data source/ingestion job.
_SEPARATOR = "/"
_ID_PARTS = 3


class IngestionError(ResourceError):
    """A failure of one data source's ingestion (named knowledge base/data source)."""

    what = "ingestion of"


def on_create(event: ResourceEvent, ingestions: IngestionJobs, budget: Budget) -> Response:
    knowledge_base, data_source = _ids(event.properties)
    return _start(event, knowledge_base, data_source, ingestions, budget)


def on_update(event: ResourceEvent, ingestions: IngestionJobs, budget: Budget) -> Response:
    knowledge_base, data_source = _ids(event.properties)
    if _same(event.old_properties, event.properties):
        logger.info("documents unchanged; no new ingestion")
        return {"PhysicalResourceId": event.physical_id}
    return _start(event, knowledge_base, data_source, ingestions, budget)


def on_delete(event: ResourceEvent) -> Response:
    return {"PhysicalResourceId": event.physical_id}


def is_complete(event: ResourceEvent, ingestions: IngestionJobs) -> bool:
    if event.request_type == "Delete":
        return True
    parts = event.physical_id.split(_SEPARATOR)
    if len(parts) != _ID_PARTS:
        raise InvalidProperties(f"physical id {event.physical_id!r} is not knowledge base/data source/ingestion job")
    knowledge_base, data_source, job_id = parts
    source = f"{knowledge_base}/{data_source}"
    try:
        job = ingestions.get(knowledge_base, data_source, job_id)
    except CALL_ERRORS as error:
        transient_or_fail(error, logger, f"reading ingestion {job_id}", lambda text: IngestionError(source, text))
        return False
    status = job.get("status")
    if status == "COMPLETE":
        logger.info("ingestion %s complete: %s", job_id, job.get("statistics"))
        return True
    if status in RUNNING:
        return False
    reasons = "; ".join(str(r) for r in _list(job.get("failureReasons"))) or "no reason given"
    raise IngestionError(source, f"ingestion job {job_id} ended {status}: {reasons}")


def _start(
    event: ResourceEvent, knowledge_base: str, data_source: str, ingestions: IngestionJobs, budget: Budget
) -> Response:
    token = idempotency_token(stack_id=event.stack_id, logical_id=event.logical_id, request_id=event.request_id)
    attempt = 0
    while True:
        try:
            job_id = ingestions.start(knowledge_base, data_source, token=token)
            break
        except ClientError as error:
            # Another ingestion of this data source is running (a retried deploy, the console).
            delay = backoff(attempt, budget.clock)
            if error_code(error) != "ConflictException" or not budget.allows(delay):
                raise IngestionError(f"{knowledge_base}/{data_source}", error_message(error)) from error
            budget.clock.sleep(delay)
            attempt += 1
    logger.info("started ingestion %s of %s/%s", job_id, knowledge_base, data_source)
    return {
        "PhysicalResourceId": _SEPARATOR.join((knowledge_base, data_source, job_id)),
        "Data": {ATTR_INGESTION_JOB_ID: job_id},
    }


def _ids(properties: Properties | None) -> tuple[str, str]:
    if properties is None:
        raise InvalidProperties("the event has no resource properties")
    ids = []
    for key in (PROP_KNOWLEDGE_BASE_ID, PROP_DATA_SOURCE_ID):
        value = properties.get(key)
        if not isinstance(value, str) or not value:
            raise InvalidProperties(f"property {key} must be a non-empty string, got {value!r}")
        ids.append(value)
    return ids[0], ids[1]


def _list(value: object) -> list[object]:
    return value if isinstance(value, list) else []


def _same(old: Properties | None, new: Properties | None) -> bool:
    """Whether an Update leaves the knowledge base, the data source and the documents as they were."""
    keys = (PROP_KNOWLEDGE_BASE_ID, PROP_DATA_SOURCE_ID, PROP_DOCUMENTS_HASH)
    return old is not None and new is not None and all(old.get(k) == new.get(k) for k in keys)
