"""How a deploy waits for an evaluation job, and the scores it must reach to go on.

`JobWait` makes the deploy wait until the job has ended and its scores are read; `QualityGate`
fails the deploy (so CloudFormation rolls it back) when the scores miss a bound or fall behind the
job they replace. Both are checked at synth against the job's own request.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

from aws_cdk import Duration

from . import contract
from .boundary import check_fields, checked
from .contract import LOWER_IS_BETTER
from .errors import Violation
from .request_view import JobKind, RequestView
from .tokens import is_unresolved

# The shortest wait worth a resource: Bedrock's quickest jobs take minutes.
SHORTEST_WAIT_SECONDS = 60
# How often a long wait's poller asks for the job's status (a Step Functions Wait state between
# GetEvaluationJob calls): a state transition and a call per poll, about 720 in 12 hours.
DEFAULT_POLL_SECONDS = 60
POLL_SECONDS_RANGE = (30, 3600)


@dataclass(frozen=True, kw_only=True)
class JobWait:
    """The deploy waits for the job to end, reads its scores and exposes them as attributes.

    Up to 35 minutes the job's results resource waits itself (the CDK Provider framework's
    asynchronous mode, inside CloudFormation's one hour for a custom resource). Longer waits, up to
    11 hours 55 minutes, go through an ``AWS::CloudFormation::WaitCondition`` that a Step Functions
    poller signals when the job ends; the poller gives up 5 minutes before the wait condition's
    12-hour limit, so that the deploy fails with a reason naming the job and its status.
    """

    timeout: Duration
    """The longest the job may take, from its creation. Past it the deploy fails."""
    poll_interval: Duration | None = None
    """How often a long wait's poller looks at the job. @default - 1 minute (a wait of 35 minutes
    or less is polled by the Provider framework every 30 seconds)"""
    score_outputs: bool = False
    """Also give each metric's mean score as a stack output. @default - False (the scores are
    attributes of the job: ``job.score(metric)``)"""

    def __post_init__(self) -> None:
        check_fields(self)

    @classmethod
    @checked
    def until_done(cls, *, timeout: Duration, poll_interval: Duration | None = None, score_outputs: bool = False) -> JobWait:
        """Wait until the job is Completed (or fail when it is Failed, Stopped, or still running at `timeout`)."""
        return cls(timeout=timeout, poll_interval=poll_interval, score_outputs=score_outputs)

    @property
    def timeout_seconds(self) -> int:
        return int(self.timeout.to_seconds(integral=False))

    @property
    def is_long(self) -> bool:
        """Whether the wait needs a wait condition and a poller (longer than the resource may wait)."""
        return self.timeout_seconds > contract.IN_RESOURCE_WAIT_SECONDS

    @property
    def poll_seconds(self) -> int:
        return DEFAULT_POLL_SECONDS if self.poll_interval is None else int(self.poll_interval.to_seconds(integral=False))

    def violations(self) -> list[Violation]:
        problems: list[Violation] = []
        for name, duration in (("wait.timeout", self.timeout), ("wait.poll_interval", self.poll_interval)):
            if duration is not None and is_unresolved(duration.to_string()):
                problems.append(Violation(name, duration.to_string(), "must be a duration known at synth, not a token"))
        if problems:
            return problems
        for name, duration in (("wait.timeout", self.timeout), ("wait.poll_interval", self.poll_interval)):
            if duration is not None and not float(duration.to_seconds(integral=False)).is_integer():
                problems.append(Violation(name, duration.to_human_string(), "must be a whole number of seconds"))
        if problems:
            return problems
        seconds = self.timeout_seconds
        if not SHORTEST_WAIT_SECONDS <= seconds <= contract.LONGEST_WAIT_SECONDS:
            problems.append(
                Violation(
                    "wait.timeout",
                    self.timeout.to_human_string(),
                    f"must be between {SHORTEST_WAIT_SECONDS} seconds and {contract.LONGEST_WAIT_SECONDS} seconds "
                    f"(11 h 55 min): a wait condition waits at most {contract.WAIT_CONDITION_MAX_SECONDS} seconds, and the "
                    "poller answers 5 minutes before it",
                )
            )
        low, high = POLL_SECONDS_RANGE
        if self.poll_interval is not None and not low <= self.poll_seconds <= high:
            problems.append(
                Violation("wait.poll_interval", self.poll_interval.to_human_string(), f"must be between {low} and {high} seconds")
            )
        return problems


@dataclass(frozen=True, kw_only=True)
class QualityGate:
    """Scores the job must reach for the deploy to go on. Needs ``wait=``.

    Each bound applies to the mean score of every group the job reports (each model or knowledge
    base, task and dataset): the gate fails when one group misses it, or scored no record at all.
    Scores are Bedrock's normalised 0 to 1.
    """

    at_least: Mapping[str, float] = field(default_factory=dict)
    """Metric name -> the lowest mean accepted, for metrics where higher is better
    (``{"Builtin.Correctness": 0.8}``). @default - no lower bound"""
    at_most: Mapping[str, float] = field(default_factory=dict)
    """Metric name -> the highest mean accepted, for metrics where higher is worse (Toxicity,
    Robustness, Harmfulness, Stereotyping, Refusal: ``{"Builtin.Harmfulness": 0.05}``). @default - no upper bound"""
    max_drop: float | None = None
    """When an update replaces the job, the most any metric's mean may get worse than the replaced
    job's (fall, or rise for metrics where higher is worse), per group. @default - not compared"""

    def __post_init__(self) -> None:
        check_fields(self)

    def violations(self, request: Mapping[str, object]) -> list[Violation]:
        """What the gate asks that this job cannot measure, or that no score can meet."""
        view = RequestView(request)
        if view.kind is JobKind.HUMAN:
            return [
                Violation(
                    "quality_gate",
                    "a gate on a human job",
                    "human ratings are on each rating method's own scale and have no normalised mean; "
                    "read them with the results command instead",
                )
            ]
        measured = {m.value for m in view.metric_names() if isinstance(m.value, str)}
        has_tokens = any(isinstance(m.value, str) and is_unresolved(m.value) for m in view.metric_names())
        problems: list[Violation] = []
        for bound, scores in (("at_least", self.at_least), ("at_most", self.at_most)):
            for metric, value in scores.items():
                where = f"quality_gate.{bound}[{metric!r}]"
                if not isinstance(metric, str):
                    problems.append(Violation(where, metric, "a metric is named by a string, as the request names it"))
                    continue
                if metric not in measured and not has_tokens:
                    listed = ", ".join(sorted(measured)) or "none"
                    problems.append(Violation(where, metric, f"must name a metric this job measures: {listed}"))
                if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or not 0 <= value <= 1:
                    problems.append(Violation(where, value, "must be a number from 0 to 1 (Bedrock normalises scores to 0..1)"))
                if bound == "at_least" and metric in LOWER_IS_BETTER:
                    problems.append(Violation(where, value, f"a higher {metric} is worse: bound it with at_most"))
                if bound == "at_most" and metric not in LOWER_IS_BETTER and metric.startswith("Builtin."):
                    problems.append(Violation(where, value, f"a higher {metric} is better: bound it with at_least"))
        both = sorted(set(self.at_least) & set(self.at_most), key=str)
        for metric in both:
            problems.append(Violation(f"quality_gate[{metric!r}]", metric, "give at_least or at_most for a metric, not both"))
        drop = self.max_drop
        if drop is not None and (isinstance(drop, bool) or not isinstance(drop, int | float) or not math.isfinite(drop) or not 0 <= drop < 1):
            problems.append(Violation("quality_gate.max_drop", drop, "must be a number from 0 (no drop at all) to below 1"))
        return problems
