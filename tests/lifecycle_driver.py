"""CloudFormation and the CDK Provider framework, played offline around the real handler.

`CloudFormation` sends custom-resource events in the format CloudFormation uses and answers
each one the way the Provider framework (aws-cdk-lib 2.275, custom-resources/lib/provider-framework/
runtime/framework.js and cfn-response.js) does in async mode:

- `index.on_event` gets the event; what it returns is merged into the event, with the
  PhysicalResourceId defaulting to the RequestId on Create and to the event's own id otherwise;
  a Delete may not change the id.
- `index.is_complete` then gets that merged event, at once and then every query interval, until
  it answers True (SUCCESS, Data merged) or the total timeout passes ("Operation timed out").
- Any exception from either entry point becomes a FAILED answer whose reason is its message; a
  failed Create, which has no physical id yet, gets the marker
  AWSCDK::CustomResourceProviderFramework::CREATE_FAILED, and a later Delete of that marker is
  answered SUCCESS without calling the handler.
- A Lambda invocation that runs past its timeout is killed: FAILED, "Task timed out".

Time is a `DriverClock`: `VirtualClock` moves only when someone waits (the handler's IAM backoff,
botocore's retry backoff, the framework's query interval, a slow emulator answer), so minutes of
waiting take no time and every deadline is measured exactly; `RealClock` is the wall clock.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

import index
import runtime
from handler_support import LOGICAL_ID, STACK_ID, make_event

from bedrock_evaluation.contract import CREATE_FAILED_MARKER, RESOURCE_TYPE

# The provider as constructs/bedrock_evaluation/provider.py configures it (a test checks they agree).
ON_EVENT_TIMEOUT_SECONDS = 420.0
IS_COMPLETE_TIMEOUT_SECONDS = 180.0
QUERY_INTERVAL_SECONDS = 30.0
TOTAL_TIMEOUT_SECONDS = 55 * 60.0

Status = Literal["SUCCESS", "FAILED"]


class DriverClock(Protocol):
    def monotonic(self) -> float: ...

    def wait(self, seconds: float) -> None: ...

    def handler_clock(self) -> runtime.Clock: ...


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

    def _handler_sleep(self, seconds: float) -> None:
        self.handler_sleeps.append(seconds)
        self.wait(seconds)

    def handler_clock(self) -> runtime.Clock:
        """The handler's clock: this time, this sleep, and jitter fixed at its midpoint."""
        return runtime.Clock(monotonic=self.monotonic, sleep=self._handler_sleep, random=lambda: 0.5)


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

    @property
    def ok(self) -> bool:
        return self.status == "SUCCESS"


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
        self, properties: Mapping[str, Any], *, logical_id: str = LOGICAL_ID, request_id: str | None = None
    ) -> Answer:
        return self.send(
            make_event(
                "Create",
                properties=properties,
                request_id=request_id or self.new_request_id(),
                logical_id=logical_id,
                stack_id=self.stack_id,
                resource_type=self.resource_type,
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
                resource_type=self.resource_type,
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
    ) -> Answer:
        event = make_event(
            "Delete",
            properties=properties,
            physical_id=physical_id,
            request_id=request_id or self.new_request_id(),
            logical_id=logical_id,
            stack_id=self.stack_id,
            resource_type=self.resource_type,
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
            exchange.answer = self._run(exchange, framework_skips_failed_create)
        except Exception as error:  # the framework's safeHandler: every failure is an answer
            physical_id = exchange.event.get("PhysicalResourceId") or (
                CREATE_FAILED_MARKER if exchange.request_type == "Create" else ""
            )
            exchange.answer = Answer("FAILED", str(physical_id), reason=str(error))
        exchange.seconds = self.clock.monotonic() - started
        return exchange.answer

    def _run(self, exchange: Exchange, skip_marker: bool) -> Answer:
        event = exchange.event
        if skip_marker and event["RequestType"] == "Delete" and event.get("PhysicalResourceId") == CREATE_FAILED_MARKER:
            return Answer("SUCCESS", CREATE_FAILED_MARKER)
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
        exchange.event = merged  # from here on a failure keeps this id, as the framework's does
        waited = 0.0
        while True:
            complete = self._invoke(exchange, "is_complete", merged, self.is_complete_timeout)
            if complete.get("IsComplete"):
                data = {**(merged.get("Data") or {}), **(complete.get("Data") or {})}
                return Answer("SUCCESS", str(physical_id), data=data)
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
            raise _TimedOut(f"Task timed out after {timeout:.2f} seconds")
        exchange.invocations.append(Invocation(entry, seconds, timeout, outcome))  # type: ignore[arg-type]
        if error is not None:
            raise error
        return dict(result or {})

    # --- what happened ----------------------------------------------------------------------------------

    @property
    def events_sent(self) -> int:
        return len(self.exchanges)

    @property
    def events_answered(self) -> int:
        return sum(1 for exchange in self.exchanges if exchange.answer is not None)

    def invocations(self, entry: str | None = None) -> list[Invocation]:
        return [i for e in self.exchanges for i in e.invocations if entry is None or i.entry == entry]
