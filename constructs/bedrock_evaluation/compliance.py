"""Every finding of cdk-nag, checkov and cfn-lint our constructs acknowledge, and why: one table.

Findings are fixed where they can be (the Provider framework and the dataset upload run with
roles of ours, without AWS managed policies or wildcard actions; the evaluation bucket logs
access to a log bucket). What remains is below, each
entry acknowledged on the narrowest resource with the checker's own granular id:

- ``WILDCARD_RESOURCES``: IAM resources no narrower ARN can name (cdk-nag AwsSolutions-IAM5).
  ``WildcardAcknowledgements``, an aspect registered once per stack, reads the final policy
  documents, renders each resource the way cdk-nag does and acknowledges a wildcard only if it
  matches an entry, on a role the entry is for, with no action outside the entry's actions,
  and (on a role that is not wholly ours) only if our constructs granted it.
- ``RESOURCE_FINDINGS``: rules about one resource (runtime, logging, DLQ, ...), acknowledged by
  the construct that creates the resource.

The README's security section is generated from these tables and from ``access.PERMISSIONS``
(``security_reference``).
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, cast

import jsii
from aws_cdk import Acknowledgment, AspectPriority, Aspects, CfnResource, IAspect, Stack, Token, Validations
from constructs import IConstruct

from . import access
from .access import Holder

NAG_PACK = "AwsSolutions"
REASONS_KEY = "bedrock-evaluation:acknowledged"
"""Template metadata on each resource: every finding acknowledged on it, with its reason."""

_PARTITION = r"(?:<AWS::Partition>|aws[a-z-]*)"
_REGION = r"(?:<AWS::Region>|[a-z]{2}(?:-[a-z]+)+-\d)"
_ACCOUNT = r"(?:<AWS::AccountId>|\d{12})"
_BUCKET_ARN = rf"(?:<[A-Za-z0-9]+\.Arn>|arn:{_PARTITION}:s3:::[a-z0-9][a-z0-9.-]*)"
# The objects under a prefix the construct wrote: one or more literal key segments, then "/*".
# Never a whole bucket ("/*") and never a wildcard inside the prefix (synth refuses one).
_PREFIX_OBJECTS = rf"{_BUCKET_ARN}/(?:[^*?/]+/)+\*"


@dataclass(frozen=True)
class WildcardResource:
    """A resource with a wildcard that the API leaves no narrower way to name."""

    key: str
    example: str
    """How cdk-nag shows it: `AwsSolutions-IAM5[Resource::<example>]`."""
    pattern: str
    """A regular expression the rendered resource must match in full."""
    actions: frozenset[str]
    """Every action allowed on the resource (in one policy) must be one of these."""
    holders: frozenset[Holder]
    reason: str

    def covers(self, rendered: str, actions: Iterable[str], holder: Holder) -> bool:
        return holder in self.holders and re.fullmatch(self.pattern, rendered) is not None and set(actions) <= self.actions


WILDCARD_RESOURCES: tuple[WildcardResource, ...] = (
    WildcardResource(
        key="evaluation-jobs",
        example="arn:<AWS::Partition>:bedrock:<AWS::Region>:<AWS::AccountId>:evaluation-job/*",
        pattern=rf"arn:{_PARTITION}:bedrock:{_REGION}:{_ACCOUNT}:evaluation-job/\*",
        actions=frozenset(access.JOB_MANAGE.actions + access.JOB_TAGS.actions),
        holders=frozenset({Holder.HANDLER_ROLE}),
        reason="Evaluation job ids are chosen by the service when a job is created, so no ARN of a job "
        "exists before the policy does; the wildcard is limited to evaluation jobs of this account and region.",
    ),
    WildcardResource(
        key="handler-unscoped",
        example="*",
        pattern=r"\*",
        actions=frozenset(access.JOB_LIST.actions + access.JOB_CREATE.actions),
        holders=frozenset({Holder.HANDLER_ROLE}),
        reason="bedrock:ListEvaluationJobs authorizes on no resource; public reports say CreateEvaluationJob is "
        "refused on anything narrower than `*`. A job can use only what its service role allows, and the handler "
        "may pass only the stack's service roles, only to Bedrock.",
    ),
    WildcardResource(
        key="cross-region-foundation-model",
        example="arn:<AWS::Partition>:bedrock:*::foundation-model/anthropic.claude-haiku-4-5-20251001-v1:0",
        pattern=rf"arn:{_PARTITION}:bedrock:\*::foundation-model/[^*]+",
        actions=frozenset(access.MODEL_USE.actions + access.JOB_CREATE.actions),
        holders=frozenset({Holder.SERVICE_ROLE, Holder.HANDLER_ROLE}),
        reason="A cross-region inference profile routes each call to any region of its geography, so the "
        "foundation model behind it must be allowed in every region; the model itself is named exactly.",
    ),
    WildcardResource(
        key="dataset-prefix",
        example="arn:<AWS::Partition>:s3:::my-datasets/rag/*",
        pattern=_PREFIX_OBJECTS,
        actions=frozenset(access.DATASET_READ.actions),
        holders=frozenset({Holder.SERVICE_ROLE}),
        reason="A raw request names this S3 prefix as its dataset location: the job reads the objects under "
        "it, read-only, and nothing outside it.",
    ),
    WildcardResource(
        key="human-review-output",
        example="<BedrockEvaluationBucket863B7EBF.Arn>/human-reviews/bedrock-model-evaluation-review-flow/*",
        pattern=rf"{_BUCKET_ARN}/human-reviews/[^*]*\*",
        actions=frozenset(access.HUMAN_REVIEW_OUTPUT.actions + access.FLOW_OUTPUT_OBJECTS.actions),
        holders=frozenset({Holder.SERVICE_ROLE, Holder.FLOW_DEFINITION_ROLE}),
        reason="SageMaker writes each human loop's answers under the flow definition's own output prefix, in keys "
        "it chooses (flow definition, date, human loop); both roles of the human job use them, and neither can "
        "write elsewhere in the bucket.",
    ),
    WildcardResource(
        key="job-output-prefix",
        example="<BedrockEvaluationBucket863B7EBF.Arn>/results/bedrock-model-evaluation-local-qa-judge/*",
        pattern=_PREFIX_OBJECTS,
        actions=frozenset(access.OUTPUT_OBJECTS.actions + access.DATASET_READ.actions),
        holders=frozenset({Holder.SERVICE_ROLE}),
        reason="The job writes its results under its own output prefix, in keys the service chooses "
        "(job name, job id, model, task, dataset); the role can write nowhere else in the bucket.",
    ),
    WildcardResource(
        key="service-role-unscoped",
        example="*",
        pattern=r"\*",
        actions=frozenset(
            access.HUMAN_LOOPS.actions + access.RERANK.actions + access.MARKETPLACE_RERANKER.actions + access.LIST_INFERENCE_PROFILES.actions
        ),
        holders=frozenset({Holder.SERVICE_ROLE}),
        reason="Granted only when the job needs them, on `*` where AWS documents no narrower resource: the human-loop "
        "actions (the user guide says `Resource: *`), bedrock:Rerank and ListInferenceProfiles (no resource type), "
        "and the Marketplace subscription actions of a third-party reranker. Only Bedrock evaluation jobs of this "
        "account and region can assume the role.",
    ),
    WildcardResource(
        key="human-review-job-results",
        example="<BedrockEvaluationBucket863B7EBF.Arn>/results/bedrock-model-evaluation-nova-head-to-head/*",
        pattern=_PREFIX_OBJECTS,
        actions=frozenset(access.FLOW_OUTPUT_OBJECTS.actions),
        holders=frozenset({Holder.FLOW_DEFINITION_ROLE}),
        reason="The user guide asks for the same access to the job's output location on the SageMaker role as on "
        "the Bedrock one; Bedrock writes each human loop's input there, under keys the service chooses. Only the "
        "output prefixes of the jobs that use this flow definition.",
    ),
    WildcardResource(
        key="flow-definitions",
        example="arn:<AWS::Partition>:sagemaker:<AWS::Region>:<AWS::AccountId>:flow-definition/bedrock-model-evaluation-review-flow-*",
        pattern=rf"arn:{_PARTITION}:sagemaker:{_REGION}:{_ACCOUNT}:flow-definition/[a-z0-9-]+-\*",
        actions=frozenset(access.FLOW_DEFINITION_MANAGE.actions),
        holders=frozenset({Holder.HANDLER_ROLE}),
        reason="Each version of a flow definition is named by the handler, prefix + a digest of its request, at "
        "deploy time; the wildcard covers only that prefix's names, in this account and region.",
    ),
    WildcardResource(
        key="provider-function-versions",
        example="<BedrockEvaluationJobProviderOnEvent83FFC98D.Arn>:*",
        pattern=r"<[A-Za-z0-9]+\.Arn>:\*",
        actions=frozenset({"lambda:InvokeFunction"}),
        holders=frozenset({Holder.FRAMEWORK_ROLES, Holder.WAITER_ROLE}),
        reason="CDK's Provider framework grants invoke on its own functions and their versions "
        "(`<function ARN>:*`), the form `grantInvoke` always adds; the functions are the handler's and the "
        "framework's, in this stack.",
    ),
)


@dataclass(frozen=True)
class ResourceFinding:
    """Rules about one resource, of one or more checkers, acknowledged for one reason."""

    key: str
    rules: tuple[str, ...]
    where: str
    reason: str


ACCESS_LOG_DESTINATION = ResourceFinding(
    key="access-log-destination",
    rules=("CKV_AWS_18",),
    where="`BedrockEvaluationBucket/AccessLogs`",
    reason="It is the destination of the evaluation bucket's server access logs; logging access to the log "
    "bucket would need yet another bucket. It holds only the log records S3 delivers. (cdk-nag's S1 already "
    "accepts a log destination.)",
)
PINNED_PYTHON_RUNTIME = ResourceFinding(
    key="pinned-python-runtime",
    rules=("AwsSolutions-L1",),
    where="`OnEvent`, `IsComplete`",
    reason="The handler runs on Python 3.13 on purpose: it is tested on 3.13 and carries its own botocore "
    "service model; a runtime change is a tested upgrade of its own, not a side effect of a newer aws-cdk-lib.",
)
CDK_UPLOAD_RUNTIME = ResourceFinding(
    key="cdk-upload-runtime",
    rules=("AwsSolutions-L1",),
    where="the dataset upload function (CDK's `BucketDeployment` handler)",
    reason="CDK chooses this function's runtime together with the AWS CLI layer it ships with it; it "
    "moves with aws-cdk-lib upgrades.",
)
WAITER_WITHOUT_LOGS = ResourceFinding(
    key="waiter-without-logs",
    rules=("AwsSolutions-SF1",),
    where="`Provider/waiter-state-machine`",
    reason="The CDK Provider framework's waiter is one task that invokes the framework's `isComplete` until "
    "a stopping job can be deleted; every poll is already in `FrameworkLogs` and `HandlerLogs`. Logging the "
    "state machine would grant its role the CloudWatch Logs delivery actions on `*`, `logs:PutResourcePolicy` "
    "among them (checkov CKV_AWS_111): a broader privilege than the log is worth.",
)
WAITER_WITHOUT_XRAY = ResourceFinding(
    key="waiter-without-xray",
    rules=("AwsSolutions-SF2",),
    where="`Provider/waiter-state-machine`",
    reason="The CDK Provider framework exposes no tracing option for its waiter, one task polling "
    "`isComplete`; tracing would need `xray:PutTraceSegments` on `*` for a loop whose every step is in the "
    "functions' logs.",
)
NO_DEAD_LETTER_QUEUE = ResourceFinding(
    key="no-dead-letter-queue",
    rules=("CKV_AWS_116",),
    where="every function of the provider and the dataset upload",
    reason="They answer CloudFormation (directly or through the Provider framework), also on failure; an "
    "event parked in a dead-letter queue could not be answered later, as CloudFormation's response URL expires.",
)
NO_VPC = ResourceFinding(
    key="no-vpc",
    rules=("CKV_AWS_117",),
    where="every function of the provider and the dataset upload",
    reason="They call only AWS APIs, over TLS with IAM authorization, and CloudFormation's response URL; "
    "there is nothing in a VPC for them to reach, and a VPC would need NAT or endpoints for the same calls.",
)
NO_RESERVED_CONCURRENCY = ResourceFinding(
    key="no-reserved-concurrency",
    rules=("CKV_AWS_115",),
    where="every function of the provider and the dataset upload",
    reason="They run only while CloudFormation deploys this stack. Reserved concurrency is taken from the "
    "account's pool, and fails the deploy in accounts at the minimum unreserved concurrency.",
)
ENVIRONMENT_WITHOUT_SECRETS = ResourceFinding(
    key="environment-without-secrets",
    rules=("CKV_AWS_173",),
    where="the Provider framework's functions and the dataset upload function",
    reason="Their environment holds only the ARNs of the handler functions and state machine (CDK's) or the "
    "CA bundle path, no secret; Lambda encrypts it at rest with an AWS owned key.",
)
LOGS_SERVICE_ENCRYPTED = ResourceFinding(
    key="logs-service-encrypted",
    rules=("CKV_AWS_158",),
    where="`HandlerLogs`, `FrameworkLogs`, `UploadLogs`",
    reason="HandlerLogs hold what identifies the work (request type, logical id, job names and ARNs), statuses "
    "and error messages, never the request; FrameworkLogs hold the CDK Provider framework's own log of each "
    "event, which includes the resource properties (the request, as the template shows it), and UploadLogs the "
    "upload's file names. No credentials or presigned URLs; CloudWatch Logs encrypts them at rest, and they "
    "expire after 3 months.",
)
ROLE_DEPENDENCY = ResourceFinding(
    key="role-dependency",
    rules=("W3005",),
    where="every function and state machine of the provider and the dataset upload",
    reason="CDK makes each function and state machine depend on its role so that the role's policy exists "
    "before first use; the reference to the role alone would not wait for the policy.",
)

UNSCOPED_WRITE = ResourceFinding(
    key="unscoped-write",
    rules=("CKV_AWS_111",),
    where="the handler role's policy and a service role's policy that holds the human-loop actions or a "
    "third-party reranker's Marketplace subscription",
    reason="Write actions on `*` only where AWS documents nothing narrower: CreateEvaluationJob (reported refused "
    "on anything narrower; a job may use only its service role, the only role the handler may pass), the "
    "human-loop actions (the user guide says `Resource: *`) and the Marketplace subscription of a third-party "
    "reranker. Each is in the wildcard table with its reason.",
)
# Actions on "*" that checkov's CKV_AWS_111 counts as writes.
WRITES_ON_STAR = frozenset(
    {
        "bedrock:CreateEvaluationJob",
        "sagemaker:StartHumanLoop",
        "sagemaker:StopHumanLoop",
        "sagemaker:DeleteHumanLoop",
        "aws-marketplace:Subscribe",
    }
)

RESOURCE_FINDINGS: tuple[ResourceFinding, ...] = tuple(
    value for value in list(globals().values()) if isinstance(value, ResourceFinding)
)


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
    """The CloudFormation resources of these types under scope (itself included)."""
    found = [cast(CfnResource, c) for c in scope.node.find_all() if CfnResource.is_cfn_resource(c)]
    return [c for c in found if c.cfn_resource_type in types]


def _acknowledge(resource: CfnResource, rule: str, reason: str) -> None:
    checker = checker_of(rule)
    if checker == "cdk-nag":
        Validations.of(resource).acknowledge(Acknowledgment(id=f"{NAG_PACK}::{rule}", reason=reason))
    elif checker == "checkov":
        config = resource.get_metadata("checkov") or {"skip": []}
        if all(skip["id"] != rule for skip in config["skip"]):
            config["skip"].append({"id": rule, "comment": reason})
        resource.add_metadata("checkov", config)
    else:
        config = resource.get_metadata("cfn-lint") or {"config": {"ignore_checks": []}}
        if rule not in config["config"]["ignore_checks"]:
            config["config"]["ignore_checks"].append(rule)
        resource.add_metadata("cfn-lint", config)
    reasons = resource.get_metadata(REASONS_KEY) or {}
    reasons[rule] = reason
    resource.add_metadata(REASONS_KEY, reasons)


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
    path: str
    holder: Holder
    ours: bool
    """Every statement of its policies is ours; otherwise only recorded grants are."""
    granted: list[Any]


@jsii.implements(IAspect)
class WildcardAcknowledgements:
    """One per stack: acknowledges the IAM5 findings of the table on the roles our constructs
    create or grant to, once every grant is in place (read-only priority: after the aspects
    that still change the tree)."""

    @classmethod
    def of(cls, scope: IConstruct) -> WildcardAcknowledgements:
        stack = Stack.of(scope)
        for aspect in Aspects.of(stack).all:
            if isinstance(aspect, WildcardAcknowledgements):
                return aspect
        aspect = cls()
        Aspects.of(stack).add(aspect, priority=AspectPriority.READONLY)
        return aspect

    def __init__(self) -> None:
        self._watched: dict[str, _Watched] = {}

    def watch(self, role: IConstruct, holder: Holder) -> None:
        """A role our constructs create, every statement of which is ours."""
        self._watched[role.node.path] = _Watched(role.node.path, holder, ours=True, granted=[])

    def record(self, role: IConstruct, holder: Holder, resources: Sequence[str]) -> None:
        """Resources our constructs granted to a role that may also hold the user's statements."""
        watched = self._watched.setdefault(role.node.path, _Watched(role.node.path, holder, ours=False, granted=[]))
        watched.granted.extend(resources)

    def visit(self, node: IConstruct) -> None:
        if not CfnResource.is_cfn_resource(node) or cast(CfnResource, node).cfn_resource_type != "AWS::IAM::Policy":
            return
        watched = self._owner(node.node.path)
        if watched is None:
            return
        stack = Stack.of(node)
        document = stack.resolve(node.policy_document)  # type: ignore[attr-defined]
        granted = {render(stack.resolve(r)) for r in watched.granted}
        for rendered, actions in wildcard_resources(document).items():
            if not watched.ours and rendered not in granted:
                continue
            entry = wildcard_entry(rendered, actions, watched.holder)
            if entry is not None:
                _acknowledge(node, f"{NAG_PACK}-IAM5[Resource::{rendered}]", entry.reason)  # type: ignore[arg-type]
                if rendered == "*" and actions & WRITES_ON_STAR:
                    acknowledge(cast(CfnResource, node), UNSCOPED_WRITE)

    def _owner(self, path: str) -> _Watched | None:
        owners = [w for p, w in self._watched.items() if path.startswith(p + "/")]
        return max(owners, key=lambda w: len(w.path), default=None)


def record_grant(role: IConstruct, holder: Holder, resources: Sequence[str]) -> None:
    WildcardAcknowledgements.of(role).record(role, holder, [r for r in resources if not _is_plain_arn(r)])


def _is_plain_arn(resource: str) -> bool:
    return not Token.is_unresolved(resource) and "*" not in resource
