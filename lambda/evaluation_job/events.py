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


class Response(TypedDict):
    """on_event's answer; the framework merges it into the event it passes to is_complete."""

    PhysicalResourceId: str
    Data: NotRequired[dict[str, str]]


class Completion(TypedDict):
    """is_complete's answer: the framework asks again later until it is True."""

    IsComplete: bool


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
        )


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
