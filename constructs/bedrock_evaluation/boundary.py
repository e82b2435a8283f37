"""Type checks at the public boundary.

A value of the wrong Python type fails where it is given, as one EvaluationJobConfigError that
names the factory or construct, every wrong argument, what it is and what was expected, instead
of an AttributeError deep inside synth. The checks run typeguard's ``check_type`` (as aws-cdk-lib's
own bindings do) against the annotations, with what typeguard 2 does not check done here: ``X | Y``
unions, jsii interfaces (``s3.IBucket``), a ``str`` given for a sequence, ``bool`` given for a
number, and tokens, which stand for a value of the type they encode.
"""

from __future__ import annotations

import collections.abc
import functools
import inspect
import types
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import MISSING, dataclass, fields
from enum import Enum
from typing import Any, Literal, ParamSpec, TypeVar, Union, cast, get_args, get_origin, get_type_hints

import typeguard
from constructs import Construct
from jsii._reference_map import InterfaceDynamicProxy

from .errors import EvaluationJobConfigError, Violation
from .tokens import is_unresolved

P = ParamSpec("P")
R = TypeVar("R")
Init = TypeVar("Init", bound=Callable[..., None])

# Origins whose check typeguard passes for a str, since a str is a sequence of str.
_SEQUENCES: frozenset[Any] = frozenset(
    {collections.abc.Sequence, collections.abc.MutableSequence, collections.abc.Collection, collections.abc.Iterable}
)
_ITEM_CONTAINERS: frozenset[Any] = _SEQUENCES | {list, tuple, set, frozenset, collections.abc.Set}
_MAPPINGS: frozenset[Any] = frozenset({dict, collections.abc.Mapping, collections.abc.MutableMapping})


def checked(function: Callable[P, R]) -> Callable[P, R]:
    """Refuses arguments of the wrong type before ``function`` runs.

    For public functions, static methods and class methods (put ``@classmethod`` or
    ``@staticmethod`` above it). The error is named by the function's qualified name, such as
    ``Model.bedrock``. Arguments left out are not checked: their defaults are the function's own.
    """
    where = _name(function)

    @functools.wraps(function)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        violations = _Signature.of(function).violations(args, kwargs)
        if violations:
            raise EvaluationJobConfigError(where, violations)
        return function(*args, **kwargs)

    return wrapper


def checked_construct(init: Init) -> Init:
    """Refuses arguments of the wrong type before a construct's ``__init__(self, scope, construct_id, ...)`` runs.

    The error is named by the construct's path (``<scope path>/<construct_id>``); a scope that is not
    a Construct has no path, so the error is then named by the class and the id.
    """

    @functools.wraps(init)
    def wrapper(self: object, *args: Any, **kwargs: Any) -> None:
        signature = _Signature.of(init)
        scope_name, id_name = signature.positional[1:3]
        scope = args[0] if args else kwargs.get(scope_name)
        construct_id = args[1] if len(args) > 1 else kwargs.get(id_name)
        violations = signature.violations((self, *args), kwargs)
        if violations:
            raise EvaluationJobConfigError(_construct_where(self, scope, construct_id), violations)
        init(self, *args, **kwargs)

    return cast(Init, wrapper)


def check_fields(instance: object, *, constants: Iterable[type] = ()) -> None:
    """Refuses fields of the wrong type; for a frozen dataclass to call in ``__post_init__``.

    Fields left at their default, private fields (``_name``) and fields not set by ``__init__``
    are not checked.

    :param constants: classes of named string constants (such as ``Metric``): a message that
        suggests a value spells it by its constant, ``[Metric.ACCURACY]`` rather than ``['Builtin.Accuracy']``.
    """
    violations = [
        Violation(field.name, value, problem)
        for field, default in _dataclass_fields(type(instance))
        if (value := getattr(instance, field.name)) is not default
        and (problem := field.problem(value, constants)) is not None
    ]
    if violations:
        raise EvaluationJobConfigError(_name(type(instance)), violations)


def _construct_where(construct: object, scope: object, construct_id: object) -> str:
    if not isinstance(scope, Construct):
        return f"{_name(type(construct))}({construct_id!r})"
    name = construct_id if isinstance(construct_id, str) else _name(type(construct))
    return f"{scope.node.path}/{name}" if scope.node.path else name


@dataclass(frozen=True)
class _Field:
    """One annotated parameter or field: its annotation, and the form typeguard 2 can check."""

    name: str
    annotation: Any
    checkable: Any
    expected: str
    """The annotation as a message shows it, e.g. ``Sequence[str] | None``."""
    holds_sequence: bool

    @classmethod
    def of(cls, name: str, annotation: Any) -> _Field:
        checkable = _checkable(annotation)
        return cls(name, annotation, checkable, _readable(annotation), _holds_sequence(checkable))

    def problem(self, value: object, constants: Iterable[type] = ()) -> str | None:
        """The rule ``value`` breaks, in words, or None when it is of the expected type."""
        try:
            typeguard.check_type(argname=self.name, value=value, expected_type=self.checkable)
        except TypeError:
            if self._accepted_as_token(value):
                return None
            rule = f"expected {self.expected}, got {_type_name(value)}"
            detail = _item_detail(self.name, value, self.checkable)
            if detail:
                return f"{rule} ({detail})"
            if hasattr(type(value), "__jsii_type__") and is_unresolved(value):
                return f"{rule}, a token: give it as the type expected (Token.as_string, as_number or as_list)"
            return rule
        if self.holds_sequence and _str_for_sequence(value, self.checkable):
            return self._str_for_sequence_rule(value, constants)
        return None

    def _accepted_as_token(self, value: object) -> bool:
        # A token stands for a value of the type it is encoded as: a string token is accepted
        # where a str is, a number token where a number is. (A list token is a list of str.)
        stand_in: object
        if isinstance(value, str):
            stand_in = ""
        elif isinstance(value, int | float) and not isinstance(value, bool):
            stand_in = 0
        else:
            return False
        return bool(is_unresolved(value)) and self.problem(stand_in) is None

    def _str_for_sequence_rule(self, value: object, constants: Iterable[type]) -> str:
        if not isinstance(value, str):
            return f"expected {self.expected}, got {_type_name(value)} holding a str where a sequence is expected"
        rule = f"expected {self.expected}, got str"
        if is_unresolved(value):
            return f"{rule} (a string token); a token for a list is made with Token.as_list"
        return f"{rule}; a str is not taken as a list of its characters: write [{_spelled(value, constants)}]"


@dataclass(frozen=True)
class _Signature:
    """The checkable parameters of a function, resolved on its first call and kept."""

    fields: Mapping[str, _Field]
    positional: tuple[str, ...]
    var_positional: str | None
    var_keyword: str | None

    @staticmethod
    @functools.cache
    def of(function: Callable[..., Any]) -> _Signature:
        hints = get_type_hints(function)
        parameters = inspect.signature(function).parameters.values()
        kinds = inspect.Parameter
        positional = (kinds.POSITIONAL_ONLY, kinds.POSITIONAL_OR_KEYWORD)
        return _Signature(
            fields={p.name: _Field.of(p.name, hints[p.name]) for p in parameters if p.name in hints},
            positional=tuple(p.name for p in parameters if p.kind in positional),
            var_positional=next((p.name for p in parameters if p.kind is kinds.VAR_POSITIONAL), None),
            var_keyword=next((p.name for p in parameters if p.kind is kinds.VAR_KEYWORD), None),
        )

    def violations(self, args: Sequence[object], kwargs: Mapping[str, object]) -> list[Violation]:
        given: list[tuple[str, _Field | None, object]] = []
        for index, value in enumerate(args):
            if index < len(self.positional):
                name = self.positional[index]
                given.append((name, self.fields.get(name), value))
            elif self.var_positional is not None:
                name = f"{self.var_positional}[{index - len(self.positional)}]"
                given.append((name, self.fields.get(self.var_positional), value))
        for name, value in kwargs.items():
            field = self.fields.get(name) or (self.fields.get(self.var_keyword) if self.var_keyword else None)
            given.append((name, field, value))
        # Unannotated parameters (self, cls) and unknown names are left to Python.
        return [
            Violation(name, value, problem)
            for name, field, value in given
            if field is not None and (problem := field.problem(value)) is not None
        ]


_DATACLASS_FIELDS: dict[type, tuple[tuple[_Field, object], ...]] = {}
_NO_DEFAULT = object()


def _dataclass_fields(cls: type) -> tuple[tuple[_Field, object], ...]:
    """Each checked field of a dataclass and its default, resolved once per class."""
    known = _DATACLASS_FIELDS.get(cls)
    if known is None:
        hints = get_type_hints(cls)
        known = _DATACLASS_FIELDS[cls] = tuple(
            (_Field.of(f.name, hints[f.name]), _NO_DEFAULT if f.default is MISSING else f.default)
            for f in fields(cls)
            if f.init and not f.name.startswith("_")
        )
    return known


# --- annotations as typeguard 2 can check them


def _checkable(annotation: Any) -> Any:
    """The annotation with what typeguard 2 passes unchecked replaced by what it can check."""
    origin, args = get_origin(annotation), get_args(annotation)
    if origin is Union or origin is types.UnionType:
        # typeguard 2 predates X | Y and lets any value through one.
        return cast(Any, Union)[tuple(_checkable(a) for a in args)]
    if (origin in _ITEM_CONTAINERS or origin in _MAPPINGS) and args:
        return origin[tuple(a if a is Ellipsis else _checkable(a) for a in args)]
    if annotation is int:
        return _INT
    if annotation is float:
        return _FLOAT
    if _is_jsii_interface(annotation):
        return _implementing(annotation)
    return annotation


class _NumberMeta(type):
    """A number type that refuses bool, which Python counts as an int."""

    accepts: tuple[type, ...]

    def __instancecheck__(cls, value: object) -> bool:
        return isinstance(value, cls.accepts) and not isinstance(value, bool)


_INT = _NumberMeta("int", (), {"accepts": (int,), "__module__": "builtins"})
_FLOAT = _NumberMeta("float", (), {"accepts": (int, float), "__module__": "builtins"})


class _ImplementsMeta(type):
    """Stands for a jsii interface: a typing.Protocol that isinstance cannot check."""

    interface: type

    def __instancecheck__(cls, value: object) -> bool:
        return _implements(value, cls.interface)


@functools.cache
def _implementing(interface: type) -> type:
    attributes = {"interface": interface, "__module__": interface.__module__, "__qualname__": interface.__qualname__}
    return _ImplementsMeta(interface.__name__, (), attributes)


def _is_jsii_interface(annotation: Any) -> bool:
    return (
        isinstance(annotation, type)
        and bool(getattr(annotation, "_is_protocol", False))
        and hasattr(annotation, "__jsii_type__")
    )


def _implements(value: object, interface: type) -> bool:
    if isinstance(value, InterfaceDynamicProxy):
        return any(_implements(delegate, interface) for delegate in value._delegates)
    classes = type(value).__mro__
    # Classes declare their interfaces with @jsii.implements; objects made in JavaScript come
    # back as the interface's proxy class, or the proxy of an interface that extends it.
    declared: Iterable[type] = getattr(type(value), "__jsii_ifaces__", ())
    proxy = getattr(interface, "__jsii_proxy_class__", None)
    return (
        interface in classes
        or any(interface in i.__mro__ for i in declared)
        or (proxy is not None and proxy() in classes)
    )


def _passes(value: object, checkable: Any) -> bool:
    try:
        typeguard.check_type(argname="value", value=value, expected_type=checkable)
    except TypeError:
        return False
    return True


def _holds_sequence(checkable: Any) -> bool:
    if checkable in _SEQUENCES or get_origin(checkable) in _SEQUENCES:
        return True
    return any(_holds_sequence(a) for a in get_args(checkable) if a is not Ellipsis)


def _str_for_sequence(value: object, checkable: Any) -> bool:
    """Whether typeguard accepted ``value`` only by taking a str for a sequence, here or inside."""
    origin, args = get_origin(checkable), get_args(checkable)
    if origin is Union:
        accepting = [a for a in args if _passes(value, a)]
        return bool(accepting) and all(_str_for_sequence(value, a) for a in accepting)
    if isinstance(value, str) and (checkable in _SEQUENCES or origin in _SEQUENCES):
        return True
    if origin in _ITEM_CONTAINERS and args and isinstance(value, Iterable):
        if origin is tuple and args[-1] is not Ellipsis:
            return any(_str_for_sequence(v, a) for v, a in zip(value, args, strict=False))
        return any(_str_for_sequence(v, args[0]) for v in value)
    if origin in _MAPPINGS and len(args) == 2 and isinstance(value, Mapping):  # noqa: PLR2004 (key and value)
        return any(_str_for_sequence(v, args[1]) for v in value.values())
    return False


def _item_detail(name: str, value: object, checkable: Any) -> str | None:
    """typeguard's account of a wrong item, when the container itself is of an expected type."""
    origin = get_origin(checkable)
    if origin is Union:
        return next(filter(None, (_item_detail(name, value, a) for a in get_args(checkable))), None)
    if (origin not in _ITEM_CONTAINERS and origin not in _MAPPINGS) or not _passes(value, origin):
        return None
    try:
        typeguard.check_type(argname=name, value=value, expected_type=checkable)
    except TypeError as error:
        return str(error)
    return None


# --- how a message shows types and values


def _readable(annotation: Any) -> str:
    if annotation is None or annotation is type(None):
        return "None"
    if annotation is Any:
        return "Any"
    origin, args = get_origin(annotation), get_args(annotation)
    if origin is Union or origin is types.UnionType:
        return " | ".join(_readable(a) for a in args)
    if origin is Literal:
        return " | ".join(repr(a) for a in args)
    if origin is not None:
        name = getattr(origin, "__qualname__", str(origin))
        return f"{name}[{', '.join('...' if a is Ellipsis else _readable(a) for a in args)}]" if args else name
    return annotation.__qualname__ if isinstance(annotation, type) else str(annotation)


def _name(defined: Callable[..., Any] | type) -> str:
    """``Model.bedrock``: the qualified name, without the function a local definition is in."""
    return defined.__qualname__.rpartition("<locals>.")[2]


def _type_name(value: object) -> str:
    return "None" if value is None else type(value).__qualname__


def _spelled(value: str, constants: Iterable[type]) -> str:
    if isinstance(value, Enum):
        return f"{type(value).__name__}.{value.name}"
    for holder in constants:
        for name, constant in vars(holder).items():
            if not name.startswith("_") and constant == value:
                return f"{holder.__name__}.{name}"
    return repr(value)
