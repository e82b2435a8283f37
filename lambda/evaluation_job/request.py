"""Turn the custom resource's properties into the CreateEvaluationJob call.

CloudFormation delivers every scalar as a string; the service model says what each
field really is, so the request is restored field by field from the model.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bedrock import create_input_shape
from runtime import InvalidProperties

from bedrock_evaluation.contract import (
    CLIENT_REQUEST_TOKEN,
    CLIENT_REQUEST_TOKEN_RULE,
    NAME_DIGEST_LENGTH,
    PROP_JOB_NAME_PREFIX,
    PROP_REMOVAL,
    PROP_REQUEST,
    Removal,
    name_prefix_problem,
    parse_removal,
)

_TRUE, _FALSE = "true", "false"


@dataclass(frozen=True, kw_only=True)
class JobSpec:
    """Everything the handler needs to create, compare or remove one job."""

    request: dict[str, Any]
    """The CreateEvaluationJob parameters, with jobName, without clientRequestToken."""
    removal: Removal
    name_is_generated: bool
    """True when the name is prefix + request digest, false when the request fixed jobName."""

    @property
    def name(self) -> str:
        return str(self.request["jobName"])

    @property
    def output_s3_uri(self) -> str:
        """Where the service writes this job's results: <outputDataConfig.s3Uri>/<jobName>/."""
        base = str(self.request["outputDataConfig"]["s3Uri"]).rstrip("/")
        return f"{base}/{self.name}/"


def job_spec(
    properties: Mapping[str, Any], *, stack_id: str, logical_id: str, input_shape: Any = None
) -> JobSpec:
    """Read and check the resource properties; raise InvalidProperties with the reason.

    The request is typed by `input_shape`, by default CreateEvaluationJob's in the handler's
    Bedrock model.
    """
    raw_request = properties.get(PROP_REQUEST)
    if not isinstance(raw_request, Mapping):
        raise InvalidProperties(f"property {PROP_REQUEST} must be an object, got {_kind(raw_request)}")
    shape = input_shape if input_shape is not None else create_input_shape()
    request = restore_types(raw_request, shape, PROP_REQUEST)
    if CLIENT_REQUEST_TOKEN in request:
        raise InvalidProperties(f"{PROP_REQUEST}.{CLIENT_REQUEST_TOKEN} {CLIENT_REQUEST_TOKEN_RULE}")
    removal = removal_of(properties)
    name_is_generated = not request.get("jobName")
    if name_is_generated:
        prefix = properties.get(PROP_JOB_NAME_PREFIX)
        request["jobName"] = generated_job_name(prefix, request, stack_id=stack_id, logical_id=logical_id)
    if not isinstance(request.get("outputDataConfig"), Mapping) or "s3Uri" not in request["outputDataConfig"]:
        raise InvalidProperties(f"{PROP_REQUEST}.outputDataConfig.s3Uri is required")
    return JobSpec(request=request, removal=removal, name_is_generated=name_is_generated)


def removal_of(properties: Mapping[str, object] | None) -> Removal:
    """What deleting the resource does to its job, read by the contract's one rule for Create,
    Update and Delete alike; absent means DEFAULT_REMOVAL. Raises InvalidProperties."""
    try:
        return parse_removal(properties.get(PROP_REMOVAL) if properties is not None else None)
    except ValueError as error:
        raise InvalidProperties(str(error)) from None


def generated_job_name(prefix: Any, request: Mapping[str, Any], *, stack_id: str, logical_id: str) -> str:
    """prefix + "-" + a digest of the request and of the resource that owns it.

    The digest makes every distinct request a distinct, valid job name (jobs are immutable,
    so a changed request needs a new job), and makes a name found in the account ours: only
    this resource, in this stack, with this request, produces it.
    """
    problem = name_prefix_problem(prefix)
    if problem is not None:
        raise InvalidProperties(f"property {PROP_JOB_NAME_PREFIX} is {prefix!r}; it {problem}")
    canonical = json.dumps(
        {"stack": stack_id, "resource": logical_id, "request": request}, sort_keys=True, separators=(",", ":")
    )
    digest = hashlib.sha256(canonical.encode()).hexdigest()[:NAME_DIGEST_LENGTH]
    return f"{prefix}-{digest}"


def restore_types(value: Any, shape: Any, path: str) -> Any:
    """Give back numbers, booleans and documents the types the service model declares."""
    if shape is None:
        return value  # unknown field: botocore's own validation names it
    type_name = shape.type_name
    if type_name == "structure" and shape.metadata.get("document"):
        return _document(value, path)
    if type_name == "structure":
        if not isinstance(value, Mapping):
            raise InvalidProperties(f"{path} must be an object, got {_kind(value)}")
        return {key: restore_types(item, shape.members.get(key), f"{path}.{key}") for key, item in value.items()}
    if type_name == "list":
        if not isinstance(value, list):
            raise InvalidProperties(f"{path} must be a list, got {_kind(value)}")
        return [restore_types(item, shape.member, f"{path}[{i}]") for i, item in enumerate(value)]
    if type_name == "map":
        if not isinstance(value, Mapping):
            raise InvalidProperties(f"{path} must be an object, got {_kind(value)}")
        return {key: restore_types(item, shape.value, f"{path}.{key}") for key, item in value.items()}
    if type_name in ("integer", "long"):
        return _number(value, int, path)
    if type_name in ("float", "double"):
        return _number(value, float, path)
    if type_name == "boolean":
        return _boolean(value, path)
    return value


def _number(value: Any, kind: type, path: str) -> Any:
    if isinstance(value, str):
        try:
            return kind(value)
        except ValueError:
            raise InvalidProperties(f"{path} is {value!r}, not a{'n integer' if kind is int else ' number'}") from None
    return value


def _boolean(value: Any, path: str) -> Any:
    if isinstance(value, str):
        if value.lower() == _TRUE:
            return True
        if value.lower() == _FALSE:
            return False
        raise InvalidProperties(f"{path} is {value!r}, not true or false")
    return value


def _document(value: Any, path: str) -> Any:
    if isinstance(value, str):
        try:
            return json.loads(value)
        except json.JSONDecodeError as error:
            raise InvalidProperties(f"{path} must hold a JSON document: {error}") from None
    return value


def _kind(value: Any) -> str:
    return "nothing" if value is None else type(value).__name__
