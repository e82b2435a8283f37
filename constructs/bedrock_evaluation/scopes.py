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

from aws_cdk import CfnResource, Stack
from aws_cdk.aws_iam import IRole
from aws_cdk.aws_s3 import IBucket
from constructs import IConstruct

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


_PATHS: weakref.WeakKeyDictionary[IConstruct, str] = weakref.WeakKeyDictionary()


def adopt(construct: IConstruct, scope: IConstruct, construct_id: str) -> None:
    """Remember a construct just made in scope: its stack is scope's, its path scope's and its id
    (what Node would answer, without asking it)."""
    _STACKS[construct] = stack_of(scope)
    parent = path_of(scope)
    _PATHS[construct] = f"{parent}/{construct_id}" if parent else construct_id


def path_of(scope: IConstruct) -> str:
    """`scope.node.path`, remembered for scope (a construct's path never changes)."""
    try:
        return _PATHS[scope]
    except (KeyError, TypeError):
        pass
    path = scope.node.path
    try:
        _PATHS[scope] = path
    except TypeError:
        pass
    return path


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
    try:
        return _BUCKETS[bucket]
    except (KeyError, TypeError):
        pass
    found = (bucket.bucket_name, bucket.bucket_arn)
    try:
        _BUCKETS[bucket] = found
    except TypeError:
        pass
    return found


_ROLE_ARNS: weakref.WeakKeyDictionary[IRole, str] = weakref.WeakKeyDictionary()


def role_arn_of(role: IRole) -> str:
    """`role.role_arn`, asked of Node once per role."""
    try:
        return _ROLE_ARNS[role]
    except (KeyError, TypeError):
        pass
    arn = role.role_arn
    try:
        _ROLE_ARNS[role] = arn
    except TypeError:
        pass
    return arn


_DEFAULT_CHILDREN: weakref.WeakKeyDictionary[IConstruct, CfnResource] = weakref.WeakKeyDictionary()


def cfn_resource_of(construct: IConstruct) -> CfnResource:
    """`construct.node.default_child` (an L2's own CloudFormation resource), asked of Node once."""
    try:
        return _DEFAULT_CHILDREN[construct]
    except (KeyError, TypeError):
        pass
    resource = cast(CfnResource, construct.node.default_child)
    try:
        _DEFAULT_CHILDREN[construct] = resource
    except TypeError:
        pass
    return resource
