"""What a job asks of the jsii runtime about its scope, asked once and remembered in Python.

`Stack.of(scope)`, `scope.node.path`, a stack's account or region, a bucket's name: each is a round
trip to Node, and a job asks them of itself, its role, its stack and its bucket many times while it
is built. None of them changes once asked: a construct never moves, a stack's environment is fixed.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar, cast

from aws_cdk import AspectPriority, Aspects, CfnResource, IAspect, Stack
from aws_cdk.aws_iam import IRole
from aws_cdk.aws_s3 import IBucket
from constructs import Construct, IConstruct

_STACKS: weakref.WeakKeyDictionary[IConstruct, Stack] = weakref.WeakKeyDictionary()


def stack_of(scope: IConstruct) -> Stack:
    """`Stack.of(scope)`, remembered for scope."""
    if isinstance(scope, Stack):
        return scope
    try:
        return _STACKS[scope]
    except (KeyError, TypeError):  # TypeError: an object that cannot be weakly referenced
        pass
    stack = Stack.of(scope)
    try:
        _STACKS[scope] = stack
    except TypeError:
        pass
    return stack


K = TypeVar("K")
V = TypeVar("V")


def remembered(cache: weakref.WeakKeyDictionary[K, V], key: K, ask: Callable[[], V]) -> V:
    """cache[key], asked (of Node) once and remembered; a key that cannot be weakly referenced is
    asked each time."""
    try:
        return cache[key]
    except (KeyError, TypeError):
        pass
    value = ask()
    try:
        cache[key] = value
    except TypeError:
        pass
    return value


def per_stack(cache: weakref.WeakKeyDictionary[Stack, V], scope: IConstruct, make: Callable[[Stack], V]) -> V:
    """The stack's one object of a kind (kept in cache), made on first use."""
    stack = stack_of(scope)
    return remembered(cache, stack, lambda: make(stack))


A = TypeVar("A", bound=IAspect)


def aspect_per_stack(cache: weakref.WeakKeyDictionary[Stack, A], scope: IConstruct, construct_id: str, make: Callable[[Stack], A]) -> A:
    """The stack's one read-only aspect of a kind, made on first use and applied to a construct of
    its own without children (construct_id): synth calls it once per stack, not once per construct
    of the stack, after the aspects of that construct that still change the tree."""

    def applied(stack: Stack) -> A:
        aspect = make(stack)
        Aspects.of(Construct(stack, construct_id)).add(aspect, priority=AspectPriority.READONLY)
        return aspect

    return per_stack(cache, scope, applied)


_PATHS: weakref.WeakKeyDictionary[IConstruct, str] = weakref.WeakKeyDictionary()


def adopt(construct: IConstruct, scope: IConstruct, construct_id: str) -> None:
    """Remember a construct just made in scope: its stack is scope's, its path scope's and its id
    (what Node would answer, without asking it)."""
    _STACKS[construct] = stack_of(scope)
    parent = path_of(scope)
    _PATHS[construct] = f"{parent}/{construct_id}" if parent else construct_id


def path_of(scope: IConstruct) -> str:
    """`scope.node.path`, remembered for scope (a construct's path never changes)."""
    return remembered(_PATHS, scope, lambda: scope.node.path)


@dataclass(frozen=True)
class StackFacts:
    """What a stack answers the same every time: tokens for an env-agnostic stack, else literals."""

    account: str
    region: str
    partition: str
    url_suffix: str


_FACTS: weakref.WeakKeyDictionary[Stack, StackFacts] = weakref.WeakKeyDictionary()


def facts_of(stack: Stack) -> StackFacts:
    found = _FACTS.get(stack)
    if found is None:
        found = _FACTS[stack] = StackFacts(stack.account, stack.region, stack.partition, stack.url_suffix)
    return found


_SINGLETONS: weakref.WeakKeyDictionary[Stack, dict[str, Any]] = weakref.WeakKeyDictionary()
T = TypeVar("T")


def one_per_stack(scope: IConstruct, construct_id: str, kind: type[T], make: Callable[[Stack], T]) -> T:
    """The stack's construct of this id and kind, made on first use; looked up in Node once."""
    stack = stack_of(scope)
    made = _SINGLETONS.setdefault(stack, {})
    found = made.get(construct_id)
    if not isinstance(found, kind):
        existing = stack.node.try_find_child(construct_id)
        found = made[construct_id] = existing if isinstance(existing, kind) else make(stack)
    return found


_BUCKETS: weakref.WeakKeyDictionary[IBucket, tuple[str, str]] = weakref.WeakKeyDictionary()


def bucket_name_and_arn(bucket: IBucket) -> tuple[str, str]:
    """A bucket's name and ARN (tokens of a bucket of the app), asked of Node once per bucket.
    `bucket.arn_for_objects(key)` is f"{arn}/{key}"."""
    return remembered(_BUCKETS, bucket, lambda: (bucket.bucket_name, bucket.bucket_arn))


_ROLE_ARNS: weakref.WeakKeyDictionary[IRole, str] = weakref.WeakKeyDictionary()


def role_arn_of(role: IRole) -> str:
    """`role.role_arn`, asked of Node once per role."""
    return remembered(_ROLE_ARNS, role, lambda: role.role_arn)


_DEFAULT_CHILDREN: weakref.WeakKeyDictionary[IConstruct, CfnResource] = weakref.WeakKeyDictionary()


def cfn_resource_of(construct: IConstruct) -> CfnResource:
    """`construct.node.default_child` (an L2's own CloudFormation resource), asked of Node once."""
    return remembered(_DEFAULT_CHILDREN, construct, lambda: cast(CfnResource, construct.node.default_child))
