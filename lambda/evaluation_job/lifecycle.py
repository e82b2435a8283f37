"""What each CloudFormation request does to an evaluation job.

Jobs are immutable: Create makes one, Update makes a new one when the request changed
(CloudFormation then deletes the old resource), Delete stops, deletes or keeps it.

The handler acts only on its own job: one of this resource's names, in the stack's account and
region. Every call starts only if a worst-case call still ends before the handler must answer.
"""

from __future__ import annotations

from collections.abc import Mapping

import job_state
from bedrock import (
    CALL_ERRORS,
    FAILED_OR_NOT_STARTED,
    JOB_ARN,
    EvaluationJobs,
    error_code,
    error_message,
    is_not_ready,
    is_quota_exceeded,
    is_transient,
)
from events import Properties, ResourceEvent, Response
from job_state import ADOPTABLE, NOT_RUNNING, TERMINAL, JobError
from request import REQUEST_DIGEST_TAG, JobSpec, job_spec, removal_of
from runtime import (
    Budget,
    InvalidProperties,
    backoff,
    idempotency_token,
    module_logger,
)

from bedrock_evaluation.contract import (
    ATTR_JOB_ARN,
    ATTR_JOB_NAME,
    ATTR_OUTPUT_S3_URI,
    WAIT_LIMIT_SECONDS,
    Removal,
)

logger = module_logger("lifecycle")

# How long Create keeps retrying while a new role or policy propagates through IAM.
IAM_RETRY_WINDOW_SECONDS = 240.0
# After a Create whose outcome is unknown (the job may exist), the calls that find and settle it:
# a page of ListEvaluationJobs, GetEvaluationJob, ListTagsForResource, StopEvaluationJob. No attempt
# starts without time for them.
CLEANUP_CALLS = 4
# The quota that refuses a Create while the account runs as many jobs as it allows (Service Quotas,
# bedrock), by jobType: CloudFormation creates all of a stack's jobs at once.
CONCURRENT_JOB_QUOTAS = {
    "Automated": ("L-557C8C47", "concurrent automatic model evaluation jobs"),
    "Human": ("L-973C31D1", "concurrent human model evaluation jobs"),
}


def on_create(event: ResourceEvent, jobs: EvaluationJobs, budget: Budget) -> Response:
    spec = _spec(event, event.properties)
    return _answer(spec, _create(spec, event, jobs.within(budget.allows), budget))


def on_update(event: ResourceEvent, jobs: EvaluationJobs, budget: Budget) -> Response:
    jobs = jobs.within(budget.allows)
    new = _spec(event, event.properties)
    current = event.physical_id
    try:
        old: JobSpec | None = _spec(event, event.old_properties)
    except InvalidProperties:
        old = None
    if old is not None and old.identity == new.identity and JOB_ARN.fullmatch(current):
        if old.tags == new.tags:
            logger.info("request unchanged; keeping %s", current)
            return _answer(new, current)
        kept = _retag(current, old, new, jobs, budget)
        if kept is not None:
            return _answer(new, kept)
    if old is not None and old.name == new.name and not new.name_is_generated:
        # A fixed jobName. Rolling back a refused change sends the request the job already runs.
        if _in_our_region(current, event) and _runs(current, new, jobs, budget):
            logger.info("%s already runs this request; keeping it", current)
            return _answer(new, current)
        raise JobError(
            new.name,
            "the request changed but its jobName is fixed, and a job cannot be changed or share a name; "
            "leave jobName out (the construct then names each version) or give it a new value",
        )
    return _answer(new, _create(new, event, jobs, budget))


def _runs(job_arn: str, spec: JobSpec, jobs: EvaluationJobs, budget: Budget) -> bool:
    try:
        job = job_state.described(job_arn, jobs, budget)
        return job is not None and job_state.runs_request(job_arn, job, spec, jobs)
    except FAILED_OR_NOT_STARTED as error:
        raise JobError(spec.name, f"could not read {job_arn}: {error_message(error)}") from error


def _retag(job_arn: str, old: JobSpec, new: JobSpec, jobs: EvaluationJobs, budget: Budget) -> str | None:
    """Only jobTags changed: the running job keeps its name and physical id and gets the new tags
    (TagResource, UntagResource). None when the job at the physical id is not named by this
    version (its name's digest held the old tags) or is gone: a job is then found or made as for a
    changed request, once."""
    try:
        earlier = _earlier_job(new, jobs)
        if earlier is not None:
            return earlier  # a rollback to a job made under the older name, which has these tags
        job = job_state.described(job_arn, jobs, budget)
        if job is None or job.get("jobName") != new.name:
            return None
        removed = sorted(set(old.tags) - set(new.tags) - {REQUEST_DIGEST_TAG})
        changed = {k: v for k, v in new.tags.items() if old.tags.get(k) != v and k != REQUEST_DIGEST_TAG}
        if removed:
            jobs.untag(job_arn, removed)
        if changed:
            jobs.tag(job_arn, changed)
        logger.info("only the tags changed; retagged %s (removed %s, set %s)", job_arn, removed, sorted(changed))
    except FAILED_OR_NOT_STARTED as error:
        raise JobError(new.name, f"could not update the tags of {job_arn}: {error_message(error)}") from error
    return job_arn


# --- delete ----------------------------------------------------------------------------------------


def on_delete(event: ResourceEvent, jobs: EvaluationJobs, budget: Budget | None = None) -> Response:
    job_arn = event.physical_id
    answer: Response = {"PhysicalResourceId": job_arn}
    if not JOB_ARN.fullmatch(job_arn):
        # A failed Create's marker, or an id CloudFormation invented: no job was ever made.
        logger.info("physical id %r is not an evaluation job; nothing to delete", job_arn)
        return answer
    if not _in_our_region(job_arn, event):
        logger.warning("%s is not in this stack's account and region; leaving it alone", job_arn)
        return answer
    # Removal is read only now, and as strictly as Create and Update read it. That is safe:
    # Create and Update refuse an unknown value, so a resource that carries one never got a job
    # ARN, and its Delete (of the failed Create's marker) was answered just above.
    removal = removal_of(event.properties)
    if removal is Removal.RETAIN:
        logger.info("removal is retain; leaving %s", job_arn)
        return answer
    names = names_of(event)
    if names is None:
        logger.warning("the properties do not say which job this resource made; leaving %s alone", job_arn)
        return answer
    if budget is not None:
        jobs = jobs.within(budget.allows)
    budget = budget or job_state.unlimited()
    try:
        job = _own_job(job_arn, names, jobs, budget)
        if job is not None and job.get("status") not in NOT_RUNNING:
            job_state.stop(job_arn, jobs, budget, job.get("status"))
    except FAILED_OR_NOT_STARTED as error:
        # is_complete looks again (and stops the job) until it is no longer running.
        job_state.not_yet(error, f"stopping {job_arn}", lambda text: JobError(job_arn, f"could not stop: {text}"))
    return answer


def is_complete(event: ResourceEvent, jobs: EvaluationJobs, budget: Budget | None = None) -> bool:
    """Delete waits until the job is no longer running (stop), or stopped and deleted (delete)."""
    if event.request_type != "Delete":
        return True
    job_arn = event.physical_id
    if not JOB_ARN.fullmatch(job_arn) or not _in_our_region(job_arn, event):
        return True
    removal = removal_of(event.properties)  # after the id check, as in on_delete
    names = event.wait["names"] if event.wait is not None else names_of(event)
    if removal is Removal.RETAIN or names is None:
        return True
    if budget is not None:
        jobs = jobs.within(budget.allows)
    budget = budget or job_state.unlimited()
    try:
        job = _own_job(job_arn, names, jobs, budget)
        done = job is None or (
            _stopped(job, jobs, budget) if removal is Removal.STOP else _delete_when_stopped(job, jobs, budget)
        )
    except FAILED_OR_NOT_STARTED as error:
        # An exception here fails the resource at once, so a passing fault is "not yet".
        job_state.not_yet(error, f"deleting {job_arn}", lambda text: JobError(job_arn, f"could not delete: {text}"))
        done, job = False, None
    if not done and event.wait is not None and budget.clock.wall() > event.wait["deadline"]:
        status = job.get("status") if job is not None else "not known"
        raise JobError(
            job_arn,
            f"still {status} after {WAIT_LIMIT_SECONDS // 60} minutes of waiting; the handler answers now, "
            "before CloudFormation's one-hour limit",
        )
    return done


def _own_job(
    job_arn: str, names: list[str] | tuple[str, ...], jobs: EvaluationJobs, budget: Budget
) -> dict[str, object] | None:
    """The job's description if it exists and is this resource's (one of its names), else None."""
    job = job_state.described(job_arn, jobs, budget)
    if job is None:
        return None
    if job.get("jobName") not in names:
        logger.warning("%s is %r, not a job this resource made; leaving it alone", job_arn, job.get("jobName"))
        return None
    return job


def _stopped(job: Mapping[str, object], jobs: EvaluationJobs, budget: Budget) -> bool:
    status = job.get("status")
    if status in NOT_RUNNING:
        return True
    job_state.stop(str(job["jobArn"]), jobs, budget, status)  # running (on_event's Stop did not get through), or a status we do not know
    return False


def _delete_when_stopped(job: Mapping[str, object], jobs: EvaluationJobs, budget: Budget) -> bool:
    job_arn, status = str(job["jobArn"]), job.get("status")
    if status == "Deleting":
        return True
    if status not in TERMINAL:
        if status not in NOT_RUNNING:
            job_state.stop(job_arn, jobs, budget, status)  # running, or a status we do not know
        return False  # Stopping: look again later
    problems = [e for e in jobs.delete(job_arn) if not job_state.not_found(e.get("code", ""))]
    if problems:
        # A retried call finds the job already being deleted by the first one.
        again = jobs.get(job_arn)
        if again is None or again.get("status") == "Deleting":
            logger.info("deleted %s (the service reported %s)", job_arn, problems)
            return True
        details = "; ".join(f"{p.get('code')}: {p.get('message')}" for p in problems)
        raise JobError(str(job.get("jobName", job_arn)), f"BatchDeleteEvaluationJob refused: {details}")
    logger.info("deleted %s", job_arn)
    return True


# --- create ----------------------------------------------------------------------------------------


def _create(spec: JobSpec, event: ResourceEvent, jobs: EvaluationJobs, budget: Budget) -> str:
    earlier = _earlier_job(spec, jobs)
    if earlier is not None:
        return earlier
    token = idempotency_token(stack_id=event.stack_id, logical_id=event.logical_id, request_id=event.request_id)
    clock = budget.clock
    started = clock.monotonic()
    iam_budget = budget.within(IAM_RETRY_WINDOW_SECONDS)
    reserve = jobs.worst_call * (1 + CLEANUP_CALLS)  # this attempt, and settling it if its outcome is lost
    unknown: Exception | None = None  # a failure after which the job may exist
    last: Exception | None = None
    attempt, delay = 0, 0.0
    while True:
        if not budget.allows(delay + reserve):
            waited = clock.monotonic() - started
            why = "the handler's time ran out"
            if last is not None and is_quota_exceeded(last):
                why = _quota_full(spec, last, waited)
            elif last is not None:
                waiting = "refused after {:.0f}s waiting for IAM" if is_not_ready(last) else "failing after {:.0f}s"
                why = f"{error_message(last)} (still {waiting.format(waited)}; {why})"
            return _give_up(spec, jobs, unknown, why, budget)
        if delay:
            clock.sleep(delay)
        try:
            job_arn = jobs.create(spec.create_request(), token=token)
            logger.info("created %s as %s", spec.name, job_arn)
            return job_arn
        except CALL_ERRORS as error:
            if error_code(error) == "ConflictException":
                return _adopt(spec, jobs, error, budget)
            if not (is_transient(error) or is_not_ready(error) or is_quota_exceeded(error)):
                raise JobError(spec.name, error_message(error)) from error
            last, delay = error, backoff(attempt, clock)
            if is_quota_exceeded(error):
                # Nothing was made; a slot frees when one of the account's jobs ends.
                logger.info("%s refused for now (%s); trying again in %.1fs", spec.name, error_message(error), delay)
            elif is_transient(error):
                # The service may have made the job and its answer been lost: the same token
                # makes a retry safe, and a job of our name is settled before giving up.
                unknown = error
                logger.warning("transient error creating %s (%s); retrying in %.1fs", spec.name, error, delay)
            elif not iam_budget.allows(delay):
                waited = clock.monotonic() - started
                message = f"{error_message(error)} (still refused after {waited:.0f}s waiting for IAM)"
                return _give_up(spec, jobs, unknown, message, budget)
            else:
                logger.info("role or permissions not ready (%s); retrying in %.1fs", error_message(error), delay)
        attempt += 1


def _quota_full(spec: JobSpec, error: Exception, waited: float) -> str:
    config = spec.request.get("evaluationConfig")
    code, what = CONCURRENT_JOB_QUOTAS["Human" if isinstance(config, Mapping) and "human" in config else "Automated"]
    return (
        f"{error_message(error)} (the account's quota of {what}, Service Quotas bedrock {code}, was still full "
        f"after {waited:.0f}s of waiting for a free slot: raise the quota, or deploy fewer jobs at once)"
    )


def _give_up(spec: JobSpec, jobs: EvaluationJobs, unknown: Exception | None, why: str, budget: Budget) -> str:
    """Answer a Create that made no confirmed job. If an attempt's outcome was lost, a job of our
    name may run: adopt it if it is ours and runs, else stop it, so that nothing runs that
    CloudFormation does not know of (after a failed Create the rollback's Delete never reaches us)."""
    if unknown is None:
        raise JobError(spec.name, why)
    message = why if why.startswith(error_message(unknown)) else f"{error_message(unknown)} ({why})"
    try:
        job_arn = job_state.again_if_absent(lambda: _look_up(spec.name, jobs), jobs, budget)
        if job_arn is None:
            raise JobError(spec.name, message)
        job = job_state.described(job_arn, jobs, budget)
        if job is not None and job.get("status") in ADOPTABLE and job_state.runs_request(job_arn, job, spec, jobs):
            logger.info("adopting %s (%s), made by an attempt whose answer was lost", spec.name, job_arn)
            return job_arn
        if job is not None and job.get("status") not in NOT_RUNNING:
            job_state.stop(job_arn, jobs, budget)
            logger.info("stopped %s (%s): its creation could not be confirmed", spec.name, job_arn)
    except FAILED_OR_NOT_STARTED as error:
        raise JobError(spec.name, f"{message}; a job of this name may run: {error_message(error)}") from error
    raise JobError(spec.name, f"{message}; the job it made was stopped")


def _look_up(name: str, jobs: EvaluationJobs) -> str | None:
    """find_by_name, again after a passing fault, for as long as the handler's time allows (OutOfTime ends it)."""
    while True:
        try:
            return jobs.find_by_name(name)
        except CALL_ERRORS as error:
            if not is_transient(error):
                raise
            logger.warning("transient error looking up %s, looking again: %s", name, error)


def _earlier_job(spec: JobSpec, jobs: EvaluationJobs) -> str | None:
    """A job an earlier handler version made for this request, under its name for it (a rollback
    after an upgrade returns to it instead of starting a duplicate)."""
    for name in spec.earlier_names:
        job_arn = jobs.find_by_name(name)
        job = jobs.get(job_arn) if job_arn is not None else None
        if job_arn is not None and job is not None and job.get("status") in ADOPTABLE and job_state.runs_request(job_arn, job, spec, jobs):
            logger.info("adopting %s (%s), made by an earlier handler version", name, job_arn)
            return job_arn
    return None


def _adopt(spec: JobSpec, jobs: EvaluationJobs, conflict: Exception, budget: Budget) -> str:
    """A job of our name exists: an earlier attempt of this resource made it (or a rollback
    returns to it). Generated names carry the request digest, so such a job runs this request;
    a fixed name is adopted only if the job runs this request (role, models, datasets, output)."""
    job_arn = job_state.again_if_absent(lambda: jobs.find_by_name(spec.name), jobs, budget)
    if job_arn is None:
        raise JobError(spec.name, error_message(conflict))
    existing = job_state.described(job_arn, jobs, budget) or {}
    if not spec.name_is_generated and not job_state.runs_request(job_arn, existing, spec, jobs):
        raise JobError(
            spec.name,
            "a job with this fixed name already exists and runs a different request, so it was not made "
            "by this resource; give each job_name once per account and region",
        )
    if existing.get("status") not in ADOPTABLE:
        # The request was deployed before and its job was then stopped: adopting it would run nothing.
        raise JobError(
            spec.name,
            f"this request already ran as {job_arn}, which is now {existing.get('status')}; to run it again, "
            "change the job_name_prefix (or use removal=DELETE, which frees the name)",
        )
    logger.info("adopting existing job %s (%s)", spec.name, job_arn)
    return job_arn


# --- reading the event -------------------------------------------------------------------------------


def _spec(event: ResourceEvent, properties: Properties | None) -> JobSpec:
    if properties is None:
        raise InvalidProperties("the event has no resource properties")
    return job_spec(properties, stack_id=event.stack_id, logical_id=event.logical_id)


def names_of(event: ResourceEvent) -> tuple[str, ...] | None:
    """The names this resource's job may have, from its properties; None if they cannot be read."""
    try:
        return _spec(event, event.properties).names
    except InvalidProperties:
        return None


def _in_our_region(job_arn: str, event: ResourceEvent) -> bool:
    """Whether the ARN is an evaluation job of the stack's own account and region."""
    job, stack = JOB_ARN.fullmatch(job_arn), event.stack_id.split(":")
    return job is not None and len(stack) > 4 and (job["region"], job["account"]) == (stack[3], stack[4])


def _answer(spec: JobSpec, job_arn: str) -> Response:
    return {
        "PhysicalResourceId": job_arn,
        "Data": {ATTR_JOB_ARN: job_arn, ATTR_JOB_NAME: spec.name, ATTR_OUTPUT_S3_URI: spec.output_s3_uri},
    }
