"""The results resource: waits for its job to end, reads its scores, checks its quality gate.

on_event answers at once; is_complete is asked every 30 seconds until the job has ended. A
Completed job's result records are read from S3 and summarized (`bedrock_evaluation.results`, the
same module the results command uses); the summary becomes the resource's attributes. The resource
fails, and so rolls the deploy back, when the job Failed or was Stopped (with Bedrock's own
messages), is still running at the wait's deadline (with its status and age), or misses a bound
of the gate or falls behind the job it replaces by more than `MaxDrop`.

A passing fault (throttling, a 5xx, a result file not readable yet) is never fatal: is_complete
says "not yet" and looks again, until the deadline. Rolling back is never refused: when the stack is rolling back
(DescribeStacks of the resource's own stack), the job returned to is not gated again, and a
failure to read its scores is reported in its attributes, not raised.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from bedrock import FAILED_OR_NOT_STARTED, EvaluationJobs, OutOfTime, ResultObjects, StackStatuses, error_message, is_transient
from events import WAIT_KEY, ResourceEvent, Response
from runtime import Budget, InvalidProperties, ResourceError, duration_text, module_logger, reason

from bedrock_evaluation.contract import (
    LOWER_IS_BETTER,
    PROP_MAX_DROP,
    PROP_RESULTS_JOB_ARN,
    PROP_RESULTS_JOB_NAME,
    PROP_RESULTS_OUTPUT_S3_URI,
    PROP_RESULTS_SIGNALLED,
    PROP_THRESHOLDS,
    PROP_WAIT_SECONDS,
    RESULTS_PHYSICAL_ID_SUFFIX,
    SCORE_ATTRIBUTES_LIMIT_BYTES,
)
from bedrock_evaluation.results import (
    ATTR_SCORES_OMITTED,
    GateFailure,
    ResultsError,
    Summary,
    attributes,
    read_summary,
    regressions,
    requested_metrics,
    within_bounds,
)

logger = module_logger("scores")


# With a look at the stack a failed job leaves, what to do next (a job name is taken until its job is
# deleted: removal=DELETE frees it on the rollback).
RUN_AGAIN = (
    "; the rollback removes the job as its removal says. To run it again, deploy with removal=JobRemoval.DELETE "
    "(which frees the job's name) or a new job_name_prefix"
)
MAX_ATTRIBUTE_REASON_BYTES = 200
# What reading results may raise: the calls' failures, and results not where or not as expected.
READ_FAILURES: tuple[type[Exception], ...] = (ResultsError, *FAILED_OR_NOT_STARTED)
ATTR_STATUS = "Status"
ATTR_BASELINE = "Baseline"
"""Which job the regression gate compared with, or why there was none."""


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
    signalled: tuple[str, ...] | None = None
    """A long wait's: the jobs its wait condition was signalled for."""

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
            data = properties.get(PROP_RESULTS_SIGNALLED)
            signalled = tuple(str(k) for k in json.loads(str(data))) if data is not None else None
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
            signalled=signalled,
        )


def on_event(event: ResourceEvent, budget: Budget) -> Response:
    if event.request_type == "Delete":
        return {"PhysicalResourceId": event.physical_id}  # the job's resource decides what happens to the job
    props = ResultsProps.parse(event.properties)
    answer: Response = {"PhysicalResourceId": props.job_arn + RESULTS_PHYSICAL_ID_SUFFIX}
    answer[WAIT_KEY] = {"deadline": budget.clock.wall() + props.wait_seconds, "names": [props.job_name]}  # type: ignore[literal-required]
    return answer


@dataclass(frozen=True)
class Look:
    """One is_complete: the event, what it asks, the seams it reads through, and its time."""

    event: ResourceEvent
    props: ResultsProps
    jobs: EvaluationJobs
    store: ResultObjects
    stacks: StackStatuses
    deadline: float
    budget: Budget

    @property
    def late(self) -> bool:
        return self.budget.clock.wall() > self.deadline


def is_complete(
    event: ResourceEvent, jobs: EvaluationJobs, store: ResultObjects, stacks: StackStatuses, budget: Budget
) -> tuple[bool, dict[str, str]]:
    """(done, attributes): not done while the job runs; raises ResultsFailure when the deploy must fail."""
    if event.request_type == "Delete":
        return True, {}
    props = ResultsProps.parse(event.properties)
    deadline = event.wait["deadline"] if event.wait is not None else budget.clock.wall() + props.wait_seconds
    look = Look(event, props, jobs.within(budget.allows), store.within(budget.allows), stacks, deadline, budget)
    if event.request_type == "Update":
        try:
            rolling_back = stacks.rolling_back(event.stack_id)
        except FAILED_OR_NOT_STARTED as error:
            if not (isinstance(error, OutOfTime) or is_transient(error)) or look.late:
                raise ResultsFailure(props.job_name, f"the stack's status cannot be read: {error_message(error)}") from error
            logger.warning("%s: the stack's status is not readable yet (%s); looking again later", props.job_name, error)
            return False, {}
        if rolling_back:
            return _returned_to(look)
    try:
        job = look.jobs.get(props.job_arn)
    except FAILED_OR_NOT_STARTED as error:
        return _not_yet(look, error, "reading its status")
    status = str(job.get("status")) if job is not None else "not found"
    if status == "Completed":
        return _completed(look, job or {})
    if status == "Failed":
        raise ResultsFailure(props.job_name, f"the job failed: {failure_messages(job or {})}{RUN_AGAIN}")
    if status in ("Stopped", "Stopping", "Deleting"):
        raise ResultsFailure(props.job_name, f"the job is {status} (stopped outside this deploy?): it will never complete{RUN_AGAIN}")
    if look.late:
        other = ""
        if props.signalled is not None and props.job_name not in props.signalled:
            # The job was replaced through a value known only at deploy time, and its wait condition kept.
            other = f" (the wait condition was signalled for {', '.join(props.signalled) or 'no job'}, not this job: deploy again to wait for it)"
        age = age_of(job, budget.clock.wall()) or "at the wait's deadline"
        raise ResultsFailure(
            props.job_name,
            f"still {status} {age}, past the wait's timeout of {duration_text(props.wait_seconds)}{other} "
            f"(a longer wait= means running the job again){RUN_AGAIN}",
        )
    logger.info("%s is %s; looking again later", props.job_name, status)
    return False, {}


def _returned_to(look: Look) -> tuple[bool, dict[str, str]]:
    """CloudFormation rolls the stack back to this (earlier) job: its gate passed when it was
    deployed, and a rollback must never fail. Its scores are read again if they can be."""
    props = look.props
    data = {ATTR_STATUS: "Completed", ATTR_BASELINE: "none: the stack is rolling back to this job"}
    try:
        job = look.jobs.get(props.job_arn) or {}
        summary = read_summary(look.store, props.output_s3_uri, props.job_name, props.job_arn, metric_names=requested_metrics(job))
    except READ_FAILURES as error:
        if _passing(error) and not look.late:
            return False, {}
        logger.warning("%s: rolling back without its scores (%s)", props.job_name, error)
        return True, {**data, ATTR_SCORES_OMITTED: reason_part(f"all: {error}")}
    logger.info("%s: the stack rolls back to this job; its gate is not checked again", props.job_name)
    return True, {**attributes(summary, limit_bytes=SCORE_ATTRIBUTES_LIMIT_BYTES), **data}


def _completed(look: Look, job: Mapping[str, object]) -> tuple[bool, dict[str, str]]:
    props = look.props
    try:
        summary = read_summary(look.store, props.output_s3_uri, props.job_name, props.job_arn, metric_names=requested_metrics(job))
    except ResultsError as error:
        if error.missing and not look.late:
            logger.info("%s: %s; looking again later", props.job_name, error)
            return False, {}
        raise ResultsFailure(props.job_name, f"its results cannot be read: {error}") from error
    except FAILED_OR_NOT_STARTED as error:
        return _not_yet(look, error, "reading its results")
    try:
        baseline = _baseline(look)
    except READ_FAILURES as error:
        return _not_yet(look, error, "reading the results of the job it replaces")
    data = attributes(summary, limit_bytes=SCORE_ATTRIBUTES_LIMIT_BYTES)
    data[ATTR_STATUS] = "Completed"
    failures: list[GateFailure] = within_bounds(summary, props.bounds)
    if isinstance(baseline, tuple):
        old_name, old_summary = baseline
        data[ATTR_BASELINE] = old_name
        if props.max_drop is not None:
            failures += regressions(summary, old_summary, props.max_drop, lower_is_better=LOWER_IS_BETTER)
    else:
        data[ATTR_BASELINE] = reason_part(baseline)
    if failures:
        raise ResultsFailure(props.job_name, "missed its quality gate: " + "; ".join(f.reason for f in failures))
    logger.info("%s: %d records read, gate passed", props.job_name, summary.records)
    return True, data


def _baseline(look: Look) -> tuple[str, Summary] | str:
    """The replaced job's name and scores, or why there are none. Raises what may pass (the caller
    looks again); what will not pass is a reason."""
    event = look.event
    if event.request_type != "Update":
        return "none: the first job of this resource"
    try:
        old = ResultsProps.parse(event.old_properties)
    except InvalidProperties:
        return "none: the previous version had no readable results"
    if old.job_arn == look.props.job_arn:
        return "none: the job was not replaced"
    try:
        previous = look.jobs.get(old.job_arn)
        if previous is None:
            return f"none: {old.job_name} no longer exists"
        if previous.get("status") != "Completed":
            return f"none: {old.job_name} is {previous.get('status')}"
        return old.job_name, read_summary(look.store, old.output_s3_uri, old.job_name, old.job_arn, metric_names=requested_metrics(previous))
    except READ_FAILURES as error:
        if _passing(error) and not look.late:
            raise
        return f"none: the results of {old.job_name} cannot be read ({error})"


def failure_messages(job: Mapping[str, object]) -> str:
    """Bedrock's own words for why the job failed."""
    messages = job.get("failureMessages")
    listed = [str(m) for m in messages] if isinstance(messages, list) else []
    return "; ".join(listed) or "Bedrock gave no reason"


def _not_yet(look: Look, error: Exception, doing: str) -> tuple[bool, dict[str, str]]:
    """A failed call while waiting: "not yet" if it may pass and there is time, else the failure."""
    if _passing(error) and not look.late:
        logger.warning("%s: %s failed for now (%s); looking again later", look.props.job_name, doing, error)
        return False, {}
    raise ResultsFailure(look.props.job_name, f"{doing} failed: {error if isinstance(error, ResultsError) else error_message(error)}") from error


def _passing(error: Exception) -> bool:
    """A fault that may pass: a transient call error, no time left for a call, or a result file
    missing for now."""
    if isinstance(error, ResultsError):
        return error.missing
    return isinstance(error, OutOfTime) or is_transient(error)


def reason_part(text: str) -> str:
    """An attribute that carries a reason, cut so the answer stays within CloudFormation's 4,096 bytes."""
    return reason(text, MAX_ATTRIBUTE_REASON_BYTES)


def age_of(job: Mapping[str, object] | None, now: float) -> str | None:
    """How long ago GetEvaluationJob says the job was created ("3 h 5 min after it was created")."""
    created = (job or {}).get("creationTime")
    return f"{duration_text(now - created.timestamp())} after it was created" if isinstance(created, datetime) else None


