"""A job's results resource: the deploy waits for the job, reads its scores and checks its gate.

Short waits (35 minutes or less): the results resource itself waits, in the Provider framework's
asynchronous mode. Long waits: job -> watch (starts the stack's poller for this job) -> wait
condition (signalled by the poller when the job ends, up to 12 hours) -> results resource.

A wait condition cannot be updated, and a handle must never be reused ("Anytime you add a
WaitCondition resource during a stack update, you must associate the wait condition with a new
WaitConditionHandle resource", CloudFormation template reference). So both carry a digest of what
makes a new job (the request, without its tags) and of the wait in their logical ids: a new job
version gets a new handle and a new condition, and a no-op or tag-only deploy keeps both.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

from aws_cdk import CfnOutput, CfnResource, CfnWaitCondition, CfnWaitConditionHandle, Stack
from constructs import Construct

from . import access, contract
from .errors import Violation
from .grants import grant
from .provider import EvaluationJobProvider, attribute_of
from .quality_gate import JobWait, QualityGate
from .request_view import JobKind, RequestView
from .template_references import named_logical_ids
from .tokens import is_unresolved

# After a long wait's condition is signalled the job has ended and the results resource only reads;
# it may still wait, as a short wait does, for a job its wait condition was not signalled for.
READ_WAIT_SECONDS = contract.IN_RESOURCE_WAIT_SECONDS
_OUTPUT_ID = re.compile(r"[^A-Za-z0-9]")


@dataclass(frozen=True)
class ResultsLocation:
    """Where the job's results are: its bucket (an ARN, maybe a token) and literal key prefix."""

    bucket_arn: str
    prefix: str

    @classmethod
    def of_uri(cls, stack: Stack, uri: object) -> ResultsLocation | None:
        """From outputDataConfig.s3Uri: the bucket may be a token (a bucket of the app), the prefix
        must be literal, since it becomes part of a policy."""
        if not isinstance(uri, str) or not uri.startswith("s3://"):
            return None
        bucket, _, prefix = uri[len("s3://") :].partition("/")
        if not bucket or is_unresolved(prefix) or "/" in bucket:
            return None
        if prefix and not prefix.endswith("/"):
            prefix += "/"
        return cls(f"arn:{stack.partition}:s3:::{bucket}", prefix)


def results_violations(request: Mapping[str, Any], location: ResultsLocation | None, wait: JobWait | None, gate: QualityGate | None) -> list[Violation]:
    """What keeps the deploy from waiting for this job, or gating on it."""
    if wait is None:
        if gate is not None:
            return [Violation("quality_gate", "given without wait=", "a gate needs the job's scores: give wait=JobWait.until_done(...)")]
        return []
    problems = wait.violations()
    output = (request.get("outputDataConfig") or {}).get("s3Uri") if isinstance(request.get("outputDataConfig"), Mapping) else None
    if location is None:
        problems.append(
            Violation(
                "request.outputDataConfig.s3Uri",
                output,
                "wait= reads the job's results, so its output prefix must be known at synth (the handler may read "
                "only that prefix): give output_bucket= or a literal s3://bucket/prefix/",
            )
        )
    elif not location.prefix:
        problems.append(
            Violation(
                "request.outputDataConfig.s3Uri",
                output,
                "wait= lets the handler read the job's output prefix only; a whole bucket is not a prefix: add a key prefix",
            )
        )
    if gate is not None:
        problems += gate.violations(request)
    if wait.score_outputs and RequestView(request).kind is JobKind.HUMAN:
        problems.append(
            Violation("wait.score_outputs", True, "a human job's ratings are per rating method, read them with the results command")
        )
    return problems


class JobResults(Construct):
    """The results resource of one job (and, for a long wait, its watch and wait condition)."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        job: CfnResource,
        request: Mapping[str, Any],
        location: ResultsLocation,
        wait: JobWait,
        gate: QualityGate | None,
        identity: Mapping[str, Any],
        keys: Sequence[str] = (),
    ) -> None:
        """`keys`: ARNs of the KMS keys the result files may be encrypted with (the output bucket's,
        a raw request's customerEncryptionKeyId)."""
        super().__init__(scope, construct_id)
        provider = EvaluationJobProvider.of(self)
        if keys:
            grant(provider.role, access.RESULTS_DECRYPT, list(keys))
        grant(
            provider.role,
            access.RESULTS_LIST,
            [location.bucket_arn],
            {"StringLike": {"s3:prefix": [f"{location.prefix}*"]}},
        )
        grant(provider.role, access.RESULTS_READ, [f"{location.bucket_arn}/{location.prefix}*"])
        job_arn = attribute_of(job, contract.ATTR_JOB_ARN)
        job_name = attribute_of(job, contract.ATTR_JOB_NAME)
        output = request["outputDataConfig"]["s3Uri"]
        gate = gate or QualityGate()
        bounds = {**{m: ["at_least", v] for m, v in gate.at_least.items()}, **{m: ["at_most", v] for m, v in gate.at_most.items()}}
        properties: dict[str, Any] = {
            contract.PROP_RESULTS_JOB_ARN: job_arn,
            contract.PROP_RESULTS_JOB_NAME: job_name,
            contract.PROP_RESULTS_OUTPUT_S3_URI: output,
            contract.PROP_WAIT_SECONDS: str(READ_WAIT_SECONDS if wait.is_long else wait.timeout_seconds),
            contract.PROP_THRESHOLDS: json.dumps(bounds, sort_keys=True, separators=(",", ":")),
            contract.PROP_MAX_DROP: "" if gate.max_drop is None else repr(float(gate.max_drop)),
        }
        # The job's attributes in the properties order this resource after the job, the wait
        # condition's Data after a long wait's condition (the job names its poller signalled).
        if wait.is_long:
            condition = self._long_wait(provider, job_arn=job_arn, job_name=job_name, wait=wait, identity=identity)
            properties[contract.PROP_RESULTS_SIGNALLED] = condition.attr_data
        grant(provider.role, access.STACK_STATUS, [Stack.of(self).stack_id])
        self.resource = provider.resource(self, contract.RESULTS_RESOURCE_TYPE, properties, after=[provider.role])
        self.metrics = sorted({m.value for m in RequestView(request).metric_names() if isinstance(m.value, str)})
        if wait.score_outputs:
            for metric in self.metrics:
                # Two metric names may differ only in characters an id drops ("my-metric", "my_metric").
                suffix = hashlib.sha256(metric.encode()).hexdigest()[:6].upper()
                CfnOutput(
                    self,
                    f"{_OUTPUT_ID.sub('', metric)}Mean{suffix}",
                    value=self.attribute(metric, "Mean"),
                    description=f"Mean {metric} score of {scope.node.path}",
                )

    def attribute(self, metric: str, statistic: str) -> str:
        """Fn::GetAtt of one score attribute (see results.attributes)."""
        return attribute_of(self.resource, f"Score.{metric}.{statistic}")

    def _long_wait(
        self, provider: EvaluationJobProvider, *, job_arn: str, job_name: str, wait: JobWait, identity: Mapping[str, Any]
    ) -> CfnWaitCondition:
        from .poller import EvaluationJobPoller  # Step Functions' modules load only for a stack that waits long

        poller = EvaluationJobPoller.of(self)
        poller.allow_start(provider.role)
        digest = _version_digest(Stack.of(self), identity, wait)
        handle = CfnWaitConditionHandle(self, f"SignalHandle{digest}")
        watch_scope = Construct(self, "Watch")
        watch = provider.resource(
            watch_scope,
            contract.WATCH_RESOURCE_TYPE,
            {
                contract.PROP_WATCH_JOB_ARN: job_arn,
                contract.PROP_WATCH_JOB_NAME: job_name,
                contract.PROP_SIGNAL_URL: handle.ref,
                contract.PROP_POLLER_ARN: poller.state_machine.state_machine_arn,
                contract.PROP_WAIT_SECONDS: str(wait.timeout_seconds),
                contract.PROP_POLL_SECONDS: str(wait.poll_seconds),
            },
            after=[provider.role],
        )
        condition = CfnWaitCondition(
            self,
            f"Completion{digest}",
            handle=handle.ref,
            count=1,
            timeout=str(wait.timeout_seconds + contract.POLLER_MARGIN_SECONDS),
        )
        condition.node.add_dependency(watch)
        return condition


def _version_digest(stack: Stack, identity: Mapping[str, Any], wait: JobWait) -> str:
    """8 hex characters that change with the job version and the wait (see the module's docstring).

    A reference in the request (a knowledge base's id) changes its value at deploy time when the
    resource it names is replaced, so the digest also holds the properties of every resource of the
    stack the request references, and of those they reference: a change that replaces a knowledge
    base (its embedding model, say) gives its evaluation a new wait condition. A change of such a
    resource that does not replace it gives one too, which the poller signals at once (the job is
    kept, and has completed)."""
    resolved = stack.resolve(dict(identity))
    referenced = _referenced_properties(stack, resolved)
    text = json.dumps({"job": resolved, "references": referenced, "wait": [wait.timeout_seconds, wait.poll_seconds]}, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:8].upper()


def _referenced_properties(stack: Stack, resolved: object) -> dict[str, object]:
    """Logical id -> resolved properties of the stack's resources `resolved` references, transitively."""
    resources: dict[str, CfnResource] | None = None
    found: dict[str, object] = {}
    pending = named_logical_ids(resolved, every_form=False)
    while pending:
        logical_id = pending.pop()
        if logical_id in found:
            continue
        if resources is None:
            resources = {}
            for child in stack.node.find_all():
                if CfnResource.is_cfn_resource(child) and Stack.of(child) is stack:
                    cfn = cast(CfnResource, child)
                    resources[str(stack.resolve(cfn.logical_id))] = cfn
        referenced = resources.get(logical_id)
        properties = stack.resolve(referenced._cfn_properties) if referenced is not None else None  # noqa: SLF001 (what the template will hold)
        found[logical_id] = properties
        pending |= named_logical_ids(properties, every_form=False) - set(found)
    return found


