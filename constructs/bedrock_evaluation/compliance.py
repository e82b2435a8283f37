"""How the findings of cdk-nag, checkov and cfn-lint our constructs acknowledge (the tables in
`findings.py`) are written, each on the narrowest resource with the checker's own granular id.

Findings are fixed where they can be (the Provider framework and the dataset upload run with
roles of ours, without AWS managed policies or wildcard actions; the evaluation bucket logs
access to a log bucket). ``WildcardAcknowledgements``, an aspect registered once per stack, reads
the final policy documents, renders each resource the way cdk-nag does and acknowledges a wildcard
only if it matches an entry, on a role the entry is for, with no action outside the entry's
actions, and (on a role that is not wholly ours) only if our constructs granted it.

The security reference, `SECURITY.md`, is generated from the tables and from ``access.PERMISSIONS``
(``security_reference``).
"""

from __future__ import annotations

import json
import re
import weakref
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, cast

import jsii
from aws_cdk import Acknowledgment, CfnResource, IAspect, Stack, Validations
from constructs import IConstruct

from .access import Holder
from .findings import (
    ACCESS_LOG_DESTINATION,
    CDK_UPLOAD_RUNTIME,
    ENVIRONMENT_WITHOUT_SECRETS,
    LOGS_SERVICE_ENCRYPTED,
    NO_DEAD_LETTER_QUEUE,
    NO_RESERVED_CONCURRENCY,
    NO_VPC,
    PINNED_PYTHON_RUNTIME,
    POLLER_WITHOUT_LOGS,
    POLLER_WITHOUT_XRAY,
    RESOURCE_FINDINGS,
    ROLE_DEPENDENCY,
    UNSCOPED_WRITE,
    WAITER_WITHOUT_LOGS,
    WAITER_WITHOUT_XRAY,
    WILDCARD_RESOURCES,
    WRITES_ON_STAR,
    ResourceFinding,
    WildcardResource,
)
from .policies import InlinePolicy, Statement, TokenRenderer
from .scopes import aspect_per_stack, stack_of
from .tokens import is_unresolved

NAG_PACK = "AwsSolutions"
REASONS_KEY = "bedrock-evaluation:acknowledged"
"""Template metadata on each resource: every finding acknowledged on it, with its reason."""


# The tables are defined in findings.py; they are read here and by the constructs through this module.
__all__ = [
    "ACCESS_LOG_DESTINATION",
    "CDK_UPLOAD_RUNTIME",
    "ENVIRONMENT_WITHOUT_SECRETS",
    "LOGS_SERVICE_ENCRYPTED",
    "NAG_PACK",
    "NO_DEAD_LETTER_QUEUE",
    "NO_RESERVED_CONCURRENCY",
    "NO_VPC",
    "PINNED_PYTHON_RUNTIME",
    "REASONS_KEY",
    "RESOURCE_FINDINGS",
    "ROLE_DEPENDENCY",
    "ResourceFinding",
    "UNSCOPED_WRITE",
    "POLLER_WITHOUT_LOGS",
    "POLLER_WITHOUT_XRAY",
    "WAITER_WITHOUT_LOGS",
    "WAITER_WITHOUT_XRAY",
    "WILDCARD_RESOURCES",
    "WRITES_ON_STAR",
    "WildcardAcknowledgements",
    "WildcardResource",
    "acknowledge",
    "acknowledge_all",
    "as_list",
    "cfn_resources",
    "checker_of",
    "record_grant",
    "render",
    "watch_inline",
    "wildcard_entry",
    "wildcard_resources",
]

# --- writing acknowledgements -------------------------------------------------------------------


def checker_of(rule: str) -> str:
    if rule.startswith(f"{NAG_PACK}-"):
        return "cdk-nag"
    if rule.startswith("CKV"):
        return "checkov"
    if re.fullmatch(r"[EWI]\d{4}", rule):
        return "cfn-lint"
    raise ValueError(f"no checker has a rule named {rule!r}")


def acknowledge(resource: CfnResource, finding: ResourceFinding, *rules: str) -> None:
    """Acknowledge the finding's rules (or only those given) on one resource."""
    for rule in rules or finding.rules:
        if rule not in finding.rules:
            raise ValueError(f"{finding.key} does not cover {rule}")
        _acknowledge(resource, rule, finding.reason)


def acknowledge_all(resources: Iterable[CfnResource], finding: ResourceFinding, *rules: str) -> None:
    for resource in resources:
        acknowledge(resource, finding, *rules)


def cfn_resources(scope: IConstruct, *types: str) -> list[CfnResource]:
    """The CloudFormation resources of these types under scope (itself included). A construct is
    told apart by its Python class (jsii gives each object the class of its type), and an L1's
    type by its class's constant: Node is asked only about a generic CfnResource."""
    return [c for c in scope.node.find_all() if isinstance(c, CfnResource) and _resource_type(c) in types]


_TYPES: dict[type, str | None] = {}


def _resource_type(resource: CfnResource) -> str:
    kind = type(resource)
    if kind not in _TYPES:
        declared = getattr(kind, "CFN_RESOURCE_TYPE_NAME", None)
        _TYPES[kind] = declared if isinstance(declared, str) else None
    return _TYPES[kind] or resource.cfn_resource_type


def _acknowledge_nag(resource: CfnResource, rules: dict[str, str]) -> None:
    """cdk-nag rules (rule -> reason) on one resource, written at once."""
    if not rules:
        return
    Validations.of(resource).acknowledge(*(Acknowledgment(id=f"{NAG_PACK}::{rule}", reason=reason) for rule, reason in rules.items()))
    reasons = _REASONS.setdefault(_object_key(resource), {})
    reasons.update(rules)
    resource.add_metadata(REASONS_KEY, dict(reasons))


def _acknowledge(resource: CfnResource, rule: str, reason: str) -> None:
    checker = checker_of(rule)
    if checker == "cdk-nag":
        _acknowledge_nag(resource, {rule: reason})
        return
    if checker == "checkov":
        config = _metadata(resource, "checkov", {"skip": []})
        if all(skip["id"] != rule for skip in config["skip"]):
            config["skip"].append({"id": rule, "comment": reason})
        resource.add_metadata("checkov", config)
    else:
        config = _metadata(resource, "cfn-lint", {"config": {"ignore_checks": []}})
        if rule not in config["config"]["ignore_checks"]:
            config["config"]["ignore_checks"].append(rule)
        resource.add_metadata("cfn-lint", config)
    # Only this function writes REASONS_KEY: what a resource holds is known without asking Node.
    reasons = _REASONS.setdefault(_object_key(resource), {})
    reasons[rule] = reason
    resource.add_metadata(REASONS_KEY, dict(reasons))


_METADATA: dict[tuple[str, str], Any] = {}


def _metadata(resource: CfnResource, key: str, empty: Any) -> Any:
    """A checker's metadata on the resource as this module last wrote it; read from Node only the
    first time (it may hold the user's own entries)."""
    found = _METADATA.get((_object_key(resource), key))
    if found is None:
        found = _METADATA[(_object_key(resource), key)] = resource.get_metadata(key) or empty
    return found


_REASONS: dict[str, dict[str, str]] = {}
"""What _acknowledge wrote as REASONS_KEY metadata on each resource, by its jsii object reference
(a resource CDK created has a new Python proxy each time it is looked up)."""


def _object_key(resource: CfnResource) -> str:
    reference = getattr(getattr(resource, "__jsii_ref__", None), "ref", None)
    return str(reference) if reference is not None else f"python:{id(resource)}"


# --- wildcard resources, read from the final policies -------------------------------------------


def render(value: Any) -> str:
    """A resolved CloudFormation value as cdk-nag writes it in a finding id (flattenCfnReference)."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value.replace("${", "<").replace("}", ">")
    if isinstance(value, dict):
        if value.get("Fn::Join"):
            separator, items = value["Fn::Join"]
            return str(separator).join(render(item) for item in items)
        if value.get("Fn::Sub"):
            return render(value["Fn::Sub"])
        if value.get("Fn::GetAtt"):
            resource, attribute = value["Fn::GetAtt"]
            return f"<{render(resource)}.{render(attribute)}>"
        if value.get("Fn::ImportValue"):
            return render(value["Fn::ImportValue"])
        if value.get("Ref"):
            return f"<{render(value['Ref'])}>"
    return str(json.dumps(value, separators=(",", ":")))


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def wildcard_resources(policy_document: dict[str, Any]) -> dict[str, set[str]]:
    """Each rendered resource with a wildcard that some Allow statement names, and every action
    allowed on it in this document."""
    found: dict[str, set[str]] = defaultdict(set)
    for statement in policy_document.get("Statement", []):
        if statement.get("Effect") != "Allow":
            continue
        actions = {str(a) for a in as_list(statement.get("Action", []))}
        for resource in as_list(statement.get("Resource", [])):
            rendered = render(resource)
            if "*" in rendered:
                found[rendered] |= actions
    return found


def wildcard_entry(rendered: str, actions: Iterable[str], holder: Holder) -> WildcardResource | None:
    """The table's entry for this wildcard resource on this holder's role, if there is one."""
    actions = set(actions)
    return next((entry for entry in WILDCARD_RESOURCES if entry.covers(rendered, actions, holder)), None)


@dataclass
class _Watched:
    role: IConstruct
    holder: Holder
    ours: bool
    """Every statement of its policies is ours; otherwise only recorded grants are."""
    granted: list[Any]
    inline: InlinePolicy | None = None
    """The policy of our statements of a role of ours: acknowledged where LateProperties writes it."""


# The roles' policies a role keeps as children: its own DefaultPolicy, or the Policy of this stack
# that a mutable imported role takes statements into.
_POLICY_CHILDREN = ("DefaultPolicy", "Policy")
_BY_STACK: weakref.WeakKeyDictionary[Stack, WildcardAcknowledgements] = weakref.WeakKeyDictionary()


@jsii.implements(IAspect)
class WildcardAcknowledgements:
    """One per stack: acknowledges the IAM5 findings of the table on the roles our constructs
    create or grant to, once every grant is in place.

    It is applied to a construct of its own without children (``CONSTRUCT_ID``), so synth calls it
    once per stack, not once per construct of the stack; it then reads the policies of the roles it
    watches (read-only priority: after the aspects of that construct that still change the tree)."""

    CONSTRUCT_ID = "BedrockEvaluationAcknowledgements"

    @classmethod
    def of(cls, scope: IConstruct) -> WildcardAcknowledgements:
        return aspect_per_stack(_BY_STACK, scope, cls.CONSTRUCT_ID, lambda stack: cls())

    def __init__(self) -> None:
        self._watched: dict[int, _Watched] = {}
        self._rendering: TokenRenderer | None = None

    def watch(self, role: IConstruct, holder: Holder) -> None:
        """A role our constructs create, every statement of which is ours."""
        self._watched[id(role)] = _Watched(role, holder, ours=True, granted=[])

    def record(self, role: IConstruct, holder: Holder, resources: Sequence[str]) -> None:
        """Resources our constructs granted to a role that may also hold the user's statements."""
        watched = self._watched.get(id(role))
        if watched is None:
            watched = self._watched[id(role)] = _Watched(role, holder, ours=False, granted=[])
        watched.granted.extend(resources)

    def watched(self, role: IConstruct) -> _Watched | None:
        return self._watched.get(id(role))

    def watch_inline(self, role: IConstruct, holder: Holder, document: InlinePolicy) -> None:
        """A role whose inline policy holds our statements (and only ours), rendered from Python."""
        if id(role) not in self._watched:
            self._watched[id(role)] = _Watched(role, holder, ours=True, granted=[], inline=document)

    def visit(self, node: IConstruct) -> None:
        stack = Stack.of(node)
        rendering = TokenRenderer(stack)
        for watched in self._watched.values():
            if watched.inline is not None:
                continue  # written, and acknowledged where written, by LateProperties
            for name in _POLICY_CHILDREN:
                policy = watched.role.node.try_find_child(name)
                resource = policy.node.default_child if policy is not None else None
                if resource is not None and cast(CfnResource, resource).cfn_resource_type == "AWS::IAM::Policy":
                    self._acknowledge_wildcards(stack, rendering, cast(CfnResource, resource), watched)

    def acknowledge_inline(self, resource: CfnResource, role: IConstruct, statements: Sequence[Statement]) -> None:
        """The wildcards of our statements of a role of ours, where they are written: its inline
        policy (the role) or one of its managed policies."""
        watched = self._watched.get(id(role))
        if watched is None:
            return
        if self._rendering is None:
            self._rendering = TokenRenderer(stack_of(resource))
        rendering = self._rendering
        written = [{"Effect": "Allow", "Action": list(s.actions), "Resource": [rendering(r) for r in s.resources]} for s in statements]
        found = wildcard_resources({"Statement": written})
        if found:
            _acknowledge_found(resource, found, watched.holder, lambda rendered: True)

    @staticmethod
    def _acknowledge_wildcards(stack: Stack, rendering: TokenRenderer, node: CfnResource, watched: _Watched) -> None:
        document = stack.resolve(node.policy_document)  # type: ignore[attr-defined]
        granted = {rendering(r) for r in watched.granted}
        _acknowledge_found(node, wildcard_resources(document), watched.holder, lambda rendered: watched.ours or rendered in granted)


def _acknowledge_found(resource: CfnResource, found: dict[str, set[str]], holder: Holder, ours: Callable[[str], bool]) -> None:
    """The IAM5 findings of the wildcards found in a resource's policy that the table has an entry
    for on this holder's role (and that are ours), written at once."""
    rules: dict[str, str] = {}
    unscoped_write = False
    for rendered, actions in found.items():
        entry = wildcard_entry(rendered, actions, holder) if ours(rendered) else None
        if entry is not None:
            rules[f"{NAG_PACK}-IAM5[Resource::{rendered}]"] = entry.reason
            unscoped_write |= rendered == "*" and bool(actions & WRITES_ON_STAR)
    _acknowledge_nag(resource, rules)
    if unscoped_write:
        acknowledge(resource, UNSCOPED_WRITE)


def watch_inline(role: IConstruct, holder: Holder, document: InlinePolicy) -> None:
    WildcardAcknowledgements.of(role).watch_inline(role, holder, document)


def record_grant(role: IConstruct, holder: Holder, resources: Sequence[str]) -> None:
    WildcardAcknowledgements.of(role).record(role, holder, [r for r in resources if not _is_plain_arn(r)])


def _is_plain_arn(resource: str) -> bool:
    return not is_unresolved(resource) and "*" not in resource
