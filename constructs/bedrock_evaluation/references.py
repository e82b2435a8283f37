"""Everything a request points at (models, knowledge bases, guardrails, S3 objects), found by
walking it, so a role is granted exactly what the job will use, whichever way it was written."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from aws_cdk import Stack

from .tokens import is_unresolved


@dataclass
class References:
    models: list[str] = field(default_factory=list)
    knowledge_bases: list[str] = field(default_factory=list)
    guardrails: list[str] = field(default_factory=list)
    datasets: list[str] = field(default_factory=list)
    """s3Uri of every dataset (datasetLocation)."""
    sources: list[str] = field(default_factory=list)
    """S3 URIs of external sources a retrieve-and-generate configuration reads."""
    rerankers: list[str] = field(default_factory=list)
    """Reranking models (also in models: they are invoked)."""
    flow_definitions: list[str] = field(default_factory=list)
    """The human workflow's flow definition."""
    output: str | None = None
    """outputDataConfig.s3Uri."""


_MODEL_KEYS = frozenset({"modelIdentifier", "modelArn"})

IAM_WILDCARDS = ("*", "?")
"""The characters IAM reads as wildcards in a policy's Resource (IAM user guide, "IAM JSON policy
elements: Resource": "You can use wildcard characters (* and ?) within any ARN segment")."""
POLICY_RESOURCE_FIELDS = frozenset(
    {*_MODEL_KEYS, "knowledgeBaseId", "guardrailId", "s3Uri", "uri", "flowDefinitionArn", "roleArn", "customerEncryptionKeyId"}
)
"""Request fields whose values become resources of the policies granted for the job: models,
knowledge bases, guardrails, datasets, external sources and output (S3), the flow definition,
the service role (iam:PassRole) and the KMS key. A wildcard in one would grant far more than it names."""


def policy_resources(request: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    """(path, value) of every string in a field that becomes a policy resource."""
    for path, key, value in _paths(request, ""):
        if key in POLICY_RESOURCE_FIELDS and isinstance(value, str):
            yield path, value


def has_iam_wildcard(value: str) -> bool:
    """Token markers (${Token[...]}) hold no wildcard; a literal * or ? anywhere is one."""
    return any(character in value for character in IAM_WILDCARDS)


def _paths(value: Any, path: str) -> Iterator[tuple[str, str, Any]]:
    if isinstance(value, Mapping):
        for key, item in value.items():
            item_path = f"{path}.{key}" if path else str(key)
            yield item_path, str(key), item
            yield from _paths(item, item_path)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _paths(item, f"{path}[{index}]")


def references(request: Mapping[str, Any]) -> References:
    found = References()
    for parent, key, value in _walk(request, None):
        if not isinstance(value, str):
            continue
        if key in _MODEL_KEYS:
            found.models.append(value)
            if parent == "modelConfiguration":
                found.rerankers.append(value)
        elif key == "knowledgeBaseId":
            found.knowledge_bases.append(value)
        elif key == "guardrailId":
            found.guardrails.append(value)
        elif key == "s3Uri" and parent == "datasetLocation":
            found.datasets.append(value)
        elif key == "uri" and parent == "s3Location":
            found.sources.append(value)
        elif key == "flowDefinitionArn":
            found.flow_definitions.append(value)
        elif key == "s3Uri" and parent == "outputDataConfig":
            found.output = value
    return found


def _walk(value: Any, parent: str | None) -> Iterator[tuple[str | None, str, Any]]:
    if isinstance(value, Mapping):
        for key, item in value.items():
            yield parent, str(key), item
            yield from _walk(item, str(key))
    elif isinstance(value, list):
        for item in value:
            yield from _walk(item, parent)


@dataclass(frozen=True)
class S3Location:
    bucket_arn: str
    objects_arn: str


def literal_s3_location(stack: Stack, uri: str) -> S3Location | None:
    """The bucket and object ARNs of a literal s3:// URI; None for a token (unknown until deploy).
    A URI ending in "/" is a prefix and covers the objects under it."""
    if is_unresolved(uri) or not uri.startswith("s3://"):
        return None
    bucket, _, key = uri[len("s3://") :].partition("/")
    bucket_arn = f"arn:{stack.partition}:s3:::{bucket}"
    if not key or key.endswith("/"):
        return S3Location(bucket_arn, f"{bucket_arn}/{key}*")
    return S3Location(bucket_arn, f"{bucket_arn}/{key}")


def resource_arn(stack: Stack, resource: str, identifier: str) -> str:
    """An id or ARN of a knowledge base or guardrail, as an ARN (the fields take ids, so a token
    is taken to be an id, such as CfnKnowledgeBase.attr_knowledge_base_id)."""
    if not is_unresolved(identifier) and identifier.startswith("arn:"):
        return identifier
    return stack.format_arn(service="bedrock", resource=resource, resource_name=identifier)
