"""The policy of each role of ours that our grants go to (a job's own service role, an
``EvaluationServiceRole`` jobs share, the handler's role), written once every grant is in place.

It is plain data by then, written with one jsii call per role, in one pass per stack: Node calls
back into Python once per stack, not once per role each time it resolves the template (CDK
resolves a resource's properties more than once: the template, the tree metadata).

A role's statements go into its inline policy while they fit, counted at the longest the deployed
values can be (the role's DefaultPolicy, which holds the statements others add, is inline too and
keeps the room it may take); the rest into customer managed policies of the role (``Policy2``,
``Policy3``, ...), each within IAM's size. A role that a KMS key policy names holds none inline.
Every job running as the role waits for the managed policies that hold its statements, and for all
of the role when others added statements to it (CDK's overflow policies included); a resource the
handler serves also waits for the handler's role itself when its statements are inline there.
"""

from __future__ import annotations

import weakref
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import cast

import jsii
from aws_cdk import CfnResource, IAspect, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import IConstruct

from .compliance import WildcardAcknowledgements
from .errors import EvaluationJobConfigError, Violation
from .policies import (
    MANAGED_POLICIES_PER_ROLE,
    MANAGED_POLICY_CHARS,
    ROLE_INLINE_CHARS,
    DeployedSizes,
    InlinePolicy,
    Statement,
    Substitutions,
    rendered,
)
from .scopes import aspect_per_stack, cfn_resource_of, path_of
from .template_references import named_logical_ids

_BY_STACK: weakref.WeakKeyDictionary[Stack, LateProperties] = weakref.WeakKeyDictionary()


@dataclass
class _RolePolicy:
    role: iam.Role
    name: str
    policy: InlinePolicy
    remedy: str
    users: str
    """What the resources that need its statements are (in a refusal)."""
    waits_on_role: bool
    """Whether a resource whose statements are inline waits for the role: not a job's service role,
    which its job already references (roleArn)."""
    managed_description: str
    """The description of its managed policies."""
    jobs: list[tuple[CfnResource, set[tuple[str, str]] | None]] = field(default_factory=list)
    """Each resource that needs the role's statements, and which (None: all of them)."""
    inline_written: bool = False
    """Whether a synth wrote some of its statements into the role itself."""
    managed: list[iam.CfnManagedPolicy] = field(default_factory=list)
    """The managed policies written for it, kept across synths (an assertion may synthesize again)."""


@jsii.implements(IAspect)
class LateProperties:
    """One per stack (``scopes.aspect_per_stack``). Grants are made while constructs are built,
    so all are in place when synth calls it."""

    CONSTRUCT_ID = "BedrockEvaluationLateProperties"

    @classmethod
    def of(cls, scope: IConstruct) -> LateProperties:
        return aspect_per_stack(_BY_STACK, scope, cls.CONSTRUCT_ID, cls)

    def __init__(self, stack: Stack) -> None:
        self._stack = stack
        self._policies: dict[int, _RolePolicy] = {}

    def inline_policy(
        self,
        role: iam.Role,
        name: str,
        policy: InlinePolicy,
        *,
        remedy: str,
        users: str = "jobs",
        waits_on_role: bool = False,
        managed_description: str = "Statements of this evaluation service role beyond its inline policy",
    ) -> None:
        """Write the policy into the role as its inline policy `name` (nothing if it stays empty).
        remedy: what to do when the statements need more managed policies than IAM attaches."""
        self._policies[id(role)] = _RolePolicy(role, name, policy, remedy, users, waits_on_role, managed_description)

    def runs_as(self, job: CfnResource, role: iam.IRole, granted: Sequence[Statement] | None) -> None:
        """The job runs as the role (of this stack), or uses it, and needs these statements of it
        (None: all): it waits for the managed policies any of them lands in, and for all of the
        role when it has a DefaultPolicy."""
        found = self._policies.get(id(role))
        if found is not None:
            found.jobs.append((job, None if granted is None else _pairs(granted)))

    def visit(self, node: IConstruct) -> None:
        substitutions = Substitutions.of(self._stack)
        sizes = DeployedSizes(self._stack)
        acknowledgements = WildcardAcknowledgements.of(self._stack)
        named_by_keys = self._named_by_key_policies()
        for written in self._policies.values():
            role = cast(iam.CfnRole, cfn_resource_of(written.role))
            # Asked of Node only for a role that took statements of others (an EvaluationServiceRole knows).
            default_policy = (
                cast(iam.Policy | None, written.role.node.try_find_child("DefaultPolicy"))
                if getattr(written.role, "has_default_policy", True)
                else None
            )
            # CDK's, from a DefaultPolicy over the inline size (those it makes after this are not seen).
            overflow = _overflow_policies(written.role) if default_policy is not None else []
            # What others added is an inline policy too: ours leaves it the room it may take at most.
            added = 0 if default_policy is None else self._added_size(written, default_policy, overflow, sizes)
            documents = written.policy.placed(
                sizes,
                inline_chars=min(written.policy.inline_chars, ROLE_INLINE_CHARS - added),
                inline=not (named_by_keys and cast(str, self._stack.resolve(role.logical_id)) in named_by_keys),
            )
            if len(documents) > 1:
                self._refuse_beyond_quota(written, role, len(documents) - 1, len(overflow), added)
            if not documents or not documents[0]:
                if written.inline_written:  # an earlier synth (an assertion synthesizes again) wrote some
                    role.policies = None
                    written.inline_written = False
            else:
                written.inline_written = True
                # The role's own property, not an override: checkers that read the construct (cdk-nag) see it.
                role.policies = [iam.CfnRole.PolicyProperty(policy_document=rendered(documents[0], substitutions, self._stack), policy_name=written.name)]
                acknowledgements.acknowledge_inline(role, written.role, documents[0])
                if written.waits_on_role:
                    inline = _pairs(documents[0])
                    for job, granted in written.jobs:
                        if granted is None or granted & inline:
                            job.add_resource_dependency(role)
            for index, statements in enumerate(documents[1:]):
                managed = self._managed_policy(written, role, index)
                managed.policy_document = rendered(statements, substitutions, self._stack)
                acknowledgements.acknowledge_inline(managed, written.role, statements)
                held = _pairs(statements)
                for job, granted in written.jobs:
                    if granted is None or granted & held:
                        job.add_resource_dependency(managed)
            for stale in written.managed[max(0, len(documents) - 1) :]:
                written.role.node.try_remove_child(stale.node.id)
            del written.managed[max(0, len(documents) - 1) :]
            # What others added may be needed too: wait for all of the role, the overflow policies CDK
            # makes of its DefaultPolicy included (made when synth reaches the role, maybe after this).
            for job, _ in written.jobs if default_policy is not None else []:
                job.node.add_dependency(written.role)

    @staticmethod
    def _added_size(written: _RolePolicy, default_policy: iam.Policy, overflow: list[iam.ManagedPolicy], sizes: DeployedSizes) -> int:
        """The most characters the role's DefaultPolicy can take once deployed, up to all of the
        role's inline room: what it cannot hold, CDK moves to overflow managed policies of the role,
        a statement at a time (before this or after). Refused when a statement fits neither, even at
        its shortest: IAM would refuse it at deploy."""
        document = default_policy.document.to_json() or {}  # None once CDK moved every statement out
        if overflow or sizes.at_least(document) > ROLE_INLINE_CHARS:
            moved = [policy.document.to_json() or {} for policy in overflow]
            statements = [s for d in (document, *moved) for s in d.get("Statement", [])]
            largest = max((sizes.at_least(statement) for statement in statements), default=0)
            if largest > MANAGED_POLICY_CHARS:
                raise EvaluationJobConfigError(
                    path_of(written.role),
                    [
                        Violation(
                            "DefaultPolicy",
                            f"a statement of at least {largest:,} characters once deployed",
                            f"the statements added to the role are over IAM's {ROLE_INLINE_CHARS:,} characters for its inline "
                            f"policies, so CDK moves them to managed policies, which IAM allows {MANAGED_POLICY_CHARS:,} each: "
                            "split that statement into statements of fewer resources",
                        )
                    ],
                )
        return min(sizes.of(document), ROLE_INLINE_CHARS)

    def _named_by_key_policies(self) -> set[str]:
        """The resources that a KMS key policy in this stack, or in a stack nested in it, names. A
        role named there holds its statements in managed policies only: in the role itself, a
        statement on anything that needs the key (the key, a bucket it encrypts, a job role that
        lists that bucket, a nested stack holding one of them) would make the role need the key and
        the key the role, a cycle CloudFormation refuses. A key's policy is a property of the key;
        the other policies of resources our statements name (a bucket's, for one) are resources
        apart, which need the role without the role needing them. (A job's own role attaches the
        stack's output-bucket listing itself: named in the policy of the key that encrypts that
        bucket, it remains in a cycle, which CDK's template validation reports.)

        Asked before CDK turns references between stacks into parameters: a key of a nested stack
        names a role of this stack by its own logical id. A logical id that a nested stack's
        resource shares with ours only moves our statements, never loses one."""
        named: set[str] = set()
        for key in self._stack.node.find_all():  # one call to Node, however many constructs
            if isinstance(key, kms.CfnKey | kms.CfnReplicaKey):
                named |= named_logical_ids(Stack.of(key).resolve(key.key_policy))
        return named

    @staticmethod
    def _managed_policy(written: _RolePolicy, role: iam.CfnRole, index: int) -> iam.CfnManagedPolicy:
        if index < len(written.managed):
            return written.managed[index]
        managed = iam.CfnManagedPolicy(
            written.role,
            f"Policy{index + 2}",
            policy_document={},
            roles=[role.ref],
            description=written.managed_description,
        )
        written.managed.append(managed)
        return managed

    def _refuse_beyond_quota(self, written: _RolePolicy, role: iam.CfnRole, needed: int, overflow: int, added: int) -> None:
        """IAM attaches at most MANAGED_POLICIES_PER_ROLE managed policies to a role, those attached
        otherwise (``add_managed_policy``, CDK's overflow policies) included; one more is left for the owner of the role."""
        attached = len(cast(list[object], self._stack.resolve(role.managed_policy_arns) or [])) + overflow
        room = max(0, MANAGED_POLICIES_PER_ROLE - 1 - attached)
        if needed > room:
            raise EvaluationJobConfigError(
                path_of(written.role),
                [
                    Violation(
                        "role",
                        f"{len(written.jobs)} {written.users}",
                        f"their statements need {needed} managed policies besides the inline one, and the role may take {room} more "
                        f"(IAM attaches at most {MANAGED_POLICIES_PER_ROLE}: {attached} are attached, one is left for you"
                        + (f"; the statements added to the role take up to {added:,} of its inline characters" if added else "")
                        + "): "
                        + written.remedy,
                    )
                ],
            )


def _overflow_policies(role: iam.Role) -> list[iam.ManagedPolicy]:
    """The managed policies CDK made of the role's DefaultPolicy where it outgrew the role's inline size."""
    return [cast(iam.ManagedPolicy, child) for child in role.node.children if child.node.id.startswith("OverflowPolicy")]


def _pairs(statements: Sequence[Statement]) -> set[tuple[str, str]]:
    """Each (actions and conditions, resource) the statements allow."""
    return {(statement.key(), resource) for statement in statements for resource in statement.resources}
