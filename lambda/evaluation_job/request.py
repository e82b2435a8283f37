"""Turn the custom resource's properties into the CreateEvaluationJob call.

CloudFormation delivers every scalar as a string; the service model says what each
field really is, so the request is restored field by field from the model.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Protocol

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


class Shape(Protocol):
    """What is read here of a botocore model shape: a structure's `members`, a list's `member`,
    a map's `value`."""

    @property
    def type_name(self) -> str: ...
    @property
    def metadata(self) -> Mapping[str, object]: ...
    @property
    def members(self) -> Mapping[str, Shape]: ...
    @property
    def member(self) -> Shape: ...
    @property
    def value(self) -> Shape: ...


@dataclass(frozen=True, kw_only=True)
class JobSpec:
    """Everything the handler needs to create, compare or remove one job."""

    request: dict[str, object]
    """The CreateEvaluationJob parameters, with jobName, without clientRequestToken."""
    removal: Removal
    name_is_generated: bool
    """True when the name is prefix + request digest, false when the request fixed jobName."""
    output_s3_uri: str
    """Where the service writes this job's results: <outputDataConfig.s3Uri>/<jobName>/."""

    @property
    def name(self) -> str:
        return str(self.request["jobName"])


def job_spec(
    properties: Mapping[str, object], *, stack_id: str, logical_id: str, input_shape: Shape | None = None
) -> JobSpec:
    """Read and check the resource properties; raise InvalidProperties with the reason.

    The request is typed by `input_shape`, by default CreateEvaluationJob's in the handler's
    Bedrock model.
    """
    raw_request = properties.get(PROP_REQUEST)
    if not isinstance(raw_request, Mapping):
        raise InvalidProperties(f"property {PROP_REQUEST} must be an object, got {_kind(raw_request)}")
    shape: Shape = input_shape if input_shape is not None else create_input_shape()
    request = _structure(raw_request, shape, PROP_REQUEST)
    if CLIENT_REQUEST_TOKEN in request:
        raise InvalidProperties(f"{PROP_REQUEST}.{CLIENT_REQUEST_TOKEN} {CLIENT_REQUEST_TOKEN_RULE}")
    removal = removal_of(properties)
    name_is_generated = not request.get("jobName")
    if name_is_generated:
        prefix = properties.get(PROP_JOB_NAME_PREFIX)
        request["jobName"] = generated_job_name(prefix, request, stack_id=stack_id, logical_id=logical_id)
    output = request.get("outputDataConfig")
    if not isinstance(output, Mapping) or "s3Uri" not in output:
        raise InvalidProperties(f"{PROP_REQUEST}.outputDataConfig.s3Uri is required")
    return JobSpec(
        request=request,
        removal=removal,
        name_is_generated=name_is_generated,
        output_s3_uri=f"{str(output['s3Uri']).rstrip('/')}/{request['jobName']}/",
    )


def removal_of(properties: Mapping[str, object] | None) -> Removal:
    """What deleting the resource does to its job, read by the contract's one rule for Create,
    Update and Delete alike; absent means DEFAULT_REMOVAL. Raises InvalidProperties."""
    try:
        return parse_removal(properties.get(PROP_REMOVAL) if properties is not None else None)
    except ValueError as error:
        raise InvalidProperties(str(error)) from None


def generated_job_name(prefix: object, request: Mapping[str, object], *, stack_id: str, logical_id: str) -> str:
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


def restore_types(value: object, shape: Shape | None, path: str) -> object:
    """Give back numbers, booleans and documents the types the service model declares."""
    if shape is None:
        return value  # unknown field: botocore's own validation names it
    if shape.type_name == "structure" and shape.metadata.get("document"):
        return _document(value, path)
    restore = _RESTORE.get(shape.type_name)
    return value if restore is None else restore(value, shape, path)


def _structure(value: object, shape: Shape, path: str) -> dict[str, object]:
    if not isinstance(value, Mapping):
        raise InvalidProperties(f"{path} must be an object, got {_kind(value)}")
    return {key: restore_types(item, shape.members.get(key), f"{path}.{key}") for key, item in value.items()}


def _list(value: object, shape: Shape, path: str) -> list[object]:
    if not isinstance(value, list):
        raise InvalidProperties(f"{path} must be a list, got {_kind(value)}")
    return [restore_types(item, shape.member, f"{path}[{i}]") for i, item in enumerate(value)]


def _map(value: object, shape: Shape, path: str) -> dict[str, object]:
    if not isinstance(value, Mapping):
        raise InvalidProperties(f"{path} must be an object, got {_kind(value)}")
    return {key: restore_types(item, shape.value, f"{path}.{key}") for key, item in value.items()}


def _integer(value: object, shape: Shape, path: str) -> object:
    if isinstance(value, str):
        try:
            return int(value)
        except ValueError:
            raise InvalidProperties(f"{path} is {value!r}, not an integer") from None
    return value


def _float(value: object, shape: Shape, path: str) -> object:
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            raise InvalidProperties(f"{path} is {value!r}, not a number") from None
    return value


def _boolean(value: object, shape: Shape, path: str) -> object:
    if isinstance(value, str):
        if value.lower() == _TRUE:
            return True
        if value.lower() == _FALSE:
            return False
        raise InvalidProperties(f"{path} is {value!r}, not true or false")
    return value


def _document(value: object, path: str) -> object:
    if isinstance(value, str):
        try:
            return json.loads(value)
        except json.JSONDecodeError as error:
            raise InvalidProperties(f"{path} must hold a JSON document: {error}") from None
    return value


def _kind(value: object) -> str:
    return "nothing" if value is None else type(value).__name__


# How each kind of model shape restores a value CloudFormation turned into a string.
_RESTORE: dict[str, Callable[[object, Shape, str], object]] = {
    "structure": _structure,
    "list": _list,
    "map": _map,
    "integer": _integer,
    "long": _integer,
    "float": _float,
    "double": _float,
    "boolean": _boolean,
}
