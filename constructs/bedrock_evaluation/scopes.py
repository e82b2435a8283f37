"""The stack of a construct, asked of the jsii runtime once per construct.

`Stack.of(scope)` is a round trip to Node each time; a job asks it of itself, its role and its
resources many times while it is built. A construct never moves to another stack.
"""

from __future__ import annotations

import weakref

from aws_cdk import Stack
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
