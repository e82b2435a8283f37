"""Ingestion before evaluation: start a knowledge base's ingestion job and wait for it.

Create and Update (the documents changed) start one ingestion; `is_complete` answers True
once it has completed and fails the deploy with the ingestion's own failure reasons.
Delete does nothing: the indexed documents belong to the knowledge base.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from bedrock import CALL_ERRORS, ClientError, IngestionJobs, error_code, error_message
from bedrock_evaluation.contract import (
    ATTR_INGESTION_JOB_ID,
    PROP_DATA_SOURCE_ID,
    PROP_DOCUMENTS_HASH,
    PROP_KNOWLEDGE_BASE_ID,
)
from runtime import Budget, InvalidProperties, ResourceError, backoff, idempotency_token, transient_or_fail

logger = logging.getLogger("evaluation_job.ingestion")

RUNNING = frozenset({"STARTING", "IN_PROGRESS", "STOPPING"})
_SEPARATOR = "/"


class IngestionError(ResourceError):
    """A failure of one data source's ingestion (named knowledge base/data source)."""

    what = "ingestion of"


def on_create_or_update(event: Mapping[str, Any], ingestions: IngestionJobs, budget: Budget) -> dict[str, Any]:
    knowledge_base, data_source = _ids(event.get("ResourceProperties"))
    old = event.get("OldResourceProperties")
    if event.get("RequestType") == "Update" and isinstance(old, Mapping) and _same(old, event["ResourceProperties"]):
        logger.info("documents unchanged; no new ingestion")
        return {"PhysicalResourceId": event["PhysicalResourceId"]}
    token = idempotency_token(
        stack_id=str(event.get("StackId")),
        logical_id=str(event.get("LogicalResourceId")),
        request_id=str(event.get("RequestId")),
    )
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


def is_complete(event: Mapping[str, Any], ingestions: IngestionJobs) -> bool:
    if event.get("RequestType") == "Delete":
        return True
    parts = str(event.get("PhysicalResourceId", "")).split(_SEPARATOR)
    if len(parts) != 3:
        raise InvalidProperties(f"physical id {event.get('PhysicalResourceId')!r} is not knowledge base/data source/ingestion job")
    knowledge_base, data_source, job_id = parts
    try:
        job = ingestions.get(knowledge_base, data_source, job_id)
    except CALL_ERRORS as error:
        transient_or_fail(
            error, logger, f"reading ingestion {job_id}", lambda m: IngestionError(f"{knowledge_base}/{data_source}", m)
        )
        return False
    status = job.get("status")
    if status == "COMPLETE":
        logger.info("ingestion %s complete: %s", job_id, job.get("statistics"))
        return True
    if status in RUNNING:
        return False
    reasons = "; ".join(job.get("failureReasons") or []) or "no reason given"
    raise IngestionError(f"{knowledge_base}/{data_source}", f"ingestion job {job_id} ended {status}: {reasons}")


def _ids(properties: Any) -> tuple[str, str]:
    if not isinstance(properties, Mapping):
        raise InvalidProperties("the event has no resource properties")
    ids = []
    for key in (PROP_KNOWLEDGE_BASE_ID, PROP_DATA_SOURCE_ID):
        value = properties.get(key)
        if not isinstance(value, str) or not value:
            raise InvalidProperties(f"property {key} must be a non-empty string, got {value!r}")
        ids.append(value)
    return ids[0], ids[1]


def _same(old: Mapping[str, Any], new: Mapping[str, Any]) -> bool:
    keys = (PROP_KNOWLEDGE_BASE_ID, PROP_DATA_SOURCE_ID, PROP_DOCUMENTS_HASH)
    return all(old.get(k) == new.get(k) for k in keys)
