"""The results resource: waits for its job to end, reads its scores, checks its quality gate.

on_event answers at once; is_complete is asked every 30 seconds until the job has ended. A
Completed job's result records are read from S3 and summarized (`bedrock_evaluation.results`, the
same module the results command uses); the summary becomes the resource's attributes. The resource
fails, and so rolls the deploy back, when the job Failed or was Stopped (with Bedrock's own
messages), is still running at the wait's deadline (with its status and age), or misses a bound
of the gate or falls behind the job it replaces by more than `MaxDrop`.

A passing fault (throttling, a 5xx, a result file not readable yet) is never fatal: is_complete
says "not yet" and looks again, until the deadline. Rolling back is never refused: when the job
in the properties is older than the one being left (CloudFormation returning to the previous
version), the gates are not checked again.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from bedrock import FAILED_OR_NOT_STARTED, ClientError, EvaluationJobs, OutOfTime, ResultObjects, error_code, error_message, is_transient
from events import WAIT_KEY, ResourceEvent, Response
from runtime import Budget, InvalidProperties, ResourceError, duration_text, module_logger

from bedrock_evaluation.contract import (
    LOWER_IS_BETTER,
    PROP_MAX_DROP,
    PROP_RESULTS_JOB_ARN,
    PROP_RESULTS_JOB_NAME,
    PROP_RESULTS_OUTPUT_S3_URI,
    PROP_THRESHOLDS,
    PROP_WAIT_SECONDS,
    RESULTS_PHYSICAL_ID_SUFFIX,
    SCORE_ATTRIBUTES_LIMIT_BYTES,
)
from bedrock_evaluation.results import GateFailure, ResultsError, Summary, attributes, read_summary, regressions, within_bounds

logger = module_logger("scores")


ATTR_STATUS = "Status"
ATTR_BASELINE = "Baseline"
"""Which job the regression gate compared with, or why there was none."""
# The job's metric names, by kind of job (GetEvaluationJob's evaluationConfig).
_CONFIGS = ("automated", "human")


class ResultsFailure(ResourceError):
    """The job did not end well, its results cannot be read, or its scores missed the gate."""

    what = "evaluation job"


@dataclass(frozen=True, kw_only=True)
class ResultsProps:
    job_arn: str
    job_name: str
    output_s3_uri: str
    wait_seconds: float
    bounds: dict[str, tuple[str, float]]
    """Metric -> ("at_least" | "at_most", bound)."""
    max_drop: float | None

    @classmethod
    def parse(cls, properties: Mapping[str, object] | None) -> ResultsProps:
        """Raises InvalidProperties; every value arrives as a string."""
        if properties is None:
            raise InvalidProperties("the event has no resource properties")

        def text(key: str) -> str:
            value = properties.get(key)
            if not isinstance(value, str) or not value:
                raise InvalidProperties(f"property {key} must be a non-empty string, got {value!r}")
            return value

        try:
            wait_seconds = float(text(PROP_WAIT_SECONDS))
            raw_bounds = json.loads(str(properties.get(PROP_THRESHOLDS) or "{}"))
            bounds = {str(m): (str(b[0]), float(b[1])) for m, b in raw_bounds.items()}
            drop = str(properties.get(PROP_MAX_DROP) or "")
            max_drop = float(drop) if drop else None
        except (ValueError, TypeError, AttributeError, IndexError, KeyError) as error:
            raise InvalidProperties(f"{PROP_WAIT_SECONDS}, {PROP_THRESHOLDS} or {PROP_MAX_DROP} cannot be read: {error}") from error
        if not math.isfinite(wait_seconds) or any(kind not in ("at_least", "at_most") for kind, _ in bounds.values()):
            raise InvalidProperties(f"{PROP_WAIT_SECONDS} or {PROP_THRESHOLDS} holds a value the construct never writes")
        return cls(
            job_arn=text(PROP_RESULTS_JOB_ARN),
            job_name=text(PROP_RESULTS_JOB_NAME),
            output_s3_uri=text(PROP_RESULTS_OUTPUT_S3_URI),
            wait_seconds=wait_seconds,
            bounds=bounds,
            max_drop=max_drop,
        )


def on_event(event: ResourceEvent, budget: Budget) -> Response:
    if event.request_type == "Delete":
        return {"PhysicalResourceId": event.physical_id}  # the job's resource decides what happens to the job
    props = ResultsProps.parse(event.properties)
    answer: Response = {"PhysicalResourceId": props.job_arn + RESULTS_PHYSICAL_ID_SUFFIX}
    answer[WAIT_KEY] = {"deadline": budget.clock.wall() + props.wait_seconds, "names": [props.job_name]}  # type: ignore[literal-required]
    return answer


def is_complete(event: ResourceEvent, jobs: EvaluationJobs, store: ResultObjects, budget: Budget) -> tuple[bool, dict[str, str]]:
    """(done, attributes): not done while the job runs; raises ResultsFailure when the deploy must fail."""
    if event.request_type == "Delete":
        return True, {}
    props = ResultsProps.parse(event.properties)
    deadline = event.wait["deadline"] if event.wait is not None else budget.clock.wall() + props.wait_seconds
    jobs = jobs.within(budget.allows)
    try:
        job = jobs.get(props.job_arn)
    except FAILED_OR_NOT_STARTED as error:
        return _not_yet(props, error, deadline, budget, "reading its status")
    status = str(job.get("status")) if job is not None else "not found"
    if status == "Completed":
        return _completed(event, props, job or {}, jobs, store, deadline, budget)
    if status == "Failed":
        messages = failure_messages(job or {})
        raise ResultsFailure(props.job_name, f"the job failed: {messages}")
    if status in ("Stopped", "Stopping", "Deleting"):
        raise ResultsFailure(props.job_name, f"the job is {status} (stopped outside this deploy?): it will never complete")
    if budget.clock.wall() > deadline:
        raise ResultsFailure(
            props.job_name,
            f"still {status} {_age(job, budget.clock.wall())}, past the wait's timeout of {duration_text(props.wait_seconds)}; "
            "give it a longer wait= or look at the job in the console",
        )
    logger.info("%s is %s; looking again later", props.job_name, status)
    return False, {}


def _completed(  # noqa: PLR0917 (each is one part of the look: the event, its job, the two seams, the time)
    event: ResourceEvent,
    props: ResultsProps,
    job: Mapping[str, object],
    jobs: EvaluationJobs,
    store: ResultObjects,
    deadline: float,
    budget: Budget,
) -> tuple[bool, dict[str, str]]:
    try:
        summary = read_summary(store, props.output_s3_uri, props.job_name, props.job_arn, metric_names=metric_names(job))
    except ResultsError as error:
        if error.missing and budget.clock.wall() <= deadline:
            logger.info("%s: %s; looking again later", props.job_name, error)
            return False, {}
        raise ResultsFailure(props.job_name, f"its results cannot be read: {error}") from error
    except FAILED_OR_NOT_STARTED as error:
        return _not_yet(props, error, deadline, budget, "reading its results")
    data = attributes(summary, limit_bytes=SCORE_ATTRIBUTES_LIMIT_BYTES)
    data[ATTR_STATUS] = "Completed"
    rollback, baseline = _baseline(event, props, job, jobs, store)
    if rollback:
        logger.info("%s: returning to an earlier job (a rollback): its gate is not checked again", props.job_name)
        data[ATTR_BASELINE] = "none: a rollback to an earlier job"
        return True, data
    failures: list[GateFailure] = within_bounds(summary, props.bounds)
    if isinstance(baseline, tuple):
        old_name, old_summary = baseline
        data[ATTR_BASELINE] = old_name
        if props.max_drop is not None:
            failures += regressions(summary, old_summary, props.max_drop, lower_is_better=LOWER_IS_BETTER)
    else:
        data[ATTR_BASELINE] = baseline
    if failures:
        raise ResultsFailure(props.job_name, "missed its quality gate: " + "; ".join(f.reason for f in failures))
    logger.info("%s: %d records read, gate passed", props.job_name, summary.records)
    return True, data


def _baseline(
    event: ResourceEvent, props: ResultsProps, job: Mapping[str, object], jobs: EvaluationJobs, store: ResultObjects
) -> tuple[bool, tuple[str, Summary] | str]:
    """(is a rollback, the replaced job's name and scores, or why there are none)."""
    if event.request_type != "Update":
        return False, "none: the first job of this resource"
    try:
        old = ResultsProps.parse(event.old_properties)
    except InvalidProperties:
        return False, "none: the previous version had no readable results"
    if old.job_arn == props.job_arn:
        return False, "none: the job was not replaced"
    try:
        previous = jobs.get(old.job_arn)
        if previous is None:
            return False, f"none: {old.job_name} no longer exists"
        if _created(job) < _created(previous):
            return True, ""
        if previous.get("status") != "Completed":
            return False, f"none: {old.job_name} is {previous.get('status')}"
        return False, (old.job_name, read_summary(store, old.output_s3_uri, old.job_name, old.job_arn, metric_names=metric_names(previous)))
    except ResultsError as error:
        return False, f"none: the results of {old.job_name} cannot be read ({error})"
    except FAILED_OR_NOT_STARTED as error:
        if isinstance(error, ClientError) and not is_transient(error):
            return False, f"none: {old.job_name} cannot be read ({error_code(error)})"
        raise


def failure_messages(job: Mapping[str, object]) -> str:
    """Bedrock's own words for why the job failed."""
    messages = job.get("failureMessages")
    listed = [str(m) for m in messages] if isinstance(messages, list) else []
    return "; ".join(listed) or "Bedrock gave no reason"


def metric_names(job: Mapping[str, object]) -> list[str]:
    """The metric names the job's request gave, as GetEvaluationJob returns them."""
    config = job.get("evaluationConfig")
    names: list[str] = []
    if isinstance(config, Mapping):
        for kind in _CONFIGS:
            part = config.get(kind)
            for task in (part or {}).get("datasetMetricConfigs", []) if isinstance(part, Mapping) else []:
                names.extend(str(n) for n in task.get("metricNames", []))
    return sorted(set(names))


def _not_yet(props: ResultsProps, error: Exception, deadline: float, budget: Budget, doing: str) -> tuple[bool, dict[str, str]]:
    """A failed call while waiting: "not yet" if it may pass and there is time, else the failure."""
    passing = isinstance(error, OutOfTime) or is_transient(error)
    if passing and budget.clock.wall() <= deadline:
        logger.warning("%s: %s failed for now (%s); looking again later", props.job_name, doing, error)
        return False, {}
    raise ResultsFailure(props.job_name, f"{doing} failed: {error_message(error)}") from error


def _created(job: Mapping[str, object]) -> float:
    created = job.get("creationTime")
    return created.timestamp() if isinstance(created, datetime) else 0.0


def _age(job: Mapping[str, object] | None, now: float) -> str:
    created = _created(job or {})
    return f"{duration_text(now - created)} after it was created" if created else "at the wait's deadline"


