"""Entry points the CDK Provider framework calls: `on_event` for every CloudFormation
request, `is_complete` until it answers True (a removal=delete waits for the job to stop;
a knowledge-base ingestion waits until its documents are indexed; a flow definition until it is
Active, or gone).

Each event is read once, then handed by resource type and request type to the `on_create`,
`on_update`, `on_delete` or `is_complete` of `lifecycle` (evaluation jobs), `ingestion` or
`flow_definition` (human review workflows).
The handler returns `{"PhysicalResourceId", "Data"}` or raises; the framework answers
CloudFormation either way, with the exception's message (cut to a reason CloudFormation can
read, here and nowhere else) as the reason. A job event's answer also carries what is_complete
needs (its names and wait deadline) in place of the request, which the framework would otherwise
hand its waiter twice on an Update.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from functools import cache, wraps
from typing import TYPE_CHECKING, Protocol, TypeVar

import flow_definition
import ingestion
import lifecycle
from bedrock import (
    WORST_CALL_SECONDS,
    EvaluationJobs,
    FlowDefinitions,
    IngestionJobs,
    PollerExecutions,
    ResultObjects,
    StackStatuses,
    default_agent_client,
    default_client,
    default_cloudformation_client,
    default_s3_client,
    default_sagemaker_client,
    default_stepfunctions_client,
)
from events import WAIT_KEY, Completion, ResourceEvent, Response
from runtime import LOGGER_NAME, Budget, Clock, brief

from bedrock_evaluation.contract import (
    FLOW_DEFINITION_RESOURCE_TYPE,
    INGESTION_RESOURCE_TYPE,
    PROP_REMOVAL,
    RESULTS_RESOURCE_TYPE,
    WAIT_LIMIT_SECONDS,
    WATCH_RESOURCE_TYPE,
)

if TYPE_CHECKING:
    import watch

logger = logging.getLogger(LOGGER_NAME)
logger.setLevel(logging.INFO)

# Stop starting new work this long before the Lambda timeout, so an answer always goes back: a
# call is started only if a worst-case call fits before that point, and the margin still holds one
# more (an ingestion call, which is not budgeted call by call) and the answer.
SAFETY_MARGIN_SECONDS = WORST_CALL_SECONDS + 8.0
# What identifies the work in a log line; the rest of an event (the request: prompt templates,
# metric instructions, descriptions, botocore marks some `sensitive`) is never logged.
LOGGED_KEYS = ("RequestType", "ResourceType", "LogicalResourceId", "RequestId", "StackId", "PhysicalResourceId")

Entry = TypeVar("Entry", bound=Callable[..., object])


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


@cache
def result_objects() -> ResultObjects:
    return ResultObjects(default_s3_client())


@cache
def stacks() -> StackStatuses:
    return StackStatuses(default_cloudformation_client())


@cache
def pollers() -> PollerExecutions:
    return PollerExecutions(default_stepfunctions_client())


def signal(url: str, status: watch.Status, text: str, unique_id: str) -> None:
    """Signals a wait condition: a PUT to its presigned URL, replaced by tests."""
    import watch  # noqa: PLC0415 (only the poller signals: a job's cold start does not import it)

    watch.send_signal(url, status, text, unique_id)


def clock() -> Clock:
    """The handler's time: real here, replaced by tests that drive time themselves."""
    return Clock()


def briefly(entry: Entry) -> Entry:
    """Every failure of an entry point leaves it as a reason CloudFormation can read."""

    @wraps(entry)
    def answer(event: Mapping[str, object], context: LambdaContext) -> object:
        try:
            return entry(event, context)
        except Exception as error:
            short = brief(error)
            logger.error(json.dumps({"failed": type(error).__name__, "reason": str(short), **_identity(event)}))
            if short is error:
                raise
            raise short from error

    return answer  # type: ignore[return-value]


@briefly
def on_event(event: Mapping[str, object], context: LambdaContext) -> Response:
    _log_event("on_event", event)
    budget = _budget(context)
    request = ResourceEvent.parse(event)
    if request.resource_type == INGESTION_RESOURCE_TYPE:
        return _ingestion_event(request, budget)
    if request.resource_type == FLOW_DEFINITION_RESOURCE_TYPE:
        return _flow_definition_event(request, budget)
    if request.resource_type == RESULTS_RESOURCE_TYPE:
        import scores  # noqa: PLC0415 (waited jobs' modules load when a waited job's event comes: a job's cold start stays lean)

        return scores.on_event(request, budget)
    if request.resource_type == WATCH_RESOURCE_TYPE:
        import watch  # noqa: PLC0415

        return watch.on_event(request, pollers(), budget)
    return _job_event(request, budget)


@briefly
def is_complete(event: Mapping[str, object], context: LambdaContext) -> Completion:
    _log_event("is_complete", event)
    request = ResourceEvent.parse(event)
    if request.resource_type == INGESTION_RESOURCE_TYPE:
        return {"IsComplete": ingestion.is_complete(request, ingestions())}
    if request.resource_type == FLOW_DEFINITION_RESOURCE_TYPE:
        return {"IsComplete": flow_definition.is_complete(request, flow_definitions())}
    if request.resource_type == RESULTS_RESOURCE_TYPE:
        if request.request_type == "Delete":
            return {"IsComplete": True}  # the job's own resource decides what happens to the job
        import scores  # noqa: PLC0415

        done, data = scores.is_complete(request, jobs(), result_objects(), stacks(), _budget(context))
        return {"IsComplete": True, "Data": data} if done else {"IsComplete": False}
    if request.resource_type == WATCH_RESOURCE_TYPE:
        return {"IsComplete": True}
    return {"IsComplete": lifecycle.is_complete(request, jobs(), _budget(context))}


@briefly
def poll(event: Mapping[str, object], context: LambdaContext) -> watch.PollState:
    """The poller state machine's task: one look at a long-waited job (see `watch`)."""
    import watch  # noqa: PLC0415

    state = watch.parse_state(event)
    logger.info(json.dumps({"entry": "poll", "JobName": state["jobName"], "JobArn": state["jobArn"]}))
    budget = _budget(context)
    return watch.poll(state, jobs().within(budget.allows), clock(), signal)


def _budget(context: LambdaContext) -> Budget:
    return Budget.of_seconds(context.get_remaining_time_in_millis() / 1000 - SAFETY_MARGIN_SECONDS, clock())


def _job_event(event: ResourceEvent, budget: Budget) -> Response:
    match event.request_type:
        case "Create":
            answer = lifecycle.on_create(event, jobs(), budget)
        case "Update":
            answer = lifecycle.on_update(event, jobs(), budget)
        case "Delete":
            answer = lifecycle.on_delete(event, jobs(), budget)
    return _for_the_waiter(answer, event, budget)


def _for_the_waiter(answer: Response, event: ResourceEvent, budget: Budget) -> Response:
    """The answer, with what is_complete needs in place of the request: the framework merges the
    answer into the event and starts its waiter with that (Step Functions refuses over 256 KiB)."""
    names = lifecycle.names_of(event)
    removal = (event.properties or {}).get(PROP_REMOVAL)
    trimmed: Response = {**answer, "OldResourceProperties": {}}
    trimmed["ResourceProperties"] = {PROP_REMOVAL: removal} if isinstance(removal, str) else {}
    if names is not None:
        trimmed[WAIT_KEY] = {"deadline": budget.clock.wall() + WAIT_LIMIT_SECONDS, "names": list(names)}  # type: ignore[literal-required]
    return trimmed


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
    logger.info(json.dumps({"entry": entry, **_identity(event)}, default=str))


def _identity(event: Mapping[str, object]) -> dict[str, object]:
    """What identifies the work: the request, the resource, its job's name (from on_event's
    answer) and ARN; never the properties, nor the presigned response URL."""
    found: dict[str, object] = {key: event[key] for key in LOGGED_KEYS if key in event}
    data = event.get("Data")
    if isinstance(data, Mapping) and "JobName" in data:
        found["JobName"] = data["JobName"]
    wait = event.get(WAIT_KEY)
    if isinstance(wait, Mapping) and "names" in wait:
        found["JobNames"] = wait["names"]
    return found
