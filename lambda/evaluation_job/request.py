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
    MAX_REQUEST_DEPTH,
    NAME_DIGEST_LENGTH,
    PROP_JOB_NAME_PREFIX,
    PROP_REMOVAL,
    PROP_REQUEST,
    Removal,
    name_prefix_problem,
    nesting_depth,
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
    earlier_names: tuple[str, ...] = ()
    """The names earlier handler versions gave this request's job (see NAME_DIGESTS)."""

    @property
    def identity(self) -> dict[str, object]:
        """What the job evaluates: the request without its jobTags. Tags are not part of a job's
        identity: a tag-only change retags the job instead of starting a new, paid one."""
        return identity_of(self.request)

    @property
    def tags(self) -> dict[str, str]:
        """The jobTags the request asks for, by key."""
        return tags_of(self.request)

    @property
    def request_digest(self) -> str:
        """A digest of the identity but the name, which Create writes into the job's REQUEST_DIGEST_TAG: how the
        handler later tells which request a job runs without comparing fields the service may
        normalise (model ids given back as ARNs, defaults filled in)."""
        unnamed = {key: value for key, value in self.identity.items() if key != "jobName"}  # names differ by version
        return hashlib.sha256(_canonical(unnamed).encode()).hexdigest()

    def create_request(self) -> dict[str, object]:
        """The CreateEvaluationJob parameters: the request, with REQUEST_DIGEST_TAG added when jobTags
        has room for it (the user's own tags keep the whole of jobTags' limit; a job without the tag is
        recognised by its fields)."""
        user_tags = [t for t in _tag_list(self.request) if t.get("key") != REQUEST_DIGEST_TAG]
        if len(user_tags) >= max_job_tags():
            return self.request
        return {**self.request, "jobTags": [*user_tags, {"key": REQUEST_DIGEST_TAG, "value": self.request_digest}]}

    @property
    def name(self) -> str:
        return str(self.request["jobName"])

    @property
    def names(self) -> tuple[str, ...]:
        """Every name this resource's job may have: the name, then the earlier versions' names."""
        return (self.name, *self.earlier_names)


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
    depth = nesting_depth(raw_request)
    if depth > MAX_REQUEST_DEPTH:
        raise InvalidProperties(f"{PROP_REQUEST} is nested {depth} levels deep; at most {MAX_REQUEST_DEPTH} are allowed")
    shape: Shape = input_shape if input_shape is not None else create_input_shape()
    request = _structure(raw_request, shape, PROP_REQUEST)
    if CLIENT_REQUEST_TOKEN in request:
        raise InvalidProperties(f"{PROP_REQUEST}.{CLIENT_REQUEST_TOKEN} {CLIENT_REQUEST_TOKEN_RULE}")
    removal = removal_of(properties)
    name_is_generated = not request.get("jobName")
    earlier_names: tuple[str, ...] = ()
    if name_is_generated:
        prefix = properties.get(PROP_JOB_NAME_PREFIX)
        request["jobName"], *earlier = generated_job_names(prefix, request, stack_id=stack_id, logical_id=logical_id)
        earlier_names = tuple(name for name in earlier if name != request["jobName"])
    output = request.get("outputDataConfig")
    if not isinstance(output, Mapping) or "s3Uri" not in output:
        raise InvalidProperties(f"{PROP_REQUEST}.outputDataConfig.s3Uri is required")
    return JobSpec(
        request=request,
        removal=removal,
        name_is_generated=name_is_generated,
        output_s3_uri=f"{str(output['s3Uri']).rstrip('/')}/{request['jobName']}/",
        earlier_names=earlier_names,
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
    return generated_job_names(prefix, request, stack_id=stack_id, logical_id=logical_id)[0]


def generated_job_names(
    prefix: object, request: Mapping[str, object], *, stack_id: str, logical_id: str
) -> tuple[str, ...]:
    """The name of this version (first), then the names earlier versions gave the same job."""
    problem = name_prefix_problem(prefix)
    if problem is not None:
        raise InvalidProperties(f"property {PROP_JOB_NAME_PREFIX} is {prefix!r}; it {problem}")
    return tuple(f"{prefix}-{digest(stack_id, logical_id, request)}" for digest in NAME_DIGESTS)


def _digest_v1(stack_id: str, logical_id: str, request: Mapping[str, object]) -> str:
    canonical = _canonical({"stack": stack_id, "resource": logical_id, "request": request})
    return hashlib.sha256(canonical.encode()).hexdigest()[:NAME_DIGEST_LENGTH]


def _digest_v2(stack_id: str, logical_id: str, request: Mapping[str, object]) -> str:
    """v1 of the request without its jobTags: a request without tags keeps its v1 name."""
    return _digest_v1(stack_id, logical_id, identity_of(request))


NAME_DIGESTS: tuple[Callable[[str, str, Mapping[str, object]], str], ...] = (_digest_v2, _digest_v1)
"""How each handler version derived the name digest, newest first. The name is how the handler
finds its job again (a rollback, a lost answer) and tells it from others': a version that derives
it differently must add its digest at the front and keep the earlier ones, or a rollback after
an upgrade would start a duplicate (tests/golden/handler_names.json pins the current one)."""


REQUEST_DIGEST_TAG = "bedrock-evaluation:request-sha256"
"""The job tag Create adds, holding JobSpec.request_digest. GetEvaluationJob returns no tags: the
handler reads it with ListTagsForResource."""


def identity_of(request: Mapping[str, object]) -> dict[str, object]:
    return {key: value for key, value in request.items() if key != "jobTags"}


def tags_of(request: Mapping[str, object]) -> dict[str, str]:
    return {str(t["key"]): str(t.get("value", "")) for t in _tag_list(request) if "key" in t}


def _tag_list(request: Mapping[str, object]) -> list[Mapping[str, object]]:
    tags = request.get("jobTags")
    return [t for t in tags if isinstance(t, Mapping)] if isinstance(tags, list) else []


def max_job_tags() -> int:
    """jobTags' maximum length, from the service model."""
    return int(create_input_shape().members["jobTags"].metadata["max"])


def _canonical(value: object) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


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
            document = json.loads(value)
        except json.JSONDecodeError as error:
            raise InvalidProperties(f"{path} must hold a JSON document: {error}") from None
        except RecursionError:
            document = None  # deeper than the limit below, by far
        if document is None and value.strip() != "null" or nesting_depth(document) > MAX_REQUEST_DEPTH:
            raise InvalidProperties(f"{path} is nested more than {MAX_REQUEST_DEPTH} levels deep")
        return document
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
