"""The CreateEvaluationJob input shape from the installed botocore, used at synth to
check requests and to encode the fields CloudFormation would otherwise mangle."""

from __future__ import annotations

import copy
import math
import re
from collections.abc import Callable, Mapping
from functools import cache
from pathlib import Path
from typing import Any

from botocore.loaders import Loader
from botocore.model import ServiceModel, Shape
from botocore.validate import ParamValidator

from . import contract
from .errors import NOT_GIVEN, Summary, Violation
from .tokens import is_unresolved

OPERATION = "CreateEvaluationJob"
_PLACEHOLDER = "placeholder"
# CDK writes an unresolved value inside a string as ${Token[...]}.
TOKEN_MARKER = re.compile(r"\$\{Token\[[^\]]*\]\}")
TOKEN_LENGTH_ESTIMATE = 63
"""How many characters a token inside a length-limited string is taken to stand for: the longest
S3 bucket name (S3 user guide, "General purpose bucket naming rules"), which is what an s3Uri's
token usually is (the evaluation bucket's name, known only at deploy time)."""


def service_model_dir(service: str) -> Path:
    """botocore/data/<service>/<api-version> of the installed botocore (the newest version): the
    model synth checks requests against, and the one the handler asset bundles."""
    root = Path(Loader.BUILTIN_DATA_PATH) / service
    versions = sorted(p for p in root.iterdir() if p.is_dir())
    return versions[-1]


@cache
def service_model(service: str) -> ServiceModel:
    """A service's model from ``service_model_dir``, so synth checks a request as the deployed
    handler sends it. Read by botocore's loader alone: a session would also read ``~/.aws/models``
    and ``AWS_DATA_PATH``, and costs about twice as much to import and build."""
    loader = Loader(extra_search_paths=[Loader.BUILTIN_DATA_PATH], include_default_search_paths=False)
    version = service_model_dir(service).name
    return ServiceModel(loader.load_service_model(service, "service-2", api_version=version), service_name=service)


@cache
def input_shape() -> Shape:
    return service_model("bedrock").operation_model(OPERATION).input_shape


def member(*path: str) -> Shape:
    """The shape of a request field: member("jobTags", "key"); list members are stepped through."""
    shape = input_shape()
    for name in path:
        while shape.type_name == "list":
            shape = shape.member
        shape = shape.members[name]
    return shape


def string_limits(*path: str) -> tuple[re.Pattern[str] | None, int | None]:
    """A string field's pattern and maximum length, as the service model states them."""
    meta = member(*path).metadata
    pattern = meta.get("pattern")
    return (_compiled(pattern) if pattern else None), meta.get("max")


def encode_documents(request: Mapping[str, Any], to_json: Callable[[Any], str]) -> dict[str, Any]:
    """Document-typed fields (filter values, additionalModelRequestFields) become JSON strings,
    so that numbers and booleans inside them survive CloudFormation; the handler decodes them."""
    encoded: dict[str, Any] = _map_documents(copy.deepcopy(dict(request)), input_shape(), to_json)
    return encoded


def _map_documents(value: Any, shape: Shape | None, to_json: Callable[[Any], str]) -> Any:
    if shape is None or is_unresolved(value):
        return value
    if shape.type_name == "structure" and shape.metadata.get("document"):
        return to_json(value)
    if shape.type_name == "structure" and isinstance(value, Mapping):
        return {k: _map_documents(v, shape.members.get(k), to_json) for k, v in value.items()}
    if shape.type_name == "list" and isinstance(value, list):
        return [_map_documents(v, shape.member, to_json) for v in value]
    if shape.type_name == "map" and isinstance(value, Mapping):
        return {k: _map_documents(v, shape.value, to_json) for k, v in value.items()}
    return value


def structure_violations(request: Mapping[str, Any]) -> list[Violation]:
    """What must be refused before anything walks the request recursively or hands it to jsii
    (botocore's validation, the checks below, the template): nesting deeper than the handler
    accepts and numbers JSON cannot hold. Found without recursion.

    Nesting is counted as the handler counts it (contract.nesting_depth, at most
    contract.MAX_REQUEST_DEPTH): on the request with its JSON documents as the strings the
    template holds, and on each document."""
    found: list[Violation] = []
    deepest, deepest_path = 0, ""
    # (value, shape, depth in the request or None inside a document, path)
    stack: list[tuple[Any, Shape | None, int | None, str]] = [(request, input_shape(), 1, "")]
    while stack:
        value, shape, depth, path = stack.pop()
        if depth is not None and shape is not None and shape.type_name == "structure" and shape.metadata.get("document"):
            document_depth = contract.nesting_depth(value)
            if document_depth > contract.MAX_REQUEST_DEPTH:
                found.append(Violation(path, Summary(f"a document nested {document_depth} levels deep"), _TOO_DEEP))
            else:
                stack.append((value, None, None, path))  # a string in the template: a leaf of the request
            continue
        if isinstance(value, Mapping):
            children = [(item, _member_shape(shape, str(key)), _join(path, str(key))) for key, item in value.items()]
        elif isinstance(value, list):
            member_shape = shape.member if shape is not None and shape.type_name == "list" else None
            children = [(item, member_shape, f"{path}[{index}]") for index, item in enumerate(value)]
        else:
            if isinstance(value, float) and not math.isfinite(value):
                found.append(Violation(path, value, _NOT_FINITE))
            continue
        if depth is not None and depth > deepest:
            deepest, deepest_path = depth, path
        if depth is not None and depth > contract.MAX_REQUEST_DEPTH:
            continue  # refused below; nothing deeper is read
        stack.extend((item, item_shape, None if depth is None else depth + 1, item_path) for item, item_shape, item_path in children)
    if deepest > contract.MAX_REQUEST_DEPTH:
        found.insert(0, Violation(deepest_path or "request", Summary(f"nested more than {contract.MAX_REQUEST_DEPTH} levels deep"), _TOO_DEEP))
    return found


_TOO_DEEP = f"at most {contract.MAX_REQUEST_DEPTH} levels of nesting are allowed (the handler refuses more)"
# JSON has no NaN or infinity: neither the template nor the service can hold one, and jsii, which
# carries every value of the template to the CDK, fails on one.
_NOT_FINITE = "must be a finite number: JSON, and so the template and the service, has no NaN or infinity"


def _member_shape(shape: Shape | None, key: str) -> Shape | None:
    if shape is not None and shape.type_name == "structure":
        return shape.members.get(key)
    if shape is not None and shape.type_name == "map":
        return shape.value
    return None


def parameter_violations(request: Mapping[str, Any]) -> list[Violation]:
    """botocore's own parameter validation of the request (types, required members, unions,
    minimums), with tokens given stand-in values of the right type."""
    concrete = _stand_ins(request, input_shape())
    report = ParamValidator().validate(concrete, input_shape())
    # botocore keeps each problem as (reason, name, details) in the report it would raise; the
    # botocore version is pinned with the package, and a test reads one of each kind.
    return [_violation(reason, name, details) for reason, name, details in report._errors]


def _violation(reason: str, name: str, details: Mapping[str, Any]) -> Violation:
    field = name.lstrip(".") or "request"
    if reason == "missing required field":
        return Violation(f"{field}.{details['required_name']}" if name else details["required_name"], NOT_GIVEN, "is required")
    if reason == "unknown field":
        return Violation(f"{field}.{details['unknown_param']}" if name else details["unknown_param"], Summary("set"), "is not a field of CreateEvaluationJob here; expected one of " + ", ".join(details["valid_names"]))
    if reason in ("invalid type", "invalid type for document"):
        # botocore writes the types as str(type): "<class 'dict'>".
        types = [re.sub(r"^<class '(.*)'>$", r"\1", str(t)) for t in details["valid_types"]]
        return Violation(field, details["param"], f"must be of type {' or '.join(types)}")
    if reason == "invalid range":
        return Violation(field, details["param"], f"must be at least {details['min_allowed']}")
    if reason == "invalid length":
        return Violation(field, Summary(f"of length {details['param']}"), f"must be at least {details['min_allowed']} long")
    if reason == "more than one input":
        return Violation(field, sorted(details["members"]), "is a union: set exactly one of " + ", ".join(details["members"]))
    if reason == "empty input":
        return Violation(field, {}, "is a union: set one of " + ", ".join(details["members"]))
    return Violation(field, NOT_GIVEN, reason)


def _stand_ins(value: Any, shape: Shape | None) -> Any:
    if shape is None:
        return value
    kind = shape.type_name
    if is_unresolved(value):
        if kind in ("integer", "long"):
            return int(shape.metadata.get("min", 1))
        if kind in ("float", "double"):
            return float(shape.metadata.get("min", 0))
        if kind == "string":
            return _PLACEHOLDER.ljust(int(shape.metadata.get("min", 0)), "x")
        return value
    if kind == "structure" and not shape.metadata.get("document") and isinstance(value, Mapping):
        return {k: _stand_ins(v, shape.members.get(k)) for k, v in value.items()}
    if kind == "list" and isinstance(value, list):
        return [_stand_ins(v, shape.member) for v in value]
    if kind == "map" and isinstance(value, Mapping):
        return {k: _stand_ins(v, shape.value) for k, v in value.items()}
    return value


def constraint_violations(request: Mapping[str, Any]) -> tuple[list[Violation], list[Violation]]:
    """What botocore leaves to the service: patterns, maximum lengths and sizes, number ranges.
    Returns (errors, warnings); an enum value botocore does not list is only a warning, because
    AWS enums are open (the service accepts taskType "General", which the list lacks)."""
    errors: list[Violation] = []
    warnings: list[Violation] = []
    _check(request, input_shape(), "", errors, warnings)
    return errors, warnings


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _check(value: Any, shape: Shape | None, path: str, errors: list[Violation], warnings: list[Violation]) -> None:
    if shape is None:
        return
    kind, meta = shape.type_name, shape.metadata
    if is_unresolved(value):
        if kind == "string" and isinstance(value, str):
            _check_token_string(value, shape, path, errors)
        return
    if kind == "structure" and not meta.get("document") and isinstance(value, Mapping):
        for key, item in value.items():
            _check(item, shape.members.get(key), _join(path, key), errors, warnings)
    elif kind == "list" and isinstance(value, list):
        if "max" in meta and len(value) > meta["max"]:
            errors.append(Violation(path, Summary(f"{len(value)} items"), f"at most {meta['max']} are allowed"))
        for index, item in enumerate(value):
            _check(item, shape.member, f"{path}[{index}]", errors, warnings)
    elif kind == "map" and isinstance(value, Mapping):
        for key, item in value.items():
            _check(item, shape.value, _join(path, key), errors, warnings)
    elif kind == "string" and isinstance(value, str):
        _check_string(value, shape, path, errors, warnings)
    elif kind in _NUMBERS and isinstance(value, bool):
        # botocore's ParamValidator takes a bool for an int (bool is an int in Python); the template
        # would then hold "true", which the handler cannot read as a number.
        errors.append(Violation(path, value, f"must be a number ({kind}), not a boolean"))
    elif kind in _NUMBERS and isinstance(value, int | float):
        low, high = meta.get("min"), meta.get("max")
        if (low is not None and value < low) or (high is not None and value > high):
            errors.append(Violation(path, value, f"must be between {low} and {high}"))


_NUMBERS = ("integer", "long", "float", "double")


def _check_token_string(value: str, shape: Shape, path: str, errors: list[Violation]) -> None:
    """A string's maximum length, when part of it is known only at deploy time: its literal
    characters, and each token counted as TOKEN_LENGTH_ESTIMATE. A value that is one token and
    nothing else (an id or ARN of another resource) is left to the service."""
    limit, tokens, literal = shape.metadata.get("max"), len(TOKEN_MARKER.findall(value)), TOKEN_MARKER.sub("", value)
    if limit is None or not tokens or not literal:
        return
    estimate = len(literal) + tokens * TOKEN_LENGTH_ESTIMATE
    if estimate > limit:
        shown = f"about {estimate} characters once deployed (each of its {tokens} token(s) counted as {TOKEN_LENGTH_ESTIMATE}, a bucket name's limit)"
        errors.append(Violation(path, Summary(shown), f"at most {limit} are allowed"))


def _check_string(value: str, shape: Shape, path: str, errors: list[Violation], warnings: list[Violation]) -> None:
    meta = shape.metadata
    if "max" in meta and len(value) > meta["max"]:
        errors.append(Violation(path, Summary(f"{len(value)} characters long"), f"at most {meta['max']} are allowed"))
    pattern = meta.get("pattern")
    if pattern and not _matches(pattern, value):
        errors.append(Violation(path, value, f"does not match the pattern {_shortened(pattern)}"))
    enum = shape.enum
    if enum and value not in enum:
        warnings.append(Violation(path, value, f"botocore does not list it ({', '.join(enum)}); the service may still accept it"))


def _shortened(pattern: str) -> str:
    return pattern if len(pattern) <= 80 else pattern[:77] + "..."


@cache
def _compiled(pattern: str) -> re.Pattern[str] | None:
    try:
        return re.compile(pattern)
    except re.error:
        return None  # a pattern Python cannot read is left to the service


def _matches(pattern: str, value: str) -> bool:
    compiled = _compiled(pattern)
    return compiled is None or compiled.fullmatch(value) is not None


def operation_violations(request: Mapping[str, Any], shape: Shape) -> tuple[list[Violation], list[Violation]]:
    """A request of another operation (CreateFlowDefinition) checked as evaluation-job requests are:
    botocore's parameter validation with tokens stood in for, then what it leaves to the service.
    Returns (errors, warnings)."""
    report = ParamValidator().validate(_stand_ins(request, shape), shape)
    errors = [_violation(reason, name, details) for reason, name, details in report._errors]
    warnings: list[Violation] = []
    _check(request, shape, "", errors, warnings)
    return errors, warnings
