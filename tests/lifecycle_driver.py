"""CloudFormation and the CDK Provider framework, played offline around the real handler.

`CloudFormation` sends custom-resource events in the format CloudFormation uses and answers
each one the way the Provider framework (aws-cdk-lib 2.275, custom-resources/lib/provider-framework/
runtime/framework.js and cfn-response.js) does in async mode:

- `index.on_event` gets the event; what it returns is merged into the event, with the
  PhysicalResourceId defaulting to the RequestId on Create and to the event's own id otherwise;
  a Delete may not change the id.
- `index.is_complete` then gets that merged event, at once and then every query interval, until
  it answers True (SUCCESS, Data merged) or the total timeout passes ("Operation timed out").
- on_event's answer is merged into the event (`{...event, ...answer}`), and the framework starts
  its waiter state machine with that JSON: over Step Functions' 262,144 bytes, StartExecution
  fails, and so does the request (with the event's own physical id, as no answer was taken).
- Any exception from either entry point becomes a FAILED answer whose reason is what the
  framework sends: `Error: <message>`, the handler's log group and the framework's own stack
  trace (`framework_reason`; tests/test_framework_fidelity.py runs the real framework.js to
  check it). A failed Create, which has no physical id yet, gets the marker
  AWSCDK::CustomResourceProviderFramework::CREATE_FAILED, and a later Delete of that marker is
  answered SUCCESS without calling the handler.
- A Lambda invocation that runs past its timeout is killed: FAILED, "Task timed out".
- The answer is the body cfn-response.js PUTs; CloudFormation refuses one over 4,096 bytes, and
  stops waiting an hour after it sent the event (ServiceTimeout): both are answers it never
  reads (`Answer.unreadable`).

Time is a `DriverClock`: `VirtualClock` moves only when someone waits (the handler's IAM backoff,
botocore's retry backoff, the framework's query interval, a slow emulator answer), so minutes of
waiting take no time and every deadline is measured exactly; `RealClock` is the wall clock.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal, Protocol

import index
import runtime
from handler_support import LOGICAL_ID, STACK_ID, make_event

from bedrock_evaluation.contract import CREATE_FAILED_MARKER, RESOURCE_TYPE

# The provider as constructs/bedrock_evaluation/provider.py configures it (a test checks they agree).
ON_EVENT_TIMEOUT_SECONDS = 720.0
IS_COMPLETE_TIMEOUT_SECONDS = 300.0
QUERY_INTERVAL_SECONDS = 30.0
TOTAL_TIMEOUT_SECONDS = 40 * 60.0

CLOUDFORMATION_TIMEOUT_SECONDS = 3600.0
MAX_RESPONSE_BYTES = 4096
"""CloudFormation's limit on a custom resource's response body."""
MAX_WAITER_INPUT_BYTES = 262_144
"""Step Functions' limit on an execution's input (StartExecution)."""
# What the Lambda console names the handler functions: CloudFormation's generated names, at their
# longest (64 characters), so that reasons are measured at their longest.
ON_EVENT_FUNCTION = "BedrockModelEvaluation-BedrockEvaluationJobProvi-OnEventAbCdEfGh1"
IS_COMPLETE_FUNCTION = "BedrockModelEvaluation-BedrockEvaluationJobProv-IsCompleteAbCdEf1"
# framework.js's own stack below invokeUserFunction, as Node prints it in Lambda (/var/task).
FRAMEWORK_FRAMES = {
    "on_event": (
        "    at invokeUserFunction (/var/task/framework.js:2:6)\n"
        "    at async onEvent (/var/task/framework.js:1:1411)\n"
        "    at async Object.onEvent (/var/task/cfn-response.js:1:2865)"
    ),
    "is_complete": (
        "    at invokeUserFunction (/var/task/framework.js:2:6)\n"
        "    at async isComplete (/var/task/framework.js:1:2631)\n"
        "    at async Object.isComplete (/var/task/cfn-response.js:1:2865)"
    ),
}

Status = Literal["SUCCESS", "FAILED"]


def framework_reason(entry: str, error_message: str) -> str:
    """The reason framework.js sends for a user function's error: its `e.stack` (a Python
    function's error payload has no `trace`, so the stack is the framework's own)."""
    function = ON_EVENT_FUNCTION if entry == "on_event" else IS_COMPLETE_FUNCTION
    return f"Error: {error_message}\n\nLogs: /aws/lambda/{function}\n\n{FRAMEWORK_FRAMES[entry]}"


def response_body(status: str, event: Mapping[str, Any], reason: str | None = None) -> str:
    """The JSON cfn-response.js submitResponse PUTs (undefined members left out, as JSON.stringify does)."""
    body = {
        "Status": status,
        "Reason": reason or status,
        "StackId": event.get("StackId"),
        "RequestId": event.get("RequestId"),
        "PhysicalResourceId": event.get("PhysicalResourceId") or "AWSCDK::CustomResourceProviderFramework::MISSING_PHYSICAL_ID",
        "LogicalResourceId": event.get("LogicalResourceId"),
        "Data": event.get("Data"),
    }
    return json.dumps({k: v for k, v in body.items() if v is not None}, separators=(",", ":"), ensure_ascii=False)


class DriverClock(Protocol):
    def monotonic(self) -> float: ...

    def wait(self, seconds: float) -> None: ...

    def handler_clock(self) -> runtime.Clock: ...


EPOCH = 1_750_000_000.0
"""Wall-clock seconds at the virtual clock's zero."""


class VirtualClock:
    """Seconds that pass only when someone waits. Thread-safe: the emulator's thread waits too."""

    def __init__(self, start: float = 10_000.0) -> None:
        self._now = start
        self._lock = threading.Lock()
        self.handler_sleeps: list[float] = []
        """What the handler itself slept (its IAM backoff), in order."""

    def monotonic(self) -> float:
        with self._lock:
            return self._now

    def wait(self, seconds: float) -> None:
        with self._lock:
            self._now += max(0.0, seconds)

    def now(self) -> datetime:
        """This time as a date (the emulated service's clock)."""
        return datetime.fromtimestamp(EPOCH + self.monotonic(), UTC)

    def _handler_sleep(self, seconds: float) -> None:
        self.handler_sleeps.append(seconds)
        self.wait(seconds)

    def handler_clock(self) -> runtime.Clock:
        """The handler's clock: this time, this sleep, and jitter fixed at its midpoint."""
        return runtime.Clock(
            monotonic=self.monotonic, sleep=self._handler_sleep, random=lambda: 0.5, wall=lambda: EPOCH + self.monotonic()
        )


class RealClock:
    def monotonic(self) -> float:
        return time.monotonic()

    def wait(self, seconds: float) -> None:
        time.sleep(seconds)

    def handler_clock(self) -> runtime.Clock:
        return runtime.Clock()


class LambdaContext:
    """What the Lambda runtime passes: the time left before this invocation is killed."""

    def __init__(self, clock: DriverClock, timeout_seconds: float) -> None:
        self._clock = clock
        self.deadline = clock.monotonic() + timeout_seconds

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.deadline - self._clock.monotonic()) * 1000))


@dataclass(frozen=True)
class Invocation:
    """One call of a handler entry point, as the Lambda service ran it."""

    entry: Literal["on_event", "is_complete"]
    seconds: float
    timeout: float
    outcome: str
    """"returned", "raised: <message>" or "timed out"."""

    @property
    def timed_out(self) -> bool:
        return self.outcome == "timed out"


@dataclass(frozen=True)
class Answer:
    """What the framework PUT to the ResponseURL."""

    status: Status
    physical_id: str
    data: Mapping[str, Any] = field(default_factory=dict)
    reason: str | None = None
    body_bytes: int = 0
    """The size of the response body."""
    unreadable: str | None = None
    """Why CloudFormation never read this answer (too long, too late), if it did not."""

    @property
    def ok(self) -> bool:
        return self.status == "SUCCESS" and self.unreadable is None


@dataclass
class Exchange:
    """One CloudFormation request: the event sent, every invocation it caused, the answer."""

    event: dict[str, Any]
    invocations: list[Invocation] = field(default_factory=list)
    answer: Answer | None = None
    seconds: float = 0.0
    """Time from the event to its answer: invocations and the framework's waits."""

    @property
    def request_type(self) -> str:
        return str(self.event["RequestType"])


class _TimedOut(Exception):
    pass


class _UserFunctionError(Exception):
    """A handler's error as framework.js rethrows it: its message is the framework's e.stack."""


class CloudFormation:
    """Sends custom-resource events through the Provider framework's logic to the handler.

    `create`, `update` and `delete` build events like CloudFormation's (a fresh RequestId each,
    unless one is given to repeat a delivery); `send` delivers any event. Every exchange is kept.
    """

    def __init__(
        self,
        clock: DriverClock,
        *,
        stack_id: str = STACK_ID,
        on_event_timeout: float = ON_EVENT_TIMEOUT_SECONDS,
        is_complete_timeout: float = IS_COMPLETE_TIMEOUT_SECONDS,
        query_interval: float = QUERY_INTERVAL_SECONDS,
        total_timeout: float = TOTAL_TIMEOUT_SECONDS,
        resource_type: str = RESOURCE_TYPE,
    ) -> None:
        self.clock = clock
        self.resource_type = resource_type
        """The custom resource type every event names (evaluation jobs unless told)."""
        self.stack_id = stack_id
        self.on_event_timeout = on_event_timeout
        self.is_complete_timeout = is_complete_timeout
        self.query_interval = query_interval
        self.total_timeout = total_timeout
        self.exchanges: list[Exchange] = []
        self._request_ids = 0

    # --- events as CloudFormation sends them ---------------------------------------------------------

    def create(
        self,
        properties: Mapping[str, Any],
        *,
        logical_id: str = LOGICAL_ID,
        request_id: str | None = None,
        resource_type: str | None = None,
    ) -> Answer:
        return self.send(
            make_event(
                "Create",
                properties=properties,
                request_id=request_id or self.new_request_id(),
                logical_id=logical_id,
                stack_id=self.stack_id,
                resource_type=resource_type or self.resource_type,
            )
        )

    def update(
        self,
        properties: Mapping[str, Any],
        *,
        old_properties: Mapping[str, Any],
        physical_id: str,
        logical_id: str = LOGICAL_ID,
        request_id: str | None = None,
        resource_type: str | None = None,
    ) -> Answer:
        return self.send(
            make_event(
                "Update",
                properties=properties,
                old_properties=old_properties,
                physical_id=physical_id,
                request_id=request_id or self.new_request_id(),
                logical_id=logical_id,
                stack_id=self.stack_id,
                resource_type=resource_type or self.resource_type,
            )
        )

    def delete(
        self,
        properties: Mapping[str, Any],
        *,
        physical_id: str,
        logical_id: str = LOGICAL_ID,
        request_id: str | None = None,
        framework_skips_failed_create: bool = True,
        resource_type: str | None = None,
    ) -> Answer:
        event = make_event(
            "Delete",
            properties=properties,
            physical_id=physical_id,
            request_id=request_id or self.new_request_id(),
            logical_id=logical_id,
            stack_id=self.stack_id,
            resource_type=resource_type or self.resource_type,
        )
        return self.send(event, framework_skips_failed_create=framework_skips_failed_create)

    def new_request_id(self) -> str:
        self._request_ids += 1
        return str(uuid.UUID(int=self._request_ids, version=4))

    # --- the Provider framework -------------------------------------------------------------------------

    def send(self, event: Mapping[str, Any], *, framework_skips_failed_create: bool = True) -> Answer:
        """Deliver one event and return the framework's answer; never raises."""
        exchange = Exchange(event=dict(event))
        self.exchanges.append(exchange)
        started = self.clock.monotonic()
        try:
            status, answered, reason = self._run(exchange, framework_skips_failed_create)
        except Exception as error:  # the framework's safeHandler: every failure is an answer
            answered = dict(exchange.event)
            if not answered.get("PhysicalResourceId") and exchange.request_type == "Create":
                answered["PhysicalResourceId"] = CREATE_FAILED_MARKER
            status, reason = "FAILED", str(error)
        exchange.seconds = self.clock.monotonic() - started
        body = response_body(status, answered, reason)
        unreadable = None
        if len(body.encode()) > MAX_RESPONSE_BYTES:
            unreadable = f"the response is {len(body.encode())} bytes; CloudFormation reads at most {MAX_RESPONSE_BYTES}"
        elif exchange.seconds > CLOUDFORMATION_TIMEOUT_SECONDS:
            unreadable = f"answered after {exchange.seconds:.0f}s; CloudFormation stopped waiting after an hour"
        exchange.answer = Answer(
            status,  # type: ignore[arg-type]
            str(answered.get("PhysicalResourceId") or ""),
            data=dict(answered.get("Data") or {}) if status == "SUCCESS" else {},
            reason=reason,
            body_bytes=len(body.encode()),
            unreadable=unreadable,
        )
        return exchange.answer

    def _run(self, exchange: Exchange, skip_marker: bool) -> tuple[str, dict[str, Any], str | None]:
        event = exchange.event
        if skip_marker and event["RequestType"] == "Delete" and event.get("PhysicalResourceId") == CREATE_FAILED_MARKER:
            return "SUCCESS", event, None
        result = self._invoke(exchange, "on_event", event, self.on_event_timeout) or {}
        physical_id = result.get("PhysicalResourceId") or (
            event["RequestId"] if event["RequestType"] == "Create" else event.get("PhysicalResourceId")
        )
        if event["RequestType"] == "Delete" and physical_id != event.get("PhysicalResourceId"):
            raise RuntimeError(
                f'DELETE: cannot change the physical resource ID from "{event.get("PhysicalResourceId")}" '
                f'to "{physical_id}" during deletion'
            )
        merged = {**event, **result, "PhysicalResourceId": physical_id}
        waiter_input = json.dumps(merged, separators=(",", ":"), ensure_ascii=False)
        if len(waiter_input.encode()) > MAX_WAITER_INPUT_BYTES:
            # StartExecution refuses it; the framework answers with the event it was given.
            raise RuntimeError(
                "ValidationException: 1 validation error detected: Value at 'input' failed to satisfy "
                f"constraint: Member must have length less than or equal to {MAX_WAITER_INPUT_BYTES}"
            )
        exchange.event = merged  # from here on a failure keeps this id, as the framework's does
        waited = 0.0
        while True:
            complete = self._invoke(exchange, "is_complete", merged, self.is_complete_timeout)
            if complete.get("IsComplete"):
                data = {**(merged.get("Data") or {}), **(complete.get("Data") or {})}
                return "SUCCESS", {**merged, **complete, "Data": data}, None
            if complete.get("Data"):
                raise RuntimeError('"Data" is not allowed if "IsComplete" is "False"')
            if waited + self.query_interval > self.total_timeout:
                raise RuntimeError("Operation timed out")
            self.clock.wait(self.query_interval)
            waited += self.query_interval

    def _invoke(self, exchange: Exchange, entry: str, event: Mapping[str, Any], timeout: float) -> dict[str, Any]:
        handler = index.on_event if entry == "on_event" else index.is_complete
        context = LambdaContext(self.clock, timeout)
        started = self.clock.monotonic()
        outcome, result, error = "returned", None, None
        try:
            result = handler(dict(event), context)
        except Exception as raised:
            outcome, error = f"raised: {raised}", raised
        seconds = self.clock.monotonic() - started
        if seconds > timeout:
            # The Lambda service killed the invocation: whatever it would have said is lost.
            exchange.invocations.append(Invocation(entry, seconds, timeout, "timed out"))  # type: ignore[arg-type]
            message = f"RequestId: {event.get('RequestId')} Error: Task timed out after {timeout:.2f} seconds"
            raise _TimedOut(framework_reason(entry, message))
        exchange.invocations.append(Invocation(entry, seconds, timeout, outcome))  # type: ignore[arg-type]
        if error is not None:
            # What Lambda reports as errorMessage is str(error); the framework wraps it.
            raise _UserFunctionError(framework_reason(entry, str(error))) from error
        # The payload crosses Lambda as JSON: what the handler returns must survive it.
        return dict(json.loads(json.dumps(result or {})))

    # --- what happened ----------------------------------------------------------------------------------

    @property
    def events_sent(self) -> int:
        return len(self.exchanges)

    @property
    def events_answered(self) -> int:
        """Events whose answer CloudFormation read (in time, and not too long to read)."""
        return sum(1 for e in self.exchanges if e.answer is not None and e.answer.unreadable is None)

    def unreadable(self) -> list[str]:
        return [e.answer.unreadable for e in self.exchanges if e.answer is not None and e.answer.unreadable]

    def invocations(self, entry: str | None = None) -> list[Invocation]:
        return [i for e in self.exchanges for i in e.invocations if entry is None or i.entry == entry]
