"""What Amazon Bedrock does with evaluation jobs, without HTTP: validation, state over time,
name uniqueness, idempotency tokens. `server.py` puts the REST-JSON protocol in front of it.

Everything the wire format depends on (operation names, member shapes, error status codes) is
read from the botocore service model, never written down here. What the model cannot say is an
assumption of this emulator, each one named where it is made:

- Stop of a job that is not InProgress is refused with a ValidationException.
- BatchDeleteEvaluationJob reports a job that is not Completed, Failed or Stopped (including one
  already Deleting) as a per-job error with code "ValidationException", and an unknown job with
  code "ResourceNotFoundException" (the model documents `code` only as "A HTTP status code").
- A clientRequestToken seen before is answered with the first request's job whatever the
  parameters (the API reference: the service "ignores the request, but does not return an error").
- A name stays taken until its job is gone (while Deleting too).
- Patterns are matched against the whole value (the API reference writes them anchored, ^...$).
- Error status codes are the model's: ConflictException travels as 400, not 409.
- With `max_in_progress`, Create is refused with ServiceQuotaExceededException (one of the model's
  errors of CreateEvaluationJob) while that many jobs of the same jobType are InProgress: the
  concurrent-job quotas L-557C8C47 (automatic) and L-973C31D1 (human). Stopping jobs do not count.
- With `invisible_for_calls` K, a new job is not found by the first K Get, Stop, List and tag
  requests after its creation (eventually consistent reads: ResourceNotFoundException, left out of
  lists).
- With `normalise`, GetEvaluationJob gives model identifiers back as foundation-model ARNs.
- GetEvaluationJob returns no tags (the model's output has no jobTags); ListTagsForResource does.
- A job ends, when its time comes, as its `Outcome` says: Completed (the default), Failed with its
  failureMessages, or Stopped (Stopping, then Stopped at once: as if stopped outside).
- With a `results` sink, a job writes the empty permission-check object when it is created (the
  service's write probe), and its result files (`results.py`) just before it becomes Completed, so
  that a reader who sees Completed finds them. Failed and Stopped jobs write no results.
"""

from __future__ import annotations

import copy
import json
import random
import re
import threading
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import botocore.session
from botocore.validate import ParamValidator

from .results import EVEN_SCORES, ResultObject, ResultsSink, ScorePlan, permission_check, result_objects

REGION = "us-east-1"
ACCOUNT = "123456789012"
ARN_PREFIX = f"arn:aws:bedrock:{REGION}:{ACCOUNT}:evaluation-job/"

OPERATIONS = (
    "CreateEvaluationJob",
    "GetEvaluationJob",
    "ListEvaluationJobs",
    "StopEvaluationJob",
    "BatchDeleteEvaluationJob",
    "TagResource",
    "UntagResource",
    "ListTagsForResource",
)
IN_PROGRESS, COMPLETED, FAILED = "InProgress", "Completed", "Failed"
STOPPING, STOPPED, DELETING = "Stopping", "Stopped", "Deleting"
DELETABLE = frozenset({COMPLETED, FAILED, STOPPED})
GONE = "(gone)"
"""Not a service status: the job no longer exists. Appears only in a job's history."""
_ENDS = "(ends)"
"""Not a service status: a pending transition to whatever the job's Outcome says."""

SERVICE_MODEL = botocore.session.get_session().get_service_model("bedrock")

# Errors the service sends that the model does not list (a load balancer's 503, for one).
_UNMODELED_STATUS = {"ServiceUnavailableException": 503}


def http_status_of(code: str) -> int:
    """The HTTP status an error code travels with, from its shape in the service model."""
    if code in _UNMODELED_STATUS:
        return _UNMODELED_STATUS[code]
    shape = SERVICE_MODEL.shape_for(code)
    return int(shape.metadata["error"]["httpStatusCode"])


def refusal(operation: str, code: str, message: str) -> ServiceError:
    """An error the model lists for this operation (an emulator bug otherwise)."""
    errors = [shape.name for shape in SERVICE_MODEL.operation_model(operation).error_shapes]
    if code not in errors:
        raise AssertionError(f"{operation} has no error {code} in the service model; it has {errors}")
    return ServiceError(code, message)


class ServiceError(Exception):
    """An error answer: its code (an exception shape name) and message."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message

    @property
    def status(self) -> int:
        return http_status_of(self.code)


@dataclass
class _Transition:
    """A change of status that happens when the `gets_left`-th GetEvaluationJob is answered."""

    to: str
    gets_left: int


@dataclass(frozen=True)
class Outcome:
    """How a job ends when its time comes: after `run_seconds`, on the `complete_after_gets`-th
    GetEvaluationJob, or when `finish` is called without a status."""

    status: str = COMPLETED
    failure_messages: tuple[str, ...] = ()
    """What GetEvaluationJob then says in failureMessages (Failed only)."""

    def __post_init__(self) -> None:
        if self.status not in (COMPLETED, FAILED, STOPPED):
            raise ValueError(f"a job ends {COMPLETED}, {FAILED} or {STOPPED}, not {self.status}")
        if self.failure_messages and self.status != FAILED:
            raise ValueError("only a Failed job has failure messages")

    @classmethod
    def completed(cls) -> Outcome:
        return cls()

    @classmethod
    def failed(cls, *messages: str) -> Outcome:
        return cls(FAILED, messages or ("The evaluation failed.",))

    @classmethod
    def stopped(cls) -> Outcome:
        """Stopped by someone outside the stack (the console, say) while it ran."""
        return cls(STOPPED)


@dataclass
class Job:
    """One evaluation job as the service holds it."""

    arn: str
    name: str
    request: dict[str, Any]
    """The CreateEvaluationJob parameters, without clientRequestToken."""
    token: str | None
    created: datetime
    sequence: int
    status: str = IN_PROGRESS
    history: list[str] = field(default_factory=lambda: [IN_PROGRESS])
    pending: _Transition | None = None
    failure_messages: list[str] = field(default_factory=list)
    modified: datetime | None = None
    seeded: bool = False
    """Put there by a test (someone else's job), not made through the API."""
    tags: dict[str, str] = field(default_factory=dict)
    hidden_for: int = 0
    """How many more Get, Stop, List and tag requests do not find the job yet."""
    outcome: Outcome = field(default_factory=Outcome)
    """How it ends when its time comes."""
    scores: ScorePlan = field(default_factory=ScorePlan)
    """What its result files hold, if the service has a results sink."""
    results: list[str] = field(default_factory=list)
    """The S3 URIs it has written, in order."""

    @property
    def gone(self) -> bool:
        return self.history[-1] == GONE

    def move_to(self, status: str, when: datetime) -> None:
        self.status = status
        self.history.append(status)
        self.modified = when


class EvaluationService:
    """The five evaluation-job operations over in-memory state. Thread-safe.

    Jobs start InProgress. A job ends when `finish` is called, `run_seconds` after its creation, or
    on the `complete_after_gets`-th GetEvaluationJob if that is set, as its `Outcome` says
    (`outcome`: one for every job, or a function of the new job; `plan` changes one job's). With a
    `results` sink (LocalS3, a boto3 S3 client), a Completed job has written its result files,
    scored as its `ScorePlan` says (`scores`, likewise). A stopped job is Stopping until
    the `stop_after_gets`-th GetEvaluationJob after the stop (or `settle`), then Stopped. A
    deleted job is Deleting until the `gone_after_gets`-th GetEvaluationJob (or `settle`), which
    already finds nothing.
    """

    def __init__(
        self,
        *,
        complete_after_gets: int | None = None,
        stop_after_gets: int = 2,
        gone_after_gets: int = 2,
        list_page_size: int = 10,
        seed: int = 0,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        max_in_progress: int | None = None,
        run_seconds: float | None = None,
        invisible_for_calls: int = 0,
        normalise: bool = False,
        outcome: Outcome | Callable[[Job], Outcome] = Outcome(),
        results: ResultsSink | None = None,
        scores: ScorePlan | Callable[[Job], ScorePlan] = EVEN_SCORES,
    ) -> None:
        for name, value in (("stop_after_gets", stop_after_gets), ("gone_after_gets", gone_after_gets)):
            if value < 1:
                raise ValueError(f"{name} must be at least 1")
        self.complete_after_gets = complete_after_gets
        self.stop_after_gets = stop_after_gets
        self.gone_after_gets = gone_after_gets
        self.list_page_size = list_page_size
        self.max_in_progress = max_in_progress
        """Concurrent InProgress jobs of one jobType the account's quota allows (None: no quota)."""
        self.run_seconds = run_seconds
        """A job completes this long after its creation, by `now` (None: only as told)."""
        self.invisible_for_calls = invisible_for_calls
        self.normalise = normalise
        self.outcome = outcome
        """How each new job ends: one Outcome for all, or a function of the job (its name, its request)."""
        self.results = results
        """Where jobs write their S3 objects (None: nowhere)."""
        self.scores = scores
        """What each new job's result files hold: one ScorePlan for all, or a function of the job."""
        self.quota_refusals = 0
        """Creates refused with ServiceQuotaExceededException."""
        self._random = random.Random(seed)
        self._now = now
        self._lock = threading.RLock()
        self._jobs: dict[str, Job] = {}
        self._tokens: dict[str, str] = {}
        self.created: list[Job] = []
        """Every job ever made, in order, including those since deleted."""
        self.calls: Counter[str] = Counter()
        """Requests that reached the service, per operation (not those a fault answered first)."""
        self.token_replays = 0
        """Creates answered with an existing job because their clientRequestToken was seen before."""

    # --- the API --------------------------------------------------------------------------------

    def create_evaluation_job(self, params: Mapping[str, Any]) -> dict[str, Any]:
        with self._lock:
            self.calls["CreateEvaluationJob"] += 1
            _validate("CreateEvaluationJob", params)
            request = {k: copy.deepcopy(v) for k, v in params.items() if k != "clientRequestToken"}
            token = params.get("clientRequestToken")
            if token is not None and token in self._tokens:
                # "If this token matches a previous request, Amazon Bedrock ignores the request, but
                # does not return an error" (API reference, CreateEvaluationJob): the first job answers.
                self.token_replays += 1
                return {"jobArn": self._tokens[token]}
            name = request["jobName"]
            if any(job.name == name for job in self._jobs.values()):
                raise ServiceError("ConflictException", f"An evaluation job named {name} already exists.")
            self._run_on()
            kind = _job_type(request)
            running = sum(1 for job in self._jobs.values() if job.status == IN_PROGRESS and _job_type(job.request) == kind)
            if self.max_in_progress is not None and running >= self.max_in_progress:
                self.quota_refusals += 1
                raise refusal(
                    "CreateEvaluationJob",
                    "ServiceQuotaExceededException",
                    f"You have reached the maximum number of concurrent {kind.lower()} evaluation jobs ({self.max_in_progress}).",
                )
            job = self._new_job(name, request, token)
            if self.results is not None:
                self._write(job, [permission_check(job.name, job.request)])
            job.tags = {t["key"]: t["value"] for t in request.get("jobTags", [])}
            job.hidden_for = self.invisible_for_calls
            if token is not None:
                self._tokens[token] = job.arn
            return {"jobArn": job.arn}

    def get_evaluation_job(self, job_identifier: str) -> dict[str, Any]:
        with self._lock:
            self.calls["GetEvaluationJob"] += 1
            self._run_on()
            job = self._existing(job_identifier, self._look())
            if job.pending is not None:
                job.pending.gets_left -= 1
                if job.pending.gets_left <= 0:
                    self._apply(job)
                    if job.gone:
                        raise _not_found(job_identifier)
            return self._description(job)

    def list_evaluation_jobs(self, params: Mapping[str, Any]) -> dict[str, Any]:
        with self._lock:
            self.calls["ListEvaluationJobs"] += 1
            _validate("ListEvaluationJobs", params)
            self._run_on()
            hidden = self._look()
            jobs = [job for job in self._jobs.values() if _listed(job, params) and job.arn not in hidden]
            descending = params.get("sortOrder", "Descending") == "Descending"
            jobs.sort(key=lambda job: (job.created, job.sequence), reverse=descending)
            start = _page_start(params.get("nextToken"))
            size = int(params.get("maxResults", self.list_page_size))
            page = jobs[start : start + size]
            answer: dict[str, Any] = {"jobSummaries": [self._summary(job) for job in page]}
            if start + size < len(jobs):
                answer["nextToken"] = f"page-{start + size}"
            return answer

    def stop_evaluation_job(self, job_identifier: str) -> dict[str, Any]:
        with self._lock:
            self.calls["StopEvaluationJob"] += 1
            self._run_on()
            job = self._existing(job_identifier, self._look())
            if job.status != IN_PROGRESS:
                raise ServiceError(
                    "ValidationException",
                    f"Evaluation job {job.name} is {job.status}; only an InProgress job can be stopped.",
                )
            job.move_to(STOPPING, self._now())
            job.pending = _Transition(STOPPED, self.stop_after_gets)
            return {}

    def batch_delete_evaluation_job(self, params: Mapping[str, Any]) -> dict[str, Any]:
        with self._lock:
            self.calls["BatchDeleteEvaluationJob"] += 1
            _validate("BatchDeleteEvaluationJob", params)
            errors: list[dict[str, str]] = []
            deleted: list[dict[str, str]] = []
            for identifier in params["jobIdentifiers"]:
                job = self._jobs.get(identifier)
                if not _JOB_IDENTIFIER.fullmatch(identifier):
                    errors.append(_item_error(identifier, "ValidationException", "Not an evaluation job ARN."))
                elif job is None:
                    errors.append(_item_error(identifier, "ResourceNotFoundException", "Evaluation job not found."))
                elif job.status not in DELETABLE:
                    message = f"Evaluation job {job.name} is {job.status}; only Completed, Failed or Stopped jobs can be deleted."
                    errors.append(_item_error(identifier, "ValidationException", message))
                else:
                    job.move_to(DELETING, self._now())
                    job.pending = _Transition(GONE, self.gone_after_gets)
                    deleted.append({"jobIdentifier": identifier, "jobStatus": DELETING})
            return {"errors": errors, "evaluationJobs": deleted}

    def tag_resource(self, params: Mapping[str, Any]) -> dict[str, Any]:
        with self._lock:
            self.calls["TagResource"] += 1
            _validate("TagResource", params)
            job = self._existing(params["resourceARN"], self._look())
            tags = {**job.tags, **{t["key"]: t["value"] for t in params["tags"]}}
            if len(tags) > _MAX_TAGS:
                raise refusal("TagResource", "TooManyTagsException", f"A resource can have at most {_MAX_TAGS} tags.")
            job.tags = tags
            return {}

    def untag_resource(self, params: Mapping[str, Any]) -> dict[str, Any]:
        with self._lock:
            self.calls["UntagResource"] += 1
            _validate("UntagResource", params)
            job = self._existing(params["resourceARN"], self._look())
            job.tags = {k: v for k, v in job.tags.items() if k not in params["tagKeys"]}
            return {}

    def list_tags_for_resource(self, params: Mapping[str, Any]) -> dict[str, Any]:
        with self._lock:
            self.calls["ListTagsForResource"] += 1
            _validate("ListTagsForResource", params)
            job = self._existing(params["resourceARN"], self._look())
            return {"tags": [{"key": k, "value": v} for k, v in job.tags.items()]}

    # --- control, for tests -----------------------------------------------------------------------

    def jobs(self) -> list[Job]:
        """The jobs the service holds now (Deleting ones included), oldest first."""
        with self._lock:
            return sorted(self._jobs.values(), key=lambda job: job.sequence)

    def job(self, job_arn: str) -> Job | None:
        with self._lock:
            return self._jobs.get(job_arn)

    def ever(self, job_arn: str) -> Job:
        """A job made at some point, even if it is gone since."""
        with self._lock:
            return next(job for job in self.created if job.arn == job_arn)

    def finish(self, job_arn: str, status: str | None = None, message: str | None = None) -> None:
        """The evaluation ends now: as its Outcome says, or as Completed or Failed (with `message`)."""
        if status not in (None, COMPLETED, FAILED):
            raise ValueError(f"a job finishes as {COMPLETED} or {FAILED}, not {status}")
        with self._lock:
            job = self._jobs[job_arn]
            if job.status != IN_PROGRESS:
                raise ValueError(f"{job.name} is {job.status}, not {IN_PROGRESS}")
            if status == FAILED:
                outcome = Outcome.failed(*([message] if message else []))
            else:
                outcome = job.outcome if status is None else Outcome()
            self._end(job, outcome, self._now())

    def plan(self, job_arn: str, *, outcome: Outcome | None = None, scores: ScorePlan | None = None) -> None:
        """How this job ends, and what its results hold, instead of what the service gave it."""
        with self._lock:
            job = self._jobs[job_arn]
            if outcome is not None:
                job.outcome = outcome
            if scores is not None:
                job.scores = scores

    def stop_outside(self, job_arn: str) -> None:
        """Someone stopped the job outside the stack (the console, say), and it has stopped since."""
        with self._lock:
            job = self._jobs[job_arn]
            if job.status != IN_PROGRESS:
                raise ValueError(f"{job.name} is {job.status}, not {IN_PROGRESS}")
            job.move_to(STOPPING, self._now())
            job.pending = None
            job.move_to(STOPPED, self._now())

    def settle(self) -> None:
        """Let time pass: every Stopping job is Stopped, every Deleting job is gone."""
        with self._lock:
            for job in list(self._jobs.values()):
                if job.pending is not None and job.pending.to in (STOPPED, GONE):
                    self._apply(job)

    def set_status(self, job_arn: str, status: str, *, then: str | None = None, after_gets: int = 1) -> None:
        """The job is now `status` (any string, such as one the API adds later), and `then` after
        `after_gets` GetEvaluationJob calls."""
        with self._lock:
            job = self._jobs[job_arn]
            job.move_to(status, self._now())
            job.pending = _Transition(then, after_gets) if then is not None else None

    def seed_job(self, request: Mapping[str, Any], status: str = IN_PROGRESS) -> Job:
        """A job that someone else made (another stack, the console)."""
        with self._lock:
            job = self._new_job(str(request["jobName"]), copy.deepcopy(dict(request)), None)
            job.seeded = True
            if status != IN_PROGRESS:
                job.pending = None
                job.move_to(status, self._now())
            return job

    # --- inside -----------------------------------------------------------------------------------

    def _new_job(self, name: str, request: dict[str, Any], token: str | None) -> Job:
        while True:
            job_id = "".join(self._random.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(12))
            if all(job.arn != ARN_PREFIX + job_id for job in self.created):
                break
        job = Job(
            arn=ARN_PREFIX + job_id,
            name=name,
            request=request,
            token=token,
            created=self._now(),
            sequence=len(self.created),
        )
        job.outcome = self.outcome(job) if callable(self.outcome) else self.outcome
        job.scores = self.scores(job) if callable(self.scores) else self.scores
        if self.complete_after_gets is not None:
            job.pending = _Transition(_ENDS, self.complete_after_gets)
        self._jobs[job.arn] = job
        self.created.append(job)
        return job

    def _apply(self, job: Job) -> None:
        assert job.pending is not None
        target, job.pending = job.pending.to, None
        if target == _ENDS:
            self._end(job, job.outcome, self._now())
            return
        job.move_to(target, self._now())
        if target == GONE:
            del self._jobs[job.arn]

    def _end(self, job: Job, outcome: Outcome, when: datetime) -> None:
        """The job's evaluation is over: it writes its results (Completed) and takes its final status."""
        job.pending = None
        if outcome.status == COMPLETED:
            if self.results is not None:
                written = result_objects(job_arn=job.arn, job_name=job.name, request=job.request, plan=job.scores, created=job.created)
                self._write(job, written)
            job.move_to(COMPLETED, when)
        elif outcome.status == FAILED:
            job.failure_messages.extend(outcome.failure_messages)
            job.move_to(FAILED, when)
        else:
            job.move_to(STOPPING, when)
            job.move_to(STOPPED, when)

    def _write(self, job: Job, objects: list[ResultObject]) -> None:
        assert self.results is not None
        for item in objects:
            self.results.put_object(Bucket=item.bucket, Key=item.key, Body=item.body)
            job.results.append(item.uri)

    def _look(self) -> set[str]:
        """One more read: the jobs it does not find yet (and each of them is one read closer to visible)."""
        hidden = {job.arn for job in self._jobs.values() if job.hidden_for > 0}
        for job in self._jobs.values():
            job.hidden_for = max(0, job.hidden_for - 1)
        return hidden

    def _run_on(self) -> None:
        """Jobs that have run their `run_seconds` have ended by now, as their outcome says."""
        if self.run_seconds is None:
            return
        now = self._now()
        for job in list(self._jobs.values()):
            if job.status == IN_PROGRESS and (now - job.created).total_seconds() >= self.run_seconds:
                self._end(job, job.outcome, now)

    def _existing(self, job_identifier: str, hidden: frozenset[str] | set[str] = frozenset()) -> Job:
        if not _JOB_IDENTIFIER.fullmatch(job_identifier):
            raise ServiceError(
                "ValidationException",
                f"1 validation error detected: Value '{job_identifier}' at 'jobIdentifier' failed to satisfy "
                f"constraint: Member must satisfy regular expression pattern: {_JOB_IDENTIFIER.pattern}",
            )
        job = self._jobs.get(job_identifier)
        if job is None or job.arn in hidden:
            raise _not_found(job_identifier)
        return job

    def _description(self, job: Job) -> dict[str, Any]:
        request = job.request
        answer: dict[str, Any] = {
            "jobName": job.name,
            "status": job.status,
            "jobArn": job.arn,
            "roleArn": request["roleArn"],
            "jobType": _job_type(request),
            "applicationType": request.get("applicationType", "ModelEvaluation"),
            "evaluationConfig": copy.deepcopy(request["evaluationConfig"]),
            "inferenceConfig": _as_arns(request["inferenceConfig"]) if self.normalise else copy.deepcopy(request["inferenceConfig"]),
            "outputDataConfig": copy.deepcopy(request["outputDataConfig"]),
            "creationTime": job.created,
        }
        for key in ("jobDescription", "customerEncryptionKeyId"):
            if key in request:
                answer[key] = request[key]
        if job.modified is not None:
            answer["lastModifiedTime"] = job.modified
        if job.failure_messages:
            answer["failureMessages"] = list(job.failure_messages)
        return answer

    def _summary(self, job: Job) -> dict[str, Any]:
        request = job.request
        automated = request["evaluationConfig"].get("automated") or request["evaluationConfig"].get("human") or {}
        task_types = [c["taskType"] for c in automated.get("datasetMetricConfigs", [])] or ["General"]
        models = [
            m["bedrockModel"]["modelIdentifier"]
            for m in request["inferenceConfig"].get("models", [])
            if "bedrockModel" in m
        ]
        judges = [
            m["modelIdentifier"]
            for m in automated.get("evaluatorModelConfig", {}).get("bedrockEvaluatorModels", [])
        ]
        summary: dict[str, Any] = {
            "jobArn": job.arn,
            "jobName": job.name,
            "status": job.status,
            "creationTime": job.created,
            "jobType": _job_type(request),
            "evaluationTaskTypes": task_types,
            "applicationType": request.get("applicationType", "ModelEvaluation"),
        }
        if models:
            summary["modelIdentifiers"] = models
        if judges:
            summary["evaluatorModelIdentifiers"] = judges
        return summary


# --- validation against the service model ---------------------------------------------------------

_JOB_IDENTIFIER = re.compile(
    SERVICE_MODEL.operation_model("GetEvaluationJob").input_shape.members["jobIdentifier"].metadata["pattern"]
)


def _validate(operation: str, params: Mapping[str, Any], model: Any = SERVICE_MODEL) -> None:
    """What botocore checks (required members, types, unions, minimums, unknown members) and what it
    leaves to the service (maximums, patterns), against `model`; the problems become a ValidationException."""
    shape = model.operation_model(operation).input_shape
    problems: list[str] = []
    report = ParamValidator().validate(dict(params), shape)
    if report.has_errors():
        problems.append(report.generate_report())
    problems.extend(_constraints(params, shape, "params"))
    if problems:
        count = len(problems)
        raise ServiceError(
            "ValidationException", f"{count} validation error{'s' if count > 1 else ''} detected: " + "; ".join(problems)
        )


def _constraints(value: Any, shape: Any, path: str) -> list[str]:
    if shape is None:
        return []
    meta = shape.metadata
    if shape.type_name == "structure" and isinstance(value, Mapping) and not meta.get("document"):
        found: list[str] = []
        for key, item in value.items():
            found.extend(_constraints(item, shape.members.get(key), f"{path}.{key}"))
        return found
    if shape.type_name == "list" and isinstance(value, list):
        found = [f"{path} has {len(value)} items; at most {meta['max']} are allowed"] if len(value) > meta.get("max", len(value)) else []
        for index, item in enumerate(value):
            found.extend(_constraints(item, shape.member, f"{path}[{index}]"))
        return found
    if shape.type_name == "map" and isinstance(value, Mapping):
        return [p for key, item in value.items() for p in _constraints(item, shape.value, f"{path}.{key}")]
    if shape.type_name == "string" and isinstance(value, str):
        found = []
        if "max" in meta and len(value) > meta["max"]:
            found.append(f"{path} is {len(value)} characters long; at most {meta['max']} are allowed")
        if "pattern" in meta and re.fullmatch(meta["pattern"], value) is None:
            found.append(f"{path} is {value!r}, which does not match the pattern {meta['pattern']}")
        return found
    if shape.type_name in ("integer", "long", "float", "double") and isinstance(value, int | float):
        if "max" in meta and value > meta["max"]:
            return [f"{path} is {value}; at most {meta['max']} is allowed"]
    return []


_MAX_TAGS = int(SERVICE_MODEL.operation_model("TagResource").input_shape.members["tags"].metadata["max"])


def _as_arns(inference: Mapping[str, Any]) -> dict[str, Any]:
    """The inference configuration with each Bedrock model id as the service may give it back: its ARN."""
    normalised = copy.deepcopy(dict(inference))
    for model in normalised.get("models", []):
        bedrock_model = model.get("bedrockModel")
        if bedrock_model and not bedrock_model["modelIdentifier"].startswith("arn:"):
            bedrock_model["modelIdentifier"] = f"arn:aws:bedrock:{REGION}::foundation-model/{bedrock_model['modelIdentifier']}"
    return normalised


def _listed(job: Job, params: Mapping[str, Any]) -> bool:
    if "statusEquals" in params and job.status != params["statusEquals"]:
        return False
    if "applicationTypeEquals" in params and job.request.get("applicationType", "ModelEvaluation") != params[
        "applicationTypeEquals"
    ]:
        return False
    if "nameContains" in params and params["nameContains"] not in job.name:
        return False
    if "creationTimeAfter" in params and not job.created > params["creationTimeAfter"]:
        return False
    return not ("creationTimeBefore" in params and not job.created < params["creationTimeBefore"])


def _page_start(token: str | None) -> int:
    if token is None:
        return 0
    match = re.fullmatch(r"page-(\d+)", token)
    if match is None:
        raise ServiceError("ValidationException", f"Invalid nextToken {token!r}.")
    return int(match.group(1))


def _job_type(request: Mapping[str, Any]) -> str:
    return "Human" if "human" in request["evaluationConfig"] else "Automated"


def _item_error(identifier: str, code: str, message: str) -> dict[str, str]:
    return {"jobIdentifier": identifier, "code": code, "message": message}


def _not_found(job_identifier: str) -> ServiceError:
    return ServiceError("ResourceNotFoundException", f"Evaluation job {job_identifier} not found.")


def canonical(request: Mapping[str, Any]) -> str:
    """The request with its name left out: two jobs with the same canonical request evaluate the same thing."""
    return json.dumps({k: v for k, v in request.items() if k != "jobName"}, sort_keys=True, default=str)
