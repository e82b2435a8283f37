"""CloudFormation's custom-resource requests and the answers to them, as the CDK Provider
framework passes them: the entry points read each event once, into a `ResourceEvent`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal, NotRequired, TypedDict, cast, get_args

from runtime import InvalidProperties

RequestType = Literal["Create", "Update", "Delete"]
Properties = Mapping[str, object]
"""Resource properties as CloudFormation delivers them: every scalar a string."""


class Wait(TypedDict):
    """What on_event tells the is_complete invocations after it (they share no memory)."""

    deadline: float
    """Wall-clock seconds after which is_complete stops waiting and fails with a reason."""
    names: list[str]
    """The names this resource's job may have: is_complete acts only on a job of one of them."""


class Response(TypedDict):
    """on_event's answer. The framework merges it into the event it gives is_complete
    (`{...event, ...answer}`, framework.js createResponseEvent) and starts its waiter with that."""

    PhysicalResourceId: str
    Data: NotRequired[dict[str, str]]
    BedrockEvaluationWait: NotRequired[Wait]
    ResourceProperties: NotRequired[dict[str, object]]
    """Replaces the properties in the waiter's input by the few is_complete reads: Step Functions
    refuses an input over 256 KiB, and an Update's event holds the request twice."""
    OldResourceProperties: NotRequired[dict[str, object]]


class Completion(TypedDict):
    """is_complete's answer: the framework asks again later until it is True."""

    IsComplete: bool
    Data: NotRequired[dict[str, str]]
    """With IsComplete True only: attributes merged into on_event's (framework.js)."""


@dataclass(frozen=True, kw_only=True)
class ResourceEvent:
    """One CloudFormation request for one custom resource."""

    request_type: RequestType
    resource_type: str
    stack_id: str
    logical_id: str
    request_id: str
    physical_id: str
    """Empty in a Create's on_event: CloudFormation has no id for the resource yet."""
    properties: Properties | None
    old_properties: Properties | None
    """The properties before an Update; None otherwise."""
    wait: Wait | None = None
    """In is_complete: what on_event handed on (None from a handler version that did not)."""

    @classmethod
    def parse(cls, event: Mapping[str, object]) -> ResourceEvent:
        """Raises InvalidProperties for an event CloudFormation would not send."""
        request_type = event.get("RequestType")
        if request_type not in get_args(RequestType):
            raise InvalidProperties(f"unknown RequestType {request_type!r}; expected Create, Update or Delete")
        return cls(
            request_type=cast(RequestType, request_type),
            resource_type=_text(event, "ResourceType"),
            stack_id=_required(event, "StackId"),
            logical_id=_required(event, "LogicalResourceId"),
            request_id=_required(event, "RequestId"),
            physical_id=_text(event, "PhysicalResourceId"),
            properties=_properties(event, "ResourceProperties"),
            old_properties=_properties(event, "OldResourceProperties"),
            wait=_wait(event.get(WAIT_KEY)),
        )


WAIT_KEY = "BedrockEvaluationWait"


def _wait(value: object) -> Wait | None:
    if not isinstance(value, Mapping):
        return None
    deadline, names = value.get("deadline"), value.get("names")
    if not isinstance(deadline, int | float) or not isinstance(names, list):
        return None
    return {"deadline": float(deadline), "names": [str(n) for n in names]}


def _required(event: Mapping[str, object], key: str) -> str:
    value = _text(event, key)
    if not value:
        raise InvalidProperties(f"the event has no {key}")
    return value


def _text(event: Mapping[str, object], key: str) -> str:
    value = event.get(key)
    return value if isinstance(value, str) else ""


def _properties(event: Mapping[str, object], key: str) -> Properties | None:
    value = event.get(key)
    return value if isinstance(value, Mapping) else None
