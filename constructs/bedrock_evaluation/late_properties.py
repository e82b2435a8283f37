"""What a stack's jobs write into the template once every grant and tag is in place: the policy of
each role of ours (a job's own role, or an ``EvaluationServiceRole`` jobs share), and the request of
each job with CDK tags.

Both are plain data by then, each written with one jsii call, in one pass per stack: Node calls back
into Python once per stack, not once per role or job each time it resolves the template (CDK
resolves a resource's properties more than once: the template, the tree metadata).

A role's statements go into its inline policy while they fit, counted at the longest the deployed
values can be; the rest into customer managed policies of the role (``Policy2``, ``Policy3``, ...),
each within IAM's size, that every job running as the role waits for.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

import jsii
from aws_cdk import AspectPriority, Aspects, CfnResource, IAspect, Stack
from aws_cdk import aws_iam as iam
from constructs import Construct, IConstruct

from . import contract
from .compliance import WildcardAcknowledgements
from .errors import EvaluationJobConfigError, Violation
from .policies import MANAGED_POLICIES_PER_ROLE, DeployedSizes, InlinePolicy, Statement, Substitutions, rendered
from .scopes import cfn_resource_of, path_of, stack_of

_BY_STACK: weakref.WeakKeyDictionary[Stack, LateProperties] = weakref.WeakKeyDictionary()


@dataclass
class _RolePolicy:
    role: iam.Role
    name: str
    policy: InlinePolicy
    jobs: list[tuple[CfnResource, set[tuple[str, str]]]] = field(default_factory=list)


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
        self._policies: dict[int, _RolePolicy] = {}
        self._requests: list[tuple[CfnResource, Callable[[], dict[str, Any] | None]]] = []

    def inline_policy(self, role: iam.Role, name: str, policy: InlinePolicy) -> None:
        """Write the policy into the role as its inline policy `name` (nothing if it stays empty)."""
        self._policies[id(role)] = _RolePolicy(role, name, policy)

    def runs_as(self, job: CfnResource, role: iam.IRole, granted: Sequence[Statement]) -> None:
        """The job runs as the role and granted it these statements: it waits for the managed
        policies any of them lands in."""
        found = self._policies.get(id(role))
        if found is not None:
            found.jobs.append((job, _pairs(granted)))

    def request(self, resource: CfnResource, render: Callable[[], dict[str, Any] | None]) -> None:
        """Write what render answers as the resource's Request (None: the request it was made with stands)."""
        self._requests.append((resource, render))

    def visit(self, node: IConstruct) -> None:
        substitutions = Substitutions.of(self._stack)
        sizes = DeployedSizes(self._stack)
        acknowledgements = WildcardAcknowledgements.of(self._stack)
        for written in self._policies.values():
            documents = written.policy.placed(sizes)
            if not documents:
                continue
            # The managed policies a role may have: ours, and the stack's statement every job role attaches.
            if len(documents) - 1 > MANAGED_POLICIES_PER_ROLE - 1:
                raise EvaluationJobConfigError(
                    path_of(written.role),
                    [
                        Violation(
                            "role",
                            f"{len(written.jobs)} jobs",
                            f"their statements need {len(documents) - 1} managed policies besides the inline one, more than the "
                            f"{MANAGED_POLICIES_PER_ROLE - 1} a role may take here (IAM attaches at most {MANAGED_POLICIES_PER_ROLE}): "
                            "give some of the jobs another EvaluationServiceRole",
                        )
                    ],
                )
            role = cast(iam.CfnRole, cfn_resource_of(written.role))
            # The role's own property, not an override: checkers that read the construct (cdk-nag) see it.
            role.policies = [iam.CfnRole.PolicyProperty(policy_document=rendered(documents[0], substitutions, self._stack), policy_name=written.name)]
            acknowledgements.acknowledge_inline(role, written.role, documents[0])
            for number, statements in enumerate(documents[1:], start=2):
                managed = iam.CfnManagedPolicy(
                    written.role,
                    f"Policy{number}",
                    policy_document=rendered(statements, substitutions, self._stack),
                    roles=[role.ref],
                    description="Statements of this evaluation service role beyond its inline policy",
                )
                acknowledgements.acknowledge_inline(managed, written.role, statements)
                held = _pairs(statements)
                for job, granted in written.jobs:
                    if granted & held:
                        job.node.add_dependency(managed)
        for resource, render in self._requests:
            request = render()
            if request is not None:
                resource.add_property_override(contract.PROP_REQUEST, request)


def _pairs(statements: Sequence[Statement]) -> set[tuple[str, str]]:
    """Each (actions and conditions, resource) the statements allow."""
    return {(statement.key(), resource) for statement in statements for resource in statement.resources}
