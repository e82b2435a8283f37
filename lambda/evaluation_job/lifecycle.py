"""What each CloudFormation request does to an evaluation job.

Jobs are immutable: Create makes one, Update makes a new one when the request changed
(CloudFormation then deletes the old resource), Delete stops, deletes or keeps it.
"""

from __future__ import annotations

from bedrock import (
    CALL_ERRORS,
    JOB_ARN,
    ClientError,
    EvaluationJobs,
    error_code,
    error_message,
    is_not_ready,
    is_transient,
)
from events import Properties, ResourceEvent, Response
from request import JobSpec, job_spec, removal_of
from runtime import (
    Budget,
    InvalidProperties,
    ResourceError,
    backoff,
    idempotency_token,
    module_logger,
    transient_or_fail,
)

from bedrock_evaluation.contract import ATTR_JOB_ARN, ATTR_JOB_NAME, ATTR_OUTPUT_S3_URI, Removal

logger = module_logger("lifecycle")

# How long Create keeps retrying while a new role or policy propagates through IAM.
IAM_RETRY_WINDOW_SECONDS = 240.0
STOPPABLE = "InProgress"
TERMINAL = frozenset({"Completed", "Failed", "Stopped"})
# A job of our name that already runs, or ran to the end, stands for this request.
ADOPTABLE = frozenset({"InProgress", "Completed"})


class JobError(ResourceError):
    """A failure of one evaluation job (named by its name or ARN) for CloudFormation to report."""

    what = "evaluation job"


def on_create(event: ResourceEvent, jobs: EvaluationJobs, budget: Budget) -> Response:
    spec = _spec(event, event.properties)
    return _answer(spec, _create(spec, event, jobs, budget))


def on_update(event: ResourceEvent, jobs: EvaluationJobs, budget: Budget) -> Response:
    new = _spec(event, event.properties)
    current = event.physical_id
    try:
        old: JobSpec | None = _spec(event, event.old_properties)
    except InvalidProperties:
        old = None
    if old is not None and old.request == new.request and JOB_ARN.fullmatch(current):
        logger.info("request unchanged; keeping %s", current)
        return _answer(new, current)
    if old is not None and old.name == new.name:
        # A fixed jobName. Rolling back a refused change sends the request the job already runs.
        if JOB_ARN.fullmatch(current) and _runs(current, new, jobs):
            logger.info("%s already runs this request; keeping it", current)
            return _answer(new, current)
        raise JobError(
            new.name,
            "the request changed but its jobName is fixed, and a job cannot be changed or share a name; "
            "leave jobName out (the construct then names each version) or give it a new value",
        )
    return _answer(new, _create(new, event, jobs, budget))


# The request fields GetEvaluationJob gives back, to tell which request a job was made from.
_COMPARED_FIELDS = ("roleArn", "evaluationConfig", "inferenceConfig", "outputDataConfig", "jobDescription")


def _runs(job_arn: str, spec: JobSpec, jobs: EvaluationJobs) -> bool:
    try:
        job = jobs.get(job_arn)
    except ClientError as error:
        raise JobError(spec.name, f"could not read {job_arn}: {error_message(error)}") from error
    if job is None:
        return False
    return all(job.get(key) == spec.request.get(key) for key in _COMPARED_FIELDS)


def on_delete(event: ResourceEvent, jobs: EvaluationJobs) -> Response:
    job_arn = event.physical_id
    answer: Response = {"PhysicalResourceId": job_arn}
    if not JOB_ARN.fullmatch(job_arn):
        # A failed Create's marker, or an id CloudFormation invented: no job was ever made.
        logger.info("physical id %r is not an evaluation job; nothing to delete", job_arn)
        return answer
    # Removal is read only now, and as strictly as Create and Update read it. That is safe:
    # Create and Update refuse an unknown value, so a resource that carries one never got a job
    # ARN, and its Delete (of the failed Create's marker) was answered just above.
    if removal_of(event.properties) is Removal.RETAIN:
        logger.info("removal is retain; leaving %s", job_arn)
        return answer
    try:
        job = jobs.get(job_arn)
        if job is not None and job.get("status") == STOPPABLE:
            _stop(job_arn, jobs)
    except CALL_ERRORS as error:
        # is_complete looks again (and stops the job) until it is no longer running.
        transient_or_fail(
            error, logger, f"stopping {job_arn}", lambda text: JobError(job_arn, f"could not stop: {text}")
        )
    return answer


def is_complete(event: ResourceEvent, jobs: EvaluationJobs) -> bool:
    """Delete waits until the job is no longer running (stop), or stopped and deleted (delete)."""
    if event.request_type != "Delete":
        return True
    job_arn = event.physical_id
    if not JOB_ARN.fullmatch(job_arn):
        return True
    removal = removal_of(event.properties)  # after the id check, as in on_delete
    if removal is Removal.RETAIN:
        return True
    try:
        if removal is Removal.STOP:
            return _stopped(job_arn, jobs)
        return _delete_when_stopped(job_arn, jobs)
    except CALL_ERRORS as error:
        # An exception here fails the resource at once, so a passing fault is "not yet".
        transient_or_fail(
            error, logger, f"deleting {job_arn}", lambda text: JobError(job_arn, f"could not delete: {text}")
        )
        return False


def _stopped(job_arn: str, jobs: EvaluationJobs) -> bool:
    job = jobs.get(job_arn)
    if job is not None and job.get("status") == STOPPABLE:
        _stop(job_arn, jobs)  # on_delete's Stop did not get through
        return False
    return True


def _delete_when_stopped(job_arn: str, jobs: EvaluationJobs) -> bool:
    job = jobs.get(job_arn)
    if job is None:
        return True
    status = job.get("status")
    if status == STOPPABLE:
        _stop(job_arn, jobs)
        return False
    if status not in TERMINAL:
        return status == "Deleting"  # Stopping: look again later
    problems = [e for e in jobs.delete(job_arn) if not _not_found(e.get("code", ""))]
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


def _not_found(code: str) -> bool:
    # The model documents the per-job code as "A HTTP status code"; names are seen too.
    return "NotFound" in code or code == "404"


def _create(spec: JobSpec, event: ResourceEvent, jobs: EvaluationJobs, budget: Budget) -> str:
    token = idempotency_token(stack_id=event.stack_id, logical_id=event.logical_id, request_id=event.request_id)
    clock = budget.clock
    started = clock.monotonic()
    iam_budget = budget.within(IAM_RETRY_WINDOW_SECONDS)
    attempt = 0
    while True:
        try:
            job_arn = jobs.create(spec.request, token=token)
            logger.info("created %s as %s", spec.name, job_arn)
            return job_arn
        except CALL_ERRORS as error:
            if error_code(error) == "ConflictException":
                return _adopt(spec, jobs, error)
            if not (is_transient(error) or is_not_ready(error)):
                raise JobError(spec.name, error_message(error)) from error
            delay = backoff(attempt, clock)
            if is_transient(error):
                # The service may have made the job and its answer been lost: the same token
                # makes a retry safe, and a job of our name is looked up before giving up.
                if not budget.allows(delay):
                    return _found_after_failure(spec, jobs, error)
                logger.warning("transient error creating %s (%s); retrying in %.1fs", spec.name, error, delay)
            else:
                if not iam_budget.allows(delay):
                    waited = clock.monotonic() - started
                    raise JobError(
                        spec.name, f"{error_message(error)} (still refused after {waited:.0f}s waiting for IAM)"
                    ) from error
                logger.info("role or permissions not ready (%s); retrying in %.1fs", error_message(error), delay)
        clock.sleep(delay)
        attempt += 1


def _found_after_failure(spec: JobSpec, jobs: EvaluationJobs, error: Exception) -> str:
    try:
        job_arn = jobs.find_by_name(spec.name)
    except CALL_ERRORS:
        job_arn = None
    if job_arn is None:
        message = f"{error_message(error)} (the service kept failing until the handler's time ran out)"
        raise JobError(spec.name, message) from error
    return _adopt(spec, jobs, error)


def _adopt(spec: JobSpec, jobs: EvaluationJobs, conflict: Exception) -> str:
    """A job of our name exists: an earlier attempt of this resource made it (or a rollback
    returns to it). Generated names carry the request digest, so such a job is ours; a fixed
    name is adopted only if the job runs as our role."""
    job_arn = jobs.find_by_name(spec.name)
    if job_arn is None:
        raise JobError(spec.name, error_message(conflict))
    existing = jobs.get(job_arn) or {}
    if not spec.name_is_generated and existing.get("roleArn") != spec.request.get("roleArn"):
        raise JobError(spec.name, "a job with this fixed name already exists and was not made by this resource")
    if existing.get("status") not in ADOPTABLE:
        # The request was deployed before and its job was then stopped: adopting it would run nothing.
        raise JobError(
            spec.name,
            f"this request already ran as {job_arn}, which is now {existing.get('status')}; to run it again, "
            "change the job_name_prefix (or use removal=DELETE, which frees the name)",
        )
    logger.info("adopting existing job %s (%s)", spec.name, job_arn)
    return job_arn


def _stop(job_arn: str, jobs: EvaluationJobs) -> None:
    try:
        jobs.stop(job_arn)
        logger.info("stopping %s", job_arn)
    except ClientError as error:
        if error_code(error) == "ResourceNotFoundException":
            return
        if is_transient(error):
            raise  # the caller looks again later
        # The job may have finished between Get and Stop: that is not a failure.
        job = jobs.get(job_arn)
        if job is None or job.get("status") != STOPPABLE:
            return
        raise


def _spec(event: ResourceEvent, properties: Properties | None) -> JobSpec:
    if properties is None:
        raise InvalidProperties("the event has no resource properties")
    return job_spec(properties, stack_id=event.stack_id, logical_id=event.logical_id)


def _answer(spec: JobSpec, job_arn: str) -> Response:
    return {
        "PhysicalResourceId": job_arn,
        "Data": {ATTR_JOB_ARN: job_arn, ATTR_JOB_NAME: spec.name, ATTR_OUTPUT_S3_URI: spec.output_s3_uri},
    }
