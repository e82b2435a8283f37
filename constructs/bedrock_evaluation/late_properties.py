"""What a stack's jobs write into the template once every grant and tag is in place: the inline
policy of each role a job created for itself, and the request of each job with CDK tags.

Both are plain data by then, each written with one jsii call, in one pass per stack: Node
calls back into Python once per stack, not once per role or job each time it resolves the template
(CDK resolves a resource's properties more than once: the template, the tree metadata).
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import Any, cast

import jsii
from aws_cdk import AspectPriority, Aspects, CfnResource, IAspect, Stack
from aws_cdk import aws_iam as iam
from constructs import Construct, IConstruct

from . import contract
from .policies import InlinePolicy, Substitutions
from .scopes import cfn_resource_of, stack_of

_BY_STACK: weakref.WeakKeyDictionary[Stack, LateProperties] = weakref.WeakKeyDictionary()


@jsii.implements(IAspect)
class LateProperties:
    """One per stack. It is applied to a construct of its own without children, so synth calls it
    once per stack; with the read-only priority, after every aspect that still changes the tree
    (CDK's Tags among them)."""

    CONSTRUCT_ID = "BedrockEvaluationLateProperties"

    @classmethod
    def of(cls, scope: IConstruct) -> LateProperties:
        stack = stack_of(scope)
        found = _BY_STACK.get(stack)
        if found is None:
            found = _BY_STACK[stack] = cls(stack)
            Aspects.of(Construct(stack, cls.CONSTRUCT_ID)).add(found, priority=AspectPriority.READONLY)
        return found

    def __init__(self, stack: Stack) -> None:
        self._stack = stack
        self._policies: list[tuple[iam.Role, str, InlinePolicy]] = []
        self._requests: list[tuple[CfnResource, Callable[[], dict[str, Any] | None]]] = []

    def inline_policy(self, role: iam.Role, name: str, policy: InlinePolicy) -> None:
        """Write the policy into the role as its inline policy `name` (nothing if it stays empty)."""
        self._policies.append((role, name, policy))

    def request(self, resource: CfnResource, render: Callable[[], dict[str, Any] | None]) -> None:
        """Write what render answers as the resource's Request (None: the request it was made with stands)."""
        self._requests.append((resource, render))

    def visit(self, node: IConstruct) -> None:
        substitutions = Substitutions.of(self._stack)
        for role, name, policy in self._policies:
            document = policy.document(substitutions, self._stack)
            if document is not None:
                # The role's own property, not an override: checkers that read the construct (cdk-nag) see it.
                cast(iam.CfnRole, cfn_resource_of(role)).policies = [iam.CfnRole.PolicyProperty(policy_document=document, policy_name=name)]
        for resource, render in self._requests:
            request = render()
            if request is not None:
                resource.add_property_override(contract.PROP_REQUEST, request)
