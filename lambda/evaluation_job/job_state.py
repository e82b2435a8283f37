"""What the handler knows about an evaluation job's state, and how it reads and stops one:
the statuses, the look that believes "no such job" only once it repeats, and Stop.
Shared by Create, Update and Delete (`lifecycle`)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TypeVar

from bedrock import ClientError, EvaluationJobs, OutOfTime, error_message, is_not_found, is_transient
from request import REQUEST_DIGEST_TAG, JobSpec
from runtime import Budget, Clock, ResourceError, backoff, module_logger, transient_or_fail

logger = module_logger("lifecycle")

# Reads are eventually consistent: right after CreateEvaluationJob, Get, Stop and List may not find
# the job yet (Terraform's provider retries NotFound after create too). "No such job" is believed
# only after this many looks, a backoff apart (about 10 s), so a quick rollback never leaves it running.
NOT_FOUND_LOOKS = 4
STOPPABLE = "InProgress"
TERMINAL = frozenset({"Completed", "Failed", "Stopped"})
# What GetEvaluationJob's status may be (botocore's EvaluationJobStatus). Anything else is a status
# this handler does not know: it is never taken for finished.
KNOWN = TERMINAL | {"InProgress", "Stopping", "Deleting"}
# Removal stop is done once nothing runs any more, or soon will not.
NOT_RUNNING = TERMINAL | {"Stopping", "Deleting"}
# A job of our name that already runs, or ran to the end, stands for this request.
ADOPTABLE = frozenset({"InProgress", "Completed"})
Found = TypeVar("Found")
# The request fields GetEvaluationJob gives back, to tell which request a job was made from when
# it carries no REQUEST_DIGEST_TAG (made by an earlier handler version, or jobTags had no room).
COMPARED_FIELDS = ("roleArn", "evaluationConfig", "inferenceConfig", "outputDataConfig", "jobDescription")


class JobError(ResourceError):
    """A failure of one evaluation job (named by its name or ARN) for CloudFormation to report."""

    what = "evaluation job"


def runs_request(job_arn: str, job: Mapping[str, object], spec: JobSpec, jobs: EvaluationJobs) -> bool:
    """Whether the job runs this request: by the digest Create wrote into its tags; for a job
    without one (made before the handler wrote it), by the fields GetEvaluationJob gives back,
    which the service may have normalised."""
    digest = (jobs.tags(job_arn) or {}).get(REQUEST_DIGEST_TAG)
    if digest is not None:
        return digest == spec.request_digest
    return all(job.get(key) == spec.request.get(key) for key in COMPARED_FIELDS)


def not_found(code: str) -> bool:
    # The model documents the per-job code as "A HTTP status code"; names are seen too.
    return "NotFound" in code or code == "404"


def not_yet(error: Exception, doing: str, fail: Callable[[str], ResourceError]) -> None:
    """A call that failed or was not started while waiting: "not yet" if it may pass, else fail."""
    if isinstance(error, OutOfTime):
        logger.info("%s: %s; looking again on the next poll", doing, error)
        return
    transient_or_fail(error, logger, doing, fail)


def stop(job_arn: str, jobs: EvaluationJobs, budget: Budget, status: object = STOPPABLE) -> None:
    try:
        again_if_absent(lambda: stopping(job_arn, jobs), jobs, budget)
    except ClientError as error:
        if is_transient(error):
            raise  # the caller looks again later
        if status not in KNOWN:
            # A status we do not know (not stoppable yet?): the caller looks again later.
            logger.info("could not stop %s (%s) yet: %s", job_arn, status, error_message(error))
            return
        # The job may have finished between Get and Stop (or not yet be stoppable): not a failure.
        job = jobs.get(job_arn)
        if job is None or job.get("status") != STOPPABLE:
            return
        raise


def stopping(job_arn: str, jobs: EvaluationJobs) -> bool | None:
    """StopEvaluationJob: True once asked, None if the service finds no such job (yet)."""
    try:
        jobs.stop(job_arn)
    except ClientError as error:
        if is_not_found(error):
            return None
        raise
    logger.info("stopping %s", job_arn)
    return True


def described(job_arn: str, jobs: EvaluationJobs, budget: Budget) -> dict[str, object] | None:
    """GetEvaluationJob, believing "no such job" only once it repeats (NOT_FOUND_LOOKS)."""
    return again_if_absent(lambda: jobs.get(job_arn), jobs, budget)


def again_if_absent(look: Callable[[], Found | None], jobs: EvaluationJobs, budget: Budget) -> Found | None:
    """`look()`, again a backoff later while it finds nothing, NOT_FOUND_LOOKS times in all: a job
    made seconds ago may not be visible yet. Raises OutOfTime rather than conclude "gone" early."""
    for attempt in range(NOT_FOUND_LOOKS):
        found = look()
        if found is not None or attempt == NOT_FOUND_LOOKS - 1:
            return found
        delay = backoff(attempt, budget.clock)
        if not budget.allows(delay + jobs.worst_call):
            raise OutOfTime("no time left to look again for a job the service did not find yet")
        budget.clock.sleep(delay)
    return None


def unlimited() -> Budget:
    """For callers that give no budget (tests): real time, no deadline."""
    return Budget(deadline=float("inf"), clock=Clock())
