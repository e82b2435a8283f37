"""Whole custom-resource lifecycles against the Bedrock emulator: one function per scenario.

Each scenario plays what CloudFormation sends (through `lifecycle_driver.CloudFormation`) to the
unmodified handler, whose real boto3 client talks to `emulator.BedrockEmulator` over HTTP, and
asserts on the jobs the emulator holds afterwards, not only on the answers. Each one ends with
its stack deleted. The tests (tests/test_lifecycle_emulated.py) and the reliability report
(scripts/reliability_report.py) run these same functions.

Every scenario also holds under background chaos (the first and every third request after it meet
a throttle, a 500, a 503 or a dropped connection that botocore retries), which is how the report
runs them.
"""

from __future__ import annotations

import copy
import hashlib
import json
import traceback
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from unittest import mock

import bedrock
import boto3
import index
import lifecycle
import request as handler_request
from botocore.config import Config
from emulator import GONE, BedrockEmulator, Job, canonical, fast_retries, total_attempts
from handler_support import LOGICAL_ID, OUTPUT_S3_URI, model_request, rag_request, valid_properties
from lifecycle_driver import CloudFormation, Exchange, RealClock, VirtualClock

from bedrock_evaluation.contract import CREATE_FAILED_MARKER

BOTOCORE_ATTEMPTS = total_attempts(bedrock.CLIENT_CONFIG)
"""Attempts in one botocore call of the handler's client: the first and CLIENT_CONFIG's 6 retries."""
IN_PROGRESS, COMPLETED, STOPPING, STOPPED, DELETING = "InProgress", "Completed", "Stopping", "Stopped", "Deleting"


@dataclass
class World:
    """One stack's worth of everything: the emulated service, CloudFormation, the clock."""

    emulator: BedrockEmulator
    cfn: CloudFormation
    clock: VirtualClock | RealClock
    botocore_delays: list[float]
    """Every wait botocore's standard retry mode asked for (taken out of real time)."""
    retained: set[str] = field(default_factory=set)
    """Jobs the stack keeps on purpose (removal retain): running is what they should be doing."""

    def made(self) -> list[Job]:
        """The jobs the handler made (not those seeded as someone else's), including deleted ones."""
        return [job for job in self.emulator.created if not job.seeded]

    def only_job(self) -> Job:
        made = self.made()
        assert len(made) == 1, f"expected exactly one job, the emulator made {[j.name for j in made]}"
        return made[0]

    def duplicates(self) -> int:
        """Jobs beyond the first that evaluate the same request (same everything but the name)."""
        return sum(n - 1 for n in Counter(canonical(job.request) for job in self.made()).values())

    def left_running(self) -> list[Job]:
        return [
            job
            for job in self.made()
            if self.emulator.status(job.arn) == IN_PROGRESS and job.arn not in self.retained
        ]

    def last(self) -> Exchange:
        return self.cfn.exchanges[-1]


@contextmanager
def world(
    *,
    chaos: bool = False,
    real_clock: bool = False,
    read_timeout: float | None = None,
    on_event_timeout: float | None = None,
    service: Mapping[str, Any] | None = None,
) -> Iterator[World]:
    """A running emulator, a handler whose `index.jobs()` talks to it, and CloudFormation.

    With the virtual clock (the default) the handler's own clock, botocore's retry backoff and the
    emulator's slow answers all spend virtual seconds; `real_clock` keeps every wait real (botocore's
    backoff excepted). `read_timeout` shortens the client's, for slow-answer scenarios. `service`
    configures the emulated service (`EvaluationService`'s options: a quota, running times, ...).
    """
    clock: VirtualClock | RealClock = RealClock() if real_clock else VirtualClock()
    with ExitStack() as stack:
        now = clock.now if isinstance(clock, VirtualClock) else (lambda: datetime.now(UTC))
        emulator = stack.enter_context(BedrockEmulator(sleep=clock.wait, now=now, **(service or {})))
        if chaos:
            emulator.chaos(every=3)
        delays = stack.enter_context(
            fast_retries(on_delay=None if real_clock else clock.wait, jitter=None if real_clock else 0.5)
        )
        config = bedrock.CLIENT_CONFIG
        if read_timeout is not None:
            config = config.merge(Config(read_timeout=read_timeout))
        client = boto3.client(
            "bedrock",
            region_name="us-east-1",
            endpoint_url=emulator.url,
            config=config,
            aws_access_key_id="x",
            aws_secret_access_key="x",
        )
        jobs = bedrock.EvaluationJobs(client)
        stack.enter_context(mock.patch.object(index, "jobs", lambda: jobs))
        stack.enter_context(mock.patch.object(index, "clock", clock.handler_clock))
        cfn = CloudFormation(clock)
        if on_event_timeout is not None:
            cfn.on_event_timeout = on_event_timeout
        yield World(emulator=emulator, cfn=cfn, clock=clock, botocore_delays=delays)


# --- the scenarios -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Scenario:
    name: str
    """What the scenario shows, as a sentence."""
    run: Callable[[World], None]
    options: dict[str, Any] = field(default_factory=dict)
    """How its world is made (see `world`)."""

    @property
    def id(self) -> str:
        return self.run.__name__


SCENARIOS: list[Scenario] = []


def scenario(name: str, **options: Any) -> Callable[[Callable[[World], None]], Callable[[World], None]]:
    def register(run: Callable[[World], None]) -> Callable[[World], None]:
        SCENARIOS.append(Scenario(name, run, options))
        return run

    return register


def props(removal: str = "stop", request: dict[str, Any] | None = None) -> dict[str, Any]:
    """An EvaluationJob's resource properties, as CloudFormation delivers them."""
    return valid_properties(request=request, Removal=removal)


def changed_request() -> dict[str, Any]:
    """The same job with one more metric: a new request, so a new job."""
    request = model_request()
    request["evaluationConfig"]["automated"]["datasetMetricConfigs"][0]["metricNames"].append("Builtin.Robustness")
    return request


@scenario("create makes one running job; deleting the stack stops it")
def create(w: World) -> None:
    # when
    answer = w.cfn.create(props())

    # then the physical id and attributes name the one job the service now runs
    job = w.only_job()
    assert answer.ok, answer.reason
    assert answer.physical_id == job.arn
    assert answer.data == {"JobArn": job.arn, "JobName": job.name, "OutputS3Uri": f"{OUTPUT_S3_URI}{job.name}/"}
    # the properties, typed back, and the digest tag the handler adds
    digest = [{"key": handler_request.REQUEST_DIGEST_TAG, "value": handler_request.job_spec(props(), stack_id=w.cfn.stack_id, logical_id=LOGICAL_ID).request_digest}]
    assert job.request == {**model_request(), "jobName": job.name, "jobTags": digest}
    assert w.emulator.status(job.arn) == IN_PROGRESS

    # when the stack is deleted
    assert w.cfn.delete(props(), physical_id=job.arn).ok
    # then
    assert w.emulator.status(job.arn) == STOPPING


@scenario("update with a changed request makes a new job; the old one is stopped")
def update_with_replacement(w: World) -> None:
    # given
    first = w.cfn.create(props()).physical_id

    # when the request changes
    answer = w.cfn.update(props(request=changed_request()), old_properties=props(), physical_id=first)

    # then a second job runs the new request under a new name, and the resource points at it
    assert answer.ok, answer.reason
    old, new = w.made()
    assert (old.arn, new.arn) == (first, answer.physical_id)
    assert new.name != old.name
    assert w.emulator.status(new.arn) == w.emulator.status(old.arn) == IN_PROGRESS

    # when CloudFormation cleans up the replaced resource
    assert w.cfn.delete(props(), physical_id=first).ok
    # then only the new job runs
    assert (w.emulator.status(old.arn), w.emulator.status(new.arn)) == (STOPPING, IN_PROGRESS)

    assert w.cfn.delete(props(request=changed_request()), physical_id=new.arn).ok


@scenario("update of the removal alone keeps the job and makes no call")
def update_of_removal_only(w: World) -> None:
    # given
    job_arn = w.cfn.create(props()).physical_id
    creates = w.emulator.calls("CreateEvaluationJob")

    # when
    answer = w.cfn.update(props(removal="delete"), old_properties=props(), physical_id=job_arn)

    # then
    assert answer.ok and answer.physical_id == job_arn
    assert w.emulator.calls("CreateEvaluationJob") == creates
    assert len(w.made()) == 1

    # and the new removal applies: deleting now deletes the job
    assert w.cfn.delete(props(removal="delete"), physical_id=job_arn).ok
    assert w.emulator.status(job_arn) == DELETING


@scenario("update rolled back after another resource failed: the old job runs, the new one is stopped")
def update_rolled_back(w: World) -> None:
    # given a stack with job A, updated to B (which made job B) ...
    a, b = props(), props(request=changed_request())
    job_a = w.cfn.create(a).physical_id
    job_b = w.cfn.update(b, old_properties=a, physical_id=job_a).physical_id
    assert job_b != job_a

    # when another resource of the same update fails: CloudFormation rolls this one back to A ...
    rollback = w.cfn.update(a, old_properties=b, physical_id=job_b)
    # ... and then deletes what the update made, with B's properties
    cleanup = w.cfn.delete(b, physical_id=job_b)

    # then the resource points at job A again, which runs; job B was stopped; nothing new was made
    assert rollback.ok and rollback.physical_id == job_a, rollback.reason
    assert cleanup.ok
    assert [job.arn for job in w.made()] == [job_a, job_b]
    assert (w.emulator.status(job_a), w.emulator.status(job_b)) == (IN_PROGRESS, STOPPING)
    w.emulator.settle()
    assert w.emulator.status(job_b) == STOPPED

    assert w.cfn.delete(a, physical_id=job_a).ok


@scenario("update refused by the service rolls back to the old job, which never stopped")
def update_refused_then_rolled_back(w: World) -> None:
    # given
    a, b = props(), props(request=changed_request())
    job_a = w.cfn.create(a).physical_id
    w.emulator.fail("CreateEvaluationJob", "ValidationException", "The model is not supported in this Region.")

    # when the update fails, CloudFormation sends A's properties back to the same physical id
    update = w.cfn.update(b, old_properties=a, physical_id=job_a)
    rollback = w.cfn.update(a, old_properties=b, physical_id=job_a)

    # then
    assert update.status == "FAILED" and "The model is not supported in this Region." in (update.reason or "")
    assert update.physical_id == job_a
    assert rollback.ok and rollback.physical_id == job_a
    assert [job.arn for job in w.made()] == [job_a]
    assert w.emulator.status(job_a) == IN_PROGRESS

    assert w.cfn.delete(a, physical_id=job_a).ok


@scenario("failed create makes no job; the framework's marker Delete is harmless, even sent to the handler")
def delete_after_failed_create(w: World) -> None:
    # given a request the service refuses (a user ARN where a role ARN belongs)
    request = model_request() | {"roleArn": "arn:aws:iam::123456789012:user/eval"}

    # when
    create_answer = w.cfn.create(props(request=request))

    # then it fails with the service's words, under the framework's marker
    assert create_answer.status == "FAILED"
    assert "does not match the pattern" in (create_answer.reason or "")
    assert create_answer.physical_id == CREATE_FAILED_MARKER
    assert w.made() == []

    # when CloudFormation rolls back: the framework answers without calling the handler
    calls = sum(w.emulator.service.calls.values())
    skipped = w.cfn.delete(props(request=request), physical_id=CREATE_FAILED_MARKER)
    assert skipped.ok and w.last().invocations == []

    # and the same Delete, given to the handler itself, succeeds without a call to Bedrock
    handled = w.cfn.delete(props(request=request), physical_id=CREATE_FAILED_MARKER, framework_skips_failed_create=False)
    assert handled.ok and [i.entry for i in w.last().invocations] == ["on_event", "is_complete"]
    assert sum(w.emulator.service.calls.values()) == calls
    assert w.made() == []


@scenario("delete under an id CloudFormation invented touches no job, not even another stack's")
def delete_with_invented_id(w: World) -> None:
    # given someone else's job in the account
    other = w.emulator.seed_job(model_request() | {"jobName": "other-stack-job-0123456789"})

    # when creating this stack was cancelled before its Create was answered, and CloudFormation
    # deletes the resource under an id of its own
    answer = w.cfn.delete(props(), physical_id="Eval-BoolQAccuracy-1A2B3C4D5E6F")

    # then
    assert answer.ok and answer.physical_id == "Eval-BoolQAccuracy-1A2B3C4D5E6F"
    assert sum(w.emulator.service.calls.values()) == 0
    assert w.emulator.status(other.arn) == IN_PROGRESS
    assert w.made() == []


@scenario("a Create delivered twice (same RequestId) makes one job")
def create_delivered_twice(w: World) -> None:
    # given
    request_id = w.cfn.new_request_id()

    # when CloudFormation delivers the same request again
    first = w.cfn.create(props(), request_id=request_id)
    again = w.cfn.create(props(), request_id=request_id)

    # then both answers name the one job; the service recognised the token the second time
    assert first.ok and again.ok
    assert first.physical_id == again.physical_id == w.only_job().arn
    assert w.emulator.service.token_replays == 1

    assert w.cfn.delete(props(), physical_id=first.physical_id).ok


@scenario("a Create whose answer was lost after the job was made is retried into the same job")
def create_answer_lost(w: World) -> None:
    # given the service makes the job, then the connection drops before its answer
    w.emulator.drop_connection("CreateEvaluationJob", after_processing=True)

    # when
    answer = w.cfn.create(props())

    # then botocore retried with the same token, and the service gave back the same job
    assert answer.ok, answer.reason
    assert w.emulator.calls("CreateEvaluationJob") == 2
    assert answer.physical_id == w.only_job().arn
    assert w.emulator.service.token_replays == 1

    assert w.cfn.delete(props(), physical_id=answer.physical_id).ok


@scenario("create through throttling and server errors: botocore retries, one job")
def create_while_throttled(w: World) -> None:
    # given
    w.emulator.throttle("CreateEvaluationJob", times=2)
    w.emulator.server_error("CreateEvaluationJob", status=500)
    w.emulator.server_error("CreateEvaluationJob", status=503)

    # when
    answer = w.cfn.create(props())

    # then the service saw one request get through: botocore's three backoffs absorbed three
    # faults, the handler's own retry (same token) the fourth
    assert answer.ok, answer.reason
    assert w.emulator.calls("CreateEvaluationJob") == 1
    assert answer.physical_id == w.only_job().arn
    assert len(w.botocore_delays) >= 3

    assert w.cfn.delete(props(), physical_id=answer.physical_id).ok


@scenario("create while IAM propagates: refused three times, then one job")
def create_while_iam_propagates(w: World) -> None:
    # given a new role not yet assumable, then not yet passable
    w.emulator.refuse_role(times=2)
    w.emulator.refuse_role(times=1, pass_role=True)

    # when
    answer = w.cfn.create(props())

    # then the handler waited with a doubling backoff (botocore does not retry these) and made one job
    assert answer.ok, answer.reason
    assert isinstance(w.clock, VirtualClock) and w.clock.handler_sleeps == [1.5, 3.0, 6.0]
    assert answer.physical_id == w.only_job().arn

    assert w.cfn.delete(props(), physical_id=answer.physical_id).ok


@scenario("removal stop: deleting stops the job and keeps its record")
def removal_stop(w: World) -> None:
    job_arn = w.cfn.create(props(removal="stop")).physical_id

    answer = w.cfn.delete(props(removal="stop"), physical_id=job_arn)

    assert answer.ok
    assert [i.entry for i in w.last().invocations] == ["on_event", "is_complete"]  # no waiting
    w.emulator.settle()
    assert w.emulator.history(job_arn) == [IN_PROGRESS, STOPPING, STOPPED]
    assert w.emulator.calls("BatchDeleteEvaluationJob") == 0


@scenario("removal delete: deleting stops the job, waits until it has stopped, then deletes it")
def removal_delete(w: World) -> None:
    job_arn = w.cfn.create(props(removal="delete")).physical_id

    answer = w.cfn.delete(props(removal="delete"), physical_id=job_arn)

    # then the framework polled until the job had stopped (one query interval), and it was deleted
    assert answer.ok, answer.reason
    assert [i.entry for i in w.last().invocations] == ["on_event", "is_complete", "is_complete"]
    assert w.emulator.history(job_arn) == [IN_PROGRESS, STOPPING, STOPPED, DELETING]
    w.emulator.settle()
    assert w.emulator.status(job_arn) == GONE


@scenario("removal retain: deleting leaves the job running, untouched")
def removal_retain(w: World) -> None:
    job_arn = w.cfn.create(props(removal="retain")).physical_id
    w.retained.add(job_arn)

    answer = w.cfn.delete(props(removal="retain"), physical_id=job_arn)

    assert answer.ok
    assert w.emulator.status(job_arn) == IN_PROGRESS
    assert w.emulator.calls("GetEvaluationJob") == w.emulator.calls("StopEvaluationJob") == 0


@scenario("a job already Completed at delete is deleted without a stop")
def completed_job_at_delete(w: World) -> None:
    # given the evaluation finished before the stack was deleted
    job_arn = w.cfn.create(props(removal="delete")).physical_id
    w.emulator.finish(job_arn)

    answer = w.cfn.delete(props(removal="delete"), physical_id=job_arn)

    assert answer.ok, answer.reason
    assert w.emulator.calls("StopEvaluationJob") == 0
    assert w.emulator.history(job_arn) == [IN_PROGRESS, COMPLETED, DELETING]


@scenario("a job already Stopped at delete is left as it is")
def stopped_job_at_delete(w: World) -> None:
    # given someone stopped the job in the console
    job_arn = w.cfn.create(props(removal="stop")).physical_id
    w.emulator.stop_outside(job_arn)

    answer = w.cfn.delete(props(removal="stop"), physical_id=job_arn)

    assert answer.ok, answer.reason
    assert w.emulator.calls("StopEvaluationJob") == 0
    assert w.emulator.status(job_arn) == STOPPED


@scenario("delete while BatchDelete is throttled past botocore's retries: waits a poll, then deletes")
def delete_while_throttled(w: World) -> None:
    # given deletion will be throttled through every attempt of one botocore call
    job_arn = w.cfn.create(props(removal="delete")).physical_id
    w.emulator.throttle("BatchDeleteEvaluationJob", times=BOTOCORE_ATTEMPTS)

    answer = w.cfn.delete(props(removal="delete"), physical_id=job_arn)

    # then is_complete took the throttling for "not yet" and deleted the job at the next poll
    assert answer.ok, answer.reason
    assert [i.entry for i in w.last().invocations] == ["on_event"] + ["is_complete"] * 3
    assert w.emulator.calls("BatchDeleteEvaluationJob") == 1
    assert w.emulator.status(job_arn) == DELETING


@scenario(
    "IAM never ready and 30 s of budget left: on_event answers FAILED before its deadline",
    on_event_timeout=index.SAFETY_MARGIN_SECONDS + bedrock.WORST_CALL_SECONDS * (1 + lifecycle.CLEANUP_CALLS) + 30.0,
)
def time_budget(w: World) -> None:
    # given the role never becomes assumable, and the on_event Lambda has its margin, the time one
    # attempt and the settling of its outcome may take, and 30 s
    w.emulator.refuse_role(times=100)

    # when
    answer = w.cfn.create(props())

    # then the handler gave up inside its 30 s budget (before the margin it keeps), with IAM's words
    exchange = w.last()
    assert answer.status == "FAILED" and answer.physical_id == CREATE_FAILED_MARKER
    assert "unable to assume role" in (answer.reason or "")
    assert "waiting for IAM" in (answer.reason or "")
    assert not any(i.timed_out for i in exchange.invocations)
    assert exchange.seconds < 30.0 + 5.0  # virtual seconds
    assert w.made() == []

    assert w.cfn.delete(props(), physical_id=answer.physical_id).ok


@scenario(
    "slow answers (real clock): client timeouts, retries, one job, answered within seconds",
    real_clock=True,
    read_timeout=0.5,
    on_event_timeout=270.0,  # room for an attempt and the calls that settle it (CLEANUP_CALLS)
)
def slow_service(w: World) -> None:
    # given the service makes the job but answers the first two attempts only after 2 s, and
    # the client waits 0.5 s for an answer
    w.emulator.delay("CreateEvaluationJob", seconds=2.0, times=2)

    # when
    answer = w.cfn.create(props())

    # then botocore's read timeout cut both waits short, and its retries found the same job
    assert answer.ok, answer.reason
    assert w.last().seconds < 5.0  # real seconds
    assert w.emulator.calls("CreateEvaluationJob") == 3
    assert answer.physical_id == w.only_job().arn

    assert w.cfn.delete(props(), physical_id=answer.physical_id).ok


# --- faults and inputs found by driving the framework's own code --------------------------------------------


def large_request(variant: str) -> dict[str, Any]:
    """A retrieve-and-generate request of about 135 KB (a 95,000-character prompt template, eight
    custom metrics of 5,000 characters): each fits the service, two do not fit one Update event."""
    request = rag_request()
    automated = request["evaluationConfig"]["automated"]
    metric = automated["customMetricConfig"]["customMetrics"][0]["customMetricDefinition"]
    metrics = []
    for number in range(8):
        name = f"Grounded{number}"
        text = f"Is {{{{prediction}}}} supported by {{{{context}}}}? ({variant})" + " Be strict." * 480
        metrics.append({"customMetricDefinition": {**metric, "name": name, "instructions": text[:5000]}})
    automated["customMetricConfig"]["customMetrics"] = metrics
    automated["datasetMetricConfigs"][0]["metricNames"] = ["Builtin.Correctness", *(f"Grounded{i}" for i in range(8))]
    kb = request["inferenceConfig"]["ragConfigs"][0]["knowledgeBaseConfig"]["retrieveAndGenerateConfig"]
    template = f"Answer from $search_results$ only ({variant}). " + "Cite each passage you use. " * 3500
    kb["knowledgeBaseConfiguration"]["generationConfiguration"]["promptTemplate"] = {"textPromptTemplate": template[:95_000]}
    return request


@scenario("an update whose event holds two ~135 KB requests: the waiter starts, the new job is tracked")
def update_larger_than_the_waiter_input(w: World) -> None:
    # given a stack with job A, updated to B; the Update event holds both (over 256 KiB)
    a, b = props(request=large_request("a")), props(request=large_request("b"))
    job_a = w.cfn.create(a).physical_id
    assert len(json.dumps(w.cfn.exchanges[-1].event)) < 262_144 < len(json.dumps({"a": a, "b": b}))

    # when
    update = w.cfn.update(b, old_properties=a, physical_id=job_a)

    # then the framework could start its waiter (the answer holds no request), and CloudFormation
    # knows job B, which it deletes in the cleanup of the replaced A and the stack's deletion
    assert update.ok, update.reason
    job_b = update.physical_id
    assert [job.arn for job in w.made()] == [job_a, job_b]
    assert w.cfn.delete(a, physical_id=job_a).ok
    assert w.cfn.delete(b, physical_id=job_b).ok
    assert w.emulator.status(job_b) == STOPPING


@scenario("a create whose job was made but never confirmed: no call after the deadline, and no job left running")
def create_unconfirmed_at_the_deadline(w: World) -> None:
    # given every CreateEvaluationJob is carried out, but its answer never arrives (the client
    # gives up after its read timeout), and the first lookup of the job's name times out too
    w.emulator.time_out("CreateEvaluationJob", seconds=15.0, times=200)
    w.emulator.time_out("ListEvaluationJobs", seconds=15.0, times=BOTOCORE_ATTEMPTS)

    # when CloudFormation creates, and the failed Create's marker is deleted
    answer = w.cfn.create(props())
    w.cfn.delete(props(), physical_id=answer.physical_id)

    # then the handler answered inside its Lambda's time, and the job it made runs only if CloudFormation knows it
    job = w.only_job()
    assert not any(i.timed_out for i in w.cfn.invocations())
    assert answer.physical_id == job.arn or w.emulator.status(job.arn) != IN_PROGRESS, answer.reason


@scenario("two resources with one fixed job name and different models: the second adopts nothing and deletes nothing")
def fixed_name_taken_by_another_resource(w: World) -> None:
    # given resource A runs the fixed name "nightly-qa" on Nova Lite, and B asks for it on Nova Micro
    request_a = model_request() | {"jobName": "nightly-qa"}
    request_b = copy.deepcopy(request_a)
    request_b["inferenceConfig"]["models"][0]["bedrockModel"]["modelIdentifier"] = "amazon.nova-micro-v1:0"
    job_a = w.cfn.create(props(request=request_a), logical_id="A").physical_id

    # when B is created, and (its Create having failed) deleted with removal delete
    created = w.cfn.create(props(removal="delete", request=request_b), logical_id="B")
    w.cfn.delete(props(removal="delete", request=request_b), physical_id=created.physical_id, logical_id="B")

    # then B failed saying why, and A's job runs on
    assert created.status == "FAILED" and "runs a different request" in (created.reason or "")
    assert w.emulator.status(job_a) == IN_PROGRESS
    assert w.cfn.delete(props(request=request_a), physical_id=job_a, logical_id="A").ok


def _digest_v0(stack_id: str, logical_id: str, request: Any) -> str:
    """A digest an earlier handler version might have used."""
    return hashlib.md5(json.dumps([stack_id, logical_id, request], sort_keys=True).encode()).hexdigest()[:10]


@scenario("a rollback after a handler upgrade that names jobs differently returns to the old job")
def rollback_across_a_handler_upgrade(w: World) -> None:
    # given job A was made by a version that derived names with another digest
    a, b = props(), props(request=changed_request())
    with mock.patch.object(handler_request, "NAME_DIGESTS", (_digest_v0,)):
        job_a = w.cfn.create(a).physical_id

    # when this version (which keeps the earlier digest) updates to B and the update is rolled back
    with mock.patch.object(handler_request, "NAME_DIGESTS", (*handler_request.NAME_DIGESTS, _digest_v0)):
        job_b = w.cfn.update(b, old_properties=a, physical_id=job_a).physical_id
        rollback = w.cfn.update(a, old_properties=b, physical_id=job_b)
        cleanup = w.cfn.delete(b, physical_id=job_b)

        # then the resource points at job A again; no second job runs A's request
        assert rollback.ok and rollback.physical_id == job_a, rollback.reason
        assert cleanup.ok
        assert [job.arn for job in w.made()] == [job_a, job_b]
        assert w.cfn.delete(a, physical_id=job_a).ok


@scenario("a job in a status the handler does not know is not taken for stopped")
def unknown_status_at_delete(w: World) -> None:
    # given the job is in a status the API may add (say "Queued"), and runs after two more looks
    job_arn = w.cfn.create(props(removal="stop")).physical_id
    w.emulator.service.set_status(job_arn, "Queued", then=IN_PROGRESS, after_gets=3)

    # when
    answer = w.cfn.delete(props(removal="stop"), physical_id=job_arn)

    # then the handler looked again until it could stop it
    assert answer.ok, answer.reason
    w.emulator.settle()
    assert w.emulator.status(job_arn) == STOPPED


@scenario("delete and is_complete leave a job of another resource or another account alone")
def delete_of_a_job_that_is_not_ours(w: World) -> None:
    # given someone else's job in this account, and an ARN of another account
    other = w.emulator.seed_job(model_request() | {"jobName": "other-stack-job-0123456789"})
    foreign = "arn:aws:bedrock:us-east-1:210987654321:evaluation-job/abcdefabcdef"

    # when deletes (removal delete) arrive with their ARNs as physical ids
    mine = w.cfn.delete(props(removal="delete"), physical_id=other.arn)
    theirs = w.cfn.delete(props(removal="delete"), physical_id=foreign)

    # then both succeed without acting: the job runs on, nothing was stopped or deleted
    assert mine.ok and theirs.ok
    assert w.emulator.status(other.arn) == IN_PROGRESS
    assert w.emulator.calls("StopEvaluationJob") == w.emulator.calls("BatchDeleteEvaluationJob") == 0


@scenario("a failure with a long message is answered with a response CloudFormation can read")
def long_failure_reason(w: World) -> None:
    # given properties the handler refuses, echoing a long value (quotes, which JSON escapes)
    properties = props() | {"Removal": '"stop"' * 2000}

    # when
    answer = w.cfn.create(properties)

    # then CloudFormation can read the failure (it refuses a response over 4,096 bytes)
    assert answer.status == "FAILED" and answer.unreadable is None, answer.unreadable
    assert answer.body_bytes <= 4096
    assert w.cfn.delete(properties, physical_id=answer.physical_id).ok


@scenario("slow answers while waiting: every is_complete ends in its time, the delete inside the hour")
def slow_service_while_deleting(w: World) -> None:
    # given a removal=delete job that never stops, and GetEvaluationJob that takes 80 s to answer
    w.emulator.service.stop_after_gets = 10**6
    job_arn = w.cfn.create(props(removal="delete")).physical_id
    w.emulator.delay("GetEvaluationJob", seconds=80.0, times=500)
    w.emulator.delay("StopEvaluationJob", seconds=80.0, times=500)

    # when
    answer = w.cfn.delete(props(removal="delete"), physical_id=job_arn)

    # then no Lambda ran past its timeout, and CloudFormation read a failure with the reason in time
    assert not any(i.timed_out for i in w.cfn.invocations())
    assert answer.status == "FAILED" and answer.unreadable is None, answer.reason
    assert "still Stopping" in (answer.reason or "")
    assert w.last().seconds < 3600 - 5 * 60


# --- fidelity to the service: quotas, late reads, normalised fields, tags ------------------------------------------------------------------


@scenario(
    "a stack of more jobs than the concurrent-job quota: each Create waits for a free slot, all are created in turn",
    service={"max_in_progress": 1, "run_seconds": 150.0},
)
def jobs_beyond_the_concurrent_quota(w: World) -> None:
    # given the account may run one automatic job at a time (quota L-557C8C47), and a job runs
    # 2.5 minutes (on_event can wait about 3 for a slot: its Lambda time, less what settling a lost answer needs)
    stack = {logical_id: props(request=_with_description(logical_id)) for logical_id in ("First", "Second", "Third")}

    # when CloudFormation creates the stack's three jobs
    answers = {logical_id: w.cfn.create(properties, logical_id=logical_id) for logical_id, properties in stack.items()}

    # then the service refused the later ones for a while, and each was created once a slot was free
    assert all(answer.ok for answer in answers.values()), [a.reason for a in answers.values()]
    assert len(w.made()) == 3 and w.emulator.service.quota_refusals >= 2
    assert not any(i.timed_out for i in w.cfn.invocations())

    for logical_id, properties in stack.items():
        assert w.cfn.delete(properties, physical_id=answers[logical_id].physical_id, logical_id=logical_id).ok


def _with_description(text: str) -> dict[str, Any]:
    return model_request() | {"jobDescription": text}


@scenario(
    "a rollback right after create, while the service does not find the new job yet: the job is stopped",
    service={"invisible_for_calls": 2},
)
def rollback_right_after_create(w: World) -> None:
    # given Get, Stop and List do not find a new job for their first two requests (eventual consistency)
    created = w.cfn.create(props())

    # when another resource fails at once and CloudFormation deletes this one
    deleted = w.cfn.delete(props(), physical_id=created.physical_id)

    # then the handler looked again instead of taking the job for gone, and stopped it
    assert created.ok and deleted.ok, (created.reason, deleted.reason)
    assert w.emulator.status(created.physical_id) == STOPPING


@scenario(
    "a fixed-name job the service describes with normalised fields: a refused update rolls back to it",
    service={"normalise": True},
)
def fixed_name_rollback_when_the_service_normalises(w: World) -> None:
    # given a job under a fixed name, which GetEvaluationJob describes with its model as an ARN
    a = props(request=model_request() | {"jobName": "nightly-qa"})
    b = props(request=changed_request() | {"jobName": "nightly-qa"})
    job_a = w.cfn.create(a).physical_id

    # when an update is refused (a fixed name cannot take a new request) and rolled back
    update = w.cfn.update(b, old_properties=a, physical_id=job_a)
    rollback = w.cfn.update(a, old_properties=b, physical_id=job_a)

    # then the rollback recognises the job by the digest the handler tagged it with
    assert update.status == "FAILED"
    assert rollback.ok and rollback.physical_id == job_a, rollback.reason
    assert [job.arn for job in w.made()] == [job_a]
    assert w.cfn.delete(a, physical_id=job_a).ok


@scenario("a tag added to a deployed job updates its tags in place: no second job")
def tag_only_update(w: World) -> None:
    # given a deployed job
    before = props()
    job_arn = w.cfn.create(before).physical_id

    # when an app-wide tag is added (Tags.of(app).add("team", "search")) and the stack deploys again
    after = props(request=model_request() | {"jobTags": [{"key": "team", "value": "search"}]})
    answer = w.cfn.update(after, old_properties=before, physical_id=job_arn)

    # then the same job runs, now tagged; no job was created
    assert answer.ok and answer.physical_id == job_arn, answer.reason
    assert len(w.made()) == 1
    tags = w.emulator.service.job(job_arn).tags
    assert tags["team"] == "search" and handler_request.REQUEST_DIGEST_TAG in tags
    assert answer.data["JobName"] == w.only_job().name

    # and removing it again untags the same job
    assert w.cfn.update(before, old_properties=after, physical_id=job_arn).physical_id == job_arn
    assert "team" not in w.emulator.service.job(job_arn).tags
    assert w.cfn.delete(before, physical_id=job_arn).ok


# --- running them ----------------------------------------------------------------------------------------


def invariant_violations(w: World) -> list[str]:
    """What must hold after every scenario, whatever it did."""
    problems = []
    if w.cfn.events_answered != w.cfn.events_sent:
        problems.append(f"{w.cfn.events_sent - w.cfn.events_answered} events never answered: {w.cfn.unreadable()}")
    if w.duplicates():
        problems.append(f"{w.duplicates()} duplicate jobs")
    if w.left_running():
        problems.append(f"left running: {[job.name for job in w.left_running()]}")
    if any(i.timed_out for i in w.cfn.invocations()):
        problems.append("a Lambda invocation ran past its timeout")
    if w.emulator.crashes:
        problems.append(f"the emulator crashed: {w.emulator.crashes[0]}")
    return problems


@dataclass(frozen=True)
class Outcome:
    scenario: str
    events_sent: int
    events_answered: int
    faults_injected: int
    jobs_created: int
    duplicates: int
    left_running: int
    failure: str | None
    bedrock_requests: int = 0

    @property
    def passed(self) -> bool:
        return self.failure is None


def run(scenario: Scenario, *, chaos: bool = True) -> Outcome:
    """Run one scenario in a fresh world; a failed assertion is reported, not raised."""
    with world(chaos=chaos, **scenario.options) as w:
        return played(scenario.id, w, scenario.run, invariant_violations, w.left_running)


def played(scenario_id: str, w: Any, play: Callable[[Any], None], invariants: Callable[[Any], list[str]], left: Callable[[], list[Any]]) -> Outcome:
    """Play a scenario in its world and report it: the first failed assertion (or bug), else the
    world's broken invariants; `left` is what still runs (or lingers) after the stack's Delete."""
    failure = None
    try:
        play(w)
    except Exception as error:  # an AssertionError, or a bug
        where = traceback.extract_tb(error.__traceback__)[-1]
        failure = f"{type(error).__name__} at line {where.lineno}: {error}"
    problems = invariants(w)
    if problems and failure is None:
        failure = "; ".join(problems)
    return Outcome(
        scenario=scenario_id,
        events_sent=w.cfn.events_sent,
        events_answered=w.cfn.events_answered,
        faults_injected=w.emulator.faults_injected,
        jobs_created=len(w.made()),
        duplicates=w.duplicates(),
        left_running=len(left()),
        failure=failure,
        bedrock_requests=len(w.emulator.received),
    )


@dataclass(frozen=True)
class Totals:
    scenarios: int
    passed: int
    events_sent: int
    events_answered: int
    faults_injected: int
    duplicates: int
    left_running: int


def totals(outcomes: list[Outcome]) -> Totals:
    return Totals(
        scenarios=len(outcomes),
        passed=sum(o.passed for o in outcomes),
        events_sent=sum(o.events_sent for o in outcomes),
        events_answered=sum(o.events_answered for o in outcomes),
        faults_injected=sum(o.faults_injected for o in outcomes),
        duplicates=sum(o.duplicates for o in outcomes),
        left_running=sum(o.left_running for o in outcomes),
    )
