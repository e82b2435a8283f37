"""Every permission our constructs grant goes through `grant` (or `allow_in_key_policy`), which
records it for the acknowledgements; what each permission allows, and why, is the table in
`access`. A job's grants are derived from its request: the role gets exactly what it names."""

from __future__ import annotations

import weakref
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

from aws_cdk import Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms

from . import access
from .compliance import record_grant, watch_inline
from .models import model_access
from .policies import InlinePolicy, SharedStatements, Statement
from .references import S3Location, literal_s3_location, references, resource_arn
from .scopes import role_arn_of, stack_of

BEDROCK = "bedrock.amazonaws.com"


def evaluation_job_arns(stack: Stack) -> str:
    """Every evaluation job of this account and region: job ids are chosen by the service."""
    return stack.format_arn(service="bedrock", resource="evaluation-job", resource_name="*")


def grant(
    role: iam.IRole, permission: access.Permission, resources: Sequence[str], conditions: Mapping[str, Any] | None = None
) -> iam.PolicyStatement | None:
    """One statement of the table on a role, recorded so that the wildcards among its resources
    can be acknowledged, also on a role that is not ours. Returns the statement when the role
    refused it (an imported, immutable role): its owner must add it."""
    inline = inline_policy(role)
    if inline is not None:
        # A role a job created for itself: a Python statement of its inline policy, no jsii call.
        inline.add(Statement(tuple(permission.actions), tuple(resources), dict(conditions) if conditions else None))
        watch_inline(role, permission.holder, inline)
        return None
    if isinstance(role, iam.Role):
        # A role of this stack takes every statement: the same one twice (several jobs of a shared
        # role on one model, one bucket) is added once, and what add_to_principal_policy answers is known.
        key = (permission.actions, tuple(resources), repr(conditions))
        granted = _GRANTED.setdefault(role, set())
        if key in granted:
            return None
        granted.add(key)
        role.add_to_principal_policy(_statement(permission, resources, conditions))
        record_grant(role, permission.holder, resources)
        return None
    statement = _statement(permission, resources, conditions)
    added = role.add_to_principal_policy(statement).statement_added
    record_grant(role, permission.holder, resources)
    return None if added and _holds_policies(role) else statement


def _statement(permission: access.Permission, resources: Sequence[str], conditions: Mapping[str, Any] | None) -> iam.PolicyStatement:
    return iam.PolicyStatement(
        actions=list(permission.actions), resources=list(resources), conditions=dict(conditions) if conditions else None
    )


# What grant() gave each role of the stack, to give each statement once.
_GRANTED: weakref.WeakKeyDictionary[iam.IRole, set[tuple[tuple[str, ...], tuple[str, ...], str]]] = weakref.WeakKeyDictionary()


def inline_policy(role: iam.IRole) -> InlinePolicy | None:
    """The policy our grants go to on a service role of ours (a job's own, or an EvaluationServiceRole),
    written by the stack's LateProperties."""
    document = getattr(role, "granted_policy", None)
    return document if isinstance(document, InlinePolicy) else None


def _holds_policies(role: iam.IRole) -> bool:
    """A role of the stack keeps statements in its DefaultPolicy, a mutable imported one in a Policy
    of this stack; an immutable imported role (mutable=False) says it added them but keeps none.
    A role that once held them holds them for good: asked of Node once per role."""
    if isinstance(role, iam.Role) or id(role) in _HOLDING:
        return True
    if any(role.node.try_find_child(name) is not None for name in ("DefaultPolicy", "Policy")):
        _HOLDING[id(role)] = role
        return True
    return False


# Roles known to hold statements, by id (an entry goes when its role does).
_HOLDING: weakref.WeakValueDictionary[int, iam.IRole] = weakref.WeakValueDictionary()


def allow_in_key_policy(
    key: kms.IKey, permission: access.Permission, *, sid: str, conditions: Mapping[str, Any]
) -> iam.PolicyStatement | None:
    """A statement of the table in a key policy, for Bedrock itself (in a key policy, "*" is the
    key). Returns the statement when the key refused it (an imported key or an alias: CDK cannot
    change their policies)."""
    statement = iam.PolicyStatement(
        sid=sid,
        principals=[iam.ServicePrincipal(BEDROCK)],
        actions=list(permission.actions),
        resources=["*"],
        conditions=dict(conditions),
    )
    return None if key.add_to_resource_policy(statement).statement_added else statement


# --- a job's service role, from its request --------------------------------------------------------


@dataclass(frozen=True)
class JobGrants:
    """What a job's service role could not be given: S3 URIs known only at deploy time, and the
    statements an immutable role refused."""

    unscoped: list[str] = field(default_factory=list)
    refused: list[iam.PolicyStatement] = field(default_factory=list)


def grant_job(
    role: iam.IRole, request: Mapping[str, Any], *, bound: Mapping[str, S3Location], output: S3Location | None
) -> JobGrants:
    """Grant the service role what the request names: its datasets and external sources, models,
    knowledge bases, guardrails, human workflow and output location.

    bound: the S3 objects the construct placed or was given as bucket objects, by the URI the
    request holds (a token, until deploy); output: the output location the construct chose.
    """
    stack = stack_of(role)
    found = references(request)
    unscoped: list[str] = []
    refused: list[iam.PolicyStatement] = []

    def allow(role: iam.IRole, permission: access.Permission, resources: Sequence[str]) -> None:
        statement = grant(role, permission, resources)
        if statement is not None:
            refused.append(statement)

    uris = [*found.datasets, *found.sources]
    # Objects the construct bound first, then the models, then what the request names literally.
    for uri in uris:
        if uri in bound:
            _grant_read(allow, role, bound[uri])
    _grant_models(allow, role, found.models)
    for uri in uris:
        if uri in bound:
            continue
        location = literal_s3_location(stack, uri)
        if location is None:
            unscoped.append(uri)
        else:
            _grant_read(allow, role, location)
    knowledge_bases = [resource_arn(stack, "knowledge-base", kb) for kb in found.knowledge_bases]
    if knowledge_bases:
        allow(role, access.KNOWLEDGE_BASE, knowledge_bases)
    guardrails = [resource_arn(stack, "guardrail", g) for g in found.guardrails]
    if guardrails:
        allow(role, access.GUARDRAIL, guardrails)
    if found.flow_definitions:
        # The user guide's human-job policy puts these on "*" (the loops are named by the service).
        allow(role, access.HUMAN_LOOPS, ["*"])
    if found.rerankers:
        allow(role, access.RERANK, ["*"])
        if any(not _is_amazon_model(r) for r in found.rerankers):
            allow(role, access.MARKETPLACE_RERANKER, ["*"])
    output_uri = str(found.output or "")
    if output is None:
        literal = literal_s3_location(stack, output_uri)
        # The service writes under <output>/<job name>/...: the objects below the prefix.
        output = None if literal is None else S3Location(literal.bucket_arn, literal.objects_arn.rstrip("*").rstrip("/") + "/*")
    if output is None:
        unscoped.append(output_uri)
    else:
        if getattr(role, "for_one_job", False):
            # The same for every job that writes to this bucket: once per stack, not once per role
            # (a shared role holds it once itself, and keeps its managed policy slots for its jobs).
            SharedStatements.of(cast(iam.Role, role)).attach(
                cast(iam.Role, role), Statement(access.OUTPUT_BUCKET.actions, (output.bucket_arn,)), "OutputBucketListing"
            )
        else:
            allow(role, access.OUTPUT_BUCKET, [output.bucket_arn])
        allow(role, access.OUTPUT_OBJECTS, [output.objects_arn])
    return JobGrants(unscoped, refused)


_Grant = Callable[[iam.IRole, access.Permission, Sequence[str]], None]


def _grant_read(allow: _Grant, role: iam.IRole, location: S3Location) -> None:
    allow(role, access.DATASET_READ, [location.objects_arn])
    # The documented dataset policy includes ListBucket; key names are all it reveals.
    allow(role, access.DATASET_LIST, [location.bucket_arn])


def _grant_models(allow: _Grant, role: iam.IRole, identifiers: list[str]) -> None:
    models = model_access(stack_of(role), identifiers)
    if models.models:
        allow(role, access.MODEL_USE, models.models)
    if models.inference_profiles:
        allow(role, access.INFERENCE_PROFILE, models.inference_profiles)
        allow(role, access.LIST_INFERENCE_PROFILES, ["*"])
    if models.described:
        allow(role, access.MODEL_METADATA, models.described)
    if models.sagemaker_endpoints:
        allow(role, access.SAGEMAKER_ENDPOINT, models.sagemaker_endpoints)


# --- the handler, per job -------------------------------------------------------------------------


def grant_handler(handler_role: iam.IRole, service_role: iam.IRole) -> None:
    """PassRole on the job's service role, only to Bedrock: the only role a job may run as. The
    handler's role holds every job's in its policies of ours (``JobHandlerRole``), packed by size."""
    grant(handler_role, access.PASS_SERVICE_ROLE, [role_arn_of(service_role)], {"StringEquals": {"iam:PassedToService": BEDROCK}})


def _is_amazon_model(identifier: str) -> bool:
    return identifier.rsplit("/", 1)[-1].startswith("amazon.")


def grant_encryption_key(
    key: kms.IKey, *, service_role: iam.IRole | None, handler_role: iam.IRole, knowledge_base: bool = False
) -> list[iam.PolicyStatement]:
    """The uses of a customer managed key an evaluation job needs: Bedrock itself (key policy,
    only for evaluation jobs of this account, with the job in the encryption context), the service
    role through S3 only, and the handler that creates the job."""
    stack = Stack.of(key)
    jobs = evaluation_job_arns(stack)
    source = {"StringEquals": {"aws:SourceAccount": stack.account}, "ArnLike": {"aws:SourceArn": jobs}}
    refused = [
        allow_in_key_policy(
            key,
            access.KEY_POLICY_USE,
            sid="BedrockEvaluationJobsUseKey",
            conditions={**source, "ArnLike": {"aws:SourceArn": jobs, "kms:EncryptionContext:evaluationJobArn": jobs}},
        ),
        allow_in_key_policy(key, access.KEY_POLICY_DESCRIBE, sid="BedrockEvaluationJobsDescribeKey", conditions=source),
    ]
    if service_role is not None:
        via_s3 = {"StringEquals": {"kms:ViaService": f"s3.{stack.region}.{stack.url_suffix}"}}
        refused.append(grant(service_role, access.KEY_VIA_S3, [key.key_arn], via_s3))
        if knowledge_base:
            via_bedrock = {"StringEquals": {"kms:ViaService": f"bedrock.{stack.region}.{stack.url_suffix}"}}
            refused.append(grant(service_role, access.KEY_VIA_BEDROCK, [key.key_arn], via_bedrock))
        refused.append(grant(service_role, access.KEY_DESCRIBE, [key.key_arn]))
    grant(handler_role, access.KEY_USE_HANDLER, [key.key_arn])
    return [statement for statement in refused if statement is not None]
