"""The policies of the service roles jobs create, kept as plain Python data and written once per
stack, when every grant is in place.

A role a job creates for itself holds its policy inline (``Policies`` of the role: no
``AWS::IAM::Policy`` per job) and takes no statements through jsii: each grant is a Python
statement, merged with the others like CDK's ``minimizePolicies`` does, and the stack's
``LateProperties`` writes the document into the role as plain data (no callback from Node per
role at synth). A statement that is the same for every job of the stack (the output bucket's
listing) is written once, in a customer managed policy of the stack that those roles attach,
instead of once per role.
"""

from __future__ import annotations

import functools
import json
import re
import weakref
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

from aws_cdk import CfnResource, Stack, Tokenization
from aws_cdk import aws_iam as iam
from constructs import Construct, IConstruct

from .scopes import per_stack

_TOKEN = re.compile(r"\$\{Token\[[a-zA-Z0-9:._-]+\]\}")


@dataclass(frozen=True)
class Statement:
    """One Allow statement: actions on resources, under conditions (a mapping, or None)."""

    actions: tuple[str, ...]
    resources: tuple[str, ...]
    conditions: Mapping[str, Any] | None = None

    def key(self) -> str:
        return repr(sorted(self.actions)) + repr(self.conditions)


def merged(statements: Sequence[Statement]) -> list[Statement]:
    """Statements with the same actions and conditions as one, resources in the order granted."""
    by_key: dict[str, Statement] = {}
    for statement in statements:
        key = statement.key()
        earlier = by_key.get(key)
        if earlier is None:
            by_key[key] = Statement(tuple(sorted(set(statement.actions))), tuple(dict.fromkeys(statement.resources)), statement.conditions)
        else:
            by_key[key] = Statement(earlier.actions, tuple(dict.fromkeys((*earlier.resources, *statement.resources))), earlier.conditions)
    return list(by_key.values())


def statement_json(statement: Statement, resources: Sequence[Any] | None = None) -> dict[str, Any]:
    """The statement as CDK writes it: a single action or resource as a string, actions sorted;
    resources: the statement's, as they are to be written (default: as granted)."""
    actions = sorted(set(statement.actions))
    rendered: dict[str, Any] = {"Action": actions[0] if len(actions) == 1 else actions}
    if statement.conditions:
        rendered["Condition"] = dict(statement.conditions)
    rendered["Effect"] = "Allow"
    written = list(statement.resources if resources is None else resources)
    rendered["Resource"] = written[0] if len(written) == 1 else written
    return rendered


# IAM's limits on a role's policies, in characters without whitespace (IAM User Guide, "IAM and AWS
# STS quotas": all inline policies of a role together 10,240; one managed policy 6,144; 10 managed
# policies attached to a role by default).
ROLE_INLINE_CHARS = 10_240
MANAGED_POLICY_CHARS = 6_144
MANAGED_POLICIES_PER_ROLE = 10
# What our inline policy may take of a role's inline total: the rest (2,048) stays for the statements
# others add to the role (its DefaultPolicy, also inline).
OUR_INLINE_CHARS = ROLE_INLINE_CHARS - 2_048
# The same for a role that takes every plain statement into our policy (inline_roles.InlineRole):
# the rest (1,024) for a statement that is not a plain Allow, which stays in a DefaultPolicy.
ALL_INLINE_CHARS = ROLE_INLINE_CHARS - 1_024
_DOCUMENT_CHARS = len('{"Statement":[],"Version":"2012-10-17"}')


class InlinePolicy:
    """The policy of a role of ours (a job's own, or an ``EvaluationServiceRole`` jobs share):
    statements in Python, written by ``LateProperties`` once every grant is in place: into the
    role's inline policy while it fits ``inline_chars`` at deployed lengths, the rest into
    customer managed policies of the role, each within IAM's size."""

    def __init__(self, *, inline_chars: int = OUR_INLINE_CHARS) -> None:
        self.statements_granted: list[Statement] = []
        self.inline_chars = inline_chars

    def add(self, statement: Statement) -> None:
        self.statements_granted.append(statement)

    def placed(self, sizes: DeployedSizes, *, inline_chars: int | None = None, inline: bool = True) -> list[list[Statement]]:
        """The statements, merged, in documents: the first for the inline policy (empty when none
        goes there), each later one for a managed policy. A statement too long for the room left is
        split by resources. Empty when nothing was granted.

        inline_chars: the room of the inline policy (default: the policy's); inline: whether the
        role may hold any (not when a resource it names could need the role first)."""
        if not self.statements_granted:
            return []
        documents: list[list[Statement]] = [[]]
        room = (self.inline_chars if inline_chars is None else inline_chars) - _DOCUMENT_CHARS if inline else 0
        for statement in merged(self.statements_granted):
            resources = list(statement.resources)
            while resources:
                if room <= sizes.of(statement_json(statement, resources[:1])) + 1:
                    documents.append([])
                    room = MANAGED_POLICY_CHARS - _DOCUMENT_CHARS
                # One resource alone too long for a fresh document still goes in: IAM refuses it at deploy.
                taken = max(1, _fitting(statement, resources, room, sizes))
                part = Statement(statement.actions, tuple(resources[:taken]), statement.conditions)
                documents[-1].append(part)
                room -= sizes.of(statement_json(part)) + 1
                resources = resources[taken:]
        return documents


def rendered(statements: Sequence[Statement], substitutions: Substitutions, stack: Stack) -> dict[str, Any]:
    """A policy document as the template holds it: each ARN as one ``Fn::Sub`` where CDK would
    write an ``Fn::Join`` of its parts (the same value, in fewer bytes)."""
    return {
        "Statement": [statement_json(s, [substitutions.compact(r, stack) for r in s.resources]) for s in statements],
        "Version": "2012-10-17",
    }


def _fitting(statement: Statement, resources: list[str], room: int, sizes: DeployedSizes) -> int:
    """How many of the resources, in order, one statement may list within room characters."""
    used = sizes.of(statement_json(statement, resources[:1]))
    if used > room:
        return 0
    count = 1
    for resource in resources[1:]:
        used += sizes.of(resource) + 1 + (2 if count == 1 else 0)  # a comma; from two on, the list's brackets
        if used > room:
            break
        count += 1
    return count


class DeployedSizes:
    """How many characters a value is at most once deployed (what IAM counts): each token at the
    longest value it can take. Pseudo parameters at their longest in any partition (aws-us-gov,
    amazonaws.com.cn; a region name within 16 characters); a bucket's name at S3's 63 characters
    and its ARN with it; a role's name at IAM's 64 and its ARN with it and its path; an attribute
    of another resource at 256; any other token (a parameter, an import) at 2,048. Asked of Node
    once per token and stack."""

    _PSEUDO = {"AWS::Partition": len("aws-us-gov"), "AWS::Region": 16, "AWS::AccountId": 12, "AWS::URLSuffix": len("amazonaws.com.cn")}
    UNKNOWN = 2_048
    _BUCKET = {"Ref": 63, "Arn": len("arn:aws-us-gov:s3:::") + 63, "DomainName": 63 + 30, "RegionalDomainName": 63 + 40}
    OTHER = 256

    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        self._tokens: dict[str, int] = {}

    def of(self, value: Any) -> int:
        text = json.dumps(value, separators=(",", ":"))
        size = len(text)
        for match in _TOKEN.finditer(text):
            size += self._token(match.group(0)) - len(match.group(0))
        return size

    def at_least(self, value: Any) -> int:
        """How many characters a value is at the least once deployed: each token counted as one."""
        text = json.dumps(value, separators=(",", ":"))
        return len(text) - sum(len(match.group(0)) - 1 for match in _TOKEN.finditer(text))

    def _token(self, token: str) -> int:
        if token not in self._tokens:
            declared = _DECLARED.get(self.stack, {}).get(token)
            self._tokens[token] = self._longest(token) if declared is None else declared
        return self._tokens[token]

    def _longest(self, token: str) -> int:
        resolved = self.stack.resolve(token)
        if isinstance(resolved, dict) and isinstance(resolved.get("Ref"), str) and resolved["Ref"] in self._PSEUDO:
            return self._PSEUDO[resolved["Ref"]]
        target = _reference_target(token)
        if not isinstance(target, CfnResource):
            return self.UNKNOWN  # a parameter, an import, a function of other values
        if target.cfn_resource_type == "AWS::S3::Bucket" and isinstance(resolved, dict):
            attribute = resolved["Fn::GetAtt"][1] if isinstance(resolved.get("Fn::GetAtt"), list) else "Ref" if "Ref" in resolved else None
            return self._BUCKET.get(str(attribute), self.OTHER)
        if target.cfn_resource_type == "AWS::IAM::Role" and isinstance(resolved, dict):
            return self._role(cast(iam.CfnRole, target), resolved)
        return self.OTHER

    def _role(self, role: iam.CfnRole, resolved: dict[str, Any]) -> int:
        if "Ref" in resolved:
            return ROLE_NAME_CHARS
        if resolved.get("Fn::GetAtt", [None, None])[1] != "Arn":
            return self.OTHER
        path = role.path or "/"
        if "${Token[" in path:
            return self.UNKNOWN  # a path known only at deploy time
        return role_arn_chars(path)


# IAM's quotas: a role name has at most 64 characters (a path at most 512; the default is "/").
ROLE_NAME_CHARS = 64


def role_arn_chars(path: str = "/") -> int:
    """The longest ARN of a role with this path, in any partition."""
    return len("arn:aws-us-gov:iam::123456789012:role") + len(path) + ROLE_NAME_CHARS


def declare_longest(stack: Stack, token: str, chars: int) -> None:
    """What made the token knows the longest value it takes: DeployedSizes need not ask Node."""
    _DECLARED.setdefault(stack, {})[token] = chars


_DECLARED: weakref.WeakKeyDictionary[Stack, dict[str, int]] = weakref.WeakKeyDictionary()


class Substitutions:
    """One per stack: writes a string with tokens as ``{"Fn::Sub": "...${Logical.Attribute}..."}``
    when each of its tokens is a pseudo parameter or a Ref or Fn::GetAtt of a resource of this
    stack; each token is resolved, and its resource's stack asked, once per stack.

    Values are compacted before the template is written, where a token of another stack still
    resolves to its resource's own Ref or Fn::GetAtt (CDK turns it into an Fn::ImportValue only
    later): such a token is left for CDK to write."""

    def __init__(self) -> None:
        self._parts: dict[str, str | None] = {}

    def compact(self, value: str, stack: Stack) -> Any:
        if "${Token[" not in value or "${!" in value or _TOKEN.fullmatch(value):
            return value  # no token, or one alone: CDK writes it as its Ref or Fn::GetAtt
        body: list[str] = []
        position = 0
        for match in _TOKEN.finditer(value):
            literal = value[position : match.start()]
            if "${" in literal:
                return value
            body.append(literal)
            token = match.group(0)
            if token not in self._parts:
                self._parts[token] = _variable(stack.resolve(token), functools.partial(_of_stack, token, stack))
            part = self._parts[token]
            if part is None:
                return value
            body.append(part)
            position = match.end()
        literal = value[position:]
        if "${" in literal:
            return value
        body.append(literal)
        return {"Fn::Sub": "".join(body)}

    @classmethod
    def of(cls, scope: Construct) -> Substitutions:
        return per_stack(_SUBSTITUTIONS, scope, lambda stack: cls())


def _variable(resolved: Any, of_stack: Callable[[], bool]) -> str | None:
    """${AWS::Name} for a pseudo parameter; for a resource of this stack, ${Name} for {"Ref": Name}
    and ${Logical.Attribute} for {"Fn::GetAtt": [Logical, Attribute]}."""
    if isinstance(resolved, dict) and len(resolved) == 1:
        ref = resolved.get("Ref")
        if isinstance(ref, str) and (ref.startswith("AWS::") or of_stack()):
            return "${" + ref + "}"
        att = resolved.get("Fn::GetAtt")
        if isinstance(att, list) and len(att) == 2 and all(isinstance(a, str) for a in att) and of_stack():
            return "${" + str(att[0]) + "." + str(att[1]) + "}"
    return None


def _reference_target(token: str) -> IConstruct | None:
    """What the token references, when it is one CDK Reference (a Ref or an Fn::GetAtt)."""
    tokens = Tokenization.reverse_string(token).tokens
    target = getattr(tokens[0], "target", None) if len(tokens) == 1 else None
    return cast(IConstruct, target) if target is not None else None


def _of_stack(token: str, stack: Stack) -> bool:
    """Whether the token references a resource of this stack."""
    target = _reference_target(token)
    return target is not None and Stack.of(target) is stack


_SUBSTITUTIONS: weakref.WeakKeyDictionary[Stack, Substitutions] = weakref.WeakKeyDictionary()


class SharedStatements:
    """One per stack: each statement that several job roles need alike, in a customer managed
    policy of its own that those roles attach."""

    CONSTRUCT_ID = "BedrockEvaluationServiceRoles"

    @classmethod
    def of(cls, scope: Construct) -> SharedStatements:
        return per_stack(_SHARED, scope, cls)

    def __init__(self, stack: Stack) -> None:
        self._stack = stack
        self._scope: Construct | None = None
        self._policies: dict[str, iam.IManagedPolicy] = {}

    def attach(self, role: iam.Role, statement: Statement, name: str) -> None:
        """Give role the statement through the stack's managed policy that holds it."""
        key = statement.key() + repr(statement.resources)
        policy = self._policies.get(key)
        if policy is None:
            if self._scope is None:
                self._scope = Construct(self._stack, self.CONSTRUCT_ID)
            document = {"Statement": [statement_json(statement)], "Version": "2012-10-17"}
            construct_id = f"{name}{len(self._policies) or ''}"
            resource = iam.CfnManagedPolicy(
                self._scope, construct_id, policy_document=document, description="Statements every job service role of this stack needs alike"
            )
            policy = self._policies[key] = iam.ManagedPolicy.from_managed_policy_arn(self._scope, f"{construct_id}Arn", resource.ref)
        role.add_managed_policy(policy)


_SHARED: weakref.WeakKeyDictionary[Stack, SharedStatements] = weakref.WeakKeyDictionary()


class TokenRenderer:
    """Renders resources the way cdk-nag names them in a finding (`compliance.render`), resolving
    each token once per stack instead of each resource that holds it."""

    def __init__(self, stack: Stack) -> None:
        self._stack = stack
        self._rendered: dict[str, str] = {}

    def __call__(self, value: str) -> str:
        from .compliance import render

        parts: list[str] = []
        position = 0
        for match in _TOKEN.finditer(value):
            parts.append(render(value[position : match.start()]))
            token = match.group(0)
            if token not in self._rendered:
                self._rendered[token] = render(self._stack.resolve(token))
            parts.append(self._rendered[token])
            position = match.end()
        parts.append(render(value[position:]))
        return "".join(parts)
