"""Long waits: the watch resource starts the poller of one job version, and the poller signals the
job's wait condition once the job has ended.

The watch resource sits between the job's resource and its wait condition. On Create and Update
it starts one execution of the stack's poller state machine, named after the CloudFormation
request, so a repeated delivery finds it started. The state machine calls `poll` until it
answers done; `poll` asks Bedrock for the job's status and, when the job has ended or the wait's
deadline has passed, signals the wait condition: SUCCESS for a Completed job, FAILURE with
Bedrock's messages, or with the job's status and age, otherwise. A signal is a PUT of a small JSON
document to the handle's presigned URL (CloudFormation user guide, "Using wait condition handles").
"""

from __future__ import annotations

import hashlib
import json
import math
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Literal, TypedDict

from bedrock import CALL_ERRORS, FAILED_OR_NOT_STARTED, EvaluationJobs, PollerExecutions, error_code, error_message, is_transient
from events import ResourceEvent, Response
from runtime import Budget, Clock, InvalidProperties, ResourceError, backoff, duration_text, module_logger, reason
from scores import age_of, failure_messages

from bedrock_evaluation.contract import (
    PROP_POLL_SECONDS,
    PROP_POLLER_ARN,
    PROP_SIGNAL_URL,
    PROP_WAIT_SECONDS,
    PROP_WATCH_JOB_ARN,
    PROP_WATCH_JOB_NAME,
)

logger = module_logger("watch")


WATCH_PHYSICAL_ID_SUFFIX = "/watch"
# "no such job" is believed only after this many polls (reads right after a create may miss it).
MISSING_POLLS = 4
SIGNAL_TIMEOUT_SECONDS = 20
# How long the watch retries StartExecution while a new grant propagates through IAM.
IAM_RETRY_WINDOW_SECONDS = 120.0
# An answer to a signal that will not change by trying again: the handle is gone (the stack was
# rolled back and deleted it), or the URL's signature expired.
_GONE_HANDLE = range(400, 500)
Status = Literal["SUCCESS", "FAILURE"]


class WatchError(ResourceError):
    what = "evaluation job"


class PollState(TypedDict):
    """The poller execution's state: its input, and what each poll hands the next."""

    jobArn: str
    jobName: str
    signalUrl: str
    deadline: float
    waitSeconds: float
    pollSeconds: int
    nextWait: int
    """Seconds the state machine waits before the next poll: pollSeconds, or less, so that the
    deadline is never passed by more than a poll's own time."""
    missing: int
    done: bool


@dataclass(frozen=True, kw_only=True)
class WatchProps:
    job_arn: str
    job_name: str
    signal_url: str
    poller_arn: str
    wait_seconds: float
    poll_seconds: int

    @classmethod
    def parse(cls, properties: Mapping[str, object] | None) -> WatchProps:
        if properties is None:
            raise InvalidProperties("the event has no resource properties")
        values = {key: properties.get(key) for key in (PROP_WATCH_JOB_ARN, PROP_WATCH_JOB_NAME, PROP_SIGNAL_URL, PROP_POLLER_ARN, PROP_WAIT_SECONDS, PROP_POLL_SECONDS)}
        for key, value in values.items():
            if not isinstance(value, str) or not value:
                raise InvalidProperties(f"property {key} must be a non-empty string, got {value!r}")
        try:
            wait_seconds, poll_seconds = float(str(values[PROP_WAIT_SECONDS])), int(str(values[PROP_POLL_SECONDS]))
        except ValueError as error:
            raise InvalidProperties(f"{PROP_WAIT_SECONDS} or {PROP_POLL_SECONDS} is not a number: {error}") from error
        if not math.isfinite(wait_seconds) or poll_seconds < 1:
            raise InvalidProperties(f"{PROP_WAIT_SECONDS} or {PROP_POLL_SECONDS} holds a value the construct never writes")
        return cls(
            job_arn=str(values[PROP_WATCH_JOB_ARN]),
            job_name=str(values[PROP_WATCH_JOB_NAME]),
            signal_url=str(values[PROP_SIGNAL_URL]),
            poller_arn=str(values[PROP_POLLER_ARN]),
            wait_seconds=wait_seconds,
            poll_seconds=poll_seconds,
        )


def on_event(event: ResourceEvent, pollers: PollerExecutions, budget: Budget) -> Response:
    if event.request_type == "Delete":
        # The poller ends by itself: when the job has ended (a deleted job is stopped first) or at the deadline.
        return {"PhysicalResourceId": event.physical_id}
    props = WatchProps.parse(event.properties)
    state: PollState = {
        "jobArn": props.job_arn,
        "jobName": props.job_name,
        "signalUrl": props.signal_url,
        "deadline": budget.clock.wall() + props.wait_seconds,
        "waitSeconds": props.wait_seconds,
        "pollSeconds": props.poll_seconds,
        "nextWait": props.poll_seconds,
        "missing": 0,
        "done": False,
    }
    name = "job-" + hashlib.sha256(f"{event.stack_id}\n{event.logical_id}\n{event.request_id}".encode()).hexdigest()[:40]
    iam = budget.within(IAM_RETRY_WINDOW_SECONDS)
    attempt = 0
    while True:
        try:
            started = pollers.start(props.poller_arn, name=name, state=state)
            break
        except CALL_ERRORS as error:
            # The deploy that first waits long also grants states:StartExecution: IAM may not have it yet.
            delay = backoff(attempt, budget.clock)
            if not (is_transient(error) or error_code(error) == "AccessDeniedException") or not iam.allows(delay):
                raise WatchError(props.job_name, f"could not start its poller: {error_message(error)}") from error
            logger.info("poller not started yet for %s (%s); retrying in %.1fs", props.job_name, error_message(error), delay)
            budget.clock.sleep(delay)
            attempt += 1
    logger.info("%s poller %s for %s", "started" if started else "already started:", name, props.job_name)
    return {"PhysicalResourceId": props.job_arn + WATCH_PHYSICAL_ID_SUFFIX}


def parse_state(event: Mapping[str, object]) -> PollState:
    """The execution's state as the state machine passes it; raises InvalidProperties."""
    try:
        return {
            "jobArn": str(event["jobArn"]),
            "jobName": str(event["jobName"]),
            "signalUrl": str(event["signalUrl"]),
            "deadline": float(str(event["deadline"])),
            "waitSeconds": float(str(event["waitSeconds"])),
            "pollSeconds": int(str(event["pollSeconds"])),
            "nextWait": int(str(event.get("nextWait", event["pollSeconds"]))),
            "missing": int(str(event.get("missing", 0))),
            "done": event.get("done") is True,
        }
    except (KeyError, ValueError) as error:
        raise InvalidProperties(f"the poller's state cannot be read: {error!r}") from error


Signal = Callable[[str, Status, str, str], None]
"""signal(url, status, reason, unique_id)"""


def poll(state: PollState, jobs: EvaluationJobs, clock: Clock, signal: Signal) -> PollState:
    """One look at the job: the state for the next poll, done once the wait condition is signalled.
    A passing fault is "not yet"; only a failed signal raises (the state machine retries the poll)."""
    try:
        job = jobs.get(state["jobArn"])
    except FAILED_OR_NOT_STARTED as error:
        logger.warning("%s: status not read (%s); polling again", state["jobName"], error)
        job, failed = None, True
    else:
        failed = False
    now = clock.wall()
    name = state["jobName"]
    if job is None and not failed:
        state = {**state, "missing": state["missing"] + 1}
        if state["missing"] >= MISSING_POLLS:
            return _signalled(state, signal, "FAILURE", f"{name} no longer exists (deleted outside this deploy?)")
    if job is not None:
        status = str(job.get("status"))
        if status == "Completed":
            return _signalled(state, signal, "SUCCESS", f"{name} completed")
        if status == "Failed":
            return _signalled(state, signal, "FAILURE", f"{name} failed: {failure_messages(job)}")
        if status in ("Stopped", "Stopping", "Deleting"):
            return _signalled(state, signal, "FAILURE", f"{name} is {status} (stopped outside this deploy?): it will never complete")
    if now > state["deadline"]:
        status = str(job.get("status")) if job is not None else "of unknown status"
        age = age_of(job, now) or "at the deadline"
        return _signalled(
            state,
            signal,
            "FAILURE",
            f"{name} is still {status} {age}, past the wait's timeout of {duration_text(state['waitSeconds'])}; "
            "give it a longer wait= (the job then runs again: deploy with removal=JobRemoval.DELETE, which frees its "
            "name, or a new job_name_prefix)",
        )
    return {**state, "nextWait": max(1, min(state["pollSeconds"], int(state["deadline"] - now) + 1))}


def _signalled(state: PollState, signal: Signal, status: Status, text: str) -> PollState:
    signal(state["signalUrl"], status, reason(text), state["jobName"])
    logger.info("signalled %s for %s: %s", status, state["jobName"], text)
    return {**state, "done": True}


def send_signal(url: str, status: Status, text: str, unique_id: str) -> None:
    """PUT the signal to the handle's presigned URL. Raises on failure: the poll is retried, and a
    second signal of the same UniqueId replaces the first."""
    body = json.dumps({"Status": status, "Reason": text, "UniqueId": unique_id, "Data": text}).encode()
    # The URL is presigned for a PUT without a content type.
    request = urllib.request.Request(url, data=body, method="PUT", headers={"Content-Type": ""})  # noqa: S310 (a presigned https URL from CloudFormation)
    try:
        with urllib.request.urlopen(request, timeout=SIGNAL_TIMEOUT_SECONDS) as response:  # noqa: S310
            response.read()
    except urllib.error.HTTPError as error:
        if error.code in _GONE_HANDLE:
            logger.warning("the wait condition of %s no longer takes signals (HTTP %d); nothing waits for it", unique_id, error.code)
            return
        raise WatchError(unique_id, f"could not signal its wait condition: {error}") from error
    except (urllib.error.URLError, OSError) as error:
        raise WatchError(unique_id, f"could not signal its wait condition: {error}") from error

