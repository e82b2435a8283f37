"""How large a job's resource properties may be, so that every event about it reaches the handler.

CloudFormation sends each Create, Update and Delete to the provider in one Lambda event, and an
Update's event holds the old properties and the new ones together. CloudFormation invokes the
function asynchronously (Lambda developer guide, "Invoking Lambda with events from other AWS
services", lists it among the services that do). Lambda's Invoke reference now takes 1 MB for an
asynchronous payload where InvokeAsync takes 256 KB; which of the two CloudFormation's invocation
is held to is not documented, so the smaller is budgeted. What comes after is not binding: the CDK
Provider framework invokes the handler synchronously (framework.js `invokeUserFunction`: Invoke
without InvocationType, so RequestResponse, 6 MB) and its waiter (Step Functions, 256 KiB of input)
gets the handler's small answer in place of the properties. The template itself may hold 1 MB
(CloudFormation quotas, template body in S3): a few jobs of the largest size fill it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any

from . import contract, service_model
from .errors import Summary, Violation

LAMBDA_ASYNC_PAYLOAD_BYTES = 256 * 1024
EVENT_ENVELOPE_BYTES = 8 * 1024
"""The rest of the event: RequestType, ResponseURL (a presigned S3 URL), StackId, RequestId,
LogicalResourceId, PhysicalResourceId, ResourceType and the ServiceToken, with room to spare."""
MAX_PROPERTIES_BYTES = (LAMBDA_ASYNC_PAYLOAD_BYTES - EVENT_ENVELOPE_BYTES) // 2
"""An Update's old and new properties, each at most this, fit in one event with its envelope."""
TOKEN_BYTES = 1024
"""What a value known only at deploy time (a bucket name, an id, an ARN) is counted as."""


def job_properties_violations(request: Mapping[str, Any], settings: Mapping[str, str]) -> list[Violation]:
    """A job's properties (its request and the handler's settings) as CloudFormation delivers them,
    estimated from above: every scalar a string, documents as JSON text, each token as TOKEN_BYTES."""
    return properties_violations({contract.PROP_REQUEST: service_model.encode_documents(request, _json_text), **settings})


def _json_text(document: Any) -> str:
    """A document as the template holds it (what Stack.to_json_string makes, without jsii)."""
    return json.dumps(document, separators=(",", ":"))


def properties_violations(properties: Mapping[str, Any]) -> list[Violation]:
    size = delivered_bytes(properties)
    if size <= MAX_PROPERTIES_BYTES:
        return []
    path, largest = max(_strings(properties, ""), key=lambda item: _bytes(item[1]), default=("", ""))
    rule = (
        f"at most {MAX_PROPERTIES_BYTES:,} bytes fit: CloudFormation sends the properties to the provider in one "
        f"asynchronous Lambda event of at most {LAMBDA_ASYNC_PAYLOAD_BYTES:,} bytes, an Update's old and new together. "
        f"The largest field is {path} ({_bytes(largest):,} bytes); long text usually comes from byte_content external "
        "sources (put the document in S3: ExternalSource.s3), prompt templates or custom metric instructions"
    )
    return [Violation("properties", Summary(f"about {size:,} bytes"), rule)]


def delivered_bytes(properties: Mapping[str, Any]) -> int:
    text = json.dumps(_as_delivered(properties), ensure_ascii=False, separators=(",", ":"))
    tokens = service_model.TOKEN_MARKER.findall(text)
    return _bytes(text) - sum(_bytes(t) for t in tokens) + len(tokens) * TOKEN_BYTES


def _as_delivered(value: Any) -> Any:
    """CloudFormation delivers every number and boolean of custom resource properties as a string."""
    if isinstance(value, Mapping):
        return {str(k): _as_delivered(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_as_delivered(v) for v in value]
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value) if isinstance(value, int | float) else value


def _strings(value: Any, path: str) -> Iterator[tuple[str, str]]:
    if isinstance(value, Mapping):
        for key, item in value.items():
            yield from _strings(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _strings(item, f"{path}[{index}]")
    elif isinstance(value, str):
        yield path, value


def _bytes(text: str) -> int:
    return len(text.encode())
