"""`bedrock-evaluation-results`: evaluation jobs' scores in the terminal, as JSON or as an HTML
report, and a gate on them for pipelines that check after the deploy rather than inside it.

    bedrock-evaluation-results JOB_ARN... | --stack STACK  [--wait] [--json] [--html FILE]
                               [--fail-under METRIC=VALUE ...] [--fail-over METRIC=VALUE ...]
                               [--baseline JOB_ARN [--max-drop DROP]]

Also `python -m bedrock_evaluation`. Region and credentials come from the usual places (AWS_PROFILE,
AWS_REGION, ~/.aws/config, AWS_ENDPOINT_URL_<SERVICE>) and from --profile and --region, as for the
AWS CLI; a job ARN names its region, and that job is read there. Every AWS call goes through `Aws`,
one small class, so that tests point its boto3 clients at local endpoints. Scores are read and
summarized by results.py, the code the deploy-time gate runs, so both give the same numbers; a
--baseline job is compared with results.py's `regressions`, the deploy-time gate's check against the
job a deploy replaces.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import IO, Any

import boto3
import botocore.exceptions
from botocore.config import Config

from . import contract
from .contract import LOWER_IS_BETTER
from .results import (
    GateFailure,
    MetricSummary,
    ResultsError,
    above_limits,
    below_thresholds,
    job_results_location,
    read_scores,
    regressions,
)
from .results_view import COMPLETED, JobResults, lower_is_better, metric_label, share

EXIT_OK = 0
EXIT_GATE = 1
EXIT_USAGE = 2
EXIT_NOT_FINISHED = 3
EXIT_AWS = 4
EXIT_RESULTS = 5
EXIT_CODES = f"""exit codes:
  {EXIT_OK}  every job Completed and every bound (and --max-drop) was met
  {EXIT_GATE}  a --fail-under or --fail-over bound was missed, or a mean got worse than the --baseline job's
     by more than --max-drop (the reasons are printed on stderr)
  {EXIT_USAGE}  usage error: bad arguments, an ARN that is not an evaluation job, no such job or stack,
     a stack without evaluation jobs, no region
  {EXIT_NOT_FINISHED}  a job (or the --baseline job) has not Completed: still running (without --wait, or past
     --timeout), Failed or Stopped
  {EXIT_AWS}  AWS access problem: no or rejected credentials, a permission missing (the action is named),
     the service not reachable or throttling
  {EXIT_RESULTS}  a Completed job's result files are not where the job says, or cannot be read"""

CLIENT_CONFIG = Config(retries={"mode": "standard", "max_attempts": 5}, connect_timeout=10, read_timeout=60)
_ACTION_IN_MESSAGE = re.compile(r"perform: (?P<action>[a-zA-Z0-9-]+:[A-Za-z0-9]+)")
_ACCESS_DENIED = frozenset({"AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "403", "Forbidden"})
_BAD_CREDENTIALS = frozenset(
    {"ExpiredToken", "ExpiredTokenException", "InvalidClientTokenId", "UnrecognizedClientException", "SignatureDoesNotMatch", "InvalidAccessKeyId"}
)


class CommandError(Exception):
    """A problem the command explains in one message and answers with an exit code (never a traceback)."""

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code


# --- AWS: the one seam ---------------------------------------------------------------------------


class Aws:
    """Every AWS call the command makes: describe a job, list a stack's jobs, list and read result
    objects. `endpoints` (service -> URL) and `clients` (service -> a ready client) are for tests;
    otherwise boto3's session finds credentials, region and AWS_ENDPOINT_URL_<SERVICE> itself."""

    def __init__(
        self,
        *,
        region: str | None = None,
        profile: str | None = None,
        endpoints: dict[str, str] | None = None,
        clients: dict[str, Any] | None = None,
    ) -> None:
        self.region = region
        self.profile = profile
        self.endpoints = dict(endpoints or {})
        self._clients: dict[tuple[str, str | None], Any] = {(name, None): client for name, client in (clients or {}).items()}
        self._session: Any = None

    def client(self, service: str, region: str | None = None) -> Any:
        """One client per service and region; a region of None is the session's."""
        if (service, None) in self._clients:
            return self._clients[(service, None)]
        if (service, region) not in self._clients:
            if self._session is None:
                try:
                    self._session = boto3.Session(profile_name=self.profile, region_name=self.region)
                except botocore.exceptions.ProfileNotFound as error:
                    raise CommandError(f"--profile {self.profile}: {error}", EXIT_USAGE) from None
            try:
                self._clients[(service, region)] = self._session.client(
                    service, region_name=region, endpoint_url=self.endpoints.get(service), config=CLIENT_CONFIG
                )
            except botocore.exceptions.NoRegionError:
                raise CommandError("no AWS region: pass --region or set AWS_REGION (or a region in the profile)", EXIT_USAGE) from None
        return self._clients[(service, region)]

    def job(self, arn: str) -> dict[str, Any]:
        """GetEvaluationJob, in the job's own region."""
        with _calling("bedrock:GetEvaluationJob", arn):
            answer: dict[str, Any] = self.client("bedrock", self.region or _region_of(arn)).get_evaluation_job(jobIdentifier=arn)
        return answer

    def stack_job_arns(self, stack: str) -> list[tuple[str, str]]:
        """(logical id, physical id) of each Custom::BedrockEvaluationJob of the stack, by logical id."""
        found: list[tuple[str, str]] = []
        with _calling("cloudformation:ListStackResources", stack):
            pages = self.client("cloudformation", self.region).get_paginator("list_stack_resources").paginate(StackName=stack)
            for page in pages:
                for item in page.get("StackResourceSummaries", []):
                    if item.get("ResourceType") == contract.RESOURCE_TYPE:
                        found.append((str(item["LogicalResourceId"]), str(item.get("PhysicalResourceId", ""))))
        return sorted(found)

    def results(self, region: str) -> S3Results:
        return S3Results(self, region)


class S3Results:
    """A job's result objects in S3, as results.py's ResultStore reads them."""

    def __init__(self, aws: Aws, region: str) -> None:
        self.aws = aws
        self.region = region

    def keys(self, bucket: str, prefix: str) -> list[str]:
        keys: list[str] = []
        with _calling("s3:ListBucket", f"s3://{bucket}/{prefix}"):
            for page in self.aws.client("s3", self.region).get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
                keys.extend(str(item["Key"]) for item in page.get("Contents", []))
        return keys

    def lines(self, bucket: str, key: str) -> Iterator[bytes]:
        with _calling("s3:GetObject", f"s3://{bucket}/{key}"):
            body = self.aws.client("s3", self.region).get_object(Bucket=bucket, Key=key)["Body"]
            yield from body.iter_lines()


class _calling:  # noqa: N801 (used as a statement: `with _calling(...)`)
    """Turns what botocore raises during one call into a CommandError that names the action."""

    def __init__(self, action: str, resource: str) -> None:
        self.action = action
        self.resource = resource

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, traceback: object) -> None:
        if error is None or isinstance(error, CommandError):
            return
        problem = _explained(error, self.action, self.resource)
        if problem is not None:
            raise problem from None


def _explained(error: BaseException, action: str, resource: str) -> CommandError | None:
    if isinstance(error, botocore.exceptions.NoCredentialsError | botocore.exceptions.PartialCredentialsError):
        return CommandError(
            "no AWS credentials found: set AWS_PROFILE (or pass --profile), or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, "
            f"or run where a role provides them ({action} on {resource})",
            EXIT_AWS,
        )
    if isinstance(error, botocore.exceptions.EndpointConnectionError | botocore.exceptions.ConnectTimeoutError):
        return CommandError(f"cannot reach AWS for {action} on {resource}: {error}", EXIT_AWS)
    if isinstance(error, botocore.exceptions.ReadTimeoutError):
        return CommandError(f"AWS did not answer {action} on {resource} in time: {error}", EXIT_AWS)
    if not isinstance(error, botocore.exceptions.ClientError):
        return None
    code = str(error.response.get("Error", {}).get("Code", ""))
    message = str(error.response.get("Error", {}).get("Message", "")) or code
    if code in _ACCESS_DENIED:
        named = _ACTION_IN_MESSAGE.search(message)
        missing = named.group("action") if named else action
        return CommandError(f"access denied: the caller may not {missing} on {resource} ({message})", EXIT_AWS)
    if code in _BAD_CREDENTIALS:
        return CommandError(f"AWS rejected the credentials for {action}: {code}: {message}", EXIT_AWS)
    if code in ("Throttling", "ThrottlingException", "SlowDown", "TooManyRequestsException", "RequestLimitExceeded"):
        return CommandError(f"AWS is throttling {action} (still after retries): {message}", EXIT_AWS)
    if action == "bedrock:GetEvaluationJob" and code in ("ResourceNotFoundException", "ValidationException"):
        return CommandError(f"no evaluation job {resource} (in its account and region): {message}", EXIT_USAGE)
    if action.startswith("cloudformation:") and code == "ValidationError":
        return CommandError(f"stack {resource}: {message}", EXIT_USAGE)
    if action.startswith("s3:") and code in ("NoSuchBucket", "NoSuchKey", "404"):
        return CommandError(f"the job's results are not where it says: {resource}: {code} ({message})", EXIT_RESULTS)
    return CommandError(f"{action} on {resource} failed: {code}: {message}", EXIT_AWS)


def _region_of(arn: str) -> str:
    return arn.split(":")[3]


# --- arguments -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Bound:
    metric: str
    value: float


def _bound(text: str) -> Bound:
    metric, sep, value = text.rpartition("=")
    try:
        number = float(value)
    except ValueError:
        number = math.nan
    if text.startswith("arn:"):
        raise argparse.ArgumentTypeError(f"expected METRIC=NUMBER, not the ARN {text!r}: give job ARNs before --fail-under and --fail-over")
    if not sep or not metric or not math.isfinite(number):
        raise argparse.ArgumentTypeError(f"expected METRIC=NUMBER (Builtin.Correctness=0.7), not {text!r}")
    return Bound(metric.strip(), number)


def _duration(text: str) -> float:
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(s|m|h)?\s*", text)
    if match is None:
        raise argparse.ArgumentTypeError(f"expected a duration (90, 90s, 30m, 2h), not {text!r}")
    return float(match.group(1)) * {"s": 1, "m": 60, "h": 3600}[match.group(2) or "s"]


def _margin(text: str) -> float:
    try:
        number = float(text)
    except ValueError:
        number = math.nan
    if not math.isfinite(number) or number < 0:
        raise argparse.ArgumentTypeError(f"expected a number 0 or more (0.05), not {text!r}")
    return number


def _job_arn(text: str) -> str:
    try:
        job_results_location("s3://bucket", "name", text)  # results.py holds the one job-ARN rule
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not an evaluation job ARN (arn:aws:bedrock:<region>:<account>:evaluation-job/<12-character id>)"
        ) from None
    return text


def parser() -> argparse.ArgumentParser:
    command = argparse.ArgumentParser(
        prog="bedrock-evaluation-results",
        description=(
            "Show Amazon Bedrock evaluation jobs' scores: per job, model or knowledge base, and metric, the mean,\n"
            "the lowest score, how many scores (one per record; per conversation turn for knowledge-base jobs;\n"
            "per worker's rating for human jobs) and the share of them scored. Optionally wait for running jobs,\n"
            "write an HTML report with charts, compare with an earlier (baseline) job, and fail when a bound is\n"
            "missed or a mean dropped too far below the baseline's."
        ),
        epilog=EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    command.add_argument("jobs", nargs="*", metavar="JOB_ARN", type=_job_arn, help="evaluation job ARNs (several are compared)")
    command.add_argument(
        "--stack", metavar="STACK", help=f"the evaluation jobs ({contract.RESOURCE_TYPE} resources) of this CloudFormation stack (name or id)"
    )
    command.add_argument("--region", help="AWS region for --stack (default: AWS_REGION or the profile's); a job ARN names its own")
    command.add_argument("--profile", help="named profile from ~/.aws/config (default: AWS_PROFILE, else the default chain)")
    command.add_argument("--wait", action="store_true", help="wait for running jobs to end, polling GetEvaluationJob; progress on stderr")
    command.add_argument("--timeout", type=_duration, default=2 * 3600.0, metavar="DURATION", help="how long --wait waits (90s, 30m, 2h; default 2h)")
    command.add_argument("--poll-interval", type=_duration, default=30.0, metavar="DURATION", help="time between polls with --wait (default 30s)")
    command.add_argument("--json", action="store_true", help="print JSON on stdout instead of the table (errors and progress stay on stderr)")
    command.add_argument("--html", type=Path, metavar="FILE", help="also write a self-contained HTML report with charts (opens offline)")
    command.add_argument("--worst", type=int, default=5, metavar="N", help="lowest-scoring prompts per metric in the report (default 5)")
    command.add_argument(
        "--fail-under",
        type=_bound,
        nargs="+",
        default=[],
        metavar="METRIC=VALUE",
        help="exit 1 when a metric's mean is below VALUE for any model or knowledge base of a job that reports it",
    )
    command.add_argument(
        "--fail-over",
        type=_bound,
        nargs="+",
        default=[],
        metavar="METRIC=VALUE",
        help="exit 1 when a metric's mean is above VALUE (for metrics where lower is better: Builtin.Harmfulness, ...)",
    )
    command.add_argument(
        "--baseline",
        type=_job_arn,
        metavar="JOB_ARN",
        help=(
            "an earlier evaluation job to compare with: its mean is shown beside each metric's (BASELINE, CHANGE), "
            "per model or knowledge base; it must have Completed"
        ),
    )
    command.add_argument(
        "--max-drop",
        type=_margin,
        metavar="DROP",
        help=(
            "with --baseline: exit 1 when a mean fell more than DROP below the baseline's (rose, for metrics where "
            "lower is better), compared per metric, model or knowledge base, task type, dataset and rating method; "
            "groups only one of the two jobs has are not compared"
        ),
    )
    return command


# --- the command ---------------------------------------------------------------------------------


@dataclass
class Output:
    out: IO[str]
    err: IO[str]

    def error(self, message: str) -> None:
        print(f"bedrock-evaluation-results: {message}", file=self.err)


def main(argv: Sequence[str] | None = None, *, connect: Callable[..., Aws] = Aws, out: IO[str] | None = None, err: IO[str] | None = None) -> int:
    """The console command; returns its exit code. `connect(region=, profile=)` makes the AWS seam."""
    output = Output(out or sys.stdout, err or sys.stderr)
    command = parser()
    try:
        args = command.parse_args(argv)
    except SystemExit as stop:  # --help (0) or a usage error (2, already explained on stderr)
        return int(stop.code or 0)
    if bool(args.jobs) == bool(args.stack):
        output.error("give evaluation job ARNs or --stack STACK (one of the two)")
        return EXIT_USAGE
    if args.max_drop is not None and args.baseline is None:
        output.error("--max-drop needs --baseline JOB_ARN: the earlier job whose means the drop is measured from")
        return EXIT_USAGE
    if args.worst < 0 or args.poll_interval <= 0:
        output.error("--worst must be 0 or more and --poll-interval more than 0")
        return EXIT_USAGE
    for bound in args.fail_under:
        if lower_is_better(bound.metric):
            output.error(f"note: lower is better for {bound.metric}; --fail-over bounds it from above")
    try:
        return run(args, connect(region=args.region, profile=args.profile), output)
    except CommandError as problem:
        output.error(str(problem))
        return problem.code
    except KeyboardInterrupt:
        output.error("interrupted")
        return 130


def run(args: argparse.Namespace, aws: Aws, output: Output) -> int:
    arns = list(dict.fromkeys(args.jobs)) if args.jobs else _stack_jobs(aws, args.stack, output)
    jobs = [JobResults.described(aws.job(arn)) for arn in arns]
    baseline = None if args.baseline is None else JobResults.described(aws.job(args.baseline))
    watched = jobs + ([] if baseline is None else [baseline])
    if args.wait and not all(job.finished for job in watched):
        watched = wait(aws, watched, timeout=args.timeout, interval=args.poll_interval, err=output.err)
    watched = [_with_scores(aws, job) for job in watched]
    jobs, baseline = (watched, None) if baseline is None else (watched[:-1], watched[-1])
    failures = gate(jobs, args.fail_under, args.fail_over)
    comparison = None if baseline is None else compare(jobs, baseline, args.max_drop)
    if comparison is not None:
        failures += comparison.failures
    code = _exit_code(watched, failures, bounded=bool(args.fail_under or args.fail_over or args.max_drop is not None))
    if args.html is not None:
        _write_report(args.html, jobs, args.worst)
    if args.json:
        print(json.dumps(as_json(jobs, failures, code, comparison), indent=2), file=output.out)
    else:
        print(table(jobs, baseline), file=output.out)
    for job in jobs:
        if job.status != COMPLETED:
            output.error(_not_completed(job, waited=args.wait))
    if baseline is not None and baseline.status != COMPLETED:
        output.error(f"--baseline: {_not_completed(baseline, waited=args.wait)}, so nothing is compared with it")
    if comparison is not None:
        for note in comparison.notes():
            output.error(f"note: {note}")
    if code == EXIT_GATE:
        output.error("gate missed:")
        for failure in failures:
            print(f"  {failure.reason}", file=output.err)
    return code


def _stack_jobs(aws: Aws, stack: str, output: Output) -> list[str]:
    found = aws.stack_job_arns(stack)
    arns = []
    for logical_id, physical_id in found:
        try:
            arns.append(_job_arn(physical_id))
        except argparse.ArgumentTypeError:
            output.error(f"note: {logical_id} has no job ({physical_id or 'no physical id'}): its create failed or is under way")
    if not arns:
        raise CommandError(f"stack {stack} has no evaluation jobs ({contract.RESOURCE_TYPE} resources)", EXIT_USAGE)
    return arns


def wait(aws: Aws, jobs: list[JobResults], *, timeout: float, interval: float, err: IO[str], clock: Callable[[], float] = time.monotonic,
         sleep: Callable[[float], None] = time.sleep) -> list[JobResults]:
    """Poll GetEvaluationJob until every job has ended or `timeout` has passed; show progress on
    stderr (one rewritten line on a terminal; otherwise, as in a CI log, a line per change and one
    every 10 minutes without any)."""
    started = clock()
    progress = _Progress(err)
    while True:
        elapsed = clock() - started
        progress.show(jobs, elapsed)
        if all(job.finished for job in jobs) or elapsed >= timeout:
            progress.done()
            return jobs
        sleep(min(interval, max(timeout - elapsed, 0.0)))
        jobs = [job if job.finished else JobResults.described(aws.job(job.arn)) for job in jobs]


class _Progress:
    QUIET_SECONDS = 600.0

    def __init__(self, err: IO[str]) -> None:
        self.err = err
        self.tty = err.isatty()
        self.last = ""
        self.printed_at = 0.0

    def show(self, jobs: list[JobResults], elapsed: float) -> None:
        ended = sum(job.finished for job in jobs)
        states = ", ".join(f"{job.name} {job.status}" for job in jobs)
        line = f"waiting: {ended} of {len(jobs)} jobs ended ({states})"
        if self.tty:
            self.err.write(f"\r\033[K{line} {int(elapsed) // 60}m{int(elapsed) % 60:02d}s")
            self.err.flush()
        elif line != self.last or elapsed - self.printed_at >= self.QUIET_SECONDS:
            print(f"{line} after {elapsed:.0f}s", file=self.err)
            self.printed_at = elapsed
        self.last = line

    def done(self) -> None:
        if self.tty:
            self.err.write("\n")


def _with_scores(aws: Aws, job: JobResults) -> JobResults:
    if job.status != COMPLETED:
        return job
    try:
        scores = read_scores(aws.results(_region_of(job.arn)), job.output_s3_uri, job.name, job.arn, metric_names=job.metric_names)
    except (ResultsError, ValueError) as problem:
        raise CommandError(f"{job.name}: the job's result files are not where the job says, or cannot be read: {problem}", EXIT_RESULTS) from None
    return job.with_scores(scores)


def gate(jobs: Iterable[JobResults], fail_under: Sequence[Bound], fail_over: Sequence[Bound]) -> list[GateFailure]:
    """results.py's gate, for each Completed job that reports a bound's metric (a stack's jobs
    need not share their metrics). A bound that no job reports fails once: a misspelt metric must
    not pass silently."""
    failures: list[GateFailure] = []
    completed = [(job, job.summary) for job in jobs if job.summary is not None]
    for bounds, check in ((fail_under, below_thresholds), (fail_over, above_limits)):
        for bound in bounds:
            absent: list[GateFailure] = []
            for job, summary in completed:
                found = check(summary, {bound.metric: bound.value})
                # A metric the results do not hold comes back as one failure with an empty group.
                missing = [f for f in found if f.group.scored + f.group.not_scored == 0]
                if missing:
                    absent += missing
                else:
                    failures += [replace(f, reason=f"{job.name}: {f.reason}") for f in found]
            if completed and len(absent) == len(completed):
                word = "threshold" if check is below_thresholds else "limit"
                failures.append(replace(absent[0], reason=f"{bound.metric}: no job reports it ({word} {bound.value:.3f})"))
    return failures


@dataclass(frozen=True)
class Regression:
    """One group of one job that got worse than the baseline's same group by more than max_drop."""

    job: JobResults
    failure: GateFailure


@dataclass(frozen=True)
class Comparison:
    """The jobs against the baseline: results.py's regressions (when --max-drop is given) and, per
    job, the groups compared and those only one of the two has (results.py's regressions skips them)."""

    baseline: JobResults
    max_drop: float | None
    regressions: tuple[Regression, ...] = ()
    compared: tuple[tuple[JobResults, int], ...] = ()
    """Each Completed job and how many of its groups have a scored counterpart in the baseline."""
    not_compared: tuple[tuple[JobResults, str, MetricSummary], ...] = ()
    """(job, where the group is: "job" or "baseline", the group) for groups without a counterpart
    (or, in the baseline, without a scored record)."""
    nothing_compared: GateFailure | None = None
    """With --max-drop: no job has a group the baseline has, so the gate would check nothing."""

    @property
    def failures(self) -> list[GateFailure]:
        found = [regression.failure for regression in self.regressions]
        return found + ([] if self.nothing_compared is None else [self.nothing_compared])

    def notes(self) -> list[str]:
        """For stderr: per job, the groups not compared with the baseline."""
        lines = []
        for job, _ in self.compared:
            mine = [(side, group) for owner, side, group in self.not_compared if owner is job]
            if not mine:
                continue
            named = sorted({_group_name(job if side == "job" else self.baseline, group) + ("" if side == "job" else " (baseline)") for side, group in mine})
            lines.append(
                f"{job.name}: {len(mine)} group{'s' if len(mine) != 1 else ''} not compared with the baseline {self.baseline.name} "
                f"(in only one of the two jobs, or not scored in the baseline): {'; '.join(named)}"
            )
        return lines


def compare(jobs: Sequence[JobResults], baseline: JobResults, max_drop: float | None) -> Comparison:
    """Each Completed job against the Completed baseline, with results.py's `regressions` (the
    deploy-time gate's check against a replaced job) when `max_drop` is given. When no job has a
    group the baseline has, a --max-drop gate fails rather than pass without comparing anything."""
    if baseline.summary is None:
        return Comparison(baseline=baseline, max_drop=max_drop)
    before = {_identity(group): group for group in baseline.summary.groups}
    found: list[Regression] = []
    compared: list[tuple[JobResults, int]] = []
    not_compared: list[tuple[JobResults, str, MetricSummary]] = []
    for job in jobs:
        if job.summary is None:
            continue
        mine = {_identity(group) for group in job.summary.groups}
        shared = {key for key in mine if key in before and before[key].mean is not None}
        compared.append((job, len(shared)))
        not_compared += [(job, "job", group) for group in job.summary.groups if _identity(group) not in shared]
        not_compared += [(job, "baseline", group) for key, group in before.items() if key not in mine]
        if max_drop is not None:
            found += [
                Regression(job, replace(failure, reason=f"{job.name}: {_against_baseline(failure.reason)}"))
                for failure in regressions(job.summary, baseline.summary, max_drop, lower_is_better=LOWER_IS_BETTER)
            ]
    nothing = None
    if max_drop is not None and compared and not any(count for _, count in compared):
        absent = MetricSummary(metric="", source=None, task_type=None, dataset=None, rating_method=None, mean=None, scored=0, not_scored=0, minimum=None)
        nothing = GateFailure(
            metric="",
            group=absent,
            threshold=max_drop,
            reason=(
                f"no job has a metric, model or knowledge base, task type, dataset and rating method the baseline {baseline.name} "
                f"has scores for: nothing compared (max drop {max_drop:.3f})"
            ),
        )
    return Comparison(
        baseline=baseline, max_drop=max_drop, regressions=tuple(found), compared=tuple(compared), not_compared=tuple(not_compared), nothing_compared=nothing
    )


def _identity(group: MetricSummary) -> tuple[str, str | None, str | None, str | None, str | None]:
    """What results.py's regressions matches a group by."""
    return group.metric, group.rating_method, group.source, group.task_type, group.dataset


def _against_baseline(reason: str) -> str:
    """results.py speaks of the job a deploy replaces; here the earlier job is the baseline."""
    return reason.replace("the replaced job's mean", "the baseline's mean")


def _group_name(job: JobResults, group: MetricSummary) -> str:
    parts = [metric_label(group.metric, group.rating_method), job.label(group.source)]
    parts += [value for value in (group.task_type, group.dataset) if value is not None]
    return ", ".join(parts)


def _exit_code(jobs: list[JobResults], failures: list[GateFailure], *, bounded: bool) -> int:
    if any(job.status != COMPLETED for job in jobs):
        return EXIT_NOT_FINISHED
    return EXIT_GATE if bounded and failures else EXIT_OK


def _not_completed(job: JobResults, *, waited: bool) -> str:
    if job.finished:
        why = f": {'; '.join(job.failure_messages)}" if job.failure_messages else ""
        return f"{job.name} is {job.status}, not Completed: it has no results{why}"
    if waited:
        return f"{job.name} is still {job.status}: --timeout passed before it ended"
    return f"{job.name} is {job.status}: pass --wait to wait for it to end"


def _write_report(path: Path, jobs: list[JobResults], worst: int) -> None:
    try:
        from .report import render
    except ImportError as missing:
        raise CommandError(f"--html needs matplotlib ({missing}): pip install 'bedrock-evaluation-cdk[report]'", EXIT_USAGE) from None
    try:
        path.write_text(render(jobs, worst=worst), encoding="utf-8")
    except OSError as error:
        raise CommandError(f"--html {path}: {error.strerror or error}", EXIT_USAGE) from None


# --- what it prints ------------------------------------------------------------------------------

SCORE_COLUMNS = ("JOB", "SOURCE", "METRIC", "MEAN", "MIN", "COUNT", "SCORED")
BASELINE_COLUMNS = ("JOB", "SOURCE", "METRIC", "MEAN", "BASELINE", "CHANGE", "MIN", "COUNT", "SCORED")


def table(jobs: Sequence[JobResults], baseline: JobResults | None = None) -> str:
    """The jobs (name, status, kind, what one score is about), then one row per job, source and
    metric: mean, lowest score, how many scores, and the share of them scored. With a baseline, the
    baseline job is listed last and each row also shows the baseline's mean for the same source and
    metric, and the change (mean less the baseline's); "-" where the baseline has no such mean."""
    job_rows = [("JOB", "STATUS", "KIND", "SCORED PER", "ARN")]
    job_rows += [(job.name, job.status, job.kind, job.unit.removesuffix("s"), job.arn) for job in jobs]
    if baseline is not None:
        job_rows.append((f"{baseline.name} (baseline)", baseline.status, baseline.kind, baseline.unit.removesuffix("s"), baseline.arn))
    before = {} if baseline is None else _means_per_source(baseline)
    score_rows: list[tuple[str, ...]] = [SCORE_COLUMNS if baseline is None else BASELINE_COLUMNS]
    for job in jobs:
        for series in job.per_source():
            for metric in series.summary.overall:
                fraction = share(metric.scored, metric.not_scored)
                compared: tuple[str, ...] = ()
                if baseline is not None:
                    previous = before.get((series.source, metric.metric, metric.rating_method))
                    change = None if previous is None or metric.mean is None else metric.mean - previous
                    compared = (_number(previous), "-" if change is None else f"{change:+.3f}")
                score_rows.append(
                    (
                        job.name,
                        series.job.label(series.source),
                        metric_label(metric.metric, metric.rating_method) + (" (lower is better)" if lower_is_better(metric.metric) else ""),
                        _number(metric.mean),
                        *compared,
                        _number(metric.minimum),
                        str(metric.scored + metric.not_scored),
                        "-" if fraction is None else f"{fraction:.0%}",
                    )
                )
    text = _aligned(job_rows)
    if len(score_rows) > 1:
        text += "\n\n" + _aligned(score_rows, numeric=frozenset(range(3, len(score_rows[0]))))
    return text


def _means_per_source(job: JobResults) -> dict[tuple[str | None, str, str | None], float]:
    """(source, metric, rating method) -> the job's mean for that source, where it has one."""
    return {
        (series.source, metric.metric, metric.rating_method): metric.mean
        for series in job.per_source()
        for metric in series.summary.overall
        if metric.mean is not None
    }


def _number(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def _aligned(rows: Sequence[Sequence[str]], numeric: frozenset[int] = frozenset()) -> str:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = []
    for row in rows:
        cells = [cell.rjust(widths[i]) if i in numeric else cell.ljust(widths[i]) for i, cell in enumerate(row)]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)


def as_json(jobs: Sequence[JobResults], failures: Sequence[GateFailure], code: int, comparison: Comparison | None = None) -> dict[str, object]:
    """--json: each job with results.py's summary (Summary.to_json) and its sources' labels, the
    gate's failures, and the exit code the command returns. With --baseline: the baseline job in
    the same form, with --max-drop and, per job, the groups compared and not compared; and each
    regression (a group that got worse by more than --max-drop; empty without --max-drop)."""
    baseline: dict[str, object] | None = None
    if comparison is not None:
        baseline = {
            **_job_json(comparison.baseline),
            "max_drop": comparison.max_drop,
            "compared": [{"job": job.arn, "groups": count} for job, count in comparison.compared],
            "not_compared": [{"job": job.arn, "only_in": side, **group.to_json()} for job, side, group in comparison.not_compared],
        }
    return {
        "exit_code": code,
        "jobs": [_job_json(job) for job in jobs],
        "baseline": baseline,
        "regressions": [] if comparison is None else [_regression_json(regression) for regression in comparison.regressions],
        "gate": {"passed": not failures, "failures": [failure.reason for failure in failures]},
    }


def _job_json(job: JobResults) -> dict[str, object]:
    return {
        "arn": job.arn,
        "name": job.name,
        "status": job.status,
        "kind": job.kind,
        "scored_per": job.unit.removesuffix("s"),
        "failure_messages": list(job.failure_messages),
        "results": _results_uri(job),
        "sources": {series.source: job.label(series.source) for series in job.per_source() if series.source is not None},
        "summary": None if job.summary is None else job.summary.to_json(),
    }


def _regression_json(regression: Regression) -> dict[str, object]:
    """The group as results.py's summary has it, with the baseline's mean, the bound it had to meet
    (the baseline's mean less --max-drop, plus it where lower is better) and the reason."""
    failure = regression.failure
    previous = failure.previous
    return {
        "job": regression.job.arn,
        **failure.group.to_json(),
        "baseline_mean": None if previous is None else previous.mean,
        "bound": failure.threshold,
        "reason": failure.reason,
    }


def _results_uri(job: JobResults) -> str | None:
    try:
        bucket, prefix = job_results_location(job.output_s3_uri, job.name, job.arn)
    except ValueError:
        return None
    return f"s3://{bucket}/{prefix}"


if __name__ == "__main__":
    sys.exit(main())
